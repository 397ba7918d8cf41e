/* condo img verbs that change an image in place: resize, commit (fold an
 * overlay into its backing file) and rebase (give an overlay another
 * backing file).  docs/img.md is the manual. */
#include "condo/log.h"
#include "cli/img.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char resize_usage[] =
	"Usage: condo img resize [-f FMT] [--shrink] FILE [+|-]SIZE\n"
	"Give FILE's disk a new size (K, M, G or T suffixes), or grow or shrink it by SIZE.\n"
	"New space reads as zeros.  Shrinking loses the data past the new end and\n"
	"needs --shrink.  The guest's partitions and file systems are not changed.\n"
	"\n"
	"  -f FMT      the format (default: probed)\n"
	"  --shrink    allow a smaller size\n"
	"  -h, --help  show this help\n";

static const char commit_usage[] =
	"Usage: condo img commit [-f FMT] [-d] [-p] FILE\n"
	"Write everything FILE (a qcow2 overlay) stores into its backing file, which\n"
	"then holds the disk as FILE showed it; FILE is emptied, so it reads through\n"
	"to the backing file.  Every other overlay of that backing file sees the\n"
	"change too: commit only into a base no one else uses.\n"
	"\n"
	"  -f FMT      FILE's format (default: probed)\n"
	"  -d          keep FILE's data (do not empty it)\n"
	"  -p          show progress (default: when stderr is a terminal)\n"
	"  -h, --help  show this help\n";

static const char rebase_usage[] =
	"Usage: condo img rebase [-f FMT] [-u] [-p] -b BACKING [-F FMT] FILE\n"
	"Make BACKING the backing file of FILE (a qcow2 overlay).  FILE first takes in\n"
	"every part where the old and new backing files differ, so the disk reads the\n"
	"same.  -b \"\" leaves FILE without a backing file, holding all of its data.\n"
	"BACKING is stored as given and resolved against FILE's directory.\n"
	"\n"
	"  -b BACKING  the new backing file\n"
	"  -F FMT      its format (default: probed, then stored)\n"
	"  -u          unsafe: change only the name stored in FILE (for a backing\n"
	"              file that was moved or renamed, with the same contents)\n"
	"  -f FMT      FILE's format (default: probed)\n"
	"  -p          show progress (default: when stderr is a terminal)\n"
	"  -h, --help  show this help\n";

#define EDIT_CHUNK (1u << 20)

static int report(const char *verb, const char *path, int err)
{
	/* -EIO: the block layer has already named the corrupt part. */
	if (err && err != -EIO)
		log_err("img", "%s: %s: %s", verb, path, strerror(-err));
	return err ? 1 : 0;
}

static int resize_parsed(int argc, char **argv, const char *arg);

int img_resize(int argc, char **argv)
{
	/* "-1G" is a size, not an option: taken out before getopt (as
	 * qemu-img does). */
	if (argc > 2 && argv[argc - 1][0] == '-' && argv[argc - 1][1] >= '0' &&
	    argv[argc - 1][1] <= '9')
		return resize_parsed(argc - 1, argv, argv[argc - 1]);
	return resize_parsed(argc, argv, NULL);
}

static int resize_parsed(int argc, char **argv, const char *arg)
{
	VERB_ARGS("hf:", resize_usage, arg ? 1 : 2, arg ? 1 : 2);
	const char *file = argv[optind];
	uint64_t size, new_size;
	int sign;
	struct block_dev *bd;
	int err;

	if (!arg)
		arg = argv[optind + 1];
	sign = arg[0] == '+' ? 1 : arg[0] == '-' ? -1 : 0;
	if (cli_parse_size(arg + (sign != 0), &size) < 0) {
		log_err("img", "resize: bad size '%s' (a number with K, M, G or T)", arg);
		return CLI_EXIT_USAGE;
	}
	bd = block_open_in(file, a.format, false, a.image_dir);
	if (!bd)
		return 1;
	new_size = sign > 0 ? bd->size + size : sign < 0 ? bd->size - size : size;
	if ((sign > 0 && new_size < bd->size) || (sign < 0 && size > bd->size)) {
		log_err("img", "resize: %s: size out of range", file);
		block_close(bd);
		return 1;
	}
	if (new_size < bd->size && !a.shrink) {
		log_err("img", "resize: %s: shrinking from %" PRIu64 " to %" PRIu64
			" bytes loses the data past the end; give --shrink to do it", file,
			bd->size, new_size);
		block_close(bd);
		return 1;
	}
	err = block_resize(bd, new_size);
	if (err == -ENOTSUP)
		log_err("img", "resize: %s: this image cannot be resized (a host block device, "
			"or a qcow2 image with internal snapshots)", file);
	else if (err == -EFBIG)
		err = -EINVAL; /* already reported by the block layer */
	block_close(bd);
	if (err == -ENOTSUP || err == -EINVAL)
		return 1;
	if (!err)
		printf("Image resized.\n");
	return report("resize", file, err);
}

/* Copy what top itself stores (data, compressed and zero extents, not
 * what shows through from its backing file) into dst at the same offsets. */
static int copy_stored(struct block_dev *top, struct block_dev *dst, bool show)
{
	uint8_t *buf = malloc(EDIT_CHUNK);
	uint64_t off = 0;
	int last = -1, err = buf ? 0 : -ENOMEM;

	while (!err && off < top->size) {
		uint64_t len = top->size - off < EDIT_CHUNK ? top->size - off : EDIT_CHUNK, host;
		enum block_extent kind;

		err = block_status(top, off, &len, &host, &kind);
		if (!err && kind == BLOCK_EXTENT_ZERO) {
			err = block_write_zeroes(dst, off, len);
		} else if (!err && kind != BLOCK_EXTENT_BACKING) {
			struct iovec v = { buf, len };
			err = block_preadv(top, &v, 1, off);
			if (!err)
				err = block_pwritev(dst, &v, 1, off);
		}
		off += len;
		img_progress(show, off, top->size, &last);
	}
	free(buf);
	return err ? err : block_flush(dst);
}

int img_commit(int argc, char **argv)
{
	VERB_ARGS("hf:dp", commit_usage, 1, 1);
	const char *file = argv[optind];
	struct block_dev *top, *base = NULL;
	struct block_info info;
	int err = -EINVAL;

	/* The whole chain opens as a VM would open it (loops, --image-dir). */
	top = block_open_in(file, a.format, true, a.image_dir);
	if (!top)
		return 1;
	block_close(top);
	top = block_open_image_only(file, a.format, a.keep);
	if (!top)
		return 1;
	block_get_info(top, &info);
	if (!info.backing_path) {
		log_err("img", "commit: %s has no backing file", file);
		block_close(top);
		return 1;
	}
	/* Opened read-write, so locked against every VM that uses it. */
	base = block_open_in(info.backing_path, info.backing_format, false, a.image_dir);
	if (base && base->size < top->size)
		err = block_resize(base, top->size);
	else if (base)
		err = 0;
	if (!err)
		err = copy_stored(top, base, a.progress);
	/* Only now that the base holds it all (and is durable) may the
	 * overlay let go: a crash before leaves both readable as before. */
	if (!err && !a.keep)
		err = block_discard(top, 0, top->size);
	if (!err && !a.keep)
		err = block_flush(top);
	block_close(base);
	block_close(top);
	if (!base)
		return 1;
	if (!err)
		printf("Image committed.\n");
	return report("commit", file, err);
}

/* The new backing file's bytes at off (zeros past its end, or without one). */
static int read_new(struct block_dev *nb, uint8_t *buf, uint64_t off, uint64_t len)
{
	uint64_t have = nb && off < nb->size ? (nb->size - off < len ? nb->size - off : len) : 0;
	struct iovec v = { buf, have };

	memset(buf + have, 0, len - have);
	return have ? block_preadv(nb, &v, 1, off) : 0;
}

/* Where top shows its old backing file, store in top what the new one
 * would show differently, a cluster-sized piece at a time. */
static int take_in_differences(struct block_dev *top, struct block_dev *nb, bool show)
{
	uint8_t *old = malloc(EDIT_CHUNK), *new = malloc(EDIT_CHUNK);
	const uint64_t piece = 64 * 1024;
	uint64_t off = 0;
	int last = -1, err = old && new ? 0 : -ENOMEM;

	while (!err && off < top->size) {
		uint64_t len = top->size - off < EDIT_CHUNK ? top->size - off : EDIT_CHUNK, host;
		enum block_extent kind;

		err = block_status(top, off, &len, &host, &kind);
		if (!err && kind == BLOCK_EXTENT_BACKING) {
			struct iovec v = { old, len };
			err = block_preadv(top, &v, 1, off);
			if (!err)
				err = read_new(nb, new, off, len);
			for (uint64_t p = 0; !err && p < len; p += piece) {
				uint64_t n = len - p < piece ? len - p : piece;
				struct iovec w = { old + p, n };
				if (memcmp(old + p, new + p, n))
					err = block_pwritev(top, &w, 1, off + p);
			}
		}
		off += len;
		img_progress(show, off, top->size, &last);
	}
	free(old);
	free(new);
	return err ? err : block_flush(top);
}

/* The new backing chain holds file itself: rebasing would make a loop. */
static bool chain_holds(struct block_dev *nb, const char *nb_path, const char *file)
{
	struct stat f, s;
	const char *path = nb_path;

	if (stat(file, &f) < 0)
		return false;
	for (struct block_dev *bd = nb; bd; ) {
		struct block_info info;
		if (stat(path, &s) == 0 && s.st_dev == f.st_dev && s.st_ino == f.st_ino)
			return true;
		block_get_info(bd, &info);
		path = info.backing_path;
		bd = info.backing;
	}
	return false;
}

int img_rebase(int argc, char **argv)
{
	VERB_ARGS("hf:b:F:up", rebase_usage, 1, 1);
	const char *file = argv[optind], *name = a.backing && a.backing[0] ? a.backing : NULL;
	enum block_format bfmt = a.backing_format;
	struct block_dev *top = NULL, *nb = NULL;
	char path[4096];
	int err;

	if (!a.backing) {
		log_err("img", "rebase: -b BACKING is needed (-b \"\" for none)");
		return CLI_EXIT_USAGE;
	}
	if (name && block_resolve_backing(file, name, path, sizeof(path)) < 0) {
		log_err("img", "rebase: backing file name '%s' is not allowed (it climbs with ..)",
			name);
		return CLI_EXIT_USAGE;
	}
	/* The new backing file, read-only; probed when -F is not given.  The
	 * unsafe mode needs it only for that. */
	if (name && (!a.unsafe || bfmt == BLOCK_FORMAT_AUTO)) {
		nb = block_open_in(path, bfmt, true, a.image_dir);
		if (!nb)
			return 1;
		bfmt = nb->format;
		if (chain_holds(nb, path, file)) {
			log_err("img", "rebase: %s would be its own backing file (a loop)", file);
			block_close(nb);
			return 1;
		}
	}
	top = a.unsafe ? block_open_image_only(file, a.format, false)
		       : block_open_in(file, a.format, false, a.image_dir);
	if (!top) {
		block_close(nb);
		return 1;
	}
	err = top->ops->set_backing ? 0 : -ENOTSUP;
	if (err)
		log_err("img", "rebase: %s is not a qcow2 image", file);
	else if (!a.unsafe)
		err = take_in_differences(top, nb, a.progress);
	if (!err)
		err = block_set_backing(top, name, bfmt);
	block_close(top);
	block_close(nb);
	if (err == -ENOTSUP)
		return 1;
	return report("rebase", file, err);
}
