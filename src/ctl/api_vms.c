/* /v1/vms: a tenant's virtual machines.
 *   POST   /v1/vms                   create {name, image[, vcpus][, memory_mib]
 *                                    [, disk_bytes][, restart][, start][, tenant]}
 *   GET    /v1/vms[/ID]              the caller's tenant's (operator: all)
 *   POST   /v1/vms/ID/ACTION         start, stop, pause, resume, reboot
 *   GET    /v1/vms/ID/console        the console's output (console.c)
 *   POST   /v1/vms/ID/console        input to the console {input}
 *   DELETE /v1/vms/ID                stop it and delete its disk
 * Creating checks the tenant's quota and reserves the VM's share of it in
 * one database transaction, so concurrent creates cannot overshoot it.
 * The VM's disk is a qcow2 overlay of the image, in the tenant's directory
 * (DATA/tenants/T/vms/V/disk.qcow2). */
#include "ctl/api.h"
#include "condo/block.h"
#include "condo/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


static json_t *vm_json(sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:I,s:I}", "id",
			      sqlite3_column_text(st, 0), "tenant", sqlite3_column_text(st, 1),
			      "name", sqlite3_column_text(st, 2), "image",
			      sqlite3_column_text(st, 3), "vcpus",
			      (json_int_t)sqlite3_column_int64(st, 4), "memory_mib",
			      (json_int_t)sqlite3_column_int64(st, 5), "disk_bytes",
			      (json_int_t)sqlite3_column_int64(st, 6), "state",
			      sqlite3_column_text(st, 7), "restart", sqlite3_column_text(st, 8),
			      "restarts", (json_int_t)sqlite3_column_int64(st, 10), "created",
			      (json_int_t)sqlite3_column_int64(st, 11));

	const char *nets = (const char *)sqlite3_column_text(st, 12);
	json_t *list = json_array();

	json_object_set_new(o, "exit_status",
			    sqlite3_column_type(st, 9) == SQLITE_NULL
				    ? json_null()
				    : json_integer(sqlite3_column_int64(st, 9)));
	/* "a,b": network ids */
	for (const char *p = nets; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0))
		json_array_append_new(list, json_stringn(p, strcspn(p, ",")));
	json_object_set_new(o, "networks", list);
	return o;
}

#define VM_COLS                                                                             \
	"id, tenant_id, name, image_id, vcpus, memory_mib, disk_bytes, state, restart, "   \
	"exit_status, restarts, created, networks"
/* The caller's tenant's VMs; the operator's: all. */
#define VM_VISIBLE "(?1 = '' OR tenant_id = ?1)"

/* The operator's list spans every tenant's database (tenants in id order). */
static void list_vms(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	api_list_rows(c, r, rep, "SELECT " VM_COLS " FROM vms WHERE " VM_VISIBLE
				 " ORDER BY tenant_id, name", NULL, vm_json, true);
}

/* The VM's tenant and state, when the caller may see it. */
static bool find_vm(struct ctl *c, const struct ctl_request *r, const char *id, char *tenant,
		    char *state, size_t len)
{
	sqlite3_stmt *st;
	bool found;

	/* The operator's request turns to the database that holds it. */
	if (r->caller.role == ROLE_OPERATOR && !store_find_vm(c, id))
		return false;
	st = store_prepare(c, "SELECT tenant_id, state FROM vms WHERE " VM_VISIBLE " AND id = ?2");
	if (!st)
		return false;
	api_bind_viewer(st, r);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(tenant, CTL_ID_LEN + 1, "%s", sqlite3_column_text(st, 0));
		snprintf(state, len, "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return found;
}

static void get_vm(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep, const char *id,
		   int status)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT " VM_COLS " FROM vms WHERE " VM_VISIBLE
					    " AND id = ?2");

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	api_bind_viewer(st, r);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		reply_json(rep, status, vm_json(st));
	else
		reply_error(rep, 404, "not_found", "no VM %s", id);
	sqlite3_finalize(st);
}

static bool parse_spec(struct ctl_request *r, struct vm_spec *s, struct ctl_reply *rep)
{
	json_error_t err;

	if (!r->body || json_unpack_ex(r->body, &err, JSON_STRICT,
				       "{s:s,s:s,s?I,s?I,s?I,s?s,s?b,s?s,s?o}", "name", &s->name,
				       "image", &s->image, "vcpus", &s->vcpus, "memory_mib",
				       &s->memory_mib, "disk_bytes", &s->disk_bytes, "restart",
				       &s->restart, "start", &s->start, "tenant", &s->tenant,
				       "networks", &s->nets) < 0) {
		reply_error(rep, 400, "bad_request", "%s",
			    r->body ? err.text : "a JSON body with name and image is needed");
		return false;
	}
	if (!api_name_ok(s->name)) {
		reply_error(rep, 400, "bad_request", API_NAME_RULE);
		return false;
	}
	if (s->nets && (!json_is_array(s->nets) || json_array_size(s->nets) > VM_MAX_NICS)) {
		reply_error(rep, 400, "bad_request", "networks is a list of at most %d names",
			    VM_MAX_NICS);
		return false;
	}
	if (s->vcpus < 1 || s->vcpus > VM_MAX_VCPUS || s->memory_mib < VM_MIN_MEMORY_MIB ||
	    s->memory_mib > VM_MAX_MEMORY_MIB || s->disk_bytes < 0 || s->disk_bytes > VM_MAX_DISK) {
		reply_error(rep, 400, "bad_request",
			    "vcpus is 1 to %d, memory_mib %d to %d, disk_bytes at most 1 TiB",
			    VM_MAX_VCPUS, VM_MIN_MEMORY_MIB, VM_MAX_MEMORY_MIB);
		return false;
	}
	if (strcmp(s->restart, "never") && strcmp(s->restart, "on-failure") &&
	    strcmp(s->restart, "always")) {
		reply_error(rep, 400, "bad_request", "restart is never, on-failure or always");
		return false;
	}
	/* Whose VM: the caller's tenant; the operator names one. */
	if (r->caller.role != ROLE_OPERATOR && s->tenant && strcmp(s->tenant, r->caller.tenant)) {
		reply_error(rep, 404, "not_found", "no tenant %s", s->tenant);
		return false;
	}
	if (r->caller.role == ROLE_OPERATOR && !s->tenant) {
		reply_error(rep, 400, "bad_request", "the operator names the VM's tenant");
		return false;
	}
	if (!s->tenant)
		s->tenant = r->caller.tenant;
	return true;
}

/* The networks named, each the VM's tenant's (another's is 404, as if
 * it did not exist), as "id,id" in s->net_ids. */
static bool network_ids(struct ctl *c, struct vm_spec *s, struct ctl_reply *rep)
{
	size_t i, n = 0;
	json_t *v;

	s->net_ids[0] = '\0';
	json_array_foreach(s->nets, i, v) {
		char id[CTL_ID_LEN + 1];
		const char *key = json_string_value(v);

		if (!key) {
			reply_error(rep, 400, "bad_request", "networks holds names or ids");
			return false;
		}
		if (api_network_id(c, s->tenant, key, id) < 0) {
			reply_error(rep, 404, "not_found", "no network %s", key);
			return false;
		}
		if (strstr(s->net_ids, id)) {
			reply_error(rep, 400, "bad_request", "network %s is named twice", key);
			return false;
		}
		n += (size_t)snprintf(s->net_ids + n, sizeof(s->net_ids) - n, "%s%s", i ? "," : "",
				      id);
	}
	return true;
}

/* The image by id or name, among those the VM's tenant may use. */
static bool find_image(struct ctl *c, struct vm_spec *s)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT id, size FROM images WHERE (tenant_id IS NULL "
					    "OR tenant_id = ?1) AND (id = ?2 OR name = ?2) AND "
					    "state = 'ready' ORDER BY tenant_id IS NULL LIMIT 1");
	bool found;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, s->tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, s->image, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(s->image_id, sizeof(s->image_id), "%s", sqlite3_column_text(st, 0));
		s->image_size = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return found;
}

int api_vm_admit(struct ctl *c, const struct vm_spec *s, const char *id, struct ctl_reply *rep)
{
	struct tenant_usage u;
	sqlite3_stmt *st;
	int64_t q[4];
	int rc;

	if (store_exec(c, "BEGIN IMMEDIATE") < 0) {
		reply_error(rep, 503, "busy", "the store is busy; retry");
		return -EBUSY;
	}
	st = store_prepare(c, "SELECT quota_vms, quota_vcpus, quota_memory_mib, quota_disk_bytes "
			      "FROM tenants WHERE id = ?");
	rc = st ? (sqlite3_bind_text(st, 1, s->tenant, -1, SQLITE_TRANSIENT), sqlite3_step(st))
		: SQLITE_ERROR;
	for (int i = 0; i < 4 && rc == SQLITE_ROW; i++)
		q[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		store_exec(c, "ROLLBACK");
		reply_error(rep, 404, "not_found", "no tenant %s", s->tenant);
		return -ENOENT;
	}
	api_tenant_usage(c, s->tenant, &u);
	if (u.vms + 1 > q[0] || u.vcpus + s->vcpus > q[1] || u.memory_mib + s->memory_mib > q[2] ||
	    u.disk_bytes + s->disk_bytes > q[3]) {
		store_exec(c, "ROLLBACK");
		reply_error(rep, 409, "quota_exceeded",
			    "tenant quota: %lld of %lld VMs, %lld of %lld vCPUs, %lld of %lld MiB, "
			    "%lld of %lld disk bytes in use",
			    (long long)u.vms, (long long)q[0], (long long)u.vcpus, (long long)q[1],
			    (long long)u.memory_mib, (long long)q[2], (long long)u.disk_bytes,
			    (long long)q[3]);
		return -EDQUOT;
	}
	st = store_prepare(c, "INSERT INTO vms (id, tenant_id, name, image_id, vcpus, memory_mib, "
			      "disk_bytes, state, restart, created, networks) VALUES (?, ?, ?, ?, "
			      "?, ?, ?, 'creating', ?, ?, ?)");
	if (st) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, s->tenant, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, s->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, s->image_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, s->vcpus);
		sqlite3_bind_int64(st, 6, s->memory_mib);
		sqlite3_bind_int64(st, 7, s->disk_bytes);
		sqlite3_bind_text(st, 8, s->restart, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 9, (sqlite3_int64)time(NULL));
		sqlite3_bind_text(st, 10, s->net_ids, -1, SQLITE_TRANSIENT);
	}
	rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_exec(c, "ROLLBACK");
		if (rc == SQLITE_CONSTRAINT)
			reply_error(rep, 409, "exists", "a VM named %s exists", s->name);
		else
			reply_error(rep, 500, "store", "the store failed");
		return -EIO;
	}
	return store_exec(c, "COMMIT") < 0 ? (reply_error(rep, 500, "store", "the store failed"),
					      -EIO)
					   : 0;
}

void api_vm_set_state(struct ctl *c, const char *id, const char *state)
{
	sqlite3_stmt *st = store_prepare(c, "UPDATE vms SET state = ? WHERE id = ?");

	if (!st)
		return;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static void remove_vm_files(const char *dir)
{
	char path[4600];
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) < 0)
			rmdir(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void delete_row(struct ctl *c, const char *id)
{
	static const char *const sql[] = { "DELETE FROM vms WHERE id = ?",
					   "DELETE FROM vm_uids WHERE vm_id = ?" };

	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = store_prepare(c, sql[i]);
		if (!st)
			continue;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
}

int api_vm_make_disk(struct ctl *c, const struct vm_spec *s, const char *id)
{
	char dir[4200], disk[4300], image[4200];

	vmm_dir(c, s->tenant, id, dir, sizeof(dir));
	snprintf(disk, sizeof(disk), "%s/disk.qcow2", dir);
	api_image_path(c, s->image_id, image, sizeof(image));
	if (mkdir_all(dir, 0700) < 0 ||
	    block_create(disk, BLOCK_FORMAT_QCOW2, (uint64_t)s->disk_bytes, image,
			 BLOCK_FORMAT_QCOW2) < 0) {
		api_vm_remove(c, s->tenant, id);
		return -EIO;
	}
	return 0;
}

void api_vm_remove(struct ctl *c, const char *tenant, const char *id)
{
	char dir[4200];

	vmm_dir(c, tenant, id, dir, sizeof(dir));
	remove_vm_files(dir);
	api_vm_drop_snapshots(c, id);
	delete_row(c, id);
}

static void create_vm(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	struct vm_spec s = { .restart = "never", .vcpus = 1, .memory_mib = 128, .start = 1 };
	char id[CTL_ID_LEN + 1];

	if (r->caller.role < ROLE_TENANT_USER)
		return reply_error(rep, 403, "forbidden", "creating VMs needs tenant-user");
	if (!parse_spec(r, &s, rep))
		return;
	if (!store_tenant_exists(c, s.tenant))
		return reply_error(rep, 404, "not_found", "no tenant %s", s.tenant);
	if (store_use(c, s.tenant) < 0)
		return reply_error(rep, 500, "store", "the tenant's database cannot be opened");
	if (!network_ids(c, &s, rep))
		return;
	if (!find_image(c, &s))
		return reply_error(rep, 404, "not_found", "no image %s", s.image);
	if (!s.disk_bytes)
		s.disk_bytes = (json_int_t)s.image_size;
	if ((uint64_t)s.disk_bytes < s.image_size)
		return reply_error(rep, 400, "bad_request",
				   "disk_bytes is at least the image's size, %llu",
				   (unsigned long long)s.image_size);
	store_new_id(id);
	if (api_vm_admit(c, &s, id, rep) < 0)
		return;
	if (api_vm_make_disk(c, &s, id) < 0)
		return reply_error(rep, 500, "disk", "cannot create the VM's disk");
	api_vm_set_state(c, id, "stopped");
	if (s.start && vmm_start(c, id) < 0)
		api_vm_set_state(c, id, "crashed");
	get_vm(c, r, rep, id, 201);
}

static void delete_vm(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
		      const char *id, const char *tenant)
{

	if (vmm_stop(c, id, true) < 0)
		return reply_error(rep, 500, "stop_failed", "the VM's VMM did not stop");
	api_vm_remove(c, tenant, id);
	reply_json(rep, 200, json_pack("{s:s}", "deleted", id));
}

static void action(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep, const char *id,
		   const char *state, const char *act)
{
	bool running = !strcmp(state, "running"), paused = !strcmp(state, "paused");
	int err = 0;

	if (!strcmp(act, "start")) {
		if (running || paused)
			return reply_error(rep, 409, "bad_state", "VM %s is %s", id, state);
		err = vmm_start(c, id);
	} else if (!strcmp(act, "stop")) {
		err = vmm_stop(c, id, false);
	} else if (!strcmp(act, "reboot")) {
		err = vmm_stop(c, id, false);
		if (!err)
			err = vmm_start(c, id);
	} else if (!strcmp(act, "pause") || !strcmp(act, "resume")) {
		bool pause = !strcmp(act, "pause");
		if (pause ? !running : !paused)
			return reply_error(rep, 409, "bad_state", "VM %s is %s", id, state);
		err = vmm_signal(c, id, pause);
		if (err == -EBUSY)
			return reply_error(rep, 409, "busy", "VM %s is being snapshotted; retry", id);
	} else {
		return reply_error(rep, 404, "not_found", "no action %s", act);
	}
	if (err)
		return reply_error(rep, 500, "vmm", "%s %s failed: %s", act, id, strerror(-err));
	get_vm(c, r, rep, id, 200);
}

void api_vms(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *m = r->method;
	char tenant[CTL_ID_LEN + 1], state[32];

	if (r->nseg == 2 && !strcmp(m, "GET"))
		return list_vms(c, r, rep);
	if (r->nseg == 2 && !strcmp(m, "POST"))
		return create_vm(c, r, rep);
	if (r->nseg < 3 || r->nseg > 4)
		return reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
	if (!find_vm(c, r, r->seg[2], tenant, state, sizeof(state)))
		return reply_error(rep, 404, "not_found", "no VM %s", r->seg[2]);
	if (r->nseg == 3 && !strcmp(m, "GET"))
		return get_vm(c, r, rep, r->seg[2], 200);
	if (r->nseg == 4 && !strcmp(m, "GET") && !strcmp(r->seg[3], "console"))
		return console_get(c, r, rep, r->seg[2], tenant);
	if (r->nseg == 4 && !strcmp(r->seg[3], "snapshots"))
		return api_vm_snapshots(c, r, rep, r->seg[2], tenant, state);
	if (r->caller.role < ROLE_TENANT_USER)
		return reply_error(rep, 403, "forbidden", "changing VMs needs tenant-user");
	if (r->nseg == 4 && !strcmp(m, "POST") && !strcmp(r->seg[3], "console"))
		return console_input(c, r, rep, r->seg[2], tenant);
	if (!strcmp(c->busy_vm, r->seg[2]))
		return reply_error(rep, 409, "busy", "a backup is reading VM %s's disk; retry",
				   r->seg[2]);
	if (r->nseg == 3 && !strcmp(m, "DELETE"))
		return delete_vm(c, r, rep, r->seg[2], tenant);
	if (r->nseg == 4 && !strcmp(m, "POST"))
		return action(c, r, rep, r->seg[2], state, r->seg[3]);
	reply_error(rep, 405, "method_not_allowed", "%s %s is not served", m, r->path);
}
