/* Unit tests for the dirty-page log (src/mem/dirtylog.c) and the paths
 * that mark it: gmem_write, a hart's stores, AMOs and SC on either engine,
 * and the page walker's A/D update; and the invariant migration relies on:
 * after a collect and CPU_FLUSH_WRITE_TLB, the next store to a page marks
 * it again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_system_common.h"

#define LOG_PAGES 70 /* more than a word of bits */

/* The log covers all but the first and the last page of buf. */
static uint8_t buf[(LOG_PAGES + 2) * GUEST_PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t *const host = buf + GUEST_PAGE_SIZE;
#define HOST_SIZE (LOG_PAGES * GUEST_PAGE_SIZE)

static uint64_t dirty_pages(struct dirty_log *log, uint64_t *out)
{
	return dirty_log_collect(log, out);
}

static void test_mark_collect_and_test(void **state)
{
	struct dirty_log log;
	uint64_t out[2];

	(void)state;
	assert_int_equal(dirty_log_init(&log, host, HOST_SIZE), 0);
	assert_int_equal(log.pages, LOG_PAGES);
	dirty_log_mark(&log, host + 5, 1);
	dirty_log_mark(&log, host + 3 * GUEST_PAGE_SIZE + 100, 8);
	assert_true(dirty_log_test(log.touched, 0));
	assert_true(dirty_log_test(log.dirty, 3));
	assert_false(dirty_log_test(log.dirty, 1));
	assert_int_equal(dirty_pages(&log, out), 2);
	assert_true(dirty_log_test(out, 0));
	assert_true(dirty_log_test(out, 3));
	assert_false(dirty_log_test(out, 2));
	/* collected: the dirty bits are gone, the touched bits stay */
	assert_int_equal(dirty_pages(&log, out), 0);
	assert_int_equal(out[0] | out[1], 0);
	assert_true(dirty_log_test(log.touched, 0));
	assert_true(dirty_log_test(log.touched, 3));
	/* marking again after a collect: dirty again */
	dirty_log_mark(&log, host + 3 * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
	assert_int_equal(dirty_pages(&log, out), 1);
	assert_true(dirty_log_test(out, 3));
	dirty_log_reset_touched(&log);
	assert_false(dirty_log_test(log.touched, 3));
	dirty_log_free(&log);
}

static void test_ranges_at_the_edges(void **state)
{
	struct dirty_log log;
	uint64_t out[2];

	(void)state;
	assert_int_equal(dirty_log_init(&log, host, HOST_SIZE), 0);
	/* a range across pages and across the 64th page's word boundary */
	dirty_log_mark(&log, host + 60 * GUEST_PAGE_SIZE + 4095, 5 * GUEST_PAGE_SIZE + 2);
	assert_int_equal(dirty_pages(&log, out), 7); /* 60..66 */
	for (uint64_t p = 0; p < LOG_PAGES; p++)
		assert_int_equal(dirty_log_test(out, p), p >= 60 && p <= 66);
	/* an access of two bytes across a page boundary marks both pages */
	dirty_log_mark(&log, host + 2 * GUEST_PAGE_SIZE - 1, 2);
	assert_int_equal(dirty_pages(&log, out), 2);
	assert_true(dirty_log_test(out, 1) && dirty_log_test(out, 2));
	/* the first and the last byte */
	dirty_log_mark(&log, host, 1);
	dirty_log_mark(&log, host + HOST_SIZE - 1, 1);
	assert_int_equal(dirty_pages(&log, out), 2);
	assert_true(dirty_log_test(out, 0) && dirty_log_test(out, LOG_PAGES - 1));
	/* ranges sticking out on either side: only the part inside counts */
	dirty_log_mark(&log, host - 100, 200);
	dirty_log_mark(&log, host + HOST_SIZE - 10, 1000);
	assert_int_equal(dirty_pages(&log, out), 2);
	assert_true(dirty_log_test(out, 0) && dirty_log_test(out, LOG_PAGES - 1));
	/* wholly outside, empty, or running off the address space: nothing */
	dirty_log_mark(&log, host - GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
	dirty_log_mark(&log, host + HOST_SIZE, 1);
	dirty_log_mark(&log, host + HOST_SIZE, GUEST_PAGE_SIZE);
	dirty_log_mark(&log, host + 10, 0);
	dirty_log_mark(&log, (void *)(UINTPTR_MAX - 10), 100);
	assert_int_equal(dirty_pages(&log, out), 0);
	dirty_log_mark(&log, host + 10, UINT64_MAX); /* to the end of the address space */
	assert_int_equal(dirty_pages(&log, out), LOG_PAGES);
	dirty_log_free(&log);
}

static void test_set_touched_keeps_to_the_log(void **state)
{
	struct dirty_log log;
	uint64_t bits[2] = { 1ull << 7, ~0ull }; /* page 7, 64..127 */

	(void)state;
	assert_int_equal(dirty_log_init(&log, host, HOST_SIZE), 0);
	dirty_log_mark(&log, host + 2 * GUEST_PAGE_SIZE, 1);
	dirty_log_set_touched(&log, bits);
	assert_true(dirty_log_test(log.touched, 2)); /* kept */
	assert_true(dirty_log_test(log.touched, 7));
	assert_true(dirty_log_test(log.touched, LOG_PAGES - 1));
	assert_int_equal(log.touched[1], (1ull << (LOG_PAGES - 64)) - 1); /* no bit past the end */
	assert_false(dirty_log_test(log.dirty, 7)); /* restored pages are not dirty */
	dirty_log_free(&log);
}

static void test_gmem_write_marks(void **state)
{
	uint64_t out[dirty_log_words(RAM_SIZE / GUEST_PAGE_SIZE)], v = 42;

	(void)state;
	ram_setup(NULL, 0);
	assert_int_equal(gmem_write(&ram, RAM_BASE + 5 * GUEST_PAGE_SIZE + 16, &v, 8), 0);
	assert_int_equal(gmem_write(&ram, RAM_BASE + RAM_SIZE - 4, &v, 8), -1); /* not all RAM */
	assert_int_equal(dirty_log_collect(ram.dirty, out), 1);
	assert_true(dirty_log_test(out, 5));
	assert_true(dirty_log_test(ram.dirty->touched, 5));
}

/* li a1, 0x80002000; li a0, 0; loop: sd a0, 0(a1); addi a0, a0, 1; j loop
 * amo (at +0x10): li a1, 0x80003000; li a0, 5; amoadd.d a2, a0, (a1)
 *	li a3, 0x80004000; lr.d a4, (a3); sc.d a5, a0, (a3)
 * halt: j halt */
static const uint8_t store_prog[] = {
	0xb7, 0x05, 0x04, 0x00, 0x85, 0x25, 0xb6, 0x05, 0x01, 0x45, 0x88, 0xe1,
	0x05, 0x05, 0xf5, 0xbf, 0xb7, 0x05, 0x08, 0x00, 0x8d, 0x25, 0xb2, 0x05,
	0x15, 0x45, 0x2f, 0xb6, 0xa5, 0x00, 0xb7, 0x06, 0x02, 0x00, 0x85, 0x26,
	0xba, 0x06, 0x2f, 0xb7, 0x06, 0x10, 0xaf, 0xb7, 0xa6, 0x18, 0x01, 0xa0,
};
#define STORE_PAGE 0x80002000ull
#define AMO_ENTRY  0x80000010ull
#define AMO_PAGE   0x80003000ull
#define SC_PAGE    0x80004000ull

static uint64_t out[(RAM_SIZE / GUEST_PAGE_SIZE + 63) / 64];

static uint64_t stored(void)
{
	uint64_t v;

	memcpy(&v, ram.host + (STORE_PAGE - RAM_BASE), 8);
	return v;
}

/* With the translator, the stores did run as compiled code. */
static void assert_compiled_ran(struct hart *h, int kind)
{
	struct jit_stats st;

	if (kind != ENGINE_JIT)
		return;
	assert_non_null(engine_jit(h));
	jit_stats(engine_jit(h), &st);
	assert_true(st.blocks_compiled > 0);
	assert_true(st.runs > 0);
}

/* The key invariant: a store through a write translation cached before a
 * collect is not seen (marking costs nothing on a TLB hit), but after the
 * collect and CPU_FLUSH_WRITE_TLB the next store marks its page again. */
static void stores_mark(int kind)
{
	struct hart *h;
	uint64_t before;

	ram_setup(store_prog, sizeof(store_prog));
	h = sys_hart(kind);
	assert_int_equal(sys_run(h, 4 + 3 * 10), CPU_EXIT_LIMIT);
	assert_int_equal(stored(), 9);
	assert_int_equal(dirty_log_collect(ram.dirty, out), 1);
	assert_true(dirty_log_test(out, PAGE_OF(STORE_PAGE)));
	assert_false(dirty_log_test(ram.dirty->touched, 0)); /* code is fetched, not written */

	before = stored();
	assert_int_equal(sys_run(h, 3 * 10), CPU_EXIT_LIMIT);
	assert_int_not_equal(stored(), before);
	assert_int_equal(dirty_log_collect(ram.dirty, out), 0); /* through the cached translation */

	cpu_flush_requests(h, CPU_FLUSH_WRITE_TLB);
	before = stored();
	assert_int_equal(sys_run(h, 3 * 10), CPU_EXIT_LIMIT);
	assert_int_not_equal(stored(), before);
	assert_int_equal(dirty_log_collect(ram.dirty, out), 1);
	assert_true(dirty_log_test(out, PAGE_OF(STORE_PAGE)));

	/* and again, a second round */
	cpu_flush_requests(h, CPU_FLUSH_WRITE_TLB);
	assert_int_equal(sys_run(h, 3), CPU_EXIT_LIMIT);
	assert_int_equal(dirty_log_collect(ram.dirty, out), 1);
	assert_compiled_ran(h, kind);
	hart_free(h);
}

static void test_stores_mark_interp(void **state)
{
	(void)state;
	stores_mark(ENGINE_INTERP);
}

static void test_stores_mark_jit(void **state)
{
	(void)state;
	stores_mark(ENGINE_JIT);
}

static void amo_and_sc_mark(int kind)
{
	struct hart *h;
	uint64_t v;

	ram_setup(store_prog, sizeof(store_prog));
	h = sys_hart(kind);
	h->pc = AMO_ENTRY;
	assert_int_equal(sys_run(h, 12), CPU_EXIT_LIMIT); /* on into halt */
	memcpy(&v, ram.host + (AMO_PAGE - RAM_BASE), 8);
	assert_int_equal(v, 5);
	assert_int_equal(h->x[15], 0); /* the sc succeeded */
	assert_int_equal(dirty_log_collect(ram.dirty, out), 2); /* not the code page */
	assert_true(dirty_log_test(out, PAGE_OF(AMO_PAGE)));
	assert_true(dirty_log_test(out, PAGE_OF(SC_PAGE)));
	assert_compiled_ran(h, kind);
	hart_free(h);
}

static void test_amo_and_sc_mark_interp(void **state)
{
	(void)state;
	amo_and_sc_mark(ENGINE_INTERP);
}

static void test_amo_and_sc_mark_jit(void **state)
{
	(void)state;
	amo_and_sc_mark(ENGINE_JIT);
}

/* Under Sv39 the walker sets A and D in the page table: its page is marked;
 * and S-mode stores through the paged translation mark as M-mode ones do. */
static void test_walker_ad_update_marks_the_table(void **state)
{
	struct hart *h;
	uint64_t *pte;

	(void)state;
	pte = paged_setup();
	h = sys_hart(ENGINE_JIT);
	assert_int_equal(sys_run(h, 200), CPU_EXIT_LIMIT);
	assert_int_equal(h->priv, PRV_S);
	assert_int_equal(*pte & 0xc0, 0xc0); /* A and D */
	assert_int_equal(dirty_log_collect(ram.dirty, out), 2);
	assert_true(dirty_log_test(out, PAGE_OF(PAGED_ROOT)));
	assert_true(dirty_log_test(out, PAGE_OF(PAGED_DATA)));
	cpu_flush_requests(h, CPU_FLUSH_WRITE_TLB);
	assert_int_equal(sys_run(h, 60), CPU_EXIT_LIMIT);
	assert_int_equal(dirty_log_collect(ram.dirty, out), 1); /* A/D set already */
	assert_true(dirty_log_test(out, PAGE_OF(PAGED_DATA)));
	hart_free(h);
}

/* A hart without a log, or whose log was set after it cached a write
 * translation: cpu_set_dirty_log drops what was cached unmarked. */
static void test_setting_the_log_drops_unmarked_translations(void **state)
{
	struct hart *h;

	(void)state;
	ram_setup(store_prog, sizeof(store_prog));
	h = sys_hart(ENGINE_INTERP);
	cpu_set_dirty_log(h, NULL);
	assert_int_equal(sys_run(h, 10), CPU_EXIT_LIMIT);
	assert_int_equal(dirty_log_collect(ram.dirty, out), 0);
	cpu_set_dirty_log(h, ram.dirty);
	assert_int_equal(sys_run(h, 3), CPU_EXIT_LIMIT);
	assert_int_equal(dirty_log_collect(ram.dirty, out), 1);
	hart_free(h);
}

static int teardown(void **state)
{
	(void)state;
	ram_free(&ram);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_collect_and_test),
		cmocka_unit_test(test_ranges_at_the_edges),
		cmocka_unit_test(test_set_touched_keeps_to_the_log),
		cmocka_unit_test(test_gmem_write_marks),
		cmocka_unit_test(test_stores_mark_interp),
		cmocka_unit_test(test_stores_mark_jit),
		cmocka_unit_test(test_amo_and_sc_mark_interp),
		cmocka_unit_test(test_amo_and_sc_mark_jit),
		cmocka_unit_test(test_walker_ad_update_marks_the_table),
		cmocka_unit_test(test_setting_the_log_drops_unmarked_translations),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
