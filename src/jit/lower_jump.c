/* A block's last instruction: conditional branches, jal and jalr (through
 * the indirect-jump table), within a trace or as its exits. */
#include "jit/translate.h"

/* A conditional branch; inline_exit >= 0 inside a trace: that way goes on
 * into the next block of the trace (or back to its start: back), the other
 * leaves through a side exit. */
void tr_branch(struct tr *t, int inline_exit, bool back)
{
	const struct insn *ip = t->ip;
	static const enum x86_cc cc[] = {
		[OP_BEQ - OP_BEQ] = CC_E, [OP_BNE - OP_BEQ] = CC_NE,
		[OP_BLT - OP_BEQ] = CC_L, [OP_BGE - OP_BEQ] = CC_GE,
		[OP_BLTU - OP_BEQ] = CC_B, [OP_BGEU - OP_BEQ] = CC_AE,
	};
	int a = reg_use(t, ip->rs1);
	size_t taken;

	if (ip->rs2 == 0) {
		x86_alu_ri(E, AI_CMP, true, a, 0);
	} else {
		int c = reg_use(t, ip->rs2);
		x86_alu_rr(E, ALU_CMP, true, a, c);
	}
	if (inline_exit >= 0) {
		enum x86_cc when = cc[ip->op - OP_BEQ];
		struct stub *s = tr_new_stub(t, STUB_SIDE_EXIT);

		s->exit = !inline_exit;
		s->target = inline_exit ? insn_pc(t, t->idx) + ip->len : (uint64_t)ip->imm;
		/* x86 condition codes come in pairs: cc ^ 1 is the opposite */
		s->jump = x86_jcc_fwd(E, inline_exit ? (enum x86_cc)(when ^ 1) : when);
		if (back)
			tr_back_edge(t, inline_exit);
		return;
	}
	reg_to_convention(t, &t->rs); /* movs keep the flags */
	taken = x86_jcc_fwd(E, cc[ip->op - OP_BEQ]);
	tr_exit_direct(t, 0, insn_pc(t, t->idx) + ip->len);
	x86_bind(E, taken);
	tr_exit_direct(t, 1, (uint64_t)ip->imm);
}

/* jal; inline: the target is the trace's next block (back: its first). */
void tr_jal(struct tr *t, bool inline_target, bool back)
{
	const struct insn *ip = t->ip;

	if (ip->rd != REG_SINK) {
		int d = reg_def(t, ip->rd);
		x86_mov_ri(E, d, insn_pc(t, t->idx) + ip->len);
		reg_written(t, ip->rd);
	}
	if (back)
		tr_back_edge(t, 1);
	if (inline_target)
		return;
	reg_to_convention(t, &t->rs);
	tr_exit_direct(t, 1, (uint64_t)ip->imm);
}

/* jalr: the target is looked up among compiled blocks (struct jit_ind);
 * found, and with no stop or interrupt check pending and budget for this
 * block plus any successor, it is jumped to; else back to the interpreter. */
void tr_jalr(struct tr *t)
{
	const struct insn *ip = t->ip;
	int a = reg_use(t, ip->rs1);
	size_t miss[3];

	x86_lea(E, true, RAX, a, NO_REG, 1, (int32_t)ip->imm);
	x86_alu_ri(E, AI_AND, true, RAX, -2);
	if (ip->rd != REG_SINK) {
		int d = reg_def(t, ip->rd);
		x86_mov_ri(E, d, insn_pc(t, t->idx) + ip->len);
		reg_written(t, ip->rd);
	}
	reg_to_convention(t, &t->rs);
	t->tb->target[1] = NO_TARGET;
	/* rdx = &ind[(pc >> 1) & (JIT_IND_SIZE - 1)] */
	x86_mov_rr(E, false, RCX, RAX);
	x86_shift_ri(E, SH_SHL, false, RCX, 3);
	x86_alu_ri(E, AI_AND, false, RCX, (JIT_IND_SIZE - 1) << 4);
	x86_alu_rm(E, ALU_MOV, true, RDX, RSP, FRAME_IND);
	x86_alu_rr(E, ALU_ADD, true, RDX, RCX);
	x86_alu_rm(E, ALU_CMP, true, RAX, RDX, (int32_t)offsetof(struct jit_ind, pc));
	miss[0] = x86_jcc_fwd(E, CC_NE);
	tr_stop_or_irq(t);
	miss[1] = x86_jcc_fwd(E, CC_NE);
	x86_alu_ri(E, AI_CMP, true, R15, (int32_t)(t->b->n + BLOCK_MAX_INSNS));
	miss[2] = x86_jcc_fwd(E, CC_B);
	x86_alu_ri(E, AI_SUB, true, R15, (int32_t)t->b->n);
	x86_jmp_m(E, RDX, (int32_t)offsetof(struct jit_ind, code));
	for (int i = 0; i < 3; i++)
		x86_bind(E, miss[i]);
	x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(pc), RAX);
	tr_exit_to_epilogue(t, JIT_EXIT_TAKEN, true);
}
