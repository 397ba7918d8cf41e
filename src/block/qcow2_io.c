/* qcow2 guest I/O: each request is split at cluster boundaries and each
 * piece goes where its L2 entry says (QEMU's docs/interop/qcow2.txt,
 * "Cluster mapping"): stored data, zeros, the backing file, or a
 * compressed cluster.  Writes to anything but a cluster this image owns
 * alone (COPIED) go to a new cluster: data first, then the L2 entry, and
 * the old cluster is given back only after a flush (qcow2_meta.c). */
#include "block/qcow2.h"
#include "condo/log.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum cluster_kind { CL_UNALLOC, CL_ZERO, CL_NORMAL, CL_COMPRESSED };

static struct qcow2 *to_qcow2(struct block_dev *bd)
{
	return (struct qcow2 *)bd;
}

static int corrupt(struct qcow2 *q, const char *what, uint64_t value)
{
	log_err("block", "%s: corrupt image: %s 0x%" PRIx64, q->path, what, value);
	return -EIO;
}

static enum cluster_kind classify(const struct qcow2 *q, uint64_t entry, uint64_t *host)
{
	*host = entry & QCOW2_OFFSET_MASK;
	if (entry & QCOW2_OFLAG_COMPRESSED)
		return CL_COMPRESSED;
	if (q->version >= 3 && (entry & QCOW2_OFLAG_ZERO))
		return CL_ZERO;
	return *host ? CL_NORMAL : CL_UNALLOC;
}

/* The L2 table for guest offset: NULL (and 0) when there is none and
 * alloc is false. */
static int get_l2(struct qcow2 *q, uint64_t guest, bool alloc, uint8_t **table,
		  uint64_t *table_off)
{
	uint64_t i = guest >> (q->cluster_bits * 2 - 3), off, entry;
	int err;

	*table = NULL;
	if (i >= q->l1_size)
		return corrupt(q, "guest offset beyond the L1 table", guest);
	off = q->l1[i] & QCOW2_OFFSET_MASK;
	if (!off && !alloc)
		return 0;
	if (!off) {
		err = qcow2_alloc_cluster(q, &off);
		if (err)
			return err;
		memset(q->cluster_buf, 0, q->cluster_size);
		err = block_pwrite_full(q->fd, q->cluster_buf, q->cluster_size, off);
		if (err)
			return err;
		if (off + q->cluster_size > q->file_size)
			q->file_size = off + q->cluster_size;
		/* The table exists (zeroed) before L1 points at it. */
		entry = htobe64(off | QCOW2_OFLAG_COPIED);
		err = block_pwrite_full(q->fd, &entry, 8, q->l1_offset + i * 8);
		if (err)
			return err;
		q->l1[i] = off | QCOW2_OFLAG_COPIED;
	}
	*table_off = off;
	*table = qcow2_cache_get(q, &q->l2_cache, off, &err);
	return *table ? 0 : err;
}

static uint64_t l2_index(const struct qcow2 *q, uint64_t guest)
{
	return (guest >> q->cluster_bits) & (q->l2_entries - 1);
}

static int get_entry(struct qcow2 *q, uint64_t guest, uint64_t *entry)
{
	uint64_t table_off;
	uint8_t *table;
	int err = get_l2(q, guest, false, &table, &table_off);

	*entry = 0;
	if (!err && table)
		memcpy(entry, table + l2_index(q, guest) * 8, 8), *entry = be64toh(*entry);
	return err;
}

static int set_entry(struct qcow2 *q, uint64_t guest, uint64_t entry)
{
	uint64_t table_off, be = htobe64(entry), i = l2_index(q, guest);
	uint8_t *table;
	int err = get_l2(q, guest, true, &table, &table_off);

	if (err)
		return err;
	memcpy(table + i * 8, &be, 8);
	return block_pwrite_full(q->fd, &be, 8, table_off + i * 8);
}

static int inflate_zlib(struct qcow2 *q, uint64_t in_len)
{
	z_stream z = { 0 };
	int ret;

	/* Raw deflate with a 4 KiB window, QEMU's choice (-12). */
	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	z.next_in = q->zbuf;
	z.avail_in = (uInt)in_len;
	z.next_out = q->dbuf;
	z.avail_out = (uInt)q->cluster_size;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return (ret == Z_STREAM_END || ret == Z_BUF_ERROR) && z.avail_out == 0 ? 0 : -EIO;
}

static int inflate_zstd(struct qcow2 *q, uint64_t in_len)
{
	ZSTD_DCtx *ctx = ZSTD_createDCtx();
	ZSTD_inBuffer in = { q->zbuf, in_len, 0 };
	ZSTD_outBuffer out = { q->dbuf, q->cluster_size, 0 };
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	/* The compressed length is rounded up to sectors: stop once the
	 * cluster is full, whatever padding follows. */
	while (out.pos < out.size) {
		size_t in_was = in.pos, out_was = out.pos;
		size_t ret = ZSTD_decompressStream(ctx, &out, &in);
		if (ZSTD_isError(ret) || (in.pos == in_was && out.pos == out_was)) {
			err = -EIO;
			break;
		}
	}
	ZSTD_freeDCtx(ctx);
	return err;
}

static int decompress(struct qcow2 *q, uint64_t entry)
{
	uint64_t off, len;
	int err;

	if (q->dbuf_entry == entry)
		return 0;
	q->dbuf_entry = 0;
	qcow2_compressed_range(q, entry, &off, &len);
	if (len > 2 * q->cluster_size)
		len = 2 * q->cluster_size;
	if (off < q->cluster_size || off >= q->file_size)
		return corrupt(q, "compressed cluster outside the file at", off);
	err = block_pread_full(q->fd, q->zbuf, len, off);
	if (err)
		return err;
	err = q->compression == QCOW2_COMPRESSION_ZSTD ? inflate_zstd(q, len) : inflate_zlib(q, len);
	if (err)
		return corrupt(q, "compressed cluster does not decompress, at", off);
	q->dbuf_entry = entry;
	return 0;
}

static int fd_preadv(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off)
{
	for (int i = 0; i < n; off += iov[i].iov_len, i++) {
		int err = block_pread_full(q->fd, iov[i].iov_base, iov[i].iov_len, off);
		if (err)
			return err;
	}
	return 0;
}

static int fd_pwritev(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off)
{
	for (int i = 0; i < n; off += iov[i].iov_len, i++) {
		int err = block_pwrite_full(q->fd, iov[i].iov_base, iov[i].iov_len, off);
		if (err)
			return err;
	}
	if (off > q->file_size)
		q->file_size = off;
	return 0;
}

/* Guest bytes the backing file holds; zeros past its end. */
static int read_backing(struct qcow2 *q, const struct iovec *iov, int n, uint64_t guest,
			uint64_t len)
{
	struct iovec part[n > 0 ? n : 1];
	uint64_t have = 0;
	int m, err;

	if (q->backing && guest < q->backing->size)
		have = q->backing->size - guest < len ? q->backing->size - guest : len;
	if (have) {
		m = block_iov_sub(iov, n, 0, have, part);
		err = block_preadv(q->backing, part, m, guest);
		if (err)
			return err;
	}
	m = block_iov_sub(iov, n, have, len - have, part);
	block_iov_zero(part, m);
	return 0;
}

/* Read len bytes at guest (inside one cluster) into iov. */
static int read_in_cluster(struct qcow2 *q, const struct iovec *iov, int n, uint64_t guest,
			   uint64_t len)
{
	uint64_t entry, host, in = guest & (q->cluster_size - 1);
	int err = get_entry(q, guest, &entry);

	if (err)
		return err;
	switch (classify(q, entry, &host)) {
	case CL_UNALLOC:
		return read_backing(q, iov, n, guest, len);
	case CL_ZERO:
		block_iov_zero(iov, n);
		return 0;
	case CL_NORMAL:
		if (host & (q->cluster_size - 1))
			return corrupt(q, "misaligned data cluster", host);
		return fd_preadv(q, iov, n, host + in);
	case CL_COMPRESSED:
		err = decompress(q, entry);
		if (!err)
			block_iov_from_buf(iov, n, q->dbuf + in);
		return err;
	}
	return -EIO;
}

/* Call fn for each piece of [offset, offset+len) inside one cluster. */
typedef int (*chunk_fn)(struct qcow2 *q, const struct iovec *iov, int n, uint64_t guest,
			uint64_t len);

static int for_each_cluster(struct qcow2 *q, const struct iovec *iov, int iovcnt,
			    uint64_t offset, chunk_fn fn)
{
	uint64_t total = block_iov_total(iov, iovcnt), done = 0;
	struct iovec part[iovcnt > 0 ? iovcnt : 1];
	int err = 0;

	if (offset > q->bd.size || total > q->bd.size - offset)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	while (done < total && !err) {
		uint64_t guest = offset + done;
		uint64_t len = q->cluster_size - (guest & (q->cluster_size - 1));
		if (len > total - done)
			len = total - done;
		int n = block_iov_sub(iov, iovcnt, done, len, part);
		err = fn(q, part, n, guest, len);
		done += len;
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

static int qcow2_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			uint64_t offset)
{
	return for_each_cluster(to_qcow2(bd), iov, iovcnt, offset, read_in_cluster);
}

/* Give back what an L2 entry pointed at, once the new entry is durable. */
static int free_old(struct qcow2 *q, uint64_t entry)
{
	uint64_t host, off, len;

	switch (classify(q, entry, &host)) {
	case CL_NORMAL:
	case CL_ZERO:
		return host ? qcow2_free_later(q, host, q->cluster_size) : 0;
	case CL_COMPRESSED:
		if (q->dbuf_entry == entry)
			q->dbuf_entry = 0;
		qcow2_compressed_range(q, entry, &off, &len);
		return qcow2_free_later(q, off & ~511ull, len + (off & 511));
	default:
		return 0;
	}
}

/* A write to a cluster this image does not own alone: the whole cluster
 * goes to a new place (what the guest did not write comes from the old
 * contents), then the L2 entry moves. */
static int write_new_cluster(struct qcow2 *q, const struct iovec *iov, int n, uint64_t guest,
			     uint64_t len, uint64_t entry)
{
	uint64_t start = guest & ~(q->cluster_size - 1), in = guest - start, host;
	int err = qcow2_alloc_cluster(q, &host);

	if (err)
		return err;
	if (len == q->cluster_size) {
		err = fd_pwritev(q, iov, n, host);
	} else {
		uint64_t keep = q->bd.size - start < q->cluster_size ? q->bd.size - start
								     : q->cluster_size;
		struct iovec whole = { q->cluster_buf, keep };
		memset(q->cluster_buf + keep, 0, q->cluster_size - keep);
		err = read_in_cluster(q, &whole, 1, start, keep);
		if (!err) {
			block_iov_to_buf(iov, n, q->cluster_buf + in);
			whole.iov_len = q->cluster_size;
			err = fd_pwritev(q, &whole, 1, host);
		}
	}
	if (!err)
		err = set_entry(q, guest, host | QCOW2_OFLAG_COPIED);
	if (!err)
		err = free_old(q, entry);
	return err;
}

static int write_in_cluster(struct qcow2 *q, const struct iovec *iov, int n, uint64_t guest,
			    uint64_t len)
{
	uint64_t entry, host;
	int err = get_entry(q, guest, &entry);

	if (err)
		return err;
	if (classify(q, entry, &host) == CL_NORMAL && (entry & QCOW2_OFLAG_COPIED)) {
		/* Never let an entry grow the file to wherever it points. */
		if (host & (q->cluster_size - 1) || host >= q->file_size)
			return corrupt(q, "data cluster misaligned or past the end of the file at",
				       host);
		return fd_pwritev(q, iov, n, host + (guest & (q->cluster_size - 1)));
	}
	return write_new_cluster(q, iov, n, guest, len, entry);
}

static int qcow2_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			 uint64_t offset)
{
	if (bd->readonly)
		return -EROFS;
	return for_each_cluster(to_qcow2(bd), iov, iovcnt, offset, write_in_cluster);
}

/* One whole cluster made to read as zeros without storing them: an
 * unallocated entry when nothing shows through from a backing file, the
 * zero flag (version 3) when something would. */
static int unmap_cluster(struct qcow2 *q, uint64_t guest, uint64_t want)
{
	uint64_t entry;
	int err = get_entry(q, guest, &entry);

	if (err || entry == want)
		return err;
	err = set_entry(q, guest, want);
	return err ? err : free_old(q, entry);
}

static int zero_range(struct block_dev *bd, uint64_t offset, uint64_t len, bool discard)
{
	struct qcow2 *q = to_qcow2(bd);
	uint64_t end = offset + len;
	int err = 0;

	if (bd->readonly)
		return -EROFS;
	if (offset > bd->size || len > bd->size - offset)
		return -EINVAL;
	while (offset < end && !err) {
		uint64_t next = (offset | (q->cluster_size - 1)) + 1, piece;
		bool whole;

		if (next > end)
			next = end;
		piece = next - offset;
		/* The disk's last cluster may be partial: whole to its end. */
		whole = !(offset & (q->cluster_size - 1)) &&
			(piece == q->cluster_size || next == bd->size);
		if (whole && (q->version >= 3 || !q->backing)) {
			pthread_mutex_lock(&q->lock);
			err = unmap_cluster(q, offset, q->backing ? QCOW2_OFLAG_ZERO : 0);
			pthread_mutex_unlock(&q->lock);
		} else if (!discard) {
			/* Zeros must be stored: write them. */
			uint8_t *zeros = calloc(1, piece);
			struct iovec v = { zeros, piece };
			err = zeros ? for_each_cluster(q, &v, 1, offset, write_in_cluster) : -ENOMEM;
			free(zeros);
		}
		offset = next;
	}
	return err;
}

int qcow2_drop_clusters(struct qcow2 *q, uint64_t from, uint64_t to)
{
	int err = 0;

	for (uint64_t guest = from; guest < to && !err; guest += q->cluster_size) {
		pthread_mutex_lock(&q->lock);
		err = unmap_cluster(q, guest, 0);
		pthread_mutex_unlock(&q->lock);
	}
	return err;
}

static int qcow2_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	return zero_range(bd, offset, len, true);
}

static int qcow2_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	return zero_range(bd, offset, len, false);
}

static enum block_extent extent_kind(const struct qcow2 *q, enum cluster_kind k)
{
	switch (k) {
	case CL_UNALLOC:
		/* Named, even when not opened (block_open_image_only). */
		return q->backing_name[0] ? BLOCK_EXTENT_BACKING : BLOCK_EXTENT_ZERO;
	case CL_ZERO:
		return BLOCK_EXTENT_ZERO;
	case CL_COMPRESSED:
		return BLOCK_EXTENT_COMPRESSED;
	default:
		return BLOCK_EXTENT_DATA;
	}
}

static int qcow2_status(struct block_dev *bd, uint64_t offset, uint64_t *len, uint64_t *host,
			enum block_extent *kind)
{
	struct qcow2 *q = to_qcow2(bd);
	uint64_t want = *len, got = 0, entry, h, first_host = 0;
	enum block_extent first = BLOCK_EXTENT_ZERO;
	int err = 0;

	if (offset >= bd->size)
		return -EINVAL;
	if (want > bd->size - offset)
		want = bd->size - offset;
	pthread_mutex_lock(&q->lock);
	while (got < want) {
		uint64_t guest = offset + got, piece;
		enum block_extent k;

		err = get_entry(q, guest, &entry);
		if (err)
			break;
		k = extent_kind(q, classify(q, entry, &h));
		h += guest & (q->cluster_size - 1);
		if (got == 0) {
			first = k;
			first_host = h;
		} else if (k != first || (k == BLOCK_EXTENT_DATA && h != first_host + got)) {
			break;
		}
		piece = q->cluster_size - (guest & (q->cluster_size - 1));
		got += piece < want - got ? piece : want - got;
	}
	pthread_mutex_unlock(&q->lock);
	*len = got;
	*host = first == BLOCK_EXTENT_DATA ? first_host : 0;
	*kind = first;
	return err;
}

static int qcow2_flush(struct block_dev *bd)
{
	struct qcow2 *q = to_qcow2(bd);
	int err;

	if (bd->readonly)
		return 0;
	pthread_mutex_lock(&q->lock);
	err = qcow2_sync(q);
	pthread_mutex_unlock(&q->lock);
	return err;
}

static void qcow2_info(struct block_dev *bd, struct block_info *info)
{
	struct qcow2 *q = to_qcow2(bd);

	*info = (struct block_info){
		.format = BLOCK_FORMAT_QCOW2,
		.size = bd->size,
		.version = q->version,
		.cluster_size = (uint32_t)q->cluster_size,
		.refcount_bits = 1u << q->refcount_order,
		.dirty = q->incompat & QCOW2_INCOMPAT_DIRTY,
		.corrupt = q->incompat & QCOW2_INCOMPAT_CORRUPT,
		.compression = q->compression == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib",
		.backing_file = q->backing_name[0] ? q->backing_name : NULL,
		.backing_path = q->backing_name[0] ? q->backing_path : NULL,
		.backing_format = q->backing ? q->backing->format : q->backing_format,
		.backing = q->backing,
	};
}

static void qcow2_close(struct block_dev *bd)
{
	struct qcow2 *q = to_qcow2(bd);

	if (!bd->readonly) {
		qcow2_sync(q);
		qcow2_release_pool(q);
		fdatasync(q->fd);
	}
	qcow2_destroy(q);
}

const struct block_ops qcow2_ops = {
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.status = qcow2_status,
	.info = qcow2_info,
	.check = qcow2_check,
	.resize = qcow2_resize,
	.set_backing = qcow2_set_backing,
	.close = qcow2_close,
};
