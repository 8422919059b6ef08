// fuzz_idx.c - tensor_load_idx on arbitrary bytes, plain and gzip'd.
// The first byte picks the form: even = the rest as is (libFuzzer also finds the gzip
// magic itself from the gzip seeds), odd = the rest gzip-compressed first, so the
// mutations reach the IDX parser behind a valid gzip stream too.
#include <zlib.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    uint8_t *gz = NULL;
    if (data[0] & 1) {
        // gzip (not raw zlib) framing: deflateInit2 with windowBits 15 + 16
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
        size_t cap = deflateBound(&zs, (uLong)n) + 32;
        gz = malloc(cap);
        zs.next_in = (Bytef *)body;
        zs.avail_in = (uInt)n;
        zs.next_out = gz;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
        body = gz;
        n = zs.total_out;
        deflateEnd(&zs);
    }
    tensor *t = tensor_load_idx(fuzz_as_file(body, n));
    free(gz);
    if (!t) {
        fuzz_check_error("data.idx: ");
        return 0;
    }
    if (t->ndim < 1 || t->ndim > TENSOR_MAX_DIMS || (tensor_numel(t) > 0 && !t->storage->data)) abort();
    volatile float sum = 0;
    for (int64_t k = 0; k < tensor_numel(t); k++) sum += t->storage->data[t->offset + k];
    (void)sum;
    tensor_release(t);
    return 0;
}
