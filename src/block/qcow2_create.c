/* Creating a qcow2 image: version 3, 64 KiB clusters, 16-bit refcounts,
 * zlib compression type, QEMU's defaults.  Layout: the header cluster
 * (header, extensions, backing file name), the refcount table, refcount
 * block 0 (counting all of these), then the L1 table. */
#include "block/qcow2.h"
#include "condo/log.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CREATE_CLUSTER_BITS 16
#define CREATE_HEADER_LEN 112 /* v3 with the compression type byte */

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* The backing file's size and format (probed when not given), by opening
 * it the way the new image will. */
static int probe_backing(const char *path, const char *backing, enum block_format *format,
			 uint64_t *size)
{
	char resolved[4096];
	struct block_dev *bd;

	if (block_resolve_backing(path, backing, resolved, sizeof(resolved)) < 0) {
		log_err("img", "%s: backing file name '%s' is not allowed (it climbs with ..)",
			path, backing);
		return -EINVAL;
	}
	if (strlen(backing) > QCOW2_MAX_BACKING_NAME) {
		log_err("img", "%s: backing file name too long", path);
		return -ENAMETOOLONG;
	}
	bd = block_open(resolved, *format, true);
	if (!bd)
		return -EINVAL;
	*format = bd->format;
	if (!*size)
		*size = bd->size;
	block_close(bd);
	return 0;
}

static int write_image(int fd, uint64_t size, const char *backing, enum block_format bfmt)
{
	uint64_t cs = 1ull << CREATE_CLUSTER_BITS, span = cs * (cs / 8);
	uint64_t l1_entries = div_up(size, span), l1_clusters = div_up(l1_entries * 8, cs);
	uint64_t rc_per_block = cs * 8 / 16;
	/* Room to count every cluster the image can grow to: data, L2
	 * tables, refcount blocks and some slack. */
	uint64_t host_clusters = div_up(size, cs) + l1_entries + 64 + l1_clusters;
	uint64_t blocks = div_up(host_clusters, rc_per_block) + 1;
	uint64_t rct_clusters = div_up(blocks * 8, cs);
	uint64_t rct_off = cs, rcb_off = rct_off + rct_clusters * cs, l1_off = rcb_off + cs;
	uint64_t used = 1 + rct_clusters + 1 + l1_clusters;
	uint8_t *buf;
	uint64_t off = CREATE_HEADER_LEN;
	int err;

	if (rct_clusters * cs > QCOW2_MAX_RCT_BYTES || l1_entries * 8 > QCOW2_MAX_L1_BYTES ||
	    used > rc_per_block)
		return -EFBIG;
	buf = calloc(1, cs);
	if (!buf)
		return -ENOMEM;
	qcow2_put32(buf, QCOW2_MAGIC_BE);
	qcow2_put32(buf + 4, 3);
	qcow2_put32(buf + 20, CREATE_CLUSTER_BITS);
	qcow2_put64(buf + 24, size);
	qcow2_put32(buf + 36, (uint32_t)l1_entries);
	qcow2_put64(buf + 40, l1_entries ? l1_off : 0);
	qcow2_put64(buf + 48, rct_off);
	qcow2_put32(buf + 56, (uint32_t)rct_clusters);
	qcow2_put32(buf + 96, 4); /* refcount_order: 16-bit */
	qcow2_put32(buf + 100, CREATE_HEADER_LEN);
	err = qcow2_put_backing(buf, off, cs, backing, bfmt);
	if (!err)
		err = block_pwrite_full(fd, buf, cs, 0);
	memset(buf, 0, cs);
	qcow2_put64(buf, rcb_off);
	if (!err)
		err = block_pwrite_full(fd, buf, 8, rct_off);
	memset(buf, 0, cs);
	for (uint64_t c = 0; c < used; c++)
		qcow2_rc_write(buf, 4, c, 1);
	if (!err)
		err = block_pwrite_full(fd, buf, cs, rcb_off);
	/* The L1 table: zeros to its end, which fixes the file's length. */
	if (!err && ftruncate(fd, (off_t)(used * cs)) < 0)
		err = -errno;
	if (!err && fsync(fd) < 0)
		err = -errno;
	free(buf);
	return err;
}

int qcow2_create(const char *path, uint64_t size, const char *backing,
		 enum block_format backing_format)
{
	int fd, err;

	if (backing) {
		err = probe_backing(path, backing, &backing_format, &size);
		if (err)
			return err;
	}
	if (size > (1ull << 50)) {
		log_err("img", "%s: size %" PRIu64 " too large (at most 1 PiB)", path, size);
		return -EFBIG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		log_err("img", "cannot create %s: %s", path, strerror(-err));
		return err;
	}
	err = write_image(fd, size, backing, backing_format);
	close(fd);
	if (err)
		log_err("img", "cannot write %s: %s", path, strerror(-err));
	return err;
}
