#!/usr/bin/env bash
# Tenants' networks through condod (docs/condod.md, "Networks"), with real
# guests: two VMs of tenant A on A's network "lan" ping each other; tenant
# B's VM on B's own "lan", with an address in the same subnet, reaches
# neither, and its meter shows it; B cannot name A's network; A's traffic
# shows in A's usage.
#   CONDO=build/condo CONDOD=build/condod tests/ctl/net.sh
suite=ctl-net
. "$(dirname "$0")/lib.sh"

optok=$("$condod" init --data "$data" --data-isolation "$isolation" 2>init.err)
[[ $optok == condo_* ]] || { bad init "$(cat init.err)"; finish; }
start_condod || { bad start "$(cat condod.log)"; finish; }
tok=$optok
expect tenant-a 201 "$optok" POST /v1/tenants '{"name":"a"}'
ta=$(field '["id"]')
expect tenant-b 201 "$optok" POST /v1/tenants '{"name":"b"}'
tb=$(field '["id"]')
a_admin=$(mk_token "$ta" tenant-admin)
a_user=$(mk_token "$ta" tenant-user)
b_admin=$(mk_token "$tb" tenant-admin)
head -c $((4 << 20)) /dev/urandom >base.raw
ctl image import base base.raw >/dev/null || { bad image-import "$(tail -1 condod.log)"; finish; }

# --- the resource ---
expect net-a 201 "$a_admin" POST /v1/networks '{"name":"lan"}'
na=$(field '["id"]')
# condo ctl's side, for B
"$condo" ctl --token "$b_admin" --output json network create lan >nb.json 2>err && ok net-b-ctl || bad net-b-ctl "$(cat err)"
nb=$(python3 -c "import json; print(json.load(open('nb.json'))['id'])")
expect net-dup 409 "$a_admin" POST /v1/networks '{"name":"lan"}'
expect net-user-refused 403 "$a_user" POST /v1/networks '{"name":"x"}'
expect net-bad-name 400 "$a_admin" POST /v1/networks '{"name":"../x"}'
expect net-other-get 404 "$b_admin" GET "/v1/networks/$na"
expect net-other-delete 404 "$b_admin" DELETE "/v1/networks/$na"
expect net-list 200 "$b_admin" GET /v1/networks
python3 -c "import json; assert [n['id'] for n in json.load(open('out'))] == ['$nb']" && ok net-list-own ||
	bad net-list-own "$(head -c 200 out)"
# B names A's network, by id or by name: it does not exist for B
expect vm-other-net-id 404 "$b_admin" POST /v1/vms "{\"name\":\"x\",\"image\":\"base\",\"memory_mib\":64,\"networks\":[\"$na\"]}"
expect vm-net-missing 404 "$a_user" POST /v1/vms '{"name":"x","image":"base","memory_mib":64,"networks":["wan"]}'
expect vm-net-twice 400 "$a_user" POST /v1/vms '{"name":"x","image":"base","memory_mib":64,"networks":["lan","lan"]}'
expect vm-net-type 400 "$a_user" POST /v1/vms '{"name":"x","image":"base","memory_mib":64,"networks":"lan"}'

# --- three VMs: A1 and A2 on A's lan, B1 on B's lan, all in 10.9.0.0/24 ---
expect vm-a1 201 "$a_user" POST /v1/vms '{"name":"a1","image":"base","memory_mib":64,"networks":["lan"]}'
a1=$(field '["id"]')
python3 -c "import json; assert json.load(open('out'))['networks'] == ['$na']" && ok vm-networks-shown ||
	bad vm-networks-shown "$(head -c 300 out)"
expect vm-a2 201 "$a_user" POST /v1/vms "{\"name\":\"a2\",\"image\":\"base\",\"memory_mib\":64,\"networks\":[\"$na\"]}"
a2=$(field '["id"]')
"$condo" ctl --token "$b_admin" --output json vm create b1 --image base --mem 64 --network lan >b1.json 2>err &&
	ok vm-b1-ctl || bad vm-b1-ctl "$(cat err)"
b1=$(python3 -c "import json; print(json.load(open('b1.json'))['id'])")
expect net-in-use 409 "$a_admin" DELETE "/v1/networks/$na"

n=1
for spec in "$a_user $a1" "$a_user $a2" "$b_admin $b1"; do
	set -- $spec
	booted "$1" "$2" || { bad "boot-$2" "$(tail -c 300 out)"; finish; }
	up=$(in_guest "$1" "$2" UP "ip addr add 10.9.0.$n/24 dev eth0 && ip link set eth0 up && echo UP-ok")
	[ "$up" = ok ] && ok "net-up-$n" || bad "net-up-$n" "$(tail -c 300 out)"
	n=$((n + 1))
done
got=$(in_guest "$a_user" "$a1" P1 'ping -c 3 -W 2 10.9.0.2 >/dev/null && echo P1-yes || echo P1-no')
[ "$got" = yes ] && ok same-network-ping || bad same-network-ping "a1 cannot reach a2: $got"
got=$(in_guest "$b_admin" "$b1" P2 'ping -c 3 -W 1 10.9.0.1 >/dev/null && echo P2-yes || echo P2-no')
[ "$got" = no ] && ok other-tenant-unreachable || bad other-tenant-unreachable "b1 reached a1: $got"
got=$(in_guest "$a_user" "$a1" P3 'ping -c 2 -W 1 10.9.0.3 >/dev/null && echo P3-yes || echo P3-no')
[ "$got" = no ] && ok other-tenant-unreachable-back || bad other-tenant-unreachable-back "a1 reached b1: $got"
# the switches are the tenants' own: A's socket in A's directory only
[ -S "$data/tenants/$ta/net/$na.sock" ] && [ ! -e "$data/tenants/$tb/net/$na.sock" ] &&
	[ -S "$data/tenants/$tb/net/$nb.sock" ] && ok switch-per-tenant || bad switch-per-tenant "$(ls -R "$data/tenants" | head -20)"

# --- metering: A's frames in A's usage ---
for _ in $(seq 40); do
	api "$a_user" GET "/v1/usage?tenant=$ta&step=60" >/dev/null
	python3 -c "import json,sys; t = json.load(open('out')).get('total') or {}; sys.exit(not (t.get('net_tx_bytes', 0) > 0 and t.get('net_rx_bytes', 0) > 0))" && break
	sleep 0.5
done
python3 -c "import json,sys; t = json.load(open('out')).get('total') or {}; sys.exit(not (t.get('net_tx_bytes', 0) > 0 and t.get('net_rx_bytes', 0) > 0))" &&
	ok net-metered || bad net-metered "$(head -c 400 out)"

for v in "$a1" "$a2"; do api "$a_user" DELETE "/v1/vms/$v" >/dev/null; done
expect net-delete 200 "$a_admin" DELETE "/v1/networks/$na"
expect net-deleted 404 "$a_admin" GET "/v1/networks/$na"

check_api_description
finish
