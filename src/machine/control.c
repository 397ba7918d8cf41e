/* The control socket of condo run --control PATH: one client at a time
 * sends JSON requests, a line each, and reads a line of JSON back per
 * request (docs/control.md).  Descriptors a command needs (a snapshot's
 * files, a migration's connection) come with the request as SCM_RIGHTS,
 * so the jailed VMM opens no path of the client's.
 *
 * The event loop reads and parses; the main thread runs the command
 * (vm_control_run), since pausing stops and starts device threads. */
#define _GNU_SOURCE
#include "condo/evloop.h"
#include "condo/io.h"
#include "condo/log.h"
#include "machine/vm.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

struct control {
	int listen_fd;
	int client_fd; /* -1: none */
	struct vm *vm; /* this boot's */
	char buf[LINE_MAX_BYTES];
	size_t len;
	int fds[CONTROL_MAX_FDS]; /* received with the request being read */
	int nfds;
	bool holds_pause; /* a command left the VM paused for this client */
};

struct control *control_open(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct control *ctl;
	mode_t mask;
	bool bound;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_err("run", "--control %s: the path is too long for a socket", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	{
		struct stat st;
		/* A socket left by an earlier run is stale; anything else is kept. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* The control of a VM is its owner's: the socket is made 0600, with
	 * no moment at which it is anything else. */
	mask = umask(077);
	bound = fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	umask(mask);
	if (!bound || listen(fd, 4) < 0) {
		log_err("run", "--control %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		close(fd);
		return NULL;
	}
	ctl->listen_fd = fd;
	ctl->client_fd = -1;
	/* jansson seeds its hash tables from /dev/urandom on first use: now,
	 * before the jail, not in the event loop's filter */
	json_object_seed(0);
	return ctl;
}

static void drop_fds(struct control *ctl)
{
	for (int i = 0; i < ctl->nfds; i++)
		if (ctl->fds[i] >= 0)
			close(ctl->fds[i]);
	ctl->nfds = 0;
}

static void send_reply(struct control *ctl, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);

	if (text) {
		write_all(ctl->client_fd, text, strlen(text));
		write_all(ctl->client_fd, "\n", 1);
		free(text);
	}
}

/* Hand r to the main thread and wait for its reply. */
static void call_main(struct vm *vm, struct control_req *r)
{
	pthread_mutex_lock(&vm->lock);
	while (vm->control_req && !vm->done)
		pthread_cond_wait(&vm->done_cond, &vm->lock);
	if (!vm->done) {
		vm->control_req = r;
		pthread_cond_broadcast(&vm->done_cond);
		while (!r->done && !(vm->done && !r->taken))
			pthread_cond_wait(&vm->done_cond, &vm->lock);
	}
	if (!r->done) {
		if (vm->control_req == r)
			vm->control_req = NULL;
		r->reply = json_pack("{s:b,s:s}", "ok", false, "error", "the VM is shutting down");
	}
	pthread_mutex_unlock(&vm->lock);
}

static void run_request(struct control *ctl, json_t *req)
{
	struct control_req r = { .args = req, .nfds = ctl->nfds };
	json_t *cmd = json_object_get(req, "cmd");

	memcpy(r.fds, ctl->fds, sizeof(r.fds));
	ctl->nfds = 0;
	if (!json_is_string(cmd)) {
		r.reply = json_pack("{s:b,s:s}", "ok", false, "error",
				    "a request is a JSON object with a \"cmd\" string");
	} else {
		r.cmd = json_string_value(cmd);
		r.holds_pause = ctl->holds_pause;
		call_main(ctl->vm, &r);
		ctl->holds_pause = r.holds_pause;
	}
	for (int i = 0; i < r.nfds; i++)
		if (r.fds[i] >= 0)
			close(r.fds[i]);
	send_reply(ctl, r.reply);
	json_decref(r.reply);
}

/* The client went away: a pause it held (a snapshot it never finished)
 * is given back, so the VM runs on. */
static void end_client(struct control *ctl)
{
	evloop_remove_fd(ctl->vm->loop, ctl->client_fd);
	close(ctl->client_fd);
	ctl->client_fd = -1;
	ctl->len = 0;
	drop_fds(ctl);
	if (ctl->holds_pause) {
		struct control_req r = { .cmd = "resume" };

		log_info("control", "the client left with the VM paused for it: resuming");
		call_main(ctl->vm, &r);
		json_decref(r.reply);
		ctl->holds_pause = false;
	}
}

static void take_fds(struct control *ctl, struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		int n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ctl->nfds < CONTROL_MAX_FDS)
				ctl->fds[ctl->nfds++] = fd;
			else
				close(fd);
		}
	}
}

static void on_client(void *ctx, int fd)
{
	struct control *ctl = ctx;
	char cbuf[CMSG_SPACE(CONTROL_MAX_FDS * sizeof(int))];
	struct iovec iov = { ctl->buf + ctl->len, sizeof(ctl->buf) - ctl->len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		end_client(ctl);
		return;
	}
	take_fds(ctl, &msg);
	ctl->len += (size_t)n;
	while ((nl = memchr(ctl->buf, '\n', ctl->len))) {
		size_t line = (size_t)(nl - ctl->buf) + 1;
		json_error_t err;
		json_t *req = json_loadb(ctl->buf, line - 1, 0, &err);

		if (req) {
			run_request(ctl, req);
			json_decref(req);
		} else {
			json_t *reply = json_pack("{s:b,s:s}", "ok", false, "error",
						  "the request is not JSON");
			send_reply(ctl, reply);
			json_decref(reply);
			drop_fds(ctl);
		}
		memmove(ctl->buf, ctl->buf + line, ctl->len - line);
		ctl->len -= line;
	}
	if (ctl->len == sizeof(ctl->buf)) {
		json_t *reply = json_pack("{s:b,s:s}", "ok", false, "error", "the request is too long");

		send_reply(ctl, reply);
		json_decref(reply);
		end_client(ctl);
	}
}

static void on_accept(void *ctx, int fd)
{
	struct control *ctl = ctx;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (ctl->client_fd >= 0) {
		static const char busy[] =
			"{\"ok\":false,\"error\":\"another client holds the control socket\"}\n";

		write_all(c, busy, sizeof(busy) - 1);
		close(c);
		return;
	}
	ctl->client_fd = c;
	if (evloop_add_fd(ctl->vm->loop, c, on_client, ctl) < 0) {
		close(c);
		ctl->client_fd = -1;
	}
}

int control_attach(struct control *ctl, struct vm *vm)
{
	if (!ctl)
		return 0;
	ctl->vm = vm;
	vm->control = ctl;
	if (ctl->client_fd >= 0) { /* a client from before a guest reset */
		close(ctl->client_fd);
		ctl->client_fd = -1;
		ctl->len = 0;
		ctl->holds_pause = false;
	}
	return evloop_add_fd(vm->loop, ctl->listen_fd, on_accept, ctl);
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	if (ctl->client_fd >= 0)
		close(ctl->client_fd);
	drop_fds(ctl);
	close(ctl->listen_fd);
	free(ctl);
}
