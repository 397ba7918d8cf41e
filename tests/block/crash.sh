#!/usr/bin/env bash
# Crash safety: a writer (crash_writer.c: condo's block layer, heavy random
# writes, zeroes and discards into a qcow2 overlay of a raw base) is killed
# with SIGKILL at random moments, CRASH_ROUNDS times (default 30), each run
# carrying on in the image the last one left.  After every kill qemu-img
# check must find no corruption (leaks are allowed) and the image must
# hold the generation the writer last reported flushed.  At the end condo
# img check -r leaks gives the leaks back and qemu-img finds it clean.
# Then the same, half as many rounds, on an image with 512-byte clusters
# made by qemu-img, whose refcount table the writes outgrow (condo moves
# it to a larger one while being killed).
#   CONDO=build/condo CRASH_WRITER=build/tests/block/crash_writer tests/block/crash.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v qemu-img >/dev/null; then
	skip "qemu-img is not installed (qemu-utils)"
	finish
fi
writer=${CRASH_WRITER:?CRASH_WRITER is not set}
case "$writer" in /*) ;; *) writer=$OLDPWD/$writer ;; esac
rounds=${CRASH_ROUNDS:-30}
# The first sector zero: the writer's generation counter starts at 0.
base() { rand_file "$1" $((4 << 20)) 3 && dd if=/dev/zero of="$1" bs=512 count=1 conv=notrunc status=none; }
base base.raw
"$condo" img create -f qcow2 -b base.raw -F raw disk.qcow2 16M || { bad create "failed"; finish; }
qemu-img create -q -f qcow2 -o cluster_size=512 -b base.raw -F raw small.qcow2 16M ||
	{ bad create-small "failed"; finish; }

RANDOM=42
# crash IMAGE ROUNDS
crash() {
	local img=$1 i st flushed stored
	for i in $(seq 1 "$2"); do
		"$writer" "$img" "$i" >gen.out 2>writer.err &
		pid=$!
		# A random moment: 20 to 400 ms in.
		sleep "0.$(printf %03d $((20 + RANDOM % 380)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		if [ -s writer.err ]; then
			bad "$img-round-$i" "writer failed: $(head -1 writer.err)"
			continue
		fi
		qemu-img check "$img" >check.out 2>&1
		st=$?
		if [ $st != 0 ] && [ $st != 3 ]; then
			bad "$img-round-$i" "qemu-img check status $st: $(grep -m3 -i error check.out | tr '\n' ' ')"
			cp "$img" "/tmp/condo-crash-round-$i.qcow2" 2>/dev/null
			continue
		fi
		flushed=$(tail -n 1 gen.out)
		stored=$("$condo" img convert -O raw "$img" now.raw && od -An -tu8 -N8 now.raw | tr -d ' ')
		if [ -n "$flushed" ] && { [ -z "$stored" ] || [ "$stored" -lt "$flushed" ]; }; then
			bad "$img-round-$i" "generation $flushed was flushed but the image holds ${stored:-nothing}"
			continue
		fi
		ok "$img-round-$i (check status $st, flushed generation ${flushed:-none})"
	done

	if "$condo" img check -r leaks "$img" >repair.out 2>&1 && qemu-img check -q "$img"; then
		ok "$img-repair-leaks"
	else
		bad "$img-repair-leaks" "$(tr '\n' ' ' <repair.out)"
	fi
}
crash disk.qcow2 "$rounds"
rct_clusters() { od -An -tu1 -j56 -N4 small.qcow2 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
# Most of the way to the end of what the first table counts (8 MiB of
# file), so the killed writers cross it; should a slow machine's rounds
# not get there, one more writer runs until it has, then is killed too.
qemu-io -c "write -P 0x5a 1M 7M" small.qcow2 >/dev/null
crash small.qcow2 $(((rounds + 1) / 2))
if [ "$(rct_clusters)" -le 1 ]; then
	"$writer" small.qcow2 999 >gen.out 2>writer.err &
	pid=$!
	for _ in $(seq 600); do [ "$(rct_clusters)" -gt 1 ] && break; sleep 0.2; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	qemu-img check small.qcow2 >check.out 2>&1
	st=$?
	[ $st = 0 ] || [ $st = 3 ] || bad small-final-round "qemu-img check status $st"
fi
if [ "$(rct_clusters)" -gt 1 ]; then ok small-rct-grew; else bad small-rct-grew "the refcount table never grew ($(rct_clusters) clusters)"; fi
base base.expect
if cmp -s base.raw base.expect; then ok base-unchanged; else bad base-unchanged "the backing file changed"; fi
finish
