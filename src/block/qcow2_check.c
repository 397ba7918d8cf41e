/* Checking a qcow2 image: count every reference to every host cluster
 * (header, tables, refcount blocks, L2 tables, data and compressed
 * clusters), then compare with the stored refcounts.  A stored count above
 * the references is a leak (harmless space); below is an error (a cluster
 * could be handed out twice).  Repair sets the stored count to the
 * references: leaks only, or errors too. */
#include "block/qcow2.h"
#include "condo/log.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct refs {
	uint32_t *count;
	uint64_t n;       /* host clusters counted */
	uint64_t errors;  /* references outside the file, bad flags */
};

static void add_ref(struct qcow2 *q, struct refs *r, uint64_t offset, uint64_t len,
		    const char *what)
{
	uint64_t first = offset >> q->cluster_bits, last = (offset + len - 1) >> q->cluster_bits;

	for (uint64_t c = first; c <= last; c++) {
		if (c >= r->n) {
			log_warn("img", "%s: %s at 0x%" PRIx64 " is outside the file", q->path,
				 what, offset);
			r->errors++;
			return;
		}
		r->count[c]++;
	}
}

/* The stored refcount is 1 exactly when the COPIED flag says so. */
static void check_copied(struct qcow2 *q, struct refs *r, uint64_t entry, uint64_t off,
			 const char *what)
{
	uint64_t rc;

	if (qcow2_get_refcount(q, off >> q->cluster_bits, &rc) < 0)
		return;
	if (((entry & QCOW2_OFLAG_COPIED) != 0) != (rc == 1)) {
		log_warn("img", "%s: %s at 0x%" PRIx64 ": COPIED flag disagrees with refcount %"
			 PRIu64, q->path, what, off, rc);
		r->errors++;
	}
}

static int count_l2(struct qcow2 *q, struct refs *r, uint64_t l2_off, struct block_check *res)
{
	int err;
	uint8_t *table = qcow2_cache_get(q, &q->l2_cache, l2_off, &err);

	if (!table) {
		r->errors++;
		return 0;
	}
	for (uint64_t i = 0; i < q->l2_entries; i++) {
		uint64_t e, off, len;
		memcpy(&e, table + i * 8, 8);
		e = be64toh(e);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			qcow2_compressed_range(q, e, &off, &len);
			add_ref(q, r, off & ~511ull, len + (off & 511), "compressed cluster");
			res->allocated++;
			continue;
		}
		off = e & QCOW2_OFFSET_MASK;
		if (!off)
			continue;
		if (off & (q->cluster_size - 1)) {
			log_warn("img", "%s: misaligned data cluster 0x%" PRIx64, q->path, off);
			r->errors++;
			continue;
		}
		add_ref(q, r, off, q->cluster_size, "data cluster");
		if (off >> q->cluster_bits < r->n)
			check_copied(q, r, e, off, "data cluster");
		if (!(q->version >= 3 && (e & QCOW2_OFLAG_ZERO)))
			res->allocated++;
	}
	return 0;
}

static int count_refs(struct qcow2 *q, struct refs *r, struct block_check *res)
{
	add_ref(q, r, 0, q->cluster_size, "header");
	if (q->l1_size)
		add_ref(q, r, q->l1_offset, (uint64_t)q->l1_size * 8, "L1 table");
	add_ref(q, r, q->rct_offset, (uint64_t)q->rct_clusters << q->cluster_bits,
		"refcount table");
	for (uint64_t i = 0; i < q->rct_entries; i++) {
		uint64_t off = q->rct[i] & QCOW2_RCT_OFFSET_MASK;
		if (!off)
			continue;
		if (!qcow2_meta_offset_ok(q, off)) {
			log_warn("img", "%s: refcount block %" PRIu64 " at 0x%" PRIx64
				 " is misaligned or outside the file", q->path, i, off);
			r->errors++;
			continue;
		}
		add_ref(q, r, off, q->cluster_size, "refcount block");
	}
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t off = q->l1[i] & QCOW2_OFFSET_MASK;
		if (!off)
			continue;
		if (!qcow2_meta_offset_ok(q, off)) {
			log_warn("img", "%s: L2 table 0x%" PRIx64 " misaligned or outside the file",
				 q->path, off);
			r->errors++;
			continue;
		}
		add_ref(q, r, off, q->cluster_size, "L2 table");
		check_copied(q, r, q->l1[i], off, "L2 table");
		count_l2(q, r, off, res);
	}
	return 0;
}

static int compare_one(struct qcow2 *q, uint64_t c, uint64_t want, enum block_repair repair,
		       struct block_check *res)
{
	uint64_t stored;
	bool fix;
	int err = qcow2_get_refcount(q, c, &stored);

	if (err || stored == want)
		return err;
	if (stored > want) {
		res->leaks++;
		fix = repair != BLOCK_REPAIR_NONE;
	} else {
		log_warn("img", "%s: cluster 0x%" PRIx64 " refcount %" PRIu64 " but %" PRIu64
			 " references", q->path, c << q->cluster_bits, stored, want);
		res->errors++;
		fix = repair == BLOCK_REPAIR_ALL;
	}
	if (fix && qcow2_set_refcount(q, c, want) == 0) {
		if (stored > want)
			res->fixed_leaks++;
		else
			res->fixed_errors++;
	}
	return 0;
}

/* Compare stored with counted: every cluster of the file, then what
 * refcount blocks say about clusters past its end (only leaks can be
 * there).  A block that several table entries name is read once, so a
 * hostile table cannot make the work larger than the file. */
static int compare(struct qcow2 *q, struct refs *r, enum block_repair repair,
		   struct block_check *res)
{
	uint8_t *seen = calloc(r->n / 8 + 1, 1);
	int err = seen ? 0 : -ENOMEM;

	for (uint64_t c = 0; c < r->n && !err; c++)
		err = compare_one(q, c, r->count[c], repair, res);
	for (uint64_t i = 0; i < q->rct_entries && !err; i++) {
		uint64_t off = q->rct[i] & QCOW2_RCT_OFFSET_MASK, blk, c;
		if (!off || !qcow2_meta_offset_ok(q, off) || (i + 1) * q->rc_per_block <= r->n)
			continue;
		blk = off >> q->cluster_bits;
		if (seen[blk / 8] & (1u << (blk % 8)))
			continue;
		seen[blk / 8] |= (uint8_t)(1u << (blk % 8));
		c = i * q->rc_per_block > r->n ? i * q->rc_per_block : r->n;
		for (; c < (i + 1) * q->rc_per_block && !err; c++)
			err = compare_one(q, c, 0, repair, res);
	}
	free(seen);
	return err;
}

/* A repair that left no error clears the dirty and corrupt marks. */
static int clear_marks(struct qcow2 *q, const struct block_check *res)
{
	uint64_t keep = q->incompat & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT), be;
	int err;

	if (q->version < 3 || keep == q->incompat || res->errors > res->fixed_errors)
		return 0;
	err = qcow2_sync(q);
	if (err)
		return err;
	be = htobe64(keep);
	err = block_pwrite_full(q->fd, &be, 8, 72);
	if (!err && fdatasync(q->fd) < 0)
		err = -errno;
	if (!err)
		q->incompat = keep;
	return err;
}

int qcow2_check(struct block_dev *bd, enum block_repair repair, struct block_check *res)
{
	struct qcow2 *q = (struct qcow2 *)bd;
	struct refs r = { 0 };
	int err;

	memset(res, 0, sizeof(*res));
	if (q->nb_snapshots) {
		log_err("img", "%s: checking images with internal snapshots is not supported",
			q->path);
		return -ENOTSUP;
	}
	if (repair != BLOCK_REPAIR_NONE && bd->readonly)
		return -EROFS;
	pthread_mutex_lock(&q->lock);
	r.n = (q->file_size + q->cluster_size - 1) >> q->cluster_bits;
	r.count = calloc(r.n ? r.n : 1, sizeof(*r.count));
	if (!r.count) {
		pthread_mutex_unlock(&q->lock);
		return -ENOMEM;
	}
	res->total = (bd->size + q->cluster_size - 1) >> q->cluster_bits;
	err = count_refs(q, &r, res);
	if (!err)
		err = compare(q, &r, repair, res);
	res->errors += r.errors;
	if (!err && repair != BLOCK_REPAIR_NONE)
		err = qcow2_sync(q);
	if (!err && repair == BLOCK_REPAIR_ALL)
		err = clear_marks(q, res);
	pthread_mutex_unlock(&q->lock);
	free(r.count);
	return err;
}
