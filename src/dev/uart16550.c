/* NS16550A UART: the console of the virt board.
 *
 * Registers as in the TI/National PC16550D datasheet (eight byte-wide
 * registers, DLAB in LCR bit 7 selecting the divisor latch).  Transmission
 * is instantaneous: a THR write goes to the host's out_fd and THR is empty
 * again at once, so LSR.THRE and LSR.TEMT always read 1.  Received bytes
 * wait in one ring buffer: its first 16 bytes play the chip's RX FIFO (they
 * decide trigger levels and what an FCR clear drops), the rest is a
 * host-side queue so pasted text is not lost.  The interrupt line follows
 * IIR and is re-evaluated after every access and every input. */
#include "condo/devices.h"
#include "condo/log.h"
#include "condo/state.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	REG_RBR_THR_DLL = 0,
	REG_IER_DLM = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_MASK  0x0f /* ERBFI, ETBEI, ELSI, EDSSI; bits 7:4 read 0 */
#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08

#define IIR_NO_INT  0x01
#define IIR_MSI     0x00 /* priorities, highest first: RLS, RDA/timeout, THRE, MSI */
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFOS   0xc0 /* reads 11 in bits 7:6 while the FIFOs are enabled */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_KEEP     0xc9 /* enable, DMA mode, trigger level; bits 1, 2 self-clear */

#define LCR_DLAB 0x80

#define MCR_MASK 0x1f
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_ERRORS 0x1e /* OE, PE, FE, BI: cleared by reading LSR */
#define LSR_THRE   0x20
#define LSR_TEMT   0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI  0x40
#define MSR_DCD 0x80
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
/* Outside loopback the "modem" is always there: carrier, DSR and CTS up. */
#define MSR_IDLE (MSR_DCD | MSR_DSR | MSR_CTS)

#define FIFO_DEPTH  16
#define RX_BUF_SIZE 65536u

struct uart16550 {
	pthread_mutex_t lock;    /* the registers and the receive buffer */
	pthread_mutex_t out_lock; /* keeps transmitted bytes in order; taken after lock */
	struct irq_line irq;
	int out_fd;
	bool out_broken; /* out_fd failed once: discard further output */
	bool irq_level;  /* what the line was last set to */

	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_errors; /* latched LSR_ERRORS bits */
	uint8_t msr_delta;  /* latched MSR bits 3:0 */
	bool thre_pending;  /* the THRE interrupt condition (datasheet table 4) */

	uint32_t rx_head, rx_count;
	uint8_t rx[RX_BUF_SIZE];
};

static bool fifo_enabled(const struct uart16550 *uart)
{
	return uart->fcr & FCR_ENABLE;
}

/* Bytes in the chip itself: the FIFO, or the one holding register. */
static uint32_t rx_level(const struct uart16550 *uart)
{
	uint32_t depth = fifo_enabled(uart) ? FIFO_DEPTH : 1;

	return uart->rx_count < depth ? uart->rx_count : depth;
}

static uint32_t rx_trigger(const struct uart16550 *uart)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 };

	return fifo_enabled(uart) ? levels[uart->fcr >> 6] : 1;
}

static bool rx_push(struct uart16550 *uart, uint8_t c)
{
	if (uart->rx_count == RX_BUF_SIZE)
		return false;
	uart->rx[(uart->rx_head + uart->rx_count) % RX_BUF_SIZE] = c;
	uart->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart16550 *uart)
{
	uint8_t c;

	if (uart->rx_count == 0)
		return 0;
	c = uart->rx[uart->rx_head];
	uart->rx_head = (uart->rx_head + 1) % RX_BUF_SIZE;
	uart->rx_count--;
	return c;
}

/* FCR's receiver clear empties the chip's FIFO, not the host-side queue. */
static void rx_clear_fifo(struct uart16550 *uart)
{
	uint32_t n = uart->rx_count < FIFO_DEPTH ? uart->rx_count : FIFO_DEPTH;

	uart->rx_head = (uart->rx_head + n) % RX_BUF_SIZE;
	uart->rx_count -= n;
}

/* MSR bits 7:4: in loopback they are wired to MCR's outputs. */
static uint8_t modem_status(const struct uart16550 *uart)
{
	uint8_t s = 0;

	if (!(uart->mcr & MCR_LOOP))
		return MSR_IDLE;
	if (uart->mcr & MCR_RTS)
		s |= MSR_CTS;
	if (uart->mcr & MCR_DTR)
		s |= MSR_DSR;
	if (uart->mcr & MCR_OUT1)
		s |= MSR_RI;
	if (uart->mcr & MCR_OUT2)
		s |= MSR_DCD;
	return s;
}

static void modem_status_changed(struct uart16550 *uart, uint8_t old, uint8_t now)
{
	uint8_t changed = old ^ now;

	if (changed & MSR_CTS)
		uart->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		uart->msr_delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		uart->msr_delta |= MSR_TERI; /* trailing edge only */
	if (changed & MSR_DCD)
		uart->msr_delta |= MSR_DDCD;
}

/* The highest-priority pending interrupt (datasheet table 4). */
static uint8_t interrupt_id(const struct uart16550 *uart)
{
	if ((uart->ier & IER_ELSI) && (uart->lsr_errors & LSR_ERRORS))
		return IIR_RLS;
	if ((uart->ier & IER_ERBFI) && uart->rx_count) {
		if (rx_level(uart) >= rx_trigger(uart))
			return IIR_RDA;
		/* Below the trigger level the chip waits four character times
		 * before a timeout interrupt; we have no wire, so no wait. */
		return IIR_TIMEOUT;
	}
	if ((uart->ier & IER_ETBEI) && uart->thre_pending)
		return IIR_THRE;
	if ((uart->ier & IER_EDSSI) && uart->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Called with the lock held after every change, so levels reach the
 * interrupt controller in the order the changes happened.  The line is
 * not gated by MCR.OUT2: neither QEMU's nor real SoC 16550s are. */
static void update_irq(struct uart16550 *uart)
{
	bool level = interrupt_id(uart) != IIR_NO_INT;

	if (level != uart->irq_level) {
		uart->irq_level = level;
		irq_set(&uart->irq, level);
	}
}

/* Called with out_lock held.  Blocks while a non-blocking out_fd is full:
 * a slow terminal slows the guest, as a real line would. */
static void out_byte(struct uart16550 *uart, uint8_t c)
{
	if (uart->out_fd < 0 || uart->out_broken)
		return;
	for (;;) {
		ssize_t n = write(uart->out_fd, &c, 1);
		if (n == 1)
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = uart->out_fd, .events = POLLOUT };
			if (poll(&p, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		log_warn("uart", "console output failed, discarding it from now on");
		uart->out_broken = true;
		return;
	}
}

static void set_ier(struct uart16550 *uart, uint8_t val)
{
	uint8_t old = uart->ier;

	uart->ier = val & IER_MASK;
	/* Enabling ETBEI while THR is empty raises THRE again; Linux's 8250
	 * driver checks for exactly this at startup. */
	if (!(old & IER_ETBEI) && (uart->ier & IER_ETBEI))
		uart->thre_pending = true;
}

static void write_fcr(struct uart16550 *uart, uint8_t val)
{
	/* Changing FCR0 clears both FIFOs; other bits need FCR0 = 1. */
	if ((val ^ uart->fcr) & FCR_ENABLE)
		rx_clear_fifo(uart);
	if (!(val & FCR_ENABLE)) {
		uart->fcr = 0;
		return;
	}
	if (val & FCR_CLEAR_RX)
		rx_clear_fifo(uart);
	uart->fcr = val & FCR_KEEP;
}

static void write_mcr(struct uart16550 *uart, uint8_t val)
{
	uint8_t old = modem_status(uart);

	uart->mcr = val & MCR_MASK;
	modem_status_changed(uart, old, modem_status(uart));
}

static uint8_t read_reg(struct uart16550 *uart, uint64_t offset)
{
	bool dlab = uart->lcr & LCR_DLAB;
	uint8_t val;

	switch (offset) {
	case REG_RBR_THR_DLL:
		return dlab ? uart->dll : rx_pop(uart);
	case REG_IER_DLM:
		return dlab ? uart->dlm : uart->ier;
	case REG_IIR_FCR:
		val = interrupt_id(uart);
		if (val == IIR_THRE)
			uart->thre_pending = false; /* reading IIR acknowledges THRE */
		return val | (fifo_enabled(uart) ? IIR_FIFOS : 0);
	case REG_LCR:
		return uart->lcr;
	case REG_MCR:
		return uart->mcr;
	case REG_LSR:
		val = LSR_THRE | LSR_TEMT | uart->lsr_errors | (uart->rx_count ? LSR_DR : 0);
		uart->lsr_errors = 0;
		return val;
	case REG_MSR:
		val = modem_status(uart) | uart->msr_delta;
		uart->msr_delta = 0;
		return val;
	case REG_SCR:
		return uart->scr;
	default:
		return 0; /* the rest of the 0x100-byte window */
	}
}

/* Returns true when val is a byte to transmit (after the lock is dropped). */
static bool write_reg(struct uart16550 *uart, uint64_t offset, uint8_t val)
{
	bool dlab = uart->lcr & LCR_DLAB;

	switch (offset) {
	case REG_RBR_THR_DLL:
		if (dlab) {
			uart->dll = val;
			return false;
		}
		/* THR empties at once, so THRE is pending again right away. */
		uart->thre_pending = true;
		if (!(uart->mcr & MCR_LOOP))
			return true;
		if (!rx_push(uart, val))
			uart->lsr_errors |= LSR_OE;
		return false;
	case REG_IER_DLM:
		if (dlab)
			uart->dlm = val;
		else
			set_ier(uart, val);
		return false;
	case REG_IIR_FCR:
		write_fcr(uart, val);
		return false;
	case REG_LCR:
		uart->lcr = val;
		return false;
	case REG_MCR:
		write_mcr(uart, val);
		return false;
	case REG_SCR:
		uart->scr = val;
		return false;
	default:
		return false; /* LSR and MSR are read-only; the rest is empty */
	}
}

/* Accesses wider than a byte (the DT says reg-io-width 1) act on the one
 * register at their offset: reads zero-extend, writes use the low byte. */
static int uart_read(void *dev, uint64_t offset, unsigned len, uint64_t *val)
{
	struct uart16550 *uart = dev;

	pthread_mutex_lock(&uart->lock);
	*val = read_reg(uart, offset);
	update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return 0;
}

static int uart_write(void *dev, uint64_t offset, unsigned len, uint64_t val)
{
	struct uart16550 *uart = dev;
	bool transmit;

	pthread_mutex_lock(&uart->lock);
	transmit = write_reg(uart, offset, (uint8_t)val);
	update_irq(uart);
	if (!transmit) {
		pthread_mutex_unlock(&uart->lock);
		return 0;
	}
	/* Hand over to out_lock before writing, so bytes keep their order but
	 * a blocked console never blocks input or the other registers. */
	pthread_mutex_lock(&uart->out_lock);
	pthread_mutex_unlock(&uart->lock);
	out_byte(uart, (uint8_t)val);
	pthread_mutex_unlock(&uart->out_lock);
	return 0;
}

size_t uart16550_input(struct uart16550 *uart, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&uart->lock);
	for (n = 0; n < len && rx_push(uart, buf[n]); n++)
		;
	update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return n;
}

static void reset_locked(struct uart16550 *uart)
{
	uart->ier = uart->fcr = uart->lcr = uart->mcr = uart->scr = 0;
	uart->dll = uart->dlm = 0;
	uart->lsr_errors = uart->msr_delta = 0;
	uart->thre_pending = false;
	uart->rx_head = uart->rx_count = 0;
}

static void uart_reset(void *dev)
{
	struct uart16550 *uart = dev;

	pthread_mutex_lock(&uart->lock);
	reset_locked(uart);
	update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
}

/* Snapshots: every register, the latched LSR errors and MSR deltas, the
 * THRE condition, and every received byte not yet read (the chip's FIFO
 * and the host-side queue behind it: at most 64 KiB, so a restored guest
 * loses no typed or pasted input).  Not saved: out_fd and whether it
 * broke (the host's), and the line's level (recomputed at load). */
enum { S_IER, S_FCR, S_LCR, S_MCR, S_SCR, S_DLL, S_DLM, S_LSR_ERRORS, S_MSR_DELTA, S_NREGS };

static void uart_save(void *dev, struct state_buf *out)
{
	struct uart16550 *uart = dev;
	uint8_t r[S_NREGS];

	pthread_mutex_lock(&uart->lock);
	r[S_IER] = uart->ier, r[S_FCR] = uart->fcr, r[S_LCR] = uart->lcr;
	r[S_MCR] = uart->mcr, r[S_SCR] = uart->scr, r[S_DLL] = uart->dll;
	r[S_DLM] = uart->dlm, r[S_LSR_ERRORS] = uart->lsr_errors;
	r[S_MSR_DELTA] = uart->msr_delta;
	state_put_tag(out, "UART");
	state_put(out, r, sizeof(r));
	state_put_bool(out, uart->thre_pending);
	state_put_u32(out, uart->rx_count);
	for (uint32_t i = 0; i < uart->rx_count; i++)
		state_put_u8(out, uart->rx[(uart->rx_head + i) % RX_BUF_SIZE]);
	pthread_mutex_unlock(&uart->lock);
}

/* Only values a guest can put in the registers (the write masks above). */
static const char *uart_regs_invalid(const uint8_t *r, uint32_t rx_count)
{
	if (r[S_IER] & ~IER_MASK)
		return "uart16550: IER has reserved bits set";
	if ((r[S_FCR] & ~FCR_KEEP) || (r[S_FCR] && !(r[S_FCR] & FCR_ENABLE)))
		return "uart16550: FCR holds a value the chip cannot";
	if (r[S_MCR] & ~MCR_MASK)
		return "uart16550: MCR has reserved bits set";
	if (r[S_LSR_ERRORS] & ~LSR_ERRORS)
		return "uart16550: latched LSR bits are not error bits";
	if (r[S_MSR_DELTA] & ~(MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD))
		return "uart16550: latched MSR bits are not delta bits";
	if (rx_count > RX_BUF_SIZE)
		return "uart16550: more received bytes than the buffer holds";
	return NULL;
}

static int uart_load(void *dev, struct state_buf *in)
{
	struct uart16550 *uart = dev;
	uint8_t r[S_NREGS];
	uint8_t *rx = NULL;
	uint32_t rx_count;
	const char *bad;
	bool thre;

	state_expect(in, "UART");
	state_get(in, r, sizeof(r));
	thre = state_get_bool(in);
	rx_count = state_get_u32(in);
	bad = uart_regs_invalid(r, rx_count);
	if (bad)
		return state_fail(in, bad);
	rx = malloc(rx_count ? rx_count : 1);
	if (!rx)
		return state_fail(in, "uart16550: out of memory");
	if (state_get(in, rx, rx_count) < 0) {
		free(rx);
		return -1;
	}
	pthread_mutex_lock(&uart->lock);
	uart->ier = r[S_IER], uart->fcr = r[S_FCR], uart->lcr = r[S_LCR];
	uart->mcr = r[S_MCR], uart->scr = r[S_SCR], uart->dll = r[S_DLL];
	uart->dlm = r[S_DLM], uart->lsr_errors = r[S_LSR_ERRORS];
	uart->msr_delta = r[S_MSR_DELTA];
	uart->thre_pending = thre;
	uart->rx_head = 0;
	uart->rx_count = rx_count;
	memcpy(uart->rx, rx, rx_count);
	/* Drive the line whatever it was: the controller may be fresh too. */
	uart->irq_level = interrupt_id(uart) != IIR_NO_INT;
	irq_set(&uart->irq, uart->irq_level);
	pthread_mutex_unlock(&uart->lock);
	free(rx);
	return 0;
}

static void uart_free(void *dev)
{
	struct uart16550 *uart = dev;

	if (!uart)
		return;
	pthread_mutex_destroy(&uart->out_lock);
	pthread_mutex_destroy(&uart->lock);
	free(uart);
}

const struct dev_ops uart16550_ops = {
	.name = "uart16550",
	.read = uart_read,
	.write = uart_write,
	.reset = uart_reset,
	.free = uart_free,
	.save = uart_save,
	.load = uart_load,
};

struct uart16550 *uart16550_new(struct irq_line irq, int out_fd)
{
	/* The receive buffer is read only where rx_head and rx_count say it
	 * was written: left as it comes, its 64 KiB are not faulted in (and
	 * zeroed) before the guest's first instruction. */
	struct uart16550 *uart = malloc(sizeof(*uart));

	if (!uart)
		goto err;
	memset(uart, 0, offsetof(struct uart16550, rx));
	if (pthread_mutex_init(&uart->lock, NULL))
		goto err_free;
	if (pthread_mutex_init(&uart->out_lock, NULL))
		goto err_lock;
	uart->irq = irq;
	uart->out_fd = out_fd;
	reset_locked(uart);
	return uart;

err_lock:
	pthread_mutex_destroy(&uart->lock);
err_free:
	free(uart);
err:
	log_err("uart", "cannot create the 16550 UART: out of memory");
	return NULL;
}
