/* A VM's console over a WebSocket (RFC 6455): GET /v1/vms/V/console with
 * "Upgrade: websocket" (and the bearer token in Authorization, as for any
 * request).  After the 101, condod sends the console's output as binary
 * messages (the last CONSOLE_TAIL bytes first, then what the guest writes)
 * and writes every text or binary message it receives into the console's
 * input, until either side closes, the VMM stops (close 1000), or condod
 * stops (close 1001).  A read-only token may watch; what it types closes
 * the socket with 1008.  Frames from the client must be masked and at most
 * WS_MAX_FRAME bytes (else 1002 or 1009).  Each session runs on a thread of
 * its own, outside the store's lock. */
#define _GNU_SOURCE
#include "ctl/ctl.h"
#include "condo/log.h"
#include "condo/sha1.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_FRAME 4096

enum { WS_CONT = 0, WS_TEXT = 1, WS_BIN = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

struct ws {
	struct ctl *c;
	struct MHD_UpgradeResponseHandle *urh;
	int sock, log_fd;
	uint64_t offset;
	pid_t pid;
	uint64_t pid_start;
	bool may_type;
	char fifo[4400];
	uint8_t in[2 * WS_MAX_FRAME + 16]; /* received, not yet a whole frame */
	size_t nin;
};

bool ws_wanted(struct MHD_Connection *conn)
{
	const char *up = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");

	return up && !strcasecmp(up, "websocket");
}

/* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)). */
static bool accept_key(const char *key, char *out, size_t len)
{
	char joined[128];
	uint8_t digest[SHA1_LEN];

	if (!key || strlen(key) > 64)
		return false;
	snprintf(joined, sizeof(joined), "%s%s", key, WS_GUID);
	sha1(joined, strlen(joined), digest);
	sodium_bin2base64(out, len, digest, sizeof(digest), sodium_base64_VARIANT_ORIGINAL);
	return true;
}

static bool send_all(int sock, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(sock, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* One unmasked frame (a server's frames are never masked). */
static bool send_frame(int sock, int opcode, const void *data, size_t len)
{
	uint8_t h[10] = { (uint8_t)(0x80 | opcode) };
	size_t hl = 2;

	if (len < 126) {
		h[1] = (uint8_t)len;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	return send_all(sock, h, hl) && (!len || send_all(sock, data, len));
}

static void send_close(int sock, uint16_t code)
{
	uint8_t b[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	send_frame(sock, WS_CLOSE, b, sizeof(b));
}

static bool type_into(struct ws *w, const uint8_t *data, size_t len)
{
	int fd = open(w->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok;
}

/* Act on the whole frames in w->in: 0 go on, or a close code to end with. */
static int take_frames(struct ws *w)
{
	for (;;) {
		uint8_t *p = w->in, mask[4];
		size_t need = 2, len;
		int opcode;

		if (w->nin < need)
			return 0;
		opcode = p[0] & 0x0f;
		if (!(p[1] & 0x80))
			return 1002; /* a client's frames are masked (§5.1) */
		len = p[1] & 0x7f;
		if (len == 126) {
			need += 2;
			if (w->nin < need)
				return 0;
			len = (size_t)p[2] << 8 | p[3];
		} else if (len == 127) {
			return 1009;
		}
		if (len > WS_MAX_FRAME)
			return 1009;
		need += 4 + len;
		if (w->nin < need)
			return 0;
		memcpy(mask, p + need - len - 4, 4);
		uint8_t *data = p + need - len;
		for (size_t i = 0; i < len; i++)
			data[i] ^= mask[i % 4];
		if (opcode == WS_CLOSE)
			return 1000;
		if (opcode == WS_PING && !send_frame(w->sock, WS_PONG, data, len))
			return 1011;
		if (opcode == WS_TEXT || opcode == WS_BIN || opcode == WS_CONT) {
			if (len && !w->may_type)
				return 1008;
			if (len && !type_into(w, data, len))
				return 1011;
		} else if (opcode != WS_PONG && opcode != WS_PING) {
			return 1002;
		}
		memmove(w->in, w->in + need, w->nin - need);
		w->nin -= need;
	}
}

/* New console output, as binary frames; false when the client is gone. */
static bool send_output(struct ws *w)
{
	uint8_t buf[WS_MAX_FRAME];
	ssize_t n;

	while ((n = pread(w->log_fd, buf, sizeof(buf), (off_t)w->offset)) > 0) {
		if (!send_frame(w->sock, WS_BIN, buf, (size_t)n))
			return false;
		w->offset += (uint64_t)n;
	}
	return true;
}

static void *session(void *arg)
{
	struct ws *w = arg;
	int code = 0;

	while (!code) {
		struct pollfd p = { .fd = w->sock, .events = POLLIN };
		int r = poll(&p, 1, 50);

		if (r > 0) {
			ssize_t n = recv(w->sock, w->in + w->nin, sizeof(w->in) - w->nin, 0);
			if (n <= 0)
				break; /* the client went without a close frame */
			w->nin += (size_t)n;
			code = take_frames(w);
		}
		if (!send_output(w))
			break;
		if (!code && w->c->stopping)
			code = 1001;
		if (!code && !vmm_alive(w->pid, w->pid_start)) {
			send_output(w); /* what it wrote just before it went */
			code = 1000;
		}
	}
	if (code)
		send_close(w->sock, (uint16_t)code);
	close(w->log_fd);
	MHD_upgrade_action(w->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(w);
	return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls,
		       const char *extra, size_t extra_len, MHD_socket sock,
		       struct MHD_UpgradeResponseHandle *urh)
{
	struct ws *w = cls;
	pthread_attr_t attr;
	pthread_t t;

	w->sock = sock;
	w->urh = urh;
	if (extra_len && extra_len <= sizeof(w->in)) {
		memcpy(w->in, extra, extra_len);
		w->nin = extra_len;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, session, w)) {
		close(w->log_fd);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(w);
	}
	pthread_attr_destroy(&attr);
}

struct MHD_Response *ws_response(struct ctl *c, struct MHD_Connection *conn,
				 struct ctl_reply *rep, bool may_type, const char *fifo,
				 int *status)
{
	const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       "Sec-WebSocket-Key");
	const char *version = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							   "Sec-WebSocket-Version");
	char accept[64];
	struct MHD_Response *resp;
	struct ws *w;

	if (!version || strcmp(version, "13") || !accept_key(key, accept, sizeof(accept)))
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	*w = (struct ws){ .c = c, .log_fd = rep->follow.fd, .offset = rep->follow.offset,
			  .pid = rep->follow.pid, .pid_start = rep->follow.pid_start,
			  .may_type = may_type };
	snprintf(w->fifo, sizeof(w->fifo), "%s", fifo);
	resp = MHD_create_response_for_upgrade(on_upgrade, w);
	if (!resp) {
		free(w);
		return NULL;
	}
	rep->follow.fd = -1; /* the session owns it now */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	*status = MHD_HTTP_SWITCHING_PROTOCOLS;
	return resp;
}
