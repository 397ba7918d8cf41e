/* Raw disk images: the image file is the disk, byte for byte.  Vectored
 * preadv/pwritev at the disk offset, fdatasync for flush.  Write-zeroes
 * writes zeros; discard punches a hole in a regular file (fallocate, on
 * the block I/O threads) and is a no-op on a block device.  cache=none
 * sets O_DIRECT: a transfer whose buffers are not aligned as the file
 * system wants goes through an aligned bounce buffer; an offset or length
 * that is not a multiple of its block size is an error (the device tells
 * the guest that block size, so a conforming driver never asks). */
#define _GNU_SOURCE
#include "block/block_internal.h"
#include "block/composite.h"
#include "condo/block_aio.h"
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
	bool probed; /* the format was guessed: refuse to become a qcow2 image */
	bool direct; /* O_DIRECT (cache=none) */
	uint32_t mem_align; /* with direct: buffer alignment the file system wants */
};

/* With O_DIRECT: may iov go to the file as it is? */
static bool direct_aligned(const struct raw_dev *raw, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (raw->mem_align - 1))
			return false;
	return true;
}

static bool direct_range_ok(const struct raw_dev *raw, uint64_t offset, uint64_t len)
{
	return !((offset | len) & (raw->bd.block_size - 1));
}

/* Loop until every byte moved: preadv/pwritev may stop short (signals,
 * large requests).  A read that meets the end of a file that shrank
 * under us reads zeros, like a hole. */
static int raw_io(struct raw_dev *raw, const struct iovec *iov, int iovcnt, uint64_t offset,
		  bool write)
{
	uint64_t left = block_iov_total(iov, iovcnt);
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

/* O_DIRECT with buffers the file system refuses: through an aligned copy. */
static int raw_bounce(struct raw_dev *raw, const struct iovec *iov, int iovcnt, uint64_t offset,
		      bool write)
{
	uint64_t len = block_iov_total(iov, iovcnt);
	struct iovec one;
	int ret;

	if (len > SIZE_MAX - raw->mem_align)
		return -EINVAL;
	one.iov_len = (size_t)len;
	one.iov_base = aligned_alloc(raw->mem_align, (one.iov_len + raw->mem_align - 1) &
							     ~(size_t)(raw->mem_align - 1));
	if (!one.iov_base)
		return -ENOMEM;
	if (write)
		block_iov_to_buf(iov, iovcnt, one.iov_base);
	ret = raw_io(raw, &one, 1, offset, write);
	if (!ret && !write)
		block_iov_from_buf(iov, iovcnt, one.iov_base);
	free(one.iov_base);
	return ret;
}

static int raw_transfer(struct raw_dev *raw, const struct iovec *iov, int iovcnt, uint64_t offset,
			bool write)
{
	if (!raw->direct)
		return raw_io(raw, iov, iovcnt, offset, write);
	if (!direct_range_ok(raw, offset, block_iov_total(iov, iovcnt)))
		return -EINVAL;
	if (!direct_aligned(raw, iov, iovcnt))
		return raw_bounce(raw, iov, iovcnt, offset, write);
	return raw_io(raw, iov, iovcnt, offset, write);
}

static int raw_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	return raw_transfer((struct raw_dev *)bd, iov, iovcnt, offset, false);
}

/* QEMU's lesson: a guest that writes a qcow2 header into a raw disk opened
 * by probing would have it read as qcow2 next time, backing file and all;
 * a composite descriptor's first line would name host files as parts.  So
 * a probed raw image refuses writes that put either magic at offset 0. */
static bool writes_format_magic(const struct iovec *iov, int iovcnt, uint64_t offset)
{
	uint8_t head[COMPOSITE_MAGIC_LEN];
	struct iovec sub[4];
	uint64_t total = block_iov_total(iov, iovcnt);
	size_t want = total < sizeof(head) ? (size_t)total : sizeof(head);
	int n;

	if (offset > 0 || want < 4)
		return false;
	n = block_iov_sub(iov, iovcnt < 4 ? iovcnt : 4, 0, want, sub);
	want = (size_t)block_iov_total(sub, n);
	if (want < 4)
		return false;
	block_iov_to_buf(sub, n, head);
	return !memcmp(head, "QFI\xfb", 4) ||
	       (want == sizeof(head) && !memcmp(head, COMPOSITE_MAGIC, sizeof(head)));
}

static int raw_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	struct raw_dev *raw = (struct raw_dev *)bd;

	if (bd->readonly)
		return -EROFS;
	if (raw->probed && writes_format_magic(iov, iovcnt, offset)) {
		log_warn("block", "refused a write of a qcow2 header or composite descriptor to a raw "
			 "image opened without format=raw");
		return -EPERM;
	}
	return raw_transfer(raw, iov, iovcnt, offset, true);
}

static int raw_flush(struct block_dev *bd)
{
	struct raw_dev *raw = (struct raw_dev *)bd;

	if (bd->readonly)
		return 0;
	return fdatasync(raw->fd) < 0 ? -errno : 0;
}

static int raw_check_range(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	if (bd->readonly)
		return -EROFS;
	if (offset > bd->size || len > bd->size - offset)
		return -EINVAL;
	return 0;
}

/* Zeros written out, 64 KiB at a time. */
static int raw_zero_by_writing(struct raw_dev *raw, uint64_t offset, uint64_t len)
{
	/* aligned for O_DIRECT */
	static const uint8_t zeros[65536] __attribute__((aligned(4096)));
	int ret = 0;

	while (len > 0 && !ret) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ret = block_pwrite_full(raw->fd, zeros, n, offset);
		offset += n;
		len -= n;
	}
	return ret;
}

static int raw_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	int ret = raw_check_range(bd, offset, len);

	return ret ? ret : raw_zero_by_writing((struct raw_dev *)bd, offset, len);
}

/* A hint (virtio 1.2 §5.2.6.2): a regular file gives the space back; a
 * file system that cannot punch holes, and a block device, keep the data. */
static int raw_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	struct raw_dev *raw = (struct raw_dev *)bd;
	struct stat st;
	int ret = raw_check_range(bd, offset, len);

	if (ret || !len || fstat(raw->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return ret;
	if (fallocate(raw->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
		      (off_t)len) < 0 && errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

/* The ring may take reads, writes and flushes that need none of the
 * checks above: not a write that could plant a qcow2 header in a probed
 * image, nothing on a read-only image, nothing O_DIRECT would refuse. */
static int raw_direct_fd(struct block_dev *bd, const struct block_req *req)
{
	struct raw_dev *raw = (struct raw_dev *)bd;

	if (!req)
		return raw->fd;
	switch (req->op) {
	case BLOCK_REQ_READ:
	case BLOCK_REQ_WRITE:
		if (req->op == BLOCK_REQ_WRITE && (bd->readonly || (raw->probed && req->offset == 0)))
			return -1;
		if (req->offset > bd->size || block_iov_total(req->iov, req->iovcnt) >
						      bd->size - req->offset)
			return -1;
		if (raw->direct &&
		    (!direct_range_ok(raw, req->offset, block_iov_total(req->iov, req->iovcnt)) ||
		     !direct_aligned(raw, req->iov, req->iovcnt)))
			return -1;
		return raw->fd;
	case BLOCK_REQ_FLUSH:
		return bd->readonly ? -1 : raw->fd;
	default:
		return -1;
	}
}

/* cache=none: the file system's alignment for direct I/O (statx, Linux
 * 6.1), else the safe guess of a 4 KiB page. */
static int raw_set_direct(struct block_dev *bd)
{
	struct raw_dev *raw = (struct raw_dev *)bd;
	struct statx stx;
	uint32_t mem = 4096, off = 4096;
	int flags = fcntl(raw->fd, F_GETFL);

	if (flags < 0 || fcntl(raw->fd, F_SETFL, flags | O_DIRECT) < 0)
		return -errno;
	if (statx(raw->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_mem_align && stx.stx_dio_offset_align) {
		mem = stx.stx_dio_mem_align;
		off = stx.stx_dio_offset_align;
	}
	raw->direct = true;
	raw->mem_align = mem;
	bd->block_size = off > 512 ? off : 512;
	return 0;
}

static int raw_status(struct block_dev *bd, uint64_t offset, uint64_t *len, uint64_t *host,
		      enum block_extent *kind)
{
	if (offset >= bd->size)
		return -EINVAL;
	if (*len > bd->size - offset)
		*len = bd->size - offset;
	*host = offset;
	*kind = BLOCK_EXTENT_DATA;
	return 0;
}

static void raw_info(struct block_dev *bd, struct block_info *info)
{
	*info = (struct block_info){ .format = BLOCK_FORMAT_RAW, .size = bd->size };
}

/* A regular file only: a host block device keeps its size. */
static int raw_resize(struct block_dev *bd, uint64_t size)
{
	struct raw_dev *raw = (struct raw_dev *)bd;
	struct stat st;

	if (bd->readonly)
		return -EROFS;
	if (fstat(raw->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOTSUP;
	if (ftruncate(raw->fd, (off_t)size) < 0 || fsync(raw->fd) < 0)
		return -errno;
	bd->size = size;
	return 0;
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
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.status = raw_status,
	.info = raw_info,
	.resize = raw_resize,
	.close = raw_close,
	.direct_fd = raw_direct_fd,
	.set_direct = raw_set_direct,
};

struct block_dev *raw_from_fd(int fd, const struct stat *st, const char *path, bool readonly,
			      bool probed)
{
	struct raw_dev *raw = calloc(1, sizeof(*raw));
	int err;

	if (!raw) {
		log_err("block", "%s: out of memory", path);
		err = ENOMEM;
		goto err;
	}
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &raw->bd.size) < 0) {
			err = errno;
			log_err("block", "cannot get the size of %s: %s", path, strerror(err));
			goto err;
		}
	} else {
		raw->bd.size = (uint64_t)st->st_size;
	}
	raw->fd = fd;
	raw->probed = probed;
	raw->bd.ops = &raw_ops;
	raw->bd.readonly = readonly;
	raw->bd.format = BLOCK_FORMAT_RAW;
	raw->bd.block_size = 512;
	block_set_serial(&raw->bd, st);
	return &raw->bd;
err:
	close(fd);
	free(raw);
	errno = err;
	return NULL;
}
