/* gen.c - host-side helper of tests/vmbad/run.sh (built with the host cc):
 *
 *   vmbad-gen fill FILE SIZE BYTE        a SIZE-byte file of BYTE
 *   vmbad-gen check-image FILE           the blkrt pattern (pattern.h), FILL elsewhere
 *   vmbad-gen elf KIND IN OUT            a damaged copy of the RISC-V ELF IN
 *   vmbad-gen image OUT TEXT_OFFSET IMAGE_SIZE
 *                                        a 4 KiB Linux "Image" with that header
 *
 * ELF kinds: see the table in elf_damage().  Exit status 0 on success. */
#include "pattern.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto err;
	buf = malloc((size_t)n + 4096);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto err;
	fclose(f);
	*size = (size_t)n;
	return buf;
err:
	fprintf(stderr, "vmbad-gen: %s: %s\n", path, strerror(errno));
	if (f)
		fclose(f);
	free(buf);
	return NULL;
}

static int spill(const char *path, const void *buf, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, size, f) != size || fclose(f)) {
		fprintf(stderr, "vmbad-gen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

static int fill(const char *path, unsigned long long size, int byte)
{
	FILE *f = fopen(path, "wb");
	unsigned char block[65536];

	memset(block, byte, sizeof(block));
	if (!f)
		goto err;
	while (size) {
		size_t n = size < sizeof(block) ? (size_t)size : sizeof(block);
		if (fwrite(block, 1, n, f) != n)
			goto err;
		size -= n;
	}
	if (fclose(f))
		goto err;
	return 0;
err:
	fprintf(stderr, "vmbad-gen: %s: %s\n", path, strerror(errno));
	return 1;
}

static int check_image(const char *path)
{
	size_t size;
	unsigned char *img = slurp(path, &size);
	static unsigned char expect[IMAGE_SECTORS * 512];

	if (!img)
		return 1;
	if (size != sizeof(expect)) {
		fprintf(stderr, "check-image: %s is %zu bytes, expected %zu\n", path, size,
			sizeof(expect));
		return 1;
	}
	memset(expect, IMAGE_FILL, sizeof(expect));
	for (size_t k = 0; k < N_WRITTEN_RANGES; k++) {
		int64_t first = written_ranges[k].first;
		uint64_t s0 = first < 0 ? (uint64_t)(IMAGE_SECTORS + first) : (uint64_t)first;
		for (uint32_t i = 0; i < written_ranges[k].count * 512; i++)
			expect[s0 * 512 + i] = pattern_byte(s0 + i / 512, i % 512);
	}
	for (size_t i = 0; i < size; i++) {
		if (img[i] != expect[i]) {
			fprintf(stderr, "check-image: %s: byte %zu (sector %zu) is %#x, expected %#x\n",
				path, i, i / 512, img[i], expect[i]);
			return 1;
		}
	}
	return 0;
}

/* Copy `len` bytes to an odd offset at the end of the file; returns it. */
static size_t append_odd(unsigned char **buf, size_t *size, const void *src, size_t len)
{
	size_t at = *size | 1;

	*buf = realloc(*buf, at + len);
	if (!*buf)
		exit(1);
	memset(*buf + *size, 0, at - *size);
	memcpy(*buf + at, src, len);
	*size = at + len;
	return at;
}

static int elf_damage(const char *kind, const char *in, const char *out)
{
	size_t size;
	unsigned char *buf = slurp(in, &size);
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph, *load = NULL;

	if (!buf)
		return 1;
	eh = (Elf64_Ehdr *)buf;
	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > size) {
		fprintf(stderr, "vmbad-gen: %s: not an ELF to damage\n", in);
		return 1;
	}
	ph = (Elf64_Phdr *)(buf + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum && !load; i++)
		if (ph[i].p_type == PT_LOAD)
			load = &ph[i];
	if (!load) {
		fprintf(stderr, "vmbad-gen: %s: no PT_LOAD\n", in);
		return 1;
	}

	if (!strcmp(kind, "truncate-header")) { /* the magic, half a header */
		size = 40;
	} else if (!strcmp(kind, "truncate-phdrs")) {
		size = eh->e_phoff + 20;
	} else if (!strcmp(kind, "truncate-segment")) {
		size = load->p_offset + load->p_filesz / 2;
	} else if (!strcmp(kind, "machine-x86-64")) {
		eh->e_machine = EM_X86_64;
	} else if (!strcmp(kind, "class32")) {
		eh->e_ident[EI_CLASS] = ELFCLASS32;
	} else if (!strcmp(kind, "phoff-huge")) {
		eh->e_phoff = 0xffffffffffff0000ull;
	} else if (!strcmp(kind, "phnum-huge")) {
		eh->e_phnum = 0xffff;
	} else if (!strcmp(kind, "phentsize-32")) {
		eh->e_phentsize = 32;
	} else if (!strcmp(kind, "seg-offset-huge")) {
		load->p_offset = 1ull << 62;
	} else if (!strcmp(kind, "seg-filesz-over-memsz")) {
		load->p_memsz = load->p_filesz - 1;
	} else if (!strcmp(kind, "seg-addr-wraps")) {
		load->p_paddr = load->p_vaddr = 0xfffffffffffff000ull;
		load->p_memsz = 0x2000;
	} else if (!strcmp(kind, "seg-memsz-1T")) {
		load->p_memsz = 1ull << 40;
	} else if (!strcmp(kind, "seg-memsz-32M")) { /* run with --mem 16M */
		load->p_memsz = 32ull << 20;
	} else if (!strcmp(kind, "seg-covers-ram")) { /* to the last byte of 16 MiB */
		load->p_memsz = (16ull << 20) - (load->p_paddr - 0x80000000ull);
	} else if (!strcmp(kind, "no-load")) {
		for (int i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_LOAD)
				ph[i].p_type = PT_NULL;
	} else if (!strcmp(kind, "tables-misaligned")) {
		/* valid, but program headers, section headers and the symbol
		 * table at odd file offsets: a loader must not assume alignment */
		Elf64_Phdr *phcopy = malloc((size_t)eh->e_phnum * sizeof(*ph));
		Elf64_Shdr *sh;
		size_t shsize = (size_t)eh->e_shnum * sizeof(Elf64_Shdr), at;

		if (!phcopy || eh->e_shoff + shsize > size)
			return 1;
		memcpy(phcopy, ph, (size_t)eh->e_phnum * sizeof(*ph));
		at = append_odd(&buf, &size, phcopy, (size_t)((Elf64_Ehdr *)buf)->e_phnum * sizeof(*ph));
		eh = (Elf64_Ehdr *)buf;
		eh->e_phoff = at;
		sh = malloc(shsize);
		if (!sh)
			return 1;
		memcpy(sh, buf + eh->e_shoff, shsize);
		for (int i = 0; i < eh->e_shnum; i++) {
			if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_offset + sh[i].sh_size <= size) {
				unsigned char *copy = malloc(sh[i].sh_size);
				if (!copy)
					return 1;
				memcpy(copy, buf + sh[i].sh_offset, sh[i].sh_size);
				sh[i].sh_offset = append_odd(&buf, &size, copy, sh[i].sh_size);
				free(copy);
			}
		}
		at = append_odd(&buf, &size, sh, shsize);
		eh = (Elf64_Ehdr *)buf;
		eh->e_shoff = at;
		free(sh);
		free(phcopy);
	} else {
		fprintf(stderr, "vmbad-gen: unknown ELF damage '%s'\n", kind);
		return 1;
	}
	return spill(out, buf, size);
}

/* A Linux RISC-V Image header (Documentation/arch/riscv/boot-image-header.rst):
 * code0/code1, text_offset at 8, image_size at 16, magic2 "RSC\x05" at 56,
 * the old magic "RISCV\0\0\0" at 48. */
static int linux_image(const char *out, unsigned long long text_offset,
		       unsigned long long image_size)
{
	static unsigned char img[4096];

	memcpy(img + 8, &text_offset, 8);
	memcpy(img + 16, &image_size, 8);
	memcpy(img + 48, "RISCV\0\0\0", 8);
	memcpy(img + 56, "RSC\x05", 4);
	return spill(out, img, sizeof(img));
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "fill"))
		return fill(argv[2], strtoull(argv[3], NULL, 0), (int)strtol(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "check-image"))
		return check_image(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "elf"))
		return elf_damage(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "image"))
		return linux_image(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	fprintf(stderr, "usage: vmbad-gen fill FILE SIZE BYTE | check-image FILE | "
			"elf KIND IN OUT | image OUT TEXT_OFFSET IMAGE_SIZE\n");
	return 2;
}
