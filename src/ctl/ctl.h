/* condod, the control plane (docs/condod.md): one daemon serving many
 * tenants over an HTTP/1.1 JSON API.  Inside it: the store (SQLite), tokens
 * and roles, the request plumbing, one file per kind of resource, and the
 * supervisor of the VMM processes it starts.  Nothing outside src/ctl
 * includes this header. */
#ifndef CONDO_CTL_H
#define CONDO_CTL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_ID_LEN 16		/* hex characters of a resource id */
#define CTL_MAX_BODY (64 * 1024) /* request bodies beyond this get 413 */
#define CTL_NAME_MAX 63		/* tenant, image and VM names */

enum ctl_role {
	ROLE_NONE = 0,
	ROLE_READ_ONLY,
	ROLE_TENANT_USER,
	ROLE_TENANT_ADMIN,
	ROLE_OPERATOR,
};

/* Who is asking: from the bearer token of the request. */
struct ctl_caller {
	enum ctl_role role;
	char tenant[CTL_ID_LEN + 1]; /* "" for the operator */
	char token[CTL_ID_LEN + 1];  /* the token's id, for the audit log */
};

struct ctl {
	char data[4096];      /* --data DIR */
	char condo[4096];     /* the condo binary VMs run in */
	/* The store (store.c): queries go to db, the control database or,
	 * after store_use(), a tenant's; both are the one database when
	 * the layout is shared (per_tenant false). */
	sqlite3 *db, *ctl_db;
	bool per_tenant;
	struct store_conn *conns; /* the tenant databases open (per-tenant) */
	uint64_t store_clock;
	pthread_mutex_t lock; /* one request at a time in the store */
	uint8_t key[32];      /* tokens are stored as a hash keyed with it */
	/* Failed authentication: a token bucket per peer (see auth.c). */
	struct ctl_limiter *limiter;
	volatile int stopping;
	int jobs_running;         /* under lock */
	pthread_cond_t jobs_done; /* with lock: a job ended */
	/* Backups and restores: one at a time; the VM whose disk a backup
	 * reads now is not started, stopped or deleted meanwhile (under lock). */
	bool backup_running;
	char busy_vm[CTL_ID_LEN + 1];
	char backup_dir[4096]; /* --backup-dir: the default repository */
};

/* A response under construction: status and a JSON body (owned). */
struct ctl_reply {
	int status;
	json_t *body;
	const char *content_type; /* NULL: application/json */
	char *text;               /* a non-JSON body (owned), e.g. /metrics */
	/* A stream that follows a growing file (a console): fd (owned) from
	 * offset, until the process (pid, start time) is gone; fd < 0: none. */
	struct {
		int fd;
		uint64_t offset;
		pid_t pid;
		uint64_t pid_start;
	} follow;
	/* The follow above as a WebSocket session (ws.c), typing allowed or
	 * not, into the FIFO at fifo. */
	bool websocket, may_type;
	char fifo[4400];
};

/* What a handler gets: the method, the path split into segments, the
 * query string's values, the parsed body (NULL for none) and the caller. */
struct ctl_request {
	const char *method;
	const char *path;
	const char *seg[8];
	int nseg;
	json_t *body;
	struct ctl_caller caller;
	void *conn; /* struct MHD_Connection, for query arguments */
};

/* store.c */
/* "shared" or "per-tenant" (condod --data-isolation): 0, or -EINVAL. */
int store_parse_isolation(const char *name, int *per_tenant);
/* Open the store; isolation: the layout a new store gets, checked against
 * an existing one's (-1: whatever it has).  0 or -errno, logged. */
int store_open(struct ctl *c, int isolation);
void store_close(struct ctl *c);
/* Take and give back the lock; c->db is the control database after both. */
void store_lock(struct ctl *c);
void store_unlock(struct ctl *c);
/* Make c->db the database holding tenant's VMs and metering (opened, and
 * made, on first use).  0 or -errno. */
int store_use(struct ctl *c, const char *tenant);
/* Run fn once per database holding VMs: the one database (shared), or
 * each tenant's with c->db turned to it (per-tenant).  c->db is as before
 * afterwards. */
void store_each_db(struct ctl *c, void (*fn)(struct ctl *c, void *arg), void *arg);
/* Turn c->db to the database holding VM id: false when none has it. */
bool store_find_vm(struct ctl *c, const char *id);
/* A deleted tenant's database goes too (per-tenant). */
void store_forget_tenant(struct ctl *c, const char *tenant);
void store_tenant_path(const struct ctl *c, const char *tenant, char *out, size_t len);
/* Run sql with printf-free binding: sqlite3_prepare_v2 + the caller binds. */
sqlite3_stmt *store_prepare(struct ctl *c, const char *sql);
sqlite3_stmt *store_prepare_in(sqlite3 *db, const char *sql);
int store_exec(struct ctl *c, const char *sql);
/* Is there a tenant of this id (in the control database)? */
bool store_tenant_exists(struct ctl *c, const char *tenant);
/* Is id one of ours (CTL_ID_LEN lower-case hex characters)? */
bool store_id_ok(const char *id);
/* A new random id (CTL_ID_LEN hex characters). */
void store_new_id(char out[CTL_ID_LEN + 1]);
void store_audit(struct ctl *c, const struct ctl_request *r, int status, const char *detail);

/* auth.c */
int auth_load_key(struct ctl *c);
/* A new token for tenant (NULL: operator) with role; the secret is written
 * to secret (shown once), its id to id.  0 or -errno. */
int auth_new_token(struct ctl *c, const char *tenant, enum ctl_role role, const char *name,
		   char *secret, size_t len, char id[CTL_ID_LEN + 1]);
/* The caller of a request from its Authorization header: 0, -EACCES (no
 * or bad token) or -EAGAIN (too many failures from this peer). */
int auth_check(struct ctl *c, const char *header, const char *peer, struct ctl_caller *who);
const char *auth_role_name(enum ctl_role role);
enum ctl_role auth_role_parse(const char *name);
struct ctl_limiter *auth_limiter_new(unsigned burst, double period);
void auth_limiter_free(struct ctl_limiter *l);

/* reply helpers (http.c) */
void reply_json(struct ctl_reply *rep, int status, json_t *body);
void reply_error(struct ctl_reply *rep, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The tenant a request may act on: the caller's own, or for the operator
 * any.  False (with a 404 reply) when the caller may not see it. */
bool may_see_tenant(const struct ctl_request *r, const char *tenant);

/* Resource handlers: each returns after filling rep. */
void api_tenants(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
void api_images(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
void api_vms(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
void api_audit(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
void api_backups(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
void api_networks(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
void api_snapshots(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
/* At start: snapshots a stop or crash cut short are deleted. */
void api_snapshots_recover(struct ctl *c);

/* vmm.c: the VMM processes. */
int vmm_start(struct ctl *c, const char *vm_id);
/* Start the VM's VMM, resuming the snapshot in directory restore (NULL:
 * booting): its disk becomes a whole copy of the snapshot's. */
int vmm_launch(struct ctl *c, const char *vm_id, const char *restore);
/* Wait up to ms for the VM's VMM to answer on its control socket: 0,
 * -ESRCH when it ended, -ETIMEDOUT. */
int vmm_ready(struct ctl *c, const char *vm_id, int ms);
/* DATA/tenants/T/vms/V/control.sock into out: false when the path is too
 * long for a socket (the VMM then runs without one). */
bool vmm_control_path(const struct ctl *c, const char *tenant, const char *vm, char *out,
		      size_t len);
int vmm_stop(struct ctl *c, const char *vm_id, bool force);
/* Pause or resume a VM: through its control socket, or (a VMM without
 * one) SIGSTOP and SIGCONT. */
int vmm_signal(struct ctl *c, const char *vm_id, bool pause);
/* Is the VMM recorded for vm still the same running process? */
bool vmm_alive(pid_t pid, uint64_t start_time);
/* Reap exited VMMs, record them, and apply restart policies. */
void vmm_reap(struct ctl *c);
/* The VMs that run (or are paused) now, as the store has them: an array
 * the caller frees, and its length. */
struct vmm_ref {
	char id[CTL_ID_LEN + 1], tenant[CTL_ID_LEN + 1];
	pid_t pid;
	uint64_t pid_start;
};
size_t vmm_running(struct ctl *c, struct vmm_ref **out);
/* Give each running VM its part of its tenant's CPU share (the limit file
 * its VMM reads every second); files are written only when they change. */
void vmm_share_cpu(struct ctl *c);
/* After a daemon restart: VMMs that still run are kept. */
void vmm_reattach(struct ctl *c);
/* The directory of a VM's files: DATA/tenants/T/vms/V. */
void vmm_dir(const struct ctl *c, const char *tenant, const char *vm, char *out, size_t len);

/* console.c: GET and POST /v1/vms/V/console. */
void console_get(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep, const char *vm,
		 const char *tenant);
void console_input(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep, const char *vm,
		   const char *tenant);
/* The running VMM of a VM: false when it has none. */
bool vmm_process(struct ctl *c, const char *vm_id, pid_t *pid, uint64_t *start);

/* meter.c: metering the VMMs (docs/condod.md, "Metering"). */
#define METER_PERIOD 5 /* seconds between readings of every running VMM */
int meter_schema(struct ctl *c);
/* The name of counter i of the store (NULL past the last). */
const char *meter_column(int i);
/* Read a VMM's meter file and add what grew to its VM's totals. */
void meter_sample(struct ctl *c, const char *vm_id, pid_t pid, uint64_t pid_start);
void meter_sample_all(struct ctl *c);

/* api_usage.c: GET /v1/usage and /metrics. */
void api_usage(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
void api_metrics(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);

/* jobs.c: long operations on threads of their own (docs/condod.md). */
void api_jobs(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep);
/* Import host file src into the store as image (its row made, in state
 * 'importing'): a job; its id to job.  The caller holds the lock. */
int job_import_image(struct ctl *c, const char *tenant, const char *image, const char *src,
		     int format, const char *dest, char job[CTL_ID_LEN + 1]);
/* A running job's progress over a known amount of work. */
struct job_meter {
	struct ctl *c;
	char job[CTL_ID_LEN + 1];
	uint64_t done, total;
	double shown;    /* the progress last written */
	bool exclusive;  /* a backup or restore: clears c->backup_running at the end */
};
/* done bytes of total are done: the progress is written each percent,
 * under the lock for that one update.  -ECANCELED when condod stops. */
int job_progress(struct job_meter *m, uint64_t done);
int job_advance(struct job_meter *m, uint64_t bytes);
/* The job ended: done (why NULL) or failed for why. */
void job_end(struct job_meter *m, const char *why);
/* A job's row (state 'running'): 0 or -EIO. */
int job_create(struct ctl *c, const char *tenant, const char *kind, const char *target,
	       char id[CTL_ID_LEN + 1]);
void job_update(struct ctl *c, const char *job, const char *state, double progress,
		const char *error);
/* Run fn(arg) on a thread of its own as job (counted in jobs_running);
 * on failure the job is failed.  The caller holds the lock. */
int job_spawn(struct ctl *c, const char *job, void *(*fn)(void *), void *arg);
/* At start: jobs a stop or crash cut short are failed, their images gone. */
void jobs_recover(struct ctl *c);
/* At stop: wait for the running jobs (cancelled by c->stopping). */
void jobs_wait(struct ctl *c);

/* ws.c: the console over a WebSocket (RFC 6455). */
struct MHD_Connection;
struct MHD_Response;
/* The request asks for a WebSocket (Upgrade: websocket). */
bool ws_wanted(struct MHD_Connection *conn);
/* The 101 response that hands the connection to a session; NULL for a bad
 * handshake (the caller answers 400). */
struct MHD_Response *ws_response(struct ctl *c, struct MHD_Connection *conn,
				 struct ctl_reply *rep, bool may_type, const char *fifo,
				 int *status);

/* http.c */
int http_serve(struct ctl *c, const char *socket_path, const char *listen);

#endif
