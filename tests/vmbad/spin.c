/* spin.c - loops forever: the watchdog test (--max-insns must end it with
 * status 137) and the valid kernel behind the bad-option tests. */
#include "rt.h"

int main(void)
{
	for (;;)
		__asm__ volatile("nop");
}
