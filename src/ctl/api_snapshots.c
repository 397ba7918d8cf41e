/* Snapshots of a tenant's VMs (docs/condod.md, "Snapshots").
 *   POST   /v1/vms/ID/snapshots      {name}: a job saves the running or paused VM
 *   GET    /v1/vms/ID/snapshots      that VM's
 *   GET    /v1/snapshots[/ID]        the caller's tenant's (operator: all)
 *   DELETE /v1/snapshots/ID
 *   POST   /v1/snapshots/ID/restore  the VM goes back to it
 * A snapshot is a directory DATA/tenants/T/snapshots/S written by `condo
 * snapshot` through the VM's control socket (docs/snapshot.md): the VM's
 * state, its memory and a frozen copy of its disk.  Taking one checks the
 * tenant's snapshot quota and inserts its row in one transaction.  A
 * restore makes the VM's disk a whole copy of the frozen one (so the
 * snapshot can be deleted at any time) and resumes the VM where it was. */
#define _GNU_SOURCE
#include "ctl/api.h"
#include "condo/io.h"
#include "condo/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESTORE_WAIT_MS 60000 /* a restore copies the disk: allow for a large one */
#define SNAPSHOT_TRIES 300    /* 200 ms apart: a minute for the control socket to be free */

#define SNAP_COLS "id, tenant_id, vm_id, name, state, created, bytes"
#define SNAP_VISIBLE "(?1 = '' OR tenant_id = ?1)"

static json_t *snap_json(sqlite3_stmt *st)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", sqlite3_column_text(st, 0),
			 "tenant", sqlite3_column_text(st, 1), "vm", sqlite3_column_text(st, 2),
			 "name", sqlite3_column_text(st, 3), "state", sqlite3_column_text(st, 4),
			 "created", (json_int_t)sqlite3_column_int64(st, 5), "bytes",
			 (json_int_t)sqlite3_column_int64(st, 6));
}

void api_snapshot_dir(const struct ctl *c, const char *tenant, const char *id, char *out,
		      size_t len)
{
	snprintf(out, len, "%s/tenants/%s/snapshots/%s", c->data, tenant, id);
}

static void list_snapshots(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			   const char *vm)
{
	api_list_rows(c, r, rep, "SELECT " SNAP_COLS " FROM snapshots WHERE " SNAP_VISIBLE
				 " AND (?2 IS NULL OR vm_id = ?2) ORDER BY created, name", vm,
		      snap_json, !vm);
}

/* A snapshot the caller may see: its row's fields, c->db turned to its
 * database.  False when there is none (or it is another tenant's). */
struct snap_row {
	char id[CTL_ID_LEN + 1], tenant[CTL_ID_LEN + 1], vm[CTL_ID_LEN + 1], state[16];
};

struct snap_find {
	const struct ctl_request *r;
	const char *id;
	struct snap_row *row;
	bool found;
};

static void find_in(struct ctl *c, void *arg)
{
	struct snap_find *f = arg;
	sqlite3_stmt *st;

	if (f->found)
		return;
	st = store_prepare(c, "SELECT id, tenant_id, vm_id, state FROM snapshots WHERE " SNAP_VISIBLE
			      " AND id = ?2");
	if (!st)
		return;
	api_bind_viewer(st, f->r);
	sqlite3_bind_text(st, 2, f->id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(f->row->id, sizeof(f->row->id), "%s", sqlite3_column_text(st, 0));
		snprintf(f->row->tenant, sizeof(f->row->tenant), "%s", sqlite3_column_text(st, 1));
		snprintf(f->row->vm, sizeof(f->row->vm), "%s", sqlite3_column_text(st, 2));
		snprintf(f->row->state, sizeof(f->row->state), "%s", sqlite3_column_text(st, 3));
		f->found = true;
	}
	sqlite3_finalize(st);
}

static bool find_snapshot(struct ctl *c, const struct ctl_request *r, const char *id,
			  struct snap_row *row)
{
	struct snap_find f = { .r = r, .id = id, .row = row };

	if (!store_id_ok(id))
		return false;
	if (r->caller.role == ROLE_OPERATOR)
		store_each_db(c, find_in, &f);
	else
		find_in(c, &f);
	if (f.found && r->caller.role == ROLE_OPERATOR)
		store_use(c, row->tenant);
	return f.found;
}

static void get_snapshot(struct ctl *c, struct ctl_reply *rep, const char *id, int status)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT " SNAP_COLS " FROM snapshots WHERE id = ?");

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		reply_json(rep, status, snap_json(st));
	else
		reply_error(rep, 404, "not_found", "no snapshot %s", id);
	sqlite3_finalize(st);
}

bool api_snapshot_set_ready(struct ctl *c, const char *id, int64_t bytes)
{
	sqlite3_stmt *st = store_prepare(c, "UPDATE snapshots SET state = 'ready', bytes = ? "
					    "WHERE id = ?");
	bool done;

	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, bytes);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	done = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(c->db) == 1;
	sqlite3_finalize(st);
	return done;
}

void api_snapshot_drop(struct ctl *c, const char *tenant, const char *id)
{
	char dir[4200], path[4500];
	sqlite3_stmt *st;
	struct dirent *e;
	DIR *d;

	api_snapshot_dir(c, tenant, id, dir, sizeof(dir));
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(dir);
	st = store_prepare(c, "DELETE FROM snapshots WHERE id = ?");
	if (st) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
}

int64_t api_snapshot_bytes(const char *dir)
{
	char path[4500];
	struct dirent *e;
	struct stat st;
	int64_t sum = 0;
	DIR *d = opendir(dir);

	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.' && stat(path, &st) == 0)
			sum += (int64_t)st.st_blocks * 512;
	}
	if (d)
		closedir(d);
	return sum;
}

struct snap_job {
	struct job_meter m;
	char id[CTL_ID_LEN + 1], tenant[CTL_ID_LEN + 1];
	char control[4300], dir[4200];
};

/* Run `condo snapshot --control SOCK DIR`: NULL when it succeeded, else
 * why (its last line of errors) in buf. */
static const char *run_snapshot(struct ctl *c, const struct snap_job *j, char *buf, size_t len)
{
	const char *argv[] = { c->condo, "snapshot", "--control", j->control, j->dir, NULL };
	int out[2], status = 0;
	size_t n = 0;
	ssize_t got;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return strerror(errno);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		execv(c->condo, (char **)argv);
		_exit(127);
	}
	close(out[1]);
	/* keep the last line: condo's one-line error */
	while (pid > 0 && (got = read(out[0], buf + n, len - 1 - n)) > 0) {
		n += (size_t)got;
		if (n == len - 1) { /* full: keep the last half */
			memmove(buf, buf + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
	close(out[0]);
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (pid < 0)
		return strerror(errno);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (!n)
		snprintf(buf, len, "condo snapshot ended with status %d", status);
	return strrchr(buf, '\n') ? strrchr(buf, '\n') + 1 : buf;
}

static void *snapshot_thread(void *arg)
{
	struct snap_job *j = arg;
	struct ctl *c = j->m.c;
	char why[1024];
	const char *err;

	/* The control socket takes one client at a time: another snapshot of
	 * this VM, or a pause, may hold it for a moment. */
	for (int tries = 0;; tries++) {
		err = run_snapshot(c, j, why, sizeof(why));
		if (!err || !strstr(err, "another client") || tries == SNAPSHOT_TRIES || c->stopping)
			break;
		usleep(200 * 1000);
	}
	store_lock(c);
	if (store_use(c, j->tenant) < 0 || err || !api_snapshot_set_ready(c, j->id, api_snapshot_bytes(j->dir)))
		api_snapshot_drop(c, j->tenant, j->id);
	store_unlock(c);
	if (err)
		log_err("condod", "snapshot %s failed: %s", j->id, err);
	job_end(&j->m, err);
	free(j);
	return NULL;
}

int api_snapshot_admit(struct ctl *c, const char *tenant, const char *vm, const char *name,
		 const char *id, struct ctl_reply *rep)
{
	struct tenant_usage u;
	sqlite3_stmt *st;
	int64_t quota = -1;
	int rc;

	if (store_exec(c, "BEGIN IMMEDIATE") < 0) {
		reply_error(rep, 503, "busy", "the store is busy; retry");
		return -EBUSY;
	}
	st = store_prepare(c, "SELECT quota_snapshots FROM tenants WHERE id = ?");
	if (st) {
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			quota = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	api_tenant_usage(c, tenant, &u);
	if (u.snapshots + 1 > quota) {
		store_exec(c, "ROLLBACK");
		reply_error(rep, 409, "quota_exceeded", "tenant quota: %lld of %lld snapshots in use",
			    (long long)u.snapshots, (long long)quota);
		return -EDQUOT;
	}
	st = store_prepare(c, "INSERT INTO snapshots (id, tenant_id, vm_id, name, state, created) "
			      "VALUES (?, ?, ?, ?, 'creating', ?)");
	if (st) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, tenant, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, vm, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	}
	rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_exec(c, "ROLLBACK");
		if (rc == SQLITE_CONSTRAINT)
			reply_error(rep, 409, "exists", "VM %s has a snapshot named %s", vm, name);
		else
			reply_error(rep, 500, "store", "the store failed");
		return -EIO;
	}
	if (store_exec(c, "COMMIT") < 0) {
		reply_error(rep, 500, "store", "the store failed");
		return -EIO;
	}
	return 0;
}

void api_vm_snapshots(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
		      const char *vm, const char *tenant, const char *state)
{
	struct snap_job *j;
	const char *name;
	json_error_t err;
	char id[CTL_ID_LEN + 1], parent[4200];

	if (!strcmp(r->method, "GET"))
		return list_snapshots(c, r, rep, vm);
	if (strcmp(r->method, "POST"))
		return reply_error(rep, 405, "method_not_allowed", "%s %s is not served", r->method,
				   r->path);
	if (r->caller.role < ROLE_TENANT_USER)
		return reply_error(rep, 403, "forbidden", "snapshots need tenant-user");
	if (!r->body || json_unpack_ex(r->body, &err, JSON_STRICT, "{s:s}", "name", &name) < 0)
		return reply_error(rep, 400, "bad_request", "%s",
				   r->body ? err.text : "a JSON body with name is needed");
	if (!api_name_ok(name))
		return reply_error(rep, 400, "bad_request", API_NAME_RULE);
	if (strcmp(state, "running") && strcmp(state, "paused"))
		return reply_error(rep, 409, "bad_state", "VM %s is %s: only a running or paused VM "
				   "is snapshotted", vm, state);
	j = calloc(1, sizeof(*j));
	if (!j)
		return reply_error(rep, 500, "memory", "out of memory");
	j->m.c = c;
	if (!vmm_control_path(c, tenant, vm, j->control, sizeof(j->control)) ||
	    access(j->control, F_OK) < 0) {
		free(j);
		return reply_error(rep, 409, "bad_state", "VM %s's VMM has no control socket (it was "
				   "started by an older condod): restart the VM first", vm);
	}
	store_new_id(id);
	if (api_snapshot_admit(c, tenant, vm, name, id, rep) < 0) {
		free(j);
		return;
	}
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->tenant, sizeof(j->tenant), "%s", tenant);
	api_snapshot_dir(c, tenant, id, j->dir, sizeof(j->dir));
	snprintf(parent, sizeof(parent), "%s/tenants/%s/snapshots", c->data, tenant);
	if (mkdir_all(parent, 0700) < 0 || job_create(c, tenant, "vm-snapshot", id, j->m.job) < 0 ||
	    job_spawn(c, j->m.job, snapshot_thread, j) < 0) {
		api_snapshot_drop(c, tenant, id);
		free(j);
		return reply_error(rep, 500, "job", "cannot start the snapshot");
	}
	reply_json(rep, 202, json_pack("{s:s,s:s}", "snapshot", id, "job", j->m.job));
}

/* The VM goes back to the snapshot: its VMM is stopped, its disk set
 * aside, and a new VMM resumes the snapshot on a whole copy of the frozen
 * disk.  The old disk is deleted once the VM runs; a restore that fails
 * puts it back. */
static void restore(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
		    const struct snap_row *s)
{
	char vmdir[4200], disk[4300], old[4300], dirty[4300], snap[4200];
	int err;

	if (r->caller.role < ROLE_TENANT_USER)
		return reply_error(rep, 403, "forbidden", "restoring needs tenant-user");
	if (strcmp(s->state, "ready"))
		return reply_error(rep, 409, "bad_state", "snapshot %s is %s", s->id, s->state);
	if (!strcmp(c->busy_vm, s->vm))
		return reply_error(rep, 409, "busy", "a backup is reading VM %s's disk; retry", s->vm);
	vmm_dir(c, s->tenant, s->vm, vmdir, sizeof(vmdir));
	api_snapshot_dir(c, s->tenant, s->id, snap, sizeof(snap));
	snprintf(disk, sizeof(disk), "%s/disk.qcow2", vmdir);
	snprintf(old, sizeof(old), "%s/disk.qcow2.before-restore", vmdir);
	snprintf(dirty, sizeof(dirty), "%s/disk.dirty", vmdir);
	err = vmm_stop(c, s->vm, false);
	if (err)
		return reply_error(rep, 500, "vmm", "the VM's VMM did not stop: %s", strerror(-err));
	if (rename(disk, old) < 0)
		return reply_error(rep, 500, "disk", "cannot set the VM's disk aside: %s",
				   strerror(errno));
	/* The copy is a new disk: the next backup reads it whole. */
	unlink(dirty);
	err = vmm_launch(c, s->vm, snap);
	if (!err)
		err = vmm_ready(c, s->vm, RESTORE_WAIT_MS);
	if (err) {
		vmm_stop(c, s->vm, true);
		unlink(disk);
		rename(old, disk);
		api_vm_set_state(c, s->vm, "stopped");
		return reply_error(rep, 500, "restore_failed", "VM %s did not resume from snapshot "
				   "%s (its console log says why); its disk is as before", s->vm,
				   s->id);
	}
	unlink(old);
	log_info("condod", "VM %s restored from snapshot %s", s->vm, s->id);
	get_snapshot(c, rep, s->id, 200);
}

/* Drop the snapshots the query (bound to arg) selects, as (tenant, id). */
static void drop_selected(struct ctl *c, sqlite3_stmt *st)
{
	struct {
		char tenant[CTL_ID_LEN + 1], id[CTL_ID_LEN + 1];
	} *ids = NULL, *more;
	size_t n = 0;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		more = realloc(ids, (n + 1) * sizeof(*ids));
		if (!more)
			break;
		ids = more;
		snprintf(ids[n].tenant, sizeof(ids[n].tenant), "%s", sqlite3_column_text(st, 0));
		snprintf(ids[n].id, sizeof(ids[n].id), "%s", sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++)
		api_snapshot_drop(c, ids[i].tenant, ids[i].id);
	free(ids);
}

void api_vm_drop_snapshots(struct ctl *c, const char *vm)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT tenant_id, id FROM snapshots WHERE vm_id = ?");

	if (st)
		sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	drop_selected(c, st);
}

static void recover_in(struct ctl *c, void *arg)
{
	(void)arg;
	drop_selected(c, store_prepare(c, "SELECT tenant_id, id FROM snapshots WHERE state != "
					  "'ready'"));
}

void api_snapshots_recover(struct ctl *c)
{
	store_each_db(c, recover_in, NULL);
}

void api_snapshots(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *m = r->method;
	struct snap_row s;

	if (r->nseg == 2 && !strcmp(m, "GET"))
		return list_snapshots(c, r, rep, NULL);
	if (r->nseg < 3 || r->nseg > 4)
		return reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
	if (!find_snapshot(c, r, r->seg[2], &s))
		return reply_error(rep, 404, "not_found", "no snapshot %s", r->seg[2]);
	if (r->nseg == 3 && !strcmp(m, "GET"))
		return get_snapshot(c, rep, s.id, 200);
	if (r->nseg == 4 && !strcmp(m, "POST") && !strcmp(r->seg[3], "restore"))
		return restore(c, r, rep, &s);
	if (r->nseg == 3 && !strcmp(m, "DELETE")) {
		if (r->caller.role < ROLE_TENANT_USER)
			return reply_error(rep, 403, "forbidden", "deleting snapshots needs tenant-user");
		if (!strcmp(s.state, "creating"))
			return reply_error(rep, 409, "bad_state", "snapshot %s is being written", s.id);
		api_snapshot_drop(c, s.tenant, s.id);
		return reply_json(rep, 200, json_pack("{s:s}", "deleted", s.id));
	}
	if (r->nseg == 4)
		return reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
	reply_error(rep, 405, "method_not_allowed", "%s %s is not served", m, r->path);
}
