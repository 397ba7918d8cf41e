/* condo run --incoming URI: the destination of a live migration.  Before
 * the jail: wait for the source, read its configuration and make the
 * board's disks from it; in the built board: take pages, state and disk
 * data off the stream, every address and length checked (the stream is
 * as untrusted as a snapshot), load the state, and answer 'K'. */
#define _GNU_SOURCE
#include "condo/block.h"
#include "condo/dirtylog.h"
#include "condo/log.h"
#include "condo/machine.h"
#include "machine/migrate.h"
#include "machine/restore.h"
#include "machine/snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX  (1u << 20)
#define STATE_MAX (64u << 20)
#define DISK_MAX  (1u << 20)

/* tcp:HOST:0 listens on a port the kernel picks: say which, the one
 * line a caller (a script, a control plane) reads to point the source
 * at it. */
static void announce_port(int fd, const char *uri)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	size_t n = strlen(uri);
	uint16_t port;

	if (n < 2 || strcmp(uri + n - 2, ":0") || !strncmp(uri, "unix:", 5) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	fprintf(stderr, "condo: --incoming: listening on %.*s:%u\n", (int)(n - 2), uri, port);
}

int vm_incoming_open(const char *uri, struct vm_config *cfg, struct vm_strings *keep)
{
	int lfd = migrate_listen(uri), fd;
	char tag[4], *text = NULL;
	uint64_t len;
	json_t *c = NULL;
	json_error_t jerr;

	if (lfd < 0)
		return -1;
	announce_port(lfd, uri);
	log_info("run", "waiting for a VM on %s", uri);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0) {
		log_err("run", "--incoming %s: %s", uri, strerror(errno));
		return -1;
	}
	if (migrate_read_head(fd, tag, &len) < 0 || memcmp(tag, "HEAD", 4) || len > HEAD_MAX ||
	    !(text = malloc(len + 1)) || migrate_read(fd, text, len) < 0 ||
	    !(c = json_loadb(text, len, 0, &jerr))) {
		log_err("run", "--incoming %s: the stream does not start with a VM's configuration",
			uri);
		free(text);
		close(fd);
		return -1;
	}
	free(text);
	if (vm_config_take(uri, c, cfg, true, keep) < 0) {
		json_decref(c);
		close(fd);
		return -1;
	}
	json_decref(c);
	return fd;
}

static int take_pages(struct vm *vm, int fd, uint64_t len)
{
	uint64_t first, npages = vm->ram.size / GUEST_PAGE_SIZE, n;
	uint8_t *p;

	if (len < 8 || (len - 8) % GUEST_PAGE_SIZE || migrate_read(fd, &first, 8) < 0)
		return -1;
	n = (len - 8) / GUEST_PAGE_SIZE;
	if (first >= npages || n > npages - first)
		return -1;
	p = vm->ram.host + first * GUEST_PAGE_SIZE;
	/* One call makes the run's pages, not a fault per page as read()
	 * fills them (faults are what made round 0 slow); a kernel without
	 * it (before 5.14) faults them as before. */
	madvise(p, n * GUEST_PAGE_SIZE, MADV_POPULATE_WRITE);
	if (migrate_read(fd, p, n * GUEST_PAGE_SIZE) < 0)
		return -1;
	dirty_log_mark_range(vm->ram.dirty, p, n * GUEST_PAGE_SIZE);
	return 0;
}

/* A run that reads as zeros: given back (the next touch maps a zero page). */
static int take_zeros(struct vm *vm, int fd, uint64_t len)
{
	uint64_t hdr[2], npages = vm->ram.size / GUEST_PAGE_SIZE;

	if (len != sizeof(hdr) || migrate_read(fd, hdr, sizeof(hdr)) < 0 || hdr[0] >= npages ||
	    !hdr[1] || hdr[1] > npages - hdr[0])
		return -1;
	return madvise(vm->ram.host + hdr[0] * GUEST_PAGE_SIZE, hdr[1] * GUEST_PAGE_SIZE,
		       MADV_DONTNEED);
}

/* DISK (the bytes) and DSKZ (zeros): within a writable disk only. */
static int take_disk(struct vm *vm, int fd, uint64_t len, uint8_t *buf, bool zeros)
{
	uint32_t i;
	uint64_t off, n;
	struct iovec iov;

	if ((zeros ? len != 20 : len < 12 || len - 12 > DISK_MAX) || migrate_read(fd, buf, len) < 0)
		return -1;
	memcpy(&i, buf, 4);
	memcpy(&off, buf + 4, 8);
	if (zeros)
		memcpy(&n, buf + 12, 8);
	else
		n = len - 12;
	if (i >= (uint32_t)vm->cfg->ndrives || vm->cfg->drives[i].readonly ||
	    off > vm->disks[i]->size || n > vm->disks[i]->size - off)
		return -1;
	if (zeros)
		return block_write_zeroes(vm->disks[i], off, n) < 0 ? -1 : 0;
	iov = (struct iovec){ buf + 12, n };
	return block_pwritev(vm->disks[i], &iov, 1, off) < 0 ? -1 : 0;
}

int vm_incoming_apply(struct vm *vm, int fd)
{
	struct state_buf cpu = { 0 }, devs = { 0 };
	uint8_t *disk = malloc(DISK_MAX + 12);
	const char *why = "the stream broke or is malformed";
	int r = -1;

	while (disk) {
		char tag[4];
		uint64_t len;

		if (migrate_read_head(fd, tag, &len) < 0)
			break;
		if (!memcmp(tag, "PAGE", 4)) {
			if (take_pages(vm, fd, len) < 0)
				break;
		} else if (!memcmp(tag, "ZERO", 4)) {
			if (take_zeros(vm, fd, len) < 0)
				break;
		} else if (!memcmp(tag, "DISK", 4) || !memcmp(tag, "DSKZ", 4)) {
			if (take_disk(vm, fd, len, disk, tag[1] == 'S') < 0)
				break;
		} else if (!memcmp(tag, "CPU_", 4) || !memcmp(tag, "DEVS", 4)) {
			struct state_buf *b = tag[0] == 'C' ? &cpu : &devs;

			if (b->data || len > STATE_MAX || !(b->data = malloc(len ? len : 1)) ||
			    migrate_read(fd, b->data, len) < 0)
				break;
			b->len = len;
			b->cap = len ? len : 1;
		} else if (!memcmp(tag, "END_", 4) && !len) {
			if (!cpu.data || !devs.data) {
				why = "the stream ended without the VM's state";
				break;
			}
			for (int i = 0; i < vm->cfg->ndrives; i++)
				block_flush(vm->disks[i]);
			if (vm_state_load(vm, &cpu, &devs) < 0) {
				why = cpu.failed ? cpu.why : devs.why;
				break;
			}
			r = write(fd, "K", 1) == 1 ? 0 : -1;
			break;
		} else {
			break;
		}
	}
	if (r < 0)
		log_err("run", "--incoming: %s; the source VM runs on", why);
	free(disk);
	state_free(&cpu);
	state_free(&devs);
	return r;
}
