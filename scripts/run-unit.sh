#!/usr/bin/env bash
# Run each cmocka unit-test binary; print one summary line for all of them.
set -u
pass=0 fail=0
for t in "$@"; do
	if "$t" >"$t.log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $t (log: $t.log)" >&2
		tail -20 "$t.log" >&2
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
