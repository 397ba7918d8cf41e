/* /v1/tenants: tenants, their quotas and their tokens.
 *   POST   /v1/tenants                      operator
 *   GET    /v1/tenants[/ID]                 operator: all; others: their own
 *   PATCH  /v1/tenants/ID                   operator: quota, cpu_share
 *   DELETE /v1/tenants/ID                   operator, a tenant without VMs
 *   POST   /v1/tenants/ID/tokens            operator, or the tenant's admin
 *   GET    /v1/tenants/ID/tokens            operator, or the tenant's admin
 *   DELETE /v1/tenants/ID/tokens/TID        operator, or the tenant's admin
 * A tenant asking for another's gets 404, never 403: existence does not
 * leak (docs/condod.md). */
#include "ctl/api.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Defaults for a tenant created without a quota. */
#define DEFAULT_QUOTA_VMS 10
#define DEFAULT_QUOTA_VCPUS 16
#define DEFAULT_QUOTA_MEMORY_MIB 4096
#define DEFAULT_QUOTA_DISK_BYTES (64ll << 30)
#define DEFAULT_QUOTA_SNAPSHOTS 20

static json_t *tenant_json(struct ctl *c, sqlite3_stmt *st)
{
	const char *id = (const char *)sqlite3_column_text(st, 0);
	struct tenant_usage u;

	api_tenant_usage(c, id, &u);
	return json_pack("{s:s,s:s,s:I,s:{s:I,s:I,s:I,s:I,s:I},s:I,s:{s:I,s:I,s:I,s:I,s:I}}", "id",
			 id,
			 "name", sqlite3_column_text(st, 1), "created",
			 (json_int_t)sqlite3_column_int64(st, 2), "quota", "vms",
			 (json_int_t)sqlite3_column_int64(st, 3), "vcpus",
			 (json_int_t)sqlite3_column_int64(st, 4), "memory_mib",
			 (json_int_t)sqlite3_column_int64(st, 5), "disk_bytes",
			 (json_int_t)sqlite3_column_int64(st, 6), "snapshots",
			 (json_int_t)sqlite3_column_int64(st, 7), "cpu_share",
			 (json_int_t)sqlite3_column_int64(st, 8), "usage", "vms", (json_int_t)u.vms,
			 "vcpus", (json_int_t)u.vcpus, "memory_mib", (json_int_t)u.memory_mib,
			 "disk_bytes", (json_int_t)u.disk_bytes, "snapshots", (json_int_t)u.snapshots);
}

#define TENANT_COLS                                                                         \
	"id, name, created, quota_vms, quota_vcpus, quota_memory_mib, quota_disk_bytes, " \
	"quota_snapshots, cpu_share"

static void list_tenants(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT " TENANT_COLS " FROM tenants WHERE ?1 = '' OR "
					    "id = ?1 ORDER BY name");
	json_t *list = json_array();

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	api_bind_viewer(st, r);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, tenant_json(c, st));
	sqlite3_finalize(st);
	reply_json(rep, 200, list);
}

static void get_tenant(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
		       const char *id, int status)
{
	sqlite3_stmt *st;

	if (!may_see_tenant(r, id))
		return reply_error(rep, 404, "not_found", "no tenant %s", id);
	st = store_prepare(c, "SELECT " TENANT_COLS " FROM tenants WHERE id = ?");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		reply_json(rep, status, tenant_json(c, st));
	else
		reply_error(rep, 404, "not_found", "no tenant %s", id);
	sqlite3_finalize(st);
}

struct quota {
	json_int_t vms, vcpus, memory_mib, disk_bytes, snapshots, cpu_share;
};

/* The quota fields of body (each optional) over q; false with a 400. */
static bool parse_quota(json_t *body, struct quota *q, struct ctl_reply *rep, const char **name)
{
	json_error_t err;
	json_t *quota = NULL;

	if (json_unpack_ex(body, &err, JSON_STRICT, "{s?s,s?o,s?I}", "name", name, "quota", &quota,
			   "cpu_share", &q->cpu_share) < 0 ||
	    (quota && json_unpack_ex(quota, &err, JSON_STRICT, "{s?I,s?I,s?I,s?I,s?I}", "vms",
				     &q->vms, "vcpus", &q->vcpus, "memory_mib", &q->memory_mib,
				     "disk_bytes", &q->disk_bytes, "snapshots",
				     &q->snapshots) < 0)) {
		reply_error(rep, 400, "bad_request", "%s", err.text);
		return false;
	}
	if (q->vms < 0 || q->vcpus < 0 || q->memory_mib < 0 || q->disk_bytes < 0 ||
	    q->snapshots < 0 || q->cpu_share < 1 || q->cpu_share > 100) {
		reply_error(rep, 400, "bad_request",
			    "quotas are counts of 0 or more; cpu_share is a percentage, 1 to 100");
		return false;
	}
	return true;
}

/* The quota's six values as parameters first.. of st. */
static void bind_quota(sqlite3_stmt *st, int first, const struct quota *q)
{
	const json_int_t v[] = { q->vms, q->vcpus, q->memory_mib, q->disk_bytes, q->snapshots,
				 q->cpu_share };

	for (int i = 0; i < 6; i++)
		sqlite3_bind_int64(st, first + i, v[i]);
}

static void create_tenant(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	struct quota q = { DEFAULT_QUOTA_VMS, DEFAULT_QUOTA_VCPUS, DEFAULT_QUOTA_MEMORY_MIB,
			   DEFAULT_QUOTA_DISK_BYTES, DEFAULT_QUOTA_SNAPSHOTS, 100 };
	const char *name = NULL;
	char id[CTL_ID_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	if (!r->body)
		return reply_error(rep, 400, "bad_request", "a JSON body with a name is needed");
	if (!parse_quota(r->body, &q, rep, &name))
		return;
	if (!name || !api_name_ok(name))
		return reply_error(rep, 400, "bad_request", API_NAME_RULE);
	store_new_id(id);
	st = store_prepare(c, "INSERT INTO tenants (id, name, created, quota_vms, quota_vcpus, "
			      "quota_memory_mib, quota_disk_bytes, quota_snapshots, cpu_share) "
			      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	bind_quota(st, 4, &q);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return reply_error(rep, 409, "exists", "a tenant named %s exists", name);
	if (rc != SQLITE_DONE)
		return reply_error(rep, 500, "store", "the store failed");
	get_tenant(c, r, rep, id, 201);
}

static void patch_tenant(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			 const char *id)
{
	struct quota q;
	const char *name = NULL;
	sqlite3_stmt *st = store_prepare(c, "SELECT quota_vms, quota_vcpus, quota_memory_mib, "
					    "quota_disk_bytes, quota_snapshots, cpu_share FROM "
					    "tenants WHERE id = ?");

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return reply_error(rep, 404, "not_found", "no tenant %s", id);
	}
	q = (struct quota){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
			    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5) };
	sqlite3_finalize(st);
	if (!r->body)
		return reply_error(rep, 400, "bad_request", "a JSON body is needed");
	if (!parse_quota(r->body, &q, rep, &name))
		return;
	if (name)
		return reply_error(rep, 400, "bad_request", "a tenant's name does not change");
	st = store_prepare(c, "UPDATE tenants SET quota_vms = ?, quota_vcpus = ?, "
			      "quota_memory_mib = ?, quota_disk_bytes = ?, quota_snapshots = ?, "
			      "cpu_share = ? WHERE id = ?");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	bind_quota(st, 1, &q);
	sqlite3_bind_text(st, 7, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	get_tenant(c, r, rep, id, 200);
}

static void delete_tenant(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			  const char *id)
{
	struct tenant_usage u;
	sqlite3_stmt *st;

	if (!store_tenant_exists(c, id))
		return reply_error(rep, 404, "not_found", "no tenant %s", id);
	api_tenant_usage(c, id, &u);
	if (u.vms)
		return reply_error(rep, 409, "in_use", "tenant %s still has %lld VMs", id,
				   (long long)u.vms);
	st = store_prepare(c, "DELETE FROM tenants WHERE id = ?");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (sqlite3_changes(c->db) == 0)
		return reply_error(rep, 404, "not_found", "no tenant %s", id);
	store_forget_tenant(c, id);
	reply_json(rep, 200, json_pack("{s:s}", "deleted", id));
}

static void create_token(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			 const char *tenant)
{
	const char *role_name = NULL, *name = "";
	char secret[128], id[CTL_ID_LEN + 1];
	json_error_t err;
	enum ctl_role role;

	if (!r->body || json_unpack_ex(r->body, &err, JSON_STRICT, "{s:s,s?s}", "role", &role_name,
				       "name", &name) < 0)
		return reply_error(rep, 400, "bad_request", "%s",
				   r->body ? err.text : "a JSON body with a role is needed");
	role = auth_role_parse(role_name);
	if (role == ROLE_NONE || role == ROLE_OPERATOR)
		return reply_error(rep, 400, "bad_request",
				   "role is tenant-admin, tenant-user or read-only");
	if (strlen(name) > CTL_NAME_MAX)
		return reply_error(rep, 400, "bad_request", "name is at most %d characters",
				   CTL_NAME_MAX);
	if (!store_tenant_exists(c, tenant))
		return reply_error(rep, 404, "not_found", "no tenant %s", tenant);
	if (auth_new_token(c, tenant, role, name, secret, sizeof(secret), id) < 0)
		return reply_error(rep, 500, "store", "the store failed");
	reply_json(rep, 201, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "tenant", tenant, "role",
				       role_name, "name", name, "token", secret));
}

static void list_tokens(struct ctl *c, struct ctl_reply *rep, const char *tenant)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT id, role, name, created FROM tokens WHERE "
					    "tenant_id = ? ORDER BY created");
	json_t *list = json_array();

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:I}", "id",
						      sqlite3_column_text(st, 0), "role",
						      sqlite3_column_text(st, 1), "name",
						      sqlite3_column_text(st, 2), "created",
						      (json_int_t)sqlite3_column_int64(st, 3)));
	sqlite3_finalize(st);
	reply_json(rep, 200, list);
}

static void delete_token(struct ctl *c, struct ctl_reply *rep, const char *tenant,
			 const char *id)
{
	sqlite3_stmt *st = store_prepare(c, "DELETE FROM tokens WHERE tenant_id = ? AND id = ?");

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (sqlite3_changes(c->db) == 0)
		return reply_error(rep, 404, "not_found", "no token %s", id);
	reply_json(rep, 200, json_pack("{s:s}", "deleted", id));
}

static void tokens(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *tenant = r->seg[2], *m = r->method;

	if (!may_see_tenant(r, tenant))
		return reply_error(rep, 404, "not_found", "no tenant %s", tenant);
	if (r->caller.role < ROLE_TENANT_ADMIN)
		return reply_error(rep, 403, "forbidden", "managing tokens needs tenant-admin");
	if (r->nseg == 4 && !strcmp(m, "POST"))
		return create_token(c, r, rep, tenant);
	if (r->nseg == 4 && !strcmp(m, "GET"))
		return list_tokens(c, rep, tenant);
	if (r->nseg == 5 && !strcmp(m, "DELETE"))
		return delete_token(c, rep, tenant, r->seg[4]);
	reply_error(rep, 405, "method_not_allowed", "%s %s is not served", m, r->path);
}

void api_tenants(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *m = r->method;
	bool op = r->caller.role == ROLE_OPERATOR;

	if (r->nseg >= 4 && !strcmp(r->seg[3], "tokens"))
		return tokens(c, r, rep);
	if (r->nseg == 2 && !strcmp(m, "GET"))
		return list_tenants(c, r, rep);
	if (r->nseg == 3 && !strcmp(m, "GET"))
		return get_tenant(c, r, rep, r->seg[2], 200);
	if (r->nseg > 3)
		return reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
	if (!op && r->nseg == 3 && !may_see_tenant(r, r->seg[2]))
		return reply_error(rep, 404, "not_found", "no tenant %s", r->seg[2]);
	if (!op && (!strcmp(m, "POST") || !strcmp(m, "PATCH") || !strcmp(m, "DELETE")))
		return reply_error(rep, 403, "forbidden", "only the operator manages tenants");
	if (r->nseg == 2 && !strcmp(m, "POST"))
		return create_tenant(c, r, rep);
	if (r->nseg == 3 && !strcmp(m, "PATCH"))
		return patch_tenant(c, r, rep, r->seg[2]);
	if (r->nseg == 3 && !strcmp(m, "DELETE"))
		return delete_tenant(c, r, rep, r->seg[2]);
	reply_error(rep, 405, "method_not_allowed", "%s %s is not served", m, r->path);
}
