#!/usr/bin/env bash
# Density: how many idle 64 MiB VMs one host holds under condod, and what
# each costs beyond its guest's memory.  condod (a scratch data directory)
# starts BENCH_VMS VMs (default 100) of the default guest, one at a time
# through the API, and for each measures create-to-running: from the POST
# to the guest's banner on its console.  With all of them up and idle it
# measures, per VMM process: its proportional set size (PSS, shared pages
# divided among the processes that share them), the part of it that is
# guest RAM (the RAM reservation), the rest (the VMM's own overhead: heap,
# the translator's code cache, stacks, its share of the binary), and
# the CPU time all VMs use in BENCH_IDLE seconds (default 10) of idling.
# Prints min / median / max and the host's available memory before and
# after.  Not part of make check.
#   CONDO=build/condo CONDOD=build/condod bench/bench-density.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-density: $*" >&2; exit 1; }
. "$here/lib.sh"
condod_setup
nvms=${BENCH_VMS:-100}
idle=${BENCH_IDLE:-10}
[[ "$nvms" =~ ^[1-9][0-9]*$ ]] || die "BENCH_VMS must be a positive integer"
command -v curl >/dev/null || die "curl is missing"
GUEST_DIR=${GUEST_DIR:-$("$top/scripts/build-guest.sh")} || die "cannot build the guest"
export CONDO_GUEST_DIR=$GUEST_DIR

work=$(mktemp -d /tmp/condo-density.XXXXXX)
data=$work/data
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	pkill -KILL -f -- "--image-dir $data/images" 2>/dev/null
	sleep 0.5
	rm -rf "$work"
}
trap cleanup EXIT

avail() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }
api() {
	curl -s -o "$work/out" -w '%{http_code}' --unix-socket "$data/condod.sock" \
		-H "Authorization: Bearer $tok" -X "$1" "http://condod$2" ${3:+--data-binary "$3"}
}
field() { python3 -c "import json; print(json.load(open('$work/out'))$1)"; }

tok=$("$condod" init --data "$data" 2>/dev/null) || die "condod init failed"
"$condod" --data "$data" >"$work/condod.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -S "$data/condod.sock" ] && break; sleep 0.1; done
head -c $((16 << 20)) /dev/urandom >"$work/base.raw"
[ "$(api POST /v1/tenants "{\"name\":\"bench\",\"quota\":{\"vms\":$nvms,\"vcpus\":$nvms,\"memory_mib\":$((nvms * 64))}}")" = 201 ] ||
	die "cannot create the tenant: $(cat "$work/out")"
tenant=$(field '["id"]')
CONDOD_DATA=$data CONDO_TOKEN=$tok "$condo" ctl image import base "$work/base.raw" >/dev/null ||
	die "cannot import the image"
before=$(avail)

lat=""
for i in $(seq "$nvms"); do
	t0=$EPOCHREALTIME
	[ "$(api POST /v1/vms "{\"name\":\"v$i\",\"image\":\"base\",\"memory_mib\":64,\"tenant\":\"$tenant\"}")" = 201 ] ||
		die "VM $i: $(cat "$work/out")"
	id=$(field '["id"]')
	log=$data/tenants/$tenant/vms/$id/console.log
	for _ in $(seq 1200); do grep -qs "condo-guest: Linux" "$log" && break; sleep 0.05; done
	grep -qs "condo-guest: Linux" "$log" || die "VM $i did not boot"
	lat+="$(elapsed "$t0" "$EPOCHREALTIME") "
	[ $((i % 10)) = 0 ] && echo "bench-density: $i VMs running" >&2
done
sleep 3
after=$(avail)

pids=$(python3 -c "import sqlite3; print(' '.join(str(r[0]) for r in sqlite3.connect('$data/condod.db').execute(\"select pid from vms where state = 'running'\")))")
# PSS of each VMM: all of it, and its guest RAM (the largest anonymous
# mapping: the RAM reservation, 64 MiB and its guard)
python3 - "$pids" >"$work/pss" <<'EOF'
import sys
for pid in sys.argv[1].split():
    total = 0
    maps = []  # (size, pss, anonymous)
    try:
        for line in open("/proc/%s/smaps" % pid):
            f = line.split()
            if "-" in f[0] and len(f) >= 5:
                maps.append([0, 0, len(f) == 5])
            elif f[0] == "Size:":
                maps[-1][0] = int(f[1])
            elif f[0] == "Pss:":
                maps[-1][1] = int(f[1])
                total += int(f[1])
    except OSError:
        continue
    guest = max((m for m in maps if m[2]), default=[0, 0, True])[1]
    print(total / 1024, guest / 1024, (total - guest) / 1024)
EOF
cpu() { for p in $pids; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'; }
c0=$(cpu)
sleep "$idle"
c1=$(cpu)
hz=$(getconf CLK_TCK)

col() { awk -v c="$1" '{ print $c }' "$work/pss" | tr '\n' ' '; }
mmm() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f / %.1f / %.1f", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
echo
echo "bench-density: $nvms idle VMs of 64 MiB (the default guest), one condod ($(nproc) cores, $(awk '/^MemTotal:/ { print int($2 / 1048576) }' /proc/meminfo) GiB, $(date -u +%F))"
echo "create-to-running (POST to the guest's banner), s:  $(mmm "$lat") (min / median / max)"
echo "VMM PSS, MiB:                  $(mmm "$(col 1)")"
echo "  of which guest RAM, MiB:     $(mmm "$(col 2)")"
echo "  VMM overhead, MiB:           $(mmm "$(col 3)")"
echo "host memory available: $before MiB before, $after MiB with $nvms VMs ($(( (before - after) / nvms )) MiB per VM)"
echo "idle CPU of all $nvms VMs: $(awk -v c="$((c1 - c0))" -v h="$hz" -v t="$idle" 'BEGIN { printf "%.3f", c / h / t }') cores"
