/* The translator's driver: the code cache, compiling hot blocks, running
 * compiled code and chaining blocks to their successors.
 *
 * The cache is one buffer (codebuf.c, W^X): the entry trampoline at the
 * start, then compiled code growing up, and block descriptors growing down
 * from the end.  When the two meet the cache is flushed whole.  A block exit
 * with a static successor ends in a chain check (translate.c) that jumps
 * straight to the successor's code once jit_run has patched it, which it
 * does when that successor is next entered from the exit while compiled. */
#include "jit/jit_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_CACHE (256u << 10)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* enter(hart, limit, code): save the callee-saved registers, set up the
 * frame (translate.c, FRAME_*) and jump to the block.  Blocks leave through
 * the epilogue with rax = exit and rdx = their descriptor. */
static void emit_trampoline(struct jit *jit)
{
	static const int saved[] = { RBP, RBX, R12, R13, R14, R15 };
	struct emit e = { .buf = jit->cb.rw, .pos = 0, .cap = jit->cb.size };

	for (size_t i = 0; i < ARRAY_SIZE(saved); i++)
		x86_push(&e, saved[i]);
	x86_alu_ri(&e, AI_SUB, true, RSP, FRAME_SIZE);
	x86_mov_rr(&e, true, RBX, RDI);
	x86_alu_mr(&e, ALU_MOV, true, RSP, FRAME_LIMIT, RSI);
	x86_jmp_r(&e, RDX);
	jit->epilogue = e.pos;
	x86_alu_ri(&e, AI_ADD, true, RSP, FRAME_SIZE);
	for (size_t i = ARRAY_SIZE(saved); i-- > 0;)
		x86_pop(&e, saved[i]);
	x86_ret(&e);
	jit->code_start = align_up(e.pos, 64);
	jit->enter = (jit_enter_fn)codebuf_exec(&jit->cb, 0);
}

static void note_use(struct jit *jit)
{
	size_t used = jit->code_pos + (jit->cb.size - jit->desc_pos);

	if (used > jit->used_max)
		jit->used_max = used;
}

/* Drop all compiled code.  Blocks still alive (a full cache) go back to
 * being interpreted and counting heat; after a code flush they are dead. */
static void reset(struct jit *jit, bool blocks_alive)
{
	if (blocks_alive) {
		for (size_t off = jit->desc_pos; off + sizeof(struct jit_tb) <= jit->cb.size;
		     off += sizeof(struct jit_tb)) {
			struct jit_tb *tb = (struct jit_tb *)(jit->cb.rw + off);

			tb->block->jit_entry = NULL;
			tb->block->heat = 0;
		}
	}
	if (jit->code_pos > jit->code_start) {
		jit->stats.flushes++;
		codebuf_discard(&jit->cb, jit->code_start);
	}
	jit->code_pos = jit->code_start;
	jit->desc_pos = jit->cb.size;
	jit->prev_tb = NULL;
	jit->used_max = jit->code_start;
	jit->generation++;
}

struct jit *jit_new(size_t cache_bytes)
{
	struct jit *jit = calloc(1, sizeof(*jit));

	if (!jit)
		return NULL;
	if (!cache_bytes)
		cache_bytes = JIT_CACHE_DEFAULT;
	if (cache_bytes < MIN_CACHE)
		cache_bytes = MIN_CACHE;
	cache_bytes = align_up(cache_bytes, 4096);
	if (codebuf_init(&jit->cb, cache_bytes) < 0) {
		free(jit);
		return NULL;
	}
	__builtin_cpu_init();
	jit->has_popcnt = __builtin_cpu_supports("popcnt");
	emit_trampoline(jit);
	jit->code_pos = jit->code_start;
	jit->desc_pos = jit->cb.size;
	jit->used_max = jit->code_start;
	jit->stats.cache_bytes = cache_bytes;
	return jit;
}

void jit_free(struct jit *jit)
{
	if (!jit)
		return;
	lockstep_free(jit->ls);
	codebuf_destroy(&jit->cb);
	free(jit);
}

size_t jit_cache_size(const struct jit *jit)
{
	return jit->cb.size;
}

void jit_flush(struct jit *jit)
{
	reset(jit, false);
}

void *jit_compile(struct jit *jit, struct hart *hart, struct block *block)
{
	uint64_t t0 = now_ns();
	struct jit_tb *tb;
	struct emit e;
	int r;

	if (jit->desc_pos - jit->code_pos < sizeof(*tb) + 256)
		goto full;
	jit->desc_pos -= sizeof(*tb);
	tb = (struct jit_tb *)(jit->cb.rw + jit->desc_pos);
	memset(tb, 0, sizeof(*tb));
	e = (struct emit){ .buf = jit->cb.rw, .pos = jit->code_pos, .cap = jit->desc_pos };
	r = jit_translate(jit, &e, block, tb);
	if (emit_overflowed(&e)) {
		jit->desc_pos += sizeof(*tb);
		goto full;
	}
	if (r < 0) {
		jit->desc_pos += sizeof(*tb);
		jit->stats.blocks_rejected++;
		jit->stats.translate_ns += now_ns() - t0;
		return NULL;
	}
	tb->block = block;
	tb->code = (uint32_t)jit->code_pos;
	tb->code_bytes = (uint32_t)(e.pos - jit->code_pos);
	jit->code_pos = align_up(e.pos, 16);
	note_use(jit);
	jit->stats.blocks_compiled++;
	jit->stats.insns_compiled += block->n;
	jit->stats.code_bytes += tb->code_bytes;
	jit->stats.translate_ns += now_ns() - t0;
	return codebuf_exec(&jit->cb, tb->code);

full:
	/* Flushed whole; this block is compiled again once hot again. */
	reset(jit, true);
	block->jit_entry = NULL;
	block->heat = 0;
	jit->stats.translate_ns += now_ns() - t0;
	return NULL;
}

/* Make exit k of tb jump to the compiled code of next while the TLB epoch
 * stays what it is now. */
static void chain(struct jit *jit, struct hart *hart, struct jit_tb *tb, int k, struct block *next)
{
	uint8_t *rw = jit->cb.rw;
	uint64_t epoch = hart->tlb_epoch;
	uint32_t n = tb->block->n + next->n;
	size_t target = (size_t)((uint8_t *)next->jit_entry - jit->cb.rx);
	int32_t rel = (int32_t)((int64_t)target - (int64_t)(tb->site_jmp[k] + 4));

	memcpy(rw + tb->site_epoch[k], &epoch, 8);
	memcpy(rw + tb->site_n[k], &n, 4);
	memcpy(rw + tb->site_jmp[k], &rel, 4);
	jit->stats.chains++;
}

int jit_run(struct jit *jit, struct hart *hart, struct block **block, uint64_t limit)
{
	struct jit_tb *prev = jit->prev_tb;
	struct block *b = *block;
	struct jit_ret r;

	if (prev) {
		int k = jit->prev_exit;

		if (prev->site_jmp[k] && prev->target[k] == b->pc)
			chain(jit, hart, prev, k, b);
	}
	r = jit->enter(hart, limit, b->jit_entry);
	if (r.exit == JIT_EXIT_TRAP) {
		jit->prev_tb = NULL;
		return JIT_EXIT_TRAP;
	}
	jit->prev_tb = r.tb;
	jit->prev_exit = (int)r.exit;
	*block = r.tb->block;
	return (int)r.exit;
}

void jit_stats(const struct jit *jit, struct jit_stats *out)
{
	*out = jit->stats;
	out->host_bytes = align_up(jit->used_max, 4096);
}
