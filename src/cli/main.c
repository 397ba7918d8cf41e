/* condo: the command-line front end.  main() dispatches to one subcommand
 * per file (cmd_<name>.c); adding a command is one line in the table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef CONDO_VERSION
#define CONDO_VERSION "0.1.0"
#endif

int cmd_app(int argc, char **argv);
int cmd_img(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_switch(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_control(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
} commands[] = {
	{ "app", cmd_app, "run a RISC-V Linux program in a sandbox (app mode)" },
	{ "control", cmd_control, "status, pause, resume or quit a VM through its control socket" },
	{ "img", cmd_img, "create, inspect, check, convert and change disk images" },
	{ "ctl", cmd_ctl, "talk to condod: tenants, tokens, images and VMs" },
	{ "migrate", cmd_migrate, "move a running VM to another condo (condo run --incoming)" },
	{ "run", cmd_run, "boot a RISC-V virtual machine" },
	{ "snapshot", cmd_snapshot, "save a running VM to a directory, to restore or fork it" },
	{ "switch", cmd_switch, "run the virtual network switch NAME (condo run --net switch=NAME)" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: condo COMMAND [ARGS...]\n"
		     "       condo --help | --version\n"
		     "\n"
		     "condo runs RISC-V (RV64GC) software on this machine.\n"
		     "\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n"
		     "Options:\n"
		     "  -h, --help     show this help and exit\n"
		     "  -V, --version  show the version and exit\n"
		     "\n"
		     "Run 'condo COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("condo %s\n", CONDO_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	if (cmd[0] == '-')
		fprintf(stderr, "condo: unknown option '%s' (see condo --help)\n", cmd);
	else
		fprintf(stderr, "condo: unknown command '%s' (see condo --help)\n", cmd);
	return 2;
}
