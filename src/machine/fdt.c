/* The device tree of the virt board, built with libfdt's sequential-write
 * API: everything Linux and OpenSBI look for (devicetree spec 0.4; Linux's
 * bindings for riscv cpus, sifive,plic-1.0.0, riscv,clint0, ns16550a,
 * virtio,mmio, google,goldfish-rtc, syscon-poweroff/-reboot). */
#include "machine/vm.h"

#include <libfdt.h>
#include <stdio.h>
#include <string.h>

/* Phandles: one per cpu interrupt controller, then the PLIC and the test device. */
#define PHANDLE_CPU_INTC(i) (1 + (i))
#define PHANDLE_PLIC        100
#define PHANDLE_TEST        101

/* Everything condo's hart implements, in the order Linux 6.1 parses. */
static const char riscv_isa[] = "rv64imafdc_zicsr_zifencei_zicntr_zba_zbb_zbs_sstc";

static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };
	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

/* interrupts-extended = <&cpuN-intc irq_a &cpuN-intc irq_b ...> for every hart */
static int prop_per_hart_irqs(void *fdt, int ncpus, uint32_t irq_a, uint32_t irq_b)
{
	fdt32_t cells[VM_MAX_CPUS * 4];
	int n = 0;

	for (int i = 0; i < ncpus; i++) {
		cells[n++] = cpu_to_fdt32(PHANDLE_CPU_INTC(i));
		cells[n++] = cpu_to_fdt32(irq_a);
		cells[n++] = cpu_to_fdt32(PHANDLE_CPU_INTC(i));
		cells[n++] = cpu_to_fdt32(irq_b);
	}
	return fdt_property(fdt, "interrupts-extended", cells, n * sizeof(cells[0]));
}

static int begin_device(void *fdt, const char *kind, uint64_t base, uint64_t size)
{
	char name[64];

	snprintf(name, sizeof(name), "%s@%llx", kind, (unsigned long long)base);
	return fdt_begin_node(fdt, name) || prop_reg(fdt, base, size);
}

static int device_irq(void *fdt, uint32_t irq)
{
	return fdt_property_u32(fdt, "interrupts", irq) ||
	       fdt_property_u32(fdt, "interrupt-parent", PHANDLE_PLIC);
}

static int build_cpus(void *fdt, int ncpus)
{
	int err = fdt_begin_node(fdt, "cpus") || fdt_property_u32(fdt, "#address-cells", 1) ||
		  fdt_property_u32(fdt, "#size-cells", 0) ||
		  fdt_property_u32(fdt, "timebase-frequency", TIMEBASE_FREQ);

	for (int i = 0; i < ncpus && !err; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cpu@%d", i);
		err = fdt_begin_node(fdt, name) || fdt_property_string(fdt, "device_type", "cpu") ||
		      fdt_property_u32(fdt, "reg", i) || fdt_property_string(fdt, "status", "okay") ||
		      fdt_property_string(fdt, "compatible", "riscv") ||
		      fdt_property_string(fdt, "riscv,isa", riscv_isa) ||
		      fdt_property_string(fdt, "mmu-type", "riscv,sv48") ||
		      fdt_begin_node(fdt, "interrupt-controller") ||
		      fdt_property_u32(fdt, "#interrupt-cells", 1) ||
		      fdt_property(fdt, "interrupt-controller", NULL, 0) ||
		      fdt_property_string(fdt, "compatible", "riscv,cpu-intc") ||
		      fdt_property_u32(fdt, "phandle", PHANDLE_CPU_INTC(i)) ||
		      fdt_end_node(fdt) || fdt_end_node(fdt);
	}
	return err || fdt_end_node(fdt);
}

static int build_soc(void *fdt, struct vm *vm)
{
	static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
	static const char clint_compat[] = "sifive,clint0\0riscv,clint0";
	static const char test_compat[] = "sifive,test1\0sifive,test0\0syscon";
	int err;

	err = fdt_begin_node(fdt, "soc") || fdt_property_u32(fdt, "#address-cells", 2) ||
	      fdt_property_u32(fdt, "#size-cells", 2) ||
	      fdt_property_string(fdt, "compatible", "simple-bus") ||
	      fdt_property(fdt, "ranges", NULL, 0);

	err = err || begin_device(fdt, "clint", VIRT_ACLINT_BASE, 0x10000) ||
	      fdt_property(fdt, "compatible", clint_compat, sizeof(clint_compat)) ||
	      prop_per_hart_irqs(fdt, vm->ncpus, 3 /* MSI */, 7 /* MTI */) || fdt_end_node(fdt);

	err = err || begin_device(fdt, "plic", VIRT_PLIC_BASE, VIRT_PLIC_SIZE) ||
	      fdt_property(fdt, "compatible", plic_compat, sizeof(plic_compat)) ||
	      fdt_property_u32(fdt, "#address-cells", 0) ||
	      fdt_property_u32(fdt, "#interrupt-cells", 1) ||
	      fdt_property(fdt, "interrupt-controller", NULL, 0) ||
	      fdt_property_u32(fdt, "riscv,ndev", 95) ||
	      prop_per_hart_irqs(fdt, vm->ncpus, 11 /* MEI */, 9 /* SEI */) ||
	      fdt_property_u32(fdt, "phandle", PHANDLE_PLIC) || fdt_end_node(fdt);

	err = err || begin_device(fdt, "serial", VIRT_UART_BASE, 0x100) ||
	      fdt_property_string(fdt, "compatible", "ns16550a") ||
	      fdt_property_u32(fdt, "clock-frequency", 3686400) ||
	      device_irq(fdt, VIRT_UART_IRQ) || fdt_end_node(fdt);

	err = err || begin_device(fdt, "rtc", VIRT_RTC_BASE, 0x1000) ||
	      fdt_property_string(fdt, "compatible", "google,goldfish-rtc") ||
	      device_irq(fdt, VIRT_RTC_IRQ) || fdt_end_node(fdt);

	err = err || begin_device(fdt, "test", VIRT_TEST_BASE, 0x1000) ||
	      fdt_property(fdt, "compatible", test_compat, sizeof(test_compat)) ||
	      fdt_property_u32(fdt, "phandle", PHANDLE_TEST) || fdt_end_node(fdt);

	/* poweroff and reboot write magic values to the test device */
	err = err || fdt_begin_node(fdt, "poweroff") ||
	      fdt_property_string(fdt, "compatible", "syscon-poweroff") ||
	      fdt_property_u32(fdt, "regmap", PHANDLE_TEST) || fdt_property_u32(fdt, "offset", 0) ||
	      fdt_property_u32(fdt, "value", 0x5555) || fdt_end_node(fdt);
	err = err || fdt_begin_node(fdt, "reboot") ||
	      fdt_property_string(fdt, "compatible", "syscon-reboot") ||
	      fdt_property_u32(fdt, "regmap", PHANDLE_TEST) || fdt_property_u32(fdt, "offset", 0) ||
	      fdt_property_u32(fdt, "value", 0x7777) || fdt_end_node(fdt);

	for (int i = 0; i < vm->nvirtio && !err; i++) {
		err = begin_device(fdt, "virtio_mmio", VIRT_VIRTIO_BASE + i * VIRT_VIRTIO_SIZE,
				   VIRT_VIRTIO_SIZE) ||
		      fdt_property_string(fdt, "compatible", "virtio,mmio") ||
		      device_irq(fdt, VIRT_VIRTIO_IRQ + i) || fdt_end_node(fdt);
	}
	return err || fdt_end_node(fdt);
}

int fdt_build(struct vm *vm, void *buf, int bufsize, gpa_t initrd_start, gpa_t initrd_end)
{
	const char *append = vm->cfg->append ? vm->cfg->append : "";
	char stdout_path[64];
	int err;

	snprintf(stdout_path, sizeof(stdout_path), "/soc/serial@%llx",
		 (unsigned long long)VIRT_UART_BASE);
	err = fdt_create(buf, bufsize) || fdt_finish_reservemap(buf) ||
	      fdt_begin_node(buf, "") || fdt_property_u32(buf, "#address-cells", 2) ||
	      fdt_property_u32(buf, "#size-cells", 2) ||
	      fdt_property_string(buf, "compatible", "riscv-virtio") ||
	      fdt_property_string(buf, "model", "condo,virt");

	err = err || fdt_begin_node(buf, "chosen") || fdt_property_string(buf, "bootargs", append) ||
	      fdt_property_string(buf, "stdout-path", stdout_path);
	if (!err && initrd_end > initrd_start)
		err = fdt_property_u64(buf, "linux,initrd-start", initrd_start) ||
		      fdt_property_u64(buf, "linux,initrd-end", initrd_end);
	err = err || fdt_end_node(buf);

	err = err || begin_device(buf, "memory", vm->ram.base, vm->ram.size) ||
	      fdt_property_string(buf, "device_type", "memory") || fdt_end_node(buf);

	err = err || build_cpus(buf, vm->ncpus) || build_soc(buf, vm) || fdt_end_node(buf) ||
	      fdt_finish(buf);
	if (err)
		return -1;
	return (int)fdt_totalsize(buf);
}
