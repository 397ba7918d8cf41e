/* Unit tests for the F and D arithmetic (src/cpu/fpu.c, src/cpu/softfloat.c).
 *
 *  - The host tiers against softfloat in RNE/RTZ/RDN/RUP on random and edge operands, with
 *    fflags starting clear and with NX already set (tier 1 takes a different path then).
 *  - RMM and the integer conversions against oracles independent of softfloat: the exact result
 *    computed in long double, and libm's rounding functions.
 *  - Hand-written vectors for the spec's tables: NaNs, fcvt saturation, fmin/fmax, compares,
 *    fclass, underflow after rounding, zero signs, overflow in each mode, RMM ties.
 * softfloat was also cross-checked against qemu-riscv64 while developing (docs/fpu.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fenv.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cpu/fpu.h"
#include "cpu/softfloat.h"

#define NX     FFLAG_NX
#define UF     FFLAG_UF
#define OF     FFLAG_OF
#define DZ     FFLAG_DZ
#define NV     FFLAG_NV
#define ALL_RM (-1)

/* ---- every operation by number, so tables and loops can name them ---- */

/* clang-format off */
enum op {
	ADD_S, SUB_S, MUL_S, DIV_S, SQRT_S, MADD_S, MSUB_S, NMSUB_S, NMADD_S, /* arithmetic */
	ADD_D, SUB_D, MUL_D, DIV_D, SQRT_D, MADD_D, MSUB_D, NMSUB_D, NMADD_D,
	S_D, D_S, /* last of the ops softfloat mirrors */
	MIN_S, MAX_S, EQ_S, LT_S, LE_S, CLASS_S, W_S, WU_S, L_S, LU_S, S_W, S_WU, S_L, S_LU,
	MIN_D, MAX_D, EQ_D, LT_D, LE_D, CLASS_D, W_D, WU_D, L_D, LU_D, D_W, D_WU, D_L, D_LU,
};

static const char *const op_names[] = {
	"fadd.s", "fsub.s", "fmul.s", "fdiv.s", "fsqrt.s", "fmadd.s", "fmsub.s", "fnmsub.s",
	"fnmadd.s", "fadd.d", "fsub.d", "fmul.d", "fdiv.d", "fsqrt.d", "fmadd.d", "fmsub.d",
	"fnmsub.d", "fnmadd.d", "fcvt.s.d", "fcvt.d.s", "fmin.s", "fmax.s", "feq.s", "flt.s",
	"fle.s", "fclass.s", "fcvt.w.s", "fcvt.wu.s", "fcvt.l.s", "fcvt.lu.s", "fcvt.s.w",
	"fcvt.s.wu", "fcvt.s.l", "fcvt.s.lu", "fmin.d", "fmax.d", "feq.d", "flt.d", "fle.d",
	"fclass.d", "fcvt.w.d", "fcvt.wu.d", "fcvt.l.d", "fcvt.lu.d", "fcvt.d.w", "fcvt.d.wu",
	"fcvt.d.l", "fcvt.d.lu",
};
/* clang-format on */

/* clang-format off */
/* The public API, which the interpreter calls. */
static uint64_t call(enum op op, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *f)
{
	const uint32_t as = (uint32_t)a, bs = (uint32_t)b, cs = (uint32_t)c;

	switch (op) {
	case ADD_S: return fpu_add_s(as, bs, rm, f);
	case SUB_S: return fpu_sub_s(as, bs, rm, f);
	case MUL_S: return fpu_mul_s(as, bs, rm, f);
	case DIV_S: return fpu_div_s(as, bs, rm, f);
	case SQRT_S: return fpu_sqrt_s(as, rm, f);
	case MADD_S: return fpu_madd_s(as, bs, cs, rm, f);
	case MSUB_S: return fpu_msub_s(as, bs, cs, rm, f);
	case NMSUB_S: return fpu_nmsub_s(as, bs, cs, rm, f);
	case NMADD_S: return fpu_nmadd_s(as, bs, cs, rm, f);
	case ADD_D: return fpu_add_d(a, b, rm, f);
	case SUB_D: return fpu_sub_d(a, b, rm, f);
	case MUL_D: return fpu_mul_d(a, b, rm, f);
	case DIV_D: return fpu_div_d(a, b, rm, f);
	case SQRT_D: return fpu_sqrt_d(a, rm, f);
	case MADD_D: return fpu_madd_d(a, b, c, rm, f);
	case MSUB_D: return fpu_msub_d(a, b, c, rm, f);
	case NMSUB_D: return fpu_nmsub_d(a, b, c, rm, f);
	case NMADD_D: return fpu_nmadd_d(a, b, c, rm, f);
	case S_D: return fpu_cvt_s_d(a, rm, f);
	case D_S: return fpu_cvt_d_s(as, rm, f);
	case MIN_S: return fpu_min_s(as, bs, f);
	case MAX_S: return fpu_max_s(as, bs, f);
	case EQ_S: return fpu_eq_s(as, bs, f);
	case LT_S: return fpu_lt_s(as, bs, f);
	case LE_S: return fpu_le_s(as, bs, f);
	case CLASS_S: return fpu_class_s(as);
	case W_S: return fpu_cvt_w_s(as, rm, f);
	case WU_S: return fpu_cvt_wu_s(as, rm, f);
	case L_S: return fpu_cvt_l_s(as, rm, f);
	case LU_S: return fpu_cvt_lu_s(as, rm, f);
	case S_W: return fpu_cvt_s_w(a, rm, f);
	case S_WU: return fpu_cvt_s_wu(a, rm, f);
	case S_L: return fpu_cvt_s_l(a, rm, f);
	case S_LU: return fpu_cvt_s_lu(a, rm, f);
	case MIN_D: return fpu_min_d(a, b, f);
	case MAX_D: return fpu_max_d(a, b, f);
	case EQ_D: return fpu_eq_d(a, b, f);
	case LT_D: return fpu_lt_d(a, b, f);
	case LE_D: return fpu_le_d(a, b, f);
	case CLASS_D: return fpu_class_d(a);
	case W_D: return fpu_cvt_w_d(a, rm, f);
	case WU_D: return fpu_cvt_wu_d(a, rm, f);
	case L_D: return fpu_cvt_l_d(a, rm, f);
	case LU_D: return fpu_cvt_lu_d(a, rm, f);
	case D_W: return fpu_cvt_d_w(a, rm, f);
	case D_WU: return fpu_cvt_d_wu(a, rm, f);
	case D_L: return fpu_cvt_d_l(a, rm, f);
	case D_LU: return fpu_cvt_d_lu(a, rm, f);
	}
	return 0;
}

/* The same arithmetic done by softfloat alone: the reference for the host tiers. */
static uint64_t soft(enum op op, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *f)
{
	const enum sf_format fmt = op < ADD_D ? SF_S : SF_D;
	const uint64_t sign = fmt == SF_S ? 0x80000000u : 0x8000000000000000ull;

	switch (op) {
	case ADD_S: case ADD_D: return sf_add(fmt, a, b, rm, f);
	case SUB_S: case SUB_D: return sf_add(fmt, a, b ^ sign, rm, f);
	case MUL_S: case MUL_D: return sf_mul(fmt, a, b, rm, f);
	case DIV_S: case DIV_D: return sf_div(fmt, a, b, rm, f);
	case SQRT_S: case SQRT_D: return sf_sqrt(fmt, a, rm, f);
	case MADD_S: case MADD_D: return sf_fma(fmt, a, b, c, rm, f);
	case MSUB_S: case MSUB_D: return sf_fma(fmt, a, b, c ^ sign, rm, f);
	case NMSUB_S: case NMSUB_D: return sf_fma(fmt, a ^ sign, b, c, rm, f);
	case NMADD_S: case NMADD_D: return sf_fma(fmt, a ^ sign, b, c ^ sign, rm, f);
	case S_D: return sf_convert(SF_D, SF_S, a, rm, f);
	case D_S: return sf_convert(SF_S, SF_D, a, rm, f);
	default: return 0;
	}
}
/* clang-format on */

static bool is_double_op(enum op op)
{
	return (op >= ADD_D && op <= S_D) || op >= MIN_D;
}

/* ---- operands: random, but biased toward the places where rounding is hard ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static const uint32_t edge_s[] = {
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000,
    0x80800000, 0x00800001, 0x00400000, 0x3f800000, 0xbf800000, 0x3f7fffff, 0x3f800001,
    0x3f000000, 0xbf000000, 0x3fc00000, 0x40000000, 0x7f7fffff, 0xff7fffff, 0x7f800000,
    0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7fc12345,
    0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000, 0xdf000000, 0x5f800000, 0x0c800000,
};
static const uint64_t edge_d[] = {
    0,
    0x8000000000000000,
    1,
    0x8000000000000001,
    0x000fffffffffffff,
    0x0010000000000000,
    0x8010000000000000,
    0x0010000000000001,
    0x0008000000000000,
    0x3ff0000000000000,
    0xbff0000000000000,
    0x3fefffffffffffff,
    0x3ff0000000000001,
    0x3fe0000000000000,
    0x3ff8000000000000,
    0x7fefffffffffffff,
    0xffefffffffffffff,
    0x7ff0000000000000,
    0xfff0000000000000,
    0x7ff8000000000000,
    0xfff8000000000000,
    0x7ff0000000000001,
    0x7ff4000000000000,
    0x41e0000000000000,
    0xc1e0000000000000,
    0x41dfffffffc00000,
    0x41f0000000000000,
    0x43e0000000000000,
    0xc3e0000000000000,
    0x43f0000000000000,
    0x0360000000000000,
    0x47efffffe0000000,
    0x36a0000000000000,
    0x3810000000000000,
};

static uint64_t low_ones(int n)
{
	return n >= 64 ? ~0ull : (1ull << n) - 1;
}

/* A value of the format: an edge value, random bits, or a chosen exponent (subnormal, near
 * overflow, near 1, anywhere) with a random fraction that is often short (so sums and products
 * land on ties) or all ones (so rounding carries). */
static uint64_t gen(struct rng *r, enum sf_format fmt)
{
	const int fb = fmt == SF_S ? 23 : 52, width = fmt == SF_S ? 32 : 64;
	const uint64_t emax = fmt == SF_S ? 255 : 2047, bias = emax / 2;
	const uint64_t x = rnd(r), sign = (x & 1) ? 1ull << (width - 1) : 0;
	uint64_t frac = rnd(r) & low_ones(fb), e;

	switch ((x >> 1) % 8) {
	case 0:
		return fmt == SF_S ? edge_s[(x >> 8) % (sizeof(edge_s) / 4)]
				   : edge_d[(x >> 8) % (sizeof(edge_d) / 8)];
	case 1:
		return rnd(r) & low_ones(width);
	case 2:
		e = (x >> 8) % 4;
		break;
	case 3:
		e = emax - 1 - (x >> 8) % 4;
		break;
	case 4:
		e = bias - 3 + (x >> 8) % 8;
		frac &= ~low_ones((int)((x >> 20) % (fb + 1)));
		break;
	case 5:
		e = bias - (fb + 8) + (x >> 8) % (2 * fb + 16);
		break;
	case 6:
		e = (x >> 8) % emax;
		frac &= ~low_ones((int)((x >> 20) % (fb + 1)));
		break;
	default:
		e = (x >> 8) % emax;
		if ((x >> 40) & 1)
			frac |= low_ones(fb - (int)((x >> 41) % 4));
		break;
	}
	return sign | (e << fb) | frac;
}

/* A second operand related to the first: a few ulps away, nearly its negation (cancellation),
 * or scaled down by about 2^p (sums that fall on halfway points). */
static uint64_t gen_near(struct rng *r, enum sf_format fmt, uint64_t a)
{
	const int fb = fmt == SF_S ? 23 : 52, width = fmt == SF_S ? 32 : 64;
	const uint64_t x = rnd(r), expmask = low_ones(width - 1 - fb) << fb;
	uint64_t e;

	switch (x % 4) {
	case 0:
		return gen(r, fmt);
	case 1:
		return (a + (x >> 8) % 5 - 2) & low_ones(width);
	case 2:
		return ((a ^ (1ull << (width - 1))) + (x >> 8) % 3 - 1) & low_ones(width);
	default:
		e = (a & expmask) >> fb;
		e = e > (uint64_t)fb + 6 ? e - fb - (x >> 8) % 8 + 2 : 1;
		return (a & ~expmask) ^ (e << fb) ^ (((x >> 20) & 1) << (width - 1));
	}
}

static uint64_t gen_int(struct rng *r)
{
	const uint64_t x = rnd(r), k = (x >> 8) % 64;

	switch (x % 5) {
	case 0:
		return rnd(r);
	case 1:
		return (uint64_t)(int64_t)(int32_t)rnd(r);
	case 2:
		return rnd(r) >> k;
	case 3: /* near powers of two, where the halfway cases are */
		return (1ull << k) + (x >> 16) % 5 - 2;
	default: /* a short run of bits anywhere, either sign */
		return ((x >> 30) & 1 ? -1ull : 1ull) * ((rnd(r) & low_ones(26)) << (k % 40));
	}
}

static const char *const rm_names[] = {"rne", "rtz", "rdn", "rup", "rmm"};

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg(__VA_ARGS__);                                                     \
	} while (0)

/* ---- host tiers against softfloat ---- */

static void test_host_tiers_match_softfloat_in_rne_rtz_rdn_rup(void **state)
{
	struct rng r = {0x9e3779b97f4a7c15ull};
	(void)state;

	for (int op = ADD_S; op <= D_S; op++) {
		const enum sf_format fmt = op == D_S ? SF_S : is_double_op(op) ? SF_D : SF_S;
		for (int rm = FRM_RNE; rm <= FRM_RUP; rm++) {
			for (int i = 0; i < 6000; i++) {
				uint64_t a = gen(&r, fmt), b = gen_near(&r, fmt, a);
				uint64_t c = (i & 1) ? gen(&r, fmt) : gen_near(&r, fmt, a);
				for (uint32_t pre = 0; pre <= NX; pre += NX) {
					uint32_t fh = pre, fs = pre;
					uint64_t h = call(op, a, b, c, rm, &fh);
					uint64_t s = soft(op, a, b, c, rm, &fs);
					CHECK(h == s && fh == fs,
					      "%s %s a=%#llx b=%#llx c=%#llx in %u: fpu %#llx/%u, "
					      "sf %#llx/%u",
					      op_names[op], rm_names[rm], (unsigned long long)a,
					      (unsigned long long)b, (unsigned long long)c, pre,
					      (unsigned long long)h, fh, (unsigned long long)s, fs);
				}
			}
		}
	}
}

/* ---- RMM against the exact result ---- */

static long double value_of(enum sf_format fmt, uint64_t bits)
{
	if (fmt == SF_S) {
		float f;
		uint32_t u = (uint32_t)bits;
		memcpy(&f, &u, 4);
		return f;
	}
	double d;
	memcpy(&d, &bits, 8);
	return d;
}

/* The neighbour of v in the format, one step toward `toward`. */
static long double next_toward(enum sf_format fmt, long double v, long double toward)
{
	return fmt == SF_S ? (long double)nexttowardf((float)v, toward)
			   : (long double)nexttoward((double)v, toward);
}

static uint64_t bits_of(enum sf_format fmt, long double v)
{
	if (fmt == SF_S) {
		float f = (float)v; /* exact: v is a value of the format */
		uint32_t u;
		memcpy(&u, &f, 4);
		return u;
	}
	double d = (double)v;
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

/* Round `exact` in mode rm, knowing its round-to-nearest-even result `rne`: every other mode
 * picks rne or its neighbour on the other side of exact. RMM differs from RNE only when exact is
 * the midpoint of the two. Overflow is left to the caller. */
static uint64_t round_from_rne(enum sf_format fmt, long double exact, uint64_t rne, int rm)
{
	const long double near = value_of(fmt, rne);
	long double other, lo, hi;

	if (near == exact || isinf(near))
		return rne;
	other = next_toward(fmt, near, exact);
	lo = fminl(near, other);
	hi = fmaxl(near, other);
	switch (rm) {
	case FRM_RTZ:
		return bits_of(fmt, exact > 0 ? lo : hi);
	case FRM_RDN:
		return bits_of(fmt, lo);
	case FRM_RUP:
		return bits_of(fmt, hi);
	case FRM_RMM:
		if (exact == (near + other) / 2) /* exact in long double: 54 bits at most */
			return bits_of(fmt, exact > 0 ? hi : lo);
		return rne;
	default:
		return rne;
	}
}

/* op(a, b, c) in long double, if that is exact (operands with short fractions make it so). */
static bool exact_result(enum op op, long double x, long double y, long double z, long double *out)
{
	volatile long double res, prod;

	if (!isfinite(x) || !isfinite(y) || !isfinite(z))
		return false;
	feclearexcept(FE_ALL_EXCEPT);
	/* clang-format off */
	switch (op) {
	case ADD_S: case ADD_D: res = x + y; break;
	case SUB_S: case SUB_D: res = x - y; break;
	case MUL_S: case MUL_D: res = x * y; break;
	case DIV_S: case DIV_D: res = x / y; break;
	case MADD_S: case MADD_D: prod = x * y; res = prod + z; break;
	case S_D: res = x; break;
	default: return false;
	}
	/* clang-format on */
	if (fetestexcept(FE_INEXACT | FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW))
		return false;
	*out = res;
	return true;
}

/* Operands with short fractions, so that long double holds exact results, and exponents that
 * reach the subnormal range. */
static uint64_t gen_short(struct rng *r, enum sf_format fmt)
{
	const int fb = fmt == SF_S ? 23 : 52, width = fmt == SF_S ? 32 : 64;
	const uint64_t emax = fmt == SF_S ? 255 : 2047, x = rnd(r);
	const int keep = fmt == SF_S ? 12 : 26;
	uint64_t e = (x >> 1) % 4 ? emax / 2 - 40 + (x >> 8) % 80 : (x >> 8) % emax;
	uint64_t frac = rnd(r) & low_ones(fb) & ~low_ones(fb - (int)((x >> 24) % keep));

	if ((x >> 30) % 8 == 0)
		e = (x >> 8) % 3; /* subnormal or just above */
	return ((x & 1) << (width - 1)) | (e << fb) | frac;
}

static void test_rmm_rounds_ties_away_and_matches_exact_results(void **state)
{
	static const enum op ops[] = {ADD_S, SUB_S, MUL_S, DIV_S,  MADD_S, ADD_D,
				      SUB_D, MUL_D, DIV_D, MADD_D, S_D};
	struct rng r = {0x1234567887654321ull};
	int ties = 0, checked = 0;
	(void)state;

	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		const enum op op = ops[k];
		const enum sf_format fmt = is_double_op(op) && op != S_D ? SF_D : SF_S;
		const enum sf_format in = op == S_D ? SF_D : fmt;
		for (int i = 0; i < 20000; i++) {
			uint64_t a = (i & 1) ? gen_short(&r, in) : gen(&r, in);
			uint64_t b = (i & 2) ? gen_short(&r, in) : gen_near(&r, in, a);
			uint64_t c = (i & 4) ? gen_short(&r, in) : gen_near(&r, in, a);
			uint32_t frne = 0, frmm = 0;
			long double exact;
			uint64_t rne, rmm, want;

			if (op == DIV_S ||
			    op == DIV_D) /* exact quotients: divide by 2^k or 3*2^k */
				b = (b & ~low_ones(fmt == SF_S ? 22 : 51)) |
				    (i & 8 ? 0 : 1ull << (fmt == SF_S ? 22 : 51));
			if (!exact_result(op, value_of(in, a), value_of(in, b), value_of(in, c),
					  &exact))
				continue;
			rne = call(op, a, b, c, FRM_RNE, &frne);
			rmm = call(op, a, b, c, FRM_RMM, &frmm);
			want = round_from_rne(fmt, exact, rne, FRM_RMM);
			checked++;
			ties += want != rne;
			/* a tie changes the value but never the flags (see docs/fpu.md) */
			CHECK(rmm == want && frmm == frne,
			      "%s rmm a=%#llx b=%#llx c=%#llx: got %#llx/%u, want %#llx/%u",
			      op_names[op], (unsigned long long)a, (unsigned long long)b,
			      (unsigned long long)c, (unsigned long long)rmm, frmm,
			      (unsigned long long)want, frne);
		}
	}
	/* the test only means something if it saw many ties */
	CHECK(checked > 50000 && ties > 1000, "only %d exact cases and %d ties", checked, ties);
}

/* sqrt is never a tie, so RMM is RNE; the shortcut in fpu.c relies on it, check softfloat too */
static void test_sqrt_rmm_equals_rne(void **state)
{
	struct rng r = {77};
	(void)state;

	for (int i = 0; i < 20000; i++) {
		const enum sf_format fmt = i & 1 ? SF_D : SF_S;
		uint64_t a = gen(&r, fmt);
		uint32_t f1 = 0, f2 = 0;
		uint64_t x = sf_sqrt(fmt, a, FRM_RNE, &f1), y = sf_sqrt(fmt, a, FRM_RMM, &f2);
		CHECK(x == y && f1 == f2, "sqrt %#llx: rne %#llx/%u rmm %#llx/%u",
		      (unsigned long long)a, (unsigned long long)x, f1, (unsigned long long)y, f2);
	}
}

/* ---- integer conversions against libm ---- */

static const struct {
	long double lo, hi;
	uint64_t neg_sat, pos_sat;
} int_table[] = {
    /* §11.7 Table 11.4: out of range saturates, NaN counts as positive */
    [SF_W] = {-0x1p31L, 0x1p31L - 1, 0xffffffff80000000, 0x7fffffff},
    [SF_WU] = {0, 0x1p32L - 1, 0, 0xffffffffffffffff},
    [SF_L] = {-0x1p63L, 0x1p63L - 1, 0x8000000000000000, 0x7fffffffffffffff},
    [SF_LU] = {0, 0x1p64L - 1, 0, 0xffffffffffffffff},
};

static uint64_t expect_to_int(long double v, enum sf_int kind, int rm, uint32_t *flags)
{
	long double n;

	if (isnan(v)) {
		*flags |= NV;
		return int_table[kind].pos_sat;
	}
	/* clang-format off */
	switch (rm) {
	case FRM_RTZ: n = truncl(v); break;
	case FRM_RDN: n = floorl(v); break;
	case FRM_RUP: n = ceill(v); break;
	case FRM_RMM: n = roundl(v); break; /* ties away from zero */
	default: n = nearbyintl(v); break;  /* the host's mode: nearest even */
	}
	/* clang-format on */
	if (n < int_table[kind].lo || n > int_table[kind].hi) {
		*flags |= NV; /* and not NX */
		return v < 0 ? int_table[kind].neg_sat : int_table[kind].pos_sat;
	}
	if (n != v)
		*flags |= NX;
	if (kind == SF_W || kind == SF_WU) /* 32-bit results are sign-extended, wu too */
		return (uint64_t)(int64_t)(int32_t)(uint32_t)(n < 0 ? (int64_t)n
								    : (int64_t)(uint64_t)n);
	return n < 0 ? (uint64_t)(int64_t)n : (uint64_t)n;
}

/* Values around the integer ranges' ends and around small integers, by quarters. */
static uint64_t gen_int_edge(struct rng *r, enum sf_format fmt)
{
	static const long double ends[] = {0,	    1,	     2,	      0x1p31L, 0x1p32L,
					   0x1p63L, 0x1p64L, 0x1p24L, 0x1p53L};
	const uint64_t x = rnd(r);
	long double v = ends[x % 9] + ((long double)((x >> 8) % 9) - 4) / 4;
	uint64_t bits;

	if ((x >> 16) & 1)
		v = -v;
	bits = bits_of(fmt, fmt == SF_S ? (long double)(float)v : (long double)(double)v);
	return bits + (x >> 20) % 3 - 1; /* and its neighbours */
}

static void test_fcvt_to_int_rounds_and_saturates_per_spec(void **state)
{
	static const enum op ops[] = {W_S, WU_S, L_S, LU_S, W_D, WU_D, L_D, LU_D};
	struct rng r = {4242};
	(void)state;

	for (size_t k = 0; k < 8; k++) {
		const enum sf_format fmt = k < 4 ? SF_S : SF_D;
		const enum sf_int kind = (enum sf_int)(k % 4);
		for (int rm = FRM_RNE; rm <= FRM_RMM; rm++) {
			for (int i = 0; i < 6000; i++) {
				uint64_t a = i & 1 ? gen(&r, fmt) : gen_int_edge(&r, fmt);
				uint32_t f = 0, fw = 0;
				uint64_t got = call(ops[k], a, 0, 0, rm, &f);
				uint64_t want = expect_to_int(value_of(fmt, a), kind, rm, &fw);
				CHECK(got == want && f == fw,
				      "%s %s %#llx: got %#llx/%u, want %#llx/%u", op_names[ops[k]],
				      rm_names[rm], (unsigned long long)a, (unsigned long long)got,
				      f, (unsigned long long)want, fw);
			}
		}
	}
}

static void test_fcvt_from_int_rounds_in_every_mode(void **state)
{
	static const enum op ops[] = {S_W, S_WU, S_L, S_LU, D_W, D_WU, D_L, D_LU};
	struct rng r = {99};
	(void)state;

	for (size_t k = 0; k < 8; k++) {
		const enum sf_format fmt = k < 4 ? SF_S : SF_D;
		for (int rm = FRM_RNE; rm <= FRM_RMM; rm++) {
			for (int i = 0; i < 6000; i++) {
				const uint64_t x = gen_int(&r);
				long double exact;
				uint64_t rne, want;
				uint32_t f = 0, fw;

				/* clang-format off */
				switch (k % 4) { /* w and wu read only the low 32 bits */
				case 0: exact = (int32_t)(uint32_t)x; break;
				case 1: exact = (uint32_t)x; break;
				case 2: exact = (int64_t)x; break;
				default: exact = x; break;
				}
				/* clang-format on */
				/* the C conversion rounds to nearest even */
				rne = fmt == SF_S ? bits_of(SF_S, (float)exact)
						  : bits_of(SF_D, (double)exact);
				want = round_from_rne(fmt, exact, rne, rm);
				fw = value_of(fmt, rne) == exact ? 0 : NX;
				uint64_t got = call(ops[k], x, 0, 0, rm, &f);
				CHECK(got == want && f == fw,
				      "%s %s %#llx: got %#llx/%u, want %#llx/%u", op_names[ops[k]],
				      rm_names[rm], (unsigned long long)x, (unsigned long long)got,
				      f, (unsigned long long)want, fw);
			}
		}
	}
}

/* ---- hand-written vectors ---- */

struct vec {
	enum op op;
	int rm; /* ALL_RM: the same answer in all five modes */
	uint64_t a, b, c;
	uint64_t want;
	uint32_t flags;
};

static void run_vectors(const struct vec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int rm = FRM_RNE; rm <= FRM_RMM; rm++) {
			if (v[i].rm != ALL_RM && v[i].rm != rm)
				continue;
			uint32_t f = 0;
			uint64_t got = call(v[i].op, v[i].a, v[i].b, v[i].c, rm, &f);
			CHECK(got == v[i].want && f == v[i].flags,
			      "vector %zu: %s %s a=%#llx b=%#llx c=%#llx: got %#llx/%u, want "
			      "%#llx/%u",
			      i, op_names[v[i].op], rm_names[rm], (unsigned long long)v[i].a,
			      (unsigned long long)v[i].b, (unsigned long long)v[i].c,
			      (unsigned long long)got, f, (unsigned long long)v[i].want,
			      v[i].flags);
		}
	}
}

#define RUN(table) run_vectors(table, sizeof(table) / sizeof(table[0]))

#define CNAN_S 0x7fc00000ull
#define CNAN_D 0x7ff8000000000000ull
#define ONE_S  0x3f800000ull
#define ONE_D  0x3ff0000000000000ull
#define INF_S  0x7f800000ull
#define INF_D  0x7ff0000000000000ull
#define BIG_S  0x7f7fffffull /* largest finite single */

static void test_nan_results_are_canonical_and_snan_raises_nv(void **state)
{
	static const struct vec v[] = {
	    {ADD_S, ALL_RM, 0x7f800001, ONE_S, 0, CNAN_S, NV}, /* sNaN operand */
	    {ADD_S, ALL_RM, 0x7fc12345, ONE_S, 0, CNAN_S, 0},  /* payload dropped */
	    {SUB_S, ALL_RM, ONE_S, 0xffc00000, 0, CNAN_S, 0},  /* x86's default NaN */
	    {MUL_S, ALL_RM, INF_S, 0x80000000, 0, CNAN_S, NV}, /* inf * 0 */
	    {ADD_S, ALL_RM, INF_S, 0xff800000, 0, CNAN_S, NV}, /* inf - inf */
	    {DIV_S, ALL_RM, 0, 0x80000000, 0, CNAN_S, NV},     /* 0 / 0 */
	    {DIV_S, ALL_RM, 0xbf800000, 0, 0, 0xff800000, DZ}, /* -1 / +0 */
	    {DIV_S, ALL_RM, INF_S, 0, 0, INF_S, 0},	       /* inf / 0: no DZ */
	    {SQRT_S, ALL_RM, 0xbf800000, 0, 0, CNAN_S, NV},
	    {SQRT_S, ALL_RM, 0xff800000, 0, 0, CNAN_S, NV},
	    {SQRT_S, ALL_RM, 0x80000000, 0, 0, 0x80000000, 0},	/* sqrt(-0) = -0 */
	    {MADD_S, ALL_RM, INF_S, 0, 0x7fc00000, CNAN_S, NV}, /* §11.6: inf*0+qNaN */
	    {MADD_S, ALL_RM, 0x7fc00000, ONE_S, ONE_S, CNAN_S, 0},
	    {MADD_S, ALL_RM, ONE_S, ONE_S, 0x7f800001, CNAN_S, NV},
	    {MADD_S, ALL_RM, INF_S, ONE_S, 0xff800000, CNAN_S, NV}, /* inf + -inf */
	    {NMADD_S, ALL_RM, 0, INF_S, ONE_S, CNAN_S, NV},
	    {ADD_D, ALL_RM, 0x7ff0000000000001, ONE_D, 0, CNAN_D, NV},
	    {MUL_D, ALL_RM, 0xfff8000000000123, ONE_D, 0, CNAN_D, 0},
	    {DIV_D, ALL_RM, INF_D, INF_D, 0, CNAN_D, NV},
	    {SQRT_D, ALL_RM, 0xbff0000000000000, 0, 0, CNAN_D, NV},
	    {MADD_D, ALL_RM, 0, INF_D, 0x7ff8000000000000, CNAN_D, NV},
	    {MSUB_D, ALL_RM, INF_D, ONE_D, INF_D, CNAN_D, NV}, /* inf - inf */
	    /* fcvt.d.s / fcvt.s.d do not carry payloads over (§12.5) */
	    {D_S, ALL_RM, 0x7f800001, 0, 0, CNAN_D, NV},
	    {D_S, ALL_RM, 0xffc12345, 0, 0, CNAN_D, 0},
	    {S_D, ALL_RM, 0x7ff0000000000001, 0, 0, CNAN_S, NV},
	    {S_D, ALL_RM, 0xfff8000012345678, 0, 0, CNAN_S, 0},
	    {D_S, ALL_RM, 0x00000001, 0, 0, 0x36a0000000000000, 0}, /* subnormal widens exactly */
	    {D_S, ALL_RM, 0xff800000, 0, 0, 0xfff0000000000000, 0},
	};
	(void)state;
	RUN(v);
}

static void test_fcvt_saturates_per_spec_table(void **state)
{
	static const struct vec v[] = {
	    /* §11.7 Table 11.4: NaN and +inf give the largest value, -inf the smallest */
	    {W_S, ALL_RM, 0x7fc00000, 0, 0, 0x7fffffff, NV},
	    {W_S, ALL_RM, 0xffc00000, 0, 0, 0x7fffffff, NV}, /* a NaN's sign does not count */
	    {W_S, ALL_RM, 0x7f800001, 0, 0, 0x7fffffff, NV},
	    {W_S, ALL_RM, 0xff800000, 0, 0, 0xffffffff80000000, NV},
	    {W_S, ALL_RM, INF_S, 0, 0, 0x7fffffff, NV},
	    {WU_S, ALL_RM, 0x7fc00000, 0, 0, 0xffffffffffffffff, NV},
	    {WU_S, ALL_RM, 0xff800000, 0, 0, 0, NV},
	    {L_S, ALL_RM, 0x7fc00000, 0, 0, 0x7fffffffffffffff, NV},
	    {L_S, ALL_RM, 0xff800000, 0, 0, 0x8000000000000000, NV},
	    {LU_S, ALL_RM, 0x7fc00000, 0, 0, 0xffffffffffffffff, NV},
	    {LU_S, ALL_RM, 0xff800000, 0, 0, 0, NV},
	    /* ends of the ranges */
	    {W_S, ALL_RM, 0x4f000000, 0, 0, 0x7fffffff, NV},	      /* 2^31 */
	    {W_S, ALL_RM, 0xcf000000, 0, 0, 0xffffffff80000000, 0},   /* -2^31 */
	    {WU_S, ALL_RM, 0x4f000000, 0, 0, 0xffffffff80000000, 0},  /* 2^31, sign-extended */
	    {WU_S, ALL_RM, 0x4f800000, 0, 0, 0xffffffffffffffff, NV}, /* 2^32 */
	    {WU_S, ALL_RM, 0xbf800000, 0, 0, 0, NV},		      /* -1 */
	    {L_S, ALL_RM, 0x5f000000, 0, 0, 0x7fffffffffffffff, NV},  /* 2^63 */
	    {L_S, ALL_RM, 0xdf000000, 0, 0, 0x8000000000000000, 0},   /* -2^63 */
	    {LU_S, ALL_RM, 0x5f000000, 0, 0, 0x8000000000000000, 0},
	    {LU_S, ALL_RM, 0x5f800000, 0, 0, 0xffffffffffffffff, NV}, /* 2^64 */
	    /* the range test applies to the rounded value */
	    {WU_S, FRM_RTZ, 0xbf000000, 0, 0, 0, NX}, /* -0.5 -> -0: fine */
	    {WU_S, FRM_RNE, 0xbf000000, 0, 0, 0, NX},
	    {WU_S, FRM_RMM, 0xbf000000, 0, 0, 0, NV}, /* -0.5 -> -1 */
	    {WU_S, FRM_RDN, 0xbe800000, 0, 0, 0, NV}, /* -0.25 -> -1 */
	    {WU_S, FRM_RUP, 0xbe800000, 0, 0, 0, NX},
	    {LU_D, FRM_RTZ, 0xbfefffffffffffff, 0, 0, 0, NX},
	    {W_D, FRM_RNE, 0x41dfffffffe00000, 0, 0, 0x7fffffff, NV}, /* 2^31-0.5 -> 2^31 */
	    {W_D, FRM_RTZ, 0x41dfffffffe00000, 0, 0, 0x7fffffff, NX},
	    {W_D, FRM_RNE, 0xc1e0000000100000, 0, 0, 0xffffffff80000000, NX}, /* -2^31-0.5 */
	    {W_D, FRM_RMM, 0xc1e0000000100000, 0, 0, 0xffffffff80000000, NV},
	    {WU_D, FRM_RDN, 0x41effffffff00000, 0, 0, 0xffffffffffffffff, NX}, /* 2^32-0.5 */
	    {WU_D, FRM_RUP, 0x41effffffff00000, 0, 0, 0xffffffffffffffff, NV},
	    {L_D, ALL_RM, 0x43e0000000000000, 0, 0, 0x7fffffffffffffff, NV},
	    {L_D, ALL_RM, 0xc3e0000000000000, 0, 0, 0x8000000000000000, 0},
	    {LU_D, ALL_RM, 0x43efffffffffffff, 0, 0, 0xfffffffffffff800, 0},
	    /* small values in each mode */
	    {W_S, FRM_RNE, 0x40200000, 0, 0, 2, NX}, /* 2.5 */
	    {W_S, FRM_RMM, 0x40200000, 0, 0, 3, NX},
	    {W_S, FRM_RMM, 0xc0200000, 0, 0, (uint64_t)-3, NX},
	    {W_S, FRM_RDN, 0xc0200000, 0, 0, (uint64_t)-3, NX},
	    {W_S, FRM_RUP, 0xc0200000, 0, 0, (uint64_t)-2, NX},
	    {W_D, FRM_RMM, 0x3fe0000000000000, 0, 0, 1, NX}, /* 0.5 */
	    {W_D, FRM_RNE, 0x3fe0000000000000, 0, 0, 0, NX},
	    {L_D, ALL_RM, 0x8000000000000000, 0, 0, 0, 0}, /* -0 */
	};
	(void)state;
	RUN(v);
}

static void test_fmin_fmax_follow_version_2_2(void **state)
{
	static const struct vec v[] = {
	    {MIN_S, ALL_RM, 0x80000000, 0, 0, 0x80000000, 0}, /* -0 < +0 */
	    {MIN_S, ALL_RM, 0, 0x80000000, 0, 0x80000000, 0},
	    {MAX_S, ALL_RM, 0x80000000, 0, 0, 0, 0},
	    {MAX_S, ALL_RM, 0, 0x80000000, 0, 0, 0},
	    {MIN_S, ALL_RM, 0x7fc00000, ONE_S, 0, ONE_S, 0}, /* one NaN: the other operand */
	    {MAX_S, ALL_RM, ONE_S, 0xffc00001, 0, ONE_S, 0},
	    {MIN_S, ALL_RM, 0x7f800001, ONE_S, 0, ONE_S, NV}, /* sNaN: NV even so */
	    {MAX_S, ALL_RM, ONE_S, 0x7f800001, 0, ONE_S, NV},
	    {MIN_S, ALL_RM, 0x7fc00001, 0xffc00000, 0, CNAN_S, 0}, /* two NaNs: canonical */
	    {MAX_S, ALL_RM, 0x7f800001, 0x7fc00000, 0, CNAN_S, NV},
	    {MIN_S, ALL_RM, 0xff800000, BIG_S, 0, 0xff800000, 0},
	    {MAX_S, ALL_RM, 0xbf800000, 0xc0000000, 0, 0xbf800000, 0},
	    {MIN_S, ALL_RM, 0x00000001, 0x80000001, 0, 0x80000001, 0},
	    {MIN_D, ALL_RM, 0, 0x8000000000000000, 0, 0x8000000000000000, 0},
	    {MAX_D, ALL_RM, 0x8000000000000000, 0, 0, 0, 0},
	    {MIN_D, ALL_RM, 0x7ff8000000000000, ONE_D, 0, ONE_D, 0},
	    {MAX_D, ALL_RM, 0x7ff0000000000001, ONE_D, 0, ONE_D, NV},
	    {MIN_D, ALL_RM, 0xfff8000000000000, 0x7ff4000000000000, 0, CNAN_D, NV},
	    {MAX_D, ALL_RM, 0xc000000000000000, 0xbff0000000000000, 0, 0xbff0000000000000, 0},
	};
	(void)state;
	RUN(v);
}

static void test_compares_quiet_and_signaling(void **state)
{
	static const struct vec v[] = {
	    {EQ_S, ALL_RM, 0x7fc00000, ONE_S, 0, 0, 0}, /* feq is quiet */
	    {EQ_S, ALL_RM, 0x7f800001, ONE_S, 0, 0, NV},
	    {EQ_S, ALL_RM, 0x80000000, 0, 0, 1, 0},
	    {EQ_S, ALL_RM, ONE_S, ONE_S, 0, 1, 0},
	    {LT_S, ALL_RM, 0x7fc00000, ONE_S, 0, 0, NV}, /* flt/fle signal on any NaN */
	    {LE_S, ALL_RM, ONE_S, 0x7fc00000, 0, 0, NV},
	    {LT_S, ALL_RM, 0x80000000, 0, 0, 0, 0},
	    {LE_S, ALL_RM, 0, 0x80000000, 0, 1, 0},
	    {LT_S, ALL_RM, 0xbf800000, 0xbf000000, 0, 1, 0},
	    {LT_S, ALL_RM, 0xff800000, INF_S, 0, 1, 0},
	    {LE_S, ALL_RM, INF_S, INF_S, 0, 1, 0},
	    {LT_S, ALL_RM, 0x00000001, 0x80000001, 0, 0, 0},
	    {EQ_D, ALL_RM, 0x7ff8000000000000, 0x7ff8000000000000, 0, 0, 0},
	    {EQ_D, ALL_RM, 0x7ff0000000000001, ONE_D, 0, 0, NV},
	    {LT_D, ALL_RM, ONE_D, 0x7ff8000000000000, 0, 0, NV},
	    {LE_D, ALL_RM, 0x8000000000000000, 0, 0, 1, 0},
	    {LT_D, ALL_RM, 0xbff0000000000000, 0x8000000000000001, 0, 1, 0},
	    {LE_D, ALL_RM, 0x3ff0000000000001, ONE_D, 0, 0, 0},
	};
	(void)state;
	RUN(v);
}

static void test_fclass_reports_each_of_ten_classes(void **state)
{
	static const struct vec v[] = {
	    {CLASS_S, ALL_RM, 0xff800000, 0, 0, 1 << 0, 0},
	    {CLASS_S, ALL_RM, 0xbf800000, 0, 0, 1 << 1, 0},
	    {CLASS_S, ALL_RM, 0x807fffff, 0, 0, 1 << 2, 0},
	    {CLASS_S, ALL_RM, 0x80000000, 0, 0, 1 << 3, 0},
	    {CLASS_S, ALL_RM, 0x00000000, 0, 0, 1 << 4, 0},
	    {CLASS_S, ALL_RM, 0x00000001, 0, 0, 1 << 5, 0},
	    {CLASS_S, ALL_RM, 0x00800000, 0, 0, 1 << 6, 0},
	    {CLASS_S, ALL_RM, 0x7f800000, 0, 0, 1 << 7, 0},
	    {CLASS_S, ALL_RM, 0x7fbfffff, 0, 0, 1 << 8, 0},
	    {CLASS_S, ALL_RM, 0xffc00000, 0, 0, 1 << 9, 0},
	    {CLASS_D, ALL_RM, 0xfff0000000000000, 0, 0, 1 << 0, 0},
	    {CLASS_D, ALL_RM, 0xffefffffffffffff, 0, 0, 1 << 1, 0},
	    {CLASS_D, ALL_RM, 0x8000000000000001, 0, 0, 1 << 2, 0},
	    {CLASS_D, ALL_RM, 0x8000000000000000, 0, 0, 1 << 3, 0},
	    {CLASS_D, ALL_RM, 0x0000000000000000, 0, 0, 1 << 4, 0},
	    {CLASS_D, ALL_RM, 0x000fffffffffffff, 0, 0, 1 << 5, 0},
	    {CLASS_D, ALL_RM, 0x0010000000000000, 0, 0, 1 << 6, 0},
	    {CLASS_D, ALL_RM, 0x7ff0000000000000, 0, 0, 1 << 7, 0},
	    {CLASS_D, ALL_RM, 0x7ff0000000000001, 0, 0, 1 << 8, 0},
	    {CLASS_D, ALL_RM, 0x7ff8000000000000, 0, 0, 1 << 9, 0},
	};
	(void)state;
	RUN(v);
}

static void test_underflow_is_detected_after_rounding(void **state)
{
	static const struct vec v[] = {
	    /* (1-2^-24) * 2^-126 is 24 bits wide, so tiny even with an unbounded exponent; it is
	     * halfway between the largest subnormal and 2^-126 */
	    {MUL_S, FRM_RNE, 0x3f7fffff, 0x00800000, 0, 0x00800000, UF | NX},
	    {MUL_S, FRM_RMM, 0x3f7fffff, 0x00800000, 0, 0x00800000, UF | NX},
	    {MUL_S, FRM_RTZ, 0x3f7fffff, 0x00800000, 0, 0x007fffff, UF | NX},
	    {MUL_S, FRM_RUP, 0x3f7fffff, 0x00800000, 0, 0x00800000, UF | NX},
	    /* (1-2^-25) * 2^-126 rounds to 2^-126 at 24 bits: not tiny after rounding, so no UF
	     * where it rounds up; tiny where it rounds down */
	    {S_D, FRM_RNE, 0x380ffffff0000000, 0, 0, 0x00800000, NX},
	    {S_D, FRM_RMM, 0x380ffffff0000000, 0, 0, 0x00800000, NX},
	    {S_D, FRM_RUP, 0x380ffffff0000000, 0, 0, 0x00800000, NX},
	    {S_D, FRM_RTZ, 0x380ffffff0000000, 0, 0, 0x007fffff, UF | NX},
	    {S_D, FRM_RDN, 0x380ffffff0000000, 0, 0, 0x007fffff, UF | NX},
	    {S_D, FRM_RDN, 0xb80ffffff0000000, 0, 0, 0x80800000, NX},
	    {MUL_D, FRM_RNE, 0x3fefffffffffffff, 0x0010000000000000, 0, 0x0010000000000000,
	     UF | NX},
	    {MADD_D, FRM_RNE, 0x3fefffffffffffff, 0x0010000000000000, 0, 0x0010000000000000,
	     UF | NX},
	    /* exact subnormal results raise nothing */
	    {MUL_S, ALL_RM, 0x00800000, 0x3f000000, 0, 0x00400000, 0},
	    {ADD_D, ALL_RM, 0x0010000000000000, 0x8000000000000001, 0, 0x000fffffffffffff, 0},
	    {SUB_S, ALL_RM, 0x00800001, 0x00800000, 0, 0x00000001, 0},
	    /* below half the least subnormal */
	    {MUL_S, FRM_RNE, 0x00000001, 0x3e800000, 0, 0, UF | NX},
	    {MUL_S, FRM_RUP, 0x00000001, 0x3e800000, 0, 1, UF | NX},
	    {MUL_S, FRM_RDN, 0x80000001, 0x3e800000, 0, 0x80000001, UF | NX},
	    {DIV_S, FRM_RNE, 0x00000005, 0x40000000, 0, 0x00000002, UF | NX}, /* 2.5 units */
	    {DIV_S, FRM_RMM, 0x00000005, 0x40000000, 0, 0x00000003, UF | NX},
	};
	(void)state;
	RUN(v);
}

static void test_overflow_result_depends_on_mode(void **state)
{
	static const struct vec v[] = {
	    {MUL_S, FRM_RNE, BIG_S, 0x40000000, 0, INF_S, OF | NX},
	    {MUL_S, FRM_RMM, BIG_S, 0x40000000, 0, INF_S, OF | NX},
	    {MUL_S, FRM_RTZ, BIG_S, 0x40000000, 0, BIG_S, OF | NX},
	    {MUL_S, FRM_RDN, BIG_S, 0x40000000, 0, BIG_S, OF | NX},
	    {MUL_S, FRM_RUP, BIG_S, 0x40000000, 0, INF_S, OF | NX},
	    {MUL_S, FRM_RDN, BIG_S, 0xc0000000, 0, 0xff800000, OF | NX},
	    {MUL_S, FRM_RUP, BIG_S, 0xc0000000, 0, 0xff7fffff, OF | NX},
	    {ADD_D, FRM_RNE, 0x7fefffffffffffff, 0x7c90000000000000, 0, INF_D,
	     OF | NX}, /* + ulp/2 */
	    {ADD_D, FRM_RMM, 0x7fefffffffffffff, 0x7c90000000000000, 0, INF_D, OF | NX},
	    {ADD_D, FRM_RTZ, 0x7fefffffffffffff, 0x7c90000000000000, 0, 0x7fefffffffffffff, NX},
	    {S_D, FRM_RNE, 0x47effffff0000000, 0, 0, INF_S, OF | NX}, /* float max + ulp/2 */
	    {S_D, FRM_RTZ, 0x47effffff0000000, 0, 0, BIG_S, NX},
	    {DIV_D, FRM_RUP, 0x7fe0000000000000, 0x3fe0000000000000, 0, INF_D, OF | NX},
	    {MADD_S, FRM_RNE, BIG_S, BIG_S, 0xff7fffff, INF_S, OF | NX},
	};
	(void)state;
	RUN(v);
}

static void test_zero_signs_and_exact_cancellation(void **state)
{
	static const struct vec v[] = {
	    {ADD_S, FRM_RNE, 0, 0x80000000, 0, 0, 0},
	    {ADD_S, FRM_RDN, 0, 0x80000000, 0, 0x80000000, 0},
	    {ADD_S, ALL_RM, 0x80000000, 0x80000000, 0, 0x80000000, 0},
	    {SUB_S, FRM_RNE, ONE_S, ONE_S, 0, 0, 0},
	    {SUB_S, FRM_RDN, ONE_S, ONE_S, 0, 0x80000000, 0},
	    {SUB_D, FRM_RUP, ONE_D, ONE_D, 0, 0, 0},
	    {SUB_D, FRM_RDN, ONE_D, ONE_D, 0, 0x8000000000000000, 0},
	    {MUL_S, ALL_RM, 0x80000000, 0x40a00000, 0, 0x80000000, 0},
	    {MADD_S, FRM_RNE, 0, ONE_S, 0x80000000, 0, 0}, /* +0 + -0 */
	    {MADD_S, FRM_RDN, 0, ONE_S, 0x80000000, 0x80000000, 0},
	    {MADD_S, ALL_RM, 0x80000000, ONE_S, 0x80000000, 0x80000000, 0},
	    {MADD_D, FRM_RNE, ONE_D, ONE_D, 0xbff0000000000000, 0, 0},
	    {MADD_D, FRM_RDN, ONE_D, ONE_D, 0xbff0000000000000, 0x8000000000000000, 0},
	    {NMSUB_S, FRM_RNE, ONE_S, ONE_S, ONE_S, 0, 0},		     /* -(1*1)+1 */
	    {NMADD_S, FRM_RNE, ONE_S, ONE_S, 0xbf800000, 0, 0},		     /* -(1*1)-(-1) */
	    {MSUB_S, ALL_RM, 0x40000000, 0x40400000, ONE_S, 0x40a00000, 0},  /* 2*3-1 */
	    {NMADD_S, ALL_RM, 0x40000000, 0x40400000, ONE_S, 0xc0e00000, 0}, /* -(2*3)-1 */
	    {NMSUB_D, ALL_RM, 0x4000000000000000, 0x4008000000000000, ONE_D, 0xc014000000000000,
	     0}, /* -(2*3)+1 */
	    {S_W, ALL_RM, 0, 0, 0, 0, 0},
	    {D_L, ALL_RM, 0x8000000000000000, 0, 0, 0xc3e0000000000000, 0},
	};
	(void)state;
	RUN(v);
}

static void test_rmm_vectors(void **state)
{
	static const struct vec v[] = {
	    /* 1 + 2^-24 is halfway between 1 and 1 + 2^-23 */
	    {ADD_S, FRM_RNE, ONE_S, 0x33800000, 0, ONE_S, NX},
	    {ADD_S, FRM_RMM, ONE_S, 0x33800000, 0, 0x3f800001, NX},
	    {SUB_S, FRM_RMM, 0xbf800000, 0x33800000, 0, 0xbf800001, NX},
	    {ADD_S, FRM_RMM, ONE_S, 0x33400000, 0, ONE_S, NX}, /* 0.375 ulp: down */
	    {ADD_D, FRM_RMM, ONE_D, 0x3ca0000000000000, 0, 0x3ff0000000000001, NX},
	    {ADD_D, FRM_RNE, ONE_D, 0x3ca0000000000000, 0, ONE_D, NX},
	    /* (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: a tie */
	    {MUL_S, FRM_RNE, 0x3f800800, 0x3f800800, 0, 0x3f801000, NX},
	    {MUL_S, FRM_RMM, 0x3f800800, 0x3f800800, 0, 0x3f801001, NX},
	    {MADD_S, FRM_RMM, ONE_S, ONE_S, 0x33800000, 0x3f800001, NX},
	    {NMADD_S, FRM_RMM, ONE_S, ONE_S, 0x33800000, 0xbf800001, NX},
	    {S_D, FRM_RMM, 0x3ff0000010000000, 0, 0, 0x3f800001, NX},
	    {S_D, FRM_RNE, 0x3ff0000010000000, 0, 0, ONE_S, NX},
	    {S_W, FRM_RMM, 16777217, 0, 0, 0x4b800001, NX}, /* 2^24 + 1 */
	    {S_W, FRM_RNE, 16777217, 0, 0, 0x4b800000, NX},
	    {S_W, FRM_RMM, (uint64_t)-16777217, 0, 0, 0xcb800001, NX},
	    {S_W, FRM_RMM, 0xffffffff00000001, 0, 0, ONE_S, 0},	       /* upper half ignored */
	    {S_WU, FRM_RNE, 0xffffffffffffffff, 0, 0, 0x4f800000, NX}, /* 2^32 - 1 */
	    {S_WU, FRM_RTZ, 0xffffffffffffffff, 0, 0, 0x4f7fffff, NX},
	    {S_LU, FRM_RNE, 0xffffffffffffffff, 0, 0, 0x5f800000, NX},
	    {S_LU, FRM_RTZ, 0xffffffffffffffff, 0, 0, 0x5f7fffff, NX},
	    {D_LU, FRM_RNE, 0xffffffffffffffff, 0, 0, 0x43f0000000000000, NX},
	    {D_LU, FRM_RDN, 0xffffffffffffffff, 0, 0, 0x43efffffffffffff, NX},
	    {D_L, FRM_RMM, 0x0020000000000001, 0, 0, 0x4340000000000001, NX}, /* 2^53 + 1 */
	    {D_L, FRM_RNE, 0x0020000000000001, 0, 0, 0x4340000000000000, NX},
	    {SQRT_S, FRM_RMM, 0x40000000, 0, 0, 0x3fb504f3, NX},
	};
	(void)state;
	RUN(v);
}

#if defined(__x86_64__)
static uint32_t host_mxcsr(void)
{
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_host_mxcsr(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

/* Tier 1 relies on the default MXCSR between calls, so every tier must leave it so. */
static void test_host_mxcsr_is_left_at_default(void **state)
{
	struct rng r = {5};
	(void)state;

	for (int i = 0; i < 2000; i++) {
		const enum op op = (enum op)(rnd(&r) % (D_S + 1));
		const enum sf_format fmt = op == D_S ? SF_S : is_double_op(op) ? SF_D : SF_S;
		uint32_t f = 0;
		call(op, gen(&r, fmt), gen(&r, fmt), gen(&r, fmt), (int)(rnd(&r) % 5), &f);
		CHECK((host_mxcsr() & ~0x3fu) == 0x1f80, "%s left MXCSR %#x", op_names[op],
		      host_mxcsr());
	}
}

/* Flags that host code left in MXCSR must not show up as the guest's. */
static void test_stale_host_flags_do_not_leak(void **state)
{
	uint32_t f = 0;
	(void)state;

	set_host_mxcsr(0x1f80 | 0x3f);
	assert_int_equal(fpu_add_s(ONE_S, ONE_S, FRM_RTZ, &f), 0x40000000);
	assert_int_equal(f, 0);
	set_host_mxcsr(0x1f80 | 0x3f);
	assert_int_equal(fpu_mul_d(ONE_D, 0x7fefffffffffffff, FRM_RUP, &f), 0x7fefffffffffffff);
	assert_int_equal(f, 0);
	assert_int_equal(fpu_add_s(ONE_S, 0x30000000, FRM_RTZ, &f), ONE_S);
	assert_int_equal(f, NX);
	set_host_mxcsr(0x1f80);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_tiers_match_softfloat_in_rne_rtz_rdn_rup),
		cmocka_unit_test(test_rmm_rounds_ties_away_and_matches_exact_results),
		cmocka_unit_test(test_sqrt_rmm_equals_rne),
		cmocka_unit_test(test_fcvt_to_int_rounds_and_saturates_per_spec),
		cmocka_unit_test(test_fcvt_from_int_rounds_in_every_mode),
		cmocka_unit_test(test_nan_results_are_canonical_and_snan_raises_nv),
		cmocka_unit_test(test_fcvt_saturates_per_spec_table),
		cmocka_unit_test(test_fmin_fmax_follow_version_2_2),
		cmocka_unit_test(test_compares_quiet_and_signaling),
		cmocka_unit_test(test_fclass_reports_each_of_ten_classes),
		cmocka_unit_test(test_underflow_is_detected_after_rounding),
		cmocka_unit_test(test_overflow_result_depends_on_mode),
		cmocka_unit_test(test_zero_signs_and_exact_cancellation),
		cmocka_unit_test(test_rmm_vectors),
#if defined(__x86_64__)
		cmocka_unit_test(test_host_mxcsr_is_left_at_default),
		cmocka_unit_test(test_stale_host_flags_do_not_leak),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
