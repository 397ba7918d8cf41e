/*
 * d.S — every instruction of the D extension (unpriv spec ch. 12 "D Standard
 * Extension") with exact result bits and fflags after each operation: the
 * arithmetic special cases, canonical NaN 0x7ff8000000000000, fmin/fmax,
 * comparisons, fclass of all ten classes, fcvt saturation in every integer
 * width and signedness, the single<->double conversions (rounding, overflow,
 * underflow, NaNs), fmv.x.d/fmv.d.x and fld/fsd moving bits untouched, and a
 * NaN-boxed single read by a D instruction (it is a quiet NaN).
 * Rounding-mode coverage is in fround.c; unless an rm is written the
 * instruction uses dyn with frm = RNE.
 */
#include "test.h"

#define ONE	0x3ff0000000000000
#define TWO	0x4000000000000000
#define THREE	0x4008000000000000
#define FOUR	0x4010000000000000
#define FIVE	0x4014000000000000
#define SIX	0x4018000000000000
#define SEVEN	0x401c000000000000
#define HALF	0x3fe0000000000000
#define MONE	0xbff0000000000000
#define PINF	0x7ff0000000000000
#define NINF	0xfff0000000000000
#define QNAN	0x7ff8000000000000	/* the canonical NaN */
#define QNANP	0x7ff8000000012345
#define NQNAN	0xfff8000000000000
#define SNAN	0x7ff0000000000001
#define NSNAN	0xfff0000000012345
#define PZERO	0x0000000000000000
#define NZERO	0x8000000000000000
#define MAXF	0x7fefffffffffffff
#define MINN	0x0010000000000000
#define MINS	0x0000000000000001
#define MAXS	0x000fffffffffffff

#define FLI_S(fr, bits) li s10, bits; fmv.w.x fr, s10
#define FLI_D(fr, bits) li s10, bits; fmv.d.x fr, s10
#define T1(op, a, exp, fl) FLI_D(fa1, a); op fa0, fa1; FCHECKD(fa0, exp); FFLAGS(fl)
#define T2(op, a, b, exp, fl) FLI_D(fa1, a); FLI_D(fa2, b); op fa0, fa1, fa2; FCHECKD(fa0, exp); FFLAGS(fl)
#define T3(op, a, b, c, exp, fl) \
	FLI_D(fa1, a); FLI_D(fa2, b); FLI_D(fa3, c); op fa0, fa1, fa2, fa3; FCHECKD(fa0, exp); FFLAGS(fl)
#define TX1(op, a, exp, fl) FLI_D(fa1, a); op a0, fa1; CHECK(a0, exp); FFLAGS(fl)
#define TX1RM(op, a, rm, exp, fl) FLI_D(fa1, a); op a0, fa1, rm; CHECK(a0, exp); FFLAGS(fl)
#define TX2(op, a, b, exp, fl) FLI_D(fa1, a); FLI_D(fa2, b); op a0, fa1, fa2; CHECK(a0, exp); FFLAGS(fl)
#define TI(op, x, exp, fl) li a1, x; op fa0, a1; FCHECKD(fa0, exp); FFLAGS(fl)
/* single <-> double */
#define TSD(a, exp, fl) FLI_D(fa1, a); fcvt.s.d fa0, fa1; FCHECKS(fa0, exp); FFLAGS(fl)
#define TDS(a, exp, fl) FLI_S(fa1, a); fcvt.d.s fa0, fa1; FCHECKD(fa0, exp); FFLAGS(fl)

TEST_MAIN
	csrw	fcsr, zero

	TCASE("fld/fsd")
	lla	t0, ddata
	fld	ft0, 0(t0)
	FCHECKD(ft0, 0x400921fb54442d18)
	fld	ft1, 8(t0)
	FCHECKD(ft1, SNAN)			// loaded unchanged
	addi	t1, t0, 16
	fld	ft2, -16(t1)
	FCHECKD(ft2, 0x400921fb54442d18)
	lla	t1, dbuf
	fsd	ft1, 0(t1)
	ld	a0, 0(t1)
	CHECK(a0, SNAN)
	FLI_S(ft3, 0x3f800000)
	fsd	ft3, 8(t1)			// a boxed single is stored with its box
	ld	a0, 8(t1)
	CHECK(a0, 0xffffffff3f800000)
	FFLAGS(0)

	TCASE("fmv.d.x/fmv.x.d")
	li	a1, 0xfff0000000012345
	fmv.d.x	fa0, a1
	fmv.x.d	a0, fa0
	CHECK(a0, 0xfff0000000012345)
	li	a1, 0x8000000000000000
	fmv.d.x	fa0, a1
	fmv.x.d	a0, fa0
	CHECK(a0, 0x8000000000000000)
	FFLAGS(0)

	TCASE("fadd.d")
	T2(fadd.d, ONE, TWO, THREE, 0)
	T2(fadd.d, ONE, 0x3ca0000000000000, ONE, NX)	// 1 + 2^-53 ties to even
	T2(fadd.d, PINF, NINF, QNAN, NV)
	T2(fadd.d, PINF, PINF, PINF, 0)
	T2(fadd.d, QNANP, ONE, QNAN, 0)
	T2(fadd.d, ONE, SNAN, QNAN, NV)
	T2(fadd.d, SNAN, QNAN, QNAN, NV)
	T2(fadd.d, MAXF, MAXF, PINF, OF | NX)
	T2(fadd.d, NZERO, NZERO, NZERO, 0)
	T2(fadd.d, PZERO, NZERO, PZERO, 0)
	T2(fadd.d, MINS, MINS, 0x0000000000000002, 0)
	T2(fadd.d, MINN, 0x8000000000000001, MAXS, 0)
	T2(fadd.d, ONE, MONE, PZERO, 0)
	FLI_D(fa1, ONE)
	FLI_D(fa2, MONE)
	fadd.d	fa0, fa1, fa2, rdn
	FCHECKD(fa0, NZERO)
	FFLAGS(0)

	TCASE("fsub.d")
	T2(fsub.d, THREE, ONE, TWO, 0)
	T2(fsub.d, PINF, PINF, QNAN, NV)
	T2(fsub.d, ONE, ONE, PZERO, 0)
	T2(fsub.d, NZERO, PZERO, NZERO, 0)
	T2(fsub.d, NSNAN, ONE, QNAN, NV)
	T2(fsub.d, 0xffefffffffffffff, MAXF, NINF, OF | NX)

	TCASE("fmul.d")
	T2(fmul.d, TWO, THREE, SIX, 0)
	T2(fmul.d, PZERO, PINF, QNAN, NV)
	T2(fmul.d, NZERO, THREE, NZERO, 0)
	T2(fmul.d, MINN, HALF, 0x0008000000000000, 0)
	T2(fmul.d, MINS, HALF, PZERO, UF | NX)
	T2(fmul.d, MAXF, TWO, PINF, OF | NX)
	T2(fmul.d, PINF, 0xc000000000000000, NINF, 0)
	T2(fmul.d, QNAN, PZERO, QNAN, 0)
	T2(fmul.d, 0x3ff0000002000000, 0x3ff0000002000000, 0x3ff0000004000000, NX)

	TCASE("fdiv.d")
	T2(fdiv.d, SIX, THREE, TWO, 0)
	T2(fdiv.d, ONE, PZERO, PINF, DZ)
	T2(fdiv.d, ONE, NZERO, NINF, DZ)
	T2(fdiv.d, PZERO, PZERO, QNAN, NV)
	T2(fdiv.d, PINF, PINF, QNAN, NV)
	T2(fdiv.d, MONE, PINF, NZERO, 0)
	T2(fdiv.d, NINF, PZERO, NINF, 0)
	T2(fdiv.d, ONE, THREE, 0x3fd5555555555555, NX)
	T2(fdiv.d, SNAN, ONE, QNAN, NV)
	T2(fdiv.d, MINN, 0x4330000000000000, MINS, 0)	// 2^-1022 / 2^52, exact
	T2(fdiv.d, MINN, 0x4340000000000000, PZERO, UF | NX)

	TCASE("fsqrt.d")
	T1(fsqrt.d, FOUR, TWO, 0)
	T1(fsqrt.d, TWO, 0x3ff6a09e667f3bcd, NX)
	T1(fsqrt.d, MONE, QNAN, NV)
	T1(fsqrt.d, NZERO, NZERO, 0)
	T1(fsqrt.d, PINF, PINF, 0)
	T1(fsqrt.d, NINF, QNAN, NV)
	T1(fsqrt.d, SNAN, QNAN, NV)
	T1(fsqrt.d, QNANP, QNAN, 0)
	T1(fsqrt.d, MINS, 0x1e60000000000000, 0)	// sqrt(2^-1074) = 2^-537

	TCASE("fmadd.d/fmsub.d/fnmsub.d/fnmadd.d")
	T3(fmadd.d, TWO, THREE, ONE, SEVEN, 0)
	T3(fmsub.d, TWO, THREE, ONE, FIVE, 0)
	T3(fnmsub.d, TWO, THREE, ONE, 0xc014000000000000, 0)
	T3(fnmadd.d, TWO, THREE, ONE, 0xc01c000000000000, 0)
	T3(fmadd.d, PINF, PZERO, QNAN, QNAN, NV)	// inf*0 + qNaN raises NV
	T3(fmadd.d, PZERO, NINF, ONE, QNAN, NV)
	T3(fmadd.d, PINF, ONE, NINF, QNAN, NV)
	T3(fmadd.d, ONE, ONE, QNANP, QNAN, 0)
	T3(fmadd.d, ONE, SNAN, ONE, QNAN, NV)
	T3(fnmadd.d, QNAN, ONE, ONE, QNAN, 0)
	T3(fmadd.d, 0x3ff0000002000000, 0x3ff0000002000000, MONE, 0x3e50000001000000, 0)
	T3(fmadd.d, NZERO, ONE, NZERO, NZERO, 0)
	T3(fnmadd.d, PZERO, ONE, PZERO, NZERO, 0)
	T3(fnmsub.d, PZERO, ONE, PZERO, PZERO, 0)
	T3(fmsub.d, MAXF, TWO, ONE, PINF, OF | NX)

	TCASE("fsgnj.d/fsgnjn.d/fsgnjx.d")
	T2(fsgnj.d, ONE, 0xc000000000000000, MONE, 0)
	T2(fsgnjn.d, ONE, ONE, MONE, 0)
	T2(fsgnjx.d, MONE, MONE, ONE, 0)
	T2(fsgnjx.d, ONE, MONE, MONE, 0)
	T2(fsgnj.d, QNANP, MONE, 0xfff8000000012345, 0)
	T2(fsgnjn.d, SNAN, SNAN, 0xfff0000000000001, 0)
	T1(fneg.d, PZERO, NZERO, 0)
	T1(fabs.d, NINF, PINF, 0)
	T1(fmv.d, NSNAN, NSNAN, 0)

	TCASE("fmin.d/fmax.d")
	T2(fmin.d, ONE, TWO, ONE, 0)
	T2(fmax.d, ONE, TWO, TWO, 0)
	T2(fmin.d, NZERO, PZERO, NZERO, 0)
	T2(fmin.d, PZERO, NZERO, NZERO, 0)
	T2(fmax.d, NZERO, PZERO, PZERO, 0)
	T2(fmax.d, PZERO, NZERO, PZERO, 0)
	T2(fmin.d, QNAN, ONE, ONE, 0)
	T2(fmax.d, MONE, QNANP, MONE, 0)
	T2(fmin.d, SNAN, ONE, ONE, NV)
	T2(fmax.d, ONE, NSNAN, ONE, NV)
	T2(fmin.d, QNANP, NQNAN, QNAN, 0)
	T2(fmax.d, SNAN, SNAN, QNAN, NV)
	T2(fmin.d, NINF, MAXF, NINF, 0)
	T2(fmax.d, MINS, 0x8000000000000001, MINS, 0)

	TCASE("feq.d/flt.d/fle.d")
	TX2(feq.d, ONE, ONE, 1, 0)
	TX2(feq.d, PZERO, NZERO, 1, 0)
	TX2(feq.d, QNAN, QNAN, 0, 0)
	TX2(feq.d, SNAN, ONE, 0, NV)
	TX2(feq.d, ONE, TWO, 0, 0)
	TX2(flt.d, ONE, TWO, 1, 0)
	TX2(flt.d, NZERO, PZERO, 0, 0)
	TX2(flt.d, 0x8000000000000001, MINS, 1, 0)
	TX2(flt.d, NINF, 0xffefffffffffffff, 1, 0)
	TX2(flt.d, QNAN, ONE, 0, NV)
	TX2(flt.d, ONE, SNAN, 0, NV)
	TX2(fle.d, ONE, ONE, 1, 0)
	TX2(fle.d, PZERO, NZERO, 1, 0)
	TX2(fle.d, TWO, ONE, 0, 0)
	TX2(fle.d, ONE, QNANP, 0, NV)
	TX2(fle.d, PINF, PINF, 1, 0)

	TCASE("fclass.d")
	TX1(fclass.d, NINF, 0x001, 0)
	TX1(fclass.d, MONE, 0x002, 0)
	TX1(fclass.d, 0x800fffffffffffff, 0x004, 0)
	TX1(fclass.d, NZERO, 0x008, 0)
	TX1(fclass.d, PZERO, 0x010, 0)
	TX1(fclass.d, MINS, 0x020, 0)
	TX1(fclass.d, MAXS, 0x020, 0)
	TX1(fclass.d, MINN, 0x040, 0)
	TX1(fclass.d, MAXF, 0x040, 0)
	TX1(fclass.d, PINF, 0x080, 0)
	TX1(fclass.d, SNAN, 0x100, 0)
	TX1(fclass.d, 0x7ff7ffffffffffff, 0x100, 0)
	TX1(fclass.d, NSNAN, 0x100, 0)
	TX1(fclass.d, QNAN, 0x200, 0)
	TX1(fclass.d, NQNAN, 0x200, 0)
	TX1(fclass.d, 0xffffffff3f800000, 0x200, 0)	// a boxed single is a qNaN here

	TCASE("fcvt.w.d")
	TX1RM(fcvt.w.d, QNAN, rtz, 0x7fffffff, NV)
	TX1RM(fcvt.w.d, NSNAN, rtz, 0x7fffffff, NV)
	TX1RM(fcvt.w.d, PINF, rtz, 0x7fffffff, NV)
	TX1RM(fcvt.w.d, NINF, rtz, 0xffffffff80000000, NV)
	TX1RM(fcvt.w.d, 0x41e0000000000000, rtz, 0x7fffffff, NV)	// 2^31
	TX1RM(fcvt.w.d, 0x41dfffffffc00000, rtz, 0x7fffffff, 0)	// 2^31-1 exactly
	TX1RM(fcvt.w.d, 0x41dfffffffe00000, rtz, 0x7fffffff, NX)	// 2^31-0.5
	TX1RM(fcvt.w.d, 0xc1e0000000000000, rtz, 0xffffffff80000000, 0)
	TX1RM(fcvt.w.d, 0xc1e0000000200000, rtz, 0xffffffff80000000, NV)	// -2^31-1
	TX1RM(fcvt.w.d, 0xc1e0000000100000, rtz, 0xffffffff80000000, NX)	// -2^31-0.5
	TX1RM(fcvt.w.d, 0xbff8000000000000, rne, -2, NX)
	TX1RM(fcvt.w.d, MINS, rup, 1, NX)
	TCASE("fcvt.wu.d")
	TX1RM(fcvt.wu.d, QNAN, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.wu.d, PINF, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.wu.d, NINF, rtz, 0, NV)
	TX1RM(fcvt.wu.d, MONE, rtz, 0, NV)
	TX1RM(fcvt.wu.d, 0xbfe0000000000000, rtz, 0, NX)
	TX1RM(fcvt.wu.d, 0x41efffffffe00000, rtz, 0xffffffffffffffff, 0)	// 2^32-1, sign-extended
	TX1RM(fcvt.wu.d, 0x41f0000000000000, rtz, 0xffffffffffffffff, NV)	// 2^32
	TX1RM(fcvt.wu.d, 0x41dfffffffc00000, rtz, 0x7fffffff, 0)
	TCASE("fcvt.l.d")
	TX1RM(fcvt.l.d, QNAN, rtz, 0x7fffffffffffffff, NV)
	TX1RM(fcvt.l.d, PINF, rtz, 0x7fffffffffffffff, NV)
	TX1RM(fcvt.l.d, NINF, rtz, 0x8000000000000000, NV)
	TX1RM(fcvt.l.d, 0x43e0000000000000, rtz, 0x7fffffffffffffff, NV)	// 2^63
	TX1RM(fcvt.l.d, 0xc3e0000000000000, rtz, 0x8000000000000000, 0)
	TX1RM(fcvt.l.d, 0xc3e0000000000001, rtz, 0x8000000000000000, NV)
	TX1RM(fcvt.l.d, 0x43dfffffffffffff, rtz, 0x7ffffffffffffc00, 0)
	TX1RM(fcvt.l.d, 0xc004000000000000, rne, -2, NX)			// -2.5
	TCASE("fcvt.lu.d")
	TX1RM(fcvt.lu.d, QNAN, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.lu.d, NQNAN, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.lu.d, PINF, rtz, 0xffffffffffffffff, NV)
	TX1RM(fcvt.lu.d, NINF, rtz, 0, NV)
	TX1RM(fcvt.lu.d, MONE, rtz, 0, NV)
	TX1RM(fcvt.lu.d, 0x43f0000000000000, rtz, 0xffffffffffffffff, NV)	// 2^64
	TX1RM(fcvt.lu.d, 0x43efffffffffffff, rtz, 0xfffffffffffff800, 0)
	TX1RM(fcvt.lu.d, 0xbfe0000000000000, rtz, 0, NX)
	TX1RM(fcvt.lu.d, 0x3ff8000000000000, rmm, 2, NX)

	TCASE("fcvt.d.w/fcvt.d.wu/fcvt.d.l/fcvt.d.lu")
	TI(fcvt.d.w, -1, MONE, 0)
	TI(fcvt.d.w, 0, PZERO, 0)
	TI(fcvt.d.w, 0x7fffffff, 0x41dfffffffc00000, 0)		// always exact
	TI(fcvt.d.w, 0x0000000080000000, 0xc1e0000000000000, 0)
	TI(fcvt.d.w, 0xffffffff00000003, THREE, 0)		// upper half ignored
	TI(fcvt.d.wu, 0xffffffff, 0x41efffffffe00000, 0)
	TI(fcvt.d.wu, 0x1234567800000005, FIVE, 0)
	TI(fcvt.d.l, 0x8000000000000000, 0xc3e0000000000000, 0)
	TI(fcvt.d.l, 0x7fffffffffffffff, 0x43e0000000000000, NX)
	TI(fcvt.d.l, 0x20000000000001, 0x4340000000000000, NX)
	TI(fcvt.d.l, -6, 0xc018000000000000, 0)
	TI(fcvt.d.lu, 0xffffffffffffffff, 0x43f0000000000000, NX)
	TI(fcvt.d.lu, 0x8000000000000000, 0x43e0000000000000, 0)
	TI(fcvt.d.lu, 0, PZERO, 0)

	TCASE("fcvt.s.d")
	TSD(ONE, 0x3f800000, 0)
	TSD(0x3fd5555555555555, 0x3eaaaaab, NX)
	TSD(MAXF, 0x7f800000, OF | NX)
	TSD(0x47efffffe0000000, 0x7f7fffff, 0)			// the largest single
	TSD(0x47efffffe0000001, 0x7f7fffff, NX)
	TSD(0x47effffff0000000, 0x7f800000, OF | NX)		// ties up to 2^128
	TSD(0x3690000000000000, 0x00000000, UF | NX)		// 2^-150
	TSD(0x36a0000000000000, 0x00000001, 0)			// 2^-149, exact
	TSD(0xb6a8000000000000, 0x80000002, UF | NX)		// -1.5 * 2^-149
	TSD(QNANP, 0x7fc00000, 0)
	TSD(SNAN, 0x7fc00000, NV)
	TSD(NINF, 0xff800000, 0)
	TSD(NZERO, 0x80000000, 0)
	TCASE("fcvt.d.s")
	TDS(0x3f800000, ONE, 0)
	TDS(0x00000001, 0x36a0000000000000, 0)			// a subnormal single is normal here
	TDS(0x3eaaaaab, 0x3fd5555560000000, 0)
	TDS(0x7f800001, QNAN, NV)
	TDS(0x7fc12345, QNAN, 0)
	TDS(0xff800000, NINF, 0)
	TDS(0x80000000, NZERO, 0)
	TDS(0x7f7fffff, 0x47efffffe0000000, 0)

	TCASE("a NaN-boxed single read as a double")
	FLI_S(fa1, 0x3f800000)
	FLI_D(fa2, ONE)
	fadd.d	fa0, fa1, fa2
	FCHECKD(fa0, QNAN)
	FFLAGS(0)
	fmax.d	fa0, fa1, fa2
	FCHECKD(fa0, ONE)
	FFLAGS(0)

	TCASE("canonical NaN results")
	T2(fmul.d, QNANP, ONE, QNAN, 0)
	T2(fadd.d, 0xfff8000000000001, ONE, QNAN, 0)
	T1(fsqrt.d, 0xfff8000000012345, QNAN, 0)
	T2(fdiv.d, NSNAN, ONE, QNAN, NV)
	T3(fnmsub.d, ONE, ONE, 0xffffffffffffffff, QNAN, 0)

	TCASE("fflags accumulate until cleared")
	FLI_D(fa1, ONE)
	FLI_D(fa2, PZERO)
	fdiv.d	fa0, fa1, fa2
	FLI_D(fa2, MAXF)
	fmul.d	fa0, fa2, fa2
	FLI_D(fa2, SNAN)
	feq.d	a0, fa1, fa2
	FFLAGS(DZ | OF | NX | NV)
	FFLAGS(0)
TEST_END

	.data
	.balign 8
ddata:
	.dword	0x400921fb54442d18
	.dword	0x7ff0000000000001
dbuf:
	.zero	16
