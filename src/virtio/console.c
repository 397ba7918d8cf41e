/* virtio-console (virtio 1.2 §5.3) with a single port and no features:
 * receiveq (0) carries host input to the guest, transmitq (1) the guest's
 * output to the host.  Input arrives on the event loop's thread and waits
 * in a small buffer until the guest posts receive buffers; while that
 * buffer is full the fd is not watched, so the host side sees
 * back-pressure instead of lost bytes. */
#include "virtio/virtio_internal.h"
#include "condo/evloop.h"
#include "condo/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONSOLE_RXQ 0
#define CONSOLE_TXQ 1
#define CONSOLE_INBUF 4096
/* struct virtio_console_config: cols, rows, max_nr_ports, emerg_wr (§5.3.4);
 * all zero since neither SIZE, MULTIPORT nor EMERG_WRITE is offered. */
#define CONSOLE_CONFIG_LEN 12

struct virtio_console {
	struct virtio_mmio *vm;
	struct evloop *loop;
	int in_fd, out_fd;
	bool watching; /* in_fd is registered with the loop */
	bool in_eof;   /* in_fd ended or failed: never watch it again */
	size_t in_len;
	uint8_t inbuf[CONSOLE_INBUF];
};

static void console_input(void *ctx, int fd);

static void watch_input(struct virtio_console *con, bool on)
{
	if (on == con->watching || con->in_fd < 0 || !con->loop)
		return;
	if (on) {
		if (evloop_add_fd(con->loop, con->in_fd, console_input, con) == 0)
			con->watching = true;
	} else {
		evloop_remove_fd(con->loop, con->in_fd);
		con->watching = false;
	}
}

/* Hand buffered input to whatever receive buffers the guest has posted.
 * Lock held. */
static void drain_input(struct virtio_console *con)
{
	bool used = false;

	while (con->in_len > 0) {
		struct virtq_elem e;
		size_t n;

		if (virtq_pop(con->vm, CONSOLE_RXQ, &e) <= 0)
			break;
		n = iov_from_buf(virtq_elem_in(&e), e.n_in, 0, con->inbuf, con->in_len);
		memmove(con->inbuf, con->inbuf + n, con->in_len - n);
		con->in_len -= n;
		virtq_push(con->vm, CONSOLE_RXQ, &e, (uint32_t)n);
		used = true;
	}
	if (used)
		virtq_notify_guest(con->vm, CONSOLE_RXQ);
	if (!con->in_eof && con->in_len < CONSOLE_INBUF)
		watch_input(con, true);
}

/* The event loop saw in_fd readable. */
static void console_input(void *ctx, int fd)
{
	struct virtio_console *con = ctx;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	virtio_mmio_lock(con->vm);
	/* A stale event after we stopped watching, or a full buffer: do not
	 * read (in_fd may be blocking, so read only what poll promises). */
	if (!con->watching || con->in_len == CONSOLE_INBUF || poll(&pfd, 1, 0) != 1)
		goto out;
	n = read(fd, con->inbuf + con->in_len, CONSOLE_INBUF - con->in_len);
	if (n > 0) {
		con->in_len += (size_t)n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		con->in_eof = true; /* level-triggered: an ended fd would spin */
		watch_input(con, false);
	}
	drain_input(con);
	if (con->in_len == CONSOLE_INBUF)
		watch_input(con, false); /* resumed when the guest takes some */
out:
	virtio_mmio_unlock(con->vm);
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0) {
			log_debug("virtio", "virtio-console: output dropped: %s", strerror(errno));
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void console_rx_notify(void *dev, unsigned q)
{
	drain_input(dev);
}

static void console_tx_notify(void *dev, unsigned q)
{
	struct virtio_console *con = dev;
	struct virtq_elem e;
	bool used = false;

	while (virtq_pop(con->vm, q, &e) > 0) {
		for (unsigned i = 0; i < e.n_out && con->out_fd >= 0; i++)
			write_all(con->out_fd, e.iov[i].iov_base, e.iov[i].iov_len);
		virtq_push(con->vm, q, &e, 0);
		used = true;
	}
	if (used)
		virtq_notify_guest(con->vm, q);
}

static void console_config_read(void *dev, unsigned offset, void *buf, unsigned len)
{
	memset(buf, 0, len);
}

/* The loop must already be stopped (evloop_free): it may be gone, so it is
 * not touched here, and a running loop could be inside console_input. */
static void console_free(void *dev)
{
	free(dev);
}

static const struct virtio_dev_ops console_ops = {
	.name = "virtio-console",
	.kconfig = "CONFIG_VIRTIO_CONSOLE",
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 2,
	.queue_max = VIRTQ_MAX_SIZE,
	.config_len = CONSOLE_CONFIG_LEN,
	.config_read = console_config_read,
	.notify = { console_rx_notify, console_tx_notify },
	.free = console_free,
};

struct virtio_mmio *virtio_console_new(struct guest_ram *ram, struct irq_line irq,
				       struct evloop *loop, int in_fd, int out_fd)
{
	struct virtio_console *con = calloc(1, sizeof(*con));

	if (!con)
		return NULL;
	con->loop = loop;
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->vm = virtio_mmio_new(ram, irq, &console_ops, con, 0);
	if (!con->vm) {
		free(con);
		return NULL;
	}
	virtio_mmio_lock(con->vm);
	watch_input(con, true);
	if (in_fd >= 0 && loop && !con->watching) {
		virtio_mmio_unlock(con->vm);
		log_err("virtio", "virtio-console: cannot watch input fd %d", in_fd);
		virtio_mmio_free(con->vm);
		return NULL;
	}
	virtio_mmio_unlock(con->vm);
	return con->vm;
}
