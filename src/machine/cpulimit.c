/* condo run --cpu-limit: a bound on the host CPU time the VM's harts use,
 * enforced by condo itself with a token bucket per hart thread.
 *
 * The limit is in host cores for the whole VM (0.5: half of one core),
 * shared evenly by its harts.  Each hart runs in slices of CPULIMIT_SLICE
 * instructions (the engine's instruction budget); at the end of a slice it
 * adds the wall time since the last slice times its rate to its bucket
 * (at most CPULIMIT_BURST seconds' worth), takes out the thread CPU time
 * the slice used, and sleeps off any debt.  A hart waiting in WFI uses no
 * CPU time and is not held back.  The limit may change while the VM runs
 * (condod writes --cpu-limit-file; the event loop reads it every second). */
#include "machine/cpulimit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void cpulimit_start(struct cpulimit_hart *c)
{
	c->wall = clock_ns(CLOCK_MONOTONIC);
	c->cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	c->tokens = CPULIMIT_BURST;
}

void cpulimit_slice_end(struct cpulimit_hart *c, uint32_t mcores_per_hart)
{
	uint64_t wall = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	double rate = mcores_per_hart / 1000.0; /* CPU seconds per second */

	/* Earned since the last look (the last sleep included), then spent. */
	c->tokens += (double)(wall - c->wall) / 1e9 * rate;
	if (c->tokens > CPULIMIT_BURST)
		c->tokens = CPULIMIT_BURST;
	c->tokens -= (double)(cpu - c->cpu) / 1e9;
	c->wall = wall;
	c->cpu = cpu;
	if (c->tokens < 0 && rate > 0) {
		/* Sleep the debt off; a sleep cut short by a signal is simply
		 * less earned at the next look. */
		double debt = -c->tokens / rate;
		struct timespec t = { (time_t)debt, (long)((debt - floor(debt)) * 1e9) };
		nanosleep(&t, NULL);
	}
}

int cpulimit_parse(const char *s, uint32_t *mcores)
{
	char *end;
	double cores = strtod(s, &end);

	while (*end == ' ' || *end == '\n')
		end++;
	if (end == s || *end || !(cores >= 0.01) || cores > 1024)
		return -1;
	*mcores = (uint32_t)(cores * 1000 + 0.5);
	return 0;
}
