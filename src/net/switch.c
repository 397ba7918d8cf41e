/* The virtual L2 switch (condo switch NAME, or started by the first VM
 * that names the network): one process per network, so one isolated
 * segment per name; frames from one never reach another's sockets.
 *
 * Each VM is a port: a SOCK_SEQPACKET connection to DIR/NAME.sock, one
 * Ethernet frame per message.  The switch learns which port each source
 * MAC sits behind, sends unicast frames to the learned port only, and
 * floods broadcast, multicast and unknown destinations to every other
 * port.  Malformed frames (shorter than a header, longer than
 * NET_MAX_FRAME, a multicast source) are dropped and counted.  A port's
 * socket that is full drops the frame (as a congested link), so one slow
 * VM never stalls the others. */
#define _GNU_SOURCE
#include "net/net_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SWITCH_MAX_PORTS 64
#define SWITCH_MACS	 1024
#define MAC_AGE_NS	 (300ull * 1000000000u) /* as common bridges' 300 s */

struct port {
	int fd; /* -1: free */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, drops;
};

struct mac_entry {
	uint8_t mac[6];
	int port; /* -1: free */
	uint64_t seen_ns;
};

struct sw {
	const char *name;
	int listen_fd;
	int nports;
	struct port ports[SWITCH_MAX_PORTS];
	struct mac_entry macs[SWITCH_MACS];
	uint64_t malformed;
	uint8_t buf[NET_MAX_FRAME + 1];
};

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = 1;
}

static struct mac_entry *mac_find(struct sw *s, const uint8_t *mac)
{
	for (int i = 0; i < SWITCH_MACS; i++)
		if (s->macs[i].port >= 0 && !memcmp(s->macs[i].mac, mac, 6))
			return &s->macs[i];
	return NULL;
}

static void mac_learn(struct sw *s, const uint8_t *mac, int port, uint64_t now)
{
	struct mac_entry *e = mac_find(s, mac), *oldest = &s->macs[0];

	if (!e) {
		for (int i = 0; i < SWITCH_MACS && !e; i++) {
			if (s->macs[i].port < 0)
				e = &s->macs[i];
			else if (s->macs[i].seen_ns < oldest->seen_ns)
				oldest = &s->macs[i];
		}
		if (!e)
			e = oldest; /* full: the stalest entry goes */
		memcpy(e->mac, mac, 6);
	}
	e->port = port;
	e->seen_ns = now;
}

static void mac_forget_port(struct sw *s, int port)
{
	for (int i = 0; i < SWITCH_MACS; i++)
		if (s->macs[i].port == port)
			s->macs[i].port = -1;
}

static void deliver(struct sw *s, int to, const uint8_t *frame, size_t len)
{
	struct port *p = &s->ports[to];

	if (send(p->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		p->drops++;
		return;
	}
	p->tx_packets++;
	p->tx_bytes += len;
}

static void forward(struct sw *s, int from, const uint8_t *frame, size_t len)
{
	uint64_t now = net_now_ns();
	struct mac_entry *e;

	s->ports[from].rx_packets++;
	s->ports[from].rx_bytes += len;
	mac_learn(s, frame + 6, from, now);
	if (!(frame[0] & 1)) {
		e = mac_find(s, frame);
		if (e && now - e->seen_ns < MAC_AGE_NS) {
			if (e->port != from)
				deliver(s, e->port, frame, len);
			return;
		}
	}
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		if (i != from && s->ports[i].fd >= 0)
			deliver(s, i, frame, len);
}

static void port_close(struct sw *s, int i)
{
	struct port *p = &s->ports[i];

	log_info("switch",
		 "%s: port %d left: received %llu frames (%llu bytes), sent %llu "
		 "(%llu bytes), dropped %llu",
		 s->name, i, (unsigned long long)p->rx_packets, (unsigned long long)p->rx_bytes,
		 (unsigned long long)p->tx_packets, (unsigned long long)p->tx_bytes,
		 (unsigned long long)p->drops);
	close(p->fd);
	p->fd = -1;
	s->nports--;
	mac_forget_port(s, i);
}

static void port_read(struct sw *s, int i)
{
	for (int n = 0; n < 64 && s->ports[i].fd >= 0; n++) {
		ssize_t len =
		    recv(s->ports[i].fd, s->buf, sizeof(s->buf), MSG_DONTWAIT | MSG_TRUNC);

		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (len <= 0) {
			port_close(s, i);
			return;
		}
		if (len < NET_MIN_FRAME || len > NET_MAX_FRAME || (s->buf[6] & 1)) {
			s->malformed++;
			s->ports[i].drops++;
			continue;
		}
		forward(s, i, s->buf, (size_t)len);
	}
}

static void port_accept(struct sw *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int sndbuf = 1 << 20;

	if (fd < 0)
		return;
	for (int i = 0; i < SWITCH_MAX_PORTS; i++) {
		if (s->ports[i].fd < 0) {
			s->ports[i] = (struct port){.fd = fd};
			s->nports++;
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
			log_info("switch", "%s: port %d joined", s->name, i);
			return;
		}
	}
	log_warn("switch", "%s: all %d ports taken; a VM was turned away", s->name,
		 SWITCH_MAX_PORTS);
	close(fd);
}

/* Idle (no port): stop listening, unless a VM is connecting right now.
 * Under NAME.lock, which a VM holds from its connect attempt until it is
 * connected: the listening socket is gone before anyone looks again. */
static bool idle_stop(struct sw *s, const char *lock_path, const char *sock_path)
{
	struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN};
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	bool stop = false;

	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		stop = true; /* cannot coordinate: go, a VM starts a new one */
	} else if (poll(&pfd, 1, 0) == 0) {
		unlink(sock_path);
		stop = true;
	}
	if (fd >= 0)
		close(fd);
	return stop;
}

int net_switch_main(const char *name, bool idle_exit)
{
	char dir[200], sock[256], lock[256], run[256];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sigaction act = {.sa_handler = on_stop};
	struct sw *s;
	int runfd, r;

	if (!net_switch_name_ok(name)) {
		log_err(
		    "switch",
		    "bad network name '%s' (1 to 32 of A-Z a-z 0-9 _ . -, not starting with a dot)",
		    name);
		return 1;
	}
	r = net_switch_dir(dir, sizeof(dir));
	if (r < 0) {
		log_err("switch", "%s: the switch directory: %s", name, strerror(-r));
		return 1;
	}
	if (net_switch_path(dir, name, ".sock", sock, sizeof(sock)) < 0 ||
	    net_switch_path(dir, name, ".lock", lock, sizeof(lock)) < 0 ||
	    net_switch_path(dir, name, ".run", run, sizeof(run)) < 0 ||
	    strlen(sock) >= sizeof(sa.sun_path)) {
		log_err("switch", "%s: the socket path under %s is too long", name, dir);
		return 1;
	}
	/* One switch per name: NAME.run is held for the switch's life. */
	runfd = open(run, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (runfd < 0) {
		log_err("switch", "%s: %s: %s", name, run, strerror(errno));
		return 1;
	}
	if (flock(runfd, LOCK_EX | LOCK_NB) < 0) {
		/* started by a VM: an idle predecessor is on its way out */
		if (!idle_exit || flock(runfd, LOCK_EX) < 0) {
			log_err("switch", "switch %s is already running (%s)", name, sock);
			close(runfd);
			return 1;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return 1;
	s->name = name;
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		s->ports[i].fd = -1;
	for (int i = 0; i < SWITCH_MACS; i++)
		s->macs[i].port = -1;
	strcpy(sa.sun_path, sock);
	unlink(sock); /* a predecessor's, which crashed: NAME.run says none runs */
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 64) < 0) {
		log_err("switch", "%s: cannot listen on %s: %s", name, sock, strerror(errno));
		free(s);
		close(runfd);
		return 1;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGHUP, &act, NULL);
	if (!idle_exit)
		sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("switch", "%s: listening on %s", name, sock);
	while (!stopping) {
		struct pollfd pfd[1 + SWITCH_MAX_PORTS];
		int map[1 + SWITCH_MAX_PORTS], n = 1;

		pfd[0] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
		for (int i = 0; i < SWITCH_MAX_PORTS; i++) {
			if (s->ports[i].fd >= 0) {
				map[n] = i;
				pfd[n++] = (struct pollfd){.fd = s->ports[i].fd, .events = POLLIN};
			}
		}
		if (poll(pfd, (nfds_t)n, idle_exit ? 1000 : -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			port_accept(s);
		for (int k = 1; k < n; k++)
			if (pfd[k].revents)
				port_read(s, map[k]);
		/* Started by a VM: gone once the last VM left.  The VM that
		 * started it holds NAME.lock until it is connected, so the
		 * first check waits for it. */
		if (idle_exit && !s->nports && idle_stop(s, lock, sock))
			break;
	}
	if (stopping)
		unlink(sock);
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		if (s->ports[i].fd >= 0)
			port_close(s, i);
	log_info("switch", "%s: stopped (%llu malformed frames dropped)", name,
		 (unsigned long long)s->malformed);
	close(s->listen_fd);
	free(s);
	close(runfd);
	return 0;
}
