#!/usr/bin/env python3
"""fpref.py — exact reference for RISC-V F/D results, used to derive (and
re-check) the expected values written into fround.c, f.S and d.S.

It follows the definitions, not any implementation: operands are decoded to
exact rationals, the operation is done exactly, and the result is rounded
with the five IEEE 754 rounding-direction attributes (RNE, RTZ, RDN, RUP,
RMM). RISC-V specifics (unpriv spec, F chapter): NaN results are the
canonical NaN, tininess is detected after rounding, UF needs inexactness,
float->int conversions saturate as in the fcvt table (NaN -> largest
positive) and raise NV without NX when the rounded value is out of range.

Usage as a calculator:
  python3 tests/isa/fpref.py add s 3f800000 33800000     # every mode
  python3 tests/isa/fpref.py fcvt.w s 40200000           # 2.5 -> int32
Ops: add sub mul div sqrt fma (a*b+c) cvt.s.d cvt.d.s, fcvt.{w,wu,l,lu}
(float -> int) and icvt.{w,wu,l,lu} (int -> float; operand in hex).
"""
import sys
from fractions import Fraction

NX, UF, OF, DZ, NV = 1, 2, 4, 8, 16
MODES = ["rne", "rtz", "rdn", "rup", "rmm"]
FMT = {"s": (8, 23), "d": (11, 52)}


class Fmt:
    def __init__(self, name):
        self.ebits, self.mbits = FMT[name]
        self.p = self.mbits + 1
        self.bias = (1 << (self.ebits - 1)) - 1
        self.emin = 1 - self.bias
        self.emax = self.bias
        self.width = 1 + self.ebits + self.mbits
        self.expmask = (1 << self.ebits) - 1

    def qnan(self):
        return (self.expmask << self.mbits) | (1 << (self.mbits - 1))

    def inf(self, neg):
        return (int(neg) << (self.width - 1)) | (self.expmask << self.mbits)

    def maxfin(self, neg):
        return (int(neg) << (self.width - 1)) | ((self.expmask - 1) << self.mbits) | (
            (1 << self.mbits) - 1)

    def decode(self, bits):
        """-> ('nan', is_snan) | ('inf', neg) | ('num', Fraction, neg)"""
        neg = bool(bits >> (self.width - 1))
        e = (bits >> self.mbits) & self.expmask
        m = bits & ((1 << self.mbits) - 1)
        if e == self.expmask:
            if m:
                return ("nan", not (m >> (self.mbits - 1)) & 1)
            return ("inf", neg)
        if e == 0:
            v = Fraction(m, 1 << (self.mbits - self.emin))
        else:
            v = Fraction((1 << self.mbits) | m) * Fraction(2) ** (e - self.bias - self.mbits)
        return ("num", -v if neg else v, neg)


def round_int(q, neg, mode):
    """Round the non-negative rational q (magnitude of a value of sign neg)."""
    fl = q.numerator // q.denominator
    frac = q - fl
    if frac == 0:
        return fl
    if mode == "rne":
        if frac > Fraction(1, 2) or (frac == Fraction(1, 2) and fl & 1):
            return fl + 1
        return fl
    if mode == "rtz":
        return fl
    if mode == "rdn":
        return fl + 1 if neg else fl
    if mode == "rup":
        return fl if neg else fl + 1
    if mode == "rmm":
        return fl + 1 if frac >= Fraction(1, 2) else fl
    raise ValueError(mode)


def ilog2(a):
    """floor(log2(a)) for a positive Fraction."""
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    elif Fraction(2) ** (e + 1) <= a:
        e += 1
    return e


def round_to(f, x, mode, zero_neg=False):
    """Round the exact rational x to format f -> (bits, flags)."""
    if x == 0:
        return (int(zero_neg) << (f.width - 1)), 0
    neg = x < 0
    a = -x if neg else x
    e = ilog2(a)
    # tininess after rounding: round to p bits with an unbounded exponent
    q = a / Fraction(2) ** (e - f.p + 1)
    n = round_int(q, neg, mode)
    tiny = n * Fraction(2) ** (e - f.p + 1) < Fraction(2) ** f.emin
    E = max(e, f.emin)
    q = a / Fraction(2) ** (E - f.p + 1)
    n = round_int(q, neg, mode)
    inexact = q != n
    if n == 1 << f.p:
        n >>= 1
        E += 1
    flags = NX if inexact else 0
    if E > f.emax:
        flags = OF | NX
        to_inf = mode in ("rne", "rmm") or (mode == "rup" and not neg) or (mode == "rdn" and neg)
        return (f.inf(neg) if to_inf else f.maxfin(neg)), flags
    if tiny and inexact:
        flags |= UF
    if n >= 1 << (f.p - 1):
        bits = ((E + f.bias) << f.mbits) | (n - (1 << (f.p - 1)))
    else:
        bits = n
    return (int(neg) << (f.width - 1)) | bits, flags


def nan_result(f, *ops):
    nv = any(o[0] == "nan" and o[1] for o in ops)
    return f.qnan(), NV if nv else 0


def op_add(f, a, b, mode, negate_b=False):
    A, B = f.decode(a), f.decode(b)
    if negate_b and B[0] != "nan":
        B = ("inf", not B[1]) if B[0] == "inf" else ("num", -B[1], not B[2])
    if A[0] == "nan" or B[0] == "nan":
        return nan_result(f, A, B)
    if A[0] == "inf" and B[0] == "inf":
        return (f.qnan(), NV) if A[1] != B[1] else (f.inf(A[1]), 0)
    if A[0] == "inf" or B[0] == "inf":
        return f.inf((A if A[0] == "inf" else B)[1]), 0
    s = A[1] + B[1]
    if s == 0:
        zneg = (A[2] and B[2]) if (A[1] == 0 and B[1] == 0 and A[2] == B[2]) else mode == "rdn"
        return round_to(f, s, mode, zneg)
    return round_to(f, s, mode)


def op_mul(f, a, b, mode):
    A, B = f.decode(a), f.decode(b)
    if A[0] == "nan" or B[0] == "nan":
        return nan_result(f, A, B)
    neg = (A[1] if A[0] == "inf" else A[2]) != (B[1] if B[0] == "inf" else B[2])
    if A[0] == "inf" or B[0] == "inf":
        other = B if A[0] == "inf" else A
        if other[0] == "num" and other[1] == 0:
            return f.qnan(), NV
        return f.inf(neg), 0
    return round_to(f, A[1] * B[1], mode, neg)


def op_div(f, a, b, mode):
    A, B = f.decode(a), f.decode(b)
    if A[0] == "nan" or B[0] == "nan":
        return nan_result(f, A, B)
    neg = (A[1] if A[0] == "inf" else A[2]) != (B[1] if B[0] == "inf" else B[2])
    if A[0] == "inf":
        return (f.qnan(), NV) if B[0] == "inf" else (f.inf(neg), 0)
    if B[0] == "inf":
        return int(neg) << (f.width - 1), 0
    if B[1] == 0:
        return (f.qnan(), NV) if A[1] == 0 else (f.inf(neg), DZ)
    return round_to(f, A[1] / B[1], mode, neg)


def op_sqrt(f, a, mode):
    A = f.decode(a)
    if A[0] == "nan":
        return nan_result(f, A)
    if A[0] == "inf":
        return (f.qnan(), NV) if A[1] else (f.inf(False), 0)
    if A[1] == 0:
        return a, 0  # sqrt(-0) = -0
    if A[1] < 0:
        return f.qnan(), NV
    # floor(sqrt(v) * 2^k) with k large enough, plus a sticky bit
    k = 2 * f.p + 200 + A[1].denominator.bit_length()
    v = A[1] * Fraction(2) ** (2 * k)
    iv = v.numerator // v.denominator
    r = isqrt(iv)
    exact = r * r == iv and Fraction(iv) == v
    x = Fraction(r, 1 << k)
    if not exact:
        x += Fraction(1, 1 << (k + 1))  # strictly between r and r+1: never a tie
    return round_to(f, x, mode)


def isqrt(n):
    x = 1 << ((n.bit_length() + 1) // 2)
    while True:
        y = (x + n // x) // 2
        if y >= x:
            return x
        x = y


def op_fma(f, a, b, c, mode):
    A, B, C = f.decode(a), f.decode(b), f.decode(c)
    zero = lambda o: o[0] == "num" and o[1] == 0
    if (A[0] == "inf" and zero(B)) or (B[0] == "inf" and zero(A)):
        return f.qnan(), NV  # even when c is a quiet NaN (F chapter, FMA)
    if A[0] == "nan" or B[0] == "nan" or C[0] == "nan":
        return nan_result(f, A, B, C)
    pneg = (A[1] if A[0] == "inf" else A[2]) != (B[1] if B[0] == "inf" else B[2])
    if A[0] == "inf" or B[0] == "inf":
        if C[0] == "inf" and C[1] != pneg:
            return f.qnan(), NV
        return f.inf(pneg), 0
    if C[0] == "inf":
        return f.inf(C[1]), 0
    p = A[1] * B[1]
    s = p + C[1]
    if s == 0:
        if p == 0 and C[1] == 0:
            zneg = pneg and C[2]
            if pneg != C[2]:
                zneg = mode == "rdn"
        else:
            zneg = mode == "rdn"
        return round_to(f, s, mode, zneg)
    return round_to(f, s, mode)


def op_cvt_f2f(fi, fo, a, mode):
    A = fi.decode(a)
    if A[0] == "nan":
        return nan_result(fo, A)
    if A[0] == "inf":
        return fo.inf(A[1]), 0
    return round_to(fo, A[1], mode, A[2])


INT = {"w": (32, True), "wu": (32, False), "l": (64, True), "lu": (64, False)}


def op_f2i(f, a, kind, mode):
    """Result as the 64-bit register value (32-bit results sign-extended)."""
    bits, signed = INT[kind]
    lo = -(1 << (bits - 1)) if signed else 0
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    A = f.decode(a)
    if A[0] == "nan":
        v, fl = hi, NV
    elif A[0] == "inf":
        v, fl = (lo if A[1] else hi), NV
    else:
        x = A[1]
        neg = x < 0
        n = round_int(-x if neg else x, neg, mode)
        n = -n if neg else n
        if n < lo:
            v, fl = lo, NV
        elif n > hi:
            v, fl = hi, NV
        else:
            v, fl = n, (NX if n != x else 0)
    v &= (1 << bits) - 1
    if bits == 32 and v >> 31:
        v |= 0xFFFFFFFF00000000  # RV64 sign-extends W results, also for WU
    return v, fl


def op_i2f(f, x, kind, mode):
    bits, signed = INT[kind]
    x &= (1 << bits) - 1
    if signed and x >> (bits - 1):
        x -= 1 << bits
    return round_to(f, Fraction(x), mode)


def run(op, fmt, args, mode):
    f = Fmt(fmt)
    v = [int(a, 16) for a in args]
    if op == "add":
        return op_add(f, v[0], v[1], mode)
    if op == "sub":
        return op_add(f, v[0], v[1], mode, negate_b=True)
    if op == "mul":
        return op_mul(f, v[0], v[1], mode)
    if op == "div":
        return op_div(f, v[0], v[1], mode)
    if op == "sqrt":
        return op_sqrt(f, v[0], mode)
    if op == "fma":
        return op_fma(f, v[0], v[1], v[2], mode)
    if op == "cvt.s.d":
        return op_cvt_f2f(Fmt("d"), Fmt("s"), v[0], mode)
    if op == "cvt.d.s":
        return op_cvt_f2f(Fmt("s"), Fmt("d"), v[0], mode)
    if op.startswith("fcvt."):
        return op_f2i(f, v[0], op[5:], mode)
    if op.startswith("icvt."):
        return op_i2f(f, v[0], op[5:], mode)
    raise SystemExit("unknown op " + op)


FLAGNAMES = [(NV, "NV"), (DZ, "DZ"), (OF, "OF"), (UF, "UF"), (NX, "NX")]


def flagstr(fl):
    return "|".join(n for b, n in FLAGNAMES if fl & b) or "0"


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    op, fmt, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    for m in MODES:
        r, fl = run(op, fmt, args, m)
        print("%s 0x%x %s" % (m, r, flagstr(fl)))
