/* /v1/backups: backups of a tenant's VMs (docs/backup.md).
 *   POST /v1/backups                  start one {[tenant][, vm][, full][, repo][, nbd]}:
 *                                     202 with the job and the backup's id; nbd (operator,
 *                                     one VM): the disk goes to that NBD export
 *   GET  /v1/backups[/ID]             the caller's tenant's (operator: all), in the
 *                                     repository (?repo=DIR, operator only)
 *   POST /v1/backups/ID/restore       {[vm][, name][, start][, tenant][, repo]}: 202
 *                                     with the job
 *   DELETE /v1/backups/ID[?repo=DIR]  delete it, and the chunks no other backup names:
 *                                     202 with the job
 * A tenant's admin backs up and restores its own tenant into the default
 * repository (condod --backup-dir, else DATA/backups).  Only the operator
 * names another repository, a directory of this host, e.g. one copied
 * from another host, and restores into any tenant.  A backup of another
 * tenant is 404, as everywhere. */
#include "ctl/backup.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* The repository a request names (operator only), or the default. */
static bool pick_repo(struct ctl *c, struct ctl_request *r, const char *given,
		      struct ctl_reply *rep, char *out, size_t len)
{
	if (!given) {
		snprintf(out, len, "%s", c->backup_dir);
		return true;
	}
	if (r->caller.role != ROLE_OPERATOR) {
		reply_error(rep, 403, "forbidden", "only the operator names a repository");
		return false;
	}
	if (given[0] != '/' || strlen(given) >= len) {
		reply_error(rep, 400, "bad_request", "repo is an absolute path");
		return false;
	}
	snprintf(out, len, "%s", given);
	return true;
}

/* A tenant by id or name: its id into out. */
static bool tenant_by_key(struct ctl *c, const char *key, char out[CTL_ID_LEN + 1])
{
	sqlite3_stmt *st = store_prepare(c, "SELECT id FROM tenants WHERE id = ?1 OR name = ?1");
	bool found;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		snprintf(out, CTL_ID_LEN + 1, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return found;
}

static void start_backup(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *tenant = NULL, *vm = NULL, *repo = NULL, *nbd = NULL;
	char tid[CTL_ID_LEN + 1], vid[CTL_ID_LEN + 1] = "", dir[4096], job[CTL_ID_LEN + 1];
	char backup[CTL_ID_LEN + 1];
	json_error_t err;
	int full = 0;
	sqlite3_stmt *st;

	if (r->body && json_unpack_ex(r->body, &err, JSON_STRICT, "{s?s,s?s,s?b,s?s,s?s}",
				      "tenant", &tenant, "vm", &vm, "full", &full, "repo", &repo,
				      "nbd", &nbd) < 0)
		return reply_error(rep, 400, "bad_request", "%s", err.text);
	if (r->caller.role < ROLE_TENANT_ADMIN)
		return reply_error(rep, 403, "forbidden", "backups need tenant-admin");
	/* condod reaching out to the network on a tenant's word: no. */
	if (nbd && r->caller.role != ROLE_OPERATOR)
		return reply_error(rep, 403, "forbidden", "only the operator names an NBD target");
	if (nbd && (!vm || !block_is_remote(nbd, BLOCK_FORMAT_AUTO) ||
		    strlen(nbd) >= CTL_NBD_URI_MAX))
		return reply_error(rep, 400, "bad_request",
				   "nbd is an nbd:// or nbd+unix:// URI, and takes one vm");
	if (r->caller.role == ROLE_OPERATOR && !tenant)
		return reply_error(rep, 400, "bad_request", "the operator names the tenant");
	if (!tenant)
		tenant = r->caller.tenant;
	if (!tenant_by_key(c, tenant, tid) || !may_see_tenant(r, tid))
		return reply_error(rep, 404, "not_found", "no tenant %s", tenant);
	if (!pick_repo(c, r, repo, rep, dir, sizeof(dir)))
		return;
	if (vm) {
		st = store_use(c, tid) < 0 ? NULL
					   : store_prepare(c, "SELECT id FROM vms WHERE tenant_id = ?1 "
							      "AND (id = ?2 OR name = ?2)");
		if (st) {
			sqlite3_bind_text(st, 1, tid, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, vm, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_ROW)
				snprintf(vid, sizeof(vid), "%s", sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
		if (!vid[0])
			return reply_error(rep, 404, "not_found", "no VM %s", vm);
	}
	if (c->backup_running)
		return reply_error(rep, 409, "busy", "a backup or restore is running; retry");
	if (job_backup(c, tid, vid[0] ? vid : NULL, full, dir, nbd, job, backup) < 0)
		return reply_error(rep, 500, "backup", "cannot start a backup into %s", dir);
	reply_json(rep, 202, json_pack("{s:s,s:s}", "job", job, "backup", backup));
}

/* What a listing shows of a manifest. */
static json_t *summary(json_t *m)
{
	json_t *tenant = json_object_get(m, "tenant"), *names = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(m, "vms"), i, v)
		json_array_append(names, json_object_get(v, "name"));
	json_t *o = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:o,s:O}", "id",
			      json_object_get(m, "id"), "tenant", json_object_get(tenant, "id"),
			      "tenant_name", json_object_get(tenant, "name"), "created",
			      json_object_get(m, "created"), "sequence",
			      json_object_get(m, "sequence"), "kind", json_object_get(m, "kind"),
			      "parent", json_object_get(m, "parent"), "vms", names, "stored",
			      json_object_get(m, "stored"));

	if (json_object_get(m, "target"))
		json_object_set(o, "target", json_object_get(m, "target"));
	return o;
}

static bool visible(const struct ctl_request *r, json_t *m)
{
	const char *t = json_string_value(json_object_get(json_object_get(m, "tenant"), "id"));

	return r->caller.role == ROLE_OPERATOR || (t && !strcmp(t, r->caller.tenant));
}

struct listing {
	const struct ctl_request *r;
	json_t *list;
};

static int list_one(json_t *m, const char *why, void *arg)
{
	struct listing *l = arg;

	if (m && visible(l->r, m))
		json_array_append_new(l->list, summary(m));
	return 0;
}

static void list_backups(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *given = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "repo");
	struct listing l = { r, json_array() };
	struct repo repo;
	char dir[4096];

	if (!pick_repo(c, r, given, rep, dir, sizeof(dir)))
		return json_decref(l.list);
	if (repo_open(&repo, dir, false) == 0) /* else none made yet */
		repo_each(&repo, list_one, &l);
	reply_json(rep, 200, l.list);
}

/* Backup id's manifest in repository dir, if the caller may see it: NULL
 * with the reply made (404, or 422 for a damaged manifest of a backup the
 * caller could not be shown anyway: an operator's call). */
static json_t *load_visible(struct ctl_request *r, struct ctl_reply *rep, const char *dir,
			    const char *id)
{
	char why[512] = "no backup";
	struct repo repo;
	json_t *m = NULL;

	if (repo_open(&repo, dir, false) == 0)
		m = repo_read_manifest(&repo, id, why, sizeof(why));
	if (m && visible(r, m))
		return m;
	json_decref(m);
	if (!m && r->caller.role == ROLE_OPERATOR && strncmp(why, "no backup", 9) &&
	    repo_open(&repo, dir, false) == 0)
		reply_error(rep, 422, "bad_backup", "%s", why);
	else
		reply_error(rep, 404, "not_found", "no backup %s", id);
	return NULL;
}

static void get_backup(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
		       const char *id)
{
	const char *given = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "repo");
	char dir[4096];
	json_t *m;

	if (!pick_repo(c, r, given, rep, dir, sizeof(dir)) || !(m = load_visible(r, rep, dir, id)))
		return;
	reply_json(rep, 200, summary(m));
	json_decref(m);
}

static void start_restore(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			  const char *id)
{
	const char *vm = NULL, *name = NULL, *tenant = NULL, *repo = NULL;
	char dir[4096], tid[CTL_ID_LEN + 1], job[CTL_ID_LEN + 1];
	json_error_t err;
	int start = 0;
	json_t *m;

	if (r->body && json_unpack_ex(r->body, &err, JSON_STRICT, "{s?s,s?s,s?b,s?s,s?s}", "vm",
				      &vm, "name", &name, "start", &start, "tenant", &tenant,
				      "repo", &repo) < 0)
		return reply_error(rep, 400, "bad_request", "%s", err.text);
	if (r->caller.role < ROLE_TENANT_ADMIN)
		return reply_error(rep, 403, "forbidden", "restoring needs tenant-admin");
	if (name && (!vm || !api_name_ok(name)))
		return reply_error(rep, 400, "bad_request",
				   name && !vm ? "name renames one VM: give vm too" : API_NAME_RULE);
	if (!pick_repo(c, r, repo, rep, dir, sizeof(dir)))
		return;
	if (!(m = load_visible(r, rep, dir, id)))
		return;
	/* Into the caller's tenant; the operator's default: the backup's, by name. */
	if (!tenant)
		tenant = r->caller.role == ROLE_OPERATOR
				 ? json_string_value(json_object_get(json_object_get(m, "tenant"),
								     "name"))
				 : r->caller.tenant;
	if (!tenant || !tenant_by_key(c, tenant, tid) || !may_see_tenant(r, tid)) {
		reply_error(rep, 404, "not_found", "no tenant %s", tenant ? tenant : "");
		return json_decref(m);
	}
	if (json_object_get(m, "target")) {
		reply_error(rep, 409, "bad_state", "backup %s went to NBD export %s: import that as "
			    "an image (condo ctl image import NAME URI)", id,
			    json_string_value(json_object_get(m, "target")) ?: "");
		return json_decref(m);
	}
	json_decref(m);
	if (c->backup_running)
		return reply_error(rep, 409, "busy", "a backup or restore is running; retry");
	if (job_restore(c, dir, id, tid, vm, name, start, job) < 0)
		return reply_error(rep, 500, "restore", "cannot start the restore");
	reply_json(rep, 202, json_pack("{s:s}", "job", job));
}

static void delete_backup(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			  const char *id)
{
	const char *given = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "repo");
	char dir[4096], job[CTL_ID_LEN + 1];
	json_t *m;

	if (r->caller.role < ROLE_TENANT_ADMIN)
		return reply_error(rep, 403, "forbidden", "deleting backups needs tenant-admin");
	if (!pick_repo(c, r, given, rep, dir, sizeof(dir)) || !(m = load_visible(r, rep, dir, id)))
		return;
	json_decref(m);
	if (c->backup_running)
		return reply_error(rep, 409, "busy", "a backup or restore is running; retry");
	if (job_prune(c, r->caller.tenant[0] ? r->caller.tenant : NULL, dir, id, job) < 0)
		return reply_error(rep, 500, "backup", "cannot delete backup %s", id);
	reply_json(rep, 202, json_pack("{s:s}", "job", job));
}

void api_backups(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *m = r->method;

	if (r->nseg == 2 && !strcmp(m, "GET"))
		return list_backups(c, r, rep);
	if (r->nseg == 2 && !strcmp(m, "POST"))
		return start_backup(c, r, rep);
	if (r->nseg == 3 && !strcmp(m, "GET"))
		return get_backup(c, r, rep, r->seg[2]);
	if (r->nseg == 3 && !strcmp(m, "DELETE"))
		return delete_backup(c, r, rep, r->seg[2]);
	if (r->nseg == 4 && !strcmp(m, "POST") && !strcmp(r->seg[3], "restore"))
		return start_restore(c, r, rep, r->seg[2]);
	if (r->nseg >= 2 && r->nseg <= 4)
		return reply_error(rep, 405, "method_not_allowed", "%s %s is not served", m,
				   r->path);
	reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
}
