/* The code page map and its invalidation log (see condo/codemap.h).
 * Lock-free: marks are bytes set and cleared atomically, and writers
 * reserve log entries with a fetch-and-add, so a store on one hart, DMA on
 * a device thread and a fork() child never wait on each other. */
#include "condo/codemap.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int code_map_init(struct code_map *map, void *host, uint64_t bytes)
{
	void *marks;

	memset(map, 0, sizeof(*map));
	map->host = host;
	map->pages = (bytes + GUEST_PAGE_SIZE - 1) >> GUEST_PAGE_SHIFT;
	marks = mmap(NULL, map->pages, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (marks == MAP_FAILED) {
		map->pages = 0;
		return -ENOMEM;
	}
	map->marks = marks;
	return 0;
}

void code_map_free(struct code_map *map)
{
	if (map->marks)
		munmap(map->marks, map->pages);
	map->marks = NULL;
	map->pages = 0;
}

bool code_map_mark(struct code_map *map, const void *host)
{
	uint8_t *m = code_map_mark_of(map, host);

	if (!m || __atomic_load_n(m, __ATOMIC_RELAXED))
		return false;
	if (__atomic_exchange_n(m, 1, __ATOMIC_SEQ_CST))
		return false;
	if (map->protect)
		map->protect(map->ctx, (void *)((uintptr_t)host & ~(uintptr_t)(GUEST_PAGE_SIZE - 1)),
			     true);
	if (map->notify)
		map->notify(map->ctx, CODE_MARKED);
	return true;
}

static void log_page(struct code_map *map, uintptr_t page)
{
	uint64_t seq = __atomic_fetch_add(&map->seq, 1, __ATOMIC_SEQ_CST);
	struct code_log_entry *e = &map->log[seq % CODE_LOG_SIZE];

	__atomic_store_n(&e->page, page, __ATOMIC_RELAXED);
	__atomic_store_n(&e->seq, seq + 1, __ATOMIC_RELEASE);
}

void code_map_written(struct code_map *map, const void *host, uint64_t len)
{
	const uint8_t *p = host;
	bool logged = false;

	if (!map->marks || !len)
		return;
	for (uintptr_t page = (uintptr_t)p & ~(uintptr_t)(GUEST_PAGE_SIZE - 1);
	     page <= (uintptr_t)(p + len - 1); page += GUEST_PAGE_SIZE) {
		uint8_t *m = code_map_mark_of(map, (const void *)page);

		if (m && __atomic_load_n(m, __ATOMIC_RELAXED) &&
		    __atomic_exchange_n(m, 0, __ATOMIC_SEQ_CST)) {
			if (map->protect)
				map->protect(map->ctx, (void *)page, false);
			log_page(map, page);
			logged = true;
		}
	}
	if (logged && map->notify)
		map->notify(map->ctx, CODE_WRITTEN);
}

uintptr_t code_map_logged(const struct code_map *map, uint64_t seq)
{
	const struct code_log_entry *e = &map->log[seq % CODE_LOG_SIZE];
	uintptr_t page;

	if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != seq + 1)
		return 0;
	page = __atomic_load_n(&e->page, __ATOMIC_RELAXED);
	/* overwritten by a writer that lapped us while we read? */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != seq + 1)
		return 0;
	return page;
}
