/* The guest driver the virtio harnesses play: it reads a program of
 * driver operations from the fuzz input (feature negotiation, queue set-up,
 * descriptors, indirect tables, available-ring entries, notifications,
 * raw register and RAM writes) and runs it against one virtio-mmio device
 * whose rings live in a small guest RAM.  See docs/fuzzing.md for the
 * input format. */
#ifndef CONDO_FUZZ_VIRTIO_DRIVER_H
#define CONDO_FUZZ_VIRTIO_DRIVER_H

#include "condo/virtio.h"
#include "fuzz.h"

#define FV_RAM_BASE 0x80000000ull
#define FV_RAM_SIZE (64ull << 10)

/* A device-specific operation (console: host input), given the input. */
typedef void (*fuzz_virtio_extra_fn)(void *ctx, struct fuzz_in *in);

void fuzz_virtio_run(struct virtio_mmio *dev, struct guest_ram *ram, struct fuzz_in *in,
		     fuzz_virtio_extra_fn extra, void *ctx);

/* An interrupt line to nowhere, for the device constructors. */
struct irq_line fuzz_virtio_irq(void);

#endif
