/* The client end of the control socket (docs/control.md). */
#include "condo/control_client.h"
#include "condo/io.h"
#include "condo/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX (1u << 20)

int control_connect(const char *cmd, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_err(cmd, "%s: the path is too long for a socket", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		log_err(cmd, "%s: cannot reach the VM's control socket: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_line(int sock, const char *text, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(8 * sizeof(int))] = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > 0) {
		struct cmsghdr *c;

		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	/* the descriptors ride on the first bytes; the rest follows plainly */
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return write_all(sock, text + n, iov.iov_len - (size_t)n);
}

json_t *control_call(const char *cmd, int sock, json_t *req, const int *fds, int nfds)
{
	char *text = json_dumps(req, JSON_COMPACT), *line = NULL;
	size_t len = 0, cap = 0;
	json_t *reply = NULL;
	json_error_t err;
	int sent;

	if (!text)
		return NULL;
	/* one line: the request, then its newline */
	line = malloc(strlen(text) + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	sprintf(line, "%s\n", text);
	/* A send that fails may still have a reply waiting: a VMM busy with
	 * another client says so and closes before reading. */
	sent = send_line(sock, line, fds, nfds);
	free(text);
	free(line);
	line = NULL;
	for (;;) {
		char c;
		ssize_t n = read(sock, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 && sent < 0) {
			log_err(cmd, "the VM's control socket: cannot send the request");
			free(line);
			return NULL;
		}
		if (n <= 0) {
			log_err(cmd, "the VM closed its control socket before replying (it ended?)");
			free(line);
			return NULL;
		}
		if (c == '\n')
			break;
		if (len + 1 >= cap) {
			char *p = cap < REPLY_MAX ? realloc(line, cap = cap ? cap * 2 : 256) : NULL;
			if (!p) {
				log_err(cmd, "the VM's reply is too long");
				free(line);
				return NULL;
			}
			line = p;
		}
		line[len++] = c;
	}
	reply = line ? json_loadb(line, len, 0, &err) : NULL;
	if (!reply)
		log_err(cmd, "the VM's reply is not JSON");
	free(line);
	return reply;
}

int control_check(const char *cmd, json_t *reply)
{
	const char *why;

	if (!reply)
		return -1;
	if (json_is_true(json_object_get(reply, "ok")))
		return 0;
	why = json_string_value(json_object_get(reply, "error"));
	log_err(cmd, "%s", why ? why : "the VM refused the request");
	return -1;
}
