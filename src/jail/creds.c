/* Who the jailed process is: the uid/gid it drops to and the capabilities
 * it gives up.  Capabilities go in every set, the bounding set too, and the
 * securebits are locked so that no execve (app mode re-executes condo)
 * gives any back, not even to uid 0 (capabilities(7), "securebits"). */
#define _GNU_SOURCE
#include "jail/jail_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int jail_parse_user(const char *spec, uid_t *uid, gid_t *gid)
{
	char *end;
	unsigned long v;

	if (!spec || !*spec)
		return -EINVAL;
	if (spec[0] >= '0' && spec[0] <= '9') {
		errno = 0;
		v = strtoul(spec, &end, 10);
		if (errno || v >= 0xffffffffu || (*end && *end != ':'))
			return -EINVAL;
		*uid = (uid_t)v;
		*gid = (gid_t)v;
		if (*end == ':') {
			if (end[1] < '0' || end[1] > '9')
				return -EINVAL;
			v = strtoul(end + 1, &end, 10);
			if (errno || v >= 0xffffffffu || *end)
				return -EINVAL;
			*gid = (gid_t)v;
		}
		return 0;
	}
	struct passwd *pw = getpwnam(spec);
	if (!pw)
		return -EINVAL;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int write_file_at(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* A new user namespace in which uid `inside` is host uid `outside`, and
 * likewise for the gid.  The process may map only its own ids without
 * privilege in the parent, so it already has them.  1 when the host
 * refuses user namespaces, 0, or -errno after a one-line error. */
int jail_userns(struct jail *j, int proc_fd, uid_t inside, gid_t ginside)
{
	uid_t outside = geteuid();
	gid_t goutside = getegid();
	char map[64];
	int err;

	if (unshare(CLONE_NEWUSER) < 0)
		return 1;
	/* A uid change made us non-dumpable, which puts /proc/self/uid_map
	 * out of our reach; jail_lockdown makes us non-dumpable again. */
	prctl(PR_SET_DUMPABLE, 1);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)inside, (unsigned)outside);
	err = write_file_at(proc_fd, "uid_map", map);
	if (!err)
		err = write_file_at(proc_fd, "setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)ginside, (unsigned)goutside);
	if (!err)
		err = write_file_at(proc_fd, "gid_map", map);
	if (err)
		log_err("jail", "cannot map ids in the new user namespace: %s", strerror(-err));
	(void)j;
	return err;
}

int jail_drop_user(struct jail *j)
{
	if (setgroups(1, &j->gid) < 0 && setgroups(0, NULL) < 0) {
		log_err("jail", "cannot drop supplementary groups: %s", strerror(errno));
		return -errno;
	}
	if (setresgid(j->gid, j->gid, j->gid) < 0 || setresuid(j->uid, j->uid, j->uid) < 0) {
		log_err("jail", "cannot become uid %u gid %u: %s", (unsigned)j->uid,
			(unsigned)j->gid, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The bounding set and the securebits need CAP_SETPCAP (in the process's
 * user namespace): without it, as an unprivileged user with no user
 * namespace, the process has no capabilities to drop anyway.  The other
 * sets stay until jail_clear_caps: a uid change still needs CAP_SETUID. */
int jail_drop_bounding(struct jail *j)
{
	bool bounded = true;

	/* One call per capability: EINVAL is past the last one the kernel
	 * knows, anything else (EPERM) a drop refused. */
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap) == 0)
			continue;
		if (errno == EINVAL)
			break;
		bounded = false;
	}
	if (!bounded)
		jail_skip(j, "bounding set (no CAP_SETPCAP)");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (bounded && prctl(PR_SET_SECUREBITS,
			     SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
				 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED | SECBIT_KEEP_CAPS_LOCKED) < 0)
		jail_skip(j, "securebits");
	return 0;
}

int jail_clear_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0) {
		log_err("jail", "cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
