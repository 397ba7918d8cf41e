#!/usr/bin/env bash
# qcow2 interoperability with Debian's qemu-img, both ways:
#  - images qemu-img makes (empty, over raw and qcow2 backing files,
#    version 2, small clusters, compressed with zlib and zstd) read in condo
#    byte for byte as `qemu-img convert -O raw` reads them;
#  - images condo writes (created, converted, overlays written through
#    condo's block layer) pass `qemu-img check` and read back byte for byte.
#   CONDO=build/condo tests/block/interop.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v qemu-img >/dev/null; then
	skip "qemu-img is not installed (qemu-utils)"
	finish
fi

rand_file base.raw $((3 << 20)) 1
# Half of it zeros, so compression and zero detection matter.
head -c $((1 << 20)) /dev/zero >>base.raw

# same NAME IMAGE: condo and qemu-img read IMAGE as the same bytes.
same() {
	local name=$1 img=$2
	if ! "$condo" img convert -O raw "$img" "$name.condo.raw" 2>"$name.err"; then
		bad "$name" "condo cannot read it: $(head -1 "$name.err")"
	elif ! qemu-img convert -O raw "$img" "$name.qemu.raw"; then
		bad "$name" "qemu-img cannot read it"
	elif ! cmp -s "$name.condo.raw" "$name.qemu.raw"; then
		bad "$name" "condo and qemu-img read different bytes"
	else
		ok "$name"
	fi
}

# clean NAME IMAGE: qemu-img check finds nothing, not even leaks.
clean() {
	if qemu-img check -q "$2" >"$1.check" 2>&1; then
		ok "$1"
	else
		bad "$1" "qemu-img check: $(tr '\n' ' ' <"$1.check" | head -c 300)"
	fi
}

# --- qemu-img makes, condo reads ---------------------------------------------
if wanted qemu-to-condo; then
	qemu-img create -q -f qcow2 empty.qcow2 5M
	same qemu-to-condo-empty empty.qcow2
	qemu-img convert -O qcow2 base.raw plain.qcow2
	same qemu-to-condo-plain plain.qcow2
	qemu-img convert -O qcow2 -o compat=0.10 base.raw v2.qcow2
	same qemu-to-condo-v2 v2.qcow2
	qemu-img convert -O qcow2 -o cluster_size=4096 base.raw c4k.qcow2
	same qemu-to-condo-4k-clusters c4k.qcow2
	qemu-img convert -c -O qcow2 base.raw zlib.qcow2
	same qemu-to-condo-compressed-zlib zlib.qcow2
	if qemu-img convert -c -O qcow2 -o compression_type=zstd base.raw zstd.qcow2 2>/dev/null; then
		same qemu-to-condo-compressed-zstd zstd.qcow2
	else
		skip "qemu-img here cannot write zstd-compressed images"
	fi
	qemu-img create -q -f qcow2 -b base.raw -F raw over-raw.qcow2
	same qemu-to-condo-backing-raw over-raw.qcow2
	qemu-img create -q -f qcow2 -b plain.qcow2 -F qcow2 over-qcow2.qcow2
	# Some writes in the overlay, partial clusters and whole ones.
	qemu-io -c 'write -P 0x5a 100k 70k' -c 'write -z 1M 128k' -c 'write -P 7 3M 64k' \
		over-qcow2.qcow2 >/dev/null 2>&1 || true
	same qemu-to-condo-chain over-qcow2.qcow2
	qemu-img create -q -f qcow2 -b over-qcow2.qcow2 -F qcow2 top.qcow2 8M
	same qemu-to-condo-chain-larger-than-base top.qcow2
fi

# --- condo makes, qemu-img reads and checks ------------------------------------
if wanted condo-to-qemu; then
	"$condo" img create -f qcow2 c-empty.qcow2 10M && clean condo-to-qemu-create c-empty.qcow2
	"$condo" img convert -O qcow2 base.raw c-plain.qcow2 &&
		clean condo-to-qemu-convert-check c-plain.qcow2
	same condo-to-qemu-convert c-plain.qcow2
	qemu-img convert -O raw c-plain.qcow2 c-plain.raw
	if cmp -s c-plain.raw base.raw; then ok condo-to-qemu-bytes; else bad condo-to-qemu-bytes "differ"; fi
	"$condo" img convert -O qcow2 zlib.qcow2 c-from-compressed.qcow2 &&
		clean condo-to-qemu-from-compressed c-from-compressed.qcow2
	"$condo" img create -f qcow2 -b base.raw -F raw c-over.qcow2 &&
		clean condo-to-qemu-overlay-create c-over.qcow2
	same condo-to-qemu-overlay-reads-base c-over.qcow2
	if [ "$(qemu-img info --output json c-over.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["backing-filename-format"])')" = raw ]; then
		ok condo-to-qemu-backing-format
	else
		bad condo-to-qemu-backing-format "qemu-img does not see format raw"
	fi
	# Writes through condo's block layer into the overlay: test_block_qcow2
	# does the unit-level version; here the CLI's own writer (convert)
	# writes into a chain-backed image through a second convert.
	"$condo" img convert -O qcow2 over-qcow2.qcow2 c-chain-flat.qcow2 &&
		clean condo-to-qemu-chain-flatten c-chain-flat.qcow2
	same condo-to-qemu-chain-flatten-bytes c-chain-flat.qcow2
	"$condo" img convert -O raw c-chain-flat.qcow2 c-chain-flat.raw
	qemu-img convert -O raw over-qcow2.qcow2 q-chain.raw
	if cmp -s c-chain-flat.raw q-chain.raw; then ok condo-to-qemu-chain-bytes; else bad condo-to-qemu-chain-bytes differ; fi
	if "$condo" img check c-plain.qcow2 >/dev/null; then ok condo-check-clean; else bad condo-check-clean "condo img check complains"; fi
fi
finish
