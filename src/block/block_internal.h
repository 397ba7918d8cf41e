/* Inside the block component: how block_open hands an opened, locked file
 * to a format, and the iovec helpers the formats share. */
#ifndef CONDO_BLOCK_INTERNAL_H
#define CONDO_BLOCK_INTERNAL_H

#include "condo/block.h"

#include <sys/stat.h>
#include <sys/types.h>

/* The files opened so far along one backing chain: a file that is its own
 * ancestor is a loop, and the chain has a depth bound. */
struct block_chain {
	int depth;
	bool repair; /* the top image is opened to be repaired */
	bool image_only; /* the top image without its backing chain */
	bool no_lock; /* block_open_shared: its writer is paused */
	/* --image-dir: backing files are opened only beneath this directory
	 * (dir_fd, an O_PATH descriptor of it, and its real path); -1: any. */
	int dir_fd;
	char dir_real[4096];
	dev_t dev[BLOCK_MAX_CHAIN];
	ino_t ino[BLOCK_MAX_CHAIN];
};

/* Open one link of a chain (the image itself at depth 0). */
struct block_dev *block_open_chain(const char *path, enum block_format format, bool readonly,
				   struct block_chain *chain);

/* The formats take an open, locked fd (and own it from then on, closing it
 * on failure too).  probed: the format was not given but guessed. */
struct block_dev *raw_from_fd(int fd, const struct stat *st, const char *path, bool readonly,
			      bool probed);
struct block_dev *qcow2_from_fd(int fd, const struct stat *st, const char *path, bool readonly,
				struct block_chain *chain);
/* An NBD disk: path is an nbd:// or nbd+unix:// URI (nbd.c, libnbd). */
struct block_dev *nbd_open(const char *uri, bool readonly);
int qcow2_create(const char *path, uint64_t size, const char *backing,
		 enum block_format backing_format);

/* A serial for GET_ID from the file's inode. */
void block_set_serial(struct block_dev *bd, const struct stat *st);

/* Bytes in an iovec array. */
uint64_t block_iov_total(const struct iovec *iov, int iovcnt);
/* The part [skip, skip+len) of iov as a new array in out (room for iovcnt
 * entries); returns its entry count. */
int block_iov_sub(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
	    struct iovec *out);
void block_iov_zero(const struct iovec *iov, int iovcnt);
void block_iov_from_buf(const struct iovec *iov, int iovcnt, const uint8_t *buf);
void block_iov_to_buf(const struct iovec *iov, int iovcnt, uint8_t *buf);

/* pread/pwrite that loop until done; a read past the end of the file
 * fills zeros (a hole).  0 or -errno. */
int block_pread_full(int fd, void *buf, size_t len, uint64_t offset);
int block_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset);

#endif
