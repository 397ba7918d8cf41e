/* Unit tests for the PLIC: level-triggered gateways, claim/complete,
 * priorities and thresholds, M- and S-mode contexts driving MEIP/SEIP in
 * the harts' mip, WARL fields, faults on bad widths, and garbage accesses
 * all over the register space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>

#include "condo/cpu.h"
#include "condo/devices.h"
#include "cpu/priv.h"

#define NHARTS 2

#define PRIO(src)    (4u * (src))
#define PENDING(w)   (0x1000u + 4u * (w))
#define ENABLE(c, w) (0x2000u + 0x80u * (c) + 4u * (w))
#define THRESH(c)    (0x200000u + 0x1000u * (c))
#define CLAIM(c)     (THRESH(c) + 4)

struct fixture {
	struct hart *harts[NHARTS];
	struct plic *plic;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	for (int i = 0; i < NHARTS; i++) {
		fx->harts[i] = hart_new(NULL, NULL);
		assert_non_null(fx->harts[i]);
	}
	fx->plic = plic_new(fx->harts, NHARTS);
	assert_non_null(fx->plic);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	plic_ops.free(fx->plic);
	for (int i = 0; i < NHARTS; i++)
		hart_free(fx->harts[i]);
	free(fx);
	return 0;
}

static uint32_t rd(struct fixture *fx, uint32_t off)
{
	uint64_t v = 0xdeadbeefcafe;

	assert_int_equal(plic_ops.read(fx->plic, off, 4, &v), 0);
	assert_true(v <= UINT32_MAX);
	return (uint32_t)v;
}

static void wr(struct fixture *fx, uint32_t off, uint32_t v)
{
	assert_int_equal(plic_ops.write(fx->plic, off, 4, v), 0);
}

static uint64_t mip(struct fixture *fx, int hart)
{
	return fx->harts[hart]->mip & (MIP_MEIP | MIP_SEIP);
}

/* Source src at priority prio, enabled for context c. */
static void route(struct fixture *fx, unsigned src, uint32_t prio, int c)
{
	wr(fx, PRIO(src), prio);
	wr(fx, ENABLE(c, src / 32), rd(fx, ENABLE(c, src / 32)) | 1u << (src % 32));
}

static void test_plic_level_source_raises_meip_of_its_context_only(void **state)
{
	struct fixture *fx = *state;

	route(fx, 10, 1, 0);
	assert_int_equal(mip(fx, 0), 0);
	fx->harts[0]->irq_check = 0;
	plic_set_irq(fx->plic, 10, true);
	assert_int_equal(mip(fx, 0), MIP_MEIP);
	assert_int_equal(fx->harts[0]->irq_check, 1); /* the hart is told to look */
	assert_int_equal(mip(fx, 1), 0);
	assert_int_equal(rd(fx, PENDING(0)), 1u << 10);
	plic_set_irq(fx->plic, 10, false);
	assert_int_equal(mip(fx, 0), 0); /* dropped before the claim: withdrawn */
	assert_int_equal(rd(fx, PENDING(0)), 0);
}

static void test_plic_odd_contexts_drive_seip(void **state)
{
	struct fixture *fx = *state;

	route(fx, 33, 1, 1); /* hart 0, S-mode */
	route(fx, 34, 1, 3); /* hart 1, S-mode */
	plic_set_irq(fx->plic, 33, true);
	assert_int_equal(mip(fx, 0), MIP_SEIP);
	assert_int_equal(mip(fx, 1), 0);
	plic_set_irq(fx->plic, 34, true);
	assert_int_equal(mip(fx, 1), MIP_SEIP);
	assert_int_equal(rd(fx, PENDING(1)), 3u << 1);
	assert_int_equal(rd(fx, CLAIM(3)), 34);
	assert_int_equal(mip(fx, 1), 0);
	assert_int_equal(mip(fx, 0), MIP_SEIP);
}

static void test_plic_claim_holds_source_until_complete(void **state)
{
	struct fixture *fx = *state;

	route(fx, 10, 1, 0);
	plic_set_irq(fx->plic, 10, true);
	assert_int_equal(rd(fx, CLAIM(0)), 10);
	assert_int_equal(mip(fx, 0), 0);
	assert_int_equal(rd(fx, PENDING(0)), 0);
	assert_int_equal(rd(fx, CLAIM(0)), 0); /* nothing else pending */

	/* In service: the gateway forwards nothing, however the line moves. */
	plic_set_irq(fx->plic, 10, false);
	plic_set_irq(fx->plic, 10, true);
	assert_int_equal(rd(fx, PENDING(0)), 0);
	assert_int_equal(mip(fx, 0), 0);

	/* Completion with the line still high pends it again. */
	wr(fx, CLAIM(0), 10);
	assert_int_equal(rd(fx, PENDING(0)), 1u << 10);
	assert_int_equal(mip(fx, 0), MIP_MEIP);
	assert_int_equal(rd(fx, CLAIM(0)), 10);
	plic_set_irq(fx->plic, 10, false);
	wr(fx, CLAIM(0), 10);
	assert_int_equal(rd(fx, PENDING(0)), 0);
	assert_int_equal(mip(fx, 0), 0);
}

static void test_plic_threshold_masks_priorities_at_or_below_it(void **state)
{
	struct fixture *fx = *state;

	route(fx, 5, 3, 0);
	wr(fx, THRESH(0), 3);
	plic_set_irq(fx->plic, 5, true);
	assert_int_equal(mip(fx, 0), 0);
	assert_int_equal(rd(fx, CLAIM(0)), 0);
	assert_int_equal(rd(fx, PENDING(0)), 1u << 5); /* pending, just masked */
	wr(fx, THRESH(0), 2);
	assert_int_equal(mip(fx, 0), MIP_MEIP);
	wr(fx, THRESH(0), 7);
	assert_int_equal(mip(fx, 0), 0);
	wr(fx, THRESH(0), 0);
	wr(fx, PRIO(5), 0); /* priority 0 never interrupts */
	assert_int_equal(mip(fx, 0), 0);
	assert_int_equal(rd(fx, CLAIM(0)), 0);
}

static void test_plic_claims_highest_priority_then_lowest_id(void **state)
{
	struct fixture *fx = *state;

	route(fx, 5, 2, 0);
	route(fx, 9, 5, 0);
	route(fx, 70, 5, 0);
	route(fx, 95, 1, 0);
	plic_set_irq(fx->plic, 95, true);
	plic_set_irq(fx->plic, 70, true);
	plic_set_irq(fx->plic, 5, true);
	plic_set_irq(fx->plic, 9, true);
	assert_int_equal(rd(fx, CLAIM(0)), 9);
	assert_int_equal(rd(fx, CLAIM(0)), 70);
	assert_int_equal(rd(fx, CLAIM(0)), 5);
	assert_int_equal(rd(fx, CLAIM(0)), 95);
	assert_int_equal(rd(fx, CLAIM(0)), 0);
	assert_int_equal(mip(fx, 0), 0);
}

static void test_plic_complete_of_source_not_enabled_is_ignored(void **state)
{
	struct fixture *fx = *state;

	route(fx, 10, 1, 0);
	plic_set_irq(fx->plic, 10, true);
	assert_int_equal(rd(fx, CLAIM(0)), 10);
	wr(fx, ENABLE(0, 0), 0);
	wr(fx, CLAIM(0), 10); /* ignored (PLIC spec §9) */
	wr(fx, CLAIM(2), 10); /* another context, where it is not enabled */
	wr(fx, CLAIM(0), 0);
	wr(fx, CLAIM(0), 96);
	wr(fx, CLAIM(0), UINT32_MAX);
	wr(fx, ENABLE(0, 0), 1u << 10);
	assert_int_equal(rd(fx, PENDING(0)), 0); /* still in service */
	wr(fx, CLAIM(0), 10);
	assert_int_equal(rd(fx, PENDING(0)), 1u << 10);
}

static void test_plic_one_source_two_contexts_claimed_once(void **state)
{
	struct fixture *fx = *state;

	route(fx, 7, 1, 1);
	route(fx, 7, 1, 3);
	plic_set_irq(fx->plic, 7, true);
	assert_int_equal(mip(fx, 0), MIP_SEIP);
	assert_int_equal(mip(fx, 1), MIP_SEIP);
	assert_int_equal(rd(fx, CLAIM(3)), 7);
	assert_int_equal(mip(fx, 0), 0); /* the claim took it from both */
	assert_int_equal(rd(fx, CLAIM(1)), 0);
}

static void test_plic_warl_fields_and_hardwired_source_zero(void **state)
{
	struct fixture *fx = *state;

	wr(fx, PRIO(0), 7);
	assert_int_equal(rd(fx, PRIO(0)), 0);
	wr(fx, PRIO(1), UINT32_MAX);
	assert_int_equal(rd(fx, PRIO(1)), 7);
	wr(fx, PRIO(95), 0x12);
	assert_int_equal(rd(fx, PRIO(95)), 2);
	wr(fx, PRIO(96), 5); /* beyond the last source */
	assert_int_equal(rd(fx, PRIO(96)), 0);
	wr(fx, ENABLE(0, 0), UINT32_MAX);
	assert_int_equal(rd(fx, ENABLE(0, 0)), 0xfffffffe);
	wr(fx, ENABLE(0, 2), UINT32_MAX);
	assert_int_equal(rd(fx, ENABLE(0, 2)), UINT32_MAX);
	wr(fx, ENABLE(0, 3), UINT32_MAX);
	assert_int_equal(rd(fx, ENABLE(0, 3)), 0);
	wr(fx, THRESH(1), 0xff);
	assert_int_equal(rd(fx, THRESH(1)), 7);
	wr(fx, PENDING(0), UINT32_MAX); /* read-only */
	assert_int_equal(rd(fx, PENDING(0)), 0);
	assert_int_equal(mip(fx, 0), 0);
}

static void test_plic_ignores_sources_out_of_range(void **state)
{
	struct fixture *fx = *state;

	wr(fx, ENABLE(0, 0), UINT32_MAX);
	plic_set_irq(fx->plic, 0, true);
	plic_set_irq(fx->plic, 96, true);
	plic_set_irq(fx->plic, 1000, true);
	plic_set_irq(fx->plic, UINT_MAX, true);
	for (unsigned w = 0; w < 32; w++)
		assert_int_equal(rd(fx, PENDING(w)), 0);
}

static void test_plic_missing_contexts_read_zero_and_ignore_writes(void **state)
{
	struct fixture *fx = *state;

	for (unsigned c = 2 * NHARTS; c < 2 * NHARTS + 3; c++) {
		wr(fx, ENABLE(c, 0), UINT32_MAX);
		wr(fx, THRESH(c), 1);
		assert_int_equal(rd(fx, ENABLE(c, 0)), 0);
		assert_int_equal(rd(fx, THRESH(c)), 0);
		assert_int_equal(rd(fx, CLAIM(c)), 0);
	}
	assert_int_equal(rd(fx, THRESH(1023)), 0);
	assert_int_equal(rd(fx, PLIC_SIZE - 4), 0);
	assert_int_equal(rd(fx, ENABLE(0, 0)), 0);
}

static void test_plic_wrong_width_or_alignment_faults(void **state)
{
	struct fixture *fx = *state;
	uint64_t v;

	route(fx, 10, 1, 0);
	plic_set_irq(fx->plic, 10, true);
	assert_int_equal(plic_ops.read(fx->plic, CLAIM(0), 8, &v), -1);
	assert_int_equal(plic_ops.read(fx->plic, CLAIM(0), 1, &v), -1);
	assert_int_equal(plic_ops.read(fx->plic, CLAIM(0), 2, &v), -1);
	assert_int_equal(plic_ops.read(fx->plic, CLAIM(0) + 1, 4, &v), -1);
	assert_int_equal(plic_ops.write(fx->plic, PRIO(10) + 2, 4, 0), -1);
	assert_int_equal(plic_ops.write(fx->plic, PRIO(10), 2, 0), -1);
	assert_int_equal(plic_ops.read(fx->plic, PLIC_SIZE, 4, &v), -1);
	/* None of those claimed or changed anything. */
	assert_int_equal(rd(fx, PRIO(10)), 1);
	assert_int_equal(rd(fx, CLAIM(0)), 10);
}

static void test_plic_reset_forgets_configuration_and_lowers_outputs(void **state)
{
	struct fixture *fx = *state;

	route(fx, 10, 1, 0);
	route(fx, 11, 1, 1);
	plic_set_irq(fx->plic, 10, true);
	plic_set_irq(fx->plic, 11, true);
	assert_int_equal(rd(fx, CLAIM(1)), 11);
	assert_int_equal(mip(fx, 0), MIP_MEIP);
	plic_ops.reset(fx->plic);
	assert_int_equal(mip(fx, 0), 0);
	assert_int_equal(rd(fx, PRIO(10)), 0);
	assert_int_equal(rd(fx, ENABLE(0, 0)), 0);
	/* The lines are still high: after reconfiguration both are pending. */
	assert_int_equal(rd(fx, PENDING(0)), 3u << 10);
	route(fx, 11, 1, 1);
	assert_int_equal(mip(fx, 0), MIP_SEIP);
}

static void test_plic_new_rejects_bad_hart_counts(void **state)
{
	struct fixture *fx = *state;

	assert_null(plic_new(fx->harts, 0));
	assert_null(plic_new(fx->harts, -1));
	assert_null(plic_new(fx->harts, PLIC_MAX_HARTS + 1));
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11 ^ *s << 29;
}

static void poke(struct fixture *fx, uint64_t off, uint64_t *seed)
{
	static const unsigned widths[] = { 1, 2, 4, 8 };
	uint64_t v;

	for (unsigned w = 0; w < 4; w++) {
		if (off + widths[w] > PLIC_SIZE)
			continue;
		int r = plic_ops.write(fx->plic, off, widths[w], lcg(seed));
		assert_int_equal(r, widths[w] == 4 && off % 4 == 0 ? 0 : -1);
		r = plic_ops.read(fx->plic, off, widths[w], &v);
		assert_int_equal(r, widths[w] == 4 && off % 4 == 0 ? 0 : -1);
		assert_true(v <= UINT32_MAX);
	}
}

static void test_plic_garbage_everywhere_is_harmless(void **state)
{
	struct fixture *fx = *state;
	uint64_t seed = 7;

	for (uint64_t off = 0; off < 0x3000; off++)
		poke(fx, off, &seed);
	for (uint64_t off = 0x200000; off < THRESH(2 * NHARTS + 1); off++)
		poke(fx, off, &seed);
	for (uint64_t off = PLIC_SIZE - 0x100; off < PLIC_SIZE; off++)
		poke(fx, off, &seed);
	for (int i = 0; i < 20000; i++) {
		poke(fx, lcg(&seed) % PLIC_SIZE, &seed);
		plic_set_irq(fx->plic, (unsigned)(lcg(&seed) % 128), lcg(&seed) & 1);
	}
	/* mip holds nothing but what the PLIC drives, and it still works. */
	assert_int_equal(fx->harts[0]->mip & ~(MIP_MEIP | MIP_SEIP), 0);
	plic_ops.reset(fx->plic);
	for (unsigned src = 1; src < PLIC_NUM_SOURCES; src++)
		plic_set_irq(fx->plic, src, false);
	assert_int_equal(mip(fx, 0) | mip(fx, 1), 0);
	route(fx, 3, 1, 2);
	plic_set_irq(fx->plic, 3, true);
	assert_int_equal(mip(fx, 1), MIP_MEIP);
	assert_int_equal(rd(fx, CLAIM(2)), 3);
}

/* Devices raising lines while harts claim and complete: every request is
 * served exactly once per assertion (run under the sanitizers for races). */
struct source_thread {
	struct plic *plic;
	unsigned src;
};

static void *pulse(void *arg)
{
	struct source_thread *s = arg;

	for (int i = 0; i < 5000; i++) {
		plic_set_irq(s->plic, s->src, true);
		plic_set_irq(s->plic, s->src, false);
	}
	plic_set_irq(s->plic, s->src, true);
	return NULL;
}

static void test_plic_concurrent_sources_and_claims(void **state)
{
	struct fixture *fx = *state;
	struct source_thread s[2] = { { fx->plic, 4 }, { fx->plic, 40 } };
	pthread_t threads[2];
	bool seen4 = false, seen40 = false;

	route(fx, 4, 1, 0);
	route(fx, 40, 1, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, pulse, &s[i]), 0);
	for (int i = 0; i < 20000; i++) {
		uint32_t src = rd(fx, CLAIM(0));
		assert_true(src == 0 || src == 4 || src == 40);
		if (src)
			wr(fx, CLAIM(0), src);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	/* Both lines end high: both are claimable, once each. */
	for (int i = 0; i < 2; i++) {
		uint32_t src = rd(fx, CLAIM(0));
		seen4 |= src == 4;
		seen40 |= src == 40;
	}
	assert_true(seen4 && seen40);
	assert_int_equal(rd(fx, CLAIM(0)), 0);
	assert_int_equal(mip(fx, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_plic_level_source_raises_meip_of_its_context_only),
		T(test_plic_odd_contexts_drive_seip),
		T(test_plic_claim_holds_source_until_complete),
		T(test_plic_threshold_masks_priorities_at_or_below_it),
		T(test_plic_claims_highest_priority_then_lowest_id),
		T(test_plic_complete_of_source_not_enabled_is_ignored),
		T(test_plic_one_source_two_contexts_claimed_once),
		T(test_plic_warl_fields_and_hardwired_source_zero),
		T(test_plic_ignores_sources_out_of_range),
		T(test_plic_missing_contexts_read_zero_and_ignore_writes),
		T(test_plic_wrong_width_or_alignment_faults),
		T(test_plic_reset_forgets_configuration_and_lowers_outputs),
		T(test_plic_new_rejects_bad_hart_counts),
		T(test_plic_garbage_everywhere_is_harmless),
		T(test_plic_concurrent_sources_and_claims),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
