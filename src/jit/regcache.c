/* The register cache: guest x registers live in host registers within a
 * trace, loaded on first use, spilled by next use, written back at every
 * exit; and calls to C helpers, around which caller-saved cache registers
 * are kept in the frame. */
#include "jit/translate.h"

/* Callee-saved registers first: they keep their guest values across calls. */
const int8_t jit_reg_pool[10] = { R12, R13, R14, RBP, RSI, RDI, R8, R9, R10, R11 };

/* The guest registers with a home: the host register that holds them
 * whenever compiled code goes from one trace to another (chains, the
 * indirect-jump table, a loop's back edge), so the traces of an
 * interpreter's dispatch or of a call through a pointer neither write
 * them back nor load them again.  The trampoline loads them, the epilogue
 * writes them back.  Chosen by measurement (docs/BENCHMARKS.md,
 * 2026-12-08): the registers gcc allocates first (a5, a4, a3 ...), the
 * stack pointer and the return address; the most used get callee-saved
 * homes, which helper calls leave alone. */
const struct jit_home jit_homes[JIT_HOMES] = {
	{ 15, R12 }, { 14, R13 }, { 2, R14 }, { 10, RBP }, /* a5, a4, sp, a0 */
	{ 13, RSI }, { 11, RDI }, { 12, R8 }, { 1, R9 },   /* a3, a1, a2, ra */
};

/* The register cache's state wherever compiled code enters a trace: every
 * home register holding its guest register, whose hart->x slot is stale
 * (so they count as dirty: a spill writes them back). */
void reg_convention(struct regstate *rs)
{
	memset(rs->host_of, -1, sizeof(rs->host_of));
	memset(rs->guest_of, -1, sizeof(rs->guest_of));
	rs->dirty = 0;
	freg_reset(rs);
	for (int i = 0; i < JIT_HOMES; i++) {
		rs->host_of[jit_homes[i].g] = jit_homes[i].h;
		rs->guest_of[jit_homes[i].h] = jit_homes[i].g;
		rs->dirty |= (uint16_t)(1u << jit_homes[i].h);
	}
}

/* From state rs to the convention: registers out of their home (or without
 * one) written back when dirty, then the homes that do not hold their
 * register loaded from their slot, now current.  A home that holds its
 * register clean may not have its value yet (reg_def before a load that
 * traps): its slot is current, so it is loaded too (reg_use counts a
 * register it loads into its home as dirty, so that costs nothing more).
 * Only moves: the flags survive. */
void reg_to_convention(struct tr *t, const struct regstate *rs)
{
	for (int h = 0; h < 16; h++) {
		int g = rs->guest_of[h];

		if (g >= 0 && (rs->dirty & (1u << h)) && t->conv.host_of[g] != h)
			x86_alu_mr(E, ALU_MOV, true, RBX, x_off(g), h);
	}
	for (int i = 0; i < JIT_HOMES; i++)
		if (rs->host_of[jit_homes[i].g] != jit_homes[i].h ||
		    !(rs->dirty & (1u << jit_homes[i].h)))
			x86_alu_rm(E, ALU_MOV, true, jit_homes[i].h, RBX, x_off(jit_homes[i].g));
	freg_write_back(t, rs);
}

void reg_map(struct tr *t, int g, int h)
{
	t->rs.host_of[g] = (int8_t)h;
	t->rs.guest_of[h] = (int8_t)g;
	t->rs.dirty &= (uint16_t)~(1u << h);
}

void reg_spill(struct tr *t, int h)
{
	int g = t->rs.guest_of[h];

	if (g < 0)
		return;
	if (t->rs.dirty & (1u << h))
		x86_alu_mr(E, ALU_MOV, true, RBX, x_off(g), h);
	t->rs.dirty &= (uint16_t)~(1u << h);
	t->rs.host_of[g] = -1;
	t->rs.guest_of[h] = -1;
}

/* How soon guest register g is needed again after the current instruction:
 * the index of its next read, or INT_MAX when it is overwritten first or
 * never used again. */
static int reg_next_use(const struct tr *t, int g)
{
	for (uint32_t i = (uint32_t)t->idx + 1; i < t->b->n; i++) {
		int r1, r2, w;

		tr_x_regs(&t->b->insns[i], &r1, &r2, &w);
		if (r1 == g || r2 == g)
			return (int)i;
		if (w == g)
			return INT_MAX;
	}
	return INT_MAX;
}

static int reg_alloc(struct tr *t)
{
	int best = -1;
	long best_score = -1;

	for (size_t i = 0; i < ARRAY_SIZE(jit_reg_pool); i++) {
		int h = jit_reg_pool[i];

		if (t->rs.guest_of[h] < 0 && !(t->locked & (1u << h)))
			return h;
	}
	/* Evict the register needed last; a clean one costs no store, and a
	 * dirty one without a home only a store it needed at the exit anyway,
	 * while a home left must be loaded again at the exit. */
	for (size_t i = 0; i < ARRAY_SIZE(jit_reg_pool); i++) {
		int h = jit_reg_pool[i];
		int g = t->rs.guest_of[h];
		long score;

		if (t->locked & (1u << h))
			continue;
		score = (long)reg_next_use(t, g) * 4 + (t->conv.host_of[g] != h) * 2 +
			!(t->rs.dirty & (1u << h));
		if (score > best_score) {
			best_score = score;
			best = h;
		}
	}
	reg_spill(t, best);
	return best;
}

/* The host register holding guest register g (loaded if needed). */
int reg_use(struct tr *t, int g)
{
	int h = t->rs.host_of[g];

	if (h < 0) {
		h = reg_alloc(t);
		if (g == 0)
			x86_alu_rr(E, ALU_XOR, false, h, h);
		else
			x86_alu_rm(E, ALU_MOV, true, h, RBX, x_off(g));
		reg_map(t, g, h);
		if (t->conv.host_of[g] == h) /* as at entry: no load at exits */
			t->rs.dirty |= (uint16_t)(1u << h);
	}
	t->locked |= (uint16_t)(1u << h);
	return h;
}

/* The host register that will receive guest register g's new value.  Its
 * old value stays there (and dirty) until the instruction writes it. */
int reg_def(struct tr *t, int g)
{
	int h = t->rs.host_of[g];

	if (h < 0) {
		h = reg_alloc(t);
		reg_map(t, g, h);
	}
	t->locked |= (uint16_t)(1u << h);
	return h;
}

void reg_written(struct tr *t, int g)
{
	t->rs.dirty |= (uint16_t)(1u << t->rs.host_of[g]);
}

/* ---- helper calls: caller-saved cache registers are kept in the frame ---- */

static int32_t reg_save_slot(int h)
{
	int i = h == RSI ? 0 : h == RDI ? 1 : h - R8 + 2;

	return FRAME_SAVE + 8 * i;
}

/* The F cache too: the helper may read hart->f, and every xmm register is
 * caller-saved (so reg_restore_caller loads them all again, which also
 * picks up what the helper wrote to hart->f). */
void reg_save_caller(struct tr *t, const struct regstate *rs)
{
	freg_write_back(t, rs);
	for (int h = 0; h < 16; h++)
		if ((CALLER_SAVED_MASK & (1u << h)) && rs->guest_of[h] >= 0)
			x86_alu_mr(E, ALU_MOV, true, RSP, reg_save_slot(h), h);
}

void reg_restore_caller(struct tr *t, const struct regstate *rs)
{
	for (int h = 0; h < 16; h++)
		if ((CALLER_SAVED_MASK & (1u << h)) && rs->guest_of[h] >= 0)
			x86_alu_rm(E, ALU_MOV, true, h, RSP, reg_save_slot(h));
	freg_reload(t, rs);
}

/* Load guest register g into argument register arg after save_caller: a
 * caller-saved source is read from its save slot, since setting earlier
 * arguments may have overwritten it. */
void reg_load_arg(struct tr *t, int arg, int g)
{
	int h = t->rs.host_of[g];

	if (g == 0)
		x86_alu_rr(E, ALU_XOR, false, arg, arg);
	else if (h < 0)
		x86_alu_rm(E, ALU_MOV, true, arg, RBX, x_off(g));
	else if (CALLER_SAVED_MASK & (1u << h))
		x86_alu_rm(E, ALU_MOV, true, arg, RSP, reg_save_slot(h));
	else
		x86_mov_rr(E, true, arg, h);
}

void reg_call(struct tr *t, const void *fn)
{
	x86_mov_ri(E, RAX, (uint64_t)(uintptr_t)fn);
	x86_call_r(E, RAX);
}
