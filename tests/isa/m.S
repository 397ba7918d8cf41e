/*
 * m.S — the M extension (unpriv spec ch. 7 "M Standard Extension"): every
 * multiply, the high-half variants with each signedness, division and
 * remainder with truncation toward zero, the specified results of division
 * by zero and of signed overflow (§7.2 table), and the RV64 *W forms, which
 * read only the low 32 bits of their operands and sign-extend the result.
 */
#include "test.h"

TEST_MAIN
	TCASE("mul")
	TEST_RR(mul, 3, 7, 21)
	TEST_RR(mul, -1, -1, 1)
	TEST_RR(mul, -3, 7, -21)
	TEST_RR(mul, 0x7fffffffffffffff, 2, 0xfffffffffffffffe)
	TEST_RR(mul, 0x100000000, 0x100000000, 0)
	TEST_RR(mul, 0x123456789abcdef0, 0x0fedcba987654321, 0x2236d88fe5618cf0)
	TEST_RR_SAME(mul, 0xffffffff, 0xfffffffe00000001)
	TEST_RR_RD2(mul, 6, 7, 42)

	TCASE("mulh")
	TEST_RR(mulh, -1, -1, 0)
	TEST_RR(mulh, -1, 1, -1)
	TEST_RR(mulh, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000)
	TEST_RR(mulh, 0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff)
	TEST_RR(mulh, 0x8000000000000000, 0x7fffffffffffffff, 0xc000000000000000)
	TEST_RR(mulh, -0x123456789abcdef0, 0x0fedcba987654321, 0xfede05ff528828bd)
	TEST_RR(mulh, 0x123456789abcdef0, 0x0fedcba987654321, 0x0121fa00ad77d742)

	TCASE("mulhsu")
	TEST_RR(mulhsu, -1, 0xffffffffffffffff, -1)	// -(2^64 - 1)
	TEST_RR(mulhsu, 1, 0xffffffffffffffff, 0)
	TEST_RR(mulhsu, 0x8000000000000000, 2, -1)	// -2^64
	TEST_RR(mulhsu, -2, 0x8000000000000000, -1)	// rs2 is unsigned 2^63
	TEST_RR(mulhsu, 2, 0x8000000000000000, 1)
	TEST_RR(mulhsu, -1, 0, 0)
	TEST_RR(mulhsu, -0x123456789abcdef0, 0xfedcba9876543210, 0xede05ff528828bdd)

	TCASE("mulhu")
	TEST_RR(mulhu, 0xffffffffffffffff, 0xffffffffffffffff, 0xfffffffffffffffe)
	TEST_RR(mulhu, 0x8000000000000000, 2, 1)
	TEST_RR(mulhu, 0xffffffff, 0xffffffff, 0)
	TEST_RR(mulhu, 0xfedcba9876543210, 0xf0f0f0f0f0f0f0f0, 0xefdecdbcab9a8977)

	TCASE("div")
	TEST_RR(div, 20, 6, 3)
	TEST_RR(div, -20, 6, -3)		// rounds toward zero
	TEST_RR(div, 20, -6, -3)
	TEST_RR(div, -20, -6, 3)
	TEST_RR(div, 0, 5, 0)
	TEST_RR(div, 1234, 0, -1)		// division by zero
	TEST_RR(div, -1234, 0, -1)
	TEST_RR(div, 0x8000000000000000, -1, 0x8000000000000000)	// overflow
	TEST_RR(div, 0x8000000000000000, 1, 0x8000000000000000)
	TEST_RR(div, 0x7fffffffffffffff, -1, 0x8000000000000001)
	TCASE("divu")
	TEST_RR(divu, 20, 6, 3)
	TEST_RR(divu, -1, 2, 0x7fffffffffffffff)
	TEST_RR(divu, -20, 6, 0x2aaaaaaaaaaaaaa7)
	TEST_RR(divu, 1234, 0, 0xffffffffffffffff)
	TEST_RR(divu, 0x8000000000000000, -1, 0)
	TEST_RR(divu, -1, -1, 1)

	TCASE("rem")
	TEST_RR(rem, 20, 6, 2)
	TEST_RR(rem, -20, 6, -2)		// sign of the dividend
	TEST_RR(rem, 20, -6, 2)
	TEST_RR(rem, -20, -6, -2)
	TEST_RR(rem, 1234, 0, 1234)		// remainder by zero: the dividend
	TEST_RR(rem, -1234, 0, -1234)
	TEST_RR(rem, 0x8000000000000000, -1, 0)	// overflow
	TCASE("remu")
	TEST_RR(remu, 20, 6, 2)
	TEST_RR(remu, -1, 10, 5)		// 18446744073709551615 mod 10
	TEST_RR(remu, -20, 6, 2)		// 18446744073709551596 mod 6
	TEST_RR(remu, 1234, 0, 1234)
	TEST_RR(remu, -1234, 0, -1234)
	TEST_RR(remu, 0x8000000000000000, -1, 0x8000000000000000)
	TEST_RR_SAME(remu, 77, 0)

	TCASE("mulw")
	TEST_RR(mulw, 0x7fffffff, 2, -2)
	TEST_RR(mulw, 0x100000003, 0x200000005, 15)	// upper halves ignored
	TEST_RR(mulw, 0x10000, 0x10000, 0)
	TEST_RR(mulw, -1, -1, 1)
	TEST_RR(mulw, 0x10000, 0x8000, 0xffffffff80000000)
	TEST_RR(mulw, 0xffffffff00000007, 0x00000000fffffffd, -21)

	TCASE("divw")
	TEST_RR(divw, 0x80000000, -1, 0xffffffff80000000)	// overflow
	TEST_RR(divw, 0xffffffff80000000, 0xffffffff, 0xffffffff80000000)
	TEST_RR(divw, 1234, 0, -1)
	TEST_RR(divw, 1234, 0x100000000, -1)	// low word of the divisor is zero
	TEST_RR(divw, 0xffffffff00000014, 6, 3)
	TEST_RR(divw, 0x00000000ffffffec, 6, -3)	// -20 / 6
	TEST_RR(divw, 0x7fffffff, 0x7fffffff, 1)
	TCASE("divuw")
	TEST_RR(divuw, 0xffffffff, 2, 0x7fffffff)
	TEST_RR(divuw, 0x80000000, 1, 0xffffffff80000000)	// result sign-extends
	TEST_RR(divuw, 1234, 0, -1)
	TEST_RR(divuw, 0x1234567800000064, 0xffffffff0000000a, 10)
	TEST_RR(divuw, 0xffffffec, 6, 0x2aaaaaa7)

	TCASE("remw")
	TEST_RR(remw, 0x80000000, -1, 0)	// overflow
	TEST_RR(remw, 0x1234567880000001, 0, 0xffffffff80000001)	// by zero: sext(low word)
	TEST_RR(remw, 0x00000000ffffffec, 6, -2)
	TEST_RR(remw, 20, 0xfffffffa, 2)	// 20 % -6
	TEST_RR(remw, 0x1234567800000005, 0x1234567800000003, 2)
	TCASE("remuw")
	TEST_RR(remuw, 0xfffffff5, 0x10, 5)
	TEST_RR(remuw, 0x80000000, 0, 0xffffffff80000000)	// by zero: sext(low word)
	TEST_RR(remuw, 0x1234567800000007, 0x100000000, 7)
	TEST_RR(remuw, 0xffffffff, 0xfffffffe, 1)
	TEST_RR(remuw, 0xffffffff, 0x80000000, 0x7fffffff)
	TEST_RR(remuw, 0xfffffffe, 0xffffffff, 0xfffffffffffffffe)
TEST_END
