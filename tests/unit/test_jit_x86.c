/* The x86-64 code the translator emits, decoded by an independent
 * disassembler (Zydis, Debian package libzydis-dev): representative blocks
 * (an add, a load with the inline TLB check and its slow path, a branch
 * with its chainable exits) must be exactly the intended instruction
 * sequences, every byte must decode, and every jump must land on an
 * instruction of the block or on the shared epilogue.
 *
 * libZydis is opened with dlopen(), so this test needs the library's
 * headers at build time but no link flag.  JIT_X86_SHOW=1 prints the
 * listings of the load and branch blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <inttypes.h>

#include <Zydis/Zydis.h>

#include "test_jit_common.h"
#include "cpu/tlb.h"
#include "jit/jit_internal.h"

static __typeof__(ZydisDisassembleIntel) *disassemble;

struct line {
	uint32_t off, len;
	char text[96];
};

#define MAX_LINES 400

struct listing {
	struct line l[MAX_LINES];
	int n;
	uint32_t start, end; /* buffer offsets of the block's code */
};

static int load_zydis(void **state)
{
	void *lib = dlopen("libZydis.so.4.0", RTLD_NOW);

	if (!lib)
		lib = dlopen("libZydis.so", RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "cannot load libZydis (Debian package libzydis4.0): %s\n",
			dlerror());
		return -1;
	}
	disassemble = (__typeof__(disassemble))dlsym(lib, "ZydisDisassembleIntel");
	return disassemble ? 0 : -1;
}

/* Compile the block and decode its code; offsets are buffer offsets. */
static void compile_listing(struct jit *jit, struct hart *h, const uint32_t *code, uint32_t n,
			    struct listing *out)
{
	struct block *b = make_block(code, n);
	struct jit_tb *tb;

	jit_flush(jit);
	b->jit_entry = jit_compile(jit, h, b);
	assert_non_null(b->jit_entry);
	tb = (struct jit_tb *)(jit->cb.rw + jit->desc_pos);
	assert_ptr_equal(tb->block, b);
	out->start = tb->code;
	out->end = tb->code + tb->code_bytes;
	out->n = 0;
	for (uint32_t off = out->start; off < out->end;) {
		ZydisDisassembledInstruction insn;
		struct line *l = &out->l[out->n];

		assert_true(out->n < MAX_LINES);
		if (!ZYAN_SUCCESS(disassemble(ZYDIS_MACHINE_MODE_LONG_64, off, jit->cb.rx + off,
					      out->end - off, &insn)))
			fail_msg("undecodable bytes at offset 0x%x", off);
		l->off = off;
		l->len = insn.info.length;
		snprintf(l->text, sizeof(l->text), "%s", insn.text);
		off += insn.info.length;
		out->n++;
	}
	free(b);
}

static void print_listing(const struct listing *ls)
{
	for (int i = 0; i < ls->n; i++)
		fprintf(stderr, "  %5x  %s\n", ls->l[i].off, ls->l[i].text);
}

static int line_at(const struct listing *ls, uint32_t off)
{
	for (int i = 0; i < ls->n; i++)
		if (ls->l[i].off == off)
			return i;
	return -1;
}

/* Every direct jump goes to an instruction boundary of the block, or to
 * the epilogue; returns the number of jumps seen. */
static int check_jumps(const struct listing *ls, size_t epilogue)
{
	int jumps = 0;

	for (int i = 0; i < ls->n; i++) {
		const char *t = ls->l[i].text;
		unsigned long long target;

		if (t[0] != 'j' || !strstr(t, " 0x"))
			continue;
		target = strtoull(strstr(t, " 0x") + 1, NULL, 16);
		jumps++;
		if (target == epilogue)
			continue;
		if (target < ls->start || target >= ls->end || line_at(ls, (uint32_t)target) < 0) {
			print_listing(ls);
			fail_msg("%s at 0x%x jumps into the middle of nowhere", t, ls->l[i].off);
		}
	}
	return jumps;
}

/* Compare lines from index at with want[]; "*" matches any one line. */
static void expect_lines(const struct listing *ls, int at, const char *const *want, int n)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(want[i], "*"))
			continue;
		if (at + i >= ls->n || strcmp(ls->l[at + i].text, want[i])) {
			print_listing(ls);
			fail_msg("line %d: got \"%s\", want \"%s\"", at + i,
				 at + i < ls->n ? ls->l[at + i].text : "(end)", want[i]);
		}
	}
}

static char buf[64][96];
static int nbuf;

/* A formatted expected line (offsets into struct hart change with it). */
static const char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = buf[nbuf++ % 64];

	va_start(ap, f);
	vsnprintf(s, 96, f, ap);
	va_end(ap);
	return s;
}

#define XOFF(r) (unsigned)(offsetof(struct hart, x) + 8 * (r))
#define HOFF(f) (unsigned)offsetof(struct hart, f)

/* The target of the jump at line i. */
static uint64_t target_of(const struct listing *ls, int i)
{
	const char *t = strstr(ls->l[i].text, " 0x");

	if (ls->l[i].text[0] != 'j' || !t)
		fail_msg("line %d is not a direct jump: %s", i, ls->l[i].text);
	return strtoull(t + 1, NULL, 16);
}

static void test_add_is_a_load_an_add_from_memory_and_a_writeback(void **state)
{
	static const uint32_t code[] = { 0x007302b3 }; /* add t0, t1, t2 (no homes) */
	struct hart *h = hart_new(&flat_env, NULL);
	struct jit *jit = jit_new(0);
	static struct listing ls;

	compile_listing(jit, h, code, 1, &ls);
	const char *const want[] = {
		fmt("mov r10, [rbx+0x%X]", XOFF(6)),
		"mov r11, r10",
		/* a2 is not cached: an operand from memory, no register for it */
		fmt("add r11, [rbx+0x%X]", XOFF(7)),
		fmt("mov [rbx+0x%X], r11", XOFF(5)),
		/* the fall-through exit's chain check */
		/* stop_request and irq_check */
		fmt("cmp qword ptr [rbx+0x%X], 0x00", HOFF(stop_request)),
		"*", /* jnz slow */
		"cmp r15, 0xFFFFFFFFFFFFFFFF", /* the budget, patched when chained */
		"*", /* jb slow */
		"sub r15, 0x01",
		"*", /* jmp, patched to the successor */
		"add r15, 0x01", /* unpatched, it lands here: the budget is given back */
		fmt("mov eax, 0x%X", CODE + 4),
		fmt("mov [rbx+0x%X], rax", HOFF(pc)),
		"xor eax, eax", /* JIT_EXIT_FALLTHROUGH */
		"*",            /* mov rdx, descriptor */
		"*",            /* jmp epilogue */
	};
	expect_lines(&ls, 0, want, ARRAY_SIZE(want));
	assert_int_equal(ls.n, ARRAY_SIZE(want));
	/* the checks go to the slow path, the unpatched chain jump just before it */
	assert_int_equal(target_of(&ls, 5), ls.l[11].off);
	assert_int_equal(target_of(&ls, 7), ls.l[11].off);
	assert_int_equal(target_of(&ls, 9), ls.l[10].off);
	assert_int_equal(target_of(&ls, 15), jit->epilogue);
	check_jumps(&ls, jit->epilogue);
	jit_free(jit);
	hart_free(h);
}

/* Registers with a home (jit_homes: a0 in rbp, a1 in rdi) are in it at
 * every entry and exit: neither loaded nor written back. */
static void test_home_registers_are_neither_loaded_nor_written_back(void **state)
{
	static const uint32_t code[] = { 0x00b50533 }; /* add a0, a0, a1 */
	struct hart *h = hart_new(&flat_env, NULL);
	struct jit *jit = jit_new(0);
	static struct listing ls;

	compile_listing(jit, h, code, 1, &ls);
	const char *const want[] = {
		"add rbp, rdi",
		fmt("cmp qword ptr [rbx+0x%X], 0x00", HOFF(stop_request)),
	};
	expect_lines(&ls, 0, want, ARRAY_SIZE(want));
	for (int i = 0; i < ls.n; i++)
		assert_null(strstr(ls.l[i].text, fmt("[rbx+0x%X]", XOFF(10))));
	check_jumps(&ls, jit->epilogue);
	jit_free(jit);
	hart_free(h);
}

/* ld a0, 8(a1) in app mode, up to the TLB check's branch to the slow path:
 * rcx = &tlbs[U].e[ACC_READ][(addr >> 12) & 255] - tlbs (an app-mode hart's
 * TLB is always its U set, inside the hart), then the page of the last byte
 * must be the entry's page. */
#define LD_TLB_CHECK                                                                    \
	fmt("mov r10, [rbx+0x%X]", XOFF(6)), "lea rax, [r10+0x08]", "mov rcx, rax",   \
		"shr rcx, 0x08", "and ecx, 0xFF0", "add rcx, rbx", "lea rdx, [rax+0x07]",  \
		"and rdx, 0xFFFFFFFFFFFFF000", fmt("cmp rdx, [rcx+0x%X]", HOFF(tlbs)),    \
		"*" /* jnz slow path */

static void test_load_has_the_inline_tlb_check_and_a_slow_path(void **state)
{
	static const uint32_t code[] = { 0x00833283 }; /* ld t0, 8(t1) */
	struct hart *h = hart_new(&flat_env, NULL);
	struct jit *jit = jit_new(0);
	static struct listing ls;
	int stub, join;

	compile_listing(jit, h, code, 1, &ls);
	const char *const want[] = {
		LD_TLB_CHECK,
		/* host = addr + addend */
		fmt("add rax, [rcx+0x%X]", HOFF(tlbs) + 8),
		"mov r11, [rax]",
		fmt("mov [rbx+0x%X], r11", XOFF(5)),
	};
	expect_lines(&ls, 0, want, ARRAY_SIZE(want));
	/* the miss goes to the slow path, which calls mem_load_slow(hart, addr, 8, &val) */
	stub = line_at(&ls, (uint32_t)target_of(&ls, 9));
	assert_true(stub > 12);
	const char *const slow[] = {
		/* the caller-saved cache registers: homes and t0, t1 */
		"mov [rsp+0x10], rsi", "mov [rsp+0x18], rdi", "mov [rsp+0x20], r8",
		"mov [rsp+0x28], r9", "mov [rsp+0x30], r10", "mov [rsp+0x38], r11",
		"lea rcx, [rsp+0x08]",
		"mov rdi, rbx",
		"mov rsi, rax",
		"mov edx, 0x08",
		fmt("mov rax, 0x%" PRIX64, (uint64_t)(uintptr_t)mem_load_slow),
		"call rax",
		"mov rsi, [rsp+0x10]", "mov rdi, [rsp+0x18]", "mov r8, [rsp+0x20]",
		"mov r9, [rsp+0x28]", "mov r10, [rsp+0x30]", "mov r11, [rsp+0x38]",
		"test eax, eax",
		"*", /* jz loaded */
	};
	expect_lines(&ls, stub, slow, ARRAY_SIZE(slow));
	/* a fault: pc of the load, instret unchanged, exit TRAP */
	const char *const trap[] = {
		fmt("mov eax, 0x%X", CODE),
		fmt("mov [rbx+0x%X], rax", HOFF(pc)),
		"mov eax, 0x02",
		"*", /* jmp epilogue */
		"mov r11, [rsp+0x08]",
		"*", /* jmp back */
	};
	expect_lines(&ls, stub + ARRAY_SIZE(slow), trap, ARRAY_SIZE(trap));
	assert_int_equal(target_of(&ls, stub + ARRAY_SIZE(slow) - 1),
			 ls.l[stub + ARRAY_SIZE(slow) + 4].off);
	assert_int_equal(target_of(&ls, stub + ARRAY_SIZE(slow) + 3), jit->epilogue);
	/* ... and back to just after the fast path's load */
	join = line_at(&ls, (uint32_t)target_of(&ls, stub + ARRAY_SIZE(slow) + 5));
	assert_int_equal(join, 12);
	check_jumps(&ls, jit->epilogue);
	if (getenv("JIT_X86_SHOW")) print_listing(&ls);
	jit_free(jit);
	hart_free(h);
}

/* App mode (every page at reservation + guest address): the host address is
 * the guest address plus that constant, not the entry's addend, so the
 * access does not wait for the TLB load; the entry is still checked. */
static void test_flat_load_adds_the_constant_after_the_check(void **state)
{
	static const uint32_t code[] = { 0x00833283 }; /* ld t0, 8(t1) */
	struct hart *h = hart_new(&flat_env, NULL);
	struct jit *jit = jit_new(0);
	static struct listing ls;
	uintptr_t base = (uintptr_t)mem - MEM_BASE;

	h->flat_addend = base;
	compile_listing(jit, h, code, 1, &ls);
	const char *const want[] = {
		LD_TLB_CHECK,
		fmt("mov rcx, 0x%" PRIX64, (uint64_t)base),
		"add rax, rcx",
		"mov r11, [rax]",
	};
	expect_lines(&ls, 0, want, ARRAY_SIZE(want));
	check_jumps(&ls, jit->epilogue);
	jit_free(jit);
	hart_free(h);
}

/* App mode with direct memory: a bound check, then one access at the
 * reservation + the guest address; a host fault at that access resumes at
 * the same slow path as the bound check's jump (jit_fault_resume). */
static void test_direct_load_is_a_bound_check_and_one_access(void **state)
{
	static const uint32_t code[] = { 0x00833283 }; /* ld t0, 8(t1) */
	struct hart *h = hart_new(&flat_env, NULL);
	struct jit *jit = jit_new(0);
	static struct listing ls;
	static const bool yes = true;
	uintptr_t base = (uintptr_t)mem - MEM_BASE;

	h->flat_addend = base;
	h->mem_direct = &yes;
	h->mem_size = 1ull << 32;
	compile_listing(jit, h, code, 1, &ls);
	const char *const want[] = {
		fmt("mov r10, [rbx+0x%X]", XOFF(6)),
		"lea rax, [r10+0x08]",
		fmt("cmp rax, [rbx+0x%X]", HOFF(mem_size)),
		"*", /* jnb slow path */
		fmt("mov rcx, 0x%" PRIX64, (uint64_t)base),
		"mov r11, [rax+rcx*1]",
		fmt("mov [rbx+0x%X], r11", XOFF(5)),
	};
	expect_lines(&ls, 0, want, ARRAY_SIZE(want));
	assert_non_null(strstr(ls.l[3].text, "jnb "));
	uintptr_t rx = (uintptr_t)jit->cb.rx;
	assert_int_equal(jit_fault_resume(jit, rx + ls.l[5].off), rx + target_of(&ls, 3));
	for (int i = 0; i < ls.n; i++)
		if (i != 5)
			assert_int_equal(jit_fault_resume(jit, rx + ls.l[i].off), 0);
	assert_int_equal(jit_fault_resume(jit, (uintptr_t)&base), 0);
	/* the slow path makes the access through mem_load_slow */
	int stub = line_at(&ls, (uint32_t)target_of(&ls, 3));
	assert_string_equal(ls.l[stub + 8].text, "mov rsi, rax");
	check_jumps(&ls, jit->epilogue);
	/* a flush forgets the sites with the code */
	jit_flush(jit);
	assert_int_equal(jit_fault_resume(jit, rx + ls.l[5].off), 0);
	if (getenv("JIT_X86_SHOW")) print_listing(&ls);
	jit_free(jit);
	hart_free(h);
}

/* In system mode the chain check also compares the TLB context. */
static void test_branch_compares_and_has_two_chainable_exits(void **state)
{
	static const uint32_t code[] = {
		0x00128293, /* addi t0, t0, 1 */
		0x00628863, /* beq t0, t1, +16 */
	};
	struct hart *h = hart_new(&flat_env, NULL);
	struct jit *jit = jit_new(0);
	static struct listing ls;
	int taken, exits = 0;
	struct jit_tb *tb;

	h->system = true;
	compile_listing(jit, h, code, 2, &ls);
	const char *const want[] = {
		fmt("mov r10, [rbx+0x%X]", XOFF(5)),
		"add r10, 0x01",
		fmt("mov r11, [rbx+0x%X]", XOFF(6)),
		"cmp r10, r11",
		fmt("mov [rbx+0x%X], r10", XOFF(5)), /* written back between cmp and jz */
		"*",                                  /* jz taken */
		fmt("cmp qword ptr [rbx+0x%X], 0x00", HOFF(stop_request)),
	};
	expect_lines(&ls, 0, want, ARRAY_SIZE(want));
	assert_non_null(strstr(ls.l[5].text, "jz "));
	taken = line_at(&ls, (uint32_t)target_of(&ls, 5));
	assert_true(taken > 6);
	/* both exits: the chain check, then pc = target and the exit code */
	for (int i = 0; i < ls.n; i++)
		if (!strcmp(ls.l[i].text, fmt("mov [rbx+0x%X], rax", HOFF(pc)))) {
			const char *pc = ls.l[i - 1].text, *code = ls.l[i + 1].text;

			if (exits == 0) {
				assert_string_equal(pc, fmt("mov eax, 0x%X", CODE + 8));
				assert_string_equal(code, "xor eax, eax");
			} else {
				assert_string_equal(pc, fmt("mov eax, 0x%X", CODE + 4 + 16));
				assert_string_equal(code, "mov eax, 0x01");
			}
			exits++;
		}
	assert_int_equal(exits, 2);
	assert_string_equal(ls.l[taken].text,
			    fmt("cmp qword ptr [rbx+0x%X], 0x00", HOFF(stop_request)));
	/* the descriptor knows both successors and where to patch */
	tb = (struct jit_tb *)(jit->cb.rw + jit->desc_pos);
	assert_int_equal(tb->target[0], CODE + 8);
	assert_int_equal(tb->target[1], CODE + 20);
	for (int k = 0; k < 2; k++) {
		int jmp = line_at(&ls, tb->site_jmp[k] - 1);
		int cmp = line_at(&ls, tb->site_n[k] - 3);
		int ctx = line_at(&ls, tb->site_ctx[k] - 6);

		assert_true(jmp > 0 && ls.l[jmp].text[0] == 'j');
		assert_string_equal(ls.l[cmp].text, "cmp r15, 0xFFFFFFFFFFFFFFFF");
		assert_string_equal(ls.l[ctx].text,
				    fmt("cmp dword ptr [rbx+0x%X], 0x00", HOFF(tlb)));
	}
	check_jumps(&ls, jit->epilogue);
	if (getenv("JIT_X86_SHOW")) print_listing(&ls);
	jit_free(jit);
	hart_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_is_a_load_an_add_from_memory_and_a_writeback),
		cmocka_unit_test(test_home_registers_are_neither_loaded_nor_written_back),
		cmocka_unit_test(test_load_has_the_inline_tlb_check_and_a_slow_path),
		cmocka_unit_test(test_branch_compares_and_has_two_chainable_exits),
		cmocka_unit_test(test_flat_load_adds_the_constant_after_the_check),
		cmocka_unit_test(test_direct_load_is_a_bound_check_and_one_access),
	};
	return cmocka_run_group_tests(tests, load_zydis, NULL);
}
