/* Guest memory as compiled code reaches it directly (docs/app-mode.md):
 * the host's page protections must fault exactly where the guest's do,
 * wherever the address comes from.  Each access runs in a function called
 * often enough to be compiled first (run it with --jit-threshold 1 too).
 *
 *   direct            all the checks below, single-threaded
 *   direct blocked    a fault while the guest blocks SIGSEGV: killed by it
 *   direct threads    the same checks with a second thread running
 *   direct exec       a blocked SIGSEGV stays blocked across execve
 *   direct maps       more pages of code than the host has mappings for
 *                     (each is write-protected apart): still correct */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "t.h"

#define HOT 300 /* calls before the address under test: the code is compiled */

static sigjmp_buf env;
static volatile int faults, fault_code;
static volatile uintptr_t fault_addr;
static uintptr_t tramp; /* the sigreturn trampoline: the top page of the address space */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	faults++;
	fault_code = si->si_code;
	fault_addr = (uintptr_t)si->si_addr;
	(void)uc;
	tramp = (uintptr_t)__builtin_return_address(0);
	siglongjmp(env, 1);
}

__attribute__((noinline)) static long load8(uintptr_t a)
{
	return *(volatile long *)a;
}

__attribute__((noinline)) static int load1(uintptr_t a)
{
	return *(volatile unsigned char *)a;
}

__attribute__((noinline)) static void store8(uintptr_t a, long v)
{
	*(volatile long *)a = v;
}

__attribute__((noinline)) static void store4(uintptr_t a, int v)
{
	*(volatile int *)a = v;
}

__attribute__((noinline)) static void storef(uintptr_t a, double v)
{
	*(volatile double *)a = v;
}

static long scratch[4];

/* Warm a function up on a good address, then try a; 1 when it faulted. */
static int faults_load(uintptr_t a)
{
	for (int i = 0; i < HOT; i++)
		load8((uintptr_t)scratch);
	faults = 0;
	if (!sigsetjmp(env, 1))
		load8(a);
	return faults == 1;
}

static int faults_load1(uintptr_t a)
{
	for (int i = 0; i < HOT; i++)
		load1((uintptr_t)scratch);
	faults = 0;
	if (!sigsetjmp(env, 1))
		load1(a);
	return faults == 1;
}

static int faults_store(uintptr_t a, long v)
{
	for (int i = 0; i < HOT; i++)
		store8((uintptr_t)scratch, i);
	faults = 0;
	if (!sigsetjmp(env, 1))
		store8(a, v);
	return faults == 1;
}

static int faults_store4(uintptr_t a, int v)
{
	for (int i = 0; i < HOT; i++)
		store4((uintptr_t)scratch, i);
	faults = 0;
	if (!sigsetjmp(env, 1))
		store4(a, v);
	return faults == 1;
}

static int faults_storef(uintptr_t a)
{
	for (int i = 0; i < HOT; i++)
		storef((uintptr_t)scratch, i);
	faults = 0;
	if (!sigsetjmp(env, 1))
		storef(a, 1.5);
	return faults == 1;
}

/* 1. Addresses no mapping has: far past the address space, negative,
 * the page after its top, an access straddling its end, the null page. */
static void wild(void)
{
	uintptr_t wild[] = { 1ul << 40, 1ul << 50, ~0ul - 7, 0x8000000000000000ul, 0x1234, 0 };

	for (unsigned i = 0; i < sizeof(wild) / sizeof(wild[0]); i++) {
		CHECK(faults_load(wild[i]));
		CHECK(fault_addr == wild[i]);
		CHECK(faults_store(wild[i], 1));
		CHECK(faults_load1(wild[i]));
		CHECK(faults_storef(wild[i]));
	}
	/* The top of the address space: a handler's return address is the
	 * sigreturn trampoline there (its last page, readable). */
	CHECK(faults_load(0));
	uintptr_t top = (tramp & ~0xffful) + 0x1000;
	CHECK(!faults_load1(top - 1)); /* the trampoline page reads */
	CHECK(faults_load(top));
	CHECK(faults_load(top - 4)); /* half in, half past the end */
	CHECK(faults_load(top + 4096));
	CHECK(faults_store(top - 4, 1)); /* and not writable */
}

/* 2. mprotect, munmap and mmap change what faults, at once. */
static void protections(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t p = (uintptr_t)mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != (uintptr_t)MAP_FAILED);
	CHECK(!faults_store(p + 8, 42));
	CHECK(!faults_load(p + 8) && load8(p + 8) == 42);
	CHECK(mprotect((void *)p, pg, PROT_READ) == 0);
	CHECK(faults_store(p + 8, 43) && fault_code == SEGV_ACCERR && fault_addr == p + 8);
	CHECK(load8(p + 8) == 42);
	CHECK(mprotect((void *)p, pg, PROT_NONE) == 0);
	CHECK(faults_load(p + 8) && fault_code == SEGV_ACCERR);
	CHECK(mprotect((void *)p, pg, PROT_READ | PROT_WRITE) == 0);
	CHECK(!faults_store(p + 16, 44) && load8(p + 8) == 42 && load8(p + 16) == 44);

	/* A store straddling into a read-only page writes nothing. */
	CHECK(mprotect((void *)(p + pg), pg, PROT_READ) == 0);
	store8(p + pg - 8, 0);
	CHECK(faults_store(p + pg - 4, -1));
	CHECK(load8(p + pg - 8) == 0);
	CHECK(faults_store4(p + pg - 2, -1));
	CHECK(load8(p + pg - 8) == 0);

	CHECK(munmap((void *)p, pg) == 0);
	CHECK(faults_load(p + 8) && fault_code == SEGV_MAPERR);
	CHECK(faults_store(p + 8, 1) && fault_code == SEGV_MAPERR);
	CHECK(mmap((void *)p, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		   -1, 0) == (void *)p);
	CHECK(!faults_load(p + 8) && load8(p + 8) == 0);

	/* The program break going down takes its pages with it. */
	uintptr_t brk0 = (uintptr_t)sbrk(0);
	CHECK(sbrk(4 * pg) != (void *)-1);
	uintptr_t in = (brk0 + 2 * pg) & ~(uintptr_t)(pg - 1);
	CHECK(!faults_store(in, 5) && load8(in) == 5);
	CHECK(sbrk(-4 * pg) != (void *)-1);
	CHECK(faults_load(in) && faults_store(in, 6));

	/* mremap moves the pages and the access with them. */
	uintptr_t q = (uintptr_t)mmap(NULL, pg, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	store8(q, 77);
	uintptr_t r = (uintptr_t)mremap((void *)q, pg, 4 * pg, MREMAP_MAYMOVE);
	CHECK(r != (uintptr_t)MAP_FAILED);
	CHECK(!faults_load(r) && load8(r) == 77);
	CHECK(!faults_store(r + 3 * pg, 78));
	if (r != q)
		CHECK(faults_load(q));
	munmap((void *)r, 4 * pg);
	munmap((void *)(p + pg), 2 * pg);
}

/* 3. A handler that makes the page writable and returns: the store runs
 * again and lands (a garbage collector's write barrier does this). */
static volatile uintptr_t fix_page;
static long fix_pg;

static void on_segv_fix(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	faults++;
	fault_addr = (uintptr_t)si->si_addr;
	mprotect((void *)fix_page, fix_pg, PROT_READ | PROT_WRITE);
}

static void retry(void)
{
	struct sigaction fix = { .sa_sigaction = on_segv_fix, .sa_flags = SA_SIGINFO };
	struct sigaction old;

	fix_pg = sysconf(_SC_PAGESIZE);
	fix_page = (uintptr_t)mmap(NULL, fix_pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(sigaction(SIGSEGV, &fix, &old) == 0);
	for (int round = 0; round < 20; round++) {
		faults = 0;
		for (int i = 0; i < HOT; i++)
			store8((uintptr_t)scratch, i);
		store8(fix_page + 8 * round, round + 1000);
		CHECK(faults == 1 && fault_addr == fix_page + 8 * round);
		CHECK(load8(fix_page + 8 * round) == round + 1000);
		mprotect((void *)fix_page, fix_pg, PROT_READ);
	}
	CHECK(sigaction(SIGSEGV, &old, NULL) == 0);
	munmap((void *)fix_page, fix_pg);
}

/* 4. The kernel writing into a page of code (read-only on the host while
 * it is code) for a system call, and the code there still runs. */
typedef long (*fn_t)(void);

static void syscall_into_code(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint32_t *code = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long sum = 0;

	CHECK(code != MAP_FAILED);
	code[0] = 0x00700513; /* li a0, 7 */
	code[1] = 0x00008067; /* ret */
	__builtin___clear_cache((char *)code, (char *)code + 8);
	for (int i = 0; i < HOT; i++)
		sum += ((fn_t)code)();
	CHECK(sum == 7 * HOT);
	struct timespec *ts = (struct timespec *)(code + 64);
	CHECK(clock_gettime(CLOCK_MONOTONIC, ts) == 0 && ts->tv_nsec < 1000000000);
	int *fds = (int *)(code + 128);
	CHECK(pipe(fds) == 0 && fds[0] > 2 && fds[1] > 2);
	CHECK(write(fds[1], "\x13\x05\x90\x00", 4) == 4); /* li a0, 9 */
	CHECK(read(fds[0], code, 4) == 4);
	__builtin___clear_cache((char *)code, (char *)code + 8);
	CHECK(((fn_t)code)() == 9);
	/* and a compiled store next to the code */
	for (int i = 0; i < HOT; i++)
		store8((uintptr_t)(code + 256), i);
	CHECK(load8((uintptr_t)(code + 256)) == HOT - 1 && ((fn_t)code)() == 9);
	close(fds[0]);
	close(fds[1]);
	munmap(code, pg);
}

/* 5. SIGSEGV sent while blocked waits, as on Linux (condo's host thread
 * never blocks it). */
static void blocked_sent(void)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	faults = 0;
	for (int i = 0; i < HOT; i++)
		store8((uintptr_t)scratch, load8((uintptr_t)scratch) + 1);
	CHECK(kill(getpid(), SIGSEGV) == 0);
	CHECK(faults == 0);
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGSEGV));
	if (!sigsetjmp(env, 1))
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	CHECK(faults == 1 && fault_code == SI_USER);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* 6. A write-only mapping (readable on x86 hosts) still refuses loads. */
static void write_only(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t p = (uintptr_t)mmap(NULL, pg, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != (uintptr_t)MAP_FAILED);
	CHECK(!faults_store(p, 3));
	CHECK(faults_load(p));
	munmap((void *)p, pg);
}

static void *idle(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER };
	const char *what = argc > 1 ? argv[1] : "";

	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	if (!strcmp(what, "blocked")) {
		sigset_t set;
		sigfillset(&set);
		sigprocmask(SIG_BLOCK, &set, NULL);
		for (int i = 0; i < HOT; i++)
			load8((uintptr_t)scratch);
		load8(1ul << 40); /* killed here */
		return 1;
	}
	if (!strcmp(what, "exec") || !strcmp(what, "exec2")) {
		sigset_t set, now;
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		if (!strcmp(what, "exec")) {
			CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
			execl("/proc/self/exe", "direct", "exec2", (char *)NULL);
			CHECK(!"execl failed");
			return t_done();
		}
		CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGSEGV));
		CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
		wild(); /* and faults still reach the handler */
		return t_done();
	}
	if (!strcmp(what, "maps")) {
		/* Code on every other page of a writable region: each becomes
		 * a host mapping of its own, past vm.max_map_count (65530). */
		long pg = sysconf(_SC_PAGESIZE), n = 40000, sum = 0;
		uint8_t *r = mmap(NULL, 2 * n * pg, PROT_READ | PROT_WRITE | PROT_EXEC,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		CHECK(r != MAP_FAILED);
		for (long i = 0; i < n; i++) {
			uint32_t *c = (uint32_t *)(r + 2 * i * pg);
			c[0] = 0x00000513u | (uint32_t)(i & 0x7ff) << 20; /* li a0, i */
			c[1] = 0x00008067;                                 /* ret */
		}
		__builtin___clear_cache((char *)r, (char *)r + 2 * n * pg);
		for (long i = 0; i < n; i++)
			sum += ((fn_t)(r + 2 * i * pg))();
		long want = 0;
		for (long i = 0; i < n; i++)
			want += i & 0x7ff;
		CHECK(sum == want);
		/* the code pages still notice stores */
		for (long i = 0; i < n; i += 997) {
			*(uint32_t *)(r + 2 * i * pg) = 0x00100513; /* li a0, 1 */
			CHECK(((fn_t)(r + 2 * i * pg))() == 1);
		}
		wild();
		return t_done();
	}
	if (!strcmp(what, "threads")) {
		pthread_t th;
		CHECK(pthread_create(&th, NULL, idle, NULL) == 0 && pthread_join(th, NULL) == 0);
	}
	wild();
	protections();
	retry();
	syscall_into_code();
	blocked_sent();
	write_only();
	return t_done();
}
