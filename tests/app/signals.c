/* Signals: handlers with siginfo, the riscv64 signal frame (registers and
 * FP state restored by rt_sigreturn, a handler editing the saved pc),
 * masks, pending signals, sigsuspend, SA_RESTART against EINTR, SA_ONSTACK
 * with sigaltstack, SA_RESETHAND, SA_NODEFER, and synchronous faults
 * (SIGSEGV, SIGILL, SIGTRAP) caught by handlers. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#include "t.h"

static volatile sig_atomic_t hits, last_sig, last_code, last_pid;
static void *volatile last_addr;
static volatile uintptr_t handler_stack;

static void on_info(int sig, siginfo_t *si, void *uc)
{
	hits++;
	last_sig = sig;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_addr = si->si_addr;
	int here;
	handler_stack = (uintptr_t)&here;
}

static void on_plain(int sig)
{
	hits++;
	last_sig = sig;
}

/* Clobbers FP registers: the interrupted code must not notice. */
static void on_fp(int sig)
{
	volatile double x = 1e300;
	for (int i = 0; i < 10; i++)
		x = x * 3.25 + 1;
	hits++;
}

static sigjmp_buf jb;
static void on_fault_jump(int sig, siginfo_t *si, void *uc)
{
	last_sig = sig;
	last_code = si->si_code;
	last_addr = si->si_addr;
	siglongjmp(jb, 1);
}

/* Skip the faulting instruction by editing the saved pc. */
static void on_fault_skip(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	unsigned short insn = *(unsigned short *)uc->uc_mcontext.__gregs[REG_PC];
	uc->uc_mcontext.__gregs[REG_PC] += (insn & 3) == 3 ? 4 : 2;
	uc->uc_mcontext.__gregs[REG_A0] = 0x5eed; /* visible after return */
	hits++;
	last_sig = sig;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa = { 0 };
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void install_plain(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void alarm_in(long usec)
{
	struct itimerval it = { { 0, 0 }, { 0, usec } };
	setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
	sigset_t set, old, pend;

	/* handler with siginfo from kill */
	install(SIGUSR1, on_info, 0);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(hits == 1 && last_sig == SIGUSR1 && last_code == SI_USER && last_pid == getpid());
	CHECK(raise(SIGUSR1) == 0 && hits == 2 && last_code == SI_TKILL);
	sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 7 });
	CHECK(hits == 3 && last_code == SI_QUEUE);

	/* the old action comes back; SIG_IGN ignores */
	struct sigaction oa;
	CHECK(sigaction(SIGUSR1, NULL, &oa) == 0 && oa.sa_sigaction == on_info &&
	      (oa.sa_flags & SA_SIGINFO));
	signal(SIGUSR2, SIG_IGN);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(sigaction(SIGKILL, &oa, NULL) == -1 && errno == EINVAL);

	/* blocking, pending, unblocking */
	hits = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	raise(SIGUSR1);
	CHECK(hits == 0);
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	CHECK(hits == 1);
	CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));

	/* sigsuspend returns after the handler, with the mask restored */
	hits = 0;
	sigprocmask(SIG_BLOCK, &set, NULL);
	install_plain(SIGALRM, on_plain, 0);
	alarm_in(20000);
	sigset_t none;
	sigemptyset(&none);
	raise(SIGUSR1);
	CHECK(sigsuspend(&none) == -1 && errno == EINTR);
	CHECK(hits >= 1);
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	CHECK(sigismember(&now, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	/* the 20 ms alarm may still come: wait for both */
	while (hits < 2)
		pause();

	/* SA_RESTART: a read interrupted by a handler carries on */
	int p[2];
	CHECK(pipe(p) == 0);
	install_plain(SIGALRM, on_plain, SA_RESTART);
	if (fork() == 0) {
		usleep(100000);
		write(p[1], "late", 4);
		_exit(0);
	}
	hits = 0;
	alarm_in(20000);
	char buf[8];
	CHECK(read(p[0], buf, sizeof(buf)) == 4 && hits == 1);
	/* without SA_RESTART it fails with EINTR */
	install_plain(SIGALRM, on_plain, 0);
	hits = 0;
	alarm_in(20000);
	CHECK(read(p[0], buf, sizeof(buf)) == -1 && errno == EINTR && hits == 1);
	close(p[0]);
	close(p[1]);

	/* FP registers survive a handler that uses them */
	install_plain(SIGUSR2, on_fp, 0);
	hits = 0;
	volatile double acc = 0;
	for (int i = 1; i <= 1000; i++) {
		acc += 1.0 / i;
		if (i % 100 == 0)
			raise(SIGUSR2);
	}
	CHECK(hits == 10);
	CHECK(acc > 7.48547 && acc < 7.48548);

	/* SA_ONSTACK with sigaltstack */
	stack_t ss = { .ss_size = 65536 };
	ss.ss_sp = malloc(ss.ss_size);
	CHECK(sigaltstack(&ss, NULL) == 0);
	install(SIGUSR1, on_info, SA_ONSTACK);
	raise(SIGUSR1);
	CHECK(handler_stack > (uintptr_t)ss.ss_sp &&
	      handler_stack < (uintptr_t)ss.ss_sp + ss.ss_size);
	stack_t cur;
	CHECK(sigaltstack(NULL, &cur) == 0 && cur.ss_sp == ss.ss_sp && !(cur.ss_flags & SS_ONSTACK));
	install(SIGUSR1, on_info, 0);
	raise(SIGUSR1);
	CHECK(handler_stack < (uintptr_t)ss.ss_sp ||
	      handler_stack >= (uintptr_t)ss.ss_sp + ss.ss_size);
	ss.ss_flags = SS_DISABLE;
	CHECK(sigaltstack(&ss, NULL) == 0);
	ss.ss_flags = 0;
	ss.ss_size = 100;
	CHECK(sigaltstack(&ss, NULL) == -1 && errno == ENOMEM);

	/* SA_RESETHAND: once, then the default (ignored for SIGCHLD-like? use
	 * SIGWINCH, whose default is to ignore) */
	hits = 0;
	install_plain(SIGWINCH, on_plain, SA_RESETHAND);
	raise(SIGWINCH);
	raise(SIGWINCH);
	CHECK(hits == 1);
	CHECK(sigaction(SIGWINCH, NULL, &oa) == 0 && oa.sa_handler == SIG_DFL);

	/* SIGSEGV from a bad load, recovered with siglongjmp */
	install(SIGSEGV, on_fault_jump, SA_NODEFER);
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile int *)16 = 1;
		CHECK(0);
	}
	CHECK(last_sig == SIGSEGV && last_code == SEGV_MAPERR && last_addr == (void *)16);
	/* a write to a read-only page is SEGV_ACCERR */
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sigsetjmp(jb, 1) == 0) {
		ro[10] = 1;
		CHECK(0);
	}
	CHECK(last_sig == SIGSEGV && last_code == SEGV_ACCERR && last_addr == ro + 10);
	/* executing data that is not executable */
	if (sigsetjmp(jb, 1) == 0) {
		((void (*)(void))ro)();
		CHECK(0);
	}
	CHECK(last_sig == SIGSEGV && last_addr == ro);
	/* the signal is unblocked again after siglongjmp: a second fault works */
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile int *)24 = 1;
		CHECK(0);
	}
	CHECK(last_sig == SIGSEGV && last_addr == (void *)24);

	/* SIGILL and SIGTRAP, resumed past the instruction by editing the pc */
	install(SIGILL, on_fault_skip, 0);
	install(SIGTRAP, on_fault_skip, 0);
	hits = 0;
	long a0 = 0;
	__asm__ volatile("li a0, 1\n\t.half 0\n\tmv %0, a0" : "=r"(a0) : : "a0");
	CHECK(hits == 1 && last_sig == SIGILL && a0 == 0x5eed);
	__asm__ volatile("li a0, 1\n\tebreak\n\tmv %0, a0" : "=r"(a0) : : "a0");
	CHECK(hits == 2 && last_sig == SIGTRAP && a0 == 0x5eed);
	__asm__ volatile("li a0, 1\n\tc.ebreak\n\tmv %0, a0" : "=r"(a0) : : "a0");
	CHECK(hits == 3 && last_sig == SIGTRAP && a0 == 0x5eed);
	return t_done();
}
