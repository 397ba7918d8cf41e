/* The run loop: find the block at the pc (through the chain its
 * predecessor left, else the block cache), count its runs until it is hot,
 * have it compiled, run its compiled code or interpret it, and between
 * blocks act on stop, flush and interrupt requests, the instruction
 * budget, timer polls and (system mode) traps. */
#include "cpu/interp.h"
#include "cpu/priv.h"
#include "engine/engine_internal.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Timers are polled every POLL_MIN to POLL_MAX instructions: POLL_MIN
 * (a few µs of compiled code) while the nearest deadline is close or the
 * hart's speed unknown, up to POLL_MAX (about 0.2 ms compiled, 2 ms
 * interpreted) while it is far.  Each poll ends the chains of compiled
 * code running then, so polling every 16K instructions cost the in-guest
 * gzip 260,000 exits (docs/BENCHMARKS.md). */
#define POLL_MIN 16384
#define POLL_MAX 262144
/* The rate is measured over at least this many timebase ticks (100 ns). */
#define RATE_MIN_TICKS 100

/* The instret at which the loop next stops to look outside: the caller's
 * limit, or in system mode the next timer poll if that comes first.  The
 * poll's instret is the engine's, not reset by a new engine_loop call, so
 * callers that come back more often than the polls are due (lockstep's
 * spans, SBI calls) do not put them off. */
static uint64_t next_poll(const struct hart *h, struct engine *eng)
{
	if (!h->system)
		return h->insn_limit;
	/* not planned yet, or instret moved back (a restore, lockstep
	 * putting a span back): due one interval from here */
	if (eng->poll_next > h->instret + POLL_MAX)
		eng->poll_next = h->instret + (eng->poll_insns ? eng->poll_insns : POLL_MIN);
	if (eng->poll_next < h->instret)
		return h->instret; /* overdue: now */
	return eng->poll_next < h->insn_limit ? eng->poll_next : h->insn_limit;
}

/* Poll the timers and plan the next poll: half the instructions the hart
 * would run until the nearest deadline at the rate it ran since the last
 * measurement (it may slow down: interpreted code, devices), so a timer
 * interrupt is seen about as soon as with polls every POLL_MIN, and far
 * less often when no deadline is near.  A comparator written meanwhile
 * sets irq_check (cpu_timer_poll), and the loop plans again. */
static void timer_poll(struct hart *h, struct engine *eng)
{
	uint64_t now, deadline = cpu_timer_check(h, &now);
	uint64_t dt = now - eng->poll_time, n = POLL_MIN;

	if (now < eng->poll_time || h->instret < eng->poll_instret) {
		eng->rate = 0; /* the clock or the count moved back (a restore) */
		eng->poll_time = now;
		eng->poll_instret = h->instret;
	} else if (dt >= RATE_MIN_TICKS) {
		uint64_t insns = h->instret - eng->poll_instret;

		eng->rate = insns < (UINT64_MAX >> 16) ? (insns << 16) / dt : 0;
		eng->poll_time = now;
		eng->poll_instret = h->instret;
	}
	if (deadline == UINT64_MAX) {
		n = POLL_MAX;
	} else if (eng->rate) {
		unsigned __int128 ahead = (unsigned __int128)(deadline - now) * eng->rate >> 17;

		n = ahead > POLL_MAX ? POLL_MAX : ahead < POLL_MIN ? POLL_MIN : (uint64_t)ahead;
	}
	eng->poll_insns = n;
	eng->poll_next = h->instret + n;
	eng->stats.polls++;
}

/* Why compiled code returned by a direct or indirect exit, told at the
 * next block b (--jit-stats). */
static void count_exit(struct engine *eng, const struct hart *h, const struct block *b,
		       uint64_t limit, bool indirect)
{
	enum engine_leave why;

	if (h->stop_request | h->irq_check)
		why = LEAVE_PENDING;
	else if (limit - h->instret < (b->jit_entry ? b->jit_n : b->n))
		why = LEAVE_BUDGET;
	else if (!b->jit_entry)
		why = indirect ? LEAVE_INDIRECT_COLD : LEAVE_COLD;
	else if (indirect)
		why = LEAVE_INDIRECT;
	else
		why = LEAVE_UNCHAINED;
	eng->stats.leave[why]++;
}

/* The last instruction of a block compiled code left to the interpreter. */
static enum engine_leave partial_kind(const struct block *b)
{
	switch (b->insns[b->n - 1].op) {
	case OP_ECALL: return LEAVE_ECALL;
	case OP_SRET: return LEAVE_SRET;
	case OP_MRET: return LEAVE_MRET;
	case OP_WFI: return LEAVE_WFI;
	case OP_SFENCE_VMA: return LEAVE_SFENCE;
	case OP_FENCE_I: return LEAVE_FENCE_I;
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC: case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		return LEAVE_CSR;
	default: return LEAVE_OTHER;
	}
}

int engine_loop(struct hart *h, struct engine *eng, unsigned flags)
{
	const bool shadow = flags & RUN_SHADOW;
	struct cpu_interp_bound bound = {
		/* interpreted blocks come back when due to be compiled */
		.due = flags & RUN_COMPILED ? eng->hot : UINT32_MAX,
		.stop_unrepeatable = shadow,
	};
	struct block *b = NULL, *nb;
	enum cpu_block_end end;
	uint64_t limit, flushes;
	int taken = 0;
	/* compiled code returned by an exit to the next block (1: by jalr) */
	int left = -1;
	gva_t pc;

	cpu_sync_generations(h);
	limit = next_poll(h, eng);
	pc = h->pc;

lookup:
	flushes = eng->flushes;
	nb = cpu_block_at(h, pc);
	if (!nb)
		goto trap;
	if (b && eng->flushes == flushes)
		block_chain(b, taken, nb, cpu_chain_tag(h));
	b = nb;

enter:
	if (left >= 0) {
		count_exit(eng, h, b, limit, left);
		left = -1;
	}
	if (unlikely(h->stop_request | h->irq_check)) {
		h->pc = b->pc;
		if (shadow)
			return RUN_PENDING;
		if (h->stop_request) {
			__atomic_store_n(&h->stop_request, 0, __ATOMIC_SEQ_CST);
			return CPU_EXIT_STOP;
		}
		/* Clear before reading mip: a device raising a line afterwards sets it again. */
		__atomic_store_n(&h->irq_check, 0, __ATOMIC_SEQ_CST);
		if (h->flush_req) {
			cpu_flush_requests(h, __atomic_exchange_n(&h->flush_req, 0, __ATOMIC_SEQ_CST));
			pc = h->pc;
			b = NULL; /* it may be gone: look it up again */
			/* and look at interrupts there: one pending already (a level,
			 * as after a restore) raises no new kick, and was lost when
			 * a flush came with the kick that announced it */
			__atomic_store_n(&h->irq_check, 1, __ATOMIC_SEQ_CST);
			goto lookup;
		}
		if (h->system) {
			uint64_t irq;

			/* a comparator may have moved (cpu_timer_poll): plan again */
			timer_poll(h, eng);
			limit = next_poll(h, eng);
			irq = trap_pending_interrupt(h);

			if (irq) {
				eng->stats.interrupts++;
				trap_take(h, irq, 0);
				pc = h->pc;
				b = NULL;
				goto lookup;
			}
		}
	}
	if (unlikely(shadow && b->unrepeatable)) {
		h->pc = b->pc;
		return RUN_BOUNDARY;
	}
	if (unlikely(limit - h->instret < b->n)) {
		h->pc = b->pc;
		if (h->instret >= limit) {
			if (h->system && h->instret >= eng->poll_next) {
				/* time to poll the timers (also at the caller's limit:
				 * it may come back sooner than a poll is due) */
				timer_poll(h, eng);
				limit = next_poll(h, eng);
				if (h->instret < limit)
					goto enter;
			}
			if (h->instret >= h->insn_limit)
				return CPU_EXIT_LIMIT;
			limit = next_poll(h, eng);
			goto enter;
		}
		end = cpu_interp_block(h, b, 0, (uint32_t)(limit - h->instret));
		goto ended;
	}
	if (flags & RUN_COMPILED) {
		/* Hot blocks run as host code; the rest stay interpreted. */
		if (!b->jit_entry && ++b->heat >= eng->hot) {
			b->jit_entry = jit_compile(eng->jit, h, b);
			if (!b->jit_entry)
				b->heat = 0; /* not compilable now: try again when hot again */
		}
		if (b->jit_entry && limit - h->instret >= b->jit_n) {
			struct block *last = b;
			int r;

			eng->last_compiled = b;
			eng->flushes_at_last = eng->flushes;
			r = jit_run(eng->jit, h, &last, limit);
			if (likely(r < JIT_EXIT_TRAP)) {
				/* It may have chained on: the last block is counted here. */
				b = last;
				h->instret += b->n;
				b->exits[r]++;
				left = b->insns[b->n - 1].op == OP_JALR;
				end = (enum cpu_block_end)r;
				goto ended;
			}
			if (r == JIT_EXIT_TRAP) {
				eng->stats.leave[LEAVE_TRAP]++;
				goto trap; /* pc and instret already exact */
			}
			if (r == JIT_EXIT_PARTIAL) {
				/* Only the block's last instruction is left: interpret it. */
				b = last;
				eng->stats.leave[partial_kind(b)]++;
				if (shadow && b->unrepeatable) {
					h->instret += b->n - 1;
					h->pc = b->pc + b->insns[b->n - 1].off;
					return RUN_BOUNDARY;
				}
				end = cpu_interp_block(h, b, b->n - 1, UINT32_MAX);
				goto ended;
			}
			/* JIT_EXIT_AGAIN: nothing ran; interpret the block */
		}
	}
	bound.limit = limit;
	end = cpu_interp_run(h, &b, &bound);

ended:
	switch (end) {
	case BLOCK_NEXT_FALL:
	case BLOCK_NEXT_TAKEN:
		taken = (int)end; /* the exit was counted (block->exits) */
		pc = h->pc;
		nb = b->chain[taken];
		if (likely(nb != NULL && nb->pc == pc && b->chain_epoch == cpu_chain_tag(h))) {
			b = nb;
			goto enter;
		}
		goto lookup;
	case BLOCK_REDIRECT:
		pc = h->pc;
		b = NULL; /* no chain remembers it (and after fence.i it is gone) */
		goto lookup;
	case BLOCK_ECALL:
		return CPU_EXIT_ECALL;
	case BLOCK_TRAP:
		break;
	}

trap:
	/* pc names the faulting instruction, instret counts those before it */
	left = -1;
	if (!h->system)
		return CPU_EXIT_TRAP;
	eng->stats.traps++;
	if (h->trap_cause == CAUSE_INSN_PAGE_FAULT || h->trap_cause == CAUSE_LOAD_PAGE_FAULT ||
	    h->trap_cause == CAUSE_STORE_PAGE_FAULT)
		eng->stats.page_faults++;
	trap_take(h, h->trap_cause, h->trap_tval);
	/* A trap storm retires nothing, so for the watchdog each trap uses up
	 * one instruction of --max-insns; and stop requests are honoured
	 * here, since such a loop may never finish a block. */
	if (h->insn_limit != UINT64_MAX) {
		h->insn_limit--;
		limit = next_poll(h, eng);
	}
	if (unlikely(h->stop_request)) {
		__atomic_store_n(&h->stop_request, 0, __ATOMIC_SEQ_CST);
		return CPU_EXIT_STOP;
	}
	if (unlikely(h->instret >= h->insn_limit))
		return CPU_EXIT_LIMIT;
	pc = h->pc;
	b = NULL;
	goto lookup;
}

enum cpu_exit engine_run(struct hart *h)
{
	struct engine *eng = h->engine;

	if (!eng) {
		if (engine_setup_hart(h, ENGINE_INTERP, 0, 0) < 0)
			return CPU_EXIT_STOP; /* cannot run at all without memory */
		eng = h->engine;
	}
	if (eng->kind == ENGINE_LOCKSTEP)
		return lockstep_run(h, eng);
	return (enum cpu_exit)engine_loop(h, eng, eng->jit ? RUN_COMPILED : 0);
}
