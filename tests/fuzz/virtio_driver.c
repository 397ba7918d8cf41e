/* A hostile virtio driver driven by the fuzz input (see virtio_driver.h).
 *
 * Input: one header byte, then operations until the input ends.
 *   header bit 0: negotiate features (ACKNOWLEDGE, DRIVER, the features of
 *                 the next 8 bytes ORed with VERSION_1, FEATURES_OK);
 *          bit 1: then set up every queue (size 2^(next byte % 9) at the
 *                 default layout) and set DRIVER_OK.
 * Each operation is one byte (modulo the count below) and its operands,
 * read little-endian; guest addresses are offsets into the 64 KiB of RAM
 * unless the operation says raw.  Rings of queue q sit at 0x4000 * q
 * (descriptors), + 0x1000 (available), + 0x2000 (used); buffers anywhere.
 *
 * The check: around every operation that may make the device work, guest
 * RAM is compared before and after, and every byte the device changed
 * must be in a used ring or in a buffer some descriptor (in a descriptor
 * table or an indirect table it names) marks device-writable: a device
 * never writes where the driver did not let it (virtio 1.2 §2.7.4). */
#include "virtio_driver.h"

#include <stdio.h>
#include <stdlib.h>

#define R_QUEUE_SEL    0x030
#define R_QUEUE_NUM    0x038
#define R_QUEUE_READY  0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_ACK      0x064
#define R_STATUS       0x070
#define R_DRV_FEAT     0x020
#define R_DRV_FEAT_SEL 0x024
#define R_DESC_LO      0x080
#define R_DESC_HI      0x084
#define R_DRIVER_LO    0x090
#define R_DRIVER_HI    0x094
#define R_DEVICE_LO    0x0a0
#define R_DEVICE_HI    0x0a4
#define R_STATUS_BITS  0x070

#define S_ACK         1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8

#define F_VERSION_1 (1ull << 32)

#define NQ 2 /* every device here has at most two queues */

struct fv {
	struct virtio_mmio *dev;
	struct guest_ram *ram;
	struct fuzz_in *in;
	uint8_t *before;   /* RAM as it was before the operation */
	uint8_t *writable; /* per RAM byte: may the device write it now? */
	uint32_t sel;      /* QueueSel as the driver last wrote it (it reads as 0) */
	struct {
		uint16_t num, avail_idx;
		gpa_t desc, avail, used;
	} q[NQ];
};

enum op {
	OP_DESC,        /* q, index u16, addr u16, len u16, flags u8, next u16 */
	OP_DESC_RAW,    /* q, index u16, addr u64, len u32, flags u8, next u16 */
	OP_POST,        /* q, head u16: an available-ring entry, idx bumped */
	OP_NOTIFY,      /* value u8 written to QueueNotify */
	OP_REG_WRITE,   /* register u16 (any offset, width 1/2/4/8 from u8), value u64 */
	OP_REG_READ,    /* register u16, width u8 */
	OP_RAM_WRITE,   /* addr u16, n u8, n bytes */
	OP_AVAIL_IDX,   /* q, idx u16 written as the available index as is */
	OP_REINIT,      /* reset, then a header byte's worth of set-up again */
	OP_INDIRECT,    /* addr u16, n u8 (1..16), n x (addr u16, len u16, flags u8, next u8) */
	OP_QUEUE_SETUP, /* q, num u16, desc u16, avail u16, used u16 (any alignment) */
	OP_INT_ACK,     /* value u8 */
	OP_EXTRA,       /* the device's own operation */
	OP_COUNT
};

static void wr(struct fv *f, uint64_t off, uint32_t val)
{
	if (off == R_QUEUE_SEL)
		f->sel = val;
	virtio_mmio_ops.write(f->dev, off, 4, val);
}

static uint32_t rd(struct fv *f, uint64_t off)
{
	uint64_t v = 0;

	virtio_mmio_ops.read(f->dev, off, 4, &v);
	return (uint32_t)v;
}

static void *ram_at(struct fv *f, gpa_t gpa, uint64_t len)
{
	return gmem_ptr(f->ram, gpa, len);
}

static unsigned pick_queue(struct fv *f)
{
	return fin_u8(f->in) % NQ;
}

static void put(struct fv *f, gpa_t gpa, const void *src, uint64_t len)
{
	void *p = ram_at(f, gpa, len);

	if (p)
		memcpy(p, src, len);
}

static void queue_setup(struct fv *f, unsigned q, uint16_t num, gpa_t desc, gpa_t avail,
			gpa_t used)
{
	f->q[q].num = num;
	f->q[q].desc = desc;
	f->q[q].avail = avail;
	f->q[q].used = used;
	f->q[q].avail_idx = 0;
	wr(f, R_QUEUE_SEL, q);
	wr(f, R_QUEUE_NUM, num);
	wr(f, R_DESC_LO, (uint32_t)desc);
	wr(f, R_DESC_HI, (uint32_t)(desc >> 32));
	wr(f, R_DRIVER_LO, (uint32_t)avail);
	wr(f, R_DRIVER_HI, (uint32_t)(avail >> 32));
	wr(f, R_DEVICE_LO, (uint32_t)used);
	wr(f, R_DEVICE_HI, (uint32_t)(used >> 32));
	wr(f, R_QUEUE_READY, 1);
}

/* The set-up a header byte asks for (virtio 1.2 §3.1.1). */
static void init_device(struct fv *f)
{
	uint8_t how = fin_u8(f->in);

	if (!(how & 1))
		return;
	uint64_t features = fin_u64(f->in) | F_VERSION_1;
	wr(f, R_STATUS, S_ACK);
	wr(f, R_STATUS, S_ACK | S_DRIVER);
	wr(f, R_DRV_FEAT_SEL, 0);
	wr(f, R_DRV_FEAT, (uint32_t)features);
	wr(f, R_DRV_FEAT_SEL, 1);
	wr(f, R_DRV_FEAT, (uint32_t)(features >> 32));
	wr(f, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(how & 2))
		return;
	uint16_t num = (uint16_t)(1u << (fin_u8(f->in) % 9));
	for (unsigned q = 0; q < NQ; q++) {
		gpa_t base = FV_RAM_BASE + 0x4000 * q;
		queue_setup(f, q, num, base, base + 0x1000, base + 0x2000);
	}
	wr(f, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

static void put_desc(struct fv *f, gpa_t at, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	put(f, at, d, sizeof(d));
}

static void op_desc(struct fv *f, bool raw)
{
	unsigned q = pick_queue(f);
	uint16_t index = fin_u16(f->in);
	uint64_t addr = raw ? fin_u64(f->in) : FV_RAM_BASE + fin_u16(f->in);
	uint32_t len = raw ? fin_u32(f->in) : fin_u16(f->in);
	uint16_t flags = fin_u8(f->in);
	uint16_t next = fin_u16(f->in);

	put_desc(f, f->q[q].desc + 16ull * index, addr, len, flags, next);
}

static void op_post(struct fv *f)
{
	unsigned q = pick_queue(f);
	uint16_t head = fin_u16(f->in);
	uint16_t num = f->q[q].num ? f->q[q].num : 1;

	put(f, f->q[q].avail + 4 + 2ull * (f->q[q].avail_idx % num), &head, 2);
	f->q[q].avail_idx++;
	put(f, f->q[q].avail + 2, &f->q[q].avail_idx, 2);
}

static void op_reg(struct fv *f, bool write)
{
	uint16_t off = fin_u16(f->in) % (VIRTIO_MMIO_SIZE + 16);
	unsigned len = 1u << (fin_u8(f->in) % 4);
	uint64_t val = 0;

	if (write && off == R_QUEUE_SEL && len == 4)
		wr(f, off, (uint32_t)fin_u64(f->in));
	else if (write)
		virtio_mmio_ops.write(f->dev, off, len, fin_u64(f->in));
	else
		virtio_mmio_ops.read(f->dev, off, len, &val);
}

static void op_ram_write(struct fv *f)
{
	gpa_t at = FV_RAM_BASE + fin_u16(f->in);
	size_t got;
	const uint8_t *src = fin_take(f->in, fin_u8(f->in), &got);

	put(f, at, src, got);
}

static void op_avail_idx(struct fv *f)
{
	unsigned q = pick_queue(f);

	f->q[q].avail_idx = fin_u16(f->in);
	put(f, f->q[q].avail + 2, &f->q[q].avail_idx, 2);
}

static void op_indirect(struct fv *f)
{
	gpa_t table = FV_RAM_BASE + fin_u16(f->in);
	unsigned n = 1 + fin_u8(f->in) % 16;

	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = FV_RAM_BASE + fin_u16(f->in);
		uint32_t len = fin_u16(f->in);
		uint16_t flags = fin_u8(f->in);
		uint16_t next = fin_u8(f->in);

		put_desc(f, table + 16 * i, addr, len, flags, next);
	}
}

static void op_queue_setup(struct fv *f)
{
	unsigned q = pick_queue(f);
	uint16_t num = fin_u16(f->in);
	gpa_t desc = FV_RAM_BASE + fin_u16(f->in);
	gpa_t avail = FV_RAM_BASE + fin_u16(f->in);
	gpa_t used = FV_RAM_BASE + fin_u16(f->in);

	wr(f, R_QUEUE_SEL, q);
	wr(f, R_QUEUE_READY, 0);
	queue_setup(f, q, num, desc, avail, used);
}

/* ---- the check: the device writes only where it may ---- */

static void allow(struct fv *f, gpa_t gpa, uint64_t len)
{
	uint64_t off = gpa - f->ram->base;

	if (off >= f->ram->size)
		return;
	if (len > f->ram->size - off)
		len = f->ram->size - off;
	memset(f->writable + off, 1, len);
}

/* The device-writable buffers of the n descriptors at table (and of the
 * indirect tables they name, when not already inside one), as RAM was
 * before the operation. */
static void allow_table(struct fv *f, gpa_t table, uint64_t n, bool indirect)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t off = table + 16 * i - f->ram->base, addr;
		const uint8_t *d = off < f->ram->size - 16 ? f->before + off : NULL;
		uint32_t len;
		uint16_t flags;

		if (!d)
			return;
		memcpy(&addr, d, 8);
		memcpy(&len, d + 8, 4);
		memcpy(&flags, d + 12, 2);
		if (flags & 4) { /* VIRTQ_DESC_F_INDIRECT */
			if (!indirect)
				allow_table(f, addr, len / 16, true);
		} else if (flags & 2) { /* VIRTQ_DESC_F_WRITE */
			allow(f, addr, len);
		}
	}
}

/* Add where the device may write, by its registers now and the rings. */
static void add_writable(struct fv *f)
{
	for (unsigned q = 0; q < NQ; q++) {
		uint64_t num, desc, used;

		wr(f, R_QUEUE_SEL, q);
		num = rd(f, R_QUEUE_NUM);
		desc = rd(f, R_DESC_LO) | (uint64_t)rd(f, R_DESC_HI) << 32;
		used = rd(f, R_DEVICE_LO) | (uint64_t)rd(f, R_DEVICE_HI) << 32;
		if (num > 0x10000)
			num = 0x10000;
		allow(f, used, 6 + 8 * num);
		allow_table(f, desc, num, false);
	}
	wr(f, R_QUEUE_SEL, f->sel);
}

static void check_writes(struct fv *f, const char *op)
{
	if (!memcmp(f->before, f->ram->host, f->ram->size))
		return; /* nothing written: the common case, at memcmp's speed */
	for (uint64_t i = 0; i < f->ram->size; i++) {
		if (f->ram->host[i] != f->before[i] && !f->writable[i]) {
			fprintf(stderr,
				"virtio device wrote guest RAM at %#llx (%#x -> %#x) during %s, "
				"outside every used ring and device-writable buffer\n",
				(unsigned long long)(f->ram->base + i), f->before[i], f->ram->host[i],
				op);
			abort();
		}
	}
}

/* Run an operation the device may act on, checking what it writes.  The
 * rings may be moved by the operation itself: where they were before and
 * where they are after are both the device's to write. */
#define DEVICE_OP(f, name, call)                                                           \
	do {                                                                               \
		memcpy((f)->before, (f)->ram->host, (f)->ram->size);                        \
		memset((f)->writable, 0, (f)->ram->size);                                   \
		add_writable(f);                                                           \
		call;                                                                      \
		add_writable(f);                                                           \
		check_writes(f, name);                                                     \
	} while (0)

void fuzz_virtio_run(struct virtio_mmio *dev, struct guest_ram *ram, struct fuzz_in *in,
		     fuzz_virtio_extra_fn extra, void *ctx)
{
	struct fv f = { .dev = dev, .ram = ram, .in = in };

	f.before = malloc(ram->size);
	f.writable = malloc(ram->size);
	if (!f.before || !f.writable)
		abort();
	DEVICE_OP(&f, "set-up", init_device(&f));
	while (fin_more(in)) {
		switch (fin_u8(in) % OP_COUNT) {
		case OP_DESC: op_desc(&f, false); break;
		case OP_DESC_RAW: op_desc(&f, true); break;
		case OP_POST: op_post(&f); break;
		case OP_NOTIFY: DEVICE_OP(&f, "notify", wr(&f, R_QUEUE_NOTIFY, fin_u8(in))); break;
		case OP_REG_WRITE: DEVICE_OP(&f, "register write", op_reg(&f, true)); break;
		case OP_REG_READ: op_reg(&f, false); break;
		case OP_RAM_WRITE: op_ram_write(&f); break;
		case OP_AVAIL_IDX: op_avail_idx(&f); break;
		case OP_REINIT:
			wr(&f, R_STATUS, 0);
			DEVICE_OP(&f, "set-up", init_device(&f));
			break;
		case OP_INDIRECT: op_indirect(&f); break;
		case OP_QUEUE_SETUP: DEVICE_OP(&f, "queue set-up", op_queue_setup(&f)); break;
		case OP_INT_ACK: wr(&f, R_INT_ACK, fin_u8(in)); break;
		case OP_EXTRA:
			if (extra)
				DEVICE_OP(&f, "device operation", extra(ctx, in));
			break;
		}
	}
	free(f.before);
	free(f.writable);
}

static void no_irq(void *ctrl, unsigned irq, bool level)
{
}

struct irq_line fuzz_virtio_irq(void)
{
	return (struct irq_line){ .set = no_irq };
}
