/* x86-64 encoder (Intel SDM vol. 2, 2.1-2.2: prefixes, REX, ModRM, SIB). */
#include "jit/emit_x86.h"

#include <string.h>

void emit_u8(struct emit *e, uint8_t v)
{
	if (e->pos < e->cap)
		e->buf[e->pos] = v;
	e->pos++;
}

void emit_u32(struct emit *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		emit_u8(e, (uint8_t)(v >> (8 * i)));
}

void emit_u64(struct emit *e, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		emit_u8(e, (uint8_t)(v >> (8 * i)));
}

static bool fits8(int64_t v)
{
	return v >= -128 && v <= 127;
}

/* The r/m operand: a register, or memory at [base + index*scale + disp]. */
struct rm {
	bool mem;
	int base, index, scale;
	int32_t disp;
};

static struct rm R(int reg)
{
	return (struct rm){ .mem = false, .base = reg, .index = NO_REG };
}

static struct rm M(int base, int index, int scale, int32_t disp)
{
	return (struct rm){.mem = true, .base = base, .index = index, .scale = scale, .disp = disp};
}

static int hi(int reg)
{
	return reg >= 0 ? (reg >> 3) & 1 : 0;
}

static void enc_modrm(struct emit *e, int reg, struct rm rm);

/* prefix (0 for none), REX, opcode bytes (1-2, big-endian in opc), ModRM, SIB
 * and displacement.  force_rex makes spl/bpl/sil/dil addressable as bytes. */
static void enc(struct emit *e, uint8_t prefix, bool w, bool force_rex, uint32_t opc, int reg,
		struct rm rm)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | hi(reg) << 2 | hi(rm.index) << 1 | hi(rm.base);

	if (prefix)
		emit_u8(e, prefix);
	if (rex != 0x40 || force_rex)
		emit_u8(e, rex);
	if (opc > 0xff)
		emit_u8(e, (uint8_t)(opc >> 8));
	emit_u8(e, (uint8_t)opc);
	enc_modrm(e, reg, rm);
}

static void enc_modrm(struct emit *e, int reg, struct rm rm)
{
	reg &= 7;
	if (!rm.mem) {
		emit_u8(e, (uint8_t)(0xc0 | reg << 3 | (rm.base & 7)));
		return;
	}
	int mod;
	if (rm.disp == 0 && (rm.base & 7) != RBP)
		mod = 0;
	else if (fits8(rm.disp))
		mod = 1;
	else
		mod = 2;
	if (rm.index == NO_REG && (rm.base & 7) != RSP) {
		emit_u8(e, (uint8_t)(mod << 6 | reg << 3 | (rm.base & 7)));
	} else {
		int ss = rm.scale == 8 ? 3 : rm.scale == 4 ? 2 : rm.scale == 2 ? 1 : 0;
		int index = rm.index == NO_REG ? RSP : rm.index; /* 100: no index */

		emit_u8(e, (uint8_t)(mod << 6 | reg << 3 | RSP));
		emit_u8(e, (uint8_t)(ss << 6 | (index & 7) << 3 | (rm.base & 7)));
	}
	if (mod == 1)
		emit_u8(e, (uint8_t)rm.disp);
	else if (mod == 2)
		emit_u32(e, (uint32_t)rm.disp);
}

void x86_alu_rr(struct emit *e, enum x86_alu op, bool w, int dst, int src)
{
	enc(e, 0, w, false, op, src, R(dst));
}

static void alu_imm(struct emit *e, enum x86_alu_imm op, bool w, struct rm rm, int32_t imm)
{
	if (fits8(imm)) {
		enc(e, 0, w, false, 0x83, op, rm);
		emit_u8(e, (uint8_t)imm);
	} else {
		enc(e, 0, w, false, 0x81, op, rm);
		emit_u32(e, (uint32_t)imm);
	}
}

void x86_alu_ri(struct emit *e, enum x86_alu_imm op, bool w, int dst, int32_t imm)
{
	alu_imm(e, op, w, R(dst), imm);
}

void x86_alu_rm(struct emit *e, enum x86_alu op, bool w, int reg, int base, int32_t disp)
{
	/* the "op r, r/m" form is the "op r/m, r" opcode + 2 (mov 89 -> 8b, ...) */
	enc(e, 0, w, false, op + 2, reg, M(base, NO_REG, 1, disp));
}

void x86_alu_mr(struct emit *e, enum x86_alu op, bool w, int base, int32_t disp, int reg)
{
	enc(e, 0, w, false, op, reg, M(base, NO_REG, 1, disp));
}

void x86_alu_mi(struct emit *e, enum x86_alu_imm op, bool w, int base, int32_t disp, int32_t imm)
{
	alu_imm(e, op, w, M(base, NO_REG, 1, disp), imm);
}

void x86_test_mi(struct emit *e, bool w, int base, int32_t disp, int32_t imm)
{
	enc(e, 0, w, false, 0xf7, 0, M(base, NO_REG, 1, disp));
	emit_u32(e, (uint32_t)imm);
}

void x86_mov_rr(struct emit *e, bool w, int dst, int src)
{
	enc(e, 0, w, false, 0x89, src, R(dst));
}

void x86_mov_ri(struct emit *e, int reg, uint64_t imm)
{
	if (imm == 0) {
		x86_alu_rr(e, ALU_XOR, false, reg, reg);
	} else if (imm <= UINT32_MAX) {
		/* mov r32, imm32 zero-extends */
		if (reg & 8)
			emit_u8(e, 0x41);
		emit_u8(e, (uint8_t)(0xb8 + (reg & 7)));
		emit_u32(e, (uint32_t)imm);
	} else if ((int64_t)imm >= INT32_MIN && (int64_t)imm <= INT32_MAX) {
		/* mov r/m64, imm32 sign-extends */
		enc(e, 0, true, false, 0xc7, 0, R(reg));
		emit_u32(e, (uint32_t)imm);
	} else {
		emit_u8(e, (uint8_t)(0x48 | hi(reg)));
		emit_u8(e, (uint8_t)(0xb8 + (reg & 7)));
		emit_u64(e, imm);
	}
}

void x86_load(struct emit *e, int size, bool sign, int dst, int base, int index, int scale,
	      int32_t disp)
{
	struct rm m = M(base, index, scale, disp);

	switch (size) {
	case 1:
		enc(e, 0, sign, false, sign ? 0x0fbe : 0x0fb6, dst, m);
		break;
	case 2:
		enc(e, 0, sign, false, sign ? 0x0fbf : 0x0fb7, dst, m);
		break;
	case 4:
		if (sign)
			enc(e, 0, true, false, 0x63, dst, m); /* movsxd */
		else
			enc(e, 0, false, false, 0x8b, dst, m);
		break;
	default:
		enc(e, 0, true, false, 0x8b, dst, m);
		break;
	}
}

void x86_store(struct emit *e, int size, int base, int32_t disp, int src)
{
	x86_store_idx(e, size, base, NO_REG, disp, src);
}

void x86_store_idx(struct emit *e, int size, int base, int index, int32_t disp, int src)
{
	struct rm m = M(base, index, 1, disp);

	switch (size) {
	case 1:
		enc(e, 0, false, src >= RSP && src <= RDI, 0x88, src, m);
		break;
	case 2:
		enc(e, 0x66, false, false, 0x89, src, m);
		break;
	case 4:
		enc(e, 0, false, false, 0x89, src, m);
		break;
	default:
		enc(e, 0, true, false, 0x89, src, m);
		break;
	}
}

void x86_lea(struct emit *e, bool w, int dst, int base, int index, int scale, int32_t disp)
{
	enc(e, 0, w, false, 0x8d, dst, M(base, index, scale, disp));
}

void x86_shift_ri(struct emit *e, enum x86_shift op, bool w, int reg, uint8_t imm)
{
	if (imm == 1) {
		enc(e, 0, w, false, 0xd1, op, R(reg));
		return;
	}
	enc(e, 0, w, false, 0xc1, op, R(reg));
	emit_u8(e, imm);
}

void x86_shift_cl(struct emit *e, enum x86_shift op, bool w, int reg)
{
	enc(e, 0, w, false, 0xd3, op, R(reg));
}

void x86_unary(struct emit *e, enum x86_unary op, bool w, int reg)
{
	enc(e, 0, w, false, 0xf7, op, R(reg));
}

void x86_imul_rr(struct emit *e, bool w, int dst, int src)
{
	enc(e, 0, w, false, 0x0faf, dst, R(src));
}

void x86_imul_rri(struct emit *e, bool w, int dst, int src, int32_t imm)
{
	if (fits8(imm)) {
		enc(e, 0, w, false, 0x6b, dst, R(src));
		emit_u8(e, (uint8_t)imm);
	} else {
		enc(e, 0, w, false, 0x69, dst, R(src));
		emit_u32(e, (uint32_t)imm);
	}
}

void x86_movsxd(struct emit *e, int dst, int src)
{
	enc(e, 0, true, false, 0x63, dst, R(src));
}

void x86_extend_rr(struct emit *e, int size, bool sign, int dst, int src)
{
	uint32_t opc = size == 1 ? (sign ? 0x0fbe : 0x0fb6) : (sign ? 0x0fbf : 0x0fb7);

	/* 64-bit destination for sign extension; movzx to r32 clears the top */
	enc(e, 0, sign, size == 1 && src >= RSP && src <= RDI, opc, dst, R(src));
}

void x86_bsf(struct emit *e, bool w, int dst, int src)
{
	enc(e, 0, w, false, 0x0fbc, dst, R(src));
}

void x86_bsr(struct emit *e, bool w, int dst, int src)
{
	enc(e, 0, w, false, 0x0fbd, dst, R(src));
}

void x86_popcnt(struct emit *e, bool w, int dst, int src)
{
	enc(e, 0xf3, w, false, 0x0fb8, dst, R(src));
}

void x86_bswap(struct emit *e, bool w, int reg)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | hi(reg);

	if (rex != 0x40)
		emit_u8(e, rex);
	emit_u8(e, 0x0f);
	emit_u8(e, (uint8_t)(0xc8 + (reg & 7)));
}

void x86_bt_rr(struct emit *e, enum x86_bt op, int reg, int bit)
{
	static const uint32_t opc[8] = { [BT_BT] = 0x0fa3, [BT_BTS] = 0x0fab, [BT_BTR] = 0x0fb3,
					 [BT_BTC] = 0x0fbb };

	enc(e, 0, true, false, opc[op], bit, R(reg));
}

void x86_bt_ri(struct emit *e, enum x86_bt op, int reg, uint8_t bit)
{
	enc(e, 0, true, false, 0x0fba, op, R(reg));
	emit_u8(e, bit);
}

void x86_cmov(struct emit *e, enum x86_cc cc, bool w, int dst, int src)
{
	enc(e, 0, w, false, 0x0f40 + cc, dst, R(src));
}

void x86_setcc(struct emit *e, enum x86_cc cc, int reg8)
{
	enc(e, 0, false, reg8 >= RSP && reg8 <= RDI, 0x0f90 + cc, 0, R(reg8));
}

void x86_cqo(struct emit *e)
{
	emit_u8(e, 0x48);
	emit_u8(e, 0x99);
}

void x86_cdq(struct emit *e)
{
	emit_u8(e, 0x99);
}

void x86_mfence(struct emit *e)
{
	emit_u8(e, 0x0f);
	emit_u8(e, 0xae);
	emit_u8(e, 0xf0);
}

void x86_push(struct emit *e, int reg)
{
	if (reg & 8)
		emit_u8(e, 0x41);
	emit_u8(e, (uint8_t)(0x50 + (reg & 7)));
}

void x86_pop(struct emit *e, int reg)
{
	if (reg & 8)
		emit_u8(e, 0x41);
	emit_u8(e, (uint8_t)(0x58 + (reg & 7)));
}

void x86_ret(struct emit *e)
{
	emit_u8(e, 0xc3);
}

void x86_call_r(struct emit *e, int reg)
{
	enc(e, 0, false, false, 0xff, 2, R(reg));
}

void x86_jmp_r(struct emit *e, int reg)
{
	enc(e, 0, false, false, 0xff, 4, R(reg));
}

void x86_jmp_m(struct emit *e, int base, int32_t disp)
{
	enc(e, 0, false, false, 0xff, 4, M(base, NO_REG, 1, disp));
}

size_t x86_jcc_fwd(struct emit *e, enum x86_cc cc)
{
	emit_u8(e, 0x0f);
	emit_u8(e, (uint8_t)(0x80 + cc));
	emit_u32(e, 0);
	return e->pos - 4;
}

size_t x86_jmp_fwd(struct emit *e)
{
	emit_u8(e, 0xe9);
	emit_u32(e, 0);
	return e->pos - 4;
}

void x86_patch_rel32(struct emit *e, size_t rel, size_t target)
{
	int32_t d = (int32_t)((int64_t)target - (int64_t)(rel + 4));

	if (rel + 4 <= e->cap)
		memcpy(e->buf + rel, &d, 4);
}

void x86_jcc_to(struct emit *e, enum x86_cc cc, size_t target)
{
	x86_patch_rel32(e, x86_jcc_fwd(e, cc), target);
}

void x86_jmp_to(struct emit *e, size_t target)
{
	x86_patch_rel32(e, x86_jmp_fwd(e), target);
}

/* ---- SSE scalar forms (SDM vol. 2: MOVSD/MOVSS, ADDSD, UCOMISD, ...) ----
 * F2 selects the double form, F3 the single one; 66 the packed-integer
 * moves and ucomisd. */
static void sse_op(struct emit *e, enum x86_sse op, bool dbl, int xmm, struct rm rm)
{
	enc(e, dbl ? 0xf2 : 0xf3, false, false, 0x0f00 | op, xmm, rm);
}

void x86_sse_rm(struct emit *e, enum x86_sse op, bool dbl, int xmm, int base, int32_t disp)
{
	sse_op(e, op, dbl, xmm, M(base, NO_REG, 1, disp));
}

void x86_sse_rr(struct emit *e, enum x86_sse op, bool dbl, int dst, int src)
{
	sse_op(e, op, dbl, dst, R(src));
}

void x86_movapd(struct emit *e, int dst, int src)
{
	enc(e, 0x66, false, false, 0x0f28, dst, R(src));
}

void x86_xorps(struct emit *e, int dst, int src)
{
	enc(e, 0, false, false, 0x0f57, dst, R(src));
}

void x86_sse_mr(struct emit *e, bool dbl, int base, int32_t disp, int xmm)
{
	enc(e, dbl ? 0xf2 : 0xf3, false, false, 0x0f11, xmm, M(base, NO_REG, 1, disp));
}

void x86_ucomis_rm(struct emit *e, bool dbl, int xmm, int base, int32_t disp)
{
	enc(e, dbl ? 0x66 : 0, false, false, 0x0f2e, xmm, M(base, NO_REG, 1, disp));
}

void x86_ucomis_rr(struct emit *e, bool dbl, int a, int b)
{
	enc(e, dbl ? 0x66 : 0, false, false, 0x0f2e, a, R(b));
}

void x86_movq_from_xmm(struct emit *e, bool w, int gpr, int xmm)
{
	enc(e, 0x66, w, false, 0x0f7e, xmm, R(gpr));
}

void x86_movq_to_xmm(struct emit *e, int xmm, int gpr)
{
	enc(e, 0x66, true, false, 0x0f6e, xmm, R(gpr));
}

void x86_cvtsi2sd(struct emit *e, int xmm, int gpr)
{
	enc(e, 0xf2, true, false, 0x0f2a, xmm, R(gpr));
}

/* VEX.LIG.66.0F38.W1 (double) / W0 (single): the three-byte VEX prefix
 * (SDM vol. 2, 2.3.5) with R, X, B and vvvv inverted. */
static void vfma231(struct emit *e, enum x86_fma op, bool dbl, int dst, int src2, struct rm rm)
{
	emit_u8(e, 0xc4);
	emit_u8(e, (uint8_t)((!hi(dst)) << 7 | 1 << 6 | (!hi(rm.base)) << 5 | 0x02));
	emit_u8(e, (uint8_t)((dbl ? 0x80 : 0) | (~src2 & 15) << 3 | 0x01));
	emit_u8(e, (uint8_t)op);
	enc_modrm(e, dst, rm);
}

void x86_vfma231_rm(struct emit *e, enum x86_fma op, bool dbl, int dst, int src2, int base,
		    int32_t disp)
{
	vfma231(e, op, dbl, dst, src2, M(base, NO_REG, 1, disp));
}

void x86_vfma231_rr(struct emit *e, enum x86_fma op, bool dbl, int dst, int src2, int src3)
{
	vfma231(e, op, dbl, dst, src2, R(src3));
}
