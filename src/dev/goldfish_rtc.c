/* Goldfish RTC: wall-clock time for the guest (Android emulator's
 * "goldfish" virtual hardware, the RTC QEMU's virt board uses; Linux
 * driver rtc-goldfish).
 *
 * Time is nanoseconds since the Unix epoch: the host's CLOCK_REALTIME plus
 * an offset the guest may set.  Reading TIME_LOW latches the high half for
 * the next TIME_HIGH read.  The alarm is kept and reported, and fires when
 * it is set in the past or when any register is accessed after its time;
 * there is no host timer behind it (see docs/devices.md). */
#include "condo/devices.h"
#include "condo/log.h"
#include "condo/state.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

enum {
	REG_TIME_LOW = 0x00,
	REG_TIME_HIGH = 0x04,
	REG_ALARM_LOW = 0x08,
	REG_ALARM_HIGH = 0x0c,
	REG_IRQ_ENABLED = 0x10,
	REG_CLEAR_ALARM = 0x14,
	REG_ALARM_STATUS = 0x18,
	REG_CLEAR_INTERRUPT = 0x1c,
};

struct goldfish_rtc {
	pthread_mutex_t lock;
	struct irq_line irq;
	uint64_t offset_ns; /* guest time - host time, modulo 2^64 */
	uint32_t time_high; /* latched by TIME_LOW reads, staged by TIME_HIGH writes */
	uint64_t alarm_ns;
	bool alarm_running;
	bool irq_enabled;
	bool irq_pending;
	bool irq_level; /* what the line was last set to */
};

static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(const struct goldfish_rtc *rtc)
{
	return host_ns() + rtc->offset_ns;
}

static void update_irq(struct goldfish_rtc *rtc)
{
	bool level = rtc->irq_pending && rtc->irq_enabled;

	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_set(&rtc->irq, level);
	}
}

static void check_alarm(struct goldfish_rtc *rtc)
{
	if (rtc->alarm_running && now_ns(rtc) >= rtc->alarm_ns) {
		rtc->alarm_running = false;
		rtc->irq_pending = true;
	}
}

static uint32_t read_reg(struct goldfish_rtc *rtc, uint64_t offset)
{
	uint64_t now;

	switch (offset) {
	case REG_TIME_LOW:
		now = now_ns(rtc);
		rtc->time_high = (uint32_t)(now >> 32);
		return (uint32_t)now;
	case REG_TIME_HIGH:
		return rtc->time_high;
	case REG_ALARM_LOW:
		return (uint32_t)rtc->alarm_ns;
	case REG_ALARM_HIGH:
		return (uint32_t)(rtc->alarm_ns >> 32);
	case REG_IRQ_ENABLED:
		return rtc->irq_enabled;
	case REG_ALARM_STATUS:
		return rtc->alarm_running;
	default:
		return 0;
	}
}

static void write_reg(struct goldfish_rtc *rtc, uint64_t offset, uint32_t val)
{
	switch (offset) {
	case REG_TIME_LOW:
		/* Linux writes TIME_HIGH, then TIME_LOW: the low half commits. */
		rtc->offset_ns = (((uint64_t)rtc->time_high << 32) | val) - host_ns();
		break;
	case REG_TIME_HIGH:
		rtc->time_high = val;
		break;
	case REG_ALARM_LOW:
		/* Linux writes ALARM_HIGH, then ALARM_LOW: the low half arms. */
		rtc->alarm_ns = (rtc->alarm_ns & ~0xffffffffull) | val;
		rtc->alarm_running = true;
		break;
	case REG_ALARM_HIGH:
		rtc->alarm_ns = ((uint64_t)val << 32) | (rtc->alarm_ns & 0xffffffffull);
		break;
	case REG_IRQ_ENABLED:
		rtc->irq_enabled = val & 1;
		break;
	case REG_CLEAR_ALARM:
		rtc->alarm_running = false;
		break;
	case REG_CLEAR_INTERRUPT:
		rtc->irq_pending = false;
		break;
	default:
		break;
	}
}

/* 32-bit registers; like QEMU's model, other widths and misaligned
 * accesses fault. */
static int rtc_read(void *dev, uint64_t offset, unsigned len, uint64_t *val)
{
	struct goldfish_rtc *rtc = dev;

	*val = 0;
	if (len != 4 || offset % 4)
		return -1;
	pthread_mutex_lock(&rtc->lock);
	check_alarm(rtc);
	*val = read_reg(rtc, offset);
	update_irq(rtc);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static int rtc_write(void *dev, uint64_t offset, unsigned len, uint64_t val)
{
	struct goldfish_rtc *rtc = dev;

	if (len != 4 || offset % 4)
		return -1;
	pthread_mutex_lock(&rtc->lock);
	write_reg(rtc, offset, (uint32_t)val);
	check_alarm(rtc);
	update_irq(rtc);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

/* The clock keeps running across a reset, as a battery-backed RTC does;
 * the alarm and interrupt state clear. */
static void rtc_reset(void *dev)
{
	struct goldfish_rtc *rtc = dev;

	pthread_mutex_lock(&rtc->lock);
	rtc->time_high = 0;
	rtc->alarm_ns = 0;
	rtc->alarm_running = rtc->irq_enabled = rtc->irq_pending = false;
	update_irq(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

/* Snapshots: the guest's offset from the host's wall clock (not the time
 * it read), so a restored guest still sees host time plus its offset: its
 * clock jumps forward by however long the snapshot lay, as a laptop's RTC
 * does across a suspend, and a clone on another host follows that host's
 * clock.  Also the TIME_HIGH latch, the alarm and the interrupt state.
 * An alarm whose time passed meanwhile fires at the next access, as any
 * alarm does here. */
static void rtc_save(void *dev, struct state_buf *out)
{
	struct goldfish_rtc *rtc = dev;

	pthread_mutex_lock(&rtc->lock);
	state_put_tag(out, "GRTC");
	state_put_u64(out, rtc->offset_ns);
	state_put_u32(out, rtc->time_high);
	state_put_u64(out, rtc->alarm_ns);
	state_put_bool(out, rtc->alarm_running);
	state_put_bool(out, rtc->irq_enabled);
	state_put_bool(out, rtc->irq_pending);
	pthread_mutex_unlock(&rtc->lock);
}

/* Every value is one a guest can set, so only the flags are checked
 * (state_get_bool). */
static int rtc_load(void *dev, struct state_buf *in)
{
	struct goldfish_rtc *rtc = dev;
	uint64_t offset_ns, alarm_ns;
	uint32_t time_high;
	bool alarm_running, irq_enabled, irq_pending;

	state_expect(in, "GRTC");
	offset_ns = state_get_u64(in);
	time_high = state_get_u32(in);
	alarm_ns = state_get_u64(in);
	alarm_running = state_get_bool(in);
	irq_enabled = state_get_bool(in);
	irq_pending = state_get_bool(in);
	if (state_status(in) < 0)
		return -1;
	pthread_mutex_lock(&rtc->lock);
	rtc->offset_ns = offset_ns;
	rtc->time_high = time_high;
	rtc->alarm_ns = alarm_ns;
	rtc->alarm_running = alarm_running;
	rtc->irq_enabled = irq_enabled;
	rtc->irq_pending = irq_pending;
	rtc->irq_level = irq_pending && irq_enabled;
	irq_set(&rtc->irq, rtc->irq_level);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static void rtc_free(void *dev)
{
	struct goldfish_rtc *rtc = dev;

	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

const struct dev_ops goldfish_rtc_ops = {
	.name = "goldfish-rtc",
	.read = rtc_read,
	.write = rtc_write,
	.reset = rtc_reset,
	.free = rtc_free,
	.save = rtc_save,
	.load = rtc_load,
};

struct goldfish_rtc *goldfish_rtc_new(struct irq_line irq)
{
	struct goldfish_rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		goto err;
	if (pthread_mutex_init(&rtc->lock, NULL))
		goto err_free;
	rtc->irq = irq;
	return rtc;

err_free:
	free(rtc);
err:
	log_err("rtc", "cannot create the Goldfish RTC: out of memory");
	return NULL;
}
