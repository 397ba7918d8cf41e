/* File system calls.  Guest fds index the table in fdtable.c (FD_ARG),
 * paths go through path.c (confined to the root), and buffers through
 * mm_ptr().  Structures whose riscv64 layout differs from the host's are
 * converted (struct stat is the asm-generic one); the rest (statx, dirent64,
 * statfs, flock, termios, iovec, timespec) are the same on both. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "app/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

int64_t host_ret(int64_t r)
{
	return r < 0 ? -errno : r;
}

/* A guest path argument copied into buf; returns from the caller on error. */
#define GET_PATH(buf, addr)                                                                 \
	do {                                                                                \
		int err_ = mm_strcpy(t_mm(t), buf, addr, sizeof(buf));                      \
		if (err_)                                                                   \
			return err_;                                                        \
	} while (0)

/* ---- struct stat, asm-generic layout (include/uapi/asm-generic/stat.h) ---- */

struct guest_stat {
	uint64_t st_dev, st_ino;
	uint32_t st_mode, st_nlink, st_uid, st_gid;
	uint64_t st_rdev, pad1;
	int64_t st_size;
	int32_t st_blksize, pad2;
	int64_t st_blocks;
	int64_t st_atime_, st_atime_nsec;
	int64_t st_mtime_, st_mtime_nsec;
	int64_t st_ctime_, st_ctime_nsec;
	uint32_t unused4, unused5;
};
_Static_assert(sizeof(struct guest_stat) == 128, "asm-generic struct stat");

static int64_t put_stat(struct app_thread *t, gva_t addr, const struct stat *st)
{
	struct guest_stat g = {
		.st_dev = st->st_dev,
		.st_ino = st->st_ino,
		.st_mode = st->st_mode,
		.st_nlink = (uint32_t)st->st_nlink,
		.st_uid = st->st_uid,
		.st_gid = st->st_gid,
		.st_rdev = st->st_rdev,
		.st_size = st->st_size,
		.st_blksize = (int32_t)st->st_blksize,
		.st_blocks = st->st_blocks,
		.st_atime_ = st->st_atim.tv_sec,
		.st_atime_nsec = st->st_atim.tv_nsec,
		.st_mtime_ = st->st_mtim.tv_sec,
		.st_mtime_nsec = st->st_mtim.tv_nsec,
		.st_ctime_ = st->st_ctim.tv_sec,
		.st_ctime_nsec = st->st_ctim.tv_nsec,
	};
	return mm_write(t_mm(t), addr, &g, sizeof(g));
}

/* "/proc/self/fd/N": the host path of an fd, for host calls that have no
 * fd form; the kernel follows it to the very object the fd names. */
static void fd_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* A host fd just made with O_CLOEXEC added to the guest's flags (or -1),
 * given to the guest with the close-on-exec it asked for.  The CLOEXEC
 * flags of eventfd, epoll, signalfd, timerfd and inotify are O_CLOEXEC. */
static int64_t new_fd(struct app_thread *t, int host_fd, int guest_flags)
{
	return guest_fd(t, host_ret(host_fd), guest_flags & O_CLOEXEC);
}

/* ---- open, close, dup ---- */

SYS(openat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX];
	GET_PATH(path, a[1]);
	return guest_fd(t, fs_open(t_fs(t), dfd0, path, (int)a[2], (int)a[3]),
			(int)a[2] & O_CLOEXEC);
}

SYS(close)
{
	return fdt_close(t_fds(t), (int)a[0]);
}

SYS(close_range)
{
	unsigned first = (unsigned)a[0], last = (unsigned)a[1];
	int flags = (int)a[2];
	if (first > last || flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE))
		return -EINVAL;
	/* CLOSE_RANGE_UNSHARE: the table is already this process's own. */
	return fdt_close_range(t_fds(t), first, last, flags & CLOSE_RANGE_CLOEXEC);
}

SYS(dup)
{
	return fdt_dup(t_fds(t), (int)a[0], 0, false);
}

SYS(dup3)
{
	if (a[2] & ~(uint64_t)O_CLOEXEC)
		return -EINVAL;
	if ((int)a[0] == (int)a[1])
		return -EINVAL;
	return fdt_dup3(t_fds(t), (int)a[0], (int)a[1], a[2] & O_CLOEXEC);
}

/* Give the guest a pair of new host fds and store its numbers at addr. */
static int64_t put_fd_pair(struct app_thread *t, gva_t addr, const int host[2], bool cloexec)
{
	int32_t out[2] = { -1, -1 };
	int64_t err = 0;

	for (int i = 0; i < 2; i++) {
		out[i] = (int32_t)fdt_install(t_fds(t), host[i], cloexec);
		if (out[i] < 0 && !err)
			err = out[i];
	}
	if (!err && mm_write(t_mm(t), addr, out, sizeof(out)))
		err = -EFAULT;
	if (err)
		for (int i = 0; i < 2; i++)
			if (out[i] >= 0)
				fdt_close(t_fds(t), out[i]);
	return err;
}

SYS(pipe2)
{
	int fds[2];
	int flags = (int)a[1];
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	if (pipe2(fds, flags | O_CLOEXEC) < 0)
		return -errno;
	return put_fd_pair(t, a[0], fds, flags & O_CLOEXEC);
}

SYS(fcntl)
{
	int cmd = (int)a[1];
	void *p;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if ((int64_t)a[2] < 0 || (int64_t)a[2] > INT32_MAX)
			return -EINVAL;
		return fdt_dup(t_fds(t), (int)a[0], (int)a[2], cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
		return fdt_cloexec(t_fds(t), (int)a[0], -1); /* FD_CLOEXEC is 1 */
	case F_SETFD: {
		int r = fdt_cloexec(t_fds(t), (int)a[0], (a[2] & FD_CLOEXEC) != 0);
		return r < 0 ? r : 0;
	}
	}
	FD_ARG(fd, a[0]);
	switch (cmd) {
	case F_GETFL:
	case F_SETFL:
	case F_SETOWN:
	case F_GETOWN:
	case F_SETSIG:
	case F_GETSIG:
	case F_SETLEASE:
	case F_GETLEASE:
	case F_NOTIFY:
	case F_SETPIPE_SZ:
	case F_GETPIPE_SZ:
	case F_ADD_SEALS:
	case F_GET_SEALS:
		return host_ret(fcntl(fd, cmd, (long)a[2]));
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		/* struct flock: same 32-byte layout on riscv64 and x86-64. */
		p = mm_ptr(t_mm(t), a[2], sizeof(struct flock), PROT_READ | PROT_WRITE);
		if (!p)
			return -EFAULT;
		return host_ret(fcntl(fd, cmd, p));
	case F_GETOWN_EX:
	case F_SETOWN_EX:
		p = mm_ptr(t_mm(t), a[2], sizeof(struct f_owner_ex), PROT_READ | PROT_WRITE);
		if (!p)
			return -EFAULT;
		return host_ret(fcntl(fd, cmd, p));
	default:
		return -EINVAL;
	}
}

SYS(flock)
{
	FD_ARG(fd0, a[0]);
	return host_ret(flock(fd0, (int)a[1]));
}

/* ---- read and write ---- */

SYS(read)
{
	FD_ARG(fd0, a[0]);
	void *buf = mm_ptr(t_mm(t), a[1], a[2], PROT_WRITE);
	if (!buf)
		return -EFAULT;
	return host_ret(read(fd0, buf, a[2]));
}

SYS(write)
{
	FD_ARG(fd0, a[0]);
	const void *buf = mm_ptr(t_mm(t), a[1], a[2], PROT_READ);
	if (!buf)
		return -EFAULT;
	return host_ret(write(fd0, buf, a[2]));
}

SYS(pread64)
{
	FD_ARG(fd0, a[0]);
	void *buf = mm_ptr(t_mm(t), a[1], a[2], PROT_WRITE);
	if (!buf)
		return -EFAULT;
	return host_ret(pread(fd0, buf, a[2], (off_t)a[3]));
}

SYS(pwrite64)
{
	FD_ARG(fd0, a[0]);
	const void *buf = mm_ptr(t_mm(t), a[1], a[2], PROT_READ);
	if (!buf)
		return -EFAULT;
	return host_ret(pwrite(fd0, buf, a[2], (off_t)a[3]));
}

/* Translate a guest iovec array; prot is what the syscall does to the buffers. */
static int64_t get_iov(struct app_thread *t, gva_t addr, uint64_t count, int prot,
		       struct iovec *iov)
{
	if (count > IOV_MAX)
		return -EINVAL;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t g[2];
		if (mm_read(t_mm(t), g, addr + i * 16, sizeof(g)))
			return -EFAULT;
		if ((int64_t)g[1] < 0)
			return -EINVAL;
		iov[i].iov_base = mm_ptr(t_mm(t), g[0], g[1], prot);
		iov[i].iov_len = g[1];
		if (!iov[i].iov_base)
			return -EFAULT;
	}
	return 0;
}

static int64_t do_rw_vec(struct app_thread *t, const uint64_t *a, bool write, bool pos,
			 int flags)
{
	struct iovec iov[IOV_MAX];
	int64_t err;

	FD_ARG(fd0, a[0]);
	err = get_iov(t, a[1], a[2], write ? PROT_READ : PROT_WRITE, iov);
	if (err)
		return err;
	int fd = fd0, n = (int)a[2];
	off_t off = pos ? (off_t)a[3] : -1;
	if (write)
		return host_ret(pwritev2(fd, iov, n, off, flags));
	return host_ret(preadv2(fd, iov, n, off, flags));
}

SYS(readv)
{
	return do_rw_vec(t, a, false, false, 0);
}
SYS(writev)
{
	return do_rw_vec(t, a, true, false, 0);
}
SYS(preadv)
{
	return do_rw_vec(t, a, false, true, 0);
}
SYS(pwritev)
{
	return do_rw_vec(t, a, true, true, 0);
}
SYS(preadv2)
{
	return do_rw_vec(t, a, false, (int64_t)a[3] != -1, (int)a[5]);
}
SYS(pwritev2)
{
	return do_rw_vec(t, a, true, (int64_t)a[3] != -1, (int)a[5]);
}

SYS(lseek)
{
	FD_ARG(fd0, a[0]);
	return host_ret(lseek(fd0, (off_t)a[1], (int)a[2]));
}

/* An optional guest loff_t in/out pointer. */
static int64_t opt_off(struct app_thread *t, gva_t addr, loff_t **p)
{
	*p = NULL;
	if (!addr)
		return 0;
	*p = mm_ptr(t_mm(t), addr, sizeof(loff_t), PROT_READ | PROT_WRITE);
	return *p ? 0 : -EFAULT;
}

SYS(sendfile)
{
	loff_t *off;
	FD_ARG(fd0, a[0]);
	FD_ARG(fd1, a[1]);
	if (opt_off(t, a[2], &off))
		return -EFAULT;
	return host_ret(sendfile(fd0, fd1, (off_t *)off, a[3]));
}

SYS(splice)
{
	loff_t *in_off, *out_off;
	FD_ARG(fd0, a[0]);
	FD_ARG(fd2, a[2]);
	if (opt_off(t, a[1], &in_off) || opt_off(t, a[3], &out_off))
		return -EFAULT;
	return host_ret(splice(fd0, in_off, fd2, out_off, a[4], (unsigned)a[5]));
}

SYS(tee)
{
	FD_ARG(fd0, a[0]);
	FD_ARG(fd1, a[1]);
	return host_ret(tee(fd0, fd1, a[2], (unsigned)a[3]));
}

SYS(copy_file_range)
{
	loff_t *in_off, *out_off;
	FD_ARG(fd0, a[0]);
	FD_ARG(fd2, a[2]);
	if (opt_off(t, a[1], &in_off) || opt_off(t, a[3], &out_off))
		return -EFAULT;
	return host_ret(
		copy_file_range(fd0, in_off, fd2, out_off, a[4], (unsigned)a[5]));
}

SYS(getdents64)
{
	FD_ARG(fd0, a[0]);
	/* struct linux_dirent64 is the same everywhere. */
	void *buf = mm_ptr(t_mm(t), a[1], a[2], PROT_WRITE);
	if (!buf)
		return -EFAULT;
	return host_ret(syscall(SYS_getdents64, fd0, buf, (unsigned)a[2]));
}

/* ---- metadata ---- */

SYS(fstat)
{
	struct stat st;
	FD_ARG(fd0, a[0]);
	if (fstat(fd0, &st) < 0)
		return -errno;
	return put_stat(t, a[1], &st);
}

SYS(newfstatat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX];
	struct stat st;
	GET_PATH(path, a[1]);
	if (!path[0] && ((int)a[3] & AT_EMPTY_PATH) && dfd0 != AT_FDCWD) {
		/* fstat() as glibc spells it: the fd itself, no lookup. */
		if (dfd0 < 0)
			return -EBADF;
		if (fstat(dfd0, &st) < 0)
			return -errno;
		return put_stat(t, a[2], &st);
	}
	int fd = fs_lookup(t_fs(t), dfd0, path,
			   (int)a[3] & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
	if (fd < 0)
		return fd;
	int r = fstat(fd, &st);
	int err = errno;
	close(fd);
	if (r < 0)
		return -err;
	return put_stat(t, a[2], &st);
}

SYS(statx)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX];
	struct statx stx;
	int flags = (int)a[2];
	GET_PATH(path, a[1]);
	int fd = fs_lookup(t_fs(t), dfd0, path,
			   flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
	if (fd < 0)
		return fd;
	int r = statx(fd, "", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE), (unsigned)a[3], &stx);
	int err = errno;
	close(fd);
	if (r < 0)
		return -err;
	return mm_write(t_mm(t), a[4], &stx, sizeof(stx));
}

static int64_t put_statfs(struct app_thread *t, gva_t addr, const struct statfs *sf)
{
	/* asm-generic struct statfs with 64-bit words: the host layout. */
	_Static_assert(sizeof(struct statfs) == 120, "statfs layout");
	return mm_write(t_mm(t), addr, sf, sizeof(*sf));
}

SYS(statfs)
{
	char path[APP_PATH_MAX];
	struct statfs sf;
	GET_PATH(path, a[0]);
	int fd = fs_lookup(t_fs(t), AT_FDCWD, path, 0);
	if (fd < 0)
		return fd;
	int r = fstatfs(fd, &sf);
	int err = errno;
	close(fd);
	return r < 0 ? -err : put_statfs(t, a[1], &sf);
}

SYS(fstatfs)
{
	struct statfs sf;
	FD_ARG(fd0, a[0]);
	if (fstatfs(fd0, &sf) < 0)
		return -errno;
	return put_statfs(t, a[1], &sf);
}

SYS(readlinkat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX], target[APP_PATH_MAX];
	int64_t n;
	GET_PATH(path, a[1]);
	if ((int64_t)a[3] <= 0)
		return -EINVAL;
	if (!strncmp(path, "/proc/self/fd/", 14)) {
		/* The guest's fd numbers are not the host's: answer for the
		 * guest's fd, with its path inside the root where it has one. */
		char *end, host[PATH_MAX];
		long gfd = strtol(path + 14, &end, 10);
		if (*end || end == path + 14)
			return -ENOENT;
		struct app_file *f = fdt_get(t_fds(t), (int)gfd);
		if (!f)
			return -ENOENT;
		char proc[64];
		fd_path(proc, sizeof(proc), f->host_fd);
		n = readlink(proc, host, sizeof(host) - 1);
		fdt_put(f);
		if (n < 0)
			return -ENOENT;
		host[n] = 0;
		if (fs_guest_path(t_fs(t), host, target, sizeof(target)) < 0)
			snprintf(target, sizeof(target), "%s", host); /* pipe:[..], or outside */
		n = (int64_t)strlen(target);
	} else if (!strcmp(path, "/proc/self/exe")) {
		/* The one /proc link programs commonly ask for: the program's
		 * guest path, or its host path when it lives outside the root. */
		const char *exe = t->proc->exe_guest_path[0] ? t->proc->exe_guest_path
							     : t->proc->exe_host_path;
		n = (int64_t)strlen(exe);
		memcpy(target, exe, n);
	} else {
		int fd = fs_lookup(t_fs(t), dfd0, path, AT_SYMLINK_NOFOLLOW);
		struct stat st;
		if (fd < 0)
			return fd;
		if (fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		n = readlinkat(fd, "", target, sizeof(target));
		int err = errno;
		close(fd);
		if (n < 0)
			return -err;
	}
	if ((uint64_t)n > a[3])
		n = (int64_t)a[3];
	return mm_write(t_mm(t), a[2], target, n) ? -EFAULT : n;
}

static int64_t do_access(struct app_thread *t, const uint64_t *a, int flags)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX];
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	GET_PATH(path, a[1]);
	int fd = fs_lookup(t_fs(t), dfd0, path,
			   flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
	if (fd < 0)
		return fd;
	int64_t r = host_ret(
		syscall(SYS_faccessat2, fd, "", (int)a[2], AT_EMPTY_PATH | (flags & AT_EACCESS)));
	close(fd);
	return r;
}

SYS(faccessat)
{
	return do_access(t, a, 0);
}

SYS(faccessat2)
{
	return do_access(t, a, (int)a[3]);
}

SYS(utimensat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX];
	const struct timespec *ts = NULL;
	int flags = (int)a[3];

	if (a[2]) {
		ts = mm_ptr(t_mm(t), a[2], 2 * sizeof(struct timespec), PROT_READ);
		if (!ts)
			return -EFAULT;
	}
	if (!a[1]) {
		/* futimens(): the fd itself. */
		if (dfd0 < 0)
			return -EBADF;
		return host_ret(syscall(SYS_utimensat, dfd0, NULL, ts, 0));
	}
	GET_PATH(path, a[1]);
	int fd = fs_lookup(t_fs(t), dfd0, path,
			   flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
	if (fd < 0)
		return fd;
	int64_t r = host_ret(utimensat(fd, "", ts, AT_EMPTY_PATH));
	close(fd);
	return r;
}

SYS(fchmod)
{
	FD_ARG(fd0, a[0]);
	return host_ret(fchmod(fd0, (mode_t)a[1]));
}

SYS(fchmodat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX], proc[64];
	GET_PATH(path, a[1]);
	int fd = fs_lookup(t_fs(t), dfd0, path, 0);
	if (fd < 0)
		return fd;
	fd_path(proc, sizeof(proc), fd);
	int64_t r = host_ret(chmod(proc, (mode_t)a[2]));
	close(fd);
	return r;
}

SYS(fchown)
{
	FD_ARG(fd0, a[0]);
	return host_ret(fchown(fd0, (uid_t)a[1], (gid_t)a[2]));
}

SYS(fchownat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX];
	GET_PATH(path, a[1]);
	int fd = fs_lookup(t_fs(t), dfd0, path,
			   (int)a[4] & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
	if (fd < 0)
		return fd;
	int64_t r = host_ret(fchownat(fd, "", (uid_t)a[2], (gid_t)a[3], AT_EMPTY_PATH));
	close(fd);
	return r;
}

SYS(truncate)
{
	char path[APP_PATH_MAX], proc[64];
	GET_PATH(path, a[0]);
	int fd = fs_lookup(t_fs(t), AT_FDCWD, path, 0);
	if (fd < 0)
		return fd;
	fd_path(proc, sizeof(proc), fd);
	int64_t r = host_ret(truncate(proc, (off_t)a[1]));
	close(fd);
	return r;
}

SYS(ftruncate)
{
	FD_ARG(fd0, a[0]);
	return host_ret(ftruncate(fd0, (off_t)a[1]));
}

SYS(fallocate)
{
	FD_ARG(fd0, a[0]);
	return host_ret(fallocate(fd0, (int)a[1], (off_t)a[2], (off_t)a[3]));
}

SYS(fadvise64)
{
	FD_ARG(fd0, a[0]);
	int r = posix_fadvise(fd0, (off_t)a[1], (off_t)a[2], (int)a[3]);
	return -r;
}

SYS(readahead)
{
	FD_ARG(fd0, a[0]);
	return host_ret(readahead(fd0, (off64_t)a[1], a[2]));
}

SYS(sync)
{
	sync();
	return 0;
}

SYS(syncfs)
{
	FD_ARG(fd0, a[0]);
	return host_ret(syncfs(fd0));
}

SYS(fsync)
{
	FD_ARG(fd0, a[0]);
	return host_ret(fsync(fd0));
}

SYS(fdatasync)
{
	FD_ARG(fd0, a[0]);
	return host_ret(fdatasync(fd0));
}

SYS(sync_file_range)
{
	FD_ARG(fd0, a[0]);
	return host_ret(sync_file_range(fd0, (off64_t)a[1], (off64_t)a[2], (unsigned)a[3]));
}

SYS(umask)
{
	return umask((mode_t)a[0] & 0777);
}

SYS(noxattr)
{
	return -EOPNOTSUPP;
}

/* ---- names: calls on the last component, which must not follow it ---- */

SYS(mkdirat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX], last[NAME_MAX + 2];
	GET_PATH(path, a[1]);
	int dfd = fs_parent(t_fs(t), dfd0, path, last, sizeof(last));
	if (dfd < 0)
		return dfd;
	int64_t r = host_ret(mkdirat(dfd, last, (mode_t)a[2]));
	close(dfd);
	return r;
}

SYS(mknodat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX], last[NAME_MAX + 2];
	/* Files, FIFOs and sockets only: a device node would hand the guest
	 * the host's devices (its disks, /dev/kmsg), so it gets EPERM as an
	 * unprivileged process would.  The rest as fs/namei.c may_mknod(). */
	switch ((mode_t)a[2] & S_IFMT) {
	case 0:
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	GET_PATH(path, a[1]);
	int dfd = fs_parent(t_fs(t), dfd0, path, last, sizeof(last));
	if (dfd < 0)
		return dfd;
	int64_t r = host_ret(mknodat(dfd, last, (mode_t)a[2], (dev_t)a[3]));
	close(dfd);
	return r;
}

SYS(unlinkat)
{
	DIRFD_ARG(dfd0, a[0]);
	char path[APP_PATH_MAX], last[NAME_MAX + 2];
	if (a[2] & ~(uint64_t)AT_REMOVEDIR)
		return -EINVAL;
	GET_PATH(path, a[1]);
	int dfd = fs_parent(t_fs(t), dfd0, path, last, sizeof(last));
	if (dfd < 0)
		return dfd;
	int64_t r = host_ret(unlinkat(dfd, last, (int)a[2]));
	close(dfd);
	return r;
}

SYS(symlinkat)
{
	DIRFD_ARG(dfd1, a[1]);
	char target[APP_PATH_MAX], path[APP_PATH_MAX], last[NAME_MAX + 2];
	/* The target is stored verbatim; it is resolved inside the root when used. */
	GET_PATH(target, a[0]);
	GET_PATH(path, a[2]);
	int dfd = fs_parent(t_fs(t), dfd1, path, last, sizeof(last));
	if (dfd < 0)
		return dfd;
	int64_t r = host_ret(symlinkat(target, dfd, last));
	close(dfd);
	return r;
}

SYS(linkat)
{
	DIRFD_ARG(dfd0, a[0]);
	DIRFD_ARG(dfd2, a[2]);
	char old[APP_PATH_MAX], new[APP_PATH_MAX], last[NAME_MAX + 2], oldlast[NAME_MAX + 2];
	int flags = (int)a[4];
	int64_t r;

	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	GET_PATH(old, a[1]);
	GET_PATH(new, a[3]);
	int ndfd = fs_parent(t_fs(t), dfd2, new, last, sizeof(last));
	if (ndfd < 0)
		return ndfd;
	if (flags & (AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) {
		char proc[64];
		int fd = fs_lookup(t_fs(t), dfd0, old,
				   (flags & AT_EMPTY_PATH) | (flags & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW));
		if (fd < 0) {
			close(ndfd);
			return fd;
		}
		/* An fd the guest inherited may name a file outside the root:
		 * never give it a name inside (EXDEV: another file system, as
		 * far as the guest can tell). */
		if (!fs_fd_inside(t_fs(t), fd)) {
			r = -EXDEV;
		} else {
			fd_path(proc, sizeof(proc), fd);
			r = host_ret(linkat(AT_FDCWD, proc, ndfd, last, AT_SYMLINK_FOLLOW));
		}
		close(fd);
	} else {
		int odfd = fs_parent(t_fs(t), dfd0, old, oldlast, sizeof(oldlast));
		if (odfd < 0) {
			close(ndfd);
			return odfd;
		}
		r = host_ret(linkat(odfd, oldlast, ndfd, last, 0));
		close(odfd);
	}
	close(ndfd);
	return r;
}

SYS(renameat2)
{
	DIRFD_ARG(dfd0, a[0]);
	DIRFD_ARG(dfd2, a[2]);
	char old[APP_PATH_MAX], new[APP_PATH_MAX], ol[NAME_MAX + 2], nl[NAME_MAX + 2];
	GET_PATH(old, a[1]);
	GET_PATH(new, a[3]);
	int odfd = fs_parent(t_fs(t), dfd0, old, ol, sizeof(ol));
	if (odfd < 0)
		return odfd;
	int ndfd = fs_parent(t_fs(t), dfd2, new, nl, sizeof(nl));
	if (ndfd < 0) {
		close(odfd);
		return ndfd;
	}
	int64_t r = host_ret(syscall(SYS_renameat2, odfd, ol, ndfd, nl, (unsigned)a[4]));
	close(odfd);
	close(ndfd);
	return r;
}

/* ---- the working directory ---- */

SYS(chdir)
{
	char path[APP_PATH_MAX];
	GET_PATH(path, a[0]);
	int fd = fs_open(t_fs(t), AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	int64_t r = host_ret(syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH));
	if (!r)
		r = host_ret(fchdir(fd));
	close(fd);
	return r;
}

SYS(fchdir)
{
	char host[PATH_MAX], guest[APP_PATH_MAX], proc[64];
	FD_ARG(fd0, a[0]);
	/* Only directories inside the root (an inherited fd may be outside). */
	fd_path(proc, sizeof(proc), fd0);
	ssize_t n = readlink(proc, host, sizeof(host) - 1);
	if (n < 0)
		return -EBADF;
	host[n] = 0;
	int err = fs_guest_path(t_fs(t), host, guest, sizeof(guest));
	if (err)
		return err == -ENOENT ? -ENOTDIR : err;
	return host_ret(fchdir(fd0));
}

SYS(getcwd)
{
	char host[PATH_MAX], guest[APP_PATH_MAX];
	if (!getcwd(host, sizeof(host)))
		return -errno;
	int err = fs_guest_path(t_fs(t), host, guest, sizeof(guest));
	if (err)
		return -ENOENT;
	size_t len = strlen(guest) + 1;
	if (len > a[1])
		return -ERANGE;
	return mm_write(t_mm(t), a[0], guest, len) ? -EFAULT : (int64_t)len;
}

SYS(chroot)
{
	return -EPERM;
}

/* ---- ioctl: terminal requests with known argument sizes ---- */

struct ioctl_arg {
	unsigned long req;
	uint32_t size; /* bytes at arg; 0: arg is an integer */
	int prot;      /* PROT_READ: the kernel reads it; PROT_WRITE: writes it */
};

static const struct ioctl_arg ioctls[] = {
	{ TCGETS, 36, PROT_WRITE },	    { TCSETS, 36, PROT_READ },
	{ TCSETSW, 36, PROT_READ },	    { TCSETSF, 36, PROT_READ },
	{ 0x802c542a, 44, PROT_WRITE },	    { 0x402c542b, 44, PROT_READ }, /* TC[GS]ETS2 */
	{ 0x402c542c, 44, PROT_READ },	    { 0x402c542d, 44, PROT_READ },
	{ TIOCGWINSZ, 8, PROT_WRITE },	    { TIOCSWINSZ, 8, PROT_READ },
	{ TIOCGPGRP, 4, PROT_WRITE },	    { TIOCSPGRP, 4, PROT_READ },
	{ TIOCGSID, 4, PROT_WRITE },	    { FIONREAD, 4, PROT_WRITE },
	{ TIOCOUTQ, 4, PROT_WRITE },	    { FIONBIO, 4, PROT_READ },
	{ FIOASYNC, 4, PROT_READ },	    { TIOCGETD, 4, PROT_WRITE },
	{ TIOCSETD, 4, PROT_READ },	    { TIOCGPTN, 4, PROT_WRITE },
	{ TIOCSPTLCK, 4, PROT_READ },	    { TIOCGLCKTRMIOS, 36, PROT_WRITE },
	{ TCSBRK, 0, 0 },		    { TCXONC, 0, 0 },
	{ TCFLSH, 0, 0 },		    { TIOCSCTTY, 0, 0 },
	{ TIOCNOTTY, 0, 0 },		    { TIOCEXCL, 0, 0 },
	{ TIOCNXCL, 0, 0 },		    { TCSBRKP, 0, 0 },
	{ TIOCSBRK, 0, 0 },		    { TIOCCBRK, 0, 0 },
	{ TIOCMGET, 4, PROT_WRITE },	    { TIOCMSET, 4, PROT_READ },
	{ FS_IOC_GETFLAGS, 4, PROT_WRITE }, { BLKGETSIZE64, 8, PROT_WRITE },
};

SYS(ioctl)
{
	unsigned long req = (unsigned)a[1];

	/* Close-on-exec is the table's, not the host fd's. */
	if (req == FIOCLEX || req == FIONCLEX) {
		int r = fdt_cloexec(t_fds(t), (int)a[0], req == FIOCLEX);
		return r < 0 ? r : 0;
	}
	FD_ARG(fd, a[0]);
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
		if (ioctls[i].req != req)
			continue;
		if (!ioctls[i].size)
			return host_ret(ioctl(fd, req, (unsigned long)a[2]));
		void *p = mm_ptr(t_mm(t), a[2], ioctls[i].size, ioctls[i].prot);
		if (!p)
			return -EFAULT;
		return host_ret(ioctl(fd, req, p));
	}
	return -ENOTTY;
}

/* ---- poll, select, epoll and friends ---- */

static int64_t get_timespec(struct app_thread *t, gva_t addr, struct timespec *ts,
			    struct timespec **out)
{
	*out = NULL;
	if (!addr)
		return 0;
	if (mm_read(t_mm(t), ts, addr, sizeof(*ts)))
		return -EFAULT;
	*out = ts;
	return 0;
}

/* A guest sigset argument for ppoll/pselect/epoll_pwait: the call runs with
 * it as the mask, and a signal delivered meanwhile returns to the old one. */
static int64_t get_sigmask(struct app_thread *t, gva_t addr, uint64_t size, uint64_t *mask,
			   uint64_t **out)
{
	*out = NULL;
	if (!addr)
		return 0;
	if (size != 8)
		return -EINVAL;
	if (mm_read(t_mm(t), mask, addr, 8))
		return -EFAULT;
	*mask &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
	/* The host call swaps the host mask itself; the guest's view follows so
	 * that a signal it lets through is delivered, on the old mask's frame. */
	t->saved_mask = t->blocked;
	t->saved_mask_valid = true;
	t->blocked = *mask;
	*out = mask;
	return 0;
}

/* After the call: keep the temporary mask only if a signal will be
 * delivered (sig_deliver_pending restores the saved one). */
static void end_sigmask(struct app_thread *t, uint64_t *mask)
{
	if (mask && !sig_pending(t)) {
		t->saved_mask_valid = false;
		t->blocked = t->saved_mask;
	}
}

/* Host pollfds for guest fds: each translated and held through the table.
 * A guest fd that is not open gets POLLNVAL without the host seeing it
 * (the host entry is -1, which poll skips). */
struct poll_set {
	struct pollfd *host;
	struct app_file **held;
	size_t n, nval;
};

static void poll_release(struct poll_set *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		fdt_put(ps->held[i]);
	free(ps->host);
	free(ps->held);
}

/* Add guest fd gfd asking for events; false when it is not open. */
static bool poll_add(struct app_thread *t, struct poll_set *ps, int gfd, short events)
{
	struct app_file *f = gfd >= 0 ? fdt_get(t_fds(t), gfd) : NULL;
	ps->host[ps->n] = (struct pollfd){ .fd = f ? f->host_fd : -1, .events = events };
	ps->held[ps->n++] = f;
	if (gfd >= 0 && !f)
		ps->nval++;
	return gfd < 0 || f;
}

static int poll_alloc(struct poll_set *ps, size_t n)
{
	memset(ps, 0, sizeof(*ps));
	ps->host = calloc(n ? n : 1, sizeof(*ps->host));
	ps->held = calloc(n ? n : 1, sizeof(*ps->held));
	if (!ps->host || !ps->held) {
		poll_release(ps);
		return -ENOMEM;
	}
	return 0;
}

/* ppoll with sigmask and the guest's timeout (written back, as Linux does). */
static int64_t poll_host(struct app_thread *t, struct poll_set *ps, gva_t ts_addr, gva_t mask_addr,
			 uint64_t mask_size)
{
	struct timespec ts, *tsp, zero = { 0, 0 };
	uint64_t mask, *maskp;
	int64_t r;

	if ((r = get_timespec(t, ts_addr, &ts, &tsp)) ||
	    (r = get_sigmask(t, mask_addr, mask_size, &mask, &maskp)))
		return r;
	/* A closed fd is an event already: do not wait. */
	r = host_ret(syscall(SYS_ppoll, ps->host, ps->n, ps->nval ? &zero : tsp, maskp, 8));
	end_sigmask(t, maskp);
	if (tsp && !ps->nval && mm_write(t_mm(t), ts_addr, tsp, sizeof(*tsp)))
		return -EFAULT;
	return r;
}

SYS(ppoll)
{
	uint64_t nfds = a[1];
	struct poll_set ps;
	int64_t r;

	if (nfds > 65536)
		return -EINVAL;
	/* Entries are copied in and out (the guest's array may be misaligned,
	 * and another thread may unmap it meanwhile); only revents goes back. */
	gva_t fds = a[0];
	struct pollfd pf;
	if (!mm_ptr(t_mm(t), fds, nfds * sizeof(struct pollfd), PROT_READ | PROT_WRITE))
		return -EFAULT;
	if ((r = poll_alloc(&ps, nfds)))
		return r;
	uint8_t *closed = calloc(nfds ? nfds : 1, 1); /* an fd the guest has not open */
	if (!closed) {
		poll_release(&ps);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < nfds && !r; i++) {
		if (mm_read(t_mm(t), &pf, fds + i * sizeof(pf), sizeof(pf)))
			r = -EFAULT;
		else
			closed[i] = !poll_add(t, &ps, pf.fd, pf.events);
	}
	if (!r)
		r = poll_host(t, &ps, a[2], a[3], a[4]);
	if (r >= 0) {
		r = 0;
		for (uint64_t i = 0; i < nfds && r >= 0; i++) {
			short revents = closed[i] ? POLLNVAL : ps.host[i].revents;
			if (mm_write(t_mm(t), fds + i * sizeof(pf) + offsetof(struct pollfd, revents),
				     &revents, sizeof(revents)))
				r = -EFAULT;
			else
				r += revents != 0;
		}
	}
	free(closed);
	poll_release(&ps);
	return r;
}

/* select's sets as poll events (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET). */
static const short select_asks[3] = { POLLIN, POLLOUT, POLLPRI };
static const short select_sees[3] = { POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR,
				      POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR, POLLPRI };

/* The sets are arrays of 64-bit words, little-endian on riscv64 as on the
 * host, so bit fd is bit fd % 8 of byte fd / 8; bytes, because the guest
 * may pass any alignment. */
static bool bit_test(const uint8_t *set, int fd)
{
	return set && (set[fd / 8] >> (fd % 8)) & 1;
}

SYS(pselect6)
{
	int n = (int)a[0];
	uint8_t *sets[3];
	struct poll_set ps;
	int64_t r;

	if (n < 0 || n > 65536)
		return -EINVAL;
	size_t bytes = ((size_t)n + 63) / 64 * 8;
	/* The sets are copied in and out: another thread may unmap them. */
	uint8_t *copy = calloc(3, bytes ? bytes : 1);
	if (!copy)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		sets[i] = NULL;
		if (!a[1 + i])
			continue;
		sets[i] = copy + i * bytes;
		if (!mm_ptr(t_mm(t), a[1 + i], bytes, PROT_READ | PROT_WRITE) ||
		    mm_read(t_mm(t), sets[i], a[1 + i], bytes)) {
			free(copy);
			return -EFAULT;
		}
	}
	uint64_t sig[2] = { 0, 8 }; /* { const sigset_t *ss; size_t ss_len; } */
	int *which = NULL;
	if (a[5] && mm_read(t_mm(t), sig, a[5], sizeof(sig))) {
		free(copy);
		return -EFAULT;
	}
	if ((r = poll_alloc(&ps, (size_t)n))) {
		free(copy);
		return r;
	}
	/* One pollfd per guest fd named in any set; a closed one is EBADF. */
	which = calloc(n ? (size_t)n : 1, sizeof(*which));
	if (!which) {
		poll_release(&ps);
		free(copy);
		return -ENOMEM;
	}
	for (int fd = 0; fd < n && !r; fd++) {
		short events = 0;
		for (int k = 0; k < 3; k++)
			if (bit_test(sets[k], fd))
				events |= select_asks[k];
		if (!events)
			continue;
		which[ps.n] = fd;
		if (!poll_add(t, &ps, fd, events))
			r = -EBADF;
	}
	if (!r)
		r = poll_host(t, &ps, a[4], sig[0], sig[1]);
	if (r >= 0) {
		r = 0;
		for (int k = 0; k < 3; k++)
			if (sets[k])
				memset(sets[k], 0, bytes);
		for (size_t i = 0; i < ps.n; i++)
			for (int k = 0; k < 3; k++)
				if (sets[k] && (ps.host[i].events & select_asks[k]) &&
				    (ps.host[i].revents & select_sees[k])) {
					sets[k][which[i] / 8] |= 1u << (which[i] % 8);
					r++;
				}
		for (int k = 0; k < 3 && r >= 0; k++)
			if (sets[k] && mm_write(t_mm(t), a[1 + k], sets[k], bytes))
				r = -EFAULT;
	}
	free(which);
	free(copy);
	poll_release(&ps);
	return r;
}

/* struct epoll_event: 16 bytes on riscv64, packed 12 on x86-64. */
struct guest_epoll_event {
	uint32_t events;
	uint32_t pad;
	uint64_t data;
};

SYS(epoll_create1)
{
	int flags = (int)a[0];
	return new_fd(t, epoll_create1(flags | O_CLOEXEC), flags);
}

SYS(epoll_ctl)
{
	struct guest_epoll_event g;
	struct epoll_event ev = { 0 };
	FD_ARG(fd0, a[0]);
	FD_ARG(fd2, a[2]);
	if (a[3]) {
		if (mm_read(t_mm(t), &g, a[3], sizeof(g)))
			return -EFAULT;
		ev.events = g.events;
		ev.data.u64 = g.data;
	}
	return host_ret(epoll_ctl(fd0, (int)a[1], fd2, a[3] ? &ev : NULL));
}

SYS(epoll_pwait)
{
	struct epoll_event ev[256];
	uint64_t mask, *maskp;
	int max = (int)a[2];
	int64_t r;

	FD_ARG(fd0, a[0]);
	if (max <= 0)
		return -EINVAL;
	if (max > (int)ARRAY_SIZE(ev))
		max = ARRAY_SIZE(ev);
	if (!mm_ptr(t_mm(t), a[1], (size_t)max * sizeof(struct guest_epoll_event), PROT_WRITE))
		return -EFAULT;
	if ((r = get_sigmask(t, a[4], a[5], &mask, &maskp)))
		return r;
	r = host_ret(syscall(SYS_epoll_pwait, fd0, ev, max, (int)a[3], maskp, 8));
	end_sigmask(t, maskp);
	for (int64_t i = 0; i < r; i++) {
		struct guest_epoll_event g = { ev[i].events, 0, ev[i].data.u64 };
		if (mm_write(t_mm(t), a[1] + i * sizeof(g), &g, sizeof(g)))
			return -EFAULT;
	}
	return r;
}

SYS(eventfd2)
{
	int flags = (int)a[1];
	return new_fd(t, eventfd((unsigned)a[0], flags | O_CLOEXEC), flags);
}

SYS(signalfd4)
{
	uint64_t mask;
	int flags = (int)a[3];
	if (a[2] != 8)
		return -EINVAL;
	if (mm_read(t_mm(t), &mask, a[1], 8))
		return -EFAULT;
	if ((int)a[0] == -1)
		return new_fd(t, (int)syscall(SYS_signalfd4, -1, &mask, 8, flags | O_CLOEXEC), flags);
	FD_ARG(fd, a[0]); /* a new mask for an existing signalfd */
	return host_ret(syscall(SYS_signalfd4, fd, &mask, 8, flags));
}

SYS(timerfd_create)
{
	int flags = (int)a[1];
	return new_fd(t, timerfd_create((int)a[0], flags | O_CLOEXEC), flags);
}

SYS(timerfd_settime)
{
	struct itimerspec nv, old;
	FD_ARG(fd0, a[0]);
	if (mm_read(t_mm(t), &nv, a[2], sizeof(nv)))
		return -EFAULT;
	if (timerfd_settime(fd0, (int)a[1], &nv, &old) < 0)
		return -errno;
	if (a[3] && mm_write(t_mm(t), a[3], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYS(timerfd_gettime)
{
	struct itimerspec cur;
	FD_ARG(fd0, a[0]);
	if (timerfd_gettime(fd0, &cur) < 0)
		return -errno;
	return mm_write(t_mm(t), a[1], &cur, sizeof(cur));
}

SYS(inotify_init1)
{
	int flags = (int)a[0];
	return new_fd(t, inotify_init1(flags | O_CLOEXEC), flags);
}

SYS(inotify_add_watch)
{
	char path[APP_PATH_MAX], proc[64];
	FD_ARG(fd0, a[0]);
	GET_PATH(path, a[1]);
	int fd = fs_lookup(t_fs(t), AT_FDCWD, path,
			   (a[2] & IN_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0);
	if (fd < 0)
		return fd;
	fd_path(proc, sizeof(proc), fd);
	int64_t r = host_ret(inotify_add_watch(fd0, proc, (uint32_t)a[2] & ~IN_DONT_FOLLOW));
	close(fd);
	return r;
}

SYS(inotify_rm_watch)
{
	FD_ARG(fd0, a[0]);
	return host_ret(inotify_rm_watch(fd0, (int)a[1]));
}

SYS(memfd_create)
{
	char name[256];
	int err = mm_strcpy(t_mm(t), name, a[0], sizeof(name));
	if (err)
		return err == -ENAMETOOLONG ? -EINVAL : err;
	unsigned flags = (unsigned)a[1];
	return new_fd(t, memfd_create(name, flags | MFD_CLOEXEC), flags & MFD_CLOEXEC ? O_CLOEXEC : 0);
}
