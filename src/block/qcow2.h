/* qcow2 inside the block component: the on-disk layout (QEMU's
 * docs/interop/qcow2.txt, versions 2 and 3) and the open image's state.
 *
 * Memory bounds: the L1 table and the refcount table are held whole (at
 * most QCOW2_MAX_L1_BYTES and QCOW2_MAX_RCT_BYTES); L2 tables and refcount
 * blocks go through small write-through caches of QCOW2_L2_CACHE and
 * QCOW2_RC_CACHE clusters (with 64 KiB clusters: 1 MiB and 256 KiB; at
 * most 32 MiB and 8 MiB with the largest, 2 MiB, clusters). */
#ifndef CONDO_BLOCK_QCOW2_H
#define CONDO_BLOCK_QCOW2_H

#include "block/block_internal.h"

#include <pthread.h>

#define QCOW2_MAGIC_BE 0x514649fbu /* "QFI\xfb" */

#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RCT_BYTES (8u << 20)
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_SNAPSHOTS 65536

/* Incompatible feature bits (header offset 72). */
#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)

/* Header extension types. */
#define QCOW2_EXT_END            0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_DATA_FILE      0x44415441u

/* L1 and L2 entries. */
#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull /* bits 9-55 */
#define QCOW2_RCT_OFFSET_MASK  0xfffffffffffffe00ull

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

#define QCOW2_L2_CACHE 16
#define QCOW2_RC_CACHE 4
/* Clusters whose refcounts are raised together, made durable with one
 * fdatasync, before any of them is referenced (crash: only leaks). */
#define QCOW2_POOL 32
/* Clusters freed but not yet given back: their L2 entries must be durable
 * first, so they are given back at the next flush. */
#define QCOW2_PENDING_FREES 64

/* Big-endian fields of the header and tables, at any alignment. */
static inline uint32_t qcow2_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t qcow2_be64(const uint8_t *p)
{
	return (uint64_t)qcow2_be32(p) << 32 | qcow2_be32(p + 4);
}

static inline void qcow2_put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void qcow2_put64(uint8_t *p, uint64_t v)
{
	qcow2_put32(p, (uint32_t)(v >> 32));
	qcow2_put32(p + 4, (uint32_t)v);
}

struct qcow2_cache_entry {
	uint64_t offset; /* 0: empty */
	uint64_t used;   /* LRU stamp */
	uint8_t *data;   /* one cluster */
};

struct qcow2_cache {
	struct qcow2_cache_entry e[QCOW2_L2_CACHE];
	int n;
	uint64_t clock;
};

struct qcow2_range {
	uint64_t offset, len;
};

struct qcow2 {
	struct block_dev bd; /* first: the ops get a block_dev pointer */
	int fd;
	char *path;
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint64_t l2_entries;        /* entries per L2 table */
	uint32_t refcount_order;    /* refcount bits = 1 << order */
	uint64_t rc_per_block;      /* refcounts per refcount block */
	uint64_t incompat, compat, autoclear;
	int compression;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t header_length;

	uint64_t *l1;               /* host-endian copy */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *rct;              /* host-endian copy */
	uint64_t rct_entries;
	uint64_t rct_offset;
	uint32_t rct_clusters;

	uint64_t file_size;         /* bytes the file holds (grows) */
	struct qcow2_cache l2_cache, rc_cache;
	uint8_t *cluster_buf;       /* one cluster: read-modify-write */
	uint8_t *zbuf;              /* compressed input, two clusters */
	uint8_t *dbuf;              /* the last decompressed cluster */
	uint64_t dbuf_entry;        /* its L2 entry; 0: none */

	uint64_t pool[QCOW2_POOL];
	int npool;
	struct qcow2_range pending[QCOW2_PENDING_FREES];
	int npending;
	uint64_t free_hint;         /* no free cluster below this index */

	char backing_name[QCOW2_MAX_BACKING_NAME + 1];
	char backing_path[4096];
	enum block_format backing_format;
	struct block_dev *backing;
	bool repair;                /* opened by block_open_for_repair */
	pthread_mutex_t lock;
};

/* qcow2_meta.c: caches, refcounts, allocation. */
int qcow2_cache_init(struct qcow2 *q, struct qcow2_cache *c, int n);
void qcow2_cache_free(struct qcow2_cache *c);
/* The cached cluster at offset (read on a miss): NULL with *err set. */
uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, int *err);
/* A metadata cluster offset from an untrusted table: aligned, not the
 * header, inside the file. */
bool qcow2_meta_offset_ok(const struct qcow2 *q, uint64_t offset);
int qcow2_get_refcount(struct qcow2 *q, uint64_t cluster, uint64_t *refcount);
int qcow2_set_refcount(struct qcow2 *q, uint64_t cluster, uint64_t refcount);
/* A new cluster with refcount 1, durable before it is returned. */
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *offset);
/* Free the host range after the next fdatasync. */
int qcow2_free_later(struct qcow2 *q, uint64_t offset, uint64_t len);
/* fdatasync, then give back pending frees. */
int qcow2_sync(struct qcow2 *q);
/* A cluster about to be reused may still be cached as what it was. */
void qcow2_forget_cluster(struct qcow2 *q, uint64_t offset);
/* Give the unused pool back (at close). */
void qcow2_release_pool(struct qcow2 *q);
/* The host range a compressed L2 entry covers. */
void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry, uint64_t *offset,
			    uint64_t *len);
/* The refcount field of a refcount block: get and set. */
uint64_t qcow2_rc_read(const uint8_t *block, uint32_t order, uint64_t index);
void qcow2_rc_write(uint8_t *block, uint32_t order, uint64_t index, uint64_t value);

/* qcow2_grow.c: a refcount table of at least min_entries, moved to the
 * end of the file; the disk's new size (block_ops.resize). */
int qcow2_grow_refcount_table(struct qcow2 *q, uint64_t min_entries);
int qcow2_resize(struct block_dev *bd, uint64_t size);

/* qcow2_header.c: lay out the backing format extension, the end of the
 * extensions and the backing name (NULL: none) from byte off of header h
 * (room bytes), and point the header at the name: 0 or -ENOSPC.  A new
 * backing file name and format in an open image (block_ops.set_backing). */
int qcow2_put_backing(uint8_t *h, uint64_t off, uint64_t room, const char *name,
		      enum block_format format);
int qcow2_set_backing(struct block_dev *bd, const char *name, enum block_format format);

/* qcow2_open.c: free everything an open image holds. */
void qcow2_destroy(struct qcow2 *q);

/* qcow2_io.c: guest reads and writes. */
extern const struct block_ops qcow2_ops;
/* Unallocate the clusters of [from, to) (cluster-aligned, inside the
 * disk) whatever the backing file shows: a shrink's cut-off part. */
int qcow2_drop_clusters(struct qcow2 *q, uint64_t from, uint64_t to);

/* qcow2_check.c: consistency check and repair. */
int qcow2_check(struct block_dev *bd, enum block_repair repair, struct block_check *res);

#endif
