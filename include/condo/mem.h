/* Guest-physical memory: RAM as one host mapping, and the MMIO bus that
 * finds the device behind any other address.  Every guest-supplied
 * physical address and length is checked here (gmem_ptr), nowhere else. */
#ifndef CONDO_MEM_H
#define CONDO_MEM_H

#include "condo/codemap.h"
#include "condo/dev.h"
#include "condo/dirtylog.h"
#include "condo/types.h"

struct guest_ram {
	gpa_t base;
	uint64_t size;
	uint8_t *host; /* MAP_NORESERVE: pages cost host memory once touched */
	/* Pages harts decoded code from; devices report their writes here. */
	struct code_map *code;
	/* Pages written, by harts and everything else: what snapshots store
	 * and migration sends (include/condo/dirtylog.h). */
	struct dirty_log *dirty;
};

int ram_init(struct guest_ram *ram, gpa_t base, uint64_t size);
void ram_free(struct guest_ram *ram);

/* Host pointer for the guest range [gpa, gpa+len) if all of it is RAM,
 * else NULL.  The one way from a guest physical address to host memory. */
static inline void *gmem_ptr(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	uint64_t off = gpa - ram->base;

	/* unsigned arithmetic: gpa below base wraps to a huge offset */
	if (off >= ram->size || len > ram->size - off)
		return NULL;
	return ram->host + off;
}

/* Copy between guest RAM and host buffers; -1 when any byte is not RAM. */
int gmem_read(const struct guest_ram *ram, gpa_t gpa, void *dst, uint64_t len);
int gmem_write(const struct guest_ram *ram, gpa_t gpa, const void *src, uint64_t len);
/* Report that [p, p + len) of RAM (a gmem_ptr() result) was written by
 * something other than a hart's store: DMA, firmware calls, loading. */
static inline void gmem_written(const struct guest_ram *ram, const void *p, uint64_t len)
{
	if (ram->dirty)
		dirty_log_mark(ram->dirty, p, len);
	if (ram->code)
		code_map_written(ram->code, p, len);
}

#define BUS_MAX_REGIONS 64

struct mmio_region {
	gpa_t base;
	uint64_t size;
	const struct dev_ops *ops;
	void *dev;
};

/* Device regions, sorted by base, found by binary search. */
struct bus {
	struct mmio_region regions[BUS_MAX_REGIONS];
	int count;
};

/* -EBUSY when the range overlaps a region, -ENOSPC when the bus is full. */
int bus_add(struct bus *bus, gpa_t base, uint64_t size, const struct dev_ops *ops, void *dev);
const struct mmio_region *bus_find(const struct bus *bus, gpa_t addr);
/* A guest access of len (1, 2, 4, 8) bytes; -1 when no device claims the
 * whole access or the device rejects it (the hart raises an access fault). */
int bus_read(const struct bus *bus, gpa_t addr, unsigned len, uint64_t *val);
int bus_write(const struct bus *bus, gpa_t addr, unsigned len, uint64_t val);

#endif
