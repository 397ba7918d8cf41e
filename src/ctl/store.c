/* condod's store: one SQLite database in WAL mode (DATA/condod.db), the
 * schema, ids and the audit log.  Every row that belongs to a tenant
 * carries its tenant id, and every query a tenant's request makes names
 * it, so one tenant's rows are never read for another. */
#include "ctl/ctl.h"
#include "condo/log.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char schema[] =
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
	"CREATE TABLE IF NOT EXISTS vms ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),"
	"  name TEXT NOT NULL, image_id TEXT NOT NULL REFERENCES images(id),"
	"  vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL, disk_bytes INTEGER NOT NULL,"
	"  state TEXT NOT NULL, restart TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0,"
	"  pid_start INTEGER NOT NULL DEFAULT 0, exit_status INTEGER, restarts INTEGER NOT NULL"
	"  DEFAULT 0, created INTEGER NOT NULL, UNIQUE(tenant_id, name));"
	"CREATE TABLE IF NOT EXISTS jobs ("
	"  id TEXT PRIMARY KEY, tenant_id TEXT, kind TEXT NOT NULL, target TEXT NOT NULL,"
	"  state TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error TEXT,"
	"  created INTEGER NOT NULL, finished INTEGER);"
	"CREATE TABLE IF NOT EXISTS audit ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, tenant_id TEXT,"
	"  token_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,"
	"  detail TEXT);";

int store_exec(struct ctl *c, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	log_err("condod", "store: %s", msg ? msg : sqlite3_errmsg(c->db));
	sqlite3_free(msg);
	return -EIO;
}

sqlite3_stmt *store_prepare(struct ctl *c, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("condod", "store: %s: %s", sqlite3_errmsg(c->db), sql);
		return NULL;
	}
	return st;
}

int store_open(struct ctl *c)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/condod.db", c->data);
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				  SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		log_err("condod", "cannot open the store %s: %s", path,
			c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return -EIO;
	}
	sqlite3_busy_timeout(c->db, 5000);
	/* WAL: readers never wait on the writer, and a crash loses at most
	 * the transaction in flight. */
	if (store_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			  "PRAGMA foreign_keys=ON;") < 0 ||
	    store_exec(c, schema) < 0 || meter_schema(c) < 0)
		return -EIO;
	/* Stores made before images had a state. */
	sqlite3_exec(c->db, "ALTER TABLE images ADD COLUMN state TEXT NOT NULL DEFAULT 'ready'",
		     NULL, NULL, NULL);
	return 0;
}

void store_close(struct ctl *c)
{
	if (c->db)
		sqlite3_close(c->db);
	c->db = NULL;
}

void store_new_id(char out[CTL_ID_LEN + 1])
{
	uint8_t raw[CTL_ID_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, CTL_ID_LEN + 1, raw, sizeof(raw));
}

void store_audit(struct ctl *c, const struct ctl_request *r, int status, const char *detail)
{
	sqlite3_stmt *st = store_prepare(c, "INSERT INTO audit (time, tenant_id, token_id, method,"
					    " path, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)");

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
		log_err("condod", "audit log: %s", sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
}
