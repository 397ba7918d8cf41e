/* Block back ends: a disk image behind a small ops table, so device models
 * (virtio-blk) do not care whether it is a raw file or a qcow2 image (with
 * a chain of backing files).  Transfers are vectored and go straight to the
 * caller's buffers.  See docs/img.md for the formats. */
#ifndef CONDO_BLOCK_H
#define CONDO_BLOCK_H

#include "condo/types.h"

#include <errno.h>
#include <sys/uio.h>

struct block_dev;
struct block_req;

enum block_format {
	BLOCK_FORMAT_AUTO,  /* probe: qcow2 or composite by magic, nbd by URI, else raw */
	BLOCK_FORMAT_RAW,
	BLOCK_FORMAT_QCOW2,
	BLOCK_FORMAT_COMPOSITE, /* a descriptor naming parts laid end to end (composite.c) */
	BLOCK_FORMAT_NBD,       /* a disk on an NBD server, named by an nbd:// URI (nbd.c) */
};

/* What `condo img info` and `map` show about an image. */
struct block_info {
	enum block_format format;
	uint64_t size;          /* virtual disk size in bytes */
	uint32_t version;       /* qcow2: 2 or 3 */
	uint32_t cluster_size;  /* qcow2 */
	uint32_t refcount_bits; /* qcow2 */
	bool dirty, corrupt;    /* qcow2 incompatible feature bits */
	const char *compression; /* qcow2: "zlib" or "zstd" */
	const char *backing_file; /* as stored in the image; NULL: none */
	const char *backing_path; /* resolved against the image's directory */
	enum block_format backing_format;
	struct block_dev *backing;
	int nparts;              /* composite: how many (block_composite_part) */
	const char *export_name; /* nbd: the URI connected to */
};

/* One part of a composite disk. */
struct block_part {
	const char *path;        /* resolved against the descriptor's directory */
	const char *name;        /* as written in the descriptor */
	uint64_t start, size;    /* where it lies in the composite disk */
	bool readonly;           /* marked read-only in the descriptor */
	struct block_dev *dev;
};

/* The composite disk's part index (0 to nparts-1): 0, or -ENOENT past the
 * last one, -EINVAL when bd is not a composite disk. */
int block_composite_part(struct block_dev *bd, int index, struct block_part *part);

/* The most parts one composite disk has (docs/img.md, "Composite disks"). */
#define BLOCK_MAX_PARTS 64

/* Does this name an NBD disk (format nbd, or an nbd:// or nbd+unix:// URI
 * with the format probed)?  Such a disk is reached over a socket, so
 * condo run connects it before the jail takes the network away. */
bool block_is_remote(const char *path, enum block_format format);

/* What a consistency check found (`condo img check`). */
enum block_repair { BLOCK_REPAIR_NONE, BLOCK_REPAIR_LEAKS, BLOCK_REPAIR_ALL };

struct block_check {
	uint64_t leaks, errors;              /* found */
	uint64_t fixed_leaks, fixed_errors;  /* of those, repaired */
	uint64_t allocated, total;           /* data clusters stored / of the disk */
};

/* block_status() kinds, for `condo img map`. */
enum block_extent {
	BLOCK_EXTENT_DATA,    /* stored in this image at *host */
	BLOCK_EXTENT_ZERO,    /* reads as zeros, nothing stored */
	BLOCK_EXTENT_BACKING, /* comes from the backing file */
	BLOCK_EXTENT_COMPRESSED, /* stored compressed in this image */
};

struct block_ops {
	/* Transfer all of iov at byte offset, or fail: 0 or a negative errno.
	 * Reads past the image's end are -EINVAL; so are writes to a
	 * read-only image (-EROFS). */
	int (*preadv)(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset);
	int (*pwritev)(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset);
	/* Make completed writes durable (fdatasync for a raw file). */
	int (*flush)(struct block_dev *bd);
	/* Give back [offset, offset+len): later reads return zeros or the
	 * old data (a hint; parts smaller than the allocation unit stay). */
	int (*discard)(struct block_dev *bd, uint64_t offset, uint64_t len);
	/* Make [offset, offset+len) read as zeros, freeing space where the
	 * format can say "zeros" without storing them. */
	int (*write_zeroes)(struct block_dev *bd, uint64_t offset, uint64_t len);
	/* The kind of the extent at offset and its length (*len, at most the
	 * len passed in); *host: where DATA lives in the image file. */
	int (*status)(struct block_dev *bd, uint64_t offset, uint64_t *len, uint64_t *host,
		      enum block_extent *kind);
	void (*info)(struct block_dev *bd, struct block_info *info);
	/* Check the metadata (NULL: the format has none); -ENOTSUP when
	 * the check cannot judge the image. */
	int (*check)(struct block_dev *bd, enum block_repair repair, struct block_check *res);
	/* Give the disk a new size (`condo img resize`): bytes past the old
	 * end read as zeros, bytes past a smaller one are given back.  NULL:
	 * the format cannot. */
	int (*resize)(struct block_dev *bd, uint64_t size);
	/* Store a new backing file name and format in the image (name NULL:
	 * none), for `condo img rebase` and `commit`.  The open chain is not
	 * reopened.  NULL: the format has no backing files. */
	int (*set_backing)(struct block_dev *bd, const char *name, enum block_format format);
	void (*close)(struct block_dev *bd);
	/* Optional, for the asynchronous engines (condo/block_aio.h): the
	 * descriptor that vectored reads and writes at disk offsets and
	 * fdatasync may use directly (req NULL: the image's one descriptor);
	 * -1 when req must go through the operations above instead. */
	int (*direct_fd)(struct block_dev *bd, const struct block_req *req);
	/* Optional: bypass the host page cache (cache=none, O_DIRECT).
	 * 0, or -ENOTSUP when the format cannot. */
	int (*set_direct)(struct block_dev *bd);
};

/* What the guest moved through a disk: cumulative, for metering (condo
 * run --meter).  Updated atomically by whichever thread does the I/O. */
struct block_stats {
	uint64_t read_bytes, write_bytes, read_ops, write_ops;
};

struct block_dev {
	const struct block_ops *ops;
	struct block_stats stats; /* requests through the block_* calls below */
	uint64_t size;  /* bytes */
	bool readonly;
	enum block_format format;
	uint32_t block_size; /* the smallest transfer unit the host allows (512; more with O_DIRECT) */
	char serial[21]; /* up to 20 characters, NUL-terminated: virtio-blk GET_ID */
};

/* The deepest backing chain opened (an image and 15 backing files). */
#define BLOCK_MAX_CHAIN 16

/* Open a raw image (a regular file or a host block device) read-only or
 * read-write, locked against a second writer (flock: shared when
 * read-only, exclusive when read-write).  NULL with a one-line error
 * logged when it cannot be opened or is in use. */
struct block_dev *block_raw_open(const char *path, bool readonly);

/* Open an image of the given format (AUTO: probe by magic; an explicit
 * format that the file's magic contradicts is an error), with its backing
 * chain opened read-only.  NULL with a one-line error naming the image
 * and the problem. */
struct block_dev *block_open(const char *path, enum block_format format, bool readonly);

/* block_open, and every backing file of the chain must lie beneath
 * image_dir (NULL: anywhere), symbolic links followed, as a tenant's
 * images must stay inside their store (--image-dir).  The image itself is
 * the caller's choice and is not checked. */
struct block_dev *block_open_in(const char *path, enum block_format format, bool readonly,
				const char *image_dir);

/* Open the image alone, without its backing chain (whose name stays in
 * block_info): unallocated parts read as zeros.  For `condo img commit`
 * and `rebase`, which open the backing files themselves. */
struct block_dev *block_open_image_only(const char *path, enum block_format format,
					bool readonly);

/* block_open_in, read-only and without taking the images' locks, for a
 * backup of a VM's disk while its VMM is paused: qcow2 metadata is
 * written through, so the file is consistent at any pause (as after a
 * crash). */
struct block_dev *block_open_shared(const char *path, enum block_format format,
				    const char *image_dir);

/* Open read-write for `condo img check -r`: an image marked dirty or
 * corrupt opens too (the repair clears the marks when it leaves no error). */
struct block_dev *block_open_for_repair(const char *path, enum block_format format);

/* The directory part of path resolved with name: name itself when it is
 * absolute.  -EINVAL when a component of name is "..", -ENAMETOOLONG. */
int block_resolve_backing(const char *image, const char *name, char *out, size_t outlen);

/* Progress of a long operation: done of total bytes.  Non-zero stops it
 * (-ECANCELED). */
typedef int (*block_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* Copy src's whole disk into dst (at least as large), skipping zeros so
 * dst stays sparse, then flush dst.  0 or -errno. */
int block_copy(struct block_dev *src, struct block_dev *dst, block_progress_fn progress,
	       void *arg);

/* "raw"/"qcow2"/"composite"/"nbd" to a format: 0, or -EINVAL for an unknown name. */
int block_format_parse(const char *name, enum block_format *format);
const char *block_format_name(enum block_format format);

/* Create an image: raw (sparse, size bytes) or qcow2 version 3 with 64 KiB
 * clusters and an optional backing file (its name stored as given,
 * resolved against the new image's directory; size 0 takes the backing
 * file's size).  0 or -errno, with a one-line error logged. */
int block_create(const char *path, enum block_format format, uint64_t size,
		 const char *backing, enum block_format backing_format);

/* Count a finished request of bytes in bd->stats (also for transfers an
 * engine makes without the calls below: io_uring, condo/block_aio.h). */
static inline void block_count_bytes(struct block_dev *bd, uint64_t bytes, bool write)
{
	__atomic_fetch_add(write ? &bd->stats.write_bytes : &bd->stats.read_bytes, bytes,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(write ? &bd->stats.write_ops : &bd->stats.read_ops, 1,
			   __ATOMIC_RELAXED);
}

static inline void block_count(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			       bool write)
{
	uint64_t bytes = 0;

	for (int i = 0; i < iovcnt; i++)
		bytes += iov[i].iov_len;
	block_count_bytes(bd, bytes, write);
}

static inline int block_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			       uint64_t offset)
{
	int err = bd->ops->preadv(bd, iov, iovcnt, offset);

	if (!err)
		block_count(bd, iov, iovcnt, false);
	return err;
}

static inline int block_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
				uint64_t offset)
{
	int err = bd->ops->pwritev(bd, iov, iovcnt, offset);

	if (!err)
		block_count(bd, iov, iovcnt, true);
	return err;
}

static inline int block_flush(struct block_dev *bd)
{
	return bd->ops->flush(bd);
}

static inline int block_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	return bd->ops->discard(bd, offset, len);
}

static inline int block_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	return bd->ops->write_zeroes(bd, offset, len);
}

static inline int block_status(struct block_dev *bd, uint64_t offset, uint64_t *len,
			       uint64_t *host, enum block_extent *kind)
{
	return bd->ops->status(bd, offset, len, host, kind);
}

static inline void block_get_info(struct block_dev *bd, struct block_info *info)
{
	bd->ops->info(bd, info);
}

static inline int block_resize(struct block_dev *bd, uint64_t size)
{
	return bd->ops->resize ? bd->ops->resize(bd, size) : -ENOTSUP;
}

static inline int block_set_backing(struct block_dev *bd, const char *name,
				    enum block_format format)
{
	return bd->ops->set_backing ? bd->ops->set_backing(bd, name, format) : -ENOTSUP;
}

static inline void block_close(struct block_dev *bd)
{
	if (bd)
		bd->ops->close(bd);
}

#endif
