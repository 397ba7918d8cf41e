/* Inside condo img: the options its verbs share, their parsing, and the
 * progress line of long operations.  The verbs live in cmd_img*.c. */
#ifndef CONDO_CLI_IMG_H
#define CONDO_CLI_IMG_H

#include "condo/block.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <unistd.h>

struct img_args {
	enum block_format format, out_format, backing_format;
	const char *backing;
	const char *image_dir; /* --image-dir: backing files only beneath it */
	bool json, progress;
	bool unsafe;      /* rebase -u: only the header changes */
	bool keep;        /* commit -d: the overlay keeps its data */
	bool shrink;      /* resize --shrink */
	enum block_repair repair;
};

/* getopt over the verb's letters (the long options --help, --output,
 * --shrink and --image-dir are always known); 0 to go on, 1 after --help, -1 bad. */
int img_parse_args(int argc, char **argv, const char *letters, const char *usage,
		   struct img_args *a);

/* Run a verb's option parsing and demand between min and max operands. */
#define VERB_ARGS(letters, usage, min, max)                                               \
	struct img_args a = { .format = BLOCK_FORMAT_AUTO, .out_format = BLOCK_FORMAT_RAW,   \
			      .backing_format = BLOCK_FORMAT_AUTO,                            \
			      .progress = isatty(STDERR_FILENO) };                            \
	do {                                                                              \
		int r_ = img_parse_args(argc, argv, letters, usage, &a);                  \
		if (r_)                                                                   \
			return r_ > 0 ? 0 : CLI_EXIT_USAGE;                               \
		if (argc - optind < (min) || argc - optind > (max)) {                     \
			log_err("img", "%s: wrong number of operands (see condo img %s --help)", \
				argv[0], argv[0]);                                        \
			return CLI_EXIT_USAGE;                                            \
		}                                                                         \
	} while (0)

/* "    (NN.00/100%)" on stderr when show and the percentage moved. */
void img_progress(bool show, uint64_t done, uint64_t total, int *last);

/* The verbs of cmd_img_edit.c. */
int img_resize(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_rebase(int argc, char **argv);

#endif
