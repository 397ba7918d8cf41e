/*
 * c.S — every RV64C compressed instruction (unpriv spec ch. 16 "C Standard
 * Extension"), written with explicit c. mnemonics under `.option rvc`:
 * immediates at the ends of their ranges, the 3-bit register fields
 * (x8-x15, f8-f15) and the full 5-bit ones, c.addiw's sign extension (on
 * RV64 its encoding is not c.jal), c.jalr linking pc + 2, the sp-relative
 * loads and stores at their largest offsets, and 32-bit instructions at
 * 2-byte alignment, including one that straddles a page boundary.
 * C.EBREAK needs a signal handler and is tested in traps.c.
 */
#include "test.h"

TEST_MAIN
	.option	rvc

	TCASE("c.li")
	c.li	a0, -32
	CHECK(a0, -32)
	c.li	a0, 31
	CHECK(a0, 31)
	li	t0, 77
	c.li	t0, 0
	CHECK(t0, 0)
	c.li	t6, -1
	CHECK(t6, -1)

	TCASE("c.lui")
	c.lui	a0, 1
	CHECK(a0, 0x1000)
	c.lui	a0, 31
	CHECK(a0, 0x1f000)
	c.lui	s2, 0xfffff
	CHECK(s2, 0xfffffffffffff000)
	c.lui	a0, 0xfffe0
	CHECK(a0, 0xfffffffffffe0000)

	TCASE("c.addi")
	li	a0, 10
	c.addi	a0, -32
	CHECK(a0, -22)
	c.addi	a0, 31
	CHECK(a0, 9)
	li	s2, 0x7fffffffffffffff
	c.addi	s2, 1
	CHECK(s2, 0x8000000000000000)

	TCASE("c.addiw")
	li	a0, 0x7fffffff
	c.addiw	a0, 1
	CHECK(a0, 0xffffffff80000000)
	li	a0, 0x123456789
	c.addiw	a0, 0			// sext.w
	CHECK(a0, 0x23456789)
	li	t2, 0xffffffff00000000
	c.addiw	t2, -1
	CHECK(t2, -1)
	li	a0, 0x80000000
	c.addiw	a0, -32
	CHECK(a0, 0x7fffffe0)

	TCASE("c.addi16sp")
	mv	t0, sp
	c.addi16sp sp, -512
	sub	a0, sp, t0
	CHECK(a0, -512)
	c.addi16sp sp, 496
	sub	a0, sp, t0
	CHECK(a0, -16)
	c.addi16sp sp, 16
	sub	a0, sp, t0
	CHECK(a0, 0)

	TCASE("c.addi4spn")
	c.addi4spn a0, sp, 4
	sub	a0, a0, sp
	CHECK(a0, 4)
	c.addi4spn s1, sp, 1020
	sub	s1, s1, sp
	CHECK(s1, 1020)

	TCASE("c.slli/c.srli/c.srai/c.andi")
	li	a0, 1
	c.slli	a0, 63
	CHECK(a0, 0x8000000000000000)
	li	t3, 3
	c.slli	t3, 1
	CHECK(t3, 6)
	li	a0, 0x8000000000000000
	c.srli	a0, 63
	CHECK(a0, 1)
	li	a1, 0xff00000000000000
	c.srli	a1, 1
	CHECK(a1, 0x7f80000000000000)
	li	a1, 0x8000000000000000
	c.srai	a1, 63
	CHECK(a1, -1)
	li	a1, 0x8000000000000000
	c.srai	a1, 32
	CHECK(a1, 0xffffffff80000000)
	li	a2, -1
	c.andi	a2, -32
	CHECK(a2, 0xffffffffffffffe0)
	li	a3, 0xff
	c.andi	a3, 0
	CHECK(a3, 0)
	li	a4, 0x1234
	c.andi	a4, 31
	CHECK(a4, 0x14)

	TCASE("c.mv/c.add")
	li	t1, 0x123456789
	c.mv	a0, t1
	CHECK(a0, 0x123456789)
	c.mv	t4, a0
	CHECK(t4, 0x123456789)
	li	a0, 5
	li	t1, 7
	c.add	a0, t1
	CHECK(a0, 12)
	li	s3, 0x4000000000000000
	c.add	s3, s3
	CHECK(s3, 0x8000000000000000)

	TCASE("c.sub/c.xor/c.or/c.and")
	li	a0, 10
	li	a1, 3
	c.sub	a0, a1
	CHECK(a0, 7)
	li	s0, 0
	li	s1, 1
	c.sub	s0, s1
	CHECK(s0, -1)
	li	a5, 0xff00ff00ff00ff00
	li	a4, 0x0ff00ff00ff00ff0
	c.xor	a5, a4
	CHECK(a5, 0xf0f0f0f0f0f0f0f0)
	li	a5, 0xff00ff00ff00ff00
	c.or	a5, a4
	CHECK(a5, 0xfff0fff0fff0fff0)
	li	a5, 0xff00ff00ff00ff00
	c.and	a5, a4
	CHECK(a5, 0x0f000f000f000f00)
	TCASE("c.subw/c.addw")
	li	a0, 0
	li	a1, 0x80000000
	c.subw	a0, a1
	CHECK(a0, 0xffffffff80000000)
	li	a2, 0x100000000
	li	a3, 1
	c.subw	a2, a3
	CHECK(a2, -1)
	li	a0, 0x7fffffff
	li	a1, 1
	c.addw	a0, a1
	CHECK(a0, 0xffffffff80000000)
	li	s0, 0xffffffff00000001
	li	s1, 0x100000001
	c.addw	s0, s1
	CHECK(s0, 2)

	TCASE("c.lw/c.ld/c.sw/c.sd")
	lla	a5, cbuf
	li	a0, 0x0123456789abcdef
	c.sd	a0, 0(a5)
	li	a1, 0xfedcba9876543210
	c.sd	a1, 248(a5)
	c.ld	a2, 0(a5)
	CHECK(a2, 0x0123456789abcdef)
	c.ld	a3, 248(a5)
	CHECK(a3, 0xfedcba9876543210)
	c.lw	a4, 4(a5)			// sign-extends
	CHECK(a4, 0x01234567)
	c.lw	a4, 0(a5)
	CHECK(a4, 0xffffffff89abcdef)
	li	s0, 0x1111111180000000
	c.sw	s0, 124(a5)
	c.lw	s1, 124(a5)
	CHECK(s1, 0xffffffff80000000)
	ld	a0, 120(a5)
	CHECK(a0, 0x8000000000000000)	// only the word was written

	TCASE("c.fld/c.fsd")
	li	a0, 0x400921fb54442d18
	fmv.d.x	fa0, a0
	c.fsd	fa0, 8(a5)
	c.fld	fs1, 8(a5)
	fmv.x.d	a1, fs1
	CHECK(a1, 0x400921fb54442d18)
	c.fsd	fs1, 248(a5)
	c.fld	fa5, 248(a5)
	fmv.x.d	a1, fa5
	CHECK(a1, 0x400921fb54442d18)
	ld	a2, 248(a5)
	CHECK(a2, 0x400921fb54442d18)

	TCASE("c.lwsp/c.ldsp/c.swsp/c.sdsp/c.fldsp/c.fsdsp")
	c.addi16sp sp, -512
	li	a0, 0x0123456789abcdef
	c.sdsp	a0, 504(sp)
	c.ldsp	t5, 504(sp)
	CHECK(t5, 0x0123456789abcdef)
	ld	a1, 504(sp)
	CHECK(a1, 0x0123456789abcdef)
	li	a0, 0xcafe0000f0000001
	c.swsp	a0, 252(sp)
	c.lwsp	s7, 252(sp)
	CHECK(s7, 0xfffffffff0000001)
	c.swsp	a0, 0(sp)
	c.lwsp	s7, 0(sp)
	CHECK(s7, 0xfffffffff0000001)
	li	a0, 0xc00921fb54442d18
	fmv.d.x	ft0, a0
	c.fsdsp	ft0, 0(sp)
	c.fldsp	ft11, 0(sp)
	fmv.x.d	a1, ft11
	CHECK(a1, 0xc00921fb54442d18)
	c.fsdsp	ft11, 504(sp)
	c.fldsp	fs11, 504(sp)
	fmv.x.d	a1, fs11
	CHECK(a1, 0xc00921fb54442d18)
	c.addi16sp sp, 496
	c.addi16sp sp, 16

	TCASE("c.j")
	li	a0, 0
	c.j	1f
	li	a0, 1
1:	CHECK(a0, 0)
	c.j	3f
2:	li	a0, 5			// reached backwards
	c.j	4f
3:	li	a0, 9
	c.j	2b
4:	CHECK(a0, 5)

	TCASE("c.beqz/c.bnez")
	li	a0, 0
	li	a1, 0
	c.beqz	a1, 1f
	li	a0, 1
1:	CHECK(a0, 0)
	li	a1, 5
	c.beqz	a1, 1f
	li	a0, 2
1:	CHECK(a0, 2)
	li	a0, 0
	li	s1, 0x100000000		// all 64 bits are tested
	c.bnez	s1, 1f
	li	a0, 3
1:	CHECK(a0, 0)
	li	s1, 0
	c.bnez	s1, 1f
	li	a0, 4
1:	CHECK(a0, 4)
	li	a2, 5
	li	a0, 0
1:	c.addi	a0, 1
	c.addi	a2, -1
	c.bnez	a2, 1b
	CHECK(a0, 5)

	TCASE("c.jr/c.jalr")
	lla	t0, 1f
	li	a0, 0
	c.jr	t0
	li	a0, 1
1:	CHECK(a0, 0)
	lla	t1, 2f
3:	c.jalr	t1
	li	a0, 7			// skipped
2:	lla	a1, 3b
	sub	a0, ra, a1
	CHECK(a0, 2)			// the link is pc + 2
	lla	ra, 2f
	c.jalr	ra			// target from the old ra, then link
3:	li	a0, 7			// skipped
2:	lla	a1, 3b
	sub	a0, ra, a1
	CHECK(a0, 0)

	TCASE("c.nop")
	li	a0, 0x5a
	c.nop
	c.nop
	CHECK(a0, 0x5a)

	TCASE("32-bit instructions at 2-byte alignment")
	.balign	4
	c.nop
	.option	push
	.option	norvc
1:	addi	a0, zero, 0x123		// at pc % 4 == 2
	jal	t0, 2f			// a 32-bit jump to an odd-halfword target
	li	a0, 0
	.option	pop
	c.nop
2:	lla	a1, 1b
	andi	a1, a1, 3
	CHECK(a1, 2)
	CHECK(a0, 0x123)
	lla	a1, 1b + 8
	sub	a1, t0, a1		// the 32-bit jal links pc + 4
	CHECK(a1, 0)

	TCASE("32-bit instruction across a page boundary")
	li	a0, 0
	.balign	4096
	.rept	2047
	c.nop
	.endr
	.option	push
	.option	norvc
1:	addi	a0, a0, 0x321		// bytes 0xffe..0x1001 of its pages
	.option	pop
	lla	a1, 1b
	slli	a1, a1, 52		// the page offset
	srli	a1, a1, 52
	CHECK(a1, 0xffe)
	CHECK(a0, 0x321)
TEST_END

	.data
	.balign 8
cbuf:
	.zero	256
