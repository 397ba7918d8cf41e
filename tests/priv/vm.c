/* vm.c — Sv39 and Sv48 (priv 1.12 §4.3-4.5), each with page tables built
 * here (layout in pt.h): load/store/fetch page faults with their cause,
 * epc and tval; R/W/X/U permissions, SUM and MXR; hardware A/D updates
 * (and none on a faulting access); megapages, gigapages, Sv48 terapages
 * and misaligned superpages; reserved encodings (W without R, reserved
 * PTE bits 63:54, A/D/U in a non-leaf PTE, a pointer at level 0);
 * non-canonical addresses; sfence.vma after a PTE change, global and by
 * address; MPRV with MPP = S and U in M-mode; satp ignoring an
 * unsupported MODE. Page faults are delegated to S here (medeleg) except
 * under MPRV, which stays in M. */
#include "priv.h"
#include "pt.h"

enum acc { LD, SD, EX };
static const char *const acc_name[] = { "load", "store", "fetch" };
static const uint64_t acc_cause[] = { CAUSE_LOAD_PAGE, CAUSE_STORE_PAGE, CAUSE_FETCH_PAGE };

#define NPAGES 8
#define CODE_OFF 0x800            /* a `ret` there in every test page */
#define MEGA_PA 0x80400000UL      /* 2 MiB-aligned RAM above the image */

static uint8_t pages[NPAGES][4096] __attribute__((aligned(4096)));
static struct hart *H;
static int levels;                /* 3 = Sv39, 4 = Sv48 */
extern const char _end[];

static uint64_t marker(int i)
{
	return 0xc0de000000000000UL | (uint64_t)i << 16 | (uint64_t)levels;
}

static uintptr_t pa(int i)
{
	return (uintptr_t)pages[i];
}

static long s_ld(long va) { return (long)probe_ld((uintptr_t)va); }
static long s_sd(long va) { return (long)probe_sd((uintptr_t)va, 0x5d5d5d5d5d5d5d5dUL); }
static long s_ex(long va) { return (long)probe_exec((uintptr_t)va + CODE_OFF); }
static long s_amo(long va) { return (long)probe_amoor_d((uintptr_t)va, 0); }

static long run(int mode, enum acc a, uint64_t va)
{
	static long (*const fns[])(long) = { s_ld, s_sd, s_ex };
	trap_reset();
	return lower_call(mode, fns[a], (long)va, mode == PRV_U ? U_ALIAS_OFF : 0);
}

static uint64_t probe_addr(int mode, enum acc a)
{
	uint64_t off = mode == PRV_U ? U_ALIAS_OFF : 0;
	return (a == LD ? (uintptr_t)probe_ld : (uintptr_t)probe_sd) + off;
}

/* the access works; a load returns `want` unless want is ~0 */
static void ok_at(int mode, enum acc a, uint64_t va, uint64_t want, int line)
{
	long r = run(mode, a, va);
	check_eq(H->nexc, 0, acc_name[a], line);
	if (H->nexc)
		check_eq(H->exc.cause, ~0UL, "  (unexpected trap) cause", line);
	if (a == LD && want != ~0UL)
		check_eq((uint64_t)r, want, "value loaded", line);
}

/* the access takes a page fault to S with the right cause, epc, tval */
static void pf_at(int mode, enum acc a, uint64_t va, int line)
{
	long r = run(mode, a, va);
	check_eq((uint64_t)r, FAULT_VALUE, acc_name[a], line);
	uint64_t fva = a == EX ? va + CODE_OFF : va;
	check_exc(PRV_S, acc_cause[a], a == EX ? fva : probe_addr(mode, a), fva, 1, line);
	check_eq(H->exc.from, mode, "mode the fault came from", line);
}

#define OK(mode, a, va) ok_at(mode, a, va, ~0UL, __LINE__)
#define OKV(mode, va, want) ok_at(mode, LD, va, want, __LINE__)
#define PF(mode, a, va) pf_at(mode, a, va, __LINE__)

static const char *vm_name(void)
{
	return levels == 4 ? "Sv48" : "Sv39";
}

static void setup(void)
{
	pt_init();
	for (int i = 0; i < NPAGES; i++) {
		for (int j = 0; j < 4096; j++)
			pages[i][j] = 0;
		*(uint64_t *)pages[i] = marker(i);
		memcpy(pages[i] + CODE_OFF, &ret_insn, 2);
	}
	fence();
	__asm__ volatile("fence.i" ::: "memory");
	csr_write(medeleg, (1UL << CAUSE_FETCH_PAGE) | (1UL << CAUSE_LOAD_PAGE) | (1UL << CAUSE_STORE_PAGE));
	csr_clear(mstatus, MSTATUS_SUM | MSTATUS_MXR);
	pt_enable(levels);
}

static void basics(void)
{
	sectionf("%s: a mapped page reads, writes and runs; the satp mode sticks", vm_name());
	CHECK_EQ(csr_read(satp), pt_satp(levels));
	pt_map(0, pa(0), PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	OKV(PRV_S, TVA(0), marker(0));
	OK(PRV_S, SD, TVA(0));
	CHECK_EQ(*(volatile uint64_t *)pages[0], 0x5d5d5d5d5d5d5d5dUL);
	*(volatile uint64_t *)pages[0] = marker(0);
	OK(PRV_S, EX, TVA(0));
	/* two virtual pages onto one physical page */
	pt_map(1, pa(0), PTE_R | PTE_A);
	OKV(PRV_S, TVA(1), marker(0));

	sectionf("%s: an invalid PTE faults for load, store and fetch", vm_name());
	pt_unmap(1);
	PF(PRV_S, LD, TVA(1));
	PF(PRV_S, SD, TVA(1));
	PF(PRV_S, EX, TVA(1));
	PF(PRV_U, LD, TVA(1));
	PF(PRV_U, SD, TVA(1));
	PF(PRV_U, EX, TVA(1));

	sectionf("%s: page faults not delegated go to M", vm_name());
	csr_write(medeleg, 0);
	trap_reset();
	CHECK_EQ(RUN_S(s_ld, TVA(1)), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_LOAD_PAGE, probe_ld, TVA(1));
	csr_write(medeleg, (1UL << CAUSE_FETCH_PAGE) | (1UL << CAUSE_LOAD_PAGE) | (1UL << CAUSE_STORE_PAGE));
}

static void permissions(void)
{
	sectionf("%s: R-only page: load works, store and fetch fault", vm_name());
	pt_map(2, pa(2), PTE_R | PTE_A | PTE_D);
	OKV(PRV_S, TVA(2), marker(2));
	PF(PRV_S, SD, TVA(2));
	PF(PRV_S, EX, TVA(2));

	sectionf("%s: X-only page: fetch works, load faults unless MXR", vm_name());
	pt_map(3, pa(3), PTE_X | PTE_A);
	OK(PRV_S, EX, TVA(3));
	PF(PRV_S, LD, TVA(3));
	PF(PRV_S, SD, TVA(3));
	csr_set(mstatus, MSTATUS_MXR);
	OKV(PRV_S, TVA(3), marker(3));
	PF(PRV_S, SD, TVA(3));
	csr_clear(mstatus, MSTATUS_MXR);

	sectionf("%s: W without R is reserved: every access faults", vm_name());
	pt_map(4, pa(4), PTE_W | PTE_A | PTE_D);
	PF(PRV_S, LD, TVA(4));
	PF(PRV_S, SD, TVA(4));
	PF(PRV_S, EX, TVA(4));
	pt_map(4, pa(4), PTE_W | PTE_X | PTE_A | PTE_D);
	PF(PRV_S, LD, TVA(4));
	PF(PRV_S, SD, TVA(4));
	PF(PRV_S, EX, TVA(4));
	csr_set(mstatus, MSTATUS_MXR);
	PF(PRV_S, LD, TVA(4));
	csr_clear(mstatus, MSTATUS_MXR);

	sectionf("%s: U pages: U may use them; S only loads/stores with SUM, never fetches", vm_name());
	pt_map(5, pa(5), PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
	OKV(PRV_U, TVA(5), marker(5));
	OK(PRV_U, SD, TVA(5));
	OK(PRV_U, EX, TVA(5));
	PF(PRV_S, LD, TVA(5));
	PF(PRV_S, SD, TVA(5));
	PF(PRV_S, EX, TVA(5));
	csr_set(mstatus, MSTATUS_SUM);
	OK(PRV_S, LD, TVA(5));
	OK(PRV_S, SD, TVA(5));
	PF(PRV_S, EX, TVA(5));
	csr_clear(mstatus, MSTATUS_SUM);
	*(volatile uint64_t *)pages[5] = marker(5);

	sectionf("%s: pages without U: U-mode faults", vm_name());
	pt_map(6, pa(6), PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
	PF(PRV_U, LD, TVA(6));
	PF(PRV_U, SD, TVA(6));
	PF(PRV_U, EX, TVA(6));
	csr_set(mstatus, MSTATUS_SUM);          /* SUM does not open S pages to U */
	PF(PRV_U, LD, TVA(6));
	csr_clear(mstatus, MSTATUS_SUM);
}

static void accessed_dirty(void)
{
	const uint64_t ad = PTE_A | PTE_D;

	sectionf("%s: A set by a load, D left clear", vm_name());
	pt_map(0, pa(0), PTE_R | PTE_W);
	OKV(PRV_S, TVA(0), marker(0));
	CHECK_EQ(pt_l0[0] & ad, PTE_A);

	sectionf("%s: A and D set by a store", vm_name());
	pt_map(0, pa(0), PTE_R | PTE_W);
	OK(PRV_S, SD, TVA(0));
	CHECK_EQ(pt_l0[0] & ad, ad);
	pt_map(0, pa(0), PTE_R | PTE_W | PTE_A);
	OK(PRV_S, SD, TVA(0));       /* A already set: D still gets set */
	CHECK_EQ(pt_l0[0] & ad, ad);
	*(volatile uint64_t *)pages[0] = marker(0);

	sectionf("%s: A and D set by an AMO", vm_name());
	pt_map(0, pa(0), PTE_R | PTE_W);
	trap_reset();
	CHECK_EQ(RUN_S(s_amo, TVA(0)), marker(0));
	CHECK_NO_EXC();
	CHECK_EQ(pt_l0[0] & ad, ad);

	sectionf("%s: A set by a fetch", vm_name());
	pt_map(1, pa(1), PTE_X);
	OK(PRV_S, EX, TVA(1));
	CHECK_EQ(pt_l0[1] & ad, PTE_A);

	sectionf("%s: A and D set by U-mode on a U page", vm_name());
	pt_map(5, pa(5), PTE_R | PTE_W | PTE_U);
	OK(PRV_U, SD, TVA(5));
	CHECK_EQ(pt_l0[5] & ad, ad);
	*(volatile uint64_t *)pages[5] = marker(5);

	sectionf("%s: a faulting access leaves A and D alone", vm_name());
	pt_map(2, pa(2), PTE_R);
	PF(PRV_S, SD, TVA(2));
	CHECK_EQ(pt_l0[2] & ad, 0);
	pt_map(3, pa(3), PTE_R | PTE_W | PTE_U);
	PF(PRV_S, LD, TVA(3));                  /* SUM = 0 */
	CHECK_EQ(pt_l0[3] & ad, 0);
}

static void superpages(void)
{
	sectionf("%s: a megapage maps 2 MiB", vm_name());
	CHECK((uintptr_t)_end <= MEGA_PA);
	*(volatile uint64_t *)(MEGA_PA + 0x1ff008) = marker(100);
	*(volatile uint64_t *)(MEGA_PA + 0x8) = marker(101);
	pt_l1[1] = PTE_LEAF(MEGA_PA, PTE_R | PTE_A);
	pt_changed();
	OKV(PRV_S, MEGA_VA(0) + 0x1ff008, marker(100));
	OKV(PRV_S, MEGA_VA(0) + 0x8, marker(101));

	sectionf("%s: a misaligned megapage faults", vm_name());
	pt_l1[2] = PTE_LEAF(MEGA_PA + 0x1000, PTE_R | PTE_A);
	pt_changed();
	PF(PRV_S, LD, MEGA_VA(1) + 0x8);
	PF(PRV_S, LD, MEGA_VA(1) + 0x1ff008);

	sectionf("%s: a gigapage maps 1 GiB; a misaligned one faults", vm_name());
	const uint64_t giga_va = 0x180000000UL;  /* root[6] */
	pt_root[6] = PTE_LEAF(0x80000000UL, PTE_R | PTE_A);
	pt_root[4] = PTE_LEAF(0x80200000UL, PTE_R | PTE_A);   /* PPN[1] != 0 */
	pt_root[5] = PTE_LEAF(0x80001000UL, PTE_R | PTE_A);   /* PPN[0] != 0 */
	pt_changed();
	OKV(PRV_S, giga_va + (pa(2) - 0x80000000UL), marker(2));
	PF(PRV_S, LD, 0x100000000UL);
	PF(PRV_S, LD, 0x140000000UL + 0x10);

	if (levels == 4) {
		sectionf("%s: a terapage maps 512 GiB; a misaligned one faults", vm_name());
		pt_top[1] = PTE_LEAF(0, PTE_R | PTE_A);
		pt_top[2] = PTE_LEAF(0x40000000UL, PTE_R | PTE_A);   /* PPN[2] != 0 */
		pt_changed();
		OKV(PRV_S, 0x8000000000UL + pa(3), marker(3));
		PF(PRV_S, LD, 0x10000000000UL + pa(3));
	}

	sectionf("%s: addresses that are not sign-extended fault", vm_name());
	uint64_t bad = levels == 4 ? 0x0000800000000000UL : 0x0000004000000000UL;
	PF(PRV_S, LD, bad);
	PF(PRV_S, SD, bad + 0x40);
	bad = levels == 4 ? 0xffff000000000000UL : 0xffffff8000000000UL;    /* bit 47/38 clear */
	PF(PRV_S, LD, bad);
	/* sign-extended but unmapped: an ordinary page fault */
	PF(PRV_S, LD, 0xfffffffffffff000UL);
}

static void reserved(void)
{
	sectionf("%s: leaf PTEs with reserved bits 63:54 set fault", vm_name());
	static const int bits[] = { 54, 60, 61, 62, 63 };
	for (unsigned k = 0; k < sizeof(bits) / sizeof(bits[0]); k++) {
		pt_l0[7] = PTE_LEAF(pa(7), PTE_R | PTE_W | PTE_A | PTE_D) | 1UL << bits[k];
		pt_changed();
		PF(PRV_S, LD, TVA(7));
	}
	pt_map(7, pa(7), PTE_R | PTE_W | PTE_A | PTE_D);
	OKV(PRV_S, TVA(7), marker(7));

	sectionf("%s: non-leaf PTEs with D, A or U set fault", vm_name());
	static const uint64_t nl[] = { PTE_D, PTE_A, PTE_U };
	for (unsigned k = 0; k < 3; k++) {
		pt_l1[0] = PTE_TABLE(pt_l0) | nl[k];
		pt_changed();
		PF(PRV_S, LD, TVA(7));
	}
	pt_l1[0] = PTE_TABLE(pt_l0);
	pt_changed();
	OKV(PRV_S, TVA(7), marker(7));

	sectionf("%s: a pointer PTE at the last level faults", vm_name());
	pt_l0[7] = PTE_TABLE(pages[7]);
	pt_changed();
	PF(PRV_S, LD, TVA(7));
	PF(PRV_S, EX, TVA(7));
	pt_map(7, pa(7), PTE_R | PTE_W | PTE_A | PTE_D);
}

/* in S-mode: remap TVA(6) to pages[to] and fence as told; return the
 * marker read through it */
static long s_remap(long arg)
{
	int to = (int)(arg & 0xff);
	int how = (int)(arg >> 8);
	pt_l0[6] = to == 0xff ? 0 : PTE_LEAF(pa(to), PTE_R | PTE_W | PTE_A | PTE_D);
	fence();
	if (how == 0)
		__asm__ volatile("sfence.vma" ::: "memory");
	else
		__asm__ volatile("sfence.vma %0, zero" :: "r"(TVA(6)) : "memory");
	return (long)probe_ld(TVA(6));
}

/* in S-mode: read two 4 KiB granules of the megapage at MEGA_VA(0) (so
 * both are cached), unmap the megapage and fence one address of the other
 * granule; return what reading the first one gives then */
static long s_unmap_mega(long arg)
{
	(void)arg;
	(void)probe_ld(MEGA_VA(0) + 0x1ff008);
	(void)probe_ld(MEGA_VA(0) + 0x8);
	pt_l1[1] = 0;
	fence();
	__asm__ volatile("sfence.vma %0, zero" :: "r"(MEGA_VA(0) + 0x10) : "memory");
	return (long)probe_ld(MEGA_VA(0) + 0x1ff008);
}

static void fences(void)
{
	sectionf("%s: S changes a PTE and runs sfence.vma: the new mapping is used", vm_name());
	pt_map(6, pa(2), PTE_R | PTE_W | PTE_A | PTE_D);
	OKV(PRV_S, TVA(6), marker(2));
	trap_reset();
	CHECK_EQ(RUN_S(s_remap, 3), marker(3));             /* sfence.vma x0, x0 */
	CHECK_EQ(RUN_S(s_remap, 4 | 1 << 8), marker(4));    /* sfence.vma va, x0 */
	CHECK_NO_EXC();
	CHECK_EQ(RUN_S(s_remap, 0xff | 1 << 8), FAULT_VALUE);   /* now invalid */
	CHECK_EXC(PRV_S, CAUSE_LOAD_PAGE, probe_ld, TVA(6));
	trap_reset();
	CHECK_EQ(RUN_S(s_remap, 5), marker(5));             /* valid again */
	CHECK_NO_EXC();

	sectionf("%s: sfence.vma of one address in a megapage drops all of it", vm_name());
	pt_l1[1] = PTE_LEAF(MEGA_PA, PTE_R | PTE_A);
	pt_changed();
	trap_reset();
	CHECK_EQ(RUN_S(s_unmap_mega, 0), FAULT_VALUE);
	CHECK_EXC(PRV_S, CAUSE_LOAD_PAGE, probe_ld, MEGA_VA(0) + 0x1ff008);
	trap_reset();
}

static void mprv(void)
{
	sectionf("%s: MPRV with MPP = S: M-mode loads are translated as S", vm_name());
	pt_map(0, pa(0), PTE_R | PTE_W | PTE_A | PTE_D);
	pt_map(5, pa(5), PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
	pt_map(3, pa(3), PTE_X | PTE_A);
	pt_unmap(1);
	csr_clear(mstatus, MSTATUS_MPP);
	csr_set(mstatus, MSTATUS_MPP_S);
	trap_reset();
	CHECK_EQ(probe_mprv_ld(TVA(0)), marker(0));
	CHECK_NO_EXC();
	/* a fault in M is taken to M even though medeleg delegates it */
	CHECK_EQ(probe_mprv_ld(TVA(1)), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_LOAD_PAGE, probe_mprv_ld_insn, TVA(1));
	CHECK_EQ(H->exc.from, PRV_M);
	csr_set(mstatus, MSTATUS_MPP_S);        /* the trap set MPP = M */
	trap_reset();
	CHECK_EQ(probe_mprv_ld(TVA(5)), FAULT_VALUE);       /* U page, SUM = 0 */
	CHECK_EXC(PRV_M, CAUSE_LOAD_PAGE, probe_mprv_ld_insn, TVA(5));
	csr_set(mstatus, MSTATUS_MPP_S | MSTATUS_SUM);
	trap_reset();
	CHECK_EQ(probe_mprv_ld(TVA(5)), marker(5));
	CHECK_EQ(probe_mprv_ld(TVA(3)), FAULT_VALUE);       /* X-only, MXR = 0 */
	csr_set(mstatus, MSTATUS_MPP_S | MSTATUS_MXR);
	trap_reset();
	CHECK_EQ(probe_mprv_ld(TVA(3)), marker(3));
	CHECK_NO_EXC();
	csr_clear(mstatus, MSTATUS_SUM | MSTATUS_MXR);

	sectionf("%s: MPRV with MPP = U: M-mode loads are translated as U", vm_name());
	csr_clear(mstatus, MSTATUS_MPP);        /* MPP = U */
	trap_reset();
	CHECK_EQ(probe_mprv_ld(TVA(5)), marker(5));
	CHECK_NO_EXC();
	CHECK_EQ(probe_mprv_ld(TVA(0)), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_LOAD_PAGE, probe_mprv_ld_insn, TVA(0));

	sectionf("%s: MPRV with MPP = M: no translation", vm_name());
	csr_set(mstatus, MSTATUS_MPP);
	trap_reset();
	CHECK_EQ(probe_mprv_ld(pa(4)), marker(4));
	CHECK_NO_EXC();
	CHECK_EQ(csr_read(mstatus) & MSTATUS_MPRV, 0);
}

static void satp_warl(void)
{
	sectionf("%s: writing satp with a reserved MODE changes nothing", vm_name());
	uint64_t before = csr_read(satp);
	csr_write(satp, (5UL << 60) | 0x12345);
	CHECK_EQ(csr_read(satp), before);
	csr_write(satp, (15UL << 60) | 0x12345);
	CHECK_EQ(csr_read(satp), before);
	sfence_vma();
}

int main(void)
{
	H = this_hart();
	for (levels = 3; levels <= 4; levels++) {
		setup();
		basics();
		permissions();
		accessed_dirty();
		superpages();
		reserved();
		fences();
		mprv();
		satp_warl();
		pt_disable();
		csr_write(medeleg, 0);
		trap_reset();
	}
	return 0;
}
