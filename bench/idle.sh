#!/usr/bin/env bash
# Idle cost: boot the default guest to its shell prompt, leave it idle, and
# measure the host CPU time condo uses meanwhile (utime + stime from
# /proc/PID/stat).  A script, not a test: it prints the figure.
# Env: CONDO, IDLE_SECONDS (default 20), CPUS (default 1), GUEST_DIR.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${CONDO:?set CONDO to the condo binary}"
secs=${IDLE_SECONDS:-20} cpus=${CPUS:-1}
GUEST_DIR=${GUEST_DIR:-$("$here/../scripts/build-guest.sh")}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
mkfifo "$work/in"
"$CONDO" run --kernel "$GUEST_DIR/Image" --initrd "$GUEST_DIR/initramfs.cpio.gz" --cpus "$cpus" \
	<"$work/in" >"$work/out" 2>&1 &
pid=$!
exec 3>"$work/in" # keep the console open
for ((i = 0; i < 600; i++)); do
	grep -q '# ' "$work/out" && break
	sleep 1
done
grep -q '# ' "$work/out" || { echo "idle: no shell prompt" >&2; tail "$work/out" >&2; exit 1; }
sleep 2 # let the boot's last work settle
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$secs"
t1=$(ticks)
echo poweroff >&3
wait $pid || true
pct=$(echo "($t1 - $t0) * 100 / ($hz * $secs)" | bc -l)
printf 'idle guest (%d hart(s)): %.2f%% of one host core over %ds\n' "$cpus" "$pct" "$secs"
