#!/usr/bin/env bash
# Programs from Debian source packages (bench/build-src.sh): lua 5.4 running
# bench/src/mix.lua (calls, tables, strings, closures, sorting) and the
# sqlite3 shell running bench/src/wal.sql on a database in WAL mode, each
# built for riscv64 (static) and for the host, run (a) under `$CONDO app`,
# (b) under qemu-riscv64, (c) natively, in one directory (the guest's root
# and working directory); BENCH_RUNS timed runs each (default 5),
# interleaved, after one untimed run that checks the three print the same.
# Prints min and median wall time, the condo/qemu and condo/native ratios of
# the medians, then what the translator did (translation time, cache
# memory).  Not part of make check.
#
#   CONDO=build/condo bench/bench-src.sh [lua|sqlite...]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-src: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

bench_setup
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"
progs=("$@")
[ ${#progs[@]} -gt 0 ] || progs=(lua sqlite)
read -r -a condo_args <<<"${CONDO_ARGS:-}"

build=${BUILD:-$top/build}
work=$build/bench-src
mkdir -p "$work" || die "cannot create $work"
cp "$here/src/mix.lua" "$here/src/wal.sql" "$work/" || die "cannot copy the scripts"
declare -A bin
for p in "${progs[@]}"; do
	case "$p" in
	lua | sqlite) ;;
	*) die "no such program: $p (lua, sqlite)" ;;
	esac
	for arch in riscv64 host; do
		bin[$p/$arch]=$("$here/build-src.sh" "$p" "$arch") || die "$p: $arch build failed"
	done
	cp "${bin[$p/riscv64]}" "$work/rv-$p" && cp "${bin[$p/host]}" "$work/host-$p" ||
		die "cannot copy the $p binaries"
done
cd "$work" || die "cannot enter $work"

# run RUNNER PROGRAM: one run in $work, output to stdout.  condo's root is
# $work (its default, the current directory).
run() {
	local runner=$1 p=$2 exe
	case "$runner" in
	condo) exe=("$condo" app "${condo_args[@]}" "./rv-$p") ;;
	qemu) exe=("$qemu" "./rv-$p") ;;
	native) exe=("./host-$p") ;;
	esac
	case "$p" in
	lua) "${exe[@]}" mix.lua 3 </dev/null ;;
	sqlite)
		rm -f bench.db bench.db-wal bench.db-shm
		"${exe[@]}" bench.db <wal.sql
		;;
	esac
}
runners=(condo qemu native)

for p in "${progs[@]}"; do
	ref=
	for runner in "${runners[@]}"; do
		out=$(run "$runner" "$p" 2>"$work/err") || die "$runner: $p failed: $(head -c 300 "$work/err")"
		[ -z "$ref" ] && ref=$out
		[ "$out" = "$ref" ] || die "$runner: $p printed '$out', condo '$ref'"
	done
done

declare -A times
for ((i = 1; i <= runs; i++)); do
	echo "bench-src: round $i/$runs" >&2
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
echo "bench-src: $runs timed runs per cell, wall time in seconds (min / median)"
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
