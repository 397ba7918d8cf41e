/* hello.c - prints one line and powers off with status 0: the sanity
 * check that the runtime, the console and the test finisher work. */
#include "rt.h"

int main(void)
{
	rt_uart_init();
	rt_puts("vmbad hello\n");
	return 0;
}
