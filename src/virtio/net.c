/* virtio-net (virtio 1.2 §5.1): one receive and one transmit queue over a
 * NIC's back end (condo/net.h).  Offered: MAC, STATUS (link up), MTU
 * (1500), MRG_RXBUF (a frame may span several receive buffers), CSUM (the
 * guest may leave checksums for the device) and GUEST_CSUM (the device
 * may mark checksums it checked).  No segmentation offloads, no control
 * queue.
 *
 * Work runs on the NIC's thread, never on a hart: a hart's QueueNotify
 * only kicks the NIC (net_nic_kick), whose thread then calls net_tx and
 * net_rx here, under the device lock.  A malformed transmit request (too
 * short for a header and an Ethernet header, longer than NET_MAX_FRAME, a
 * checksum request outside the frame, a segmentation request that was not
 * negotiated) is dropped, counted and returned to the guest; broken rings
 * put the device in NEEDS_RESET as for every device (queue.c). */
#include "virtio/virtio_internal.h"
#include "condo/log.h"
#include "condo/net.h"

#include <stdlib.h>
#include <string.h>

#define NET_RXQ 0
#define NET_TXQ 1

/* Feature bits (§5.1.3) */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16

#define VIRTIO_NET_S_LINK_UP 1
#define NET_MTU		     1500

/* struct virtio_net_hdr (§5.1.6): flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers; 12 bytes with VERSION_1 or
 * MRG_RXBUF, else 10 (no num_buffers). */
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define HDR_GSO_NONE	 0
#define HDR_LEN_MAX	 12

/* struct virtio_net_config: mac[6], status, max_virtqueue_pairs, mtu */
#define NET_CONFIG_LEN 12

/* Receive buffers one frame may take with MRG_RXBUF: Linux posts buffers
 * of at least 1518 bytes, so 2 do; more covers drivers posting small ones. */
#define MAX_MERGE 8

struct virtio_net {
	struct virtio_mmio *vm;
	struct net_nic *nic;
	uint8_t config[NET_CONFIG_LEN];
	uint8_t frame[HDR_LEN_MAX + NET_MAX_FRAME]; /* the NIC thread's */
	struct virtq_elem rx[MAX_MERGE];
	struct virtq_elem tx;
};

static unsigned hdr_len(const struct virtio_net *n)
{
	return virtio_has_feature(n->vm, VIRTIO_F_VERSION_1) ||
		       virtio_has_feature(n->vm, VIRTIO_NET_F_MRG_RXBUF)
		   ? 12
		   : 10;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* One transmit request, copied out of the guest: header and frame.
 * false: drop it. */
static bool tx_frame(struct virtio_net *n, const struct virtq_elem *e, size_t *flen)
{
	unsigned hl = hdr_len(n);
	uint8_t *h = n->frame;

	if (e->out_len < hl + NET_MIN_FRAME || e->out_len > hl + NET_MAX_FRAME)
		return false;
	iov_to_buf(e->iov, e->n_out, 0, n->frame, e->out_len);
	*flen = e->out_len - hl;
	if (h[1] != HDR_GSO_NONE)
		return false; /* no segmentation offload was offered */
	if (h[0] & HDR_F_NEEDS_CSUM) {
		if (!virtio_has_feature(n->vm, VIRTIO_NET_F_CSUM))
			return false;
		if (net_csum_complete(n->frame + hl, *flen, le16(h + 6), le16(h + 8)) < 0)
			return false;
	}
	return true;
}

/* On the NIC's thread: the guest's frames to the back end. */
static void net_tx(void *dev)
{
	struct virtio_net *n = dev;
	bool used = false;

	virtio_mmio_lock(n->vm);
	while (net_nic_tx_allowed(n->nic) && virtq_pop(n->vm, NET_TXQ, &n->tx) > 0) {
		size_t flen = 0;
		bool ok = tx_frame(n, &n->tx, &flen);

		virtq_push(n->vm, NET_TXQ, &n->tx, 0);
		used = true;
		/* the back end's send without the lock: harts keep their
		 * register accesses while a socket takes the frame */
		virtio_mmio_unlock(n->vm);
		if (ok)
			net_nic_send(n->nic, n->frame + hdr_len(n), flen);
		else
			net_nic_tx_drop(n->nic);
		virtio_mmio_lock(n->vm);
	}
	if (used)
		virtq_notify_guest(n->vm, NET_TXQ);
	virtio_mmio_unlock(n->vm);
}

/* Take receive buffers for total bytes: 1 with room enough (or up to
 * MAX_MERGE with MRG_RXBUF).  The count, 0 when the guest has not posted
 * enough yet (nothing kept), or -1 when one buffer can never hold it. */
static int take_rx_buffers(struct virtio_net *n, size_t total)
{
	bool merge = virtio_has_feature(n->vm, VIRTIO_NET_F_MRG_RXBUF);
	size_t room = 0;
	int k = 0;

	while (room < total) {
		if (k == (merge ? MAX_MERGE : 1) || virtq_pop(n->vm, NET_RXQ, &n->rx[k]) <= 0)
			break;
		room += n->rx[k++].in_len;
	}
	if (room >= total)
		return k;
	if (k > 0 && (k == (merge ? MAX_MERGE : 1))) {
		/* buffers too small for any frame this size: the frame goes,
		 * the buffers are returned unused */
		for (int i = 0; i < k; i++)
			virtq_push(n->vm, NET_RXQ, &n->rx[i], 0);
		return -1;
	}
	virtq_unpop(n->vm, NET_RXQ, (unsigned)k);
	return 0;
}

/* On the NIC's thread: queued frames into the guest's receive buffers. */
static void net_rx(void *dev)
{
	struct virtio_net *n = dev;
	const uint8_t *frame;
	size_t flen;
	bool used = false;

	virtio_mmio_lock(n->vm);
	while ((frame = net_nic_rx_peek(n->nic, &flen))) {
		unsigned hl = hdr_len(n);
		uint8_t hdr[HDR_LEN_MAX] = {0};
		size_t skip = 0;
		int k = take_rx_buffers(n, hl + flen);

		if (k == 0)
			break; /* kicked again when the guest posts buffers */
		if (k < 0) {
			net_nic_rx_done(n->nic, false);
			used = true;
			continue;
		}
		if (virtio_has_feature(n->vm, VIRTIO_NET_F_GUEST_CSUM) &&
		    net_csum_valid(frame, flen))
			hdr[0] = HDR_F_DATA_VALID;
		put_le16(hdr + 10, (uint16_t)k); /* num_buffers: 1 without MRG_RXBUF */
		for (int i = 0; i < k; i++) {
			struct virtq_elem *e = &n->rx[i];
			size_t put = 0;

			if (skip < hl)
				put = iov_from_buf(virtq_elem_in(e), e->n_in, 0, hdr + skip,
						   hl - skip);
			skip += put;
			if (skip >= hl) {
				size_t m = iov_from_buf(virtq_elem_in(e), e->n_in, put,
							frame + (skip - hl), flen - (skip - hl));
				put += m;
				skip += m;
			}
			virtq_push(n->vm, NET_RXQ, e, (uint32_t)put);
		}
		net_nic_rx_done(n->nic, true);
		used = true;
	}
	if (used)
		virtq_notify_guest(n->vm, NET_RXQ);
	virtio_mmio_unlock(n->vm);
}

static const struct net_device_ops net_dev_ops = {
    .tx = net_tx,
    .rx = net_rx,
};

/* On a hart (lock held): buffers posted; the NIC's thread does the rest. */
static void net_notify(void *dev, unsigned q)
{
	struct virtio_net *n = dev;

	net_nic_kick(n->nic);
}

static void net_config_read(void *dev, unsigned offset, void *buf, unsigned len)
{
	struct virtio_net *n = dev;

	memcpy(buf, n->config + offset, len);
}

/* Snapshots: the queue positions are the transport's.  Under the lock the
 * device holds no chain between pops and pushes (net_tx pushes before it
 * lets go, take_rx_buffers pushes or gives back what it took), so there
 * is nothing in flight to save; frames the back end still queues are the
 * host's and go with it (a network may drop frames).  The MAC and link
 * state come from the host's configuration: a clone gets its own.
 * Loading wakes the NIC's thread, since a kick the guest gave before the
 * save may not have been served yet. */
static int net_load(void *dev, struct state_buf *in)
{
	struct virtio_net *n = dev;

	net_nic_kick(n->nic);
	return 0;
}

static void net_free(void *dev)
{
	struct virtio_net *n = dev;

	net_nic_attach(n->nic, NULL, NULL); /* waits for the thread to leave us */
	free(n);
}

static const struct virtio_dev_ops net_ops = {
    .name = "virtio-net",
    .kconfig = "CONFIG_VIRTIO_NET",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_max = VIRTQ_MAX_SIZE,
    .config_len = NET_CONFIG_LEN,
    .config_read = net_config_read,
    .notify = {net_notify, net_notify},
    .free = net_free,
    .load = net_load,
};

struct virtio_mmio *virtio_net_new(struct guest_ram *ram, struct irq_line irq, struct net_nic *nic)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	uint64_t features = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
			    1ull << VIRTIO_NET_F_MTU | 1ull << VIRTIO_NET_F_MAC |
			    1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_STATUS;

	if (!n)
		return NULL;
	n->nic = nic;
	net_nic_mac(nic, n->config);
	put_le16(n->config + 6, VIRTIO_NET_S_LINK_UP);
	put_le16(n->config + 8, 1);
	put_le16(n->config + 10, NET_MTU);
	n->vm = virtio_mmio_new(ram, irq, &net_ops, n, features);
	if (!n->vm) {
		free(n);
		return NULL;
	}
	net_nic_attach(nic, &net_dev_ops, n);
	return n->vm;
}
