/* smp.c — several harts (run with --cpus 4): every hart starts with its
 * own mhartid; hart 0 sends a machine software interrupt (CLINT msip) to
 * each other hart, asleep in wfi, which clears its msip and acknowledges
 * through memory; all harts then hammer shared counters with amoadd.w/.d,
 * LR/SC loops (word and doubleword), amomax.d and an amoswap spin lock
 * around a plain increment, and the totals must be exact; finally hart 1
 * interrupts hart 0 and one hart's mtimecmp written by hart 0 interrupts
 * only that hart. */
#include "priv.h"

#define NHARTS 4
#define ITERS 20000
#define BOUND 200000000L        /* spin bound: a hang guard, not a time limit */

static volatile uint32_t alive, go, done, hart0_ready, ipi0_sent, guard_fired;
static volatile uint32_t ipi_seen[NHARTS], timer_seen[NHARTS];
static volatile uint32_t ctr_w, ctr_lr_w, lock;
static volatile uint64_t ctr_d, ctr_lr_d, locked_plain, max_d;

static int wait_eq(volatile uint32_t *p, uint32_t want)
{
	for (long i = 0; i < BOUND; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) == want)
			return 1;
		__asm__ volatile(".4byte 0x0100000f");  /* pause (a fence hint) */
	}
	return 0;
}

static int hook_irq(struct trap_frame *f)
{
	uint64_t id = this_hart()->id;
	if ((f->cause & 63) == IRQ_M_SOFT) {
		mmio_write32(CLINT_MSIP(id), 0);
		__atomic_store_n(&ipi_seen[id], 1, __ATOMIC_RELEASE);
		return 1;
	}
	if ((f->cause & 63) == IRQ_M_TIMER) {
		mmio_write64(CLINT_MTIMECMP(id), ~0UL);
		if (id == 0)    /* hart 0's guard timer: it waited long enough */
			__atomic_store_n(&guard_fired, 1, __ATOMIC_RELEASE);
		else
			__atomic_store_n(&timer_seen[id], 1, __ATOMIC_RELEASE);
		return 1;
	}
	return 0;
}

/* sleep in wfi until *flag is set by the interrupt handler (or
 * guard_fired, on hart 0).  The flag is tested and wfi runs with MIE = 0:
 * wfi still wakes on an interrupt pending in mie (priv 3.3.3), and the
 * handler runs when MIE opens after it.  With MIE = 1 around wfi, an
 * interrupt arriving between the test and the wfi would be taken before
 * the wfi, which then sleeps with nothing pending: a lost wakeup. */
static int sleep_until(volatile uint32_t *flag)
{
	long n = 0;
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && !guard_fired && n++ < BOUND) {
		__asm__ volatile("wfi");
		csr_set(mstatus, MSTATUS_MIE);
		csr_clear(mstatus, MSTATUS_MIE);
	}
	return *flag != 0;
}

static void work(uint64_t id)
{
	for (uint64_t k = 0; k < ITERS; k++) {
		uint64_t t;
		uint32_t tw;
		__asm__ volatile("amoadd.w zero, %1, (%0)" :: "r"(&ctr_w), "r"(1) : "memory");
		__asm__ volatile("amoadd.d zero, %1, (%0)" :: "r"(&ctr_d), "r"(1L) : "memory");
		__asm__ volatile("1: lr.d %0, (%1)\n"
				 "addi %0, %0, 1\n"
				 "sc.d %0, %0, (%1)\n"
				 "bnez %0, 1b\n"
				 : "=&r"(t) : "r"(&ctr_lr_d) : "memory");
		__asm__ volatile("1: lr.w.aq %0, (%1)\n"
				 "addiw %0, %0, 1\n"
				 "sc.w.rl %0, %0, (%1)\n"
				 "bnez %0, 1b\n"
				 : "=&r"(tw) : "r"(&ctr_lr_w) : "memory");
		__asm__ volatile("amomax.d zero, %1, (%0)" :: "r"(&max_d), "r"(id * ITERS + k) : "memory");
		/* spin lock: amoswap.w.aq to take, amoswap.w.rl to give back */
		__asm__ volatile("li t0, 1\n"
				 "1: amoswap.w.aq t1, t0, (%0)\n"
				 "bnez t1, 1b\n"
				 :: "r"(&lock) : "t0", "t1", "memory");
		locked_plain = locked_plain + 1;
		__asm__ volatile("amoswap.w.rl zero, zero, (%0)" :: "r"(&lock) : "memory");
	}
}

void hart_main(long hartid)
{
	uint64_t id = (uint64_t)hartid;
	struct hart *h = this_hart();

	if (id >= NHARTS)
		for (;;)
			__asm__ volatile("wfi");
	h->m_irq_hook = hook_irq;
	csr_write(mie, MIP_MSIP);
	__atomic_fetch_or(&alive, 1u << id, __ATOMIC_SEQ_CST);
	sleep_until(&ipi_seen[id]);             /* phase 1: hart 0's IPI */
	wait_eq(&go, 1);                        /* phase 2: the counters */
	work(id);
	__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
	if (id == 1 && wait_eq(&hart0_ready, 1)) {      /* phase 3 */
		__atomic_store_n(&ipi0_sent, 1, __ATOMIC_RELEASE);
		mmio_write32(CLINT_MSIP(0), 1);
	}
	csr_write(mie, MIP_MTIP);               /* phase 4: a timer set by hart 0 */
	sleep_until(&timer_seen[id]);
	csr_write(mie, 0);
	for (;;)
		__asm__ volatile("wfi");
}

int main(void)
{
	const uint32_t all = (1u << NHARTS) - 1;

	section("every hart starts, each with its own mhartid");
	__atomic_fetch_or(&alive, 1u, __ATOMIC_SEQ_CST);
	CHECK_EQ(csr_read(mhartid), 0);
	CHECK(wait_eq(&alive, all));
	CHECK_EQ(alive, all);

	section("hart 0 sends an msip IPI to each hart, which acknowledges through memory");
	for (int i = 1; i < NHARTS; i++) {
		CHECK_EQ(ipi_seen[i], 0);
		mmio_write32(CLINT_MSIP(i), 1);
		if (!wait_eq(&ipi_seen[i], 1))
			CHECK_EQ(i, -1);  /* hart i never acknowledged */
		for (long n = 0; n < BOUND && mmio_read32(CLINT_MSIP(i)); n++)
			;
		CHECK_EQ(mmio_read32(CLINT_MSIP(i)), 0);        /* the target cleared it */
	}
	CHECK_EQ(csr_read(mip) & MIP_MSIP, 0);  /* none went to hart 0 */
	CHECK_EQ(ipi_seen[0], 0);

	section("amoadd, LR/SC, amomax and an amoswap lock across harts: exact totals");
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	work(0);
	CHECK(wait_eq(&done, NHARTS - 1));
	fence();
	CHECK_EQ(ctr_w, NHARTS * ITERS);
	CHECK_EQ(ctr_d, NHARTS * ITERS);
	CHECK_EQ(ctr_lr_w, NHARTS * ITERS);
	CHECK_EQ(ctr_lr_d, NHARTS * ITERS);
	CHECK_EQ(locked_plain, NHARTS * ITERS);
	CHECK_EQ(max_d, (NHARTS - 1) * ITERS + ITERS - 1);
	CHECK_EQ(lock, 0);

	section("hart 1 sends an IPI to hart 0");
	this_hart()->m_irq_hook = hook_irq;
	/* a guard timer 10 s ahead wakes hart 0 if the IPI never comes, so
	 * that is reported instead of sleeping until the run's timeout */
	mmio_write64(CLINT_MTIMECMP(0), mmio_read64(CLINT_MTIME) + 100000000);
	csr_write(mie, MIP_MSIP | MIP_MTIP);
	__atomic_store_n(&hart0_ready, 1, __ATOMIC_RELEASE);
	int seen = sleep_until(&ipi_seen[0]);
	csr_write(mie, 0);
	mmio_write64(CLINT_MTIMECMP(0), ~0UL);
	CHECK(seen);
	CHECK_EQ(guard_fired, 0);
	CHECK_EQ(ipi0_sent, 1);
	CHECK_EQ(mmio_read32(CLINT_MSIP(0)), 0);
	CHECK_EQ(csr_read(mip) & MIP_MSIP, 0);

	section("hart 0 sets hart 2's mtimecmp: only hart 2 takes the timer interrupt");
	mmio_write64(CLINT_MTIMECMP(2), 0);
	CHECK(wait_eq(&timer_seen[2], 1));
	CHECK_EQ(timer_seen[1], 0);
	CHECK_EQ(timer_seen[3], 0);
	CHECK_EQ(csr_read(mip) & MIP_MTIP, 0);
	return 0;
}
