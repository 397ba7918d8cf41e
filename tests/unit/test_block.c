/* Unit tests for the raw block back end: vectored reads and writes land at
 * the right offsets, bounds and read-only are enforced, images are locked
 * against a second writer, a probed raw disk keeps its format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "condo/block.h"

#define IMG_SIZE 8192

static char img_path[64];

static int make_image(void **state)
{
	uint8_t buf[IMG_SIZE];
	int fd;

	strcpy(img_path, "/tmp/condo-test-block-XXXXXX");
	fd = mkstemp(img_path);
	if (fd < 0)
		return -1;
	for (int i = 0; i < IMG_SIZE; i++)
		buf[i] = (uint8_t)(i * 7 + i / 256);
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int remove_image(void **state)
{
	unlink(img_path);
	return 0;
}

static void test_open_missing_file_fails(void **state)
{
	errno = 0;
	assert_null(block_raw_open("/nonexistent/condo/disk.img", false));
	assert_int_equal(errno, ENOENT);
}

static void test_open_directory_fails(void **state)
{
	assert_null(block_raw_open("/tmp", true));
}

static void test_size_and_serial(void **state)
{
	struct block_dev *bd = block_raw_open(img_path, false);

	assert_non_null(bd);
	assert_int_equal(bd->size, IMG_SIZE);
	assert_false(bd->readonly);
	assert_true(strlen(bd->serial) > 0 && strlen(bd->serial) <= 20);
	block_close(bd);
}

static void test_vectored_write_then_read_round_trip(void **state)
{
	struct block_dev *bd = block_raw_open(img_path, false);
	uint8_t a[100], b[412], c[512], back[1024], file[1024];
	struct iovec wv[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct iovec rv[2] = { { back, 300 }, { back + 300, 724 } };
	FILE *f;

	assert_non_null(bd);
	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	assert_int_equal(block_pwritev(bd, wv, 3, 2048), 0);
	assert_int_equal(block_flush(bd), 0);
	assert_int_equal(block_preadv(bd, rv, 2, 2048), 0);
	assert_int_equal(back[0], 0xa1);
	assert_int_equal(back[99], 0xa1);
	assert_int_equal(back[100], 0xb2);
	assert_int_equal(back[511], 0xb2);
	assert_int_equal(back[512], 0xc3);
	assert_int_equal(back[1023], 0xc3);
	block_close(bd);

	/* and it is really in the file, at that offset */
	f = fopen(img_path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 2048, SEEK_SET), 0);
	assert_int_equal(fread(file, 1, sizeof(file), f), sizeof(file));
	fclose(f);
	assert_memory_equal(file, back, sizeof(file));
}

static void test_transfers_past_the_end_fail(void **state)
{
	struct block_dev *bd = block_raw_open(img_path, false);
	uint8_t buf[512];
	struct iovec v = { buf, sizeof(buf) };

	assert_non_null(bd);
	assert_int_equal(block_preadv(bd, &v, 1, IMG_SIZE - 256), -EINVAL);
	assert_int_equal(block_pwritev(bd, &v, 1, IMG_SIZE), -EINVAL);
	assert_int_equal(block_preadv(bd, &v, 1, UINT64_MAX - 100), -EINVAL);
	assert_int_equal(block_preadv(bd, &v, 1, IMG_SIZE - 512), 0);
	block_close(bd);
}

static void test_readonly_rejects_writes(void **state)
{
	struct block_dev *bd = block_raw_open(img_path, true);
	uint8_t buf[512], orig[512];
	struct iovec v = { buf, sizeof(buf) }, o = { orig, sizeof(orig) };

	assert_non_null(bd);
	assert_true(bd->readonly);
	assert_int_equal(block_preadv(bd, &o, 1, 0), 0);
	memset(buf, 0x55, sizeof(buf));
	assert_int_equal(block_pwritev(bd, &v, 1, 0), -EROFS);
	assert_int_equal(block_preadv(bd, &v, 1, 0), 0);
	assert_memory_equal(buf, orig, sizeof(buf));
	assert_int_equal(block_flush(bd), 0);
	block_close(bd);
}

static void test_second_writer_is_refused(void **state)
{
	struct block_dev *rw = block_raw_open(img_path, false), *ro1, *ro2;

	assert_non_null(rw);
	assert_null(block_raw_open(img_path, false));
	assert_null(block_raw_open(img_path, true));
	block_close(rw);

	ro1 = block_raw_open(img_path, true);
	ro2 = block_raw_open(img_path, true);
	assert_non_null(ro1);
	assert_non_null(ro2); /* readers share */
	assert_null(block_raw_open(img_path, false));
	block_close(ro1);
	block_close(ro2);
}

/* A raw disk opened by probing refuses a write that would make it probe as
 * another format next time (qcow2 magic, composite descriptor line); one
 * opened with format=raw takes it. */
static void test_probed_raw_refuses_format_magic(void **state)
{
	static const char desc[] = "condo-composite-disk v1\n";
	uint8_t buf[512] = { 0 };
	struct iovec v = { buf, sizeof(buf) };
	struct block_dev *bd = block_open(img_path, BLOCK_FORMAT_AUTO, false);

	assert_non_null(bd);
	memcpy(buf, desc, sizeof(desc) - 1);
	assert_int_equal(block_pwritev(bd, &v, 1, 0), -EPERM);
	memcpy(buf, "QFI\xfb", 4);
	assert_int_equal(block_pwritev(bd, &v, 1, 0), -EPERM);
	assert_int_equal(block_pwritev(bd, &v, 1, 512), 0); /* elsewhere: fine */
	block_close(bd);
	bd = block_open(img_path, BLOCK_FORMAT_RAW, false);
	memcpy(buf, desc, sizeof(desc) - 1);
	assert_int_equal(block_pwritev(bd, &v, 1, 0), 0);
	block_close(bd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_missing_file_fails),
		cmocka_unit_test(test_open_directory_fails),
		cmocka_unit_test_setup_teardown(test_size_and_serial, make_image, remove_image),
		cmocka_unit_test_setup_teardown(test_vectored_write_then_read_round_trip,
						make_image, remove_image),
		cmocka_unit_test_setup_teardown(test_transfers_past_the_end_fail, make_image,
						remove_image),
		cmocka_unit_test_setup_teardown(test_readonly_rejects_writes, make_image,
						remove_image),
		cmocka_unit_test_setup_teardown(test_second_writer_is_refused, make_image,
						remove_image),
		cmocka_unit_test_setup_teardown(test_probed_raw_refuses_format_magic, make_image,
						remove_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
