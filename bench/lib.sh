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

# compare_runs NAME: condo, qemu and native side by side.  The caller sets
# progs, runs, condo and condo_args, and defines run RUNNER PROGRAM (one
# run, its output on stdout).  Every runner must print what condo prints;
# then runs timed rounds, a table of min / median wall times with the
# ratios, and condo's translator counters per program.
compare_runs() {
	local name=$1 p runner out ref i t0 t1 cmin cmed qmin qmed nmin nmed
	local runners=(condo qemu native)
	declare -A times
	for p in "${progs[@]}"; do
		ref=
		for runner in "${runners[@]}"; do
			out=$(run "$runner" "$p" 2>"$work/err") || die "$runner: $p failed: $(head -c 300 "$work/err")"
			[ -z "$ref" ] && ref=$out
			[ "$out" = "$ref" ] || die "$runner: $p printed '$out', condo '$ref'"
		done
	done
	for ((i = 1; i <= runs; i++)); do
		echo "$name: round $i/$runs" >&2
		for p in "${progs[@]}"; do
			for runner in "${runners[@]}"; do
				t0=$EPOCHREALTIME
				run "$runner" "$p" >/dev/null 2>"$work/err" || die "$runner: $p failed"
				t1=$EPOCHREALTIME
				times[$p/$runner]+="$(elapsed "$t0" "$t1") "
			done
		done
	done
	echo
	echo "$name: $runs timed runs per cell, wall time in seconds (min / median)"
	echo "condo: $condo ${condo_args[*]}"
	printf '%-8s %17s %17s %17s %11s %13s\n' program condo qemu native condo/qemu condo/native
	for p in "${progs[@]}"; do
		read -r cmin cmed <<<"$(stats "${times[$p/condo]}")"
		read -r qmin qmed <<<"$(stats "${times[$p/qemu]}")"
		read -r nmin nmed <<<"$(stats "${times[$p/native]}")"
		printf '%-8s %8s / %-6s %8s / %-6s %8s / %-6s %11s %13s\n' "$p" "$cmin" "$cmed" "$qmin" \
			"$qmed" "$nmin" "$nmed" "$(ratio "$cmed" "$qmed")" "$(ratio "$cmed" "$nmed")"
	done
	echo "(ratios are of the medians; below 1.00x means condo is faster)"
	echo
	echo "translator (condo app --jit-stats, one run each):"
	for p in "${progs[@]}"; do
		condo_args+=(--jit-stats)
		run condo "$p" 2>&1 >/dev/null | sed -n "s/^condo: jit: /  $p: /p"
		unset 'condo_args[-1]'
	done
}
