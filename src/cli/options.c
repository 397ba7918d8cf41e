/* Option-value parsing shared by the subcommands. */
#include "cli/cli.h"
#include "condo/engine.h"
#include "condo/jail.h"
#include "condo/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end && end[1] && strcasecmp(end + 1, "iB") && strcasecmp(end + 1, "B"))
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_engine(const char *s)
{
	return engine_parse(s);
}

int cli_parse_jit_hot(const char *s, uint64_t *out)
{
	if (cli_parse_u64(s, out) < 0 || *out < 1 || *out > JIT_HOT_MAX)
		return -1;
	return 0;
}

int cli_parse_jit_cache(const char *s, uint64_t *out)
{
	if (cli_parse_size(s, out) < 0 || *out < JIT_CACHE_MIN || *out > JIT_CACHE_MAX)
		return -1;
	return 0;
}

void cli_bad_option(const char *cmd, const char *arg)
{
	log_err(cmd, "%s: unknown option or missing value (see condo %s --help)", arg, cmd);
}

int cli_parse_jail_user(const char *cmd, const char *s)
{
	uid_t uid;
	gid_t gid;

	if (jail_parse_user(s, &uid, &gid) < 0) {
		log_err(cmd, "--jail-user %s: no such user (expected USER or UID[:GID])", s);
		return -1;
	}
	return 0;
}
