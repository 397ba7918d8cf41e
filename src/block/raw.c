/* Raw disk images: the image file is the disk, byte for byte.  Vectored
 * preadv/pwritev at the disk offset, fdatasync for flush. */
#include "condo/block.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw_dev {
	struct block_dev bd; /* first: the ops get a block_dev pointer */
	int fd;
};

static uint64_t iov_bytes(const struct iovec *iov, int iovcnt)
{
	uint64_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Loop until every byte moved: preadv/pwritev may stop short (signals,
 * large requests).  A read that meets the end of a file that shrank
 * under us reads zeros, like a hole. */
static int raw_io(struct raw_dev *raw, const struct iovec *iov, int iovcnt, uint64_t offset,
		  bool write)
{
	uint64_t left = iov_bytes(iov, iovcnt);
	struct iovec *copy = NULL, *cur = NULL;
	int ret = 0;

	if (offset > raw->bd.size || left > raw->bd.size - offset)
		return -EINVAL;
	while (left > 0) {
		const struct iovec *v = cur ? cur : iov;
		ssize_t n = write ? pwritev(raw->fd, v, iovcnt, (off_t)offset)
				  : preadv(raw->fd, v, iovcnt, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0 && write) {
			ret = -EIO;
			break;
		}
		if ((uint64_t)n == left)
			break;
		if (!cur) {
			copy = malloc((size_t)iovcnt * sizeof(*copy));
			if (!copy) {
				ret = -ENOMEM;
				break;
			}
			memcpy(copy, iov, (size_t)iovcnt * sizeof(*copy));
			cur = copy;
		}
		if (n == 0) { /* end of file: zero the rest */
			for (int i = 0; i < iovcnt; i++)
				memset(cur[i].iov_base, 0, cur[i].iov_len);
			break;
		}
		left -= (uint64_t)n;
		offset += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= cur->iov_len) {
			n -= (ssize_t)cur->iov_len;
			cur++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			cur->iov_base = (uint8_t *)cur->iov_base + n;
			cur->iov_len -= (size_t)n;
		}
	}
	free(copy);
	return ret;
}

static int raw_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	return raw_io((struct raw_dev *)bd, iov, iovcnt, offset, false);
}

static int raw_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	if (bd->readonly)
		return -EROFS;
	return raw_io((struct raw_dev *)bd, iov, iovcnt, offset, true);
}

static int raw_flush(struct block_dev *bd)
{
	struct raw_dev *raw = (struct raw_dev *)bd;

	if (bd->readonly)
		return 0;
	return fdatasync(raw->fd) < 0 ? -errno : 0;
}

static void raw_close(struct block_dev *bd)
{
	struct raw_dev *raw = (struct raw_dev *)bd;

	close(raw->fd);
	free(raw);
}

static const struct block_ops raw_ops = {
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.close = raw_close,
};

struct block_dev *block_raw_open(const char *path, bool readonly)
{
	struct raw_dev *raw = calloc(1, sizeof(*raw));
	char serial[32] = { 0 };
	struct stat st;
	int err;

	if (!raw) {
		log_err("block", "%s: out of memory", path);
		return NULL;
	}
	raw->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (raw->fd < 0) {
		err = errno;
		log_err("block", "cannot open disk image %s: %s", path, strerror(err));
		goto err;
	}
	if (fstat(raw->fd, &st) < 0) {
		err = errno;
		log_err("block", "cannot stat disk image %s: %s", path, strerror(err));
		goto err;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(raw->fd, BLKGETSIZE64, &raw->bd.size) < 0) {
			err = errno;
			log_err("block", "cannot get the size of %s: %s", path, strerror(err));
			goto err;
		}
	} else if (S_ISREG(st.st_mode)) {
		raw->bd.size = (uint64_t)st.st_size;
	} else {
		err = EINVAL;
		log_err("block", "disk image %s is not a regular file or block device", path);
		goto err;
	}
	/* Two VMs writing one image corrupt it; a reader beside a writer
	 * sees garbage.  Advisory, like QEMU's image locking. */
	if (flock(raw->fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		err = errno;
		if (err == EWOULDBLOCK)
			log_err("block", "disk image %s is in use by another process", path);
		else
			log_err("block", "cannot lock disk image %s: %s", path, strerror(err));
		goto err;
	}
	raw->bd.ops = &raw_ops;
	raw->bd.readonly = readonly;
	/* A stable serial per image (its inode) so /dev/disk/by-id is stable. */
	snprintf(serial, sizeof(serial), "condo-%" PRIx64,
		 (uint64_t)(st.st_ino & 0xffffffffffffffull));
	memcpy(raw->bd.serial, serial, sizeof(raw->bd.serial) - 1);
	raw->bd.serial[sizeof(raw->bd.serial) - 1] = '\0';
	return &raw->bd;
err:
	if (raw->fd >= 0)
		close(raw->fd);
	free(raw);
	errno = err;
	return NULL;
}
