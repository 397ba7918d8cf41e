/* The seccomp-bpf filters (libseccomp), one per thread kind, and the report
 * of a violation.  A call outside the allow-list traps (SCMP_ACT_TRAP): the
 * kernel does not run it and sends SIGSYS to the thread, whose handler
 * writes one line naming the call and the thread kind and ends the whole
 * process with status 159 (128 + SIGSYS).  TRAP rather than KILL_PROCESS
 * because the process itself can then say which call it was, with no
 * supervising parent; the call is refused either way, and whatever the
 * handler does cannot undo that.  If SIGSYS is blocked or ignored when it
 * comes, the kernel kills the process by SIGSYS (status 159 in a shell),
 * without the line. */
#define _GNU_SOURCE
#include "jail/jail_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* x86-64 has about 460 calls; a little room for newer ones. */
#define NAMES 512

/* The SIGSYS handler has no context argument: these are written once,
 * before any filter is installed, and only read afterwards. */
static const char *call_names[NAMES];
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
	const char *name = nr >= 0 && nr < NAMES && call_names[nr] ? call_names[nr] : "?";

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

static int add_group(scmp_filter_ctx ctx, const struct jail_group *g, unsigned bit)
{
	if (!(g->kinds & bit))
		return 0;
	for (const char *const *name = g->names; *name; name++) {
		int nr = seccomp_syscall_resolve_name(*name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a call on this architecture */
		int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (err && err != -EEXIST)
			return err;
	}
	return 0;
}

static int add_cond(scmp_filter_ctx ctx, const struct jail_cond *c, pid_t self)
{
	struct scmp_arg_cmp cmp[2];
	unsigned n = 0;
	int nr = seccomp_syscall_resolve_name(c->name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	for (unsigned i = 0; i < 2 && c->cmp[i].mask; i++) {
		uint64_t value =
		    c->cmp[i].value == JAIL_COND_SELF ? (uint64_t)self : c->cmp[i].value;
		cmp[n++] = (struct scmp_arg_cmp){.arg = c->cmp[i].arg,
						 .op = SCMP_CMP_MASKED_EQ,
						 .datum_a = c->cmp[i].mask,
						 .datum_b = value};
	}
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

static scmp_filter_ctx build(enum jail_kind kind, pid_t self)
{
	unsigned bit = 1u << kind;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int err = 0;

	if (!ctx)
		return NULL;
	for (const struct jail_group *g = jail_groups; g->names && !err; g++)
		err = add_group(ctx, g, bit);
	if (!err && JAIL_SANITIZED)
		err = add_group(ctx, &jail_sanitizer_group, bit);
	for (const struct jail_cond *c = jail_conds; c->name && !err; c++)
		if (c->kinds & bit)
			err = add_cond(ctx, c, self);
	/* clone3 takes its flags in memory, out of a filter's sight: answer
	 * ENOSYS and glibc falls back to clone, whose flags are checked. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (err) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* Generate kind's program and keep it in j: libseccomp writes it to a
 * descriptor (seccomp_export_bpf), here a memfd read back at once.  Done
 * once per kind, before any filter holds: generating it in each thread, as
 * seccomp_load does, cost every hart thread a malloc arena and a fraction
 * of a millisecond before its first instruction. */
static int compile(struct jail *j, enum jail_kind kind, int fd, pid_t self)
{
	scmp_filter_ctx ctx = build(kind, self);
	off_t start = lseek(fd, 0, SEEK_CUR), end;
	struct sock_filter *prog = NULL;
	int err = -EINVAL;

	if (!ctx || start < 0)
		goto out;
	if ((err = seccomp_export_bpf(ctx, fd)))
		goto out;
	end = lseek(fd, 0, SEEK_CUR);
	err = -EINVAL;
	if (end <= start || (end - start) % sizeof(*prog) ||
	    (end - start) / sizeof(*prog) > BPF_MAXINSNS)
		goto out;
	prog = malloc((size_t)(end - start));
	if (!prog) {
		err = -ENOMEM;
		goto out;
	}
	if (pread(fd, prog, (size_t)(end - start), start) != end - start) {
		free(prog);
		goto out;
	}
	j->filter[kind] = prog;
	j->filter_len[kind] = (unsigned short)((end - start) / sizeof(*prog));
	err = 0;
out:
	if (ctx)
		seccomp_release(ctx);
	return err;
}

int jail_filters_prepare(struct jail *j)
{
	struct sigaction sa;
	pid_t self = getpid();
	int fd;

	/* Resolve every name now: the handler may not allocate. */
	for (int nr = 0; nr < NAMES; nr++)
		if (!call_names[nr]) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
			call_names[nr] = name; /* kept for the life of the process */
		}
	/* libseccomp probes the kernel's API on first use; do it unfiltered. */
	seccomp_api_get();
	fd = memfd_create("condo-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		log_err("jail", "cannot build the seccomp filters: memfd_create: %s",
			strerror(errno));
		return -errno;
	}
	for (int k = 0; k < JAIL_NKINDS; k++) {
		if (!(j->cfg.kinds & (1u << k)))
			continue;
		int err = compile(j, (enum jail_kind)k, fd, self);
		if (err) {
			close(fd);
			log_err("jail", "cannot build the %s threads' seccomp filter: %s",
				kind_names[k], strerror(-err));
			return err;
		}
	}
	close(fd);
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
	/* The calls seccomp_load makes: no_new_privs (already inherited from
	 * the lockdown; a filter needs it without CAP_SYS_ADMIN), then the
	 * program, read-only here, so threads may install it at once. */
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
