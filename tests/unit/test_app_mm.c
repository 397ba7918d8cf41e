/* Unit tests for app mode's guest address space (src/app/mm.c): the checked
 * accessor, mapping, unmapping, protection, the --mem cap, brk, mremap and
 * the free-range search. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <signal.h>
#include <ucontext.h>
#include <cmocka.h>

#include "app/app_internal.h"
#include "cpu/guest_access.h"

#define BASE 0x100000ull
#define PG GUEST_PAGE_SIZE

static int setup(void **state)
{
	struct app_mm *mm = calloc(1, sizeof(*mm));
	assert_int_equal(mm_init(mm, 0), 0);
	*state = mm;
	return 0;
}

static int teardown(void **state)
{
	mm_destroy(*state);
	free(*state);
	return 0;
}

/* The host permissions ("rw-", ...) of the page at guest address a, from
 * /proc/self/maps. */
static const char *host_perms(const struct app_mm *mm, gva_t a)
{
	static char perms[8];
	uintptr_t h = (uintptr_t)mm->host_base + a, lo, hi;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	strcpy(perms, "none");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %3s", &lo, &hi, perms) == 3 && lo <= h && h < hi)
			break;
		strcpy(perms, "none");
	}
	if (f)
		fclose(f);
	return perms;
}

/* Direct access: the host's protections follow the guest's mappings, pages
 * with decoded code are not writable, and leaving makes all read-write. */
static void test_host_protections_mirror_the_guest(void **state)
{
	struct app_mm *mm = *state;
	assert_true(mm->direct);
	assert_string_equal(host_perms(mm, BASE), "---");
	assert_string_equal(host_perms(mm, mm->size), "---"); /* the guard page */
	assert_int_equal(mm_map(mm, BASE, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, 0, -1, 0), 0);
	assert_string_equal(host_perms(mm, BASE), "rw-");
	assert_int_equal(mm_protect(mm, BASE + PG, PG, PROT_READ), 0);
	assert_string_equal(host_perms(mm, BASE + PG), "r--");
	assert_int_equal(mm_protect(mm, BASE + PG, PG, PROT_NONE), 0);
	assert_string_equal(host_perms(mm, BASE + PG), "---");
	assert_int_equal(mm_unmap(mm, BASE + 3 * PG, PG), 0);
	assert_string_equal(host_perms(mm, BASE + 3 * PG), "---");
	/* A page of code: read-only until written through a checked pointer. */
	assert_true(code_map_mark(&mm->code, mm->host_base + BASE + 2 * PG + 8));
	assert_string_equal(host_perms(mm, BASE + 2 * PG), "r--");
	assert_int_equal(mm_protect(mm, BASE + 2 * PG, PG, PROT_READ | PROT_WRITE), 0);
	assert_string_equal(host_perms(mm, BASE + 2 * PG), "r--"); /* still code */
	assert_non_null(mm_ptr(mm, BASE + 2 * PG + 16, 8, PROT_WRITE));
	assert_string_equal(host_perms(mm, BASE + 2 * PG), "rw-");
	/* A write-only mapping cannot be mirrored: direct access ends. */
	assert_int_equal(mm_map(mm, BASE + 8 * PG, PG, PROT_WRITE, 0, -1, 0), 0);
	assert_false(mm->direct);
	assert_string_equal(host_perms(mm, BASE + PG), "rw-");
	assert_string_equal(host_perms(mm, BASE + 100 * PG), "rw-");
	assert_string_equal(host_perms(mm, mm->size), "---");
}

static void test_reservation_is_large_and_empty(void **state)
{
	struct app_mm *mm = *state;
	assert_true(mm->size >= (1ull << 32));
	assert_int_equal(mm->nvma, 0);
	assert_null(mm_ptr(mm, BASE, 1, PROT_READ));
	assert_true(mm_is_free(mm, BASE, 16 * PG));
}

static void test_ptr_checks_every_byte_and_permission(void **state)
{
	struct app_mm *mm = *state;
	assert_int_equal(mm_map(mm, BASE, 2 * PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(mm_map(mm, BASE + 2 * PG, PG, PROT_READ, 0, -1, 0), 0);

	assert_non_null(mm_ptr(mm, BASE, 3 * PG, PROT_READ));
	assert_non_null(mm_ptr(mm, BASE, 2 * PG, PROT_WRITE));
	/* One byte into the read-only page is enough to refuse a write. */
	assert_null(mm_ptr(mm, BASE + PG, PG + 1, PROT_WRITE));
	/* Running off the end of the mappings. */
	assert_null(mm_ptr(mm, BASE + 3 * PG - 1, 2, PROT_READ));
	/* Starting before them. */
	assert_null(mm_ptr(mm, BASE - 1, 2, PROT_READ));
	/* Wrap-around and addresses past the reservation. */
	assert_null(mm_ptr(mm, ~0ull - 3, 8, PROT_READ));
	assert_null(mm_ptr(mm, mm->size, 1, PROT_READ));
	assert_null(mm_ptr(mm, BASE, ~0ull, PROT_READ));
	/* A zero-length access touches nothing and is allowed anywhere. */
	assert_non_null(mm_ptr(mm, 0, 0, PROT_WRITE));
	/* No execute permission was given. */
	assert_null(mm_ptr(mm, BASE, 1, PROT_EXEC));
}

static void test_unmap_splits_and_gives_fresh_zero_pages(void **state)
{
	struct app_mm *mm = *state;
	assert_int_equal(mm_map(mm, BASE, 3 * PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	memset(mm_ptr(mm, BASE, 3 * PG, PROT_WRITE), 0xab, 3 * PG);
	assert_int_equal(mm_unmap(mm, BASE + PG, PG), 0);
	assert_int_equal(mm->nvma, 2);
	assert_non_null(mm_ptr(mm, BASE, PG, PROT_READ));
	assert_null(mm_ptr(mm, BASE + PG, 1, PROT_READ));
	assert_non_null(mm_ptr(mm, BASE + 2 * PG, PG, PROT_READ));
	/* Mapped again, the middle page reads as zeroes. */
	assert_int_equal(mm_map(mm, BASE + PG, PG, PROT_READ, 0, -1, 0), 0);
	const uint8_t *p = mm_ptr(mm, BASE + PG, PG, PROT_READ);
	for (size_t i = 0; i < PG; i++)
		assert_int_equal(p[i], 0);
	/* Unaligned or empty unmaps are errors; unmapping nothing is not. */
	assert_int_equal(mm_unmap(mm, BASE + 1, PG), -EINVAL);
	assert_int_equal(mm_unmap(mm, BASE, 0), -EINVAL);
	assert_int_equal(mm_unmap(mm, BASE + 100 * PG, PG), 0);
}

static void test_equal_neighbours_merge(void **state)
{
	struct app_mm *mm = *state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(mm_map(mm, BASE + i * PG, PG, PROT_READ, 0, -1, 0), 0);
	assert_int_equal(mm->nvma, 1);
	assert_int_equal(mm_protect(mm, BASE + 3 * PG, PG, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(mm->nvma, 3);
	assert_int_equal(mm_protect(mm, BASE + 3 * PG, PG, PROT_READ), 0);
	assert_int_equal(mm->nvma, 1);
}

static void test_protect_needs_a_fully_mapped_range(void **state)
{
	struct app_mm *mm = *state;
	assert_int_equal(mm_map(mm, BASE, PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(mm_map(mm, BASE + 2 * PG, PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(mm_protect(mm, BASE, 3 * PG, PROT_READ), -ENOMEM);
	/* Nothing changed on failure. */
	assert_non_null(mm_ptr(mm, BASE, PG, PROT_WRITE));
	assert_int_equal(mm_protect(mm, BASE + 1, PG, PROT_READ), -EINVAL);
	assert_int_equal(mm_protect(mm, BASE, PG, PROT_READ), 0);
	assert_null(mm_ptr(mm, BASE, 1, PROT_WRITE));
}

static void test_fill_follows_permissions(void **state)
{
	struct app_mm *mm = *state;
	uint8_t *host = NULL;
	assert_int_equal(mm_map(mm, BASE, PG, PROT_READ | PROT_EXEC, 0, -1, 0), 0);
	assert_int_equal(mm_fill(mm, BASE, ACC_EXEC, &host), 0);
	assert_ptr_equal(host, mm->host_base + BASE);
	assert_int_equal(mm_fill(mm, BASE, ACC_READ, &host), 0);
	assert_int_equal(mm_fill(mm, BASE, ACC_WRITE, &host), -1);
	assert_int_equal(mm_fill(mm, BASE + PG, ACC_READ, &host), -1);
	assert_int_equal(mm_fill(mm, mm->size, ACC_READ, &host), -1);
}

static void test_generations_move_on_changes(void **state)
{
	struct app_mm *mm = *state;
	uint64_t map0 = mm->map_generation, code0 = mm->code_generation;
	assert_int_equal(mm_map(mm, BASE, PG, PROT_READ, 0, -1, 0), 0);
	assert_true(mm->map_generation > map0);
	assert_int_equal(mm->code_generation, code0);
	assert_int_equal(mm_protect(mm, BASE, PG, PROT_READ | PROT_EXEC), 0);
	assert_true(mm->code_generation > code0);
	code0 = mm->code_generation;
	assert_int_equal(mm_unmap(mm, BASE, PG), 0);
	assert_true(mm->code_generation > code0);
}

static void test_mem_limit_counts_accessible_mappings(void **state)
{
	struct app_mm *mm = *state;
	mm->mem_limit = 4 * PG;
	assert_int_equal(mm_map(mm, BASE, 4 * PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(mm->mem_used, 4 * PG);
	assert_false(mm->limit_hit);
	/* Reservations with PROT_NONE are free... */
	assert_int_equal(mm_map(mm, BASE + 16 * PG, 64 * PG, PROT_NONE, 0, -1, 0), 0);
	assert_false(mm->limit_hit);
	/* ...until they become accessible. */
	assert_int_equal(mm_protect(mm, BASE + 16 * PG, PG, PROT_READ), -ENOMEM);
	assert_true(mm->limit_hit);
	mm->limit_hit = 0;
	/* Replacing a mapping by one of the same size costs nothing. */
	assert_int_equal(mm_map(mm, BASE, 4 * PG, PROT_READ, 0, -1, 0), 0);
	assert_int_equal(mm_unmap(mm, BASE, PG), 0);
	assert_int_equal(mm->mem_used, 3 * PG);
	assert_int_equal(mm_map(mm, BASE + 8 * PG, 2 * PG, PROT_READ, 0, -1, 0), -ENOMEM);
	assert_true(mm->limit_hit);
}

static void test_find_free_is_top_down_and_avoids_mappings(void **state)
{
	struct app_mm *mm = *state;
	gva_t a = mm_find_free(mm, 3 * PG, 0, PG);
	assert_true(a != 0);
	assert_int_equal(a % PG, 0);
	assert_true(a + 3 * PG <= mm->mmap_top);
	assert_int_equal(mm_map(mm, a, 3 * PG, PROT_READ, 0, -1, 0), 0);
	gva_t b = mm_find_free(mm, PG, 0, PG);
	assert_true(b + PG <= a);
	/* A free hint is honoured, a taken one is not. */
	assert_int_equal(mm_find_free(mm, PG, BASE, PG), BASE);
	assert_int_not_equal(mm_find_free(mm, PG, a, PG), a);
	/* Alignment. */
	gva_t c = mm_find_free(mm, PG, 0, 1 << 20);
	assert_int_equal(c % (1 << 20), 0);
	assert_int_equal(mm_find_free(mm, mm->size + PG, 0, PG), 0);
}

static void test_mmap_flags(void **state)
{
	struct app_mm *mm = *state;
	int64_t a = mm_mmap(mm, 0, 5000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			    0);
	assert_true(a > 0);
	assert_non_null(mm_ptr(mm, a, 2 * PG, PROT_WRITE)); /* rounded up to pages */
	assert_int_equal(mm_mmap(mm, a, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	assert_int_equal(mm_mmap(mm, a, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0), a);
	assert_null(mm_ptr(mm, a, 1, PROT_WRITE));
	assert_int_equal(mm_mmap(mm, PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0), -EPERM);
	assert_int_equal(mm_mmap(mm, a + 1, PG, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), -EINVAL);
	assert_int_equal(mm_mmap(mm, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
	assert_int_equal(mm_mmap(mm, 0, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), -EINVAL);
	assert_int_equal(mm_mmap(mm, 0, ~0ull - 10, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
				 0), -ENOMEM);
}

static void test_file_mapping_past_eof_is_sigbus(void **state)
{
	struct app_mm *mm = *state;
	int fd = memfd_create("t", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	int64_t a = mm_mmap(mm, 0, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(a > 0);
	assert_memory_equal(mm_ptr(mm, a, 5, PROT_READ), "hello", 5);
	struct vma v;
	assert_true(mm_lookup(mm, a + PG, &v));
	assert_true(v.flags & VMA_SIGBUS);
	assert_null(mm_ptr(mm, a + PG, 1, PROT_READ));
	/* A shared mapping of a read-only fd may never become writable. */
	int ro = open("/proc/self/exe", O_RDONLY);
	int64_t b = mm_mmap(mm, 0, PG, PROT_READ, MAP_SHARED, ro, 0);
	assert_true(b > 0);
	assert_int_equal(mm_protect(mm, b, PG, PROT_READ | PROT_WRITE), -EACCES);
	assert_int_equal(mm_mmap(mm, 0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), -EACCES);
	close(ro);
	close(fd);
}

static void test_brk_grows_shrinks_and_refuses_collisions(void **state)
{
	struct app_mm *mm = *state;
	mm->brk_start = mm->brk_cur = BASE + 100;
	assert_int_equal(mm_brk(mm, 0), BASE + 100);
	assert_int_equal(mm_brk(mm, BASE + 100 + 3 * PG), BASE + 100 + 3 * PG);
	uint8_t *p = mm_ptr(mm, BASE + PG, 3 * PG, PROT_WRITE);
	assert_non_null(p);
	p[0] = 7;
	assert_int_equal(mm_brk(mm, BASE + 200), BASE + 200);
	assert_null(mm_ptr(mm, BASE + PG, 1, PROT_READ));
	/* Below the start: refused, the break stays. */
	assert_int_equal(mm_brk(mm, BASE), BASE + 200);
	/* Into another mapping: refused. */
	assert_int_equal(mm_map(mm, BASE + 8 * PG, PG, PROT_READ, 0, -1, 0), 0);
	assert_int_equal(mm_brk(mm, BASE + 9 * PG), BASE + 200);
	/* Grown again, the old contents are gone. */
	assert_int_equal(mm_brk(mm, BASE + 2 * PG), BASE + 2 * PG);
	p = mm_ptr(mm, BASE + PG, 1, PROT_READ);
	assert_int_equal(p[0], 0);
}

static void test_mremap_shrinks_grows_and_moves(void **state)
{
	struct app_mm *mm = *state;
	assert_int_equal(mm_map(mm, BASE, 4 * PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	memset(mm_ptr(mm, BASE, 4 * PG, PROT_WRITE), 0x5c, 4 * PG);
	assert_int_equal(mm_remap(mm, BASE, 4 * PG, 2 * PG, 0, 0), BASE);
	assert_null(mm_ptr(mm, BASE + 2 * PG, 1, PROT_READ));
	/* In place when the pages after it are free. */
	assert_int_equal(mm_remap(mm, BASE, 2 * PG, 3 * PG, 0, 0), BASE);
	assert_non_null(mm_ptr(mm, BASE, 3 * PG, PROT_WRITE));
	/* Blocked: needs MREMAP_MAYMOVE, then moves with the data. */
	assert_int_equal(mm_map(mm, BASE + 3 * PG, PG, PROT_READ, 0, -1, 0), 0);
	assert_int_equal(mm_remap(mm, BASE, 3 * PG, 8 * PG, 0, 0), -ENOMEM);
	int64_t n = mm_remap(mm, BASE, 3 * PG, 8 * PG, MREMAP_MAYMOVE, 0);
	assert_true(n > 0 && (gva_t)n != BASE);
	const uint8_t *p = mm_ptr(mm, n, 8 * PG, PROT_READ);
	assert_non_null(p);
	assert_int_equal(p[0], 0x5c);
	assert_int_equal(p[2 * PG - 1], 0x5c);
	assert_int_equal(p[3 * PG], 0);
	assert_null(mm_ptr(mm, BASE, 1, PROT_READ));
	/* The old range is fresh host memory: inaccessible while direct, zero
	 * once the reservation is all read-write again. */
	assert_string_equal(host_perms(mm, BASE), "---");
	mm_leave_direct(mm, "test");
	assert_int_equal(mm->host_base[BASE], 0);
	/* Not mapped at all. */
	assert_int_equal(mm_remap(mm, BASE, PG, 2 * PG, MREMAP_MAYMOVE, 0), -EFAULT);
}

static void test_strcpy_stops_at_faults_and_size(void **state)
{
	struct app_mm *mm = *state;
	char buf[64];
	assert_int_equal(mm_map(mm, BASE, PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	char *p = mm_ptr(mm, BASE, PG, PROT_WRITE);
	strcpy(p + PG - 4, "abc");
	assert_int_equal(mm_strcpy(mm, buf, BASE + PG - 4, sizeof(buf)), 0);
	assert_string_equal(buf, "abc");
	/* The string runs into an unmapped page. */
	memcpy(p + PG - 4, "abcd", 4);
	assert_int_equal(mm_strcpy(mm, buf, BASE + PG - 4, sizeof(buf)), -EFAULT);
	/* No NUL within the buffer. */
	memset(p, 'x', 100);
	assert_int_equal(mm_strcpy(mm, buf, BASE, sizeof(buf)), -ENAMETOOLONG);
}

/* Two threads mark and unmark a page of code at once, each calling the
 * protect hook after changing the mark, in either order: the page ends as
 * its mark says, whatever the hook was told. */
static void test_code_protection_follows_the_mark(void **state)
{
	struct app_mm *mm = *state;
	uint8_t *page = mm->host_base + BASE;
	uint8_t *mark = code_map_mark_of(&mm->code, page);

	assert_int_equal(mm_map(mm, BASE, PG, PROT_READ | PROT_WRITE | PROT_EXEC, 0, -1, 0), 0);
	assert_true(code_map_mark(&mm->code, page));
	assert_string_equal(host_perms(mm, BASE), "r--");
	/* Unmarked meanwhile, and the marking thread's hook comes last. */
	__atomic_store_n(mark, 0, __ATOMIC_SEQ_CST);
	mm->code.protect(mm, page, true);
	assert_string_equal(host_perms(mm, BASE), "rw-");
	/* Marked again, and the unmarking thread's hook comes last. */
	__atomic_store_n(mark, 1, __ATOMIC_SEQ_CST);
	mm->code.protect(mm, page, false);
	assert_string_equal(host_perms(mm, BASE), "r--");
}

static sigjmp_buf fixup_env;

/* What condo's own handler does with a fault at a recorded access. */
static void fixup_handler(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *ctx = uc;
	uintptr_t to = cpu_guest_fixup((uintptr_t)ctx->uc_mcontext.gregs[REG_RIP]);

	(void)sig, (void)si;
	if (!to)
		siglongjmp(fixup_env, 1); /* not a recorded access */
	ctx->uc_mcontext.gregs[REG_RIP] = (greg_t)to;
}

/* A pointer taken before another thread unmapped or write-protected the
 * page: the fault-tolerant copy reports the fault instead of crashing,
 * and works again once the page is back; any other pc is not fixed. */
static void test_guest_copy_survives_a_page_taken_away(void **state)
{
	struct app_mm *mm = *state;
	struct sigaction sa = { .sa_sigaction = fixup_handler, .sa_flags = SA_SIGINFO }, old;
	uint64_t v = 0x1122334455667788ull, got = 0;
	uint8_t *p = mm->host_base + BASE + PG - 4; /* the copy straddles two pages */

	assert_int_equal(mm_map(mm, BASE, 2 * PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(sigaction(SIGSEGV, &sa, &old), 0);
	if (sigsetjmp(fixup_env, 1))
		fail_msg("a fault at a recorded access was not fixed up");
	assert_int_equal(cpu_guest_copy(p, &v, 8), 0);
	assert_int_equal(mm_protect(mm, BASE + PG, PG, PROT_READ), 0);
	assert_int_equal(cpu_guest_copy(p, &v, 8), -1);
	assert_int_equal(cpu_guest_copy(&got, p, 8), 0);
	assert_int_equal(mm_unmap(mm, BASE, 2 * PG), 0);
	assert_int_equal(cpu_guest_copy(&got, p, 8), -1);
	assert_int_equal(mm_map(mm, BASE, 2 * PG, PROT_READ | PROT_WRITE, 0, -1, 0), 0);
	assert_int_equal(cpu_guest_copy(p, &v, 8), 0);
	assert_int_equal(cpu_guest_copy(&got, p, 8), 0);
	assert_int_equal(got, v);
	assert_int_equal(cpu_guest_fixup((uintptr_t)test_guest_copy_survives_a_page_taken_away), 0);
	sigaction(SIGSEGV, &old, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reservation_is_large_and_empty),
		T(test_host_protections_mirror_the_guest),
		T(test_ptr_checks_every_byte_and_permission),
		T(test_unmap_splits_and_gives_fresh_zero_pages),
		T(test_equal_neighbours_merge),
		T(test_protect_needs_a_fully_mapped_range),
		T(test_fill_follows_permissions),
		T(test_generations_move_on_changes),
		T(test_mem_limit_counts_accessible_mappings),
		T(test_find_free_is_top_down_and_avoids_mappings),
		T(test_mmap_flags),
		T(test_file_mapping_past_eof_is_sigbus),
		T(test_brk_grows_shrinks_and_refuses_collisions),
		T(test_mremap_shrinks_grows_and_moves),
		T(test_strcpy_stops_at_faults_and_size),
		T(test_code_protection_follows_the_mark),
		T(test_guest_copy_survives_a_page_taken_away),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
