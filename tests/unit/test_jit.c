/* Unit tests for the translator: precise traps in the middle of compiled
 * blocks, W^X of the code cache, chaining with exact instret and
 * instruction limits, stop requests, cache flushes, rejected blocks and the
 * lockstep engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_jit_common.h"

static struct hart *new_hart(int engine)
{
	struct hart *h = hart_new(&flat_env, NULL);

	assert_non_null(h);
	/* the loops here run 20 to 100 times */
	assert_int_equal(engine_setup_hart(h, engine, 0, 16), 0);
	assert_true(engine == ENGINE_INTERP || engine_jit(h));
	h->pc = CODE;
	return h;
}

static void load_program(const uint32_t *code, size_t n)
{
	memset(mem, 0, sizeof(mem));
	memcpy(mem, code, n * sizeof(*code));
}

static struct jit_stats stats_of(const struct hart *h)
{
	struct jit_stats st;

	jit_stats(engine_jit(h), &st);
	return st;
}

/* ---- precise traps ---- */

/* Compile b on its own and run it once from the hart's state. */
static int compile_and_run(struct hart *h, struct block *b)
{
	b->jit_entry = jit_compile(engine_jit(h), h, b);
	assert_non_null(b->jit_entry);
	return run_jit(engine_jit(h), h, b, b->n);
}

static void test_store_fault_mid_block_is_precise(void **state)
{
	static const uint32_t code[] = {
		0x00100513, /* li a0, 1 */
		0x00a50593, /* addi a1, a0, 10 */
		0x00b63423, /* sd a1, 8(a2): a2 unmapped */
		0x00300693, /* li a3, 3 */
		0x00d50533, /* add a0, a0, a3 */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct block *b;

	memset(mem, 0, sizeof(mem));
	b = make_block(code, 5);
	h->x[12] = 0x500000;
	h->x[13] = 77;
	h->instret = 1000;
	assert_int_equal(compile_and_run(h, b), JIT_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_STORE_PAGE_FAULT);
	assert_int_equal(h->trap_tval, 0x500008);
	assert_int_equal(h->pc, CODE + 8);
	assert_int_equal(h->instret, 1002);
	/* what ran before the fault is in the hart, nothing after it */
	assert_int_equal(h->x[10], 1);
	assert_int_equal(h->x[11], 11);
	assert_int_equal(h->x[13], 77);
	free(b);
	hart_free(h);
}

static void test_load_fault_keeps_the_destination(void **state)
{
	static const uint32_t code[] = {
		0x00700513, /* li a0, 7 */
		0x00053503, /* ld a0, 0(a0): address 7 is unmapped */
		0x00150513, /* addi a0, a0, 1 */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct block *b;

	memset(mem, 0, sizeof(mem));
	b = make_block(code, 3);
	assert_int_equal(compile_and_run(h, b), JIT_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_LOAD_PAGE_FAULT);
	assert_int_equal(h->trap_tval, 7);
	assert_int_equal(h->pc, CODE + 4);
	assert_int_equal(h->instret, 1);
	assert_int_equal(h->x[10], 7);
	free(b);
	hart_free(h);
}

static void test_page_crossing_store_checks_both_pages_first(void **state)
{
	static const uint32_t code[] = {
		0x00100693, /* li a3, 1 */
		0x00b53023, /* sd a1, 0(a0): crosses into the read-only page */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct block *b;

	memset(mem, 0, sizeof(mem));
	b = make_block(code, 2);
	h->x[10] = RO_PAGE - 4;
	h->x[11] = 0x1122334455667788ull;
	assert_int_equal(compile_and_run(h, b), JIT_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_STORE_PAGE_FAULT);
	assert_int_equal(h->trap_tval, RO_PAGE);
	assert_int_equal(h->instret, 1);
	assert_int_equal(h->x[13], 1);
	for (int i = -4; i < 4; i++)
		assert_int_equal(mem[RO_PAGE - MEM_BASE + i], 0);
	free(b);
	hart_free(h);
}

static void test_fp_with_reserved_frm_is_illegal_mid_block(void **state)
{
	static const uint32_t code[] = {
		0x00100513, /* li a0, 1 */
		0x00b50533, /* add a0, a0, a1 */
		0x0020f0d3, /* fadd.s f1, f1, f2 (dynamic rounding) */
		0x00150513, /* addi a0, a0, 1 */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct block *b;

	memset(mem, 0, sizeof(mem));
	b = make_block(code, 4);
	h->x[11] = 5;
	h->frm = 5;
	h->f[1] = 0x1234;
	assert_int_equal(compile_and_run(h, b), JIT_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_ILLEGAL_INSN);
	assert_int_equal(h->trap_tval, 0x0020f0d3);
	assert_int_equal(h->pc, CODE + 8);
	assert_int_equal(h->instret, 2);
	assert_int_equal(h->x[10], 6);
	assert_int_equal(h->f[1], 0x1234);

	/* mstatus.FS off: illegal as well, even with a valid frm */
	h->x[10] = 0;
	h->instret = 0;
	h->frm = 0;
	h->csr.mstatus = 0;
	assert_int_equal(run_jit(engine_jit(h), h, b, b->n), JIT_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_ILLEGAL_INSN);
	assert_int_equal(h->pc, CODE + 8);
	assert_int_equal(h->instret, 2);
	free(b);
	hart_free(h);
}

static void test_misaligned_amo_is_precise(void **state)
{
	static const uint32_t code[] = {
		0x00100593, /* li a1, 1 */
		0x00b5262f, /* amoadd.w a2, a1, (a0): misaligned */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct block *b;

	memset(mem, 0, sizeof(mem));
	b = make_block(code, 2);
	h->x[10] = DATA + 2;
	h->x[12] = 99;
	assert_int_equal(compile_and_run(h, b), JIT_EXIT_TRAP);
	assert_int_equal(h->trap_cause, CAUSE_STORE_MISALIGNED);
	assert_int_equal(h->trap_tval, DATA + 2);
	assert_int_equal(h->pc, CODE + 4);
	assert_int_equal(h->x[11], 1);
	assert_int_equal(h->x[12], 99);
	free(b);
	hart_free(h);
}

/* ---- W^X ---- */

static void test_code_cache_is_never_writable_and_executable(void **state)
{
	static const uint32_t code[] = { 0x00b50533 }; /* add a0, a0, a1 */
	struct hart *h = new_hart(ENGINE_JIT);
	struct block *b;
	char line[512];
	bool found = false;
	FILE *f;

	memset(mem, 0, sizeof(mem));
	b = make_block(code, 1);
	b->jit_entry = jit_compile(engine_jit(h), h, b);
	assert_non_null(b->jit_entry);
	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (perms[1] == 'w' && perms[2] == 'x')
			fail_msg("writable and executable mapping: %s", line);
		if ((uintptr_t)b->jit_entry >= lo && (uintptr_t)b->jit_entry < hi) {
			found = true;
			assert_int_equal(perms[1], '-'); /* the code's view is read-only */
			assert_int_equal(perms[2], 'x');
		}
	}
	fclose(f);
	assert_true(found);
	free(b);
	hart_free(h);
}

/* ---- chaining, limits and stops through cpu_run ---- */

/* sum = 0; for (i = 100; i != 0; i--) sum += i; ecall */
static const uint32_t sum_loop[] = {
	0x06400593, /* li a1, 100 */
	0x00000513, /* li a0, 0 */
	0x00b50533, /* add a0, a0, a1 */
	0xfff58593, /* addi a1, a1, -1 */
	0xfe059ce3, /* bnez a1, -8 */
	0x00000073, /* ecall */
};

static void test_loop_is_compiled_and_chained_with_exact_instret(void **state)
{
	struct hart *h = new_hart(ENGINE_JIT);
	struct jit_stats st;

	load_program(sum_loop, 6);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 5050);
	assert_int_equal(h->pc, CODE + 20);
	assert_int_equal(h->instret, 302);
	st = stats_of(h);
	assert_int_equal(st.blocks_compiled, 1);
	assert_int_equal(st.insns_compiled, 3);
	/* a loop trace: its back edge stays in compiled code, so once hot
	 * the loop is entered once and left once */
	assert_int_equal(st.chains, 0);
	assert_int_equal(st.runs, 1);
	assert_true(st.host_bytes > 0 && st.host_bytes <= st.cache_bytes);
	hart_free(h);
}

/* A call and a return per iteration: the return (jalr) finds the caller's
 * compiled block without going back to the interpreter. */
static const uint32_t call_loop[] = {
		0x06400593, /* li a1, 100 */
		0x00000513, /* li a0, 0 */
		0x010000ef, /* 8: jal ra, f (+16) */
		0xfff58593, /* addi a1, a1, -1 */
		0xfe059ce3, /* bnez a1, -8 (to the jal) */
		0x00000073, /* ecall */
		0x00b50533, /* 24 f: add a0, a0, a1 */
		0x00008067, /* ret */
};

/* A loop with an if-else, a store and a load, and more live registers than
 * the cache holds (reconciled at the back edge), in compressed and full
 * encodings: for (a1 = 100; a1; a1--) { if (a1 & 1) a0 += a1; else a2 += a1;
 * mem = a0; a4 += mem; t2 = a4 ^ a1; s2 += t2; s3 += s2; ... s11 += s10; } */
static const uint32_t branchy_loop[] = {
	0x06400593, /* li a1, 100 */
	0x4501,     /* c.li a0, 0 */
	0x4601,     /* c.li a2, 0 */
	0x66f9,     /* c.lui a3, 0x1e: data past the code */
	0x0015f293, /* loop: andi t0, a1, 1 */
	0x00028463, /* beqz t0, even */
	0x952e,     /* c.add a0, a1 */
	0xa011,     /* c.j join */
	0x962e,     /* even: c.add a2, a1 */
	0xe288,     /* join: c.sd a0, 0(a3) */
	0x0006b303, /* ld t1, 0(a3) */
	0x971a,     /* c.add a4, t1 */
	0x00b743b3, /* xor t2, a4, a1 */
	0x991e, 0x99ca, 0x9a4e, 0x9ad2, 0x9b56, 0x9bda, 0x9c5e, 0x9ce2, 0x9d66, 0x9dea,
	0x15fd,     /* c.addi a1, -1 */
	0xf9e1,     /* c.bnez a1, loop */
	0x00000073, /* ecall */
};

/* Lay out 32- and 16-bit encodings as the instruction stream has them. */
static void load_mixed(const uint32_t *code, size_t n)
{
	size_t off = 0;

	memset(mem, 0, sizeof(mem));
	for (size_t i = 0; i < n; i++) {
		size_t len = (code[i] & 3) == 3 ? 4 : 2;

		memcpy(mem + off, &code[i], len);
		off += len;
	}
}

/* Stopped by --max-insns at every step-th instruction, the program (words
 * as load_mixed takes them) has the interpreter's state there, and run on
 * from there it ends (ecall) with the interpreter's final state. */
static void check_limits(const uint32_t *code, size_t n, uint64_t step)
{
	struct hart *end = new_hart(ENGINE_INTERP);

	load_mixed(code, n);
	assert_int_equal(engine_run(end), CPU_EXIT_ECALL);
	for (uint64_t limit = 1; limit < end->instret; limit += step) {
		struct hart *ref = new_hart(ENGINE_INTERP), *h = new_hart(ENGINE_JIT);

		load_mixed(code, n);
		ref->insn_limit = h->insn_limit = limit;
		assert_int_equal(engine_run(ref), CPU_EXIT_LIMIT);
		assert_int_equal(engine_run(h), CPU_EXIT_LIMIT);
		assert_int_equal(h->instret, limit);
		assert_int_equal(h->pc, ref->pc);
		for (int i = 1; i < 32; i++)
			assert_int_equal(h->x[i], ref->x[i]);
		h->insn_limit = UINT64_MAX;
		assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
		assert_int_equal(h->instret, end->instret);
		for (int i = 1; i < 32; i++)
			assert_int_equal(h->x[i], end->x[i]);
		hart_free(ref);
		hart_free(h);
	}
	hart_free(end);
}

/* The loop compiles to a trace (the if-else's usual way inline, the other
 * a side exit) that goes round in compiled code, exact at every limit. */
static void test_branchy_loop_trace_matches_the_interpreter(void **state)
{
	struct hart *h = new_hart(ENGINE_JIT);
	struct jit_stats st;

	load_mixed(branchy_loop, ARRAY_SIZE(branchy_loop));
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 2500);
	assert_int_equal(h->x[12], 2550);
	st = stats_of(h);
	assert_true(st.trace_blocks >= 1);
	assert_true(st.runs < 2 * 16); /* not one entry per iteration */
	hart_free(h);
	check_limits(branchy_loop, ARRAY_SIZE(branchy_loop), 5);
}

static void test_instruction_limit_is_exact_across_chained_blocks(void **state)
{
	check_limits(sum_loop, 6, 7);
	check_limits(call_loop, 8, 7);
}

static void test_returns_jump_to_compiled_code_directly(void **state)
{
	struct hart *h = new_hart(ENGINE_JIT);
	struct jit_stats st;

	load_program(call_loop, 8);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 5050);
	assert_int_equal(h->instret, 2 + 100 * 5);
	st = stats_of(h);
	/* in the interpreter until hot, then a few entries, not one per return */
	assert_true(st.runs < 16);
	hart_free(h);
}

static void *stop_later(void *arg)
{
	struct hart *h = arg;

	usleep(20000);
	h->stop_request = 1;
	return NULL;
}

static void test_stop_request_ends_a_chained_endless_loop(void **state)
{
	static const uint32_t code[] = {
		0x00150513, /* addi a0, a0, 1 */
		0xffdff06f, /* j -4 */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	pthread_t t;

	load_program(code, 2);
	h->insn_limit = 1ull << 40; /* far beyond the stop; a bound in case it is missed */
	assert_int_equal(pthread_create(&t, NULL, stop_later, h), 0);
	assert_int_equal(engine_run(h), CPU_EXIT_STOP);
	pthread_join(t, NULL);
	assert_true(stats_of(h).runs <= 2); /* it went round in compiled code */
	/* a block boundary: instret counts whole iterations */
	assert_int_equal(h->instret % 2, 0);
	assert_int_equal(h->x[10], h->instret / 2);
	assert_int_equal(h->pc, CODE);
	hart_free(h);
}

/* K blocks of "addi a0, a0, 1; ld a3, 0(a2); j next", run 20 times: more
 * code than a small cache holds (traces of them included), so it fills up
 * and is flushed while the loop runs. */
static void test_full_cache_is_flushed_and_execution_goes_on(void **state)
{
	enum { K = 3000 };
	uint32_t *code = calloc(3 * K + 6, sizeof(uint32_t));
	struct hart *h = hart_new(&flat_env, NULL);
	struct jit_stats st;
	size_t n = 0;

	code[n++] = 0x01400593; /* li a1, 20 */
	code[n++] = 0x0001e637; /* lui a2, 0x1e: data past the code */
	for (int i = 0; i < K; i++) {
		code[n++] = 0x00150513; /* addi a0, a0, 1 */
		code[n++] = 0x00063683; /* ld a3, 0(a2) */
		code[n++] = 0x0040006f; /* j +4 */
	}
	code[n++] = 0xfff58593; /* addi a1, a1, -1 */
	code[n++] = 0x00058463; /* beqz a1, +8 */
	{
		/* j back to the first addi: -(12K + 8) */
		uint32_t imm = (uint32_t)-(int32_t)(12 * K + 8);

		code[n++] = 0x6f | ((imm >> 12) & 0xff) << 12 | ((imm >> 11) & 1) << 20 |
			    ((imm >> 1) & 0x3ff) << 21 | ((imm >> 20) & 1) << 31;
	}
	code[n++] = 0x00000073; /* ecall */
	assert_true(n * 4 <= MEM_SIZE);
	load_program(code, n);
	h->pc = CODE;
	/* the smallest cache; 20 runs each */
	assert_int_equal(engine_setup_hart(h, ENGINE_JIT, 1, 16), 0);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 20 * K);
	assert_int_equal(h->instret, 2 + 20 * (3 * K + 2) + 19);
	st = stats_of(h);
	assert_true(st.flushes >= 1);
	assert_true(st.blocks_compiled + st.trace_blocks >= K);
	assert_true(st.host_bytes <= st.cache_bytes);
	free(code);
	hart_free(h);
}

/* The part of a block before an instruction left to the interpreter (here
 * rdtime: the host clock cannot be compared in lockstep) is compiled; the
 * interpreter does that one as the rest of the same block. */
static void test_blocks_ending_in_a_csr_access_are_compiled_up_to_it(void **state)
{
	static const uint32_t code[] = {
		0x01400593, /* li a1, 20 */
		0x00150513, /* addi a0, a0, 1 */
		0xc01026f3, /* rdtime a3 (csrrs a3, time, x0): ends the block */
		0xfff58593, /* addi a1, a1, -1 */
		0xfe059ae3, /* bnez a1, -12 */
		0x00000073, /* ecall */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct jit_stats st;

	load_program(code, 6);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 20);
	assert_true(h->x[13] != 0);
	assert_int_equal(h->instret, 1 + 20 * 4);
	st = stats_of(h);
	assert_int_equal(st.blocks_rejected, 0);
	/* one trace: "addi; bnez" goes on (taken) into "addi; frflags" */
	assert_int_equal(st.blocks_compiled, 1);
	assert_int_equal(st.trace_blocks, 1);
	assert_int_equal(st.insns_compiled, 2 + 1);
	hart_free(h);
}

/* CSR instructions are compiled (through a helper) and see exact counters:
 * rdinstret in a loop reads the count of instructions before it.  Every
 * block is compiled at its first run, the first one at instret 0 with no
 * limit (a budget of 2^64 - 1, which once made an unchained exit count
 * its block twice). */
static void test_csr_instructions_are_compiled_with_exact_instret(void **state)
{
	static const uint32_t code[] = {
		0x01400593, /* li a1, 20 */
		0x00150513, /* addi a0, a0, 1 */
		0xc02026f3, /* loop: rdinstret a3: ends the block */
		0x00d60633, /* add a2, a2, a3 */
		0xfff58593, /* addi a1, a1, -1 */
		0xfe059ae3, /* bnez a1, loop */
		0x001022f3, /* frflags t0: inline, does not end the block */
		0x00000073, /* ecall */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct jit_stats st;
	uint64_t sum = 0;

	load_program(code, 8);
	h->fflags = 5;
	assert_int_equal(engine_setup_hart(h, ENGINE_JIT, 0, 1), 0);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	for (uint64_t i = 0; i < 20; i++)
		sum += 2 + 4 * i; /* li, addi, then 4 per iteration before rdinstret */
	assert_int_equal(h->x[12], sum);
	assert_int_equal(h->x[5], 5);
	assert_int_equal(h->instret, 2 + 20 * 4 + 1);
	st = stats_of(h);
	assert_int_equal(st.blocks_rejected, 0); /* frflags compiled, then the ecall */
	hart_free(h);
}

/* A block that is only an instruction left to the interpreter has nothing
 * to compile. */
static void test_a_block_of_a_csr_access_alone_stays_interpreted(void **state)
{
	static const uint32_t code[] = {
		0x01400593, /* li a1, 20 */
		0xc01026f3, /* loop: rdtime a3 */
		0x00150513, /* addi a0, a0, 1 */
		0xfff58593, /* addi a1, a1, -1 */
		0xfe059ae3, /* bnez a1, -12 (to the frflags) */
		0x00000073, /* ecall */
	};
	struct hart *h = new_hart(ENGINE_JIT);
	struct jit_stats st;

	load_program(code, 6);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 20);
	assert_int_equal(h->instret, 1 + 20 * 4);
	st = stats_of(h);
	assert_int_equal(st.blocks_rejected, 1); /* rdtime */
	assert_int_equal(st.blocks_compiled, 1); /* addi; addi; bnez */
	hart_free(h);
}

static void test_code_flush_drops_compiled_code(void **state)
{
	struct hart *h = new_hart(ENGINE_JIT);

	load_program(sum_loop, 6);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	cpu_code_flush(h);
	assert_int_equal(stats_of(h).flushes, 1);
	h->pc = CODE;
	h->instret = 0;
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(h->x[10], 5050);
	assert_int_equal(h->instret, 302);
	assert_int_equal(stats_of(h).blocks_compiled, 2); /* compiled again */
	hart_free(h);
}

/* ---- fork ---- */

/* A fork child must not share the code buffer: it drops the compiled code
 * it inherited and compiles into a buffer of its own, while the parent
 * goes on with its own. */
static void test_fork_child_gets_its_own_code_cache(void **state)
{
	struct hart *h = new_hart(ENGINE_JIT);
	int status;
	pid_t pid;

	load_program(sum_loop, 6);
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	assert_int_equal(stats_of(h).blocks_compiled, 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		bool ok;

		for (int i = 0; i < 3; i++) {
			h->pc = CODE;
			h->instret = 0;
			ok = engine_run(h) == CPU_EXIT_ECALL && h->x[10] == 5050 && h->instret == 302;
			if (!ok)
				_exit(1);
		}
		/* the inherited code was dropped and the loop compiled again */
		_exit(stats_of(h).blocks_compiled == 2 ? 0 : 2);
	}
	/* meanwhile the parent compiles into its own buffer */
	for (int i = 0; i < 3; i++) {
		h->pc = CODE;
		h->instret = 0;
		assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
		assert_int_equal(h->x[10], 5050);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(stats_of(h).blocks_compiled, 1);
	hart_free(h);
}

/* ---- lockstep ---- */

/* for (i = 0; i < 50; i++) { buf[i % 8] += i; sum += buf[i % 8] }; ecall */
static const uint32_t store_loop[] = {
	0x00000513, /* li a0, 0 (i) */
	0x03200593, /* li a1, 50 */
	0x00000693, /* li a3, 0 (sum) */
	0x00757613, /* andi a2, a0, 7 */
	0x00361613, /* slli a2, a2, 3 */
	0x00c40633, /* add a2, s0, a2 */
	0x00063703, /* ld a4, 0(a2) */
	0x00a70733, /* add a4, a4, a0 */
	0x00e63023, /* sd a4, 0(a2) */
	0x00e686b3, /* add a3, a3, a4 */
	0x00150513, /* addi a0, a0, 1 */
	0xfeb510e3, /* bne a0, a1, -32 (to the andi) */
	0x00000073, /* ecall */
};

static void test_lockstep_compares_compiled_blocks(void **state)
{
	struct hart *h = new_hart(ENGINE_LOCKSTEP), *ref = new_hart(ENGINE_INTERP);
	struct engine_stats st = { 0 };

	load_program(store_loop, 13);
	h->x[8] = ref->x[8] = DATA;
	assert_int_equal(engine_run(h), CPU_EXIT_ECALL);
	memset(mem + 0x1000, 0, 64);
	assert_int_equal(engine_run(ref), CPU_EXIT_ECALL);
	assert_int_equal(h->x[13], ref->x[13]);
	assert_int_equal(h->instret, ref->instret);
	engine_stats_add(&st, h);
	assert_true(st.jit.blocks_compiled >= 1);
	/* every instruction compared, the ecall's span included */
	assert_int_equal(st.lockstep_insns, h->instret);
	assert_true(st.lockstep_spans >= 1);
	assert_int_equal(st.lockstep_skipped, 0);
	hart_free(h);
	hart_free(ref);
}

/* Run child() in a forked process with stderr captured into out; returns
 * its exit status (-1: it did not exit). */
static int run_captured(void (*child)(void), char *out, size_t size)
{
	int fds[2], status;
	ssize_t len = 0, r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		child();
		_exit(0);
	}
	close(fds[1]);
	while ((r = read(fds[0], out + len, size - 1 - (size_t)len)) > 0)
		len += r;
	out[len] = 0;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) != ENGINE_LOCKSTEP_EXIT)
		fprintf(stderr, "%s", out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Give the decoded block at pc the compiled code of wrong[] (n words, the
 * same operations): memory keeps the right code, which the interpreter runs. */
static void plant_wrong_code(struct hart *h, gva_t pc, const uint32_t *wrong, uint32_t n)
{
	struct block *b = cpu_block_at(h, pc), *bw;
	uint8_t saved[64];

	assert_non_null(b);
	memcpy(saved, mem, sizeof(saved));
	bw = make_block(wrong, n); /* decoded at CODE, written there */
	memcpy(mem, saved, sizeof(saved));
	bw->pc = pc;
	/* the ecall the compiled code leaves to the interpreter runs in bw */
	for (uint32_t i = 0; i <= b->n; i++)
		bw->insns[i].handler = b->insns[i].handler;
	b->jit_entry = jit_compile(engine_jit(h), h, bw);
	assert_non_null(b->jit_entry);
}

static void wrong_first_block(void)
{
	static const uint32_t right[] = { 0x00150513, 0x00000073 }; /* addi a0, a0, 1; ecall */
	static const uint32_t wrong[] = { 0x00250513, 0x00000073 }; /* addi a0, a0, 2; ecall */
	struct hart *h = new_hart(ENGINE_LOCKSTEP);

	memset(mem, 0, sizeof(mem));
	load_program(right, 2);
	plant_wrong_code(h, CODE, wrong, 2);
	engine_run(h);
}

static void test_lockstep_reports_a_difference_and_exits(void **state)
{
	char out[4096];

	assert_int_equal(run_captured(wrong_first_block, out, sizeof(out)), ENGINE_LOCKSTEP_EXIT);
	assert_non_null(strstr(out, "addi"));
	assert_non_null(strstr(out, "x10 a0   0x0000000000000001 / 0x0000000000000002"));
}

/* 3000 times round a loop, then a block whose compiled code is wrong. */
static void wrong_block_after_a_loop(void)
{
	static const uint32_t code[] = {
		0x000015b7, /* lui a1, 1 */
		0xbb858593, /* addi a1, a1, -1096 (3000) */
		0xfff58593, /* loop: addi a1, a1, -1 */
		0xfe059ee3, /* bnez a1, loop */
		0x00150513, /* addi a0, a0, 1 */
		0x00000073, /* ecall */
	};
	static const uint32_t wrong[] = { 0x00250513, 0x00000073 };
	struct hart *h = new_hart(ENGINE_LOCKSTEP);

	memset(mem, 0, sizeof(mem));
	load_program(code, 6);
	plant_wrong_code(h, CODE + 16, wrong, 2);
	engine_run(h);
}

/* The difference is found across spans and narrowed down to the block. */
static void test_lockstep_narrows_a_late_difference_to_its_block(void **state)
{
	char out[8192];

	assert_int_equal(run_captured(wrong_block_after_a_loop, out, sizeof(out)),
			 ENGINE_LOCKSTEP_EXIT);
	assert_non_null(strstr(out, "the last compiled block run, at 0x10010"));
	assert_non_null(strstr(out, "x10 a0   0x0000000000000001 / 0x0000000000000002"));
	/* lui, addi, 3000 rounds of two: 6002 before it, over two spans */
	assert_non_null(strstr(out, "from instret 4096, runs of up to 1907 instructions agree"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_fault_mid_block_is_precise),
		cmocka_unit_test(test_load_fault_keeps_the_destination),
		cmocka_unit_test(test_page_crossing_store_checks_both_pages_first),
		cmocka_unit_test(test_fp_with_reserved_frm_is_illegal_mid_block),
		cmocka_unit_test(test_misaligned_amo_is_precise),
		cmocka_unit_test(test_code_cache_is_never_writable_and_executable),
		cmocka_unit_test(test_loop_is_compiled_and_chained_with_exact_instret),
		cmocka_unit_test(test_instruction_limit_is_exact_across_chained_blocks),
		cmocka_unit_test(test_branchy_loop_trace_matches_the_interpreter),
		cmocka_unit_test(test_returns_jump_to_compiled_code_directly),
		cmocka_unit_test(test_stop_request_ends_a_chained_endless_loop),
		cmocka_unit_test(test_full_cache_is_flushed_and_execution_goes_on),
		cmocka_unit_test(test_blocks_ending_in_a_csr_access_are_compiled_up_to_it),
		cmocka_unit_test(test_a_block_of_a_csr_access_alone_stays_interpreted),
		cmocka_unit_test(test_csr_instructions_are_compiled_with_exact_instret),
		cmocka_unit_test(test_code_flush_drops_compiled_code),
		cmocka_unit_test(test_fork_child_gets_its_own_code_cache),
		cmocka_unit_test(test_lockstep_compares_compiled_blocks),
		cmocka_unit_test(test_lockstep_reports_a_difference_and_exits),
		cmocka_unit_test(test_lockstep_narrows_a_late_difference_to_its_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
