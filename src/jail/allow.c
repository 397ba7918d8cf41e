/* The allow-lists: every host system call condo makes, by thread kind.
 * Anything not here ends the process with a report (filter.c).  Derived
 * from the code (src/app/syscalls.h, src/machine, src/jit) and from strace
 * of the test suites (tests/app, tests/programs, tests/guest); keep it in
 * step with new host calls (docs/security.md says how to find them).
 *
 * condo run: the main thread's filter (JAIL_VMM) is installed before it
 * starts the event-loop, hart and block I/O threads, which inherit it and
 * then add their own; filters stack and the strictest answer wins, so a
 * call a hart needs is in both VMM and HART ("VM" below: all four).
 * condo app: one kind (every thread serves the guest's system calls), also
 * inherited across fork and across condo's own re-exec on a guest execve. */
#define _GNU_SOURCE
#include "jail/jail_internal.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>

/* The lists read best packed, as tables. */
/* clang-format off */
#define VMM  (1u << JAIL_VMM)
#define IO   (1u << JAIL_VM_IO)
#define HART (1u << JAIL_VM_HART)
#define APP  (1u << JAIL_APP)
#define BLK  (1u << JAIL_VM_BLK)
#define NET  (1u << JAIL_VM_NET)
#define VM   (VMM | IO | HART | BLK | NET)
#define ALL  (VM | APP)

/* Memory, locks, time, thread start and end: what glibc and condo's own
 * runtime do on every thread.  mprotect is in the argument rules. */
static const char *const runtime[] = {
	"mmap", "munmap", "madvise", "mremap", "brk", "futex", "clock_gettime", "clock_getres",
	"clock_nanosleep", "nanosleep", "gettimeofday", "sched_yield", "gettid", "getpid",
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall", "set_robust_list", "rseq",
	"exit", "exit_group", "getrandom", "write", "writev", "close", "fstat", "newfstatat",
	"sched_getaffinity", NULL,
};

/* Translated code (src/jit/codebuf.c): a memfd with two views, made at a
 * hart's start and again after a fork in app mode. */
static const char *const jit_code[] = {
	"memfd_create", "ftruncate", NULL,
};

/* condo run's main thread: the board is built again on a guest reboot
 * (from the descriptors opened before the lockdown, never by path), the
 * console is set up, threads are started and their filters loaded. */
static const char *const vmm_board[] = {
	"epoll_create1", "eventfd2", "epoll_ctl", "seccomp", "read", "lseek", "dup", "fcntl", NULL,
};

/* condo run, any thread: the console's SIGTERM/SIGHUP/SIGQUIT handler
 * restores the terminal and dies by the signal on whichever thread it
 * lands (src/machine/console.c); the main thread installs it. */
static const char *const vm_signals[] = {
	"rt_sigaction", NULL,
};

/* condo run, any thread: glibc changes page protections for its own
 * arenas and stacks.  A lockstep boot was once stopped here for an
 * mprotect not yet traced to its caller, so VMs allow the call; app mode
 * keeps the rule against new executable memory (jail_conds). */
static const char *const vm_mem[] = {
	"mprotect", NULL,
};

/* condo run's event loop: console input and the virtio console back end;
 * the main thread wakes it through an eventfd. */
static const char *const vm_io[] = {
	"epoll_wait", "epoll_pwait", "read", "poll", "ppoll", NULL,
};

/* condo run --meter and --cpu-limit-file: the event loop rewrites the
 * meter file and reads the limit once a second, the main thread writes
 * the meter at the end of each boot (src/machine/meter.c). */
static const char *const vm_meter[] = {
	"pwrite64", "pread64", NULL,
};

/* condo run --control: the event loop accepts the client, reads its
 * requests and the descriptors sent with them, and watches it
 * (src/machine/control.c); the main thread writes snapshots and
 * migration streams into those descriptors and makes sure a snapshot's
 * files are on disk (src/machine/snapshot.c, migrate.c). */
static const char *const vm_control[] = {
	"accept4", "recvmsg", "epoll_ctl", "sendmsg", "sendto", "fsync", "fdatasync", NULL,
};

/* condo run's harts: the UART and the virtio console writing to stdout,
 * timers sleeping.  A hart only queues disk requests (it writes the
 * engine's eventfd), so it makes no disk I/O call. */
static const char *const vm_hart[] = {
	"read", "poll", "ppoll", NULL,
};

/* condo run, the threads that do disk I/O (the block I/O threads) or
 * close the disks (the main thread): an NBD disk's socket, connected
 * before the jail (src/block/nbd.c through libnbd: send with
 * MSG_NOSIGNAL, recv, poll; shutdown at close). */
static const char *const vm_nbd[] = {
	"sendto", "recvfrom", "sendmsg", "recvmsg", "poll", "ppoll", "shutdown", NULL,
};

/* condo run's block I/O threads (src/block/aio*.c): a disk's requests.
 * Vectored transfers, qcow2's metadata reads and writes, fdatasync,
 * discard punching holes in a raw file, and io_uring_enter to submit to
 * and wait on the disk's ring.  The ring was set up and restricted before
 * the lockdown, so io_uring_setup and io_uring_register are allowed
 * nowhere; what the ring does is not seen by seccomp (docs/security.md). */
static const char *const vm_blk[] = {
	"pread64", "pwrite64", "preadv", "pwritev", "fdatasync", "fallocate", "io_uring_enter",
	NULL,
};

/* condo run's NIC threads (src/net): the back end's frames on a switch
 * port's socket or a tap (opened before the jail), the eventfd the harts
 * kick, poll.  The main thread closes them at the end. */
static const char *const vm_net[] = {
	"poll", "ppoll", "read", "recvfrom", "recvmsg", "sendto", "sendmsg", NULL,
};

/* --net user: libslirp makes a host socket for each connection and UDP
 * flow the guest opens (socket() is in the argument rules: IPv4 and IPv6
 * only), and accepts on the hostfwd sockets made before the jail. */
static const char *const vm_slirp[] = {
	"connect", "bind", "listen", "accept", "accept4", "setsockopt", "getsockopt",
	"getsockname", "getpeername", "shutdown", "fcntl", NULL,
};

/* condo app, files: the guest's file system calls, served inside its root
 * (src/app/sys_fs.c, path.c); the dynamic loader of a re-executed condo. */
static const char *const app_files[] = {
	"openat", "openat2", "read", "readv", "pread64", "preadv", "preadv2", "pwrite64", "pwritev",
	"pwritev2", "lseek", "dup", "dup3", "fcntl", "flock", "pipe2", "getdents64", "readlinkat",
	"readlink", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2", "truncate",
	"mkdirat", "unlinkat", "symlinkat", "linkat", "renameat2", "fchmod", "fchmodat", "chmod",
	"fchownat", "fchown", "utimensat", "umask", "getcwd", "chdir", "fchdir", "fsync", "fdatasync",
	"sync", "syncfs", "sync_file_range", "fallocate", "fadvise64", "readahead", "sendfile",
	"splice", "tee", "copy_file_range", "close_range", "msync", "mincore", "mlock", "munlock",
	"mlockall", "munlockall", "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr",
	"fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	"fremovexattr", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", NULL,
};

/* condo app, waiting: poll, select, epoll, eventfd, timerfd, signalfd. */
static const char *const app_wait[] = {
	"ppoll", "poll", "pselect6", "select", "epoll_create1", "epoll_ctl", "epoll_pwait",
	"epoll_wait", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"signalfd4", NULL,
};

/* condo app, processes and signals: a guest fork is a host fork (clone is
 * in the argument rules), wait, signals mirrored onto the host, timers. */
static const char *const app_procs[] = {
	"wait4", "waitid", "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigpending",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack",
	"setitimer", "getitimer", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "set_tid_address", "arch_prctl", "get_robust_list",
	"getppid", "getpgid", "setpgid", "getsid", "setsid", "getpriority", "setpriority",
	"sched_setaffinity", "sched_getparam", "sched_setparam", "sched_getscheduler",
	"sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "getcpu", "prlimit64", "getrlimit", "setrlimit", "getrusage",
	"times", "sysinfo", "uname", NULL,
};

/* condo app, identity: the guest's ids are the host process's; without
 * capabilities a change to another id fails in the host kernel. */
static const char *const app_ids[] = {
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
	"setfsgid", "setgroups", "capget", "capset", NULL,
};

const struct jail_group jail_groups[] = {
	{ ALL, runtime },	{ VMM | IO | HART | APP, jit_code }, { VMM, vmm_board }, { VM, vm_signals },
	{ VM, vm_mem },		{ VMM | IO, vm_io },	{ VMM | IO, vm_meter }, { VMM | IO, vm_control },
	{ VMM | HART, vm_hart }, { VMM | BLK, vm_blk }, { VMM | BLK, vm_nbd },	{ VMM | NET, vm_net },
	{ VMM | NET, vm_slirp }, { APP, app_files },
	{ APP, app_wait },	{ APP, app_procs },	{ APP, app_ids },	{ 0, NULL },
};

/* Sanitizer runtimes (make SANITIZE=1) read /proc/self/{maps,cmdline}
 * (with open, not openat) when they start, as a re-executed condo does,
 * and when they report; they use an alternate signal stack and check
 * limits, on any thread.  LeakSanitizer's exit check (ptrace) does not run
 * inside the jail (filter.c). */
static const char *const sanitizer[] = {
	"open", "openat", "read", "readlink", "sigaltstack", "prlimit64", "getrlimit", "pipe2",
	"wait4", "rt_sigaction", "tgkill", "getppid", "lseek", "dup", "personality", "uname",
	"sched_getaffinity", NULL,
};

const struct jail_group jail_sanitizer_group = { ALL, sanitizer };

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | \
		  CLONE_NEWUTS | CLONE_NEWCGROUP)
#define U32 0xffffffffull

/* Calls allowed only with certain arguments; several rules for one call
 * allow it when any matches.  ioctl and prctl compare the low 32 bits,
 * as the kernel reads them (unsigned int / int). */
const struct jail_cond jail_conds[] = {
	/* No new executable memory after start: translated code lives in the
	 * codebuf's memfd views, mapped executable once by mmap. */
	{ "mprotect", APP, { { 2, PROT_EXEC, 0 } } },
	/* Threads only (harts, the event loop); app mode also forks, but never
	 * into new namespaces. */
	{ "clone", VMM | IO | HART | NET, { { 0, CLONE_THREAD, CLONE_THREAD } } },
	{ "clone", APP, { { 0, NS_FLAGS, 0 } } },
	/* The only exec: condo itself, opened at start (app mode's re-exec on
	 * a guest execve, src/app/exec.c). */
	{ "execveat", APP, { { 0, U32, JAIL_EXE_FD }, { 4, U32, AT_EMPTY_PATH } } },
	/* Files, FIFOs and sockets; never a device node. */
	{ "mknodat", APP, { { 2, S_IFMT, 0 } } },
	{ "mknodat", APP, { { 2, S_IFMT, S_IFREG } } },
	{ "mknodat", APP, { { 2, S_IFMT, S_IFIFO } } },
	{ "mknodat", APP, { { 2, S_IFMT, S_IFSOCK } } },
	/* The console: terminal modes and size on stdin/stdout (restored by
	 * the signal handler on any thread). */
	{ "ioctl", VM, { { 1, U32, TCGETS } } },
	{ "ioctl", VM, { { 1, U32, TCSETS } } },
	{ "ioctl", VMM | IO, { { 1, U32, TCSETSW } } },
	{ "ioctl", VMM | IO, { { 1, U32, TIOCGWINSZ } } },
	{ "ioctl", VM, { { 1, U32, FIONBIO } } },
	{ "ioctl", VMM, { { 1, U32, BLKGETSIZE64 } } },
	/* a lazy restore (src/snapshot/lazy.c): the main thread registers
	 * guest RAM with the userfaultfd made before the jail, the page
	 * server (an event-loop kind) fills it */
	{ "ioctl", VMM, { { 1, U32, UFFDIO_REGISTER } } },
	{ "ioctl", VMM | IO, { { 1, U32, UFFDIO_COPY } } },
	{ "ioctl", VMM | IO, { { 1, U32, UFFDIO_ZEROPAGE } } },
	/* libslirp: how much a socket holds (urgent data, soread) */
	{ "ioctl", VMM | NET, { { 1, U32, FIONREAD } } },
	/* libslirp's sockets (--net user): the Internet families only, never
	 * a Unix, netlink or packet socket. */
	{ "socket", VMM | NET, { { 0, U32, AF_INET } } },
	{ "socket", VMM | NET, { { 0, U32, AF_INET6 } } },
	/* App mode's terminal requests (the table in src/app/sys_fs.c);
	 * never TIOCSTI, which would type into the host's terminal. */
	{ "ioctl", APP, { { 1, U32, TCGETS } } },
	{ "ioctl", APP, { { 1, U32, TCSETS } } },
	{ "ioctl", APP, { { 1, U32, TCSETSW } } },
	{ "ioctl", APP, { { 1, U32, TCSETSF } } },
	{ "ioctl", APP, { { 1, U32, 0x802c542a } } }, /* TCGETS2 */
	{ "ioctl", APP, { { 1, U32, 0x402c542b } } }, /* TCSETS2 */
	{ "ioctl", APP, { { 1, U32, 0x402c542c } } }, /* TCSETSW2 */
	{ "ioctl", APP, { { 1, U32, 0x402c542d } } }, /* TCSETSF2 */
	{ "ioctl", APP, { { 1, U32, TIOCGWINSZ } } },
	{ "ioctl", APP, { { 1, U32, TIOCSWINSZ } } },
	{ "ioctl", APP, { { 1, U32, TIOCGPGRP } } },
	{ "ioctl", APP, { { 1, U32, TIOCSPGRP } } },
	{ "ioctl", APP, { { 1, U32, TIOCGSID } } },
	{ "ioctl", APP, { { 1, U32, FIONREAD } } },
	{ "ioctl", APP, { { 1, U32, TIOCOUTQ } } },
	{ "ioctl", APP, { { 1, U32, FIONBIO } } },
	{ "ioctl", APP, { { 1, U32, FIOASYNC } } },
	{ "ioctl", APP, { { 1, U32, TIOCGETD } } },
	{ "ioctl", APP, { { 1, U32, TIOCSETD } } },
	{ "ioctl", APP, { { 1, U32, TIOCGPTN } } },
	{ "ioctl", APP, { { 1, U32, TIOCSPTLCK } } },
	{ "ioctl", APP, { { 1, U32, TIOCGLCKTRMIOS } } },
	{ "ioctl", APP, { { 1, U32, TCSBRK } } },
	{ "ioctl", APP, { { 1, U32, TCXONC } } },
	{ "ioctl", APP, { { 1, U32, TCFLSH } } },
	{ "ioctl", APP, { { 1, U32, TIOCSCTTY } } },
	{ "ioctl", APP, { { 1, U32, TIOCNOTTY } } },
	{ "ioctl", APP, { { 1, U32, TIOCEXCL } } },
	{ "ioctl", APP, { { 1, U32, TIOCNXCL } } },
	{ "ioctl", APP, { { 1, U32, FIOCLEX } } },
	{ "ioctl", APP, { { 1, U32, FIONCLEX } } },
	{ "ioctl", APP, { { 1, U32, TCSBRKP } } },
	{ "ioctl", APP, { { 1, U32, TIOCSBRK } } },
	{ "ioctl", APP, { { 1, U32, TIOCCBRK } } },
	{ "ioctl", APP, { { 1, U32, TIOCMGET } } },
	{ "ioctl", APP, { { 1, U32, TIOCMSET } } },
	{ "ioctl", APP, { { 1, U32, FS_IOC_GETFLAGS } } },
	{ "ioctl", APP, { { 1, U32, BLKGETSIZE64 } } },
	/* jail_thread sets no_new_privs again when a thread installs its filter. */
	{ "prctl", VMM, { { 0, U32, PR_SET_NO_NEW_PRIVS } } },
	/* The prctl options app mode serves (src/app/sys_proc.c), and the
	 * re-executed condo asking whether it is jailed already. */
	{ "prctl", APP, { { 0, U32, PR_SET_NAME } } },
	{ "prctl", APP, { { 0, U32, PR_GET_NAME } } },
	{ "prctl", APP, { { 0, U32, PR_GET_PDEATHSIG } } },
	{ "prctl", APP, { { 0, U32, PR_SET_PDEATHSIG } } },
	{ "prctl", APP, { { 0, U32, PR_GET_DUMPABLE } } },
	{ "prctl", APP, { { 0, U32, PR_SET_DUMPABLE } } },
	{ "prctl", APP, { { 0, U32, PR_GET_KEEPCAPS } } },
	{ "prctl", APP, { { 0, U32, PR_SET_KEEPCAPS } } },
	{ "prctl", APP, { { 0, U32, PR_SET_NO_NEW_PRIVS } } },
	{ "prctl", APP, { { 0, U32, PR_GET_NO_NEW_PRIVS } } },
	{ "prctl", APP, { { 0, U32, PR_SET_CHILD_SUBREAPER } } },
	{ "prctl", APP, { { 0, U32, PR_CAPBSET_READ } } },
	{ "prctl", APP, { { 0, U32, PR_GET_SECCOMP } } },
	/* condo run signals only itself (the console's restore-and-die). */
	{ "tgkill", VM, { { 0, U32, JAIL_COND_SELF } } },
	{ "kill", VM, { { 0, U32, JAIL_COND_SELF } } },
	{ NULL, 0, { { 0 } } },
};
/* clang-format on */
