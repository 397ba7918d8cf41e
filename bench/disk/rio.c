/* Random 4 KiB I/O on a block device, for bench/bench-disk.sh: COUNT reads
 * or writes at offsets from a fixed-seed generator over the first SPAN
 * bytes, with O_DIRECT so the guest's page cache does not answer for the
 * disk, then (writes) fdatasync.  Prints "rio: NS OPS" (nanoseconds by the
 * guest's CLOCK_MONOTONIC, operations done) and a checksum of what it read.
 *   rio r|w DEVICE COUNT SPAN */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096

static uint64_t next(uint64_t *s)
{
	/* xorshift64*: any fixed sequence will do, the same in every run. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, sum = 0, t0, t1;
	long count, span;
	bool write;
	void *buf;
	int fd;

	if (argc != 5 || (argv[1][0] != 'r' && argv[1][0] != 'w')) {
		fprintf(stderr, "usage: rio r|w DEVICE COUNT SPAN\n");
		return 2;
	}
	write = argv[1][0] == 'w';
	count = atol(argv[3]);
	span = atol(argv[4]) / BLOCK;
	if (count <= 0 || span <= 0 || posix_memalign(&buf, BLOCK, BLOCK))
		return 2;
	memset(buf, 0xa5, BLOCK);
	fd = open(argv[2], (write ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < count; i++) {
		off_t off = (off_t)(next(&seed) % (uint64_t)span) * BLOCK;
		ssize_t n = write ? pwrite(fd, buf, BLOCK, off) : pread(fd, buf, BLOCK, off);
		if (n != BLOCK) {
			perror("rio");
			return 1;
		}
		if (!write)
			sum += ((uint64_t *)buf)[i % (BLOCK / 8)];
	}
	if (write && fdatasync(fd) < 0) {
		perror("fdatasync");
		return 1;
	}
	t1 = now_ns();
	printf("rio: %llu %ld\nrio-sum: %llx\n", (unsigned long long)(t1 - t0), count,
	       (unsigned long long)sum);
	return 0;
}
