/* Block back ends: a disk image behind a small ops table, so device models
 * (virtio-blk) do not care whether it is a raw file or, later, qcow2.
 * Transfers are vectored and go straight to the caller's buffers. */
#ifndef CONDO_BLOCK_H
#define CONDO_BLOCK_H

#include "condo/types.h"

#include <sys/uio.h>

struct block_dev;

struct block_ops {
	/* Transfer all of iov at byte offset, or fail: 0 or a negative errno.
	 * Reads past the image's end are -EINVAL; so are writes to a
	 * read-only image (-EROFS). */
	int (*preadv)(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset);
	int (*pwritev)(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset);
	/* Make completed writes durable (fdatasync for a raw file). */
	int (*flush)(struct block_dev *bd);
	void (*close)(struct block_dev *bd);
};

struct block_dev {
	const struct block_ops *ops;
	uint64_t size;  /* bytes */
	bool readonly;
	char serial[21]; /* up to 20 characters, NUL-terminated: virtio-blk GET_ID */
};

/* Open a raw image (a regular file or a host block device) read-only or
 * read-write, locked against a second writer (flock: shared when
 * read-only, exclusive when read-write).  NULL with a one-line error
 * logged when it cannot be opened or is in use. */
struct block_dev *block_raw_open(const char *path, bool readonly);

static inline int block_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			       uint64_t offset)
{
	return bd->ops->preadv(bd, iov, iovcnt, offset);
}

static inline int block_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
				uint64_t offset)
{
	return bd->ops->pwritev(bd, iov, iovcnt, offset);
}

static inline int block_flush(struct block_dev *bd)
{
	return bd->ops->flush(bd);
}

static inline void block_close(struct block_dev *bd)
{
	if (bd)
		bd->ops->close(bd);
}

#endif
