#!/usr/bin/env bash
# make check-ctl: the condod suites, two at a time (each has its own data
# directory, condod and VMs; most of their time is guests booting and
# waiting), their output shown whole and in order.  run.sh runs under both
# store layouts (condod --data-isolation).
#   CONDO=build/condo CONDOD=build/condod tests/ctl/all.sh
here=$(cd "$(dirname "$0")" && pwd)
logs=$(mktemp -d /tmp/condo-ctl-all.XXXXXX)
trap 'rm -rf "$logs"' EXIT
suites=("shared run.sh" "per-tenant run.sh" "per-tenant backup.sh" "shared net.sh")
status=0
run() { # run INDEX: the suite, its output into logs/INDEX
	set -- "$1" ${suites[$1]}
	CONDOD_ISOLATION=$2 "$here/$3" >"$logs/$1" 2>&1
	echo $? >"$logs/$1.rc"
}
for ((i = 0; i < ${#suites[@]}; i += 2)); do
	run "$i" &
	[ $((i + 1)) -lt ${#suites[@]} ] && run $((i + 1)) &
	wait
done
for ((i = 0; i < ${#suites[@]}; i++)); do
	cat "$logs/$i"
	[ "$(cat "$logs/$i.rc" 2>/dev/null)" = 0 ] || status=1
done
exit $status
