/* condo app: run a RISC-V Linux program.  Options come before PROGRAM;
 * everything after it belongs to the program.  Errors in the command line
 * are one line naming the option, exit status 2. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "condo/app.h"
#include "condo/engine.h"

extern char **environ;

static void app_usage(FILE *out)
{
	fprintf(out,
		"Usage: condo app [OPTIONS] PROGRAM [ARGS...]\n"
		"\n"
		"Run a RISC-V (RV64GC) Linux program: static, static-PIE or dynamically\n"
		"linked.  PROGRAM is found on the host; everything it opens afterwards\n"
		"(its dynamic linker, libraries, files, programs it executes) is looked\n"
		"up inside the root directory, which it cannot leave.  The exit status\n"
		"is the program's.\n"
		"\n"
		"Options:\n"
		"  --root DIR         the directory the program sees as / (default: .)\n"
		"  --mem SIZE         cap guest memory (mappings + heap); suffixes K, M, G\n"
		"  --max-insns N      stop after N instructions (per thread)\n"
		"  --trace-syscalls   print every system call on stderr\n"
		"  --engine E         jit (default: translate hot code to x86-64), interp\n"
		"                     (interpret only) or lockstep (run both and stop at\n"
		"                     the first difference, exit status 3)\n"
		"  --jit-cache SIZE   bound on each thread's translated-code cache (default\n"
		"                     32M, 256K to 1G); a full cache is flushed and refilled\n"
		"  --jit-threshold N  interpreted runs before a block is compiled (default\n"
		"                     256; 1 compiles all code the first time it runs)\n"
		"  --jit-stats        at exit, print what the translator compiled, the time\n"
		"                     it took and the host memory its cache holds\n"
		"  --no-jail          run outside the jail, for debugging only (the jail, on\n"
		"                     by default: namespaces, no capabilities, a seccomp\n"
		"                     filter, resource limits; see docs/security.md)\n"
		"  --jail-user USER|UID[:GID]\n"
		"                     started as root, become this user (default: stay the\n"
		"                     caller's uid, with no capabilities)\n"
		"  -h, --help         show this help and exit\n"
		"\n"
		"Exit status: the program's; 126 if PROGRAM cannot be executed, 127 if\n"
		"it (or its interpreter) is not found, 128+N if a fault killed it with\n"
		"signal N, 137 when --mem or --max-insns is reached, 159 when the jail\n"
		"stopped a forbidden host call, 2 for a bad command line.  See\n"
		"docs/app-mode.md and docs/security.md.\n");
}

static int bad_option(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "condo: app: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, " (see condo app --help)\n");
	return 2;
}

/* "64M" -> 67108864; false on anything else (including 0 and overflow). */
/* Sizes and counts as the other subcommands take them (cli/options.c); zero is refused. */
static bool parse_size(const char *s, uint64_t *out)
{
	return cli_parse_size(s, out) == 0 && *out;
}

static bool parse_count(const char *s, uint64_t *out)
{
	return cli_parse_u64(s, out) == 0 && *out;
}

static const char *option_value(const char *opt, int argc, char **argv, int *i, bool *missing)
{
	size_t len = strlen(opt);
	*missing = false;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static bool is_option(const char *arg, const char *opt)
{
	size_t len = strlen(opt);
	return !strncmp(arg, opt, len) && (arg[len] == 0 || arg[len] == '=');
}

int cmd_app(int argc, char **argv)
{
	struct app_config cfg = { .engine = ENGINE_DEFAULT };
	bool exec_mode = false;
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val;
		bool missing;

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (arg[0] != '-' || !arg[1])
			break;
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			app_usage(stdout);
			return 0;
		}
		if (!strcmp(arg, "--trace-syscalls")) {
			cfg.trace_syscalls = true;
			continue;
		}
		if (!strcmp(arg, "--jit-stats")) {
			cfg.jit_stats = true;
			continue;
		}
		if (!strcmp(arg, "--no-jail")) {
			cfg.jail.disabled = true;
			continue;
		}
		if (!strcmp(arg, "--x-child")) { /* internal: set by a guest execve */
			cfg.forked_child = true;
			continue;
		}
		static const char *const valued[] = { "--root",	      "--mem",	    "--max-insns", "--engine",
						      "--jit-cache",  "--jit-threshold", "--x-exec",     "--x-exec-host", "--x-execfn",
						      "--x-state", "--jail-user" };
		const char *opt = NULL;
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			if (is_option(arg, valued[k]))
				opt = valued[k];
		if (!opt)
			return bad_option("unknown option '%s'%s", arg, "");
		val = option_value(opt, argc, argv, &i, &missing);
		if (missing)
			return bad_option("option %s needs a value%s", opt, "");
		if (!strcmp(opt, "--root")) {
			if (!*val)
				return bad_option("option %s needs a directory%s", opt, "");
			cfg.root = val;
		} else if (!strcmp(opt, "--mem")) {
			if (!parse_size(val, &cfg.mem_limit))
				return bad_option("--mem: invalid size '%s'%s", val,
						  "; use a number with K, M or G, e.g. 64M");
			if (cfg.mem_limit < (1u << 20))
				return bad_option("--mem: size '%s' is too small%s", val,
						  "; at least 1M");
		} else if (!strcmp(opt, "--max-insns")) {
			if (!parse_count(val, &cfg.max_insns))
				return bad_option("--max-insns: invalid count '%s'%s", val,
						  "; use a positive integer");
		} else if (!strcmp(opt, "--engine")) {
			cfg.engine = cli_parse_engine(val);
			if (cfg.engine < 0)
				return bad_option("--engine: unknown engine '%s'%s", val,
						  "; use interp, jit or lockstep");
		} else if (!strcmp(opt, "--jit-threshold")) {
			if (cli_parse_jit_hot(val, &cfg.jit_hot) < 0)
				return bad_option("--jit-threshold: invalid count '%s'%s", val,
						  "; use 1 to 1000000");
		} else if (!strcmp(opt, "--jit-cache")) {
			if (cli_parse_jit_cache(val, &cfg.jit_cache) < 0)
				return bad_option("--jit-cache: invalid size '%s'%s", val,
						  "; use 256K to 1G, e.g. 64M");
		} else if (!strcmp(opt, "--x-state")) {
			/* internal: a guest execve's environment and descriptors */
			uint64_t fd;
			if (cli_parse_u64(val, &fd) < 0 || fd < 3 || fd > INT32_MAX)
				return bad_option("--x-state: invalid descriptor '%s'%s", val, "");
			cfg.state_fd = (int)fd;
		} else if (!strcmp(opt, "--jail-user")) {
			if (cli_parse_jail_user("app", val) < 0)
				return 2;
			cfg.jail.user = val;
		} else if (!strcmp(opt, "--x-exec") || !strcmp(opt, "--x-exec-host")) {
			/* internal: set by a guest execve (condo re-executes itself) */
			cfg.program = val;
			cfg.program_in_root = !strcmp(opt, "--x-exec");
			exec_mode = true;
		} else {
			cfg.execfn = val;
		}
	}

	if (cfg.jail.disabled && cfg.jail.user)
		return bad_option("--no-jail: --jail-user needs the jail%s%s", "", "");
	if (exec_mode) {
		/* After a guest execve: the rest is the guest's whole argv. */
		cfg.argc = argc - i;
		cfg.argv = argv + i;
	} else {
		if (i >= argc) {
			fprintf(stderr, "condo: app: missing PROGRAM (see condo app --help)\n");
			return 2;
		}
		cfg.program = argv[i];
		cfg.argc = argc - i;
		cfg.argv = argv + i;
	}
	if (exec_mode != (cfg.state_fd != 0))
		return bad_option("%s%s", "--x-exec and --x-state go together (internal options)", "");
	/* After a guest execve the environment comes with the state;
	 * otherwise the guest gets condo's, as with qemu-riscv64. */
	cfg.envp = exec_mode ? NULL : environ;
	return app_run(&cfg);
}
