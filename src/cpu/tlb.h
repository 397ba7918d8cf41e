/* The software TLB: the inline hit path every load, store and fetch takes,
 * and the slow path that asks the environment to translate a page. */
#ifndef CPU_TLB_H
#define CPU_TLB_H

#include "condo/cpu.h"

#include <string.h>

static inline struct tlb_entry *tlb_slot(struct hart *hart, enum mem_access acc, gva_t addr)
{
	return &hart->tlb->e[acc][(addr >> GUEST_PAGE_SHIFT) & (TLB_ENTRIES - 1)];
}

/* Host address for an access of len bytes at addr, or NULL on a miss or when
 * the access crosses a page.  Comparing the entry (chosen by addr's page)
 * with the page of the last byte checks both conditions at once. */
static inline uint8_t *tlb_hit(struct hart *hart, enum mem_access acc, gva_t addr, size_t len)
{
	struct tlb_entry *e = tlb_slot(hart, acc, addr);

	if (__builtin_expect(e->page == ((addr + len - 1) & GUEST_PAGE_MASK), 1))
		return (uint8_t *)(uintptr_t)(addr + e->addend);
	return NULL;
}

/* Translate an access of len bytes (within one page) and cache the page
 * when it is RAM.  Returns 0 with *host set, FILL_MMIO with *pa set (system
 * mode devices), or -1 with the trap fields set. */
int tlb_translate(struct hart *hart, enum mem_access acc, gva_t addr, size_t len, uint8_t **host,
		  gpa_t *pa);
/* The same for accesses that must be RAM: a device page is an access fault. */
uint8_t *tlb_fill(struct hart *hart, enum mem_access acc, gva_t addr, size_t len);

/* Slow paths: misses and page-crossing accesses.  Return 0 or -1 (trap set).
 * A crossing store checks both pages before writing a byte. */
int mem_load_slow(struct hart *hart, gva_t addr, size_t len, uint64_t *val);
int mem_store_slow(struct hart *hart, gva_t addr, size_t len, uint64_t val);
/* Fetch a 16-bit parcel of an instruction; *host (if not NULL) gets its host address. */
int mem_fetch16(struct hart *hart, gva_t addr, uint16_t *val, uint8_t **host);

/* Host pointer for an atomic access (naturally aligned, so never crossing). */
static inline uint8_t *mem_atomic_ptr(struct hart *hart, enum mem_access acc, gva_t addr,
				      size_t len)
{
	uint8_t *p = tlb_hit(hart, acc, addr, len);
	return p ? p : tlb_fill(hart, acc, addr, len);
}

#endif
