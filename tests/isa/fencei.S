/*
 * fencei.S — Zifencei (unpriv spec ch. 6 "Zifencei"): code written by
 * ordinary stores becomes visible to instruction fetch of the same hart
 * after FENCE.I. Code is written into an RWX page obtained with mmap and
 * into a static RWX section, executed, rewritten in place (so an emulator's
 * cached decode of the old code must be dropped) and executed again,
 * including a loop that rewrites and runs the same instruction many times
 * and compressed code. Only the behaviour after FENCE.I is checked: without
 * it the result is unspecified.
 */
#include "test.h"

#define PROT_RWX 7		/* PROT_READ | PROT_WRITE | PROT_EXEC */
#define MAP_PRIVATE_ANON 0x22	/* MAP_PRIVATE | MAP_ANONYMOUS */

/* I-type "addi a0, zero, imm" and "ret" (jalr zero, 0(ra)) */
#define ADDI_A0(imm) ((((imm) & 0xfff) << 20) | (10 << 7) | 0x13)
#define RET 0x00008067
#define C_LI_A0(imm) (0x4001 | (((imm) & 0x20) << 7) | (10 << 7) | (((imm) & 0x1f) << 2))
#define C_JR_RA 0x8082

TEST_MAIN
	TCASE("mmap an RWX page")
	li	a0, 0
	li	a1, 4096
	li	a2, PROT_RWX
	li	a3, MAP_PRIVATE_ANON
	li	a4, -1
	li	a5, 0
	li	a7, SYS_mmap
	ecall
	mv	s0, a0
	li	a1, -4096
	sltu	a0, s0, a1		// not an error code
	CHECK(a0, 1)

	TCASE("write code, fence.i, run it")
	li	t0, ADDI_A0(42)
	sw	t0, 0(s0)
	li	t0, RET
	sw	t0, 4(s0)
	fence.i
	li	a0, 0
	jalr	ra, 0(s0)
	CHECK(a0, 42)

	TCASE("rewrite code that has already run")
	li	t0, ADDI_A0(-7)
	sw	t0, 0(s0)
	fence.i
	jalr	ra, 0(s0)
	CHECK(a0, -7)
	addi	t1, s0, 2047		// more code elsewhere in the page
	li	t0, ADDI_A0(1000)
	sw	t0, 1(t1)
	li	t0, RET
	sw	t0, 5(t1)
	fence.i
	jalr	ra, 1(t1)
	CHECK(a0, 1000)
	jalr	ra, 0(s0)		// the first copy is unchanged
	CHECK(a0, -7)

	TCASE("rewrite and run 200 times")
	li	s1, 0			// i
	li	s2, 0			// sum of results
	li	s3, 200
1:	slli	t0, s1, 20		// addi a0, zero, i
	li	t1, ADDI_A0(0)
	or	t0, t0, t1
	sw	t0, 0(s0)
	fence.i
	jalr	ra, 0(s0)
	add	s2, s2, a0
	addi	s1, s1, 1
	bne	s1, s3, 1b
	CHECK(s2, 19900)		// 0 + 1 + ... + 199

	TCASE("compressed code")
	li	t0, C_LI_A0(5)
	sh	t0, 16(s0)
	li	t0, C_JR_RA
	sh	t0, 18(s0)
	fence.i
	jalr	ra, 16(s0)
	CHECK(a0, 5)
	li	t0, C_LI_A0(-3)
	sh	t0, 16(s0)
	fence.i
	jalr	ra, 16(s0)
	CHECK(a0, -3)
	// a 32-bit instruction replaces the two 16-bit ones
	li	t0, ADDI_A0(77)
	sw	t0, 16(s0)
	li	t0, RET
	sw	t0, 20(s0)
	fence.i
	jalr	ra, 16(s0)
	CHECK(a0, 77)

	TCASE("code in a static RWX section")
	lla	s4, rwx_code
	jalr	ra, 0(s4)
	CHECK(a0, 11)			// as assembled
	li	t0, ADDI_A0(12)
	sw	t0, 0(s4)
	fence.i
	jalr	ra, 0(s4)
	CHECK(a0, 12)

	TCASE("munmap")
	mv	a0, s0
	li	a1, 4096
	li	a7, SYS_munmap
	ecall
	CHECK(a0, 0)
TEST_END

	.section .rwx_code, "awx", @progbits
	.balign 4
rwx_code:
	addi	a0, zero, 11
	ret
