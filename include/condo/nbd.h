/* condo as an NBD server (`condo img serve`, docs/img.md): one block
 * device exported over one connection with the NBD protocol's fixed
 * newstyle handshake and simple replies (NetworkBlockDevice's proto.md).
 * The caller owns the socket; this speaks the protocol on it. */
#ifndef CONDO_NBD_H
#define CONDO_NBD_H

#include "condo/block.h"

#include <signal.h>

/* The largest READ or WRITE payload accepted (proto.md, "Block size
 * constraints": 32 MiB is what every client may send). */
#define NBD_SERVER_MAX_PAYLOAD (32u << 20)

struct nbd_export {
	struct block_dev *dev;
	const char *name;   /* the export's name; clients must ask for it */
	bool readonly;      /* advertise NBD_FLAG_READ_ONLY and refuse writes */
	/* Set from a signal handler: stop between messages (may be NULL). */
	volatile sig_atomic_t *stop;
};

/* Serve one client on the connected socket fd (in_fd == out_fd for a
 * socket; two descriptors for tests) until it leaves: 0 after NBD_CMD_DISC
 * or NBD_OPT_ABORT, -EPROTO when the client broke the protocol (the
 * connection is then to be closed), -ECONNRESET when it went away
 * mid-message, -EINTR when stop was set.  Never trusts a length or offset
 * from the client. */
int nbd_serve(const struct nbd_export *exp, int in_fd, int out_fd);

#endif
