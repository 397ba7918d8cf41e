#!/usr/bin/env bash
# Build the guest's Linux 6.1 kernel for riscv64 from Debian's linux-source-6.1
# package and guest/linux.config, and print the directory holding the result:
#
#   Image          the kernel to boot (arch/riscv/boot/Image)
#   vmlinux        the same kernel as an ELF file with symbols (no DWARF)
#   System.map     its symbol table
#   config         the full .config it was built from
#   gen_init_cpio  the kernel's host tool that writes initramfs archives
#   build.log      the kernel's build output
#
# Called by scripts/build-guest.sh, which also builds the initramfs.  Results
# are cached in ${CONDO_CACHE:-~/.cache/condo}/linux-<hash>/, the hash covering
# the config, this script, the linux-source package version and the cross
# toolchain's version, so a change of guest/init or of busybox does not
# rebuild the kernel.  The unpacked source tree is kept in
# linux-src-<version>/ for the next configuration.  Progress goes to stderr,
# the kernel's output to a log file named on failure.
set -euo pipefail

prog=build-kernel
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

self=$(readlink -f "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$(dirname "$self")")")
config=$top/guest/linux.config
[ -r "$config" ] || die "missing $config"
cache=${CONDO_CACHE:-$HOME/.cache/condo}
mkdir -p "$cache" || die "cannot create cache directory $cache"

pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz
version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || version=
[ -n "$version" ] && [ -r "$tarball" ] ||
	die "$tarball is missing: install the Debian package $pkg (scripts/deps.sh)"
cross=riscv64-linux-gnu-
command -v "${cross}gcc" >/dev/null || die "${cross}gcc is not installed (scripts/deps.sh)"
for tool in make bison flex bc xz; do
	command -v $tool >/dev/null || die "$tool is not installed (scripts/deps.sh)"
done
toolchain="$("${cross}gcc" --version | head -n1) / $("${cross}ld" --version | head -n1)"

hash=$({ cat "$config" "$self"; echo "$version"; echo "$toolchain"; } | sha256sum | cut -c1-16)
name=linux-$hash
out=$cache/$name
if [ -f "$out/Image" ]; then
	echo "$out"
	exit 0
fi

# One build per cache entry at a time; whoever waited finds it done.
exec 9>"$cache/.$name.lock"
flock 9
if [ -f "$out/Image" ]; then
	echo "$out"
	exit 0
fi

# The build must not see a calling make's settings or the shell's compiler
# flags (the kernel has its own).
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES CC CFLAGS CPPFLAGS LDFLAGS LDLIBS \
	EXTRA_CFLAGS EXTRA_LDFLAGS CROSS_COMPILE ARCH O V W C KBUILD_OUTPUT
export LC_ALL=C
# Reproducible `uname -v`: no build date, user or host of whoever built it.
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 1970"
export KBUILD_BUILD_USER=condo KBUILD_BUILD_HOST=condo

work=$(mktemp -d "$cache/.$name.XXXXXX")
log=$cache/$name.log        # kept on failure, moved into the result on success
phase=
on_exit() {
	local rc=$?
	if [ $rc -ne 0 ] && [ -n "$phase" ]; then
		echo "$prog: $phase failed; log: $log" >&2
	fi
	rm -rf "$work"
}
trap on_exit EXIT
: >"$log"

# The source, unpacked once per package version.  Left out: the
# documentation (but Documentation/Kconfig, which Kconfig reads) and amdgpu's
# 380 MB of register headers, together a third of the tree.
src=$cache/linux-src-${version//[^A-Za-z0-9.+~-]/_}
if [ ! -f "$src/Makefile" ]; then
	phase="unpacking $tarball ($pkg $version)"
	say "$phase"
	mkdir "$work/src"
	tar -xJf "$tarball" -C "$work/src" --no-wildcards-match-slash \
		--exclude="$pkg/Documentation/*/*" \
		--exclude="$pkg/drivers/gpu/drm/amd/include" >>"$log" 2>&1
	[ -f "$work/src/$pkg/Makefile" ] || { echo "no Makefile in the unpacked tree" >>"$log"; false; }
	mv -T "$work/src/$pkg" "$src" 2>>"$log" || [ -f "$src/Makefile" ]
	rm -rf "$work/src"
fi

obj=$work/obj
mkdir "$obj"
mk() { make -C "$src" O="$obj" ARCH=riscv CROSS_COMPILE=$cross "$@" >>"$log" 2>&1; }

phase="configuring (guest/linux.config + olddefconfig)"
say "$phase"
cp "$config" "$obj/.config"
mk olddefconfig
# Every line of the minimal config must survive dependency resolution (a typo
# or an unmet dependency fails here instead of building a different kernel),
# and the options condo's board and tests rely on must be on whatever the
# file says.
required=(
	64BIT MMU SMP FPU RISCV_ISA_C RISCV_SBI RISCV_TIMER RISCV_INTC SIFIVE_PLIC
	SERIAL_8250 SERIAL_8250_CONSOLE SERIAL_OF_PLATFORM
	RTC_CLASS RTC_DRV_GOLDFISH POWER_RESET_SYSCON POWER_RESET_SYSCON_POWEROFF
	VIRTIO_MMIO VIRTIO_BLK VIRTIO_CONSOLE HW_RANDOM_VIRTIO VIRTIO_NET
	NET INET UNIX EXT4_FS EXT4_USE_FOR_EXT2 BLK_DEV_INITRD RD_GZIP
	DEVTMPFS DEVTMPFS_MOUNT PROC_FS SYSFS TMPFS PRINTK BINFMT_ELF BINFMT_SCRIPT
)
bad=0
bad_config() {
	echo "$prog: guest/linux.config: $*" | tee -a "$log" >&2
	bad=1
}
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=* | "# CONFIG_"*" is not set")
		grep -qxF -- "$line" "$obj/.config" && continue
		bad_config "'$line' did not survive olddefconfig (unknown option or unmet dependency)"
		;;
	esac
done <"$config"
for opt in "${required[@]}"; do
	grep -qx "CONFIG_$opt=y" "$obj/.config" && continue
	bad_config "CONFIG_$opt must be y"
done
nr_cpus=$(sed -n 's/^CONFIG_NR_CPUS=//p' "$obj/.config")
[ "${nr_cpus:-0}" -ge 8 ] || bad_config "CONFIG_NR_CPUS must be at least 8"
for opt in MODULES PCI DEBUG_INFO; do
	grep -qx "CONFIG_$opt=y" "$obj/.config" || continue
	bad_config "CONFIG_$opt must be off"
done
[ $bad -eq 0 ] || false

phase="compiling (make -j2 Image)"
say "$phase, log in $log"
start=$(date +%s)
mk -j2 Image
[ -f "$obj/arch/riscv/boot/Image" ] || { echo "no Image produced" >>"$log"; false; }
[ -x "$obj/usr/gen_init_cpio" ] || mk usr/gen_init_cpio
say "compiled in $(($(date +%s) - start)) s"

phase="installing"
dest=$work/out
mkdir "$dest"
cp "$obj/arch/riscv/boot/Image" "$obj/vmlinux" "$obj/System.map" "$obj/usr/gen_init_cpio" "$dest/"
cp "$obj/.config" "$dest/config"
cp "$log" "$dest/build.log"
rm -rf "$obj"     # a few hundred MB of objects, not worth keeping

phase="publishing to $out"
if ! mv -T "$dest" "$out" 2>>"$log"; then
	# Someone else published the same build meanwhile; theirs is as good.
	[ -f "$out/Image" ] || false
fi
rm -f "$log"
phase=
say "built $out"
echo "$out"
