/* Boot: load the firmware, kernel and initrd into guest RAM, place the
 * device tree, and set up the harts for the chosen boot path:
 *  - paravirtual (default): condo is the SBI; the kernel starts in S-mode at
 *    RAM+0x200000 with a0 = hartid, a1 = fdt; other harts wait for HSM;
 *  - firmware (--bios FILE): all harts start in M-mode at RAM base with
 *    a0 = hartid, a1 = fdt, a2 = fw_dynamic info (OpenSBI fw_jump and
 *    fw_dynamic both work); the kernel is at RAM+0x200000;
 *  - bare metal (--bios none): the program starts in M-mode at its entry.
 * A kernel must be an ELF or a RISC-V Linux Image unless it runs bare
 * metal or --kernel-format raw asks for a raw binary. */
#include "condo/log.h"
#include "cpu/priv.h"
#include "machine/vm.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KERNEL_OFFSET 0x200000ull /* where Linux expects to be, from RAM base */
#define FDT_MAX_SIZE  0x10000
#define FW_DYNAMIC_MAGIC 0x4942534full

struct image {
	uint8_t *data;
	size_t size;
};

/* The files are opened once, before the jail's lockdown, and read again
 * by descriptor on every boot (a reboot reloads them). */
static int open_file(const char *what, const char *path, int *fd)
{
	*fd = -1;
	if (!path)
		return 0;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		log_err("boot", "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

int boot_open_files(const struct vm_config *cfg, struct vm_files *f)
{
	f->bios = f->kernel = f->initrd = -1;
	if (open_file("firmware", cfg->bios_none ? NULL : cfg->bios, &f->bios) < 0 ||
	    open_file("kernel", cfg->kernel, &f->kernel) < 0 ||
	    open_file("initrd", cfg->initrd, &f->initrd) < 0) {
		boot_close_files(f);
		return -1;
	}
	return 0;
}

void boot_close_files(struct vm_files *f)
{
	int *fds[] = { &f->bios, &f->kernel, &f->initrd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Map a boot file read-only: it is only read, once per boot, and a
 * mapping leaves nothing behind when it goes (a malloc'd copy of a 4 MiB
 * kernel would raise glibc's mmap and trim thresholds, and the next large
 * buffers would stay in the heap for the VMM's life). */
static int read_file(const char *what, const char *path, int fd, struct image *img)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("boot", "%s %s: not a regular file", what, path);
		return -1;
	}
	img->size = (size_t)st.st_size;
	img->data = NULL;
	if (!img->size)
		return 0;
	img->data = mmap(NULL, img->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img->data == MAP_FAILED) {
		img->data = NULL;
		log_err("boot", "%s %s: cannot map it: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static void release_file(struct image *img)
{
	if (img->data)
		munmap(img->data, img->size);
	img->data = NULL;
}

static int copy_in(struct vm *vm, const char *what, const char *path, gpa_t at, const void *src,
		   size_t len)
{
	if (gmem_write(&vm->ram, at, src, len) < 0) {
		log_err("boot", "%s %s: does not fit in guest RAM at %#llx (size %zu; try a larger --mem)",
			what, path, (unsigned long long)at, len);
		return -1;
	}
	return 0;
}

/* Find the HTIF symbols of a riscv-tests-style program. */
/* Section header i, copied out (the file gives no alignment). */
static Elf64_Shdr section(const struct image *img, const Elf64_Ehdr *eh, unsigned i)
{
	Elf64_Shdr sh;

	memcpy(&sh, img->data + eh->e_shoff + i * sizeof(sh), sizeof(sh));
	return sh;
}

static void find_htif(struct vm *vm, const struct image *img, const Elf64_Ehdr *eh)
{
	if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > img->size || (img->size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
		return;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh = section(img, eh, i), strtab;

		if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= eh->e_shnum)
			continue;
		strtab = section(img, eh, sh.sh_link);
		if (sh.sh_offset > img->size || sh.sh_size > img->size - sh.sh_offset ||
		    strtab.sh_offset > img->size || strtab.sh_size > img->size - strtab.sh_offset)
			return;
		for (size_t j = 0; j < sh.sh_size / sizeof(Elf64_Sym); j++) {
			Elf64_Sym sym;
			const char *name;
			size_t room;

			memcpy(&sym, img->data + sh.sh_offset + j * sizeof(sym), sizeof(sym));
			if (sym.st_name >= strtab.sh_size)
				continue;
			name = (const char *)img->data + strtab.sh_offset + sym.st_name;
			room = strtab.sh_size - sym.st_name;
			if (!strncmp(name, "tohost", room))
				vm->tohost = sym.st_value;
			else if (!strncmp(name, "fromhost", room))
				vm->fromhost = sym.st_value;
		}
	}
}

/* Load an ELF at its physical addresses, or, when they are not in RAM (a
 * vmlinux linked at virtual addresses), moved as a whole to default_base.
 * Returns 1 if the file is not an ELF, 0 on success, -1 on error. */
static int load_elf(struct vm *vm, const char *what, const char *path, const struct image *img,
		    gpa_t default_base, gpa_t *entry, gpa_t *end)
{
	Elf64_Ehdr ehdr, *eh = &ehdr;
	Elf64_Phdr *ph;
	uint64_t lo = UINT64_MAX, hi = 0, shift = 0;
	int r = -1;

	if (img->size < SELFMAG || memcmp(img->data, ELFMAG, SELFMAG))
		return 1;
	if (img->size < sizeof(*eh)) {
		log_err("boot", "%s %s: truncated ELF header", what, path);
		return -1;
	}
	memcpy(eh, img->data, sizeof(*eh)); /* the file gives no alignment */
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_RISCV) {
		log_err("boot", "%s %s: not a 64-bit RISC-V ELF", what, path);
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > img->size ||
	    (img->size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		log_err("boot", "%s %s: truncated or corrupt ELF program headers", what, path);
		return -1;
	}
	ph = malloc(sizeof(*ph) * (eh->e_phnum ? eh->e_phnum : 1));
	if (!ph)
		return -1;
	memcpy(ph, img->data + eh->e_phoff, sizeof(*ph) * eh->e_phnum);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > img->size ||
		    ph[i].p_filesz > img->size - ph[i].p_offset ||
		    ph[i].p_paddr + ph[i].p_memsz < ph[i].p_paddr) {
			log_err("boot", "%s %s: corrupt ELF segment %d", what, path, i);
			goto out;
		}
		if (ph[i].p_paddr < lo)
			lo = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_memsz > hi)
			hi = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (lo == UINT64_MAX) {
		log_err("boot", "%s %s: ELF has nothing to load", what, path);
		goto out;
	}
	if (!gmem_ptr(&vm->ram, lo, hi - lo))
		shift = default_base - lo;
	for (int i = 0; i < eh->e_phnum; i++) {
		uint8_t *dst;
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		dst = gmem_ptr(&vm->ram, ph[i].p_paddr + shift, ph[i].p_memsz);
		if (!dst) {
			log_err("boot", "%s %s: segment %d does not fit in guest RAM (try a larger --mem)",
				what, path, i);
			goto out;
		}
		memcpy(dst, img->data + ph[i].p_offset, ph[i].p_filesz);
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
		gmem_written(&vm->ram, dst, ph[i].p_memsz);
	}
	*entry = eh->e_entry + shift;
	if (!gmem_ptr(&vm->ram, *entry, 2))
		*entry = lo + shift;
	*end = hi + shift;
	if (!shift)
		find_htif(vm, img, eh);
	r = 0;
out:
	free(ph);
	return r;
}

/* The formats a program file may have: what --kernel-format and the boot
 * path allow. */
enum load_format {
	LOAD_IMAGE_OR_ELF, /* a kernel: refuse anything else, a likely mistake */
	LOAD_ANY,          /* firmware, or a bare-metal kernel: raw if not ELF or Image */
	LOAD_RAW,          /* --kernel-format raw: the bytes as they are */
};

/* The Linux RISC-V boot image header (Documentation/riscv/boot-image-header.rst):
 * 64 bytes, "RSC\x05" at 0x38 (or the deprecated "RISCV\0\0\0" at 0x30),
 * flags bit 0 the endianness (0: little). */
#define IMAGE_HEADER_SIZE 64
#define IMAGE_FLAGS_BE    1ull

static bool is_riscv_image(const struct image *img)
{
	return img->size >= IMAGE_HEADER_SIZE && (!memcmp(img->data + 0x30, "RISCV\0\0\0", 8) ||
						  !memcmp(img->data + 0x38, "RSC\x05", 4));
}

/* A kernel that is neither ELF nor RISC-V Image: say what it looks like
 * instead of running it as raw code that hangs or traps silently. */
static void refuse_kernel(const char *what, const char *path, const struct image *img)
{
	if (img->size < IMAGE_HEADER_SIZE)
		log_err("boot", "%s %s: %zu bytes, too short for a Linux Image header (64 bytes) or "
			"an ELF header", what, path, img->size);
	else if (!memcmp(img->data + 0x38, "ARM\x64", 4))
		log_err("boot", "%s %s: an arm64 Linux Image, not RISC-V", what, path);
	else
		log_err("boot", "%s %s: neither a RISC-V Linux Image (no \"RSC\\x05\" at 0x38) nor "
			"an ELF; for a raw binary use --kernel-format raw", what, path);
}

/* A Linux Image goes at RAM + its text_offset; image_size covers its bss. */
static int load_image(struct vm *vm, const char *what, const char *path, const struct image *img,
		      gpa_t *entry, gpa_t *end)
{
	uint64_t text_offset, image_size, flags;

	memcpy(&text_offset, img->data + 8, 8);
	memcpy(&image_size, img->data + 16, 8);
	memcpy(&flags, img->data + 24, 8);
	if (flags & IMAGE_FLAGS_BE) {
		log_err("boot", "%s %s: a big-endian Linux Image; RISC-V is little-endian here", what,
			path);
		return -1;
	}
	if (text_offset > vm->ram.size || image_size > vm->ram.size - text_offset) {
		log_err("boot", "%s %s: does not fit in guest RAM (Image text_offset %#llx, "
			"size %#llx; try a larger --mem)", what, path,
			(unsigned long long)text_offset, (unsigned long long)image_size);
		return -1;
	}
	*entry = vm->ram.base + text_offset;
	*end = *entry + (image_size > img->size ? image_size : img->size);
	return copy_in(vm, what, path, *entry, img->data, img->size);
}

/* Load a kernel or firmware: ELF, Linux Image or raw binary at base, as
 * `format` allows. */
static int load_program(struct vm *vm, const char *what, const char *path, int fd, gpa_t base,
			enum load_format format, gpa_t *entry, gpa_t *end)
{
	struct image img;
	bool image;
	int r = 1;

	if (read_file(what, path, fd, &img) < 0)
		return -1;
	if (img.size == 0) {
		log_err("boot", "%s %s: empty file", what, path);
		release_file(&img);
		return -1;
	}
	if (format != LOAD_RAW)
		r = load_elf(vm, what, path, &img, base, entry, end);
	image = format != LOAD_RAW && is_riscv_image(&img);
	if (r == 1 && image) {
		r = load_image(vm, what, path, &img, entry, end);
	} else if (r == 1 && format == LOAD_IMAGE_OR_ELF) {
		refuse_kernel(what, path, &img);
		r = -1;
	} else if (r == 1) {
		*entry = base;
		*end = base + img.size;
		r = copy_in(vm, what, path, base, img.data, img.size);
	}
	release_file(&img);
	return r;
}

static void start_hart(struct hart *h, int priv, uint64_t pc, uint64_t a0, uint64_t a1,
		       uint64_t a2)
{
	h->priv = (uint8_t)priv;
	h->pc = pc;
	h->x[10] = a0;
	h->x[11] = a1;
	h->x[12] = a2;
	trap_update_context(h);
}

/* What OpenSBI would leave behind for an S-mode kernel: delegation, counters
 * and Sstc enabled, one PMP entry granting all memory. */
static void setup_paravirtual(struct hart *h)
{
	h->sbi_in_host = true;
	h->csr.medeleg = 0xb1ff & ~(1ull << CAUSE_ECALL_S);
	h->csr.mideleg = S_INTERRUPTS;
	h->csr.mcounteren = 7;
	h->csr.menvcfg = MENVCFG_STCE;
	h->csr.pmpaddr[0] = (1ull << 54) - 1; /* NAPOT: everything */
	h->csr.pmpcfg[0] = 0x1f;             /* NAPOT | R | W | X */
}

int boot_load(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	gpa_t ram_end = vm->ram.base + vm->ram.size;
	gpa_t kernel_entry = 0, kernel_end = vm->ram.base, fw_entry = 0, fw_end = vm->ram.base;
	gpa_t fdt_addr = (ram_end - FDT_MAX_SIZE) & ~(gpa_t)0xfff;
	gpa_t info_addr = fdt_addr - 64, initrd_start = 0, initrd_end = 0;
	uint8_t *fdt;
	bool firmware = cfg->bios && !cfg->bios_none;

	if (firmware && load_program(vm, "firmware", cfg->bios, vm->files->bios, vm->ram.base,
				     LOAD_ANY, &fw_entry, &fw_end))
		return -1;
	if (cfg->kernel &&
	    load_program(vm, "kernel", cfg->kernel, vm->files->kernel,
			 cfg->bios_none ? vm->ram.base : vm->ram.base + KERNEL_OFFSET,
			 cfg->kernel_raw ? LOAD_RAW : cfg->bios_none ? LOAD_ANY : LOAD_IMAGE_OR_ELF,
			 &kernel_entry, &kernel_end))
		return -1;
	if (firmware && cfg->kernel && fw_end > vm->ram.base + KERNEL_OFFSET) {
		log_err("boot", "firmware %s: overlaps the kernel at RAM+%#llx", cfg->bios, KERNEL_OFFSET);
		return -1;
	}
	if (cfg->initrd) {
		struct image img;
		if (read_file("initrd", cfg->initrd, vm->files->initrd, &img) < 0)
			return -1;
		initrd_end = info_addr & ~(gpa_t)0xfff;
		initrd_start = (initrd_end - img.size) & ~(gpa_t)0xfff;
		if (img.size >= initrd_end - kernel_end || initrd_start < kernel_end) {
			log_err("boot", "initrd %s: RAM too small for kernel plus initrd (--mem %llu MiB)",
				cfg->initrd, (unsigned long long)(vm->ram.size >> 20));
			release_file(&img);
			return -1;
		}
		initrd_end = initrd_start + img.size;
		copy_in(vm, "initrd", cfg->initrd, initrd_start, img.data, img.size);
		release_file(&img);
	}
	if (fdt_addr <= kernel_end) {
		log_err("boot", "kernel %s: RAM too small (--mem %llu MiB)", cfg->kernel,
			(unsigned long long)(vm->ram.size >> 20));
		return -1;
	}
	fdt = gmem_ptr(&vm->ram, fdt_addr, FDT_MAX_SIZE);
	if (fdt_build(vm, fdt, FDT_MAX_SIZE, initrd_start, initrd_end) < 0) {
		log_err("boot", "cannot build the device tree");
		return -1;
	}
	gmem_written(&vm->ram, fdt, FDT_MAX_SIZE);

	for (int i = 0; i < vm->ncpus; i++) {
		struct hart *h = vm->harts[i].hart;
		if (firmware) {
			/* struct fw_dynamic_info: magic, version, next_addr, next_mode (S),
			 * options, boot_hart (any) */
			uint64_t info[6] = { FW_DYNAMIC_MAGIC, 2, vm->ram.base + KERNEL_OFFSET, 1, 0,
					     UINT64_MAX };
			gmem_write(&vm->ram, info_addr, info, sizeof(info));
			start_hart(h, PRV_M, fw_entry, i, fdt_addr, info_addr);
			vm->harts[i].state = HART_STARTED;
		} else if (cfg->bios_none) {
			start_hart(h, PRV_M, kernel_entry, i, fdt_addr, 0);
			vm->harts[i].state = HART_STARTED;
		} else {
			setup_paravirtual(h);
			start_hart(h, PRV_S, kernel_entry, i, fdt_addr, 0);
			vm->harts[i].state = i == 0 ? HART_STARTED : HART_STOPPED;
		}
	}
	return 0;
}
