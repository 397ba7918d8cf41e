#!/usr/bin/env bash
# Backup and restore through condod (docs/backup.md), with real guests: a
# tenant's VM writes to its disk; a full backup, more writes, an
# incremental backup (only the changed chunks stored), a full one that
# stores nothing new (deduplicated); the VM is deleted and restored from
# each backup, and the guest reads the same checksum it wrote.  Then the
# repository is taken to a second condod (another host's, as far as it
# can tell) and restored there, with the VM's snapshot, which resumes
# there with its memory and disk.  Around it: another tenant sees none of
# it, roles, a damaged chunk or manifest and an exceeded quota fail the
# restore with nothing left behind.
#   CONDO=build/condo CONDOD=build/condod tests/ctl/backup.sh
suite=ctl-backup
. "$(dirname "$0")/lib.sh"

optok=$("$condod" init --data "$data" --data-isolation "$isolation" 2>init.err)
[[ $optok == condo_* ]] || { bad init "$(cat init.err)"; finish; }
start_condod || { bad start "$(cat condod.log)"; finish; }
tok=$optok
expect tenant 201 "$optok" POST /v1/tenants '{"name":"acme","quota":{"vms":2}}'
ta=$(field '["id"]')
expect tenant-other 201 "$optok" POST /v1/tenants '{"name":"other"}'
tb=$(field '["id"]')
admin=$(mk_token "$ta" tenant-admin)
user=$(mk_token "$ta" tenant-user)
other=$(mk_token "$tb" tenant-admin)
head -c $((8 << 20)) /dev/urandom >base.raw
ctl image import base base.raw >/dev/null || { bad image-import "$(tail -1 condod.log)"; finish; }

vm_id() { python3 -c "import json; print([v['id'] for v in json.load(open('out')) if v['name'] == '$1'][0])"; }
bctl() { "$condo" ctl --token "$admin" "$@"; }

expect vm-create 201 "$admin" POST /v1/vms '{"name":"web","image":"base","memory_mib":64}'
vm=$(field '["id"]')
booted "$admin" "$vm" || { bad boot "$(tail -c 300 out)"; finish; }
sum1=$(in_guest "$admin" "$vm" S1 'dd if=/dev/urandom of=/dev/vda bs=64k seek=16 count=32 conv=fsync 2>/dev/null; echo S1-$(md5sum </dev/vda)')
[ -n "$sum1" ] && ok guest-write-1 || { bad guest-write-1 "$(tail -c 300 out)"; finish; }

# a snapshot of web, with a mark in its memory only: the backups carry it
mark=$(in_guest "$admin" "$vm" M1 'echo keptinmemory >/tmp/mark; echo M1-ok')
expect snapshot 202 "$admin" POST "/v1/vms/$vm/snapshots" '{"name":"before"}'
[ "$mark" = ok ] && [ "$(snapjob "$admin")" = done ] && ok snapshot-made || bad snapshot-made "$(head -c 300 out)"

# --- full, incremental, deduplicated ---
expect backup-user-refused 403 "$user" POST /v1/backups '{}'
bctl --output json backup create >b1.json 2>err && ok backup-full || { bad backup-full "$(cat err; tail -3 condod.log)"; finish; }
b1=$(python3 -c "import json; print(json.load(open('b1.json'))['id'])")
python3 - <<'EOF' && ok backup-full-manifest || bad backup-full-manifest "$(cat b1.json)"
import json
b = json.load(open("b1.json"))
assert b["kind"] == "full" and b["parent"] is None and b["vms"] == ["web"], b
# the image (8 MiB) and the 2 MiB the guest wrote: 160 chunks at least
assert b["stored"]["chunks"] >= 160, b["stored"]
EOF
sum2=$(in_guest "$admin" "$vm" S2 'dd if=/dev/urandom of=/dev/vda bs=64k seek=100 count=1 conv=fsync 2>/dev/null; echo S2-$(md5sum </dev/vda)')
[ -n "$sum2" ] && [ "$sum2" != "$sum1" ] && ok guest-write-2 || bad guest-write-2 "$sum1 / $sum2"
bctl --output json backup create >b2.json 2>err && ok backup-incremental || bad backup-incremental "$(cat err)"
b2=$(python3 -c "import json; print(json.load(open('b2.json'))['id'])")
python3 - "$b1" <<'EOF' && ok backup-incremental-stores-changes || bad backup-incremental-stores-changes "$(cat b2.json)"
import json, sys
b = json.load(open("b2.json"))
assert b["kind"] == "incremental" and b["parent"] == sys.argv[1], b
# one 64 KiB granule written (and perhaps a neighbour the guest's page cache touched)
assert 1 <= b["stored"]["chunks"] <= 4, b["stored"]
EOF
bctl --output json backup create --full >b3.json 2>err && ok backup-full-again || bad backup-full-again "$(cat err)"
python3 -c "import json; b = json.load(open('b3.json')); assert b['kind'] == 'full' and b['stored']['chunks'] == 0, b" &&
	ok backup-dedup || bad backup-dedup "$(cat b3.json)"
bctl backup list >list.out 2>err && [ "$(grep -c acme list.out)" = 3 ] && ok backup-list || bad backup-list "$(cat list.out err)"

# --- another tenant sees nothing ---
expect other-list 200 "$other" GET /v1/backups
[ "$(cat out)" = "[]" ] && ok other-list-empty || bad other-list-empty "$(head -c 200 out)"
expect other-get 404 "$other" GET "/v1/backups/$b1"
expect other-restore 404 "$other" POST "/v1/backups/$b1/restore" '{}'
expect other-backup 404 "$other" POST /v1/backups "{\"tenant\":\"$ta\"}"
expect tenant-names-repo 403 "$admin" POST /v1/backups '{"repo":"/tmp"}'
expect backup-bad-field 400 "$admin" POST /v1/backups '{"fast":true}'
expect restore-name-without-vm 400 "$admin" POST "/v1/backups/$b1/restore" '{"name":"x"}'

# --- destroy, restore, the same data ---
expect delete 200 "$admin" DELETE "/v1/vms/$vm"
bctl restore "$b2" --start >restore.out 2>err && ok restore || { bad restore "$(cat err; tail -3 condod.log)"; finish; }
api "$admin" GET /v1/vms >/dev/null
vm2=$(vm_id web)
booted "$admin" "$vm2" && ok restore-boots || bad restore-boots "$(tail -c 300 out)"
got=$(in_guest "$admin" "$vm2" R2 'echo R2-$(md5sum </dev/vda)')
[ "$got" = "$sum2" ] && ok restore-same-data || bad restore-same-data "wrote $sum2, restored $got"
bctl restore "$b1" --vm web --name web-old >/dev/null 2>err && ok restore-one-renamed || bad restore-one-renamed "$(cat err)"
api "$admin" GET /v1/vms >/dev/null
old=$(vm_id web-old)
expect start-old 200 "$admin" POST "/v1/vms/$old/start"
booted "$admin" "$old" && got=$(in_guest "$admin" "$old" R1 'echo R1-$(md5sum </dev/vda)')
[ "$got" = "$sum1" ] && ok restore-first-backup || bad restore-first-backup "wrote $sum1, restored $got"
expect stop-old 200 "$admin" POST "/v1/vms/$old/stop"
# After a restore the disk's tracking is relative to no backup here: the
# next backup reads the disk whole, and stores nothing new.
bctl --output json backup create >b4.json 2>err &&
	python3 -c "import json; b = json.load(open('b4.json')); assert b['stored']['chunks'] <= 4, b" &&
	ok backup-after-restore || bad backup-after-restore "$(cat err b4.json)"

# --- restores that fail leave nothing behind ---
vms_now() { api "$optok" GET /v1/vms >/dev/null; python3 -c "import json; print(len(json.load(open('out'))))"; }
n=$(vms_now)
"$condo" ctl --token "$admin" restore "$b2" --vm web --name web-3 >/dev/null 2>err
[ $? = 1 ] && grep -q "quota" err && [ "$(vms_now)" = "$n" ] && ok restore-over-quota || bad restore-over-quota "$(cat err)"
"$condo" ctl --token "$admin" restore "$b2" --vm nosuch >/dev/null 2>err
[ $? = 1 ] && grep -q "holds no VM nosuch" err && ok restore-no-such-vm || bad restore-no-such-vm "$(cat err)"
expect delete-old 200 "$admin" DELETE "/v1/vms/$old"
n=$(vms_now)
chunk=$(python3 - "$data/backups" "$b2" <<'EOF'
import json, sys
m = json.load(open(f"{sys.argv[1]}/backups/{sys.argv[2]}/manifest.json"))
print([c for c in m["vms"][0]["disk"]["chunks"] if c[1] != "zero"][0][1])
EOF
)
cf=$data/backups/chunks/${chunk:0:2}/$chunk
cp "$cf" chunk.bak
printf 'X' | dd of="$cf" bs=1 seek=20 conv=notrunc 2>/dev/null
"$condo" ctl --token "$admin" restore "$b2" --vm web --name web-bad >/dev/null 2>err
[ $? = 1 ] && grep -q "is damaged" err && [ "$(vms_now)" = "$n" ] && ok restore-damaged-chunk || bad restore-damaged-chunk "$(cat err)"
[ -z "$(ls "$data/tenants/$ta/vms" | grep -v -e "$vm2")" ] && ok restore-damaged-no-files || bad restore-damaged-no-files "$(ls "$data/tenants/$ta/vms")"
cp chunk.bak "$cf"
cp "$data/backups/backups/$b1/manifest.json" manifest.bak
sed -i 's/"web"/"wxb"/' "$data/backups/backups/$b1/manifest.json"
expect restore-damaged-manifest 422 "$optok" POST "/v1/backups/$b1/restore" "{\"tenant\":\"$ta\"}"
expect restore-damaged-manifest-tenant 404 "$admin" POST "/v1/backups/$b1/restore" '{}'
cp manifest.bak "$data/backups/backups/$b1/manifest.json"
# a hostile manifest (a repository from elsewhere), checksum and all: a
# chunk named by a path, a chunk past the disk's end, an image name that
# is not a name; each restore fails and makes nothing
forge() { # forge NEW-ID PYTHON-EDIT
	python3 - "$data/backups" "$b1" "$1" "$2" <<'EOF'
import hashlib, json, os, sys
repo, src, new, edit = sys.argv[1:]
m = json.load(open(f"{repo}/backups/{src}/manifest.json"))
m["id"] = new
exec(edit)
text = json.dumps(m).encode()
os.makedirs(f"{repo}/backups/{new}", exist_ok=True)
open(f"{repo}/backups/{new}/manifest.json", "wb").write(text)
open(f"{repo}/backups/{new}/manifest.sum", "w").write(hashlib.blake2b(text, digest_size=32).hexdigest() + "\n")
EOF
}
n=$(vms_now)
forge 00000000000000a1 'm["vms"][0]["disk"]["chunks"][0][1] = "../../../../../../etc/passwd"'
"$condo" ctl --token "$admin" restore 00000000000000a1 --vm web --name evil1 >/dev/null 2>err
[ $? = 1 ] && grep -q "is damaged" err && [ "$(vms_now)" = "$n" ] && ok restore-forged-chunk-name || bad restore-forged-chunk-name "$(cat err)"
forge 00000000000000a2 'm["vms"][0]["disk"]["chunks"][0][0] = 1 << 40'
"$condo" ctl --token "$admin" restore 00000000000000a2 --vm web --name evil2 >/dev/null 2>err
[ $? = 1 ] && grep -q "outside its disk" err && [ "$(vms_now)" = "$n" ] && ok restore-forged-offset || bad restore-forged-offset "$(cat err)"
forge 00000000000000a3 'm["images"][0]["id"] = "ffffffffffffffff"; m["vms"][0]["image"]["id"] = "ffffffffffffffff"; m["images"][0]["name"] = "../../x"'
"$condo" ctl --token "$admin" restore 00000000000000a3 --vm web --name evil3 >/dev/null 2>err
[ $? = 1 ] && grep -q "damaged image entry" err && [ "$(vms_now)" = "$n" ] && ok restore-forged-image-name || bad restore-forged-image-name "$(cat err)"
rm -rf "$data/backups/backups/00000000000000a"?

# --- an NBD target: the disk, whole, then only what changed ---
expect nbd-tenant-refused 403 "$admin" POST /v1/backups '{"vm":"web","nbd":"nbd://127.0.0.1/x"}'
expect nbd-needs-vm 400 "$optok" POST /v1/backups "{\"tenant\":\"$ta\",\"nbd\":\"nbd+unix:///?socket=$work/nbd.sock\"}"
truncate -s 8M export.raw
"$condo" img serve -t -f raw --socket "$work/nbd.sock" export.raw >nbd.uri 2>nbd.err &
npid=$!
for _ in $(seq 100); do [ -S nbd.sock ] && break; sleep 0.1; done
uri="nbd+unix:///?socket=$work/nbd.sock"
ctl --output json backup create --tenant acme --vm web --nbd "$uri" >n1.json 2>err && ok nbd-backup || bad nbd-backup "$(cat err)"
sumn=$(in_guest "$admin" "$vm2" N1 'echo N1-$(md5sum </dev/vda)')
[ "$(md5sum <export.raw | cut -d' ' -f1)" = "$sumn" ] && ok nbd-export-holds-disk || bad nbd-export-holds-disk "export $(md5sum <export.raw), guest $sumn"
sumn2=$(in_guest "$admin" "$vm2" N2 'dd if=/dev/urandom of=/dev/vda bs=64k seek=7 count=1 conv=fsync 2>/dev/null; echo N2-$(md5sum </dev/vda)')
ctl --output json backup create --tenant acme --vm web --nbd "$uri" >n2.json 2>err && ok nbd-backup-incremental || bad nbd-backup-incremental "$(cat err)"
python3 -c "import json; b = json.load(open('n2.json')); assert b['kind'] == 'incremental' and 1 <= b['stored']['chunks'] <= 4 and b['target'], b" &&
	ok nbd-incremental-sends-changes || bad nbd-incremental-sends-changes "$(cat n2.json)"
[ "$(md5sum <export.raw | cut -d' ' -f1)" = "$sumn2" ] && ok nbd-export-updated || bad nbd-export-updated "export $(md5sum <export.raw), guest $sumn2"
n2=$(python3 -c "import json; print(json.load(open('n2.json'))['id'])")
expect nbd-restore-refused 409 "$optok" POST "/v1/backups/$n2/restore" '{}'
ctl image import fromnbd "$uri" --tenant acme >/dev/null 2>err && ok nbd-import || bad nbd-import "$(cat err)"
kill "$npid" 2>/dev/null
img=$(ctl --output json image show fromnbd | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$condo" img convert -O raw "$data/images/$img.qcow2" imported.raw 2>err && cmp -s export.raw imported.raw &&
	ok nbd-import-same || bad nbd-import-same "the imported image differs from the export: $(cat err)"

# --- deleting a backup, and the chunks no backup names ---
b3=$(python3 -c "import json; print(json.load(open('b3.json'))['id'])")
orphan=$data/backups/chunks/00/$(printf '0%.0s' $(seq 64))
mkdir -p "$(dirname "$orphan")" && echo "left by a backup cut short" >"$orphan"
expect delete-other 404 "$other" DELETE "/v1/backups/$b3"
expect delete-user 403 "$user" DELETE "/v1/backups/$b3"
chunks_before=$(find "$data/backups/chunks" -type f | wc -l)
bctl backup delete "$b3" 2>err && ok backup-delete || bad backup-delete "$(cat err)"
expect backup-deleted 404 "$admin" GET "/v1/backups/$b3"
[ ! -e "$orphan" ] && [ "$(find "$data/backups/chunks" -type f | wc -l)" = $((chunks_before - 1)) ] &&
	ok backup-delete-collects || bad backup-delete-collects "orphan: $(ls "$orphan" 2>&1), $chunks_before before, $(find "$data/backups/chunks" -type f | wc -l) after"
# a damaged manifest stops the collection: nothing is removed
echo "left by a backup cut short" >"$orphan"
printf 'X' | dd of="$data/backups/backups/$b1/manifest.json" bs=1 seek=5 conv=notrunc 2>/dev/null
bctl backup delete "$(python3 -c "import json; print(json.load(open('b4.json'))['id'])")" 2>err
[ $? = 1 ] && grep -q "does not match its checksum" err && [ -e "$orphan" ] && ok backup-delete-damaged-keeps ||
	bad backup-delete-damaged-keeps "$(cat err)"
cp manifest.bak "$data/backups/backups/$b1/manifest.json"
rm -f "$orphan"
bctl restore "$b1" --vm web --name web-b1 >/dev/null 2>err && ok restore-after-delete || bad restore-after-delete "$(cat err)"
api "$admin" GET /v1/vms >/dev/null
expect delete-web-b1 200 "$admin" DELETE "/v1/vms/$(vm_id web-b1)"

# --- on another host: the repository copied, a second condod ---
data2=$work/data2
optok2=$("$condod" init --data "$data2" --data-isolation "$isolation" 2>init.err)
"$condod" --data "$data2" >>condod2.log 2>&1 &
d2pid=$!
for _ in $(seq 100); do [ -S "$data2/condod.sock" ] && break; sleep 0.1; done
c2() { "$condo" ctl --socket "$data2/condod.sock" --token "$optok2" "$@"; }
cp -a "$data/backups" repo-copy
c2 tenant create acme >/dev/null 2>err || bad host2-tenant "$(cat err)"
c2 restore "$b2" --repo repo-copy --start >/dev/null 2>err && ok host2-restore || bad host2-restore "$(cat err; tail -3 condod2.log)"
c2 --output json image list >img2.json
python3 -c "import json; i = json.load(open('img2.json')); assert [x['name'] for x in i] == ['base'] and i[0]['tenant'], i" &&
	ok host2-image-rebuilt || bad host2-image-rebuilt "$(cat img2.json)"
c2 --output json vm list >vms2.json
h2vm=$(python3 -c "import json; print(json.load(open('vms2.json'))[0]['id'])")
data_save=$data
data=$data2 # api talks to the second condod now
booted "$optok2" "$h2vm" && got=$(in_guest "$optok2" "$h2vm" H2 'echo H2-$(md5sum </dev/vda)')
[ "$got" = "$sum2" ] && ok host2-same-data || bad host2-same-data "wrote $sum2, got $got"
# the snapshot came along: resumed there, its memory and disk as they were
api "$optok2" GET "/v1/vms/$h2vm/snapshots" >/dev/null
h2snap=$(python3 -c "import json; s = json.load(open('out')); assert [x['name'] for x in s] == ['before'], s; print(s[0]['id'])") &&
	ok host2-snapshot || bad host2-snapshot "$(head -c 300 out)"
expect host2-snapshot-restore 200 "$optok2" POST "/v1/snapshots/$h2snap/restore"
got=$(in_guest "$optok2" "$h2vm" H3 'echo H3-$(cat /tmp/mark)')
[ "$got" = keptinmemory ] && ok host2-snapshot-memory || bad host2-snapshot-memory "got '$got': $(tail -c 200 out)"
got=$(in_guest "$optok2" "$h2vm" H4 'echo H4-$(md5sum </dev/vda)')
[ "$got" = "$sum1" ] && ok host2-snapshot-disk || bad host2-snapshot-disk "wrote $sum1, got $got"
data=$data_save
kill "$d2pid"

# --- every exchange against the OpenAPI description ---
check_api_description
finish
