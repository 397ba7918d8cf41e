/* One event loop per VM, on its own thread: console input, timers and
 * device back ends wait here, never on a vCPU thread. */
#ifndef CONDO_EVLOOP_H
#define CONDO_EVLOOP_H

#include "condo/types.h"

struct evloop;

typedef void (*evloop_fd_cb)(void *ctx, int fd);

struct evloop *evloop_new(void);
/* Stop the loop thread (if running) and free it. */
void evloop_free(struct evloop *loop);
/* Call cb(ctx, fd) on the loop thread whenever fd is readable. */
int evloop_add_fd(struct evloop *loop, int fd, evloop_fd_cb cb, void *ctx);
int evloop_remove_fd(struct evloop *loop, int fd);
/* Call fn(ctx) first thing on the loop's thread (the jail's filter). */
void evloop_on_start(struct evloop *loop, void (*fn)(void *ctx), void *ctx);
/* Run the loop on a new thread until evloop_free. */
int evloop_start(struct evloop *loop);
/* Instead of evloop_start: call the callbacks of the fds readable within
 * timeout_ms (0: those ready now) once, on the calling thread, so a test
 * or fuzzer drives a device's input without a second thread.  0 or -errno. */
int evloop_poll(struct evloop *loop, int timeout_ms);

#endif
