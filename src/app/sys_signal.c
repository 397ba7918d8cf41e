/* Signal system calls.  Dispositions and masks are kept per process and
 * per thread and mirrored onto the host (see signal.c); sending goes
 * through the host kernel, since guest pids and tids are host ones. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "app/syscalls.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
#define GUEST_MINSIGSTKSZ 2048
#define GUEST_SS_ONSTACK 1
#define GUEST_SS_DISABLE 2
#define GUEST_SS_AUTODISARM (1u << 31)

static bool valid_sig(uint64_t sig)
{
	return sig >= 1 && sig <= APP_NSIG;
}

SYS(rt_sigaction)
{
	struct app_proc *p = t->proc;
	int sig = (int)a[0];
	struct guest_sigaction act, old;

	if (a[3] != 8 || !valid_sig(a[0]))
		return -EINVAL;
	if (a[1]) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		if (mm_read(t_mm(t), &act, a[1], sizeof(act)))
			return -EFAULT;
	}
	pthread_mutex_lock(&p->lock);
	old = p->sigact[sig];
	if (a[1])
		sig_set_action(p, sig, &act);
	pthread_mutex_unlock(&p->lock);
	if (a[2] && mm_write(t_mm(t), a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYS(rt_sigprocmask)
{
	uint64_t set, old = t->blocked;

	if (a[3] != 8)
		return -EINVAL;
	if (a[1]) {
		if (mm_read(t_mm(t), &set, a[1], 8))
			return -EFAULT;
		uint64_t mask;
		switch ((int)a[0]) {
		case SIG_BLOCK:
			mask = old | set;
			break;
		case SIG_UNBLOCK:
			mask = old & ~set;
			break;
		case SIG_SETMASK:
			mask = set;
			break;
		default:
			return -EINVAL;
		}
		t->blocked = mask & ~UNBLOCKABLE;
		/* Unblocking lets host-pending signals in at once: the host handler
		 * queues them and the dispatcher delivers before the next insn. */
		sig_set_host_mask(t->blocked);
		sig_release_held(t);
	}
	if (a[2] && mm_write(t_mm(t), a[2], &old, 8))
		return -EFAULT;
	return 0;
}

SYS(rt_sigpending)
{
	uint64_t set = 0;
	if (a[1] != 8)
		return -EINVAL;
	if (syscall(SYS_rt_sigpending, &set, 8) < 0)
		return -errno;
	set |= sig_held_set(t);
	return mm_write(t_mm(t), a[0], &set, 8);
}

SYS(rt_sigsuspend)
{
	uint64_t mask;
	if (a[1] != 8)
		return -EINVAL;
	if (mm_read(t_mm(t), &mask, a[0], 8))
		return -EFAULT;
	mask &= ~UNBLOCKABLE;
	/* The handler's frame gets the old mask, restored by its sigreturn. */
	t->saved_mask = t->blocked;
	t->saved_mask_valid = true;
	t->blocked = mask;
	sig_release_held(t);
	if (!sig_pending(t))
		syscall(SYS_rt_sigsuspend, &mask, 8);
	if (!sig_pending(t)) {
		t->saved_mask_valid = false;
		t->blocked = t->saved_mask;
	}
	return -EINTR;
}

SYS(rt_sigtimedwait)
{
	uint64_t set;
	siginfo_t si;
	struct timespec ts, *tsp = NULL;

	if (a[3] != 8)
		return -EINVAL;
	if (mm_read(t_mm(t), &set, a[0], 8))
		return -EFAULT;
	if (a[2]) {
		if (mm_read(t_mm(t), &ts, a[2], sizeof(ts)))
			return -EFAULT;
		tsp = &ts;
	}
	long r = sig_take_held(t, set, &si);
	if (!r)
		r = syscall(SYS_rt_sigtimedwait, &set, &si, tsp, 8);
	if (r < 0)
		return -errno;
	if (a[1] && mm_write(t_mm(t), a[1], &si, sizeof(si)))
		return -EFAULT;
	return r;
}

SYS(rt_sigreturn)
{
	return sig_return(t);
}

SYS(sigaltstack)
{
	struct {
		uint64_t ss_sp;
		int32_t ss_flags, pad;
		uint64_t ss_size;
	} ss, old;
	bool on = t->ss_size && t->hart->x[2] > t->ss_sp && t->hart->x[2] - t->ss_sp <= t->ss_size;

	memset(&old, 0, sizeof(old));
	old.ss_sp = t->ss_sp;
	old.ss_size = t->ss_size;
	old.ss_flags = on ? GUEST_SS_ONSTACK : t->ss_size ? t->ss_flags : GUEST_SS_DISABLE;
	if (a[0]) {
		if (mm_read(t_mm(t), &ss, a[0], sizeof(ss)))
			return -EFAULT;
		if (on)
			return -EPERM;
		uint32_t mode = (uint32_t)ss.ss_flags & ~GUEST_SS_AUTODISARM;
		if (mode != 0 && mode != GUEST_SS_DISABLE && mode != GUEST_SS_ONSTACK)
			return -EINVAL;
		if (mode == GUEST_SS_DISABLE) {
			t->ss_sp = 0;
			t->ss_size = 0;
			t->ss_flags = GUEST_SS_DISABLE;
		} else {
			if (ss.ss_size < GUEST_MINSIGSTKSZ)
				return -ENOMEM;
			t->ss_sp = ss.ss_sp;
			t->ss_size = ss.ss_size;
			t->ss_flags = ss.ss_flags & (int32_t)GUEST_SS_AUTODISARM;
		}
	}
	if (a[1] && mm_write(t_mm(t), a[1], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYS(kill)
{
	pid_t pid = (pid_t)a[0];
	if (a[1] > APP_NSIG)
		return -EINVAL;
	/* Broadcasting to every process of the user reaches outside the guest. */
	if (pid == -1)
		return -EPERM;
	return host_ret(kill(pid, (int)a[1]));
}

SYS(tkill)
{
	if (a[1] > APP_NSIG)
		return -EINVAL;
	return host_ret(syscall(SYS_tkill, (pid_t)a[0], (int)a[1]));
}

SYS(tgkill)
{
	if (a[2] > APP_NSIG)
		return -EINVAL;
	return host_ret(syscall(SYS_tgkill, (pid_t)a[0], (pid_t)a[1], (int)a[2]));
}

/* A guest may send itself a fault signal with a kernel si_code (Linux
 * allows that for one's own process only).  Through the host it would look
 * like a fault of condo's own, so it is queued here, in-process, for the
 * calling thread; true when it was. */
static bool forged_fault(struct app_thread *t, int sig, siginfo_t *si)
{
	if (!sig_is_fault(sig, si->si_code))
		return false;
	si->si_signo = sig;
	sig_queue_self(t, si);
	return true;
}

SYS(rt_sigqueueinfo)
{
	siginfo_t si;
	if (!valid_sig(a[1]))
		return -EINVAL;
	if (mm_read(t_mm(t), &si, a[2], sizeof(si)))
		return -EFAULT;
	if ((pid_t)a[0] == getpid() && forged_fault(t, (int)a[1], &si))
		return 0;
	return host_ret(syscall(SYS_rt_sigqueueinfo, (pid_t)a[0], (int)a[1], &si));
}

SYS(rt_tgsigqueueinfo)
{
	siginfo_t si;
	if (!valid_sig(a[2]))
		return -EINVAL;
	if (mm_read(t_mm(t), &si, a[3], sizeof(si)))
		return -EFAULT;
	if ((pid_t)a[0] == getpid() && sig_is_fault((int)a[2], si.si_code)) {
		if ((pid_t)a[1] == t->tid && forged_fault(t, (int)a[2], &si))
			return 0;
		/* To another thread: it would pass for condo's own fault there. */
		si.si_code = SI_QUEUE;
	}
	return host_ret(
		syscall(SYS_rt_tgsigqueueinfo, (pid_t)a[0], (pid_t)a[1], (int)a[2], &si));
}
