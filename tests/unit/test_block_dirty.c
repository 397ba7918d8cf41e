/* Unit tests for changed-block tracking (condo/block_dirty.h): writes,
 * discards and zeroes mark their granules and nothing else; the bits and
 * the base survive a close and reopen; a reset clears them; a file left
 * in use by another boot, one of another disk size, and garbage all start
 * over relative to nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "condo/block_dirty.h"

#define G BLOCK_DIRTY_GRANULE
#define DISK_SIZE (16 * G + 4096) /* a short last granule */

static char dir[64], disk[96], map[96];

static int setup(void **state)
{
	int fd;

	strcpy(dir, "/tmp/condo-test-dirty-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(disk, sizeof(disk), "%s/disk.raw", dir);
	snprintf(map, sizeof(map), "%s/disk.dirty", dir);
	fd = open(disk, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(disk);
	unlink(map);
	rmdir(dir);
	return 0;
}

static struct block_dev *tracked(void)
{
	struct block_dev *bd = block_open(disk, BLOCK_FORMAT_RAW, false);
	struct block_dirty *d;

	assert_non_null(bd);
	d = block_dirty_open(map, bd->size);
	assert_non_null(d);
	bd = block_dirty_filter(bd, d);
	assert_non_null(bd);
	return bd;
}

static void write_at(struct block_dev *bd, uint64_t off, size_t len)
{
	char *buf = calloc(1, len);
	struct iovec iov = { buf, len };

	memset(buf, 0x5a, len);
	assert_int_equal(block_pwritev(bd, &iov, 1, off), 0);
	free(buf);
}

static void test_writes_mark_their_granules(void **state)
{
	struct block_dev *bd = tracked();
	struct block_dirty *d;

	write_at(bd, 3 * G + 100, 10);      /* inside granule 3 */
	write_at(bd, 6 * G - 512, 1024);    /* straddles 5 and 6 */
	assert_int_equal(block_discard(bd, 9 * G, G), 0);
	assert_int_equal(block_write_zeroes(bd, 16 * G, 4096), 0); /* the short last one */
	block_close(bd);

	d = block_dirty_inspect(map);
	assert_non_null(d);
	assert_string_equal(block_dirty_base(d), "");
	for (uint64_t g = 0; g < 17; g++)
		assert_int_equal(block_dirty_test(d, g),
				 g == 3 || g == 5 || g == 6 || g == 9 || g == 16);
	assert_false(block_dirty_test(d, 1000)); /* past the end */
	block_dirty_close(d);
}

static void test_reset_and_reopen_keep_the_base(void **state)
{
	struct block_dev *bd = tracked();
	struct block_dirty *d;

	write_at(bd, 0, 1);
	block_close(bd);
	d = block_dirty_inspect(map);
	assert_int_equal(block_dirty_reset(d, "0123456789abcdef"), 0);
	block_dirty_close(d);

	bd = tracked(); /* a VMM starting again on the same boot */
	write_at(bd, 2 * G, 1);
	block_close(bd);
	d = block_dirty_inspect(map);
	assert_string_equal(block_dirty_base(d), "0123456789abcdef");
	assert_false(block_dirty_test(d, 0));
	assert_true(block_dirty_test(d, 2));
	block_dirty_close(d);
}

/* The in-use flag and another boot's id: the host crashed under a VMM. */
static void test_crashed_host_starts_over(void **state)
{
	struct block_dev *bd = tracked();
	struct block_dirty *d;
	int fd;

	block_close(bd);
	d = block_dirty_inspect(map);
	block_dirty_reset(d, "fedcba9876543210");
	block_dirty_close(d);
	fd = open(map, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x01", 1, 12), 1);                     /* in use */
	assert_int_equal(pwrite(fd, "not-this-boot", 14, 64), 14);          /* boot id */
	close(fd);
	d = block_dirty_inspect(map);
	assert_string_equal(block_dirty_base(d), ""); /* a backup must read it all */
	block_dirty_close(d);
	bd = tracked();
	block_close(bd);
	d = block_dirty_inspect(map);
	assert_string_equal(block_dirty_base(d), "");
	block_dirty_close(d);
}

static void test_resized_or_garbage_starts_over(void **state)
{
	struct block_dev *bd = tracked();
	struct block_dirty *d;
	int fd;

	block_close(bd);
	d = block_dirty_inspect(map);
	block_dirty_reset(d, "fedcba9876543210");
	block_dirty_close(d);
	d = block_dirty_open(map, DISK_SIZE + G); /* the disk grew */
	assert_non_null(d);
	assert_string_equal(block_dirty_base(d), "");
	block_dirty_close(d);

	fd = open(map, O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage", 7), 7);
	close(fd);
	assert_null(block_dirty_inspect(map)); /* nothing to trust */
	d = block_dirty_open(map, DISK_SIZE);
	assert_non_null(d);
	assert_string_equal(block_dirty_base(d), "");
	assert_false(block_dirty_test(d, 0));
	block_dirty_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes_mark_their_granules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_reopen_keep_the_base, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crashed_host_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resized_or_garbage_starts_over, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
