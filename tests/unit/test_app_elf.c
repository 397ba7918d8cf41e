/* Unit tests for app mode's ELF loader (src/app/elf.c): every malformed
 * header is refused with its own message, and a good image is loaded with
 * its data, zeroed bss and segment permissions. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "app/app_internal.h"

/* A small but valid static RV64 executable: text at 0x10000, data+bss at
 * 0x11000, the headers inside the text segment. */
struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[4];
	uint8_t body[0x2000 - sizeof(Elf64_Ehdr) - 4 * sizeof(Elf64_Phdr)];
};

static void good_image(struct image *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = 243; /* EM_RISCV */
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = 0x10100;
	im->eh.e_phoff = sizeof(Elf64_Ehdr);
	im->eh.e_ehsize = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = 3;
	im->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
				  .p_vaddr = 0x10000, .p_filesz = 0x1000, .p_memsz = 0x1000,
				  .p_align = 0x1000 };
	im->ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 0x1000,
				  .p_vaddr = 0x11000, .p_filesz = 0x10, .p_memsz = 0x3000,
				  .p_align = 0x1000 };
	im->ph[2] = (Elf64_Phdr){ .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W };
	size_t data = 0x1000 - offsetof(struct image, body);
	memset(im->body + data, 0xee, 0x1000); /* data page: 0x10 bytes, then junk */
	memcpy(im->body + data, "data-segment-ok", 16);
}

static int to_fd(const void *bytes, size_t n)
{
	int fd = memfd_create("elf", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	return fd;
}

/* elf_read on the image; returns the error and the message. */
static int read_image(const struct image *im, size_t n, const char **why)
{
	struct elf_image img;
	int fd = to_fd(im, n);
	*why = "";
	int err = elf_read(fd, &img, why);
	elf_free(&img);
	close(fd);
	return err;
}

static void expect_bad(const struct image *im, size_t n, const char *words)
{
	const char *why;
	assert_int_equal(read_image(im, n, &why), -ENOEXEC);
	if (!strstr(why, words))
		fail_msg("message '%s' does not say '%s'", why, words);
}

static void test_good_image_is_accepted(void **state)
{
	struct image im;
	struct elf_image img;
	const char *why;
	good_image(&im);
	int fd = to_fd(&im, sizeof(im));
	assert_int_equal(elf_read(fd, &img, &why), 0);
	assert_int_equal(img.type, ET_EXEC);
	assert_int_equal(img.lo, 0x10000);
	assert_int_equal(img.hi, 0x14000);
	assert_int_equal(img.phnum, 3);
	assert_int_equal(img.phdr_vaddr, 0x10000 + sizeof(Elf64_Ehdr));
	assert_null(img.interp);
	assert_false(img.exec_stack);
	elf_free(&img);
	close(fd);
}

static void test_not_elf(void **state)
{
	struct image im;
	good_image(&im);
	memcpy(&im, "#!/bin/sh\n", 10);
	expect_bad(&im, sizeof(im), "not an ELF");
	expect_bad(&im, 3, "not an ELF");
}

static void test_truncated_header(void **state)
{
	struct image im;
	good_image(&im);
	expect_bad(&im, 40, "truncated");
}

static void test_wrong_class_endianness_machine_type(void **state)
{
	struct image im;
	good_image(&im);
	im.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_bad(&im, sizeof(im), "64-bit");
	good_image(&im);
	im.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_bad(&im, sizeof(im), "little-endian");
	good_image(&im);
	im.eh.e_machine = EM_X86_64;
	expect_bad(&im, sizeof(im), "x86-64");
	good_image(&im);
	im.eh.e_type = ET_REL;
	expect_bad(&im, sizeof(im), "not an executable");
	good_image(&im);
	im.eh.e_version = 7;
	expect_bad(&im, sizeof(im), "version");
}

static void test_bad_program_headers(void **state)
{
	struct image im;
	good_image(&im);
	im.eh.e_phentsize = 32;
	expect_bad(&im, sizeof(im), "entry size");
	good_image(&im);
	im.eh.e_phnum = 0;
	expect_bad(&im, sizeof(im), "no program headers");
	good_image(&im);
	im.eh.e_phnum = 0xffff;
	expect_bad(&im, sizeof(im), "too many");
	good_image(&im);
	im.eh.e_phoff = sizeof(im) - 8;
	expect_bad(&im, sizeof(im), "past the end");
	good_image(&im);
	im.eh.e_phoff = ~0ull - 8; /* offset + size wraps */
	expect_bad(&im, sizeof(im), "past the end");
	good_image(&im);
	im.ph[0].p_type = PT_NOTE;
	im.ph[1].p_type = PT_NOTE;
	expect_bad(&im, sizeof(im), "no loadable segments");
}

static void test_bad_segments(void **state)
{
	struct image im;
	good_image(&im);
	im.ph[1].p_filesz = 0x4000;
	expect_bad(&im, sizeof(im), "file size larger");
	good_image(&im);
	im.ph[1].p_offset = 0x100000;
	expect_bad(&im, sizeof(im), "past the end of the file");
	good_image(&im);
	im.ph[1].p_offset = ~0ull - 4; /* offset + filesz wraps */
	expect_bad(&im, sizeof(im), "past the end of the file");
	good_image(&im);
	im.ph[1].p_memsz = 1ull << 62;
	expect_bad(&im, sizeof(im), "absurdly large");
	good_image(&im);
	im.ph[1].p_vaddr = ~0ull - 0xfff;
	expect_bad(&im, sizeof(im), "outside the guest address space");
	good_image(&im);
	im.ph[1].p_vaddr = 0x10800;
	im.ph[1].p_offset = 0x800;
	expect_bad(&im, sizeof(im), "overlap");
	good_image(&im);
	im.ph[1].p_vaddr = 0x11008;
	expect_bad(&im, sizeof(im), "misaligned");
	good_image(&im);
	im.eh.e_entry = 0x900000;
	expect_bad(&im, sizeof(im), "entry point");
}

static void test_bad_interpreter_path(void **state)
{
	struct image im;
	good_image(&im);
	im.eh.e_phnum = 4;
	size_t off = 0x800;
	memcpy((uint8_t *)&im + off, "/lib/ld.so", 10); /* no NUL */
	im.ph[3] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_offset = off, .p_filesz = 10 };
	expect_bad(&im, sizeof(im), "interpreter");
	memcpy((uint8_t *)&im + off, "/lib\0ld.so", 11);
	im.ph[3].p_filesz = 11;
	expect_bad(&im, sizeof(im), "interpreter");
	im.ph[3].p_offset = sizeof(im) - 4;
	expect_bad(&im, sizeof(im), "interpreter");

	/* A good one is returned. */
	struct elf_image img;
	const char *why;
	memcpy((uint8_t *)&im + off, "/lib/ld.so", 11);
	im.ph[3].p_offset = off;
	int fd = to_fd(&im, sizeof(im));
	assert_int_equal(elf_read(fd, &img, &why), 0);
	assert_string_equal(img.interp, "/lib/ld.so");
	elf_free(&img);
	close(fd);
}

static void test_load_copies_data_zeroes_bss_sets_permissions(void **state)
{
	struct image im;
	struct elf_image img;
	struct app_mm mm;
	const char *why;
	uint64_t bias;

	good_image(&im);
	int fd = to_fd(&im, sizeof(im));
	assert_int_equal(elf_read(fd, &img, &why), 0);
	assert_int_equal(mm_init(&mm, 0), 0);
	assert_int_equal(elf_choose_bias(&mm, &img, false, &bias, &why), 0);
	assert_int_equal(bias, 0);
	assert_int_equal(elf_load(&mm, fd, &img, bias, &why), 0);

	const uint8_t *text = mm_ptr(&mm, 0x10000, 4, PROT_READ | PROT_EXEC);
	assert_non_null(text);
	assert_memory_equal(text, ELFMAG, 4);
	assert_null(mm_ptr(&mm, 0x10000, 1, PROT_WRITE));
	const char *data = mm_ptr(&mm, 0x11000, 0x3000, PROT_READ | PROT_WRITE);
	assert_non_null(data);
	assert_string_equal(data, "data-segment-ok");
	/* The junk after p_filesz in the file is not loaded: bss is zero. */
	for (size_t i = 0x10; i < 0x3000; i++)
		assert_int_equal(data[i], 0);
	assert_null(mm_ptr(&mm, 0x14000, 1, PROT_READ));

	elf_free(&img);
	mm_destroy(&mm);
	close(fd);
}

static void test_exec_outside_address_space_is_refused(void **state)
{
	struct image im;
	struct elf_image img;
	struct app_mm mm;
	const char *why;
	uint64_t bias;

	assert_int_equal(mm_init(&mm, 0), 0);
	good_image(&im);
	im.ph[0].p_vaddr = 0; /* page zero */
	im.ph[1].p_vaddr = 0x1000;
	im.eh.e_entry = 0x100;
	int fd = to_fd(&im, sizeof(im));
	assert_int_equal(elf_read(fd, &img, &why), 0);
	assert_int_equal(elf_choose_bias(&mm, &img, false, &bias, &why), -ENOEXEC);
	assert_non_null(strstr(why, "outside the guest address space"));
	elf_free(&img);
	close(fd);

	good_image(&im);
	im.ph[1].p_vaddr = mm.size - 0x1000; /* inside the stack area */
	fd = to_fd(&im, sizeof(im));
	assert_int_equal(elf_read(fd, &img, &why), 0);
	assert_int_equal(elf_choose_bias(&mm, &img, false, &bias, &why), -ENOEXEC);
	elf_free(&img);
	close(fd);
	mm_destroy(&mm);
}

static void test_pie_is_relocated_and_interp_placed_apart(void **state)
{
	struct image im;
	struct elf_image img;
	struct app_mm mm;
	const char *why;
	uint64_t bias, ibias;

	assert_int_equal(mm_init(&mm, 0), 0);
	good_image(&im);
	im.eh.e_type = ET_DYN;
	im.ph[0].p_vaddr = 0;
	im.ph[1].p_vaddr = 0x1000;
	im.eh.e_entry = 0x100;
	int fd = to_fd(&im, sizeof(im));
	assert_int_equal(elf_read(fd, &img, &why), 0);
	assert_int_equal(elf_choose_bias(&mm, &img, false, &bias, &why), 0);
	assert_true(bias >= APP_MIN_ADDR && bias % GUEST_PAGE_SIZE == 0);
	assert_int_equal(elf_load(&mm, fd, &img, bias, &why), 0);
	assert_int_equal(elf_choose_bias(&mm, &img, true, &ibias, &why), 0);
	assert_true(ibias + img.hi <= bias || ibias >= bias + img.hi);
	elf_free(&img);
	close(fd);
	mm_destroy(&mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_image_is_accepted),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_wrong_class_endianness_machine_type),
		cmocka_unit_test(test_bad_program_headers),
		cmocka_unit_test(test_bad_segments),
		cmocka_unit_test(test_bad_interpreter_path),
		cmocka_unit_test(test_load_copies_data_zeroes_bss_sets_permissions),
		cmocka_unit_test(test_exec_outside_address_space_is_refused),
		cmocka_unit_test(test_pie_is_relocated_and_interp_placed_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
