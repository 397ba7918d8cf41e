/* A VM's port on a virtual switch (--net switch=NAME): connect to the
 * switch's socket, starting the switch first when none runs.  Done before
 * the jail; afterwards the port is the seqpacket back end.
 *
 * Starting is serialised by NAME.lock (flock): whoever holds it either
 * finds the switch listening or starts one and waits for it to listen, and
 * a switch that ends when idle takes the same lock to stop listening, so a
 * VM never connects to a switch that is about to go. */
#define _GNU_SOURCE
#include "net/net_internal.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, sndbuf = 1 << 20;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return fd;
}

/* The switch in a grandchild, detached (its own session, no inherited
 * descriptors, its messages in DIR/NAME.log), so it outlives this VM
 * while other VMs use it.  condo run is still single-threaded here. */
static int spawn_switch(const char *name, const char *log_path)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null, logfd;

		setsid();
		if (fork() != 0)
			_exit(0);
		null = open("/dev/null", O_RDWR);
		logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		if (logfd >= 0)
			dup2(logfd, 2);
		close_range(3, ~0u, 0);
		prctl(PR_SET_NAME, "condo-switch"); /* in ps, not the VM's name */
		signal(SIGINT, SIG_IGN);	    /* a ^C for the VM is not for the switch */
		_exit(net_switch_main(name, true));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int net_switch_open(struct net_nic *nic, const struct net_config *cfg, struct net_backend *out)
{
	char dir[200], sock[256], lock[256], logp[256], what[96];
	int lockfd, fd, r;

	r = net_switch_dir(dir, sizeof(dir));
	if (r < 0) {
		log_err("net", "switch=%s: the switch directory: %s", cfg->name, strerror(-r));
		return r;
	}
	if (net_switch_path(dir, cfg->name, ".sock", sock, sizeof(sock)) < 0 ||
	    net_switch_path(dir, cfg->name, ".lock", lock, sizeof(lock)) < 0 ||
	    net_switch_path(dir, cfg->name, ".log", logp, sizeof(logp)) < 0 ||
	    strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_err("net", "switch=%s: the socket path under %s is too long", cfg->name, dir);
		return -ENAMETOOLONG;
	}
	lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		r = -errno;
		log_err("net", "switch=%s: %s: %s", cfg->name, lock, strerror(errno));
		if (lockfd >= 0)
			close(lockfd);
		return r;
	}
	fd = try_connect(sock);
	if (fd == -ECONNREFUSED || fd == -ENOENT) {
		log_info("net", "switch=%s: starting the switch (%s)", cfg->name, sock);
		r = spawn_switch(cfg->name, logp);
		/* It listens within milliseconds; 5 s covers a loaded host. */
		for (int i = 0; i < 500 && r == 0; i++) {
			struct timespec ms10 = {0, 10000000};
			fd = try_connect(sock);
			if (fd != -ECONNREFUSED && fd != -ENOENT)
				break;
			nanosleep(&ms10, NULL);
		}
		if (r < 0)
			fd = r;
	}
	close(lockfd);
	if (fd < 0) {
		log_err("net", "switch=%s: cannot reach the switch at %s: %s (see %s)", cfg->name,
			sock, strerror(-fd), logp);
		return fd;
	}
	snprintf(what, sizeof(what), "switch=%s", cfg->name);
	return net_seqpacket_open(nic, fd, what, out);
}
