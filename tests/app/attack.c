/* Attacks on condo's app mode from a hostile guest, one per subcommand; each
 * prints PASS when condo held.  The runner (run.sh) sets up what an attack
 * needs: an outside directory or file on fd 3, a relative program path.
 *
 *   memfd      a second thread scans for condo's code buffer while threads start
 *   linkrace   dup2(outside dir) races the parent fd of link/symlink/rename
 *   mknod      device nodes are refused, FIFOs and files are not
 *   linkempty  linkat(AT_EMPTY_PATH) of an inherited outside file
 *   fakefault  a self-sent SIGSEGV reaches the guest's handler
 *   rtqueue    5000 queued real-time signals all arrive
 *   linux      small Linux behaviours (EFAULT, EOVERFLOW)
 *   envexec    execs envwait with a secret in its environment, which waits
 *              on stdin while the runner looks for the secret in ps
 *   selfexec   execve("/proc/self/exe") runs this program again
 *   procmem    with the host's /proc in the root, condo's memory stays shut
 *   tidalign   a thread's clear_child_tid at an odd address is cleared, no more
 *   sigalign   rt_sigreturn from a frame at an sp that is not 16-aligned
 *              (condo must copy it, not address its members: UBSan) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "t.h"

static atomic_int stop;

/* ---- 1: condo's translated-code buffer must never be a guest fd ---- */

static atomic_int caught;

static void *scan_fds(void *arg)
{
	(void)arg;
	while (!stop) {
		for (int fd = 3; fd < 12; fd++) {
			int nfd = dup(fd);
			if (nfd < 0)
				continue;
			struct stat st;
			/* condo's buffer: a sealable memfd of --jit-cache bytes */
			if (fcntl(nfd, F_GET_SEALS) >= 0 && fstat(nfd, &st) == 0 &&
			    st.st_size == (3 << 20))
				caught++;
			close(nfd);
		}
	}
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

static int attack_memfd(void)
{
	pthread_t scanner;
	CHECK(pthread_create(&scanner, NULL, scan_fds, NULL) == 0);
	for (int i = 0; i < 3000 && !caught; i++) {
		pthread_t th;
		if (pthread_create(&th, NULL, nothing, NULL) == 0)
			pthread_join(th, NULL);
	}
	stop = 1;
	pthread_join(scanner, NULL);
	CHECK(caught == 0);
	return t_done();
}

/* ---- 2: short-lived parent fds must not be swapped under condo ---- */

static void *swap_fds(void *arg)
{
	(void)arg;
	/* 4: the lowest free number, where condo's parent fd lands; most of
	 * the time it is the outside directory (3), now and then free. */
	while (!stop) {
		close(4);
		for (int i = 0; i < 8; i++)
			dup2(3, 4);
	}
	return NULL;
}

static int attack_linkrace(void)
{
	static char slow[4096];
	pthread_t swapper;

	/* link() opens the new name's parent first, then resolves the old
	 * name: 700 "d/.." steps keep that parent fd open long enough. */
	CHECK(mkdir("/scratch/race", 0755) == 0 && mkdir("/scratch/race/d", 0755) == 0);
	strcpy(slow, "/scratch/race/");
	for (int i = 0; i < 700; i++)
		strcat(slow, "d/../");
	strcat(slow, "../../etc/passwd");
	CHECK(pthread_create(&swapper, NULL, swap_fds, NULL) == 0);
	/* A link made outside is seen by the runner (the guest cannot look). */
	for (int i = 0; i < 4000; i++) {
		link(slow, "/scratch/race/stolen");
		unlink("/scratch/race/stolen");
	}
	stop = 1;
	pthread_join(swapper, NULL);
	return t_done();
}

/* ---- 3: only regular files, FIFOs and sockets may be made ---- */

static int attack_mknod(void)
{
	errno = 0;
	CHECK(mknod("/scratch/kmsg", S_IFCHR | 0600, makedev(1, 11)) < 0 && errno == EPERM);
	errno = 0;
	CHECK(mknod("/scratch/disk", S_IFBLK | 0600, makedev(8, 0)) < 0 && errno == EPERM);
	errno = 0;
	CHECK(mknodat(AT_FDCWD, "/scratch/null", S_IFCHR | 0666, makedev(1, 3)) < 0 &&
	      errno == EPERM);
	CHECK(access("/scratch/kmsg", F_OK) < 0 && access("/scratch/disk", F_OK) < 0);
	CHECK(mknod("/scratch/fifo", S_IFIFO | 0600, 0) == 0);
	CHECK(mknod("/scratch/plain", S_IFREG | 0600, 0) == 0);
	CHECK(mknod("/scratch/plain0", 0600, 0) == 0); /* type 0 is a regular file */
	CHECK(mknod("/scratch/sock", S_IFSOCK | 0600, 0) == 0);
	errno = 0;
	CHECK(mknod("/scratch/bad", 0170000 | 0600, 0) < 0 && errno == EINVAL);
	unlink("/scratch/fifo");
	unlink("/scratch/plain");
	unlink("/scratch/plain0");
	unlink("/scratch/sock");
	return t_done();
}

/* ---- 5: an inherited outside file is not linked into the root ---- */

static int attack_linkempty(void)
{
	char buf[32] = { 0 };
	/* fd 3: the secret, opened outside the root by the caller */
	CHECK(read(3, buf, sizeof(buf) - 1) > 0 && strstr(buf, "HOST-SECRET"));
	errno = 0;
	CHECK(linkat(3, "", AT_FDCWD, "/scratch/stolen", AT_EMPTY_PATH) < 0);
	CHECK(access("/scratch/stolen", F_OK) < 0);
	/* a file made inside the root still can be */
	int fd = open("/scratch", O_TMPFILE | O_RDWR, 0600);
	if (fd >= 0) {
		CHECK(write(fd, "tmp", 3) == 3);
		CHECK(linkat(fd, "", AT_FDCWD, "/scratch/made", AT_EMPTY_PATH) == 0);
		CHECK(access("/scratch/made", F_OK) == 0);
		unlink("/scratch/made");
		close(fd);
	}
	int in = open("/etc/passwd", O_RDONLY);
	CHECK(in >= 0 && linkat(in, "", AT_FDCWD, "/scratch/pw", AT_EMPTY_PATH) == 0);
	unlink("/scratch/pw");
	return t_done();
}

/* ---- 7: a SIGSEGV the guest sends itself is an ordinary signal ---- */

static volatile sig_atomic_t segv_seen;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if ((sig == SIGSEGV || sig == SIGSYS) && si->si_value.sival_int == 4242)
		segv_seen++;
}

static int attack_fakefault(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	CHECK(sigaction(SIGSYS, &sa, NULL) == 0);
	/* SIGSYS with code 1 (SYS_SECCOMP) is what the jail's filter raises */
	int sigs[] = { SIGSEGV, SIGSEGV, SIGSEGV, SIGSEGV, SIGSYS };
	int codes[] = { SEGV_MAPERR, SEGV_ACCERR, SI_QUEUE, 0x80 /* SI_KERNEL */, 1 };
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		si.si_signo = sigs[i];
		si.si_code = codes[i];
		si.si_value.sival_int = 4242;
		si.si_pid = getpid();
		si.si_uid = getuid();
		segv_seen = 0;
		CHECK(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sigs[i], &si) == 0);
		CHECK(segv_seen == 1);
	}
	/* and the handlers are still installed */
	struct sigaction old;
	CHECK(sigaction(SIGSEGV, NULL, &old) == 0 && old.sa_sigaction == on_segv);
	CHECK(sigaction(SIGSYS, NULL, &old) == 0 && old.sa_sigaction == on_segv);
	return t_done();
}

/* ---- 8: real-time signals queue ---- */

static atomic_int rt_seen;

static void on_rt(int sig)
{
	(void)sig;
	rt_seen++;
}

static int attack_rtqueue(void)
{
	sigset_t set;
	struct rlimit rl;
	int sent = 0;

	signal(SIGRTMIN + 1, on_rt);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	for (int i = 0; i < 5000; i++) {
		union sigval v = { .sival_int = i };
		if (sigqueue(getpid(), SIGRTMIN + 1, v) == 0)
			sent++;
		else
			CHECK(errno == EAGAIN);
	}
	CHECK(getrlimit(RLIMIT_SIGPENDING, &rl) == 0);
	CHECK(sent == 5000 || (rlim_t)sent >= rl.rlim_cur - 64);
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
	CHECK(rt_seen == sent);
	/* standard signals still coalesce */
	rt_seen = 0;
	signal(SIGUSR1, on_rt);
	sigaddset(&set, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	for (int i = 0; i < 10; i++)
		kill(getpid(), SIGUSR1);
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
	CHECK(rt_seen == 1);
	/* over RLIMIT_SIGPENDING: EAGAIN, as Linux (the count is the user's,
	 * so other processes' pending signals may leave fewer than 8) */
	rl.rlim_cur = 8;
	CHECK(setrlimit(RLIMIT_SIGPENDING, &rl) == 0);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	sent = 0;
	for (int i = 0; i < 20; i++)
		if (sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ 0 }) == 0)
			sent++;
	CHECK(sent <= 8);
	rt_seen = 0;
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
	CHECK(rt_seen == sent);
	return t_done();
}

/* ---- 9: Linux's answers to odd arguments ---- */

static int attack_linux(void)
{
	/* uname into a page past the end of a shared file mapping: EFAULT */
	int fd = open("/scratch/short", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 8192) == 0);
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK(ftruncate(fd, 100) == 0);
	errno = 0;
	CHECK(syscall(SYS_uname, (struct utsname *)(p + 4096)) < 0 && errno == EFAULT);
	munmap(p, 8192);

	/* riscv64's mmap shifts the signed offset: page offset ~0 overflows (do_mmap) */
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, -4096) == MAP_FAILED &&
	      errno == EOVERFLOW);
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, -8192) == MAP_FAILED &&
	      errno == EOVERFLOW);
	close(fd);
	unlink("/scratch/short");

	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Linux rounds the length up first: -1 becomes 0, and 0 succeeds */
	CHECK(msync(p, (size_t)-1, MS_SYNC) == 0);
	errno = 0;
	CHECK(msync(p, (size_t)-8192, MS_SYNC) < 0 && errno == ENOMEM);

	errno = 0;
	CHECK(syscall(SYS_getrlimit, RLIMIT_NOFILE, NULL) < 0 && errno == EFAULT);
	errno = 0;
	CHECK(syscall(SYS_setrlimit, RLIMIT_NOFILE, NULL) < 0 && errno == EFAULT);
	errno = 0;
	CHECK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, (void *)16, NULL) < 0 && errno == EFAULT);
	return t_done();
}

/* ---- condo's memory through /proc (run with --root /) ---- */

static int attack_procmem(void)
{
	char path[64];
	errno = 0;
	CHECK(open("/proc/self/mem", O_RDWR) < 0 && errno == EACCES);
	errno = 0;
	CHECK(open("/proc/self/mem", O_RDONLY) < 0 && errno == EACCES);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/mem", getpid(), gettid());
	errno = 0;
	CHECK(open(path, O_RDONLY) < 0 && errno == EACCES);
	int dir = open("/proc/self", O_PATH | O_DIRECTORY);
	CHECK(dir >= 0);
	errno = 0;
	CHECK(openat(dir, "mem", O_RDWR) < 0 && errno == EACCES);
	/* the rest of /proc opens as before */
	int st = open("/proc/self/status", O_RDONLY);
	CHECK(st >= 0);
	close(st);
	close(dir);
	return t_done();
}

/* ---- a misaligned CLONE_CHILD_CLEARTID word ---- */

static unsigned char tid_bytes[16] __attribute__((aligned(8)));

static void *odd_tid_thread(void *arg)
{
	(void)arg;
	/* From now on this thread's exit clears tid_bytes[1..4], not glibc's word. */
	syscall(SYS_set_tid_address, tid_bytes + 1);
	return NULL;
}

static int attack_tidalign(void)
{
	pthread_t th;
	pthread_attr_t attr;
	memset(tid_bytes, 0xff, sizeof(tid_bytes));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	CHECK(pthread_create(&th, &attr, odd_tid_thread, NULL) == 0);
	for (int i = 0; i < 20000 && tid_bytes[1]; i++)
		usleep(500);
	CHECK(tid_bytes[0] == 0xff && tid_bytes[1] == 0 && tid_bytes[2] == 0 && tid_bytes[3] == 0 &&
	      tid_bytes[4] == 0 && tid_bytes[5] == 0xff);
	return t_done();
}

/* ---- 9: a signal frame at a misaligned sp ---- */

#define FRAME_BYTES (128 + 960) /* siginfo + the riscv64 ucontext */
static char frame_copy[FRAME_BYTES + 64] __attribute__((aligned(16)));
static volatile int sigalign_hits;

static void on_usr1_copy(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sigalign_hits++;
	/* The same frame, 8 bytes off alignment: returns where the signal hit. */
	char *moved = frame_copy + 8;
	memcpy(moved, si, FRAME_BYTES);
	__asm__ volatile("mv sp, %0\n\tli a7, 139\n\tecall" : : "r"(moved) : "memory");
	__builtin_unreachable();
}

static int attack_sigalign(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1_copy, .sa_flags = SA_SIGINFO };
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	volatile int after = 0;
	raise(SIGUSR1);
	after = 1;
	CHECK(sigalign_hits == 1 && after == 1);
	return t_done();
}

/* ---- 4 and 6: execve ---- */

static int attack_envexec(void)
{
	char *args[] = { "attack", "envwait", NULL };
	char *env[] = { "CONDO_TEST_SECRET=hunter2-in-env", NULL };
	execve("/proc/self/exe", args, env);
	printf("FAIL execve: %s\n", strerror(errno));
	return 1;
}

static int attack_envwait(void)
{
	char c;
	const char *v = getenv("CONDO_TEST_SECRET");
	CHECK(v && !strcmp(v, "hunter2-in-env"));
	printf("ready\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return t_done();
}

static int attack_selfexec(int argc)
{
	if (argc > 2) {
		printf("PASS: exec'ed again\n");
		return 0;
	}
	char *args[] = { "attack", "selfexec", "again", NULL };
	execve("/proc/self/exe", args, (char *[]){ NULL });
	printf("FAIL execve /proc/self/exe: %s\n", strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	if (!strcmp(what, "envexec"))
		return attack_envexec();
	if (!strcmp(what, "envwait"))
		return attack_envwait();
	if (!strcmp(what, "selfexec"))
		return attack_selfexec(argc);
	if (!strcmp(what, "tidalign"))
		return attack_tidalign();
	if (!strcmp(what, "procmem"))
		return attack_procmem();
	if (!strcmp(what, "sigalign"))
		return attack_sigalign();
	if (!strcmp(what, "memfd"))
		return attack_memfd();
	if (!strcmp(what, "linkrace"))
		return attack_linkrace();
	if (!strcmp(what, "mknod"))
		return attack_mknod();
	if (!strcmp(what, "linkempty"))
		return attack_linkempty();
	if (!strcmp(what, "fakefault"))
		return attack_fakefault();
	if (!strcmp(what, "rtqueue"))
		return attack_rtqueue();
	if (!strcmp(what, "linux"))
		return attack_linux();
	printf("usage: attack memfd|linkrace|mknod|linkempty|fakefault|rtqueue|linux\n");
	return 2;
}
