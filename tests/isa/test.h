/*
 * test.h — shared harness for condo's self-checking RISC-V ISA test programs.
 *
 * Assembly programs (*.S, built -nostdlib) include this header first. It
 * provides _start, the CHECK family of macros and the failure reporter:
 *
 *	#include "test.h"
 *	TEST_MAIN
 *		TCASE("addi")
 *		li	a0, 1
 *		addi	a0, a0, 2
 *		CHECK(a0, 3)
 *	TEST_END
 *
 * A failing CHECK writes one line to stderr naming the source line (the test
 * number), the current TCASE label and the got/expected values, then carries
 * on. TEST_END exits 0 when every check passed, 1 otherwise. It also fails
 * when the number of checks executed differs from the number assembled, so a
 * control-flow bug that skips checks cannot pass silently: every CHECK must
 * therefore run exactly once (no checks inside loops or shared subroutines).
 *
 * Reserved registers: s9 (count of checks run), s10 and s11 (scratch) belong
 * to the harness; tests must not keep values in them. CHECK cannot test sp.
 * The header switches to `.option norvc` so the instructions under test keep
 * their 32-bit encodings (c.S enables rvc for its compressed tests), and to
 * `.option norelax` so what is written is what runs.
 *
 * C programs (linked with libc) get CHECK_EQ() and test_done() instead.
 */
#ifndef CONDO_TESTS_ISA_TEST_H
#define CONDO_TESTS_ISA_TEST_H

#define SYS_write      64
#define SYS_exit_group 94
#define SYS_mmap       222
#define SYS_munmap     215

/* fflags bits (unpriv spec, "Floating-Point Control and Status Register") */
#define NX 0x01
#define UF 0x02
#define OF 0x04
#define DZ 0x08
#define NV 0x10

/* rounding modes as in frm */
#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4

#ifdef __ASSEMBLER__

/* clang-format off */
	.option norvc
	.option norelax

/* CHECK(reg, expected): compare a full 64-bit integer register. */
#define CHECK(reg, exp) CHECK_ reg, exp, __LINE__
/* FCHECKD(freg, bits64): the whole 64-bit FP register. */
#define FCHECKD(freg, exp) fmv.x.d s10, freg; CHECK_ s10, exp, __LINE__
/* FCHECKS(freg, bits32): a single, which must also be NaN-boxed. */
#define FCHECKS(freg, exp) fmv.x.d s10, freg; CHECK_ s10, (0xffffffff00000000 | (exp)), __LINE__
/* FFLAGS(bits): the accrued flags since the last FFLAGS(), then clear them. */
#define FFLAGS(exp) csrrw s10, fflags, zero; CHECK_ s10, exp, __LINE__
/* TCASE("name"): label printed with any failure that follows. */
#define TCASE(name) TCASE_ name

	.macro TCASE_ name
	.pushsection .rodata.test_str, "aMS", @progbits, 1
.Ltcase_\@:
	.asciz "\name"
	.popsection
	lla	s10, .Ltcase_\@
	lla	s11, test_case
	sd	s10, 0(s11)
	.endm

	.macro CHECK_ reg, exp, line
	.set	test_static_checks, test_static_checks + 1
	addi	s9, s9, 1
	li	s11, \exp
	beq	\reg, s11, .Lcheck_ok_\@
	mv	s10, \reg
	addi	sp, sp, -16
	sd	ra, 0(sp)
	.balign 4
	jal	ra, test_fail
	.word	\line
	ld	ra, 0(sp)
	addi	sp, sp, 16
.Lcheck_ok_\@:
	.endm

	.set	test_static_checks, 0

/* One-instruction tests on a0 (result) and a1, a2 (operands); the operand
 * registers are loaded with li, so any 64-bit constant works. */
#define TEST_RR(op, a, b, exp) li a1, a; li a2, b; op a0, a1, a2; CHECK(a0, exp)
#define TEST_RI(op, a, imm, exp) li a1, a; op a0, a1, imm; CHECK(a0, exp)
#define TEST_R(op, a, exp) li a1, a; op a0, a1; CHECK(a0, exp)
/* rd == rs1 == rs2 */
#define TEST_RR_SAME(op, a, exp) li a0, a; op a0, a0, a0; CHECK(a0, exp)
/* rd == rs2: the old rs2 must be read before rd is written */
#define TEST_RR_RD2(op, a, b, exp) li a1, a; li a0, b; op a0, a1, a0; CHECK(a0, exp)

/* TEST_MAIN opens the test body; TEST_END closes it and must come after the
 * last CHECK in the file (it records how many checks were assembled). */
#define TEST_MAIN .text; .globl test_main; test_main:
#define TEST_END TEST_END_

	.macro TEST_END_
	j	test_finish
	.pushsection .rodata
	.balign 8
test_static_count:
	.quad	test_static_checks
	.popsection
	.endm

	.text
	.globl	_start
_start:
	li	s9, 0
	lla	s10, test_no_case
	lla	s11, test_case
	sd	s10, 0(s11)
	j	test_main

/* test_fail: s10 = got, s11 = expected, 0(ra) = source line. Saves every
 * register it touches and returns to ra + 4. */
	.balign 4
test_fail:
	addi	sp, sp, -128
	sd	ra, 0(sp)
	sd	a0, 8(sp)
	sd	a1, 16(sp)
	sd	a2, 24(sp)
	sd	a3, 32(sp)
	sd	a4, 40(sp)
	sd	a5, 48(sp)
	sd	a7, 56(sp)
	sd	t0, 64(sp)
	sd	t1, 72(sp)
	sd	t2, 80(sp)
	sd	s10, 88(sp)
	sd	s11, 96(sp)
	sd	a6, 104(sp)
	/* count it */
	lla	t0, test_nfail
	ld	t1, 0(t0)
	addi	t1, t1, 1
	sd	t1, 0(t0)
	/* "FAIL file:line [case]: got 0x..., expected 0x...\n" */
	lla	a1, test_str_fail
	call	test_puts_err
	lla	a1, test_str_file
	call	test_puts_err
	lla	a1, test_str_colon
	call	test_puts_err
	ld	t0, 0(sp)
	lwu	a1, 0(t0)
	call	test_putdec_err
	lla	a1, test_str_open
	call	test_puts_err
	lla	t0, test_case
	ld	a1, 0(t0)
	call	test_puts_err
	lla	a1, test_str_got
	call	test_puts_err
	ld	a1, 88(sp)
	call	test_puthex_err
	lla	a1, test_str_exp
	call	test_puts_err
	ld	a1, 96(sp)
	call	test_puthex_err
	lla	a1, test_str_nl
	call	test_puts_err
	ld	ra, 0(sp)
	ld	a0, 8(sp)
	ld	a1, 16(sp)
	ld	a2, 24(sp)
	ld	a3, 32(sp)
	ld	a4, 40(sp)
	ld	a5, 48(sp)
	ld	a7, 56(sp)
	ld	t0, 64(sp)
	ld	t1, 72(sp)
	ld	t2, 80(sp)
	ld	s10, 88(sp)
	ld	s11, 96(sp)
	ld	a6, 104(sp)
	addi	sp, sp, 128
	jalr	zero, 4(ra)

/* test_write_err(a1 = buf, a2 = len): write(2, buf, len); clobbers a0, a7 */
test_write_err:
	li	a0, 2
	li	a7, SYS_write
	ecall
	ret

/* test_puts_err(a1 = NUL-terminated string); clobbers a0-a2, a7, t2 */
test_puts_err:
	mv	a2, a1
1:	lbu	t2, 0(a2)
	beqz	t2, 2f
	addi	a2, a2, 1
	j	1b
2:	sub	a2, a2, a1
	j	test_write_err

/* test_puthex_err(a1 = value): "0x" and 16 hex digits; clobbers a0-a3, a7, t0-t2 */
test_puthex_err:
	addi	sp, sp, -32
	li	t0, '0'
	sb	t0, 0(sp)
	li	t0, 'x'
	sb	t0, 1(sp)
	li	t1, 17			/* buffer index of the last digit */
1:	andi	t2, a1, 15
	li	t0, 10
	bltu	t2, t0, 2f
	addi	t2, t2, 'a' - 10 - '0'
2:	addi	t2, t2, '0'
	add	t0, sp, t1
	sb	t2, 0(t0)
	srli	a1, a1, 4
	addi	t1, t1, -1
	li	t0, 1
	bne	t1, t0, 1b
	mv	a1, sp
	li	a2, 18
	mv	a3, ra
	call	test_write_err
	mv	ra, a3
	addi	sp, sp, 32
	ret

/* test_putdec_err(a1 = unsigned value) / test_putdec_out: decimal; clobbers
 * a0-a3, a7, t0-t2 */
test_putdec_err:
	li	a3, 2
	j	test_putdec
test_putdec_out:
	li	a3, 1
test_putdec:
	addi	sp, sp, -32
	li	t1, 24			/* digits are written backwards from here */
	li	t0, 10
1:	remu	t2, a1, t0
	divu	a1, a1, t0
	addi	t2, t2, '0'
	addi	t1, t1, -1
	add	a2, sp, t1
	sb	t2, 0(a2)
	bnez	a1, 1b
	add	a1, sp, t1
	li	a2, 24
	sub	a2, a2, t1
	mv	a0, a3
	li	a7, SYS_write
	ecall
	addi	sp, sp, 32
	ret

/* test_puts_out(a1 = string) on stdout; clobbers a0-a2, a7, t2 */
test_puts_out:
	mv	a2, a1
1:	lbu	t2, 0(a2)
	beqz	t2, 2f
	addi	a2, a2, 1
	j	1b
2:	sub	a2, a2, a1
	li	a0, 1
	li	a7, SYS_write
	ecall
	ret

/* test_finish: print "<file>: N checks, M failed" and exit(M != 0). */
test_finish:
	lla	t0, test_static_count
	ld	t0, 0(t0)
	beq	t0, s9, 1f
	/* the number of checks run is not the number assembled */
	lla	t0, test_nfail
	ld	t1, 0(t0)
	addi	t1, t1, 1
	sd	t1, 0(t0)
	lla	a1, test_str_fail
	call	test_puts_err
	lla	a1, test_str_file
	call	test_puts_err
	lla	a1, test_str_count
	call	test_puts_err
	mv	a1, s9
	call	test_putdec_err
	lla	a1, test_str_count2
	call	test_puts_err
	lla	t0, test_static_count
	ld	a1, 0(t0)
	call	test_putdec_err
	lla	a1, test_str_nl
	call	test_puts_err
1:	lla	a1, test_str_file
	call	test_puts_out
	lla	a1, test_str_sum1
	call	test_puts_out
	mv	a1, s9
	call	test_putdec_out
	lla	a1, test_str_sum2
	call	test_puts_out
	lla	t0, test_nfail
	ld	a1, 0(t0)
	call	test_putdec_out
	lla	a1, test_str_sum3
	call	test_puts_out
	lla	t0, test_nfail
	ld	a0, 0(t0)
	snez	a0, a0
	li	a7, SYS_exit_group
	ecall

	.pushsection .rodata.test_str, "aMS", @progbits, 1
test_str_fail:	.asciz "FAIL "
test_str_file:	.asciz __BASE_FILE__
test_str_colon:	.asciz ":"
test_str_open:	.asciz " ["
test_str_got:	.asciz "]: got "
test_str_exp:	.asciz ", expected "
test_str_nl:	.asciz "\n"
test_str_count:	.asciz ": checks run "
test_str_count2: .asciz " != checks assembled "
test_str_sum1:	.asciz ": "
test_str_sum2:	.asciz " checks, "
test_str_sum3:	.asciz " failed\n"
test_no_case:	.asciz "-"
	.popsection

	.pushsection .data
	.balign 8
test_case:	.quad 0
test_nfail:	.quad 0
	.popsection
/* clang-format on */

#else /* C programs */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int test_nfail, test_nchecks;

/* CHECK_EQ(label, got, expected): compare as 64-bit values, report and go on. */
#define CHECK_EQ(label, got, exp)                                                                  \
	test_check_eq(__FILE__, __LINE__, (label), (uint64_t)(got), (uint64_t)(exp))

static __attribute__((unused)) void test_check_eq(const char *file, int line, const char *label,
						  uint64_t got, uint64_t exp)
{
	char msg[256];
	int n;

	test_nchecks++;
	if (got == exp)
		return;
	test_nfail++;
	n = snprintf(msg, sizeof(msg), "FAIL %s:%d [%s]: got 0x%016llx, expected 0x%016llx\n", file,
		     line, label, (unsigned long long)got, (unsigned long long)exp);
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	if (write(2, msg, n) < 0)
		test_nfail++;
}

/* test_done(): print the summary; the program's exit status. */
static __attribute__((unused)) int test_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, test_nchecks, test_nfail);
	fflush(stdout);
	return test_nfail != 0;
}

#endif /* __ASSEMBLER__ */
#endif /* CONDO_TESTS_ISA_TEST_H */
