/* The metering record a VMM keeps for its control plane (condo run
 * --meter FILE): cumulative, monotonic counters, rewritten every second.
 * The file holds one struct meter_record, little-endian (the host's); a
 * reader takes it when seq and seq_end agree (else it caught a write
 * midway and reads again).  docs/condod.md, "Metering". */
#ifndef CONDO_METER_H
#define CONDO_METER_H

#include <stdint.h>

#define METER_MAGIC "CONDOMTR"
#define METER_VERSION 2
#define METER_MAX_NICS 4

struct meter_record {
	char magic[8];          /* METER_MAGIC */
	uint32_t version;       /* METER_VERSION */
	uint32_t size;          /* sizeof(struct meter_record) */
	uint64_t seq;           /* bumped by every write */
	uint64_t insns;         /* guest instructions retired, all harts, all boots */
	uint64_t cpu_ns;        /* host CPU time of the VMM process (vCPUs and devices) */
	uint64_t disk_read_bytes, disk_write_bytes;
	uint64_t disk_read_ops, disk_write_ops;
	uint64_t net_rx_bytes, net_tx_bytes; /* all NICs: what the guest received, sent */
	uint64_t uptime_ns;     /* since the VMM started */
	/* Version 2: each NIC's counters (condo/net.h, struct net_stats), in
	 * --net order; the totals above are their sums. */
	uint32_t nnics, pad;
	struct meter_nic {
		uint64_t rx_bytes, rx_packets, rx_drops;
		uint64_t tx_bytes, tx_packets, tx_drops;
	} nics[METER_MAX_NICS];
	uint64_t seq_end;       /* seq again, written last */
};

#endif
