/* virtio devices on the virtio-mmio transport (virtio 1.2 §4.2, version 2
 * registers only) with split virtqueues (§2.7): block, console and entropy.
 *
 * The board creates a device with its constructor and registers the
 * transport on the bus:
 *     bus_add(bus, 0x10001000 + 0x1000 * slot, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, dev);
 * with the PLIC line 1 + slot as irq.  virtio_mmio_ops.free releases the
 * device.  docs/virtio.md lists the device-tree node each device needs. */
#ifndef CONDO_VIRTIO_H
#define CONDO_VIRTIO_H

#include "condo/dev.h"
#include "condo/mem.h"
#include "condo/types.h"

#define VIRTIO_MMIO_SIZE 0x1000

/* Device IDs (virtio 1.2 §5) */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

struct virtio_mmio;
struct block_dev;
struct block_aio;
struct evloop;
struct net_nic;

extern const struct dev_ops virtio_mmio_ops;

struct virtio_blk_opts {
	const char *name;   /* the image, for messages (not copied) */
	bool readonly;      /* offer VIRTIO_BLK_F_RO and fail writes (also when the disk is) */
	bool flush_unsafe;  /* cache=unsafe: FLUSH succeeds without reaching the disk */
	bool discard_unmap; /* discard=unmap: DISCARD reaches the image; else it is ignored */
	/* The disk's engine, started (not owned; stop it after freeing the
	 * device, which waits for its requests).  NULL: requests run on the
	 * notifying thread (tests, fuzzing). */
	struct block_aio *aio;
};

/* A block device on disk (not owned: close it after freeing the device).
 * NULL on allocation failure. */
struct virtio_mmio *virtio_blk_new(struct guest_ram *ram, struct irq_line irq,
				   struct block_dev *disk, const struct virtio_blk_opts *opts);

/* A console with one port: bytes readable on in_fd (watched by loop) go to
 * the guest, bytes it transmits are written to out_fd.  Either fd may be
 * -1 (no input / discard output); neither is closed by the device.  Free
 * the device only after the loop is stopped (evloop_free): the loop may be
 * calling into it until then.  NULL on failure. */
struct virtio_mmio *virtio_console_new(struct guest_ram *ram, struct irq_line irq,
				       struct evloop *loop, int in_fd, int out_fd);

/* A network card (virtio 1.2 §5.1) on nic's back end (not owned: close
 * it after freeing the device, which detaches from it).  NULL on
 * allocation failure. */
struct virtio_mmio *virtio_net_new(struct guest_ram *ram, struct irq_line irq, struct net_nic *nic);

/* An entropy source filled from getrandom(2).  NULL on allocation failure. */
struct virtio_mmio *virtio_rng_new(struct guest_ram *ram, struct irq_line irq);

void virtio_mmio_free(struct virtio_mmio *vm);

/* Whether the guest driver ever set DRIVER_OK (sticky across resets), so
 * the board can tell the user at exit that a device went unused. */
bool virtio_mmio_driver_ok(const struct virtio_mmio *vm);
/* "virtio-blk", "virtio-console", "virtio-rng" */
const char *virtio_mmio_name(const struct virtio_mmio *vm);
/* The guest kernel option that drives this device, e.g. "CONFIG_VIRTIO_BLK"
 * (CONFIG_VIRTIO_MMIO is needed for all of them). */
const char *virtio_mmio_kconfig(const struct virtio_mmio *vm);
uint32_t virtio_mmio_device_id(const struct virtio_mmio *vm);
/* Whether the device is in DEVICE_NEEDS_RESET after a driver error. */
bool virtio_mmio_needs_reset(const struct virtio_mmio *vm);

/* Snapshots: before virtio_mmio_ops.save, with every hart parked, wait
 * until the device has no request in flight.  Requests in flight complete
 * as usual (into the used ring, raising the interrupt), and so do those a
 * disk held back at its in-flight bound; with the harts parked no new
 * ones come.  Only virtio-blk ever has requests in flight; the others
 * return at once.  A virtio-blk save without it fails cleanly when a
 * request is still in flight.
 *
 * virtio_mmio_ops.load expects guest RAM to hold the snapshot's memory
 * already: a loaded virtio-net's NIC resumes its work on the rings at
 * once (frames the back end holds, transmit buffers the guest posted). */
void virtio_mmio_quiesce(struct virtio_mmio *vm);

#endif
