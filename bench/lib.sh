# Shared by the bench/ scripts (sourced): summary statistics and ratios.

# stats "T1 T2 ...": prints "min median"
stats() {
	tr ' ' '\n' <<<"$1" | grep . | sort -g |
		awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f\n", v[1], m }'
}

# ratio A B: A/B as "1.23x", or "-" when B is 0
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'
}

# elapsed T0 T1: seconds between two $EPOCHREALTIME readings
elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'
}

# bench_setup: BENCH_RUNS (default 5) into runs, CONDO (default
# build/condo) as an absolute path into condo, qemu-riscv64 into qemu;
# the caller's die() reports what is missing.  Needs $top.
bench_setup() {
	runs=${BENCH_RUNS:-5}
	[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
	condo=${CONDO:-$top/build/condo}
	[ -x "$condo" ] || die "$condo is not executable (set CONDO, or run make)"
	condo=$(cd "$(dirname "$condo")" && pwd)/$(basename "$condo")
	qemu=$(command -v qemu-riscv64) || die "qemu-riscv64 is not installed (package qemu-user)"
}

# condod_setup: CONDO and CONDOD (default build/) as absolute paths into
# condo and condod, both built; the caller's die() reports what is missing.
# Needs $top.
condod_setup() {
	condo=${CONDO:-$top/build/condo}
	condod=${CONDOD:-$top/build/condod}
	[ -x "$condo" ] && [ -x "$condod" ] || die "build condo and condod first (make)"
	condo=$(cd "$(dirname "$condo")" && pwd)/$(basename "$condo")
	condod=$(cd "$(dirname "$condod")" && pwd)/$(basename "$condod")
}
