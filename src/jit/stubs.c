/* Out-of-line stubs, emitted after a trace's straight-line code: trap
 * exits, TLB-miss slow paths of loads and stores, side exits. */
#include "jit/translate.h"

void tr_emit_stub(struct tr *t, struct stub *s)
{
	size_t ok;

	x86_bind(E, s->jump);
	for (int i = 0; i < s->njumps; i++)
		x86_bind(E, s->more_jumps[i]);
	/* A direct access that faults comes here too, with the same registers
	 * as the bound check's jump (jit_fault_resume). */
	if (s->fault_at && !jit_add_fault_site(t->jit, s->fault_at, E->pos))
		t->overflow = true;
	t->b = s->b; /* the trace's block the stub belongs to */
	t->tb = s->tb;
	if (s->kind == STUB_SIDE_EXIT) {
		reg_to_convention(t, &s->rs);
		tr_exit_direct(t, s->exit, s->target);
		return;
	}
	if (s->kind == STUB_LEAVE) { /* back to the interpreter, unchained */
		reg_to_convention(t, &s->rs);
		tr_store_pc(t, s->target);
		tr_exit_to_epilogue(t, s->exit, true);
		return;
	}
	if (s->kind == STUB_FP) {
		tr_fp_slow_stub(t, s);
		return;
	}
	if (s->kind == STUB_TRAP) {
		if (s->set_cause) {
			x86_mov_ri(E, RAX, s->cause);
			x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(trap_cause), RAX);
			x86_mov_ri(E, RAX, s->tval);
			x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(trap_tval), RAX);
		}
		tr_trap_exit(t, &s->rs, s->idx);
		return;
	}
	/* A TLB miss, a page-crossing access, or a direct access out of bounds
	 * or faulting: the guest address is in rax. */
	reg_save_caller(t, &s->rs);
	if (s->kind == STUB_STORE) {
		if (s->freg >= 0)
			x86_alu_rm(E, ALU_MOV, true, RCX, RBX, f_off(s->freg));
		else
			x86_mov_rr(E, true, RCX, s->reg); /* before rsi/rdi are set */
	} else {
		x86_lea(E, true, RCX, RSP, NO_REG, 1, FRAME_VAL);
	}
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_rr(E, true, RSI, RAX);
	x86_mov_ri(E, RDX, s->size);
	reg_call(t, s->kind == STUB_STORE ? (const void *)mem_store_slow : (const void *)mem_load_slow);
	reg_restore_caller(t, &s->rs);
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	ok = x86_jcc_fwd(E, CC_E);
	tr_trap_exit(t, &s->rs, s->idx);
	x86_bind(E, ok);
	if (s->kind == STUB_LOAD) {
		if (s->freg >= 0)
			x86_alu_rm(E, ALU_MOV, true, RAX, RSP, FRAME_VAL); /* boxed at the join */
		else if (s->reg != NO_REG)
			x86_load(E, s->size, s->sign, s->reg, RSP, NO_REG, 1, FRAME_VAL);
	}
	x86_jmp_to(E, s->join);
}
