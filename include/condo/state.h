/* Saved state as plain data: what each component writes into a snapshot
 * or a migration stream, and reads back from one (src/snapshot).
 *
 * A component appends its fields one by one, little-endian and of fixed
 * width, never a struct's bytes (no pointers, no padding, no host layout).
 * Reading is bounds-checked: a snapshot is untrusted input, so running
 * past the end, or a component rejecting a value, marks the buffer failed
 * and every later read returns zeros.  Components validate what they read
 * (a queue size, an index, a privilege level) before using it. */
#ifndef CONDO_STATE_H
#define CONDO_STATE_H

#include "condo/types.h"

#include <stddef.h>

struct state_buf {
	uint8_t *data;
	size_t len;  /* bytes written, or the bytes there are to read */
	size_t cap;  /* allocated (writing) */
	size_t pos;  /* the next byte to read */
	bool failed; /* out of memory (writing) or malformed (reading) */
	const char *why; /* what was malformed, for the one-line error */
};

/* A buffer to read the len bytes at data (not copied, not freed). */
static inline struct state_buf state_reader(const void *data, size_t len)
{
	return (struct state_buf){ .data = (uint8_t *)(uintptr_t)data, .len = len };
}
void state_free(struct state_buf *b);

void state_put(struct state_buf *b, const void *p, size_t n);
void state_put_u8(struct state_buf *b, uint8_t v);
void state_put_u16(struct state_buf *b, uint16_t v);
void state_put_u32(struct state_buf *b, uint32_t v);
void state_put_u64(struct state_buf *b, uint64_t v);
static inline void state_put_bool(struct state_buf *b, bool v)
{
	state_put_u8(b, v);
}
/* A section tag: four characters a reader checks with state_expect. */
void state_put_tag(struct state_buf *b, const char tag[4]);

/* 0, or -1 (and the buffer fails, *p zeroed) when fewer than n bytes remain. */
int state_get(struct state_buf *b, void *p, size_t n);
uint8_t state_get_u8(struct state_buf *b);
uint16_t state_get_u16(struct state_buf *b);
uint32_t state_get_u32(struct state_buf *b);
uint64_t state_get_u64(struct state_buf *b);
/* 0 and 1 only; anything else fails the buffer. */
bool state_get_bool(struct state_buf *b);
/* The next four bytes must be tag, else the buffer fails. */
void state_expect(struct state_buf *b, const char tag[4]);
/* Fail the buffer with a reason (a component found a value out of range);
 * the first reason is kept.  Returns -1. */
int state_fail(struct state_buf *b, const char *why);
/* 0, or -1 when the buffer failed. */
static inline int state_status(const struct state_buf *b)
{
	return b->failed ? -1 : 0;
}

#endif
