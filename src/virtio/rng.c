/* virtio-rng, the entropy device (virtio 1.2 §5.4): every device-writable
 * buffer on its one queue is filled from the host's getrandom(2). */
#include "virtio/virtio_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

/* Per request: a guest asking for a gigabyte gets what fits here (the used
 * length says how much) rather than holding its hart for a second. */
#define RNG_MAX_PER_REQUEST (1u << 20)

struct virtio_rng {
	struct virtio_mmio *vm;
};

/* Fill buf completely; false when the host has no entropy to give. */
static bool fill_random(uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void rng_notify(void *dev, unsigned q)
{
	struct virtio_rng *rng = dev;
	struct virtq_elem e;
	bool used = false;

	while (virtq_pop(rng->vm, q, &e) > 0) {
		struct iovec *in = virtq_elem_in(&e);
		uint64_t done = 0;

		for (unsigned i = 0; i < e.n_in && done < RNG_MAX_PER_REQUEST; i++) {
			size_t len = in[i].iov_len;
			if (len > RNG_MAX_PER_REQUEST - done)
				len = RNG_MAX_PER_REQUEST - done;
			if (!fill_random(in[i].iov_base, len))
				break;
			done += len;
		}
		virtq_push(rng->vm, q, &e, (uint32_t)done);
		used = true;
	}
	if (used)
		virtq_notify_guest(rng->vm, q);
}

static void rng_free(void *dev)
{
	free(dev);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.kconfig = "CONFIG_HW_RANDOM_VIRTIO",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = VIRTQ_MAX_SIZE,
	.notify = { rng_notify },
	.free = rng_free,
};

struct virtio_mmio *virtio_rng_new(struct guest_ram *ram, struct irq_line irq)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		return NULL;
	rng->vm = virtio_mmio_new(ram, irq, &rng_ops, rng, 0);
	if (!rng->vm) {
		free(rng);
		return NULL;
	}
	return rng->vm;
}
