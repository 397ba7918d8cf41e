/* The translator's internals shared by jit.c, translate.c, trace.c and
 * helpers.c (see docs/jit.md for the design). */
#ifndef JIT_INTERNAL_H
#define JIT_INTERNAL_H

#include "condo/cpu.h"
#include "condo/jit.h"
#include "cpu/block.h"
#include "jit/codebuf.h"
#include "jit/emit_x86.h"

/* The stack frame every compiled block runs in, set up by the entry
 * trampoline: rbx holds the hart, r15 the instruction budget (the limit
 * chaining must not pass minus the instret so far), [rsp + FRAME_LIMIT] the
 * limit, FRAME_VAL receives slow-path results, FRAME_SAVE keeps the
 * caller-saved host registers across helper calls (six slots) and
 * FRAME_IND points to the indirect-jump table of the current TLB context. */
#define FRAME_LIMIT 0
#define FRAME_VAL   8
#define FRAME_SAVE  16
#define FRAME_IND   64
#define FRAME_SIZE  72 /* 16-byte aligned after six pushes and the return address */

/* Guest registers with a home host register (regcache.c): there whenever
 * compiled code passes from one trace to another; the entry trampoline
 * loads them from struct hart and the epilogue stores them back. */
#define JIT_HOMES 8
struct jit_home {
	int8_t g, h;
};
extern const struct jit_home jit_homes[JIT_HOMES];

/* A translated block's descriptor.  Descriptors live at the top of the code
 * buffer (growing down, code grows up) and are found by compiled code,
 * which returns its own descriptor so the interpreter knows the last block
 * that ran.  An exit with a static successor has a patch site: the TLB
 * context the successor was found in, the instruction budget and the jump
 * of its chain check, as buffer offsets. */
struct jit_tb {
	struct block *block;
	uint64_t target[2];     /* successor pc of exit k (0 fall-through, 1 taken) */
	uint32_t site_ctx[2];   /* imm32: the TLB context (low half of hart->tlb); 0: none */
	uint32_t site_n[2];     /* imm32: the instruction budget both blocks need */
	uint32_t site_jmp[2];   /* rel32 of the jump; 0: exit k has no chain site */
	uint32_t code;          /* buffer offset of the block's code */
	uint32_t code_bytes;
};

/* What compiled code returns (rax, rdx under the SysV ABI). */
struct jit_ret {
	uint64_t exit;         /* enum jit_exit */
	struct jit_tb *tb;     /* the block that exited (not set on a trap) */
};


/* Indirect jumps (jalr) look their target up in a direct-mapped table of
 * compiled blocks, indexed by (pc >> 1) & (JIT_IND_SIZE - 1).  There is one
 * table per TLB context (a pc may be fetchable in one and not in another),
 * and its entries are only valid in one TLB epoch; an empty one holds an
 * odd pc. */
#define JIT_IND_SIZE 1024
struct jit_ind {
	uint64_t pc;
	void *code;
};

typedef struct jit_ret (*jit_enter_fn)(struct hart *hart, uint64_t limit, void *code,
				      struct jit_ind *ind);

struct jit {
	struct codebuf cb;
	size_t code_start; /* first byte after the trampoline */
	size_t code_pos;   /* next free byte for code */
	size_t desc_pos;   /* lowest descriptor; they grow down from the top */
	size_t epilogue;   /* offset of the shared exit path */
	jit_enter_fn enter;
	bool has_popcnt;
	bool has_fma; /* FMA3: F/D fused multiply-adds inline (lower_fp.c) */
	bool disabled; /* no code memory (after a fork that found none) */
	bool movable_tlb; /* jit_set_movable_tlb */
	volatile uint8_t *fork_marker; /* a MADV_WIPEONFORK page: 0 in a fork child */

	/* The blocks with compiled code, to clear their entries on a flush. */
	struct block **blocks;
	size_t nblocks, blocks_cap;

	/* The last block that exited through a chainable exit: chained to the
	 * next block run when that one is compiled too. */
	struct jit_tb *prev_tb;
	int prev_exit;
	/* Patched chain jumps (the jump's buffer offset and the block it goes
	 * to), undone when the TLB epoch the chains were made in ends, or when
	 * that block is invalidated. */
	struct jit_chain {
		uint32_t site;
		const struct block *to;
	} *chained;
	size_t nchained, chained_cap;
	uint64_t chain_epoch;
	struct jit_ind *ind;          /* TLB_SETS tables of JIT_IND_SIZE */
	uint64_t ind_epoch[TLB_SETS]; /* the epoch each table was filled in */

	/* Direct guest accesses in the compiled code (app mode, docs/jit.md):
	 * the buffer offset of each access instruction, which may fault, and
	 * of the stub that makes the access the slow way; in code order, for
	 * jit_fault_resume(). */
	struct jit_fault_site {
		uint32_t at, stub;
	} *sites;
	size_t nsites, sites_cap;

	struct tr *tr;       /* jit_translate's state, mapped at its first use */
	uint64_t generation; /* bumped by every flush */
	struct jit_stats stats;
	size_t code_hw, desc_hw; /* high-water marks of both ends of the buffer */
};

/* Record a direct access at buffer offset at whose slow path is the stub
 * at buffer offset stub (after every site recorded so far); false when
 * out of memory. */
bool jit_add_fault_site(struct jit *jit, size_t at, size_t stub);

/* In a fork() child, drop the parent's compiled code (all blocks go back to
 * the interpreter) and take a code buffer of our own; true when it did. */
bool jit_check_fork(struct jit *jit);

/* How many of b's instructions its compiled code runs: all, or all but a
 * last one left to the interpreter (JIT_EXIT_PARTIAL), or 0: not compiled. */
uint32_t jit_compiled_insns(const struct block *b);

/* A trace: a block and the successors it usually goes on to, compiled as
 * one piece of code that leaves at the side exits (trace.c).  Every
 * block of it has its own descriptor, so an exit names the block it left
 * from, as for a single block. */
#define JIT_TRACE_MAX 8
struct jit_trace {
	int n;
	uint32_t insns;                   /* sum of the blocks' n: the budget it needs */
	struct block *b[JIT_TRACE_MAX];
	struct jit_tb *tb[JIT_TRACE_MAX];
	int dir[JIT_TRACE_MAX];           /* exit of b[i] that goes on into b[i + 1] */
	/* The last block usually goes back to the first (exit dir[n - 1]): a
	 * loop, whose back edge stays in compiled code and host registers. */
	bool loop;
};

/* The trace starting at head: head, then while its last block's usual
 * successor is known, compilable and on head's page, that successor. */
void jit_trace_form(struct jit *jit, struct hart *hart, struct block *head,
		    struct jit_trace *tr);

/* Translate the trace to code at e (a view of the buffer) and fill its
 * descriptors.  Returns 0, or -1 when its first block holds an operation
 * left to the interpreter. */
int jit_translate(struct jit *jit, struct hart *hart, struct emit *e,
		  const struct jit_trace *tr);

/* Unmap jit_translate's state. */
void jit_translate_free(struct jit *jit);

/* Whether op is a conditional branch. */
bool jit_op_is_branch(int op);
/* Whether b has instructions to compile, all of which this host can run
 * (cpop needs popcnt). */
bool jit_can_compile(const struct jit *jit, const struct block *b);

/* ---- C helpers called from compiled code (helpers.c) ---- */

enum jit_fp_kind { FPK_NONE, FPK_FF, FPK_FX, FPK_XF };

/* An F/D operation done by a helper: FF reads and writes f registers,
 * FX writes an x register (returned), XF reads an x register (passed). */
struct jit_fp_op {
	void *fn;
	uint8_t kind; /* enum jit_fp_kind */
	bool rm;      /* resolves a rounding mode (frm 5-7 illegal) */
};
extern const struct jit_fp_op jit_fp_ops[OP_COUNT];

typedef void (*jit_fp_ff_fn)(struct hart *hart, const struct insn *ip, int rm);
typedef uint64_t (*jit_fp_fx_fn)(struct hart *hart, const struct insn *ip, int rm);
typedef void (*jit_fp_xf_fn)(struct hart *hart, const struct insn *ip, int rm, uint64_t x);

/* LR, SC and AMOs with the interpreter's semantics: 0 with *rd_val set, or
 * -1 with the trap fields set. */
int jit_helper_amo(struct hart *hart, const struct insn *ip, uint64_t addr, uint64_t src,
		   uint64_t *rd_val);

/* A Zicsr instruction (csr_insn) with hart->instret exact: 0 with *rd_val
 * set; 1 the same, but the TLB was flushed, so the block must not chain
 * on; -1 illegal (trap fields set). */
int jit_helper_csr(struct hart *hart, const struct insn *ip, uint64_t src, uint64_t *rd_val);

#endif
