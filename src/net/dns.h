/* Inside src/net: the user-mode NAT's DNS proxy (dns.c). */
#ifndef NET_DNS_H
#define NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_dns;

/* Before the jail: the host's resolver, for queries to vaddr (network
 * order).  NULL only when out of memory; without a resolver, queries are
 * dropped. */
struct net_dns *net_dns_open(uint32_t vaddr);
void net_dns_close(struct net_dns *d);
/* The socket to watch for answers, or -1. */
int net_dns_fd(const struct net_dns *d);
/* A frame from the guest: 1 when it was DNS for vaddr (sent on, or
 * dropped), 0 when slirp should have it. */
int net_dns_take(struct net_dns *d, const uint8_t *frame, size_t len);
/* An answer as a frame for the guest into frame: its length, 0 for a
 * datagram that answers nothing, -EAGAIN when none waits. */
int net_dns_answer(struct net_dns *d, uint8_t *frame, size_t max);

#endif
