/* Differential fuzzing of the translator against the interpreter: random
 * blocks of valid encodings of every operation the translator compiles,
 * from random register, FP and memory state, run interpreted (the
 * reference) and compiled (with a cold and then a warm TLB); all state must
 * agree: x and f registers, pc, instret, fflags, the reservation, traps and
 * guest memory.
 *
 *   JIT_FUZZ_CASES=N  cases (default 20000)      JIT_FUZZ_SEED=S  first seed
 *   JIT_FUZZ_STATS=1  a line per case: length, trapped, where, cause, partial
 * A failure prints the seed of its case and its instructions;
 * JIT_FUZZ_SEED=S JIT_FUZZ_CASES=1 reruns just that case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <inttypes.h>

#include "test_jit_common.h"

/* ---- the random source (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* ---- encodings ---- */

enum fmt {
	F_R,     /* rd rs1 rs2 */
	F_I,     /* rd rs1 imm12 */
	F_SH6,   /* rd rs1 shamt[5:0] */
	F_SH5,   /* rd rs1 shamt[4:0] */
	F_UN,    /* rd rs1 (the rest fixed) */
	F_S,     /* rs1 rs2 imm12 */
	F_B,     /* rs1 rs2 branch offset */
	F_U,     /* rd imm20 */
	F_J,     /* rd jump offset */
	F_AMO,   /* rd rs1 rs2 aq rl */
	F_LR,    /* rd rs1 aq rl */
	F_FR,    /* rd rs1 rs2 rm */
	F_FR4,   /* rd rs1 rs2 rs3 rm */
	F_F1,    /* rd rs1 rm (rs2 fixed) */
	F_FNORM, /* rd rs1 rs2, funct3 fixed (no rounding mode) */
	F_F1N,   /* rd rs1, funct3 and rs2 fixed */
	F_FENCE,
};

struct enc {
	uint16_t op;
	uint8_t fmt;
	uint32_t match;
};

#define OPC(o, f3, f7) ((uint32_t)(o) | (uint32_t)(f3) << 12 | (uint32_t)(f7) << 25)
#define IMM12(o, f3, imm) ((uint32_t)(o) | (uint32_t)(f3) << 12 | (uint32_t)(imm) << 20)
#define AMO(f5, w) ((uint32_t)0x2f | (uint32_t)((w) ? 2 : 3) << 12 | (uint32_t)(f5) << 27)
#define FP(f7, f3, rs2)                                                                            \
	((uint32_t)0x53 | (uint32_t)(f3) << 12 | (uint32_t)(rs2) << 20 | (uint32_t)(f7) << 25)

/* clang-format off */
static const struct enc encs[] = {
	{ OP_LUI, F_U, 0x37 }, { OP_AUIPC, F_U, 0x17 },
	{ OP_LB, F_I, OPC(0x03, 0, 0) }, { OP_LH, F_I, OPC(0x03, 1, 0) },
	{ OP_LW, F_I, OPC(0x03, 2, 0) }, { OP_LD, F_I, OPC(0x03, 3, 0) },
	{ OP_LBU, F_I, OPC(0x03, 4, 0) }, { OP_LHU, F_I, OPC(0x03, 5, 0) },
	{ OP_LWU, F_I, OPC(0x03, 6, 0) },
	{ OP_SB, F_S, OPC(0x23, 0, 0) }, { OP_SH, F_S, OPC(0x23, 1, 0) },
	{ OP_SW, F_S, OPC(0x23, 2, 0) }, { OP_SD, F_S, OPC(0x23, 3, 0) },
	{ OP_ADDI, F_I, OPC(0x13, 0, 0) }, { OP_SLTI, F_I, OPC(0x13, 2, 0) },
	{ OP_SLTIU, F_I, OPC(0x13, 3, 0) }, { OP_XORI, F_I, OPC(0x13, 4, 0) },
	{ OP_ORI, F_I, OPC(0x13, 6, 0) }, { OP_ANDI, F_I, OPC(0x13, 7, 0) },
	{ OP_SLLI, F_SH6, OPC(0x13, 1, 0) }, { OP_SRLI, F_SH6, OPC(0x13, 5, 0) },
	{ OP_SRAI, F_SH6, OPC(0x13, 5, 0x20) },
	{ OP_ADD, F_R, OPC(0x33, 0, 0) }, { OP_SUB, F_R, OPC(0x33, 0, 0x20) },
	{ OP_SLL, F_R, OPC(0x33, 1, 0) }, { OP_SLT, F_R, OPC(0x33, 2, 0) },
	{ OP_SLTU, F_R, OPC(0x33, 3, 0) }, { OP_XOR, F_R, OPC(0x33, 4, 0) },
	{ OP_SRL, F_R, OPC(0x33, 5, 0) }, { OP_SRA, F_R, OPC(0x33, 5, 0x20) },
	{ OP_OR, F_R, OPC(0x33, 6, 0) }, { OP_AND, F_R, OPC(0x33, 7, 0) },
	{ OP_ADDIW, F_I, OPC(0x1b, 0, 0) }, { OP_SLLIW, F_SH5, OPC(0x1b, 1, 0) },
	{ OP_SRLIW, F_SH5, OPC(0x1b, 5, 0) }, { OP_SRAIW, F_SH5, OPC(0x1b, 5, 0x20) },
	{ OP_ADDW, F_R, OPC(0x3b, 0, 0) }, { OP_SUBW, F_R, OPC(0x3b, 0, 0x20) },
	{ OP_SLLW, F_R, OPC(0x3b, 1, 0) }, { OP_SRLW, F_R, OPC(0x3b, 5, 0) },
	{ OP_SRAW, F_R, OPC(0x3b, 5, 0x20) },
	{ OP_FENCE, F_FENCE, 0x0ff0000f },
	{ OP_MUL, F_R, OPC(0x33, 0, 1) }, { OP_MULH, F_R, OPC(0x33, 1, 1) },
	{ OP_MULHSU, F_R, OPC(0x33, 2, 1) }, { OP_MULHU, F_R, OPC(0x33, 3, 1) },
	{ OP_DIV, F_R, OPC(0x33, 4, 1) }, { OP_DIVU, F_R, OPC(0x33, 5, 1) },
	{ OP_REM, F_R, OPC(0x33, 6, 1) }, { OP_REMU, F_R, OPC(0x33, 7, 1) },
	{ OP_MULW, F_R, OPC(0x3b, 0, 1) }, { OP_DIVW, F_R, OPC(0x3b, 4, 1) },
	{ OP_DIVUW, F_R, OPC(0x3b, 5, 1) }, { OP_REMW, F_R, OPC(0x3b, 6, 1) },
	{ OP_REMUW, F_R, OPC(0x3b, 7, 1) },
	{ OP_LR_W, F_LR, AMO(0x02, 1) }, { OP_SC_W, F_AMO, AMO(0x03, 1) },
	{ OP_AMOSWAP_W, F_AMO, AMO(0x01, 1) }, { OP_AMOADD_W, F_AMO, AMO(0x00, 1) },
	{ OP_AMOXOR_W, F_AMO, AMO(0x04, 1) }, { OP_AMOAND_W, F_AMO, AMO(0x0c, 1) },
	{ OP_AMOOR_W, F_AMO, AMO(0x08, 1) }, { OP_AMOMIN_W, F_AMO, AMO(0x10, 1) },
	{ OP_AMOMAX_W, F_AMO, AMO(0x14, 1) }, { OP_AMOMINU_W, F_AMO, AMO(0x18, 1) },
	{ OP_AMOMAXU_W, F_AMO, AMO(0x1c, 1) },
	{ OP_LR_D, F_LR, AMO(0x02, 0) }, { OP_SC_D, F_AMO, AMO(0x03, 0) },
	{ OP_AMOSWAP_D, F_AMO, AMO(0x01, 0) }, { OP_AMOADD_D, F_AMO, AMO(0x00, 0) },
	{ OP_AMOXOR_D, F_AMO, AMO(0x04, 0) }, { OP_AMOAND_D, F_AMO, AMO(0x0c, 0) },
	{ OP_AMOOR_D, F_AMO, AMO(0x08, 0) }, { OP_AMOMIN_D, F_AMO, AMO(0x10, 0) },
	{ OP_AMOMAX_D, F_AMO, AMO(0x14, 0) }, { OP_AMOMINU_D, F_AMO, AMO(0x18, 0) },
	{ OP_AMOMAXU_D, F_AMO, AMO(0x1c, 0) },
	{ OP_FLW, F_I, OPC(0x07, 2, 0) }, { OP_FLD, F_I, OPC(0x07, 3, 0) },
	{ OP_FSW, F_S, OPC(0x27, 2, 0) }, { OP_FSD, F_S, OPC(0x27, 3, 0) },
	{ OP_FMADD_S, F_FR4, 0x43 }, { OP_FMSUB_S, F_FR4, 0x47 },
	{ OP_FNMSUB_S, F_FR4, 0x4b }, { OP_FNMADD_S, F_FR4, 0x4f },
	{ OP_FMADD_D, F_FR4, 0x43 | 1u << 25 }, { OP_FMSUB_D, F_FR4, 0x47 | 1u << 25 },
	{ OP_FNMSUB_D, F_FR4, 0x4b | 1u << 25 }, { OP_FNMADD_D, F_FR4, 0x4f | 1u << 25 },
	{ OP_FADD_S, F_FR, FP(0x00, 0, 0) }, { OP_FSUB_S, F_FR, FP(0x04, 0, 0) },
	{ OP_FMUL_S, F_FR, FP(0x08, 0, 0) }, { OP_FDIV_S, F_FR, FP(0x0c, 0, 0) },
	{ OP_FSQRT_S, F_F1, FP(0x2c, 0, 0) },
	{ OP_FSGNJ_S, F_FNORM, FP(0x10, 0, 0) }, { OP_FSGNJN_S, F_FNORM, FP(0x10, 1, 0) },
	{ OP_FSGNJX_S, F_FNORM, FP(0x10, 2, 0) },
	{ OP_FMIN_S, F_FNORM, FP(0x14, 0, 0) }, { OP_FMAX_S, F_FNORM, FP(0x14, 1, 0) },
	{ OP_FCVT_W_S, F_F1, FP(0x60, 0, 0) }, { OP_FCVT_WU_S, F_F1, FP(0x60, 0, 1) },
	{ OP_FCVT_L_S, F_F1, FP(0x60, 0, 2) }, { OP_FCVT_LU_S, F_F1, FP(0x60, 0, 3) },
	{ OP_FMV_X_W, F_F1N, FP(0x70, 0, 0) },
	{ OP_FEQ_S, F_FNORM, FP(0x50, 2, 0) }, { OP_FLT_S, F_FNORM, FP(0x50, 1, 0) },
	{ OP_FLE_S, F_FNORM, FP(0x50, 0, 0) }, { OP_FCLASS_S, F_F1N, FP(0x70, 1, 0) },
	{ OP_FCVT_S_W, F_F1, FP(0x68, 0, 0) }, { OP_FCVT_S_WU, F_F1, FP(0x68, 0, 1) },
	{ OP_FCVT_S_L, F_F1, FP(0x68, 0, 2) }, { OP_FCVT_S_LU, F_F1, FP(0x68, 0, 3) },
	{ OP_FMV_W_X, F_F1N, FP(0x78, 0, 0) },
	{ OP_FADD_D, F_FR, FP(0x01, 0, 0) }, { OP_FSUB_D, F_FR, FP(0x05, 0, 0) },
	{ OP_FMUL_D, F_FR, FP(0x09, 0, 0) }, { OP_FDIV_D, F_FR, FP(0x0d, 0, 0) },
	{ OP_FSQRT_D, F_F1, FP(0x2d, 0, 0) },
	{ OP_FSGNJ_D, F_FNORM, FP(0x11, 0, 0) }, { OP_FSGNJN_D, F_FNORM, FP(0x11, 1, 0) },
	{ OP_FSGNJX_D, F_FNORM, FP(0x11, 2, 0) },
	{ OP_FMIN_D, F_FNORM, FP(0x15, 0, 0) }, { OP_FMAX_D, F_FNORM, FP(0x15, 1, 0) },
	{ OP_FCVT_S_D, F_F1, FP(0x20, 0, 1) }, { OP_FCVT_D_S, F_F1, FP(0x21, 0, 0) },
	{ OP_FCVT_W_D, F_F1, FP(0x61, 0, 0) }, { OP_FCVT_WU_D, F_F1, FP(0x61, 0, 1) },
	{ OP_FCVT_L_D, F_F1, FP(0x61, 0, 2) }, { OP_FCVT_LU_D, F_F1, FP(0x61, 0, 3) },
	{ OP_FMV_X_D, F_F1N, FP(0x71, 0, 0) },
	{ OP_FEQ_D, F_FNORM, FP(0x51, 2, 0) }, { OP_FLT_D, F_FNORM, FP(0x51, 1, 0) },
	{ OP_FLE_D, F_FNORM, FP(0x51, 0, 0) }, { OP_FCLASS_D, F_F1N, FP(0x71, 1, 0) },
	{ OP_FCVT_D_W, F_F1, FP(0x69, 0, 0) }, { OP_FCVT_D_WU, F_F1, FP(0x69, 0, 1) },
	{ OP_FCVT_D_L, F_F1, FP(0x69, 0, 2) }, { OP_FCVT_D_LU, F_F1, FP(0x69, 0, 3) },
	{ OP_FMV_D_X, F_F1N, FP(0x79, 0, 0) },
	{ OP_ADD_UW, F_R, OPC(0x3b, 0, 0x04) },
	{ OP_SH1ADD, F_R, OPC(0x33, 2, 0x10) }, { OP_SH2ADD, F_R, OPC(0x33, 4, 0x10) },
	{ OP_SH3ADD, F_R, OPC(0x33, 6, 0x10) },
	{ OP_SH1ADD_UW, F_R, OPC(0x3b, 2, 0x10) }, { OP_SH2ADD_UW, F_R, OPC(0x3b, 4, 0x10) },
	{ OP_SH3ADD_UW, F_R, OPC(0x3b, 6, 0x10) },
	{ OP_SLLI_UW, F_SH6, OPC(0x1b, 1, 0x04) },
	{ OP_ANDN, F_R, OPC(0x33, 7, 0x20) }, { OP_ORN, F_R, OPC(0x33, 6, 0x20) },
	{ OP_XNOR, F_R, OPC(0x33, 4, 0x20) },
	{ OP_CLZ, F_UN, IMM12(0x13, 1, 0x600) }, { OP_CTZ, F_UN, IMM12(0x13, 1, 0x601) },
	{ OP_CPOP, F_UN, IMM12(0x13, 1, 0x602) },
	{ OP_CLZW, F_UN, IMM12(0x1b, 1, 0x600) }, { OP_CTZW, F_UN, IMM12(0x1b, 1, 0x601) },
	{ OP_CPOPW, F_UN, IMM12(0x1b, 1, 0x602) },
	{ OP_MAX, F_R, OPC(0x33, 6, 0x05) }, { OP_MAXU, F_R, OPC(0x33, 7, 0x05) },
	{ OP_MIN, F_R, OPC(0x33, 4, 0x05) }, { OP_MINU, F_R, OPC(0x33, 5, 0x05) },
	{ OP_SEXT_B, F_UN, IMM12(0x13, 1, 0x604) }, { OP_SEXT_H, F_UN, IMM12(0x13, 1, 0x605) },
	{ OP_ZEXT_H, F_UN, OPC(0x3b, 4, 0x04) },
	{ OP_ROL, F_R, OPC(0x33, 1, 0x30) }, { OP_ROR, F_R, OPC(0x33, 5, 0x30) },
	{ OP_ROLW, F_R, OPC(0x3b, 1, 0x30) }, { OP_RORW, F_R, OPC(0x3b, 5, 0x30) },
	{ OP_RORI, F_SH6, OPC(0x13, 5, 0x30) }, { OP_RORIW, F_SH5, OPC(0x1b, 5, 0x30) },
	{ OP_ORC_B, F_UN, IMM12(0x13, 5, 0x287) }, { OP_REV8, F_UN, IMM12(0x13, 5, 0x6b8) },
	{ OP_BCLR, F_R, OPC(0x33, 1, 0x24) }, { OP_BEXT, F_R, OPC(0x33, 5, 0x24) },
	{ OP_BINV, F_R, OPC(0x33, 1, 0x34) }, { OP_BSET, F_R, OPC(0x33, 1, 0x14) },
	{ OP_BCLRI, F_SH6, OPC(0x13, 1, 0x24) }, { OP_BEXTI, F_SH6, OPC(0x13, 5, 0x24) },
	{ OP_BINVI, F_SH6, OPC(0x13, 1, 0x34) }, { OP_BSETI, F_SH6, OPC(0x13, 1, 0x14) },
};

static const struct enc terminators[] = {
	{ OP_BEQ, F_B, OPC(0x63, 0, 0) }, { OP_BNE, F_B, OPC(0x63, 1, 0) },
	{ OP_BLT, F_B, OPC(0x63, 4, 0) }, { OP_BGE, F_B, OPC(0x63, 5, 0) },
	{ OP_BLTU, F_B, OPC(0x63, 6, 0) }, { OP_BGEU, F_B, OPC(0x63, 7, 0) },
	{ OP_JAL, F_J, 0x6f }, { OP_JALR, F_I, OPC(0x67, 0, 0) },
};
/* clang-format on */

/* Registers: a few hold pointers into guest memory, which memory operations
 * use as their base most of the time. */
static const int pointer_regs[] = { 2, 8, 9 };

static int rand_reg(void)
{
	switch (below(8)) {
	case 0: return 0;
	case 1: case 2: return (int)below(32);
	default: return 10 + (int)below(6); /* a0-a5: dependencies between instructions */
	}
}

static int rand_dest(void)
{
	int r = rand_reg();

	/* keep the pointers mostly intact */
	if ((r == 2 || r == 8 || r == 9) && below(16))
		r = 10 + (int)below(6);
	return r;
}

static int mem_base_reg(void)
{
	return below(16) ? pointer_regs[below(3)] : rand_reg();
}

static uint32_t rm_field(void)
{
	static const uint32_t rms[] = { 0, 1, 2, 3, 4, 7, 7, 7 };
	return rms[below(8)];
}

static int32_t mem_imm(void)
{
	return below(8) ? (int32_t)below(64) - 32 : (int32_t)below(4096) - 2048;
}

static bool fp_writes_x(int op)
{
	switch (op) {
	case OP_FCVT_W_S: case OP_FCVT_WU_S: case OP_FCVT_L_S: case OP_FCVT_LU_S:
	case OP_FMV_X_W: case OP_FEQ_S: case OP_FLT_S: case OP_FLE_S: case OP_FCLASS_S:
	case OP_FCVT_W_D: case OP_FCVT_WU_D: case OP_FCVT_L_D: case OP_FCVT_LU_D:
	case OP_FMV_X_D: case OP_FEQ_D: case OP_FLT_D: case OP_FLE_D: case OP_FCLASS_D:
		return true;
	}
	return false;
}

static bool fp_reads_x(int op)
{
	switch (op) {
	case OP_FCVT_S_W: case OP_FCVT_S_WU: case OP_FCVT_S_L: case OP_FCVT_S_LU:
	case OP_FCVT_D_W: case OP_FCVT_D_WU: case OP_FCVT_D_L: case OP_FCVT_D_LU:
	case OP_FMV_W_X: case OP_FMV_D_X:
		return true;
	}
	return false;
}

static uint32_t encode(const struct enc *e)
{
	uint32_t r = e->match, rd = (uint32_t)rand_dest(), rs1 = (uint32_t)rand_reg(),
		 rs2 = (uint32_t)rand_reg();
	bool fp = e->op >= OP_FLW && e->op <= OP_FMV_D_X;
	int32_t imm;

	switch (e->fmt) {
	case F_I: case F_S: case F_AMO: case F_LR:
		if (e->op != OP_JALR && !(e->op >= OP_ADDI && e->op <= OP_SRAIW))
			rs1 = (uint32_t)mem_base_reg();
		break;
	}
	if (fp) {
		if (!fp_writes_x(e->op))
			rd = below(32);
		if (!fp_reads_x(e->op) && e->fmt != F_I && e->fmt != F_S)
			rs1 = below(32);
		rs2 = below(32);
	}
	switch (e->fmt) {
	case F_R: case F_FNORM:
		return r | rd << 7 | rs1 << 15 | rs2 << 20;
	case F_I:
		imm =
		    e->op >= OP_ADDI && e->op <= OP_SRAIW ? (int32_t)below(4096) - 2048 : mem_imm();
		return r | rd << 7 | rs1 << 15 | ((uint32_t)imm & 0xfff) << 20;
	case F_SH6:
		return r | rd << 7 | rs1 << 15 | below(64) << 20;
	case F_SH5:
		return r | rd << 7 | rs1 << 15 | below(32) << 20;
	case F_UN:
		return r | rd << 7 | rs1 << 15;
	case F_S:
		imm = mem_imm();
		return r | ((uint32_t)imm & 0x1f) << 7 | rs1 << 15 | rs2 << 20 |
		       ((uint32_t)imm >> 5 & 0x7f) << 25;
	case F_U:
		return r | rd << 7 | (uint32_t)rnd() << 12;
	case F_B:
		imm = 2 * ((int32_t)below(4096) - 2048);
		return r | ((uint32_t)imm >> 11 & 1) << 7 | ((uint32_t)imm >> 1 & 0xf) << 8 |
		       rs1 << 15 | rs2 << 20 | ((uint32_t)imm >> 5 & 0x3f) << 25 |
		       ((uint32_t)imm >> 12 & 1) << 31;
	case F_J:
		imm = 2 * ((int32_t)below(1 << 20) - (1 << 19));
		return r | rd << 7 | ((uint32_t)imm >> 12 & 0xff) << 12 |
		       ((uint32_t)imm >> 11 & 1) << 20 | ((uint32_t)imm >> 1 & 0x3ff) << 21 |
		       ((uint32_t)imm >> 20 & 1) << 31;
	case F_AMO:
		return r | rd << 7 | rs1 << 15 | rs2 << 20 | below(4) << 25;
	case F_LR:
		return r | rd << 7 | rs1 << 15 | below(4) << 25;
	case F_FR:
		return r | rd << 7 | rs1 << 15 | rs2 << 20 | rm_field() << 12;
	case F_FR4:
		return r | rd << 7 | rs1 << 15 | rs2 << 20 | below(32) << 27 | rm_field() << 12;
	case F_F1:
		return r | rd << 7 | rs1 << 15 | rm_field() << 12;
	case F_F1N:
		return r | rd << 7 | rs1 << 15;
	case F_FENCE:
		return r;
	}
	return r;
}

/* A compressed instruction the translator compiles, or 0. */
static uint32_t rand_rvc(void)
{
	for (int tries = 0; tries < 20; tries++) {
		uint16_t c = (uint16_t)rnd();
		uint32_t full;
		struct insn insn;

		if ((c & 3) == 3)
			continue;
		full = rvc_expand(c);
		if (!full)
			continue;
		insn_decode(&insn, full, CODE);
		switch (insn.op) {
		case OP_ILLEGAL: case OP_EBREAK: case OP_JAL: case OP_JALR:
		case OP_BEQ: case OP_BNE:
			continue;
		}
		return c;
	}
	return 0;
}

/* ---- one case ---- */

#define MAX_BODY 24

struct state {
	uint64_t x[32], f[32], pc, instret, cause, tval, resv_addr, resv_value;
	uint32_t fflags, frm;
	bool resv_valid;
};

static void get_state(const struct hart *h, struct state *s)
{
	memcpy(s->x, h->x, sizeof(s->x));
	memcpy(s->f, h->f, sizeof(s->f));
	s->pc = h->pc;
	s->instret = h->instret;
	s->cause = h->trap_cause;
	s->tval = h->trap_tval;
	s->fflags = h->fflags;
	s->frm = h->frm;
	s->resv_valid = h->resv_valid;
	s->resv_addr = h->resv_valid ? h->resv_addr : 0;
	s->resv_value = h->resv_valid ? h->resv_value : 0;
}

static void put_state(struct hart *h, const struct state *s, uint64_t mstatus)
{
	memcpy(h->x, s->x, sizeof(s->x));
	memcpy(h->f, s->f, sizeof(s->f));
	h->pc = s->pc;
	h->instret = s->instret;
	h->trap_cause = s->cause;
	h->trap_tval = s->tval;
	h->fflags = s->fflags;
	h->frm = s->frm;
	h->resv_valid = s->resv_valid;
	h->resv_addr = s->resv_addr;
	h->resv_value = s->resv_value;
	h->csr.mstatus = mstatus;
}

static uint64_t rand_x(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 0xffffffffffffffffull, 0x8000000000000000ull, 0x7fffffffffffffffull,
		0x80000000ull, 0x7fffffffull, 0xffffffff80000000ull, 0xffffffffull, 63, 64, 31, 32,
	};

	switch (below(4)) {
	case 0: return edges[below(ARRAY_SIZE(edges))];
	case 1: return (uint64_t)(int64_t)(int8_t)rnd();
	default: return rnd();
	}
}

static uint64_t rand_ptr(void)
{
	uint32_t k = below(40);

	if (k < 3)
		return DATA + 0x1000 * below(14) + 0xff8 + below(8); /* near a page end */
	if (k < 5) /* crossing into the read-only page or out of memory */
		return (below(2) ? RO_PAGE : MEM_BASE + MEM_SIZE) - 8 + below(8);
	if (k < 6)
		return RO_PAGE + below(0x1000); /* read-only page */
	if (k < 7)
		return rnd() & ~7ull; /* almost surely unmapped */
	return DATA + below(MEM_SIZE - 0x2000) / 8 * 8 + (below(8) ? 0 : below(8));
}

static uint64_t rand_f(void)
{
	static const uint64_t edges[] = {
		0xffffffff7fc00000ull, 0xffffffff7f800000ull, 0xffffffffff800000ull,
		0xffffffff00000000ull, 0xffffffff80000000ull, 0xffffffff7f800001ull,
		0xffffffff00000001ull, 0x7ff8000000000000ull, 0x7ff0000000000000ull,
		0xfff0000000000000ull, 0x0000000000000001ull, 0x7ff0000000000001ull,
		0x8000000000000000ull, 0x3ff0000000000000ull, 0x0000000000000000ull,
	};

	switch (below(5)) {
	case 0: return edges[below(ARRAY_SIZE(edges))];
	case 1: return 0xffffffff00000000ull | (uint32_t)rnd(); /* a boxed single */
	case 2:
		return 0xffffffff00000000ull |
		       (0x3f800000u + (uint32_t)(rnd() % 0x1000000) - 0x800000u);
	case 3: return 0x3ff0000000000000ull + (rnd() >> 12) - (1ull << 51);
	default: return rnd();
	}
}

static uint8_t init_mem[MEM_SIZE] __attribute__((aligned(4096)));
static uint8_t ref_mem[MEM_SIZE];

static void print_block(const struct block *b, uint64_t seed)
{
	fprintf(stderr, "case seed %" PRIu64 " (JIT_FUZZ_SEED=%" PRIu64 " JIT_FUZZ_CASES=1):\n",
		seed, seed);
	for (uint32_t i = 0; i < b->n; i++)
		fprintf(stderr,
			"  %2u  0x%05" PRIx64
			"  %08x  %-10s rd=%u rs1=%u rs2=%u rs3=%u rm=%u imm=%" PRId64 "\n",
			i, b->pc + b->insns[i].off, b->insns[i].raw, insn_name(&b->insns[i]),
			b->insns[i].rd, b->insns[i].rs1, b->insns[i].rs2, b->insns[i].rs3,
			b->insns[i].rm, b->insns[i].imm);
}

static int compare(const struct state *r, const struct state *j, bool rtrap, bool jtrap,
		   const char *run)
{
	int bad = 0;

#define DIFF(cond, ...)                                                                            \
	do {                                                                                       \
		if (cond) {                                                                        \
			fprintf(stderr, "  %s: ", run);                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			bad++;                                                                     \
		}                                                                                  \
	} while (0)
	DIFF(rtrap != jtrap, "trapped: interpreter %d, compiled %d\n", rtrap, jtrap);
	DIFF(r->pc != j->pc, "pc 0x%" PRIx64 " / 0x%" PRIx64 "\n", r->pc, j->pc);
	DIFF(r->instret != j->instret, "instret %" PRIu64 " / %" PRIu64 "\n", r->instret,
	     j->instret);
	if (rtrap && jtrap)
		DIFF(r->cause != j->cause || r->tval != j->tval,
		     "trap cause %" PRIu64 " tval 0x%" PRIx64 " / cause %" PRIu64 " tval 0x%" PRIx64
		     "\n",
		     r->cause, r->tval, j->cause, j->tval);
	for (int i = 1; i < 32; i++)
		DIFF(r->x[i] != j->x[i], "x%d 0x%016" PRIx64 " / 0x%016" PRIx64 "\n", i, r->x[i],
		     j->x[i]);
	for (int i = 0; i < 32; i++)
		DIFF(r->f[i] != j->f[i], "f%d 0x%016" PRIx64 " / 0x%016" PRIx64 "\n", i, r->f[i],
		     j->f[i]);
	DIFF(r->fflags != j->fflags, "fflags %#x / %#x\n", r->fflags, j->fflags);
	DIFF(r->resv_valid != j->resv_valid || r->resv_addr != j->resv_addr ||
	     r->resv_value != j->resv_value, "reservation differs\n");
	for (size_t off = 0; off < MEM_SIZE; off++)
		if (ref_mem[off] != mem[off]) {
			DIFF(1, "memory 0x%zx: %02x / %02x\n", MEM_BASE + off, ref_mem[off],
			     mem[off]);
			break;
		}
#undef DIFF
	return bad;
}

/* Generate and check one case; returns the number of differences. */
static int one_case(struct hart *hi, struct hart *hj, struct jit *jit, uint64_t seed)
{
	uint32_t code[MAX_BODY + 1], n = 1 + below(MAX_BODY);
	struct state start, ref, got;
	uint64_t mstatus = below(16) ? MSTATUS_FS : 0;
	bool rtrap, jtrap;
	struct block *b;
	uint32_t compiled;
	int bad = 0;

	rng_state = seed;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = below(10) ? 0 : rand_rvc();
		const struct enc *e = &encs[below(ARRAY_SIZE(encs))];

		if (e->fmt == F_AMO || e->fmt == F_LR) /* fewer: they often trap */
			e = &encs[below(ARRAY_SIZE(encs))];
		code[i] = c ? c : encode(e);
		if (!below(24)) /* fflags, frm, fcsr: inline, not the end of the block */
			code[i] = (1 + below(3)) << 20 | (uint32_t)rand_reg() << 15 |
				  (1 + below(3) + 4 * below(2)) << 12 | (uint32_t)rand_reg() << 7 | 0x73;
	}
	switch (below(10)) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6:
		code[n++] = encode(&terminators[below(ARRAY_SIZE(terminators))]);
		break;
	case 7: /* left to the interpreter: the rest is compiled (JIT_EXIT_PARTIAL) */
		code[n++] = below(2) ? 0x00000073 /* ecall */ : 0xc0102573 /* rdtime a0 */;
		break;
	case 8: { /* a compiled CSR instruction: the FP CSRs, counters (instret must be
		   * exact), a read-only one written and an unknown one (illegal) */
		static const uint32_t csrs[] = { 0x001, 0x002, 0x003, 0xc00, 0xc02, 0x7c0 };
		static const uint32_t f3[] = { 1, 2, 3, 5, 6, 7 };

		code[n++] = csrs[below(ARRAY_SIZE(csrs))] << 20 | (uint32_t)rand_reg() << 15 |
			    f3[below(ARRAY_SIZE(f3))] << 12 | (uint32_t)rand_reg() << 7 | 0x73;
		break;
	}
	}
	memset(mem, 0, 0x1000);
	b = make_block(code, n);
	for (uint32_t i = 0; i + 1 < n; i++)
		if (b->insns[i].op == OP_ILLEGAL || insn_ends_block(&b->insns[i]))
			fail_msg("generator made %08x (op %s) at %u", code[i],
				 insn_name(&b->insns[i]), i);
	/* the instructions compiled code runs: all, or all but an ecall/rdtime */
	compiled = b->insns[n - 1].op == OP_ECALL || code[n - 1] == 0xc0102573 ? n - 1 : n;

	memset(&start, 0, sizeof(start));
	for (int i = 1; i < 32; i++)
		start.x[i] = rand_x();
	for (size_t i = 0; i < ARRAY_SIZE(pointer_regs); i++)
		start.x[pointer_regs[i]] = rand_ptr();
	for (int i = 0; i < 32; i++)
		start.f[i] = rand_f();
	start.pc = CODE;
	start.instret = rnd() >> 20;
	start.fflags = below(32);
	start.frm = below(8) ? below(5) : below(8);
	if (below(2)) {
		start.resv_valid = true;
		start.resv_addr = below(2) ? start.x[pointer_regs[below(3)]] : rand_ptr();
		start.resv_value = below(2) ? rand_x() : 0;
	}
	for (size_t off = 0x1000; off < MEM_SIZE; off += 8) {
		uint64_t v = below(4) ? rnd() : rand_x();
		memcpy(init_mem + off, &v, 8);
	}
	if (start.resv_valid && start.resv_addr - MEM_BASE < MEM_SIZE - 8 && below(2))
		memcpy(&start.resv_value, init_mem + (start.resv_addr - MEM_BASE), 8);
	memcpy(init_mem, mem, 0x1000);

	/* the reference */
	memcpy(mem, init_mem, MEM_SIZE);
	put_state(hi, &start, mstatus);
	rtrap = run_interp(hi, compiled);
	get_state(hi, &ref);
	memcpy(ref_mem, mem, MEM_SIZE);

	/* compiled, twice: the first run fills the TLB the second one hits */
	jit_flush(jit);
	b->jit_entry = jit_compile(jit, hj, b);
	if (!b->jit_entry) {
		print_block(b, seed);
		fail_msg("block not compiled");
	}
	cpu_tlb_flush(hj);
	for (int run = 0; run < 2; run++) {
		int r;

		memcpy(mem, init_mem, MEM_SIZE);
		put_state(hj, &start, mstatus);
		r = run_jit(jit, hj, b, compiled);
		jtrap = r == JIT_EXIT_TRAP;
		get_state(hj, &got);
		if (!jtrap && !rtrap) {
			/* the exit says whether the last instruction transferred control */
			const struct insn *last = &b->insns[b->n - 1];
			uint64_t fall = CODE + b->bytes;
			int want = r;

			if (compiled < b->n)
				want = JIT_EXIT_PARTIAL;
			else if (last->op == OP_JAL || last->op == OP_JALR)
				want = JIT_EXIT_TAKEN;
			else if (!insn_ends_block(last))
				want = JIT_EXIT_FALLTHROUGH;
			else if ((uint64_t)last->imm != fall)
				want = got.pc == fall ? JIT_EXIT_FALLTHROUGH : JIT_EXIT_TAKEN;
			if (r != want) {
				fprintf(stderr, "  exit %d, want %d\n", r, want);
				bad++;
			}
		}
		bad += compare(&ref, &got, rtrap, jtrap, run ? "warm TLB" : "cold TLB");
	}
	if (bad)
		print_block(b, seed);
	if (getenv("JIT_FUZZ_STATS"))
		fprintf(stderr, "STAT n=%u trap=%d at=%" PRIu64 " cause=%" PRIu64 " partial=%d\n",
			b->n, rtrap, ref.instret - start.instret, ref.cause, compiled < b->n);
	free(b);
	return bad;
}

static void test_compiled_blocks_agree_with_the_interpreter(void **state)
{
	const char *s = getenv("JIT_FUZZ_CASES"), *seed_env = getenv("JIT_FUZZ_SEED");
	uint64_t cases = s ? strtoull(s, NULL, 0) : 20000;
	uint64_t seed0 = seed_env ? strtoull(seed_env, NULL, 0) : 1;
	struct hart *hi = hart_new(&flat_env, NULL), *hj = hart_new(&flat_env, NULL);
	struct jit *jit;
	uint64_t failed = 0;

	assert_non_null(hi);
	assert_non_null(hj);
	/* the compiled hart's code flushes reach its translator */
	assert_int_equal(engine_setup_hart(hj, ENGINE_JIT, 1u << 20, 0), 0);
	jit = engine_jit(hj);
	assert_non_null(jit);
	/* flat_fill puts every page at mem + (page - MEM_BASE), as app mode
	 * puts them at its reservation: compiled accesses take the flat path */
	hj->flat_addend = (uintptr_t)mem - MEM_BASE;
	for (uint64_t i = 0; i < cases && failed < 5; i++)
		if (one_case(hi, hj, jit, seed0 + i))
			failed++;
	hart_free(hi);
	hart_free(hj);
	if (failed)
		fail_msg("%" PRIu64 " cases differ (seeds above)", failed);
}

/* The encoder table above is checked against the decoder, so a case can
 * never silently test the wrong operation. */
static void test_generator_encodings_decode_as_intended(void **state)
{
	rng_state = 7;
	for (size_t i = 0; i < ARRAY_SIZE(encs); i++)
		for (int k = 0; k < 50; k++) {
			struct insn insn;
			uint32_t raw = encode(&encs[i]);

			insn_decode(&insn, raw, CODE);
			if (insn.op != encs[i].op)
				fail_msg("entry %zu: %08x decodes as %s", i, raw, insn_name(&insn));
		}
	for (size_t i = 0; i < ARRAY_SIZE(terminators); i++) {
		struct insn insn;
		uint32_t raw = encode(&terminators[i]);

		insn_decode(&insn, raw, CODE);
		assert_int_equal(insn.op, terminators[i].op);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generator_encodings_decode_as_intended),
		cmocka_unit_test(test_compiled_blocks_agree_with_the_interpreter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
