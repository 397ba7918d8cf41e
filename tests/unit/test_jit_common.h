/* Shared by the translator's unit tests: a flat guest memory, decoded blocks
 * built from raw encodings, and running one block interpreted or compiled. */
#ifndef TEST_JIT_COMMON_H
#define TEST_JIT_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "condo/cpu.h"
#include "condo/engine.h"
#include "condo/jit.h"
#include "cpu/interp.h"
#include "cpu/block.h"
#include "cpu/decode.h"
#include "cpu/priv.h"

/* Guest memory: 64 KiB at 0x10000; code in its first page.  The last page
 * is read-only, so stores there fault after the page was read. */
#define MEM_BASE  0x10000u
#define MEM_SIZE  0x10000u
#define CODE      MEM_BASE
#define DATA      (MEM_BASE + 0x1000u)
#define RO_PAGE   (MEM_BASE + MEM_SIZE - 0x1000u)

static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));

static inline int flat_fill(struct hart *hart, gva_t page, enum mem_access access, uint8_t **host)
{
	(void)hart;
	if (page < MEM_BASE || page >= MEM_BASE + MEM_SIZE)
		return -1;
	if (page == RO_PAGE && access == ACC_WRITE)
		return -1;
	*host = mem + (page - MEM_BASE);
	return 0;
}

static const struct hart_env_ops flat_env = { .fill = flat_fill };

/* A decoded block of the n instructions in code[] (raw words; a word whose
 * low two bits are not 11 is a 16-bit instruction) at CODE, as block_build
 * makes it; also written to guest memory. */
static inline struct block *make_block(const uint32_t *code, uint32_t n)
{
	struct block *b = calloc(1, sizeof(*b) + (n + 1) * sizeof(struct insn));
	uint32_t off = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct insn *ip = &b->insns[i];
		uint32_t raw = code[i];

		if ((raw & 3) != 3) {
			uint16_t c = (uint16_t)raw;
			insn_decode(ip, rvc_expand(c), CODE + off);
			ip->len = 2;
			memcpy(mem + off, &c, 2);
		} else {
			insn_decode(ip, raw, CODE + off);
			memcpy(mem + off, &raw, 4);
		}
		ip->off = (uint16_t)off;
		off += ip->len;
	}
	b->pc = CODE;
	b->host = mem;
	b->n = n;
	b->bytes = off;
	b->insns[n].off = (uint16_t)off;
	return b;
}

/* Run the first n instructions of a block interpreted: engine_run on a
 * hart without a translator, stopped by the instruction limit.  Returns true when it trapped
 * inside them (a trap after them is the next block's fetch). */
static inline bool run_interp(struct hart *h, uint32_t n)
{
	enum cpu_exit r;

	cpu_code_flush(h); /* the code at CODE changes between cases */
	h->insn_limit = h->instret + n;
	r = engine_run(h);
	return r == CPU_EXIT_TRAP && h->instret < h->insn_limit;
}

/* Run one compiled block; the limit keeps it from chaining.  Returns the
 * jit_exit, and counts the instructions it ran in instret when it ran to
 * its end or up to its last instruction (JIT_EXIT_PARTIAL: n is then
 * b->n - 1). */
static inline int run_jit(struct jit *jit, struct hart *h, struct block *b, uint32_t n)
{
	struct block *last = b;
	int r = jit_run(jit, h, &last, h->instret + b->n);

	if (r != JIT_EXIT_TRAP) {
		if (last != b)
			return -1;
		h->instret += n;
	}
	return r;
}

#endif
