/* condo img serve: export an image (raw, a qcow2 chain, a composite disk)
 * over NBD to other hosts and tools.  This file owns the listening socket
 * and the accept loop; the protocol is src/block/nbd_server.c.  One client
 * at a time: the next waits in the listen queue until the current one
 * leaves (so two writers never race on the image).  docs/img.md. */
#define _GNU_SOURCE /* accept4 */
#include "condo/block.h"
#include "condo/log.h"
#include "condo/nbd.h"
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char serve_usage[] =
	"Usage: condo img serve [-f FMT] [--port N | --socket PATH] [--bind ADDR] [-r]\n"
	"                       [--export NAME] [-t] FILE\n"
	"Export FILE (raw, qcow2 with its backing chain, or composite) over NBD,\n"
	"one client at a time.  Prints the URI clients connect to on stdout.\n"
	"\n"
	"  -f FMT           FILE's format (default: probed)\n"
	"  -p, --port N     TCP port (default 10809; 0 picks a free one)\n"
	"  -k, --socket P   listen on the Unix socket P instead of TCP\n"
	"  -b, --bind ADDR  address to listen on (default 127.0.0.1)\n"
	"  -r, --read-only  export read-only: writes get EPERM\n"
	"  -x, --export N   the export's name (default empty)\n"
	"  -t, --persistent keep serving after a client leaves (default: exit)\n"
	"  -h, --help       show this help\n";

static const struct option serve_options[] = {
	{ "help", no_argument, NULL, 'h' },	      { "port", required_argument, NULL, 'p' },
	{ "socket", required_argument, NULL, 'k' },   { "bind", required_argument, NULL, 'b' },
	{ "read-only", no_argument, NULL, 'r' },      { "export", required_argument, NULL, 'x' },
	{ "persistent", no_argument, NULL, 't' },     { NULL, 0, NULL, 0 },
};

struct serve_args {
	enum block_format format;
	const char *port, *socket, *bind, *name;
	bool readonly, persistent;
};

/* SIGINT/SIGTERM: finish the current message, close the image cleanly. */
static volatile sig_atomic_t serve_stop;

static void on_stop(int sig)
{
	serve_stop = 1;
}

static int parse_serve(int argc, char **argv, struct serve_args *a)
{
	uint64_t port;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hf:p:k:b:rx:t", serve_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(serve_usage, stdout);
			return 1;
		case 'f':
			if (block_format_parse(optarg, &a->format) < 0 ||
			    a->format == BLOCK_FORMAT_NBD) {
				log_err("img", "serve: unknown format '%s' (raw, qcow2 or composite)",
					optarg);
				return -1;
			}
			break;
		case 'p':
			if (cli_parse_u64(optarg, &port) < 0 || port > 65535) {
				log_err("img", "serve: bad port '%s' (0 to 65535)", optarg);
				return -1;
			}
			a->port = optarg;
			break;
		case 'k': a->socket = optarg; break;
		case 'b': a->bind = optarg; break;
		case 'r': a->readonly = true; break;
		case 'x':
			if (strlen(optarg) > 4096) {
				log_err("img", "serve: export name longer than 4096 bytes");
				return -1;
			}
			a->name = optarg;
			break;
		case 't': a->persistent = true; break;
		default:
			cli_bad_option("img", argv[optind - 1]);
			return -1;
		}
	}
	if (a->socket && (a->port || a->bind)) {
		log_err("img", "serve: --socket excludes --port and --bind");
		return -1;
	}
	if (argc - optind != 1) {
		log_err("img", "serve: wrong number of operands (see condo img serve --help)");
		return -1;
	}
	return 0;
}

/* The export name as a URI path: unreserved characters as they are, the
 * rest percent-encoded (RFC 3986 section 2). */
static void print_name(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			putchar(*p);
		else
			printf("%%%02X", *p);
	}
}

static int listen_unix(const char *path, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("img", "serve: socket path %s is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	/* A stale socket from an earlier run is replaced; any other file is not. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		log_err("img", "serve: cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	printf("nbd+unix:///");
	print_name(name);
	printf("?socket=%s\n", path);
	return fd;
}

static int listen_tcp(const char *addr, const char *port, const char *name)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int fd, one = 1, err = getaddrinfo(addr, port, &hints, &res);

	if (err) {
		log_err("img", "serve: bad address %s port %s: %s", addr, port, gai_strerror(err));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		log_err("img", "serve: cannot listen on %s port %s: %s", addr, port,
			strerror(errno));
		freeaddrinfo(res);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(res);
	printf(strchr(host, ':') ? "nbd://[%s]:%s/" : "nbd://%s:%s/", host, serv);
	print_name(name);
	putchar('\n');
	return fd;
}

/* Accept and serve clients until one leaves (or forever with -t). */
static int serve_loop(int lfd, const struct nbd_export *exp, bool persistent)
{
	do {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), err;

		if (cfd < 0 && errno == EINTR && !serve_stop)
			continue;
		if (cfd < 0)
			return serve_stop ? 0 : -errno;
		/* Replies are small and awaited one by one: no Nagle delay
		 * (fails harmlessly on a Unix socket). */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		err = nbd_serve(exp, cfd, cfd);
		close(cfd);
		if (err && err != -EINTR)
			log_warn("img", "serve: a client connection ended: %s", strerror(-err));
	} while (persistent && !serve_stop);
	return 0;
}

int cmd_img_serve(int argc, char **argv)
{
	struct serve_args a = { .format = BLOCK_FORMAT_AUTO, .name = "" };
	struct sigaction sa = { .sa_handler = on_stop };
	struct nbd_export exp = { .stop = &serve_stop };
	int r = parse_serve(argc, argv, &a), lfd, err;

	if (r)
		return r > 0 ? 0 : CLI_EXIT_USAGE;
	exp.dev = block_open(argv[optind], a.format, a.readonly);
	if (!exp.dev)
		return 1;
	exp.name = a.name;
	exp.readonly = a.readonly || exp.dev->readonly;
	signal(SIGPIPE, SIG_IGN); /* a client that vanishes is an error return */
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: accept and read return */
	sigaction(SIGTERM, &sa, NULL);
	lfd = a.socket ? listen_unix(a.socket, a.name)
		       : listen_tcp(a.bind ? a.bind : "127.0.0.1", a.port ? a.port : "10809", a.name);
	if (lfd < 0) {
		block_close(exp.dev);
		return 1;
	}
	fflush(stdout);
	err = serve_loop(lfd, &exp, a.persistent);
	close(lfd);
	if (a.socket)
		unlink(a.socket);
	block_close(exp.dev);
	if (err)
		log_err("img", "serve: accept: %s", strerror(-err));
	return err ? 1 : 0;
}
