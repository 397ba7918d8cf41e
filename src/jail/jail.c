/* Entering the jail: the order of the layers (condo/jail.h) and the report
 * of what holds.  The steps are split in two so that the files a guest
 * needs are opened after the namespaces (inside --jail-dir) and before the
 * privileges go (a disk only root may write stays writable). */
#define _GNU_SOURCE
#include "jail/jail_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define NOBODY 65534 /* the overflow uid, when there is no "nobody" */

void jail_skip(struct jail *j, const char *what)
{
	size_t len = strlen(j->skipped);

	snprintf(j->skipped + len, sizeof(j->skipped) - len, "%s%s", len ? ", " : "", what);
}

bool jail_inherited(void)
{
	return prctl(PR_GET_SECCOMP) == 2; /* in filter mode */
}

/* The exe fd must survive every re-exec: the caller may have marked all
 * its inherited fds close-on-exec (app mode's exec state does). */
static int record_exe(struct jail *j)
{
	struct stat st;

	if (fstat(JAIL_EXE_FD, &st) < 0 || fcntl(JAIL_EXE_FD, F_SETFD, 0) < 0) {
		log_err("jail", "condo's own executable is not open at descriptor %d: %s",
			JAIL_EXE_FD, strerror(errno));
		return -errno;
	}
	j->exe_fd = JAIL_EXE_FD;
	j->exe_dev = st.st_dev;
	j->exe_ino = st.st_ino;
	return 0;
}

/* condo's own executable at JAIL_EXE_FD, inherited by the re-executed
 * condo (not close-on-exec). */
static int open_exe(struct jail *j)
{
	struct rlimit rl;
	int fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);

	/* The fixed number must be below the soft limit: raise it (up to the
	 * hard limit, as any process may) when it is lower. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= JAIL_EXE_FD &&
	    (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > JAIL_EXE_FD)) {
		rl.rlim_cur = JAIL_EXE_FD + 1;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (fd < 0 || dup3(fd, JAIL_EXE_FD, 0) < 0) {
		if (fd >= 0 && errno == EBADF)
			log_err("jail", "needs a descriptor limit above %d (ulimit -n)",
				JAIL_EXE_FD);
		else
			log_err("jail", "cannot open condo's own executable: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	return record_exe(j);
}

int jail_check_exe(const struct jail *j)
{
	struct stat st;

	if (j->exe_fd < 0 || fstat(j->exe_fd, &st) < 0 || st.st_dev != j->exe_dev ||
	    st.st_ino != j->exe_ino)
		return -EPERM;
	return 0;
}

static int resolve_user(struct jail *j)
{
	const struct jail_config *c = &j->cfg;

	if (c->user) {
		if (jail_parse_user(c->user, &j->uid, &j->gid) < 0) {
			log_err("jail", "--jail-user %s: no such user (USER or UID[:GID])",
				c->user);
			return -EINVAL;
		}
		if (geteuid() != 0 && j->uid != geteuid()) {
			log_err("jail",
				"--jail-user %s: only a condo started as root can become "
				"another user",
				c->user);
			return -EPERM;
		}
		j->drop_user = geteuid() == 0;
		return 0;
	}
	if (geteuid() != 0 || c->keep_uid)
		return 0;
	struct passwd *pw = getpwnam("nobody");
	j->uid = pw ? pw->pw_uid : NOBODY;
	j->gid = pw ? pw->pw_gid : NOBODY;
	j->map_away = true;
	return 0;
}

int jail_enter(struct jail *j, const struct jail_config *cfg, const char **paths, int npaths)
{
	int err;

	memset(j, 0, sizeof(*j));
	j->cfg = *cfg;
	j->exe_fd = j->proc_fd = -1;
	if (cfg->disabled)
		return 0;
	if (jail_inherited()) {
		/* A condo re-executed inside the jail keeps all of it. */
		j->active = j->inherited = true;
		return cfg->self_exec ? record_exe(j) : 0;
	}
	if ((err = resolve_user(j)))
		return err;
	j->proc_fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfg->self_exec && (err = open_exe(j)))
		return err;
	jail_cgroup(j);
	return jail_namespaces(j, paths, npaths);
}

int jail_lockdown(struct jail *j)
{
	int err;

	if (j->cfg.disabled || j->inherited)
		return 0;
	if ((err = jail_rlimits(j)))
		return err;
	if (j->drop_user) {
		/* The bounding set first: it needs CAP_SETPCAP, which the uid
		 * change takes away with the others. */
		if ((err = jail_drop_bounding(j)) || (err = jail_drop_user(j)))
			return err;
	} else if (j->map_away) {
		/* Become nobody, then root again only inside a user namespace of
		 * our own, which resets the capability sets: drop them after. */
		if ((err = jail_drop_user(j)))
			return err;
		err = jail_userns(j, j->proc_fd, 0, 0);
		if (err > 0)
			jail_skip(j, "user namespace (root dropped to nobody without one)");
		else if (err < 0)
			return err;
		if ((err = jail_drop_bounding(j)))
			return err;
	} else if ((err = jail_drop_bounding(j))) {
		return err;
	}
	if ((err = jail_clear_caps()))
		return err;
	if (j->proc_fd >= 0) {
		close(j->proc_fd);
		j->proc_fd = -1;
	}
	/* No other process of this uid may ptrace or read condo's memory. */
	prctl(PR_SET_DUMPABLE, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_err("jail", "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	/* glibc counts the CPUs (get_nprocs: an openat of /sys) when a
	 * thread's first malloc needs a ninth arena; with many threads (harts,
	 * each disk's I/O threads) that came under a filter.  Fix the bound
	 * now, at glibc's own default (8 per CPU on 64-bit hosts). */
	mallopt(M_ARENA_MAX, 8 * get_nprocs());
	/* And the first time a thread's arena gives memory back (a hart's
	 * translator freed at poweroff), glibc reads
	 * /proc/sys/vm/overcommit_memory (check_may_shrink_heap): with a trim
	 * threshold no free reaches, arenas are never shrunk, so never asked.
	 * Fixing it also stops glibc's dynamic thresholds, and large blocks
	 * stay in mappings of their own (given back at once) at glibc's
	 * default 128 KiB. */
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if ((err = jail_filters_prepare(j)))
		return err;
	j->active = true;
	jail_report(j);
	return 0;
}

void jail_report(const struct jail *j)
{
	if (!log_enabled(LOG_INFO))
		return;
	if (!j->active) {
		log_info("jail", "jail: off (--no-jail)");
		return;
	}
	char away[64] = "";
	if (j->map_away)
		snprintf(away, sizeof(away), " (root mapped away: uid %u gid %u on the host)",
			 (unsigned)j->uid, (unsigned)j->gid);
	log_info("jail",
		 "jail: uid %u gid %u%s%s, no capabilities, no_new_privs, seccomp per thread kind"
		 "%s%s%s%s; skipped: %s",
		 (unsigned)getuid(), (unsigned)getgid(), away, j->inherited ? " (inherited)" : "",
		 j->pivoted ? ", root " : "", j->pivoted ? j->cfg.dir : "",
		 j->cgroup[0] ? ", cgroup " : "", j->cgroup,
		 j->skipped[0] ? j->skipped : "nothing");
}
