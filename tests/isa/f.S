/*
 * f.S — every instruction of the F extension (unpriv spec ch. 11 "F Standard
 * Extension"), checking the exact result bits and the exact fflags after
 * each operation: special values (±0, ±inf, subnormals, qNaN/sNaN with and
 * without payloads), canonical NaN results (§11.3), the invalid cases of
 * each operation (including FMA's inf*0 + qNaN), fmin/fmax with NaNs and
 * signed zeros (§11.6), quiet vs signalling comparisons (§11.8), fclass of
 * all ten classes (§11.9), fcvt saturation for NaN/±inf/out-of-range in
 * every integer width and signedness (§11.7 table), NaN-boxing of singles
 * in the 64-bit registers (§12.2), and sticky flag accumulation.
 * Rounding-mode coverage is in fround.c. Unless an rm is written, the
 * instruction uses dyn with frm = RNE.
 */
#include "test.h"

#define ONE	0x3f800000
#define TWO	0x40000000
#define THREE	0x40400000
#define HALF	0x3f000000
#define MONE	0xbf800000
#define PINF	0x7f800000
#define NINF	0xff800000
#define QNAN	0x7fc00000	/* the canonical NaN */
#define QNANP	0x7fc12345	/* a quiet NaN with a payload */
#define NQNAN	0xffc00000
#define SNAN	0x7f800001
#define NSNAN	0xff812345
#define PZERO	0x00000000
#define NZERO	0x80000000
#define MAXF	0x7f7fffff
#define MINN	0x00800000	/* smallest normal */
#define MINS	0x00000001	/* smallest subnormal */
#define MAXS	0x007fffff	/* largest subnormal */

#define FLI_S(fr, bits) li s10, bits; fmv.w.x fr, s10
#define FLI_D(fr, bits) li s10, bits; fmv.d.x fr, s10
/* fa0 = op(fa1 [, fa2 [, fa3]]) [, rm]: check the result and the flags */
#define T1(op, a, exp, fl) FLI_S(fa1, a); op fa0, fa1; FCHECKS(fa0, exp); FFLAGS(fl)
#define T2(op, a, b, exp, fl) FLI_S(fa1, a); FLI_S(fa2, b); op fa0, fa1, fa2; FCHECKS(fa0, exp); FFLAGS(fl)
#define T3(op, a, b, c, exp, fl) \
	FLI_S(fa1, a); FLI_S(fa2, b); FLI_S(fa3, c); op fa0, fa1, fa2, fa3; FCHECKS(fa0, exp); FFLAGS(fl)
/* integer results: a0 = op(fa1 [, fa2]) [, rm] */
#define TX1(op, a, exp, fl) FLI_S(fa1, a); op a0, fa1; CHECK(a0, exp); FFLAGS(fl)
#define TX1RM(op, a, rm, exp, fl) FLI_S(fa1, a); op a0, fa1, rm; CHECK(a0, exp); FFLAGS(fl)
#define TX2(op, a, b, exp, fl) FLI_S(fa1, a); FLI_S(fa2, b); op a0, fa1, fa2; CHECK(a0, exp); FFLAGS(fl)
/* integer operand: fa0 = op(a1) */
#define TI(op, x, exp, fl) li a1, x; op fa0, a1; FCHECKS(fa0, exp); FFLAGS(fl)

TEST_MAIN
	csrw	fcsr, zero

	TCASE("flw/fsw")
	lla	t0, fdata
	flw	ft0, 0(t0)
	FCHECKS(ft0, 0x40490fdb)	// loads NaN-box the word
	flw	ft1, 4(t0)
	FCHECKS(ft1, SNAN)		// a signalling NaN is loaded unchanged
	addi	t1, t0, 8
	flw	ft2, -8(t1)
	FCHECKS(ft2, 0x40490fdb)
	FFLAGS(0)
	lla	t1, fbuf
	fsw	ft1, 0(t1)
	lwu	a0, 0(t1)
	CHECK(a0, SNAN)
	FLI_D(ft3, 0x123456789abcdef0)	// not boxed: fsw stores the low word
	fsw	ft3, 4(t1)
	lwu	a0, 4(t1)
	CHECK(a0, 0x9abcdef0)
	ld	a0, 0(t1)
	CHECK(a0, 0x9abcdef07f800001)
	FFLAGS(0)

	TCASE("fmv.w.x/fmv.x.w")
	li	a1, 0x123456783f800000
	fmv.w.x	fa0, a1			// the upper half of x is ignored
	FCHECKS(fa0, ONE)
	TX1(fmv.x.w, MONE, 0xffffffffbf800000, 0)	// sign-extends
	TX1(fmv.x.w, ONE, ONE, 0)
	TX1(fmv.x.w, SNAN, SNAN, 0)
	FLI_D(fa1, 0x00000000bf800000)	// not boxed: the low word still moves
	fmv.x.w	a0, fa1
	CHECK(a0, 0xffffffffbf800000)
	FFLAGS(0)

	TCASE("fadd.s")
	T2(fadd.s, ONE, TWO, THREE, 0)
	T2(fadd.s, ONE, 0x33800000, ONE, NX)		// 1 + 2^-24 ties to even
	T2(fadd.s, PINF, NINF, QNAN, NV)
	T2(fadd.s, PINF, PINF, PINF, 0)
	T2(fadd.s, NINF, ONE, NINF, 0)
	T2(fadd.s, QNANP, ONE, QNAN, 0)			// canonical, payload dropped
	T2(fadd.s, ONE, SNAN, QNAN, NV)
	T2(fadd.s, SNAN, QNAN, QNAN, NV)
	T2(fadd.s, MAXF, MAXF, PINF, OF | NX)
	T2(fadd.s, NZERO, NZERO, NZERO, 0)
	T2(fadd.s, PZERO, NZERO, PZERO, 0)
	T2(fadd.s, MINS, MINS, 0x00000002, 0)		// exact subnormal: no UF
	T2(fadd.s, MINN, 0x80000001, MAXS, 0)
	T2(fadd.s, ONE, MONE, PZERO, 0)
	FLI_S(fa1, ONE)
	FLI_S(fa2, MONE)
	fadd.s	fa0, fa1, fa2, rdn		// exact zero sum is -0 in RDN
	FCHECKS(fa0, NZERO)
	FFLAGS(0)

	TCASE("fsub.s")
	T2(fsub.s, THREE, ONE, TWO, 0)
	T2(fsub.s, PINF, PINF, QNAN, NV)
	T2(fsub.s, NINF, NINF, QNAN, NV)
	T2(fsub.s, PINF, NINF, PINF, 0)
	T2(fsub.s, ONE, ONE, PZERO, 0)
	T2(fsub.s, NZERO, PZERO, NZERO, 0)
	T2(fsub.s, PZERO, PZERO, PZERO, 0)
	T2(fsub.s, NSNAN, ONE, QNAN, NV)
	T2(fsub.s, 0xff7fffff, MAXF, NINF, OF | NX)

	TCASE("fmul.s")
	T2(fmul.s, TWO, THREE, 0x40c00000, 0)
	T2(fmul.s, PZERO, PINF, QNAN, NV)
	T2(fmul.s, NINF, NZERO, QNAN, NV)
	T2(fmul.s, NZERO, THREE, NZERO, 0)
	T2(fmul.s, MONE, MONE, ONE, 0)
	T2(fmul.s, MINN, HALF, 0x00400000, 0)		// exact subnormal: no UF
	T2(fmul.s, MINS, HALF, PZERO, UF | NX)		// ties to even 0
	T2(fmul.s, MAXF, TWO, PINF, OF | NX)
	T2(fmul.s, PINF, 0xc0000000, NINF, 0)
	T2(fmul.s, QNAN, PZERO, QNAN, 0)		// no NV for qNaN * 0
	T2(fmul.s, 0x3f800800, 0x3f800800, 0x3f801000, NX)

	TCASE("fdiv.s")
	T2(fdiv.s, 0x40c00000, THREE, TWO, 0)
	T2(fdiv.s, ONE, PZERO, PINF, DZ)
	T2(fdiv.s, MONE, PZERO, NINF, DZ)
	T2(fdiv.s, ONE, NZERO, NINF, DZ)
	T2(fdiv.s, PZERO, PZERO, QNAN, NV)
	T2(fdiv.s, PINF, NINF, QNAN, NV)
	T2(fdiv.s, ONE, PINF, PZERO, 0)
	T2(fdiv.s, MONE, PINF, NZERO, 0)
	T2(fdiv.s, PINF, PZERO, PINF, 0)		// inf / 0 is exact: no DZ
	T2(fdiv.s, ONE, THREE, 0x3eaaaaab, NX)
	T2(fdiv.s, QNAN, PZERO, QNAN, 0)
	T2(fdiv.s, SNAN, PZERO, QNAN, NV)
	T2(fdiv.s, MAXF, HALF, PINF, OF | NX)
	T2(fdiv.s, MINN, 0x4b000000, 0x00000001, 0)	// 2^-126 / 2^23, exact

	TCASE("fsqrt.s")
	T1(fsqrt.s, 0x40800000, TWO, 0)
	T1(fsqrt.s, TWO, 0x3fb504f3, NX)
	T1(fsqrt.s, MONE, QNAN, NV)
	T1(fsqrt.s, NZERO, NZERO, 0)			// sqrt(-0) = -0
	T1(fsqrt.s, PZERO, PZERO, 0)
	T1(fsqrt.s, PINF, PINF, 0)
	T1(fsqrt.s, NINF, QNAN, NV)
	T1(fsqrt.s, SNAN, QNAN, NV)
	T1(fsqrt.s, QNANP, QNAN, 0)
	T1(fsqrt.s, 0x80000001, QNAN, NV)		// negative subnormal
	T1(fsqrt.s, MINS, 0x1a3504f3, NX)		// sqrt(2^-149)

	TCASE("fmadd.s/fmsub.s/fnmsub.s/fnmadd.s")
	T3(fmadd.s, TWO, THREE, ONE, 0x40e00000, 0)	// 7
	T3(fmsub.s, TWO, THREE, ONE, 0x40a00000, 0)	// 5
	T3(fnmsub.s, TWO, THREE, ONE, 0xc0a00000, 0)	// -5
	T3(fnmadd.s, TWO, THREE, ONE, 0xc0e00000, 0)	// -7
	T3(fmadd.s, PINF, PZERO, QNAN, QNAN, NV)	// inf*0 + qNaN still raises NV
	T3(fmadd.s, PZERO, NINF, QNANP, QNAN, NV)
	T3(fmadd.s, PZERO, PINF, ONE, QNAN, NV)
	T3(fmadd.s, PINF, ONE, NINF, QNAN, NV)
	T3(fmsub.s, PINF, ONE, PINF, QNAN, NV)
	T3(fnmadd.s, PINF, ONE, NINF, QNAN, NV)		// -(inf) - (-inf)
	T3(fnmsub.s, PINF, ONE, NINF, NINF, 0)		// -(inf) + (-inf)
	T3(fmadd.s, ONE, ONE, QNANP, QNAN, 0)
	T3(fmadd.s, SNAN, ONE, ONE, QNAN, NV)
	T3(fmadd.s, ONE, ONE, SNAN, QNAN, NV)
	T3(fnmadd.s, QNAN, ONE, ONE, QNAN, 0)		// negation never reaches a NaN result
	T3(fmadd.s, 0x3f800800, 0x3f800800, MONE, 0x3a000400, 0)	// one rounding: exact 2^-11+2^-24
	T3(fmadd.s, MAXF, TWO, MONE, PINF, OF | NX)
	T3(fmadd.s, NZERO, ONE, NZERO, NZERO, 0)	// -0 + -0
	T3(fmsub.s, PZERO, ONE, PZERO, PZERO, 0)	// 0 - 0
	T3(fnmsub.s, PZERO, ONE, PZERO, PZERO, 0)	// -0 + 0
	T3(fnmadd.s, PZERO, ONE, PZERO, NZERO, 0)	// -0 - 0
	T3(fmadd.s, MINN, HALF, PZERO, 0x00400000, 0)
	T3(fmadd.s, MINS, HALF, PZERO, PZERO, UF | NX)
	// unfused, the same operands give 2^-11: fmul.s rounds first
	FLI_S(fa1, 0x3f800800)
	fmul.s	fa0, fa1, fa1
	FLI_S(fa2, ONE)
	fsub.s	fa0, fa0, fa2
	FCHECKS(fa0, 0x3a000000)
	FFLAGS(NX)

	TCASE("fsgnj.s/fsgnjn.s/fsgnjx.s")
	T2(fsgnj.s, ONE, 0xc0000000, MONE, 0)
	T2(fsgnj.s, MONE, TWO, ONE, 0)
	T2(fsgnjn.s, ONE, ONE, MONE, 0)
	T2(fsgnjn.s, ONE, MONE, ONE, 0)
	T2(fsgnjx.s, MONE, MONE, ONE, 0)
	T2(fsgnjx.s, ONE, MONE, MONE, 0)
	T2(fsgnjx.s, NINF, NZERO, PINF, 0)
	T2(fsgnj.s, QNANP, MONE, 0xffc12345, 0)		// NaNs pass through, not canonicalised
	T2(fsgnjn.s, SNAN, SNAN, 0xff800001, 0)		// no NV for a signalling NaN
	T2(fsgnjx.s, NSNAN, NSNAN, 0x7f812345, 0)
	T1(fneg.s, PZERO, NZERO, 0)
	T1(fabs.s, 0xc0400000, THREE, 0)
	T1(fmv.s, NSNAN, NSNAN, 0)

	TCASE("fmin.s/fmax.s")
	T2(fmin.s, ONE, TWO, ONE, 0)
	T2(fmax.s, ONE, TWO, TWO, 0)
	T2(fmin.s, MONE, ONE, MONE, 0)
	T2(fmax.s, MONE, ONE, ONE, 0)
	T2(fmin.s, NZERO, PZERO, NZERO, 0)		// -0 < +0 here
	T2(fmin.s, PZERO, NZERO, NZERO, 0)
	T2(fmax.s, NZERO, PZERO, PZERO, 0)
	T2(fmax.s, PZERO, NZERO, PZERO, 0)
	T2(fmin.s, QNAN, ONE, ONE, 0)			// one NaN: the other operand
	T2(fmin.s, ONE, QNANP, ONE, 0)
	T2(fmax.s, QNANP, MONE, MONE, 0)
	T2(fmax.s, NQNAN, NINF, NINF, 0)
	T2(fmin.s, SNAN, ONE, ONE, NV)			// sNaN: the number, and NV
	T2(fmax.s, ONE, SNAN, ONE, NV)
	T2(fmin.s, QNANP, QNANP, QNAN, 0)		// both NaN: canonical NaN
	T2(fmax.s, SNAN, QNAN, QNAN, NV)
	T2(fmin.s, NSNAN, NSNAN, QNAN, NV)
	T2(fmin.s, NINF, MAXF, NINF, 0)
	T2(fmax.s, PINF, MAXF, PINF, 0)
	T2(fmin.s, MINS, NZERO, NZERO, 0)
	T2(fmax.s, MINS, 0x80000001, MINS, 0)

	TCASE("feq.s")
	TX2(feq.s, ONE, ONE, 1, 0)
	TX2(feq.s, ONE, TWO, 0, 0)
	TX2(feq.s, PZERO, NZERO, 1, 0)
	TX2(feq.s, QNAN, QNAN, 0, 0)			// quiet comparison
	TX2(feq.s, QNANP, ONE, 0, 0)
	TX2(feq.s, SNAN, ONE, 0, NV)
	TX2(feq.s, ONE, NSNAN, 0, NV)
	TX2(feq.s, PINF, PINF, 1, 0)
	TCASE("flt.s")
	TX2(flt.s, ONE, TWO, 1, 0)
	TX2(flt.s, TWO, ONE, 0, 0)
	TX2(flt.s, ONE, ONE, 0, 0)
	TX2(flt.s, NZERO, PZERO, 0, 0)
	TX2(flt.s, MONE, 0xbf000000, 1, 0)
	TX2(flt.s, NINF, 0xff7fffff, 1, 0)
	TX2(flt.s, 0x80000001, MINS, 1, 0)
	TX2(flt.s, QNAN, ONE, 0, NV)			// signalling comparison
	TX2(flt.s, ONE, QNAN, 0, NV)
	TX2(flt.s, SNAN, ONE, 0, NV)
	TCASE("fle.s")
	TX2(fle.s, ONE, ONE, 1, 0)
	TX2(fle.s, NZERO, PZERO, 1, 0)
	TX2(fle.s, PZERO, NZERO, 1, 0)
	TX2(fle.s, TWO, ONE, 0, 0)
	TX2(fle.s, MINS, MINN, 1, 0)
	TX2(fle.s, 0x80000001, NZERO, 1, 0)
	TX2(fle.s, NINF, NINF, 1, 0)
	TX2(fle.s, QNAN, QNAN, 0, NV)
	TX2(fle.s, ONE, NSNAN, 0, NV)

	TCASE("fclass.s")
	TX1(fclass.s, NINF, 0x001, 0)
	TX1(fclass.s, MONE, 0x002, 0)
	TX1(fclass.s, 0xff7fffff, 0x002, 0)
	TX1(fclass.s, 0x807fffff, 0x004, 0)
	TX1(fclass.s, 0x80000001, 0x004, 0)
	TX1(fclass.s, NZERO, 0x008, 0)
	TX1(fclass.s, PZERO, 0x010, 0)
	TX1(fclass.s, MINS, 0x020, 0)
	TX1(fclass.s, MAXS, 0x020, 0)
	TX1(fclass.s, ONE, 0x040, 0)
	TX1(fclass.s, MINN, 0x040, 0)
	TX1(fclass.s, MAXF, 0x040, 0)
	TX1(fclass.s, PINF, 0x080, 0)
	TX1(fclass.s, SNAN, 0x100, 0)
	TX1(fclass.s, NSNAN, 0x100, 0)
	TX1(fclass.s, 0x7fbfffff, 0x100, 0)
	TX1(fclass.s, QNAN, 0x200, 0)
	TX1(fclass.s, NQNAN, 0x200, 0)
	TX1(fclass.s, 0x7fffffff, 0x200, 0)

	TCASE("fcvt.w.s")
	TX1RM(fcvt.w.s, 0x3fc00000, rtz, 1, NX)
	TX1RM(fcvt.w.s, 0xbfc00000, rtz, -1, NX)
	TX1RM(fcvt.w.s, 0xbfc00000, rne, -2, NX)
	TX1RM(fcvt.w.s, THREE, rtz, 3, 0)
	TX1RM(fcvt.w.s, QNAN, rtz, 0x7fffffff, NV)		// NaN -> 2^31-1
	TX1RM(fcvt.w.s, NQNAN, rtz, 0x7fffffff, NV)		// whatever its sign
	TX1RM(fcvt.w.s, SNAN, rtz, 0x7fffffff, NV)
	TX1RM(fcvt.w.s, PINF, rtz, 0x7fffffff, NV)
	TX1RM(fcvt.w.s, NINF, rtz, 0xffffffff80000000, NV)
	TX1RM(fcvt.w.s, 0x4f000000, rtz, 0x7fffffff, NV)	// 2^31
	TX1RM(fcvt.w.s, 0xcf000000, rtz, 0xffffffff80000000, 0)	// -2^31 fits
	TX1RM(fcvt.w.s, 0xcf000001, rtz, 0xffffffff80000000, NV)
	TX1RM(fcvt.w.s, 0x4effffff, rtz, 0x7fffff80, 0)
	TX1RM(fcvt.w.s, NZERO, rtz, 0, 0)
	TX1RM(fcvt.w.s, MINS, rne, 0, NX)
	TX1(fcvt.w.s, 0x40200000, 2, NX)			// dyn, frm = RNE: 2.5 -> 2
	TCASE("fcvt.wu.s")
	TX1RM(fcvt.wu.s, QNAN, rtz, 0xffffffffffffffff, NV)	// 2^32-1, sign-extended
	TX1RM(fcvt.wu.s, PINF, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.wu.s, NINF, rtz, 0, NV)
	TX1RM(fcvt.wu.s, MONE, rtz, 0, NV)
	TX1RM(fcvt.wu.s, 0xbf000000, rtz, 0, NX)		// -0.5 rounds to 0: in range
	TX1RM(fcvt.wu.s, 0xbf400000, rne, 0, NV)		// -0.75 rounds to -1
	TX1RM(fcvt.wu.s, 0x4f7fffff, rtz, 0xffffffffffffff00, 0)	// result sign-extends
	TX1RM(fcvt.wu.s, 0x4f800000, rtz, 0xffffffffffffffff, NV)	// 2^32
	TX1RM(fcvt.wu.s, 0x4f000000, rtz, 0xffffffff80000000, 0)	// 2^31
	TX1RM(fcvt.wu.s, THREE, rtz, 3, 0)
	TX1RM(fcvt.wu.s, NZERO, rtz, 0, 0)
	TCASE("fcvt.l.s")
	TX1RM(fcvt.l.s, QNAN, rtz, 0x7fffffffffffffff, NV)
	TX1RM(fcvt.l.s, NSNAN, rtz, 0x7fffffffffffffff, NV)
	TX1RM(fcvt.l.s, PINF, rtz, 0x7fffffffffffffff, NV)
	TX1RM(fcvt.l.s, NINF, rtz, 0x8000000000000000, NV)
	TX1RM(fcvt.l.s, 0x5f000000, rtz, 0x7fffffffffffffff, NV)	// 2^63
	TX1RM(fcvt.l.s, 0xdf000000, rtz, 0x8000000000000000, 0)		// -2^63 fits
	TX1RM(fcvt.l.s, 0xdf000001, rtz, 0x8000000000000000, NV)
	TX1RM(fcvt.l.s, 0x5effffff, rtz, 0x7fffff8000000000, 0)
	TX1RM(fcvt.l.s, 0xbfc00000, rne, -2, NX)
	TX1RM(fcvt.l.s, 0x4f800000, rtz, 0x100000000, 0)
	TCASE("fcvt.lu.s")
	TX1RM(fcvt.lu.s, QNAN, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.lu.s, PINF, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.lu.s, NINF, rtz, 0, NV)
	TX1RM(fcvt.lu.s, MONE, rtz, 0, NV)
	TX1RM(fcvt.lu.s, 0x5f800000, rtz, 0xffffffffffffffff, NV)	// 2^64
	TX1RM(fcvt.lu.s, 0x5f7fffff, rtz, 0xffffff0000000000, 0)
	TX1RM(fcvt.lu.s, 0x5f000000, rtz, 0x8000000000000000, 0)
	TX1RM(fcvt.lu.s, 0xbf000000, rtz, 0, NX)
	TX1RM(fcvt.lu.s, 0x3fc00000, rup, 2, NX)

	TCASE("fcvt.s.w/fcvt.s.wu/fcvt.s.l/fcvt.s.lu")
	TI(fcvt.s.w, -1, MONE, 0)
	TI(fcvt.s.w, 0, PZERO, 0)				// +0, never -0
	TI(fcvt.s.w, 0x7fffffff, 0x4f000000, NX)
	TI(fcvt.s.w, 0x1234567800000001, ONE, 0)		// upper half ignored
	TI(fcvt.s.w, 0x0000000080000000, 0xcf000000, 0)
	TI(fcvt.s.wu, 0xffffffff, 0x4f800000, NX)
	TI(fcvt.s.wu, 0xffffffff00000002, TWO, 0)
	TI(fcvt.s.wu, 0x80000000, 0x4f000000, 0)
	TI(fcvt.s.l, 0x8000000000000000, 0xdf000000, 0)
	TI(fcvt.s.l, -1, MONE, 0)
	TI(fcvt.s.l, 0x7fffffffffffffff, 0x5f000000, NX)
	TI(fcvt.s.l, 0x100000000, 0x4f800000, 0)
	TI(fcvt.s.lu, 0xffffffffffffffff, 0x5f800000, NX)
	TI(fcvt.s.lu, 0x8000000000000000, 0x5f000000, 0)
	TI(fcvt.s.lu, 0, PZERO, 0)
	li	a1, 0xffffffffffffffff
	fcvt.s.lu fa0, a1, rtz
	FCHECKS(fa0, 0x5f7fffff)
	FFLAGS(NX)

	TCASE("NaN boxing: unboxed operands read as the canonical NaN")
	FLI_D(fa1, 0x000000003f800000)	// a single 1.0 without its box
	FLI_S(fa2, ONE)
	fadd.s	fa0, fa1, fa2
	FCHECKS(fa0, QNAN)
	FFLAGS(0)			// the canonical NaN is quiet: no NV
	fadd.s	fa0, fa2, fa1
	FCHECKS(fa0, QNAN)
	FFLAGS(0)
	fsgnj.s	fa0, fa1, fa1
	FCHECKS(fa0, QNAN)
	fsgnjn.s fa0, fa1, fa2		// sign: not sign(1.0); magnitude: the NaN
	FCHECKS(fa0, 0xffc00000)
	FLI_S(fa3, MONE)
	fsgnjx.s fa0, fa3, fa1		// rs2 is the canonical NaN: sign bit 0
	FCHECKS(fa0, MONE)
	fsgnj.s	fa0, fa3, fa1
	FCHECKS(fa0, ONE)
	fclass.s a0, fa1
	CHECK(a0, 0x200)
	feq.s	a0, fa1, fa1
	CHECK(a0, 0)
	FFLAGS(0)
	flt.s	a0, fa1, fa2
	CHECK(a0, 0)
	FFLAGS(NV)
	fmin.s	fa0, fa1, fa2
	FCHECKS(fa0, ONE)
	fmax.s	fa0, fa2, fa1
	FCHECKS(fa0, ONE)
	FFLAGS(0)
	fmadd.s	fa0, fa2, fa2, fa1
	FCHECKS(fa0, QNAN)
	fsqrt.s	fa0, fa1
	FCHECKS(fa0, QNAN)
	fcvt.d.s fa0, fa1
	FCHECKD(fa0, 0x7ff8000000000000)
	FFLAGS(0)
	fcvt.w.s a0, fa1, rtz
	CHECK(a0, 0x7fffffff)
	FFLAGS(NV)
	FLI_D(fa4, 0xfffffffe3f800000)	// almost boxed is not boxed
	fmul.s	fa0, fa4, fa2
	FCHECKS(fa0, QNAN)
	FLI_D(fa4, 0x3ff0000000000000)	// a double 1.0 used as a single
	fadd.s	fa0, fa4, fa2
	FCHECKS(fa0, QNAN)
	FFLAGS(0)
	TCASE("NaN boxing: transfers ignore the box")
	fmv.x.w	a0, fa1
	CHECK(a0, 0x3f800000)
	lla	t1, fbuf
	fsw	fa1, 0(t1)
	lwu	a0, 0(t1)
	CHECK(a0, 0x3f800000)
	FFLAGS(0)
	TCASE("NaN boxing: results are boxed")
	FLI_D(fa0, 0)
	FLI_D(fa1, 0)
	fadd.s	fa0, fa0, fa0		// two unboxed zeros (canonical NaNs)
	FCHECKS(fa0, QNAN)
	FLI_S(fa1, TWO)
	fsqrt.s	fa0, fa1
	FCHECKS(fa0, 0x3fb504f3)
	FLI_D(fa0, 0)
	fmin.s	fa0, fa1, fa1
	FCHECKS(fa0, TWO)
	FLI_D(fa0, 0)
	fsgnj.s	fa0, fa1, fa1
	FCHECKS(fa0, TWO)
	FLI_D(fa0, 0)
	li	a1, 3
	fcvt.s.w fa0, a1
	FCHECKS(fa0, THREE)
	FFLAGS(NX)

	TCASE("canonical NaN results")
	T2(fmul.s, QNANP, ONE, QNAN, 0)
	T2(fadd.s, 0xffc00001, ONE, QNAN, 0)		// a negative NaN in: positive out
	T1(fsqrt.s, 0xffc12345, QNAN, 0)
	T2(fdiv.s, NSNAN, ONE, QNAN, NV)
	T2(fsub.s, 0x7fffffff, 0x7fffffff, QNAN, 0)
	T3(fmsub.s, ONE, ONE, 0xffffffff, QNAN, 0)

	TCASE("fflags accumulate until cleared")
	FLI_S(fa1, ONE)
	FLI_S(fa2, PZERO)
	fdiv.s	fa0, fa1, fa2			// DZ
	FLI_S(fa2, 0x33800000)
	fadd.s	fa0, fa1, fa2			// NX
	fadd.s	fa0, fa1, fa1			// exact: clears nothing
	fsgnj.s	fa0, fa1, fa1
	FFLAGS(DZ | NX)
	FFLAGS(0)				// FFLAGS cleared them
	FLI_S(fa1, SNAN)
	fsgnjn.s fa0, fa1, fa1			// sign injection and moves never set flags
	fmv.x.w	a0, fa1
	fclass.s a0, fa1
	lla	t1, fbuf
	fsw	fa1, 0(t1)
	flw	fa0, 0(t1)
	FFLAGS(0)
TEST_END

	.data
	.balign 8
fdata:
	.word	0x40490fdb
	.word	0x7f800001
fbuf:
	.zero	16
