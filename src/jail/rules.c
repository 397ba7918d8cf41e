/* The allow-lists (allow.c) as libseccomp rules, and the BPF program
 * libseccomp generates from them for one thread kind.  Used when condo is
 * built (src/jail/gen/gen_filters.c writes every kind's program into the
 * binary, filter.c installs them) and by the unit tests, which check the
 * built-in programs against a fresh generation; condo itself never runs
 * libseccomp. */
#define _GNU_SOURCE
#include "jail/jail_internal.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int add_group(scmp_filter_ctx ctx, const struct jail_group *g, unsigned bit)
{
	if (!(g->kinds & bit))
		return 0;
	for (const char *const *name = g->names; *name; name++) {
		int nr = seccomp_syscall_resolve_name(*name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a call on this architecture */
		int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (err && err != -EEXIST)
			return err;
	}
	return 0;
}

static int add_cond(scmp_filter_ctx ctx, const struct jail_cond *c, uint32_t self)
{
	struct scmp_arg_cmp cmp[2];
	unsigned n = 0;
	int nr = seccomp_syscall_resolve_name(c->name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	for (unsigned i = 0; i < 2 && c->cmp[i].mask; i++) {
		uint64_t value = c->cmp[i].value == JAIL_COND_SELF ? self : c->cmp[i].value;
		cmp[n++] = (struct scmp_arg_cmp){.arg = c->cmp[i].arg,
						 .op = SCMP_CMP_MASKED_EQ,
						 .datum_a = c->cmp[i].mask,
						 .datum_b = value};
	}
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

static scmp_filter_ctx build(enum jail_kind kind, uint32_t self)
{
	unsigned bit = 1u << kind;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int err = 0;

	if (!ctx)
		return NULL;
	for (const struct jail_group *g = jail_groups; g->names && !err; g++)
		err = add_group(ctx, g, bit);
	if (!err && JAIL_SANITIZED)
		err = add_group(ctx, &jail_sanitizer_group, bit);
	for (const struct jail_cond *c = jail_conds; c->name && !err; c++)
		if (c->kinds & bit)
			err = add_cond(ctx, c, self);
	/* clone3 takes its flags in memory, out of a filter's sight: answer
	 * ENOSYS and glibc falls back to clone, whose flags are checked. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (err) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* libseccomp writes the program to a descriptor (seccomp_export_bpf): a
 * memfd, read back. */
int jail_rules_generate(enum jail_kind kind, uint32_t self, struct sock_filter **prog,
			unsigned short *len)
{
	scmp_filter_ctx ctx = build(kind, self);
	int fd = memfd_create("condo-seccomp", MFD_CLOEXEC);
	off_t size;
	int err = -EINVAL;

	*prog = NULL;
	if (!ctx || fd < 0)
		goto out;
	if ((err = seccomp_export_bpf(ctx, fd)))
		goto out;
	size = lseek(fd, 0, SEEK_END);
	err = -EINVAL;
	if (size <= 0 || size % sizeof(**prog) || size / sizeof(**prog) > BPF_MAXINSNS)
		goto out;
	err = -ENOMEM;
	if (!(*prog = malloc((size_t)size)))
		goto out;
	err = -EIO;
	if (pread(fd, *prog, (size_t)size, 0) != size) {
		free(*prog);
		*prog = NULL;
		goto out;
	}
	*len = (unsigned short)(size / sizeof(**prog));
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ctx)
		seccomp_release(ctx);
	return err;
}

char *jail_rules_call_name(int nr)
{
	return seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}
