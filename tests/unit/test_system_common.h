/* Shared by the unit tests of system-mode harts (hart state, dirty log): a
 * VM's RAM as the board makes it (ram_init, with its code map and dirty
 * log), a hart running from it with any engine, and two small programs. */
#ifndef TEST_SYSTEM_COMMON_H
#define TEST_SYSTEM_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "condo/cpu.h"
#include "condo/dirtylog.h"
#include "condo/engine.h"
#include "condo/mem.h"
#include "cpu/priv.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1ull << 20)
#define PAGE_OF(pa) (((pa) - RAM_BASE) >> GUEST_PAGE_SHIFT)

static struct guest_ram ram;

static inline int ram_fill(struct hart *h, gva_t page, enum mem_access acc, uint8_t **host)
{
	(void)acc;
	*host = gmem_ptr(h->env_ctx, page, GUEST_PAGE_SIZE);
	return *host ? 0 : -1;
}

static inline int no_mmio_read(struct hart *h, gpa_t a, unsigned len, uint64_t *v)
{
	(void)h, (void)a, (void)len, (void)v;
	return -1;
}

static inline int no_mmio_write(struct hart *h, gpa_t a, unsigned len, uint64_t v)
{
	(void)h, (void)a, (void)len, (void)v;
	return -1;
}

static const struct hart_env_ops ram_env = {
	.fill = ram_fill, .mmio_read = no_mmio_read, .mmio_write = no_mmio_write,
};

/* Fresh RAM holding code at RAM_BASE. */
static inline void ram_setup(const uint8_t *code, size_t len)
{
	if (ram.host)
		ram_free(&ram);
	if (ram_init(&ram, RAM_BASE, RAM_SIZE) < 0)
		abort();
	if (len)
		memcpy(ram.host, code, len);
}

/* A system-mode hart at RAM_BASE in M-mode, run by engine kind (the
 * translator compiles a block the first time it runs), marking the RAM's
 * dirty log, as the board sets one up. */
static inline struct hart *sys_hart(int kind)
{
	struct hart *h = hart_new(&ram_env, &ram);

	if (!h || engine_setup_hart(h, kind, 0, 1) < 0)
		abort();
	cpu_reset_system(h, 0, RAM_BASE);
	cpu_set_code_map(h, ram.code);
	cpu_set_dirty_log(h, ram.dirty);
	return h;
}

/* Run exactly n more instructions. */
static inline enum cpu_exit sys_run(struct hart *h, uint64_t n)
{
	h->insn_limit = h->instret + n;
	return engine_run(h);
}

/* M-mode: PMP entry 0 grants S and U everything, mtvec, FP on, FP
 * registers and frm, CSRs, satp = Sv39 with its root table at 0x80010000
 * (the test writes the PTE), then mret to S-mode (SUM set), which takes
 * an LR on 0x80020000, loops 1000 times storing integers and doubles (6
 * instructions per iteration), ends with an SC and an ecall to M, whose
 * handler spins.  Assembled from:
 *	li t0, -1; srli t0, t0, 10; csrw pmpaddr0, t0; li t0, 0x1f; csrw pmpcfg0, t0
 *	lla t0, m_trap; csrw mtvec, t0; li t0, 0x2000; csrs mstatus, t0
 *	li t1, 0x400921fb54442d18; fmv.d.x f1, t1; li t1, 3; fcvt.d.l f2, t1
 *	fdiv.d f3, f1, f2; csrwi frm, 2; li t0, 0x1234; csrw mscratch, t0
 *	lla t0, s_trap; csrw stvec, t0; csrw sscratch, t1; li t0, 0x222
 *	csrw mideleg, t0; csrw mie, t0; li t0, 0x100; csrw medeleg, t0
 *	li t0, 0x80010000; srli t0, t0, 12; li t1, 8; slli t1, t1, 60
 *	or t0, t0, t1; csrw satp, t0; li t0, 0x1800; csrc mstatus, t0
 *	li t0, 0x40800; csrs mstatus, t0; lla t0, s_entry; csrw mepc, t0; mret
 * s_entry: li a1, 0x80020000; lr.d a0, (a1); li a2, 0; li a3, 1000
 * loop: addi a2, a2, 1; sd a2, 8(a1); fadd.d f4, f4, f3; fmul.d f5, f4, f1
 *	fsd f5, 16(a1); blt a2, a3, loop; sc.d a4, a2, (a1); ecall
 * m_trap: j m_trap
 * s_trap: j s_trap */
static const uint8_t paged_prog[] = {
	0xfd, 0x52, 0x93, 0xd2, 0xa2, 0x00, 0x73, 0x90, 0x02, 0x3b, 0xfd, 0x42,
	0x73, 0x90, 0x02, 0x3a, 0x97, 0x02, 0x00, 0x00, 0x93, 0x82, 0x42, 0x0d,
	0x73, 0x90, 0x52, 0x30, 0x89, 0x62, 0x73, 0xa0, 0x02, 0x30, 0x37, 0x03,
	0x20, 0x00, 0x1b, 0x03, 0x13, 0x49, 0x3e, 0x03, 0x13, 0x03, 0x53, 0xed,
	0x3a, 0x03, 0x13, 0x03, 0x33, 0x44, 0x32, 0x03, 0x13, 0x03, 0x83, 0xd1,
	0xd3, 0x00, 0x03, 0xf2, 0x0d, 0x43, 0x53, 0x71, 0x23, 0xd2, 0xd3, 0xf1,
	0x20, 0x1a, 0x73, 0x50, 0x21, 0x00, 0x85, 0x62, 0x9b, 0x82, 0x42, 0x23,
	0x73, 0x90, 0x02, 0x34, 0x97, 0x02, 0x00, 0x00, 0x93, 0x82, 0xe2, 0x08,
	0x73, 0x90, 0x52, 0x10, 0x73, 0x10, 0x03, 0x14, 0x93, 0x02, 0x20, 0x22,
	0x73, 0x90, 0x32, 0x30, 0x73, 0x90, 0x42, 0x30, 0x93, 0x02, 0x00, 0x10,
	0x73, 0x90, 0x22, 0x30, 0xa1, 0x62, 0x85, 0x22, 0xc2, 0x02, 0x93, 0xd2,
	0xc2, 0x00, 0x21, 0x43, 0x72, 0x13, 0xb3, 0xe2, 0x62, 0x00, 0x73, 0x90,
	0x02, 0x18, 0x89, 0x62, 0x9b, 0x82, 0x02, 0x80, 0x73, 0xb0, 0x02, 0x30,
	0xb7, 0x12, 0x04, 0x00, 0x9b, 0x82, 0x02, 0x80, 0x73, 0xa0, 0x02, 0x30,
	0x97, 0x02, 0x00, 0x00, 0x93, 0x82, 0x02, 0x01, 0x73, 0x90, 0x12, 0x34,
	0x73, 0x00, 0x20, 0x30, 0x91, 0x65, 0x85, 0x25, 0xc6, 0x05, 0x2f, 0xb5,
	0x05, 0x10, 0x01, 0x46, 0x93, 0x06, 0x80, 0x3e, 0x05, 0x06, 0x90, 0xe5,
	0x53, 0x72, 0x32, 0x02, 0xd3, 0x72, 0x12, 0x12, 0x27, 0xb8, 0x55, 0x00,
	0xe3, 0x48, 0xd6, 0xfe, 0x2f, 0xb7, 0xc5, 0x18, 0x73, 0x00, 0x00, 0x00,
	0x01, 0xa0, 0x01, 0xa0,
};
#define PAGED_ROOT 0x80010000ull /* the Sv39 root table */
#define PAGED_DATA 0x80020000ull /* the LR/SC word, then the loop's stores */
#define PAGED_M_TRAP 0x800000e4ull

/* The root table's one entry: the gigapage at VA 0x80000000 maps PA
 * 0x80000000, V R W X, with A and D clear for the walker to set. */
static inline uint64_t *paged_setup(void)
{
	uint64_t *root;

	ram_setup(paged_prog, sizeof(paged_prog));
	root = (uint64_t *)(void *)(ram.host + (PAGED_ROOT - RAM_BASE));
	root[2] = ((RAM_BASE >> 12) << 10) | 0xf;
	return &root[2];
}

#endif
