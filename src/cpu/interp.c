/* The interpreter: runs decoded blocks with direct threading (each decoded
 * instruction holds the address of its handler; handlers end by jumping to
 * the next one), so no switch on opcode bits sits in the hot loop.  Blocks
 * chain to their successors through per-block pointers, so a loop runs
 * without a hash lookup.  instret is added per block and made exact at a
 * trap from the instruction's index. */
#include "condo/cpu.h"
#include "condo/jit.h"
#include "cpu/block.h"
#include "cpu/csr.h"
#include "cpu/fpu.h"
#include "cpu/priv.h"
#include "cpu/regval.h"
#include "cpu/tlb.h"

#include <string.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)


static uint64_t mulh_ss(int64_t a, int64_t b) { return (uint64_t)(((__int128)a * b) >> 64); }
static uint64_t mulh_uu(uint64_t a, uint64_t b) { return (uint64_t)(((unsigned __int128)a * b) >> 64); }
static uint64_t mulh_su(int64_t a, uint64_t b)
{
	return (uint64_t)(((__int128)a * (unsigned __int128)b) >> 64);
}

/* Division by zero and overflow give the results the spec tabulates (unpriv 7.2). */
static uint64_t div_s(int64_t a, int64_t b)
{
	if (b == 0)
		return UINT64_MAX;
	if (a == INT64_MIN && b == -1)
		return (uint64_t)a;
	return (uint64_t)(a / b);
}

static uint64_t rem_s(int64_t a, int64_t b)
{
	if (b == 0)
		return (uint64_t)a;
	if (a == INT64_MIN && b == -1)
		return 0;
	return (uint64_t)(a % b);
}

static uint64_t divw_s(int32_t a, int32_t b)
{
	if (b == 0)
		return UINT64_MAX;
	if (a == INT32_MIN && b == -1)
		return (uint64_t)(int64_t)a;
	return (uint64_t)(int64_t)(a / b);
}

static uint64_t remw_s(int32_t a, int32_t b)
{
	if (b == 0)
		return (uint64_t)(int64_t)a;
	if (a == INT32_MIN && b == -1)
		return 0;
	return (uint64_t)(int64_t)(a % b);
}

static uint64_t orc_b(uint64_t v)
{
	uint64_t r = 0;

	for (int i = 0; i < 64; i += 8)
		if ((v >> i) & 0xff)
			r |= 0xffull << i;
	return r;
}

static uint64_t rol64(uint64_t v, unsigned s) { s &= 63; return s ? v << s | v >> (64 - s) : v; }
static uint64_t ror64(uint64_t v, unsigned s) { s &= 63; return s ? v >> s | v << (64 - s) : v; }
static uint32_t rol32(uint32_t v, unsigned s) { s &= 31; return s ? v << s | v >> (32 - s) : v; }
static uint32_t ror32(uint32_t v, unsigned s) { s &= 31; return s ? v >> s | v << (32 - s) : v; }

/* Refresh cached translations and code the environment has invalidated. */
static void sync_generations(struct hart *h)
{
	if (h->tlb_generation && *h->tlb_generation != h->tlb_generation_seen) {
		h->tlb_generation_seen = *h->tlb_generation;
		cpu_tlb_flush(h);
	}
	if (h->code_generation && *h->code_generation != h->code_generation_seen) {
		h->code_generation_seen = *h->code_generation;
		cpu_code_flush(h);
	}
	/* Pages written while we were away (another thread's stores, DMA). */
	if (h->code_map && code_map_seq(h->code_map) != h->code_seen)
		cpu_flush_requests(h, CPU_FLUSH_CODE_PAGES);
}

/* Timers are polled every this many instructions (a few tens of µs). */
#define POLL_INSNS 16384

/* The instret at which cpu_run next stops to look outside: the caller's
 * limit, or in system mode the next timer poll if that comes first. */
static uint64_t next_poll(const struct hart *h)
{
	if (h->system && h->insn_limit - h->instret > POLL_INSNS)
		return h->instret + POLL_INSNS;
	return h->insn_limit;
}

enum cpu_exit cpu_run(struct hart *h)
{
	static const void *const handlers[OP_COUNT] = {
#define CPU_OP_LABEL(name) [OP_##name] = &&L_##name,
		CPU_OPS(CPU_OP_LABEL)
#undef CPU_OP_LABEL
	};
	/* A copy of a block truncated by the instruction limit. */
	_Alignas(struct block) uint8_t partial_buf[sizeof(struct block) +
						   (BLOCK_MAX_INSNS + 1) * sizeof(struct insn)];
	struct block *partial = (struct block *)partial_buf;
	uint64_t *const x = h->x;
	const struct insn *ip;
	struct block *b, *nb;
	const uint8_t *code;
	uint64_t next_pc, addr, val, limit;
	int taken;
	bool full;

	sync_generations(h);
	limit = next_poll(h);
	next_pc = h->pc;
	b = NULL;
	taken = 0;

lookup:
	code = tlb_hit(h, ACC_EXEC, next_pc, 2);
	if (!code && !(code = tlb_fill(h, ACC_EXEC, next_pc, 2)))
		goto fetch_fault;
	nb = block_lookup(h->blocks, next_pc, code);
	if (!nb) {
		nb = block_build(h, next_pc, handlers, &&L_BLOCK_END, &full);
		if (!nb && full) {
			cpu_code_flush(h);
			b = NULL; /* its memory is about to be reused */
			nb = block_build(h, next_pc, handlers, &&L_BLOCK_END, &full);
		}
		if (!nb)
			goto fetch_fault;
	}
	if (b) {
		if (b->chain_epoch != h->tlb_epoch) {
			b->chain[0] = b->chain[1] = NULL;
			b->chain_epoch = h->tlb_epoch;
		}
		b->chain[taken] = nb;
	}
	b = nb;

enter:
	if (unlikely(h->stop_request | h->irq_check)) {
		h->pc = b->pc;
		if (h->stop_request) {
			__atomic_store_n(&h->stop_request, 0, __ATOMIC_SEQ_CST);
			return CPU_EXIT_STOP;
		}
		/* Clear before reading mip: a device raising a line afterwards sets it again. */
		__atomic_store_n(&h->irq_check, 0, __ATOMIC_SEQ_CST);
		if (h->flush_req) {
			cpu_flush_requests(h, __atomic_exchange_n(&h->flush_req, 0, __ATOMIC_SEQ_CST));
			next_pc = h->pc;
			b = NULL; /* it may be gone: look it up again */
			goto lookup;
		}
		if (h->system) {
			uint64_t irq = trap_pending_interrupt(h);
			if (irq) {
				trap_take(h, irq, 0);
				next_pc = h->pc;
				b = NULL;
				goto lookup;
			}
		}
	}
	if (unlikely(limit - h->instret < b->n)) {
		uint64_t left = limit - h->instret;

		h->pc = b->pc;
		if (h->instret >= limit) {
			if (h->instret >= h->insn_limit)
				return CPU_EXIT_LIMIT;
			/* Not the caller's limit: time to poll the timers. */
			cpu_timer_poll(h);
			limit = next_poll(h);
			goto enter;
		}
		/* Run only the instructions the limit allows; none of them
		 * transfers control, since only a block's last one can. */
		memcpy(partial, b, sizeof(*b) + (left + 1) * sizeof(struct insn));
		partial->n = (uint32_t)left;
		partial->insns[left].handler = &&L_LIMIT_END;
		b = partial;
	} else if (h->jit && h->engine != ENGINE_INTERP) {
		/* Hot blocks run as host code; the rest stay interpreted. */
		if (!b->jit_entry && ++b->heat == h->jit_hot)
			b->jit_entry = jit_compile(h->jit, h, b);
		if (unlikely(b->jit_entry && h->engine == ENGINE_LOCKSTEP)) {
			/* Compared with the interpreter, then interpreted for real below. */
			if (jit_lockstep(h->jit, h, b) < 0) {
				next_pc = h->pc;
				b = NULL; /* dropped meanwhile */
				goto lookup;
			}
		} else if (b->jit_entry && limit - h->instret >= b->jit_n) {
			struct block *last = b;
			int r = jit_run(h->jit, h, &last, limit);
			if (likely(r < JIT_EXIT_TRAP)) {
				/* It may have chained on: end_block counts the last block. */
				b = last;
				next_pc = h->pc;
				taken = r;
				goto end_block;
			}
			if (r == JIT_EXIT_TRAP)
				goto take_trap; /* pc and instret already exact */
			if (r == JIT_EXIT_PARTIAL) {
				/* Only the block's last instruction is left: interpret it. */
				b = last;
				ip = &b->insns[b->n - 1];
				goto *ip->handler;
			}
			/* JIT_EXIT_AGAIN: nothing ran; interpret the block */
		}
	}
	ip = b->insns;
	goto *ip->handler;

#define X(r)       x[r]
#define NEXT       do { ip++; goto *ip->handler; } while (0)
#define PC         (b->pc + ip->off)
#define PC_NEXT    (PC + ip->len)
#define TRAP(c, v) do { h->trap_cause = (c); h->trap_tval = (v); goto trap; } while (0)
#define ILLEGAL()  TRAP(CAUSE_ILLEGAL_INSN, ip->raw)
/* End the block: account for it and go to next_pc through chain slot t. */
#define END_BLOCK(target, t) do { next_pc = (target); taken = (t); goto end_block; } while (0)

#define ALU_RR(name, expr) L_##name: { uint64_t a = X(ip->rs1), c = X(ip->rs2); (void)c; X(ip->rd) = (expr); NEXT; }
#define ALU_RI(name, expr) L_##name: { uint64_t a = X(ip->rs1), c = (uint64_t)ip->imm; (void)c; X(ip->rd) = (expr); NEXT; }

#define LOAD(name, type) \
	L_##name: { \
		type v_; \
		uint8_t *p_; \
		addr = X(ip->rs1) + ip->imm; \
		if (likely((p_ = tlb_hit(h, ACC_READ, addr, sizeof(type)) ) != NULL)) { \
			memcpy(&v_, p_, sizeof(type)); \
		} else { \
			if (mem_load_slow(h, addr, sizeof(type), &val) < 0) \
				goto trap; \
			v_ = (type)val; \
		} \
		X(ip->rd) = (uint64_t)(int64_t)v_; \
		NEXT; \
	}

#define STORE_BITS(addr_, len_, v_) \
	do { \
		uint8_t *p_ = tlb_hit(h, ACC_WRITE, (addr_), (len_)); \
		uint64_t sv_ = (v_); \
		if (likely(p_ != NULL)) \
			memcpy(p_, &sv_, (len_)); \
		else if (mem_store_slow(h, (addr_), (len_), sv_) < 0) \
			goto trap; \
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

	/* ---- RV64I ---- */
L_LUI:   X(ip->rd) = (uint64_t)ip->imm; NEXT;
L_AUIPC: X(ip->rd) = (uint64_t)ip->imm; NEXT;
L_JAL:   X(ip->rd) = PC_NEXT; END_BLOCK((uint64_t)ip->imm, 1);
L_JALR: {
	uint64_t target = (X(ip->rs1) + ip->imm) & ~1ull;
	X(ip->rd) = PC_NEXT;
	END_BLOCK(target, 1);
}
	BRANCH(BEQ, a == c)
	BRANCH(BNE, a != c)
	BRANCH(BLT, (int64_t)a < (int64_t)c)
	BRANCH(BGE, (int64_t)a >= (int64_t)c)
	BRANCH(BLTU, a < c)
	BRANCH(BGEU, a >= c)

	LOAD(LB, int8_t)
	LOAD(LH, int16_t)
	LOAD(LW, int32_t)
	LOAD(LD, int64_t)
	LOAD(LBU, uint8_t)
	LOAD(LHU, uint16_t)
	LOAD(LWU, uint32_t)
	STORE(SB, 1)
	STORE(SH, 2)
	STORE(SW, 4)
	STORE(SD, 8)

	ALU_RI(ADDI, a + c)
	ALU_RI(SLTI, (int64_t)a < (int64_t)c)
	ALU_RI(SLTIU, a < c)
	ALU_RI(XORI, a ^ c)
	ALU_RI(ORI, a | c)
	ALU_RI(ANDI, a & c)
	ALU_RI(SLLI, a << c)
	ALU_RI(SRLI, a >> c)
	ALU_RI(SRAI, (uint64_t)((int64_t)a >> c))
	ALU_RR(ADD, a + c)
	ALU_RR(SUB, a - c)
	ALU_RR(SLL, a << (c & 63))
	ALU_RR(SLT, (int64_t)a < (int64_t)c)
	ALU_RR(SLTU, a < c)
	ALU_RR(XOR, a ^ c)
	ALU_RR(SRL, a >> (c & 63))
	ALU_RR(SRA, (uint64_t)((int64_t)a >> (c & 63)))
	ALU_RR(OR, a | c)
	ALU_RR(AND, a & c)
	ALU_RI(ADDIW, sext32(a + c))
	ALU_RI(SLLIW, sext32(a << c))
	ALU_RI(SRLIW, sext32((uint32_t)a >> c))
	ALU_RI(SRAIW, (uint64_t)(int64_t)((int32_t)a >> c))
	ALU_RR(ADDW, sext32(a + c))
	ALU_RR(SUBW, sext32(a - c))
	ALU_RR(SLLW, sext32(a << (c & 31)))
	ALU_RR(SRLW, sext32((uint32_t)a >> (c & 31)))
	ALU_RR(SRAW, (uint64_t)(int64_t)((int32_t)a >> (c & 31)))

L_FENCE:
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	NEXT;
L_FENCE_I:
	/* Our own later fetches must see our earlier stores: drop decoded code.
	 * The block stays readable (the arena is only reset), but we leave it now. */
	h->instret += b->n;
	cpu_code_flush(h);
	next_pc = PC_NEXT;
	b = NULL;
	goto lookup;
L_ECALL:
	if (h->system && !(h->sbi_in_host && h->priv == PRV_S))
		TRAP(CAUSE_ECALL_U + h->priv, 0);
	h->pc = PC;
	h->instret += (uint64_t)(ip - b->insns);
	return CPU_EXIT_ECALL;
L_EBREAK:
	TRAP(CAUSE_BREAKPOINT, PC);

	/* ---- privileged instructions (priv 3.3) ---- */
L_MRET:
	if (h->priv < PRV_M)
		ILLEGAL();
	h->instret += b->n;
	next_pc = trap_mret(h);
	b = NULL;
	goto lookup;
L_SRET:
	if (h->priv < PRV_S || (h->priv == PRV_S && (h->csr.mstatus & MSTATUS_TSR)))
		ILLEGAL();
	h->instret += b->n;
	next_pc = trap_sret(h);
	b = NULL;
	goto lookup;
L_WFI:
	if (!h->system || h->priv == PRV_U ||
	    (h->priv == PRV_S && (h->csr.mstatus & MSTATUS_TW)))
		ILLEGAL();
	/* Sleep the host thread until an enabled interrupt is pending. */
	if (!(cpu_mip(h) & h->csr.mie) && !h->stop_request)
		cpu_idle_wait(h);
	h->irq_check = 1;
	END_BLOCK(PC_NEXT, 0);
L_SFENCE_VMA:
	if (!h->system || h->priv == PRV_U ||
	    (h->priv == PRV_S && (h->csr.mstatus & MSTATUS_TVM)))
		ILLEGAL();
	/* With an address: that page only (ASIDs are not kept apart). */
	if (ip->rs1)
		cpu_tlb_flush_page(h, X(ip->rs1));
	else
		cpu_tlb_flush(h);
	END_BLOCK(PC_NEXT, 0);
L_ILLEGAL:
	ILLEGAL();

	/* ---- M ---- */
	ALU_RR(MUL, a * c)
	ALU_RR(MULH, mulh_ss((int64_t)a, (int64_t)c))
	ALU_RR(MULHSU, mulh_su((int64_t)a, c))
	ALU_RR(MULHU, mulh_uu(a, c))
	ALU_RR(DIV, div_s((int64_t)a, (int64_t)c))
	ALU_RR(DIVU, c ? a / c : UINT64_MAX)
	ALU_RR(REM, rem_s((int64_t)a, (int64_t)c))
	ALU_RR(REMU, c ? a % c : a)
	ALU_RR(MULW, sext32(a * c))
	ALU_RR(DIVW, divw_s((int32_t)a, (int32_t)c))
	ALU_RR(DIVUW, (uint32_t)c ? sext32((uint32_t)a / (uint32_t)c) : UINT64_MAX)
	ALU_RR(REMW, remw_s((int32_t)a, (int32_t)c))
	ALU_RR(REMUW, (uint32_t)c ? sext32((uint32_t)a % (uint32_t)c) : sext32(a))

	/* ---- A: host atomics on the host address, so harts on other host
	 * threads see them atomically; aq/rl are subsumed by SEQ_CST. ---- */
#define AMO_PTR(len, acc, misaligned_cause) ({ \
		addr = X(ip->rs1); \
		if (addr & ((len) - 1)) \
			TRAP(misaligned_cause, addr); \
		uint8_t *p_ = mem_atomic_ptr(h, acc, addr, len); \
		if (!p_) \
			goto trap; \
		p_; })
#define AMO_OP(name, type, fn) \
	L_##name: { \
		type *p = (type *)AMO_PTR(sizeof(type), ACC_WRITE, CAUSE_STORE_MISALIGNED); \
		X(ip->rd) = (uint64_t)(int64_t)fn(p, (type)X(ip->rs2), __ATOMIC_SEQ_CST); \
		NEXT; \
	}
#define AMO_CAS(name, type, pick) \
	L_##name: { \
		type *p = (type *)AMO_PTR(sizeof(type), ACC_WRITE, CAUSE_STORE_MISALIGNED); \
		type b_ = (type)X(ip->rs2), old = __atomic_load_n(p, __ATOMIC_RELAXED); \
		while (!__atomic_compare_exchange_n(p, &old, (pick) ? old : b_, false, \
						    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) \
			; \
		X(ip->rd) = (uint64_t)(int64_t)old; \
		NEXT; \
	}
#define LR(name, type) \
	L_##name: { \
		type *p = (type *)AMO_PTR(sizeof(type), ACC_READ, CAUSE_LOAD_MISALIGNED); \
		type v = __atomic_load_n(p, __ATOMIC_SEQ_CST); \
		h->resv_addr = addr; \
		h->resv_value = (uint64_t)v; \
		h->resv_valid = true; \
		X(ip->rd) = (uint64_t)(int64_t)v; \
		NEXT; \
	}
	/* SC succeeds when memory still holds what LR read: a compare-and-swap,
	 * atomic against every other hart. */
#define SC(name, type) \
	L_##name: { \
		addr = X(ip->rs1); \
		if (addr & (sizeof(type) - 1)) \
			TRAP(CAUSE_STORE_MISALIGNED, addr); \
		if (!h->resv_valid || h->resv_addr != addr) { \
			X(ip->rd) = 1; \
			NEXT; \
		} \
		h->resv_valid = false; \
		type *p = (type *)AMO_PTR(sizeof(type), ACC_WRITE, CAUSE_STORE_MISALIGNED); \
		type expect = (type)h->resv_value; \
		X(ip->rd) = !__atomic_compare_exchange_n(p, &expect, (type)X(ip->rs2), false, \
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
		NEXT; \
	}
	LR(LR_W, int32_t)
	SC(SC_W, int32_t)
	AMO_OP(AMOSWAP_W, int32_t, __atomic_exchange_n)
	AMO_OP(AMOADD_W, int32_t, __atomic_fetch_add)
	AMO_OP(AMOXOR_W, int32_t, __atomic_fetch_xor)
	AMO_OP(AMOAND_W, int32_t, __atomic_fetch_and)
	AMO_OP(AMOOR_W, int32_t, __atomic_fetch_or)
	AMO_CAS(AMOMIN_W, int32_t, old < b_)
	AMO_CAS(AMOMAX_W, int32_t, old > b_)
	AMO_CAS(AMOMINU_W, int32_t, (uint32_t)old < (uint32_t)b_)
	AMO_CAS(AMOMAXU_W, int32_t, (uint32_t)old > (uint32_t)b_)
	LR(LR_D, int64_t)
	SC(SC_D, int64_t)
	AMO_OP(AMOSWAP_D, int64_t, __atomic_exchange_n)
	AMO_OP(AMOADD_D, int64_t, __atomic_fetch_add)
	AMO_OP(AMOXOR_D, int64_t, __atomic_fetch_xor)
	AMO_OP(AMOAND_D, int64_t, __atomic_fetch_and)
	AMO_OP(AMOOR_D, int64_t, __atomic_fetch_or)
	AMO_CAS(AMOMIN_D, int64_t, old < b_)
	AMO_CAS(AMOMAX_D, int64_t, old > b_)
	AMO_CAS(AMOMINU_D, int64_t, (uint64_t)old < (uint64_t)b_)
	AMO_CAS(AMOMAXU_D, int64_t, (uint64_t)old > (uint64_t)b_)

	/* ---- Zicsr: rd = x0 skips the read, rs1 = x0 (or uimm 0) skips the
	 * write of csrrs/csrrc (unpriv 9.1). ---- */
#define CSR_OP(name, src) \
	L_##name: { \
		uint64_t old; \
		h->instret += (uint64_t)(ip - b->insns); /* counters read exactly */ \
		int bad = csr_insn(h, ip, (src), &old) < 0; \
		h->instret -= (uint64_t)(ip - b->insns); \
		if (bad) \
			ILLEGAL(); \
		X(ip->rd) = old; \
		END_BLOCK(PC_NEXT, 0); \
	}
	CSR_OP(CSRRW, X(ip->rs1))
	CSR_OP(CSRRS, X(ip->rs1))
	CSR_OP(CSRRC, X(ip->rs1))
	CSR_OP(CSRRWI, ip->rs1)
	CSR_OP(CSRRSI, ip->rs1)
	CSR_OP(CSRRCI, ip->rs1)

	/* ---- F and D ---- */
#define F(r)   h->f[r]
#define FS(r)  unbox_s(h->f[r])
/* The rounding mode: the instruction's, or frm when it says dynamic;
 * frm values 5-7 make the instruction illegal (unpriv 11.2). */
#define RM() ({ unsigned rm_ = ip->rm == 7 ? h->frm : ip->rm; if (rm_ > 4) ILLEGAL(); (int)rm_; })
#define FL (&h->fflags)
/* FP instructions are illegal while mstatus.FS is Off (priv 3.1.6.6). */
#define FPCHK do { if (unlikely(!(h->csr.mstatus & MSTATUS_FS))) ILLEGAL(); } while (0)

L_FLW: FPCHK; {
	uint8_t *p_ = tlb_hit(h, ACC_READ, addr = X(ip->rs1) + ip->imm, 4);
	uint32_t v;
	if (likely(p_ != NULL)) {
		memcpy(&v, p_, 4);
	} else {
		if (mem_load_slow(h, addr, 4, &val) < 0)
			goto trap;
		v = (uint32_t)val;
	}
	F(ip->rd) = box_s(v);
	NEXT;
}
L_FLD: FPCHK; {
	uint8_t *p_ = tlb_hit(h, ACC_READ, addr = X(ip->rs1) + ip->imm, 8);
	if (likely(p_ != NULL))
		memcpy(&F(ip->rd), p_, 8);
	else if (mem_load_slow(h, addr, 8, &F(ip->rd)) < 0)
		goto trap;
	NEXT;
}
L_FSW: FPCHK; STORE_BITS(X(ip->rs1) + ip->imm, 4, F(ip->rs2)); NEXT;
L_FSD: FPCHK; STORE_BITS(X(ip->rs1) + ip->imm, 8, F(ip->rs2)); NEXT;

#define FOP_S2(name, fn) L_##name: { FPCHK; int rm = RM(); F(ip->rd) = box_s(fn(FS(ip->rs1), FS(ip->rs2), rm, FL)); NEXT; }
#define FOP_D2(name, fn) L_##name: { FPCHK; int rm = RM(); F(ip->rd) = fn(F(ip->rs1), F(ip->rs2), rm, FL); NEXT; }
#define FOP_S3(name, fn) L_##name: { FPCHK; int rm = RM(); F(ip->rd) = box_s(fn(FS(ip->rs1), FS(ip->rs2), FS(ip->rs3), rm, FL)); NEXT; }
#define FOP_D3(name, fn) L_##name: { FPCHK; int rm = RM(); F(ip->rd) = fn(F(ip->rs1), F(ip->rs2), F(ip->rs3), rm, FL); NEXT; }
	FOP_S3(FMADD_S, fpu_madd_s)
	FOP_S3(FMSUB_S, fpu_msub_s)
	FOP_S3(FNMSUB_S, fpu_nmsub_s)
	FOP_S3(FNMADD_S, fpu_nmadd_s)
	FOP_S2(FADD_S, fpu_add_s)
	FOP_S2(FSUB_S, fpu_sub_s)
	FOP_S2(FMUL_S, fpu_mul_s)
	FOP_S2(FDIV_S, fpu_div_s)
L_FSQRT_S: FPCHK; { int rm = RM(); F(ip->rd) = box_s(fpu_sqrt_s(FS(ip->rs1), rm, FL)); NEXT; }
L_FSGNJ_S: FPCHK;  F(ip->rd) = box_s((FS(ip->rs1) & 0x7fffffffu) | (FS(ip->rs2) & 0x80000000u)); NEXT;
L_FSGNJN_S: FPCHK; F(ip->rd) = box_s((FS(ip->rs1) & 0x7fffffffu) | (~FS(ip->rs2) & 0x80000000u)); NEXT;
L_FSGNJX_S: FPCHK; F(ip->rd) = box_s(FS(ip->rs1) ^ (FS(ip->rs2) & 0x80000000u)); NEXT;
L_FMIN_S: FPCHK; F(ip->rd) = box_s(fpu_min_s(FS(ip->rs1), FS(ip->rs2), FL)); NEXT;
L_FMAX_S: FPCHK; F(ip->rd) = box_s(fpu_max_s(FS(ip->rs1), FS(ip->rs2), FL)); NEXT;
L_FCVT_W_S: FPCHK;  { int rm = RM(); X(ip->rd) = fpu_cvt_w_s(FS(ip->rs1), rm, FL); NEXT; }
L_FCVT_WU_S: FPCHK; { int rm = RM(); X(ip->rd) = fpu_cvt_wu_s(FS(ip->rs1), rm, FL); NEXT; }
L_FCVT_L_S: FPCHK;  { int rm = RM(); X(ip->rd) = fpu_cvt_l_s(FS(ip->rs1), rm, FL); NEXT; }
L_FCVT_LU_S: FPCHK; { int rm = RM(); X(ip->rd) = fpu_cvt_lu_s(FS(ip->rs1), rm, FL); NEXT; }
L_FMV_X_W: FPCHK; X(ip->rd) = (uint64_t)sext32(F(ip->rs1)); NEXT;
L_FEQ_S: FPCHK; X(ip->rd) = fpu_eq_s(FS(ip->rs1), FS(ip->rs2), FL); NEXT;
L_FLT_S: FPCHK; X(ip->rd) = fpu_lt_s(FS(ip->rs1), FS(ip->rs2), FL); NEXT;
L_FLE_S: FPCHK; X(ip->rd) = fpu_le_s(FS(ip->rs1), FS(ip->rs2), FL); NEXT;
L_FCLASS_S: FPCHK; X(ip->rd) = fpu_class_s(FS(ip->rs1)); NEXT;
L_FCVT_S_W: FPCHK;  { int rm = RM(); F(ip->rd) = box_s(fpu_cvt_s_w(X(ip->rs1), rm, FL)); NEXT; }
L_FCVT_S_WU: FPCHK; { int rm = RM(); F(ip->rd) = box_s(fpu_cvt_s_wu(X(ip->rs1), rm, FL)); NEXT; }
L_FCVT_S_L: FPCHK;  { int rm = RM(); F(ip->rd) = box_s(fpu_cvt_s_l(X(ip->rs1), rm, FL)); NEXT; }
L_FCVT_S_LU: FPCHK; { int rm = RM(); F(ip->rd) = box_s(fpu_cvt_s_lu(X(ip->rs1), rm, FL)); NEXT; }
L_FMV_W_X: FPCHK; F(ip->rd) = box_s((uint32_t)X(ip->rs1)); NEXT;

	FOP_D3(FMADD_D, fpu_madd_d)
	FOP_D3(FMSUB_D, fpu_msub_d)
	FOP_D3(FNMSUB_D, fpu_nmsub_d)
	FOP_D3(FNMADD_D, fpu_nmadd_d)
	FOP_D2(FADD_D, fpu_add_d)
	FOP_D2(FSUB_D, fpu_sub_d)
	FOP_D2(FMUL_D, fpu_mul_d)
	FOP_D2(FDIV_D, fpu_div_d)
#define SIGN_D 0x8000000000000000ull
L_FSQRT_D: FPCHK; { int rm = RM(); F(ip->rd) = fpu_sqrt_d(F(ip->rs1), rm, FL); NEXT; }
L_FSGNJ_D: FPCHK;  F(ip->rd) = (F(ip->rs1) & ~SIGN_D) | (F(ip->rs2) & SIGN_D); NEXT;
L_FSGNJN_D: FPCHK; F(ip->rd) = (F(ip->rs1) & ~SIGN_D) | (~F(ip->rs2) & SIGN_D); NEXT;
L_FSGNJX_D: FPCHK; F(ip->rd) = F(ip->rs1) ^ (F(ip->rs2) & SIGN_D); NEXT;
L_FMIN_D: FPCHK; F(ip->rd) = fpu_min_d(F(ip->rs1), F(ip->rs2), FL); NEXT;
L_FMAX_D: FPCHK; F(ip->rd) = fpu_max_d(F(ip->rs1), F(ip->rs2), FL); NEXT;
L_FCVT_S_D: FPCHK; { int rm = RM(); F(ip->rd) = box_s(fpu_cvt_s_d(F(ip->rs1), rm, FL)); NEXT; }
L_FCVT_D_S: FPCHK; { int rm = RM(); F(ip->rd) = fpu_cvt_d_s(FS(ip->rs1), rm, FL); NEXT; }
L_FCVT_W_D: FPCHK;  { int rm = RM(); X(ip->rd) = fpu_cvt_w_d(F(ip->rs1), rm, FL); NEXT; }
L_FCVT_WU_D: FPCHK; { int rm = RM(); X(ip->rd) = fpu_cvt_wu_d(F(ip->rs1), rm, FL); NEXT; }
L_FCVT_L_D: FPCHK;  { int rm = RM(); X(ip->rd) = fpu_cvt_l_d(F(ip->rs1), rm, FL); NEXT; }
L_FCVT_LU_D: FPCHK; { int rm = RM(); X(ip->rd) = fpu_cvt_lu_d(F(ip->rs1), rm, FL); NEXT; }
L_FMV_X_D: FPCHK; X(ip->rd) = F(ip->rs1); NEXT;
L_FEQ_D: FPCHK; X(ip->rd) = fpu_eq_d(F(ip->rs1), F(ip->rs2), FL); NEXT;
L_FLT_D: FPCHK; X(ip->rd) = fpu_lt_d(F(ip->rs1), F(ip->rs2), FL); NEXT;
L_FLE_D: FPCHK; X(ip->rd) = fpu_le_d(F(ip->rs1), F(ip->rs2), FL); NEXT;
L_FCLASS_D: FPCHK; X(ip->rd) = fpu_class_d(F(ip->rs1)); NEXT;
L_FCVT_D_W: FPCHK;  { int rm = RM(); F(ip->rd) = fpu_cvt_d_w(X(ip->rs1), rm, FL); NEXT; }
L_FCVT_D_WU: FPCHK; { int rm = RM(); F(ip->rd) = fpu_cvt_d_wu(X(ip->rs1), rm, FL); NEXT; }
L_FCVT_D_L: FPCHK;  { int rm = RM(); F(ip->rd) = fpu_cvt_d_l(X(ip->rs1), rm, FL); NEXT; }
L_FCVT_D_LU: FPCHK; { int rm = RM(); F(ip->rd) = fpu_cvt_d_lu(X(ip->rs1), rm, FL); NEXT; }
L_FMV_D_X: FPCHK; F(ip->rd) = X(ip->rs1); NEXT;

	/* ---- Zba ---- */
	ALU_RR(ADD_UW, (uint32_t)a + c)
	ALU_RR(SH1ADD, (a << 1) + c)
	ALU_RR(SH2ADD, (a << 2) + c)
	ALU_RR(SH3ADD, (a << 3) + c)
	ALU_RR(SH1ADD_UW, ((uint64_t)(uint32_t)a << 1) + c)
	ALU_RR(SH2ADD_UW, ((uint64_t)(uint32_t)a << 2) + c)
	ALU_RR(SH3ADD_UW, ((uint64_t)(uint32_t)a << 3) + c)
	ALU_RI(SLLI_UW, (uint64_t)(uint32_t)a << c)

	/* ---- Zbb ---- */
	ALU_RR(ANDN, a & ~c)
	ALU_RR(ORN, a | ~c)
	ALU_RR(XNOR, ~(a ^ c))
	ALU_RI(CLZ, a ? (uint64_t)__builtin_clzll(a) : 64)
	ALU_RI(CLZW, (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32)
	ALU_RI(CTZ, a ? (uint64_t)__builtin_ctzll(a) : 64)
	ALU_RI(CTZW, (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32)
	ALU_RI(CPOP, (uint64_t)__builtin_popcountll(a))
	ALU_RI(CPOPW, (uint64_t)__builtin_popcount((uint32_t)a))
	ALU_RR(MAX, (int64_t)a > (int64_t)c ? a : c)
	ALU_RR(MAXU, a > c ? a : c)
	ALU_RR(MIN, (int64_t)a < (int64_t)c ? a : c)
	ALU_RR(MINU, a < c ? a : c)
	ALU_RI(SEXT_B, (uint64_t)(int64_t)(int8_t)a)
	ALU_RI(SEXT_H, (uint64_t)(int64_t)(int16_t)a)
	ALU_RI(ZEXT_H, (uint16_t)a)
	ALU_RR(ROL, rol64(a, (unsigned)c))
	ALU_RR(ROLW, sext32(rol32((uint32_t)a, (unsigned)c)))
	ALU_RR(ROR, ror64(a, (unsigned)c))
	ALU_RI(RORI, ror64(a, (unsigned)c))
	ALU_RI(RORIW, sext32(ror32((uint32_t)a, (unsigned)c)))
	ALU_RR(RORW, sext32(ror32((uint32_t)a, (unsigned)c)))
	ALU_RI(ORC_B, orc_b(a))
	ALU_RI(REV8, __builtin_bswap64(a))

	/* ---- Zbs ---- */
	ALU_RR(BCLR, a & ~(1ull << (c & 63)))
	ALU_RI(BCLRI, a & ~(1ull << c))
	ALU_RR(BEXT, (a >> (c & 63)) & 1)
	ALU_RI(BEXTI, (a >> c) & 1)
	ALU_RR(BINV, a ^ (1ull << (c & 63)))
	ALU_RI(BINVI, a ^ (1ull << c))
	ALU_RR(BSET, a | (1ull << (c & 63)))
	ALU_RI(BSETI, a | (1ull << c))

	/* ---- block boundaries ---- */
L_BLOCK_END:
	/* The terminator of a block that ends without a control transfer. */
	END_BLOCK(b->pc + b->bytes, 0);
L_LIMIT_END:
	/* The end of a block cut short by the limit: enter decides what next. */
	h->instret += b->n;
	next_pc = PC;
	b = NULL;
	goto lookup;

end_block:
	h->instret += b->n;
	b->exits[taken]++; /* which way it goes: traces follow the usual way */
	nb = b->chain[taken];
	if (likely(nb != NULL && nb->pc == next_pc && b->chain_epoch == h->tlb_epoch)) {
		b = nb;
		goto enter;
	}
	goto lookup;

trap:
	/* Precise: pc names the instruction, instret counts those before it. */
	h->pc = PC;
	h->instret += (uint64_t)(ip - b->insns);
take_trap:
	if (!h->system)
		return CPU_EXIT_TRAP;
	trap_take(h, h->trap_cause, h->trap_tval);
	/* A trap storm retires nothing, so for the watchdog each trap uses up
	 * one instruction of --max-insns; and stop requests are honoured
	 * here, since such a loop may never finish a block. */
	if (h->insn_limit != UINT64_MAX) {
		h->insn_limit--;
		limit = next_poll(h);
	}
	if (unlikely(h->stop_request)) {
		__atomic_store_n(&h->stop_request, 0, __ATOMIC_SEQ_CST);
		return CPU_EXIT_STOP;
	}
	if (unlikely(h->instret >= h->insn_limit))
		return CPU_EXIT_LIMIT;
	next_pc = h->pc;
	b = NULL;
	goto lookup;

fetch_fault:
	/* The block at next_pc could not be fetched; nothing of it ran. */
	h->pc = next_pc;
	goto take_trap;
}
