/* Self-modifying code without fence.i: condo tracks the pages it decoded
 * code from, so a store to one (from this program, or from a system call
 * writing into it) drops the blocks and their translations, and the next
 * call runs the new instructions.  Each function is called often enough to
 * be compiled first (more than the translator's 16 runs). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "t.h"

typedef long (*fn_t)(void);

#define RUNS 40

static uint32_t li_a0(long k) /* addi a0, zero, k */
{
	return 0x00000513u | (uint32_t)(k & 0xfff) << 20;
}
#define RET 0x00008067u /* jalr zero, 0(ra) */

static int all_return(fn_t f, long want)
{
	int ok = 1;

	for (int i = 0; i < RUNS; i++)
		ok &= f() == want;
	return ok;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *code = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile uint32_t *w = (volatile uint32_t *)code;

	CHECK(code != MAP_FAILED);
	/* 1. Rewrite a compiled function's immediate, many times. */
	w[0] = li_a0(1);
	w[1] = RET;
	__builtin___clear_cache((char *)code, (char *)code + 8); /* the first time, as a program would */
	for (long k = 1; k <= 20; k++) {
		w[0] = li_a0(k);
		CHECK(all_return((fn_t)code, k));
	}

	/* 2. Code and data on one page: a store next to the function. */
	w[16] = li_a0(100);
	w[17] = RET;
	for (long k = 100; k < 110; k++) {
		w[64] = (uint32_t)k; /* data on the code page */
		CHECK(all_return((fn_t)(code + 64), k));
		w[16] = li_a0(k + 1);
	}

	/* 3. A system call writes the new code (read() from a pipe). */
	int fds[2];
	CHECK(pipe(fds) == 0);
	for (long k = 200; k < 205; k++) {
		uint32_t insn = li_a0(k);
		CHECK(write(fds[1], &insn, 4) == 4);
		CHECK(read(fds[0], code + 128, 4) == 4);
		w[33] = RET;
		CHECK(all_return((fn_t)(code + 128), k));
	}

	/* 4. An instruction that straddles two pages; only its second half
	 * (the immediate, on the second page) changes. */
	uint8_t *at = code + pg - 2;
	volatile uint16_t *half = (volatile uint16_t *)at;
	half[0] = (uint16_t)li_a0(300);
	half[1] = (uint16_t)(li_a0(300) >> 16);
	half[2] = 0x8082; /* c.jr ra */
	for (long k = 300; k < 306; k++) {
		half[1] = (uint16_t)(li_a0(k) >> 16);
		CHECK(all_return((fn_t)at, k));
	}
	return t_done();
}
