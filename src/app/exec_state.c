/* What a guest execve hands to the condo it re-executes, besides the
 * options and argv on its command line: the guest's environment, its
 * descriptor table and its virtual resource limits.  They travel in a
 * sealed memfd passed as `--x-state FD`, never as arguments: any host user
 * can read a process's command line in ps or /proc/PID/cmdline, and the
 * environment is the guest's to keep private (Linux shows it to the owner
 * only, in /proc/PID/environ).
 *
 * Layout, in host byte order (the same binary writes and reads it):
 *   "CONDOEX1"  u32 nenv  { u32 len, len bytes (no NUL) } * nenv
 *   u32 nfds  { i32 guest_fd, i32 host_fd } * nfds
 *   u32 nlim  { u64 cur, u64 max } * nlim
 * The reader trusts nothing: every count and length is checked against
 * the bytes present, and any fault is a one-line error. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "condo/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char state_magic[8] = "CONDOEX1";
#define STATE_MAX (64u << 20) /* far above ARG_MAX and a full fd table */

static int put(int fd, const void *p, size_t n)
{
	return write_all(fd, p, n) ? -EIO : 0;
}

static int put_u32(int fd, uint32_t v)
{
	return put(fd, &v, sizeof(v));
}

int exec_state_write(struct app_proc *p, char *const *env, size_t nenv, struct exec_state *st)
{
	int err;

	memset(st, 0, sizeof(*st));
	st->fd = -1;
	int mfd = memfd_create("condo-exec-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -errno;
	/* Above stdio: the guest may have closed 0-2, whose numbers mean
	 * something to the new process. */
	st->fd = fcntl(mfd, F_DUPFD_CLOEXEC, 3);
	close(mfd);
	if (st->fd < 0)
		return -errno;
	int fd = st->fd;
	err = put(fd, state_magic, sizeof(state_magic));
	err = err ?: put_u32(fd, (uint32_t)nenv);
	for (size_t i = 0; i < nenv && !err; i++) {
		size_t len = strlen(env[i]);
		err = put_u32(fd, (uint32_t)len) ?: put(fd, env[i], len);
	}
	err = err ?: fdt_for_exec(&p->fds, &st->fds, &st->nfds);
	err = err ?: put_u32(fd, (uint32_t)st->nfds);
	for (size_t i = 0; i < st->nfds && !err; i++) {
		int32_t pair[2] = { st->fds[i].guest_fd, st->fds[i].host_fd };
		err = put(fd, pair, sizeof(pair));
	}
	err = err ?: put_u32(fd, RLIM_NLIMITS);
	err = err ?: put(fd, p->rlim, sizeof(p->rlim));
	/* The host fds the guest keeps must survive the host execve. */
	for (size_t i = 0; i < st->nfds && !err; i++)
		if (fcntl(st->fds[i].host_fd, F_SETFD, 0) < 0)
			err = -errno;
	if (!err && (lseek(fd, 0, SEEK_SET) < 0 ||
		     fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) < 0 ||
		     fcntl(fd, F_SETFD, 0) < 0))
		err = -errno;
	if (err)
		exec_state_undo(st);
	return err;
}

void exec_state_undo(struct exec_state *st)
{
	for (size_t i = 0; i < st->nfds; i++)
		fcntl(st->fds[i].host_fd, F_SETFD, FD_CLOEXEC);
	fdt_release_exec(st->fds, st->nfds);
	if (st->fd >= 0)
		close(st->fd);
	memset(st, 0, sizeof(*st));
	st->fd = -1;
}

/* ---- reading, in the re-executed condo ---- */

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static const void *take(struct reader *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	const void *at = r->p;
	r->p += n;
	return at;
}

static uint32_t take_u32(struct reader *r)
{
	uint32_t v = 0;
	const void *at = take(r, sizeof(v));
	if (at)
		memcpy(&v, at, sizeof(v));
	return v;
}

/* Close every host fd not in keep[] (leaks from a racing fork, or fds a
 * caller passed by mistake): the new process holds only what the table
 * lists, plus stdio until the guest's own table decides about it. */
static void close_unlisted(const struct fdt_entry *keep, size_t n, int state_fd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		bool listed = *end || fd <= 2 || fd == dirfd(d) || fd == state_fd ||
			      fd == JAIL_EXE_FD; /* the jail's way back into condo */
		for (size_t i = 0; i < n && !listed; i++)
			listed = keep[i].host_fd == fd;
		if (!listed)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
}

int exec_state_read(struct app_proc *p, int fd, const char **why)
{
	struct stat st;
	struct fdt_entry *fds = NULL;
	char **env = NULL;
	uint8_t *buf = NULL;
	int err = -EINVAL;

	*why = "not a state descriptor from condo";
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 8 ||
	    (uint64_t)st.st_size > STATE_MAX)
		goto out;
	size_t size = (size_t)st.st_size;
	buf = malloc(size);
	if (!buf || pread(fd, buf, size, 0) != (ssize_t)size)
		goto out;
	struct reader r = { buf, buf + size, false };
	const void *magic = take(&r, sizeof(state_magic));
	if (!magic || memcmp(magic, state_magic, sizeof(state_magic)))
		goto out;
	*why = "corrupt state";
	uint32_t nenv = take_u32(&r);
	if (r.bad || nenv > size / 4)
		goto out;
	env = calloc(nenv + 1, sizeof(*env));
	if (!env)
		goto out;
	for (uint32_t i = 0; i < nenv; i++) {
		uint32_t len = take_u32(&r);
		const char *s = take(&r, len);
		if (!s || memchr(s, 0, len) || !(env[i] = strndup(s, len)))
			goto out;
	}
	uint32_t nfds = take_u32(&r);
	if (r.bad || nfds > size / 8)
		goto out;
	fds = calloc(nfds ? nfds : 1, sizeof(*fds));
	if (!fds)
		goto out;
	for (uint32_t i = 0; i < nfds; i++) {
		int32_t pair[2]; /* copied: the strings before it leave it unaligned */
		const void *at = take(&r, sizeof(pair));
		if (!at)
			goto out;
		memcpy(pair, at, sizeof(pair));
		if (pair[0] < 0 || pair[0] >= FDT_MAX || pair[1] < 0 || fcntl(pair[1], F_GETFD) < 0)
			goto out;
		fds[i].guest_fd = pair[0];
		fds[i].host_fd = pair[1];
	}
	uint32_t nlim = take_u32(&r);
	const void *lim = take(&r, sizeof(p->rlim));
	if (r.bad || nlim != RLIM_NLIMITS || r.p != r.end)
		goto out;
	memcpy(p->rlim, lim, sizeof(p->rlim));
	fdt_set_limit(&p->fds, p->rlim[RLIMIT_NOFILE][0]);
	close_unlisted(fds, nfds, fd);
	for (uint32_t i = 0; i < nfds; i++) {
		fcntl(fds[i].host_fd, F_SETFD, FD_CLOEXEC);
		/* dup'ed guest fds share a host fd: give each slot its own
		 * reference by duplicating all but the first. */
		int host = fds[i].host_fd;
		for (uint32_t j = 0; j < i; j++)
			if (fds[j].host_fd == host) {
				host = fcntl(host, F_DUPFD_CLOEXEC, 3);
				break;
			}
		if (host < 0 || fdt_install_at(&p->fds, fds[i].guest_fd, host, false) < 0) {
			*why = "cannot rebuild the descriptor table";
			err = -ENOMEM;
			goto out;
		}
	}
	p->cfg.envp = env;
	env = NULL;
	err = 0;
out:
	if (env)
		for (uint32_t i = 0; env[i]; i++)
			free(env[i]);
	free(env);
	free(fds); /* plain numbers here: nothing held */
	free(buf);
	close(fd);
	return err;
}
