/* Unit tests for a hart's saved state (src/cpu/hart_state.c): a hart run
 * into a non-trivial state (FP, CSRs, S-mode under Sv39, an LR
 * reservation) is saved, loaded into a fresh hart, and both run on alike;
 * and every malformed input is refused without a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "condo/state.h"
#include "test_system_common.h"

/* Where hart_save puts each field (the format, docs/snapshot.md): changing
 * it is changing the snapshot format. */
enum {
	OFF_TAG = 0, OFF_X = 4, OFF_F = 260, OFF_PC = 516, OFF_FFLAGS = 524, OFF_FRM = 525,
	OFF_INSTRET = 526, OFF_RESV_ADDR = 534, OFF_RESV_VALUE = 542, OFF_RESV_VALID = 550,
	OFF_PRIV = 551, OFF_MISA = 552, OFF_CYCLE_OFFSET = 560, OFF_MSTATUS = 568,
	OFF_MEDELEG = 576, OFF_MIDELEG = 584, OFF_MIE = 592, OFF_SATP = 712,
	OFF_PMPCFG0 = 856, OFF_SEIP_SW = 872, OFF_SBI_ARMED = 896, OFF_MIP = 897,
	OFF_SBI_IN_HOST = 905, STATE_LEN = 906,
};

/* The saved state after running paged_prog 2000 instructions: in the
 * loop, in S-mode, with the reservation held. */
static struct state_buf saved;
static uint8_t *saved_ram;

static struct state_buf save(const struct hart *h)
{
	struct state_buf b = { 0 };

	hart_save(h, &b);
	assert_false(b.failed);
	return b;
}

static void assert_same_buf(const struct state_buf *a, const struct state_buf *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->data, b->data, a->len);
}

static void assert_same_hart(const struct hart *a, const struct hart *b)
{
	assert_memory_equal(a->x, b->x, 32 * sizeof(a->x[0]));
	assert_memory_equal(a->f, b->f, sizeof(a->f));
	assert_memory_equal(&a->csr, &b->csr, sizeof(a->csr));
	assert_int_equal(a->pc, b->pc);
	assert_int_equal(a->fflags, b->fflags);
	assert_int_equal(a->frm, b->frm);
	assert_int_equal(a->instret, b->instret);
	assert_int_equal(a->resv_addr, b->resv_addr);
	assert_int_equal(a->resv_value, b->resv_value);
	assert_int_equal(a->resv_valid, b->resv_valid);
	assert_int_equal(a->priv, b->priv);
	assert_int_equal(a->mtimecmp, b->mtimecmp);
	assert_int_equal(a->sbi_timecmp, b->sbi_timecmp);
	assert_int_equal(a->sbi_timer_armed, b->sbi_timer_armed);
	assert_int_equal(a->mip, b->mip);
	assert_int_equal(a->sbi_in_host, b->sbi_in_host);
}

/* Run paged_prog to the middle of its loop on an engine, save it and the
 * RAM, then run on to the end: the reference for the loaded hart. */
static struct hart *run_reference(int kind)
{
	struct hart *h;

	paged_setup();
	h = sys_hart(kind);
	assert_int_equal(sys_run(h, 2000), CPU_EXIT_LIMIT);
	if (h->priv != PRV_S)
		fail_msg("trapped to M: pc %llx mcause %llu mtval %llx", (unsigned long long)h->pc,
			 (unsigned long long)h->csr.mcause, (unsigned long long)h->csr.mtval);
	assert_int_equal(h->priv, PRV_S);
	assert_true(h->resv_valid);
	assert_int_equal(h->csr.satp >> 60, SATP_MODE_SV39);
	assert_int_equal(h->frm, 2);
	assert_int_not_equal(h->fflags, 0); /* pi / 3 is inexact */
	state_free(&saved);
	saved = save(h);
	assert_int_equal(saved.len, STATE_LEN);
	free(saved_ram);
	saved_ram = malloc(RAM_SIZE);
	memcpy(saved_ram, ram.host, RAM_SIZE);
	return h;
}

/* Load buf into a fresh hart run by engine kind; the hart, or NULL when
 * it was refused (then the reason is in *why). */
static struct hart *load_into(int kind, const uint8_t *data, size_t len, const char **why)
{
	struct hart *h = sys_hart(kind);
	struct state_buf in = state_reader(data, len);

	if (hart_load(h, &in) < 0) {
		assert_true(in.failed);
		assert_non_null(in.why);
		*why = in.why;
		hart_free(h);
		return NULL;
	}
	assert_false(in.failed);
	assert_int_equal(in.pos, in.len); /* every byte used */
	return h;
}

static struct hart *load_from(const uint8_t *data, size_t len, const char **why)
{
	return load_into(ENGINE_INTERP, data, len, why);
}

static void continue_alike(int kind_a, int kind_b)
{
	struct hart *a = run_reference(kind_a), *b;
	struct state_buf again, end_a, end_b;
	uint8_t *ram_a = malloc(RAM_SIZE);
	const char *why = NULL;

	/* the reference runs on past the LR's SC, the ecall and into M */
	assert_int_equal(sys_run(a, 6000), CPU_EXIT_LIMIT);
	assert_int_equal(a->priv, PRV_M);
	assert_int_equal(a->pc, PAGED_M_TRAP);
	assert_int_equal(a->csr.mcause, CAUSE_ECALL_S);
	assert_int_equal(a->x[14], 0); /* the SC succeeded: the reservation held */
	end_a = save(a);
	memcpy(ram_a, ram.host, RAM_SIZE);

	/* the copy starts from the saved RAM and state */
	memcpy(ram.host, saved_ram, RAM_SIZE);
	b = load_into(kind_b, saved.data, saved.len, &why);
	assert_non_null(b);
	assert_true((engine_jit(b) != NULL) == (kind_b == ENGINE_JIT));
	again = save(b);
	assert_same_buf(&saved, &again);
	assert_int_equal(b->priv, PRV_S);
	assert_ptr_equal(b->tlb, &b->tlbs[TLB_CTX_S_SUM]); /* the context follows priv and SUM */
	assert_int_equal(b->irq_check, 1);

	assert_int_equal(sys_run(b, 6000), CPU_EXIT_LIMIT);
	assert_same_hart(a, b);
	end_b = save(b);
	assert_same_buf(&end_a, &end_b);
	assert_memory_equal(ram_a, ram.host, RAM_SIZE);

	state_free(&again);
	state_free(&end_a);
	state_free(&end_b);
	free(ram_a);
	hart_free(a);
	hart_free(b);
}

static void test_loaded_hart_continues_alike_interp(void **state)
{
	(void)state;
	continue_alike(ENGINE_INTERP, ENGINE_INTERP);
}

/* Saved from the interpreter, loaded into a hart that compiles its blocks. */
static void test_loaded_hart_continues_alike_jit(void **state)
{
	(void)state;
	continue_alike(ENGINE_INTERP, ENGINE_JIT);
}

static void test_every_truncated_prefix_is_refused(void **state)
{
	struct hart *ref = run_reference(ENGINE_INTERP);

	(void)state;
	for (size_t n = 0; n < saved.len; n++) {
		const char *why = NULL;
		struct hart *h = load_from(saved.data, n, &why);

		assert_null(h);
	}
	hart_free(ref);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8); /* little-endian host, as the format */
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Load the saved state with one field changed: NULL when refused, with
 * the reason checked to name what was wrong. */
static bool loads_with(size_t off, size_t width, uint64_t v, const char *why_has)
{
	uint8_t *copy = malloc(saved.len);
	const char *why = NULL;
	struct hart *h;

	memcpy(copy, saved.data, saved.len);
	if (width == 8)
		put64(copy + off, v);
	else
		copy[off] = (uint8_t)v;
	h = load_from(copy, saved.len, &why);
	free(copy);
	if (h) {
		hart_free(h);
		return true;
	}
	if (why_has && !strstr(why, why_has))
		fail_msg("refused for \"%s\", expected \"%s\"", why, why_has);
	return false;
}

static void test_bad_fields_are_refused(void **state)
{
	struct hart *ref = run_reference(ENGINE_INTERP);
	uint64_t mstatus = get64(saved.data + OFF_MSTATUS);
	uint64_t satp = get64(saved.data + OFF_SATP);

	(void)state;
	assert_true(loads_with(OFF_PRIV, 1, PRV_U, NULL));
	assert_true(loads_with(OFF_PRIV, 1, PRV_M, NULL));
	assert_false(loads_with(OFF_PRIV, 1, 2, "priv"));
	assert_false(loads_with(OFF_PRIV, 1, 4, "priv"));
	assert_false(loads_with(OFF_TAG, 1, 'X', "tag"));
	assert_false(loads_with(OFF_X, 8, 1, "x0"));
	assert_false(loads_with(OFF_PC, 8, RAM_BASE + 1, "pc"));
	for (uint64_t frm = 0; frm <= 7; frm++)
		assert_true(loads_with(OFF_FRM, 1, frm, NULL)); /* 5, 6 reserved, 7 dyn: storable */
	assert_false(loads_with(OFF_FRM, 1, 8, "frm"));
	assert_false(loads_with(OFF_FRM, 1, 0xff, "frm"));
	assert_true(loads_with(OFF_FFLAGS, 1, 31, NULL));
	assert_false(loads_with(OFF_FFLAGS, 1, 32, "fflags"));
	assert_false(loads_with(OFF_RESV_VALID, 1, 2, NULL));
	assert_false(loads_with(OFF_MISA, 8, ref->csr.misa & ~(1ull << 2), "misa")); /* no C */
	/* satp: Sv48 is supported, Sv57 and reserved modes are not */
	assert_true(loads_with(OFF_SATP, 8, (satp & ~(15ull << 60)) | (9ull << 60), NULL));
	assert_false(loads_with(OFF_SATP, 8, (satp & ~(15ull << 60)) | (10ull << 60), "satp"));
	assert_false(loads_with(OFF_SATP, 8, (satp & ~(15ull << 60)) | (1ull << 60), "satp"));
	/* mstatus: a reserved MPP, a bit the hart lacks (SPELP, 23), UXL changed */
	assert_false(loads_with(OFF_MSTATUS, 8, (mstatus & ~MSTATUS_MPP) | (2ull << 11),
				"mstatus"));
	assert_false(loads_with(OFF_MSTATUS, 8, mstatus | (1ull << 23), "mstatus"));
	assert_false(loads_with(OFF_MSTATUS, 8, mstatus & ~MSTATUS_UXL, "mstatus"));
	assert_true(loads_with(OFF_MSTATUS, 8, mstatus | MSTATUS_TSR, NULL));
	assert_false(loads_with(OFF_MEDELEG, 8, 1ull << CAUSE_ECALL_M, "medeleg"));
	assert_false(loads_with(OFF_MIDELEG, 8, MIP_MEIP, "mideleg"));
	assert_false(loads_with(OFF_MIE, 8, 1ull << 13, "mie"));
	assert_false(loads_with(OFF_PMPCFG0, 8, 0x02, "pmpcfg")); /* W without R */
	assert_false(loads_with(OFF_PMPCFG0, 8, 0x20, "pmpcfg")); /* reserved bits */
	assert_true(loads_with(OFF_PMPCFG0, 8, 0x9f, NULL));      /* locked NAPOT RWX */
	assert_false(loads_with(OFF_SEIP_SW, 8, 1, "seip_sw"));
	assert_true(loads_with(OFF_SEIP_SW, 8, MIP_SEIP, NULL));
	assert_false(loads_with(OFF_SBI_ARMED, 1, 7, NULL));
	assert_false(loads_with(OFF_MIP, 8, 1ull << 4, "mip"));
	assert_true(loads_with(OFF_MIP, 8, MIP_STIP | MIP_SEIP, NULL));
	assert_true(loads_with(OFF_SBI_IN_HOST, 1, 1, NULL));
	assert_false(loads_with(OFF_SBI_IN_HOST, 1, 2, NULL));
	hart_free(ref);
}

/* A restored pending interrupt is taken before the first instruction. */
static void test_loaded_pending_interrupt_is_taken(void **state)
{
	struct hart *ref = run_reference(ENGINE_INTERP), *h;
	uint8_t *copy = malloc(saved.len);
	struct state_buf in;

	(void)state;
	memcpy(copy, saved.data, saved.len);
	put64(copy + OFF_MIP, MIP_SSIP); /* delegated, enabled (mie 0x222), S-mode with SIE off */
	put64(copy + OFF_MSTATUS, get64(copy + OFF_MSTATUS) | MSTATUS_SIE);
	h = sys_hart(ENGINE_INTERP);
	in = state_reader(copy, saved.len);
	assert_int_equal(hart_load(h, &in), 0);
	assert_int_equal(sys_run(h, 1), CPU_EXIT_LIMIT);
	assert_int_equal(h->csr.scause, CAUSE_INTERRUPT | IRQ_S_SOFT);
	free(copy);
	hart_free(h);
	hart_free(ref);
}

/* A pending interrupt is taken even when a flush request (another hart's
 * first code marking a page) comes with the kick that announced it: it
 * is a level, and no new kick follows.  A migrated guest's CPU 0 got no
 * more timer ticks before the engine kept the check. */
static void test_pending_interrupt_survives_a_flush_request(void **state)
{
	static const int kinds[] = { ENGINE_INTERP, ENGINE_JIT };
	struct hart *ref = run_reference(ENGINE_INTERP);

	(void)state;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		uint8_t *copy = malloc(saved.len);
		struct hart *h;
		struct state_buf in;

		memcpy(copy, saved.data, saved.len);
		put64(copy + OFF_MIP, MIP_SSIP);
		put64(copy + OFF_MSTATUS, get64(copy + OFF_MSTATUS) | MSTATUS_SIE);
		h = sys_hart(kinds[k]);
		in = state_reader(copy, saved.len);
		assert_int_equal(hart_load(h, &in), 0);
		cpu_code_event(h, CODE_MARKED); /* flush_req and a kick, as from another hart */
		assert_int_equal(sys_run(h, 1), CPU_EXIT_LIMIT);
		assert_int_equal(h->csr.scause, CAUSE_INTERRUPT | IRQ_S_SOFT);
		free(copy);
		hart_free(h);
	}
	hart_free(ref);
}

static void test_app_mode_hart_is_refused(void **state)
{
	struct hart *ref = run_reference(ENGINE_INTERP);
	struct hart *h = hart_new(&ram_env, &ram);
	struct state_buf in = state_reader(saved.data, saved.len);

	(void)state;
	assert_int_equal(hart_load(h, &in), -1);
	assert_true(in.failed);
	hart_free(h);
	hart_free(ref);
}

static int teardown(void **state)
{
	(void)state;
	state_free(&saved);
	free(saved_ram);
	saved_ram = NULL;
	ram_free(&ram);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loaded_hart_continues_alike_interp),
		cmocka_unit_test(test_loaded_hart_continues_alike_jit),
		cmocka_unit_test(test_every_truncated_prefix_is_refused),
		cmocka_unit_test(test_bad_fields_are_refused),
		cmocka_unit_test(test_pending_interrupt_survives_a_flush_request),
		cmocka_unit_test(test_loaded_pending_interrupt_is_taken),
		cmocka_unit_test(test_app_mode_hart_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
