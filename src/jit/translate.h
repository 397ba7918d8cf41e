/* The translator's pieces shared by the files that lower a trace to
 * x86-64: the translation state, the register cache's state, stubs, and
 * what each file offers the others (see translate.c for the design). */
#ifndef JIT_TRANSLATE_H
#define JIT_TRANSLATE_H

#include "cpu/csr.h"
#include "cpu/priv.h"
#include "cpu/tlb.h"
#include "jit/jit_internal.h"

#include <limits.h>
#include <string.h>

_Static_assert(sizeof(struct tlb_entry) == 16, "TLB entry layout");
_Static_assert(TLB_ENTRIES == 256, "TLB index mask");

#define MAX_STUBS 256
#define NO_TARGET UINT64_MAX

/* The host registers that cache guest registers (regcache.c). */
extern const int8_t jit_reg_pool[10];
#define CALLER_SAVED_MASK (1u << RSI | 1u << RDI | 1u << R8 | 1u << R9 | 1u << R10 | 1u << R11)

struct regstate {
	int8_t host_of[33]; /* guest x register -> host register, or -1 */
	int8_t guest_of[16];
	uint16_t dirty;     /* host registers newer than their hart->x slot */
	/* The F-register cache (fregcache.c): none at any trace entry. */
	int8_t xmm_of[32];  /* guest f register -> xmm register, or -1 */
	int8_t f_of[16];    /* xmm register -> guest f register, or -1 */
	uint16_t fdirty;    /* xmm registers newer than their hart->f slot */
};

enum stub_kind { STUB_TRAP, STUB_LOAD, STUB_STORE, STUB_SIDE_EXIT, STUB_LEAVE, STUB_FP };

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
	size_t more_jumps[5]; /* and of further ones (STUB_FP's checks) */
	uint8_t njumps;
	const struct insn *ip; /* STUB_FP: the instruction its helper does */
	size_t join;       /* where a slow path rejoins the fast path */
	size_t fault_at;   /* a direct access: the host instruction that may fault (0: none) */
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
	struct regstate conv; /* reg_convention's */
	uint16_t locked; /* host registers the current instruction uses */
	uint16_t flocked; /* and xmm registers */
	uint32_t fclock;  /* F-cache use counter: the least recently used is evicted */
	uint32_t fused[16];
	bool fs_ok;      /* mstatus.FS already checked in this block */
	bool frm_ok;     /* frm already checked valid in this block */
	bool system;     /* a system-mode hart: TLB contexts change */
	/* The hart's TLB is always its own U set (app mode, not lockstep's
	 * private set): its entries are at a fixed offset from rbx; and with
	 * flat_addend, every entry's addend is that value. */
	bool fixed_tlb;
	uintptr_t flat_addend;
	/* Guest memory is reached directly at flat_addend below hart->mem_size
	 * (struct hart's mem_direct), else through the TLB. */
	bool direct;
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

static inline int32_t x_off(int g)
{
	return (int32_t)(offsetof(struct hart, x) + 8 * (size_t)g);
}

static inline int32_t f_off(int g)
{
	return (int32_t)(offsetof(struct hart, f) + 8 * (size_t)g);
}

#define HART_OFF(field) ((int32_t)offsetof(struct hart, field))

static inline uint64_t insn_pc(const struct tr *t, int idx)
{
	return t->b->pc + t->b->insns[idx].off;
}

/* ---- operation classes (classify.c) ---- */

enum kind tr_insn_kind(const struct insn *ip);

/* The x registers an instruction reads (up to two, -1 for none) and writes. */
void tr_x_regs(const struct insn *ip, int *r1, int *r2, int *w);

/* ---- the register cache and helper calls (regcache.c) ---- */

/* ---- the register cache ---- */

void reg_map(struct tr *t, int g, int h);

void reg_spill(struct tr *t, int h);

/* The host register holding guest register g (loaded if needed). */
int reg_use(struct tr *t, int g);

/* The host register that will receive guest register g's new value.  Its
 * old value stays there (and dirty) until the instruction writes it. */
int reg_def(struct tr *t, int g);

void reg_written(struct tr *t, int g);

/* The state at every entry to compiled code: the home registers
 * (jit_homes) in place, counted dirty (their hart->x slots are stale). */
void reg_convention(struct regstate *rs);

/* Leave state rs for the convention (at every exit, which goes on to
 * other compiled code or the epilogue): dirty registers without a home,
 * or out of it, written back; homes not holding their register loaded.
 * Only moves: the flags survive. */
void reg_to_convention(struct tr *t, const struct regstate *rs);

void reg_save_caller(struct tr *t, const struct regstate *rs);

void reg_restore_caller(struct tr *t, const struct regstate *rs);

/* Load guest register g into argument register arg after save_caller: a
 * caller-saved source is read from its save slot, since setting earlier
 * arguments may have overwritten it. */
void reg_load_arg(struct tr *t, int arg, int g);

void reg_call(struct tr *t, const void *fn);

/* ---- the F-register cache (fregcache.c) ----
 * Guest f registers in xmm2-xmm15 (xmm0 and xmm1 are scratch) within a
 * trace: loaded on first use, written back at every exit and before every
 * C call (reg_save_caller), and loaded again after it (reg_restore_caller),
 * since the psABI has every xmm register caller-saved.  Code that reads or
 * writes hart->f directly first makes the slot current (freg_to_mem), and
 * forgets a register it wrote there (freg_forget). */

void freg_reset(struct regstate *rs);

/* The xmm register holding f register f (loaded if needed). */
int freg_use(struct tr *t, int f);

/* The xmm register that will receive f's new value (not loaded). */
int freg_def(struct tr *t, int f);

void freg_written(struct tr *t, int f);

/* hart->f[f] current: written back when dirty in an xmm register. */
void freg_to_mem(struct tr *t, int f);

/* Drop f from the cache without a store: hart->f[f] has just been written. */
void freg_forget(struct tr *t, int f);

/* Store every dirty xmm register of rs to its slot (only moves). */
void freg_write_back(struct tr *t, const struct regstate *rs);

/* Load every cached register of rs from its slot (after a call). */
void freg_reload(struct tr *t, const struct regstate *rs);

/* Make the F cache what the loop header has (the back edge). */
void freg_reconcile(struct tr *t, const struct regstate *want);

/* The f registers a loop trace keeps in xmm registers from its header on:
 * the most used of those only written into the cache, loaded on entry;
 * those written count as dirty from the header on. */
void freg_loop_header(struct tr *t, const struct jit_trace *tr);

/* ---- exits, chain sites and loops (exits.c) ---- */

/* ---- exits ---- */

void tr_exit_to_epilogue(struct tr *t, int code, bool with_tb);

void tr_store_pc(struct tr *t, uint64_t pc);

/* Precise trap exit at instruction idx with the cache state rs. */
void tr_trap_exit(struct tr *t, const struct regstate *rs, int idx);

struct stub *tr_new_stub(struct tr *t, enum stub_kind kind);

/* Jump to a trap exit when cc holds; cause/tval set by the stub if given. */
void tr_trap_if(struct tr *t, enum x86_cc cc, bool set_cause, uint64_t cause, uint64_t tval);

/* ZF clear when hart->stop_request or hart->irq_check is set: the two
 * adjacent words are tested as one. */
_Static_assert(offsetof(struct hart, irq_check) == offsetof(struct hart, stop_request) + 4 &&
		       sizeof(((struct hart *)0)->stop_request) == 4,
	       "stop_request and irq_check are tested with one 64-bit compare");
void tr_stop_or_irq(struct tr *t);

/* An exit to a successor: chained (patched later by jit_run) when
 * no stop or interrupt check is pending and the instruction budget allows
 * this block and the successor, else back to the interpreter with pc =
 * target.  The cache has been written back.  A TLB flush (which may remap
 * the target pc) only happens outside compiled code; jit_run unchains all
 * exits then. */
void tr_exit_direct(struct tr *t, int k, uint64_t target);

/* The back edge of a loop trace, exit k of the last block going to the
 * first: with no stop or interrupt check pending and budget for this block
 * and the whole trace again, straight back to the header with the
 * registers still in host registers; else out as an unchained exit. */
void tr_back_edge(struct tr *t, int k);

/* The registers a loop trace keeps in host registers from its header on:
 * the most used ones, all of them when they fit, else all but two of the
 * pool so the others have room.  Loaded on entry; those the trace writes
 * count as dirty from the header on, so every exit writes them back
 * whichever way it came (the others always equal their hart->x slot). */
void tr_loop_header(struct tr *t, const struct jit_trace *tr);

/* ---- loads, stores and atomics (lower_mem.c) ---- */

void tr_load(struct tr *t);

void tr_store(struct tr *t);

void tr_fload(struct tr *t);

void tr_fstore(struct tr *t);

void tr_amo(struct tr *t);

/* ---- operations done by C helpers: F/D arithmetic, CSRs (lower_helper.c) ---- */

/* mstatus.FS off makes every F/D instruction illegal (priv 3.1.6.6). */
void tr_fp_check(struct tr *t);

/* A CSR instruction, the last of its block: jit_helper_csr with instret
 * exact for the counters, the budget following a write to minstret, and
 * an exit to the next instruction that is not chained when the write
 * flushed the TLB (the chains' targets may be other code now). */
void tr_csr(struct tr *t);

void tr_fp(struct tr *t, enum kind kind);

/* The rounding mode into edx: the instruction's, or frm when dynamic,
 * which must be 0-4 (unpriv 11.2). */
void tr_fp_rm(struct tr *t);

/* ---- F/D inline in SSE, the helper as the slow path (lower_fp.c) ---- */

/* Compile the current F/D instruction inline; false: not done here. */
bool tr_fp_inline(struct tr *t);

/* The f registers an F/D operation (jit_fp_ops) reads, -1 for none. */
void tr_fp_reads(const struct insn *ip, int r[3]);

/* Whether the instruction's inline code leaves its f destination in the
 * F cache (others write hart->f, and the cache forgets the register). */
bool tr_fp_to_cache(const struct insn *ip);

/* STUB_FP: the helper call the inline code falls back to. */
void tr_fp_slow_stub(struct tr *t, struct stub *s);

/* ---- integer operations (lower_alu.c) ---- */

void tr_ri(struct tr *t);

void tr_rr(struct tr *t);

/* ---- control transfer, the block's last instruction (lower_jump.c) ---- */

/* ---- control transfer (the block's last instruction) ---- */

/* A conditional branch; inline_exit >= 0 inside a trace: that way goes on
 * into the next block of the trace (or back to its start: back), the other
 * leaves through a side exit. */
void tr_branch(struct tr *t, int inline_exit, bool back);

/* jal; inline: the target is the trace's next block (back: its first). */
void tr_jal(struct tr *t, bool inline_target, bool back);

/* jalr: the target is looked up among compiled blocks (struct jit_ind);
 * found, and with no stop or interrupt check pending and budget for this
 * block plus any successor, it is jumped to; else back to the interpreter. */
void tr_jalr(struct tr *t);

/* ---- out-of-line stubs (stubs.c) ---- */

/* ---- stubs ---- */

void tr_emit_stub(struct tr *t, struct stub *s);

#endif
