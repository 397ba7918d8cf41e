/* Logging: one line per message on stderr, prefixed with "condo" and, for
 * debug output, the component tag. */
#include "condo/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int threshold(void)
{
	static int level = -1; /* read once; a benign race writes the same value */
	if (level < 0) {
		const char *env = getenv("CONDO_LOG");
		level = LOG_WARN;
		if (env && !strcmp(env, "debug"))
			level = LOG_DEBUG;
		else if (env && !strcmp(env, "info"))
			level = LOG_INFO;
		else if (env && !strcmp(env, "error"))
			level = LOG_ERR;
	}
	return level;
}

int log_enabled(enum log_level level)
{
	return (int)level <= threshold();
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
	static const char *const prefix[] = { "", "warning: ", "", "" };
	char line[1024];
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	if (level == LOG_DEBUG)
		n = snprintf(line, sizeof(line), "condo[%s]: ", tag);
	else
		n = snprintf(line, sizeof(line), "condo: %s", prefix[level]);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}
