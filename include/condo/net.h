/* Guest networking: a NIC's host side (docs/net.md).
 *
 * A NIC is one back end (user-mode NAT through libslirp, a virtual L2
 * switch shared with other VMs, or a tap interface), a thread of its own
 * that does the back end's I/O (never a vCPU thread), a queue of frames
 * waiting for the guest, rate limits and counters.  A device model
 * (src/virtio/net.c) attaches to it:
 *   - a hart that sees the guest post buffers calls net_nic_kick();
 *   - the NIC's thread then calls the device's tx() and rx(): tx() takes
 *     the guest's frames and hands each to net_nic_send(), rx() takes
 *     frames with net_nic_rx_peek()/net_nic_rx_done() into the guest's
 *     receive buffers.
 * Everything that opens a socket or a device is done by net_nic_open(),
 * before the jail locks down; the thread's own calls are JAIL_VM_NET's. */
#ifndef CONDO_NET_H
#define CONDO_NET_H

#include "condo/types.h"

#include <stddef.h>

#define NET_MAX_NICS 4
/* The longest Ethernet frame a guest may send or receive: 1500 bytes of
 * MTU (the device offers VIRTIO_NET_F_MTU), the header and a VLAN tag. */
#define NET_MAX_FRAME	1518
#define NET_MIN_FRAME	14 /* an Ethernet header */
#define NET_MAX_HOSTFWD 8

enum net_kind {
	NET_USER = 1, /* libslirp: NAT, DHCP, DNS, host port forwards */
	NET_SWITCH,   /* a virtual switch process shared by VMs (condo switch) */
	NET_TAP,      /* a host tap interface (needs CAP_NET_ADMIN or a tap owned by us) */
	NET_FD,	      /* an already-connected SOCK_SEQPACKET descriptor (tests) */
};

struct net_hostfwd {
	bool udp;
	uint32_t host_addr; /* network order; INADDR_ANY when left out */
	uint16_t host_port;
	uint32_t guest_addr; /* network order; 0: the first DHCP address */
	uint16_t guest_port;
};

/* A token bucket's settings: rate per second, burst (the bucket's size). */
struct net_rate {
	uint64_t bytes, bytes_burst; /* 0: no byte limit */
	uint64_t pkts, pkts_burst;   /* 0: no packet limit */
};

/* One --net option, parsed (net_parse_opts). */
struct net_config {
	enum net_kind kind;
	const char *name; /* switch=NAME, tap=IFNAME (points into the option) */
	char name_buf[64];
	bool has_mac;
	uint8_t mac[6];
	struct net_rate rate; /* applies to each direction on its own */
	struct net_hostfwd fwd[NET_MAX_HOSTFWD];
	int nfwd;
	int fd; /* NET_FD */
};

/* Cumulative counters of one NIC, seen from the guest: rx is what the
 * guest received, tx what it sent; drops are frames that went nowhere
 * (malformed, too big, queue full, refused by the back end). */
struct net_stats {
	uint64_t rx_bytes, rx_packets, rx_drops;
	uint64_t tx_bytes, tx_packets, tx_drops;
};

struct net_nic;

/* Parse one --net value ("user,hostfwd=tcp:127.0.0.1:8080-:80",
 * "switch=lan,mac=52:54:00:12:34:56,rate=1000000"...).  0, or -EINVAL
 * with a one-line message in err. */
int net_parse_opts(const char *spec, struct net_config *cfg, char *err, size_t errlen);

/* Switch names: [A-Za-z0-9_.-], 1..32 characters, not starting with a dot. */
bool net_switch_name_ok(const char *name);

/* Where the switches' sockets live: $CONDO_NET_DIR, else
 * $XDG_RUNTIME_DIR/condo-net, else /run/condo/net for root, else
 * /tmp/condo-net-UID.  Created (mode 0700) when missing.  0 or -errno. */
int net_switch_dir(char *buf, size_t len);

/* Open the back end (sockets, the tap, the switch connection; a switch is
 * started when none is running).  index numbers the NIC in its VM (MAC
 * defaults: 52:54:00:12:34:56+index, as QEMU's).  NULL after a one-line
 * error. */
struct net_nic *net_nic_open(const struct net_config *cfg, int index);
/* Start the NIC's thread; start(ctx) runs first on it (the jail's filter). */
int net_nic_start(struct net_nic *nic, int (*start)(void *ctx), void *ctx);
/* Stop and join the thread (the NIC and its queue stay: it starts again on
 * the next boot). */
void net_nic_stop(struct net_nic *nic);
void net_nic_close(struct net_nic *nic);

void net_nic_mac(const struct net_nic *nic, uint8_t mac[6]);
void net_nic_stats(const struct net_nic *nic, struct net_stats *out);
const char *net_nic_name(const struct net_nic *nic); /* "user", "switch=lan" */

/* The device model's side. */
struct net_device_ops {
	void (*tx)(void *dev); /* take the guest's frames: net_nic_send each */
	void (*rx)(void *dev); /* give queued frames to the guest */
};
/* Attach (dev_ops NULL: detach).  Detaching waits until the thread is out
 * of the device's callbacks. */
void net_nic_attach(struct net_nic *nic, const struct net_device_ops *ops, void *dev);
/* Any thread: the guest posted buffers; the NIC's thread calls tx and rx. */
void net_nic_kick(struct net_nic *nic);
/* On the NIC's thread, in tx(): may the guest send now?  False while the
 * transmit rate limit is spent (the thread kicks again when it refills). */
bool net_nic_tx_allowed(struct net_nic *nic);
/* Send one frame from the guest (counted; a malformed one dropped). */
void net_nic_send(struct net_nic *nic, const void *frame, size_t len);
/* The guest dropped a frame it sent (bad framing, bad checksum request). */
void net_nic_tx_drop(struct net_nic *nic);
/* In rx(): the next frame for the guest, NULL when none (or the receive
 * limit is spent); net_nic_rx_done() after copying it (delivered true) or
 * dropping it (false). */
const void *net_nic_rx_peek(struct net_nic *nic, size_t *len);
void net_nic_rx_done(struct net_nic *nic, bool delivered);

/* Checksum offload helpers for the device model (RFC 1071 sums).
 * Complete a partial checksum: the 16-bit one's complement sum of
 * frame[start..len) stored at start + offset, whose field already holds
 * the pseudo-header's sum (virtio 1.2 §5.1.6.2).  -EINVAL when the
 * offsets do not fit the frame. */
int net_csum_complete(uint8_t *frame, size_t len, size_t start, size_t offset);
/* Whether frame is IPv4 TCP or UDP, unfragmented, with a correct
 * checksum (so the guest need not check it: DATA_VALID, §5.1.6.4). */
bool net_csum_valid(const uint8_t *frame, size_t len);

/* condo switch NAME: run the switch in the foreground until killed, or
 * with idle_exit until its last port leaves.  Exit status. */
int net_switch_main(const char *name, bool idle_exit);

#endif
