/* The code cache's memory with W^X: one memfd mapped twice, a read-write
 * view the translator writes through and a read-execute view the host runs.
 * No mapping is ever both writable and executable. */
#ifndef JIT_CODEBUF_H
#define JIT_CODEBUF_H

#include <stddef.h>
#include <stdint.h>

struct codebuf {
	uint8_t *rw; /* writable view */
	uint8_t *rx; /* executable view of the same pages */
	size_t size;
	int fd; /* only while setting up */
};

/* 0 or a negative errno. */
int codebuf_init(struct codebuf *cb, size_t size);
void codebuf_destroy(struct codebuf *cb);

/* Executable address of the byte at offset off. */
static inline void *codebuf_exec(const struct codebuf *cb, size_t off)
{
	return cb->rx + off;
}

/* In a fork() child, where the views do not exist: forget them. */
void codebuf_forget(struct codebuf *cb);

#endif
