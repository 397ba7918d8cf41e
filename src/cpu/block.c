/* The decoded-block cache: blocks live in one arena per hart and are found
 * by guest pc through a hash table, and by host page through a second one
 * when a page is written.  Flushing resets the arena, so chain pointers
 * between blocks die together with the blocks. */
#include "cpu/block.h"
#include "cpu/csr.h"
#include "cpu/priv.h"
#include "cpu/tlb.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HASH_BITS  14
#define PAGE_BITS  10
#define ARENA_SIZE (32u << 20)
#define MAX_CROSS  1024

struct block_cache {
	uint8_t *arena;
	size_t used;
	struct block *hash[1u << HASH_BITS];
	/* by the host page of the first byte */
	struct block *pages[1u << PAGE_BITS];
	/* Blocks whose last instruction reaches into a second page, with the
	 * host address of that page (listed by their first page as well). */
	struct {
		struct block *b;
		uintptr_t page;
	} cross[MAX_CROSS];
	unsigned ncross;
};

static unsigned hash_page(uintptr_t host)
{
	uintptr_t page = host >> GUEST_PAGE_SHIFT;

	return (unsigned)(page ^ (page >> PAGE_BITS)) & ((1u << PAGE_BITS) - 1);
}

static uintptr_t page_of(const void *host)
{
	return (uintptr_t)host & ~(uintptr_t)(GUEST_PAGE_SIZE - 1);
}

static unsigned hash_pc(gva_t pc)
{
	return (unsigned)((pc >> 1) ^ (pc >> (HASH_BITS + 1))) & ((1u << HASH_BITS) - 1);
}

struct block_cache *block_cache_new(void)
{
	struct block_cache *cache = calloc(1, sizeof(*cache));

	if (!cache)
		return NULL;
	/* Reserved, not committed: a hart pays only for the code it runs. */
	cache->arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (cache->arena == MAP_FAILED) {
		free(cache);
		return NULL;
	}
	return cache;
}

void block_cache_free(struct block_cache *cache)
{
	if (!cache)
		return;
	munmap(cache->arena, ARENA_SIZE);
	free(cache);
}

void block_cache_flush(struct block_cache *cache)
{
	/* Every block comes from the arena: none used, none hashed.  An empty
	 * cache (a restore flushes the new harts') keeps its fresh zero pages
	 * untouched rather than faulting in 150 KiB to clear them. */
	if (!cache->used)
		return;
	cache->used = 0;
	memset(cache->hash, 0, sizeof(cache->hash));
	memset(cache->pages, 0, sizeof(cache->pages));
	cache->ncross = 0;
}

static void unlink_pc(struct block_cache *cache, struct block *b)
{
	for (struct block **pp = &cache->hash[hash_pc(b->pc)]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == b) {
			*pp = b->hash_next;
			return;
		}
	}
}

static void drop(struct block_cache *cache, struct block *b,
		 void (*dropped)(struct block *b, void *ctx), void *ctx)
{
	unlink_pc(cache, b);
	b->pc |= 1; /* no lookup or chain check matches an odd pc */
	b->heat = 0;
	dropped(b, ctx);
}

void block_cache_invalidate_page(struct block_cache *cache, uintptr_t page,
				 void (*dropped)(struct block *b, void *ctx), void *ctx)
{
	struct block **pp = &cache->pages[hash_page(page)];

	while (*pp) {
		struct block *b = *pp;

		if (page_of(b->host) == page) {
			*pp = b->page_next;
			drop(cache, b, dropped, ctx);
		} else {
			pp = &b->page_next;
		}
	}
	for (unsigned i = 0; i < cache->ncross;) {
		struct block *b = cache->cross[i].b;

		if (cache->cross[i].page == page || page_of(b->host) == page) {
			if (!(b->pc & 1))
				drop(cache, b, dropped, ctx);
			cache->cross[i] = cache->cross[--cache->ncross];
		} else {
			i++;
		}
	}
}

struct block *block_lookup(struct block_cache *cache, gva_t pc, const uint8_t *host)
{
	struct block *b;

	for (b = cache->hash[hash_pc(pc)]; b; b = b->hash_next)
		if (b->pc == pc && b->host == host)
			return b;
	return NULL;
}

/* Fetch and decode the instruction at pc.  Returns its length, or 0 when the
 * fetch faults (trap fields set).  *host and *host_hi (the second parcel)
 * get host addresses. */
static int fetch_decode(struct hart *hart, gva_t pc, struct insn *insn, const uint8_t **host,
			const uint8_t **host_hi)
{
	uint16_t lo, hi;
	uint32_t raw;

	if (mem_fetch16(hart, pc, &lo, (uint8_t **)host) < 0)
		return 0;
	if ((lo & 3) != 3) {
		raw = rvc_expand(lo);
		insn_decode(insn, raw, pc);
		insn->len = 2;
		if (insn->op == OP_ILLEGAL)
			insn->raw = lo; /* tval is the instruction as fetched */
		return 2;
	}
	if (mem_fetch16(hart, pc + 2, &hi, (uint8_t **)host_hi) < 0)
		return 0;
	insn_decode(insn, lo | (uint32_t)hi << 16, pc);
	return 4;
}

static bool unrepeatable(const struct insn *last)
{
	switch (last->op) {
	case OP_MRET: case OP_SRET: case OP_WFI: case OP_FENCE_I: case OP_SFENCE_VMA:
		return true;
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC: case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		return csr_changes_by_itself((unsigned)last->imm);
	default:
		return false;
	}
}

struct block *block_build(struct hart *hart, gva_t pc, const void *const *handlers,
			  const void *end_handler, bool *full)
{
	struct block_cache *cache = hart->blocks;
	size_t max_size = sizeof(struct block) + (BLOCK_MAX_INSNS + 1) * sizeof(struct insn);
	struct block *b;
	const uint8_t *host = NULL, *first = NULL, *hi = NULL;
	gva_t at = pc;
	uint32_t n = 0;
	bool crosses;

	*full = false;
	if (cache->used + max_size > ARENA_SIZE) {
		*full = true;
		return NULL;
	}
	b = (struct block *)(cache->arena + cache->used);
	while (n < BLOCK_MAX_INSNS) {
		struct insn *insn = &b->insns[n];
		int len = fetch_decode(hart, at, insn, &first, &hi);

		if (!len) {
			if (n == 0)
				return NULL; /* the fault belongs to this pc */
			break;           /* a later instruction faults when reached */
		}
		if (n == 0)
			host = first;
		insn->off = (uint16_t)(at - pc);
		insn->handler = handlers[insn->op];
		n++;
		at += len;
		if (insn_ends_block(insn))
			break;
		/* Stay within the first page so code invalidation is per page. */
		if ((at & GUEST_PAGE_MASK) != (pc & GUEST_PAGE_MASK))
			break;
	}
	crosses = ((at - 1) & GUEST_PAGE_MASK) != (pc & GUEST_PAGE_MASK);
	if (crosses && cache->ncross == MAX_CROSS) {
		*full = true; /* no room to list one more page-crossing block */
		return NULL;
	}
	b->pc = pc;
	b->host = host;
	b->chain_epoch = cpu_chain_tag(hart);
	b->jit_entry = NULL;
	b->jit_n = 0;
	b->heat = 0;
	b->exits[0] = b->exits[1] = 0;
	b->n = n;
	b->unrepeatable = n && unrepeatable(&b->insns[n - 1]);
	b->bytes = (uint32_t)(at - pc);
	b->chain[0] = b->chain[1] = NULL;
	memset(&b->insns[n], 0, sizeof(struct insn));
	b->insns[n].handler = end_handler;
	b->insns[n].off = (uint16_t)b->bytes;

	cache->used += sizeof(struct block) + (n + 1) * sizeof(struct insn);
	cache->used = (cache->used + 63) & ~(size_t)63;
	b->hash_next = cache->hash[hash_pc(pc)];
	cache->hash[hash_pc(pc)] = b;
	b->page_next = cache->pages[hash_page((uintptr_t)host)];
	cache->pages[hash_page((uintptr_t)host)] = b;
	/* Stores to these pages must now be seen (code_map). */
	cpu_code_mark(hart, host);
	if (crosses) {
		/* The last instruction's second half is on the next page. */
		cache->cross[cache->ncross].b = b;
		cache->cross[cache->ncross].page = page_of(hi);
		cache->ncross++;
		cpu_code_mark(hart, hi);
	}
	return b;
}
