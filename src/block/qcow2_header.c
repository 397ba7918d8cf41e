/* The header cluster's variable part: header extensions and the backing
 * file name (QEMU's docs/interop/qcow2.txt, "Header extensions").  New
 * images are laid out here, and `condo img rebase` and `commit` store a
 * new backing file through qcow2_set_backing. */
#include "block/qcow2.h"
#include "condo/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int qcow2_put_backing(uint8_t *h, uint64_t off, uint64_t room, const char *name,
		      enum block_format format)
{
	const char *fmt = block_format_name(format);
	uint64_t need = 8 + (name ? 8 + ((strlen(fmt) + 7) & ~7ul) + strlen(name) : 0);

	if (off > room || need > room - off)
		return -ENOSPC;
	if (name) {
		qcow2_put32(h + off, QCOW2_EXT_BACKING_FORMAT);
		qcow2_put32(h + off + 4, (uint32_t)strlen(fmt));
		memset(h + off + 8, 0, (strlen(fmt) + 7) & ~7ul);
		memcpy(h + off + 8, fmt, strlen(fmt));
		off += 8 + ((strlen(fmt) + 7) & ~7ul);
	}
	memset(h + off, 0, 8); /* the end of the extensions: type 0, length 0 */
	off += 8;
	qcow2_put64(h + 8, name ? off : 0);
	qcow2_put32(h + 16, name ? (uint32_t)strlen(name) : 0);
	if (name)
		memcpy(h + off, name, strlen(name));
	return 0;
}

int qcow2_set_backing(struct block_dev *bd, const char *name, enum block_format format)
{
	struct qcow2 *q = (struct qcow2 *)bd;
	uint64_t cs = q->cluster_size, off, keep, end;
	uint8_t *h;
	int err;

	if (bd->readonly)
		return -EROFS;
	if (name && (!name[0] || strlen(name) > QCOW2_MAX_BACKING_NAME))
		return -ENAMETOOLONG;
	h = calloc(1, cs);
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&q->lock);
	err = block_pread_full(q->fd, h, cs, 0);
	/* Keep every extension but the backing format, in place; they were
	 * checked at open.  The old name after them goes. */
	end = qcow2_be64(h + 8) ? qcow2_be64(h + 8) : cs;
	off = keep = q->header_length;
	while (!err && off + 8 <= end) {
		uint32_t type = qcow2_be32(h + off), len = qcow2_be32(h + off + 4);
		uint64_t size = 8 + ((len + 7ull) & ~7ull);

		if (type == QCOW2_EXT_END || size > end - off)
			break;
		if (type != QCOW2_EXT_BACKING_FORMAT) {
			memmove(h + keep, h + off, size);
			keep += size;
		}
		off += size;
	}
	memset(h + keep, 0, cs - keep);
	if (!err)
		err = qcow2_put_backing(h, keep, cs, name, format);
	/* The whole cluster in one write, as QEMU rewrites its header. */
	if (!err)
		err = block_pwrite_full(q->fd, h, cs, 0);
	if (!err && fdatasync(q->fd) < 0)
		err = -errno;
	if (!err) {
		snprintf(q->backing_name, sizeof(q->backing_name), "%s", name ? name : "");
		q->backing_format = name ? format : BLOCK_FORMAT_AUTO;
		if (name)
			err = block_resolve_backing(q->path, name, q->backing_path,
						    sizeof(q->backing_path));
	}
	pthread_mutex_unlock(&q->lock);
	free(h);
	if (err == -ENOSPC)
		log_err("block", "%s: the backing file name does not fit in the header cluster",
			q->path);
	return err;
}
