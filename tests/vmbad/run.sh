#!/bin/sh
# tests/vmbad/run.sh - bad input and hostile guests for full-system VMs
# (`condo run`), see docs/testing-vmbad.md.
#
#   CONDO=build/condo BUILD=build tests/vmbad/run.sh [PATTERN]
#   VMBAD_ORACLE=qemu tests/vmbad/run.sh     # the guests under qemu-system-riscv64
#
# 1. bad command lines and input files: each must give a one-line error on
#    stderr naming the problem and an exit status from 1 to 127;
# 2. bare-metal guests (--bios none) that attack the devices: an MMIO
#    fuzzer, malformed virtqueues, a virtio-blk round trip checked on the
#    host, and guests that retire no instruction or reboot for ever.
#
# Prints `ok NAME` / `FAIL NAME (why)` per test (a guest's own `ok`/`FAIL`
# lines become tests named RUN/CASE) and `vmbad: N passed, N failed`; exits
# non-zero on any failure.  PATTERN (a shell glob on test names such as
# 'bad/*', 'virtio-bad-*', 'watchdog-*') limits the tests run; a guest run
# is selected by its own name and then reports all its cases.
# Guests are rebuilt into $BUILD/vmbad/ when a source or this script changes.
#
# Env: CONDO, BUILD, VMBAD_CC (cross compiler, riscv64-linux-gnu-gcc),
# HOST_CC (cc), VMBAD_TIMEOUT (seconds per guest run, a guard against hangs
# and not a time limit: 300), VMBAD_QUICK_TIMEOUT (for runs that should end
# at once: 30), VMBAD_ORACLE (condo or qemu), QEMU (qemu-system-riscv64),
# VMBAD_VERBOSE=1 (also show skipped guest cases and passing runs' output).
set -u

BUILD=${BUILD:-build}
CONDO=${CONDO:-$BUILD/condo}
VMBAD_CC=${VMBAD_CC:-riscv64-linux-gnu-gcc}
HOST_CC=${HOST_CC:-cc}
VMBAD_TIMEOUT=${VMBAD_TIMEOUT:-300}
VMBAD_QUICK_TIMEOUT=${VMBAD_QUICK_TIMEOUT:-30}
VMBAD_ORACLE=${VMBAD_ORACLE:-condo}
VMBAD_VERBOSE=${VMBAD_VERBOSE:-0}
QEMU=${QEMU:-qemu-system-riscv64}
PATTERN=${1:-*}
MAX_INSNS=20000000000 # watchdog for the guests that should finish

CFLAGS="-march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -g -ffreestanding -fno-builtin
	-fno-stack-protector -fno-pic -Wall -Wextra -Werror -nostdlib -nostartfiles -static
	-Wl,--build-id=none -Wl,--no-warn-rwx-segments"
RUNTIME="crt0.S rt.c"
COMMON_DEPS="crt0.S rt.c rt.h vio.c vio.h pattern.h link.ld run.sh"

src_dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$BUILD/vmbad/in" "$BUILD/vmbad/run" || exit 1
out=$(cd "$BUILD/vmbad" && pwd)
inp=$out/in
runs=$out/run

passed=0
failed=0
# a crash is a failed test, not a core file
# shellcheck disable=SC3045
ulimit -c 0 2>/dev/null

pass() {
	echo "ok $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $1${2:+ ($2)}"
	failed=$((failed + 1))
}

wanted() {
	# shellcheck disable=SC2254
	case $1 in $PATTERN) return 0 ;; esac
	return 1
}

# show FILE indented, at most 40 lines, non-printing bytes as '.'
show() {
	[ -s "$1" ] || return 0
	tr -c '\11\12\40-\176' '.' <"$1" | sed -n '1,40s/^/    /p'
}

# newer FILE THAN: FILE was modified after THAN
newer() {
	[ -n "$(find "$1" -newer "$2" 2>/dev/null)" ]
}

# ---- building ----

# build NAME SOURCES [EXTRA_CFLAGS]: $out/NAME.elf from $RUNTIME + SOURCES
build_guest() {
	name=$1 sources=$2 extra=${3:-}
	elf=$out/$name.elf
	if [ -f "$elf" ]; then
		stale=no
		for f in $sources $COMMON_DEPS; do
			newer "$src_dir/$f" "$elf" && stale=yes
		done
		[ $stale = no ] && return 0
	fi
	# shellcheck disable=SC2086
	if ! (cd "$src_dir" && $VMBAD_CC $CFLAGS $extra -I. -T link.ld -o "$elf.tmp" \
		$RUNTIME $sources -lgcc) >"$out/$name.build.log" 2>&1; then
		rm -f "$elf.tmp"
		fail "build/$name" "see below"
		show "$out/$name.build.log"
		return 1
	fi
	mv "$elf.tmp" "$elf"
}

build_all() {
	if ! command -v "$VMBAD_CC" >/dev/null 2>&1; then
		fail "build" "$VMBAD_CC not found (Debian package gcc-riscv64-linux-gnu)"
		return 1
	fi
	ok=0
	build_guest hello hello.c || ok=1
	build_guest spin spin.c || ok=1
	build_guest mmiofuzz "vio.c mmiofuzz.c" || ok=1
	build_guest virtio_bad "vio.c virtio_bad.c" || ok=1
	build_guest blkrt "vio.c blkrt.c" || ok=1
	build_guest dmacode "vio.c dmacode.c" || ok=1
	build_guest qemudrv "vio.c qemudrv.c" || ok=1
	build_guest trapstorm trapstorm.c || ok=1
	build_guest fetchstorm trapstorm.c -DFETCH || ok=1
	build_guest reboot reboot.c || ok=1
	gen=$out/vmbad-gen
	if [ ! -x "$gen" ] || newer "$src_dir/gen.c" "$gen" || newer "$src_dir/pattern.h" "$gen"; then
		if ! $HOST_CC -O2 -Wall -Wextra -Werror -o "$gen" "$src_dir/gen.c" \
			>"$out/gen.build.log" 2>&1; then
			fail "build/vmbad-gen" "see below"
			show "$out/gen.build.log"
			ok=1
		fi
	fi
	return $ok
}

# ---- inputs for the bad-input tests ----

make_inputs() {
	rm -rf "$inp" && mkdir -p "$inp/dir" || return 1
	: >"$inp/empty"
	for kind in truncate-header truncate-phdrs truncate-segment machine-x86-64 class32 \
		phoff-huge phnum-huge phentsize-32 seg-offset-huge seg-filesz-over-memsz \
		seg-addr-wraps seg-memsz-1T seg-memsz-32M seg-covers-ram no-load; do
		"$gen" elf "$kind" "$out/spin.elf" "$inp/$kind.elf" || return 1
	done
	"$gen" elf tables-misaligned "$out/hello.elf" "$inp/tables-misaligned.elf" || return 1
	for host in /bin/true /usr/bin/true "$gen"; do # any host (x86-64) ELF
		[ -f "$host" ] && break
	done
	cp "$host" "$inp/host-binary" || return 1
	"$gen" image "$inp/image-text-offset-huge" 0x10000000000 4096 || return 1
	"$gen" image "$inp/image-size-over-ram" 0 0x2000000 || return 1
	"$gen" image "$inp/image-size-wraps" 0 0xffffffffffffff00 || return 1
	# kernels that are neither a RISC-V Image nor an ELF: a text file, a
	# header cut short, an arm64 Image, a big-endian RISC-V Image
	printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' \
		>"$inp/text" || return 1
	head -c 40 "$inp/image-size-over-ram" >"$inp/image-truncated" || return 1
	{ head -c 56 /dev/zero && printf 'ARM\144' && head -c 8 /dev/zero; } >"$inp/arm64-image" || return 1
	"$gen" image "$inp/image-big-endian" 0x200000 4096 || return 1
	printf '\001' | dd of="$inp/image-big-endian" bs=1 seek=24 conv=notrunc status=none || return 1
	"$gen" fill "$inp/zeros-20M" 20971520 0 || return 1
	"$gen" fill "$inp/disk.img" 1048576 0 || return 1
	for i in 1 2 3 4 5 6 7 8 9; do
		"$gen" fill "$inp/d$i.img" 4096 0 || return 1
	done
}

# ---- bad input: one line on stderr, 1 <= status <= 127 ----

# bad NAME REGEX ARGS...: `condo run ARGS` must fail with one stderr line
# matching the extended regular expression REGEX (case-insensitive)
bad() {
	name=bad/$1 regex=$2
	shift 2
	wanted "$name" || return 0
	log=$runs/$(echo "$name" | tr '/ ' '__')
	timeout -k 5 "$VMBAD_QUICK_TIMEOUT" "$CONDO" run "$@" </dev/null >"$log.out" 2>"$log.err"
	rc=$?
	lines=$(wc -l <"$log.err")
	if [ $rc -eq 137 ] && grep -qi "instruction limit" "$log.err"; then
		fail "$name" "accepted the input and ran it to the instruction limit"
	elif [ $rc -eq 124 ]; then
		fail "$name" "accepted the input and hung: killed after ${VMBAD_QUICK_TIMEOUT}s"
	elif [ $rc -eq 0 ]; then
		fail "$name" "exit status 0"
	elif [ $rc -ge 128 ]; then
		fail "$name" "killed by signal $((rc - 128)) (exit $rc)"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr, expected one"
	elif ! grep -qiE -- "$regex" "$log.err"; then
		fail "$name" "message does not match /$regex/"
	else
		pass "$name"
		[ "$VMBAD_VERBOSE" = 1 ] && show "$log.err"
		return 0
	fi
	show "$log.err"
}

bad_inputs() {
	spin=$out/spin.elf
	k="--bios none --max-insns 100000000 --kernel"
	# shellcheck disable=SC2086
	{
	bad kernel-directory 'kernel .*dir.*not a regular file' $k "$inp/dir"
	bad kernel-missing 'kernel .*no-such-file.*no such file' $k "$inp/no-such-file"
	bad kernel-empty 'kernel .*empty' $k "$inp/empty"
	bad kernel-char-device 'kernel .*/dev/zero.*not a regular file' $k /dev/zero
	bad elf-truncated-header 'kernel .*(truncated|too short|corrupt|ELF)' $k "$inp/truncate-header.elf"
	bad elf-truncated-phdrs 'kernel .*program headers' $k "$inp/truncate-phdrs.elf"
	bad elf-truncated-segment 'kernel .*(segment|truncated)' $k "$inp/truncate-segment.elf"
	bad elf-machine-x86-64 'kernel .*RISC-V' $k "$inp/machine-x86-64.elf"
	bad elf-host-binary 'kernel .*RISC-V' $k "$inp/host-binary"
	bad elf-class32 'kernel .*(64-bit|RISC-V)' $k "$inp/class32.elf"
	bad elf-phoff-huge 'kernel .*program headers' $k "$inp/phoff-huge.elf"
	bad elf-phnum-huge 'kernel .*program headers' $k "$inp/phnum-huge.elf"
	bad elf-phentsize-32 'kernel .*program headers' $k "$inp/phentsize-32.elf"
	bad elf-seg-offset-huge 'kernel .*segment' $k "$inp/seg-offset-huge.elf"
	bad elf-seg-filesz-over-memsz 'kernel .*segment' $k "$inp/seg-filesz-over-memsz.elf"
	bad elf-seg-addr-wraps 'kernel .*segment' $k "$inp/seg-addr-wraps.elf"
	bad elf-seg-memsz-1T 'kernel .*(not fit|too small)' $k "$inp/seg-memsz-1T.elf"
	bad elf-seg-memsz-32M 'kernel .*(not fit|too small)' --mem 16M $k "$inp/seg-memsz-32M.elf"
	bad elf-seg-covers-ram 'kernel .*(not fit|too small)' --mem 16M $k "$inp/seg-covers-ram.elf"
	bad elf-no-load 'kernel .*nothing to load' $k "$inp/no-load.elf"
	bad raw-kernel-over-ram 'kernel .*(not fit|too small)' --mem 16M $k "$inp/zeros-20M"
	bad image-text-offset-huge 'kernel .*(Image|text_offset)' $k "$inp/image-text-offset-huge"
	bad image-size-over-ram 'kernel .*(not fit|too small)' --mem 16M $k "$inp/image-size-over-ram"
	bad image-size-wraps 'kernel .*(not fit|too small|image_size|Image)' $k "$inp/image-size-wraps"
	# without --bios none a kernel must be a RISC-V Image or an ELF (raw
	# code would run into the weeds silently), on both other boot paths
	p="--max-insns 100000000 --kernel"
	f="--bios $spin --max-insns 100000000 --kernel"
	bad kernel-text-paravirt 'kernel .*/text: neither a RISC-V Linux Image .*nor an ELF' $p "$inp/text"
	bad kernel-text-firmware 'kernel .*/text: neither a RISC-V Linux Image .*nor an ELF' $f "$inp/text"
	bad kernel-empty-paravirt 'kernel .*/empty: empty file' $p "$inp/empty"
	bad kernel-empty-firmware 'kernel .*/empty: empty file' $f "$inp/empty"
	bad kernel-image-truncated 'kernel .*image-truncated: 40 bytes, too short for a Linux Image' $p "$inp/image-truncated"
	bad kernel-elf-wrong-arch 'kernel .*machine-x86-64.elf: not a 64-bit RISC-V ELF' $p "$inp/machine-x86-64.elf"
	bad kernel-elf-class32 'kernel .*class32.elf: not a 64-bit RISC-V ELF' $f "$inp/class32.elf"
	bad kernel-arm64-image 'kernel .*arm64-image: an arm64 Linux Image, not RISC-V' $p "$inp/arm64-image"
	bad kernel-image-big-endian 'kernel .*image-big-endian: a big-endian Linux Image' $p "$inp/image-big-endian"
	bad kernel-format-unknown '--kernel-format elf: expected raw' --kernel-format elf $p "$spin"
	bad kernel-format-raw-without-kernel '--kernel-format raw needs --kernel' --kernel-format raw
	bad initrd-missing 'initrd .*no-such-file.*no such file' --initrd "$inp/no-such-file" $k "$spin"
	bad initrd-directory 'initrd .*not a regular file' --initrd "$inp/dir" $k "$spin"
	bad initrd-over-ram 'initrd .*too small' --mem 16M --initrd "$inp/zeros-20M" $k "$spin"
	bad bios-missing 'firmware .*no-such-file.*no such file' --bios "$inp/no-such-file" --kernel "$spin" --max-insns 100000000
	bad bios-directory 'firmware .*not a regular file' --bios "$inp/dir" --kernel "$spin" --max-insns 100000000
	bad bios-none-without-kernel 'bios none.*kernel' --bios none
	bad drive-missing 'disk image .*no-such-file.*no such file' --drive "file=$inp/no-such-file" $k "$spin"
	bad drive-directory 'disk image .*dir.*(directory|regular)' --drive "file=$inp/dir" $k "$spin"
	bad drive-char-device 'disk image .*/dev/null.*(regular|block)' --drive file=/dev/null $k "$spin"
	bad drive-unknown-part "drive .*'snapshot=on'" --drive "file=$inp/disk.img,snapshot=on" $k "$spin"
	bad drive-cache-bad "drive .*unknown cache 'directsync'" --drive "file=$inp/disk.img,cache=directsync" $k "$spin"
	bad drive-discard-bad "drive .*unknown discard 'trim'" --drive "file=$inp/disk.img,discard=trim" $k "$spin"
	bad drive-aio-bad "drive .*unknown aio 'native'" --drive "file=$inp/disk.img,aio=native" $k "$spin"
	bad drive-readonly-maybe "drive .*'readonly=maybe'" --drive "file=$inp/disk.img,readonly=maybe" $k "$spin"
	bad drive-without-file 'drive .*file=' --drive readonly=on $k "$spin"
	bad drive-empty-file 'drive .*file=' --drive file= $k "$spin"
	bad drive-empty 'drive .*file=' --drive '' $k "$spin"
	bad drive-same-image-twice 'disk image .*disk.img.*in use' --drive "file=$inp/disk.img" --drive "file=$inp/disk.img" $k "$spin"
	bad drives-9 'drive.*at most [0-9]+ drives' \
		--drive "file=$inp/d1.img" --drive "file=$inp/d2.img" --drive "file=$inp/d3.img" \
		--drive "file=$inp/d4.img" --drive "file=$inp/d5.img" --drive "file=$inp/d6.img" \
		--drive "file=$inp/d7.img" --drive "file=$inp/d8.img" --drive "file=$inp/d9.img" $k "$spin"
	bad drives-7-no-slot-left 'drive' \
		--drive "file=$inp/d1.img" --drive "file=$inp/d2.img" --drive "file=$inp/d3.img" \
		--drive "file=$inp/d4.img" --drive "file=$inp/d5.img" --drive "file=$inp/d6.img" \
		--drive "file=$inp/d7.img" $k "$spin"
	bad engine-bad '--engine warp: expected interp, jit or lockstep' --engine warp $k "$spin"
	bad jit-cache-tiny '--jit-cache 1K: expected a size from 256K to 1G' --jit-cache 1K $k "$spin"
	bad jit-cache-huge '--jit-cache 3G: expected a size' --jit-cache 3G $k "$spin"
	bad jit-cache-word '--jit-cache big: expected a size' --jit-cache big $k "$spin"
	bad jit-threshold-zero '--jit-threshold 0: expected 1 to 1000000' --jit-threshold 0 $k "$spin"
	bad jit-threshold-word '--jit-threshold often: expected 1 to' --jit-threshold often $k "$spin"
	bad cpus-0 '--cpus 0' --cpus 0 $k "$spin"
	bad cpus-9 '--cpus 9' --cpus 9 $k "$spin"
	bad cpus-abc '--cpus abc' --cpus abc $k "$spin"
	bad cpus-negative '--cpus -1' --cpus -1 $k "$spin"
	bad cpus-huge '--cpus' --cpus 4294967297 $k "$spin"
	bad mem-1K '--mem 1K' --mem 1K $k "$spin"
	bad mem-1T '--mem 1T' --mem 1T $k "$spin"
	bad mem-xyz '--mem xyz' --mem xyz $k "$spin"
	bad mem-0 '--mem 0' --mem 0 $k "$spin"
	bad mem-overflow '--mem' --mem 99999999999999999999G $k "$spin"
	bad mem-suffix-junk '--mem 64Mx' --mem 64Mx $k "$spin"
	bad max-insns-0 '--max-insns 0' --bios none --kernel "$spin" --max-insns 0
	bad max-insns-abc '--max-insns abc' --bios none --kernel "$spin" --max-insns abc
	bad unknown-option "--frobnicate" --frobnicate $k "$spin"
	bad option-without-value '--kernel' --bios none --kernel
	bad stray-argument "unexpected argument 'stray'" $k "$spin" stray
	CONDO_GUEST_DIR=$inp/no-guest-here bad no-kernel-no-default-guest 'no --kernel.*no-guest-here'
	CONDO_GUEST_DIR=$inp/no-guest-here bad bios-no-kernel-no-default-guest \
		'no --kernel.*no-guest-here' --bios "$spin" --max-insns 100000000
	}
}

# limit NAME ARGS...: `condo run ARGS` must run the guest until the
# instruction limit (status 137 and the message): accepted, not refused
limit() {
	name=$1
	shift
	wanted "$name" || return 0
	log=$runs/$(echo "$name" | tr '/ ' '__')
	timeout -k 5 "$VMBAD_QUICK_TIMEOUT" "$CONDO" run --max-insns 1000000 "$@" \
		</dev/null >"$log.out" 2>"$log.err"
	rc=$?
	if [ $rc -eq 137 ] && grep -qi 'instruction limit' "$log.err"; then
		pass "$name"
	else
		fail "$name" "$(why_exit $rc 137)"
		show "$log.err"
	fi
}

# A raw kernel is what --bios none and --kernel-format raw ask for: the
# text file runs (as garbage code) until the limit; a raw copy of hello
# runs from RAM base and powers off.
raw_kernels() {
	limit raw/text-bios-none --bios none --kernel "$inp/text"
	limit raw/text-kernel-format-raw --kernel-format raw --kernel "$inp/text"
	limit raw/text-kernel-format-raw-firmware --bios "$out/spin.elf" --kernel-format raw \
		--kernel "$inp/text"
	name=raw/hello-bin
	if wanted "$name"; then
		log=$runs/raw_hello-bin
		if ! ${VMBAD_CC%gcc}objcopy -O binary "$out/hello.elf" "$inp/hello.bin"; then
			fail "$name" "objcopy failed"
			return
		fi
		timeout -k 5 "$VMBAD_QUICK_TIMEOUT" "$CONDO" run --bios none --kernel-format raw \
			--kernel "$inp/hello.bin" --max-insns "$MAX_INSNS" </dev/null >"$log.out" 2>"$log.err"
		rc=$?
		if [ $rc -eq 0 ] && grep -q '^vmbad hello$' "$log.out"; then
			pass "$name"
		else
			fail "$name" "$(why_exit $rc 0), or no 'vmbad hello' line"
			show "$log.err"
		fi
	fi
}

# ---- guest runs ----

# vm ARGS...: run a bare-metal guest under condo or QEMU with
# [--drive SPEC]... [--cpus N] [--mem SIZE] [--max-insns N] --kernel FILE,
# stdout/stderr to $log.out/$log.err; sets rc.
vm() {
	tmo=$1
	shift
	if [ "$VMBAD_ORACLE" = qemu ]; then
		# shellcheck disable=SC2046 # words by design (no spaces in paths)
		set -- $(qemu_args "$@")
		timeout -k 5 "$tmo" "$QEMU" "$@" </dev/null >"$log.out" 2>"$log.err"
	else
		timeout -k 5 "$tmo" "$CONDO" run --bios none "$@" </dev/null >"$log.out" 2>"$log.err"
	fi
	rc=$?
}

# condo's options as QEMU's (virtio-mmio v2; devices found by ID, so
# QEMU's top-down slot order does not matter)
qemu_args() {
	mem=256M cpus=1 n=0 kernel='' drives=
	while [ $# -gt 0 ]; do
		case $1 in
		--drive) n=$((n + 1))
			case $2 in *readonly=on*) ro=,readonly=on ;; *) ro= ;; esac
			f=${2#file=}
			f=${f%%,*}
			drives="$drives -drive file=$f,format=raw,if=none,id=d$n$ro -device virtio-blk-device,drive=d$n"
			shift ;;
		--cpus) cpus=$2; shift ;;
		--mem) mem=$2; shift ;;
		--kernel) kernel=$2; shift ;;
		--max-insns) shift ;;
		esac
		shift
	done
	echo "-M virt -bios none -display none -serial stdio -monitor none -m $mem -smp $cpus" \
	     "-global virtio-mmio.force-legacy=false -kernel $kernel $drives" \
	     "-device virtio-rng-device -device virtio-serial-device"
}

# why_exit RC EXPECTED: words for an unexpected exit status
why_exit() {
	case $1 in
	124) echo "hang: killed after the ${tmo:-$VMBAD_QUICK_TIMEOUT}s guard" ;;
	137) echo "exit 137: the instruction limit, or killed" ;;
	*) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"
	   else echo "exit $1, expected $2"; fi ;;
	esac
}

# Sanitizer reports end a run with a non-zero status, but say so plainly.
sanitizer_report() {
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$log.err"
}

# guest NAME EXPECTED_RC TIMEOUT ARGS...: run, then fold the guest's own
# ok/FAIL lines into the results as NAME/CASE
guest() {
	name=$1 expect=$2 tmo=$3
	shift 3
	wanted "$name" || return 1
	log=$runs/$(echo "$name" | tr '/ ' '__')
	vm "$tmo" "$@"
	tr -c '\11\12\40-\176' '.' <"$log.out" >"$log.txt"
	# a guest's result lines start a line, possibly after UART garbage from the fuzzer
	sed -n 's/.*\(ok [a-z0-9_-]*\/[^ ]*\)$/\1/p; s/.*\(FAIL [a-z0-9_-]*\/.*\)$/\1/p' \
		"$log.txt" >"$log.cases"
	while read -r word rest; do
		case $word in
		ok) pass "$name/$rest" ;;
		FAIL) fail "$name/$rest" ;;
		esac
	done <"$log.cases"
	if [ "$VMBAD_VERBOSE" = 1 ]; then
		grep -a '^skip ' "$log.txt" | sed "s|^skip |skip $name/|"
	fi
	if sanitizer_report; then
		fail "$name" "sanitizer report"
		show "$log.err"
		return 1
	fi
	if [ "$rc" -ne "$expect" ]; then
		fail "$name" "$(why_exit "$rc" "$expect")"
		show "$log.txt"
		show "$log.err"
		return 1
	fi
	if grep -q '^FAIL' "$log.txt"; then
		fail "$name" "FAIL lines from the guest"
		show "$log.txt"
		return 1
	fi
	pass "$name"
	return 0
}

# watchdog NAME KERNEL: the guest must end at --max-insns: status 137
# and the instruction-limit message (condo only: QEMU has no such limit)
watchdog() {
	name=$1
	shift
	wanted "$name" || return 0
	[ "$VMBAD_ORACLE" = qemu ] && return 0
	log=$runs/$name
	tmo=$VMBAD_QUICK_TIMEOUT
	vm "$tmo" --max-insns "${WATCHDOG_INSNS:-1000000}" "$@"
	if sanitizer_report; then
		fail "$name" "sanitizer report"
	elif [ $rc -ne 137 ]; then
		fail "$name" "$(why_exit $rc 137)"
	elif ! grep -qi 'instruction limit' "$log.err"; then
		fail "$name" "exit 137 without the instruction-limit message"
	else
		pass "$name"
		return 0
	fi
	show "$log.err"
}

guests() {
	q=$VMBAD_QUICK_TIMEOUT t=$VMBAD_TIMEOUT
	if guest hello 0 "$q" --max-insns "$MAX_INSNS" --kernel "$out/hello.elf"; then
		grep -q '^vmbad hello$' "$log.out" || fail hello/output "no 'vmbad hello' line"
	fi
	if [ "$VMBAD_ORACLE" != qemu ]; then
		guest elf-tables-misaligned 0 "$q" --max-insns "$MAX_INSNS" --kernel "$inp/tables-misaligned.elf"
		guest drives-6 0 "$q" --drive "file=$inp/d1.img" --drive "file=$inp/d2.img" \
			--drive "file=$inp/d3.img" --drive "file=$inp/d4.img" \
			--drive "file=$inp/d5.img" --drive "file=$inp/d6.img" \
			--max-insns "$MAX_INSNS" --kernel "$out/hello.elf"
	fi

	# the MMIO fuzzer: without a disk, with one, on 4 harts at once
	guest mmiofuzz 0 "$t" --max-insns "$MAX_INSNS" --kernel "$out/mmiofuzz.elf"
	if wanted mmiofuzz-host-log-bounded && [ "$VMBAD_ORACLE" != qemu ]; then
		# docs/virtio.md: a guest cannot flood the host's log
		n=$(wc -l <"$runs/mmiofuzz.err")
		if [ "$n" -le 40 ]; then
			pass mmiofuzz-host-log-bounded
		else
			fail mmiofuzz-host-log-bounded "$n lines on stderr; most common:"
			sed 's/0x[0-9a-f]*/N/g' "$runs/mmiofuzz.err" | sort | uniq -c | sort -rn |
				sed -n '1,3s/^/    /p'
		fi
	fi
	"$gen" fill "$out/fuzz.img" 1048576 0xe5
	guest mmiofuzz-drive 0 "$t" --drive "file=$out/fuzz.img" --max-insns "$MAX_INSNS" \
		--kernel "$out/mmiofuzz.elf"
	"$gen" fill "$out/fuzz.img" 1048576 0xe5
	guest mmiofuzz-smp 0 "$t" --cpus 4 --drive "file=$out/fuzz.img" --max-insns "$MAX_INSNS" \
		--kernel "$out/mmiofuzz.elf"

	# malformed virtqueues; a pristine image must stay pristine
	for mode in rw ro none; do
		name=virtio-bad-$mode
		wanted "$name" || continue
		"$gen" fill "$out/bad.img" 1048576 0xe5
		cp "$out/bad.img" "$out/bad.orig"
		case $mode in
		rw) drive="--drive file=$out/bad.img" ;;
		ro) drive="--drive file=$out/bad.img,readonly=on" ;;
		none) drive= ;;
		esac
		# shellcheck disable=SC2086
		guest "$name" 0 "$t" $drive --max-insns "$MAX_INSNS" --kernel "$out/virtio_bad.elf"
		if [ -n "$drive" ]; then
			if cmp -s "$out/bad.img" "$out/bad.orig"; then
				pass "$name/image-unchanged"
			else
				fail "$name/image-unchanged" "$(cmp "$out/bad.img" "$out/bad.orig" 2>&1 | head -1)"
			fi
		fi
	done

	# the round trip, then the image checked byte for byte on the host
	if wanted blkrt; then
		"$gen" fill "$out/rt.img" 1048576 0xe5
		if guest blkrt 0 "$t" --drive "file=$out/rt.img" --max-insns "$MAX_INSNS" \
			--kernel "$out/blkrt.elf"; then
			if "$gen" check-image "$out/rt.img" 2>"$runs/blkrt.check"; then
				pass blkrt/host-image-check
			else
				fail blkrt/host-image-check "$(cat "$runs/blkrt.check")"
			fi
		fi
	fi

	# DMA over code: a device writing a page the hart runs code from must
	# make the next call run the new code, under both engines
	"$gen" fill "$out/dma.img" 1048576 0
	guest dmacode 0 "$q" --drive "file=$out/dma.img" --max-insns "$MAX_INSNS" \
		--kernel "$out/dmacode.elf"
	if [ "$VMBAD_ORACLE" != qemu ]; then
		"$gen" fill "$out/dma.img" 1048576 0
		guest dmacode-interp 0 "$q" --engine interp --drive "file=$out/dma.img" \
			--max-insns "$MAX_INSNS" --kernel "$out/dmacode.elf"
	fi

	# a driver as small kernels for QEMU's virt board write it: VendorID
	# "QEMU", FEATURES_OK without VERSION_1 (0x3c is QEMUDRV_FILL)
	"$gen" fill "$out/qemudrv.img" 1048576 0x3c
	guest qemudrv 0 "$q" --drive "file=$out/qemudrv.img" --max-insns "$MAX_INSNS" \
		--kernel "$out/qemudrv.elf"

	# guests that make no progress, or reboot for ever: --max-insns must end
	# them, and a guest's own power-off must end condo
	watchdog watchdog-spin --kernel "$out/spin.elf"
	watchdog watchdog-trap-storm --kernel "$out/trapstorm.elf"
	watchdog watchdog-fetch-fault-storm --kernel "$out/fetchstorm.elf"
	# A reboot costs a new hart and I/O thread and their seccomp filters
	# (about 5 ms here): 100k instructions are some 300 reboots.
	WATCHDOG_INSNS=100000 watchdog watchdog-reboot-loop --kernel "$out/reboot.elf"
	guest trap-storm-smp-poweroff 0 "$q" --cpus 2 --max-insns "$MAX_INSNS" --kernel "$out/trapstorm.elf"
	guest fetch-fault-storm-smp-poweroff 0 "$q" --cpus 2 --max-insns "$MAX_INSNS" \
		--kernel "$out/fetchstorm.elf"
}

# ---- main ----

if [ "$VMBAD_ORACLE" = qemu ]; then
	command -v "$QEMU" >/dev/null 2>&1 || {
		echo "vmbad: $QEMU not found (Debian package qemu-system-misc)" >&2
		echo "vmbad: 0 passed, 1 failed"
		exit 1
	}
elif [ ! -x "$CONDO" ]; then
	echo "vmbad: $CONDO not found or not executable" >&2
	echo "vmbad: 0 passed, 1 failed"
	exit 1
fi

if build_all && make_inputs; then
	[ "$VMBAD_ORACLE" = qemu ] || { bad_inputs; raw_kernels; }
	guests
else
	fail "setup" "could not build the guests or the inputs"
fi

echo "vmbad: $passed passed, $failed failed"
[ $failed -eq 0 ]
