/* What tenants used, from the metering samples (meter.c).
 *   GET /v1/usage?tenant=T&from=UNIX&to=UNIX&step=SECONDS
 *       sums per step from `from` (default: 24 hours ago) to `to` (default:
 *       now), and the tenant's totals since its first VM (operator: any
 *       tenant; others: their own, tenant= optional)
 *   GET /metrics   every VM's totals in Prometheus' text format (operator)
 * Instructions are counts, CPU time is seconds (from nanoseconds), memory
 * is MiB-seconds (from MiB-milliseconds). */
#include "ctl/api.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE_MAX_STEPS 10000

/* A counter as shown: the JSON field and Prometheus metric it becomes. */
struct shown {
	const char *field, *metric, *help;
	double scale; /* the stored unit to the shown one */
};

static const struct shown shown[] = {
	{ "instructions", "condo_vm_instructions_total", "Guest instructions retired.", 1 },
	{ "cpu_seconds", "condo_vm_cpu_seconds_total", "Host CPU time of the VM's VMM.", 1e-9 },
	{ "memory_mib_seconds", "condo_vm_memory_mib_seconds_total",
	  "Guest memory held, in MiB times seconds.", 1e-3 },
	{ "disk_read_bytes", "condo_vm_disk_read_bytes_total", "Bytes the guest read from disks.",
	  1 },
	{ "disk_write_bytes", "condo_vm_disk_written_bytes_total",
	  "Bytes the guest wrote to disks.", 1 },
	{ "disk_read_ops", "condo_vm_disk_reads_total", "Disk read requests.", 1 },
	{ "disk_write_ops", "condo_vm_disk_writes_total", "Disk write requests.", 1 },
	{ "net_rx_bytes", "condo_vm_network_receive_bytes_total", "Bytes received.", 1 },
	{ "net_tx_bytes", "condo_vm_network_transmit_bytes_total", "Bytes sent.", 1 },
};
#define NSHOWN (sizeof(shown) / sizeof(shown[0]))

static json_t *counters_json(sqlite3_stmt *st, int first)
{
	json_t *o = json_object();

	for (size_t i = 0; i < NSHOWN; i++) {
		sqlite3_int64 v = sqlite3_column_int64(st, first + (int)i);
		json_object_set_new(o, shown[i].field, shown[i].scale == 1
							       ? json_integer(v)
							       : json_real((double)v * shown[i].scale));
	}
	return o;
}

static bool query_int(struct ctl_request *r, const char *name, long long dflt, long long *out)
{
	const char *s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;

	*out = dflt;
	if (!s)
		return true;
	*out = strtoll(s, &end, 10);
	return *s && !*end && *out >= 0;
}

/* "SUM(insns), SUM(cpu_ns), ..." (or the plain columns) for a query. */
static void column_list(char *out, size_t len, bool sum)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; meter_column(i) && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, sum ? "%sifnull(sum(%s), 0)" : "%s%s",
				      i ? ", " : "", meter_column(i));
}

void api_usage(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	const char *tenant = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "tenant");
	long long now = (long long)time(NULL), from, to, step;
	char cols[512], sql[1024];
	json_t *buckets, *out;
	sqlite3_stmt *st;

	if (r->nseg != 2 || strcmp(r->method, "GET"))
		return reply_error(rep, 405, "method_not_allowed", "%s %s is not served", r->method,
				   r->path);
	if (!tenant)
		tenant = r->caller.tenant;
	if (!tenant[0])
		return reply_error(rep, 400, "bad_request", "tenant= is needed");
	if (!may_see_tenant(r, tenant) || !store_tenant_exists(c, tenant))
		return reply_error(rep, 404, "not_found", "no tenant %s", tenant);
	if (!query_int(r, "to", now, &to) || !query_int(r, "from", to - 86400, &from) ||
	    !query_int(r, "step", 3600, &step) || step < 1 || from > to ||
	    (to - from) / step > USAGE_MAX_STEPS)
		return reply_error(rep, 400, "bad_request",
				   "from, to (Unix times, from <= to) and step (seconds, at most "
				   "%d steps) are whole numbers",
				   USAGE_MAX_STEPS);
	if (store_use(c, tenant) < 0)
		return reply_error(rep, 500, "store", "the tenant's database cannot be opened");
	column_list(cols, sizeof(cols), true);
	snprintf(sql, sizeof(sql), "SELECT (time - ?2) / ?4, %s FROM meter_samples WHERE "
		 "tenant_id = ?1 AND time >= ?2 AND time <= ?3 GROUP BY 1 ORDER BY 1", cols);
	st = store_prepare(c, sql);
	if (!st)
		return reply_error(rep, 500, "store", "the store failed");
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, step);
	buckets = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *b = counters_json(st, 1);
		json_object_set_new(b, "start", json_integer(from + sqlite3_column_int64(st, 0) * step));
		json_array_append_new(buckets, b);
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "SELECT %s FROM meter_totals WHERE tenant_id = ?", cols);
	st = store_prepare(c, sql);
	out = json_pack("{s:s,s:I,s:I,s:I,s:o}", "tenant", tenant, "from", (json_int_t)from, "to",
			(json_int_t)to, "step", (json_int_t)step, "buckets", buckets);
	if (st) {
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			json_object_set_new(out, "total", counters_json(st, 0));
		sqlite3_finalize(st);
	}
	reply_json(rep, 200, out);
}

/* Append to a growing text buffer. */
static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (*buf && *len + (size_t)n < *cap) {
			*len += (size_t)n;
			return;
		}
		size_t want = (*cap ? *cap * 2 : 4096) + (size_t)n;
		char *more = realloc(*buf, want);
		if (!more)
			return;
		*buf = more;
		*cap = want;
	}
}

/* What /metrics gathers from each database. */
struct metrics {
	char sql[1024];
	size_t metric; /* the counter being listed */
	char *buf;
	size_t len, cap;
	json_t *states; /* VMs by state, over every database */
};

static void metric_rows(struct ctl *c, void *arg)
{
	struct metrics *m = arg;
	sqlite3_stmt *st = store_prepare(c, m->sql);
	size_t i = m->metric;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		double v = (double)sqlite3_column_int64(st, 4 + (int)i) * shown[i].scale;
		/* Names and ids are [a-z0-9._-]: nothing to escape in a label. */
		put(&m->buf, &m->len, &m->cap,
		    "%s{tenant_id=\"%s\",tenant=\"%s\",vm_id=\"%s\",vm=\"%s\"} %.17g\n",
		    shown[i].metric, sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2), sqlite3_column_text(st, 3), v);
	}
	sqlite3_finalize(st);
}

static void count_states(struct ctl *c, void *arg)
{
	struct metrics *m = arg;
	sqlite3_stmt *st = store_prepare(c, "SELECT state, count(*) FROM vms GROUP BY state");

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		json_int_t n = json_integer_value(json_object_get(m->states, state));
		json_object_set_new(m->states, state, json_integer(n + sqlite3_column_int64(st, 1)));
	}
	sqlite3_finalize(st);
}

void api_metrics(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	struct metrics m = { .states = json_object() };
	char cols[512];
	const char *state;
	json_t *n;

	if (strcmp(r->method, "GET") || r->caller.role != ROLE_OPERATOR) {
		json_decref(m.states);
		if (strcmp(r->method, "GET"))
			return reply_error(rep, 405, "method_not_allowed", "%s %s is not served",
					   r->method, r->path);
		return reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
	}
	column_list(cols, sizeof(cols), false);
	snprintf(m.sql, sizeof(m.sql), "SELECT m.tenant_id, ifnull(t.name, ''), m.vm_id, "
		 "m.vm_name, %s FROM meter_totals m LEFT JOIN tenants t ON t.id = m.tenant_id "
		 "ORDER BY m.tenant_id, m.vm_id", cols);
	for (m.metric = 0; m.metric < NSHOWN; m.metric++) {
		put(&m.buf, &m.len, &m.cap, "# HELP %s %s\n# TYPE %s counter\n",
		    shown[m.metric].metric, shown[m.metric].help, shown[m.metric].metric);
		store_each_db(c, metric_rows, &m);
	}
	put(&m.buf, &m.len, &m.cap, "# HELP condo_vms VMs by state.\n# TYPE condo_vms gauge\n");
	store_each_db(c, count_states, &m);
	json_object_foreach(m.states, state, n)
		put(&m.buf, &m.len, &m.cap, "condo_vms{state=\"%s\"} %lld\n", state,
		    (long long)json_integer_value(n));
	json_decref(m.states);
	if (!m.buf)
		return reply_error(rep, 500, "internal", "out of memory");
	rep->status = 200;
	rep->text = m.buf;
	rep->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
