# condo — top-level build.  `make` builds build/condo; `make check` runs every
# test suite; `make run` shows app mode on a real busybox.
#
#   make CC=clang          build with clang (gcc is the default)
#   make DEBUG=1           -O0 -g3, for gdb
#   make SANITIZE=1        ASan + UBSan (separate build dir)
#   make FUZZ=1 fuzz-bins  the libFuzzer harnesses of tests/fuzz (clang; build/fuzz);
#                          `make check-fuzz` and `make fuzz` build and run them
#   make V=1               show full command lines

CC       ?= gcc
DEBUG    ?= 0
SANITIZE ?= 0
FUZZ     ?= 0

ifeq ($(FUZZ),1)
  override BUILD := build/fuzz
  override CC := clang
else ifeq ($(SANITIZE),1)
  BUILD ?= build/san
else ifeq ($(DEBUG),1)
  BUILD ?= build/debug
else
  BUILD ?= build
endif

OPT := -O2 -g
ifeq ($(DEBUG),1)
  OPT := -O0 -g3
endif
SANFLAGS :=
ifeq ($(SANITIZE),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  OPT := -O1 -g
endif
# The fuzz build: everything instrumented for libFuzzer's coverage and
# sanitized; the harnesses link libFuzzer's main (tests/fuzz, docs/fuzzing.md).
ifeq ($(FUZZ),1)
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
  OPT := -O1 -g
endif

CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter $(OPT) $(SANFLAGS) \
            -Iinclude -Isrc -MMD -MP -pthread $(shell pkg-config --cflags libseccomp 2>/dev/null) \
            $(EXTRA_CFLAGS)
LDFLAGS  := $(SANFLAGS) -pthread $(EXTRA_LDFLAGS)
# zlib and zstd: compressed qcow2 clusters; liburing: block I/O off the
# vCPU threads (src/block).  libnbd (NBD disks) is loaded at run time by
# the first NBD disk (dlopen, src/block/nbd.c): only its header is needed.
PKGS     := zlib libzstd liburing jansson
CFLAGS   += $(shell pkg-config --cflags $(PKGS) libnbd 2>/dev/null)
# Linked from their static archives (Debian ships them in the -dev packages
# above): each shared library costs every condo process a mapping, symbol
# lookups and relocations at start, 0.2 ms apiece on a VM host
# (bench/restore-latency.py).  glibc stays shared (NSS, dlopen).
LDLIBS   := -lm -Wl,-Bstatic -lfdt $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp) \
            $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lz -lzstd -luring -ljansson) \
            -Wl,-Bdynamic
# libslirp (--net user) is loaded by the first NAT NIC (dlopen,
# src/net/slirp.c): only its header is needed, from libslirp-dev.
# condod (src/ctl): HTTP, JSON, SQLite, libsodium; condo ctl: libcurl and JSON.
CTL_PKGS := libmicrohttpd jansson sqlite3 libsodium
CFLAGS   += $(shell pkg-config --cflags $(CTL_PKGS) libcurl 2>/dev/null)
CTL_LIBS := $(shell pkg-config --libs $(CTL_PKGS) 2>/dev/null || echo -lmicrohttpd -ljansson -lsqlite3 -lsodium)
# libcurl is loaded by condo ctl at run time (dlopen, src/cli/ctl_client.c),
# so VMM processes do not carry it: only its headers are needed here.
# jansson (in PKGS): the control socket, snapshots' manifests, condo ctl.

ifeq ($(V),1)
  Q :=
else
  Q := @
endif

LIB_SRCS  := $(sort $(wildcard src/*/*.c))
LIB_SRCS  := $(filter-out src/cli/% src/ctl/%,$(LIB_SRCS))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
CTL_SRCS  := $(sort $(wildcard src/ctl/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_HELPER_SRCS := $(filter-out $(FUZZ_SRCS),$(sort $(wildcard tests/fuzz/*.c)))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# The seccomp programs of src/jail, generated from its allow-lists by
# libseccomp at build time (src/jail/gen): condo installs them as they are.
GEN_FILTERS := $(BUILD)/gen/jail_filters.c
GEN_FILTERS_TOOL := $(BUILD)/gen/gen-filters
LIB_OBJS  += $(GEN_FILTERS:%.c=%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
CTL_OBJS  := $(CTL_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/harness/%)
FUZZ_HELPER_OBJS := $(FUZZ_HELPER_SRCS:%.c=$(BUILD)/%.o)
.SECONDARY: $(FUZZ_HELPER_OBJS)
LIB       := $(BUILD)/libcondo.a
CONDO     := $(BUILD)/condo
CONDOD    := $(BUILD)/condod

.PHONY: all deps check check-layers check-block check-ctl check-unit check-app check-isa check-diff check-programs check-bad check-priv \
        check-vmbad check-jail check-guest check-engines check-fuzz check-net check-snapshot guest run run-app fuzz fuzz-bins fuzz-isa fuzz-jit bench-cpu bench-src bench-app bench-boot bench-guest bench-disk bench-density bench-api bench-idle bench-net bench-snapshot bench clean format

all: $(CONDO) $(CONDOD)

# Missing packages are installed (as root) or named (otherwise) before building.
deps:
	@scripts/deps.sh

$(BUILD)/.deps-ok: scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/%.o: %.c $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(GEN_FILTERS_TOOL): src/jail/gen/gen_filters.c $(BUILD)/src/jail/rules.o $(BUILD)/src/jail/allow.o
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(GEN_FILTERS): $(GEN_FILTERS_TOOL)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(GEN_FILTERS_TOOL) >$@.tmp && mv $@.tmp $@

$(GEN_FILTERS:%.c=%.o): $(GEN_FILTERS)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(CONDO): $(CLI_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(CONDOD): $(CTL_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CTL_OBJS) $(LIB) $(LDLIBS) $(CTL_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka

# The writer tests/block/crash.sh kills.
$(BUILD)/tests/block/%: tests/block/%.c $(LIB) $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/harness/%: tests/fuzz/%.c $(FUZZ_HELPER_OBJS) $(LIB) $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_HELPER_OBJS) $(LIB) $(LDFLAGS) \
		-fsanitize=fuzzer $(LDLIBS)

check: check-layers check-block check-ctl check-unit check-bad check-app check-isa check-diff check-programs check-priv check-vmbad check-jail check-guest check-net check-snapshot check-engines check-fuzz
	@echo "make check: all suites passed ($(BUILD))"

# condod and condo ctl end to end, with real guests.
check-ctl: $(CONDO) $(CONDOD) guest
	@CONDO=$(CONDO) CONDOD=$(CONDOD) tests/ctl/all.sh

# No include cycles between src/ directories; src/cpu knows no translator.
check-layers:
	@tests/layers.sh

check-unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

# qcow2: qemu-img interop both ways, hostile images, SIGKILL crash safety
# and a guest writing to an overlay; composite disks; NBD client and server
# against qemu-nbd, nbd-server, qemu-img and libnbd's tools; block I/O off
# the vCPU threads and --drive cache=/discard=/aio= (tests/block,
# docs/img.md, docs/virtio.md).
check-block: $(CONDO) $(BUILD)/tests/block/crash_writer guest
	@CONDO=$(CONDO) tests/block/cli.sh
	@CONDO=$(CONDO) tests/block/interop.sh
	@CONDO=$(CONDO) tests/block/edit.sh
	@CONDO=$(CONDO) tests/block/hostile.sh
	@CONDO=$(CONDO) CRASH_WRITER=$(BUILD)/tests/block/crash_writer tests/block/crash.sh
	@CONDO=$(CONDO) tests/block/guest.sh
	@CONDO=$(CONDO) tests/block/composite.sh
	@CONDO=$(CONDO) tests/block/nbd.sh
	@CONDO=$(CONDO) tests/block/aio.sh

check-bad: $(CONDO)
	@CONDO=$(CONDO) tests/bad/run.sh

check-app: $(CONDO)
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/app/run.sh

check-isa: $(CONDO)
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/isa/run.sh

check-diff: $(CONDO)
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/diff/run.sh

check-programs: $(CONDO)
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/programs/run.sh

check-priv: $(CONDO)
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/priv/run.sh

check-vmbad: $(CONDO)
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/vmbad/run.sh

check-jail: $(CONDO)
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/jail/run.sh

check-guest: $(CONDO) guest
	@CONDO=$(CONDO) BUILD=$(BUILD) tests/guest/run.sh

# Guest networking with real guests: VMs on a virtual switch, isolation
# between networks, user-mode NAT (DHCP, outbound TCP/UDP, hostfwd) in a
# jail, rate limits, malformed frames, tap; bad --net values (tests/net,
# docs/net.md).  Traffic stays on this machine.
check-net: $(CONDO) guest
	@CONDO=$(CONDO) tests/net/run.sh

# Snapshots, restore, fork and live migration with real guests: a checksum
# workload snapshotted mid-run and restored (1 hart; 4 harts writing a
# disk; compressed), migrated between two processes (Unix socket, TCP),
# forked into 8 clones; bad snapshots, streams and control requests
# (tests/snapshot, docs/snapshot.md, docs/migration.md).
check-snapshot: $(CONDO) guest
	@CONDO=$(CONDO) tests/snapshot/run.sh

# The suites above run the default engine (jit), where only blocks run 256
# times are compiled.  Here: the interpreter (the reference), the
# translator compiling every block at its first run, and lockstep (spans
# run translated and interpreted, compared), also from the first run, on
# the ISA programs, the privileged programs and a Linux boot; the app-mode
# programs interpreted and in lockstep (a longer guard against hangs: 3000
# threads in lockstep under ASan take over a minute); and differential
# cases against QEMU interpreted and all compiled.
check-engines: $(CONDO) guest
	@for run in interp jit lockstep; do \
	  case $$run in interp) args= ;; *) args="--jit-threshold 1" ;; esac; \
	  for suite in isa priv; do \
	    ENGINE=$$run ENGINE_ARGS="$$args" CONDO_BIN=$(CONDO) CONDO=tests/engine.sh \
	      BUILD=$(BUILD)/$$run tests/$$suite/run.sh || exit 1; \
	  done; \
	  ENGINE=$$run ENGINE_ARGS="$$args" CONDO_BIN=$(CONDO) CONDO=tests/engine.sh \
	    BUILD=$(BUILD)/$$run tests/guest/run.sh boot-paravirt-2cpu || exit 1; \
	done
	@for run in interp jit lockstep; do \
	  case $$run in interp) args= ;; *) args="--jit-threshold 1" ;; esac; \
	  ENGINE=$$run ENGINE_ARGS="$$args" CONDO_BIN=$(abspath $(CONDO)) CONDO=tests/engine.sh \
	    APP_TIMEOUT=240 BUILD=$(BUILD)/$$run tests/app/run.sh || exit 1; \
	done
	@for run in interp jit; do \
	  case $$run in interp) args= ;; *) args="--jit-threshold 1" ;; esac; \
	  ENGINE=$$run ENGINE_ARGS="$$args" CONDO_BIN=$(CONDO) CONDO=tests/engine.sh \
	    BUILD=$(BUILD)/$$run DIFF_CASES=20000 tests/diff/run.sh || exit 1; \
	done

# libFuzzer harnesses (tests/fuzz, docs/fuzzing.md), built with clang into
# build/fuzz by scripts/fuzz.sh, which prints SKIP when clang's fuzzer
# runtime is missing.  check-fuzz replays each corpus plus FUZZ_RUNS new
# inputs; fuzz runs each harness FUZZ_TIME seconds (FUZZ_TARGETS: a few).
fuzz-bins:
ifeq ($(FUZZ),1)
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
else
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
endif

check-fuzz:
	@MAKE="$(MAKE)" scripts/fuzz.sh check

fuzz:
	@MAKE="$(MAKE)" scripts/fuzz.sh long

# The default guest: Linux 6.1 and a busybox initramfs, cached outside the tree.
guest: $(BUILD)/.deps-ok
	@scripts/build-guest.sh >/dev/null

# The translator against the interpreter on random blocks and random
# multi-block programs (traces); check runs 20000 and 400 cases.
fuzz-jit: $(BUILD)/tests/test_jit_fuzz $(BUILD)/tests/test_jit_trace_fuzz
	@JIT_FUZZ_CASES=$${JIT_FUZZ_CASES:-2000000} $(BUILD)/tests/test_jit_fuzz
	@TRACE_FUZZ_CASES=$${TRACE_FUZZ_CASES:-100000} $(BUILD)/tests/test_jit_trace_fuzz

fuzz-isa: $(CONDO)
	@FUZZ=1 CONDO=$(CONDO) BUILD=$(BUILD) DIFF_CASES=$${DIFF_CASES:-1000000} tests/diff/run.sh

# Boot the default guest (Linux and busybox) to a shell on this terminal.
run: $(CONDO) guest
	@$(CONDO) run

# App mode on a real program: busybox (riscv64, built from Debian's source) runs a pipeline.
run-app: $(CONDO)
	@root=$$(scripts/build-busybox.sh riscv64 --root) && \
	 $(CONDO) app --root $$root $$root/bin/busybox sh -c 'echo "hello from condo app mode on $$(uname -m)"; seq 1 10 | awk "{s+=\$$1} END {print \"sum 1..10 =\", s}"'

bench-app: $(CONDO)
	@CONDO=$(CONDO) bench/bench-app.sh

bench-cpu: $(CONDO)
	@CONDO=$(CONDO) bench/bench-cpu.sh

# lua and sqlite from Debian's source packages (bench/build-src.sh)
bench-src: $(CONDO)
	@CONDO=$(CONDO) bench/bench-src.sh

bench-boot: $(CONDO) guest
	@CONDO=$(CONDO) bench/bench-boot.sh

bench-api: $(CONDO) $(CONDOD)
	@CONDO=$(CONDO) CONDOD=$(CONDOD) bench/bench-api.sh

bench-density: $(CONDO) $(CONDOD) guest
	@CONDO=$(CONDO) CONDOD=$(CONDOD) bench/bench-density.sh

bench-disk: $(CONDO) guest
	@CONDO=$(CONDO) bench/bench-disk.sh

# Network throughput and latency, VM to VM and host to VM, condo next to
# qemu-system-riscv64 (bench/bench-net.sh).
bench-net: $(CONDO) guest
	@CONDO=$(CONDO) bench/bench-net.sh

# Snapshot, restore (to the first instruction, to the console's answer),
# fork density and live migration, against qemu-system-riscv64.
bench-snapshot: $(CONDO) guest
	@CONDO=$(CONDO) bench/restore-latency.py
	@CONDO=$(CONDO) bench/snapshot.py

bench-idle: $(CONDO) guest
	@CONDO=$(CONDO) bench/idle.sh

bench-guest: $(CONDO) guest
	@CONDO=$(CONDO) bench/bench-guest.sh

bench: bench-cpu bench-src bench-app bench-boot bench-guest bench-disk bench-idle bench-net bench-snapshot

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
