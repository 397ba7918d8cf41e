/* condo run --restore DIR --fork N: N clones of one snapshot, a process
 * each.  They map the same memory file copy-on-write, so the pages none
 * of them wrote are in host memory once; each has its own disk overlays,
 * a new MAC on each NIC, and draws fresh entropy (virtio-rng reads the
 * host's getrandom, nothing of it is in the snapshot). */
#define _GNU_SOURCE
#include "condo/log.h"
#include "condo/machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

/* path with its "%d" (if any) as the clone's number. */
static const char *per_clone(const char *path, int i)
{
	const char *at = path ? strstr(path, "%d") : NULL;
	char *out;

	if (!at)
		return path;
	if (asprintf(&out, "%.*s%d%s", (int)(at - path), path, i, at + 2) < 0)
		return path;
	return out;
}

static int run_clone(const struct vm_config *cfg, int i)
{
	struct vm_config c = *cfg;

	c.fork = 0;
	c.console = per_clone(cfg->console, i);
	c.control = per_clone(cfg->control, i);
	c.meter = per_clone(cfg->meter, i);
	for (int k = 0; k < c.ndrives; k++)
		c.drives[k].file = per_clone(c.drives[k].file, i);
	for (int k = 0; k < c.nnets; k++) {
		/* QEMU's prefix, the rest random: a clone is another machine */
		c.nets[k].has_mac = true;
		memcpy(c.nets[k].mac, "\x52\x54\x00", 3);
		if (getrandom(c.nets[k].mac + 3, 3, 0) != 3)
			return VM_EXIT_ERROR;
	}
	return vm_run(&c);
}

int vm_fork_run(const struct vm_config *cfg)
{
	int status = 0, n = cfg->fork;
	pid_t *pids = calloc((size_t)n, sizeof(*pids));

	if (!pids)
		return VM_EXIT_ERROR;
	if (n > 1 && ((cfg->console && !strstr(cfg->console, "%d")) ||
		      (cfg->control && !strstr(cfg->control, "%d")))) {
		log_err("run", "--fork %d: put %%d (the clone's number) in --console and --control",
			n);
		free(pids);
		return VM_EXIT_ERROR;
	}
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(run_clone(cfg, i));
		if (pids[i] < 0) {
			log_err("run", "--fork: cannot start clone %d", i);
			status = VM_EXIT_ERROR;
			break;
		}
	}
	/* The first clone to fail gives the status; all are waited for. */
	for (int i = 0; i < n; i++) {
		int ws;

		if (pids[i] <= 0 || waitpid(pids[i], &ws, 0) < 0)
			continue;
		ws = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		if (ws && !status)
			status = ws;
	}
	free(pids);
	return status;
}
