/* virtio-blk (virtio 1.2 §5.2): one request queue.  The notifying hart
 * only reads requests off the ring and hands them to the disk's engine
 * (condo/block_aio.h), many at a time; the engine's thread moves the data
 * with vectored I/O straight into the guest's buffers and returns each
 * request on the used ring, raising the interrupt.  Requests: IN, OUT,
 * FLUSH, GET_ID, DISCARD, WRITE_ZEROES; anything else is UNSUPP.  A reset
 * waits for the requests in flight (docs/virtio.md). */
#include "virtio/virtio_internal.h"
#include "condo/block_aio.h"
#include "condo/log.h"
#include "condo/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_F_DISCARD  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR_SIZE  512
#define BLK_HDR_SIZE 16 /* le32 type, le32 reserved, le64 sector */
#define BLK_ID_BYTES 20

/* struct virtio_blk_config (§5.2.4) up to write_zeroes_may_unmap:
 * capacity, size_max, seg_max, geometry, blk_size, topology, writeback,
 * num_queues, then the discard and write-zeroes limits. */
#define BLK_CONFIG_LEN 60
#define BLK_CFG_MAX_DISCARD_SECTORS 36
#define BLK_CFG_MAX_DISCARD_SEG     40
#define BLK_CFG_DISCARD_ALIGN       44
#define BLK_CFG_MAX_WZ_SECTORS      48
#define BLK_CFG_MAX_WZ_SEG          52
#define BLK_CFG_WZ_MAY_UNMAP        56
/* One range of a DISCARD or WRITE_ZEROES request: le64 sector, le32
 * num_sectors, le32 flags (bit 0: unmap) (§5.2.6). */
#define BLK_RANGE_SIZE 16
#define BLK_MAX_RANGES 16
#define BLK_MAX_RANGE_SECTORS (1u << 22) /* 2 GiB a range */

struct virtio_blk {
	struct virtio_mmio *vm;
	struct block_dev *disk;
	struct block_aio *aio; /* NULL: requests run on the notifying thread */
	bool readonly;
	bool flush_unsafe;  /* cache=unsafe */
	bool discard_unmap; /* discard=unmap */
	uint64_t capacity; /* in 512-byte sectors */
	uint8_t config[BLK_CONFIG_LEN];

	const char *name; /* for messages */

	/* Under the transport's lock: */
	unsigned inflight;   /* requests handed to the engine, not yet completed */
	unsigned most_inflight; /* reported at the end (CONDO_LOG=info), for the tests */
	bool stalled;        /* stopped taking requests at the in-flight bound */
	uint64_t generation; /* bumped by a reset: older requests are never returned */
	pthread_cond_t idle; /* inflight fell to 0 */
	struct blk_req *spare; /* one allocation kept for the next pop */
};

/* One request from its pop to its completion.  The chain's host pointers
 * stay valid while it is in flight: guest RAM goes only after the device
 * has drained (blk_free). */
struct blk_req {
	struct block_req io; /* first: the engine's done callback gets it */
	struct virtio_blk *blk;
	unsigned queue;
	uint64_t generation;
	struct iovec data[VIRTQ_MAX_SIZE];
	struct virtq_elem elem;
};

/* What blk_prepare decided. */
enum { REQ_BROKEN = -1, REQ_DONE, REQ_IO };

static void blk_config_read(void *dev, unsigned offset, void *buf, unsigned len)
{
	struct virtio_blk *blk = dev;

	memcpy(buf, blk->config + offset, len);
}

/* Bounds of a data transfer: whole sectors, all inside the disk. */
static bool in_bounds(const struct virtio_blk *blk, uint64_t sector, uint64_t bytes)
{
	return bytes % SECTOR_SIZE == 0 && sector <= blk->capacity &&
	       bytes / SECTOR_SIZE <= blk->capacity - sector;
}

/* DISCARD and WRITE_ZEROES: up to BLK_MAX_RANGES ranges in the data, all
 * checked before any is applied (§5.2.6.2), copied into the request. */
static uint8_t blk_ranges(struct virtio_blk *blk, struct blk_req *req, uint64_t data_len,
			  bool zeroes)
{
	struct virtq_elem *e = &req->elem;
	uint8_t range[BLK_RANGE_SIZE];
	uint64_t n = data_len / BLK_RANGE_SIZE;

	if (blk->readonly || data_len % BLK_RANGE_SIZE || n == 0 || n > BLK_MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t sector;
		uint32_t count, flags;

		iov_to_buf(e->iov, e->n_out, BLK_HDR_SIZE + i * BLK_RANGE_SIZE, range,
			   sizeof(range));
		memcpy(&sector, range, 8);
		memcpy(&count, range + 8, 4);
		memcpy(&flags, range + 12, 4);
		/* Unknown flags (or unmap on discard) are UNSUPP. */
		if (flags & ~(zeroes ? 1u : 0u))
			return VIRTIO_BLK_S_UNSUPP;
		if (count > BLK_MAX_RANGE_SECTORS ||
		    !in_bounds(blk, sector, (uint64_t)count * SECTOR_SIZE))
			return VIRTIO_BLK_S_IOERR;
		req->io.range[i] = (struct block_range){ sector * SECTOR_SIZE,
							 (uint64_t)count * SECTOR_SIZE };
	}
	req->io.nranges = (int)n;
	req->io.op = zeroes ? BLOCK_REQ_WRITE_ZEROES : BLOCK_REQ_DISCARD;
	return VIRTIO_BLK_S_OK;
}

/* A transfer of data_len bytes at sector through the segments seg: the
 * block request, or the status that ends it at once. */
static int blk_transfer(struct virtio_blk *blk, struct blk_req *req, enum block_req_op op,
			const struct iovec *seg, unsigned nseg, uint64_t skip, uint64_t data_len,
			uint64_t sector, uint8_t *status)
{
	int ndata = iov_slice(seg, nseg, skip, data_len, req->data, VIRTQ_MAX_SIZE);

	if ((op == BLOCK_REQ_WRITE && blk->readonly) || ndata < 0 ||
	    !in_bounds(blk, sector, data_len)) {
		*status = VIRTIO_BLK_S_IOERR;
		return REQ_DONE;
	}
	if (!data_len)
		return REQ_DONE;
	req->io.op = op;
	req->io.iov = req->data;
	req->io.iovcnt = ndata;
	req->io.offset = sector * SECTOR_SIZE;
	return REQ_IO;
}

/* Read a request on the notifying thread: REQ_IO when it needs the disk
 * (req->io filled in), REQ_DONE when *status says it all, REQ_BROKEN when
 * the chain is not a request at all (the device then needs a reset). */
static int blk_prepare(struct virtio_blk *blk, struct blk_req *req, uint8_t *status)
{
	struct virtq_elem *e = &req->elem;
	struct iovec *in = virtq_elem_in(e);
	uint8_t hdr[BLK_HDR_SIZE];
	uint32_t type;
	uint64_t sector;

	/* §5.2.6: a readable header, a writable status byte at the very end;
	 * the device assumes nothing else about the framing. */
	if (e->out_len < BLK_HDR_SIZE || e->in_len < 1) {
		virtio_mmio_fail(blk->vm, 0, "virtio-blk request without header or status byte");
		return REQ_BROKEN;
	}
	iov_to_buf(e->iov, e->n_out, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	*status = VIRTIO_BLK_S_OK;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		return blk_transfer(blk, req, BLOCK_REQ_READ, in, e->n_in, 0, e->in_len - 1, sector,
				    status);
	case VIRTIO_BLK_T_OUT:
		return blk_transfer(blk, req, BLOCK_REQ_WRITE, e->iov, e->n_out, BLK_HDR_SIZE,
				    e->out_len - BLK_HDR_SIZE, sector, status);
	case VIRTIO_BLK_T_FLUSH:
		/* cache=unsafe: the guest is told its data is safe, as asked */
		if (blk->flush_unsafe)
			return REQ_DONE;
		req->io.op = BLOCK_REQ_FLUSH;
		return REQ_IO;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		bool zeroes = type == VIRTIO_BLK_T_WRITE_ZEROES;

		/* Only what the driver negotiated (§5.2.6.2). */
		if (!virtio_has_feature(blk->vm, zeroes ? VIRTIO_BLK_F_WRITE_ZEROES :
							  VIRTIO_BLK_F_DISCARD)) {
			*status = VIRTIO_BLK_S_UNSUPP;
			return REQ_DONE;
		}
		*status = blk_ranges(blk, req, e->out_len - BLK_HDR_SIZE, zeroes);
		/* discard=ignore (the default, as QEMU's): checked, accepted,
		 * and the data stays. */
		if (*status != VIRTIO_BLK_S_OK || (!zeroes && !blk->discard_unmap))
			return REQ_DONE;
		return REQ_IO;
	}
	case VIRTIO_BLK_T_GET_ID: {
		/* 20 bytes, NUL-padded when the serial is shorter (§5.2.6) */
		uint8_t id[BLK_ID_BYTES] = { 0 };
		size_t n = e->in_len - 1 < BLK_ID_BYTES ? e->in_len - 1 : BLK_ID_BYTES;

		memcpy(id, blk->disk->serial, strnlen(blk->disk->serial, BLK_ID_BYTES));
		iov_from_buf(in, e->n_in, 0, id, n);
		return REQ_DONE;
	}
	default:
		*status = VIRTIO_BLK_S_UNSUPP;
		return REQ_DONE;
	}
}

/* Return a request to the driver (lock held): the status byte, then the
 * used element, whose release store orders both after the data (§2.7.8).
 * A request from before a reset is dropped: its ring is gone. */
static bool blk_finish_locked(struct virtio_blk *blk, struct blk_req *req, uint8_t status)
{
	struct virtq_elem *e = &req->elem;

	if (req->generation != blk->generation)
		return false;
	iov_from_buf(virtq_elem_in(e), e->n_in, e->in_len - 1, &status, 1);
	virtq_push(blk->vm, req->queue, e, (uint32_t)e->in_len);
	return true;
}

static uint8_t io_status(const struct blk_req *req)
{
	return req->io.result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static void blk_io_done(struct block_req *io);

/* Take what the driver made available, up to the in-flight bound (a
 * driver may make a chain available again while it is in flight, so the
 * queue size alone bounds nothing).  Lock held. */
static void blk_process(struct virtio_blk *blk, unsigned q)
{
	bool used = false;

	for (;;) {
		struct blk_req *req = blk->spare;
		uint8_t status;
		int kind;

		if (blk->inflight >= VIRTQ_MAX_SIZE) {
			blk->stalled = true;
			break;
		}
		if (!req)
			req = malloc(sizeof(*req));
		blk->spare = req;
		if (!req || virtq_pop(blk->vm, q, &req->elem) <= 0)
			break;
		memset(&req->io, 0, sizeof(req->io));
		req->blk = blk;
		req->queue = q;
		req->generation = blk->generation;
		kind = blk_prepare(blk, req, &status);
		if (kind == REQ_BROKEN)
			break;
		if (kind == REQ_IO && blk->aio) {
			blk->spare = NULL;
			if (++blk->inflight > blk->most_inflight)
				blk->most_inflight = blk->inflight;
			req->io.done = blk_io_done;
			block_aio_submit(blk->aio, &req->io);
			continue;
		}
		if (kind == REQ_IO) { /* no engine (tests, fuzzing): here and now */
			block_req_run(blk->disk, &req->io);
			status = io_status(req);
		}
		used |= blk_finish_locked(blk, req, status);
	}
	if (used)
		virtq_notify_guest(blk->vm, q);
}

/* On an engine thread: complete the request, and take more if the
 * in-flight bound held some back. */
static void blk_io_done(struct block_req *io)
{
	struct blk_req *req = (struct blk_req *)io;
	struct virtio_blk *blk = req->blk;

	virtio_mmio_lock(blk->vm);
	if (blk_finish_locked(blk, req, io_status(req)))
		virtq_notify_guest(blk->vm, req->queue);
	if (--blk->inflight == 0)
		pthread_cond_broadcast(&blk->idle);
	if (blk->stalled && req->generation == blk->generation) {
		blk->stalled = false;
		blk_process(blk, req->queue);
	}
	virtio_mmio_unlock(blk->vm);
	free(req);
}

static void blk_notify(void *dev, unsigned q)
{
	blk_process(dev, q);
}

/* Lock held.  Requests in flight may still be writing into guest RAM:
 * wait for them (the lock is free meanwhile, for their completions), and
 * make sure none is returned on the rings the driver sets up next. */
static void blk_drain_locked(struct virtio_blk *blk)
{
	blk->generation++;
	blk->stalled = false;
	while (blk->inflight)
		pthread_cond_wait(&blk->idle, &blk->vm->lock);
}

/* Snapshots: the transport saves the queue, the disk saves itself and the
 * host's options decide the config space, so the device type has nothing
 * of its own, provided nothing is in flight (virtio_mmio_quiesce). */
static void blk_quiesce(void *dev)
{
	struct virtio_blk *blk = dev;

	while (blk->inflight)
		pthread_cond_wait(&blk->idle, &blk->vm->lock);
}

static void blk_save(void *dev, struct state_buf *out)
{
	struct virtio_blk *blk = dev;

	if (blk->inflight || blk->stalled)
		state_fail(out, "virtio-blk: requests in flight at save (quiesce first)");
}

static void blk_reset(void *dev)
{
	blk_drain_locked(dev);
}

static void blk_free(void *dev)
{
	struct virtio_blk *blk = dev;

	virtio_mmio_lock(blk->vm);
	blk_drain_locked(blk);
	virtio_mmio_unlock(blk->vm);
	if (blk->aio)
		log_info("virtio", "%s: at most %u requests were in flight at once", blk->name,
			 blk->most_inflight);
	pthread_cond_destroy(&blk->idle);
	free(blk->spare);
	free(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.kconfig = "CONFIG_VIRTIO_BLK",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = VIRTQ_MAX_SIZE,
	.config_len = BLK_CONFIG_LEN,
	.config_read = blk_config_read,
	.notify = { blk_notify },
	.reset = blk_reset,
	.free = blk_free,
	.save = blk_save,
	.quiesce = blk_quiesce,
};

struct virtio_mmio *virtio_blk_new(struct guest_ram *ram, struct irq_line irq,
				   struct block_dev *disk, const struct virtio_blk_opts *opts)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	uint64_t features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
			    1ull << VIRTIO_BLK_F_FLUSH;

	if (!blk)
		return NULL;
	blk->disk = disk;
	blk->aio = opts->aio;
	blk->name = opts->name ? opts->name : "virtio-blk";
	blk->flush_unsafe = opts->flush_unsafe;
	blk->discard_unmap = opts->discard_unmap;
	pthread_cond_init(&blk->idle, NULL);
	blk->readonly = opts->readonly || disk->readonly;
	blk->capacity = disk->size / SECTOR_SIZE;
	if (blk->readonly)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	put_le64(blk->config + 0, blk->capacity);
	/* seg_max: a request is header + data segments + status, within one
	 * queue's worth of descriptors (§2.7.5.3.1) */
	put_le32(blk->config + 12, VIRTQ_MAX_SIZE - 2);
	/* blk_size: what O_DIRECT needs, so a driver sends only that (§5.2.4) */
	put_le32(blk->config + 20, disk->block_size > SECTOR_SIZE ? disk->block_size : SECTOR_SIZE);
	put_le32(blk->config + BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_RANGE_SECTORS);
	put_le32(blk->config + BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_RANGES);
	put_le32(blk->config + BLK_CFG_DISCARD_ALIGN, 1);
	put_le32(blk->config + BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_RANGE_SECTORS);
	put_le32(blk->config + BLK_CFG_MAX_WZ_SEG, BLK_MAX_RANGES);
	blk->config[BLK_CFG_WZ_MAY_UNMAP] = 1;
	blk->vm = virtio_mmio_new(ram, irq, &blk_ops, blk, features);
	if (!blk->vm) {
		pthread_cond_destroy(&blk->idle);
		free(blk);
		return NULL;
	}
	return blk->vm;
}
