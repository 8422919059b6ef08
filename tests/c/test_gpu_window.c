// test_gpu_window.c - the sliding-window geometry the GPU's col2im and avg-pool backward
// gather with (gpu/gpu_window.h), run on the CPU against a brute-force scatter: for
// every input position and tap, the output found is the one window that reads it.
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "../../gpu/gpu_window.h"

int main(void) {
    int bad = 0, cases = 0;
    for (int n = 1; n <= 9; n++)
        for (int k = 1; k <= 4; k++)
            for (int s = 1; s <= 3; s++)
                for (int p = 0; p < k && p <= 2; p++) {
                    int64_t on = (n + 2 * p - k) / s + 1;
                    if (n + 2 * p < k) continue;
                    int64_t who[16][4];   // who[i][tap] = the output reading input i at that tap, or -1
                    memset(who, 0xff, sizeof who);
                    for (int64_t o = 0; o < on; o++)
                        for (int t = 0; t < k; t++) {
                            int64_t i = o * s - p + t;
                            if (i >= 0 && i < n) who[i][t] = o;
                        }
                    for (int64_t i = 0; i < n; i++)
                        for (int t = 0; t < k; t++) {
                            int64_t o = -1;
                            int hit = gpu_window_tap_output(i, t, s, p, on, &o);
                            if ((hit ? o : -1) != who[i][t]) {
                                if (bad++ < 5)
                                    printf("# n=%d k=%d s=%d p=%d: input %lld tap %d -> %lld, want %lld\n", n, k, s, p,
                                           (long long)i, t, (long long)(hit ? o : -1), (long long)who[i][t]);
                            }
                        }
                    cases++;
                }
    char name[120];
    snprintf(name, sizeof name, "gpu_window_tap_output finds the window of every (input, tap) in %d geometries", cases);
    tap_ok(bad == 0, name);
    gpu_window g = {2, 3, 5, 5, 4, 4, 2, 2, 1, 1, 0, 0, 0};
    tap_ok(gpu_cols_at(&g, 1, 2, 3) == (1 * 12 + 2) * 16 + 3, "columns (B, C*kh*kw, L): image-major");
    g.batch_inner = 1;
    tap_ok(gpu_cols_at(&g, 1, 2, 3) == (2 * 2 + 1) * 16 + 3, "columns (C*kh*kw, B, L): batch inside");
    return tap_done();
}
