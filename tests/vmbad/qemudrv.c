/* qemudrv.c - a virtio-blk driver as small kernels written against QEMU's
 * virt board do it: it takes a disk only when VendorID is QEMU's
 * (0x554d4551), writes only the low word of DriverFeatures (so it never
 * accepts VIRTIO_F_VERSION_1) and sets FEATURES_OK, which the version 2
 * transport accepts as QEMU does (virtio 1.2 §4.2.2 lets the device
 * refuse: docs/virtio.md).  It then reads sector 7 of the disk, which
 * run.sh filled with QEMUDRV_FILL, and prints ok/FAIL lines. */
#include "vio.h"

#define QEMUDRV_FILL 0x3c
#define T_IN 0
#define SECTOR 7

static uint8_t hdr[16] __attribute__((aligned(16)));
static uint8_t data[512] __attribute__((aligned(16)));
static uint8_t status;
static int failures;

static void result(bool ok, const char *what)
{
	rt_puts(ok ? "ok blk/" : "FAIL blk/");
	rt_puts(what);
	rt_puts("\n");
	failures += !ok;
}

int main(void)
{
	struct vdev d;
	uint32_t id, len, type = T_IN;
	uint64_t sector = SECTOR;
	bool all = true;
	int r;

	rt_uart_init();
	if (!vio_find(VIO_ID_BLOCK, 0, &d)) {
		result(false, "no-disk");
		return 1;
	}
	result(vio_rd(&d, VIO_VENDOR_ID) == VIO_VENDOR_QEMU, "vendor-id-qemu");
	d.low_word_only = true;
	r = vio_setup(&d, 8, 0);
	result(r == 0, "features-ok-without-version-1");
	if (r != 0)
		return 1;
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memset(data, 0, sizeof(data));
	status = 0xff;
	d.ring->desc[0] = (struct vdesc){ (uintptr_t)hdr, 16, D_NEXT, 1 };
	d.ring->desc[1] = (struct vdesc){ (uintptr_t)data, 512, D_NEXT | D_WRITE, 2 };
	d.ring->desc[2] = (struct vdesc){ (uintptr_t)&status, 1, D_WRITE, 0 };
	vio_post(&d, 0, 1);
	r = vio_wait(&d);
	result(r == 1, "read-used");
	if (r != 1)
		return 1;
	vio_used_elem(&d, 0, &id, &len);
	result(id == 0 && len == 513, "read-used-length");
	result(status == 0, "read-status");
	for (int i = 0; i < 512; i++)
		all = all && data[i] == QEMUDRV_FILL;
	result(all, "read-data");
	return failures;
}
