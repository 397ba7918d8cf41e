/* rt.c - runtime of the tests/vmbad guests (see rt.h). */
#include "rt.h"

struct fault_counts rt_faults[MAX_HARTS];
static volatile uint32_t print_lock;

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

uint64_t rt_hartid(void)
{
	uint64_t id;

	__asm__ volatile("csrr %0, mhartid" : "=r"(id));
	return id;
}

uint64_t rt_fault_total(void)
{
	const struct fault_counts *f = &rt_faults[rt_hartid() % MAX_HARTS];

	return f->by_cause[4] + f->by_cause[5] + f->by_cause[6] + f->by_cause[7];
}

void rt_uart_init(void)
{
	mmio_write(UART_BASE + UART_LCR, 1, 0x03); /* 8N1, DLAB off */
	mmio_write(UART_BASE + UART_IER, 1, 0);
	mmio_write(UART_BASE + UART_FCR, 1, 0x07);
	mmio_write(UART_BASE + UART_MCR, 1, 0);   /* no loopback */
}

void rt_putc(char c)
{
	/* bounded: a broken UART must not hang the test, only lose output */
	for (int i = 0; i < 100000; i++)
		if (mmio_read(UART_BASE + UART_LSR, 1, 0x20) & 0x20)
			break;
	mmio_write(UART_BASE + UART_THR, 1, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

void rt_put_hex(uint64_t v)
{
	rt_puts("0x");
	for (int i = 60; i >= 0; i -= 4) {
		unsigned d = (v >> i) & 15;
		if (d || i == 0 || (v >> i))
			rt_putc((char)(d < 10 ? '0' + d : 'a' + d - 10));
	}
}

void rt_put_dec(uint64_t v)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		rt_putc(buf[--n]);
}

void rt_lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		;
}

void rt_unlock(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

void rt_exit(int code)
{
	uint32_t v = code ? ((uint32_t)(code & 0xffff) << 16) | 0x3333 : 0x5555;

	fence();
	for (;;) {
		mmio_write(TEST_BASE, 4, v);
		__asm__ volatile("wfi");
	}
}

void rt_park(void)
{
	for (;;)
		__asm__ volatile("wfi");
}

/* The default for programs that use one hart. */
__attribute__((weak)) void hart_main(uint64_t hartid)
{
	(void)hartid;
	rt_park();
}

/* Called by trap_entry with the saved registers. */
void trap_handler(uint64_t *regs)
{
	uint64_t cause, epc, tval;
	uint16_t insn;

	(void)regs;
	__asm__ volatile("csrr %0, mcause" : "=r"(cause));
	__asm__ volatile("csrr %0, mepc" : "=r"(epc));
	__asm__ volatile("csrr %0, mtval" : "=r"(tval));
	if (cause >= CAUSE_LOAD_MISALIGNED && cause <= CAUSE_STORE_FAULT) {
		rt_faults[rt_hartid() % MAX_HARTS].by_cause[cause]++;
		insn = *(volatile uint16_t *)epc;
		epc += (insn & 3) == 3 ? 4 : 2;
		__asm__ volatile("csrw mepc, %0" : : "r"(epc));
		return;
	}
	rt_uart_init();
	rt_puts("\nFAIL unexpected trap: mcause ");
	rt_put_hex(cause);
	rt_puts(" mepc ");
	rt_put_hex(epc);
	rt_puts(" mtval ");
	rt_put_hex(tval);
	rt_puts("\n");
	rt_exit(99);
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

/* ---- the RAM size from the flattened device tree (devicetree spec §5) ---- */

extern uint64_t rt_dtb;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walk the structure block, calling fn(depth, node name, parent name,
 * property name or NULL for the node itself, value, len); fn returns true
 * to stop.  The walk is bounded: a corrupt tree ends it. */
typedef bool (*fdt_fn)(int depth, const char *node, const char *parent, const char *prop,
		       const uint8_t *val, uint32_t len, void *arg);

static void fdt_walk(fdt_fn fn, void *arg)
{
	const uint8_t *fdt = (const uint8_t *)rt_dtb;
	const uint8_t *p, *strings;
	const char *names[8] = { "" };
	int depth = 0;

	if (!fdt || be32(fdt) != 0xd00dfeed)
		return;
	p = fdt + be32(fdt + 8);
	strings = fdt + be32(fdt + 12);
	for (int guard = 0; guard < 100000; guard++) {
		uint32_t token = be32(p);
		p += 4;
		if (token == 1) { /* BEGIN_NODE: name, NUL, padding */
			const char *name = (const char *)p;
			size_t n = 0;
			while (name[n])
				n++;
			depth++;
			if (depth < 8)
				names[depth] = name;
			if (fn(depth, name, depth < 8 ? names[depth - 1] : "", NULL, NULL, 0, arg))
				return;
			p += (n + 4) & ~(size_t)3;
		} else if (token == 2) {
			depth--;
		} else if (token == 3) { /* PROP: len, nameoff, value */
			uint32_t len = be32(p), nameoff = be32(p + 4);
			if (depth >= 1 && depth < 8 &&
			    fn(depth, names[depth], names[depth - 1], (const char *)strings + nameoff,
			       p + 8, len, arg))
				return;
			p += 8 + ((len + 3) & ~(uint32_t)3);
		} else if (token != 4) { /* not NOP: END or garbage */
			return;
		}
	}
}

static bool find_memory(int depth, const char *node, const char *parent, const char *prop,
			const uint8_t *val, uint32_t len, void *arg)
{
	(void)parent;
	if (depth == 2 && prop && !memcmp(node, "memory", 6) && !memcmp(prop, "reg", 4) &&
	    len >= 16) {
		uint64_t base = (uint64_t)be32(val) << 32 | be32(val + 4);
		uint64_t size = (uint64_t)be32(val + 8) << 32 | be32(val + 12);
		*(uint64_t *)arg = base + size;
		return true;
	}
	return false;
}

uint64_t rt_ram_end(void)
{
	uint64_t end = 0;

	fdt_walk(find_memory, &end);
	return end ? end : RAM_BASE + (16ul << 20);
}

static bool count_cpus(int depth, const char *node, const char *parent, const char *prop,
		       const uint8_t *val, uint32_t len, void *arg)
{
	(void)val;
	(void)len;
	if (depth == 3 && !prop && !memcmp(node, "cpu@", 4) && !memcmp(parent, "cpus", 5))
		++*(int *)arg;
	return false;
}

int rt_ncpus(void)
{
	int n = 0;

	fdt_walk(count_cpus, &n);
	return n > 0 ? (n > MAX_HARTS ? MAX_HARTS : n) : 1;
}

static bool model_is_condo(int depth, const char *node, const char *parent, const char *prop,
			   const uint8_t *val, uint32_t len, void *arg)
{
	(void)node;
	(void)parent;
	if (depth == 1 && prop && !memcmp(prop, "model", 6)) {
		*(bool *)arg = len == sizeof("condo,virt") && !memcmp(val, "condo,virt", len);
		return true;
	}
	return false;
}

bool rt_board_is_condo(void)
{
	bool condo = false;

	fdt_walk(model_is_condo, &condo);
	return condo;
}
