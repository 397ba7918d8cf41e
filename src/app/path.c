/* The guest's file system view: the tree under the root directory and
 * nothing else.  Every guest path is made absolute (against the guest cwd
 * or a directory fd) and resolved by the host kernel with openat2(2) and
 * RESOLVE_IN_ROOT on an fd of the root, so neither "..", nor absolute or
 * relative symlinks, nor magic links can lead outside it.  Calls that act
 * on a final component without following it resolve the parent that way
 * and then act on the single last name.
 *
 * The guest cwd is the host process cwd (always inside the root), so it is
 * shared by threads, inherited by fork and kept by execve for free. */
#define _GNU_SOURCE
#include "app/app_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* Open flags the guest may pass (the asm-generic values, same as x86-64). */
#define GUEST_OPEN_FLAGS                                                                        \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |  \
	 FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |   \
	 O_SYNC | O_PATH | O_TMPFILE)

/* Harmless host devices a guest may open when the root has no /dev of its
 * own (a cross sysroot usually does not). */
static const char *const host_devices[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
};

int fs_guest_path(const struct app_fs *fs, const char *host, char *out, size_t size)
{
	const char *rest;

	if (host[0] != '/')
		return -ENOENT;
	if (fs->root_len == 1) {
		rest = host;
	} else {
		if (strncmp(host, fs->root, fs->root_len) ||
		    (host[fs->root_len] != '/' && host[fs->root_len] != 0))
			return -EACCES;
		rest = host[fs->root_len] ? host + fs->root_len : "/";
	}
	if (strlen(rest) >= size)
		return -ENAMETOOLONG;
	strcpy(out, rest);
	return 0;
}

int fs_init(struct app_fs *fs, const char *root, const char **why)
{
	char cwd[PATH_MAX];

	memset(fs, 0, sizeof(*fs));
	fs->root_fd = -1;
	fs->root = realpath(root ? root : ".", NULL);
	if (!fs->root) {
		*why = strerror(errno);
		return -errno;
	}
	fs->root_len = strlen(fs->root);
	fs->root_fd = open(fs->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd < 0) {
		int err = errno;
		*why = strerror(err);
		free(fs->root);
		fs->root = NULL;
		return -err;
	}
	/* Start in the matching directory when condo runs inside the root,
	 * else at its top. */
	char guest[APP_PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)) || fs_guest_path(fs, cwd, guest, sizeof(guest)) < 0) {
		if (fchdir(fs->root_fd) < 0) {
			*why = strerror(errno);
			return -errno;
		}
	}
	return 0;
}

void fs_destroy(struct app_fs *fs)
{
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	free(fs->root);
	memset(fs, 0, sizeof(*fs));
	fs->root_fd = -1;
}

/* The host path of what fd names ("pipe:[...]" and the like for objects
 * without one), or -EBADF. */
static int fd_host_path(int fd, char *host, size_t size)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, host, size - 1);
	if (n < 0)
		return -EBADF;
	host[n] = 0;
	return 0;
}

bool fs_fd_inside(const struct app_fs *fs, int fd)
{
	char host[PATH_MAX], guest[APP_PATH_MAX];
	return fd_host_path(fd, host, sizeof(host)) == 0 &&
	       fs_guest_path(fs, host, guest, sizeof(guest)) == 0;
}

/* The guest path of a directory the host knows by fd (or the cwd). */
static int dir_guest_path(const struct app_fs *fs, int dirfd, char *out, size_t size)
{
	char host[PATH_MAX];

	if (dirfd == AT_FDCWD) {
		if (!getcwd(host, sizeof(host)))
			return -errno;
	} else {
		if (fd_host_path(dirfd, host, sizeof(host)))
			return -EBADF;
		if (host[0] != '/')
			return -ENOTDIR; /* a pipe, socket, ... */
		struct stat st;
		if (fstat(dirfd, &st) < 0)
			return -EBADF;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return fs_guest_path(fs, host, out, size);
}

int fs_absolute(const struct app_fs *fs, int dirfd, const char *path, char *out, size_t size)
{
	size_t len = strlen(path);
	int err;

	if (!len)
		return -ENOENT;
	if (path[0] == '/') {
		if (len >= size)
			return -ENAMETOOLONG;
		memcpy(out, path, len + 1);
		return 0;
	}
	err = dir_guest_path(fs, dirfd, out, size);
	if (err)
		return err;
	size_t base = strlen(out);
	if (base + 1 + len >= size)
		return -ENAMETOOLONG;
	if (out[base - 1] != '/')
		out[base++] = '/';
	memcpy(out + base, path, len + 1);
	return 0;
}

static int open_in_root(const struct app_fs *fs, const char *abs, int flags, int mode)
{
	struct open_how how = { 0 };
	long fd;

	/* condo's host fds are all close-on-exec; the guest's flag is the table's */
	how.flags = (uint64_t)(flags & GUEST_OPEN_FLAGS) | O_CLOEXEC;
	if (flags & (O_CREAT | (O_TMPFILE & ~O_DIRECTORY)))
		how.mode = (uint64_t)(mode & 07777);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	/* EAGAIN: a concurrent rename made the kernel unsure; try again. */
	for (int tries = 0; tries < 16; tries++) {
		fd = syscall(SYS_openat2, fs->root_fd, abs, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd >= 0 ? (int)fd : -errno;
}

/* /proc/PID/mem (and task/TID/mem) of a condo process is condo's own
 * memory: its code, its translated code, every other guest thread's host
 * stack.  A root that holds the host's /proc (--root /) must not hand it
 * out, whatever name or symlink led there. */
static bool is_proc_mem(int fd)
{
	struct statfs sf;
	char host[PATH_MAX];
	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return false;
	if (fd_host_path(fd, host, sizeof(host)) < 0)
		return true; /* cannot tell: refuse */
	size_t n = strlen(host);
	return n >= 4 && !strcmp(host + n - 4, "/mem");
}

int fs_open(const struct app_fs *fs, int dirfd, const char *path, int flags, int mode)
{
	char abs[APP_PATH_MAX];
	int err = fs_absolute(fs, dirfd, path, abs, sizeof(abs));
	if (err)
		return err;
	int fd = open_in_root(fs, abs, flags, mode);
	if (fd >= 0 && is_proc_mem(fd)) {
		close(fd);
		return -EACCES;
	}
	if (fd == -ENOENT) {
		for (size_t i = 0; i < ARRAY_SIZE(host_devices); i++)
			if (!strcmp(abs, host_devices[i])) {
				fd = open(host_devices[i],
					  (flags & ~(O_CREAT | O_TMPFILE)) | O_CLOEXEC);
				return fd >= 0 ? fd : -errno;
			}
	}
	return fd;
}

int fs_parent(const struct app_fs *fs, int dirfd, const char *path, char *last, size_t size)
{
	char abs[APP_PATH_MAX];
	int err = fs_absolute(fs, dirfd, path, abs, sizeof(abs));
	if (err)
		return err;

	size_t end = strlen(abs);
	while (end > 1 && abs[end - 1] == '/')
		end--;
	bool trailing = abs[end] == '/';
	size_t slash = end;
	while (slash > 0 && abs[slash - 1] != '/')
		slash--;
	/* abs[slash, end) is the last component; abs[0, slash) its parent. */
	const char *name = abs + slash;
	size_t name_len = end - slash;

	if (name_len == 0 || (name_len == 1 && name[0] == '.') ||
	    (name_len == 2 && name[0] == '.' && name[1] == '.')) {
		/* "/", "x/." or "x/..": the directory itself, named ".". */
		if (size < 2)
			return -ENAMETOOLONG;
		strcpy(last, ".");
		return open_in_root(fs, abs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	}
	if (name_len + (trailing ? 1 : 0) >= size)
		return -ENAMETOOLONG;
	memcpy(last, name, name_len);
	if (trailing)
		last[name_len++] = '/';
	last[name_len] = 0;
	abs[slash] = 0;
	return open_in_root(fs, slash ? abs : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

int fs_lookup(const struct app_fs *fs, int dirfd, const char *path, int at_flags)
{
	if (!*path) {
		if (!(at_flags & AT_EMPTY_PATH))
			return -ENOENT;
		if (dirfd == AT_FDCWD)
			dirfd = open(".", O_PATH | O_CLOEXEC);
		else
			dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
		return dirfd >= 0 ? dirfd : -errno;
	}
	if (at_flags & AT_SYMLINK_NOFOLLOW) {
		char last[NAME_MAX + 2];
		int dfd = fs_parent(fs, dirfd, path, last, sizeof(last));
		if (dfd < 0)
			return dfd;
		if (last[strlen(last) - 1] != '/') {
			/* One name, no slash, never "..": nothing to escape through. */
			int fd = openat(dfd, last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			int ret = fd >= 0 ? fd : -errno;
			close(dfd);
			return ret;
		}
		close(dfd); /* "link/" follows the link, as on Linux */
	}
	return fs_open(fs, dirfd, path, O_PATH | O_CLOEXEC, 0);
}
