/* Set-up shared by the fuzz harnesses (see fuzz.h). */
#define _GNU_SOURCE
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void fuzz_quiet_stdout(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
}

int fuzz_ram_init(struct guest_ram *ram, gpa_t base, uint64_t size)
{
	*ram = (struct guest_ram){ .base = base, .size = size, .host = calloc(1, size) };
	return ram->host ? 0 : -1;
}

void fuzz_ram_free(struct guest_ram *ram)
{
	free(ram->host);
	ram->host = NULL;
}

const char *fuzz_disk_path(uint64_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	/* the same zeroed disk for every input: runs stay reproducible */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror("ftruncate");
		abort();
	}
	return path;
}
