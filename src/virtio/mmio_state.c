/* Snapshots of a virtio-mmio device (condo/dev.h's save and load): the
 * transport's registers and every queue's configuration and positions,
 * then the device type's own state through its ops (blk.c, net.c, ...).
 *
 * Called with every hart parked and, for a disk, after
 * virtio_mmio_quiesce: no request is in flight, so the queue positions
 * (last_avail, used_idx) are the whole story of the rings; the rings and
 * buffers themselves are guest memory, saved with it.  Not saved: what
 * the host's configuration decides (the features offered, a disk's
 * capacity and read-only flag, a NIC's MAC) and the count of guest errors
 * already logged. */
#include "virtio/virtio_internal.h"
#include "condo/state.h"

/* The transport's guest-visible state, read and checked before any of it
 * is applied. */
struct mmio_state {
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel, queue_sel, shm_sel;
	uint32_t status, interrupt_status, config_generation;
	bool ever_driver_ok;
	struct virtq queues[VIRTIO_MAX_QUEUES];
};

static void save_queue(struct state_buf *out, const struct virtq *q)
{
	state_put_u32(out, q->num);
	state_put_bool(out, q->ready);
	state_put_bool(out, q->broken);
	state_put_u64(out, q->desc);
	state_put_u64(out, q->avail);
	state_put_u64(out, q->used);
	state_put_u16(out, q->last_avail);
	state_put_u16(out, q->used_idx);
}

static void load_queue(struct state_buf *in, struct virtq *q)
{
	q->num = state_get_u32(in);
	q->ready = state_get_bool(in);
	q->broken = state_get_bool(in);
	q->desc = state_get_u64(in);
	q->avail = state_get_u64(in);
	q->used = state_get_u64(in);
	q->last_avail = state_get_u16(in);
	q->used_idx = state_get_u16(in);
}

void virtio_mmio_save(void *opaque, struct state_buf *out)
{
	struct virtio_mmio *vm = opaque;

	pthread_mutex_lock(&vm->lock);
	state_put_tag(out, "VIRT");
	/* a blk state must not load into a NIC: the type comes first */
	state_put_u32(out, vm->ops->device_id);
	state_put_u32(out, vm->ops->num_queues);
	state_put_u64(out, vm->driver_features);
	state_put_u32(out, vm->device_features_sel);
	state_put_u32(out, vm->driver_features_sel);
	state_put_u32(out, vm->queue_sel);
	state_put_u32(out, vm->shm_sel);
	state_put_u32(out, vm->status);
	state_put_u32(out, vm->interrupt_status);
	state_put_u32(out, vm->config_generation);
	state_put_bool(out, vm->ever_driver_ok);
	for (unsigned i = 0; i < vm->ops->num_queues; i++)
		save_queue(out, &vm->queues[i]);
	if (vm->ops->save)
		vm->ops->save(vm->dev, out);
	pthread_mutex_unlock(&vm->lock);
}

/* What a guest can reach through the registers (mmio.c): a ready queue
 * passed QueueReady's size check, so its size is a power of 2 up to
 * QueueNumMax.  A queue not ready may hold any size (QueueNum takes any
 * value until QueueReady checks it), and ring addresses may be anything:
 * queue.c checks them against RAM at every use.  The selectors take any
 * value too (out of range reads as nothing).  Driver features are a
 * subset of what this device offers once FEATURES_OK is set; before, the
 * driver may have written anything. */
static const char *queue_invalid(const struct virtio_mmio *vm, const struct mmio_state *st,
				 const struct virtq *q)
{
	if (q->ready && (q->num == 0 || q->num > vm->ops->queue_max || (q->num & (q->num - 1))))
		return "virtio: a ready queue's size is not a power of 2 up to QueueNumMax";
	if (q->broken && !(st->status & VIRTIO_STATUS_NEEDS_RESET))
		return "virtio: a queue is broken but the device does not need a reset";
	return NULL;
}

static const char *mmio_state_invalid(const struct virtio_mmio *vm, const struct mmio_state *st)
{
	if (st->status > 0xff)
		return "virtio: device status out of range";
	if ((st->status & VIRTIO_STATUS_FEATURES_OK) &&
	    (st->driver_features & ~vm->device_features))
		return "virtio: accepted features this device does not offer";
	if ((st->status & VIRTIO_STATUS_DRIVER_OK) && !st->ever_driver_ok)
		return "virtio: DRIVER_OK set but never seen";
	if (st->interrupt_status & ~(uint32_t)(VIRTIO_INT_VRING | VIRTIO_INT_CONFIG))
		return "virtio: interrupt status has unknown bits";
	for (unsigned i = 0; i < vm->ops->num_queues; i++) {
		const char *bad = queue_invalid(vm, st, &st->queues[i]);

		if (bad)
			return bad;
	}
	return NULL;
}

static void load_transport(struct state_buf *in, const struct virtio_mmio *vm,
			   struct mmio_state *st)
{
	const char *bad;

	state_expect(in, "VIRT");
	if (state_get_u32(in) != vm->ops->device_id && state_status(in) == 0)
		state_fail(in, "virtio: the state is of another device type");
	if (state_get_u32(in) != vm->ops->num_queues && state_status(in) == 0)
		state_fail(in, "virtio: the state has another number of queues");
	st->driver_features = state_get_u64(in);
	st->device_features_sel = state_get_u32(in);
	st->driver_features_sel = state_get_u32(in);
	st->queue_sel = state_get_u32(in);
	st->shm_sel = state_get_u32(in);
	st->status = state_get_u32(in);
	st->interrupt_status = state_get_u32(in);
	st->config_generation = state_get_u32(in);
	st->ever_driver_ok = state_get_bool(in);
	for (unsigned i = 0; i < vm->ops->num_queues; i++)
		load_queue(in, &st->queues[i]);
	bad = mmio_state_invalid(vm, st);
	if (bad)
		state_fail(in, bad);
}

int virtio_mmio_load(void *opaque, struct state_buf *in)
{
	struct virtio_mmio *vm = opaque;
	struct mmio_state st = { 0 };

	pthread_mutex_lock(&vm->lock);
	load_transport(in, vm, &st);
	if (state_status(in) == 0 && vm->ops->load)
		vm->ops->load(vm->dev, in);
	if (state_status(in) < 0) {
		pthread_mutex_unlock(&vm->lock);
		return -1;
	}
	vm->driver_features = st.driver_features;
	vm->device_features_sel = st.device_features_sel;
	vm->driver_features_sel = st.driver_features_sel;
	vm->queue_sel = st.queue_sel;
	vm->shm_sel = st.shm_sel;
	vm->status = st.status;
	vm->interrupt_status = st.interrupt_status;
	vm->config_generation = st.config_generation;
	vm->ever_driver_ok = st.ever_driver_ok;
	for (unsigned i = 0; i < vm->ops->num_queues; i++)
		vm->queues[i] = st.queues[i];
	irq_set(&vm->irq, vm->interrupt_status != 0);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

void virtio_mmio_quiesce(struct virtio_mmio *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->ops->quiesce)
		vm->ops->quiesce(vm->dev);
	pthread_mutex_unlock(&vm->lock);
}
