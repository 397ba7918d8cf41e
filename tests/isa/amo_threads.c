/*
 * amo_threads.c — atomicity of the A extension across harts (unpriv spec
 * ch. 8 "A": AMOs are atomic read-modify-writes; an SC succeeds only if no
 * other hart wrote the reservation set since the LR). Four threads start
 * together and each does, ITERS times: amoadd.w and amoadd.d on shared
 * counters, LR/SC increment loops (.w and .d), amomaxu.d/amomin.w with
 * distinct values, amoxor.d toggling bits an odd number of times, and increments of a plain counter
 * under a spin lock taken with amoswap.w.aq and released with
 * amoswap.w.rl. Any lost update shows in the exact totals.
 *
 * With app mode mapping guest threads to host threads this checks that the
 * emulated atomics are atomic on the host, not just within one thread.
 */
#include <pthread.h>

#include "test.h"

#define NTHREADS 4
#define ITERS	 100000

static struct {
	uint32_t add_w;
	uint64_t add_d;
	uint32_t lrsc_w;
	uint64_t lrsc_d;
	uint64_t maxu_d;
	int32_t min_w;
	uint64_t xor_d;
	uint32_t lock;
	uint64_t locked_count; /* plain loads and stores, only under lock */
} shared __attribute__((aligned(64))) = {.min_w = 0};

static pthread_barrier_t start;

static void amoadd_w(uint32_t *p, uint32_t v)
{
	asm volatile("amoadd.w zero, %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static void amoadd_d(uint64_t *p, uint64_t v)
{
	asm volatile("amoadd.d zero, %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static void lrsc_inc_w(uint32_t *p)
{
	uint32_t tmp, fail;

	asm volatile("1: lr.w %0, (%2)\n\t"
		     "addiw %0, %0, 1\n\t"
		     "sc.w %1, %0, (%2)\n\t"
		     "bnez %1, 1b"
		     : "=&r"(tmp), "=&r"(fail)
		     : "r"(p)
		     : "memory");
}

static void lrsc_inc_d(uint64_t *p)
{
	uint64_t tmp, fail;

	asm volatile("1: lr.d.aqrl %0, (%2)\n\t"
		     "addi %0, %0, 1\n\t"
		     "sc.d.aqrl %1, %0, (%2)\n\t"
		     "bnez %1, 1b"
		     : "=&r"(tmp), "=&r"(fail)
		     : "r"(p)
		     : "memory");
}

static void amomaxu_d(uint64_t *p, uint64_t v)
{
	asm volatile("amomaxu.d zero, %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static void amomin_w(int32_t *p, int32_t v)
{
	asm volatile("amomin.w zero, %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static void amoxor_d(uint64_t *p, uint64_t v)
{
	asm volatile("amoxor.d zero, %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static void lock(uint32_t *l)
{
	uint32_t old, one = 1;

	do
		asm volatile("amoswap.w.aq %0, %2, (%1)" : "=r"(old) : "r"(l), "r"(one) : "memory");
	while (old != 0);
}

static void unlock(uint32_t *l)
{
	asm volatile("amoswap.w.rl zero, zero, (%0)" : : "r"(l) : "memory");
}

static void *worker(void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;

	pthread_barrier_wait(&start);
	for (uint64_t i = 0; i < ITERS; i++) {
		amoadd_w(&shared.add_w, 1);
		amoadd_d(&shared.add_d, 0x100000001ull); /* carries across the low word */
		lrsc_inc_w(&shared.lrsc_w);
		lrsc_inc_d(&shared.lrsc_d);
		amomaxu_d(&shared.maxu_d, i * NTHREADS + id);
		amomin_w(&shared.min_w, -(int32_t)(i * NTHREADS + id));
		amoxor_d(&shared.xor_d, 1ull << (id * 16 + (i & 15)));
		lock(&shared.lock);
		*(volatile uint64_t *)&shared.locked_count += 1;
		unlock(&shared.lock);
	}
	amoxor_d(&shared.xor_d, 0xffffull << (id * 16)); /* one more toggle of each bit */
	return NULL;
}

int main(void)
{
	pthread_t threads[NTHREADS];
	const uint64_t total = (uint64_t)NTHREADS * ITERS;

	pthread_barrier_init(&start, NULL, NTHREADS);
	for (uint64_t i = 0; i < NTHREADS; i++) {
		int err = pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i);
		CHECK_EQ("pthread_create", err, 0);
		if (err)
			return test_done("amo_threads");
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(threads[i], NULL);

	CHECK_EQ("amoadd.w total", shared.add_w, (uint32_t)total);
	CHECK_EQ("amoadd.d total", shared.add_d, total * 0x100000001ull);
	CHECK_EQ("lr.w/sc.w total", shared.lrsc_w, (uint32_t)total);
	CHECK_EQ("lr.d/sc.d total", shared.lrsc_d, total);
	CHECK_EQ("amomaxu.d max", shared.maxu_d, total - 1);
	CHECK_EQ("amomin.w min", (uint32_t)shared.min_w, (uint32_t)(-(int32_t)(total - 1)));
	/* each bit was toggled ITERS / 16 + 1 times, by one thread */
	CHECK_EQ("amoxor.d toggles", shared.xor_d, (ITERS / 16 + 1) % 2 ? ~0ull : 0);
	CHECK_EQ("spin lock count", shared.locked_count, total);
	CHECK_EQ("lock released", shared.lock, 0);
	return test_done("amo_threads");
}
