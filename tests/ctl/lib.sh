# What the condod tests share: counting, a fresh data directory, condod
# started in it, and api/expect to talk to it over its socket (each
# exchange kept in exchanges/ for api_check.py, docs/api.yaml).
# Sourced by tests/ctl/*.sh; sets work, data, condo, condod and here.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pattern=${1:-}
# The store's layout (condod --data-isolation): each suite runs under both.
isolation=${CONDOD_ISOLATION:-shared}
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
finish() { echo "${suite:-ctl} ($isolation): $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit; }
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
condo=$(abs "${CONDO:?CONDO is not set}")
condod=$(abs "${CONDOD:?CONDOD is not set}")

gdir=${CONDO_GUEST_DIR:-${CONDO_CACHE:-$HOME/.cache/condo}/guest}
if [ ! -r "$gdir/Image" ]; then
	skip=$((skip + 1))
	echo "SKIP: no default guest in $gdir (make guest)"
	finish
fi
if ! command -v curl >/dev/null; then
	skip=$((skip + 1))
	echo "SKIP: curl is not installed"
	finish
fi

work=$(mktemp -d /tmp/condo-ctl.XXXXXX)
data=$work/data
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	# Every VMM this test started: they outlive condod by design.
	pkill -KILL -f -- "--image-dir $work/" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
mkdir exchanges
export CONDOD_DATA=$data

start_condod() {
	# No failure is forgiven during the test: the limit is not a matter of timing.
	"$condod" --data "$data" --auth-limit 8/3600 >>condod.log 2>&1 &
	dpid=$!
	for _ in $(seq 100); do [ -S "$data/condod.sock" ] && return 0; sleep 0.1; done
	return 1
}
# api TOKEN METHOD PATH [BODY]: prints the HTTP status, the body into out;
# the exchange is kept in exchanges/ for api_check.py (docs/api.yaml)
api() {
	local st ex
	st=$(curl -s -o out -w '%{http_code} %{content_type}' --unix-socket "$data/condod.sock" \
		-H "Authorization: Bearer $1" -X "$2" "http://condod$3" ${4:+--data-binary "$4"})
	ex=$(mktemp exchanges/XXXXXXXX) # api often runs in a subshell: no counter
	printf '%s\n%s\n%s\n%s\n' "$2" "$3" "${st%% *}" "${st#* }" >"$ex.meta"
	cp out "$ex.body"
	echo "${st%% *}"
}
# expect NAME STATUS TOKEN METHOD PATH [BODY]
expect() {
	local name=$1 want=$2
	shift 2
	local got
	got=$(api "$@")
	if [ "$got" = "$want" ]; then ok "$name"; else bad "$name" "HTTP $got, want $want: $(head -c 200 out)"; fi
}
ctl() { "$condo" ctl --token "$tok" "$@"; }
field() { python3 -c "import json,sys; print(json.load(open('out'))$1)"; }

mk_token() { api "$optok" POST "/v1/tenants/$1/tokens" "{\"role\":\"$2\"}" >/dev/null && field '["token"]'; }
# booted TOKEN VM: the guest's banner on its console
booted() {
	# Up to 3 minutes: a sanitizer build on a busy machine boots slowly.
	for _ in $(seq 900); do
		api "$1" GET "/v1/vms/$2/console" >/dev/null
		grep -q "condo-guest: Linux" out && return 0
		sleep 0.2
	done
	return 1
}
# Every exchange kept in exchanges/ against docs/api.yaml (needs Debian's
# python3-yaml and python3-jsonschema; else a counted SKIP).
check_api_description() {
	if /usr/bin/python3 -c 'import yaml, jsonschema' 2>/dev/null; then
		/usr/bin/python3 "$here/api_check.py" "$here/../../docs/api.yaml" exchanges >api.out 2>&1 &&
			ok "api-description ($(tail -1 api.out))" || bad api-description "$(head -5 api.out | tr '\n' ' ')"
	else
		skip=$((skip + 1))
		echo "SKIP: api-description: Debian's python3-yaml and python3-jsonschema are missing"
	fi
}
# in_guest TOKEN VM MARK COMMAND: type COMMAND on the VM's console; print
# the word that follows MARK- at the start of a line it prints
in_guest() {
	api "$1" POST "/v1/vms/$2/console" "$(python3 -c 'import json,sys; print(json.dumps({"input": sys.argv[1] + "\n"}))' "$4")" >/dev/null
	for _ in $(seq 600); do
		api "$1" GET "/v1/vms/$2/console" >/dev/null
		v=$(grep -a "^$3-[0-9a-z]" out | tail -1 | sed "s/^$3-//; s/[^0-9a-z].*//")
		[ -n "$v" ] && { echo "$v"; return 0; }
		sleep 0.2
	done
	return 1
}
# snapjob TOKEN: wait for the job named in out (a 202's "job") to end; its state
snapjob() {
	local job
	job=$(field '["job"]')
	for _ in $(seq 300); do
		api "$1" GET "/v1/jobs/$job" >/dev/null
		[ "$(field '["state"]')" != running ] && break
		sleep 0.2
	done
	field '["state"]'
}
