/* fencei.c — fence.i on a hart that runs alone (one hart): code rewritten
 * by a store is run right after the fence.i, also when the rewritten
 * instruction follows the fence.i in the same function, and code that was
 * not written keeps running through many fence.i.  condo drops only the
 * decoded and compiled code of pages written since (its code map logs
 * every store to code; docs/jit.md), where it used to drop all of it at
 * every fence.i; with several harts it still drops all (smc.c).  Each
 * function is called CALLS times between changes, more than the 256 runs
 * after which condo compiles a block by default. */
#include "priv.h"

#define CALLS 300

__asm__(".pushsection .text.fencei_pages, \"ax\", @progbits\n"
	".option push\n"
	".option norvc\n"
	".balign 4096\n"
	/* page 0: a function whose addi is rewritten by the caller */
	".globl fi_fn\n"
	"fi_fn:\n"
	"	addi a0, a0, 0\n"
	"	ret\n"
	/* page 1: a function that stores a0 (an instruction) over the one
	 * after its fence.i, then runs it */
	".balign 4096\n"
	".globl fi_self, fi_self_insn\n"
	"fi_self:\n"
	"	lla t0, fi_self_insn\n"
	"	sw a0, 0(t0)\n"
	"	fence.i\n"
	"fi_self_insn:\n"
	"	addi a0, zero, 0\n"
	"	ret\n"
	/* page 2: never written */
	".balign 4096\n"
	".globl fi_plain\n"
	"fi_plain:\n"
	"	slli a0, a0, 1\n"
	"	addi a0, a0, 3\n"
	"	ret\n"
	".balign 4096\n"
	".option pop\n"
	".popsection\n");

extern char fi_fn[], fi_self[], fi_self_insn[], fi_plain[];

typedef long (*fi_call)(long);

/* addi rd, rs1, k */
static uint32_t addi(int rd, int rs1, long k)
{
	return ((uint32_t)k & 0xfff) << 20 | (uint32_t)rs1 << 15 | (uint32_t)rd << 7 | 0x13;
}

static inline void fence_i(void)
{
	__asm__ volatile("fence.i" ::: "memory");
}

/* n calls of fn(x) for x = x0, x0 + 1, ...: how many gave a result other
 * than x * mul + add; the first such is noted */
static long wrong(fi_call fn, long x0, long mul, long add, int n, const char *what, int round)
{
	long bad = 0;

	for (int i = 0; i < n; i++) {
		long x = x0 + i, got = fn(x);

		if (got != x * mul + add && bad++ == 0)
			note("%s, round %d: fn(%ld) = %ld, want %ld", what, round, x, got,
			     x * mul + add);
	}
	return bad;
}

static void rewritten_by_caller(void)
{
	fi_call fn = (fi_call)(uintptr_t)fi_fn;

	section("a hot function rewritten with sw, fence.i, then called at once");
	CHECK_EQ(wrong(fn, 0, 1, 0, CALLS, "before", -1), 0);
	for (int r = 0; r < 20; r++) {
		long k = r * 97 - 900;

		*(volatile uint32_t *)(uintptr_t)fi_fn = addi(10, 10, k);
		fence_i();
		CHECK_EQ(wrong(fn, r * 1000, 1, k, CALLS, "after the rewrite", r), 0);
	}
}

static void rewritten_before_fence(void)
{
	fi_call fn = (fi_call)(uintptr_t)fi_self;

	section("the instruction after fence.i, rewritten by the store before it");
	for (int r = 0; r < 10; r++) {
		long k = r * 211 - 1000, bad = 0;

		for (int i = 0; i < CALLS; i++) {
			long got = fn((long)addi(10, 0, k));

			if (got != k && bad++ == 0)
				note("round %d, call %d: %ld, want %ld", r, i, got, k);
		}
		CHECK_EQ(bad, 0);
	}
}

static void not_written(void)
{
	fi_call fn = (fi_call)(uintptr_t)fi_plain;
	long bad = 0;

	section("code not written runs on through fence.i after fence.i");
	for (int r = 0; r < 20; r++) {
		bad += wrong(fn, r * 50, 2, 3, CALLS, "between fences", r);
		fence_i();
	}
	CHECK_EQ(bad, 0);
}

int main(void)
{
	rewritten_by_caller();
	rewritten_before_fence();
	not_written();
	return 0;
}
