# gpu.mk - builds libnnlab_cuda.so from gpu/*.cu; included by the Makefile when nvcc exists.
# nnlab dlopen()s the library on first GPU use and hands it its error setter in
# gpu_backend_init; -z defs proves at link time that nothing is left to the executable.
GPU_SRC    := $(wildcard gpu/*.cu)
GPU_OBJ    := $(patsubst %.cu,$(BUILD)/%.o,$(GPU_SRC))
GPU_HDR    := gpu/gpu.mk gpu/gpu.h gpu/gpu_internal.h gpu/gpu_window.h gpu/gpu_alloc_core.h tensor/backend.h tensor/tensor.h tensor/elementwise.h tensor/layout.h tensor/op_table.h
CUDA_HOME  ?= $(patsubst %/bin/,%,$(dir $(realpath $(NVCC))))
CUDA_LIB   ?= $(CUDA_HOME)/lib64
# A100 (sm_80; sm_86/89 run it too), H100/H200 (sm_90), and sm_90 PTX that newer GPUs JIT-compile.
GPU_GENCODE ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
               -gencode arch=compute_90,code=compute_90
NVCCFLAGS  ?= -O2
# hidden visibility: only gpu_backend_init is exported. No exceptions and no guarded
# statics (nvcc's launch stubs have some), so the .so needs nothing from libstdc++.
GPU_CODEFLAGS := $(NVCCFLAGS) -Xcompiler -fPIC -std=c++17 \
                 -Xcompiler -fvisibility=hidden,-fno-exceptions,-fno-threadsafe-statics -Xcompiler -Wall,-Wextra,-Wno-unused-parameter
GPU_NVCCFLAGS := $(GPU_CODEFLAGS) $(GPU_GENCODE)

$(CUDA_SO): $(GPU_OBJ)
	$(NVCC) -shared -cudart shared -o $@ $^ -L$(CUDA_LIB) -lcublas -lcudart -Xlinker -rpath,$(CUDA_LIB) -Xlinker -z,defs

# No FMA contraction where the GPU must round as the CPU does (built -std=c11 for
# x86-64: gcc contracts nothing): nvcc would turn uniform's a + (b-a)*u and Adam's
# b1*m + (1-b1)*g into fused multiply-adds, one rounding instead of two, and the draws and
# updates would differ from the CPU's in the last bit (checked in the PTX by
# tests/e2e/gpu_fmad.sh). These kernels are memory bound: one more instruction an element.
# The optimizer updates also flush denormals to zero, as tensor/cpu/optim.c does on x86.
GPU_NOFMA := gpu_map gpu_optim
GPU_FILE_FLAGS = $(if $(filter $(GPU_NOFMA),$*),-fmad=false) $(if $(filter gpu_optim,$*),-ftz=true)

$(BUILD)/gpu/%.o: gpu/%.cu $(GPU_HDR)
	@mkdir -p $(dir $@)
	$(NVCC) $(GPU_NVCCFLAGS) $(GPU_FILE_FLAGS) -c -o $@ $<

# the PTX of one file with its real flags (sm_90), for tests/e2e/gpu_fmad.sh
$(BUILD)/gpu/%.ptx: gpu/%.cu $(GPU_HDR)
	@mkdir -p $(dir $@)
	$(NVCC) $(GPU_CODEFLAGS) -arch=compute_90 $(GPU_FILE_FLAGS) -ptx -o $@ $<

# CPU/GPU parity suite and GPU benchmarks; needs a GPU (skips cleanly without one)
gpu-check: all
	sh scripts/gpu_check.sh

# cuBLAS's own rates on the benchmark's tasks, run beside nnlab's by the bundle
$(BUILD)/gpu_ceiling: bench/gpu_ceiling.cu
	@mkdir -p $(dir $@)
	$(NVCC) -O2 $(GPU_GENCODE) -o $@ $< -L$(CUDA_LIB) -lcublas -Xlinker -rpath,$(CUDA_LIB)

# one folder that runs the parity suite and the benchmarks on a bare GPU machine
.PHONY: gpu-bundle
gpu-bundle: all $(BUILD)/gpu_ceiling $(BUILD)/tests/test_gpu_kernels.t
	sh scripts/gpu_bundle.sh
