#!/usr/bin/env bash
# Build and run the libFuzzer harnesses of tests/fuzz (docs/fuzzing.md).
#
#   scripts/fuzz.sh check [NAME...]   replay each corpus, then FUZZ_RUNS new inputs
#                                     (fixed seed: the same runs every time)
#   scripts/fuzz.sh long [NAME...]    fuzz each harness FUZZ_TIME seconds
#
# NAME is a harness (fuzz_elf, ...); FUZZ_TARGETS="a b" does the same.
# Long runs keep what they learn in build/fuzz/corpus/NAME (seeded from
# tests/fuzz/corpus/NAME) and crashes in build/fuzz/artifacts/; each
# harness's CPU time is appended to build/fuzz/cpu-time.log.
# Env: MAKE, FUZZ_RUNS (check: 3000), FUZZ_TIME (long: 3600),
# FUZZ_NICE (long: 19), FUZZ_ARGS (more libFuzzer options), FUZZ_BUILD=0
# (run the harnesses already built), FUZZ_BIN (where they are: build/fuzz/harness).
set -u

mode=${1:-check}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
MAKE=${MAKE:-make}
FUZZ_RUNS=${FUZZ_RUNS:-3000}
FUZZ_TIME=${FUZZ_TIME:-3600}
FUZZ_NICE=${FUZZ_NICE:-19}
FUZZ_ARGS=${FUZZ_ARGS:-}
out=$root/build/fuzz # absolute: the syscall harness's guest changes the cwd
# A smaller quarantine than ASan's 256 MiB: the harnesses build and free a
# board per input, and recycling its memory saves page faults (use-after-
# free is still caught within the last 16 MiB freed).
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}

case $mode in
check | long) ;;
*)
	echo "usage: scripts/fuzz.sh check|long [NAME...]" >&2
	exit 2
	;;
esac

# Every harness, or the ones asked for.
names=("$@")
if [ ${#names[@]} -eq 0 ] && [ -n "${FUZZ_TARGETS:-}" ]; then
	read -r -a names <<<"$FUZZ_TARGETS"
fi
if [ ${#names[@]} -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		names+=("$(basename "$src" .c)")
	done
fi

# Without clang's fuzzer runtime nothing can be built: say so and count it.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
	>"$probe_dir/probe.c"
if ! command -v clang >/dev/null 2>&1; then
	why="clang is not installed"
elif ! clang -fsanitize=fuzzer,address,undefined -o "$probe_dir/probe" "$probe_dir/probe.c" \
	>"$probe_dir/log" 2>&1; then
	why="clang cannot link -fsanitize=fuzzer (libFuzzer runtime missing: Debian's libclang-rt-14-dev)"
else
	why=
fi
if [ -n "$why" ]; then
	echo "SKIP: fuzz: $why"
	echo "fuzz: 0 passed, 0 failed, ${#names[@]} skipped"
	exit 0
fi

if [ "${FUZZ_BUILD:-1}" = 1 ] && ! $MAKE --no-print-directory -s FUZZ=1 fuzz-bins; then
	echo "FAIL: fuzz: the harnesses do not build" >&2
	exit 1
fi
mkdir -p "$out/log" "$out/artifacts" "$out/corpus" "$out/work"

# Longest input the fuzzer makes for a harness.
max_len() {
	case $1 in
	fuzz_elf | fuzz_boot) echo 65536 ;;
	*) echo 4096 ;;
	esac
}

# CPU seconds (user + system) of this shell's finished children so far
# (`times` must run in this shell, not in a command substitution).
children_cpu() {
	times >"$probe_dir/times"
	awk 'NR == 2 {
		split($1, u, "m"); split($2, s, "m");
		sub("s", "", u[2]); sub("s", "", s[2]);
		printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$probe_dir/times"
}

passed=0
failed=0
skipped=0
for name in "${names[@]}"; do
	bin=${FUZZ_BIN:-$out/harness}/$name
	seeds=$root/tests/fuzz/corpus/$name
	log=$out/log/$name.log
	if [ ! -x "$bin" ]; then
		echo "FAIL $name (no such harness: $bin)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$seeds"
	common=(-max_len="$(max_len "$name")" -timeout=60 -rss_limit_mb=2048
		-artifact_prefix="$out/artifacts/$name-" -print_final_stats=1)
	children_cpu >"$probe_dir/before"
	start=$(date +%s)
	if [ "$mode" = check ]; then
		# a scratch corpus: what the new runs find is not kept
		work=$out/work/$name
		rm -rf "$work" && mkdir -p "$work"
		nseeds=$(find "$seeds" -type f | wc -l)
		# shellcheck disable=SC2086
		"$bin" "${common[@]}" -seed=1 -runs=$((nseeds + FUZZ_RUNS)) $FUZZ_ARGS \
			"$work" "$seeds" >"$log" 2>&1
		status=$?
		rm -rf "$work"
	else
		corpus=$out/corpus/$name
		mkdir -p "$corpus"
		# shellcheck disable=SC2086
		nice -n "$FUZZ_NICE" "$bin" "${common[@]}" -max_total_time="$FUZZ_TIME" \
			$FUZZ_ARGS "$corpus" "$seeds" >"$log" 2>&1
		status=$?
	fi
	children_cpu >"$probe_dir/after"
	cpu=$(awk 'NR == FNR { a = $1; next } { printf "%.1f", $1 - a }' "$probe_dir/before" \
		"$probe_dir/after")
	wall=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ "$mode" = long ]; then
		echo "$(date -u +%FT%TZ) $name cpu_s=$cpu wall_s=$wall execs=${execs:-?} cov=${cov:-?}" \
			"corpus=$(find "$out/corpus/$name" -type f | wc -l) status=$status" \
			>>"$out/cpu-time.log"
	fi
	if [ $status -eq 77 ]; then
		# the harness cannot run here (fuzz_syscall without namespaces)
		grep -a '^SKIP' "$log" | head -1
		skipped=$((skipped + 1))
	elif [ $status -eq 0 ]; then
		echo "ok $name (${execs:-?} runs, cov ${cov:-?}, ${cpu}s CPU, ${wall}s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name (status $status; log: $log)"
		grep -aE 'ERROR|SUMMARY|Test unit written|artifact' "$log" | head -8 >&2
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
