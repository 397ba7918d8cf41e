#!/usr/bin/env bash
# CPU-bound C programs of condo's own (bench/cpu/: sorting, hashing, a small
# bytecode VM, floating point, two threads sorting and hashing), built with
# -O2 for riscv64 (static) and for the host, run (a) under `$CONDO app`,
# (b) under qemu-riscv64, (c) natively;
# BENCH_RUNS timed runs each (default 5), interleaved, after one untimed run
# that checks the three print the same.  Prints min and median wall time and
# the condo/qemu and condo/native ratios of the medians, then what the
# translator did per program (translation time, cache memory).
# BENCH_CALLGRIND=1 adds condo's instruction counts under callgrind, which a
# busy machine does not disturb.  Not part of make check.
#
#   CONDO=build/condo bench/bench-cpu.sh [PROGRAM...]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-cpu: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

bench_setup
rv_cc=${RISCV_CC:-riscv64-linux-gnu-gcc}
command -v "$rv_cc" >/dev/null || die "$rv_cc is not installed (package gcc-riscv64-linux-gnu)"
host_cc=${HOST_CC:-gcc}
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"

build=${BUILD:-$top/build}
work=$build/bench-cpu
mkdir -p "$work" || die "cannot create $work"
progs=("$@")
[ ${#progs[@]} -gt 0 ] || progs=(sort hash vm fp mt)
read -r -a condo_args <<<"${CONDO_ARGS:-}"

for p in "${progs[@]}"; do
	src=$here/cpu/$p.c
	[ -f "$src" ] || die "no such program: $p ($src)"
	if [ ! "$work/rv-$p" -nt "$src" ] || [ ! "$work/host-$p" -nt "$src" ]; then
		"$rv_cc" -O2 -static -pthread -o "$work/rv-$p" "$src" -lm || die "$p: riscv64 build failed"
		"$host_cc" -O2 -pthread -o "$work/host-$p" "$src" -lm || die "$p: host build failed"
	fi
done

run() {
	local runner=$1 p=$2
	case "$runner" in
	condo) "$condo" app "${condo_args[@]}" "$work/rv-$p" </dev/null ;;
	qemu) "$qemu" "$work/rv-$p" </dev/null ;;
	native) "$work/host-$p" </dev/null ;;
	esac
}
compare_runs bench-cpu

if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || die "valgrind is not installed"
	echo
	echo "host instructions executed by condo (callgrind Ir; translated code included):"
	for p in "${progs[@]}"; do
		ir=$(valgrind --tool=callgrind --smc-check=all --callgrind-out-file=/dev/null \
			"$condo" app "${condo_args[@]}" "$work/rv-$p" </dev/null 2>&1 >/dev/null |
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
		printf '  %-8s %15s\n' "$p" "$ir"
	done
fi
