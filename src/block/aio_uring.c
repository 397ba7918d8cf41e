/* The io_uring engine (liburing): one thread per disk puts a raw image's
 * reads, writes and flushes on a ring, many at a time, and completes them
 * as the kernel finishes them.  The thread sleeps in io_uring_enter; a
 * submitter wakes it through an eventfd whose read is itself on the ring.
 *
 * The ring is made disabled, given its two files (the image, the eventfd)
 * as fixed files and restricted (IORING_REGISTER_RESTRICTIONS) to readv,
 * writev, fsync and read on fixed files only, then enabled: io_uring's
 * work is not seen by seccomp, so the ring itself can do nothing else
 * (docs/security.md). */
#include "block/aio.h"
#include "condo/log.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Room for every request a virtqueue can have in flight, and the kick. */
#define RING_ENTRIES 512
#define FIXED_DISK   0
#define FIXED_KICK   1
/* io_uring's own workers (for transfers that must block): bounded, for
 * regular files, and unbounded. */
#define IOWQ_BOUNDED   4
#define IOWQ_UNBOUNDED 1

struct aio_uring {
	struct io_uring ring;
	int kick_fd;
	uint64_t kick_buf;
	bool kick_armed;   /* the eventfd read is on the ring (it outlives a thread) */
	unsigned inflight; /* requests on the ring */
};

static int restrict_ring(struct io_uring *ring)
{
	struct io_uring_restriction r[] = {
	    {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV},
	    {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV},
	    {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC},
	    {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READ},
	    {.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_FIXED_FILE},
	    {.opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE},
	};

	/* Debian's liburing 2.3 leaves io_uring_register_restrictions and
	 * io_uring_enable_rings out of its shared library's exports: the
	 * plain register call does the same. */
	return io_uring_register((unsigned)ring->ring_fd, IORING_REGISTER_RESTRICTIONS, r,
				 ARRAY_SIZE(r));
}

static int enable_ring(struct io_uring *ring)
{
	return io_uring_register((unsigned)ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

int aio_uring_new(struct block_aio *aio)
{
	struct io_uring_params p = {.flags = IORING_SETUP_R_DISABLED};
	struct aio_uring *u = calloc(1, sizeof(*u));
	unsigned workers[2] = {IOWQ_BOUNDED, IOWQ_UNBOUNDED};
	int fds[2], err;

	if (!u)
		return -ENOMEM;
	if (getenv("CONDO_NO_IO_URING")) {
		/* The tests' way to take the fallback on a kernel that has
		 * io_uring (docs/virtio.md). */
		free(u);
		return -ENOSYS;
	}
	u->kick_fd = eventfd(0, EFD_CLOEXEC);
	if (u->kick_fd < 0) {
		err = -errno;
		free(u);
		return err;
	}
	err = io_uring_queue_init_params(RING_ENTRIES, &u->ring, &p);
	if (err < 0) {
		close(u->kick_fd);
		free(u);
		return err;
	}
	fds[FIXED_DISK] = aio->bd->ops->direct_fd(aio->bd, NULL);
	fds[FIXED_KICK] = u->kick_fd;
	err = io_uring_register_files(&u->ring, fds, 2);
	/* Older kernels lack the worker bound: the process limit still holds. */
	if (!err && io_uring_register_iowq_max_workers(&u->ring, workers) < 0)
		log_debug("block", "io_uring: cannot bound the kernel's workers");
	if (!err)
		err = restrict_ring(&u->ring);
	if (!err)
		err = enable_ring(&u->ring);
	if (err < 0) {
		aio_uring_free(u);
		return err;
	}
	aio->uring = u;
	return 0;
}

void aio_uring_free(struct aio_uring *u)
{
	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	close(u->kick_fd);
	free(u);
}

void aio_uring_kick(struct aio_uring *u)
{
	uint64_t one = 1;

	/* Cannot fail short of a counter overflow, which only means the
	 * thread is already due to wake. */
	if (write(u->kick_fd, &one, sizeof(one)) < 0)
		log_debug("block", "io_uring: kick: %s", strerror(errno));
}

static struct io_uring_sqe *get_sqe(struct aio_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void arm_kick(struct aio_uring *u)
{
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, FIXED_KICK, &u->kick_buf, sizeof(u->kick_buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, NULL);
	u->kick_armed = true;
}

/* Put (the rest of) a transfer or a flush on the ring. */
static void queue_on_ring(struct aio_uring *u, struct block_req *req)
{
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe) { /* cannot happen with the ring sized for every request */
		aio_complete(req, -EBUSY);
		return;
	}
	if (req->op == BLOCK_REQ_READ)
		io_uring_prep_readv(sqe, FIXED_DISK, req->iov, (unsigned)req->iovcnt, req->offset);
	else if (req->op == BLOCK_REQ_WRITE)
		io_uring_prep_writev(sqe, FIXED_DISK, req->iov, (unsigned)req->iovcnt, req->offset);
	else
		io_uring_prep_fsync(sqe, FIXED_DISK, IORING_FSYNC_DATASYNC);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, req);
	u->inflight++;
}

static void start_request(struct block_aio *aio, struct block_req *req, bool healthy)
{
	bool transfer = req->op == BLOCK_REQ_READ || req->op == BLOCK_REQ_WRITE;

	if (!healthy || (!transfer && req->op != BLOCK_REQ_FLUSH) ||
	    aio->bd->ops->direct_fd(aio->bd, req) < 0) {
		/* Not for the ring: run here, one at a time. */
		aio_run_here(aio, req, healthy);
		return;
	}
	if (transfer) {
		req->left = 0;
		for (int i = 0; i < req->iovcnt; i++)
			req->left += req->iov[i].iov_len;
		req->bytes = req->left;
		if (!req->left) {
			aio_complete(req, 0);
			return;
		}
	}
	queue_on_ring(aio->uring, req);
}

/* Drop the first n bytes of a transfer that stopped short. */
static void advance(struct block_req *req, uint64_t n)
{
	req->left -= n;
	req->offset += n;
	while (req->iovcnt > 0 && n >= req->iov->iov_len) {
		n -= req->iov->iov_len;
		req->iov++;
		req->iovcnt--;
	}
	if (req->iovcnt > 0) {
		req->iov->iov_base = (uint8_t *)req->iov->iov_base + n;
		req->iov->iov_len -= n;
	}
}

/* A transfer done: counted for metering as the synchronous calls count. */
static void transfer_done(struct block_aio *aio, struct block_req *req, int result)
{
	if (!result)
		block_count_bytes(aio->bd, req->bytes, req->op == BLOCK_REQ_WRITE);
	aio_complete(req, result);
}

static void finish_cqe(struct block_aio *aio, struct block_req *req, int res)
{
	struct aio_uring *u = aio->uring;

	u->inflight--;
	if (res == -EAGAIN || res == -EINTR) {
		queue_on_ring(u, req);
		return;
	}
	if (res < 0 || req->op == BLOCK_REQ_FLUSH) {
		aio_complete(req, res < 0 ? res : 0);
		return;
	}
	if ((uint64_t)res >= req->left) {
		transfer_done(aio, req, 0);
	} else if (res == 0) {
		/* The end of a file that shrank under us: a read sees zeros, as
		 * the synchronous path does; a write cannot go on. */
		if (req->op == BLOCK_REQ_READ)
			for (int i = 0; i < req->iovcnt; i++)
				memset(req->iov[i].iov_base, 0, req->iov[i].iov_len);
		transfer_done(aio, req, req->op == BLOCK_REQ_READ ? 0 : -EIO);
	} else {
		advance(req, (uint64_t)res);
		queue_on_ring(u, req);
	}
}

void *aio_uring_main(void *arg)
{
	struct block_aio *aio = arg;
	struct aio_uring *u = aio->uring;
	bool stop = false, healthy = aio_thread_start(aio);

	for (;;) {
		struct io_uring_cqe *cqe;
		bool kicked = false;
		int err;

		if (!u->kick_armed)
			arm_kick(u);
		io_uring_submit(&u->ring);
		/* A completion may have queued more (a device taking what its
		 * in-flight bound held back): only an empty queue ends it. */
		if (stop && !u->inflight && aio_idle(aio))
			break;
		err = io_uring_wait_cqe(&u->ring, &cqe);
		if (err == -EINTR)
			continue;
		if (err < 0) {
			log_err("block", "io_uring: waiting for completions: %s", strerror(-err));
			break;
		}
		while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
			struct block_req *req = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&u->ring, cqe);
			if (req) {
				finish_cqe(aio, req, res);
			} else {
				u->kick_armed = false;
				kicked = true;
			}
		}
		if (kicked) {
			for (struct block_req *req = aio_take_all(aio, &stop), *next; req;
			     req = next) {
				next = req->next;
				start_request(aio, req, healthy);
			}
		}
	}
	return NULL;
}
