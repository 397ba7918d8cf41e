/* Split virtqueues, device side (virtio 1.2 §2.7): take descriptor chains
 * from the available ring, return them on the used ring.
 *
 * The guest owns the rings and may rewrite them at any moment from another
 * hart thread, so every ring address is checked through gmem_ptr each time
 * it is used, every descriptor is copied before it is checked, and any
 * driver error (a loop, a buffer outside RAM, an index out of range, an
 * available index jumping ahead by more than the queue size) puts the
 * device into DEVICE_NEEDS_RESET instead of being followed. */
#include "virtio/virtio_internal.h"

#include <string.h>

static bool queue_live(const struct virtio_mmio *vm, const struct virtq *q)
{
	const uint32_t want = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;

	return (vm->status & want) == want && q->ready && !q->broken;
}

/* The three ring areas of a queue as host pointers, or NULL when any of
 * them is not entirely in RAM or not aligned as §2.7 requires (the used
 * index is stored atomically, so alignment also keeps that defined). */
struct rings {
	const uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
};

static const char *map_rings(const struct virtio_mmio *vm, const struct virtq *q, struct rings *r)
{
	uint64_t n = q->num;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return "bad queue size"; /* checked at QueueReady; kept as a guard */
	r->desc = gmem_ptr(vm->ram, q->desc, 16 * n);
	r->avail = gmem_ptr(vm->ram, q->avail, 6 + 2 * n);
	r->used = gmem_ptr(vm->ram, q->used, 6 + 8 * n);
	if (!r->desc || !r->avail || !r->used)
		return "virtqueue rings outside guest RAM";
	if (((uintptr_t)r->desc & 15) || ((uintptr_t)r->avail & 1) || ((uintptr_t)r->used & 3))
		return "misaligned virtqueue rings";
	return NULL;
}

static uint16_t load_acquire16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static uint16_t load_relaxed16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

/* Walk the chain starting at head into e.  Returns NULL or what is wrong. */
static const char *walk_chain(struct virtio_mmio *vm, const struct virtq *q, const uint8_t *desc,
			      uint16_t head, struct virtq_elem *e)
{
	const uint8_t *table = desc;
	uint32_t table_len = q->num, idx = head, count = 0;
	bool in_indirect = false;

	e->head = head;
	e->n_out = e->n_in = 0;
	e->out_len = e->in_len = 0;
	for (;;) {
		struct virtq_desc d;
		void *buf;

		if (idx >= table_len)
			return "descriptor index out of range";
		/* §2.7.5.3.1: no chain is longer than the queue size; this
		 * also ends loops, in the ring and in indirect tables. */
		if (++count > q->num)
			return "descriptor chain longer than the queue (a loop?)";
		memcpy(&d, table + 16 * (size_t)idx, sizeof(d));

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!virtio_has_feature(vm, VIRTIO_F_INDIRECT_DESC))
				return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
			if (in_indirect)
				return "indirect descriptor inside an indirect table";
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return "indirect descriptor with NEXT set";
			if (d.len == 0 || d.len % 16)
				return "indirect table length not a multiple of 16";
			table = gmem_ptr(vm->ram, d.addr, d.len);
			if (!table)
				return "indirect table outside guest RAM";
			table_len = d.len / 16;
			idx = 0;
			in_indirect = true;
			/* The table holds up to a queue's worth of its own: Linux
			 * fills one with seg_max + 2 = QueueNum entries. */
			count = 0;
			continue;
		}

		buf = gmem_ptr(vm->ram, d.addr, d.len);
		if (!buf)
			return "buffer outside guest RAM";
		if (e->n_out + e->n_in >= VIRTQ_MAX_SIZE)
			return "descriptor chain longer than the queue";
		e->iov[e->n_out + e->n_in] = (struct iovec){ buf, d.len };
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			e->n_in++;
			e->in_len += d.len;
		} else {
			if (e->n_in)
				return "device-readable buffer after a device-writable one";
			e->n_out++;
			e->out_len += d.len;
		}
		if (e->out_len + e->in_len > UINT32_MAX)
			return "descriptor chain longer than 4 GiB";
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		idx = d.next;
	}
}

int virtq_pop(struct virtio_mmio *vm, unsigned qi, struct virtq_elem *e)
{
	struct virtq *q = &vm->queues[qi];
	struct rings r;
	const char *err;
	uint16_t avail_idx, pending, head;

	if (qi >= vm->ops->num_queues || !queue_live(vm, q))
		return 0;
	err = map_rings(vm, q, &r);
	if (err)
		goto fail;
	/* acquire: the ring entries and descriptors the driver wrote before
	 * bumping idx are visible once we see the new idx */
	avail_idx = load_acquire16(r.avail + 2);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num) {
		err = "available index ahead by more than the queue size";
		goto fail;
	}
	head = load_relaxed16(r.avail + 4 + 2 * (q->last_avail % q->num));
	err = walk_chain(vm, q, r.desc, head, e);
	if (err)
		goto fail;
	q->last_avail++;
	return 1;
fail:
	virtio_mmio_fail(vm, qi, err);
	return -1;
}

void virtq_unpop(struct virtio_mmio *vm, unsigned qi, unsigned n)
{
	if (qi < vm->ops->num_queues)
		vm->queues[qi].last_avail = (uint16_t)(vm->queues[qi].last_avail - n);
}

void virtq_push(struct virtio_mmio *vm, unsigned qi, const struct virtq_elem *e, uint32_t len)
{
	struct virtq *q = &vm->queues[qi];
	uint8_t elem[8];
	struct rings r;
	const char *err;

	if (qi >= vm->ops->num_queues || !queue_live(vm, q))
		return;
	err = map_rings(vm, q, &r);
	if (err) {
		virtio_mmio_fail(vm, qi, err);
		return;
	}
	if (len > e->in_len)
		len = (uint32_t)e->in_len; /* never claim more than was writable */
	/* DMA into pages harts run code from invalidates that code. */
	for (unsigned i = e->n_out, left = len; i < e->n_out + e->n_in && left; i++) {
		uint32_t n = e->iov[i].iov_len < left ? (uint32_t)e->iov[i].iov_len : left;

		gmem_written(vm->ram, e->iov[i].iov_base, n);
		left -= n;
	}
	put_le32(elem, e->head);
	put_le32(elem + 4, len);
	memcpy(r.used + 4 + 8 * (size_t)(q->used_idx % q->num), elem, sizeof(elem));
	gmem_written(vm->ram, r.used + 4 + 8 * (size_t)(q->used_idx % q->num), sizeof(elem));
	q->used_idx++;
	/* release: the element (and the data) are visible before the index */
	__atomic_store_n((uint16_t *)(void *)(r.used + 2), q->used_idx, __ATOMIC_RELEASE);
	gmem_written(vm->ram, r.used + 2, 2); /* the dirty-page log: migration sends it */
}

void virtq_notify_guest(struct virtio_mmio *vm, unsigned qi)
{
	struct virtq *q = &vm->queues[qi];
	struct rings r;
	uint16_t flags = 0;

	if (qi >= vm->ops->num_queues || !q->ready)
		return;
	/* Order our used->idx store before reading the driver's flags, the
	 * mirror of the barrier the driver has between them (§2.7.7). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!map_rings(vm, q, &r))
		flags = load_relaxed16(r.avail);
	if (flags & VIRTQ_AVAIL_F_NO_INTERRUPT)
		return;
	vm->interrupt_status |= VIRTIO_INT_VRING;
	irq_set(&vm->irq, true);
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, take;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		take = seg - skip < len - done ? seg - skip : len - done;
		memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + skip, take);
		done += take;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, take;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		take = seg - skip < len - done ? seg - skip : len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, take);
		done += take;
		skip = 0;
	}
	return done;
}

int iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len, struct iovec *dst,
	      unsigned max)
{
	unsigned out = 0;

	for (unsigned i = 0; i < n && len > 0; i++) {
		size_t seg = src[i].iov_len, take;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		if (out == max)
			return -1;
		take = seg - skip < len ? seg - skip : len;
		dst[out++] = (struct iovec){ (uint8_t *)src[i].iov_base + skip, take };
		len -= take;
		skip = 0;
	}
	return len ? -1 : (int)out;
}
