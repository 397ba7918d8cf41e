/* The guest's descriptor table.  A guest fd is an index into this table,
 * which condo owns; each slot points at a host descriptor wrapped in a
 * reference-counted struct app_file.  The guest can therefore only ever name
 * descriptors it was given: condo's own (the root, code buffers, pipes,
 * short-lived parent directories) live in the host's table at numbers the
 * guest has no way to reach, and a race on guest numbers can at worst swap
 * the guest's own files.
 *
 * A system call takes a reference for as long as it uses the host fd, as
 * Linux's fget() does, so a concurrent close() by another guest thread
 * cannot make the number free for reuse (by condo or by the guest) while a
 * host call is still using it.  The host fd is closed when the last slot
 * and the last call let go of it.  dup() shares one app_file, as dup'ed fds
 * share one open file description; close-on-exec belongs to the slot. */
#define _GNU_SOURCE
#include "app/app_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static struct app_file *file_new(int host_fd)
{
	struct app_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->host_fd = host_fd;
	f->refs = 1;
	return f;
}

static void file_hold(struct app_file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void fdt_put(struct app_file *f)
{
	if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		close(f->host_fd);
		free(f);
	}
}

int fdt_init(struct fd_table *ft)
{
	struct rlimit rl;

	memset(ft, 0, sizeof(*ft));
	pthread_mutex_init(&ft->lock, NULL);
	ft->limit = 1024;
	/* The guest's RLIMIT_NOFILE starts as condo's own soft limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		ft->limit = rl.rlim_cur < FDT_MAX ? (int)rl.rlim_cur : FDT_MAX;
	return 0;
}

void fdt_destroy(struct fd_table *ft)
{
	for (int i = 0; i < ft->cap; i++)
		fdt_put(ft->slot[i].file);
	free(ft->slot);
	ft->slot = NULL;
	ft->cap = 0;
}

/* Make slot n exist; called with the lock held. */
static int grow(struct fd_table *ft, int n)
{
	if (n < ft->cap)
		return 0;
	int cap = ft->cap ? ft->cap : 64;
	while (cap <= n)
		cap *= 2;
	struct fd_slot *s = realloc(ft->slot, (size_t)cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + ft->cap, 0, (size_t)(cap - ft->cap) * sizeof(*s));
	ft->slot = s;
	ft->cap = cap;
	return 0;
}

/* The lowest free number >= min, or -EMFILE; lock held. */
static int lowest_free(struct fd_table *ft, int min)
{
	for (int fd = min; fd < ft->limit; fd++)
		if (fd >= ft->cap || !ft->slot[fd].file)
			return grow(ft, fd) ? -ENOMEM : fd;
	return -EMFILE;
}

/* Put f at fd (which must exist), returning what was there; lock held. */
static struct app_file *place(struct fd_table *ft, int fd, struct app_file *f, bool cloexec)
{
	struct app_file *old = ft->slot[fd].file;
	ft->slot[fd].file = f;
	ft->slot[fd].cloexec = cloexec;
	return old;
}

int fdt_install(struct fd_table *ft, int host_fd, bool cloexec)
{
	if (host_fd < 0)
		return host_fd;
	struct app_file *f = file_new(host_fd);
	if (!f) {
		close(host_fd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&ft->lock);
	int fd = lowest_free(ft, 0);
	if (fd >= 0)
		place(ft, fd, f, cloexec);
	pthread_mutex_unlock(&ft->lock);
	if (fd < 0)
		fdt_put(f);
	return fd;
}

int fdt_install_at(struct fd_table *ft, int fd, int host_fd, bool cloexec)
{
	struct app_file *f = file_new(host_fd);
	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&ft->lock);
	int err = fd < 0 || fd >= FDT_MAX ? -EBADF : grow(ft, fd);
	struct app_file *old = err ? NULL : place(ft, fd, f, cloexec);
	pthread_mutex_unlock(&ft->lock);
	if (err) {
		free(f); /* the host fd stays the caller's */
		return err;
	}
	fdt_put(old);
	return fd;
}

struct app_file *fdt_get(struct fd_table *ft, int fd)
{
	struct app_file *f = NULL;
	pthread_mutex_lock(&ft->lock);
	if (fd >= 0 && fd < ft->cap && (f = ft->slot[fd].file))
		file_hold(f);
	pthread_mutex_unlock(&ft->lock);
	return f;
}

int fdt_close(struct fd_table *ft, int fd)
{
	struct app_file *f = NULL;
	pthread_mutex_lock(&ft->lock);
	if (fd >= 0 && fd < ft->cap)
		f = place(ft, fd, NULL, false);
	pthread_mutex_unlock(&ft->lock);
	if (!f)
		return -EBADF;
	fdt_put(f);
	return 0;
}

int fdt_close_range(struct fd_table *ft, unsigned first, unsigned last, bool cloexec_only)
{
	pthread_mutex_lock(&ft->lock);
	unsigned end = last < (unsigned)ft->cap ? last + 1 : (unsigned)ft->cap;
	for (unsigned fd = first; fd < end; fd++) {
		if (cloexec_only) {
			ft->slot[fd].cloexec = true;
			continue;
		}
		struct app_file *f = place(ft, (int)fd, NULL, false);
		if (f) {
			/* Never close under the lock: a last close may block. */
			pthread_mutex_unlock(&ft->lock);
			fdt_put(f);
			pthread_mutex_lock(&ft->lock);
			end = last < (unsigned)ft->cap ? last + 1 : (unsigned)ft->cap;
		}
	}
	pthread_mutex_unlock(&ft->lock);
	return 0;
}

int fdt_dup(struct fd_table *ft, int fd, int min, bool cloexec)
{
	int ret;
	if (min < 0)
		return -EINVAL;
	pthread_mutex_lock(&ft->lock);
	struct app_file *f = fd >= 0 && fd < ft->cap ? ft->slot[fd].file : NULL;
	if (!f)
		ret = -EBADF;
	else if (min >= ft->limit)
		ret = -EINVAL;
	else if ((ret = lowest_free(ft, min)) >= 0) {
		file_hold(f);
		place(ft, ret, f, cloexec);
	}
	pthread_mutex_unlock(&ft->lock);
	return ret;
}

int fdt_dup3(struct fd_table *ft, int oldfd, int newfd, bool cloexec)
{
	struct app_file *old = NULL;
	int ret = newfd;

	pthread_mutex_lock(&ft->lock);
	struct app_file *f = oldfd >= 0 && oldfd < ft->cap ? ft->slot[oldfd].file : NULL;
	if (!f || newfd < 0 || newfd >= ft->limit)
		ret = -EBADF;
	else if ((ret = grow(ft, newfd)) == 0) {
		file_hold(f);
		old = place(ft, newfd, f, cloexec);
		ret = newfd;
	}
	pthread_mutex_unlock(&ft->lock);
	fdt_put(old);
	return ret;
}

int fdt_cloexec(struct fd_table *ft, int fd, int set)
{
	int ret = -EBADF;
	pthread_mutex_lock(&ft->lock);
	if (fd >= 0 && fd < ft->cap && ft->slot[fd].file) {
		if (set >= 0)
			ft->slot[fd].cloexec = set;
		ret = ft->slot[fd].cloexec;
	}
	pthread_mutex_unlock(&ft->lock);
	return ret;
}

int fdt_set_limit(struct fd_table *ft, uint64_t limit)
{
	pthread_mutex_lock(&ft->lock);
	ft->limit = limit < FDT_MAX ? (int)limit : FDT_MAX;
	pthread_mutex_unlock(&ft->lock);
	return 0;
}

int fdt_adopt_inherited(struct fd_table *ft, const int *keep, size_t nkeep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int err = 0;

	if (!d)
		return -errno;
	int self = dirfd(d);
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		bool skip = *end || fd < 0 || fd == self;
		for (size_t i = 0; i < nkeep && !skip; i++)
			skip = keep[i] == fd;
		if (skip)
			continue;
		/* The guest knows it by its number; condo keeps it close-on-exec
		 * on the host and decides itself what a guest execve passes on. */
		int flags = fcntl((int)fd, F_GETFD);
		if (flags < 0 || (flags & FD_CLOEXEC))
			continue; /* not meant to be inherited */
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		if (fdt_install_at(ft, (int)fd, (int)fd, false) < 0)
			err = -ENOMEM;
	}
	closedir(d);
	return err;
}

void fdt_after_fork(struct fd_table *ft)
{
	/* The parent held the lock across fork(), so the table is whole.
	 * Only the forking thread survives, and it holds no references:
	 * whatever other threads held is gone with them.  Count the slots.
	 * (A file only another thread held stays open here, unreachable.) */
	pthread_mutex_init(&ft->lock, NULL);
	for (int i = 0; i < ft->cap; i++)
		if (ft->slot[i].file)
			ft->slot[i].file->refs = 0;
	for (int i = 0; i < ft->cap; i++)
		if (ft->slot[i].file)
			ft->slot[i].file->refs++;
}

int fdt_for_exec(struct fd_table *ft, struct fdt_entry **out, size_t *n)
{
	size_t count = 0;
	struct fdt_entry *e = NULL;

	pthread_mutex_lock(&ft->lock);
	for (int i = 0; i < ft->cap; i++) {
		if (!ft->slot[i].file || ft->slot[i].cloexec)
			continue;
		struct fdt_entry *grown = realloc(e, (count + 1) * sizeof(*e));
		if (!grown) {
			pthread_mutex_unlock(&ft->lock);
			fdt_release_exec(e, count);
			return -ENOMEM;
		}
		e = grown;
		e[count].guest_fd = i;
		e[count].host_fd = ft->slot[i].file->host_fd;
		e[count].file = ft->slot[i].file;
		file_hold(e[count].file); /* a racing close cannot free the number */
		count++;
	}
	pthread_mutex_unlock(&ft->lock);
	*out = e;
	*n = count;
	return 0;
}

void fdt_release_exec(struct fdt_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fdt_put(e[i].file);
	free(e);
}
