/* The board of a fuzz harness (see board.h). */
#include "board.h"

#include "condo/block.h"
#include "condo/engine.h"

#include <stdlib.h>

/* One heap RAM for all inputs, zeroed for each: allocating megabytes per
 * input costs AddressSanitizer more than the input itself. */
static uint8_t *heap_ram;
static uint64_t heap_ram_size;

static uint8_t *zeroed_ram(uint64_t size)
{
	if (size != heap_ram_size) {
		free(heap_ram);
		heap_ram = malloc(size);
		heap_ram_size = heap_ram ? size : 0;
	}
	if (heap_ram)
		memset(heap_ram, 0, size);
	return heap_ram;
}

void fuzz_board_config(struct fuzz_board *b, int cpus, uint64_t mem)
{
	memset(b, 0, sizeof(*b));
	b->files = (struct vm_files){ -1, -1, -1 };
	b->cfg.cpus = cpus;
	b->cfg.mem_size = mem;
	b->cfg.engine = ENGINE_INTERP;
	b->cfg.drives[0] = (struct vm_drive){ .file = fuzz_disk_path(64 * 512) };
	b->cfg.ndrives = 1;
}

int fuzz_board_build(struct fuzz_board *b)
{
	struct vm *vm = &b->vm;

	vm->cfg = &b->cfg;
	vm->ncpus = b->cfg.cpus;
	vm->files = &b->files;
	vm->disks = b->disks;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->done_cond, NULL);
	if (boot_open_files(&b->cfg, &b->files) < 0)
		return -1;
	b->disks[0] = block_raw_open(b->cfg.drives[0].file, b->cfg.drives[0].readonly);
	if (!b->disks[0] || vm_build_board(vm) < 0)
		return -1;
	/* no hart runs code, so no code map is needed for the heap copy */
	b->mapped = vm->ram.host;
	b->code = vm->ram.code;
	vm->ram.code = NULL;
	vm->ram.host = zeroed_ram(vm->ram.size);
	if (!vm->ram.host) {
		vm->ram.host = b->mapped;
		return -1;
	}
	return 0;
}

void fuzz_board_free(struct fuzz_board *b)
{
	struct vm *vm = &b->vm;

	if (b->mapped) {
		vm->ram.host = b->mapped;
		vm->ram.code = b->code;
	}
	vm_destroy_board(vm);
	block_close(b->disks[0]);
	boot_close_files(&b->files);
	pthread_cond_destroy(&vm->done_cond);
	pthread_mutex_destroy(&vm->lock);
}
