# nnlab - make run | make test   (both install missing Debian packages first)
CC      ?= cc
CFLAGS  ?= -O2 -g
# no errno from sqrtf/expf: lets gcc vectorise the elementwise and optimizer loops
CFLAGS  += -fno-math-errno -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration -D_GNU_SOURCE -MMD -MP
PKGS    := lua5.4 openblas libcjson ncursesw readline
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# OpenBLAS is not linked: tensor/cpu/blas.c dlopen()s it on the first matmul,
# which keeps its 10+ ms load (and thread pool) out of start-up.
PKG_LIBS   = $(shell pkg-config --libs $(filter-out openblas,$(PKGS)) 2>/dev/null)
LDLIBS  += $(PKG_LIBS) -lz -lm -ldl -lpthread
# (no -rdynamic: libnnlab_cuda.so gets tensor_set_error through gpu_backend_init)
BUILD   ?= build

# Debian packages, by what needs them (docs/ARCHITECTURE.md says why each): running nnlab; the test suite
# (tmux drives the REPL, prove runs TAP, clang builds the sanitizer and fuzz runs);
# benchmarks and fixture regeneration (PyTorch).
DEB_RUN   := liblua5.4-dev libreadline-dev libncurses-dev libopenblas-dev libdnnl-dev zlib1g-dev \
             libcjson-dev dataset-fashion-mnist pkg-config xxd
DEB_TEST  := $(DEB_RUN) tmux perl clang libclang-rt-14-dev
DEB_BENCH := $(DEB_RUN) python3-torch python3-numpy

TENSOR_SRC := $(wildcard tensor/*.c) $(wildcard tensor/cpu/*.c)
NN_SRC     := $(wildcard nn/*.c)
REPL_SRC   := $(wildcard repl/*.c) $(wildcard repl/dash/*.c)
LUA_SRC    := $(wildcard nn/lua/*.lua) $(wildcard repl/lua/*.lua)
LIB_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(TENSOR_SRC) $(NN_SRC))
REPL_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(REPL_SRC)) $(BUILD)/embedded.o
CTEST_SRC  := $(wildcard tests/c/test_*.c)
CTEST_BIN  := $(patsubst tests/c/%.c,$(BUILD)/tests/%.t,$(CTEST_SRC))

NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifneq ($(NVCC),)
CUDA_SO := libnnlab_cuda.so
endif

.PHONY: all deps deps-run deps-test deps-bench install-pkgs run test check asan clean bench gpu-check gpu-bundle fuzz
all: nnlab $(CUDA_SO)

# deps-run / deps-test / deps-bench: install what is missing (apt as root; otherwise
# print the command). `make deps` is the test set.
deps: deps-test
deps-run:
	@$(MAKE) --no-print-directory install-pkgs PKG_SET="$(DEB_RUN)"
deps-test:
	@$(MAKE) --no-print-directory install-pkgs PKG_SET="$(DEB_TEST)"
deps-bench:
	@$(MAKE) --no-print-directory install-pkgs PKG_SET="$(DEB_BENCH)"
install-pkgs:
	@missing=""; for p in $(PKG_SET); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing packages; run:  sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

nnlab: $(LIB_OBJ) $(REPL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the CPU kernels: -O3 vectorises the elementwise loops (branch-free relu, blends);
# -fno-trapping-math lets it if-convert selects over float math (no results change:
# nothing enables FP traps), without which sigmoid, tanh, gelu and exp stay scalar
$(BUILD)/tensor/cpu/%.o: CFLAGS += -O3 -fno-trapping-math

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# Lua modules compiled into the binary, so ./nnlab runs from anywhere
$(BUILD)/embedded.c: $(LUA_SRC) scripts/embed.sh
	@mkdir -p $(BUILD)
	sh scripts/embed.sh $(LUA_SRC) > $@

$(BUILD)/embedded.o: $(BUILD)/embedded.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.t: tests/c/%.c $(LIB_OBJ) tests/c/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)

# tests of repl/'s own code (test_dash_*: the dashboard's panels) link it too, less main()
REPL_TEST_OBJ := $(filter-out $(BUILD)/repl/main.o,$(REPL_OBJ))
$(BUILD)/tests/test_dash_%.t: tests/c/test_dash_%.c $(LIB_OBJ) $(REPL_TEST_OBJ) tests/c/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(REPL_TEST_OBJ) $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)

ifneq ($(NVCC),)
include gpu/gpu.mk
else
gpu-check: all
	sh scripts/gpu_check.sh
gpu-bundle:
	@echo "gpu-bundle: needs nvcc (libnnlab_cuda.so is built only with the CUDA toolkit)"; exit 1
endif

run: deps-run all
	./nnlab $(ARGS)

include tests/fuzz/fuzz.mk

# runs that the tests' dashboards keep go to build/, not to ./runs
test check asan: export NNLAB_RUNS = $(CURDIR)/$(BUILD)/test-runs

# the fast loop: build, the C and Lua suites and the dashboard's end-to-end tests (no
# package install, sanitizers, fuzz corpora or lessons)
check: all $(CTEST_BIN)
	prove -f $(CTEST_BIN)
	prove -f --exec ./nnlab tests/lua/test_*.lua
	$(CONV_FALLBACK)
	prove -f tests/e2e/dash.sh tests/e2e/dash_watch.sh tests/e2e/runs.sh

# the convolution suites again on the im2col fallback (the default route is oneDNN)
CONV_FALLBACK = NNLAB_CONV=im2col prove -f $(BUILD)/tests/test_core.t $(BUILD)/tests/test_nn.t && \
	NNLAB_CONV=im2col prove -f --exec ./nnlab tests/lua/test_conv.lua tests/lua/test_ops_torch.lua tests/lua/test_nn.lua

# the whole suite, then the same C and Lua suites under ASan/UBSan/LSan and the fuzz corpora
test: deps-test all $(CTEST_BIN) fuzz-replay asan-suite tsan-suite
	prove -f $(CTEST_BIN)
	prove -f --exec ./nnlab tests/lua/test_*.lua
	$(CONV_FALLBACK)
	prove -f tests/e2e/*.sh tests/tutorials.sh
	TUTORIAL_LANG=ko prove -f tests/tutorials.sh

# the C and Lua suites under AddressSanitizer/UBSan/LeakSanitizer (tests/fuzz/fuzz.mk)
asan: deps-test asan-suite

bench: deps-bench all $(BUILD)/sgemm_direct
	/usr/bin/python3 bench/run.py

$(BUILD)/sgemm_direct: bench/sgemm_direct.c
	@mkdir -p $(BUILD)
	$(CC) -O2 $(PKG_CFLAGS) -o $@ $< $(shell pkg-config --libs openblas)

clean:
	rm -rf build build-asan build-fuzz nnlab libnnlab_cuda.so

-include $(LIB_OBJ:.o=.d) $(REPL_OBJ:.o=.d)
