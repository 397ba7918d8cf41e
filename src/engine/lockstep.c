/* The lockstep engine: the program runs in stretches ("spans") of up to a
 * few ten thousand instructions.  Each span is run twice from the same
 * state, first by the translating engine (compiled code where blocks are
 * hot, the interpreter elsewhere), then by the interpreter alone (the
 * reference) for as many instructions as the first run retired, and the
 * architectural results are compared: x and f registers, CSRs, pc, fflags,
 * frm, the LR/SC reservation, instret, traps (cause, tval, instruction) and
 * the memory the span touched.  Then the state is put back and the span
 * runs for real (translated), so nothing is applied twice.  On a
 * difference the span is bisected down to the shortest prefix that still
 * differs, and the compiled block (or trace) that ran last in it is
 * reported.  Spans grow while they fit the shadow pages and shrink when
 * they do not; they end before instructions two runs cannot agree on (see
 * RUN_SHADOW), which then run for real uncompared.
 *
 * Memory: during both runs the hart uses a private, empty TLB and an
 * environment wrapper whose fill() hands out private copies ("shadows") of
 * the data pages instead of the real ones; each run gets fresh shadows, so
 * neither run changes guest memory and their shadows are compared page by
 * page afterwards.  Code pages are handed out as they are (the block was
 * decoded from them).  A device page, or in system mode any fault, aborts
 * the comparison: the block is then only run by the caller.  Both runs use
 * the app-mode translation path (hart->system off, the wrapper doing the
 * system-mode MMU and PMP steps itself), so a trap returns from the
 * reference run instead of entering the guest's handler. */
#include "cpu/priv.h"
#include "engine/engine_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LS_PAGES 256 /* shadow pages per run */
#define SPAN_MIN 64
#define SPAN_MAX (1u << 16)
#define SPAN_START 4096

struct shadow_set {
	int n;
	gva_t page[LS_PAGES];     /* the page as fill() was asked for it */
	uint8_t *real[LS_PAGES];  /* the page's real host address */
	uint8_t *copy;            /* LS_PAGES pages */
};

struct lockstep {
	struct hart_env_ops ops; /* the wrapper: hart->env points here during a run */
	const struct hart_env_ops *env;
	bool system;
	bool aborted;
	bool full; /* a run needed more shadow pages than there are */
	int cur;
	struct shadow_set set[2]; /* [0] interpreter, [1] compiled code */
	/* Each page as it was when either run first touched it: both runs
	 * start from these bytes even while other threads write the page. */
	int nbefore;
	uint8_t *before_real[2 * LS_PAGES];
	uint8_t *before;          /* 2 * LS_PAGES pages */
	struct tlb_set tlb;
	uint32_t span; /* instructions the next span may have */
};

/* The architectural state a block can change. */
struct arch {
	struct csr_state csr; /* compiled CSR instructions write it */
	uint64_t x[32], f[32], pc, instret, trap_cause, trap_tval;
	uint32_t fflags, frm;
	gva_t resv_addr;
	uint64_t resv_value;
	bool resv_valid;
};

static void arch_save(const struct hart *h, struct arch *a)
{
	a->csr = h->csr;
	memcpy(a->x, h->x, sizeof(a->x));
	memcpy(a->f, h->f, sizeof(a->f));
	a->pc = h->pc;
	a->instret = h->instret;
	a->trap_cause = h->trap_cause;
	a->trap_tval = h->trap_tval;
	a->fflags = h->fflags;
	a->frm = h->frm;
	a->resv_addr = h->resv_addr;
	a->resv_value = h->resv_value;
	a->resv_valid = h->resv_valid;
}

static void arch_restore(struct hart *h, const struct arch *a)
{
	h->csr = a->csr;
	memcpy(h->x, a->x, sizeof(a->x));
	memcpy(h->f, a->f, sizeof(a->f));
	h->pc = a->pc;
	h->instret = a->instret;
	h->trap_cause = a->trap_cause;
	h->trap_tval = a->trap_tval;
	h->fflags = a->fflags;
	h->frm = a->frm;
	h->resv_addr = a->resv_addr;
	h->resv_value = a->resv_value;
	h->resv_valid = a->resv_valid;
}

static struct lockstep *ls_of(struct hart *h)
{
	return (struct lockstep *)((uint8_t *)h->env - offsetof(struct lockstep, ops));
}

/* Where a page's content at the start of the runs is: the first copy made
 * of it, or the page itself when neither run touched it. */
static const uint8_t *page_before(const struct lockstep *ls, const uint8_t *real)
{
	for (int i = 0; i < ls->nbefore; i++)
		if (ls->before_real[i] == real)
			return ls->before + (size_t)i * GUEST_PAGE_SIZE;
	return real;
}

static uint8_t *shadow(struct lockstep *ls, gva_t page, uint8_t *real)
{
	struct shadow_set *s = &ls->set[ls->cur];
	uint8_t *copy;

	for (int i = 0; i < s->n; i++)
		if (s->real[i] == real)
			return s->copy + (size_t)i * GUEST_PAGE_SIZE;
	if (s->n == LS_PAGES)
		return NULL;
	copy = s->copy + (size_t)s->n * GUEST_PAGE_SIZE;
	if (page_before(ls, real) == real) {
		/* one read of the real page: other threads may be writing to it */
		if (ls->nbefore == 2 * LS_PAGES)
			return NULL;
		ls->before_real[ls->nbefore] = real;
		memcpy(ls->before + (size_t)ls->nbefore++ * GUEST_PAGE_SIZE, real, GUEST_PAGE_SIZE);
	}
	memcpy(copy, page_before(ls, real), GUEST_PAGE_SIZE);
	s->page[s->n] = page;
	s->real[s->n] = real;
	s->n++;
	return copy;
}

static int ls_fill(struct hart *h, gva_t page, enum mem_access acc, uint8_t **host)
{
	struct lockstep *ls = ls_of(h);
	uint8_t *real = NULL;
	int r;

	if (ls->system) {
		gpa_t pa;

		/* the steps tlb_translate takes in system mode; the page walk
		 * reads page tables through the environment's own fill */
		h->system = true;
		h->env = ls->env;
		r = mmu_translate(h, page, acc, &pa);
		if (r == 0 && !pmp_allows(h, pa & GUEST_PAGE_MASK, GUEST_PAGE_SIZE, acc,
					  mmu_effective_priv(h, acc)))
			r = -1;
		if (r == 0)
			r = ls->env->fill(h, pa & GUEST_PAGE_MASK, acc, &real);
		h->env = &ls->ops;
		h->system = false;
		if (r != 0) {
			ls->aborted = true; /* faults and devices: not compared */
			return -1;
		}
	} else {
		r = ls->env->fill(h, page, acc, &real);
		if (r < 0)
			return -1; /* a page fault both runs must agree on */
		if (r != 0) {
			ls->aborted = true;
			return -1;
		}
	}
	if (acc == ACC_EXEC) {
		*host = real;
		return 0;
	}
	*host = shadow(ls, page, real);
	if (!*host) {
		ls->aborted = ls->full = true;
		return -1;
	}
	return 0;
}

static struct lockstep *ls_new(void)
{
	struct lockstep *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	for (int i = 0; i < 3; i++) {
		size_t pages = i < 2 ? LS_PAGES : 2 * LS_PAGES;
		uint8_t *p = mmap(NULL, pages * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			lockstep_free(ls);
			return NULL;
		}
		if (i < 2)
			ls->set[i].copy = p;
		else
			ls->before = p;
	}
	ls->ops.fill = ls_fill;
	ls->span = SPAN_START;
	return ls;
}

void lockstep_free(struct lockstep *ls)
{
	if (!ls)
		return;
	for (int i = 0; i < 2; i++)
		if (ls->set[i].copy)
			munmap(ls->set[i].copy, LS_PAGES * GUEST_PAGE_SIZE);
	if (ls->before)
		munmap(ls->before, 2 * LS_PAGES * GUEST_PAGE_SIZE);
	free(ls);
}

/* What the hart had before a run, put back after it. */
struct saved {
	const struct hart_env_ops *env;
	struct tlb_set *tlb;
	bool system;
	uint8_t priv;
	uint64_t insn_limit;
};

static void run_begin(struct lockstep *ls, struct hart *h, int which, struct saved *sv)
{
	sv->env = h->env;
	sv->tlb = h->tlb;
	sv->system = h->system;
	sv->priv = h->priv;
	sv->insn_limit = h->insn_limit;
	ls->env = h->env;
	ls->system = h->system;
	ls->cur = which;
	ls->set[which].n = 0;
	cpu_tlb_set_clear(&ls->tlb);
	h->tlb = &ls->tlb;
	h->tlb_pinned = true;
	h->env = &ls->ops;
	h->system = false;
	/* no chain pointer made before may be followed from here */
	h->tlb_epoch++;
}

static void run_end(struct hart *h, const struct saved *sv)
{
	h->env = sv->env;
	h->tlb = sv->tlb;
	h->system = sv->system;
	h->tlb_pinned = false;
	h->priv = sv->priv;
	h->insn_limit = sv->insn_limit;
	h->tlb_epoch++;
}

/* How a run ended. */
struct outcome {
	bool trapped;
	bool ecall;     /* stopped at an ecall for the environment */
	uint64_t index; /* trap: the faulting instruction */
	struct arch a;
};

static const char *const abi_names[32] = {
    "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
    "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
    "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

/* The content of a page after run which: its shadow, or as it was. */
static const uint8_t *page_after(const struct lockstep *ls, int which, uint8_t *real)
{
	const struct shadow_set *s = &ls->set[which];

	for (int i = 0; i < s->n; i++)
		if (s->real[i] == real)
			return s->copy + (size_t)i * GUEST_PAGE_SIZE;
	return page_before(ls, real);
}

/* fprintf to stderr unless quiet (bisection probes). */
static void say(bool quiet, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(bool quiet, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static int report_header(const struct block *b, int shown, bool quiet)
{
	if (shown || quiet)
		return 1;
	fprintf(stderr, "condo: lockstep: compiled code differs from the interpreter\n");
	if (!b) {
		fprintf(stderr, "  (no compiled block ran: the translating engine interpreted)\n");
	} else {
		fprintf(stderr, "  the last compiled block run, at 0x%" PRIx64 ", %u instructions",
			b->pc, b->n);
		if (b->jit_n > b->n) /* the rest of the trace: its successors' blocks */
			fprintf(stderr, " (compiled as a trace of up to %u)", b->jit_n);
		fprintf(stderr, ":\n");
		for (uint32_t i = 0; i < b->n; i++)
			fprintf(stderr, "    0x%" PRIx64 "  %08x  %s\n", b->pc + b->insns[i].off,
				b->insns[i].raw, insn_name(&b->insns[i]));
	}
	fprintf(stderr, "  differences (interpreter / translating engine):\n");
	return 1;
}
static void describe_end(const struct outcome *o, uint64_t i0, char *buf, size_t len)
{
	if (o->ecall)
		snprintf(buf, len, "ecall at pc 0x%" PRIx64 ", instret +%" PRIu64, o->a.pc,
			 o->a.instret - i0);
	else if (o->trapped)
		snprintf(buf, len, "trap %s (tval 0x%" PRIx64 ") at instruction %" PRIu64
			 ", pc 0x%" PRIx64 ", instret +%" PRIu64,
			 cpu_cause_name(o->a.trap_cause), o->a.trap_tval, o->index, o->a.pc,
			 o->a.instret - i0);
	else
		snprintf(buf, len, "ran to the end, next pc 0x%" PRIx64 ", instret +%" PRIu64,
			 o->a.pc, o->a.instret - i0);
}

/* Compare the two runs; report and return true when they differ. */
static bool compare(struct lockstep *ls, const struct block *b, const struct outcome *ref,
		    const struct outcome *jit, uint64_t i0, bool quiet)
{
	int shown = 0;

	if (ref->trapped != jit->trapped || ref->ecall != jit->ecall || ref->a.pc != jit->a.pc ||
	    ref->a.instret != jit->a.instret ||
	    (ref->trapped && (ref->index != jit->index || ref->a.trap_cause != jit->a.trap_cause ||
			      ref->a.trap_tval != jit->a.trap_tval))) {
		char r[200], j[200];

		describe_end(ref, i0, r, sizeof(r));
		describe_end(jit, i0, j, sizeof(j));
		shown = report_header(b, shown, quiet);
		say(quiet, "    exit: %s\n          %s\n", r, j);
	}
	for (int i = 1; i < 32; i++)
		if (ref->a.x[i] != jit->a.x[i]) {
			shown = report_header(b, shown, quiet);
			say(quiet, "    x%-2d %-4s 0x%016" PRIx64 " / 0x%016" PRIx64 "\n", i,
				abi_names[i], ref->a.x[i], jit->a.x[i]);
		}
	for (int i = 0; i < 32; i++)
		if (ref->a.f[i] != jit->a.f[i]) {
			shown = report_header(b, shown, quiet);
			say(quiet, "    f%-2d      0x%016" PRIx64 " / 0x%016" PRIx64 "\n", i,
				ref->a.f[i], jit->a.f[i]);
		}
	if (ref->a.fflags != jit->a.fflags || ref->a.frm != jit->a.frm) {
		shown = report_header(b, shown, quiet);
		say(quiet, "    fflags %#x frm %u / fflags %#x frm %u\n", ref->a.fflags,
			ref->a.frm, jit->a.fflags, jit->a.frm);
	}
	if (memcmp(&ref->a.csr, &jit->a.csr, sizeof(ref->a.csr))) {
		const uint64_t *r = (const uint64_t *)&ref->a.csr, *j = (const uint64_t *)&jit->a.csr;

		shown = report_header(b, shown, quiet);
		for (size_t i = 0; i < sizeof(ref->a.csr) / 8; i++)
			if (r[i] != j[i])
				say(quiet, "    csr word %zu of struct csr_state 0x%016" PRIx64
					" / 0x%016" PRIx64 "\n", i, r[i], j[i]);
	}
	if (ref->a.resv_valid != jit->a.resv_valid ||
	    (ref->a.resv_valid &&
	     (ref->a.resv_addr != jit->a.resv_addr || ref->a.resv_value != jit->a.resv_value))) {
		shown = report_header(b, shown, quiet);
		say(quiet, "    reservation %d 0x%" PRIx64 "=0x%" PRIx64 " / %d 0x%" PRIx64
			"=0x%" PRIx64 "\n", ref->a.resv_valid, ref->a.resv_addr, ref->a.resv_value,
			jit->a.resv_valid, jit->a.resv_addr, jit->a.resv_value);
	}
	/* every page either run touched */
	for (int which = 0; which < 2; which++) {
		const struct shadow_set *s = &ls->set[which];

		for (int i = 0; i < s->n; i++) {
			const uint8_t *r, *j;
			int lines = 0;

			if (which == 1 &&
			    page_after(ls, 0, s->real[i]) != page_before(ls, s->real[i]))
				continue; /* compared from set 0 */
			r = page_after(ls, 0, s->real[i]);
			j = page_after(ls, 1, s->real[i]);
			if (!memcmp(r, j, GUEST_PAGE_SIZE))
				continue;
			shown = report_header(b, shown, quiet);
			for (size_t off = 0; off < GUEST_PAGE_SIZE && lines < 8; off += 8) {
				uint64_t rv, jv;

				memcpy(&rv, r + off, 8);
				memcpy(&jv, j + off, 8);
				if (rv != jv) {
					say(quiet, "    mem 0x%" PRIx64 ": 0x%016" PRIx64
						" / 0x%016" PRIx64 "\n", s->page[i] + off, rv, jv);
					lines++;
				}
			}
		}
	}
	return shown;
}


/* One span from the hart's state up to instret end, compared. */
struct span {
	uint64_t end;    /* where the translating run stopped */
	bool exited;     /* at a trap or ecall (not part of the span) */
	bool compared;
	bool differs;
};

/* Run from the hart's state to instret end in shadow mode, the
 * translating engine if compiled, else the interpreter, and leave the hart
 * as it was.  Returns what engine_loop did; *o gets the end state, and
 * *aborted whether a device or a fault made the run incomparable. */
static int shadow_run(struct lockstep *ls, struct hart *h, struct engine *eng, bool compiled,
		      uint64_t end, const struct arch *start, struct outcome *o, bool *aborted)
{
	struct saved sv;
	int r;

	run_begin(ls, h, compiled, &sv);
	ls->aborted = false;
	h->insn_limit = end;
	r = engine_loop(h, eng, RUN_SHADOW | (compiled ? RUN_COMPILED : 0));
	arch_save(h, &o->a);
	*aborted = ls->aborted;
	run_end(h, &sv);
	arch_restore(h, start);
	o->trapped = r == CPU_EXIT_TRAP && !*aborted;
	o->ecall = r == CPU_EXIT_ECALL;
	o->index = o->a.instret - start->instret;
	return r;
}

/* Compare the span from the hart's state to end (quiet: only say whether
 * the runs differ); the hart is left as it was. */
static void compare_span(struct lockstep *ls, struct hart *h, struct engine *eng, uint64_t end,
			 bool quiet, struct span *sp)
{
	uint64_t i0 = h->instret, flushes = eng->flushes, drops = eng->drops;
	struct outcome cmp, ref;
	struct arch start;
	bool aborted;
	int r;

	arch_save(h, &start);
	ls->nbefore = 0;
	eng->last_compiled = NULL;
	ls->full = false;
	/* The translating run first: it decides how far the span goes. */
	r = shadow_run(ls, h, eng, true, end, &start, &cmp, &aborted);
	sp->end = cmp.a.instret;
	sp->exited = cmp.trapped || cmp.ecall;
	sp->compared = sp->differs = false;
	if (aborted && r == CPU_EXIT_TRAP)
		cmp.trapped = false; /* it stopped before the access it could not shadow */
	if (sp->end == i0 && !sp->exited)
		return;
	/* The reference: as many instructions, or up to and including the
	 * one the translating run trapped on, which must trap here too. */
	r = shadow_run(ls, h, eng, false, sp->end + sp->exited, &start, &ref, &aborted);
	if (aborted || r == RUN_PENDING || r == CPU_EXIT_STOP)
		return; /* a device, a fault, a request from outside: not comparable */
	if (eng->drops != drops)
		return; /* code changed under the runs (another hart, a device) */
	/* A trap after the last instruction is the next block's fetch: not ours. */
	if (ref.trapped && ref.a.instret >= sp->end + sp->exited)
		ref.trapped = false;
	if (!ref.trapped) {
		/* a trap's fields after a completed span belong to the next fetch */
		ref.a.trap_cause = cmp.a.trap_cause;
		ref.a.trap_tval = cmp.a.trap_tval;
	}
	sp->compared = true;
	sp->differs = compare(ls, eng->flushes_at_last == flushes ? eng->last_compiled : NULL,
			      &ref, &cmp, i0, quiet);
}

/* The span [h->instret, end) differs: find the shortest prefix that still
 * does, report it and stop condo.  Returns when the difference does not
 * come back (memory another hart changed between the runs). */
static void report(struct lockstep *ls, struct hart *h, struct engine *eng, uint64_t end)
{
	uint64_t lo = h->instret + 1, hi = end;
	struct span sp;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		compare_span(ls, h, eng, mid, true, &sp);
		if (sp.compared && sp.differs)
			hi = mid;
		else
			lo = mid + 1;
	}
	compare_span(ls, h, eng, hi, true, &sp);
	if (!sp.differs) {
		hi = end;
		compare_span(ls, h, eng, hi, true, &sp);
		if (!sp.differs)
			return;
	}
	compare_span(ls, h, eng, hi, false, &sp);
	fprintf(stderr, "  (from instret %" PRIu64 ", runs of up to %" PRIu64
		" instructions agree)\n", h->instret, hi - 1 - h->instret);
	fprintf(stderr, "condo: lockstep: stopping (exit status %d)\n", ENGINE_LOCKSTEP_EXIT);
	/* A debugging engine: going on from a state one engine got wrong
	 * would only bury the first difference. */
	exit(ENGINE_LOCKSTEP_EXIT);
}

enum cpu_exit lockstep_run(struct hart *h, struct engine *eng)
{
	struct lockstep *ls = eng->ls;
	uint64_t outer = h->insn_limit;

	if (!ls && !(ls = eng->ls = ls_new()))
		return (enum cpu_exit)engine_loop(h, eng, RUN_COMPILED); /* no memory to compare */
	cpu_sync_generations(h);
	for (;;) {
		uint64_t i0 = h->instret, end, real;
		struct span sp;
		int r;

		if (i0 >= outer)
			return CPU_EXIT_LIMIT;
		end = outer - i0 > ls->span ? i0 + ls->span : outer;
		compare_span(ls, h, eng, end, true, &sp);
		if (sp.compared) {
			if (sp.differs)
				report(ls, h, eng, sp.end + sp.exited);
			if (sp.differs)
				eng->stats.lockstep_skipped++; /* it did not come back */
			else
				eng->stats.lockstep_spans++;
			eng->stats.lockstep_insns += sp.differs ? 0 : sp.end - i0;
		} else if (sp.end > i0 || sp.exited) {
			eng->stats.lockstep_skipped++;
		}
		/* Longer spans while they fit the shadow pages, shorter when not. */
		if (ls->full && ls->span > SPAN_MIN)
			ls->span /= 2;
		else if (sp.end == end && ls->span < SPAN_MAX)
			ls->span *= 2;
		/* For real: the span, and at least one instruction (the one that
		 * ended it: a trap, an ecall, an instruction not compared). */
		real = sp.end > i0 && !sp.exited ? sp.end : sp.end + 1;
		if (real > outer)
			real = outer;
		h->insn_limit = real;
		r = engine_loop(h, eng, RUN_COMPILED);
		/* traps that retired nothing used up budget (engine_loop) */
		if (outer != UINT64_MAX)
			outer -= real - h->insn_limit;
		h->insn_limit = outer;
		if (r != CPU_EXIT_LIMIT || h->instret >= outer)
			return (enum cpu_exit)r;
	}
}
