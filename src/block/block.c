/* Opening images: the format from the caller or probed by magic, the file
 * locked, backing chains bounded and free of loops.  Also the small I/O
 * helpers every format uses. */
#define _GNU_SOURCE
#include "block/block_internal.h"
#include "block/composite.h"
#include "condo/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#define QCOW2_MAGIC "QFI\xfb"

int block_format_parse(const char *name, enum block_format *format)
{
	if (!strcmp(name, "raw"))
		*format = BLOCK_FORMAT_RAW;
	else if (!strcmp(name, "qcow2"))
		*format = BLOCK_FORMAT_QCOW2;
	else if (!strcmp(name, "composite"))
		*format = BLOCK_FORMAT_COMPOSITE;
	else if (!strcmp(name, "nbd"))
		*format = BLOCK_FORMAT_NBD;
	else
		return -EINVAL;
	return 0;
}

const char *block_format_name(enum block_format format)
{
	switch (format) {
	case BLOCK_FORMAT_RAW:
		return "raw";
	case BLOCK_FORMAT_QCOW2:
		return "qcow2";
	case BLOCK_FORMAT_COMPOSITE:
		return "composite";
	case BLOCK_FORMAT_NBD:
		return "nbd";
	default:
		return "auto";
	}
}

static int lock_image(int fd, const char *path, bool readonly)
{
	int err;

	/* Two VMs writing one image corrupt it; a reader beside a writer
	 * sees garbage.  Advisory, like QEMU's image locking. */
	if (flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	err = errno;
	if (err == EWOULDBLOCK)
		log_err("block", "disk image %s is in use by another process", path);
	else
		log_err("block", "cannot lock disk image %s: %s", path, strerror(err));
	return -err;
}

/* A file met again along its own chain is a loop. */
static int chain_enter(struct block_chain *chain, const struct stat *st, const char *path)
{
	for (int i = 0; i < chain->depth; i++) {
		if (chain->dev[i] == st->st_dev && chain->ino[i] == st->st_ino) {
			log_err("block", "%s: backing chain loop (the image is its own backing file)",
				path);
			return -ELOOP;
		}
	}
	if (chain->depth >= BLOCK_MAX_CHAIN) {
		log_err("block", "%s: backing chain deeper than %d images", path,
			BLOCK_MAX_CHAIN);
		return -ELOOP;
	}
	chain->dev[chain->depth] = st->st_dev;
	chain->ino[chain->depth] = st->st_ino;
	chain->depth++;
	return 0;
}

/* Open a backing file only if it lies beneath the chain's directory: its
 * real path (symbolic links followed) must start with the directory's, and
 * the rest is opened from the directory's descriptor with RESOLVE_BENEATH,
 * so a link swapped in after the check cannot lead out.  -1 with errno. */
static int open_beneath(const struct block_chain *chain, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	size_t len = strlen(chain->dir_real);
	char real[4096];
	const char *rest;

	if (!realpath(path, real))
		return -1;
	if (len == 1) { /* --image-dir / */
		rest = real + 1;
	} else if (!strncmp(real, chain->dir_real, len) && real[len] == '/') {
		rest = real + len + 1;
	} else {
		errno = EXDEV;
		return -1;
	}
	return (int)syscall(SYS_openat2, chain->dir_fd, rest, &how, sizeof(how));
}

bool block_is_remote(const char *path, enum block_format format)
{
	if (format == BLOCK_FORMAT_NBD)
		return true;
	return format == BLOCK_FORMAT_AUTO &&
	       (!strncmp(path, "nbd://", 6) || !strncmp(path, "nbd+unix://", 11) ||
		!strncmp(path, "nbds://", 7) || !strncmp(path, "nbds+unix://", 12));
}

/* The format the first bytes of a file name; an explicit format they
 * contradict is an error (raw may hold anything but the qcow2 magic). */
static int probe_format(const char *path, const char *head, enum block_format *format)
{
	bool is_qcow2 = !memcmp(head, QCOW2_MAGIC, 4);
	bool is_composite = !memcmp(head, COMPOSITE_MAGIC, COMPOSITE_MAGIC_LEN);

	if (*format == BLOCK_FORMAT_QCOW2 && !is_qcow2) {
		log_err("block", "%s: not a qcow2 image (no qcow2 magic), but format=qcow2 was given",
			path);
		return -EINVAL;
	}
	if (*format == BLOCK_FORMAT_COMPOSITE && !is_composite) {
		log_err("block", "%s: not a composite disk (its first line is not '%.*s'), but "
			"format=composite was given", path, (int)COMPOSITE_MAGIC_LEN - 1,
			COMPOSITE_MAGIC);
		return -EINVAL;
	}
	if (*format == BLOCK_FORMAT_RAW && is_qcow2) {
		log_err("block", "%s: is a qcow2 image, but format=raw was given", path);
		return -EINVAL;
	}
	if (*format == BLOCK_FORMAT_AUTO)
		*format = is_qcow2	   ? BLOCK_FORMAT_QCOW2
			  : is_composite ? BLOCK_FORMAT_COMPOSITE
					 : BLOCK_FORMAT_AUTO; /* raw, probed */
	return 0;
}

struct block_dev *block_open_chain(const char *path, enum block_format format, bool readonly,
				   struct block_chain *chain)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	char head[COMPOSITE_MAGIC_LEN] = { 0 };
	enum block_format probed = format;
	struct stat st;
	int fd, err;

	if (block_is_remote(path, format)) {
		/* A name inside an image or a descriptor never reaches the network. */
		if (chain->depth > 0) {
			log_err("block", "%s: an NBD disk cannot be a backing file or a part", path);
			errno = EINVAL;
			return NULL;
		}
		return nbd_open(path, readonly);
	}
	fd = chain->depth > 0 && chain->dir_fd >= 0 ? open_beneath(chain, path, flags)
						    : open(path, flags);
	if (fd < 0 && errno == EXDEV) {
		log_err("block", "backing file %s lies outside --image-dir %s", path,
			chain->dir_real);
		errno = EXDEV;
		return NULL;
	}
	if (fd < 0) {
		err = errno;
		log_err("block", "cannot open disk image %s: %s", path, strerror(err));
		errno = err;
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		log_err("block", "cannot stat disk image %s: %s", path, strerror(err));
		goto err;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		err = EINVAL;
		log_err("block", "disk image %s is not a regular file or block device", path);
		goto err;
	}
	err = -chain_enter(chain, &st, path);
	if (err)
		goto err;
	err = chain->no_lock ? 0 : -lock_image(fd, path, readonly);
	if (err)
		goto err;
	err = -block_pread_full(fd, head, sizeof(head), 0);
	if (err) {
		log_err("block", "cannot read disk image %s: %s", path, strerror(err));
		goto err;
	}
	err = -probe_format(path, head, &probed);
	if (err)
		goto err;
	if (probed == BLOCK_FORMAT_QCOW2)
		return qcow2_from_fd(fd, &st, path, readonly, chain);
	if (probed == BLOCK_FORMAT_COMPOSITE)
		return composite_from_fd(fd, &st, path, readonly, chain);
	return raw_from_fd(fd, &st, path, readonly, format == BLOCK_FORMAT_AUTO);
err:
	close(fd);
	errno = err;
	return NULL;
}

struct block_dev *block_open(const char *path, enum block_format format, bool readonly)
{
	return block_open_in(path, format, readonly, NULL);
}

static struct block_dev *open_in(const char *path, enum block_format format, bool readonly,
				 const char *image_dir, bool no_lock)
{
	struct block_chain chain = { .dir_fd = -1, .no_lock = no_lock };
	struct block_dev *bd;
	int err;

	if (image_dir) {
		chain.dir_fd = open(image_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (chain.dir_fd < 0 || !realpath(image_dir, chain.dir_real)) {
			err = errno;
			log_err("block", "--image-dir %s: %s", image_dir, strerror(err));
			if (chain.dir_fd >= 0)
				close(chain.dir_fd);
			errno = err;
			return NULL;
		}
	}
	bd = block_open_chain(path, format, readonly, &chain);
	if (chain.dir_fd >= 0) {
		err = errno;
		close(chain.dir_fd);
		errno = err;
	}
	return bd;
}

struct block_dev *block_open_in(const char *path, enum block_format format, bool readonly,
				const char *image_dir)
{
	return open_in(path, format, readonly, image_dir, false);
}

struct block_dev *block_open_shared(const char *path, enum block_format format,
				    const char *image_dir)
{
	return open_in(path, format, true, image_dir, true);
}

struct block_dev *block_open_image_only(const char *path, enum block_format format,
					bool readonly)
{
	struct block_chain chain = { .image_only = true, .dir_fd = -1 };

	return block_open_chain(path, format, readonly, &chain);
}


struct block_dev *block_open_for_repair(const char *path, enum block_format format)
{
	struct block_chain chain = { .repair = true, .image_only = true, .dir_fd = -1 };

	return block_open_chain(path, format, false, &chain);
}

struct block_dev *block_raw_open(const char *path, bool readonly)
{
	return block_open(path, BLOCK_FORMAT_RAW, readonly);
}

void block_set_serial(struct block_dev *bd, const struct stat *st)
{
	char serial[32];

	/* A stable serial per image (its inode) so /dev/disk/by-id is stable. */
	snprintf(serial, sizeof(serial), "condo-%" PRIx64,
		 (uint64_t)(st->st_ino & 0xffffffffffffffull));
	memcpy(bd->serial, serial, sizeof(bd->serial) - 1);
	bd->serial[sizeof(bd->serial) - 1] = '\0';
}

int block_resolve_backing(const char *image, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(image, '/');
	size_t dirlen = slash ? (size_t)(slash - image) + 1 : 0;
	int n;

	/* A name that climbs with ".." could reach any file on the host. */
	for (const char *p = name; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		p += len;
		p += strspn(p, "/");
	}
	if (!name[0])
		return -EINVAL;
	if (name[0] == '/')
		dirlen = 0;
	n = snprintf(out, outlen, "%.*s%s", (int)dirlen, image, name);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int block_pread_full(int fd, void *buf, size_t len, uint64_t offset)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) { /* past the end of the file: a hole */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

int block_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

uint64_t block_iov_total(const struct iovec *iov, int iovcnt)
{
	uint64_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int block_iov_sub(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		  struct iovec *out)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len > 0; i++) {
		uint64_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		uint64_t take = l - skip < len ? l - skip : len;
		out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

void block_iov_zero(const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		memset(iov[i].iov_base, 0, iov[i].iov_len);
}

void block_iov_from_buf(const struct iovec *iov, int iovcnt, const uint8_t *buf)
{
	for (int i = 0; i < iovcnt; buf += iov[i].iov_len, i++)
		memcpy(iov[i].iov_base, buf, iov[i].iov_len);
}

void block_iov_to_buf(const struct iovec *iov, int iovcnt, uint8_t *buf)
{
	for (int i = 0; i < iovcnt; buf += iov[i].iov_len, i++)
		memcpy(buf, iov[i].iov_base, iov[i].iov_len);
}

static int raw_create(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err = 0;

	if (fd < 0) {
		err = -errno;
		log_err("img", "cannot create %s: %s", path, strerror(-err));
		return err;
	}
	if (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0) {
		err = -errno;
		log_err("img", "cannot size %s: %s", path, strerror(-err));
	}
	close(fd);
	return err;
}

int block_create(const char *path, enum block_format format, uint64_t size,
		 const char *backing, enum block_format backing_format)
{
	if (format == BLOCK_FORMAT_QCOW2)
		return qcow2_create(path, size, backing, backing_format);
	if (format != BLOCK_FORMAT_RAW) {
		log_err("img", "%s: cannot create a %s image (raw or qcow2)", path,
			block_format_name(format));
		return -EINVAL;
	}
	if (backing) {
		log_err("img", "%s: a raw image cannot have a backing file", path);
		return -EINVAL;
	}
	return raw_create(path, size);
}
