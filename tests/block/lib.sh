# Shared by the tests/block suites: the condo binary, a scratch directory,
# and ok/fail/skip counters with one summary line at the end.
set -uo pipefail

suite=$(basename "$0" .sh)
here=$(cd "$(dirname "$0")" && pwd)
pattern=${1:-}
pass=0 fail=0 skip=0

[ -n "${CONDO:-}" ] || { echo "$suite: CONDO is not set"; echo "$suite: 0 passed, 1 failed"; exit 1; }
case "$CONDO" in
*/*) condo=$(cd "$(dirname "$CONDO")" && pwd)/$(basename "$CONDO") ;;
*) condo=$(command -v "$CONDO") ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/condo-$suite.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work" || exit 1

ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
skip() { skip=$((skip + 1)); echo "SKIP: $1"; }
wanted() { [ -z "$pattern" ] || [[ $1 == *$pattern* ]]; }
finish() {
	echo "$suite: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
}

# Random bytes, reproducible: rand_file NAME BYTES SEED
rand_file() { python3 -c "import random,sys; r=random.Random($3); sys.stdout.buffer.write(r.randbytes($2))" >"$1"; }

# run NAME STATUS 'WORDS' ARGS...: condo ARGS exits STATUS; with WORDS, stderr
# is one line "condo: ..." containing them.  Output in ./out and ./err.
run() {
	local name=$1 want=$2 words=$3
	shift 3
	wanted "$name" || return 0
	timeout -k 5 "${RUN_TIMEOUT:-30}" "$condo" "$@" >out 2>err </dev/null
	local st=$?
	if [ $st != "$want" ]; then
		bad "$name" "exit status $st, expected $want: $(head -c 200 err)"
		return 1
	elif [ -n "$words" ] && { [ "$(wc -l <err)" != 1 ] || [[ $(cat err) != "condo: "*"$words"* ]]; }; then
		bad "$name" "stderr is not one line with '$words': $(head -c 300 err)"
		return 1
	fi
	ok "$name"
}
