/*
 * a.S — the A extension on one hart (unpriv spec ch. 8 "A Standard
 * Extension"): every AMO in .w and .d form (rd gets the old value, .w
 * sign-extends it and touches only its word; min/max compare as signed or
 * unsigned words/doublewords), the aq/rl encodings, rd == rs2 and rd == x0,
 * and LR/SC: success, the guaranteed failures (an SC with no reservation
 * because an earlier SC already consumed it, §8.2), failure leaving memory
 * alone, and an SC after a store by the same hart, which may succeed or
 * fail but must leave memory consistent with what it reported.
 * Atomicity across threads is tested by amo_threads.c.
 */
#include "test.h"

#define GUARD 0xa5a5a5a5
#define SEXT32(x) ((((x) & 0xffffffff) ^ 0x80000000) - 0x80000000)
/* the low word of abuf holds mem; the high word is a guard that must survive */
#define TEST_AMOW(op, mem, src, new) \
	lla t0, abuf; li t1, (GUARD << 32) | (mem); sd t1, 0(t0); li a2, src; \
	op a0, a2, (t0); CHECK(a0, SEXT32(mem)); \
	ld a1, 0(t0); CHECK(a1, (GUARD << 32) | (new))
/* the same on the high word of abuf (address abuf + 4) */
#define TEST_AMOW_HI(op, mem, src, new) \
	lla t0, abuf; li t1, ((mem) << 32) | GUARD; sd t1, 0(t0); li a2, src; \
	addi t2, t0, 4; op a0, a2, (t2); CHECK(a0, SEXT32(mem)); \
	ld a1, 0(t0); CHECK(a1, ((new) << 32) | GUARD)
#define TEST_AMOD(op, mem, src, new) \
	lla t0, abuf; li t1, mem; sd t1, 0(t0); li a2, src; \
	op a0, a2, (t0); CHECK(a0, mem); \
	ld a1, 0(t0); CHECK(a1, new)

TEST_MAIN
	TCASE("amoswap.w")
	TEST_AMOW(amoswap.w, 0x11223344, 0xffffffff99887766, 0x99887766)
	TEST_AMOW(amoswap.w, 0x80000000, 5, 5)
	TEST_AMOW_HI(amoswap.w, 0xcafef00d, 0x12345678, 0x12345678)
	TCASE("amoadd.w")
	TEST_AMOW(amoadd.w, 0xffffffff, 2, 1)
	TEST_AMOW(amoadd.w, 0x7fffffff, 1, 0x80000000)
	TEST_AMOW(amoadd.w, 0x10, 0x1234567800000001, 0x11)
	TEST_AMOW_HI(amoadd.w, 0xfffffff0, 0x20, 0x10)
	TCASE("amoxor.w")
	TEST_AMOW(amoxor.w, 0xff00ff00, 0x0ff00ff0, 0xf0f0f0f0)
	TEST_AMOW_HI(amoxor.w, 0xff00ff00, 0xffffffff, 0x00ff00ff)
	TCASE("amoand.w")
	TEST_AMOW(amoand.w, 0xff00ff00, 0x0ff00ff0, 0x0f000f00)
	TEST_AMOW(amoand.w, 0xffffffff, 0xffffffff00000000, 0)
	TCASE("amoor.w")
	TEST_AMOW(amoor.w, 0xff00ff00, 0x0ff00ff0, 0xfff0fff0)
	TEST_AMOW(amoor.w, 0, 0xffffffff00000000, 0)
	TCASE("amomin.w")
	TEST_AMOW(amomin.w, 1, 0x80000000, 0x80000000)	// signed words: -2^31 < 1
	TEST_AMOW(amomin.w, 0xfffffffe, 0xffffffff, 0xfffffffe)
	TEST_AMOW(amomin.w, 5, 0x100000003, 3)
	TEST_AMOW(amomin.w, 0x80000000, 0x7fffffff, 0x80000000)
	TCASE("amomax.w")
	TEST_AMOW(amomax.w, 1, 0x80000000, 1)
	TEST_AMOW(amomax.w, 0xfffffffe, 0xffffffff, 0xffffffff)
	TEST_AMOW(amomax.w, 0x7fffffff, 0x80000000, 0x7fffffff)
	TEST_AMOW_HI(amomax.w, 0xfffffff0, 0x00000003, 3)
	TCASE("amominu.w")
	TEST_AMOW(amominu.w, 0xffffffff, 0x100000005, 5)	// only the low word of rs2
	TEST_AMOW(amominu.w, 0x80000000, 0x7fffffff, 0x7fffffff)
	TEST_AMOW(amominu.w, 1, 0xffffffff, 1)
	TCASE("amomaxu.w")
	TEST_AMOW(amomaxu.w, 0x80000000, 0x7fffffff, 0x80000000)
	TEST_AMOW(amomaxu.w, 1, 0xffffffff00000002, 2)
	TEST_AMOW_HI(amomaxu.w, 0x00000001, 0xfffffffe, 0xfffffffe)

	TCASE("amoswap.d")
	TEST_AMOD(amoswap.d, 0x1122334455667788, 0x8877665544332211, 0x8877665544332211)
	TCASE("amoadd.d")
	TEST_AMOD(amoadd.d, 0xffffffffffffffff, 2, 1)
	TEST_AMOD(amoadd.d, 0xffffffff, 1, 0x100000000)	// no 32-bit wrap
	TEST_AMOD(amoadd.d, 0x7fffffffffffffff, 1, 0x8000000000000000)
	TCASE("amoxor.d")
	TEST_AMOD(amoxor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xf0f0f0f0f0f0f0f0)
	TCASE("amoand.d")
	TEST_AMOD(amoand.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0x0f000f000f000f00)
	TCASE("amoor.d")
	TEST_AMOD(amoor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xfff0fff0fff0fff0)
	TCASE("amomin.d")
	TEST_AMOD(amomin.d, 1, 0x8000000000000000, 0x8000000000000000)
	TEST_AMOD(amomin.d, -1, 0, -1)
	TEST_AMOD(amomin.d, 0x80000000, 0xffffffff80000000, 0xffffffff80000000)
	TCASE("amomax.d")
	TEST_AMOD(amomax.d, 1, 0x8000000000000000, 1)
	TEST_AMOD(amomax.d, 0x80000000, 0xffffffff80000000, 0x80000000)
	TEST_AMOD(amomax.d, -5, -3, -3)
	TCASE("amominu.d")
	TEST_AMOD(amominu.d, 1, 0x8000000000000000, 1)
	TEST_AMOD(amominu.d, -1, 0, 0)
	TEST_AMOD(amominu.d, 0x100000000, 0xffffffff, 0xffffffff)
	TCASE("amomaxu.d")
	TEST_AMOD(amomaxu.d, 1, 0x8000000000000000, 0x8000000000000000)
	TEST_AMOD(amomaxu.d, -1, 0, -1)
	TEST_AMOD(amomaxu.d, 0x100000000, 0xffffffff, 0x100000000)

	TCASE("aq/rl encodings")
	TEST_AMOW(amoadd.w.aq, 1, 2, 3)
	TEST_AMOW(amoadd.w.rl, 1, 2, 3)
	TEST_AMOW(amoadd.w.aqrl, 1, 2, 3)
	TEST_AMOD(amoswap.d.aq, 1, 2, 2)
	TEST_AMOD(amoor.d.rl, 1, 2, 3)
	TEST_AMOD(amomaxu.d.aqrl, 1, 2, 2)

	TCASE("amo rd == rs2, rd == x0")
	lla	t0, abuf
	li	t1, 10
	sd	t1, 0(t0)
	li	a0, 7
	amoadd.d a0, a0, (t0)		// the old rs2 is the addend
	CHECK(a0, 10)
	ld	a1, 0(t0)
	CHECK(a1, 17)
	li	a2, 100
	amoadd.w zero, a2, (t0)		// memory still updated
	ld	a1, 0(t0)
	CHECK(a1, 117)
	CHECK(zero, 0)

	TCASE("lr.w/sc.w success")
	lla	t0, abuf
	li	t1, 0x1111111122222222
	sd	t1, 0(t0)
	lr.w	a0, (t0)
	CHECK(a0, 0x22222222)
	li	a2, 0x123456789abcdef0
	sc.w	a1, a2, (t0)
	CHECK(a1, 0)
	ld	a3, 0(t0)
	CHECK(a3, 0x111111119abcdef0)
	TCASE("sc.w without reservation fails")
	li	a2, 0x55
	sc.w	a1, a2, (t0)		// the previous sc.w consumed the reservation
	snez	a1, a1
	CHECK(a1, 1)
	ld	a3, 0(t0)
	CHECK(a3, 0x111111119abcdef0)	// unchanged

	TCASE("lr.w sign-extends")
	li	t1, 0x80000001
	sw	t1, 4(t0)
	addi	t2, t0, 4
	lr.w.aq	a0, (t2)
	CHECK(a0, 0xffffffff80000001)
	li	a2, 0x7
	sc.w.rl	a1, a2, (t2)
	CHECK(a1, 0)
	ld	a3, 0(t0)
	CHECK(a3, 0x000000079abcdef0)

	TCASE("lr.d/sc.d success")
	li	t1, 0x8000000000000001
	sd	t1, 8(t0)
	addi	t2, t0, 8
	lr.d	a0, (t2)
	CHECK(a0, 0x8000000000000001)
	li	a2, 0x0123456789abcdef
	sc.d	a1, a2, (t2)
	CHECK(a1, 0)
	ld	a3, 8(t0)
	CHECK(a3, 0x0123456789abcdef)
	TCASE("sc.d without reservation fails")
	li	a2, 0x55
	sc.d.aqrl a1, a2, (t2)
	snez	a1, a1
	CHECK(a1, 1)
	ld	a3, 8(t0)
	CHECK(a3, 0x0123456789abcdef)
	TCASE("lr.d.aqrl/sc.d.aqrl")
	lr.d.aqrl a0, (t2)
	CHECK(a0, 0x0123456789abcdef)
	addi	a0, a0, 1
	sc.d.aqrl a1, a0, (t2)
	CHECK(a1, 0)
	ld	a3, 8(t0)
	CHECK(a3, 0x0123456789abcdf0)

	TCASE("sc.w after a store by the same hart")
	// The SC may succeed or fail; either way memory must hold what it says.
	lla	t0, abuf
	sd	zero, 0(t0)
	lr.w	a0, (t0)
	li	t1, 0x1111
	sw	t1, 0(t0)
	li	a2, 0x2222
	sc.w	a1, a2, (t0)
	lw	a3, 0(t0)
	li	a4, 0x2222
	beqz	a1, 1f
	li	a4, 0x1111
1:	sub	a3, a3, a4
	CHECK(a3, 0)
	TCASE("sc.d after a store by the same hart")
	lr.d	a0, (t0)
	li	t1, 0x3333
	sd	t1, 0(t0)
	li	a2, 0x4444
	sc.d	a1, a2, (t0)
	ld	a3, 0(t0)
	li	a4, 0x4444
	beqz	a1, 1f
	li	a4, 0x3333
1:	sub	a3, a3, a4
	CHECK(a3, 0)

	TCASE("lr/sc increment loop")
	lla	t0, abuf
	sd	zero, 0(t0)
	li	t1, 1000
1:	lr.w	a0, (t0)
	addi	a0, a0, 1
	sc.w	a1, a0, (t0)
	bnez	a1, 1b
	addi	t1, t1, -1
	bnez	t1, 1b
2:	lr.d	a0, (t0)
	addi	a0, a0, 2
	sc.d	a1, a0, (t0)
	bnez	a1, 2b
	addi	t1, t1, 1
	li	t2, 500
	bne	t1, t2, 2b
	ld	a0, 0(t0)
	CHECK(a0, 2000)
TEST_END

	.data
	.balign 16
abuf:
	.zero	16
