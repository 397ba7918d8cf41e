/* libFuzzer harness: the composite disk descriptor parser and the
 * composite I/O paths (src/block/composite.c).  The input is a descriptor
 * file, written beside three parts made afresh for every input: a.raw
 * (64 KiB), b.qcow2 (128 KiB, empty) and c.raw (8 KiB), in a private
 * directory on tmpfs.  A descriptor condo accepts is opened read-write
 * and read, written, zeroed, discarded and mapped across its part
 * boundaries.  Nothing may crash or move bytes outside the parts. */
#include "condo/block.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void write_file(const char *name, const uint8_t *data, size_t size, size_t fill)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size))
		abort();
	for (size_t i = size; i < fill; i++)
		fputc((int)(i * 7), f);
	fclose(f);
}

static void make_parts(void)
{
	char path[128];

	if (!dir[0]) {
		strcpy(dir, "/dev/shm/condo-fuzz-composite-XXXXXX");
		if (!mkdtemp(dir)) {
			strcpy(dir, "/tmp/condo-fuzz-composite-XXXXXX");
			if (!mkdtemp(dir))
				abort();
		}
	}
	write_file("a.raw", NULL, 0, 65536);
	write_file("c.raw", NULL, 0, 8192);
	snprintf(path, sizeof(path), "%s/b.qcow2", dir);
	if (block_create(path, BLOCK_FORMAT_QCOW2, 131072, NULL, BLOCK_FORMAT_AUTO) < 0)
		abort();
}

static void exercise(struct block_dev *bd)
{
	static uint8_t buf[3][8192];
	uint64_t step = bd->size / 16 + 1, len, host, off = 0;
	enum block_extent kind;

	memset(buf[2], 0x5a, sizeof(buf[2]));
	for (uint64_t pos = 0; pos < bd->size; pos += step) {
		/* around each place: a read and a write that may straddle parts */
		uint64_t at = pos > 4096 ? pos - 4096 : 0;
		uint64_t n = bd->size - at < sizeof(buf[0]) ? bd->size - at : sizeof(buf[0]);
		struct iovec v[2] = { { buf[0], n / 3 }, { buf[1], n - n / 3 } };
		struct iovec w = { buf[2], n };
		block_preadv(bd, v, 2, at);
		block_pwritev(bd, &w, 1, at);
		block_write_zeroes(bd, at, n / 2);
		block_discard(bd, at, n);
	}
	block_preadv(bd, (struct iovec[]){ { buf[0], 512 } }, 1, bd->size); /* past the end */
	for (int i = 0; i < 64 && off < bd->size; i++) {
		len = bd->size - off;
		if (block_status(bd, off, &len, &host, &kind) < 0 || len == 0)
			break;
		off += len;
	}
	block_flush(bd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_dev *bd;
	char path[128];

	make_parts();
	write_file("d.cmp", data, size, size);
	snprintf(path, sizeof(path), "%s/d.cmp", dir);
	bd = block_open(path, BLOCK_FORMAT_AUTO, false);
	if (bd) {
		exercise(bd);
		block_close(bd);
	}
	return 0;
}
