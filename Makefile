# xcbuf: `make run` builds everything and runs the pair in the bench; `make test` runs
# every test. Both start with `setup`, which installs the pinned toolchain and the apt
# packages when they are missing.

PROGRAM_ID   := 4200000000000c0b
SWITCH_TARGET := aarch64-nintendo-switch
SWITCH_FLAGS := -Zbuild-std=core,alloc,compiler_builtins \
                -Zbuild-std-features=compiler-builtins-mem \
                -Zjson-target-spec --target $(SWITCH_TARGET).json --profile switch
SWITCH_OUT   := target/$(SWITCH_TARGET)/switch
HOST_OUT     := target/release
DIST         := dist
SD           := $(DIST)/sd
NSP          := $(SD)/atmosphere/contents/$(PROGRAM_ID)/exefs.nsp
NRO          := $(SD)/switch/xcbuf/xcbuf.nro
CARGO        ?= cargo
EMU          := $(HOST_OUT)/xcbuf-emu
PACK         := $(HOST_OUT)/xcbuf-pack

.PHONY: all setup switch host dist run test bench perf-dist profile fuzz clean lint

all: dist

setup:
	@bash tools/setup.sh

# The Switch ELFs (rt, sysmodule, client-nro) for the project's own target spec.
switch: setup
	$(CARGO) build $(SWITCH_FLAGS) -p xcbuf-sysmodule -p xcbuf-client

# The host tools (packer, bench), in release: the bench needs the speed.
host: setup
	$(CARGO) build --release -p xcbuf-pack -p xcbuf-emu

dist: switch host
	$(PACK) sd --sysmodule-elf $(SWITCH_OUT)/xcbuf-sysmodule --npdm-json sysmodule/npdm.json \
	    --nro-elf $(SWITCH_OUT)/xcbuf-client --out $(SD)

run: dist
	$(EMU) run --sysmodule $(NSP) --nro $(NRO) --screenshot $(DIST)/screen.png

# Host unit tests, packer golden tests, tests on the built binaries, end-to-end in the bench.
# The tests that need the built binaries are #[ignore]d (a plain `cargo test` lists them as
# ignored); here they run, with the two directories named (tools/pack/src/built.rs).
test: dist lint
	XCBUF_DIST=$(CURDIR)/$(DIST) XCBUF_SWITCH_OUT=$(CURDIR)/$(SWITCH_OUT) \
	    $(CARGO) test --release -- --include-ignored
	$(CARGO) test --release -p xcbuf-rt
	$(CARGO) test --release -p xcbuf-client --lib

# The lint policy is the [workspace.lints] table of Cargo.toml: no unwrap, expect,
# out-of-bounds index or panic reachable from a message on the request path (all of
# xcbuf-common: codecs, server framework, serve loop, xcbuf service), tests excepted
# (clippy.toml). clippy runs with warnings as errors on the host and, for the sysmodule
# and rt, on the Switch target. The tree is formatted by `cargo fmt` (rustfmt.toml).
#
# Every citation of a project document in the code (`horizon-ipc.md §3.3`,
# `design.md "Server rules"`) must resolve to a section of docs/ (tools/doccheck).
lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) run --release -q -p xcbuf-doccheck -- $(CURDIR)
	$(CARGO) clippy --release -p xcbuf-common --lib -- -D warnings
	$(CARGO) clippy --release -p xcbuf-kmodel -p xcbuf-pack -p xcbuf-doccheck --all-targets -- -D warnings
	$(CARGO) clippy $(SWITCH_FLAGS) -p xcbuf-sysmodule -p xcbuf-rt -- -D warnings

# The performance figures (`xcbuf-emu perf`), printed and written to docs/BENCHMARKS.md.
# Besides dist it builds, in a target dir of its own (the shipped ELFs stay as they are),
# the sysmodule with `two-svc` (the two-call pattern, for comparison) and the client with
# `perf-loop` (the request loops between marker lines), packed as the SD tree $(PERF)/sd.
PERF         := $(DIST)/perf
PERF_TARGET  := target/perf
PERF_OUT     := $(PERF_TARGET)/$(SWITCH_TARGET)/switch

perf-dist: dist
	$(CARGO) build $(SWITCH_FLAGS) --target-dir $(PERF_TARGET) -p xcbuf-sysmodule -p xcbuf-client \
	    --features xcbuf-sysmodule/two-svc,xcbuf-client/perf-loop
	$(PACK) sd --sysmodule-elf $(PERF_OUT)/xcbuf-sysmodule --npdm-json sysmodule/npdm.json \
	    --nro-elf $(PERF_OUT)/xcbuf-client --out $(PERF)/sd

bench: perf-dist
	$(EMU) perf --sysmodule $(NSP) --sysmodule-elf $(SWITCH_OUT)/xcbuf-sysmodule --nro $(NRO) \
	    --perf-loop-nro $(PERF)/sd/switch/xcbuf/xcbuf.nro \
	    --two-svc-sysmodule $(PERF)/sd/atmosphere/contents/$(PROGRAM_ID)/exefs.nsp \
	    --markdown docs/BENCHMARKS.md

# Instructions per function for each phase of the same loop (`xcbuf-emu profile`): the
# shipped sysmodule with its ELF, the perf-loop client with its ELF. Printed, and put into
# the Profile section of docs/BENCHMARKS.md as the subsection PROFILE_TITLE (default: the
# commit); `make bench` keeps that section.
PROFILE_TITLE ?=

profile: perf-dist
	$(EMU) profile --sysmodule $(NSP) --sysmodule-elf $(SWITCH_OUT)/xcbuf-sysmodule \
	    --perf-loop-nro $(PERF)/sd/switch/xcbuf/xcbuf.nro --nro-elf $(PERF_OUT)/xcbuf-client \
	    --markdown docs/BENCHMARKS.md $(if $(PROFILE_TITLE),--title "$(PROFILE_TITLE)")

fuzz: dist
	$(EMU) fuzz --sysmodule $(NSP) --sysmodule-elf $(SWITCH_OUT)/xcbuf-sysmodule --iterations 1000000 --seed random

clean:
	$(CARGO) clean
	rm -rf $(DIST)
