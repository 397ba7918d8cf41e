/* Trap entry and return, interrupt selection, and the choice of TLB set
 * (priv spec 3.1.6.1, 3.1.7-3.1.9, 3.3.2, 4.1.1). */
#include "cpu/priv.h"

static uint64_t get_mpp(const struct hart *hart)
{
	return (hart->csr.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT;
}

void trap_update_context(struct hart *hart)
{
	enum tlb_context ctx;

	switch (hart->priv) {
	case PRV_U: ctx = TLB_CTX_U; break;
	case PRV_S: ctx = hart->csr.mstatus & MSTATUS_SUM ? TLB_CTX_S_SUM : TLB_CTX_S; break;
	default: ctx = TLB_CTX_M; break;
	}
	if (hart->tlb_pinned)
		cpu_tlb_set_clear(hart->tlb); /* its entries were made in the old context */
	else
		hart->tlb = ctx == TLB_CTX_U ? cpu_tlb_u(hart) : &hart->tlbs[ctx];
}

static uint64_t vector(uint64_t tvec, uint64_t cause)
{
	uint64_t base = tvec & ~3ull;

	/* vectored mode sends interrupts to base + 4 * cause */
	if ((tvec & 3) == 1 && (cause & CAUSE_INTERRUPT))
		return base + 4 * (cause & ~CAUSE_INTERRUPT);
	return base;
}

void trap_take(struct hart *hart, uint64_t cause, uint64_t tval)
{
	struct csr_state *csr = &hart->csr;
	bool interrupt = cause & CAUSE_INTERRUPT;
	uint64_t code = cause & ~CAUSE_INTERRUPT;
	uint64_t deleg = interrupt ? csr->mideleg : csr->medeleg;
	uint64_t s = csr->mstatus;

	/* A trap never lowers privilege: M-mode traps stay in M. */
	if (hart->priv <= PRV_S && code < 64 && ((deleg >> code) & 1)) {
		csr->scause = cause;
		csr->sepc = hart->pc;
		csr->stval = tval;
		s = (s & ~MSTATUS_SPIE) | ((s & MSTATUS_SIE) ? MSTATUS_SPIE : 0);
		s = (s & ~MSTATUS_SPP) | (hart->priv == PRV_S ? MSTATUS_SPP : 0);
		s &= ~MSTATUS_SIE;
		hart->priv = PRV_S;
		hart->pc = vector(csr->stvec, cause);
	} else {
		csr->mcause = cause;
		csr->mepc = hart->pc;
		csr->mtval = tval;
		s = (s & ~MSTATUS_MPIE) | ((s & MSTATUS_MIE) ? MSTATUS_MPIE : 0);
		s = (s & ~MSTATUS_MPP) | ((uint64_t)hart->priv << MSTATUS_MPP_SHIFT);
		s &= ~MSTATUS_MIE;
		hart->priv = PRV_M;
		hart->pc = vector(csr->mtvec, cause);
	}
	csr->mstatus = s;
	hart->resv_valid = false;
	trap_update_context(hart);
}

uint64_t trap_mret(struct hart *hart)
{
	uint64_t s = hart->csr.mstatus;
	uint64_t mpp = get_mpp(hart);

	s = (s & ~MSTATUS_MIE) | ((s & MSTATUS_MPIE) ? MSTATUS_MIE : 0);
	s |= MSTATUS_MPIE;
	s &= ~MSTATUS_MPP; /* MPP = U, the least-privileged mode */
	if (mpp != PRV_M)
		s &= ~MSTATUS_MPRV;
	hart->csr.mstatus = s;
	hart->priv = (uint8_t)mpp;
	hart->resv_valid = false;
	trap_update_context(hart);
	trap_irq_recheck(hart); /* a pending interrupt may be enabled now */
	return hart->csr.mepc;
}

uint64_t trap_sret(struct hart *hart)
{
	uint64_t s = hart->csr.mstatus;
	int spp = (s & MSTATUS_SPP) ? PRV_S : PRV_U;

	s = (s & ~MSTATUS_SIE) | ((s & MSTATUS_SPIE) ? MSTATUS_SIE : 0);
	s |= MSTATUS_SPIE;
	s &= ~MSTATUS_SPP;
	s &= ~MSTATUS_MPRV; /* sret always returns below M */
	hart->csr.mstatus = s;
	hart->priv = (uint8_t)spp;
	hart->resv_valid = false;
	trap_update_context(hart);
	trap_irq_recheck(hart);
	return hart->csr.sepc;
}

/* Among the pending bits, the highest-priority one: MEI, MSI, MTI, SEI,
 * SSI, STI (priv 3.1.9). */
static uint64_t highest(uint64_t bits)
{
	static const int order[] = { IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER,
				     IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER };

	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (bits & (1ull << order[i]))
			return CAUSE_INTERRUPT | (uint64_t)order[i];
	return 0;
}

uint64_t trap_pending_interrupt(const struct hart *hart)
{
	uint64_t pending = cpu_mip(hart) & hart->csr.mie;
	uint64_t to_m, to_s;
	bool m_on, s_on;

	if (!pending)
		return 0;
	m_on = hart->priv < PRV_M || (hart->csr.mstatus & MSTATUS_MIE);
	s_on = hart->priv < PRV_S || (hart->priv == PRV_S && (hart->csr.mstatus & MSTATUS_SIE));
	to_m = m_on ? pending & ~hart->csr.mideleg : 0;
	to_s = s_on ? pending & hart->csr.mideleg : 0;
	/* interrupts for M come before those for S */
	return to_m ? highest(to_m) : highest(to_s);
}

void trap_irq_recheck(struct hart *hart)
{
	if (trap_pending_interrupt(hart))
		hart->irq_check = 1;
}
