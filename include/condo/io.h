/* Small host I/O helpers shared by the components (src/util/io.c). */
#ifndef CONDO_IO_H
#define CONDO_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all of buf to fd, retrying short writes and EINTR: 0, or -errno
 * (-EIO when the descriptor takes nothing). */
int write_all(int fd, const void *buf, size_t len);

/* mkdir -p: path and its missing parents with mode; 0 or -errno. */
int mkdir_all(const char *path, mode_t mode);

/* Copy what src holds into dst (made src's length): data extents only,
 * holes stay holes, with copy_file_range, which reflinks where the file
 * system can.  0 or -errno. */
int copy_sparse(int src, int dst);
/* copy_sparse from the file at src_path into dst, then fdatasync(dst):
 * 0 or -errno. */
int copy_sparse_file(const char *src_path, int dst);

#endif
