/* /v1/networks: a tenant's virtual networks (docs/condod.md, "Networks").
 *   POST   /v1/networks          {name[, tenant]} (tenant-admin; the operator names the
 *                                tenant): 201 with the network
 *   GET    /v1/networks[/N]      the caller's tenant's (operator: all)
 *   DELETE /v1/networks/N        one no VM is on (tenant-admin)
 * A network is an isolated L2 segment: a switch of its own (condo switch,
 * docs/net.md), named by the network's id, whose socket lies in the
 * tenant's directory (DATA/tenants/T/net), so a VM reaches only its own
 * tenant's switches whatever it is given.  VMs join networks at creation
 * ({"networks": [names or ids]}); the first VM to start on a network
 * starts its switch, which ends with its last VM. */
#include "ctl/api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NET_COLS "id, tenant_id, name, created"
#define NET_VISIBLE "(?1 = '' OR tenant_id = ?1)"

static json_t *net_json(sqlite3_stmt *st)
{
	return json_pack("{s:s,s:s,s:s,s:I}", "id", sqlite3_column_text(st, 0), "tenant",
			 sqlite3_column_text(st, 1), "name", sqlite3_column_text(st, 2), "created",
			 (json_int_t)sqlite3_column_int64(st, 3));
}

static sqlite3_stmt *query(struct ctl *c, const struct ctl_request *r, const char *sql)
{
	sqlite3_stmt *st = store_prepare(c, sql);

	if (st)
		api_bind_viewer(st, r);
	return st;
}

int api_network_id(struct ctl *c, const char *tenant, const char *key, char id[CTL_ID_LEN + 1])
{
	sqlite3_stmt *st = store_prepare(c, "SELECT id FROM networks WHERE tenant_id = ?1 AND "
					    "(id = ?2 OR name = ?2)");
	int found;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		snprintf(id, CTL_ID_LEN + 1, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return found ? 0 : -ENOENT;
}

static void get_network(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			const char *id, int status)
{
	sqlite3_stmt *st = query(c, r, "SELECT " NET_COLS " FROM networks WHERE " NET_VISIBLE
				       " AND (id = ?2)");

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		reply_json(rep, status, net_json(st));
	else
		reply_error(rep, 404, "not_found", "no network %s", id);
	sqlite3_finalize(st);
}

static void create_network(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *name = NULL, *tenant = NULL;
	char id[CTL_ID_LEN + 1];
	json_error_t err;
	sqlite3_stmt *st;
	int rc;

	if (r->caller.role < ROLE_TENANT_ADMIN)
		return reply_error(rep, 403, "forbidden", "creating networks needs tenant-admin");
	if (!r->body || json_unpack_ex(r->body, &err, JSON_STRICT, "{s:s,s?s}", "name", &name,
				       "tenant", &tenant) < 0)
		return reply_error(rep, 400, "bad_request", "%s",
				   r->body ? err.text : "a JSON body with a name is needed");
	if (!api_name_ok(name))
		return reply_error(rep, 400, "bad_request", API_NAME_RULE);
	if (r->caller.role == ROLE_OPERATOR && !tenant)
		return reply_error(rep, 400, "bad_request", "the operator names the tenant");
	if (!tenant)
		tenant = r->caller.tenant;
	if (!may_see_tenant(r, tenant) || !store_tenant_exists(c, tenant))
		return reply_error(rep, 404, "not_found", "no tenant %s", tenant);
	store_new_id(id);
	st = store_prepare(c, "INSERT INTO networks (id, tenant_id, name, created) VALUES (?, ?, "
			      "?, ?)");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return reply_error(rep, 409, "exists", "a network named %s exists", name);
	if (rc != SQLITE_DONE)
		return reply_error(rep, 500, "store", "the store failed");
	get_network(c, r, rep, id, 201);
}

static void delete_network(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep,
			   const char *id)
{
	char tenant[CTL_ID_LEN + 1] = "";
	sqlite3_stmt *st = query(c, r, "SELECT tenant_id FROM networks WHERE " NET_VISIBLE
				       " AND id = ?2");
	bool used = true;

	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(tenant, sizeof(tenant), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!tenant[0])
		return reply_error(rep, 404, "not_found", "no network %s", id);
	if (r->caller.role < ROLE_TENANT_ADMIN)
		return reply_error(rep, 403, "forbidden", "deleting networks needs tenant-admin");
	/* A VM's networks are a list of ids: "a,b,c". */
	if (store_use(c, tenant) == 0 &&
	    (st = store_prepare(c, "SELECT count(*) FROM vms WHERE ',' || networks || ',' LIKE "
				   "'%,' || ? || ',%'"))) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		used = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) > 0;
		sqlite3_finalize(st);
	}
	if (used)
		return reply_error(rep, 409, "in_use", "VMs are on network %s", id);
	st = store_prepare(c, "DELETE FROM networks WHERE id = ?");
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	reply_json(rep, 200, json_pack("{s:s}", "deleted", id));
}

void api_networks(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *m = r->method;
	sqlite3_stmt *st;
	json_t *list;

	if (r->nseg == 2 && !strcmp(m, "POST"))
		return create_network(c, r, rep);
	if (r->nseg == 2 && !strcmp(m, "GET")) {
		st = query(c, r, "SELECT " NET_COLS " FROM networks WHERE " NET_VISIBLE
				 " ORDER BY tenant_id, name");
		if (!st)
			return reply_error(rep, 500, "store", "the store failed");
		list = json_array();
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(list, net_json(st));
		sqlite3_finalize(st);
		return reply_json(rep, 200, list);
	}
	if (r->nseg == 3 && !strcmp(m, "GET"))
		return get_network(c, r, rep, r->seg[2], 200);
	if (r->nseg == 3 && !strcmp(m, "DELETE"))
		return delete_network(c, r, rep, r->seg[2]);
	if (r->nseg == 2 || r->nseg == 3)
		return reply_error(rep, 405, "method_not_allowed", "%s %s is not served", m,
				   r->path);
	reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
}
