/* deleg.c — trap delegation and trap-return state (priv 1.12 §3.1.6,
 * §3.1.7, §3.1.8, §3.3.2): medeleg routes exceptions from S/U to S and
 * never from M; mcause/scause, mepc/sepc, mtval/stval; the MPP/MPIE/MIE
 * and SPP/SPIE/SIE stacks on traps, mret and sret; MPRV cleared by an
 * xRET to a lower mode; TSR and TVM; vectored mtvec/stvec. */
#include "priv.h"
#include "pt.h"

static long u_illegal(long x) { (void)x; return (long)probe_illegal(); }
static long u_ecall(long x) { (void)x; return (long)probe_ecall(); }
static long u_ebreak(long x) { (void)x; return (long)probe_ebreak(); }
static long u_c_ebreak(long x) { (void)x; return (long)probe_c_ebreak(); }
static long u_mret(long x) { (void)x; return (long)probe_mret(); }
static long u_sret(long x) { (void)x; return (long)probe_sret(); }
static long u_ld(long a) { return (long)probe_ld((uintptr_t)a); }
static long u_sd(long a) { return (long)probe_sd((uintptr_t)a, 1); }
static long u_exec(long a) { return (long)probe_exec((uintptr_t)a); }
static long u_csrr_satp(long x) { (void)x; return (long)probe_csrr_satp(); }
static long u_sfence(long x) { (void)x; return (long)probe_sfence(); }
static long u_nothing(long x) { return x; }

static void deleg_bits(void)
{
	section("medeleg: delegable causes are writable, ecall from M is not");
	const uint64_t want = (1UL << CAUSE_ILLEGAL) | (1UL << CAUSE_BREAKPOINT) |
			      (1UL << CAUSE_ECALL_U) | (1UL << CAUSE_ECALL_S) |
			      (1UL << CAUSE_FETCH_PAGE) | (1UL << CAUSE_LOAD_PAGE) |
			      (1UL << CAUSE_STORE_PAGE);
	csr_write(medeleg, want);
	CHECK_EQ(csr_read(medeleg) & want, want);
	csr_write(medeleg, ~0UL);
	/* priv 1.12 §3.1.8: medeleg[11] is read-only zero */
	if (!qemu_deviation("medeleg[11] is writable"))
		CHECK_EQ(csr_read(medeleg) & (1UL << CAUSE_ECALL_M), 0);
	csr_write(medeleg, 0);
	CHECK_EQ(csr_read(medeleg), 0);

	section("mideleg: the S interrupts are delegable");
	csr_write(mideleg, MIP_SSIP | MIP_STIP | MIP_SEIP);
	CHECK_EQ(csr_read(mideleg) & (MIP_SSIP | MIP_STIP | MIP_SEIP), MIP_SSIP | MIP_STIP | MIP_SEIP);
	csr_write(mideleg, 0);
}

/* an exception from mode `from`, delegated or not: cause, epc, tval, and
 * the status stack of the handler */
static void one_exc(const char *name, long from, long (*fn)(long), long arg, uint64_t cause,
		    uint64_t epc, uint64_t tval, int tval_may_be_0)
{
	struct hart *h = this_hart();
	for (int deleg = 0; deleg < 2; deleg++) {
		sectionf("%s, medeleg[%d] = %d", name, (int)cause, deleg);
		csr_write(medeleg, deleg ? 1UL << cause : 0);
		/* S's interrupt enable going in, to see it pushed into SPIE */
		csr_clear(mstatus, MSTATUS_SIE | MSTATUS_SPIE);
		csr_set(mstatus, MSTATUS_SIE);
		trap_reset();
		if (from == PRV_M)
			fn(arg);
		else
			lower_call(from, fn, arg, 0);
		int lvl = (deleg && from != PRV_M) ? PRV_S : PRV_M;
		if (tval_may_be_0)
			CHECK_EXC_TVAL0(lvl, cause, epc, tval);
		else
			CHECK_EXC(lvl, cause, epc, tval);
		CHECK_EQ(h->exc.from, from);
		if (lvl == PRV_S) {
			/* sstatus in the handler: SPP = the mode, SPIE = old SIE, SIE = 0 */
			CHECK_EQ(!!(h->exc.status & MSTATUS_SPP), from == PRV_S);
			CHECK_EQ(h->exc.status & (MSTATUS_SPIE | MSTATUS_SIE), MSTATUS_SPIE);
		} else {
			CHECK_EQ((h->exc.status & MSTATUS_MPP) >> 11, from);
			CHECK_EQ(h->exc.status & MSTATUS_MIE, 0);
			/* a trap to M leaves the S stack alone */
			CHECK_EQ(h->exc.status & (MSTATUS_SPIE | MSTATUS_SIE), MSTATUS_SIE);
		}
		csr_clear(mstatus, MSTATUS_SIE | MSTATUS_SPIE);
		csr_write(medeleg, 0);
	}
}

static void exceptions(void)
{
	uintptr_t ill = (uintptr_t)probe_illegal;
	one_exc("illegal instruction from U", PRV_U, u_illegal, 0, CAUSE_ILLEGAL, ill, probe_illegal_insn, 1);
	one_exc("illegal instruction from S", PRV_S, u_illegal, 0, CAUSE_ILLEGAL, ill, probe_illegal_insn, 1);
	one_exc("illegal instruction in M is never delegated", PRV_M, u_illegal, 0, CAUSE_ILLEGAL, ill,
		probe_illegal_insn, 1);
	one_exc("ecall from U", PRV_U, u_ecall, 0, CAUSE_ECALL_U, (uintptr_t)probe_ecall, 0, 0);
	one_exc("ecall from S", PRV_S, u_ecall, 0, CAUSE_ECALL_S, (uintptr_t)probe_ecall, 0, 0);
	one_exc("ecall from M", PRV_M, u_ecall, 0, CAUSE_ECALL_M, (uintptr_t)probe_ecall, 0, 0);
	/* breakpoint: tval is the pc or 0 (priv 1.12 §3.1.16) */
	one_exc("ebreak from U", PRV_U, u_ebreak, 0, CAUSE_BREAKPOINT, (uintptr_t)probe_ebreak,
		(uintptr_t)probe_ebreak, 1);
	one_exc("c.ebreak from S", PRV_S, u_c_ebreak, 0, CAUSE_BREAKPOINT, (uintptr_t)probe_c_ebreak,
		(uintptr_t)probe_c_ebreak, 1);
	one_exc("mret in U is illegal", PRV_U, u_mret, 0, CAUSE_ILLEGAL, (uintptr_t)probe_mret, 0x30200073, 1);
	one_exc("mret in S is illegal", PRV_S, u_mret, 0, CAUSE_ILLEGAL, (uintptr_t)probe_mret, 0x30200073, 1);
	one_exc("sret in U is illegal", PRV_U, u_sret, 0, CAUSE_ILLEGAL, (uintptr_t)probe_sret, 0x10200073, 1);
}

static void page_faults(void)
{
	struct hart *h = this_hart();
	pt_init();
	pt_enable(3);
	uint64_t va = TVA(3);            /* not mapped */
	static const struct {
		const char *name;
		long (*fn)(long);
		uint64_t cause;
		int fetch;
	} kinds[] = {
		{ "load page fault", u_ld, CAUSE_LOAD_PAGE, 0 },
		{ "store page fault", u_sd, CAUSE_STORE_PAGE, 0 },
		{ "fetch page fault", u_exec, CAUSE_FETCH_PAGE, 1 },
	};
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (int from = PRV_U; from <= PRV_S; from++) {
			for (int deleg = 0; deleg < 2; deleg++) {
				sectionf("%s from %s, medeleg[%d] = %d", kinds[k].name,
					 from == PRV_U ? "U" : "S", (int)kinds[k].cause, deleg);
				uint64_t off = from == PRV_U ? U_ALIAS_OFF : 0;
				csr_write(medeleg, deleg ? 1UL << kinds[k].cause : 0);
				trap_reset();
				long r = lower_call(from, kinds[k].fn, (long)va, off);
				CHECK_EQ(r, FAULT_VALUE);
				uint64_t epc;
				if (kinds[k].fetch)
					epc = va;
				else if (kinds[k].cause == CAUSE_LOAD_PAGE)
					epc = (uintptr_t)probe_ld + off;
				else
					epc = (uintptr_t)probe_sd + off;
				CHECK_EXC(deleg ? PRV_S : PRV_M, kinds[k].cause, epc, va);
				CHECK_EQ(h->exc.from, from);
			}
		}
	}
	csr_write(medeleg, 0);

	pt_disable();
	csr_write(medeleg, 0);
}

/* the M handler resumes M-mode code at ra (used where the trap came from
 * a lower mode but the test continues in M) */
static int hook_back_to_m(struct trap_frame *f)
{
	f->epc = f->regs[REG_RA];
	f->status |= MSTATUS_MPP;
	return 1;
}

static int hook_skip4(struct trap_frame *f)
{
	f->epc += 4;
	return 1;
}

static void mprv_fault_in_m(void)
{
	struct hart *h = this_hart();
	section("page fault under MPRV in M-mode is taken to M even when delegated");
	pt_init();
	pt_enable(3);
	uint64_t va = TVA(5);
	csr_write(medeleg, 1UL << CAUSE_LOAD_PAGE);
	csr_clear(mstatus, MSTATUS_MPP);
	csr_set(mstatus, MSTATUS_MPP_S);
	trap_reset();
	h->m_exc_hook = hook_skip4;
	uint64_t ld_pc;
	__asm__ volatile("la %0, 1f\n"
			 "csrs mstatus, %1\n"
			 ".option push\n.option norvc\n"
			 "1: ld zero, 0(%2)\n"
			 ".option pop\n"
			 "csrc mstatus, %1\n"
			 : "=&r"(ld_pc) : "r"(MSTATUS_MPRV), "r"(va) : "memory");
	CHECK_EXC(PRV_M, CAUSE_LOAD_PAGE, ld_pc, va);
	CHECK_EQ(h->exc.from, PRV_M);
	CHECK_EQ(csr_read(mstatus) & MSTATUS_MPRV, 0);
	csr_write(medeleg, 0);
	pt_disable();
	trap_reset();
}

static uint64_t mret_in_m(uint64_t mpie)
{
	uint64_t st;
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
	csr_set(mstatus, MSTATUS_MPP | mpie);
	__asm__ volatile("la t0, 1f\n"
			 "csrw mepc, t0\n"
			 "mret\n"
			 "1: csrr %0, mstatus\n"
			 : "=r"(st) : : "t0", "memory");
	csr_clear(mstatus, MSTATUS_MIE);
	return st;
}

static long s_sret_to_s(long spie)
{
	uint64_t st;
	csr_clear(sstatus, MSTATUS_SIE | MSTATUS_SPIE);
	csr_set(sstatus, MSTATUS_SPP | (uint64_t)spie);
	__asm__ volatile("la t0, 1f\n"
			 "csrw sepc, t0\n"
			 "sret\n"
			 "1: csrr %0, sstatus\n"
			 : "=r"(st) : : "t0", "memory");
	csr_clear(sstatus, MSTATUS_SIE);
	return (long)st;
}

/* sret with SPP = U: the rest of this function and the escape run in U */
static long s_sret_to_u(long x)
{
	csr_clear(sstatus, MSTATUS_SPP);
	__asm__ volatile("la t0, 1f\n"
			 "csrw sepc, t0\n"
			 "sret\n"
			 "1:\n" : : : "t0", "memory");
	return x + 1;
}

static long s_sret_probe(long x)
{
	(void)x;
	return (long)probe_sret();
}

static void xret(void)
{
	struct hart *h = this_hart();
	uint64_t st;

	section("mret in M: MIE <- MPIE, MPIE <- 1, MPP <- U");
	st = mret_in_m(MSTATUS_MPIE);
	CHECK_EQ(st & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), MSTATUS_MIE | MSTATUS_MPIE);
	st = mret_in_m(0);
	CHECK_EQ(st & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), MSTATUS_MPIE);

	section("mret to S: MIE in S is the old MPIE; MPRV cleared");
	for (int mpie = 0; mpie < 2; mpie++) {
		csr_clear(mstatus, MSTATUS_MPIE);
		csr_set(mstatus, (mpie ? MSTATUS_MPIE : 0) | MSTATUS_MPRV);
		trap_reset();
		CHECK_EQ(RUN_S(u_nothing, 7), 7);
		CHECK_EQ(h->esc.from, PRV_S);
		CHECK_EQ(h->esc.cause, CAUSE_ECALL_S);
		/* the escape ecall pushed S's MIE into MPIE */
		CHECK_EQ(!!(h->esc.status & MSTATUS_MPIE), mpie);
		if (!qemu_deviation("mret to S leaves MPRV set")) {
			CHECK_EQ(h->esc.status & MSTATUS_MPRV, 0);
			CHECK_EQ(csr_read(mstatus) & MSTATUS_MPRV, 0);
		}
		csr_clear(mstatus, MSTATUS_MPRV);
	}

	section("mret to M keeps MPRV");
	csr_set(mstatus, MSTATUS_MPP);          /* MPRV with MPP = M: no effect */
	csr_set(mstatus, MSTATUS_MPRV);
	__asm__ volatile("la t0, 1f\n"
			 "csrw mepc, t0\n"
			 "li t0, %1\n"
			 "csrs mstatus, t0\n"            /* MPP = M again before mret */
			 "mret\n"
			 "1: csrr %0, mstatus\n"
			 "csrc mstatus, %2\n"
			 : "=&r"(st) : "i"(MSTATUS_MPP), "r"(MSTATUS_MPRV) : "t0", "memory");
	CHECK_EQ(st & MSTATUS_MPRV, MSTATUS_MPRV);

	section("sret in S to S: SIE <- SPIE, SPIE <- 1, SPP <- U");
	st = (uint64_t)RUN_S(s_sret_to_s, MSTATUS_SPIE);
	CHECK_EQ(st & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SIE | MSTATUS_SPIE);
	st = (uint64_t)RUN_S(s_sret_to_s, 0);
	CHECK_EQ(st & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SPIE);

	section("sret in S with SPP = U enters U");
	trap_reset();
	CHECK_EQ(RUN_S(s_sret_to_u, 41), 42);
	CHECK_EQ(h->esc.from, PRV_U);
	CHECK_EQ(h->esc.cause, CAUSE_ECALL_U);

	section("sret in M with SPP = S enters S and clears MPRV");
	trap_reset();
	h->m_exc_hook = hook_back_to_m;
	csr_clear(mstatus, MSTATUS_SIE);
	csr_set(mstatus, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_MPP);
	csr_set(mstatus, MSTATUS_MPRV);         /* with MPP = M: no effect in M */
	uint64_t ecall_pc;
	__asm__ volatile("la %0, 1f\n"
			 "csrw sepc, %0\n"
			 "la ra, 2f\n"
			 "sret\n"
			 "1: ecall\n"
			 "2: csrr %1, mstatus\n"
			 : "=&r"(ecall_pc), "=r"(st) : : "ra", "memory");
	CHECK_EXC(PRV_M, CAUSE_ECALL_S, ecall_pc, 0);
	CHECK_EQ(h->exc.from, PRV_S);
	CHECK_EQ(st & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SIE | MSTATUS_SPIE);
	if (!qemu_deviation("sret to S leaves MPRV set"))
		CHECK_EQ(h->exc.status & MSTATUS_MPRV, 0);
	csr_clear(mstatus, MSTATUS_SIE | MSTATUS_MPRV);
	trap_reset();

	section("sret in S with TSR = 1 is illegal");
	csr_set(mstatus, MSTATUS_TSR);
	trap_reset();
	CHECK_EQ(RUN_S(s_sret_probe, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, probe_sret, 0x10200073);
	csr_clear(mstatus, MSTATUS_TSR);

	section("TVM = 1: satp and sfence.vma in S are illegal");
	csr_set(mstatus, MSTATUS_TVM);
	trap_reset();
	CHECK_EQ(RUN_S(u_csrr_satp, 0), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_ILLEGAL, probe_csrr_satp, ANY_TVAL);
	trap_reset();
	CHECK_EQ(RUN_S(u_sfence, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, probe_sfence, 0x12000073);
	csr_clear(mstatus, MSTATUS_TVM);
	trap_reset();
	CHECK_EQ(RUN_S(u_csrr_satp, 0), 0);
	CHECK_EQ(RUN_S(u_sfence, 0), 0);
	CHECK_NO_EXC();
}

static long s_soft_irq(long x)
{
	(void)x;
	csr_set(sie, MIP_SSIP);
	csr_set(sip, MIP_SSIP);
	csr_set(sstatus, MSTATUS_SIE);
	long ok = wait_irqs(1);
	csr_clear(sstatus, MSTATUS_SIE);
	csr_clear(sip, MIP_SSIP);
	return ok;
}

static long s_timer_irq(long x)
{
	(void)x;
	csr_set(sie, MIP_STIP);
	csr_set(sstatus, MSTATUS_SIE);
	long ok = wait_irqs(1);
	csr_clear(sstatus, MSTATUS_SIE);
	return ok;
}

static void vectored(void)
{
	struct hart *h = this_hart();
	extern const char m_vectors[], s_vectors[];

	section("vectored mtvec: M software interrupt enters slot 3");
	csr_write(mtvec, (uintptr_t)m_vectors | 1);
	CHECK_EQ(csr_read(mtvec), (uintptr_t)m_vectors | 1);
	trap_reset();
	csr_write(mie, MIP_MSIP);
	mmio_write32(CLINT_MSIP(h->id), 1);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	mmio_write32(CLINT_MSIP(h->id), 0);
	CHECK_EQ(h->nirq, 1);
	CHECK_EQ(h->irq[0].cause, CAUSE_INTR | IRQ_M_SOFT);
	CHECK_EQ(h->irq[0].vec, 3);
	CHECK_EQ(h->irq[0].level, PRV_M);

	section("vectored mtvec: M timer interrupt enters slot 7");
	trap_reset();
	csr_write(mie, MIP_MTIP);
	mmio_write64(CLINT_MTIMECMP(h->id), 0);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	mmio_write64(CLINT_MTIMECMP(h->id), ~0UL);
	CHECK_EQ(h->irq[0].cause, CAUSE_INTR | IRQ_M_TIMER);
	CHECK_EQ(h->irq[0].vec, 7);

	section("vectored mtvec: exceptions enter the base");
	trap_reset();
	probe_illegal();
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, probe_illegal, probe_illegal_insn);
	CHECK_EQ(h->exc.vec, 0);

	section("direct mtvec: interrupts enter the base");
	csr_write(mtvec, (uintptr_t)m_vectors);
	trap_reset();
	csr_write(mie, MIP_MSIP);
	mmio_write32(CLINT_MSIP(h->id), 1);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	mmio_write32(CLINT_MSIP(h->id), 0);
	CHECK_EQ(h->irq[0].cause, CAUSE_INTR | IRQ_M_SOFT);
	CHECK_EQ(h->irq[0].vec, 0);
	csr_write(mie, 0);

	section("vectored stvec: S software interrupt enters slot 1");
	csr_write(stvec, (uintptr_t)s_vectors | 1);
	CHECK_EQ(csr_read(stvec), (uintptr_t)s_vectors | 1);
	csr_write(mideleg, MIP_SSIP | MIP_STIP);
	trap_reset();
	CHECK_EQ(RUN_S(s_soft_irq, 0), 1);
	CHECK_EQ(h->nirq, 1);
	CHECK_EQ(h->irq[0].cause, CAUSE_INTR | IRQ_S_SOFT);
	CHECK_EQ(h->irq[0].level, PRV_S);
	CHECK_EQ(h->irq[0].from, PRV_S);
	CHECK_EQ(h->irq[0].vec, 1);

	section("vectored stvec: S timer interrupt (mip.STIP from M) enters slot 5");
	trap_reset();
	csr_set(mip, MIP_STIP);
	CHECK_EQ(RUN_S(s_timer_irq, 0), 1);
	csr_clear(mip, MIP_STIP);
	CHECK_EQ(h->nirq, 1);
	CHECK_EQ(h->irq[0].cause, CAUSE_INTR | IRQ_S_TIMER);
	CHECK_EQ(h->irq[0].level, PRV_S);
	CHECK_EQ(h->irq[0].vec, 5);
	csr_write(stvec, (uintptr_t)s_vectors);
	csr_write(mideleg, 0);
	csr_write(sie, 0);
	trap_reset();
}

int main(void)
{
	deleg_bits();
	exceptions();
	page_faults();
	mprv_fault_in_m();
	xret();
	vectored();
	return 0;
}
