/* Resource limits: rlimits on the process (address space, descriptors,
 * processes and threads of its uid, no core files) and a cgroup v2 leaf
 * (memory.max, pids.max) when the host lets condo create one.  A leaf
 * cannot be removed while condo is in it, so each new condo first removes
 * the empty leaves earlier ones left (rmdir fails on a populated one). */
#define _GNU_SOURCE
#include "jail/jail_internal.h"
#include "condo/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int set_limit(struct jail *j, int resource, const char *name, uint64_t value)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) < 0)
		return -errno;
	/* Never above what the caller already had. */
	if (rl.rlim_max != RLIM_INFINITY && value > rl.rlim_max)
		value = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) < 0) {
		log_err("jail", "cannot set %s to %llu: %s", name, (unsigned long long)value,
			strerror(errno));
		return -errno;
	}
	return 0;
}

int jail_rlimits(struct jail *j)
{
	const struct jail_config *c = &j->cfg;
	int err = 0;

	if (c->as_limit && JAIL_SANITIZED)
		jail_skip(j, "RLIMIT_AS (the sanitizers' shadow memory needs terabytes)");
	else if (c->as_limit)
		err = set_limit(j, RLIMIT_AS, "RLIMIT_AS", c->as_limit);
	if (!err && c->nofile)
		err = set_limit(j, RLIMIT_NOFILE, "RLIMIT_NOFILE", c->nofile);
	/* RLIMIT_NPROC counts every process and thread of the real uid, and
	 * with root mapped away every VM is the same host uid (nobody): a
	 * per-VM figure there would stop the next VM's threads.  So it is a
	 * bound only for a uid given with --jail-user, on everything that uid
	 * runs; one guest's threads are bounded by the cgroup's pids.max. */
	if (!err && c->nproc && j->drop_user)
		err = set_limit(j, RLIMIT_NPROC, "RLIMIT_NPROC", c->nproc);
	else if (c->nproc)
		jail_skip(j, "RLIMIT_NPROC (a uid shared with other guests)");
	if (!err)
		err = set_limit(j, RLIMIT_CORE, "RLIMIT_CORE", 0);
	return err;
}

/* The cgroup v2 mount, from /proc/self/mountinfo. */
static int cgroup2_mount(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (found && fgets(line, sizeof(line), f)) {
		char mnt[512], *dash = strstr(line, " - cgroup2 ");
		if (dash && sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(out, size, "%s", mnt);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* The process's cgroup v2 path ("0::/path"). */
static int own_cgroup(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[512];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, size, "%.200s", line + 3);
			found = 0;
		}
	fclose(f);
	return found;
}

static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	char path[600];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "condo-", 6)) {
			snprintf(path, sizeof(path), "%.300s/%.255s", parent, e->d_name);
			rmdir(path); /* fails, harmlessly, while in use */
		}
	closedir(d);
}

static int write_value(const char *dir, const char *file, uint64_t value)
{
	char path[600], num[32];
	int fd, n;

	snprintf(path, sizeof(path), "%.400s/%.100s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	n = write(fd, num, (size_t)n) == n ? 0 : -errno;
	close(fd);
	return n;
}

int jail_cgroup(struct jail *j)
{
	char mnt[512], own[256], parent[520];
	const struct jail_config *c = &j->cfg;

	if (cgroup2_mount(mnt, sizeof(mnt)) < 0 || own_cgroup(own, sizeof(own)) < 0) {
		jail_skip(j, "cgroup (no cgroup v2 hierarchy)");
		return 0;
	}
	snprintf(parent, sizeof(parent), "%.300s%.200s", mnt, strcmp(own, "/") ? own : "");
	sweep_stale(parent);
	snprintf(j->cgroup, sizeof(j->cgroup), "%.200s/condo-%d", parent, (int)getpid());
	if (mkdir(j->cgroup, 0755) < 0) {
		char what[128];
		snprintf(what, sizeof(what), "cgroup leaf (%s)", strerror(errno));
		jail_skip(j, what);
		j->cgroup[0] = 0;
		return 0;
	}
	if (c->mem_max && !JAIL_SANITIZED && write_value(j->cgroup, "memory.max", c->mem_max) < 0)
		jail_skip(j, "cgroup memory.max (no memory controller)");
	if (c->pids_max && write_value(j->cgroup, "pids.max", c->pids_max) < 0)
		jail_skip(j, "cgroup pids.max (no pids controller)");
	if (write_value(j->cgroup, "cgroup.procs", 0) < 0) {
		jail_skip(j, "cgroup leaf (cannot join it)");
		rmdir(j->cgroup);
		j->cgroup[0] = 0;
	}
	return 0;
}
