/* pmp.c — physical memory protection (priv 1.12 §3.7): NAPOT, TOR (also
 * from address 0) and NA4 regions; R/W/X enforced on S and U, unlocked
 * entries ignored by M; the lowest-numbered matching entry decides; an
 * access only partly inside an entry fails whatever the permissions, in
 * M too (as the Sail model); no matching entry denies S/U and allows M;
 * page-table walks are checked as S-mode and fail with the access-fault
 * cause of the original access; faults have causes 1/5/7 with tval = the
 * address; locked entries bind M-mode and ignore writes to their
 * pmpcfg/pmpaddr (and to the TOR base below a locked TOR entry). The
 * runtime's entry 15 (all memory, RWX) is the fallback for everything else.
 * Locked entries stay until reset, so those checks come last. */
#include "priv.h"
#include "pt.h"

#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_TOR (1 << 3)
#define PMP_NA4 (2 << 3)
#define PMP_NAPOT (3 << 3)
#define PMP_L 0x80

#define CODE_OFF 0x800
#define NPG 8

static uint8_t pbuf[NPG][4096] __attribute__((aligned(NPG * 4096)));
static struct hart *H;

static uintptr_t pg(int i) { return (uintptr_t)pbuf[i]; }

static void pmpaddr_write(int i, uint64_t v)
{
	switch (i) {
	case 0: csr_write(pmpaddr0, v); break;
	case 1: csr_write(pmpaddr1, v); break;
	case 2: csr_write(pmpaddr2, v); break;
	case 3: csr_write(pmpaddr3, v); break;
	case 4: csr_write(pmpaddr4, v); break;
	case 8: csr_write(pmpaddr8, v); break;
	case 9: csr_write(pmpaddr9, v); break;
	case 10: csr_write(pmpaddr10, v); break;
	case 14: csr_write(pmpaddr14, v); break;
	case 15: csr_write(pmpaddr15, v); break;
	}
}

static uint64_t pmpaddr_read(int i)
{
	switch (i) {
	case 8: return csr_read(pmpaddr8);
	case 9: return csr_read(pmpaddr9);
	case 10: return csr_read(pmpaddr10);
	}
	return 0;
}

static uint8_t pmpcfg_read(int i)
{
	uint64_t c = i < 8 ? csr_read(pmpcfg0) : csr_read(pmpcfg2);
	return (uint8_t)(c >> (8 * (i % 8)));
}

static void pmpcfg_write(int i, uint8_t cfg)
{
	int sh = 8 * (i % 8);
	uint64_t c = i < 8 ? csr_read(pmpcfg0) : csr_read(pmpcfg2);
	c = (c & ~(0xffUL << sh)) | (uint64_t)cfg << sh;
	if (i < 8)
		csr_write(pmpcfg0, c);
	else
		csr_write(pmpcfg2, c);
	/* priv 1.12 §3.7.2: PMP changes need sfence.vma x0, x0 to be seen */
	sfence_vma();
}

static void pmp_set(int i, uint8_t cfg, uint64_t addr)
{
	pmpcfg_write(i, 0);
	pmpaddr_write(i, addr);
	pmpcfg_write(i, cfg);
}

static uint64_t napot(uintptr_t base, uint64_t size)
{
	return (base + size / 2 - 1) >> 2;
}

/* entries 0..13 off, 15 = everything RWX */
static void pmp_clear(void)
{
	csr_write(pmpcfg0, 0);
	uint64_t c2 = csr_read(pmpcfg2) & 0xff;         /* keep entry 8 (locked last) */
	csr_write(pmpcfg2, c2 | (0x1fUL << 56));
	csr_write(pmpaddr15, ~0UL);
	sfence_vma();
}

enum acc { LD, SD, EX, LW };
static const char *const acc_name[] = { "load", "store", "fetch", "lw" };
static const uint64_t acc_cause[] = { CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS,
				      CAUSE_LOAD_ACCESS };

static long s_ld(long a) { return (long)probe_ld((uintptr_t)a); }
static long s_sd(long a) { return (long)probe_sd((uintptr_t)a, 0x77); }
static long s_ex(long a) { return (long)probe_exec((uintptr_t)a + CODE_OFF); }
static long s_lw(long a) { return (long)probe_lw((uintptr_t)a); }

static long run(int mode, enum acc a, uint64_t addr, uint64_t va_off)
{
	static long (*const fns[])(long) = { s_ld, s_sd, s_ex, s_lw };
	trap_reset();
	if (mode == PRV_M)
		return fns[a]((long)addr);
	return lower_call(mode, fns[a], (long)addr, va_off);
}

static uint64_t probe_of(enum acc a)
{
	return a == LD ? (uintptr_t)probe_ld : a == LW ? (uintptr_t)probe_lw : (uintptr_t)probe_sd;
}

static void ok_at(int mode, enum acc a, uint64_t addr, int line)
{
	long r = run(mode, a, addr, 0);
	check_eq(H->nexc, 0, acc_name[a], line);
	if (H->nexc)
		check_eq(H->exc.cause, ~0UL, "  (unexpected trap) cause", line);
	check_true(r != (long)FAULT_VALUE, "no fault value", line);
}

static void af_at(int mode, enum acc a, uint64_t addr, int line)
{
	long r = run(mode, a, addr, 0);
	check_eq((uint64_t)r, FAULT_VALUE, acc_name[a], line);
	uint64_t fa = a == EX ? addr + CODE_OFF : addr;
	check_exc(PRV_M, acc_cause[a], a == EX ? fa : probe_of(a), fa, 1, line);
	check_eq(H->exc.from, mode, "mode the fault came from", line);
}

#define OK(mode, a, addr) ok_at(mode, a, addr, __LINE__)
#define AF(mode, a, addr) af_at(mode, a, addr, __LINE__)

static void regions(void)
{
	section("NAPOT 4 KiB, R: S/U load; store and fetch fault; M unaffected");
	pmp_clear();
	pmp_set(0, PMP_NAPOT | PMP_R, napot(pg(0), 4096));
	for (int mode = PRV_U; mode <= PRV_S; mode++) {
		OK(mode, LD, pg(0));
		AF(mode, SD, pg(0));
		AF(mode, EX, pg(0));
		AF(mode, SD, pg(0) + 4088);
		OK(mode, SD, pg(1));            /* next page: entry 15 */
	}
	OK(PRV_M, SD, pg(0));
	OK(PRV_M, EX, pg(0));

	section("NAPOT, X only: fetch works, load and store fault");
	pmp_set(0, PMP_NAPOT | PMP_X, napot(pg(0), 4096));
	for (int mode = PRV_U; mode <= PRV_S; mode++) {
		OK(mode, EX, pg(0));
		AF(mode, LD, pg(0));
		AF(mode, SD, pg(0));
	}

	section("NAPOT, RW: load and store work, fetch faults");
	pmp_set(0, PMP_NAPOT | PMP_R | PMP_W, napot(pg(0), 4096));
	OK(PRV_S, LD, pg(0));
	OK(PRV_S, SD, pg(0));
	AF(PRV_S, EX, pg(0));

	section("NAPOT 16 KiB, no permission: all four pages fault, the fifth does not");
	pmp_set(0, PMP_NAPOT, napot(pg(0), 16384));
	for (int i = 0; i < 4; i++) {
		AF(PRV_S, LD, pg(i) + 8 * (uint64_t)i);
		AF(PRV_U, SD, pg(i) + 4088);
	}
	OK(PRV_S, LD, pg(4));

	section("the lowest-numbered matching entry decides");
	pmp_set(0, PMP_NAPOT | PMP_R | PMP_W, napot(pg(1), 4096));
	pmp_set(1, PMP_NAPOT, napot(pg(0), 16384));
	OK(PRV_S, LD, pg(1));
	OK(PRV_S, SD, pg(1));
	AF(PRV_S, LD, pg(2));
	pmp_set(0, PMP_NAPOT, napot(pg(0), 16384));
	pmp_set(1, PMP_NAPOT | PMP_R | PMP_W, napot(pg(1), 4096));
	AF(PRV_S, LD, pg(1));
	pmp_clear();

	section("TOR [pmpaddr1, pmpaddr2), R: the bounds are exact");
	pmp_set(1, 0, pg(1) >> 2);               /* OFF: only the base */
	pmp_set(2, PMP_TOR | PMP_R, pg(3) >> 2);
	OK(PRV_S, LD, pg(1));
	OK(PRV_S, LD, pg(2) + 4088);
	AF(PRV_S, SD, pg(1));
	AF(PRV_S, SD, pg(3) - 8);
	OK(PRV_S, SD, pg(1) - 8);
	OK(PRV_S, SD, pg(3));
	AF(PRV_U, EX, pg(2));

	section("TOR in entry 0 starts at address 0");
	pmp_clear();
	pmp_set(0, PMP_TOR, 0x80000000UL >> 2);  /* [0, RAM) no access */
	AF(PRV_S, LD, CLINT_MTIME);
	OK(PRV_S, LD, pg(0));
	OK(PRV_M, LD, CLINT_MTIME);

	section("NA4: exactly 4 bytes; an 8-byte access half inside faults even if permitted");
	pmp_clear();
	pmp_set(4, PMP_NA4, (pg(5) + 16) >> 2);
	AF(PRV_S, LW, pg(5) + 16);
	OK(PRV_S, LW, pg(5) + 20);
	OK(PRV_S, LW, pg(5) + 12);
	OK(PRV_S, LD, pg(5) + 8);
	AF(PRV_S, LD, pg(5) + 16);
	pmp_set(4, PMP_NA4 | PMP_R | PMP_W | PMP_X, (pg(5) + 16) >> 2);
	OK(PRV_S, LW, pg(5) + 16);
	AF(PRV_S, LD, pg(5) + 16);              /* partial match */
	AF(PRV_U, SD, pg(5) + 16);
	/* priv 1.12 §3.7.1: "If the PMP entry matches some but not all bytes
	 * of an access, the access fails, irrespective of the L, R, W, and X
	 * bits" -- also for M (Sail: PMP_PartialMatch faults for any mode) */
	AF(PRV_M, LD, pg(5) + 16);

	section("no entry matches: S and U fail, M succeeds");
	pmp_clear();
	pmp_set(14, PMP_NAPOT | PMP_R | PMP_W | PMP_X, napot(0x80000000UL, 0x40000000UL));
	pmpcfg_write(15, 0);
	AF(PRV_S, LD, CLINT_MTIME);
	AF(PRV_U, LD, CLINT_MTIME);
	AF(PRV_S, SD, UART_BASE + 7);           /* the scratch register */
	OK(PRV_S, LD, pg(0));
	OK(PRV_M, LD, CLINT_MTIME);
	pmpcfg_write(14, 0);
	pmp_clear();
}

static long s_ld_va(long va) { return (long)probe_ld((uintptr_t)va); }
static long s_sd_va(long va) { return (long)probe_sd((uintptr_t)va, 1); }
static long s_ex_va(long va) { return (long)probe_exec((uintptr_t)va + CODE_OFF); }

static void paging(void)
{
	struct {
		long (*fn)(long);
		uint64_t cause, epc_probe;
	} acc[] = {
		{ s_ld_va, CAUSE_LOAD_ACCESS, (uintptr_t)probe_ld },
		{ s_sd_va, CAUSE_STORE_ACCESS, (uintptr_t)probe_sd },
		{ s_ex_va, CAUSE_FETCH_ACCESS, 0 },
	};

	section("page-table walks are checked as S: a denied table gives an access fault");
	pmp_clear();
	pt_init();
	pt_map(0, pg(6), PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
	pt_enable(3);
	trap_reset();
	csr_set(mstatus, MSTATUS_SUM);
	CHECK_EQ(RUN_S(s_ld_va, TVA(0)), 0);    /* pbuf is zero there */
	csr_clear(mstatus, MSTATUS_SUM);
	CHECK_NO_EXC();
	pmp_set(0, PMP_NAPOT, napot((uintptr_t)pt_l0, 4096));
	for (int k = 0; k < 3; k++) {
		for (int mode = PRV_U; mode <= PRV_S; mode++) {
			uint64_t off = mode == PRV_U ? U_ALIAS_OFF : 0;
			if (mode == PRV_S)
				csr_set(mstatus, MSTATUS_SUM);
			trap_reset();
			CHECK_EQ(lower_call(mode, acc[k].fn, TVA(0), off), FAULT_VALUE);
			uint64_t fva = k == 2 ? TVA(0) + CODE_OFF : TVA(0);
			CHECK_EXC(PRV_M, acc[k].cause, k == 2 ? fva : acc[k].epc_probe + off, fva);
			csr_clear(mstatus, MSTATUS_SUM);
		}
	}

	section("a translated access denied by PMP: access fault with the virtual address");
	pmp_set(0, PMP_NAPOT | PMP_R, napot(pg(6), 4096));
	trap_reset();
	CHECK_EQ(RUN_S(s_sd_va, TVA(0)), FAULT_VALUE);
	csr_set(mstatus, MSTATUS_SUM);
	trap_reset();
	CHECK_EQ(RUN_S(s_sd_va, TVA(0)), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_STORE_ACCESS, probe_sd, TVA(0));
	trap_reset();
	CHECK_EQ(RUN_S(s_ex_va, TVA(0)), FAULT_VALUE);   /* S never runs U pages */
	CHECK_EQ(H->exc.cause, CAUSE_FETCH_PAGE);
	trap_reset();
	CHECK_EQ(lower_call(PRV_U, s_ex_va, TVA(0), U_ALIAS_OFF), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_FETCH_ACCESS, TVA(0) + CODE_OFF, TVA(0) + CODE_OFF);
	csr_clear(mstatus, MSTATUS_SUM);
	pt_disable();
	pmp_clear();
}

static void locked(void)
{
	section("a locked entry binds M-mode too");
	pmp_clear();
	pmp_set(8, PMP_L | PMP_NAPOT | PMP_R, napot(pg(6), 4096));
	OK(PRV_M, LD, pg(6));
	AF(PRV_M, SD, pg(6));
	AF(PRV_M, EX, pg(6));
	AF(PRV_S, SD, pg(6));
	OK(PRV_S, LD, pg(6));

	section("a locked entry ignores writes to its pmpcfg and pmpaddr");
	uint64_t a8 = pmpaddr_read(8);
	pmpcfg_write(8, PMP_NAPOT | PMP_R | PMP_W | PMP_X);
	csr_write(pmpaddr8, 0);
	CHECK_EQ(pmpcfg_read(8), PMP_L | PMP_NAPOT | PMP_R);
	CHECK_EQ(pmpaddr_read(8), a8);
	AF(PRV_M, SD, pg(6));

	section("a locked TOR entry also locks the pmpaddr below it");
	pmp_set(9, 0, pg(7) >> 2);
	pmp_set(10, PMP_L | PMP_TOR | PMP_R | PMP_W, pg(7 + 1) >> 2);
	uint64_t a9 = pmpaddr_read(9);
	csr_write(pmpaddr9, pg(0) >> 2);
	CHECK_EQ(pmpaddr_read(9), a9);
	OK(PRV_M, SD, pg(7));
	AF(PRV_M, EX, pg(7));
	OK(PRV_M, EX, pg(5));
}

int main(void)
{
	H = this_hart();
	for (int i = 0; i < NPG; i++)
		memcpy(pbuf[i] + CODE_OFF, &ret_insn, 2);
	fence();
	__asm__ volatile("fence.i" ::: "memory");
	regions();
	paging();
	locked();
	return 0;
}
