/* libFuzzer harness: virtio-console's receive and transmit queues
 * (src/virtio/console.c, queue.c, mmio.c), driven by a hostile driver
 * (virtio_driver.c).  Its extra operation types host input: n bytes
 * (u8) written to the console's input pipe, then the event loop is run
 * once on this thread (evloop_poll), so input meets whatever receive
 * buffers the driver posted. */
#define _GNU_SOURCE
#include "condo/evloop.h"
#include "virtio_driver.h"

#include <fcntl.h>
#include <unistd.h>

struct console_ctx {
	struct evloop *loop;
	int in_w;
};

static void host_input(void *opaque, struct fuzz_in *in)
{
	struct console_ctx *c = opaque;
	size_t got;
	const uint8_t *bytes = fin_take(in, fin_u8(in), &got);

	/* a full pipe (the device stopped reading) drops the bytes */
	if (got && write(c->in_w, bytes, got) < 0)
		return;
	evloop_poll(c->loop, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct guest_ram ram;
	struct console_ctx c;
	struct virtio_mmio *dev;
	int pipefd[2], out = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (out < 0 || pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    fuzz_ram_init(&ram, FV_RAM_BASE, FV_RAM_SIZE) < 0)
		__builtin_trap();
	c = (struct console_ctx){ .loop = evloop_new(), .in_w = pipefd[1] };
	dev = c.loop ? virtio_console_new(&ram, fuzz_virtio_irq(), c.loop, pipefd[0], out) : NULL;
	if (!dev)
		__builtin_trap();
	fuzz_virtio_run(dev, &ram, &in, host_input, &c);
	evloop_free(c.loop);
	virtio_mmio_free(dev);
	close(pipefd[0]);
	close(pipefd[1]);
	close(out);
	fuzz_ram_free(&ram);
	return 0;
}
