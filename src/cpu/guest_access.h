/* Host accesses to guest memory that survive a host fault.
 *
 * In app mode the host protections of the guest's address space mirror the
 * guest's (src/app/mm.c), and another guest thread may take a page away
 * (munmap, mprotect, mremap) or write-protect it (code was decoded there)
 * while this hart still holds a TLB entry, or a pointer from a fresh
 * translation, for it.  Every access C code makes to guest memory through
 * such a pointer is therefore one of the instructions below: each is listed
 * in an exception table (the section condo_guest_extable, pairs of
 * pc-relative (instruction, fixup) offsets, as Linux does for its user
 * copies), and the environment's SIGSEGV handler moves a fault at one of
 * them to its fixup (cpu_guest_fixup), where the caller translates the
 * address again: the guest's fault, or the page as it is now.  An x86
 * access that faults has written nothing.  In system mode guest RAM never
 * faults and these are plain accesses. */
#ifndef CPU_GUEST_ACCESS_H
#define CPU_GUEST_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
/* One table entry for the instruction at insn whose fault resumes at fixup
 * (assembler expressions). */
#define GUEST_EXTABLE(insn, fixup)                                                         \
	".pushsection condo_guest_extable, \"a\"\n\t.balign 4\n\t.long " insn " - ., " fixup \
	" - .\n\t.popsection\n\t"

#define GUEST_LD_1 "movzbl (%[p]), %k[v]"
#define GUEST_LD_2 "movzwl (%[p]), %k[v]"
#define GUEST_LD_4 "movl (%[p]), %k[v]"
#define GUEST_LD_8 "movq (%[p]), %q[v]"
#define GUEST_ST_1 "movb %b[v], (%[p])"
#define GUEST_ST_2 "movw %w[v], (%[p])"
#define GUEST_ST_4 "movl %k[v], (%[p])"
#define GUEST_ST_8 "movq %q[v], (%[p])"

/* v (a uint64_t lvalue) = the n-byte value at host address p, zero
 * extended (n: a literal 1, 2, 4 or 8); a host fault goes to label fault
 * with v unchanged. */
#define GUEST_LOAD(n, val_, ptr_, fault_)                                                  \
	asm goto("1: " GUEST_LD_##n "\n\t" GUEST_EXTABLE("1b", "%l[" #fault_ "]")            \
		 : [v] "=r"(val_)                                                            \
		 : [p] "r"(ptr_), "m"(*(const char(*)[n])(ptr_))                             \
		 :                                                                           \
		 : fault_)

/* Store the low n bytes of v at host address p; a host fault goes to
 * label fault with nothing written. */
#define GUEST_STORE(n, ptr_, val_, fault_)                                                 \
	asm goto("1: " GUEST_ST_##n "\n\t" GUEST_EXTABLE("1b", "%l[" #fault_ "]")            \
		 : "=m"(*(char(*)[n])(ptr_))                                                 \
		 : [p] "r"(ptr_), [v] "r"((uint64_t)(val_))                                  \
		 :                                                                           \
		 : fault_)
#else
/* Other hosts run no app guest with direct memory (docs/jit.md): plain
 * accesses. */
#define GUEST_LOAD(n, v, p, fault)                                                         \
	do {                                                                               \
		(v) = 0;                                                                   \
		memcpy(&(v), (p), n);                                                      \
		if (0)                                                                     \
			goto fault;                                                        \
	} while (0)
#define GUEST_STORE(n, p, v, fault)                                                        \
	do {                                                                               \
		uint64_t v_ = (v);                                                         \
		memcpy((p), &v_, n);                                                       \
		if (0)                                                                     \
			goto fault;                                                        \
	} while (0)
#endif

/* memcpy where src or dst is guest memory: 0, or -1 when the host faulted
 * (part may have been copied). */
int cpu_guest_copy(void *dst, const void *src, size_t len);

#endif
