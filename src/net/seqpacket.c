/* The back end over a connected SOCK_SEQPACKET socket, one Ethernet frame
 * per message: a VM's port on a virtual switch (switch_client.c), and the
 * socketpairs the unit tests drive a NIC through. */
#define _GNU_SOURCE
#include "net/net_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct seqpacket {
	struct net_nic *nic;
	int fd;
	bool gone; /* the peer closed: stop watching */
	char what[80];
	uint8_t buf[NET_MAX_FRAME + 1]; /* + 1: a longer message shows as truncated */
};

static int sp_fill(void *be, struct pollfd *pfd, int max, bool want_rx, int *timeout_ms)
{
	struct seqpacket *sp = be;

	if (!want_rx || sp->gone || max < 1)
		return 0;
	pfd[0] = (struct pollfd){.fd = sp->fd, .events = POLLIN};
	return 1;
}

static void sp_dispatch(void *be, struct pollfd *pfd, int n)
{
	struct seqpacket *sp = be;

	if (n < 1 || !pfd[0].revents)
		return;
	/* A bounded batch per wake-up, so the guest's transmit side is served
	 * between them. */
	for (int i = 0; i < 64; i++) {
		ssize_t len = recv(sp->fd, sp->buf, sizeof(sp->buf), MSG_DONTWAIT | MSG_TRUNC);

		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (len <= 0) {
			if (!sp->gone)
				log_warn("net", "%s: the other end went away%s%s", sp->what,
					 len ? ": " : "", len ? strerror(errno) : "");
			sp->gone = true;
			return;
		}
		/* net_nic_input drops (and counts) what is too long or short */
		net_nic_input(sp->nic, sp->buf,
			      (size_t)len > sizeof(sp->buf) ? NET_MAX_FRAME + 1 : (size_t)len);
	}
}

static int sp_send(void *be, const void *frame, size_t len)
{
	struct seqpacket *sp = be;

	if (sp->gone)
		return -EPIPE;
	/* Never block the NIC's thread: a full socket drops the frame, as a
	 * congested link would. */
	if (send(sp->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static void sp_free(void *be)
{
	struct seqpacket *sp = be;

	close(sp->fd);
	free(sp);
}

static const struct net_backend_ops seqpacket_ops = {
    .name = "seqpacket",
    .fill = sp_fill,
    .dispatch = sp_dispatch,
    .send = sp_send,
    .free = sp_free,
};

int net_seqpacket_open(struct net_nic *nic, int fd, const char *what, struct net_backend *out)
{
	struct seqpacket *sp = calloc(1, sizeof(*sp));

	if (!sp) {
		close(fd);
		return -ENOMEM;
	}
	sp->nic = nic;
	sp->fd = fd;
	snprintf(sp->what, sizeof(sp->what), "%s", what);
	*out = (struct net_backend){&seqpacket_ops, sp};
	return 0;
}
