/* Integer operations (RV64I, M, Zba, Zbb, Zbs) lowered to x86-64 ALU
 * instructions on cached registers. */
#include "jit/translate.h"

/* d = a op c for an x86 two-operand ALU op. */
/* rd = guest register g (mv, and add/or/xor with x0): a register move,
 * without giving x0 a host register. */
static void move(struct tr *t, int g)
{
	int a, d;

	if (g == 0) {
		d = reg_def(t, t->ip->rd);
		x86_alu_rr(E, ALU_XOR, false, d, d);
		return;
	}
	if (t->rs.host_of[g] < 0 && g != t->ip->rd) {
		/* not cached: load it straight into rd rather than evict a
		 * register for it (moves rotate many registers: sha256) */
		d = reg_def(t, t->ip->rd);
		x86_alu_rm(E, ALU_MOV, true, d, RBX, x_off(g));
		return;
	}
	a = reg_use(t, g);
	d = reg_def(t, t->ip->rd);
	if (d != a)
		x86_mov_rr(E, true, d, a);
}

static void alu_rr(struct tr *t, enum x86_alu op, bool commutative)
{
	const struct insn *ip = t->ip;
	int r1 = ip->rs1, r2 = ip->rs2;

	/* An operand that is not cached is used from memory (op r, [rbx +
	 * slot]) rather than given a register another value must leave; its
	 * slot is current, also when it is rd.  x0 is never in memory form. */
	if (commutative && t->rs.host_of[r1] < 0 && t->rs.host_of[r2] >= 0) {
		r1 = ip->rs2;
		r2 = ip->rs1;
	}
	if (t->rs.host_of[r2] < 0 && r2 != 0 && r2 != r1) {
		int a = reg_use(t, r1), d = reg_def(t, ip->rd);

		if (d != a)
			x86_mov_rr(E, true, d, a);
		x86_alu_rm(E, op, true, d, RBX, x_off(r2));
		return;
	}

	int a = reg_use(t, ip->rs1), c = reg_use(t, ip->rs2), d = reg_def(t, ip->rd);

	if (d == a) {
		x86_alu_rr(E, op, true, d, c);
	} else if (d == c && commutative) {
		x86_alu_rr(E, op, true, d, a);
	} else if (d == c) {
		x86_mov_rr(E, true, RAX, a);
		x86_alu_rr(E, op, true, RAX, c);
		x86_mov_rr(E, true, d, RAX);
	} else {
		x86_mov_rr(E, true, d, a);
		x86_alu_rr(E, op, true, d, c);
	}
}

/* d = a op imm */
static void alu_ri(struct tr *t, enum x86_alu_imm op)
{
	int a = reg_use(t, t->ip->rs1), d = reg_def(t, t->ip->rd);

	if (d != a)
		x86_mov_rr(E, true, d, a);
	x86_alu_ri(E, op, true, d, (int32_t)t->ip->imm);
}

static void set_cc_rr(struct tr *t, enum x86_cc cc)
{
	int a = reg_use(t, t->ip->rs1), c = reg_use(t, t->ip->rs2), d = reg_def(t, t->ip->rd);

	x86_alu_rr(E, ALU_XOR, false, RAX, RAX);
	x86_alu_rr(E, ALU_CMP, true, a, c);
	x86_setcc(E, cc, RAX);
	x86_mov_rr(E, true, d, RAX);
}

static void set_cc_ri(struct tr *t, enum x86_cc cc)
{
	int a = reg_use(t, t->ip->rs1), d = reg_def(t, t->ip->rd);

	x86_alu_rr(E, ALU_XOR, false, RAX, RAX);
	x86_alu_ri(E, AI_CMP, true, a, (int32_t)t->ip->imm);
	x86_setcc(E, cc, RAX);
	x86_mov_rr(E, true, d, RAX);
}

/* d = a shifted by c (64-bit: count mod 64; 32-bit: mod 32, then sign-extended) */
static void shift_rr(struct tr *t, enum x86_shift op, bool w)
{
	int a = reg_use(t, t->ip->rs1), c = reg_use(t, t->ip->rs2), d = reg_def(t, t->ip->rd);

	x86_mov_rr(E, false, RCX, c);
	if (w) {
		if (d != a)
			x86_mov_rr(E, true, d, a);
		x86_shift_cl(E, op, true, d);
	} else {
		x86_mov_rr(E, false, RAX, a);
		x86_shift_cl(E, op, false, RAX);
		x86_movsxd(E, d, RAX);
	}
}

static void shift_ri(struct tr *t, enum x86_shift op, bool w)
{
	int a = reg_use(t, t->ip->rs1), d = reg_def(t, t->ip->rd);
	uint8_t sh = (uint8_t)t->ip->imm;

	if (w) {
		if (d != a)
			x86_mov_rr(E, true, d, a);
		if (sh)
			x86_shift_ri(E, op, true, d, sh);
	} else {
		x86_mov_rr(E, false, RAX, a);
		if (sh)
			x86_shift_ri(E, op, false, RAX, sh);
		x86_movsxd(E, d, RAX);
	}
}

/* Division with the spec's results for a zero divisor and for overflow
 * (unpriv 7.2), which x86 would fault on.  w: 64-bit; rem: remainder. */
static void divide(struct tr *t, bool sign, bool rem, bool w)
{
	int a = reg_use(t, t->ip->rs1), c = reg_use(t, t->ip->rs2), d = reg_def(t, t->ip->rd);
	size_t zero, neg1 = 0, done1, done2 = 0;

	x86_mov_rr(E, w, RCX, c);
	x86_mov_rr(E, w, RAX, a);
	x86_alu_rr(E, ALU_TEST, w, RCX, RCX);
	zero = x86_jcc_fwd(E, CC_E);
	if (sign) {
		x86_alu_ri(E, AI_CMP, w, RCX, -1);
		neg1 = x86_jcc_fwd(E, CC_E);
		if (w)
			x86_cqo(E);
		else
			x86_cdq(E);
		x86_unary(E, UN_IDIV, w, RCX);
	} else {
		x86_alu_rr(E, ALU_XOR, false, RDX, RDX);
		x86_unary(E, UN_DIV, w, RCX);
	}
	done1 = x86_jmp_fwd(E);
	if (sign) {
		/* x / -1 = -x (the most negative value stays itself), x % -1 = 0 */
		x86_bind(E, neg1);
		if (rem)
			x86_alu_rr(E, ALU_XOR, false, RDX, RDX);
		else
			x86_unary(E, UN_NEG, w, RAX);
		done2 = x86_jmp_fwd(E);
	}
	/* x / 0 = all ones, x % 0 = x */
	x86_bind(E, zero);
	if (rem)
		x86_mov_rr(E, w, RDX, RAX);
	else
		x86_mov_ri(E, RAX, UINT64_MAX);
	x86_bind(E, done1);
	if (sign)
		x86_bind(E, done2);
	if (w)
		x86_mov_rr(E, true, d, rem ? RDX : RAX);
	else
		x86_movsxd(E, d, rem ? RDX : RAX);
}

/* rax = a, op with c, d = rax */
static void via_rax_rr(struct tr *t, enum x86_alu op, bool not_c)
{
	int a = reg_use(t, t->ip->rs1), c = reg_use(t, t->ip->rs2), d = reg_def(t, t->ip->rd);

	if (not_c) {
		x86_mov_rr(E, true, RAX, c);
		x86_unary(E, UN_NOT, true, RAX);
		x86_alu_rr(E, op, true, RAX, a);
	} else {
		x86_mov_rr(E, true, RAX, a);
		x86_alu_rr(E, op, true, RAX, c);
		x86_unary(E, UN_NOT, true, RAX); /* xnor */
	}
	x86_mov_rr(E, true, d, RAX);
}

static void minmax(struct tr *t, enum x86_cc cc)
{
	int a = reg_use(t, t->ip->rs1), c = reg_use(t, t->ip->rs2), d = reg_def(t, t->ip->rd);

	x86_mov_rr(E, true, RAX, a);
	x86_alu_rr(E, ALU_CMP, true, RAX, c);
	x86_cmov(E, cc, true, RAX, c);
	x86_mov_rr(E, true, d, RAX);
}

static void rotate_rr(struct tr *t, enum x86_shift op, bool w)
{
	shift_rr(t, op, w);
}

static void bit_rr(struct tr *t, enum x86_bt op)
{
	int a = reg_use(t, t->ip->rs1), c = reg_use(t, t->ip->rs2), d = reg_def(t, t->ip->rd);

	if (op == BT_BT) {
		x86_alu_rr(E, ALU_XOR, false, RAX, RAX);
		x86_bt_rr(E, BT_BT, a, c);
		x86_setcc(E, CC_B, RAX);
	} else {
		x86_mov_rr(E, true, RAX, a);
		x86_bt_rr(E, op, RAX, c);
	}
	x86_mov_rr(E, true, d, RAX);
}

static void bit_ri(struct tr *t, enum x86_bt op)
{
	int a = reg_use(t, t->ip->rs1), d = reg_def(t, t->ip->rd);
	uint8_t bit = (uint8_t)t->ip->imm;

	if (op == BT_BT) {
		x86_mov_rr(E, true, RAX, a);
		if (bit)
			x86_shift_ri(E, SH_SHR, true, RAX, bit);
		x86_alu_ri(E, AI_AND, false, RAX, 1);
		x86_mov_rr(E, true, d, RAX);
		return;
	}
	if (d != a)
		x86_mov_rr(E, true, d, a);
	x86_bt_ri(E, op, d, bit);
}

/* count leading/trailing zeros: bsr/bsf, with the zero case by cmov */
static void count_zeros(struct tr *t, bool leading, bool w)
{
	int a = reg_use(t, t->ip->rs1), d = reg_def(t, t->ip->rd);
	int bits = w ? 64 : 32;

	/* clz = (bsr ^ (bits-1)); for zero input use 2*bits-1, which gives bits */
	x86_mov_ri(E, RCX, (uint64_t)(leading ? 2 * bits - 1 : bits));
	if (leading)
		x86_bsr(E, w, RAX, a);
	else
		x86_bsf(E, w, RAX, a);
	x86_cmov(E, CC_E, w, RAX, RCX);
	if (leading)
		x86_alu_ri(E, AI_XOR, false, RAX, bits - 1);
	x86_mov_rr(E, true, d, RAX);
}

static void orc_b(struct tr *t)
{
	int a = reg_use(t, t->ip->rs1), d = reg_def(t, t->ip->rd);

	/* high bit of each byte of ((a & 7f..) + 7f..) | a is set iff the byte is nonzero */
	x86_mov_ri(E, RAX, 0x7f7f7f7f7f7f7f7full);
	x86_mov_rr(E, true, RCX, a);
	x86_alu_rr(E, ALU_AND, true, RCX, RAX);
	x86_alu_rr(E, ALU_ADD, true, RCX, RAX);
	x86_alu_rr(E, ALU_OR, true, RCX, a);
	x86_unary(E, UN_NOT, true, RAX); /* 80..80 */
	x86_alu_rr(E, ALU_AND, true, RCX, RAX);
	x86_shift_ri(E, SH_SHR, true, RCX, 7);
	x86_imul_rri(E, true, RCX, RCX, 0xff);
	x86_mov_rr(E, true, d, RCX);
}

void tr_ri(struct tr *t)
{
	const struct insn *ip = t->ip;
	int a, d;

	switch (ip->op) {
	case OP_ADDI:
		if (ip->rs1 == 0) {
			d = reg_def(t, ip->rd);
			x86_mov_ri(E, d, (uint64_t)ip->imm);
			break;
		}
		a = reg_use(t, ip->rs1);
		d = reg_def(t, ip->rd);
		if (d == a) {
			if (ip->imm)
				x86_alu_ri(E, AI_ADD, true, d, (int32_t)ip->imm);
		} else {
			x86_lea(E, true, d, a, NO_REG, 1, (int32_t)ip->imm);
		}
		break;
	case OP_SLTI: set_cc_ri(t, CC_L); break;
	case OP_SLTIU: set_cc_ri(t, CC_B); break;
	case OP_XORI: alu_ri(t, AI_XOR); break;
	case OP_ORI: alu_ri(t, AI_OR); break;
	case OP_ANDI: alu_ri(t, AI_AND); break;
	case OP_SLLI: shift_ri(t, SH_SHL, true); break;
	case OP_SRLI: shift_ri(t, SH_SHR, true); break;
	case OP_SRAI: shift_ri(t, SH_SAR, true); break;
	case OP_ADDIW:
		a = reg_use(t, ip->rs1);
		d = reg_def(t, ip->rd);
		if (ip->imm) {
			x86_lea(E, false, RAX, a, NO_REG, 1, (int32_t)ip->imm);
			x86_movsxd(E, d, RAX);
		} else {
			x86_movsxd(E, d, a); /* sext.w */
		}
		break;
	case OP_SLLIW: shift_ri(t, SH_SHL, false); break;
	case OP_SRLIW: shift_ri(t, SH_SHR, false); break;
	case OP_SRAIW: shift_ri(t, SH_SAR, false); break;
	case OP_RORI: shift_ri(t, SH_ROR, true); break;
	case OP_RORIW: shift_ri(t, SH_ROR, false); break;
	case OP_SLLI_UW:
		a = reg_use(t, ip->rs1);
		d = reg_def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		if (ip->imm)
			x86_shift_ri(E, SH_SHL, true, RAX, (uint8_t)ip->imm);
		x86_mov_rr(E, true, d, RAX);
		break;
	case OP_CLZ: count_zeros(t, true, true); break;
	case OP_CLZW: count_zeros(t, true, false); break;
	case OP_CTZ: count_zeros(t, false, true); break;
	case OP_CTZW: count_zeros(t, false, false); break;
	case OP_CPOP:
	case OP_CPOPW:
		a = reg_use(t, ip->rs1);
		d = reg_def(t, ip->rd);
		x86_popcnt(E, ip->op == OP_CPOP, d, a);
		break;
	case OP_SEXT_B:
	case OP_SEXT_H:
	case OP_ZEXT_H:
		a = reg_use(t, ip->rs1);
		d = reg_def(t, ip->rd);
		x86_extend_rr(E, ip->op == OP_SEXT_B ? 1 : 2, ip->op != OP_ZEXT_H, d, a);
		break;
	case OP_ORC_B: orc_b(t); break;
	case OP_REV8:
		a = reg_use(t, ip->rs1);
		d = reg_def(t, ip->rd);
		if (d != a)
			x86_mov_rr(E, true, d, a);
		x86_bswap(E, true, d);
		break;
	case OP_BCLRI: bit_ri(t, BT_BTR); break;
	case OP_BEXTI: bit_ri(t, BT_BT); break;
	case OP_BINVI: bit_ri(t, BT_BTC); break;
	case OP_BSETI: bit_ri(t, BT_BTS); break;
	}
	reg_written(t, ip->rd);
}

void tr_rr(struct tr *t)
{
	const struct insn *ip = t->ip;
	int a, c, d, sh;

	/* x0 as an operand of add, or, xor (either) or sub (the second):
	 * the other operand's value (C's mv is add rd, x0, rs) */
	if ((ip->op == OP_ADD || ip->op == OP_OR || ip->op == OP_XOR) &&
	    (ip->rs1 == 0 || ip->rs2 == 0)) {
		move(t, ip->rs1 ? ip->rs1 : ip->rs2);
		reg_written(t, ip->rd);
		return;
	}
	if (ip->op == OP_SUB && ip->rs2 == 0) {
		move(t, ip->rs1);
		reg_written(t, ip->rd);
		return;
	}
	switch (ip->op) {
	case OP_ADD: alu_rr(t, ALU_ADD, true); break;
	case OP_SUB: alu_rr(t, ALU_SUB, false); break;
	case OP_XOR: alu_rr(t, ALU_XOR, true); break;
	case OP_OR: alu_rr(t, ALU_OR, true); break;
	case OP_AND: alu_rr(t, ALU_AND, true); break;
	case OP_SLT: set_cc_rr(t, CC_L); break;
	case OP_SLTU: set_cc_rr(t, CC_B); break;
	case OP_SLL: shift_rr(t, SH_SHL, true); break;
	case OP_SRL: shift_rr(t, SH_SHR, true); break;
	case OP_SRA: shift_rr(t, SH_SAR, true); break;
	case OP_SLLW: shift_rr(t, SH_SHL, false); break;
	case OP_SRLW: shift_rr(t, SH_SHR, false); break;
	case OP_SRAW: shift_rr(t, SH_SAR, false); break;
	case OP_ADDW:
		a = reg_use(t, ip->rs1);
		c = reg_use(t, ip->rs2);
		d = reg_def(t, ip->rd);
		x86_lea(E, false, RAX, a, c, 1, 0);
		x86_movsxd(E, d, RAX);
		break;
	case OP_SUBW:
	case OP_MULW:
		a = reg_use(t, ip->rs1);
		c = reg_use(t, ip->rs2);
		d = reg_def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		if (ip->op == OP_SUBW)
			x86_alu_rr(E, ALU_SUB, false, RAX, c);
		else
			x86_imul_rr(E, false, RAX, c);
		x86_movsxd(E, d, RAX);
		break;
	case OP_MUL:
		a = reg_use(t, ip->rs1);
		c = reg_use(t, ip->rs2);
		d = reg_def(t, ip->rd);
		if (d == a) {
			x86_imul_rr(E, true, d, c);
		} else if (d == c) {
			x86_imul_rr(E, true, d, a);
		} else {
			x86_mov_rr(E, true, d, a);
			x86_imul_rr(E, true, d, c);
		}
		break;
	case OP_MULH:
	case OP_MULHU:
	case OP_MULHSU:
		a = reg_use(t, ip->rs1);
		c = reg_use(t, ip->rs2);
		d = reg_def(t, ip->rd);
		x86_mov_rr(E, true, RAX, a);
		x86_unary(E, ip->op == OP_MULH ? UN_IMUL : UN_MUL, true, c);
		if (ip->op == OP_MULHSU) {
			/* signed a * unsigned c: the unsigned product's high half
			 * minus c when a is negative */
			x86_mov_rr(E, true, RCX, a);
			x86_shift_ri(E, SH_SAR, true, RCX, 63);
			x86_alu_rr(E, ALU_AND, true, RCX, c);
			x86_alu_rr(E, ALU_SUB, true, RDX, RCX);
		}
		x86_mov_rr(E, true, d, RDX);
		break;
	case OP_DIV: divide(t, true, false, true); break;
	case OP_DIVU: divide(t, false, false, true); break;
	case OP_REM: divide(t, true, true, true); break;
	case OP_REMU: divide(t, false, true, true); break;
	case OP_DIVW: divide(t, true, false, false); break;
	case OP_DIVUW: divide(t, false, false, false); break;
	case OP_REMW: divide(t, true, true, false); break;
	case OP_REMUW: divide(t, false, true, false); break;
	case OP_ADD_UW:
		a = reg_use(t, ip->rs1);
		c = reg_use(t, ip->rs2);
		d = reg_def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		x86_alu_rr(E, ALU_ADD, true, RAX, c);
		x86_mov_rr(E, true, d, RAX);
		break;
	case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD:
		sh = ip->op - OP_SH1ADD + 1;
		a = reg_use(t, ip->rs1);
		c = reg_use(t, ip->rs2);
		d = reg_def(t, ip->rd);
		x86_lea(E, true, d, c, a, 1 << sh, 0);
		break;
	case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
		sh = ip->op - OP_SH1ADD_UW + 1;
		a = reg_use(t, ip->rs1);
		c = reg_use(t, ip->rs2);
		d = reg_def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		x86_lea(E, true, d, c, RAX, 1 << sh, 0);
		break;
	case OP_ANDN: via_rax_rr(t, ALU_AND, true); break;
	case OP_ORN: via_rax_rr(t, ALU_OR, true); break;
	case OP_XNOR: via_rax_rr(t, ALU_XOR, false); break;
	case OP_MAX: minmax(t, CC_L); break;
	case OP_MAXU: minmax(t, CC_B); break;
	case OP_MIN: minmax(t, CC_G); break;
	case OP_MINU: minmax(t, CC_A); break;
	case OP_ROL: rotate_rr(t, SH_ROL, true); break;
	case OP_ROR: rotate_rr(t, SH_ROR, true); break;
	case OP_ROLW: rotate_rr(t, SH_ROL, false); break;
	case OP_RORW: rotate_rr(t, SH_ROR, false); break;
	case OP_BCLR: bit_rr(t, BT_BTR); break;
	case OP_BEXT: bit_rr(t, BT_BT); break;
	case OP_BINV: bit_rr(t, BT_BTC); break;
	case OP_BSET: bit_rr(t, BT_BTS); break;
	}
	reg_written(t, ip->rd);
}
