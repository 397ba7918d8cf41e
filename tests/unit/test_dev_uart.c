/* Unit tests for the 16550A UART: registers, the divisor latch, receive
 * buffering and FIFO trigger levels, interrupt identification and
 * priority, the interrupt line, loopback, output to a file descriptor, and
 * garbage accesses at every offset and width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "condo/devices.h"
#include "test_fake_irq.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

struct fixture {
	struct uart16550 *uart;
	struct fake_irq irq;
	int out[2]; /* pipe: the UART writes out[1], the test reads out[0] */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(pipe(fx->out), 0);
	assert_int_equal(fcntl(fx->out[0], F_SETFL, O_NONBLOCK), 0);
	fx->uart = uart16550_new((struct irq_line){ fake_irq_set, &fx->irq, 10 }, fx->out[1]);
	assert_non_null(fx->uart);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	uart16550_ops.free(fx->uart);
	close(fx->out[0]);
	close(fx->out[1]);
	free(fx);
	return 0;
}

static uint8_t rd(struct fixture *fx, uint64_t off)
{
	uint64_t v = 0xdead;

	assert_int_equal(uart16550_ops.read(fx->uart, off, 1, &v), 0);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

static void wr(struct fixture *fx, uint64_t off, uint8_t v)
{
	assert_int_equal(uart16550_ops.write(fx->uart, off, 1, v), 0);
}

/* What the UART wrote to its out_fd so far. */
static size_t output(struct fixture *fx, char *buf, size_t size)
{
	ssize_t n = read(fx->out[0], buf, size);

	if (n < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return (size_t)n;
}

static void test_uart_registers_reset_to_datasheet_values(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(rd(fx, IER), 0);
	assert_int_equal(rd(fx, IIR), 0x01); /* no interrupt, FIFOs off */
	assert_int_equal(rd(fx, LCR), 0);
	assert_int_equal(rd(fx, MCR), 0);
	assert_int_equal(rd(fx, LSR), 0x60); /* THRE, TEMT */
	assert_int_equal(rd(fx, MSR), 0xb0); /* DCD, DSR, CTS: the line is up */
	assert_false(fx->irq.level);
}

static void test_uart_thr_writes_reach_out_fd_in_order(void **state)
{
	struct fixture *fx = *state;
	char buf[16];

	for (const char *p = "hello\n"; *p; p++)
		wr(fx, THR, (uint8_t)*p);
	assert_int_equal(output(fx, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "hello\n", 6);
	assert_int_equal(rd(fx, LSR) & 0x60, 0x60); /* instant transmission */
}

static void test_uart_dlab_selects_divisor_latch(void **state)
{
	struct fixture *fx = *state;
	char buf[4];

	wr(fx, IER, 0x05);
	wr(fx, LCR, 0x83);
	wr(fx, DLL, 0x12);
	wr(fx, DLM, 0x34);
	assert_int_equal(rd(fx, DLL), 0x12);
	assert_int_equal(rd(fx, DLM), 0x34);
	assert_int_equal(output(fx, buf, sizeof(buf)), 0); /* DLL is not THR */
	wr(fx, LCR, 0x03);
	assert_int_equal(rd(fx, LCR), 0x03);
	assert_int_equal(rd(fx, IER), 0x05); /* untouched by the DLM write */
	wr(fx, SCR, 0xa5);
	assert_int_equal(rd(fx, SCR), 0xa5);
}

static void test_uart_ier_keeps_low_nibble_only(void **state)
{
	struct fixture *fx = *state;

	/* Linux's autoconfig existence test: IER reads back 0x0f. */
	wr(fx, IER, 0xff);
	assert_int_equal(rd(fx, IER), 0x0f);
	wr(fx, IER, 0);
	assert_int_equal(rd(fx, IER), 0);
}

static void test_uart_input_sets_dr_and_rbr_pops_in_order(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(uart16550_input(fx->uart, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(rd(fx, LSR) & 0x01, 0x01);
	assert_int_equal(rd(fx, RBR), 'a');
	assert_int_equal(rd(fx, RBR), 'b');
	assert_int_equal(rd(fx, RBR), 'c');
	assert_int_equal(rd(fx, LSR) & 0x01, 0);
	assert_int_equal(rd(fx, RBR), 0);
}

static void test_uart_rx_interrupt_follows_data(void **state)
{
	struct fixture *fx = *state;

	wr(fx, IER, 0x01);
	assert_false(fx->irq.level);
	uart16550_input(fx->uart, (const uint8_t *)"xy", 2);
	assert_true(fx->irq.level);
	assert_int_equal(rd(fx, IIR), 0x04);
	rd(fx, RBR);
	assert_true(fx->irq.level); /* one byte still waiting */
	rd(fx, RBR);
	assert_false(fx->irq.level);
	assert_int_equal(rd(fx, IIR), 0x01);

	/* Disabling ERBFI lowers the line with data still there. */
	uart16550_input(fx->uart, (const uint8_t *)"z", 1);
	assert_true(fx->irq.level);
	wr(fx, IER, 0);
	assert_false(fx->irq.level);
	assert_int_equal(rd(fx, LSR) & 0x01, 0x01);
}

static void test_uart_fifo_trigger_level_and_timeout(void **state)
{
	struct fixture *fx = *state;
	uint8_t bytes[14];

	memset(bytes, 'q', sizeof(bytes));
	wr(fx, FCR, 0xc1); /* FIFO on, trigger 14 */
	wr(fx, IER, 0x01);
	assert_int_equal(rd(fx, IIR), 0xc1); /* bits 7:6 say the FIFOs are on */
	uart16550_input(fx->uart, bytes, 3);
	assert_int_equal(rd(fx, IIR), 0xcc); /* below trigger: character timeout */
	uart16550_input(fx->uart, bytes, 11);
	assert_int_equal(rd(fx, IIR), 0xc4); /* 14 bytes: data available */
	rd(fx, RBR);
	assert_int_equal(rd(fx, IIR), 0xcc);

	wr(fx, FCR, 0x41); /* trigger 4 */
	assert_int_equal(rd(fx, IIR), 0xc4);
}

static void test_uart_fcr_clear_drops_fifo_not_host_queue(void **state)
{
	struct fixture *fx = *state;
	uint8_t bytes[20];

	for (unsigned i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
	wr(fx, FCR, 0x01);
	uart16550_input(fx->uart, bytes, sizeof(bytes));
	wr(fx, FCR, 0x03); /* clear the receive FIFO: the first 16 go */
	for (unsigned i = 16; i < 20; i++)
		assert_int_equal(rd(fx, RBR), i);
	assert_int_equal(rd(fx, LSR) & 0x01, 0);
}

static void test_uart_paste_beyond_fifo_is_kept_until_buffer_full(void **state)
{
	struct fixture *fx = *state;
	static uint8_t big[70000];

	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	wr(fx, FCR, 0x07);
	assert_int_equal(uart16550_input(fx->uart, big, 1000), 1000);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(rd(fx, RBR), big[i]);

	/* 64 KiB fit; the rest is refused, not silently dropped. */
	assert_int_equal(uart16550_input(fx->uart, big, sizeof(big)), 65536);
	assert_int_equal(uart16550_input(fx->uart, big, 1), 0);
	assert_int_equal(rd(fx, LSR) & 0x02, 0); /* no overrun: nothing was lost */
	assert_int_equal(rd(fx, RBR), big[0]);
	assert_int_equal(uart16550_input(fx->uart, big + 65536, 1), 1);
	for (unsigned i = 1; i <= 65536; i++)
		assert_int_equal(rd(fx, RBR), big[i]);
	assert_int_equal(rd(fx, LSR) & 0x01, 0);
}

static void test_uart_thre_interrupt_on_enable_ack_and_write(void **state)
{
	struct fixture *fx = *state;
	char buf[4];

	wr(fx, IER, 0x02); /* enabling ETBEI with THR empty raises THRE */
	assert_true(fx->irq.level);
	assert_int_equal(rd(fx, IIR), 0x02);
	assert_false(fx->irq.level); /* reading IIR acknowledged it */
	assert_int_equal(rd(fx, IIR), 0x01);
	wr(fx, THR, 'k'); /* the byte leaves at once: THR empty again */
	assert_true(fx->irq.level);
	assert_int_equal(output(fx, buf, sizeof(buf)), 1);
	wr(fx, IER, 0);
	assert_false(fx->irq.level);
	/* Linux's UART_BUG_THRE probe: re-enabling must re-assert THRE. */
	wr(fx, IER, 0x02);
	assert_int_equal(rd(fx, IIR), 0x02);
	wr(fx, IER, 0);
	wr(fx, IER, 0x02);
	assert_int_equal(rd(fx, IIR), 0x02);
}

static void test_uart_iir_reports_highest_priority_first(void **state)
{
	struct fixture *fx = *state;

	wr(fx, MCR, 0x10); /* loopback, all modem outputs low */
	rd(fx, MSR);       /* drop the deltas of entering loopback */
	wr(fx, IER, 0x0f);
	wr(fx, MCR, 0x13); /* DTR, RTS up: DSR, CTS change */
	uart16550_input(fx->uart, (const uint8_t *)"r", 1);
	/* pending: data, THRE (enable edge), modem status */
	assert_int_equal(rd(fx, IIR), 0x04);
	rd(fx, RBR);
	assert_int_equal(rd(fx, IIR), 0x02); /* acknowledges THRE */
	assert_int_equal(rd(fx, IIR), 0x00); /* modem status */
	assert_true(fx->irq.level);
	assert_int_equal(rd(fx, MSR), 0x33); /* CTS, DSR plus their deltas */
	assert_int_equal(rd(fx, IIR), 0x01);
	assert_false(fx->irq.level);
}

static void test_uart_line_status_interrupt_beats_data(void **state)
{
	struct fixture *fx = *state;
	static uint8_t fill[65536];

	/* Overrun the receive buffer through loopback. */
	assert_int_equal(uart16550_input(fx->uart, fill, sizeof(fill)), 65536);
	wr(fx, MCR, 0x10);
	wr(fx, THR, 'o');
	wr(fx, IER, 0x05);
	assert_int_equal(rd(fx, IIR), 0x06);
	assert_int_equal(rd(fx, LSR), 0x63); /* DR, OE, THRE, TEMT */
	assert_int_equal(rd(fx, LSR), 0x61); /* OE clears on read */
	assert_int_equal(rd(fx, IIR), 0x04);
}

static void test_uart_loopback_wires_mcr_to_msr_and_tx_to_rx(void **state)
{
	struct fixture *fx = *state;
	char buf[4];

	/* Linux's autoconfig loopback probe: MCR = LOOP | OUT2 | RTS. */
	wr(fx, MCR, 0x1a);
	assert_int_equal(rd(fx, MSR) & 0xf0, 0x90);
	wr(fx, MCR, 0x14); /* OUT1 -> RI */
	assert_int_equal(rd(fx, MSR) & 0xf0, 0x40);
	wr(fx, MCR, 0x10);
	assert_int_equal(rd(fx, MSR), 0x04); /* RI's trailing edge */
	wr(fx, THR, 'z');
	assert_int_equal(output(fx, buf, sizeof(buf)), 0);
	assert_int_equal(rd(fx, RBR), 'z');
	wr(fx, MCR, 0);
	assert_int_equal(rd(fx, MSR) & 0xf0, 0xb0);
}

static void test_uart_reset_clears_state_and_lowers_line(void **state)
{
	struct fixture *fx = *state;

	wr(fx, IER, 0x03);
	wr(fx, LCR, 0x1b);
	uart16550_input(fx->uart, (const uint8_t *)"abc", 3);
	assert_true(fx->irq.level);
	uart16550_ops.reset(fx->uart);
	assert_false(fx->irq.level);
	assert_int_equal(rd(fx, IER), 0);
	assert_int_equal(rd(fx, LCR), 0);
	assert_int_equal(rd(fx, LSR), 0x60);
}

static void test_uart_line_is_set_only_on_changes(void **state)
{
	struct fixture *fx = *state;

	wr(fx, IER, 0x01);
	for (int i = 0; i < 10; i++)
		rd(fx, LSR);
	assert_int_equal(fx->irq.sets, 0);
	uart16550_input(fx->uart, (const uint8_t *)"a", 1);
	uart16550_input(fx->uart, (const uint8_t *)"b", 1);
	assert_int_equal(fx->irq.sets, 1);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11 ^ *s << 29;
}

static void test_uart_garbage_at_every_offset_and_width_is_harmless(void **state)
{
	struct fixture *fx = *state;
	static const unsigned widths[] = { 1, 2, 4, 8 };
	uint64_t seed = 1, v;
	struct uart16550 *u;
	int devnull = open("/dev/null", O_WRONLY);

	assert_true(devnull >= 0);
	u = uart16550_new((struct irq_line){ fake_irq_set, &fx->irq, 10 }, devnull);
	assert_non_null(u);
	for (int round = 0; round < 8; round++) {
		for (uint64_t off = 0; off < UART16550_SIZE; off++) {
			for (unsigned w = 0; w < 4; w++) {
				if (off + widths[w] > UART16550_SIZE)
					continue;
				assert_int_equal(uart16550_ops.write(u, off, widths[w], lcg(&seed)), 0);
				assert_int_equal(uart16550_ops.read(u, off, widths[w], &v), 0);
				assert_true(v <= 0xff);
			}
		}
		uint8_t junk[37];
		for (unsigned i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)lcg(&seed);
		uart16550_input(u, junk, sizeof(junk));
	}
	/* Still a working UART afterwards. */
	uart16550_ops.reset(u);
	assert_false(fx->irq.level);
	uart16550_input(u, (const uint8_t *)"!", 1);
	assert_int_equal(uart16550_ops.read(u, RBR, 1, &v), 0);
	assert_int_equal(v, '!');
	uart16550_ops.free(u);
	close(devnull);
}

/* A full non-blocking console makes the write wait, not drop the byte. */
struct drainer {
	int fd;
	size_t got;
	bool saw_marker;
};

static void *drain(void *arg)
{
	struct drainer *d = arg;
	char buf[4096];
	ssize_t n;

	while (!d->saw_marker && (n = read(d->fd, buf, sizeof(buf))) > 0) {
		d->got += (size_t)n;
		if (buf[n - 1] == '#')
			d->saw_marker = true;
	}
	return NULL;
}

static void test_uart_full_nonblocking_out_fd_waits_instead_of_dropping(void **state)
{
	struct fake_irq irq = { 0 };
	struct drainer d = { 0 };
	struct uart16550 *u;
	char junk[512];
	size_t filled = 0;
	pthread_t thread;
	int p[2];

	memset(junk, '.', sizeof(junk));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	for (;;) {
		ssize_t n = write(p[1], junk, sizeof(junk));
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		filled += (size_t)n;
	}
	u = uart16550_new((struct irq_line){ fake_irq_set, &irq, 10 }, p[1]);
	assert_non_null(u);
	d.fd = p[0];
	assert_int_equal(pthread_create(&thread, NULL, drain, &d), 0);
	assert_int_equal(uart16550_ops.write(u, THR, 1, '#'), 0);
	pthread_join(thread, NULL);
	assert_true(d.saw_marker);
	assert_int_equal(d.got, filled + 1);
	uart16550_ops.free(u);
	close(p[0]);
	close(p[1]);
}

/* Hart threads writing while the event loop feeds input: every byte in,
 * every byte out (run under the sanitizers to catch races on the state). */
struct writer {
	struct uart16550 *uart;
	int count;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < w->count; i++) {
		uart16550_ops.write(w->uart, THR, 1, 'w');
		uint64_t v;
		uart16550_ops.read(w->uart, LSR, 1, &v);
	}
	return NULL;
}

static void test_uart_concurrent_writers_and_input_lose_nothing(void **state)
{
	struct fixture *fx = *state;
	struct writer w = { fx->uart, 2000 };
	pthread_t threads[2];
	char buf[8192];
	size_t out = 0, n;

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, write_many, &w), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(uart16550_input(fx->uart, (const uint8_t *)"i", 1), 1);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	while ((n = output(fx, buf, sizeof(buf))) > 0)
		out += n;
	assert_int_equal(out, 4000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rd(fx, RBR), 'i');
	assert_int_equal(rd(fx, LSR) & 1, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_uart_registers_reset_to_datasheet_values),
		T(test_uart_thr_writes_reach_out_fd_in_order),
		T(test_uart_dlab_selects_divisor_latch),
		T(test_uart_ier_keeps_low_nibble_only),
		T(test_uart_input_sets_dr_and_rbr_pops_in_order),
		T(test_uart_rx_interrupt_follows_data),
		T(test_uart_fifo_trigger_level_and_timeout),
		T(test_uart_fcr_clear_drops_fifo_not_host_queue),
		T(test_uart_paste_beyond_fifo_is_kept_until_buffer_full),
		T(test_uart_thre_interrupt_on_enable_ack_and_write),
		T(test_uart_iir_reports_highest_priority_first),
		T(test_uart_line_status_interrupt_beats_data),
		T(test_uart_loopback_wires_mcr_to_msr_and_tx_to_rx),
		T(test_uart_reset_clears_state_and_lowers_line),
		T(test_uart_line_is_set_only_on_changes),
		T(test_uart_garbage_at_every_offset_and_width_is_harmless),
		T(test_uart_concurrent_writers_and_input_lose_nothing),
		cmocka_unit_test(test_uart_full_nonblocking_out_fd_waits_instead_of_dropping),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
