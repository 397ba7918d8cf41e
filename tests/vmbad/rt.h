/* rt.h - the tiny runtime of the tests/vmbad bare-metal guests: the virt
 * board's addresses, console output on the UART, the test finisher, a
 * trap handler that skips faulting loads and stores and counts them, MMIO
 * accessors of every width, and a PRNG. */
#ifndef VMBAD_RT_H
#define VMBAD_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAM_BASE      0x80000000ul
#define SCRATCH_BASE  (RAM_BASE + 0x800000ul) /* 4 MiB nobody else uses */
#define SCRATCH_SIZE  0x400000ul
#define TEST_BASE     0x00100000ul
#define RTC_BASE      0x00101000ul
#define ACLINT_BASE   0x02000000ul
#define ACLINT_SIZE   0x10000ul
#define PLIC_BASE     0x0c000000ul
#define PLIC_SIZE     0x600000ul
#define UART_BASE     0x10000000ul
#define VIRTIO_BASE   0x10001000ul
#define VIRTIO_STRIDE 0x1000ul
#define VIRTIO_SLOTS  8
#define MAX_HARTS     8

/* mcause values the handler skips: the device said no. */
#define CAUSE_LOAD_MISALIGNED  4
#define CAUSE_LOAD_FAULT       5
#define CAUSE_STORE_MISALIGNED 6
#define CAUSE_STORE_FAULT      7

struct fault_counts {
	uint64_t by_cause[8]; /* indexed by mcause 0..7; only 4..7 are skipped */
};
extern struct fault_counts rt_faults[MAX_HARTS];

uint64_t rt_hartid(void);
uint64_t rt_fault_total(void); /* this hart's skipped faults */

/* Console (the 16550 at UART_BASE); rt_uart_init restores a sane line
 * setup after a fuzzer scribbled on it.  Output from several harts is
 * serialised line by line with rt_lock/rt_unlock. */
void rt_uart_init(void);
void rt_putc(char c);
void rt_puts(const char *s);
void rt_put_hex(uint64_t v);
void rt_put_dec(uint64_t v);
void rt_lock(void);
void rt_unlock(void);

/* Power off through the test finisher: 0 = pass, else the exit status. */
void rt_exit(int code) __attribute__((noreturn));

/* MMIO of each width.  Loads start from the value `dflt`, so a load the
 * trap handler skipped returns dflt (and the fault is counted). */
static inline uint64_t mmio_read(uintptr_t addr, unsigned len, uint64_t dflt)
{
	uint64_t v = dflt;

	switch (len) {
	case 1: __asm__ volatile("lbu %0, 0(%1)" : "+r"(v) : "r"(addr) : "memory"); break;
	case 2: __asm__ volatile("lhu %0, 0(%1)" : "+r"(v) : "r"(addr) : "memory"); break;
	case 4: __asm__ volatile("lwu %0, 0(%1)" : "+r"(v) : "r"(addr) : "memory"); break;
	default: __asm__ volatile("ld %0, 0(%1)" : "+r"(v) : "r"(addr) : "memory"); break;
	}
	return v;
}

static inline void mmio_write(uintptr_t addr, unsigned len, uint64_t v)
{
	switch (len) {
	case 1: __asm__ volatile("sb %0, 0(%1)" : : "r"(v), "r"(addr) : "memory"); break;
	case 2: __asm__ volatile("sh %0, 0(%1)" : : "r"(v), "r"(addr) : "memory"); break;
	case 4: __asm__ volatile("sw %0, 0(%1)" : : "r"(v), "r"(addr) : "memory"); break;
	default: __asm__ volatile("sd %0, 0(%1)" : : "r"(v), "r"(addr) : "memory"); break;
	}
}

static inline uint32_t rd32(uintptr_t addr)
{
	return (uint32_t)mmio_read(addr, 4, 0xdeadbeef);
}

static inline void wr32(uintptr_t addr, uint32_t v)
{
	mmio_write(addr, 4, v);
}

static inline void fence(void)
{
	__asm__ volatile("fence iorw, iorw" : : : "memory");
}

/* xorshift64*: deterministic per seed, so a failing run can be repeated. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* The end of RAM, from the device tree's memory node (a1 at entry);
 * RAM_BASE + 16 MiB if the tree cannot be read. */
uint64_t rt_ram_end(void);
/* The number of harts (cpu@ nodes under /cpus); 1 if unknown. */
int rt_ncpus(void);
/* The board is condo's (device tree model "condo,virt"), not QEMU's. */
bool rt_board_is_condo(void);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* The guest's entry points (crt0.S): hart 0 runs main(), the others
 * hart_main(); a program without secondary work uses rt_park(). */
int main(void);
void hart_main(uint64_t hartid);
void rt_park(void) __attribute__((noreturn));

#endif
