/* App mode: run one RISC-V Linux program (static, static-PIE or dynamically
 * linked) as a host process, its system calls served by condo and its file
 * system view confined to a root directory.  See docs/app-mode.md. */
#ifndef CONDO_APP_H
#define CONDO_APP_H

#include "condo/jail.h"
#include "condo/types.h"

/* Exit statuses of condo app besides the program's own (like a shell's). */
enum {
	APP_EXIT_CANNOT_EXEC = 126, /* the program is not a runnable RISC-V ELF */
	APP_EXIT_NOT_FOUND = 127,   /* the program or its interpreter does not exist */
	APP_EXIT_LIMIT = 137,       /* --mem or --max-insns reached */
};

struct app_config {
	const char *root;     /* host directory the guest sees as "/"; NULL: the cwd */
	uint64_t mem_limit;   /* cap on guest mappings + brk in bytes; 0: none */
	uint64_t max_insns;   /* cap on retired instructions per thread; 0: none */
	bool trace_syscalls;  /* strace-like trace of every system call on stderr */
	int engine;           /* enum engine_kind (condo/engine.h) */
	uint64_t jit_cache;   /* code cache bound per thread in bytes; 0: the default */
	uint64_t jit_hot;     /* interpreted runs before a block is compiled; 0: the default */
	bool jit_stats;       /* report the translator's counters at exit */
	struct jail_config jail; /* --no-jail, --jail-user; limits 0: defaults */

	const char *program;  /* host path, or a guest path when program_in_root */
	bool program_in_root; /* set by a guest execve (condo re-executes itself) */
	bool forked_child;    /* this process is a child of a guest process */
	int state_fd;         /* a guest execve's state (exec_state.c); 0: none */
	const char *execfn;   /* AT_EXECFN; NULL: program */
	int argc;             /* the guest's argv, argv[0] included */
	char *const *argv;
	char *const *envp;    /* the guest's environment (from state_fd when set) */
};

/* Run the program described by cfg to its end.  Returns the exit status for
 * condo itself: the program's, or 126/127/137 (above), or 128+signal when
 * the guest was killed by a fault.  Errors are reported on stderr as one
 * line "condo: PROGRAM: what is wrong". */
int app_run(const struct app_config *cfg);

#endif
