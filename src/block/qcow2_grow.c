/* Growing a qcow2 image's tables: the refcount table when the file
 * outgrows the clusters it can count, the L1 table when the disk is made
 * larger (`condo img resize`), and the resize itself.
 *
 * A new table is written whole into free clusters past everything the
 * file holds, with the refcount blocks it needs right after it, and made
 * durable before the header points at it.  The header's two fields for a
 * table (offset and size) sit next to each other in its first sector, so
 * one write switches tables.  The old table is given back only after that
 * write is durable.  A crash at any moment leaves either table in use,
 * complete, and at worst leaked clusters. */
#include "block/qcow2.h"
#include "condo/log.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Header fields (QEMU's docs/interop/qcow2.txt, "Header"). */
#define HDR_SIZE      24 /* u64 virtual disk size */
#define HDR_L1_SIZE   36 /* u32 entries, then the u64 offset at 40 */
#define HDR_RCT       48 /* u64 offset, then the u32 cluster count at 56 */

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* The first of n free clusters in a row past the end of the file and past
 * any cluster the refcounts claim there (the allocation pool, leaks). */
static int run_start(struct qcow2 *q, uint64_t n, uint64_t *start)
{
	uint64_t t = div_up(q->file_size, q->cluster_size), limit;

	for (int i = 0; i < q->npool; i++)
		if (q->pool[i] >= t)
			t = q->pool[i] + 1;
	/* As in find_free_cluster: a hostile table claiming clusters far
	 * past the end is not walked for ever. */
	limit = t + q->rc_per_block + 2 * QCOW2_POOL;
	for (uint64_t c = t; c < t + n; c++) {
		uint64_t rc;
		int err;

		if (c > limit || (t + n) << q->cluster_bits > QCOW2_OFFSET_MASK) {
			log_err("block", "%s: no room for a new table past the end of the file",
				q->path);
			return -ENOSPC;
		}
		err = qcow2_get_refcount(q, c, &rc);
		if (err)
			return err;
		if (rc)
			t = c + 1;
	}
	*start = t;
	return 0;
}

/* Refcount blocks missing from table for the clusters [t, t+n); *beyond:
 * some would lie past its end. */
static uint64_t missing_blocks(const struct qcow2 *q, const uint64_t *table, uint64_t entries,
			       uint64_t t, uint64_t n, bool *beyond)
{
	uint64_t first = t / q->rc_per_block, last = (t + n - 1) / q->rc_per_block, m = 0;

	*beyond = last >= entries;
	for (uint64_t b = first; b <= last && b < entries; b++)
		m += !(table[b] & QCOW2_RCT_OFFSET_MASK);
	return m;
}

/* Claim n free clusters in a row (*first), with the refcount blocks their
 * counts need placed right after them and entered in table (entries long:
 * the image's own refcount table, or a larger one not yet on disk).  New
 * blocks count the run and themselves; counts in existing blocks are
 * raised there.  Everything is durable on return.  -ENOSPC when table is
 * too short for the blocks: the caller grows it. */
static int claim_run(struct qcow2 *q, uint64_t n, uint64_t *table, uint64_t entries,
		     bool on_disk, uint64_t *first)
{
	uint64_t t = 0, m = 0, need, cs = q->cluster_size, rpb = q->rc_per_block, next;
	uint8_t *buf;
	bool beyond;
	int err;

	for (;;) {
		err = run_start(q, n + m, &t);
		if (err)
			return err;
		need = missing_blocks(q, table, entries, t, n + m, &beyond);
		if (beyond)
			return -ENOSPC;
		if (need <= m)
			break;
		m = need;
	}
	m = need;
	for (uint64_t c = t; c < t + n; c++)
		qcow2_forget_cluster(q, c * cs);
	buf = malloc(cs);
	if (!buf)
		return -ENOMEM;
	next = t + n;
	for (uint64_t b = t / rpb; b <= (t + n + m - 1) / rpb && !err; b++) {
		if (table[b] & QCOW2_RCT_OFFSET_MASK)
			continue;
		memset(buf, 0, cs);
		for (uint64_t c = t; c < t + n + m; c++)
			if (c / rpb == b)
				qcow2_rc_write(buf, q->refcount_order, c % rpb, 1);
		qcow2_forget_cluster(q, next * cs);
		err = block_pwrite_full(q->fd, buf, cs, next * cs);
		table[b] = next * cs;
		next++;
	}
	free(buf);
	if (!err && (t + n + m) * cs > q->file_size)
		q->file_size = (t + n + m) * cs;
	/* Counts of the run that fall in blocks the image already had. */
	for (uint64_t c = t; c < t + n + m && !err; c++) {
		uint64_t b = c / rpb;
		if (b < q->rct_entries && q->rct[b] && table[b] < t * cs)
			err = qcow2_set_refcount(q, c, 1);
	}
	/* The blocks are complete before the table points at them. */
	if (!err && fdatasync(q->fd) < 0)
		err = -errno;
	for (uint64_t b = t / rpb; on_disk && !err && b <= (t + n + m - 1) / rpb; b++) {
		uint64_t entry = htobe64(table[b]);
		if (table[b] >= (t + n) * cs)
			err = block_pwrite_full(q->fd, &entry, 8, q->rct_offset + b * 8);
	}
	if (!err && on_disk && fdatasync(q->fd) < 0)
		err = -errno;
	*first = t;
	return err;
}

/* Write table (entries, host-endian) big-endian into clusters from t. */
static int write_table(struct qcow2 *q, const uint64_t *table, uint64_t entries, uint64_t t,
		       uint64_t clusters)
{
	uint64_t *buf = calloc(clusters, q->cluster_size);
	int err;

	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < entries; i++)
		buf[i] = htobe64(table[i]);
	err = block_pwrite_full(q->fd, buf, clusters * q->cluster_size, t * q->cluster_size);
	free(buf);
	if (!err && fdatasync(q->fd) < 0)
		err = -errno;
	return err;
}

/* Point the header at a new table: offset and size in one write. */
static int switch_table(struct qcow2 *q, unsigned field, uint64_t offset, uint32_t count)
{
	uint8_t h[12];
	uint64_t off = htobe64(offset);
	uint32_t cnt = htobe32(count);
	int err;

	if (field == HDR_L1_SIZE) {
		memcpy(h, &cnt, 4);
		memcpy(h + 4, &off, 8);
	} else {
		memcpy(h, &off, 8);
		memcpy(h + 8, &cnt, 4);
	}
	err = block_pwrite_full(q->fd, h, sizeof(h), field);
	if (!err && fdatasync(q->fd) < 0)
		err = -errno;
	return err;
}

int qcow2_grow_refcount_table(struct qcow2 *q, uint64_t min_entries)
{
	uint64_t per_cluster = q->cluster_size / 8, entries, clusters, t, old_off;
	uint32_t old_clusters = q->rct_clusters;
	uint64_t *table;
	int err;

	entries = q->rct_entries * 2 > min_entries ? q->rct_entries * 2 : min_entries;
	clusters = div_up(entries, per_cluster);
	/* Room for the new table's own blocks, whatever happens. */
	entries = (clusters + 1) * per_cluster;
	clusters++;
	if (clusters * q->cluster_size > QCOW2_MAX_RCT_BYTES) {
		log_err("block", "%s: refcount table full (it would exceed %u MiB)", q->path,
			QCOW2_MAX_RCT_BYTES >> 20);
		return -ENOSPC;
	}
	table = calloc(entries, 8);
	if (!table)
		return -ENOMEM;
	memcpy(table, q->rct, q->rct_entries * 8);
	err = claim_run(q, clusters, table, entries, false, &t);
	if (!err)
		err = write_table(q, table, entries, t, clusters);
	if (!err)
		err = switch_table(q, HDR_RCT, t * q->cluster_size, (uint32_t)clusters);
	if (err) {
		free(table);
		return err;
	}
	old_off = q->rct_offset;
	free(q->rct);
	q->rct = table;
	q->rct_entries = entries;
	q->rct_offset = t * q->cluster_size;
	q->rct_clusters = (uint32_t)clusters;
	return qcow2_free_later(q, old_off, (uint64_t)old_clusters * q->cluster_size);
}

/* Claim a run in the image's own table, growing the table when the run's
 * blocks would lie beyond it. */
static int claim_run_growing(struct qcow2 *q, uint64_t n, uint64_t *first)
{
	int err = claim_run(q, n, q->rct, q->rct_entries, true, first);

	if (err == -ENOSPC && q->rct_entries * q->rc_per_block <= QCOW2_OFFSET_MASK >> q->cluster_bits) {
		uint64_t end = div_up(q->file_size, q->cluster_size) + n + 2 * QCOW2_POOL;
		err = qcow2_grow_refcount_table(q, end / q->rc_per_block + 2);
		if (!err)
			err = claim_run(q, n, q->rct, q->rct_entries, true, first);
	}
	return err;
}

static int grow_l1(struct qcow2 *q, uint64_t l1_size)
{
	uint64_t clusters = div_up(l1_size * 8, q->cluster_size), t, old_off = q->l1_offset;
	uint64_t old_len = div_up((uint64_t)q->l1_size * 8, q->cluster_size) * q->cluster_size;
	uint64_t *l1 = calloc(clusters * q->cluster_size / 8, 8);
	int err;

	if (!l1)
		return -ENOMEM;
	if (q->l1_size)
		memcpy(l1, q->l1, (size_t)q->l1_size * 8);
	err = claim_run_growing(q, clusters, &t);
	if (!err)
		err = write_table(q, l1, l1_size, t, clusters);
	if (!err)
		err = switch_table(q, HDR_L1_SIZE, t * q->cluster_size, (uint32_t)l1_size);
	if (err) {
		free(l1);
		return err;
	}
	free(q->l1);
	q->l1 = l1;
	q->l1_size = (uint32_t)l1_size;
	q->l1_offset = t * q->cluster_size;
	return old_off && old_len ? qcow2_free_later(q, old_off, old_len) : 0;
}

int qcow2_resize(struct block_dev *bd, uint64_t size)
{
	struct qcow2 *q = (struct qcow2 *)bd;
	uint64_t span = q->cluster_size * q->l2_entries, l1_size = div_up(size, span), be;
	int err = 0;

	if (bd->readonly)
		return -EROFS;
	if (size > (1ull << 50) || l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		log_err("block", "%s: size %" PRIu64 " too large (at most 1 PiB)", q->path, size);
		return -EFBIG;
	}
	if (q->nb_snapshots)
		return -ENOTSUP;
	/* Shrinking: the whole clusters past the new end are given back
	 * first (a partial last cluster keeps its bytes; they are past the
	 * end and never read).  Their L2 tables stay. */
	if (size < bd->size)
		err = qcow2_drop_clusters(q, div_up(size, q->cluster_size) * q->cluster_size,
					  bd->size);
	if (err)
		return err;
	pthread_mutex_lock(&q->lock);
	if (l1_size > q->l1_size)
		err = grow_l1(q, l1_size);
	be = htobe64(size);
	if (!err)
		err = block_pwrite_full(q->fd, &be, 8, HDR_SIZE);
	if (!err)
		err = qcow2_sync(q);
	if (!err)
		bd->size = size;
	pthread_mutex_unlock(&q->lock);
	return err;
}
