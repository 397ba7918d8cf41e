/* The VMM processes condod starts: one `condo run` per VM, in its own
 * session, in the jail `condo run` enters by default (namespaces, seccomp,
 * no privileges), with --jail-dir (an empty root of its own),
 * --image-dir (its overlay's base only from the image store) and, when
 * condod runs as root, a uid of its own (VMM_UID_BASE + a number handed out once per VM).
 * The console goes to DATA/tenants/T/vms/V/console.log.
 *
 * A VMM is recorded by pid and the process's start time (field 22 of
 * /proc/PID/stat), so a pid reused by another process is never taken for
 * it.  VMMs outlive condod: a new condod finds them running and keeps
 * them.  One VMM's crash loses that VM only; condod records it and applies
 * the VM's restart policy (never, on-failure, always; at most
 * VMM_MAX_RESTARTS in a row). */
#define _GNU_SOURCE
#include "ctl/api.h"
#include "condo/control_client.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VMM_UID_BASE 200000
#define VMM_MAX_RESTARTS 5
#define VMM_STOP_WAIT_MS 5000

void vmm_dir(const struct ctl *c, const char *tenant, const char *vm, char *out, size_t len)
{
	snprintf(out, len, "%s/tenants/%s/vms/%s", c->data, tenant, vm);
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks. */
static uint64_t start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu", &t) != 1)
		return 0;
	return t;
}

bool vmm_alive(pid_t pid, uint64_t start)
{
	return pid > 0 && start && start_time(pid) == start;
}

struct vm_row {
	char id[CTL_ID_LEN + 1], tenant[CTL_ID_LEN + 1], state[32], restart[16];
	char networks[VM_MAX_NICS * (CTL_ID_LEN + 1)]; /* "id,id" */
	int64_t uid_slot, vcpus, memory_mib, restarts;
	pid_t pid;
	uint64_t pid_start;
};

static bool load(struct ctl *c, const char *id, struct vm_row *v)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT id, tenant_id, state, restart, networks, "
					    "vcpus, memory_mib, restarts, pid, pid_start FROM vms "
					    "WHERE id = ?");
	bool found;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(v->id, sizeof(v->id), "%s", sqlite3_column_text(st, 0));
		snprintf(v->tenant, sizeof(v->tenant), "%s", sqlite3_column_text(st, 1));
		snprintf(v->state, sizeof(v->state), "%s", sqlite3_column_text(st, 2));
		snprintf(v->restart, sizeof(v->restart), "%s", sqlite3_column_text(st, 3));
		snprintf(v->networks, sizeof(v->networks), "%s", sqlite3_column_text(st, 4));
		v->vcpus = sqlite3_column_int64(st, 5);
		v->memory_mib = sqlite3_column_int64(st, 6);
		v->restarts = sqlite3_column_int64(st, 7);
		v->pid = (pid_t)sqlite3_column_int64(st, 8);
		v->pid_start = (uint64_t)sqlite3_column_int64(st, 9);
	}
	sqlite3_finalize(st);
	return found;
}

/* Record the VM's state, process and (when exited) its exit status. */
static void record(struct ctl *c, const char *id, const char *state, pid_t pid, uint64_t start,
		   const int *exit_status, int64_t restarts)
{
	sqlite3_stmt *st = store_prepare(c, "UPDATE vms SET state = ?, pid = ?, pid_start = ?, "
					    "exit_status = ?, restarts = ? WHERE id = ?");

	if (!st)
		return;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)start);
	if (exit_status)
		sqlite3_bind_int(st, 4, *exit_status);
	sqlite3_bind_int64(st, 5, restarts);
	sqlite3_bind_text(st, 6, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

bool vmm_control_path(const struct ctl *c, const char *tenant, const char *vm, char *out,
		      size_t len)
{
	char dir[4200];

	vmm_dir(c, tenant, vm, dir, sizeof(dir));
	snprintf(out, len, "%s/control.sock", dir);
	return strlen(out) < sizeof(((struct sockaddr_un *)0)->sun_path);
}

/* `condo run` for the VM: booting from its disk, or (restore) resuming a
 * snapshot of it, its disk made a whole copy of the snapshot's. */
static void exec_vmm(const struct ctl *c, const struct vm_row *v, const char *dir,
		     const char *restore)
{
	char mem[32], cpus[16], drive[8600], images[4200], root[4300], log[4300], user[64];
	char fifo[4300], meter[4300], limit[4300], netdir[4300], control[4300];
	char nets[VM_MAX_NICS][64], *save = NULL, *net;
	char ids[sizeof(v->networks)];
	const char *argv[28 + 2 * VM_MAX_NICS];
	int n = 0, fd, k = 0;

	snprintf(mem, sizeof(mem), "%lldM", (long long)v->memory_mib);
	snprintf(cpus, sizeof(cpus), "%lld", (long long)v->vcpus);
	snprintf(drive, sizeof(drive),
		 restore ? "file=%s/disk.qcow2,copy=on,dirty-bitmap=%s/disk.dirty"
			 : "file=%s/disk.qcow2,format=qcow2,discard=unmap,dirty-bitmap=%s/disk.dirty",
		 dir, dir);
	snprintf(images, sizeof(images), "%s/images", c->data);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(log, sizeof(log), "%s/console.log", dir);
	snprintf(meter, sizeof(meter), "%s/meter", dir);
	snprintf(limit, sizeof(limit), "%s/cpu-limit", dir);
	argv[n++] = c->condo;
	argv[n++] = "run";
	if (restore) { /* the board comes from the snapshot */
		argv[n++] = "--restore";
		argv[n++] = restore;
	} else {
		argv[n++] = "--mem";
		argv[n++] = mem;
		argv[n++] = "--cpus";
		argv[n++] = cpus;
	}
	/* pause, resume and snapshots go through it (docs/control.md) */
	if (vmm_control_path(c, v->tenant, v->id, control, sizeof(control))) {
		argv[n++] = "--control";
		argv[n++] = control;
	}
	argv[n++] = "--drive";
	argv[n++] = drive;
	argv[n++] = "--image-dir";
	argv[n++] = images;
	argv[n++] = "--jail-dir";
	argv[n++] = root;
	argv[n++] = "--meter";
	argv[n++] = meter;
	argv[n++] = "--cpu-limit-file";
	argv[n++] = limit;
	/* Each network: a port on its switch, whose socket lies in the
	 * tenant's directory, where no other tenant's VM looks. */
	snprintf(ids, sizeof(ids), "%s", v->networks);
	for (net = strtok_r(ids, ",", &save); net && k < VM_MAX_NICS;
	     net = strtok_r(NULL, ",", &save), k++) {
		snprintf(nets[k], sizeof(nets[k]), "switch=%s", net);
		argv[n++] = "--net";
		argv[n++] = nets[k];
	}
	snprintf(netdir, sizeof(netdir), "%s/tenants/%s/net", c->data, v->tenant);
	setenv("CONDO_NET_DIR", netdir, 1);
	if (geteuid() == 0) {
		unsigned uid = VMM_UID_BASE + (unsigned)v->uid_slot;
		snprintf(user, sizeof(user), "%u:%u", uid, uid);
		argv[n++] = "--jail-user";
		argv[n++] = user;
	}
	argv[n] = NULL;

	setsid();
	/* Console input: a FIFO condod writes into (POST /v1/vms/V/console).
	 * Opened read-write, so the VMM never sees its end when no one
	 * writes, and a new condod can write again after a restart. */
	snprintf(fifo, sizeof(fifo), "%s/console.in", dir);
	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST)
		fd = open("/dev/null", O_RDONLY);
	else
		fd = open(fifo, O_RDWR);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	close_range(3, ~0u, 0);
	mkdir(root, 0755);
	execv(c->condo, (char **)argv);
	dprintf(STDERR_FILENO, "condod: cannot run %s: %s\n", c->condo, strerror(errno));
	_exit(127);
}

/* A tenant's CPU share (a percentage of the host's cores), shared evenly
 * by its running VMs: the cores each may use, with `extra` VMs about to
 * start counted in. */
static double vm_cores(struct ctl *c, const char *tenant, int extra)
{
	sqlite3_stmt *st = store_prepare(c, "SELECT cpu_share, (SELECT count(*) FROM vms WHERE "
					    "tenant_id = ?1 AND state IN ('running', 'paused')) "
					    "FROM tenants WHERE id = ?1");
	double share = 100, running = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (st) {
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			share = (double)sqlite3_column_int64(st, 0);
			running = (double)sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
	}
	running += extra;
	return share / 100.0 * (double)(cores > 0 ? cores : 1) / (running > 0 ? running : 1);
}

/* Write a VM's limit file (read by its VMM every second) when it changed. */
static void write_limit(const char *dir, double cores)
{
	char path[4300], want[32], have[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cpu-limit", dir);
	snprintf(want, sizeof(want), "%.3f\n", cores < 0.01 ? 0.01 : cores);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = pread(fd, have, sizeof(have) - 1, 0);
	have[n > 0 ? n : 0] = '\0';
	if (strcmp(have, want) && ftruncate(fd, 0) == 0 &&
	    pwrite(fd, want, strlen(want), 0) != (ssize_t)strlen(want))
		log_err("condod", "cannot write %s", path);
	close(fd);
}

void vmm_share_cpu(struct ctl *c)
{
	struct vmm_ref *vms;
	size_t n = vmm_running(c, &vms);
	char dir[4200];

	for (size_t i = 0; i < n; i++) {
		if (store_use(c, vms[i].tenant) < 0)
			continue;
		vmm_dir(c, vms[i].tenant, vms[i].id, dir, sizeof(dir));
		write_limit(dir, vm_cores(c, vms[i].tenant, 0));
	}
	free(vms);
}

/* The VM's own uid above VMM_UID_BASE: a number the control database
 * hands out once per VM, unique across tenants whatever the layout. */
static int64_t uid_slot(struct ctl *c, const char *vm)
{
	sqlite3_stmt *st = store_prepare(c, "INSERT OR IGNORE INTO vm_uids (vm_id) VALUES (?)");
	int64_t n = -1;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	st = store_prepare(c, "SELECT n FROM vm_uids WHERE vm_id = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int start_row(struct ctl *c, struct vm_row *v, int64_t restarts, const char *restore)
{
	char dir[4200];
	pid_t pid;

	vmm_dir(c, v->tenant, v->id, dir, sizeof(dir));
	write_limit(dir, vm_cores(c, v->tenant, 1));
	v->uid_slot = uid_slot(c, v->id);
	if (v->uid_slot <= 0)
		return -EIO;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		exec_vmm(c, v, dir, restore);
	record(c, v->id, "running", pid, start_time(pid), NULL, restarts);
	log_info("condod", "VM %s started (pid %d)", v->id, (int)pid);
	return 0;
}

int vmm_launch(struct ctl *c, const char *vm_id, const char *restore)
{
	struct vm_row v;

	if (!load(c, vm_id, &v))
		return -ENOENT;
	if (vmm_alive(v.pid, v.pid_start))
		return -EBUSY;
	return start_row(c, &v, 0, restore);
}

int vmm_start(struct ctl *c, const char *vm_id)
{
	return vmm_launch(c, vm_id, NULL);
}

/* Wait up to ms for the VMM to go (reaping it when it is our child). */
static bool wait_gone(const struct vm_row *v, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		if (waitpid(v->pid, NULL, WNOHANG) == v->pid || !vmm_alive(v->pid, v->pid_start))
			return true;
		usleep(20000);
	}
	return false;
}

int vmm_stop(struct ctl *c, const char *vm_id, bool force)
{
	struct vm_row v;

	if (!load(c, vm_id, &v))
		return -ENOENT;
	if (vmm_alive(v.pid, v.pid_start)) {
		kill(v.pid, SIGCONT);
		kill(v.pid, force ? SIGKILL : SIGTERM);
		if (!wait_gone(&v, VMM_STOP_WAIT_MS)) {
			kill(v.pid, SIGKILL);
			if (!wait_gone(&v, VMM_STOP_WAIT_MS))
				return -ETIMEDOUT;
		}
		meter_sample(c, v.id, v.pid, v.pid_start); /* its last counts */
	}
	record(c, v.id, "stopped", 0, 0, NULL, 0);
	return 0;
}

bool vmm_process(struct ctl *c, const char *vm_id, pid_t *pid, uint64_t *start)
{
	struct vm_row v;

	if (!load(c, vm_id, &v) || !vmm_alive(v.pid, v.pid_start))
		return false;
	*pid = v.pid;
	*start = v.pid_start;
	return true;
}

/* Ask the VMM through its control socket: 0, -ENOENT when it has none
 * (started by an older condod), or another -errno. */
static int control(const struct ctl *c, const struct vm_row *v, const char *cmd)
{
	char path[4300];
	json_t *req, *reply;
	int sock, err;

	if (!vmm_control_path(c, v->tenant, v->id, path, sizeof(path)) || access(path, F_OK) < 0)
		return -ENOENT;
	sock = control_connect("condod", path);
	if (sock < 0)
		return -ECONNREFUSED;
	req = json_pack("{s:s}", "cmd", cmd);
	reply = req ? control_call("condod", sock, req, NULL, 0) : NULL;
	err = control_check("condod", reply) < 0 ? -EBUSY : 0;
	json_decref(req);
	json_decref(reply);
	close(sock);
	return err;
}

int vmm_signal(struct ctl *c, const char *vm_id, bool pause)
{
	struct vm_row v;
	int err;

	if (!load(c, vm_id, &v) || !vmm_alive(v.pid, v.pid_start))
		return -ESRCH;
	/* Through the control socket the guest's clock does not jump, and
	 * a paused VM can still be snapshotted; else (an older VMM) stop
	 * its threads. */
	err = control(c, &v, pause ? "pause" : "resume");
	if (err == -ENOENT)
		err = kill(v.pid, pause ? SIGSTOP : SIGCONT) < 0 ? -errno : 0;
	if (err)
		return err;
	record(c, v.id, pause ? "paused" : "running", v.pid, v.pid_start, NULL, v.restarts);
	return 0;
}

int vmm_ready(struct ctl *c, const char *vm_id, int ms)
{
	struct vm_row v;

	for (int waited = 0; waited <= ms; waited += 20) {
		if (!load(c, vm_id, &v))
			return -ENOENT;
		if (waitpid(v.pid, NULL, WNOHANG) == v.pid || !vmm_alive(v.pid, v.pid_start))
			return -ESRCH;
		if (control(c, &v, "status") == 0)
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

/* A VMM that went away by itself: record how, then restart it if its
 * policy says so.  status: the wait status, or -1 when unknown (a VMM
 * condod did not start, found gone). */
static void gone(struct ctl *c, struct vm_row *v, int status)
{
	int code = status < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status)
						      : 128 + WTERMSIG(status);
	bool failed = code != 0;
	bool again = !strcmp(v->restart, "always") ||
		     (!strcmp(v->restart, "on-failure") && failed);

	log_info("condod", "VM %s: its VMM (pid %d) %s %d", v->id, (int)v->pid,
		 status >= 0 && WIFSIGNALED(status) ? "was killed by signal" : "exited with",
		 status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : code);
	meter_sample(c, v->id, v->pid, v->pid_start); /* its last counts */
	record(c, v->id, failed ? "crashed" : "stopped", 0, 0, &code, v->restarts);
	if (again && v->restarts < VMM_MAX_RESTARTS && !c->stopping)
		start_row(c, v, v->restarts + 1, NULL);
}

void vmm_reap(struct ctl *c)
{
	struct vmm_ref *vms;
	size_t n = vmm_running(c, &vms);
	struct vm_row v;
	int status;
	pid_t pid;

	/* Our children first: their exit status is known.  Each VMM's own pid
	 * is waited for, never any child: a job's child (condo snapshot) is
	 * its thread's to reap. */
	for (size_t i = 0; i < n; i++) {
		pid = vms[i].pid > 0 ? waitpid(vms[i].pid, &status, WNOHANG) : 0;
		if (pid != vms[i].pid)
			continue;
		if (store_use(c, vms[i].tenant) == 0 && load(c, vms[i].id, &v))
			gone(c, &v, status);
		vms[i].pid = 0; /* done with */
	}
	/* Then VMMs of an earlier condod (not our children): alive or not. */
	for (size_t i = 0; i < n; i++) {
		if (!vms[i].pid || store_use(c, vms[i].tenant) < 0)
			continue;
		if (load(c, vms[i].id, &v) && !vmm_alive(v.pid, v.pid_start))
			gone(c, &v, -1);
	}
	free(vms);
}

struct running {
	struct vmm_ref *vms;
	size_t n, cap;
};

static void running_in(struct ctl *c, void *arg)
{
	struct running *r = arg;
	sqlite3_stmt *st = store_prepare(c, "SELECT id, tenant_id, pid, pid_start FROM vms WHERE "
					    "state IN ('running', 'paused')");

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (r->n == r->cap) {
			void *more = realloc(r->vms, (r->cap = r->cap ? 2 * r->cap : 64) *
							     sizeof(*r->vms));
			if (!more)
				break;
			r->vms = more;
		}
		struct vmm_ref *v = &r->vms[r->n++];
		snprintf(v->id, sizeof(v->id), "%s", sqlite3_column_text(st, 0));
		snprintf(v->tenant, sizeof(v->tenant), "%s", sqlite3_column_text(st, 1));
		v->pid = (pid_t)sqlite3_column_int64(st, 2);
		v->pid_start = (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
}

size_t vmm_running(struct ctl *c, struct vmm_ref **out)
{
	struct running r = { 0 };

	store_each_db(c, running_in, &r);
	*out = r.vms;
	return r.n;
}

void vmm_reattach(struct ctl *c)
{
	struct vmm_ref *vms;
	size_t n = vmm_running(c, &vms);

	free(vms);
	vmm_reap(c);
	if (n)
		log_info("condod", "%zu VM(s) were running; those still alive are kept", n);
}
