/* libFuzzer harness: app mode's system-call layer (src/app/syscall.c
 * syscall_dispatch and the sys_*.c handlers behind it, the descriptor
 * table, path confinement and the guest address space): random calls with
 * random arguments from one guest thread, against a fresh guest process
 * for every input whose root is an empty directory.
 *
 * These are real host calls, so the harness is confined first:
 *  - it enters a mount namespace of its own (unprivileged: a user
 *    namespace too) where every mount is read-only except a small fresh
 *    tmpfs for the guest's root (on /tmp, or /mnt when libFuzzer writes
 *    below /tmp; a fresh one for every input), and the directories libFuzzer
 *    writes (the corpus and artifact directories on its command line, and
 *    FUZZ_WRITABLE, colon-separated).  Without namespaces it exits with
 *    status 77, which scripts/fuzz.sh counts as a skip;
 *  - calls that end, create or signal processes, or change the harness
 *    process itself (credentials, host resource limits, scheduling,
 *    signal dispositions and masks, timers that send signals, memory
 *    locking, sync of every disk) are never dispatched (denied[] below),
 *    nor are fcntl commands that have the kernel signal a process, host
 *    resource limits and signal masks for a wait (args_allowed);
 *  - a call that blocks (a read of an empty pipe, a futex wait) is
 *    interrupted after 5 ms by a real-time signal with a handler of the
 *    harness's own, as a signal would interrupt the guest's call.
 *
 * Guest memory: 64 KiB read-write at 0x10000 and a read-only page after it.
 * Input: operations until the input ends, each one byte (modulo the count)
 * and its operands, little-endian:
 *   CALL  number u8 (an index into the calls condo serves; 0xff: a raw u16),
 *         then a0..a5, each a kind u8 and a value: any u64, a pointer into
 *         guest memory (u16), a small number u8, minus a small number,
 *         AT_FDCWD, or a path (n u8 bytes, stored NUL-terminated in guest
 *         memory; its address is the argument)
 *   MEM   offset u16 into guest memory, n u8, n bytes */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "app/syscalls.h"
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MEM_BASE   0x10000ull
#define MEM_SIZE   0x10000ull
#define PATH_SLOTS 8 /* paths go to the last 8 x 256 bytes of guest memory */
#define WATCHDOG_NS (5 * 1000 * 1000)
#define EXIT_SKIP  77

enum op { OP_CALL, OP_MEM, OP_COUNT };

/* Never dispatched: see the comment at the top.  rt_sigreturn is here too
 * (it takes the registers from a frame the harness never built). */
static const uint16_t denied[] = {
	51 /* chroot: refused by condo anyway */, 81 /* sync */, 91 /* capset */,
	92 /* personality */, 93 /* exit */, 94 /* exit_group */, 103 /* setitimer */,
	107 /* timer_create */, 110 /* timer_settime */,
	111 /* timer_delete: guest timer ids are host ids, the watchdog's too */,
	118 /* sched_setparam */,
	119 /* sched_setscheduler */, 122 /* sched_setaffinity */, 129 /* kill */,
	130 /* tkill */, 131 /* tgkill */, 133 /* rt_sigsuspend */, 134 /* rt_sigaction */,
	135 /* rt_sigprocmask */, 137 /* rt_sigtimedwait */, 138 /* rt_sigqueueinfo */,
	139 /* rt_sigreturn */, 140 /* setpriority */, 143 /* setregid */, 144 /* setgid */,
	145 /* setreuid */, 146 /* setuid */, 147 /* setresuid */, 149 /* setresgid */,
	151 /* setfsuid */, 152 /* setfsgid */, 154 /* setpgid */, 157 /* setsid */,
	159 /* setgroups */, 167 /* prctl */, 220 /* clone */, 221 /* execve */,
	228 /* mlock */, 229 /* munlock */, 230 /* mlockall */, 231 /* munlockall */,
	240 /* rt_tgsigqueueinfo */, 267 /* syncfs */, 435 /* clone3 */,
};

/* The calls condo serves that may run: built from the table in syscalls.h. */
static uint16_t allowed[512];
static unsigned nallowed;
static int watchdog_sig;
static timer_t watchdog;
/* Where the tmpfs holding the guest's root is mounted, and the root. */
static const char *tmp_mount;
static char tmp_root[64];

static bool is_denied(uint64_t nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++)
		if (denied[i] == nr)
			return true;
	return false;
}

/* setrlimit and prlimit64 reach the host for all but the virtual limits
 * (sys_proc.c rlimit_virtual): only those are let through.  fcntl commands
 * that make the kernel signal a process (F_SETOWN and F_SETSIG with
 * O_ASYNC, a lease break, a directory notification) would signal the
 * harness: they are kept back too.  So are signal masks for the waits
 * that take one: they could block the watchdog's signal. */
static bool args_allowed(uint64_t nr, const uint64_t *a)
{
	int res;

	if (nr == 22) /* epoll_pwait(fd, events, max, timeout, sigmask, size) */
		return !a[4];
	if (nr == 72) /* pselect6(n, in, out, ex, timeout, sigmask) */
		return !a[5];
	if (nr == 73) /* ppoll(fds, n, timeout, sigmask, size) */
		return !a[3];
	if (nr == 25) /* fcntl(fd, cmd, arg) */
		return (int)a[1] != F_SETOWN && (int)a[1] != F_SETOWN_EX && (int)a[1] != F_SETSIG &&
		       (int)a[1] != F_SETLEASE && (int)a[1] != F_NOTIFY;
	if (nr == 164) /* setrlimit(res, ...) */
		res = (int)a[0];
	else if (nr == 261) /* prlimit64(pid, res, new, old) */
		res = a[2] ? (int)a[1] : RLIMIT_NOFILE;
	else
		return true;
	return res == RLIMIT_AS || res == RLIMIT_DATA || res == RLIMIT_STACK ||
	       res == RLIMIT_RSS || res == RLIMIT_MEMLOCK || res == RLIMIT_NOFILE;
}

#define ADD_ALLOWED(nr, name, fn, fmt, flags)                                             \
	if (!is_denied(nr) && nallowed < ARRAY_SIZE(allowed))                              \
		allowed[nallowed++] = nr;

static void build_allowed(void)
{
	APP_SYSCALLS(ADD_ALLOWED)
}

/* ---- confinement ---- */

static void skip(const char *what)
{
	fprintf(stderr, "SKIP: fuzz_syscall: cannot confine the harness: %s: %s\n", what,
		strerror(errno));
	exit(EXIT_SKIP);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		skip(path);
	close(fd);
}

static void enter_namespace(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];

	if (unshare(CLONE_NEWNS) == 0)
		return;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		skip("unshare");
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
}

static int set_mount_attr(const char *path, uint64_t set, uint64_t clr)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };

	return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr));
}

/* Directories libFuzzer writes: the corpus and artifact directories named
 * on its command line, and FUZZ_WRITABLE. */
static int writable_dirs(int argc, char **argv, char **dirs, int max)
{
	int n = 0;
	char *env = getenv("FUZZ_WRITABLE");

	for (int i = 1; i < argc && n < max; i++) {
		struct stat st;
		const char *arg = argv[i];

		if (!strncmp(arg, "-artifact_prefix=", 17)) {
			char *d = strdup(arg + 17), *slash = strrchr(d, '/');
			if (slash) {
				*slash = 0;
				dirs[n++] = d;
			} else {
				free(d);
			}
		} else if (arg[0] != '-' && stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
			dirs[n++] = strdup(arg);
		}
	}
	for (char *tok = env ? strtok(env, ":") : NULL; tok && n < max; tok = strtok(NULL, ":"))
		dirs[n++] = strdup(tok);
	return n;
}

static int mount_tmp(void)
{
	return mount("fuzz", tmp_mount, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0755");
}

static bool is_below(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	return !strncmp(path, dir, len) && (path[len] == '/' || !path[len]);
}

/* A mount point for the root's tmpfs that hides none of the directories
 * libFuzzer writes nor the inputs it is given. */
static const char *pick_tmp_mount(char **dirs, int n, int argc, char **argv)
{
	static const char *const candidates[] = { "/tmp", "/mnt", "/srv", "/media" };

	for (size_t c = 0; c < ARRAY_SIZE(candidates); c++) {
		bool hides = access(candidates[c], F_OK) != 0;
		for (int i = 0; i < n; i++)
			hides = hides || is_below(dirs[i], candidates[c]);
		for (int i = 1; i < argc; i++) {
			char *abs = argv[i][0] != '-' ? realpath(argv[i], NULL) : NULL;
			hides = hides || (abs && is_below(abs, candidates[c]));
			free(abs);
		}
		if (!hides)
			return candidates[c];
	}
	errno = ENOENT;
	skip("a place for the guest's tmpfs");
	return NULL;
}

static void confine(int argc, char **argv)
{
	static char *dirs[32]; /* kept for the process's life */
	int n = writable_dirs(argc, argv, dirs, 32);

	/* relative paths would not survive the guest's chdir */
	for (int i = 0; i < n; i++) {
		char *abs = realpath(dirs[i], NULL);
		if (abs) {
			free(dirs[i]);
			dirs[i] = abs;
		}
	}
	tmp_mount = pick_tmp_mount(dirs, n, argc, argv);
	snprintf(tmp_root, sizeof(tmp_root), "%s/root", tmp_mount);
	enter_namespace();
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		skip("making / private");
	for (int i = 0; i < n; i++)
		if (mount(dirs[i], dirs[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			skip(dirs[i]);
	if (mount_tmp() < 0)
		skip("a tmpfs for the guest's root");
	if (set_mount_attr("/", MOUNT_ATTR_RDONLY, 0) < 0)
		skip("making / read-only");
	for (int i = 0; i < n; i++)
		if (set_mount_attr(dirs[i], 0, MOUNT_ATTR_RDONLY) < 0)
			skip(dirs[i]);
	if (set_mount_attr(tmp_mount, 0, MOUNT_ATTR_RDONLY) < 0)
		skip(tmp_mount);
	/* a write outside the root must now fail: check rather than trust */
	if (mkdir("/fuzz-confinement-check", 0700) == 0 || errno != EROFS) {
		fprintf(stderr, "fuzz_syscall: / is still writable\n");
		exit(1);
	}
}

/* ---- the watchdog ---- */

static void on_watchdog(int sig)
{
}

static void watchdog_init(void)
{
	struct sigaction sa = { .sa_handler = on_watchdog }; /* no SA_RESTART: EINTR */
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID };

	watchdog_sig = SIGRTMIN + 3;
	sigaction(watchdog_sig, &sa, NULL);
	ev.sigev_signo = watchdog_sig;
	ev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &ev, &watchdog) < 0) {
		perror("timer_create");
		exit(1);
	}
}

static void watchdog_arm(bool on)
{
	/* repeating: a call that retries after EINTR is interrupted again */
	struct itimerspec its = { .it_value.tv_nsec = on ? WATCHDOG_NS : 0,
				  .it_interval.tv_nsec = on ? WATCHDOG_NS : 0 };

	timer_settime(watchdog, 0, &its, NULL);
}

/* ---- one guest process per input ---- */

static int hart_fill(struct hart *h, gva_t page, enum mem_access acc, uint8_t **host)
{
	return -1; /* the hart never runs code here */
}

static const struct hart_env_ops no_env = { .fill = hart_fill };

static struct app_proc *proc_new(void)
{
	struct app_proc *p = calloc(1, sizeof(*p));
	const char *why;

	if (!p || mkdir(tmp_root, 0755) < 0)
		abort();
	pthread_mutex_init(&p->lock, NULL);
	fdt_init(&p->fds);
	proc_init_rlimits(p);
	if (fs_init(&p->fs, tmp_root, &why) < 0 || mm_init(&p->mm, 0) < 0 ||
	    mm_map(&p->mm, MEM_BASE, MEM_SIZE, PROT_READ | PROT_WRITE, 0, -1, 0) < 0 ||
	    mm_map(&p->mm, MEM_BASE + MEM_SIZE, GUEST_PAGE_SIZE, PROT_READ, 0, -1, 0) < 0) {
		fprintf(stderr, "fuzz_syscall: cannot set up a guest process\n");
		abort();
	}
	p->name = "fuzz";
	return p;
}

/* Everything the input made goes: descriptors, memory, the root's files. */
static void proc_free(struct app_proc *p)
{
	fdt_destroy(&p->fds);
	mm_destroy(&p->mm);
	fs_destroy(&p->fs);
	pthread_mutex_destroy(&p->lock);
	free(p);
	if (chdir("/") < 0 || umount2(tmp_mount, MNT_DETACH) < 0 || mount_tmp() < 0) {
		perror("fuzz_syscall: a fresh tmpfs for the root");
		abort();
	}
}

static uint64_t arg_value(struct app_proc *p, struct fuzz_in *in, unsigned *path_slot)
{
	switch (fin_u8(in) % 6) {
	case 0: return fin_u64(in);
	case 1: return MEM_BASE + fin_u16(in);
	case 2: return fin_u8(in);
	case 3: return -(uint64_t)fin_u8(in);
	case 4: return (uint64_t)AT_FDCWD;
	default: {
		gva_t at = MEM_BASE + MEM_SIZE - 256 * (1 + *path_slot % PATH_SLOTS);
		size_t got;
		const uint8_t *s = fin_take(in, fin_u8(in), &got);
		char path[256];

		memcpy(path, s, got);
		path[got < 255 ? got : 255] = 0;
		mm_write(&p->mm, at, path, sizeof(path));
		++*path_slot;
		return at;
	}
	}
}

static void op_call(struct app_thread *t, struct fuzz_in *in, unsigned *path_slot)
{
	struct hart *h = t->hart;
	uint8_t pick = fin_u8(in);
	uint64_t nr = pick == 0xff ? fin_u16(in) : allowed[pick % nallowed];
	uint64_t a[6];

	for (int i = 0; i < 6; i++)
		a[i] = arg_value(t->proc, in, path_slot);
	if (is_denied(nr) || !args_allowed(nr, a))
		return;
	for (int i = 0; i < 6; i++)
		h->x[10 + i] = a[i];
	h->x[17] = nr;
	watchdog_arm(true);
	syscall_dispatch(t);
	watchdog_arm(false);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	build_allowed();
	confine(*argc, *argv);
	watchdog_init();
	signal(SIGPIPE, SIG_IGN); /* a write to a closed pipe is EPIPE, not the end */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct app_proc *p = proc_new();
	struct hart *h = hart_new(&no_env, NULL);
	struct app_thread *t = h ? thread_new(p, h) : NULL;
	unsigned path_slot = 0;

	if (!t)
		abort();
	t->tid = gettid();
	app_current = t;
	umask(022);
	while (fin_more(&in)) {
		switch (fin_u8(&in) % OP_COUNT) {
		case OP_CALL: op_call(t, &in, &path_slot); break;
		case OP_MEM: {
			uint16_t off = fin_u16(&in);
			size_t got;
			const uint8_t *src = fin_take(&in, fin_u8(&in), &got);
			mm_write(&p->mm, MEM_BASE + off, src, got < MEM_SIZE - off ? got : MEM_SIZE - off);
			break;
		}
		}
	}
	app_current = NULL;
	thread_free(t);
	proc_free(p);
	return 0;
}
