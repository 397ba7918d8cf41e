#!/bin/sh
# qemu-shim.sh — stands in for `condo run` so the privileged tests can be
# validated against qemu-system-riscv64 (7.2, the virt board):
#
#   qemu-shim.sh run --bios none --kernel PROG.elf [--cpus N] [--mem SIZE] [--max-insns N]
#
# --cpus maps to -smp, --mem to -m; --max-insns has no qemu equivalent and
# is ignored (run.sh's PRIV_TIMEOUT still guards against hangs). The CPU is
# rv64 without the H extension (condo has none) and with Sstc. The kernel
# command line carries a marker the programs find in the device tree: they
# then skip the few checks where qemu 7.2 deviates from the specification.
#
#   CONDO=tests/priv/qemu-shim.sh tests/priv/run.sh
set -eu

QEMU=${QEMU:-qemu-system-riscv64}
CPU=rv64,h=false,sstc=true,zba=true,zbb=true,zbs=true

usage() {
	echo "usage: $0 run --bios none --kernel FILE [--cpus N] [--mem SIZE] [--max-insns N]" >&2
	exit 2
}

[ "${1:-}" = run ] || usage
shift
kernel=
cpus=1
mem=256M
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--bios) [ "$2" = none ] || usage ;;
	--kernel) kernel=$2 ;;
	--cpus) cpus=$2 ;;
	--mem) mem=$2 ;;
	--max-insns) ;;
	*) echo "qemu-shim: unknown option $1" >&2; usage ;;
	esac
	shift 2
done
[ -n "$kernel" ] || usage

# -icount shift=0: minstret counts instructions exactly (without it qemu
# derives it from the host's clock); only for one hart: with several, qemu
# 7.2's icount mode leaves a hart asleep in wfi after an IPI
icount=
[ "$cpus" = 1 ] && icount="-icount shift=0"
# shellcheck disable=SC2086
exec "$QEMU" -M virt -cpu "$CPU" -smp "$cpus" -m "$mem" -bios none -nographic $icount \
	-monitor none -serial stdio -kernel "$kernel" \
	-append priv-known-qemu-deviations
