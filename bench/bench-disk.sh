#!/usr/bin/env bash
# Disk benchmark: sequential and random 4 KiB reads and writes inside the
# default Linux guest on a 64 MiB virtio-blk disk, under condo and under
# qemu-system-riscv64 -M virt, on the same images, in one run.
#
# Images (fresh copies for every boot): `raw` (64 MiB of random bytes),
# `qcow2` (the same bytes, every cluster allocated, made by qemu-img
# convert) and `overlay` (an empty qcow2 overlay over the raw file: reads
# come from the base, writes copy on write).  raw vs overlay is the cost of
# an overlay over its base.
#
# Steps, timed by the guest's clock: `seqread` = busybox dd of the whole
# disk after dropping the page cache; `randread` / `randwrite` = 2000
# random 4 KiB O_DIRECT reads / writes (bench/disk/rio.c, built for
# riscv64, handed to the guest on a second disk), writes ending with
# fdatasync; `seqwrite` = busybox dd of 64 MiB of zeros with conv=fsync.
# Prints MiB/s (sequential) and IOPS (random), min and median of the
# rounds per runner, image and step, and condo/qemu ratios of the medians
# (above 1.00x: condo is faster).  Not part of make check.
#
# Env: CONDO (required), BENCH_RUNS (default 3), BENCH_IMAGES (default
# "raw qcow2 overlay"), BENCH_TIMEOUT (seconds per boot, default 600),
# GUEST_DIR (default: scripts/build-guest.sh).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "bench-disk: $*" >&2; exit 1; }
warn() { echo "bench-disk: $*" >&2; }

: "${CONDO:?set CONDO to the condo binary}"
[ -x "$CONDO" ] || die "$CONDO is not executable"
runs=${BENCH_RUNS:-3}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
limit=${BENCH_TIMEOUT:-600}
read -r -a images <<<"${BENCH_IMAGES:-raw qcow2 overlay}"
runners=(condo qemu)
qemu=$(command -v qemu-system-riscv64) || die "qemu-system-riscv64 is missing (package qemu-system-misc)"
command -v qemu-img >/dev/null || die "qemu-img is missing (package qemu-utils)"
rv_cc=${RISCV_CC:-riscv64-linux-gnu-gcc}
command -v "$rv_cc" >/dev/null || die "$rv_cc is not installed (package gcc-riscv64-linux-gnu)"
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf
[ -r "$fw" ] || die "missing $fw (package opensbi)"
GUEST_DIR=${GUEST_DIR:-$("$top/scripts/build-guest.sh")} || die "cannot build the guest"
kernel=$GUEST_DIR/Image initrd=$GUEST_DIR/initramfs.cpio.gz
[ -r "$kernel" ] && [ -r "$initrd" ] || die "no Image and initramfs.cpio.gz in $GUEST_DIR"
. "$here/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/condo-bench-disk.XXXXXX") || die "cannot make a directory"
trap 'rm -rf "$work"' EXIT
disk_mib=64
python3 -c "import random,sys; sys.stdout.buffer.write(random.Random(11).randbytes($disk_mib << 20))" \
	>"$work/base.raw" || die "cannot write the data"
qemu-img convert -q -f raw -O qcow2 "$work/base.raw" "$work/full.qcow2" || die "qemu-img convert failed"
"$rv_cc" -O2 -static -o "$work/rio" "$here/disk/rio.c" || die "cannot build bench/disk/rio.c"
rio_size=$(stat -c %s "$work/rio")
cp "$work/rio" "$work/rio.disk" && truncate -s $(((rio_size + 511) / 512 * 512)) "$work/rio.disk"

# The guest side: one double-quoted word for guest/init.  The disk holding
# rio is the small one (QEMU and condo may name the two disks in either
# order).  now() reads /proc/timer_list with shell built-ins only.
script=$(tr '\n' ' ' <<EOF
now() { { read a; read b; read c; } </proc/timer_list; set -- \$c; T=\$3; };
if [ \$(cat /sys/block/vda/size) -lt 100000 ]; then P=/dev/vda; D=/dev/vdb; else P=/dev/vdb; D=/dev/vda; fi;
head -c $rio_size \$P >/tmp/rio; chmod +x /tmp/rio;
sync; echo 3 >/proc/sys/vm/drop_caches;
now; t=\$T; dd if=\$D of=/dev/null bs=1M 2>/dev/null; now; echo bench: seqread \$((T-t));
/tmp/rio r \$D 2000 $((disk_mib << 20)) >/tmp/o && read x ns n </tmp/o && echo bench: randread \$ns;
now; t=\$T; dd if=/dev/zero of=\$D bs=1M count=$disk_mib conv=fsync 2>/dev/null; now; echo bench: seqwrite \$((T-t));
/tmp/rio w \$D 2000 $((disk_mib << 20)) >/tmp/o && read x ns n </tmp/o && echo bench: randwrite \$ns
EOF
)
script=${script% }
append="console=ttyS0 quiet -- \"$script\""

# fresh IMAGE: a new copy of the image into $work/disk.img, its format in fmt
fresh() {
	rm -f "$work/disk.img"
	case "$1" in
	raw) cp "$work/base.raw" "$work/disk.img"; fmt=raw ;;
	qcow2) cp "$work/full.qcow2" "$work/disk.img"; fmt=qcow2 ;;
	overlay) qemu-img create -q -f qcow2 -b "$work/base.raw" -F raw "$work/disk.img"; fmt=qcow2 ;;
	*) die "unknown image '$1' in BENCH_IMAGES (raw, qcow2, overlay)" ;;
	esac
}

# cmd_of RUNNER: the command line of one boot, in the array `cmd`
cmd_of() {
	case "$1" in
	condo)
		cmd=("$CONDO" run --mem 256M --cpus 1 --kernel "$kernel" --initrd "$initrd"
			--drive "file=$work/disk.img,format=$fmt" --drive "file=$work/rio.disk,format=raw,readonly=on"
			--append "$append") ;;
	qemu)
		# shellcheck disable=SC2054 # the commas are qemu's
		cmd=("$qemu" -M virt -m 256M -smp 1 -nographic -bios "$fw" -kernel "$kernel" -initrd "$initrd"
			-drive "file=$work/disk.img,format=$fmt,if=none,id=d0" -device virtio-blk-device,drive=d0
			-drive "file=$work/rio.disk,format=raw,if=none,id=d1,readonly=on" -device virtio-blk-device,drive=d1
			-append "$append") ;;
	esac
}

steps=(seqread randread seqwrite randwrite)
declare -A rates failed
bad=0
for ((i = 1; i <= runs; i++)); do
	for img in "${images[@]}"; do
		for r in "${runners[@]}"; do
			[ -n "${failed[$r/$img]:-}" ] && continue
			echo "bench-disk: round $i/$runs, $img, $r" >&2
			fresh "$img"
			cmd_of "$r"
			out=$(timeout "$limit" "${cmd[@]}" </dev/null 2>&1 | tr -d '\r')
			rc=$?
			if [ $rc -ne 0 ] || ! grep -q 'condo-guest: exit status 0' <<<"$out"; then
				warn "$r on $img failed (exit status $rc)"
				tail -n 15 <<<"$out" | sed 's/^/  | /' >&2
				failed[$r/$img]=1 bad=1
				continue
			fi
			for s in "${steps[@]}"; do
				ns=$(awk -v s="$s" '$1 == "bench:" && $2 == s { print $3 }' <<<"$out")
				if ! [[ "$ns" =~ ^[1-9][0-9]*$ ]]; then
					warn "$r on $img: no time for $s"
					failed[$r/$img]=1 bad=1
					continue 2
				fi
				# MiB/s for the sequential steps, operations per second for the random ones
				case $s in
				seq*) rates[$img/$s/$r]+="$(awk -v n="$ns" -v m="$disk_mib" 'BEGIN { printf "%.3f", m / (n / 1e9) }') " ;;
				*) rates[$img/$s/$r]+="$(awk -v n="$ns" 'BEGIN { printf "%.3f", 2000 / (n / 1e9) }') " ;;
				esac
			done
		done
	done
done

echo
echo "bench-disk: ${disk_mib} MiB virtio-blk disk, default guest, 1 hart, 256 MiB; $runs runs per cell ($(nproc) cores, $(date -u +%F))"
echo "sequential in MiB/s, random 4 KiB in IOPS; min / median (higher is better)"
echo "condo: $CONDO"
printf '%-8s %-10s %21s %21s %10s\n' image step condo qemu condo/qemu
for img in "${images[@]}"; do
	for s in "${steps[@]}"; do
		read -r cmin cmed <<<"$(stats "${rates[$img/$s/condo]:-}")"
		read -r qmin qmed <<<"$(stats "${rates[$img/$s/qemu]:-}")"
		printf '%-8s %-10s %10s / %-8s %10s / %-8s %10s\n' "$img" "$s" "${cmin:--}" "${cmed:--}" \
			"${qmin:--}" "${qmed:--}" "$(ratio "${cmed:-0}" "${qmed:-0}")"
	done
done
echo "(ratios are of the medians; above 1.00x means condo is faster)"
[ $bad -eq 0 ] || die "some runs failed (see above)"
