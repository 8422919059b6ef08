# tests/fuzz/fuzz.mk - fuzzing and sanitizer runs; included by the top Makefile AFTER
# LIB_OBJ, REPL_OBJ and CTEST_BIN are defined (it uses them in prerequisites).
#
#   make fuzz          libFuzzer + ASan + UBSan, each harness for FUZZ_SECONDS (default 60);
#                      new inputs go to build-fuzz/corpus/NAME, crashes to build-fuzz/crash-*
#   make fuzz-replay   the harnesses as plain ASan+UBSan programs (no libFuzzer) run once
#                      over every file in tests/fuzz/corpus/NAME
#   make asan-suite    C tests, Lua tests and the chaos session under ASan+UBSan
#                      (build-asan/), failing on any report, leaks included
#
# Each builds through a recursive $(MAKE) BUILD=... so the top Makefile's own rules
# compile the library; only the sanitizer flags differ. They ride in CC, because a
# CFLAGS given on a make command line would drop the Makefile's `CFLAGS += -std=c11 ...`.
# Needs clang (libclang-rt-14-dev for libFuzzer and the sanitizer runtimes).

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_NAMES   := safetensors npy idx api save
# UBSan reports stay recoverable so tests/fuzz/ubsan.supp can list known, reported
# issues; UBSAN_OPTIONS=halt_on_error=1 still makes every other report fatal.
FUZZ_SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_LSAN    := $(CURDIR)/tests/fuzz/lsan.supp
# Every report is fatal; leaks too (LSan runs at exit).
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$(CURDIR)/tests/fuzz/ubsan.supp \
                LSAN_OPTIONS=suppressions=$(FUZZ_LSAN):print_suppressions=0 \
                OPENBLAS_NUM_THREADS=1 NNLAB_NUM_THREADS=1
# LeakSanitizer (clang 14) crashes walking the dynamic TLS of a dlopen'ed library's threads
# ("Tracer caught signal 11"): the sanitized runs use one thread, and test_threads, which
# needs several, runs with ASan and UBSan but without the leak check.
FUZZ_NOLEAK  := ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1:allocator_may_return_null=1
FUZZ_SUBMAKE  = CFLAGS="-O1 -g" $(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory NVCC= CUDA_SO=

.PHONY: fuzz fuzz-replay asan-suite asan-build fuzz-bins asan-bins

# ---- the builds (each target runs inside the recursive make) ----------------------
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(FUZZ_DEFS) -o $@ $< $(LIB_OBJ) $(FUZZ_LINK) $(LDFLAGS) $(LDLIBS)

# the REPL binary inside $(BUILD) (the top-level `nnlab` rule always writes ./nnlab)
$(BUILD)/nnlab: $(LIB_OBJ) $(REPL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-bins: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
asan-bins: $(BUILD)/nnlab $(CTEST_BIN) fuzz-bins

# One sub-make builds everything fuzz-replay and asan-suite need, so `make -j test`
# never runs two builds into build-asan/ at once.
asan-build:
	+$(FUZZ_SUBMAKE) BUILD=build-asan CC="$(FUZZ_CC) $(FUZZ_SAN)" FUZZ_DEFS=-DFUZZ_REPLAY asan-bins

# ---- make fuzz ------------------------------------------------------------------------
fuzz:
	+$(FUZZ_SUBMAKE) BUILD=build-fuzz CC="$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  FUZZ_LINK=-fsanitize=fuzzer fuzz-bins
	@for n in $(FUZZ_NAMES); do \
	  mkdir -p build-fuzz/corpus/$$n build-fuzz/artifacts/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_ENV) build-fuzz/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/artifacts/$$n/ \
	    build-fuzz/corpus/$$n tests/fuzz/corpus/$$n 2> build-fuzz/fuzz_$$n.log; rc=$$?; \
	  grep -E '^stat::number_of_executed_units|^Done|SUMMARY|ERROR' build-fuzz/fuzz_$$n.log; \
	  if [ $$rc -ne 0 ]; then tail -n 60 build-fuzz/fuzz_$$n.log; \
	    echo "fuzz: $$n failed; the input is in build-fuzz/artifacts/$$n/"; exit 1; fi; \
	done

# ---- make fuzz-replay -------------------------------------------------------------------
fuzz-replay: asan-build
	@for n in $(FUZZ_NAMES); do \
	  $(FUZZ_ENV) build-asan/fuzz/fuzz_$$n tests/fuzz/corpus/$$n || { echo "fuzz-replay: $$n failed"; exit 1; }; \
	done

# ---- make asan-suite ----------------------------------------------------------------------
asan-suite: asan-build
	@start=$$(date +%s); \
	$(FUZZ_ENV) prove -f $$(ls build-asan/tests/*.t | grep -v test_threads) && \
	$(FUZZ_ENV) $(FUZZ_NOLEAK) prove -f build-asan/tests/test_threads.t && \
	$(FUZZ_ENV) NNLAB_SANITIZED=1 prove -f --exec build-asan/nnlab $$(ls tests/lua/test_*.lua | grep -v test_threads) && \
	$(FUZZ_ENV) $(FUZZ_NOLEAK) NNLAB_SANITIZED=1 prove -f --exec build-asan/nnlab tests/lua/test_threads.lua && \
	$(FUZZ_ENV) NNLAB=build-asan/nnlab prove -f tests/e2e/chaos.sh; rc=$$?; \
	echo "asan-suite: $$(( $$(date +%s) - start )) s"; exit $$rc

# ---- make tsan-suite ----------------------------------------------------------------------
# ThreadSanitizer over the dashboard's metrics writer (a step thread and a writer thread
# share its ring): the test and the two files it needs, no Lua or BLAS in the way.
TSAN_SRC := tests/c/test_dash_writer.c repl/dash/writer.c repl/dash/jsonl.c
build-tsan/test_dash_writer.t: $(TSAN_SRC) repl/dash/dash.h tests/c/tap.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -O1 -g -fsanitize=thread -std=c11 -D_GNU_SOURCE $(PKG_CFLAGS) -o $@ $(TSAN_SRC) -lm -lpthread
tsan-suite: build-tsan/test_dash_writer.t
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 prove -f build-tsan/test_dash_writer.t
