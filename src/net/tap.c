/* --net tap=IFNAME: a host tap interface (Linux's tun driver, IFF_TAP
 * without packet information: one Ethernet frame per read and write).
 * Opening one takes CAP_NET_ADMIN, or a persistent tap whose owner is the
 * caller (ip tuntap add mode tap user U); it is opened before the jail. */
#define _GNU_SOURCE
#include "net/net_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct tap {
	struct net_nic *nic;
	int fd;
	uint8_t buf[NET_MAX_FRAME + 1];
};

static int tap_fill(void *be, struct pollfd *pfd, int max, bool want_rx, int *timeout_ms)
{
	struct tap *t = be;

	if (!want_rx || max < 1)
		return 0;
	pfd[0] = (struct pollfd){.fd = t->fd, .events = POLLIN};
	return 1;
}

static void tap_dispatch(void *be, struct pollfd *pfd, int n)
{
	struct tap *t = be;

	if (n < 1 || !pfd[0].revents)
		return;
	for (int i = 0; i < 64; i++) {
		ssize_t len = read(t->fd, t->buf, sizeof(t->buf));
		if (len <= 0)
			return;
		net_nic_input(t->nic, t->buf, (size_t)len);
	}
}

static int tap_send(void *be, const void *frame, size_t len)
{
	struct tap *t = be;

	return write(t->fd, frame, len) == (ssize_t)len ? 0 : -EIO;
}

static void tap_free(void *be)
{
	struct tap *t = be;

	close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
    .name = "tap",
    .fill = tap_fill,
    .dispatch = tap_dispatch,
    .send = tap_send,
    .free = tap_free,
};

int net_tap_open(struct net_nic *nic, const struct net_config *cfg, struct net_backend *out)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	struct tap *t;
	int fd, e;

	if (strlen(cfg->name) >= IFNAMSIZ) {
		log_err("net", "tap=%s: interface names have at most %d characters", cfg->name,
			IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		log_err("net", "tap=%s: /dev/net/tun: %s", cfg->name, strerror(e));
		return -e;
	}
	strcpy(ifr.ifr_name, cfg->name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		log_err("net", "tap=%s: %s%s", cfg->name, strerror(e),
			e == EPERM ? " (it needs CAP_NET_ADMIN, or a tap owned by this user)" : "");
		close(fd);
		return -e;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	t->nic = nic;
	t->fd = fd;
	*out = (struct net_backend){&tap_ops, t};
	return 0;
}
