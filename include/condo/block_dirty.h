/* Changed-block tracking: a bitmap file beside a disk with one bit per
 * 64 KiB granule, set when the guest writes, discards or zeroes there, so
 * an incremental backup reads only what changed since the last one
 * (docs/backup.md, "Change tracking").
 *
 * The VMM maps the file shared and sets bits in memory, once before a
 * write is passed down (a VMM killed mid-write still leaves its bit) and
 * once after it completes (a backup that cleared the bits while the VMM
 * was paused between the two still sees the write next time).  The
 * header names the backup the bits are relative to; a file whose owner
 * did not close it on this host boot (a host crash may have lost pages of
 * it) or whose disk changed size is relative to nothing, and the next
 * backup reads the whole disk. */
#ifndef CONDO_BLOCK_DIRTY_H
#define CONDO_BLOCK_DIRTY_H

#include "condo/block.h"

#define BLOCK_DIRTY_GRANULE (64 * 1024)
#define BLOCK_DIRTY_BASE_LEN 32 /* the base backup's name, NUL included */

/* An open bitmap file. */
struct block_dirty;

/* Open (creating it if missing) the bitmap of a disk of size bytes, for
 * tracking: an invalid, resized or crashed-host file starts over relative
 * to nothing.  NULL with a one-line error. */
struct block_dirty *block_dirty_open(const char *path, uint64_t size);

/* Open an existing bitmap to read and reset it (a backup): NULL with errno
 * (ENOENT: none) and no message. */
struct block_dirty *block_dirty_inspect(const char *path);
void block_dirty_close(struct block_dirty *d);

/* Disk bd with writes tracked in d; the filter owns both from then on
 * (closing it closes them).  NULL on allocation failure (bd, d closed). */
struct block_dev *block_dirty_filter(struct block_dev *bd, struct block_dirty *d);

/* The backup the bits are relative to: "" when none, so everything
 * counts as changed. */
const char *block_dirty_base(const struct block_dirty *d);
uint64_t block_dirty_size(const struct block_dirty *d);
/* Did anything in granule index change since the base? */
bool block_dirty_test(const struct block_dirty *d, uint64_t granule);
/* Clear every bit and make base the new reference, durably.  The writer
 * must be paused or gone.  0 or -errno. */
int block_dirty_reset(struct block_dirty *d, const char *base);

#endif
