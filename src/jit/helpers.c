/* C helpers compiled code calls for F/D arithmetic and for atomics.  They
 * repeat the interpreter's semantics (src/cpu/interp.c) exactly: NaN-boxing
 * of singles (unpriv 12.2), the fpu_* functions for arithmetic, and host
 * atomics for the A extension.  Rounding modes arrive resolved (0-4): the
 * compiled code has already trapped on frm 5-7 and on mstatus.FS off. */
#include "cpu/amo.h"
#include "cpu/csr.h"
#include "cpu/fpu.h"
#include "cpu/regval.h"
#include "cpu/tlb.h"
#include "jit/jit_internal.h"

#define SIGN_D          0x8000000000000000ull

#define F(r)  h->f[r]
#define FS(r) unbox_s(h->f[r])
#define FL    (&h->fflags)

/* f = op(f...) */
#define FF(name, expr)                                                                             \
	static void fp_##name(struct hart *h, const struct insn *ip, int rm)                       \
	{                                                                                          \
		(void)rm;                                                                          \
		F(ip->rd) = (expr);                                                                \
	}
/* x = op(f...) */
#define FX(name, expr)                                                                             \
	static uint64_t fp_##name(struct hart *h, const struct insn *ip, int rm)                   \
	{                                                                                          \
		(void)rm;                                                                          \
		return (expr);                                                                     \
	}
/* f = op(x) */
#define XF(name, expr)                                                                             \
	static void fp_##name(struct hart *h, const struct insn *ip, int rm, uint64_t x)           \
	{                                                                                          \
		(void)rm;                                                                          \
		F(ip->rd) = (expr);                                                                \
	}

FF(FMADD_S, box_s(fpu_madd_s(FS(ip->rs1), FS(ip->rs2), FS(ip->rs3), rm, FL)))
FF(FMSUB_S, box_s(fpu_msub_s(FS(ip->rs1), FS(ip->rs2), FS(ip->rs3), rm, FL)))
FF(FNMSUB_S, box_s(fpu_nmsub_s(FS(ip->rs1), FS(ip->rs2), FS(ip->rs3), rm, FL)))
FF(FNMADD_S, box_s(fpu_nmadd_s(FS(ip->rs1), FS(ip->rs2), FS(ip->rs3), rm, FL)))
FF(FADD_S, box_s(fpu_add_s(FS(ip->rs1), FS(ip->rs2), rm, FL)))
FF(FSUB_S, box_s(fpu_sub_s(FS(ip->rs1), FS(ip->rs2), rm, FL)))
FF(FMUL_S, box_s(fpu_mul_s(FS(ip->rs1), FS(ip->rs2), rm, FL)))
FF(FDIV_S, box_s(fpu_div_s(FS(ip->rs1), FS(ip->rs2), rm, FL)))
FF(FSQRT_S, box_s(fpu_sqrt_s(FS(ip->rs1), rm, FL)))
FF(FSGNJ_S, box_s((FS(ip->rs1) & 0x7fffffffu) | (FS(ip->rs2) & 0x80000000u)))
FF(FSGNJN_S, box_s((FS(ip->rs1) & 0x7fffffffu) | (~FS(ip->rs2) & 0x80000000u)))
FF(FSGNJX_S, box_s(FS(ip->rs1) ^ (FS(ip->rs2) & 0x80000000u)))
FF(FMIN_S, box_s(fpu_min_s(FS(ip->rs1), FS(ip->rs2), FL)))
FF(FMAX_S, box_s(fpu_max_s(FS(ip->rs1), FS(ip->rs2), FL)))
FX(FCVT_W_S, fpu_cvt_w_s(FS(ip->rs1), rm, FL))
FX(FCVT_WU_S, fpu_cvt_wu_s(FS(ip->rs1), rm, FL))
FX(FCVT_L_S, fpu_cvt_l_s(FS(ip->rs1), rm, FL))
FX(FCVT_LU_S, fpu_cvt_lu_s(FS(ip->rs1), rm, FL))
FX(FMV_X_W, sext32(F(ip->rs1)))
FX(FEQ_S, fpu_eq_s(FS(ip->rs1), FS(ip->rs2), FL))
FX(FLT_S, fpu_lt_s(FS(ip->rs1), FS(ip->rs2), FL))
FX(FLE_S, fpu_le_s(FS(ip->rs1), FS(ip->rs2), FL))
FX(FCLASS_S, fpu_class_s(FS(ip->rs1)))
XF(FCVT_S_W, box_s(fpu_cvt_s_w(x, rm, FL)))
XF(FCVT_S_WU, box_s(fpu_cvt_s_wu(x, rm, FL)))
XF(FCVT_S_L, box_s(fpu_cvt_s_l(x, rm, FL)))
XF(FCVT_S_LU, box_s(fpu_cvt_s_lu(x, rm, FL)))
XF(FMV_W_X, box_s((uint32_t)x))

FF(FMADD_D, fpu_madd_d(F(ip->rs1), F(ip->rs2), F(ip->rs3), rm, FL))
FF(FMSUB_D, fpu_msub_d(F(ip->rs1), F(ip->rs2), F(ip->rs3), rm, FL))
FF(FNMSUB_D, fpu_nmsub_d(F(ip->rs1), F(ip->rs2), F(ip->rs3), rm, FL))
FF(FNMADD_D, fpu_nmadd_d(F(ip->rs1), F(ip->rs2), F(ip->rs3), rm, FL))
FF(FADD_D, fpu_add_d(F(ip->rs1), F(ip->rs2), rm, FL))
FF(FSUB_D, fpu_sub_d(F(ip->rs1), F(ip->rs2), rm, FL))
FF(FMUL_D, fpu_mul_d(F(ip->rs1), F(ip->rs2), rm, FL))
FF(FDIV_D, fpu_div_d(F(ip->rs1), F(ip->rs2), rm, FL))
FF(FSQRT_D, fpu_sqrt_d(F(ip->rs1), rm, FL))
FF(FSGNJ_D, (F(ip->rs1) & ~SIGN_D) | (F(ip->rs2) & SIGN_D))
FF(FSGNJN_D, (F(ip->rs1) & ~SIGN_D) | (~F(ip->rs2) & SIGN_D))
FF(FSGNJX_D, F(ip->rs1) ^ (F(ip->rs2) & SIGN_D))
FF(FMIN_D, fpu_min_d(F(ip->rs1), F(ip->rs2), FL))
FF(FMAX_D, fpu_max_d(F(ip->rs1), F(ip->rs2), FL))
FF(FCVT_S_D, box_s(fpu_cvt_s_d(F(ip->rs1), rm, FL)))
FF(FCVT_D_S, fpu_cvt_d_s(FS(ip->rs1), rm, FL))
FX(FCVT_W_D, fpu_cvt_w_d(F(ip->rs1), rm, FL))
FX(FCVT_WU_D, fpu_cvt_wu_d(F(ip->rs1), rm, FL))
FX(FCVT_L_D, fpu_cvt_l_d(F(ip->rs1), rm, FL))
FX(FCVT_LU_D, fpu_cvt_lu_d(F(ip->rs1), rm, FL))
FX(FMV_X_D, F(ip->rs1))
FX(FEQ_D, fpu_eq_d(F(ip->rs1), F(ip->rs2), FL))
FX(FLT_D, fpu_lt_d(F(ip->rs1), F(ip->rs2), FL))
FX(FLE_D, fpu_le_d(F(ip->rs1), F(ip->rs2), FL))
FX(FCLASS_D, fpu_class_d(F(ip->rs1)))
XF(FCVT_D_W, fpu_cvt_d_w(x, rm, FL))
XF(FCVT_D_WU, fpu_cvt_d_wu(x, rm, FL))
XF(FCVT_D_L, fpu_cvt_d_l(x, rm, FL))
XF(FCVT_D_LU, fpu_cvt_d_lu(x, rm, FL))
XF(FMV_D_X, x)

/* kind, and whether the interpreter resolves a rounding mode (RM()) for it */
#define OPF(name, kind, rm) [OP_##name] = { (void *)fp_##name, kind, rm }
const struct jit_fp_op jit_fp_ops[OP_COUNT] = {
	OPF(FMADD_S, FPK_FF, true), OPF(FMSUB_S, FPK_FF, true),
	OPF(FNMSUB_S, FPK_FF, true), OPF(FNMADD_S, FPK_FF, true),
	OPF(FADD_S, FPK_FF, true), OPF(FSUB_S, FPK_FF, true),
	OPF(FMUL_S, FPK_FF, true), OPF(FDIV_S, FPK_FF, true),
	OPF(FSQRT_S, FPK_FF, true),
	OPF(FSGNJ_S, FPK_FF, false), OPF(FSGNJN_S, FPK_FF, false), OPF(FSGNJX_S, FPK_FF, false),
	OPF(FMIN_S, FPK_FF, false), OPF(FMAX_S, FPK_FF, false),
	OPF(FCVT_W_S, FPK_FX, true), OPF(FCVT_WU_S, FPK_FX, true),
	OPF(FCVT_L_S, FPK_FX, true), OPF(FCVT_LU_S, FPK_FX, true),
	OPF(FMV_X_W, FPK_FX, false),
	OPF(FEQ_S, FPK_FX, false), OPF(FLT_S, FPK_FX, false), OPF(FLE_S, FPK_FX, false),
	OPF(FCLASS_S, FPK_FX, false),
	OPF(FCVT_S_W, FPK_XF, true), OPF(FCVT_S_WU, FPK_XF, true),
	OPF(FCVT_S_L, FPK_XF, true), OPF(FCVT_S_LU, FPK_XF, true),
	OPF(FMV_W_X, FPK_XF, false),

	OPF(FMADD_D, FPK_FF, true), OPF(FMSUB_D, FPK_FF, true),
	OPF(FNMSUB_D, FPK_FF, true), OPF(FNMADD_D, FPK_FF, true),
	OPF(FADD_D, FPK_FF, true), OPF(FSUB_D, FPK_FF, true),
	OPF(FMUL_D, FPK_FF, true), OPF(FDIV_D, FPK_FF, true),
	OPF(FSQRT_D, FPK_FF, true),
	OPF(FSGNJ_D, FPK_FF, false), OPF(FSGNJN_D, FPK_FF, false), OPF(FSGNJX_D, FPK_FF, false),
	OPF(FMIN_D, FPK_FF, false), OPF(FMAX_D, FPK_FF, false),
	OPF(FCVT_S_D, FPK_FF, true), OPF(FCVT_D_S, FPK_FF, true),
	OPF(FCVT_W_D, FPK_FX, true), OPF(FCVT_WU_D, FPK_FX, true),
	OPF(FCVT_L_D, FPK_FX, true), OPF(FCVT_LU_D, FPK_FX, true),
	OPF(FMV_X_D, FPK_FX, false),
	OPF(FEQ_D, FPK_FX, false), OPF(FLT_D, FPK_FX, false), OPF(FLE_D, FPK_FX, false),
	OPF(FCLASS_D, FPK_FX, false),
	OPF(FCVT_D_W, FPK_XF, true), OPF(FCVT_D_WU, FPK_XF, true),
	OPF(FCVT_D_L, FPK_XF, true), OPF(FCVT_D_LU, FPK_XF, true),
	OPF(FMV_D_X, FPK_XF, false),
};

/* ---- A: the interpreter's (cpu/amo.c) ---- */

int jit_helper_amo(struct hart *hart, const struct insn *ip, uint64_t addr, uint64_t src,
		   uint64_t *rd_val)
{
	return cpu_amo(hart, ip, addr, src, rd_val);
}

int jit_helper_csr(struct hart *hart, const struct insn *ip, uint64_t src, uint64_t *rd_val)
{
	uint64_t epoch = hart->tlb_epoch;

	if (csr_insn(hart, ip, src, rd_val) < 0) {
		hart->trap_cause = CAUSE_ILLEGAL_INSN;
		hart->trap_tval = ip->raw;
		return -1;
	}
	return hart->tlb_epoch != epoch;
}
