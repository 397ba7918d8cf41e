/*
 * zicsr.S — the Zicsr instructions (unpriv spec ch. 9 "Zicsr") on the
 * floating-point CSRs fflags, frm and fcsr (ch. 11.2): csrrw, csrrs, csrrc
 * and their immediate forms, old value returned, rd = x0 and rs1 = x0 /
 * uimm = 0 forms, fcsr = frm << 5 | fflags as three views of one register,
 * writes to bits outside each field ignored and read as zero; frm steering
 * dyn rounding; and the user counters cycle, time and instret (ch. 10
 * "Zicntr"): readable with every read-only form and never going backwards.
 */
#include "test.h"

TEST_MAIN
	TCASE("fcsr is zero at program start")
	frcsr	a0
	CHECK(a0, 0)

	TCASE("csrrw")
	li	a1, 0xff
	csrrw	a0, fcsr, a1
	CHECK(a0, 0)
	csrr	a0, fcsr
	CHECK(a0, 0xff)
	csrr	a0, frm
	CHECK(a0, 7)
	csrr	a0, fflags
	CHECK(a0, 0x1f)
	li	a1, -1
	csrrw	a0, fcsr, a1		// bits 63:8 are ignored
	CHECK(a0, 0xff)
	csrr	a0, fcsr
	CHECK(a0, 0xff)
	li	a1, 0x41
	csrrw	a1, fcsr, a1		// rd == rs1: old value out, old rs1 in
	CHECK(a1, 0xff)
	csrr	a0, fcsr
	CHECK(a0, 0x41)
	li	a1, 0x3
	csrrw	a0, frm, a1		// frm alone: fflags untouched
	CHECK(a0, 2)
	csrr	a0, fcsr
	CHECK(a0, 0x61)
	li	a1, 0xff
	csrrw	a0, fflags, a1		// only 5 bits
	CHECK(a0, 0x01)
	csrr	a0, fcsr
	CHECK(a0, 0x7f)
	li	a1, 0xfd
	csrrw	a0, frm, a1		// only 3 bits
	CHECK(a0, 3)
	csrr	a0, frm
	CHECK(a0, 5)
	csrr	a0, fcsr
	CHECK(a0, 0xbf)
	li	a1, 0
	csrw	fcsr, a1		// csrrw with rd = x0
	csrr	a0, fcsr
	CHECK(a0, 0)

	TCASE("csrrs")
	li	a1, 0x21
	csrrs	a0, fcsr, a1
	CHECK(a0, 0)
	li	a1, 0x06
	csrrs	a0, fflags, a1
	CHECK(a0, 0x01)
	csrr	a0, fcsr
	CHECK(a0, 0x27)
	li	a1, 0x2
	csrrs	a0, frm, a1
	CHECK(a0, 1)
	csrr	a0, fcsr
	CHECK(a0, 0x67)
	csrrs	a0, fcsr, zero		// rs1 = x0: read only
	CHECK(a0, 0x67)
	li	a1, 0x100
	csrrs	a0, fcsr, a1		// reserved bit: ignored
	csrr	a0, fcsr
	CHECK(a0, 0x67)

	TCASE("csrrc")
	li	a1, 0x41
	csrrc	a0, fcsr, a1
	CHECK(a0, 0x67)
	csrr	a0, fcsr
	CHECK(a0, 0x26)
	li	a1, 0xff
	csrrc	a0, fflags, a1
	CHECK(a0, 0x06)
	csrr	a0, fcsr
	CHECK(a0, 0x20)
	li	a1, 1
	csrrc	a0, frm, a1
	CHECK(a0, 1)
	csrrc	a0, fcsr, zero
	CHECK(a0, 0)

	TCASE("csrrwi")
	csrrwi	a0, frm, 4
	CHECK(a0, 0)
	csrrwi	a0, fflags, 0x1f
	CHECK(a0, 0)
	csrrwi	a0, fcsr, 0x15		// uimm is 5 bits: frm becomes 0
	CHECK(a0, 0x9f)
	csrr	a0, fcsr
	CHECK(a0, 0x15)
	csrwi	frm, 2
	csrr	a0, fcsr
	CHECK(a0, 0x55)
	TCASE("csrrsi")
	csrrsi	a0, fflags, 0x0a
	CHECK(a0, 0x15)
	csrrsi	a0, frm, 1
	CHECK(a0, 2)
	csrr	a0, fcsr
	CHECK(a0, 0x7f)
	csrrsi	a0, fcsr, 0		// uimm = 0: read only
	CHECK(a0, 0x7f)
	TCASE("csrrci")
	csrrci	a0, fflags, 0x11
	CHECK(a0, 0x1f)
	csrrci	a0, frm, 2
	CHECK(a0, 3)
	csrr	a0, fcsr
	CHECK(a0, 0x2e)
	csrrci	a0, fcsr, 0x1f
	CHECK(a0, 0x2e)
	csrr	a0, fcsr
	CHECK(a0, 0x20)
	csrrci	a0, fcsr, 0
	CHECK(a0, 0x20)

	TCASE("floating-point pseudo-instructions")
	fsrmi	a0, 3			// csrrwi a0, frm, 3
	CHECK(a0, 1)
	frrm	a0
	CHECK(a0, 3)
	li	a1, 0x0c
	fsflags	a0, a1
	CHECK(a0, 0)
	frflags	a0
	CHECK(a0, 0x0c)
	li	a1, 0
	fscsr	a0, a1
	CHECK(a0, 0x6c)

	TCASE("frm drives dyn rounding, fflags accrue")
	li	a1, 0x3f800000
	fmv.w.x	fa1, a1
	li	a1, 0x40400000
	fmv.w.x	fa2, a1
	fsrmi	RM_RTZ
	fdiv.s	fa0, fa1, fa2		// 1/3, dyn
	fmv.x.w	a0, fa0
	CHECK(a0, 0x3eaaaaaa)
	fsrmi	RM_RUP
	fdiv.s	fa0, fa1, fa2
	fmv.x.w	a0, fa0
	CHECK(a0, 0x3eaaaaab)
	csrr	a0, fcsr
	CHECK(a0, (RM_RUP << 5) | NX)
	fsflagsi DZ			// flags written by software stay until cleared
	fdiv.s	fa0, fa1, fa2
	frflags	a0
	CHECK(a0, DZ | NX)
	csrw	fcsr, zero

	TCASE("cycle/time/instret are readable and monotonic")
	rdcycle	t0
	csrrs	t1, cycle, zero
	csrrsi	t2, cycle, 0
	csrrc	t3, cycle, zero
	csrrci	t4, cycle, 0
	sltu	a0, t1, t0		// every later read >= the earlier one
	sltu	a1, t2, t1
	or	a0, a0, a1
	sltu	a1, t3, t2
	or	a0, a0, a1
	sltu	a1, t4, t3
	or	a0, a0, a1
	CHECK(a0, 0)
	rdtime	t0
	csrrs	t1, time, zero
	csrrsi	t2, time, 0
	csrrc	t3, time, zero
	csrrci	t4, time, 0
	sltu	a0, t1, t0
	sltu	a1, t2, t1
	or	a0, a0, a1
	sltu	a1, t3, t2
	or	a0, a0, a1
	sltu	a1, t4, t3
	or	a0, a0, a1
	CHECK(a0, 0)
	rdinstret t0
	csrrs	t1, instret, zero
	csrrsi	t2, instret, 0
	csrrc	t3, instret, zero
	csrrci	t4, instret, 0
	sltu	a0, t1, t0
	sltu	a1, t2, t1
	or	a0, a0, a1
	sltu	a1, t3, t2
	or	a0, a0, a1
	sltu	a1, t4, t3
	or	a0, a0, a1
	CHECK(a0, 0)
	// after 10000 more instructions have retired, instret must have moved
	rdinstret t0
	rdcycle	t1
	rdtime	t2
	li	a2, 5000
1:	addi	a2, a2, -1
	bnez	a2, 1b
	rdinstret t3
	rdcycle	t4
	rdtime	t5
	sltu	a0, t0, t3
	CHECK(a0, 1)
	sltu	a0, t4, t1
	CHECK(a0, 0)
	sltu	a0, t5, t2
	CHECK(a0, 0)
TEST_END
