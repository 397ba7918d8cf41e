/* Programs that end badly, one way per argument, for the runner to check
 * condo's report and exit status against. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int recurse(volatile char *p)
{
	volatile char buf[4096];
	buf[0] = *p;
	return recurse(buf) + buf[1];
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "segv"))
		*(volatile long *)0 = 1;
	else if (!strcmp(mode, "load"))
		return *(volatile int *)0x1234;
	else if (!strcmp(mode, "ill"))
		__asm__ volatile(".half 0");
	else if (!strcmp(mode, "ebreak"))
		__asm__ volatile("ebreak");
	else if (!strcmp(mode, "stack"))
		return recurse((volatile char *)argv[0]);
	else if (!strcmp(mode, "jump"))
		((void (*)(void))0x40)();
	else if (!strcmp(mode, "abort"))
		abort();
	else if (!strcmp(mode, "memory")) {
		/* grow until something stops us; touch every page */
		for (;;) {
			char *p = malloc(1 << 20);
			if (!p)
				return 3; /* a NULL from malloc is not what --mem does */
			memset(p, 1, 1 << 20);
		}
	} else if (!strcmp(mode, "loop")) {
		for (volatile unsigned long i = 0;; i++)
			;
	} else if (!strcmp(mode, "exit"))
		exit(atoi(argv[2]));
	return 100;
}
