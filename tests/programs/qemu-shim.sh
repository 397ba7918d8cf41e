#!/usr/bin/env bash
# A stand-in for `condo app`, built on qemu-riscv64, to check tests/programs
# and bench/bench-app.sh themselves:
#
#   CONDO=tests/programs/qemu-shim.sh tests/programs/run.sh
#
# Accepts `app [--root DIR] [--mem SIZE] [--max-insns N] [--trace-syscalls]
# PROGRAM [ARGS...]` (--mem and --max-insns are ignored).
#
# qemu-riscv64 -L maps the guest's file opens into DIR, but a guest execve goes
# to the host kernel unmapped: /bin/sed would run the host's GNU sed, or fail
# for lack of a binfmt handler.  So with --root the guest runs in its own user
# and mount namespace, where binfmt_misc sends RISC-V ELF files to qemu and
# DIR/bin is mounted over /bin: the shell's applets then really are the guest
# busybox.  The namespace changes nothing outside this process tree.
set -euo pipefail

die() { echo "qemu-shim: $*" >&2; exit 125; }

[ "${1:-}" = app ] || die "only 'app' is supported (usage: $0 app [--root DIR] PROGRAM [ARGS...])"
shift
root=
trace=0
while [ $# -gt 0 ]; do
	case "$1" in
	--root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
	--root=*) root=${1#--root=}; shift ;;
	--mem | --max-insns) [ $# -ge 2 ] || die "$1 needs a value"; shift 2 ;;
	--mem=* | --max-insns=*) shift ;;
	--trace-syscalls) trace=1; shift ;;
	--) shift; break ;;
	-*) die "unknown option '$1'" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || die "no program given"

qemu=$(command -v qemu-riscv64) || die "qemu-riscv64 is not installed (package qemu-user)"
[ $trace -eq 1 ] && export QEMU_STRACE=1

if [ -z "$root" ]; then
	exec "$qemu" "$@"
fi

root=$(readlink -f "$root")
[ -d "$root/bin" ] || die "$root/bin is not a directory"
export QEMU_LD_PREFIX=$root

# Inside the namespace: register qemu for RISC-V ELF (F: the interpreter is
# opened now, so it still works once /usr/bin is covered), cover /bin with the
# guest's, and start the program through the kernel like any other.
inner='
set -e
qemu=$1 root=$2; shift 2
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
magic="\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00"
mask="\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
printf "%s" ":qemu-shim-riscv64:M::$magic:$mask:$qemu:F" >/proc/sys/fs/binfmt_misc/register
bindir=$(readlink -f /bin)
mount --bind "$root/bin" "$bindir"
exec "$@"
'
exec unshare --user --map-root-user --mount -- /bin/sh -c "$inner" qemu-shim "$qemu" "$root" "$@"
