/* Ways out of compiled code: the epilogue, precise trap exits, side
 * exits and chainable exits to static successors (patched by jit.c), stop
 * and interrupt checks, and a loop trace's header and back edge. */
#include "jit/translate.h"

void tr_exit_to_epilogue(struct tr *t, int code, bool with_tb)
{
	x86_mov_ri(E, RAX, (uint64_t)code);
	if (with_tb)
		x86_mov_ri(E, RDX, (uint64_t)(uintptr_t)t->tb);
	x86_jmp_to(E, t->jit->epilogue);
}

void tr_store_pc(struct tr *t, uint64_t pc)
{
	x86_mov_ri(E, RAX, pc);
	x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(pc), RAX);
}

/* Precise trap exit at instruction idx with the cache state rs. */
void tr_trap_exit(struct tr *t, const struct regstate *rs, int idx)
{
	reg_to_convention(t, rs);
	tr_store_pc(t, insn_pc(t, idx));
	if (idx) /* the epilogue makes instret = limit - budget */
		x86_alu_ri(E, AI_SUB, true, R15, idx);
	tr_exit_to_epilogue(t, JIT_EXIT_TRAP, false);
}

struct stub *tr_new_stub(struct tr *t, enum stub_kind kind)
{
	struct stub *s;

	if (t->nstubs == MAX_STUBS) {
		t->overflow = true;
		s = &t->stubs[0]; /* keep going; the block is dropped */
	} else {
		s = &t->stubs[t->nstubs++];
	}
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->idx = t->idx;
	s->rs = t->rs;
	s->reg = NO_REG;
	s->freg = -1;
	s->b = t->b;
	s->tb = t->tb;
	return s;
}

/* Jump to a trap exit when cc holds; cause/tval set by the stub if given. */
void tr_trap_if(struct tr *t, enum x86_cc cc, bool set_cause, uint64_t cause, uint64_t tval)
{
	struct stub *s = tr_new_stub(t, STUB_TRAP);

	s->set_cause = set_cause;
	s->cause = cause;
	s->tval = tval;
	s->jump = x86_jcc_fwd(E, cc);
}

/* ZF clear when hart->stop_request or hart->irq_check is set: the two
 * adjacent words are tested as one. */
_Static_assert(offsetof(struct hart, irq_check) == offsetof(struct hart, stop_request) + 4 &&
		       sizeof(((struct hart *)0)->stop_request) == 4,
	       "stop_request and irq_check are tested with one 64-bit compare");
void tr_stop_or_irq(struct tr *t)
{
	x86_alu_mi(E, AI_CMP, true, RBX, HART_OFF(stop_request), 0);
}

/* An exit to a static successor: chained (patched later by jit_run) when
 * no stop or interrupt check is pending and the instruction budget allows
 * this block and the successor, else back to the interpreter with pc =
 * target.  The cache has been written back.  A TLB flush (which may remap
 * the target pc) only happens outside compiled code; jit_run unchains all
 * exits then. */
void tr_exit_direct(struct tr *t, int k, uint64_t target)
{
	size_t slow[3], at;

	t->tb->target[k] = target;
	tr_stop_or_irq(t);
	slow[0] = x86_jcc_fwd(E, CC_NE);
	/* The TLB context the successor was found in (patched): in system
	 * mode a pc may be fetchable in one and not in another.  App-mode
	 * harts stay in one context. */
	if (t->system) {
		emit_u8(E, 0x81); /* cmp dword [rbx + tlb], imm32 */
		emit_u8(E, 0xbb);
		emit_u32(E, (uint32_t)HART_OFF(tlb));
		t->tb->site_ctx[k] = (uint32_t)E->pos;
		emit_u32(E, 0);
		slow[2] = x86_jcc_fwd(E, CC_NE);
	}
	/* budget >= this block's n + the successor's n (patched) */
	emit_u8(E, 0x49); /* cmp r15, imm32 */
	emit_u8(E, 0x81);
	emit_u8(E, 0xff);
	t->tb->site_n[k] = (uint32_t)E->pos;
	emit_u32(E, UINT32_MAX);
	slow[1] = x86_jcc_fwd(E, CC_B);
	x86_alu_ri(E, AI_SUB, true, R15, (int32_t)t->b->n);
	at = x86_jmp_fwd(E);
	t->tb->site_jmp[k] = (uint32_t)at;
	/* Unpatched, the jump falls through to here.  The budget compare
	 * cannot stop it when the budget is 2^64 - 1 (no limit, instret 0:
	 * the imm32 -1 is sign-extended), so take this block's count back. */
	x86_bind(E, at);
	x86_alu_ri(E, AI_ADD, true, R15, (int32_t)t->b->n);
	for (int i = 0; i < (t->system ? 3 : 2); i++)
		x86_bind(E, slow[i]);
	tr_store_pc(t, target);
	tr_exit_to_epilogue(t, k, true);
}

/* Make the register cache what the loop header expects: registers that
 * are not where the header has them are written back (when dirty) and
 * dropped first, then the header's registers that are missing are loaded,
 * from memory that is now up to date. */
static void tr_reconcile(struct tr *t, const struct regstate *want)
{
	freg_reconcile(t, want);
	for (int h = 0; h < 16; h++) {
		int g = t->rs.guest_of[h];

		if (g >= 0 && want->host_of[g] != h)
			reg_spill(t, h);
	}
	for (int h = 0; h < 16; h++) {
		int g = want->guest_of[h];

		if (g >= 0 && t->rs.host_of[g] != h)
			x86_alu_rm(E, ALU_MOV, true, h, RBX, x_off(g));
	}
	t->rs = *want;
}

/* The back edge of a loop trace, exit k of the last block going to the
 * first: with no stop or interrupt check pending and budget for this block
 * and the whole trace again, straight back to the header with the
 * registers still in host registers; else out as an unchained exit. */
void tr_back_edge(struct tr *t, int k)
{
	struct regstate at = t->rs;
	size_t out[2];

	t->tb->target[k] = t->head_pc;
	tr_stop_or_irq(t);
	out[0] = x86_jcc_fwd(E, CC_NE);
	x86_alu_ri(E, AI_CMP, true, R15, (int32_t)(t->b->n + t->trace_insns));
	out[1] = x86_jcc_fwd(E, CC_B);
	x86_alu_ri(E, AI_SUB, true, R15, (int32_t)t->b->n);
	tr_reconcile(t, &t->header_rs);
	x86_jmp_to(E, t->header);
	x86_bind(E, out[0]);
	x86_bind(E, out[1]);
	t->rs = at;
	reg_to_convention(t, &t->rs);
	tr_store_pc(t, t->head_pc);
	tr_exit_to_epilogue(t, k, true);
}

/* The registers a loop trace keeps in host registers from its header on:
 * the most used ones, all of them when they fit, else all but two of the
 * pool so the others have room.  Homes the loop does not keep are written
 * back on entry (their registers go to the loop's), and come back at its
 * exits (reg_to_convention); the others are loaded on entry, and those
 * the trace writes count as dirty from the header on, so every exit
 * writes them back whichever way it came. */
void tr_loop_header(struct tr *t, const struct jit_trace *tr)
{
	int uses[33] = { 0 }, distinct = 0, keep, next = 0;
	bool written_in[33] = { false }, kept[33] = { false };
	const int pool = (int)ARRAY_SIZE(jit_reg_pool);

	for (int i = 0; i < tr->n; i++) {
		for (uint32_t k = 0; k < tr->b[i]->n; k++) {
			int r[3];

			tr_x_regs(&tr->b[i]->insns[k], &r[0], &r[1], &r[2]);
			for (int j = 0; j < 3; j++)
				if (r[j] > 0 && r[j] < 32 && !uses[r[j]]++)
					distinct++;
			if (r[2] >= 0)
				written_in[r[2]] = true;
		}
	}
	keep = distinct <= pool ? distinct : pool - 2;
	for (int n = 0; n < keep; n++) {
		int best = 0;

		for (int g = 1; g < 32; g++)
			if (uses[g] > uses[best])
				best = g;
		kept[best] = true;
		uses[best] = 0;
	}
	for (int i = 0; i < JIT_HOMES; i++)
		if (!kept[jit_homes[i].g])
			reg_spill(t, jit_homes[i].h);
	for (int g = 1; g < 32; g++) {
		int h;

		if (!kept[g] || t->rs.host_of[g] >= 0)
			continue;
		while (t->rs.guest_of[jit_reg_pool[next]] >= 0)
			next++;
		h = jit_reg_pool[next];
		reg_map(t, g, h);
		x86_alu_rm(E, ALU_MOV, true, h, RBX, x_off(g));
		if (written_in[g])
			t->rs.dirty |= (uint16_t)(1u << h);
	}
	freg_loop_header(t, tr);
	t->header = E->pos;
	t->header_rs = t->rs;
	t->head_pc = tr->b[0]->pc;
	t->trace_insns = tr->insns;
}
