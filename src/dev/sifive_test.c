/* SiFive test finisher: the guest ends the VM by writing one register
 * (QEMU virt's "sifive,test0" at 0x0010_0000).
 *
 * A write to offset 0 whose low 16 bits are 0x5555 powers off with status
 * 0, 0x3333 powers off with status bits 31:16, 0x7777 reboots; anything
 * else, and every other offset, is ignored.  Reads return 0, which is what
 * Linux's syscon-poweroff and syscon-reboot need: they read-modify-write
 * the register through a regmap, so the same device serves them and no
 * separate syscon model exists (docs/devices.md). */
#include "condo/devices.h"
#include "condo/log.h"

#include <stdlib.h>

#define FINISHER_FAIL  0x3333
#define FINISHER_PASS  0x5555
#define FINISHER_RESET 0x7777

/* Nothing here changes after construction, so no lock is needed. */
struct sifive_test {
	void (*on_exit)(void *ctx, int kind, int code);
	void *ctx;
};

static int test_read(void *dev, uint64_t offset, unsigned len, uint64_t *val)
{
	*val = 0;
	return 0;
}

/* Any width is accepted: OpenSBI and Linux write 32 bits, QEMU also takes
 * 16; a byte write simply cannot hold a command. */
static int test_write(void *dev, uint64_t offset, unsigned len, uint64_t val)
{
	struct sifive_test *test = dev;
	int code = (int)((val >> 16) & 0xffff);

	if (offset != 0 || !test->on_exit)
		return 0;
	switch (val & 0xffff) {
	case FINISHER_PASS:
		test->on_exit(test->ctx, VM_SHUTDOWN_POWEROFF, 0);
		break;
	case FINISHER_FAIL:
		test->on_exit(test->ctx, VM_SHUTDOWN_POWEROFF, code);
		break;
	case FINISHER_RESET:
		test->on_exit(test->ctx, VM_SHUTDOWN_REBOOT, 0);
		break;
	default:
		break;
	}
	return 0;
}

static void test_reset(void *dev)
{
}

static void test_free(void *dev)
{
	free(dev);
}

const struct dev_ops sifive_test_ops = {
	.name = "sifive-test",
	.read = test_read,
	.write = test_write,
	.reset = test_reset,
	.free = test_free,
	/* No save/load: the finisher holds only the board's exit callback;
	 * a write acts at once and leaves nothing behind. */
};

struct sifive_test *sifive_test_new(void (*on_exit)(void *ctx, int kind, int code), void *ctx)
{
	struct sifive_test *test = calloc(1, sizeof(*test));

	if (!test) {
		log_err("test", "cannot create the test finisher: out of memory");
		return NULL;
	}
	test->on_exit = on_exit;
	test->ctx = ctx;
	return test;
}
