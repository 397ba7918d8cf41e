/* SiFive Platform-Level Interrupt Controller, laid out as on QEMU's virt
 * board (RISC-V PLIC specification 1.0.0, chapters 3-9).
 *
 * 96 sources (0 reserved), 3-bit priorities, two contexts per hart: 2*i is
 * hart i's M-mode (MEIP), 2*i+1 its S-mode (SEIP).  Every source has a
 * level-triggered gateway: it is pending while its line is high, a claim
 * moves it to in-service, and completion lets a still-high line pend
 * again.  After every change each context's output, "some enabled pending
 * source has a priority above my threshold", is driven into its hart's mip
 * with cpu_set_irq() when it changes. */
#include "condo/devices.h"
#include "condo/cpu.h"
#include "condo/log.h"
#include "condo/state.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WORDS ((PLIC_NUM_SOURCES + 31) / 32) /* 32-bit words of source bits */

/* Register map (PLIC spec chapter 3). */
#define PRIORITY_BASE   0x000000
#define PENDING_BASE    0x001000
#define ENABLE_BASE     0x002000
#define ENABLE_STRIDE   0x80
#define CONTEXT_BASE    0x200000
#define CONTEXT_STRIDE  0x1000
#define CTX_THRESHOLD   0x0
#define CTX_CLAIM       0x4

struct plic_context {
	uint32_t enable[WORDS];
	uint32_t threshold;
	bool level; /* what the hart's MEIP/SEIP was last set to */
};

struct plic {
	pthread_mutex_t lock;
	int nharts;
	struct hart **harts;
	struct plic_context *ctx; /* 2 * nharts */
	uint32_t priority[PLIC_NUM_SOURCES];
	uint32_t line[WORDS];    /* the sources' input levels */
	uint32_t pending[WORDS];
	uint32_t claimed[WORDS]; /* in service: claimed, not yet completed */
};

static int num_contexts(const struct plic *plic)
{
	return 2 * plic->nharts;
}

static bool test_bit(const uint32_t *words, unsigned src)
{
	return words[src / 32] >> (src % 32) & 1;
}

static void set_bit(uint32_t *words, unsigned src, bool on)
{
	if (on)
		words[src / 32] |= 1u << (src % 32);
	else
		words[src / 32] &= ~(1u << (src % 32));
}

/* The enabled pending source with the highest priority above the context's
 * threshold, lowest ID first among equals (spec §5); 0 when none. */
static unsigned best_source(const struct plic *plic, const struct plic_context *ctx)
{
	uint32_t best_prio = ctx->threshold;
	unsigned best = 0;

	for (unsigned w = 0; w < WORDS; w++) {
		uint32_t bits = plic->pending[w] & ctx->enable[w];
		while (bits) {
			unsigned src = w * 32 + (unsigned)__builtin_ctz(bits);
			bits &= bits - 1;
			if (plic->priority[src] > best_prio) {
				best_prio = plic->priority[src];
				best = src;
			}
		}
	}
	return best;
}

static void drive_context(struct plic *plic, int c, bool level)
{
	struct hart *hart = plic->harts[c / 2];

	plic->ctx[c].level = level;
	cpu_set_irq(hart, c % 2 ? MIP_SEIP : MIP_MEIP, level);
}

/* With the lock held, so the harts see levels in the order of changes. */
static void update(struct plic *plic, bool force)
{
	for (int c = 0; c < num_contexts(plic); c++) {
		bool level = best_source(plic, &plic->ctx[c]) != 0;
		if (force || level != plic->ctx[c].level)
			drive_context(plic, c, level);
	}
}

void plic_set_irq(void *opaque, unsigned irq, bool level)
{
	struct plic *plic = opaque;

	if (irq == 0 || irq >= PLIC_NUM_SOURCES)
		return;
	pthread_mutex_lock(&plic->lock);
	set_bit(plic->line, irq, level);
	/* The gateway forwards nothing while the source is in service; a
	 * line that drops before the claim withdraws its request. */
	if (!test_bit(plic->claimed, irq))
		set_bit(plic->pending, irq, level);
	update(plic, false);
	pthread_mutex_unlock(&plic->lock);
}

static uint32_t claim(struct plic *plic, struct plic_context *ctx)
{
	unsigned src = best_source(plic, ctx);

	if (src) {
		set_bit(plic->pending, src, false);
		set_bit(plic->claimed, src, true);
	}
	return src;
}

/* An ID that is out of range or not enabled for this context is ignored
 * (spec §9). */
static void complete(struct plic *plic, struct plic_context *ctx, uint32_t src)
{
	if (src == 0 || src >= PLIC_NUM_SOURCES || !test_bit(ctx->enable, src) ||
	    !test_bit(plic->claimed, src))
		return;
	set_bit(plic->claimed, src, false);
	if (test_bit(plic->line, src))
		set_bit(plic->pending, src, true);
}

/* The context an enable-block or context-block offset falls in, or NULL;
 * *reg gets the offset within the block. */
static struct plic_context *context_at(struct plic *plic, uint64_t offset, uint64_t base,
				       uint64_t stride, uint64_t *reg)
{
	uint64_t c = (offset - base) / stride;

	if (c >= (uint64_t)num_contexts(plic))
		return NULL;
	*reg = (offset - base) % stride;
	return &plic->ctx[c];
}

static uint32_t read_reg(struct plic *plic, uint64_t offset)
{
	struct plic_context *ctx;
	uint64_t reg;

	if (offset < PENDING_BASE) {
		uint64_t src = (offset - PRIORITY_BASE) / 4;
		return src < PLIC_NUM_SOURCES ? plic->priority[src] : 0;
	}
	if (offset < ENABLE_BASE) {
		uint64_t w = (offset - PENDING_BASE) / 4;
		return w < WORDS ? plic->pending[w] : 0;
	}
	if (offset < CONTEXT_BASE) {
		ctx = context_at(plic, offset, ENABLE_BASE, ENABLE_STRIDE, &reg);
		return ctx && reg / 4 < WORDS ? ctx->enable[reg / 4] : 0;
	}
	ctx = context_at(plic, offset, CONTEXT_BASE, CONTEXT_STRIDE, &reg);
	if (!ctx)
		return 0;
	if (reg == CTX_THRESHOLD)
		return ctx->threshold;
	if (reg == CTX_CLAIM)
		return claim(plic, ctx);
	return 0;
}

static void write_reg(struct plic *plic, uint64_t offset, uint32_t val)
{
	struct plic_context *ctx;
	uint64_t reg;

	if (offset < PENDING_BASE) {
		uint64_t src = (offset - PRIORITY_BASE) / 4;
		if (src != 0 && src < PLIC_NUM_SOURCES)
			plic->priority[src] = val & PLIC_PRIO_MASK; /* WARL */
		return;
	}
	if (offset < ENABLE_BASE)
		return; /* pending bits are read-only */
	if (offset < CONTEXT_BASE) {
		ctx = context_at(plic, offset, ENABLE_BASE, ENABLE_STRIDE, &reg);
		if (ctx && reg / 4 < WORDS)
			ctx->enable[reg / 4] = reg == 0 ? val & ~1u : val; /* source 0 is hardwired off */
		return;
	}
	ctx = context_at(plic, offset, CONTEXT_BASE, CONTEXT_STRIDE, &reg);
	if (!ctx)
		return;
	if (reg == CTX_THRESHOLD)
		ctx->threshold = val & PLIC_PRIO_MASK;
	else if (reg == CTX_CLAIM)
		complete(plic, ctx, val);
}

/* The PLIC's registers are 32 bits wide; like QEMU's, other widths and
 * misaligned accesses fault. */
static int plic_read(void *dev, uint64_t offset, unsigned len, uint64_t *val)
{
	struct plic *plic = dev;

	*val = 0;
	if (len != 4 || offset % 4 || offset >= PLIC_SIZE)
		return -1;
	pthread_mutex_lock(&plic->lock);
	*val = read_reg(plic, offset);
	update(plic, false);
	pthread_mutex_unlock(&plic->lock);
	return 0;
}

static int plic_write(void *dev, uint64_t offset, unsigned len, uint64_t val)
{
	struct plic *plic = dev;

	if (len != 4 || offset % 4 || offset >= PLIC_SIZE)
		return -1;
	pthread_mutex_lock(&plic->lock);
	write_reg(plic, offset, (uint32_t)val);
	update(plic, false);
	pthread_mutex_unlock(&plic->lock);
	return 0;
}

/* Lines keep their levels (they belong to the sources); everything else
 * returns to zero and every hart's MEIP/SEIP is driven afresh. */
static void plic_reset(void *dev)
{
	struct plic *plic = dev;

	pthread_mutex_lock(&plic->lock);
	for (int c = 0; c < num_contexts(plic); c++)
		plic->ctx[c] = (struct plic_context){ .level = false };
	for (unsigned i = 0; i < PLIC_NUM_SOURCES; i++)
		plic->priority[i] = 0;
	for (unsigned w = 0; w < WORDS; w++) {
		plic->claimed[w] = 0;
		plic->pending[w] = plic->line[w];
	}
	update(plic, true);
	pthread_mutex_unlock(&plic->lock);
}

/* Snapshots: every source's priority, input level, pending and in-service
 * bit, and every context's enables and threshold.  The contexts' output
 * levels are not saved: load drives them afresh from the rest. */
static void put_words(struct state_buf *out, const uint32_t *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		state_put_u32(out, w[i]);
}

static void get_words(struct state_buf *in, uint32_t *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		w[i] = state_get_u32(in);
}

static void plic_save(void *dev, struct state_buf *out)
{
	struct plic *plic = dev;

	pthread_mutex_lock(&plic->lock);
	state_put_tag(out, "PLIC");
	state_put_u32(out, (uint32_t)plic->nharts);
	put_words(out, plic->priority, PLIC_NUM_SOURCES);
	put_words(out, plic->line, WORDS);
	put_words(out, plic->pending, WORDS);
	put_words(out, plic->claimed, WORDS);
	for (int c = 0; c < num_contexts(plic); c++) {
		put_words(out, plic->ctx[c].enable, WORDS);
		state_put_u32(out, plic->ctx[c].threshold);
	}
	pthread_mutex_unlock(&plic->lock);
}

/* The state a guest and its sources can reach: 3-bit priorities and
 * thresholds, nothing about source 0, and a gateway that pends only
 * while its line is high and never while the source is in service. */
static const char *plic_sources_invalid(const uint32_t *prio, const uint32_t *line,
					const uint32_t *pending, const uint32_t *claimed)
{
	if (prio[0])
		return "plic: source 0 has a priority";
	for (unsigned i = 1; i < PLIC_NUM_SOURCES; i++)
		if (prio[i] > PLIC_PRIO_MASK)
			return "plic: priority out of range";
	if ((line[0] | pending[0] | claimed[0]) & 1)
		return "plic: source 0 is pending or in service";
	for (unsigned w = 0; w < WORDS; w++) {
		if (pending[w] & ~line[w])
			return "plic: a source pends with its line low";
		if (pending[w] & claimed[w])
			return "plic: a source pends while in service";
	}
	return NULL;
}

static const char *plic_context_invalid(const struct plic_context *ctx)
{
	if (ctx->enable[0] & 1)
		return "plic: source 0 enabled";
	if (ctx->threshold > PLIC_PRIO_MASK)
		return "plic: threshold out of range";
	return NULL;
}

static int plic_load(void *dev, struct state_buf *in)
{
	struct plic *plic = dev;
	uint32_t prio[PLIC_NUM_SOURCES], line[WORDS], pending[WORDS], claimed[WORDS];
	struct plic_context *ctx = calloc(2 * (size_t)plic->nharts, sizeof(*ctx));
	const char *bad;

	if (!ctx)
		return state_fail(in, "plic: out of memory");
	state_expect(in, "PLIC");
	if (state_get_u32(in) != (uint32_t)plic->nharts && state_status(in) == 0)
		state_fail(in, "plic: saved for another number of harts");
	get_words(in, prio, PLIC_NUM_SOURCES);
	get_words(in, line, WORDS);
	get_words(in, pending, WORDS);
	get_words(in, claimed, WORDS);
	bad = plic_sources_invalid(prio, line, pending, claimed);
	for (int c = 0; c < num_contexts(plic); c++) {
		get_words(in, ctx[c].enable, WORDS);
		ctx[c].threshold = state_get_u32(in);
		if (!bad)
			bad = plic_context_invalid(&ctx[c]);
	}
	if (bad)
		state_fail(in, bad);
	if (state_status(in) < 0) {
		free(ctx);
		return -1;
	}
	pthread_mutex_lock(&plic->lock);
	memcpy(plic->priority, prio, sizeof(prio));
	memcpy(plic->line, line, sizeof(line));
	memcpy(plic->pending, pending, sizeof(pending));
	memcpy(plic->claimed, claimed, sizeof(claimed));
	memcpy(plic->ctx, ctx, 2 * (size_t)plic->nharts * sizeof(*ctx));
	update(plic, true);
	pthread_mutex_unlock(&plic->lock);
	free(ctx);
	return 0;
}

static void plic_free(void *dev)
{
	struct plic *plic = dev;

	if (!plic)
		return;
	pthread_mutex_destroy(&plic->lock);
	free(plic->ctx);
	free(plic->harts);
	free(plic);
}

const struct dev_ops plic_ops = {
	.name = "plic",
	.read = plic_read,
	.write = plic_write,
	.reset = plic_reset,
	.free = plic_free,
	.save = plic_save,
	.load = plic_load,
};

struct plic *plic_new(struct hart **harts, int nharts)
{
	struct plic *plic;

	if (nharts < 1 || nharts > PLIC_MAX_HARTS) {
		log_err("plic", "cannot serve %d harts (1..%d)", nharts, PLIC_MAX_HARTS);
		return NULL;
	}
	plic = calloc(1, sizeof(*plic));
	if (!plic)
		goto err;
	plic->nharts = nharts;
	plic->harts = calloc((size_t)nharts, sizeof(*plic->harts));
	if (!plic->harts)
		goto err_free;
	plic->ctx = calloc(2 * (size_t)nharts, sizeof(*plic->ctx));
	if (!plic->ctx)
		goto err_harts;
	if (pthread_mutex_init(&plic->lock, NULL))
		goto err_ctx;
	for (int i = 0; i < nharts; i++)
		plic->harts[i] = harts[i];
	return plic;

err_ctx:
	free(plic->ctx);
err_harts:
	free(plic->harts);
err_free:
	free(plic);
err:
	log_err("plic", "cannot create the PLIC: out of memory");
	return NULL;
}
