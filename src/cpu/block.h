/* Decoded blocks and the per-hart cache that holds them.  A block is a run
 * of instructions in one guest page ending at the first control transfer;
 * it is decoded once and run many times. */
#ifndef CPU_BLOCK_H
#define CPU_BLOCK_H

#include "condo/cpu.h"
#include "cpu/decode.h"

#define BLOCK_MAX_INSNS 64

struct block {
	gva_t pc;
	/* Host address of the first instruction: with pc, the block's key, so a
	 * pc that the guest remaps to other code finds other blocks. */
	const uint8_t *host;
	struct block *hash_next;
	/* The next block decoded from the same host page (for invalidation). */
	struct block *page_next;
	/* Successor cache for chaining: [0] fall-through, [1] taken or jump
	 * target.  Trusted only while chain_epoch equals cpu_chain_tag() (no
	 * TLB flush since, and in U-mode the same address space), and a user
	 * checks ->pc. */
	struct block *chain[2];
	uint64_t chain_epoch;
	void *jit_entry; /* compiled code (a jit_block_fn), or NULL */
	/* The most instructions the compiled code may run from its entry: a
	 * trace (src/jit/trace.c) goes on into its successors. */
	uint32_t jit_n;
	uint32_t heat;   /* runs in the interpreter so far, until compiled */
	uint32_t exits[2]; /* times it left by exit 0 (fall-through) and 1 (taken) */
	uint32_t n;      /* instructions, not counting the terminator */
	/* Its last instruction's effect two runs from the same state need not
	 * share (mret, sret, wfi, fence.i, sfence.vma, CSRs that change by
	 * themselves): lockstep's compared runs stop before it. */
	bool unrepeatable;
	uint32_t bytes; /* guest bytes covered */
	struct insn insns[]; /* n instructions, then a terminator */
};

/* Build the block at pc with handlers from the interpreter's table; the
 * terminator gets end_handler.  NULL when the first fetch faults (trap set)
 * or the cache is full (then *full is set and nothing is built). */
struct block *block_build(struct hart *hart, gva_t pc, const void *const *handlers,
			  const void *end_handler, bool *full);

struct block *block_lookup(struct block_cache *cache, gva_t pc, const uint8_t *host);

/* Remember nb as b's successor by exit taken, for as long as the TLB
 * mappings it was found through stand (the hart's tlb_epoch). */
static inline void block_chain(struct block *b, int taken, struct block *nb, uint64_t epoch)
{
	if (b->chain_epoch != epoch) {
		b->chain[0] = b->chain[1] = NULL;
		b->chain_epoch = epoch;
	}
	b->chain[taken] = nb;
}

/* Whether b's last instruction reaches into the next page. */
static inline bool block_crosses_page(const struct block *b)
{
	return ((b->pc + b->bytes - 1) & GUEST_PAGE_MASK) != (b->pc & GUEST_PAGE_MASK);
}

/* Drop every block with a byte in the host page at page: it is no longer
 * found, chains to it fail (its pc becomes odd), and dropped(b, ctx) is
 * called for each (the translator forgets its code).  Its memory stays
 * until the next flush, so pointers to it remain safe to read. */
void block_cache_invalidate_page(struct block_cache *cache, uintptr_t page,
				 void (*dropped)(struct block *b, void *ctx), void *ctx);

struct block_cache *block_cache_new(void);
void block_cache_free(struct block_cache *cache);
void block_cache_flush(struct block_cache *cache);

#endif
