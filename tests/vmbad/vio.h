/* vio.h - just enough of a virtio-mmio driver (virtio 1.2 §4.2.3, §2.7)
 * for the tests/vmbad guests to set devices up by the book and then post
 * whatever descriptors they like, good or hostile. */
#ifndef VMBAD_VIO_H
#define VMBAD_VIO_H

#include "rt.h"

/* virtio-mmio version 2 registers (§4.2.2) */
#define VIO_MAGIC           0x000
#define VIO_VERSION         0x004
#define VIO_DEVICE_ID       0x008
#define VIO_VENDOR_ID       0x00c
#define VIO_DEV_FEATURES    0x010
#define VIO_DEV_FEATURES_SEL 0x014
#define VIO_DRV_FEATURES    0x020
#define VIO_DRV_FEATURES_SEL 0x024
#define VIO_QUEUE_SEL       0x030
#define VIO_QUEUE_NUM_MAX   0x034
#define VIO_QUEUE_NUM       0x038
#define VIO_QUEUE_READY     0x044
#define VIO_QUEUE_NOTIFY    0x050
#define VIO_INT_STATUS      0x060
#define VIO_INT_ACK         0x064
#define VIO_STATUS          0x070
#define VIO_QUEUE_DESC_LO   0x080
#define VIO_QUEUE_DESC_HI   0x084
#define VIO_QUEUE_DRIVER_LO 0x090
#define VIO_QUEUE_DRIVER_HI 0x094
#define VIO_QUEUE_DEVICE_LO 0x0a0
#define VIO_QUEUE_DEVICE_HI 0x0a4
#define VIO_CONFIG_GEN      0x0fc
#define VIO_CONFIG          0x100

#define VIO_MAGIC_VALUE  0x74726976
#define VIO_VENDOR_QEMU  0x554d4551 /* "QEMU": what condo answers too */

#define VIO_ID_BLOCK 2
#define VIO_ID_CONSOLE 3
#define VIO_ID_RNG   4

#define ST_ACK         1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 64
#define ST_FAILED      128

#define INT_VRING  1
#define INT_CONFIG 2

#define F_INDIRECT_DESC 28
#define F_VERSION_1     32
#define F_BLK_RO        5
#define F_BLK_FLUSH     9

#define D_NEXT     1
#define D_WRITE    2
#define D_INDIRECT 4

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_mem {
	struct vdesc desc[256] __attribute__((aligned(4096)));
	volatile uint16_t avail[2 + 256 + 1] __attribute__((aligned(4096))); /* flags, idx, ring */
	volatile uint8_t used[6 + 8 * 256] __attribute__((aligned(4096)));  /* flags, idx, ring */
};

struct vdev {
	uintptr_t base;
	int slot;
	unsigned irq;      /* the PLIC source: 1 + slot on both condo and QEMU */
	uint32_t id;
	bool condo;        /* condo's board: checks of condo-specific choices apply */
	uint64_t offered;  /* device features */
	uint64_t features; /* negotiated */
	uint16_t num;      /* queue size in use */
	uint16_t avail_idx, used_seen;
	struct vring_mem *ring;
	/* For hostile set-ups: ring addresses to give the device instead of
	 * the real rings (each used when its flag is set), and no check of
	 * num against QueueNumMax. */
	uint64_t desc_at, avail_at, used_at;
	bool desc_moved, avail_moved, used_moved;
	bool any_num;
	/* Like small drivers written against QEMU: write only the low word
	 * of DriverFeatures, so VERSION_1 (bit 32) is not accepted. */
	bool low_word_only;
};

/* The nth (0-based) device of type id in the virtio slots; false if none.
 * Slots with nothing behind them may fault (condo) or read DeviceID 0. */
bool vio_find(uint32_t id, int nth, struct vdev *d);

/* Reset and set up queue 0 with num entries, negotiating VERSION_1 (unless
 * low_word_only) plus the offered bits among `want`.  0 on success; -1 (and prints why) when
 * the device refuses a step; -2 when Status after DRIVER_OK is not
 * exactly ACK|DRIVER|FEATURES_OK|DRIVER_OK (e.g. NEEDS_RESET). */
int vio_setup(struct vdev *d, uint16_t num, uint64_t want);

static inline uint32_t vio_rd(const struct vdev *d, unsigned reg)
{
	return rd32(d->base + reg);
}

static inline void vio_wr(const struct vdev *d, unsigned reg, uint32_t v)
{
	wr32(d->base + reg, v);
}

/* Put head in the next available slot, bump avail->idx by `bump` (1 for
 * a well-behaved driver) and notify queue 0. */
void vio_post(struct vdev *d, uint16_t head, uint16_t bump);
void vio_notify(struct vdev *d);

/* Wait (a bounded number of polls) for used->idx to move or the device to
 * want a reset: 1 = a buffer was used, 2 = NEEDS_RESET, 0 = neither. */
int vio_wait(struct vdev *d);
uint16_t vio_used_idx(const struct vdev *d);
/* The used element for the entry `i` (0-based, modulo num). */
void vio_used_elem(const struct vdev *d, uint16_t i, uint32_t *id, uint32_t *len);

/* The device's PLIC source is pending (its line is high). */
bool vio_irq_pending(const struct vdev *d);

#endif
