/* The writer tests/block/crash.sh kills: heavy random writes, write-zeroes
 * and discards through condo's block layer into a qcow2 image, forever.
 * After every round it stores a generation number at offset 0, flushes,
 * and only then prints the number: whatever moment the kill lands, the
 * image must hold at least the last generation printed.
 *   crash_writer IMAGE SEED */
#include "condo/block.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WRITE (256u << 10)

int main(int argc, char **argv)
{
	struct block_dev *bd;
	uint8_t *buf = malloc(MAX_WRITE);
	uint64_t gen;

	if (argc != 3 || !buf)
		return 2;
	bd = block_open(argv[1], BLOCK_FORMAT_QCOW2, false);
	if (!bd)
		return 1;
	srand((unsigned)atoi(argv[2]));
	/* Carry on from the generation a previous run left. */
	{
		struct iovec v = { &gen, 8 };
		if (block_preadv(bd, &v, 1, 0) < 0)
			return 1;
	}
	for (;;) {
		for (int i = 0; i < 20; i++) {
			uint64_t len = (uint64_t)(rand() % MAX_WRITE) + 1;
			uint64_t off = 512 + (uint64_t)rand() % (bd->size - len - 512);
			int op = rand() % 8, err;
			struct iovec v = { buf, len };
			memset(buf, rand(), len);
			if (op < 6)
				err = block_pwritev(bd, &v, 1, off);
			else if (op == 6)
				err = block_write_zeroes(bd, off, len);
			else
				err = block_discard(bd, off, len);
			if (err) {
				fprintf(stderr, "crash_writer: I/O error %d\n", err);
				return 1;
			}
		}
		gen++;
		struct iovec g = { &gen, 8 };
		if (block_pwritev(bd, &g, 1, 0) < 0 || block_flush(bd) < 0)
			return 1;
		printf("%" PRIu64 "\n", gen);
		fflush(stdout);
	}
}
