/* fpu.c — RISC-V F and D instructions (unpriv spec v20191213, chapters 11 "F" and 12 "D").
 *
 * Arithmetic goes through up to three tiers:
 *  1. RNE with ordinary operands: plain host SSE arithmetic in the default MXCSR, flags derived
 *     from the result (see "tier 1" below). No MXCSR access: on some hosts stmxcsr and a
 *     changing ldmxcsr cost 5-20 ns each, far more than the arithmetic.
 *  2. RNE/RTZ/RDN/RUP otherwise: the SSE instruction with MXCSR set to the guest's rounding mode,
 *     exceptions masked and FTZ/DAZ off; the x86 flags read back map one to one onto fflags (x86
 *     also detects tininess after rounding). Only NaN payloads differ: made canonical (§11.3).
 *  3. RMM, which x86 lacks, and integer conversions: softfloat.c.
 * Comparisons, min/max and fclass are plain integer code on the bit patterns.
 */
#include "cpu/fpu.h"
#include "cpu/softfloat.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* -DFPU_SOFT_ONLY runs everything on softfloat (debugging, and cross-checking softfloat) */
#if defined(__x86_64__) && !defined(FPU_SOFT_ONLY)
#define HOST_SSE 1
#else
#define HOST_SSE 0
#endif

#define SIGN_S 0x80000000u
#define INF_S  0x7f800000u
#define MINN_S 0x00800000u /* smallest normal */
#define SAFE_S 0x0c800000u /* 2^(emin+p) = 2^-102 */
#define SIGN_D 0x8000000000000000ull
#define INF_D  0x7ff0000000000000ull
#define MINN_D 0x0010000000000000ull
#define SAFE_D 0x0360000000000000ull /* 2^-969 */

static inline float f32(uint32_t bits)
{
	float f;
	memcpy(&f, &bits, sizeof(f));
	return f;
}

static inline double f64(uint64_t bits)
{
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static inline uint32_t bits32(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline uint64_t bits64(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

/* x86 returns the first NaN operand quieted, or its own negative default NaN; RISC-V wants the
 * canonical NaN (§11.3). */
static inline uint32_t canon_s(uint32_t r)
{
	return (r & ~SIGN_S) > INF_S ? FPU_CANON_NAN_S : r;
}

static inline uint64_t canon_d(uint64_t r)
{
	return (r & ~SIGN_D) > INF_D ? FPU_CANON_NAN_D : r;
}

/* RNE may try tier 1; rm 0..3 can use tier 2; RMM (and anything the caller should not have
 * passed) goes to tier 3 */
static inline bool fast_rm(int rm)
{
	return HOST_SSE && rm == FRM_RNE;
}

static inline bool host_rm(int rm)
{
	return HOST_SSE && (unsigned)rm <= FRM_RUP;
}

#if HOST_SSE
/* Between calls the thread's MXCSR is the x86-64 psABI default 0x1f80: round to nearest, all
 * exceptions masked, FTZ and DAZ off (its control bits are callee-saved; condo is never built
 * with -ffast-math, whose startup code would set FTZ/DAZ). Tier 1 relies on it, tier 2 restores
 * it. Host code never reads the sticky flags, so they may be left dirty. */
#define MXCSR_DEFAULT 0x1f80u

/* x86 RC is 0 nearest, 1 down, 2 up, 3 toward zero */
static const uint32_t mxcsr_for_rm[4] = {
    [FRM_RNE] = MXCSR_DEFAULT,
    [FRM_RTZ] = MXCSR_DEFAULT | 3u << 13,
    [FRM_RDN] = MXCSR_DEFAULT | 1u << 13,
    [FRM_RUP] = MXCSR_DEFAULT | 2u << 13,
};

/* MXCSR flag bits IE DE ZE OE UE PE (0..5) to fflags. DE ("denormal operand") has no RISC-V
 * counterpart and is dropped. */
#define XF(m)                                                                                      \
	((((m)&1) ? FFLAG_NV : 0) | (((m)&4) ? FFLAG_DZ : 0) | (((m)&8) ? FFLAG_OF : 0) |          \
	 (((m)&16) ? FFLAG_UF : 0) | (((m)&32) ? FFLAG_NX : 0))
#define XF4(m)	XF(m), XF((m) + 1), XF((m) + 2), XF((m) + 3)
#define XF16(m) XF4(m), XF4((m) + 4), XF4((m) + 8), XF4((m) + 12)
static const uint8_t x86_flags[64] = {XF16(0), XF16(16), XF16(32), XF16(48)};

static inline void sse_done(uint32_t after, uint32_t *flags)
{
	static const uint32_t dflt = MXCSR_DEFAULT;

	*flags |= x86_flags[after & 0x3f];
	if (after != MXCSR_DEFAULT)
		__asm__ volatile("ldmxcsr %0" : : "m"(dflt));
}

/* Tier 2: one SSE instruction "insn src, dst" under the guest's rounding mode. Loading MXCSR
 * also clears stale flags. The MXCSR accesses sit in the same asm statement as the arithmetic
 * so that the compiler cannot move one across the other. */
#define SSE_OP(insn, dst, src, rm, flags)                                                          \
	do {                                                                                       \
		uint32_t after_;                                                                   \
		__asm__ volatile("ldmxcsr %[want]\n\t" insn " %[s], %[d]\n\tstmxcsr %[af]"         \
				 : [d] "+x"(dst), [af] "=m"(after_)                                \
				 : [s] "x"(src), [want] "m"(mxcsr_for_rm[rm]));                    \
		sse_done(after_, flags);                                                           \
	} while (0)

/* dst = m1*m2 + dst with one rounding (FMA3) */
#define SSE_FMA(insn, m1, m2, dst, rm, flags)                                                      \
	do {                                                                                       \
		uint32_t after_;                                                                   \
		__asm__ volatile("ldmxcsr %[want]\n\t" insn " %[q], %[p], %[d]\n\tstmxcsr %[af]"   \
				 : [d] "+x"(dst), [af] "=m"(after_)                                \
				 : [p] "x"(m1), [q] "x"(m2), [want] "m"(mxcsr_for_rm[rm]));        \
		sse_done(after_, flags);                                                           \
	} while (0)

/* The same without MXCSR, for tier 1, and square root likewise */
#define FMA3(insn, m1, m2, dst)                                                                    \
	__asm__(insn " %[q], %[p], %[d]" : [d] "+x"(dst) : [p] "x"(m1), [q] "x"(m2))
#define SQRT(insn, src, dst) __asm__(insn " %1, %0" : "=x"(dst) : "x"(src))

static inline bool host_fma(void)
{
	return __builtin_cpu_supports("fma");
}
#else
/* never reached (host_rm() and host_fma() are false), but keeps the operands "used" */
#define SSE_OP(insn, dst, src, rm, flags)     ((void)(dst), (void)(src))
#define SSE_FMA(insn, m1, m2, dst, rm, flags) ((void)(m1), (void)(m2), (void)(dst))
#define FMA3(insn, m1, m2, dst)		      ((void)(m1), (void)(m2), (void)(dst))
#define SQRT(insn, src, dst)		      ((dst) = (src))
static inline bool host_fma(void)
{
	return false;
}
#endif

/* ---- tier 1: RNE on ordinary operands, no MXCSR access ----
 * Each fast_* either produces the exact RISC-V result and flags and returns true, or returns
 * false and leaves the work to tier 2. The flags follow from the result: OF (with NX) when
 * finite operands give inf; UF cannot happen because results below SAFE = 2^(emin+p), far above
 * the subnormal range, go to tier 2 (sums are the exception: a tiny sum is always exact); NV and
 * DZ cannot happen on the operands accepted. NX costs nothing when *flags already has it, the
 * usual case (QEMU's "hardfloat" uses the same trick); otherwise the rounding error is computed
 * exactly by an error-free transformation: Fast2Sum, or an FMA residual, which is exact for
 * operands above SAFE. */
#define DEFINE_FAST(sfx, T, U, F, B, SIGN, INF, MINN, SAFE, FMADD, FMSUB, FNMADD, SQRTI)           \
	static inline U mag_##sfx(U a)                                                             \
	{                                                                                          \
		return a & ~(U)SIGN;                                                               \
	}                                                                                          \
	/* zero or normal */                                                                       \
	static inline bool plain_##sfx(U a)                                                        \
	{                                                                                          \
		return mag_##sfx(a) < INF && (mag_##sfx(a) == 0 || mag_##sfx(a) >= MINN);          \
	}                                                                                          \
	/* nothing left to do: overflowed, or safely normal with NX already set */                 \
	static inline bool done_##sfx(U r, uint32_t *flags)                                        \
	{                                                                                          \
		if (mag_##sfx(r) == INF) {                                                         \
			*flags |= FFLAG_OF | FFLAG_NX;                                             \
			return true;                                                               \
		}                                                                                  \
		return mag_##sfx(r) >= SAFE && (*flags & FFLAG_NX);                                \
	}                                                                                          \
	static inline bool fast_add_##sfx(U a, U b, U *res, uint32_t *flags)                       \
	{                                                                                          \
		T x = F(a), y = F(b), r, big, small;                                               \
		if (mag_##sfx(a) >= INF || mag_##sfx(b) >= INF)                                    \
			return false;                                                              \
		r = x + y;                                                                         \
		*res = B(r);                                                                       \
		if (done_##sfx(*res, flags) || (*flags & FFLAG_NX))                                \
			return true;                                                               \
		big = mag_##sfx(a) >= mag_##sfx(b) ? x : y;                                        \
		small = mag_##sfx(a) >= mag_##sfx(b) ? y : x;                                      \
		if (small - (r - big) != 0) /* Fast2Sum: the exact rounding error */               \
			*flags |= FFLAG_NX;                                                        \
		return true;                                                                       \
	}                                                                                          \
	static inline bool fast_mul_##sfx(U a, U b, U *res, uint32_t *flags)                       \
	{                                                                                          \
		T x = F(a), y = F(b), r, err;                                                      \
		if (!plain_##sfx(a) || !plain_##sfx(b))                                            \
			return false;                                                              \
		r = x * y;                                                                         \
		*res = B(r);                                                                       \
		if (mag_##sfx(a) == 0 || mag_##sfx(b) == 0 || done_##sfx(*res, flags))             \
			return true;                                                               \
		if (mag_##sfx(*res) < SAFE || !host_fma())                                         \
			return false;                                                              \
		err = r;                                                                           \
		FMA3(FMSUB, x, y, err); /* x*y - r */                                              \
		if (err != 0)                                                                      \
			*flags |= FFLAG_NX;                                                        \
		return true;                                                                       \
	}                                                                                          \
	static inline bool fast_div_##sfx(U a, U b, U *res, uint32_t *flags)                       \
	{                                                                                          \
		T x = F(a), y = F(b), q, rem;                                                      \
		if (!plain_##sfx(a) || !plain_##sfx(b) || mag_##sfx(b) == 0)                       \
			return false;                                                              \
		q = x / y;                                                                         \
		*res = B(q);                                                                       \
		if (mag_##sfx(a) == 0 || done_##sfx(*res, flags))                                  \
			return true;                                                               \
		if (mag_##sfx(*res) < SAFE || mag_##sfx(a) < SAFE || !host_fma())                  \
			return false;                                                              \
		rem = x;                                                                           \
		FMA3(FNMADD, q, y, rem); /* x - q*y */                                             \
		if (rem != 0)                                                                      \
			*flags |= FFLAG_NX;                                                        \
		return true;                                                                       \
	}                                                                                          \
	/* the square root of a positive number is never tiny and never overflows */               \
	static inline bool fast_sqrt_##sfx(U a, U *res, uint32_t *flags)                           \
	{                                                                                          \
		T x = F(a), s, rem;                                                                \
		if (mag_##sfx(a) == 0) { /* sqrt(-0) = -0 */                                       \
			*res = a;                                                                  \
			return true;                                                               \
		}                                                                                  \
		if (!plain_##sfx(a) || (a & (U)SIGN))                                              \
			return false;                                                              \
		SQRT(SQRTI, x, s);                                                                 \
		*res = B(s);                                                                       \
		if (*flags & FFLAG_NX)                                                             \
			return true;                                                               \
		if (mag_##sfx(a) < SAFE || !host_fma())                                            \
			return false;                                                              \
		rem = x;                                                                           \
		FMA3(FNMADD, s, s, rem); /* x - s*s */                                             \
		if (rem != 0)                                                                      \
			*flags |= FFLAG_NX;                                                        \
		return true;                                                                       \
	}                                                                                          \
	/* FMA only when NX is known: its rounding error has no cheap exact form */                \
	static inline bool fast_fma_##sfx(U a, U b, U c, U *res, uint32_t *flags)                  \
	{                                                                                          \
		T x = F(a), y = F(b), z = F(c);                                                    \
		if (!(*flags & FFLAG_NX) || !plain_##sfx(a) || !plain_##sfx(b) ||                  \
		    !plain_##sfx(c) || !host_fma())                                                \
			return false;                                                              \
		FMA3(FMADD, x, y, z);                                                              \
		*res = B(z);                                                                       \
		/* a zero product leaves c, or a zero signed as IEEE 754 §6.3 says: exact */      \
		return done_##sfx(*res, flags) || mag_##sfx(a) == 0 || mag_##sfx(b) == 0;          \
	}

DEFINE_FAST(s, float, uint32_t, f32, bits32, SIGN_S, INF_S, MINN_S, SAFE_S, "vfmadd231ss",
	    "vfmsub231ss", "vfnmadd231ss", "sqrtss")
DEFINE_FAST(d, double, uint64_t, f64, bits64, SIGN_D, INF_D, MINN_D, SAFE_D, "vfmadd231sd",
	    "vfmsub231sd", "vfnmadd231sd", "sqrtsd")

/* ---- tiers 2 and 3 ---- */

enum binop { OP_ADD, OP_MUL, OP_DIV };

static uint32_t slow_s(enum binop op, uint32_t a, uint32_t b, int rm, uint32_t *flags)
{
	float x = f32(a), y = f32(b);

	if (!host_rm(rm))
		return (uint32_t)(op == OP_ADD	 ? sf_add(SF_S, a, b, rm, flags)
				  : op == OP_MUL ? sf_mul(SF_S, a, b, rm, flags)
						 : sf_div(SF_S, a, b, rm, flags));
	if (op == OP_ADD)
		SSE_OP("addss", x, y, rm, flags);
	else if (op == OP_MUL)
		SSE_OP("mulss", x, y, rm, flags);
	else
		SSE_OP("divss", x, y, rm, flags);
	return canon_s(bits32(x));
}

static uint64_t slow_d(enum binop op, uint64_t a, uint64_t b, int rm, uint32_t *flags)
{
	double x = f64(a), y = f64(b);

	if (!host_rm(rm))
		return op == OP_ADD   ? sf_add(SF_D, a, b, rm, flags)
		       : op == OP_MUL ? sf_mul(SF_D, a, b, rm, flags)
				      : sf_div(SF_D, a, b, rm, flags);
	if (op == OP_ADD)
		SSE_OP("addsd", x, y, rm, flags);
	else if (op == OP_MUL)
		SSE_OP("mulsd", x, y, rm, flags);
	else
		SSE_OP("divsd", x, y, rm, flags);
	return canon_d(bits64(x));
}

/* a - b is a + (-b) exactly, zero signs included; a NaN's sign is lost to canonicalisation */
#define DEFINE_BINOPS(sfx, U, SIGN)                                                                \
	U fpu_add_##sfx(U a, U b, int rm, uint32_t *flags)                                         \
	{                                                                                          \
		U r;                                                                               \
		if (fast_rm(rm) && fast_add_##sfx(a, b, &r, flags))                                \
			return r;                                                                  \
		return slow_##sfx(OP_ADD, a, b, rm, flags);                                        \
	}                                                                                          \
	U fpu_sub_##sfx(U a, U b, int rm, uint32_t *flags)                                         \
	{                                                                                          \
		return fpu_add_##sfx(a, b ^ SIGN, rm, flags);                                      \
	}                                                                                          \
	U fpu_mul_##sfx(U a, U b, int rm, uint32_t *flags)                                         \
	{                                                                                          \
		U r;                                                                               \
		if (fast_rm(rm) && fast_mul_##sfx(a, b, &r, flags))                                \
			return r;                                                                  \
		return slow_##sfx(OP_MUL, a, b, rm, flags);                                        \
	}                                                                                          \
	U fpu_div_##sfx(U a, U b, int rm, uint32_t *flags)                                         \
	{                                                                                          \
		U r;                                                                               \
		if (fast_rm(rm) && fast_div_##sfx(a, b, &r, flags))                                \
			return r;                                                                  \
		return slow_##sfx(OP_DIV, a, b, rm, flags);                                        \
	}
DEFINE_BINOPS(s, uint32_t, SIGN_S)
DEFINE_BINOPS(d, uint64_t, SIGN_D)

/* A square root is never a tie (a midpoint has p+1 significant bits and its square cannot fit
 * in p) and never tiny, so RMM gives exactly the RNE result and flags. */
uint32_t fpu_sqrt_s(uint32_t a, int rm, uint32_t *flags)
{
	float x = f32(a);
	uint32_t r;

	if (rm == FRM_RMM)
		rm = FRM_RNE;
	if (fast_rm(rm) && fast_sqrt_s(a, &r, flags))
		return r;
	if (!host_rm(rm))
		return (uint32_t)sf_sqrt(SF_S, a, rm, flags);
	SSE_OP("sqrtss", x, x, rm, flags);
	return canon_s(bits32(x));
}

uint64_t fpu_sqrt_d(uint64_t a, int rm, uint32_t *flags)
{
	double x = f64(a);
	uint64_t r;

	if (rm == FRM_RMM)
		rm = FRM_RNE;
	if (fast_rm(rm) && fast_sqrt_d(a, &r, flags))
		return r;
	if (!host_rm(rm))
		return sf_sqrt(SF_D, a, rm, flags);
	SSE_OP("sqrtsd", x, x, rm, flags);
	return canon_d(bits64(x));
}

/* ---- fused multiply-add ----
 * The four forms are a*b+c with a and/or c negated (as Sail does), which is exact, zero signs
 * included. NaN operands go to softfloat: x86 does not raise invalid for inf*0+qNaN, RISC-V does
 * (§11.6). Without FMA3 on the host, softfloat does it all. */

static uint32_t fma_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags)
{
	float x = f32(a), y = f32(b), z = f32(c);
	uint32_t r;

	if (fast_rm(rm) && fast_fma_s(a, b, c, &r, flags))
		return r;
	if (!host_rm(rm) || !host_fma() || mag_s(a) > INF_S || mag_s(b) > INF_S || mag_s(c) > INF_S)
		return (uint32_t)sf_fma(SF_S, a, b, c, rm, flags);
	SSE_FMA("vfmadd231ss", x, y, z, rm, flags);
	return canon_s(bits32(z)); /* inf*0 and inf-inf give x86's default NaN */
}

static uint64_t fma_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags)
{
	double x = f64(a), y = f64(b), z = f64(c);
	uint64_t r;

	if (fast_rm(rm) && fast_fma_d(a, b, c, &r, flags))
		return r;
	if (!host_rm(rm) || !host_fma() || mag_d(a) > INF_D || mag_d(b) > INF_D || mag_d(c) > INF_D)
		return sf_fma(SF_D, a, b, c, rm, flags);
	SSE_FMA("vfmadd231sd", x, y, z, rm, flags);
	return canon_d(bits64(z));
}

uint32_t fpu_madd_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags)
{
	return fma_s(a, b, c, rm, flags);
}
uint32_t fpu_msub_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags)
{
	return fma_s(a, b, c ^ SIGN_S, rm, flags);
}
uint32_t fpu_nmsub_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags)
{
	return fma_s(a ^ SIGN_S, b, c, rm, flags);
}
uint32_t fpu_nmadd_s(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *flags)
{
	return fma_s(a ^ SIGN_S, b, c ^ SIGN_S, rm, flags);
}
uint64_t fpu_madd_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags)
{
	return fma_d(a, b, c, rm, flags);
}
uint64_t fpu_msub_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags)
{
	return fma_d(a, b, c ^ SIGN_D, rm, flags);
}
uint64_t fpu_nmsub_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags)
{
	return fma_d(a ^ SIGN_D, b, c, rm, flags);
}
uint64_t fpu_nmadd_d(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags)
{
	return fma_d(a ^ SIGN_D, b, c ^ SIGN_D, rm, flags);
}

/* ---- comparisons, min/max, fclass: integer code on the encodings ---- */

struct layout {
	uint64_t sign, inf, quiet, all, canon;
	uint64_t min_normal;
};
static const struct layout LS = {SIGN_S,      0x7f800000u,     0x00400000u,
				 0xffffffffu, FPU_CANON_NAN_S, 0x00800000u};
static const struct layout LD = {SIGN_D, 0x7ff0000000000000ull, 0x0008000000000000ull,
				 ~0ull,	 FPU_CANON_NAN_D,	0x0010000000000000ull};

static inline bool is_nan(const struct layout *l, uint64_t x)
{
	return (x & ~l->sign) > l->inf;
}

static inline bool is_snan(const struct layout *l, uint64_t x)
{
	return is_nan(l, x) && !(x & l->quiet);
}

static inline bool both_zero(const struct layout *l, uint64_t a, uint64_t b)
{
	return ((a | b) & ~l->sign) == 0;
}

/* A key whose unsigned order is the numeric order of non-NaN values, with -0 just below +0. */
static inline uint64_t order_key(const struct layout *l, uint64_t x)
{
	return (x & l->sign) ? x ^ l->all : x | l->sign;
}

static inline uint64_t minmax(const struct layout *l, uint64_t a, uint64_t b, bool max,
			      uint32_t *flags)
{
	if (is_snan(l, a) || is_snan(l, b))
		*flags |= FFLAG_NV;
	if (is_nan(l, a))
		return is_nan(l, b) ? l->canon : b;
	if (is_nan(l, b))
		return a;
	return (order_key(l, a) < order_key(l, b)) != max ? a : b;
}

static inline uint64_t feq(const struct layout *l, uint64_t a, uint64_t b, uint32_t *flags)
{
	if (is_nan(l, a) || is_nan(l, b)) {
		if (is_snan(l, a) || is_snan(l, b))
			*flags |= FFLAG_NV;
		return 0;
	}
	return a == b || both_zero(l, a, b);
}

static inline uint64_t flt(const struct layout *l, uint64_t a, uint64_t b, bool or_equal,
			   uint32_t *flags)
{
	if (is_nan(l, a) || is_nan(l, b)) {
		*flags |= FFLAG_NV;
		return 0;
	}
	if (both_zero(l, a, b))
		return or_equal;
	return or_equal ? order_key(l, a) <= order_key(l, b) : order_key(l, a) < order_key(l, b);
}

/* §11.9 Table 11.5: one bit per class, -inf (bit 0) up to quiet NaN (bit 9). */
static inline uint64_t fclass(const struct layout *l, uint64_t x)
{
	const bool neg = (x & l->sign) != 0;
	const uint64_t mag = x & ~l->sign;

	if (mag == l->inf)
		return neg ? 1u << 0 : 1u << 7;
	if (mag > l->inf)
		return (x & l->quiet) ? 1u << 9 : 1u << 8;
	if (mag == 0)
		return neg ? 1u << 3 : 1u << 4;
	if (mag < l->min_normal)
		return neg ? 1u << 2 : 1u << 5;
	return neg ? 1u << 1 : 1u << 6;
}

uint32_t fpu_min_s(uint32_t a, uint32_t b, uint32_t *flags)
{
	return (uint32_t)minmax(&LS, a, b, false, flags);
}
uint32_t fpu_max_s(uint32_t a, uint32_t b, uint32_t *flags)
{
	return (uint32_t)minmax(&LS, a, b, true, flags);
}
uint64_t fpu_eq_s(uint32_t a, uint32_t b, uint32_t *flags)
{
	return feq(&LS, a, b, flags);
}
uint64_t fpu_lt_s(uint32_t a, uint32_t b, uint32_t *flags)
{
	return flt(&LS, a, b, false, flags);
}
uint64_t fpu_le_s(uint32_t a, uint32_t b, uint32_t *flags)
{
	return flt(&LS, a, b, true, flags);
}
uint64_t fpu_class_s(uint32_t a)
{
	return fclass(&LS, a);
}
uint64_t fpu_min_d(uint64_t a, uint64_t b, uint32_t *flags)
{
	return minmax(&LD, a, b, false, flags);
}
uint64_t fpu_max_d(uint64_t a, uint64_t b, uint32_t *flags)
{
	return minmax(&LD, a, b, true, flags);
}
uint64_t fpu_eq_d(uint64_t a, uint64_t b, uint32_t *flags)
{
	return feq(&LD, a, b, flags);
}
uint64_t fpu_lt_d(uint64_t a, uint64_t b, uint32_t *flags)
{
	return flt(&LD, a, b, false, flags);
}
uint64_t fpu_le_d(uint64_t a, uint64_t b, uint32_t *flags)
{
	return flt(&LD, a, b, true, flags);
}
uint64_t fpu_class_d(uint64_t a)
{
	return fclass(&LD, a);
}

/* ---- conversions ---- */

/* Float to integer, tier 1: for RTZ (what C casts compile to) and RNE, a 64-bit host conversion
 * (cvttsd2si truncates; cvtsd2si rounds per the default MXCSR) of an in-range value, then a
 * compare tells whether it was exact. NaN fails the range test. Anything out of the destination's
 * range, other modes and HOST_SSE=0 go to softfloat, which also does the saturation. */
static const struct {
	int64_t lo, hi;
} int_range[4] = {
    [SF_W] = {INT32_MIN, INT32_MAX},
    [SF_WU] = {0, UINT32_MAX},
    [SF_L] = {INT64_MIN, INT64_MAX},
    [SF_LU] = {0, INT64_MAX},
};

static inline uint64_t to_int(double x, enum sf_format fmt, uint64_t a, enum sf_int kind, int rm,
			      uint32_t *flags)
{
	int64_t r;

	if (!HOST_SSE || (rm != FRM_RTZ && rm != FRM_RNE) || !(x > -0x1p63 && x < 0x1p63))
		return sf_to_int(fmt, a, kind, rm, flags);
	if (rm == FRM_RTZ)
		r = (int64_t)x;
	else
		__asm__("cvtsd2si %1, %0" : "=r"(r) : "x"(x));
	if (r < int_range[kind].lo || r > int_range[kind].hi)
		return sf_to_int(fmt, a, kind, rm, flags);
	if ((double)r != x) /* exact test: |x| >= 2^53 is an integer, then r == x */
		*flags |= FFLAG_NX;
	/* -0.7 truncated for wu lands here as 0 with NX, and that is right: only the rounded
	 * value's range matters. 32-bit results are sign-extended, wu included (§11.7). */
	return kind == SF_W || kind == SF_WU ? (uint64_t)(int64_t)(int32_t)r : (uint64_t)r;
}

uint64_t fpu_cvt_w_s(uint32_t a, int rm, uint32_t *flags)
{
	return to_int(f32(a), SF_S, a, SF_W, rm, flags);
}
uint64_t fpu_cvt_wu_s(uint32_t a, int rm, uint32_t *flags)
{
	return to_int(f32(a), SF_S, a, SF_WU, rm, flags);
}
uint64_t fpu_cvt_l_s(uint32_t a, int rm, uint32_t *flags)
{
	return to_int(f32(a), SF_S, a, SF_L, rm, flags);
}
uint64_t fpu_cvt_lu_s(uint32_t a, int rm, uint32_t *flags)
{
	return to_int(f32(a), SF_S, a, SF_LU, rm, flags);
}
uint64_t fpu_cvt_w_d(uint64_t a, int rm, uint32_t *flags)
{
	return to_int(f64(a), SF_D, a, SF_W, rm, flags);
}
uint64_t fpu_cvt_wu_d(uint64_t a, int rm, uint32_t *flags)
{
	return to_int(f64(a), SF_D, a, SF_WU, rm, flags);
}
uint64_t fpu_cvt_l_d(uint64_t a, int rm, uint32_t *flags)
{
	return to_int(f64(a), SF_D, a, SF_L, rm, flags);
}
uint64_t fpu_cvt_lu_d(uint64_t a, int rm, uint32_t *flags)
{
	return to_int(f64(a), SF_D, a, SF_LU, rm, flags);
}

/* Integers of up to 24 (53) significant bits convert exactly, so the C cast is the answer
 * whatever the rounding mode; only wider ones need rounding. */
uint32_t fpu_cvt_s_w(uint64_t x, int rm, uint32_t *flags)
{
	const int32_t v = (int32_t)(uint32_t)x;

	if (v >= -(1 << 24) && v <= 1 << 24)
		return bits32((float)v);
	return (uint32_t)sf_from_int(SF_S, (uint64_t)(int64_t)v, true, rm, flags);
}
uint32_t fpu_cvt_s_wu(uint64_t x, int rm, uint32_t *flags)
{
	const uint32_t v = (uint32_t)x;

	if (v <= 1u << 24)
		return bits32((float)v);
	return (uint32_t)sf_from_int(SF_S, v, false, rm, flags);
}
uint32_t fpu_cvt_s_l(uint64_t x, int rm, uint32_t *flags)
{
	const int64_t v = (int64_t)x;

	if (v >= -(1 << 24) && v <= 1 << 24)
		return bits32((float)v);
	return (uint32_t)sf_from_int(SF_S, x, true, rm, flags);
}
uint32_t fpu_cvt_s_lu(uint64_t x, int rm, uint32_t *flags)
{
	if (x <= 1u << 24)
		return bits32((float)x);
	return (uint32_t)sf_from_int(SF_S, x, false, rm, flags);
}
uint64_t fpu_cvt_d_w(uint64_t x, int rm, uint32_t *flags)
{
	(void)rm, (void)flags; /* always exact */
	return bits64((double)(int32_t)(uint32_t)x);
}
uint64_t fpu_cvt_d_wu(uint64_t x, int rm, uint32_t *flags)
{
	(void)rm, (void)flags;
	return bits64((double)(uint32_t)x);
}
uint64_t fpu_cvt_d_l(uint64_t x, int rm, uint32_t *flags)
{
	const int64_t v = (int64_t)x;

	if (v >= -(1ll << 53) && v <= 1ll << 53)
		return bits64((double)v);
	return sf_from_int(SF_D, x, true, rm, flags);
}
uint64_t fpu_cvt_d_lu(uint64_t x, int rm, uint32_t *flags)
{
	if (x <= 1ull << 53)
		return bits64((double)x);
	return sf_from_int(SF_D, x, false, rm, flags);
}

uint32_t fpu_cvt_s_d(uint64_t a, int rm, uint32_t *flags)
{
	double x = f64(a);
	float r = 0;

	/* tier 1: the C conversion rounds in the default MXCSR; whether it was exact is a compare
	 */
	if (fast_rm(rm) && mag_d(a) < INF_D) {
		r = (float)x;
		if (mag_s(bits32(r)) == INF_S) {
			*flags |= FFLAG_OF | FFLAG_NX;
			return bits32(r);
		}
		if (mag_s(bits32(r)) >= SAFE_S || mag_d(a) == 0) {
			if ((double)r != x)
				*flags |= FFLAG_NX;
			return bits32(r);
		}
	}
	if (!host_rm(rm))
		return (uint32_t)sf_convert(SF_D, SF_S, a, rm, flags);
	SSE_OP("cvtsd2ss", r, x, rm, flags);
	return canon_s(bits32(r));
}

uint64_t fpu_cvt_d_s(uint32_t a, int rm, uint32_t *flags)
{
	const uint32_t e = (a >> 23) & 0xff;

	/* normal numbers: rebias the exponent, widen the fraction; the rest (0, subnormal, inf,
	 * NaN) is rare enough for softfloat */
	if (e != 0 && e != 0xff)
		return ((uint64_t)(a & SIGN_S) << 32) | ((uint64_t)(e - 127 + 1023) << 52) |
		       ((uint64_t)(a & 0x7fffff) << 29);
	return sf_convert(SF_S, SF_D, a, rm, flags);
}
