/* Unit tests for the Goldfish RTC: the time read the way Linux's
 * rtc-goldfish reads it, the TIME_HIGH latch, setting the time, the alarm
 * and its interrupt, and garbage accesses at every offset and width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <time.h>

#include "condo/devices.h"
#include "test_fake_irq.h"

enum { TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c,
       IRQ_ENABLED = 0x10, CLEAR_ALARM = 0x14, ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c };

#define NS_PER_S 1000000000ull


struct fixture {
	struct goldfish_rtc *rtc;
	struct fake_irq irq;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->rtc = goldfish_rtc_new((struct irq_line){ fake_irq_set, &fx->irq, 11 });
	assert_non_null(fx->rtc);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	goldfish_rtc_ops.free(fx->rtc);
	free(fx);
	return 0;
}

static uint32_t rd(struct fixture *fx, uint64_t off)
{
	uint64_t v = ~0ull;

	assert_int_equal(goldfish_rtc_ops.read(fx->rtc, off, 4, &v), 0);
	assert_true(v <= UINT32_MAX);
	return (uint32_t)v;
}

static void wr(struct fixture *fx, uint64_t off, uint32_t v)
{
	assert_int_equal(goldfish_rtc_ops.write(fx->rtc, off, 4, v), 0);
}

/* As drivers/rtc/rtc-goldfish.c reads it: low, then high. */
static uint64_t guest_ns(struct fixture *fx)
{
	uint64_t low = rd(fx, TIME_LOW);

	return (uint64_t)rd(fx, TIME_HIGH) << 32 | low;
}

static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void test_rtc_time_is_host_realtime_in_ns(void **state)
{
	struct fixture *fx = *state;
	uint64_t before = host_ns();
	uint64_t t = guest_ns(fx);
	uint64_t after = host_ns();

	assert_true(before <= t && t <= after);
	assert_true(t / NS_PER_S > 1600000000ull); /* a date after 2020, not seconds since boot */
}

static void test_rtc_time_high_is_latched_by_low_read(void **state)
{
	struct fixture *fx = *state;
	uint64_t now = host_ns();

	wr(fx, TIME_HIGH, 0x1234); /* staged, not committed without TIME_LOW */
	assert_int_equal(rd(fx, TIME_HIGH), 0x1234);
	rd(fx, TIME_LOW);
	assert_int_equal(rd(fx, TIME_HIGH), (uint32_t)(now >> 32));
	assert_int_equal(rd(fx, TIME_HIGH), (uint32_t)(now >> 32)); /* no side effect */
}

static void test_rtc_guest_sets_its_own_time(void **state)
{
	struct fixture *fx = *state;
	uint64_t set = 946684800ull * NS_PER_S; /* 2000-01-01, as rtc-goldfish writes it */
	uint64_t t;

	wr(fx, TIME_HIGH, (uint32_t)(set >> 32));
	wr(fx, TIME_LOW, (uint32_t)set);
	t = guest_ns(fx);
	assert_true(t >= set && t - set < 3600 * NS_PER_S);

	/* Another RTC (another VM) still tells the host's time. */
	struct goldfish_rtc *other = goldfish_rtc_new((struct irq_line){ 0 });
	uint64_t low, high;
	assert_non_null(other);
	assert_int_equal(goldfish_rtc_ops.read(other, TIME_LOW, 4, &low), 0);
	assert_int_equal(goldfish_rtc_ops.read(other, TIME_HIGH, 4, &high), 0);
	assert_true((high << 32 | low) / NS_PER_S > 1600000000ull);
	goldfish_rtc_ops.free(other);
}

static void test_rtc_past_alarm_fires_when_enabled_and_clears(void **state)
{
	struct fixture *fx = *state;

	wr(fx, ALARM_HIGH, 0);
	wr(fx, ALARM_LOW, 1); /* 1970: already past */
	assert_int_equal(rd(fx, ALARM_STATUS), 0);
	assert_false(fx->irq.level); /* IRQ not enabled yet */
	wr(fx, IRQ_ENABLED, 1);
	assert_true(fx->irq.level);
	assert_int_equal(rd(fx, IRQ_ENABLED), 1);
	wr(fx, CLEAR_INTERRUPT, 1);
	assert_false(fx->irq.level);
}

static void test_rtc_future_alarm_is_armed_reported_and_cancelled(void **state)
{
	struct fixture *fx = *state;
	uint64_t alarm = host_ns() + 3600 * NS_PER_S;

	wr(fx, IRQ_ENABLED, 1);
	wr(fx, ALARM_HIGH, (uint32_t)(alarm >> 32));
	wr(fx, ALARM_LOW, (uint32_t)alarm);
	assert_int_equal(rd(fx, ALARM_STATUS), 1);
	assert_int_equal(rd(fx, ALARM_LOW), (uint32_t)alarm);
	assert_int_equal(rd(fx, ALARM_HIGH), (uint32_t)(alarm >> 32));
	assert_false(fx->irq.level);
	wr(fx, CLEAR_ALARM, 1);
	assert_int_equal(rd(fx, ALARM_STATUS), 0);

	/* Moving the guest clock past an armed alarm fires it. */
	wr(fx, ALARM_LOW, (uint32_t)alarm);
	alarm += NS_PER_S;
	wr(fx, TIME_HIGH, (uint32_t)(alarm >> 32));
	wr(fx, TIME_LOW, (uint32_t)alarm);
	assert_true(fx->irq.level);
	assert_int_equal(rd(fx, ALARM_STATUS), 0);
}

static void test_rtc_reset_clears_alarm_keeps_clock(void **state)
{
	struct fixture *fx = *state;
	uint64_t set = 946684800ull * NS_PER_S;

	wr(fx, TIME_HIGH, (uint32_t)(set >> 32));
	wr(fx, TIME_LOW, (uint32_t)set);
	wr(fx, IRQ_ENABLED, 1);
	wr(fx, ALARM_LOW, 0);
	assert_true(fx->irq.level);
	goldfish_rtc_ops.reset(fx->rtc);
	assert_false(fx->irq.level);
	assert_int_equal(rd(fx, IRQ_ENABLED), 0);
	assert_true(guest_ns(fx) - set < 3600 * NS_PER_S);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11 ^ *s << 29;
}

static void test_rtc_garbage_at_every_offset_and_width_is_harmless(void **state)
{
	struct fixture *fx = *state;
	static const unsigned widths[] = { 1, 2, 4, 8 };
	uint64_t seed = 3, v;

	for (int round = 0; round < 4; round++) {
		for (uint64_t off = 0; off < GOLDFISH_RTC_SIZE; off++) {
			for (unsigned w = 0; w < 4; w++) {
				int ok = widths[w] == 4 && off % 4 == 0 ? 0 : -1;
				if (off + widths[w] > GOLDFISH_RTC_SIZE)
					continue;
				assert_int_equal(goldfish_rtc_ops.write(fx->rtc, off, widths[w], lcg(&seed)), ok);
				assert_int_equal(goldfish_rtc_ops.read(fx->rtc, off, widths[w], &v), ok);
				assert_true(v <= UINT32_MAX);
			}
		}
	}
	goldfish_rtc_ops.reset(fx->rtc);
	assert_false(fx->irq.level);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_rtc_time_is_host_realtime_in_ns),
		T(test_rtc_time_high_is_latched_by_low_read),
		T(test_rtc_guest_sets_its_own_time),
		T(test_rtc_past_alarm_fires_when_enabled_and_clears),
		T(test_rtc_future_alarm_is_armed_reported_and_cancelled),
		T(test_rtc_reset_clears_alarm_keeps_clock),
		T(test_rtc_garbage_at_every_offset_and_width_is_harmless),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
