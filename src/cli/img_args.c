/* condo img: the options its verbs share and the progress line. */
#include "cli/img.h"
#include "condo/log.h"

#include <stdio.h>
#include <string.h>

enum { OPT_OUTPUT = 256, OPT_SHRINK, OPT_IMAGE_DIR };

static const struct option img_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "shrink", no_argument, NULL, OPT_SHRINK },
	{ "image-dir", required_argument, NULL, OPT_IMAGE_DIR },
	{ NULL, 0, NULL, 0 },
};

static int parse_format(const char *verb, const char *s, enum block_format *f)
{
	if (block_format_parse(s, f) == 0)
		return 0;
	log_err("img", "%s: unknown format '%s' (raw, qcow2, composite or nbd)", verb, s);
	return -1;
}

int img_parse_args(int argc, char **argv, const char *letters, const char *usage,
		      struct img_args *a)
{
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, letters, img_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'f':
			if (parse_format(argv[0], optarg, &a->format) < 0)
				return -1;
			break;
		case 'O':
			if (parse_format(argv[0], optarg, &a->out_format) < 0)
				return -1;
			break;
		case 'F':
			if (parse_format(argv[0], optarg, &a->backing_format) < 0)
				return -1;
			break;
		case 'b':
			a->backing = optarg;
			break;
		case 'p':
			a->progress = true;
			break;
		case 'u':
			a->unsafe = true;
			break;
		case 'd':
			a->keep = true;
			break;
		case OPT_SHRINK:
			a->shrink = true;
			break;
		case OPT_IMAGE_DIR:
			a->image_dir = optarg;
			break;
		case 'r':
			if (!strcmp(optarg, "leaks")) {
				a->repair = BLOCK_REPAIR_LEAKS;
			} else if (!strcmp(optarg, "all")) {
				a->repair = BLOCK_REPAIR_ALL;
			} else {
				log_err("img", "check: -r takes leaks or all, not '%s'", optarg);
				return -1;
			}
			break;
		case OPT_OUTPUT:
			if (!strcmp(optarg, "json")) {
				a->json = true;
			} else if (strcmp(optarg, "human")) {
				log_err("img", "%s: --output takes human or json, not '%s'", argv[0],
					optarg);
				return -1;
			}
			break;
		default:
			cli_bad_option("img", argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

void img_progress(bool show, uint64_t done, uint64_t total, int *last)
{
	int pct = total ? (int)(done * 100 / total) : 100;

	if (!show || pct == *last)
		return;
	*last = pct;
	fprintf(stderr, "\r    (%d.00/100%%)", pct);
	if (pct == 100)
		fputc('\n', stderr);
}
