/* Dual-mapped code memory (W^X).  memfd pages are allocated when first
 * written, so a large cache costs only what the translator fills.  The
 * views are not inherited by fork(): a shared memfd would let parent and
 * child overwrite each other's code (see jit.c for the child's side). */
#define _GNU_SOURCE
#include "jit/codebuf.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

int codebuf_init(struct codebuf *cb, size_t size)
{
	int err;

	cb->size = size;
	cb->rw = cb->rx = MAP_FAILED;
	cb->fd = memfd_create("condo-jit", MFD_CLOEXEC);
	if (cb->fd < 0)
		return -errno;
	if (ftruncate(cb->fd, (off_t)size) < 0)
		goto err;
	cb->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, cb->fd, 0);
	if (cb->rw == MAP_FAILED)
		goto err;
	cb->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, cb->fd, 0);
	if (cb->rx == MAP_FAILED)
		goto err;
	if (madvise(cb->rw, size, MADV_DONTFORK) < 0 || madvise(cb->rx, size, MADV_DONTFORK) < 0)
		goto err;
	/* The mappings keep the memory; an open fd would only be one more
	 * descriptor of ours an app-mode guest could see. */
	close(cb->fd);
	cb->fd = -1;
	return 0;
err:
	err = -errno;
	codebuf_destroy(cb);
	return err;
}

void codebuf_forget(struct codebuf *cb)
{
	/* not mapped in this process (a fork child) */
	cb->rw = cb->rx = NULL;
	cb->fd = -1;
}

void codebuf_destroy(struct codebuf *cb)
{
	if (cb->rx && cb->rx != MAP_FAILED)
		munmap(cb->rx, cb->size);
	if (cb->rw && cb->rw != MAP_FAILED)
		munmap(cb->rw, cb->size);
	if (cb->fd >= 0)
		close(cb->fd);
	cb->rw = cb->rx = NULL;
	cb->fd = -1;
}
