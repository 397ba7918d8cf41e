#!/usr/bin/env bash
# Real-program suite: the riscv64 busybox runs under `$CONDO app --root ROOT`
# and the host-built busybox (same source, same config) runs natively, on the
# same generated inputs; each check compares stdout, stderr, exit status and
# the files written to out/.  Some checks also compare with the host's GNU
# tools (sha256sum, sort, gzip) or with fixed values.
#
#   CONDO=build/condo BUILD=build tests/programs/run.sh [NAME-PATTERN]
#   CONDO=tests/programs/qemu-shim.sh tests/programs/run.sh    # checks the suite
#
# The guest sees ROOT as / and starts in /work, the copy of the inputs; the
# snippets use relative paths only, and write results under out/.
# Prints `ok NAME` or `FAIL NAME` plus a diff excerpt per check, and last
# `programs: N passed, N failed`.  PROGRAMS_TIMES=1 adds each check's wall
# time (information only, never asserted); PROGRAMS_TIMEOUT (default 60 s)
# bounds each guest run so that a hung guest fails its check.
# shellcheck disable=SC2016 # the snippets are single-quoted on purpose
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
pattern=${1:-}
timeout_s=${PROGRAMS_TIMEOUT:-60}

fatal() { echo "programs: $*" >&2; echo "programs: 0 passed, 1 failed"; exit 1; }

[ -n "${CONDO:-}" ] || fatal "CONDO is not set (path to the condo binary)"
case "$CONDO" in
*/*) condo=$(cd "$(dirname "$CONDO")" && pwd)/$(basename "$CONDO") ;;
*) condo=$(command -v "$CONDO") ;;
esac
[ -n "$condo" ] && [ -x "$condo" ] || fatal "$CONDO is not executable"
build=${BUILD:-$top/build}
mkdir -p "$build" || fatal "cannot create $build"
build=$(cd "$build" && pwd)

# --- busybox for both sides ---------------------------------------------------
rv_root=$("$top/scripts/build-busybox.sh" riscv64 --root) || fatal "riscv64 busybox build failed"
host_bb=$("$top/scripts/build-busybox.sh" host) || fatal "host busybox build failed"

work=$build/programs-work
root=$work/root            # the guest's /, a private copy of the cached root
gw=$root/work              # guest working directory (/work in the guest)
hw=$work/host              # host working directory, same inputs
hostbin=$work/hostbin      # one symlink per applet to the host busybox
results=$work/results
rm -rf "$work"
mkdir -p "$work" "$hw" "$hostbin" "$results" || fatal "cannot create $work"
cp -a "$rv_root" "$root" || fatal "cannot copy $rv_root"
mkdir -p "$gw"
for applet in $("$host_bb" --list); do
	ln -s "$host_bb" "$hostbin/$applet"
done

# --- deterministic inputs -------------------------------------------------------
# Generated with the host busybox awk (Park-Miller generator, exact in doubles);
# a few MB in all so the suite stays quick under a slow interpreter.
gen_texts() {
	"$host_bb" awk -v seed=20260101 '
	function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }
	BEGIN {
		nw = split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu " \
			"nu xi omicron pi rho sigma tau upsilon phi chi psi omega riscv condo " \
			"hart trap csr mmio virtio block page table fence atomic", w, " ")
		nd = split("kernel compiler runtime storage network graphics", dept, " ")
		for (i = 1; i <= 40000; i++)
			printf "%06d %s %s %d %d.%03d\n", i, w[1 + rnd(nw)], w[1 + rnd(nw)],
				rnd(100000), rnd(1000), rnd(1000) > "text.txt"
		for (i = 1; i <= 30000; i++) {
			v = rnd(2000000) - 1000000
			if (rnd(10) == 0) v = rnd(100)	# some duplicates
			print v > "nums.txt"
		}
		for (i = 1; i <= 20000; i++)
			printf "%d,%s%d,%s,%d,2026-%02d-%02d\n", i, w[1 + rnd(nw)], rnd(1000),
				dept[1 + rnd(nd)], 30000 + rnd(90000), 1 + rnd(12), 1 + rnd(28) > "table.csv"
	}'
}
(
	set -e
	mkdir -p "$work/inputs"
	cd "$work/inputs"
	gen_texts
	# High-entropy binary data: the GNU gzip output of the texts, and big.bin
	# mixing text and binary, about 3 MB.
	gzip -n -1 -c text.txt nums.txt >blob.bin
	gzip -n -9 -c text.txt >text.gnu.gz
	cat text.txt blob.bin nums.txt blob.bin table.csv >big.bin
) || fatal "cannot generate inputs in $work/inputs"
cp -p "$work"/inputs/* "$gw"/ && cp -p "$work"/inputs/* "$hw"/ || fatal "cannot copy inputs"

# --- running a snippet on both sides ---------------------------------------------
passed=0
failed=0

# guest SNIPPET: run `sh -c SNIPPET` in the guest, in /work; results in $res/g.*
guest() {
	local t0=$EPOCHREALTIME
	(cd "$gw" && env -i PATH=/bin HOME=/ LC_ALL=C TZ=UTC0 \
		timeout -k 5 "$timeout_s" "$condo" app --root "$root" "$root/bin/sh" -c "$1") \
		>"$res/g.out" 2>"$res/g.err" </dev/null
	echo "exit $?" >"$res/g.rc"
	echo "$t0 $EPOCHREALTIME" >"$res/g.time"
}
# host SNIPPET: the same with the host busybox, in $hw; results in $res/h.*
host() {
	local t0=$EPOCHREALTIME
	(cd "$hw" && env -i PATH="$hostbin" HOME=/ LC_ALL=C TZ=UTC0 \
		timeout -k 5 "$timeout_s" "$host_bb" sh -c "$1") \
		>"$res/h.out" 2>"$res/h.err" </dev/null
	echo "exit $?" >"$res/h.rc"
	echo "$t0 $EPOCHREALTIME" >"$res/h.time"
}

begin() {
	name=$1
	res=$results/$name
	mkdir -p "$res"
	: >"$res/report"
	rm -rf "$gw/out" "$hw/out"
	mkdir "$gw/out" "$hw/out"
}
# note TEXT: add a line to the failure report
note() { echo "$*" >>"$res/report"; }
# differ LABEL A B: compare two files, noting a diff excerpt if they differ
differ() {
	if ! cmp -s "$2" "$3"; then
		note "$1 differs (guest vs expected):"
		diff -u --label guest --label expected "$2" "$3" 2>&1 | head -n 12 | cut -c1-160 >>"$res/report"
		diff -q "$2" "$3" 2>&1 | grep -q binary && note "  (binary files: $(cmp "$2" "$3" 2>&1 | head -n1))"
		return 0
	fi
	return 1
}
finish() {
	if [ -s "$res/report" ]; then
		echo "FAIL $name"
		sed 's/^/    /' "$res/report" | head -n 30
		failed=$((failed + 1))
	else
		if [ "${PROGRAMS_TIMES:-0}" = 1 ]; then
			echo "ok $name$(awk '{ printf "  (guest %.2fs", $2 - $1 }' "$res/g.time")$(
				[ -f "$res/h.time" ] && awk '{ printf ", host %.2fs", $2 - $1 }' "$res/h.time"))"
		else
			echo "ok $name"
		fi
		passed=$((passed + 1))
	fi
}
timed_out() {
	[ "$(cat "$res/g.rc")" = "exit 124" ] && note "(the guest was killed after ${timeout_s}s: PROGRAMS_TIMEOUT)"
	return 0
}
selected() { [ -z "$pattern" ] || [[ "$1" == *$pattern* ]]; }

# same NAME SNIPPET [VERIFY]: guest and host busybox must agree on stdout,
# stderr, exit status and out/; VERIFY (host shell code, run in the guest's
# /work with $res set) adds checks of its own and notes failures.
same() {
	selected "$1" || return 0
	begin "$1"
	guest "$2"
	host "$2"
	differ "exit status" "$res/g.rc" "$res/h.rc" && timed_out
	differ stdout "$res/g.out" "$res/h.out"
	differ stderr "$res/g.err" "$res/h.err"
	if ! diff -r "$gw/out" "$hw/out" >"$res/out.diff" 2>&1; then
		note "out/ differs (guest vs host):"
		head -n 10 "$res/out.diff" | cut -c1-160 >>"$res/report"
	fi
	if [ $# -ge 3 ]; then
		(cd "$gw" && eval "$3") || note "verification failed: $3"
	fi
	finish
}
# expect NAME EXPECTED SNIPPET: the guest's stdout must be EXPECTED (plus a
# newline) and its exit status 0.
expect() {
	selected "$1" || return 0
	begin "$1"
	guest "$3"
	printf '%s\n' "$2" >"$res/want"
	echo "exit 0" >"$res/want.rc"
	differ "exit status" "$res/g.rc" "$res/want.rc" && timed_out
	differ stdout "$res/g.out" "$res/want"
	[ -s "$res/g.err" ] && { note "unexpected stderr:"; head -n 5 "$res/g.err" >>"$res/report"; }
	finish
}

# --- the checks -------------------------------------------------------------------

expect start 'Hi' 'echo hi | sed s/h/H/'
expect uname 'riscv64 Linux' 'echo "$(uname -m) $(uname -s)"'
expect exit-status 'status 42' 'sh -c "exit 42"; echo "status $?"'

same sh-vars-loops '
i=0; s=0
while [ $i -lt 300 ]; do s=$((s + i * i)); i=$((i + 1)); done
echo "sum of squares: $s"
for w in alpha beta gamma "delta epsilon"; do printf "%s:%d\n" "$w" ${#w}; done
x="a b  c"; set -- $x; echo "$# args, second=$2"
echo "${x%% *}|${x#* }|${#x}|${x/b/B}"
n=0; until [ $n -ge 5 ]; do n=$((n + 1)); [ $n -eq 3 ] && continue; echo "n=$n"; done
case "riscv64" in x86*) echo x86 ;; risc*) echo risc ;; *) echo other ;; esac
echo $((7 * 6)) $((1 << 40)) $((-17 / 5)) $((-17 % 5)) $((0x7f ^ 0x0f))'

same sh-functions-subshells '
fib() { if [ $1 -lt 2 ]; then echo $1; else echo $(( $(fib $(($1 - 1))) + $(fib $(($1 - 2))) )); fi; }
echo "fib(8) = $(fib 8)"
v=outer; (v=inner; echo "in subshell: $v"; exit 3); echo "rc=$? v=$v"
count() { local i=0; for f in "$@"; do i=$((i + 1)); done; echo $i; }
echo "count: $(count a b c d)"
words=$(cut -d" " -f2 text.txt | head -n 5 | tr "\n" " ")
echo "words: $words"
(cd out && echo "made in a subshell" >sub.txt)
cat out/sub.txt
r=$( (echo nested; echo deeper) | wc -l); echo "nested lines: $r"'

same sh-redirections '
exec 3>out/fd3.txt
echo "to fd 3" >&3
echo "again" >&3
exec 3>&-
cat out/fd3.txt
echo "to stderr" >&2
{ echo a; echo b >&2; echo c; } 2>&1 | wc -l
echo first >out/app.txt; echo second >>out/app.txt; cat out/app.txt
cat <<EOF
here-doc with $((2 + 3)) and $(echo substitution)
EOF
cat <<"EOF"
quoted $HOME here-doc
EOF
wc -l <text.txt
ls no-such-file 2>out/err.txt; echo "ls rc=$?"
sort <nums.txt >out/sorted.txt 2>&1; head -n 3 out/sorted.txt'

same sh-pipes-status '
false | true; echo "pipe rc=$?"
true | false; echo "pipe rc=$?"
set -o pipefail; false | true; echo "pipefail rc=$?"; set +o pipefail
cat big.bin | cat | cat >out/piped.bin
seq 1 20000 | sed -n "\$p"
yes condo | head -n 3
if grep -q zeta text.txt; then echo found; fi
grep -c omega text.txt
! grep -q no-such-word text.txt && echo "not found"'

same sh-background-wait '
(echo bg1 >out/b1.txt) &
(sleep 0; echo bg2 >out/b2.txt) &
p3=$!
wait $p3; echo "waited rc=$?"
wait
cat out/b1.txt out/b2.txt
(exit 5) & wait $!; echo "background rc=$?"'

same sh-signals '
trap "echo got USR1" USR1
kill -USR1 $$
echo after-trap
sh -c "kill -9 \$\$"; echo "killed rc=$?"
sh -c "kill -TERM \$\$"; echo "term rc=$?"
trap "echo exiting" EXIT
exit 4'

same sh-script-exec '
printf "#!/bin/sh\necho \"script \$# args: \$*\"\nexit 6\n" >out/s.sh
chmod +x out/s.sh
./out/s.sh one two three; echo "script rc=$?"
sh out/s.sh x; echo "sh rc=$?"
seq 1 12 | xargs -n 5 echo
seq 1 3 | xargs -I{} sh -c "echo item {}"
env -u HOME X=1 sh -c "echo \$X \${HOME:-no-home}"'

same sha256sum 'sha256sum text.txt nums.txt table.csv big.bin; cat big.bin | sha256sum' \
	'sha256sum text.txt nums.txt table.csv big.bin >"$res/gnu" && head -n 4 "$res/g.out" | diff -q - "$res/gnu" >/dev/null'
same other-sums 'md5sum big.bin text.txt; sha1sum big.bin; sha512sum table.csv; sha3sum nums.txt' \
	'md5sum big.bin text.txt | diff -q - <(head -n 2 "$res/g.out") >/dev/null'

same gzip-levels '
gzip -c <text.txt >out/text.gz
gzip -9 -c <big.bin >out/big9.gz
gzip -1 -c nums.txt >out/nums1.gz
gzip -c table.csv >out/table.gz
ls -1 out' \
	'gunzip -c out/big9.gz | cmp -s - big.bin && gunzip -c out/text.gz | cmp -s - text.txt'

same gunzip-roundtrip '
gzip -c <big.bin | gunzip -c >out/big.bin
gunzip -c text.gnu.gz >out/text.txt
gunzip -t text.gnu.gz && echo "test ok"
cp nums.txt out/n.txt; gzip out/n.txt; ls out; gunzip out/n.txt.gz; ls out
zcat text.gnu.gz | tail -n 2' \
	'cmp -s out/big.bin big.bin && cmp -s out/text.txt text.txt && cmp -s out/n.txt nums.txt'

same sort-numeric '
sort -n nums.txt >out/n.txt
sort -rn nums.txt >out/rn.txt
sort -n -u nums.txt | wc -l
sort nums.txt | head -n 5' \
	'LC_ALL=C sort -n nums.txt | cmp -s - out/n.txt'

same sort-keys '
sort -t, -k3,3 -k4,4nr -k1,1n table.csv >out/k.csv
sort -k2,2 -k4,4n -s text.txt >out/k.txt
sort -u -t" " -k3,3 text.txt | wc -l
sort -r text.txt | head -n 3
sort -c out/k.csv 2>&1; echo "sorted check rc=$?"' \
	'LC_ALL=C sort -t, -k3,3 -k4,4nr -k1,1n table.csv | cmp -s - out/k.csv'

same sed-scripts '
sed -e "s/\([a-z]*\) \([a-z]*\)/\2 \1/" -e "/^0000[0-4]/d" text.txt >out/swap.txt
sed -n "100,104p;\$=" text.txt
head -n 500 text.txt | sed "1!G;h;\$!d" >out/tac.txt
sed "y/abcdef/ABCDEF/;s/[0-9]\{3\}\$/<&>/" table.csv >out/y.csv
printf "/kappa/ {\n  s/kappa/KAPPA/g\n  p\n}\n/^00010/ s/ /_/gp\n" >out/script.sed
sed -n -f out/script.sed text.txt | tail -n 4
sed -E "s/^([0-9]+),([a-z]+)([0-9]+)/\3:\2:\1/" table.csv | head -n 3
cp text.txt out/inplace.txt; sed -i "s/alpha/ALPHA/g;/omega/d" out/inplace.txt'

same awk-fields '
awk -F, "{ s[\$3] += \$4; n[\$3]++ } END { for (d in s) printf \"%s %d %.2f\\n\", d, n[d], s[d] / n[d] }" table.csv | sort
awk "{ for (i = 1; i <= NF; i++) c[\$i]++ } END { for (w in c) if (c[w] > 2000) print c[w], w }" text.txt | sort -k1,1nr -k2
awk "NR % 5000 == 0 { print NR, \$2, length(\$0), toupper(\$3), substr(\$1, 3, 2) }" text.txt
awk "\$4 > 99000 { n++; t += \$4 } END { print n, t, t / n }" text.txt
awk -F, -v OFS=";" "NR <= 3 { \$2 = \"x\" \$2; print; print NF }" table.csv'

same awk-programs '
cat >out/prog.awk <<"EOF"
function gcd(a, b) { while (b) { t = b; b = a % b; a = t } return a }
BEGIN {
	for (i = 1; i <= 3000; i++) { s += sqrt(i); l += log(i); e += exp(-i / 700) }
	printf "%.6f %.6f %.6f\n", s, l, e
	printf "%.6f %.6f %.6f\n", sin(1), cos(2), atan2(1, 3)
	printf "%d %x %o %e %g %5.1f|%-8s|%c\n", 255, 255, 255, 12345.678, 0.0001234, 2.25, "left", 65
	print 2^52 + 1, int(-3.7), 7 % 3, -7 % 3, 1e300 * 10, 0.1 + 0.2
	print gcd(1071, 462), length("xyz"), index("hello", "ll"), tolower("ABC")
	n = split("a:b::c", parts, ":"); print n, parts[4]
	s = "the condo hart"; gsub(/o/, "0", s); print s
	if (match("riscv64gc", /[0-9]+/)) print RSTART, RLENGTH
	while ((getline line < "nums.txt") > 0) { cnt++; sum += line }
	print cnt, sum
	srand(42); printf "%d %d %d\n", rand() * 1000, rand() * 1000, rand() * 1000
	x = sprintf("%08.3f", 3.14159); print x
}
EOF
awk -f out/prog.awk'

same text-applets '
wc text.txt nums.txt table.csv
wc -c big.bin; wc -l <table.csv
tr a-z A-Z <text.txt | head -n 3
tr -d "0-9" <text.txt | md5sum
tr -s " " <text.txt | tail -n 1
echo "hello world" | tr -cd "lo\n"
cut -d, -f2,4 table.csv | head -n 4
cut -c1-6,20- text.txt | tail -n 3
cut -d" " -f2 text.txt | sort | uniq -c | sort -k1,1nr -k2 | head -n 5
cut -d" " -f3 text.txt | sort | uniq -d | wc -l
cut -d, -f3 table.csv | sort | uniq -u | wc -l'

same head-tail-od '
head -n 3 text.txt; tail -n 3 text.txt
head -c 100 big.bin | od -A x -t x1
tail -c 64 big.bin | od -A d -t o1
tail -n +29996 nums.txt
head -n 20000 text.txt | tail -n 2
seq 1 10 | tee out/tee.txt | tail -n 2
dd if=big.bin of=out/dd.bin bs=4096 skip=3 count=10 2>&1 | head -n 2
cat big.bin big.bin >out/cat2.bin'

same seq-printf-expr '
seq 1 5; seq 10 -3 0; seq -w 8 11; seq -s, 1 10
seq 0 0.25 1
printf "%5.2f|%-6s|%03d|%x|%s\n" 3.14159 ab 7 255 "$(seq 3 | tr "\n" +)"
expr 7 \* 6; expr length condo; expr 100 / 7 % 4
[ 3 -lt 10 ] && [ abc \< abd ] && echo "tests ok"
test -f text.txt -a ! -d text.txt && echo "file ok"
basename /a/b/c.txt .txt; dirname /a/b/c.txt'

same find-ls '
mkdir -p out/t/a/b out/t/c out/t/empty
touch out/t/a/1.txt out/t/a/b/2.txt out/t/c/3.log
echo data >out/t/c/4.txt
find out/t | sort
find out/t -name "*.txt" -type f | sort
find out/t -type d | sort
find out/t -type f -size +0
find out/t -empty | sort
ls out/t; ls -1a out/t/a; ls -R out/t; ls -d out/t/*/
[ -d out/t/empty ] && echo "dir exists"'

same cp-mv-rm '
cp text.txt out/c1.txt
mv out/c1.txt out/m1.txt
mkdir out/dir
cp nums.txt table.csv out/dir/
cp -r out/dir out/dir.copy
mv out/dir out/dir2
rm out/dir2/table.csv
rm -r out/dir.copy/table.csv
ln -s ../text.txt out/link.txt
readlink out/link.txt; head -n 1 out/link.txt
cp out/m1.txt out/tmp.txt; rm -f out/tmp.txt out/none.txt
rmdir out/dir.copy 2>&1 || echo "rmdir refused"
ls -1 out out/dir2 out/dir.copy
cmp text.txt out/m1.txt && echo same' \
	'cmp -s out/m1.txt text.txt && [ ! -e out/dir ] && [ -L out/link.txt ]'

# The guest's clock: between two host readings around the run (whole seconds).
if selected clock; then
	begin clock
	t0=$(date +%s)
	guest 'date +%s; date +%Y; date -d @1700000000 "+%Y-%m-%d %H:%M:%S %a"; date -u -d "2026-03-04 05:06:07" +%s'
	t1=$(date +%s)
	{ read -r now && read -r year && read -r fixed && read -r parsed; } <"$res/g.out" || note "short output: $(head -c 200 "$res/g.out")"
	[ "$(cat "$res/g.rc")" = "exit 0" ] || note "guest $(cat "$res/g.rc")"
	case "${now:-}" in
	'' | *[!0-9]*) note "date +%s printed '${now:-}'" ;;
	*) [ "$now" -ge "$t0" ] && [ "$now" -le "$t1" ] || note "guest time $now not within host [$t0, $t1]" ;;
	esac
	[ "${year:-0}" -ge 2025 ] 2>/dev/null || note "date +%Y printed '${year:-}'"
	[ "${fixed:-}" = "2023-11-14 22:13:20 Tue" ] || note "date -d @1700000000 printed '${fixed:-}'"
	[ "${parsed:-}" = 1772600767 ] || note "date -d 2026-03-04 05:06:07 printed '${parsed:-}'"
	finish
fi

echo "programs: $passed passed, $failed failed"
[ $failed -eq 0 ]
