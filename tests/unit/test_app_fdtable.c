/* Unit tests for app mode's guest descriptor table (src/app/fdtable.c):
 * numbers are the guest's own, dup shares a file, close-on-exec is per
 * slot, the limit holds, and a host fd outlives a close while a system
 * call still holds it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "app/app_internal.h"

static int host_pipe(int *w)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	*w = p[1];
	return p[0];
}

/* A table holding the read end of a fresh pipe at guest fd 0. */
static int table_with_pipe(struct fd_table *ft)
{
	int w;
	fdt_init(ft);
	int r = host_pipe(&w);
	close(w);
	assert_int_equal(fdt_install(ft, r, false), 0);
	return r;
}

static bool host_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_lowest_free_number(void **state)
{
	struct fd_table ft;
	int w;
	fdt_init(&ft);
	int r = host_pipe(&w);
	assert_int_equal(fdt_install(&ft, r, false), 0);
	assert_int_equal(fdt_install(&ft, w, true), 1);
	assert_int_equal(fdt_cloexec(&ft, 0, -1), 0);
	assert_int_equal(fdt_cloexec(&ft, 1, -1), 1);
	assert_int_equal(fdt_close(&ft, 0), 0);
	assert_int_equal(fdt_close(&ft, 0), -EBADF);
	assert_false(host_open(r));
	assert_int_equal(fdt_dup(&ft, 1, 0, false), 0);
	assert_int_equal(fdt_dup(&ft, 1, 10, true), 10);
	assert_int_equal(fdt_cloexec(&ft, 10, -1), 1);
	assert_int_equal(fdt_dup(&ft, 7, 0, false), -EBADF);
	fdt_destroy(&ft);
	assert_false(host_open(w));
}

static void test_dup_shares_one_host_fd(void **state)
{
	struct fd_table ft;
	int r = table_with_pipe(&ft);
	assert_int_equal(fdt_dup3(&ft, 0, 5, false), 5);
	struct app_file *a = fdt_get(&ft, 0), *b = fdt_get(&ft, 5);
	assert_ptr_equal(a, b);
	fdt_put(a);
	fdt_put(b);
	assert_int_equal(fdt_close(&ft, 0), 0);
	assert_true(host_open(r)); /* 5 still has it */
	assert_int_equal(fdt_close(&ft, 5), 0);
	assert_false(host_open(r));
	assert_int_equal(fdt_dup3(&ft, 5, 6, false), -EBADF);
	fdt_destroy(&ft);
}

static void test_held_file_survives_close(void **state)
{
	struct fd_table ft;
	int r = table_with_pipe(&ft);
	struct app_file *held = fdt_get(&ft, 0); /* a call in flight */
	assert_int_equal(fdt_close(&ft, 0), 0);
	assert_null(fdt_get(&ft, 0));
	assert_true(host_open(r)); /* the number is not free for reuse yet */
	fdt_put(held);
	assert_false(host_open(r));
	fdt_destroy(&ft);
}

static void test_limit_and_close_range(void **state)
{
	struct fd_table ft;
	fdt_init(&ft);
	fdt_set_limit(&ft, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fdt_install(&ft, open("/dev/null", O_RDONLY | O_CLOEXEC), false), i);
	int extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(fdt_install(&ft, extra, false), -EMFILE);
	assert_false(host_open(extra)); /* closed on failure */
	assert_int_equal(fdt_dup3(&ft, 0, 4, false), -EBADF);
	assert_int_equal(fdt_dup(&ft, 0, 4, false), -EINVAL);
	assert_int_equal(fdt_close_range(&ft, 1, 2, true), 0);
	assert_int_equal(fdt_cloexec(&ft, 1, -1), 1);
	assert_int_equal(fdt_cloexec(&ft, 3, -1), 0);
	struct fdt_entry *e;
	size_t n;
	assert_int_equal(fdt_for_exec(&ft, &e, &n), 0);
	assert_int_equal(n, 2); /* 0 and 3 */
	assert_int_equal(e[0].guest_fd, 0);
	assert_int_equal(e[1].guest_fd, 3);
	/* held for the exec: a close now does not free the host fd */
	int host3 = e[1].host_fd;
	assert_int_equal(fdt_close(&ft, 3), 0);
	assert_true(host_open(host3));
	fdt_release_exec(e, n);
	assert_false(host_open(host3));
	assert_int_equal(fdt_close_range(&ft, 0, ~0u, false), 0);
	assert_null(fdt_get(&ft, 3));
	fdt_destroy(&ft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_free_number),
		cmocka_unit_test(test_dup_shares_one_host_fd),
		cmocka_unit_test(test_held_file_survives_close),
		cmocka_unit_test(test_limit_and_close_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
