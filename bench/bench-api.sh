#!/usr/bin/env bash
# condod's API under load: wrk (Debian's) against condod on loopback TCP
# (--listen 127.0.0.1:PORT), BENCH_SECONDS (default 10) per request kind,
# 2 threads and BENCH_CONNS (default 16) connections.  Three kinds, with a
# tenant-user token: GET /v1/vms (a list of 20 VMs), GET /v1/vms/ID, and
# GET /v1/usage; and, with a wrong token, what a failed authentication
# costs before the limiter answers 429.  Prints requests per second and
# the latency percentiles wrk reports.  Not part of make check.
#   CONDO=build/condo CONDOD=build/condod bench/bench-api.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-api: $*" >&2; exit 1; }
. "$here/lib.sh"
condod_setup
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNS:-16}
command -v wrk >/dev/null || die "wrk is missing (scripts/deps.sh installs it)"

work=$(mktemp -d /tmp/condo-api.XXXXXX)
data=$work/data
port=$((20000 + RANDOM % 20000))
dpid=
trap '[ -n "$dpid" ] && kill "$dpid" 2>/dev/null; rm -rf "$work"' EXIT
tok=$("$condod" init --data "$data" 2>/dev/null) || die "condod init failed"
"$condod" --data "$data" --listen "127.0.0.1:$port" >"$work/condod.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -S "$data/condod.sock" ] && break; sleep 0.1; done
url=http://127.0.0.1:$port
call() { curl -s -H "Authorization: Bearer $1" -X "$2" "$url$3" ${4:+--data-binary "$4"}; }
tenant=$(call "$tok" POST /v1/tenants '{"name":"bench","quota":{"vms":50,"vcpus":50}}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || die "no tenant"
user=$(call "$tok" POST "/v1/tenants/$tenant/tokens" '{"role":"tenant-user"}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || die "no token"
head -c $((1 << 20)) /dev/zero >"$work/base.raw"
CONDOD_DATA=$data CONDO_TOKEN=$tok "$condo" ctl image import base "$work/base.raw" >/dev/null ||
	die "cannot import the image"
for i in $(seq 20); do
	vm=$(call "$user" POST /v1/vms "{\"name\":\"v$i\",\"image\":\"base\",\"start\":false,\"memory_mib\":64}" |
		python3 -c 'import json,sys; d = json.load(sys.stdin); print(d.get("id") or sys.exit(str(d)))') || die "no VM"
done

# A wrong token is limited after 10: so that the failures are measured,
# the limit is raised for that run by restarting condod with a large one.
run() {
	local what=$1 token=$2 path=$3
	wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url$path" \
		>"$work/wrk.out" 2>&1 || die "wrk failed: $(tail -3 "$work/wrk.out")"
	printf '%-26s %10s req/s   latency p50 %-9s p90 %-9s p99 %s\n' "$what" \
		"$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.out")" \
		"$(awk '$1 == "50%" { print $2 }' "$work/wrk.out")" \
		"$(awk '$1 == "90%" { print $2 }' "$work/wrk.out")" \
		"$(awk '$1 == "99%" { print $2 }' "$work/wrk.out")"
	grep -q "Non-2xx" "$work/wrk.out" && [ "$what" != "failed authentication" ] &&
		echo "  (some replies were errors: $(grep Non-2xx "$work/wrk.out"))"
	return 0
}
echo "bench-api: condod on 127.0.0.1, wrk -t2 -c$conns -d${secs}s ($(nproc) cores, $(date -u +%F))"
run "GET /v1/vms (20 VMs)" "$user" /v1/vms
run "GET /v1/vms/ID" "$user" "/v1/vms/$vm"
run "GET /v1/usage" "$user" /v1/usage
kill "$dpid" && wait "$dpid"
"$condod" --data "$data" --listen "127.0.0.1:$port" --auth-limit 1000000/0.000001 \
	>>"$work/condod.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do curl -s -o /dev/null "$url/v1/vms" && break; sleep 0.1; done
run "failed authentication" "condo_wrong" /v1/vms
