// ops_random.c - the seeded RNG (Philox, counter based) and the ops that draw from it.
#include "elementwise.h"
#include "internal.h"

static uint64_t rng_seed = 0x5eed;
static uint64_t rng_offset;

void tensor_manual_seed(uint64_t seed) { rng_seed = seed; rng_offset = 0; }
uint64_t tensor_rng_advance(uint64_t n) { uint64_t o = rng_offset; rng_offset += n; return o; }

static tensor *draw(const char *op, int ndim, const int64_t *sizes, tensor_device d, int kind, float a, float b) {
    tensor *t = tensor_empty_op(op, ndim, sizes, d);
    if (!t || d == TENSOR_META) return t;
    int64_t n = tensor_numel(t);
    uint64_t off = tensor_rng_advance((uint64_t)n);
    if (TENSOR_RUN(t, random, tensor_data(t), n, kind, rng_seed, off, a, b)) { tensor_release(t); return NULL; }
    return t;
}

tensor *tensor_rand(int ndim, const int64_t *sizes, tensor_device d) {
    return draw("tensor.rand", ndim, sizes, d, EW_RAND_UNIFORM, 0, 1);
}
tensor *tensor_randn(int ndim, const int64_t *sizes, tensor_device d) {
    return draw("tensor.randn", ndim, sizes, d, EW_RAND_NORMAL, 0, 1);
}
tensor *tensor_uniform(int ndim, const int64_t *sizes, float lo, float hi, tensor_device d) {
    return draw("tensor.uniform", ndim, sizes, d, EW_RAND_UNIFORM, lo, hi);
}

// inverted dropout: zero with probability p, scale survivors by 1/(1-p)
tensor *tensor_dropout(tensor *a, float p, int training) {
    if (!(p >= 0 && p <= 1)) {
        tensor_set_error("dropout: p = %g is the probability of zeroing an element and must be in [0, 1]", p);
        return NULL;
    }
    if (!training || p == 0) return tensor_retain(a);
    if (p == 1) { tensor *z = tensor_zeros_like(a); tensor *r = z ? tensor_mul(a, z) : NULL; tensor_release(z); return r; }
    tensor *mask = draw("dropout", a->ndim, a->size, a->storage->device, EW_RAND_BERNOULLI, 1.0f - p, 0);
    tensor *scaled = mask ? tensor_mul_scalar(mask, 1.0f / (1.0f - p)) : NULL;
    tensor *out = scaled ? tensor_mul(a, scaled) : NULL;
    tensor_release(mask);
    tensor_release(scaled);
    return out;
}
