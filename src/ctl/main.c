/* condod: the control plane's daemon (docs/condod.md).
 *   condod init [--data DIR]      create the store, print the first operator token
 *   condod [--socket PATH] [--listen ADDR:PORT] [--data DIR] [--condo PATH]
 * SIGTERM or SIGINT stop it gracefully; the VMs go on running and the next
 * condod keeps them. */
#define _GNU_SOURCE
#include "ctl/ctl.h"
#include "condo/io.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

static const char usage[] =
	"Usage: condod [OPTIONS]          serve the control plane's API\n"
	"       condod init [--data DIR] [--data-isolation shared|per-tenant]\n"
	"                                 create the store; print the first operator token\n"
	"\n"
	"condod runs many tenants' VMs on this host: tenants, tokens, images, VMs,\n"
	"quotas, over an HTTP/1.1 JSON API (docs/api.yaml).  `condo ctl` is its client.\n"
	"\n"
	"  --data DIR          the store, images and VM disks (default: $CONDOD_DATA, or\n"
	"                      /var/lib/condod as root, else ~/.local/state/condod)\n"
	"  --socket PATH       the Unix socket to serve on (default DIR/condod.sock)\n"
	"  --listen ADDR:PORT  also serve on TCP (IPv4), e.g. 127.0.0.1:8470\n"
	"  --condo PATH        the condo binary VMs run in (default: next to condod)\n"
	"  --auth-limit N/S    failed authentications per peer: N at once, one more\n"
	"                      forgiven every S seconds (default 10/1)\n"
	"  --data-isolation shared|per-tenant\n"
	"                      tenants' records in one database (shared, the default)\n"
	"                      or each tenant's VMs and metering in a database of its\n"
	"                      own; chosen at init, checked at every start\n"
	"  --backup-dir DIR    the default backup repository (default DIR/backups of\n"
	"                      --data; docs/backup.md)\n"
	"  -h, --help          show this help\n"
	"\n"
	"SIGTERM stops condod; its VMs go on running and the next condod keeps them.\n"
	"Exit status: 0 after a clean stop, 1 when it cannot start, 2 for a bad option.\n";

static struct ctl *the_ctl; /* for the signal handler only */

static void on_stop(int sig)
{
	(void)sig;
	if (the_ctl)
		the_ctl->stopping = 1;
}

static int default_data(char *out, size_t len)
{
	const char *env = getenv("CONDOD_DATA"), *home = getenv("HOME");

	if (env && env[0])
		snprintf(out, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(out, len, "/var/lib/condod");
	else if (home)
		snprintf(out, len, "%s/.local/state/condod", home);
	else
		return -ENOENT;
	return 0;
}

/* condo lives next to condod (both in build/, or both installed). */
static void default_condo(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	snprintf(out, len, "condo");
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash && (size_t)(slash - self) + sizeof("/condo") <= len) {
		memcpy(out, self, (size_t)(slash - self));
		strcpy(out + (slash - self), "/condo");
	}
}

static int init_store(struct ctl *c, int isolation)
{
	char path[4200], secret[128], id[CTL_ID_LEN + 1];
	uint8_t key[32];
	int fd;

	if (mkdir_all(c->data, 0700) < 0) {
		log_err("condod", "init: cannot create %s: %s", c->data, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/key", c->data);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("condod", "init: %s: %s (the store exists; nothing was changed)", path,
			errno == EEXIST ? "already initialised" : strerror(errno));
		return 1;
	}
	randombytes_buf(key, sizeof(key));
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) < 0) {
		log_err("condod", "init: cannot write %s", path);
		close(fd);
		unlink(path);
		return 1;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/images", c->data);
	if (mkdir_all(path, 0700) < 0 || auth_load_key(c) < 0 || store_open(c, isolation) < 0 ||
	    auth_new_token(c, NULL, ROLE_OPERATOR, "first operator token", secret, sizeof(secret),
			   id) < 0) {
		log_err("condod", "init: cannot create the store in %s", c->data);
		return 1;
	}
	store_close(c);
	printf("%s\n", secret);
	fprintf(stderr, "condod: store created in %s; the operator token above is shown only "
			"once\n", c->data);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },   { "socket", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' }, { "condo", required_argument, NULL, 'c' },
		{ "auth-limit", required_argument, NULL, 'a' },
		{ "backup-dir", required_argument, NULL, 'b' },
		{ "data-isolation", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	static struct ctl ctl;
	unsigned burst = 10;
	double period = 1;
	const char *socket_path = NULL, *listen = NULL;
	char sock[4200];
	bool init = argc > 1 && !strcmp(argv[1], "init");
	int c, err, isolation = -1;

	if (init) {
		argc--;
		argv++;
	}
	opterr = 0;
	default_condo(ctl.condo, sizeof(ctl.condo));
	if (default_data(ctl.data, sizeof(ctl.data)) < 0)
		ctl.data[0] = '\0';
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': snprintf(ctl.data, sizeof(ctl.data), "%s", optarg); break;
		case 's': socket_path = optarg; break;
		case 'l': listen = optarg; break;
		case 'c': snprintf(ctl.condo, sizeof(ctl.condo), "%s", optarg); break;
		case 'i':
			if (store_parse_isolation(optarg, &isolation) < 0) {
				log_err("condod", "--data-isolation %s: not shared or per-tenant",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			if (optarg[0] != '/') {
				log_err("condod", "--backup-dir %s: not an absolute path", optarg);
				return EXIT_USAGE;
			}
			snprintf(ctl.backup_dir, sizeof(ctl.backup_dir), "%s", optarg);
			break;
		case 'h': fputs(usage, stdout); return 0;
		case 'a': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '/' || n < 1 || n > 1000000 ||
			    (period = strtod(end + 1, &end)) <= 0 || *end || period > 86400) {
				log_err("condod", "--auth-limit %s: not N/SECONDS (e.g. 10/1)", optarg);
				return EXIT_USAGE;
			}
			burst = (unsigned)n;
			break;
		}
		default:
			log_err("condod", "%s: unknown option or missing value (see condod --help)",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_err("condod", "unexpected argument '%s' (see condod --help)", argv[optind]);
		return EXIT_USAGE;
	}
	if (!ctl.data[0]) {
		log_err("condod", "no --data directory and no HOME");
		return EXIT_USAGE;
	}
	if (!ctl.backup_dir[0] &&
	    snprintf(ctl.backup_dir, sizeof(ctl.backup_dir), "%s/backups", ctl.data) >=
		    (int)sizeof(ctl.backup_dir)) {
		log_err("condod", "--data %s: too long a path", ctl.data);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		log_err("condod", "libsodium cannot start");
		return 1;
	}
	pthread_mutex_init(&ctl.lock, NULL);
	pthread_cond_init(&ctl.jobs_done, NULL);
	if (init)
		return init_store(&ctl, isolation < 0 ? 0 : isolation);
	if (access(ctl.condo, X_OK) < 0) {
		log_err("condod", "--condo %s: not an executable", ctl.condo);
		return 1;
	}
	if (!socket_path) {
		snprintf(sock, sizeof(sock), "%s/condod.sock", ctl.data);
		socket_path = sock;
	}
	ctl.limiter = auth_limiter_new(burst, period);
	if (!ctl.limiter || auth_load_key(&ctl) < 0 || store_open(&ctl, isolation) < 0)
		return 1;
	the_ctl = &ctl;
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	store_lock(&ctl);
	jobs_recover(&ctl);
	vmm_reattach(&ctl);
	store_unlock(&ctl);
	err = http_serve(&ctl, socket_path, listen);
	store_close(&ctl);
	auth_limiter_free(ctl.limiter);
	return err ? 1 : 0;
}
