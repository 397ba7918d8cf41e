/* The F-register cache: guest f registers kept in xmm registers within a
 * trace, as regcache.c keeps x registers in general ones.  The state is
 * part of struct regstate, so every stub knows what to write back; every
 * trace entry has the cache empty, so every exit writes back what is
 * dirty (reg_to_convention); a loop trace keeps its most used f registers
 * from its header on, as exits.c does with x registers. */
#include "jit/translate.h"

#define XMM_FIRST 2 /* xmm0 and xmm1 are the inline code's scratch */

void freg_reset(struct regstate *rs)
{
	memset(rs->xmm_of, -1, sizeof(rs->xmm_of));
	memset(rs->f_of, -1, sizeof(rs->f_of));
	rs->fdirty = 0;
}

static void freg_spill(struct tr *t, int x)
{
	int f = t->rs.f_of[x];

	if (f < 0)
		return;
	if (t->rs.fdirty & (1u << x))
		x86_sse_mr(E, true, RBX, f_off(f), x);
	t->rs.fdirty &= (uint16_t)~(1u << x);
	t->rs.xmm_of[f] = -1;
	t->rs.f_of[x] = -1;
}

/* A free xmm register, else the least recently used one not locked. */
static int freg_alloc(struct tr *t)
{
	int best = -1;

	for (int x = XMM_FIRST; x < 16; x++) {
		if (t->flocked & (1u << x))
			continue;
		if (t->rs.f_of[x] < 0)
			return x;
		if (best < 0 || t->fused[x] < t->fused[best])
			best = x;
	}
	freg_spill(t, best);
	return best;
}

static int freg_take(struct tr *t, int f, bool load)
{
	int x = t->rs.xmm_of[f];

	if (x < 0) {
		x = freg_alloc(t);
		if (load)
			x86_sse_rm(E, SSE_LOAD, true, x, RBX, f_off(f));
		t->rs.xmm_of[f] = (int8_t)x;
		t->rs.f_of[x] = (int8_t)f;
	}
	t->flocked |= (uint16_t)(1u << x);
	t->fused[x] = ++t->fclock;
	return x;
}

int freg_use(struct tr *t, int f)
{
	return freg_take(t, f, true);
}

int freg_def(struct tr *t, int f)
{
	return freg_take(t, f, false);
}

void freg_written(struct tr *t, int f)
{
	t->rs.fdirty |= (uint16_t)(1u << t->rs.xmm_of[f]);
}

void freg_to_mem(struct tr *t, int f)
{
	int x = t->rs.xmm_of[f];

	if (x >= 0 && (t->rs.fdirty & (1u << x))) {
		x86_sse_mr(E, true, RBX, f_off(f), x);
		t->rs.fdirty &= (uint16_t)~(1u << x);
	}
}

void freg_forget(struct tr *t, int f)
{
	int x = t->rs.xmm_of[f];

	if (x < 0)
		return;
	t->rs.fdirty &= (uint16_t)~(1u << x);
	t->rs.xmm_of[f] = -1;
	t->rs.f_of[x] = -1;
}

void freg_write_back(struct tr *t, const struct regstate *rs)
{
	for (int x = XMM_FIRST; x < 16; x++)
		if (rs->fdirty & (1u << x))
			x86_sse_mr(E, true, RBX, f_off(rs->f_of[x]), x);
}

void freg_reload(struct tr *t, const struct regstate *rs)
{
	for (int x = XMM_FIRST; x < 16; x++)
		if (rs->f_of[x] >= 0)
			x86_sse_rm(E, SSE_LOAD, true, x, RBX, f_off(rs->f_of[x]));
}

void freg_reconcile(struct tr *t, const struct regstate *want)
{
	for (int x = XMM_FIRST; x < 16; x++) {
		int f = t->rs.f_of[x];

		if (f < 0)
			continue;
		if (want->xmm_of[f] != x)
			freg_spill(t, x);
		else if ((t->rs.fdirty & (1u << x)) && !(want->fdirty & (1u << x)))
			freg_to_mem(t, f);
	}
	for (int x = XMM_FIRST; x < 16; x++) {
		int f = want->f_of[x];

		if (f >= 0 && t->rs.xmm_of[f] != x)
			x86_sse_rm(E, SSE_LOAD, true, x, RBX, f_off(f));
	}
}

/* The f registers an instruction reads (up to three, -1 for none) and
 * writes (or -1). */
static void freg_regs(const struct insn *ip, int r[3], int *w)
{
	r[0] = r[1] = r[2] = *w = -1;
	switch (tr_insn_kind(ip)) {
	case K_FLOAD: *w = ip->rd; break;
	case K_FSTORE: r[0] = ip->rs2; break;
	case K_XF: *w = ip->rd; break;
	case K_FX: tr_fp_reads(ip, r); break;
	case K_FF: tr_fp_reads(ip, r), *w = ip->rd; break;
	default: break;
	}
}

/* Keep at most this many, so that temporaries still find a register. */
#define LOOP_KEEP 10

void freg_loop_header(struct tr *t, const struct jit_trace *tr)
{
	int uses[32] = { 0 };
	bool written[32] = { false }, uncached[32] = { false };

	for (int i = 0; i < tr->n; i++) {
		for (uint32_t k = 0; k < tr->b[i]->n; k++) {
			const struct insn *ip = &tr->b[i]->insns[k];
			int r[3], w;

			freg_regs(ip, r, &w);
			for (int j = 0; j < 3; j++)
				if (r[j] >= 0)
					uses[r[j]]++;
			if (w < 0)
				continue;
			uses[w]++;
			written[w] = true;
			if (!tr_fp_to_cache(ip))
				uncached[w] = true;
		}
	}
	for (int n = 0, x = XMM_FIRST; n < LOOP_KEEP; n++, x++) {
		int best = -1;

		for (int f = 0; f < 32; f++)
			if (uses[f] && !uncached[f] && (best < 0 || uses[f] > uses[best]))
				best = f;
		if (best < 0)
			break;
		uses[best] = 0;
		x86_sse_rm(E, SSE_LOAD, true, x, RBX, f_off(best));
		t->rs.xmm_of[best] = (int8_t)x;
		t->rs.f_of[x] = (int8_t)best;
		if (written[best])
			t->rs.fdirty |= (uint16_t)(1u << x);
	}
}
