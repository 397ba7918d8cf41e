#!/usr/bin/env bash
# Jail suite: the layers of the jail seen from outside, on real condo
# processes while a guest runs (docs/security.md).  For `condo run` a
# bare-metal guest that spins (`j .`) or exits through the test finisher;
# for `condo app` a static riscv64 program that sleeps, also after an
# execve.  Each check reads /proc/PID/{status,limits,cgroup,ns,root} of the
# condo process.  The seccomp filters themselves (a forbidden call is
# reported and kills) are proved in tests/unit/test_jail.c.
#
#   CONDO=build/condo BUILD=build tests/jail/run.sh [NAME-PATTERN]
#
# Prints `ok NAME`, `FAIL NAME: why` or `SKIP NAME: reason` per check and
# last `jail: N passed, N failed, N skipped`.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pattern=${1:-}
cc=${RISCV_CC:-riscv64-linux-gnu-gcc}
pass=0 fail=0 skipped=0

fatal() { echo "jail: $*" >&2; echo "jail: 0 passed, 1 failed, 0 skipped"; exit 1; }
[ -n "${CONDO:-}" ] || fatal "CONDO is not set (path to the condo binary)"
condo=$(cd "$(dirname "$CONDO")" && pwd)/$(basename "$CONDO")
[ -x "$condo" ] || fatal "$CONDO is not executable"
mkdir -p "${BUILD:-build}/jail-tests" || fatal "cannot create the work directory"
out=$(cd "${BUILD:-build}/jail-tests" && pwd)
sanitized=0
case "$(ldd "$condo" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac

# --- guests -------------------------------------------------------------------
# j .  (spin for ever)
printf '\x6f\x00\x00\x00' >"$out/spin.bin"
# lui t0,0x100; lui t1,0x2a3; addi t1,t1,0x333; sw t1,0(t0); j .
# (the test finisher at 0x100000: FAIL with code 42, condo's exit status 42)
printf '\xb7\x02\x10\x00\x37\x33\x2a\x00\x13\x03\x33\x33\x23\xa0\x62\x00\x6f\x00\x00\x00' \
	>"$out/exit42.bin"
have_cc=0
if command -v "$cc" >/dev/null; then
	have_cc=1
	cat >"$out/sleeper.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
/* sleep; with N, first re-execute itself N times (condo re-executes condo) */
int main(int argc, char **argv)
{
	int n = argc > 1 ? argv[1][0] - '0' : 0;
	if (n > 0) {
		char next[2] = { (char)('0' + n - 1), 0 };
		char *args[] = { argv[0], next, NULL };
		execv("/sleeper", args);
		return 1;
	}
	sleep(60);
	return 0;
}
EOF
	"$cc" -static -O1 -o "$out/sleeper" "$out/sleeper.c" || fatal "cannot build sleeper"
fi
root=$out/root
rm -rf "$root" && mkdir -p "$root" && cp "$out/sleeper" "$root/" 2>/dev/null
chmod 755 "$out" "$root"

ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }
want() { [ -z "$pattern" ] || [[ $1 == *$pattern* ]]; }

pid=
launch=() # a command that starts condo (setpriv, to start it unprivileged)
stop() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	pid=
}
trap stop EXIT

# start NTHREADS ARGS...: condo ARGS in the background, until it is jailed
# (Seccomp 2) and has NTHREADS threads.
start() {
	local threads=$1 i
	shift
	"${launch[@]}" "$condo" "$@" </dev/null >"$out/out" 2>"$out/err" &
	pid=$!
	for i in $(seq 1 200); do
		if [ -r "/proc/$pid/status" ] &&
			[ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -ge "$threads" ] &&
			{ [ "$(field Seccomp)" = 2 ] || [ -n "${unjailed:-}" ]; }; then
			[ "$threads" = 0 ] && sleep 0.5
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# field NAME [FILE]: a field of /proc/$pid/status
field() {
	awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "${2:-/proc/$pid/status}" 2>/dev/null
}

# expect NAME FIELD VALUE: collect a mismatch into $why
expect() {
	local got
	got=$(field "$1" "${3:-}")
	[ "$got" = "$2" ] || why="${why}$1 is '$got', expected '$2'; "
}

ns_differ() { # ns_differ KIND: condo's namespace differs from ours
	[ "$(readlink "/proc/$pid/ns/$1")" != "$(readlink "/proc/self/ns/$1")" ]
}

userns_ok=0
unshare -U true 2>/dev/null && userns_ok=1
nsok=0
[ "$(id -u)" = 0 ] && unshare -m -i -n -u true 2>/dev/null && nsok=1
[ "$(id -u)" != 0 ] && [ $userns_ok = 1 ] && nsok=1

spin=(run --bios none --kernel "$out/spin.bin" --mem 64M)
zero=0000000000000000

# --- condo run ----------------------------------------------------------------
if want run-status; then
	if start 4 "${spin[@]}" --cpus 2; then
		why=
		expect NoNewPrivs 1
		expect Seccomp 2
		expect CapEff $zero
		expect CapPrm $zero
		expect CapBnd $zero
		expect CapAmb $zero
		if [ "$(id -u)" = 0 ] && [ $userns_ok = 1 ]; then
			# root mapped away: nobody on the host, root in its own namespace
			expect Uid '65534 65534 65534 65534'
			ns_differ user || why="${why}no user namespace; "
		fi
		# the main thread's filter, and a hart's or the event loop's on top
		for t in /proc/$pid/task/*; do
			n=$(field Seccomp_filters "$t/status")
			[ "$t" = "/proc/$pid/task/$pid" ] && { [ "$n" = 1 ] || why="${why}main thread has $n filters; "; }
			[ "$t" != "/proc/$pid/task/$pid" ] && { [ "$n" = 2 ] || why="${why}thread ${t##*/} has $n filters; "; }
		done
		[ -z "$why" ] && ok run-status || bad run-status "$why"
	else
		bad run-status "condo did not start: $(head -c 300 "$out/err")"
	fi
	stop
fi

if want run-namespaces; then
	if [ $nsok = 0 ]; then
		skip run-namespaces "this host refuses new namespaces"
	elif start 3 "${spin[@]}"; then
		why=
		for ns in mnt ipc net uts; do ns_differ $ns || why="${why}same $ns namespace; "; done
		[ -z "$why" ] && ok run-namespaces || bad run-namespaces "$why"
	else
		bad run-namespaces "condo did not start: $(head -c 300 "$out/err")"
	fi
	stop
fi

if want run-rlimits; then
	if start 4 "${spin[@]}" --cpus 2; then
		why=
		# 64M of RAM + 2 harts x (2 x 32M code cache + 8M stack + 64M arena) + 1G
		as=$(((64 + 2 * (64 + 8 + 64) + 1024) * 1048576))
		lim() { awk -v k="$1" 'index($0, k) == 1 { print $(NF - 2) }' "/proc/$pid/limits"; }
		if [ $sanitized = 0 ]; then
			[ "$(lim 'Max address space')" = "$as" ] || why="${why}address space $(lim 'Max address space'), expected $as; "
		fi
		[ "$(lim 'Max open files')" = 256 ] || why="${why}open files $(lim 'Max open files'); "
		[ "$(lim 'Max core file size')" = 0 ] || why="${why}core size $(lim 'Max core file size'); "
		# none: it counts the whole uid, which VMs share (run-concurrent)
		[ "$(lim 'Max processes')" != 10 ] || why="${why}processes bounded per VM on a shared uid; "
		[ -z "$why" ] && ok run-rlimits || bad run-rlimits "$why"
	else
		bad run-rlimits "condo did not start: $(head -c 300 "$out/err")"
	fi
	stop
fi

if want run-concurrent; then
	# Six 4-hart VMs at once, all the same host uid (root mapped away to
	# nobody): each must start all its harts (a per-uid RLIMIT_NPROC did not).
	why=
	cpids=()
	for i in 1 2 3 4 5 6; do
		"$condo" "${spin[@]}" --cpus 4 --max-insns 20000000 </dev/null >"$out/c$i.out" 2>"$out/c$i.err" &
		cpids+=($!)
	done
	for i in 1 2 3 4 5 6; do
		wait "${cpids[$((i - 1))]}"
		rc=$?
		[ $rc = 137 ] || why="${why}VM $i: status $rc ($(head -c 100 "$out/c$i.err")); "
	done
	[ -z "$why" ] && ok run-concurrent || bad run-concurrent "$why"
fi

if want run-cgroup; then
	if start 3 "${spin[@]}"; then
		cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
		if [[ $cg == */condo-$pid ]]; then
			ok run-cgroup
		elif CONDO_LOG=info "$condo" run --bios none --kernel "$out/exit42.bin" 2>&1 </dev/null |
			grep 'skipped:.*cgroup leaf' >/dev/null; then
			skip run-cgroup "this host does not let condo create a cgroup v2 leaf"
		else
			bad run-cgroup "in cgroup '$cg', expected a leaf condo-$pid"
		fi
	else
		bad run-cgroup "condo did not start: $(head -c 300 "$out/err")"
	fi
	stop
fi

if want run-jail-user; then
	if [ "$(id -u)" != 0 ]; then
		skip run-jail-user "--jail-user needs root"
	elif start 3 "${spin[@]}" --jail-user 65534:65534; then
		why=
		expect Uid '65534 65534 65534 65534'
		expect Gid '65534 65534 65534 65534'
		expect CapEff $zero
		expect CapBnd $zero
		ns_differ user && why="${why}a user namespace besides --jail-user; "
		[ -z "$why" ] && ok run-jail-user || bad run-jail-user "$why"
	else
		bad run-jail-user "condo did not start: $(head -c 300 "$out/err")"
	fi
	stop
fi

jdir=$out/jaildir
if want run-jail-dir; then
	rm -rf "$jdir" && mkdir -p "$jdir"
	if [ $nsok = 0 ]; then
		skip run-jail-dir "this host refuses mount namespaces"
	elif start 3 "${spin[@]}" --jail-dir "$jdir"; then
		why=
		inside=$(ls -A "/proc/$pid/root/" 2>&1 | tr '\n' ' ')
		[ "$inside" = "1-spin.bin " ] || why="${why}the jail holds '$inside'; "
		[ -z "$(ls -A "$jdir")" ] || why="${why}the host's $jdir is not empty; "
		[ -z "$why" ] && ok run-jail-dir || bad run-jail-dir "$why"
	else
		bad run-jail-dir "condo did not start: $(head -c 300 "$out/err")"
	fi
	stop
fi

if want run-jail-dir-boots; then
	rm -rf "$jdir" && mkdir -p "$jdir"
	truncate -s 1M "$out/disk.img"
	if [ $nsok = 0 ]; then
		skip run-jail-dir-boots "this host refuses mount namespaces"
	else
		"$condo" run --jail-dir "$jdir" --bios none --kernel "$out/exit42.bin" \
			--drive file="$out/disk.img" </dev/null >"$out/out" 2>"$out/err"
		st=$?
		[ $st = 42 ] && ok run-jail-dir-boots ||
			bad run-jail-dir-boots "exit status $st, expected 42: $(head -c 300 "$out/err")"
	fi
fi

if want run-no-jail; then
	if unjailed=1 start 3 "${spin[@]}" --no-jail; then
		why=
		expect Seccomp 0
		expect NoNewPrivs 0
		expect CapEff "$(field CapEff /proc/self/status)"
		expect Uid "$(field Uid /proc/self/status)"
		for ns in mnt net user; do ns_differ $ns && why="${why}a new $ns namespace; "; done
		[ -z "$why" ] && ok run-no-jail || bad run-no-jail "$why"
	else
		bad run-no-jail "condo did not start: $(head -c 300 "$out/err")"
	fi
	stop
fi

if want run-unprivileged; then
	# started by an ordinary user: a user namespace (the caller's own ids)
	# that then owns the other namespaces
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		skip run-unprivileged "needs root and setpriv to start condo as nobody"
	elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$condo" -a -r "$out/spin.bin"; then
		skip run-unprivileged "nobody cannot reach $condo"
	elif [ $userns_ok = 0 ]; then
		skip run-unprivileged "this host refuses user namespaces"
	elif launch=(setpriv --reuid=65534 --regid=65534 --clear-groups) &&
		! start 3 "${spin[@]}"; then
		bad run-unprivileged "condo did not start: $(head -c 300 "$out/err")"
	else
		why=
		expect Seccomp 2
		expect CapEff $zero
		expect Uid '65534 65534 65534 65534'
		for ns in user mnt ipc net uts; do ns_differ $ns || why="${why}same $ns namespace; "; done
		[ -z "$why" ] && ok run-unprivileged || bad run-unprivileged "$why"
	fi
	stop
	launch=()
fi

if want bad-app-low-nofile; then
	(ulimit -n 256 && timeout 20 "$condo" app --root "$root" "$root/sleeper") </dev/null \
		>"$out/out" 2>"$out/err"
	st=$?
	if [ $st = 1 ] && grep -qF 'needs a descriptor limit above 990' "$out/err"; then
		ok bad-app-low-nofile
	else
		bad bad-app-low-nofile "exit status $st: $(head -c 200 "$out/err")"
	fi
fi

# --- condo app ----------------------------------------------------------------
app=(app --root "$root" "$root/sleeper")
for name in app-status app-exec app-jail-user app-no-jail; do
	want $name || continue
	if [ $have_cc = 0 ]; then
		skip $name "$cc not found"
		continue
	fi
	case $name in
	app-status) args=("${app[@]}") ;;
	app-exec) args=("${app[@]}" 3) ;;
	app-jail-user) args=(app --jail-user 65534:65534 --root "$root" "$root/sleeper") ;;
	app-no-jail) args=(app --no-jail --root "$root" "$root/sleeper") ;;
	esac
	if [ $name = app-jail-user ] && [ "$(id -u)" != 0 ]; then
		skip $name "--jail-user needs root"
		continue
	fi
	unjailed=
	[ $name = app-no-jail ] && unjailed=1
	if ! start 0 "${args[@]}"; then
		bad $name "condo did not start: $(head -c 300 "$out/err")"
		stop
		continue
	fi
	[ $name = app-exec ] && sleep 1 # after the re-execs
	why=
	case $name in
	app-no-jail)
		expect Seccomp 0
		expect NoNewPrivs 0
		ns_differ mnt && why="${why}a new mount namespace; "
		;;
	*)
		expect Seccomp 2
		expect NoNewPrivs 1
		expect CapEff $zero
		expect CapBnd $zero
		# one filter, inherited across the re-exec, not stacked again
		expect Seccomp_filters 1
		if [ $nsok = 1 ]; then
			for ns in mnt ipc net uts; do ns_differ $ns || why="${why}same $ns namespace; "; done
		fi
		if [ $name = app-jail-user ]; then
			expect Uid '65534 65534 65534 65534'
		else
			expect Uid "$(field Uid /proc/self/status)" # app mode keeps the caller's uid
		fi
		if [ $name = app-exec ]; then
			tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'sleeper 0 $' ||
				why="${why}not re-executed three times: $(tr '\0' ' ' <"/proc/$pid/cmdline"); "
		fi
		;;
	esac
	[ -z "$why" ] && ok $name || bad $name "$why"
	stop
done

# --- bad options: one line, exit status 2 (1 for a bad directory) -------------
# badopt NAME STATUS 'STDERR-WORDS' ARGS...
badopt() {
	local name=$1 st=$2 words=$3
	shift 3
	want "$name" || return
	"$condo" "$@" </dev/null >"$out/out" 2>"$out/err"
	local got=$?
	if [ $got != "$st" ]; then
		bad "$name" "exit status $got, expected $st: $(head -c 200 "$out/err")"
	elif [ "$(wc -l <"$out/err")" != 1 ] || ! grep -qF -- "$words" "$out/err"; then
		bad "$name" "stderr is not one line saying '$words': $(head -c 200 "$out/err")"
	else
		ok "$name"
	fi
}
badopt bad-run-jail-user 2 '--jail-user no-such-user: no such user' \
	run --jail-user no-such-user --bios none --kernel "$out/spin.bin"
badopt bad-run-jail-user-gid 2 '--jail-user 1:x: no such user' \
	run --jail-user 1:x --bios none --kernel "$out/spin.bin"
badopt bad-app-jail-user 2 '--jail-user no-such-user: no such user' \
	app --jail-user no-such-user "$out/sleeper"
badopt bad-app-jail-user-missing 2 'option --jail-user needs a value' app --jail-user
badopt bad-run-jail-dir-missing 1 '--jail-dir /nonexistent-condo-dir: not a directory' \
	run --jail-dir /nonexistent-condo-dir --bios none --kernel "$out/spin.bin"
badopt bad-run-no-jail-dir 2 '--jail-user and --jail-dir need the jail' \
	run --no-jail --jail-dir "$out" --bios none --kernel "$out/spin.bin"
badopt bad-app-no-jail-user 2 '--jail-user needs the jail' \
	app --no-jail --jail-user 0 "$out/sleeper"

echo "jail: $pass passed, $fail failed, $skipped skipped"
[ $fail = 0 ]
