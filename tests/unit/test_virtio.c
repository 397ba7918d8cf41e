/* Unit tests for virtio: the tests play the guest driver, driving the
 * virtio-mmio registers through virtio_mmio_ops and building split
 * virtqueues in a fake guest RAM.  Covered: identity registers, feature
 * negotiation, reset, queue setup, virtio-blk I/O against a temp file,
 * read-only disks, virtio-rng, virtio-console in both directions,
 * virtio-net over a socketpair (frames both ways, mergeable buffers,
 * checksum offload, malformed frames dropped and counted), and every
 * malformed-ring case ending in DEVICE_NEEDS_RESET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "condo/block.h"
#include "condo/block_aio.h"
#include "condo/evloop.h"
#include "condo/mem.h"
#include "condo/net.h"
#include "condo/state.h"
#include "condo/virtio.h"
#include "test_state_common.h"
#include "test_fake_irq.h"

#include <sys/socket.h>

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1ull << 20)
#define BUF_BASE (RAM_BASE + 0x20000) /* request buffers; rings live below */

/* registers (virtio 1.2 §4.2.2) */
#define R_MAGIC        0x000
#define R_VERSION      0x004
#define R_DEVICE_ID    0x008
#define R_VENDOR_ID    0x00c
#define R_DEV_FEAT     0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT     0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL    0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM    0x038
#define R_QUEUE_READY  0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS   0x060
#define R_INT_ACK      0x064
#define R_STATUS       0x070
#define R_DESC_LO      0x080
#define R_DESC_HI      0x084
#define R_DRIVER_LO    0x090
#define R_DRIVER_HI    0x094
#define R_DEVICE_LO    0x0a0
#define R_DEVICE_HI    0x0a4
#define R_SHM_LEN_LO   0x0b0
#define R_CONFIG       0x100

#define S_ACK         1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_INDIRECT  (1ull << 28)
#define F_VERSION_1 (1ull << 32)
#define F_BLK_RO    (1ull << 5)
#define F_BLK_FLUSH (1ull << 9)

#define D_NEXT     1
#define D_WRITE    2
#define D_INDIRECT 4

#define QNUM 16 /* the size our driver picks; the device offers 256 */

#define DISK_SECTORS 64


/* A virtqueue as the driver sees it. */
struct tq {
	unsigned index;
	uint16_t num;
	uint64_t desc, avail, used;
	uint16_t avail_idx;
};

static struct {
	struct guest_ram ram;
	struct fake_irq irq;
	struct virtio_mmio *dev;
	struct block_dev *disk;
	struct block_aio *aio;
	struct evloop *loop;
	char path[64];
	int in_pipe[2], out_pipe[2];
	struct net_nic *nic;
	int peer; /* the other end of the NIC's socketpair: the "network" */
	struct tq q[2];
} T;

/* ---- guest memory and registers ---- */

static void *gp(uint64_t gpa, uint64_t len)
{
	void *p = gmem_ptr(&T.ram, gpa, len);

	if (!p) {
		fail_msg("test bug: guest address %#llx not in RAM", (unsigned long long)gpa);
		abort(); /* fail_msg does not return; tell the compiler too */
	}
	return p;
}

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(virtio_mmio_ops.read(T.dev, off, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t val)
{
	assert_int_equal(virtio_mmio_ops.write(T.dev, off, 4, val), 0);
}

static uint64_t rd_config(unsigned off, unsigned len)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(virtio_mmio_ops.read(T.dev, R_CONFIG + off, len, &v), 0);
	return v;
}

static struct irq_line test_irq(void)
{
	return (struct irq_line){ fake_irq_set, &T.irq, 5 };
}

/* ---- the driver's side of a split virtqueue ---- */

static void tq_layout(struct tq *q, unsigned index, uint16_t num)
{
	q->index = index;
	q->num = num;
	q->desc = RAM_BASE + 0x8000 * index;
	q->avail = q->desc + 0x1000;
	q->used = q->desc + 0x2000;
	q->avail_idx = 0;
	memset(gp(q->desc, 0x3000), 0, 0x3000);
}

static void set_desc_in(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	uint8_t *d = gp(table + 16 * i, 16);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void set_desc(struct tq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	set_desc_in(q->desc, i, addr, len, flags, next);
}

static void post(struct tq *q, uint16_t head)
{
	uint16_t *ring = gp(q->avail + 4, 2 * q->num);

	ring[q->avail_idx % q->num] = head;
	q->avail_idx++;
	__atomic_store_n((uint16_t *)gp(q->avail + 2, 2), q->avail_idx, __ATOMIC_RELEASE);
}

static void kick(struct tq *q)
{
	wr(R_QUEUE_NOTIFY, q->index);
}

static uint16_t used_idx(const struct tq *q)
{
	return __atomic_load_n((uint16_t *)gp(q->used + 2, 2), __ATOMIC_ACQUIRE);
}

static void used_elem(const struct tq *q, unsigned i, uint32_t *id, uint32_t *len)
{
	uint32_t *e = gp(q->used + 4 + 8 * (i % q->num), 8);

	*id = e[0];
	*len = e[1];
}

/* Wait for work done on the event loop's thread; never a timing assertion:
 * the bound only keeps a broken build from hanging. */
static bool wait_used(const struct tq *q, uint16_t target)
{
	for (int i = 0; i < 20000; i++) {
		if (used_idx(q) == target)
			return true;
		usleep(500);
	}
	return false;
}

/* The queue set-up of §3.1.1 and §4.2.3.2, then DRIVER_OK. */
static void queues_init(unsigned nqueues, uint16_t num)
{
	for (unsigned i = 0; i < nqueues; i++) {
		struct tq *q = &T.q[i];

		tq_layout(q, i, num);
		wr(R_QUEUE_SEL, i);
		assert_int_equal(rd(R_QUEUE_READY), 0);
		assert_int_equal(rd(R_QUEUE_NUM_MAX), 256);
		wr(R_QUEUE_NUM, num);
		wr(R_DESC_LO, (uint32_t)q->desc);
		wr(R_DESC_HI, (uint32_t)(q->desc >> 32));
		wr(R_DRIVER_LO, (uint32_t)q->avail);
		wr(R_DRIVER_HI, (uint32_t)(q->avail >> 32));
		wr(R_DEVICE_LO, (uint32_t)q->used);
		wr(R_DEVICE_HI, (uint32_t)(q->used >> 32));
		wr(R_QUEUE_READY, 1);
		assert_int_equal(rd(R_QUEUE_READY), 1);
	}
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* The driver initialisation of §3.1.1, accepting offered & wanted. */
static uint64_t driver_init_num(unsigned nqueues, uint64_t wanted, uint16_t num)
{
	uint64_t offered;

	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DEV_FEAT_SEL, 1);
	offered = (uint64_t)rd(R_DEV_FEAT) << 32;
	wr(R_DEV_FEAT_SEL, 0);
	offered |= rd(R_DEV_FEAT);
	wanted &= offered;
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, (uint32_t)wanted);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, (uint32_t)(wanted >> 32));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	assert_true(rd(R_STATUS) & S_FEATURES_OK);
	queues_init(nqueues, num);
	return wanted;
}

static uint64_t driver_init(unsigned nqueues, uint64_t wanted)
{
	return driver_init_num(nqueues, wanted, QNUM);
}

/* ---- fixtures ---- */

static int ram_setup(void)
{
	memset(&T, 0, sizeof(T));
	T.in_pipe[0] = T.in_pipe[1] = T.out_pipe[0] = T.out_pipe[1] = -1;
	T.peer = -1;
	return ram_init(&T.ram, RAM_BASE, RAM_SIZE);
}

static int make_disk_file(void)
{
	uint8_t sector[512];
	int fd;

	strcpy(T.path, "/tmp/condo-test-virtio-XXXXXX");
	fd = mkstemp(T.path);
	if (fd < 0)
		return -1;
	for (int s = 0; s < DISK_SECTORS; s++) {
		for (int i = 0; i < 512; i++)
			sector[i] = (uint8_t)(s * 31 + i);
		if (write(fd, sector, sizeof(sector)) != (ssize_t)sizeof(sector)) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int blk_setup_engine(bool readonly, int engine)
{
	struct virtio_blk_opts opts = { .readonly = readonly, .discard_unmap = true };

	if (ram_setup() || make_disk_file())
		return -1;
	T.disk = block_raw_open(T.path, false);
	if (!T.disk)
		return -1;
	if (engine >= 0) {
		T.aio = block_aio_new(T.disk, (enum block_aio_kind)engine);
		if (!T.aio) /* no io_uring here: the test skips */
			return engine == BLOCK_AIO_IO_URING ? 0 : -1;
		if (block_aio_start(T.aio, NULL, NULL) < 0)
			return -1;
		opts.aio = T.aio;
	}
	T.dev = virtio_blk_new(&T.ram, test_irq(), T.disk, &opts);
	return T.dev ? 0 : -1;
}

static int blk_setup_mode(bool readonly)
{
	return blk_setup_engine(readonly, -1);
}

static int blk_threads_setup(void **state)
{
	return blk_setup_engine(false, BLOCK_AIO_THREADS);
}

/* io_uring where the kernel gives it (else T.dev stays NULL: skip) */
static int blk_uring_setup(void **state)
{
	return blk_setup_engine(false, BLOCK_AIO_IO_URING);
}

static int blk_setup(void **state)
{
	return blk_setup_mode(false);
}

static int blk_ro_setup(void **state)
{
	return blk_setup_mode(true);
}

static int rng_setup(void **state)
{
	if (ram_setup())
		return -1;
	T.dev = virtio_rng_new(&T.ram, test_irq());
	return T.dev ? 0 : -1;
}

static int console_setup(void **state)
{
	if (ram_setup() || pipe(T.in_pipe) || pipe(T.out_pipe))
		return -1;
	T.loop = evloop_new();
	if (!T.loop)
		return -1;
	T.dev = virtio_console_new(&T.ram, test_irq(), T.loop, T.in_pipe[0], T.out_pipe[1]);
	if (!T.dev || evloop_start(T.loop))
		return -1;
	return 0;
}

/* virtio-net on a NIC whose back end is one end of a socketpair; the
 * test reads and writes frames at the other (T.peer). */
static int net_setup(void **state)
{
	struct net_config cfg = { .kind = NET_FD };
	int sp[2];

	if (ram_setup() || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
		return -1;
	cfg.fd = sp[0];
	T.peer = sp[1];
	T.nic = net_nic_open(&cfg, 0);
	if (!T.nic || net_nic_start(T.nic, NULL, NULL) < 0)
		return -1;
	T.dev = virtio_net_new(&T.ram, test_irq(), T.nic);
	return T.dev ? 0 : -1;
}

static int teardown(void **state)
{
	evloop_free(T.loop); /* stop the loop before freeing what it calls */
	virtio_mmio_free(T.dev); /* waits for its requests in flight */
	net_nic_close(T.nic); /* after the device, which detaches from it */
	if (T.peer >= 0)
		close(T.peer);
	block_aio_stop(T.aio);
	block_aio_free(T.aio);
	block_close(T.disk);
	if (T.path[0])
		unlink(T.path);
	for (int i = 0; i < 2; i++) {
		if (T.in_pipe[i] >= 0)
			close(T.in_pipe[i]);
		if (T.out_pipe[i] >= 0)
			close(T.out_pipe[i]);
	}
	ram_free(&T.ram);
	return 0;
}

/* ---- virtio-blk request builders ---- */

#define HDR_GPA    (BUF_BASE)
#define DATA_GPA   (BUF_BASE + 0x1000)
#define STATUS_GPA (BUF_BASE + 0x800)
#define IND_GPA    (BUF_BASE + 0x400) /* indirect tables */

static void put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint8_t *h = gp(gpa, 16);

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
}

static uint8_t *status_byte(void)
{
	return gp(STATUS_GPA, 1);
}

/* A three-descriptor request at descriptors 0..2: header, data, status. */
static void blk_req3(struct tq *q, uint32_t type, uint64_t sector, uint32_t data_len, bool data_in)
{
	put_hdr(HDR_GPA, type, sector);
	*status_byte() = 0xff;
	set_desc(q, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(q, 1, DATA_GPA, data_len, D_NEXT | (data_in ? D_WRITE : 0), 2);
	set_desc(q, 2, STATUS_GPA, 1, D_WRITE, 0);
}

static void expect_sector_pattern(const uint8_t *buf, unsigned sector)
{
	for (int i = 0; i < 512; i++)
		if (buf[i] != (uint8_t)(sector * 31 + i))
			fail_msg("sector %u byte %d: %#x", sector, i, buf[i]);
}

/* ---- transport ---- */

static void test_identity_registers(void **state)
{
	uint64_t v;

	assert_int_equal(rd(R_MAGIC), 0x74726976);
	assert_int_equal(rd(R_VERSION), 2);
	assert_int_equal(rd(R_DEVICE_ID), 2);
	assert_int_equal(rd(R_VENDOR_ID), 0x554d4551); /* QEMU's: drivers for its virt board check */
	assert_int_equal(virtio_mmio_device_id(T.dev), VIRTIO_ID_BLOCK);
	assert_string_equal(virtio_mmio_kconfig(T.dev), "CONFIG_VIRTIO_BLK");
	/* registers are 32-bit only: other widths read 0, writes are ignored */
	assert_int_equal(virtio_mmio_ops.read(T.dev, R_MAGIC, 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(virtio_mmio_ops.read(T.dev, R_MAGIC, 2, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(virtio_mmio_ops.read(T.dev, R_MAGIC + 2, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(virtio_mmio_ops.write(T.dev, R_STATUS, 1, S_ACK), 0);
	assert_int_equal(rd(R_STATUS), 0);
	/* no shared memory regions: length reads as -1 */
	assert_int_equal(rd(R_SHM_LEN_LO), 0xffffffff);
	assert_int_equal(rd(0x0f0), 0);
}

static void test_features_offer_version_1(void **state)
{
	wr(R_DEV_FEAT_SEL, 1);
	assert_true(rd(R_DEV_FEAT) & 1); /* bit 32 */
	wr(R_DEV_FEAT_SEL, 0);
	assert_true(rd(R_DEV_FEAT) & F_BLK_FLUSH);
	assert_true(rd(R_DEV_FEAT) & F_INDIRECT);
	assert_false(rd(R_DEV_FEAT) & F_BLK_RO);
	wr(R_DEV_FEAT_SEL, 2);
	assert_int_equal(rd(R_DEV_FEAT), 0);
}

static void negotiate(uint64_t features)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, (uint32_t)features);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, (uint32_t)(features >> 32));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
}

/* As QEMU does (§4.2.2 lets the device refuse): a driver that writes only
 * the low feature word, so never accepts VERSION_1, gets FEATURES_OK and a
 * working device. */
static void test_features_ok_accepted_without_version_1(void **state)
{
	struct tq *q = &T.q[0];
	uint32_t id, len;

	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, (uint32_t)F_BLK_FLUSH);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	assert_true(rd(R_STATUS) & S_FEATURES_OK);
	queues_init(1, QNUM);
	assert_int_equal(rd(R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	assert_true(virtio_mmio_driver_ok(T.dev));
	put_hdr(HDR_GPA, 0, 3);
	*status_byte() = 0xff;
	set_desc(q, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(q, 1, DATA_GPA, 512, D_NEXT | D_WRITE, 2);
	set_desc(q, 2, STATUS_GPA, 1, D_WRITE, 0);
	post(q, 0);
	kick(q);
	assert_int_equal(used_idx(q), 1);
	used_elem(q, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 513);
	assert_int_equal(*status_byte(), 0);
	expect_sector_pattern(gp(DATA_GPA, 512), 3);
}

static void test_features_ok_refused_for_unoffered_bits(void **state)
{
	negotiate(F_VERSION_1 | (1ull << 29) /* EVENT_IDX: not offered */);
	assert_false(rd(R_STATUS) & S_FEATURES_OK);
	negotiate(F_VERSION_1 | F_BLK_FLUSH);
	assert_true(rd(R_STATUS) & S_FEATURES_OK);
}

static void test_driver_features_frozen_after_features_ok(void **state)
{
	negotiate(F_VERSION_1);
	assert_true(rd(R_STATUS) & S_FEATURES_OK);
	/* a late attempt to turn on INDIRECT_DESC must not take effect */
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, (uint32_t)F_INDIRECT);
	tq_layout(&T.q[0], 0, QNUM);
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, QNUM);
	wr(R_DESC_LO, (uint32_t)T.q[0].desc);
	wr(R_DRIVER_LO, (uint32_t)T.q[0].avail);
	wr(R_DEVICE_LO, (uint32_t)T.q[0].used);
	wr(R_QUEUE_READY, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	set_desc(&T.q[0], 0, IND_GPA, 48, D_INDIRECT, 0);
	post(&T.q[0], 0);
	kick(&T.q[0]);
	assert_true(rd(R_STATUS) & S_NEEDS_RESET);
}

static void test_reset_clears_state(void **state)
{
	driver_init(1, F_VERSION_1);
	blk_req3(&T.q[0], 0, 0, 512, true);
	post(&T.q[0], 0);
	kick(&T.q[0]);
	assert_true(T.irq.level);
	assert_true(virtio_mmio_driver_ok(T.dev));
	wr(R_STATUS, 0);
	assert_int_equal(rd(R_STATUS), 0);
	assert_int_equal(rd(R_INT_STATUS), 0);
	assert_false(T.irq.level);
	wr(R_QUEUE_SEL, 0);
	assert_int_equal(rd(R_QUEUE_READY), 0);
	assert_true(virtio_mmio_driver_ok(T.dev)); /* sticky: the board asks at exit */
}

static void test_queue_select_out_of_range(void **state)
{
	wr(R_QUEUE_SEL, 1); /* virtio-blk has one queue */
	assert_int_equal(rd(R_QUEUE_NUM_MAX), 0);
	wr(R_QUEUE_READY, 1);
	assert_int_equal(rd(R_QUEUE_READY), 0);
	wr(R_QUEUE_NOTIFY, 7); /* ignored, no crash */
	wr(R_QUEUE_SEL, 0);
	assert_int_equal(rd(R_QUEUE_NUM_MAX), 256);
}

static void test_queue_size_not_power_of_two_needs_reset(void **state)
{
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, 100);
	wr(R_QUEUE_READY, 1);
	assert_int_equal(rd(R_QUEUE_READY), 0);
	assert_true(rd(R_STATUS) & S_NEEDS_RESET);
	assert_true(rd(R_INT_STATUS) & 2);
}

static void test_interrupt_ack_lowers_line(void **state)
{
	driver_init(1, F_VERSION_1);
	blk_req3(&T.q[0], 0, 0, 512, true);
	post(&T.q[0], 0);
	kick(&T.q[0]);
	assert_int_equal(rd(R_INT_STATUS), 1);
	assert_true(T.irq.level);
	wr(R_INT_ACK, 1);
	assert_int_equal(rd(R_INT_STATUS), 0);
	assert_false(T.irq.level);
}

static void test_no_interrupt_flag_suppresses_irq(void **state)
{
	driver_init(1, F_VERSION_1);
	*(uint16_t *)gp(T.q[0].avail, 2) = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	blk_req3(&T.q[0], 0, 0, 512, true);
	post(&T.q[0], 0);
	kick(&T.q[0]);
	assert_int_equal(used_idx(&T.q[0]), 1);
	assert_int_equal(rd(R_INT_STATUS), 0);
	assert_false(T.irq.level);
}

static void test_buffers_wait_for_driver_ok(void **state)
{
	/* posted and kicked before DRIVER_OK: processed when it is set */
	negotiate(F_VERSION_1);
	tq_layout(&T.q[0], 0, QNUM);
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, QNUM);
	wr(R_DESC_LO, (uint32_t)T.q[0].desc);
	wr(R_DRIVER_LO, (uint32_t)T.q[0].avail);
	wr(R_DEVICE_LO, (uint32_t)T.q[0].used);
	wr(R_QUEUE_READY, 1);
	blk_req3(&T.q[0], 0, 1, 512, true);
	post(&T.q[0], 0);
	kick(&T.q[0]);
	assert_int_equal(used_idx(&T.q[0]), 0);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	assert_int_equal(used_idx(&T.q[0]), 1);
	expect_sector_pattern(gp(DATA_GPA, 512), 1);
}

/* ---- virtio-blk ---- */

static void test_blk_config_space(void **state)
{
	assert_int_equal(rd_config(0, 8), DISK_SECTORS);
	assert_int_equal(rd_config(0, 4), DISK_SECTORS);
	assert_int_equal(rd_config(0, 1), DISK_SECTORS);
	assert_int_equal(rd_config(4, 4), 0);
	assert_int_equal(rd_config(12, 4), 254); /* seg_max */
	assert_int_equal(rd_config(20, 4), 512); /* blk_size */
	assert_int_equal(rd_config(20, 2), 512);
	assert_int_equal(rd_config(21, 1), 2);
	assert_int_equal(rd_config(0x200, 4), 0); /* beyond the config: 0 */
	assert_int_equal(rd_config(58, 4), 0);    /* straddling its end: 0 */
	assert_int_equal(rd_config(36, 4), 1u << 22); /* max_discard_sectors */
	assert_int_equal(rd_config(40, 4), 16);       /* max_discard_seg */
	assert_int_equal(rd_config(52, 4), 16);       /* max_write_zeroes_seg */
	assert_int_equal(rd_config(56, 1), 1);        /* write_zeroes_may_unmap */
	assert_int_equal(rd(R_INT_STATUS), 0);
}

static void test_blk_read_round_trip(void **state)
{
	struct tq *q = &T.q[0];
	uint32_t id, len;

	driver_init(1, F_VERSION_1);
	/* two sectors into two data descriptors of 700 and 324 bytes */
	put_hdr(HDR_GPA, 0, 5);
	*status_byte() = 0xff;
	set_desc(q, 3, HDR_GPA, 16, D_NEXT, 7);
	set_desc(q, 7, DATA_GPA, 700, D_NEXT | D_WRITE, 4);
	set_desc(q, 4, DATA_GPA + 700, 324, D_NEXT | D_WRITE, 9);
	set_desc(q, 9, STATUS_GPA, 1, D_WRITE, 0);
	post(q, 3);
	kick(q);
	assert_int_equal(used_idx(q), 1);
	used_elem(q, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 1025);
	assert_int_equal(*status_byte(), 0);
	expect_sector_pattern(gp(DATA_GPA, 512), 5);
	expect_sector_pattern(gp(DATA_GPA + 512, 512), 6);
	assert_true(rd(R_INT_STATUS) & 1);
	assert_true(T.irq.level);
	assert_false(virtio_mmio_needs_reset(T.dev));
}

static void test_blk_write_flush_round_trip(void **state)
{
	struct tq *q = &T.q[0];
	uint8_t file[1024];
	int fd;

	driver_init(1, F_VERSION_1 | F_BLK_FLUSH);
	memset(gp(DATA_GPA, 1024), 0x5a, 1024);
	blk_req3(q, 1, 10, 1024, false);
	post(q, 0);
	kick(q);
	assert_int_equal(used_idx(q), 1);
	assert_int_equal(*status_byte(), 0);

	put_hdr(HDR_GPA, 4, 0);
	*status_byte() = 0xff;
	set_desc(q, 5, HDR_GPA, 16, D_NEXT, 6);
	set_desc(q, 6, STATUS_GPA, 1, D_WRITE, 0);
	post(q, 5);
	kick(q);
	assert_int_equal(used_idx(q), 2);
	assert_int_equal(*status_byte(), 0);

	fd = open(T.path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, file, sizeof(file), 10 * 512), sizeof(file));
	close(fd);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(file[i], 0x5a);
	/* the neighbours are untouched */
	fd = open(T.path, O_RDONLY);
	assert_int_equal(pread(fd, file, 512, 9 * 512), 512);
	close(fd);
	expect_sector_pattern(file, 9);
}

/* WRITE_ZEROES (13) and DISCARD (11): a list of {le64 sector, le32
 * count, le32 flags} ranges; bad ranges fail before any is applied. */
static void blk_range_req(struct tq *q, uint32_t type, uint64_t sector, uint32_t count,
			  uint32_t flags)
{
	uint8_t *r = gp(DATA_GPA, 16);

	memcpy(r, &sector, 8);
	memcpy(r + 8, &count, 4);
	memcpy(r + 12, &flags, 4);
	blk_req3(q, type, 0, 16, false);
	post(q, 0);
	kick(q);
}

static void test_blk_write_zeroes_and_discard(void **state)
{
	struct tq *q = &T.q[0];
	uint8_t file[1024];
	int fd;

	driver_init(1, F_VERSION_1 | (1ull << 13) | (1ull << 14));
	blk_range_req(q, 13, 3, 2, 1);
	assert_int_equal(*status_byte(), 0);
	fd = open(T.path, O_RDONLY);
	assert_int_equal(pread(fd, file, sizeof(file), 3 * 512), sizeof(file));
	for (int i = 0; i < 1024; i++)
		assert_int_equal(file[i], 0);
	assert_int_equal(pread(fd, file, 512, 5 * 512), 512);
	close(fd);
	expect_sector_pattern(file, 5);
	/* past the end of the disk: IOERR; unmap on a discard: UNSUPP */
	blk_range_req(q, 13, DISK_SECTORS - 1, 2, 0);
	assert_int_equal(*status_byte(), 1);
	blk_range_req(q, 11, 0, 1, 1);
	assert_int_equal(*status_byte(), 2);
	blk_range_req(q, 11, 7, 1, 0);
	assert_int_equal(*status_byte(), 0);
}

static void test_blk_any_layout(void **state)
{
	struct tq *q = &T.q[0];
	uint8_t *buf = gp(DATA_GPA, 16 + 512 + 1);
	uint32_t id, len;

	driver_init(1, F_VERSION_1);
	/* a write with header and data in one descriptor */
	put_hdr(DATA_GPA, 1, 2);
	memset(buf + 16, 0x77, 512);
	*status_byte() = 0xff;
	set_desc(q, 0, DATA_GPA, 16 + 512, D_NEXT, 1);
	set_desc(q, 1, STATUS_GPA, 1, D_WRITE, 0);
	post(q, 0);
	kick(q);
	assert_int_equal(*status_byte(), 0);
	/* a read of it with data and status in one descriptor */
	put_hdr(HDR_GPA, 0, 2);
	memset(buf, 0, 513);
	buf[512] = 0xff;
	set_desc(q, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(q, 1, DATA_GPA, 513, D_WRITE, 0);
	post(q, 0);
	kick(q);
	assert_int_equal(used_idx(q), 2);
	used_elem(q, 1, &id, &len);
	assert_int_equal(len, 513);
	assert_int_equal(buf[512], 0);
	for (int i = 0; i < 512; i++)
		assert_int_equal(buf[i], 0x77);
}

static void test_blk_indirect_read(void **state)
{
	struct tq *q = &T.q[0];

	assert_true(driver_init(1, F_VERSION_1 | F_INDIRECT) & F_INDIRECT);
	put_hdr(HDR_GPA, 0, 7);
	*status_byte() = 0xff;
	set_desc_in(IND_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc_in(IND_GPA, 1, DATA_GPA, 512, D_NEXT | D_WRITE, 2);
	set_desc_in(IND_GPA, 2, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(q, 0, IND_GPA, 48, D_INDIRECT, 0);
	post(q, 0);
	kick(q);
	assert_int_equal(used_idx(q), 1);
	assert_int_equal(*status_byte(), 0);
	expect_sector_pattern(gp(DATA_GPA, 512), 7);
}

/* Linux fills an indirect table with seg_max + 2 = QueueNum entries for a
 * large transfer: the indirect descriptor itself is not part of the
 * chain's bound (§2.7.5.3.1). */
static void test_blk_indirect_table_of_queue_size(void **state)
{
	struct tq *q = &T.q[0];
	const unsigned nseg = QNUM - 2;

	assert_true(driver_init(1, F_VERSION_1 | F_INDIRECT) & F_INDIRECT);
	put_hdr(HDR_GPA, 0, 3);
	*status_byte() = 0xff;
	set_desc_in(IND_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	for (unsigned i = 0; i < nseg; i++)
		set_desc_in(IND_GPA, 1 + i, DATA_GPA + 512 * i, 512, D_NEXT | D_WRITE, 2 + i);
	set_desc_in(IND_GPA, 1 + nseg, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(q, 0, IND_GPA, 16 * QNUM, D_INDIRECT, 0);
	post(q, 0);
	kick(q);
	assert_int_equal(used_idx(q), 1);
	assert_false(virtio_mmio_needs_reset(T.dev));
	assert_int_equal(*status_byte(), 0);
	for (unsigned i = 0; i < nseg; i++)
		expect_sector_pattern(gp(DATA_GPA + 512 * i, 512), 3 + i);
}

/* Five reads of one sector each, posted together: request i at
 * descriptors 3i..3i+2, data at DATA_GPA + 512 i, status bytes apart. */
#define NREQ 5
static void post_reads(struct tq *q, unsigned first_sector)
{
	for (unsigned i = 0; i < NREQ; i++) {
		put_hdr(HDR_GPA + 16 * i, 0, first_sector + i);
		*(uint8_t *)gp(STATUS_GPA + i, 1) = 0xff;
		memset(gp(DATA_GPA + 512 * i, 512), 0, 512);
		set_desc(q, 3 * i, HDR_GPA + 16 * i, 16, D_NEXT, 3 * i + 1);
		set_desc(q, 3 * i + 1, DATA_GPA + 512 * i, 512, D_NEXT | D_WRITE, 3 * i + 2);
		set_desc(q, 3 * i + 2, STATUS_GPA + i, 1, D_WRITE, 0);
		post(q, (uint16_t)(3 * i));
	}
}

/* On an engine: the notification only queues; the engine's threads
 * complete every request, the used ring and the interrupt from there. */
static void test_blk_engine_completes_off_thread(void **state)
{
	struct tq *q = &T.q[0];
	bool seen[NREQ] = { false };

	if (!T.dev)
		skip();
	driver_init(1, F_VERSION_1);
	post_reads(q, 20);
	kick(q);
	assert_true(wait_used(q, NREQ));
	for (unsigned i = 0; i < NREQ; i++) {
		uint32_t id, len;

		used_elem(q, i, &id, &len);
		assert_int_equal(id % 3, 0);
		assert_true(id / 3 < NREQ);
		assert_false(seen[id / 3]);
		seen[id / 3] = true;
		assert_int_equal(len, 513);
		assert_int_equal(*(uint8_t *)gp(STATUS_GPA + i, 1), 0);
		expect_sector_pattern(gp(DATA_GPA + 512 * i, 512), 20 + i);
	}
	assert_true(rd(R_INT_STATUS) & 1);
	assert_true(T.irq.raises > 0);
}

/* A reset with requests in flight returns only when none can write into
 * guest RAM any more: the buffers and rings stay as they were at the
 * reset's return once the engine has stopped. */
static void test_blk_reset_drains_requests_in_flight(void **state)
{
	struct tq *q = &T.q[0];
	static uint8_t before[0x4000];

	if (!T.dev)
		skip();
	for (int round = 0; round < 20; round++) {
		driver_init(1, F_VERSION_1);
		post_reads(q, (unsigned)round);
		kick(q);
		wr(R_STATUS, 0);
		memcpy(before, gp(RAM_BASE, sizeof(before)), sizeof(before));
		memcpy(before + 0x3000, gp(BUF_BASE, 0x1000), 0x1000);
		block_aio_stop(T.aio); /* every engine thread has finished */
		assert_memory_equal(before, gp(RAM_BASE, 0x3000), 0x3000);
		assert_memory_equal(before + 0x3000, gp(BUF_BASE, 0x1000), 0x1000);
		assert_int_equal(block_aio_start(T.aio, NULL, NULL), 0);
	}
}

static void test_blk_direct_then_indirect(void **state)
{
	struct tq *q = &T.q[0];

	/* §2.7.5.3.2: normal descriptors followed by one indirect one */
	driver_init(1, F_VERSION_1 | F_INDIRECT);
	put_hdr(HDR_GPA, 0, 8);
	*status_byte() = 0xff;
	set_desc(q, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(q, 1, IND_GPA, 32, D_INDIRECT, 0);
	set_desc_in(IND_GPA, 0, DATA_GPA, 512, D_NEXT | D_WRITE, 1);
	set_desc_in(IND_GPA, 1, STATUS_GPA, 1, D_WRITE, 0);
	post(q, 0);
	kick(q);
	assert_int_equal(used_idx(q), 1);
	assert_int_equal(*status_byte(), 0);
	expect_sector_pattern(gp(DATA_GPA, 512), 8);
}

static void blk_simple(uint32_t type, uint64_t sector, uint32_t len, bool data_in)
{
	blk_req3(&T.q[0], type, sector, len, data_in);
	post(&T.q[0], 0);
	kick(&T.q[0]);
}

static void test_blk_errors(void **state)
{
	struct tq *q = &T.q[0];

	driver_init(1, F_VERSION_1);
	blk_simple(0, DISK_SECTORS - 1, 1024, true); /* runs past the end */
	assert_int_equal(*status_byte(), 1);
	blk_simple(0, DISK_SECTORS, 512, true);
	assert_int_equal(*status_byte(), 1);
	blk_simple(1, UINT64_MAX / 512 + 2, 512, false); /* offset would overflow */
	assert_int_equal(*status_byte(), 1);
	blk_simple(0, 0, 100, true); /* not whole sectors */
	assert_int_equal(*status_byte(), 1);
	blk_simple(11, 0, 512, false); /* DISCARD: not negotiated */
	assert_int_equal(*status_byte(), 2);
	blk_simple(0, DISK_SECTORS - 1, 512, true); /* the last sector is fine */
	assert_int_equal(*status_byte(), 0);
	expect_sector_pattern(gp(DATA_GPA, 512), DISK_SECTORS - 1);
	assert_int_equal(used_idx(q), 6);
	assert_false(virtio_mmio_needs_reset(T.dev));
}

static void test_blk_get_id(void **state)
{
	char id[21] = { 0 };

	driver_init(1, F_VERSION_1);
	memset(gp(DATA_GPA, 20), 0xee, 20);
	blk_simple(8, 0, 20, true);
	assert_int_equal(*status_byte(), 0);
	memcpy(id, gp(DATA_GPA, 20), 20);
	assert_string_equal(id, T.disk->serial);
	assert_true(strncmp(id, "condo-", 6) == 0);
}

static void test_blk_readonly_rejects_writes(void **state)
{
	uint8_t sector[512];
	int fd;

	wr(R_DEV_FEAT_SEL, 0);
	assert_true(rd(R_DEV_FEAT) & F_BLK_RO);
	driver_init(1, F_VERSION_1 | F_BLK_RO | F_BLK_FLUSH);
	memset(gp(DATA_GPA, 512), 0x11, 512);
	blk_simple(1, 3, 512, false);
	assert_int_equal(*status_byte(), 1);
	fd = open(T.path, O_RDONLY);
	assert_int_equal(pread(fd, sector, 512, 3 * 512), 512);
	close(fd);
	expect_sector_pattern(sector, 3);
	blk_simple(0, 3, 512, true); /* reads still work */
	assert_int_equal(*status_byte(), 0);
	expect_sector_pattern(gp(DATA_GPA, 512), 3);
}

/* ---- virtio-rng ---- */

static void test_rng_fills_buffers(void **state)
{
	struct tq *q = &T.q[0];
	uint8_t *buf = gp(DATA_GPA, 256);
	uint32_t id, len;
	int nonzero = 0;

	assert_int_equal(rd(R_DEVICE_ID), 4);
	driver_init(1, F_VERSION_1);
	memset(buf, 0, 256);
	set_desc(q, 0, DATA_GPA, 64, D_WRITE | D_NEXT, 1);
	set_desc(q, 1, DATA_GPA + 100, 32, D_WRITE, 0);
	post(q, 0);
	kick(q);
	assert_int_equal(used_idx(q), 1);
	used_elem(q, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 96);
	for (int i = 0; i < 64; i++)
		nonzero += buf[i] != 0;
	assert_true(nonzero > 32); /* 64 zero bytes from getrandom: p = 2^-512 */
	for (int i = 64; i < 100; i++)
		assert_int_equal(buf[i], 0); /* between the buffers: untouched */
	for (int i = 132; i < 256; i++)
		assert_int_equal(buf[i], 0);
	assert_true(T.irq.level);
}

/* ---- virtio-console ---- */

static void test_console_transmit(void **state)
{
	struct tq *tx = &T.q[1];
	char out[32] = { 0 };

	assert_int_equal(rd(R_DEVICE_ID), 3);
	driver_init(2, F_VERSION_1);
	memcpy(gp(DATA_GPA, 6), "hello ", 6);
	memcpy(gp(DATA_GPA + 64, 5), "world", 5);
	set_desc(tx, 0, DATA_GPA, 6, D_NEXT, 1);
	set_desc(tx, 1, DATA_GPA + 64, 5, 0, 0);
	post(tx, 0);
	kick(tx);
	assert_int_equal(used_idx(tx), 1);
	assert_int_equal(read(T.out_pipe[0], out, sizeof(out) - 1), 11);
	assert_string_equal(out, "hello world");
	assert_true(T.irq.level);
}

static void test_console_input_buffered_until_guest_posts(void **state)
{
	struct tq *rx = &T.q[0];
	uint32_t id, len;

	assert_int_equal(write(T.in_pipe[1], "typed early", 11), 11);
	driver_init(2, F_VERSION_1);
	usleep(20000); /* not needed for correctness: lets the loop read first */
	memset(gp(DATA_GPA, 64), 0, 64);
	set_desc(rx, 0, DATA_GPA, 64, D_WRITE, 0);
	post(rx, 0);
	kick(rx);
	assert_true(wait_used(rx, 1));
	used_elem(rx, 0, &id, &len);
	assert_int_equal(len, 11);
	assert_memory_equal(gp(DATA_GPA, 11), "typed early", 11);

	/* input arriving while a buffer is posted goes straight in */
	set_desc(rx, 1, DATA_GPA + 128, 64, D_WRITE, 0);
	post(rx, 1);
	kick(rx);
	assert_int_equal(write(T.in_pipe[1], "later", 5), 5);
	assert_true(wait_used(rx, 2));
	used_elem(rx, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 5);
	assert_memory_equal(gp(DATA_GPA + 128, 5), "later", 5);
}

static void test_console_input_larger_than_buffer_is_not_lost(void **state)
{
	struct tq *rx = &T.q[0];
	static uint8_t in[10000];
	uint32_t total = 0, id, len;
	uint16_t n = 0;

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(write(T.in_pipe[1], in, sizeof(in)), sizeof(in));
	driver_init(2, F_VERSION_1);
	usleep(20000); /* lets the device fill (and stop reading at) its buffer */
	/* then take it 3000 bytes at a time */
	while (total < sizeof(in) && n < 10) {
		uint64_t at = DATA_GPA + 3000ull * n;
		set_desc(rx, n % QNUM, at, 3000, D_WRITE, 0);
		post(rx, n % QNUM);
		kick(rx);
		n++;
		assert_true(wait_used(rx, n));
		used_elem(rx, n - 1, &id, &len);
		assert_true(len > 0 && len <= 3000);
		assert_memory_equal(gp(at, len), in + total, len);
		total += len;
		if (len < 3000 && total < sizeof(in))
			usleep(20000); /* the loop is still reading the rest */
	}
	assert_int_equal(total, sizeof(in));
}

/* ---- hostile drivers: each ends in NEEDS_RESET, nothing else ---- */

struct bad_case {
	const char *name;
	bool indirect;            /* negotiate VIRTIO_F_INDIRECT_DESC */
	void (*make)(struct tq *q); /* builds the malformed request and posts it */
};

static void bad_loop_self(struct tq *q)
{
	set_desc(q, 0, HDR_GPA, 16, D_NEXT, 0);
	post(q, 0);
}

static void bad_loop_two(struct tq *q)
{
	put_hdr(HDR_GPA, 0, 0);
	set_desc(q, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(q, 1, DATA_GPA, 512, D_NEXT, 0);
	post(q, 0);
}

static void bad_addr_below_ram(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	set_desc(q, 1, 0x1000, 512, D_NEXT | D_WRITE, 2);
	post(q, 0);
}

static void bad_addr_straddles_ram_end(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	set_desc(q, 1, RAM_BASE + RAM_SIZE - 256, 512, D_NEXT | D_WRITE, 2);
	post(q, 0);
}

static void bad_addr_wraps(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	set_desc(q, 1, UINT64_MAX - 255, 512, D_NEXT | D_WRITE, 2);
	post(q, 0);
}

static void bad_huge_len(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	set_desc(q, 1, DATA_GPA, 0xffffffff, D_NEXT | D_WRITE, 2);
	post(q, 0);
}

static void bad_avail_jump(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	post(q, 0);
	q->avail_idx += q->num; /* one real entry, but idx says num + 1 */
	*(uint16_t *)gp(q->avail + 2, 2) = q->avail_idx;
}

static void bad_next_out_of_range(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	set_desc(q, 1, DATA_GPA, 512, D_NEXT | D_WRITE, QNUM);
	post(q, 0);
}

static void bad_head_out_of_range(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	post(q, 200);
}

static void bad_desc_table_moved_out_of_ram(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	post(q, 0);
	wr(R_QUEUE_SEL, q->index);
	wr(R_DESC_HI, 0x1234); /* while the queue is ready */
}

static void bad_used_ring_past_ram_end(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	post(q, 0);
	wr(R_QUEUE_SEL, q->index);
	wr(R_DEVICE_LO, (uint32_t)(RAM_BASE + RAM_SIZE - 8));
}

static void bad_misaligned_used_ring(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	post(q, 0);
	wr(R_QUEUE_SEL, q->index);
	wr(R_DEVICE_LO, (uint32_t)q->used + 2);
}

static void bad_readable_after_writable(struct tq *q)
{
	blk_req3(q, 0, 0, 512, true);
	set_desc(q, 2, STATUS_GPA, 1, 0, 0);
	post(q, 0);
}

static void bad_blk_no_status(struct tq *q)
{
	put_hdr(HDR_GPA, 4, 0);
	set_desc(q, 0, HDR_GPA, 16, 0, 0);
	post(q, 0);
}

static void bad_blk_short_header(struct tq *q)
{
	put_hdr(HDR_GPA, 0, 0);
	set_desc(q, 0, HDR_GPA, 8, D_NEXT, 1);
	set_desc(q, 1, STATUS_GPA, 1, D_WRITE, 0);
	post(q, 0);
}

static void bad_indirect_not_negotiated(struct tq *q)
{
	set_desc_in(IND_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc_in(IND_GPA, 1, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(q, 0, IND_GPA, 32, D_INDIRECT, 0);
	post(q, 0);
}

static void bad_indirect_nested(struct tq *q)
{
	set_desc_in(IND_GPA, 0, IND_GPA, 32, D_INDIRECT, 0);
	set_desc(q, 0, IND_GPA, 32, D_INDIRECT, 0);
	post(q, 0);
}

static void bad_indirect_with_next(struct tq *q)
{
	set_desc_in(IND_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc_in(IND_GPA, 1, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(q, 0, IND_GPA, 32, D_INDIRECT | D_NEXT, 1);
	set_desc(q, 1, STATUS_GPA, 1, D_WRITE, 0);
	post(q, 0);
}

static void bad_indirect_odd_length(struct tq *q)
{
	set_desc(q, 0, IND_GPA, 24, D_INDIRECT, 0);
	post(q, 0);
}

static void bad_indirect_table_outside_ram(struct tq *q)
{
	set_desc(q, 0, RAM_BASE + RAM_SIZE - 16, 64, D_INDIRECT, 0);
	post(q, 0);
}

static void bad_indirect_loop(struct tq *q)
{
	set_desc_in(IND_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc_in(IND_GPA, 1, DATA_GPA, 16, D_NEXT, 0);
	set_desc(q, 0, IND_GPA, 32, D_INDIRECT, 0);
	post(q, 0);
}

static void bad_indirect_next_out_of_range(struct tq *q)
{
	set_desc_in(IND_GPA, 0, HDR_GPA, 16, D_NEXT, 2); /* the table has 2 entries */
	set_desc_in(IND_GPA, 1, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(q, 0, IND_GPA, 32, D_INDIRECT, 0);
	post(q, 0);
}

static void bad_indirect_too_long(struct tq *q)
{
	/* a chain of QNUM + 1 descriptors in a table bigger than the queue */
	for (unsigned i = 0; i <= QNUM; i++)
		set_desc_in(IND_GPA, i, HDR_GPA, 16, i < QNUM ? D_NEXT : 0, (uint16_t)(i + 1));
	set_desc(q, 0, IND_GPA, 16 * (QNUM + 1), D_INDIRECT, 0);
	post(q, 0);
}

static const struct bad_case bad_cases[] = {
	{ "descriptor loop on itself", false, bad_loop_self },
	{ "descriptor loop of two", false, bad_loop_two },
	{ "buffer below RAM", false, bad_addr_below_ram },
	{ "buffer straddling the end of RAM", false, bad_addr_straddles_ram_end },
	{ "buffer address wrapping around 2^64", false, bad_addr_wraps },
	{ "huge length", false, bad_huge_len },
	{ "available index jumps past the queue size", false, bad_avail_jump },
	{ "next index out of range", false, bad_next_out_of_range },
	{ "head index out of range", false, bad_head_out_of_range },
	{ "descriptor table moved out of RAM", false, bad_desc_table_moved_out_of_ram },
	{ "used ring past the end of RAM", false, bad_used_ring_past_ram_end },
	{ "misaligned used ring", false, bad_misaligned_used_ring },
	{ "readable after writable", false, bad_readable_after_writable },
	{ "blk request without status byte", false, bad_blk_no_status },
	{ "blk request with a short header", false, bad_blk_short_header },
	{ "indirect without the feature", false, bad_indirect_not_negotiated },
	{ "indirect inside indirect", true, bad_indirect_nested },
	{ "indirect with NEXT", true, bad_indirect_with_next },
	{ "indirect table length not a multiple of 16", true, bad_indirect_odd_length },
	{ "indirect table outside RAM", true, bad_indirect_table_outside_ram },
	{ "loop in an indirect table", true, bad_indirect_loop },
	{ "next out of range in an indirect table", true, bad_indirect_next_out_of_range },
	{ "indirect chain longer than the queue", true, bad_indirect_too_long },
};

static void test_hostile_driver_gets_needs_reset(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct tq *q = &T.q[0];
		uint8_t before[64];

		print_message("  case: %s\n", c->name);
		T.irq = (struct fake_irq){ 0 };
		driver_init(1, F_VERSION_1 | (c->indirect ? F_INDIRECT : 0));
		memcpy(before, gp(RAM_BASE + RAM_SIZE - 64, 64), 64);
		c->make(q);
		kick(q);
		if (!(rd(R_STATUS) & S_NEEDS_RESET))
			fail_msg("%s: no NEEDS_RESET", c->name);
		assert_true(rd(R_INT_STATUS) & 2);
		assert_true(T.irq.level);
		assert_int_equal(used_idx(q), 0);
		assert_memory_equal(before, gp(RAM_BASE + RAM_SIZE - 64, 64), 64);

		/* the queue stays stopped: a good request is not processed */
		wr(R_QUEUE_SEL, 0);
		wr(R_DESC_LO, (uint32_t)q->desc);
		wr(R_DESC_HI, (uint32_t)(q->desc >> 32));
		wr(R_DEVICE_LO, (uint32_t)q->used);
		blk_req3(q, 0, 1, 512, true);
		post(q, 0);
		kick(q);
		assert_int_equal(used_idx(q), 0);
		assert_int_equal(*status_byte(), 0xff);
		/* and the driver's status writes cannot clear NEEDS_RESET */
		wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
		assert_true(rd(R_STATUS) & S_NEEDS_RESET);

		/* after a reset the device works again */
		wr(R_STATUS, 0);
		assert_int_equal(rd(R_STATUS), 0);
		assert_false(T.irq.level);
		driver_init(1, F_VERSION_1);
		blk_req3(q, 0, 1, 512, true);
		post(q, 0);
		kick(q);
		assert_int_equal(used_idx(q), 1);
		assert_int_equal(*status_byte(), 0);
		expect_sector_pattern(gp(DATA_GPA, 512), 1);
		wr(R_STATUS, 0);
	}
}

static void test_hostile_rng_and_console(void **state)
{
	/* the same queue code serves every device; spot-check one case each */
	struct tq *q;

	teardown(state);
	assert_int_equal(rng_setup(state), 0);
	driver_init(1, F_VERSION_1);
	q = &T.q[0];
	set_desc(q, 0, DATA_GPA, 64, D_WRITE | D_NEXT, 0);
	post(q, 0);
	kick(q);
	assert_true(rd(R_STATUS) & S_NEEDS_RESET);
	assert_int_equal(used_idx(q), 0);

	teardown(state);
	assert_int_equal(console_setup(state), 0);
	driver_init(2, F_VERSION_1);
	q = &T.q[1];
	set_desc(q, 0, 0x10, 64, 0, 0);
	post(q, 0);
	kick(q);
	assert_true(rd(R_STATUS) & S_NEEDS_RESET);
	assert_int_equal(used_idx(q), 0);
}

/* ---- virtio-net ---- */

#define F_NET_CSUM       (1ull << 0)
#define F_NET_GUEST_CSUM (1ull << 1)
#define F_NET_MTU        (1ull << 3)
#define F_NET_MAC        (1ull << 5)
#define F_NET_MRG        (1ull << 15)
#define F_NET_STATUS     (1ull << 16)
#define NET_HDR 12
#define TX_GPA (BUF_BASE + 0x4000)
#define RX_GPA (BUF_BASE + 0x8000)

/* An IPv4 UDP frame of len bytes (>= 42), its UDP checksum left as the
 * pseudo-header's sum (what a driver hands over with NEEDS_CSUM). */
static void udp_frame(uint8_t *f, size_t len)
{
	size_t ip_len = len - 14, udp_len = ip_len - 20;
	uint32_t sum;

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x52\x54\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8), f[17] = (uint8_t)ip_len;
	f[22] = 64, f[23] = 17;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	assert_int_equal(net_csum_complete(f, 34, 14, 10), 0); /* IP header checksum */
	f[34] = 0x30, f[35] = 0x39, f[36] = 0x00, f[37] = 0x35;
	f[38] = (uint8_t)(udp_len >> 8), f[39] = (uint8_t)udp_len;
	for (size_t i = 42; i < len; i++)
		f[i] = (uint8_t)(i * 7);
	sum = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + (uint32_t)udp_len;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[40] = (uint8_t)(sum >> 8), f[41] = (uint8_t)sum;
}

/* Post one transmit request: the header, then the frame in two pieces. */
static void net_post_tx(struct tq *tx, uint16_t head, const uint8_t *hdr, const uint8_t *frame,
			size_t len)
{
	uint64_t at = TX_GPA + 0x1000 * head;
	size_t half = len / 2;

	memcpy(gp(at, NET_HDR), hdr, NET_HDR);
	memcpy(gp(at + 64, len), frame, len);
	set_desc(tx, head, at, NET_HDR, D_NEXT, (uint16_t)(head + 1));
	set_desc(tx, (uint16_t)(head + 1), at + 64, (uint32_t)half, D_NEXT, (uint16_t)(head + 2));
	set_desc(tx, (uint16_t)(head + 2), at + 64 + half, (uint32_t)(len - half), 0, 0);
	post(tx, head);
	kick(tx);
}

/* A frame from the network, or -1 when none came within a moment. */
static ssize_t peer_recv(uint8_t *buf, size_t len)
{
	struct timeval tv = { 0, 300000 };

	setsockopt(T.peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(T.peer, buf, len, 0);
}

static void net_post_rx(struct tq *rx, uint16_t i, uint32_t size)
{
	set_desc(rx, i, RX_GPA + 0x800 * i, size, D_WRITE, 0);
	post(rx, i);
}

static void test_net_config(void **state)
{
	uint8_t mac[6];

	assert_int_equal(rd(R_DEVICE_ID), 1);
	assert_int_equal(driver_init(2, F_VERSION_1 | F_NET_MAC | F_NET_STATUS | F_NET_MTU),
			 F_VERSION_1 | F_NET_MAC | F_NET_STATUS | F_NET_MTU);
	net_nic_mac(T.nic, mac);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rd_config((unsigned)i, 1), mac[i]);
	assert_int_equal(rd_config(6, 2), 1);    /* VIRTIO_NET_S_LINK_UP */
	assert_int_equal(rd_config(10, 2), 1500); /* mtu */
}

static void test_net_tx_and_checksum_offload(void **state)
{
	struct tq *tx = &T.q[1];
	uint8_t hdr[NET_HDR] = { 0 }, f[200], got[300];
	struct net_stats st;

	driver_init(2, F_VERSION_1 | F_NET_CSUM);
	udp_frame(f, sizeof(f));
	assert_false(net_csum_valid(f, sizeof(f))); /* partial until the device completes it */
	hdr[0] = 1;                                /* NEEDS_CSUM */
	hdr[6] = 34, hdr[8] = 6;                   /* csum_start, csum_offset */
	net_post_tx(tx, 0, hdr, f, sizeof(f));
	assert_true(wait_used(tx, 1));
	assert_int_equal(peer_recv(got, sizeof(got)), sizeof(f));
	assert_true(net_csum_valid(got, sizeof(f)));
	assert_memory_equal(got + 42, f + 42, sizeof(f) - 42);
	net_nic_stats(T.nic, &st);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.tx_bytes, sizeof(f));
}

/* Runt, oversize, a checksum outside the frame, segmentation that was
 * not negotiated, NEEDS_CSUM without CSUM: each dropped, counted and
 * returned; nothing reaches the network; the device keeps working. */
static void test_net_tx_malformed_dropped(void **state)
{
	struct tq *tx = &T.q[1];
	uint8_t hdr[NET_HDR] = { 0 }, f[1600], got[2000];
	struct net_stats st;

	driver_init(2, F_VERSION_1);
	udp_frame(f, sizeof(f));
	net_post_tx(tx, 0, hdr, f, 10); /* runt */
	net_post_tx(tx, 3, hdr, f, sizeof(f)); /* oversize */
	hdr[1] = 1; /* GSO_TCPV4 */
	net_post_tx(tx, 6, hdr, f, 100);
	hdr[1] = 0;
	hdr[0] = 1, hdr[6] = 0xff, hdr[7] = 0xff; /* NEEDS_CSUM, not negotiated, far out */
	net_post_tx(tx, 9, hdr, f, 100);
	assert_true(wait_used(tx, 4));
	assert_int_equal(peer_recv(got, sizeof(got)), -1);
	net_nic_stats(T.nic, &st);
	assert_int_equal(st.tx_drops, 4);
	assert_int_equal(st.tx_packets, 0);
	memset(hdr, 0, sizeof(hdr));
	net_post_tx(tx, 12, hdr, f, 60);
	assert_true(wait_used(tx, 5));
	assert_int_equal(peer_recv(got, sizeof(got)), 60);
	assert_false(rd(R_STATUS) & S_NEEDS_RESET);
}

static void test_net_tx_csum_outside_frame_dropped(void **state)
{
	struct tq *tx = &T.q[1];
	uint8_t hdr[NET_HDR] = { 1 }, f[100], got[200];
	struct net_stats st;

	driver_init(2, F_VERSION_1 | F_NET_CSUM);
	udp_frame(f, sizeof(f));
	hdr[6] = 98, hdr[8] = 6; /* the checksum field past the end */
	net_post_tx(tx, 0, hdr, f, sizeof(f));
	assert_true(wait_used(tx, 1));
	assert_int_equal(peer_recv(got, sizeof(got)), -1);
	net_nic_stats(T.nic, &st);
	assert_int_equal(st.tx_drops, 1);
}

/* A frame over two 1000-byte buffers: num_buffers 2, the bytes in order;
 * GUEST_CSUM: a checked checksum is marked DATA_VALID. */
static void test_net_rx_mergeable(void **state)
{
	struct tq *rx = &T.q[0];
	uint8_t f[1514], all[2 * 1000];
	uint32_t id, len0, len1;

	driver_init(2, F_VERSION_1 | F_NET_MRG | F_NET_GUEST_CSUM);
	udp_frame(f, sizeof(f));
	assert_int_equal(net_csum_complete(f, sizeof(f), 34, 6), 0);
	net_post_rx(rx, 0, 1000);
	net_post_rx(rx, 1, 1000);
	kick(rx);
	assert_int_equal(send(T.peer, f, sizeof(f), 0), sizeof(f));
	assert_true(wait_used(rx, 2));
	used_elem(rx, 0, &id, &len0);
	assert_int_equal(id, 0);
	used_elem(rx, 1, &id, &len1);
	assert_int_equal(id, 1);
	assert_int_equal(len0 + len1, NET_HDR + sizeof(f));
	memcpy(all, gp(RX_GPA, len0), len0);
	memcpy(all + len0, gp(RX_GPA + 0x800, len1), len1);
	assert_int_equal(all[0], 2);                 /* DATA_VALID */
	assert_int_equal(all[10] | all[11] << 8, 2); /* num_buffers */
	assert_memory_equal(all + NET_HDR, f, sizeof(f));
	assert_true(T.irq.level);
}

/* Without MRG_RXBUF a buffer too small for the frame: the frame is
 * dropped and counted, the buffer returned empty; the next frame fits. */
static void test_net_rx_small_buffer_and_bad_frames(void **state)
{
	struct tq *rx = &T.q[0];
	uint8_t f[1514], runt[5] = { 0 }, big[2000] = { 0 };
	uint32_t id, len;
	struct net_stats st;

	driver_init(2, F_VERSION_1);
	udp_frame(f, sizeof(f));
	net_post_rx(rx, 0, 100);
	kick(rx);
	assert_int_equal(send(T.peer, runt, sizeof(runt), 0), sizeof(runt));
	assert_int_equal(send(T.peer, big, sizeof(big), 0), sizeof(big));
	assert_int_equal(send(T.peer, f, sizeof(f), 0), sizeof(f));
	assert_true(wait_used(rx, 1));
	used_elem(rx, 0, &id, &len);
	assert_int_equal(len, 0);
	net_post_rx(rx, 1, 100);
	kick(rx);
	assert_int_equal(send(T.peer, f, 60, 0), 60);
	assert_true(wait_used(rx, 2));
	used_elem(rx, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, NET_HDR + 60);
	assert_int_equal(*(uint8_t *)gp(RX_GPA + 0x800, 1), 0); /* no GUEST_CSUM: no flags */
	net_nic_stats(T.nic, &st);
	assert_int_equal(st.rx_drops, 3); /* runt, oversize, too big for the buffer */
	assert_int_equal(st.rx_packets, 1);
}

/* A transmit descriptor outside RAM: NEEDS_RESET, nothing sent. */
static void test_net_bad_descriptor(void **state)
{
	struct tq *tx = &T.q[1];
	uint8_t got[100];

	driver_init(2, F_VERSION_1);
	set_desc(tx, 0, RAM_BASE + RAM_SIZE - 8, 64, 0, 0);
	post(tx, 0);
	kick(tx);
	for (int i = 0; i < 2000 && !(rd(R_STATUS) & S_NEEDS_RESET); i++)
		usleep(1000);
	assert_true(rd(R_STATUS) & S_NEEDS_RESET);
	assert_int_equal(used_idx(tx), 0);
	assert_int_equal(peer_recv(got, sizeof(got)), -1);
}

/* ---- snapshots ---- */

/* The device rebuilt as the board would on restore: the same constructor
 * with the same arguments. */
static struct virtio_mmio *remake_blk(void)
{
	struct virtio_blk_opts opts = { .discard_unmap = true, .aio = T.aio };

	return virtio_blk_new(&T.ram, test_irq(), T.disk, &opts);
}

static struct virtio_mmio *remake_rng(void)
{
	return virtio_rng_new(&T.ram, test_irq());
}

static struct virtio_mmio *remake_net(void)
{
	return virtio_net_new(&T.ram, test_irq(), T.nic);
}

static struct virtio_mmio *remake_console(void)
{
	struct virtio_mmio *dev;

	T.loop = evloop_new();
	assert_non_null(T.loop);
	dev = virtio_console_new(&T.ram, test_irq(), T.loop, T.in_pipe[0], T.out_pipe[1]);
	assert_int_equal(evloop_start(T.loop), 0);
	return dev;
}

/* Save T.dev as a snapshot does: no request in flight, then the state. */
static void snapshot(struct state_buf *st)
{
	*st = (struct state_buf){ 0 };
	virtio_mmio_quiesce(T.dev);
	virtio_mmio_ops.save(T.dev, st);
	assert_int_equal(state_status(st), 0);
}

/* Replace T.dev by a fresh device loaded from st (guest RAM stays: it is
 * what the snapshot's memory would restore).  Every truncation of st
 * fails first, leaving the fresh device untouched. */
static void restore(struct virtio_mmio *(*remake)(void), const struct state_buf *st)
{
	evloop_free(T.loop); /* stop the loop before freeing what it calls */
	T.loop = NULL;
	virtio_mmio_free(T.dev);
	T.irq = (struct fake_irq){ 0 };
	T.dev = remake();
	assert_non_null(T.dev);
	expect_prefixes_fail(&virtio_mmio_ops, T.dev, st);
	assert_int_equal(rd(R_STATUS), 0);
	assert_int_equal(T.irq.raises, 0);
	load_ok(&virtio_mmio_ops, T.dev, st);
}

static void save_restore(struct virtio_mmio *(*remake)(void))
{
	struct state_buf st;

	snapshot(&st);
	restore(remake, &st);
	state_free(&st);
}

/* The registers a driver reads back, queue by queue. */
#define NREGS 12
static void read_regs(unsigned nqueues, uint32_t *regs)
{
	static const uint32_t per_queue[] = { R_QUEUE_NUM, R_QUEUE_READY, R_DESC_LO,
					      R_DRIVER_LO, R_DEVICE_LO };
	unsigned k = 0;

	regs[k++] = rd(R_STATUS);
	regs[k++] = rd(R_INT_STATUS);
	for (unsigned q = 0; q < nqueues; q++) {
		wr(R_QUEUE_SEL, q);
		for (unsigned i = 0; i < 5; i++)
			regs[k++] = rd(per_queue[i]);
	}
	while (k < NREGS)
		regs[k++] = 0;
}

/* Three reads done, the interrupt not yet acknowledged: the restored
 * device reads the same, has its line up, and the next request completes
 * into used slot 3. */
static void test_blk_state_continues_queue(void **state)
{
	struct tq *q = &T.q[0];
	uint32_t before[NREGS], after[NREGS], id, len;

	driver_init(1, F_VERSION_1 | F_BLK_FLUSH);
	for (unsigned i = 0; i < 3; i++)
		blk_simple(0, 1 + i, 512, true);
	assert_int_equal(used_idx(q), 3);
	read_regs(1, before);
	save_restore(remake_blk);
	assert_true(T.irq.level);
	read_regs(1, after);
	assert_memory_equal(before, after, sizeof(before));
	assert_true(virtio_mmio_driver_ok(T.dev));
	blk_simple(0, 7, 512, true);
	assert_int_equal(used_idx(q), 4);
	used_elem(q, 3, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 513);
	assert_int_equal(*status_byte(), 0);
	expect_sector_pattern(gp(DATA_GPA, 512), 7);
	/* and a write, through the flush the driver negotiated */
	blk_simple(1, 9, 512, false);
	blk_simple(4, 0, 0, false);
	assert_int_equal(used_idx(q), 6);
	assert_int_equal(*status_byte(), 0);
}

/* On an engine, requests complete off the notifying thread: quiesce
 * returns only when every one is in the used ring, then the save works
 * and the restored device goes on with the engine. */
static void test_blk_state_quiesce_engine(void **state)
{
	struct tq *q = &T.q[0];

	if (!T.dev)
		skip();
	driver_init(1, F_VERSION_1);
	post_reads(q, 20);
	kick(q);
	virtio_mmio_quiesce(T.dev);
	assert_int_equal(used_idx(q), NREQ); /* no waiting: quiesce did */
	for (unsigned i = 0; i < NREQ; i++)
		expect_sector_pattern(gp(DATA_GPA + 512 * i, 512), 20 + i);
	save_restore(remake_blk);
	post_reads(q, 40);
	kick(q);
	assert_true(wait_used(q, 2 * NREQ));
	for (unsigned i = 0; i < NREQ; i++)
		expect_sector_pattern(gp(DATA_GPA + 512 * i, 512), 40 + i);
}

/* Requests held in flight (the engine stopped, so they wait in its queue):
 * a save fails cleanly, saying why; once they can complete, quiesce and
 * the save work. */
static void test_blk_state_refused_in_flight(void **state)
{
	struct tq *q = &T.q[0];
	struct state_buf st = { 0 };

	driver_init(1, F_VERSION_1);
	block_aio_stop(T.aio);
	post_reads(q, 10);
	kick(q);
	virtio_mmio_ops.save(T.dev, &st);
	assert_int_equal(state_status(&st), -1);
	assert_string_equal(st.why, "virtio-blk: requests in flight at save (quiesce first)");
	assert_int_equal(used_idx(q), 0);
	state_free(&st);
	assert_int_equal(block_aio_start(T.aio, NULL, NULL), 0);
	snapshot(&st);
	assert_int_equal(used_idx(q), NREQ);
	state_free(&st);
}

/* Byte offsets in a transport's state: tag, device id, queue count,
 * driver features, four selectors, status, interrupt status, config
 * generation, ever-DRIVER_OK, then per queue size, ready, broken, three
 * ring addresses and the two positions. */
enum { ST_DEVICE_ID = 4, ST_FEATURES = 12, ST_STATUS = 36, ST_INT_STATUS = 40,
       ST_EVER_OK = 48, ST_Q0_NUM = 49, ST_Q0_READY = 53, ST_Q0_BROKEN = 54, ST_Q0_DESC = 55,
       ST_Q0_END = 83 };

static void expect_load_refused(const struct state_buf *st, size_t offset, uint8_t val,
				const char *why)
{
	struct virtio_mmio *fresh = remake_blk();

	assert_non_null(fresh);
	assert_string_equal(load_patched(&virtio_mmio_ops, fresh, st, offset, val), why);
	virtio_mmio_free(fresh);
}

static void test_state_bad_transport_values(void **state)
{
	struct state_buf st;

	driver_init(1, F_VERSION_1);
	snapshot(&st);
	assert_int_equal(st.len, ST_Q0_END);
	expect_load_refused(&st, 1, 'x', "a section's tag is wrong");
	expect_load_refused(&st, ST_DEVICE_ID, 4, "virtio: the state is of another device type");
	expect_load_refused(&st, 8, 2, "virtio: the state has another number of queues");
	expect_load_refused(&st, ST_FEATURES + 7, 0x80,
			    "virtio: accepted features this device does not offer");
	expect_load_refused(&st, ST_STATUS + 1, 1, "virtio: device status out of range");
	expect_load_refused(&st, ST_INT_STATUS, 4, "virtio: interrupt status has unknown bits");
	expect_load_refused(&st, ST_EVER_OK, 0, "virtio: DRIVER_OK set but never seen");
	expect_load_refused(&st, ST_EVER_OK, 2, "a flag is neither 0 nor 1");
	expect_load_refused(&st, ST_Q0_NUM, 3,
			    "virtio: a ready queue's size is not a power of 2 up to QueueNumMax");
	expect_load_refused(&st, ST_Q0_NUM, 0,
			    "virtio: a ready queue's size is not a power of 2 up to QueueNumMax");
	expect_load_refused(&st, ST_Q0_NUM + 1, 2, /* 512 + 16 */
			    "virtio: a ready queue's size is not a power of 2 up to QueueNumMax");
	expect_load_refused(&st, ST_Q0_READY, 7, "a flag is neither 0 nor 1");
	expect_load_refused(&st, ST_Q0_BROKEN, 1,
			    "virtio: a queue is broken but the device does not need a reset");
	state_free(&st);
}

/* Values the registers can hold are accepted, and checked where they are
 * used, as for any guest: a queue not ready may have any size (QueueReady
 * refuses it), a ring may be anywhere (the first use finds it outside RAM). */
static void test_state_checked_at_use(void **state)
{
	struct tq *q = &T.q[0];
	struct state_buf st;

	driver_init(1, F_VERSION_1);
	snapshot(&st);
	st.data[ST_Q0_READY] = 0;
	st.data[ST_Q0_NUM] = 3;
	restore(remake_blk, &st);
	wr(R_QUEUE_SEL, 0);
	assert_int_equal(rd(R_QUEUE_NUM), 3);
	wr(R_QUEUE_READY, 1);
	assert_int_equal(rd(R_QUEUE_READY), 0);
	assert_true(rd(R_STATUS) & S_NEEDS_RESET);

	driver_init(1, F_VERSION_1);
	state_free(&st);
	snapshot(&st);
	st.data[ST_Q0_DESC + 7] = 0x7f; /* the descriptor table far outside RAM */
	restore(remake_blk, &st);
	assert_false(rd(R_STATUS) & S_NEEDS_RESET);
	blk_simple(0, 1, 512, true);
	assert_true(rd(R_STATUS) & S_NEEDS_RESET);
	assert_int_equal(used_idx(q), 0);
	state_free(&st);
}

/* A disk's state given to an entropy device, and the other way round. */
static void test_state_of_another_device_type(void **state)
{
	struct virtio_mmio *rng = virtio_rng_new(&T.ram, test_irq());
	struct state_buf blk_st, rng_st, in;

	assert_non_null(rng);
	driver_init(1, F_VERSION_1);
	snapshot(&blk_st);
	in = state_reader(blk_st.data, blk_st.len);
	assert_int_equal(virtio_mmio_ops.load(rng, &in), -1);
	assert_string_equal(in.why, "virtio: the state is of another device type");
	rng_st = (struct state_buf){ 0 };
	virtio_mmio_ops.save(rng, &rng_st);
	in = state_reader(rng_st.data, rng_st.len);
	assert_int_equal(virtio_mmio_ops.load(T.dev, &in), -1);
	assert_string_equal(in.why, "virtio: the state is of another device type");
	assert_true(rd(R_STATUS) & S_DRIVER_OK); /* T.dev unchanged */
	state_free(&blk_st);
	state_free(&rng_st);
	virtio_mmio_free(rng);
}

/* A restored entropy device goes on filling buffers from getrandom, in
 * the next used slot: nothing of what it gave is kept to be replayed. */
static void test_rng_state(void **state)
{
	struct tq *q = &T.q[0];
	uint8_t first[64];
	uint32_t id, len;

	driver_init(1, F_VERSION_1);
	set_desc(q, 0, DATA_GPA, 64, D_WRITE, 0);
	post(q, 0);
	kick(q);
	memcpy(first, gp(DATA_GPA, 64), 64);
	save_restore(remake_rng);
	set_desc(q, 1, DATA_GPA + 64, 64, D_WRITE, 0);
	post(q, 1);
	kick(q);
	assert_int_equal(used_idx(q), 2);
	used_elem(q, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 64);
	assert_memory_not_equal(first, gp(DATA_GPA + 64, 64), 64);
}

/* The console goes on in both directions after a restore. */
static void test_console_state(void **state)
{
	struct tq *rx = &T.q[0], *tx = &T.q[1];
	char out[16] = { 0 };
	uint32_t id, len;

	driver_init(2, F_VERSION_1);
	memcpy(gp(DATA_GPA, 6), "hello ", 6);
	set_desc(tx, 0, DATA_GPA, 6, 0, 0);
	post(tx, 0);
	kick(tx);
	assert_int_equal(read(T.out_pipe[0], out, sizeof(out) - 1), 6);
	set_desc(rx, 0, DATA_GPA + 0x100, 32, D_WRITE, 0);
	post(rx, 0);
	kick(rx);
	save_restore(remake_console);
	memcpy(gp(DATA_GPA + 64, 5), "world", 5);
	set_desc(tx, 1, DATA_GPA + 64, 5, 0, 0);
	post(tx, 1);
	kick(tx);
	assert_int_equal(used_idx(tx), 2);
	memset(out, 0, sizeof(out));
	assert_int_equal(read(T.out_pipe[0], out, sizeof(out) - 1), 5);
	assert_string_equal(out, "world");
	/* the receive buffer posted before the save takes the next input */
	assert_int_equal(write(T.in_pipe[1], "ok", 2), 2);
	assert_true(wait_used(rx, 1));
	used_elem(rx, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 2);
	assert_memory_equal(gp(DATA_GPA + 0x100, 2), "ok", 2);
}

/* A NIC restored mid-stream: the receive buffer posted before the save
 * takes the next frame, transmission goes on in the next slot, and the
 * MAC is the one the host configuration gives. */
static void test_net_state(void **state)
{
	struct tq *rx = &T.q[0], *tx = &T.q[1];
	uint8_t hdr[NET_HDR] = { 0 }, f[100], got[200], mac[6];
	uint32_t id, len;

	driver_init(2, F_VERSION_1 | F_NET_MAC);
	udp_frame(f, sizeof(f));
	net_post_rx(rx, 0, 1600);
	kick(rx);
	assert_int_equal(send(T.peer, f, sizeof(f), 0), sizeof(f));
	assert_true(wait_used(rx, 1));
	net_post_rx(rx, 1, 1600);
	kick(rx);
	net_post_tx(tx, 0, hdr, f, sizeof(f));
	assert_true(wait_used(tx, 1));
	assert_int_equal(peer_recv(got, sizeof(got)), sizeof(f));

	save_restore(remake_net);
	net_nic_mac(T.nic, mac);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rd_config((unsigned)i, 1), mac[i]);
	f[60] ^= 0x55;
	assert_int_equal(send(T.peer, f, sizeof(f), 0), sizeof(f));
	assert_true(wait_used(rx, 2));
	used_elem(rx, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, NET_HDR + sizeof(f));
	assert_memory_equal(gp(RX_GPA + 0x800 + NET_HDR, sizeof(f)), f, sizeof(f));
	net_post_tx(tx, 3, hdr, f, sizeof(f));
	assert_true(wait_used(tx, 2));
	used_elem(tx, 1, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(peer_recv(got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
}

int main(void)
{
#define BLK(t)  cmocka_unit_test_setup_teardown(t, blk_setup, teardown)
#define NET(t)  cmocka_unit_test_setup_teardown(t, net_setup, teardown)
	const struct CMUnitTest tests[] = {
		BLK(test_identity_registers),
		BLK(test_features_offer_version_1),
		BLK(test_features_ok_accepted_without_version_1),
		BLK(test_features_ok_refused_for_unoffered_bits),
		BLK(test_driver_features_frozen_after_features_ok),
		BLK(test_reset_clears_state),
		BLK(test_queue_select_out_of_range),
		BLK(test_queue_size_not_power_of_two_needs_reset),
		BLK(test_interrupt_ack_lowers_line),
		BLK(test_no_interrupt_flag_suppresses_irq),
		BLK(test_buffers_wait_for_driver_ok),
		BLK(test_blk_config_space),
		BLK(test_blk_read_round_trip),
		BLK(test_blk_write_flush_round_trip),
		BLK(test_blk_write_zeroes_and_discard),
		BLK(test_blk_any_layout),
		BLK(test_blk_indirect_read),
		BLK(test_blk_direct_then_indirect),
		BLK(test_blk_errors),
		BLK(test_blk_get_id),
		BLK(test_blk_indirect_table_of_queue_size),
		cmocka_unit_test_setup_teardown(test_blk_engine_completes_off_thread,
						blk_threads_setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_engine_completes_off_thread,
						blk_uring_setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_reset_drains_requests_in_flight,
						blk_threads_setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_reset_drains_requests_in_flight,
						blk_uring_setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_readonly_rejects_writes, blk_ro_setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rng_fills_buffers, rng_setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_transmit, console_setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_input_buffered_until_guest_posts,
						console_setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_input_larger_than_buffer_is_not_lost,
						console_setup, teardown),
		BLK(test_hostile_driver_gets_needs_reset),
		cmocka_unit_test_setup_teardown(test_hostile_rng_and_console, blk_setup, teardown),
		NET(test_net_config),
		NET(test_net_tx_and_checksum_offload),
		NET(test_net_tx_malformed_dropped),
		NET(test_net_tx_csum_outside_frame_dropped),
		NET(test_net_rx_mergeable),
		NET(test_net_rx_small_buffer_and_bad_frames),
		NET(test_net_bad_descriptor),
		BLK(test_blk_state_continues_queue),
		cmocka_unit_test_setup_teardown(test_blk_state_quiesce_engine, blk_threads_setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blk_state_quiesce_engine, blk_uring_setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blk_state_refused_in_flight,
						blk_threads_setup, teardown),
		BLK(test_state_bad_transport_values),
		BLK(test_state_checked_at_use),
		BLK(test_state_of_another_device_type),
		cmocka_unit_test_setup_teardown(test_rng_state, rng_setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_state, console_setup, teardown),
		NET(test_net_state),
	};
#undef BLK
#undef NET
	return cmocka_run_group_tests(tests, NULL, NULL);
}
