/* Unit tests for the software TLB's victim entries (src/cpu/tlb.c): pages
 * that share a direct-mapped slot (1 MiB apart) come back from the set's
 * victims without a fill, and every flush that drops a page from the TLB
 * drops it from the victims too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "condo/cpu.h"
#include "cpu/tlb.h"

/* Guest page k * 1 MiB (k = 1 .. NPAGES) is host page pool[k - 1] (or
 * other[k - 1] once remapped): all of them share TLB slot 0. */
#define NPAGES 12
#define STRIDE 0x100000ull
static uint8_t pool[NPAGES][4096] __attribute__((aligned(4096)));
static uint8_t other[NPAGES][4096] __attribute__((aligned(4096)));
static bool remapped[NPAGES];
static int fills;

static int strided_fill(struct hart *hart, gva_t page, enum mem_access access, uint8_t **host)
{
	uint64_t k = page / STRIDE;

	if (page % STRIDE || k < 1 || k > NPAGES)
		return -1;
	fills++;
	*host = remapped[k - 1] ? other[k - 1] : pool[k - 1];
	return 0;
}

static const struct hart_env_ops strided_env = { .fill = strided_fill };

static struct hart *setup(void)
{
	struct hart *h = hart_new(&strided_env, NULL);

	for (int k = 0; k < NPAGES; k++) {
		memset(pool[k], 0x10 + k, sizeof(pool[k]));
		memset(other[k], 0x80 + k, sizeof(other[k]));
		remapped[k] = false;
	}
	fills = 0;
	return h;
}

/* The byte at offset 8 of guest page k, through the TLB as a load does. */
static uint64_t load_byte(struct hart *h, int k)
{
	uint64_t v = 0;
	gva_t a = (gva_t)k * STRIDE + 8;
	uint8_t *p = tlb_hit(h, ACC_READ, a, 1);

	if (p)
		return *p;
	assert_int_equal(mem_load_slow(h, a, 1, &v), 0);
	return v;
}

static void test_pages_sharing_a_slot_come_back_without_a_fill(void **state)
{
	struct hart *h = setup();

	assert_int_equal(load_byte(h, 1), 0x10);
	assert_int_equal(load_byte(h, 2), 0x11);
	assert_int_equal(fills, 2);
	/* alternating between the two: page 1 from the victims, then 2 */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(load_byte(h, 1), 0x10);
		assert_int_equal(load_byte(h, 2), 0x11);
	}
	assert_int_equal(fills, 2);
	hart_free(h);
}

static void test_more_pages_than_victims_refill_the_oldest(void **state)
{
	struct hart *h = setup();

	/* TLB_VICTIMS + 1 pages in the slot and its victims, then one more */
	for (int k = 1; k <= TLB_VICTIMS + 2; k++)
		assert_int_equal(load_byte(h, k), 0x10 + k - 1);
	assert_int_equal(fills, TLB_VICTIMS + 2);
	/* page 1 was pushed out of the victims by page TLB_VICTIMS + 2 */
	assert_int_equal(load_byte(h, 1), 0x10);
	assert_int_equal(fills, TLB_VICTIMS + 3);
	/* page 3 is still a victim */
	assert_int_equal(load_byte(h, 3), 0x12);
	assert_int_equal(fills, TLB_VICTIMS + 3);
	hart_free(h);
}

static void test_flushing_a_page_drops_its_victim(void **state)
{
	struct hart *h = setup();

	assert_int_equal(load_byte(h, 1), 0x10);
	assert_int_equal(load_byte(h, 2), 0x11); /* page 1 is a victim now */
	remapped[0] = true;
	cpu_tlb_flush_page(h, STRIDE);
	assert_int_equal(load_byte(h, 1), 0x80); /* filled again: the new page */
	assert_int_equal(fills, 3);
	/* and a full flush drops every victim */
	assert_int_equal(load_byte(h, 2), 0x11);
	assert_int_equal(fills, 3);
	remapped[1] = true;
	cpu_tlb_flush(h);
	assert_int_equal(load_byte(h, 1), 0x80);
	assert_int_equal(load_byte(h, 2), 0x81);
	assert_int_equal(fills, 5);
	hart_free(h);
}

static void test_dropping_write_translations_drops_write_victims(void **state)
{
	struct hart *h = setup();
	gva_t a1 = STRIDE, a2 = 2 * STRIDE;

	assert_int_equal(mem_store_slow(h, a1, 1, 0xaa), 0);
	assert_int_equal(mem_store_slow(h, a2, 1, 0xbb), 0); /* a1's entry: a victim */
	assert_int_equal(fills, 2);
	assert_int_equal(mem_store_slow(h, a1, 1, 0xac), 0);
	assert_int_equal(fills, 2);
	assert_int_equal(pool[0][0], 0xac);
	/* a page became code (CPU_FLUSH_WRITE_TLB): no store may go through
	 * a translation made before, victim or not */
	cpu_flush_requests(h, CPU_FLUSH_WRITE_TLB);
	assert_null(tlb_hit(h, ACC_WRITE, a1, 1));
	assert_int_equal(mem_store_slow(h, a2, 1, 0xbc), 0); /* was the victim */
	assert_int_equal(fills, 3);
	assert_int_equal(mem_store_slow(h, a1, 1, 0xad), 0);
	assert_int_equal(fills, 4);
	assert_int_equal(pool[0][0], 0xad);
	assert_int_equal(pool[1][0], 0xbc);
	/* reads were not dropped: page 1's read entry was never made */
	assert_int_equal(load_byte(h, 1), 0x10);
	assert_int_equal(fills, 5);
	assert_int_equal(load_byte(h, 1), 0x10);
	assert_int_equal(fills, 5);
	hart_free(h);
}

static void test_a_crossing_access_is_not_a_victim_hit(void **state)
{
	struct hart *h = setup();
	uint64_t v;

	assert_int_equal(load_byte(h, 1), 0x10);
	assert_int_equal(load_byte(h, 2), 0x11);
	/* 8 bytes from the last 4 of page 1: crosses into unmapped memory */
	assert_int_equal(mem_load_slow(h, STRIDE + 4092, 8, &v), -1);
	assert_int_equal(h->trap_cause, CAUSE_LOAD_PAGE_FAULT);
	assert_int_equal(h->trap_tval, STRIDE + 4096);
	hart_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_sharing_a_slot_come_back_without_a_fill),
		cmocka_unit_test(test_more_pages_than_victims_refill_the_oldest),
		cmocka_unit_test(test_flushing_a_page_drops_its_victim),
		cmocka_unit_test(test_dropping_write_translations_drops_write_victims),
		cmocka_unit_test(test_a_crossing_access_is_not_a_victim_hit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
