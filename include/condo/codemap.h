/* Which pages of guest memory hold code that harts have decoded (and maybe
 * translated), so that a write to one, from any hart or from a device's
 * DMA, invalidates that code.
 *
 * The map covers one host range (a VM's RAM, an app-mode address space)
 * with a byte per page.  A hart marks a page when it decodes a block there
 * and stops caching write translations for it, so every store to it takes
 * the slow path, which reports the write here.  A write to a marked page
 * clears the mark and appends the page to the invalidation log; every hart
 * then drops the blocks it decoded from that page at its next block
 * boundary (notify() makes them look).  The log is a ring: a hart that fell
 * more than CODE_LOG_SIZE entries behind drops all its code instead. */
#ifndef CONDO_CODEMAP_H
#define CONDO_CODEMAP_H

#include "condo/types.h"

#define CODE_LOG_SIZE 64

struct code_log_entry {
	uint64_t seq;   /* the entry's position + 1 once written, for readers */
	uintptr_t page; /* host address of the written page */
};

/* What notify() reports. */
enum code_event {
	CODE_MARKED = 1,  /* a page became code: drop cached write translations */
	CODE_WRITTEN = 2, /* the log grew: drop the blocks of the logged pages */
	CODE_ALL = 3,     /* drop all decoded code (the owner changed how it is run) */
};

struct code_map {
	uint8_t *host;  /* the range covered */
	uint64_t pages;
	uint8_t *marks; /* one per page: 1 when code was decoded from it */
	uint64_t seq;   /* log entries reserved so far */
	struct code_log_entry log[CODE_LOG_SIZE];
	/* Called after a page was marked or logged (enum code_event), to make
	 * every hart of the range act on it soon (at its next block boundary). */
	void (*notify)(void *ctx, enum code_event what);
	/* Called (when set) as a page becomes code, before it is decoded, and
	 * as it stops being code, before it is written: app mode makes the host
	 * page read-only while it is code (docs/app-mode.md). */
	void (*protect)(void *ctx, void *page, bool code);
	void *ctx;
	/* Harts that ever ran from the range (cpu_set_code_map).  With one,
	 * every store a hart makes is reported before any later decode of
	 * its own, and devices report after their DMA, so no decoded block
	 * can hold bytes that were not reported: fence.i only has to act on
	 * the log (cpu_fence_i).  With more, a store racing another hart's
	 * decode may not be, and fence.i drops all code. */
	uint32_t harts;
};

/* 0, or -ENOMEM.  The marks cost host memory only where code runs. */
int code_map_init(struct code_map *map, void *host, uint64_t bytes);
void code_map_free(struct code_map *map);

static inline uint8_t *code_map_mark_of(const struct code_map *map, const void *host)
{
	uint64_t page = (uint64_t)((const uint8_t *)host - map->host) >> GUEST_PAGE_SHIFT;

	/* unsigned: an address below the range wraps to a huge page number */
	return map->marks && page < map->pages ? &map->marks[page] : NULL;
}

/* Whether stores to the page at host must be reported. */
static inline bool code_map_is_code(const struct code_map *map, const void *host)
{
	const uint8_t *m = code_map_mark_of(map, host);

	return m && __atomic_load_n(m, __ATOMIC_RELAXED);
}

/* A hart decoded code at host: mark its page.  True when the mark is new
 * (the caller then drops its own write translations of the page). */
bool code_map_mark(struct code_map *map, const void *host);

/* [host, host + len) is about to be or was written (a store, DMA, a system
 * call): log every marked page in it for invalidation. */
void code_map_written(struct code_map *map, const void *host, uint64_t len);

/* The log entry for position seq: its page, or 0 when that entry was
 * overwritten or is not written yet (then the reader drops everything). */
uintptr_t code_map_logged(const struct code_map *map, uint64_t seq);

static inline uint64_t code_map_seq(const struct code_map *map)
{
	return __atomic_load_n(&map->seq, __ATOMIC_ACQUIRE);
}

#endif
