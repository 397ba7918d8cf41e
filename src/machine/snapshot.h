/* Snapshots and migration of the board (snapshot.c, restore.c,
 * migrate.c): the sections of plain-data state and the commands of the
 * control socket that make them.  The files themselves are
 * condo/snapshot.h's. */
#ifndef MACHINE_SNAPSHOT_H
#define MACHINE_SNAPSHOT_H

#include "condo/snapshot.h"
#include "condo/state.h"
#include "machine/vm.h"

#include <jansson.h>

/* {"ok": false, "error": why} */
json_t *control_error(const char *why);

/* The state of a paused VM: the board and harts into cpu, every device
 * on the bus into devs. */
void vm_state_save(struct vm *vm, struct state_buf *cpu, struct state_buf *devs);
/* Into a board built from the same configuration, with its memory in
 * place.  0, or -1 with the buffer failed (its why says what). */
int vm_state_load(struct vm *vm, struct state_buf *cpu, struct state_buf *devs);

/* The VM's configuration as a manifest carries it (drive paths absolute). */
json_t *vm_config_json(const struct vm *vm);

/* control socket commands (docs/control.md) */
json_t *vm_snapshot_command(struct vm *vm, struct control_req *r);
json_t *vm_migrate_command(struct vm *vm, struct control_req *r);

/* What a restore brings into the board (restore.c), opened before the
 * jail; vm->restore during the first boot. */
struct vm_restore {
	int mem_fd;          /* memory.raw or memory.zst */
	bool compressed;
	uint8_t *state;      /* state.bin, whole, checked against the manifest */
	size_t cpu_off, cpu_len, devs_off, devs_len, index_off, index_len;
	uint64_t *map;       /* pages the memory file holds */
	struct snapshot_run *runs; /* compressed: where each run's frame lies */
	size_t nruns;
	uint32_t mem_crc;
	bool verify;         /* read and check the whole memory file first */
	int uffd;            /* compressed: a userfaultfd to restore lazily (-1: none) */
	bool applied;        /* the first boot has resumed it */
};

/* Put the restored memory and state into a built board (instead of
 * booting).  0, or -1 after a one-line error. */
int vm_restore_apply(struct vm *vm, const struct vm_restore *rs);

#endif
