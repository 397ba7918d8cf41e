/* Composite disks: one logical disk made of several images laid end to
 * end, described by a small text file (docs/img.md, "Composite disks"):
 *
 *	condo-composite-disk v1
 *	# PATH FORMAT [readonly] [size=BYTES]
 *	base.raw     raw   readonly
 *	home.qcow2   qcow2
 *
 * Each part is a raw file or a qcow2 image (with its backing chain),
 * opened with the format written, never probed.  A request is split at
 * the part boundaries; a write or write-zeroes that touches a read-only
 * part fails whole with -EROFS before any byte moves, and the rest of the
 * disk stays writable.  Parts cannot be composite or NBD disks (no
 * nesting, so no loops through descriptors), and no file is used twice. */
#include "block/composite.h"
#include "condo/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct composite_part {
	struct block_dev *dev;
	char *name; /* as written */
	char *path; /* resolved */
	uint64_t start, size;
	bool readonly; /* opened read-only: marked so, or the whole disk is */
	bool marked;   /* "readonly" in the descriptor */
};

struct composite_dev {
	struct block_dev bd; /* first: the ops get a block_dev pointer */
	int nparts;
	struct composite_part part[BLOCK_MAX_PARTS];
};

/* What one descriptor line asks for, before anything is opened. */
struct part_line {
	int lineno;
	char *name;
	enum block_format format;
	bool readonly;
	uint64_t size; /* 0: the whole image */
};

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end || v > (UINT64_MAX >> 1) >> shift)
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* One line's words: PATH FORMAT [readonly] [size=N]. */
static int parse_line(const char *desc, int lineno, char *line, struct part_line *pl)
{
	char *save = NULL, *word;
	int n = 0;

	*pl = (struct part_line){ .lineno = lineno };
	for (word = strtok_r(line, " \t\r", &save); word; word = strtok_r(NULL, " \t\r", &save)) {
		if (n == 0) {
			pl->name = word;
		} else if (n == 1) {
			if (strcmp(word, "raw") && strcmp(word, "qcow2")) {
				log_err("block", "%s line %d: part format '%s' is not raw or qcow2 "
					"(composite and nbd parts are not allowed)", desc, lineno, word);
				return -EINVAL;
			}
			block_format_parse(word, &pl->format);
		} else if (!strcmp(word, "readonly")) {
			pl->readonly = true;
		} else if (!strncmp(word, "size=", 5)) {
			if (parse_size(word + 5, &pl->size) < 0 || pl->size == 0) {
				log_err("block", "%s line %d: bad size '%s' (bytes, or K, M, G, T)",
					desc, lineno, word + 5);
				return -EINVAL;
			}
		} else {
			log_err("block", "%s line %d: unknown word '%s' (readonly or size=BYTES)",
				desc, lineno, word);
			return -EINVAL;
		}
		n++;
	}
	if (n < 2) {
		log_err("block", "%s line %d: needs PATH FORMAT [readonly] [size=BYTES]", desc,
			lineno);
		return -EINVAL;
	}
	return 0;
}

/* Split the text into part lines (comments and blank lines skipped). */
static int parse_text(const char *desc, char *text, struct part_line *lines, int *nlines)
{
	int lineno = 1, n = 0;
	char *p = text + COMPOSITE_MAGIC_LEN;

	while (*p) {
		char *nl = strchr(p, '\n'), *line = p;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		lineno++;
		p += len + (nl ? 1 : 0);
		line[len] = '\0';
		if (len >= COMPOSITE_MAX_LINE) {
			log_err("block", "%s line %d: longer than %d bytes", desc, lineno,
				COMPOSITE_MAX_LINE - 1);
			return -EINVAL;
		}
		line += strspn(line, " \t\r");
		if (!*line || *line == '#')
			continue;
		if (n == BLOCK_MAX_PARTS) {
			log_err("block", "%s line %d: more than %d parts", desc, lineno,
				BLOCK_MAX_PARTS);
			return -E2BIG;
		}
		if (parse_line(desc, lineno, line, &lines[n]) < 0)
			return -EINVAL;
		n++;
	}
	if (n == 0) {
		log_err("block", "%s: a composite disk with no parts", desc);
		return -EINVAL;
	}
	*nlines = n;
	return 0;
}

static int read_text(int fd, const struct stat *st, const char *desc, char **out)
{
	char *text;
	int err;

	if (st->st_size > COMPOSITE_MAX_TEXT) {
		log_err("block", "%s: composite descriptor larger than %d bytes", desc,
			COMPOSITE_MAX_TEXT);
		return -EFBIG;
	}
	text = calloc(1, (size_t)st->st_size + 1);
	if (!text)
		return -ENOMEM;
	err = block_pread_full(fd, text, (size_t)st->st_size, 0);
	if (!err && strlen(text) != (size_t)st->st_size) {
		log_err("block", "%s: composite descriptor holds a NUL byte", desc);
		err = -EINVAL;
	}
	if (err) {
		free(text);
		return err;
	}
	*out = text;
	return 0;
}

/* A file used twice (or the descriptor used as a part) would be written
 * through two views: refuse. */
static int check_unique(const char *desc, const struct stat *desc_st, struct stat *seen,
			int n, const struct part_line *pl, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0; /* block_open names the problem */
	if (st.st_dev == desc_st->st_dev && st.st_ino == desc_st->st_ino) {
		log_err("block", "%s line %d: the descriptor names itself as a part", desc,
			pl->lineno);
		return -ELOOP;
	}
	for (int i = 0; i < n; i++) {
		if (seen[i].st_dev == st.st_dev && seen[i].st_ino == st.st_ino) {
			log_err("block", "%s line %d: %s is already part %d of this disk", desc,
				pl->lineno, pl->name, i + 1);
			return -EINVAL;
		}
	}
	seen[n] = st;
	return 0;
}

static int open_part(struct composite_dev *c, const char *desc, const struct part_line *pl,
		     bool readonly, const struct block_chain *chain, uint64_t start)
{
	struct composite_part *part = &c->part[c->nparts];
	struct block_chain sub = *chain; /* the descriptor is every part's ancestor */
	char path[4096];
	int err = block_resolve_backing(desc, pl->name, path, sizeof(path));

	if (err) {
		log_err("block", "%s line %d: part name '%s' %s", desc, pl->lineno, pl->name,
			err == -EINVAL ? "climbs out with '..'" : "is too long");
		return err;
	}
	part->readonly = readonly || pl->readonly;
	part->marked = pl->readonly;
	part->dev = block_open_chain(path, pl->format, part->readonly, &sub);
	if (!part->dev)
		return -errno ? -errno : -EIO;
	part->size = pl->size ? pl->size : part->dev->size;
	part->start = start;
	part->name = strdup(pl->name);
	part->path = strdup(path);
	c->nparts++;
	if (!part->name || !part->path)
		return -ENOMEM;
	if (pl->size > part->dev->size) {
		log_err("block", "%s line %d: size=%" PRIu64 " is larger than %s (%" PRIu64
			" bytes)", desc, pl->lineno, pl->size, pl->name, part->dev->size);
		return -EINVAL;
	}
	if (part->size == 0 || part->size % 512) {
		log_err("block", "%s line %d: %s is %" PRIu64 " bytes, not a positive multiple "
			"of 512 (give size=)", desc, pl->lineno, pl->name, part->size);
		return -EINVAL;
	}
	return 0;
}

/* The part holding byte offset (offset < size). */
static int part_at(const struct composite_dev *c, uint64_t offset)
{
	int lo = 0, hi = c->nparts - 1;

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (c->part[mid].start <= offset)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static bool in_range(const struct block_dev *bd, uint64_t offset, uint64_t len)
{
	return offset <= bd->size && len <= bd->size - offset;
}

/* Does [offset, offset+len) touch a read-only part? */
static bool touches_readonly(const struct composite_dev *c, uint64_t offset, uint64_t len)
{
	for (int i = len ? part_at(c, offset) : c->nparts; i < c->nparts; i++) {
		const struct composite_part *p = &c->part[i];
		if (p->start >= offset + len)
			break;
		if (p->readonly)
			return true;
	}
	return false;
}

/* Walk the parts [offset, offset+len) touches: fn gets each part, the
 * offset inside it, the bytes there and how far into the request they lie. */
typedef int (*part_fn)(struct composite_part *p, uint64_t off, uint64_t len, uint64_t done,
		       void *arg);

static int for_each_part(struct composite_dev *c, uint64_t offset, uint64_t len, part_fn fn,
			 void *arg)
{
	uint64_t done = 0;

	while (done < len) {
		struct composite_part *p = &c->part[part_at(c, offset + done)];
		uint64_t in = offset + done - p->start;
		uint64_t n = p->size - in < len - done ? p->size - in : len - done;
		int err = fn(p, in, n, done, arg);

		if (err)
			return err;
		done += n;
	}
	return 0;
}

struct io_arg {
	const struct iovec *iov;
	int iovcnt;
	struct iovec *sub;
	bool write;
};

static int io_part(struct composite_part *p, uint64_t off, uint64_t len, uint64_t done,
		   void *arg)
{
	struct io_arg *a = arg;
	int n = block_iov_sub(a->iov, a->iovcnt, done, len, a->sub);

	return a->write ? block_pwritev(p->dev, a->sub, n, off) : block_preadv(p->dev, a->sub, n, off);
}

static int composite_io(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			uint64_t offset, bool write)
{
	struct composite_dev *c = (struct composite_dev *)bd;
	uint64_t len = block_iov_total(iov, iovcnt);
	struct io_arg a = { iov, iovcnt, NULL, write };
	int err;

	if (!in_range(bd, offset, len))
		return -EINVAL;
	if (write && touches_readonly(c, offset, len))
		return -EROFS;
	a.sub = malloc((size_t)(iovcnt > 0 ? iovcnt : 1) * sizeof(*a.sub));
	if (!a.sub)
		return -ENOMEM;
	err = for_each_part(c, offset, len, io_part, &a);
	free(a.sub);
	return err;
}

static int composite_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			    uint64_t offset)
{
	return composite_io(bd, iov, iovcnt, offset, false);
}

static int composite_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
			     uint64_t offset)
{
	if (bd->readonly)
		return -EROFS;
	return composite_io(bd, iov, iovcnt, offset, true);
}

/* Every writable part, even after one fails: the first error is returned. */
static int composite_flush(struct block_dev *bd)
{
	struct composite_dev *c = (struct composite_dev *)bd;
	int ret = 0;

	for (int i = 0; i < c->nparts; i++) {
		int err = c->part[i].readonly ? 0 : block_flush(c->part[i].dev);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

/* A discard is a hint: the read-only parts it covers keep their data. */
static int discard_part(struct composite_part *p, uint64_t off, uint64_t len, uint64_t done,
			void *arg)
{
	return p->readonly ? 0 : block_discard(p->dev, off, len);
}

static int zero_part(struct composite_part *p, uint64_t off, uint64_t len, uint64_t done,
		     void *arg)
{
	return block_write_zeroes(p->dev, off, len);
}

static int composite_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	if (bd->readonly)
		return -EROFS;
	if (!in_range(bd, offset, len))
		return -EINVAL;
	return for_each_part((struct composite_dev *)bd, offset, len, discard_part, NULL);
}

static int composite_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	struct composite_dev *c = (struct composite_dev *)bd;

	if (bd->readonly)
		return -EROFS;
	if (!in_range(bd, offset, len))
		return -EINVAL;
	if (touches_readonly(c, offset, len))
		return -EROFS;
	return for_each_part(c, offset, len, zero_part, NULL);
}

/* The extent as the part sees it, ending at the part's end at the latest;
 * *host is an offset in that part's file (block_composite_part names it). */
static int composite_status(struct block_dev *bd, uint64_t offset, uint64_t *len,
			    uint64_t *host, enum block_extent *kind)
{
	struct composite_dev *c = (struct composite_dev *)bd;
	struct composite_part *p;
	uint64_t in;

	if (offset >= bd->size)
		return -EINVAL;
	p = &c->part[part_at(c, offset)];
	in = offset - p->start;
	if (*len > p->size - in)
		*len = p->size - in;
	return block_status(p->dev, in, len, host, kind);
}

static void composite_info(struct block_dev *bd, struct block_info *info)
{
	*info = (struct block_info){ .format = BLOCK_FORMAT_COMPOSITE,
				     .size = bd->size,
				     .nparts = ((struct composite_dev *)bd)->nparts };
}

static void composite_close(struct block_dev *bd)
{
	struct composite_dev *c = (struct composite_dev *)bd;

	for (int i = 0; i < c->nparts; i++) {
		block_close(c->part[i].dev);
		free(c->part[i].name);
		free(c->part[i].path);
	}
	free(c);
}

static const struct block_ops composite_ops = {
	.preadv = composite_preadv,
	.pwritev = composite_pwritev,
	.flush = composite_flush,
	.discard = composite_discard,
	.write_zeroes = composite_write_zeroes,
	.status = composite_status,
	.info = composite_info,
	.close = composite_close,
};

int block_composite_part(struct block_dev *bd, int index, struct block_part *part)
{
	struct composite_dev *c = (struct composite_dev *)bd;

	if (bd->ops != &composite_ops)
		return -EINVAL;
	if (index < 0 || index >= c->nparts)
		return -ENOENT;
	*part = (struct block_part){ .path = c->part[index].path, .name = c->part[index].name,
				     .start = c->part[index].start, .size = c->part[index].size,
				     .readonly = c->part[index].marked,
				     .dev = c->part[index].dev };
	return 0;
}

static int open_parts(struct composite_dev *c, const char *desc, const struct stat *st,
		      const struct part_line *lines, int n, bool readonly,
		      const struct block_chain *chain)
{
	struct stat seen[BLOCK_MAX_PARTS];
	uint64_t start = 0;

	for (int i = 0; i < n; i++) {
		char path[4096];
		int err;

		if (block_resolve_backing(desc, lines[i].name, path, sizeof(path)) == 0) {
			err = check_unique(desc, st, seen, i, &lines[i], path);
			if (err)
				return err;
		}
		err = open_part(c, desc, &lines[i], readonly, chain, start);
		if (err)
			return err;
		if (c->part[i].size > (UINT64_MAX >> 2) - start) {
			log_err("block", "%s: the parts add up to more than 2^62 bytes", desc);
			return -EFBIG;
		}
		start += c->part[i].size;
	}
	c->bd.size = start;
	return 0;
}

struct block_dev *composite_from_fd(int fd, const struct stat *st, const char *path,
				    bool readonly, struct block_chain *chain)
{
	struct part_line lines[BLOCK_MAX_PARTS];
	struct composite_dev *c = NULL;
	char *text = NULL;
	int n = 0, err;

	if (chain->depth > 1) {
		log_err("block", "%s: a composite disk cannot be a backing file or a part of "
			"another composite disk", path);
		err = -ELOOP;
		goto out;
	}
	err = read_text(fd, st, path, &text);
	if (!err)
		err = parse_text(path, text, lines, &n);
	if (err)
		goto out;
	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto out;
	}
	c->bd.ops = &composite_ops;
	c->bd.format = BLOCK_FORMAT_COMPOSITE;
	err = open_parts(c, path, st, lines, n, readonly, chain);
	if (err)
		goto out;
	c->bd.readonly = true;
	for (int i = 0; i < c->nparts; i++)
		c->bd.readonly = c->bd.readonly && c->part[i].readonly;
	block_set_serial(&c->bd, st);
out:
	free(text);
	close(fd);
	if (err) {
		if (c)
			composite_close(&c->bd);
		errno = -err;
		return NULL;
	}
	return &c->bd;
}
