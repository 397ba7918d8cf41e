/* What condod's resource handlers share. */
#include "ctl/api.h"

#include <string.h>

bool api_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CTL_NAME_MAX || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", name[0]))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == len;
}

void api_tenant_usage(struct ctl *c, const char *tenant, struct tenant_usage *u)
{
	sqlite3 *keep = c->db;
	sqlite3_stmt *st = NULL;

	memset(u, 0, sizeof(*u));
	if (store_use(c, tenant) == 0)
		st = store_prepare(c, "SELECT count(*), ifnull(sum(vcpus), 0), "
				      "ifnull(sum(memory_mib), 0), ifnull(sum(disk_bytes), 0), "
				      "(SELECT count(*) FROM snapshots WHERE tenant_id = ?1) "
				      "FROM vms WHERE tenant_id = ?1");
	c->db = keep;
	if (!st)
		return;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		u->vms = sqlite3_column_int64(st, 0);
		u->vcpus = sqlite3_column_int64(st, 1);
		u->memory_mib = sqlite3_column_int64(st, 2);
		u->disk_bytes = sqlite3_column_int64(st, 3);
		u->snapshots = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
}

struct image_users {
	const char *image;
	int64_t n;
};

static void count_users(struct ctl *c, void *arg)
{
	struct image_users *u = arg;
	sqlite3_stmt *st = store_prepare(c, "SELECT count(*) FROM vms WHERE image_id = ?");

	if (!st) {
		u->n++; /* unknown: better kept than deleted under a VM */
		return;
	}
	sqlite3_bind_text(st, 1, u->image, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		u->n += sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

int64_t api_image_users(struct ctl *c, const char *image)
{
	struct image_users u = { .image = image };

	store_each_db(c, count_users, &u);
	return u.n;
}

void api_bind_viewer(sqlite3_stmt *st, const struct ctl_request *r)
{
	sqlite3_bind_text(st, 1, r->caller.role == ROLE_OPERATOR ? "" : r->caller.tenant, -1,
			  SQLITE_TRANSIENT);
}

struct list_rows {
	const struct ctl_request *r;
	const char *sql, *arg;
	json_t *(*row)(sqlite3_stmt *st);
	json_t *list;
	bool failed;
};

static void list_in(struct ctl *c, void *arg)
{
	struct list_rows *l = arg;
	sqlite3_stmt *st = store_prepare(c, l->sql);

	if (!st) {
		l->failed = true;
		return;
	}
	api_bind_viewer(st, l->r);
	if (l->arg)
		sqlite3_bind_text(st, 2, l->arg, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(l->list, l->row(st));
	sqlite3_finalize(st);
}

void api_list_rows(struct ctl *c, const struct ctl_request *r, struct ctl_reply *rep,
		   const char *sql, const char *arg, json_t *(*row)(sqlite3_stmt *st),
		   bool every_db)
{
	struct list_rows l = { .r = r, .sql = sql, .arg = arg, .row = row, .list = json_array() };

	if (every_db && r->caller.role == ROLE_OPERATOR)
		store_each_db(c, list_in, &l);
	else
		list_in(c, &l);
	if (l.failed) {
		json_decref(l.list);
		return reply_error(rep, 500, "store", "the store failed");
	}
	reply_json(rep, 200, l.list);
}
