/* trapstorm.c - a guest that retires no instruction: mtvec points at an
 * illegal instruction, so every trap traps again at once; built with
 * -DFETCH (fetchstorm), mtvec points where there is no memory, so every
 * trap is an instruction access fault on the handler's own fetch.
 *
 * With one hart, hart 0 storms: condo must still stop it at --max-insns
 * (exit status 137).  With more, the other harts storm and hart 0 powers
 * the board off with status 0 after a while: condo must stop the storming
 * harts and exit 0.  A hang in either is the bug these tests are for. */
#include "rt.h"

#ifndef FETCH
__attribute__((aligned(4))) static const uint32_t illegal_insn[2] = { 0, 0 };
#endif
static volatile uint32_t storming;

static void storm(void)
{
#ifdef FETCH
	uintptr_t vec = 0x4000; /* nothing at 0x4000 on the virt board */
#else
	uintptr_t vec = (uintptr_t)illegal_insn;
#endif
	__atomic_fetch_add(&storming, 1, __ATOMIC_SEQ_CST);
	__asm__ volatile("csrw mtvec, %0" : : "r"(vec));
	__asm__ volatile(".word 0" ::: "memory"); /* illegal: trap to vec, for ever */
}

void hart_main(uint64_t hartid)
{
	(void)hartid;
	storm();
	rt_park();
}

int main(void)
{
	int ncpus = rt_ncpus();

	if (ncpus == 1)
		storm();
	/* wait (bounded) until the others storm, then power off */
	for (long spin = 0; storming < (uint32_t)(ncpus - 1) && spin < 100000000l; spin++)
		;
	for (volatile long spin = 0; spin < 1000000l; spin++)
		;
	return 0;
}
