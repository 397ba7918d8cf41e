/* Translation of a trace (one decoded block or several) to x86-64: this
 * file walks the instructions and hands each to its lowering; the pieces
 * are op classification (classify.c), the register cache (regcache.c),
 * exits and loops (exits.c), memory (lower_mem.c), integer ALU
 * (lower_alu.c), C-helper operations (lower_helper.c), jumps
 * (lower_jump.c) and out-of-line stubs (stubs.c).
 *
 * Guest registers live in struct hart; eight of them have a home host
 * register that holds them from the entry trampoline to the epilogue
 * (regcache.c: jit_homes), and the others are cached in host registers
 * within a trace, loaded on first use and written back at every exit.  The
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
#include "jit/translate.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Translate instructions [0, n) of t->b; inline_exit >= 0: its last one
 * goes on into the trace's next block that way, or with back, to the
 * trace's first block (a loop). */
static void translate_block(struct tr *t, uint32_t n, int inline_exit, bool back)
{
	struct block *b = t->b;

	for (uint32_t i = 0; i < n; i++) {
		const struct insn *ip = &b->insns[i];
		enum kind k = tr_insn_kind(ip);

		t->ip = ip;
		t->idx = (int)i;
		t->locked = 0;
		t->flocked = 0;
		switch (k) {
		case K_U:
			if (ip->rd != REG_SINK) {
				int d = reg_def(t, ip->rd);
				x86_mov_ri(E, d, (uint64_t)ip->imm);
				reg_written(t, ip->rd);
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
			tr_back_edge(t, 0);
	} else if (inline_exit >= 0) {
		/* on into the next block: the trace's budget was checked on entry */
		x86_alu_ri(E, AI_SUB, true, R15, (int32_t)b->n);
	} else if (n < b->n) {
		/* the interpreter goes on with the last instruction of the block */
		reg_to_convention(t, &t->rs);
		tr_store_pc(t, insn_pc(t, (int)n));
		tr_exit_to_epilogue(t, JIT_EXIT_PARTIAL, true);
	} else if (!insn_ends_block(&b->insns[n - 1])) {
		/* ended by the page, the size limit or an unfetchable instruction */
		reg_to_convention(t, &t->rs);
		tr_exit_direct(t, 0, b->pc + b->bytes);
	}
}

int jit_translate(struct jit *jit, struct hart *hart, struct emit *e, const struct jit_trace *tr)
{
	struct tr *t;
	int ret = 0;

	for (int i = 0; i < tr->n; i++)
		if (!jit_can_compile(jit, tr->b[i]))
			return -1;
	if (!jit->tr) {
		/* mapped once, not taken from the heap at each translation:
		 * a thread's arena shrinking after such a free makes glibc read
		 * /proc/sys/vm/overcommit_memory, which the jail forbids */
		void *p = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return -1;
		jit->tr = p;
	}
	t = jit->tr;
	/* Not the stubs (most of the 51 KiB): each is cleared as it is taken
	 * (tr_new_stub), and a boot compiles some 2,000 traces. */
	memset(t, 0, offsetof(struct tr, stubs));
	t->jit = jit;
	t->system = hart->system;
	t->fixed_tlb = !hart->system && !jit->movable_tlb &&
		       hart->tlb == &hart->tlbs[TLB_CTX_U];
	t->flat_addend = t->fixed_tlb ? hart->flat_addend : 0;
	t->direct = t->flat_addend && hart->mem_direct &&
		    __atomic_load_n(hart->mem_direct, __ATOMIC_ACQUIRE);
	t->e = e;
	reg_convention(&t->conv);
	t->rs = t->conv;
	if (tr->loop)
		tr_loop_header(t, tr);
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
		tr_emit_stub(t, &t->stubs[i]);
	if (t->overflow)
		ret = -1;
	return ret;
}

void jit_translate_free(struct jit *jit)
{
	if (jit->tr)
		munmap(jit->tr, sizeof(struct tr));
	jit->tr = NULL;
}
