#!/usr/bin/env bash
# NBD both ways, on Unix sockets and 127.0.0.1 only (docs/img.md "NBD").
#  - condo's client (libnbd) against qemu-nbd and nbd-server: img info,
#    convert byte for byte, map;
#  - `condo img serve` against qemu-img, qemu-io, nbdinfo and nbdcopy:
#    reads and writes byte for byte, a qcow2 chain and a composite disk
#    exported, -r refusing writes;
#  - condo against condo: convert, and the default guest (jailed, with
#    --jail-dir) on an NBD disk, then the server killed under it (an I/O
#    error in the guest, no crash);
#  - a hostile client (nbd_hostile.py) gets error replies or a closed
#    connection, and the server still serves afterwards;
#  - bad input: a closed port, bad serve options, one line each.
#   CONDO=build/condo tests/block/nbd.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
console=$here/../guest/console.py
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

have() { command -v "$1" >/dev/null; }
# same NAME FILE1 FILE2: the files hold the same bytes
same() {
	wanted "$1" || return 0
	if cmp -s "$2" "$3"; then ok "$1"; else bad "$1" "$2 and $3 differ"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for TEST...: until the test holds (a deadline against hangs only)
wait_for() {
	for _ in $(seq 200); do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# serve NAME ARGS...: start `condo img serve ARGS` in the background; its
# URI in $uri, its pid in $spid.
serve() {
	local name=$1
	shift
	"$condo" img serve "$@" >"$name.uri" 2>"$name.err" &
	spid=$!
	pids+=("$spid")
	wait_for test -s "$name.uri" || { bad "$name" "serve did not start: $(head -c 200 "$name.err")"; return 1; }
	uri=$(head -1 "$name.uri")
}

rand_file base.raw $((4 << 20)) 21
"$condo" img create -f qcow2 -b base.raw -F raw over.qcow2 >/dev/null
python3 - <<'EOS'
d = bytearray(open("base.raw", "rb").read())
open("over.expect", "wb").write(d)
EOS

# ---- condo's client against qemu-nbd and nbd-server ----
if have qemu-nbd && have qemu-io; then
	qemu-io -f qcow2 -c "write -P 0x5c 1M 64k" over.qcow2 >/dev/null
	python3 -c 'd=bytearray(open("over.expect","rb").read()); d[1<<20:(1<<20)+65536]=b"\x5c"*65536; open("over.expect","wb").write(d)'
	qemu-nbd -t -f qcow2 -k "$work/q.sock" over.qcow2 2>qnbd.err &
	pids+=($!)
	if wait_for test -S q.sock; then
		quri="nbd+unix:///?socket=$work/q.sock"
		run qemu-nbd-info 0 "" img info "$quri"
		wanted qemu-nbd-info && ! grep -q "virtual size: $((4 << 20)) bytes" out &&
			bad qemu-nbd-info-size "$(head -c 200 out)"
		run qemu-nbd-convert 0 "" img convert "$quri" fromq.raw
		same qemu-nbd-bytes fromq.raw over.expect
		run qemu-nbd-map 0 "" img map --output json "$quri"
	else
		bad qemu-nbd "did not start: $(head -c 200 qnbd.err)"
	fi
	port=$(free_port)
	qemu-nbd -t -f raw -b 127.0.0.1 -p "$port" -x disk -r base.raw 2>qnbd2.err &
	pids+=($!)
	if wait_for nbdinfo --size "nbd://127.0.0.1:$port/disk" >/dev/null; then
		run qemu-nbd-tcp-convert 0 "" img convert "nbd://127.0.0.1:$port/disk" fromtcp.raw
		same qemu-nbd-tcp-bytes fromtcp.raw base.raw
	else
		skip "qemu-nbd on 127.0.0.1 did not answer (nbdinfo missing?)"
	fi
else
	skip "qemu-nbd or qemu-io is not installed (qemu-utils)"
fi
if have nbd-server; then
	port=$(free_port)
	cp base.raw ns.raw
	printf '[generic]\nlistenaddr = 127.0.0.1\nport = %s\n[disk]\nexportname = %s/ns.raw\n' \
		"$port" "$work" >ns.conf
	nbd-server -C "$work/ns.conf" -d >ns.log 2>&1 &
	pids+=($!)
	# listening (nbd-server -d serves the first connection only: no probe)
	if wait_for grep -qi ":$(printf %04X "$port") 00000000:0000 0A" /proc/net/tcp; then
		run nbd-server-convert 0 "" img convert "nbd://127.0.0.1:$port/disk" fromns.raw
		same nbd-server-bytes fromns.raw base.raw
	else
		bad nbd-server "did not start: $(head -c 200 ns.log)"
	fi
else
	skip "nbd-server is not installed"
fi

# ---- condo img serve against other clients ----
cp base.raw served.raw
if serve serve-raw -t -k "$work/s.sock" served.raw; then
	ok serve-raw-starts
	[ "$uri" = "nbd+unix:///?socket=$work/s.sock" ] || bad serve-uri "$uri"
	if have nbdinfo; then
		if nbdinfo --json "$uri" >info.json && python3 -c 'import json; e=json.load(open("info.json"))["exports"][0]
assert e["export-size"] == 4 << 20 and not e["is_read_only"] and e["can_trim"] and e["can_zero"] and e["can_flush"], e'; then
			ok serve-nbdinfo
		else
			bad serve-nbdinfo "$(head -c 300 info.json)"
		fi
		nbdcopy "$uri" copied.raw && cmp -s copied.raw base.raw && ok serve-nbdcopy || bad serve-nbdcopy "differs"
	else
		skip "nbdinfo/nbdcopy are not installed (libnbd-bin)"
	fi
	if have qemu-io; then
		python3 -c 'd=bytearray(open("base.raw","rb").read()); d[12288:12288+131072]=b"\xa7"*131072; d[3<<20:(3<<20)+65536]=bytes(65536); open("served.expect","wb").write(d)'
		qemu-io -f raw -c "write -P 0xa7 12k 128k" -c "write -z 3M 64k" -c flush "$uri" >qio.log 2>&1 &&
			ok serve-qemu-io-write || bad serve-qemu-io-write "$(tail -2 qio.log)"
		qemu-img convert -f raw -O raw "$uri" viaqemu.raw
		if cmp -s viaqemu.raw served.expect && cmp -s served.raw served.expect; then
			ok serve-qemu-img-bytes
		else
			bad serve-qemu-img-bytes "qemu-img reads, or the file holds, other bytes"
		fi
	else
		skip "qemu-io is not installed (qemu-utils)"
	fi
	# ---- condo against condo ----
	run condo-condo-convert 0 "" img convert "$uri" fromcondo.raw
	same condo-condo-bytes fromcondo.raw served.raw
	# ---- a hostile client; the server still serves afterwards ----
	for s in bad-client-flags bad-option-magic unknown-option long-option malformed-go \
		unknown-export-name bad-requests bad-request-magic cut-request cut-write cut-handshake; do
		wanted "hostile-$s" || continue
		if python3 "$here/nbd_hostile.py" "$work/s.sock" "$s" $((4 << 20)) 2>hostile.err; then
			ok "hostile-$s"
		else
			bad "hostile-$s" "$(head -c 300 hostile.err)"
		fi
	done
	run hostile-then-convert 0 "" img convert "$uri" after.raw
	same hostile-still-answers after.raw served.raw
	kill -0 "$spid" || bad hostile-still-answers "the server is gone"
	kill -TERM "$spid"
	wait "$spid"
	st=$?
	if [ $st = 0 ] && [ ! -e s.sock ]; then ok serve-sigterm-clean; else bad serve-sigterm-clean "status $st"; fi
fi

# a qcow2 chain, read-only, on TCP with a name; writes refused
if serve serve-chain -r --port 0 --export "vm 1" over.qcow2; then
	case $uri in nbd://127.0.0.1:*/vm%201) ok serve-tcp-uri ;; *) bad serve-tcp-uri "$uri" ;; esac
	run serve-chain-convert 0 "" img convert "$uri" chain.raw
	same serve-chain-bytes chain.raw over.expect
	run serve-wrong-export 1 "cannot connect to NBD disk" img info "${uri%1}2"
	kill "$spid" 2>/dev/null
fi
if serve serve-ro -r -t -k "$work/ro.sock" base.raw; then
	if python3 "$here/nbd_hostile.py" "$work/ro.sock" readonly-write 2>hostile.err; then
		ok serve-readonly-eperm
	else
		bad serve-readonly-eperm "$(head -c 300 hostile.err)"
	fi
	kill "$spid" 2>/dev/null
fi
# a composite disk: its read-only part refuses writes through NBD too
rand_file c1.raw $((1 << 20)) 31
rand_file c2.raw $((1 << 20)) 32
cp c2.raw c2.orig
printf 'condo-composite-disk v1\nc1.raw raw\nc2.raw raw readonly\n' >c.cmp
if have qemu-io && serve serve-composite -k "$work/c.sock" c.cmp; then
	qemu-io -f raw -c "write -P 0x11 1020k 8k" "$uri" >cqio.log 2>&1
	if [ $? != 0 ] || grep -qi "error" cqio.log; then ok serve-composite-ro-part; else bad serve-composite-ro-part "the write succeeded"; fi
	wait "$spid" 2>/dev/null
	cmp -s c2.raw c2.orig && ok composite-ro-part-unchanged || bad composite-ro-part-unchanged "c2.raw changed"
fi

# ---- bad input ----
port=$(free_port)
run nbd-closed-port 1 "cannot connect to NBD disk nbd://127.0.0.1:$port/" img info "nbd://127.0.0.1:$port/"
run nbd-closed-port-run 1 "cannot connect to NBD disk" run --drive "file=nbd://127.0.0.1:$port/,format=nbd"
# a backing file name that is an NBD URI is a file name, never a connection
if have qemu-img; then
	qemu-img create -f qcow2 -u -b "nbd://127.0.0.1:$port/" -F raw nb.qcow2 1M >/dev/null
	run nbd-as-backing 1 "backing file nbd://127.0.0.1:$port/ is missing" img info nb.qcow2
fi
run serve-help 0 "" img serve --help
wanted serve-help && ! grep -q "^Usage: condo img serve" out && bad serve-help-text "no usage line"
run serve-no-file 2 "wrong number of operands" img serve
run serve-bad-port 2 "bad port '70000'" img serve --port 70000 base.raw
run serve-socket-and-port 2 "--socket excludes --port" img serve -k x.sock --port 1 base.raw
run serve-bad-option 2 "unknown option" img serve --frob base.raw
run serve-missing 1 "cannot open disk image nope.raw" img serve --port 0 nope.raw
run serve-bad-bind 1 "serve: cannot listen on 192.0.2.1" img serve --bind 192.0.2.1 --port 0 base.raw
touch notasock
run serve-socket-is-file 1 "cannot listen on" img serve -k notasock base.raw

# ---- the default guest on an NBD disk served by condo, then the server killed ----
gdir=${CONDO_GUEST_DIR:-${CONDO_CACHE:-$HOME/.cache/condo}/guest}
if [ ! -r "$gdir/Image" ]; then
	skip "guest test: no default guest in $gdir (make guest)"
	finish
fi
rand_file g.raw $((4 << 20)) 41
python3 -c 'd=bytearray(open("g.raw","rb").read()); d[51200:51200+16]=b"condo-nbd-marker"; open("g.expect","wb").write(d)'
sum=$(md5sum <g.expect | cut -d' ' -f1)
# started from a subshell: the test shell does not report its SIGKILL
("$condo" img serve -k "$work/g.sock" g.raw >g.uri 2>g.err & echo $! >g.pid)
spid=$(cat g.pid)
pids+=("$spid")
if wait_for test -s g.uri; then
	cat >guest.script <<EOS
expect # 
send printf condo-nbd-marker | dd of=/dev/vda bs=512 seek=100 conv=notrunc,fsync 2>/dev/null; echo W-\$((1+1))
expect W-2
send echo 3 > /proc/sys/vm/drop_caches; md5sum /dev/vda
expect $sum
host kill -9 $spid
send echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=4096 count=4 2>&1 | head -1; echo READ-\$((3+3))
expect READ-6
send poweroff
exit 0
EOS
	# --jail-dir: the socket is connected before the pivot hides its path
	mkdir -p jail
	CONSOLE_LOG=guest.log CONSOLE_TIMEOUT=300 "$console" guest.script -- "$condo" run \
		--jail-dir "$work/jail" --drive "file=nbd+unix:///?socket=$work/g.sock" >console.err 2>&1
	st=$?
	if cmp -s g.raw g.expect; then ok guest-nbd-write; else bad guest-nbd-write "the server's file does not hold the guest's write"; fi
	if [ $st = 0 ] && grep -q "NBD read failed" guest.log; then
		ok guest-nbd-server-killed
	else
		bad guest-nbd-server-killed "status $st: $(tail -c 600 console.err | tr '\n' ' ')"
	fi
else
	bad serve-guest "serve did not start: $(head -c 200 g.err)"
fi
finish
