/* The engine's state per hart, shared by its run loop (run.c), its hart
 * set-up (hart.c) and lockstep (lockstep.c). */
#ifndef ENGINE_INTERNAL_H
#define ENGINE_INTERNAL_H

#include "condo/engine.h"
#include "cpu/block.h"

struct lockstep;

struct engine {
	int kind;            /* enum engine_kind */
	struct jit *jit;     /* NULL: interpret only */
	uint32_t hot;        /* interpreted runs before a block is compiled (>= 1) */
	uint64_t cache_bytes;
	/* Bumped whenever the block cache is emptied: block pointers taken
	 * before are dead (their memory is reused). */
	uint64_t flushes;
	/* Bumped whenever any decoded code is dropped (a flush, a written
	 * page): code may have changed under a run. */
	uint64_t drops;
	/* The last block entered as compiled code (lockstep names it in its
	 * report), valid while flushes is flushes_at_last. */
	struct block *last_compiled;
	uint64_t flushes_at_last;
	/* System mode: instructions between timer polls, planned at each
	 * poll from the nearest deadline and the rate the hart ran at
	 * (run.c); the instret of the next poll, kept across engine_loop
	 * calls (lockstep's spans and SBI calls are shorter than a poll
	 * interval); and the time and instret the rate is measured from. */
	uint64_t poll_insns;
	uint64_t poll_next;
	uint64_t poll_time, poll_instret;
	uint64_t rate; /* instructions per 2^16 timebase ticks, 0: not known */
	struct lockstep *ls; /* ENGINE_LOCKSTEP: created at its first use */
	struct engine_stats stats; /* the lockstep counters; jit's are its own */
};

/* How engine_loop may run code. */
enum {
	RUN_COMPILED = 1, /* compile hot blocks and run compiled code */
	/* Lockstep's runs on a private TLB and shadow pages: they never take
	 * interrupts, leave stop and flush requests pending (returning
	 * RUN_PENDING) and stop before instructions two runs cannot agree on
	 * (RUN_BOUNDARY): mret, sret, wfi, fences of code and TLB, CSRs that
	 * change by themselves. */
	RUN_SHADOW = 2,
};
/* engine_loop's results besides enum cpu_exit (RUN_SHADOW only); pc and
 * instret are exact at an instruction boundary. */
enum { RUN_PENDING = 100, RUN_BOUNDARY };

/* The run loop: until the hart's insn_limit, an ecall, a trap the
 * environment handles (app mode), a stop request; see RUN_*. */
int engine_loop(struct hart *hart, struct engine *eng, unsigned flags);

/* ENGINE_LOCKSTEP's engine_run (lockstep.c). */
enum cpu_exit lockstep_run(struct hart *hart, struct engine *eng);
void lockstep_free(struct lockstep *ls);

#endif
