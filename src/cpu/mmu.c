/* Sv39/Sv48 address translation with hardware A/D updates (priv 4.3-4.5)
 * and physical memory protection (priv 3.7). */
#include "condo/dirtylog.h"
#include "cpu/priv.h"

#define PTE_V (1ull << 0)
#define PTE_R (1ull << 1)
#define PTE_W (1ull << 2)
#define PTE_X (1ull << 3)
#define PTE_U (1ull << 4)
#define PTE_G (1ull << 5)
#define PTE_A (1ull << 6)
#define PTE_D (1ull << 7)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK ((1ull << 44) - 1)
#define PTE_RESERVED (0x3ffull << 54) /* Svpbmt/Svnapot bits: not implemented */

static const enum cpu_cause page_fault[3] = {
	[ACC_READ] = CAUSE_LOAD_PAGE_FAULT,
	[ACC_WRITE] = CAUSE_STORE_PAGE_FAULT,
	[ACC_EXEC] = CAUSE_INSN_PAGE_FAULT,
};
static const enum cpu_cause access_fault[3] = {
	[ACC_READ] = CAUSE_LOAD_ACCESS,
	[ACC_WRITE] = CAUSE_STORE_ACCESS,
	[ACC_EXEC] = CAUSE_INSN_ACCESS,
};

static int fault(struct hart *hart, const enum cpu_cause *causes, enum mem_access acc, gva_t va)
{
	hart->trap_cause = causes[acc];
	hart->trap_tval = va;
	return -1;
}

int mmu_effective_priv(const struct hart *hart, enum mem_access acc)
{
	if (acc != ACC_EXEC && hart->priv == PRV_M && (hart->csr.mstatus & MSTATUS_MPRV))
		return (int)((hart->csr.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
	return hart->priv;
}

/* ---- PMP ---- */

enum { PMP_R = 1, PMP_W = 2, PMP_X = 4, PMP_A_SHIFT = 3, PMP_L = 0x80 };
enum { PMP_OFF = 0, PMP_TOR = 1, PMP_NA4 = 2, PMP_NAPOT = 3 };

static uint8_t pmp_cfg(const struct hart *hart, int i)
{
	return (uint8_t)(hart->csr.pmpcfg[i / 8] >> (8 * (i % 8)));
}

/* The byte range [lo, hi) entry i covers; false when it is off. */
static bool pmp_range(const struct hart *hart, int i, uint64_t *lo, uint64_t *hi)
{
	uint8_t cfg = pmp_cfg(hart, i);
	uint64_t addr = hart->csr.pmpaddr[i];

	switch ((cfg >> PMP_A_SHIFT) & 3) {
	case PMP_TOR:
		*lo = i ? hart->csr.pmpaddr[i - 1] << 2 : 0;
		*hi = addr << 2;
		return true;
	case PMP_NA4:
		*lo = addr << 2;
		*hi = *lo + 4;
		return true;
	case PMP_NAPOT: {
		/* trailing ones of pmpaddr give the size: 2^(ones+3) bytes */
		int ones = __builtin_ctzll(~addr);
		if (ones >= 54) {
			*lo = 0;
			*hi = UINT64_MAX;
		} else {
			uint64_t size = 1ull << (ones + 3);
			*lo = (addr << 2) & ~(size - 1);
			*hi = *lo + size;
		}
		return true;
	}
	}
	return false;
}

bool pmp_allows(const struct hart *hart, gpa_t pa, uint64_t len, enum mem_access acc, int priv)
{
	static const uint8_t need[3] = { [ACC_READ] = PMP_R, [ACC_WRITE] = PMP_W,
					 [ACC_EXEC] = PMP_X };

	for (int i = 0; i < 16; i++) {
		uint64_t lo, hi;
		uint8_t cfg = pmp_cfg(hart, i);

		if (!pmp_range(hart, i, &lo, &hi) || hi <= lo)
			continue;
		if (pa + len <= lo || pa >= hi)
			continue; /* no byte matches */
		if (pa < lo || pa + len > hi)
			return false; /* only some bytes match: the access fails (priv 3.7.1.3) */
		if (priv == PRV_M && !(cfg & PMP_L))
			return true;
		return (cfg & need[acc]) != 0;
	}
	return priv == PRV_M;
}

/* ---- page-table walk ---- */

/* Host pointer to the PTE at pa, or NULL (access fault). */
static uint64_t *pte_ptr(struct hart *hart, gpa_t pa)
{
	uint8_t *host;

	if (!pmp_allows(hart, pa, 8, ACC_READ, PRV_S))
		return NULL;
	if (hart->env->fill(hart, pa & GUEST_PAGE_MASK, ACC_READ, &host) != 0)
		return NULL;
	return (uint64_t *)(host + (pa & (GUEST_PAGE_SIZE - 1)));
}

static bool leaf_allows(const struct hart *hart, uint64_t pte, enum mem_access acc, int priv)
{
	if (priv == PRV_U && !(pte & PTE_U))
		return false;
	if (priv == PRV_S && (pte & PTE_U) &&
	    (acc == ACC_EXEC || !(hart->csr.mstatus & MSTATUS_SUM)))
		return false;
	switch (acc) {
	case ACC_READ:
		return (pte & PTE_R) || ((pte & PTE_X) && (hart->csr.mstatus & MSTATUS_MXR));
	case ACC_WRITE:
		return pte & PTE_W;
	default:
		return pte & PTE_X;
	}
}

int mmu_translate(struct hart *hart, gva_t va, enum mem_access acc, gpa_t *pa)
{
	int priv = mmu_effective_priv(hart, acc);
	uint64_t satp = hart->csr.satp, mode = satp >> 60;
	int levels, va_bits;
	uint64_t table;

	bool global = false;

	hart->walk_global = true;
	if (!hart->system || priv == PRV_M || mode == SATP_MODE_BARE) {
		*pa = va;
		return 0;
	}
	levels = mode == SATP_MODE_SV48 ? 4 : 3;
	va_bits = 12 + 9 * levels;
	/* The bits above the top VPN must all equal its top bit (priv 4.4.1). */
	if ((int64_t)(va << (64 - va_bits)) >> (64 - va_bits) != (int64_t)va)
		return fault(hart, page_fault, acc, va);

retry:
	table = (satp & PTE_PPN_MASK) << 12;
	for (int level = levels - 1; level >= 0; level--) {
		uint64_t vpn = (va >> (12 + 9 * level)) & 511;
		uint64_t *ptep = pte_ptr(hart, table + vpn * 8);
		uint64_t pte, ppn;

		if (!ptep)
			return fault(hart, access_fault, acc, va);
		pte = __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
		if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte & PTE_RESERVED))
			return fault(hart, page_fault, acc, va);
		ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
		/* G on a pointer makes everything below it global (priv 4.3.1) */
		global |= (pte & PTE_G) != 0;
		if (!(pte & (PTE_R | PTE_X))) {
			/* pointer to the next level; D, A and U are reserved here */
			if (level == 0 || (pte & (PTE_D | PTE_A | PTE_U)))
				return fault(hart, page_fault, acc, va);
			table = ppn << 12;
			continue;
		}
		if (!leaf_allows(hart, pte, acc, priv))
			return fault(hart, page_fault, acc, va);
		/* a superpage's PPN must be aligned to its size */
		if (ppn & ((1ull << (9 * level)) - 1))
			return fault(hart, page_fault, acc, va);
		if (!(pte & PTE_A) || (acc == ACC_WRITE && !(pte & PTE_D))) {
			uint64_t want = pte | PTE_A | (acc == ACC_WRITE ? PTE_D : 0);
			/* The page table's page is written: it goes into the next
			 * snapshot or migration round (marked before the write). */
			if (hart->dirty_log)
				dirty_log_mark(hart->dirty_log, ptep, sizeof(*ptep));
			/* Set A/D atomically; if the PTE changed under us, walk again
			 * (priv 4.3.2 step 7: the update is atomic with the check). */
			if (!__atomic_compare_exchange_n(ptep, &pte, want, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				goto retry;
		}
		{
			uint64_t offset_mask = (1ull << (12 + 9 * level)) - 1;
			*pa = ((ppn << 12) & ~offset_mask) | (va & offset_mask);
			hart->walk_global = global;
			if (level) { /* a superpage: cpu_tlb_flush_page must see it whole */
				if ((va & ~offset_mask) < hart->super_lo)
					hart->super_lo = va & ~offset_mask;
				if ((va | offset_mask) > hart->super_hi)
					hart->super_hi = va | offset_mask;
			}
		}
		return 0;
	}
	return fault(hart, page_fault, acc, va); /* not reached: level 0 is a leaf or faults */
}
