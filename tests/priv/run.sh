#!/bin/sh
# tests/priv/run.sh — build condo's bare-metal privileged-architecture test
# programs and run each one as `$CONDO run --bios none --kernel PROG.elf`.
# A program passes when the machine exits 0 (the program writes the test
# finisher) and it printed no FAIL line; otherwise its output is shown.
#
#   CONDO=build/condo BUILD=build tests/priv/run.sh [NAME...]
#   CONDO=tests/priv/qemu-shim.sh tests/priv/run.sh     # against qemu-system-riscv64
#
# Programs are built into $BUILD/priv/ only when a source, the runtime or
# this script changed. NAMEs (e.g. vm pmp) limit the run to those programs.
# Env: CONDO, BUILD, RISCV_ELF_CC (bare-metal cross compiler),
# PRIV_MAX_INSNS (watchdog: instructions per hart, so a hang fails),
# PRIV_TIMEOUT (seconds per program, a second guard, not a time limit).
set -u

BUILD=${BUILD:-build}
CONDO=${CONDO:-$BUILD/condo}
RISCV_ELF_CC=${RISCV_ELF_CC:-riscv64-unknown-elf-gcc}
PRIV_MAX_INSNS=${PRIV_MAX_INSNS:-500000000}
PRIV_TIMEOUT=${PRIV_TIMEOUT:-120}

MARCH=rv64gc_zicsr_zifencei_zba_zbb_zbs
# -mno-relax and no jump tables: U code runs through an alias mapping, so
# nothing may use gp or absolute code addresses
CFLAGS="-march=$MARCH -mabi=lp64d -mcmodel=medany -mno-relax -O2 -g
	-ffreestanding -fno-builtin -fno-jump-tables -fno-pic -fno-stack-protector
	-Wall -Wextra -Werror -nostdlib -nostartfiles -static
	-Wl,--no-relax -Wl,--no-warn-rwx-segments"
RUNTIME="crt0.S runtime.c"
DEPS="crt0.S runtime.c priv.h pt.h link.ld run.sh"

src_dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$BUILD/priv" || exit 1
out_dir=$(cd "$BUILD/priv" && pwd)

passed=0
failed=0

fail() {
	echo "FAIL $1${2:+ ($2)}"
	failed=$((failed + 1))
}

# show a program's report: its FAIL, skip and summary lines (at most 60),
# then the end of what the emulator said on stderr
show_run() {
	tr -d '\r' <"$1.out" | grep -v '^ok ' | sed -n '1,60s/^/    /p'
	tail -n 20 "$1.err" | sed 's/^/    /'
}

show() {
	sed -n '1,60s/^/    /p' "$1"
}

# extra `condo run` options of a program
options() {
	case $1 in
	smp) echo "--cpus 4" ;;
	smc) echo "--cpus 2" ;;
	*) echo "" ;;
	esac
}

if ! command -v "$RISCV_ELF_CC" >/dev/null 2>&1; then
	echo "priv: $RISCV_ELF_CC not found (Debian package gcc-riscv64-unknown-elf)" >&2
	echo "priv: 0 passed, 1 failed"
	exit 1
fi

# newer FILE THAN: FILE was modified after THAN (POSIX sh has no test -nt)
newer() {
	[ -n "$(find "$1" -newer "$2" 2>/dev/null)" ]
}

# build NAME: (re)build $out_dir/NAME.elf when out of date; 0 on success
build() {
	name=$1
	elf=$out_dir/$name.elf
	if [ -f "$elf" ]; then
		stale=no
		for f in $name.c $DEPS; do
			newer "$src_dir/$f" "$elf" && stale=yes
		done
		[ $stale = no ] && return 0
	fi
	# shellcheck disable=SC2086
	if ! (cd "$src_dir" && $RISCV_ELF_CC $CFLAGS -I. -T link.ld -o "$elf.tmp" \
		$RUNTIME "$name.c" -lgcc) >"$out_dir/$name.build.log" 2>&1; then
		rm -f "$elf.tmp"
		return 1
	fi
	mv "$elf.tmp" "$elf"
}

programs=
for src in "$src_dir"/*.c; do
	name=${src##*/}
	name=${name%.c}
	[ "$name" = runtime ] && continue
	if [ $# -gt 0 ]; then
		wanted=no
		for arg in "$@"; do
			[ "$arg" = "$name" ] && wanted=yes
		done
		[ $wanted = yes ] || continue
	fi
	programs="$programs $name"
done

run_one() {
	# shellcheck disable=SC2046
	timeout -k 10 "$PRIV_TIMEOUT" "$CONDO" run --bios none --kernel "$out_dir/$1.elf" \
		--max-insns "$PRIV_MAX_INSNS" $(options "$1") \
		</dev/null >"$out_dir/$1.out" 2>"$out_dir/$1.err"
}

for name in $programs; do
	if ! build "$name"; then
		fail "$name" "build"
		show "$out_dir/$name.build.log"
		continue
	fi
	run_one "$name"
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q '^FAIL' "$out_dir/$name.out"; then
		echo "ok $name"
		passed=$((passed + 1))
	else
		case $rc in
		0) why="FAIL lines but exit 0" ;;
		124) why="timed out after ${PRIV_TIMEOUT}s" ;;
		137) why="watchdog: over $PRIV_MAX_INSNS instructions, or killed" ;;
		*) why="exit $rc" ;;
		esac
		fail "$name" "$why"
		show_run "$out_dir/$name"
	fi
done

echo "priv: $passed passed, $failed failed"
[ $failed -eq 0 ]
