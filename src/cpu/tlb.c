/* Software TLB slow paths: translation (the environment's fill callback in
 * app mode; the MMU, PMP and then the fill callback in system mode), device
 * accesses, and accesses that straddle two pages. */
#include "condo/dirtylog.h"
#include "cpu/guest_access.h"
#include "cpu/priv.h"
#include "cpu/tlb.h"

static const enum cpu_cause page_fault_cause[3] = {
	[ACC_READ] = CAUSE_LOAD_PAGE_FAULT,
	[ACC_WRITE] = CAUSE_STORE_PAGE_FAULT,
	[ACC_EXEC] = CAUSE_INSN_PAGE_FAULT,
};
static const enum cpu_cause access_fault_cause[3] = {
	[ACC_READ] = CAUSE_LOAD_ACCESS,
	[ACC_WRITE] = CAUSE_STORE_ACCESS,
	[ACC_EXEC] = CAUSE_INSN_ACCESS,
};

static int set_trap(struct hart *hart, const enum cpu_cause *causes, enum mem_access acc,
		    gva_t addr)
{
	hart->trap_cause = causes[acc];
	hart->trap_tval = addr;
	return -1;
}

/* A write to page_host's page was translated: mark it in the dirty log
 * before the translation is cached and before the data lands, whether it
 * is cached or not (code pages and partly-PMP pages come back here on every
 * store), so that a cached write translation always means "marked". */
static void mark_written(struct hart *hart, enum mem_access acc, uint8_t *page_host)
{
	if (acc == ACC_WRITE && hart->dirty_log)
		dirty_log_mark(hart->dirty_log, page_host, GUEST_PAGE_SIZE);
}

/* Cache the page for acc.  A write to a page holding decoded code is
 * reported to the code map instead, and not cached while the page stays
 * code, so the next store is seen too. */
static void tlb_insert(struct hart *hart, enum mem_access acc, gva_t addr, uint8_t *page_host,
		       size_t len)
{
	struct tlb_entry *e = tlb_slot(hart, acc, addr);

	if (acc == ACC_WRITE && hart->code_map && code_map_is_code(hart->code_map, page_host)) {
		code_map_written(hart->code_map, page_host + (addr & (GUEST_PAGE_SIZE - 1)), len);
		return;
	}
	if (e->page != TLB_INVALID && e->page != (addr & GUEST_PAGE_MASK)) {
		/* the slot's page goes to the victims (round robin) */
		struct tlb_set *set = hart->tlb;
		uint8_t *next = &set->victim_next[acc];

		set->victim[acc][*next] = *e;
		*next = (uint8_t)((*next + 1) % TLB_VICTIMS);
	}
	e->page = addr & GUEST_PAGE_MASK;
	e->addend = (uintptr_t)page_host - e->page;
}

/* A miss in the slot: the page may be among the set's victims, cached
 * with everything a fill checks (page walk, PMP, code and dirty maps), and
 * kept coherent by every flush.  Swapped back into its slot. */
static uint8_t *victim_hit(struct hart *hart, enum mem_access acc, gva_t addr, size_t len)
{
	gva_t page = addr & GUEST_PAGE_MASK;
	struct tlb_set *set = hart->tlb;

	if (((addr + len - 1) & GUEST_PAGE_MASK) != page)
		return NULL; /* crossing: the callers split it */
	for (int i = 0; i < TLB_VICTIMS; i++) {
		struct tlb_entry *v = &set->victim[acc][i];

		if (v->page == page) {
			struct tlb_entry *e = tlb_slot(hart, acc, addr), old = *e;

			*e = *v;
			*v = old; /* the slot's page (or an invalid entry) in its place */
			return (uint8_t *)(uintptr_t)(addr + e->addend);
		}
	}
	return NULL;
}

int tlb_translate(struct hart *hart, enum mem_access acc, gva_t addr, size_t len, uint8_t **host,
		  gpa_t *pa)
{
	uint8_t *page_host;
	int priv, r;

	*host = victim_hit(hart, acc, addr, len);
	if (*host) {
		*pa = 0; /* RAM: callers use pa only for devices */
		return 0;
	}
	if (!hart->system) {
		if (hart->env->fill(hart, addr & GUEST_PAGE_MASK, acc, &page_host) < 0)
			return set_trap(hart, page_fault_cause, acc, addr);
		mark_written(hart, acc, page_host);
		tlb_insert(hart, acc, addr, page_host, len);
		*host = page_host + (addr & (GUEST_PAGE_SIZE - 1));
		return 0;
	}
	if (mmu_translate(hart, addr, acc, pa) < 0)
		return -1;
	/* Only the U sets are per address space; a shared set may keep a
	 * non-global translation only in S_SUM's data entries, which a satp
	 * switch drops (cpu_tlb_satp_written). */
	if (!hart->walk_global && hart->tlb != cpu_tlb_u(hart) &&
	    !(hart->tlb == &hart->tlbs[TLB_CTX_S_SUM] && acc != ACC_EXEC))
		hart->tlb_shared_local = true;
	priv = mmu_effective_priv(hart, acc);
	if (!pmp_allows(hart, *pa, len, acc, priv))
		return set_trap(hart, access_fault_cause, acc, addr);
	r = hart->env->fill(hart, *pa & GUEST_PAGE_MASK, acc, &page_host);
	if (r < 0)
		return set_trap(hart, access_fault_cause, acc, addr);
	if (r == FILL_MMIO)
		return FILL_MMIO;
	mark_written(hart, acc, page_host);
	/* Cache only pages PMP treats alike throughout. */
	if (pmp_allows(hart, *pa & GUEST_PAGE_MASK, GUEST_PAGE_SIZE, acc, priv))
		tlb_insert(hart, acc, addr, page_host, len);
	else if (acc == ACC_WRITE && hart->code_map)
		code_map_written(hart->code_map, page_host + (*pa & (GUEST_PAGE_SIZE - 1)), len);
	*host = page_host + (*pa & (GUEST_PAGE_SIZE - 1));
	return 0;
}

uint8_t *tlb_fill(struct hart *hart, enum mem_access acc, gva_t addr, size_t len)
{
	uint8_t *host;
	gpa_t pa;
	int r = tlb_translate(hart, acc, addr, len, &host, &pa);

	if (r == FILL_MMIO) {
		set_trap(hart, access_fault_cause, acc, addr);
		return NULL;
	}
	return r < 0 ? NULL : host;
}

/* The guest memory behind a translation can fault on the host when another
 * thread took the page or made it code after the translation was made (app
 * mode, docs/jit.md): the copies below are fault tolerant, and a fault
 * means translating again, which raises the guest's fault when the page
 * is gone.  (Each round follows a system call of another thread that
 * changed the page, so the loops end.) */

int mem_load_slow(struct hart *hart, gva_t addr, size_t len, uint64_t *val)
{
	size_t in_first = GUEST_PAGE_SIZE - (addr & (GUEST_PAGE_SIZE - 1));
	uint8_t *first, *second, bytes[8];
	gpa_t pa;
	int r;

	*val = 0;
	if (len <= in_first) {
		do {
			r = tlb_translate(hart, ACC_READ, addr, len, &first, &pa);
			if (r < 0)
				return -1;
			if (r == FILL_MMIO) {
				if (hart->env->mmio_read(hart, pa, (unsigned)len, val) < 0)
					return set_trap(hart, access_fault_cause, ACC_READ, addr);
				return 0;
			}
		} while (cpu_guest_copy(val, first, len) < 0); /* little-endian host */
		return 0;
	}
	/* Crossing into the next page: both halves must be RAM. */
	do {
		if (!(first = tlb_fill(hart, ACC_READ, addr, in_first)) ||
		    !(second = tlb_fill(hart, ACC_READ, addr + in_first, len - in_first)))
			return -1;
	} while (cpu_guest_copy(bytes, first, in_first) < 0 ||
		 cpu_guest_copy(bytes + in_first, second, len - in_first) < 0);
	memcpy(val, bytes, len);
	return 0;
}

int mem_store_slow(struct hart *hart, gva_t addr, size_t len, uint64_t val)
{
	size_t in_first = GUEST_PAGE_SIZE - (addr & (GUEST_PAGE_SIZE - 1));
	uint8_t *first, *second;
	gpa_t pa;
	int r;

	if (len <= in_first) {
		do {
			r = tlb_translate(hart, ACC_WRITE, addr, len, &first, &pa);
			if (r < 0)
				return -1;
			if (r == FILL_MMIO) {
				if (hart->env->mmio_write(hart, pa, (unsigned)len, val) < 0)
					return set_trap(hart, access_fault_cause, ACC_WRITE, addr);
				return 0;
			}
		} while (cpu_guest_copy(first, &val, len) < 0);
		return 0;
	}
	/* Both pages are checked before any byte is written.  Another thread
	 * taking the second page between the check and its write leaves the
	 * first written and, once the check fails, the guest's fault: what a
	 * misaligned store that traps part-way may do. */
	do {
		if (!(first = tlb_fill(hart, ACC_WRITE, addr, in_first)) ||
		    !(second = tlb_fill(hart, ACC_WRITE, addr + in_first, len - in_first)))
			return -1;
	} while (cpu_guest_copy(first, &val, in_first) < 0 ||
		 cpu_guest_copy(second, (uint8_t *)&val + in_first, len - in_first) < 0);
	return 0;
}

int mem_fetch16(struct hart *hart, gva_t addr, uint16_t *val, uint8_t **host)
{
	uint8_t *p = tlb_hit(hart, ACC_EXEC, addr, 2);

	for (;;) {
		if (!p && !(p = tlb_fill(hart, ACC_EXEC, addr, 2)))
			return -1;
		if (cpu_guest_copy(val, p, 2) == 0)
			break;
		p = NULL; /* a stale translation: translate again */
	}
	if (host)
		*host = p;
	return 0;
}
