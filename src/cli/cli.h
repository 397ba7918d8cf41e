/* Shared helpers of the condo subcommands. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdint.h>

/* Exit status for a bad command line, as getopt-style tools use. */
#define CLI_EXIT_USAGE 2

/* "64M", "1G", "4096", "512K": bytes.  -1 on a malformed or overflowing value. */
int cli_parse_size(const char *s, uint64_t *out);
/* A decimal (or 0x hex) number.  -1 when malformed. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Report an unknown option or a missing argument as one line. */
void cli_bad_option(const char *cmd, const char *arg);

/* --engine NAME: enum engine_kind, or -1 for an unknown name. */
int cli_parse_engine(const char *s);
/* --jit-cache: a size from JIT_CACHE_MIN to JIT_CACHE_MAX; -1 otherwise. */
int cli_parse_jit_cache(const char *s, uint64_t *out);
/* --jit-threshold: 1 to JIT_HOT_MAX; -1 otherwise. */
int cli_parse_jit_hot(const char *s, uint64_t *out);

/* --jail-user: a user name or UID[:GID]; -1 after a one-line error. */
int cli_parse_jail_user(const char *cmd, const char *s);

struct vm_drive;
/* A cache=, discard= or aio= part of --drive SPEC: 1 when item was one
 * (and is now in d), 0 when it is none of them, -1 after a one-line error. */
int cli_drive_part(const char *spec, const char *item, struct vm_drive *d);

int cmd_run(int argc, char **argv);
/* condo img serve (cmd_img_serve.c). */
int cmd_img_serve(int argc, char **argv);

#endif
