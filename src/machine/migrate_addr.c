/* Addresses of live migration: tcp:HOST:PORT (or HOST:PORT) and unix:PATH. */
#define _GNU_SOURCE
#include "condo/log.h"
#include "condo/machine.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A socket bound (listen) or connected to uri; -1 after a one-line error. */
static int open_uri(const char *cmd, const char *uri, bool listening)
{
	const char *rest = uri, *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char host[256];
	int fd = -1, r, one = 1;

	if (!strncmp(uri, "unix:", 5)) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		struct stat st;

		if (strlen(uri + 5) >= sizeof(a.sun_path) || !uri[5]) {
			log_err(cmd, "%s: a bad socket path", uri);
			return -1;
		}
		strcpy(a.sun_path, uri + 5);
		if (listening && lstat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(a.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && (listening ? bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
						    listen(fd, 1) == 0
					  : connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0))
			return fd;
		log_err(cmd, "%s: %s", uri, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!strncmp(uri, "tcp:", 4))
		rest = uri + 4;
	colon = strrchr(rest, ':');
	if (!colon || colon == rest || (size_t)(colon - rest) >= sizeof(host) || !colon[1]) {
		log_err(cmd, "%s: expected tcp:HOST:PORT or unix:PATH", uri);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - rest), rest);
	if (listening)
		hints.ai_flags = AI_PASSIVE;
	r = getaddrinfo(host, colon + 1, &hints, &ai);
	if (r) {
		log_err(cmd, "%s: %s", uri, gai_strerror(r));
		return -1;
	}
	for (struct addrinfo *p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (listening ? bind(fd, p->ai_addr, p->ai_addrlen) == 0 && listen(fd, 1) == 0
			      : connect(fd, p->ai_addr, p->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_err(cmd, "%s: %s", uri, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/* Deep socket buffers: the stream is bulk; fewer wake-ups of either end
 * for each megabyte. */
static int deep(int fd)
{
	int size = 4 << 20;

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	return fd;
}

int migrate_listen(const char *uri)
{
	return deep(open_uri("run", uri, true));
}

int migrate_connect(const char *uri)
{
	return deep(open_uri("migrate", uri, false));
}
