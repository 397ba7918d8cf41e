/* Unit tests for the snapshot state of the board's simple devices (UART,
 * PLIC, Goldfish RTC): each is driven into a non-trivial state through
 * its registers, saved, loaded into a fresh device built the same way,
 * and must then read and behave the same; its line is driven from the
 * loaded state.  Bad states: every truncation, a wrong tag, and each
 * value out of range fail cleanly with a reason, changing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <time.h>

#include "condo/cpu.h"
#include "condo/devices.h"
#include "condo/state.h"
#include "test_state_common.h"
#include "test_fake_irq.h"

static uint64_t rd(const struct dev_ops *ops, void *dev, uint64_t off, unsigned len)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(ops->read(dev, off, len, &v), 0);
	return v;
}

static void wr(const struct dev_ops *ops, void *dev, uint64_t off, unsigned len, uint64_t v)
{
	assert_int_equal(ops->write(dev, off, len, v), 0);
}

static void save(const struct dev_ops *ops, void *dev, struct state_buf *out)
{
	*out = (struct state_buf){ 0 };
	ops->save(dev, out);
	assert_int_equal(state_status(out), 0);
	assert_true(out->len > 4);
}

/* ---- UART ---- */

enum { RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5,
       MSR = 6, SCR = 7 };

static uint8_t urd(struct uart16550 *u, uint64_t off)
{
	return (uint8_t)rd(&uart16550_ops, u, off, 1);
}

static void uwr(struct uart16550 *u, uint64_t off, uint8_t v)
{
	wr(&uart16550_ops, u, off, 1, v);
}

/* Every register as the guest reads it, in an order that also consumes
 * the received bytes: reads clear state, so both UARTs go through it. */
static void uart_read_all(struct uart16550 *u, uint8_t *regs, size_t n)
{
	size_t k = 0;

	regs[k++] = urd(u, IIR);
	regs[k++] = urd(u, LSR);
	regs[k++] = urd(u, MSR);
	regs[k++] = urd(u, IER);
	regs[k++] = urd(u, LCR);
	regs[k++] = urd(u, MCR);
	regs[k++] = urd(u, SCR);
	uwr(u, LCR, urd(u, LCR) | 0x80);
	regs[k++] = urd(u, DLL);
	regs[k++] = urd(u, DLM);
	uwr(u, LCR, urd(u, LCR) & 0x7f);
	while (k < n)
		regs[k++] = urd(u, RBR);
}

static void test_uart_state_round_trip(void **state)
{
	struct fake_irq ia = { 0 }, ib = { 0 };
	struct uart16550 *a = uart16550_new((struct irq_line){ fake_irq_set, &ia, 10 }, -1);
	struct uart16550 *b = uart16550_new((struct irq_line){ fake_irq_set, &ib, 10 }, -1);
	uint8_t ra[40], rb[40];
	struct state_buf st;

	assert_non_null(a);
	assert_non_null(b);
	uwr(a, LCR, 0x83);
	uwr(a, DLL, 0x0c);
	uwr(a, DLM, 0x01);
	uwr(a, LCR, 0x1b);
	uwr(a, SCR, 0x5a);
	uwr(a, FCR, 0xc1); /* FIFOs on, trigger at 14 */
	uwr(a, IER, 0x05); /* received data, line status */
	uwr(a, MCR, 0x0b);
	assert_int_equal(uart16550_input(a, (const uint8_t *)"hello, world", 12), 12);
	assert_int_equal(urd(a, IIR), 0xcc); /* below the trigger: timeout */
	assert_true(ia.level);

	save(&uart16550_ops, a, &st);
	expect_prefixes_fail(&uart16550_ops, b, &st);
	assert_false(ib.level); /* the failures changed nothing */
	load_ok(&uart16550_ops, b, &st);
	assert_true(ib.level); /* driven from the loaded state */
	uart_read_all(a, ra, sizeof(ra));
	uart_read_all(b, rb, sizeof(rb));
	assert_memory_equal(ra, rb, sizeof(ra));
	assert_memory_equal(rb + 9, "hello, world", 12);
	assert_int_equal(urd(b, LSR) & 1, 0); /* all of it taken */
	assert_false(ib.level);

	/* more input after the restore: the trigger level came along */
	assert_int_equal(uart16550_input(b, (const uint8_t *)"0123456789abcd", 14), 14);
	assert_int_equal(urd(b, IIR), 0xc4); /* at the trigger: data available */

	state_free(&st);
	uart16550_ops.free(a);
	uart16550_ops.free(b);
}

static void test_uart_state_bad_values(void **state)
{
	struct fake_irq ia = { 0 }, ib = { 0 };
	struct uart16550 *a = uart16550_new((struct irq_line){ fake_irq_set, &ia, 10 }, -1);
	struct uart16550 *b = uart16550_new((struct irq_line){ fake_irq_set, &ib, 10 }, -1);
	struct state_buf st;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(uart16550_input(a, (const uint8_t *)"x", 1), 1);
	save(&uart16550_ops, a, &st);
	/* tag, then IER FCR LCR MCR SCR DLL DLM LSR-errors MSR-deltas, THRE,
	 * the byte count, the bytes */
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 0, 'X'),
			    "a section's tag is wrong");
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 4, 0x10),
			    "uart16550: IER has reserved bits set");
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 5, 0x06),
			    "uart16550: FCR holds a value the chip cannot");
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 7, 0x20),
			    "uart16550: MCR has reserved bits set");
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 11, 0x01),
			    "uart16550: latched LSR bits are not error bits");
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 12, 0x10),
			    "uart16550: latched MSR bits are not delta bits");
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 13, 2),
			    "a flag is neither 0 nor 1");
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 17, 0x01),
			    "uart16550: more received bytes than the buffer holds");
	/* a count larger than the bytes there are */
	assert_string_equal(load_patched(&uart16550_ops, b, &st, 14, 0x02), "truncated");
	assert_int_equal(urd(b, LSR), 0x60); /* b is as built: nothing received */
	assert_false(ib.level);
	state_free(&st);
	uart16550_ops.free(a);
	uart16550_ops.free(b);
}

/* ---- PLIC ---- */

#define PRIO(src)    (4u * (src))
#define PENDING(w)   (0x1000u + 4u * (w))
#define ENABLE(c, w) (0x2000u + 0x80u * (c) + 4u * (w))
#define THRESH(c)    (0x200000u + 0x1000u * (c))
#define CLAIM(c)     (THRESH(c) + 4)

struct plic_fx {
	struct hart *harts[2];
	struct plic *plic;
};

static void plic_fx_new(struct plic_fx *fx, int nharts)
{
	for (int i = 0; i < nharts; i++) {
		fx->harts[i] = hart_new(NULL, NULL);
		assert_non_null(fx->harts[i]);
	}
	fx->plic = plic_new(fx->harts, nharts);
	assert_non_null(fx->plic);
}

static void plic_fx_free(struct plic_fx *fx, int nharts)
{
	plic_ops.free(fx->plic);
	for (int i = 0; i < nharts; i++)
		hart_free(fx->harts[i]);
}

static uint32_t prd(struct plic_fx *fx, uint32_t off)
{
	return (uint32_t)rd(&plic_ops, fx->plic, off, 4);
}

static void pwr(struct plic_fx *fx, uint32_t off, uint32_t v)
{
	wr(&plic_ops, fx->plic, off, 4, v);
}

static uint64_t ext_irqs(struct plic_fx *fx, int hart)
{
	return fx->harts[hart]->mip & (MIP_MEIP | MIP_SEIP);
}

/* Sources 5 and 10 for hart 0's S-mode context (1), 10 claimed and still
 * high; source 33 for hart 1's M-mode context (2), pending; source 40
 * pending but masked by context 3's threshold. */
static void plic_busy(struct plic_fx *fx)
{
	pwr(fx, PRIO(5), 3);
	pwr(fx, PRIO(10), 5);
	pwr(fx, PRIO(33), 1);
	pwr(fx, PRIO(40), 2);
	pwr(fx, ENABLE(1, 0), 1u << 5 | 1u << 10);
	pwr(fx, ENABLE(2, 1), 1u << 1);
	pwr(fx, ENABLE(3, 1), 1u << 8);
	pwr(fx, THRESH(1), 2);
	pwr(fx, THRESH(3), 4);
	plic_set_irq(fx->plic, 5, true);
	plic_set_irq(fx->plic, 10, true);
	plic_set_irq(fx->plic, 33, true);
	plic_set_irq(fx->plic, 40, true);
	assert_int_equal(prd(fx, CLAIM(1)), 10);
}

static void test_plic_state_round_trip(void **state)
{
	struct plic_fx a = { 0 }, b = { 0 };
	struct state_buf st;

	plic_fx_new(&a, 2);
	plic_fx_new(&b, 2);
	plic_busy(&a);
	save(&plic_ops, a.plic, &st);
	expect_prefixes_fail(&plic_ops, b.plic, &st);
	assert_int_equal(ext_irqs(&b, 0) | ext_irqs(&b, 1), 0);
	load_ok(&plic_ops, b.plic, &st);
	/* the harts' lines, as a normal update drives them */
	assert_int_equal(ext_irqs(&b, 0), MIP_SEIP);
	assert_int_equal(ext_irqs(&b, 1), MIP_MEIP);
	assert_int_equal(ext_irqs(&b, 0), ext_irqs(&a, 0));
	assert_int_equal(ext_irqs(&b, 1), ext_irqs(&a, 1));
	for (unsigned src = 0; src < PLIC_NUM_SOURCES; src++)
		assert_int_equal(prd(&b, PRIO(src)), prd(&a, PRIO(src)));
	for (unsigned c = 0; c < 4; c++) {
		assert_int_equal(prd(&b, THRESH(c)), prd(&a, THRESH(c)));
		for (unsigned w = 0; w < 3; w++)
			assert_int_equal(prd(&b, ENABLE(c, w)), prd(&a, ENABLE(c, w)));
	}
	for (unsigned w = 0; w < 3; w++)
		assert_int_equal(prd(&b, PENDING(w)), prd(&a, PENDING(w)));
	/* behaviour: both claim the same, complete the same */
	assert_int_equal(prd(&b, CLAIM(1)), 5);
	assert_int_equal(prd(&a, CLAIM(1)), 5);
	assert_int_equal(prd(&b, CLAIM(2)), 33);
	pwr(&b, CLAIM(1), 10); /* 10 is still high: pending again */
	assert_int_equal(prd(&b, CLAIM(1)), 10);
	assert_int_equal(prd(&b, CLAIM(3)), 0); /* under the threshold */
	state_free(&st);
	plic_fx_free(&a, 2);
	plic_fx_free(&b, 2);
}

static void test_plic_state_bad_values(void **state)
{
	struct plic_fx a = { 0 }, b = { 0 }, one = { 0 };
	struct state_buf st;
	/* tag, nharts, 96 priorities, then line, pending, claimed (3 words
	 * each), then per context 3 enable words and a threshold */
	const size_t prio = 8, line = prio + 4 * PLIC_NUM_SOURCES, pending = line + 12,
		     claimed = pending + 12, ctx = claimed + 12;

	plic_fx_new(&a, 2);
	plic_fx_new(&b, 2);
	plic_fx_new(&one, 1);
	plic_busy(&a);
	save(&plic_ops, a.plic, &st);
	assert_int_equal(st.len, ctx + 4 * 16);
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, 3, 'X'),
			    "a section's tag is wrong");
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, prio + 4 * 5, 8),
			    "plic: priority out of range");
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, prio + 4 * 7 + 3, 0x80),
			    "plic: priority out of range");
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, prio, 1),
			    "plic: source 0 has a priority");
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, pending, 1 << 6),
			    "plic: a source pends with its line low");
	/* source 10 is in service: make it pend too */
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, pending + 1, 1 << 2),
			    "plic: a source pends while in service");
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, line, 1),
			    "plic: source 0 is pending or in service");
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, ctx + 16 * 2, 1),
			    "plic: source 0 enabled");
	assert_string_equal(load_patched(&plic_ops, b.plic, &st, ctx + 16 * 3 + 12, 8),
			    "plic: threshold out of range");
	{
		struct state_buf in = state_reader(st.data, st.len);

		assert_int_equal(plic_ops.load(one.plic, &in), -1);
		assert_string_equal(in.why, "plic: saved for another number of harts");
	}
	/* nothing of the bad states stuck */
	assert_int_equal(ext_irqs(&b, 0) | ext_irqs(&b, 1), 0);
	assert_int_equal(prd(&b, PRIO(5)), 0);
	assert_int_equal(prd(&b, CLAIM(1)), 0);
	state_free(&st);
	plic_fx_free(&a, 2);
	plic_fx_free(&b, 2);
	plic_fx_free(&one, 1);
}

/* ---- Goldfish RTC ---- */

enum { TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c,
       IRQ_ENABLED = 0x10, ALARM_STATUS = 0x18 };

#define NS_PER_S 1000000000ull
#define DAY_NS   (86400 * NS_PER_S)

static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t rrd(struct goldfish_rtc *r, uint64_t off)
{
	return (uint32_t)rd(&goldfish_rtc_ops, r, off, 4);
}

static void rwr(struct goldfish_rtc *r, uint64_t off, uint32_t v)
{
	wr(&goldfish_rtc_ops, r, off, 4, v);
}

static uint64_t rtc_time(struct goldfish_rtc *r)
{
	uint64_t lo = rrd(r, TIME_LOW);

	return (uint64_t)rrd(r, TIME_HIGH) << 32 | lo;
}

/* The guest set its clock a day ahead and an alarm a year ahead: after a
 * restore the clock is still host time plus a day (not the time saved),
 * and the alarm waits on. */
static void test_rtc_state_round_trip(void **state)
{
	struct fake_irq ia = { 0 }, ib = { 0 };
	struct goldfish_rtc *a = goldfish_rtc_new((struct irq_line){ fake_irq_set, &ia, 11 });
	struct goldfish_rtc *b = goldfish_rtc_new((struct irq_line){ fake_irq_set, &ib, 11 });
	uint64_t t = host_ns() + DAY_NS, alarm = t + 365 * DAY_NS, got;
	struct state_buf st;

	assert_non_null(a);
	assert_non_null(b);
	rwr(a, TIME_HIGH, (uint32_t)(t >> 32));
	rwr(a, TIME_LOW, (uint32_t)t);
	rwr(a, IRQ_ENABLED, 1);
	rwr(a, ALARM_HIGH, (uint32_t)(alarm >> 32));
	rwr(a, ALARM_LOW, (uint32_t)alarm);
	save(&goldfish_rtc_ops, a, &st);
	expect_prefixes_fail(&goldfish_rtc_ops, b, &st);
	assert_int_equal(rrd(b, ALARM_STATUS), 0);
	load_ok(&goldfish_rtc_ops, b, &st);
	got = rtc_time(b) - host_ns();
	/* a day ahead of the host, give or take an hour (not a timing
	 * bound: the offset itself is what is checked) */
	assert_true(got > DAY_NS - 3600 * NS_PER_S && got < DAY_NS + 3600 * NS_PER_S);
	assert_int_equal(rrd(b, ALARM_LOW), (uint32_t)alarm);
	assert_int_equal(rrd(b, ALARM_HIGH), (uint32_t)(alarm >> 32));
	assert_int_equal(rrd(b, ALARM_STATUS), 1);
	assert_int_equal(rrd(b, IRQ_ENABLED), 1);
	assert_false(ib.level);
	state_free(&st);
	goldfish_rtc_ops.free(a);
	goldfish_rtc_ops.free(b);
}

/* An alarm that fired before the save: the restored line is high. */
static void test_rtc_state_pending_alarm(void **state)
{
	struct fake_irq ia = { 0 }, ib = { 0 };
	struct goldfish_rtc *a = goldfish_rtc_new((struct irq_line){ fake_irq_set, &ia, 11 });
	struct goldfish_rtc *b = goldfish_rtc_new((struct irq_line){ fake_irq_set, &ib, 11 });
	struct state_buf st;

	assert_non_null(a);
	assert_non_null(b);
	rwr(a, IRQ_ENABLED, 1);
	rwr(a, ALARM_HIGH, 0);
	rwr(a, ALARM_LOW, 1); /* 1970: fires at once */
	assert_true(ia.level);
	save(&goldfish_rtc_ops, a, &st);
	/* tag, offset, TIME_HIGH latch, alarm, then the three flags */
	assert_string_equal(load_patched(&goldfish_rtc_ops, b, &st, 24, 7),
			    "a flag is neither 0 nor 1");
	assert_string_equal(load_patched(&goldfish_rtc_ops, b, &st, 2, 0),
			    "a section's tag is wrong");
	assert_false(ib.level);
	load_ok(&goldfish_rtc_ops, b, &st);
	assert_true(ib.level);
	assert_int_equal(rrd(b, ALARM_STATUS), 0);
	state_free(&st);
	goldfish_rtc_ops.free(a);
	goldfish_rtc_ops.free(b);
}

/* One device's state given to another: the tag stops it. */
static void test_state_of_another_device(void **state)
{
	struct fake_irq ia = { 0 };
	struct goldfish_rtc *rtc = goldfish_rtc_new((struct irq_line){ fake_irq_set, &ia, 11 });
	struct uart16550 *uart = uart16550_new((struct irq_line){ fake_irq_set, &ia, 10 }, -1);
	struct state_buf st, in;

	assert_non_null(rtc);
	assert_non_null(uart);
	save(&goldfish_rtc_ops, rtc, &st);
	in = state_reader(st.data, st.len);
	assert_int_equal(uart16550_ops.load(uart, &in), -1);
	assert_string_equal(in.why, "a section's tag is wrong");
	state_free(&st);
	goldfish_rtc_ops.free(rtc);
	uart16550_ops.free(uart);
}

/* The devices with no state of their own say so with NULL hooks. */
static void test_stateless_devices(void **state)
{
	assert_null(sifive_test_ops.save);
	assert_null(sifive_test_ops.load);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uart_state_round_trip),
		cmocka_unit_test(test_uart_state_bad_values),
		cmocka_unit_test(test_plic_state_round_trip),
		cmocka_unit_test(test_plic_state_bad_values),
		cmocka_unit_test(test_rtc_state_round_trip),
		cmocka_unit_test(test_rtc_state_pending_alarm),
		cmocka_unit_test(test_state_of_another_device),
		cmocka_unit_test(test_stateless_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
