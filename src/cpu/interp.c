/* The interpreter's dispatch skeleton: runs one decoded block with direct
 * threading (each decoded instruction holds the address of its handler;
 * handlers end by jumping to the next one), so no switch on opcode bits
 * sits in the hot loop.  The handler bodies live in interp_*.inc, by
 * extension; the engine (src/engine) decides which block runs next.
 * instret is added per block and made exact at a trap from the
 * instruction's index. */
#include "condo/cpu.h"
#include "cpu/alu.h"
#include "cpu/amo.h"
#include "cpu/csr.h"
#include "cpu/fpu.h"
#include "cpu/guest_access.h"
#include "cpu/interp.h"
#include "cpu/priv.h"
#include "cpu/regval.h"
#include "cpu/tlb.h"

#include <string.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Runs the block (see cpu_interp_block); with table set, only hands out
 * the handler table instead: [op] for each operation, [OP_COUNT] for a
 * block's terminator.  Labels are local to the function that has them. */
static enum cpu_block_end run_block(struct hart *h, struct block *b, uint32_t first,
				    uint32_t max, const struct cpu_interp_bound *bound,
				    struct block **lastp, const void *const **table)
{
	static const void *const handlers[OP_COUNT + 1] = {
#define CPU_OP_LABEL(name) [OP_##name] = &&L_##name,
		CPU_OPS(CPU_OP_LABEL)
#undef CPU_OP_LABEL
		[OP_COUNT] = &&L_BLOCK_END,
	};
	/* A copy of a block cut short by max. */
	_Alignas(struct block) uint8_t partial_buf[sizeof(struct block) +
						   (BLOCK_MAX_INSNS + 1) * sizeof(struct insn)];
	uint64_t *const x = h ? h->x : NULL;
	/* the bound in locals: stores to blocks could alias it */
	const uint64_t limit = bound ? bound->limit : 0;
	const uint32_t due = bound ? bound->due : 0;
	const bool stop_unrepeatable = bound && bound->stop_unrepeatable;
	const struct insn *ip;
	uint64_t addr, val, next_pc;
	int taken;

	if (table) {
		*table = handlers;
		return BLOCK_REDIRECT;
	}
	if (unlikely(max < b->n - first)) {
		/* Only the instructions max allows; none of them transfers
		 * control, since only a block's last one can. */
		struct block *partial = (struct block *)partial_buf;
		uint32_t end = first + max;

		memcpy(partial, b, sizeof(*b) + (end + 1) * sizeof(struct insn));
		partial->n = end;
		partial->insns[end].handler = &&L_LIMIT_END;
		b = partial;
	}
	ip = &b->insns[first];
	goto *ip->handler;

#define X(r)       x[r]
#define NEXT       do { ip++; goto *ip->handler; } while (0)
#define PC         (b->pc + ip->off)
#define PC_NEXT    (PC + ip->len)
#define TRAP(c, v) do { h->trap_cause = (c); h->trap_tval = (v); goto trap; } while (0)
#define ILLEGAL()  TRAP(CAUSE_ILLEGAL_INSN, ip->raw)
/* End the block: account for it and leave for target by exit t. */
#define END_BLOCK(target, t) do { next_pc = (target); taken = (t); goto end_block; } while (0)

#define ALU_RR(name, expr) L_##name: { uint64_t a = X(ip->rs1), c = X(ip->rs2); (void)c; X(ip->rd) = (expr); NEXT; }
#define ALU_RI(name, expr) L_##name: { uint64_t a = X(ip->rs1), c = (uint64_t)ip->imm; (void)c; X(ip->rd) = (expr); NEXT; }

/* The hit path's access is fault tolerant (cpu/guest_access.h): when
 * another thread took the page since the TLB entry was made, it goes to
 * the slow path, which translates afresh. */
#define LOAD(name, type, n) \
	L_##name: { \
		__label__ slow_; \
		uint8_t *p_; \
		uint64_t v_; \
		addr = X(ip->rs1) + ip->imm; \
		if (likely((p_ = tlb_hit(h, ACC_READ, addr, n)) != NULL)) { \
			GUEST_LOAD(n, v_, p_, slow_); \
		} else { \
slow_: \
			if (mem_load_slow(h, addr, n, &val) < 0) \
				goto trap; \
			v_ = val; \
		} \
		X(ip->rd) = (uint64_t)(int64_t)(type)v_; \
		NEXT; \
	}

#define STORE_BITS(addr_, len_, v_) \
	do { \
		__label__ slow_; \
		uint8_t *p_ = tlb_hit(h, ACC_WRITE, (addr_), (len_)); \
		uint64_t sv_ = (v_); \
		if (likely(p_ != NULL)) { \
			GUEST_STORE(len_, p_, sv_, slow_); \
		} else { \
slow_: \
			if (mem_store_slow(h, (addr_), (len_), sv_) < 0) \
				goto trap; \
		} \
	} while (0)

#define STORE(name, len) \
	L_##name: STORE_BITS(X(ip->rs1) + ip->imm, len, X(ip->rs2)); NEXT;

#define BRANCH(name, cond) \
	L_##name: { \
		uint64_t a = X(ip->rs1), c = X(ip->rs2); \
		if (cond) \
			END_BLOCK((uint64_t)ip->imm, 1); \
		END_BLOCK(PC_NEXT, 0); \
	}

#include "cpu/interp_rv64i.inc"
#include "cpu/interp_system.inc"
#include "cpu/interp_amo.inc"
#include "cpu/interp_fp.inc"
#include "cpu/interp_bitmanip.inc"

	/* ---- block boundaries ---- */
L_BLOCK_END:
	/* The terminator of a block that ends without a control transfer. */
	END_BLOCK(b->pc + b->bytes, 0);
L_LIMIT_END:
	/* The end of a block cut short: the engine decides what next. */
	h->pc = PC;
	h->instret += b->n;
	return BLOCK_REDIRECT;

end_block:
	h->instret += b->n;
	b->exits[taken]++; /* which way it goes: traces follow the usual way */
	if (bound) {
		struct block *nb = b->chain[taken];

		if (unlikely(nb == NULL || nb->pc != next_pc || b->chain_epoch != cpu_chain_tag(h))) {
			/* Not chained (an indirect jump to a new target): a block
			 * already decoded for next_pc will do; decoding is the engine's. */
			const uint8_t *code = tlb_hit(h, ACC_EXEC, next_pc, 2);

			nb = code ? block_lookup(h->blocks, next_pc, code) : NULL;
			if (nb)
				block_chain(b, taken, nb, cpu_chain_tag(h));
		}
		if (likely(nb != NULL && !(h->stop_request | h->irq_check) && nb->heat + 1 < due &&
			   limit - h->instret >= nb->n &&
			   !(nb->unrepeatable && stop_unrepeatable))) {
			nb->heat++;
			b = nb;
			ip = b->insns;
			goto *ip->handler;
		}
		*lastp = b;
	}
	h->pc = next_pc;
	return (enum cpu_block_end)taken;

trap:
	/* Precise: pc names the instruction, instret counts those before it. */
	h->pc = PC;
	h->instret += (uint64_t)(ip - b->insns);
	return BLOCK_TRAP;
}

enum cpu_block_end cpu_interp_block(struct hart *hart, struct block *b, uint32_t first,
				    uint32_t max)
{
	return run_block(hart, b, first, max, NULL, NULL, NULL);
}

enum cpu_block_end cpu_interp_run(struct hart *hart, struct block **b,
				  const struct cpu_interp_bound *bound)
{
	return run_block(hart, *b, 0, UINT32_MAX, bound, b, NULL);
}

struct block *cpu_block_at(struct hart *h, gva_t pc)
{
	const void *const *handlers;
	const uint8_t *code = tlb_hit(h, ACC_EXEC, pc, 2);
	struct block *b;
	bool full;

	if (!code && !(code = tlb_fill(h, ACC_EXEC, pc, 2)))
		goto fault;
	b = block_lookup(h->blocks, pc, code);
	if (b)
		return b;
	run_block(NULL, NULL, 0, 0, NULL, NULL, &handlers);
	b = block_build(h, pc, handlers, handlers[OP_COUNT], &full);
	if (!b && full) {
		cpu_code_flush(h);
		b = block_build(h, pc, handlers, handlers[OP_COUNT], &full);
	}
	if (b)
		return b;
fault:
	/* The block at pc could not be fetched; nothing of it ran. */
	h->pc = pc;
	return NULL;
}
