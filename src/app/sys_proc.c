/* Process and thread calls: clone, execve, exit, wait, futex, identities,
 * limits and system information.  Guest pids and tids are host pids and
 * tids (a guest process is a host process), so most calls pass through. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "app/syscalls.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- creating and ending ---- */

SYS(clone)
{
	uint64_t flags = a[0];

	if (flags & CLONE_VM) {
		if (flags & CLONE_THREAD)
			return thread_clone(t, flags, a[1], a[2], a[3], a[4]);
		/* vfork (posix_spawn): a copy is indistinguishable for a child
		 * that only calls execve or _exit. */
		if (!(flags & CLONE_VFORK))
			return -EINVAL;
	} else if (flags & (CLONE_THREAD | CLONE_SIGHAND)) {
		return -EINVAL;
	}
	return proc_fork(t, flags & ~(uint64_t)CLONE_SETTLS, a[1], a[2], a[3], a[4]);
}

SYS(execve)
{
	return exec_guest(t, a[0], a[1], a[2]);
}

SYS(exit)
{
	thread_exit(t, (int)(a[0] & 0xff));
}

SYS(exit_group)
{
	app_exit_group(t, (int)(a[0] & 0xff));
}

SYS(wait4)
{
	int status;
	struct rusage ru;
	pid_t r = wait4((pid_t)a[0], &status, (int)a[2], a[3] ? &ru : NULL);
	if (r < 0)
		return -errno;
	if (r > 0 && a[1] && mm_write(t_mm(t), a[1], &status, sizeof(status)))
		return -EFAULT;
	if (a[3] && mm_write(t_mm(t), a[3], &ru, sizeof(ru)))
		return -EFAULT;
	return r;
}

SYS(waitid)
{
	siginfo_t si;
	struct rusage ru;
	memset(&si, 0, sizeof(si));
	long r = syscall(SYS_waitid, (int)a[0], (int)a[1], &si, (int)a[3], a[4] ? &ru : NULL);
	if (r < 0)
		return -errno;
	if (a[2] && mm_write(t_mm(t), a[2], &si, sizeof(si)))
		return -EFAULT;
	if (a[4] && mm_write(t_mm(t), a[4], &ru, sizeof(ru)))
		return -EFAULT;
	return r;
}

SYS(set_tid_address)
{
	t->clear_child_tid = a[0];
	return t->tid;
}

SYS(set_robust_list)
{
	if (a[1] != 24) /* sizeof(struct robust_list_head) */
		return -EINVAL;
	t->robust_list = a[0];
	t->robust_len = a[1];
	return 0;
}

SYS(get_robust_list)
{
	if (a[0] && (pid_t)a[0] != t->tid)
		return -EPERM;
	if (mm_write(t_mm(t), a[1], &t->robust_list, 8) || mm_write(t_mm(t), a[2], &t->robust_len, 8))
		return -EFAULT;
	return 0;
}

/* ---- futex: the host's, on the host address of the guest word ---- */

SYS(futex)
{
	int op = (int)a[1];
	int cmd = op & FUTEX_CMD_MASK;
	struct timespec ts, *tsp = NULL;
	uint32_t *uaddr2 = NULL;

	if (a[0] & 3)
		return -EINVAL;
	/* The PI operations write the word: checked (and a page of code made
	 * writable, docs/app-mode.md) like any write. */
	bool writes = cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_UNLOCK_PI ||
		      cmd == FUTEX_TRYLOCK_PI;
	uint32_t *uaddr = mm_ptr(t_mm(t), a[0], 4, PROT_READ | (writes ? PROT_WRITE : 0));
	if (!uaddr)
		return -EFAULT;
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_WAIT_REQUEUE_PI:
		if (a[3]) {
			if (mm_read(t_mm(t), &ts, a[3], sizeof(ts)))
				return -EFAULT;
			tsp = &ts;
		}
		if (cmd == FUTEX_WAIT_REQUEUE_PI && !(uaddr2 = mm_ptr(t_mm(t), a[4], 4, PROT_WRITE)))
			return -EFAULT;
		return host_ret(syscall(SYS_futex, uaddr, op, (uint32_t)a[2], tsp, uaddr2,
					(uint32_t)a[5]));
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
	case FUTEX_UNLOCK_PI:
	case FUTEX_TRYLOCK_PI:
		return host_ret(syscall(SYS_futex, uaddr, op, (uint32_t)a[2], NULL, NULL,
					(uint32_t)a[5]));
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
	case FUTEX_CMP_REQUEUE_PI:
	case FUTEX_WAKE_OP:
		if (a[4] & 3)
			return -EINVAL;
		if (!(uaddr2 = mm_ptr(t_mm(t), a[4], 4, PROT_READ | PROT_WRITE)))
			return -EFAULT;
		/* The fourth argument is a number (val2) for these. */
		return host_ret(syscall(SYS_futex, uaddr, op, (uint32_t)a[2], (unsigned long)a[3],
					uaddr2, (uint32_t)a[5]));
	default:
		return -ENOSYS;
	}
}

/* ---- identities ---- */

SYS(getpid)
{
	return getpid();
}
SYS(getppid)
{
	return getppid();
}
SYS(gettid)
{
	return t->tid;
}
SYS(getuid)
{
	return getuid();
}
SYS(geteuid)
{
	return geteuid();
}
SYS(getgid)
{
	return getgid();
}
SYS(getegid)
{
	return getegid();
}

/* Raw calls: they change only this thread, which is what a guest libc that
 * broadcasts set*id to its threads (with signal 33) expects. */
SYS(setuid)
{
	return host_ret(syscall(SYS_setuid, (uid_t)a[0]));
}
SYS(setgid)
{
	return host_ret(syscall(SYS_setgid, (gid_t)a[0]));
}
SYS(setreuid)
{
	return host_ret(syscall(SYS_setreuid, (uid_t)a[0], (uid_t)a[1]));
}
SYS(setregid)
{
	return host_ret(syscall(SYS_setregid, (gid_t)a[0], (gid_t)a[1]));
}
SYS(setresuid)
{
	return host_ret(syscall(SYS_setresuid, (uid_t)a[0], (uid_t)a[1], (uid_t)a[2]));
}
SYS(setresgid)
{
	return host_ret(syscall(SYS_setresgid, (gid_t)a[0], (gid_t)a[1], (gid_t)a[2]));
}
SYS(setfsuid)
{
	return syscall(SYS_setfsuid, (uid_t)a[0]);
}
SYS(setfsgid)
{
	return syscall(SYS_setfsgid, (gid_t)a[0]);
}

static int64_t put_three(struct app_thread *t, const uint64_t *a, uint32_t x, uint32_t y,
			 uint32_t z)
{
	if (mm_write(t_mm(t), a[0], &x, 4) || mm_write(t_mm(t), a[1], &y, 4) ||
	    mm_write(t_mm(t), a[2], &z, 4))
		return -EFAULT;
	return 0;
}

SYS(getresuid)
{
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	return put_three(t, a, r, e, s);
}

SYS(getresgid)
{
	gid_t r, e, s;
	getresgid(&r, &e, &s);
	return put_three(t, a, r, e, s);
}

SYS(getgroups)
{
	int n = (int)a[0];
	if (n < 0)
		return -EINVAL;
	void *list = mm_ptr(t_mm(t), a[1], (size_t)n * 4, PROT_WRITE);
	if (!list)
		return -EFAULT;
	return host_ret(syscall(SYS_getgroups, n, list));
}

SYS(setgroups)
{
	int n = (int)a[0];
	if (n < 0 || n > 65536)
		return -EINVAL;
	const void *list = mm_ptr(t_mm(t), a[1], (size_t)n * 4, PROT_READ);
	if (!list)
		return -EFAULT;
	return host_ret(syscall(SYS_setgroups, n, list));
}

SYS(setpgid)
{
	return host_ret(setpgid((pid_t)a[0], (pid_t)a[1]));
}
SYS(getpgid)
{
	return host_ret(getpgid((pid_t)a[0]));
}
SYS(getsid)
{
	return host_ret(getsid((pid_t)a[0]));
}
SYS(setsid)
{
	return host_ret(setsid());
}

SYS(capget)
{
	void *hdr = mm_ptr(t_mm(t), a[0], 8, PROT_READ | PROT_WRITE);
	void *data = a[1] ? mm_ptr(t_mm(t), a[1], 24, PROT_WRITE) : NULL;
	if (!hdr || (a[1] && !data))
		return -EFAULT;
	return host_ret(syscall(SYS_capget, hdr, data));
}

SYS(capset)
{
	void *hdr = mm_ptr(t_mm(t), a[0], 8, PROT_READ | PROT_WRITE);
	const void *data = mm_ptr(t_mm(t), a[1], 24, PROT_READ);
	if (!hdr || !data)
		return -EFAULT;
	return host_ret(syscall(SYS_capset, hdr, data));
}

SYS(personality)
{
	/* Only PER_LINUX, and the query. */
	if ((uint32_t)a[0] == 0xffffffffu || a[0] == 0)
		return 0;
	return -EINVAL;
}

SYS(prctl)
{
	int option = (int)a[0];
	char name[16];

	switch (option) {
	case PR_SET_NAME:
		if (mm_read(t_mm(t), name, a[1], 1))
			return -EFAULT;
		if (mm_strcpy(t_mm(t), name, a[1], sizeof(name)) == -EFAULT)
			return -EFAULT;
		name[15] = 0;
		return host_ret(prctl(PR_SET_NAME, name));
	case PR_GET_NAME:
		if (prctl(PR_GET_NAME, name) < 0)
			return -errno;
		return mm_write(t_mm(t), a[1], name, sizeof(name));
	case PR_GET_PDEATHSIG: {
		int sig;
		if (prctl(PR_GET_PDEATHSIG, &sig) < 0)
			return -errno;
		return mm_write(t_mm(t), a[1], &sig, sizeof(sig));
	}
	case PR_SET_PDEATHSIG:
	case PR_GET_DUMPABLE:
	case PR_SET_DUMPABLE:
	case PR_GET_KEEPCAPS:
	case PR_SET_KEEPCAPS:
	case PR_SET_NO_NEW_PRIVS:
	case PR_GET_NO_NEW_PRIVS:
	case PR_SET_CHILD_SUBREAPER:
	case PR_CAPBSET_READ:
		return host_ret(prctl(option, (unsigned long)a[1], (unsigned long)a[2],
				      (unsigned long)a[3], (unsigned long)a[4]));
	default:
		return -EINVAL;
	}
}

/* ---- limits and accounting ---- */

/* Limits on condo's own resources are the guest's business only as far as
 * condo can enforce them for it: memory (through --mem) and the descriptor
 * table are virtual, kept per process and never applied to the host
 * process; the rest are the host's own (RLIMIT_SIGPENDING too: guest
 * signals are host signals, queued by the host kernel). */
static bool rlimit_virtual(int res)
{
	return res == RLIMIT_AS || res == RLIMIT_DATA || res == RLIMIT_STACK ||
	       res == RLIMIT_RSS || res == RLIMIT_MEMLOCK || res == RLIMIT_NOFILE;
}

void proc_init_rlimits(struct app_proc *p)
{
	for (int res = 0; res < RLIM_NLIMITS; res++) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		getrlimit(res, &rl);
		p->rlim[res][0] = rl.rlim_cur;
		p->rlim[res][1] = rl.rlim_max;
	}
	fdt_set_limit(&p->fds, p->rlim[RLIMIT_NOFILE][0]);
}

SYS(prlimit64)
{
	struct rlimit nv, old;
	int res = (int)a[1];
	struct app_proc *p = t->proc;

	if (a[0] && (pid_t)a[0] != getpid())
		return -EPERM;
	if (res < 0 || res >= RLIM_NLIMITS)
		return -EINVAL;
	if (a[2] && mm_read(t_mm(t), &nv, a[2], sizeof(nv)))
		return -EFAULT;
	if (a[2] && nv.rlim_cur > nv.rlim_max)
		return -EINVAL;
	if (!rlimit_virtual(res)) {
		if (prlimit(0, res, a[2] ? &nv : NULL, &old) < 0)
			return -errno;
	} else {
		pthread_mutex_lock(&p->lock);
		old.rlim_cur = p->rlim[res][0];
		old.rlim_max = p->rlim[res][1];
		int err = 0;
		/* Raising a hard limit takes CAP_SYS_RESOURCE; NOFILE stops at nr_open. */
		if (a[2] && nv.rlim_max > old.rlim_max && geteuid() != 0)
			err = -EPERM;
		else if (a[2] && res == RLIMIT_NOFILE && nv.rlim_max > FDT_MAX)
			err = -EPERM;
		if (!err && a[2]) {
			p->rlim[res][0] = nv.rlim_cur;
			p->rlim[res][1] = nv.rlim_max;
			if (res == RLIMIT_NOFILE)
				fdt_set_limit(&p->fds, nv.rlim_cur);
		}
		pthread_mutex_unlock(&p->lock);
		if (err)
			return err;
	}
	if (a[3] && mm_write(t_mm(t), a[3], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYS(getrlimit)
{
	if (!a[1])
		return -EFAULT;
	uint64_t b[4] = { 0, a[0], 0, a[1] };
	return sys_prlimit64(t, b);
}

SYS(setrlimit)
{
	if (!a[1])
		return -EFAULT;
	uint64_t b[4] = { 0, a[0], a[1], 0 };
	return sys_prlimit64(t, b);
}

SYS(getrusage)
{
	struct rusage ru;
	if (getrusage((int)a[0], &ru) < 0)
		return -errno;
	return mm_write(t_mm(t), a[1], &ru, sizeof(ru));
}

SYS(uname)
{
	struct utsname u;
	if (uname(&u) < 0)
		return -errno;
	strcpy(u.machine, "riscv64");
	return mm_write(t_mm(t), a[0], &u, sizeof(u));
}

SYS(sysinfo)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return -errno;
	return mm_write(t_mm(t), a[0], &si, sizeof(si));
}

SYS(getrandom)
{
	void *buf = mm_ptr(t_mm(t), a[0], a[1], PROT_WRITE);
	if (!buf)
		return -EFAULT;
	return host_ret(getrandom(buf, a[1], (unsigned)a[2]));
}

SYS(getcpu)
{
	unsigned cpu, node;
	if (syscall(SYS_getcpu, &cpu, &node, NULL) < 0)
		return -errno;
	if ((a[0] && mm_write(t_mm(t), a[0], &cpu, 4)) || (a[1] && mm_write(t_mm(t), a[1], &node, 4)))
		return -EFAULT;
	return 0;
}

/* ---- scheduling ---- */

SYS(sched_yield)
{
	return host_ret(sched_yield());
}

SYS(sched_getaffinity)
{
	void *mask = mm_ptr(t_mm(t), a[2], a[1], PROT_WRITE);
	if (!mask)
		return -EFAULT;
	return host_ret(syscall(SYS_sched_getaffinity, (pid_t)a[0], (size_t)a[1], mask));
}

SYS(sched_setaffinity)
{
	const void *mask = mm_ptr(t_mm(t), a[2], a[1], PROT_READ);
	if (!mask)
		return -EFAULT;
	return host_ret(syscall(SYS_sched_setaffinity, (pid_t)a[0], (size_t)a[1], mask));
}

SYS(sched_getscheduler)
{
	return host_ret(sched_getscheduler((pid_t)a[0]));
}

SYS(sched_setscheduler)
{
	const void *param = mm_ptr(t_mm(t), a[2], 4, PROT_READ);
	if (!param)
		return -EFAULT;
	return host_ret(syscall(SYS_sched_setscheduler, (pid_t)a[0], (int)a[1], param));
}

SYS(sched_getparam)
{
	void *param = mm_ptr(t_mm(t), a[1], 4, PROT_WRITE);
	if (!param)
		return -EFAULT;
	return host_ret(syscall(SYS_sched_getparam, (pid_t)a[0], param));
}

SYS(sched_setparam)
{
	const void *param = mm_ptr(t_mm(t), a[1], 4, PROT_READ);
	if (!param)
		return -EFAULT;
	return host_ret(syscall(SYS_sched_setparam, (pid_t)a[0], param));
}

SYS(sched_get_priority_max)
{
	return host_ret(sched_get_priority_max((int)a[0]));
}

SYS(sched_get_priority_min)
{
	return host_ret(sched_get_priority_min((int)a[0]));
}

SYS(sched_rr_get_interval)
{
	struct timespec ts;
	if (sched_rr_get_interval((pid_t)a[0], &ts) < 0)
		return -errno;
	return mm_write(t_mm(t), a[1], &ts, sizeof(ts));
}

SYS(getpriority)
{
	return host_ret(syscall(SYS_getpriority, (int)a[0], (id_t)a[1]));
}

SYS(setpriority)
{
	return host_ret(syscall(SYS_setpriority, (int)a[0], (id_t)a[1], (int)a[2]));
}
