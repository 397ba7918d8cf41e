/* The A extension's memory operations, shared by the interpreter and
 * compiled code (amo.c). */
#ifndef CPU_AMO_H
#define CPU_AMO_H

#include "condo/cpu.h"
#include "cpu/decode.h"

/* Run the LR, SC or AMO ip at addr with rs2's value src: 0 with *rd the
 * value for rd, or -1 with the trap fields set (misaligned, or the guest's
 * page fault).  Survives another thread taking the page meanwhile. */
int cpu_amo(struct hart *h, const struct insn *ip, gva_t addr, uint64_t src, uint64_t *rd);

#endif
