#!/usr/bin/env bash
# App-mode suite: small riscv64 C programs (this directory) built with
# riscv64-linux-gnu-gcc and run under `$CONDO app` in a scratch root.  Each
# check asserts the exit status and words on stdout/stderr; the programs
# that do not depend on the root are also run under qemu-riscv64 and their
# outputs compared.
#
#   CONDO=build/condo BUILD=build tests/app/run.sh [NAME-PATTERN]
#
# Prints `ok NAME` or `FAIL NAME: why` per check and last
# `app: N passed, N failed`.  APP_TIMEOUT (default 60 s) bounds each run.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
pattern=${1:-}
timeout_s=${APP_TIMEOUT:-60}
cc=${RISCV_CC:-riscv64-linux-gnu-gcc}
pass=0 fail=0

fatal() { echo "app: $*" >&2; echo "app: 0 passed, 1 failed"; exit 1; }

[ -n "${CONDO:-}" ] || fatal "CONDO is not set (path to the condo binary)"
case "$CONDO" in
*/*) condo=$(cd "$(dirname "$CONDO")" && pwd)/$(basename "$CONDO") ;;
*) condo=$(command -v "$CONDO") ;;
esac
[ -x "$condo" ] || fatal "$CONDO is not executable"
command -v "$cc" >/dev/null || fatal "$cc not found (apt-get install gcc-riscv64-linux-gnu)"
build=${BUILD:-$top/build}
mkdir -p "$build/app-tests" || fatal "cannot create $build/app-tests"
out=$(cd "$build/app-tests" && pwd)

# --- the programs (rebuilt when their source is newer) ---------------------------
progs="basic files escape attack threads signals procs child memory faults smc direct mtrace"
mkdir -p "$out/bin"
for p in $progs; do
	if [ ! -x "$out/bin/$p" ] || [ "$here/$p.c" -nt "$out/bin/$p" ] || [ "$here/t.h" -nt "$out/bin/$p" ]; then
		"$cc" -static -O1 -pthread -w -o "$out/bin/$p" "$here/$p.c" || fatal "cannot build $p"
	fi
done
cat >"$out/hello.c" <<'EOF'
#include <stdio.h>
#include <math.h>
int main(int argc, char **argv) { printf("hello %s %.3f\n", argc > 1 ? argv[1] : "", sqrt(2.0)); return 12; }
EOF
"$cc" -O1 -o "$out/bin/hello-dyn" "$out/hello.c" -lm || fatal "cannot build hello-dyn"
for p in threads signals; do
	if [ ! -x "$out/bin/$p-dyn" ] || [ "$here/$p.c" -nt "$out/bin/$p-dyn" ]; then
		"$cc" -O1 -pthread -w -o "$out/bin/$p-dyn" "$here/$p.c" || fatal "cannot build $p-dyn"
	fi
done

# --- a fresh root: /bin, /etc/passwd, /scratch; a secret next to it -----------------
work=$out/work
rm -rf "$work"
root=$work/root
mkdir -p "$root/bin" "$root/etc" "$root/scratch" "$work/outside" || fatal "cannot create $work"
cp "$out"/bin/* "$root/bin/"
printf GUEST >"$root/etc/passwd"
printf HOST-SECRET >"$work/outside/secret"

# The guests must see only stdio: close whatever the caller left open.
for fd in $(ls /proc/$$/fd); do
	[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
done

# check NAME STATUS 'STDOUT-WORDS' 'STDERR-WORDS' ARGS...: run condo ARGS.
check() {
	local name=$1 want=$2 owords=$3 ewords=$4
	shift 4
	[ -n "$pattern" ] && [[ $name != *$pattern* ]] && return
	# (a subshell: bash's own "Aborted" notice goes to /dev/null)
	(timeout -k 5 "$timeout_s" "$condo" "$@" >"$work/out" 2>"$work/err" </dev/null; exit $?) 2>/dev/null
	local got=$? why=""
	if [ "$got" != "$want" ]; then
		why="exit status $got, expected $want"
	elif [ -n "$owords" ] && ! grep -qF -- "$owords" "$work/out"; then
		why="stdout does not say '$owords'"
	elif [ -n "$ewords" ] && ! grep -qF -- "$ewords" "$work/err"; then
		why="stderr does not say '$ewords'"
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "ok $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: $why"
		grep -h FAIL "$work/out" | head -n 10 | sed 's/^/    /'
		head -n 5 "$work/err" | sed 's/^/    stderr: /'
	fi
}

# expect NAME 'WHAT' COMMAND...: a check made by the runner itself (COMMAND succeeds).
expect() {
	local name=$1 what=$2
	shift 2
	[ -n "$pattern" ] && [[ $name != *$pattern* ]] && return
	if "$@"; then
		pass=$((pass + 1))
		echo "ok $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: $what"
	fi
}

# same-as-qemu NAME ARGS...: stdout and status equal to qemu-riscv64's.
same_as_qemu() {
	local name=$1
	shift
	[ -n "$pattern" ] && [[ $name != *$pattern* ]] && return
	command -v qemu-riscv64 >/dev/null || return
	timeout -k 5 "$timeout_s" qemu-riscv64 "$@" >"$work/q.out" 2>/dev/null </dev/null
	local qs=$?
	timeout -k 5 "$timeout_s" "$condo" app "$@" >"$work/c.out" 2>/dev/null </dev/null
	local cs=$?
	if [ "$qs" = "$cs" ] && cmp -s "$work/q.out" "$work/c.out"; then
		pass=$((pass + 1))
		echo "ok $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: condo status $cs, qemu status $qs"
		diff "$work/q.out" "$work/c.out" | head -n 10 | sed 's/^/    /'
	fi
}

R=(app --root "$root")
export CONDO_TEST_VAR=value=with=equals

# --- environment, files, sandbox ------------------------------------------------------
cd "$work" || fatal "cannot enter $work"
check basic 0 'PASS' '' "${R[@]}" "$root/bin/basic" one "two words" ""
check files 0 'PASS' '' "${R[@]}" "$root/bin/files"
rm -rf "$root/scratch"/*
check escape 0 'PASS' '' "${R[@]}" "$root/bin/escape" "$root"
rm -rf "$root/scratch"/*
check cwd-from-outside 0 '/' '' "${R[@]}" "$root/bin/child" cwd
cd "$root/scratch" || fatal "cannot enter $root/scratch"
check cwd-from-inside 0 '/scratch' '' app --root .. ../bin/child cwd
cd "$work" || fatal "cannot enter $work"
check exe-link 0 '/bin/child' '' "${R[@]}" "$root/bin/child" exe
check exe-link-outside 0 "$root/bin/child" '' app --root "$root/scratch" "$root/bin/child" exe

# --- attacks from a hostile guest (attack.c, docs/security.md): each must fail -------
# A thread scans the guest's fds for condo's code buffer (a --jit-cache sized memfd).
check attack-memfd 0 'PASS' '' "${R[@]}" --jit-cache 3M "$root/bin/attack" memfd
# fd 3: a directory outside the root, swapped in under condo's parent fds.
exec 3<"$work/outside"
check attack-linkrace 0 'PASS' '' "${R[@]}" "$root/bin/attack" linkrace
exec 3<&-
expect attack-linkrace-outside 'a file was created outside the root' \
	test "$(ls "$work/outside")" = secret
check attack-mknod 0 'PASS' '' "${R[@]}" "$root/bin/attack" mknod
# fd 3: the secret outside the root, which must not be linked into it.
exec 3<"$work/outside/secret"
check attack-linkempty 0 'PASS' '' "${R[@]}" "$root/bin/attack" linkempty
exec 3<&-
expect attack-linkempty-inside 'the outside secret was linked into the root' \
	test ! -e "$root/scratch/stolen"
check attack-fakefault 0 'PASS' '' "${R[@]}" "$root/bin/attack" fakefault
check attack-rtqueue 0 'PASS' '' "${R[@]}" "$root/bin/attack" rtqueue
check attack-linux 0 'PASS' '' "${R[@]}" "$root/bin/attack" linux
check attack-sigalign 0 'PASS' '' "${R[@]}" "$root/bin/attack" sigalign
check attack-tidalign 0 'PASS' '' "${R[@]}" "$root/bin/attack" tidalign
check attack-procmem 0 'PASS' '' app --root / "$root/bin/attack" procmem
rm -rf "$root/scratch"/*
# A relative PROGRAM: /proc/self/exe is resolved before condo enters the root.
check exe-relative 0 'PASS' '' app --root root root/bin/attack selfexec
check exe-relative-link 0 '/bin/child' '' app --root root root/bin/child exe

# The environment a guest passes to execve stays out of every command line.
env_leak() {
	rm -f "$work/fifo" && mkfifo "$work/fifo" || return 1
	"$condo" "${R[@]}" "$root/bin/attack" envexec <"$work/fifo" >"$work/out" 2>"$work/err" &
	local pid=$! leaked=0
	exec 4>"$work/fifo"
	for _ in $(seq 1 600); do
		grep -q ready "$work/out" && break
		sleep 0.1
	done
	grep -q ready "$work/out" || leaked=2
	grep -qs hunter2-in-env /proc/[0-9]*/cmdline && leaked=1
	exec 4>&-
	wait "$pid" || leaked=3
	grep -q PASS "$work/out" || leaked=4
	return "$leaked"
}
if [ -z "$pattern" ] || [[ attack-env-leak == *$pattern* ]]; then
	expect attack-env-leak 'the guest environment is readable in a host command line (or the guest failed)' env_leak
fi

# --- threads, signals, processes, memory ----------------------------------------------
check threads 23 'PASS' '' "${R[@]}" "$root/bin/threads"
check signals 0 'PASS' '' "${R[@]}" "$root/bin/signals"
check procs 0 'PASS' 'killed by SIGSEGV' "${R[@]}" "$root/bin/procs"
rm -rf "$root/scratch"/*
check memory 0 'PASS' '' "${R[@]}" "$root/bin/memory"
check smc 0 'PASS' '' "${R[@]}" "$root/bin/smc"
check smc-interp 0 'PASS' '' app --engine interp --root "$root" "$root/bin/smc"
# Direct guest memory in compiled code: faults where the guest's pages say,
# one thread and after a second; a fault under a blocked SIGSEGV.
check direct 0 'PASS' '' "${R[@]}" "$root/bin/direct"
check direct-threads 0 'PASS' '' "${R[@]}" "$root/bin/direct" threads
check direct-blocked 139 '' 'guest killed by SIGSEGV' "${R[@]}" "$root/bin/direct" blocked
check direct-exec 0 'PASS' '' "${R[@]}" "$root/bin/direct" exec
check direct-maps 0 'PASS' '' "${R[@]}" "$root/bin/direct" maps
# Threads racing munmap/mprotect/mremap against loads, stores, AMOs, LR/SC,
# code and system calls on the same pages; code rewritten by another
# thread; a threaded computation checked (docs/jit.md).
check mt-race 0 'PASS' '' "${R[@]}" "$root/bin/mtrace" race
check mt-race-interp 0 'PASS' '' app --engine interp --root "$root" "$root/bin/mtrace" race
check mt-smc 0 'PASS' '' "${R[@]}" "$root/bin/mtrace" smc
check mt-fence-i 0 'PASS' '' "${R[@]}" "$root/bin/mtrace" fence.i
check mt-work 0 'PASS' '' "${R[@]}" "$root/bin/mtrace" work

# --- dynamic linking: the interpreter and libraries come from the root ----------------
sysroot=/usr/riscv64-linux-gnu
if [ -e "$sysroot/lib/ld-linux-riscv64-lp64d.so.1" ]; then
	check dynamic 12 'hello dyn 1.414' '' app --root "$sysroot" "$root/bin/hello-dyn" dyn
	check dynamic-threads 23 'PASS' '' app --root "$sysroot" "$root/bin/threads-dyn"
	check dynamic-signals 0 'PASS' '' app --root "$sysroot" "$root/bin/signals-dyn"
	# ld.so run as the program (an ET_DYN without interpreter), loading libc
	# from inside the root and running it: libc prints its version.
	check dynamic-ldso-direct 0 'GNU C Library' '' app --root "$sysroot" \
		"$sysroot/lib/ld-linux-riscv64-lp64d.so.1" /lib/libc.so.6
fi
check dynamic-no-interp 127 '' 'interpreter /lib/ld-linux-riscv64-lp64d.so.1 not found' \
	"${R[@]}" "$root/bin/hello-dyn"

# --- how programs end ------------------------------------------------------------------
check exit-status 77 '' '' "${R[@]}" "$root/bin/faults" exit 77
check exit-status-wraps 1 '' '' "${R[@]}" "$root/bin/faults" exit 257
check fault-store 139 '' 'guest killed by SIGSEGV: store/AMO page fault at pc 0x' \
	"${R[@]}" "$root/bin/faults" segv
check fault-load-address 139 '' '(address 0x1234)' "${R[@]}" "$root/bin/faults" load
check fault-illegal 132 '' 'guest killed by SIGILL: illegal instruction at pc 0x' \
	"${R[@]}" "$root/bin/faults" ill
check fault-ebreak 133 '' 'guest killed by SIGTRAP: breakpoint at pc 0x' \
	"${R[@]}" "$root/bin/faults" ebreak
check fault-stack-overflow 139 '' 'guest killed by SIGSEGV' "${R[@]}" "$root/bin/faults" stack
check fault-jump 139 '' 'instruction page fault at pc 0x40' "${R[@]}" "$root/bin/faults" jump
check abort 134 '' '' "${R[@]}" "$root/bin/faults" abort
check mem-limit 137 '' 'guest memory limit of 16 MiB reached (--mem)' \
	"${R[@]}" --mem 16M "$root/bin/faults" memory
check insn-limit 137 '' 'guest instruction limit of 2000000 reached (--max-insns)' \
	"${R[@]}" --max-insns 2000000 "$root/bin/faults" loop
check insn-limit-not-reached 0 'PASS' '' "${R[@]}" --max-insns 100000000 "$root/bin/basic" \
	one "two words" ""

# --- tracing ---------------------------------------------------------------------------
check trace 0 '' 'uname(0x' "${R[@]}" --trace-syscalls "$root/bin/basic" one "two words" ""
check trace-unknown 0 '' 'syscall_4000(' "${R[@]}" --trace-syscalls "$root/bin/basic" \
	one "two words" ""
check trace-errors 0 '' '= -1 ENOSYS (Function not implemented) [not implemented by condo]' \
	"${R[@]}" --trace-syscalls "$root/bin/basic" one "two words" ""

# --- the same as qemu-riscv64 ------------------------------------------------------------
same_as_qemu qemu-basic "$root/bin/basic" one "two words" ""
same_as_qemu qemu-threads "$root/bin/threads"
same_as_qemu qemu-signals "$root/bin/signals"
same_as_qemu qemu-exit "$root/bin/faults" exit 5

echo "app: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
