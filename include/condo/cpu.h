/* The RV64GC hart: architectural state and the interface to run it.
 *
 * A hart runs guest code until something its environment must handle
 * happens (an ecall, a trap, the instruction limit, a stop request).  The
 * environment (app mode's Linux personality, later the machine) supplies
 * address translation through a fill callback; the hart caches the result
 * in a small software TLB (tag + host addend) per access type. */
#ifndef CONDO_CPU_H
#define CONDO_CPU_H

#include "condo/codemap.h"
#include "condo/types.h"

/* Exception causes (priv spec 1.12, table 3.6). */
enum cpu_cause {
	CAUSE_INSN_MISALIGNED = 0,
	CAUSE_INSN_ACCESS = 1,
	CAUSE_ILLEGAL_INSN = 2,
	CAUSE_BREAKPOINT = 3,
	CAUSE_LOAD_MISALIGNED = 4,
	CAUSE_LOAD_ACCESS = 5,
	CAUSE_STORE_MISALIGNED = 6,
	CAUSE_STORE_ACCESS = 7,
	CAUSE_ECALL_U = 8,
	CAUSE_ECALL_S = 9,
	CAUSE_ECALL_M = 11,
	CAUSE_INSN_PAGE_FAULT = 12,
	CAUSE_LOAD_PAGE_FAULT = 13,
	CAUSE_STORE_PAGE_FAULT = 15,
};

enum mem_access { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2 };

/* Why running a hart (engine_run) returned. */
enum cpu_exit {
	CPU_EXIT_ECALL,   /* pc is at the ecall; the environment advances it */
	CPU_EXIT_TRAP,    /* synchronous exception: trap_cause, trap_tval, pc = faulting insn */
	CPU_EXIT_LIMIT,   /* instret reached insn_limit */
	CPU_EXIT_STOP,    /* stop_request was set (signal, other thread) */
};

#define TLB_ENTRIES 256

/* One software-TLB entry: a hit is page == (vaddr & PAGE_MASK), then the host
 * address is vaddr + addend.  An invalid entry has page == TLB_INVALID. */
struct tlb_entry {
	uint64_t page;
	uintptr_t addend;
};
#define TLB_INVALID (~0ull)

struct hart;

/* fill() results besides 0 (RAM, *host set) and -1 (fault). */
#define FILL_MMIO 1 /* system mode: the page is device space; use mmio_read/write */

struct hart_env_ops {
	/* Translate a page for an access.  In app mode the page is a virtual
	 * page and -1 raises a page fault; in system mode the hart has already
	 * translated through its MMU, the page is physical, -1 raises an access
	 * fault and FILL_MMIO sends the access to the device callbacks.  On
	 * success store the host address of the page's first byte and return 0.
	 * The host page must stay valid until the hart's TLB is flushed. */
	int (*fill)(struct hart *hart, gva_t page, enum mem_access access, uint8_t **host);

	/* System mode only: device accesses of 1, 2, 4 or 8 bytes; -1 raises an
	 * access fault. */
	int (*mmio_read)(struct hart *hart, gpa_t addr, unsigned len, uint64_t *val);
	int (*mmio_write)(struct hart *hart, gpa_t addr, unsigned len, uint64_t val);
};

/* One TLB per translation context: the privilege and SUM setting decide
 * what a page may be used for, so each combination caches separately. */
enum tlb_context { TLB_CTX_U, TLB_CTX_S, TLB_CTX_S_SUM, TLB_CTX_M, TLB_CONTEXTS };

/* Entries a set keeps of those its direct-mapped slots lost to others:
 * two pages 1 MiB apart share a slot, and a loop using both (gzip's
 * window and hash chains in a guest) missed 1.2 million times, each a
 * page walk, PMP checks and a fill.  The slow path looks here first
 * (src/cpu/tlb.c); compiled code and tlb_hit see only e[][]. */
#define TLB_VICTIMS 8

struct tlb_set {
	struct tlb_entry e[3][TLB_ENTRIES]; /* indexed by enum mem_access; first (compiled code) */
	struct tlb_entry victim[3][TLB_VICTIMS];
	uint8_t victim_next[3]; /* the victim entry replaced next (round robin) */
};

/* System mode keeps the U set of the last few address spaces (satp values:
 * mode, ASID and root) it ran, so a satp switch between processes keeps
 * their translations and the chains through them (priv 4.1.11: a write to
 * satp does not flush; software uses sfence.vma when it reuses an ASID).
 * Slot 0's set is tlbs[TLB_CTX_U], slot k's tlbs[TLB_CONTEXTS + k - 1]. */
#define TLB_ASID_SLOTS 4
#define TLB_SETS       (TLB_CONTEXTS + TLB_ASID_SLOTS - 1)

/* Interrupt numbers and their mip/mie bits (priv 3.1.9) */
enum { IRQ_S_SOFT = 1, IRQ_M_SOFT = 3, IRQ_S_TIMER = 5, IRQ_M_TIMER = 7, IRQ_S_EXT = 9,
       IRQ_M_EXT = 11 };
#define MIP_SSIP (1ull << IRQ_S_SOFT)
#define MIP_MSIP (1ull << IRQ_M_SOFT)
#define MIP_STIP (1ull << IRQ_S_TIMER)
#define MIP_MTIP (1ull << IRQ_M_TIMER)
#define MIP_SEIP (1ull << IRQ_S_EXT)
#define MIP_MEIP (1ull << IRQ_M_EXT)
/* Privilege levels (priv spec 1.2). */
enum { PRV_U = 0, PRV_S = 1, PRV_M = 3 };

/* Machine- and supervisor-level CSR state (priv spec chapters 3 and 4). */
struct csr_state {
	uint64_t mstatus, misa, medeleg, mideleg, mie, mtvec, mcounteren, menvcfg;
	uint64_t mscratch, mepc, mcause, mtval;
	uint64_t cycle_offset; /* mcycle = instret + cycle_offset: no cycle model */
	uint64_t stvec, scounteren, senvcfg, sscratch, sepc, scause, stval, satp;
	uint64_t stimecmp;
	/* The software-writable SEIP bit; mip.SEIP reads as this OR the
	 * PLIC's line (priv 3.1.9), kept apart so one cannot clear the other. */
	uint64_t seip_sw;
	uint64_t pmpcfg[2];   /* RV64: pmpcfg0 and pmpcfg2, 8 entries each */
	uint64_t pmpaddr[16];
};

struct block_cache;
struct block;

/* Calls from the hart up to the engine that runs it, so that src/cpu
 * needs no engine or translator header. */
struct hart_engine_ops {
	/* Decoded block b was dropped (its page was written), or with b NULL
	 * every block was (the cache was flushed): forget what was made of them. */
	void (*code_dropped)(struct hart *hart, struct block *b);
	/* hart_free: release hart->engine. */
	void (*free)(struct hart *hart);
};

struct hart {
	uint64_t x[33];   /* x[0] reads as zero; x[32] is the sink for writes to x0 */
	uint64_t f[32];   /* raw bits; singles are NaN-boxed */
	uint64_t pc;
	uint32_t fflags;  /* accrued exception flags, fcsr[4:0] */
	uint32_t frm;     /* dynamic rounding mode, fcsr[7:5] */

	uint64_t instret;    /* instructions retired */
	uint64_t insn_limit; /* running stops with CPU_EXIT_LIMIT when instret reaches this */

	uint64_t trap_cause; /* valid after CPU_EXIT_TRAP */
	uint64_t trap_tval;

	/* LR/SC reservation: SC succeeds if the word still holds the value LR
	 * saw (compare-and-swap), which is atomic across host threads. */
	gva_t resv_addr;
	uint64_t resv_value;
	bool resv_valid;

	/* Set from another thread or a signal handler; engine_run returns
	 * CPU_EXIT_STOP at the next block boundary and clears it. */
	volatile int stop_request;
	/* Set when mip, or something that decides whether an interrupt is
	 * taken, may have changed; checked at the next block boundary. */
	volatile int irq_check;
	/* Flushes other harts asked for (CPU_FLUSH_*), done with irq_check. */
	uint32_t flush_req;

	/* Shared counters owned by the environment (NULL: none).  On entry
	 * engine_run flushes the TLB when *tlb_generation moved on, and decoded
	 * code when *code_generation moved on.  To make other harts notice at
	 * once, bump the counter, then set their stop_request. */
	const volatile uint64_t *tlb_generation;
	const volatile uint64_t *code_generation;
	uint64_t tlb_generation_seen;
	uint64_t code_generation_seen;

	const struct hart_env_ops *env;
	void *env_ctx; /* the environment's own state */
	/* The code page map of the memory this hart runs from (NULL: none):
	 * blocks mark their pages, stores to marked pages are reported, and
	 * code_seen is how far into its invalidation log this hart has acted. */
	struct code_map *code_map;
	uint64_t code_seen;
	/* The dirty-page log of the memory this hart writes (NULL: none, app
	 * mode): a page is marked as a write to it is translated, before the
	 * translation is cached (include/condo/dirtylog.h). */
	struct dirty_log *dirty_log;

	struct block_cache *blocks;
	/* The engine that runs this hart (src/engine, opaque here; NULL: none
	 * yet) and how the hart tells it that decoded blocks went away. */
	struct engine *engine;
	const struct hart_engine_ops *engine_ops;
	struct tlb_set *tlb; /* the set for the current context */
	/* Set while tlb points to a set of the engine's own (lockstep): a
	 * change of context or a flush then empties that set instead of
	 * switching to one of tlbs[]. */
	bool tlb_pinned;
	/* Non-zero when every RAM page the environment's fill() returns is at
	 * this host address + its guest address (app mode: one reservation),
	 * so compiled code can form host addresses without reading the TLB
	 * entry's addend (it still checks the entry). */
	uintptr_t flat_addend;
	/* App mode: when *mem_direct holds, guest address a is host address
	 * flat_addend + a for every a below mem_size, and the host page
	 * protections there mirror the guest's (src/app/mm.c), so compiled
	 * code accesses guest memory directly after one bound check and a
	 * host fault sends it to its slow path (docs/jit.md). */
	const bool *mem_direct;
	uint64_t mem_size;
	/* Bumped by every TLB flush: chained jumps between blocks are trusted
	 * only within one epoch, since a flush may remap their pcs. */
	uint64_t tlb_epoch;
	/* The address spaces whose U sets are kept (TLB_ASID_SLOTS), the one
	 * in use, and when each was last used.  The S, S_SUM and M sets are
	 * shared by all: their fetch translations must be global (Linux maps
	 * the kernel with G), S_SUM's data entries are dropped at a switch,
	 * and tlb_shared_local notes a non-global entry where only global ones
	 * may survive a switch (the switch then flushes everything). */
	uint64_t tlb_slot_satp[TLB_ASID_SLOTS];
	uint64_t tlb_slot_stamp[TLB_ASID_SLOTS]; /* 0: the slot is free */
	uint64_t tlb_stamp;
	int tlb_slot;
	bool tlb_shared_local;
	bool walk_global; /* the last mmu_translate's mapping is global (or none) */
	/* The virtual range that TLB entries taken from superpages cover
	 * (empty: lo > hi), since the last full flush: flushing one page of a
	 * superpage must drop all of the superpage's 4 KiB entries. */
	gva_t super_lo, super_hi;

	/* ---- system mode (full-system VMs); unused in app mode ---- */
	bool system;   /* traps go to the guest's handlers, not to the environment */
	bool sbi_in_host; /* ecall from S-mode exits to the environment (paravirtual SBI) */
	uint8_t priv;  /* PRV_U, PRV_S or PRV_M */
	uint64_t hartid;
	/* Timers, in timebase ticks (10 MHz) of the VM's clock, which is the
	 * host's monotonic clock minus time_offset.  The hart polls them itself:
	 * every few thousand instructions while running, and as the deadline
	 * of its sleep in wfi, so no timer thread is needed. */
	uint64_t time_offset;
	uint64_t mtimecmp;    /* ACLINT MTIMER comparator: MTIP */
	uint64_t sbi_timecmp; /* paravirtual SBI set_timer: STIP */
	bool sbi_timer_armed;
	/* wfi sleeps on this futex word; cpu_kick() bumps it */
	uint32_t wake_seq;
	struct csr_state csr;
	/* Interrupt-pending bits (mip).  Devices on other threads set bits with
	 * cpu_set_irq(), which also wakes the hart. */
	volatile uint64_t mip;

	struct tlb_set tlbs[TLB_SETS];
};

/* Allocate a hart with zeroed registers and no engine (src/engine runs
 * it: engine_setup_hart, engine_run).  NULL on allocation failure. */
struct hart *hart_new(const struct hart_env_ops *env, void *env_ctx);
/* A copy of a hart's architectural state with empty caches and no engine
 * (engine_hart_clone gives it its parent's). */
struct hart *hart_clone(const struct hart *parent);
void hart_free(struct hart *hart);

/* Forget every cached translation (after the address space changed). */
void cpu_tlb_flush(struct hart *hart);
/* Forget the translations of the page at va in every context (sfence.vma
 * with an address): the whole TLB when va lies in a superpage's range. */
void cpu_tlb_flush_page(struct hart *hart, gva_t va);
/* Forget every decoded block (code changed). */
void cpu_code_flush(struct hart *hart);
/* Empty one TLB set. */
void cpu_tlb_set_clear(struct tlb_set *set);
/* satp was written (old: its previous value): switch to the new address
 * space's U set, keeping what other spaces cached, or flush. */
void cpu_tlb_satp_written(struct hart *hart, uint64_t old);

/* The U set of the current address space. */
static inline struct tlb_set *cpu_tlb_u(struct hart *hart)
{
	return hart->tlb_slot ? &hart->tlbs[TLB_CONTEXTS + hart->tlb_slot - 1]
			      : &hart->tlbs[TLB_CTX_U];
}

/* What a chain between two decoded blocks is valid for: the epoch, and in
 * U-mode the address space (the fetch translations of S and M are global,
 * those of U-mode are the process's own). */
static inline uint64_t cpu_chain_tag(const struct hart *hart)
{
	return hart->tlb_epoch * TLB_ASID_SLOTS + (hart->priv == PRV_U ? (unsigned)hart->tlb_slot : 0);
}
/* Catch up with what the environment changed while the hart was not
 * running: its generation counters and the code map's log. */
void cpu_sync_generations(struct hart *hart);

/* System mode: reset to M-mode at pc with the spec's reset state. */
void cpu_reset_system(struct hart *hart, uint64_t hartid, uint64_t pc);
/* Raise or lower interrupt-pending bits in mip from any thread. */
void cpu_set_irq(struct hart *hart, uint64_t mask, bool level);
/* Flushes a hart can be asked for: its TLB, its decoded and compiled code,
 * its cached write translations only (a page became code), the code of the
 * pages its code map logged as written, and what fence.i needs (a remote
 * fence.i: cpu_fence_i). */
enum { CPU_FLUSH_TLB = 1, CPU_FLUSH_CODE = 2, CPU_FLUSH_WRITE_TLB = 4, CPU_FLUSH_CODE_PAGES = 8,
       CPU_FLUSH_FENCE_I = 16 };
/* fence.i: the hart's later fetches see every store before it (unpriv 6.1):
 * the code of the pages its code map logged is dropped, or, when other
 * harts run from the same memory (struct code_map's harts), all of it. */
void cpu_fence_i(struct hart *hart);
/* Do the flushes in what (CPU_FLUSH_* bits) on this hart now. */
void cpu_flush_requests(struct hart *hart, uint32_t what);
/* From any thread: make the hart act on a code map event at its next
 * block boundary (the environment's code_map notify() calls this for
 * every hart of the map). */
void cpu_code_event(struct hart *hart, enum code_event what);
/* Run from map's memory (NULL: none), starting at its log's present end. */
void cpu_set_code_map(struct hart *hart, struct code_map *map);
/* Mark the pages this hart writes in log (NULL: none).  Write translations
 * cached before are dropped, so every page written from now on is marked. */
void cpu_set_dirty_log(struct hart *hart, struct dirty_log *log);

/* Make a hart re-check interrupts and stop requests now: wakes it from wfi. */
void cpu_kick(struct hart *hart);
/* The VM's clock as the time CSR and mtime read it. */
uint64_t cpu_time(const struct hart *hart);
/* The host's monotonic clock at the board's 10 MHz timebase: a VM's clock
 * is this minus each hart's time_offset (a restore sets the offset so the
 * clock goes on from the tick it was saved at). */
uint64_t csr_time_now(void);
/* Re-evaluate MTIP/STIP from the timer comparators (after one changed),
 * and make the run loop plan its next timer poll again (irq_check). */
void cpu_timer_poll(struct hart *hart);

/* mip as software sees it: the pending lines plus the software SEIP bit. */
static inline uint64_t cpu_mip(const struct hart *hart)
{
	return hart->mip | hart->csr.seip_sw;
}

/* The architectural fcsr as one word. */
static inline uint32_t cpu_fcsr(const struct hart *hart)
{
	return hart->fflags | (hart->frm << 5);
}

struct state_buf;
/* A system-mode hart's architectural state, for a snapshot or a migration
 * stream (src/cpu/hart_state.c; docs/snapshot.md): registers, FP state,
 * pc, instret, the LR reservation, privilege, every CSR, the timer
 * comparators, the pending interrupts, and whether M-mode is the host's
 * (sbi_in_host: the paravirtual boot).  Not the VM clock's offset
 * (the board saves it once), the hartid (the board checks it) nor caches. */
void hart_save(const struct hart *hart, struct state_buf *out);
/* Load what hart_save wrote into a hart made by hart_new and
 * cpu_reset_system with the same hartid.  Every value is checked (a
 * snapshot is untrusted): 0, or -1 with the buffer failed and the hart
 * partly loaded (the caller discards it). */
int hart_load(struct hart *hart, struct state_buf *in);

/* The environment's SIGSEGV handler: when host pc is one of the hart's
 * fault-tolerant accesses to guest memory (src/cpu/guest_access.h), the
 * pc to resume at, where the access is made again from a fresh
 * translation; else 0 (a fault there is condo's own).  Async-signal safe. */
uintptr_t cpu_guest_fixup(uintptr_t pc);

/* Name of a trap cause, for reports ("illegal instruction"). */
const char *cpu_cause_name(uint64_t cause);

#endif
