/* virtio_bad.c - malformed virtqueues against every virtio-blk and
 * virtio-rng device of the board.  Each device is set up the way a driver
 * does (reset, ACKNOWLEDGE, DRIVER, features with VERSION_1, FEATURES_OK,
 * queue 0, DRIVER_OK), then gets one hostile request per case:
 *
 *  - driver errors (loops, chains longer than the queue, indices out of
 *    range, buffers/tables/rings outside RAM, avail->idx racing ahead,
 *    bad indirect tables, bad blk framing): the device must set
 *    DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2), set InterruptStatus bit 1
 *    and raise its PLIC line, use nothing and touch no buffer, ignore
 *    further notifications, and work again after a reset;
 *  - request errors (virtio-blk §5.2.6: unknown type, sectors past the
 *    end, partial sectors, writing a read-only disk): the request is used
 *    with status IOERR/UNSUPP, the device stays usable without a reset.
 *
 * Prints `ok DEV/CASE`, `FAIL DEV/CASE: why` or `skip DEV/CASE: why` and
 * exits through the test finisher with the number of failures.
 *
 * Cases and checks marked condo-only test a choice the spec leaves to the
 * device (docs/virtio.md "Hostile guests"); they are skipped when the
 * board is not condo's (device tree model), e.g. under QEMU, which treats guest
 * addresses outside RAM as unassigned memory (reads 0, ignores writes)
 * instead of failing the queue, keeps NEEDS_RESET writable by the driver,
 * accepts INDIRECT|NEXT and indirect chains up to the table's length, and
 * does not check ring alignment or power-of-2 queue sizes. */
#include "vio.h"

#define QSIZE 8
#define SENTINEL 0xcc

static uint8_t hdr[16] __attribute__((aligned(16)));
static uint8_t data[16384] __attribute__((aligned(4096)));
static volatile uint8_t status_byte[16] __attribute__((aligned(16)));
static struct vdesc itable[32] __attribute__((aligned(16)));
static struct vdesc itable2[4] __attribute__((aligned(16)));

static int failures;
static uint64_t ram_end;
static uint64_t blk_capacity;

enum kind {
	BAD,     /* expect NEEDS_RESET */
	REQUEST, /* expect the request used with a status byte */
};

struct bad_case {
	const char *name;
	enum kind kind;
	bool condo_only; /* the outcome is condo's choice, not the spec's */
	bool blk_only;
	bool needs_indirect;
	/* set-up tweaks, then the hostile request */
	void (*prepare)(struct vdev *d);
	void (*post)(struct vdev *d);
	uint8_t expect_status; /* REQUEST: the blk status byte */
	bool needs_ro;         /* REQUEST: only when the disk is read-only */
};

static bool is_blk(const struct vdev *d)
{
	return d->id == VIO_ID_BLOCK;
}

static void set_desc(struct vdesc *t, int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	t[i] = (struct vdesc){ addr, len, flags, next };
}

static void put_hdr(uint32_t type, uint64_t sector)
{
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
}

/* The well-formed request of each device type, at descriptors 0..2:
 * blk: header, data (device-writable for IN), status; rng: one buffer. */
static void good_chain(struct vdev *d)
{
	struct vdesc *t = d->ring->desc;

	if (is_blk(d)) {
		put_hdr(0, 0);
		set_desc(t, 0, (uintptr_t)hdr, 16, D_NEXT, 1);
		set_desc(t, 1, (uintptr_t)data, 512, D_NEXT | D_WRITE, 2);
		set_desc(t, 2, (uintptr_t)status_byte, 1, D_WRITE, 0);
	} else {
		set_desc(t, 0, (uintptr_t)data, 64, D_WRITE, 0);
	}
}

/* The descriptor holding the data buffer in good_chain. */
static int data_desc(const struct vdev *d)
{
	return is_blk(d) ? 1 : 0;
}

/* ---- driver errors: the device must need a reset ---- */

static void post_loop_self(struct vdev *d)
{
	good_chain(d);
	struct vdesc *t = d->ring->desc;
	t[data_desc(d)].flags |= D_NEXT;
	t[data_desc(d)].next = (uint16_t)data_desc(d);
	vio_post(d, 0, 1);
}

static void post_loop_cycle(struct vdev *d)
{
	struct vdesc *t = d->ring->desc;

	good_chain(d);
	if (is_blk(d)) { /* header -> data -> status -> data -> ... */
		t[2].flags |= D_NEXT;
		t[2].next = 1;
	} else { /* 0 -> 1 -> 2 -> 0 */
		set_desc(t, 0, (uintptr_t)data, 64, D_WRITE | D_NEXT, 1);
		set_desc(t, 1, (uintptr_t)data + 64, 64, D_WRITE | D_NEXT, 2);
		set_desc(t, 2, (uintptr_t)data + 128, 64, D_WRITE | D_NEXT, 0);
	}
	vio_post(d, 0, 1);
}

/* every descriptor of the ring once, then the head again: QSIZE + 1 */
static void post_chain_over_qsize(struct vdev *d)
{
	struct vdesc *t = d->ring->desc;

	good_chain(d);
	if (is_blk(d)) {
		for (int i = 1; i < QSIZE; i++)
			set_desc(t, i, (uintptr_t)data + 512 * (i - 1), 512, D_WRITE | D_NEXT,
				 (uint16_t)(i + 1 < QSIZE ? i + 1 : 1));
	} else {
		for (int i = 0; i < QSIZE; i++)
			set_desc(t, i, (uintptr_t)data + 64 * i, 64, D_WRITE | D_NEXT,
				 (uint16_t)((i + 1) % QSIZE));
	}
	vio_post(d, 0, 1);
}

static void post_next_out_of_range(struct vdev *d)
{
	good_chain(d);
	d->ring->desc[data_desc(d)].flags |= D_NEXT;
	d->ring->desc[data_desc(d)].next = QSIZE; /* one past the end */
	vio_post(d, 0, 1);
}

static void post_next_ffff(struct vdev *d)
{
	good_chain(d);
	d->ring->desc[data_desc(d)].flags |= D_NEXT;
	d->ring->desc[data_desc(d)].next = 0xffff;
	vio_post(d, 0, 1);
}

static void post_head_out_of_range(struct vdev *d)
{
	good_chain(d);
	vio_post(d, QSIZE, 1);
}

static void post_head_ffff(struct vdev *d)
{
	good_chain(d);
	vio_post(d, 0xffff, 1);
}

static void bad_buffer(struct vdev *d, uint64_t addr, uint32_t len)
{
	good_chain(d);
	d->ring->desc[data_desc(d)].addr = addr;
	d->ring->desc[data_desc(d)].len = len;
	vio_post(d, 0, 1);
}

static void post_buf_zero(struct vdev *d) { bad_buffer(d, 0, 512); }
static void post_buf_uart(struct vdev *d) { bad_buffer(d, UART_BASE, 512); }
static void post_buf_own_regs(struct vdev *d) { bad_buffer(d, d->base, 512); }
static void post_buf_top(struct vdev *d) { bad_buffer(d, 0xfffffffffffff000ull, 512); }
static void post_buf_wrap(struct vdev *d) { bad_buffer(d, 0xffffffffffffff00ull, 0x1000); }
static void post_buf_len_4g(struct vdev *d) { bad_buffer(d, (uintptr_t)data, 0xffffffffu); }
static void post_buf_past_ram_end(struct vdev *d) { bad_buffer(d, ram_end - 256, 512); }
static void post_buf_before_ram(struct vdev *d) { bad_buffer(d, RAM_BASE - 256, 512); }

static void post_hdr_outside(struct vdev *d)
{
	good_chain(d);
	d->ring->desc[0].addr = 0x1000;
	vio_post(d, 0, 1);
}

static void post_avail_jump(struct vdev *d)
{
	good_chain(d); /* every ring entry is head 0, a good chain */
	vio_post(d, 0, QSIZE + 1);
}

static void post_avail_jump_far(struct vdev *d)
{
	good_chain(d);
	vio_post(d, 0, 0x8000);
}

static void post_readable_after_writable(struct vdev *d)
{
	struct vdesc *t = d->ring->desc;

	good_chain(d);
	if (is_blk(d)) {
		t[2].flags = 0; /* the status byte device-readable */
	} else {
		t[0].flags |= D_NEXT;
		t[0].next = 1;
		set_desc(t, 1, (uintptr_t)data + 64, 64, 0, 0);
	}
	vio_post(d, 0, 1);
}

/* An indirect table holding good_chain's descriptors (n = 3 or 1). */
static int indirect_good(struct vdev *d)
{
	if (is_blk(d)) {
		put_hdr(0, 0);
		set_desc(itable, 0, (uintptr_t)hdr, 16, D_NEXT, 1);
		set_desc(itable, 1, (uintptr_t)data, 512, D_NEXT | D_WRITE, 2);
		set_desc(itable, 2, (uintptr_t)status_byte, 1, D_WRITE, 0);
		return 3;
	}
	set_desc(itable, 0, (uintptr_t)data, 64, D_WRITE, 0);
	return 1;
}

static void post_indirect(struct vdev *d, uint64_t addr, uint32_t len, uint16_t flags)
{
	set_desc(d->ring->desc, 0, addr, len, D_INDIRECT | flags, 1);
	set_desc(d->ring->desc, 1, (uintptr_t)data + 1024, 64, D_WRITE, 0);
	vio_post(d, 0, 1);
}

static void post_ind_null(struct vdev *d)
{
	indirect_good(d);
	post_indirect(d, 0, 48, 0);
}

static void post_ind_len_odd(struct vdev *d)
{
	int n = indirect_good(d);
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)n + 8, 0);
}

static void post_ind_len_zero(struct vdev *d)
{
	indirect_good(d);
	post_indirect(d, (uintptr_t)itable, 0, 0);
}

static void post_ind_with_next(struct vdev *d)
{
	int n = indirect_good(d);
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)n, D_NEXT);
}

static void post_ind_nested(struct vdev *d)
{
	int n = indirect_good(d);
	/* the table's last entry is itself an indirect descriptor */
	set_desc(itable2, 0, (uintptr_t)data + 2048, 64, D_WRITE, 0);
	itable[n - 1].flags |= D_NEXT;
	itable[n - 1].next = (uint16_t)n;
	set_desc(itable, n, (uintptr_t)itable2, 16, D_INDIRECT, 0);
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)(n + 1), 0);
}

static void post_ind_next_out_of_range(struct vdev *d)
{
	int n = indirect_good(d);
	itable[n - 1].flags |= D_NEXT;
	itable[n - 1].next = (uint16_t)n;
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)n, 0);
}

static void post_ind_loop(struct vdev *d)
{
	int n = indirect_good(d);
	itable[n - 1].flags |= D_NEXT;
	itable[n - 1].next = (uint16_t)(n - 1);
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)n, 0);
}

/* 16 linear entries in the table with a queue of 8 (§2.7.5.3.1) */
static void post_ind_longer_than_queue(struct vdev *d)
{
	int n = 2 * QSIZE;

	if (is_blk(d)) {
		put_hdr(0, 0);
		set_desc(itable, 0, (uintptr_t)hdr, 16, D_NEXT, 1);
		for (int i = 1; i < n - 1; i++)
			set_desc(itable, i, (uintptr_t)data + 512 * (i - 1), 512, D_NEXT | D_WRITE,
				 (uint16_t)(i + 1));
		set_desc(itable, n - 1, (uintptr_t)status_byte, 1, D_WRITE, 0);
	} else {
		for (int i = 0; i < n; i++)
			set_desc(itable, i, (uintptr_t)data + 64 * i, 64,
				 (uint16_t)(D_WRITE | (i + 1 < n ? D_NEXT : 0)), (uint16_t)(i + 1));
	}
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)n, 0);
}

static void post_ind_past_ram_end(struct vdev *d)
{
	indirect_good(d);
	post_indirect(d, ram_end - 16, 48, 0);
}

static void post_ind_wrap(struct vdev *d)
{
	indirect_good(d);
	post_indirect(d, 0xfffffffffffffff0ull, 48, 0);
}

static void post_ind_buffer_outside(struct vdev *d)
{
	int n = indirect_good(d);
	itable[is_blk(d) ? 1 : 0].addr = 0xfffffffffffff000ull;
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)n, 0);
}

/* INDIRECT while the feature is not negotiated (§2.7.5.3.1) */
static void prepare_no_indirect(struct vdev *d)
{
	d->features &= ~(1ull << F_INDIRECT_DESC);
}

static void post_ind_not_negotiated(struct vdev *d)
{
	int n = indirect_good(d);
	post_indirect(d, (uintptr_t)itable, 16 * (uint32_t)n, 0);
}

static void move_desc(struct vdev *d, uint64_t at) { d->desc_at = at; d->desc_moved = true; }
static void move_avail(struct vdev *d, uint64_t at) { d->avail_at = at; d->avail_moved = true; }
static void move_used(struct vdev *d, uint64_t at) { d->used_at = at; d->used_moved = true; }

static void prepare_desc_outside(struct vdev *d) { move_desc(d, 0x1000); }
static void prepare_avail_outside(struct vdev *d) { move_avail(d, 0); }
static void prepare_used_outside(struct vdev *d) { move_used(d, UART_BASE); }
static void prepare_used_past_end(struct vdev *d) { move_used(d, ram_end - 8); }
static void prepare_desc_misaligned(struct vdev *d) { move_desc(d, (uintptr_t)d->ring->desc + 8); }
static void prepare_used_misaligned(struct vdev *d) { move_used(d, (uintptr_t)d->ring->used + 2); }

static void post_good(struct vdev *d)
{
	good_chain(d);
	vio_post(d, 0, 1);
}

/* QueueReady with a bad QueueNum fails at once: nothing to post */
static void prepare_qnum_3(struct vdev *d) { d->num = 3; d->any_num = true; }
static void prepare_qnum_0(struct vdev *d) { d->num = 0; d->any_num = true; }
static void prepare_qnum_over(struct vdev *d) { d->num = 512; d->any_num = true; }
static void post_nothing(struct vdev *d) { (void)d; }

/* virtio-blk framing (§5.2.6) */
static void post_blk_no_header(struct vdev *d)
{
	set_desc(d->ring->desc, 0, (uintptr_t)status_byte, 1, D_WRITE, 0);
	vio_post(d, 0, 1);
}

static void post_blk_short_header(struct vdev *d)
{
	put_hdr(0, 0);
	set_desc(d->ring->desc, 0, (uintptr_t)hdr, 8, D_NEXT, 1);
	set_desc(d->ring->desc, 1, (uintptr_t)status_byte, 1, D_WRITE, 0);
	vio_post(d, 0, 1);
}

static void post_blk_no_status(struct vdev *d)
{
	put_hdr(0, 0);
	set_desc(d->ring->desc, 0, (uintptr_t)hdr, 16, 0, 0);
	vio_post(d, 0, 1);
}

/* ---- request errors: used, with a status byte ---- */

static void blk_request(struct vdev *d, uint32_t type, uint64_t sector, uint32_t len)
{
	struct vdesc *t = d->ring->desc;
	uint16_t data_flags = type == 1 ? 0 : D_WRITE; /* OUT: device-readable */

	put_hdr(type, sector);
	set_desc(t, 0, (uintptr_t)hdr, 16, D_NEXT, len ? 1 : 2);
	set_desc(t, 1, (uintptr_t)data, len, D_NEXT | data_flags, 2);
	set_desc(t, 2, (uintptr_t)status_byte, 1, D_WRITE, 0);
	vio_post(d, 0, 1);
}

static void post_unsupp_type(struct vdev *d) { blk_request(d, 0x7fffffff, 0, 0); }
static void post_discard_unoffered(struct vdev *d) { blk_request(d, 11, 0, 0); }
static void post_read_past_end(struct vdev *d) { blk_request(d, 0, blk_capacity, 512); }
static void post_read_straddle_end(struct vdev *d) { blk_request(d, 0, blk_capacity - 1, 1024); }
static void post_read_sector_huge(struct vdev *d) { blk_request(d, 0, ~0ull, 512); }
/* sector * 512 wraps to 0: must not read sector 0 */
static void post_read_sector_wraps(struct vdev *d) { blk_request(d, 0, 1ull << 55, 512); }
static void post_read_partial(struct vdev *d) { blk_request(d, 0, 0, 100); }
static void post_write_partial(struct vdev *d) { blk_request(d, 1, 0, 100); }
static void post_write_past_end(struct vdev *d) { blk_request(d, 1, blk_capacity, 512); }
static void post_write_sector_wraps(struct vdev *d) { blk_request(d, 1, 1ull << 55, 512); }
static void post_write_readonly(struct vdev *d) { blk_request(d, 1, 0, 512); }
static void post_flush_readonly(struct vdev *d) { blk_request(d, 4, 0, 0); }

#define S_OK     0
#define S_IOERR  1
#define S_UNSUPP 2

static const struct bad_case cases[] = {
	{ "loop-self", BAD, .post = post_loop_self },
	{ "loop-cycle", BAD, .post = post_loop_cycle },
	{ "chain-over-queue-size", BAD, .post = post_chain_over_qsize },
	{ "next-out-of-range", BAD, .post = post_next_out_of_range },
	{ "next-ffff", BAD, .post = post_next_ffff },
	{ "head-out-of-range", BAD, .post = post_head_out_of_range },
	{ "head-ffff", BAD, .post = post_head_ffff },
	{ "buf-addr-0", BAD, .condo_only = true, .post = post_buf_zero },
	{ "buf-addr-uart", BAD, .condo_only = true, .post = post_buf_uart },
	{ "buf-addr-own-registers", BAD, .condo_only = true, .post = post_buf_own_regs },
	{ "buf-addr-top", BAD, .condo_only = true, .post = post_buf_top },
	{ "buf-wraps-2^64", BAD, .condo_only = true, .post = post_buf_wrap },
	{ "buf-len-4G", BAD, .condo_only = true, .post = post_buf_len_4g },
	{ "buf-past-ram-end", BAD, .condo_only = true, .post = post_buf_past_ram_end },
	{ "buf-before-ram", BAD, .condo_only = true, .post = post_buf_before_ram },
	{ "avail-idx-jump", BAD, .post = post_avail_jump },
	{ "avail-idx-jump-far", BAD, .post = post_avail_jump_far },
	{ "readable-after-writable", BAD, .post = post_readable_after_writable },
	{ "indirect-table-0", BAD, .condo_only = true, .needs_indirect = true, .post = post_ind_null },
	{ "indirect-len-not-16n", BAD, .needs_indirect = true,
	  .post = post_ind_len_odd },
	{ "indirect-len-0", BAD, .needs_indirect = true, .post = post_ind_len_zero },
	{ "indirect-with-next", BAD, .condo_only = true, .needs_indirect = true,
	  .post = post_ind_with_next },
	{ "indirect-nested", BAD, .needs_indirect = true, .post = post_ind_nested },
	{ "indirect-next-out-of-range", BAD, .needs_indirect = true,
	  .post = post_ind_next_out_of_range },
	{ "indirect-loop", BAD, .needs_indirect = true, .post = post_ind_loop },
	{ "indirect-longer-than-queue", BAD, .needs_indirect = true, .condo_only = true,
	  .post = post_ind_longer_than_queue },
	{ "indirect-past-ram-end", BAD, .needs_indirect = true, .post = post_ind_past_ram_end },
	{ "indirect-wraps-2^64", BAD, .needs_indirect = true, .post = post_ind_wrap },
	{ "indirect-buffer-outside", BAD, .condo_only = true, .needs_indirect = true, .post = post_ind_buffer_outside },
	{ "indirect-not-negotiated", BAD, .needs_indirect = true, .condo_only = true,
	  .prepare = prepare_no_indirect, .post = post_ind_not_negotiated },
	{ "desc-ring-outside-ram", BAD, .condo_only = true, .prepare = prepare_desc_outside, .post = post_good },
	{ "avail-ring-outside-ram", BAD, .condo_only = true, .prepare = prepare_avail_outside, .post = post_good },
	{ "used-ring-at-uart", BAD, .condo_only = true, .prepare = prepare_used_outside, .post = post_good },
	{ "used-ring-past-ram-end", BAD, .condo_only = true, .prepare = prepare_used_past_end, .post = post_good },
	{ "desc-ring-misaligned", BAD, .condo_only = true, .prepare = prepare_desc_misaligned,
	  .post = post_good },
	{ "used-ring-misaligned", BAD, .condo_only = true, .prepare = prepare_used_misaligned,
	  .post = post_good },
	{ "queue-num-3", BAD, .condo_only = true, .prepare = prepare_qnum_3, .post = post_nothing },
	{ "queue-num-0", BAD, .condo_only = true, .prepare = prepare_qnum_0, .post = post_nothing },
	{ "queue-num-over-max", BAD, .condo_only = true, .prepare = prepare_qnum_over,
	  .post = post_nothing },
	{ "blk-header-outside-ram", BAD, .condo_only = true, .blk_only = true, .post = post_hdr_outside },
	{ "blk-no-header", BAD, .blk_only = true, .post = post_blk_no_header },
	{ "blk-short-header", BAD, .blk_only = true, .post = post_blk_short_header },
	{ "blk-no-status", BAD, .blk_only = true, .post = post_blk_no_status },
	{ "blk-unknown-type", REQUEST, .blk_only = true, .post = post_unsupp_type,
	  .expect_status = S_UNSUPP },
	{ "blk-discard-not-offered", REQUEST, .blk_only = true, .condo_only = true,
	  .post = post_discard_unoffered, .expect_status = S_UNSUPP },
	{ "blk-read-past-end", REQUEST, .blk_only = true, .post = post_read_past_end,
	  .expect_status = S_IOERR },
	{ "blk-read-straddles-end", REQUEST, .blk_only = true, .post = post_read_straddle_end,
	  .expect_status = S_IOERR },
	{ "blk-read-sector-2^64-1", REQUEST, .blk_only = true, .post = post_read_sector_huge,
	  .expect_status = S_IOERR },
	{ "blk-read-offset-wraps", REQUEST, .blk_only = true, .post = post_read_sector_wraps,
	  .expect_status = S_IOERR },
	{ "blk-read-partial-sector", REQUEST, .blk_only = true, .post = post_read_partial,
	  .expect_status = S_IOERR },
	{ "blk-write-partial-sector", REQUEST, .blk_only = true, .post = post_write_partial,
	  .expect_status = S_IOERR },
	{ "blk-write-past-end", REQUEST, .blk_only = true, .post = post_write_past_end,
	  .expect_status = S_IOERR },
	{ "blk-write-offset-wraps", REQUEST, .blk_only = true, .post = post_write_sector_wraps,
	  .expect_status = S_IOERR },
	{ "blk-write-readonly", REQUEST, .blk_only = true, .needs_ro = true,
	  .post = post_write_readonly, .expect_status = S_IOERR },
	{ "blk-flush-readonly", REQUEST, .blk_only = true, .needs_ro = true,
	  .post = post_flush_readonly, .expect_status = S_OK },
};

/* ---- running the cases ---- */

static void say(const char *word, const struct vdev *d, const char *name, const char *why)
{
	rt_puts(word);
	rt_puts(is_blk(d) ? " blk" : " rng");
	rt_put_dec((uint64_t)d->slot);
	rt_puts("/");
	rt_puts(name);
	if (why) {
		rt_puts(": ");
		rt_puts(why);
	}
	rt_puts("\n");
}

static bool all_sentinel(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != SENTINEL)
			return false;
	return true;
}

static void fill_buffers(void)
{
	memset(data, SENTINEL, sizeof(data));
	for (int i = 0; i < 16; i++)
		status_byte[i] = SENTINEL;
}

/* The normal request; NULL when it worked, else what went wrong. */
static const char *good_request(struct vdev *d, bool reset_first)
{
	uint32_t id, len;
	int r;

	if (reset_first) {
		d->desc_moved = d->avail_moved = d->used_moved = false;
		d->any_num = false;
		if (vio_setup(d, QSIZE, 1ull << F_INDIRECT_DESC | 1ull << F_BLK_RO |
					1ull << F_BLK_FLUSH) != 0)
			return "set-up after reset failed";
	}
	fill_buffers();
	good_chain(d);
	vio_post(d, 0, 1);
	r = vio_wait(d);
	if (r != 1)
		return r == 2 ? "good request: NEEDS_RESET" : "good request: never used";
	vio_used_elem(d, d->used_seen, &id, &len);
	d->used_seen++;
	vio_wr(d, VIO_INT_ACK, vio_rd(d, VIO_INT_STATUS));
	if (id != 0)
		return "good request: wrong used id";
	if (is_blk(d)) {
		if (status_byte[0] != S_OK)
			return "good request: status not OK";
	} else if (len == 0 || len > 64 || all_sentinel(data, len)) {
		return "good request: no random bytes";
	}
	return NULL;
}

static const char *run_bad(struct vdev *d, const struct bad_case *c)
{
	uint16_t used_before;
	const char *why;
	int r;

	r = vio_setup(d, c->prepare == prepare_qnum_3 || c->prepare == prepare_qnum_0 ||
				 c->prepare == prepare_qnum_over ? d->num : QSIZE,
		      d->features);
	if (r == -1)
		return "set-up failed";
	fill_buffers();
	used_before = vio_used_idx(d);
	c->post(d);
	r = vio_wait(d);
	if (r == 1 && vio_used_idx(d) != used_before)
		return "the bad request was used";
	if (!(vio_rd(d, VIO_STATUS) & ST_NEEDS_RESET))
		return "no DEVICE_NEEDS_RESET";
	if (!(vio_rd(d, VIO_INT_STATUS) & INT_CONFIG))
		return "InterruptStatus bit 1 (config change) not set";
	if (!vio_irq_pending(d))
		return "PLIC line not raised";
	/* condo checks a whole chain before using any of it, and the ring
	 * before the first chain; QEMU serves the good entries first */
	if (d->condo && !all_sentinel(data, sizeof(data)))
		return "device wrote into the buffers of a broken chain";
	/* condo keeps NEEDS_RESET until a reset (QEMU lets the driver clear
	 * it; §2.1.2 only forbids the driver to try) */
	if (d->condo) {
		vio_wr(d, VIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
		if (!(vio_rd(d, VIO_STATUS) & ST_NEEDS_RESET))
			return "NEEDS_RESET cleared by a status write";
	}
	/* a broken queue ignores further notifications */
	vio_notify(d);
	if (vio_used_idx(d) != used_before)
		return "used a buffer after NEEDS_RESET";
	vio_wr(d, VIO_STATUS, 0);
	if (vio_rd(d, VIO_STATUS) != 0 || vio_rd(d, VIO_INT_STATUS) != 0)
		return "reset did not clear Status and InterruptStatus";
	/* condo's PLIC withdraws a request whose line dropped before a claim;
	 * QEMU's keeps it pending until claimed */
	if (d->condo && vio_irq_pending(d))
		return "PLIC line still high after reset";
	why = good_request(d, true);
	return why;
}

static const char *run_request(struct vdev *d, const struct bad_case *c)
{
	uint32_t id, len;
	int r;

	if (vio_setup(d, QSIZE, d->features) != 0)
		return "set-up failed";
	fill_buffers();
	c->post(d);
	r = vio_wait(d);
	if (r != 1)
		return r == 2 ? "NEEDS_RESET for a request-level error" : "request never used";
	vio_used_elem(d, d->used_seen, &id, &len);
	d->used_seen++;
	vio_wr(d, VIO_INT_ACK, vio_rd(d, VIO_INT_STATUS));
	if (id != 0)
		return "wrong used id";
	if (status_byte[0] != c->expect_status)
		return c->expect_status == S_IOERR ? "status byte not IOERR"
		       : c->expect_status == S_UNSUPP ? "status byte not UNSUPP"
						      : "status byte not OK";
	if (vio_rd(d, VIO_STATUS) & ST_NEEDS_RESET)
		return "NEEDS_RESET for a request-level error";
	/* still usable without a reset; for reads that failed, the disk's
	 * bytes must not have reached the buffer */
	return good_request(d, false);
}

static void run_device(struct vdev *d)
{
	uint64_t want = 1ull << F_INDIRECT_DESC | 1ull << F_BLK_RO | 1ull << F_BLK_FLUSH;

	if (vio_setup(d, QSIZE, want) != 0) {
		say("FAIL", d, "setup", "cannot set the device up");
		failures++;
		return;
	}
	if (is_blk(d)) {
		blk_capacity = (uint64_t)vio_rd(d, VIO_CONFIG) |
			       (uint64_t)vio_rd(d, VIO_CONFIG + 4) << 32;
		rt_puts("# blk");
		rt_put_dec((uint64_t)d->slot);
		rt_puts(": capacity ");
		rt_put_dec(blk_capacity);
		rt_puts(" sectors, features ");
		rt_put_hex(d->offered);
		rt_puts("\n");
	}
	const char *why = good_request(d, false);
	if (why) {
		say("FAIL", d, "good-request", why);
		failures++;
		return;
	}
	say("ok", d, "good-request", NULL);
	uint64_t negotiated = d->features;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		if (c->blk_only && !is_blk(d))
			continue;
		if (c->needs_ro && !(negotiated & (1ull << F_BLK_RO)))
			continue;
		if (c->condo_only && !d->condo) {
			say("skip", d, c->name, "checks a condo choice; not condo's device");
			continue;
		}
		if (c->needs_indirect && !(negotiated & (1ull << F_INDIRECT_DESC))) {
			say("skip", d, c->name, "INDIRECT_DESC not offered");
			continue;
		}
		d->features = negotiated;
		d->desc_moved = d->avail_moved = d->used_moved = false;
		d->any_num = false;
		d->num = QSIZE;
		if (c->prepare)
			c->prepare(d);
		why = c->kind == BAD ? run_bad(d, c) : run_request(d, c);
		d->features = negotiated;
		if (why) {
			say("FAIL", d, c->name, why);
			failures++;
			/* leave the device in a known state for the next case */
			vio_wr(d, VIO_STATUS, 0);
		} else {
			say("ok", d, c->name, NULL);
		}
	}
	vio_wr(d, VIO_STATUS, 0);
}

int main(void)
{
	struct vdev d;
	int found = 0;

	rt_uart_init();
	ram_end = rt_ram_end();
	for (int n = 0; vio_find(VIO_ID_BLOCK, n, &d); n++, found++)
		run_device(&d);
	for (int n = 0; vio_find(VIO_ID_RNG, n, &d); n++, found++)
		run_device(&d);
	if (!found) {
		rt_puts("FAIL no virtio-blk or virtio-rng device found\n");
		failures++;
	}
	rt_puts("# virtio_bad: ");
	rt_put_dec((uint64_t)failures);
	rt_puts(" failures\n");
	return failures > 100 ? 100 : failures;
}
