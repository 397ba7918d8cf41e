#!/usr/bin/env bash
# condo img verbs that change images in place: resize (raw and qcow2,
# growing the L1 table, shrinking), rebase (safe and -u, onto another file
# of the chain, onto nothing; the refcount table growing as the file does),
# commit (into raw and qcow2 bases, -d) and their bad operands.  Debian's
# qemu-img is the oracle: every image condo changed must pass
# `qemu-img check` and read as qemu-img expects.
#   CONDO=build/condo tests/block/edit.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	skip "qemu-img or qemu-io is not installed (qemu-utils)"
	finish
fi

RUN_TIMEOUT=120 # run (lib.sh): growing tables and copying take a while on a slow machine

# check NAME IMAGE: qemu-img finds no error and no leak.
check() {
	if qemu-img check -q "$2" >"$1.check" 2>&1; then ok "$1"; else bad "$1" "qemu-img check: $(tr '\n' ' ' <"$1.check" | head -c 300)"; fi
}

# same NAME IMAGE RAW: IMAGE reads (through qemu-img) as RAW.
same() {
	if qemu-img compare -q -F raw "$2" "$3" 2>"$1.cmp"; then ok "$1"; else bad "$1" "$2 differs from $3 $(head -c 200 "$1.cmp")"; fi
}

size_of() { qemu-img info --output json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])'; }
backing_of() { qemu-img info --output json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename", ""))'; }
io() { qemu-io "$@" >/dev/null; }

rand_file base.raw $((4 << 20)) 7

if wanted resize; then
	cp base.raw r.raw
	run resize-raw-grow 0 "" img resize r.raw +1M
	[ "$(stat -c %s r.raw)" = $((5 << 20)) ] && cmp -s -n $((4 << 20)) r.raw base.raw &&
		ok resize-raw-data || bad resize-raw-data "size $(stat -c %s r.raw)"
	run resize-raw-shrink-refused 1 "give --shrink" img resize r.raw 1M
	run resize-raw-shrink 0 "" img resize --shrink r.raw -3M
	[ "$(stat -c %s r.raw)" = $((2 << 20)) ] && cmp -s r.raw <(head -c $((2 << 20)) base.raw) &&
		ok resize-raw-shrunk || bad resize-raw-shrunk "size $(stat -c %s r.raw)"

	# 512-byte clusters: one L1 cluster maps 2 MiB, so 64 MiB needs a new L1 table.
	qemu-img create -q -f qcow2 -o cluster_size=512 small.qcow2 1M
	io -c "write -P 0x5a 4k 8k" small.qcow2
	run resize-qcow2-l1 0 "" img resize small.qcow2 64M
	[ "$(size_of small.qcow2)" = $((64 << 20)) ] && ok resize-qcow2-size || bad resize-qcow2-size "$(size_of small.qcow2)"
	check resize-qcow2-clean small.qcow2
	qemu-io -c "read -P 0x5a 4k 8k" -c "read -P 0 1M 63M" small.qcow2 >io.out 2>&1 &&
		! grep -q "fail\|mismatch" io.out && ok resize-qcow2-read || bad resize-qcow2-read "$(head -3 io.out)"
	# and condo writes past the old end of the L1 table
	rand_file tail.raw $((64 << 20)) 3
	qemu-img rebase -q -u -b tail.raw -F raw small.qcow2
	run resize-qcow2-fill 0 "" img rebase -b "" small.qcow2
	check resize-qcow2-fill-clean small.qcow2
	qemu-io -c "write -P 0x5a 4k 8k" tail.raw -f raw >/dev/null
	same resize-qcow2-fill-data small.qcow2 tail.raw

	# growing then shrinking an overlay: the cut-off clusters are given back
	qemu-img create -q -f qcow2 -b base.raw -F raw ov.qcow2
	run resize-overlay-grow 0 "" img resize ov.qcow2 +100G
	io -c "write -P 0x33 100G 64k" -c "write -P 0x44 1M 64k" ov.qcow2
	run resize-overlay-shrink 0 "" img resize --shrink ov.qcow2 4M
	check resize-overlay-clean ov.qcow2
	[ "$(stat -c %s ov.qcow2)" -lt $((2 << 20)) ] && ok resize-overlay-small || bad resize-overlay-small "$(stat -c %s ov.qcow2) bytes"
	cp base.raw want.raw
	io -f raw -c "write -P 0x44 1M 64k" want.raw
	same resize-overlay-data ov.qcow2 want.raw

	run resize-bad-size 2 "bad size '1X'" img resize r.raw 1X
	run resize-negative 1 "size out of range" img resize --shrink r.raw -9M
	run resize-operands 2 "wrong number of operands" img resize r.raw
	run resize-missing 1 "nope.qcow2" img resize nope.qcow2 1M
	run resize-help 0 "" img resize --help
fi

if wanted rebase; then
	# base.raw <- mid.qcow2 <- top.qcow2
	qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2
	io -c "write -P 0x21 0 100k" -c "write -z 1M 64k" mid.qcow2
	qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
	io -c "write -P 0x42 50k 10k" top.qcow2
	qemu-img convert -O raw top.qcow2 top.want
	run rebase-safe 0 "" img rebase -b base.raw -F raw top.qcow2
	same rebase-safe-data top.qcow2 top.want
	check rebase-safe-clean top.qcow2
	[ "$(backing_of top.qcow2)" = base.raw ] && ok rebase-safe-name || bad rebase-safe-name "$(backing_of top.qcow2)"
	# onto nothing: the overlay holds the whole disk
	run rebase-none 0 "" img rebase -b "" top.qcow2
	same rebase-none-data top.qcow2 top.want
	[ -z "$(backing_of top.qcow2)" ] && ok rebase-none-name || bad rebase-none-name "$(backing_of top.qcow2)"
	check rebase-none-clean top.qcow2
	# -u: only the name; the format is probed when -F is not given
	qemu-img create -q -f qcow2 -b base.raw -F raw u.qcow2
	io -c "write -P 0x11 0 4k" u.qcow2
	mkdir moved && cp base.raw moved/renamed.raw
	run rebase-unsafe 0 "" img rebase -u -b moved/renamed.raw u.qcow2
	[ "$(backing_of u.qcow2)" = moved/renamed.raw ] && ok rebase-unsafe-name || bad rebase-unsafe-name "$(backing_of u.qcow2)"
	qemu-img info --output json u.qcow2 | grep -q '"backing-filename-format": "raw"' &&
		ok rebase-unsafe-format || bad rebase-unsafe-format "no raw format stored"
	check rebase-unsafe-clean u.qcow2
	run rebase-unsafe-missing-F 0 "" img rebase -u -F raw -b gone.raw u.qcow2
	run rebase-unsafe-missing 1 "gone.raw" img rebase -u -b gone.raw u.qcow2
	# a version 2 image keeps QEMU's other header extensions readable
	qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw v2.qcow2
	run rebase-v2 0 "" img rebase -u -b moved/renamed.raw -F raw v2.qcow2
	check rebase-v2-clean v2.qcow2
	[ "$(backing_of v2.qcow2)" = moved/renamed.raw ] && ok rebase-v2-name || bad rebase-v2-name "$(backing_of v2.qcow2)"
	# loops and bad names
	qemu-img create -q -f qcow2 -b base.raw -F raw l1.qcow2
	qemu-img create -q -f qcow2 -b l1.qcow2 -F qcow2 l2.qcow2
	run rebase-loop 1 "loop" img rebase -b l2.qcow2 l1.qcow2
	run rebase-self 1 "loop" img rebase -b l1.qcow2 l1.qcow2
	run rebase-dotdot 2 "climbs" img rebase -b ../base.raw l1.qcow2
	run rebase-no-b 2 "-b BACKING is needed" img rebase l1.qcow2
	run rebase-raw 1 "not a qcow2 image" img rebase -b moved/renamed.raw -F raw base.raw
	check rebase-untouched l1.qcow2

	# 512-byte clusters: 30 MiB outgrows the refcount table qemu-img made
	rand_file big.raw $((30 << 20)) 5
	qemu-img create -q -f qcow2 -o cluster_size=512 -b big.raw -F raw grow.qcow2
	run rebase-grow-rct 0 "" img rebase -b "" grow.qcow2
	same rebase-grow-rct-data grow.qcow2 big.raw
	check rebase-grow-rct-clean grow.qcow2
fi

if wanted commit; then
	cp base.raw cbase.raw
	qemu-img create -q -f qcow2 -b cbase.raw -F raw c.qcow2
	io -c "write -P 0x7a 1M 64k" -c "write -z 2M 64k" -c "write -P 0x33 3000k 8k" c.qcow2
	qemu-img convert -O raw c.qcow2 c.want
	run commit-raw 0 "" img commit c.qcow2
	cmp -s cbase.raw c.want && ok commit-raw-base || bad commit-raw-base "the base differs from the overlay's disk"
	same commit-raw-read c.qcow2 c.want
	check commit-raw-clean c.qcow2
	"$condo" img map --output json c.qcow2 >map.json
	python3 -c 'import json; assert {e["kind"] for e in json.load(open("map.json"))} == {"backing"}' &&
		ok commit-emptied || bad commit-emptied "$(head -c 200 map.json)"
	# -d keeps the overlay's data; a qcow2 base smaller than the overlay grows
	qemu-img create -q -f qcow2 qbase.qcow2 1M
	io -c "write -P 0x01 0 1M" qbase.qcow2
	qemu-img create -q -f qcow2 -b qbase.qcow2 -F qcow2 q.qcow2 3M
	io -c "write -P 0x02 2M 64k" q.qcow2
	qemu-img convert -O raw q.qcow2 q.want
	run commit-keep 0 "" img commit -d q.qcow2
	same commit-keep-base qbase.qcow2 q.want
	check commit-keep-base-clean qbase.qcow2
	"$condo" img map --output json q.qcow2 >map.json
	python3 -c 'import json; assert "data" in {e["kind"] for e in json.load(open("map.json"))}' &&
		ok commit-keep-data || bad commit-keep-data "$(head -c 200 map.json)"
	run commit-no-backing 1 "has no backing file" img commit qbase.qcow2
	run commit-raw-image 1 "has no backing file" img commit base.raw
	run commit-missing 1 "nope.qcow2" img commit nope.qcow2
	# a base in use (locked read-write by another holder) is not written
	qemu-img create -q -f qcow2 -b cbase.raw -F raw c2.qcow2
	io -c "write -P 0x7a 0 4k" c2.qcow2
	cp cbase.raw cbase.before
	(flock -x 9 && run commit-locked 1 "in use" img commit c2.qcow2) 9<cbase.raw
	cmp -s cbase.raw cbase.before && ok commit-locked-base || bad commit-locked-base "changed"
	check commit-locked-clean c2.qcow2
fi
finish
