/* Hart lifetime and the caches hung off it. */
#include "condo/cpu.h"
#include "cpu/block.h"
#include "cpu/priv.h"

#include <stdlib.h>
#include <string.h>

void cpu_tlb_set_clear(struct tlb_set *set)
{
	for (int acc = 0; acc < 3; acc++) {
		for (int i = 0; i < TLB_ENTRIES; i++)
			set->e[acc][i].page = TLB_INVALID;
		for (int i = 0; i < TLB_VICTIMS; i++)
			set->victim[acc][i].page = TLB_INVALID;
	}
}

/* Drop the set's entries of access acc for page (its slot and victims);
 * true when one was there. */
static bool tlb_set_drop_page(struct tlb_set *set, int acc, gva_t page)
{
	struct tlb_entry *e = &set->e[acc][(page >> GUEST_PAGE_SHIFT) & (TLB_ENTRIES - 1)];
	bool found = false;

	if (e->page == page) {
		e->page = TLB_INVALID;
		found = true;
	}
	for (int i = 0; i < TLB_VICTIMS; i++) {
		if (set->victim[acc][i].page == page) {
			set->victim[acc][i].page = TLB_INVALID;
			found = true;
		}
	}
	return found;
}

static void tlb_set_drop_writes(struct tlb_set *set)
{
	for (int i = 0; i < TLB_ENTRIES; i++)
		set->e[ACC_WRITE][i].page = TLB_INVALID;
	for (int i = 0; i < TLB_VICTIMS; i++)
		set->victim[ACC_WRITE][i].page = TLB_INVALID;
}

void cpu_tlb_flush(struct hart *hart)
{
	for (int set = 0; set < TLB_SETS; set++)
		cpu_tlb_set_clear(&hart->tlbs[set]);
	if (hart->tlb_pinned)
		cpu_tlb_set_clear(hart->tlb);
	hart->tlb_epoch++;
	hart->tlb_shared_local = false;
	hart->super_lo = UINT64_MAX;
	hart->super_hi = 0;
}

void cpu_tlb_satp_written(struct hart *hart, uint64_t old)
{
	uint64_t satp = hart->csr.satp;
	int slot = -1, lru = 0;

	/* A change of mode, lockstep's private set, or a non-global
	 * translation in a shared set: everything goes, as before ASIDs. */
	if (hart->tlb_pinned || hart->tlb_shared_local || (satp >> 60) != (old >> 60)) {
		cpu_tlb_flush(hart);
		hart->tlb_slot_satp[hart->tlb_slot] = satp;
		return;
	}
	for (int k = 0; k < TLB_ASID_SLOTS; k++) {
		if (hart->tlb_slot_stamp[k] && hart->tlb_slot_satp[k] == satp)
			slot = k;
		if (hart->tlb_slot_stamp[k] < hart->tlb_slot_stamp[lru])
			lru = k;
	}
	if (slot < 0) {
		/* A new address space takes the least recently used slot: its
		 * set's entries, and the chains and indirect-jump entries made
		 * through it (the epoch), were the old owner's. */
		slot = lru;
		hart->tlb_slot = slot;
		cpu_tlb_set_clear(cpu_tlb_u(hart));
		hart->tlb_slot_satp[slot] = satp;
		hart->tlb_epoch++;
	}
	hart->tlb_slot = slot;
	hart->tlb_slot_stamp[slot] = ++hart->tlb_stamp;
	/* S_SUM's data entries include the old space's user pages; its fetch
	 * entries are global, so chains through them stand. */
	cpu_tlb_set_clear(&hart->tlbs[TLB_CTX_S_SUM]);
	if (hart->priv == PRV_U)
		hart->tlb = cpu_tlb_u(hart); /* not reached: satp is written from S or M */
}

void cpu_tlb_flush_page(struct hart *hart, gva_t va)
{
	gva_t page = va & GUEST_PAGE_MASK;
	bool fetched = false;

	if (hart->tlb_pinned || (va >= hart->super_lo && va <= hart->super_hi)) {
		cpu_tlb_flush(hart);
		return;
	}
	for (int set = 0; set < TLB_SETS; set++)
		for (int acc = 0; acc < 3; acc++)
			if (tlb_set_drop_page(&hart->tlbs[set], acc, page))
				fetched |= acc == ACC_EXEC;
	/* Chained jumps trust fetch translations only: a data page's change
	 * leaves them standing. */
	if (fetched)
		hart->tlb_epoch++;
}

void cpu_code_flush(struct hart *hart)
{
	block_cache_flush(hart->blocks);
	if (hart->engine_ops)
		hart->engine_ops->code_dropped(hart, NULL);
}

/* A page became code: no store may hit it through a cached translation.
 * Chains only depend on fetch translations, so the epoch stays. */
static void drop_write_translations(struct hart *hart)
{
	for (int set = 0; set < TLB_SETS; set++)
		tlb_set_drop_writes(&hart->tlbs[set]);
	if (hart->tlb_pinned)
		tlb_set_drop_writes(hart->tlb);
}

static void drop_block(struct block *b, void *ctx)
{
	struct hart *hart = ctx;

	if (hart->engine_ops)
		hart->engine_ops->code_dropped(hart, b);
}

void cpu_sync_generations(struct hart *h)
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

/* Drop the blocks of every page the code map logged since we last looked. */
static void sync_code_pages(struct hart *hart)
{
	struct code_map *map = hart->code_map;
	uint64_t end;

	if (!map)
		return;
	end = code_map_seq(map);
	if (end - hart->code_seen > CODE_LOG_SIZE)
		goto lost;
	for (; hart->code_seen != end; hart->code_seen++) {
		uintptr_t page = code_map_logged(map, hart->code_seen);

		if (!page)
			goto lost;
		block_cache_invalidate_page(hart->blocks, page, drop_block, hart);
	}
	return;
lost:
	/* The log moved on past us (or an entry is being written): drop all. */
	cpu_code_flush(hart);
	hart->code_seen = end;
}

void cpu_flush_requests(struct hart *hart, uint32_t what)
{
	if (what & CPU_FLUSH_TLB)
		cpu_tlb_flush(hart);
	else if (what & CPU_FLUSH_WRITE_TLB)
		drop_write_translations(hart);
	if (what & CPU_FLUSH_CODE) {
		cpu_code_flush(hart);
		if (hart->code_map)
			hart->code_seen = code_map_seq(hart->code_map);
	} else if (what & CPU_FLUSH_FENCE_I) {
		cpu_fence_i(hart);
	} else if (what & CPU_FLUSH_CODE_PAGES) {
		sync_code_pages(hart);
	}
}

void cpu_fence_i(struct hart *hart)
{
	/* Linux runs fence.i after patching its own text and when it maps a
	 * page executable for the first time: dropping everything each time
	 * made a boot decode, warm up and compile its code seven times. */
	if (hart->code_map && __atomic_load_n(&hart->code_map->harts, __ATOMIC_ACQUIRE) == 1) {
		sync_code_pages(hart);
		return;
	}
	cpu_code_flush(hart);
	if (hart->code_map)
		hart->code_seen = code_map_seq(hart->code_map);
}

void cpu_code_event(struct hart *hart, enum code_event what)
{
	uint32_t req = what == CODE_MARKED ? CPU_FLUSH_WRITE_TLB
		       : what == CODE_ALL  ? CPU_FLUSH_CODE
					   : CPU_FLUSH_CODE_PAGES;

	__atomic_or_fetch(&hart->flush_req, req, __ATOMIC_SEQ_CST);
	__atomic_store_n(&hart->irq_check, 1, __ATOMIC_SEQ_CST);
}

void cpu_set_code_map(struct hart *hart, struct code_map *map)
{
	/* counted, never uncounted: a map that had two harts keeps the safe
	 * fence.i (and no hart touches a map it may outlive) */
	if (map && map != hart->code_map)
		__atomic_add_fetch(&map->harts, 1, __ATOMIC_ACQ_REL);
	hart->code_map = map;
	hart->code_seen = map ? code_map_seq(map) : 0;
}

void cpu_set_dirty_log(struct hart *hart, struct dirty_log *log)
{
	hart->dirty_log = log;
	drop_write_translations(hart); /* they were cached unmarked */
}

void cpu_code_mark(struct hart *hart, const void *host)
{
	if (hart->code_map && code_map_mark(hart->code_map, host))
		drop_write_translations(hart); /* before the block that marked it runs */
}

struct hart *hart_new(const struct hart_env_ops *env, void *env_ctx)
{
	struct hart *hart = calloc(1, sizeof(*hart));

	if (!hart)
		return NULL;
	hart->blocks = block_cache_new();
	if (!hart->blocks) {
		free(hart);
		return NULL;
	}
	hart->env = env;
	hart->env_ctx = env_ctx;
	hart->insn_limit = UINT64_MAX;
	hart->priv = PRV_U;
	hart->csr.mstatus = MSTATUS_FS; /* app mode: the FPU is always on */
	hart->tlb = &hart->tlbs[TLB_CTX_U];
	hart->tlb_slot_stamp[0] = hart->tlb_stamp = 1; /* slot 0: satp 0 */
	cpu_tlb_flush(hart);
	return hart;
}

struct hart *hart_clone(const struct hart *parent)
{
	struct hart *hart = hart_new(parent->env, parent->env_ctx);

	if (!hart)
		return NULL;
	memcpy(hart->x, parent->x, sizeof(hart->x));
	memcpy(hart->f, parent->f, sizeof(hart->f));
	hart->pc = parent->pc;
	hart->fflags = parent->fflags;
	hart->csr.mstatus = parent->csr.mstatus;
	hart->frm = parent->frm;
	hart->insn_limit = parent->insn_limit;
	hart->tlb_generation = parent->tlb_generation;
	hart->code_generation = parent->code_generation;
	hart->tlb_generation_seen = parent->tlb_generation_seen;
	hart->code_generation_seen = parent->code_generation_seen;
	cpu_set_code_map(hart, parent->code_map);
	hart->flat_addend = parent->flat_addend;
	hart->mem_direct = parent->mem_direct;
	hart->mem_size = parent->mem_size;
	return hart;
}

void hart_free(struct hart *hart)
{
	if (!hart)
		return;
	if (hart->engine_ops)
		hart->engine_ops->free(hart);
	block_cache_free(hart->blocks);
	free(hart);
}

const char *cpu_cause_name(uint64_t cause)
{
	static const char *const names[] = {
		[CAUSE_INSN_MISALIGNED] = "instruction address misaligned",
		[CAUSE_INSN_ACCESS] = "instruction access fault",
		[CAUSE_ILLEGAL_INSN] = "illegal instruction",
		[CAUSE_BREAKPOINT] = "breakpoint",
		[CAUSE_LOAD_MISALIGNED] = "load address misaligned",
		[CAUSE_LOAD_ACCESS] = "load access fault",
		[CAUSE_STORE_MISALIGNED] = "store/AMO address misaligned",
		[CAUSE_STORE_ACCESS] = "store/AMO access fault",
		[CAUSE_ECALL_U] = "environment call from U-mode",
		[CAUSE_ECALL_S] = "environment call from S-mode",
		[CAUSE_ECALL_M] = "environment call from M-mode",
		[CAUSE_INSN_PAGE_FAULT] = "instruction page fault",
		[CAUSE_LOAD_PAGE_FAULT] = "load page fault",
		[CAUSE_STORE_PAGE_FAULT] = "store/AMO page fault",
	};

	if (cause < ARRAY_SIZE(names) && names[cause])
		return names[cause];
	return "unknown cause";
}
