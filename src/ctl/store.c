/* condod's store: SQLite in WAL mode, the schema, ids and the audit log.
 *
 * Two layouts (docs/condod.md, "Data isolation"), chosen at `condod init`:
 *  - shared: one database, DATA/condod.db, for everything;
 *  - per-tenant: the control database DATA/condod.db holds tenants, tokens,
 *    images, jobs and the audit log, and each tenant's VMs and metering
 *    live in DATA/tenants/T/tenant.db, a file of its own.
 * Either way every row that belongs to a tenant carries its tenant id, and
 * every query a tenant's request makes names it.
 *
 * Queries go to c->db.  Under the lock it starts as the control database
 * (store_lock); store_use() turns it to a tenant's VM database, which has
 * the control database attached, so names it lacks (tenants, images...)
 * still resolve.  In the shared layout both are the one database. */
#include "ctl/ctl.h"
#include "condo/io.h"
#include "condo/log.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Tenant databases kept open at once; the least recently used is closed. */
#define STORE_OPEN_TENANTS 64

struct store_conn {
	char tenant[CTL_ID_LEN + 1];
	sqlite3 *db;
	uint64_t used;
};

static const char control_schema[] =
	"CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tenants ("
	"  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,"
	"  quota_vms INTEGER NOT NULL, quota_vcpus INTEGER NOT NULL,"
	"  quota_memory_mib INTEGER NOT NULL, quota_disk_bytes INTEGER NOT NULL,"
	"  quota_snapshots INTEGER NOT NULL, cpu_share INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tokens ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,"
	"  role TEXT NOT NULL, name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS images ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL, format TEXT NOT NULL, size INTEGER NOT NULL,"
	"  path TEXT NOT NULL, created INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'ready');"
	"CREATE UNIQUE INDEX IF NOT EXISTS images_name ON images(ifnull(tenant_id, ''), name);"
	"CREATE TABLE IF NOT EXISTS jobs ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT, kind TEXT NOT NULL, target TEXT NOT NULL,"
	"  state TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error TEXT,"
	"  created INTEGER NOT NULL, finished INTEGER);"
	"CREATE TABLE IF NOT EXISTS networks ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE(tenant_id, name));"
	"CREATE TABLE IF NOT EXISTS vm_uids (n INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  vm_id TEXT NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS audit ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, tenant_id TEXT,"
	"  token_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,"
	"  detail TEXT);";

/* The VMs' table: in the shared database with its references; in a
 * tenant's database without them (they would cross files). */
#define VMS_COLUMNS                                                                        \
	"  name TEXT NOT NULL, vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL,"        \
	"  disk_bytes INTEGER NOT NULL, state TEXT NOT NULL, restart TEXT NOT NULL,"        \
	"  pid INTEGER NOT NULL DEFAULT 0, pid_start INTEGER NOT NULL DEFAULT 0,"          \
	"  exit_status INTEGER, restarts INTEGER NOT NULL DEFAULT 0,"                      \
	"  created INTEGER NOT NULL, networks TEXT NOT NULL DEFAULT '',"                    \
	"  UNIQUE(tenant_id, name));"
#define VMS_NETWORKS_COLUMN "ALTER TABLE vms ADD COLUMN networks TEXT NOT NULL DEFAULT ''"
static const char shared_vms_schema[] =
	"CREATE TABLE IF NOT EXISTS vms ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),"
	"  image_id TEXT NOT NULL REFERENCES images(id)," VMS_COLUMNS;
static const char tenant_vms_schema[] =
	"CREATE TABLE IF NOT EXISTS vms ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, image_id TEXT NOT NULL," VMS_COLUMNS;

/* A VM's snapshots lie where its VM's row does (docs/condod.md, "Snapshots"). */
static const char snapshots_schema[] =
	"CREATE TABLE IF NOT EXISTS snapshots ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, vm_id TEXT NOT NULL,"
	"  name TEXT NOT NULL, state TEXT NOT NULL, created INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL DEFAULT 0, UNIQUE(vm_id, name));";

int store_exec(struct ctl *c, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	log_err("condod", "store: %s", msg ? msg : sqlite3_errmsg(c->db));
	sqlite3_free(msg);
	return -EIO;
}

sqlite3_stmt *store_prepare_in(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("condod", "store: %s: %s", sqlite3_errmsg(db), sql);
		return NULL;
	}
	return st;
}

sqlite3_stmt *store_prepare(struct ctl *c, const char *sql)
{
	return store_prepare_in(c->db, sql);
}

/* Open a database file in WAL mode: readers never wait on the writer,
 * and a crash loses at most the transaction in flight. */
static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				       SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		log_err("condod", "cannot open the store %s: %s", path,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			     "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
		log_err("condod", "the store %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static const char *layout_name(bool per_tenant)
{
	return per_tenant ? "per-tenant" : "shared";
}

int store_parse_isolation(const char *name, int *per_tenant)
{
	if (!strcmp(name, "shared"))
		*per_tenant = 0;
	else if (!strcmp(name, "per-tenant"))
		*per_tenant = 1;
	else
		return -EINVAL;
	return 0;
}

/* The layout: recorded by init (want >= 0), checked against the store's
 * at every start (want < 0: whatever it is). */
static int store_layout(struct ctl *c, int want)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT value FROM settings WHERE key = "
					    "'data_isolation'");
	char have[32] = "";

	if (!st)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(have, sizeof(have), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!have[0]) { /* a new store, or one from before the choice: shared */
		bool vms = sqlite3_table_column_metadata(c->db, NULL, "vms", "id", NULL, NULL,
							 NULL, NULL, NULL) == SQLITE_OK;
		snprintf(have, sizeof(have), "%s", layout_name(want > 0 && !vms));
		st = store_prepare(c, "INSERT INTO settings VALUES ('data_isolation', ?)");
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, have, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	c->per_tenant = !strcmp(have, "per-tenant");
	if (want >= 0 && (bool)want != c->per_tenant) {
		log_err("condod", "the store in %s was made with --data-isolation %s", c->data,
			have);
		return -EINVAL;
	}
	return 0;
}

int store_open(struct ctl *c, int isolation)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/condod.db", c->data);
	c->ctl_db = c->db = open_db(path);
	if (!c->db || store_exec(c, control_schema) < 0 || store_layout(c, isolation) < 0)
		return -EIO;
	if (!c->per_tenant && (store_exec(c, shared_vms_schema) < 0 ||
			       store_exec(c, snapshots_schema) < 0 || meter_schema(c) < 0))
		return -EIO;
	/* Stores made before images had a state, VMs networks. */
	sqlite3_exec(c->db, "ALTER TABLE images ADD COLUMN state TEXT NOT NULL DEFAULT 'ready'",
		     NULL, NULL, NULL);
	if (!c->per_tenant)
		sqlite3_exec(c->db, VMS_NETWORKS_COLUMN, NULL, NULL, NULL);
	if (c->per_tenant && !(c->conns = calloc(STORE_OPEN_TENANTS, sizeof(*c->conns))))
		return -ENOMEM;
	return 0;
}

void store_close(struct ctl *c)
{
	for (int i = 0; c->conns && i < STORE_OPEN_TENANTS; i++)
		sqlite3_close(c->conns[i].db);
	free(c->conns);
	c->conns = NULL;
	if (c->ctl_db)
		sqlite3_close(c->ctl_db);
	c->db = c->ctl_db = NULL;
}

void store_lock(struct ctl *c)
{
	pthread_mutex_lock(&c->lock);
	c->db = c->ctl_db;
}

void store_unlock(struct ctl *c)
{
	c->db = c->ctl_db;
	pthread_mutex_unlock(&c->lock);
}

void store_tenant_path(const struct ctl *c, const char *tenant, char *out, size_t len)
{
	snprintf(out, len, "%s/tenants/%s/tenant.db", c->data, tenant);
}

/* A tenant's database, opened and made on first use, with the control
 * database attached as "ctl". */
static sqlite3 *open_tenant(struct ctl *c, const char *tenant)
{
	char path[4200], dir[4200];
	sqlite3 *db, *keep = c->db;
	sqlite3_stmt *st;
	int err;

	snprintf(dir, sizeof(dir), "%s/tenants/%s", c->data, tenant);
	if (mkdir_all(dir, 0700) < 0)
		return NULL;
	store_tenant_path(c, tenant, path, sizeof(path));
	if (!(db = open_db(path)))
		return NULL;
	snprintf(path, sizeof(path), "%s/condod.db", c->data);
	st = store_prepare_in(db, "ATTACH DATABASE ? AS ctl");
	err = st ? (sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT), sqlite3_step(st))
		 : SQLITE_ERROR;
	sqlite3_finalize(st);
	c->db = db;
	if (err == SQLITE_DONE)
		sqlite3_exec(db, VMS_NETWORKS_COLUMN, NULL, NULL, NULL); /* older files */
	if (err != SQLITE_DONE || store_exec(c, tenant_vms_schema) < 0 ||
	    store_exec(c, snapshots_schema) < 0 || meter_schema(c) < 0) {
		log_err("condod", "tenant %s's database: %s", tenant, sqlite3_errmsg(db));
		sqlite3_close(db);
		db = NULL;
	}
	c->db = keep;
	return db;
}

bool store_tenant_exists(struct ctl *c, const char *tenant)
{
	sqlite3_stmt *st = store_prepare_in(c->ctl_db, "SELECT 1 FROM tenants WHERE id = ?");
	bool known;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	known = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return known;
}

int store_use(struct ctl *c, const char *tenant)
{
	struct store_conn *lru = NULL;

	if (!c->per_tenant)
		return 0;
	for (int i = 0; i < STORE_OPEN_TENANTS; i++) {
		struct store_conn *k = &c->conns[i];
		if (k->db && !strcmp(k->tenant, tenant)) {
			k->used = ++c->store_clock;
			c->db = k->db;
			return 0;
		}
		if (!lru || !k->db || (lru->db && k->used < lru->used))
			lru = k;
	}
	/* Made only for a tenant that exists. */
	if (!store_id_ok(tenant) || !store_tenant_exists(c, tenant))
		return -ENOENT;
	if (lru->db)
		sqlite3_close(lru->db);
	lru->db = open_tenant(c, tenant);
	if (!lru->db)
		return -EIO;
	snprintf(lru->tenant, sizeof(lru->tenant), "%s", tenant);
	lru->used = ++c->store_clock;
	c->db = lru->db;
	return 0;
}

void store_forget_tenant(struct ctl *c, const char *tenant)
{
	char path[4200], aux[4300];

	if (!c->per_tenant)
		return;
	for (int i = 0; i < STORE_OPEN_TENANTS; i++)
		if (c->conns[i].db && !strcmp(c->conns[i].tenant, tenant)) {
			if (c->db == c->conns[i].db)
				c->db = c->ctl_db;
			sqlite3_close(c->conns[i].db);
			c->conns[i].db = NULL;
		}
	store_tenant_path(c, tenant, path, sizeof(path));
	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
}

void store_each_db(struct ctl *c, void (*fn)(struct ctl *c, void *arg), void *arg)
{
	sqlite3 *keep = c->db;
	sqlite3_stmt *st;
	char (*ids)[CTL_ID_LEN + 1] = NULL;
	size_t n = 0, cap = 0;

	if (!c->per_tenant) {
		fn(c, arg);
		return;
	}
	/* The ids first: fn may switch databases. */
	c->db = c->ctl_db;
	st = store_prepare(c, "SELECT id FROM tenants ORDER BY id");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			void *more = realloc(ids, (cap = cap ? 2 * cap : 64) * sizeof(*ids));
			if (!more)
				break;
			ids = more;
		}
		snprintf(ids[n++], CTL_ID_LEN + 1, "%s", sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++)
		if (store_use(c, ids[i]) == 0)
			fn(c, arg);
	free(ids);
	c->db = keep;
}

struct find_vm {
	const char *id;
	sqlite3 *found;
};

static void find_vm_in(struct ctl *c, void *arg)
{
	struct find_vm *f = arg;
	sqlite3_stmt *st = f->found ? NULL : store_prepare(c, "SELECT 1 FROM vms WHERE id = ?");

	if (!st)
		return;
	sqlite3_bind_text(st, 1, f->id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		f->found = c->db;
	sqlite3_finalize(st);
}

bool store_find_vm(struct ctl *c, const char *id)
{
	struct find_vm f = { .id = id };

	if (!c->per_tenant)
		return true;
	store_each_db(c, find_vm_in, &f);
	if (f.found)
		c->db = f.found;
	return f.found != NULL;
}

bool store_id_ok(const char *id)
{
	return strlen(id) == CTL_ID_LEN && strspn(id, "0123456789abcdef") == CTL_ID_LEN;
}

void store_new_id(char out[CTL_ID_LEN + 1])
{
	uint8_t raw[CTL_ID_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, CTL_ID_LEN + 1, raw, sizeof(raw));
}

void store_audit(struct ctl *c, const struct ctl_request *r, int status, const char *detail)
{
	/* Always into the control database: one log for the operator. */
	sqlite3_stmt *st = store_prepare_in(c->ctl_db, "INSERT INTO audit (time, tenant_id, "
							"token_id, method, path, status, detail) "
							"VALUES (?, ?, ?, ?, ?, ?, ?)");

	if (!st)
		return;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	if (r->caller.tenant[0])
		sqlite3_bind_text(st, 2, r->caller.tenant, -1, SQLITE_TRANSIENT);
	if (r->caller.token[0])
		sqlite3_bind_text(st, 3, r->caller.token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, r->method, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, r->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 6, status);
	if (detail)
		sqlite3_bind_text(st, 7, detail, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_err("condod", "audit log: %s", sqlite3_errmsg(c->ctl_db));
	sqlite3_finalize(st);
}
