#!/bin/sh
# tests/isa/run.sh — build condo's self-checking RISC-V ISA test programs and
# run each one under `$CONDO app PROGRAM`. A program passes when it exits 0;
# on failure its own report (which check, got/expected) is shown.
#
#   CONDO=build/condo BUILD=build tests/isa/run.sh [NAME...]
#   CONDO=tests/isa/qemu-shim.sh tests/isa/run.sh       # against qemu-riscv64
#
# Programs are built into $BUILD/isa/ only when their source, test.h or this
# script changed. NAMEs (e.g. rv64i fround) limit the run to those programs.
# Env: CONDO, BUILD, RISCV_CC (cross compiler), ISA_TIMEOUT (seconds per
# program, a guard against hangs, not a performance limit).
set -u

BUILD=${BUILD:-build}
CONDO=${CONDO:-$BUILD/condo}
RISCV_CC=${RISCV_CC:-riscv64-linux-gnu-gcc}
ISA_TIMEOUT=${ISA_TIMEOUT:-300}

MARCH=rv64gc_zba_zbb_zbs
ASFLAGS="-march=$MARCH -mabi=lp64d -static -nostdlib -Wl,--no-relax -Wl,--no-warn-rwx-segments"
CFLAGS="-march=$MARCH -mabi=lp64d -static -O2 -Wall -Wextra -Werror -pthread"

src_dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$BUILD/isa" || exit 1
out_dir=$(cd "$BUILD/isa" && pwd)

passed=0
failed=0

fail() {
	echo "FAIL $1${2:+ ($2)}"
	failed=$((failed + 1))
}

# show a file indented, at most 40 lines
show() {
	sed -n '1,40s/^/    /p' "$1"
}

if ! command -v "$RISCV_CC" >/dev/null 2>&1; then
	echo "isa: $RISCV_CC not found (Debian package gcc-riscv64-linux-gnu)" >&2
	echo "isa: 0 passed, 1 failed"
	exit 1
fi

# newer FILE THAN: FILE was modified after THAN (POSIX sh has no test -nt)
newer() {
	[ -n "$(find "$1" -newer "$2" 2>/dev/null)" ]
}

# build NAME SRC: (re)build $out_dir/NAME when out of date; 0 on success
build() {
	name=$1
	src=$2
	bin=$out_dir/$name
	if [ -x "$bin" ] && ! newer "$src_dir/$src" "$bin" &&
		! newer "$src_dir/test.h" "$bin" && ! newer "$src_dir/run.sh" "$bin"; then
		return 0
	fi
	case $src in
	*.S) flags=$ASFLAGS ;;
	*) flags=$CFLAGS ;;
	esac
	# compile from the source directory so reports name the bare file
	# shellcheck disable=SC2086
	if ! (cd "$src_dir" && $RISCV_CC $flags -I. -o "$bin.tmp" "$src") >"$out_dir/$name.build.log" 2>&1; then
		rm -f "$bin.tmp"
		return 1
	fi
	mv "$bin.tmp" "$bin"
}

programs=
for src in "$src_dir"/*.S "$src_dir"/*.c; do
	[ -e "$src" ] || continue
	src=${src##*/}
	name=${src%.*}
	if [ $# -gt 0 ]; then
		wanted=no
		for arg in "$@"; do
			[ "$arg" = "$name" ] && wanted=yes
		done
		[ $wanted = yes ] || continue
	fi
	programs="$programs $name:$src"
done

for entry in $programs; do
	name=${entry%%:*}
	src=${entry#*:}
	if ! build "$name" "$src"; then
		fail "$name" "build"
		show "$out_dir/$name.build.log"
		continue
	fi
	timeout -k 10 "$ISA_TIMEOUT" "$CONDO" app "$out_dir/$name" \
		>"$out_dir/$name.out" 2>"$out_dir/$name.err"
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok $name"
		passed=$((passed + 1))
	else
		case $rc in
		124 | 137) why="timed out after ${ISA_TIMEOUT}s" ;;
		*) why="exit $rc" ;;
		esac
		fail "$name" "$why"
		show "$out_dir/$name.err"
		show "$out_dir/$name.out"
	fi
done

echo "isa: $passed passed, $failed failed"
[ $failed -eq 0 ]
