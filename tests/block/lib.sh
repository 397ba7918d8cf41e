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
