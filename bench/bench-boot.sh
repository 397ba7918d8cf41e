#!/usr/bin/env bash
# Boot-to-poweroff time of the default guest under condo and under
# qemu-system-riscv64, same kernel, initrd and firmware, in one run.
# condo-paravirt and condo-jit: condo is the SBI (no --bios), with the
# interpreter and with --engine jit; condo-opensbi: OpenSBI's fw_jump.elf,
# interpreter.
# Env: CONDO, BENCH_RUNS (default 5), GUEST_DIR (default: scripts/build-guest.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${CONDO:?set CONDO to the condo binary}"
runs=${BENCH_RUNS:-5}
GUEST_DIR=${GUEST_DIR:-$("$here/../scripts/build-guest.sh")}
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf
kernel=$GUEST_DIR/Image initrd=$GUEST_DIR/initramfs.cpio.gz
append="console=ttyS0 quiet -- true"
command -v qemu-system-riscv64 >/dev/null || { echo "bench-boot: qemu-system-riscv64 is missing (apt-get install qemu-system-misc)" >&2; exit 1; }

# seconds for one boot-to-poweroff; fails if the guest did not get to run `true`
time_one() {
	local t0 t1 out
	t0=$(date +%s.%N)
	out=$("$@" </dev/null 2>&1) || { echo "bench-boot: failed: $*" >&2; echo "$out" | tail -5 >&2; return 1; }
	t1=$(date +%s.%N)
	grep -q "condo-guest: exit status 0" <<<"$out" || { echo "bench-boot: guest did not finish: $*" >&2; return 1; }
	echo "$t1 - $t0" | bc -l
}

stats() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f %.3f\n", v[1], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

declare -A samples
peers=(condo-jit condo-jit-opensbi condo-interp qemu-opensbi)
for ((i = 0; i < runs; i++)); do
	samples[condo-jit]+="$(time_one "$CONDO" run --engine jit --kernel "$kernel" --initrd "$initrd" --append "$append")"$'\n'
	samples[condo-jit-opensbi]+="$(time_one "$CONDO" run --engine jit --bios "$fw" --kernel "$kernel" --initrd "$initrd" --append "$append")"$'\n'
	samples[condo-interp]+="$(time_one "$CONDO" run --engine interp --kernel "$kernel" --initrd "$initrd" --append "$append")"$'\n'
	samples[qemu-opensbi]+="$(time_one qemu-system-riscv64 -M virt -m 256M -smp 1 -nographic -bios "$fw" -kernel "$kernel" -initrd "$initrd" -append "$append")"$'\n'
done

echo "boot to poweroff, default guest, $runs runs ($(nproc) cores, $(date -u +%F))"
printf '%-18s %9s %9s %10s\n' engine min_s median_s "/qemu"
declare -A median
for p in "${peers[@]}"; do
	read -r mn md < <(printf '%s' "${samples[$p]}" | stats)
	median[$p]=$md
done
for p in "${peers[@]}"; do
	read -r mn md < <(printf '%s' "${samples[$p]}" | stats)
	printf '%-18s %9s %9s %9.2fx\n' "$p" "$mn" "$md" "$(echo "$md / ${median[qemu-opensbi]}" | bc -l)"
done
echo "(condo-jit and condo-interp: paravirtual, condo is the SBI; the others boot OpenSBI fw_jump."
echo " Ratios are of the medians; below 1.00x means condo is faster.)"
echo
echo "translator, one more paravirtual boot (--jit-stats):"
"$CONDO" run --engine jit --jit-stats --kernel "$kernel" --initrd "$initrd" --append "$append" \
	</dev/null 2>&1 | sed -n 's/^condo: jit: /  /p'
