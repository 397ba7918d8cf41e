/* irq.c — every interrupt source and the rules for taking them (priv 1.12
 * §3.1.9, §4.1.3, Sstc 1.0): M software (CLINT msip), M timer (mtimecmp),
 * S software (mip.SSIP from M, sip.SSIP from S), S timer through Sstc
 * (stimecmp, menvcfg.STCE) and through M writing mip.STIP, M and S
 * external through the PLIC (the UART's THR-empty interrupt, source 10)
 * and mip.SEIP; priority among pending interrupts; global enables: M
 * interrupts are taken in S/U whatever MIE, S interrupts never in M, in S
 * only with SIE, in U always. "Not taken" is checked over a bounded spin. */
#include "priv.h"

#define UART_IER (UART_BASE + 1)
#define UART_MCR (UART_BASE + 4)
#define SPIN 20000

static struct hart *H;

/* spin n iterations, return how many interrupts this hart has taken */
static long spin(long n)
{
	struct hart *h = this_hart();
	for (long i = 0; i < n; i++)
		barrier();
	return h->nirq;
}

static long wait_irq1(long x) { (void)x; return wait_irqs(1); }

/* wait (bounded) until mip & mask == want */
static int wait_mip(uint64_t mask, uint64_t want)
{
	for (long i = 0; i < 1000000; i++)
		if ((csr_read(mip) & mask) == want)
			return 1;
	return 0;
}

static uint64_t cause_of(int i)
{
	return H->irq[i].cause;
}

/* ---- PLIC and UART ---- */

static void plic_route_uart(int ctx, uint32_t threshold)
{
	mmio_write32(PLIC_PRIO(UART_IRQ), 1);
	mmio_write32(PLIC_ENABLE(PLIC_CTX_M(H->id)), ctx == PLIC_CTX_M(H->id) ? 1u << UART_IRQ : 0);
	mmio_write32(PLIC_ENABLE(PLIC_CTX_S(H->id)), ctx == PLIC_CTX_S(H->id) ? 1u << UART_IRQ : 0);
	mmio_write32(PLIC_THRESH(ctx), threshold);
}

/* the UART asks for an interrupt as long as THR is empty and IER.ETBEI */
static void uart_thre_irq(int on)
{
	mmio_write8(UART_MCR, 0x08);            /* OUT2: the PC-style IRQ gate */
	mmio_write8(UART_IER, on ? 0x02 : 0);
}

/* stop the UART interrupt and retire whatever the PLIC still has pending */
static void plic_quiesce(void)
{
	uart_thre_irq(0);
	for (int ctx = PLIC_CTX_M(H->id); ctx <= PLIC_CTX_S(H->id); ctx++) {
		mmio_write32(PLIC_ENABLE(ctx), 1u << UART_IRQ);
		uint32_t id = mmio_read32(PLIC_CLAIM(ctx));
		if (id)
			mmio_write32(PLIC_CLAIM(ctx), id);
		mmio_write32(PLIC_ENABLE(ctx), 0);
	}
}

static volatile uint32_t claimed_id;
static volatile int nclaims;

static void claim_uart(int ctx)
{
	uint32_t id = mmio_read32(PLIC_CLAIM(ctx));
	claimed_id = id;
	nclaims++;
	mmio_write8(UART_IER, 0);               /* the UART drops its request */
	if (id)
		mmio_write32(PLIC_CLAIM(ctx), id);  /* complete */
}

static int hook_m_ext(struct trap_frame *f)
{
	if ((f->cause & 63) != IRQ_M_EXT)
		return 0;
	claim_uart(PLIC_CTX_M(this_hart()->id));
	return 1;
}

static int hook_s_ext(struct trap_frame *f)
{
	if ((f->cause & 63) != IRQ_S_EXT)
		return 0;
	claim_uart(PLIC_CTX_S(this_hart()->id));
	return 1;
}

static int hook_m_timer_off(struct trap_frame *f)
{
	if ((f->cause & 63) != IRQ_M_TIMER)
		return 0;
	mmio_write64(CLINT_MTIMECMP(this_hart()->id), ~0UL);
	return 1;
}

static int hook_s_stimecmp_off(struct trap_frame *f)
{
	if ((f->cause & 63) != IRQ_S_TIMER)
		return 0;
	csr_write(CSR_STIMECMP, ~0UL);
	return 1;
}

/* every source off, nothing enabled (the trap log is kept) */
static void quiesce(void)
{
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
	csr_clear(mip, MIP_SSIP | MIP_STIP | MIP_SEIP);
	csr_write(CSR_MENVCFG, 0);
	mmio_write32(CLINT_MSIP(H->id), 0);
	mmio_write64(CLINT_MTIMECMP(H->id), ~0UL);
	plic_quiesce();
}

static void reset_all(void)
{
	quiesce();
	trap_reset();
	claimed_id = 0;
	nclaims = 0;
}

static void m_software(void)
{
	section("M software interrupt: msip sets mip.MSIP, taken with mie.MSIE and MIE");
	reset_all();
	csr_set(mip, MIP_MSIP);                 /* read-only in mip */
	CHECK_EQ(csr_read(mip) & MIP_MSIP, 0);
	mmio_write32(CLINT_MSIP(H->id), 1);
	CHECK(wait_mip(MIP_MSIP, MIP_MSIP));
	CHECK_EQ(spin(SPIN), 0);                /* MIE = 0, mie = 0 */
	csr_set(mstatus, MSTATUS_MIE);
	CHECK_EQ(spin(SPIN), 0);                /* mie.MSIE = 0 */
	csr_write(mie, MIP_MSIP);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_M_SOFT);
	CHECK_EQ(H->irq[0].level, PRV_M);
	CHECK_EQ(H->irq[0].from, PRV_M);
	/* the handler ran with MIE = 0 and MPIE = 1 */
	CHECK_EQ(H->irq[0].status & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MPIE);
	mmio_write32(CLINT_MSIP(H->id), 0);
	CHECK(wait_mip(MIP_MSIP, 0));
}

static void m_timer(void)
{
	section("M timer interrupt: mtimecmp <= mtime sets mip.MTIP");
	reset_all();
	csr_set(mip, MIP_MTIP);                 /* read-only in mip */
	CHECK_EQ(csr_read(mip) & MIP_MTIP, 0);
	mmio_write64(CLINT_MTIMECMP(H->id), mmio_read64(CLINT_MTIME));
	CHECK(wait_mip(MIP_MTIP, MIP_MTIP));
	H->m_irq_hook = hook_m_timer_off;
	csr_write(mie, MIP_MTIP);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_M_TIMER);
	/* the handler moved mtimecmp out of reach: MTIP drops */
	CHECK(wait_mip(MIP_MTIP, 0));
	CHECK_EQ(mmio_read64(CLINT_MTIMECMP(H->id)), ~0UL);
}

static long s_enable_and_wait(long bits)
{
	csr_set(sie, (uint64_t)bits);
	csr_set(sstatus, MSTATUS_SIE);
	long ok = wait_irqs(1);
	csr_clear(sstatus, MSTATUS_SIE);
	return ok;
}

static long s_set_ssip_and_wait(long x)
{
	(void)x;
	csr_set(sip, MIP_SSIP);
	long ok = s_enable_and_wait(MIP_SSIP);
	csr_clear(sip, MIP_SSIP);
	return ok;
}

static void s_software(void)
{
	section("S software interrupt set by M in mip, not delegated: taken in M");
	reset_all();
	csr_set(mip, MIP_SSIP);
	CHECK_EQ(csr_read(mip) & MIP_SSIP, MIP_SSIP);
	csr_write(mie, MIP_SSIP);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_SOFT);
	CHECK_EQ(H->irq[0].level, PRV_M);
	csr_clear(mip, MIP_SSIP);
	CHECK_EQ(csr_read(mip) & MIP_SSIP, 0);

	section("sip/sie show only delegated interrupts");
	reset_all();
	csr_set(mip, MIP_SSIP);
	csr_write(mie, MIP_SSIP);
	CHECK_EQ(csr_read(sip) & MIP_SSIP, 0);
	CHECK_EQ(csr_read(sie) & MIP_SSIP, 0);
	csr_write(mideleg, MIP_SSIP);
	CHECK_EQ(csr_read(sip) & MIP_SSIP, MIP_SSIP);
	CHECK_EQ(csr_read(sie) & MIP_SSIP, MIP_SSIP);
	csr_clear(sie, MIP_SSIP);               /* sie aliases mie */
	CHECK_EQ(csr_read(mie) & MIP_SSIP, 0);
	csr_clear(sip, MIP_SSIP);               /* sip.SSIP is writable */
	CHECK_EQ(csr_read(mip) & MIP_SSIP, 0);

	section("S software interrupt delegated, set by S in sip: taken in S");
	reset_all();
	csr_write(mideleg, MIP_SSIP);
	CHECK_EQ(RUN_S(s_set_ssip_and_wait, 0), 1);
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_SOFT);
	CHECK_EQ(H->irq[0].level, PRV_S);
	CHECK_EQ(H->irq[0].from, PRV_S);
	CHECK_EQ(H->irq[0].status & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP),
		 MSTATUS_SPIE | MSTATUS_SPP);

	section("S software interrupt delegated, set by M in mip: taken in S");
	reset_all();
	csr_write(mideleg, MIP_SSIP);
	csr_set(mip, MIP_SSIP);
	CHECK_EQ(RUN_S(s_enable_and_wait, MIP_SSIP), 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_SOFT);
	CHECK_EQ(H->irq[0].level, PRV_S);
	csr_clear(mip, MIP_SSIP);
}

static long s_stimecmp_now(long x)
{
	(void)x;
	csr_set(sie, MIP_STIP);
	csr_write(CSR_STIMECMP, csr_read(time));
	csr_set(sstatus, MSTATUS_SIE);
	long ok = wait_irqs(1);
	csr_clear(sstatus, MSTATUS_SIE);
	return ok;
}

static long s_read_stimecmp(long x)
{
	(void)x;
	return (long)probe_csrr_stimecmp();
}

static long s_clear_stip(long x)
{
	(void)x;
	csr_clear(sip, MIP_STIP);               /* read-only in sip */
	return (long)(csr_read(sip) & MIP_STIP);
}

static void s_timer(void)
{
	section("Sstc: stimecmp from S is illegal while menvcfg.STCE = 0");
	reset_all();
	CHECK_EQ(RUN_S(s_read_stimecmp, 0), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_ILLEGAL, probe_csrr_stimecmp, ANY_TVAL);

	section("Sstc: stimecmp from S is illegal while mcounteren.TM = 0");
	reset_all();
	csr_write(CSR_MENVCFG, MENVCFG_STCE);
	CHECK_EQ(csr_read(CSR_MENVCFG) & MENVCFG_STCE, MENVCFG_STCE);
	csr_write(mcounteren, 5);
	CHECK_EQ(RUN_S(s_read_stimecmp, 0), FAULT_VALUE);
	CHECK_EXC(PRV_M, CAUSE_ILLEGAL, probe_csrr_stimecmp, ANY_TVAL);
	csr_write(mcounteren, 7);
	trap_reset();
	csr_write(CSR_STIMECMP, 0x1234);
	CHECK_EQ(RUN_S(s_read_stimecmp, 0), 0x1234);
	CHECK_NO_EXC();

	section("Sstc: STIP follows stimecmp and M cannot write it");
	reset_all();
	csr_write(CSR_MENVCFG, MENVCFG_STCE);
	csr_write(CSR_STIMECMP, ~0UL);
	CHECK(wait_mip(MIP_STIP, 0));
	csr_set(mip, MIP_STIP);
	CHECK_EQ(csr_read(mip) & MIP_STIP, 0);
	csr_write(CSR_STIMECMP, 0);
	CHECK(wait_mip(MIP_STIP, MIP_STIP));
	csr_clear(mip, MIP_STIP);
	CHECK_EQ(csr_read(mip) & MIP_STIP, MIP_STIP);
	csr_write(CSR_STIMECMP, ~0UL);
	CHECK(wait_mip(MIP_STIP, 0));

	section("Sstc: S sets stimecmp <= time and takes the S timer interrupt");
	reset_all();
	csr_write(CSR_MENVCFG, MENVCFG_STCE);
	csr_write(CSR_STIMECMP, ~0UL);
	csr_write(mideleg, MIP_STIP);
	H->s_irq_hook = hook_s_stimecmp_off;
	CHECK_EQ(RUN_S(s_stimecmp_now, 0), 1);
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_TIMER);
	CHECK_EQ(H->irq[0].level, PRV_S);
	CHECK_EQ(csr_read(CSR_STIMECMP), ~0UL);
	CHECK(wait_mip(MIP_STIP, 0));

	section("S timer interrupt from M writing mip.STIP (STCE = 0)");
	reset_all();
	csr_set(mip, MIP_STIP);
	CHECK_EQ(csr_read(mip) & MIP_STIP, MIP_STIP);
	csr_write(mideleg, MIP_STIP);
	CHECK_EQ(RUN_S(s_clear_stip, 0), MIP_STIP);
	CHECK_EQ(H->nirq, 0);                   /* sie.STIE = 0 so far */
	CHECK_EQ(RUN_S(s_enable_and_wait, MIP_STIP), 1);
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_TIMER);
	CHECK_EQ(H->irq[0].level, PRV_S);
	csr_clear(mip, MIP_STIP);
	CHECK_EQ(csr_read(mip) & MIP_STIP, 0);
}

static void external(void)
{
	int mctx = PLIC_CTX_M(H->id), sctx = PLIC_CTX_S(H->id);

	section("M external interrupt: UART THRE through the PLIC, claim/complete");
	reset_all();
	plic_route_uart(mctx, 1);               /* threshold 1 masks priority 1 */
	uart_thre_irq(1);
	long n = spin(SPIN);
	int meip_masked = !(csr_read(mip) & MIP_MEIP);
	mmio_write32(PLIC_THRESH(mctx), 0);
	int meip = wait_mip(MIP_MEIP, MIP_MEIP);
	uint32_t pending = mmio_read32(PLIC_PENDING) & (1u << UART_IRQ);
	H->m_irq_hook = hook_m_ext;
	csr_write(mie, MIP_MEIP);
	csr_set(mstatus, MSTATUS_MIE);
	int taken = wait_irqs(1);
	csr_clear(mstatus, MSTATUS_MIE);
	int dropped = wait_mip(MIP_MEIP, 0);
	CHECK_EQ(n, 0);
	CHECK(meip_masked);
	CHECK(meip);
	CHECK_EQ(pending, 1u << UART_IRQ);
	CHECK(taken);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_M_EXT);
	CHECK_EQ(claimed_id, UART_IRQ);
	CHECK_EQ(nclaims, 1);
	CHECK(dropped);

	section("S external interrupt: UART THRE through the PLIC's S context");
	reset_all();
	plic_route_uart(sctx, 0);
	csr_write(mideleg, MIP_SEIP);
	H->s_irq_hook = hook_s_ext;
	uart_thre_irq(1);
	long ok = RUN_S(s_enable_and_wait, MIP_SEIP);
	dropped = wait_mip(MIP_SEIP, 0);
	CHECK_EQ(ok, 1);
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_EXT);
	CHECK_EQ(H->irq[0].level, PRV_S);
	CHECK_EQ(claimed_id, UART_IRQ);
	CHECK(dropped);

	section("S external interrupt from M writing mip.SEIP");
	reset_all();
	csr_set(mip, MIP_SEIP);
	CHECK_EQ(csr_read(mip) & MIP_SEIP, MIP_SEIP);
	csr_write(mideleg, MIP_SEIP);
	CHECK_EQ(RUN_S(s_enable_and_wait, MIP_SEIP), 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_EXT);
	CHECK_EQ(H->irq[0].level, PRV_S);
	csr_clear(mip, MIP_SEIP);
	CHECK_EQ(csr_read(mip) & MIP_SEIP, 0);
}

static long s_enable3_and_wait(long x)
{
	(void)x;
	csr_set(sie, MIP_SSIP | MIP_STIP | MIP_SEIP);
	csr_set(sstatus, MSTATUS_SIE);
	long ok = wait_irqs(3);
	csr_clear(sstatus, MSTATUS_SIE);
	return ok;
}

static void priority(void)
{
	const uint64_t six = MIP_MEIP | MIP_MSIP | MIP_MTIP | MIP_SEIP | MIP_SSIP | MIP_STIP;

	section("priority: MEI > MSI > MTI > SEI > SSI > STI (all to M)");
	reset_all();
	plic_route_uart(PLIC_CTX_M(H->id), 0);
	uart_thre_irq(1);
	mmio_write32(CLINT_MSIP(H->id), 1);
	mmio_write64(CLINT_MTIMECMP(H->id), 0);
	csr_set(mip, MIP_SEIP | MIP_SSIP | MIP_STIP);
	int all = wait_mip(six, six);
	csr_write(mie, six);
	csr_set(mstatus, MSTATUS_MIE);
	int taken = wait_irqs(6);
	csr_clear(mstatus, MSTATUS_MIE);
	quiesce();
	CHECK(all);
	CHECK(taken);
	static const uint64_t order[] = { IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT,
					  IRQ_S_TIMER };
	if (!qemu_deviation("interrupts are taken lowest cause number first"))
		for (int i = 0; i < 6; i++)
			CHECK_EQ(cause_of(i), CAUSE_INTR | order[i]);

	section("priority: SEI > SSI > STI (delegated, to S)");
	reset_all();
	csr_write(mideleg, MIP_SEIP | MIP_SSIP | MIP_STIP);
	csr_set(mip, MIP_SEIP | MIP_SSIP | MIP_STIP);
	CHECK_EQ(RUN_S(s_enable3_and_wait, 0), 1);
	csr_clear(mip, MIP_SEIP | MIP_SSIP | MIP_STIP);
	CHECK_EQ(H->nirq, 3);
	if (!qemu_deviation("interrupts are taken lowest cause number first")) {
		CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_EXT);
		CHECK_EQ(cause_of(1), CAUSE_INTR | IRQ_S_SOFT);
		CHECK_EQ(cause_of(2), CAUSE_INTR | IRQ_S_TIMER);
	}
	for (int i = 0; i < 3; i++)
		CHECK_EQ(H->irq[i].level, PRV_S);

	section("priority: in S, a pending M timer interrupt goes before a delegated SSI");
	reset_all();
	csr_write(mideleg, MIP_SSIP);
	csr_write(mie, MIP_MTIP);
	mmio_write64(CLINT_MTIMECMP(H->id), 0);
	csr_set(mip, MIP_SSIP);
	all = wait_mip(MIP_MTIP | MIP_SSIP, MIP_MTIP | MIP_SSIP);
	H->m_irq_hook = hook_m_timer_off;
	long ok = RUN_S(s_enable_and_wait, MIP_SSIP);
	csr_clear(mip, MIP_SSIP);
	CHECK(all);
	CHECK_EQ(ok, 1);
	CHECK_EQ(H->nirq, 2);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_M_TIMER);
	CHECK_EQ(H->irq[0].level, PRV_M);
	CHECK_EQ(H->irq[0].from, PRV_S);
	CHECK_EQ(cause_of(1), CAUSE_INTR | IRQ_S_SOFT);
	CHECK_EQ(H->irq[1].level, PRV_S);
}

static long spin_lower(long n)
{
	return spin(n);
}

static void enables(void)
{
	section("an interrupt left pending is taken once mret sets MIE from MPIE");
	reset_all();
	mmio_write32(CLINT_MSIP(H->id), 1);
	csr_write(mie, MIP_MSIP);
	CHECK(wait_mip(MIP_MSIP, MIP_MSIP));
	csr_set(mstatus, MSTATUS_MPP | MSTATUS_MPIE);
	__asm__ volatile("la t0, 1f\n"
			 "csrw mepc, t0\n"
			 "mret\n"
			 "1:\n" ::: "t0", "memory");
	int taken = wait_irqs(1);
	csr_clear(mstatus, MSTATUS_MIE);
	mmio_write32(CLINT_MSIP(H->id), 0);
	CHECK(taken);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_M_SOFT);


	section("M interrupts are taken in S and U even with MIE = 0");
	for (int mode = PRV_U; mode <= PRV_S; mode++) {
		reset_all();
		mmio_write32(CLINT_MSIP(H->id), 1);
		csr_write(mie, MIP_MSIP);
		CHECK(wait_mip(MIP_MSIP, MIP_MSIP));
		CHECK_EQ(spin(SPIN), 0);        /* not in M with MIE = 0 */
		CHECK_EQ(lower_call(mode, wait_irq1, 0, 0), 1);
		mmio_write32(CLINT_MSIP(H->id), 0);
		CHECK_EQ(H->nirq, 1);
		CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_M_SOFT);
		CHECK_EQ(H->irq[0].level, PRV_M);
		CHECK_EQ(H->irq[0].from, mode);
	}

	section("an S interrupt not delegated is taken to M from S with MIE = 0");
	reset_all();
	csr_set(mip, MIP_SSIP);
	csr_write(mie, MIP_SSIP);
	CHECK_EQ(spin(SPIN), 0);
	CHECK_EQ(RUN_S(wait_irq1, 0), 1);
	csr_clear(mip, MIP_SSIP);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_SOFT);
	CHECK_EQ(H->irq[0].level, PRV_M);
	CHECK_EQ(H->irq[0].from, PRV_S);

	section("M interrupts disabled in mie are not taken in S");
	reset_all();
	mmio_write32(CLINT_MSIP(H->id), 1);
	CHECK(wait_mip(MIP_MSIP, MIP_MSIP));
	CHECK_EQ(RUN_S(spin_lower, SPIN), 0);
	mmio_write32(CLINT_MSIP(H->id), 0);

	section("delegated S interrupts: never in M, in S only with SIE, in U always");
	reset_all();
	csr_write(mideleg, MIP_SSIP);
	csr_write(mie, MIP_SSIP);
	csr_set(mip, MIP_SSIP);
	csr_set(mstatus, MSTATUS_MIE | MSTATUS_SIE);
	CHECK_EQ(spin(SPIN), 0);
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE);
	CHECK_EQ(RUN_S(spin_lower, SPIN), 0);   /* SIE = 0 */
	CHECK_EQ(RUN_U(wait_irq1, 0), 1);       /* SIE = 0 does not matter in U */
	csr_clear(mip, MIP_SSIP);
	CHECK_EQ(H->nirq, 1);
	CHECK_EQ(cause_of(0), CAUSE_INTR | IRQ_S_SOFT);
	CHECK_EQ(H->irq[0].level, PRV_S);
	CHECK_EQ(H->irq[0].from, PRV_U);
	reset_all();
}

int main(void)
{
	H = this_hart();
	m_software();
	m_timer();
	s_software();
	s_timer();
	external();
	priority();
	enables();
	return 0;
}
