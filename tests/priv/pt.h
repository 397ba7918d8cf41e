/* pt.h — Sv39/Sv48 page tables for the tests/priv programs (priv 1.12
 * §4.3-4.5). One layout for every program that turns paging on:
 *   VA 0x80000000 (1 GiB)  -> PA 0x80000000, RWX, not U: S code and data
 *   VA 0xc0000000 (1 GiB)  -> PA 0x80000000, RWX, U: U code runs here
 *                             (lower_call with va_off = U_ALIAS_OFF)
 *   VA 0x40000000 + i*4K   -> pt_l0[i], 4 KiB pages the tests set up
 *   VA 0x40200000 + j*2M   -> pt_l1[1 + j], megapages the tests set up
 * Sv48 puts pt_top above the same tables (pt_top[0] -> pt_root). */
#ifndef PT_H
#define PT_H
#include "priv.h"

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PTE_PPN(pa) ((((uint64_t)(pa)) >> 12) << 10)
#define PTE_LEAF(pa, flags) (PTE_PPN(pa) | (flags) | PTE_V)
#define PTE_TABLE(table) (PTE_PPN((uintptr_t)(table)) | PTE_V)
#define RWXAD (PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)

#define U_ALIAS_OFF 0x40000000UL
#define TEST_VA 0x40000000UL
#define TVA(i) (TEST_VA + (uint64_t)(i) * 4096)
#define MEGA_VA(j) (TEST_VA + 0x200000UL * (uint64_t)(1 + (j)))

static uint64_t pt_top[512] __attribute__((aligned(4096)));
static uint64_t pt_root[512] __attribute__((aligned(4096)));
static uint64_t pt_l1[512] __attribute__((aligned(4096)));
static uint64_t pt_l0[512] __attribute__((aligned(4096)));

static inline void pt_init(void)
{
	for (int i = 0; i < 512; i++)
		pt_top[i] = pt_root[i] = pt_l1[i] = pt_l0[i] = 0;
	pt_root[1] = PTE_TABLE(pt_l1);
	pt_root[2] = PTE_LEAF(0x80000000UL, RWXAD);
	pt_root[3] = PTE_LEAF(0x80000000UL, RWXAD | PTE_U);
	pt_l1[0] = PTE_TABLE(pt_l0);
	pt_top[0] = PTE_TABLE(pt_root);
	fence();
}

/* satp for Sv39 (levels 3) or Sv48 (levels 4), ASID 0 */
static inline uint64_t pt_satp(int levels)
{
	if (levels == 4)
		return SATP_MODE_SV48 | ((uintptr_t)pt_top >> 12);
	return SATP_MODE_SV39 | ((uintptr_t)pt_root >> 12);
}

static inline void pt_enable(int levels)
{
	csr_write(satp, pt_satp(levels));
	sfence_vma();
}

static inline void pt_disable(void)
{
	csr_write(satp, 0);
	sfence_vma();
}

/* a page table entry changed: make the change visible (priv 1.12 §4.2.1) */
static inline void pt_changed(void)
{
	fence();
	sfence_vma();
}

static inline void pt_map(int i, uintptr_t pa, uint64_t flags)
{
	pt_l0[i] = PTE_LEAF(pa, flags);
	pt_changed();
}

static inline void pt_unmap(int i)
{
	pt_l0[i] = 0;
	pt_changed();
}

#endif
