/* Lazy restore of a compressed snapshot: guest RAM is registered with
 * userfaultfd, and a thread serves each page the guest (or the host, on
 * its behalf) first touches: the whole run of pages around it,
 * decompressed from its frame, or zeros where the snapshot stored none.
 * An uncompressed snapshot needs none of this: its file is mapped. */
#define _GNU_SOURCE
#include "condo/snapshot.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE   4096ull
#define WINDOW 256 /* pages zeroed at once where nothing is stored */

struct snapshot_lazy {
	int uffd, stopfd, mem_fd;
	uint8_t *ram;
	uint64_t pages;
	const struct snapshot_run *runs;
	size_t nruns;
	void (*on_start)(void *ctx);
	void (*on_error)(void *ctx, const char *why);
	void *ctx;
	pthread_t thread;
	uint8_t *run_buf; /* the last run decompressed */
	void *scratch;
};

int snapshot_uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int snapshot_uffd_register(int uffd, void *ram, uint64_t bytes)
{
	struct uffdio_register reg = { .range = { (uintptr_t)ram, bytes },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };

	return ioctl(uffd, UFFDIO_REGISTER, &reg) < 0 ? -errno : 0;
}

/* The run holding page, or NULL. */
static const struct snapshot_run *find_run(const struct snapshot_lazy *l, uint64_t page)
{
	size_t lo = 0, hi = l->nruns;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct snapshot_run *r = &l->runs[mid];

		if (page < r->first)
			hi = mid;
		else if (page >= r->first + r->count)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* The pages around page that no run holds, within its aligned window:
 * the same range whichever of them faults, so ranges never overlap. */
static void gap(const struct snapshot_lazy *l, uint64_t page, uint64_t *lo, uint64_t *hi)
{
	uint64_t start = page & ~(uint64_t)(WINDOW - 1);
	uint64_t end = start + WINDOW < l->pages ? start + WINDOW : l->pages;

	*lo = page;
	*hi = page + 1;
	while (*lo > start && !find_run(l, *lo - 1))
		(*lo)--;
	while (*hi < end && !find_run(l, *hi))
		(*hi)++;
}

static int zero(struct snapshot_lazy *l, uint64_t lo, uint64_t hi)
{
	struct uffdio_zeropage z = { .range = { (uintptr_t)(l->ram + lo * PAGE), (hi - lo) * PAGE } };

	return ioctl(l->uffd, UFFDIO_ZEROPAGE, &z) < 0 && errno != EEXIST ? -1 : 0;
}

static int copy(struct snapshot_lazy *l, uint64_t first, const uint8_t *src, uint64_t count)
{
	struct uffdio_copy c = { .dst = (uintptr_t)(l->ram + first * PAGE), .src = (uintptr_t)src,
				 .len = count * PAGE };

	return ioctl(l->uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST ? -1 : 0;
}

static void serve(struct snapshot_lazy *l, uint64_t page)
{
	const struct snapshot_run *r = find_run(l, page);
	uint64_t lo, hi;

	if (r) {
		if (snapshot_run_read(l->mem_fd, r, l->run_buf, &l->scratch) == 0) {
			if (copy(l, r->first, l->run_buf, r->count) == 0)
				return;
		} else {
			l->on_error(l->ctx, "a run of the snapshot's memory is corrupt");
		}
	} else {
		gap(l, page, &lo, &hi);
		if (zero(l, lo, hi) == 0)
			return;
	}
	/* Whatever failed, the thread that touched the page must go on. */
	zero(l, page, page + 1);
}

static void *lazy_main(void *arg)
{
	struct snapshot_lazy *l = arg;
	struct pollfd fds[2] = { { .fd = l->uffd, .events = POLLIN },
				 { .fd = l->stopfd, .events = POLLIN } };

	if (l->on_start)
		l->on_start(l->ctx);
	for (;;) {
		struct uffd_msg msgs[16];
		ssize_t n;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		n = read(l->uffd, msgs, sizeof(msgs));
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++) {
			uint64_t addr = msgs[i].arg.pagefault.address;

			if (msgs[i].event == UFFD_EVENT_PAGEFAULT && addr >= (uintptr_t)l->ram &&
			    addr < (uintptr_t)l->ram + l->pages * PAGE)
				serve(l, (addr - (uintptr_t)l->ram) / PAGE);
		}
	}
	return NULL;
}

struct snapshot_lazy *snapshot_lazy_start(int uffd, int mem_fd, uint8_t *ram, uint64_t bytes,
					  const struct snapshot_run *runs, size_t nruns,
					  void (*on_start)(void *ctx),
					  void (*on_error)(void *ctx, const char *why), void *ctx)
{
	struct snapshot_lazy *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	*l = (struct snapshot_lazy){ .uffd = uffd, .mem_fd = mem_fd, .ram = ram,
				     .pages = bytes / PAGE, .runs = runs, .nruns = nruns,
				     .on_start = on_start, .on_error = on_error, .ctx = ctx };
	l->stopfd = eventfd(0, EFD_CLOEXEC);
	l->run_buf = malloc(WINDOW * PAGE);
	if (l->stopfd < 0 || !l->run_buf || pthread_create(&l->thread, NULL, lazy_main, l)) {
		if (l->stopfd >= 0)
			close(l->stopfd);
		free(l->run_buf);
		free(l);
		return NULL;
	}
	return l;
}

void snapshot_lazy_stop(struct snapshot_lazy *l)
{
	uint64_t one = 1;

	if (!l)
		return;
	if (write(l->stopfd, &one, sizeof(one)) < 0)
		log_warn("restore", "cannot stop the memory thread");
	pthread_join(l->thread, NULL);
	close(l->stopfd);
	free(l->run_buf);
	free(l->scratch);
	free(l);
}
