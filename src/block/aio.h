/* Inside the block component: the state of an asynchronous engine
 * (condo/block_aio.h), shared by the thread pool (aio.c) and the io_uring
 * engine (aio_uring.c). */
#ifndef CONDO_BLOCK_AIO_INTERNAL_H
#define CONDO_BLOCK_AIO_INTERNAL_H

#include "condo/block_aio.h"

#include <pthread.h>

/* Workers of the pool for an image whose operations are thread-safe. */
#define AIO_POOL_WORKERS 4

struct aio_uring;

struct block_aio {
	struct block_dev *bd;
	struct aio_uring *uring; /* NULL: the thread pool */

	pthread_mutex_t lock; /* the queue and stop */
	pthread_cond_t cond;  /* pool workers wait here for work */
	struct block_req *head, *tail;
	bool stop;

	int nthreads, nrunning;
	pthread_t threads[AIO_POOL_WORKERS];
	int (*on_start)(void *ctx);
	void *start_ctx;
};

/* The start of every engine thread: the caller's hook.  false when it
 * failed: the thread then fails its requests rather than serve them
 * without its jail. */
bool aio_thread_start(struct block_aio *aio);
/* Run req on this thread, or fail it when the thread could not start
 * properly, and report it. */
void aio_run_here(struct block_aio *aio, struct block_req *req, bool healthy);

/* The queue, taken whole (NULL when empty); sets *stop when the engine is
 * being stopped. */
struct block_req *aio_take_all(struct block_aio *aio, bool *stop);
/* Nothing queued. */
bool aio_idle(struct block_aio *aio);
/* Report a finished request. */
void aio_complete(struct block_req *req, int result);

/* aio_uring.c: 0, or -errno when the kernel gives no ring (the caller then
 * uses the pool). */
int aio_uring_new(struct block_aio *aio);
void aio_uring_free(struct aio_uring *u);
void *aio_uring_main(void *arg);
/* Wake the ring's thread: new requests or stop. */
void aio_uring_kick(struct aio_uring *u);

#endif
