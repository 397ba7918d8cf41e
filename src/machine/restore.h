/* Opening a snapshot to restore (restore.c), before the jail. */
#ifndef MACHINE_RESTORE_H
#define MACHINE_RESTORE_H

#include "condo/machine.h"

struct vm_restore;

/* The strings a restore or a migration puts into a vm_config (paths,
 * the command line, --net values), kept until the VM is gone. */
#define VM_STRINGS_MAX 64
struct vm_strings {
	char *s[VM_STRINGS_MAX];
	int n;
};
void vm_strings_free(struct vm_strings *p);

/* Read dir's manifest and state into rs, check them, and complete cfg
 * from the manifest: the board, the boot files (for a guest reset), the
 * engine (unless cfg->engine_given), the NICs (unless given), and each
 * disk on a new overlay (cfg's own --drive files name the overlays).
 * 0, or -1 after a one-line error naming the problem. */
int vm_restore_open(const char *dir, struct vm_config *cfg, struct vm_restore *rs,
		    struct vm_strings *keep);
void vm_restore_close(struct vm_restore *rs);

/* Complete cfg from a configuration as vm_config_json made it (a
 * manifest's, a migration's); where names it in errors (a snapshot's
 * directory, a migration's address). */
int vm_config_take(const char *where, void *json, struct vm_config *cfg, bool incoming,
		   struct vm_strings *keep);

/* --incoming: wait on uri for a migration's source and complete cfg from
 * its configuration (before the jail).  The stream's descriptor, or -1
 * after a one-line error. */
int vm_incoming_open(const char *uri, struct vm_config *cfg, struct vm_strings *keep);
struct vm;
/* In the built board: memory, disks and state off the stream, then the
 * acknowledgement.  0, or -1 after a one-line error. */
int vm_incoming_apply(struct vm *vm, int fd);

#endif
