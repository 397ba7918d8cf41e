/* virtio-blk (virtio 1.2 §5.2): one request queue, served synchronously on
 * the notifying hart's thread with vectored I/O straight into the guest's
 * buffers.  Requests: IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES;
 * anything else is UNSUPP. */
#include "virtio/virtio_internal.h"
#include "condo/block.h"

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
	bool readonly;
	uint64_t capacity; /* in 512-byte sectors */
	uint8_t config[BLK_CONFIG_LEN];
};

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

/* DISCARD and WRITE_ZEROES: up to BLK_MAX_RANGES ranges in the data, each
 * checked against the disk before any is applied (§5.2.6.2). */
static uint8_t blk_ranges(struct virtio_blk *blk, struct virtq_elem *e, uint64_t data_len,
			  bool zeroes)
{
	uint8_t range[BLK_RANGE_SIZE];
	uint64_t n = data_len / BLK_RANGE_SIZE;

	if (blk->readonly || data_len % BLK_RANGE_SIZE || n == 0 || n > BLK_MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t sector;
			uint32_t count, flags;
			iov_to_buf(e->iov, e->n_out, BLK_HDR_SIZE + i * BLK_RANGE_SIZE, range,
				   sizeof(range));
			memcpy(&sector, range, 8);
			memcpy(&count, range + 8, 4);
			memcpy(&flags, range + 12, 4);
			if (pass == 0) {
				/* Unknown flags (or unmap on discard) are UNSUPP. */
				if (flags & ~(zeroes ? 1u : 0u))
					return VIRTIO_BLK_S_UNSUPP;
				if (count > BLK_MAX_RANGE_SECTORS ||
				    !in_bounds(blk, sector, (uint64_t)count * SECTOR_SIZE))
					return VIRTIO_BLK_S_IOERR;
				continue;
			}
			int err = zeroes ? block_write_zeroes(blk->disk, sector * SECTOR_SIZE,
							      (uint64_t)count * SECTOR_SIZE)
					 : block_discard(blk->disk, sector * SECTOR_SIZE,
							 (uint64_t)count * SECTOR_SIZE);
			if (err < 0)
				return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Serve one request; returns the used length, or -1 when the chain is not
 * a request at all (the device then needs a reset). */
static int64_t blk_request(struct virtio_blk *blk, struct virtq_elem *e)
{
	struct iovec data[VIRTQ_MAX_SIZE];
	struct iovec *in = virtq_elem_in(e);
	uint8_t hdr[BLK_HDR_SIZE], status = VIRTIO_BLK_S_OK;
	uint32_t type;
	uint64_t sector, data_len;
	int ndata;

	/* §5.2.6: a readable header, a writable status byte at the very end;
	 * the device assumes nothing else about the framing. */
	if (e->out_len < BLK_HDR_SIZE || e->in_len < 1) {
		virtio_mmio_fail(blk->vm, 0, "virtio-blk request without header or status byte");
		return -1;
	}
	iov_to_buf(e->iov, e->n_out, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);

	switch (type) {
	case VIRTIO_BLK_T_IN:
		data_len = e->in_len - 1;
		ndata = iov_slice(in, e->n_in, 0, data_len, data, VIRTQ_MAX_SIZE);
		if (ndata < 0 || !in_bounds(blk, sector, data_len))
			status = VIRTIO_BLK_S_IOERR;
		else if (data_len && block_preadv(blk->disk, data, ndata, sector * SECTOR_SIZE) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_OUT:
		data_len = e->out_len - BLK_HDR_SIZE;
		ndata = iov_slice(e->iov, e->n_out, BLK_HDR_SIZE, data_len, data, VIRTQ_MAX_SIZE);
		if (blk->readonly || ndata < 0 || !in_bounds(blk, sector, data_len))
			status = VIRTIO_BLK_S_IOERR;
		else if (data_len &&
			 block_pwritev(blk->disk, data, ndata, sector * SECTOR_SIZE) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (block_flush(blk->disk) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		/* Only what the driver negotiated (§5.2.6.2). */
		if (!virtio_has_feature(blk->vm, type == VIRTIO_BLK_T_DISCARD ?
							 VIRTIO_BLK_F_DISCARD :
							 VIRTIO_BLK_F_WRITE_ZEROES)) {
			status = VIRTIO_BLK_S_UNSUPP;
			break;
		}
		status = blk_ranges(blk, e, e->out_len - BLK_HDR_SIZE,
				    type == VIRTIO_BLK_T_WRITE_ZEROES);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		/* 20 bytes, NUL-padded when the serial is shorter (§5.2.6) */
		uint8_t id[BLK_ID_BYTES] = { 0 };
		size_t n = e->in_len - 1 < BLK_ID_BYTES ? e->in_len - 1 : BLK_ID_BYTES;

		memcpy(id, blk->disk->serial, strnlen(blk->disk->serial, BLK_ID_BYTES));
		iov_from_buf(in, e->n_in, 0, id, n);
		break;
	}
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	iov_from_buf(in, e->n_in, e->in_len - 1, &status, 1);
	return (int64_t)e->in_len;
}

static void blk_notify(void *dev, unsigned q)
{
	struct virtio_blk *blk = dev;
	struct virtq_elem e;
	bool used = false;

	while (virtq_pop(blk->vm, q, &e) > 0) {
		int64_t len = blk_request(blk, &e);
		if (len < 0)
			break;
		virtq_push(blk->vm, q, &e, (uint32_t)len);
		used = true;
	}
	if (used)
		virtq_notify_guest(blk->vm, q);
}

static void blk_free(void *dev)
{
	free(dev);
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
	.free = blk_free,
};

struct virtio_mmio *virtio_blk_new(struct guest_ram *ram, struct irq_line irq,
				   struct block_dev *disk, bool readonly)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	uint64_t features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
			    1ull << VIRTIO_BLK_F_FLUSH;

	if (!blk)
		return NULL;
	blk->disk = disk;
	blk->readonly = readonly || disk->readonly;
	blk->capacity = disk->size / SECTOR_SIZE;
	if (blk->readonly)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	put_le64(blk->config + 0, blk->capacity);
	/* seg_max: a request is header + data segments + status, within one
	 * queue's worth of descriptors (§2.7.5.3.1) */
	put_le32(blk->config + 12, VIRTQ_MAX_SIZE - 2);
	put_le32(blk->config + 20, SECTOR_SIZE);
	put_le32(blk->config + BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_RANGE_SECTORS);
	put_le32(blk->config + BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_RANGES);
	put_le32(blk->config + BLK_CFG_DISCARD_ALIGN, 1);
	put_le32(blk->config + BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_RANGE_SECTORS);
	put_le32(blk->config + BLK_CFG_MAX_WZ_SEG, BLK_MAX_RANGES);
	blk->config[BLK_CFG_WZ_MAY_UNMAP] = 1;
	blk->vm = virtio_mmio_new(ram, irq, &blk_ops, blk, features);
	if (!blk->vm) {
		free(blk);
		return NULL;
	}
	return blk->vm;
}
