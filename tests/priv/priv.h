/* priv.h — the tiny bare-metal runtime of condo's privileged-architecture
 * tests (tests/priv): board addresses, CSR access, per-hart state, trap
 * records, running code in S/U-mode, probes and checks.
 * Shared by crt0.S (the parts under __ASSEMBLER__) and the C programs.
 * The board is QEMU's "virt" (priv 1.12 for every architectural rule). */
#ifndef PRIV_H
#define PRIV_H

/* ---- board ---- */
#define UART_BASE       0x10000000UL
#define UART_IRQ        10
#define TEST_FINISHER   0x00100000UL
#define CLINT_BASE      0x02000000UL
#define CLINT_MSIP(h)   (CLINT_BASE + 4UL * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000UL + 8UL * (h))
#define CLINT_MTIME     (CLINT_BASE + 0xbff8UL)
#define PLIC_BASE       0x0c000000UL
#define PLIC_PRIO(src)  (PLIC_BASE + 4UL * (src))
#define PLIC_PENDING    (PLIC_BASE + 0x1000UL)
#define PLIC_ENABLE(ctx) (PLIC_BASE + 0x2000UL + 0x80UL * (ctx))
#define PLIC_THRESH(ctx) (PLIC_BASE + 0x200000UL + 0x1000UL * (ctx))
#define PLIC_CLAIM(ctx) (PLIC_THRESH(ctx) + 4)
/* the virt board's PLIC contexts: M-mode then S-mode of each hart */
#define PLIC_CTX_M(h)   ((int)(2 * (h)))
#define PLIC_CTX_S(h)   ((int)(2 * (h) + 1))

#define MAX_HARTS       8
#define STACK_SIZE      16384
#define TRAP_STACK_SIZE 4096

/* ---- privilege levels and CSR fields (priv 1.12 ch. 3 and 4) ---- */
#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define MSTATUS_SIE   (1UL << 1)
#define MSTATUS_MIE   (1UL << 3)
#define MSTATUS_SPIE  (1UL << 5)
#define MSTATUS_MPIE  (1UL << 7)
#define MSTATUS_SPP   (1UL << 8)
#define MSTATUS_MPP   (3UL << 11)
#define MSTATUS_MPP_S (1UL << 11)
#define MSTATUS_FS    (3UL << 13)
#define MSTATUS_MPRV  (1UL << 17)
#define MSTATUS_SUM   (1UL << 18)
#define MSTATUS_MXR   (1UL << 19)
#define MSTATUS_TVM   (1UL << 20)
#define MSTATUS_TW    (1UL << 21)
#define MSTATUS_TSR   (1UL << 22)
#define MSTATUS_UXL_SHIFT 32
#define MSTATUS_SXL_SHIFT 34

#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11
#define MIP_SSIP (1UL << IRQ_S_SOFT)
#define MIP_MSIP (1UL << IRQ_M_SOFT)
#define MIP_STIP (1UL << IRQ_S_TIMER)
#define MIP_MTIP (1UL << IRQ_M_TIMER)
#define MIP_SEIP (1UL << IRQ_S_EXT)
#define MIP_MEIP (1UL << IRQ_M_EXT)

#define CAUSE_INTR         (1UL << 63)
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL      2
#define CAUSE_BREAKPOINT   3
#define CAUSE_LOAD_MISALIGNED 4
#define CAUSE_LOAD_ACCESS  5
#define CAUSE_STORE_MISALIGNED 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U      8
#define CAUSE_ECALL_S      9
#define CAUSE_ECALL_M      11
#define CAUSE_FETCH_PAGE   12
#define CAUSE_LOAD_PAGE    13
#define CAUSE_STORE_PAGE   15

/* CSRs the assembler may not know by name */
#define CSR_MENVCFG   0x30a
#define CSR_STIMECMP  0x14d
#define MENVCFG_STCE  (1UL << 63)

#define SATP_MODE_SV39 (8UL << 60)
#define SATP_MODE_SV48 (9UL << 60)

/* register values that mark the runtime's "return to M-mode" trap */
#define ESCAPE_MAGIC  0x5ca9e0ff
#define ESCAPE_MAGIC2 (-0x5ca9e100)   /* ~ESCAPE_MAGIC */

/* layout of struct hart used by crt0.S */
#define HART_MCTX_SP   0
#define HART_MCTX_MIE  8
/* layout of struct trap_frame used by crt0.S */
#define FRAME_CAUSE  256
#define FRAME_EPC    264
#define FRAME_TVAL   272
#define FRAME_STATUS 280
#define FRAME_VEC    288
#define FRAME_SIZE   320

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#define STR_(x) #x
#define STR(x) STR_(x)
#define csr_read(csr) ({ uint64_t v_; \
	__asm__ volatile("csrr %0, " STR(csr) : "=r"(v_) :: "memory"); v_; })
#define csr_write(csr, val) ({ \
	__asm__ volatile("csrw " STR(csr) ", %0" :: "rK"((uint64_t)(val)) : "memory"); })
#define csr_set(csr, val) ({ \
	__asm__ volatile("csrs " STR(csr) ", %0" :: "rK"((uint64_t)(val)) : "memory"); })
#define csr_clear(csr, val) ({ \
	__asm__ volatile("csrc " STR(csr) ", %0" :: "rK"((uint64_t)(val)) : "memory"); })
#define csr_swap(csr, val) ({ uint64_t v_; \
	__asm__ volatile("csrrw %0, " STR(csr) ", %1" : "=r"(v_) : "rK"((uint64_t)(val)) : "memory"); v_; })

static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint64_t mmio_read64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }
#define barrier() __asm__ volatile("" ::: "memory")
#define fence() __asm__ volatile("fence rw, rw" ::: "memory")
#define sfence_vma() __asm__ volatile("sfence.vma" ::: "memory")

/* all registers at trap entry, then the trap CSRs; handlers may change
 * regs, epc and status: they are written back before xRET */
struct trap_frame {
	uint64_t regs[32];
	uint64_t cause, epc, tval, status;
	uint64_t vec;               /* vector slot entered: 0..15 */
	uint64_t pad[3];
};
#define REG_RA 1
#define REG_SP 2
#define REG_A0 10
#define REG_A1 11

/* one trap as a handler saw it */
struct trap_rec {
	uint64_t cause, epc, tval, status;
	uint64_t vec;
	int level;                  /* handler: PRV_M or PRV_S */
	int from;                   /* privilege the trap was taken from */
};

#define MAX_IRQ_LOG 16
typedef int (*trap_hook_fn)(struct trap_frame *f);

struct hart {
	uint64_t mctx_sp;           /* HART_MCTX_SP: lower_call's saved sp */
	uint64_t mctx_mie;          /* HART_MCTX_MIE */
	uint64_t id;
	/* synchronous exceptions (other than the runtime's escape) */
	volatile int nexc;
	struct trap_rec exc;        /* the last one */
	/* interrupts, in the order they were taken */
	volatile int nirq;
	struct trap_rec irq[MAX_IRQ_LOG];
	/* the escape back to M that ended the last lower_call */
	struct trap_rec esc;
	/* optional hooks, return non-zero when they handled the trap;
	 * defaults: exceptions return to the probe's caller, interrupts get
	 * their enable bit (mie/sie) cleared */
	trap_hook_fn m_irq_hook, s_irq_hook, m_exc_hook, s_exc_hook;
	uint8_t mstack[TRAP_STACK_SIZE] __attribute__((aligned(16)));
	uint8_t sstack[TRAP_STACK_SIZE] __attribute__((aligned(16)));
};

extern struct hart harts[MAX_HARTS];
static inline struct hart *this_hart(void)
{
	struct hart *h;
	__asm__("mv %0, tp" : "=r"(h));
	return h;
}

/* ---- output and checks (M-mode only) ---- */
void uart_putc(char c);
void pr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void section(const char *name);
void sectionf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_eq(uint64_t got, uint64_t want, const char *what, int line);
void check_true(int cond, const char *what, int line);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void skip(const char *why);
void test_exit(int code) __attribute__((noreturn));
int test_failures(void);
/* true (after saying so) when run by qemu-shim.sh, which marks the device
 * tree: the caller then skips a check where qemu 7.2 is known to deviate
 * from the specification (docs/testing-priv.md lists them) */
int qemu_deviation(const char *what);
/* true when the board is condo's (device tree model "condo,virt"): checks
 * of a choice the spec leaves to the implementation apply only there */
int board_is_condo(void);
#define CHECK_EQ(got, want) check_eq((uint64_t)(got), (uint64_t)(want), #got " == " #want, __LINE__)
#define CHECK(cond) check_true(!!(cond), #cond, __LINE__)

/* ---- traps ---- */
void trap_reset(void);          /* forget recorded traps, clear hooks */
/* assert exactly one exception since trap_reset(), with these values */
#define CHECK_EXC(lvl, cause_, epc_, tval_) \
	check_exc((lvl), (cause_), (uint64_t)(epc_), (uint64_t)(tval_), 1, __LINE__)
/* the same, but stval/mtval may also be 0 (priv 1.12 §3.1.16 lets an
 * implementation write 0 for illegal instructions and breakpoints) */
#define CHECK_EXC_TVAL0(lvl, cause_, epc_, tval_) \
	check_exc((lvl), (cause_), (uint64_t)(epc_), (uint64_t)(tval_), 2, __LINE__)
#define CHECK_NO_EXC() check_eq(this_hart()->nexc, 0, "no exception", __LINE__)
void check_exc(int lvl, uint64_t cause, uint64_t epc, uint64_t tval, int mode, int line);
#define ANY_TVAL 0xa11a11a11a11a11aUL
#define ANY_EPC  0xa11a11a11a11a11aUL

/* run fn(arg) in privilege mode `mode` (through mret) and return its
 * result once it returns (it ends with an ecall the runtime recognises).
 * va_off is added to fn, the entry stub and sp: with paging on, it runs
 * through an alias mapping (U code must live in U pages). */
long lower_call(long mode, long (*fn)(long), long arg, uint64_t va_off);
#define RUN_S(fn, arg) lower_call(PRV_S, (fn), (long)(arg), 0)
#define RUN_U(fn, arg) lower_call(PRV_U, (fn), (long)(arg), 0)

/* spin until at least n interrupts were recorded on this hart (a hang
 * guard of 1M iterations, not a time limit); usable in any mode that can
 * reach struct hart */
int wait_irqs(int n);

#define FAULT_VALUE 0xfa17fa17fa17fa17UL

/* ---- probes: leaf functions whose first instruction may trap; the
 * default exception handling returns to the caller (epc = ra) with
 * a0 = FAULT_VALUE. Loads return the value read, instructions without a
 * result return 0. ---- */
uint64_t probe_lb(uintptr_t a), probe_lbu(uintptr_t a), probe_lh(uintptr_t a),
	probe_lhu(uintptr_t a), probe_lw(uintptr_t a), probe_lwu(uintptr_t a),
	probe_ld(uintptr_t a), probe_flw(uintptr_t a), probe_fld(uintptr_t a),
	probe_c_lw(uintptr_t a), probe_c_ld(uintptr_t a);
uint64_t probe_sb(uintptr_t a, uint64_t v), probe_sh(uintptr_t a, uint64_t v),
	probe_sw(uintptr_t a, uint64_t v), probe_sd(uintptr_t a, uint64_t v),
	probe_fsw(uintptr_t a, uint64_t v), probe_fsd(uintptr_t a, uint64_t v),
	probe_c_sw(uintptr_t a, uint64_t v), probe_c_sd(uintptr_t a, uint64_t v);
uint64_t probe_amoadd_w(uintptr_t a, uint64_t v), probe_amoadd_d(uintptr_t a, uint64_t v),
	probe_amoswap_w(uintptr_t a, uint64_t v), probe_amoor_d(uintptr_t a, uint64_t v),
	probe_lr_w(uintptr_t a), probe_lr_d(uintptr_t a),
	probe_sc_w(uintptr_t a, uint64_t v), probe_sc_d(uintptr_t a, uint64_t v);
uint64_t probe_exec(uintptr_t a);
/* ld with mstatus.MPRV set for that one instruction (M-mode only; the
 * handler clears MPRV when it faults) */
uint64_t probe_mprv_ld(uintptr_t a);
extern const char probe_mprv_ld_insn[];       /* jumps to a; code there must `ret` */
uint64_t probe_ecall(void), probe_ebreak(void), probe_c_ebreak(void),
	probe_illegal(void), probe_mret(void), probe_sret(void), probe_wfi(void),
	probe_sfence(void);
uint64_t probe_csrr_cycle(void), probe_csrr_time(void), probe_csrr_instret(void),
	probe_csrr_hpmcounter3(void),
	probe_csrr_mstatus(void), probe_csrr_satp(void), probe_csrr_stimecmp(void);
uint64_t probe_csrw_stimecmp(uint64_t v), probe_csrr_mcountinhibit(void),
	probe_csrw_mcountinhibit(uint64_t v);
/* Sdtrig: tselect, tdata1-3, tinfo (0x7a0-0x7a4) */
uint64_t probe_csrr_tselect(void), probe_csrr_tdata1(void), probe_csrr_tdata2(void),
	probe_csrr_tdata3(void), probe_csrr_tinfo(void);
uint64_t probe_csrw_tselect(uint64_t v), probe_csrw_tdata1(uint64_t v),
	probe_csrw_tdata2(uint64_t v), probe_csrw_tdata3(uint64_t v), probe_csrw_tinfo(uint64_t v);
extern const uint32_t probe_illegal_insn;   /* the encoding probe_illegal runs */
/* an instruction sequence "ret" to copy into executable test pages */
extern const uint16_t ret_insn;

/* per-hart hook for programs that use more than hart 0 (smp.c) */
void hart_main(long hartid);
int main(void);

#endif /* !__ASSEMBLER__ */
#endif
