/* Per-operation translation of a decoded block to x86-64.
 *
 * Guest registers live in struct hart; within a block they are cached in
 * host registers, loaded on first use and written back at every exit.  The
 * block is straight-line code (only its last instruction transfers
 * control), so which guest register sits in which host register, and
 * whether it is dirty, is known at every point at translation time.  Each
 * point that can trap gets an out-of-line stub that writes back what was
 * dirty there and reports the instruction's pc and index (precise traps).
 * Loads and stores take the software TLB inline (src/cpu/tlb.h: the slot
 * chosen by the first byte, compared with the page of the last byte, then
 * host = addr + addend) and call mem_load_slow/mem_store_slow on a miss.
 *
 * Host registers: rbx = the hart; r15 = the instruction budget (limit minus
 * the instret before this block; hart->instret itself is written by the
 * epilogue); rax, rcx, rdx are scratch; the others (except rsp) cache
 * guest registers.  See docs/jit.md. */
#include "jit/jit_internal.h"
#include "cpu/csr.h"
#include "cpu/priv.h"
#include "cpu/tlb.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct tlb_entry) == 16, "TLB entry layout");
_Static_assert(TLB_ENTRIES == 256, "TLB index mask");

#define MAX_STUBS 256
#define NO_TARGET UINT64_MAX

/* Callee-saved registers first: they keep their guest values across calls. */
static const int8_t pool[] = { R12, R13, R14, RBP, RSI, RDI, R8, R9, R10, R11 };
#define CALLER_SAVED_MASK (1u << RSI | 1u << RDI | 1u << R8 | 1u << R9 | 1u << R10 | 1u << R11)

struct regstate {
	int8_t host_of[33]; /* guest x register -> host register, or -1 */
	int8_t guest_of[16];
	uint16_t dirty;     /* host registers newer than their hart->x slot */
};

enum stub_kind { STUB_TRAP, STUB_LOAD, STUB_STORE, STUB_SIDE_EXIT, STUB_LEAVE };

/* Out-of-line code, emitted after the block's straight-line code. */
struct stub {
	uint8_t kind;
	uint8_t size;      /* load/store bytes */
	bool sign;         /* load sign-extends */
	bool set_cause;    /* trap: the stub sets cause and tval itself */
	int8_t reg;        /* load destination / store source (host), NO_REG: see fp */
	int8_t freg;       /* FP store source or FP load destination, or -1 */
	int idx;           /* instruction index */
	size_t jump;       /* rel32 of the jump into the stub */
	size_t join;       /* where a slow path rejoins the fast path */
	uint64_t cause, tval;
	struct regstate rs;
	/* the trace's block it belongs to; a side exit's exit number and target */
	struct block *b;
	struct jit_tb *tb;
	int exit;
	uint64_t target;
};

struct tr {
	struct jit *jit;
	struct emit *e;
	struct block *b;
	struct jit_tb *tb;
	const struct insn *ip;
	int idx;
	struct regstate rs;
	uint16_t locked; /* host registers the current instruction uses */
	bool fs_ok;      /* mstatus.FS already checked in this block */
	bool frm_ok;     /* frm already checked valid in this block */
	bool system;     /* a system-mode hart: TLB contexts change */
	/* The hart's TLB is always its own U set (app mode, not lockstep's
	 * private set): its entries are at a fixed offset from rbx; and with
	 * flat_addend, every entry's addend is that value. */
	bool fixed_tlb;
	uintptr_t flat_addend;
	int nstubs;
	bool overflow;
	/* A loop trace: its back edge jumps to header (after the entry loads)
	 * with the registers as header_rs has them. */
	size_t header;
	struct regstate header_rs;
	uint64_t head_pc;
	uint32_t trace_insns;
	struct stub stubs[MAX_STUBS];
};

#define E (t->e)

static int32_t x_off(int g)
{
	return (int32_t)(offsetof(struct hart, x) + 8 * (size_t)g);
}

static int32_t f_off(int g)
{
	return (int32_t)(offsetof(struct hart, f) + 8 * (size_t)g);
}

#define HART_OFF(field) ((int32_t)offsetof(struct hart, field))

static uint64_t insn_pc(const struct tr *t, int idx)
{
	return t->b->pc + t->b->insns[idx].off;
}

/* ---- operation classes ---- */

enum kind {
	K_NONE,  /* left to the interpreter */
	K_RR,    /* rd = f(rs1, rs2) */
	K_RI,    /* rd = f(rs1, imm) */
	K_U,     /* rd = imm */
	K_BR, K_JAL, K_JALR,
	K_LOAD, K_STORE, K_AMO, K_FENCE,
	K_FLOAD, K_FSTORE,
	K_FF, K_FX, K_XF, /* jit_fp_ops */
	K_CSR,   /* through jit_helper_csr; ends its block */
};

/* CSRs whose value changes by themselves (the host clock, interrupt lines
 * raised by devices) stay with the interpreter: lockstep runs a block
 * twice and could not compare their reads, nor undo a write to mip. */
static bool csr_compiled(const struct insn *ip)
{
	return !csr_changes_by_itself((unsigned)ip->imm);
}

static enum kind op_kind(int op)
{
	switch (op) {
	case OP_LUI: case OP_AUIPC:
		return K_U;
	case OP_JAL:
		return K_JAL;
	case OP_JALR:
		return K_JALR;
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
		return K_BR;
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
		return K_LOAD;
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
		return K_STORE;
	case OP_ADDI: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI:
	case OP_SLLI: case OP_SRLI: case OP_SRAI:
	case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
	case OP_SLLI_UW:
	case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: case OP_CPOP: case OP_CPOPW:
	case OP_SEXT_B: case OP_SEXT_H: case OP_ZEXT_H: case OP_RORI: case OP_RORIW:
	case OP_ORC_B: case OP_REV8:
	case OP_BCLRI: case OP_BEXTI: case OP_BINVI: case OP_BSETI:
		return K_RI;
	case OP_ADD: case OP_SUB: case OP_SLL: case OP_SLT: case OP_SLTU: case OP_XOR:
	case OP_SRL: case OP_SRA: case OP_OR: case OP_AND:
	case OP_ADDW: case OP_SUBW: case OP_SLLW: case OP_SRLW: case OP_SRAW:
	case OP_MUL: case OP_MULH: case OP_MULHSU: case OP_MULHU:
	case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
	case OP_MULW: case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
	case OP_ADD_UW: case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD:
	case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
	case OP_ANDN: case OP_ORN: case OP_XNOR: case OP_MAX: case OP_MAXU: case OP_MIN:
	case OP_MINU: case OP_ROL: case OP_ROLW: case OP_ROR: case OP_RORW:
	case OP_BCLR: case OP_BEXT: case OP_BINV: case OP_BSET:
		return K_RR;
	case OP_FENCE:
		return K_FENCE;
	case OP_FLW: case OP_FLD:
		return K_FLOAD;
	case OP_FSW: case OP_FSD:
		return K_FSTORE;
	default:
		break;
	}
	if (op >= OP_LR_W && op <= OP_AMOMAXU_D)
		return K_AMO;
	if (op < OP_COUNT && jit_fp_ops[op].fn) {
		switch (jit_fp_ops[op].kind) {
		case FPK_FF: return K_FF;
		case FPK_FX: return K_FX;
		case FPK_XF: return K_XF;
		}
	}
	return K_NONE;
}

static enum kind insn_kind(const struct insn *ip)
{
	enum kind k = op_kind(ip->op);

	if (k == K_NONE && ip->op >= OP_CSRRW && ip->op <= OP_CSRRCI && csr_compiled(ip))
		return K_CSR;
	return k;
}

/* The x registers an instruction reads (up to two, -1 for none) and writes. */
static void x_regs(const struct insn *ip, int *r1, int *r2, int *w)
{
	*r1 = *r2 = *w = -1;
	switch (insn_kind(ip)) {
	case K_RR: case K_AMO:
		*r1 = ip->rs1, *r2 = ip->rs2, *w = ip->rd;
		break;
	case K_RI: case K_LOAD: case K_JALR:
		*r1 = ip->rs1, *w = ip->rd;
		break;
	case K_U: case K_JAL: case K_FX:
		*w = ip->rd;
		break;
	case K_BR: case K_STORE:
		*r1 = ip->rs1, *r2 = ip->rs2;
		break;
	case K_FLOAD: case K_FSTORE: case K_XF:
		*r1 = ip->rs1;
		break;
	case K_CSR:
		if (ip->op == OP_CSRRW || ip->op == OP_CSRRS || ip->op == OP_CSRRC)
			*r1 = ip->rs1;
		*w = ip->rd;
		break;
	default:
		break;
	}
}

/* ---- the register cache ---- */

static void map(struct tr *t, int g, int h)
{
	t->rs.host_of[g] = (int8_t)h;
	t->rs.guest_of[h] = (int8_t)g;
	t->rs.dirty &= (uint16_t)~(1u << h);
}

static void spill(struct tr *t, int h)
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
static int next_use(const struct tr *t, int g)
{
	for (uint32_t i = (uint32_t)t->idx + 1; i < t->b->n; i++) {
		int r1, r2, w;

		x_regs(&t->b->insns[i], &r1, &r2, &w);
		if (r1 == g || r2 == g)
			return (int)i;
		if (w == g)
			return INT_MAX;
	}
	return INT_MAX;
}

static int alloc_host(struct tr *t)
{
	int best = -1;
	long best_score = -1;

	for (size_t i = 0; i < ARRAY_SIZE(pool); i++) {
		int h = pool[i];

		if (t->rs.guest_of[h] < 0 && !(t->locked & (1u << h)))
			return h;
	}
	/* Evict the register needed last; a clean one costs no store. */
	for (size_t i = 0; i < ARRAY_SIZE(pool); i++) {
		int h = pool[i];
		long score;

		if (t->locked & (1u << h))
			continue;
		score = (long)next_use(t, t->rs.guest_of[h]) * 2 + !(t->rs.dirty & (1u << h));
		if (score > best_score) {
			best_score = score;
			best = h;
		}
	}
	spill(t, best);
	return best;
}

/* The host register holding guest register g (loaded if needed). */
static int use(struct tr *t, int g)
{
	int h = t->rs.host_of[g];

	if (h < 0) {
		h = alloc_host(t);
		if (g == 0)
			x86_alu_rr(E, ALU_XOR, false, h, h);
		else
			x86_alu_rm(E, ALU_MOV, true, h, RBX, x_off(g));
		map(t, g, h);
	}
	t->locked |= (uint16_t)(1u << h);
	return h;
}

/* The host register that will receive guest register g's new value.  Its
 * old value stays there (and dirty) until the instruction writes it. */
static int def(struct tr *t, int g)
{
	int h = t->rs.host_of[g];

	if (h < 0) {
		h = alloc_host(t);
		map(t, g, h);
	}
	t->locked |= (uint16_t)(1u << h);
	return h;
}

static void written(struct tr *t, int g)
{
	t->rs.dirty |= (uint16_t)(1u << t->rs.host_of[g]);
}

static void writeback(struct tr *t, const struct regstate *rs)
{
	for (int h = 0; h < 16; h++)
		if (rs->dirty & (1u << h))
			x86_alu_mr(E, ALU_MOV, true, RBX, x_off(rs->guest_of[h]), h);
}

/* ---- helper calls: caller-saved cache registers are kept in the frame ---- */

static int32_t save_slot(int h)
{
	int i = h == RSI ? 0 : h == RDI ? 1 : h - R8 + 2;

	return FRAME_SAVE + 8 * i;
}

static void save_caller(struct tr *t, const struct regstate *rs)
{
	for (int h = 0; h < 16; h++)
		if ((CALLER_SAVED_MASK & (1u << h)) && rs->guest_of[h] >= 0)
			x86_alu_mr(E, ALU_MOV, true, RSP, save_slot(h), h);
}

static void restore_caller(struct tr *t, const struct regstate *rs)
{
	for (int h = 0; h < 16; h++)
		if ((CALLER_SAVED_MASK & (1u << h)) && rs->guest_of[h] >= 0)
			x86_alu_rm(E, ALU_MOV, true, h, RSP, save_slot(h));
}

/* Load guest register g into argument register arg after save_caller: a
 * caller-saved source is read from its save slot, since setting earlier
 * arguments may have overwritten it. */
static void load_arg(struct tr *t, int arg, int g)
{
	int h = t->rs.host_of[g];

	if (g == 0)
		x86_alu_rr(E, ALU_XOR, false, arg, arg);
	else if (h < 0)
		x86_alu_rm(E, ALU_MOV, true, arg, RBX, x_off(g));
	else if (CALLER_SAVED_MASK & (1u << h))
		x86_alu_rm(E, ALU_MOV, true, arg, RSP, save_slot(h));
	else
		x86_mov_rr(E, true, arg, h);
}

static void call(struct tr *t, const void *fn)
{
	x86_mov_ri(E, RAX, (uint64_t)(uintptr_t)fn);
	x86_call_r(E, RAX);
}

/* ---- exits ---- */

static void exit_to_epilogue(struct tr *t, int code, bool with_tb)
{
	x86_mov_ri(E, RAX, (uint64_t)code);
	if (with_tb)
		x86_mov_ri(E, RDX, (uint64_t)(uintptr_t)t->tb);
	x86_jmp_to(E, t->jit->epilogue);
}

static void store_pc(struct tr *t, uint64_t pc)
{
	x86_mov_ri(E, RAX, pc);
	x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(pc), RAX);
}

/* Precise trap exit at instruction idx with the cache state rs. */
static void emit_trap_exit(struct tr *t, const struct regstate *rs, int idx)
{
	writeback(t, rs);
	store_pc(t, insn_pc(t, idx));
	if (idx) /* the epilogue makes instret = limit - budget */
		x86_alu_ri(E, AI_SUB, true, R15, idx);
	exit_to_epilogue(t, JIT_EXIT_TRAP, false);
}

static struct stub *new_stub(struct tr *t, enum stub_kind kind)
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
static void trap_if(struct tr *t, enum x86_cc cc, bool set_cause, uint64_t cause, uint64_t tval)
{
	struct stub *s = new_stub(t, STUB_TRAP);

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
static void stop_or_irq(struct tr *t)
{
	x86_alu_mi(E, AI_CMP, true, RBX, HART_OFF(stop_request), 0);
}

/* An exit to a static successor: chained (patched later by jit_run) when
 * no stop or interrupt check is pending and the instruction budget allows
 * this block and the successor, else back to the interpreter with pc =
 * target.  The cache has been written back.  A TLB flush (which may remap
 * the target pc) only happens outside compiled code; jit_run unchains all
 * exits then. */
static void exit_direct(struct tr *t, int k, uint64_t target)
{
	size_t slow[3], at;

	t->tb->target[k] = target;
	stop_or_irq(t);
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
	store_pc(t, target);
	exit_to_epilogue(t, k, true);
}

/* Make the register cache what the loop header expects: registers that
 * are not where the header has them are written back (when dirty) and
 * dropped first, then the header's registers that are missing are loaded,
 * from memory that is now up to date. */
static void reconcile(struct tr *t, const struct regstate *want)
{
	for (int h = 0; h < 16; h++) {
		int g = t->rs.guest_of[h];

		if (g >= 0 && want->host_of[g] != h)
			spill(t, h);
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
static void back_edge(struct tr *t, int k)
{
	struct regstate at = t->rs;
	size_t out[2];

	t->tb->target[k] = t->head_pc;
	stop_or_irq(t);
	out[0] = x86_jcc_fwd(E, CC_NE);
	x86_alu_ri(E, AI_CMP, true, R15, (int32_t)(t->b->n + t->trace_insns));
	out[1] = x86_jcc_fwd(E, CC_B);
	x86_alu_ri(E, AI_SUB, true, R15, (int32_t)t->b->n);
	reconcile(t, &t->header_rs);
	x86_jmp_to(E, t->header);
	x86_bind(E, out[0]);
	x86_bind(E, out[1]);
	t->rs = at;
	writeback(t, &t->rs);
	store_pc(t, t->head_pc);
	exit_to_epilogue(t, k, true);
}

/* The registers a loop trace keeps in host registers from its header on:
 * the most used ones, all of them when they fit, else all but two of the
 * pool so the others have room.  Loaded on entry; those the trace writes
 * count as dirty from the header on, so every exit writes them back
 * whichever way it came (the others always equal their hart->x slot). */
static void loop_header(struct tr *t, const struct jit_trace *tr)
{
	int uses[33] = { 0 }, distinct = 0, keep;
	bool written_in[33] = { false };

	for (int i = 0; i < tr->n; i++) {
		for (uint32_t k = 0; k < tr->b[i]->n; k++) {
			int r[3];

			x_regs(&tr->b[i]->insns[k], &r[0], &r[1], &r[2]);
			for (int j = 0; j < 3; j++)
				if (r[j] > 0 && r[j] < 32 && !uses[r[j]]++)
					distinct++;
			if (r[2] >= 0)
				written_in[r[2]] = true;
		}
	}
	keep = distinct <= (int)ARRAY_SIZE(pool) ? distinct : (int)ARRAY_SIZE(pool) - 2;
	for (int n = 0; n < keep; n++) {
		int best = 0;

		for (int g = 1; g < 32; g++)
			if (uses[g] > uses[best])
				best = g;
		map(t, best, pool[n]);
		x86_alu_rm(E, ALU_MOV, true, pool[n], RBX, x_off(best));
		if (written_in[best])
			t->rs.dirty |= (uint16_t)(1u << pool[n]);
		uses[best] = 0;
	}
	t->header = E->pos;
	t->header_rs = t->rs;
	t->head_pc = tr->b[0]->pc;
	t->trace_insns = tr->insns;
}

/* ---- memory access ---- */

/* With the guest address in rax: check the TLB for an access of size bytes,
 * leaving the host address in rax on a hit; returns the rel32 of the jump
 * taken on a miss.  rcx and rdx are clobbered. */
static size_t tlb_check(struct tr *t, enum mem_access acc, int size)
{
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

static void addr_to_rax(struct tr *t, int base)
{
	if (t->ip->imm)
		x86_lea(E, true, RAX, base, NO_REG, 1, (int32_t)t->ip->imm);
	else
		x86_mov_rr(E, true, RAX, base);
}

static int load_size(int op, bool *sign)
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

static void tr_load(struct tr *t)
{
	const struct insn *ip = t->ip;
	bool sign = false;
	int size = load_size(ip->op, &sign);
	int a = use(t, ip->rs1);
	int d = ip->rd == REG_SINK ? RAX : def(t, ip->rd);
	struct stub *s;

	addr_to_rax(t, a);
	s = new_stub(t, STUB_LOAD);
	s->size = (uint8_t)size;
	s->sign = sign;
	s->reg = (int8_t)(d == RAX ? NO_REG : d);
	s->jump = tlb_check(t, ACC_READ, size);
	x86_load(E, size, sign, d, RAX, NO_REG, 1, 0);
	s->join = E->pos;
	if (d != RAX)
		written(t, ip->rd);
}

static void tr_store(struct tr *t)
{
	const struct insn *ip = t->ip;
	bool sign;
	int size = load_size(ip->op, &sign);
	int a = use(t, ip->rs1), c = use(t, ip->rs2);
	struct stub *s;

	addr_to_rax(t, a);
	s = new_stub(t, STUB_STORE);
	s->size = (uint8_t)size;
	s->reg = (int8_t)c;
	s->jump = tlb_check(t, ACC_WRITE, size);
	x86_store(E, size, RAX, 0, c);
	s->join = E->pos;
}

/* mstatus.FS off makes every F/D instruction illegal (priv 3.1.6.6). */
static void fp_check(struct tr *t)
{
	if (t->fs_ok)
		return;
	x86_test_mi(E, false, RBX, HART_OFF(csr.mstatus), (int32_t)MSTATUS_FS);
	trap_if(t, CC_E, true, CAUSE_ILLEGAL_INSN, t->ip->raw);
	t->fs_ok = true;
}

/* The rounding mode into edx: the instruction's, or frm when dynamic, which
 * must be 0-4 (unpriv 11.2). */
static void fp_rm(struct tr *t)
{
	if (t->ip->rm != 7) {
		x86_mov_ri(E, RDX, t->ip->rm);
		return;
	}
	x86_alu_rm(E, ALU_MOV, false, RDX, RBX, HART_OFF(frm));
	if (!t->frm_ok) {
		x86_alu_ri(E, AI_CMP, false, RDX, 4);
		trap_if(t, CC_A, true, CAUSE_ILLEGAL_INSN, t->ip->raw);
		t->frm_ok = true;
	}
}

static void tr_fload(struct tr *t)
{
	const struct insn *ip = t->ip;
	int size = ip->op == OP_FLW ? 4 : 8;
	int a;
	struct stub *s;

	fp_check(t);
	a = use(t, ip->rs1);
	addr_to_rax(t, a);
	s = new_stub(t, STUB_LOAD);
	s->size = (uint8_t)size;
	s->freg = (int8_t)ip->rd;
	s->jump = tlb_check(t, ACC_READ, size);
	x86_load(E, size, false, RAX, RAX, NO_REG, 1, 0);
	s->join = E->pos;
	if (size == 4) {
		x86_mov_ri(E, RCX, 0xffffffff00000000ull); /* NaN-box */
		x86_alu_rr(E, ALU_OR, true, RAX, RCX);
	}
	x86_alu_mr(E, ALU_MOV, true, RBX, f_off(ip->rd), RAX);
}

static void tr_fstore(struct tr *t)
{
	const struct insn *ip = t->ip;
	int size = ip->op == OP_FSW ? 4 : 8;
	int a;
	struct stub *s;

	fp_check(t);
	a = use(t, ip->rs1);
	addr_to_rax(t, a);
	s = new_stub(t, STUB_STORE);
	s->size = (uint8_t)size;
	s->freg = (int8_t)ip->rs2;
	s->jump = tlb_check(t, ACC_WRITE, size);
	x86_alu_rm(E, ALU_MOV, true, RDX, RBX, f_off(ip->rs2));
	x86_store(E, size, RAX, 0, RDX);
	s->join = E->pos;
}

static void tr_amo(struct tr *t)
{
	const struct insn *ip = t->ip;
	int d = NO_REG;

	use(t, ip->rs1);
	use(t, ip->rs2);
	if (ip->rd != REG_SINK)
		d = def(t, ip->rd);
	save_caller(t, &t->rs);
	load_arg(t, RDX, ip->rs1);
	load_arg(t, RCX, ip->rs2);
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_ri(E, RSI, (uint64_t)(uintptr_t)ip);
	x86_lea(E, true, R8, RSP, NO_REG, 1, FRAME_VAL);
	call(t, (const void *)jit_helper_amo);
	restore_caller(t, &t->rs);
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	trap_if(t, CC_NE, false, 0, 0);
	if (d != NO_REG) {
		x86_alu_rm(E, ALU_MOV, true, d, RSP, FRAME_VAL);
		written(t, ip->rd);
	}
}

/* A CSR instruction, the last of its block: jit_helper_csr with instret
 * exact for the counters, the budget following a write to minstret, and
 * an exit to the next instruction that is not chained when the write
 * flushed the TLB (the chains' targets may be other code now). */
static void tr_csr(struct tr *t)
{
	const struct insn *ip = t->ip;
	bool reg_form = ip->op == OP_CSRRW || ip->op == OP_CSRRS || ip->op == OP_CSRRC;
	uint64_t next = insn_pc(t, t->idx) + ip->len;
	struct stub *s;
	int d = NO_REG;

	if (reg_form)
		use(t, ip->rs1);
	if (ip->rd != REG_SINK)
		d = def(t, ip->rd);
	/* instret = limit - budget + the instructions before this one */
	x86_alu_rm(E, ALU_MOV, true, RAX, RSP, FRAME_LIMIT);
	x86_alu_rr(E, ALU_SUB, true, RAX, R15);
	if (t->idx)
		x86_alu_ri(E, AI_ADD, true, RAX, t->idx);
	x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(instret), RAX);
	save_caller(t, &t->rs);
	if (reg_form)
		load_arg(t, RDX, ip->rs1);
	else
		x86_mov_ri(E, RDX, ip->rs1); /* the immediate */
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_ri(E, RSI, (uint64_t)(uintptr_t)ip);
	x86_lea(E, true, RCX, RSP, NO_REG, 1, FRAME_VAL);
	call(t, (const void *)jit_helper_csr);
	restore_caller(t, &t->rs);
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	trap_if(t, CC_S, false, 0, 0);
	/* budget = limit - (instret - index): unchanged unless minstret was written */
	x86_alu_rm(E, ALU_MOV, true, R15, RSP, FRAME_LIMIT);
	x86_alu_rm(E, ALU_SUB, true, R15, RBX, HART_OFF(instret));
	if (t->idx)
		x86_alu_ri(E, AI_ADD, true, R15, t->idx);
	if (d != NO_REG) {
		x86_alu_rm(E, ALU_MOV, true, d, RSP, FRAME_VAL);
		written(t, ip->rd);
	}
	t->tb->target[0] = next;
	s = new_stub(t, STUB_LEAVE);
	s->exit = JIT_EXIT_FALLTHROUGH;
	s->target = next;
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	s->jump = x86_jcc_fwd(E, CC_NE);
	writeback(t, &t->rs);
	exit_direct(t, 0, next);
}

static void tr_fp(struct tr *t, enum kind kind)
{
	const struct insn *ip = t->ip;
	const struct jit_fp_op *op = &jit_fp_ops[ip->op];
	int d = NO_REG;

	fp_check(t);
	if (kind == K_XF)
		use(t, ip->rs1);
	if (kind == K_FX && ip->rd != REG_SINK)
		d = def(t, ip->rd);
	if (op->rm)
		fp_rm(t); /* edx */
	save_caller(t, &t->rs);
	if (kind == K_XF)
		load_arg(t, RCX, ip->rs1);
	x86_mov_rr(E, true, RDI, RBX);
	x86_mov_ri(E, RSI, (uint64_t)(uintptr_t)ip);
	call(t, op->fn);
	restore_caller(t, &t->rs);
	if (d != NO_REG) {
		x86_mov_rr(E, true, d, RAX);
		written(t, ip->rd);
	}
}

/* ---- integer operations ---- */

/* d = a op c for an x86 two-operand ALU op. */
/* rd = guest register g (mv, and add/or/xor with x0): a register move,
 * without giving x0 a host register. */
static void move(struct tr *t, int g)
{
	int a, d;

	if (g == 0) {
		d = def(t, t->ip->rd);
		x86_alu_rr(E, ALU_XOR, false, d, d);
		return;
	}
	a = use(t, g);
	d = def(t, t->ip->rd);
	if (d != a)
		x86_mov_rr(E, true, d, a);
}

static void alu_rr(struct tr *t, enum x86_alu op, bool commutative)
{
	int a = use(t, t->ip->rs1), c = use(t, t->ip->rs2), d = def(t, t->ip->rd);

	if (d == a) {
		x86_alu_rr(E, op, true, d, c);
	} else if (d == c && commutative) {
		x86_alu_rr(E, op, true, d, a);
	} else if (d == c) {
		x86_mov_rr(E, true, RAX, a);
		x86_alu_rr(E, op, true, RAX, c);
		x86_mov_rr(E, true, d, RAX);
	} else {
		x86_mov_rr(E, true, d, a);
		x86_alu_rr(E, op, true, d, c);
	}
}

/* d = a op imm */
static void alu_ri(struct tr *t, enum x86_alu_imm op)
{
	int a = use(t, t->ip->rs1), d = def(t, t->ip->rd);

	if (d != a)
		x86_mov_rr(E, true, d, a);
	x86_alu_ri(E, op, true, d, (int32_t)t->ip->imm);
}

static void set_cc_rr(struct tr *t, enum x86_cc cc)
{
	int a = use(t, t->ip->rs1), c = use(t, t->ip->rs2), d = def(t, t->ip->rd);

	x86_alu_rr(E, ALU_XOR, false, RAX, RAX);
	x86_alu_rr(E, ALU_CMP, true, a, c);
	x86_setcc(E, cc, RAX);
	x86_mov_rr(E, true, d, RAX);
}

static void set_cc_ri(struct tr *t, enum x86_cc cc)
{
	int a = use(t, t->ip->rs1), d = def(t, t->ip->rd);

	x86_alu_rr(E, ALU_XOR, false, RAX, RAX);
	x86_alu_ri(E, AI_CMP, true, a, (int32_t)t->ip->imm);
	x86_setcc(E, cc, RAX);
	x86_mov_rr(E, true, d, RAX);
}

/* d = a shifted by c (64-bit: count mod 64; 32-bit: mod 32, then sign-extended) */
static void shift_rr(struct tr *t, enum x86_shift op, bool w)
{
	int a = use(t, t->ip->rs1), c = use(t, t->ip->rs2), d = def(t, t->ip->rd);

	x86_mov_rr(E, false, RCX, c);
	if (w) {
		if (d != a)
			x86_mov_rr(E, true, d, a);
		x86_shift_cl(E, op, true, d);
	} else {
		x86_mov_rr(E, false, RAX, a);
		x86_shift_cl(E, op, false, RAX);
		x86_movsxd(E, d, RAX);
	}
}

static void shift_ri(struct tr *t, enum x86_shift op, bool w)
{
	int a = use(t, t->ip->rs1), d = def(t, t->ip->rd);
	uint8_t sh = (uint8_t)t->ip->imm;

	if (w) {
		if (d != a)
			x86_mov_rr(E, true, d, a);
		if (sh)
			x86_shift_ri(E, op, true, d, sh);
	} else {
		x86_mov_rr(E, false, RAX, a);
		if (sh)
			x86_shift_ri(E, op, false, RAX, sh);
		x86_movsxd(E, d, RAX);
	}
}

/* Division with the spec's results for a zero divisor and for overflow
 * (unpriv 7.2), which x86 would fault on.  w: 64-bit; rem: remainder. */
static void divide(struct tr *t, bool sign, bool rem, bool w)
{
	int a = use(t, t->ip->rs1), c = use(t, t->ip->rs2), d = def(t, t->ip->rd);
	size_t zero, neg1 = 0, done1, done2 = 0;

	x86_mov_rr(E, w, RCX, c);
	x86_mov_rr(E, w, RAX, a);
	x86_alu_rr(E, ALU_TEST, w, RCX, RCX);
	zero = x86_jcc_fwd(E, CC_E);
	if (sign) {
		x86_alu_ri(E, AI_CMP, w, RCX, -1);
		neg1 = x86_jcc_fwd(E, CC_E);
		if (w)
			x86_cqo(E);
		else
			x86_cdq(E);
		x86_unary(E, UN_IDIV, w, RCX);
	} else {
		x86_alu_rr(E, ALU_XOR, false, RDX, RDX);
		x86_unary(E, UN_DIV, w, RCX);
	}
	done1 = x86_jmp_fwd(E);
	if (sign) {
		/* x / -1 = -x (the most negative value stays itself), x % -1 = 0 */
		x86_bind(E, neg1);
		if (rem)
			x86_alu_rr(E, ALU_XOR, false, RDX, RDX);
		else
			x86_unary(E, UN_NEG, w, RAX);
		done2 = x86_jmp_fwd(E);
	}
	/* x / 0 = all ones, x % 0 = x */
	x86_bind(E, zero);
	if (rem)
		x86_mov_rr(E, w, RDX, RAX);
	else
		x86_mov_ri(E, RAX, UINT64_MAX);
	x86_bind(E, done1);
	if (sign)
		x86_bind(E, done2);
	if (w)
		x86_mov_rr(E, true, d, rem ? RDX : RAX);
	else
		x86_movsxd(E, d, rem ? RDX : RAX);
}

/* rax = a, op with c, d = rax */
static void via_rax_rr(struct tr *t, enum x86_alu op, bool not_c)
{
	int a = use(t, t->ip->rs1), c = use(t, t->ip->rs2), d = def(t, t->ip->rd);

	if (not_c) {
		x86_mov_rr(E, true, RAX, c);
		x86_unary(E, UN_NOT, true, RAX);
		x86_alu_rr(E, op, true, RAX, a);
	} else {
		x86_mov_rr(E, true, RAX, a);
		x86_alu_rr(E, op, true, RAX, c);
		x86_unary(E, UN_NOT, true, RAX); /* xnor */
	}
	x86_mov_rr(E, true, d, RAX);
}

static void minmax(struct tr *t, enum x86_cc cc)
{
	int a = use(t, t->ip->rs1), c = use(t, t->ip->rs2), d = def(t, t->ip->rd);

	x86_mov_rr(E, true, RAX, a);
	x86_alu_rr(E, ALU_CMP, true, RAX, c);
	x86_cmov(E, cc, true, RAX, c);
	x86_mov_rr(E, true, d, RAX);
}

static void rotate_rr(struct tr *t, enum x86_shift op, bool w)
{
	shift_rr(t, op, w);
}

static void bit_rr(struct tr *t, enum x86_bt op)
{
	int a = use(t, t->ip->rs1), c = use(t, t->ip->rs2), d = def(t, t->ip->rd);

	if (op == BT_BT) {
		x86_alu_rr(E, ALU_XOR, false, RAX, RAX);
		x86_bt_rr(E, BT_BT, a, c);
		x86_setcc(E, CC_B, RAX);
	} else {
		x86_mov_rr(E, true, RAX, a);
		x86_bt_rr(E, op, RAX, c);
	}
	x86_mov_rr(E, true, d, RAX);
}

static void bit_ri(struct tr *t, enum x86_bt op)
{
	int a = use(t, t->ip->rs1), d = def(t, t->ip->rd);
	uint8_t bit = (uint8_t)t->ip->imm;

	if (op == BT_BT) {
		x86_mov_rr(E, true, RAX, a);
		if (bit)
			x86_shift_ri(E, SH_SHR, true, RAX, bit);
		x86_alu_ri(E, AI_AND, false, RAX, 1);
		x86_mov_rr(E, true, d, RAX);
		return;
	}
	if (d != a)
		x86_mov_rr(E, true, d, a);
	x86_bt_ri(E, op, d, bit);
}

/* count leading/trailing zeros: bsr/bsf, with the zero case by cmov */
static void count_zeros(struct tr *t, bool leading, bool w)
{
	int a = use(t, t->ip->rs1), d = def(t, t->ip->rd);
	int bits = w ? 64 : 32;

	/* clz = (bsr ^ (bits-1)); for zero input use 2*bits-1, which gives bits */
	x86_mov_ri(E, RCX, (uint64_t)(leading ? 2 * bits - 1 : bits));
	if (leading)
		x86_bsr(E, w, RAX, a);
	else
		x86_bsf(E, w, RAX, a);
	x86_cmov(E, CC_E, w, RAX, RCX);
	if (leading)
		x86_alu_ri(E, AI_XOR, false, RAX, bits - 1);
	x86_mov_rr(E, true, d, RAX);
}

static void orc_b(struct tr *t)
{
	int a = use(t, t->ip->rs1), d = def(t, t->ip->rd);

	/* high bit of each byte of ((a & 7f..) + 7f..) | a is set iff the byte is nonzero */
	x86_mov_ri(E, RAX, 0x7f7f7f7f7f7f7f7full);
	x86_mov_rr(E, true, RCX, a);
	x86_alu_rr(E, ALU_AND, true, RCX, RAX);
	x86_alu_rr(E, ALU_ADD, true, RCX, RAX);
	x86_alu_rr(E, ALU_OR, true, RCX, a);
	x86_unary(E, UN_NOT, true, RAX); /* 80..80 */
	x86_alu_rr(E, ALU_AND, true, RCX, RAX);
	x86_shift_ri(E, SH_SHR, true, RCX, 7);
	x86_imul_rri(E, true, RCX, RCX, 0xff);
	x86_mov_rr(E, true, d, RCX);
}

static void tr_ri(struct tr *t)
{
	const struct insn *ip = t->ip;
	int a, d;

	switch (ip->op) {
	case OP_ADDI:
		if (ip->rs1 == 0) {
			d = def(t, ip->rd);
			x86_mov_ri(E, d, (uint64_t)ip->imm);
			break;
		}
		a = use(t, ip->rs1);
		d = def(t, ip->rd);
		if (d == a) {
			if (ip->imm)
				x86_alu_ri(E, AI_ADD, true, d, (int32_t)ip->imm);
		} else {
			x86_lea(E, true, d, a, NO_REG, 1, (int32_t)ip->imm);
		}
		break;
	case OP_SLTI: set_cc_ri(t, CC_L); break;
	case OP_SLTIU: set_cc_ri(t, CC_B); break;
	case OP_XORI: alu_ri(t, AI_XOR); break;
	case OP_ORI: alu_ri(t, AI_OR); break;
	case OP_ANDI: alu_ri(t, AI_AND); break;
	case OP_SLLI: shift_ri(t, SH_SHL, true); break;
	case OP_SRLI: shift_ri(t, SH_SHR, true); break;
	case OP_SRAI: shift_ri(t, SH_SAR, true); break;
	case OP_ADDIW:
		a = use(t, ip->rs1);
		d = def(t, ip->rd);
		if (ip->imm) {
			x86_lea(E, false, RAX, a, NO_REG, 1, (int32_t)ip->imm);
			x86_movsxd(E, d, RAX);
		} else {
			x86_movsxd(E, d, a); /* sext.w */
		}
		break;
	case OP_SLLIW: shift_ri(t, SH_SHL, false); break;
	case OP_SRLIW: shift_ri(t, SH_SHR, false); break;
	case OP_SRAIW: shift_ri(t, SH_SAR, false); break;
	case OP_RORI: shift_ri(t, SH_ROR, true); break;
	case OP_RORIW: shift_ri(t, SH_ROR, false); break;
	case OP_SLLI_UW:
		a = use(t, ip->rs1);
		d = def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		if (ip->imm)
			x86_shift_ri(E, SH_SHL, true, RAX, (uint8_t)ip->imm);
		x86_mov_rr(E, true, d, RAX);
		break;
	case OP_CLZ: count_zeros(t, true, true); break;
	case OP_CLZW: count_zeros(t, true, false); break;
	case OP_CTZ: count_zeros(t, false, true); break;
	case OP_CTZW: count_zeros(t, false, false); break;
	case OP_CPOP:
	case OP_CPOPW:
		a = use(t, ip->rs1);
		d = def(t, ip->rd);
		x86_popcnt(E, ip->op == OP_CPOP, d, a);
		break;
	case OP_SEXT_B:
	case OP_SEXT_H:
	case OP_ZEXT_H:
		a = use(t, ip->rs1);
		d = def(t, ip->rd);
		x86_extend_rr(E, ip->op == OP_SEXT_B ? 1 : 2, ip->op != OP_ZEXT_H, d, a);
		break;
	case OP_ORC_B: orc_b(t); break;
	case OP_REV8:
		a = use(t, ip->rs1);
		d = def(t, ip->rd);
		if (d != a)
			x86_mov_rr(E, true, d, a);
		x86_bswap(E, true, d);
		break;
	case OP_BCLRI: bit_ri(t, BT_BTR); break;
	case OP_BEXTI: bit_ri(t, BT_BT); break;
	case OP_BINVI: bit_ri(t, BT_BTC); break;
	case OP_BSETI: bit_ri(t, BT_BTS); break;
	}
	written(t, ip->rd);
}

static void tr_rr(struct tr *t)
{
	const struct insn *ip = t->ip;
	int a, c, d, sh;

	/* x0 as an operand of add, or, xor (either) or sub (the second):
	 * the other operand's value (C's mv is add rd, x0, rs) */
	if ((ip->op == OP_ADD || ip->op == OP_OR || ip->op == OP_XOR) &&
	    (ip->rs1 == 0 || ip->rs2 == 0)) {
		move(t, ip->rs1 ? ip->rs1 : ip->rs2);
		written(t, ip->rd);
		return;
	}
	if (ip->op == OP_SUB && ip->rs2 == 0) {
		move(t, ip->rs1);
		written(t, ip->rd);
		return;
	}
	switch (ip->op) {
	case OP_ADD: alu_rr(t, ALU_ADD, true); break;
	case OP_SUB: alu_rr(t, ALU_SUB, false); break;
	case OP_XOR: alu_rr(t, ALU_XOR, true); break;
	case OP_OR: alu_rr(t, ALU_OR, true); break;
	case OP_AND: alu_rr(t, ALU_AND, true); break;
	case OP_SLT: set_cc_rr(t, CC_L); break;
	case OP_SLTU: set_cc_rr(t, CC_B); break;
	case OP_SLL: shift_rr(t, SH_SHL, true); break;
	case OP_SRL: shift_rr(t, SH_SHR, true); break;
	case OP_SRA: shift_rr(t, SH_SAR, true); break;
	case OP_SLLW: shift_rr(t, SH_SHL, false); break;
	case OP_SRLW: shift_rr(t, SH_SHR, false); break;
	case OP_SRAW: shift_rr(t, SH_SAR, false); break;
	case OP_ADDW:
		a = use(t, ip->rs1);
		c = use(t, ip->rs2);
		d = def(t, ip->rd);
		x86_lea(E, false, RAX, a, c, 1, 0);
		x86_movsxd(E, d, RAX);
		break;
	case OP_SUBW:
	case OP_MULW:
		a = use(t, ip->rs1);
		c = use(t, ip->rs2);
		d = def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		if (ip->op == OP_SUBW)
			x86_alu_rr(E, ALU_SUB, false, RAX, c);
		else
			x86_imul_rr(E, false, RAX, c);
		x86_movsxd(E, d, RAX);
		break;
	case OP_MUL:
		a = use(t, ip->rs1);
		c = use(t, ip->rs2);
		d = def(t, ip->rd);
		if (d == a) {
			x86_imul_rr(E, true, d, c);
		} else if (d == c) {
			x86_imul_rr(E, true, d, a);
		} else {
			x86_mov_rr(E, true, d, a);
			x86_imul_rr(E, true, d, c);
		}
		break;
	case OP_MULH:
	case OP_MULHU:
	case OP_MULHSU:
		a = use(t, ip->rs1);
		c = use(t, ip->rs2);
		d = def(t, ip->rd);
		x86_mov_rr(E, true, RAX, a);
		x86_unary(E, ip->op == OP_MULH ? UN_IMUL : UN_MUL, true, c);
		if (ip->op == OP_MULHSU) {
			/* signed a * unsigned c: the unsigned product's high half
			 * minus c when a is negative */
			x86_mov_rr(E, true, RCX, a);
			x86_shift_ri(E, SH_SAR, true, RCX, 63);
			x86_alu_rr(E, ALU_AND, true, RCX, c);
			x86_alu_rr(E, ALU_SUB, true, RDX, RCX);
		}
		x86_mov_rr(E, true, d, RDX);
		break;
	case OP_DIV: divide(t, true, false, true); break;
	case OP_DIVU: divide(t, false, false, true); break;
	case OP_REM: divide(t, true, true, true); break;
	case OP_REMU: divide(t, false, true, true); break;
	case OP_DIVW: divide(t, true, false, false); break;
	case OP_DIVUW: divide(t, false, false, false); break;
	case OP_REMW: divide(t, true, true, false); break;
	case OP_REMUW: divide(t, false, true, false); break;
	case OP_ADD_UW:
		a = use(t, ip->rs1);
		c = use(t, ip->rs2);
		d = def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		x86_alu_rr(E, ALU_ADD, true, RAX, c);
		x86_mov_rr(E, true, d, RAX);
		break;
	case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD:
		sh = ip->op - OP_SH1ADD + 1;
		a = use(t, ip->rs1);
		c = use(t, ip->rs2);
		d = def(t, ip->rd);
		x86_lea(E, true, d, c, a, 1 << sh, 0);
		break;
	case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
		sh = ip->op - OP_SH1ADD_UW + 1;
		a = use(t, ip->rs1);
		c = use(t, ip->rs2);
		d = def(t, ip->rd);
		x86_mov_rr(E, false, RAX, a);
		x86_lea(E, true, d, c, RAX, 1 << sh, 0);
		break;
	case OP_ANDN: via_rax_rr(t, ALU_AND, true); break;
	case OP_ORN: via_rax_rr(t, ALU_OR, true); break;
	case OP_XNOR: via_rax_rr(t, ALU_XOR, false); break;
	case OP_MAX: minmax(t, CC_L); break;
	case OP_MAXU: minmax(t, CC_B); break;
	case OP_MIN: minmax(t, CC_G); break;
	case OP_MINU: minmax(t, CC_A); break;
	case OP_ROL: rotate_rr(t, SH_ROL, true); break;
	case OP_ROR: rotate_rr(t, SH_ROR, true); break;
	case OP_ROLW: rotate_rr(t, SH_ROL, false); break;
	case OP_RORW: rotate_rr(t, SH_ROR, false); break;
	case OP_BCLR: bit_rr(t, BT_BTR); break;
	case OP_BEXT: bit_rr(t, BT_BT); break;
	case OP_BINV: bit_rr(t, BT_BTC); break;
	case OP_BSET: bit_rr(t, BT_BTS); break;
	}
	written(t, ip->rd);
}

/* ---- control transfer (the block's last instruction) ---- */

/* A conditional branch; inline_exit >= 0 inside a trace: that way goes on
 * into the next block of the trace (or back to its start: back), the other
 * leaves through a side exit. */
static void tr_branch(struct tr *t, int inline_exit, bool back)
{
	const struct insn *ip = t->ip;
	static const enum x86_cc cc[] = {
		[OP_BEQ - OP_BEQ] = CC_E, [OP_BNE - OP_BEQ] = CC_NE,
		[OP_BLT - OP_BEQ] = CC_L, [OP_BGE - OP_BEQ] = CC_GE,
		[OP_BLTU - OP_BEQ] = CC_B, [OP_BGEU - OP_BEQ] = CC_AE,
	};
	int a = use(t, ip->rs1);
	size_t taken;

	if (ip->rs2 == 0) {
		x86_alu_ri(E, AI_CMP, true, a, 0);
	} else {
		int c = use(t, ip->rs2);
		x86_alu_rr(E, ALU_CMP, true, a, c);
	}
	if (inline_exit >= 0) {
		enum x86_cc when = cc[ip->op - OP_BEQ];
		struct stub *s = new_stub(t, STUB_SIDE_EXIT);

		s->exit = !inline_exit;
		s->target = inline_exit ? insn_pc(t, t->idx) + ip->len : (uint64_t)ip->imm;
		/* x86 condition codes come in pairs: cc ^ 1 is the opposite */
		s->jump = x86_jcc_fwd(E, inline_exit ? (enum x86_cc)(when ^ 1) : when);
		if (back)
			back_edge(t, inline_exit);
		return;
	}
	writeback(t, &t->rs); /* movs keep the flags */
	taken = x86_jcc_fwd(E, cc[ip->op - OP_BEQ]);
	exit_direct(t, 0, insn_pc(t, t->idx) + ip->len);
	x86_bind(E, taken);
	exit_direct(t, 1, (uint64_t)ip->imm);
}

/* jal; inline: the target is the trace's next block (back: its first). */
static void tr_jal(struct tr *t, bool inline_target, bool back)
{
	const struct insn *ip = t->ip;

	if (ip->rd != REG_SINK) {
		int d = def(t, ip->rd);
		x86_mov_ri(E, d, insn_pc(t, t->idx) + ip->len);
		written(t, ip->rd);
	}
	if (back)
		back_edge(t, 1);
	if (inline_target)
		return;
	writeback(t, &t->rs);
	exit_direct(t, 1, (uint64_t)ip->imm);
}

/* jalr: the target is looked up among compiled blocks (struct jit_ind);
 * found, and with no stop or interrupt check pending and budget for this
 * block plus any successor, it is jumped to; else back to the interpreter. */
static void tr_jalr(struct tr *t)
{
	const struct insn *ip = t->ip;
	int a = use(t, ip->rs1);
	size_t miss[3];

	x86_lea(E, true, RAX, a, NO_REG, 1, (int32_t)ip->imm);
	x86_alu_ri(E, AI_AND, true, RAX, -2);
	if (ip->rd != REG_SINK) {
		int d = def(t, ip->rd);
		x86_mov_ri(E, d, insn_pc(t, t->idx) + ip->len);
		written(t, ip->rd);
	}
	writeback(t, &t->rs);
	t->tb->target[1] = NO_TARGET;
	/* rdx = &ind[(pc >> 1) & (JIT_IND_SIZE - 1)] */
	x86_mov_rr(E, false, RCX, RAX);
	x86_shift_ri(E, SH_SHL, false, RCX, 3);
	x86_alu_ri(E, AI_AND, false, RCX, (JIT_IND_SIZE - 1) << 4);
	x86_alu_rm(E, ALU_MOV, true, RDX, RSP, FRAME_IND);
	x86_alu_rr(E, ALU_ADD, true, RDX, RCX);
	x86_alu_rm(E, ALU_CMP, true, RAX, RDX, (int32_t)offsetof(struct jit_ind, pc));
	miss[0] = x86_jcc_fwd(E, CC_NE);
	stop_or_irq(t);
	miss[1] = x86_jcc_fwd(E, CC_NE);
	x86_alu_ri(E, AI_CMP, true, R15, (int32_t)(t->b->n + BLOCK_MAX_INSNS));
	miss[2] = x86_jcc_fwd(E, CC_B);
	x86_alu_ri(E, AI_SUB, true, R15, (int32_t)t->b->n);
	x86_jmp_m(E, RDX, (int32_t)offsetof(struct jit_ind, code));
	for (int i = 0; i < 3; i++)
		x86_bind(E, miss[i]);
	x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(pc), RAX);
	exit_to_epilogue(t, JIT_EXIT_TAKEN, true);
}

/* ---- stubs ---- */

static void emit_stub(struct tr *t, struct stub *s)
{
	size_t ok;

	x86_bind(E, s->jump);
	t->b = s->b; /* the trace's block the stub belongs to */
	t->tb = s->tb;
	if (s->kind == STUB_SIDE_EXIT) {
		writeback(t, &s->rs);
		exit_direct(t, s->exit, s->target);
		return;
	}
	if (s->kind == STUB_LEAVE) { /* back to the interpreter, unchained */
		writeback(t, &s->rs);
		store_pc(t, s->target);
		exit_to_epilogue(t, s->exit, true);
		return;
	}
	if (s->kind == STUB_TRAP) {
		if (s->set_cause) {
			x86_mov_ri(E, RAX, s->cause);
			x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(trap_cause), RAX);
			x86_mov_ri(E, RAX, s->tval);
			x86_alu_mr(E, ALU_MOV, true, RBX, HART_OFF(trap_tval), RAX);
		}
		emit_trap_exit(t, &s->rs, s->idx);
		return;
	}
	/* A TLB miss or page-crossing access: the guest address is in rax. */
	save_caller(t, &s->rs);
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
	call(t, s->kind == STUB_STORE ? (const void *)mem_store_slow : (const void *)mem_load_slow);
	restore_caller(t, &s->rs);
	x86_alu_rr(E, ALU_TEST, false, RAX, RAX);
	ok = x86_jcc_fwd(E, CC_E);
	emit_trap_exit(t, &s->rs, s->idx);
	x86_bind(E, ok);
	if (s->kind == STUB_LOAD) {
		if (s->freg >= 0)
			x86_alu_rm(E, ALU_MOV, true, RAX, RSP, FRAME_VAL); /* boxed at the join */
		else if (s->reg != NO_REG)
			x86_load(E, s->size, s->sign, s->reg, RSP, NO_REG, 1, FRAME_VAL);
	}
	x86_jmp_to(E, s->join);
}

uint32_t jit_compiled_insns(const struct block *b)
{
	uint32_t n = b->n;

	/* an operation left to the interpreter ends its block: the rest is compiled */
	if (n && insn_kind(&b->insns[n - 1]) == K_NONE)
		n--;
	for (uint32_t i = 0; i < n; i++)
		if (insn_kind(&b->insns[i]) == K_NONE)
			return 0;
	return n;
}

bool jit_can_compile(const struct jit *jit, const struct block *b)
{
	uint32_t n = jit_compiled_insns(b);

	for (uint32_t i = 0; i < n; i++)
		if ((b->insns[i].op == OP_CPOP || b->insns[i].op == OP_CPOPW) && !jit->has_popcnt)
			return false;
	return n > 0;
}

bool jit_op_is_branch(int op)
{
	return op_kind(op) == K_BR;
}

/* Translate instructions [0, n) of t->b; inline_exit >= 0: its last one
 * goes on into the trace's next block that way, or with back, to the
 * trace's first block (a loop). */
static void translate_block(struct tr *t, uint32_t n, int inline_exit, bool back)
{
	struct block *b = t->b;

	for (uint32_t i = 0; i < n; i++) {
		const struct insn *ip = &b->insns[i];
		enum kind k = insn_kind(ip);

		t->ip = ip;
		t->idx = (int)i;
		t->locked = 0;
		switch (k) {
		case K_U:
			if (ip->rd != REG_SINK) {
				int d = def(t, ip->rd);
				x86_mov_ri(E, d, (uint64_t)ip->imm);
				written(t, ip->rd);
			}
			break;
		case K_RI:
			if (ip->rd != REG_SINK)
				tr_ri(t);
			break;
		case K_RR:
			if (ip->rd != REG_SINK)
				tr_rr(t);
			break;
		case K_LOAD: tr_load(t); break;
		case K_STORE: tr_store(t); break;
		case K_FLOAD: tr_fload(t); break;
		case K_FSTORE: tr_fstore(t); break;
		case K_AMO: tr_amo(t); break;
		case K_FF: case K_FX: case K_XF: tr_fp(t, k); break;
		case K_FENCE: x86_mfence(E); break;
		case K_BR: tr_branch(t, inline_exit, back); break;
		case K_JAL: tr_jal(t, inline_exit >= 0, back); break;
		case K_JALR: tr_jalr(t); break;
		case K_CSR: tr_csr(t); break;
		case K_NONE: break;
		}
	}
	t->locked = 0;
	if (back) {
		/* a branch or jal made the back edge; else it falls through to it */
		if (!insn_ends_block(&b->insns[n - 1]))
			back_edge(t, 0);
	} else if (inline_exit >= 0) {
		/* on into the next block: the trace's budget was checked on entry */
		x86_alu_ri(E, AI_SUB, true, R15, (int32_t)b->n);
	} else if (n < b->n) {
		/* the interpreter goes on with the last instruction of the block */
		writeback(t, &t->rs);
		store_pc(t, insn_pc(t, (int)n));
		exit_to_epilogue(t, JIT_EXIT_PARTIAL, true);
	} else if (!insn_ends_block(&b->insns[n - 1])) {
		/* ended by the page, the size limit or an unfetchable instruction */
		writeback(t, &t->rs);
		exit_direct(t, 0, b->pc + b->bytes);
	}
}

int jit_translate(struct jit *jit, struct hart *hart, struct emit *e, const struct jit_trace *tr)
{
	struct tr *t;
	int ret = 0;

	for (int i = 0; i < tr->n; i++)
		if (!jit_can_compile(jit, tr->b[i]))
			return -1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->jit = jit;
	t->system = hart->system;
	t->fixed_tlb = !hart->system && !jit->movable_tlb &&
		       hart->tlb == &hart->tlbs[TLB_CTX_U];
	t->flat_addend = t->fixed_tlb ? hart->flat_addend : 0;
	t->e = e;
	memset(t->rs.host_of, -1, sizeof(t->rs.host_of));
	memset(t->rs.guest_of, -1, sizeof(t->rs.guest_of));
	if (tr->loop)
		loop_header(t, tr);
	for (int i = 0; i < tr->n; i++) {
		bool last = i + 1 == tr->n;

		t->b = tr->b[i];
		t->tb = tr->tb[i];
		t->tb->block = t->b;
		t->tb->target[0] = t->tb->target[1] = NO_TARGET;
		translate_block(t, jit_compiled_insns(t->b),
				!last || tr->loop ? tr->dir[i] : -1, last && tr->loop);
	}
	for (int i = 0; i < t->nstubs; i++)
		emit_stub(t, &t->stubs[i]);
	if (t->overflow)
		ret = -1;
	free(t);
	return ret;
}
