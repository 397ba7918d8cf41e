/* Inside the virtio component: the transport state shared by mmio.c and
 * queue.c, the device-type ops table every device type fills in, and the
 * split-virtqueue helpers device types use (virtio 1.2 §2.7). */
#ifndef VIRTIO_INTERNAL_H
#define VIRTIO_INTERNAL_H

#include "condo/mem.h"
#include "condo/virtio.h"

#include <pthread.h>
#include <sys/uio.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtio 1.x structures are little-endian; this code assumes a little-endian host"
#endif

#define VIRTIO_MAX_QUEUES 2
#define VIRTQ_MAX_SIZE    256 /* QueueNumMax we offer; also the longest chain */

/* Device status bits (§2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

/* Transport feature bits (§6) */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* InterruptStatus bits (§4.2.2) */
#define VIRTIO_INT_VRING  1
#define VIRTIO_INT_CONFIG 2

/* Split virtqueue layout (§2.7) */
#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2
#define VIRTQ_DESC_F_INDIRECT   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One queue as the driver configured it.  Ring addresses are guest values,
 * checked through gmem_ptr every time they are used. */
struct virtq {
	uint32_t num; /* QueueNum */
	bool ready;
	bool broken; /* a driver error put the device in NEEDS_RESET: ignore it */
	gpa_t desc, avail, used;
	uint16_t last_avail; /* next available-ring entry to take */
	uint16_t used_idx;   /* our copy of used->idx: never read back from the guest */
};

/* A popped descriptor chain: device-readable segments (out) first, then
 * device-writable ones (in), as host pointers from gmem_ptr. */
struct virtq_elem {
	uint16_t head;
	unsigned n_out, n_in;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

static inline struct iovec *virtq_elem_in(struct virtq_elem *e)
{
	return e->iov + e->n_out;
}

struct state_buf;

typedef void (*virtio_notify_fn)(void *dev, unsigned queue);

/* What makes a device type: the transport calls these with the device lock
 * held (see virtio_mmio_lock). */
struct virtio_dev_ops {
	const char *name;    /* "virtio-blk": log messages */
	const char *kconfig; /* the guest kernel option that drives it */
	uint32_t device_id;
	unsigned num_queues;
	uint16_t queue_max;
	unsigned config_len;
	/* Config space [offset, offset+len), already bounds-checked. */
	void (*config_read)(void *dev, unsigned offset, void *buf, unsigned len);
	void (*config_write)(void *dev, unsigned offset, const void *buf, unsigned len);
	/* The driver made buffers available on a queue (or set DRIVER_OK). */
	virtio_notify_fn notify[VIRTIO_MAX_QUEUES];
	/* The driver reset the device: forget in-flight state. */
	void (*reset)(void *dev);
	void (*free)(void *dev);
	/* Snapshots (mmio_state.c), lock held.  save appends the device
	 * type's own state after the transport's; load reads it back after
	 * the transport's part is read and checked, before it is applied,
	 * and fails the buffer (returning -1) on anything malformed, having
	 * changed nothing.  Both NULL: nothing beyond the queues. */
	void (*save)(void *dev, struct state_buf *out);
	int (*load)(void *dev, struct state_buf *in);
	/* Wait until no request is in flight, lock held (a condition wait
	 * may drop it meanwhile), requests completing as usual.  NULL:
	 * the device finishes every request within one locked section. */
	void (*quiesce)(void *dev);
};

struct virtio_mmio {
	pthread_mutex_t lock;
	struct guest_ram *ram;
	struct irq_line irq;
	const struct virtio_dev_ops *ops;
	void *dev;

	uint64_t device_features, driver_features;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t queue_sel, shm_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	bool ever_driver_ok;
	unsigned errors_logged; /* a guest could reset and err forever: log a few */
	struct virtq queues[VIRTIO_MAX_QUEUES];
};

/* The transport around a device type.  features are the device-type bits;
 * VERSION_1 and INDIRECT_DESC are added here.  NULL on failure. */
struct virtio_mmio *virtio_mmio_new(struct guest_ram *ram, struct irq_line irq,
				    const struct virtio_dev_ops *ops, void *dev, uint64_t features);

/* virtio_mmio_ops' save and load (mmio_state.c). */
void virtio_mmio_save(void *vm, struct state_buf *out);
int virtio_mmio_load(void *vm, struct state_buf *in);

/* For device work started outside a register access (the event loop). */
void virtio_mmio_lock(struct virtio_mmio *vm);
void virtio_mmio_unlock(struct virtio_mmio *vm);

static inline bool virtio_has_feature(const struct virtio_mmio *vm, unsigned bit)
{
	return vm->driver_features & (1ull << bit);
}

/* A driver error on queue q: NEEDS_RESET, a configuration-change interrupt,
 * and the queue is ignored until the driver resets the device (§2.1.2). */
void virtio_mmio_fail(struct virtio_mmio *vm, unsigned q, const char *why);

/* Take the next available chain of queue q into e.  1: got one; 0: none
 * (or the queue is not live); -1: the driver broke the queue (already
 * reported through virtio_mmio_fail).  Lock held. */
int virtq_pop(struct virtio_mmio *vm, unsigned q, struct virtq_elem *e);
/* Give back the last n chains popped from queue q and not pushed: the
 * next pops take them again (a device that found too little room for a
 * frame waits for more buffers instead).  Lock held. */
void virtq_unpop(struct virtio_mmio *vm, unsigned q, unsigned n);
/* Return the chain to the driver, len bytes written into it. */
void virtq_push(struct virtio_mmio *vm, unsigned q, const struct virtq_elem *e, uint32_t len);
/* Interrupt the driver for used buffers unless it asked not to be. */
void virtq_notify_guest(struct virtio_mmio *vm, unsigned q);

/* Scatter-gather helpers over host iovecs. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);
/* dst = the bytes [skip, skip+len) of src, as at most max segments; the
 * number of segments, or -1 when that does not fit. */
int iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len, struct iovec *dst,
	      unsigned max);

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
