/* Host I/O helpers: see include/condo/io.h. */
#define _GNU_SOURCE
#include "condo/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mkdir_all(const char *path, mode_t mode)
{
	char copy[4096];

	if (strlen(path) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(copy, mode) < 0 && errno != EEXIST ? -errno : 0;
}

int copy_sparse(int src, int dst)
{
	struct stat st;
	off_t data = 0, hole;

	if (fstat(src, &st) < 0 || ftruncate(dst, st.st_size) < 0)
		return -errno;
	while ((data = lseek(src, data, SEEK_DATA)) >= 0) {
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (off_t in = data, out = data; in < hole;) {
			ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(hole - in), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
		}
		data = hole;
	}
	return errno == ENXIO ? 0 : -errno;
}

int copy_sparse_file(const char *src_path, int dst)
{
	int src = open(src_path, O_RDONLY | O_CLOEXEC), err;

	if (src < 0)
		return -errno;
	err = copy_sparse(src, dst);
	if (!err && fdatasync(dst) < 0)
		err = -errno;
	close(src);
	return err;
}
