/* One logging facility for every component.  Errors a user must act on are
 * one line on stderr: "condo: <what went wrong>".  Debug output appears with
 * CONDO_LOG=debug in the environment. */
#ifndef CONDO_LOG_H
#define CONDO_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int log_enabled(enum log_level level);

#define log_err(tag, ...)   log_msg(LOG_ERR, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, tag, __VA_ARGS__); } while (0)

#endif
