/* Differential fuzzing of traces: random programs of a few blocks that
 * branch among themselves (forward, backward, to themselves) and loop, run
 * by the interpreter and with the translator (which forms traces with side
 * exits and loops from them), each stopped by the same instruction limit
 * or at the ecall that ends the program.  Blocks also call each other
 * (jal ra, or jalr ra through a pointer in t0), return (jalr x0, 0(ra)),
 * jump through a pointer, and rewrite a word of their own code with the
 * same value (which drops the compiled code of that page, also code that
 * a call will return to), and do F/D arithmetic, loads, stores and moves
 * on f0-f19 (more than the translator's xmm cache holds).  Registers (x
 * and f), fflags, pc, instret and the data page must agree.  The
 * single-block fuzzer (test_jit_fuzz.c) covers
 * every operation; this one covers how blocks are joined.
 *
 *   TRACE_FUZZ_CASES=N  cases (default 400)    TRACE_FUZZ_SEED=S  first seed
 * A failure prints its seed; TRACE_FUZZ_SEED=S TRACE_FUZZ_CASES=1 reruns it. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "test_jit_common.h"

#define DATA_REG 30   /* t5: the data page, never written by the program */
#define COUNT_REG 31  /* t6: the outer loop's counter */
#define CODE_REG 29   /* t4: the code page, never written by the program */
#define RA 1
#define PTR_REG 5     /* t0: the target of jalr calls and jumps */
#define MAX_BLOCKS 8
#define LIMIT 60000   /* instructions per run: inner loops need not end */

static uint64_t rng;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A register the program may write: x2-x15 but t0 (x0 writes are sunk
 * too); ra and t0 are written by calls and before jalr only, so returns
 * mostly go to a return address. */
static uint32_t wreg(void)
{
	uint32_t r = next() % 16;

	return r == RA || r == PTR_REG ? 0 : r;
}

static uint32_t rreg(void)
{
	uint32_t r = next() % 17;

	return r == 16 ? COUNT_REG : r;
}

static uint32_t r_type(uint32_t f7, uint32_t f3, uint32_t op)
{
	return f7 << 25 | rreg() << 20 | rreg() << 15 | f3 << 12 | wreg() << 7 | op;
}

static uint32_t i_type(int32_t imm, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t op)
{
	return (uint32_t)(imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t b_type(int32_t off, uint32_t rs2, uint32_t rs1, uint32_t f3)
{
	uint32_t u = (uint32_t)off;

	return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 |
	       f3 << 12 | ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}

static uint32_t j_type(int32_t off, uint32_t rd)
{
	uint32_t u = (uint32_t)off;

	return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 |
	       ((u >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}

#define FREGS 20 /* f0-f19: more than the xmm registers that cache them */

static uint32_t freg(void)
{
	return next() % FREGS;
}

/* RNE (0), dynamic (7, frm is 0) and now and then RTZ (the helper). */
static uint32_t fp_rm(void)
{
	uint32_t r = next() % 8;

	return r < 4 ? 7 : r < 7 ? 0 : 1;
}

static uint32_t fp_type(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t rd)
{
	return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | 0x53;
}

/* One random F/D instruction: mostly doubles (kept in xmm registers),
 * some singles and helper-only operations in between. */
static uint32_t fp_insn(void)
{
	/* fadd, fsub, fmul, fdiv .d; fadd, fmul .s */
	static const uint32_t arith[] = { 0x01, 0x05, 0x09, 0x0d, 0x00, 0x08 };
	uint32_t off = (next() % 512) * 8;

	switch (next() % 13) {
	case 0: case 1: case 2:
		return fp_type(arith[next() % ARRAY_SIZE(arith)], freg(), freg(), fp_rm(), freg());
	case 3: /* fmadd/fmsub/fnmsub/fnmadd.d */
		return freg() << 27 | 1u << 25 | freg() << 20 | freg() << 15 | fp_rm() << 12 |
		       freg() << 7 | (0x43 + 4 * (next() % 4));
	case 4: return i_type((int32_t)off, DATA_REG, 3, freg(), 0x07); /* fld */
	case 5: /* fsd or fsw */
		return (off >> 5) << 25 | freg() << 20 | DATA_REG << 15 | (2 + next() % 2) << 12 |
		       (off & 31) << 7 | 0x27;
	case 6: return fp_type(0x11, freg(), freg(), next() % 3, freg()); /* fsgnj*.d */
	case 7: return fp_type(0x51, freg(), freg(), next() % 3, wreg()); /* fle/flt/feq.d */
	case 8: return fp_type(next() % 2 ? 0x71 : 0x70, 0, freg(), 0, wreg()); /* fmv.x.d/.w */
	case 9: return fp_type(next() % 2 ? 0x79 : 0x78, 0, rreg(), 0, freg()); /* fmv.d.x/.w.x */
	case 10: return fp_type(0x69, 0, rreg(), fp_rm(), freg()); /* fcvt.d.w */
	case 11: return fp_type(0x15, freg(), freg(), 0, freg()); /* fmin.d: the helper */
	default: return i_type((int32_t)off, DATA_REG, 2, freg(), 0x07); /* flw */
	}
}

/* One random body instruction: ALU, a load or a store on the data page,
 * or (one in four) an F/D instruction. */
static uint32_t body_insn(void)
{
	static const uint32_t rr[][2] = {
		{ 0x00, 0 }, { 0x20, 0 }, { 0x00, 4 }, { 0x00, 6 }, { 0x00, 7 },
		{ 0x00, 1 }, { 0x00, 5 }, { 0x20, 5 }, { 0x00, 2 }, { 0x00, 3 }, { 0x01, 0 },
	};
	uint32_t off = (next() % 512) * 8;

	if (next() % 4 == 0)
		return fp_insn();
	switch (next() % 8) {
	case 0: case 1: case 2: {
		const uint32_t *k = rr[next() % ARRAY_SIZE(rr)];
		return r_type(k[0], k[1], 0x33);
	}
	case 3: return i_type((int32_t)(next() % 4096) - 2048, rreg(), 0, wreg(), 0x13); /* addi */
	case 4: return i_type((int32_t)(next() % 64), rreg(), 1, wreg(), 0x13);          /* slli */
	case 5: return i_type((int32_t)off, DATA_REG, 3, wreg(), 0x03);                   /* ld */
	case 6: /* sd rs2, off(t5) */
		return (off >> 5) << 25 | rreg() << 20 | DATA_REG << 15 | 3 << 12 | (off & 31) << 7 | 0x23;
	default: return i_type((int32_t)(next() % 4096) - 2048, rreg(), 4, wreg(), 0x13); /* xori */
	}
}

enum term { T_JAL, T_FALL, T_RET, T_CALL_PTR, T_JUMP_PTR, T_BRANCH };

/* The program: li t6, N; then blocks of 1-6 body instructions, each ended
 * by a branch, a jal (ra or x0), a return, a jalr call or jump through t0
 * (auipc t0; addi t0; jalr) to a random block, or falling through; the
 * last block counts t6 down and loops to the first, then ecall.  Its
 * start is in *first (ra's first value: a return before any call goes
 * there). */
static size_t make_program(uint32_t *code, uint32_t *first)
{
	uint32_t nblocks = 2 + next() % (MAX_BLOCKS - 1), start[MAX_BLOCKS + 1], len[MAX_BLOCKS];
	uint32_t body[MAX_BLOCKS];
	bool rewrite[MAX_BLOCKS];
	enum term term[MAX_BLOCKS];
	size_t n = 0, words;

	code[n++] = i_type(40 + (int32_t)(next() % 40), 0, 0, COUNT_REG, 0x13);
	/* lay out first, so branch offsets are known; one block in 16
	 * starts by rewriting a word of the code (two instructions) */
	for (uint32_t i = 0, at = 1; i < nblocks; i++) {
		uint32_t t = next() % 8;

		term[i] = t < 2 ? T_JAL : t == 2 ? T_FALL : t == 3 ? T_RET : t == 4 ? T_CALL_PTR :
			  t == 5 ? T_JUMP_PTR : T_BRANCH;
		body[i] = 1 + next() % 6;
		rewrite[i] = next() % 16 == 0;
		body[i] += rewrite[i] ? 2 : 0;
		len[i] = body[i] + (term[i] == T_CALL_PTR || term[i] == T_JUMP_PTR ? 3 : 1);
		if (i == nblocks - 1)
			len[i] = body[i] + 3; /* body + addi + bnez + ecall */
		start[i] = at;
		at += len[i];
	}
	words = start[nblocks - 1] + len[nblocks - 1];
	*first = start[0];
	for (uint32_t i = 0; i < nblocks; i++) {
		uint32_t k = 0;

		if (rewrite[i]) {
			uint32_t at = (uint32_t)(next() % words) * 4, r = 6 + next() % 2; /* t1/t2 */

			code[n++] = i_type((int32_t)at, CODE_REG, 2, r, 0x03); /* lw r, at(t4) */
			/* sw r, at(t4) */
			code[n++] = (at >> 5) << 25 | r << 20 | CODE_REG << 15 | 2 << 12 |
				    (at & 31) << 7 | 0x23;
			k = 2;
		}
		for (; k < body[i]; k++)
			code[n++] = body_insn();
		if (i == nblocks - 1) {
			code[n++] = i_type(-1, COUNT_REG, 0, COUNT_REG, 0x13);
			code[n] = b_type((int32_t)(start[0] - n) * 4, 0, COUNT_REG, 1); /* bnez t6 */
			n++;
			code[n++] = 0x00000073;
			break;
		}
		uint32_t to = start[next() % nblocks];
		int32_t off = (int32_t)(to - n) * 4;

		switch (term[i]) {
		case T_JAL: code[n] = j_type(off, next() % 2 ? RA : 0); break; /* jal ra / j */
		case T_FALL: code[n] = i_type(0, 0, 0, 0, 0x13); break;        /* falls through */
		case T_RET: code[n] = i_type(0, RA, 0, 0, 0x67); break;        /* jalr x0, 0(ra) */
		case T_CALL_PTR: case T_JUMP_PTR:
			code[n++] = PTR_REG << 7 | 0x17; /* auipc t0, 0 */
			code[n++] = i_type(off, PTR_REG, 0, PTR_REG, 0x13);
			code[n] = i_type(0, PTR_REG, 0, term[i] == T_CALL_PTR ? RA : 0, 0x67);
			break;
		default: {
			static const uint32_t f3[] = { 0, 1, 4, 5, 6, 7 };
			code[n] = b_type(off, rreg(), rreg(), f3[next() % ARRAY_SIZE(f3)]);
		}
		}
		n++;
	}
	return n;
}

struct end {
	enum cpu_exit exit;
	uint64_t x[32], f[32], pc, instret;
	uint32_t fflags;
	uint8_t data[4096];
};

/* The code page as the program starts: loads and stores with offsets of
 * 2048 and more from t5 reach its upper half, so each run starts from it. */
static uint8_t code_page[4096];

static void run(struct hart *h, const uint64_t *x0, const uint64_t *f0, uint32_t fflags,
		struct end *e)
{
	memcpy(mem, code_page, sizeof(code_page));
	memcpy(h->x, x0, 32 * sizeof(*x0));
	memcpy(h->f, f0, 32 * sizeof(*f0));
	h->fflags = fflags;
	h->frm = 0;
	h->csr.mstatus |= MSTATUS_FS;
	h->pc = CODE;
	h->instret = 0;
	h->insn_limit = LIMIT;
	memset(mem + 0x1000, 0x5a, 4096);
	e->exit = engine_run(h);
	memcpy(e->x, h->x, sizeof(e->x));
	memcpy(e->f, h->f, sizeof(e->f));
	e->fflags = h->fflags;
	e->pc = h->pc;
	e->instret = h->instret;
	memcpy(e->data, mem + 0x1000, 4096);
}

static int one_case(uint64_t seed)
{
	static uint32_t code[2 + MAX_BLOCKS * 16];
	struct hart *hi = hart_new(&flat_env, NULL), *hj = hart_new(&flat_env, NULL);
	uint64_t x0[32], f0[32];
	uint32_t fflags;
	struct end a, b;
	uint32_t first;
	size_t n;
	int bad = 0;

	rng = seed * 0x9e3779b97f4a7c15ull | 1;
	n = make_program(code, &first);
	memset(mem, 0, 0x1000);
	memcpy(mem, code, n * 4);
	memcpy(code_page, mem, sizeof(code_page));
	for (int i = 0; i < 32; i++)
		x0[i] = (uint64_t)next() << 32 | next();
	x0[0] = 0;
	x0[DATA_REG] = DATA;
	x0[CODE_REG] = CODE;
	x0[RA] = CODE + 4 * first;
	/* doubles of moderate size (the inline fast path's), some singles
	 * NaN-boxed, and NX set in most cases (else the helper runs) */
	for (int i = 0; i < 32; i++) {
		double d = ((double)(next() % 2000) - 1000.0) / (1.0 + next() % 64);
		uint32_t r = next() % 8;

		memcpy(&f0[i], &d, 8);
		if (r == 0)
			f0[i] = 0xffffffff00000000ull | next();
		else if (r == 1)
			f0[i] = (uint64_t)next() << 32 | next();
	}
	fflags = next() % 4 ? 1 : 0;
	/* the outer loop runs 40 to 80 times */
	if (engine_setup_hart(hj, ENGINE_JIT, 1u << 20, 16) < 0)
		abort();
	hj->flat_addend = (uintptr_t)mem - MEM_BASE; /* as app mode has it */
	run(hi, x0, f0, fflags, &a);
	run(hj, x0, f0, fflags, &b);
	if (a.exit != b.exit || a.pc != b.pc || a.instret != b.instret) {
		fprintf(stderr, "exit %d/%d pc 0x%" PRIx64 "/0x%" PRIx64 " instret %" PRIu64 "/%" PRIu64 "\n",
			a.exit, b.exit, a.pc, b.pc, a.instret, b.instret);
		bad = 1;
	}
	for (int i = 1; i < 32; i++) {
		if (a.x[i] != b.x[i]) {
			fprintf(stderr, "x%d 0x%" PRIx64 " / 0x%" PRIx64 "\n", i, a.x[i], b.x[i]);
			bad = 1;
		}
	}
	for (int i = 0; i < 32; i++) {
		if (a.f[i] != b.f[i]) {
			fprintf(stderr, "f%d 0x%" PRIx64 " / 0x%" PRIx64 "\n", i, a.f[i], b.f[i]);
			bad = 1;
		}
	}
	if (a.fflags != b.fflags) {
		fprintf(stderr, "fflags %#x / %#x\n", a.fflags, b.fflags);
		bad = 1;
	}
	if (memcmp(a.data, b.data, sizeof(a.data))) {
		fprintf(stderr, "data page differs\n");
		bad = 1;
	}
	if (bad) {
		fprintf(stderr, "case seed %" PRIu64 " (TRACE_FUZZ_SEED=%" PRIu64 " TRACE_FUZZ_CASES=1), "
			"interpreter / compiled; program:\n", seed, seed);
		for (size_t i = 0; i < n; i++) {
			struct insn insn;

			insn_decode(&insn, code[i], CODE + 4 * i);
			fprintf(stderr, "  0x%05zx  %08x  %s\n", (size_t)CODE + 4 * i, code[i],
				insn_name(&insn));
		}
	}
	hart_free(hi);
	hart_free(hj);
	return bad;
}

static void test_traces_agree_with_the_interpreter(void **state)
{
	const char *s = getenv("TRACE_FUZZ_CASES"), *seed_env = getenv("TRACE_FUZZ_SEED");
	uint64_t cases = s ? strtoull(s, NULL, 0) : 400;
	uint64_t seed0 = seed_env ? strtoull(seed_env, NULL, 0) : 1, failed = 0;

	for (uint64_t i = 0; i < cases && failed < 3; i++)
		failed += (uint64_t)one_case(seed0 + i);
	if (failed)
		fail_msg("%" PRIu64 " cases differ (seeds above)", failed);
}

/* The generator makes what the fuzzer claims: programs where the
 * translator forms traces, loops among them. */
static void test_generated_programs_form_traces_and_loops(void **state)
{
	uint64_t traces = 0, runs = 0;

	for (uint64_t seed = 1; seed <= 50; seed++) {
		static uint32_t code[2 + MAX_BLOCKS * 16];
		struct hart *h = hart_new(&flat_env, NULL);
		struct jit_stats st;
		uint64_t x0[32] = { 0 }, f0[32] = { 0 };
		struct end e;
		uint32_t first;
		size_t n;

		rng = seed * 0x9e3779b97f4a7c15ull | 1;
		n = make_program(code, &first);
		memset(mem, 0, 0x1000);
		memcpy(mem, code, n * 4);
		memcpy(code_page, mem, sizeof(code_page));
		x0[DATA_REG] = DATA;
		x0[CODE_REG] = CODE;
		x0[RA] = CODE + 4 * first;
		assert_int_equal(engine_setup_hart(h, ENGINE_JIT, 1u << 20, 16), 0);
		run(h, x0, f0, 0, &e);
		jit_stats(engine_jit(h), &st);
		traces += st.trace_blocks;
		runs += e.instret;
		hart_free(h);
	}
	assert_true(traces >= 25);
	assert_true(runs > 50 * 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generated_programs_form_traces_and_loops),
		cmocka_unit_test(test_traces_agree_with_the_interpreter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
