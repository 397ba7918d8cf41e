#!/usr/bin/env bash
# tests/layers.sh — the layering rules of ../shared/DESIGN.md, checked on the
# #include lines of src/ and include/condo/: no include cycle between src/
# directories (a public header include/condo/NAME.h counts as its
# component's), and src/cpu includes no translator or engine header.
# Prints each violation and exits 1; `make check-layers`.
set -u
cd "$(dirname "$0")/.." || exit 1

# The component a public header belongs to (nothing: shared by all).
component_of_header() {
	case $1 in
	types) ;;
	log | evloop) echo util ;;
	codemap | dev) echo mem ;; # dev.h: the ops interface the bus dispatches to
	aclint | devices) echo dev ;;
	block_aio) echo block ;;
	*) [ -d "src/$1" ] && echo "$1" ;;
	esac
}

# The component of a source file.
component_of_file() {
	case $1 in
	src/*) f=${1#src/}; echo "${f%%/*}" ;;
	include/condo/*) f=${1#include/condo/}; component_of_header "${f%.h}" ;;
	esac
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
bad=0
for file in src/*/*.[ch] src/*/*.inc include/condo/*.h; do
	[ -e "$file" ] || continue
	from=$(component_of_file "$file")
	[ -n "$from" ] || continue
	while read -r inc; do
		case $inc in
		condo/*) name=${inc#condo/}; to=$(component_of_header "${name%.h}") ;;
		*/*) to=${inc%%/*} ;;
		*) continue ;;
		esac
		[ -n "$to" ] && [ "$to" != "$from" ] || continue
		echo "$from $to" >>"$edges"
		if [ "$from" = cpu ] && { [ "$to" = jit ] || [ "$to" = engine ]; }; then
			echo "layers: $file includes \"$inc\": src/cpu must not know the translator or the engine"
			bad=1
		fi
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done
# tsort names the members of every cycle on stderr.
cycles=$(sort -u "$edges" | tsort 2>&1 >/dev/null)
if [ -n "$cycles" ]; then
	echo "layers: include cycle between src/ directories:"
	echo "$cycles" | sed 's/^tsort: /  /'
	bad=1
fi
[ $bad = 0 ] && echo "layers: no include cycles between $(sort -u "$edges" | wc -l) component dependencies; src/cpu knows no translator"
exit $bad
