/* The snapshot format (docs/snapshot.md): a directory holding
 *   manifest.json  magic, version, the board, the configuration, and each
 *                  section's file, offset, size and CRC-32; written last
 *   state.bin      the sections of plain-data state (condo/state.h): the
 *                  board and harts ("cpu"), the devices ("devices"), the
 *                  map of stored memory pages ("memory-map")
 *   memory.raw     guest RAM as a sparse file: a page is stored at its
 *                  offset, untouched and zero pages are holes; a restore
 *                  maps it MAP_PRIVATE, so nothing is copied up front
 *   memory.zst     instead of memory.raw with compression: a zstd frame per
 *                  run of pages, found through the "memory-index" section;
 *                  a restore decompresses a run when the guest first
 *                  touches it (userfaultfd), or all of them up front
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

struct state_buf;

/* Guest RAM out: the pages whose bit is set in stored (a bitmap of
 * bytes / 4096 bits; those that read as zeros are left out and their bits
 * cleared) into fd: sparse at their offsets (index NULL), or compressed,
 * each run of up to 256 pages a zstd frame of its own, with the run's
 * place appended to index (the "memory-index" section).  *crc covers the
 * pages kept, in order, with their numbers; *pages counts them.  0 or
 * -errno. */
int snapshot_memory_write(int fd, const uint8_t *ram, uint64_t bytes, uint64_t *stored,
			  struct state_buf *index, uint32_t *crc, uint64_t *pages);

/* One compressed run: its pages and its frame in the memory file. */
struct snapshot_run {
	uint64_t first;
	uint32_t count;
	uint64_t offset;
	uint32_t size;
};
/* The memory index read and checked (runs in order, within RAM and the
 * file, named by the map) into a malloc'd array.  0, or -1 with b failed. */
int snapshot_index_read(struct state_buf *b, uint64_t bytes, const uint64_t *map,
			uint64_t file_size, struct snapshot_run **runs, size_t *nruns);
/* Decompress one run into dst (count pages); *scratch is a buffer kept
 * between calls (free it).  0, or -1 when the frame is unreadable or
 * corrupt (zstd's checksum). */
int snapshot_run_read(int fd, const struct snapshot_run *r, uint8_t *dst, void **scratch);
/* Every run into ram, and the CRC of them all.  0 or -1. */
int snapshot_memory_read_zstd(int fd, uint8_t *ram, const struct snapshot_run *runs, size_t nruns,
			      uint32_t *crc);

/* Lazy restore of compressed memory (lazy.c).  A userfaultfd, made before
 * the jail (it needs CAP_SYS_PTRACE or vm.unprivileged_userfaultfd): the
 * descriptor, or -1 when this host gives none. */
int snapshot_uffd_open(void);
/* Register ram for missing-page faults: 0 or -errno. */
int snapshot_uffd_register(int uffd, void *ram, uint64_t bytes);
struct snapshot_lazy;
/* A thread serving ram's missing pages from the runs of mem_fd (runs,
 * mem_fd and uffd must outlive it); on_start runs first on it (the
 * jail's filter), on_error when a run is corrupt (the page then reads as
 * zeros: end the VM).  NULL on failure. */
struct snapshot_lazy *snapshot_lazy_start(int uffd, int mem_fd, uint8_t *ram, uint64_t bytes,
					  const struct snapshot_run *runs, size_t nruns,
					  void (*on_start)(void *ctx),
					  void (*on_error)(void *ctx, const char *why), void *ctx);
void snapshot_lazy_stop(struct snapshot_lazy *l);

/* The CRC of what an uncompressed memory file stores under map (reads it
 * all: `condo snapshot --check`, and restores asked to verify). */
int snapshot_memory_crc(int fd, uint64_t bytes, const uint64_t *map, uint32_t *crc);

#endif
