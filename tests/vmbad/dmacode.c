/* dmacode.c - DMA into code: the virtio-blk device reads a sector holding
 * a new version of a function into the page the function runs from, and
 * the next call runs the new version, with no fence.i.  (The ISA leaves
 * this to fence.i, unpriv 20191213 §3.2; condo's code map invalidates a
 * page a device writes, docs/jit.md, and QEMU does the same.)  Each round
 * first writes the new page contents to a sector (from a data buffer),
 * calls the function 40 times (condo translates a block after 16 runs),
 * reads the sector over the code, and calls it 40 times more.  Framings:
 * one data descriptor, the data split so the instruction lands in the
 * first or the second descriptor, the whole page (8 sectors), and a read
 * into the same page that misses the function (which keeps working).
 * Prints `ok blk/CASE` or `FAIL blk/CASE: ...`; exits with the failures. */
#include "vio.h"

#define QSIZE	 16
#define CALLS	 40
#define T_IN	 0
#define T_OUT	 1
#define SECTOR	 512
#define FN_OFF	 0x180 /* the function's offset in its page */
#define DATA_OFF 0x800 /* a sector of the page the function is not in */

/* the code page: `addi a0, a0, K; ret` at FN_OFF */
__asm__(".pushsection .text.dma_page, \"ax\", @progbits\n"
	".option push\n"
	".option norvc\n"
	".balign 4096\n"
	".globl dma_page\n"
	"dma_page:\n"
	".skip 0x180\n"
	".globl dma_fn\n"
	"dma_fn:\n"
	"	addi a0, a0, 0\n"
	"	ret\n"
	".balign 4096\n"
	".option pop\n"
	".popsection\n");

extern char dma_page[], dma_fn[];
typedef long (*fn_t)(long);

static uint8_t image[4096] __attribute__((aligned(4096))); /* what is written to disk */
static uint8_t hdr[16], status[4];
static int failures;

static uint32_t encode_addi(long k)
{
	return ((uint32_t)k & 0xfff) << 20 | 10 << 15 | 10 << 7 | 0x13; /* addi a0, a0, k */
}

static void say_fail(const char *name, const char *why, long round, long got, long want)
{
	rt_puts("FAIL blk/");
	rt_puts(name);
	rt_puts(": ");
	rt_puts(why);
	rt_puts(", round ");
	rt_put_dec((uint64_t)round);
	rt_puts(": got ");
	rt_put_hex((uint64_t)got);
	rt_puts(", want ");
	rt_put_hex((uint64_t)want);
	rt_puts("\n");
	failures++;
}

/* 40 calls that must give x + k; the number of wrong ones */
static int calls(long k, long x0, long *got, long *want)
{
	fn_t fn = (fn_t)(uintptr_t)dma_fn;
	int bad = 0;

	for (int i = 0; i < CALLS; i++) {
		long x = x0 + 3 * i, r = fn(x);

		if (r != x + k && bad++ == 0) {
			*got = r;
			*want = x + k;
		}
	}
	return bad;
}

/* One request: the header, data segments, the status byte; waits for it. */
static bool request(struct vdev *d, uint32_t type, uint64_t sector, const struct vdesc *data, int n)
{
	uint16_t next = 0, head = 0;
	uint16_t flags = type == T_IN ? D_WRITE : 0;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	status[0] = 0xff;
	d->ring->desc[next++] = (struct vdesc){(uintptr_t)hdr, 16, D_NEXT, 1};
	for (int i = 0; i < n; i++, next++)
		d->ring->desc[next] = (struct vdesc){
		    data[i].addr, data[i].len, (uint16_t)(flags | D_NEXT), (uint16_t)(next + 1)};
	d->ring->desc[next] = (struct vdesc){(uintptr_t)status, 1, D_WRITE, 0};
	vio_post(d, head, 1);
	if (vio_wait(d) != 1)
		return false;
	d->used_seen++;
	vio_wr(d, VIO_INT_ACK, vio_rd(d, VIO_INT_STATUS));
	fence();
	return status[0] == 0;
}

enum framing { ONE, SPLIT_FIRST, SPLIT_SECOND, WHOLE_PAGE, MISS };
static const char *const names[] = {"one-descriptor", "split-insn-in-first", "split-insn-in-second",
				    "whole-page", "same-page-not-the-function"};

/* Rewrite the function by DMA in framing f, 4 times; stop at a failure
 * (the next case then starts from what the page holds) */
static void dma_case(struct vdev *d, enum framing f, long *k, uint64_t *sector)
{
	const char *name = names[f];
	int before = failures;
	long got = 0, want = 0;

	for (int r = 0; r < 4; r++) {
		long k_new = f == MISS ? *k : (*k * 3 + 101 - 29 * r) % 2000;
		uint32_t insn = encode_addi(k_new);
		uintptr_t page = (uintptr_t)dma_page;
		uint32_t len = f == WHOLE_PAGE ? 4096 : SECTOR;
		uintptr_t at = f == MISS ? page + DATA_OFF : page;
		struct vdesc seg[2];
		int nseg = 1;

		/* the new contents: the page as it is with the new instruction,
		 * or (MISS) a pattern for a part of the page without code */
		if (f == MISS) {
			for (uint32_t i = 0; i < len; i++)
				image[i] = (uint8_t)(i * 7 + r);
		} else {
			memcpy(image, (const void *)at, len);
			memcpy(image + (page + FN_OFF - at), &insn, 4);
		}
		seg[0] = (struct vdesc){(uintptr_t)image, len, 0, 0};
		if (!request(d, T_OUT, *sector, seg, 1)) {
			say_fail(name, "write to disk failed", r, status[0], 0);
			return;
		}
		if (calls(*k, r * 100, &got, &want)) {
			say_fail(name, "before the DMA", r, got, want);
			return;
		}
		seg[0] = (struct vdesc){at, len, 0, 0};
		if (f == SPLIT_FIRST || f == SPLIT_SECOND) {
			uint32_t first = f == SPLIT_FIRST ? 400 : 100;

			seg[0].len = first;
			seg[1] = (struct vdesc){at + first, len - first, 0, 0};
			nseg = 2;
		}
		if (!request(d, T_IN, *sector, seg, nseg)) {
			say_fail(name, "read from disk failed", r, status[0], 0);
			return;
		}
		*sector += len / SECTOR;
		*k = k_new; /* what the page now holds */
		if (memcmp((const void *)at, image, len) != 0) {
			say_fail(name, "the page does not hold the sector read", r, 0, 0);
			return;
		}
		if (calls(k_new, r * 100 + 1, &got, &want)) {
			say_fail(name, "after the DMA", r, got, want);
			return;
		}
	}
	if (failures == before) {
		rt_puts("ok blk/");
		rt_puts(name);
		rt_puts("\n");
	}
}

int main(void)
{
	struct vdev d;
	long k = 0, got = 0, want = 0;
	uint64_t sector = 16;

	rt_uart_init();
	if (!vio_find(VIO_ID_BLOCK, 0, &d)) {
		rt_puts("FAIL blk/setup: no virtio-blk device\n");
		return 1;
	}
	if (vio_setup(&d, QSIZE, 0) != 0) {
		rt_puts("FAIL blk/setup: the device refused the set-up\n");
		return 1;
	}
	if ((uintptr_t)dma_fn - (uintptr_t)dma_page != FN_OFF) {
		rt_puts("FAIL blk/setup: the function is not where the test expects it\n");
		return 1;
	}
	if (calls(0, 0, &got, &want))
		say_fail("setup", "before any DMA", 0, got, want);
	for (int f = ONE; f <= MISS; f++)
		dma_case(&d, (enum framing)f, &k, &sector);
	vio_wr(&d, VIO_STATUS, 0);
	rt_puts(failures ? "FAIL dmacode\n" : "ok dmacode (guest side)\n");
	return failures > 100 ? 100 : failures;
}
