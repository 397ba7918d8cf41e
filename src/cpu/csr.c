/* Control and status registers: the unprivileged ones (fflags, frm, fcsr,
 * cycle, time, instret) and every M- and S-mode CSR of priv spec 1.12 that
 * an RV64GC hart with S and U modes has, plus Sstc's stimecmp and Sdtrig's
 * trigger CSRs (with no trigger behind them). */
#include "cpu/csr.h"
#include "cpu/decode.h"
#include "cpu/priv.h"

#include <time.h>

#define TIMEBASE_HZ 10000000ull

uint64_t csr_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TIMEBASE_HZ + (uint64_t)ts.tv_nsec / (1000000000ull / TIMEBASE_HZ);
}

#define MISA_RV64GC_SU ((2ull << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | \
			(1 << 12) | (1 << 18) | (1 << 20))

#define MSTATUS_WRITABLE (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | \
			  MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | \
			  MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
#define MEDELEG_WRITABLE 0xb3ffull /* all but ecall from M and the reserved causes */
#define MIE_WRITABLE (MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP)

void cpu_reset_system(struct hart *hart, uint64_t hartid, uint64_t pc)
{
	hart->system = true;
	hart->hartid = hartid;
	hart->priv = PRV_M;
	hart->pc = pc;
	hart->csr = (struct csr_state){ 0 };
	hart->csr.misa = MISA_RV64GC_SU;
	hart->csr.mstatus = MSTATUS_UXL_64 | MSTATUS_SXL_64; /* FS off until the kernel enables it */
	/* scounteren's reset value is unspecified (priv 4.1.5); user-mode
	 * counters on is what Linux, which never writes it, relies on for
	 * its vDSO's rdtime, on either boot path. */
	hart->csr.scounteren = 7;
	hart->csr.stimecmp = UINT64_MAX;
	hart->mtimecmp = UINT64_MAX;
	hart->sbi_timer_armed = false;
	hart->mip = 0;
	trap_update_context(hart);
	cpu_tlb_flush(hart);
}

void cpu_set_irq(struct hart *hart, uint64_t mask, bool level)
{
	if (level)
		__atomic_or_fetch(&hart->mip, mask, __ATOMIC_SEQ_CST);
	else
		__atomic_and_fetch(&hart->mip, ~mask, __ATOMIC_SEQ_CST);
	cpu_kick(hart);
}

/* Sstc: STIP follows time >= stimecmp while menvcfg.STCE is set. */
static void sstc_update(struct hart *hart)
{
	cpu_timer_poll(hart);
}

static uint64_t status_read(const struct hart *hart, uint64_t mask)
{
	uint64_t s = hart->csr.mstatus;

	if ((s & MSTATUS_FS) == MSTATUS_FS)
		s |= MSTATUS_SD;
	return s & mask;
}

/* FS: any non-Off value reads back as Dirty, which the spec allows
 * (priv 3.1.6.6) and which makes every FP write visible to the kernel. */
static void status_write(struct hart *hart, uint64_t val, uint64_t mask)
{
	uint64_t old = hart->csr.mstatus, s;

	mask &= MSTATUS_WRITABLE;
	s = (old & ~mask) | (val & mask);
	if (((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)
		s = (s & ~MSTATUS_MPP) | (old & MSTATUS_MPP); /* reserved MPP keeps its value */
	if (s & MSTATUS_FS)
		s |= MSTATUS_FS;
	hart->csr.mstatus = s;
	if ((old ^ s) & (MSTATUS_MXR | MSTATUS_MPRV | ((s & MSTATUS_MPRV) ? MSTATUS_MPP : 0)))
		cpu_tlb_flush(hart);
	trap_update_context(hart);
	trap_irq_recheck(hart);
}

static bool counter_enabled(const struct hart *hart, unsigned csr)
{
	uint64_t bit = 1ull << (csr & 31);

	if (!hart->system || hart->priv == PRV_M)
		return true;
	if (!(hart->csr.mcounteren & bit))
		return false;
	return hart->priv == PRV_S || (hart->csr.scounteren & bit);
}

/* Sstc 1.0: S-mode reaches stimecmp only with menvcfg.STCE and mcounteren.TM. */
static bool stimecmp_allowed(const struct hart *hart)
{
	return hart->priv == PRV_M ||
	       ((hart->csr.menvcfg & MENVCFG_STCE) && (hart->csr.mcounteren & 2));
}

static int read_privileged(struct hart *hart, unsigned csr, uint64_t *val)
{
	struct csr_state *c = &hart->csr;

	if (csr >= CSR_PMPADDR0 && csr < CSR_PMPADDR0 + 16) {
		*val = c->pmpaddr[csr - CSR_PMPADDR0];
		return 0;
	}
	if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) {
		*val = 0; /* hpm counters and events: present, hard-wired to zero */
		return 0;
	}
	switch (csr) {
	case CSR_SSTATUS: *val = status_read(hart, SSTATUS_MASK); return 0;
	case CSR_SIE: *val = c->mie & c->mideleg; return 0;
	case CSR_STVEC: *val = c->stvec; return 0;
	case CSR_SCOUNTEREN: *val = c->scounteren; return 0;
	case CSR_SENVCFG: *val = c->senvcfg; return 0;
	case CSR_SSCRATCH: *val = c->sscratch; return 0;
	case CSR_SEPC: *val = c->sepc; return 0;
	case CSR_SCAUSE: *val = c->scause; return 0;
	case CSR_STVAL: *val = c->stval; return 0;
	case CSR_SIP: *val = cpu_mip(hart) & c->mideleg; return 0;
	case CSR_STIMECMP:
		if (!stimecmp_allowed(hart))
			return -1;
		*val = c->stimecmp;
		return 0;
	case CSR_SATP:
		if (hart->priv == PRV_S && (c->mstatus & MSTATUS_TVM))
			return -1;
		*val = c->satp;
		return 0;
	case CSR_MSTATUS: *val = status_read(hart, ~0ull); return 0;
	case CSR_MISA: *val = c->misa; return 0;
	case CSR_MEDELEG: *val = c->medeleg; return 0;
	case CSR_MIDELEG: *val = c->mideleg; return 0;
	case CSR_MIE: *val = c->mie; return 0;
	case CSR_MTVEC: *val = c->mtvec; return 0;
	case CSR_MCOUNTEREN: *val = c->mcounteren; return 0;
	case CSR_MENVCFG: *val = c->menvcfg; return 0;
	case CSR_MCOUNTINHIBIT: *val = 0; return 0;
	case CSR_MSCRATCH: *val = c->mscratch; return 0;
	case CSR_MEPC: *val = c->mepc; return 0;
	case CSR_MCAUSE: *val = c->mcause; return 0;
	case CSR_MTVAL: *val = c->mtval; return 0;
	case CSR_MIP: *val = cpu_mip(hart); return 0;
	case CSR_PMPCFG0: *val = c->pmpcfg[0]; return 0;
	case CSR_PMPCFG2: *val = c->pmpcfg[1]; return 0;
	case CSR_MCYCLE: *val = hart->instret + c->cycle_offset; return 0;
	case CSR_MINSTRET: *val = hart->instret; return 0;
	case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MCONFIGPTR:
		*val = 0;
		return 0;
	case CSR_MHARTID: *val = hart->hartid; return 0;
	/* Sdtrig with no trigger (debug spec 1.0 ch. 5): tselect only holds
	 * index 0, where tdata1 is type 0 ("no trigger") with its other bits
	 * hard-wired to 0, tdata2/3 hold nothing, and tinfo is 1 ("this
	 * trigger doesn't exist"), so the spec's enumeration finds none. */
	case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3:
		*val = 0;
		return 0;
	case CSR_TINFO: *val = 1; return 0;
	}
	return -1;
}

static void pmpcfg_write(struct hart *hart, int reg, uint64_t val)
{
	uint64_t old = hart->csr.pmpcfg[reg], out = 0;

	for (int i = 0; i < 8; i++) {
		uint8_t o = (uint8_t)(old >> (8 * i)), n = (uint8_t)(val >> (8 * i));
		if (o & 0x80)
			n = o; /* locked entries ignore writes */
		else if ((n & 3) == 2)
			n &= ~3; /* W without R is reserved: keep neither */
		n &= 0x9f;
		out |= (uint64_t)n << (8 * i);
	}
	hart->csr.pmpcfg[reg] = out;
	cpu_tlb_flush(hart);
}

static bool pmpaddr_locked(const struct hart *hart, int i)
{
	uint8_t cfg = (uint8_t)(hart->csr.pmpcfg[i / 8] >> (8 * (i % 8)));
	uint8_t next = i < 15 ? (uint8_t)(hart->csr.pmpcfg[(i + 1) / 8] >> (8 * ((i + 1) % 8))) : 0;

	/* a locked TOR entry also locks the address below it (priv 3.7.1.2) */
	return (cfg & 0x80) || ((next & 0x80) && ((next >> 3) & 3) == 1);
}

static int write_privileged(struct hart *hart, unsigned csr, uint64_t val)
{
	struct csr_state *c = &hart->csr;

	if (csr >= CSR_PMPADDR0 && csr < CSR_PMPADDR0 + 16) {
		if (!pmpaddr_locked(hart, csr - CSR_PMPADDR0)) {
			c->pmpaddr[csr - CSR_PMPADDR0] = val & ((1ull << 54) - 1);
			cpu_tlb_flush(hart);
		}
		return 0;
	}
	if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f))
		return 0;
	switch (csr) {
	case CSR_SSTATUS: status_write(hart, val, SSTATUS_MASK); return 0;
	case CSR_SIE:
		c->mie = (c->mie & ~c->mideleg) | (val & c->mideleg & MIE_WRITABLE);
		trap_irq_recheck(hart);
		return 0;
	case CSR_STVEC: c->stvec = val & ~2ull; return 0;
	case CSR_SCOUNTEREN: c->scounteren = val & 0xffffffff; return 0;
	case CSR_SENVCFG: c->senvcfg = val & 1; return 0;
	case CSR_SSCRATCH: c->sscratch = val; return 0;
	case CSR_SEPC: c->sepc = val & ~1ull; return 0;
	case CSR_SCAUSE: c->scause = val; return 0;
	case CSR_STVAL: c->stval = val; return 0;
	case CSR_SIP:
		cpu_set_irq(hart, MIP_SSIP & c->mideleg, val & MIP_SSIP);
		return 0;
	case CSR_STIMECMP:
		if (!stimecmp_allowed(hart))
			return -1;
		c->stimecmp = val;
		sstc_update(hart);
		return 0;
	case CSR_SATP: {
		uint64_t mode = val >> 60;
		if (hart->priv == PRV_S && (c->mstatus & MSTATUS_TVM))
			return -1;
		/* unsupported modes leave satp unchanged (WARL, priv 4.1.11) */
		if (mode == SATP_MODE_BARE || mode == SATP_MODE_SV39 || mode == SATP_MODE_SV48) {
			uint64_t old = c->satp;

			c->satp = val; /* 16 ASID bits, 44 PPN bits: all writable */
			cpu_tlb_satp_written(hart, old);
		}
		return 0;
	}
	case CSR_MSTATUS: status_write(hart, val, ~0ull); return 0;
	case CSR_MISA: return 0; /* the extensions are fixed */
	case CSR_MEDELEG: c->medeleg = val & MEDELEG_WRITABLE; return 0;
	case CSR_MIDELEG:
		c->mideleg = val & S_INTERRUPTS;
		trap_irq_recheck(hart);
		return 0;
	case CSR_MIE:
		c->mie = val & MIE_WRITABLE;
		trap_irq_recheck(hart);
		return 0;
	case CSR_MTVEC: c->mtvec = val & ~2ull; return 0;
	case CSR_MCOUNTEREN: c->mcounteren = val & 0xffffffff; return 0;
	case CSR_MENVCFG:
		c->menvcfg = val & (MENVCFG_STCE | 1);
		sstc_update(hart);
		return 0;
	case CSR_MCOUNTINHIBIT: return 0; /* counters cannot be stopped: all bits read 0 */
	case CSR_MSCRATCH: c->mscratch = val; return 0;
	case CSR_MEPC: c->mepc = val & ~1ull; return 0;
	case CSR_MCAUSE: c->mcause = val; return 0;
	case CSR_MTVAL: c->mtval = val; return 0;
	case CSR_MIP: {
		uint64_t writable = MIP_SSIP | MIP_STIP;
		if (c->menvcfg & MENVCFG_STCE)
			writable &= ~MIP_STIP; /* Sstc drives STIP */
		c->seip_sw = val & MIP_SEIP;
		cpu_set_irq(hart, writable & val, true);
		cpu_set_irq(hart, writable & ~val, false);
		return 0;
	}
	case CSR_PMPCFG0: pmpcfg_write(hart, 0, val); return 0;
	case CSR_PMPCFG2: pmpcfg_write(hart, 1, val); return 0;
	/* A counter written by an instruction is not also incremented by it
	 * (Zicsr): the writing instruction retires right after this, so aim
	 * one below. */
	case CSR_MCYCLE: c->cycle_offset = val - hart->instret - 1; return 0;
	case CSR_MINSTRET: hart->instret = val - 1; return 0;
	/* Sdtrig: every field is WARL or read-only and holds its one value */
	case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3: case CSR_TINFO:
		return 0;
	}
	return -1;
}

uint64_t csr_rmw_base(const struct hart *hart, unsigned csr, uint64_t old)
{
	/* csrrs/csrrc on mip modify the software SEIP bit, not the PLIC's line */
	if (csr == CSR_MIP)
		return (old & ~MIP_SEIP) | hart->csr.seip_sw;
	return old;
}

int csr_read(struct hart *hart, unsigned csr, uint64_t *val)
{
	if (((csr >> 8) & 3) > hart->priv)
		return -1; /* below the CSR's privilege (priv 2.1) */
	if (csr <= CSR_FCSR && !(hart->csr.mstatus & MSTATUS_FS))
		return -1; /* FP state off (priv 3.1.6.6) */
	switch (csr) {
	case CSR_FFLAGS: *val = hart->fflags; return 0;
	case CSR_FRM: *val = hart->frm; return 0;
	case CSR_FCSR: *val = cpu_fcsr(hart); return 0;
	/* No cycle-accurate model: a cycle is an instruction. */
	case CSR_CYCLE: case CSR_INSTRET: case CSR_TIME:
		if (!counter_enabled(hart, csr))
			return -1;
		if (csr == CSR_TIME)
			*val = cpu_time(hart);
		else
			*val = hart->instret + (csr == CSR_CYCLE ? hart->csr.cycle_offset : 0);
		return 0;
	}
	if (csr >= 0xc03 && csr <= 0xc1f) {
		if (!counter_enabled(hart, csr))
			return -1;
		*val = 0;
		return 0;
	}
	if (!hart->system)
		return -1;
	return read_privileged(hart, csr, val);
}

int csr_write(struct hart *hart, unsigned csr, uint64_t val)
{
	if ((csr >> 10) == 3 || ((csr >> 8) & 3) > hart->priv)
		return -1; /* read-only, or below the CSR's privilege (priv 2.1) */
	if (csr <= CSR_FCSR && !(hart->csr.mstatus & MSTATUS_FS))
		return -1;
	switch (csr) {
	case CSR_FFLAGS: hart->fflags = val & 0x1f; return 0;
	case CSR_FRM: hart->frm = val & 7; return 0;
	case CSR_FCSR:
		hart->fflags = val & 0x1f;
		hart->frm = (val >> 5) & 7;
		return 0;
	}
	if (!hart->system)
		return -1;
	return write_privileged(hart, csr, val);
}

int csr_insn(struct hart *hart, const struct insn *ip, uint64_t src, uint64_t *old)
{
	unsigned csr = (unsigned)ip->imm;
	bool swap = ip->op == OP_CSRRW || ip->op == OP_CSRRWI;
	bool set = ip->op == OP_CSRRS || ip->op == OP_CSRRSI;
	bool do_read = !swap || ip->rd != REG_SINK, do_write = swap || ip->rs1 != 0;
	uint64_t base;

	*old = 0;
	if (do_read && csr_read(hart, csr, old) < 0)
		return -1;
	base = csr_rmw_base(hart, csr, *old);
	if (do_write && csr_write(hart, csr, swap ? src : set ? base | src : base & ~src) < 0)
		return -1;
	return 0;
}
