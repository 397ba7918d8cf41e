/* The device model interface: a device is its state plus a static const
 * ops table.  The board registers it on the bus at an address and gives it
 * an interrupt line; the device knows neither where it sits nor which
 * controller its line goes to. */
#ifndef CONDO_DEV_H
#define CONDO_DEV_H

#include "condo/types.h"

struct state_buf;

struct dev_ops {
	const char *name;
	/* offset is relative to the device's base; len is 1, 2, 4 or 8.
	 * Return 0, or -1 to make the access fault.  Called from any hart
	 * thread and from the event loop: devices lock their own state. */
	int (*read)(void *dev, uint64_t offset, unsigned len, uint64_t *val);
	int (*write)(void *dev, uint64_t offset, unsigned len, uint64_t val);
	void (*reset)(void *dev);
	void (*free)(void *dev);
	/* Snapshots and migration (src/snapshot), called with every hart
	 * parked and no request in flight: save appends the device's
	 * guest-visible state as plain data (condo/state.h); load reads it
	 * back into a device built with the same configuration, validates
	 * every value (a snapshot is untrusted input), re-drives its
	 * interrupt line from the loaded state, and returns -1 with the
	 * buffer failed on anything malformed.  NULL: the device has no
	 * state of its own. */
	void (*save)(void *dev, struct state_buf *out);
	int (*load)(void *dev, struct state_buf *in);
};

/* An interrupt line: a level the device sets, routed to a controller. */
struct irq_line {
	void (*set)(void *ctrl, unsigned irq, bool level);
	void *ctrl;
	unsigned irq;
};

static inline void irq_set(const struct irq_line *line, bool level)
{
	if (line->set)
		line->set(line->ctrl, line->irq, level);
}

#endif
