/* A client of a VM's control socket (condo run --control; docs/control.md). */
#ifndef CONDO_CONTROL_CLIENT_H
#define CONDO_CONTROL_CLIENT_H

#include <jansson.h>

/* Connect to the socket at path: the descriptor, or -1 after a one-line error. */
int control_connect(const char *cmd, const char *path);
/* Send req (with fds, as SCM_RIGHTS) and read the reply line.  The reply,
 * or NULL after a one-line error.  A reply with "ok": false is returned
 * as it is; control_check reports it. */
json_t *control_call(const char *cmd, int sock, json_t *req, const int *fds, int nfds);
/* 0 when reply says ok, else -1 after printing its error. */
int control_check(const char *cmd, json_t *reply);

#endif
