/* Which guest operations the translator compiles and how (enum kind),
 * the x registers each reads and writes, and whether a block can be
 * compiled at all. */
#include "jit/translate.h"

/* CSRs whose value changes by themselves (the host clock, interrupt lines
 * raised by devices) stay with the interpreter: lockstep runs a block
 * twice and could not compare their reads, nor undo a write to mip. */
static bool csr_compiled(const struct insn *ip)
{
	return !csr_changes_by_itself((unsigned)ip->imm);
}

static enum kind tr_op_kind(int op)
{
	switch (op) {
	case OP_LUI: case OP_AUIPC:
		return K_U;
	case OP_JAL:
		return K_JAL;
	case OP_JALR:
		return K_JALR;
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
		return K_BR;
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
		return K_LOAD;
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
		return K_STORE;
	case OP_ADDI: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI:
	case OP_SLLI: case OP_SRLI: case OP_SRAI:
	case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
	case OP_SLLI_UW:
	case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: case OP_CPOP: case OP_CPOPW:
	case OP_SEXT_B: case OP_SEXT_H: case OP_ZEXT_H: case OP_RORI: case OP_RORIW:
	case OP_ORC_B: case OP_REV8:
	case OP_BCLRI: case OP_BEXTI: case OP_BINVI: case OP_BSETI:
		return K_RI;
	case OP_ADD: case OP_SUB: case OP_SLL: case OP_SLT: case OP_SLTU: case OP_XOR:
	case OP_SRL: case OP_SRA: case OP_OR: case OP_AND:
	case OP_ADDW: case OP_SUBW: case OP_SLLW: case OP_SRLW: case OP_SRAW:
	case OP_MUL: case OP_MULH: case OP_MULHSU: case OP_MULHU:
	case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
	case OP_MULW: case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
	case OP_ADD_UW: case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD:
	case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
	case OP_ANDN: case OP_ORN: case OP_XNOR: case OP_MAX: case OP_MAXU: case OP_MIN:
	case OP_MINU: case OP_ROL: case OP_ROLW: case OP_ROR: case OP_RORW:
	case OP_BCLR: case OP_BEXT: case OP_BINV: case OP_BSET:
		return K_RR;
	case OP_FENCE:
		return K_FENCE;
	case OP_FLW: case OP_FLD:
		return K_FLOAD;
	case OP_FSW: case OP_FSD:
		return K_FSTORE;
	default:
		break;
	}
	if (op >= OP_LR_W && op <= OP_AMOMAXU_D)
		return K_AMO;
	if (op < OP_COUNT && jit_fp_ops[op].fn) {
		switch (jit_fp_ops[op].kind) {
		case FPK_FF: return K_FF;
		case FPK_FX: return K_FX;
		case FPK_XF: return K_XF;
		}
	}
	return K_NONE;
}

enum kind tr_insn_kind(const struct insn *ip)
{
	enum kind k = tr_op_kind(ip->op);

	if (k == K_NONE && ip->op >= OP_CSRRW && ip->op <= OP_CSRRCI && csr_compiled(ip))
		return K_CSR;
	return k;
}

/* The x registers an instruction reads (up to two, -1 for none) and writes. */
void tr_x_regs(const struct insn *ip, int *r1, int *r2, int *w)
{
	*r1 = *r2 = *w = -1;
	switch (tr_insn_kind(ip)) {
	case K_RR: case K_AMO:
		*r1 = ip->rs1, *r2 = ip->rs2, *w = ip->rd;
		break;
	case K_RI: case K_LOAD: case K_JALR:
		*r1 = ip->rs1, *w = ip->rd;
		break;
	case K_U: case K_JAL: case K_FX:
		*w = ip->rd;
		break;
	case K_BR: case K_STORE:
		*r1 = ip->rs1, *r2 = ip->rs2;
		break;
	case K_FLOAD: case K_FSTORE: case K_XF:
		*r1 = ip->rs1;
		break;
	case K_CSR:
		if (ip->op == OP_CSRRW || ip->op == OP_CSRRS || ip->op == OP_CSRRC)
			*r1 = ip->rs1;
		*w = ip->rd;
		break;
	default:
		break;
	}
}

uint32_t jit_compiled_insns(const struct block *b)
{
	uint32_t n = b->n;

	/* an operation left to the interpreter ends its block: the rest is compiled */
	if (n && tr_insn_kind(&b->insns[n - 1]) == K_NONE)
		n--;
	for (uint32_t i = 0; i < n; i++)
		if (tr_insn_kind(&b->insns[i]) == K_NONE)
			return 0;
	return n;
}

bool jit_can_compile(const struct jit *jit, const struct block *b)
{
	uint32_t n = jit_compiled_insns(b);

	for (uint32_t i = 0; i < n; i++)
		if ((b->insns[i].op == OP_CPOP || b->insns[i].op == OP_CPOPW) && !jit->has_popcnt)
			return false;
	return n > 0;
}

bool jit_op_is_branch(int op)
{
	return tr_op_kind(op) == K_BR;
}
