/* condo switch NAME: run a virtual L2 switch in the foreground (the one
 * `condo run --net switch=NAME` joins; docs/net.md). */
#include "condo/log.h"
#include "condo/net.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char switch_usage[] =
    "Usage: condo switch [--idle-exit] NAME\n"
    "Run the virtual L2 switch of network NAME in the foreground until it is\n"
    "stopped (SIGINT or SIGTERM).  VMs join it with `condo run --net switch=NAME`;\n"
    "without a running switch, the first such VM starts one that ends when its\n"
    "last VM leaves.  Its socket is DIR/NAME.sock, DIR being $CONDO_NET_DIR, else\n"
    "$XDG_RUNTIME_DIR/condo-net, else /run/condo/net (root) or /tmp/condo-net-UID.\n"
    "\n"
    "Options:\n"
    "  --idle-exit   end when the last VM leaves\n"
    "  -h, --help    show this help\n";

int cmd_switch(int argc, char **argv)
{
	static const struct option options[] = {
	    {"idle-exit", no_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	bool idle_exit = false;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			idle_exit = true;
			break;
		case 'h':
			fputs(switch_usage, stdout);
			return 0;
		default:
			cli_bad_option("switch", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		log_err("switch", "expected one network NAME (see condo switch --help)");
		return CLI_EXIT_USAGE;
	}
	if (!net_switch_name_ok(argv[optind])) {
		log_err("switch",
			"bad network name '%s' (1 to 32 of A-Z a-z 0-9 _ . -, not "
			"starting with a dot)",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	return net_switch_main(argv[optind], idle_exit);
}
