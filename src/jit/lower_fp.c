/* F and D operations inline in SSE, with the C helper (helpers.c) as the
 * slow path in a stub.
 *
 * Compiled code runs in the psABI's default MXCSR (round to nearest even,
 * exceptions masked, no FTZ/DAZ: the thread's state between calls, see
 * src/cpu/fpu.c), so an SSE instruction gives the RISC-V result whenever
 * the rounding mode is RNE and the result is not a NaN (x86 keeps NaN
 * payloads; RISC-V makes them canonical, unpriv 11.3).  What inline code
 * cannot see cheaply is the flags, so the fast path is taken only where
 * they follow from the result, as tier 1 of fpu.c has it:
 *
 *  - NX is already set in fflags (a float program sets it with its first
 *    inexact operation and keeps it; the usual save/restore of fflags
 *    around a comparison restores it), so inexactness adds nothing;
 *  - the result is finite, so there was no overflow, no invalid operation
 *    and no division by zero (each of which gives an infinity or a NaN);
 *  - and it is not tiny: at least 2^(emin+p) (SAFE) for products,
 *    quotients, square roots and FMAs; sums may be anything finite, since
 *    a tiny sum is exact and so never underflows.
 *
 * Anything else (NX clear, a NaN, an infinity, a tiny result, a rounding
 * mode other than RNE) calls the helper, which computes from the same
 * operands (the destination is written only on the fast path) exactly as
 * the interpreter does.  Comparisons need only ordered operands; sign
 * injection, moves and int32 to double conversions (exact) need no check.
 * Singles must be NaN-boxed (unpriv 12.2): an operand that is not goes to
 * the helper, which reads it as the canonical NaN. */
#include "jit/translate.h"

#define SIGN_D	     0x8000000000000000ull
#define INF_D	     0x7ff0000000000000ull
#define SAFE_D	     0x0360000000000000ull /* 2^-969 */
#define INF_S	     0x7f800000u
#define SAFE_S	     0x0c800000u /* 2^-102 */
#define FFLAG_NX_BIT 1u		 /* fflags bit 0 (unpriv 11.2) */

struct fp_inline {
	uint8_t sse; /* enum x86_sse, or 0 */
	uint8_t fma; /* enum x86_fma, or 0 */
	bool dbl;
	bool sum;    /* add/sub: any finite result */
	uint8_t cmp; /* comparisons: the x86 condition + 1 */
};

#define ARITH(o, s, d, is_sum) [OP_##o] = {.sse = (s), .dbl = (d), .sum = (is_sum)}
#define FMA(o, f, d)	       [OP_##o] = {.fma = (f), .dbl = (d)}
#define CMP(o, cc, d)	       [OP_##o] = {.cmp = (cc) + 1, .dbl = (d)}
static const struct fp_inline fp_inline_ops[OP_COUNT] = {
    ARITH(FADD_D, SSE_ADD, true, true),
    ARITH(FSUB_D, SSE_SUB, true, true),
    ARITH(FMUL_D, SSE_MUL, true, false),
    ARITH(FDIV_D, SSE_DIV, true, false),
    ARITH(FSQRT_D, SSE_SQRT, true, false),
    ARITH(FADD_S, SSE_ADD, false, true),
    ARITH(FSUB_S, SSE_SUB, false, true),
    ARITH(FMUL_S, SSE_MUL, false, false),
    ARITH(FDIV_S, SSE_DIV, false, false),
    ARITH(FSQRT_S, SSE_SQRT, false, false),
    /* rd = rs1*rs2 + rs3 etc.; x86's 231 form: xmm0 = +-(xmm1 * m) +- xmm0 */
    FMA(FMADD_D, FMA_MADD, true),
    FMA(FMSUB_D, FMA_MSUB, true),
    FMA(FNMSUB_D, FMA_NMADD, true),
    FMA(FNMADD_D, FMA_NMSUB, true),
    FMA(FMADD_S, FMA_MADD, false),
    FMA(FMSUB_S, FMA_MSUB, false),
    FMA(FNMSUB_S, FMA_NMADD, false),
    FMA(FNMADD_S, FMA_NMSUB, false),
    /* ucomisd a, b: CF for a < b, ZF for equal */
    CMP(FEQ_D, CC_E, true),
    CMP(FLT_D, CC_B, true),
    CMP(FLE_D, CC_BE, true),
    CMP(FEQ_S, CC_E, false),
    CMP(FLT_S, CC_B, false),
    CMP(FLE_S, CC_BE, false),
};

/* The helper call the fast path falls back to, with the registers as the
 * fast path left them: edx holds the resolved rounding mode when the
 * instruction has one (tr_fp_rm) and the fast path never touches it. */
void tr_fp_slow_stub(struct tr *t, struct stub *s)
{
	const struct jit_fp_op *op = &jit_fp_ops[s->ip->op];

	reg_save_caller(t, &s->rs);
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_ri(E, RSI, (uint64_t)(uintptr_t)s->ip);
	reg_call(t, op->fn);
	reg_restore_caller(t, &s->rs);
	if (s->reg != NO_REG)
		x86_mov_rr(E, true, s->reg, RAX);
	x86_jmp_to(E, s->join);
}

static struct stub *slow_stub(struct tr *t, int d)
{
	struct stub *s = tr_new_stub(t, STUB_FP);

	s->ip = t->ip;
	s->reg = (int8_t)d;
	return s;
}

/* Another jump to the same stub. */
static void also_jump(struct tr *t, struct stub *s, enum x86_cc cc)
{
	if (s->njumps < ARRAY_SIZE(s->more_jumps))
		s->more_jumps[s->njumps++] = x86_jcc_fwd(E, cc);
	else
		t->overflow = true; /* not reached: at most five checks */
}

/* Jump to the stub when a single's register is not NaN-boxed. */
static void boxed_or_slow(struct tr *t, struct stub *s, int f)
{
	x86_alu_mi(E, AI_CMP, false, RBX, f_off(f) + 4, -1);
	also_jump(t, s, CC_NE);
}

/* The operands of a single from hart->f, current (the NaN-box checks and
 * the operations read it there); doubles come from the F cache. */
static void singles_to_mem(struct tr *t, bool two, bool three)
{
	freg_to_mem(t, t->ip->rs1);
	if (two)
		freg_to_mem(t, t->ip->rs2);
	if (three)
		freg_to_mem(t, t->ip->rs3);
}

/* The result in xmm0 to rd: a double into the F cache, a single NaN-boxed
 * into hart->f (and out of the cache). */
static void fp_result(struct tr *t, bool dbl, int d)
{
	int rd = t->ip->rd;

	if (dbl) {
		x86_movapd(E, d, 0);
		freg_written(t, rd);
		return;
	}
	x86_sse_mr(E, false, RBX, f_off(rd), 0);
	x86_alu_mi(E, AI_OR, false, RBX, f_off(rd) + 4, -1); /* NaN-boxed */
	freg_forget(t, rd);
}

/* Arithmetic and FMA: the RNE and NX gates, the operation, the result
 * check, the store; every failed check goes to the one helper stub, which
 * the F cache leaves as it finds it but for rd (reloaded after the call),
 * so the cache registers are all taken before it is made. */
static bool fp_arith(struct tr *t, const struct fp_inline *fi)
{
	const struct insn *ip = t->ip;
	bool three = fi->fma != 0, two = three || fi->sse != SSE_SQRT;
	int a = 0, b = 0, c = 0, d = 0;
	struct stub *s;

	if (three && !t->jit->has_fma)
		return false;
	if (ip->rm != 0 && ip->rm != 7)
		return false; /* a static mode other than RNE: the helper */
	tr_fp_check(t);
	if (ip->rm == 7)
		tr_fp_rm(t); /* edx = frm, checked valid */
	else
		x86_mov_ri(E, RDX, 0); /* the helper's rounding mode */
	if (fi->dbl) {
		a = freg_use(t, ip->rs1);
		b = two ? freg_use(t, ip->rs2) : 0;
		c = three ? freg_use(t, ip->rs3) : 0;
		d = freg_def(t, ip->rd);
	} else {
		singles_to_mem(t, two, three);
	}
	x86_test_mi(E, false, RBX, HART_OFF(fflags), FFLAG_NX_BIT);
	s = slow_stub(t, NO_REG);
	s->jump = x86_jcc_fwd(E, CC_E);
	if (ip->rm == 7) {
		x86_alu_rr(E, ALU_TEST, false, RDX, RDX);
		also_jump(t, s, CC_NE);
	}
	if (!fi->dbl) {
		boxed_or_slow(t, s, ip->rs1);
		if (two)
			boxed_or_slow(t, s, ip->rs2);
		if (three)
			boxed_or_slow(t, s, ip->rs3);
	}
	/* Whole-register moves into xmm0: a scalar op between registers
	 * merges into its destination, which would chain every operation
	 * to the one before through xmm0. */
	if (fi->dbl && three) {
		x86_movapd(E, 0, c);
		x86_vfma231_rr(E, fi->fma, true, 0, a, b);
	} else if (fi->dbl) {
		x86_movapd(E, 0, a);
		x86_sse_rr(E, two ? fi->sse : SSE_SQRT, true, 0, two ? b : 0);
	} else if (three) {
		x86_sse_rm(E, SSE_LOAD, false, 0, RBX, f_off(ip->rs3));
		x86_sse_rm(E, SSE_LOAD, false, 1, RBX, f_off(ip->rs1));
		x86_vfma231_rm(E, fi->fma, false, 0, 1, RBX, f_off(ip->rs2));
	} else if (two) {
		x86_sse_rm(E, SSE_LOAD, false, 0, RBX, f_off(ip->rs1));
		x86_sse_rm(E, fi->sse, false, 0, RBX, f_off(ip->rs2));
	} else {
		x86_sse_rm(E, SSE_SQRT, false, 0, RBX, f_off(ip->rs1));
	}
	/* rax = |result|: finite (sums), or in [SAFE, INF) */
	x86_movq_from_xmm(E, fi->dbl, RAX, 0);
	if (fi->dbl) {
		x86_bt_ri(E, BT_BTR, RAX, 63);
		if (!fi->sum) {
			x86_mov_ri(E, RCX, SAFE_D);
			x86_alu_rr(E, ALU_SUB, true, RAX, RCX);
		}
		x86_mov_ri(E, RCX, fi->sum ? INF_D : INF_D - SAFE_D);
		x86_alu_rr(E, ALU_CMP, true, RAX, RCX);
	} else {
		x86_alu_ri(E, AI_AND, false, RAX, 0x7fffffff);
		if (!fi->sum)
			x86_alu_ri(E, AI_SUB, false, RAX, (int32_t)SAFE_S);
		x86_alu_ri(E, AI_CMP, false, RAX, (int32_t)(fi->sum ? INF_S : INF_S - SAFE_S));
	}
	also_jump(t, s, CC_AE);
	fp_result(t, fi->dbl, d);
	s->join = E->pos; /* the helper wrote rd itself */
	return true;
}

/* feq/flt/fle: ordered operands set rd from the x86 flags; unordered
 * ones (a NaN: flags to raise) and singles not NaN-boxed go to the helper. */
static bool fp_compare(struct tr *t, const struct fp_inline *fi)
{
	const struct insn *ip = t->ip;
	struct stub *s = NULL; /* made below on either path (gcc -O1 cannot tell) */
	int d, a = 0, b = 0;

	if (ip->rd == REG_SINK)
		return false; /* rare: the helper still raises the flags */
	tr_fp_check(t);
	d = reg_def(t, ip->rd);
	if (fi->dbl) {
		a = freg_use(t, ip->rs1);
		b = freg_use(t, ip->rs2);
		x86_ucomis_rr(E, true, a, b);
		s = slow_stub(t, d);
		s->jump = x86_jcc_fwd(E, CC_P);
	} else {
		singles_to_mem(t, true, false);
		s = slow_stub(t, d);
		x86_alu_mi(E, AI_CMP, false, RBX, f_off(ip->rs1) + 4, -1);
		s->jump = x86_jcc_fwd(E, CC_NE);
		boxed_or_slow(t, s, ip->rs2);
		x86_sse_rm(E, SSE_LOAD, false, 0, RBX, f_off(ip->rs1));
		x86_ucomis_rm(E, false, 0, RBX, f_off(ip->rs2));
		also_jump(t, s, CC_P);
	}
	x86_setcc(E, (enum x86_cc)(fi->cmp - 1), RAX);
	x86_extend_rr(E, 1, false, d, RAX);
	s->join = E->pos;
	reg_written(t, ip->rd);
	return true;
}

/* Sign injection of doubles, in general registers from the F cache. */
static void fp_sgnj_d(struct tr *t)
{
	const struct insn *ip = t->ip;
	int op = ip->op;
	int a = freg_use(t, ip->rs1), b = freg_use(t, ip->rs2), d = freg_def(t, ip->rd);

	x86_movq_from_xmm(E, true, RAX, a);
	x86_movq_from_xmm(E, true, RCX, b);
	if (op == OP_FSGNJN_D)
		x86_unary(E, UN_NOT, true, RCX);
	x86_mov_ri(E, RDX, SIGN_D);
	x86_alu_rr(E, ALU_AND, true, RCX, RDX);
	if (op != OP_FSGNJX_D)
		x86_bt_ri(E, BT_BTR, RAX, 63);
	x86_alu_rr(E, op == OP_FSGNJX_D ? ALU_XOR : ALU_OR, true, RAX, RCX);
	x86_movq_to_xmm(E, d, RAX);
	freg_written(t, ip->rd);
}

/* Sign injection and moves between register files: bit operations. */
static bool fp_bits(struct tr *t)
{
	const struct insn *ip = t->ip;
	int op = ip->op, d;

	switch (op) {
	case OP_FSGNJ_D:
	case OP_FSGNJN_D:
	case OP_FSGNJX_D:
		tr_fp_check(t);
		fp_sgnj_d(t);
		return true;
	case OP_FMV_X_D:
	case OP_FMV_X_W:
		tr_fp_check(t);
		if (ip->rd == REG_SINK)
			return true;
		if (op == OP_FMV_X_D) {
			int a = freg_use(t, ip->rs1);

			d = reg_def(t, ip->rd);
			x86_movq_from_xmm(E, true, d, a);
		} else {
			freg_to_mem(t, ip->rs1);
			d = reg_def(t, ip->rd);
			x86_load(E, 4, true, d, RBX, NO_REG, 1, f_off(ip->rs1));
		}
		reg_written(t, ip->rd);
		return true;
	case OP_FMV_D_X:
		tr_fp_check(t);
		x86_movq_to_xmm(E, freg_def(t, ip->rd), reg_use(t, ip->rs1));
		freg_written(t, ip->rd);
		return true;
	case OP_FMV_W_X:
		tr_fp_check(t);
		x86_store(E, 4, RBX, f_off(ip->rd), reg_use(t, ip->rs1));
		x86_alu_mi(E, AI_OR, false, RBX, f_off(ip->rd) + 4, -1);
		freg_forget(t, ip->rd);
		return true;
	case OP_FCVT_D_W:
	case OP_FCVT_D_WU: /* exact: no flags, any rounding mode */
		if (ip->rm > 4 && ip->rm != 7)
			return false;
		tr_fp_check(t);
		if (ip->rm == 7)
			tr_fp_rm(t); /* frm 5-7 is still illegal */
		if (op == OP_FCVT_D_W)
			x86_movsxd(E, RAX, reg_use(t, ip->rs1));
		else
			x86_mov_rr(E, false, RAX, reg_use(t, ip->rs1));
		d = freg_def(t, ip->rd);
		x86_xorps(E, d, d); /* cvtsi2sd merges into d */
		x86_cvtsi2sd(E, d, RAX);
		freg_written(t, ip->rd);
		return true;
	default:
		return false;
	}
}

void tr_fp_reads(const struct insn *ip, int r[3])
{
	const struct fp_inline *fi = &fp_inline_ops[ip->op];

	r[0] = r[1] = r[2] = -1;
	if (jit_fp_ops[ip->op].kind == FPK_XF)
		return; /* an x source */
	r[0] = ip->rs1;
	switch (ip->op) {
	case OP_FSQRT_S: case OP_FSQRT_D:
	case OP_FCVT_W_S: case OP_FCVT_WU_S: case OP_FCVT_L_S: case OP_FCVT_LU_S:
	case OP_FCVT_W_D: case OP_FCVT_WU_D: case OP_FCVT_L_D: case OP_FCVT_LU_D:
	case OP_FCVT_S_D: case OP_FCVT_D_S:
	case OP_FCLASS_S: case OP_FCLASS_D:
	case OP_FMV_X_W: case OP_FMV_X_D:
		return; /* rs2 encodes a type or is zero; rs3 is funct7's top */
	default:
		r[1] = ip->rs2;
		if (fi->fma)
			r[2] = ip->rs3;
	}
}

bool tr_fp_to_cache(const struct insn *ip)
{
	const struct fp_inline *fi = &fp_inline_ops[ip->op];

	switch (ip->op) {
	case OP_FLD:
	case OP_FSGNJ_D:
	case OP_FSGNJN_D:
	case OP_FSGNJX_D:
	case OP_FMV_D_X:
	case OP_FCVT_D_W:
	case OP_FCVT_D_WU:
		return true;
	default:
		return fi->dbl && (fi->sse || fi->fma);
	}
}

bool tr_fp_inline(struct tr *t)
{
	const struct fp_inline *fi = &fp_inline_ops[t->ip->op];

	if (fi->sse || fi->fma)
		return fp_arith(t, fi);
	if (fi->cmp)
		return fp_compare(t, fi);
	return fp_bits(t);
}
