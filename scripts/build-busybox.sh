#!/usr/bin/env bash
# Build busybox from Debian's busybox source package (Debian's patches applied
# by dpkg-source) with guest/busybox.config, and print the binary's path.
#
#   scripts/build-busybox.sh riscv64          static RISC-V binary (cross-built)
#   scripts/build-busybox.sh riscv64 --root   a root directory for `condo app
#                                             --root`: bin/busybox plus one
#                                             symlink per applet in bin/
#   scripts/build-busybox.sh host             the same configuration for the
#                                             host, to compare outputs with
#
# Results are cached in ${CONDO_CACHE:-~/.cache/condo}/busybox-<arch>-<hash>/,
# the hash covering the config fragment, this script and the Debian source
# version; a cached build is printed at once.  Progress goes to stderr, the
# make output to a log file named on failure.  The cache entry appears
# atomically (built in a temporary directory, renamed at the end).
set -euo pipefail

prog=build-busybox
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

arch=${1:-}
want_root=0
case "${2:-}" in
"") ;;
--root) want_root=1 ;;
*) die "unknown option '${2}' (usage: $0 riscv64|host [--root])" ;;
esac
case "$arch" in
riscv64) cross=riscv64-linux-gnu- ;;
host) cross= ;;
*) die "usage: $0 riscv64|host [--root]" ;;
esac
[ $want_root -eq 1 ] && [ "$arch" != riscv64 ] && die "--root is only built for riscv64"

self=$(readlink -f "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$self")")
config=$top/guest/busybox.config
[ -r "$config" ] || die "missing config fragment $config"
cache=${CONDO_CACHE:-$HOME/.cache/condo}
mkdir -p "$cache" && cache=$(cd "$cache" && pwd) || die "cannot create cache directory $cache"

# The newest busybox source version apt knows (needs a deb-src entry).
version=
while read -r v; do
	if [ -z "$version" ] || dpkg --compare-versions "$v" gt "$version"; then
		version=$v
	fi
done < <(apt-cache showsrc --only-source busybox 2>/dev/null | awk '/^Version:/ { print $2 }')
[ -n "$version" ] || die "apt knows no busybox source package (a deb-src entry is needed; run scripts/deps.sh)"

hash=$({ cat "$config" "$self"; echo "$arch $version"; } | sha256sum | cut -c1-16)
name=busybox-$arch-$hash
out=$cache/$name

result() {
	if [ $want_root -eq 1 ]; then echo "$out/root"; else echo "$out/busybox"; fi
}
if [ -x "$out/busybox" ]; then
	result
	exit 0
fi

# One build per cache entry at a time; whoever waited finds it done.
exec 9>"$cache/.$name.lock"
flock 9
if [ -x "$out/busybox" ]; then
	result
	exit 0
fi

command -v make >/dev/null || die "make is not installed"
command -v "${cross}gcc" >/dev/null || die "${cross}gcc is not installed (run scripts/deps.sh)"
command -v dpkg-source >/dev/null || die "dpkg-source is not installed (package dpkg-dev)"

# The build must not see the settings of a calling make (`make CC=clang check`
# would otherwise reach busybox's make through MAKEFLAGS) or of the shell.
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES CC CFLAGS CPPFLAGS LDFLAGS LDLIBS \
	EXTRA_CFLAGS EXTRA_LDFLAGS CROSS_COMPILE ARCH O V
export LC_ALL=C

work=$(mktemp -d "$cache/.$name.XXXXXX")
log=$cache/$name.log       # kept on failure, moved into the result on success
phase=
on_exit() {
	local rc=$?
	if [ $rc -ne 0 ] && [ -n "$phase" ]; then
		echo "$prog: $arch: $phase failed; log: $log" >&2
	fi
	rm -rf "$work"
}
trap on_exit EXIT
: >"$log"

# Debian's source, unpacked and patched once per version, shared by all arches.
src=$cache/busybox-src-${version//[^A-Za-z0-9.+~-]/_}
if [ ! -f "$src/Makefile" ]; then
	phase="fetching the Debian source (busybox $version)"
	say "$phase"
	mkdir "$work/src"
	(cd "$work/src" && apt-get source -q --only-source "busybox=$version") >>"$log" 2>&1
	unpacked=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'busybox-*' | head -n1)
	[ -n "$unpacked" ] && [ -f "$unpacked/Makefile" ] || { echo "no unpacked tree" >>"$log"; false; }
	mv -T "$unpacked" "$src" 2>>"$log" || [ -f "$src/Makefile" ]
	rm -rf "$work/src"
fi

obj=$work/obj
mkdir "$obj"
mk() { make -C "$src" O="$obj" ${cross:+CROSS_COMPILE=$cross} "$@" >>"$log" 2>&1; }

phase="configuring (defconfig + guest/busybox.config)"
say "$arch: $phase"
mk defconfig
# Apply the fragment: each option line replaces the defconfig one.
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) opt=${line%%=*} ;;
	"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
	*) continue ;;
	esac
	grep -v -E "^(# )?$opt( is not set|=)" "$obj/.config" >"$obj/.config.new" || true
	echo "$line" >>"$obj/.config.new"
	mv "$obj/.config.new" "$obj/.config"
done <"$config"
{ yes '' || true; } | mk oldconfig
# Every line of the fragment must have survived dependency resolution.
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=* | "# CONFIG_"*" is not set")
		if ! grep -qxF -- "$line" "$obj/.config"; then
			echo "config: '$line' did not survive oldconfig (unknown option or unmet dependency)" >>"$log"
			false
		fi
		;;
	esac
done <"$config"

phase="compiling (make -j2)"
say "$arch: $phase, log in $log"
mk -j2 busybox busybox.links
[ -x "$obj/busybox" ] || { echo "no busybox binary produced" >>"$log"; false; }

phase="installing"
say "$arch: $phase"
dest=$work/out
mkdir "$dest"
cp "$obj/busybox" "$obj/busybox_unstripped" "$obj/busybox.links" "$dest/"
cp "$obj/.config" "$dest/busybox.config"
if [ "$arch" = riscv64 ]; then
	# A minimal root for app mode: every applet as /bin/<name> -> busybox.
	mkdir -p "$dest/root/bin" "$dest/root/tmp"
	chmod 1777 "$dest/root/tmp"
	cp "$obj/busybox" "$dest/root/bin/busybox"
	n=0
	while IFS= read -r link; do
		applet=${link##*/}
		[ -n "$applet" ] && [ "$applet" != busybox ] || continue
		[ -e "$dest/root/bin/$applet" ] && continue
		ln -s busybox "$dest/root/bin/$applet"
		n=$((n + 1))
	done <"$obj/busybox.links"
	[ $n -gt 100 ] || { echo "only $n applet links" >>"$log"; false; }
fi
cp "$log" "$dest/build.log"

phase="publishing to $out"
if ! mv -T "$dest" "$out" 2>>"$log"; then
	# Someone else published the same build meanwhile; theirs is as good.
	[ -x "$out/busybox" ] || false
fi
rm -f "$log"
phase=
say "$arch: built $out"
result
