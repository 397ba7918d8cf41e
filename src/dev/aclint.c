/* ACLINT MSWI and MTIMER, at the CLINT-compatible layout of the virt board
 * (ACLINT spec 1.0; SiFive CLINT): msip per hart at 0x0000, mtimecmp per
 * hart at 0x4000, mtime at 0xbff8.  Comparators live in the harts, which
 * poll them; a write here re-evaluates and wakes the hart. */
#include "condo/aclint.h"

#include <stdlib.h>

#define MSIP_BASE     0x0000
#define MTIMECMP_BASE 0x4000
#define MTIME         0xbff8

struct aclint {
	struct hart **harts;
	int nharts;
};

/* Is [off, off+len) a naturally aligned access (of an allowed width) inside
 * an array of n registers of the given stride at base?  Then *index is the
 * register's number. */
static bool reg_in(uint64_t off, uint64_t base, unsigned stride, int n, unsigned len, int *index)
{
	if (off - base >= (uint64_t)stride * n || (off & (len - 1)) || (len != 4 && len != stride))
		return false;
	*index = (int)((off - base) / stride);
	return true;
}

/* A 4- or 8-byte read of a 64-bit register. */
static uint64_t part64(uint64_t v, uint64_t off, unsigned len)
{
	return len == 8 ? v : (uint32_t)(v >> (8 * (off & 4)));
}

static int aclint_read(void *opaque, uint64_t off, unsigned len, uint64_t *val)
{
	struct aclint *a = opaque;
	int i;

	if (reg_in(off, MSIP_BASE, 4, a->nharts, len, &i)) {
		*val = !!(a->harts[i]->mip & MIP_MSIP);
		return 0;
	}
	if (reg_in(off, MTIMECMP_BASE, 8, a->nharts, len, &i)) {
		*val = part64(a->harts[i]->mtimecmp, off, len);
		return 0;
	}
	if (reg_in(off, MTIME, 8, 1, len, &i)) {
		*val = part64(cpu_time(a->harts[0]), off, len);
		return 0;
	}
	*val = 0; /* reserved space reads as zero */
	return 0;
}

static int aclint_write(void *opaque, uint64_t off, unsigned len, uint64_t val)
{
	struct aclint *a = opaque;
	int i;

	if (reg_in(off, MSIP_BASE, 4, a->nharts, len, &i)) {
		cpu_set_irq(a->harts[i], MIP_MSIP, val & 1);
		return 0;
	}
	if (reg_in(off, MTIMECMP_BASE, 8, a->nharts, len, &i)) {
		struct hart *h = a->harts[i];
		uint64_t cmp = h->mtimecmp;
		if (len == 8)
			cmp = val;
		else if (off & 4)
			cmp = (cmp & 0xffffffffull) | (val << 32);
		else
			cmp = (cmp & ~0xffffffffull) | (uint32_t)val;
		__atomic_store_n(&h->mtimecmp, cmp, __ATOMIC_SEQ_CST);
		cpu_timer_poll(h);
		cpu_kick(h); /* a sleeping hart recomputes its deadline */
		return 0;
	}
	return 0; /* mtime is read-only here; reserved space ignores writes */
}

static void aclint_free(void *opaque)
{
	free(opaque);
}

const struct dev_ops aclint_ops = {
	.name = "aclint",
	.read = aclint_read,
	.write = aclint_write,
	.free = aclint_free,
	/* No save/load: the ACLINT has no state of its own.  mtimecmp lives
	 * in struct hart and MSIP in the hart's mip, both saved with the
	 * harts; mtime is the harts' clock. */
};

struct aclint *aclint_new(struct hart **harts, int nharts)
{
	struct aclint *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->harts = harts;
	a->nharts = nharts;
	return a;
}
