/* pattern.h - what the virtio-blk round trip (blkrt.c) writes, shared with
 * the host-side checker (gen.c check-image): the sector ranges and the
 * byte each of their bytes holds.  Everything else keeps IMAGE_FILL. */
#ifndef VMBAD_PATTERN_H
#define VMBAD_PATTERN_H

#include <stdint.h>

#define IMAGE_FILL   0xe5
#define IMAGE_SECTORS 2048 /* the 1 MiB image run.sh creates */

struct sector_range {
	int64_t first; /* negative: counted from the end (-1 = last sector) */
	uint32_t count;
};

static const struct sector_range written_ranges[] = {
	{ 0, 1 },   /* one data descriptor */
	{ 8, 8 },   /* 4 KiB across three descriptors of odd sizes */
	{ 20, 1 },  /* header and data in one descriptor */
	{ 33, 2 },  /* header split over two descriptors */
	{ 40, 4 },  /* through an indirect table */
	{ 100, 3 }, /* data and status byte in one descriptor */
	{ -1, 1 },  /* the last sector */
};
#define N_WRITTEN_RANGES (sizeof(written_ranges) / sizeof(written_ranges[0]))

static inline uint8_t pattern_byte(uint64_t sector, uint32_t i)
{
	return (uint8_t)(sector * 37 + i * 11 + (i >> 8) * 3 + 0x5a);
}

#endif
