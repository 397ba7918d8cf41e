/* libFuzzer harness: virtio-blk's request queue (src/virtio/blk.c, queue.c,
 * mmio.c) and the raw disk back end under it (src/block/raw.c), driven by
 * a hostile driver (virtio_driver.c) on a 32 KiB disk.  The first input
 * byte's bit 0 makes the disk read-only. */
#include "condo/block.h"
#include "virtio_driver.h"

#define DISK_BYTES (64 * 512)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct guest_ram ram;
	bool readonly = fin_u8(&in) & 1;
	struct block_dev *disk = block_raw_open(fuzz_disk_path(DISK_BYTES), readonly);
	struct virtio_blk_opts opts = { .readonly = readonly, .discard_unmap = true };
	struct virtio_mmio *dev;

	if (!disk || fuzz_ram_init(&ram, FV_RAM_BASE, FV_RAM_SIZE) < 0)
		__builtin_trap();
	dev = virtio_blk_new(&ram, fuzz_virtio_irq(), disk, &opts);
	if (!dev)
		__builtin_trap();
	fuzz_virtio_run(dev, &ram, &in, NULL, NULL);
	virtio_mmio_free(dev);
	block_close(disk);
	fuzz_ram_free(&ram);
	return 0;
}
