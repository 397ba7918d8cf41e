/* The snapshot format (docs/snapshot.md): a directory holding
 *   manifest.json  magic, version, the board, the configuration, and each
 *                  section's file, offset, size and CRC-32; written last
 *   state.bin      the sections of plain-data state (condo/state.h): the
 *                  board and harts ("cpu"), the devices ("devices"), the
 *                  map of stored memory pages ("memory-map")
 *   memory.raw     guest RAM as a sparse file: a page is stored at its
 *                  offset, untouched and zero pages are holes; a restore
 *                  maps it MAP_PRIVATE, so nothing is copied up front
 *   memory.zst     instead of memory.raw with compression: zstd frames of
 *                  (first page, count, pages) runs, read in at restore
 *   disk<N>.qcow2  (or .raw) each writable disk, frozen when the snapshot
 *                  was taken; a restore runs each on a new overlay
 * This layer knows files and bytes, not VMs: src/machine fills the
 * sections and loads them. */
#ifndef CONDO_SNAPSHOT_H
#define CONDO_SNAPSHOT_H

#include "condo/types.h"

#include <stddef.h>

#define SNAPSHOT_MAGIC   "condo-snapshot"
#define SNAPSHOT_VERSION 1
#define SNAPSHOT_MANIFEST "manifest.json"
#define SNAPSHOT_STATE    "state.bin"
#define SNAPSHOT_MEMORY   "memory.raw"
#define SNAPSHOT_MEMORY_Z "memory.zst"

/* CRC-32 (zlib's) of a buffer, continuing from crc (0 to start). */
uint32_t snapshot_crc(uint32_t crc, const void *p, size_t len);

/* Whether the 4 KiB page at p reads as zeros. */
bool snapshot_page_is_zero(const uint8_t *p);

/* Guest RAM out: the pages whose bit is set in stored (a bitmap of
 * bytes / 4096 bits; those that read as zeros are left out and their bits
 * cleared) into fd, sparse at their offsets (compress false), or as zstd
 * runs (compress true).  *crc covers the pages kept, in order, with their
 * numbers; *pages counts them.  0 or -errno. */
int snapshot_memory_write(int fd, const uint8_t *ram, uint64_t bytes, uint64_t *stored,
			  bool compress, uint32_t *crc, uint64_t *pages);
/* Guest RAM in from a compressed memory file: every run is checked to lie
 * within bytes and to be named by the map.  0, or -1 with *why set. */
int snapshot_memory_read_zstd(int fd, uint8_t *ram, uint64_t bytes, const uint64_t *map,
			      uint32_t *crc, const char **why);
/* The CRC of what an uncompressed memory file stores under map (reads it
 * all: `condo snapshot --check`, and restores asked to verify). */
int snapshot_memory_crc(int fd, uint64_t bytes, const uint64_t *map, uint32_t *crc);

#endif
