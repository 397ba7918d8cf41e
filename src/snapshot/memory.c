/* Guest RAM in a snapshot: sparse, untouched and zero pages left out. */
#include "condo/snapshot.h"
#include "condo/io.h"
#include "condo/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define PAGE 4096ull
#define RUN_PAGES 256 /* pages per write and per compressed run: 1 MiB */

uint32_t snapshot_crc(uint32_t crc, const void *p, size_t len)
{
	return (uint32_t)crc32_z(crc, p, len);
}

static bool bit(const uint64_t *map, uint64_t page)
{
	return map[page / 64] >> (page % 64) & 1;
}

bool snapshot_page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* The CRC of one run: its first page number, then its bytes. */
static uint32_t crc_run(uint32_t crc, uint64_t first, const uint8_t *p, uint64_t count)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(first >> (8 * i));
	crc = snapshot_crc(crc, le, 8);
	return snapshot_crc(crc, p, count * PAGE);
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Compressed: each run is a zstd frame of its own (with zstd's content
 * checksum), and the index names each run's pages and where its frame
 * lies, so a restore can decompress any run alone, when the guest first
 * touches one of its pages. */
struct zout {
	ZSTD_CCtx *cctx;
	int fd;
	uint8_t *buf;
	size_t cap;
	uint64_t off; /* where the next frame goes */
	struct state_buf *index;
};

static int zout_run(struct zout *z, uint64_t first, const uint8_t *p, uint64_t count)
{
	size_t n = ZSTD_compress2(z->cctx, z->buf, z->cap, p, count * PAGE);
	int err;

	if (ZSTD_isError(n))
		return -EIO;
	err = pwrite_all(z->fd, z->buf, n, z->off);
	if (err)
		return err;
	state_put_u64(z->index, first);
	state_put_u32(z->index, (uint32_t)count);
	state_put_u64(z->index, z->off);
	state_put_u32(z->index, (uint32_t)n);
	z->off += n;
	return z->index->failed ? -ENOMEM : 0;
}

int snapshot_memory_write(int fd, const uint8_t *ram, uint64_t bytes, uint64_t *stored,
			  struct state_buf *index, uint32_t *crc, uint64_t *pages)
{
	uint64_t npages = bytes / PAGE, first = 0, count = 0;
	struct zout z = { .fd = fd, .index = index };
	int err = 0;

	*crc = 0;
	*pages = 0;
	if (index) {
		z.cctx = ZSTD_createCCtx();
		z.cap = ZSTD_compressBound(RUN_PAGES * PAGE);
		z.buf = malloc(z.cap);
		if (!z.cctx || !z.buf) {
			err = -ENOMEM;
			goto out;
		}
		ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_checksumFlag, 1);
	} else if (ftruncate(fd, (off_t)bytes) < 0) {
		return -errno;
	}
	for (uint64_t pg = 0; pg <= npages && !err; pg++) {
		bool keep = pg < npages && bit(stored, pg) && !snapshot_page_is_zero(ram + pg * PAGE);

		if (pg < npages && bit(stored, pg) && !keep)
			stored[pg / 64] &= ~(1ull << (pg % 64));
		if (keep && count < RUN_PAGES && (!count || first + count == pg)) {
			if (!count)
				first = pg;
			count++;
			continue;
		}
		if (count) { /* the run ends here: out with it */
			*crc = crc_run(*crc, first, ram + first * PAGE, count);
			*pages += count;
			err = index ? zout_run(&z, first, ram + first * PAGE, count)
				    : pwrite_all(fd, ram + first * PAGE, count * PAGE, first * PAGE);
		}
		first = pg;
		count = keep;
	}
out:
	ZSTD_freeCCtx(z.cctx);
	free(z.buf);
	return err;
}

int snapshot_index_read(struct state_buf *b, uint64_t bytes, const uint64_t *map,
			uint64_t file_size, struct snapshot_run **runs, size_t *nruns)
{
	uint64_t npages = bytes / PAGE, next = 0;
	size_t n = b->len / 24;
	struct snapshot_run *r;

	*runs = NULL;
	*nruns = 0;
	if (b->len % 24)
		return state_fail(b, "the memory index is malformed");
	r = calloc(n ? n : 1, sizeof(*r));
	if (!r)
		return state_fail(b, "out of memory");
	for (size_t i = 0; i < n; i++) {
		r[i].first = state_get_u64(b);
		r[i].count = state_get_u32(b);
		r[i].offset = state_get_u64(b);
		r[i].size = state_get_u32(b);
		/* in order, within RAM, named by the map, within the file */
		if (r[i].first < next || r[i].first >= npages || !r[i].count ||
		    r[i].count > RUN_PAGES || r[i].count > npages - r[i].first ||
		    r[i].offset > file_size || r[i].size > file_size - r[i].offset) {
			free(r);
			return state_fail(b, "a run of the memory index lies outside RAM or the file");
		}
		for (uint64_t pg = r[i].first; pg < r[i].first + r[i].count; pg++) {
			if (!bit(map, pg)) {
				free(r);
				return state_fail(b, "the memory index names a page the map does not");
			}
		}
		next = r[i].first + r[i].count;
	}
	*runs = r;
	*nruns = n;
	return 0;
}

int snapshot_run_read(int fd, const struct snapshot_run *r, uint8_t *dst, void **scratch)
{
	uint8_t *buf = *scratch;
	size_t n;

	if (!buf && !(buf = *scratch = malloc(ZSTD_compressBound(RUN_PAGES * PAGE))))
		return -1;
	if (pread(fd, buf, r->size, (off_t)r->offset) != (ssize_t)r->size)
		return -1;
	n = ZSTD_decompress(dst, r->count * PAGE, buf, r->size);
	return ZSTD_isError(n) || n != r->count * PAGE ? -1 : 0;
}

int snapshot_memory_read_zstd(int fd, uint8_t *ram, const struct snapshot_run *runs, size_t nruns,
			      uint32_t *crc)
{
	void *scratch = NULL;
	int r = 0;

	*crc = 0;
	for (size_t i = 0; i < nruns && !r; i++) {
		r = snapshot_run_read(fd, &runs[i], ram + runs[i].first * PAGE, &scratch);
		if (!r)
			*crc = crc_run(*crc, runs[i].first, ram + runs[i].first * PAGE, runs[i].count);
	}
	free(scratch);
	return r;
}

int snapshot_memory_crc(int fd, uint64_t bytes, const uint64_t *map, uint32_t *crc)
{
	uint64_t npages = bytes / PAGE, first = 0, count = 0;
	uint8_t *buf = malloc(RUN_PAGES * PAGE);

	*crc = 0;
	if (!buf)
		return -ENOMEM;
	for (uint64_t pg = 0; pg <= npages; pg++) {
		bool keep = pg < npages && bit(map, pg);

		if (keep && count < RUN_PAGES && (!count || first + count == pg)) {
			if (!count)
				first = pg;
			count++;
			continue;
		}
		if (count) {
			ssize_t n = pread(fd, buf, count * PAGE, (off_t)(first * PAGE));
			if (n != (ssize_t)(count * PAGE)) {
				free(buf);
				return -EIO;
			}
			*crc = crc_run(*crc, first, buf, count);
		}
		first = pg;
		count = keep;
	}
	free(buf);
	return 0;
}
