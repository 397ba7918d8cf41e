/* libFuzzer harness: app mode's ELF loader (src/app/elf.c): the input is
 * the program file.  elf_read checks its headers; a file it accepts is
 * placed (elf_choose_bias) and loaded (elf_load) into a fresh guest
 * address space (src/app/mm.c) as the main program, then once more as an
 * interpreter beside it, as execve of a dynamically linked program does.
 * After the main program's load every segment's file bytes must be in
 * guest memory at its address, followed by zeroes. */
#define _GNU_SOURCE
#include "app/app_internal.h"
#include "fuzz.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int file_fd = -1;

/* Segment i of img loaded at bias holds the file's bytes, then zeroes. */
static void check_segment(struct app_mm *mm, const struct elf_phdr64 *ph, uint64_t bias,
			  const uint8_t *data)
{
	uint64_t zeroes = ph->memsz - ph->filesz;
	const uint8_t *p;

	if (zeroes > GUEST_PAGE_SIZE)
		zeroes = GUEST_PAGE_SIZE; /* fresh pages beyond: not worth reading */
	p = mm_ptr(mm, ph->vaddr + bias, ph->filesz + zeroes, 0);
	if (!p) {
		fprintf(stderr, "segment at %#llx not mapped after a load that succeeded\n",
			(unsigned long long)ph->vaddr);
		abort();
	}
	if (memcmp(p, data + ph->offset, ph->filesz)) {
		fprintf(stderr, "segment at %#llx does not hold the file's bytes\n",
			(unsigned long long)ph->vaddr);
		abort();
	}
	for (uint64_t i = 0; i < zeroes; i++) {
		if (p[ph->filesz + i]) {
			fprintf(stderr, "bss of the segment at %#llx is not zero\n",
				(unsigned long long)ph->vaddr);
			abort();
		}
	}
}

static void load(struct app_mm *mm, struct elf_image *img, const uint8_t *data)
{
	const char *why;
	uint64_t bias;

	if (elf_choose_bias(mm, img, false, &bias, &why) < 0 ||
	    elf_load(mm, file_fd, img, bias, &why) < 0)
		return;
	/* Only readable segments: the host mirrors the guest's protections
	 * (direct memory access, docs/jit.md), so an unreadable segment is
	 * unreadable here too. */
	for (unsigned i = 0; i < img->phnum; i++)
		if (img->phdr[i].type == PT_LOAD && img->phdr[i].memsz &&
		    (img->phdr[i].flags & PF_R))
			check_segment(mm, &img->phdr[i], bias, data);
	/* the same file again as the interpreter, wherever there is room */
	if (elf_choose_bias(mm, img, true, &bias, &why) == 0)
		elf_load(mm, file_fd, img, bias, &why);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	file_fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	return file_fd < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image img;
	struct app_mm mm;
	const char *why;

	if (ftruncate(file_fd, 0) < 0 || pwrite(file_fd, data, size, 0) != (ssize_t)size)
		abort();
	if (elf_read(file_fd, &img, &why) == 0) {
		if (mm_init(&mm, 0) < 0)
			abort();
		load(&mm, &img, data);
		mm_destroy(&mm);
	}
	elf_free(&img);
	return 0;
}
