/* --drive's cache=, discard= and aio= parts (condo run), in QEMU's
 * spirit: cache=writeback|none|unsafe, discard=ignore|unmap (QEMU's
 * default is ignore, and so is ours), aio=auto|threads|io_uring. */
#include "condo/block_aio.h"
#include "condo/log.h"
#include "condo/machine.h"
#include "cli/cli.h"

#include <string.h>

static int parse_cache(const char *v, struct vm_drive *d)
{
	if (!strcmp(v, "writeback"))
		d->cache = VM_CACHE_WRITEBACK;
	else if (!strcmp(v, "none"))
		d->cache = VM_CACHE_NONE;
	else if (!strcmp(v, "unsafe"))
		d->cache = VM_CACHE_UNSAFE;
	else
		return -1;
	return 0;
}

static int parse_discard(const char *v, struct vm_drive *d)
{
	if (!strcmp(v, "ignore") || !strcmp(v, "off"))
		d->discard = false;
	else if (!strcmp(v, "unmap") || !strcmp(v, "on"))
		d->discard = true;
	else
		return -1;
	return 0;
}

static int parse_aio(const char *v, struct vm_drive *d)
{
	enum block_aio_kind kind;

	if (block_aio_parse(v, &kind) < 0)
		return -1;
	d->aio = (int)kind;
	return 0;
}

static const struct {
	const char *key;
	int (*parse)(const char *value, struct vm_drive *d);
	const char *values;
} drive_parts[] = {
    {"cache=", parse_cache, "writeback, none or unsafe"},
    {"discard=", parse_discard, "ignore or unmap"},
    {"aio=", parse_aio, "auto, threads or io_uring"},
};

int cli_drive_part(const char *spec, const char *item, struct vm_drive *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(drive_parts); i++) {
		size_t n = strlen(drive_parts[i].key);

		if (strncmp(item, drive_parts[i].key, n))
			continue;
		if (drive_parts[i].parse(item + n, d) < 0) {
			log_err("run", "--drive %s: unknown %.*s '%s' (%s)", spec, (int)(n - 1),
				drive_parts[i].key, item + n, drive_parts[i].values);
			return -1;
		}
		return 1;
	}
	return 0;
}
