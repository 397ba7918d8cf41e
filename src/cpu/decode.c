/* Instruction decoder: 32-bit encodings of RV64IMAFD, Zicsr, Zifencei, Zba,
 * Zbb and Zbs into struct insn (unpriv spec chapters 2-13 and the bitmanip
 * spec v1.0).  Decoding happens once per instruction, when a block is built. */
#include "cpu/decode.h"
#include "cpu/csr.h"

#include <string.h>

/* Sign-extend the low n bits of v (shifting unsigned, so no UB). */
static int32_t sext(uint32_t v, int n)
{
	return (int32_t)(v << (32 - n)) >> (32 - n);
}

static int32_t imm_i(uint32_t r) { return (int32_t)r >> 20; }
static int32_t imm_s(uint32_t r) { return sext((r >> 25) << 5 | ((r >> 7) & 31), 12); }
static int32_t imm_u(uint32_t r) { return (int32_t)(r & 0xfffff000); }

static int32_t imm_b(uint32_t r)
{
	return sext((r >> 31) << 12 | ((r >> 7) & 1) << 11 | ((r >> 25) & 0x3f) << 5 |
		    ((r >> 8) & 0xf) << 1, 13);
}

static int32_t imm_j(uint32_t r)
{
	return sext((r >> 31) << 20 | ((r >> 12) & 0xff) << 12 | ((r >> 20) & 1) << 11 |
		    ((r >> 21) & 0x3ff) << 1, 21);
}

static int op_imm(uint32_t r)
{
	unsigned f3 = (r >> 12) & 7, top6 = r >> 26, imm12 = r >> 20;

	switch (f3) {
	case 0: return OP_ADDI;
	case 2: return OP_SLTI;
	case 3: return OP_SLTIU;
	case 4: return OP_XORI;
	case 6: return OP_ORI;
	case 7: return OP_ANDI;
	case 1:
		switch (top6) {
		case 0x00: return OP_SLLI;
		case 0x0a: return OP_BSETI;
		case 0x12: return OP_BCLRI;
		case 0x1a: return OP_BINVI;
		}
		switch (imm12) {
		case 0x600: return OP_CLZ;
		case 0x601: return OP_CTZ;
		case 0x602: return OP_CPOP;
		case 0x604: return OP_SEXT_B;
		case 0x605: return OP_SEXT_H;
		}
		return OP_ILLEGAL;
	default: /* 5 */
		switch (top6) {
		case 0x00: return OP_SRLI;
		case 0x10: return OP_SRAI;
		case 0x12: return OP_BEXTI;
		case 0x18: return OP_RORI;
		}
		if (imm12 == 0x287)
			return OP_ORC_B;
		if (imm12 == 0x6b8)
			return OP_REV8;
		return OP_ILLEGAL;
	}
}

static int op_imm32(uint32_t r)
{
	unsigned f3 = (r >> 12) & 7, f7 = r >> 25, imm12 = r >> 20;

	if (f3 == 0)
		return OP_ADDIW;
	if (f3 == 1) {
		if (f7 == 0)
			return OP_SLLIW;
		if ((r >> 26) == 0x02)
			return OP_SLLI_UW;
		if (imm12 == 0x600)
			return OP_CLZW;
		if (imm12 == 0x601)
			return OP_CTZW;
		if (imm12 == 0x602)
			return OP_CPOPW;
		return OP_ILLEGAL;
	}
	if (f3 == 5) {
		if (f7 == 0)
			return OP_SRLIW;
		if (f7 == 0x20)
			return OP_SRAIW;
		if (f7 == 0x30)
			return OP_RORIW;
	}
	return OP_ILLEGAL;
}

/* OP and OP-32 are keyed by (funct7, funct3). */
struct rtype { uint8_t f7, f3; uint16_t op; };

static const struct rtype op_table[] = {
	{ 0x00, 0, OP_ADD }, { 0x00, 1, OP_SLL }, { 0x00, 2, OP_SLT }, { 0x00, 3, OP_SLTU },
	{ 0x00, 4, OP_XOR }, { 0x00, 5, OP_SRL }, { 0x00, 6, OP_OR }, { 0x00, 7, OP_AND },
	{ 0x20, 0, OP_SUB }, { 0x20, 5, OP_SRA }, { 0x20, 4, OP_XNOR }, { 0x20, 6, OP_ORN },
	{ 0x20, 7, OP_ANDN },
	{ 0x01, 0, OP_MUL }, { 0x01, 1, OP_MULH }, { 0x01, 2, OP_MULHSU }, { 0x01, 3, OP_MULHU },
	{ 0x01, 4, OP_DIV }, { 0x01, 5, OP_DIVU }, { 0x01, 6, OP_REM }, { 0x01, 7, OP_REMU },
	{ 0x10, 2, OP_SH1ADD }, { 0x10, 4, OP_SH2ADD }, { 0x10, 6, OP_SH3ADD },
	{ 0x05, 4, OP_MIN }, { 0x05, 5, OP_MINU }, { 0x05, 6, OP_MAX }, { 0x05, 7, OP_MAXU },
	{ 0x30, 1, OP_ROL }, { 0x30, 5, OP_ROR },
	{ 0x24, 1, OP_BCLR }, { 0x24, 5, OP_BEXT }, { 0x34, 1, OP_BINV }, { 0x14, 1, OP_BSET },
};

static const struct rtype op32_table[] = {
	{ 0x00, 0, OP_ADDW }, { 0x00, 1, OP_SLLW }, { 0x00, 5, OP_SRLW },
	{ 0x20, 0, OP_SUBW }, { 0x20, 5, OP_SRAW },
	{ 0x01, 0, OP_MULW }, { 0x01, 4, OP_DIVW }, { 0x01, 5, OP_DIVUW }, { 0x01, 6, OP_REMW },
	{ 0x01, 7, OP_REMUW },
	{ 0x04, 0, OP_ADD_UW },
	{ 0x10, 2, OP_SH1ADD_UW }, { 0x10, 4, OP_SH2ADD_UW }, { 0x10, 6, OP_SH3ADD_UW },
	{ 0x30, 1, OP_ROLW }, { 0x30, 5, OP_RORW },
};

static int op_rtype(const struct rtype *t, size_t n, uint32_t r)
{
	unsigned f3 = (r >> 12) & 7, f7 = r >> 25;

	for (size_t i = 0; i < n; i++)
		if (t[i].f7 == f7 && t[i].f3 == f3)
			return t[i].op;
	return OP_ILLEGAL;
}

static int op_amo(uint32_t r)
{
	static const struct { uint8_t f5; uint16_t w; } amo[] = {
		{ 0x02, OP_LR_W }, { 0x03, OP_SC_W }, { 0x01, OP_AMOSWAP_W }, { 0x00, OP_AMOADD_W },
		{ 0x04, OP_AMOXOR_W }, { 0x0c, OP_AMOAND_W }, { 0x08, OP_AMOOR_W },
		{ 0x10, OP_AMOMIN_W }, { 0x14, OP_AMOMAX_W }, { 0x18, OP_AMOMINU_W },
		{ 0x1c, OP_AMOMAXU_W },
	};
	unsigned f3 = (r >> 12) & 7, f5 = r >> 27;

	if (f3 != 2 && f3 != 3)
		return OP_ILLEGAL;
	if (f5 == 0x02 && ((r >> 20) & 31))
		return OP_ILLEGAL; /* lr with rs2 != 0 is reserved */
	for (size_t i = 0; i < ARRAY_SIZE(amo); i++)
		if (amo[i].f5 == f5)
			/* The .d forms follow the .w forms in the same order. */
			return amo[i].w + (f3 == 3 ? OP_LR_D - OP_LR_W : 0);
	return OP_ILLEGAL;
}

/* Rounding-mode field values 5 and 6 are reserved (unpriv 11.2). */
static bool rm_valid(unsigned rm)
{
	return rm != 5 && rm != 6;
}

static int op_fp(uint32_t r)
{
	unsigned f7 = r >> 25, f3 = (r >> 12) & 7, rs2 = (r >> 20) & 31;
	bool d = f7 & 1;
	int with_rm = OP_ILLEGAL; /* an op with an rm field, checked below */

	switch (f7 & ~1u) {
	case 0x00: with_rm = d ? OP_FADD_D : OP_FADD_S; break;
	case 0x04: with_rm = d ? OP_FSUB_D : OP_FSUB_S; break;
	case 0x08: with_rm = d ? OP_FMUL_D : OP_FMUL_S; break;
	case 0x0c: with_rm = d ? OP_FDIV_D : OP_FDIV_S; break;
	case 0x2c:
		if (rs2 == 0)
			with_rm = d ? OP_FSQRT_D : OP_FSQRT_S;
		break;
	case 0x10:
		if (f3 <= 2)
			return (d ? OP_FSGNJ_D : OP_FSGNJ_S) + f3;
		return OP_ILLEGAL;
	case 0x14:
		if (f3 <= 1)
			return (d ? OP_FMIN_D : OP_FMIN_S) + f3;
		return OP_ILLEGAL;
	case 0x20:
		if (!d && rs2 == 1)
			with_rm = OP_FCVT_S_D;
		else if (d && rs2 == 0)
			with_rm = OP_FCVT_D_S;
		break;
	case 0x50:
		if (f3 == 0)
			return d ? OP_FLE_D : OP_FLE_S;
		if (f3 == 1)
			return d ? OP_FLT_D : OP_FLT_S;
		if (f3 == 2)
			return d ? OP_FEQ_D : OP_FEQ_S;
		return OP_ILLEGAL;
	case 0x60:
		if (rs2 <= 3)
			with_rm = (d ? OP_FCVT_W_D : OP_FCVT_W_S) + rs2;
		break;
	case 0x68:
		if (rs2 <= 3)
			with_rm = (d ? OP_FCVT_D_W : OP_FCVT_S_W) + rs2;
		break;
	case 0x70:
		if (rs2 == 0 && f3 == 0)
			return d ? OP_FMV_X_D : OP_FMV_X_W;
		if (rs2 == 0 && f3 == 1)
			return d ? OP_FCLASS_D : OP_FCLASS_S;
		return OP_ILLEGAL;
	case 0x78:
		if (rs2 == 0 && f3 == 0)
			return d ? OP_FMV_D_X : OP_FMV_W_X;
		return OP_ILLEGAL;
	}
	return rm_valid(f3) ? with_rm : OP_ILLEGAL;
}

static int op_fma(uint32_t r, int base_s, int base_d)
{
	unsigned fmt = (r >> 25) & 3;

	if (!rm_valid((r >> 12) & 7) || fmt > 1)
		return OP_ILLEGAL;
	return fmt ? base_d : base_s;
}

static int op_system(uint32_t r)
{
	unsigned f3 = (r >> 12) & 7;

	if (r == 0x00000073)
		return OP_ECALL;
	if (r == 0x00100073)
		return OP_EBREAK;
	if (r == 0x30200073)
		return OP_MRET;
	if (r == 0x10200073)
		return OP_SRET;
	if (r == 0x10500073)
		return OP_WFI;
	if ((r & 0xfe007fff) == 0x12000073)
		return OP_SFENCE_VMA;
	switch (f3) {
	case 1: return OP_CSRRW;
	case 2: return OP_CSRRS;
	case 3: return OP_CSRRC;
	case 5: return OP_CSRRWI;
	case 6: return OP_CSRRSI;
	case 7: return OP_CSRRCI;
	}
	return OP_ILLEGAL;
}

static int decode_op(uint32_t r)
{
	unsigned f3 = (r >> 12) & 7;

	if ((r & 3) != 3)
		return OP_ILLEGAL;
	switch (r & 0x7f) {
	case 0x37: return OP_LUI;
	case 0x17: return OP_AUIPC;
	case 0x6f: return OP_JAL;
	case 0x67: return f3 == 0 ? OP_JALR : OP_ILLEGAL;
	case 0x63: {
		static const int br[8] = { OP_BEQ, OP_BNE, OP_ILLEGAL, OP_ILLEGAL,
					   OP_BLT, OP_BGE, OP_BLTU, OP_BGEU };
		return br[f3];
	}
	case 0x03: {
		static const int ld[8] = { OP_LB, OP_LH, OP_LW, OP_LD,
					   OP_LBU, OP_LHU, OP_LWU, OP_ILLEGAL };
		return ld[f3];
	}
	case 0x23: {
		static const int st[8] = { OP_SB, OP_SH, OP_SW, OP_SD,
					   OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL };
		return st[f3];
	}
	case 0x13: return op_imm(r);
	case 0x1b: return op_imm32(r);
	case 0x33: return op_rtype(op_table, ARRAY_SIZE(op_table), r);
	case 0x3b: {
		if ((r >> 25) == 0x04 && f3 == 4 && ((r >> 20) & 31) == 0)
			return OP_ZEXT_H;
		return op_rtype(op32_table, ARRAY_SIZE(op32_table), r);
	}
	case 0x0f:
		if (f3 == 0)
			return OP_FENCE;
		return f3 == 1 ? OP_FENCE_I : OP_ILLEGAL;
	case 0x73: return op_system(r);
	case 0x2f: return op_amo(r);
	case 0x07: return f3 == 2 ? OP_FLW : f3 == 3 ? OP_FLD : OP_ILLEGAL;
	case 0x27: return f3 == 2 ? OP_FSW : f3 == 3 ? OP_FSD : OP_ILLEGAL;
	case 0x43: return op_fma(r, OP_FMADD_S, OP_FMADD_D);
	case 0x47: return op_fma(r, OP_FMSUB_S, OP_FMSUB_D);
	case 0x4b: return op_fma(r, OP_FNMSUB_S, OP_FNMSUB_D);
	case 0x4f: return op_fma(r, OP_FNMADD_S, OP_FNMADD_D);
	case 0x53: return op_fp(r);
	}
	return OP_ILLEGAL;
}

/* The immediate each format carries, made absolute where it is pc-relative. */
static int64_t decode_imm(int op, uint32_t r, gva_t pc)
{
	switch (op) {
	case OP_LUI: return imm_u(r);
	case OP_AUIPC: return (int64_t)(pc + (int64_t)imm_u(r));
	case OP_JAL: return (int64_t)(pc + (int64_t)imm_j(r));
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
		return (int64_t)(pc + (int64_t)imm_b(r));
	case OP_SB: case OP_SH: case OP_SW: case OP_SD: case OP_FSW: case OP_FSD:
		return imm_s(r);
	case OP_SLLI: case OP_SRLI: case OP_SRAI: case OP_RORI: case OP_SLLI_UW:
	case OP_BCLRI: case OP_BEXTI: case OP_BINVI: case OP_BSETI:
		return (r >> 20) & 63;
	case OP_SLLIW: case OP_SRLIW: case OP_SRAIW: case OP_RORIW:
		return (r >> 20) & 31;
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
	case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		return r >> 20; /* the CSR number; rs1 holds the uimm for the I forms */
	default:
		return imm_i(r);
	}
}

/* Floating-point operations whose rd names an f register. */
static bool writes_fp_reg(int op)
{
	if (op < OP_FLW || op > OP_FMV_D_X)
		return false;
	switch (op) {
	case OP_FCVT_W_S: case OP_FCVT_WU_S: case OP_FCVT_L_S: case OP_FCVT_LU_S:
	case OP_FMV_X_W: case OP_FEQ_S: case OP_FLT_S: case OP_FLE_S: case OP_FCLASS_S:
	case OP_FCVT_W_D: case OP_FCVT_WU_D: case OP_FCVT_L_D: case OP_FCVT_LU_D:
	case OP_FMV_X_D: case OP_FEQ_D: case OP_FLT_D: case OP_FLE_D: case OP_FCLASS_D:
		return false;
	default:
		return true;
	}
}

void insn_decode(struct insn *insn, uint32_t raw, gva_t pc)
{
	int op = decode_op(raw);
	unsigned rd = (raw >> 7) & 31;

	memset(insn, 0, sizeof(*insn));
	insn->raw = raw;
	insn->op = op;
	insn->len = 4;
	/* x0 is never written, so integer writes to it go to the sink; f0 is a real register. */
	insn->rd = rd || writes_fp_reg(op) ? rd : REG_SINK;
	insn->rs1 = (raw >> 15) & 31;
	insn->rs2 = (raw >> 20) & 31;
	insn->rs3 = raw >> 27;
	insn->rm = (raw >> 12) & 7;
	insn->imm = op == OP_ILLEGAL ? 0 : decode_imm(op, raw, pc);
}

bool insn_ends_block(const struct insn *insn)
{
	switch (insn->op) {
	case OP_JAL: case OP_JALR:
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
	case OP_ECALL: case OP_EBREAK: case OP_FENCE_I: case OP_ILLEGAL:
	case OP_MRET: case OP_SRET: case OP_WFI: case OP_SFENCE_VMA:
		return true;
	/* CSR writes may enable an interrupt or change translation; the FP
	 * ones cannot (a float loop saving and restoring fflags stays one block) */
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC: case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		return !csr_is_fp((unsigned)insn->imm);
	default:
		return false;
	}
}

static const char *const op_names[OP_COUNT] = {
#define CPU_OP_NAME(name) #name,
	CPU_OPS(CPU_OP_NAME)
#undef CPU_OP_NAME
};

const char *insn_name(const struct insn *insn)
{
	static __thread char buf[16];
	const char *s = insn->op < OP_COUNT ? op_names[insn->op] : "?";
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = s[i] == '_' ? '.' : (char)(s[i] | 0x20);
	buf[i] = 0;
	return buf;
}
