/* libFuzzer harness: the qcow2 parser and I/O paths (src/block/qcow2_*.c).
 * The input is an image file.  block_open probes and parses it read-only;
 * an image it accepts is read at up to 64 places spread over the disk,
 * mapped (block_status) and checked, then opened read-write and written,
 * zeroed, discarded and flushed at a few places near its start.  Nothing
 * may crash or read outside the file (AddressSanitizer watches the host
 * side).  The image lives alone in a private directory (on tmpfs, where
 * fdatasync costs nothing), so backing file names resolve to files that
 * are missing (or to the image itself: a loop). */
#include "condo/block.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT (4u << 20)

static char img_path[64];

static void write_image(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!img_path[0]) {
		char dir[] = "/dev/shm/condo-fuzz-qcow2-XXXXXX";
		if (!mkdtemp(dir)) {
			strcpy(dir, "/tmp/condo-fuzz-qcow2-XXXXXX");
			if (!mkdtemp(dir))
				abort();
		}
		snprintf(img_path, sizeof(img_path), "%s/img", dir);
	}
	f = fopen(img_path, "wb");
	if (!f || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

static void read_around(struct block_dev *bd)
{
	static uint8_t buf[2][4096];
	uint64_t step = bd->size / 64 + 1, off = 0, len, host;
	enum block_extent kind;
	struct block_check res;

	for (uint64_t pos = 0; pos < bd->size; pos += step) {
		uint64_t n = bd->size - pos < sizeof(buf) ? bd->size - pos : sizeof(buf);
		struct iovec v[2] = { { buf[0], n / 2 }, { buf[1], n - n / 2 } };
		block_preadv(bd, v, 2, pos);
	}
	for (int i = 0; i < 64 && off < bd->size; i++) {
		len = bd->size - off;
		if (block_status(bd, off, &len, &host, &kind) < 0 || len == 0)
			break;
		off += len;
	}
	if (bd->ops->check)
		bd->ops->check(bd, BLOCK_REPAIR_NONE, &res);
}

static void write_some(struct block_dev *bd)
{
	static uint8_t buf[70000];
	struct iovec v = { buf, sizeof(buf) };
	uint64_t limit = bd->size < (4u << 20) ? bd->size : (4u << 20);

	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t off = 0; off + sizeof(buf) <= limit; off += limit / 3 + 1)
		block_pwritev(bd, &v, 1, off);
	if (limit > 65536 * 2) {
		block_write_zeroes(bd, 1000, 65536 * 2 - 1000);
		block_discard(bd, 0, 65536 * 2);
	}
	block_flush(bd);
	read_around(bd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_dev *bd;

	if (size > MAX_INPUT)
		return 0;
	write_image(data, size);
	bd = block_open(img_path, BLOCK_FORMAT_QCOW2, true);
	if (!bd)
		return 0;
	read_around(bd);
	block_close(bd);
	bd = block_open(img_path, BLOCK_FORMAT_QCOW2, false);
	if (bd) {
		write_some(bd);
		block_close(bd);
	}
	return 0;
}
