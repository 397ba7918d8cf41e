/* The translator's driver: the code cache, compiling hot blocks, running
 * compiled code and chaining blocks to their successors.
 *
 * The cache is one buffer (codebuf.c, W^X): the entry trampoline at the
 * start, then compiled code growing up, and block descriptors growing down
 * from the end.  When the two meet the cache is flushed whole.  A block exit
 * with a static successor ends in a chain check (translate.c) that jumps
 * straight to the successor's code once jit_run has patched it, which it
 * does when that successor is next entered from the exit while compiled.
 * The engine (src/engine) decides when to compile and when to run.
 *
 * fork(): the code buffer is not inherited (codebuf.c).  A page marked
 * MADV_WIPEONFORK reads as zero in a child, which then drops its compiled
 * code and starts a buffer of its own the first time it calls in. */
#define _GNU_SOURCE /* mremap */
#include "jit/jit_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* With CONDO_PERF_MAP set in condo's environment, every compiled block is
 * listed in /tmp/perf-PID.map (the format perf reads for JIT code), named
 * by its guest pc, so `perf report` shows which guest code is hot. */
static FILE *perf_map(void)
{
	static FILE *f;
	static pid_t pid;
	char path[64];

	if (!getenv("CONDO_PERF_MAP"))
		return NULL;
	if (f && pid == getpid())
		return f;
	pid = getpid(); /* a fork child writes a map of its own */
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	f = fopen(path, "a");
	if (f)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int32_t home_off(int i)
{
	return (int32_t)(offsetof(struct hart, x) + 8 * (size_t)jit_homes[i].g);
}

/* enter(hart, limit, code, ind): save the callee-saved registers, set up
 * the frame (jit_internal.h, FRAME_*) and the budget (r15 = limit -
 * instret), and jump to the block.  Blocks leave through the epilogue with rax =
 * exit and rdx = their descriptor; it stores instret = limit - budget. */
static void emit_trampoline(struct jit *jit)
{
	static const int saved[] = { RBP, RBX, R12, R13, R14, R15 };
	struct emit e = { .buf = jit->cb.rw, .pos = 0, .cap = jit->cb.size };

	for (size_t i = 0; i < ARRAY_SIZE(saved); i++)
		x86_push(&e, saved[i]);
	x86_alu_ri(&e, AI_SUB, true, RSP, FRAME_SIZE);
	x86_mov_rr(&e, true, RBX, RDI);
	x86_alu_mr(&e, ALU_MOV, true, RSP, FRAME_LIMIT, RSI);
	x86_alu_mr(&e, ALU_MOV, true, RSP, FRAME_IND, RCX);
	x86_mov_rr(&e, true, R15, RSI);
	x86_alu_rm(&e, ALU_SUB, true, R15, RBX, (int32_t)offsetof(struct hart, instret));
	for (int i = 0; i < JIT_HOMES; i++) /* after rsi and rdi were read */
		x86_alu_rm(&e, ALU_MOV, true, jit_homes[i].h, RBX, home_off(i));
	x86_jmp_r(&e, RDX);
	jit->epilogue = e.pos;
	for (int i = 0; i < JIT_HOMES; i++)
		x86_alu_mr(&e, ALU_MOV, true, RBX, home_off(i), jit_homes[i].h);
	x86_alu_rm(&e, ALU_MOV, true, RCX, RSP, FRAME_LIMIT);
	x86_alu_rr(&e, ALU_SUB, true, RCX, R15);
	x86_alu_mr(&e, ALU_MOV, true, RBX, (int32_t)offsetof(struct hart, instret), RCX);
	x86_alu_ri(&e, AI_ADD, true, RSP, FRAME_SIZE);
	for (size_t i = ARRAY_SIZE(saved); i-- > 0;)
		x86_pop(&e, saved[i]);
	x86_ret(&e);
	jit->code_start = align_up(e.pos, 64);
	jit->enter = (jit_enter_fn)codebuf_exec(&jit->cb, 0);
	jit->code_hw = jit->code_start;
	jit->desc_hw = 0;
}

/* memfd pages stay allocated once written: the high-water marks of both
 * ends are the host memory the cache holds. */
static void note_use(struct jit *jit)
{
	if (jit->code_pos > jit->code_hw)
		jit->code_hw = jit->code_pos;
	if (jit->cb.size - jit->desc_pos > jit->desc_hw)
		jit->desc_hw = jit->cb.size - jit->desc_pos;
}

#define IND_BYTES ((size_t)TLB_SETS * JIT_IND_SIZE * sizeof(struct jit_ind))

static void clear_ind(struct jit *jit, int ctx)
{
	struct jit_ind *t = jit->ind + (size_t)ctx * JIT_IND_SIZE;

	for (size_t i = 0; i < JIT_IND_SIZE; i++) {
		t[i].pc = 1;
		t[i].code = NULL;
	}
	jit->ind_epoch[ctx] = UINT64_MAX; /* cleared: valid in any epoch */
}

/* A new translator's tables are fresh zero pages, not yet valid (pc 0 is
 * a real pc): each is cleared when its context first runs compiled code
 * (ind_table), so a hart does not fault in every context's table before
 * its first instruction.  Until then nothing has written it, and a reset
 * (a restore flushes the new harts' code) leaves it so. */
#define IND_UNCLEARED (UINT64_MAX - 1)

static void clear_all_ind(struct jit *jit)
{
	for (int set = 0; set < TLB_SETS; set++)
		if (jit->ind_epoch[set] != IND_UNCLEARED)
			clear_ind(jit, set);
}

static void defer_clear_all_ind(struct jit *jit)
{
	for (int set = 0; set < TLB_SETS; set++)
		jit->ind_epoch[set] = IND_UNCLEARED;
}

/* Drop all compiled code.  Blocks still alive (a full cache, a fork) go
 * back to being interpreted and counting heat; after a code flush they are
 * dead and not touched. */
static void reset(struct jit *jit, bool blocks_alive)
{
	if (blocks_alive) {
		for (size_t i = 0; i < jit->nblocks; i++) {
			jit->blocks[i]->jit_entry = NULL;
			jit->blocks[i]->heat = 0;
		}
	}
	if (jit->code_pos > jit->code_start)
		jit->stats.flushes++;
	jit->nblocks = 0;
	jit->nchained = 0;
	jit->nsites = 0;
	clear_all_ind(jit);
	jit->code_pos = jit->code_start;
	jit->desc_pos = jit->cb.size;
	jit->prev_tb = NULL;
	jit->generation++;
}

/* Double an array of *cap elements (at first 1024).  The translator's
 * growing arrays are mapped, not taken from the heap: a hart thread's
 * arena that shrinks after a large free makes glibc read
 * /proc/sys/vm/overcommit_memory, an openat the jail forbids. */
static bool grow(void *array, size_t *cap, size_t elem)
{
	void **p = array;
	size_t ncap = *cap ? 2 * *cap : 1024;
	void *q = *cap ? mremap(*p, *cap * elem, ncap * elem, MREMAP_MAYMOVE)
		       : mmap(NULL, ncap * elem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);

	if (q == MAP_FAILED)
		return false;
	*p = q;
	*cap = ncap;
	return true;
}

static void unmap_array(void *p, size_t cap, size_t elem)
{
	if (cap)
		munmap(p, cap * elem);
}

static bool remember(struct jit *jit, struct block *b)
{
	if (jit->nblocks == jit->blocks_cap &&
	    !grow(&jit->blocks, &jit->blocks_cap, sizeof(*jit->blocks)))
		return false;
	jit->blocks[jit->nblocks++] = b;
	return true;
}

/* In a fork() child: the code buffer stayed with the parent. */
static bool forked(const struct jit *jit)
{
	return __builtin_expect(!*jit->fork_marker, 0);
}

static void after_fork(struct jit *jit);

bool jit_check_fork(struct jit *jit)
{
	if (!forked(jit))
		return false;
	after_fork(jit);
	return true;
}

static void after_fork(struct jit *jit)
{
	size_t size = jit->cb.size;

	reset(jit, true);
	codebuf_forget(&jit->cb);
	if (codebuf_init(&jit->cb, size) == 0) {
		emit_trampoline(jit);
		jit->disabled = false;
	} else {
		jit->disabled = true; /* no memory for code: everything is interpreted */
	}
	jit->code_pos = jit->code_start;
	jit->desc_pos = jit->cb.size;
	*jit->fork_marker = 1;
}

struct jit *jit_new(size_t cache_bytes)
{
	struct jit *jit = calloc(1, sizeof(*jit));

	if (!jit)
		return NULL;
	if (!cache_bytes)
		cache_bytes = JIT_CACHE_DEFAULT;
	if (cache_bytes < JIT_CACHE_MIN)
		cache_bytes = JIT_CACHE_MIN;
	if (cache_bytes > JIT_CACHE_MAX)
		cache_bytes = JIT_CACHE_MAX;
	cache_bytes = align_up(cache_bytes, 4096);
	/* mapped, not from the heap: freeing 112 KiB from a thread's arena
	 * makes glibc shrink it and read /proc/sys/vm/overcommit_memory,
	 * which the jail does not allow */
	jit->ind = mmap(NULL, IND_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (jit->ind == MAP_FAILED) {
		free(jit);
		return NULL;
	}
	defer_clear_all_ind(jit);
	jit->fork_marker = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	if (jit->fork_marker == MAP_FAILED) {
		munmap(jit->ind, IND_BYTES);
		free(jit);
		return NULL;
	}
	if (madvise((void *)jit->fork_marker, 4096, MADV_WIPEONFORK) < 0 ||
	    codebuf_init(&jit->cb, cache_bytes) < 0) {
		munmap((void *)jit->fork_marker, 4096);
		munmap(jit->ind, IND_BYTES);
		free(jit);
		return NULL;
	}
	*jit->fork_marker = 1;
	__builtin_cpu_init();
	jit->has_popcnt = __builtin_cpu_supports("popcnt");
	jit->has_fma = __builtin_cpu_supports("fma");
	emit_trampoline(jit);
	jit->code_pos = jit->code_start;
	jit->desc_pos = jit->cb.size;
	jit->stats.cache_bytes = cache_bytes;
	return jit;
}

void jit_set_movable_tlb(struct jit *jit)
{
	jit->movable_tlb = true;
}

void jit_free(struct jit *jit)
{
	if (!jit)
		return;
	if (forked(jit))
		codebuf_forget(&jit->cb);
	else
		codebuf_destroy(&jit->cb);
	munmap((void *)jit->fork_marker, 4096);
	unmap_array(jit->blocks, jit->blocks_cap, sizeof(*jit->blocks));
	unmap_array(jit->chained, jit->chained_cap, sizeof(*jit->chained));
	unmap_array(jit->sites, jit->sites_cap, sizeof(*jit->sites));
	munmap(jit->ind, IND_BYTES);
	jit_translate_free(jit);
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

bool jit_add_fault_site(struct jit *jit, size_t at, size_t stub)
{
	if (jit->nsites == jit->sites_cap && !grow(&jit->sites, &jit->sites_cap, sizeof(*jit->sites)))
		return false;
	jit->sites[jit->nsites++] = (struct jit_fault_site){ (uint32_t)at, (uint32_t)stub };
	return true;
}

/* Called from a signal handler on the thread that runs this translator's
 * code, so nothing here can be changing meanwhile: the code and the sites
 * change only while translating, which never faults into this. */
uintptr_t jit_fault_resume(struct jit *jit, uintptr_t pc)
{
	uintptr_t base;
	size_t lo = 0, hi;

	if (!jit || jit->disabled || forked(jit))
		return 0;
	base = (uintptr_t)codebuf_exec(&jit->cb, 0);
	if (pc < base + jit->code_start || pc >= base + jit->code_pos)
		return 0;
	hi = jit->nsites;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t at = jit->sites[mid].at;

		if (at == pc - base) {
			jit->stats.direct_faults++;
			return base + jit->sites[mid].stub;
		}
		if (at < pc - base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void *jit_compile(struct jit *jit, struct hart *hart, struct block *block)
{
	uint64_t t0 = now_ns();
	struct jit_trace tr;
	struct jit_tb *tb;
	struct emit e;
	size_t descs, nsites;
	int r;

	jit_check_fork(jit);
	if (jit->disabled)
		return NULL;
	jit_trace_form(jit, hart, block, &tr);
	descs = (size_t)tr.n * sizeof(*tb);
	if (jit->desc_pos - jit->code_pos < descs + 256)
		goto full;
	jit->desc_pos -= descs;
	for (int i = 0; i < tr.n; i++) {
		tr.tb[i] = (struct jit_tb *)(jit->cb.rw + jit->desc_pos) + i;
		memset(tr.tb[i], 0, sizeof(*tb));
	}
	tb = tr.tb[0];
	e = (struct emit){ .buf = jit->cb.rw, .pos = jit->code_pos, .cap = jit->desc_pos };
	nsites = jit->nsites;
	r = jit_translate(jit, hart, &e, &tr);
	if (emit_overflowed(&e)) {
		jit->desc_pos += descs;
		goto full;
	}
	if (r < 0) {
		jit->desc_pos += descs;
		jit->nsites = nsites; /* no fault sites in code not kept */
		jit->stats.blocks_rejected++;
		jit->stats.translate_ns += now_ns() - t0;
		return NULL;
	}
	if (!remember(jit, block)) {
		jit->desc_pos += descs;
		jit->nsites = nsites;
		return NULL;
	}
	for (int i = 0; i < tr.n; i++)
		tr.tb[i]->code = (uint32_t)jit->code_pos;
	tb->code_bytes = (uint32_t)(e.pos - jit->code_pos);
	block->jit_n = tr.insns;
	jit->code_pos = align_up(e.pos, 16);
	note_use(jit);
	jit->stats.blocks_compiled++;
	jit->stats.trace_blocks += (uint64_t)tr.n - 1;
	for (int i = 0; i < tr.n; i++)
		jit->stats.insns_compiled += jit_compiled_insns(tr.b[i]);
	jit->stats.code_bytes += tb->code_bytes;
	jit->stats.translate_ns += now_ns() - t0;
	if (perf_map())
		fprintf(perf_map(), "%lx %x guest_%llx%s%.0d\n",
			(unsigned long)(uintptr_t)codebuf_exec(&jit->cb, tb->code), tb->code_bytes,
			(unsigned long long)block->pc, tr.loop ? "_loop" : tr.n > 1 ? "_trace" : "",
			tr.n > 1 ? tr.n : 0);
	return codebuf_exec(&jit->cb, tb->code);

full:
	/* Flushed whole; this block is compiled again once hot again. */
	reset(jit, true);
	block->jit_entry = NULL;
	block->heat = 0;
	jit->stats.translate_ns += now_ns() - t0;
	return NULL;
}

/* Point the patched jump of chain i back at its own fall-through (the
 * exit's slow path). */
static void unpatch(struct jit *jit, size_t i)
{
	static const int32_t to_slow_path = 0;

	memcpy(jit->cb.rw + jit->chained[i].site, &to_slow_path, 4);
}

/* Undo every chain: their targets were found through a TLB now flushed.
 * The indirect-jump tables need no clearing here: ind_table() empties a
 * context's table when it is next used in a new epoch (64 KiB less to
 * write per flush: lockstep changes epochs at every span). */
static void unchain_all(struct jit *jit)
{
	for (size_t i = 0; i < jit->nchained; i++)
		unpatch(jit, i);
	jit->nchained = 0;
}

void jit_invalidate(struct jit *jit, struct block *b)
{
	void *code = b->jit_entry;

	if (!code || forked(jit))
		return;
	/* Every jump patched to go to it goes back to its slow path. */
	for (size_t i = 0; i < jit->nchained;) {
		if (jit->chained[i].to == b) {
			unpatch(jit, i);
			jit->chained[i] = jit->chained[--jit->nchained];
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < (size_t)TLB_SETS * JIT_IND_SIZE; i++) {
		if (jit->ind[i].code == code) {
			jit->ind[i].pc = 1;
			jit->ind[i].code = NULL;
		}
	}
	if (jit->prev_tb && jit->prev_tb->block == b)
		jit->prev_tb = NULL;
	b->jit_entry = NULL;
	jit->stats.invalidations++;
}

/* Make exit k of tb jump to the compiled code of next, in the hart's
 * current TLB context. */
static void chain(struct jit *jit, struct hart *hart, struct jit_tb *tb, int k,
		  struct block *next)
{
	uint8_t *rw = jit->cb.rw;
	uint32_t n = tb->block->n + next->jit_n, old;
	uint32_t ctx = (uint32_t)(uintptr_t)hart->tlb;
	size_t target = (size_t)((uint8_t *)next->jit_entry - jit->cb.rx);
	int32_t rel = (int32_t)((int64_t)target - (int64_t)(tb->site_jmp[k] + 4));

	memcpy(&old, rw + tb->site_jmp[k], 4);
	if (!old) {
		if (jit->nchained == jit->chained_cap &&
		    !grow(&jit->chained, &jit->chained_cap, sizeof(*jit->chained)))
			return;
		jit->chained[jit->nchained++] = (struct jit_chain){ tb->site_jmp[k], next };
	} else {
		/* re-patched (another TLB context): it goes to next now */
		for (size_t i = 0; i < jit->nchained; i++)
			if (jit->chained[i].site == tb->site_jmp[k])
				jit->chained[i].to = next;
	}
	if (tb->site_ctx[k])
		memcpy(rw + tb->site_ctx[k], &ctx, 4);
	memcpy(rw + tb->site_n[k], &n, 4);
	memcpy(rw + tb->site_jmp[k], &rel, 4);
	jit->stats.chains++;
}

/* The indirect-jump table of the hart's current TLB set (its context, and
 * for U-mode its address space: cpu_tlb_u). */
static struct jit_ind *ind_table(struct jit *jit, struct hart *hart)
{
	size_t ctx = (size_t)(hart->tlb - hart->tlbs);

	if (ctx >= TLB_SETS)
		ctx = 0; /* a private set (lockstep): lookups never go anywhere then */
	if (jit->ind_epoch[ctx] != hart->tlb_epoch || jit->ind_epoch[ctx] == IND_UNCLEARED) {
		if (jit->ind_epoch[ctx] != UINT64_MAX)
			clear_ind(jit, (int)ctx);
		jit->ind_epoch[ctx] = hart->tlb_epoch;
	}
	return jit->ind + ctx * JIT_IND_SIZE;
}

int jit_run(struct jit *jit, struct hart *hart, struct block **block, uint64_t limit)
{
	struct jit_tb *prev = jit->prev_tb;
	struct block *b = *block;
	struct jit_ind *ind;
	struct jit_ret r;

	if (jit_check_fork(jit))
		return JIT_EXIT_AGAIN;
	if (__builtin_expect(hart->tlb_epoch != jit->chain_epoch, 0)) {
		unchain_all(jit);
		jit->chain_epoch = hart->tlb_epoch;
	}
	if (prev) {
		int k = jit->prev_exit;

		if (prev->site_jmp[k] && prev->target[k] == b->pc)
			chain(jit, hart, prev, k, b);
	}
	/* b is the block for its pc in this epoch and context: indirect
	 * jumps may go there */
	ind = ind_table(jit, hart);
	ind[(b->pc >> 1) & (JIT_IND_SIZE - 1)] = (struct jit_ind){ b->pc, b->jit_entry };
	jit->stats.runs++;
	r = jit->enter(hart, limit, b->jit_entry, ind);
	if (r.exit == JIT_EXIT_TRAP) {
		jit->prev_tb = NULL;
		return JIT_EXIT_TRAP;
	}
	*block = r.tb->block;
	if (r.exit == JIT_EXIT_PARTIAL) {
		jit->prev_tb = NULL; /* the block goes on in the interpreter */
		return JIT_EXIT_PARTIAL;
	}
	jit->prev_tb = r.tb;
	jit->prev_exit = (int)r.exit;
	return (int)r.exit;
}

void jit_stats(const struct jit *jit, struct jit_stats *out)
{
	*out = jit->stats;
	out->host_bytes = align_up(jit->code_hw, 4096) + align_up(jit->desc_hw, 4096);
	if (out->host_bytes > jit->cb.size) /* the two ends met */
		out->host_bytes = jit->cb.size;
}
