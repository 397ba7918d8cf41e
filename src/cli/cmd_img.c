/* condo img: create, inspect, check and convert disk images (raw and
 * qcow2).  One function per verb; docs/img.md is the manual. */
#include "condo/block.h"
#include "condo/log.h"
#include "cli/cli.h"
#include "cli/img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char img_usage[] =
	"Usage: condo img VERB [OPTIONS] FILE...\n"
	"Create, inspect, check, convert and change disk images (raw and qcow2).\n"
	"\n"
	"Verbs:\n"
	"  create   make a new image, optionally over a backing file\n"
	"  info     show an image's format, sizes and backing chain\n"
	"  check    check a qcow2 image's metadata; -r repairs it\n"
	"  convert  copy an image into a new one, raw or qcow2\n"
	"  map      show which parts of the disk are stored where\n"
	"  resize   make the disk larger or smaller\n"
	"  commit   fold a qcow2 overlay into its backing file\n"
	"  rebase   give a qcow2 overlay another backing file (or none)\n"
	"  serve    export an image over NBD\n"
	"\n"
	"Run 'condo img VERB --help' for a verb's options.  Manual: docs/img.md.\n";

static const char create_usage[] =
	"Usage: condo img create [-f raw|qcow2] [-b BACKING [-F raw|qcow2]] FILE [SIZE]\n"
	"Create FILE: a sparse raw image or a qcow2 image (version 3, 64 KiB clusters).\n"
	"SIZE takes K, M, G or T; with -b it defaults to the backing file's size.\n"
	"\n"
	"  -f FMT      format of FILE (default qcow2)\n"
	"  -b BACKING  backing file (qcow2 only), stored as given and resolved\n"
	"              against FILE's directory; names with .. are refused\n"
	"  -F FMT      the backing file's format (default: probed, then stored)\n"
	"  -h, --help  show this help\n";

static const char info_usage[] =
	"Usage: condo img info [-f FMT] [--output human|json] FILE\n"
	"Show FILE's format, virtual and actual size, qcow2 details and backing chain.\n"
	"\n"
	"  -f FMT         the format (default: probed)\n"
	"  --output FMT   human (default) or json\n"
	"  -h, --help     show this help\n";

static const char check_usage[] =
	"Usage: condo img check [-r leaks|all] FILE\n"
	"Check a qcow2 image: every cluster's refcount against its references.\n"
	"Leaks (space counted but unused) are harmless; errors mean corruption.\n"
	"\n"
	"  -r leaks    give leaked clusters back\n"
	"  -r all      also raise refcounts that are too low, and clear the dirty\n"
	"              and corrupt marks when no error remains\n"
	"  -h, --help  show this help\n"
	"\n"
	"Exit status: 0 no problem, 1 the check could not run, 2 errors remain,\n"
	"3 leaks remain (as qemu-img check).\n";

static const char convert_usage[] =
	"Usage: condo img convert [-f FMT] [-O raw|qcow2] [-p] SOURCE DEST\n"
	"Copy SOURCE (with its backing chain) into a new image DEST, skipping zeros.\n"
	"\n"
	"  -f FMT      SOURCE's format (default: probed)\n"
	"  -O FMT      DEST's format (default raw)\n"
	"  -p          show progress (default: when stderr is a terminal)\n"
	"  -h, --help  show this help\n";

static const char map_usage[] =
	"Usage: condo img map [-f FMT] [--output human|json] FILE\n"
	"List FILE's extents: data (with its offset in the file), compressed,\n"
	"zero, or backing (read from the backing file).\n"
	"\n"
	"  -f FMT         the format (default: probed)\n"
	"  --output FMT   human (default) or json\n"
	"  -h, --help     show this help\n";

static int img_create(int argc, char **argv)
{
	VERB_ARGS("hf:b:F:", create_usage, 1, 2);
	uint64_t size = 0;
	enum block_format fmt = a.format == BLOCK_FORMAT_AUTO ? BLOCK_FORMAT_QCOW2 : a.format;

	if (argc - optind == 2 && cli_parse_size(argv[optind + 1], &size) < 0) {
		log_err("img", "create: bad size '%s' (a number with K, M, G or T)",
			argv[optind + 1]);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind == 1 && !a.backing) {
		log_err("img", "create: a SIZE is needed without -b");
		return CLI_EXIT_USAGE;
	}
	if (a.backing && fmt != BLOCK_FORMAT_QCOW2) {
		log_err("img", "create: only qcow2 images have backing files");
		return CLI_EXIT_USAGE;
	}
	return block_create(argv[optind], fmt, size, a.backing, a.backing_format) ? 1 : 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* A composite disk's parts: where each lies in the disk. */
static void print_parts(struct block_dev *bd, bool json)
{
	struct block_part p;

	if (json)
		printf(", \"parts\": [");
	for (int i = 0; block_composite_part(bd, i, &p) == 0; i++) {
		if (!json) {
			printf("part %d: %s (%s%s) at %" PRIu64 ", %" PRIu64 " bytes\n", i + 1,
			       p.name, block_format_name(p.dev->format),
			       p.readonly ? ", read-only" : "", p.start, p.size);
			continue;
		}
		printf("%s{\"filename\": ", i ? ", " : "");
		json_string(p.path);
		printf(", \"format\": \"%s\", \"start\": %" PRIu64 ", \"length\": %" PRIu64
		       ", \"read-only\": %s}", block_format_name(p.dev->format), p.start, p.size,
		       p.readonly ? "true" : "false");
	}
	if (json)
		printf("]");
}

/* One image, then its backing chain and its parts (first: no comma
 * before it in the JSON array). */
static void print_info(const char *path, struct block_dev *bd, bool json, bool first)
{
	struct block_part part;
	struct block_info in;
	struct stat st;
	uint64_t actual = stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;

	block_get_info(bd, &in);
	if (!json) {
		printf("image: %s\nfile format: %s\nvirtual size: %" PRIu64 " bytes\n"
		       "disk size: %" PRIu64 " bytes\n", path, block_format_name(in.format),
		       in.size, actual);
		if (in.format == BLOCK_FORMAT_QCOW2)
			printf("cluster_size: %u\nversion: %u\nrefcount bits: %u\n"
			       "compression type: %s\ncorrupt: %s\ndirty: %s\n", in.cluster_size,
			       in.version, in.refcount_bits, in.compression,
			       in.corrupt ? "true" : "false", in.dirty ? "true" : "false");
		if (in.backing_file)
			printf("backing file: %s (actual path: %s)\nbacking file format: %s\n",
			       in.backing_file, in.backing_path,
			       block_format_name(in.backing_format));
		if (in.nparts)
			print_parts(bd, false);
	} else {
		printf("%s{\"filename\": ", first ? "" : ",\n");
		json_string(path);
		printf(", \"format\": \"%s\", \"virtual-size\": %" PRIu64
		       ", \"actual-size\": %" PRIu64, block_format_name(in.format), in.size, actual);
		if (in.format == BLOCK_FORMAT_QCOW2)
			printf(", \"cluster-size\": %u, \"format-specific\": {\"type\": \"qcow2\", "
			       "\"data\": {\"compat\": \"%s\", \"refcount-bits\": %u, "
			       "\"compression-type\": \"%s\", \"corrupt\": %s}}, "
			       "\"dirty-flag\": %s", in.cluster_size,
			       in.version == 3 ? "1.1" : "0.10", in.refcount_bits, in.compression,
			       in.corrupt ? "true" : "false", in.dirty ? "true" : "false");
		if (in.backing_file) {
			printf(", \"backing-filename\": ");
			json_string(in.backing_file);
			printf(", \"full-backing-filename\": ");
			json_string(in.backing_path);
			printf(", \"backing-filename-format\": \"%s\"",
			       block_format_name(in.backing_format));
		}
		if (in.nparts)
			print_parts(bd, true);
		printf("}");
	}
	if (in.backing) {
		if (!json)
			printf("\n");
		print_info(in.backing_path, in.backing, json, false);
	}
	for (int i = 0; block_composite_part(bd, i, &part) == 0; i++) {
		if (!json)
			printf("\n");
		print_info(part.path, part.dev, json, false);
	}
}

static int img_info(int argc, char **argv)
{
	VERB_ARGS("hf:", info_usage, 1, 1);
	struct block_dev *bd = block_open_in(argv[optind], a.format, true, a.image_dir);

	if (!bd)
		return 1;
	if (a.json)
		printf("[\n");
	print_info(argv[optind], bd, a.json, true);
	if (a.json)
		printf("\n]\n");
	block_close(bd);
	return 0;
}

static int img_check(int argc, char **argv)
{
	VERB_ARGS("hf:r:", check_usage, 1, 1);
	struct block_dev *bd = a.repair == BLOCK_REPAIR_NONE
				       ? block_open_in(argv[optind], a.format, true, a.image_dir)
				       : block_open_for_repair(argv[optind], a.format);
	struct block_check res;
	int err, status;

	if (!bd)
		return 1;
	if (!bd->ops->check) {
		printf("%s: a %s image has no metadata to check.\n", argv[optind],
		       block_format_name(bd->format));
		block_close(bd);
		return 0;
	}
	err = bd->ops->check(bd, a.repair, &res);
	block_close(bd);
	if (err) {
		log_err("img", "check: %s: %s", argv[optind], strerror(-err));
		return 1;
	}
	if (res.fixed_leaks || res.fixed_errors)
		printf("Repaired %" PRIu64 " leaked clusters and %" PRIu64 " errors.\n",
		       res.fixed_leaks, res.fixed_errors);
	res.leaks -= res.fixed_leaks;
	res.errors -= res.fixed_errors;
	if (res.errors)
		printf("%" PRIu64 " errors were found on the image.\n", res.errors);
	if (res.leaks)
		printf("%" PRIu64 " leaked clusters were found on the image.\n", res.leaks);
	if (!res.errors && !res.leaks)
		printf("No errors were found on the image.\n");
	printf("%" PRIu64 "/%" PRIu64 " clusters allocated.\n", res.allocated, res.total);
	status = res.errors ? 2 : res.leaks ? 3 : 0;
	return status;
}

struct convert_progress {
	bool show;
	int last;
};

static int convert_progress(void *arg, uint64_t done, uint64_t total)
{
	struct convert_progress *p = arg;

	img_progress(p->show, done, total, &p->last);
	return 0;
}

static int img_convert(int argc, char **argv)
{
	VERB_ARGS("hf:O:p", convert_usage, 2, 2);
	struct block_dev *src = block_open_in(argv[optind], a.format, true, a.image_dir), *dst = NULL;
	int err = -EINVAL;

	if (!src)
		return 1;
	if (block_create(argv[optind + 1], a.out_format, src->size, NULL, BLOCK_FORMAT_AUTO) == 0)
		dst = block_open_in(argv[optind + 1], a.out_format, false, a.image_dir);
	if (dst)
		err = block_copy(src, dst, convert_progress,
				 &(struct convert_progress){ a.progress, -1 });
	/* -EIO: the block layer has already named the corrupt part. */
	if (dst && err && err != -EIO)
		log_err("img", "convert: %s to %s: %s", argv[optind], argv[optind + 1],
			strerror(-err));
	block_close(dst);
	block_close(src);
	return err ? 1 : 0;
}

static const char *const extent_names[] = {
	[BLOCK_EXTENT_DATA] = "data",
	[BLOCK_EXTENT_ZERO] = "zero",
	[BLOCK_EXTENT_BACKING] = "backing",
	[BLOCK_EXTENT_COMPRESSED] = "compressed",
};

/* The part of a composite disk holding offset; NULL for other formats. */
static const char *part_name_at(struct block_dev *bd, uint64_t offset)
{
	struct block_part p;

	for (int i = 0; block_composite_part(bd, i, &p) == 0; i++)
		if (offset - p.start < p.size)
			return p.name;
	return NULL;
}

static int img_map(int argc, char **argv)
{
	VERB_ARGS("hf:", map_usage, 1, 1);
	struct block_dev *bd = block_open_in(argv[optind], a.format, true, a.image_dir);
	uint64_t off = 0;
	int err = 0;

	if (!bd)
		return 1;
	printf(a.json ? "[" : "%-18s %-18s %-18s %s\n", "Offset", "Length", "Mapped to", "Kind");
	while (off < bd->size && !err) {
		uint64_t len = bd->size - off, host;
		const char *part = part_name_at(bd, off);
		enum block_extent kind;

		err = block_status(bd, off, &len, &host, &kind);
		if (err)
			break;
		if (a.json) {
			printf("%s\n{\"start\": %" PRIu64 ", \"length\": %" PRIu64
			       ", \"kind\": \"%s\", \"data\": %s, \"zero\": %s, \"offset\": %" PRIu64,
			       off ? "," : "", off, len, extent_names[kind],
			       kind == BLOCK_EXTENT_ZERO ? "false" : "true",
			       kind == BLOCK_EXTENT_ZERO ? "true" : "false", host);
			if (part) {
				printf(", \"file\": ");
				json_string(part);
			}
			printf("}");
		} else {
			printf("0x%-16" PRIx64 " 0x%-16" PRIx64 " 0x%-16" PRIx64 " %s%s%s\n", off, len,
			       host, extent_names[kind], part ? " in " : "", part ? part : "");
		}
		off += len;
	}
	if (a.json)
		printf("]\n");
	block_close(bd);
	if (err)
		log_err("img", "map: %s: %s", argv[optind], strerror(-err));
	return err ? 1 : 0;
}

static const struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
} verbs[] = {
	{ "create", img_create }, { "info", img_info }, { "check", img_check },
	{ "convert", img_convert }, { "map", img_map },	  { "resize", img_resize },
	{ "commit", img_commit },   { "rebase", img_rebase }, { "serve", cmd_img_serve },
};

int cmd_img(int argc, char **argv)
{
	if (argc < 2) {
		fputs(img_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(img_usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	log_err("img", "unknown verb '%s' (see condo img --help)", argv[1]);
	return CLI_EXIT_USAGE;
}
