/* Guest threads and processes.  A guest thread (clone with CLONE_VM |
 * CLONE_THREAD) is a host pthread running its own hart on the shared
 * address space; a guest fork is a host fork() of the whole emulator, so
 * the child has its own copy of everything and the host kernel keeps the
 * process tree, wait4 and signals right for free. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "condo/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "condo/log.h"

/* Host stack of a guest thread's emulator (the guest stack is its own). */
#define THREAD_HOST_STACK (2u << 20)

struct app_thread *thread_new(struct app_proc *p, struct hart *hart)
{
	struct app_thread *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->proc = p;
	t->hart = hart;
	t->ss_flags = 2; /* SS_DISABLE */
	hart->env_ctx = t;
	pthread_mutex_lock(&p->lock);
	t->next = p->threads;
	p->threads = t;
	p->nthreads++;
	pthread_mutex_unlock(&p->lock);
	return t;
}

/* Unlink t from its process; returns the number of threads left. */
static int thread_unlink(struct app_thread *t)
{
	struct app_proc *p = t->proc;
	pthread_mutex_lock(&p->lock);
	for (struct app_thread **pp = &p->threads; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	int left = --p->nthreads;
	pthread_mutex_unlock(&p->lock);
	return left;
}

void thread_free(struct app_thread *t)
{
	if (t->hart)
		hart_free(t->hart);
	free(t);
}

struct clone_start {
	struct app_thread *t;
	uint64_t flags;
	gva_t ptid, ctid;
	sem_t ready;
	pid_t tid;
};

static void *thread_main(void *arg)
{
	struct clone_start *cs = arg;
	struct app_thread *t = cs->t;
	struct app_mm *mm = &t->proc->mm;
	uint32_t tid;

	app_current = t;
	t->tid = gettid();
	tid = (uint32_t)t->tid;
	if (cs->flags & CLONE_PARENT_SETTID)
		mm_write(mm, cs->ptid, &tid, sizeof(tid));
	if (cs->flags & CLONE_CHILD_SETTID)
		mm_write(mm, cs->ctid, &tid, sizeof(tid));
	if (cs->flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = cs->ctid;
	cs->tid = t->tid;
	sem_post(&cs->ready); /* cs lives on the parent's stack: not touched after this */
	sig_set_host_mask(t->blocked);
	app_loop(t);
	return NULL;
}

int64_t thread_clone(struct app_thread *parent, uint64_t flags, gva_t newsp, gva_t ptid,
		     gva_t tls, gva_t ctid)
{
	const uint64_t need = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
	struct app_proc *p = parent->proc;
	struct clone_start cs;
	pthread_attr_t attr;
	pthread_t pt;
	sigset_t all, old;

	if ((flags & need) != need)
		return -EINVAL;
	/* Lockstep's compiled TLB path reads through entries another thread's
	 * munmap may leave stale, outside the fault-tolerant accesses: back to
	 * a reservation that is all accessible (docs/jit.md). */
	if (p->cfg.engine == ENGINE_LOCKSTEP)
		mm_leave_direct(&p->mm, "a second thread under lockstep");
	struct hart *h = engine_hart_clone(parent->hart);
	if (!h)
		return -EAGAIN;
	h->x[10] = 0;
	h->pc = parent->hart->pc + 4;
	if (newsp)
		h->x[2] = newsp;
	if (flags & CLONE_SETTLS)
		h->x[4] = tls;
	struct app_thread *t = thread_new(p, h);
	if (!t) {
		hart_free(h);
		return -EAGAIN;
	}
	t->blocked = parent->blocked;

	memset(&cs, 0, sizeof(cs));
	cs.t = t;
	cs.flags = flags;
	cs.ptid = ptid;
	cs.ctid = ctid;
	sem_init(&cs.ready, 0, 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_HOST_STACK);
	/* The new host thread starts with everything blocked until it has set
	 * app_current, then takes the guest's mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&pt, &attr, thread_main, &cs);
	sig_set_host_mask(parent->blocked);
	pthread_attr_destroy(&attr);
	if (err) {
		thread_unlink(t);
		thread_free(t);
		sem_destroy(&cs.ready);
		return -EAGAIN;
	}
	while (sem_wait(&cs.ready) < 0 && errno == EINTR)
		;
	sem_destroy(&cs.ready);
	return cs.tid;
}

_Noreturn void thread_exit(struct app_thread *t, int status)
{
	struct app_mm *mm = &t->proc->mm;

	if (t->clear_child_tid) {
		/* CLONE_CHILD_CLEARTID: zero the tid and wake a joiner, on the
		 * host address so host futex waiters in other threads see it.
		 * An aligned 4-byte copy is one store; the futex call orders it.
		 * A misaligned word gets no futex, which Linux refuses there
		 * too (EINVAL). */
		if (mm_write(mm, t->clear_child_tid, &(uint32_t){ 0 }, sizeof(uint32_t)) == 0 &&
		    !(t->clear_child_tid & 3))
			syscall(SYS_futex, mm->host_base + t->clear_child_tid, FUTEX_WAKE, 1, NULL,
				NULL, 0);
	}
	if (thread_unlink(t) == 0)
		app_exit_group(t, status);
	/* Nothing may queue a signal on t once it is freed. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	app_current = NULL;
	thread_free(t);
	pthread_exit(NULL);
}

int64_t proc_fork(struct app_thread *t, uint64_t flags, gva_t newsp, gva_t ptid, gva_t tls,
		  gva_t ctid)
{
	struct app_proc *p = t->proc;
	struct app_mm *mm = &p->mm;
	uint32_t tid;

	/* vfork: the parent waits until the child has called execve or exited,
	 * which closes the child's end of this close-on-exec pipe. */
	int vfork_pipe[2] = { -1, -1 };
	if ((flags & CLONE_VFORK) && pipe2(vfork_pipe, O_CLOEXEC) < 0)
		vfork_pipe[0] = vfork_pipe[1] = -1;

	/* Hold the locks across fork() so the child's copies are consistent. */
	pthread_mutex_lock(&p->lock);
	pthread_rwlock_wrlock(&mm->lock);
	pthread_mutex_lock(&p->fds.lock);
	pid_t pid = fork();
	int err = errno;
	if (pid != 0) {
		pthread_mutex_unlock(&p->fds.lock);
		pthread_rwlock_unlock(&mm->lock);
		pthread_mutex_unlock(&p->lock);
	}
	if (pid < 0) {
		if (vfork_pipe[0] >= 0) {
			close(vfork_pipe[0]);
			close(vfork_pipe[1]);
		}
		return -err;
	}
	if (pid == 0) {
		/* The write end stays open, close-on-exec and out of the
		 * guest's table, until this child execs or exits. */
		if (vfork_pipe[0] >= 0)
			close(vfork_pipe[0]);
		fdt_after_fork(&p->fds);
		/* Fresh locks: the held ones belong to the parent's thread id,
		 * which glibc's rwlock checks on unlock. */
		pthread_rwlock_init(&mm->lock, NULL);
		pthread_mutex_init(&p->lock, NULL);
		/* Only the calling thread exists in the child. */
		struct app_thread *o = p->threads;
		while (o) {
			struct app_thread *next = o->next;
			if (o != t)
				free(o); /* their harts' memory is simply left */
			o = next;
		}
		p->threads = t;
		t->next = NULL;
		p->nthreads = 1;
		t->tid = gettid();
		p->cfg.forked_child = true;
		tid = (uint32_t)t->tid;
		if (flags & CLONE_CHILD_SETTID)
			mm_write(mm, ctid, &tid, sizeof(tid));
		if (flags & CLONE_CHILD_CLEARTID)
			t->clear_child_tid = ctid;
		if (newsp)
			t->hart->x[2] = newsp;
		if (flags & CLONE_SETTLS)
			t->hart->x[4] = tls;
		return 0;
	}
	tid = (uint32_t)pid;
	if (flags & CLONE_PARENT_SETTID)
		mm_write(mm, ptid, &tid, sizeof(tid));
	if (vfork_pipe[0] >= 0) {
		char c;
		close(vfork_pipe[1]);
		while (read(vfork_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
		close(vfork_pipe[0]);
	}
	return pid;
}
