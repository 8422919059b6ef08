// test_threads.c - the thread setting and the interrupt flag from C: a requested
// interrupt makes long ops (elementwise, reductions, a big GEMM, im2col convolution) fail
// with "interrupted" and leaves their inputs intact; once cleared they run again.
#include <stdlib.h>
#include <string.h>
#include "../../tensor/tensor.h"
#include "tap.h"

static int interrupted(tensor *r) {
    int ok = r == NULL && strcmp(tensor_last_error(), "interrupted") == 0;
    if (!ok) printf("# got %s, error '%s'\n", r ? "a result" : "NULL", r ? "" : tensor_last_error());
    tensor_release(r);
    return ok;
}

int main(void) {
    tap_ok(tensor_get_num_threads() >= 1, "a default thread count");
    tap_ok(tensor_set_num_threads(0) == -1 && strstr(tensor_last_error(), "valid range is 1.."),
           "0 threads is refused with the valid range");
    tap_ok(tensor_set_num_threads(2) == 0 && tensor_get_num_threads() == 2, "set_num_threads(2)");

    int64_t n = (int64_t)1 << 22, sq[2] = {2048, 2048};
    tensor *a = tensor_randn(1, &n, TENSOR_CPU);
    tensor *m = tensor_randn(2, sq, TENSOR_CPU);
    int64_t xs[4] = {64, 16, 64, 64}, ws[4] = {16, 16, 3, 3};
    tensor *x = tensor_randn(4, xs, TENSOR_CPU), *w = tensor_randn(4, ws, TENSOR_CPU);
    int64_t big[2] = {4096, 4096};
    tensor *g = tensor_full(2, big, 0.001f, TENSOR_CPU);
    float before, after;
    tensor *s0 = tensor_sum(a, TENSOR_ALL_DIMS, 0);
    tensor_item(s0, &before);

    tensor_request_interrupt();
    tap_ok(tensor_interrupt_pending(), "the flag is up");
    tap_ok(interrupted(tensor_exp(a)), "a 4M-element exp fails with \"interrupted\"");
    tap_ok(interrupted(tensor_add(a, a)), "a 4M-element add fails with \"interrupted\"");
    tap_ok(interrupted(tensor_sum(a, TENSOR_ALL_DIMS, 0)), "a 4M-element sum fails with \"interrupted\"");
    tap_ok(interrupted(tensor_softmax(m, 1)), "a 2048x2048 softmax fails with \"interrupted\"");
    tap_ok(tensor_fill_(g, 1.0f) == -1 && strcmp(tensor_last_error(), "interrupted") == 0,
           "an in-place fill of 16M elements fails with \"interrupted\"");
    tap_ok(interrupted(tensor_matmul(g, g)), "a 4096^3 matmul stops at its first row block");
    tap_ok(interrupted(tensor_conv2d(x, w, NULL, 1, 1, 1)), "a conv2d fails with \"interrupted\"");
    int64_t four = 4;
    tensor *tiny = tensor_ones(1, &four, TENSOR_CPU), *t2 = tensor_add(tiny, tiny);
    tap_ok(t2 != NULL, "a tiny op (one chunk, on the caller) still runs");
    tensor_release(t2);

    tensor_clear_interrupt();
    tap_ok(!tensor_interrupt_pending(), "cleared");
    tensor *s1 = tensor_sum(a, TENSOR_ALL_DIMS, 0);
    tap_ok(s1 && tensor_item(s1, &after) == 0 && after == before, "the input is intact and the sum runs again, same bits");
    tensor *e = tensor_exp(a), *c = tensor_conv2d(x, w, NULL, 1, 1, 1);
    tap_ok(e && c, "exp and conv2d run again");

    tensor_set_num_threads(1);
    tensor *s2 = tensor_sum(a, TENSOR_ALL_DIMS, 0);
    float one;
    tap_ok(s2 && tensor_item(s2, &one) == 0 && one == before, "the sum on 1 thread has the same bits as on 2");
    tensor_release(s0); tensor_release(s1); tensor_release(s2); tensor_release(e); tensor_release(c);
    tensor_release(a); tensor_release(m); tensor_release(g); tensor_release(x); tensor_release(w); tensor_release(tiny);
    return tap_done();
}
