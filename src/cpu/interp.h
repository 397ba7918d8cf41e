/* The interpreter as the engine (src/engine) drives it: find or decode the
 * block at a pc, and run one decoded block.  Choosing what runs next,
 * chaining, compiling and budgets are the engine's. */
#ifndef CPU_INTERP_H
#define CPU_INTERP_H

#include "cpu/block.h"

/* How cpu_interp_block left its block. */
enum cpu_block_end {
	BLOCK_NEXT_FALL = 0,  /* ran to its end by exit 0 (fall-through); pc = the successor */
	BLOCK_NEXT_TAKEN = 1, /* ran to its end by exit 1 (taken branch, jump) */
	BLOCK_REDIRECT,       /* pc set by mret, sret or fence.i, or the block was cut short:
			       * no chain may remember this successor (b may be gone) */
	BLOCK_TRAP,           /* trap fields set, pc = the faulting instruction */
	BLOCK_ECALL,          /* pc at an ecall the environment serves */
};

/* The block at pc, decoded now if needed (a full cache is flushed first).
 * NULL when its first instruction cannot be fetched: the trap fields are
 * set and hart->pc = pc. */
struct block *cpu_block_at(struct hart *hart, gva_t pc);

/* Run instructions first .. b->n - 1 of b, at most max of them.  On entry
 * instret counts none of b's instructions; instructions before first ran
 * elsewhere (compiled code) and are counted with the block.  On return
 * hart->pc and instret are exact; a block run to its end has counted the
 * exit it took (block->exits). */
enum cpu_block_end cpu_interp_block(struct hart *hart, struct block *b, uint32_t first,
				    uint32_t max);

/* How far cpu_interp_run may go on by itself: the engine decides the rest. */
struct cpu_interp_bound {
	uint64_t limit;          /* no block may take instret past this */
	/* Stop before a block whose heat would reach this: the engine counts
	 * the run that makes a block hot, and keeps heat there while the
	 * block has compiled code. */
	uint32_t due;
	bool stop_unrepeatable;  /* stop before blocks with unrepeatable set */
};

/* Run all of *b, then on through the blocks the chain pointers lead to
 * (valid in this TLB epoch, pc matching) or, when there is none, the block
 * already decoded for the next pc (then chained), counting their heat,
 * while the
 * next one is not due, fits the limit and no stop or interrupt check is
 * pending: a loop of interpreted blocks runs without
 * returning to the engine.  Returns how the last block ended, *b = that
 * block. */
enum cpu_block_end cpu_interp_run(struct hart *hart, struct block **b,
				  const struct cpu_interp_bound *bound);

#endif
