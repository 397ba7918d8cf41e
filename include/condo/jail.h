/* The jail: what a condo process gives up before it runs a guest, so that a
 * guest that takes over condo still holds nothing worth having.  Layers, in
 * the order they are entered (see docs/security.md):
 *   namespaces (user, mount, IPC, network; --jail-dir pivots into a tmpfs
 *   holding only the VM's files) -> cgroup v2 leaf -> resource limits ->
 *   uid/gid drop (--jail-user, or root mapped away in a user namespace) ->
 *   every capability dropped, bounding set too -> PR_SET_NO_NEW_PRIVS ->
 *   one seccomp-bpf allow-list per thread kind (jail_thread).
 * A low-level service: the machine and app layers call it, it calls no one. */
#ifndef CONDO_JAIL_H
#define CONDO_JAIL_H

#include "condo/types.h"

#include <signal.h>
#include <sys/types.h>

/* Exit status after a forbidden system call (128 + SIGSYS, as a shell
 * reports a process killed by SIGSYS). */
#define JAIL_EXIT_SYSCALL 159

/* The descriptor of condo's own executable, opened once at start: app mode
 * re-executes condo on a guest execve with execveat(JAIL_EXE_FD, "",
 * AT_EMPTY_PATH), the only exec the filters allow.  A fixed number so that a
 * re-executed condo, already jailed, finds it where the inherited filter
 * expects it; high, out of the range a guest's descriptors take. */
#define JAIL_EXE_FD 990

/* The kinds of thread, each with its own allow-list (src/jail/allow.c). */
enum jail_kind {
	JAIL_VMM,     /* condo run's main thread: builds (and rebuilds) the board */
	JAIL_VM_IO,   /* condo run's event loop: console input, virtio back ends */
	JAIL_VM_HART, /* condo run's hart threads: translated code, MMIO, SBI */
	JAIL_APP,     /* every thread of condo app: the host calls that serve the guest */
	JAIL_VM_BLK,  /* condo run's block I/O threads: a disk's requests (condo/block_aio.h) */
	JAIL_VM_NET,  /* condo run's NIC threads: a network back end's I/O (condo/net.h) */
	JAIL_NKINDS
};

struct jail_config {
	bool disabled;	   /* --no-jail: none of it (debugging) */
	unsigned kinds;	   /* bit per enum jail_kind whose filter jail_thread may load */
	const char *user;  /* --jail-user USER|UID[:GID] (when started as root) */
	const char *dir;   /* --jail-dir DIR (condo run): pivot into DIR */
	bool keep_net;	   /* keep the host's network (--net user: slirp opens host sockets) */
	bool self_exec;	   /* keep JAIL_EXE_FD open for condo's re-exec (app mode) */
	bool keep_uid;	   /* root without --jail-user stays uid 0, without capabilities
			    * (app mode: the program works on the caller's files) */
	uint64_t as_limit; /* RLIMIT_AS in bytes; 0: none */
	uint64_t nofile;   /* RLIMIT_NOFILE; 0: none */
	uint64_t nproc;	   /* RLIMIT_NPROC (threads and processes of the whole uid), set
			    * only under --jail-user; 0: none */
	uint64_t mem_max;  /* cgroup memory.max in bytes; 0: none */
	uint64_t pids_max; /* cgroup pids.max; 0: none */
};

#define JAIL_MAX_FILES 12

/* The state of one process's jail.  Plain data; the caller owns it. */
struct jail {
	struct jail_config cfg;
	bool active;	/* entered: lockdown done or inherited across execve */
	bool inherited; /* this process was started already jailed (app re-exec) */
	bool pivoted;	/* --jail-dir: the root is now the jail directory */
	int exe_fd;	/* JAIL_EXE_FD, or -1 */
	dev_t exe_dev;	/* what exe_fd was at start, checked before each exec */
	ino_t exe_ino;
	uid_t uid; /* the uid/gid to drop to (resolved from cfg.user) */
	gid_t gid;
	bool drop_user;	  /* --jail-user: become uid/gid */
	bool map_away;	  /* root without --jail-user: uid/gid, then root in a user namespace */
	int proc_fd;	  /* /proc/self, kept for the user namespace's maps after a pivot */
	char cgroup[256]; /* the leaf joined ("" if none); the next condo removes it */
	char files[JAIL_MAX_FILES][32]; /* paths inside the jail directory */
	int nfiles;
	char skipped[512];	   /* layers the host did not allow, for the report */
	/* Each kind's seccomp program (struct sock_filter[]), built once at
	 * lockdown: a thread only installs it. */
	void *filter[JAIL_NKINDS];
	unsigned short filter_len[JAIL_NKINDS]; /* its instructions */
};

/* Parse --jail-user: a user name, or UID[:GID].  0 or -EINVAL. */
int jail_parse_user(const char *spec, uid_t *uid, gid_t *gid);

/* First step: namespaces, the cgroup leaf, the jail directory.  paths are
 * the host files the guest needs (kernel, disks, ...); with --jail-dir each
 * is bound into the jail directory and paths[i] is replaced by its path
 * inside (owned by j).  Layers the host refuses are skipped and noted.
 * 0, or -errno after a one-line error. */
int jail_enter(struct jail *j, const struct jail_config *cfg, const char **paths, int npaths);

/* Second step, once the files are open: resource limits, uid/gid,
 * capabilities, no_new_privs.  After this the process can gain nothing. */
int jail_lockdown(struct jail *j);

/* Install the calling thread's seccomp filter.  Threads created afterwards
 * inherit it and may add their own (filters stack, the strictest wins).
 * 0, or -errno after a one-line error. */
int jail_thread(struct jail *j, enum jail_kind kind);

/* Was this process started inside a jail (a re-executed condo)? */
bool jail_inherited(void);

/* Before condo re-executes itself: is JAIL_EXE_FD still condo's own
 * executable?  0, or -EPERM. */
int jail_check_exe(const struct jail *j);

/* What the jail holds, for CONDO_LOG=info and the tests. */
void jail_report(const struct jail *j);

/* The SIGSYS handler that reports a forbidden call and ends the process,
 * for a caller that owns SIGSYS (app mode mirrors the guest's signals)
 * to chain to when si_code is SYS_SECCOMP. */
void jail_on_sigsys(int sig, siginfo_t *si, void *uc);

/* The name of the thread kind, for reports. */
const char *jail_kind_name(enum jail_kind kind);

#endif
