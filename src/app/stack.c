/* The initial stack of a Linux process as the kernel lays it out (see
 * fs/binfmt_elf.c create_elf_tables, and the RISC-V psABI "Process
 * Initialization"): from sp upwards argc, argv[], NULL, envp[], NULL, auxv
 * pairs ending with AT_NULL; above them the 16 AT_RANDOM bytes and the
 * strings; at the very top the AT_EXECFN string.  sp is 16-byte aligned. */
#define _GNU_SOURCE
#include "app/app_internal.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Writes go through mm_ptr like any other guest memory write. */
static int put_bytes(struct app_mm *mm, gva_t at, const void *src, size_t len)
{
	return mm_write(mm, at, src, len);
}

static int put_word(struct app_mm *mm, gva_t at, uint64_t v)
{
	return mm_write(mm, at, &v, sizeof(v));
}

static size_t count(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int stack_build(struct app_mm *mm, gva_t top, uint64_t limit, const struct stack_info *info,
		gva_t *sp_out)
{
	size_t argc = info->argc >= 0 ? (size_t)info->argc : 0;
	size_t envc = count(info->envp);
	const char *execfn = info->execfn ? info->execfn : "";
	uint64_t strings = strlen(execfn) + 1;
	gva_t p = top - sizeof(uint64_t); /* Linux leaves one word free at the top */
	int err;

	for (size_t i = 0; i < argc; i++)
		strings += strlen(info->argv[i]) + 1;
	for (size_t i = 0; i < envc; i++)
		strings += strlen(info->envp[i]) + 1;
	/* Like Linux, arguments may take a quarter of the stack. */
	if (strings + (argc + envc + 64) * 8 > limit / 4)
		return -E2BIG;

	p -= strlen(execfn) + 1;
	gva_t execfn_at = p;
	if ((err = put_bytes(mm, p, execfn, strlen(execfn) + 1)))
		return err;

	gva_t *env_at = calloc(envc + 1, sizeof(gva_t));
	gva_t *arg_at = calloc(argc + 1, sizeof(gva_t));
	if (!env_at || !arg_at) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = envc; i-- > 0;) {
		size_t len = strlen(info->envp[i]) + 1;
		p -= len;
		env_at[i] = p;
		if ((err = put_bytes(mm, p, info->envp[i], len)))
			goto out;
	}
	for (size_t i = argc; i-- > 0;) {
		size_t len = strlen(info->argv[i]) + 1;
		p -= len;
		arg_at[i] = p;
		if ((err = put_bytes(mm, p, info->argv[i], len)))
			goto out;
	}
	p &= ~15ull;
	p -= 16;
	gva_t random_at = p;
	if ((err = put_bytes(mm, p, info->random, 16)))
		goto out;

	const uint64_t auxv[][2] = {
		{ AT_PHDR, info->phdr },
		{ AT_PHENT, info->phent },
		{ AT_PHNUM, info->phnum },
		{ AT_PAGESZ, GUEST_PAGE_SIZE },
		{ AT_BASE, info->base },
		{ AT_FLAGS, 0 },
		{ AT_ENTRY, info->entry },
		{ AT_UID, info->uid },
		{ AT_EUID, info->euid },
		{ AT_GID, info->gid },
		{ AT_EGID, info->egid },
		{ AT_HWCAP, AT_HWCAP_RV64IMAFDC },
		{ AT_CLKTCK, 100 },
		{ AT_SECURE, 0 },
		{ AT_RANDOM, random_at },
		{ AT_EXECFN, execfn_at },
		{ AT_NULL, 0 },
	};
	uint64_t words = 1 + argc + 1 + envc + 1 + 2 * ARRAY_SIZE(auxv);
	gva_t sp = (p - words * 8) & ~15ull;
	gva_t at = sp;

	if ((err = put_word(mm, at, argc)))
		goto out;
	at += 8;
	for (size_t i = 0; i < argc; i++, at += 8)
		if ((err = put_word(mm, at, arg_at[i])))
			goto out;
	if ((err = put_word(mm, at, 0)))
		goto out;
	at += 8;
	for (size_t i = 0; i < envc; i++, at += 8)
		if ((err = put_word(mm, at, env_at[i])))
			goto out;
	if ((err = put_word(mm, at, 0)))
		goto out;
	at += 8;
	for (size_t i = 0; i < ARRAY_SIZE(auxv); i++, at += 16) {
		if ((err = put_word(mm, at, auxv[i][0])) || (err = put_word(mm, at + 8, auxv[i][1])))
			goto out;
	}
	*sp_out = sp;
out:
	free(env_at);
	free(arg_at);
	return err;
}
