/* Where the virtual switches' sockets live, and their names (docs/net.md,
 * "Switch lifetime"). */
#define _GNU_SOURCE
#include "net/net_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool net_switch_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 32 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int net_switch_dir(char *buf, size_t len)
{
	const char *env = getenv("CONDO_NET_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/condo-net", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/condo/net");
	else
		n = snprintf(buf, len, "/tmp/condo-net-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (geteuid() == 0 && !env && !(xdg && *xdg))
		mkdir("/run/condo", 0755); /* the parent, when missing */
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	/* A directory someone else made (in /tmp) would let them see and
	 * take our switches. */
	if (stat(buf, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	return 0;
}

int net_switch_path(const char *dir, const char *name, const char *suffix, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
