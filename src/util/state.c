/* The plain-data state buffer (condo/state.h). */
#include "condo/state.h"

#include <stdlib.h>
#include <string.h>

void state_free(struct state_buf *b)
{
	if (b->cap)
		free(b->data);
	*b = (struct state_buf){ 0 };
}

void state_put(struct state_buf *b, const void *p, size_t n)
{
	if (b->failed || !n)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			state_fail(b, "out of memory");
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Little-endian whatever the host: x86-64 is, but the format says so. */
static void put_le(struct state_buf *b, uint64_t v, size_t n)
{
	uint8_t bytes[8];

	for (size_t i = 0; i < n; i++)
		bytes[i] = (uint8_t)(v >> (8 * i));
	state_put(b, bytes, n);
}

void state_put_u8(struct state_buf *b, uint8_t v)
{
	put_le(b, v, 1);
}

void state_put_u16(struct state_buf *b, uint16_t v)
{
	put_le(b, v, 2);
}

void state_put_u32(struct state_buf *b, uint32_t v)
{
	put_le(b, v, 4);
}

void state_put_u64(struct state_buf *b, uint64_t v)
{
	put_le(b, v, 8);
}

void state_put_tag(struct state_buf *b, const char tag[4])
{
	state_put(b, tag, 4);
}

int state_fail(struct state_buf *b, const char *why)
{
	if (!b->failed)
		b->why = why;
	b->failed = true;
	return -1;
}

int state_get(struct state_buf *b, void *p, size_t n)
{
	if (b->failed || n > b->len - b->pos) {
		state_fail(b, "truncated");
		memset(p, 0, n);
		return -1;
	}
	memcpy(p, b->data + b->pos, n);
	b->pos += n;
	return 0;
}

static uint64_t get_le(struct state_buf *b, size_t n)
{
	uint8_t bytes[8];
	uint64_t v = 0;

	if (state_get(b, bytes, n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)bytes[i] << (8 * i);
	return v;
}

uint8_t state_get_u8(struct state_buf *b)
{
	return (uint8_t)get_le(b, 1);
}

uint16_t state_get_u16(struct state_buf *b)
{
	return (uint16_t)get_le(b, 2);
}

uint32_t state_get_u32(struct state_buf *b)
{
	return (uint32_t)get_le(b, 4);
}

uint64_t state_get_u64(struct state_buf *b)
{
	return get_le(b, 8);
}

bool state_get_bool(struct state_buf *b)
{
	uint8_t v = state_get_u8(b);

	if (v > 1)
		state_fail(b, "a flag is neither 0 nor 1");
	return v == 1;
}

void state_expect(struct state_buf *b, const char tag[4])
{
	char got[4];

	if (state_get(b, got, 4) == 0 && memcmp(got, tag, 4))
		state_fail(b, "a section's tag is wrong");
}
