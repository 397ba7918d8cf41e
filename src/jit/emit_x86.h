/* A small x86-64 instruction encoder: the handful of integer forms the
 * translator emits (Intel SDM vol. 2, chapter 2: REX, ModRM, SIB).  Code is
 * written through the code buffer's writable view; positions are offsets
 * into the buffer, so relative jumps are the same in the executable view. */
#ifndef JIT_EMIT_X86_H
#define JIT_EMIT_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum x86_reg {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
	NO_REG = -1,
};

/* Condition codes (the low nibble of Jcc/SETcc/CMOVcc). */
enum x86_cc {
	CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
	CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* Two-operand ALU instructions, by their "op r/m, r" opcode. */
enum x86_alu {
	ALU_ADD = 0x01, ALU_OR = 0x09, ALU_AND = 0x21, ALU_SUB = 0x29,
	ALU_XOR = 0x31, ALU_CMP = 0x39, ALU_TEST = 0x85, ALU_MOV = 0x89,
};

/* The /digit of the 0x81 immediate group. */
enum x86_alu_imm { AI_ADD = 0, AI_OR = 1, AI_AND = 4, AI_SUB = 5, AI_XOR = 6, AI_CMP = 7 };

/* The /digit of the shift group (C1, D3). */
enum x86_shift { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

/* The /digit of the F7 group. */
enum x86_unary { UN_NOT = 2, UN_NEG = 3, UN_MUL = 4, UN_IMUL = 5, UN_DIV = 6, UN_IDIV = 7 };

/* The /digit of the 0F BA group and the 0F opcodes of the register forms. */
enum x86_bt { BT_BT = 4, BT_BTS = 5, BT_BTR = 6, BT_BTC = 7 };

struct emit {
	uint8_t *buf; /* the writable view */
	size_t pos;   /* next byte */
	size_t cap;   /* bytes that may be written; beyond it pos counts on, nothing is stored */
};

static inline bool emit_overflowed(const struct emit *e)
{
	return e->pos > e->cap;
}

void emit_u8(struct emit *e, uint8_t v);
void emit_u32(struct emit *e, uint32_t v);
void emit_u64(struct emit *e, uint64_t v);

/* w: 64-bit operand size (REX.W) when true, else 32-bit (which zero-extends
 * the destination register). */
void x86_alu_rr(struct emit *e, enum x86_alu op, bool w, int dst, int src);
void x86_alu_ri(struct emit *e, enum x86_alu_imm op, bool w, int dst, int32_t imm);
/* op reg, [base + disp] (e.g. add r, m; cmp r, m; mov r, m) */
void x86_alu_rm(struct emit *e, enum x86_alu op, bool w, int reg, int base, int32_t disp);
/* op [base + disp], reg */
void x86_alu_mr(struct emit *e, enum x86_alu op, bool w, int base, int32_t disp, int reg);
/* op [base + disp], imm32 (sign-extended) */
void x86_alu_mi(struct emit *e, enum x86_alu_imm op, bool w, int base, int32_t disp, int32_t imm);
void x86_test_mi(struct emit *e, bool w, int base, int32_t disp, int32_t imm);

void x86_mov_rr(struct emit *e, bool w, int dst, int src);
/* The shortest mov of a 64-bit constant into reg. */
void x86_mov_ri(struct emit *e, int reg, uint64_t imm);
/* Loads of size 1, 2, 4 or 8 bytes from [base + index*scale + disp], zero- or
 * sign-extended to 64 bits; index NO_REG for none. */
void x86_load(struct emit *e, int size, bool sign, int dst, int base, int index, int scale,
	      int32_t disp);
void x86_store(struct emit *e, int size, int base, int32_t disp, int src);
/* A store to [base + index + disp]. */
void x86_store_idx(struct emit *e, int size, int base, int index, int32_t disp, int src);
void x86_lea(struct emit *e, bool w, int dst, int base, int index, int scale, int32_t disp);

void x86_shift_ri(struct emit *e, enum x86_shift op, bool w, int reg, uint8_t imm);
void x86_shift_cl(struct emit *e, enum x86_shift op, bool w, int reg);
void x86_unary(struct emit *e, enum x86_unary op, bool w, int reg);
void x86_imul_rr(struct emit *e, bool w, int dst, int src);
void x86_imul_rri(struct emit *e, bool w, int dst, int src, int32_t imm);
void x86_movsxd(struct emit *e, int dst, int src);
/* movsx/movzx from an 8- or 16-bit register */
void x86_extend_rr(struct emit *e, int size, bool sign, int dst, int src);
void x86_bsf(struct emit *e, bool w, int dst, int src);
void x86_bsr(struct emit *e, bool w, int dst, int src);
void x86_popcnt(struct emit *e, bool w, int dst, int src);
void x86_bswap(struct emit *e, bool w, int reg);
void x86_bt_rr(struct emit *e, enum x86_bt op, int reg, int bit);
void x86_bt_ri(struct emit *e, enum x86_bt op, int reg, uint8_t bit);
void x86_cmov(struct emit *e, enum x86_cc cc, bool w, int dst, int src);
void x86_setcc(struct emit *e, enum x86_cc cc, int reg8);
void x86_cqo(struct emit *e);
void x86_cdq(struct emit *e);
void x86_mfence(struct emit *e);
void x86_push(struct emit *e, int reg);
void x86_pop(struct emit *e, int reg);
void x86_ret(struct emit *e);
void x86_call_r(struct emit *e, int reg);
void x86_jmp_r(struct emit *e, int reg);
void x86_jmp_m(struct emit *e, int base, int32_t disp); /* jmp qword [base + disp] */

/* SSE scalar arithmetic, by the 0F opcode of its F2 (double) / F3 (single)
 * form. */
enum x86_sse { SSE_LOAD = 0x10, SSE_SQRT = 0x51, SSE_ADD = 0x58, SSE_MUL = 0x59, SSE_SUB = 0x5c,
	       SSE_DIV = 0x5e };
/* FMA3's 231 forms: dst = +-(src2 * m) +- dst, by opcode. */
enum x86_fma { FMA_MADD = 0xb9, FMA_MSUB = 0xbb, FMA_NMADD = 0xbd, FMA_NMSUB = 0xbf };

/* op xmm, [base + disp] (movsd/movss loads with SSE_LOAD) */
void x86_sse_rm(struct emit *e, enum x86_sse op, bool dbl, int xmm, int base, int32_t disp);
/* op dst, src (movsd/movss between registers with SSE_LOAD: the low lane) */
void x86_sse_rr(struct emit *e, enum x86_sse op, bool dbl, int dst, int src);
/* movapd dst, src: the whole register, so no dependency on dst's old
 * value (a scalar movsd between registers merges into it) */
void x86_movapd(struct emit *e, int dst, int src);
/* xorps dst, src (with dst == src: a zero idiom that breaks dependencies) */
void x86_xorps(struct emit *e, int dst, int src);
/* movsd/movss [base + disp], xmm */
void x86_sse_mr(struct emit *e, bool dbl, int base, int32_t disp, int xmm);
void x86_ucomis_rm(struct emit *e, bool dbl, int xmm, int base, int32_t disp);
void x86_ucomis_rr(struct emit *e, bool dbl, int a, int b);
/* movq xmm, gpr64 */
void x86_movq_to_xmm(struct emit *e, int xmm, int gpr);
/* movq gpr, xmm (w) or movd gpr32, xmm */
void x86_movq_from_xmm(struct emit *e, bool w, int gpr, int xmm);
/* cvtsi2sd xmm, gpr64 */
void x86_cvtsi2sd(struct emit *e, int xmm, int gpr);
void x86_vfma231_rm(struct emit *e, enum x86_fma op, bool dbl, int dst, int src2, int base,
		    int32_t disp);
void x86_vfma231_rr(struct emit *e, enum x86_fma op, bool dbl, int dst, int src2, int src3);

/* Jumps with a 32-bit displacement.  The forward forms return the offset of
 * the displacement for x86_patch_rel32; the _to forms jump to a known offset. */
size_t x86_jcc_fwd(struct emit *e, enum x86_cc cc);
size_t x86_jmp_fwd(struct emit *e);
void x86_jcc_to(struct emit *e, enum x86_cc cc, size_t target);
void x86_jmp_to(struct emit *e, size_t target);
/* Point the displacement at rel to target (both buffer offsets). */
void x86_patch_rel32(struct emit *e, size_t rel, size_t target);
/* Bind a forward jump to the current position. */
static inline void x86_bind(struct emit *e, size_t rel)
{
	x86_patch_rel32(e, rel, e->pos);
}

#endif
