/* Changed-block tracking (condo/block_dirty.h): the bitmap file and the
 * filter that sets its bits.
 *
 * The file (docs/backup.md, "Change tracking"), little-endian:
 *   0   magic "CONDODRT"
 *   8   u32 version (1)          12  u32 flags (bit 0: a VMM has it open)
 *   16  u64 granule (65536)      24  u64 disk size in bytes
 *   32  base: the backup the bits are relative to, NUL-terminated
 *   64  boot: /proc/sys/kernel/random/boot_id of the host that opened it
 *   4096  the bits: granule i is bit i % 8 of byte i / 8
 * It is mapped shared, so a bit set in memory is in the page cache at
 * once and survives the VMM's death; only a host crash can lose it, and
 * then the boot id tells. */
#define _GNU_SOURCE
#include "condo/block_dirty.h"
#include "condo/log.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIRTY_MAGIC "CONDODRT"
#define DIRTY_VERSION 1
#define DIRTY_IN_USE 1u
#define DIRTY_BITS_AT 4096
#define DIRTY_BOOT_LEN 40

struct dirty_header {
	char magic[8];
	uint32_t version, flags;
	uint64_t granule, size;
	char base[BLOCK_DIRTY_BASE_LEN];
	char boot[DIRTY_BOOT_LEN];
};

struct block_dirty {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint64_t granules;
	bool tracking; /* opened by a VMM: clear the in-use flag at close */
};

struct dirty_dev {
	struct block_dev bd; /* first: the ops get a block_dev pointer */
	struct block_dev *inner;
	struct block_dirty *map;
};

static struct dirty_header *header(const struct block_dirty *d)
{
	return (struct dirty_header *)d->map;
}

static void boot_id(char out[DIRTY_BOOT_LEN])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, DIRTY_BOOT_LEN - 1) : -1;

	if (fd >= 0)
		close(fd);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static size_t map_len_for(uint64_t size)
{
	uint64_t granules = (size + BLOCK_DIRTY_GRANULE - 1) / BLOCK_DIRTY_GRANULE;

	return DIRTY_BITS_AT + (size_t)((granules + 7) / 8);
}

static struct block_dirty *map_file(int fd, uint64_t size)
{
	struct block_dirty *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->fd = fd;
	d->map_len = map_len_for(size);
	d->granules = (size + BLOCK_DIRTY_GRANULE - 1) / BLOCK_DIRTY_GRANULE;
	d->map = mmap(NULL, d->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (d->map == MAP_FAILED) {
		free(d);
		return NULL;
	}
	return d;
}

static bool header_ok(const struct dirty_header *h, uint64_t file_len)
{
	return !memcmp(h->magic, DIRTY_MAGIC, 8) && le32toh(h->version) == DIRTY_VERSION &&
	       le64toh(h->granule) == BLOCK_DIRTY_GRANULE &&
	       memchr(h->base, 0, sizeof(h->base)) && memchr(h->boot, 0, sizeof(h->boot)) &&
	       file_len >= map_len_for(le64toh(h->size));
}

struct block_dirty *block_dirty_open(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct dirty_header old = { 0 }, *h;
	char boot[DIRTY_BOOT_LEN];
	struct block_dirty *d;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		log_err("block", "change tracking: cannot open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (st.st_size >= (off_t)sizeof(old) && pread(fd, &old, sizeof(old), 0) != sizeof(old))
		memset(&old, 0, sizeof(old));
	boot_id(boot);
	if (ftruncate(fd, (off_t)map_len_for(size)) < 0 || !(d = map_file(fd, size))) {
		log_err("block", "change tracking: cannot map %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	h = header(d);
	/* Relative to nothing after a host crash, a resize or a bad file. */
	if (!header_ok(&old, (uint64_t)st.st_size) || le64toh(old.size) != size ||
	    ((le32toh(old.flags) & DIRTY_IN_USE) && strcmp(old.boot, boot))) {
		memset(d->map, 0, d->map_len);
		memcpy(h->magic, DIRTY_MAGIC, 8);
		h->version = htole32(DIRTY_VERSION);
		h->granule = htole64(BLOCK_DIRTY_GRANULE);
		h->size = htole64(size);
	}
	snprintf(h->boot, sizeof(h->boot), "%s", boot);
	h->flags = htole32(le32toh(h->flags) | DIRTY_IN_USE);
	d->tracking = true;
	/* The mapping keeps the file; a descriptor would only let a hostile
	 * VMM truncate it under condod's reading (a SIGBUS there). */
	close(d->fd);
	d->fd = -1;
	return d;
}

struct block_dirty *block_dirty_inspect(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct dirty_header h;
	struct block_dirty *d;
	struct stat st;
	int err;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || pread(fd, &h, sizeof(h), 0) != sizeof(h) ||
	    !header_ok(&h, (uint64_t)st.st_size)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	d = map_file(fd, le64toh(h.size));
	if (!d) {
		err = errno;
		close(fd);
		errno = err;
	}
	return d;
}

void block_dirty_close(struct block_dirty *d)
{
	if (!d)
		return;
	if (d->tracking)
		header(d)->flags = htole32(le32toh(header(d)->flags) & ~DIRTY_IN_USE);
	munmap(d->map, d->map_len);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

const char *block_dirty_base(const struct block_dirty *d)
{
	const struct dirty_header *h = header(d);
	char boot[DIRTY_BOOT_LEN];

	/* In use by a VMM of an earlier boot: the host crashed under it. */
	if (le32toh(h->flags) & DIRTY_IN_USE) {
		boot_id(boot);
		if (strcmp(h->boot, boot))
			return "";
	}
	return h->base;
}

uint64_t block_dirty_size(const struct block_dirty *d)
{
	return le64toh(header(d)->size);
}

bool block_dirty_test(const struct block_dirty *d, uint64_t granule)
{
	if (granule >= d->granules)
		return false;
	return __atomic_load_n(&d->map[DIRTY_BITS_AT + granule / 8], __ATOMIC_RELAXED) &
	       (1u << (granule % 8));
}

int block_dirty_reset(struct block_dirty *d, const char *base)
{
	struct dirty_header *h = header(d);

	memset(d->map + DIRTY_BITS_AT, 0, d->map_len - DIRTY_BITS_AT);
	memset(h->base, 0, sizeof(h->base));
	snprintf(h->base, sizeof(h->base), "%s", base);
	return msync(d->map, d->map_len, MS_SYNC) < 0 ? -errno : 0;
}

/* Mark [offset, offset+len): atomically, since several I/O threads may
 * write one disk at once. */
static void mark(struct block_dirty *d, uint64_t offset, uint64_t len)
{
	uint64_t first = offset / BLOCK_DIRTY_GRANULE;
	uint64_t last = (offset + (len ? len : 1) - 1) / BLOCK_DIRTY_GRANULE;

	for (uint64_t g = first; g <= last && g < d->granules; g++)
		__atomic_fetch_or(&d->map[DIRTY_BITS_AT + g / 8], (uint8_t)(1u << (g % 8)),
				  __ATOMIC_RELAXED);
}

static struct dirty_dev *dd_of(struct block_dev *bd)
{
	return (struct dirty_dev *)bd;
}

static int dd_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	return block_preadv(dd_of(bd)->inner, iov, iovcnt, offset);
}

static int dd_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
		      uint64_t offset)
{
	struct dirty_dev *dd = dd_of(bd);
	uint64_t len = 0;
	int err;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	mark(dd->map, offset, len);
	err = block_pwritev(dd->inner, iov, iovcnt, offset);
	mark(dd->map, offset, len);
	return err;
}

static int dd_flush(struct block_dev *bd)
{
	return block_flush(dd_of(bd)->inner);
}

static int dd_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	struct dirty_dev *dd = dd_of(bd);
	int err;

	mark(dd->map, offset, len);
	err = block_discard(dd->inner, offset, len);
	mark(dd->map, offset, len);
	return err;
}

static int dd_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	struct dirty_dev *dd = dd_of(bd);
	int err;

	mark(dd->map, offset, len);
	err = block_write_zeroes(dd->inner, offset, len);
	mark(dd->map, offset, len);
	return err;
}

static int dd_status(struct block_dev *bd, uint64_t offset, uint64_t *len, uint64_t *host,
		     enum block_extent *kind)
{
	return block_status(dd_of(bd)->inner, offset, len, host, kind);
}

static void dd_info(struct block_dev *bd, struct block_info *info)
{
	block_get_info(dd_of(bd)->inner, info);
}

static int dd_set_direct(struct block_dev *bd)
{
	struct dirty_dev *dd = dd_of(bd);
	int err = dd->inner->ops->set_direct ? dd->inner->ops->set_direct(dd->inner) : -ENOTSUP;

	bd->block_size = dd->inner->block_size;
	return err;
}

static void dd_close(struct block_dev *bd)
{
	struct dirty_dev *dd = dd_of(bd);

	block_close(dd->inner);
	block_dirty_close(dd->map);
	free(dd);
}

/* No direct_fd: a write through a descriptor would pass the bits by. */
static const struct block_ops dirty_ops = {
	.preadv = dd_preadv,
	.pwritev = dd_pwritev,
	.flush = dd_flush,
	.discard = dd_discard,
	.write_zeroes = dd_write_zeroes,
	.status = dd_status,
	.info = dd_info,
	.set_direct = dd_set_direct,
	.close = dd_close,
};

struct block_dev *block_dirty_filter(struct block_dev *bd, struct block_dirty *d)
{
	struct dirty_dev *dd = calloc(1, sizeof(*dd));

	if (!dd) {
		block_close(bd);
		block_dirty_close(d);
		return NULL;
	}
	dd->bd = *bd;
	dd->bd.ops = &dirty_ops;
	dd->bd.stats = (struct block_stats){ 0 };
	dd->inner = bd;
	dd->map = d;
	return &dd->bd;
}
