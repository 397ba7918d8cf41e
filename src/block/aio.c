/* Block requests off the caller's thread (condo/block_aio.h): the request
 * queue, the engine's life (made before the jail's lockdown, its threads
 * started per boot), and the thread-pool engine; the io_uring engine is
 * aio_uring.c. */
#include "block/aio.h"
#include "condo/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int block_aio_parse(const char *name, enum block_aio_kind *kind)
{
	if (!strcmp(name, "auto"))
		*kind = BLOCK_AIO_AUTO;
	else if (!strcmp(name, "threads"))
		*kind = BLOCK_AIO_THREADS;
	else if (!strcmp(name, "io_uring"))
		*kind = BLOCK_AIO_IO_URING;
	else
		return -EINVAL;
	return 0;
}

static int run_ranges(struct block_dev *bd, const struct block_req *req)
{
	for (int i = 0; i < req->nranges; i++) {
		const struct block_range *r = &req->range[i];
		int err = req->op == BLOCK_REQ_DISCARD ? block_discard(bd, r->offset, r->len)
						       : block_write_zeroes(bd, r->offset, r->len);
		if (err < 0)
			return err;
	}
	return 0;
}

void block_req_run(struct block_dev *bd, struct block_req *req)
{
	switch (req->op) {
	case BLOCK_REQ_READ:
		req->result = block_preadv(bd, req->iov, req->iovcnt, req->offset);
		break;
	case BLOCK_REQ_WRITE:
		req->result = block_pwritev(bd, req->iov, req->iovcnt, req->offset);
		break;
	case BLOCK_REQ_FLUSH:
		req->result = block_flush(bd);
		break;
	case BLOCK_REQ_DISCARD:
	case BLOCK_REQ_WRITE_ZEROES:
		req->result = run_ranges(bd, req);
		break;
	default:
		req->result = -EINVAL;
		break;
	}
}

bool aio_thread_start(struct block_aio *aio)
{
	return !aio->on_start || aio->on_start(aio->start_ctx) >= 0;
}

void aio_run_here(struct block_aio *aio, struct block_req *req, bool healthy)
{
	if (healthy)
		block_req_run(aio->bd, req);
	else
		req->result = -EIO;
	req->done(req);
}

void aio_complete(struct block_req *req, int result)
{
	req->result = result;
	req->done(req);
}

struct block_req *aio_take_all(struct block_aio *aio, bool *stop)
{
	struct block_req *all;

	pthread_mutex_lock(&aio->lock);
	all = aio->head;
	aio->head = aio->tail = NULL;
	*stop = aio->stop;
	pthread_mutex_unlock(&aio->lock);
	return all;
}

bool aio_idle(struct block_aio *aio)
{
	bool idle;

	pthread_mutex_lock(&aio->lock);
	idle = !aio->head;
	pthread_mutex_unlock(&aio->lock);
	return idle;
}

/* ---- the thread pool ---- */

static void *pool_main(void *arg)
{
	struct block_aio *aio = arg;
	bool healthy = aio_thread_start(aio);

	pthread_mutex_lock(&aio->lock);
	for (;;) {
		struct block_req *req = aio->head;

		if (!req) {
			if (aio->stop)
				break;
			pthread_cond_wait(&aio->cond, &aio->lock);
			continue;
		}
		aio->head = req->next;
		if (!aio->head)
			aio->tail = NULL;
		pthread_mutex_unlock(&aio->lock);
		aio_run_here(aio, req, healthy);
		pthread_mutex_lock(&aio->lock);
	}
	pthread_mutex_unlock(&aio->lock);
	return NULL;
}

/* ---- the engine ---- */

struct block_aio *block_aio_new(struct block_dev *bd, enum block_aio_kind kind)
{
	struct block_aio *aio = calloc(1, sizeof(*aio));
	bool ringable = bd->ops->direct_fd && bd->ops->direct_fd(bd, NULL) >= 0;
	int err = -ENOTSUP;

	if (!aio) {
		log_err("block", "out of memory");
		return NULL;
	}
	aio->bd = bd;
	pthread_mutex_init(&aio->lock, NULL);
	pthread_cond_init(&aio->cond, NULL);
	if (kind != BLOCK_AIO_THREADS && ringable)
		err = aio_uring_new(aio);
	if (err < 0 && kind == BLOCK_AIO_IO_URING) {
		if (!ringable)
			log_err("block",
				"aio=io_uring: only raw images are served through io_uring");
		else
			log_err("block", "aio=io_uring: the kernel gives no io_uring: %s",
				strerror(-err));
		block_aio_free(aio);
		return NULL;
	}
	if (err < 0 && ringable && kind == BLOCK_AIO_AUTO)
		log_info("block", "no io_uring (%s): block I/O on a thread pool", strerror(-err));
	/* Only a raw image's operations are thread-safe: any other format
	 * gets one worker, so its requests run one at a time. */
	aio->nthreads = aio->uring ? 1 : ringable ? AIO_POOL_WORKERS : 1;
	return aio;
}

const char *block_aio_name(const struct block_aio *aio)
{
	return aio->uring ? "io_uring" : "threads";
}

int block_aio_start(struct block_aio *aio, int (*on_start)(void *ctx), void *ctx)
{
	void *(*main_fn)(void *) = aio->uring ? aio_uring_main : pool_main;

	aio->on_start = on_start;
	aio->start_ctx = ctx;
	aio->stop = false;
	for (aio->nrunning = 0; aio->nrunning < aio->nthreads; aio->nrunning++) {
		int err = pthread_create(&aio->threads[aio->nrunning], NULL, main_fn, aio);
		if (err) {
			log_err("block", "cannot start a block I/O thread: %s", strerror(err));
			block_aio_stop(aio);
			return -err;
		}
	}
	return 0;
}

void block_aio_submit(struct block_aio *aio, struct block_req *req)
{
	bool was_empty;

	req->next = NULL;
	pthread_mutex_lock(&aio->lock);
	was_empty = !aio->head;
	if (aio->tail)
		aio->tail->next = req;
	else
		aio->head = req;
	aio->tail = req;
	if (!aio->uring)
		pthread_cond_signal(&aio->cond);
	pthread_mutex_unlock(&aio->lock);
	/* The ring's thread takes the whole queue when woken: one kick for
	 * requests queued together. */
	if (aio->uring && was_empty)
		aio_uring_kick(aio->uring);
}

void block_aio_stop(struct block_aio *aio)
{
	if (!aio)
		return;
	pthread_mutex_lock(&aio->lock);
	aio->stop = true;
	pthread_cond_broadcast(&aio->cond);
	pthread_mutex_unlock(&aio->lock);
	if (aio->uring)
		aio_uring_kick(aio->uring);
	for (int i = 0; i < aio->nrunning; i++)
		pthread_join(aio->threads[i], NULL);
	aio->nrunning = 0;
	aio->stop = false;
}

void block_aio_free(struct block_aio *aio)
{
	if (!aio)
		return;
	aio_uring_free(aio->uring);
	pthread_cond_destroy(&aio->cond);
	pthread_mutex_destroy(&aio->lock);
	free(aio);
}
