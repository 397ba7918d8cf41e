/* libFuzzer harness: loading a full VM's firmware, kernel and initrd
 * (src/machine/boot.c: ELF, Linux Image and raw kernels and firmware,
 * HTIF symbols, the initrd's placement, the device tree) into the 4 MiB
 * board vm_build_board assembles, with the three files from the input.
 *
 * Input: a byte of flags (bit 0: a firmware, --bios; bit 1: a kernel;
 * bit 2: an initrd; bit 3: --bios none), then for each file asked for a
 * u32 length (modulo what is left) and that many bytes; the last file
 * takes the rest.  As condo run, a kernel is always given except with a
 * firmware (the default guest's kernel, when none is asked for, is just
 * another kernel).  After a boot that succeeded, every started hart must
 * start inside RAM. */
#define _GNU_SOURCE
#include "board.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Below the 16 MiB condo run allows: RAM ends are reached sooner. */
#define MEM (4u << 20)

enum { F_BIOS = 1, F_KERNEL = 2, F_INITRD = 4, F_BIOS_NONE = 8 };

struct file {
	int fd;
	char path[64];
};

static struct file files[3];

/* The file i holding bytes; its path. */
static const char *put_file(int i, const uint8_t *bytes, size_t len)
{
	struct file *f = &files[i];

	if (f->fd <= 0) {
		f->fd = memfd_create("fuzz-boot", MFD_CLOEXEC);
		if (f->fd < 0)
			abort();
		snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
	}
	if (ftruncate(f->fd, 0) < 0 || pwrite(f->fd, bytes, len, 0) != (ssize_t)len)
		abort();
	return f->path;
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
	struct vm *vm = &b.vm;
	uint8_t flags = fin_u8(&in);
	const char **slots[3] = { &b.cfg.bios, &b.cfg.kernel, &b.cfg.initrd };
	int last = -1;

	if (!(flags & F_BIOS) || (flags & F_BIOS_NONE))
		flags |= F_KERNEL;
	fuzz_board_config(&b, 2, MEM);
	b.cfg.bios_none = flags & F_BIOS_NONE;
	for (int i = 0; i < 3; i++)
		if (flags & (1 << i))
			last = i;
	for (int i = 0; i < 3; i++) {
		size_t len, got;
		const uint8_t *bytes;

		if (!(flags & (1 << i)))
			continue;
		len = i == last ? in.left : fin_u32(&in) % (in.left + 1);
		bytes = fin_take(&in, len, &got);
		*slots[i] = put_file(i, bytes, got);
	}
	if (fuzz_board_build(&b) < 0)
		__builtin_trap();
	if (boot_load(vm) == 0) {
		for (int i = 0; i < vm->ncpus; i++)
			if (vm->harts[i].state == HART_STARTED &&
			    !gmem_ptr(&vm->ram, vm->harts[i].hart->pc, 2)) {
				fprintf(stderr, "hart %d starts at %#llx, outside RAM\n", i,
					(unsigned long long)vm->harts[i].hart->pc);
				abort();
			}
	}
	fuzz_board_free(&b);
	return 0;
}
