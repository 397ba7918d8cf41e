/* Inside src/machine: the hart threads' CPU limit (cpulimit.c). */
#ifndef MACHINE_CPULIMIT_H
#define MACHINE_CPULIMIT_H

#include "condo/machine.h"

#include <stdint.h>

/* Instructions between two looks at the bucket (a few ms of guest code). */
#define CPULIMIT_SLICE 4000000
/* The most CPU time a hart may bank while it waits (seconds). */
#define CPULIMIT_BURST 0.05

struct cpulimit_hart {
	uint64_t wall, cpu; /* at the end of the last slice, ns */
	double tokens;      /* CPU seconds the hart may still use */
};

void cpulimit_start(struct cpulimit_hart *c);
/* At the end of a slice, on the hart's thread: sleep off what it used
 * beyond its rate.  mcores_per_hart 0: no limit. */
void cpulimit_slice_end(struct cpulimit_hart *c, uint32_t mcores_per_hart);

#endif
