/* Attempts to leave the root, all of which must fail.  The runner puts
 * /etc/passwd containing "GUEST" inside the root and a file "HOST-SECRET"
 * next to the root (../outside/secret from the root's point of view), and
 * passes the root's host path as argv[1]. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"

/* What the guest reads at path: the first bytes, or "" when it cannot. */
static const char *peek(int dirfd, const char *path)
{
	static char buf[64];
	int fd = openat(dirfd, path, O_RDONLY);
	buf[0] = 0;
	if (fd < 0)
		return buf;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static int never_secret(const char *s)
{
	return strstr(s, "HOST-SECRET") == NULL;
}

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], buf[PATH_MAX];
	const char *host_root = argc > 1 ? argv[1] : "/nonexistent";

	CHECK(!strcmp(peek(AT_FDCWD, "/etc/passwd"), "GUEST"));
	/* ".." cannot climb above "/" */
	CHECK(!strcmp(peek(AT_FDCWD, "../../../../etc/passwd"), "GUEST"));
	CHECK(never_secret(peek(AT_FDCWD, "/../outside/secret")));
	CHECK(never_secret(peek(AT_FDCWD, "../outside/secret")));
	CHECK(chdir("/..") == 0 && getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/"));
	for (int i = 0; i < 10; i++)
		CHECK(chdir("..") == 0);
	CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/"));

	/* the root's host path means nothing inside */
	snprintf(buf, sizeof(buf), "%s/../outside/secret", host_root);
	CHECK(never_secret(peek(AT_FDCWD, buf)));

	/* symlinks made by the guest: absolute, relative, chains, loops */
	CHECK(mkdir("/scratch/esc", 0755) == 0 && chdir("/scratch/esc") == 0);
	CHECK(symlink("/etc", "abs") == 0);
	CHECK(!strcmp(peek(AT_FDCWD, "abs/passwd"), "GUEST"));
	CHECK(symlink("../../../../../../..", "up") == 0);
	CHECK(!strcmp(peek(AT_FDCWD, "up/etc/passwd"), "GUEST"));
	CHECK(never_secret(peek(AT_FDCWD, "up/../outside/secret")));
	CHECK(symlink("up/../outside/secret", "chain") == 0);
	CHECK(never_secret(peek(AT_FDCWD, "chain")));
	snprintf(buf, sizeof(buf), "%s/../outside/secret", host_root);
	CHECK(symlink(buf, "hostpath") == 0);
	CHECK(never_secret(peek(AT_FDCWD, "hostpath")));
	CHECK(symlink("loop", "loop") == 0);
	CHECK(open("loop", O_RDONLY) == -1 && errno == ELOOP);
	/* magic links: no /proc inside, and a symlink to one goes nowhere */
	CHECK(symlink("/proc/self/root/etc/passwd", "magic") == 0);
	CHECK(never_secret(peek(AT_FDCWD, "magic")));
	CHECK(readlink("/proc/self/root", buf, sizeof(buf)) == -1);
	CHECK(readlink("/proc/self/cwd", buf, sizeof(buf)) == -1);
	/* following the last component with a trailing slash stays inside too */
	struct stat st;
	CHECK(lstat("up/", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(stat("up/outside", &st) == -1);

	/* directory fds: the dirfd is the start, the root stays the limit */
	int rootfd = open("/", O_RDONLY | O_DIRECTORY);
	CHECK(rootfd >= 0);
	CHECK(never_secret(peek(rootfd, "../outside/secret")));
	CHECK(!strcmp(peek(rootfd, "../etc/passwd"), "GUEST"));
	int pathfd = open("/scratch", O_PATH | O_DIRECTORY);
	CHECK(never_secret(peek(pathfd, "../../../outside/secret")));
	CHECK(fchdir(rootfd) == 0 && chdir("..") == 0);
	CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/"));
	/* operations on a last component named ".." do not act outside */
	CHECK(rmdir("/..") == -1);
	CHECK(rename("/..", "/scratch/moved") == -1);
	CHECK(unlinkat(rootfd, "..", 0) == -1);
	CHECK(mkdir("/../outside2", 0755) == 0); /* creates /outside2 inside */
	CHECK(stat("/outside2", &st) == 0 && rmdir("/outside2") == 0);
	CHECK(symlinkat("/etc", rootfd, "../escape-link") == 0); /* lands in / */
	CHECK(lstat("/escape-link", &st) == 0 && unlink("/escape-link") == 0);
	CHECK(link("/etc/passwd", "/../hardlink") == 0);
	CHECK(stat("/hardlink", &st) == 0 && unlink("/hardlink") == 0);

	/* no fd of condo's own is visible: everything above stdio is closed */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int limit = rl.rlim_cur > 70000 ? 70000 : (int)rl.rlim_cur;
	int open_fds = 0;
	for (int fd = 3; fd < limit; fd++)
		if (fd != rootfd && fd != pathfd && fcntl(fd, F_GETFD) >= 0) {
			printf("visible fd %d\n", fd);
			open_fds++;
		}
	CHECK(open_fds == 0);
	/* Every number below the limit is the guest's own: dup2 over all of
	 * them touches none of condo's descriptors, and the root still works. */
	int taken = 0;
	for (int fd = 3; fd < limit && fd < 4096; fd++)
		if (fd != rootfd && fd != pathfd && dup2(0, fd) == fd)
			taken++;
	CHECK(!strcmp(peek(AT_FDCWD, "/etc/passwd"), "GUEST"));
	for (int fd = 3; fd < limit && fd < 4096; fd++)
		if (fd != rootfd && fd != pathfd)
			close(fd);
	CHECK(taken > 0);
	errno = 0;
	CHECK(dup2(0, limit) == -1 && errno == EBADF);
	CHECK(open("/proc/self/fd/3", O_RDONLY) == -1);
	close(rootfd);
	close(pathfd);
	return t_done();
}
