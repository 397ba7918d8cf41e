/* condo ctl: the command-line client of condod (docs/condod.md).  One
 * function per verb; each builds a request, sends it (ctl_client.c) and
 * shows the reply as a table or as JSON. */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "cli/ctl.h"
#include "condo/log.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <termios.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: condo ctl [OPTIONS] RESOURCE VERB [ARGS]\n"
	"Talk to condod, condo's control plane.\n"
	"\n"
	"  tenant list | show T | delete T\n"
	"  tenant create NAME [--vms N] [--vcpus N] [--memory MIB] [--disk SIZE]\n"
	"                     [--snapshots N] [--cpu-share PCT]\n"
	"  tenant set T [the same quota options]\n"
	"  token create T --role tenant-admin|tenant-user|read-only [--name NAME]\n"
	"  token list T | delete T ID\n"
	"  image list | show I | delete I\n"
	"  image import NAME PATH|URI [--format raw|qcow2] [--tenant T]\n"
	"  vm list | show V | start V | stop V | pause V | resume V | reboot V | delete V\n"
	"  vm console V [--follow | --attach]   recent output; --follow streams it;\n"
	"     --attach also sends what you type (C-] detaches; the VM runs on)\n"
	"  vm create NAME --image I [--cpus N] [--mem MIB] [--disk SIZE]\n"
	"            [--restart never|on-failure|always] [--no-start] [--tenant T]\n"
	"            [--network N]...   a NIC on each of the tenant's networks named\n"
	"  snapshot list [--vm V] | show S | delete S | restore S\n"
	"  snapshot create V NAME   save the running or paused VM V (memory, devices,\n"
	"     disk); restore takes V back to it, resuming where it was\n"
	"  network list | show N | delete N\n"
	"  network create NAME [--tenant T]   an isolated L2 segment of the tenant's\n"
	"  backup create [--tenant T] [--vm V] [--full] [--repo DIR | --nbd URI]\n"
	"     back up a tenant's VMs (incremental after the first; --full reads every disk);\n"
	"     --nbd (operator, with --vm): the disk, whole, into an NBD export\n"
	"  backup list | show B | delete B   [--repo DIR]\n"
	"     delete: the backup, and the chunks no other backup needs\n"
	"  restore B [--vm NAME [--name NEW]] [--start] [--tenant T] [--repo DIR]\n"
	"     bring a backup's VMs (or one) back; --repo: another repository (operator)\n"
	"  raw METHOD PATH [JSON]   any request, the reply as it comes\n"
	"T, I and V are ids or names.\n"
	"\n"
	"Options:\n"
	"  --socket PATH        condod's socket (default: $CONDOD_SOCKET, or condod's default)\n"
	"  --url URL            condod over TCP instead, e.g. http://127.0.0.1:8470\n"
	"  --token TOKEN        the bearer token (default: $CONDO_TOKEN)\n"
	"  --output table|json  how replies are shown (default table)\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 done, 1 condod refused or failed the request, 2 bad command\n"
	"line, 3 no such resource, 4 condod cannot be reached.\n";

enum {
	O_VMS = 256, O_VCPUS, O_MEMORY, O_DISK, O_SNAPSHOTS, O_CPU_SHARE, O_ROLE, O_NAME,
	O_FORMAT, O_TENANT, O_IMAGE, O_CPUS, O_MEM, O_RESTART, O_NO_START, O_FOLLOW, O_ATTACH,
	O_VM, O_FULL, O_REPO, O_START, O_NBD, O_NETWORK,
};

static const struct option verb_opts[] = {
	{ "vms", required_argument, NULL, O_VMS },
	{ "vcpus", required_argument, NULL, O_VCPUS },
	{ "memory", required_argument, NULL, O_MEMORY },
	{ "disk", required_argument, NULL, O_DISK },
	{ "snapshots", required_argument, NULL, O_SNAPSHOTS },
	{ "cpu-share", required_argument, NULL, O_CPU_SHARE },
	{ "role", required_argument, NULL, O_ROLE },
	{ "name", required_argument, NULL, O_NAME },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "tenant", required_argument, NULL, O_TENANT },
	{ "image", required_argument, NULL, O_IMAGE },
	{ "cpus", required_argument, NULL, O_CPUS },
	{ "mem", required_argument, NULL, O_MEM },
	{ "restart", required_argument, NULL, O_RESTART },
	{ "no-start", no_argument, NULL, O_NO_START },
	{ "follow", no_argument, NULL, O_FOLLOW },
	{ "attach", no_argument, NULL, O_ATTACH },
	{ "vm", required_argument, NULL, O_VM },
	{ "full", no_argument, NULL, O_FULL },
	{ "repo", required_argument, NULL, O_REPO },
	{ "start", no_argument, NULL, O_START },
	{ "nbd", required_argument, NULL, O_NBD },
	{ "network", required_argument, NULL, O_NETWORK },
	{ NULL, 0, NULL, 0 },
};

/* A verb's options, as JSON fields of its request. */
static int parse_verb_opts(int argc, char **argv, json_t *body, json_t *quota)
{
	int c;

	optind = 0; /* a second getopt in this process: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", verb_opts, NULL)) != -1) {
		uint64_t v = 0;
		const char *key = NULL;
		json_t *into = body;

		switch (c) {
		case O_VMS: key = "vms"; into = quota; break;
		case O_VCPUS: key = "vcpus"; into = quota; break;
		case O_MEMORY: key = "memory_mib"; into = quota; break;
		case O_SNAPSHOTS: key = "snapshots"; into = quota; break;
		case O_CPU_SHARE: key = "cpu_share"; break;
		case O_CPUS: key = "vcpus"; break;
		case O_MEM: key = "memory_mib"; break;
		case O_DISK:
			if (cli_parse_size(optarg, &v) < 0) {
				log_err("ctl", "--disk %s: not a size (K, M, G or T)", optarg);
				return -1;
			}
			json_object_set_new(quota ? quota : body, "disk_bytes", json_integer((json_int_t)v));
			continue;
		case O_ROLE: json_object_set_new(body, "role", json_string(optarg)); continue;
		case O_NAME: json_object_set_new(body, "name", json_string(optarg)); continue;
		case O_FORMAT: json_object_set_new(body, "format", json_string(optarg)); continue;
		case O_TENANT: json_object_set_new(body, "tenant", json_string(optarg)); continue;
		case O_IMAGE: json_object_set_new(body, "image", json_string(optarg)); continue;
		case O_RESTART: json_object_set_new(body, "restart", json_string(optarg)); continue;
		case O_NO_START: json_object_set_new(body, "start", json_false()); continue;
		case O_FOLLOW: json_object_set_new(body, "follow", json_true()); continue;
		case O_ATTACH: json_object_set_new(body, "attach", json_true()); continue;
		case O_VM: json_object_set_new(body, "vm", json_string(optarg)); continue;
		case O_FULL: json_object_set_new(body, "full", json_true()); continue;
		case O_START: json_object_set_new(body, "start", json_true()); continue;
		case O_NBD: json_object_set_new(body, "nbd", json_string(optarg)); continue;
		case O_NETWORK: { /* repeatable: a NIC on each */
			json_t *nets = json_object_get(body, "networks");
			if (!nets)
				json_object_set_new(body, "networks", nets = json_array());
			json_array_append_new(nets, json_string(optarg));
			continue;
		}
		case O_REPO: {
			/* condod resolves it: made absolute here, like image import's path */
			char *abs = optarg[0] == '/' ? strdup(optarg) : NULL, cwd[4096];
			if (!abs && getcwd(cwd, sizeof(cwd)) && asprintf(&abs, "%s/%s", cwd, optarg) < 0)
				abs = NULL;
			if (!abs)
				return -1;
			json_object_set_new(body, "repo", json_string(abs));
			free(abs);
			continue;
		}
		default:
			cli_bad_option("ctl", argv[optind - 1]);
			return -1;
		}
		if (!into || cli_parse_u64(optarg, &v) < 0) {
			log_err("ctl", "%s: %s", argv[optind - 2 > 0 ? optind - 2 : 0],
				into ? "needs a number" : "not an option of this verb");
			return -1;
		}
		json_object_set_new(into, key, json_integer((json_int_t)v));
	}
	return 0;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));

	if (s)
		puts(s);
	free(s);
}

/* The text of field col ("a/b": field b of field a) of o. */
static void cell(json_t *o, const char *col, char *out, size_t len)
{
	const char *slash = strchr(col, '/');
	json_t *v = o;
	char key[32];

	if (slash) {
		snprintf(key, sizeof(key), "%.*s", (int)(slash - col), col);
		v = json_object_get(v, key);
		col = slash + 1;
	}
	v = json_object_get(v, col);
	if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_array(v)) { /* names, joined by commas */
		size_t n = 0, i;
		json_t *e;
		out[0] = '\0';
		json_array_foreach(v, i, e)
			if (n < len)
				n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "," : "",
						      json_string_value(e) ?: "?");
	} else
		snprintf(out, len, "-");
}

/* One row per object, columns as wide as their widest cell. */
static void print_table(json_t *j, const char *const *cols)
{
	int width[16] = { 0 }, ncols = 0;
	char text[128];
	json_t *rows = json_is_array(j) ? json_incref(j) : json_pack("[O]", j), *o;
	size_t i;

	for (; cols[ncols] && ncols < 16; ncols++)
		width[ncols] = (int)strlen(cols[ncols]);
	json_array_foreach(rows, i, o) {
		for (int k = 0; k < ncols; k++) {
			cell(o, cols[k], text, sizeof(text));
			if ((int)strlen(text) > width[k])
				width[k] = (int)strlen(text);
		}
	}
	for (int k = 0; k < ncols; k++)
		printf("%-*s%s", k + 1 < ncols ? width[k] : 0, cols[k], k + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, o) {
		for (int k = 0; k < ncols; k++) {
			cell(o, cols[k], text, sizeof(text));
			printf("%-*s%s", k + 1 < ncols ? width[k] : 0, text, k + 1 < ncols ? "  " : "\n");
		}
	}
	json_decref(rows);
}

static const char *const tenant_cols[] = { "id",	       "name",		"usage/vms",
					   "quota/vms", "usage/vcpus",	"quota/vcpus",
					   "usage/memory_mib", "quota/memory_mib", NULL };
static const char *const token_cols[] = { "id", "role", "name", NULL };
static const char *const image_cols[] = { "id", "name", "tenant", "format", "size", "state",
					  NULL };
static const char *const vm_cols[] = { "id", "name", "tenant", "state", "vcpus", "memory_mib",
				       "image", NULL };

static int show(const struct ctl_conn *conn, const char *method, const char *path, json_t *body,
		const char *const *cols)
{
	json_t *reply;
	int st = ctl_call(conn, method, path, body, &reply, NULL);

	json_decref(body);
	if (st)
		return st;
	if (conn->json || !cols)
		print_json(reply);
	else
		print_table(reply, cols);
	json_decref(reply);
	return 0;
}

/* An id from an id or a name: names are looked up in the list. */
static int resolve(const struct ctl_conn *conn, const char *kind, const char *arg, char *out,
		   size_t len)
{
	char path[64];
	json_t *list, *o;
	size_t i;
	int st, found = 0;

	if (strlen(arg) == 16 && strspn(arg, "0123456789abcdef") == 16) {
		snprintf(out, len, "%s", arg);
		return 0;
	}
	snprintf(path, sizeof(path), "/v1/%ss", kind);
	st = ctl_call(conn, "GET", path, NULL, &list, NULL);
	if (st)
		return st;
	json_array_foreach(list, i, o) {
		if (!strcmp(json_string_value(json_object_get(o, "name")) ?: "", arg)) {
			snprintf(out, len, "%s", json_string_value(json_object_get(o, "id")));
			found++;
		}
	}
	json_decref(list);
	if (found == 1)
		return 0;
	log_err("ctl", found ? "%s name '%s' is ambiguous; give its id" : "no %s named '%s'", kind,
		arg);
	return found ? CLI_EXIT_USAGE : CTL_EXIT_NOT_FOUND;
}

/* A --tenant given by name becomes its id. */
static int resolve_tenant_opt(const struct ctl_conn *conn, json_t *body)
{
	const char *t = json_string_value(json_object_get(body, "tenant"));
	char id[64];
	int st;

	if (!t)
		return 0;
	st = resolve(conn, "tenant", t, id, sizeof(id));
	if (!st)
		json_object_set_new(body, "tenant", json_string(id));
	return st;
}

/* A verb's options as its request's body (a --tenant name made an id):
 * 0, or an exit status with nothing to free. */
static int verb_body(const struct ctl_conn *conn, int argc, char **argv, json_t **body)
{
	int st;

	*body = json_object();
	if (parse_verb_opts(argc, argv, *body, NULL) < 0)
		st = CLI_EXIT_USAGE;
	else
		st = resolve_tenant_opt(conn, *body);
	if (st)
		json_decref(*body);
	return st;
}

#define NEED(n)                                                                           \
	do {                                                                              \
		if (argc - optind != (n)) {                                               \
			log_err("ctl", "%s %s: wrong number of arguments (see condo ctl --help)", \
				res, verb);                                                       \
			return CLI_EXIT_USAGE;                                            \
		}                                                                         \
	} while (0)

static int tenant_cmd(const struct ctl_conn *conn, const char *res, const char *verb, int argc,
		      char **argv)
{
	json_t *body = json_object(), *quota = json_object();
	char id[64], path[128];
	int st;

	if (parse_verb_opts(argc, argv, body, quota) < 0)
		goto usage;
	if (json_object_size(quota))
		json_object_set(body, "quota", quota);
	json_decref(quota);
	if (!strcmp(verb, "list")) {
		json_decref(body);
		NEED(0);
		return show(conn, "GET", "/v1/tenants", NULL, tenant_cols);
	}
	if (!strcmp(verb, "create")) {
		if (argc - optind != 1)
			goto usage;
		json_object_set_new(body, "name", json_string(argv[optind]));
		return show(conn, "POST", "/v1/tenants", body, tenant_cols);
	}
	if (argc - optind != 1)
		goto usage;
	st = resolve(conn, "tenant", argv[optind], id, sizeof(id));
	if (st) {
		json_decref(body);
		return st;
	}
	snprintf(path, sizeof(path), "/v1/tenants/%s", id);
	if (!strcmp(verb, "show"))
		return json_decref(body), show(conn, "GET", path, NULL, tenant_cols);
	if (!strcmp(verb, "delete"))
		return json_decref(body), show(conn, "DELETE", path, NULL, NULL);
	if (!strcmp(verb, "set"))
		return show(conn, "PATCH", path, body, tenant_cols);
usage:
	json_decref(body);
	log_err("ctl", "tenant %s: unknown verb or wrong arguments (see condo ctl --help)", verb);
	return CLI_EXIT_USAGE;
}

static int token_cmd(const struct ctl_conn *conn, const char *res, const char *verb, int argc,
		     char **argv)
{
	json_t *body = json_object(), *reply;
	char tenant[64], path[160];
	int st;

	if (parse_verb_opts(argc, argv, body, NULL) < 0 || argc - optind < 1) {
		json_decref(body);
		log_err("ctl", "token %s: wrong arguments (see condo ctl --help)", verb);
		return CLI_EXIT_USAGE;
	}
	st = resolve(conn, "tenant", argv[optind], tenant, sizeof(tenant));
	if (st)
		return json_decref(body), st;
	snprintf(path, sizeof(path), "/v1/tenants/%s/tokens", tenant);
	if (!strcmp(verb, "list") && argc - optind == 1)
		return json_decref(body), show(conn, "GET", path, NULL, token_cols);
	if (!strcmp(verb, "delete") && argc - optind == 2) {
		snprintf(path, sizeof(path), "/v1/tenants/%s/tokens/%s", tenant, argv[optind + 1]);
		return json_decref(body), show(conn, "DELETE", path, NULL, NULL);
	}
	if (strcmp(verb, "create") || argc - optind != 1) {
		json_decref(body);
		log_err("ctl", "token %s: unknown verb or wrong arguments (see condo ctl --help)", verb);
		return CLI_EXIT_USAGE;
	}
	st = ctl_call(conn, "POST", path, body, &reply, NULL);
	json_decref(body);
	if (st)
		return st;
	if (conn->json)
		print_json(reply);
	else /* the secret alone on stdout, for scripts; shown only this once */
		printf("%s\n", json_string_value(json_object_get(reply, "token")));
	json_decref(reply);
	return 0;
}

/* Follow a job until it ends, with a progress bar on a terminal. */
static int wait_job(const struct ctl_conn *conn, const char *job)
{
	bool bar = isatty(STDERR_FILENO);
	char path[64];
	json_t *j;
	int st;

	snprintf(path, sizeof(path), "/v1/jobs/%s", job);
	for (;;) {
		const char *state;
		st = ctl_call(conn, "GET", path, NULL, &j, NULL);
		if (st)
			return st;
		state = json_string_value(json_object_get(j, "state")) ?: "";
		if (bar) {
			int pct = (int)(json_real_value(json_object_get(j, "progress")) * 100);
			if (!strcmp(state, "done"))
				pct = 100;
			fprintf(stderr, "\r[%-40.*s] %3d%%", pct * 40 / 100,
				"########################################", pct);
		}
		if (strcmp(state, "running")) {
			if (bar)
				fputc('\n', stderr);
			if (strcmp(state, "done")) {
				log_err("ctl", "job %s failed: %s", job,
					json_string_value(json_object_get(j, "error")) ?: "no reason given");
				st = CTL_EXIT_API;
			}
			json_decref(j);
			return st;
		}
		json_decref(j);
		usleep(200 * 1000);
	}
}

/* list, show ID and delete ID of a kind of resource (/v1/KINDs): an exit
 * status, or -1 for another verb. */
static int common_verb(const struct ctl_conn *conn, const char *kind, const char *verb,
		       int argc, char **argv, const char *const *cols)
{
	char id[64], path[128];
	int st;

	if (strcmp(verb, "list") && strcmp(verb, "show") && strcmp(verb, "delete"))
		return -1;
	if (argc - optind != (strcmp(verb, "list") ? 1 : 0)) {
		log_err("ctl", "%s %s: wrong number of arguments (see condo ctl --help)", kind, verb);
		return CLI_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/%ss", kind);
	if (!strcmp(verb, "list"))
		return show(conn, "GET", path, NULL, cols);
	st = resolve(conn, kind, argv[optind], id, sizeof(id));
	if (st)
		return st;
	snprintf(path, sizeof(path), "/v1/%ss/%s", kind, id);
	return show(conn, strcmp(verb, "show") ? "DELETE" : "GET", path, NULL,
		    strcmp(verb, "show") ? NULL : cols);
}

static int image_cmd(const struct ctl_conn *conn, const char *res, const char *verb, int argc,
		     char **argv)
{
	json_t *body;
	char id[64], path[128];
	int st = verb_body(conn, argc, argv, &body);

	if (st)
		return st;
	if (!strcmp(verb, "import")) {
		char abs[4096];
		if (argc - optind != 2) {
			json_decref(body);
			NEED(2);
		}
		/* condod may run elsewhere: the path is made absolute here; an
		 * nbd:// URI goes as it is. */
		if (strstr(argv[optind + 1], "://")) {
			snprintf(abs, sizeof(abs), "%s", argv[optind + 1]);
		} else if (!realpath(argv[optind + 1], abs)) {
			json_decref(body);
			log_err("ctl", "image import: %s: no such file", argv[optind + 1]);
			return CTL_EXIT_API;
		}
		json_t *reply;
		json_object_set_new(body, "name", json_string(argv[optind]));
		json_object_set_new(body, "path", json_string(abs));
		st = ctl_call(conn, "POST", "/v1/images", body, &reply, NULL);
		json_decref(body);
		if (st)
			return st;
		/* 202: a job copies the image into the store. */
		snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(reply, "image")) ?: "");
		st = wait_job(conn, json_string_value(json_object_get(reply, "job")) ?: "");
		json_decref(reply);
		if (st)
			return st;
		snprintf(path, sizeof(path), "/v1/images/%s", id);
		return show(conn, "GET", path, NULL, image_cols);
	}
	json_decref(body);
	if ((st = common_verb(conn, "image", verb, argc, argv, image_cols)) >= 0)
		return st;
	log_err("ctl", "image %s: unknown verb (see condo ctl --help)", verb);
	return CLI_EXIT_USAGE;
}

struct attach {
	const struct ctl_conn *conn;
	char path[200];
	int status;
};

static void *stream_thread(void *arg)
{
	struct attach *a = arg;

	a->status = ctl_stream(a->conn, a->path);
	/* The stream ended (the VM stopped): wake the reader. */
	kill(getpid(), SIGUSR1);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Type into the console until C-] (or the stream ends). */
static int attach_input(const struct ctl_conn *conn, const char *path)
{
	char input[sizeof(((struct attach *)0)->path) + 16], buf[256];
	struct termios saved, raw;
	bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	int st = 0;

	snprintf(input, sizeof(input), "%s/console", path);
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "condo: attached; C-] detaches\r\n");
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		ssize_t keep = n;
		json_t *body, *reply = NULL;
		if (n <= 0)
			break;
		char *esc = memchr(buf, 0x1d, (size_t)n); /* C-] */
		if (esc)
			keep = esc - buf;
		if (keep > 0) {
			body = json_pack("{s:s#}", "input", buf, (int)keep);
			st = body ? ctl_call(conn, "POST", input, body, &reply, NULL) : CLI_EXIT_USAGE;
			json_decref(body);
			json_decref(reply);
			if (st)
				break;
		}
		if (esc)
			break;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\ncondo: detached; the VM runs on\n");
	}
	return st;
}

static int console(const struct ctl_conn *conn, const char *vm_path, int mode)
{
	struct attach a = { .conn = conn };
	struct sigaction sa = { .sa_handler = on_usr1 };
	pthread_t t;
	char *text;
	json_t *none;
	int st;

	snprintf(a.path, sizeof(a.path), "%s/console%s", vm_path, mode ? "?follow=1" : "");
	if (mode == 0) {
		st = ctl_call(conn, "GET", a.path, NULL, &none, &text);
		if (!st && text)
			fputs(text, stdout);
		free(text);
		return st;
	}
	if (mode == 1)
		return ctl_stream(conn, a.path);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: the read returns */
	if (pthread_create(&t, NULL, stream_thread, &a))
		return CTL_EXIT_API;
	st = attach_input(conn, vm_path);
	pthread_cancel(t);
	pthread_join(t, NULL);
	return st ? st : a.status;
}

static int vm_cmd(const struct ctl_conn *conn, const char *res, const char *verb, int argc,
		  char **argv)
{
	static const char *const actions[] = { "start", "stop", "pause", "resume", "reboot", NULL };
	json_t *body;
	char id[64], path[160];
	int st = verb_body(conn, argc, argv, &body), opts;

	if (st)
		return st;
	if (!strcmp(verb, "list")) {
		json_decref(body);
		NEED(0);
		return show(conn, "GET", "/v1/vms", NULL, vm_cols);
	}
	if (!strcmp(verb, "create")) {
		if (argc - optind != 1) {
			json_decref(body);
			NEED(1);
		}
		json_object_set_new(body, "name", json_string(argv[optind]));
		return show(conn, "POST", "/v1/vms", body, vm_cols);
	}
	opts = json_is_true(json_object_get(body, "attach")) ? 2
	       : json_is_true(json_object_get(body, "follow")) ? 1
							  : 0;
	json_decref(body);
	NEED(1);
	st = resolve(conn, "vm", argv[optind], id, sizeof(id));
	if (st)
		return st;
	snprintf(path, sizeof(path), "/v1/vms/%s", id);
	if (!strcmp(verb, "show"))
		return show(conn, "GET", path, NULL, vm_cols);
	if (!strcmp(verb, "delete"))
		return show(conn, "DELETE", path, NULL, NULL);
	if (!strcmp(verb, "console"))
		return console(conn, path, opts);
	for (int i = 0; actions[i]; i++) {
		if (!strcmp(verb, actions[i])) {
			snprintf(path, sizeof(path), "/v1/vms/%s/%s", id, verb);
			return show(conn, "POST", path, NULL, vm_cols);
		}
	}
	log_err("ctl", "vm %s: unknown verb (see condo ctl --help)", verb);
	return CLI_EXIT_USAGE;
}

static const char *const network_cols[] = { "id", "name", "tenant", "created", NULL };

static int network_cmd(const struct ctl_conn *conn, const char *res, const char *verb, int argc,
		       char **argv)
{
	json_t *body;
	int st = verb_body(conn, argc, argv, &body);

	if (st)
		return st;
	if (!strcmp(verb, "create")) {
		if (argc - optind != 1) {
			json_decref(body);
			NEED(1);
		}
		json_object_set_new(body, "name", json_string(argv[optind]));
		return show(conn, "POST", "/v1/networks", body, network_cols);
	}
	json_decref(body);
	if ((st = common_verb(conn, "network", verb, argc, argv, network_cols)) >= 0)
		return st;
	log_err("ctl", "network %s: unknown verb (see condo ctl --help)", verb);
	return CLI_EXIT_USAGE;
}

static const char *const backup_cols[] = { "id", "tenant_name", "created", "kind", "vms",
					   "stored/chunks", "stored/bytes", NULL };

/* ?repo=DIR (percent-encoded) for the GETs, from --repo. */
static void repo_query(json_t *body, char *out, size_t len)
{
	const char *repo = json_string_value(json_object_get(body, "repo"));
	size_t n = 0;

	out[0] = '\0';
	if (!repo)
		return;
	n = (size_t)snprintf(out, len, "?repo=");
	for (; *repo && n + 4 < len; repo++) {
		unsigned char ch = (unsigned char)*repo;
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/", ch))
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, len - n, "%%%02X", ch);
	}
	out[n] = '\0';
}

/* A job's result: start it with METHOD path, follow it, then show what it
 * made with GET show_path (NULL: nothing). */
static int run_job(const struct ctl_conn *conn, const char *method, const char *path,
		   json_t *body, const char *show_path, const char *const *cols)
{
	json_t *reply;
	int st = ctl_call(conn, method, path, body, &reply, NULL);

	json_decref(body);
	if (st)
		return st;
	st = wait_job(conn, json_string_value(json_object_get(reply, "job")) ?: "");
	json_decref(reply);
	if (st || !show_path)
		return st;
	return show(conn, "GET", show_path, NULL, cols);
}

static int backup_cmd(const struct ctl_conn *conn, const char *res, const char *verb, int argc,
		      char **argv)
{
	char query[8192], path[8400];
	json_t *body;
	int st = verb_body(conn, argc, argv, &body);

	if (st)
		return st;
	repo_query(body, query, sizeof(query));
	if (!strcmp(verb, "list") || !strcmp(verb, "show")) {
		json_decref(body);
		NEED(!strcmp(verb, "show"));
		snprintf(path, sizeof(path), "/v1/backups%s%s%s", optind < argc ? "/" : "",
			 optind < argc ? argv[optind] : "", query);
		return show(conn, "GET", path, NULL, backup_cols);
	}
	if (!strcmp(verb, "create")) {
		json_t *reply;
		if (argc - optind != 0) {
			json_decref(body);
			NEED(0);
		}
		st = ctl_call(conn, "POST", "/v1/backups", body, &reply, NULL);
		json_decref(body);
		if (st)
			return st;
		snprintf(path, sizeof(path), "/v1/backups/%s%s",
			 json_string_value(json_object_get(reply, "backup")) ?: "", query);
		st = wait_job(conn, json_string_value(json_object_get(reply, "job")) ?: "");
		json_decref(reply);
		return st ? st : show(conn, "GET", path, NULL, backup_cols);
	}
	if (!strcmp(verb, "restore")) {
		if (argc - optind != 1) {
			json_decref(body);
			NEED(1);
		}
		snprintf(path, sizeof(path), "/v1/backups/%s/restore", argv[optind]);
		return run_job(conn, "POST", path, body, "/v1/vms", vm_cols);
	}
	if (!strcmp(verb, "delete")) {
		json_decref(body);
		NEED(1);
		snprintf(path, sizeof(path), "/v1/backups/%s%s", argv[optind], query);
		return run_job(conn, "DELETE", path, NULL, NULL, NULL);
	}
	json_decref(body);
	log_err("ctl", "backup %s: unknown verb (see condo ctl --help)", verb);
	return CLI_EXIT_USAGE;
}

static const char *const snapshot_cols[] = { "id", "name", "vm", "state", "bytes", "created",
					     NULL };

static int snapshot_cmd(const struct ctl_conn *conn, const char *res, const char *verb, int argc,
			char **argv)
{
	char vm[64], id[64], path[200];
	json_t *body, *reply;
	int st = verb_body(conn, argc, argv, &body);

	if (st)
		return st;
	if (!strcmp(verb, "create")) {
		json_decref(body);
		NEED(2);
		if ((st = resolve(conn, "vm", argv[optind], vm, sizeof(vm))))
			return st;
		snprintf(path, sizeof(path), "/v1/vms/%s/snapshots", vm);
		body = json_pack("{s:s}", "name", argv[optind + 1]);
		st = ctl_call(conn, "POST", path, body, &reply, NULL);
		json_decref(body);
		if (st)
			return st;
		snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(reply, "snapshot")) ?: "");
		st = wait_job(conn, json_string_value(json_object_get(reply, "job")) ?: "");
		json_decref(reply);
		snprintf(path, sizeof(path), "/v1/snapshots/%s", id);
		return st ? st : show(conn, "GET", path, NULL, snapshot_cols);
	}
	if (!strcmp(verb, "list") && json_object_get(body, "vm")) {
		st = resolve(conn, "vm", json_string_value(json_object_get(body, "vm")), vm, sizeof(vm));
		json_decref(body);
		NEED(0);
		if (st)
			return st;
		snprintf(path, sizeof(path), "/v1/vms/%s/snapshots", vm);
		return show(conn, "GET", path, NULL, snapshot_cols);
	}
	json_decref(body);
	if (!strcmp(verb, "restore")) {
		NEED(1);
		if ((st = resolve(conn, "snapshot", argv[optind], id, sizeof(id))))
			return st;
		snprintf(path, sizeof(path), "/v1/snapshots/%s/restore", id);
		return show(conn, "POST", path, NULL, snapshot_cols);
	}
	if ((st = common_verb(conn, "snapshot", verb, argc, argv, snapshot_cols)) >= 0)
		return st;
	log_err("ctl", "snapshot %s: unknown verb (see condo ctl --help)", verb);
	return CLI_EXIT_USAGE;
}

static int raw_cmd(const struct ctl_conn *conn, int argc, char **argv)
{
	json_t *body = NULL, *reply;
	json_error_t err;
	char *text;
	int st;

	if (argc < 3 || argc > 4) {
		log_err("ctl", "raw: METHOD PATH [JSON]");
		return CLI_EXIT_USAGE;
	}
	if (argc == 4 && !(body = json_loads(argv[3], JSON_DECODE_ANY, &err))) {
		log_err("ctl", "raw: the body is not JSON: %s", err.text);
		return CLI_EXIT_USAGE;
	}
	st = ctl_call(conn, argv[1], argv[2], body, &reply, &text);
	json_decref(body);
	json_decref(reply);
	if (!st && text)
		fputs(text, stdout);
	free(text);
	return st;
}

static const char *default_socket(char *buf, size_t len)
{
	const char *env = getenv("CONDOD_SOCKET"), *data = getenv("CONDOD_DATA");
	const char *home = getenv("HOME");

	if (env && env[0])
		return env;
	if (data && data[0])
		snprintf(buf, len, "%s/condod.sock", data);
	else if (geteuid() == 0 || !home)
		snprintf(buf, len, "/var/lib/condod/condod.sock");
	else
		snprintf(buf, len, "%s/.local/state/condod/condod.sock", home);
	return buf;
}

int cmd_ctl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 't' },  { "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	struct ctl_conn conn = { .token = getenv("CONDO_TOKEN") };
	char sock[4200];
	const char *res, *verb;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's': conn.socket = optarg; break;
		case 'u': conn.url = optarg; break;
		case 't': conn.token = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				log_err("ctl", "--output takes table or json, not '%s'", optarg);
				return CLI_EXIT_USAGE;
			}
			conn.json = !strcmp(optarg, "json");
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: cli_bad_option("ctl", argv[optind - 1]); return CLI_EXIT_USAGE;
		}
	}
	if (!conn.socket)
		conn.socket = default_socket(sock, sizeof(sock));
	if (argc - optind < 1) {
		fputs(usage, stderr);
		return CLI_EXIT_USAGE;
	}
	res = argv[optind];
	if (!strcmp(res, "raw"))
		return raw_cmd(&conn, argc - optind, argv + optind);
	if (!strcmp(res, "restore")) /* condo ctl restore B: backup restore B */
		return backup_cmd(&conn, "restore", "restore", argc - optind, argv + optind);
	if (argc - optind < 2) {
		log_err("ctl", "%s: a verb is needed (see condo ctl --help)", res);
		return CLI_EXIT_USAGE;
	}
	verb = argv[optind + 1];
	argc -= optind + 1;
	argv += optind + 1;
	if (!strcmp(res, "tenant"))
		return tenant_cmd(&conn, res, verb, argc, argv);
	if (!strcmp(res, "token"))
		return token_cmd(&conn, res, verb, argc, argv);
	if (!strcmp(res, "image"))
		return image_cmd(&conn, res, verb, argc, argv);
	if (!strcmp(res, "vm"))
		return vm_cmd(&conn, res, verb, argc, argv);
	if (!strcmp(res, "backup"))
		return backup_cmd(&conn, res, verb, argc, argv);
	if (!strcmp(res, "network"))
		return network_cmd(&conn, res, verb, argc, argv);
	if (!strcmp(res, "snapshot"))
		return snapshot_cmd(&conn, res, verb, argc, argv);
	log_err("ctl", "unknown resource '%s' (tenant, token, image, vm, snapshot, network, backup, "
		"restore or raw)", res);
	return CLI_EXIT_USAGE;
}
