/* Software TLB slow paths: translation through the environment's fill
 * callback, and accesses that straddle two pages. */
#include "cpu/tlb.h"

static const enum cpu_cause page_fault_cause[3] = {
	[ACC_READ] = CAUSE_LOAD_PAGE_FAULT,
	[ACC_WRITE] = CAUSE_STORE_PAGE_FAULT,
	[ACC_EXEC] = CAUSE_INSN_PAGE_FAULT,
};

uint8_t *tlb_fill(struct hart *hart, enum mem_access acc, gva_t addr)
{
	gva_t page = addr & GUEST_PAGE_MASK;
	struct tlb_entry *e = tlb_slot(hart, acc, addr);
	uint8_t *host;

	if (hart->env->fill(hart, page, acc, &host) < 0) {
		hart->trap_cause = page_fault_cause[acc];
		hart->trap_tval = addr;
		return NULL;
	}
	e->page = page;
	e->addend = (uintptr_t)host - page;
	return host + (addr - page);
}

/* Host addresses of the bytes of [addr, addr+len): the part in the first page
 * and the part (possibly empty) in the next one. */
static int translate_span(struct hart *hart, enum mem_access acc, gva_t addr, size_t len,
			  uint8_t **first, size_t *first_len, uint8_t **second)
{
	size_t in_first = GUEST_PAGE_SIZE - (addr & (GUEST_PAGE_SIZE - 1));

	*first_len = len < in_first ? len : in_first;
	*first = tlb_hit(hart, acc, addr, *first_len);
	if (!*first && !(*first = tlb_fill(hart, acc, addr)))
		return -1;
	*second = NULL;
	if (*first_len < len) {
		gva_t next = addr + *first_len;
		*second = tlb_hit(hart, acc, next, len - *first_len);
		if (!*second && !(*second = tlb_fill(hart, acc, next)))
			return -1;
		/* the first page's entry may have been evicted by the second fill;
		 * the host pointer we hold stays valid until the TLB is flushed */
	}
	return 0;
}

int mem_load_slow(struct hart *hart, gva_t addr, size_t len, uint64_t *val)
{
	uint8_t *first, *second, bytes[8];
	size_t first_len;

	if (translate_span(hart, ACC_READ, addr, len, &first, &first_len, &second) < 0)
		return -1;
	memcpy(bytes, first, first_len);
	if (second)
		memcpy(bytes + first_len, second, len - first_len);
	*val = 0;
	memcpy(val, bytes, len); /* little-endian host */
	return 0;
}

int mem_store_slow(struct hart *hart, gva_t addr, size_t len, uint64_t val)
{
	uint8_t *first, *second;
	size_t first_len;

	if (translate_span(hart, ACC_WRITE, addr, len, &first, &first_len, &second) < 0)
		return -1;
	memcpy(first, &val, first_len);
	if (second)
		memcpy(second, (uint8_t *)&val + first_len, len - first_len);
	return 0;
}

int mem_fetch16(struct hart *hart, gva_t addr, uint16_t *val)
{
	uint8_t *p = tlb_hit(hart, ACC_EXEC, addr, 2);

	if (!p && !(p = tlb_fill(hart, ACC_EXEC, addr)))
		return -1;
	memcpy(val, p, 2);
	return 0;
}
