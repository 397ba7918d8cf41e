/* Unit tests for app mode's sandboxed file system view (src/app/path.c):
 * paths resolve inside the root whatever ".." and symlinks say, last
 * components are split off safely, and the host fds are condo's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "app/app_internal.h"

static char tmp[64]; /* holds root/ and outside/ */
static char root[128];
static struct app_fs fs;

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *target, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void dir(const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* Read what the guest would see at path: the file's first line, or an error. */
static const char *see(int dirfd, const char *path)
{
	static char buf[128];
	int fd = fs_open(&fs, dirfd, path, O_RDONLY, 0);
	if (fd < 0) {
		snprintf(buf, sizeof(buf), "error %d", -fd);
		return buf;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static int setup(void **state)
{
	const char *why;
	snprintf(tmp, sizeof(tmp), "/tmp/condo-test-path-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(root, sizeof(root), "%s/root", tmp);
	dir("root");
	dir("root/a");
	dir("root/a/b");
	dir("root/etc");
	dir("rootx"); /* a sibling whose name starts like the root's */
	dir("outside");
	put("outside/secret", "SECRET");
	put("rootx/secret", "SECRET");
	put("root/etc/passwd", "inside");
	put("root/a/b/file", "file");
	link_to("/etc", "root/abs");                 /* absolute: means root/etc */
	link_to("../../../../../../../..", "root/a/up"); /* climbs: stops at the root */
	link_to("abs", "root/chain1");
	link_to("chain1/passwd", "root/chain2");
	link_to("/proc/self/root/etc/passwd", "root/proc-trick");
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/outside/secret", tmp);
	link_to(target, "root/hostpath"); /* a host absolute path means nothing inside */
	assert_int_equal(chdir(tmp), 0);   /* outside the root: the guest starts at / */
	assert_int_equal(fs_init(&fs, root, &why), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	fs_destroy(&fs);
	assert_int_equal(chdir("/"), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd);
}

static void test_cwd_starts_at_the_root(void **state)
{
	char cwd[PATH_MAX], guest[APP_PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(fs_guest_path(&fs, cwd, guest, sizeof(guest)), 0);
	assert_string_equal(guest, "/");
}

static void test_dotdot_stays_inside(void **state)
{
	assert_string_equal(see(AT_FDCWD, "/etc/passwd"), "inside");
	assert_string_equal(see(AT_FDCWD, "../../etc/passwd"), "inside");
	assert_string_equal(see(AT_FDCWD, "/../../../../etc/passwd"), "inside");
	assert_string_equal(see(AT_FDCWD, "a/b/../../../../etc/passwd"), "inside");
	assert_string_equal(see(AT_FDCWD, "../outside/secret"), "error 2");
	assert_string_equal(see(AT_FDCWD, "../rootx/secret"), "error 2");
}

static void test_symlinks_stay_inside(void **state)
{
	assert_string_equal(see(AT_FDCWD, "/abs/passwd"), "inside");
	assert_string_equal(see(AT_FDCWD, "a/up/etc/passwd"), "inside");
	assert_string_equal(see(AT_FDCWD, "a/up/../outside/secret"), "error 2");
	assert_string_equal(see(AT_FDCWD, "chain2"), "inside");
	assert_string_equal(see(AT_FDCWD, "hostpath"), "error 2");
	/* No /proc inside: magic links cannot be reached that way. */
	assert_string_equal(see(AT_FDCWD, "proc-trick"), "error 2");
}

static void test_dirfd_relative_stays_inside(void **state)
{
	int d = fs_open(&fs, AT_FDCWD, "/a/b", O_RDONLY | O_DIRECTORY, 0);
	assert_true(d >= 0);
	assert_string_equal(see(d, "file"), "file");
	assert_string_equal(see(d, "../../../../../etc/passwd"), "inside");
	assert_string_equal(see(d, "../../../outside/secret"), "error 2");
	/* A directory fd from outside the root (inherited) is refused. */
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/outside", tmp);
	int od = open(out, O_RDONLY | O_DIRECTORY);
	assert_true(od >= 0);
	assert_string_equal(see(od, "secret"), "error 13");
	/* A file is not a directory. */
	int f = fs_open(&fs, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	assert_string_equal(see(f, "x"), "error 20");
	close(f);
	close(od);
	close(d);
}

static void test_guest_path_needs_a_whole_prefix(void **state)
{
	char host[PATH_MAX], guest[APP_PATH_MAX];
	snprintf(host, sizeof(host), "%s/a/b", fs.root);
	assert_int_equal(fs_guest_path(&fs, host, guest, sizeof(guest)), 0);
	assert_string_equal(guest, "/a/b");
	assert_int_equal(fs_guest_path(&fs, fs.root, guest, sizeof(guest)), 0);
	assert_string_equal(guest, "/");
	snprintf(host, sizeof(host), "%sx/secret", fs.root);
	assert_int_equal(fs_guest_path(&fs, host, guest, sizeof(guest)), -EACCES);
	assert_int_equal(fs_guest_path(&fs, "pipe:[12]", guest, sizeof(guest)), -ENOENT);
}

static void test_parent_splits_the_last_component(void **state)
{
	char last[NAME_MAX + 2];
	struct stat st;
	int d = fs_parent(&fs, AT_FDCWD, "/a/b/newname", last, sizeof(last));
	assert_true(d >= 0);
	assert_string_equal(last, "newname");
	assert_int_equal(fstatat(d, "file", &st, 0), 0);
	close(d);
	/* The final symlink is not followed: the link itself is the name. */
	d = fs_parent(&fs, AT_FDCWD, "abs", last, sizeof(last));
	assert_true(d >= 0);
	assert_string_equal(last, "abs");
	assert_int_equal(fstatat(d, last, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(d);
	/* ".." as the last component is resolved, never handed to the host. */
	d = fs_parent(&fs, AT_FDCWD, "/..", last, sizeof(last));
	assert_true(d >= 0);
	assert_string_equal(last, ".");
	assert_int_equal(fstatat(d, "etc", &st, 0), 0); /* it is the root */
	close(d);
	d = fs_parent(&fs, AT_FDCWD, "a/b/..", last, sizeof(last));
	assert_true(d >= 0);
	assert_int_equal(fstatat(d, "b", &st, 0), 0); /* it is /a */
	close(d);
	/* A trailing slash stays on the name. */
	d = fs_parent(&fs, AT_FDCWD, "/a/b/", last, sizeof(last));
	assert_string_equal(last, "b/");
	close(d);
	assert_int_equal(fs_parent(&fs, AT_FDCWD, "", last, sizeof(last)), -ENOENT);
}

static void test_lookup_nofollow_and_trailing_slash(void **state)
{
	struct stat st;
	int fd = fs_lookup(&fs, AT_FDCWD, "/abs", AT_SYMLINK_NOFOLLOW);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
	/* "abs/" follows the link, inside the root. */
	fd = fs_lookup(&fs, AT_FDCWD, "/abs/", AT_SYMLINK_NOFOLLOW);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fstatat(fd, "passwd", &st, 0), 0);
	close(fd);
	fd = fs_lookup(&fs, AT_FDCWD, "a/up/..", AT_SYMLINK_NOFOLLOW);
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "etc", &st, 0), 0); /* the root, not its parent */
	close(fd);
	assert_int_equal(fs_lookup(&fs, AT_FDCWD, "", 0), -ENOENT);
}

static void test_fd_inside_the_root(void **state)
{
	assert_true(fs_fd_inside(&fs, fs.root_fd));
	int fd = fs_open(&fs, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_true(fs_fd_inside(&fs, fd));
	close(fd);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/outside", tmp);
	fd = open(p, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_false(fs_fd_inside(&fs, fd));
	close(fd);
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_false(fs_fd_inside(&fs, pipefd[0])); /* "pipe:[...]" */
	close(pipefd[0]);
	close(pipefd[1]);
	assert_false(fs_fd_inside(&fs, -1));
}

static void test_host_fds_are_close_on_exec(void **state)
{
	assert_true(fcntl(fs.root_fd, F_GETFD) & FD_CLOEXEC);
	int fd = fs_open(&fs, AT_FDCWD, "/etc/passwd", O_RDONLY, 0); /* no O_CLOEXEC asked */
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = fs_open(&fs, AT_FDCWD, "/dev/null", O_RDONLY, 0);
	assert_true(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	close(fd);
}

static void test_host_devices_are_available(void **state)
{
	int fd = fs_open(&fs, AT_FDCWD, "/dev/null", O_WRONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_true(fs_open(&fs, AT_FDCWD, "/dev/sda", O_RDONLY, 0) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cwd_starts_at_the_root),
		cmocka_unit_test(test_dotdot_stays_inside),
		cmocka_unit_test(test_symlinks_stay_inside),
		cmocka_unit_test(test_dirfd_relative_stays_inside),
		cmocka_unit_test(test_guest_path_needs_a_whole_prefix),
		cmocka_unit_test(test_parent_splits_the_last_component),
		cmocka_unit_test(test_lookup_nofollow_and_trailing_slash),
		cmocka_unit_test(test_fd_inside_the_root),
		cmocka_unit_test(test_host_fds_are_close_on_exec),
		cmocka_unit_test(test_host_devices_are_available),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
