/* Direct guest memory with threads (docs/jit.md): one thread keeps
 * changing two pages (munmap and mmap, mprotect to none, read-only and
 * back, mremap away and back) while others load and store there, run
 * AMOs and LR/SC, execute code there and make system calls that read and
 * write there.  condo must never crash; an access gets SIGSEGV exactly
 * when the pages are not there for it.  After each change the mapper
 * waits until every worker has made two more attempts, so every worker
 * runs in every state, whatever the scheduling.
 *
 *   mtrace race      the above
 *   mtrace smc       one thread rewrites a function and calls
 *                    __riscv_flush_icache, another runs it and must get
 *                    the new result
 *   mtrace fence.i   the same, the runner executing fence.i instead
 *   mtrace work      a threaded computation whose result is checked */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "t.h"

#define PAGE  4096
#define MAGIC 0x5a5a5a5a12345678l
#define CYCLES 60

typedef long (*fn_t)(long);

enum kind { K_LOADSTORE, K_AMO, K_LRSC, K_EXEC, K_SYSCALL, K_CODESTORE, NKINDS };
static const char *const kind_name[NKINDS] = { "load/store", "amo", "lr/sc", "exec", "syscall",
					       "code-store" };

static uint8_t *region, *spare; /* two pages: data, then code */
static volatile int done;
static volatile unsigned long progress[NKINDS], faults[NKINDS], bad_addr[NKINDS];
static int pipefd[2];

static __thread sigjmp_buf jb;
static __thread volatile int armed = -1;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (armed < 0)
		abort();
	uintptr_t a = (uintptr_t)si->si_addr;
	if (a < (uintptr_t)region || a >= (uintptr_t)region + 2 * PAGE)
		bad_addr[armed]++;
	(void)sig;
	siglongjmp(jb, 1);
}

/* The function put on the code page: a0 = a0 + 7; ret. */
static const uint32_t code_add7[] = { 0x00750513, 0x00008067 };

static void put_code(uint8_t *page)
{
	memcpy(page, code_add7, sizeof(code_add7));
	__builtin___clear_cache((char *)page, (char *)page + sizeof(code_add7));
}

static void map_fresh(void)
{
	CHECK(mmap(region, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == region);
	*(volatile long *)region = MAGIC;
	put_code(region + PAGE);
}

static void op(enum kind k, long i)
{
	volatile long *d = (volatile long *)region;
	long v, one = 1;
	int ok;

	switch (k) {
	case K_LOADSTORE:
		v = d[0];
		if (v != MAGIC && (v < 0 || v >= i))
			faults[k] += 1ul << 40; /* a value nobody wrote */
		d[1] = i;
		d[0] = i;
		break;
	case K_AMO:
		__asm__ volatile("amoadd.d %0, %2, (%1)" : "=r"(v) : "r"(d + 2), "r"(one) : "memory");
		__asm__ volatile("amoswap.w %0, %2, (%1)" : "=r"(v) : "r"(d + 3), "r"(i) : "memory");
		__asm__ volatile("amomax.d %0, %2, (%1)" : "=r"(v) : "r"(d + 4), "r"(i) : "memory");
		__asm__ volatile("amoor.w %0, %2, (%1)" : "=r"(v) : "r"(d + 5), "r"(one) : "memory");
		break;
	case K_LRSC:
		do {
			__asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(d + 6) : "memory");
			v++;
			__asm__ volatile("sc.d %0, %2, (%1)" : "=r"(ok) : "r"(d + 6), "r"(v) : "memory");
		} while (ok);
		break;
	case K_EXEC:
		v = ((fn_t)(region + PAGE))(i);
		if (v != i + 7)
			faults[k] += 1ul << 40;
		break;
	case K_SYSCALL: {
		char buf[64] = { 0 };
		struct timespec *ts = (struct timespec *)(region + 512);
		/* The kernel reads or writes there: done or EFAULT, never more. */
		if (write(pipefd[1], region + 256, 64) < 0 && errno != EFAULT)
			faults[k] += 1ul << 40;
		else
			while (read(pipefd[0], buf, sizeof(buf)) == sizeof(buf))
				;
		if (write(pipefd[1], buf, 64) == 64 && read(pipefd[0], region + 256, 64) < 0) {
			if (errno != EFAULT)
				faults[k] += 1ul << 40;
			while (read(pipefd[0], buf, sizeof(buf)) > 0)
				;
		}
		if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ts) < 0 && errno != EFAULT)
			faults[k] += 1ul << 40;
		struct pollfd *pf = (struct pollfd *)(region + 1024);
		pf->fd = pipefd[1];
		pf->events = POLLOUT;
		if (poll(pf, 1, 0) < 0 && errno != EFAULT)
			faults[k] += 1ul << 40;
		fd_set *set = (fd_set *)(region + 2048);
		FD_ZERO(set);
		FD_SET(pipefd[1], set);
		struct timespec zero = { 0, 0 };
		if (pselect(pipefd[1] + 1, NULL, set, NULL, &zero, NULL) < 0 && errno != EFAULT)
			faults[k] += 1ul << 40;
		if (syscall(SYS_futex, region + 3072, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0 &&
		    errno != EFAULT)
			faults[k] += 1ul << 40;
		break;
	}
	case K_CODESTORE:
		/* Data next to the function, on its page. */
		((volatile long *)(region + PAGE))[100] = i;
		break;
	default:
		break;
	}
}

static void *worker(void *arg)
{
	enum kind k = (enum kind)(long)arg;

	for (long i = 1; !done; i++) {
		if (sigsetjmp(jb, 0)) {
			armed = -1;
			faults[k]++;
			__atomic_add_fetch(&progress[k], 1, __ATOMIC_SEQ_CST);
			continue;
		}
		armed = k;
		op(k, i);
		armed = -1;
		__atomic_add_fetch(&progress[k], 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* Every worker makes two more attempts in the present state. */
static void let_run(void)
{
	unsigned long seen[NKINDS];
	for (int k = 0; k < NKINDS; k++)
		seen[k] = __atomic_load_n(&progress[k], __ATOMIC_SEQ_CST);
	for (int k = 0; k < NKINDS; k++)
		while (__atomic_load_n(&progress[k], __ATOMIC_SEQ_CST) < seen[k] + 2)
			sched_yield();
}

static int race(void)
{
	pthread_t th[NKINDS];
	struct sigaction sa = { 0 };
	unsigned long none_faults[NKINDS] = { 0 };

	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	CHECK(sigaction(SIGILL, &sa, NULL) == 0);
	CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
	CHECK(pipe2(pipefd, O_NONBLOCK) == 0);
	region = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spare = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(region != MAP_FAILED && spare != MAP_FAILED);
	map_fresh();
	for (long k = 0; k < NKINDS; k++)
		CHECK(pthread_create(&th[k], NULL, worker, (void *)k) == 0);

	for (int c = 0; c < CYCLES; c++) {
		unsigned long before[NKINDS];
		switch (c % 5) {
		case 0: /* unmapped, then fresh pages */
			CHECK(munmap(region, 2 * PAGE) == 0);
			memcpy(before, (void *)faults, sizeof(before));
			let_run();
			for (int k = 0; k < NKINDS; k++)
				none_faults[k] += faults[k] - before[k];
			map_fresh();
			break;
		case 1: /* no access, then back */
			CHECK(mprotect(region, 2 * PAGE, PROT_NONE) == 0);
			memcpy(before, (void *)faults, sizeof(before));
			let_run();
			for (int k = 0; k < NKINDS; k++)
				none_faults[k] += faults[k] - before[k];
			CHECK(mprotect(region, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
			break;
		case 2: /* read-only (no execute), then back */
			CHECK(mprotect(region, 2 * PAGE, PROT_READ) == 0);
			let_run();
			CHECK(mprotect(region, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
			break;
		case 3: /* moved away and back */
			CHECK(mremap(region, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, spare) ==
			      spare);
			let_run();
			CHECK(mremap(spare, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, region) ==
			      region);
			break;
		default: /* read and execute only */
			CHECK(mprotect(region, 2 * PAGE, PROT_READ | PROT_EXEC) == 0);
			let_run();
			CHECK(mprotect(region, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
			break;
		}
		let_run();
	}
	done = 1;
	for (int k = 0; k < NKINDS; k++)
		CHECK(pthread_join(th[k], NULL) == 0);
	for (int k = 0; k < NKINDS; k++) {
		printf("%-10s %lu attempts, %lu faulted, %lu while unmapped\n", kind_name[k],
		       progress[k], faults[k] & ((1ul << 40) - 1), none_faults[k]);
		CHECK(faults[k] >> 40 == 0);  /* no wrong value or result */
		CHECK(bad_addr[k] == 0);      /* every fault was in the region */
		/* Attempts made wholly while nothing was there fault. */
		if (k != K_SYSCALL)
			CHECK(none_faults[k] >= CYCLES * 2 / 5);
	}
	return t_done();
}

/* ---- cross-thread self-modifying code ---- */

static volatile long published;
static uint8_t *smc_code;
static int smc_fence_i; /* the runner makes the new code visible itself */

static uint32_t li_a0(long k) /* addi a0, zero, k */
{
	return 0x00000513u | (uint32_t)(k & 0x7ff) << 20;
}

static void *smc_runner(void *arg)
{
	long bad = 0;
	(void)arg;
	for (long k = 1; k <= 200; k++) {
		while (__atomic_load_n(&published, __ATOMIC_ACQUIRE) < k)
			sched_yield();
		if (smc_fence_i)
			__asm__ volatile("fence.i" ::: "memory");
		/* Run it a few times: compiled after the first runs. */
		for (int i = 0; i < 40; i++)
			bad += ((long (*)(void))smc_code)() != k;
		__atomic_store_n(&published, -k, __ATOMIC_RELEASE); /* done with k */
	}
	return (void *)bad;
}

static int smc(void)
{
	pthread_t th;
	void *bad;

	smc_code = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(smc_code != MAP_FAILED);
	volatile uint32_t *w = (volatile uint32_t *)smc_code;
	w[1] = 0x00008067; /* ret */
	CHECK(pthread_create(&th, NULL, smc_runner, NULL) == 0);
	for (long k = 1; k <= 200; k++) {
		w[0] = li_a0(k);
		if (!smc_fence_i)
			__builtin___clear_cache((char *)smc_code, (char *)smc_code + 8);
		__atomic_store_n(&published, k, __ATOMIC_RELEASE);
		while (__atomic_load_n(&published, __ATOMIC_ACQUIRE) != -k)
			sched_yield();
	}
	CHECK(pthread_join(th, &bad) == 0);
	CHECK(bad == NULL);
	return t_done();
}

/* ---- a checked threaded computation ---- */

#define NT 4
#define N  20000

static uint64_t shared_sum;
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t atomic_sum;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort a slice of pseudo-random numbers, hash it in order. */
static uint64_t slice_hash(long t)
{
	uint64_t *v = malloc(N * sizeof(*v)), h = 0;
	for (long i = 0; i < N; i++)
		v[i] = mix((uint64_t)(t * N + i));
	qsort(v, N, sizeof(*v), cmp);
	for (long i = 0; i < N; i++)
		h = mix(h ^ v[i]);
	free(v);
	return h;
}

static void *work_thread(void *arg)
{
	long t = (long)arg;
	uint64_t h = slice_hash(t);
	pthread_mutex_lock(&sum_lock);
	shared_sum += h;
	pthread_mutex_unlock(&sum_lock);
	for (int i = 0; i < 10000; i++)
		__atomic_add_fetch(&atomic_sum, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int work(void)
{
	pthread_t th[NT];
	uint64_t want = 0;

	for (long t = 0; t < NT; t++)
		CHECK(pthread_create(&th[t], NULL, work_thread, (void *)t) == 0);
	for (long t = 0; t < NT; t++)
		want += slice_hash(t);
	for (long t = 0; t < NT; t++)
		CHECK(pthread_join(th[t], NULL) == 0);
	CHECK(shared_sum == want);
	CHECK(atomic_sum == NT * 10000);
	printf("sum %llx\n", (unsigned long long)shared_sum);
	return t_done();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "race";
	if (!strcmp(mode, "race"))
		return race();
	if (!strcmp(mode, "smc"))
		return smc();
	if (!strcmp(mode, "fence.i")) {
		smc_fence_i = 1;
		return smc();
	}
	if (!strcmp(mode, "work"))
		return work();
	printf("usage: mtrace race|smc|work\n");
	return 2;
}
