/* Guest RAM: one anonymous MAP_NORESERVE host mapping, so an idle guest
 * costs only the pages it has touched. */
#include "condo/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int ram_init(struct guest_ram *ram, gpa_t base, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	ram->base = base;
	ram->size = size;
	ram->host = p;
	ram->code = calloc(1, sizeof(*ram->code));
	ram->dirty = calloc(1, sizeof(*ram->dirty));
	if (!ram->code || code_map_init(ram->code, p, size) < 0 || !ram->dirty ||
	    dirty_log_init(ram->dirty, p, size) < 0) {
		ram_free(ram);
		return -ENOMEM;
	}
	return 0;
}

void ram_free(struct guest_ram *ram)
{
	if (ram->host)
		munmap(ram->host, ram->size);
	ram->host = NULL;
	if (ram->code) {
		code_map_free(ram->code);
		free(ram->code);
		ram->code = NULL;
	}
	if (ram->dirty) {
		dirty_log_free(ram->dirty);
		free(ram->dirty);
		ram->dirty = NULL;
	}
}

int gmem_read(const struct guest_ram *ram, gpa_t gpa, void *dst, uint64_t len)
{
	void *p = gmem_ptr(ram, gpa, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct guest_ram *ram, gpa_t gpa, const void *src, uint64_t len)
{
	void *p = gmem_ptr(ram, gpa, len);

	if (!p)
		return -1;
	if (!len)
		return 0; /* src may be NULL (an empty file) */
	memcpy(p, src, len);
	gmem_written(ram, p, len);
	return 0;
}
