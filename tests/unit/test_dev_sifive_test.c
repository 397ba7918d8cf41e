/* Unit tests for the SiFive test finisher: pass, fail with a code, reset,
 * the syscon-poweroff/syscon-reboot read-modify-write, and ignored
 * garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "condo/devices.h"

struct exits {
	int calls, kind, code;
};

static void on_exit_cb(void *ctx, int kind, int code)
{
	struct exits *e = ctx;

	e->calls++;
	e->kind = kind;
	e->code = code;
}

static struct sifive_test *make(struct exits *e)
{
	struct sifive_test *t;

	memset(e, 0, sizeof(*e));
	e->kind = e->code = -1;
	t = sifive_test_new(on_exit_cb, e);
	assert_non_null(t);
	return t;
}

static void test_finisher_pass_powers_off_with_status_0(void **state)
{
	struct exits e;
	struct sifive_test *t = make(&e);

	assert_int_equal(sifive_test_ops.write(t, 0, 4, 0x5555), 0);
	assert_int_equal(e.calls, 1);
	assert_int_equal(e.kind, VM_SHUTDOWN_POWEROFF);
	assert_int_equal(e.code, 0);
	sifive_test_ops.free(t);
}

static void test_finisher_fail_powers_off_with_code(void **state)
{
	struct exits e;
	struct sifive_test *t = make(&e);

	assert_int_equal(sifive_test_ops.write(t, 0, 4, 0x3333 | 42 << 16), 0);
	assert_int_equal(e.calls, 1);
	assert_int_equal(e.kind, VM_SHUTDOWN_POWEROFF);
	assert_int_equal(e.code, 42);
	sifive_test_ops.write(t, 0, 8, 0xffffffffffff3333ull);
	assert_int_equal(e.code, 0xffff); /* the code is 16 bits */
	sifive_test_ops.free(t);
}

static void test_finisher_reset_reboots(void **state)
{
	struct exits e;
	struct sifive_test *t = make(&e);

	assert_int_equal(sifive_test_ops.write(t, 0, 2, 0x7777), 0);
	assert_int_equal(e.calls, 1);
	assert_int_equal(e.kind, VM_SHUTDOWN_REBOOT);
	sifive_test_ops.free(t);
}

/* Linux's syscon-poweroff does regmap_update_bits(): read, then write. */
static void test_finisher_serves_syscon_read_modify_write(void **state)
{
	struct exits e;
	struct sifive_test *t = make(&e);
	uint64_t v = 1;

	assert_int_equal(sifive_test_ops.read(t, 0, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(e.calls, 0);
	assert_int_equal(sifive_test_ops.write(t, 0, 4, (v & ~0xffffffffull) | 0x5555), 0);
	assert_int_equal(e.calls, 1);
	assert_int_equal(e.kind, VM_SHUTDOWN_POWEROFF);
	sifive_test_ops.free(t);
}

static void test_finisher_ignores_other_values_and_offsets(void **state)
{
	struct exits e;
	struct sifive_test *t = make(&e);
	uint64_t v;

	for (uint64_t off = 0; off < SIFIVE_TEST_SIZE; off++) {
		for (unsigned len = 1; len <= 8 && off + len <= SIFIVE_TEST_SIZE; len *= 2) {
			assert_int_equal(sifive_test_ops.read(t, off, len, &v), 0);
			assert_int_equal(v, 0);
			if (off != 0)
				assert_int_equal(sifive_test_ops.write(t, off, len, 0x5555), 0);
		}
	}
	sifive_test_ops.write(t, 0, 4, 0x1234);
	sifive_test_ops.write(t, 0, 4, 0x5554);
	sifive_test_ops.write(t, 0, 1, 0x55);
	assert_int_equal(e.calls, 0);
	sifive_test_ops.reset(t);
	sifive_test_ops.free(t);

	/* No callback: writes are still harmless. */
	t = sifive_test_new(NULL, NULL);
	assert_non_null(t);
	assert_int_equal(sifive_test_ops.write(t, 0, 4, 0x5555), 0);
	sifive_test_ops.free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finisher_pass_powers_off_with_status_0),
		cmocka_unit_test(test_finisher_fail_powers_off_with_code),
		cmocka_unit_test(test_finisher_reset_reboots),
		cmocka_unit_test(test_finisher_serves_syscon_read_modify_write),
		cmocka_unit_test(test_finisher_ignores_other_values_and_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
