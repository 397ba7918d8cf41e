/* Copying a whole disk from one image into another: what `condo img
 * convert` and condod's image import do.  Zero extents and all-zero
 * chunks are not written, so the copy stays sparse. */
#include "block/block_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define COPY_CHUNK (1u << 20)

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

int block_copy(struct block_dev *src, struct block_dev *dst, block_progress_fn progress,
	       void *arg)
{
	uint8_t *buf = malloc(COPY_CHUNK);
	uint64_t off = 0;
	int err = buf ? 0 : -ENOMEM;

	if (!err && dst->size < src->size)
		err = -ENOSPC;
	while (!err && off < src->size) {
		uint64_t len = src->size - off < COPY_CHUNK ? src->size - off : COPY_CHUNK;
		uint64_t host;
		enum block_extent kind;

		err = block_status(src, off, &len, &host, &kind);
		if (!err && kind != BLOCK_EXTENT_ZERO) {
			struct iovec v = { buf, len };
			err = block_preadv(src, &v, 1, off);
			if (!err && !all_zero(buf, len))
				err = block_pwritev(dst, &v, 1, off);
		}
		off += len;
		if (!err && progress && progress(arg, off, src->size))
			err = -ECANCELED;
	}
	free(buf);
	return err ? err : block_flush(dst);
}
