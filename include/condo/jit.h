/* The dynamic binary translator (RISC-V to x86-64) as the interpreter sees
 * it: hot decoded blocks are compiled once and then run as host code.
 * The interpreter stays the reference (see docs/jit.md). */
#ifndef CONDO_JIT_H
#define CONDO_JIT_H

#include "condo/types.h"

struct hart;
struct block;
struct jit;

/* Engines a hart can run with (--engine). */
enum cpu_engine { ENGINE_INTERP, ENGINE_JIT, ENGINE_LOCKSTEP };

/* What compiled code returns.  On JIT_EXIT_FALLTHROUGH / JIT_EXIT_TAKEN the
 * block ran to its end: hart->pc is the next pc and instret has NOT been
 * added (the caller adds the block's count, as for interpreted blocks).  On
 * JIT_EXIT_TRAP the trap fields are set, hart->pc is the faulting
 * instruction and hart->instret counts exactly the instructions before it. */
enum jit_exit { JIT_EXIT_FALLTHROUGH = 0, JIT_EXIT_TAKEN = 1, JIT_EXIT_TRAP = 2 };

typedef int (*jit_block_fn)(struct hart *hart);

/* Blocks run this many times in the interpreter before being compiled. */
#define JIT_HOT 16

/* A translator with a code cache of cache_bytes (0: the default). */
struct jit *jit_new(size_t cache_bytes);
void jit_free(struct jit *jit);
/* Compiled code for the block, or NULL when it cannot be compiled (an
 * operation the translator leaves to the interpreter, or a full cache). */
jit_block_fn jit_compile(struct jit *jit, struct hart *hart, struct block *block);
/* Forget all compiled code (the decoded blocks are being dropped). */
void jit_flush(struct jit *jit);

#endif
