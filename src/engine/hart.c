/* One hart set-up for app mode and VMs: the engine a hart runs with, its
 * translator, what happens when the hart drops decoded code, and the
 * engine's names and counters. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const engine_names[ENGINE_COUNT] = {
	[ENGINE_INTERP] = "interp", [ENGINE_JIT] = "jit", [ENGINE_LOCKSTEP] = "lockstep",
};

const char *engine_name(int kind)
{
	return kind >= 0 && kind < ENGINE_COUNT ? engine_names[kind] : "?";
}

int engine_parse(const char *name)
{
	for (int i = 0; i < ENGINE_COUNT; i++)
		if (!strcmp(name, engine_names[i]))
			return i;
	return -1;
}

/* The hart dropped block b (its page was written), or every block (b NULL). */
static void code_dropped(struct hart *hart, struct block *b)
{
	struct engine *eng = hart->engine;

	eng->drops++;
	if (b) {
		if (b->jit_entry && eng->jit)
			jit_invalidate(eng->jit, b);
		return;
	}
	eng->flushes++;
	if (eng->jit)
		jit_flush(eng->jit);
}

static void engine_free(struct hart *hart)
{
	struct engine *eng = hart->engine;

	lockstep_free(eng->ls);
	jit_free(eng->jit);
	free(eng);
	hart->engine = NULL;
	hart->engine_ops = NULL;
}

static const struct hart_engine_ops engine_ops = {
	.code_dropped = code_dropped,
	.free = engine_free,
};

int engine_setup_hart(struct hart *hart, int kind, uint64_t cache_bytes, uint64_t hot)
{
	struct engine *eng = calloc(1, sizeof(*eng));

	if (!eng)
		return -ENOMEM;
	if (hart->engine_ops)
		hart->engine_ops->free(hart);
	eng->kind = kind;
	eng->hot = hot ? (uint32_t)hot : JIT_HOT;
	eng->cache_bytes = cache_bytes;
	if (kind != ENGINE_INTERP) {
		eng->jit = jit_new(cache_bytes);
		if (!eng->jit)
			eng->kind = ENGINE_INTERP; /* no memory for code: interpret */
		else if (kind == ENGINE_LOCKSTEP)
			jit_set_movable_tlb(eng->jit);
	}
	hart->engine = eng;
	hart->engine_ops = &engine_ops;
	return 0;
}

struct hart *engine_hart_clone(const struct hart *parent)
{
	const struct engine *pe = parent->engine;
	struct hart *hart = hart_clone(parent);

	if (!hart || !pe)
		return hart;
	/* the same engine, with a translator of its own */
	if (engine_setup_hart(hart, pe->kind, pe->jit ? jit_cache_size(pe->jit) : pe->cache_bytes,
			      pe->hot) < 0) {
		hart_free(hart);
		return NULL;
	}
	return hart;
}

struct jit *engine_jit(const struct hart *hart)
{
	return hart->engine ? hart->engine->jit : NULL;
}

void engine_stats_add(struct engine_stats *sum, const struct hart *hart)
{
	const struct engine *eng = hart->engine;

	if (!eng)
		return;
	jit_stats_add(&sum->jit, eng->jit);
	for (int i = 0; i < LEAVE_COUNT; i++)
		sum->leave[i] += eng->stats.leave[i];
	sum->traps += eng->stats.traps;
	sum->page_faults += eng->stats.page_faults;
	sum->interrupts += eng->stats.interrupts;
	sum->polls += eng->stats.polls;
	sum->lockstep_spans += eng->stats.lockstep_spans;
	sum->lockstep_insns += eng->stats.lockstep_insns;
	sum->lockstep_skipped += eng->stats.lockstep_skipped;
}

static const char *const leave_names[LEAVE_COUNT] = {
	[LEAVE_COLD] = "to cold code", [LEAVE_UNCHAINED] = "not chained yet",
	[LEAVE_INDIRECT] = "jalr table misses", [LEAVE_INDIRECT_COLD] = "jalr to cold code", [LEAVE_PENDING] = "requests",
	[LEAVE_BUDGET] = "budget", [LEAVE_ECALL] = "ecall", [LEAVE_SRET] = "sret",
	[LEAVE_MRET] = "mret", [LEAVE_WFI] = "wfi", [LEAVE_SFENCE] = "sfence.vma",
	[LEAVE_FENCE_I] = "fence.i", [LEAVE_CSR] = "time/mip/sip", [LEAVE_OTHER] = "other",
	[LEAVE_TRAP] = "traps",
};

void engine_stats_print(const struct engine_stats *s)
{
	uint64_t all = 0;

	jit_stats_print(&s->jit);
	for (int i = 0; i < LEAVE_COUNT; i++)
		all += s->leave[i];
	if (all) {
		fprintf(stderr, "condo: jit: compiled code left %llu times:", (unsigned long long)all);
		for (int i = 0; i < LEAVE_COUNT; i++)
			if (s->leave[i])
				fprintf(stderr, " %s %llu,", leave_names[i],
					(unsigned long long)s->leave[i]);
		fputc('\n', stderr);
	}
	if (s->traps || s->interrupts || s->polls)
		fprintf(stderr, "condo: engine: %llu exceptions taken (%llu page faults), %llu "
			"interrupts, %llu timer polls\n",
			(unsigned long long)s->traps, (unsigned long long)s->page_faults,
			(unsigned long long)s->interrupts, (unsigned long long)s->polls);
	if (s->lockstep_spans || s->lockstep_skipped)
		fprintf(stderr, "condo: jit: lockstep compared %llu stretches of %llu instructions "
			"in all with the interpreter (%llu not comparable: devices, faults, "
			"interrupts)\n",
			(unsigned long long)s->lockstep_spans, (unsigned long long)s->lockstep_insns,
			(unsigned long long)s->lockstep_skipped);
}
