/* Guest RAM in a snapshot: sparse, untouched and zero pages left out. */
#include "condo/snapshot.h"
#include "condo/io.h"

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

/* zstd out: a run's header (first page, count; little-endian u64s) and
 * pages, through one stream. */
struct zout {
	ZSTD_CCtx *cctx;
	int fd;
	uint8_t *buf;
	size_t cap;
};

static int zout_put(struct zout *z, const void *p, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { p, len, 0 };

	for (;;) {
		ZSTD_outBuffer out = { z->buf, z->cap, 0 };
		size_t left = ZSTD_compressStream2(z->cctx, &out, &in, end);
		int err;

		if (ZSTD_isError(left))
			return -EIO;
		err = write_all(z->fd, z->buf, out.pos);
		if (err < 0)
			return err;
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int zout_run(struct zout *z, uint64_t first, const uint8_t *p, uint64_t count)
{
	uint64_t hdr[2] = { first, count };
	int err = zout_put(z, hdr, sizeof(hdr), ZSTD_e_continue);

	return err ? err : zout_put(z, p, count * PAGE, ZSTD_e_continue);
}

int snapshot_memory_write(int fd, const uint8_t *ram, uint64_t bytes, uint64_t *stored,
			  bool compress, uint32_t *crc, uint64_t *pages)
{
	uint64_t npages = bytes / PAGE, first = 0, count = 0;
	struct zout z = { .fd = fd };
	int err = 0;

	*crc = 0;
	*pages = 0;
	if (compress) {
		z.cctx = ZSTD_createCCtx();
		z.cap = ZSTD_CStreamOutSize();
		z.buf = malloc(z.cap);
		if (!z.cctx || !z.buf) {
			err = -ENOMEM;
			goto out;
		}
		ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_compressionLevel, 3);
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
			err = compress ? zout_run(&z, first, ram + first * PAGE, count)
				       : pwrite_all(fd, ram + first * PAGE, count * PAGE, first * PAGE);
		}
		first = pg;
		count = keep;
	}
	if (!err && compress) {
		uint64_t end[2] = { 0, 0 };
		err = zout_put(&z, end, sizeof(end), ZSTD_e_end);
	}
out:
	ZSTD_freeCCtx(z.cctx);
	free(z.buf);
	return err;
}

/* zstd in: exactly len bytes of the stream into p. */
struct zin {
	ZSTD_DCtx *dctx;
	int fd;
	uint8_t *buf;
	size_t cap;
	ZSTD_inBuffer in;
	bool eof;
};

static int zin_get(struct zin *z, void *p, size_t len)
{
	ZSTD_outBuffer out = { p, len, 0 };

	while (out.pos < out.size) {
		size_t before = out.pos, r;

		if (z->in.pos == z->in.size && !z->eof) {
			ssize_t n = read(z->fd, z->buf, z->cap);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			z->eof = n == 0;
			z->in = (ZSTD_inBuffer){ z->buf, (size_t)n, 0 };
			continue;
		}
		r = ZSTD_decompressStream(z->dctx, &out, &z->in);
		if (ZSTD_isError(r))
			return -1;
		/* the file ended and nothing more comes out: truncated */
		if (z->eof && z->in.pos == z->in.size && out.pos == before)
			return -1;
	}
	return 0;
}

int snapshot_memory_read_zstd(int fd, uint8_t *ram, uint64_t bytes, const uint64_t *map,
			      uint32_t *crc, const char **why)
{
	struct zin z = { .fd = fd };
	uint64_t npages = bytes / PAGE;
	int r = -1;

	*crc = 0;
	*why = "the compressed memory is truncated or corrupt";
	z.dctx = ZSTD_createDCtx();
	z.cap = ZSTD_DStreamInSize();
	z.buf = malloc(z.cap);
	if (!z.dctx || !z.buf) {
		*why = "out of memory";
		goto out;
	}
	for (;;) {
		uint64_t hdr[2];

		if (zin_get(&z, hdr, sizeof(hdr)) < 0)
			goto out;
		if (!hdr[1])
			break;
		if (hdr[0] >= npages || hdr[1] > npages - hdr[0] || hdr[1] > RUN_PAGES) {
			*why = "a run of the compressed memory lies outside the guest's RAM";
			goto out;
		}
		for (uint64_t pg = hdr[0]; pg < hdr[0] + hdr[1]; pg++) {
			if (!bit(map, pg)) {
				*why = "the compressed memory holds a page its map does not name";
				goto out;
			}
		}
		if (zin_get(&z, ram + hdr[0] * PAGE, hdr[1] * PAGE) < 0)
			goto out;
		*crc = crc_run(*crc, hdr[0], ram + hdr[0] * PAGE, hdr[1]);
	}
	r = 0;
out:
	ZSTD_freeDCtx(z.dctx);
	free(z.buf);
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
