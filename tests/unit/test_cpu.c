/* Unit tests for the CPU core: RVC expansion, decoding, the interpreter's
 * exits (ecall, traps, instruction limit) and exact instret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "condo/cpu.h"
#include "condo/engine.h"
#include "cpu/decode.h"

/* Guest memory for these tests: 64 KiB at 0x10000. */
#define MEM_BASE 0x10000u
#define MEM_SIZE 0x10000u
static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));

static int flat_fill(struct hart *hart, gva_t page, enum mem_access access, uint8_t **host)
{
	if (page < MEM_BASE || page >= MEM_BASE + MEM_SIZE)
		return -1;
	*host = mem + (page - MEM_BASE);
	return 0;
}

static const struct hart_env_ops flat_env = { .fill = flat_fill };

static struct hart *load(const uint32_t *code, size_t n)
{
	struct hart *h = hart_new(&flat_env, NULL);

	memset(mem, 0, sizeof(mem));
	memcpy(mem, code, n * sizeof(*code));
	h->pc = MEM_BASE;
	return h;
}

/* Pairs checked against the GNU assembler: each compressed instruction and
 * the 32-bit instruction it expands to. */
static const struct { uint16_t c; uint32_t full; } rvc_pairs[] = {
	{ 0x0808, 0x01010513 },
	{ 0x2588, 0x0085b507 },
	{ 0x42d0, 0x0046a603 },
	{ 0x6b98, 0x0107b703 },
	{ 0xac80, 0x0084bc27 },
	{ 0xdd40, 0x02852e23 },
	{ 0xfe6c, 0x0eb63c23 },
	{ 0x0001, 0x00000013 },
	{ 0x157d, 0xfff50513 },
	{ 0x25fd, 0x01f5859b },
	{ 0x5601, 0xfe000613 },
	{ 0x7101, 0xe0010113 },
	{ 0x7685, 0xfffe16b7 },
	{ 0x937d, 0x03f75713 },
	{ 0x8785, 0x4017d793 },
	{ 0x987d, 0xfff47413 },
	{ 0x8c89, 0x40a484b3 },
	{ 0x8db1, 0x00c5c5b3 },
	{ 0x8ed9, 0x00e6e6b3 },
	{ 0x8fe1, 0x0087f7b3 },
	{ 0x9c05, 0x4094043b },
	{ 0x9d3d, 0x00f5053b },
	{ 0xaffd, 0x7fe0006f },
	{ 0xd101, 0xf00500e3 },
	{ 0xecfd, 0x0e049f63 },
	{ 0x12fe, 0x03f29293 },
	{ 0x30fe, 0x1f813087 },
	{ 0x53fe, 0x0fc12383 },
	{ 0x7e7e, 0x1f813e03 },
	{ 0x8082, 0x00008067 },
	{ 0x8efa, 0x01e00eb3 },
	{ 0x9002, 0x00100073 },
	{ 0x9f82, 0x000f80e7 },
	{ 0x994e, 0x01390933 },
	{ 0xbfd2, 0x1f413c27 },
	{ 0xdfd6, 0x0f512e23 },
	{ 0xffda, 0x1f613c23 },
};

static void test_rvc_expands_like_the_assembler(void **state)
{
	for (size_t i = 0; i < sizeof(rvc_pairs) / sizeof(rvc_pairs[0]); i++) {
		if (rvc_expand(rvc_pairs[i].c) != rvc_pairs[i].full)
			fail_msg("c=0x%04x expands to 0x%08x, want 0x%08x", rvc_pairs[i].c,
				 rvc_expand(rvc_pairs[i].c), rvc_pairs[i].full);
	}
}

static void test_rvc_reserved_encodings_are_illegal(void **state)
{
	assert_int_equal(rvc_expand(0x0000), 0); /* all zeros */
	assert_int_equal(rvc_expand(0x6101), 0); /* c.addi16sp with imm 0 */
	assert_int_equal(rvc_expand(0x2001), 0); /* c.addiw with rd 0 */
	assert_int_equal(rvc_expand(0x4002), 0); /* c.lwsp with rd 0 */
	assert_int_equal(rvc_expand(0x8002), 0); /* c.jr with rs1 0 */
}

static void test_decode_names(void **state)
{
	struct insn insn;

	insn_decode(&insn, 0x02b50533, 0); /* mul a0, a0, a1 */
	assert_string_equal(insn_name(&insn), "mul");
	insn_decode(&insn, 0x0ff0000f, 0); /* fence */
	assert_string_equal(insn_name(&insn), "fence");
	insn_decode(&insn, 0xd0057053, 0); /* fcvt.s.w f0, a0 (rm=7 dyn) */
	assert_string_equal(insn_name(&insn), "fcvt.s.w");
	insn_decode(&insn, 0x00055053 | 5 << 12, 0); /* fadd.s with reserved rm 5 */
	assert_int_equal(insn.op, OP_ILLEGAL);
	insn_decode(&insn, 0x6b855513, 0); /* rev8 a0, a0 */
	assert_string_equal(insn_name(&insn), "rev8");
}

/* sum = 0; for (i = 100; i != 0; i--) sum += i; ecall */
static const uint32_t sum_loop[] = {
	0x06400593, /* li a1, 100 */
	0x00000513, /* li a0, 0 */
	0x00b50533, /* add a0, a0, a1 */
	0xfff58593, /* addi a1, a1, -1 */
	0xfe059ce3, /* bnez a1, -8 */
	0x00000073, /* ecall */
};

static void test_loop_runs_to_ecall_with_exact_instret(void **state)
{
	struct hart *h = load(sum_loop, 6);

	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 5050);
	assert_int_equal(h->pc, MEM_BASE + 20);
	/* 2 setup + 3 * 100 loop; the ecall itself has not retired */
	assert_int_equal(h->instret, 302);
	hart_free(h);
}

static void test_instruction_limit_is_exact_and_resumable(void **state)
{
	struct hart *h = load(sum_loop, 6);

	h->insn_limit = 7; /* stops inside the second loop iteration */
	assert_int_equal(engine_run(h), CPU_EXIT_LIMIT);
	assert_int_equal(h->instret, 7);
	assert_int_equal(h->pc, MEM_BASE + 16); /* 2 + 3 + add, addi: at the bnez */
	h->insn_limit = UINT64_MAX;
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 5050);
	assert_int_equal(h->instret, 302);
	hart_free(h);
}

static void test_load_fault_is_precise(void **state)
{
	static const uint32_t code[] = {
		0x00100513, /* li a0, 1 */
		0x00200593, /* li a1, 2 */
		0x00003603, /* ld a2, 0(x0): page fault */
		0x00300693, /* li a3, 3 */
	};
	struct hart *h = load(code, 4);

	assert_int_equal(engine_run(h), CPU_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_LOAD_PAGE_FAULT);
	assert_int_equal(h->trap_tval, 0);
	assert_int_equal(h->pc, MEM_BASE + 8);
	assert_int_equal(h->instret, 2);
	assert_int_equal(h->x[11], 2);
	assert_int_equal(h->x[13], 0);
	hart_free(h);
}

static void test_illegal_instruction_reports_its_bits(void **state)
{
	static const uint32_t code[] = { 0x00000513, 0xffffffff };
	struct hart *h = load(code, 2);

	assert_int_equal(engine_run(h), CPU_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_ILLEGAL_INSN);
	assert_int_equal(h->trap_tval, 0xffffffff);
	assert_int_equal(h->pc, MEM_BASE + 4);
	hart_free(h);
}

static void test_writes_to_x0_are_discarded(void **state)
{
	static const uint32_t code[] = {
		0x00500013, /* addi x0, x0, 5 */
		0x00000513, /* li a0, 0 -> then a0 = x0 + 0 */
		0x00050533, /* add a0, a0, x0 */
		0x00000073,
	};
	struct hart *h = load(code, 4);

	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[0], 0);
	assert_int_equal(h->x[10], 0);
	hart_free(h);
}

static void test_sc_without_reservation_fails(void **state)
{
	static const uint32_t code[] = {
		0x000105b7, /* lui a1, 0x10 -> a1 = 0x10000 */
		0x40058593, /* addi a1, a1, 1024 */
		0x00100613, /* li a2, 1 */
		0x18c5b52f, /* sc.d a0, a2, (a1) */
		0x1005b6af, /* lr.d a3, (a1) */
		0x18c5b72f, /* sc.d a4, a2, (a1) */
		0x00000073,
	};
	struct hart *h = load(code, 7);

	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 1); /* failed: no reservation */
	assert_int_equal(h->x[14], 0); /* succeeded after lr.d */
	assert_int_equal(mem[1024], 1);
	hart_free(h);
}

static void test_stop_request_returns_at_block_boundary(void **state)
{
	struct hart *h = load(sum_loop, 6);

	h->stop_request = 1;
	assert_int_equal(engine_run(h), CPU_EXIT_STOP);
	assert_int_equal(h->stop_request, 0);
	assert_int_equal(h->pc, MEM_BASE);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	hart_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rvc_expands_like_the_assembler),
		cmocka_unit_test(test_rvc_reserved_encodings_are_illegal),
		cmocka_unit_test(test_decode_names),
		cmocka_unit_test(test_loop_runs_to_ecall_with_exact_instret),
		cmocka_unit_test(test_instruction_limit_is_exact_and_resumable),
		cmocka_unit_test(test_load_fault_is_precise),
		cmocka_unit_test(test_illegal_instruction_reports_its_bits),
		cmocka_unit_test(test_writes_to_x0_are_discarded),
		cmocka_unit_test(test_sc_without_reservation_fails),
		cmocka_unit_test(test_stop_request_returns_at_block_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
