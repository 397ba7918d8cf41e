#!/usr/bin/env bash
# Build condo's default full-system guest for riscv64 and print its directory:
#
#   Image               Linux 6.1 (Debian's linux-source-6.1, guest/linux.config)
#   initramfs.cpio.gz   busybox (scripts/build-busybox.sh) and guest/init
#   vmlinux, System.map the kernel's symbols, for debugging
#   config              the kernel's full .config
#
#   scripts/build-guest.sh              build if needed, print the directory
#   scripts/build-guest.sh --print-dir  print the directory without building
#                                       the guest; exit 1 if it is not built
#
# Results are cached in ${CONDO_CACHE:-~/.cache/condo}/guest-<hash>/, the hash
# covering guest/linux.config, guest/init, these scripts, the linux-source
# package version, the cross toolchain and the busybox binary; a cached guest
# is printed at once.  The kernel has its own cache entry (linux-<hash>/, see
# scripts/guest/build-kernel.sh), so changing guest/init or busybox only
# rebuilds the initramfs.  Progress goes to stderr; the directory appears
# atomically.  The link ${CONDO_CACHE:-~/.cache/condo}/guest is pointed at the
# result: `condo run` without --kernel boots it.  See docs/guest.md.
set -euo pipefail

prog=build-guest
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

print_dir=0
case "${1:-}" in
"") ;;
--print-dir) print_dir=1 ;;
*) die "usage: $0 [--print-dir]" ;;
esac

self=$(readlink -f "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$self")")
kernel_script=$top/scripts/guest/build-kernel.sh
init=$top/guest/init
config=$top/guest/linux.config
for f in "$kernel_script" "$init" "$config"; do
	[ -r "$f" ] || die "missing $f"
done
cache=${CONDO_CACHE:-$HOME/.cache/condo}
mkdir -p "$cache" || die "cannot create cache directory $cache"

# busybox is built (or found in its cache) first: its binary is an input.
# (With --print-dir too: scripts/build-busybox.sh cannot say where its result
# would be without building it, and a cached busybox answers at once.)
busybox=$("$top/scripts/build-busybox.sh" riscv64) || die "building busybox failed"
bbdir=$(dirname "$busybox")
[ -x "$busybox" ] && [ -r "$bbdir/busybox.links" ] || die "no busybox.links beside $busybox"
# The shell must run /sbin/poweroff (our script) rather than the applet
# built into it, or `poweroff` would wait for PID 1 (see guest/init).
if grep -qE '^CONFIG_FEATURE_(SH_STANDALONE|PREFER_APPLETS)=y' "$bbdir/busybox.config" 2>/dev/null; then
	die "busybox is configured with FEATURE_SH_STANDALONE or FEATURE_PREFER_APPLETS; guest/init needs both off"
fi

kversion=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || kversion=none
toolchain=$(riscv64-linux-gnu-gcc --version 2>/dev/null | head -n1) || toolchain=none
hash=$({
	cat "$config" "$init" "$self" "$kernel_script"
	echo "$kversion"
	echo "$toolchain"
	sha256sum <"$busybox"
} | sha256sum | cut -c1-16)
name=guest-$hash
out=$cache/$name

if [ $print_dir -eq 1 ]; then
	echo "$out"
	[ -f "$out/initramfs.cpio.gz" ] && [ -f "$out/Image" ]
	exit
fi
# `condo run` without --kernel boots $cache/guest: point it at this guest.
publish() {
	ln -sfn "$name" "$cache/.guest.$$" && mv -Tf "$cache/.guest.$$" "$cache/guest" ||
		say "warning: could not update the link $cache/guest"
	echo "$out"
}
if [ -f "$out/initramfs.cpio.gz" ] && [ -f "$out/Image" ]; then
	publish
	exit 0
fi

exec 9>"$cache/.$name.lock"
flock 9
if [ -f "$out/initramfs.cpio.gz" ] && [ -f "$out/Image" ]; then
	publish
	exit 0
fi

kdir=$("$kernel_script") || die "building the kernel failed"

say "initramfs: busybox $busybox"
work=$(mktemp -d "$cache/.$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/out
mkdir "$dest"

# The archive is described to the kernel's gen_init_cpio, so no root
# privileges are needed for /dev/console and every file is owned by root.
list=$work/initramfs.list
shutdown_script=$work/shutdown
cat >"$shutdown_script" <<'EOF'
#!/bin/sh
# poweroff, reboot and halt in condo's guest act at once (-f): PID 1 is
# /init, a shell script, not an init that would take busybox's signal.
sync
umount -a -r -t ext2,ext3,ext4 2>/dev/null
exec /bin/busybox "${0##*/}" -f "$@"
EOF
# udhcpc's default script: it applies the lease (address, router, DNS) that
# the user-mode NAT's DHCP server hands out (docs/net.md).
dhcp_script=$work/udhcpc.script
cat >"$dhcp_script" <<'EOF'
#!/bin/sh
# udhcpc calls this with deconfig, bound, renew or leasefail.
case "$1" in
deconfig)
	ip addr flush dev "$interface" 2>/dev/null
	ip link set "$interface" up
	;;
bound | renew)
	ip addr flush dev "$interface" 2>/dev/null
	ip addr add "$ip/${mask:-24}" dev "$interface"
	if [ -n "$router" ]; then
		ip route del default 2>/dev/null
		for r in $router; do
			ip route add default via "$r" dev "$interface" && break
		done
	fi
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	;;
esac
exit 0
EOF
{
	for d in bin sbin usr usr/bin usr/sbin usr/share usr/share/udhcpc dev proc sys tmp root mnt etc run var www; do
		echo "dir /$d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /init $init 0755 0 0"
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "file /etc/passwd $work/passwd 0644 0 0"
	echo "file /etc/group $work/group 0644 0 0"
	echo "file /usr/share/udhcpc/default.script $dhcp_script 0755 0 0"
	n=0
	while IFS= read -r link; do
		case "$link" in
		/bin/busybox | "") continue ;;
		*/poweroff | */reboot | */halt) echo "file $link $shutdown_script 0755 0 0" ;;
		*) echo "slink $link /bin/busybox 0777 0 0" ;;
		esac
		n=$((n + 1))
	done <"$bbdir/busybox.links"
	[ $n -gt 100 ] || die "only $n applets in $bbdir/busybox.links"
} >"$list"
sed -i 's,^dir /tmp 0755,dir /tmp 1777,' "$list"
echo "root:x:0:0:root:/root:/bin/sh" >"$work/passwd"
echo "root:x:0:" >"$work/group"
for applet in mount setsid cttyhack sh poweroff mke2fs ip ifconfig route ping nc wget httpd udhcpc; do
	grep -q "/$applet$" "$bbdir/busybox.links" || die "busybox lacks the $applet applet"
done

"$kdir/gen_init_cpio" -t 0 "$list" | gzip -9 -n >"$dest/initramfs.cpio.gz"

# The kernel's files are hard links into its own cache entry where possible.
for f in Image vmlinux System.map config; do
	ln "$kdir/$f" "$dest/$f" 2>/dev/null || cp "$kdir/$f" "$dest/$f"
done
cp "$list" "$dest/initramfs.list"

if ! mv -T "$dest" "$out" 2>/dev/null; then
	[ -f "$out/initramfs.cpio.gz" ] || die "cannot publish $out"
fi
say "built $out"
publish
