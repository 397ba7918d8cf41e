/* The dynamic binary translator (RISC-V to x86-64) as the engine
 * (src/engine) sees it: it compiles decoded blocks and traces, runs
 * compiled code from a block when asked, and forgets code when told.  It
 * never decides what runs next; the interpreter stays the reference
 * (see docs/jit.md). */
#ifndef CONDO_JIT_H
#define CONDO_JIT_H

#include "condo/types.h"

struct hart;
struct block;
struct jit;

/* What jit_run returns.  On JIT_EXIT_FALLTHROUGH / JIT_EXIT_TAKEN the last
 * block that ran (*block on return) ran to its end: hart->pc is the next pc
 * and instret counts every block before it but NOT that block (the caller
 * adds its count, as for interpreted blocks).  On JIT_EXIT_TRAP the trap
 * fields are set, hart->pc is the faulting instruction and hart->instret
 * counts exactly the instructions before it.  JIT_EXIT_PARTIAL: the last
 * block (*block) ran up to its last instruction, an operation left to the
 * interpreter (a CSR access, ecall, ...), which the interpreter runs next as
 * part of that block; instret as for a normal exit.  JIT_EXIT_AGAIN:
 * nothing ran and the block's compiled code is gone (the process was
 * forked): run the block in the interpreter. */
enum jit_exit {
	JIT_EXIT_FALLTHROUGH = 0,
	JIT_EXIT_TAKEN = 1,
	JIT_EXIT_TRAP = 2,
	JIT_EXIT_AGAIN = 3,
	JIT_EXIT_PARTIAL = 4,
};

/* Blocks run this many times in the interpreter before being compiled
 * (--jit-threshold).  Compiling costs about 100 times what
 * interpreting an instruction does, and a Linux boot runs much of its code
 * only a few times: 256 boots faster than 16 and 64 (docs/BENCHMARKS.md),
 * and hot loops reach it within microseconds anyway. */
#define JIT_HOT 256
#define JIT_HOT_MAX 1000000

/* Code cache size per hart: the default and the bounds --jit-cache takes
 * (offsets in the cache are 32-bit). */
#define JIT_CACHE_DEFAULT (32ull << 20)
#define JIT_CACHE_MIN     (256ull << 10)
#define JIT_CACHE_MAX     (1ull << 30)

/* A translator with a code cache of cache_bytes (0: the default).  NULL
 * when the host refuses the memory. */
struct jit *jit_new(size_t cache_bytes);
void jit_free(struct jit *jit);
/* Compile code that finds the hart's TLB through hart->tlb even in app
 * mode, so a TLB set of the caller's own can be swapped in (lockstep). */
void jit_set_movable_tlb(struct jit *jit);
/* Compiled code for the block (to store in block->jit_entry), or NULL when
 * it cannot be compiled (an operation the translator leaves to the
 * interpreter, or a full cache, which is then flushed). */
void *jit_compile(struct jit *jit, struct hart *hart, struct block *block);
/* Run compiled code from *block (whose jit_entry is set); it may chain into
 * other compiled blocks while the instret stays within limit and no stop or
 * interrupt check is pending.  *block is set to the last block run. */
int jit_run(struct jit *jit, struct hart *hart, struct block **block, uint64_t limit);
/* Forget the block's compiled code (its page was written): jumps chained
 * to it are undone and indirect jumps no longer find it. */
void jit_invalidate(struct jit *jit, struct block *block);
/* Forget all compiled code (the decoded blocks are being dropped). */
void jit_flush(struct jit *jit);
/* A host fault at pc: when pc is a direct guest access in this
 * translator's compiled code (app mode), the address of the stub that
 * makes that access the slow way, to resume at with the registers as the
 * fault left them; else 0.  Async-signal-safe, on the thread running the
 * code. */
uintptr_t jit_fault_resume(struct jit *jit, uintptr_t pc);
/* The cache size the translator was made with (for a new thread's hart). */
size_t jit_cache_size(const struct jit *jit);

/* Counters for reports. */
struct jit_stats {
	uint64_t blocks_compiled;
	uint64_t blocks_rejected;   /* held an operation left to the interpreter */
	uint64_t trace_blocks;      /* successors compiled into a trace with a compiled block */
	uint64_t insns_compiled;    /* guest instructions translated */
	uint64_t translate_ns;      /* host time spent translating */
	uint64_t code_bytes;        /* host code emitted since the start */
	uint64_t flushes;           /* whole-cache flushes (full, or code changed) */
	uint64_t invalidations;     /* compiled blocks dropped because their page was written */
	uint64_t direct_faults;     /* direct guest accesses the host faulted to their slow path */
	uint64_t chains;            /* block exits patched to jump to a successor */
	uint64_t runs;              /* entries from the engine (jit_run calls) */
	uint64_t cache_bytes;       /* size of the code cache */
	uint64_t host_bytes;        /* host memory the cache holds now */
};
void jit_stats(const struct jit *jit, struct jit_stats *out);
/* Add one translator's counters to a sum (harts, threads). */
void jit_stats_add(struct jit_stats *sum, const struct jit *jit);
/* Print a sum as a few "condo: jit: ..." lines on stderr (--jit-stats). */
void jit_stats_print(const struct jit_stats *sum);

#endif
