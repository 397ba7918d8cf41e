#!/usr/bin/env bash
# condod and condo ctl end to end: init, two tenants with their own tokens
# and VMs (real guests: the default Linux guest over a qcow2 overlay of an
# imported image), isolation between them (another tenant's VM is 404 for
# every verb), roles, the quota race (50 concurrent creates at a quota of
# 10 leave exactly 10 VMs), bad requests (each its 4xx, the store
# unchanged), the failed-authentication limit, pause and resume,
# snapshots (taken, restored, the quota, isolation), a VMM
# crash and the restart policies, a daemon restart with the VMs kept, and
# the audit log.
#   CONDO=build/condo CONDOD=build/condod tests/ctl/run.sh [NAME-PATTERN]
. "$(dirname "$0")/lib.sh"

# --- init, options ---
"$condod" --help | grep -q "condod init" && ok condod-help || bad condod-help "no usage"
"$condod" --auth-limit 5 2>err; [ $? = 2 ] && grep -q "not N/SECONDS" err && ok condod-bad-auth-limit || bad condod-bad-auth-limit "$(cat err)"
"$condod" --frobnicate 2>err; [ $? = 2 ] && [ "$(wc -l <err)" = 1 ] && ok condod-bad-option || bad condod-bad-option "$(cat err)"
optok=$("$condod" init --data "$data" --data-isolation "$isolation" 2>init.err)
[[ $optok == condo_* ]] && ok init || { bad init "$(cat init.err)"; finish; }
[ "$(python3 "$here/store.py" "$data" layout | cut -d' ' -f1)" = "$isolation" ] && ok "init-$isolation" ||
	bad "init-$isolation" "$(python3 "$here/store.py" "$data" layout)"
"$condod" init --data "$data" >/dev/null 2>err
[ $? = 1 ] && grep -q "already initialised" err && ok init-twice || bad init-twice "$(cat err)"
other=shared; [ "$isolation" = shared ] && other=per-tenant
"$condod" --data "$data" --data-isolation "$other" 2>err; [ $? = 1 ] && grep -q "was made with --data-isolation $isolation" err &&
	ok isolation-mismatch || bad isolation-mismatch "$(cat err)"
"$condod" --data "$data" --data-isolation private 2>err; [ $? = 2 ] && grep -q "not shared or per-tenant" err &&
	ok isolation-bad || bad isolation-bad "$(cat err)"
start_condod && ok start || { bad start "$(cat condod.log)"; finish; }
tok=$optok

# --- tenants, tokens, the image ---
expect tenant-a 201 "$optok" POST /v1/tenants '{"name":"a","quota":{"vms":4}}'
ta=$(field '["id"]')
expect tenant-b 201 "$optok" POST /v1/tenants '{"name":"b"}'
tb=$(field '["id"]')
expect tenant-dup 409 "$optok" POST /v1/tenants '{"name":"a"}'
a_user=$(mk_token "$ta" tenant-user)
a_ro=$(mk_token "$ta" read-only)
b_admin=$(mk_token "$tb" tenant-admin)
head -c $((16 << 20)) /dev/urandom >base.raw
ctl image import base base.raw >/dev/null && ok image-import || bad image-import "$(tail -1 condod.log)"
"$condo" ctl --token "$a_user" image import mine base.raw 2>err >/dev/null
[ $? = 1 ] && grep -q "only the operator" err && ok image-import-tenant-refused || bad image-import-tenant-refused "$(cat err)"

# a tenant-private image: a job the tenant sees, and no other
expect image-private 202 "$optok" POST /v1/images "{\"name\":\"apriv\",\"path\":\"$work/base.raw\",\"tenant\":\"$ta\"}"
job=$(field '["job"]') pimg=$(field '["image"]')
for _ in $(seq 100); do api "$a_user" GET "/v1/jobs/$job" >/dev/null; [ "$(field '["state"]')" = done ] && break; sleep 0.1; done
[ "$(field '["state"]')" = done ] && [ "$(field '["progress"]')" = 1.0 ] && ok image-job-done || bad image-job-done "$(head -c 300 out)"
expect image-job-other 404 "$b_admin" GET "/v1/jobs/$job"
expect image-private-other 404 "$b_admin" GET "/v1/images/$pimg"
expect image-bad-source 400 "$optok" POST /v1/images '{"name":"nope","path":"/nonexistent/disk.img"}'

# --- VMs of two tenants ---
expect vm-a1 201 "$a_user" POST /v1/vms '{"name":"a1","image":"base","memory_mib":64,"restart":"on-failure"}'
a1=$(field '["id"]')
expect vm-b1 201 "$b_admin" POST /v1/vms '{"name":"b1","image":"base","memory_mib":64}'
b1=$(field '["id"]')
booted "$a_user" "$a1" && ok vm-a1-boots || bad vm-a1-boots "console: $(tail -c 300 out)"
booted "$b_admin" "$b1" && ok vm-b1-boots || bad vm-b1-boots "console: $(tail -c 300 out)"
pid_of() { python3 "$here/store.py" "$data" pid "$1"; }
[ "$(stat -c %u "/proc/$(pid_of "$a1")")" != 0 ] && ok vmm-not-root || bad vmm-not-root "the VMM runs as uid 0"
[ "$(stat -c %u "/proc/$(pid_of "$a1")")" != "$(stat -c %u "/proc/$(pid_of "$b1")")" ] &&
	ok vmm-own-uid || bad vmm-own-uid "two VMs share a uid"

# --- the layout: per-tenant, each tenant's VMs in a database of its own ---
if [ "$isolation" = per-tenant ]; then
	python3 - "$data" "$ta" "$tb" <<'EOF' && ok per-tenant-databases || bad per-tenant-databases "see above"
import sqlite3, sys
data, ta, tb = sys.argv[1:]
ctl = sqlite3.connect(f"{data}/condod.db")
assert not ctl.execute("select 1 from sqlite_master where name = 'vms'").fetchone(), "VMs in the control database"
for t in (ta, tb):
    d = sqlite3.connect(f"{data}/tenants/{t}/tenant.db")
    owners = {r[0] for r in d.execute("select tenant_id from vms")}
    assert owners == {t}, f"tenant {t}'s database holds VMs of {owners}"
EOF
	# a deleted tenant's database goes with it
	expect tenant-temp 201 "$optok" POST /v1/tenants '{"name":"temp"}'
	tt=$(field '["id"]')
	expect tenant-temp-vms 200 "$(mk_token "$tt" tenant-user)" GET /v1/vms
	[ -f "$data/tenants/$tt/tenant.db" ] && ok per-tenant-database-made || bad per-tenant-database-made "no $data/tenants/$tt/tenant.db"
	expect tenant-temp-delete 200 "$optok" DELETE "/v1/tenants/$tt"
	[ ! -e "$data/tenants/$tt/tenant.db" ] && ok per-tenant-database-gone || bad per-tenant-database-gone "the database remains"
fi

# --- isolation: B never sees A's VM, by any verb ---
expect iso-get 404 "$b_admin" GET "/v1/vms/$a1"
expect iso-stop 404 "$b_admin" POST "/v1/vms/$a1/stop"
expect iso-delete 404 "$b_admin" DELETE "/v1/vms/$a1"
expect iso-console 404 "$b_admin" GET "/v1/vms/$a1/console"
expect iso-tenant 404 "$b_admin" GET "/v1/tenants/$ta"
expect iso-tokens 404 "$b_admin" POST "/v1/tenants/$ta/tokens" '{"role":"tenant-admin"}'
expect iso-create-for-a 404 "$b_admin" POST /v1/vms "{\"name\":\"x\",\"image\":\"base\",\"tenant\":\"$ta\"}"
expect iso-list 200 "$b_admin" GET /v1/vms
python3 -c "import json; assert [v['name'] for v in json.load(open('out'))] == ['b1']" && ok iso-list-own ||
	bad iso-list-own "$(head -c 300 out)"
expect iso-audit 404 "$b_admin" GET /v1/audit
# roles
expect role-ro-create 403 "$a_ro" POST /v1/vms '{"name":"r","image":"base"}'
expect role-ro-stop 403 "$a_ro" POST "/v1/vms/$a1/stop"
expect role-ro-get 200 "$a_ro" GET "/v1/vms/$a1"
expect role-user-tokens 403 "$a_user" GET "/v1/tenants/$ta/tokens"
expect role-user-tenant 403 "$a_user" POST /v1/tenants '{"name":"c"}'

# --- the console: input, a stream that picks up where it left off ---
expect console-input 200 "$a_user" POST "/v1/vms/$a1/console" '{"input":"echo sum-$((20+22))\n"}'
for _ in $(seq 100); do api "$a_user" GET "/v1/vms/$a1/console" >/dev/null; grep -q "^sum-42" out && break; sleep 0.1; done
grep -q "^sum-42" out && ok console-echo || bad console-echo "$(tail -c 200 out)"
expect console-input-other 404 "$b_admin" POST "/v1/vms/$a1/console" '{"input":"reboot\n"}'
expect console-input-ro 403 "$a_ro" POST "/v1/vms/$a1/console" '{"input":"reboot\n"}'
expect console-input-type 400 "$a_user" POST "/v1/vms/$a1/console" '{"input":7}'
expect console-from-without-follow 400 "$a_user" GET "/v1/vms/$a1/console?from=3"
# follow from byte 0 sees the boot banner; then from the end sees only new output
timeout 3 curl -sN -D hdr --unix-socket "$data/condod.sock" -H "Authorization: Bearer $a_user" \
	"http://condod/v1/vms/$a1/console?follow=1&from=0" >follow.out
grep -q "condo-guest: Linux" follow.out && ok console-follow || bad console-follow "$(head -c 200 follow.out)"
end=$(stat -c %s "$data/tenants/$ta/vms/$a1/console.log")
(timeout 4 curl -sN --unix-socket "$data/condod.sock" -H "Authorization: Bearer $a_user" \
	"http://condod/v1/vms/$a1/console?follow=1&from=$end" >follow2.out &)
sleep 1
api "$a_user" POST "/v1/vms/$a1/console" '{"input":"echo again-$((1+1))\n"}' >/dev/null
sleep 2
grep -q "^again-2" follow2.out && ! grep -q "condo-guest: Linux" follow2.out && ok console-follow-from ||
	bad console-follow-from "$(head -c 200 follow2.out)"
"$condo" ctl --token "$a_user" vm console a1 --follow >ctl-follow.out &
cf=$!

# the console over a WebSocket: typing and watching; a read-only token
# watches but may not type; another tenant is 404 before any upgrade
ws() { timeout 60 /usr/bin/python3 "$here/ws_client.py" "$data/condod.sock" "$@"; }
ws "$a_user" "/v1/vms/$a1/console" --want "ws-25" 'echo ws-$((5*5))\n' >ws.out 2>&1 &&
	ok ws-console || bad ws-console "$(tail -c 300 ws.out)"
ws "$a_ro" "/v1/vms/$a1/console" 'reboot\n' >ws.out 2>&1
grep -q "close 1008" ws.out && ok ws-readonly || bad ws-readonly "$(tail -c 200 ws.out)"
ws "$a_user" "/v1/vms/$a1/console" --raw-unmasked 'x' >ws.out 2>&1
grep -q "close 1002" ws.out && ok ws-unmasked || bad ws-unmasked "$(tail -c 200 ws.out)"
ws "$b_admin" "/v1/vms/$a1/console" 'x' >ws.out 2>&1
grep -q " 404 " ws.out && ok ws-other-tenant || bad ws-other-tenant "$(tail -c 200 ws.out)"
got=$(curl -s -o out -w '%{http_code}' --unix-socket "$data/condod.sock" -H "Authorization: Bearer $a_user" \
	-H "Upgrade: websocket" -H "Connection: Upgrade" -H "Sec-WebSocket-Version: 8" \
	"http://condod/v1/vms/$a1/console")
[ "$got" = 400 ] && ok ws-bad-version || bad ws-bad-version "HTTP $got"

# --- metering: the VM's counters reach its tenant's usage, and only it ---
api "$a_user" POST "/v1/vms/$a1/console" '{"input":"dd if=/dev/vda of=/dev/null bs=64k count=64 iflag=direct 2>/dev/null; echo dd-done\n"}' >/dev/null
usage_of() { api "$1" GET "/v1/usage?tenant=$2&step=60" >/dev/null; python3 -c "import json; t = json.load(open('out')).get('total') or {}; print(t.get('$3', 0))"; }
for _ in $(seq 150); do
	[ "$(usage_of "$a_user" "$ta" disk_read_bytes)" -ge $((4 << 20)) ] 2>/dev/null && break
	sleep 0.2
done
python3 - <<'EOS' && ok meter-usage || bad meter-usage "$(head -c 400 out)"
import json
u = json.load(open("out"))
t = u["total"]
assert t["instructions"] > 1000000 and t["cpu_seconds"] > 0 and t["memory_mib_seconds"] > 0, t
assert t["disk_read_bytes"] >= 4 << 20 and t["disk_read_ops"] > 0, t
assert sum(b["instructions"] for b in u["buckets"]) == t["instructions"], "buckets add up"
EOS
expect meter-other-tenant 404 "$b_admin" GET "/v1/usage?tenant=$ta"
expect meter-bad-step 400 "$a_user" GET "/v1/usage?step=0"
expect metrics-tenant 404 "$a_user" GET /metrics
expect metrics 200 "$optok" GET /metrics
grep -q "^condo_vm_instructions_total{tenant_id=\"$ta\",tenant=\"a\",vm_id=\"$a1\",vm=\"a1\"} [1-9]" out &&
	ok metrics-vm || bad metrics-vm "$(grep instructions_total out | head -3)"

# --- CPU shares: a tenant's VMs together stay within its share of the host ---
ncores=$(nproc)
share=$(((50 + ncores - 1) / ncores)) # about half a core
expect tenant-s 201 "$optok" POST /v1/tenants "{\"name\":\"s\",\"cpu_share\":$share}"
s_user=$(mk_token "$(field '["id"]')" tenant-user)
expect vm-s1 201 "$s_user" POST /v1/vms '{"name":"s1","image":"base","memory_mib":64}'
s1=$(field '["id"]')
expect vm-s2 201 "$s_user" POST /v1/vms '{"name":"s2","image":"base","memory_mib":64}'
s2=$(field '["id"]')
if booted "$s_user" "$s1" && booted "$s_user" "$s2"; then
	for v in "$s1" "$s2"; do
		api "$s_user" POST "/v1/vms/$v/console" '{"input":"while :; do :; done &\n"}' >/dev/null
	done
	sleep 3 # the limit files follow the second VM within two seconds
	cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
	p1=$(pid_of "$s1") p2=$(pid_of "$s2")
	c0=$(( $(cpu_of "$p1") + $(cpu_of "$p2") )) w0=$EPOCHREALTIME
	sleep 6
	c1=$(( $(cpu_of "$p1") + $(cpu_of "$p2") )) w1=$EPOCHREALTIME
	used=$(awk -v c="$((c1 - c0))" -v t="$(getconf CLK_TCK)" -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", c / t / (b - a) }')
	allowed=$(awk -v s="$share" -v n="$ncores" 'BEGIN { printf "%.3f", s / 100 * n }')
	# Only the upper bound is asserted: a busy machine may give the VMs less.
	awk -v u="$used" -v a="$allowed" 'BEGIN { exit !(u <= a * 1.1) }' &&
		ok "cpu-share (two busy VMs used $used cores of the $allowed allowed)" ||
		bad cpu-share "two busy VMs used $used cores, more than 110% of the $allowed allowed"
else
	bad cpu-share "the VMs did not boot"
fi
for v in "$s1" "$s2"; do api "$s_user" DELETE "/v1/vms/$v" >/dev/null; done

# --- pause and resume (through the VMM's control socket): input typed
# while paused is answered only after the resume ---
# console_wait TOKEN VM PATTERN [TRIES]: until the console shows PATTERN
console_wait() {
	for _ in $(seq "${4:-150}"); do
		api "$1" GET "/v1/vms/$2/console" >/dev/null
		grep -q "$3" out && return 0
		sleep 0.2
	done
	return 1
}
expect pause 200 "$a_user" POST "/v1/vms/$a1/pause"
expect pause-again 409 "$a_user" POST "/v1/vms/$a1/pause"
api "$a_user" POST "/v1/vms/$a1/console" '{"input":"echo woke-$((6*7))\n"}' >/dev/null
! console_wait "$a_user" "$a1" "^woke-42" 10 && ok pause-holds || bad pause-holds "the paused guest answered"
expect resume 200 "$a_user" POST "/v1/vms/$a1/resume"
console_wait "$a_user" "$a1" "^woke-42" && ok resume-runs || bad resume-runs "$(tail -c 200 out)"

# --- snapshots: save a1, change its memory and disk, restore: both as
# they were; the snapshot quota; another tenant sees none of it ---
api "$a_user" POST "/v1/vms/$a1/console" '{"input":"echo one >/tmp/f; echo disk-A | dd of=/dev/vda bs=512 seek=100 conv=sync,notrunc 2>/dev/null; sync; echo marked-$((1+0))\n"}' >/dev/null
console_wait "$a_user" "$a1" "^marked-1" || bad snap-marked "$(tail -c 200 out)"
expect snap-create 202 "$a_user" POST "/v1/vms/$a1/snapshots" '{"name":"s1"}'
snap=$(field '["snapshot"]')
[ "$(snapjob "$a_user")" = done ] && ok snap-job-done || bad snap-job-done "$(head -c 300 out)"
expect snap-get 200 "$a_user" GET "/v1/snapshots/$snap"
[ "$(field '["state"]')" = ready ] && [ "$(field '["bytes"]')" -gt 0 ] && [ "$(field '["vm"]')" = "$a1" ] &&
	ok snap-ready || bad snap-ready "$(head -c 300 out)"
[ -f "$data/tenants/$ta/snapshots/$snap/manifest.json" ] && ok snap-in-tenant-dir || bad snap-in-tenant-dir "no manifest"
expect snap-dup 409 "$a_user" POST "/v1/vms/$a1/snapshots" '{"name":"s1"}'
expect snap-bad-name 400 "$a_user" POST "/v1/vms/$a1/snapshots" '{"name":"../x"}'
expect snap-bad-type 400 "$a_user" POST "/v1/vms/$a1/snapshots" '{"name":7}'
expect snap-bad-field 400 "$a_user" POST "/v1/vms/$a1/snapshots" '{"name":"x","when":"now"}'
expect snap-ro 403 "$a_ro" POST "/v1/vms/$a1/snapshots" '{"name":"x"}'
expect snap-ro-list 200 "$a_ro" GET "/v1/vms/$a1/snapshots"
expect snap-other-create 404 "$b_admin" POST "/v1/vms/$a1/snapshots" '{"name":"x"}'
expect snap-other-get 404 "$b_admin" GET "/v1/snapshots/$snap"
expect snap-other-restore 404 "$b_admin" POST "/v1/snapshots/$snap/restore"
expect snap-other-delete 404 "$b_admin" DELETE "/v1/snapshots/$snap"
expect snap-other-list 200 "$b_admin" GET /v1/snapshots
[ "$(cat out)" = "[]" ] && ok snap-other-list-empty || bad snap-other-list-empty "$(head -c 200 out)"
# the quota: one snapshot in use of one allowed
expect snap-quota-set 200 "$optok" PATCH "/v1/tenants/$ta" '{"quota":{"snapshots":1}}'
expect snap-quota 409 "$a_user" POST "/v1/vms/$a1/snapshots" '{"name":"s2"}'
expect snap-quota-back 200 "$optok" PATCH "/v1/tenants/$ta" '{"quota":{"snapshots":20}}'
[ "$(field '["usage"]["snapshots"]')" = 1 ] && ok snap-usage || bad snap-usage "$(head -c 300 out)"
# change the guest's memory and disk, then go back
api "$a_user" POST "/v1/vms/$a1/console" '{"input":"echo two >/tmp/f; echo disk-B | dd of=/dev/vda bs=512 seek=100 conv=sync,notrunc 2>/dev/null; sync; echo marked-$((1+1))\n"}' >/dev/null
console_wait "$a_user" "$a1" "^marked-2" || bad snap-marked-2 "$(tail -c 200 out)"
oldpid=$(pid_of "$a1")
expect snap-restore 200 "$a_user" POST "/v1/snapshots/$snap/restore"
[ "$(pid_of "$a1")" != "$oldpid" ] && ok snap-restore-new-vmm || bad snap-restore-new-vmm "the same VMM runs"
api "$a_user" POST "/v1/vms/$a1/console" '{"input":"echo mem=$(cat /tmp/f) disk=$(dd if=/dev/vda bs=512 skip=100 count=1 iflag=direct 2>/dev/null | head -c 6)\n"}' >/dev/null
console_wait "$a_user" "$a1" "^mem=one disk=disk-A" && ok snap-restored-state || bad snap-restored-state "$(tail -c 300 out)"
backing_of() { # the backing file a qcow2 header names (the VMM holds the image's lock)
	python3 -c "import struct,sys; f=open(sys.argv[1],'rb'); h=f.read(20); o,n=struct.unpack('>QI',h[8:20]); f.seek(o); print(f.read(n).decode())" "$1"
}
b=$(backing_of "$data/tenants/$ta/vms/$a1/disk.qcow2")
[[ $b == "$data/images/"* ]] && ok snap-disk-own || bad snap-disk-own "backing file '$b'"
# the snapshot can go: the VM's disk is its own
expect snap-delete 200 "$a_user" DELETE "/v1/snapshots/$snap"
[ ! -e "$data/tenants/$ta/snapshots/$snap" ] && ok snap-delete-files || bad snap-delete-files "its directory remains"
expect snap-gone 404 "$a_user" GET "/v1/snapshots/$snap"
# two at once: the second waits for the control socket, both are made
racers=()
for cs in c1 c2; do
	curl -s -o "$cs.out" --unix-socket "$data/condod.sock" -H "Authorization: Bearer $a_user" \
		-X POST "http://condod/v1/vms/$a1/snapshots" --data-binary "{\"name\":\"$cs\"}" &
	racers+=($!)
done
wait "${racers[@]}"
for cs in c1 c2; do
	cp "$cs.out" out
	[ "$(snapjob "$a_user")" = done ] && ok "snap-concurrent-$cs" || bad "snap-concurrent-$cs" "$(head -c 300 out)"
	api "$a_user" DELETE "/v1/snapshots/$(python3 -c "import json; print(json.load(open('$cs.out'))['snapshot'])")" >/dev/null
done
# condo ctl: create (a job with its progress), list, restore, delete
"$condo" ctl --token "$a_user" snapshot create a1 s3 >ctl.out 2>&1 && grep -q "ready" ctl.out &&
	ok ctl-snapshot-create || bad ctl-snapshot-create "$(cat ctl.out)"
"$condo" ctl --token "$a_user" snapshot list --vm a1 >ctl.out 2>&1 && grep -q "s3" ctl.out &&
	ok ctl-snapshot-list || bad ctl-snapshot-list "$(cat ctl.out)"
"$condo" ctl --token "$a_user" snapshot restore s3 >ctl.out 2>&1 && ok ctl-snapshot-restore || bad ctl-snapshot-restore "$(cat ctl.out)"
"$condo" ctl --token "$b_admin" snapshot show s3 >/dev/null 2>err
[ $? = 3 ] && ok ctl-snapshot-other-3 || bad ctl-snapshot-other-3 "$(cat err)"
"$condo" ctl --token "$a_user" snapshot create a1 2>err
[ $? = 2 ] && ok ctl-snapshot-usage || bad ctl-snapshot-usage "$(cat err)"
api "$a_user" POST "/v1/vms/$a1/console" '{"input":"echo again-$(cat /tmp/f)\n"}' >/dev/null
console_wait "$a_user" "$a1" "^again-one" && ok snap-restored-again || bad snap-restored-again "$(tail -c 300 out)"

# --- a VMM crash: on-failure restarts it, never records it ---
old=$(pid_of "$a1")
kill -KILL "$old"
for _ in $(seq 50); do api "$a_user" GET "/v1/vms/$a1" >/dev/null; [ "$(field '["restarts"]')" = 1 ] && break; sleep 0.2; done
[ "$(field '["restarts"]')" = 1 ] && [ "$(field '["state"]')" = running ] && [ "$(pid_of "$a1")" != "$old" ] &&
	ok crash-restarted || bad crash-restarted "$(head -c 300 out)"
kill -KILL "$(pid_of "$b1")"
for _ in $(seq 50); do api "$b_admin" GET "/v1/vms/$b1" >/dev/null; [ "$(field '["state"]')" = crashed ] && break; sleep 0.2; done
[ "$(field '["state"]')" = crashed ] && [ "$(field '["exit_status"]')" = 137 ] && ok crash-recorded ||
	bad crash-recorded "$(head -c 300 out)"
expect crash-other-untouched 200 "$a_user" GET "/v1/vms/$a1"
[ "$(field '["state"]')" = running ] && ok crash-isolated || bad crash-isolated "$(head -c 200 out)"

# --- bad requests: each its 4xx, nothing stored changes ---
snapshot() { python3 "$here/store.py" "$data" dump; }
snapshot >before
expect bad-json 400 "$optok" POST /v1/tenants '{"name": '
expect bad-not-object 400 "$optok" POST /v1/tenants '[1,2]'
expect bad-unknown-field 400 "$optok" POST /v1/tenants '{"name":"z","colour":"red"}'
expect bad-type 400 "$optok" POST /v1/tenants '{"name":42}'
expect bad-quota-type 400 "$optok" POST /v1/tenants '{"name":"z","quota":{"vms":"many"}}'
expect bad-name 400 "$optok" POST /v1/tenants '{"name":"../etc"}'
expect bad-duplicate-key 400 "$optok" POST /v1/tenants '{"name":"z","name":"y"}'
expect bad-vcpus 400 "$a_user" POST /v1/vms '{"name":"z","image":"base","vcpus":99}'
expect bad-image 404 "$a_user" POST /v1/vms '{"name":"z","image":"nope"}'
expect bad-restart 400 "$a_user" POST /v1/vms '{"name":"z","image":"base","restart":"sometimes"}'
python3 -c "print('{\"name\":\"' + 'x' * 100000 + '\"}')" >huge.json
got=$(curl -s -o out -w '%{http_code}' --unix-socket "$data/condod.sock" -H "Authorization: Bearer $optok" \
	-X POST http://condod/v1/tenants --data-binary @huge.json)
[ "$got" = 413 ] && ok bad-huge-body || bad bad-huge-body "HTTP $got"
expect bad-no-token 401 "" GET /v1/vms
expect bad-no-token-post 401 "" POST /v1/tenants '{"name":"z"}'
expect bad-forged-token 401 "condo_$(head -c 32 /dev/urandom | base64 | tr -d '=+/\n' | head -c 43)" GET /v1/vms
expect bad-method 405 "$optok" PUT /v1/tenants
expect bad-path 404 "$optok" GET /v1/nothing
snapshot >after
cmp -s before after && ok bad-store-unchanged || bad bad-store-unchanged "$(diff before after | head -5)"
# --- the quota race: 50 concurrent creates at a quota of 10 ---
expect tenant-q 201 "$optok" POST /v1/tenants '{"name":"q","quota":{"vms":10}}'
q_user=$(mk_token "$(field '["id"]')" tenant-user)
racers=()
for i in $(seq 50); do
	curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$data/condod.sock" \
		-H "Authorization: Bearer $q_user" -X POST http://condod/v1/vms \
		--data-binary "{\"name\":\"q$i\",\"image\":\"base\",\"start\":false}" >"race.$i" &
	racers+=($!)
done
wait "${racers[@]}" # not condod, also a child
created=$(cat race.* | grep -c '^201$')
refused=$(cat race.* | grep -c '^409$')
"$condo" ctl --token "$q_user" --output json vm list >list.json
listed=$(python3 -c "import json; print(len(json.load(open('list.json'))))")
[ "$created" = 10 ] && [ "$refused" = 40 ] && [ "$listed" = 10 ] && ok quota-race ||
	bad quota-race "$created created, $refused refused, $listed listed"

# --- condo ctl ---
ctl vm list >ctl.out && grep -q "a1" ctl.out && grep -q "b1" ctl.out && ok ctl-operator-list || bad ctl-operator-list "$(cat ctl.out)"
"$condo" ctl --token "$b_admin" vm show a1 >/dev/null 2>err
[ $? = 3 ] && ok ctl-other-tenant-3 || bad ctl-other-tenant-3 "$(cat err)"
"$condo" ctl --token "$a_user" vm console a1 | grep -q "condo-guest" && ok ctl-console || bad ctl-console "no guest output"
"$condo" ctl --socket "$work/nope.sock" vm list 2>err
[ $? = 4 ] && [ "$(wc -l <err)" = 1 ] && ok ctl-no-daemon || bad ctl-no-daemon "$(cat err)"
"$condo" ctl --output yaml vm list 2>err
[ $? = 2 ] && ok ctl-bad-output || bad ctl-bad-output "$(cat err)"

insns_before=$(usage_of "$optok" "$ta" instructions)
[ "$insns_before" -gt 0 ] && ok meter-before-restart || bad meter-before-restart "no instructions metered"

# --- the failed-authentication limit (8 here): then 429 even for a good
# token, until condod restarts (or, in a real deployment, time forgives) ---
for _ in $(seq 8); do
	curl -s -o /dev/null --unix-socket "$data/condod.sock" -H "Authorization: Bearer wrong" \
		http://condod/v1/vms
done
expect auth-limited 429 "$optok" GET /v1/vms

# --- a daemon restart keeps the running VMs, and the meters ---
a1pid=$(pid_of "$a1")
kill -TERM "$dpid" && wait "$dpid"
[ $? = 0 ] && ok stop-graceful || bad stop-graceful "condod exited badly"
dpid=
kill -0 "$a1pid" 2>/dev/null && ok vm-outlives-condod || bad vm-outlives-condod "the VMM went with condod"
start_condod && ok restart || bad restart "$(tail -3 condod.log)"
expect reattached 200 "$a_user" GET "/v1/vms/$a1"
[ "$(field '["state"]')" = running ] && [ "$(pid_of "$a1")" = "$a1pid" ] && ok reattached-running ||
	bad reattached-running "$(head -c 200 out)"
for _ in $(seq 150); do
	python3 -c "import sys; sys.exit(not $(usage_of "$optok" "$ta" instructions) > $insns_before)" && break
	sleep 0.2
done
python3 -c "import sys; sys.exit(not $(usage_of "$optok" "$ta" instructions) > $insns_before)" &&
	ok meter-survives-restart || bad meter-survives-restart "instructions $insns_before before, $(usage_of "$optok" "$ta" instructions) after"
expect stop-after-restart 200 "$a_user" POST "/v1/vms/$a1/stop"
expect console-input-stopped 409 "$a_user" POST "/v1/vms/$a1/console" '{"input":"x"}'
kill -0 "$a1pid" 2>/dev/null && bad stopped-gone "the VMM still runs" || ok stopped-gone
expect delete 200 "$a_user" DELETE "/v1/vms/$a1"
[ ! -e "$data/tenants/$ta/vms/$a1" ] && ok delete-files || bad delete-files "the VM's directory remains"
[ -z "$(ls "$data/tenants/$ta/snapshots" 2>/dev/null)" ] && ok delete-snapshots || bad delete-snapshots "$(ls "$data/tenants/$ta/snapshots")"

# a follower started before the crash, the restarts and the daemon restart
# ends when its VMM went (the crash), having seen the output up to then
wait "$cf"
[ $? = 0 ] && grep -q "again-2" ctl-follow.out && ok ctl-console-follow-ends || bad ctl-console-follow-ends "$(tail -c 200 ctl-follow.out)"

# --- the audit log ---
expect audit 200 "$optok" GET /v1/audit
python3 - <<'EOF' && ok audit-entries || bad audit-entries "$(head -c 300 out)"
import json
log = json.load(open("out"))
assert not [e for e in log if e["method"] == "GET"], "GETs are not audited"
assert any(e["path"] == "/v1/tenants" and e["status"] == 201 for e in log)
assert any(e["status"] == 401 for e in log), "failed authentication is audited"
assert any(e["status"] == 409 and "quota" in e["detail"] for e in log)
assert sum(1 for e in log if e["path"] == "/v1/vms" and e["method"] == "POST") >= 52
EOF

# --- every exchange against the OpenAPI description ---
check_api_description
finish
