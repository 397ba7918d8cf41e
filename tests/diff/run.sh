#!/bin/bash
# Differential testing of condo against qemu-riscv64 (the oracle).
#
# gen.c writes riscv64 programs of random RV64GC+Zba/Zbb/Zbs cases; each
# program runs under qemu-riscv64 and under "$CONDO app"; cmp.c compares the
# final x/f registers, fcsr and scratch memory of every case.  See
# docs/testing-diff.md.
#
# Environment:
#   CONDO          condo binary (default build/condo); BUILD build dir (default build)
#   DIFF_CASES     number of cases (default 100000)
#   DIFF_SEED      run seed (default 1; with FUZZ=1 and no DIFF_SEED: time-based)
#   DIFF_CASE      run only this case index, show its initial state, code and diff
#   DIFF_PER_PROG  cases per program (default 2000; part of a case's identity)
#   DIFF_EXCLUDE   instruction groups never generated, e.g. "zba,zbb,zbs" (gen --help)
#   DIFF_JOBS      programs run in parallel (default 2)
#   DIFF_TIMEOUT   seconds one emulator run may take before it counts as hung (300)
#   DIFF_MAX_INSNS condo's --max-insns for one program (default 20000000, ~50x need)
#   QEMU_RISCV64   the oracle (default qemu-riscv64)
set -u

here=$(cd "$(dirname "$0")" && pwd)
CONDO=${CONDO:-build/condo}
BUILD=${BUILD:-build}
cases=${DIFF_CASES:-100000}
per=${DIFF_PER_PROG:-2000}
exclude=${DIFF_EXCLUDE:-}
jobs=${DIFF_JOBS:-2}
limit=${DIFF_TIMEOUT:-300}
max_insns=${DIFF_MAX_INSNS:-20000000}
qemu=${QEMU_RISCV64:-qemu-riscv64}
qemu_cpu=rv64,zba=true,zbb=true,zbs=true
objdump=riscv64-linux-gnu-objdump
max_restarts=20 # condo crashes tolerated per program before its rest counts as failed

if [ -n "${DIFF_SEED:-}" ]; then
	seed=$DIFF_SEED
elif [ "${FUZZ:-0}" = 1 ]; then
	seed=$(date +%s)
else
	seed=1
fi

case "$CONDO" in */*) CONDO=$(cd "$(dirname "$CONDO")" && pwd)/$(basename "$CONDO") ;; esac
out=$BUILD/diff
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
	echo "diff: $*" >&2
	echo "diff: 0 passed, 1 failed"
	exit 1
}

command -v "$qemu" >/dev/null || die "$qemu not found (Debian package qemu-user)"
[ -x "$CONDO" ] || command -v "$CONDO" >/dev/null || die "CONDO=$CONDO is not executable"

# Host tools, rebuilt when their sources change.
for tool in gen cmp; do
	if [ ! -x "$out/$tool" ] || [ "$here/$tool.c" -nt "$out/$tool" ] ||
		[ "$here/diff.h" -nt "$out/$tool" ]; then
		${HOSTCC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -o "$out/$tool" "$here/$tool.c" ||
			die "cannot build $tool"
	fi
done

rec=$("$out/gen" --record-size) || die "gen does not run"

# The oracle must first agree with the spec on hand-checked corner cases.
cross=${CROSS_CC:-riscv64-linux-gnu-gcc}
if command -v "$cross" >/dev/null; then
	if [ ! -x "$out/oracle" ] || [ "$here/oracle.S" -nt "$out/oracle" ]; then
		"$cross" -march=rv64gc_zba_zbb_zbs -mabi=lp64d -nostdlib -static \
			-o "$out/oracle" "$here/oracle.S" || die "cannot build oracle.S"
	fi
	"$qemu" -cpu "$qemu_cpu" "$out/oracle"
	st=$?
	if [ "$st" -gt 200 ]; then
		echo "diff: note: $qemu no longer has known bug $((st - 200)) of oracle.S;" \
			"its workaround in gen.c can go"
	elif [ "$st" != 0 ]; then
		die "$qemu fails hand check $st of $here/oracle.S, so it cannot be the oracle"
	fi
else
	echo "diff: note: $cross not found (gcc-riscv64-linux-gnu), oracle hand checks skipped"
fi

gen() { # the generator with this run's seed and exclusions
	"$out/gen" -s "$seed" ${exclude:+--exclude "$exclude"} "$@"
}

repro() { # the command that reruns one case alone
	echo "DIFF_SEED=$seed DIFF_CASES=$cases DIFF_PER_PROG=$per${exclude:+ DIFF_EXCLUDE=$exclude}" \
		"DIFF_CASE=$1 CONDO=$CONDO" \
		"BUILD=$BUILD $here/run.sh"
}

# prog_bounds K: first case and case count of program K
prog_bounds() {
	first=$(($1 * per))
	count=$((cases - first))
	[ "$count" -gt "$per" ] && count=$per
}

describe_status() {
	if [ "$1" = 124 ]; then
		echo "timed out after ${limit}s"
	elif [ "$1" = 999 ]; then
		echo "its output does not fit the program"
	elif [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then
		echo "killed by SIG$(kill -l $(($1 - 128)))"
	else
		echo "exit status $1"
	fi
}

# run_condo DIR ELF BASE SKIP: run condo on ELF, whose output starts at record
# SKIP of DIR/ref.bin (record 0 is case BASE); compare.  Sets ran (records
# condo wrote), bad (how many of them differ) and status (condo's exit status).
run_condo() {
	local dir=$1 elf=$2 base=$3 skip=$4
	# (the braces keep bash's "Illegal instruction" job notices off stderr)
	{ timeout -k 10 "$limit" "$CONDO" app --max-insns "$max_insns" "$elf" >"$dir/out.bin" \
		2>"$dir/out.err"; } 2>/dev/null
	status=$?
	local res
	res=$("$out/cmp" --base "$base" --skip "$skip" --names qemu,condo "$dir/ref.bin" \
		"$dir/out.bin" 2>&1)
	local last=${res##*$'\n'}
	if [[ $last =~ ^compared\ ([0-9]+)\ mismatched\ ([0-9]+)$ ]]; then
		ran=${BASH_REMATCH[1]}
		bad=${BASH_REMATCH[2]}
		printf '%s\n' "$res" | sed '$d' >>"$dir/log"
	else
		printf '%s\n' "$res" >>"$dir/log"
		ran=0
		bad=0
		status=999
	fi
}

# run_prog K: generate program K, run both emulators, write DIR/result
run_prog() {
	local k=$1 dir=$out/work/p$1
	prog_bounds "$k"
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/log"
	local passed=0 failed=0 pos=0 restarts=0
	if ! gen -f "$first" -n "$count" "$dir/prog.elf" 2>>"$dir/log"; then
		echo "ERROR program $k: gen failed" >>"$dir/log"
		echo "0 $count" >"$dir/result"
		return
	fi
	{ timeout -k 10 "$limit" "$qemu" -cpu "$qemu_cpu" "$dir/prog.elf" >"$dir/ref.bin" \
		2>"$dir/ref.err"; } 2>/dev/null
	local qstatus=$? qsize
	qsize=$(stat -c %s "$dir/ref.bin")
	if [ "$qstatus" != 0 ] || [ $((qsize / rec)) != "$count" ]; then
		{
			echo "ERROR program $k (cases $first..$((first + count - 1))): qemu exited" \
				"with status $qstatus after $((qsize / rec)) of $count cases:" \
				"a generator bug (a case must never trap)"
			tail -n 5 "$dir/ref.err"
		} >>"$dir/log"
		echo "0 $count" >"$dir/result"
		return
	fi

	local elf=$dir/prog.elf
	while [ "$pos" -lt "$count" ]; do
		run_condo "$dir" "$elf" "$first" "$pos"
		passed=$((passed + ran - bad))
		failed=$((failed + bad))
		pos=$((pos + ran))
		if [ "$pos" -lt "$count" ]; then
			# condo stopped inside case pos: that case fails, go on after it
			{
				echo "FAIL case $((first + pos)): condo stopped in this case" \
					"($(describe_status "$status"))"
				tail -n 5 "$dir/out.err" | sed 's/^/  condo: /'
			} >>"$dir/log"
			failed=$((failed + 1))
			pos=$((pos + 1))
			restarts=$((restarts + 1))
			if [ "$restarts" -ge "$max_restarts" ] && [ "$pos" -lt "$count" ]; then
				echo "FAIL cases $((first + pos))..$((first + count - 1)):" \
					"not run, condo stopped $restarts times in this program" >>"$dir/log"
				failed=$((failed + count - pos))
				break
			fi
			if [ "$pos" -lt "$count" ]; then
				elf=$dir/from.elf
				if ! gen -f "$first" -n "$count" \
					--from "$((first + pos))" "$elf" 2>>"$dir/log"; then
					failed=$((failed + count - pos))
					break
				fi
			fi
		elif [ "$status" != 0 ]; then
			echo "FAIL case $((first + count - 1)): all states match but condo ended" \
				"with $(describe_status "$status")" >>"$dir/log"
			failed=$((failed + 1))
			passed=$((passed - 1))
		fi
	done
	echo "$passed $failed" >"$dir/result"
	rm -f "$dir"/*.elf "$dir"/*.bin # a failing case is rebuilt alone by DIFF_CASE
}

show_case() { # [--show] N ELF: build the program running case N alone, print its code
	local show=()
	[ "$1" = --show ] && show=(--show "$2") && shift
	local n=$1 elf=$2
	gen -f "$first" -n "$count" --only "$n" "${show[@]}" "$elf" || return
	if command -v "$objdump" >/dev/null; then
		echo "code of case $n ($objdump -d -M no-aliases --disassemble=case_$n $elf):"
		"$objdump" -d -M no-aliases --disassemble="case_$n" "$elf" | sed -n '/^[0-9a-f]* <case_/,$p'
	fi
}

# gen's encoder against GNU as: gen writes its instructions as assembly text
# too, and assembling that text must give back exactly gen's bytes.
selfcheck() {
	local dir=$out/work/selfcheck
	rm -rf "$dir"
	mkdir -p "$dir"
	gen -f 0 -n 300 --asm "$dir/gen.s" "$dir/p.elf" || return 1
	"$cross_as" -march=rv64gc_zba_zbb_zbs -o "$dir/gen.o" "$dir/gen.s" 2>"$dir/as.err" || {
		head -n 5 "$dir/as.err"
		return 1
	}
	"$cross_objcopy" -O binary -j .text "$dir/gen.o" "$dir/as.bin" &&
		"$cross_objcopy" -O binary -j .text "$dir/p.elf" "$dir/gen.bin" || return 1
	local at
	at=$(cmp "$dir/as.bin" "$dir/gen.bin" | sed -n 's/.* byte \([0-9]*\).*/\1/p')
	if [ -n "$at" ]; then
		echo "gen and as disagree at byte $at of the code, in:"
		# the instruction holding that byte starts at most 3 bytes before it
		local t=$((0x11000 + at - 1)) pat=
		for d in 0 1 2 3; do pat="$pat|# 0x$(printf %x $((t - d)))\$"; done
		grep -E "${pat#|}" "$dir/gen.s" | tail -n 1
		return 1
	fi
	cmp -s "$dir/as.bin" "$dir/gen.bin" # catches a length difference too
}

cross_as=riscv64-linux-gnu-as
cross_objcopy=riscv64-linux-gnu-objcopy
if command -v "$cross_as" >/dev/null && command -v "$cross_objcopy" >/dev/null; then
	selfcheck || die "gen's encodings disagree with $cross_as (a generator bug)"
else
	echo "diff: note: $cross_as not found (binutils-riscv64-linux-gnu), encoder check skipped"
fi

# One case alone, same addresses as in the full run.
if [ -n "${DIFF_CASE:-}" ]; then
	n=$DIFF_CASE
	[ "$n" -lt "$cases" ] || die "DIFF_CASE=$n is not below DIFF_CASES=$cases"
	prog_bounds $((n / per))
	dir=$out/work/case-$n
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/log"
	elf=$dir/case-$n.elf
	show_case --show "$n" "$elf"
	"$qemu" -cpu "$qemu_cpu" "$elf" >"$dir/ref.bin" 2>"$dir/ref.err" ||
		die "qemu failed on case $n: $(tail -n 3 "$dir/ref.err")"
	run_condo "$dir" "$elf" "$n" 0
	cat "$dir/log"
	echo "program: $elf (its output: one $rec-byte record, see tests/diff/diff.h)"
	if [ "$ran" = 1 ] && [ "$bad" = 0 ] && [ "$status" = 0 ]; then
		echo "diff: 1 passed, 0 failed"
		exit 0
	fi
	if [ "$ran" = 0 ]; then
		echo "FAIL case $n: condo stopped in this case ($(describe_status "$status")):"
		tail -n 5 "$dir/out.err"
	elif [ "$bad" = 0 ]; then
		echo "FAIL case $n: the state matches but condo ended with $(describe_status "$status")"
	fi
	echo "diff: 0 passed, 1 failed"
	exit 1
fi

# The whole run: programs of $per cases, $jobs at a time.
nprogs=$(((cases + per - 1) / per))
rm -rf "$out/work"
mkdir -p "$out/work"
echo "diff: $cases cases (seed $seed, $nprogs programs of up to $per cases)," \
	"condo vs $qemu -cpu $qemu_cpu"
running=0
for ((k = 0; k < nprogs; k++)); do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_prog "$k" &
	running=$((running + 1))
done
wait

passed=0
failed=0
shown=0
first_fail=
for ((k = 0; k < nprogs; k++)); do
	dir=$out/work/p$k
	if [ -f "$dir/result" ]; then
		read -r p f <"$dir/result"
	else
		prog_bounds "$k"
		p=0
		f=$count
		mkdir -p "$dir"
		echo "ERROR program $k left no result" >>"$dir/log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ -s "$dir/log" ] && [ "$shown" -lt 60 ]; then
		head -n $((60 - shown)) "$dir/log"
		shown=$((shown + $(wc -l <"$dir/log")))
	fi
	if [ -z "$first_fail" ]; then
		first_fail=$(sed -n 's/^FAIL cases\{0,1\} \([0-9]*\).*/\1/p' "$dir/log" | head -n 1)
	fi
done
[ "$shown" -ge 60 ] && echo "... (more in $out/work/p*/log)"

if [ -n "$first_fail" ]; then
	echo
	echo "first failing case $first_fail; rerun it alone with:"
	echo "  $(repro "$first_fail")"
	prog_bounds $((first_fail / per))
	show_case "$first_fail" "$out/work/case-$first_fail.elf"
fi
echo "diff: $passed passed, $failed failed"
[ "$failed" = 0 ]
