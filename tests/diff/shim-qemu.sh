#!/bin/bash
# Stand-in for "condo app PROGRAM" that runs qemu-riscv64, to validate the
# differential harness before condo can run programs, and to check that the
# harness catches differences:
#   SHIM_CPU=rv64,zbb=false   run with another CPU (condo "lacks" Zbb: it stops)
#   SHIM_FLIP=OFFSET          flip the low bit of byte OFFSET of the output
#   CONDO=tests/diff/shim-qemu.sh tests/diff/run.sh
[ "${1:-}" = app ] && shift
[ "${1:-}" = --max-insns ] && shift 2
cpu=${SHIM_CPU:-rv64,zba=true,zbb=true,zbs=true}
if [ -z "${SHIM_FLIP:-}" ]; then
	exec qemu-riscv64 -cpu "$cpu" "$@"
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
qemu-riscv64 -cpu "$cpu" "$@" >"$tmp"
status=$?
size=$(stat -c %s "$tmp")
if [ "$SHIM_FLIP" -lt "$size" ]; then
	byte=$(od -A n -t u1 -j "$SHIM_FLIP" -N 1 "$tmp" | tr -d ' ')
	printf '%b' "\\$(printf '%03o' $((byte ^ 1)))" |
		dd of="$tmp" bs=1 seek="$SHIM_FLIP" conv=notrunc status=none
fi
cat "$tmp"
exit $status
