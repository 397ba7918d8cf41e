/* libFuzzer harness: MMIO register sequences on every device of the virt
 * board, through the bus as a hart's load or store reaches them
 * (src/mem/bus.c): UART 16550A, ACLINT, PLIC, Goldfish RTC, SiFive test
 * finisher and the virtio-mmio transports of a disk, the entropy device
 * and the console (src/dev, src/virtio), on the board vm_build_board
 * assembles with two harts.
 *
 * Input: operations until the input ends, each one byte (modulo the count)
 * and its operands, little-endian:
 *   ACCESS    region u8 (the bus's devices by address, test finisher
 *             first, then RTC, ACLINT, PLIC, UART, the disk, rng, console;
 *             0xf0 and up: any address), offset u32, width u8
 *             (1/2/4/8), write u8 (bit 0), value u64
 *   NEAR      the same with offset = one of the devices' register bases
 *             (u8) + u8, so sparse register files are reached quickly
 *   RAM       addr u16 (from the start of RAM), n u8, n bytes: rings and
 *             buffers for virtio DMA
 *   IRQ       source u8, level u8: a device line of the PLIC
 *   UART_IN   n u8, n bytes typed on the console
 *   RESET     region u8: the device's reset */
#include "board.h"

#include "condo/devices.h"

enum op { OP_ACCESS, OP_NEAR, OP_RAM, OP_IRQ, OP_UART_IN, OP_RESET, OP_COUNT };

/* Register bases of the board's devices (docs/devices.md, docs/virtio.md). */
static const uint32_t near[] = {
	0x0,      0x4,      0x8,      0x10,     0x14,     0x20,     0x24,     0x30,
	0x34,     0x38,     0x44,     0x50,     0x60,     0x64,     0x70,     0x80,
	0x90,     0xa0,     0xac,     0xfc,     0x100,    0x1000,   0x1080,   0x2000,
	0x2080,   0x2100,   0x4000,   0x4008,   0xbff8,   0xfff8,   0x200000, 0x200004,
	0x201000, 0x201004, 0x202000, 0x203000, 0x5ff000, 0x5ffffc,
};

static void access(struct vm *vm, gpa_t addr, struct fuzz_in *in)
{
	unsigned len = 1u << (fin_u8(in) % 4);
	bool write = fin_u8(in) & 1;
	uint64_t val = fin_u64(in);

	if (write)
		bus_write(&vm->bus, addr, len, val);
	else
		bus_read(&vm->bus, addr, len, &val);
}

/* The base of region u8: a device, or (from 0xf0 up) any 32-bit address. */
static gpa_t region_base(struct vm *vm, uint8_t which, uint64_t *size)
{
	if (which >= 0xf0 || vm->bus.count == 0) {
		*size = 1ull << 32;
		return 0;
	}
	const struct mmio_region *r = &vm->bus.regions[which % vm->bus.count];
	*size = r->size;
	return r->base;
}

static void run_ops(struct fuzz_board *b, struct fuzz_in *in)
{
	struct vm *vm = &b->vm;

	while (fin_more(in)) {
		uint64_t size;
		gpa_t base;

		switch (fin_u8(in) % OP_COUNT) {
		case OP_ACCESS:
			base = region_base(vm, fin_u8(in), &size);
			access(vm, base + fin_u32(in) % (size + 16), in);
			break;
		case OP_NEAR:
			base = region_base(vm, fin_u8(in), &size);
			base += near[fin_u8(in) % ARRAY_SIZE(near)];
			access(vm, base + fin_u8(in), in);
			break;
		case OP_RAM: {
			gpa_t at = vm->ram.base + fin_u16(in);
			size_t got;
			const uint8_t *src = fin_take(in, fin_u8(in), &got);
			gmem_write(&vm->ram, at, src, got);
			break;
		}
		case OP_IRQ: {
			unsigned irq = fin_u8(in);
			plic_set_irq(vm->plic, irq, fin_u8(in) & 1);
			break;
		}
		case OP_UART_IN: {
			size_t got;
			const uint8_t *src = fin_take(in, fin_u8(in), &got);
			uart16550_input(vm->uart, src, got);
			break;
		}
		case OP_RESET: {
			const struct mmio_region *r = &vm->bus.regions[fin_u8(in) % vm->bus.count];
			if (r->ops->reset)
				r->ops->reset(r->dev);
			break;
		}
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_board b;

	fuzz_board_config(&b, 2, 64 << 10);
	if (fuzz_board_build(&b) < 0)
		__builtin_trap();
	run_ops(&b, &in);
	fuzz_board_free(&b);
	return 0;
}
