/* qcow2 metadata: the cluster caches, refcounts and cluster allocation.
 *
 * Crash safety (every metadata write is write-through, in this order):
 *  - a cluster's refcount is raised and made durable (fdatasync) before
 *    anything points at it, so a crash leaves at worst a leak;
 *  - a cluster is given back only after the entries that pointed at it
 *    were rewritten and made durable (the next flush), so a crash never
 *    leaves an entry pointing at a free cluster.
 * Refcounts are raised QCOW2_POOL clusters at a time to pay for one
 * fdatasync per pool, not per write. */
#include "block/qcow2.h"
#include "condo/log.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int qcow2_cache_init(struct qcow2 *q, struct qcow2_cache *c, int n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (int i = 0; i < n; i++) {
		c->e[i].data = malloc(q->cluster_size);
		if (!c->e[i].data)
			return -ENOMEM;
	}
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->e[i].data);
	memset(c, 0, sizeof(*c));
}

static void cache_forget(struct qcow2_cache *c, uint64_t offset)
{
	for (int i = 0; i < c->n; i++)
		if (c->e[i].offset == offset)
			c->e[i].offset = 0;
}

/* A cluster about to be reused may still be cached as what it was. */
void qcow2_forget_cluster(struct qcow2 *q, uint64_t offset)
{
	cache_forget(&q->l2_cache, offset);
	cache_forget(&q->rc_cache, offset);
	if (q->dbuf_entry)
		q->dbuf_entry = 0;
}

bool qcow2_meta_offset_ok(const struct qcow2 *q, uint64_t offset)
{
	return offset != 0 && (offset & (q->cluster_size - 1)) == 0 &&
	       offset <= q->file_size && q->cluster_size <= q->file_size - offset;
}

uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, int *err)
{
	struct qcow2_cache_entry *victim = &c->e[0];

	for (int i = 0; i < c->n; i++) {
		if (c->e[i].offset == offset) {
			c->e[i].used = ++c->clock;
			return c->e[i].data;
		}
		if (c->e[i].used < victim->used)
			victim = &c->e[i];
	}
	if (!qcow2_meta_offset_ok(q, offset)) {
		log_err("block", "%s: corrupt image: metadata cluster at 0x%" PRIx64
			" is outside the file or misaligned", q->path, offset);
		*err = -EIO;
		return NULL;
	}
	victim->offset = 0;
	*err = block_pread_full(q->fd, victim->data, q->cluster_size, offset);
	if (*err)
		return NULL;
	victim->offset = offset;
	victim->used = ++c->clock;
	return victim->data;
}

/* Refcounts narrower than a byte sit from the low bits up (QEMU's
 * layout); wider ones are big-endian. */
uint64_t qcow2_rc_read(const uint8_t *block, uint32_t order, uint64_t index)
{
	uint32_t bits = 1u << order;
	const uint8_t *p;
	uint64_t v = 0;

	if (bits < 8)
		return (block[index * bits / 8] >> (index * bits % 8)) & ((1u << bits) - 1);
	p = block + index * (bits / 8);
	for (uint32_t i = 0; i < bits / 8; i++)
		v = v << 8 | p[i];
	return v;
}

void qcow2_rc_write(uint8_t *block, uint32_t order, uint64_t index, uint64_t value)
{
	uint32_t bits = 1u << order;
	uint8_t *p;

	if (bits < 8) {
		uint32_t shift = index * bits % 8, mask = ((1u << bits) - 1) << shift;
		p = block + index * bits / 8;
		*p = (uint8_t)((*p & ~mask) | ((value << shift) & mask));
		return;
	}
	p = block + index * (bits / 8);
	for (int i = (int)(bits / 8) - 1; i >= 0; i--, value >>= 8)
		p[i] = (uint8_t)value;
}

static uint64_t rc_max(const struct qcow2 *q)
{
	return q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
}

int qcow2_get_refcount(struct qcow2 *q, uint64_t cluster, uint64_t *refcount)
{
	uint64_t index = cluster / q->rc_per_block, block_off;
	uint8_t *block;
	int err;

	*refcount = 0;
	if (index >= q->rct_entries)
		return 0;
	block_off = q->rct[index] & QCOW2_RCT_OFFSET_MASK;
	if (!block_off)
		return 0;
	block = qcow2_cache_get(q, &q->rc_cache, block_off, &err);
	if (!block)
		return err;
	*refcount = qcow2_rc_read(block, q->refcount_order, cluster % q->rc_per_block);
	return 0;
}

/* A new refcount block for a range that has none, placed at cluster (free,
 * inside the range, as every cluster of a range without a block is), and
 * counting itself. */
static int new_refcount_block(struct qcow2 *q, uint64_t cluster)
{
	uint64_t index = cluster / q->rc_per_block, offset = cluster << q->cluster_bits;
	uint64_t entry = htobe64(offset);
	int err;

	qcow2_forget_cluster(q, offset);
	memset(q->cluster_buf, 0, q->cluster_size);
	qcow2_rc_write(q->cluster_buf, q->refcount_order, cluster % q->rc_per_block, 1);
	err = block_pwrite_full(q->fd, q->cluster_buf, q->cluster_size, offset);
	if (err)
		return err;
	if (offset + q->cluster_size > q->file_size)
		q->file_size = offset + q->cluster_size;
	/* The block is complete on disk before the table points at it. */
	if (fdatasync(q->fd) < 0)
		return -errno;
	err = block_pwrite_full(q->fd, &entry, 8, q->rct_offset + index * 8);
	if (err)
		return err;
	q->rct[index] = offset;
	return 0;
}

int qcow2_set_refcount(struct qcow2 *q, uint64_t cluster, uint64_t refcount)
{
	uint64_t index = cluster / q->rc_per_block, block_off, in_block, byte, width;
	uint8_t *block;
	int err;

	if (refcount > rc_max(q))
		return -EOVERFLOW;
	if (index >= q->rct_entries) {
		log_err("block", "%s: refcount table full (image larger than it was created for)",
			q->path);
		return -ENOSPC;
	}
	block_off = q->rct[index] & QCOW2_RCT_OFFSET_MASK;
	if (!block_off) {
		if (!refcount)
			return 0;
		return -EAGAIN; /* the caller allocates a block first */
	}
	block = qcow2_cache_get(q, &q->rc_cache, block_off, &err);
	if (!block)
		return err;
	in_block = cluster % q->rc_per_block;
	qcow2_rc_write(block, q->refcount_order, in_block, refcount);
	width = q->refcount_order >= 3 ? (1u << q->refcount_order) / 8 : 1;
	byte = q->refcount_order >= 3 ? in_block * width : (in_block << q->refcount_order) / 8;
	return block_pwrite_full(q->fd, block + byte, width, block_off + byte);
}

/* The next cluster with refcount 0, made a refcount block on the way if
 * its range has none. */
static int find_free_cluster(struct qcow2 *q, uint64_t *found)
{
	uint64_t c = q->free_hint ? q->free_hint : 1, rc;
	/* Past the end of the file only leaks can hold refcounts; a scan
	 * that meets more than a refcount block's worth of them gives up
	 * rather than walk a hostile table for ever. */
	uint64_t limit = (q->file_size >> q->cluster_bits) + q->rc_per_block + 2 * QCOW2_POOL;
	int err;

	for (;; c++) {
		if (c > limit) {
			log_err("block", "%s: no free cluster: refcounts claim clusters past the end "
				"of the file (repair with `condo img check -r all`)", q->path);
			return -ENOSPC;
		}
		if ((c + 1) << q->cluster_bits > QCOW2_OFFSET_MASK) {
			log_err("block", "%s: image file would exceed 64 PiB", q->path);
			return -ENOSPC;
		}
		err = qcow2_get_refcount(q, c, &rc);
		if (err)
			return err;
		if (rc)
			continue;
		if (c / q->rc_per_block >= q->rct_entries) {
			/* The file outgrew what its table can count. */
			err = qcow2_grow_refcount_table(q, c / q->rc_per_block + 1);
			if (err)
				return err;
			c--; /* look at c again: the new table may have taken it */
			continue;
		}
		if (c / q->rc_per_block < q->rct_entries &&
		    !(q->rct[c / q->rc_per_block] & QCOW2_RCT_OFFSET_MASK)) {
			err = new_refcount_block(q, c);
			if (err)
				return err;
			continue;
		}
		*found = c;
		q->free_hint = c + 1;
		return 0;
	}
}

static int fill_pool(struct qcow2 *q)
{
	int err = 0;

	while (q->npool < QCOW2_POOL) {
		uint64_t c;
		err = find_free_cluster(q, &c);
		if (!err)
			err = qcow2_set_refcount(q, c, 1);
		if (err)
			break;
		q->pool[q->npool++] = c;
	}
	if (q->npool == 0)
		return err ? err : -ENOSPC;
	/* The refcounts are durable before any cluster of the pool is used. */
	return fdatasync(q->fd) < 0 ? -errno : 0;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *offset)
{
	int err;

	if (q->npool == 0) {
		err = fill_pool(q);
		if (err)
			return err;
	}
	/* Hand out the lowest first, so the file grows in order. */
	*offset = q->pool[0] << q->cluster_bits;
	qcow2_forget_cluster(q, *offset);
	memmove(q->pool, q->pool + 1, (size_t)(q->npool - 1) * sizeof(q->pool[0]));
	q->npool--;
	return 0;
}

static int free_range_now(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	uint64_t first = offset >> q->cluster_bits;
	uint64_t last = (offset + len - 1) >> q->cluster_bits;

	for (uint64_t c = first; c <= last; c++) {
		uint64_t rc;
		int err = qcow2_get_refcount(q, c, &rc);
		if (err)
			return err;
		if (rc == 0) {
			log_err("block", "%s: corrupt image: freeing cluster 0x%" PRIx64
				" whose refcount is already 0", q->path, c << q->cluster_bits);
			return -EIO;
		}
		err = qcow2_set_refcount(q, c, rc - 1);
		if (err)
			return err;
		if (rc == 1 && c < q->free_hint)
			q->free_hint = c;
	}
	return 0;
}

int qcow2_sync(struct qcow2 *q)
{
	int err = 0;

	if (fdatasync(q->fd) < 0)
		return -errno;
	for (int i = 0; i < q->npending && !err; i++)
		err = free_range_now(q, q->pending[i].offset, q->pending[i].len);
	q->npending = 0;
	return err;
}

int qcow2_free_later(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	if (q->npending == QCOW2_PENDING_FREES) {
		int err = qcow2_sync(q);
		if (err)
			return err;
	}
	q->pending[q->npending++] = (struct qcow2_range){ offset, len };
	return 0;
}

void qcow2_release_pool(struct qcow2 *q)
{
	for (int i = 0; i < q->npool; i++)
		free_range_now(q, q->pool[i] << q->cluster_bits, q->cluster_size);
	q->npool = 0;
}

void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry, uint64_t *offset,
			    uint64_t *len)
{
	/* §"Compressed Clusters Descriptor": x = 62 - (cluster_bits - 8)
	 * offset bits, then the count of further 512-byte sectors. */
	uint32_t x = 62 - (q->cluster_bits - 8);
	uint64_t off = entry & ((1ull << x) - 1);
	uint64_t sectors = ((entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;

	*offset = off;
	*len = sectors * 512 - (off & 511);
}
