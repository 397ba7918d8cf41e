/* The MMIO bus: device regions sorted by address, found by binary search. */
#include "condo/mem.h"

#include <errno.h>
#include <string.h>

int bus_add(struct bus *bus, gpa_t base, uint64_t size, const struct dev_ops *ops, void *dev)
{
	int i;

	if (bus->count == BUS_MAX_REGIONS)
		return -ENOSPC;
	for (i = 0; i < bus->count; i++) {
		const struct mmio_region *r = &bus->regions[i];
		if (base < r->base + r->size && r->base < base + size)
			return -EBUSY;
	}
	for (i = bus->count; i > 0 && bus->regions[i - 1].base > base; i--)
		bus->regions[i] = bus->regions[i - 1];
	bus->regions[i] = (struct mmio_region){ base, size, ops, dev };
	bus->count++;
	return 0;
}

const struct mmio_region *bus_find(const struct bus *bus, gpa_t addr)
{
	int lo = 0, hi = bus->count - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct mmio_region *r = &bus->regions[mid];
		if (addr < r->base)
			hi = mid - 1;
		else if (addr - r->base >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static const struct mmio_region *claim(const struct bus *bus, gpa_t addr, unsigned len)
{
	const struct mmio_region *r = bus_find(bus, addr);

	if (!r || addr - r->base > r->size - len)
		return NULL; /* nothing there, or the access runs past the device */
	return r;
}

int bus_read(const struct bus *bus, gpa_t addr, unsigned len, uint64_t *val)
{
	const struct mmio_region *r = claim(bus, addr, len);

	*val = 0;
	if (!r || !r->ops->read)
		return -1;
	return r->ops->read(r->dev, addr - r->base, len, val);
}

int bus_write(const struct bus *bus, gpa_t addr, unsigned len, uint64_t val)
{
	const struct mmio_region *r = claim(bus, addr, len);

	if (!r || !r->ops->write)
		return -1;
	return r->ops->write(r->dev, addr - r->base, len, val);
}
