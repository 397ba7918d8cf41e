/* condod's HTTP/1.1 plumbing on libmicrohttpd: a Unix socket (default) or
 * TCP listener, request bodies gathered up to CTL_MAX_BODY, strict JSON
 * (an object, no duplicate keys), the bearer token checked, the route
 * chosen, and every state-changing request written to the audit log.
 * Requests are served one at a time in the store (struct ctl.lock), which
 * is what makes quota admission race-free. */
#define _GNU_SOURCE
#include "ctl/ctl.h"
#include "condo/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct pending {
	char *body;
	size_t len;
	bool too_large;
};

void reply_json(struct ctl_reply *rep, int status, json_t *body)
{
	rep->status = status;
	if (rep->body)
		json_decref(rep->body);
	rep->body = body;
}

void reply_error(struct ctl_reply *rep, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(rep, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

bool may_see_tenant(const struct ctl_request *r, const char *tenant)
{
	return r->caller.role == ROLE_OPERATOR || !strcmp(r->caller.tenant, tenant);
}

/* "uid:N" for a Unix socket peer, its address for TCP. */
static void peer_of(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *fdi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	snprintf(out, len, "unknown");
	if (fdi && getsockopt(fdi->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 &&
	    cred.pid > 0) {
		snprintf(out, len, "uid:%u", (unsigned)cred.uid);
		return;
	}
	if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->client_addr)->sin_addr, out,
			  (socklen_t)len);
	else if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->client_addr)->sin6_addr, out,
			  (socklen_t)len);
}

static void route(struct ctl *c, struct ctl_request *r, struct ctl_reply *rep)
{
	if (r->nseg == 1 && !strcmp(r->seg[0], "metrics"))
		return api_metrics(c, r, rep);
	if (r->nseg < 2 || strcmp(r->seg[0], "v1")) {
		reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
		return;
	}
	if (!strcmp(r->seg[1], "tenants"))
		api_tenants(c, r, rep);
	else if (!strcmp(r->seg[1], "images"))
		api_images(c, r, rep);
	else if (!strcmp(r->seg[1], "vms"))
		api_vms(c, r, rep);
	else if (!strcmp(r->seg[1], "audit"))
		api_audit(c, r, rep);
	else if (!strcmp(r->seg[1], "usage"))
		api_usage(c, r, rep);
	else if (!strcmp(r->seg[1], "jobs"))
		api_jobs(c, r, rep);
	else if (!strcmp(r->seg[1], "backups"))
		api_backups(c, r, rep);
	else if (!strcmp(r->seg[1], "networks"))
		api_networks(c, r, rep);
	else if (!strcmp(r->seg[1], "snapshots"))
		api_snapshots(c, r, rep);
	else
		reply_error(rep, 404, "not_found", "no such resource: %s", r->path);
}

/* Split path into segments (at most 8, each non-empty). */
static bool split(char *copy, struct ctl_request *r)
{
	char *save = NULL;

	for (char *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (r->nseg == 8)
			return false;
		r->seg[r->nseg++] = s;
	}
	return true;
}

/* A console stream: the file from offset on, waiting for more while the
 * VMM runs; the end when it stops, condod stops, or the client goes. */
struct follow {
	struct ctl *c;
	struct MHD_Connection *conn;
	int fd;
	uint64_t offset;
	pid_t pid;
	uint64_t pid_start;
};

static bool client_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *fdi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd p = { .fd = fdi ? fdi->connect_fd : -1, .events = POLLRDHUP };

	return p.fd < 0 || (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct follow *f = cls;

	for (;;) {
		ssize_t n = pread(f->fd, buf, max, (off_t)f->offset);
		bool last;

		if (n > 0) {
			f->offset += (uint64_t)n;
			return n;
		}
		if (n < 0 && errno != EINTR)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		last = f->c->stopping || !vmm_alive(f->pid, f->pid_start) || client_gone(f->conn);
		if (last) {
			/* What the VMM wrote just before it went. */
			n = pread(f->fd, buf, max, (off_t)f->offset);
			if (n > 0) {
				f->offset += (uint64_t)n;
				return n;
			}
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		usleep(50 * 1000);
	}
}

static void follow_free(void *cls)
{
	struct follow *f = cls;

	close(f->fd);
	free(f);
}

static struct MHD_Response *follow_response(struct ctl *c, struct MHD_Connection *conn,
					    struct ctl_reply *rep)
{
	struct follow *f = calloc(1, sizeof(*f));
	struct MHD_Response *resp;
	char offset[32];

	if (!f)
		return NULL;
	*f = (struct follow){ c, conn, rep->follow.fd, rep->follow.offset, rep->follow.pid,
			      rep->follow.pid_start };
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, follow_read, f,
						 follow_free);
	if (!resp) {
		free(f);
		return NULL;
	}
	rep->follow.fd = -1; /* the response owns it now */
	/* A quiet guest sends nothing for minutes: no idle timeout here. */
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	snprintf(offset, sizeof(offset), "%llu", (unsigned long long)rep->follow.offset);
	MHD_add_response_header(resp, "X-Console-Offset", offset);
	return resp;
}

static enum MHD_Result send_reply(struct ctl *c, struct MHD_Connection *conn,
				  struct ctl_reply *rep)
{
	char *text = rep->text ? rep->text : json_dumps(rep->body, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (rep->follow.fd >= 0 && rep->websocket) {
		int status = 0;
		free(text);
		resp = ws_response(c, conn, rep, rep->may_type, rep->fifo, &status);
		if (!resp) {
			reply_error(rep, 400, "bad_request",
				    "a WebSocket needs Sec-WebSocket-Version 13 and a key");
			rep->websocket = false;
			close(rep->follow.fd);
			rep->follow.fd = -1;
			return send_reply(c, conn, rep);
		}
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
		ret = MHD_queue_response(conn, (unsigned)status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (rep->follow.fd >= 0) {
		free(text);
		resp = follow_response(c, conn, rep);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", rep->content_type);
		ret = MHD_queue_response(conn, (unsigned)rep->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (text && !rep->text) { /* one line, newline-terminated */
		char *nl = realloc(text, len + 2);
		if (nl) {
			text = nl;
			text[len++] = '\n';
			text[len] = '\0';
		}
	}
	resp = MHD_create_response_from_buffer(len, text ? text : "", MHD_RESPMEM_MUST_COPY);
	free(text);
	rep->text = NULL;
	MHD_add_response_header(resp, "Content-Type",
				rep->content_type ? rep->content_type : "application/json");
	if (rep->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	ret = MHD_queue_response(conn, (unsigned)rep->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void handle(struct ctl *c, struct MHD_Connection *conn, const char *url,
		   const char *method, struct pending *p, struct ctl_reply *rep)
{
	struct ctl_request r = { .method = method, .path = url, .conn = conn };
	char copy[1024], peer[64];
	json_error_t jerr;
	const char *detail = NULL;
	int err;

	peer_of(conn, peer, sizeof(peer));
	if (strlen(url) >= sizeof(copy) || (snprintf(copy, sizeof(copy), "%s", url), !split(copy, &r))) {
		reply_error(rep, 414, "uri_too_long", "the path is too long");
		return;
	}
	store_lock(c);
	err = auth_check(c, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_AUTHORIZATION),
			 peer, &r.caller);
	if (err == -EAGAIN) {
		reply_error(rep, 429, "too_many_failures",
			    "too many failed authentications; wait and retry");
	} else if (err) {
		reply_error(rep, 401, "unauthorized", "a valid bearer token is needed");
	} else if (p->too_large) {
		reply_error(rep, 413, "body_too_large", "request bodies are limited to %d bytes",
			    CTL_MAX_BODY);
	} else if (p->len && !(r.body = json_loadb(p->body, p->len, JSON_REJECT_DUPLICATES,
						    &jerr))) {
		reply_error(rep, 400, "bad_json", "the body is not valid JSON: %s (line %d)",
			    jerr.text, jerr.line);
	} else if (r.body && !json_is_object(r.body)) {
		reply_error(rep, 400, "bad_json", "the body must be a JSON object");
	} else if (r.body && strcmp(method, "POST") && strcmp(method, "PUT") &&
		   strcmp(method, "PATCH")) {
		reply_error(rep, 400, "unexpected_body", "%s takes no body", method);
	} else if (r.caller.tenant[0] && store_use(c, r.caller.tenant) < 0) {
		/* A tenant's request sees its own database only (per-tenant). */
		reply_error(rep, 500, "store", "the tenant's database cannot be opened");
	} else {
		route(c, &r, rep);
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		json_t *msg = rep->status >= 400 ? json_object_get(json_object_get(rep->body, "error"),
								   "message")
						 : NULL;
		detail = msg ? json_string_value(msg) : NULL;
		store_audit(c, &r, rep->status, detail);
	}
	store_unlock(c);
	json_decref(r.body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **state)
{
	struct ctl *c = cls;
	struct pending *p = *state;
	struct ctl_reply rep = { .status = 500, .follow.fd = -1 };
	enum MHD_Result ret;

	if (!p) {
		p = calloc(1, sizeof(*p));
		*state = p;
		return p ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		/* Keep reading a body that is too large, but not storing it,
		 * so the client gets the 413 instead of a reset. */
		if (!p->too_large && p->len + *upload_size <= CTL_MAX_BODY) {
			char *b = realloc(p->body, p->len + *upload_size);
			if (!b)
				return MHD_NO;
			memcpy(b + p->len, upload_data, *upload_size);
			p->body = b;
			p->len += *upload_size;
		} else {
			p->too_large = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	handle(c, conn, url, method, p, &rep);
	if (!rep.body && !rep.text && rep.follow.fd < 0)
		reply_error(&rep, 500, "internal", "no reply");
	ret = send_reply(c, conn, &rep);
	json_decref(rep.body);
	if (rep.follow.fd >= 0)
		close(rep.follow.fd);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
		    enum MHD_RequestTerminationCode code)
{
	struct pending *p = *state;

	if (p) {
		free(p->body);
		free(p);
	}
	*state = NULL;
}

/* A Unix socket at path, mode 0666: the token, not the file mode, decides
 * who may do what.  A stale socket left by a crash is replaced; a live one
 * (another condod) is an error. */
static int unix_listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("condod", "--socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		log_err("condod", "--socket %s: another condod is listening there", path);
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 64) < 0) {
		int err = errno;
		log_err("condod", "--socket %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

static int tcp_addr(const char *spec, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -EINVAL;
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

int http_serve(struct ctl *c, const char *socket_path, const char *listen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
	struct MHD_Daemon *unix_d = NULL, *tcp_d = NULL;
	struct sockaddr_in sa = { 0 };
	int fd;

	fd = unix_listener(socket_path);
	if (fd < 0)
		return fd;
	unix_d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, c, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_done, c,
				  MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
	if (!unix_d) {
		log_err("condod", "cannot serve on %s", socket_path);
		close(fd);
		return -EIO;
	}
	if (listen) {
		if (tcp_addr(listen, &sa) < 0) {
			log_err("condod", "--listen %s: not ADDR:PORT (an IPv4 address)", listen);
			MHD_stop_daemon(unix_d);
			return -EINVAL;
		}
		tcp_d = MHD_start_daemon(flags, ntohs(sa.sin_port), NULL, NULL, on_request, c,
					 MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
					 on_done, c, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
					 MHD_OPTION_END);
		if (!tcp_d) {
			log_err("condod", "--listen %s: cannot listen there", listen);
			MHD_stop_daemon(unix_d);
			return -EADDRINUSE;
		}
	}
	log_info("condod", "serving on %s%s%s", socket_path, listen ? " and " : "",
		 listen ? listen : "");
	for (unsigned tick = 1; !c->stopping; tick++) {
		sleep(1);
		store_lock(c);
		vmm_reap(c);
		vmm_share_cpu(c);
		if (tick % METER_PERIOD == 0)
			meter_sample_all(c);
		store_unlock(c);
	}
	/* Graceful: no new connections, requests in flight finish; the VMs
	 * go on running and are reattached by the next condod. */
	if (tcp_d)
		MHD_stop_daemon(tcp_d);
	MHD_stop_daemon(unix_d);
	jobs_wait(c);
	unlink(socket_path);
	return 0;
}
