/* The seccomp-bpf filters, one per thread kind, and the report of a
 * violation.  Each kind's program is generated from the allow-lists
 * (allow.c) by libseccomp when condo is built (rules.c, gen/gen_filters.c)
 * and built into the binary: a condo only puts its own pid into the
 * comparisons that need it and installs them, which saves every start a
 * millisecond of libseccomp work.  A call outside the allow-list traps
 * (SCMP_ACT_TRAP): the kernel does not run it and sends SIGSYS to the
 * thread, whose handler writes one line naming the call and the thread kind
 * and ends the whole process with status 159 (128 + SIGSYS).  TRAP rather
 * than KILL_PROCESS because the process itself can then say which call it
 * was, with no supervising parent; the call is refused either way, and
 * whatever the handler does cannot undo that.  If SIGSYS is blocked or
 * ignored when it comes, the kernel kills the process by SIGSYS (status 159
 * in a shell), without the line. */
#define _GNU_SOURCE
#include "jail/jail_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The SIGSYS handler has no context argument: the thread's kind. */
static __thread int thread_kind = -1;

#if JAIL_SANITIZED
/* LeakSanitizer's check at exit stops the threads with ptrace, which every
 * filter forbids: inside the jail it is off (run with --no-jail to check
 * for leaks).  The sanitizer runtime calls this hook. */
static bool jailed;

int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return jailed || jail_inherited();
}
#endif

static const char *const kind_names[JAIL_NKINDS] = {
    [JAIL_VMM] = "main",
    [JAIL_VM_IO] = "event-loop",
    [JAIL_VM_HART] = "hart",
    [JAIL_APP] = "app",
    [JAIL_VM_BLK] = "block-io",
    [JAIL_VM_NET] = "net-io",
};

const char *jail_kind_name(enum jail_kind kind)
{
	return kind >= 0 && kind < JAIL_NKINDS ? kind_names[kind] : "unknown";
}

static size_t put(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at + 1 < size)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t size, unsigned long v)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 23);
	while (n && at + 1 < size)
		buf[at++] = digits[--n];
	return at;
}

/* Async-signal-safe: no stdio, no malloc; one write, then exit_group. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[200];
	size_t n = 0;
	int nr = si->si_syscall;
	const char *name =
	    nr >= 0 && nr < JAIL_NAMES && jail_call_names[nr] ? jail_call_names[nr] : "?";

	(void)sig;
	(void)uc;
	n = put(line, n, sizeof(line), "condo: jail: forbidden system call ");
	n = put(line, n, sizeof(line), name);
	n = put(line, n, sizeof(line), " (");
	n = put_num(line, n, sizeof(line), (unsigned long)nr);
	n = put(line, n, sizeof(line), ") in a ");
	n = put(line, n, sizeof(line), thread_kind >= 0 ? kind_names[thread_kind] : "condo");
	n = put(line, n, sizeof(line), " thread; stopped (--no-jail to debug)\n");
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing more to do */
	}
	syscall(SYS_exit_group, JAIL_EXIT_SYSCALL);
}

void jail_on_sigsys(int sig, siginfo_t *si, void *uc)
{
	on_sigsys(sig, si, uc);
}

int jail_prog_for(enum jail_kind kind, uint32_t self, struct sock_filter **prog,
		  unsigned short *len)
{
	const struct jail_prog *p = &jail_progs[kind];
	size_t size = p->len * sizeof(**prog);

	if (!p->len || !(*prog = malloc(size)))
		return -ENOMEM;
	memcpy(*prog, p->insns, size);
	for (unsigned i = 0; i < p->nself; i++)
		(*prog)[p->self_at[i]].k = self;
	*len = p->len;
	return 0;
}

int jail_filters_prepare(struct jail *j)
{
	struct sigaction sa;
	uint32_t self = (uint32_t)getpid();

	for (int k = 0; k < JAIL_NKINDS; k++) {
		if (!(j->cfg.kinds & (1u << k)))
			continue;
		struct sock_filter *prog;
		int err = jail_prog_for((enum jail_kind)k, self, &prog, &j->filter_len[k]);
		if (err) {
			log_err("jail", "cannot prepare the %s threads' seccomp filter: %s",
				kind_names[k], strerror(-err));
			return err;
		}
		j->filter[k] = prog;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
#if JAIL_SANITIZED
	jailed = true;
#endif
	return 0;
}

int jail_thread(struct jail *j, enum jail_kind kind)
{
	struct sock_fprog prog;

	if (!j || !j->active || j->inherited)
		return 0;
	if (!j->filter[kind]) {
		log_err("jail", "no seccomp filter prepared for %s threads", kind_names[kind]);
		return -EINVAL;
	}
	/* The calls libseccomp's seccomp_load made: no_new_privs (inherited
	 * from the lockdown already; a filter needs it without CAP_SYS_ADMIN),
	 * then the program, only read here, so threads may install theirs at
	 * once. */
	prog.len = j->filter_len[kind];
	prog.filter = j->filter[kind];
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		int err = -errno;
		log_err("jail", "cannot load the %s threads' seccomp filter: %s", kind_names[kind],
			strerror(errno));
		return err;
	}
	thread_kind = kind;
	return 0;
}
