/* --net user: user-mode NAT through libslirp, as QEMU's "user" network:
 * the guest's network is 10.0.2.0/24, the gateway 10.0.2.2 (which is also
 * the host's loopback, seen from the guest), DNS 10.0.2.3 (answered by
 * the host's resolver through dns.c, not slirp), DHCP leases from 10.0.2.15.  Outbound TCP and UDP
 * become the host's own sockets, made on the NIC's thread; host port
 * forwards (hostfwd=) listen from before the jail.  slirp is driven only
 * from the NIC's thread: its poll set, its timers and its input. */
#define _GNU_SOURCE
#include "net/dns.h"
#include "net/net_internal.h"
#include "condo/log.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>

/* libslirp is loaded by the first --net user NIC (dlopen, before the
 * jail), not linked into condo: with glib under it, it would cost every
 * VMM private pages, and most VMs use no NAT. */
#define LIBSLIRP "libslirp.so.0"
#define LIBSLIRP_CALLS(X)                                                                          \
	X(slirp_new)                                                                               \
	X(slirp_cleanup) X(slirp_pollfds_fill) X(slirp_pollfds_poll) X(slirp_input)                \
	    X(slirp_add_hostfwd)

static struct {
#define SLOT(f) __typeof__(f) *f;
	LIBSLIRP_CALLS(SLOT)
#undef SLOT
} lib;
static bool lib_ok;

static void load_libslirp(void)
{
	void *h = dlopen(LIBSLIRP, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_err("net", "user: cannot load %s (the libslirp0 package): %s", LIBSLIRP,
			dlerror());
		return;
	}
	/* POSIX: a symbol's address converts to the function's pointer. */
#define LOAD(f)                                                                                    \
	if (!(*(void **)&lib.f = dlsym(h, #f))) {                                                  \
		log_err("net", "user: %s has no %s", LIBSLIRP, #f);                                \
		return;                                                                            \
	}
	LIBSLIRP_CALLS(LOAD)
#undef LOAD
	lib_ok = true;
}

#define SLIRP_MAX_TIMERS 16

struct utimer {
	bool used, armed;
	int64_t expire_ms;
	SlirpTimerCb cb;
	void *cb_opaque;
};

struct user {
	struct net_nic *nic;
	Slirp *slirp;
	struct pollfd *pfd; /* the NIC's array while filling and dispatching */
	int npfd, maxpfd;
	struct net_dns *dns;
	bool dns_watched; /* pfd[0] of this round is the resolver's socket */
	uint8_t answer[NET_MAX_FRAME];
	struct utimer timers[SLIRP_MAX_TIMERS];
};

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct user *u = opaque;

	net_nic_input(u->nic, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	log_debug("net", "user: guest error: %s", msg);
}

static int64_t cb_clock_ns(void *opaque)
{
	return (int64_t)net_now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct user *u = opaque;

	for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
		if (!u->timers[i].used) {
			u->timers[i] =
			    (struct utimer){.used = true, .cb = cb, .cb_opaque = cb_opaque};
			return &u->timers[i];
		}
	}
	log_err("net", "user: libslirp wants more than %d timers", SLIRP_MAX_TIMERS);
	return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
	if (timer)
		((struct utimer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct utimer *t = timer;

	if (t) {
		t->armed = true;
		t->expire_ms = expire_ms;
	}
}

static void cb_register_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
}

static const SlirpCb user_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_fd,
    .unregister_poll_fd = cb_register_fd,
    .notify = cb_notify,
};

static int add_poll(int fd, int events, void *opaque)
{
	struct user *u = opaque;
	short ev = 0;

	if (u->npfd == u->maxpfd)
		return -1; /* served on a later round */
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	u->pfd[u->npfd] = (struct pollfd){.fd = fd, .events = ev};
	return u->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct user *u = opaque;
	short re;
	int r = 0;

	if (idx < 0 || idx >= u->npfd)
		return 0;
	re = u->pfd[idx].revents;
	if (re & POLLIN)
		r |= SLIRP_POLL_IN;
	if (re & POLLOUT)
		r |= SLIRP_POLL_OUT;
	if (re & POLLPRI)
		r |= SLIRP_POLL_PRI;
	if (re & POLLERR)
		r |= SLIRP_POLL_ERR;
	if (re & POLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

static int user_fill(void *be, struct pollfd *pfd, int max, bool want_rx, int *timeout_ms)
{
	struct user *u = be;
	uint32_t timeout = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	int64_t now_ms = (int64_t)(net_now_ns() / 1000000);

	u->dns_watched = want_rx && max > 1 && net_dns_fd(u->dns) >= 0;
	if (u->dns_watched) {
		pfd[0] = (struct pollfd){.fd = net_dns_fd(u->dns), .events = POLLIN};
		pfd++;
		max--;
	}
	u->pfd = pfd;
	u->npfd = 0;
	u->maxpfd = max;
	lib.slirp_pollfds_fill(u->slirp, &timeout, add_poll, u);
	for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
		const struct utimer *t = &u->timers[i];
		if (t->used && t->armed) {
			int64_t in = t->expire_ms - now_ms;
			if (in < 0)
				in = 0;
			if ((uint64_t)in < timeout)
				timeout = (uint32_t)in;
		}
	}
	*timeout_ms = timeout == UINT32_MAX ? -1 : (int)(timeout > 1000 ? 1000 : timeout);
	return u->npfd + u->dns_watched;
}

static void user_dispatch(void *be, struct pollfd *pfd, int n)
{
	struct user *u = be;
	int64_t now_ms = (int64_t)(net_now_ns() / 1000000);

	if (u->dns_watched && n > 0) {
		if (pfd[0].revents) {
			int len;
			/* a bounded batch, as for the other back ends */
			for (int i = 0;
			     i < 64 && (len = net_dns_answer(u->dns, u->answer,
							     sizeof(u->answer))) != -EAGAIN;
			     i++)
				if (len > 0)
					net_nic_input(u->nic, u->answer, (size_t)len);
		}
		pfd++;
	}
	u->pfd = pfd;
	lib.slirp_pollfds_poll(u->slirp, 0, get_revents, u);
	for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
		struct utimer *t = &u->timers[i];
		if (t->used && t->armed && t->expire_ms <= now_ms) {
			t->armed = false;
			t->cb(t->cb_opaque);
		}
	}
}

static int user_send(void *be, const void *frame, size_t len)
{
	struct user *u = be;

	if (!net_dns_take(u->dns, frame, len))
		lib.slirp_input(u->slirp, frame, (int)len);
	return 0;
}

static void user_free(void *be)
{
	struct user *u = be;

	if (u->slirp)
		lib.slirp_cleanup(u->slirp);
	net_dns_close(u->dns);
	free(u);
}

static const struct net_backend_ops user_ops = {
    .name = "user",
    .fill = user_fill,
    .dispatch = user_dispatch,
    .send = user_send,
    .free = user_free,
};

int net_user_open(struct net_nic *nic, const struct net_config *cfg, struct net_backend *out)
{
	struct user *u = calloc(1, sizeof(*u));
	SlirpConfig sc = {.version = 4, .in_enabled = true, .if_mtu = 1500, .if_mru = 1500};

	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (!u)
		return -ENOMEM;
	pthread_once(&once, load_libslirp);
	if (!lib_ok) {
		free(u);
		return -ENOENT;
	}
	u->nic = nic;
	inet_pton(AF_INET, "10.0.2.0", &sc.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &sc.vhost);
	inet_pton(AF_INET, "10.0.2.15", &sc.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &sc.vnameserver);
	sc.vhostname = "condo";
	u->dns = net_dns_open(sc.vnameserver.s_addr);
	u->slirp = u->dns ? lib.slirp_new(&sc, &user_callbacks, u) : NULL;
	if (!u->slirp) {
		log_err("net", "user: libslirp could not start");
		net_dns_close(u->dns);
		free(u);
		return -ENOMEM;
	}
	for (int i = 0; i < cfg->nfwd; i++) {
		const struct net_hostfwd *f = &cfg->fwd[i];
		struct in_addr host = {f->host_addr}, guest = {f->guest_addr};
		char h[INET_ADDRSTRLEN];

		if (!guest.s_addr)
			guest = sc.vdhcp_start;
		if (lib.slirp_add_hostfwd(u->slirp, f->udp, host, f->host_port, guest,
					  f->guest_port) < 0) {
			log_err("net", "user: hostfwd=%s:%s:%u: cannot listen there: %s",
				f->udp ? "udp" : "tcp", inet_ntop(AF_INET, &host, h, sizeof(h)),
				f->host_port, strerror(errno));
			user_free(u);
			return -EADDRINUSE;
		}
	}
	*out = (struct net_backend){&user_ops, u};
	return 0;
}
