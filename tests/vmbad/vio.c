/* vio.c - the tests/vmbad virtio-mmio driver bits (see vio.h). */
#include "vio.h"

#define POLL_LIMIT 20000000 /* polls of used->idx before giving up */

static struct vring_mem rings[VIRTIO_SLOTS];

bool vio_find(uint32_t id, int nth, struct vdev *d)
{
	for (int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		uintptr_t base = VIRTIO_BASE + VIRTIO_STRIDE * (uintptr_t)slot;
		if (rd32(base + VIO_MAGIC) != VIO_MAGIC_VALUE || rd32(base + VIO_VERSION) != 2 ||
		    rd32(base + VIO_DEVICE_ID) != id)
			continue;
		if (nth-- > 0)
			continue;
		memset(d, 0, sizeof(*d));
		d->base = base;
		d->slot = slot;
		d->irq = 1 + (unsigned)slot;
		d->id = id;
		d->condo = rt_board_is_condo();
		d->ring = &rings[slot];
		/* let the PLIC see the line: priority 1 (nothing enables it for a hart) */
		wr32(PLIC_BASE + 4 * d->irq, 1);
		return true;
	}
	return false;
}

static int setup_fail(const struct vdev *d, const char *why)
{
	rt_puts("# vio_setup slot ");
	rt_put_dec((uint64_t)d->slot);
	rt_puts(": ");
	rt_puts(why);
	rt_puts("\n");
	return -1;
}

int vio_setup(struct vdev *d, uint16_t num, uint64_t want)
{
	uint64_t ring_addr;
	uint32_t st;

	vio_wr(d, VIO_STATUS, 0);
	if (vio_rd(d, VIO_STATUS) != 0)
		return setup_fail(d, "status not 0 after reset");
	vio_wr(d, VIO_STATUS, ST_ACK);
	vio_wr(d, VIO_STATUS, ST_ACK | ST_DRIVER);
	vio_wr(d, VIO_DEV_FEATURES_SEL, 0);
	d->offered = vio_rd(d, VIO_DEV_FEATURES);
	vio_wr(d, VIO_DEV_FEATURES_SEL, 1);
	d->offered |= (uint64_t)vio_rd(d, VIO_DEV_FEATURES) << 32;
	if (!(d->offered & (1ull << F_VERSION_1)))
		return setup_fail(d, "VERSION_1 not offered");
	d->features = d->offered & (want | 1ull << F_VERSION_1);
	if (d->low_word_only)
		d->features &= 0xffffffffu;
	vio_wr(d, VIO_DRV_FEATURES_SEL, 0);
	vio_wr(d, VIO_DRV_FEATURES, (uint32_t)d->features);
	if (!d->low_word_only) {
		vio_wr(d, VIO_DRV_FEATURES_SEL, 1);
		vio_wr(d, VIO_DRV_FEATURES, (uint32_t)(d->features >> 32));
	}
	vio_wr(d, VIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(vio_rd(d, VIO_STATUS) & ST_FEATURES_OK))
		return setup_fail(d, "FEATURES_OK refused");
	vio_wr(d, VIO_QUEUE_SEL, 0);
	if (vio_rd(d, VIO_QUEUE_READY) != 0)
		return setup_fail(d, "queue 0 ready after reset");
	if (!d->any_num && vio_rd(d, VIO_QUEUE_NUM_MAX) < num)
		return setup_fail(d, "QueueNumMax too small");
	memset(d->ring, 0, sizeof(*d->ring));
	d->num = num;
	d->avail_idx = d->used_seen = 0;
	vio_wr(d, VIO_QUEUE_NUM, num);
	ring_addr = d->desc_moved ? d->desc_at : (uintptr_t)d->ring->desc;
	vio_wr(d, VIO_QUEUE_DESC_LO, (uint32_t)ring_addr);
	vio_wr(d, VIO_QUEUE_DESC_HI, (uint32_t)(ring_addr >> 32));
	ring_addr = d->avail_moved ? d->avail_at : (uintptr_t)d->ring->avail;
	vio_wr(d, VIO_QUEUE_DRIVER_LO, (uint32_t)ring_addr);
	vio_wr(d, VIO_QUEUE_DRIVER_HI, (uint32_t)(ring_addr >> 32));
	ring_addr = d->used_moved ? d->used_at : (uintptr_t)d->ring->used;
	vio_wr(d, VIO_QUEUE_DEVICE_LO, (uint32_t)ring_addr);
	vio_wr(d, VIO_QUEUE_DEVICE_HI, (uint32_t)(ring_addr >> 32));
	fence();
	vio_wr(d, VIO_QUEUE_READY, 1);
	vio_wr(d, VIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	st = vio_rd(d, VIO_STATUS);
	if (st != (ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK))
		return -2;
	return 0;
}

void vio_notify(struct vdev *d)
{
	fence();
	vio_wr(d, VIO_QUEUE_NOTIFY, 0);
}

void vio_post(struct vdev *d, uint16_t head, uint16_t bump)
{
	uint16_t n = d->num && d->num <= 256 ? d->num : 256; /* hostile sizes stay in the array */

	d->ring->avail[2 + d->avail_idx % n] = head;
	fence();
	d->avail_idx = (uint16_t)(d->avail_idx + bump);
	d->ring->avail[1] = d->avail_idx;
	vio_notify(d);
}

uint16_t vio_used_idx(const struct vdev *d)
{
	fence();
	return *(volatile uint16_t *)(d->ring->used + 2);
}

void vio_used_elem(const struct vdev *d, uint16_t i, uint32_t *id, uint32_t *len)
{
	uint16_t n = d->num && d->num <= 256 ? d->num : 256;
	const volatile uint8_t *e = d->ring->used + 4 + 8 * (i % n);

	*id = *(const volatile uint32_t *)e;
	*len = *(const volatile uint32_t *)(e + 4);
}

int vio_wait(struct vdev *d)
{
	for (int i = 0; i < POLL_LIMIT; i++) {
		if (vio_used_idx(d) != d->used_seen)
			return 1;
		if (vio_rd(d, VIO_STATUS) & ST_NEEDS_RESET)
			return 2;
	}
	return 0;
}

bool vio_irq_pending(const struct vdev *d)
{
	return (rd32(PLIC_BASE + 0x1000 + 4 * (d->irq / 32)) >> (d->irq % 32)) & 1;
}
