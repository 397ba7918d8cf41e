/* The A extension's memory operations (unpriv 8), for the interpreter and
 * compiled code alike: host atomics on the host address, so harts on other
 * host threads see them atomically; aq/rl are subsumed by the host's
 * sequentially consistent locked instructions.  LR saves the value it read
 * and SC succeeds when memory still holds it (a compare-and-swap).
 *
 * Every access is one of guest_access.h's fault-tolerant instructions: a
 * host fault (another thread took the page or made it code since this
 * hart's TLB entry was made) drops the entry and the operation starts
 * again from a fresh translation, which raises the guest's fault if the
 * page is really gone.  A faulting locked instruction has written nothing. */
#include "cpu/amo.h"

#include "cpu/guest_access.h"
#include "cpu/ops.h"
#include "cpu/tlb.h"

#if defined(__x86_64__)
/* ---- one locked instruction each: 0, or -1 when the host faulted ---- */

static int guest_xchg(void *p, unsigned len, uint64_t *v)
{
	if (len == 4) {
		uint32_t x = (uint32_t)*v;
		asm goto("1: xchgl %k[x], (%[p])\n\t" GUEST_EXTABLE("1b", "%l[fault]")
			 : [x] "+r"(x)
			 : [p] "r"(p)
			 : "memory"
			 : fault);
		*v = x;
	} else {
		asm goto("1: xchgq %q[x], (%[p])\n\t" GUEST_EXTABLE("1b", "%l[fault]")
			 : [x] "+r"(*v)
			 : [p] "r"(p)
			 : "memory"
			 : fault);
	}
	return 0;
fault:
	return -1;
}

static int guest_xadd(void *p, unsigned len, uint64_t *v)
{
	if (len == 4) {
		uint32_t x = (uint32_t)*v;
		asm goto("1: lock xaddl %k[x], (%[p])\n\t" GUEST_EXTABLE("1b", "%l[fault]")
			 : [x] "+r"(x)
			 : [p] "r"(p)
			 : "memory", "cc"
			 : fault);
		*v = x;
	} else {
		asm goto("1: lock xaddq %q[x], (%[p])\n\t" GUEST_EXTABLE("1b", "%l[fault]")
			 : [x] "+r"(*v)
			 : [p] "r"(p)
			 : "memory", "cc"
			 : fault);
	}
	return 0;
fault:
	return -1;
}

/* 1 when *p held *expect and now holds want; 0 when not (*expect = what it
 * holds); -1 when the host faulted. */
static int guest_cas(void *p, unsigned len, uint64_t *expect, uint64_t want)
{
	uint64_t a = len == 4 ? (uint32_t)*expect : *expect;
	uint64_t before = a;

	if (len == 4)
		asm goto("1: lock cmpxchgl %k[w], (%[p])\n\t" GUEST_EXTABLE("1b", "%l[fault]")
			 : "+a"(a)
			 : [p] "r"(p), [w] "r"(want)
			 : "memory", "cc"
			 : fault);
	else
		asm goto("1: lock cmpxchgq %q[w], (%[p])\n\t" GUEST_EXTABLE("1b", "%l[fault]")
			 : "+a"(a)
			 : [p] "r"(p), [w] "r"(want)
			 : "memory", "cc"
			 : fault);
	if (len == 4)
		a = (uint32_t)a;
	*expect = a;
	return a == before;
fault:
	return -1;
}

#else
static int guest_xchg(void *p, unsigned len, uint64_t *v)
{
	*v = len == 4 ? (uint32_t)__atomic_exchange_n((uint32_t *)p, (uint32_t)*v, __ATOMIC_SEQ_CST)
		      : __atomic_exchange_n((uint64_t *)p, *v, __ATOMIC_SEQ_CST);
	return 0;
}

static int guest_xadd(void *p, unsigned len, uint64_t *v)
{
	*v = len == 4 ? (uint32_t)__atomic_fetch_add((uint32_t *)p, (uint32_t)*v, __ATOMIC_SEQ_CST)
		      : __atomic_fetch_add((uint64_t *)p, *v, __ATOMIC_SEQ_CST);
	return 0;
}

static int guest_cas(void *p, unsigned len, uint64_t *expect, uint64_t want)
{
	if (len == 4) {
		uint32_t e = (uint32_t)*expect;
		bool ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)want, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*expect = e;
		return ok;
	}
	return __atomic_compare_exchange_n((uint64_t *)p, expect, want, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}
#endif

static int guest_load(const void *p, unsigned len, uint64_t *v)
{
	if (len == 4)
		GUEST_LOAD(4, *v, p, fault);
	else
		GUEST_LOAD(8, *v, p, fault);
	return 0;
fault:
	return -1;
}

/* The new value of an AMO that is a compare-and-swap loop. */
static uint64_t amo_result(unsigned op, unsigned len, uint64_t old, uint64_t src)
{
	int64_t so = len == 4 ? (int32_t)old : (int64_t)old;
	int64_t ss = len == 4 ? (int32_t)src : (int64_t)src;
	uint64_t uo = len == 4 ? (uint32_t)old : old;
	uint64_t us = len == 4 ? (uint32_t)src : src;

	switch (op) {
	case OP_AMOXOR_W: case OP_AMOXOR_D: return old ^ src;
	case OP_AMOAND_W: case OP_AMOAND_D: return old & src;
	case OP_AMOOR_W: case OP_AMOOR_D: return old | src;
	case OP_AMOMIN_W: case OP_AMOMIN_D: return so < ss ? old : src;
	case OP_AMOMAX_W: case OP_AMOMAX_D: return so > ss ? old : src;
	case OP_AMOMINU_W: case OP_AMOMINU_D: return uo < us ? old : src;
	default: return uo > us ? old : src; /* AMOMAXU */
	}
}

/* The operation on host address p: 0 with *rd set, or -1 when the host
 * faulted (nothing was written). */
static int amo_at(struct hart *h, unsigned op, void *p, unsigned len, gva_t addr, uint64_t src,
		  uint64_t *rd)
{
	uint64_t v = src;

	switch (op) {
	case OP_LR_W: case OP_LR_D:
		if (guest_load(p, len, &v) < 0)
			return -1;
		h->resv_addr = addr;
		h->resv_value = v;
		h->resv_valid = true;
		break;
	case OP_SC_W: case OP_SC_D: {
		int r = guest_cas(p, len, &(uint64_t){ h->resv_value }, src);
		if (r < 0)
			return -1;
		*rd = !r;
		return 0;
	}
	case OP_AMOSWAP_W: case OP_AMOSWAP_D:
		if (guest_xchg(p, len, &v) < 0)
			return -1;
		break;
	case OP_AMOADD_W: case OP_AMOADD_D:
		if (guest_xadd(p, len, &v) < 0)
			return -1;
		break;
	default: {
		int r;
		if (guest_load(p, len, &v) < 0)
			return -1;
		while ((r = guest_cas(p, len, &v, amo_result(op, len, v, src))) == 0)
			;
		if (r < 0)
			return -1;
		break;
	}
	}
	*rd = len == 4 ? (uint64_t)(int64_t)(int32_t)v : v;
	return 0;
}

int cpu_amo(struct hart *h, const struct insn *ip, gva_t addr, uint64_t src, uint64_t *rd)
{
	unsigned op = ip->op;
	unsigned len = op >= OP_LR_D ? 8 : 4;
	bool lr = op == OP_LR_W || op == OP_LR_D;
	enum mem_access acc = lr ? ACC_READ : ACC_WRITE;

	if (addr & (len - 1)) {
		h->trap_cause = lr ? CAUSE_LOAD_MISALIGNED : CAUSE_STORE_MISALIGNED;
		h->trap_tval = addr;
		return -1;
	}
	if (op == OP_SC_W || op == OP_SC_D) {
		if (!h->resv_valid || h->resv_addr != addr) {
			*rd = 1;
			return 0;
		}
		h->resv_valid = false;
	}
	for (;;) {
		uint8_t *p = mem_atomic_ptr(h, acc, addr, len);

		if (!p)
			return -1;
		if (amo_at(h, op, p, len, addr, src, rd) == 0)
			return 0;
		/* A stale translation: the next round makes a fresh one. */
		tlb_slot(h, acc, addr)->page = TLB_INVALID;
	}
}
