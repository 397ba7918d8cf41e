#!/usr/bin/env bash
# Full-system benchmark: busybox sha256sum and gzip over 16 MiB inside the
# default Linux guest, under condo (--engine jit and --engine interp,
# paravirtual boot) and under qemu-system-riscv64 -M virt, in one run.
#
# The data (bench/make-data.sh, the input of bench/bench-app.sh too) is the
# guest's raw virtio-blk disk /dev/vda, a read-only copy per runner.  The
# guest's /init runs a script that times each step with the guest's own clock
# (/proc/timer_list, ns) and prints it; every round boots each runner once,
# interleaved.  Steps: `read` = cat /dev/vda >/dev/null after dropping the page
# cache (the virtio-blk path), then, with the data in the guest's page cache,
# `sha256sum /dev/vda` and `gzip -c /dev/vda | wc -c`.  `whole run` is the
# host's wall time of the process: boot, the three steps and poweroff.
# Prints min and median per runner and step, and condo/qemu ratios of the
# medians.  Not part of make check.
#
# Env: CONDO (required), BENCH_RUNS (default 3), GUEST_DIR (default:
# scripts/build-guest.sh), BENCH_RUNNERS (default "condo-jit condo-interp
# qemu"), BENCH_TIMEOUT (seconds per boot, default 600).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-guest: $*" >&2; exit 1; }
warn() { echo "bench-guest: $*" >&2; }

: "${CONDO:?set CONDO to the condo binary}"
[ -x "$CONDO" ] || die "$CONDO is not executable"
runs=${BENCH_RUNS:-3}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
limit=${BENCH_TIMEOUT:-600}
read -r -a runners <<<"${BENCH_RUNNERS:-condo-jit condo-interp qemu}"
qemu=$(command -v qemu-system-riscv64) || die "qemu-system-riscv64 is missing (apt-get install qemu-system-misc)"
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf
[ -r "$fw" ] || die "missing $fw (apt-get install opensbi)"
GUEST_DIR=${GUEST_DIR:-$("$top/scripts/build-guest.sh")} || die "cannot build the guest"
kernel=$GUEST_DIR/Image initrd=$GUEST_DIR/initramfs.cpio.gz
if [ ! -r "$kernel" ] || [ ! -r "$initrd" ]; then
	die "no Image and initramfs.cpio.gz in $GUEST_DIR"
fi

data=$("$here/make-data.sh") || die "cannot generate input"
host_bb=$("$top/scripts/build-busybox.sh" host) || die "host busybox build failed"
want_sum=$(sha256sum <"$data" | cut -c1-64)
# The same busybox source and configuration as the guest's, so the same size.
want_gz=$("$host_bb" gzip -c <"$data" | wc -c)

work=$(dirname "$data")/guest
mkdir -p "$work" || die "cannot create $work"
for r in "${runners[@]}"; do
	case "$r" in
	condo-jit | condo-interp | qemu) ;;
	*) die "unknown runner '$r' in BENCH_RUNNERS (condo-jit, condo-interp, qemu)" ;;
	esac
	rm -f "$work/$r.img"
	cp "$data" "$work/$r.img" || die "cannot copy $data to $work"
	chmod a-w "$work/$r.img" || die "cannot make $work/$r.img read-only"
done

# The guest side, one double-quoted word for guest/init (no double quote in
# it).  now() reads the "now at N nsecs" line of /proc/timer_list with shell
# built-ins only, so no process is started between a step and its clock.
script=$(tr '\n' ' ' <<'EOF'
now() { { read a; read b; read c; } </proc/timer_list; set -- $c; T=$3; };
sync; echo 3 >/proc/sys/vm/drop_caches;
now; t=$T; cat /dev/vda >/dev/null; now; echo bench: read $((T-t));
now; t=$T; sha256sum /dev/vda >/tmp/s; now; echo bench: sha256sum $((T-t));
now; t=$T; gzip -c /dev/vda | wc -c >/tmp/g; now; echo bench: gzip $((T-t));
echo bench: sum $(cut -c1-64 /tmp/s); echo bench: gzsize $(cat /tmp/g)
EOF
)
script=${script% }
append="console=ttyS0 quiet -- \"$script\""

# cmd RUNNER: the command line of one boot, in the array `cmd`
cmd_of() {
	local img=$work/$1.img
	case "$1" in
	condo-jit | condo-interp)
		cmd=("$CONDO" run --engine "${1#condo-}" --mem 256M --cpus 1 --kernel "$kernel" --initrd "$initrd"
			--drive "file=$img,readonly=on" --append "$append") ;;
	qemu)
		# shellcheck disable=SC2054 # the commas are qemu's
		cmd=("$qemu" -M virt -m 256M -smp 1 -nographic -bios "$fw" -kernel "$kernel" -initrd "$initrd"
			-drive "file=$img,format=raw,if=none,id=d0,readonly=on" -device virtio-blk-device,drive=d0
			-append "$append") ;;
	esac
}

steps=(read sha256sum gzip)
declare -A times failed
bad=0
for ((i = 1; i <= runs; i++)); do
	echo "bench-guest: round $i/$runs" >&2
	for r in "${runners[@]}"; do
		[ -n "${failed[$r]:-}" ] && continue
		cmd_of "$r"
		t0=$EPOCHREALTIME
		out=$(timeout "$limit" "${cmd[@]}" </dev/null 2>&1 | tr -d '\r')
		rc=$?
		t1=$EPOCHREALTIME
		if [ $rc -ne 0 ] || ! grep -q 'condo-guest: exit status 0' <<<"$out"; then
			warn "$r failed (exit status $rc): ${cmd[*]@Q}"
			tail -n 15 <<<"$out" | sed 's/^/  | /' >&2
			failed[$r]=1 bad=1
			continue
		fi
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
		sum=$(awk '$1 == "bench:" && $2 == "sum" { print $3 }' <<<"$out")
		gz=$(awk '$1 == "bench:" && $2 == "gzsize" { print $3 }' <<<"$out")
		[ "$sum" = "$want_sum" ] || { warn "$r: sha256 in the guest is '$sum', want $want_sum"; bad=1; }
		[ "$gz" = "$want_gz" ] || { warn "$r: gzip output in the guest is '$gz' bytes, want $want_gz"; bad=1; }
		inside=0
		for s in "${steps[@]}"; do
			ns=$(awk -v s="$s" '$1 == "bench:" && $2 == s { print $3 }' <<<"$out")
			[[ "$ns" =~ ^[0-9]+$ ]] || { warn "$r: no time for $s in the guest's output"; failed[$r]=1 bad=1; continue 2; }
			times[$s/$r]+="$(awk -v n="$ns" 'BEGIN { printf "%.6f", n / 1e9 }') "
			inside=$((inside + ns))
		done
		# The guest's clock must not run faster than the host's.
		awk -v g="$inside" -v w="$wall" 'BEGIN { exit !(g / 1e9 > w) }' &&
			warn "$r: the guest's clock looks wrong: $(awk -v g="$inside" 'BEGIN { printf "%.3f", g / 1e9 }') s of steps in $wall s of wall time"
		times[whole run/$r]+="$wall "
	done
done

# stats "T1 T2 ...": prints "min median", or "- -" without samples
stats() {
	tr ' ' '\n' <<<"$1" | grep . | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f\n", v[1], m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2fx", a / b; else print "-" }'; }

echo
echo "bench-guest: 16 MiB on virtio-blk, default guest, 1 hart, 256 MiB; $runs runs per cell ($(nproc) cores, $(date -u +%F))"
echo "seconds, min / median; steps timed in the guest, 'whole run' on the host"
echo "condo: $CONDO"
printf '%-10s' step
for r in condo-jit condo-interp qemu; do printf ' %17s' "$r"; done
printf ' %10s %13s\n' jit/qemu interp/qemu
for s in "${steps[@]}" "whole run"; do
	declare -A med=()
	printf '%-10s' "$s"
	for r in condo-jit condo-interp qemu; do
		read -r mn md <<<"$(stats "${times[$s/$r]:-}")"
		med[$r]=$md
		printf ' %8s / %-6s' "$mn" "$md"
	done
	printf ' %10s %13s\n' "$(ratio "${med[condo-jit]}" "${med[qemu]}")" "$(ratio "${med[condo-interp]}" "${med[qemu]}")"
done
echo "(ratios are of the medians; below 1.00x means condo is faster)"
[ $bad -eq 0 ] || die "some runs failed or computed a wrong result (see above)"
