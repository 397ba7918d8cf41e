#!/bin/sh
# qemu-shim.sh — stands in for `condo app` so the ISA tests can be developed
# and their expectations cross-checked without condo:
#
#   qemu-shim.sh app [--root DIR] [--mem SIZE] [--max-insns N] [--trace-syscalls] PROGRAM [ARGS...]
#
# runs PROGRAM under qemu-riscv64 (QEMU overrides the binary) with the
# extensions condo implements. --root maps to -L, --trace-syscalls to
# -strace; --mem and --max-insns have no qemu equivalent and are accepted
# and ignored. ISA_KNOWN_QEMU_DEVIATIONS=1 is passed to the program so the
# few checks where qemu 7.2 disagrees with the specification are skipped
# (see docs/testing-isa.md).
#
#   CONDO=tests/isa/qemu-shim.sh tests/isa/run.sh
set -eu

QEMU=${QEMU:-qemu-riscv64}
CPU=rv64,zba=true,zbb=true,zbs=true

usage() {
	echo "usage: $0 app [--root DIR] [--mem SIZE] [--max-insns N] [--trace-syscalls] PROGRAM [ARGS...]" >&2
	exit 2
}

[ "${1:-}" = app ] || usage
shift
root=
strace=
while [ $# -gt 0 ]; do
	case $1 in
	--root) [ $# -ge 2 ] || usage; root=$2; shift 2 ;;
	--root=*) root=${1#*=}; shift ;;
	--mem | --max-insns) [ $# -ge 2 ] || usage; shift 2 ;;
	--mem=* | --max-insns=*) shift ;;
	--trace-syscalls) strace=-strace; shift ;;
	--) shift; break ;;
	-*) echo "qemu-shim: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage

export ISA_KNOWN_QEMU_DEVIATIONS=1
if [ -n "$root" ]; then
	exec "$QEMU" -cpu "$CPU" -L "$root" $strace "$@"
fi
exec "$QEMU" -cpu "$CPU" $strace "$@"
