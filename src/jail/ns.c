/* Namespaces: user (an unprivileged start needs one to create the others),
 * mount (private, so nothing the jail mounts is seen outside), IPC, UTS and
 * network (a VM has no network device today; app mode serves no socket
 * calls), and the jail directory: a tmpfs mounted over DIR in the private
 * mount namespace, holding only the VM's files bound in, becomes the root
 * (pivot_root(2)), as Firecracker's jailer does with its chroot.  The host
 * sees DIR unchanged.  Each namespace the host refuses is skipped and noted;
 * --jail-dir without a mount namespace is an error. */
#define _GNU_SOURCE
#include "jail/jail_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool try_unshare(struct jail *j, int flag, const char *name)
{
	if (unshare(flag) == 0)
		return true;
	char what[64];
	snprintf(what, sizeof(what), "%s namespace (%s)", name, strerror(errno));
	jail_skip(j, what);
	return false;
}

/* Bind host file `path` at /NAME in the tmpfs on dir. */
static int bind_file(struct jail *j, const char *dir, const char *path, int i)
{
	char copy[4096], target[4200];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(j->files[i], sizeof(j->files[i]), "/%d-%.24s", i, basename(copy));
	snprintf(target, sizeof(target), "%s%s", dir, j->files[i]);
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	if (mount(path, target, NULL, MS_BIND, NULL) < 0) {
		int err = -errno;
		log_err("jail", "--jail-dir: cannot bind %s into the jail: %s", path,
			strerror(errno));
		return err;
	}
	return 0;
}

static int pivot_into(struct jail *j, const char *dir, const char **paths, int npaths)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_err("jail", "--jail-dir %s: not a directory", dir);
		return -ENOTDIR;
	}
	if (npaths > JAIL_MAX_FILES) {
		log_err("jail", "--jail-dir: at most %d files", JAIL_MAX_FILES);
		return -E2BIG;
	}
	if (mount("condo-jail", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0) {
		log_err("jail", "--jail-dir %s: cannot mount a tmpfs there: %s", dir,
			strerror(errno));
		return -errno;
	}
	for (int i = 0; i < npaths; i++) {
		if (!paths[i])
			continue;
		int err = bind_file(j, dir, paths[i], i);
		if (err)
			return err;
		paths[i] = j->files[i];
	}
	j->nfiles = npaths;
	/* pivot_root(".", "old"), then forget the old root entirely. */
	if (chdir(dir) < 0 || mkdir("old", 0700) < 0 || syscall(SYS_pivot_root, ".", "old") < 0 ||
	    chdir("/") < 0 || umount2("/old", MNT_DETACH) < 0 || rmdir("/old") < 0) {
		log_err("jail", "--jail-dir %s: cannot make it the root: %s", dir, strerror(errno));
		return -errno;
	}
	/* Nothing may be created in the jail from now on. */
	mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k,mode=0755");
	j->pivoted = true;
	return 0;
}

int jail_namespaces(struct jail *j, const char **paths, int npaths)
{
	bool mnt;

	if (geteuid() != 0) {
		/* Without root, a user namespace first (the caller's own ids
		 * inside), which then owns the others. */
		int err = jail_userns(j, j->proc_fd, geteuid(), getegid());
		if (err > 0)
			jail_skip(j, "user namespace (refused by the host)");
		else if (err < 0)
			return err;
	}
	mnt = try_unshare(j, CLONE_NEWNS, "mount");
	/* Our mounts stay ours: no propagation to or from the host. */
	if (mnt && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		jail_skip(j, "private mounts");
	try_unshare(j, CLONE_NEWIPC, "IPC");
	try_unshare(j, CLONE_NEWUTS, "UTS");
	if (!j->cfg.keep_net)
		try_unshare(j, CLONE_NEWNET, "network");
	if (j->cfg.dir) {
		if (!mnt) {
			log_err("jail",
				"--jail-dir needs a mount namespace, which this host refuses");
			return -EPERM;
		}
		return pivot_into(j, j->cfg.dir, paths, npaths);
	}
	return 0;
}
