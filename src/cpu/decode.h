/* Decoding RISC-V instructions into a form the interpreter (and later the
 * translator) runs without looking at instruction bits again. */
#ifndef CPU_DECODE_H
#define CPU_DECODE_H

#include "condo/types.h"
#include "cpu/ops.h"

/* Register index that absorbs writes to x0, so handlers need no rd != 0 test. */
#define REG_SINK 32

struct insn {
	const void *handler; /* filled by the block builder: where the interpreter jumps */
	int64_t imm;         /* immediate; absolute target/value for pc-relative forms */
	uint32_t raw;        /* the original encoding (expanded 32-bit form for RVC) */
	uint16_t op;         /* enum cpu_op */
	uint16_t off;        /* byte offset of this instruction from the block's pc */
	uint8_t rd, rs1, rs2, rs3;
	uint8_t len; /* 2 or 4 */
	uint8_t rm;  /* FP rounding-mode field (7 = dynamic) */
};

/* Expand a 16-bit compressed instruction to its 32-bit equivalent; returns 0
 * for reserved or illegal encodings. */
uint32_t rvc_expand(uint16_t c);

/* Decode one 32-bit instruction at pc.  pc-relative immediates (auipc, jal,
 * branches) are made absolute.  Unknown encodings decode as OP_ILLEGAL. */
void insn_decode(struct insn *insn, uint32_t raw, gva_t pc);

/* True when the instruction ends a decoded block (changes control flow,
 * traps, or needs the block cache to be re-checked afterwards). */
bool insn_ends_block(const struct insn *insn);

/* Name of an operation, lower case with dots ("fcvt.w.s"). */
const char *insn_name(const struct insn *insn);

#endif
