// fuzz_npy.c - tensor_load_npy on arbitrary bytes must either fail with a
// "tensor.load_npy: ..." message or return a tensor whose shape matches its data.
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tensor *t = tensor_load_npy(fuzz_as_file(data, size));
    if (!t) {
        fuzz_check_error("tensor.load_npy: ");
        return 0;
    }
    if (t->ndim < 0 || t->ndim > TENSOR_MAX_DIMS || (tensor_numel(t) > 0 && !t->storage->data)) abort();
    // every value is readable, through the strides the tensor claims
    float *host = tensor_to_host(t);
    if (!host && tensor_numel(t) > 0) abort();
    volatile float sum = 0;
    for (int64_t k = 0; k < tensor_numel(t); k++) sum += host[k];
    (void)sum;
    free(host);
    tensor_release(t);
    return 0;
}
