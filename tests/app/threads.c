/* Threads: creation and join (clone with CLONE_CHILD_CLEARTID + futex),
 * mutexes and condition variables (futex), atomics across host threads,
 * thread-local storage (tp), per-thread signal masks, thread-directed
 * signals, and a process exit status set by the last thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "t.h"

#define NTHREADS 8
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static atomic_long acounter;
static __thread long tls_value = 5;
static int ready;

static void *worker(void *arg)
{
	long id = (long)arg;
	tls_value = id * 100;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		atomic_fetch_add(&acounter, 1);
	}
	/* Some malloc traffic from every thread (per-thread arenas use mmap). */
	for (int i = 0; i < 100; i++)
		free(malloc(1000 + i * 37));
	if (tls_value != id * 100)
		return (void *)-1;
	return (void *)(id + 1000);
}

static void *waiter(void *arg)
{
	pthread_mutex_lock(&lock);
	while (!ready)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return (void *)(long)syscall(SYS_gettid);
}

static volatile sig_atomic_t usr1_tid;
static void on_usr1(int sig)
{
	usr1_tid = (sig_atomic_t)syscall(SYS_gettid);
}

static void *sleeper(void *arg)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	*(pid_t *)arg = (pid_t)syscall(SYS_gettid);
	while (!usr1_tid)
		usleep(1000);
	return NULL;
}

static pthread_t main_thread;
static void *exit_after_main(void *status)
{
	pthread_join(main_thread, NULL);
	exit((int)(long)status);
}

int main(void)
{
	pthread_t th[NTHREADS];

	for (long i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&th[i], NULL, worker, (void *)i) == 0);
	for (long i = 0; i < NTHREADS; i++) {
		void *ret;
		CHECK(pthread_join(th[i], &ret) == 0);
		CHECK(ret == (void *)(i + 1000));
	}
	CHECK(counter == (long)NTHREADS * ROUNDS);
	CHECK(atomic_load(&acounter) == (long)NTHREADS * ROUNDS);
	CHECK(tls_value == 5);

	/* condition variable: all waiters wake on broadcast */
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, waiter, NULL) == 0);
	usleep(10000);
	pthread_mutex_lock(&lock);
	ready = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 4; i++) {
		void *tid;
		CHECK(pthread_join(th[i], &tid) == 0);
		CHECK((long)tid != getpid() && (long)tid > 0);
	}

	/* a signal aimed at one thread runs its handler on that thread, and
	 * the main thread, which blocks it, never sees it */
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	volatile pid_t target = 0;
	pthread_t s;
	CHECK(pthread_create(&s, NULL, sleeper, (void *)&target) == 0);
	while (!target)
		usleep(1000);
	CHECK(pthread_kill(s, SIGUSR1) == 0);
	CHECK(pthread_join(s, NULL) == 0);
	CHECK(usr1_tid == target);
	/* a process-directed signal goes to a thread that does not block it:
	 * here nobody does, until the main thread unblocks it */
	usr1_tid = 0;
	kill(getpid(), SIGUSR1);
	usleep(10000);
	CHECK(usr1_tid == 0);
	sigset_t pend;
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	CHECK(usr1_tid == getpid());

	int r = t_done();
	fflush(stdout);
	/* The main thread leaves first (its tid is cleared and woken through
	 * set_tid_address, so it can be joined); the last thread then decides
	 * the process's exit status. */
	main_thread = pthread_self();
	pthread_create(&th[0], NULL, exit_after_main, (void *)(long)(r ? 1 : 23));
	pthread_exit(NULL);
}
