/* NBD disks through libnbd: a disk that lives on an NBD server, named by a
 * URI (nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?socket=PATH; libnbd
 * parses it).  The size comes from the server; the disk is read-only when
 * the server says so; flush, trim and write-zeroes become NBD_CMD_FLUSH,
 * NBD_CMD_TRIM and NBD_CMD_WRITE_ZEROES when the server advertises them
 * (otherwise: nothing to flush, discard is a no-op hint, zeros are
 * written).  The handle is thread-safe (libnbd locks it), so harts and I/O
 * threads may share it.  A failed command, a lost connection included, is
 * -EIO to the caller (an I/O error to the guest), never a crash: libnbd
 * sends with MSG_NOSIGNAL, so a dead peer raises no SIGPIPE.
 *
 * condo run connects before entering the jail, which takes the network
 * away (src/machine/vm.c); afterwards only socket I/O on the connected
 * descriptor happens (send/recv/poll, src/jail/allow.c). */
#include "block/block_internal.h"
#include "condo/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <libnbd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* libnbd is loaded by the first NBD disk (dlopen), not linked into condo:
 * with the TLS and XML libraries under it, it would cost every VMM about
 * 0.35 MiB of private pages, and most VMs have no NBD disk. */
#define LIBNBD "libnbd.so.0"
#define LIBNBD_CALLS(X)                                                                     \
	X(nbd_add_meta_context) X(nbd_block_status) X(nbd_can_flush) X(nbd_can_meta_context)  \
	X(nbd_can_trim) X(nbd_can_zero) X(nbd_close) X(nbd_connect_uri) X(nbd_create)         \
	X(nbd_flush) X(nbd_get_block_size) X(nbd_get_errno) X(nbd_get_error) X(nbd_get_size)  \
	X(nbd_is_read_only) X(nbd_pread) X(nbd_pwrite) X(nbd_set_uri_allow_local_file)        \
	X(nbd_shutdown) X(nbd_trim) X(nbd_zero)

static struct {
#define SLOT(f) __typeof__(f) *f;
	LIBNBD_CALLS(SLOT)
#undef SLOT
} lib;
static bool lib_ok;

static void load_libnbd(void)
{
	void *h = dlopen(LIBNBD, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_err("block", "cannot load %s (the libnbd0 package): %s", LIBNBD, dlerror());
		return;
	}
	/* POSIX: a symbol's address converts to the function's pointer. */
#define LOAD(f)                                                                             \
	if (!(*(void **)&lib.f = dlsym(h, #f))) {                                          \
		log_err("block", "%s has no %s", LIBNBD, #f);                              \
		return;                                                                     \
	}
	LIBNBD_CALLS(LOAD)
#undef LOAD
	lib_ok = true;
}

/* The largest request sent: 32 MiB (NBD's recommended maximum payload,
 * proto.md "Block size constraints") unless the server asks for less. */
#define NBD_CHUNK_MAX (32u << 20)
/* Trim and write-zeroes lengths are 32 bits on the wire. */
#define NBD_RANGE_MAX (1u << 30)

struct nbd_dev {
	struct block_dev bd; /* first: the ops get a block_dev pointer */
	struct nbd_handle *nbd;
	char *uri;
	uint32_t chunk;
	bool can_flush, can_trim, can_zero, can_status;
	atomic_bool failed; /* the first failure is logged, the rest are not */
};

static int nbd_failed(struct nbd_dev *d, const char *what)
{
	int err = lib.nbd_get_errno();

	if (!atomic_exchange(&d->failed, true))
		log_err("block", "%s: NBD %s failed: %s", d->uri, what, lib.nbd_get_error());
	return err == EROFS || err == EINVAL || err == ENOSPC ? -err : -EIO;
}

static int nbd_check(struct nbd_dev *d, uint64_t offset, uint64_t len, bool write)
{
	if (write && d->bd.readonly)
		return -EROFS;
	if (offset > d->bd.size || len > d->bd.size - offset)
		return -EINVAL;
	return 0;
}

static int nbd_io(struct block_dev *bd, const struct iovec *iov, int iovcnt, uint64_t offset,
		  bool write)
{
	struct nbd_dev *d = (struct nbd_dev *)bd;
	int err = nbd_check(d, offset, block_iov_total(iov, iovcnt), write);

	for (int i = 0; i < iovcnt && !err; i++) {
		uint8_t *p = iov[i].iov_base;
		for (size_t done = 0; done < iov[i].iov_len;) {
			size_t n = iov[i].iov_len - done < d->chunk ? iov[i].iov_len - done : d->chunk;
			int r = write ? lib.nbd_pwrite(d->nbd, p + done, n, offset, 0)
				      : lib.nbd_pread(d->nbd, p + done, n, offset, 0);
			if (r < 0)
				return nbd_failed(d, write ? "write" : "read");
			done += n;
			offset += n;
		}
	}
	return err;
}

static int nbd_dev_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			  uint64_t offset)
{
	return nbd_io(bd, iov, iovcnt, offset, false);
}

static int nbd_dev_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			   uint64_t offset)
{
	return nbd_io(bd, iov, iovcnt, offset, true);
}

static int nbd_dev_flush(struct block_dev *bd)
{
	struct nbd_dev *d = (struct nbd_dev *)bd;

	if (bd->readonly || !d->can_flush)
		return 0;
	return lib.nbd_flush(d->nbd, 0) < 0 ? nbd_failed(d, "flush") : 0;
}

/* Trim or zero [offset, offset+len) in pieces the wire can carry. */
static int nbd_ranges(struct nbd_dev *d, uint64_t offset, uint64_t len, bool zero)
{
	while (len > 0) {
		uint64_t n = len < NBD_RANGE_MAX ? len : NBD_RANGE_MAX;
		int r = zero ? lib.nbd_zero(d->nbd, n, offset, 0) : lib.nbd_trim(d->nbd, n, offset, 0);
		if (r < 0)
			return nbd_failed(d, zero ? "write-zeroes" : "trim");
		offset += n;
		len -= n;
	}
	return 0;
}

static int nbd_dev_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	struct nbd_dev *d = (struct nbd_dev *)bd;
	int err = nbd_check(d, offset, len, true);

	if (err || !d->can_trim)
		return err; /* a hint: without trim the data stays */
	return nbd_ranges(d, offset, len, false);
}

static int nbd_dev_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	struct nbd_dev *d = (struct nbd_dev *)bd;
	static const uint8_t zeros[65536];
	int err = nbd_check(d, offset, len, true);

	if (err)
		return err;
	if (d->can_zero)
		return nbd_ranges(d, offset, len, true);
	while (len > 0 && !err) {
		struct iovec v = { (void *)zeros, len < sizeof(zeros) ? len : sizeof(zeros) };
		err = nbd_io(bd, &v, 1, offset, true);
		offset += v.iov_len;
		len -= v.iov_len;
	}
	return err;
}

/* The first extent base:allocation reports for the range asked. */
struct status_arg {
	uint64_t len;
	uint32_t flags;
	bool got;
};

static int status_extent(void *user, const char *context, uint64_t offset, uint32_t *entries,
			 size_t nr, int *error)
{
	struct status_arg *a = user;

	if (strcmp(context, LIBNBD_CONTEXT_BASE_ALLOCATION) || nr < 2 || a->got)
		return 0;
	if (entries[0] > 0 && entries[0] < a->len)
		a->len = entries[0];
	a->flags = entries[1];
	a->got = true;
	return 0;
}

static int nbd_dev_status(struct block_dev *bd, uint64_t offset, uint64_t *len, uint64_t *host,
			  enum block_extent *kind)
{
	struct nbd_dev *d = (struct nbd_dev *)bd;
	struct status_arg a;

	if (offset >= bd->size)
		return -EINVAL;
	if (*len > bd->size - offset)
		*len = bd->size - offset;
	if (*len > NBD_RANGE_MAX)
		*len = NBD_RANGE_MAX;
	*host = offset;
	*kind = BLOCK_EXTENT_DATA;
	if (!d->can_status)
		return 0;
	a = (struct status_arg){ .len = *len };
	if (lib.nbd_block_status(d->nbd, *len, offset,
			     (nbd_extent_callback){ .callback = status_extent, .user_data = &a },
			     0) < 0)
		return nbd_failed(d, "block status");
	if (a.got) {
		*len = a.len;
		if (a.flags & LIBNBD_STATE_ZERO)
			*kind = BLOCK_EXTENT_ZERO;
	}
	return 0;
}

static void nbd_dev_info(struct block_dev *bd, struct block_info *info)
{
	*info = (struct block_info){ .format = BLOCK_FORMAT_NBD,
				     .size = bd->size,
				     .export_name = ((struct nbd_dev *)bd)->uri };
}

static void nbd_dev_close(struct block_dev *bd)
{
	struct nbd_dev *d = (struct nbd_dev *)bd;

	/* NBD_CMD_DISC after the writes in flight; the server then closes. */
	if (!atomic_load(&d->failed))
		lib.nbd_shutdown(d->nbd, 0);
	lib.nbd_close(d->nbd);
	free(d->uri);
	free(d);
}

static const struct block_ops nbd_ops = {
	.preadv = nbd_dev_preadv,
	.pwritev = nbd_dev_pwritev,
	.flush = nbd_dev_flush,
	.discard = nbd_dev_discard,
	.write_zeroes = nbd_dev_write_zeroes,
	.status = nbd_dev_status,
	.info = nbd_dev_info,
	.close = nbd_dev_close,
};

/* What the server advertised, after the handshake. */
static int nbd_learn(struct nbd_dev *d, bool readonly)
{
	int64_t size = lib.nbd_get_size(d->nbd), max = lib.nbd_get_block_size(d->nbd, LIBNBD_SIZE_MAXIMUM);
	int ro = lib.nbd_is_read_only(d->nbd);

	if (size < 0 || ro < 0) {
		log_err("block", "%s: %s", d->uri, lib.nbd_get_error());
		return -EIO;
	}
	d->bd.size = (uint64_t)size;
	d->bd.readonly = readonly || ro;
	if (ro && !readonly)
		log_info("block", "%s: the NBD server exports it read-only", d->uri);
	d->chunk = max > 0 && max < NBD_CHUNK_MAX ? (uint32_t)max : NBD_CHUNK_MAX;
	d->can_flush = lib.nbd_can_flush(d->nbd) > 0;
	d->can_trim = lib.nbd_can_trim(d->nbd) > 0;
	d->can_zero = lib.nbd_can_zero(d->nbd) > 0;
	d->can_status = lib.nbd_can_meta_context(d->nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) > 0;
	return 0;
}

struct block_dev *nbd_open(const char *uri, bool readonly)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load_libnbd);
	if (!lib_ok) {
		errno = ENOSYS;
		return NULL;
	}
	struct nbd_dev *d = calloc(1, sizeof(*d));
	int err = ENOMEM;

	if (!d || !(d->uri = strdup(uri)))
		goto err;
	d->nbd = lib.nbd_create();
	if (!d->nbd) {
		log_err("block", "%s: %s", uri, lib.nbd_get_error());
		goto err;
	}
	err = EINVAL;
	/* Only the network and Unix sockets: a URI never starts a program. */
	if (lib.nbd_set_uri_allow_local_file(d->nbd, false) < 0 ||
	    lib.nbd_add_meta_context(d->nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) < 0 ||
	    lib.nbd_connect_uri(d->nbd, uri) < 0) {
		log_err("block", "cannot connect to NBD disk %s: %s", uri, lib.nbd_get_error());
		goto err;
	}
	err = EIO;
	if (nbd_learn(d, readonly) < 0)
		goto err;
	d->bd.ops = &nbd_ops;
	d->bd.format = BLOCK_FORMAT_NBD;
	memcpy(d->bd.serial, "condo-nbd", sizeof("condo-nbd"));
	return &d->bd;
err:
	if (d) {
		if (d->nbd)
			lib.nbd_close(d->nbd);
		free(d->uri);
		free(d);
	}
	errno = err;
	return NULL;
}
