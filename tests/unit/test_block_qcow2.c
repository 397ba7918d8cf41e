/* Unit tests for qcow2: random writes, write-zeroes and discards through
 * the block layer into images with and without a raw backing file agree
 * with a model in memory, before and after reopening; qemu-img (when
 * installed) then finds the image clean and reads the same bytes; format
 * probing and the explicit format= rules; backing names with "..". */
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

#define DISK (3u << 20)
#define BASE (2u << 20) /* the backing file is smaller than the disk */

static char dir[64];
static uint8_t *model;

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/condo-test-qcow2-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	model = calloc(1, DISK);
	return model ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	free(model);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_base(const char *path)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (uint32_t i = 0; i < BASE; i++) {
		model[i] = (uint8_t)(i * 131 + (i >> 12));
		fputc(model[i], f);
	}
	fclose(f);
	memset(model + BASE, 0, DISK - BASE);
}

static void compare_all(struct block_dev *bd)
{
	uint8_t *got = malloc(DISK);
	struct iovec v[2] = { { got, 12345 }, { got + 12345, DISK - 12345 } };

	assert_non_null(got);
	assert_int_equal(block_preadv(bd, v, 2, 0), 0);
	assert_memory_equal(got, model, DISK);
	free(got);
}

/* Random operations, mirrored in the model. */
static void random_ops(struct block_dev *bd, unsigned seed, int count)
{
	uint8_t *buf = malloc(256 << 10);

	srand(seed);
	for (int i = 0; i < count; i++) {
		uint32_t len = (uint32_t)(rand() % (200 << 10)) + 1;
		uint32_t off = (uint32_t)rand() % (DISK - len);
		int op = rand() % 10;
		if (op < 7) {
			for (uint32_t j = 0; j < len; j++)
				buf[j] = (uint8_t)(rand() >> 4);
			struct iovec v[2] = { { buf, len / 3 }, { buf + len / 3, len - len / 3 } };
			assert_int_equal(block_pwritev(bd, v, 2, off), 0);
			memcpy(model + off, buf, len);
		} else if (op < 9) {
			assert_int_equal(block_write_zeroes(bd, off, len), 0);
			memset(model + off, 0, len);
		} else if (op == 9) {
			assert_int_equal(block_flush(bd), 0);
		}
	}
	free(buf);
}

static void qemu_agrees(const char *img)
{
	char cmd[512], raw[128];
	FILE *f;
	uint8_t *got;

	if (system("command -v qemu-img >/dev/null 2>&1") != 0) {
		print_message("SKIP: qemu-img not installed\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "qemu-img check -q %s", img);
	assert_int_equal(system(cmd), 0);
	path_in(raw, sizeof(raw), "qemu.raw");
	snprintf(cmd, sizeof(cmd), "qemu-img convert -O raw %s %s", img, raw);
	assert_int_equal(system(cmd), 0);
	got = malloc(DISK);
	f = fopen(raw, "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, DISK, f), DISK);
	fclose(f);
	assert_memory_equal(got, model, DISK);
	free(got);
}

static void run_image(const char *name, const char *backing)
{
	char img[128];
	struct block_dev *bd;

	path_in(img, sizeof(img), name);
	assert_int_equal(block_create(img, BLOCK_FORMAT_QCOW2, DISK, backing,
				      backing ? BLOCK_FORMAT_RAW : BLOCK_FORMAT_AUTO), 0);
	bd = block_open(img, BLOCK_FORMAT_AUTO, false);
	assert_non_null(bd);
	assert_int_equal(bd->format, BLOCK_FORMAT_QCOW2);
	assert_int_equal(bd->size, DISK);
	compare_all(bd);
	random_ops(bd, 7, 300);
	compare_all(bd);
	/* Discard is a hint: afterwards the model takes what the disk says. */
	assert_int_equal(block_discard(bd, 65536, 3 * 65536 + 100), 0);
	{
		struct iovec v = { model + 65536, 3 * 65536 + 100 };
		assert_int_equal(block_preadv(bd, &v, 1, 65536), 0);
	}
	block_close(bd);
	bd = block_open(img, BLOCK_FORMAT_QCOW2, true);
	assert_non_null(bd);
	compare_all(bd);
	block_close(bd);
	qemu_agrees(img);
}

static void test_no_backing(void **state)
{
	memset(model, 0, DISK);
	run_image("plain.qcow2", NULL);
}

static void test_raw_backing_unchanged(void **state)
{
	char base[128];
	uint8_t *before = malloc(BASE), *after = malloc(BASE);
	FILE *f;

	path_in(base, sizeof(base), "base.raw");
	write_base(base);
	memcpy(before, model, BASE);
	run_image("over.qcow2", "base.raw");
	f = fopen(base, "rb");
	assert_int_equal(fread(after, 1, BASE, f), BASE);
	fclose(f);
	assert_memory_equal(before, after, BASE);
	free(before);
	free(after);
}

static void test_explicit_format_mismatch(void **state)
{
	char img[128], raw[128];

	path_in(img, sizeof(img), "m.qcow2");
	path_in(raw, sizeof(raw), "m.raw");
	assert_int_equal(block_create(img, BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0), 0);
	assert_int_equal(block_create(raw, BLOCK_FORMAT_RAW, 1 << 20, NULL, 0), 0);
	assert_null(block_open(img, BLOCK_FORMAT_RAW, true));
	assert_null(block_open(raw, BLOCK_FORMAT_QCOW2, true));
}

static void test_probed_raw_refuses_qcow2_header(void **state)
{
	char raw[128];
	struct block_dev *bd;
	uint8_t hdr[512] = { 'Q', 'F', 'I', 0xfb };
	struct iovec v = { hdr, sizeof(hdr) };

	path_in(raw, sizeof(raw), "p.raw");
	assert_int_equal(block_create(raw, BLOCK_FORMAT_RAW, 1 << 20, NULL, 0), 0);
	bd = block_open(raw, BLOCK_FORMAT_AUTO, false);
	assert_non_null(bd);
	assert_int_equal(block_pwritev(bd, &v, 1, 0), -EPERM);
	assert_int_equal(block_pwritev(bd, &v, 1, 512), 0);
	block_close(bd);
	bd = block_open(raw, BLOCK_FORMAT_RAW, false);
	assert_int_equal(block_pwritev(bd, &v, 1, 0), 0);
	block_close(bd);
}

static void test_backing_name_with_dotdot_refused(void **state)
{
	char img[128];

	path_in(img, sizeof(img), "d.qcow2");
	assert_int_not_equal(block_create(img, BLOCK_FORMAT_QCOW2, 0, "../x.raw",
					  BLOCK_FORMAT_RAW), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_backing),
		cmocka_unit_test(test_raw_backing_unchanged),
		cmocka_unit_test(test_explicit_format_mismatch),
		cmocka_unit_test(test_probed_raw_refuses_qcow2_header),
		cmocka_unit_test(test_backing_name_with_dotdot_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
