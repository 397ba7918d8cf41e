/* ELF64 loader for RISC-V Linux executables: static (ET_EXEC), static-PIE
 * and dynamically linked (ET_DYN, PT_INTERP).  The file is untrusted: every
 * header field is checked before use (System V gABI, "Program Header";
 * RISC-V ELF psABI for the machine number). */
#define _GNU_SOURCE
#include "app/app_internal.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef EM_RISCV
#define EM_RISCV 243
#endif

/* No real executable comes close; this keeps sums below far from overflow. */
#define ELF_MAX_SEGMENT (1ull << 40)

static __thread char elf_msg[160];

static int bad(const char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(elf_msg, sizeof(elf_msg), fmt, ap);
	va_end(ap);
	*why = elf_msg;
	return -ENOEXEC;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386:
		return "x86";
	case EM_X86_64:
		return "x86-64";
	case EM_ARM:
		return "ARM";
	case EM_AARCH64:
		return "AArch64";
	case EM_PPC64:
		return "PowerPC64";
	case EM_S390:
		return "s390";
	case EM_MIPS:
		return "MIPS";
	default:
		return "another machine";
	}
}

/* Read exactly len bytes at off; false on a short read or an error. */
static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += n;
	}
	return true;
}

static int check_load(const struct elf_phdr64 *ph, uint64_t file_size, const char **why)
{
	if (ph->filesz > ph->memsz)
		return bad(why, "segment at 0x%llx has file size larger than memory size",
			   (unsigned long long)ph->vaddr);
	if (ph->memsz > ELF_MAX_SEGMENT)
		return bad(why, "segment at 0x%llx is absurdly large (%llu bytes)",
			   (unsigned long long)ph->vaddr, (unsigned long long)ph->memsz);
	if (ph->vaddr > ELF_MAX_SEGMENT)
		return bad(why, "segment at 0x%llx is outside the guest address space",
			   (unsigned long long)ph->vaddr);
	if (ph->offset > file_size || ph->filesz > file_size - ph->offset)
		return bad(why, "segment at 0x%llx has data past the end of the file",
			   (unsigned long long)ph->vaddr);
	if ((ph->vaddr - ph->offset) % GUEST_PAGE_SIZE)
		return bad(why,
			   "segment at 0x%llx is misaligned (offset and address differ modulo "
			   "the page size)",
			   (unsigned long long)ph->vaddr);
	return 0;
}

static int read_interp(int fd, const struct elf_phdr64 *ph, uint64_t file_size,
		       struct elf_image *img, const char **why)
{
	if (ph->offset > file_size || ph->filesz > file_size - ph->offset)
		return bad(why, "interpreter path is past the end of the file");
	if (ph->filesz < 2 || ph->filesz > APP_PATH_MAX)
		return bad(why, "bad interpreter path (length %llu)",
			   (unsigned long long)ph->filesz);
	img->interp = malloc(ph->filesz);
	if (!img->interp)
		return -ENOMEM;
	if (!read_at(fd, img->interp, ph->filesz, ph->offset))
		return bad(why, "cannot read the interpreter path");
	if (img->interp[ph->filesz - 1] != 0 || strlen(img->interp) != ph->filesz - 1)
		return bad(why, "bad interpreter path (not a string)");
	return 0;
}

int elf_read(int fd, struct elf_image *img, const char **why)
{
	Elf64_Ehdr eh;
	struct stat st;
	ssize_t n;
	int err;

	memset(img, 0, sizeof(*img));
	if (fstat(fd, &st) < 0) {
		*why = strerror(errno);
		return -errno;
	}
	n = pread(fd, &eh, sizeof(eh), 0);
	if (n < 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (n < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return bad(why, "not an ELF executable (exec format error)");
	if ((size_t)n < sizeof(eh))
		return bad(why, "truncated ELF header");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return bad(why, "not a 64-bit ELF file (ELF class %u); only RV64 is supported",
			   eh.e_ident[EI_CLASS]);
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return bad(why, "not a little-endian ELF file");
	if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
		return bad(why, "unsupported ELF version");
	if (eh.e_machine != EM_RISCV)
		return bad(why, "ELF file for %s (machine %u), not RISC-V",
			   machine_name(eh.e_machine), eh.e_machine);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return bad(why, "not an executable (ELF type %u)", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return bad(why, "bad program header entry size %u", eh.e_phentsize);
	if (eh.e_phnum == 0)
		return bad(why, "no program headers");
	if (eh.e_phnum > ELF_MAX_PHNUM)
		return bad(why, "too many program headers (%u)", eh.e_phnum);
	uint64_t ph_bytes = (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_phoff > (uint64_t)st.st_size || ph_bytes > (uint64_t)st.st_size - eh.e_phoff)
		return bad(why, "program headers are past the end of the file");

	img->type = eh.e_type;
	img->entry = eh.e_entry;
	img->phoff = eh.e_phoff;
	img->phnum = eh.e_phnum;
	img->align = GUEST_PAGE_SIZE;
	img->phdr = calloc(eh.e_phnum, sizeof(*img->phdr));
	Elf64_Phdr *raw = malloc(ph_bytes);
	if (!img->phdr || !raw) {
		free(raw);
		*why = strerror(ENOMEM);
		return -ENOMEM;
	}
	if (!read_at(fd, raw, ph_bytes, eh.e_phoff)) {
		free(raw);
		return bad(why, "cannot read the program headers");
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct elf_phdr64 *ph = &img->phdr[i];
		ph->type = raw[i].p_type;
		ph->flags = raw[i].p_flags;
		ph->offset = raw[i].p_offset;
		ph->vaddr = raw[i].p_vaddr;
		ph->paddr = raw[i].p_paddr;
		ph->filesz = raw[i].p_filesz;
		ph->memsz = raw[i].p_memsz;
		ph->align = raw[i].p_align;
	}
	free(raw);

	int nload = 0;
	uint64_t prev_end = 0;
	for (unsigned i = 0; i < img->phnum; i++) {
		const struct elf_phdr64 *ph = &img->phdr[i];
		switch (ph->type) {
		case PT_LOAD:
			if (!ph->memsz)
				break;
			err = check_load(ph, st.st_size, why);
			if (err)
				return err;
			/* The gABI requires PT_LOAD in ascending order; overlap is an error. */
			if (nload && ph->vaddr < prev_end)
				return bad(why, "segments overlap (at 0x%llx)",
					   (unsigned long long)ph->vaddr);
			if (!nload)
				img->lo = page_down(ph->vaddr);
			prev_end = ph->vaddr + ph->memsz;
			img->hi = page_up(prev_end);
			if (ph->align > img->align && !(ph->align & (ph->align - 1)) &&
			    ph->align <= (1u << 21))
				img->align = ph->align;
			if (img->phoff >= ph->offset && img->phoff - ph->offset < ph->filesz &&
			    ph_bytes <= ph->filesz - (img->phoff - ph->offset) && !img->phdr_vaddr)
				img->phdr_vaddr = ph->vaddr + (img->phoff - ph->offset);
			nload++;
			break;
		case PT_INTERP:
			if (img->interp)
				return bad(why, "more than one interpreter");
			err = read_interp(fd, ph, st.st_size, img, why);
			if (err)
				return err;
			break;
		case PT_GNU_STACK:
			img->exec_stack = (ph->flags & PF_X) != 0;
			break;
		default:
			break;
		}
	}
	if (!nload)
		return bad(why, "no loadable segments");
	for (unsigned i = 0; i < img->phnum; i++)
		if (img->phdr[i].type == PT_PHDR)
			img->phdr_vaddr = img->phdr[i].vaddr;
	if (img->type == ET_EXEC && (img->entry < img->lo || img->entry >= img->hi))
		return bad(why, "entry point 0x%llx is outside the loaded segments",
			   (unsigned long long)img->entry);
	return 0;
}

void elf_free(struct elf_image *img)
{
	free(img->phdr);
	free(img->interp);
	memset(img, 0, sizeof(*img));
}

int elf_choose_bias(struct app_mm *mm, const struct elf_image *img, bool is_interp,
		    uint64_t *bias, const char **why)
{
	/* Everything loaded must stay below the main stack and its gap. */
	uint64_t limit = mm->mmap_top;
	uint64_t span = img->hi - img->lo;

	if (img->type == ET_EXEC) {
		if (img->lo < APP_MIN_ADDR || img->hi > limit)
			return bad(why,
				   "segments at 0x%llx-0x%llx are outside the guest address space",
				   (unsigned long long)img->lo, (unsigned long long)img->hi);
		*bias = 0;
		return 0;
	}
	if (span > limit / 2)
		return bad(why, "loadable segments are absurdly large (%llu bytes)",
			   (unsigned long long)span);
	if (!is_interp) {
		/* Like Linux's ELF_ET_DYN_BASE: two thirds up the address space. */
		uint64_t base = (mm->size / 3 * 2) & ~(img->align - 1);
		if (base + span > limit)
			base = APP_MIN_ADDR + img->align;
		base = (base + img->align - 1) & ~(img->align - 1);
		*bias = base - img->lo;
		return 0;
	}
	gva_t at = mm_find_free(mm, span, 0, img->align);
	if (!at)
		return bad(why, "no room for the interpreter in the guest address space");
	*bias = at - img->lo;
	return 0;
}

static int prot_of(uint32_t pf)
{
	return (pf & PF_R ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) |
	       (pf & PF_X ? PROT_EXEC : 0);
}

int elf_load(struct app_mm *mm, int fd, const struct elf_image *img, uint64_t bias,
	     const char **why)
{
	gva_t prev_end = 0;
	const int RW = PROT_READ | PROT_WRITE;
	int prev_prot = 0;
	int err = 0;

	for (unsigned i = 0; i < img->phnum; i++) {
		const struct elf_phdr64 *ph = &img->phdr[i];
		if (ph->type != PT_LOAD || !ph->memsz)
			continue;
		gva_t vaddr = ph->vaddr + bias;
		gva_t start = page_down(vaddr), end = page_up(vaddr + ph->memsz);
		int prot = prot_of(ph->flags);

		gva_t shared = start; /* the first page, when shared */
		bool shares = start < prev_end;
		if (shares) {
			/* Two segments share a page: it gets both permissions. */
			err = mm_protect(mm, shared, GUEST_PAGE_SIZE, prot | prev_prot | RW);
			if (err)
				goto fail;
			start = prev_end;
		}
		if (end > start) {
			err = mm_map(mm, start, end - start, prot | RW, 0, -1, 0);
			if (err)
				goto fail;
		}
		/* Trusted copy into the range just mapped: writable until the
		 * segment's own permissions are set below (the host's protections
		 * follow the guest's, mm.c). */
		uint8_t *host = mm->host_base + vaddr;
		if (ph->filesz && !read_at(fd, host, ph->filesz, ph->offset))
			return bad(why, "cannot read the segment at 0x%llx (file truncated?)",
				   (unsigned long long)ph->vaddr);
		if (ph->memsz > ph->filesz) {
			/* The rest of the page after the file data may share a page with
			 * another segment's bytes; the pages after it are fresh zeroes. */
			uint64_t tail = page_up(vaddr + ph->filesz) - (vaddr + ph->filesz);
			if (tail > ph->memsz - ph->filesz)
				tail = ph->memsz - ph->filesz;
			memset(host + ph->filesz, 0, tail);
		}
		if (shares)
			err = mm_protect(mm, shared, GUEST_PAGE_SIZE, prot | prev_prot);
		if (!err && end > start)
			err = mm_protect(mm, start, end - start, prot);
		if (err)
			goto fail;
		prev_end = page_up(vaddr + ph->memsz);
		prev_prot = prot;
	}
	return 0;
fail:
	if (err == -ENOMEM && mm->limit_hit)
		*why = "guest memory limit reached (--mem)";
	else
		*why = strerror(-err);
	return err;
}
