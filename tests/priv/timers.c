/* timers.c — timer interrupts reach a hart that runs hot compiled code.
 * condo polls its timers from the run loop and plans each poll from the
 * nearest deadline and the hart's speed (docs/engine.md, "Timers"): after a
 * long stretch with no deadline near, the polls are far apart, so a
 * comparator written then must make the loop plan again, and a deadline
 * armed ahead must still be seen when it passes.  "Not taken" is checked
 * over a bounded spin; "taken" within a bound that only guards against a
 * hang (no time limits). */
#include "priv.h"

#define SPIN 3000000L

static int hook_m_timer_off(struct trap_frame *f)
{
	if ((f->cause & 63) != IRQ_M_TIMER)
		return 0;
	mmio_write64(CLINT_MTIMECMP(this_hart()->id), ~0UL);
	return 1;
}

/* a hot loop (compiled after its first few hundred runs); returns the
 * interrupts taken by the end */
static long spin(long n)
{
	struct hart *h = this_hart();
	volatile long sink = 0;

	for (long i = 0; i < n; i++)
		sink += i;
	return h->nirq;
}

/* until the hart took n interrupts; the bound only guards against a hang
 * (it is far more than the deadlines below take at any speed) */
static int wait_timer(int n)
{
	struct hart *h = this_hart();

	for (long i = 0; i < 50000000L; i++) {
		if (h->nirq >= n)
			return 1;
		barrier();
	}
	return h->nirq >= n;
}

static void arm(uint64_t ticks_ahead)
{
	mmio_write64(CLINT_MTIMECMP(this_hart()->id), mmio_read64(CLINT_MTIME) + ticks_ahead);
}

static void setup(void)
{
	trap_reset();
	this_hart()->m_irq_hook = hook_m_timer_off;
	mmio_write64(CLINT_MTIMECMP(this_hart()->id), ~0UL);
	csr_write(mie, MIP_MTIP);
	csr_set(mstatus, MSTATUS_MIE);
}

static void done(void)
{
	csr_clear(mstatus, MSTATUS_MIE);
	csr_write(mie, 0);
	mmio_write64(CLINT_MTIMECMP(this_hart()->id), ~0UL);
}

int main(void)
{
	struct hart *h = this_hart();

	section("no deadline armed: a long hot loop takes no timer interrupt");
	setup();
	CHECK_EQ(spin(SPIN), 0);
	done();

	section("a deadline far ahead, moved near while the loop runs: taken");
	setup();
	arm(10000000000UL); /* 1000 s */
	CHECK_EQ(spin(SPIN), 0);
	arm(1000); /* 100 us */
	CHECK(wait_timer(1));
	CHECK_EQ(h->irq[0].cause, CAUSE_INTR | IRQ_M_TIMER);
	done();

	section("a deadline armed 2 ms ahead passes during a long loop: taken");
	for (int r = 0; r < 3; r++) {
		setup();
		CHECK_EQ(spin(SPIN / 10), 0);
		arm(20000);
		CHECK(wait_timer(1));
		CHECK_EQ(h->nirq, 1);
		done();
	}

	section("a deadline already passed when armed: taken");
	setup();
	CHECK_EQ(spin(SPIN), 0);
	mmio_write64(CLINT_MTIMECMP(h->id), 0);
	CHECK(wait_timer(1));
	CHECK_EQ(h->nirq, 1);
	done();
	return 0;
}
