/* A NIC's host side: its back end, its thread, the queue of frames for the
 * guest, rate limits and counters (condo/net.h, docs/net.md).
 *
 * The thread polls the back end's fds and an eventfd the harts write
 * (net_nic_kick); after each wake-up it lets the attached device take the
 * guest's frames (tx) and fill its receive buffers (rx).  The queue, the
 * buckets and the back end are touched only on this thread; the counters
 * are read by the meter's thread, so they are updated atomically. */
#define _GNU_SOURCE
#include "net/net_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Frames waiting for the guest's receive buffers.  Past this the back end
 * is not read (the switch and tap keep frames in their sockets), and what
 * slirp sends anyway is dropped and counted, as on a real NIC. */
#define RXQ_LEN 256

struct rxframe {
	uint16_t len;
	uint8_t data[NET_MAX_FRAME];
};

struct net_nic {
	char name[80];
	struct net_backend be;
	uint8_t mac[6];
	int wakefd;
	pthread_t thread;
	bool running;
	volatile bool stop;
	int (*start)(void *ctx);
	void *start_ctx;

	pthread_mutex_t dev_lock; /* held while the device's callbacks run */
	const struct net_device_ops *dev_ops;
	void *dev;

	struct rxframe *rxq;
	unsigned rx_head, rx_count;
	struct tbucket rx_bytes, rx_pkts, tx_bytes, tx_pkts;
	uint64_t wake_at_ns; /* a bucket refills then: serve the device again; 0: none */

	struct net_stats stats;
};

uint64_t net_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static void default_mac(const struct net_config *cfg, int index, uint8_t mac[6])
{
	static const uint8_t qemu[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

	memcpy(mac, qemu, 6);
	if (cfg->kind == NET_USER) {
		mac[5] = (uint8_t)(mac[5] + index); /* alone on its network, as QEMU's */
		return;
	}
	/* On a shared segment two VMs must not both be 52:54:00:12:34:56:
	 * random low bytes under QEMU's prefix (locally administered). */
	if (getrandom(mac + 3, 3, 0) != 3)
		mac[5] = (uint8_t)(getpid() + index);
}

struct net_nic *net_nic_open(const struct net_config *cfg, int index)
{
	struct net_nic *nic = calloc(1, sizeof(*nic));
	uint64_t now = net_now_ns();
	int r;

	if (!nic || !(nic->rxq = calloc(RXQ_LEN, sizeof(*nic->rxq)))) {
		log_err("net", "out of memory");
		free(nic);
		return NULL;
	}
	pthread_mutex_init(&nic->dev_lock, NULL);
	nic->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cfg->has_mac)
		memcpy(nic->mac, cfg->mac, 6);
	else
		default_mac(cfg, index, nic->mac);
	tbucket_init(&nic->rx_bytes, cfg->rate.bytes, cfg->rate.bytes_burst, now);
	tbucket_init(&nic->tx_bytes, cfg->rate.bytes, cfg->rate.bytes_burst, now);
	tbucket_init(&nic->rx_pkts, cfg->rate.pkts, cfg->rate.pkts_burst, now);
	tbucket_init(&nic->tx_pkts, cfg->rate.pkts, cfg->rate.pkts_burst, now);
	switch (cfg->kind) {
	case NET_USER:
		snprintf(nic->name, sizeof(nic->name), "user");
		r = net_user_open(nic, cfg, &nic->be);
		break;
	case NET_SWITCH:
		snprintf(nic->name, sizeof(nic->name), "switch=%s", cfg->name);
		r = net_switch_open(nic, cfg, &nic->be);
		break;
	case NET_TAP:
		snprintf(nic->name, sizeof(nic->name), "tap=%s", cfg->name);
		r = net_tap_open(nic, cfg, &nic->be);
		break;
	case NET_FD:
		snprintf(nic->name, sizeof(nic->name), "fd=%d", cfg->fd);
		r = net_seqpacket_open(nic, cfg->fd, nic->name, &nic->be);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0 || nic->wakefd < 0) {
		if (nic->wakefd < 0)
			log_err("net", "%s: no eventfd: %s", nic->name, strerror(errno));
		net_nic_close(nic);
		return NULL;
	}
	log_info("net", "NIC %d: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x", index, nic->name,
		 nic->mac[0], nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);
	return nic;
}

/* ---- the thread ---- */

static void serve_device(struct net_nic *nic)
{
	pthread_mutex_lock(&nic->dev_lock);
	nic->wake_at_ns = 0;
	if (nic->dev_ops) {
		nic->dev_ops->tx(nic->dev);
		nic->dev_ops->rx(nic->dev);
	}
	pthread_mutex_unlock(&nic->dev_lock);
}

static int poll_timeout(const struct net_nic *nic)
{
	uint64_t now, ms;

	if (!nic->wake_at_ns)
		return -1;
	now = net_now_ns();
	if (nic->wake_at_ns <= now)
		return 0;
	ms = (nic->wake_at_ns - now + 999999) / 1000000;
	return ms > 1000 ? 1000 : (int)ms;
}

static void *nic_main(void *arg)
{
	struct net_nic *nic = arg;
	struct pollfd pfd[1 + NET_BACKEND_MAX_FDS];

	if (nic->start && nic->start(nic->start_ctx) < 0)
		return NULL;
	while (!nic->stop) {
		int timeout = poll_timeout(nic), n = 1, r;
		uint64_t v;

		pfd[0] = (struct pollfd){.fd = nic->wakefd, .events = POLLIN};
		n += nic->be.ops->fill(nic->be.be, pfd + 1, NET_BACKEND_MAX_FDS,
				       nic->rx_count < RXQ_LEN, &timeout);
		r = poll(pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR) {
			log_err("net", "%s: poll: %s", nic->name, strerror(errno));
			break;
		}
		if (nic->stop)
			break;
		if (r > 0 && (pfd[0].revents & POLLIN) &&
		    read(nic->wakefd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			v = 0;
		nic->be.ops->dispatch(nic->be.be, pfd + 1, n - 1);
		serve_device(nic);
	}
	return NULL;
}

int net_nic_start(struct net_nic *nic, int (*start)(void *ctx), void *ctx)
{
	int r;

	if (nic->running)
		return 0;
	nic->start = start;
	nic->start_ctx = ctx;
	nic->stop = false;
	r = pthread_create(&nic->thread, NULL, nic_main, nic);
	if (r) {
		log_err("net", "%s: cannot start its thread: %s", nic->name, strerror(r));
		return -r;
	}
	nic->running = true;
	return 0;
}

void net_nic_kick(struct net_nic *nic)
{
	uint64_t one = 1;

	if (write(nic->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("net", "%s: kick: %s", nic->name, strerror(errno));
}

void net_nic_stop(struct net_nic *nic)
{
	if (!nic || !nic->running)
		return;
	nic->stop = true;
	net_nic_kick(nic);
	pthread_join(nic->thread, NULL);
	nic->running = false;
}

void net_nic_close(struct net_nic *nic)
{
	if (!nic)
		return;
	net_nic_stop(nic);
	if (nic->be.ops)
		nic->be.ops->free(nic->be.be);
	if (nic->wakefd >= 0)
		close(nic->wakefd);
	pthread_mutex_destroy(&nic->dev_lock);
	free(nic->rxq);
	free(nic);
}

void net_nic_attach(struct net_nic *nic, const struct net_device_ops *ops, void *dev)
{
	pthread_mutex_lock(&nic->dev_lock);
	nic->dev_ops = ops;
	nic->dev = dev;
	pthread_mutex_unlock(&nic->dev_lock);
	if (ops)
		net_nic_kick(nic);
}

/* ---- frames ---- */

static bool buckets_ready(struct net_nic *nic, struct tbucket *bytes, struct tbucket *pkts)
{
	uint64_t now = net_now_ns(), wait = 0, w2 = 0;
	/* both, always: each bucket refills (and says how long) on its own */
	bool bytes_ok = tbucket_ready(bytes, now, &wait), pkts_ok = tbucket_ready(pkts, now, &w2);
	bool ok = bytes_ok && pkts_ok;

	if (!ok) {
		uint64_t at = now + (w2 > wait ? w2 : wait);
		if (!nic->wake_at_ns || at < nic->wake_at_ns)
			nic->wake_at_ns = at;
	}
	return ok;
}

bool net_nic_tx_allowed(struct net_nic *nic)
{
	return buckets_ready(nic, &nic->tx_bytes, &nic->tx_pkts);
}

void net_nic_tx_drop(struct net_nic *nic)
{
	count(&nic->stats.tx_drops, 1);
}

void net_nic_send(struct net_nic *nic, const void *frame, size_t len)
{
	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME ||
	    nic->be.ops->send(nic->be.be, frame, len)) {
		count(&nic->stats.tx_drops, 1);
		return;
	}
	tbucket_take(&nic->tx_bytes, len);
	tbucket_take(&nic->tx_pkts, 1);
	count(&nic->stats.tx_bytes, len);
	count(&nic->stats.tx_packets, 1);
}

void net_nic_input(struct net_nic *nic, const void *frame, size_t len)
{
	struct rxframe *f;

	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME || nic->rx_count == RXQ_LEN) {
		count(&nic->stats.rx_drops, 1);
		return;
	}
	f = &nic->rxq[(nic->rx_head + nic->rx_count) % RXQ_LEN];
	f->len = (uint16_t)len;
	memcpy(f->data, frame, len);
	nic->rx_count++;
}

const void *net_nic_rx_peek(struct net_nic *nic, size_t *len)
{
	struct rxframe *f;

	if (!nic->rx_count || !buckets_ready(nic, &nic->rx_bytes, &nic->rx_pkts))
		return NULL;
	f = &nic->rxq[nic->rx_head];
	*len = f->len;
	return f->data;
}

void net_nic_rx_done(struct net_nic *nic, bool delivered)
{
	struct rxframe *f = &nic->rxq[nic->rx_head];

	if (!nic->rx_count)
		return;
	if (delivered) {
		tbucket_take(&nic->rx_bytes, f->len);
		tbucket_take(&nic->rx_pkts, 1);
		count(&nic->stats.rx_bytes, f->len);
		count(&nic->stats.rx_packets, 1);
	} else {
		count(&nic->stats.rx_drops, 1);
	}
	nic->rx_head = (nic->rx_head + 1) % RXQ_LEN;
	nic->rx_count--;
}

void net_nic_mac(const struct net_nic *nic, uint8_t mac[6])
{
	memcpy(mac, nic->mac, 6);
}

void net_nic_stats(const struct net_nic *nic, struct net_stats *out)
{
	const struct net_stats *s = &nic->stats;

	out->rx_bytes = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
	out->rx_packets = __atomic_load_n(&s->rx_packets, __ATOMIC_RELAXED);
	out->rx_drops = __atomic_load_n(&s->rx_drops, __ATOMIC_RELAXED);
	out->tx_bytes = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
	out->tx_packets = __atomic_load_n(&s->tx_packets, __ATOMIC_RELAXED);
	out->tx_drops = __atomic_load_n(&s->tx_drops, __ATOMIC_RELAXED);
}

const char *net_nic_name(const struct net_nic *nic)
{
	return nic->name;
}

/* ---- token buckets ---- */

void tbucket_init(struct tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
	b->rate = rate;
	b->burst = burst ? burst : rate / 10 + 1; /* default: a tenth of a second */
	b->tokens = (int64_t)b->burst;
	b->last_ns = now_ns;
}

bool tbucket_ready(struct tbucket *b, uint64_t now_ns, uint64_t *wait_ns)
{
	if (!b->rate)
		return true;
	if (now_ns > b->last_ns) {
		/* 128-bit: rate up to 2^64 per second times seconds elapsed */
		unsigned __int128 add =
		    (unsigned __int128)(now_ns - b->last_ns) * b->rate / 1000000000u;
		if (add > 0) {
			int64_t t = b->tokens +
				    (add > b->burst * 2 ? (int64_t)(b->burst * 2) : (int64_t)add);
			b->tokens = t > (int64_t)b->burst ? (int64_t)b->burst : t;
			/* keep the remainder: advance only by what was credited */
			b->last_ns += (uint64_t)(add * 1000000000u / b->rate);
			if (b->last_ns > now_ns || add > b->burst * 2)
				b->last_ns = now_ns;
		}
	}
	if (b->tokens >= 0)
		return true;
	*wait_ns =
	    (uint64_t)(((unsigned __int128)(uint64_t)-b->tokens * 1000000000u + b->rate - 1) /
		       b->rate);
	return false;
}

void tbucket_take(struct tbucket *b, uint64_t n)
{
	if (b->rate)
		b->tokens -= (int64_t)n;
}
