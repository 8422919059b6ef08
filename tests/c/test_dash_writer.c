// test_dash_writer.c - metrics.jsonl's writer thread (repl/dash/writer.c) loses and
// reorders nothing: 100,000 steps (twelve times its ring, so the step waits for room)
// with a sampled-statistics line every 997th, drained part-way (everything pushed is
// then in the file) and closed; every line read back in order with its numbers.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../repl/dash/dash.h"
#include "tap.h"

#define STEPS 100000
#define TEXT_EVERY 997

static long count_lines(FILE *f)
{
    fflush(f);
    rewind(f);
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fseek(f, 0, SEEK_END);
    return n;
}

static dash_point point(long i)
{
    return (dash_point){.step = (double)i, .epoch = NAN, .loss = 1.0 / (double)(i + 3), .test_loss = NAN,
                        .acc = NAN, .lr = 1e-3};
}

int main(void)
{
    FILE *f = tmpfile();
    if (!tap_ok(f != NULL, "a scratch file")) return tap_done();
    // the writer writes through f from its thread; reading it back below waits for
    // a drain or the close, as runs/ readers of a live run wait for its flushes
    dash_writer *w = repl_dash_writer_open(f);
    if (!tap_ok(w != NULL, "writer opens")) return tap_done();
    long pushed = 0, drained_ok = 1;
    for (long i = 1; i <= STEPS; i++) {
        dash_point p = point(i);
        if (i % TEXT_EVERY == 0) {
            char *line = malloc(64);
            snprintf(line, 64, "{\"step\":%ld,\"text\":true}\n", i);
            repl_dash_writer_text(w, line);
        } else {
            repl_dash_writer_point(w, &p, i * 1e-4);
        }
        pushed++;
        if (i == 12345 || i == 70001) {
            repl_dash_writer_drain(w);
            // only the writer thread touches f until the drain returned; it is idle now
            long n = count_lines(f);
            if (n != pushed) {
                printf("# after a drain at %ld: %ld lines in the file\n", i, n);
                drained_ok = 0;
            }
        }
    }
    tap_ok(drained_ok, "a drain returns with every line pushed so far in the file");
    tap_ok(repl_dash_writer_close(w) == 0, "close drains and reports no write error");

    rewind(f);
    char line[512];
    long n = 0, in_order = 1, values = 1, texts = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        long step = strtol(line + strlen("{\"step\":"), NULL, 10);
        if (strncmp(line, "{\"step\":", 8) != 0 || step != n) {
            if (in_order) printf("# line %ld: %s", n, line);
            in_order = 0;
            continue;
        }
        if (n % TEXT_EVERY == 0) {
            texts += strstr(line, "\"text\":true") != NULL;
            continue;
        }
        const char *l = strstr(line, "\"loss\":"), *t = strstr(line, "\"time\":");
        double loss = l ? strtod(l + 7, NULL) : NAN, time = t ? strtod(t + 7, NULL) : NAN;
        if (!(fabs(loss - point(n).loss) <= 1e-7 * point(n).loss) || !(fabs(time - n * 1e-4) <= 1e-6) ||
            !strstr(line, "\"lr\":0.001}")) {
            if (values) printf("# line %ld: %s", n, line);
            values = 0;
        }
    }
    if (!tap_ok(n == STEPS, "every step is a line")) printf("# %ld lines, %d pushed\n", n, STEPS);
    tap_ok(in_order, "the lines are in the order they were pushed");
    tap_ok(texts == STEPS / TEXT_EVERY, "the sampled lines sit among the steps where they were pushed");
    tap_ok(values, "each line's loss (8 digits), time and lr read back");
    fclose(f);
    return tap_done();
}
