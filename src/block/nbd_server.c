/* The NBD server side: the fixed newstyle handshake, then simple replies
 * to READ, WRITE, FLUSH, TRIM, WRITE_ZEROES and DISC on one block device
 * (NetworkBlockDevice's doc/proto.md; section names are quoted below).
 * Every field comes from an untrusted peer: option lengths are bounded
 * before anything is read into memory, request ranges are checked against
 * the disk before the block layer sees them, and a message that cannot be
 * framed (bad magic, a payload too large to skip) ends the connection. */
#include "block/nbd_proto.h"
#include "condo/log.h"
#include "condo/nbd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The longest option accepted: an INFO/GO naming a 4096-byte export
 * ("strings ... MUST be no longer than 4096 bytes") and asking for a few
 * hundred info items.  Longer options up to NBD_OPT_SKIP_MAX are read and
 * answered NBD_REP_ERR_TOO_BIG; beyond that the connection ends. */
#define NBD_OPT_MAX 8192
#define NBD_OPT_SKIP_MAX (1u << 20)

struct nbd_conn {
	const struct nbd_export *exp;
	int in, out;
	bool no_zeroes;
	uint8_t *buf; /* the payload of one READ or WRITE */
	uint32_t buflen;
};

/* Room for len payload bytes (len <= NBD_SERVER_MAX_PAYLOAD): the buffer
 * grows to the largest request seen, so small clients stay small. */
static int reserve(struct nbd_conn *c, uint32_t len)
{
	uint8_t *p;

	if (len <= c->buflen)
		return 0;
	p = realloc(c->buf, len);
	if (!p)
		return -ENOMEM;
	c->buf = p;
	c->buflen = len;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static bool stopped(const struct nbd_conn *c)
{
	return c->exp->stop && *c->exp->stop;
}

/* Move all of len bytes to or from the peer, retrying short transfers and
 * interrupts (unless the server is stopping).  -ECONNRESET when the peer
 * closed early (a read of nothing), -EIO when a write takes nothing. */
static int transfer(struct nbd_conn *c, void *buf, size_t len, bool write_out)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write_out ? write(c->out, p, len) : read(c->in, p, len);
		if (n < 0 && errno == EINTR) {
			if (stopped(c))
				return -EINTR;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return write_out ? -EIO : -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_full(struct nbd_conn *c, void *buf, size_t len)
{
	return transfer(c, buf, len, false);
}

static int send_full(struct nbd_conn *c, const void *buf, size_t len)
{
	return transfer(c, (void *)buf, len, true);
}

/* Read and drop len bytes (an option too long to keep). */
static int recv_skip(struct nbd_conn *c, uint64_t len)
{
	uint8_t junk[4096];

	while (len > 0) {
		size_t n = len < sizeof(junk) ? (size_t)len : sizeof(junk);
		int err = recv_full(c, junk, n);
		if (err)
			return err;
		len -= n;
	}
	return 0;
}

/* "Option reply": magic, the option, the reply type, its data. */
static int opt_reply(struct nbd_conn *c, uint32_t opt, uint32_t type, const void *data,
		     uint32_t len)
{
	uint8_t h[20];
	int err;

	put64(h, NBD_REP_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	err = send_full(c, h, sizeof(h));
	return err || !len ? err : send_full(c, data, len);
}

static uint16_t transmission_flags(const struct nbd_conn *c)
{
	uint16_t flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA;

	if (c->exp->readonly)
		flags |= NBD_FLAG_READ_ONLY;
	else
		flags |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
	return flags;
}

static bool name_matches(const struct nbd_conn *c, const uint8_t *name, uint32_t len)
{
	return strlen(c->exp->name) == len && !memcmp(c->exp->name, name, len);
}

/* NBD_OPT_EXPORT_NAME: no error reply exists, so an unknown name closes
 * the connection ("the server MUST terminate the session"). */
static int opt_export_name(struct nbd_conn *c, const uint8_t *data, uint32_t len)
{
	uint8_t reply[10 + 124] = { 0 };

	if (!name_matches(c, data, len)) {
		log_warn("nbd", "a client asked for an unknown export (NBD_OPT_EXPORT_NAME)");
		return -EPROTO;
	}
	put64(reply, c->exp->dev->size);
	put16(reply + 8, transmission_flags(c));
	return send_full(c, reply, c->no_zeroes ? 10 : sizeof(reply));
}

/* NBD_OPT_INFO and NBD_OPT_GO: name length, name, info request count,
 * requests; the replies are NBD_INFO_EXPORT (always), NBD_INFO_BLOCK_SIZE
 * and NBD_INFO_NAME when asked, then NBD_REP_ACK.  1: GO succeeded. */
static int opt_info(struct nbd_conn *c, uint32_t opt, const uint8_t *data, uint32_t len)
{
	uint32_t namelen;
	uint16_t nreq;
	uint8_t info[14];
	bool want_size = false, want_name = false;
	int err;

	if (len < 6 || (namelen = get32(data)) > len - 6 ||
	    (nreq = get16(data + 4 + namelen), len != 6 + namelen + 2u * nreq))
		return opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (!name_matches(c, data + 4, namelen))
		return opt_reply(c, opt, NBD_REP_ERR_UNKNOWN, NULL, 0);
	for (uint16_t i = 0; i < nreq; i++) {
		uint16_t type = get16(data + 6 + namelen + 2 * i);
		want_size |= type == NBD_INFO_BLOCK_SIZE;
		want_name |= type == NBD_INFO_NAME;
	}
	put16(info, NBD_INFO_EXPORT);
	put64(info + 2, c->exp->dev->size);
	put16(info + 10, transmission_flags(c));
	err = opt_reply(c, opt, NBD_REP_INFO, info, 12);
	if (!err && want_size) {
		put16(info, NBD_INFO_BLOCK_SIZE);
		put32(info + 2, 1);    /* minimum: any byte */
		put32(info + 6, 4096); /* preferred */
		put32(info + 10, NBD_SERVER_MAX_PAYLOAD);
		err = opt_reply(c, opt, NBD_REP_INFO, info, 14);
	}
	if (!err && want_name) {
		uint8_t *item = malloc(2 + namelen);
		if (!item)
			return -ENOMEM;
		put16(item, NBD_INFO_NAME);
		memcpy(item + 2, data + 4, namelen);
		err = opt_reply(c, opt, NBD_REP_INFO, item, 2 + namelen);
		free(item);
	}
	if (!err)
		err = opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
	return err ? err : opt == NBD_OPT_GO;
}

/* NBD_OPT_LIST: the one export, then NBD_REP_ACK. */
static int opt_list(struct nbd_conn *c, uint32_t len)
{
	uint32_t namelen = (uint32_t)strlen(c->exp->name);
	uint8_t *item;
	int err;

	if (len)
		return opt_reply(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID, NULL, 0);
	item = malloc(4 + namelen);
	if (!item)
		return -ENOMEM;
	put32(item, namelen);
	memcpy(item + 4, c->exp->name, namelen);
	err = opt_reply(c, NBD_OPT_LIST, NBD_REP_SERVER, item, 4 + namelen);
	free(item);
	return err ? err : opt_reply(c, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

/* One option: 0 to read the next, 1 to start transmission, 2 after
 * NBD_OPT_ABORT, or -errno to close. */
static int one_option(struct nbd_conn *c, uint8_t *data)
{
	uint8_t h[16];
	uint32_t opt, len;
	int err = recv_full(c, h, sizeof(h));

	if (err)
		return err;
	if (get64(h) != NBD_IHAVEOPT) {
		log_warn("nbd", "bad option magic from a client; closing");
		return -EPROTO;
	}
	opt = get32(h + 8);
	len = get32(h + 12);
	if (len > NBD_OPT_MAX) {
		if (len > NBD_OPT_SKIP_MAX || opt == NBD_OPT_EXPORT_NAME) {
			log_warn("nbd", "option %" PRIu32 " of %" PRIu32 " bytes; closing", opt, len);
			return -EPROTO;
		}
		err = recv_skip(c, len);
		return err ? err : opt_reply(c, opt, NBD_REP_ERR_TOO_BIG, NULL, 0);
	}
	err = recv_full(c, data, len);
	if (err)
		return err;
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		err = opt_export_name(c, data, len);
		return err ? err : 1;
	case NBD_OPT_ABORT:
		/* "the server SHOULD send NBD_REP_ACK"; the client may be gone. */
		opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
		return 2;
	case NBD_OPT_LIST:
		return opt_list(c, len);
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return opt_info(c, opt, data, len);
	case NBD_OPT_STARTTLS:
		return opt_reply(c, opt, NBD_REP_ERR_POLICY, NULL, 0);
	default: /* structured replies, meta contexts, ...: not offered */
		return opt_reply(c, opt, NBD_REP_ERR_UNSUP, NULL, 0);
	}
}

/* "Fixed newstyle negotiation": 1 to transmit, 0 when the client
 * aborted, -errno to close. */
static int handshake(struct nbd_conn *c)
{
	uint8_t hello[18], cflags[4];
	uint8_t *data;
	uint32_t flags;
	int ret;

	put64(hello, NBD_MAGIC);
	put64(hello + 8, NBD_IHAVEOPT);
	put16(hello + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	ret = send_full(c, hello, sizeof(hello));
	if (!ret)
		ret = recv_full(c, cflags, sizeof(cflags));
	if (ret)
		return ret;
	flags = get32(cflags);
	if (!(flags & NBD_FLAG_C_FIXED_NEWSTYLE) ||
	    (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES))) {
		log_warn("nbd", "client flags 0x%" PRIx32 " (fixed newstyle needed); closing",
			 flags);
		return -EPROTO;
	}
	c->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
	data = malloc(NBD_OPT_MAX);
	if (!data)
		return -ENOMEM;
	do
		ret = one_option(c, data);
	while (ret == 0);
	free(data);
	return ret == 2 ? 0 : ret;
}

static uint32_t nbd_errno(int err)
{
	switch (err) {
	case 0: return 0;
	case -EROFS:
	case -EPERM: return NBD_EPERM;
	case -ENOSPC: return NBD_ENOSPC;
	case -EINVAL: return NBD_EINVAL;
	case -ENOMEM: return NBD_ENOMEM;
	default: return NBD_EIO;
	}
}

/* "Simple reply message", with the READ payload when there is no error. */
static int simple_reply(struct nbd_conn *c, const uint8_t *req, int err, uint32_t datalen)
{
	uint8_t h[16];
	int ret;

	put32(h, NBD_SIMPLE_REPLY_MAGIC);
	put32(h + 4, nbd_errno(err));
	memcpy(h + 8, req + 8, 8); /* the client's cookie, as sent */
	ret = send_full(c, h, sizeof(h));
	if (!ret && !err && datalen)
		ret = send_full(c, c->buf, datalen);
	return ret;
}

static bool in_disk(const struct nbd_conn *c, uint64_t offset, uint32_t len)
{
	uint64_t size = c->exp->dev->size;

	return offset <= size && len <= size - offset;
}

/* Zeros written out (NBD_CMD_FLAG_NO_HOLE: the range must stay allocated). */
static int write_zero_data(struct nbd_conn *c, uint64_t offset, uint32_t len)
{
	uint32_t chunk = len < (1u << 20) ? len : (1u << 20);
	int err = len ? reserve(c, chunk) : 0;

	if (err || !len)
		return err;
	memset(c->buf, 0, chunk);
	while (len > 0 && !err) {
		uint32_t n = len < chunk ? len : chunk;
		struct iovec v = { c->buf, n };
		err = block_pwritev(c->exp->dev, &v, 1, offset);
		offset += n;
		len -= n;
	}
	return err;
}

/* A command that changes the disk: its checks, then do_it. */
static int modify(struct nbd_conn *c, uint16_t type, uint16_t flags, uint64_t offset,
		  uint32_t len)
{
	struct block_dev *dev = c->exp->dev;
	struct iovec v = { c->buf, len };
	int err;

	if (c->exp->readonly)
		return -EPERM;
	if (!in_disk(c, offset, len))
		return -ENOSPC; /* "past the end of the export": ENOSPC for writes */
	if (type == NBD_CMD_WRITE)
		err = len ? block_pwritev(dev, &v, 1, offset) : 0;
	else if (type == NBD_CMD_TRIM)
		err = len ? block_discard(dev, offset, len) : 0;
	else if (flags & NBD_CMD_FLAG_NO_HOLE)
		err = write_zero_data(c, offset, len);
	else
		err = len ? block_write_zeroes(dev, offset, len) : 0;
	if (!err && (flags & NBD_CMD_FLAG_FUA))
		err = block_flush(dev);
	return err;
}

static int read_disk(struct nbd_conn *c, uint64_t offset, uint32_t len)
{
	struct iovec v;
	int err;

	if (len > NBD_SERVER_MAX_PAYLOAD || !in_disk(c, offset, len))
		return -EINVAL;
	if (!len)
		return 0;
	err = reserve(c, len);
	if (err)
		return err;
	v = (struct iovec){ c->buf, len };
	return block_preadv(c->exp->dev, &v, 1, offset);
}

/* One request: 0 to go on, 1 after NBD_CMD_DISC, -errno to close. */
static int one_request(struct nbd_conn *c)
{
	uint8_t req[NBD_REQUEST_SIZE];
	uint16_t flags, type;
	uint64_t offset;
	uint32_t len;
	int err = recv_full(c, req, sizeof(req));

	if (err)
		return err;
	if (get32(req) != NBD_REQUEST_MAGIC) {
		log_warn("nbd", "bad request magic from a client; closing");
		return -EPROTO;
	}
	flags = get16(req + 4);
	type = get16(req + 6);
	offset = get64(req + 16);
	len = get32(req + 24);
	if (type == NBD_CMD_WRITE) {
		/* The payload follows: one too large to hold cannot be skipped
		 * safely (4 GiB of it), so the connection ends. */
		if (len > NBD_SERVER_MAX_PAYLOAD) {
			log_warn("nbd", "a client sent a %" PRIu32 "-byte write; closing", len);
			return -EPROTO;
		}
		err = reserve(c, len);
		if (!err)
			err = recv_full(c, c->buf, len);
		if (err)
			return err;
	}
	if (flags & ~(NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE))
		return simple_reply(c, req, -EINVAL, 0);
	switch (type) {
	case NBD_CMD_READ:
		return simple_reply(c, req, read_disk(c, offset, len), len);
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		return simple_reply(c, req, modify(c, type, flags, offset, len), 0);
	case NBD_CMD_FLUSH:
		return simple_reply(c, req, c->exp->readonly ? 0 : block_flush(c->exp->dev), 0);
	case NBD_CMD_DISC:
		/* No reply; what was written is made durable before leaving. */
		if (!c->exp->readonly)
			block_flush(c->exp->dev);
		return 1;
	default:
		return simple_reply(c, req, -EINVAL, 0);
	}
}

int nbd_serve(const struct nbd_export *exp, int in_fd, int out_fd)
{
	struct nbd_conn c = { .exp = exp, .in = in_fd, .out = out_fd };
	int ret = handshake(&c);

	if (ret <= 0)
		return ret;
	do
		ret = one_request(&c);
	while (ret == 0 && !stopped(&c));
	free(c.buf);
	if (ret == 0)
		return -EINTR;
	return ret == 1 ? 0 : ret;
}
