#!/usr/bin/env bash
# condo img on the command line: --help for img and each verb, bad
# options and operands (one line "condo: ...", exit status 2), bad files
# (exit status 1), and what each verb does: create sizes, info (human and
# JSON), map, check finding and repairing leaks and clearing the dirty and
# corrupt marks, --drive format= rules in condo run.
#   CONDO=build/condo tests/block/cli.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run help-img 0 "" img --help
grep -q "Verbs:" out || bad help-img-text "no verb list"
for verb in create info check convert map resize commit rebase; do
	run "help-$verb" 0 "" img "$verb" --help
	grep -q "^Usage: condo img $verb" out || bad "help-$verb-text" "no usage line"
done
run no-verb 2 "" img
run unknown-verb 2 "unknown verb 'frobnicate'" img frobnicate
run unknown-option 2 "unknown option" img info --frob x
run bad-format 2 "unknown format 'vmdk'" img create -f vmdk x.img 1M
run bad-size 2 "bad size '12Q'" img create x.qcow2 12Q
run no-size 2 "a SIZE is needed" img create x.qcow2
run raw-with-backing 2 "only qcow2" img create -f raw -b b.raw x.img
run too-many-operands 2 "wrong number of operands" img info a b
run bad-repair 2 "-r takes leaks or all" img check -r some x.qcow2
run bad-output 2 "--output takes human or json" img info --output xml x.qcow2
run missing-file 1 "cannot open disk image nope.qcow2" img info nope.qcow2
run missing-backing 1 "nope.raw" img create -b nope.raw x.qcow2
run dotdot-backing 1 "climbs" img create -b ../b.raw x.qcow2

# create: sizes with suffixes, a raw file sparse at its size
run create-qcow2-T 0 "" img create big.qcow2 2T
run create-raw 0 "" img create -f raw r.img 3M
if [ "$(stat -c %s r.img)" = $((3 << 20)) ]; then ok raw-size; else bad raw-size "$(stat -c %s r.img)"; fi
run info-json 0 "" img info --output json big.qcow2
if python3 -c 'import json,sys; d=json.load(open("out"))[0]; assert d["virtual-size"] == 2 << 40 and d["format"] == "qcow2" and d["cluster-size"] == 65536'; then
	ok info-json-fields
else
	bad info-json-fields "$(head -c 300 out)"
fi
# an overlay: info shows the chain, map shows backing then data
rand_file base.raw $((1 << 20)) 9
run create-overlay 0 "" img create -b base.raw -F raw over.qcow2
run info-chain 0 "" img info over.qcow2
if grep -q "backing file: base.raw" out && grep -q "image: .*base.raw" out; then ok info-chain-text; else bad info-chain-text "$(head -c 300 out)"; fi
run map-overlay 0 "" img map --output json over.qcow2
if python3 -c 'import json; m=json.load(open("out")); assert [e["kind"] for e in m] == ["backing"] and m[0]["length"] == 1 << 20'; then
	ok map-backing
else
	bad map-backing "$(head -c 300 out)"
fi

# check: a leak made by hand is found (status 3), repaired, and gone
if wanted check-leak; then
	"$condo" img create leak.qcow2 1M
	# refcount block 0 is cluster 2 (create's layout); cluster 6 gets refcount 1
	printf '\x00\x01' | dd of=leak.qcow2 bs=1 seek=$((2 * 65536 + 12)) conv=notrunc status=none
	truncate -s $((7 * 65536)) leak.qcow2
	run check-leak-found 3 "" img check leak.qcow2
	grep -q "1 leaked clusters" out || bad check-leak-count "$(cat out)"
	run check-leak-repair 0 "" img check -r leaks leak.qcow2
	run check-leak-gone 0 "" img check leak.qcow2
	if command -v qemu-img >/dev/null; then
		qemu-img check -q leak.qcow2 && ok check-leak-qemu || bad check-leak-qemu "qemu-img disagrees"
	fi
fi
# dirty and corrupt marks: refused read-write, cleared by check -r all
if wanted marks; then
	"$condo" img create marked.qcow2 1M
	printf '\x00\x00\x00\x00\x00\x00\x00\x03' | dd of=marked.qcow2 bs=1 seek=72 conv=notrunc status=none
	run marks-refused 1 "marked corrupt" run --drive file=marked.qcow2
	run marks-readonly-ok 0 "" img info marked.qcow2
	run marks-repair 0 "" img check -r all marked.qcow2
	run marks-cleared 0 "" img info --output json marked.qcow2
	python3 -c 'import json; d=json.load(open("out"))[0]; assert not d["dirty-flag"] and not d["format-specific"]["data"]["corrupt"]' &&
		ok marks-cleared-json || bad marks-cleared-json "$(head -c 300 out)"
fi
# --drive format= rules
"$condo" img create -f raw plain.raw 1M >/dev/null
run drive-format-mismatch 1 "is a qcow2 image, but format=raw" run --drive file=over.qcow2,format=raw
run drive-format-mismatch-2 1 "not a qcow2 image" run --drive file=plain.raw,format=qcow2
run drive-format-unknown 2 "unknown format 'vhd'" run --drive file=plain.raw,format=vhd
# --image-dir: backing files only beneath it, symbolic links followed
mkdir -p store tenant && cp plain.raw store/base.raw && ln -sf /etc store/etc
"$condo" img create -b "$PWD/store/base.raw" -F raw tenant/ok.qcow2 >/dev/null
"$condo" img create -b "$PWD/store/etc/hostname" -F raw tenant/link.qcow2 1M >/dev/null
"$condo" img create -b "$PWD/plain.raw" -F raw tenant/out.qcow2 >/dev/null
run image-dir-ok 0 "" img info --image-dir store tenant/ok.qcow2
run image-dir-outside 1 "lies outside --image-dir" img info --image-dir store tenant/out.qcow2
run image-dir-symlink 1 "lies outside --image-dir" img info --image-dir store tenant/link.qcow2
run image-dir-missing 1 "--image-dir nope" img info --image-dir nope tenant/ok.qcow2
run image-dir-run 1 "lies outside --image-dir" run --image-dir store --drive file=tenant/out.qcow2
run image-dir-commit 1 "lies outside --image-dir" img commit --image-dir store tenant/out.qcow2
# --drive cache=, discard=, aio=: documented in --help; bad values name the
# part and what it takes
run help-run-drive 0 "" run --help
grep -q "cache=writeback" out && grep -q "discard=ignore" out && grep -q "aio=auto" out ||
	bad help-run-drive-text "condo run --help does not describe cache=, discard=, aio="
run drive-cache-bad 2 "unknown cache 'directsync' (writeback, none or unsafe)" run --drive file=plain.raw,cache=directsync
run drive-cache-empty 2 "unknown cache ''" run --drive file=plain.raw,cache=
run drive-discard-bad 2 "unknown discard 'trim' (ignore or unmap)" run --drive file=plain.raw,discard=trim
run drive-aio-bad 2 "unknown aio 'native' (auto, threads or io_uring)" run --drive file=plain.raw,aio=native
run drive-aio-uring-qcow2 1 "only raw images are served through io_uring" run --drive file=over.qcow2,aio=io_uring
# dirty-bitmap= (changed-block tracking, docs/backup.md)
run help-run-dirty-bitmap 0 "" run --help
grep -q "dirty-bitmap=FILE" out || bad help-run-dirty-bitmap-text "condo run --help does not describe dirty-bitmap="
run drive-dirty-readonly 1 "dirty-bitmap= needs a writable drive" run --drive file=plain.raw,readonly=on,dirty-bitmap=plain.dirty
run drive-dirty-empty 2 "unknown or malformed part 'dirty-bitmap='" run --drive file=plain.raw,dirty-bitmap=
run drive-dirty-dir 1 "change tracking: cannot open nodir/x.dirty" run --drive file=plain.raw,dirty-bitmap=nodir/x.dirty
finish
