/* The virtio-mmio transport, version 2 ("modern") registers only
 * (virtio 1.2 §4.2.2): feature negotiation, device status, queue setup,
 * notifications and interrupts, and the device-specific config space at
 * 0x100.  The device types (blk.c, console.c, rng.c) plug in through
 * struct virtio_dev_ops; this file knows none of them. */
#include "virtio/virtio_internal.h"
#include "condo/log.h"

#include <stdlib.h>
#include <string.h>

#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
/* QEMU's VendorID ("QEMU"): small drivers written against QEMU's virt
 * board refuse a device with any other. */
#define VIRTIO_MMIO_VENDOR 0x554d4551

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_SEL = 0x0ac,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8,
	REG_SHM_BASE_HIGH = 0x0bc,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

void virtio_mmio_lock(struct virtio_mmio *vm)
{
	pthread_mutex_lock(&vm->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *vm)
{
	pthread_mutex_unlock(&vm->lock);
}

static void update_irq(struct virtio_mmio *vm)
{
	irq_set(&vm->irq, vm->interrupt_status != 0);
}

void virtio_mmio_fail(struct virtio_mmio *vm, unsigned q, const char *why)
{
	if (q < VIRTIO_MAX_QUEUES)
		vm->queues[q].broken = true;
	if (!(vm->status & VIRTIO_STATUS_NEEDS_RESET) && vm->errors_logged < 8) {
		vm->errors_logged++;
		log_warn("virtio", "%s: guest driver error on queue %u: %s; device needs reset%s",
			 vm->ops->name, q, why,
			 vm->errors_logged == 8 ? " (further errors not reported)" : "");
	} else {
		log_debug("virtio", "%s: guest driver error on queue %u: %s", vm->ops->name, q,
			  why);
	}
	vm->status |= VIRTIO_STATUS_NEEDS_RESET;
	vm->interrupt_status |= VIRTIO_INT_CONFIG;
	update_irq(vm);
}

static void reset_locked(struct virtio_mmio *vm)
{
	vm->driver_features = 0;
	vm->device_features_sel = vm->driver_features_sel = 0;
	vm->queue_sel = vm->shm_sel = 0;
	vm->status = 0;
	vm->interrupt_status = 0;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vm->queues[i] = (struct virtq){ .num = vm->ops->queue_max };
	if (vm->ops->reset)
		vm->ops->reset(vm->dev);
	update_irq(vm);
}

static struct virtq *selected_queue(struct virtio_mmio *vm)
{
	return vm->queue_sel < vm->ops->num_queues ? &vm->queues[vm->queue_sel] : NULL;
}

/* §2.2.1: the device accepts only a subset of what it offered.  A driver
 * that did not accept VIRTIO_F_VERSION_1 on this version 2 transport is
 * accepted too, as QEMU does: §4.2.2 says the device MAY fail it, and
 * small drivers written against QEMU write only the low feature word.
 * Nothing condo's devices do depends on that bit (little-endian either
 * way, any descriptor layout accepted). */
static bool features_acceptable(const struct virtio_mmio *vm)
{
	return !(vm->driver_features & ~vm->device_features);
}

static void kick_all(struct virtio_mmio *vm)
{
	for (unsigned i = 0; i < vm->ops->num_queues; i++)
		if (vm->queues[i].ready && !vm->queues[i].broken && vm->ops->notify[i])
			vm->ops->notify[i](vm->dev, i);
}

static void write_status(struct virtio_mmio *vm, uint32_t val)
{
	uint32_t old = vm->status;

	if (val == 0) {
		reset_locked(vm);
		return;
	}
	val &= 0xff;
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(vm)) {
		/* the driver reads Status back and sees we refused (§3.1.1);
		 * counted with the other guest errors so a guest cannot flood the log */
		if (vm->errors_logged < 8) {
			vm->errors_logged++;
			log_warn("virtio", "%s: guest driver asked for features %#llx, offered %#llx",
				 vm->ops->name, (unsigned long long)vm->driver_features,
				 (unsigned long long)vm->device_features);
		}
		val &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	/* NEEDS_RESET is the device's to set and only a reset clears it */
	val = (val & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	vm->status = val;
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		vm->ever_driver_ok = true;
		/* buffers the driver posted before DRIVER_OK were not processed */
		kick_all(vm);
	}
}

static void write_queue_ready(struct virtio_mmio *vm, struct virtq *q, uint32_t val)
{
	unsigned qi = (unsigned)(q - vm->queues);

	if (!(val & 1)) {
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	if (q->num == 0 || q->num > vm->ops->queue_max || (q->num & (q->num - 1))) {
		virtio_mmio_fail(vm, qi, "queue size not a power of 2 up to QueueNumMax");
		return;
	}
	q->ready = true;
	q->last_avail = 0;
	q->used_idx = 0;
}

static void set_low(uint64_t *reg, uint32_t val)
{
	*reg = (*reg & ~0xffffffffull) | val;
}

static void set_high(uint64_t *reg, uint32_t val)
{
	*reg = (*reg & 0xffffffffull) | (uint64_t)val << 32;
}

static uint32_t read_reg(struct virtio_mmio *vm, uint64_t offset)
{
	struct virtq *q = selected_queue(vm);

	switch (offset) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return vm->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		if (vm->device_features_sel > 1)
			return 0;
		return (uint32_t)(vm->device_features >> (32 * vm->device_features_sel));
	case REG_QUEUE_NUM_MAX:
		return q ? vm->ops->queue_max : 0;
	case REG_QUEUE_NUM:
		return q ? q->num : 0;
	case REG_QUEUE_READY:
		return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS:
		return vm->interrupt_status;
	case REG_STATUS:
		return vm->status;
	case REG_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc : 0;
	case REG_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc >> 32) : 0;
	case REG_QUEUE_DRIVER_LOW:
		return q ? (uint32_t)q->avail : 0;
	case REG_QUEUE_DRIVER_HIGH:
		return q ? (uint32_t)(q->avail >> 32) : 0;
	case REG_QUEUE_DEVICE_LOW:
		return q ? (uint32_t)q->used : 0;
	case REG_QUEUE_DEVICE_HIGH:
		return q ? (uint32_t)(q->used >> 32) : 0;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		return 0xffffffff; /* no shared memory regions: length -1 (§4.2.2) */
	case REG_CONFIG_GENERATION:
		return vm->config_generation;
	default:
		return 0; /* write-only and unknown registers */
	}
}

static void write_reg(struct virtio_mmio *vm, uint64_t offset, uint32_t val)
{
	struct virtq *q = selected_queue(vm);

	switch (offset) {
	case REG_DEVICE_FEATURES_SEL:
		vm->device_features_sel = val;
		break;
	case REG_DRIVER_FEATURES:
		/* frozen once FEATURES_OK is set (§3.1.1) */
		if (vm->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (vm->driver_features_sel == 0)
			set_low(&vm->driver_features, val);
		else if (vm->driver_features_sel == 1)
			set_high(&vm->driver_features, val);
		break;
	case REG_DRIVER_FEATURES_SEL:
		vm->driver_features_sel = val;
		break;
	case REG_QUEUE_SEL:
		vm->queue_sel = val;
		break;
	case REG_QUEUE_NUM:
		if (q && !q->ready)
			q->num = val;
		break;
	case REG_QUEUE_READY:
		if (q)
			write_queue_ready(vm, q, val);
		break;
	case REG_QUEUE_NOTIFY:
		/* without VIRTIO_F_NOTIFICATION_DATA the value is the queue index */
		if (val < vm->ops->num_queues && vm->ops->notify[val] &&
		    (vm->status & VIRTIO_STATUS_DRIVER_OK) && vm->queues[val].ready &&
		    !vm->queues[val].broken)
			vm->ops->notify[val](vm->dev, val);
		break;
	case REG_INTERRUPT_ACK:
		vm->interrupt_status &= ~val;
		update_irq(vm);
		break;
	case REG_STATUS:
		write_status(vm, val);
		break;
	/* Ring addresses may change at any time; they are checked when used. */
	case REG_QUEUE_DESC_LOW:
		if (q)
			set_low(&q->desc, val);
		break;
	case REG_QUEUE_DESC_HIGH:
		if (q)
			set_high(&q->desc, val);
		break;
	case REG_QUEUE_DRIVER_LOW:
		if (q)
			set_low(&q->avail, val);
		break;
	case REG_QUEUE_DRIVER_HIGH:
		if (q)
			set_high(&q->avail, val);
		break;
	case REG_QUEUE_DEVICE_LOW:
		if (q)
			set_low(&q->used, val);
		break;
	case REG_QUEUE_DEVICE_HIGH:
		if (q)
			set_high(&q->used, val);
		break;
	case REG_SHM_SEL:
		vm->shm_sel = val;
		break;
	default:
		break; /* read-only and unknown registers */
	}
}

static bool config_range(const struct virtio_mmio *vm, uint64_t offset, unsigned len)
{
	uint64_t off = offset - REG_CONFIG;

	return len && len <= 8 && off < vm->ops->config_len && len <= vm->ops->config_len - off;
}

static int mmio_read(void *opaque, uint64_t offset, unsigned len, uint64_t *val)
{
	struct virtio_mmio *vm = opaque;

	*val = 0;
	if (offset >= REG_CONFIG) {
		uint8_t buf[8] = { 0 };

		if (!config_range(vm, offset, len) || !vm->ops->config_read)
			return 0;
		pthread_mutex_lock(&vm->lock);
		vm->ops->config_read(vm->dev, (unsigned)(offset - REG_CONFIG), buf, len);
		pthread_mutex_unlock(&vm->lock);
		for (unsigned i = 0; i < len; i++)
			*val |= (uint64_t)buf[i] << (8 * i);
		return 0;
	}
	/* §4.2.2: registers are 32 bits wide and accessed as such */
	if (len != 4 || (offset & 3))
		return 0;
	pthread_mutex_lock(&vm->lock);
	*val = read_reg(vm, offset);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int mmio_write(void *opaque, uint64_t offset, unsigned len, uint64_t val)
{
	struct virtio_mmio *vm = opaque;

	if (offset >= REG_CONFIG) {
		uint8_t buf[8];

		if (!config_range(vm, offset, len) || !vm->ops->config_write)
			return 0;
		for (unsigned i = 0; i < len; i++)
			buf[i] = (uint8_t)(val >> (8 * i));
		pthread_mutex_lock(&vm->lock);
		vm->ops->config_write(vm->dev, (unsigned)(offset - REG_CONFIG), buf, len);
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	if (len != 4 || (offset & 3))
		return 0;
	pthread_mutex_lock(&vm->lock);
	write_reg(vm, offset, (uint32_t)val);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static void mmio_reset(void *opaque)
{
	struct virtio_mmio *vm = opaque;

	pthread_mutex_lock(&vm->lock);
	reset_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

static void mmio_free(void *opaque)
{
	virtio_mmio_free(opaque);
}

const struct dev_ops virtio_mmio_ops = {
	.name = "virtio-mmio",
	.read = mmio_read,
	.write = mmio_write,
	.reset = mmio_reset,
	.free = mmio_free,
	.save = virtio_mmio_save,
	.load = virtio_mmio_load,
};

struct virtio_mmio *virtio_mmio_new(struct guest_ram *ram, struct irq_line irq,
				    const struct virtio_dev_ops *ops, void *dev, uint64_t features)
{
	struct virtio_mmio *vm;

	if (ops->num_queues > VIRTIO_MAX_QUEUES || ops->queue_max > VIRTQ_MAX_SIZE)
		return NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	pthread_mutex_init(&vm->lock, NULL);
	vm->ram = ram;
	vm->irq = irq;
	vm->ops = ops;
	vm->dev = dev;
	vm->device_features =
		features | 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vm->queues[i].num = ops->queue_max;
	return vm;
}

void virtio_mmio_free(struct virtio_mmio *vm)
{
	if (!vm)
		return;
	if (vm->ops->free)
		vm->ops->free(vm->dev);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/* The two queries below may run on the main thread while harts still
 * run: plain flags, read atomically rather than under the lock. */
bool virtio_mmio_driver_ok(const struct virtio_mmio *vm)
{
	return __atomic_load_n(&vm->ever_driver_ok, __ATOMIC_RELAXED);
}

const char *virtio_mmio_name(const struct virtio_mmio *vm)
{
	return vm->ops->name;
}

const char *virtio_mmio_kconfig(const struct virtio_mmio *vm)
{
	return vm->ops->kconfig;
}

uint32_t virtio_mmio_device_id(const struct virtio_mmio *vm)
{
	return vm->ops->device_id;
}

bool virtio_mmio_needs_reset(const struct virtio_mmio *vm)
{
	return __atomic_load_n(&vm->status, __ATOMIC_RELAXED) & VIRTIO_STATUS_NEEDS_RESET;
}
