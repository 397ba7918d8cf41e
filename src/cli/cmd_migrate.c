/* condo migrate: move a running VM to a condo run --incoming (docs/migration.md). */
#include "cli/cli.h"
#include "condo/control_client.h"
#include "condo/log.h"
#include "condo/machine.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char migrate_usage[] =
	"Usage: condo migrate --control SOCKET --to tcp:HOST:PORT|unix:PATH [--shared-disks]\n"
	"Move the running VM behind SOCKET (`condo run --control SOCKET`) to the condo\n"
	"waiting at the address (`condo run --incoming ADDRESS`), while its guest runs:\n"
	"memory goes over in rounds, then the guest pauses for the last pages, its\n"
	"state and its disks' data, and resumes there.  If anything fails, the VM\n"
	"runs on here.\n"
	"\n"
	"Options:\n"
	"  --control SOCKET  the VM's control socket\n"
	"  --to ADDRESS      where the destination waits\n"
	"  --shared-disks    both ends see the same disk files: the destination opens\n"
	"                    them, no disk data is sent (default: each writable disk's\n"
	"                    top image is sent; backing images must exist at the\n"
	"                    same paths there)\n"
	"  -h, --help        show this help\n"
	"Exit status: 0 moved (the source VM has ended), 1 failed (it runs on), 2 usage.\n";

int cmd_migrate(int argc, char **argv)
{
	enum { OPT_CONTROL = 256, OPT_TO, OPT_SHARED };
	static const struct option options[] = {
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "to", required_argument, NULL, OPT_TO },
		{ "shared-disks", no_argument, NULL, OPT_SHARED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock_path = NULL, *to = NULL;
	bool shared = false;
	json_t *req, *reply;
	int opt, sock, peer, r;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONTROL: sock_path = optarg; break;
		case OPT_TO: to = optarg; break;
		case OPT_SHARED: shared = true; break;
		case 'h': fputs(migrate_usage, stdout); return 0;
		default: cli_bad_option("migrate", argv[optind - 1]); return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc || !sock_path || !to) {
		log_err("migrate", optind < argc ? "unexpected argument (see condo migrate --help)"
						 : "--control SOCKET and --to ADDRESS are needed");
		return CLI_EXIT_USAGE;
	}
	/* the destination first, as it is the likelier to be mistyped */
	peer = migrate_connect(to);
	if (peer < 0)
		return 1;
	sock = control_connect("migrate", sock_path);
	if (sock < 0) {
		close(peer);
		return 1;
	}
	req = json_pack("{s:s,s:b}", "cmd", "migrate", "shared_disks", shared);
	reply = control_call("migrate", sock, req, &peer, 1);
	close(peer);
	r = control_check("migrate", reply);
	if (!r)
		printf("migrated in %.1f ms: %lld rounds, %lld pages, the guest paused %.1f ms\n",
		       json_real_value(json_object_get(reply, "total_ms")),
		       (long long)json_integer_value(json_object_get(reply, "rounds")),
		       (long long)json_integer_value(json_object_get(reply, "pages")),
		       json_real_value(json_object_get(reply, "downtime_ms")));
	json_decref(req);
	json_decref(reply);
	close(sock);
	return r ? 1 : 0;
}
