#!/usr/bin/env bash
# Network benchmark: throughput and latency of the default Linux guest's
# virtio-net, under condo and under qemu-system-riscv64 -M virt, in one run.
#
#   vm-vm     two VMs on one L2 segment: condo's virtual switch
#             (--net switch=NAME), QEMU's socket netdev (listen/connect);
#             the second VM sends 16 MiB over TCP (busybox nc) to the first
#             and pings it (20 echoes, 0.1 s apart)
#   host-vm   user-mode NAT (libslirp in both): a host client sends 16 MiB
#             through a hostfwd port to the guest's nc, and makes 200
#             one-byte TCP round trips to a guest echo server (nc -e cat)
# Throughput is MiB/s (guest's clock for vm-vm, the host's for host-vm);
# latency is the mean round trip in ms.  min and median of the rounds and
# condo/qemu ratios of the medians (throughput above 1.00x: condo is
# faster; latency below 1.00x: condo is faster).  Loopback only; not part
# of make check.
#
# Env: CONDO (required), BENCH_RUNS (default 3), BENCH_TIMEOUT (seconds
# per VM, default 300), GUEST_DIR (default: scripts/build-guest.sh).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-net: $*" >&2; exit 1; }
warn() { echo "bench-net: $*" >&2; }

: "${CONDO:?set CONDO to the condo binary}"
[ -x "$CONDO" ] || die "$CONDO is not executable"
CONDO=$(cd "$(dirname "$CONDO")" && pwd)/$(basename "$CONDO")
runs=${BENCH_RUNS:-3}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
limit=${BENCH_TIMEOUT:-300}
qemu=$(command -v qemu-system-riscv64) || die "qemu-system-riscv64 is missing (package qemu-system-misc)"
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf
[ -r "$fw" ] || die "missing $fw (package opensbi)"
GUEST_DIR=${GUEST_DIR:-$("$top/scripts/build-guest.sh")} || die "cannot build the guest"
kernel=$GUEST_DIR/Image initrd=$GUEST_DIR/initramfs.cpio.gz
[ -r "$kernel" ] && [ -r "$initrd" ] || die "no Image and initramfs.cpio.gz in $GUEST_DIR"
. "$here/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/condo-bench-net.XXXXXX") || die "cannot make a directory"
trap 'rm -rf "$work"' EXIT
export CONDO_NET_DIR=$work/net
mib=16
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# guest scripts: one double-quoted word for guest/init, no double quotes
word() { tr '\n' ' ' | sed 's/ *$//'; }
rx_script=$(word <<'EOF'
ip addr add 10.9.0.1/24 dev eth0; ip link set eth0 up;
nc -l -p 7000 </dev/null >/dev/null; echo bench: received
EOF
)
tx_script=$(word <<EOF
ip addr add 10.9.0.2/24 dev eth0; ip link set eth0 up;
i=0; until ping -c 1 -W 1 10.9.0.1 >/dev/null 2>&1; do i=\$((i+1)); [ \$i -gt 120 ] && break; done;
echo bench: ping \$(ping -c 20 -i 0.1 10.9.0.1 | tail -1);
t=\$(cut -d' ' -f1 /proc/uptime);
dd if=/dev/zero bs=64k count=$((mib * 16)) 2>/dev/null | nc 10.9.0.1 7000;
echo bench: sent \$t \$(cut -d' ' -f1 /proc/uptime); sleep 2
EOF
)
user_script=$(word <<'EOF'
udhcpc -i eth0 -n -q -t 10 >/dev/null 2>&1; echo bench: up;
nc -l -p 7000 </dev/null >/dev/null; nc -l -p 7001 -e cat; echo bench: done
EOF
)

# boot RUNNER LOG ARGS... -- SCRIPT (in the background)
boot() {
	local r=$1 log=$2 args=()
	shift 2
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	case $r in
	condo) timeout "$limit" "$CONDO" run --mem 256M --kernel "$kernel" --initrd "$initrd" \
		"${args[@]}" --append "console=ttyS0 quiet -- \"$2\"" >"$log" 2>&1 </dev/null & ;;
	qemu) timeout "$limit" "$qemu" -M virt -m 256M -smp 1 -nographic -bios "$fw" -kernel "$kernel" \
		-initrd "$initrd" "${args[@]}" -append "console=ttyS0 quiet -- \"$2\"" >"$log" 2>&1 </dev/null & ;;
	esac
}

vm_vm() {
	local r=$1 port a b
	case $r in
	condo)
		boot condo "$work/rx.log" --net switch=bench,mac=52:54:00:00:09:01 -- "$rx_script"
		a=$!
		boot condo "$work/tx.log" --net switch=bench,mac=52:54:00:00:09:02 -- "$tx_script"
		b=$! ;;
	qemu)
		port=$(free_port)
		# shellcheck disable=SC2054 # the commas are qemu's
		boot qemu "$work/rx.log" -netdev "socket,id=n0,listen=127.0.0.1:$port" \
			-device virtio-net-device,netdev=n0,mac=52:54:00:00:09:01 -- "$rx_script"
		a=$!
		sleep 1
		# shellcheck disable=SC2054
		boot qemu "$work/tx.log" -netdev "socket,id=n0,connect=127.0.0.1:$port" \
			-device virtio-net-device,netdev=n0,mac=52:54:00:00:09:02 -- "$tx_script"
		b=$! ;;
	esac
	wait $b
	wait $a
	tr -d '\r' <"$work/tx.log" >"$work/tx.txt"
	# ping's summary: round-trip min/avg/max = a/b/c ms
	lat=$(sed -n 's,^bench: ping .*= [0-9.]*/\([0-9.]*\)/.*,\1,p' "$work/tx.txt")
	tput=$(awk -v m="$mib" '$1 == "bench:" && $2 == "sent" && $4 > $3 { printf "%.3f", m / ($4 - $3) }' "$work/tx.txt")
}

host_vm() {
	local r=$1 p1 p2 vm
	p1=$(free_port) p2=$(free_port)
	case $r in
	condo) boot condo "$work/u.log" --net "user,hostfwd=tcp:127.0.0.1:$p1-:7000,hostfwd=tcp:127.0.0.1:$p2-:7001" -- "$user_script" ;;
	# shellcheck disable=SC2054
	qemu) boot qemu "$work/u.log" -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$p1-:7000,hostfwd=tcp:127.0.0.1:$p2-:7001" \
		-device virtio-net-device,netdev=n0 -- "$user_script" ;;
	esac
	vm=$!
	for _ in $(seq "$limit"); do grep -q 'bench: up' "$work/u.log" 2>/dev/null && break; sleep 1; done
	read -r tput lat < <(python3 - "$p1" "$p2" "$mib" <<'PY'
import socket, sys, time
p1, p2, mib = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def connect(p):
    for _ in range(600):
        try:
            return socket.create_connection(("127.0.0.1", p), 5)
        except OSError:
            time.sleep(0.1)
    sys.exit(1)
# The data's end is the guest's close: its nc exits once it has read all.
s = connect(p1)
block = bytes(65536)
t0 = time.monotonic()
for _ in range(mib * 16):
    s.sendall(block)
s.shutdown(socket.SHUT_WR)
s.recv(1)
t1 = time.monotonic()
s.close()
time.sleep(0.5)
e = connect(p2)
e.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
e.sendall(b"x"); e.recv(1)  # warm up
n = 200
t2 = time.monotonic()
for _ in range(n):
    e.sendall(b"x")
    if not e.recv(1):
        sys.exit(1)
t3 = time.monotonic()
e.close()
print("%.3f %.3f" % (mib / (t1 - t0), (t3 - t2) / n * 1000))
PY
)
	wait $vm
}

declare -A vals
bad=0
for ((i = 1; i <= runs; i++)); do
	for r in condo qemu; do
		echo "bench-net: round $i/$runs, $r" >&2
		tput= lat=
		vm_vm "$r"
		if [ -z "$tput" ] || [ -z "$lat" ]; then
			warn "$r vm-vm failed"; tail -n 8 "$work/tx.log" "$work/rx.log" | sed 's/^/  | /' >&2; bad=1
		else
			vals[vmvm/tput/$r]+="$tput " vals[vmvm/lat/$r]+="$lat "
		fi
		tput= lat=
		host_vm "$r"
		if [ -z "$tput" ] || [ -z "$lat" ]; then
			warn "$r host-vm failed"; tail -n 8 "$work/u.log" | sed 's/^/  | /' >&2; bad=1
		else
			vals[hostvm/tput/$r]+="$tput " vals[hostvm/lat/$r]+="$lat "
		fi
	done
done

echo
echo "bench-net: default guest, 1 hart, 256 MiB; $runs runs ($(nproc) cores, $(date -u +%F))"
printf '%-8s %-16s %-20s %-20s %s\n' path measure condo qemu condo/qemu
for path in vmvm hostvm; do
	for m in tput lat; do
		c=$(stats "${vals[$path/$m/condo]:-}") q=$(stats "${vals[$path/$m/qemu]:-}")
		read -r cmin cmed <<<"$c"
		read -r qmin qmed <<<"$q"
		case $m in tput) unit="MiB/s" ;; lat) unit="ms (mean RTT)" ;; esac
		printf '%-8s %-16s %-20s %-20s %s\n' "${path/vmvm/vm-vm}" "$unit" "${cmin:-?} / ${cmed:-?}" \
			"${qmin:-?} / ${qmed:-?}" "$(ratio "${cmed:-0}" "${qmed:-0}")"
	done
done
exit $bad
