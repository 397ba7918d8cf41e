#!/usr/bin/env bash
# App-mode benchmark: busybox sha256sum and gzip -c over 16 MiB of generated
# data, run (a) under `$CONDO app --root`, (b) under qemu-riscv64, (c) as the
# host-built busybox; BENCH_RUNS timed runs each (default 5) after one untimed
# run that also checks the three agree.  Prints min and median wall time and
# the condo/qemu and condo/native ratios of the medians.  Not part of make check.
#
#   CONDO=build/condo bench/bench-app.sh
#   CONDO=tests/programs/qemu-shim.sh bench/bench-app.sh     # to try the script
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-app: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

bench_setup
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"

rv_root=$("$top/scripts/build-busybox.sh" riscv64 --root) || die "riscv64 busybox build failed"
host_bb=$("$top/scripts/build-busybox.sh" host) || die "host busybox build failed"

build=${BUILD:-$top/build}
work=$build/bench-work
root=$work/root
mkdir -p "$work" || die "cannot create $work"
rm -rf "$root"
cp -a "$rv_root" "$root" || die "cannot copy $rv_root"
mkdir -p "$root/work"

# 16 MiB: 12 MiB of text (compressible) and 4 MiB of already-compressed bytes,
# shared with bench/bench-guest.sh.
src=$(BUILD=$build "$here/make-data.sh") || die "cannot generate input"
data=$root/work/data.bin
cp "$src" "$data" || die "cannot copy $src"

# run RUNNER TOOL: one run, output to stdout; cwd is the guest's /work.
run() {
	local runner=$1
	shift
	case "$runner" in
	condo) "$condo" app "${condo_args[@]}" --root "$root" "$root/bin/busybox" "$@" </dev/null ;;
	qemu) "$qemu" "$root/bin/busybox" "$@" </dev/null ;;
	native) "$host_bb" "$@" </dev/null ;;
	esac
}
# CONDO_ARGS: more options for condo app, e.g. "--engine interp"
read -r -a condo_args <<<"${CONDO_ARGS:-}"
tools=("sha256sum data.bin" "gzip -c data.bin")
runners=(condo qemu native)

cd "$root/work" || die "cannot enter $root/work"

# One untimed run each, checking that the three agree.
for tool in "${tools[@]}"; do
	ref=
	for runner in "${runners[@]}"; do
		# shellcheck disable=SC2086 # the tool string is split on purpose
		sum=$(run "$runner" $tool 2>"$work/err" | sha256sum | cut -c1-64) ||
			die "$runner: '$tool' failed: $(head -c 200 "$work/err")"
		[ -z "$ref" ] && ref=$sum
		[ "$sum" = "$ref" ] || echo "bench-app: warning: $runner output of '$tool' differs from condo's" >&2
	done
done

# Timed runs, interleaved so that a noisy moment hits all runners alike.
declare -A times
for ((i = 1; i <= runs; i++)); do
	echo "bench-app: round $i/$runs" >&2
	for tool in "${tools[@]}"; do
		for runner in "${runners[@]}"; do
			t0=$EPOCHREALTIME
			# shellcheck disable=SC2086
			run "$runner" $tool >/dev/null 2>"$work/err" || die "$runner: '$tool' failed: $(head -c 200 "$work/err")"
			t1=$EPOCHREALTIME
			times[$tool/$runner]+="$(elapsed "$t0" "$t1") "
		done
	done
done


echo
echo "bench-app: 16 MiB input, $runs timed runs per cell, wall time in seconds (min / median)"
echo "condo: $condo"
printf '%-12s %17s %17s %17s %11s %13s\n' tool condo qemu native condo/qemu condo/native
for tool in "${tools[@]}"; do
	read -r cmin cmed <<<"$(stats "${times[$tool/condo]}")"
	read -r qmin qmed <<<"$(stats "${times[$tool/qemu]}")"
	read -r nmin nmed <<<"$(stats "${times[$tool/native]}")"
	printf '%-12s %8s / %-6s %8s / %-6s %8s / %-6s %11s %13s\n' "${tool% data.bin}" \
		"$cmin" "$cmed" "$qmin" "$qmed" "$nmin" "$nmed" "$(ratio "$cmed" "$qmed")" "$(ratio "$cmed" "$nmed")"
done
echo "(ratios are of the medians; below 1.00x means condo is faster)"

# What the translator did in one more run of each: code compiled, the time
# it took per guest instruction and the host memory its cache holds.
echo
echo "translator (condo app --jit-stats, one run each):"
for tool in "${tools[@]}"; do
	# shellcheck disable=SC2086
	"$condo" app "${condo_args[@]}" --jit-stats --root "$root" "$root/bin/busybox" $tool \
		</dev/null 2>&1 >/dev/null | sed -n "s/^condo: jit: /  ${tool% data.bin}: /p"
done
