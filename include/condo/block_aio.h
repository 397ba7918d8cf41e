/* Block requests served off the caller's thread: one engine per disk, with
 * its own thread(s), so a vCPU that notifies a disk only queues work.
 *
 * Two engines (docs/virtio.md, "Where block I/O runs"):
 *  - io_uring: one thread per disk submits the reads, writes and flushes of
 *    a raw image to a ring (many in flight) and reaps their completions;
 *    requests the ring cannot take (another format, discard, write-zeroes,
 *    a transfer O_DIRECT cannot do) run on that thread, one at a time.
 *  - threads: where io_uring is unavailable (old kernel, a sysctl or
 *    seccomp refusing it) or not wanted (aio=threads), a pool of worker
 *    threads calls the image's synchronous operations: several workers for
 *    a raw image, whose operations are thread-safe; one for any other
 *    format, so an image's metadata is only ever touched by one request at
 *    a time (qcow2 has no finer locking).
 * A request's buffers belong to the caller until its done callback, which
 * runs on an engine thread. */
#ifndef CONDO_BLOCK_AIO_H
#define CONDO_BLOCK_AIO_H

#include "condo/block.h"

#include <sys/uio.h>

enum block_req_op {
	BLOCK_REQ_READ,
	BLOCK_REQ_WRITE,
	BLOCK_REQ_FLUSH,
	BLOCK_REQ_DISCARD,
	BLOCK_REQ_WRITE_ZEROES,
};

#define BLOCK_REQ_MAX_RANGES 16

struct block_range {
	uint64_t offset, len; /* bytes */
};

struct block_req {
	enum block_req_op op;
	/* READ, WRITE: the buffers (the engine may advance this array while
	 * it resumes a short transfer) and the disk offset. */
	struct iovec *iov;
	int iovcnt;
	uint64_t offset;
	/* DISCARD, WRITE_ZEROES */
	struct block_range range[BLOCK_REQ_MAX_RANGES];
	int nranges;
	/* Set before done is called: 0 or a negative errno. */
	int result;
	void (*done)(struct block_req *req);
	/* The engine's own. */
	struct block_req *next;
	uint64_t bytes; /* of the transfer */
	uint64_t left;  /* bytes still to move */
};

/* How an engine is chosen (--drive aio=). */
enum block_aio_kind {
	BLOCK_AIO_AUTO,	   /* io_uring for a raw image where the kernel allows it, else threads */
	BLOCK_AIO_THREADS, /* the thread pool, always */
	BLOCK_AIO_IO_URING /* io_uring, or an error when it cannot be had */
};

struct block_aio;

/* Run one request on the calling thread (sets req->result; does not call
 * done).  What the engines do with requests a ring cannot take. */
void block_req_run(struct block_dev *bd, struct block_req *req);

/* The engine of one disk, made before the jail's lockdown: the ring is set
 * up (and restricted to the operations it serves on this disk) here, so
 * the threads never need io_uring_setup.  NULL with a one-line error. */
struct block_aio *block_aio_new(struct block_dev *bd, enum block_aio_kind kind);
/* Start the engine's threads; each calls on_start(ctx) first (the jail's
 * filter); a thread whose on_start fails (< 0) fails every request it
 * gets with -EIO.  0 or -errno. */
int block_aio_start(struct block_aio *aio, int (*on_start)(void *ctx), void *ctx);
/* Queue a request: never blocks on I/O. */
void block_aio_submit(struct block_aio *aio, struct block_req *req);
/* Wait for every submitted request to complete, then end the threads.
 * The engine can be started again. */
void block_aio_stop(struct block_aio *aio);
void block_aio_free(struct block_aio *aio);
/* "io_uring" or "threads" */
const char *block_aio_name(const struct block_aio *aio);
/* Threads the engine runs, io_uring's kernel workers included (for the
 * jail's process limit). */
#define BLOCK_AIO_MAX_THREADS 6

/* "threads"/"io_uring"/"auto" to a kind: 0, or -EINVAL. */
int block_aio_parse(const char *name, enum block_aio_kind *kind);

#endif
