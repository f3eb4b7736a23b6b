# fusevm — plain GNU make.
#
#   make              library (static + shared) and the fusevm command
#   make test         every test suite
#   make ops-doc      check that docs/OPS.md documents every op as the op tables define it
#   make examples     build examples/*.c, run every example, compare with its .expected
#   make asan         the test suites under AddressSanitizer + UBSan
#   make test-switch  the test suites with switch dispatch instead of computed goto
#   make fuzz         the libFuzzer targets for a short fixed budget
#   make bench        the benchmark suite (bench/README.md)
#   make bench-quick  the benchmark suite at small sizes, one run each (CI)
#   make test-nojit   the test suites of a library without a code generator (JIT=0)
#   make check-long   the differential tests and fuzzers at long budgets (not in CI)
#   make install PREFIX=/usr/local DESTDIR=   (BINDIR, LIBDIR, INCLUDEDIR, MANDIR too)
#   make uninstall                            the same variables: removes what install put
#
# BUILD names the output directory, so variants never mix objects. JIT=0
# builds the library without a code generator, in build/nojit unless BUILD
# says otherwise.


CC       ?= cc
PREFIX   ?= /usr/local
# `fusevm run` keeps compiled code in the JIT disk cache; the suites run
# with it off unless they test it (their cache directories are their own),
# so a test run neither reads nor fills the user's cache.
export FUSEVM_JIT_CACHE_DIR ?= off
DESTDIR  ?=
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
OPT      ?= -O2
WARN     := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wundef -Wno-unused-parameter
# The JIT's code generator (backend) for the architecture the compiler
# builds for: the files src/jit/$(BACKEND)_*.c, and its header
# src/jit/$(BACKEND)_backend.h, which defines the names the target-neutral
# headers jit/target.h and jit/backend.h promise; those include it through
# FVM_JIT_BACKEND_HEADER. BACKENDS lists every backend's file prefix, so
# that only the chosen one is compiled.
#
# JIT=0 builds the library without a code generator: of src/jit/ it keeps
# the context, the JIT op table, region analysis, code memory, the process
# id and the disk cache with its helper table, and src/jit/none/ stands in
# for the tier table (no tier) and the backend (no registers, no code). The
# API is the same: every tier reports itself unavailable and every run
# declines. An architecture without a backend builds that way by default.
BACKENDS         := x64
BACKEND_x86_64   := x64
HOST_ARCH        := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
BACKEND          := $(BACKEND_$(HOST_ARCH))
JIT              ?= $(if $(BACKEND),1,0)
BUILD            ?= $(if $(filter 0,$(JIT)),build/nojit,build)
BACKEND_HEADER   := $(if $(filter 0,$(JIT)),jit/none/backend.h,jit/$(BACKEND)_backend.h)
BACKEND_CFLAGS   := -DFVM_JIT_BACKEND_HEADER='"$(BACKEND_HEADER)"'

CFLAGS   ?=
CPPFLAGS ?=
CFLAGS   += -std=c11 $(OPT) -g $(WARN) -D_GNU_SOURCE -Iinclude -Isrc $(BACKEND_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  += $(EXTRA_LDFLAGS)
VERSION  := 0.1.0

JIT_CORE := $(addprefix src/jit/,jit.c jitop.c region.c diskcache.c mcode.c procid.c helpers.c)
JIT_SRC  := $(filter-out $(foreach b,$(BACKENDS),src/jit/$(b)_%.c),$(wildcard src/jit/*.c))
ifeq ($(JIT),0)
LIB_SRC  := $(wildcard src/*.c) $(JIT_CORE) $(wildcard src/jit/none/*.c)
else
LIB_SRC  := $(wildcard src/*.c) $(JIT_SRC) $(wildcard src/jit/$(BACKEND)_*.c)
endif
LIB_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
STATIC   := $(BUILD)/libfusevm.a
SHARED   := $(BUILD)/libfusevm.so
CLI      := $(BUILD)/fusevm
CLI_SRC  := $(wildcard tools/fusevm*.c) tools/json_chunk.c
CLI_LIBS := -ljson-c
LIBS     := -lm

UNIT_SRC := $(wildcard tests/unit/*.c)
# Tests of the code generator's parts, or of what only compiled code does:
# left out without one. Files that also test the rest skip their few
# code-generating tests themselves (fvm_jit_tier_available).
UNIT_CODEGEN := $(addprefix tests/unit/,test_jit_ir.c test_jit_linear.c test_x64_emit.c \
                  test_jit_diskcache.c test_jit_persist.c test_jit_block.c test_jit_block_diff.c \
                  test_jit_trace.c test_jit_trace_calls.c)
ifeq ($(JIT),0)
UNIT_SRC := $(filter-out $(UNIT_CODEGEN),$(UNIT_SRC))
endif
UNIT_BIN := $(BUILD)/test_unit

.PHONY: all lib cli test unit cli-test conformance corpus asan test-switch test-nojit fuzz bench \
        bench-quick install uninstall install-test corpus-linear corpus-block corpus-cache bench-jit \
        check check-neutral clean ops-doc check-long

all: lib cli

lib: $(STATIC) $(SHARED)
cli: $(CLI)

$(BUILD)/obj/%.o: src/%.c include/fusevm.h $(wildcard src/*.h src/jit/*.h src/jit/none/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -DFVM_BUILDING_LIBRARY -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Only FVM_API symbols are exported; everything else is hidden.
$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libfusevm.so.0 -o $@ $^ $(LDFLAGS) $(LIBS)

$(CLI): $(CLI_SRC) $(STATIC) $(wildcard tools/*.h)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(CLI_SRC) $(STATIC) $(LDFLAGS) $(CLI_LIBS) $(LIBS)

# ---- tests ---------------------------------------------------------------

# The Makefile is a prerequisite because its VERSION is compiled in
# (test_version.c checks it against the header's).
$(UNIT_BIN): $(UNIT_SRC) $(STATIC) $(wildcard tests/unit/*.h) tools/json_chunk.c tools/json_chunk.h Makefile
	$(CC) $(CPPFLAGS) $(CFLAGS) -DFVM_MAKEFILE_VERSION='"$(VERSION)"' -o $@ $(UNIT_SRC) tools/json_chunk.c $(STATIC) \
	  $(LDFLAGS) -lcriterion -ljson-c -lcapstone -pthread $(LIBS)

# The JIT disk cache is off (tests of the cache name their own directories),
# so a test run never reads or writes the user's cache.
unit: $(UNIT_BIN)
	FUSEVM_JIT_CACHE_DIR=off $(UNIT_BIN) --jobs 2

# Upstream's serde JSON programs against the blocks upstream printed for them
# (tests/conformance/runner.c, vectors in tests/conformance/vectors), in the
# interpreter and again with the block tier compiling every region on its
# first entry (-m block).
CONFORMANCE_DIR ?= tests/conformance/vectors
CONF_BIN := $(BUILD)/conformance_runner

$(CONF_BIN): tests/conformance/runner.c tools/json_chunk.c tools/json_chunk.h $(STATIC)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/conformance/runner.c tools/json_chunk.c $(STATIC) $(LDFLAGS) -ljson-c $(LIBS)

conformance: $(CONF_BIN)
	$(CONF_BIN) -d $(CONFORMANCE_DIR) -k tests/conformance/known_differences.txt
	$(CONF_BIN) -d $(CONFORMANCE_DIR) -k tests/conformance/known_differences.txt -m block
	$(CONF_BIN) -d $(CONFORMANCE_DIR) -k tests/conformance/known_differences.txt -m trace
	$(CONF_BIN) -d $(CONFORMANCE_DIR) -k tests/conformance/known_differences.txt -m auto

# The command's exit statuses, messages and asm/dis round trips.
cli-test: $(CLI)
	bash tests/cli/run_cli_tests.sh $(CLI)

# The .fasm programs of tests/programs against the expectations in their
# comments (tests/programs/README.md); CORPUS_JIT=off|linear|block|trace|auto.
CORPUS_JIT ?= off
corpus: $(CLI)
	bash tests/programs/run_corpus.sh --fusevm=$(CLI) --jit=$(CORPUS_JIT)

# docs/OPS.md against the op table and the JIT's op table: an entry for
# every op, with the stack effect, operands, opcode and JIT tiers the tables
# give (tests/docs/check_ops_md.c; the format is at the end of OPS.md).
OPSDOC_BIN := $(BUILD)/check_ops_md

$(OPSDOC_BIN): tests/docs/check_ops_md.c $(STATIC) src/opinfo.h src/jit/jitop.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

ops-doc: $(OPSDOC_BIN)
	$(OPSDOC_BIN) docs/OPS.md

# The C examples (examples/*.c) built against the static library with nothing
# but the public header, then every example, .fasm and C, run and its output
# compared with the text kept beside it (examples/NAME.expected).
EXAMPLE_C   := $(wildcard examples/*.c)
EXAMPLE_BIN := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_C))
EXAMPLE_OUT := $(BUILD)/examples/output.txt

$(BUILD)/examples/%: examples/%.c include/fusevm.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) -g $(WARN) $(EXTRA_CFLAGS) -Iinclude -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

.PHONY: examples
examples: $(CLI) $(EXAMPLE_BIN)
	@status=0; \
	for prog in examples/*.fasm $(EXAMPLE_BIN); do \
	  case $$prog in \
	  *.fasm) $(CLI) run $$prog </dev/null >$(EXAMPLE_OUT) 2>&1; want=$${prog%.fasm}.expected ;; \
	  *) $$prog </dev/null >$(EXAMPLE_OUT) 2>&1; want=examples/$${prog##*/}.expected ;; \
	  esac; \
	  diff -u $$want $(EXAMPLE_OUT) || { echo "examples: $$prog: output differs from $$want"; status=1; }; \
	done; \
	if [ $$status = 0 ]; then echo "examples: every example printed its .expected output"; fi; \
	exit $$status

test: all unit cli-test conformance corpus examples ops-doc
	@echo "all test suites passed"

# Criterion reports a LeakSanitizer finding without failing the test, so the
# log is searched for one as well.
asan:
	@mkdir -p build/asan
	@$(MAKE) BUILD=build/asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test > build/asan/test.log 2>&1; \
	status=$$?; cat build/asan/test.log; \
	if grep -q 'ERROR: LeakSanitizer' build/asan/test.log; then \
	  echo "asan: LeakSanitizer reported a leak (see above)"; exit 1; fi; \
	exit $$status

test-switch:
	$(MAKE) BUILD=build/switch EXTRA_CFLAGS="-DFVM_DISPATCH_SWITCH" test

test-nojit:
	$(MAKE) BUILD=build/nojit JIT=0 test

# Install into a staging directory, build the embedding example against the
# installed header and library, check that the shared library exports
# nothing but the public fvm_ API and that the manual page renders without
# a warning and names this version; then uninstall and check that no file
# is left in the staging directory.
STAGE := $(CURDIR)/$(BUILD)/stage
install-test: all
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr >/dev/null
	$(CC) -std=c11 -I$(STAGE)/usr/include -o $(BUILD)/embed-installed examples/embed.c \
	  $(STAGE)/usr/lib/libfusevm.a -lm
	$(BUILD)/embed-installed >/dev/null
	@leaked=$$(nm -D --defined-only $(SHARED) | awk '{print $$3}' | grep -v '^fvm_' || true); \
	if [ -n "$$leaked" ]; then echo "libfusevm.so exports non-API symbols: $$leaked"; exit 1; fi
	@warnings=$$(groff -man -Tutf8 -ww -z $(STAGE)/usr/share/man/man1/fusevm.1 2>&1); \
	if [ -n "$$warnings" ]; then echo "fusevm.1: $$warnings"; exit 1; fi
	@grep -q '"fusevm $(VERSION)"' fusevm.1 || { echo "fusevm.1: not the version $(VERSION)"; exit 1; }
	$(MAKE) --no-print-directory uninstall DESTDIR=$(STAGE) PREFIX=/usr >/dev/null
	@left=$$(find $(STAGE) ! -type d); \
	if [ -n "$$left" ]; then echo "uninstall left files behind: $$left"; exit 1; fi
	@echo "install-test: ok"

# Everything CI runs: the JIT's neutral files checked for aarch64, the suites
# in the normal, sanitizer, switch-dispatch and code-generator-free builds,
# the fuzzers for a fixed budget, an install, and the quick benchmarks.
check: check-neutral test asan test-switch test-nojit install-test corpus-linear corpus-block \
       corpus-cache fuzz \
       bench-quick
	@echo "check: every suite passed"

# The differential tests at a hundred times their CI size: the block and
# tracing tiers on random loops (with globals), the tracing tier on random
# loops calling subroutines, and the fuzzers for ten minutes each. Not part
# of check: it takes an hour or more.
check-long: $(UNIT_BIN)
	FUSEVM_TEST_BLOCK_ITERS=300000 $(UNIT_BIN) --filter 'jit_block_diff/*'
	FUSEVM_TEST_TRACE_ITERS=200000 $(UNIT_BIN) --filter 'jit_trace_calls/*'
	$(MAKE) fuzz FUZZ_TIME=600

# The target-neutral JIT files depend on no backend: none names an x86-64
# symbol or includes an x64_* header, and they compile for aarch64 (syntax
# only) against a stub backend header (tests/neutral/stub_backend.h).
NEUTRAL_CC ?= aarch64-linux-gnu-gcc
check-neutral:
	@named=$$(grep -lE 'fvm_x64_|FVM_X64_|x64_' src/jit/*.[ch] | grep -v '^src/jit/x64_'); \
	if [ -n "$$named" ]; then echo "check-neutral: these name the x86-64 backend:" $$named; exit 1; fi
	$(NEUTRAL_CC) -std=c11 -fsyntax-only $(WARN) -Werror -D_GNU_SOURCE -Iinclude -Isrc -Itests/neutral \
	  -DFVM_JIT_BACKEND_HEADER='"stub_backend.h"' $(JIT_SRC)
	@echo "check-neutral: the neutral JIT files name no backend and compile for aarch64"

# The corpus again with the linear JIT tier taking every chunk it can.
corpus-linear: $(CLI)
	bash tests/programs/run_corpus.sh --fusevm=$(CLI) --jit=linear

# And with the block tier compiling every region on its first entry, with
# the tracing tier recording every loop on its first back-edge, then with
# auto (linear where it applies, else block and trace).
corpus-block: $(CLI)
	FUSEVM_JIT_BLOCK_THRESHOLD=0 bash tests/programs/run_corpus.sh --fusevm=$(CLI) --jit=block
	FUSEVM_JIT_TRACE_THRESHOLD=0 bash tests/programs/run_corpus.sh --fusevm=$(CLI) --jit=trace
	bash tests/programs/run_corpus.sh --fusevm=$(CLI) --jit=auto

# The JIT disk cache: every program with a cold cache, then twice on one
# directory (the second run loads what the first stored); both must pass.
corpus-cache: $(CLI)
	bash tests/programs/run_corpus.sh --fusevm=$(CLI) --jit=auto --cache=cold
	bash tests/programs/run_corpus.sh --fusevm=$(CLI) --jit=auto --cache=warm

# ---- fuzzing ---------------------------------------------------------------
# Every tests/fuzz/fuzz_<name>.c is a libFuzzer target, linked with the whole
# library built with sanitizers, run for FUZZ_TIME seconds from the seeds in
# tests/fuzz/corpus/<name>/. New inputs go to $(BUILD)/fuzz/corpus/<name>/
# and crash reproducers to $(BUILD)/fuzz/, never into the source tree.
# A target that needs more than the library names it in FUZZ_EXTRA_<name>.

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 20
FUZZ_CFLAGS := -std=c11 -O1 -g -D_GNU_SOURCE -Iinclude -Isrc $(BACKEND_CFLAGS) -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_OBJ    := $(patsubst src/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRC))
FUZZ_EXTRA_json := tools/json_chunk.c -ljson-c

.PRECIOUS: $(BUILD)/fuzz/obj/%.o

$(BUILD)/fuzz/obj/%.o: src/%.c include/fusevm.h $(wildcard src/*.h src/jit/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(FUZZ_EXTRA_$*) $(LIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for bin in $(FUZZ_BIN); do \
	  name=$${bin##*/fuzz_}; seeds=tests/fuzz/corpus/$$name; \
	  [ -d $$seeds ] || seeds=; \
	  mkdir -p $(BUILD)/fuzz/corpus/$$name; \
	  echo "fuzz_$$name: $(FUZZ_TIME)s"; \
	  $$bin -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus/$$name $$seeds; \
	done

# ---- benchmarks ------------------------------------------------------------

BENCH_ARGS ?=

bench: cli
	python3 bench/run.py --fusevm $(CLI) --build-dir $(BUILD)/bench $(BENCH_ARGS)

bench-quick: cli
	python3 bench/run.py --quick --fusevm $(CLI) --build-dir $(BUILD)/bench $(BENCH_ARGS)

# The linear JIT tier on upstream's jit_vs_interp kernels against C and the
# interpreter, and its compile time (bench/jit_linear.c); the block tier's
# compile latency and disk cache load and store (bench/jit_block.c); the
# tracing tier's recording and compile latency and load (bench/jit_trace.c).
bench-jit: lib
	$(CC) -std=c11 -O2 -Wall -Wextra -Iinclude -o $(BUILD)/bench-jit-linear bench/jit_linear.c \
	  $(STATIC) -lm
	$(CC) -std=c11 -O2 -Wall -Wextra -Iinclude -o $(BUILD)/bench-jit-block bench/jit_block.c \
	  $(STATIC) -lm
	$(CC) -std=c11 -O2 -Wall -Wextra -Iinclude -o $(BUILD)/bench-jit-trace bench/jit_trace.c \
	  $(STATIC) -lm
	$(BUILD)/bench-jit-linear
	$(BUILD)/bench-jit-block
	$(BUILD)/bench-jit-trace

# ---- install ---------------------------------------------------------------

# Every file install writes, so uninstall removes exactly these.
INSTALLED := $(BINDIR)/fusevm $(LIBDIR)/libfusevm.a $(LIBDIR)/libfusevm.so.$(VERSION) \
             $(LIBDIR)/libfusevm.so.0 $(LIBDIR)/libfusevm.so $(INCLUDEDIR)/fusevm.h \
             $(PKGCONFIGDIR)/fusevm.pc $(MANDIR)/man1/fusevm.1

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libfusevm.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libfusevm.so.$(VERSION)
	ln -sf libfusevm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libfusevm.so.0
	ln -sf libfusevm.so.0 $(DESTDIR)$(LIBDIR)/libfusevm.so
	install -m 644 include/fusevm.h $(DESTDIR)$(INCLUDEDIR)/fusevm.h
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/fusevm
	install -m 644 fusevm.1 $(DESTDIR)$(MANDIR)/man1/fusevm.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	  -e 's|@VERSION@|$(VERSION)|g' fusevm.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/fusevm.pc
	@if [ -z "$(DESTDIR)" ]; then \
	  echo "install: if programs cannot find libfusevm.so, run ldconfig (as root) or add $(LIBDIR) to LD_LIBRARY_PATH"; \
	fi

# Directories are left in place: install may have found them there.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

clean:
	rm -rf build
