#!/usr/bin/env bash
# Linux boot tests: boot the default guest (make guest) on both boot paths
# with 1, 2 and 4 harts, type commands into the console and check what they
# print; and a virtio-blk round trip across a guest reboot, checked from the
# host.  Env: CONDO (path to condo), BUILD (build dir), GUEST_DIR (the
# default guest; built by scripts/build-guest.sh when unset).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${CONDO:?set CONDO to the condo binary}" "${BUILD:=build}"
GUEST_DIR=${GUEST_DIR:-$("$here/../../scripts/build-guest.sh")} || exit 1
work=$BUILD/guest-work
mkdir -p "$work"
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic
kernel=$GUEST_DIR/Image
initrd=$GUEST_DIR/initramfs.cpio.gz
pass=0 fail=0
only=${1:-}

check() { # NAME SCRIPT CONDO-ARGS...
	local name=$1 script=$2
	shift 2
	[ -n "$only" ] && [[ $name != *"$only"* ]] && return
	if "$here/console.py" "$script" -- "$CONDO" run "$@" >"$work/$name.log" 2>&1; then
		echo "ok $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name (log: $work/$name.log)"
		tail -15 "$work/$name.log" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}

# A person at the console: wait for the prompt, run commands, power off.
shell_script() { # CPUS
	cat <<EOS
expect condo-guest: Linux
expect # 
send echo RESULT=\$((6 * 7))
expect RESULT=42
send echo CPUS=\$(grep -c ^processor /proc/cpuinfo) ISA=\$(grep -m1 ^isa /proc/cpuinfo | cut -d' ' -f2)
expect CPUS=$1 ISA=rv64imafdc
send cat /sys/class/rtc/rtc0/date >/dev/null && echo RTC-OK\$((1 + 1))
expect RTC-OK2
send poweroff
exit 0
EOS
}

for cpus in 1 2 4; do
	shell_script $cpus >"$work/shell-$cpus.script"
done

for cpus in 1 2 4; do
	check "boot-paravirt-${cpus}cpu" "$work/shell-$cpus.script" \
		--kernel "$kernel" --initrd "$initrd" --cpus $cpus
done
for cpus in 1 4; do
	check "boot-opensbi-jump-${cpus}cpu" "$work/shell-$cpus.script" \
		--bios "$fw/fw_jump.elf" --kernel "$kernel" --initrd "$initrd" --cpus $cpus
done
check "boot-opensbi-dynamic-2cpu" "$work/shell-2.script" \
	--bios "$fw/fw_dynamic.bin" --kernel "$kernel" --initrd "$initrd" --cpus 2

# A firmware without --kernel boots the default guest under it, as the
# help promises (before, the firmware jumped into empty memory).
cat >"$work/firmware-default-guest.script" <<'EOS'
expect OpenSBI
expect condo-guest: Linux
expect # 
send echo DEFAULT-GUEST-$((40 + 2))
expect DEFAULT-GUEST-42
send poweroff
exit 0
EOS
CONDO_GUEST_DIR=$GUEST_DIR check "boot-opensbi-jump-default-guest" \
	"$work/firmware-default-guest.script" --bios "$fw/fw_jump.elf"

# virtio-blk: format and fill a disk, reboot, read it back; then the host
# looks at the image itself.
disk=$work/disk.img
rm -f "$disk"
truncate -s 32M "$disk"
cat >"$work/disk.script" <<'EOS'
expect # 
send mke2fs -q /dev/vda && mount /dev/vda /mnt && seq 1 20000 > /mnt/numbers && echo condo-disk-marker > /mnt/marker && md5sum /mnt/numbers > /mnt/sum && umount /mnt && echo FILLED-$((1 + 1))
expect FILLED-2
send reboot
expect condo-guest: Linux
expect # 
send mount /dev/vda /mnt && md5sum -c /mnt/sum && cat /mnt/marker && echo READBACK-$(wc -l < /mnt/numbers)
expect READBACK-20000
send poweroff
exit 0
EOS
check "virtio-blk-roundtrip" "$work/disk.script" \
	--kernel "$kernel" --initrd "$initrd" --drive "file=$disk"
if [ -z "$only" ] || [[ virtio-blk-host-check == *"$only"* ]]; then
	if grep -aq condo-disk-marker "$disk"; then
		echo "ok virtio-blk-host-check"
		pass=$((pass + 1))
	else
		echo "FAIL virtio-blk-host-check: the image does not hold what the guest wrote"
		fail=$((fail + 1))
	fi
fi

echo "guest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
