/* The host console of a VM: the terminal in raw mode (restored on every
 * exit), Ctrl-A x to quit, Ctrl-A h for help, input to the UART and to the
 * SBI console. */
#include "condo/devices.h"
#include "condo/io.h"
#include "condo/log.h"
#include "machine/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define ESCAPE_CHAR 0x01 /* Ctrl-A, as in qemu */
#define SBI_BUF_SIZE 4096

/* The terminal state is process-wide, like the terminal itself. */
static struct termios saved_termios;
static bool termios_saved;

static struct {
	pthread_mutex_t lock;
	uint8_t buf[SBI_BUF_SIZE];
	unsigned head, tail;
	bool escape;
} input = { .lock = PTHREAD_MUTEX_INITIALIZER };

void console_restore(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static void restore_and_die(int sig)
{
	console_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

void console_write(const void *buf, size_t len)
{
	write_all(STDOUT_FILENO, buf, len); /* a closed terminal loses output, nothing else */
}

int console_getchar(struct vm *vm)
{
	int c = -1;

	pthread_mutex_lock(&input.lock);
	if (input.head != input.tail) {
		c = input.buf[input.tail % SBI_BUF_SIZE];
		input.tail++;
	}
	pthread_mutex_unlock(&input.lock);
	return c;
}

static void deliver(struct vm *vm, const uint8_t *buf, size_t len)
{
	uart16550_input(vm->uart, buf, len);
	pthread_mutex_lock(&input.lock);
	for (size_t i = 0; i < len && input.head - input.tail < SBI_BUF_SIZE; i++)
		input.buf[input.head++ % SBI_BUF_SIZE] = buf[i];
	pthread_mutex_unlock(&input.lock);
}

static void on_input(void *ctx, int fd)
{
	static const char help[] = "\r\nC-a h    print this help\r\nC-a x    exit condo\r\n"
				   "C-a C-a  send C-a\r\n";
	struct vm *vm = ctx;
	uint8_t buf[256], out[256];
	ssize_t n = read(fd, buf, sizeof(buf));
	size_t m = 0;

	if (n <= 0) {
		if (n == 0 || errno != EINTR)
			evloop_remove_fd(vm->loop, fd); /* end of input: the guest runs on */
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (input.escape) {
			input.escape = false;
			if (buf[i] == 'x') {
				console_write("\r\ncondo: terminated by C-a x\r\n", 30);
				vm_shutdown(vm, 0, false);
				return;
			}
			if (buf[i] == 'h')
				console_write(help, sizeof(help) - 1);
			else if (buf[i] == ESCAPE_CHAR)
				out[m++] = ESCAPE_CHAR;
			continue;
		}
		if (buf[i] == ESCAPE_CHAR && termios_saved)
			input.escape = true;
		else
			out[m++] = buf[i];
	}
	deliver(vm, out, m);
}

int console_init(struct vm *vm)
{
	int r;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		struct termios raw = saved_termios;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
			termios_saved = true;
			atexit(console_restore);
			signal(SIGTERM, restore_and_die);
			signal(SIGHUP, restore_and_die);
			signal(SIGQUIT, restore_and_die);
		}
	}
	r = evloop_add_fd(vm->loop, STDIN_FILENO, on_input, vm);
	/* stdin closed, or a regular file or /dev/null (epoll refuses those):
	 * the guest runs without console input */
	return r == -EPERM || r == -EBADF ? 0 : r;
}
