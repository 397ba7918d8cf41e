/* condo control SOCKET COMMAND: one request to a VM's control socket. */
#include "cli/cli.h"
#include "condo/control_client.h"
#include "condo/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char control_usage[] =
	"Usage: condo control SOCKET status|pause|resume|quit\n"
	"Send one command to a VM started with `condo run --control SOCKET`\n"
	"and print its JSON reply (docs/control.md).\n"
	"  status   running or paused, memory, harts and their instructions\n"
	"  pause    stop every hart at an instruction boundary (stays paused)\n"
	"  resume   run again\n"
	"  quit     end the VM (condo run exits with status 0)\n"
	"Exit status: 0 done, 1 the VM refused or could not be reached, 2 usage.\n";

int cmd_control(int argc, char **argv)
{
	static const char *const cmds[] = { "status", "pause", "resume", "quit" };
	json_t *req, *reply;
	int sock, r;
	bool known = false;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(control_usage, stdout);
		return 0;
	}
	if (argc != 3) {
		log_err("control", "expected SOCKET and a command (see condo control --help)");
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		known |= !strcmp(argv[2], cmds[i]);
	if (!known) {
		log_err("control", "unknown command '%s' (status, pause, resume or quit)", argv[2]);
		return CLI_EXIT_USAGE;
	}
	sock = control_connect("control", argv[1]);
	if (sock < 0)
		return 1;
	req = json_pack("{s:s}", "cmd", argv[2]);
	reply = control_call("control", sock, req, NULL, 0);
	r = control_check("control", reply);
	if (!r) {
		char *text = json_dumps(reply, JSON_COMPACT);
		puts(text ? text : "{}");
		free(text);
	}
	json_decref(req);
	json_decref(reply);
	close(sock);
	return r ? 1 : 0;
}
