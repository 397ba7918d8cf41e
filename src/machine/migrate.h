/* Live migration's stream (migrate.c, incoming.c; docs/migration.md). */
#ifndef MACHINE_MIGRATE_H
#define MACHINE_MIGRATE_H

#include "condo/types.h"

#include <stddef.h>

/* A record's tag and length; 0, or -1 when the stream ended or broke. */
int migrate_read_head(int fd, char tag[4], uint64_t *len);
int migrate_read(int fd, void *buf, size_t len);

#endif
