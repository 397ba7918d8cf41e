/* The translator's report (--jit-stats): what the cache
 * holds and what translating cost, for users sizing --jit-cache and for
 * the benchmarks. */
#include "condo/jit.h"

#include <stdio.h>

void jit_stats_add(struct jit_stats *sum, const struct jit *jit)
{
	struct jit_stats s;

	if (!jit)
		return;
	jit_stats(jit, &s);
	sum->blocks_compiled += s.blocks_compiled;
	sum->blocks_rejected += s.blocks_rejected;
	sum->trace_blocks += s.trace_blocks;
	sum->insns_compiled += s.insns_compiled;
	sum->translate_ns += s.translate_ns;
	sum->code_bytes += s.code_bytes;
	sum->flushes += s.flushes;
	sum->invalidations += s.invalidations;
	sum->direct_faults += s.direct_faults;
	sum->chains += s.chains;
	sum->runs += s.runs;
	sum->cache_bytes += s.cache_bytes;
	sum->host_bytes += s.host_bytes;
}

void jit_stats_print(const struct jit_stats *s)
{
	if (!s->cache_bytes) {
		fprintf(stderr, "condo: jit: no translator ran (--engine interp)\n");
		return;
	}
	double per_insn = s->insns_compiled ? (double)s->translate_ns / (double)s->insns_compiled : 0;

	fprintf(stderr,
		"condo: jit: %llu blocks compiled (with %llu more in traces, %llu guest "
		"instructions; %llu left to the interpreter), %.0f ns per guest instruction "
		"translated, %.1f ms in all\n",
		(unsigned long long)s->blocks_compiled, (unsigned long long)s->trace_blocks,
		(unsigned long long)s->insns_compiled,
		(unsigned long long)s->blocks_rejected, per_insn, (double)s->translate_ns / 1e6);
	fprintf(stderr,
		"condo: jit: cache holds %llu KiB of host memory (bound %llu KiB), %llu KiB of code "
		"emitted, %llu flushes, %llu blocks invalidated by stores\n",
		(unsigned long long)(s->host_bytes >> 10), (unsigned long long)(s->cache_bytes >> 10),
		(unsigned long long)(s->code_bytes >> 10), (unsigned long long)s->flushes,
		(unsigned long long)s->invalidations);
	fprintf(stderr, "condo: jit: %llu chains patched, %llu entries from the engine\n",
		(unsigned long long)s->chains, (unsigned long long)s->runs);
	if (s->direct_faults)
		fprintf(stderr, "condo: jit: %llu direct guest accesses faulted into their slow "
			"path (protections, code pages)\n",
			(unsigned long long)s->direct_faults);
}
