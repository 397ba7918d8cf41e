#!/usr/bin/env bash
# Hostile qcow2 images (made by hostile.py, one defect each): condo names
# the image and the field in one line "condo: ..." and exits 1, never
# crashes, never reads outside the image.  Header and table defects fail
# at open (img info); bad L2 and compressed entries fail on the read that
# meets them (img convert).  The same for `condo run --drive`.
#   CONDO=build/condo tests/block/hostile.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
python3 "$here/hostile.py" "$work/h" || { bad hostile.py "generator failed"; finish; }
cd "$work/h" || exit 1

# expect NAME WORDS VERB [ARGS]: `condo img VERB NAME.qcow2 ARGS` exits 1 with one
# stderr line "condo: NAME.qcow2...WORDS...".
expect() {
	local name=$1 words=$2 verb=$3
	shift 3
	wanted "$name" || return
	timeout -k 5 30 "$condo" img "$verb" "$name.qcow2" "$@" >out 2>err </dev/null
	local st=$? first
	first=$(grep -v '^condo: warning' err | head -n 1)
	if [ $st != 1 ]; then
		bad "$name" "exit status $st, expected 1 ($(head -c 200 err))"
	elif [ "$(grep -vc '^condo: warning' err)" != 1 ]; then
		bad "$name" "$(wc -l <err) lines on stderr: $(head -c 300 err)"
	elif [[ $first != "condo: "*"$name.qcow2"*"$words"* ]]; then
		bad "$name" "stderr does not name the image and '$words': $first"
	else
		ok "$name"
	fi
}

wanted valid && { "$condo" img info valid.qcow2 >/dev/null 2>err && ok valid || bad valid "$(head -1 err)"; }
expect truncated "truncated" info
expect bad-version "version" info
expect cluster-bits-huge "cluster_bits" info
expect cluster-bits-tiny "cluster_bits" info
expect size-huge "size" info
expect l1-size-huge "l1_size" info
expect l1-size-small "l1_size" info
expect l1-outside-file "l1_table_offset" info
expect l1-at-header "l1_table_offset" info
expect l1-misaligned "l1_table_offset" info
expect refcount-table-outside-file "refcount_table_offset" info
expect refcount-table-at-header "refcount_table_offset" info
expect refcount-table-clusters-huge "refcount_table_clusters" info
expect tables-overlap "overlap" info
expect encrypted "encrypted" info
expect unknown-incompatible-feature "incompatible features" info
expect external-data-file "external data" info
expect refcount-order-7 "refcount_order" info
expect header-length-bad "header_length" info
expect backing-dotdot "climbs" info
expect backing-missing "missing" info
expect backing-self-loop "loop" info
expect backing-loop-a "loop" info
expect backing-name-huge "backing_file_size" info
# The bound is met deep in the chain: the error names the image there.
if wanted deep-chain; then
	"$condo" img info deep-0.qcow2 >out 2>err
	st=$?
	if [ $st = 1 ] && [ "$(wc -l <err)" = 1 ] && grep -q "^condo: deep-16.qcow2: backing chain deeper than 16" err; then
		ok deep-chain
	else
		bad deep-chain "status $st: $(head -c 200 err)"
	fi
fi
expect l2-outside-file "outside the file" convert out.raw
expect l2-misaligned "misaligned" convert out.raw
expect compressed-outside-file "compressed cluster" convert out.raw
expect compressed-garbage "does not decompress" convert out.raw

# A hostile image as a VM's disk: the same one line, before the guest runs.
if wanted run-drive; then
	timeout -k 5 30 "$condo" run --drive file=l1-outside-file.qcow2 >out 2>err </dev/null
	st=$?
	if [ $st = 1 ] && grep -q "l1_table_offset" err; then ok run-drive; else bad run-drive "status $st: $(head -c 200 err)"; fi
fi
finish
