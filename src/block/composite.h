/* Composite disks inside the block component: the descriptor's magic
 * (which probing looks for and a probed raw disk may not be given) and the
 * opener block_open_chain hands a descriptor to. */
#ifndef CONDO_BLOCK_COMPOSITE_H
#define CONDO_BLOCK_COMPOSITE_H

#include "block/block_internal.h"

/* The descriptor's first line, newline included (docs/img.md). */
#define COMPOSITE_MAGIC "condo-composite-disk v1\n"
#define COMPOSITE_MAGIC_LEN (sizeof(COMPOSITE_MAGIC) - 1)

/* The largest descriptor read (bytes) and the longest line. */
#define COMPOSITE_MAX_TEXT 65536
#define COMPOSITE_MAX_LINE 4096

/* Parse the descriptor open at fd and open its parts; takes fd. */
struct block_dev *composite_from_fd(int fd, const struct stat *st, const char *path,
				    bool readonly, struct block_chain *chain);

#endif
