/* Metering: every METER_PERIOD seconds, and when a VMM ends, condod reads
 * each VMM's meter file (condo run --meter, condo/meter.h) and adds what
 * grew since the last reading to the VM's totals, and a sample row for
 * /v1/usage, in one transaction.
 *
 * The counters a VMM writes start at 0 with each VMM process; condod keeps
 * the last reading with the VMM's identity (pid and start time), so a new
 * VMM's counters count in full and an old one's only what grew.  Totals
 * and samples live in the store: they survive restarts of condod and of
 * VMs, and they never go down.  Memory is billed as MiB-milliseconds: the
 * VM's memory times the VMM's uptime. */
#include "ctl/ctl.h"
#include "condo/meter.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The counters, in the order of the store's columns. */
enum { M_INSNS, M_CPU_NS, M_MEM_MIB_MS, M_DISK_RB, M_DISK_WB, M_DISK_RO, M_DISK_WO, M_NET_RX,
       M_NET_TX, M_COUNT };

static const char *const columns[M_COUNT] = {
	"insns", "cpu_ns", "memory_mib_ms", "disk_read_bytes", "disk_write_bytes",
	"disk_read_ops", "disk_write_ops", "net_rx_bytes", "net_tx_bytes",
};

const char *meter_column(int i)
{
	return i >= 0 && i < M_COUNT ? columns[i] : NULL;
}

int meter_schema(struct ctl *c)
{
	return store_exec(c,
		"CREATE TABLE IF NOT EXISTS meter_totals (vm_id TEXT PRIMARY KEY,"
		"  tenant_id TEXT NOT NULL, vm_name TEXT NOT NULL, insns INTEGER NOT NULL DEFAULT 0,"
		"  cpu_ns INTEGER NOT NULL DEFAULT 0, memory_mib_ms INTEGER NOT NULL DEFAULT 0,"
		"  disk_read_bytes INTEGER NOT NULL DEFAULT 0, disk_write_bytes INTEGER NOT NULL"
		"  DEFAULT 0, disk_read_ops INTEGER NOT NULL DEFAULT 0, disk_write_ops INTEGER NOT"
		"  NULL DEFAULT 0, net_rx_bytes INTEGER NOT NULL DEFAULT 0, net_tx_bytes INTEGER NOT"
		"  NULL DEFAULT 0);"
		"CREATE TABLE IF NOT EXISTS meter_last (vm_id TEXT PRIMARY KEY, pid INTEGER NOT NULL,"
		"  pid_start INTEGER NOT NULL, uptime_ns INTEGER NOT NULL, insns INTEGER NOT NULL,"
		"  cpu_ns INTEGER NOT NULL, disk_read_bytes INTEGER NOT NULL, disk_write_bytes"
		"  INTEGER NOT NULL, disk_read_ops INTEGER NOT NULL, disk_write_ops INTEGER NOT NULL,"
		"  net_rx_bytes INTEGER NOT NULL, net_tx_bytes INTEGER NOT NULL);"
		"CREATE TABLE IF NOT EXISTS meter_samples (time INTEGER NOT NULL, vm_id TEXT NOT NULL,"
		"  tenant_id TEXT NOT NULL, insns INTEGER, cpu_ns INTEGER, memory_mib_ms INTEGER,"
		"  disk_read_bytes INTEGER, disk_write_bytes INTEGER, disk_read_ops INTEGER,"
		"  disk_write_ops INTEGER, net_rx_bytes INTEGER, net_tx_bytes INTEGER);"
		"CREATE INDEX IF NOT EXISTS meter_samples_tenant ON meter_samples(tenant_id, time);");
}

/* The record, whole: seq and seq_end agree (else a write was caught
 * midway, and it is read again). */
static bool read_record(const char *path, struct meter_record *r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = false;

	if (fd < 0)
		return false;
	for (int tries = 0; tries < 5 && !ok; tries++) {
		ok = pread(fd, r, sizeof(*r), 0) == (ssize_t)sizeof(*r) &&
		     !memcmp(r->magic, METER_MAGIC, sizeof(r->magic)) &&
		     r->version == METER_VERSION && r->size == sizeof(*r) && r->seq == r->seq_end;
		if (!ok)
			usleep(1000);
	}
	close(fd);
	return ok;
}

static void raw_values(const struct meter_record *r, int64_t v[M_COUNT])
{
	v[M_INSNS] = (int64_t)r->insns;
	v[M_CPU_NS] = (int64_t)r->cpu_ns;
	v[M_MEM_MIB_MS] = 0;
	v[M_DISK_RB] = (int64_t)r->disk_read_bytes;
	v[M_DISK_WB] = (int64_t)r->disk_write_bytes;
	v[M_DISK_RO] = (int64_t)r->disk_read_ops;
	v[M_DISK_WO] = (int64_t)r->disk_write_ops;
	v[M_NET_RX] = (int64_t)r->net_rx_bytes;
	v[M_NET_TX] = (int64_t)r->net_tx_bytes;
}

/* The last reading of this VMM (false: none, or another VMM's). */
static bool last_reading(struct ctl *c, const char *vm, pid_t pid, uint64_t start,
			 int64_t last[M_COUNT], int64_t *uptime)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT pid, pid_start, uptime_ns, insns, cpu_ns, "
					    "disk_read_bytes, disk_write_bytes, disk_read_ops, "
					    "disk_write_ops, net_rx_bytes, net_tx_bytes FROM "
					    "meter_last WHERE vm_id = ?");
	bool same = false;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == pid &&
	    (uint64_t)sqlite3_column_int64(st, 1) == start) {
		same = true;
		*uptime = sqlite3_column_int64(st, 2);
		last[M_INSNS] = sqlite3_column_int64(st, 3);
		last[M_CPU_NS] = sqlite3_column_int64(st, 4);
		last[M_MEM_MIB_MS] = 0;
		for (int i = M_DISK_RB; i < M_COUNT; i++)
			last[i] = sqlite3_column_int64(st, i + 2);
	}
	sqlite3_finalize(st);
	return same;
}

static int store_reading(struct ctl *c, const char *vm, pid_t pid, uint64_t start,
			 const struct meter_record *r, const int64_t v[M_COUNT])
{
	sqlite3_stmt *st = store_prepare(c, "INSERT OR REPLACE INTO meter_last VALUES (?, ?, ?, "
					    "?, ?, ?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, pid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)start);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->uptime_ns);
	sqlite3_bind_int64(st, 5, v[M_INSNS]);
	sqlite3_bind_int64(st, 6, v[M_CPU_NS]);
	for (int i = M_DISK_RB; i < M_COUNT; i++)
		sqlite3_bind_int64(st, i + 4, v[i]);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int add_deltas(struct ctl *c, const char *vm, const char *tenant, const char *name,
		      const int64_t d[M_COUNT])
{
	char sql[1024];
	size_t n;
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(c, "INSERT OR IGNORE INTO meter_totals (vm_id, tenant_id, vm_name) "
			      "VALUES (?, ?, ?)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	n = (size_t)snprintf(sql, sizeof(sql), "UPDATE meter_totals SET ");
	for (int i = 0; i < M_COUNT; i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s = %s + ?", i ? ", " : "",
				      columns[i], columns[i]);
	snprintf(sql + n, sizeof(sql) - n, " WHERE vm_id = ?");
	st = store_prepare(c, sql);
	if (!st)
		return -EIO;
	for (int i = 0; i < M_COUNT; i++)
		sqlite3_bind_int64(st, i + 1, d[i]);
	sqlite3_bind_text(st, M_COUNT + 1, vm, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	st = store_prepare(c, "INSERT INTO meter_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
			      "?)");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 2, vm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, tenant, -1, SQLITE_TRANSIENT);
	for (int i = 0; i < M_COUNT; i++)
		sqlite3_bind_int64(st, i + 4, d[i]);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

void meter_sample(struct ctl *c, const char *vm, pid_t pid, uint64_t start)
{
	char tenant[CTL_ID_LEN + 1] = "", name[CTL_NAME_MAX + 1] = "", dir[4200], path[4300];
	int64_t v[M_COUNT], last[M_COUNT] = { 0 }, d[M_COUNT], memory_mib = 0, uptime = 0;
	struct meter_record r;
	sqlite3_stmt *st;
	bool any = false;

	st = store_prepare(c, "SELECT tenant_id, name, memory_mib FROM vms WHERE id = ?");
	if (!st)
		return;
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(tenant, sizeof(tenant), "%s", sqlite3_column_text(st, 0));
		snprintf(name, sizeof(name), "%s", sqlite3_column_text(st, 1));
		memory_mib = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (!tenant[0])
		return;
	vmm_dir(c, tenant, vm, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/meter", dir);
	if (!read_record(path, &r))
		return;
	raw_values(&r, v);
	if (!last_reading(c, vm, pid, start, last, &uptime))
		memset(last, 0, sizeof(last)), uptime = 0;
	for (int i = 0; i < M_COUNT; i++) {
		d[i] = v[i] > last[i] ? v[i] - last[i] : 0;
		any |= d[i] != 0;
	}
	if ((int64_t)r.uptime_ns > uptime)
		d[M_MEM_MIB_MS] = memory_mib * (((int64_t)r.uptime_ns - uptime) / 1000000);
	any |= d[M_MEM_MIB_MS] != 0;
	if (store_exec(c, "BEGIN IMMEDIATE") < 0)
		return;
	if ((any && add_deltas(c, vm, tenant, name, d) < 0) ||
	    store_reading(c, vm, pid, start, &r, v) < 0) {
		store_exec(c, "ROLLBACK");
		log_err("condod", "metering VM %s: the store failed", vm);
		return;
	}
	store_exec(c, "COMMIT");
}

void meter_sample_all(struct ctl *c)
{
	struct vmm_ref *vms;
	size_t n = vmm_running(c, &vms);

	for (size_t i = 0; i < n; i++)
		if (vms[i].pid > 0 && store_use(c, vms[i].tenant) == 0)
			meter_sample(c, vms[i].id, vms[i].pid, vms[i].pid_start);
	free(vms);
}
