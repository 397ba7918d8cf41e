/* Inside condo ctl, the client of condod: the connection, one call, and
 * how replies are shown. */
#ifndef CONDO_CLI_CTL_H
#define CONDO_CLI_CTL_H

#include <jansson.h>
#include <stdbool.h>

/* Exit status: 0 done; 1 condod refused or failed the request; 2 a bad
 * command line; 3 no such resource (HTTP 404); 4 condod cannot be reached. */
enum { CTL_EXIT_API = 1, CTL_EXIT_NOT_FOUND = 3, CTL_EXIT_CONNECT = 4 };

struct ctl_conn {
	const char *socket; /* condod's Unix socket */
	const char *url;    /* or http://ADDR:PORT */
	const char *token;
	bool json;          /* --output json */
};

/* METHOD path with body (NULL: none).  0 with the JSON reply in *reply (or
 * the raw text in *text, when text is not NULL), or an exit status after
 * a one-line error. */
int ctl_call(const struct ctl_conn *conn, const char *method, const char *path, json_t *body,
	     json_t **reply, char **text);

/* GET path as a stream, written to stdout as it comes, until it ends.  0 or
 * an exit status after a one-line error. */
int ctl_stream(const struct ctl_conn *conn, const char *path);

#endif
