#!/usr/bin/env bash
# The jail's cost: the same runs with the jail (the default) and with
# --no-jail, interleaved so that both see the same load.  App mode: busybox
# sha256sum and gzip -c over bench-app's 16 MiB input, and `true` (start-up:
# namespaces, limits and the filter are entered once per condo process, and
# once more per guest execve for nothing but the exec itself); full system:
# the default guest's paravirtual boot to poweroff.  Prints min and median
# wall time of BENCH_RUNS runs (default 7) and the jailed/unjailed ratio of
# the medians.  Not part of make check; the machine may be shared and noisy.
#
#   CONDO=build/condo bench/bench-jail.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-jail: $*" >&2; exit 1; }

runs=${BENCH_RUNS:-7}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
condo=${CONDO:-$top/build/condo}
[ -x "$condo" ] || die "$condo is not executable (set CONDO, or run make)"
condo=$(cd "$(dirname "$condo")" && pwd)/$(basename "$condo")
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"
rv_root=$("$top/scripts/build-busybox.sh" riscv64 --root) || die "riscv64 busybox build failed"
guest=$("$top/scripts/build-guest.sh") || die "default guest build failed"
build=${BUILD:-$top/build}
src=$(BUILD=$build "$here/make-data.sh") || die "cannot generate input"
root=$build/bench-jail/root
rm -rf "$root" && mkdir -p "$(dirname "$root")" || die "cannot create $root"
cp -a "$rv_root" "$root" && mkdir -p "$root/work" && cp "$src" "$root/work/data.bin" ||
	die "cannot copy the root and the input"
cd "$root/work" || die "cannot enter $root/work"
data=data.bin

declare -A samples
# once NAME CMD...: one timed run, seconds appended to samples[NAME]
once() {
	local name=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	"$@" </dev/null >/dev/null 2>&1 || die "failed: $*"
	t1=$EPOCHREALTIME
	samples[$name]+="$(echo "$t1 - $t0" | bc -l)"$'\n'
}

app() { "$condo" app "$@"; }
boot() {
	"$condo" run "$@" --kernel "$guest/Image" --initrd "$guest/initramfs.cpio.gz" \
		--append "console=ttyS0 quiet -- true"
}
bb=$root/bin/busybox
cases=("app-true" "app-sha256sum" "app-gzip" "boot-paravirt")
for ((i = 0; i < runs; i++)); do
	for jail in jail no-jail; do
		opt=()
		[ $jail = no-jail ] && opt=(--no-jail)
		once "app-true $jail" app "${opt[@]}" --root "$root" "$bb" true
		once "app-sha256sum $jail" app "${opt[@]}" --root "$root" "$bb" sha256sum "$data"
		once "app-gzip $jail" app "${opt[@]}" --root "$root" "$bb" gzip -c "$data"
		once "boot-paravirt $jail" boot "${opt[@]}"
	done
done

stats() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f %.3f\n", v[1], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "the jail's cost, $runs interleaved runs each ($(nproc) cores, $(date -u +%F))"
printf '%-15s %10s %10s %12s %12s %8s\n' case jail_min jail_med nojail_min nojail_med ratio
for c in "${cases[@]}"; do
	read -r jmin jmed < <(printf '%s' "${samples[$c jail]}" | stats)
	read -r nmin nmed < <(printf '%s' "${samples[$c no-jail]}" | stats)
	printf '%-15s %10s %10s %12s %12s %7.3fx\n' "$c" "$jmin" "$jmed" "$nmin" "$nmed" \
		"$(echo "$jmed / $nmed" | bc -l)"
done
echo "(seconds, wall time; ratio of the medians, above 1.000x means the jail costs time)"
