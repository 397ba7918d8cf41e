/* The decoded-block cache: blocks live in one arena per hart and are found
 * by guest pc through a hash table.  Flushing resets the arena, so chain
 * pointers between blocks die together with the blocks. */
#include "cpu/block.h"
#include "cpu/tlb.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HASH_BITS  14
#define ARENA_SIZE (32u << 20)

struct block_cache {
	uint8_t *arena;
	size_t used;
	struct block *hash[1u << HASH_BITS];
};

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
	cache->used = 0;
	memset(cache->hash, 0, sizeof(cache->hash));
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
 * fetch faults (trap fields set). */
static int fetch_decode(struct hart *hart, gva_t pc, struct insn *insn, const uint8_t **host)
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
	if (mem_fetch16(hart, pc + 2, &hi, NULL) < 0)
		return 0;
	insn_decode(insn, lo | (uint32_t)hi << 16, pc);
	return 4;
}

struct block *block_build(struct hart *hart, gva_t pc, const void *const *handlers,
			  const void *end_handler, bool *full)
{
	struct block_cache *cache = hart->blocks;
	size_t max_size = sizeof(struct block) + (BLOCK_MAX_INSNS + 1) * sizeof(struct insn);
	struct block *b;
	const uint8_t *host = NULL;
	gva_t at = pc;
	uint32_t n = 0;

	*full = false;
	if (cache->used + max_size > ARENA_SIZE) {
		*full = true;
		return NULL;
	}
	b = (struct block *)(cache->arena + cache->used);
	while (n < BLOCK_MAX_INSNS) {
		struct insn *insn = &b->insns[n];
		int len = fetch_decode(hart, at, insn, n == 0 ? &host : NULL);

		if (!len) {
			if (n == 0)
				return NULL; /* the fault belongs to this pc */
			break;           /* a later instruction faults when reached */
		}
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
	b->pc = pc;
	b->host = host;
	b->chain_epoch = hart->tlb_epoch;
	b->jit_entry = NULL;
	b->heat = 0;
	b->n = n;
	b->bytes = (uint32_t)(at - pc);
	b->chain[0] = b->chain[1] = NULL;
	memset(&b->insns[n], 0, sizeof(struct insn));
	b->insns[n].handler = end_handler;
	b->insns[n].off = (uint16_t)b->bytes;

	cache->used += sizeof(struct block) + (n + 1) * sizeof(struct insn);
	cache->used = (cache->used + 63) & ~(size_t)63;
	b->hash_next = cache->hash[hash_pc(pc)];
	cache->hash[hash_pc(pc)] = b;
	return b;
}
