/* Constructors of the board's simple device models (src/dev): the 16550A
 * UART, the SiFive PLIC, the Goldfish RTC and the SiFive test finisher.
 *
 * Each device is a state struct plus an exported `const struct dev_ops`
 * (uart16550_ops, plic_ops, ...).  The board allocates a device with its
 * constructor and registers it with bus_add(bus, base, <DEV>_SIZE,
 * &<dev>_ops, dev); the ops' free() releases it.  Every device locks its
 * own state, so hart threads and the event loop may call it concurrently.
 * docs/devices.md lists the registers implemented and the device-tree
 * nodes the board must emit. */
#ifndef CONDO_DEVICES_H
#define CONDO_DEVICES_H

#include "condo/dev.h"
#include "condo/types.h"

struct hart;

/* ---- NS16550A UART (DT: compatible "ns16550a", reg-shift 0, reg-io-width 1) ---- */

#define UART16550_SIZE  0x100
#define UART16550_CLOCK 3686400 /* DT clock-frequency; the divisor is stored, not used */

struct uart16550;
extern const struct dev_ops uart16550_ops;

/* Transmitted bytes go to out_fd with write(2) (-1: discard them).  The
 * line is raised and lowered as the interrupt state changes.  NULL on
 * allocation failure. */
struct uart16550 *uart16550_new(struct irq_line irq, int out_fd);
/* Bytes typed on the host console, from any thread.  They queue behind the
 * chip's 16-byte receive FIFO in a host-side buffer (64 KiB), so a paste
 * is not lost.  Returns how many bytes were taken: fewer than len only
 * when that buffer is full, and the rest should be offered again later. */
size_t uart16550_input(struct uart16550 *uart, const uint8_t *buf, size_t len);

/* ---- SiFive PLIC (DT: compatible "sifive,plic-1.0.0", "riscv,plic0") ---- */

#define PLIC_SIZE        0x600000 /* room for 1024 contexts, as on QEMU virt */
#define PLIC_NUM_SOURCES 96       /* source 0 is reserved: DT riscv,ndev = 95 */
#define PLIC_MAX_HARTS   512      /* two contexts per hart: M-mode, S-mode */
#define PLIC_PRIO_MASK   7        /* 3 priority bits, as on QEMU virt */

struct plic;
extern const struct dev_ops plic_ops;

/* Context 2*i drives harts[i]'s MEIP, context 2*i+1 its SEIP, through
 * cpu_set_irq().  The array is copied; the harts must outlive the PLIC.
 * NULL when nharts is not in 1..PLIC_MAX_HARTS or on allocation failure. */
struct plic *plic_new(struct hart **harts, int nharts);
/* An interrupt source's line, for struct irq_line's set (ctrl = the plic).
 * Level-triggered; sources 0 and >= PLIC_NUM_SOURCES are ignored. */
void plic_set_irq(void *plic, unsigned irq, bool level);

/* ---- Goldfish RTC (DT: compatible "google,goldfish-rtc") ---- */

#define GOLDFISH_RTC_SIZE 0x1000

struct goldfish_rtc;
extern const struct dev_ops goldfish_rtc_ops;

/* Time is the host's CLOCK_REALTIME plus whatever offset the guest sets.
 * The alarm's line is irq.  NULL on allocation failure. */
struct goldfish_rtc *goldfish_rtc_new(struct irq_line irq);

/* ---- SiFive test finisher (DT: compatible "sifive,test1", "sifive,test0",
 *      "syscon"; also the regmap of syscon-poweroff and syscon-reboot) ---- */

#define SIFIVE_TEST_SIZE 0x1000

enum vm_shutdown_kind {
	VM_SHUTDOWN_POWEROFF, /* code: the exit status the guest asked for */
	VM_SHUTDOWN_REBOOT,   /* code: 0 */
};

struct sifive_test;
extern const struct dev_ops sifive_test_ops;

/* on_exit(ctx, kind, code) runs on the hart thread that wrote the
 * register, with no device lock held; it must make the VM stop or reset
 * (the hart keeps running until it does).  NULL on allocation failure. */
struct sifive_test *sifive_test_new(void (*on_exit)(void *ctx, int kind, int code), void *ctx);

#endif
