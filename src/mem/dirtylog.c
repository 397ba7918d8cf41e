/* The dirty-page log: a touched and a dirty bit per guest page
 * (include/condo/dirtylog.h). */
#include "condo/dirtylog.h"

#include <errno.h>
#include <stdlib.h>

int dirty_log_init(struct dirty_log *log, void *host, uint64_t bytes)
{
	uint64_t pages = (bytes + GUEST_PAGE_SIZE - 1) >> GUEST_PAGE_SHIFT;
	uint64_t words = dirty_log_words(pages);

	log->host = host;
	log->pages = pages;
	log->touched = calloc(words ? words : 1, sizeof(uint64_t));
	log->dirty = calloc(words ? words : 1, sizeof(uint64_t));
	if (!log->touched || !log->dirty) {
		dirty_log_free(log);
		return -ENOMEM;
	}
	return 0;
}

void dirty_log_free(struct dirty_log *log)
{
	free(log->touched);
	free(log->dirty);
	log->touched = log->dirty = NULL;
	log->pages = 0;
}

/* Set bits [first, last] of a bitmap, a word at a time. */
static void set_bits(uint64_t *bits, uint64_t first, uint64_t last)
{
	for (uint64_t w = first / 64; w <= last / 64; w++) {
		uint64_t lo = w == first / 64 ? first % 64 : 0;
		uint64_t hi = w == last / 64 ? last % 64 : 63;
		uint64_t mask = (~0ull >> (63 - hi)) & (~0ull << lo);

		__atomic_or_fetch(&bits[w], mask, __ATOMIC_SEQ_CST);
	}
}

void dirty_log_mark_range(struct dirty_log *log, const void *host, uint64_t len)
{
	uintptr_t base = (uintptr_t)log->host, size = (uintptr_t)(log->pages << GUEST_PAGE_SHIFT);
	uintptr_t lo = (uintptr_t)host, hi = lo + len; /* exclusive */

	if (!len || hi < lo)
		hi = UINTPTR_MAX; /* a range running off the address space */
	if (!len || hi <= base || lo >= base + size)
		return; /* wholly outside (or empty) */
	lo = lo > base ? lo - base : 0;
	hi = hi < base + size ? hi - base : size;
	set_bits(log->touched, lo >> GUEST_PAGE_SHIFT, (hi - 1) >> GUEST_PAGE_SHIFT);
	set_bits(log->dirty, lo >> GUEST_PAGE_SHIFT, (hi - 1) >> GUEST_PAGE_SHIFT);
}

uint64_t dirty_log_collect(struct dirty_log *log, uint64_t *out)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < dirty_log_words(log->pages); w++) {
		out[w] = __atomic_exchange_n(&log->dirty[w], 0, __ATOMIC_SEQ_CST);
		n += (uint64_t)__builtin_popcountll(out[w]);
	}
	return n;
}

void dirty_log_set_touched(struct dirty_log *log, const uint64_t *bits)
{
	uint64_t words = dirty_log_words(log->pages);

	for (uint64_t w = 0; w < words; w++) {
		uint64_t v = bits[w];

		if (w == words - 1 && log->pages % 64)
			v &= ~0ull >> (64 - log->pages % 64); /* no bits past the last page */
		if (v)
			__atomic_or_fetch(&log->touched[w], v, __ATOMIC_SEQ_CST);
	}
}

void dirty_log_reset_touched(struct dirty_log *log)
{
	for (uint64_t w = 0; w < dirty_log_words(log->pages); w++)
		__atomic_store_n(&log->touched[w], 0, __ATOMIC_SEQ_CST);
}
