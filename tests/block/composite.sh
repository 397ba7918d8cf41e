#!/usr/bin/env bash
# Composite disks (docs/img.md "Composite disks"): a descriptor of a raw
# file, a qcow2 overlay with its raw backing file and a read-only raw
# part.  img info (human, JSON) and map name the parts; convert to raw and
# qcow2 gives the parts' bytes end to end; each bad descriptor gets one
# line "condo: ..." and exit status 1.  Then the default guest writes
# across the raw/qcow2 boundary, and fails to write into the read-only
# part (alone, and straddling it), which stays unchanged on the host.
#   CONDO=build/condo tests/block/composite.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
console=$here/../guest/console.py
magic="condo-composite-disk v1"

rand_file p1.raw $((2 << 20)) 11
rand_file base2.raw $((2 << 20)) 12
rand_file ro.raw $((1 << 20)) 13
cp ro.raw ro.orig
"$condo" img create -f qcow2 -b base2.raw -F raw p2.qcow2 >/dev/null || { bad create "overlay"; finish; }
printf '%s\n# a raw part, a qcow2 overlay, a read-only part\np1.raw raw\n  p2.qcow2\tqcow2\nro.raw raw readonly\n' \
	"$magic" >disk.cmp
cat p1.raw base2.raw ro.raw >expect.raw

run info 0 "" img info disk.cmp
if grep -q "file format: composite" out && grep -q "part 3: ro.raw (raw, read-only) at 4194304, 1048576 bytes" out &&
	grep -q "backing file: base2.raw" out; then
	ok info-parts
else
	bad info-parts "$(head -c 400 out)"
fi
run info-json 0 "" img info --output json disk.cmp
if python3 -c 'import json; d=json.load(open("out")); c=d[0]; p=c["parts"]
assert c["format"] == "composite" and c["virtual-size"] == 5 << 20, c
assert [x["start"] for x in p] == [0, 2 << 20, 4 << 20] and p[2]["read-only"] and not p[0]["read-only"]
assert [x["format"] for x in d] == ["composite", "raw", "qcow2", "raw", "raw"], d'; then
	ok info-json-parts
else
	bad info-json-parts "$(head -c 400 out)"
fi
run map 0 "" img map disk.cmp
if grep -q "data in p1.raw" out && grep -q "backing in p2.qcow2" out && grep -q "data in ro.raw" out; then
	ok map-parts
else
	bad map-parts "$(head -c 400 out)"
fi
run convert-raw 0 "" img convert disk.cmp out.raw
if cmp -s out.raw expect.raw; then ok convert-raw-bytes; else bad convert-raw-bytes "differs"; fi
run convert-qcow2 0 "" img convert -O qcow2 disk.cmp out.qcow2
if command -v qemu-img >/dev/null; then
	qemu-img convert -O raw out.qcow2 back.raw
	if cmp -s back.raw expect.raw; then ok convert-qcow2-bytes; else bad convert-qcow2-bytes "differs"; fi
else
	skip "qemu-img is not installed (qemu-utils)"
fi
# an explicit size takes the start of a file
printf '%s\nro.raw raw size=512K\np1.raw raw readonly size=1K\n' "$magic" >sized.cmp
run info-sized 0 "" img info --output json sized.cmp
if python3 -c 'import json; assert json.load(open("out"))[0]["virtual-size"] == (512 << 10) + 1024'; then
	ok sized
else
	bad sized "$(head -c 300 out)"
fi
run format-explicit 0 "" img info -f composite disk.cmp

# bad descriptors: bad NAME 'WORDS' LINES...
bad_desc() {
	local name=$1 words=$2
	shift 2
	printf '%s\n' "$magic" "$@" >"$name.cmp"
	run "bad-$name" 1 "$words" img info "$name.cmp"
}
bad_desc format "line 2: part format 'vmdk' is not raw or qcow2" "p1.raw vmdk"
bad_desc nested "'composite' is not raw or qcow2" "disk.cmp composite"
bad_desc no-format "line 3: needs PATH FORMAT" "p1.raw raw" "ro.raw"
bad_desc word "unknown word 'rw'" "p1.raw raw rw"
bad_desc size "bad size '12Q'" "p1.raw raw size=12Q"
bad_desc size-big "size=4194304 is larger than p1.raw" "p1.raw raw size=4M"
bad_desc missing "cannot open disk image nope.raw" "p1.raw raw" "nope.raw raw"
bad_desc dotdot "climbs out" "../p1.raw raw"
bad_desc self "names itself" "self.cmp raw"
bad_desc twice "p1.raw is already part 1" "p1.raw raw" "p1.raw raw readonly"
bad_desc empty "no parts" "# nothing"
bad_desc qcow2-magic "not a qcow2 image" "p1.raw qcow2"
head -c 1000 p1.raw >odd.raw
bad_desc odd-size "odd.raw is 1000 bytes, not a positive multiple of 512" "odd.raw raw"
mapfile -t many < <(for i in $(seq 0 64); do echo "p$i.raw raw"; done)
bad_desc too-many "more than 64 parts" "${many[@]}"
printf '%s\np1.raw raw\0\n' "$magic" >nul.cmp
run bad-nul 1 "NUL byte" img info nul.cmp
run bad-not-composite 1 "not a composite disk" img info -f composite p1.raw
# a composite cannot be a qcow2 backing file
"$condo" img create -f qcow2 -b disk.cmp -F composite over.qcow2 >/dev/null 2>&1
if [ -f over.qcow2 ]; then
	run bad-as-backing 1 "cannot be a backing file" img info over.qcow2
else
	ok bad-as-backing-refused-at-create
fi
# a probed raw disk refuses a guest write of the descriptor magic (as qcow2's)
run drive-bad-format 2 "unknown format 'vmdk'" run --drive file=disk.cmp,format=vmdk

gdir=${CONDO_GUEST_DIR:-${CONDO_CACHE:-$HOME/.cache/condo}/guest}
if [ ! -r "$gdir/Image" ] || ! command -v qemu-img >/dev/null; then
	skip "guest test: no default guest in $gdir (make guest) or no qemu-img"
	finish
fi
# The guest: 8 KiB of a pattern at 2 MiB - 4 KiB (half in p1.raw, half in
# p2.qcow2); a write into ro.raw and one straddling p2/ro both fail.
python3 - <<'EOS'
d = bytearray(open("expect.raw", "rb").read())
pat = (b"condo-part\n" * 1000)[:8192]
d[(2 << 20) - 4096:(2 << 20) + 4096] = pat
open("guest-expect.raw", "wb").write(d)
EOS
sum=$(head -c $((4 << 20)) guest-expect.raw | md5sum | cut -d' ' -f1)
cat >guest.script <<EOS
expect # 
send yes condo-part | head -c 8192 | dd of=/dev/vda bs=4096 seek=511 conv=fsync 2>/dev/null; echo W1-\$((1+1))
expect W1-2
send dd if=/dev/zero of=/dev/vda bs=4096 seek=1024 count=1 conv=fsync 2>/dev/null || echo ROFAIL-\$((2+2))
expect ROFAIL-4
send dd if=/dev/zero of=/dev/vda bs=4096 seek=1023 count=2 conv=fsync 2>/dev/null || echo STRADDLE-\$((3+3))
expect STRADDLE-6
send echo 3 > /proc/sys/vm/drop_caches; head -c 4194304 /dev/vda | md5sum
expect $sum
send poweroff
exit 0
EOS
if CONSOLE_TIMEOUT=300 "$console" guest.script -- "$condo" run --drive file=disk.cmp >guest.log 2>&1; then
	ok guest-writes-across-parts
else
	bad guest-writes-across-parts "$(tail -5 guest.log | tr '\n' ' ')"
fi
if cmp -s ro.raw ro.orig; then ok readonly-part-unchanged; else bad readonly-part-unchanged "ro.raw changed"; fi
qemu-img convert -O raw p2.qcow2 p2.now
if cmp -s p1.raw <(head -c $((2 << 20)) guest-expect.raw) &&
	cmp -s p2.now <(tail -c +$(((2 << 20) + 1)) guest-expect.raw | head -c $((2 << 20))); then
	ok parts-hold-the-writes
else
	bad parts-hold-the-writes "p1.raw or p2.qcow2 differ from what the guest wrote"
fi
if qemu-img check -q p2.qcow2; then ok qcow2-part-check; else bad qcow2-part-check "qemu-img check"; fi
finish
