/* Loads, stores (integer and FP) and atomics: the software TLB inline
 * (src/cpu/tlb.h: the slot chosen by the first byte, compared with the page
 * of the last byte, then host = addr + addend), the slow path in a stub.
 * In app mode with direct memory (docs/jit.md), a bound check and one host
 * access at reservation + addr instead; the host faults what the guest may
 * not touch, and the fault handler resumes at the same stub. */
#include "jit/translate.h"

/* With the guest address in rax: jump to the stub when it is not below
 * hart->mem_size (the guard page after the reservation catches an access
 * that starts below and ends above), then rcx = the reservation's base.
 * The access that follows is [rax + rcx], and rax stays the guest address
 * for the stub whether it comes from the jump or from a fault.  (The
 * compare and branch are one fused operation on the host.) */
static size_t tr_direct_check(struct tr *t)
{
	size_t miss;

	x86_alu_rm(E, ALU_CMP, true, RAX, RBX, HART_OFF(mem_size));
	miss = x86_jcc_fwd(E, CC_AE);
	x86_mov_ri(E, RCX, t->flat_addend);
	return miss;
}

/* With the guest address in rax: check the TLB for an access of size bytes,
 * leaving the host address in rax on a hit; returns the rel32 of the jump
 * taken on a miss.  rcx and rdx are clobbered. */
static size_t tr_tlb_check(struct tr *t, enum mem_access acc, int size)
{
	if (t->direct)
		return tr_direct_check(t);

	int32_t e_off = (int32_t)(acc * TLB_ENTRIES * sizeof(struct tlb_entry));
	size_t miss;

	/* rcx = &tlb->e[acc][(addr >> 12) & 255] (minus e_off) */
	x86_mov_rr(E, true, RCX, RAX);
	x86_shift_ri(E, SH_SHR, true, RCX, GUEST_PAGE_SHIFT - 4);
	x86_alu_ri(E, AI_AND, false, RCX, (TLB_ENTRIES - 1) << 4);
	if (t->fixed_tlb) {
		x86_alu_rr(E, ALU_ADD, true, RCX, RBX); /* one load fewer */
		e_off += HART_OFF(tlbs[TLB_CTX_U]);
	} else {
		x86_alu_rm(E, ALU_ADD, true, RCX, RBX, HART_OFF(tlb));
	}
	/* rdx = page of the last byte */
	if (size > 1)
		x86_lea(E, true, RDX, RAX, NO_REG, 1, size - 1);
	else
		x86_mov_rr(E, true, RDX, RAX);
	x86_alu_ri(E, AI_AND, true, RDX, (int32_t)GUEST_PAGE_MASK);
	x86_alu_rm(E, ALU_CMP, true, RDX, RCX, e_off + (int32_t)offsetof(struct tlb_entry, page));
	miss = x86_jcc_fwd(E, CC_NE);
	if (t->flat_addend) {
		/* The same addend as the entry's, without waiting for the entry:
		 * the access no longer depends on the TLB load (a pointer chase
		 * through guest memory is two loads shorter per step). */
		x86_mov_ri(E, RCX, t->flat_addend);
		x86_alu_rr(E, ALU_ADD, true, RAX, RCX);
	} else {
		x86_alu_rm(E, ALU_ADD, true, RAX, RCX,
			   e_off + (int32_t)offsetof(struct tlb_entry, addend));
	}
	return miss;
}

/* The access after tr_tlb_check(): host address in rax, or (direct) guest
 * address in rax and base in rcx; a direct one is noted in s as a place
 * that may fault. */
static void tr_access_load(struct tr *t, struct stub *s, bool sign, int dst)
{
	s->fault_at = t->direct ? E->pos : 0;
	x86_load(E, s->size, sign, dst, RAX, t->direct ? RCX : NO_REG, 1, 0);
}

static void tr_access_store(struct tr *t, struct stub *s, int src)
{
	s->fault_at = t->direct ? E->pos : 0;
	x86_store_idx(E, s->size, RAX, t->direct ? RCX : NO_REG, 0, src);
}

static void tr_addr_to_rax(struct tr *t, int base)
{
	if (t->ip->imm)
		x86_lea(E, true, RAX, base, NO_REG, 1, (int32_t)t->ip->imm);
	else
		x86_mov_rr(E, true, RAX, base);
}

static int tr_load_size(int op, bool *sign)
{
	switch (op) {
	case OP_LB: *sign = true; return 1;
	case OP_LH: *sign = true; return 2;
	case OP_LW: *sign = true; return 4;
	case OP_LD: *sign = true; return 8;
	case OP_LBU: *sign = false; return 1;
	case OP_LHU: *sign = false; return 2;
	case OP_LWU: *sign = false; return 4;
	case OP_SB: return 1;
	case OP_SH: return 2;
	case OP_SW: case OP_FLW: case OP_FSW: return 4;
	default: return 8;
	}
}

void tr_load(struct tr *t)
{
	const struct insn *ip = t->ip;
	bool sign = false;
	int size = tr_load_size(ip->op, &sign);
	int a = reg_use(t, ip->rs1);
	int d = ip->rd == REG_SINK ? RAX : reg_def(t, ip->rd);
	struct stub *s;

	tr_addr_to_rax(t, a);
	s = tr_new_stub(t, STUB_LOAD);
	s->size = (uint8_t)size;
	s->sign = sign;
	s->reg = (int8_t)(d == RAX ? NO_REG : d);
	s->jump = tr_tlb_check(t, ACC_READ, size);
	tr_access_load(t, s, sign, d);
	s->join = E->pos;
	if (d != RAX)
		reg_written(t, ip->rd);
}

void tr_store(struct tr *t)
{
	const struct insn *ip = t->ip;
	bool sign;
	int size = tr_load_size(ip->op, &sign);
	int a = reg_use(t, ip->rs1), c = reg_use(t, ip->rs2);
	struct stub *s;

	tr_addr_to_rax(t, a);
	s = tr_new_stub(t, STUB_STORE);
	s->size = (uint8_t)size;
	s->reg = (int8_t)c;
	s->jump = tr_tlb_check(t, ACC_WRITE, size);
	tr_access_store(t, s, c);
	s->join = E->pos;
}

void tr_fload(struct tr *t)
{
	const struct insn *ip = t->ip;
	int size = ip->op == OP_FLW ? 4 : 8;
	int a;
	struct stub *s;

	tr_fp_check(t);
	a = reg_use(t, ip->rs1);
	tr_addr_to_rax(t, a);
	s = tr_new_stub(t, STUB_LOAD);
	s->size = (uint8_t)size;
	s->freg = (int8_t)ip->rd;
	s->jump = tr_tlb_check(t, ACC_READ, size);
	tr_access_load(t, s, false, RAX);
	s->join = E->pos;
	if (size == 8) { /* into the F cache (the stub's slot load came before) */
		x86_movq_to_xmm(E, freg_def(t, ip->rd), RAX);
		freg_written(t, ip->rd);
		return;
	}
	x86_mov_ri(E, RCX, 0xffffffff00000000ull); /* NaN-box */
	x86_alu_rr(E, ALU_OR, true, RAX, RCX);
	x86_alu_mr(E, ALU_MOV, true, RBX, f_off(ip->rd), RAX);
	freg_forget(t, ip->rd);
}

void tr_fstore(struct tr *t)
{
	const struct insn *ip = t->ip;
	int size = ip->op == OP_FSW ? 4 : 8;
	int a, c;
	struct stub *s;

	tr_fp_check(t);
	a = reg_use(t, ip->rs1);
	c = freg_use(t, ip->rs2); /* before the stub: it reloads the cache */
	tr_addr_to_rax(t, a);
	s = tr_new_stub(t, STUB_STORE);
	s->size = (uint8_t)size;
	s->freg = (int8_t)ip->rs2;
	s->jump = tr_tlb_check(t, ACC_WRITE, size);
	x86_movq_from_xmm(E, true, RDX, c);
	tr_access_store(t, s, RDX);
	s->join = E->pos;
}

void tr_amo(struct tr *t)
{
	const struct insn *ip = t->ip;
	int d = NO_REG;

	reg_use(t, ip->rs1);
	reg_use(t, ip->rs2);
	if (ip->rd != REG_SINK)
		d = reg_def(t, ip->rd);
	reg_save_caller(t, &t->rs);
	reg_load_arg(t, RDX, ip->rs1);
	reg_load_arg(t, RCX, ip->rs2);
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_ri(E, RSI, (uint64_t)(uintptr_t)ip);
	x86_lea(E, true, R8, RSP, NO_REG, 1, FRAME_VAL);
	reg_call(t, (const void *)jit_helper_amo);
	reg_restore_caller(t, &t->rs);
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	tr_trap_if(t, CC_NE, false, 0, 0);
	if (d != NO_REG) {
		x86_alu_rm(E, ALU_MOV, true, d, RSP, FRAME_VAL);
		reg_written(t, ip->rd);
	}
}
