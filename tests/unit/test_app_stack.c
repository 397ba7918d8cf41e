/* Unit tests for app mode's initial stack (src/app/stack.c): the layout
 * the Linux ABI prescribes, read back word by word. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "app/app_internal.h"

#define TOP 0x800000ull
#define SIZE 0x100000ull

static uint64_t word(struct app_mm *mm, gva_t at)
{
	uint64_t v;
	assert_int_equal(mm_read(mm, &v, at, 8), 0);
	return v;
}

static const char *str(struct app_mm *mm, gva_t at)
{
	static char buf[256];
	assert_int_equal(mm_strcpy(mm, buf, at, sizeof(buf)), 0);
	return buf;
}

static void test_layout_matches_the_abi(void **state)
{
	struct app_mm mm;
	char *argv[] = { "prog", "one", "", NULL };
	char *envp[] = { "A=1", "PATH=/bin", NULL };
	struct stack_info si = {
		.argc = 3, .argv = argv, .envp = envp, .execfn = "/bin/prog",
		.phdr = 0x10040, .phent = 56, .phnum = 9, .entry = 0x10100, .base = 0x4000000,
		.uid = 1, .euid = 2, .gid = 3, .egid = 4,
	};
	gva_t sp;

	for (int i = 0; i < 16; i++)
		si.random[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(mm_init(&mm, 0), 0);
	assert_int_equal(mm_map(&mm, TOP - SIZE, SIZE, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(stack_build(&mm, TOP, SIZE, &si, &sp), 0);

	assert_int_equal(sp % 16, 0);
	assert_true(sp < TOP && sp > TOP - SIZE);
	gva_t at = sp;
	assert_int_equal(word(&mm, at), 3);
	at += 8;
	assert_string_equal(str(&mm, word(&mm, at)), "prog");
	assert_string_equal(str(&mm, word(&mm, at + 8)), "one");
	assert_string_equal(str(&mm, word(&mm, at + 16)), "");
	assert_int_equal(word(&mm, at + 24), 0);
	at += 32;
	assert_string_equal(str(&mm, word(&mm, at)), "A=1");
	assert_string_equal(str(&mm, word(&mm, at + 8)), "PATH=/bin");
	assert_int_equal(word(&mm, at + 16), 0);
	at += 24;

	/* auxv: collect the pairs up to AT_NULL. */
	uint64_t aux[64] = { 0 };
	bool seen[64] = { false };
	for (;; at += 16) {
		uint64_t type = word(&mm, at), val = word(&mm, at + 8);
		if (type == AT_NULL)
			break;
		assert_true(type < 64);
		aux[type] = val;
		seen[type] = true;
	}
	assert_int_equal(aux[AT_PHDR], 0x10040);
	assert_int_equal(aux[AT_PHENT], 56);
	assert_int_equal(aux[AT_PHNUM], 9);
	assert_int_equal(aux[AT_PAGESZ], 4096);
	assert_int_equal(aux[AT_BASE], 0x4000000);
	assert_int_equal(aux[AT_ENTRY], 0x10100);
	assert_int_equal(aux[AT_UID], 1);
	assert_int_equal(aux[AT_EUID], 2);
	assert_int_equal(aux[AT_GID], 3);
	assert_int_equal(aux[AT_EGID], 4);
	assert_int_equal(aux[AT_HWCAP], 0x112d); /* I M A F D C */
	assert_int_equal(aux[AT_CLKTCK], 100);
	assert_true(seen[AT_SECURE]);
	assert_int_equal(aux[AT_SECURE], 0);
	assert_string_equal(str(&mm, aux[AT_EXECFN]), "/bin/prog");
	uint8_t rnd[16];
	assert_int_equal(mm_read(&mm, rnd, aux[AT_RANDOM], 16), 0);
	assert_memory_equal(rnd, si.random, 16);
	/* Everything lies between sp and the top. */
	assert_true(aux[AT_RANDOM] > at && aux[AT_EXECFN] < TOP);
	mm_destroy(&mm);
}

static void test_too_many_arguments_is_e2big(void **state)
{
	struct app_mm mm;
	static char big[40000];
	char *argv[] = { "prog", big, NULL };
	char *envp[] = { NULL };
	struct stack_info si = { .argc = 2, .argv = argv, .envp = envp, .execfn = "prog" };
	gva_t sp;

	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(mm_init(&mm, 0), 0);
	assert_int_equal(mm_map(&mm, TOP - SIZE, SIZE, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(stack_build(&mm, TOP, 0x10000, &si, &sp), -E2BIG);
	/* With room it works, and a stack too small for it faults instead. */
	assert_int_equal(stack_build(&mm, TOP, SIZE, &si, &sp), 0);
	assert_int_equal(mm_unmap(&mm, TOP - SIZE, SIZE - 0x1000), 0);
	assert_int_equal(stack_build(&mm, TOP, SIZE, &si, &sp), -EFAULT);
	mm_destroy(&mm);
}

static void test_empty_argv(void **state)
{
	struct app_mm mm;
	char *envp[] = { NULL };
	struct stack_info si = { .argc = 0, .argv = NULL, .envp = envp };
	gva_t sp;
	assert_int_equal(mm_init(&mm, 0), 0);
	assert_int_equal(mm_map(&mm, TOP - SIZE, SIZE, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(stack_build(&mm, TOP, SIZE, &si, &sp), 0);
	assert_int_equal(word(&mm, sp), 0);
	assert_int_equal(word(&mm, sp + 8), 0);  /* argv terminator */
	assert_int_equal(word(&mm, sp + 16), 0); /* envp terminator */
	mm_destroy(&mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_matches_the_abi),
		cmocka_unit_test(test_too_many_arguments_is_e2big),
		cmocka_unit_test(test_empty_argv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
