/* Privileged-architecture constants (priv spec 1.12) and the hart-internal
 * entry points of traps, the MMU and PMP. */
#ifndef CPU_PRIV_H
#define CPU_PRIV_H

#include "condo/cpu.h"

/* mstatus fields (priv 3.1.6) */
#define MSTATUS_SIE  (1ull << 1)
#define MSTATUS_MIE  (1ull << 3)
#define MSTATUS_SPIE (1ull << 5)
#define MSTATUS_MPIE (1ull << 7)
#define MSTATUS_SPP  (1ull << 8)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP  (3ull << MSTATUS_MPP_SHIFT)
#define MSTATUS_FS   (3ull << 13)
#define MSTATUS_MPRV (1ull << 17)
#define MSTATUS_SUM  (1ull << 18)
#define MSTATUS_MXR  (1ull << 19)
#define MSTATUS_TVM  (1ull << 20)
#define MSTATUS_TW   (1ull << 21)
#define MSTATUS_TSR  (1ull << 22)
#define MSTATUS_UXL  (3ull << 32)
#define MSTATUS_SXL  (3ull << 34)
/* the value of both on RV64 with S and U modes: XLEN 64, read-only (3.1.6.2) */
#define MSTATUS_UXL_64 (2ull << 32)
#define MSTATUS_SXL_64 (2ull << 34)
#define MSTATUS_SD   (1ull << 63)

#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | \
		      MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD)

#define S_INTERRUPTS (MIP_SSIP | MIP_STIP | MIP_SEIP)

#define CAUSE_INTERRUPT (1ull << 63)

#define SATP_MODE_BARE 0
#define SATP_MODE_SV39 8
#define SATP_MODE_SV48 9

#define MENVCFG_STCE (1ull << 63)

/* Take a trap (exception or interrupt) at the current pc: delegation, the
 * status stack and the vector (priv 3.1.6.1, 3.1.8, 3.3.1). */
void trap_take(struct hart *hart, uint64_t cause, uint64_t tval);
/* mret / sret: pop the status stack, return the new pc. */
uint64_t trap_mret(struct hart *hart);
uint64_t trap_sret(struct hart *hart);
/* The interrupt to take now, as a cause with CAUSE_INTERRUPT set, or 0. */
uint64_t trap_pending_interrupt(const struct hart *hart);
/* Something that decides whether an interrupt is taken changed (an enable,
 * a mask, the privilege): make the run loop look at interrupts when one is
 * takeable now.  Not otherwise: irq_check ends chains of compiled code,
 * and the kernel sets sstatus.SUM around every user copy.  A line raised
 * later sets irq_check itself (cpu_set_irq, after mip). */
void trap_irq_recheck(struct hart *hart);
/* Pick the TLB set after a change of privilege, MPRV, MPP or SUM. */
void trap_update_context(struct hart *hart);

/* wfi: sleep until an enabled interrupt is pending, a timer deadline
 * passes, or the hart is kicked. */
void cpu_idle_wait(struct hart *hart);
/* The run loop's timer poll: MTIP and STIP for the time now (*now, in
 * timebase ticks); returns the nearest deadline still ahead (UINT64_MAX:
 * none), so the loop can plan its next poll. */
uint64_t cpu_timer_check(struct hart *hart, uint64_t *now);

/* hart.c: a block was decoded from host: mark its page in the code map
 * (stores to it are reported from now on). */
void cpu_code_mark(struct hart *hart, const void *host);

/* Translate a virtual address for an access at the effective privilege.
 * 0: *pa set; -1: the trap fields hold a page or access fault. */
int mmu_translate(struct hart *hart, gva_t va, enum mem_access acc, gpa_t *pa);
/* The privilege an access runs at (MPRV makes M-mode loads/stores use MPP). */
int mmu_effective_priv(const struct hart *hart, enum mem_access acc);
/* PMP check of [pa, pa+len) for an access at priv (priv 3.7.1). */
bool pmp_allows(const struct hart *hart, gpa_t pa, uint64_t len, enum mem_access acc, int priv);

#endif
