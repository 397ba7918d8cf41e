/* Inside src/net: the back-end interface a NIC drives, the token bucket,
 * and the switch's wire conventions shared by the switch and its clients. */
#ifndef NET_INTERNAL_H
#define NET_INTERNAL_H

#include "condo/net.h"

#include <poll.h>
#include <stdint.h>

#define NET_BACKEND_MAX_FDS 64

/* A back end, driven by its NIC's thread.  fill() says which fds to watch
 * (want_rx false: the NIC's queue is full, do not read frames) and may
 * lower *timeout_ms; dispatch() handles what poll found and hands frames
 * for the guest to net_nic_input().  send() takes a frame from the guest;
 * 0, or -errno when it was dropped. */
struct net_backend_ops {
	const char *name;
	int (*fill)(void *be, struct pollfd *pfd, int max, bool want_rx, int *timeout_ms);
	void (*dispatch)(void *be, struct pollfd *pfd, int n);
	int (*send)(void *be, const void *frame, size_t len);
	void (*free)(void *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	void *be;
};

/* The constructors, called before the jail (NULL after a one-line error). */
int net_user_open(struct net_nic *nic, const struct net_config *cfg, struct net_backend *out);
int net_switch_open(struct net_nic *nic, const struct net_config *cfg, struct net_backend *out);
int net_tap_open(struct net_nic *nic, const struct net_config *cfg, struct net_backend *out);
/* A connected SOCK_SEQPACKET fd, one frame per message (switch ports and
 * the tests' socketpairs); takes the fd. */
int net_seqpacket_open(struct net_nic *nic, int fd, const char *what, struct net_backend *out);

/* A frame from the back end for the guest (copied; dropped and counted
 * when malformed or when the queue is full). */
void net_nic_input(struct net_nic *nic, const void *frame, size_t len);

/* Token bucket (bytes or packets): tokens accrue at rate per second up
 * to burst; a frame may take the bucket into debt, and nothing more goes
 * until the debt is paid, so the long-run rate holds without knowing a
 * frame's size before it is taken. */
struct tbucket {
	uint64_t rate, burst; /* rate 0: no limit */
	int64_t tokens;
	uint64_t last_ns;
};

void tbucket_init(struct tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns);
/* Whether the bucket has no debt at now_ns; else *wait_ns till it will. */
bool tbucket_ready(struct tbucket *b, uint64_t now_ns, uint64_t *wait_ns);
void tbucket_take(struct tbucket *b, uint64_t n);

uint64_t net_now_ns(void);

/* DIR/NAME.sock, DIR/NAME.lock; 0 or -ENAMETOOLONG. */
int net_switch_path(const char *dir, const char *name, const char *suffix, char *buf, size_t len);

#endif
