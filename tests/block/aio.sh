#!/usr/bin/env bash
# Block I/O off the vCPU threads (docs/virtio.md): the default guest copies
# a random source disk onto a raw and a qcow2 disk with several dd at once
# (several requests in flight), on io_uring and on the thread pool, and the
# host reads back exactly the source; --drive cache= (none: O_DIRECT,
# unsafe: a guest flush makes no fdatasync, writeback: it does) and
# discard= (ignore keeps the data, unmap frees it: `condo img map`, the
# file's allocated blocks); a guest rebooting with requests in flight;
# --meter counting what every engine moved.
#   CONDO=build/condo tests/block/aio.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
console=$here/../guest/console.py

gdir=${CONDO_GUEST_DIR:-${CONDO_CACHE:-$HOME/.cache/condo}/guest}
if [ ! -r "$gdir/Image" ]; then
	skip "no default guest in $gdir (make guest)"
	finish
fi
MiB=$((1 << 20))

# boot NAME SCRIPT CONDO-RUN-ARGS...: the guest runs SCRIPT's steps (then
# powers off); its console and condo's messages (CONDO_LOG=info) go to
# NAME.log.  boot_env: extra environment; runner: a command condo runs
# under.  Fails NAME when the guest does not get through.
boot_env=()
runner=()
boot() {
	local name=$1 script=$2
	shift 2
	{ printf 'expect # \n'; cat "$script"; printf 'send poweroff\nexit 0\n'; } >"$name.steps"
	if env "${boot_env[@]}" CONDO_LOG=info CONSOLE_TIMEOUT=300 CONSOLE_LOG="$name.log" \
		"$console" "$name.steps" -- "${runner[@]}" "$condo" run "$@" >"$name.err" 2>&1; then
		return 0
	fi
	bad "$name" "the guest did not get through: $(tail -5 "$name.err" | tr '\n' ' ')"
	return 1
}

# The most requests one disk had in flight at once, from condo's report.
most_inflight() {
	sed -n "s/^condo: $1: at most \([0-9]*\) requests were in flight.*/\1/p" "$2" | sort -n | tail -1
}

# qcow2 contents as raw bytes (condo's own reader: qemu-img is optional).
as_raw() { "$condo" img convert -O raw "$1" "$2" >/dev/null; }

rand_file src.raw $((8 * MiB)) 11
srcsum=$(md5sum <src.raw | cut -d' ' -f1)

# --- several requests in flight: three dd at once onto a raw and a qcow2
# disk, in 4 MiB direct transfers that Linux splits into requests of at
# most 1 MiB (seg_max) and hands over together: one notification, several
# requests in flight whatever the timing
cat >copy.script <<'EOS'
send dd if=/dev/vda of=/dev/vdb bs=4M count=1 oflag=direct 2>/dev/null & dd if=/dev/vda of=/dev/vdb bs=4M skip=1 seek=1 count=1 oflag=direct 2>/dev/null & dd if=/dev/vda of=/dev/vdc bs=4M count=2 oflag=direct 2>/dev/null & wait; echo COPIED-$((1+1))
expect COPIED-2
send echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vdb bs=64k iflag=direct 2>/dev/null | md5sum; dd if=/dev/vdc bs=64k iflag=direct 2>/dev/null | md5sum; echo READ-$((2+2))
expect READ-4
EOS

# copy_test NAME ENGINE DRIVE-OPTS: the copy, served by ENGINE (the log says).
copy_test() {
	local name=$1 engine=$2 opts=$3 why= n
	wanted "$name" || return
	truncate -s $((8 * MiB)) "$name.raw"
	"$condo" img create -f qcow2 "$name.qcow2" 8M >/dev/null || { bad "$name" "img create"; return; }
	boot "$name" copy.script --drive "file=src.raw,format=raw,readonly=on$opts" \
		--drive "file=$name.raw,format=raw$opts" --drive "file=$name.qcow2$opts" \
		--meter "$name.meter" || return
	cmp -s src.raw "$name.raw" || why="${why}the raw disk differs from the source; "
	{ as_raw "$name.qcow2" "$name.back" && cmp -s src.raw "$name.back"; } ||
		why="${why}the qcow2 disk differs from the source; "
	[ "$(grep -c "^$srcsum" "$name.log")" = 2 ] || why="${why}the guest read back other bytes; "
	grep -q "^condo: $name.raw: block I/O through $engine" "$name.log" ||
		why="${why}not served by $engine; "
	# metering counts what every engine moved: 16 MiB copied, read and written
	python3 -c "import struct; d = open('$name.meter', 'rb').read(); r, w = struct.unpack_from('<QQ', d, 40); assert r >= 16 << 20 and w >= 16 << 20, (r, w)" 2>/dev/null ||
		why="${why}the meter misses disk bytes; "
	n=$(most_inflight "$name.raw" "$name.log")
	[ "${n:-0}" -ge 2 ] || why="${why}at most ${n:-0} request(s) in flight on the raw disk; "
	[ -z "$why" ] && ok "$name" || bad "$name" "$why"
}

copy_test inflight-io-uring io_uring ""
copy_test inflight-threads threads ",aio=threads"
# io_uring refused (as by an old kernel or a sysctl): the pool takes over
boot_env=(CONDO_NO_IO_URING=1)
copy_test inflight-no-io-uring threads ""
boot_env=()

# --- cache=: none is O_DIRECT; unsafe makes no fdatasync for a guest flush
# (conv=fsync: Linux sends a FLUSH), writeback does (strace sees the pool's
# fdatasync; io_uring's is in the kernel)
cat >write.script <<'EOS'
send dd if=/dev/vda of=/dev/vdb bs=4096 count=1024 oflag=direct 2>/dev/null; dd if=/dev/vda of=/dev/vdb bs=512 skip=9000 seek=9000 count=7 conv=fsync 2>/dev/null; echo WROTE-$((1+1))
expect WROTE-2
send echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vdb bs=4096 count=1024 2>/dev/null | md5sum; echo READ-$((2+2))
expect READ-4
EOS
python3 - <<'EOS'
s = open("src.raw", "rb").read()
d = bytearray(8 << 20)
d[:4 << 20] = s[:4 << 20]
d[9000 * 512:9007 * 512] = s[9000 * 512:9007 * 512]
open("write.expect", "wb").write(d)
EOS
firstsum=$(head -c $((4 * MiB)) src.raw | md5sum | cut -d' ' -f1)

# cache_test NAME DRIVE-OPTS [RUN-ARGS...]: the guest's writes land and
# read back right.
cache_test() {
	local name=$1 opts=$2 why=
	shift 2
	truncate -s $((8 * MiB)) "$name.raw"
	boot "$name" write.script --drive file=src.raw,format=raw,readonly=on \
		--drive "file=$name.raw,format=raw$opts" "$@" || return 1
	cmp -s write.expect "$name.raw" || why="${why}the disk holds other bytes; "
	grep -q "^$firstsum" "$name.log" || why="${why}the guest read back other bytes; "
	[ -z "$why" ] || { bad "$name" "$why"; return 1; }
}

if wanted cache-none; then
	if cache_test cache-none ",cache=none"; then
		if grep -q "^condo: cache-none.raw: cache=none: O_DIRECT" cache-none.log; then
			ok cache-none
		else
			bad cache-none "no O_DIRECT: $(grep -a 'cache=none' cache-none.log)"
		fi
	fi
	cache_test cache-none-threads ",cache=none,aio=threads" && ok cache-none-threads
fi

# fdatasync calls seen by strace (outside the jail: ptrace)
if wanted cache-flush; then
	if ! command -v strace >/dev/null; then
		skip "cache-flush: strace is not installed"
	else
		# LeakSanitizer (make SANITIZE=1) cannot run under ptrace
		boot_env=(ASAN_OPTIONS=detect_leaks=0)
		for mode in writeback unsafe; do
			runner=(strace -f -qq -e trace=fdatasync -o "cache-$mode.strace")
			cache_test "cache-$mode" ",cache=$mode,aio=threads" --no-jail || continue
			n=$(grep -c 'fdatasync(' "cache-$mode.strace")
			if [ $mode = writeback ] && [ "$n" -ge 1 ]; then
				ok cache-writeback
			elif [ $mode = unsafe ] && [ "$n" = 0 ]; then
				ok cache-unsafe
			else
				bad "cache-$mode" "$n fdatasync calls for the guest's flushes"
			fi
		done
		runner=()
		boot_env=()
	fi
fi

# --- discard=: ignore (the default) keeps the data, unmap frees it
cat >discard.script <<'EOS'
send dd if=/dev/vda of=/dev/vdb bs=64k count=64 conv=fsync 2>/dev/null; dd if=/dev/vda of=/dev/vdc bs=64k count=64 conv=fsync 2>/dev/null; echo WROTE-$((1+1))
expect WROTE-2
send blkdiscard -o 1048576 -l 1048576 /dev/vdb && blkdiscard -o 1048576 -l 1048576 /dev/vdc && sync && echo DISCARDED-$((2+2))
expect DISCARDED-4
EOS
python3 - <<'EOS'
s = open("src.raw", "rb").read()
d = bytearray(8 << 20)
d[:4 << 20] = s[:4 << 20]
open("keep.expect", "wb").write(d)
d[1 << 20:2 << 20] = bytes(1 << 20)
open("unmap.expect", "wb").write(d)
EOS

# blocks NAME: 512-byte blocks the file holds
blocks() { stat -c %b "$1"; }
# map_kind FILE OFFSET: the kind `condo img map` gives the extent at OFFSET
map_kind() {
	"$condo" img map --output json "$1" | python3 -c "
import json, sys
for e in json.load(sys.stdin):
    if e['start'] <= $2 < e['start'] + e['length']:
        print(e['kind'])"
}

for mode in ignore unmap; do
	name=discard-$mode
	wanted "$name" || continue
	truncate -s $((8 * MiB)) "$name.raw"
	"$condo" img create -f qcow2 "$name.qcow2" 8M >/dev/null
	opt=",discard=$mode"
	[ $mode = ignore ] && opt= # the default
	boot "$name" discard.script --drive file=src.raw,format=raw,readonly=on \
		--drive "file=$name.raw,format=raw$opt" --drive "file=$name.qcow2$opt" || continue
	why=
	as_raw "$name.qcow2" "$name.back"
	kind=$(map_kind "$name.qcow2" $((3 * MiB / 2)))
	rawblocks=$(blocks "$name.raw")
	if [ $mode = ignore ]; then
		cmp -s keep.expect "$name.raw" || why="${why}the raw disk lost data; "
		cmp -s keep.expect "$name.back" || why="${why}the qcow2 disk lost data; "
		[ "$kind" = data ] || why="${why}the qcow2 extent is $kind, not data; "
		[ "$rawblocks" -ge 8192 ] || why="${why}the raw file holds only $rawblocks blocks; "
	else
		cmp -s unmap.expect "$name.raw" || why="${why}the raw disk's discarded range is not zeros; "
		cmp -s unmap.expect "$name.back" || why="${why}the qcow2 disk's discarded range is not zeros; "
		[ "$kind" = zero ] || why="${why}the qcow2 extent is $kind, not zero; "
		[ "$rawblocks" -le 6144 ] || why="${why}the raw file still holds $rawblocks blocks; "
	fi
	[ -z "$why" ] && ok "$name" || bad "$name" "$why"
done

# --- a guest that reboots (reboot -f: no sync) while its copy is in flight:
# the board is torn down and built again, the engines drained and restarted
if wanted reboot-inflight; then
	truncate -s $((8 * MiB)) reboot.raw
	cat >reboot.script <<'EOS'
send dd if=/dev/vda of=/dev/vdb bs=64k count=128 oflag=direct 2>/dev/null & dd if=/dev/vda of=/dev/null bs=64k iflag=direct 2>/dev/null & reboot -f
expect condo-guest: Linux
expect # 
send dd if=/dev/vda bs=64k iflag=direct 2>/dev/null | md5sum; echo AGAIN-$((1+1))
expect AGAIN-2
EOS
	if boot reboot-inflight reboot.script --drive file=src.raw,format=raw,readonly=on \
		--drive file=reboot.raw,format=raw; then
		if grep -q "^$srcsum" reboot-inflight.log; then
			ok reboot-inflight
		else
			bad reboot-inflight "the rebooted guest read other bytes"
		fi
	fi
fi

finish
