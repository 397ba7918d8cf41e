/* The exception table of guest_access.h and the fault-tolerant copy. */
#include "condo/cpu.h"
#include "cpu/guest_access.h"

struct guest_extable_entry {
	int32_t insn, fixup; /* each relative to its own address */
};

/* The linker's bounds of the section (a C identifier, so it makes them). */
extern const struct guest_extable_entry __start_condo_guest_extable[];
extern const struct guest_extable_entry __stop_condo_guest_extable[];

uintptr_t cpu_guest_fixup(uintptr_t pc)
{
	/* A few dozen entries, searched from a signal handler: no sorting,
	 * no allocation. */
	for (const struct guest_extable_entry *e = __start_condo_guest_extable;
	     e < __stop_condo_guest_extable; e++)
		if ((uintptr_t)&e->insn + (intptr_t)e->insn == pc)
			return (uintptr_t)&e->fixup + (intptr_t)e->fixup;
	return 0;
}

#if defined(__x86_64__)
/* memcpy that a fault in guest memory ends early: rep movsb is one
 * instruction, so one table entry covers the whole copy. */
__asm__(".pushsection .text\n"
	".globl cpu_guest_copy\n"
	".type cpu_guest_copy,@function\n"
	"cpu_guest_copy:\n"
	"\tmov %rdx, %rcx\n"
	"1:\trep movsb\n"
	"\txor %eax, %eax\n"
	"\tret\n"
	"2:\tmov $-1, %eax\n"
	"\tret\n"
	".size cpu_guest_copy, .-cpu_guest_copy\n"
	GUEST_EXTABLE("1b", "2b")
	".popsection\n");
#else
int cpu_guest_copy(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	return 0;
}
#endif
