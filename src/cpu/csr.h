/* Control and status registers (Zicsr, Zicntr and the FP CSRs). */
#ifndef CPU_CSR_H
#define CPU_CSR_H

#include "condo/cpu.h"

enum {
	CSR_FFLAGS = 0x001,
	CSR_FRM = 0x002,
	CSR_FCSR = 0x003,
	CSR_CYCLE = 0xc00,
	CSR_TIME = 0xc01,
	CSR_INSTRET = 0xc02,

	CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106,
	CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
	CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_STIMECMP = 0x14d, CSR_SATP = 0x180,

	CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302, CSR_MIDELEG = 0x303,
	CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
	CSR_MCOUNTINHIBIT = 0x320, CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342,
	CSR_MTVAL = 0x343, CSR_MIP = 0x344, CSR_PMPCFG0 = 0x3a0, CSR_PMPCFG2 = 0x3a2,
	CSR_PMPADDR0 = 0x3b0, CSR_TSELECT = 0x7a0, CSR_TDATA1 = 0x7a1, CSR_TDATA2 = 0x7a2,
	CSR_TDATA3 = 0x7a3, CSR_TINFO = 0x7a4, CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02,
	CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13, CSR_MHARTID = 0xf14,
	CSR_MCONFIGPTR = 0xf15,
};

/* 0 on success, -1 when the access is illegal (unknown CSR, or a write to a
 * read-only one); the caller raises an illegal-instruction trap. */
int csr_read(struct hart *hart, unsigned csr, uint64_t *val);
int csr_write(struct hart *hart, unsigned csr, uint64_t val);

/* The value csrrs/csrrc combine with their operand, given what was read. */
uint64_t csr_rmw_base(const struct hart *hart, unsigned csr, uint64_t old);

struct insn;
/* Execute a Zicsr instruction (csrrw, csrrs, csrrc and their immediate
 * forms) with src its operand (the register's value or the immediate):
 * rd = x0 skips the read of csrrw, rs1 = x0 (or uimm 0) the write of
 * csrrs/csrrc (unpriv 9.1).  hart->instret must count the instructions
 * before it.  0 with *old the value for rd; -1 when illegal. */
int csr_insn(struct hart *hart, const struct insn *ip, uint64_t src, uint64_t *old);


/* CSRs whose value changes by themselves (the host clock, interrupt lines
 * raised by devices): two runs of the same code read different values. */
static inline bool csr_changes_by_itself(unsigned csr)
{
	return csr == CSR_TIME || csr == CSR_MIP || csr == CSR_SIP;
}

/* fflags, frm and fcsr: their reads and writes touch nothing but the FP
 * state, so they need not end a block (unpriv 11.2). */
static inline bool csr_is_fp(unsigned csr)
{
	return csr >= CSR_FFLAGS && csr <= CSR_FCSR;
}

#endif
