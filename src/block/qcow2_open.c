/* Opening a qcow2 image: the header, its extensions, the L1 and refcount
 * tables and the backing file, all from an untrusted file.  Every field is
 * checked before use; a bad one is a one-line error naming the image and
 * the field (QEMU's docs/interop/qcow2.txt, "Header"). */
#include "block/qcow2.h"
#include "condo/log.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define bad(path, fmt, ...)                                         \
	do {                                                        \
		log_err("block", "%s: " fmt, path, ##__VA_ARGS__);  \
		return -EINVAL;                                     \
	} while (0)

/* [offset, offset+len) lies inside the file and after the header cluster. */
static bool table_ok(const struct qcow2 *q, uint64_t offset, uint64_t len)
{
	return offset >= q->cluster_size && (offset & (q->cluster_size - 1)) == 0 &&
	       offset <= q->file_size && len <= q->file_size - offset;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int parse_extensions(struct qcow2 *q, const uint8_t *h, uint64_t end)
{
	uint64_t off = q->header_length;

	while (off + 8 <= end) {
		uint32_t type = qcow2_be32(h + off), len = qcow2_be32(h + off + 4);
		off += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - off)
			bad(q->path, "header extension 0x%x runs past the header cluster", type);
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			char name[16] = { 0 };
			if (len >= sizeof(name))
				bad(q->path, "backing format extension too long (%u bytes)", len);
			memcpy(name, h + off, len);
			if (block_format_parse(name, &q->backing_format) < 0)
				bad(q->path, "unsupported backing file format '%s'", name);
		} else if (type == QCOW2_EXT_DATA_FILE) {
			bad(q->path, "external data files are not supported");
		}
		off += (len + 7ull) & ~7ull;
	}
	return 0;
}

static int parse_backing_name(struct qcow2 *q, const uint8_t *h, uint64_t hlen,
			      uint64_t offset, uint32_t len)
{
	int err;

	if (!offset)
		return 0;
	if (len == 0 || len > QCOW2_MAX_BACKING_NAME)
		bad(q->path, "backing_file_size %u out of range (1 to %u)", len,
		    QCOW2_MAX_BACKING_NAME);
	if (offset > hlen || len > hlen - offset || offset < QCOW2_V2_HEADER_LEN)
		bad(q->path, "backing_file_offset 0x%" PRIx64 " is outside the header cluster",
		    offset);
	memcpy(q->backing_name, h + offset, len);
	q->backing_name[len] = '\0';
	if (strlen(q->backing_name) != len)
		bad(q->path, "backing file name contains a NUL byte");
	err = block_resolve_backing(q->path, q->backing_name, q->backing_path,
				    sizeof(q->backing_path));
	if (err == -EINVAL)
		bad(q->path, "backing file name '%s' climbs out of the image's directory (..)",
		    q->backing_name);
	if (err)
		bad(q->path, "backing file name '%s' too long", q->backing_name);
	return 0;
}

static int check_features(struct qcow2 *q, bool readonly)
{
	uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
			 QCOW2_INCOMPAT_COMPRESSION;

	if (q->incompat & QCOW2_INCOMPAT_DATA_FILE)
		bad(q->path, "external data files are not supported");
	if (q->incompat & QCOW2_INCOMPAT_EXTL2)
		bad(q->path, "extended L2 entries (subclusters) are not supported");
	if (q->incompat & ~known)
		bad(q->path, "unknown incompatible features 0x%" PRIx64,
		    q->incompat & ~known);
	if (!readonly && !q->repair && (q->incompat & QCOW2_INCOMPAT_CORRUPT))
		bad(q->path, "image is marked corrupt; open it read-only or repair it with "
		    "`condo img check -r all`");
	if (!readonly && !q->repair && (q->incompat & QCOW2_INCOMPAT_DIRTY))
		bad(q->path, "image is marked dirty (refcounts may be stale); repair it with "
		    "`condo img check -r all`");
	if (!readonly && q->nb_snapshots)
		bad(q->path, "images with internal snapshots can only be opened read-only");
	return 0;
}

/* The fixed header fields (§"Header"), each checked. */
static int parse_header(struct qcow2 *q, const uint8_t *h, uint64_t hlen, bool readonly)
{
	uint64_t size, span, l1_needed, backing_off, rct_len, l1_len;
	uint32_t backing_len;
	int err;

	if (qcow2_be32(h) != QCOW2_MAGIC_BE)
		bad(q->path, "bad qcow2 magic");
	q->version = qcow2_be32(h + 4);
	if (q->version != 2 && q->version != 3)
		bad(q->path, "unsupported qcow2 version %u (2 and 3 are)", q->version);
	if (q->file_size < (q->version == 3 ? QCOW2_V3_HEADER_LEN : QCOW2_V2_HEADER_LEN))
		bad(q->path, "truncated: %" PRIu64 " bytes, less than the header", q->file_size);
	q->cluster_bits = qcow2_be32(h + 20);
	if (q->cluster_bits < QCOW2_MIN_CLUSTER_BITS || q->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		bad(q->path, "cluster_bits %u out of range (%d to %d)", q->cluster_bits,
		    QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_entries = q->cluster_size / 8;
	if (qcow2_be32(h + 32))
		bad(q->path, "encrypted images (crypt_method %u) are not supported",
		    qcow2_be32(h + 32));
	q->header_length = QCOW2_V2_HEADER_LEN;
	q->refcount_order = 4;
	if (q->version == 3) {
		q->incompat = qcow2_be64(h + 72);
		q->compat = qcow2_be64(h + 80);
		q->autoclear = qcow2_be64(h + 88);
		q->refcount_order = qcow2_be32(h + 96);
		q->header_length = qcow2_be32(h + 100);
		if (q->header_length < QCOW2_V3_HEADER_LEN || q->header_length % 8 ||
		    q->header_length > q->cluster_size)
			bad(q->path, "header_length %" PRIu64 " out of range", q->header_length);
		if (q->refcount_order > 6)
			bad(q->path, "refcount_order %u out of range (0 to 6)", q->refcount_order);
		if (q->header_length > 104)
			q->compression = h[104];
		if ((q->incompat & QCOW2_INCOMPAT_COMPRESSION) ?
			    q->compression > QCOW2_COMPRESSION_ZSTD :
			    q->compression != QCOW2_COMPRESSION_ZLIB)
			bad(q->path, "compression_type %d unsupported", q->compression);
	}
	if (q->file_size < q->header_length)
		bad(q->path, "truncated: %" PRIu64 " bytes, less than the header", q->file_size);
	q->rc_per_block = q->cluster_size * 8 >> q->refcount_order;

	size = qcow2_be64(h + 24);
	if (size > (1ull << 56))
		bad(q->path, "size %" PRIu64 " too large (at most 64 PiB)", size);
	q->bd.size = size;
	span = q->cluster_size * q->l2_entries;
	l1_needed = size / span + (size % span != 0);
	q->l1_size = qcow2_be32(h + 36);
	q->l1_offset = qcow2_be64(h + 40);
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		bad(q->path, "l1_size %u too large", q->l1_size);
	if (q->l1_size < l1_needed)
		bad(q->path, "l1_size %u too small for the disk size %" PRIu64, q->l1_size, size);
	l1_len = (uint64_t)q->l1_size * 8;
	if (q->l1_size && !table_ok(q, q->l1_offset, l1_len))
		bad(q->path, "l1_table_offset 0x%" PRIx64 " is misaligned, overlaps the header "
		    "or lies outside the file", q->l1_offset);

	q->rct_offset = qcow2_be64(h + 48);
	q->rct_clusters = qcow2_be32(h + 56);
	rct_len = (uint64_t)q->rct_clusters << q->cluster_bits;
	if (q->rct_clusters == 0 || rct_len > QCOW2_MAX_RCT_BYTES)
		bad(q->path, "refcount_table_clusters %u out of range", q->rct_clusters);
	if (!table_ok(q, q->rct_offset, rct_len))
		bad(q->path, "refcount_table_offset 0x%" PRIx64 " is misaligned, overlaps the "
		    "header or lies outside the file", q->rct_offset);
	if (q->l1_size && overlap(q->l1_offset, l1_len, q->rct_offset, rct_len))
		bad(q->path, "the L1 table and the refcount table overlap");
	q->rct_entries = rct_len / 8;

	q->nb_snapshots = qcow2_be32(h + 60);
	q->snapshots_offset = qcow2_be64(h + 64);
	if (q->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		bad(q->path, "nb_snapshots %u too large", q->nb_snapshots);
	if (q->nb_snapshots && !table_ok(q, q->snapshots_offset, 1))
		bad(q->path, "snapshots_offset 0x%" PRIx64 " outside the file",
		    q->snapshots_offset);
	err = check_features(q, readonly);
	if (err)
		return err;

	/* What follows the header lies in its cluster; bytes of it past the
	 * end of a short file were not read (they would read as zeros). */
	if (hlen > q->cluster_size)
		hlen = q->cluster_size;
	backing_off = qcow2_be64(h + 8);
	backing_len = qcow2_be32(h + 16);
	err = parse_backing_name(q, h, hlen, backing_off, backing_len);
	if (err)
		return err;
	return parse_extensions(q, h, backing_off && backing_off < hlen ? backing_off : hlen);
}

static int read_table(struct qcow2 *q, uint64_t **table, uint64_t offset, uint64_t entries)
{
	int err;

	*table = calloc(entries ? entries : 1, 8);
	if (!*table)
		return -ENOMEM;
	err = block_pread_full(q->fd, *table, entries * 8, offset);
	if (err)
		return err;
	for (uint64_t i = 0; i < entries; i++)
		(*table)[i] = be64toh((*table)[i]);
	return 0;
}

/* Autoclear features name extensions (bitmaps) that a writer that does not
 * update them must disown (§"autoclear_features"). */
static int clear_autoclear(struct qcow2 *q)
{
	uint64_t zero = 0;
	int err;

	if (q->bd.readonly || q->version < 3 || !q->autoclear)
		return 0;
	err = block_pwrite_full(q->fd, &zero, 8, 88);
	if (!err && fdatasync(q->fd) < 0)
		err = -errno;
	q->autoclear = 0;
	return err;
}

static int open_backing(struct qcow2 *q, struct block_chain *chain)
{
	if (!q->backing_name[0] || (chain->image_only && chain->depth == 1))
		return 0;
	if (access(q->backing_path, F_OK) < 0) {
		log_err("block", "%s: backing file %s is missing", q->path, q->backing_path);
		return -ENOENT;
	}
	q->backing = block_open_chain(q->backing_path, q->backing_format, true, chain);
	return q->backing ? 0 : -EINVAL;
}

static void qcow2_free(struct qcow2 *q)
{
	block_close(q->backing);
	qcow2_cache_free(&q->l2_cache);
	qcow2_cache_free(&q->rc_cache);
	free(q->l1);
	free(q->rct);
	free(q->cluster_buf);
	free(q->zbuf);
	free(q->dbuf);
	free(q->path);
	close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void qcow2_destroy(struct qcow2 *q)
{
	qcow2_free(q);
}

struct block_dev *qcow2_from_fd(int fd, const struct stat *st, const char *path, bool readonly,
				struct block_chain *chain)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	uint8_t *header = NULL;
	uint64_t hlen;
	int err;

	if (!q) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->fd = fd;
	q->path = strdup(path);
	q->file_size = (uint64_t)st->st_size;
	q->bd.readonly = readonly;
	q->bd.format = BLOCK_FORMAT_QCOW2;
	q->bd.ops = &qcow2_ops;
	q->repair = chain->repair && chain->depth == 1;
	/* The header cluster, or as much of it as the file holds. */
	hlen = q->file_size < (1u << QCOW2_MAX_CLUSTER_BITS) ? q->file_size
							      : (1u << QCOW2_MAX_CLUSTER_BITS);
	if (hlen < QCOW2_V3_HEADER_LEN + 8)
		hlen = QCOW2_V3_HEADER_LEN + 8;
	header = calloc(1, hlen);
	err = q->path && header ? 0 : -ENOMEM;
	if (!err)
		err = block_pread_full(fd, header, hlen, 0);
	if (!err)
		err = parse_header(q, header, hlen, readonly);
	free(header);
	if (!err && q->l1_size)
		err = read_table(q, &q->l1, q->l1_offset, q->l1_size);
	if (!err)
		err = read_table(q, &q->rct, q->rct_offset, q->rct_entries);
	if (!err)
		err = qcow2_cache_init(q, &q->l2_cache, QCOW2_L2_CACHE);
	if (!err)
		err = qcow2_cache_init(q, &q->rc_cache, QCOW2_RC_CACHE);
	if (!err) {
		q->cluster_buf = malloc(q->cluster_size);
		q->zbuf = malloc(2 * q->cluster_size);
		q->dbuf = malloc(q->cluster_size);
		if (!q->cluster_buf || !q->zbuf || !q->dbuf)
			err = -ENOMEM;
	}
	if (!err)
		err = clear_autoclear(q);
	if (!err)
		err = open_backing(q, chain);
	if (err) {
		qcow2_free(q);
		errno = -err;
		return NULL;
	}
	block_set_serial(&q->bd, st);
	return &q->bd;
}
