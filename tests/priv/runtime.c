/* runtime.c — the C half of the tests/priv runtime: UART output, checks
 * and the test-finisher exit, per-hart initialisation, and the M- and
 * S-mode trap handlers that record traps for the checks (see priv.h). */
#include <stdarg.h>
#include "priv.h"

struct hart harts[MAX_HARTS];
uint64_t boot_dtb;              /* a1 at entry on hart 0 */

extern const char m_vectors[], s_vectors[];
void lower_resume(long value) __attribute__((noreturn));
void s_escalate(long value, long stage) __attribute__((noreturn));

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

struct hart *hart_ptr(long id)
{
	return &harts[id];
}

/* ---- output ---- */

void uart_putc(char c)
{
	if (c == '\n')
		uart_putc('\r');
	while (!(mmio_read8(UART_BASE + 5) & 0x20))  /* LSR.THRE */
		;
	mmio_write8(UART_BASE, (uint8_t)c);
}

/* formatted output goes to the UART or into a buffer */
struct sink {
	char *buf;                  /* NULL: the UART */
	size_t len, size;
};

static void sink_putc(struct sink *o, char c)
{
	if (!o->buf)
		uart_putc(c);
	else if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

static void put_str(struct sink *o, const char *s)
{
	while (*s)
		sink_putc(o, *s++);
}

static void put_num(struct sink *o, uint64_t v, unsigned base, int width, char pad)
{
	char buf[24];
	int n = 0;
	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n < width--)
		sink_putc(o, pad);
	while (n)
		sink_putc(o, buf[--n]);
}

static void vfmt(struct sink *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink_putc(o, *fmt);
			continue;
		}
		fmt++;
		int alt = 0, width = 0, lng = 0;
		char pad = ' ';
		if (*fmt == '#') {
			alt = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0) {
				sink_putc(o, '-');
				v = -v;
			}
			put_num(o, (uint64_t)v, 10, width, pad);
			break;
		}
		case 'u':
			put_num(o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, width, pad);
			break;
		case 'x':
			if (alt)
				put_str(o, "0x");
			put_num(o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, width, pad);
			break;
		case 's':
			put_str(o, va_arg(ap, const char *));
			break;
		case 'c':
			sink_putc(o, (char)va_arg(ap, int));
			break;
		case '%':
			sink_putc(o, '%');
			break;
		default:
			sink_putc(o, '?');
		}
	}
	if (o->buf)
		o->buf[o->len] = 0;
}

static void vpr(const char *fmt, va_list ap)
{
	struct sink uart = { 0 };
	vfmt(&uart, fmt, ap);
}

void pr(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpr(fmt, ap);
	va_end(ap);
}

/* ---- checks ---- */

static const char *cur_section;
static char section_buf[160];
static int section_failures, failures, checks;

static void end_section(void)
{
	if (cur_section && !section_failures)
		pr("ok %s\n", cur_section);
	cur_section = NULL;
}

void section(const char *name)
{
	end_section();
	cur_section = name;
	section_failures = 0;
}

static void fail_head(int line)
{
	failures++;
	section_failures++;
	pr("FAIL %s: line %d: ", cur_section ? cur_section : "?", line);
}

void check_eq(uint64_t got, uint64_t want, const char *what, int line)
{
	checks++;
	if (got == want)
		return;
	fail_head(line);
	pr("%s: got %#lx, want %#lx\n", what, got, want);
}

void check_true(int cond, const char *what, int line)
{
	checks++;
	if (cond)
		return;
	fail_head(line);
	pr("%s\n", what);
}

void note(const char *fmt, ...)
{
	va_list ap;
	pr("  note: ");
	va_start(ap, fmt);
	vpr(fmt, ap);
	va_end(ap);
	pr("\n");
}

void skip(const char *why)
{
	pr("skip %s: %s\n", cur_section ? cur_section : "?", why);
	cur_section = NULL;
}

void sectionf(const char *fmt, ...)
{
	struct sink o = { section_buf, 0, sizeof(section_buf) };
	va_list ap;
	end_section();
	va_start(ap, fmt);
	vfmt(&o, fmt, ap);
	va_end(ap);
	cur_section = section_buf;
	section_failures = 0;
}

int test_failures(void)
{
	return failures;
}

void test_exit(int code)
{
	end_section();
	if (code == 0 && failures)
		code = 1;
	pr("%d checks, %d failed\n", checks, failures);
	if (code == 0)
		mmio_write32(TEST_FINISHER, 0x5555);
	else
		mmio_write32(TEST_FINISHER, ((uint32_t)(code & 0xffff) << 16) | 0x3333);
	for (;;)
		__asm__ volatile("wfi");
}

/* Does the device tree contain `word`? A plain byte search through the
 * blob is enough for the marker qemu-shim.sh passes with -append and for
 * the board's model string. */
static int dtb_has(const char *word)
{
	const uint8_t *dtb = (const uint8_t *)boot_dtb;
	if (!dtb || ((uintptr_t)dtb & 3) || dtb[0] != 0xd0 || dtb[1] != 0x0d || dtb[2] != 0xfe ||
	    dtb[3] != 0xed)
		return 0;
	uint32_t size = (uint32_t)dtb[4] << 24 | (uint32_t)dtb[5] << 16 | (uint32_t)dtb[6] << 8 | dtb[7];
	if (size > (1u << 20))
		size = 1u << 20;
	for (uint32_t i = 0; i < size; i++) {
		uint32_t j = 0;
		while (word[j] && i + j < size && dtb[i + j] == (uint8_t)word[j])
			j++;
		if (!word[j])
			return 1;
	}
	return 0;
}

int board_is_condo(void)
{
	static int known = -1;
	if (known < 0)
		known = dtb_has("condo,virt");
	return known;
}

int qemu_deviation(const char *what)
{
	static int known = -1;
	static const char *said[16];
	if (known < 0)
		known = dtb_has("priv-known-qemu-deviations");
	if (!known)
		return 0;
	for (unsigned i = 0; i < sizeof(said) / sizeof(said[0]); i++) {
		if (said[i] == what)
			return 1;
		if (!said[i]) {
			said[i] = what;
			break;
		}
	}
	pr("  known qemu 7.2 deviation, check skipped: %s\n", what);
	return 1;
}

/* ---- traps ---- */

void trap_reset(void)
{
	struct hart *h = this_hart();
	h->nexc = 0;
	h->nirq = 0;
	memset(&h->exc, 0, sizeof(h->exc));
	memset(&h->esc, 0, sizeof(h->esc));
	memset(h->irq, 0, sizeof(h->irq));
	h->m_irq_hook = h->s_irq_hook = h->m_exc_hook = h->s_exc_hook = NULL;
	fence();
}

void check_exc(int lvl, uint64_t cause, uint64_t epc, uint64_t tval, int mode, int line)
{
	struct hart *h = this_hart();
	check_eq(h->nexc, 1, "number of exceptions", line);
	if (h->nexc < 1)
		return;
	check_eq(h->exc.level, lvl, "level the trap was taken to (3 = M, 1 = S)", line);
	check_eq(h->exc.cause, cause, "cause", line);
	if (epc != ANY_EPC)
		check_eq(h->exc.epc, epc, "epc", line);
	if (tval == ANY_TVAL)
		return;
	if (mode == 2 && h->exc.tval == 0)
		check_true(1, "tval", line);
	else
		check_eq(h->exc.tval, tval, "tval", line);
}

int wait_irqs(int n)
{
	struct hart *h = this_hart();
	for (long i = 0; i < 1000000; i++) {
		if (h->nirq >= n)
			return 1;
		barrier();
	}
	return h->nirq >= n;
}

static void record(struct trap_rec *r, const struct trap_frame *f, int level, int from)
{
	r->cause = f->cause;
	r->epc = f->epc;
	r->tval = f->tval;
	r->status = f->status;
	r->vec = f->vec;
	r->level = level;
	r->from = from;
}

static void record_irq(struct hart *h, const struct trap_frame *f, int level, int from)
{
	int n = h->nirq;
	if (n < MAX_IRQ_LOG)
		record(&h->irq[n], f, level, from);
	h->nirq = n + 1;
}

static int is_escape(const struct trap_frame *f)
{
	return f->regs[17] == ESCAPE_MAGIC && f->regs[16] == (uint64_t)ESCAPE_MAGIC2;
}

void m_trap(struct trap_frame *f)
{
	struct hart *h = this_hart();
	int from = (int)((f->status & MSTATUS_MPP) >> 11);

	if (f->cause & CAUSE_INTR) {
		record_irq(h, f, PRV_M, from);
		if (!(h->m_irq_hook && h->m_irq_hook(f)))
			csr_clear(mie, 1UL << (f->cause & 63));
		return;
	}
	if (is_escape(f)) {
		record(&h->esc, f, PRV_M, from);
		lower_resume((long)f->regs[REG_A0]);
	}
	record(&h->exc, f, PRV_M, from);
	h->nexc++;
	if (h->m_exc_hook && h->m_exc_hook(f))
		return;
	/* back to the probe's caller; MPRV probes leave MPRV set when they
	 * fault, and with MPP = U after mret it would now apply to M's own
	 * accesses, so drop it */
	f->epc = f->regs[REG_RA];
	f->regs[REG_A0] = FAULT_VALUE;
	if (from == PRV_M)
		f->status &= ~MSTATUS_MPRV;
}

void s_trap(struct trap_frame *f)
{
	struct hart *h = this_hart();
	int from = (f->status & MSTATUS_SPP) ? PRV_S : PRV_U;

	if (f->cause & CAUSE_INTR) {
		record_irq(h, f, PRV_S, from);
		if (!(h->s_irq_hook && h->s_irq_hook(f)))
			csr_clear(sie, 1UL << (f->cause & 63));
		return;
	}
	if (is_escape(f))
		s_escalate((long)f->regs[REG_A0], (long)f->regs[15]);
	record(&h->exc, f, PRV_S, from);
	h->nexc++;
	if (h->s_exc_hook && h->s_exc_hook(f))
		return;
	f->epc = f->regs[REG_RA];
	f->regs[REG_A0] = FAULT_VALUE;
}

/* ---- per-hart start-up ---- */

void hart_init(long id)
{
	struct hart *h = &harts[id];

	h->id = (uint64_t)id;
	csr_write(mscratch, (uintptr_t)(h->mstack + TRAP_STACK_SIZE));
	csr_write(sscratch, (uintptr_t)(h->sstack + TRAP_STACK_SIZE));
	csr_write(mtvec, (uintptr_t)m_vectors);
	csr_write(stvec, (uintptr_t)s_vectors);
	csr_write(mie, 0);
	csr_write(medeleg, 0);
	csr_write(mideleg, 0);
	csr_write(satp, 0);
	csr_write(mcounteren, 7);
	csr_write(scounteren, 7);
	csr_write(CSR_MENVCFG, 0);
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR |
			   MSTATUS_TW | MSTATUS_TSR | MSTATUS_TVM | MSTATUS_FS);
	csr_set(mstatus, 1UL << 13);            /* FS = Initial: FP probes in any mode */
	mmio_write64(CLINT_MTIMECMP(id), ~0UL);
	/* S and U may access everything: with no PMP entry matching they may
	 * access nothing (priv 1.12 §3.7.1). Entry 15 is the lowest priority. */
	csr_write(pmpcfg0, 0);
	csr_write(pmpaddr15, ~0UL);
	csr_write(pmpcfg2, 0x1fUL << 56);       /* A = NAPOT, X, W, R */
	sfence_vma();
	h->m_irq_hook = h->s_irq_hook = h->m_exc_hook = h->s_exc_hook = NULL;
}

__attribute__((weak)) void hart_main(long hartid)
{
	(void)hartid;
	csr_write(mie, 0);
	for (;;)
		__asm__ volatile("wfi");
}
