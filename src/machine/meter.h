/* Inside src/machine: the VMM's side of metering (meter.c). */
#ifndef MACHINE_METER_H
#define MACHINE_METER_H

#include "condo/block.h"
#include "condo/cpu.h"
#include "condo/evloop.h"
#include "condo/machine.h"
#include "condo/meter.h"

#include <pthread.h>

struct meter {
	int fd, timer;          /* -1: no --meter */
	pthread_mutex_t lock;
	struct meter_record rec;
	uint64_t start_ns;
	struct hart *harts[VM_MAX_CPUS];
	uint64_t last[VM_MAX_CPUS]; /* each hart's instret at the last count */
	int ncpus;              /* of the boot running now; 0 between boots */
	struct block_dev *const *disks;
	int ndisks;
};

/* Open FILE (path NULL: no metering) and the timer, before the jail. */
int meter_open(struct meter *m, const char *path);
/* Count this boot's harts, once a second on loop's thread. */
int meter_attach(struct meter *m, struct evloop *loop, struct hart *const *harts, int ncpus);
/* The boot ends: its last count. */
void meter_detach(struct meter *m);
void meter_write(struct meter *m);
void meter_close(struct meter *m);

#endif
