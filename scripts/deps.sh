#!/usr/bin/env bash
# Install the Debian packages condo needs to build and test.  As root the
# missing ones are installed (apt-get update runs once if the lists are old);
# otherwise the exact apt-get line is printed and the script fails.
# Source packages (busybox) need a deb-src entry, which is added here.
set -euo pipefail

packages=(
	# building condo
	gcc clang make pkg-config dpkg-dev libc6-dev libfdt-dev
	# the jail: seccomp filters
	libseccomp-dev
	# compressed qcow2 clusters; NBD disks (libnbd); io_uring for block I/O
	# off the vCPU threads
	zlib1g-dev libzstd-dev libnbd-dev liburing-dev
	# networking: user-mode NAT (--net user, src/net/slirp.c, which loads
	# libslirp0 at run time; the -dev package for its header)
	libslirp-dev
	# condod, the control plane: HTTP, JSON, its store, tokens; condo ctl: libcurl
	libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libcurl4-openssl-dev
	# tests of condod: curl, and the API description checked with Debian's python
	curl python3-yaml python3-jsonschema
	# benchmarks: condod's API under load (bench/bench-api.sh)
	wrk
	# tests: unit tests and a disassembler for the translator's tests,
	# riscv64 cross compilers, the oracles and the firmware
	libcmocka-dev libzydis-dev gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
	gcc-riscv64-unknown-elf qemu-user qemu-system-misc opensbi python3 bc
	# qemu-img: the qcow2 interoperability and crash tests; qemu-nbd,
	# nbd-server and nbdinfo/nbdcopy: the NBD tests (tests/block/nbd.sh);
	# strace: the cache= tests count a guest flush's fdatasync
	qemu-utils nbd-server libnbd-bin strace
	# the default guest: Linux from Debian's source, busybox from its source package
	linux-source-6.1 bison flex bzip2 xz-utils
	# fuzzing (tests/fuzz): clang's libFuzzer and sanitizer runtimes
	libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

need_src=0
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
	need_src=1
fi

if [ ${#missing[@]} -eq 0 ] && [ $need_src -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "condo: missing build dependencies; run as root:" >&2
	[ ${#missing[@]} -gt 0 ] && echo "  apt-get install -y ${missing[*]}" >&2
	[ $need_src -eq 1 ] && echo "  (and add a deb-src line for your Debian release to /etc/apt/sources.list)" >&2
	exit 1
fi

if [ $need_src -eq 1 ]; then
	# Mirror the binary sources as deb-src so `apt-get source` works.
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			>/etc/apt/sources.list.d/condo-src.sources
	elif grep -qs '^deb ' /etc/apt/sources.list; then
		grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
			>/etc/apt/sources.list.d/condo-src.list
	fi
fi

echo "condo: installing build dependencies: ${missing[*]:-(source lists only)}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
if [ ${#missing[@]} -gt 0 ]; then
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
