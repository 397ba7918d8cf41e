/* smc.c — self-modifying code without fence.i (run with --cpus 2): a store
 * to a page a hart has run code from, at any privilege and through any
 * virtual alias, makes that hart (and every other) run the new code by the
 * next call.  The RISC-V ISA only promises that after fence.i (unpriv
 * 20191213 §3.2); condo and QEMU both track code pages and give more, and
 * this checks condo's code map (docs/jit.md): the decoded blocks and their
 * x86 translations must go.  Every function is called 40 times before and
 * after each change, more than the 16 runs after which condo translates a
 * block.  Cases, each on code pages of its own:
 *  - M-mode, MMU off: 20 rewrites of an immediate, with sw, sd, sh, sb and
 *    a 4-byte instruction turned into two compressed ones and back;
 *  - an instruction straddling two pages, rewritten through either page;
 *  - code and data on one page: stores next to the function (and by the
 *    function itself) leave it working, then it is rewritten;
 *  - S- and U-mode under Sv39: code run through two virtual addresses and
 *    rewritten through others (a writable 4 KiB alias, a gigapage, and
 *    M-mode's physical address between runs);
 *  - two harts: one rewrites while the other calls in a loop, which must
 *    see the new code within 10 million calls (a bound, not a timeout). */
#include "priv.h"
#include "pt.h"

#define CALLS	 40
#define SMP_SPIN 10000000L  /* the reader's calls, once it knows of the write */
#define SMP_WAIT 50000000L  /* its calls before that: a hang guard */
#define BOUND	 200000000L /* spin bound of hart hand-offs: a hang guard */

/* The code pages.  Each patched function is `OP a0, a0, K; ret` (the
 * straddling one after three c.nop), K = 0 at first; encode() builds the
 * new instructions. */
__asm__(".pushsection .text.smc_pages, \"ax\", @progbits\n"
	".option push\n"
	".option norvc\n"
	".balign 4096\n"
	".globl smc_pages\n"
	"smc_pages:\n"
	/* page 0: M-mode rewrites */
	".globl smc_m_fn\n"
	"smc_m_fn:\n"
	"	addi a0, a0, 0\n"
	"	ret\n"
	/* page 1 ends with the first half of an instruction whose second
	 * half (its immediate) starts page 2 */
	".balign 4096\n"
	".skip 4096 - 8\n"
	".option rvc\n"
	".globl smc_straddle_fn\n"
	"smc_straddle_fn:\n"
	"	c.nop\n"
	"	c.nop\n"
	"	c.nop\n"
	".option norvc\n"
	".globl smc_straddle_insn\n"
	"smc_straddle_insn:\n"
	"	addi a0, a0, 0\n"
	"	ret\n"
	/* page 3: the function, one that counts its calls in a word of its
	 * own page (a0 + 1), then data on the same page */
	".balign 4096\n"
	".globl smc_mix_fn, smc_mix_ret, smc_mix_self, smc_mix_count, smc_mix_data\n"
	"smc_mix_fn:\n"
	"	addi a0, a0, 0\n"
	"smc_mix_ret:\n"
	"	ret\n"
	"smc_mix_self:\n"
	"	lla t0, smc_mix_count\n"
	"	ld t1, 0(t0)\n"
	"	addi t1, t1, 1\n"
	"	sd t1, 0(t0)\n"
	"	addi a0, a0, 1\n"
	"	ret\n"
	".balign 8\n"
	"smc_mix_count:\n"
	"	.dword 0\n"
	"smc_mix_data:\n"
	"	.skip 256\n"
	/* page 4: run in S-mode; page 5: in U-mode; page 6: by two harts */
	".balign 4096\n"
	".globl smc_s_fn\n"
	"smc_s_fn:\n"
	"	addi a0, a0, 0\n"
	"	ret\n"
	".balign 4096\n"
	".globl smc_u_fn\n"
	"smc_u_fn:\n"
	"	addi a0, a0, 0\n"
	"	ret\n"
	".balign 4096\n"
	".globl smc_smp_fn, smc_smp_data\n"
	"smc_smp_fn:\n"
	"	addi a0, a0, 0\n"
	"	ret\n"
	".balign 8\n"
	"smc_smp_data:\n"
	"	.dword 0\n"
	".balign 4096\n"
	".option pop\n"
	".popsection\n");

typedef long (*smc_fn)(long);
extern char smc_pages[], smc_m_fn[], smc_straddle_fn[], smc_straddle_insn[], smc_mix_fn[],
    smc_mix_ret[], smc_mix_self[], smc_mix_data[], smc_s_fn[], smc_u_fn[], smc_smp_fn[];
extern volatile uint64_t smc_mix_count, smc_smp_data;

#define PAGE(i) ((uintptr_t)smc_pages + 4096UL * (i))

/* ---- the instructions: OP a0, a0, K ---- */

enum kind { ADDI, XORI, CADDI }; /* CADDI: c.addi a0, K; c.nop */

#define INSN_RET 0x00008067u /* jalr x0, 0(ra) */

static uint32_t encode(enum kind kind, long k)
{
	switch (kind) {
	case XORI:
		return ((uint32_t)k & 0xfff) << 20 | 10 << 15 | 4 << 12 | 10 << 7 | 0x13;
	case CADDI:
		return 0x0001u << 16 | /* c.nop */
		       ((uint32_t)k >> 5 & 1) << 12 | 10 << 7 | ((uint32_t)k & 0x1f) << 2 | 1;
	default:
		return ((uint32_t)k & 0xfff) << 20 | 10 << 15 | 0 << 12 | 10 << 7 | 0x13;
	}
}

static long expect(enum kind kind, long k, long x)
{
	return kind == XORI ? x ^ k : x + k;
}

/* wrong results of n calls fn(x), the first one kept; usable in any mode
 * (it only touches its own arguments).  Inlined, so that each use is an
 * indirect call of its own with a single target, which is what a
 * translator's indirect-branch cache keeps. */
struct tally {
	long bad, x, got, want;
};

static inline __attribute__((always_inline)) void calls(smc_fn fn, enum kind kind, long k, int n,
							long x0, struct tally *t)
{
	for (int i = 0; i < n; i++) {
		long x = x0 + 7 * i;
		long got = fn(x);

		if (got != expect(kind, k, x) && t->bad++ == 0) {
			t->x = x;
			t->got = got;
			t->want = expect(kind, k, x);
		}
	}
}

/* M-mode: check a tally; the first two wrong rounds of a section are
 * shown, and the number of the others at the section's end */
static int rounds_wrong;

static void check_tally(const struct tally *t, const char *what, int round)
{
	if (t->bad && rounds_wrong++ < 2) {
		note("%s, round %d: %ld of the calls wrong, first fn(%ld) = %ld, want %ld", what,
		     round, t->bad, t->x, t->got, t->want);
		CHECK_EQ(t->bad, 0);
	}
}

static void begin(const char *name)
{
	section(name);
	rounds_wrong = 0;
}

static void end(void)
{
	if (rounds_wrong > 2)
		note("and %d more rounds with wrong results", rounds_wrong - 2);
}

/* ---- M-mode, MMU off ---- */

/* write the instruction at p with one of several store shapes */
static void patch(uintptr_t p, uint32_t insn, int how)
{
	volatile uint8_t *b = (volatile uint8_t *)p;

	switch (how) {
	case 0:
		*(volatile uint32_t *)p = insn;
		break;
	case 1: /* the instruction and the `ret` after it, as one doubleword */
		*(volatile uint64_t *)p = (uint64_t)INSN_RET << 32 | insn;
		break;
	case 2: /* only the upper half: the immediate */
		*(volatile uint16_t *)(p + 2) = (uint16_t)(insn >> 16);
		break;
	case 3: /* byte by byte */
		for (int i = 0; i < 4; i++)
			b[i] = (uint8_t)(insn >> (8 * i));
		break;
	default: /* two halves */
		*(volatile uint16_t *)p = (uint16_t)insn;
		*(volatile uint16_t *)(p + 2) = (uint16_t)(insn >> 16);
		break;
	}
}

static void m_mode_rewrites(void)
{
	/* round r's store shape (patch) and instruction */
	static const enum kind kinds[5] = {ADDI, XORI, XORI, CADDI, ADDI};
	smc_fn fn = (smc_fn)(uintptr_t)smc_m_fn;
	enum kind kind = ADDI;
	long k = 0;
	struct tally t = {0};

	begin("M-mode, MMU off: 20 rewrites of a function's instruction (sw, sd, sh, sb, rvc)");
	calls(fn, kind, k, CALLS, -100, &t);
	check_tally(&t, "before any rewrite", -1);
	for (int r = 0; r < 20; r++) {
		int how = r % 5;

		kind = kinds[how];
		/* the sh of the upper half keeps the lower: same kind as before */
		k = kind == CADDI ? (r * 7) % 31 - 15 : (r * 397) % 4000 - 2000;
		if (kind == CADDI && k == 0)
			k = 13;
		if (kind != CADDI && k > 2047)
			k -= 4096;
		patch((uintptr_t)smc_m_fn, encode(kind, k), how);
		t = (struct tally){0};
		calls(fn, kind, k, CALLS, r * 1000, &t);
		check_tally(&t, "after the rewrite", r);
	}
	end();
}

/* the instruction at the end of page 1 spans pages 1 and 2: rewrite its
 * immediate (page 2) or its funct3 (page 1) */
static void straddle_rewrites(void)
{
	smc_fn fn = (smc_fn)(uintptr_t)smc_straddle_fn;
	uintptr_t insn = (uintptr_t)smc_straddle_insn;
	enum kind kind = ADDI;
	long k = 0;
	struct tally t = {0};

	begin("M-mode: an instruction straddling two pages, rewritten through either page");
	CHECK_EQ(insn & 4095, 4094);
	calls(fn, kind, k, CALLS, 5, &t);
	check_tally(&t, "before any rewrite", -1);
	for (int r = 0; r < 12; r++) {
		uint32_t word;

		if (r % 2 == 0) {
			k = r * 111 - 700; /* immediate: the half on page 2 */
			word = encode(kind, k);
			*(volatile uint16_t *)(insn + 2) = (uint16_t)(word >> 16);
		} else {
			kind = kind == ADDI ? XORI : ADDI; /* funct3: byte 1, page 1 */
			word = encode(kind, k);
			*(volatile uint8_t *)(insn + 1) = (uint8_t)(word >> 8);
		}
		t = (struct tally){0};
		calls(fn, kind, k, CALLS, r * 10, &t);
		check_tally(&t,
			    r % 2 ? "after a store to the first page"
				  : "after a store to the second page",
			    r);
	}
	end();
}

/* ---- code and data on one page ---- */

static void mixed_page(void)
{
	smc_fn fn = (smc_fn)(uintptr_t)smc_mix_fn, self = (smc_fn)(uintptr_t)smc_mix_self;
	volatile uint64_t *data = (volatile uint64_t *)(uintptr_t)smc_mix_data;
	long k = 0, counted = 0;
	struct tally t = {0};

	begin("code and data on one page: data stores (also by code there) leave it working");
	CHECK_EQ((uintptr_t)smc_mix_fn >> 12, (uintptr_t)&smc_mix_count >> 12);
	CHECK_EQ((uintptr_t)smc_mix_fn >> 12, ((uintptr_t)smc_mix_data + 255) >> 12);
	smc_mix_count = 0;
	for (int r = 0; r < 10; r++) {
		calls(fn, ADDI, k, CALLS, r, &t);
		check_tally(&t, "before the data stores", r);
		/* data stores: the words after the code, the `ret` rewritten
		 * with itself, and a function counting its calls on the page */
		for (int i = 0; i < 32; i++)
			data[i] = (uint64_t)(r * 32 + i) * 0x9e3779b97f4a7c15UL;
		*(volatile uint32_t *)(uintptr_t)smc_mix_ret = INSN_RET;
		t = (struct tally){0};
		calls(self, ADDI, 1, CALLS, r, &t);
		counted += CALLS;
		check_tally(&t, "the function that stores to its page", r);
		CHECK_EQ(smc_mix_count, counted);
		/* calls with a data store before each, then calls without */
		t = (struct tally){0};
		for (int i = 0; i < CALLS; i++) {
			long x = r * 100 + i, got;

			data[i % 32] = (uint64_t)x;
			got = fn(x);
			if (got != x + k && t.bad++ == 0) {
				t.x = x;
				t.got = got;
				t.want = x + k;
			}
		}
		calls(fn, ADDI, k, CALLS, -r, &t);
		check_tally(&t, "after the data stores", r);
		for (int i = 0; i < 32; i++)
			CHECK_EQ(data[i], (uint64_t)(r * 100 + (i < CALLS - 32 ? 32 + i : i)));
		/* then change the function */
		k = r * 123 + 1;
		patch((uintptr_t)smc_mix_fn, encode(ADDI, k), r % 5);
		t = (struct tally){0};
		calls(fn, ADDI, k, CALLS, r, &t);
		check_tally(&t, "after the rewrite", r);
		t = (struct tally){0};
	}
	end();
}

/* ---- S- and U-mode under Sv39 ---- */

/* 4 KiB aliases (pt.h's TVA pages) of the S and U code pages */
#define S_EXEC_VA  TVA(0) /* R X */
#define S_WRITE_VA TVA(1) /* R W */
#define U_EXEC_VA  TVA(2) /* R X U */
#define U_WRITE_VA TVA(3) /* R W U */

/* results of the lower-mode runs: written in S or U, read in M */
static struct tally lower_tally[2][24];
static long lower_k; /* the immediate the next lower_check wants */

/* In S or U (mode): rounds of 40 calls through two virtual addresses of
 * the page (its 4 KiB alias and where this code runs: the identity
 * gigapage in S, the U alias gigapage in U), then a rewrite through a
 * writable alias that never executes: a 4 KiB page, or (odd rounds) the
 * gigapage.  Globals are reached pc-relatively, so through either alias. */
static long lower_rewrites(long mode)
{
	char *fn_here = mode == PRV_S ? smc_s_fn : smc_u_fn;
	uintptr_t off = (uintptr_t)fn_here & 4095;
	uintptr_t exec_va = (mode == PRV_S ? S_EXEC_VA : U_EXEC_VA) + off;
	uintptr_t write_va = (mode == PRV_S ? S_WRITE_VA : U_WRITE_VA) + off;
	struct tally *tl = lower_tally[mode == PRV_S ? 0 : 1];
	long k = 0;

	for (int r = 0; r < 21; r++) {
		/* the address called last before a rewrite is called first after
		 * it, while anything cached for it is still the newest */
		if (r % 2 == 0) {
			calls((smc_fn)exec_va, ADDI, k, CALLS, r, &tl[r]);
			calls((smc_fn)(uintptr_t)fn_here, ADDI, k, CALLS, -r, &tl[r]);
		} else {
			calls((smc_fn)(uintptr_t)fn_here, ADDI, k, CALLS, -r, &tl[r]);
			calls((smc_fn)exec_va, ADDI, k, CALLS, r, &tl[r]);
		}
		if (r == 20)
			break;
		k = r * 61 - 500;
		*(volatile uint32_t *)(r % 2 ? (uintptr_t)fn_here : write_va) = encode(ADDI, k);
	}
	lower_k = k;
	return 0;
}

/* In S: 40 calls through the 4 KiB alias, which must give lower_k */
static long lower_check(long unused)
{
	(void)unused;
	lower_tally[0][23] = (struct tally){0};
	calls((smc_fn)(S_EXEC_VA + ((uintptr_t)smc_s_fn & 4095)), ADDI, lower_k, CALLS, 9,
	      &lower_tally[0][23]);
	return 0;
}

static void paged_rewrites(void)
{
	static const char *const names[2] = {"S-mode", "U-mode"};

	pt_init();
	pt_map(0, PAGE(4), PTE_R | PTE_X | PTE_A);
	pt_map(1, PAGE(4), PTE_R | PTE_W | PTE_A | PTE_D);
	pt_map(2, PAGE(5), PTE_R | PTE_X | PTE_U | PTE_A);
	pt_map(3, PAGE(5), PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
	pt_enable(3);
	for (int m = 0; m < 2; m++) {
		long mode = m == 0 ? PRV_S : PRV_U;

		sectionf(
		    "%s, Sv39: code run through two virtual addresses, rewritten through others",
		    names[m]);
		rounds_wrong = 0;
		trap_reset();
		memset(lower_tally, 0, sizeof(lower_tally));
		CHECK_EQ(lower_call(mode, lower_rewrites, mode, m ? U_ALIAS_OFF : 0), 0);
		CHECK_NO_EXC();
		for (int r = 0; r <= 20; r++)
			check_tally(&lower_tally[m][r],
				    r ? "after the rewrite" : "before any rewrite", r);
		end();
	}

	begin("S-mode, Sv39: code rewritten by M-mode at its physical address between runs");
	trap_reset();
	for (int r = 0; r < 6; r++) {
		lower_k = r * 17 + 3;
		patch((uintptr_t)smc_s_fn, encode(ADDI, lower_k), r % 5);
		CHECK_EQ(RUN_S(lower_check, 0), 0);
		check_tally(&lower_tally[0][23], "after M's rewrite", r);
	}
	end();
	CHECK_NO_EXC();
	pt_disable();
}

/* ---- two harts ---- */

static volatile uint32_t hart1_alive, arrived, spinning, written, smp_abort;
static volatile long smp_k; /* the immediate of the current round's new code */
/* per hart: calls before the rewrite and after it; the reader's calls from
 * when it knew the store was done until it saw the new code (-1: it never
 * knew), and results that were neither old nor new */
static struct tally smp_before[2], smp_after[2];
static volatile long smp_spins[2], smp_odd[2], smp_seen[2];

static int wait_ge(volatile uint32_t *p, uint32_t want, long bound)
{
	for (long i = 0; i < bound; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) >= want)
			return 1;
		__asm__ volatile(".4byte 0x0100000f"); /* pause */
	}
	return 0;
}

/* the n-th meeting of the two harts (n counts from 1 on each hart) */
static int meet(uint32_t n)
{
	__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
	return wait_ge(&arrived, 2 * n, BOUND);
}

/* One round, on both harts: both run the old code, then the writer waits
 * until the reader is calling in a loop and rewrites it; the reader must
 * see the new code within SMP_SPIN calls of learning (through memory) that
 * the store is done, and both must then keep it.  In
 * round 0 the writer (hart 1) stored to the page before it became code and
 * never runs the function before rewriting it. */
static void smp_round(int id, int r, uint32_t *met)
{
	smc_fn fn = (smc_fn)(uintptr_t)smc_smp_fn;
	int writer = r % 2 == 0 ? 1 : 0;
	long k_old = smp_k, k_new = r * 211 - 1500;
	uintptr_t insn = (uintptr_t)smc_smp_fn;

	if (r == 0 && id == writer)
		smc_smp_data = 1;
	if (!meet(++*met))
		return;
	smp_before[id] = smp_after[id] = (struct tally){0};
	smp_spins[id] = smp_odd[id] = smp_seen[id] = 0;
	if (r > 0 || id != writer)
		calls(fn, ADDI, k_old, CALLS, id * 1000 + r, &smp_before[id]);
	if (!meet(++*met))
		return;
	if (id == writer) {
		if (wait_ge(&spinning, (uint32_t)r + 1, BOUND)) {
			if (r > 0)
				calls(fn, ADDI, k_old, CALLS, r, &smp_before[id]);
			smp_k = k_new;
			/* one store each (sw, sd, sh): no half-written instruction */
			patch(insn, encode(ADDI, k_new), r / 2 % 3);
			__atomic_store_n(&written, (uint32_t)r + 1, __ATOMIC_RELEASE);
		}
		calls(fn, ADDI, k_new, CALLS, 3 * r, &smp_after[id]);
	} else {
		long x = 0, after = -1;

		for (long i = 0; i < SMP_WAIT; i++) {
			long got = fn(x);

			if (i == CALLS) /* looping, and the loop translated: go */
				__atomic_store_n(&spinning, (uint32_t)r + 1, __ATOMIC_RELEASE);
			if (got == x + k_new) {
				smp_seen[id] = 1;
				break;
			}
			if (got != x + k_old)
				smp_odd[id]++;
			if (after >= 0) {
				if (++after == SMP_SPIN)
					break;
			} else if (__atomic_load_n(&written, __ATOMIC_ACQUIRE) == (uint32_t)r + 1) {
				after = 0;
			}
			x = (x + 1) & 0xffff;
		}
		smp_spins[id] = after;
		if (smp_seen[id])
			calls(fn, ADDI, k_new, CALLS, 5 * r, &smp_after[id]);
		else
			smp_abort = 1; /* no time for more rounds at 10 million calls each */
	}
	meet(++*met);
}

#define SMP_ROUNDS 16
/* qemu 7.2 with one thread per hart (MTTCG, the shim's -smp 2) now and
 * then keeps running its translation of the old code on both harts, even
 * with fence.i on both (single-threaded TCG passes) */
#define QEMU_MTTCG "with several harts, rewritten code is at times never seen, even after fence.i"

void hart_main(long hartid)
{
	uint32_t met = 0;

	if (hartid != 1)
		for (;;)
			__asm__ volatile("wfi");
	__atomic_store_n(&hart1_alive, 1, __ATOMIC_RELEASE);
	for (int r = 0; r < SMP_ROUNDS && !smp_abort; r++) {
		smp_round(1, r, &met);
		meet(++met); /* hart 0 checks the round */
	}
	for (;;)
		__asm__ volatile("wfi");
}

static void two_harts(void)
{
	uint32_t met = 0;
	long most = 0;

	begin("two harts: one rewrites a function while the other calls it in a loop");
	if (!wait_ge(&hart1_alive, 1, 20000000)) {
		skip("hart 1 did not start: run with --cpus 2");
		return;
	}
	for (int r = 0; r < SMP_ROUNDS && !smp_abort; r++) {
		int reader = r % 2 == 0 ? 0 : 1;
		int wrong;

		smp_round(0, r, &met);
		wrong = smp_before[0].bad || smp_before[1].bad || smp_after[0].bad ||
			smp_after[1].bad || !smp_seen[reader] || smp_odd[reader];
		if (wrong && qemu_deviation(QEMU_MTTCG)) {
			note("round %d: hart %d %s hart %d's rewrite", r, reader,
			     smp_seen[reader] ? "saw" : "never saw", 1 - reader);
		} else {
			for (int id = 0; id < 2; id++) {
				check_tally(&smp_before[id],
					    id ? "hart 1, old code" : "hart 0, old code", r);
				check_tally(&smp_after[id],
					    id ? "hart 1, new code" : "hart 0, new code", r);
			}
			if (!smp_seen[reader] && smp_spins[reader] < 0)
				note("round %d: hart %d never learnt that hart %d rewrote the code",
				     r, reader, 1 - reader);
			else if (!smp_seen[reader])
				note("round %d: hart %d never saw hart %d's rewrite in %ld calls",
				     r, reader, 1 - reader, SMP_SPIN);
			CHECK(smp_seen[reader]);
			CHECK_EQ(smp_odd[reader], 0);
		}
		if (smp_seen[reader] && smp_spins[reader] > most)
			most = smp_spins[reader];
		meet(++met);
	}
	if (!smp_abort)
		note("the reader saw the new code at most %ld calls after it knew of the store",
		     most);
	end();
}

int main(void)
{
	m_mode_rewrites();
	straddle_rewrites();
	mixed_page();
	paged_rewrites();
	two_harts();
	return 0;
}
