// tap.h - a few lines of TAP for the C tests: ok(), close(), plan at the end.
#ifndef NNLAB_TAP_H
#define NNLAB_TAP_H
#include <math.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *name) {
    tap_n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
    if (!cond) tap_failed++;
    return cond;
}

// |got - want| <= tol * max(1, |want|)
static inline int tap_close(double got, double want, double tol, const char *name) {
    int ok = fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1);
    if (!ok) printf("# %s: got %.9g want %.9g\n", name, got, want);
    return tap_ok(ok, name);
}

static inline int tap_done(void) {
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
#endif
