/* libFuzzer harness: virtio-rng's queue (src/virtio/rng.c, queue.c,
 * mmio.c), driven by a hostile driver (virtio_driver.c). */
#include "virtio_driver.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct guest_ram ram;
	struct virtio_mmio *dev;

	if (fuzz_ram_init(&ram, FV_RAM_BASE, FV_RAM_SIZE) < 0)
		__builtin_trap();
	dev = virtio_rng_new(&ram, fuzz_virtio_irq());
	if (!dev)
		__builtin_trap();
	fuzz_virtio_run(dev, &ram, &in, NULL, NULL);
	virtio_mmio_free(dev);
	fuzz_ram_free(&ram);
	return 0;
}
