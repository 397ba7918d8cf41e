/* fpu.h — RISC-V F and D arithmetic on raw IEEE bit patterns (unpriv spec v20191213, chapters
 * 11 "F" and 12 "D").
 *
 * The interpreter keeps NaN-boxing, fsgnj*, fmv.* and loads/stores; everything that computes is
 * here. rm is an already-resolved static rounding mode 0..4 (the caller rejects 5 and 6 and
 * resolves 7 = dynamic from frm). Exception flags are OR-ed into *flags. Every NaN result is the
 * canonical NaN (§11.3). Single-precision operands and results are the low 32 bits, unboxed.
 * Thread-safe and stateless. On x86-64 the calling thread must keep the psABI default MXCSR
 * (0x1f80), as every thread does unless something is built with -ffast-math (docs/fpu.md).
 */
#ifndef CONDO_CPU_FPU_H
#define CONDO_CPU_FPU_H

#include <stdint.h>

enum { FRM_RNE = 0, FRM_RTZ = 1, FRM_RDN = 2, FRM_RUP = 3, FRM_RMM = 4 };
enum { FFLAG_NX = 1, FFLAG_UF = 2, FFLAG_OF = 4, FFLAG_DZ = 8, FFLAG_NV = 16 };

#define FPU_CANON_NAN_S 0x7fc00000u
#define FPU_CANON_NAN_D 0x7ff8000000000000ull

/* ---- single precision ---- */
uint32_t fpu_add_s(uint32_t a, uint32_t b, int rm, uint32_t *flags);
uint32_t fpu_sub_s(uint32_t a, uint32_t b, int rm, uint32_t *flags);
uint32_t fpu_mul_s(uint32_t a, uint32_t b, int rm, uint32_t *flags);
uint32_t fpu_div_s(uint32_t a, uint32_t b, int rm, uint32_t *flags);
uint32_t fpu_sqrt_s(uint32_t a, int rm, uint32_t *flags);
uint32_t fpu_madd_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags);  /* a*b+c */
uint32_t fpu_msub_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags);  /* a*b-c */
uint32_t fpu_nmsub_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags); /* -(a*b)+c */
uint32_t fpu_nmadd_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags); /* -(a*b)-c */
/* Version 2.2 semantics: -0 < +0, one NaN gives the other operand, sNaN sets NV. */
uint32_t fpu_min_s(uint32_t a, uint32_t b, uint32_t *flags);
uint32_t fpu_max_s(uint32_t a, uint32_t b, uint32_t *flags);
uint64_t fpu_eq_s(uint32_t a, uint32_t b, uint32_t *flags); /* quiet: NV only for sNaN */
uint64_t fpu_lt_s(uint32_t a, uint32_t b, uint32_t *flags); /* signaling: NV for any NaN */
uint64_t fpu_le_s(uint32_t a, uint32_t b, uint32_t *flags);
uint64_t fpu_class_s(uint32_t a);
/* Results in RV64 register form: 32-bit results (also wu) are sign-extended. */
uint64_t fpu_cvt_w_s(uint32_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_wu_s(uint32_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_l_s(uint32_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_lu_s(uint32_t a, int rm, uint32_t *flags);
/* _w/_wu use the low 32 bits of x. */
uint32_t fpu_cvt_s_w(uint64_t x, int rm, uint32_t *flags);
uint32_t fpu_cvt_s_wu(uint64_t x, int rm, uint32_t *flags);
uint32_t fpu_cvt_s_l(uint64_t x, int rm, uint32_t *flags);
uint32_t fpu_cvt_s_lu(uint64_t x, int rm, uint32_t *flags);

/* ---- double precision ---- */
uint64_t fpu_add_d(uint64_t a, uint64_t b, int rm, uint32_t *flags);
uint64_t fpu_sub_d(uint64_t a, uint64_t b, int rm, uint32_t *flags);
uint64_t fpu_mul_d(uint64_t a, uint64_t b, int rm, uint32_t *flags);
uint64_t fpu_div_d(uint64_t a, uint64_t b, int rm, uint32_t *flags);
uint64_t fpu_sqrt_d(uint64_t a, int rm, uint32_t *flags);
uint64_t fpu_madd_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags);
uint64_t fpu_msub_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags);
uint64_t fpu_nmsub_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags);
uint64_t fpu_nmadd_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags);
uint64_t fpu_min_d(uint64_t a, uint64_t b, uint32_t *flags);
uint64_t fpu_max_d(uint64_t a, uint64_t b, uint32_t *flags);
uint64_t fpu_eq_d(uint64_t a, uint64_t b, uint32_t *flags);
uint64_t fpu_lt_d(uint64_t a, uint64_t b, uint32_t *flags);
uint64_t fpu_le_d(uint64_t a, uint64_t b, uint32_t *flags);
uint64_t fpu_class_d(uint64_t a);
uint64_t fpu_cvt_w_d(uint64_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_wu_d(uint64_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_l_d(uint64_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_lu_d(uint64_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_d_w(uint64_t x, int rm, uint32_t *flags);
uint64_t fpu_cvt_d_wu(uint64_t x, int rm, uint32_t *flags);
uint64_t fpu_cvt_d_l(uint64_t x, int rm, uint32_t *flags);
uint64_t fpu_cvt_d_lu(uint64_t x, int rm, uint32_t *flags);

/* ---- between formats ---- */
uint32_t fpu_cvt_s_d(uint64_t a, int rm, uint32_t *flags);
uint64_t fpu_cvt_d_s(uint32_t a, int rm, uint32_t *flags); /* exact; rm unused */

#endif
