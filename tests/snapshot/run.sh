#!/usr/bin/env bash
# Snapshots, restore, fork and live migration end to end (docs/snapshot.md,
# docs/migration.md, docs/control.md), with the default guest: a guest runs
# a deterministic checksum workload; it is snapshotted mid-run and restored
# (1 hart; 4 harts writing a disk; compressed), migrated mid-run between
# two condo processes (over a Unix socket and over TCP), and forked into 8
# clones; each result must equal the one computed here (what an
# uninterrupted run prints, checked once).  Then bad snapshots, streams and
# requests: each gets a clear error and loses nothing.
#   CONDO=build/condo tests/snapshot/run.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/../block/lib.sh"

gdir=$("$here/../../scripts/build-guest.sh" --print-dir 2>/dev/null) || gdir=
if [ -z "$gdir" ] || [ ! -r "$gdir/Image" ]; then
	skip "no default guest for this tree (make guest)"
	finish
fi

# The workload: an LCG chained N times, a STEP line every N/6; and with a
# disk, block I of /dev/vda written with its number each step, read back
# after dropping the page cache.
lcg() { # N: what the guest prints
	local x=1 i
	for ((i = 0; i < $1; i++)); do x=$(((x * 1103515245 + 12345) % 2147483648)); done
	echo "$x"
}
workload() { # N [DISK-BLOCKS] [BURNERS]
	local n=$1 blocks=${2:-0} burn=${3:-0}
	local w="x=1; i=0; b=0;"
	[ "$burn" -gt 0 ] && w+=" for c in \$(seq $burn); do (while :; do :; done) & done;"
	w+=" while [ \$i -lt $n ]; do x=\$(( (x * 1103515245 + 12345) % 2147483648 )); i=\$((i+1));"
	w+=" if [ \$((i % $((n / 6)))) = 0 ]; then echo STEP \$i;"
	[ "$blocks" -gt 0 ] && w+=" while [ \$b -lt \$((i * $blocks / $n)) ]; do echo blk\$b | dd of=/dev/vda bs=4096 seek=\$b conv=sync 2>/dev/null; b=\$((b+1)); done;"
	w+=" fi; done;"
	[ "$blocks" -gt 0 ] && w+=" sync; echo 3 >/proc/sys/vm/drop_caches; echo DISK=\$(dd if=/dev/vda bs=4096 count=$blocks 2>/dev/null | md5sum | cut -c1-32);"
	w+=" echo RESULT=\$x"
	echo "$w"
}
disk_md5() { # BLOCKS: what the guest's DISK= should be
	local b
	for ((b = 0; b < $1; b++)); do echo "blk$b" | dd bs=4096 conv=sync 2>/dev/null; done | md5sum | cut -c1-32
}

# vm LOG ARGS... -- 'COMMAND': the default guest in the background.
vm() {
	local log=$1 args=()
	shift
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	timeout -k 5 "${VM_TIMEOUT:-180}" "$condo" run --kernel "$gdir/Image" \
		--initrd "$gdir/initramfs.cpio.gz" "${args[@]}" \
		--append "console=ttyS0 quiet -- \"$2\"" >"$log.err" 2>&1 </dev/null &
}
# wait_for FILE PATTERN: until a line of FILE matches (60 s at most).
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
result() { sed -n 's/^RESULT=//p' "$1" | tr -d '\r' | head -1; }
diskres() { sed -n 's/^DISK=//p' "$1" | tr -d '\r' | head -1; }

N=150000
want=$(lcg $N)

# ---- snapshot mid-run, restore, snapshot the restored VM, restore, finish ----
if wanted restore-1cpu; then
	vm a.log --net user --console a.con --control a.sock -- "$(workload $N)"
	pid=$!
	if wait_for a.con "^STEP $((N / 6))" && "$condo" snapshot --control a.sock --stop s1 2>snap.err; then
		wait $pid
		st=$?
		timeout 120 "$condo" run --restore s1 --console a2.con --control a2.sock 2>a2.err </dev/null &
		pid=$!
		if wait_for a2.con "^STEP $((3 * N / 6))" &&
			"$condo" snapshot --control a2.sock --stop s1b 2>snap2.err; then
			wait $pid
			st2=$?
			timeout 120 "$condo" run --restore s1b --console a3.con 2>a3.err </dev/null
			st3=$?
			if [ $st = 0 ] && [ $st2 = 0 ] && [ $st3 = 0 ] && [ "$(result a3.con)" = "$want" ] &&
				! grep -q "^RESULT" a.con a2.con; then
				ok restore-1cpu-twice
			else
				bad restore-1cpu-twice "statuses $st/$st2/$st3, result '$(result a3.con)', want $want: $(head -3 a3.err)"
			fi
		else
			kill $pid 2>/dev/null
			bad restore-1cpu-twice "no second snapshot: $(head -3 snap2.err a2.err)"
		fi
	else
		kill $pid 2>/dev/null
		bad restore-1cpu-twice "no snapshot: $(cat snap.err a.log.err | head -3)"
	fi
	# sparse: the memory file stores far less than the guest's 256 MiB
	used=$(du -k s1/memory.raw | cut -f1)
	[ "$used" -lt 131072 ] && ok restore-sparse-memory || bad restore-sparse-memory "$used KiB stored"
	"$condo" snapshot --check s1 >/dev/null 2>chk.err && ok snapshot-check ||
		bad snapshot-check "$(cat chk.err)"
fi

# ---- the VM goes on after a snapshot; a compressed one restores alike ----
if wanted restore-compressed; then
	vm b.log --console b.con --control b.sock -- "$(workload $N)"
	pid=$!
	if wait_for b.con "^STEP $((N / 6))" && "$condo" snapshot --control b.sock --compress s2 2>snap.err; then
		wait $pid
		st=$?
		timeout 120 "$condo" run --restore s2 --console b2.con 2>b2.err </dev/null
		st2=$?
		if [ $st = 0 ] && [ "$(result b.con)" = "$want" ] && [ $st2 = 0 ] &&
			[ "$(result b2.con)" = "$want" ] && [ -e s2/memory.zst ]; then
			ok restore-compressed
			# a damaged frame: the check and a verified restore see it
			rm -rf s2-bad && cp -r s2 s2-bad
			python3 -c "import sys; p='s2-bad/memory.zst'; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0xff; open(p,'wb').write(b)"
			run restore-compressed-corrupt-check 1 "corrupt" snapshot --check s2-bad
			run restore-compressed-corrupt-verify 1 "corrupt" run --restore s2-bad --restore-verify
		else
			bad restore-compressed "statuses $st/$st2, results '$(result b.con)' '$(result b2.con)': $(head -3 b2.err)"
		fi
	else
		kill $pid 2>/dev/null
		bad restore-compressed "no snapshot: $(head -3 snap.err b.log.err)"
	fi
fi

# ---- 4 harts, a disk being written; compressed, so its memory is served
# lazily (userfaultfd) to harts and disk reads faulting at once ----
B=96
wantdisk=$(disk_md5 $B)
if wanted restore-4cpu-disk; then
	"$condo" img create -f qcow2 d.qcow2 16M >/dev/null 2>&1
	vm c.log --cpus 4 --drive file=d.qcow2 --console c.con --control c.sock -- "$(workload $N $B 1)"
	pid=$!
	if wait_for c.con "^STEP $((N / 3))" && "$condo" snapshot --control c.sock --stop --compress s3 2>snap.err; then
		wait $pid
		timeout 150 "$condo" run --restore s3 --drive file=c-after.qcow2 --console c2.con \
			2>c2.err </dev/null
		st2=$?
		if [ $st2 = 0 ] && [ "$(result c2.con)" = "$want" ] && [ "$(diskres c2.con)" = "$wantdisk" ] &&
			[ -s s3/disk0.qcow2 ] && [ -s c-after.qcow2 ]; then
			ok restore-4cpu-disk
		else
			bad restore-4cpu-disk "status $st2, result '$(result c2.con)' disk '$(diskres c2.con)' (want $wantdisk): $(head -3 c2.err)"
		fi
		# a manifest naming a host file as a disk is refused
		rm -rf s3-path && cp -r s3 s3-path
		sed -i 's|"disk0.qcow2"|"/etc/passwd"|' s3-path/manifest.json
		run restore-disk-outside 1 "outside the snapshot" run --restore s3-path
		# the overlay exists now: a second restore into it is refused, nothing lost
		sum=$(md5sum <c-after.qcow2)
		run restore-overlay-exists 1 "exists" run --restore s3 --drive file=c-after.qcow2
		[ "$(md5sum <c-after.qcow2)" = "$sum" ] && ok restore-overlay-kept ||
			bad restore-overlay-kept "the existing overlay changed"
		run restore-copy-exists 1 "exists" run --restore s3 --drive file=c-after.qcow2,copy=on
		[ "$(md5sum <c-after.qcow2)" = "$sum" ] && ok restore-copy-exists-kept ||
			bad restore-copy-exists-kept "the existing file changed"
		# copy=on: the disk goes on in a whole copy, which needs nothing of the snapshot
		frozen=$(md5sum <s3/disk0.qcow2)
		timeout 150 "$condo" run --restore s3 --drive file=c-copy.qcow2,copy=on --console c3.con \
			2>c3.err </dev/null
		st3=$?
		if [ $st3 = 0 ] && [ "$(result c3.con)" = "$want" ] && [ "$(diskres c3.con)" = "$wantdisk" ] &&
			"$condo" img info --output json c-copy.qcow2 >c3.info 2>&1 && ! grep -q backing c3.info &&
			[ "$(md5sum <s3/disk0.qcow2)" = "$frozen" ]; then
			ok restore-copy
		else
			bad restore-copy "status $st3, result '$(result c3.con)' disk '$(diskres c3.con)': $(head -3 c3.err c3.info)"
		fi
	else
		kill $pid 2>/dev/null
		bad restore-4cpu-disk "no snapshot: $(head -3 snap.err c.log.err)"
	fi
fi

# ---- live migration between two processes ----
migrate_test() { # NAME ADDRESS
	local name=$1 addr=$2
	wanted "$name" || return 0
	"$condo" img create -f qcow2 "$name.qcow2" 16M >/dev/null 2>&1
	timeout -k 5 180 "$condo" run --incoming "$addr" --console "$name-dst.con" \
		>"$name-dst.err" 2>&1 </dev/null &
	local dst=$!
	# port 0: the kernel picks a free one, and condo says which (no race
	# with other users of the loopback for a port chosen beforehand)
	if [[ $addr == tcp:*:0 ]]; then
		wait_for "$name-dst.err" "listening on" || { bad "$name" "no port announced"; return; }
		addr=$(sed -n 's/^condo: --incoming: listening on //p' "$name-dst.err")
	fi
	vm "$name" --cpus 2 --drive file="$name.qcow2" --console "$name-src.con" --control "$name.sock" \
		-- "$(workload $N $B 1)"
	local src=$!
	sleep 0.3
	if wait_for "$name-src.con" "^STEP $((N / 6))" &&
		"$condo" migrate --control "$name.sock" --to "$addr" >"$name.out" 2>"$name.err"; then
		wait $src
		local st=$?
		wait $dst
		local st2=$?
		if [ $st = 0 ] && [ $st2 = 0 ] && [ "$(result "$name-dst.con")" = "$want" ] &&
			[ "$(diskres "$name-dst.con")" = "$wantdisk" ] && ! grep -q "^RESULT" "$name-src.con" &&
			grep -q "^migrated in" "$name.out"; then
			ok "$name"
			echo "    $(cat "$name.out")"
		else
			bad "$name" "statuses $st/$st2, result '$(result "$name-dst.con")' disk '$(diskres "$name-dst.con")': $(head -3 "$name-dst.err")"
		fi
	else
		kill $src $dst 2>/dev/null
		wait $src $dst 2>/dev/null
		bad "$name" "no migration: $(head -3 "$name.err" "$name-dst.err")"
	fi
}
migrate_test migrate-unix "unix:$work/mig.sock"
migrate_test migrate-tcp "tcp:127.0.0.1:0"

# ---- fork: 8 clones of one snapshot ----
if wanted fork; then
	F=60000
	fwant=$(lcg $F)
	vm f.log --console f.con --control f.sock -- "$(workload $F); echo ID=\$(head -c 65536 /dev/hwrng | md5sum | cut -c1-16)"
	pid=$!
	if wait_for f.con "^STEP $((F / 6))" && "$condo" snapshot --control f.sock --stop s4 2>snap.err; then
		wait $pid
		timeout 240 "$condo" run --restore s4 --fork 8 --console "f%d.con" 2>fork.err </dev/null
		st=$?
		good=0
		for i in 0 1 2 3 4 5 6 7; do [ "$(result f$i.con)" = "$fwant" ] && good=$((good + 1)); done
		ids=$(for i in 0 1 2 3 4 5 6 7; do sed -n 's/^ID=//p' f$i.con | tr -d '\r'; done | sort -u | wc -l)
		if [ $st = 0 ] && [ $good = 8 ] && [ "$ids" = 8 ]; then
			ok fork-8-clones
		else
			bad fork-8-clones "status $st, $good of 8 results right, $ids distinct ids: $(head -3 fork.err)"
		fi
	else
		kill $pid 2>/dev/null
		bad fork-8-clones "no snapshot: $(head -3 snap.err f.log.err)"
	fi
fi

# ---- bad snapshots: a clear error, and the snapshot itself untouched ----
if wanted bad-snapshot && [ ! -d s1 ]; then
	skip "bad-snapshot: no snapshot to damage (restore-1cpu made none)"
elif wanted bad-snapshot; then
	mk() { rm -rf "$1"; cp -r s1 "$1"; }
	mk s-state
	python3 -c "import sys; p='s-state/state.bin'; b=bytearray(open(p,'rb').read()); b[100]^=0xff; open(p,'wb').write(b)"
	sum=$(cat s-state/* | md5sum)
	run bad-snapshot-state-corrupt 1 "CRC mismatch" run --restore s-state
	[ "$(cat s-state/* | md5sum)" = "$sum" ] && ok bad-snapshot-untouched || bad bad-snapshot-untouched "files changed"
	mk s-trunc
	truncate -s 1M s-trunc/memory.raw
	run bad-snapshot-memory-truncated 1 "truncated" run --restore s-trunc
	mk s-statetrunc
	truncate -s 100 s-statetrunc/state.bin
	run bad-snapshot-state-truncated 1 "do not match" run --restore s-statetrunc
	mk s-version
	sed -i 's/"version": 1/"version": 99/' s-version/manifest.json
	run bad-snapshot-version 1 "version 99" run --restore s-version
	mk s-magic
	sed -i 's/condo-snapshot/other-snapshot/' s-magic/manifest.json
	run bad-snapshot-magic 1 "not a condo snapshot" run --restore s-magic
	mk s-board
	sed -i 's/"cpus": 1/"cpus": 2/' s-board/manifest.json
	run bad-snapshot-board 1 "another number of harts" run --restore s-board
	mk s-mem
	python3 - <<'PY'
import json
m = json.load(open('s-mem/manifest.json'))
# a page of the memory the map names, changed: only a verified restore sees it
import os
f = open('s-mem/memory.raw', 'r+b')
off = os.lseek(f.fileno(), 0, os.SEEK_DATA)
f.seek(off + 17); b = f.read(1); f.seek(off + 17); f.write(bytes([b[0] ^ 0x5a]))
PY
	run bad-snapshot-memory-verify 1 "corrupt" run --restore s-mem --restore-verify
	run bad-snapshot-memory-check 1 "corrupt" snapshot --check s-mem
	mk s-json
	echo '{"magic":' >s-json/manifest.json
	run bad-snapshot-manifest 1 "manifest.json" run --restore s-json
	run bad-snapshot-missing 1 "No such file" run --restore "$work/nowhere"
	mkdir -p taken && echo keep >taken/file
	run snapshot-dir-exists 1 "exists" snapshot --control a.sock taken
	[ "$(cat taken/file)" = keep ] && ok snapshot-dir-kept || bad snapshot-dir-kept "changed"
	run snapshot-no-vm 1 "control socket" snapshot --control "$work/none.sock" s-none
	[ ! -e s-none ] && ok snapshot-no-vm-nothing-left || bad snapshot-no-vm-nothing-left "s-none left behind"
fi
run usage-fork-needs-restore 2 "needs --restore" run --fork 2
run usage-copy-needs-restore 2 "copy=on needs --restore" run --drive file=x.qcow2,copy=on
run usage-restore-board 2 "board and boot files" run --restore s1 --mem 512M
run usage-snapshot-no-control 2 "--control" snapshot s-x
run usage-migrate-no-to 2 "--to" migrate --control x.sock
run usage-control-unknown 2 "unknown command" control x.sock dance
run migrate-bad-address 1 "tcp:HOST:PORT" migrate --control "$work/none.sock" --to nowhere
run incoming-bad-address 1 "tcp:HOST:PORT" run --incoming nowhere

# ---- a migration stream cut midway: the source runs on ----
if wanted migrate-cut; then
	python3 - "$work/cut.sock" >cut.out 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
got = 0
while got < 200000:
    d = c.recv(65536)
    if not d: break
    got += len(d)
c.close()
print("cut after", got)
PY
	cut=$!
	vm g.log --console g.con --control g.sock -- "$(workload $N)"
	pid=$!
	sleep 0.3
	wait_for g.con "^STEP $((N / 6))"
	timeout 60 "$condo" migrate --control g.sock --to "unix:$work/cut.sock" >g.out 2>g.err
	st=$?
	wait $pid
	st2=$?
	wait $cut
	if [ $st = 1 ] && grep -q "runs on" g.err && [ $st2 = 0 ] && [ "$(result g.con)" = "$want" ]; then
		ok migrate-cut-source-runs-on
	else
		bad migrate-cut-source-runs-on "migrate $st ($(head -2 g.err)), source $st2, result '$(result g.con)'"
	fi
fi

# ---- a destination fed garbage refuses it ----
if wanted incoming-garbage; then
	timeout 60 "$condo" run --incoming "unix:$work/junk.sock" >junk.out 2>junk.err </dev/null &
	dst=$!
	for ((i = 0; i < 100; i++)); do [ -S junk.sock ] && break; sleep 0.05; done
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'PAGE'+bytes([255]*8)+b'x'*100); s.close()" "$work/junk.sock"
	wait $dst
	st=$?
	[ $st = 1 ] && grep -q "configuration" junk.err && ok incoming-garbage ||
		bad incoming-garbage "status $st: $(head -2 junk.err)"
fi

# ---- the control socket's bad requests ----
if wanted control-bad; then
	vm h.log --console h.con --control h.sock -- "sleep 30"
	pid=$!
	wait_for h.con "running:"
	python3 - "$work/h.sock" >ctl.out <<'PY'
import socket, sys, json
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rwb')
for line in [b'not json', b'{"cmd": 7}', b'{"cmd":"dance"}', b'{"cmd":"snapshot"}',
             b'{"cmd":"migrate"}', b'{"cmd":"status"}']:
    f.write(line + b'\n'); f.flush()
    print(json.loads(f.readline()))
PY
	"$condo" control h.sock quit >/dev/null
	wait $pid
	st=$?
	errs=$(grep -c "'ok': False" ctl.out)
	if [ "$errs" = 5 ] && grep -q "'state': 'running'" ctl.out && [ $st = 0 ]; then
		ok control-bad-requests
	else
		bad control-bad-requests "$errs errors, quit status $st: $(cat ctl.out)"
	fi
fi
finish
