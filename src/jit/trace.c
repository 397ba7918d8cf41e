/* Trace formation: which blocks a hot block's compiled code takes in.
 *
 * A block ends at its first control transfer, so a loop body or an if-else
 * is several short blocks, and each one's compiled code would write the
 * cached registers back, check for stops, interrupts and budget, and jump
 * to the next.  A trace follows the way the interpreter saw each block
 * leave (block->exits, counted while it was warming up) into the next
 * block, and the translator compiles the whole path as one piece: the
 * register cache carries over, a branch becomes a compare with an
 * out-of-line side exit for the unusual way, and the budget is checked
 * once for the whole trace on entry.
 *
 * The successors must be on the head's virtual page, which is fetched
 * from the head's host page now (the head is about to run), so they are
 * found by pc and host address among the decoded blocks; that page's
 * fetch permission covers them, and a write to it drops the trace with the
 * head (codemap.h).  They must have been decoded already (run at least
 * once) and must not cross into the next page.  The trace stops at a
 * block it already holds (back at its first: a loop, see translate.c), at
 * an indirect jump, at a block with an operation left to the interpreter
 * (that one may be its last), at a branch never seen leaving, after
 * JIT_TRACE_MAX blocks, and at BLOCK_MAX_INSNS instructions in all, which
 * the indirect-jump budget check assumes. */
#include "jit/jit_internal.h"

/* The exit to follow from b (0 or 1) and its target, or -1: the only one,
 * or of a branch, the way back to the head when it was ever taken (the
 * loop stays in compiled code), else the way taken more often.  Following
 * the less usual way costs no more than ending the trace would: the other
 * way is a side exit, which costs what a block's end does. */
static int usual_exit(const struct block *b, const struct block *head, uint64_t *target)
{
	const struct insn *last = &b->insns[b->n - 1];
	uint64_t to[2];
	int k;

	if (!insn_ends_block(last)) {
		*target = b->pc + b->bytes;
		return 0;
	}
	if (last->op == OP_JAL) {
		*target = (uint64_t)last->imm;
		return 1;
	}
	if (!jit_op_is_branch(last->op) || !(b->exits[0] | b->exits[1]))
		return -1;
	to[0] = b->pc + last->off + last->len;
	to[1] = (uint64_t)last->imm;
	if (to[0] == head->pc && b->exits[0])
		k = 0;
	else if (to[1] == head->pc && b->exits[1])
		k = 1;
	else
		k = b->exits[1] > b->exits[0];
	*target = to[k];
	return k;
}

/* Its last instruction goes back to the interpreter (JIT_EXIT_PARTIAL). */
static bool partial(const struct block *b)
{
	return jit_compiled_insns(b) < b->n;
}

void jit_trace_form(struct jit *jit, struct hart *hart, struct block *head, struct jit_trace *tr)
{
	tr->n = 1;
	tr->loop = false;
	tr->b[0] = head;
	tr->insns = head->n;
	if (!jit_can_compile(jit, head) || partial(head) || block_crosses_page(head))
		return;
	while (tr->n < JIT_TRACE_MAX) {
		struct block *cur = tr->b[tr->n - 1], *next;
		uint64_t target;
		int dir = usual_exit(cur, head, &target);

		if (dir < 0)
			return;
		if ((target & GUEST_PAGE_MASK) != (head->pc & GUEST_PAGE_MASK))
			return;
		next = block_lookup(hart->blocks, target, head->host + (target - head->pc));
		if (!next)
			return;
		for (int i = 0; i < tr->n; i++) {
			if (tr->b[i] == next) {
				tr->dir[tr->n - 1] = dir;
				tr->loop = i == 0;
				return;
			}
		}
		if (block_crosses_page(next) || tr->insns + next->n > BLOCK_MAX_INSNS ||
		    !jit_can_compile(jit, next))
			return;
		tr->dir[tr->n - 1] = dir;
		tr->b[tr->n++] = next;
		tr->insns += next->n;
		if (partial(next))
			return; /* the interpreter goes on from its last instruction */
	}
}
