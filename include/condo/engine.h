/* The engine: what runs a hart.  It owns the run loop — finding the block
 * at the pc, counting how hot blocks are, having the translator compile
 * the hot ones, running compiled code, chaining, budgets, stop and flush
 * requests, traps in system mode — and lockstep, which checks compiled
 * code against the interpreter.  src/cpu interprets one block at a time,
 * src/jit compiles; neither drives the loop (docs/jit.md). */
#ifndef CONDO_ENGINE_H
#define CONDO_ENGINE_H

#include "condo/cpu.h"
#include "condo/jit.h"

/* Engines a hart can run with (--engine); ENGINE_JIT is the default. */
enum engine_kind { ENGINE_INTERP, ENGINE_JIT, ENGINE_LOCKSTEP, ENGINE_COUNT };
#define ENGINE_DEFAULT ENGINE_JIT

/* "interp", "jit", "lockstep"; and back (-1: no such engine). */
const char *engine_name(int kind);
int engine_parse(const char *name);

/* Give a hart its engine: kind, and unless it is ENGINE_INTERP a translator
 * with a code cache of cache_bytes (0: JIT_CACHE_DEFAULT) compiling a block
 * after hot interpreted runs (0: JIT_HOT).  Without the memory for a
 * translator the hart interprets.  0, or -ENOMEM.  hart_free frees it. */
int engine_setup_hart(struct hart *hart, int kind, uint64_t cache_bytes, uint64_t hot);
/* hart_clone, with an engine like the parent's (a code cache is per hart). */
struct hart *engine_hart_clone(const struct hart *parent);

/* Run until an exit condition; see enum cpu_exit.  A hart without an
 * engine gets the interpreter. */
enum cpu_exit engine_run(struct hart *hart);

/* The hart's translator (NULL: it interprets). */
struct jit *engine_jit(const struct hart *hart);

/* Exit status of condo when lockstep found a difference. */
#define ENGINE_LOCKSTEP_EXIT 3

/* Why compiled code handed control back to the engine (--jit-stats),
 * and what the engine did between blocks. */
enum engine_leave {
	LEAVE_COLD,      /* a direct exit to a block with no compiled code */
	LEAVE_UNCHAINED, /* a direct exit to compiled code not chained yet (chained now) */
	LEAVE_INDIRECT,  /* a jalr to compiled code the indirect-jump table lacked */
	LEAVE_INDIRECT_COLD, /* a jalr to a block with no compiled code */
	LEAVE_PENDING,   /* a stop, flush or interrupt request */
	LEAVE_BUDGET,    /* the budget: a timer poll or --max-insns */
	LEAVE_ECALL,     /* the block's last instruction, left to the interpreter: */
	LEAVE_SRET,
	LEAVE_MRET,
	LEAVE_WFI,
	LEAVE_SFENCE,
	LEAVE_FENCE_I,
	LEAVE_CSR,       /* time, mip, sip */
	LEAVE_OTHER,     /* ebreak, illegal */
	LEAVE_TRAP,      /* a trap in compiled code (page faults, ...) */
	LEAVE_COUNT
};

/* Counters for reports (--jit-stats). */
struct engine_stats {
	struct jit_stats jit;
	uint64_t leave[LEAVE_COUNT];
	uint64_t traps;        /* exceptions taken (system mode), all engines */
	uint64_t page_faults;  /* of them, page faults */
	uint64_t interrupts;   /* interrupts taken */
	uint64_t polls;        /* timer polls */
	uint64_t lockstep_spans;    /* stretches of code compared */
	uint64_t lockstep_insns;    /* instructions in them */
	uint64_t lockstep_skipped;  /* stretches not comparable (devices, faults, interrupts) */
};
/* Add one hart's counters to a sum. */
void engine_stats_add(struct engine_stats *sum, const struct hart *hart);
/* Print a sum as a few "condo: jit: ..." lines on stderr. */
void engine_stats_print(const struct engine_stats *sum);

#endif
