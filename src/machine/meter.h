/* Inside src/machine: the VMM's side of metering (meter.c). */
#ifndef MACHINE_METER_H
#define MACHINE_METER_H

#include "condo/block.h"
#include "condo/cpu.h"
#include "condo/evloop.h"
#include "condo/machine.h"
#include "condo/meter.h"

#include <pthread.h>

/* Once a second, on the event loop: the meter file written, and the CPU
 * limit file (condod's, --cpu-limit-file) read. */
struct meter {
	int fd, timer;          /* -1: no --meter; no timer without either file */
	int limit_fd;           /* --cpu-limit-file, or -1 */
	uint32_t *cpu_mcores;   /* where a new limit goes (the VM's) */
	pthread_mutex_t lock;
	struct meter_record rec;
	uint64_t start_ns;
	struct hart *harts[VM_MAX_CPUS];
	uint64_t last[VM_MAX_CPUS]; /* each hart's instret at the last count */
	int ncpus;              /* of the boot running now; 0 between boots */
	struct block_dev *const *disks;
	int ndisks;
	struct net_nic *const *nics; /* open for the VMM's life */
	int nnics;
};

/* Open FILE (path NULL: no metering), the CPU limit file (NULL: none)
 * and the timer, before the jail. */
int meter_open(struct meter *m, const char *path, const char *limit_path);
/* Count this boot's harts, once a second on loop's thread. */
int meter_attach(struct meter *m, struct evloop *loop, struct hart *const *harts, int ncpus);
/* The boot ends: its last count. */
void meter_detach(struct meter *m);
void meter_write(struct meter *m);
void meter_close(struct meter *m);

#endif
