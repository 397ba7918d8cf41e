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
};

/* 0 on success, -1 when the access is illegal (unknown CSR, or a write to a
 * read-only one); the caller raises an illegal-instruction trap. */
int csr_read(struct hart *hart, unsigned csr, uint64_t *val);
int csr_write(struct hart *hart, unsigned csr, uint64_t val);

/* The time CSR: host monotonic time at the board's 10 MHz timebase. */
uint64_t csr_time_now(void);

#endif
