#!/usr/bin/env bash
# A real guest on a qcow2 overlay: the default Linux guest boots with a
# qcow2 overlay of a raw base as its disk, writes a marker (a partial
# sector), a run of zeros and discards 1 MiB, reads the disk back and
# hashes it.  Then: the base is unchanged, qemu-img check finds the
# overlay clean, and qemu-img reads the bytes the guest saw and meant.
#   CONDO=build/condo tests/block/guest.sh   (needs the default guest: make guest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
console=$here/../guest/console.py

if ! command -v qemu-img >/dev/null; then
	skip "qemu-img is not installed (qemu-utils)"
	finish
fi
gdir=${CONDO_GUEST_DIR:-${CONDO_CACHE:-$HOME/.cache/condo}/guest}
if [ ! -r "$gdir/Image" ]; then
	skip "no default guest in $gdir (make guest)"
	finish
fi

rand_file base.raw $((8 << 20)) 5
cp base.raw base.orig
"$condo" img create -f qcow2 -b base.raw -F raw over.qcow2 || { bad create failed; finish; }
# What the disk must hold: the base, the marker, zeros, the discarded
# clusters reading as zeros (qcow2 v3 zero clusters over a backing file).
python3 - <<'EOS'
d = bytearray(open("base.orig", "rb").read())
d[2048 * 512:2048 * 512 + 18] = b"condo-qcow2-marker"
d[100 * 4096:164 * 4096] = bytes(64 * 4096)
d[4 << 20:5 << 20] = bytes(1 << 20)
open("expect.raw", "wb").write(d)
EOS
sum=$(md5sum <expect.raw | cut -d' ' -f1)
cat >guest.script <<EOS
expect # 
send printf condo-qcow2-marker | dd of=/dev/vda bs=512 seek=2048 conv=notrunc,fsync 2>/dev/null; echo W1-\$((1+1))
expect W1-2
send dd if=/dev/zero of=/dev/vda bs=4096 seek=100 count=64 conv=fsync 2>/dev/null; echo W2-\$((2+2))
expect W2-4
send blkdiscard -o 4194304 -l 1048576 /dev/vda && echo DISCARD-\$((3+3))
expect DISCARD-6
send echo 3 > /proc/sys/vm/drop_caches; echo MARK-\$(dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c 18)
expect MARK-condo-qcow2-marker
send md5sum /dev/vda
expect $sum
send poweroff
exit 0
EOS
if CONSOLE_TIMEOUT=300 "$console" guest.script -- "$condo" run --drive file=over.qcow2,discard=unmap >guest.log 2>&1; then
	ok guest-writes-and-reads-back
else
	bad guest-writes-and-reads-back "$(tail -5 guest.log | tr '\n' ' ')"
	finish
fi
if cmp -s base.raw base.orig; then ok base-unchanged; else bad base-unchanged "the guest's writes reached the base"; fi
if qemu-img check -q over.qcow2; then ok overlay-check; else bad overlay-check "qemu-img check complains"; fi
qemu-img convert -O raw over.qcow2 qemu.raw
if cmp -s qemu.raw expect.raw; then ok overlay-bytes; else bad overlay-bytes "qemu-img reads other bytes than the guest wrote"; fi

# A tenant's overlay in the jail: the overlay lies in the tenant's
# directory, its base in an image store (--image-dir), the VM's root is an
# empty --jail-dir.  The guest reads the base's bytes through the overlay.
mkdir -p store tenant jaildir
cp base.orig store/base.raw
"$condo" img create -f qcow2 -b "$work/store/base.raw" -F raw tenant/disk.qcow2
sum=$(md5sum <base.orig | cut -d' ' -f1)
cat >jail.script <<EOS
expect # 
send md5sum /dev/vda
expect $sum
send poweroff
exit 0
EOS
if ! unshare -m true 2>/dev/null; then
	skip "jailed-overlay: this host refuses mount namespaces (--jail-dir)"
elif CONSOLE_TIMEOUT=300 "$console" jail.script -- "$condo" run --jail-dir jaildir --image-dir store \
	--drive file=tenant/disk.qcow2 >jail.log 2>&1; then
	ok jailed-overlay
else
	bad jailed-overlay "$(tail -5 jail.log | tr '\n' ' ')"
fi
finish
