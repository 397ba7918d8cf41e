#!/usr/bin/env bash
# Bad input for `condo app`: malformed ELF files (made by gen.py, one defect
# each), missing or unusable programs and interpreters, and bad command
# lines.  Each case asserts the exit status and that stderr is exactly one
# line "condo: ..." containing the expected words -- never a crash.
#
#   CONDO=build/condo tests/bad/run.sh [NAME-PATTERN]
#
# Prints `ok NAME` or `FAIL NAME: why` per case and last
# `bad: N passed, N failed`.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pattern=${1:-}
pass=0 fail=0

[ -n "${CONDO:-}" ] || { echo "bad: CONDO is not set"; echo "bad: 0 passed, 1 failed"; exit 1; }
case "$CONDO" in
*/*) condo=$(cd "$(dirname "$CONDO")" && pwd)/$(basename "$CONDO") ;;
*) condo=$(command -v "$CONDO") ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/condo-bad.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$here/gen.py" "$work/f" || { echo "bad: gen.py failed"; echo "bad: 0 passed, 1 failed"; exit 1; }
mkdir -p "$work/emptyroot" "$work/adir"
cd "$work/f" || exit 1

# check NAME STATUS 'WORDS' ARGS...: run condo ARGS, expect STATUS and, when
# WORDS is not empty, one stderr line "condo: ..." containing WORDS.
check() {
	local name=$1 want=$2 words=$3
	shift 3
	[ -n "$pattern" ] && [[ $name != *$pattern* ]] && return
	local got lines first
	timeout -k 5 20 "$condo" "$@" >"$work/out" 2>"$work/err" </dev/null
	got=$?
	lines=$(wc -l <"$work/err")
	first=$(head -n 1 "$work/err")
	local why=""
	if [ "$got" != "$want" ]; then
		why="exit status $got, expected $want"
	elif [ -n "$words" ] && [ "$lines" != 1 ]; then
		why="$lines lines on stderr, expected 1"
	elif [ -n "$words" ] && [[ $first != "condo: "* ]]; then
		why="stderr does not start with 'condo: '"
	elif [ -n "$words" ] && [[ $first != *"$words"* ]]; then
		why="stderr does not say '$words'"
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "ok $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: $why"
		sed 's/^/    stderr: /' "$work/err" | head -n 5
	fi
}

# --- the control: the generator makes a valid program --------------------------
check good 7 '' app ./good

# --- the program file ------------------------------------------------------------
check not-found 127 './nope: No such file or directory' app ./nope
check not-found-dir 127 'No such file or directory' app ./nodir/prog
check directory 126 "$work/adir: Is a directory" app "$work/adir"
check not-executable 126 'Permission denied' app ./not-executable
check empty 126 'not an ELF executable' app ./empty
check shell-script 126 'not an ELF executable' app ./text
check short-magic 126 'not an ELF executable' app ./short-magic
check truncated-header 126 'truncated ELF header' app ./truncated-header
check class32 126 'not a 64-bit ELF file' app ./class32
check big-endian 126 'not a little-endian ELF file' app ./big-endian
check bad-version 126 'unsupported ELF version' app ./bad-version
check x86-64 126 'ELF file for x86-64 (machine 62), not RISC-V' app ./x86-64
check aarch64 126 'ELF file for AArch64' app ./aarch64
check host-binary 126 'not RISC-V' app /bin/true
check relocatable 126 'not an executable (ELF type 1)' app ./relocatable
check core-file 126 'not an executable (ELF type 4)' app ./core-file
check phentsize 126 'bad program header entry size 32' app ./phentsize
check no-phdrs 126 'no program headers' app ./no-phdrs
check many-phdrs 126 'too many program headers' app ./many-phdrs
check phoff-past-eof 126 'program headers are past the end of the file' app ./phoff-past-eof
check phoff-wraps 126 'program headers are past the end of the file' app ./phoff-wraps
check no-load 126 'no loadable segments' app ./no-load
check filesz-gt-memsz 126 'file size larger than memory size' app ./filesz-gt-memsz
check segment-past-eof 126 'data past the end of the file' app ./segment-past-eof
check segment-offset-wraps 126 'data past the end of the file' app ./segment-offset-wraps
check truncated-segment 126 'data past the end of the file' app ./truncated-segment
check huge-segment 126 'absurdly large' app ./huge-segment
check segment-above-space 126 'outside the guest address space' app ./segment-above-space
check segment-at-zero 126 'outside the guest address space' app ./segment-at-zero
check segment-wraps 126 'outside the guest address space' app ./segment-wraps
check overlap 126 'segments overlap' app ./overlap
check misaligned 126 'misaligned' app ./misaligned
check entry-outside 126 'entry point 0x900000 is outside' app ./entry-outside

# --- the interpreter ---------------------------------------------------------------
check interp-unterminated 126 'bad interpreter path' app ./interp-unterminated
check interp-past-eof 126 'interpreter path is past the end of the file' app ./interp-past-eof
check interp-missing 127 'interpreter /lib/ld-condo-missing.so.1 not found in the root' \
	app --root "$work/emptyroot" ./interp-missing
check interp-not-elf 126 'interpreter /lib/ld-text.so: not an ELF executable' \
	app --root root ./interp-not-elf
check interp-x86 126 'interpreter /lib/ld-x86.so: ELF file for x86-64' app --root root ./interp-x86
check interp-has-interp 126 'interpreter /lib/ld-dyn.so: it has an interpreter itself' \
	app --root root ./interp-has-interp

# --- the command line ----------------------------------------------------------------
check no-arguments 2 '' 
check unknown-command 2 "unknown command 'frobnicate'" frobnicate
check unknown-global-option 2 "unknown option '--bogus'" --bogus
check help 0 '' --help
check version 0 '' --version
check app-help 0 '' app --help
check app-no-program 2 'missing PROGRAM' app
check app-unknown-option 2 "unknown option '--frob'" app --frob ./good
check app-mem-missing 2 'option --mem needs a value' app --mem
check app-mem-bad 2 "--mem: invalid size '12Q'" app --mem 12Q ./good
check app-mem-zero 2 "--mem: invalid size '0'" app --mem 0 ./good
check app-mem-negative 2 "--mem: invalid size '-5M'" app --mem -5M ./good
check app-mem-overflow 2 "--mem: invalid size '99999999999999G'" app --mem 99999999999999G ./good
check app-mem-tiny 2 "--mem: size '4K' is too small" app --mem 4K ./good
check app-insns-bad 2 "--max-insns: invalid count 'abc'" app --max-insns abc ./good
check app-insns-zero 2 "--max-insns: invalid count '0'" app --max-insns=0 ./good
check app-engine-bad 2 "--engine: unknown engine 'fast'" app --engine fast ./good
check app-engine-missing 2 'option --engine needs a value' app --engine
check app-jit-cache-tiny 2 "--jit-cache: invalid size '4K'" app --jit-cache 4K ./good
check app-jit-cache-huge 2 "--jit-cache: invalid size '2G'" app --jit-cache 2G ./good
check app-jit-cache-bad 2 "--jit-cache: invalid size 'lots'" app --jit-cache lots ./good
check app-jit-threshold-zero 2 "--jit-threshold: invalid count '0'" app --jit-threshold 0 ./good
check app-jit-threshold-huge 2 "--jit-threshold: invalid count '2000000'" app --jit-threshold 2000000 ./good
check app-jit-threshold-word 2 "--jit-threshold: invalid count 'soon'" app --jit-threshold soon ./good
check app-root-missing 2 'option --root needs a value' app --root
# The internal execve state: only a sealed state memfd from condo is taken.
check app-state-bad-number 2 "--x-state: invalid descriptor 'x'" app --x-exec /good --x-state x -- good
check app-state-stdio 2 "--x-state: invalid descriptor '1'" app --x-exec /good --x-state 1 -- good
check app-state-alone 2 '--x-exec and --x-state go together' app --x-state 5 ./good
check app-state-closed 2 '--x-state: not a state descriptor from condo' app --x-exec /good --x-state 9 -- good
check app-state-not-state 2 '--x-state: not a state descriptor from condo' app --x-exec /good --x-state 7 -- good 7<./good
printf 'CONDOEX1\377\377\377\377' >"$work/state-huge"
check app-state-corrupt 2 '--x-state: corrupt state' app --x-exec /good --x-state 7 -- good 7<"$work/state-huge"
check app-root-nonexistent 2 '--root /nonexistent/condo: No such file or directory' \
	app --root /nonexistent/condo ./good
check app-root-file 2 'Not a directory' app --root ./good ./good
check app-options-ok 7 '' app --mem=64M --max-insns 100000 --root=. ./good
check app-engines-ok 7 '' app --engine interp --jit-cache 256K --jit-stats ./good
check app-jit-threshold-ok 7 '' app --jit-threshold 1 ./good
# --jit-stats reports on stderr, the exit status stays the program's
if [ -z "$pattern" ] || [[ app-jit-stats == *$pattern* ]]; then
	"$condo" app --jit-cache=1M --jit-stats ./good >/dev/null 2>"$work/err" </dev/null
	got=$?
	if [ "$got" = 7 ] && grep -q '^condo: jit: .* blocks compiled' "$work/err" &&
		grep -q 'bound 1024 KiB' "$work/err"; then
		pass=$((pass + 1)); echo "ok app-jit-stats"
	else
		fail=$((fail + 1)); echo "FAIL app-jit-stats: exit status $got"; cat "$work/err"
	fi
fi
check app-args-after-program 7 '' app ./good --mem bogus --frob

echo "bad: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
