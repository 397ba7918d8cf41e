/* blkrt.c - a virtio-blk round trip: write a pattern (pattern.h) to
 * sectors of the first disk with every framing §2.6.4 allows (data split
 * over descriptors at odd sizes, header and data in one descriptor, a
 * split header, an indirect table, data and status in one descriptor),
 * several requests in flight at once; read everything back with other
 * framings and compare; read an untouched sector (the host's fill byte);
 * FLUSH and GET_ID.  run.sh then checks the image file byte for byte.
 * Exits with the number of failures. */
#include "pattern.h"
#include "vio.h"

#define QSIZE 32
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8

struct req {
	uint8_t hdr[16];
	uint8_t status[4];
	uint8_t data[8 * 512 + 16] __attribute__((aligned(16)));
};

static struct req reqs[N_WRITTEN_RANGES];
static struct vdesc itable[8] __attribute__((aligned(16)));
static uint8_t readbuf[8 * 512 + 1] __attribute__((aligned(16)));
static int failures;
static uint64_t capacity;

static void fail(const char *what, uint64_t sector)
{
	rt_puts("FAIL blkrt/");
	rt_puts(what);
	rt_puts(" (sector ");
	rt_put_dec(sector);
	rt_puts(")\n");
	failures++;
}

static uint64_t first_sector(const struct sector_range *r)
{
	return r->first < 0 ? capacity + (uint64_t)r->first : (uint64_t)r->first;
}

static void set_hdr(uint8_t *h, uint32_t type, uint64_t sector)
{
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
}

/* Descriptors [*next, ...) for segments (addr, len, flags), linked. */
static uint16_t chain(struct vdev *d, uint16_t *next, const struct vdesc *segs, int n)
{
	uint16_t head = *next;

	for (int i = 0; i < n; i++) {
		struct vdesc s = segs[i];
		s.next = (uint16_t)(*next + 1);
		if (i + 1 < n)
			s.flags |= D_NEXT;
		d->ring->desc[(*next)++] = s;
	}
	return head;
}

/* Post the heads, bump avail->idx once for all of them, wait for all. */
static bool submit(struct vdev *d, const uint16_t *heads, int n)
{
	uint16_t want;

	for (int i = 0; i < n; i++)
		d->ring->avail[2 + (d->avail_idx + i) % d->num] = heads[i];
	fence();
	d->avail_idx = (uint16_t)(d->avail_idx + n);
	d->ring->avail[1] = d->avail_idx;
	vio_notify(d);
	want = (uint16_t)(d->used_seen + n);
	for (int spins = 0; spins < 20000000; spins++) {
		if (vio_used_idx(d) == want) {
			d->used_seen = want;
			vio_wr(d, VIO_INT_ACK, vio_rd(d, VIO_INT_STATUS));
			return true;
		}
		if (vio_rd(d, VIO_STATUS) & ST_NEEDS_RESET)
			break;
	}
	return false;
}

static void write_all(struct vdev *d)
{
	uint16_t heads[N_WRITTEN_RANGES], next = 0;

	for (unsigned k = 0; k < N_WRITTEN_RANGES; k++) {
		struct req *r = &reqs[k];
		uint64_t s0 = first_sector(&written_ranges[k]);
		uint32_t len = written_ranges[k].count * 512;
		uint8_t *payload = r->data + 16; /* room for a merged header */

		for (uint32_t i = 0; i < len; i++)
			payload[i] = pattern_byte(s0 + i / 512, i % 512);
		set_hdr(r->hdr, T_OUT, s0);
		r->status[0] = 0xff;
		switch (k) {
		case 1: { /* 1000 + 2000 + 1096 */
			struct vdesc segs[] = {
				{ (uintptr_t)r->hdr, 16, 0, 0 },
				{ (uintptr_t)payload, 1000, 0, 0 },
				{ (uintptr_t)payload + 1000, 2000, 0, 0 },
				{ (uintptr_t)payload + 3000, len - 3000, 0, 0 },
				{ (uintptr_t)r->status, 1, D_WRITE, 0 },
			};
			heads[k] = chain(d, &next, segs, 5);
			break;
		}
		case 2: { /* header and data in one descriptor */
			set_hdr(r->data, T_OUT, s0);
			struct vdesc segs[] = {
				{ (uintptr_t)r->data, 16 + len, 0, 0 },
				{ (uintptr_t)r->status, 1, D_WRITE, 0 },
			};
			heads[k] = chain(d, &next, segs, 2);
			break;
		}
		case 3: { /* header as 6 + 10 bytes */
			struct vdesc segs[] = {
				{ (uintptr_t)r->hdr, 6, 0, 0 },
				{ (uintptr_t)r->hdr + 6, 10, 0, 0 },
				{ (uintptr_t)payload, len, 0, 0 },
				{ (uintptr_t)r->status, 1, D_WRITE, 0 },
			};
			heads[k] = chain(d, &next, segs, 4);
			break;
		}
		case 4: /* indirect */
			itable[0] = (struct vdesc){ (uintptr_t)r->hdr, 16, D_NEXT, 1 };
			itable[1] = (struct vdesc){ (uintptr_t)payload, len, D_NEXT, 2 };
			itable[2] = (struct vdesc){ (uintptr_t)r->status, 1, D_WRITE, 0 };
			heads[k] = next;
			d->ring->desc[next++] = (struct vdesc){ (uintptr_t)itable, 48, D_INDIRECT, 0 };
			break;
		default: {
			struct vdesc segs[] = {
				{ (uintptr_t)r->hdr, 16, 0, 0 },
				{ (uintptr_t)payload, len, 0, 0 },
				{ (uintptr_t)r->status, 1, D_WRITE, 0 },
			};
			heads[k] = chain(d, &next, segs, 3);
			break;
		}
		}
	}
	if (!submit(d, heads, (int)N_WRITTEN_RANGES)) {
		fail("write-batch-not-used", 0);
		return;
	}
	for (unsigned k = 0; k < N_WRITTEN_RANGES; k++)
		if (reqs[k].status[0] != 0)
			fail("write-status", first_sector(&written_ranges[k]));
}

/* Read count sectors at s0 into readbuf; the data and the status byte
 * share the last descriptor when `merged`, else the data is split in two. */
static bool read_sectors(struct vdev *d, uint64_t s0, uint32_t count, bool merged)
{
	struct req *r = &reqs[0];
	uint32_t len = count * 512, id, used_len;
	uint16_t next = 0, head;
	uint8_t *status;

	set_hdr(r->hdr, T_IN, s0);
	memset(readbuf, 0, sizeof(readbuf));
	if (merged) {
		struct vdesc segs[] = {
			{ (uintptr_t)r->hdr, 16, 0, 0 },
			{ (uintptr_t)readbuf, len + 1, D_WRITE, 0 },
		};
		status = readbuf + len;
		*status = 0xff;
		head = chain(d, &next, segs, 2);
	} else {
		struct vdesc segs[] = {
			{ (uintptr_t)r->hdr, 16, 0, 0 },
			{ (uintptr_t)readbuf, 100, D_WRITE, 0 },
			{ (uintptr_t)readbuf + 100, len - 100, D_WRITE, 0 },
			{ (uintptr_t)r->status, 1, D_WRITE, 0 },
		};
		status = r->status;
		*status = 0xff;
		head = chain(d, &next, segs, 4);
	}
	if (!submit(d, &head, 1)) {
		fail("read-not-used", s0);
		return false;
	}
	vio_used_elem(d, (uint16_t)(d->used_seen - 1), &id, &used_len);
	if (*status != 0) {
		fail("read-status", s0);
		return false;
	}
	if (id != head || used_len != len + 1) {
		fail("read-used-length", s0);
		return false;
	}
	return true;
}

static void read_back(struct vdev *d)
{
	for (unsigned k = 0; k < N_WRITTEN_RANGES; k++) {
		uint64_t s0 = first_sector(&written_ranges[k]);
		uint32_t count = written_ranges[k].count;
		if (!read_sectors(d, s0, count, k % 2 == 0))
			continue;
		for (uint32_t i = 0; i < count * 512; i++) {
			if (readbuf[i] != pattern_byte(s0 + i / 512, i % 512)) {
				fail("read-back-differs", s0 + i / 512);
				break;
			}
		}
	}
	/* a sector nobody wrote holds what the host put in the image */
	if (read_sectors(d, 5, 1, false))
		for (uint32_t i = 0; i < 512; i++)
			if (readbuf[i] != IMAGE_FILL) {
				fail("untouched-sector-differs", 5);
				break;
			}
}

static void simple_request(struct vdev *d, uint32_t type, uint32_t in_len, const char *name)
{
	struct req *r = &reqs[0];
	uint16_t next = 0, head;

	set_hdr(r->hdr, type, 0);
	r->status[0] = 0xff;
	struct vdesc segs[] = {
		{ (uintptr_t)r->hdr, 16, 0, 0 },
		{ (uintptr_t)readbuf, in_len, D_WRITE, 0 },
		{ (uintptr_t)r->status, 1, D_WRITE, 0 },
	};
	if (in_len)
		head = chain(d, &next, segs, 3);
	else {
		segs[1] = segs[2];
		head = chain(d, &next, segs, 2);
	}
	if (!submit(d, &head, 1) || r->status[0] != 0)
		fail(name, 0);
}

int main(void)
{
	struct vdev d;

	rt_uart_init();
	if (!vio_find(VIO_ID_BLOCK, 0, &d)) {
		rt_puts("FAIL blkrt: no virtio-blk device\n");
		return 1;
	}
	if (vio_setup(&d, QSIZE, 1ull << F_INDIRECT_DESC | 1ull << F_BLK_FLUSH) != 0) {
		rt_puts("FAIL blkrt: set-up\n");
		return 1;
	}
	capacity = (uint64_t)vio_rd(&d, VIO_CONFIG) | (uint64_t)vio_rd(&d, VIO_CONFIG + 4) << 32;
	if (capacity != IMAGE_SECTORS) {
		rt_puts("FAIL blkrt: capacity ");
		rt_put_dec(capacity);
		rt_puts("\n");
		return 1;
	}
	if (!(d.features & (1ull << F_INDIRECT_DESC))) {
		rt_puts("FAIL blkrt: INDIRECT_DESC not offered\n");
		return 1;
	}
	write_all(&d);
	read_back(&d);
	if (d.features & (1ull << F_BLK_FLUSH))
		simple_request(&d, T_FLUSH, 0, "flush");
	simple_request(&d, T_GET_ID, 20, "get-id");
	if (vio_rd(&d, VIO_STATUS) & ST_NEEDS_RESET)
		fail("needs-reset-at-end", 0);
	vio_wr(&d, VIO_STATUS, 0);
	rt_puts(failures ? "FAIL blkrt\n" : "ok blkrt (guest side)\n");
	return failures > 100 ? 100 : failures;
}
