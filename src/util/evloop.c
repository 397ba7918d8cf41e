/* The per-VM event loop: epoll on a thread of its own, woken for shutdown
 * through an eventfd. */
#include "condo/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_WATCHES 32

struct watch {
	int fd;
	evloop_fd_cb cb;
	void *ctx;
};

struct evloop {
	int epfd, stopfd;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	struct watch watches[MAX_WATCHES];
	void (*on_start)(void *ctx);
	void *start_ctx;
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stopfd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&loop->lock, NULL);
	for (int i = 0; i < MAX_WATCHES; i++)
		loop->watches[i].fd = -1;
	if (loop->epfd < 0 || loop->stopfd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0) {
		evloop_free(loop);
		return NULL;
	}
	return loop;
}

int evloop_add_fd(struct evloop *loop, int fd, evloop_fd_cb cb, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int i, r = -ENOSPC;

	pthread_mutex_lock(&loop->lock);
	for (i = 0; i < MAX_WATCHES; i++) {
		if (loop->watches[i].fd >= 0)
			continue;
		loop->watches[i] = (struct watch){ fd, cb, ctx };
		ev.data.ptr = &loop->watches[i];
		r = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
		if (r < 0)
			loop->watches[i].fd = -1;
		break;
	}
	pthread_mutex_unlock(&loop->lock);
	return r;
}

int evloop_remove_fd(struct evloop *loop, int fd)
{
	int r = -ENOENT;

	pthread_mutex_lock(&loop->lock);
	for (int i = 0; i < MAX_WATCHES; i++) {
		if (loop->watches[i].fd == fd) {
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
			loop->watches[i].fd = -1;
			r = 0;
		}
	}
	pthread_mutex_unlock(&loop->lock);
	return r;
}

/* One round of epoll_wait and callbacks; 1 when the stop eventfd fired,
 * -1 on an error other than EINTR, else 0. */
static int poll_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event events[16];
	int n = epoll_wait(loop->epfd, events, 16, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct watch *w = events[i].data.ptr;
		if (!w)
			return 1;
		if (w->fd >= 0)
			w->cb(w->ctx, w->fd);
	}
	return n < 0 && errno != EINTR ? -1 : 0;
}

int evloop_poll(struct evloop *loop, int timeout_ms)
{
	return poll_once(loop, timeout_ms) < 0 ? -errno : 0;
}

static void *loop_main(void *arg)
{
	struct evloop *loop = arg;

	if (loop->on_start)
		loop->on_start(loop->start_ctx);
	while (poll_once(loop, -1) == 0)
		;
	return NULL;
}

void evloop_on_start(struct evloop *loop, void (*fn)(void *ctx), void *ctx)
{
	loop->on_start = fn;
	loop->start_ctx = ctx;
}

int evloop_start(struct evloop *loop)
{
	int r = pthread_create(&loop->thread, NULL, loop_main, loop);

	if (r)
		return -r;
	loop->running = true;
	return 0;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	if (loop->running) {
		uint64_t one = 1;
		if (write(loop->stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(loop->thread, NULL);
	}
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stopfd >= 0)
		close(loop->stopfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}
