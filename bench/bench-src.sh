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
compare_runs bench-src
