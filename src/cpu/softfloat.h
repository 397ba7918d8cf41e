/* softfloat.h — IEEE 754 binary32/binary64 in integer arithmetic, all five RISC-V rounding modes.
 *
 * Operands and results are raw bit patterns (binary32 in the low 32 bits). Flags are the
 * RISC-V fflags bits (FFLAG_*), OR-ed into *flags; NaN results are canonical and tininess is
 * detected after rounding (unpriv spec, "F" chapter, fcsr and NaN generation sections).
 * fpu.c uses this for RMM, which x86 cannot do, for the float<->integer conversions, and as
 * the reference that the SSE path is tested against.
 */
#ifndef CONDO_CPU_SOFTFLOAT_H
#define CONDO_CPU_SOFTFLOAT_H

#include <stdbool.h>
#include <stdint.h>

enum sf_format { SF_S = 0, SF_D = 1 };

/* Integer destinations of fcvt.{w,wu,l,lu}.{s,d}. */
enum sf_int { SF_W, SF_WU, SF_L, SF_LU };

uint64_t sf_add(enum sf_format fmt, uint64_t a, uint64_t b, int rm, uint32_t *flags);
uint64_t sf_mul(enum sf_format fmt, uint64_t a, uint64_t b, int rm, uint32_t *flags);
uint64_t sf_div(enum sf_format fmt, uint64_t a, uint64_t b, int rm, uint32_t *flags);
uint64_t sf_sqrt(enum sf_format fmt, uint64_t a, int rm, uint32_t *flags);
/* a*b+c with one rounding; the fnm* / fms* forms are this with sign-flipped operands. */
uint64_t sf_fma(enum sf_format fmt, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags);

/* Float to integer; the result is already in RV64 register form (32-bit results sign-extended). */
uint64_t sf_to_int(enum sf_format fmt, uint64_t a, enum sf_int kind, int rm, uint32_t *flags);
/* 64-bit integer (signed or not) to float; callers extend 32-bit sources first. */
uint64_t sf_from_int(enum sf_format fmt, uint64_t x, bool is_signed, int rm, uint32_t *flags);
/* fcvt.s.d / fcvt.d.s */
uint64_t sf_convert(enum sf_format from, enum sf_format to, uint64_t a, int rm, uint32_t *flags);

#endif
