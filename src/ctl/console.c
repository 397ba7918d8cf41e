/* A VM's console through condod.  The VMM writes the guest's serial output
 * to DIR/console.log (truncated at each start) and reads its input from the
 * FIFO DIR/console.in (vmm.c).
 *   GET  /v1/vms/V/console                   the last CONSOLE_TAIL bytes
 *   GET  /v1/vms/V/console?follow=1[&from=N] a stream: from byte N (default:
 *        the last CONSOLE_TAIL bytes), then output as the guest writes it,
 *        until the VMM stops or the client goes.  X-Console-Offset says
 *        where the stream starts, so a client that detaches and comes back
 *        with from= loses nothing: the log is the ring of recent output.
 *   POST /v1/vms/V/console {"input": "..."}  bytes typed into the console */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONSOLE_TAIL (64 * 1024)
#define CONSOLE_INPUT_MAX 4096

static void console_path(struct ctl *c, const char *tenant, const char *vm, const char *name,
			 char *out, size_t len)
{
	char dir[4200];

	vmm_dir(c, tenant, vm, dir, sizeof(dir));
	snprintf(out, len, "%s/%s", dir, name);
}

void console_get(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep, const char *vm,
		 const char *tenant)
{
	const char *follow = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "follow");
	const char *from = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "from");
	char path[4400], *end = NULL;
	unsigned long long start = 0;
	struct stat st;
	int fd;

	if (from && ((start = strtoull(from, &end, 10)), *end || !(follow || ws_wanted(r->conn))))
		return reply_error(rep, 400, "bad_request", "from is a byte offset, with follow=1");
	console_path(c, tenant, vm, "console.log", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		/* Never started: an empty console. */
		rep->text = strdup("");
		rep->status = rep->text ? 200 : 500;
		rep->content_type = "text/plain; charset=utf-8";
		return;
	}
	if (!from)
		start = st.st_size > CONSOLE_TAIL ? (unsigned long long)st.st_size - CONSOLE_TAIL : 0;
	if (ws_wanted(r->conn)) {
		/* A WebSocket: the last CONSOLE_TAIL bytes, then as a follow. */
		rep->websocket = true;
		rep->may_type = r->caller.role >= ROLE_TENANT_USER;
		console_path(c, tenant, vm, "console.in", rep->fifo, sizeof(rep->fifo));
		follow = "1";
	}
	if (follow) {
		rep->status = 200;
		rep->content_type = "text/plain; charset=utf-8";
		rep->follow.fd = fd;
		rep->follow.offset = start;
		if (!vmm_process(c, vm, &rep->follow.pid, &rep->follow.pid_start))
			rep->follow.pid = 0; /* not running: what there is, then the end */
		return;
	}
	rep->text = calloc(1, CONSOLE_TAIL + 1);
	if (rep->text) {
		ssize_t n = pread(fd, rep->text, CONSOLE_TAIL, (off_t)start);
		rep->text[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	rep->status = rep->text ? 200 : 500;
	rep->content_type = "text/plain; charset=utf-8";
}

void console_input(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep, const char *vm,
		   const char *tenant)
{
	const char *input = NULL;
	size_t len = 0;
	json_error_t err;
	char path[4400];
	pid_t pid;
	uint64_t start;
	ssize_t n;
	int fd;

	if (!r->body || json_unpack_ex(r->body, &err, JSON_STRICT, "{s:s%}", "input", &input,
				       &len) < 0)
		return reply_error(rep, 400, "bad_request", "%s",
				   r->body ? err.text : "a JSON body with input is needed");
	if (len > CONSOLE_INPUT_MAX)
		return reply_error(rep, 400, "bad_request", "input is at most %d bytes",
				   CONSOLE_INPUT_MAX);
	if (!vmm_process(c, vm, &pid, &start))
		return reply_error(rep, 409, "bad_state", "VM %s is not running", vm);
	console_path(c, tenant, vm, "console.in", path, sizeof(path));
	/* Non-blocking: a VMM that stopped reading fills the FIFO, and then
	 * input is refused rather than condod stalled. */
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return reply_error(rep, 409, "bad_state", "VM %s takes no console input", vm);
	n = write(fd, input, len);
	close(fd);
	if (n != (ssize_t)len)
		return reply_error(rep, 503, "busy", "the console's input is full; retry");
	reply_json(rep, 200, json_pack("{s:I}", "written", (json_int_t)len));
}
