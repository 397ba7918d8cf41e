/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c, docs/fuzzing.md):
 * a reader that turns the fuzzer's bytes into values (an exhausted input
 * reads as zeroes, so every input is a valid program of operations), and
 * the set-up shared by several harnesses. */
#ifndef CONDO_FUZZ_H
#define CONDO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "condo/mem.h"

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline bool fin_more(const struct fuzz_in *in)
{
	return in->left > 0;
}

/* Up to n bytes into dst, little-endian; missing bytes are zero. */
static inline uint64_t fin_bytes(struct fuzz_in *in, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static inline uint8_t fin_u8(struct fuzz_in *in)
{
	return (uint8_t)fin_bytes(in, 1);
}

static inline uint16_t fin_u16(struct fuzz_in *in)
{
	return (uint16_t)fin_bytes(in, 2);
}

static inline uint32_t fin_u32(struct fuzz_in *in)
{
	return (uint32_t)fin_bytes(in, 4);
}

static inline uint64_t fin_u64(struct fuzz_in *in)
{
	return fin_bytes(in, 8);
}

/* A pointer to the next n bytes (fewer when the input ends: *got says). */
static inline const uint8_t *fin_take(struct fuzz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;

	*got = n < in->left ? n : in->left;
	in->p += *got;
	in->left -= *got;
	return p;
}

/* Send stdout (UART, SBI and console output of the guest) to /dev/null:
 * libFuzzer reports on stderr. */
void fuzz_quiet_stdout(void);

/* Guest RAM on the heap rather than mmap, so that AddressSanitizer's
 * redzones catch any host access past either end of it. */
int fuzz_ram_init(struct guest_ram *ram, gpa_t base, uint64_t size);
void fuzz_ram_free(struct guest_ram *ram);

/* An empty file of size bytes for a disk image; returns a path to it
 * ("/proc/self/fd/N" of a memfd, so nothing is left on the host). */
const char *fuzz_disk_path(uint64_t size);

#endif
