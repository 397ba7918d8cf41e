/* Tiny check helpers for the app-mode test programs (riscv64 guests).
 * CHECK prints the failing expression with its line and counts it; every
 * program ends with `return t_done();`, exit status 0 only when all passed. */
#ifndef T_H
#define T_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int t_failed, t_checked;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		t_checked++;                                                           \
		if (!(cond)) {                                                         \
			t_failed++;                                                    \
			printf("FAIL %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #cond, \
			       errno, strerror(errno));                                \
			fflush(stdout);                                                \
		}                                                                      \
	} while (0)

static inline int t_done(void)
{
	printf("%s: %d checks, %d failed\n", t_failed ? "FAIL" : "PASS", t_checked, t_failed);
	return t_failed ? 1 : 0;
}

#endif
