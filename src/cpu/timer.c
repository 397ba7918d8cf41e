/* Hart timers and idle: MTIP from the ACLINT comparator, STIP from Sstc's
 * stimecmp or the paravirtual SBI timer, all polled by the hart itself; and
 * wfi, which sleeps the host thread on a futex until an interrupt is
 * pending or the nearest timer deadline passes. */
#include "cpu/csr.h"
#include "cpu/priv.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t cpu_time(const struct hart *hart)
{
	return csr_time_now() - hart->time_offset;
}

static bool stip_driven(const struct hart *hart)
{
	return (hart->csr.menvcfg & MENVCFG_STCE) || hart->sbi_timer_armed;
}

/* The earliest comparator that can raise an interrupt, or UINT64_MAX. */
static uint64_t next_deadline(const struct hart *hart)
{
	uint64_t t = hart->mtimecmp;

	if ((hart->csr.menvcfg & MENVCFG_STCE) && hart->csr.stimecmp < t)
		t = hart->csr.stimecmp;
	if (hart->sbi_timer_armed && hart->sbi_timecmp < t)
		t = hart->sbi_timecmp;
	return t;
}

/* Raise or lower MTIP and STIP for time now; returns the nearest deadline
 * after now (UINT64_MAX: none), when the next change is due. */
static uint64_t timer_update(struct hart *hart, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	bool mtip = now >= hart->mtimecmp;
	bool stip = false;

	if (!mtip)
		next = hart->mtimecmp;
	if (hart->csr.menvcfg & MENVCFG_STCE) {
		if (now >= hart->csr.stimecmp)
			stip = true;
		else if (hart->csr.stimecmp < next)
			next = hart->csr.stimecmp;
	}
	if (hart->sbi_timer_armed) {
		if (now >= hart->sbi_timecmp)
			stip = true;
		else if (hart->sbi_timecmp < next)
			next = hart->sbi_timecmp;
	}
	if (mtip != !!(hart->mip & MIP_MTIP))
		cpu_set_irq(hart, MIP_MTIP, mtip);
	/* Without Sstc or the SBI timer, STIP belongs to M-mode software. */
	if (stip_driven(hart) && stip != !!(hart->mip & MIP_STIP))
		cpu_set_irq(hart, MIP_STIP, stip);
	return next;
}

void cpu_timer_poll(struct hart *hart)
{
	timer_update(hart, cpu_time(hart));
	/* A comparator changed: the run loop plans its next poll again. */
	__atomic_store_n(&hart->irq_check, 1, __ATOMIC_SEQ_CST);
}

uint64_t cpu_timer_check(struct hart *hart, uint64_t *now)
{
	*now = cpu_time(hart);
	return timer_update(hart, *now);
}

void cpu_kick(struct hart *hart)
{
	__atomic_store_n(&hart->irq_check, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&hart->wake_seq, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &hart->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void cpu_idle_wait(struct hart *hart)
{
	uint32_t seq = __atomic_load_n(&hart->wake_seq, __ATOMIC_SEQ_CST);
	uint64_t deadline = next_deadline(hart), now;
	struct timespec ts, *timeout = NULL;

	cpu_timer_check(hart, &now);
	if ((cpu_mip(hart) & hart->csr.mie) || hart->stop_request)
		return;
	if (deadline != UINT64_MAX) {
		uint64_t ticks = deadline > now ? deadline - now : 0;
		uint64_t ns = ticks * 100; /* 10 MHz timebase */
		ts.tv_sec = (time_t)(ns / 1000000000ull);
		ts.tv_nsec = (long)(ns % 1000000000ull);
		timeout = &ts;
	}
	/* Woken by cpu_kick (a device, an IPI, a stop request) or the timeout. */
	syscall(SYS_futex, &hart->wake_seq, FUTEX_WAIT_PRIVATE, seq, timeout, NULL, 0);
	cpu_timer_check(hart, &now);
}
