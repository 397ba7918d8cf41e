/* How values sit in the register file, shared by the interpreter and the
 * translator's helpers: NaN-boxed singles (unpriv 12.2) and 32-bit results
 * sign-extended to 64 bits. */
#ifndef CPU_REGVAL_H
#define CPU_REGVAL_H

#include <stdint.h>

#define CANONICAL_NAN_S 0x7fc00000u

/* A single not NaN-boxed in its 64-bit register reads as the canonical NaN. */
static inline uint32_t unbox_s(uint64_t v)
{
	return (v >> 32) == 0xffffffffu ? (uint32_t)v : CANONICAL_NAN_S;
}

static inline uint64_t box_s(uint32_t v)
{
	return 0xffffffff00000000ull | v;
}

static inline uint64_t sext32(uint64_t v)
{
	return (uint64_t)(int64_t)(int32_t)v;
}

#endif
