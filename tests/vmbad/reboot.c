/* reboot.c - reboots the board through the test finisher (0x7777) as soon
 * as it starts, forever.  condo rebuilds the VM on each reset; --max-insns
 * must still bound the run (exit status 137), or a guest could keep a
 * watchdog-limited condo busy for ever. */
#include "rt.h"

int main(void)
{
	for (;;)
		mmio_write(TEST_BASE, 4, 0x7777);
}
