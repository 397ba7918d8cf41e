/* Which guest pages were written: for sparse snapshots (every page written
 * since the log was made or reset) and for live migration's pre-copy
 * rounds (pages written since the last collect).
 *
 * Like the code map, the log covers one host range (a VM's RAM) with a bit
 * per page.  Harts mark a page when they translate a write to it, before
 * the write translation is cached and before the data lands (src/cpu/tlb.c),
 * so a cached write translation means "already marked": after a collect,
 * dropping every hart's write translations (CPU_FLUSH_WRITE_TLB) makes the
 * next store to each page mark it again.  Devices' DMA, the SBI and
 * firmware loading mark through gmem_write/gmem_written (src/mem). */
#ifndef CONDO_DIRTYLOG_H
#define CONDO_DIRTYLOG_H

#include "condo/types.h"

struct dirty_log {
	uint8_t *host;     /* the host range covered (a VM's RAM) */
	uint64_t pages;    /* GUEST_PAGE_SIZE pages */
	/* A bit per page written since the log was made or reset: snapshots
	 * store only these (and skip zero ones). */
	uint64_t *touched;
	/* A bit per page written since the last dirty_log_collect: the pages
	 * a migration round sends. */
	uint64_t *dirty;
};

/* Words in a bitmap of pages bits. */
static inline uint64_t dirty_log_words(uint64_t pages)
{
	return (pages + 63) / 64;
}

/* A log of the bytes at host, every bit clear.  0, or -ENOMEM. */
int dirty_log_init(struct dirty_log *log, void *host, uint64_t bytes);
void dirty_log_free(struct dirty_log *log);

/* [host, host + len) was or is about to be written: set both bits of each
 * page in it, atomically (harts and device threads mark concurrently).
 * The part of the range outside the log is ignored. */
void dirty_log_mark_range(struct dirty_log *log, const void *host, uint64_t len);

static inline void dirty_log_mark(struct dirty_log *log, const void *host, uint64_t len)
{
	uintptr_t off = (uintptr_t)host - (uintptr_t)log->host;
	uint64_t page = off >> GUEST_PAGE_SHIFT;

	/* The common case, one access within one page: two atomic ORs, and
	 * none when both bits are set already (no cache line bouncing between
	 * harts storing to the same pages).  unsigned: an address below the
	 * range wraps to a huge page number. */
	if (len && len <= GUEST_PAGE_SIZE && page < log->pages &&
	    (off + len - 1) >> GUEST_PAGE_SHIFT == page) {
		uint64_t bit = 1ull << (page % 64);

		if ((__atomic_load_n(&log->dirty[page / 64], __ATOMIC_RELAXED) & bit) &&
		    (__atomic_load_n(&log->touched[page / 64], __ATOMIC_RELAXED) & bit))
			return;
		__atomic_or_fetch(&log->touched[page / 64], bit, __ATOMIC_SEQ_CST);
		__atomic_or_fetch(&log->dirty[page / 64], bit, __ATOMIC_SEQ_CST);
		return;
	}
	dirty_log_mark_range(log, host, len);
}

/* Move the dirty bits into out (log->pages bits, dirty_log_words() words,
 * allocated by the caller), clearing them: an atomic exchange per word, so
 * a page marked meanwhile is either in out or still dirty.  Returns how
 * many pages were dirty.
 *
 * A hart marks a page before its data lands, and then keeps writing
 * through the cached translation, so collect while no hart is between the
 * two (harts parked), then have every hart drop its write translations
 * (cpu_flush_requests(h, CPU_FLUSH_WRITE_TLB)) before it runs again: from
 * then on every guest write to a page sets its dirty bit first. */
uint64_t dirty_log_collect(struct dirty_log *log, uint64_t *out);

/* Set the touched bits of the pages set in bits (a restore: the pages that
 * came from a snapshot), keeping those already set. */
void dirty_log_set_touched(struct dirty_log *log, const uint64_t *bits);

/* Clear every touched bit (a snapshot was taken; the next one may store
 * only what changed since). */
void dirty_log_reset_touched(struct dirty_log *log);

static inline bool dirty_log_test(const uint64_t *bits, uint64_t page)
{
	return (bits[page / 64] >> (page % 64)) & 1;
}

#endif
