/* Operations compiled as calls to C helpers (helpers.c): F and D
 * arithmetic with the FS and rounding-mode checks, and Zicsr. */
#include "jit/translate.h"

/* mstatus.FS off makes every F/D instruction illegal (priv 3.1.6.6). */
void tr_fp_check(struct tr *t)
{
	if (t->fs_ok)
		return;
	x86_test_mi(E, false, RBX, HART_OFF(csr.mstatus), (int32_t)MSTATUS_FS);
	tr_trap_if(t, CC_E, true, CAUSE_ILLEGAL_INSN, t->ip->raw);
	t->fs_ok = true;
}

void tr_fp_rm(struct tr *t)
{
	if (t->ip->rm != 7) {
		x86_mov_ri(E, RDX, t->ip->rm);
		return;
	}
	x86_alu_rm(E, ALU_MOV, false, RDX, RBX, HART_OFF(frm));
	if (!t->frm_ok) {
		x86_alu_ri(E, AI_CMP, false, RDX, 4);
		tr_trap_if(t, CC_A, true, CAUSE_ILLEGAL_INSN, t->ip->raw);
		t->frm_ok = true;
	}
}

/* A CSR instruction, the last of its block: jit_helper_csr with instret
 * exact for the counters, the budget following a write to minstret, and
 * an exit to the next instruction that is not chained when the write
 * flushed the TLB (the chains' targets may be other code now). */
/* fflags, frm or fcsr, inline and not the end of the block: old value in
 * eax, new one in ecx, then the fields (csr_read/csr_write: FS off is
 * illegal, fcsr is frm << 5 | fflags, writes keep the field's bits).  A
 * write to frm makes the next dynamic rounding mode be checked again. */
static void tr_csr_fp(struct tr *t, bool reg_form)
{
	const struct insn *ip = t->ip;
	unsigned csr = (unsigned)ip->imm;
	bool swap = ip->op == OP_CSRRW || ip->op == OP_CSRRWI;
	bool set = ip->op == OP_CSRRS || ip->op == OP_CSRRSI;
	bool do_write = swap || ip->rs1 != 0;
	int d = NO_REG;

	tr_fp_check(t);
	if (csr == CSR_FRM) {
		x86_alu_rm(E, ALU_MOV, false, RAX, RBX, HART_OFF(frm));
	} else {
		x86_alu_rm(E, ALU_MOV, false, RAX, RBX, HART_OFF(fflags));
		if (csr == CSR_FCSR) {
			x86_alu_rm(E, ALU_MOV, false, RCX, RBX, HART_OFF(frm));
			x86_shift_ri(E, SH_SHL, false, RCX, 5);
			x86_alu_rr(E, ALU_OR, false, RAX, RCX);
		}
	}
	if (do_write) {
		if (reg_form)
			x86_mov_rr(E, false, RCX, reg_use(t, ip->rs1));
		else
			x86_mov_ri(E, RCX, ip->rs1);
		if (!swap) {
			if (!set) {
				x86_unary(E, UN_NOT, false, RCX);
				x86_alu_rr(E, ALU_AND, false, RCX, RAX);
			} else {
				x86_alu_rr(E, ALU_OR, false, RCX, RAX);
			}
		}
		if (csr != CSR_FRM) {
			x86_mov_rr(E, false, RDX, RCX);
			x86_alu_ri(E, AI_AND, false, RDX, 0x1f);
			x86_alu_mr(E, ALU_MOV, false, RBX, HART_OFF(fflags), RDX);
		}
		if (csr != CSR_FFLAGS) {
			if (csr == CSR_FCSR)
				x86_shift_ri(E, SH_SHR, false, RCX, 5);
			x86_alu_ri(E, AI_AND, false, RCX, 7);
			x86_alu_mr(E, ALU_MOV, false, RBX, HART_OFF(frm), RCX);
			t->frm_ok = false;
		}
	}
	if (ip->rd != REG_SINK) {
		d = reg_def(t, ip->rd);
		x86_mov_rr(E, true, d, RAX);
		reg_written(t, ip->rd);
	}
}

void tr_csr(struct tr *t)
{
	const struct insn *ip = t->ip;
	bool reg_form = ip->op == OP_CSRRW || ip->op == OP_CSRRS || ip->op == OP_CSRRC;
	uint64_t next = insn_pc(t, t->idx) + ip->len;
	struct stub *s;
	int d = NO_REG;

	if (csr_is_fp((unsigned)ip->imm)) {
		tr_csr_fp(t, reg_form);
		return;
	}
	if (reg_form)
		reg_use(t, ip->rs1);
	if (ip->rd != REG_SINK)
		d = reg_def(t, ip->rd);
	/* instret = limit - budget + the instructions before this one */
	x86_alu_rm(E, ALU_MOV, true, RAX, RSP, FRAME_LIMIT);
	x86_alu_rr(E, ALU_SUB, true, RAX, R15);
	if (t->idx)
		x86_alu_ri(E, AI_ADD, true, RAX, t->idx);
	x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(instret), RAX);
	reg_save_caller(t, &t->rs);
	if (reg_form)
		reg_load_arg(t, RDX, ip->rs1);
	else
		x86_mov_ri(E, RDX, ip->rs1); /* the immediate */
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_ri(E, RSI, (uint64_t)(uintptr_t)ip);
	x86_lea(E, true, RCX, RSP, NO_REG, 1, FRAME_VAL);
	reg_call(t, (const void *)jit_helper_csr);
	reg_restore_caller(t, &t->rs);
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	tr_trap_if(t, CC_S, false, 0, 0);
	/* budget = limit - (instret - index): unchanged unless minstret was written */
	x86_alu_rm(E, ALU_MOV, true, R15, RSP, FRAME_LIMIT);
	x86_alu_rm(E, ALU_SUB, true, R15, RBX, HART_OFF(instret));
	if (t->idx)
		x86_alu_ri(E, AI_ADD, true, R15, t->idx);
	if (d != NO_REG) {
		x86_alu_rm(E, ALU_MOV, true, d, RSP, FRAME_VAL);
		reg_written(t, ip->rd);
	}
	t->tb->target[0] = next;
	s = tr_new_stub(t, STUB_LEAVE);
	s->exit = JIT_EXIT_FALLTHROUGH;
	s->target = next;
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	s->jump = x86_jcc_fwd(E, CC_NE);
	reg_to_convention(t, &t->rs);
	tr_exit_direct(t, 0, next);
}

void tr_fp(struct tr *t, enum kind kind)
{
	const struct insn *ip = t->ip;
	const struct jit_fp_op *op = &jit_fp_ops[ip->op];
	int d = NO_REG;

	if (tr_fp_inline(t))
		return;
	tr_fp_check(t);
	if (kind == K_XF)
		reg_use(t, ip->rs1);
	if (kind == K_FX && ip->rd != REG_SINK)
		d = reg_def(t, ip->rd);
	if (op->rm)
		tr_fp_rm(t); /* edx */
	reg_save_caller(t, &t->rs);
	if (kind == K_XF)
		reg_load_arg(t, RCX, ip->rs1);
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_ri(E, RSI, (uint64_t)(uintptr_t)ip);
	reg_call(t, op->fn);
	reg_restore_caller(t, &t->rs);
	if (d != NO_REG) {
		x86_mov_rr(E, true, d, RAX);
		reg_written(t, ip->rd);
	}
}
