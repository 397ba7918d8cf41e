/* DNS for --net user: the guest's queries to 10.0.2.3 are answered by the
 * host's resolver, through a UDP socket connected before the jail.
 *
 * libslirp can forward DNS itself, but it reads /etc/resolv.conf by path
 * when the first query comes, which the jail forbids (and --jail-dir
 * hides).  So the NIC's thread takes every IPv4 packet for 10.0.2.3 port
 * 53 before slirp sees it: UDP queries go to the resolver named in the
 * host's resolv.conf (read at start; $CONDO_RESOLV_CONF overrides the
 * path), with a transaction ID of ours so queries of different guest
 * ports cannot collide, and the answer returns as a frame from 10.0.2.3;
 * DNS over TCP and fragments are dropped (resolvers retry over UDP). */
#define _GNU_SOURCE
#include "net/dns.h"
#include "condo/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_SLOTS 256
#define DNS_MAX	  1472 /* a query or answer in one 1500-byte IPv4 packet */

struct dns_slot {
	bool used;
	uint16_t guest_id, guest_port;
	uint32_t guest_ip; /* network order */
	uint8_t guest_mac[6];
};

struct net_dns {
	int fd;		/* connected to the resolver; -1: none known */
	uint32_t vaddr; /* 10.0.2.3, network order */
	uint16_t next;
	struct dns_slot slots[DNS_SLOTS];
	uint8_t buf[DNS_MAX + 1];
};

/* The first IPv4 nameserver of a resolv.conf; 0 when none. */
static uint32_t resolver_addr(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[256], word[64], addr[64];
	struct in_addr a = {0};

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %63s", word, addr) == 2 && !strcmp(word, "nameserver") &&
		    inet_pton(AF_INET, addr, &a) == 1)
			break;
		a.s_addr = 0;
	}
	fclose(f);
	return a.s_addr;
}

struct net_dns *net_dns_open(uint32_t vaddr)
{
	const char *path = getenv("CONDO_RESOLV_CONF");
	struct net_dns *d = calloc(1, sizeof(*d));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};

	if (!d)
		return NULL;
	d->fd = -1;
	d->vaddr = vaddr;
	sa.sin_addr.s_addr = resolver_addr(path && *path ? path : "/etc/resolv.conf");
	if (!sa.sin_addr.s_addr) {
		log_info("net",
			 "user: no IPv4 nameserver in the host's resolv.conf: no DNS for guests");
		return d;
	}
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->fd >= 0 && connect(d->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(d->fd);
		d->fd = -1;
	}
	if (d->fd < 0)
		log_warn("net", "user: cannot reach the host's resolver: no DNS for guests");
	return d;
}

void net_dns_close(struct net_dns *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

int net_dns_fd(const struct net_dns *d)
{
	return d ? d->fd : -1;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int net_dns_take(struct net_dns *d, const uint8_t *f, size_t len)
{
	size_t ihl, tot, l4;
	const uint8_t *udp;
	struct dns_slot *s;
	uint16_t id;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return 0;
	if (memcmp(f + 30, &d->vaddr, 4))
		return 0; /* not for 10.0.2.3 */
	ihl = (size_t)(f[14] & 15) * 4;
	tot = rd16(f + 16);
	if (ihl < 20 || tot < ihl || 14 + tot > len)
		return 1; /* malformed, for our address: slirp need not see it */
	if ((rd16(f + 20) & 0x3fff) != 0)
		return f[23] == 17 || f[23] == 6; /* a fragment of UDP or TCP: dropped */
	l4 = tot - ihl;
	if (f[23] == 6)
		return l4 >= 4 && rd16(f + 14 + ihl + 2) == 53; /* DNS over TCP: dropped */
	if (f[23] != 17 || l4 < 8)
		return 0; /* ICMP and the rest: slirp's */
	udp = f + 14 + ihl;
	if (rd16(udp + 2) != 53)
		return 0;
	if (d->fd < 0 || l4 < 8 + 12 || l4 - 8 > DNS_MAX)
		return 1;
	/* our ID indexes the slot; a slot still waiting is taken over (its
	 * query was lost or is slow: the guest asks again) */
	id = d->next++;
	s = &d->slots[id % DNS_SLOTS];
	*s = (struct dns_slot){
	    .used = true,
	    .guest_id = rd16(udp + 8),
	    .guest_port = rd16(udp),
	};
	memcpy(&s->guest_ip, f + 26, 4);
	memcpy(s->guest_mac, f + 6, 6);
	memcpy(d->buf, udp + 8, l4 - 8);
	wr16(d->buf, id);
	if (send(d->fd, d->buf, l4 - 8, MSG_DONTWAIT) < 0)
		s->used = false;
	return 1;
}

/* IPv4 header checksum (RFC 791). */
static uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += rd16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_dns_answer(struct net_dns *d, uint8_t *frame, size_t max)
{
	ssize_t n = recv(d->fd, d->buf, sizeof(d->buf), MSG_DONTWAIT);
	struct dns_slot *s;
	size_t len;

	if (n < 12 || n > DNS_MAX)
		return n < 0 && errno == EAGAIN ? -EAGAIN : 0;
	s = &d->slots[rd16(d->buf) % DNS_SLOTS];
	len = 14 + 20 + 8 + (size_t)n;
	if (!s->used || len > max)
		return 0;
	s->used = false;
	wr16(d->buf, s->guest_id);
	memset(frame, 0, 14 + 20 + 8);
	memcpy(frame, s->guest_mac, 6);
	/* slirp's MAC for its own addresses: 52:55 and the IPv4 address */
	frame[6] = 0x52, frame[7] = 0x55;
	memcpy(frame + 8, &d->vaddr, 4);
	frame[12] = 0x08;
	frame[14] = 0x45;
	wr16(frame + 16, (uint16_t)(20 + 8 + n));
	frame[22] = 64, frame[23] = 17;
	memcpy(frame + 26, &d->vaddr, 4);
	memcpy(frame + 30, &s->guest_ip, 4);
	wr16(frame + 24, ip_csum(frame + 14, 20));
	wr16(frame + 34, 53);
	wr16(frame + 36, s->guest_port);
	wr16(frame + 38, (uint16_t)(8 + n)); /* UDP checksum 0: none (RFC 768) */
	memcpy(frame + 42, d->buf, (size_t)n);
	return (int)len;
}
