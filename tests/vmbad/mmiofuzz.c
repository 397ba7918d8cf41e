/* mmiofuzz.c - every hart writes pseudo-random values of every width (1,
 * 2, 4, 8 bytes, aligned and misaligned) to every register of every device
 * of the board and reads them back: UART, RTC, ACLINT, PLIC (including
 * claim/complete and contexts far beyond the harts), every virtio-mmio slot
 * (including QueueNotify with garbage queue numbers, queues set up on
 * rings full of garbage, and a driver asking again and again for features
 * that were not offered), and the holes between devices.  Only the test
 * finisher is left alone, for the exit at the end.
 *
 * An access fault or a misaligned-access exception is a legitimate answer:
 * the trap handler skips the instruction and counts it.  Devices are aimed
 * only at the scratch area (rt.h) for DMA, so the program itself survives
 * whatever they do with the garbage.  At the end hart 0 checks that the
 * board still works (the UART prints, the PLIC keeps a priority, every
 * virtio device resets and serves a normal request) and exits 0. */
#include "vio.h"

#define SEED 0x5eed0f0dde7ull

struct range {
	uint64_t start, end; /* offsets in the device window */
};

struct device {
	const char *name;
	uintptr_t base;
	uint64_t size;          /* the window; random accesses go a bit past it */
	struct range sweep[6];  /* registers visited at every offset and width */
	unsigned random_accesses;
	bool virtio;
};

static const struct device devices[] = {
	{ "uart", UART_BASE, 0x100, { { 0, 0x100 } }, 20000, false },
	{ "rtc", RTC_BASE, 0x1000, { { 0, 0x40 } }, 20000, false },
	{ "aclint", ACLINT_BASE, ACLINT_SIZE,
	  { { 0, 0x40 }, { 0x4000, 0x4048 }, { 0xbff0, 0xc000 } }, 20000, false },
	{ "plic", PLIC_BASE, PLIC_SIZE,
	  { { 0, 0x200 },              /* priorities of sources 0..127 */
	    { 0x1000, 0x1020 },        /* pending */
	    { 0x2000, 0x2200 },        /* enables of contexts 0..3 */
	    { 0x1fff00, 0x200000 },    /* enables of the last contexts */
	    { 0x200000, 0x200010 },    /* threshold, claim/complete: context 0 */
	    { 0x5ff000, 0x5ff010 } },  /* context 1023 */
	  60000, false },
	{ "virtio0", VIRTIO_BASE + 0 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	{ "virtio1", VIRTIO_BASE + 1 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	{ "virtio2", VIRTIO_BASE + 2 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	{ "virtio3", VIRTIO_BASE + 3 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	{ "virtio4", VIRTIO_BASE + 4 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	{ "virtio5", VIRTIO_BASE + 5 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	{ "virtio6", VIRTIO_BASE + 6 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	{ "virtio7", VIRTIO_BASE + 7 * VIRTIO_STRIDE, 0x1000, { { 0, 0x200 } }, 15000, true },
	/* holes: nothing there, every access should fault */
	{ "hole-0", 0, 0x1000, { { 0, 0x10 } }, 500, false },
	{ "hole-after-rtc", RTC_BASE + 0x1000, 0x1000, { { 0, 0x10 } }, 500, false },
	{ "hole-after-plic", PLIC_BASE + PLIC_SIZE, 0x1000, { { 0, 0x10 } }, 500, false },
	{ "hole-after-virtio", VIRTIO_BASE + 8 * VIRTIO_STRIDE, 0x1000, { { 0, 0x10 } }, 500,
	  false },
};
#define N_DEVICES (sizeof(devices) / sizeof(devices[0]))

static volatile uint32_t boot_go, harts_done;
static uint64_t accesses[MAX_HARTS];

/* Never aim a device at the program, its stacks or its rings: an address
 * below the scratch area moves up into it. */
static uint32_t keep_off_program(uint32_t lo)
{
	if (lo >= RAM_BASE && lo < SCRATCH_BASE)
		lo += (uint32_t)(SCRATCH_BASE - RAM_BASE);
	return lo;
}

static uint64_t scratch_addr(uint64_t *s, uint64_t align)
{
	return (SCRATCH_BASE + rng_next(s) % (SCRATCH_SIZE / 2)) & ~(align - 1);
}

static uint64_t value_for(const struct device *dev, uint64_t off, uint64_t *s)
{
	uint64_t r = rng_next(s);

	if (dev->virtio) {
		uint64_t reg = off & ~3ull;
		if (reg >= VIO_QUEUE_DESC_LO && reg <= VIO_QUEUE_DEVICE_HI) {
			if (reg & 4) /* high halves: mostly 0, so the low half decides */
				return r % 4 ? 0 : r >> 32;
			return r % 3 ? scratch_addr(s, 16) : keep_off_program((uint32_t)(r >> 16));
		}
		if (reg == VIO_QUEUE_NOTIFY) {
			static const uint32_t queues[] = { 0, 1, 2, 3, 7, 0xffff, 0x10000,
							   0xffffffff };
			return r % 4 ? queues[(r >> 8) % 8] : r >> 32;
		}
		if (reg == VIO_STATUS)
			return r % 8 ? (r >> 8) & 0xff : 0;
		if (reg == VIO_QUEUE_NUM)
			return r % 2 ? 1u << ((r >> 8) % 10) : (r >> 8) & 0xffff;
	}
	switch (r % 8) {
	case 0: return 0;
	case 1: return ~0ull;
	case 2: return (r >> 8) % 16;
	case 3: return 1ull << ((r >> 8) % 64);
	default: return rng_next(s);
	}
}

static void access(const struct device *dev, uint64_t off, unsigned width, uint64_t *s)
{
	uint64_t hid = rt_hartid() % MAX_HARTS;
	uint64_t v = value_for(dev, off, s);

	mmio_write(dev->base + off, width, v);
	(void)mmio_read(dev->base + off, width, 0);
	accesses[hid] += 2;
}

/* Garbage rings in the scratch area for the devices to chew on:
 * descriptors pointing back into scratch, lengths up to 4 KiB, flags and
 * next indices plausible often enough that some chains get served. */
static void fill_scratch(uint64_t *s)
{
	struct vdesc *d = (struct vdesc *)SCRATCH_BASE;

	for (uint64_t i = 0; i < SCRATCH_SIZE / 2 / sizeof(*d); i++) {
		uint64_t r = rng_next(s);
		d[i].addr = scratch_addr(s, 1);
		d[i].len = (uint32_t)(r % 4096);
		d[i].flags = (uint16_t)((r >> 12) & 3);
		if ((r >> 16) % 16 == 0) {
			d[i].flags = D_INDIRECT;
			d[i].len &= ~15u;
		}
		d[i].next = (uint16_t)((r >> 24) % 64 == 0 ? r >> 32 : (r >> 32) % 8);
	}
}

/* A driver-like set-up on garbage rings, so the device really walks them. */
static void quasi_setup(const struct device *dev, uint64_t *s)
{
	uintptr_t b = dev->base;
	uint64_t r = rng_next(s);
	uint32_t num = 1u << (r % 6);
	uint64_t desc = scratch_addr(s, 16), avail = scratch_addr(s, 2), used = scratch_addr(s, 4);

	uint32_t offered;

	wr32(b + VIO_STATUS, 0);
	wr32(b + VIO_STATUS, ST_ACK | ST_DRIVER);
	wr32(b + VIO_DEV_FEATURES_SEL, 0);
	offered = rd32(b + VIO_DEV_FEATURES);
	wr32(b + VIO_DRV_FEATURES_SEL, 0);
	wr32(b + VIO_DRV_FEATURES, (uint32_t)(r >> 8) & offered); /* a random subset */
	wr32(b + VIO_DRV_FEATURES_SEL, 1);
	wr32(b + VIO_DRV_FEATURES, 1); /* VERSION_1 */
	wr32(b + VIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	wr32(b + VIO_QUEUE_SEL, (uint32_t)(r >> 20) % 3);
	wr32(b + VIO_QUEUE_NUM, num);
	wr32(b + VIO_QUEUE_DESC_LO, (uint32_t)desc);
	wr32(b + VIO_QUEUE_DESC_HI, 0);
	wr32(b + VIO_QUEUE_DRIVER_LO, (uint32_t)avail);
	wr32(b + VIO_QUEUE_DRIVER_HI, 0);
	wr32(b + VIO_QUEUE_DEVICE_LO, (uint32_t)used);
	wr32(b + VIO_QUEUE_DEVICE_HI, 0);
	/* an avail index the device will believe, heads mostly in range */
	volatile uint16_t *a = (volatile uint16_t *)avail;
	for (uint32_t i = 0; i < num; i++)
		a[2 + i] = (uint16_t)(rng_next(s) % (num + 1));
	a[1] = (uint16_t)(rng_next(s) % (num + 1));
	fence();
	wr32(b + VIO_QUEUE_READY, 1);
	wr32(b + VIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	wr32(b + VIO_QUEUE_NOTIFY, (uint32_t)(r >> 24) % 3);
	accesses[rt_hartid() % MAX_HARTS] += 20;
}

static void fuzz_device(const struct device *dev, uint64_t *s)
{
	static const unsigned widths[] = { 1, 2, 4, 8 };

	/* every offset of the listed registers, every width */
	for (int k = 0; k < 6 && dev->sweep[k].end; k++)
		for (uint64_t off = dev->sweep[k].start; off < dev->sweep[k].end; off++)
			for (int w = 0; w < 4; w++)
				access(dev, off, widths[w], s);
	/* then random offsets (a little past the window too) and widths */
	for (unsigned i = 0; i < dev->random_accesses; i++) {
		uint64_t r = rng_next(s);
		uint64_t off = r % (dev->size + dev->size / 16);
		if (dev->virtio && r % 50 == 0) {
			quasi_setup(dev, s);
			continue;
		}
		if (dev->virtio && r % 10 == 1)
			off = VIO_QUEUE_NOTIFY; /* plenty of notifications */
		access(dev, off, widths[(r >> 40) % 4], s);
	}
	if (dev->virtio)
		wr32(dev->base + VIO_STATUS, 0); /* stop any DMA before the next one */
}

/* A driver that keeps asking for features nobody offered: each attempt
 * is refused (FEATURES_OK stays clear); the host's log must not grow
 * with every one of them. */
static void refused_features(const struct device *dev)
{
	uintptr_t b = dev->base;

	for (int i = 0; i < 300; i++) {
		wr32(b + VIO_STATUS, 0);
		wr32(b + VIO_STATUS, ST_ACK | ST_DRIVER);
		wr32(b + VIO_DRV_FEATURES_SEL, 1);
		wr32(b + VIO_DRV_FEATURES, 1u << 31); /* bit 63: never offered */
		wr32(b + VIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
		accesses[rt_hartid() % MAX_HARTS] += 5;
	}
	wr32(b + VIO_STATUS, 0);
}

static void fuzz_all(uint64_t hartid)
{
	uint64_t s = SEED ^ (hartid * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < N_DEVICES; i++)
		fuzz_device(&devices[i], &s);
	for (size_t i = 0; i < N_DEVICES; i++)
		if (devices[i].virtio)
			refused_features(&devices[i]);
}

void hart_main(uint64_t hartid)
{
	while (!__atomic_load_n(&boot_go, __ATOMIC_ACQUIRE))
		;
	fuzz_all(hartid);
	__atomic_fetch_add(&harts_done, 1, __ATOMIC_SEQ_CST);
	rt_park();
}

static int failures;

static void check(bool ok, const char *what)
{
	if (!ok) {
		rt_puts("FAIL mmiofuzz: ");
		rt_puts(what);
		rt_puts("\n");
		failures++;
	}
}

/* After the storm: every virtio device resets and serves a request. */
static void check_virtio(void)
{
	static uint8_t buf[512] __attribute__((aligned(16)));
	static uint8_t hdr[16] __attribute__((aligned(16)));
	static volatile uint8_t status;
	struct vdev d;

	for (int n = 0; vio_find(VIO_ID_RNG, n, &d); n++) {
		check(vio_setup(&d, 8, 0) == 0, "virtio-rng set-up after fuzzing");
		memset(buf, 0, 64);
		d.ring->desc[0] = (struct vdesc){ (uintptr_t)buf, 64, D_WRITE, 0 };
		vio_post(&d, 0, 1);
		check(vio_wait(&d) == 1, "virtio-rng request after fuzzing");
		vio_wr(&d, VIO_STATUS, 0);
	}
	for (int n = 0; vio_find(VIO_ID_BLOCK, n, &d); n++) {
		check(vio_setup(&d, 8, 0) == 0, "virtio-blk set-up after fuzzing");
		memset(hdr, 0, sizeof(hdr)); /* IN, sector 0 */
		status = 0xff;
		d.ring->desc[0] = (struct vdesc){ (uintptr_t)hdr, 16, D_NEXT, 1 };
		d.ring->desc[1] = (struct vdesc){ (uintptr_t)buf, 512, D_NEXT | D_WRITE, 2 };
		d.ring->desc[2] = (struct vdesc){ (uintptr_t)&status, 1, D_WRITE, 0 };
		vio_post(&d, 0, 1);
		check(vio_wait(&d) == 1 && status == 0, "virtio-blk read after fuzzing");
		vio_wr(&d, VIO_STATUS, 0);
	}
}

int main(void)
{
	uint64_t seed = SEED, total = 0, faults = 0;
	int ncpus = rt_ncpus();

	rt_uart_init();
	rt_puts("# mmiofuzz: ");
	rt_put_dec((uint64_t)ncpus);
	rt_puts(" hart(s)\n");
	fill_scratch(&seed);
	fence();
	__atomic_store_n(&boot_go, 1, __ATOMIC_SEQ_CST);
	fuzz_all(0);
	/* the others finish too (bounded: a lost hart is a failure, not a hang) */
	for (long spin = 0; harts_done < (uint32_t)(ncpus - 1) && spin < 4000000000l; spin++)
		;
	rt_uart_init();
	rt_puts("\n"); /* after whatever the fuzzing sent to the UART */
	check(harts_done == (uint32_t)(ncpus - 1), "a hart did not finish");
	for (int h = 0; h < ncpus; h++) {
		const struct fault_counts *f = &rt_faults[h];
		rt_puts("# hart ");
		rt_put_dec((uint64_t)h);
		rt_puts(": ");
		rt_put_dec(accesses[h]);
		rt_puts(" accesses; skipped: load misaligned ");
		rt_put_dec(f->by_cause[4]);
		rt_puts(", load fault ");
		rt_put_dec(f->by_cause[5]);
		rt_puts(", store misaligned ");
		rt_put_dec(f->by_cause[6]);
		rt_puts(", store fault ");
		rt_put_dec(f->by_cause[7]);
		rt_puts("\n");
		total += accesses[h];
		faults += f->by_cause[4] + f->by_cause[5] + f->by_cause[6] + f->by_cause[7];
	}
	/* the holes alone fault, so a handler that never ran means no fuzzing */
	check(faults > 0, "no access ever faulted");
	check(total > 200000, "too few accesses");
	/* the board still works */
	wr32(PLIC_BASE + 4 * 10, 5);
	check(rd32(PLIC_BASE + 4 * 10) == 5, "PLIC priority does not stick");
	wr32(PLIC_BASE + 4 * 10, 0);
	check_virtio();
	rt_puts(failures ? "FAIL mmiofuzz\n" : "ok mmiofuzz (guest side)\n");
	return failures;
}
