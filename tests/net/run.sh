#!/usr/bin/env bash
# Guest networking end to end (docs/net.md), with the default guest (Linux
# and busybox): VMs on a virtual switch ping each other and move files
# (httpd/wget, nc); a VM on another network reaches none of them and its
# counters show nothing delivered; user-mode NAT: DHCP, outbound TCP and
# UDP to servers this test starts on the host's loopback (reached through
# the gateway 10.0.2.2), a host client reaching the guest's httpd through
# hostfwd, in a --jail-dir jail; rate limits within 10%; the switch
# dropping malformed frames; tap in a network namespace; bad --net values.
# Traffic goes only to this machine's loopback or namespaces made here.
#   CONDO=build/condo tests/net/run.sh [NAME-PATTERN]
. "$(dirname "${BASH_SOURCE[0]}")/../block/lib.sh"
meter=$here/meter.py
export CONDO_NET_DIR=$work/net # the switches of this run only
# The user-mode NAT's DNS goes to a server of this test on a loopback
# address (port 53: root only), never to the host's resolver.
export CONDO_RESOLV_CONF=$work/resolv.conf
: >"$CONDO_RESOLV_CONF"

gdir=$("$here/../../scripts/build-guest.sh" --print-dir 2>/dev/null) || gdir=
if [ -z "$gdir" ] || [ ! -r "$gdir/Image" ]; then
	skip "no default guest for this tree (make guest)"
	finish
fi

# vm LOG ARGS... -- 'GUEST COMMAND': boot the default guest in the
# background running the command (guest/init), its output in LOG.
vm() {
	local log=$1 args=() cmd
	shift
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	cmd=$2
	timeout -k 5 "${VM_TIMEOUT:-150}" "$condo" run --kernel "$gdir/Image" \
		--initrd "$gdir/initramfs.cpio.gz" "${args[@]}" \
		--append "console=ttyS0 quiet -- \"$cmd\"" >"$log" 2>&1 </dev/null &
}
# The value after WORD on the line of LOG that starts with it.
field() { sed -n "s/^$2 //p" "$1" | head -1 | tr -d '\r'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { echo "ip addr add $1/24 dev eth0; ip link set eth0 up"; }
# until ping answers (the other VM may still be booting)
wait_ping() { echo "i=0; until ping -c 1 -W 1 $1 >/dev/null 2>&1; do i=\$((i+1)); [ \$i -gt 90 ] && break; done"; }

# ---- two VMs on a switch, a third on another network ----
if wanted switch; then
	# vm1 serves a file over HTTP and takes one over nc; vm3, on another
	# network with vm2's address space, tries to reach vm1 meanwhile; vm2
	# starts after vm3 is done.  vm1 lists its neighbours last: vm3 (ARP
	# requests for vm1) must not be among them.
	vm vm1.log --net switch=lan,mac=52:54:00:00:05:01 --meter vm1.meter -- \
		"$(up 10.5.0.1); mkdir -p /www; dd if=/dev/urandom of=/www/f bs=1024 count=384 2>/dev/null; echo SUM1 \$(md5sum </www/f); httpd -p 80 -h /www; nc -l -p 7000 </dev/null >/tmp/up; echo UP \$(md5sum </tmp/up); nc -l -p 7001 </dev/null >/dev/null; echo NEIGH \$(ip neigh | grep -c 52:54:00:00:05:03)"
	vm1=$!
	vm vm3.log --net switch=other,mac=52:54:00:00:05:03 --meter vm3.meter -- \
		"$(up 10.5.0.3); sleep 2; n=0; for i in 1 2 3 4 5 6 7 8; do ping -c 1 -W 1 10.5.0.1 >/dev/null 2>&1 && n=\$((n+1)); done; echo REPLIES \$n"
	vm3=$!
	wait $vm3
	vm vm2.log --net switch=lan,mac=52:54:00:00:05:02 --meter vm2.meter -- \
		"$(up 10.5.0.2); $(wait_ping 10.5.0.1); ping -c 3 10.5.0.1 >/dev/null && echo PING ok; wget -q -O /tmp/f http://10.5.0.1/f; echo SUM2 \$(md5sum </tmp/f); nc -w 2 10.5.0.1 7000 </tmp/f; sleep 1; echo bye | nc -w 2 10.5.0.1 7001; sleep 1"
	vm2=$!
	wait $vm2
	wait $vm1
	sum1=$(field vm1.log SUM1)
	if [ "$(field vm2.log PING)" = ok ]; then ok switch-ping; else bad switch-ping "$(tail -3 vm2.log | tr '\n' ' ')"; fi
	if [ -n "$sum1" ] && [ "$(field vm2.log SUM2)" = "$sum1" ]; then
		ok switch-wget-httpd
	else
		bad switch-wget-httpd "vm1 served '$sum1', vm2 got '$(field vm2.log SUM2)'"
	fi
	if [ -n "$sum1" ] && [ "$(field vm1.log UP)" = "$sum1" ]; then
		ok switch-nc-upload
	else
		bad switch-nc-upload "vm2 sent '$sum1', vm1 got '$(field vm1.log UP)'"
	fi
	rx3=$("$meter" vm3.meter 0 rx_packets 2>&1)
	tx3=$("$meter" vm3.meter 0 tx_packets 2>&1)
	if [ "$(field vm3.log REPLIES)" = 0 ] && [ "$rx3" = 0 ] && [ "$tx3" -gt 0 ] 2>/dev/null; then
		ok isolation-other-network
	else
		bad isolation-other-network "replies '$(field vm3.log REPLIES)', vm3 received $rx3 frames, sent $tx3"
	fi
	if [ "$(field vm1.log NEIGH)" = 0 ]; then
		ok isolation-never-delivered
	else
		bad isolation-never-delivered "vm1 learned vm3's MAC: '$(field vm1.log NEIGH)'"
	fi
	rx1=$("$meter" vm1.meter 0 rx_bytes 2>&1)
	if [ "$rx1" -gt $((384 * 1024)) ] 2>/dev/null; then ok meter-counts; else bad meter-counts "vm1 received $rx1 bytes"; fi
	if [ -e "$CONDO_NET_DIR/lan.sock" ] || [ -e "$CONDO_NET_DIR/other.sock" ]; then
		bad switch-lifetime "a switch outlived its last VM: $(ls "$CONDO_NET_DIR")"
	else
		ok switch-lifetime
	fi
fi

# ---- user-mode NAT: DHCP, outbound TCP and UDP, hostfwd, in a jail ----
if wanted user; then
	mkdir -p srv jaildir
	rand_file srv/g $((256 * 1024)) 7
	gsum=$(md5sum <srv/g | cut -d' ' -f1)
	http=$(free_port) udp=$(free_port) fwd=$(free_port) fin=$(free_port)
	python3 -m http.server "$http" --bind 127.0.0.1 --directory srv >http.log 2>&1 &
	hsrv=$!
	# a UDP server that answers each datagram in capitals
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d.upper(), a)' "$udp" &
	usrv=$!
	dsrv=
	if [ "$(id -u)" = 0 ]; then
		python3 "$here/dns_server.py" 127.0.0.77 >dns.log 2>&1 &
		dsrv=$!
		echo "nameserver 127.0.0.77" >"$CONDO_RESOLV_CONF"
	fi
	until curl -s -o /dev/null "http://127.0.0.1:$http/g"; do sleep 0.1; done
	vm user.log --jail-dir jaildir --meter user.meter \
		--net "user,hostfwd=tcp:127.0.0.1:$fwd-:80,hostfwd=tcp:127.0.0.1:$fin-:81" -- \
		"udhcpc -i eth0 -n -q -t 10 >/dev/null 2>&1; echo ADDR \$(ip -4 addr show eth0 | grep -o 'inet [0-9.]*'); echo DNS \$(cat /etc/resolv.conf); wget -q -O /tmp/g http://10.0.2.2:$http/g; echo NAT \$(md5sum </tmp/g); echo UDP \$(echo udp-hello | nc -u -w 2 10.0.2.2 $udp); echo LOOKUP \$(nslookup condo.test 2>&1 | grep -c 10.1.2.3) \$(nslookup other.test 2>&1 | grep -c NXDOMAIN); mkdir -p /www; echo page-from-guest >/www/index.html; dd if=/dev/zero of=/www/big bs=64k count=64 2>/dev/null; httpd -p 80 -h /www; echo HTTPD; nc -l -p 81 </dev/null >/dev/null"
	uvm=$!
	page=
	for _ in $(seq 120); do
		page=$(curl -s -m 5 "http://127.0.0.1:$fwd/index.html" 2>/dev/null) && [ -n "$page" ] && break
		kill -0 $uvm 2>/dev/null || break
		sleep 1
	done
	# a host client that leaves mid-transfer (a reset, unread data) is an
	# error on that connection, never the VM's end (SIGPIPE)
	for _ in 1 2 3; do
		python3 - "$fwd" <<'EOF' 2>/dev/null
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"GET /big HTTP/1.0\r\n\r\n")
s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
EOF
	done
	sleep 1
	kill -0 $uvm 2>/dev/null && ok user-hostfwd-client-leaves || bad user-hostfwd-client-leaves "the VM ended when a host client left"
	# tell the guest to end
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5).sendall(b"x")' "$fin" 2>/dev/null
	wait $uvm
	ust=$?
	kill $hsrv $usrv $dsrv 2>/dev/null
	wait $hsrv $usrv $dsrv 2>/dev/null
	: >"$CONDO_RESOLV_CONF"
	if [ -z "$dsrv" ]; then
		skip "user-dns: the test's DNS server needs root (port 53)"
	elif [[ "$(field user.log LOOKUP)" == "1 "[1-9] ]]; then
		ok user-dns
	else
		bad user-dns "lookups: '$(field user.log LOOKUP)' (want an answer for condo.test, NXDOMAIN for other.test): $(tail -3 dns.log | tr '\n' ' ')"
	fi
	if [ "$(field user.log ADDR)" = "inet 10.0.2.15" ]; then ok user-dhcp; else bad user-dhcp "$(field user.log ADDR) $(tail -3 user.log | tr '\n' ' ')"; fi
	if [ "$(field user.log DNS)" = "nameserver 10.0.2.3" ]; then ok user-dhcp-dns; else bad user-dhcp-dns "resolv.conf: $(field user.log DNS)"; fi
	if [ "$(field user.log NAT)" = "$gsum -" ]; then ok user-outbound-tcp; else bad user-outbound-tcp "got '$(field user.log NAT)'"; fi
	if [ "$(field user.log UDP)" = UDP-HELLO ]; then ok user-outbound-udp; else bad user-outbound-udp "got '$(field user.log UDP)'"; fi
	if [ "$page" = page-from-guest ]; then ok user-hostfwd; else bad user-hostfwd "host got '$page', VM status $ust; $(tail -3 user.log | tr '\n' ' ')"; fi
	tx=$("$meter" user.meter 0 tx_packets 2>&1)
	if [ "$tx" -gt 0 ] 2>/dev/null; then ok user-meter; else bad user-meter "tx_packets $tx"; fi
fi

# ---- rate limits: bytes per second, each direction ----
if wanted rate; then
	mkdir -p rsrv
	rate=200000
	rand_file rsrv/r $((1024 * 1024)) 9
	http=$(free_port) sink=$(free_port)
	python3 -m http.server "$http" --bind 127.0.0.1 --directory rsrv >rhttp.log 2>&1 &
	hsrv=$!
	python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept()
while c.recv(65536): pass' "$sink" &
	ssrv=$!
	until curl -s -o /dev/null "http://127.0.0.1:$http/r"; do sleep 0.1; done
	# The guest's own clock and interface counters (frame bytes, as the
	# limit counts them) around each transfer; the bucket's burst (a
	# tenth of a second's worth) is well inside the margin.
	st() { echo "\$(cut -d' ' -f1 /proc/uptime) \$(cat /sys/class/net/eth0/statistics/$1_bytes)"; }
	bytes() { echo "\$(cat /sys/class/net/eth0/statistics/$1_bytes)"; }
	# TX: sampled until a megabyte of frames left (nc then waits 2 s
	# for the host's end, which must not count)
	vm rate.log --net "user,rate=$rate" -- \
		"udhcpc -i eth0 -n -q -t 10 >/dev/null 2>&1; a=\$(echo $(st rx)); wget -q -O /tmp/r http://10.0.2.2:$http/r; echo RX \$a $(st rx); a=\$(echo $(st tx)); b=$(bytes tx); nc -w 2 10.0.2.2 $sink </tmp/r & while [ $(bytes tx) -lt \$((b + 1000000)) ]; do sleep 0.1; done; echo TX \$a $(st tx); wait"
	wait $!
	kill $hsrv $ssrv 2>/dev/null
	wait $hsrv $ssrv 2>/dev/null
	for dir in RX TX; do
		read -r t0 b0 t1 b1 <<<"$(field rate.log $dir)"
		verdict=$(python3 -c 'import sys
t0, b0, t1, b1, rate = map(float, sys.argv[1:])
r = (b1 - b0) / (t1 - t0) if t1 > t0 else 0
print("ok" if b1 - b0 > 500000 and abs(r - rate) <= 0.1 * rate else "measured %.0f bytes/s over %.2f s (%d bytes)" % (r, t1 - t0, b1 - b0))' \
			"${t0:-0}" "${b0:-0}" "${t1:-0}" "${b1:-0}" "$rate" 2>&1)
		if [ "$verdict" = ok ]; then ok "rate-limit-${dir,,}"; else bad "rate-limit-${dir,,}" "$verdict, limit $rate; $(tail -2 rate.log | tr '\n' ' ')"; fi
	done
fi

# ---- malformed frames at the switch: dropped, counted, never delivered ----
if wanted malformed; then
	if python3 "$here/switch_frames.py" "$condo" >frames.log 2>&1; then
		ok switch-malformed-frames
	else
		bad switch-malformed-frames "$(tail -3 frames.log | tr '\n' ' ')"
	fi
fi

# ---- tap, in a network namespace this test makes ----
if wanted tap; then
	if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! unshare -n true 2>/dev/null; then
		skip "tap: needs root, /dev/net/tun and network namespaces"
	else
		unshare -n bash -c '
			ip link set lo up
			"$@" &
			for _ in $(seq 100); do ip link show ctap0 >/dev/null 2>&1 && break; sleep 0.1; done
			ip addr add 10.6.0.1/24 dev ctap0 && ip link set ctap0 up
			wait' _ timeout -k 5 120 "$condo" run --kernel "$gdir/Image" --initrd "$gdir/initramfs.cpio.gz" \
			--net tap=ctap0 --append "console=ttyS0 quiet -- \"$(up 10.6.0.2); $(wait_ping 10.6.0.1); ping -c 2 10.6.0.1 >/dev/null && echo TAP ok\"" \
			>tap.log 2>&1 </dev/null
		if [ "$(field tap.log TAP)" = ok ]; then ok tap-ping-host; else bad tap-ping-host "$(tail -3 tap.log | tr '\n' ' ')"; fi
	fi
fi

# ---- bad --net values: one line, exit 2 ----
run bad-net-kind 2 "expected user, switch=NAME or tap=IFNAME" run --net bogus
run bad-net-empty-switch 2 "switch= needs a name" run --net switch=
run bad-net-switch-name 2 "a network name is" run --net switch=../etc
run bad-net-mac 2 "mac=zz" run --net user,mac=zz
run bad-net-mac-multicast 2 "multicast" run --net user,mac=01:00:5e:00:00:01
run bad-net-hostfwd 2 "hostfwd=tcp:1.2.3.4" run --net user,hostfwd=tcp:1.2.3.4
run bad-net-hostfwd-switch 2 "hostfwd= is for --net user only" run --net switch=a,hostfwd=tcp::1-:2
run bad-net-rate 2 "rate=fast" run --net user,rate=fast
run bad-net-burst-alone 2 "burst= without rate=" run --net user,burst=10000
run bad-net-option 2 "unknown option 'speed'" run --net user,speed=1
run bad-net-too-many 2 "at most 4 NICs" run --net user --net user --net user --net user --net user
run bad-net-slots 1 "at most 6 together" run --kernel "$gdir/Image" --drive file=/dev/null --drive file=/dev/null \
	--drive file=/dev/null --drive file=/dev/null --net switch=a --net switch=b --net switch=c
run bad-net-tap-name 1 "tap=aaaaaaaaaaaaaaaaaaaa" run --kernel "$gdir/Image" --net tap=aaaaaaaaaaaaaaaaaaaa
run bad-switch-name 2 "bad network name" switch ../x
run bad-switch-args 2 "expected one network NAME" switch
finish
