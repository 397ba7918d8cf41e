/* wfi.c — WFI (priv 1.12 §3.3.3): it resumes when an interrupt enabled in
 * mie becomes pending even with MIE = 0 (no trap is taken); with MIE = 1
 * the trap's mepc is the instruction after the wfi; in S-mode with TW = 1
 * and in U-mode it is an illegal instruction (no interrupt is pending
 * there, so it could never complete); in S-mode with TW = 0 and in M-mode
 * with TW = 1 it is legal. */
#include "priv.h"

#define WFI_INSN 0x10500073

static struct hart *H;

static long s_wfi(long x) { (void)x; return (long)probe_wfi(); }

/* wfi until mip shows MTIP; returns how many wfi were executed */
static long wfi_until_mtip(void)
{
	long n = 0;
	while (!(csr_read(mip) & MIP_MTIP)) {
		__asm__ volatile("wfi" ::: "memory");
		n++;
	}
	return n;
}

static int hook_m_timer_off(struct trap_frame *f)
{
	mmio_write64(CLINT_MTIMECMP(this_hart()->id), ~0UL);
	(void)f;
	return 1;
}

int main(void)
{
	H = this_hart();

	section("wfi with MIE = 0 resumes when an mie-enabled timer fires, without a trap");
	trap_reset();
	csr_clear(mstatus, MSTATUS_MIE);
	csr_write(mie, MIP_MTIP);
	uint64_t cmp = mmio_read64(CLINT_MTIME) + 20000;    /* 2 ms at 10 MHz */
	mmio_write64(CLINT_MTIMECMP(H->id), cmp);
	long n = wfi_until_mtip();
	uint64_t now = mmio_read64(CLINT_MTIME);
	mmio_write64(CLINT_MTIMECMP(H->id), ~0UL);
	CHECK(n >= 0);
	CHECK(now >= cmp);
	CHECK_EQ(H->nirq, 0);
	CHECK_NO_EXC();
	csr_write(mie, 0);

	section("wfi with MIE = 1: the timer trap's mepc is the wfi or the instruction after it");
	trap_reset();
	H->m_irq_hook = hook_m_timer_off;
	csr_write(mie, MIP_MTIP);
	mmio_write64(CLINT_MTIMECMP(H->id), mmio_read64(CLINT_MTIME) + 20000);
	uint64_t wfi_pc;
	/* loop on wfi until the hook ran; the trap returns into the loop */
	__asm__ volatile("la %0, 1f\n"
			 "csrs mstatus, %2\n"
			 ".option push\n.option norvc\n"
			 "1: wfi\n"
			 "lw t0, 0(%1)\n"
			 "beqz t0, 1b\n"
			 ".option pop\n"
			 "csrc mstatus, %2\n"
			 : "=&r"(wfi_pc) : "r"(&H->nirq), "r"(MSTATUS_MIE) : "t0", "memory");
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(H->irq[0].cause, CAUSE_INTR | IRQ_M_TIMER);
	/* priv 1.12 §3.3.3: a trap for an interrupt that arrives while the
	 * hart is stalled is taken at the following instruction; the only
	 * other place it may land is the wfi itself (it arrived on the way) */
	CHECK(H->irq[0].epc == wfi_pc + 4 || H->irq[0].epc == wfi_pc);
	csr_write(mie, 0);

	section("wfi in S-mode with TW = 1 is an illegal instruction");
	trap_reset();
	csr_set(mstatus, MSTATUS_TW);
	CHECK_EQ(RUN_S(s_wfi, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, probe_wfi, WFI_INSN);
	CHECK_EQ(H->exc.from, PRV_S);
	csr_clear(mstatus, MSTATUS_TW);

	section("wfi in S-mode with TW = 1 is illegal also when delegated to S");
	trap_reset();
	csr_set(mstatus, MSTATUS_TW);
	csr_write(medeleg, 1UL << CAUSE_ILLEGAL);
	CHECK_EQ(RUN_S(s_wfi, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_S, CAUSE_ILLEGAL, probe_wfi, WFI_INSN);
	csr_write(medeleg, 0);
	csr_clear(mstatus, MSTATUS_TW);

	section("wfi in U-mode is an illegal instruction (TW = 0)");
	trap_reset();
	CHECK_EQ(RUN_U(s_wfi, 0), FAULT_VALUE);
	CHECK_EXC_TVAL0(PRV_M, CAUSE_ILLEGAL, probe_wfi, WFI_INSN);
	CHECK_EQ(H->exc.from, PRV_U);

	section("wfi in S-mode with TW = 0 completes: S timer pending, enabled in sie, SIE = 0");
	trap_reset();
	csr_write(mideleg, MIP_STIP);
	csr_set(mip, MIP_STIP);
	csr_write(mie, MIP_STIP);
	csr_clear(mstatus, MSTATUS_SIE);
	CHECK_EQ(RUN_S(s_wfi, 0), 0);
	CHECK_NO_EXC();
	CHECK_EQ(H->nirq, 0);
	csr_clear(mip, MIP_STIP);
	csr_write(mie, 0);
	csr_write(mideleg, 0);

	section("wfi in M-mode with TW = 1 is legal");
	trap_reset();
	csr_set(mstatus, MSTATUS_TW);
	csr_set(mip, MIP_SSIP);                 /* pending and enabled: wfi returns */
	csr_write(mie, MIP_SSIP);
	CHECK_EQ(probe_wfi(), 0);
	CHECK_NO_EXC();
	CHECK_EQ(H->nirq, 0);
	csr_clear(mip, MIP_SSIP);
	csr_write(mie, 0);
	csr_clear(mstatus, MSTATUS_TW);
	return 0;
}
