#!/usr/bin/env bash
# The benchmarks' input: 16 MiB of generated, deterministic data, 12 MiB of
# text lines (compressible) followed by 4 MiB of already gzip-compressed bytes.
# Generated once into ${BUILD:-build}/bench-work/data.bin (again if that file
# is missing or not 16 MiB); prints its path.  Used by bench/bench-app.sh and
# bench/bench-guest.sh, which copy it and never write to it.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "make-data: $*" >&2; exit 1; }

size=16777216
work=${BUILD:-$top/build}/bench-work
data=$work/data.bin
mkdir -p "$work" || die "cannot create $work"

if [ ! -f "$data" ] || [ "$(wc -c <"$data")" -ne $size ]; then
	# busybox's awk, so that the text does not depend on the host's awk.
	host_bb=$("$top/scripts/build-busybox.sh" host) || die "host busybox build failed"
	command -v gzip >/dev/null || die "gzip is missing"
	echo "make-data: generating 16 MiB of input" >&2
	(
		set -e
		cd "$work"
		"$host_bb" awk -v seed=42 '
		function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }
		BEGIN {
			nw = split("alpha beta gamma delta hart trap csr page fence atomic load store", w, " ")
			for (i = 0; i < 400000; i++)
				printf "%08d %s %s %d\n", i, w[1 + rnd(nw)], w[1 + rnd(nw)], rnd(1000000)
		}' >text.tmp
		gzip -n -1 -c text.tmp >blob.tmp
		{ cat text.tmp text.tmp text.tmp text.tmp blob.tmp blob.tmp blob.tmp blob.tmp \
			blob.tmp blob.tmp blob.tmp blob.tmp; } | head -c 12582912 >text-part.tmp
		{ cat blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp \
			blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp blob.tmp; } |
			head -c 4194304 >blob-part.tmp
		cat text-part.tmp blob-part.tmp >data.bin.tmp
		rm -f text.tmp blob.tmp text-part.tmp blob-part.tmp
		mv data.bin.tmp data.bin
	) || die "cannot generate input"
	[ "$(wc -c <"$data")" -eq $size ] || die "input is not 16 MiB (text too short?)"
fi
echo "$data"
