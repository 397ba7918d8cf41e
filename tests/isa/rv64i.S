/*
 * rv64i.S — every RV64I instruction (unpriv spec ch. 2 "RV32I" and ch. 5
 * "RV64I"): upper immediates, jumps and links, every branch taken and not
 * taken, loads with sign/zero extension, stores of each width, the OP-IMM,
 * OP, OP-IMM-32 and OP-32 groups with their shift-amount masking and 32-bit
 * sign extension, x0 as destination, FENCE, ECALL through the Linux ABI, and
 * misaligned loads/stores (which the Linux user ABI supports).
 * EBREAK needs a signal handler and is tested in traps.c.
 */
#include "test.h"

TEST_MAIN
	TCASE("lui")
	lui	a0, 0x12345
	CHECK(a0, 0x12345000)
	lui	a0, 0x80000
	CHECK(a0, 0xffffffff80000000)	// bit 31 sign-extends on RV64
	lui	a0, 0xfffff
	CHECK(a0, 0xfffffffffffff000)
	lui	a0, 0x7ffff
	CHECK(a0, 0x7ffff000)
	lui	zero, 0x12345
	CHECK(zero, 0)

	TCASE("auipc")
1:	auipc	a0, 0
	lla	a1, 1b
	sub	a0, a0, a1
	CHECK(a0, 0)
1:	auipc	a0, 1
	lla	a1, 1b
	sub	a0, a0, a1
	CHECK(a0, 0x1000)
1:	auipc	a0, 0x80000
	lla	a1, 1b
	sub	a0, a0, a1
	CHECK(a0, 0xffffffff80000000)
1:	auipc	a0, 0xfffff
	lla	a1, 1b
	sub	a0, a0, a1
	CHECK(a0, -0x1000)

	TCASE("jal")
	li	a2, 0
	jal	a0, 2f
1:	li	a2, 1			// skipped
2:	lla	a1, 1b
	sub	a0, a0, a1		// link = address of the next instruction
	CHECK(a0, 0)
	CHECK(a2, 0)
	j	4f			// jal x0, forward
3:	li	a2, 7			// reached backwards
	j	5f
4:	li	a2, 2
	jal	zero, 3b
	li	a2, 9			// skipped
5:	CHECK(a2, 7)

	TCASE("jalr")
	lla	t0, 2f
	li	a2, 0
	jalr	a0, 0(t0)
1:	li	a2, 1			// skipped
2:	lla	a1, 1b
	sub	a0, a0, a1
	CHECK(a0, 0)
	CHECK(a2, 0)
	lla	t0, 2f - 3		// target + 1: bit 0 of the sum is cleared
	li	a2, 0
	jalr	a0, 4(t0)
	li	a2, 1			// skipped
2:	CHECK(a2, 0)
	lla	t0, 2f + 16		// negative offset
	li	a2, 0
	jalr	a0, -16(t0)
	li	a2, 1			// skipped
2:	CHECK(a2, 0)
	lla	t0, 2f			// rd == rs1: target from the old value
	jalr	t0, 0(t0)
1:	li	a2, 1			// skipped
2:	lla	a1, 1b
	sub	t0, t0, a1
	CHECK(t0, 0)
	lla	t0, 2f
	li	a0, 5
	jalr	zero, 0(t0)		// no link written
	li	a0, 6
2:	CHECK(a0, 5)

	TCASE("beq")
#define TAKEN(op, a, b) li a1, a; li a2, b; li a0, 0; op a1, a2, 1f; li a0, 1; 1: CHECK(a0, 0)
#define NOT_TAKEN(op, a, b) li a1, a; li a2, b; li a0, 0; op a1, a2, 1f; li a0, 1; 1: CHECK(a0, 1)
	TAKEN(beq, 0, 0)
	TAKEN(beq, -1, -1)
	TAKEN(beq, 0x8000000000000000, 0x8000000000000000)
	NOT_TAKEN(beq, 0, 1)
	NOT_TAKEN(beq, 0x100000000, 0)	// all 64 bits compared
	TCASE("bne")
	TAKEN(bne, 0, 1)
	TAKEN(bne, 0x100000000, 0)
	NOT_TAKEN(bne, -7, -7)
	TCASE("blt")
	TAKEN(blt, -1, 0)
	TAKEN(blt, 0x8000000000000000, 0x7fffffffffffffff)
	TAKEN(blt, 1, 2)
	NOT_TAKEN(blt, 0, -1)
	NOT_TAKEN(blt, 5, 5)
	NOT_TAKEN(blt, 0x7fffffffffffffff, 0x8000000000000000)
	TCASE("bge")
	TAKEN(bge, 0, -1)
	TAKEN(bge, 5, 5)
	TAKEN(bge, 0x7fffffffffffffff, 0x8000000000000000)
	NOT_TAKEN(bge, -1, 0)
	NOT_TAKEN(bge, 0x8000000000000000, 0x7fffffffffffffff)
	TCASE("bltu")
	TAKEN(bltu, 0, -1)
	TAKEN(bltu, 0x7fffffffffffffff, 0x8000000000000000)
	NOT_TAKEN(bltu, -1, 0)
	NOT_TAKEN(bltu, 3, 3)
	TCASE("bgeu")
	TAKEN(bgeu, -1, 0)
	TAKEN(bgeu, 3, 3)
	NOT_TAKEN(bgeu, 0, -1)
	NOT_TAKEN(bgeu, 0x7fffffffffffffff, 0x8000000000000000)
	TCASE("branch backwards")
	li	a0, 0
	li	a1, 10
1:	addi	a0, a0, 1
	blt	a0, a1, 1b
	CHECK(a0, 10)
	TCASE("branch x0 operands")
	li	a0, 0
	beq	zero, zero, 1f
	li	a0, 1
1:	CHECK(a0, 0)
	li	a1, -1
	bltu	zero, a1, 1f
	li	a0, 1
1:	CHECK(a0, 0)

	TCASE("loads")
	lla	t0, ldata		// 87 96 a5 b4 c3 d2 e1 f0 | ef cd ab 89 67 45 23 01
	lb	a0, 0(t0)
	CHECK(a0, 0xffffffffffffff87)
	lbu	a0, 0(t0)
	CHECK(a0, 0x87)
	lb	a0, 15(t0)
	CHECK(a0, 0x01)
	lbu	a0, 15(t0)
	CHECK(a0, 0x01)
	lh	a0, 0(t0)
	CHECK(a0, 0xffffffffffff9687)
	lhu	a0, 2(t0)
	CHECK(a0, 0xb4a5)
	lh	a0, 14(t0)
	CHECK(a0, 0x0123)
	lhu	a0, 14(t0)
	CHECK(a0, 0x0123)
	lw	a0, 0(t0)
	CHECK(a0, 0xffffffffb4a59687)
	lwu	a0, 0(t0)
	CHECK(a0, 0xb4a59687)
	lw	a0, 12(t0)
	CHECK(a0, 0x01234567)
	lwu	a0, 4(t0)
	CHECK(a0, 0xf0e1d2c3)
	ld	a0, 0(t0)
	CHECK(a0, 0xf0e1d2c3b4a59687)
	ld	a0, 8(t0)
	CHECK(a0, 0x0123456789abcdef)
	addi	t1, t0, 16		// negative offsets
	lb	a0, -16(t1)
	CHECK(a0, 0xffffffffffffff87)
	ld	a0, -8(t1)
	CHECK(a0, 0x0123456789abcdef)
	lla	t1, ldata + 2048	// the extreme offsets
	lbu	a0, -2048(t1)
	CHECK(a0, 0x87)
	lla	t1, ldata - 2047
	lbu	a0, 2047(t1)
	CHECK(a0, 0x87)
	ld	zero, 0(t0)		// a load into x0 is discarded
	CHECK(zero, 0)
	lw	t0, 0(t0)		// rd == rs1
	CHECK(t0, 0xffffffffb4a59687)

	TCASE("misaligned loads")
	lla	t0, ldata
	lh	a0, 7(t0)
	CHECK(a0, 0xffffffffffffeff0)
	lhu	a0, 1(t0)
	CHECK(a0, 0xa596)
	lw	a0, 1(t0)
	CHECK(a0, 0xffffffffc3b4a596)
	lwu	a0, 6(t0)
	CHECK(a0, 0xcdeff0e1)
	ld	a0, 3(t0)
	CHECK(a0, 0xabcdeff0e1d2c3b4)

	TCASE("stores")
	lla	t0, sbuf
	li	t1, 0x1122334455667788
	sd	t1, 0(t0)
	ld	a0, 0(t0)
	CHECK(a0, 0x1122334455667788)
	li	t1, 0xabcdef
	sb	t1, 0(t0)		// only the low byte
	ld	a0, 0(t0)
	CHECK(a0, 0x11223344556677ef)
	sh	t1, 2(t0)
	ld	a0, 0(t0)
	CHECK(a0, 0x11223344cdef77ef)
	li	t1, 0x99aabbccddeeff00
	sw	t1, 4(t0)
	ld	a0, 0(t0)
	CHECK(a0, 0xddeeff00cdef77ef)
	addi	t2, t0, 16
	sd	t1, -8(t2)
	ld	a0, 8(t0)
	CHECK(a0, 0x99aabbccddeeff00)
	sb	zero, 15(t0)
	lb	a0, 15(t0)
	CHECK(a0, 0)
	lbu	a0, 14(t0)		// neighbour untouched
	CHECK(a0, 0xaa)
	sw	t1, 0(t0)
	lhu	a0, 2(t0)		// load of part of a just-stored word
	CHECK(a0, 0xddee)

	TCASE("misaligned stores")
	lla	t0, sbuf
	sd	zero, 0(t0)
	sd	zero, 8(t0)
	li	t1, 0x0807060504030201
	sd	t1, 3(t0)
	ld	a0, 0(t0)
	CHECK(a0, 0x0504030201000000)
	ld	a0, 8(t0)
	CHECK(a0, 0x0000000000080706)
	li	t1, 0xa1a2a3a4
	sw	t1, 9(t0)
	ld	a0, 8(t0)
	CHECK(a0, 0x000000a1a2a3a406)
	li	t1, 0xb1b2
	sh	t1, 7(t0)
	ld	a0, 0(t0)
	CHECK(a0, 0xb204030201000000)
	ld	a0, 8(t0)
	CHECK(a0, 0x000000a1a2a3a4b1)

	TCASE("addi")
	TEST_RI(addi, 0, 0, 0)
	TEST_RI(addi, 1, 1, 2)
	TEST_RI(addi, 3, -4, -1)
	TEST_RI(addi, 0, 2047, 2047)
	TEST_RI(addi, 0, -2048, -2048)
	TEST_RI(addi, 0x7fffffffffffffff, 1, 0x8000000000000000)	// wraps
	TEST_RI(addi, 0x7fffffff, 1, 0x80000000)	// no 32-bit truncation
	TEST_RI(addi, -1, 1, 0)
	li	a0, 1
	addi	a0, a0, 5		// rd == rs1
	CHECK(a0, 6)
	addi	zero, a0, 5
	CHECK(zero, 0)

	TCASE("slti")
	TEST_RI(slti, 0, 0, 0)
	TEST_RI(slti, -1, 0, 1)
	TEST_RI(slti, 0, -1, 0)
	TEST_RI(slti, 0x8000000000000000, -2048, 1)
	TEST_RI(slti, 2047, 2047, 0)
	TEST_RI(slti, 2046, 2047, 1)
	TCASE("sltiu")
	TEST_RI(sltiu, 0, 1, 1)		// seqz
	TEST_RI(sltiu, 5, 1, 0)
	TEST_RI(sltiu, 5, -1, 1)	// immediate sign-extends, then compares unsigned
	TEST_RI(sltiu, -1, -1, 0)
	TEST_RI(sltiu, -2, -1, 1)
	TEST_RI(sltiu, 0x8000000000000000, 2047, 0)

	TCASE("xori/ori/andi")
	TEST_RI(xori, 0x00ff00ff00ff00ff, -1, 0xff00ff00ff00ff00)	// not
	TEST_RI(xori, 0x00ff00ff00ff0f0f, 0x0f0, 0x00ff00ff00ff0fff)
	TEST_RI(xori, 0x1234, -0x800, 0xffffffffffffea34)
	TEST_RI(ori, 0x1234567800000000, 0x7ff, 0x12345678000007ff)
	TEST_RI(ori, 0x1234, -0x800, 0xfffffffffffffa34)
	TEST_RI(andi, 0x123456789abcdef0, -16, 0x123456789abcdef0)
	TEST_RI(andi, 0x123456789abcdeff, -16, 0x123456789abcdef0)
	TEST_RI(andi, 0x123456789abcdeff, 0x7ff, 0x6ff)

	TCASE("slli/srli/srai")
	TEST_RI(slli, 1, 0, 1)
	TEST_RI(slli, 1, 1, 2)
	TEST_RI(slli, 1, 31, 0x80000000)
	TEST_RI(slli, 1, 32, 0x100000000)
	TEST_RI(slli, 1, 63, 0x8000000000000000)
	TEST_RI(slli, 0xffffffffffffffff, 60, 0xf000000000000000)
	TEST_RI(srli, 0x8000000000000000, 63, 1)
	TEST_RI(srli, 0x8000000000000000, 32, 0x80000000)
	TEST_RI(srli, 0xffffffffffffffff, 1, 0x7fffffffffffffff)
	TEST_RI(srli, 0x1234, 0, 0x1234)
	TEST_RI(srai, 0x8000000000000000, 63, -1)
	TEST_RI(srai, 0x8000000000000000, 1, 0xc000000000000000)
	TEST_RI(srai, 0x7fffffffffffffff, 62, 1)
	TEST_RI(srai, 0xfffffffff0000000, 4, 0xffffffffff000000)
	TEST_RI(srai, 0x00000000f0000000, 4, 0x000000000f000000)

	TCASE("add/sub")
	TEST_RR(add, 1, 2, 3)
	TEST_RR(add, -1, 1, 0)
	TEST_RR(add, 0x7fffffffffffffff, 1, 0x8000000000000000)
	TEST_RR(add, 0xffffffff, 1, 0x100000000)
	TEST_RR(add, 0x8000000000000000, 0x8000000000000000, 0)
	TEST_RR_SAME(add, 0x4000000000000001, 0x8000000000000002)
	TEST_RR(sub, 3, 2, 1)
	TEST_RR(sub, 0, 1, -1)
	TEST_RR(sub, 0x8000000000000000, 1, 0x7fffffffffffffff)
	TEST_RR(sub, 0, 0x8000000000000000, 0x8000000000000000)
	TEST_RR_SAME(sub, 0x1234, 0)
	TEST_RR_RD2(sub, 10, 3, 7)

	TCASE("sll/srl/sra")
	TEST_RR(sll, 1, 63, 0x8000000000000000)
	TEST_RR(sll, 1, 64, 1)			// only rs2[5:0] is used
	TEST_RR(sll, 1, 65, 2)
	TEST_RR(sll, 0x123, -1, 0x8000000000000000)	// shift by 63
	TEST_RR(sll, 0xf0f0, 0xffffffffffffffc4, 0xf0f00)	// shift by 4
	TEST_RR(srl, 0x8000000000000000, 63, 1)
	TEST_RR(srl, 0x8000000000000000, 127, 1)
	TEST_RR(srl, -1, 32, 0xffffffff)
	TEST_RR(srl, -1, 64, -1)
	TEST_RR(sra, 0x8000000000000000, 63, -1)
	TEST_RR(sra, 0x8000000000000000, 0x7f, -1)
	TEST_RR(sra, 0x8000000000000000, 32, 0xffffffff80000000)
	TEST_RR(sra, 0x4000000000000000, 62, 1)
	TEST_RR_SAME(sll, 3, 24)		// 3 << 3
	TEST_RR_RD2(srl, 0x100, 4, 0x10)

	TCASE("slt/sltu")
	TEST_RR(slt, -1, 0, 1)
	TEST_RR(slt, 0, -1, 0)
	TEST_RR(slt, 0x8000000000000000, 0x7fffffffffffffff, 1)
	TEST_RR(slt, 7, 7, 0)
	TEST_RR(sltu, 0, -1, 1)
	TEST_RR(sltu, -1, 0, 0)
	TEST_RR(sltu, 0x7fffffffffffffff, 0x8000000000000000, 1)
	TEST_RR(sltu, 7, 7, 0)
	TEST_RR(sltu, 0, 5, 1)			// snez when rs1 is x0-like
	li	a2, 5
	sltu	a0, zero, a2
	CHECK(a0, 1)

	TCASE("xor/or/and")
	TEST_RR(xor, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xf0f0f0f0f0f0f0f0)
	TEST_RR(or, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xfff0fff0fff0fff0)
	TEST_RR(and, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0x0f000f000f000f00)
	TEST_RR_SAME(xor, 0x123456789, 0)
	TEST_RR_SAME(or, 0x123456789, 0x123456789)
	TEST_RR_SAME(and, 0x123456789, 0x123456789)
	li	a1, 0x55
	or	zero, a1, a1
	CHECK(zero, 0)

	TCASE("addiw")
	TEST_RI(addiw, 0x7fffffff, 1, 0xffffffff80000000)
	TEST_RI(addiw, 0xffffffff00000001, 0, 1)	// sext.w: upper bits ignored
	TEST_RI(addiw, 0x00000000ffffffff, 0, -1)
	TEST_RI(addiw, 0x12345678fffffffe, 3, 1)
	TEST_RI(addiw, 0, -2048, -2048)
	TEST_RI(addiw, 0x80000000, -1, 0x7fffffff)
	TCASE("slliw/srliw/sraiw")
	TEST_RI(slliw, 1, 31, 0xffffffff80000000)
	TEST_RI(slliw, 0xffffffff00000003, 30, 0xffffffffc0000000)
	TEST_RI(slliw, 0x1ffffffff, 4, 0xfffffffffffffff0)
	TEST_RI(slliw, 0x0000000080000000, 1, 0)
	TEST_RI(srliw, 0xffffffff80000000, 31, 1)
	TEST_RI(srliw, 0x1234567880000000, 0, 0xffffffff80000000)
	TEST_RI(srliw, 0x1234567880000000, 1, 0x40000000)
	TEST_RI(srliw, 0xffffffffffffffff, 4, 0x0fffffff)
	TEST_RI(sraiw, 0x80000000, 31, -1)
	TEST_RI(sraiw, 0x0000000080000000, 4, 0xfffffffff8000000)
	TEST_RI(sraiw, 0xffffffff7fffffff, 4, 0x07ffffff)
	TEST_RI(sraiw, 0x12345678, 0, 0x12345678)

	TCASE("addw/subw")
	TEST_RR(addw, 0x7fffffff, 1, 0xffffffff80000000)
	TEST_RR(addw, 0xffffffff, 1, 0)
	TEST_RR(addw, 0x1234567800000001, 0x8765432100000002, 3)
	TEST_RR(addw, 0x80000000, 0x80000000, 0)
	TEST_RR(subw, 0, 0x80000000, 0xffffffff80000000)
	TEST_RR(subw, 0, 1, -1)
	TEST_RR(subw, 0x100000000, 0x1, -1)
	TEST_RR(subw, 0x80000000, 1, 0x7fffffff)
	TEST_RR_RD2(subw, 5, 7, -2)
	TCASE("sllw/srlw/sraw")
	TEST_RR(sllw, 1, 31, 0xffffffff80000000)
	TEST_RR(sllw, 1, 32, 1)			// only rs2[4:0] is used
	TEST_RR(sllw, 1, 33, 2)
	TEST_RR(sllw, 0xffffffff00000001, 4, 0x10)
	TEST_RR(srlw, 0x80000000, 31, 1)
	TEST_RR(srlw, 0x80000000, 32, 0xffffffff80000000)	// shift by 0
	TEST_RR(srlw, 0xffffffff00000010, 4, 1)
	TEST_RR(srlw, -1, 1, 0x7fffffff)
	TEST_RR(sraw, 0x80000000, 31, -1)
	TEST_RR(sraw, 0x80000000, 63, -1)	// shift by 31
	TEST_RR(sraw, 0x7fffffff, 30, 1)
	TEST_RR(sraw, 0xffffffff00000010, 4, 1)
	TEST_RR(sraw, 0x00000000f0000000, 0x24, 0xffffffffff000000)	// shift by 4

	TCASE("fence")
	li	a0, 0x55
	fence
	fence	rw, rw
	fence	r, r
	fence	w, w
	fence	iorw, iorw
	fence.tso
	CHECK(a0, 0x55)

	TCASE("ecall (Linux ABI)")
	// An unknown system call returns -ENOSYS and only a0 changes.
	li	a7, 4000
	li	a0, 0x100
	li	a1, 0x101
	li	a2, 0x102
	li	a3, 0x103
	li	a4, 0x104
	li	a5, 0x105
	li	a6, 0x106
	li	t0, 0x200
	li	t1, 0x201
	li	t2, 0x202
	li	s0, 0x300
	li	s1, 0x301
	li	t6, 0x206
	ecall
	CHECK(a0, -38)
	CHECK(a1, 0x101)
	CHECK(a2, 0x102)
	CHECK(a3, 0x103)
	CHECK(a4, 0x104)
	CHECK(a5, 0x105)
	CHECK(a6, 0x106)
	CHECK(a7, 4000)
	CHECK(t0, 0x200)
	CHECK(t1, 0x201)
	CHECK(t2, 0x202)
	CHECK(s0, 0x300)
	CHECK(s1, 0x301)
	CHECK(t6, 0x206)
	// write(1, buf, 0) == 0
	li	a0, 1
	lla	a1, ldata
	li	a2, 0
	li	a7, SYS_write
	ecall
	CHECK(a0, 0)
TEST_END

	.data
	.balign 8
ldata:
	.dword	0xf0e1d2c3b4a59687
	.dword	0x0123456789abcdef
sbuf:
	.zero	32
