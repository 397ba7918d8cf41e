/* The virt board of condo run, built for a fuzz harness by the same code
 * (vm_build_board) but with its harts not running: the harness plays the
 * harts, making MMIO accesses and SBI calls itself.  Guest RAM is moved to
 * the heap so AddressSanitizer sees accesses past its ends. */
#ifndef CONDO_FUZZ_BOARD_H
#define CONDO_FUZZ_BOARD_H

#include "fuzz.h"
#include "machine/vm.h"

struct fuzz_board {
	struct vm vm;
	struct vm_config cfg;
	struct vm_files files; /* opened as condo run opens them, before building */
	struct block_dev *disks[1];
	uint8_t *mapped; /* the RAM mapping vm_build_board made, restored at the end */
	struct code_map *code;
};

/* Defaults for cfg: cpus harts, mem bytes of RAM, one 32 KiB disk, the
 * interpreter (no code caches to allocate).  Adjust cfg, then build. */
void fuzz_board_config(struct fuzz_board *b, int cpus, uint64_t mem);
/* Open b->cfg's files and disk and build its board; the harts are not yet
 * set up (boot_load does that). */
int fuzz_board_build(struct fuzz_board *b);
void fuzz_board_free(struct fuzz_board *b);

#endif
