/* softfloat.c — IEEE 754-2008 binary32/binary64 arithmetic in integer code, for all five RISC-V
 * rounding modes (unpriv spec v20191213 §11.2 "Floating-Point Control and Status Register").
 *
 * Every operation unpacks its operands into (sign, exponent, 64-bit significand), computes an
 * exact or sticky-jammed result, and hands it to one round_pack() that implements the rounding
 * modes, overflow, subnormals and the flags. Both formats share the code through struct fmt.
 */
#include "cpu/softfloat.h"
#include "cpu/fpu.h"

typedef unsigned __int128 u128;

struct fmt {
	int p;	   /* precision in bits, hidden bit included */
	int emin;  /* exponent of the smallest normal number */
	int emax;  /* exponent of the largest finite number */
	int width; /* 32 or 64 */
};

static const struct fmt fmts[2] = {
    [SF_S] = {.p = 24, .emin = -126, .emax = 127, .width = 32},
    [SF_D] = {.p = 53, .emin = -1022, .emax = 1023, .width = 64},
};

enum cls { C_ZERO, C_FINITE, C_INF, C_QNAN, C_SNAN };

/* A finite nonzero value is sig * 2^(exp - 62) with the leading 1 of sig at bit 62; bit 63 is
 * room for a carry and the bits below the format's precision are round and sticky bits. */
struct num {
	enum cls cls;
	int sign;
	int exp;
	uint64_t sig;
};

#define SIG_TOP 62

static inline uint64_t inf_bits(const struct fmt *f, int sign)
{
	uint64_t expmask = (1ull << (f->width - f->p)) - 1;
	return ((uint64_t)sign << (f->width - 1)) | (expmask << (f->p - 1));
}

static inline uint64_t zero_bits(const struct fmt *f, int sign)
{
	return (uint64_t)sign << (f->width - 1);
}

/* §11.3: "the result is the canonical NaN" for every NaN-producing operation. */
static inline uint64_t canon_nan(const struct fmt *f)
{
	return inf_bits(f, 0) | (1ull << (f->p - 2));
}

static inline bool is_nan(const struct num *n)
{
	return n->cls == C_QNAN || n->cls == C_SNAN;
}

static inline uint64_t nan_result(const struct fmt *f, bool raise_nv, uint32_t *flags)
{
	if (raise_nv)
		*flags |= FFLAG_NV;
	return canon_nan(f);
}

/* Shift right, OR-ing every bit shifted out into bit 0 ("sticky"), so rounding still sees that
 * the value was inexact. */
static inline uint64_t jam64(uint64_t x, int n)
{
	if (n <= 0)
		return x;
	if (n >= 64)
		return x != 0;
	return (x >> n) | ((x << (64 - n)) != 0);
}

static inline u128 jam128(u128 x, int n)
{
	if (n <= 0)
		return x;
	if (n >= 128)
		return x != 0;
	return (x >> n) | ((x << (128 - n)) != 0);
}

static inline int clz128(u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64);
	return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)x);
}

static struct num unpack(const struct fmt *f, uint64_t bits)
{
	const int fbits = f->p - 1;
	const uint64_t frac = bits & ((1ull << fbits) - 1);
	const int expmax = (1 << (f->width - f->p)) - 1;
	const int e = (int)((bits >> fbits) & (uint64_t)expmax);
	struct num n = {.sign = (int)((bits >> (f->width - 1)) & 1)};

	if (e == expmax) {
		if (frac == 0)
			n.cls = C_INF;
		else
			n.cls = (frac >> (fbits - 1)) & 1 ? C_QNAN : C_SNAN;
	} else if (e == 0) {
		if (frac == 0) {
			n.cls = C_ZERO;
		} else { /* subnormal: normalise so that every later step sees bit 62 set */
			int shift = __builtin_clzll(frac) - 1;
			n.cls = C_FINITE;
			n.sig = frac << shift;
			n.exp = f->emin - (shift - (SIG_TOP - fbits));
		}
	} else {
		n.cls = C_FINITE;
		n.exp = e - (f->emax);
		n.sig = (frac | (1ull << fbits)) << (SIG_TOP - fbits);
	}
	return n;
}

/* Whether to round a magnitude up, given the parity of the kept part and where the discarded
 * part lies relative to half an ulp (half_cmp < 0, == 0, > 0). RMM rounds ties away from zero. */
static inline bool round_up(int rm, int sign, bool odd, int half_cmp, bool inexact)
{
	switch (rm) {
	case FRM_RTZ:
		return false;
	case FRM_RDN:
		return sign && inexact;
	case FRM_RUP:
		return !sign && inexact;
	case FRM_RMM:
		return half_cmp >= 0 && inexact;
	default: /* FRM_RNE */
		return half_cmp > 0 || (half_cmp == 0 && odd);
	}
}

/* Round a kept field of sig (dropping `drop` low bits) in mode rm; returns the rounded field. */
static inline uint64_t round_field(uint64_t sig, int drop, int sign, int rm, bool *inexact)
{
	const uint64_t rem = sig & ((1ull << drop) - 1), half = 1ull << (drop - 1);
	const uint64_t kept = sig >> drop;
	const int half_cmp = rem < half ? -1 : rem > half;

	*inexact = rem != 0;
	return kept + round_up(rm, sign, kept & 1, half_cmp, rem != 0);
}

/* The one rounding step. sig != 0 has its leading 1 at bit 62. Tininess is detected after
 * rounding (spec §11.6 refers to IEEE 754-2008, and RISC-V chose "after rounding"): the result
 * is tiny only if rounding to p bits with an unbounded exponent stays below 2^emin. UF is raised
 * for a tiny result only when it is also inexact (IEEE 754 §7.5 default handling). */
static uint64_t round_pack(const struct fmt *f, int sign, int exp, uint64_t sig, int rm,
			   uint32_t *flags)
{
	const int drop = SIG_TOP + 1 - f->p;
	bool tiny = false, inexact;
	uint64_t m;

	if (exp < f->emin) {
		tiny = true;
		if (exp == f->emin - 1 && (sig >> drop) == (1ull << f->p) - 1) {
			bool dummy;
			/* all p bits ones: rounding up would carry to exactly 2^emin */
			if (round_field(sig, drop, sign, rm, &dummy) >> f->p)
				tiny = false;
		}
		sig = jam64(sig, f->emin - exp);
		exp = f->emin;
	}
	m = round_field(sig, drop, sign, rm, &inexact);
	if (m >> f->p) { /* carried into a new bit: 1.11..1 rounded up to 10.0 */
		m >>= 1;
		exp++;
	}
	if (exp > f->emax) {
		/* §11.6 / IEEE 754 §7.4: overflow rounds to inf or to the largest finite number */
		bool to_inf = rm == FRM_RNE || rm == FRM_RMM || (rm == FRM_RUP && !sign) ||
			      (rm == FRM_RDN && sign);
		*flags |= FFLAG_OF | FFLAG_NX;
		return to_inf ? inf_bits(f, sign) : inf_bits(f, sign) - 1;
	}
	if (inexact)
		*flags |= tiny ? FFLAG_NX | FFLAG_UF : FFLAG_NX;
	/* A subnormal m lacks the hidden bit, so the biased exponent field comes out 0; a normal m
	 * adds its hidden bit into the field, hence the -1. */
	return zero_bits(f, sign) + ((uint64_t)(exp + f->emax - 1) << (f->p - 1)) + m;
}

/* x + y for finite nonzero operands. Aligning with a sticky jam is exact enough: when the
 * exponents differ by 2 or more at most one bit cancels, and there are >= 9 guard bits. */
static uint64_t add_finite(const struct fmt *f, struct num x, struct num y, int rm, uint32_t *flags)
{
	uint64_t s;

	if (x.exp < y.exp || (x.exp == y.exp && x.sig < y.sig)) {
		struct num t = x;
		x = y;
		y = t;
	}
	y.sig = jam64(y.sig, x.exp - y.exp);
	if (x.sign == y.sign) {
		s = x.sig + y.sig;
		if (s >> 63) {
			s = jam64(s, 1);
			x.exp++;
		}
	} else {
		int shift;
		s = x.sig - y.sig;
		if (s == 0) /* IEEE 754 §6.3: exact zero sum is +0, or -0 when rounding down */
			return zero_bits(f, rm == FRM_RDN);
		shift = __builtin_clzll(s) - 1;
		s <<= shift;
		x.exp -= shift;
	}
	return round_pack(f, x.sign, x.exp, s, rm, flags);
}

uint64_t sf_add(enum sf_format fmt, uint64_t a, uint64_t b, int rm, uint32_t *flags)
{
	const struct fmt *f = &fmts[fmt];
	struct num x = unpack(f, a), y = unpack(f, b);

	if (is_nan(&x) || is_nan(&y))
		return nan_result(f, x.cls == C_SNAN || y.cls == C_SNAN, flags);
	if (x.cls == C_INF || y.cls == C_INF) {
		if (x.cls == C_INF && y.cls == C_INF && x.sign != y.sign)
			return nan_result(f, true, flags);
		return inf_bits(f, x.cls == C_INF ? x.sign : y.sign);
	}
	if (x.cls == C_ZERO && y.cls == C_ZERO)
		return zero_bits(f, x.sign == y.sign ? x.sign : rm == FRM_RDN);
	if (y.cls == C_ZERO)
		return a;
	if (x.cls == C_ZERO)
		return b;
	return add_finite(f, x, y, rm, flags);
}

uint64_t sf_mul(enum sf_format fmt, uint64_t a, uint64_t b, int rm, uint32_t *flags)
{
	const struct fmt *f = &fmts[fmt];
	struct num x = unpack(f, a), y = unpack(f, b);
	const int sign = x.sign ^ y.sign;
	u128 prod;
	int exp;

	if (is_nan(&x) || is_nan(&y))
		return nan_result(f, x.cls == C_SNAN || y.cls == C_SNAN, flags);
	if (x.cls == C_INF || y.cls == C_INF) {
		if (x.cls == C_ZERO || y.cls == C_ZERO)
			return nan_result(f, true, flags); /* inf * 0 */
		return inf_bits(f, sign);
	}
	if (x.cls == C_ZERO || y.cls == C_ZERO)
		return zero_bits(f, sign);
	/* both significands in [2^62, 2^63): the product is in [2^124, 2^126) */
	prod = (u128)x.sig * y.sig;
	exp = x.exp + y.exp;
	if (prod >> 125) {
		exp++;
		return round_pack(f, sign, exp, (uint64_t)jam128(prod, 63), rm, flags);
	}
	return round_pack(f, sign, exp, (uint64_t)jam128(prod, 62), rm, flags);
}

uint64_t sf_div(enum sf_format fmt, uint64_t a, uint64_t b, int rm, uint32_t *flags)
{
	const struct fmt *f = &fmts[fmt];
	struct num x = unpack(f, a), y = unpack(f, b);
	const int sign = x.sign ^ y.sign;
	u128 num;
	uint64_t q;
	bool rest;
	int exp;

	if (is_nan(&x) || is_nan(&y))
		return nan_result(f, x.cls == C_SNAN || y.cls == C_SNAN, flags);
	if (x.cls == C_INF)
		return y.cls == C_INF ? nan_result(f, true, flags) : inf_bits(f, sign);
	if (y.cls == C_INF)
		return zero_bits(f, sign);
	if (y.cls == C_ZERO) {
		if (x.cls == C_ZERO)
			return nan_result(f, true, flags);
		*flags |= FFLAG_DZ;
		return inf_bits(f, sign);
	}
	if (x.cls == C_ZERO)
		return zero_bits(f, sign);
	/* x.sig / y.sig is in (1/2, 2), so this quotient is in [2^62, 2^64) */
	num = (u128)x.sig << 63;
	q = (uint64_t)(num / y.sig);
	rest = (num % y.sig) != 0;
	exp = x.exp - y.exp;
	if (q >> 63)
		q = jam64(q, 1);
	else
		exp--;
	return round_pack(f, sign, exp, q | rest, rm, flags);
}

/* floor(sqrt(n)) for n in [2^124, 2^126), one result bit at a time. Only the RMM path and the
 * tests come here, so simplicity wins over speed. */
static uint64_t isqrt128(u128 n)
{
	uint64_t r = 0;

	for (int bit = 62; bit >= 0; bit--) {
		uint64_t t = r | (1ull << bit);
		if ((u128)t * t <= n)
			r = t;
	}
	return r;
}

uint64_t sf_sqrt(enum sf_format fmt, uint64_t a, int rm, uint32_t *flags)
{
	const struct fmt *f = &fmts[fmt];
	struct num x = unpack(f, a);
	u128 n;
	uint64_t r;

	if (is_nan(&x))
		return nan_result(f, x.cls == C_SNAN, flags);
	if (x.cls == C_ZERO)
		return a; /* sqrt(-0) = -0 */
	if (x.sign)
		return nan_result(f, true, flags);
	if (x.cls == C_INF)
		return a;
	/* make the exponent even so it halves exactly; n = sig * 2^62 (or 2^63) */
	n = (u128)x.sig << (62 + (x.exp & 1));
	x.exp -= x.exp & 1;
	r = isqrt128(n);
	return round_pack(f, 0, x.exp / 2, r | ((u128)r * r != n), rm, flags);
}

uint64_t sf_fma(enum sf_format fmt, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *flags)
{
	const struct fmt *f = &fmts[fmt];
	struct num x = unpack(f, a), y = unpack(f, b), z = unpack(f, c);
	const int psign = x.sign ^ y.sign;
	const bool inf_times_zero =
	    (x.cls == C_INF && y.cls == C_ZERO) || (x.cls == C_ZERO && y.cls == C_INF);
	u128 prod, addend, sum;
	int pexp, exp, sign;

	/* §11.6: fmadd must raise NV for inf*0 even when the addend is a quiet NaN. */
	if (is_nan(&x) || is_nan(&y) || is_nan(&z))
		return nan_result(
		    f, inf_times_zero || x.cls == C_SNAN || y.cls == C_SNAN || z.cls == C_SNAN,
		    flags);
	if (inf_times_zero)
		return nan_result(f, true, flags);
	if (x.cls == C_INF || y.cls == C_INF) {
		if (z.cls == C_INF && z.sign != psign)
			return nan_result(f, true, flags);
		return inf_bits(f, psign);
	}
	if (z.cls == C_INF)
		return c;
	if (x.cls == C_ZERO || y.cls == C_ZERO) {
		if (z.cls == C_ZERO)
			return zero_bits(f, psign == z.sign ? psign : rm == FRM_RDN);
		return c;
	}
	/* exact product with its leading 1 moved to bit 126 of 128 */
	prod = (u128)x.sig * y.sig;
	pexp = x.exp + y.exp;
	if (prod >> 125) {
		pexp++;
		prod <<= 1;
	} else {
		prod <<= 2;
	}
	if (z.cls == C_ZERO)
		return round_pack(f, psign, pexp, (uint64_t)jam128(prod, 64), rm, flags);

	addend = (u128)z.sig << 64;
	if (pexp > z.exp || (pexp == z.exp && prod >= addend)) {
		addend = jam128(addend, pexp - z.exp);
		exp = pexp;
		sign = psign;
	} else {
		u128 t = jam128(prod, z.exp - pexp);
		prod = addend;
		addend = t;
		exp = z.exp;
		sign = z.sign;
	}
	if (psign == z.sign) {
		sum = prod + addend;
		if (sum >> 127) {
			sum = jam128(sum, 1);
			exp++;
		}
	} else {
		int shift;
		sum = prod - addend;
		if (sum == 0)
			return zero_bits(f, rm == FRM_RDN);
		shift = clz128(sum) - 1;
		sum <<= shift;
		exp -= shift;
	}
	return round_pack(f, sign, exp, (uint64_t)jam128(sum, 64), rm, flags);
}

/* Saturation values of §11.7 Table 11.4 (and its D twin): NaN gives the largest value. */
static const struct {
	uint64_t max;	  /* largest magnitude allowed for a positive result */
	uint64_t neg_max; /* largest magnitude allowed for a negative result */
	uint64_t pos_sat, neg_sat;
} int_range[4] = {
    [SF_W] = {0x7fffffff, 0x80000000, 0x7fffffff, 0xffffffff80000000},
    [SF_WU] = {0xffffffff, 0, 0xffffffffffffffff, 0}, /* 2^32-1 sign-extended */
    [SF_L] = {0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000},
    [SF_LU] = {0xffffffffffffffff, 0, 0xffffffffffffffff, 0},
};

uint64_t sf_to_int(enum sf_format fmt, uint64_t a, enum sf_int kind, int rm, uint32_t *flags)
{
	struct num x = unpack(&fmts[fmt], a);
	uint64_t mag, res;
	bool inexact = false;

	if (is_nan(&x)) {
		*flags |= FFLAG_NV;
		return int_range[kind].pos_sat;
	}
	if (x.cls == C_ZERO)
		return 0;
	if (x.cls == C_INF || x.exp > 63)
		goto invalid;
	if (x.exp >= SIG_TOP) {
		mag = x.sig << (x.exp - SIG_TOP);
	} else if (x.exp >= -1) {
		mag = round_field(x.sig, SIG_TOP - x.exp, x.sign, rm, &inexact);
	} else { /* below 1/2: the integer part is 0 and the rest is under half */
		inexact = true;
		mag = round_up(rm, x.sign, false, -1, true);
	}
	/* The range check is on the rounded value: -0.5 rounds to 0 for wu, which is only
	 * inexact, not invalid (SoftFloat/Sail behaviour). Out of range: NV, never NX. */
	if (mag > (x.sign ? int_range[kind].neg_max : int_range[kind].max))
		goto invalid;
	if (inexact)
		*flags |= FFLAG_NX;
	res = x.sign ? -mag : mag;
	if (kind == SF_W || kind == SF_WU)
		res = (uint64_t)(int64_t)(int32_t)(uint32_t)res;
	return res;
invalid:
	*flags |= FFLAG_NV;
	return x.sign ? int_range[kind].neg_sat : int_range[kind].pos_sat;
}

uint64_t sf_from_int(enum sf_format fmt, uint64_t x, bool is_signed, int rm, uint32_t *flags)
{
	const struct fmt *f = &fmts[fmt];
	const int sign = is_signed && (int64_t)x < 0;
	uint64_t mag = sign ? -x : x;
	int lead;

	if (mag == 0)
		return 0;
	lead = 63 - __builtin_clzll(mag); /* exponent of the leading 1 */
	if (lead == 63)
		mag = jam64(mag, 1);
	else
		mag <<= SIG_TOP - lead;
	return round_pack(f, sign, lead, mag, rm, flags);
}

uint64_t sf_convert(enum sf_format from, enum sf_format to, uint64_t a, int rm, uint32_t *flags)
{
	const struct fmt *f = &fmts[to];
	struct num x = unpack(&fmts[from], a);

	/* §12.5: fcvt.s.d / fcvt.d.s of any NaN give the canonical NaN; sNaN raises NV */
	if (is_nan(&x))
		return nan_result(f, x.cls == C_SNAN, flags);
	if (x.cls == C_INF)
		return inf_bits(f, x.sign);
	if (x.cls == C_ZERO)
		return zero_bits(f, x.sign);
	return round_pack(f, x.sign, x.exp, x.sig, rm, flags);
}
