/* Inside condod's resource handlers: what they share (names, a tenant's
 * usage against its quota). */
#ifndef CONDO_CTL_API_H
#define CONDO_CTL_API_H

#include "ctl/ctl.h"

#define API_NAME_RULE                                                                      \
	"name is 1 to 63 characters: lower-case letters, digits, '-', '_' and '.', starting " \
	"with a letter or digit"

/* What a tenant's VMs hold now. */
struct tenant_usage {
	int64_t vms, vcpus, memory_mib, disk_bytes, snapshots;
};

#define VM_MAX_VCPUS 8
#define VM_MIN_MEMORY_MIB 16
#define VM_MAX_MEMORY_MIB (64 * 1024)
#define VM_MAX_DISK (1ll << 40)
#define VM_MAX_NICS 4 /* what a VMM's meter record counts (condo/meter.h) */

/* A VM to create (POST /v1/vms, or a restore). */
struct vm_spec {
	const char *name, *image, *restart, *tenant;
	json_int_t vcpus, memory_mib, disk_bytes;
	int start;
	char image_id[CTL_ID_LEN + 1];
	uint64_t image_size;
	json_t *nets;  /* the request's "networks" (borrowed), or NULL */
	char net_ids[VM_MAX_NICS * (CTL_ID_LEN + 1)]; /* "id,id": what the VM joins */
};

/* api_vms.c: check the quota and insert the VM (state 'creating') in one
 * transaction: 0, or an error in rep. */
int api_vm_admit(struct ctl *c, const struct vm_spec *s, const char *id, struct ctl_reply *rep);
/* The VM's directory and its disk, a qcow2 overlay of its image; on
 * failure the VM is removed.  0 or -errno. */
int api_vm_make_disk(struct ctl *c, const struct vm_spec *s, const char *id);
/* Its files and its row. */
void api_vm_remove(struct ctl *c, const char *tenant, const char *id);
void api_vm_set_state(struct ctl *c, const char *id, const char *state);

bool api_name_ok(const char *name);
/* Bind ?1 of st to whose rows the caller sees: its tenant, or "" for the
 * operator (all). */
void api_bind_viewer(sqlite3_stmt *st, const struct ctl_request *r);
/* 200 with the rows of sql as a list, each made by row: ?1 is bound by
 * api_bind_viewer, ?2 to arg (unless NULL).  The operator's list spans
 * every tenant's database when every_db. */
void api_list_rows(struct ctl *c, const struct ctl_request *r, struct ctl_reply *rep,
		   const char *sql, const char *arg, json_t *(*row)(sqlite3_stmt *st),
		   bool every_db);

/* api_snapshots.c: GET and POST /v1/vms/ID/snapshots. */
void api_vm_snapshots(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
		      const char *vm, const char *tenant, const char *state);
/* A VM's snapshots (files and rows), as the VM is deleted. */
void api_vm_drop_snapshots(struct ctl *c, const char *vm);
/* Check the tenant's snapshot quota and insert the row (state 'creating')
 * in one transaction: 0, or an error in rep. */
int api_snapshot_admit(struct ctl *c, const char *tenant, const char *vm, const char *name,
		       const char *id, struct ctl_reply *rep);
/* Mark it ready with its size: false when the row is gone (its VM was
 * deleted meanwhile). */
bool api_snapshot_set_ready(struct ctl *c, const char *id, int64_t bytes);
/* Its files (a flat directory) and its row. */
void api_snapshot_drop(struct ctl *c, const char *tenant, const char *id);
/* What a snapshot's files take on the host's disk. */
int64_t api_snapshot_bytes(const char *dir);
/* Where snapshot id of tenant lies: DATA/tenants/T/snapshots/ID. */
void api_snapshot_dir(const struct ctl *c, const char *tenant, const char *id, char *out,
		      size_t len);
/* api_networks.c: tenant's network by id or name into id: 0 or -ENOENT. */
int api_network_id(struct ctl *c, const char *tenant, const char *key, char id[CTL_ID_LEN + 1]);
/* Where image id lives in the store: DATA/images/ID.qcow2. */
void api_image_path(const struct ctl *c, const char *id, char *out, size_t len);
void api_tenant_usage(struct ctl *c, const char *tenant, struct tenant_usage *u);
/* How many VMs, of every tenant, lie on image. */
int64_t api_image_users(struct ctl *c, const char *image);

#endif
