// model.c - the dashboard's state: loss history, watched weights, summary, keys.
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double repl_dash_ema_levels[] = {0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99};
const int repl_dash_ema_nlevels = (int)(sizeof repl_dash_ema_levels / sizeof repl_dash_ema_levels[0]);

double repl_dash_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void repl_dash_state_init(dash_state *s)
{
    memset(s, 0, sizeof *s);
    s->stride = 1;
    s->min_loss = NAN;
    s->min_loss_step = NAN;
    s->first_step = NAN;
    s->last = (dash_point){NAN, NAN, NAN, NAN, NAN, NAN};
    s->ema_idx = 2;
    s->cur_watch = 0;
    s->log_user = -1;
    s->loss_hi = NAN;
}

static void watch_free(dash_watch *w)
{
    tensor_release(w->t);
    free(w->init_dist);
    free(w->init_cos);
    free(w->dist);
    free(w->cos);
    free(w->hist);
    memset(w, 0, sizeof *w);
}

static void rows_free(dash_state *s)
{
    for (int i = 0; i < s->nrows; i++) {
        free(s->rows[i].layer);
        free(s->rows[i].shape);
        free(s->rows[i].params);
    }
    free(s->rows);
    s->rows = NULL;
    s->nrows = 0;
}

static void grads_free(dash_state *s)
{
    for (int i = 0; i < s->ngrads; i++) free(s->grads[i].name);
    free(s->grads);
    s->grads = NULL;
    s->ngrads = 0;
}

static void out_free(dash_state *s)
{
    for (int i = 0; i < DASH_OUT_LINES; i++) free(s->out[i]);
    memset(s->out, 0, sizeof s->out);
    s->nout = s->out_head = s->out_part_len = 0;
    s->out_total = 0;
}

void repl_dash_state_free(dash_state *s)
{
    out_free(s);
    free(s->pts);
    for (int i = 0; i < s->nwatch; i++) watch_free(&s->watches[i]);
    free(s->watches);
    rows_free(s);
    grads_free(s);
    repl_dash_state_init(s);
}

// ---- history ------------------------------------------------------------------
// Fields are NAN when not logged, so sums and counts are kept per field.
#define FIELDS(X) X(step) X(epoch) X(loss) X(test_loss) X(acc) X(lr)

static double mean_or_nan(double sum, double cnt) { return cnt > 0 ? sum / cnt : NAN; }

static dash_point merge2(dash_point a, dash_point b)
{
    dash_point m;
#define M(f) m.f = isnan(a.f) ? b.f : isnan(b.f) ? a.f : 0.5 * (a.f + b.f);
    FIELDS(M)
#undef M
    m.step = isnan(b.step) ? a.step : b.step;      // a merged point sits at its last step
    m.epoch = isnan(b.epoch) ? a.epoch : b.epoch;
    return m;
}

static dash_point pending_point(const dash_state *s)
{
    dash_point p;
#define P(f) p.f = mean_or_nan(s->acc_sum.f, s->acc_cnt.f);
    FIELDS(P)
#undef P
    p.step = s->last.step;
    p.epoch = s->last.epoch;
    return p;
}

void repl_dash_log(dash_state *s, dash_point *in) { repl_dash_log_at(s, in, repl_dash_now()); }

void repl_dash_log_at(dash_state *s, dash_point *in, double now)
{
    dash_point p = *in;
    // no step: a loss is the next step; anything else (test loss, accuracy) belongs
    // to the step it follows
    if (isnan(p.step)) p.step = isnan(s->last.step) ? 1 : s->last.step + !isnan(p.loss);
    in->step = p.step;
    if (!s->t_first) {
        s->t_first = now;
        s->first_step = p.step;
        s->rate_t0 = now;
        s->rate_step0 = p.step;
    }
    // steps/s over windows of about a second; the first window reports as it fills
    if (now - s->rate_t0 >= 1.0) {
        s->rate = (p.step - s->rate_step0) / (now - s->rate_t0);
        s->rate_t0 = now;
        s->rate_step0 = p.step;
    } else if (now - s->t_first < 2 && now > s->t_first) {
        // the first seconds: the average so far (one slow first step is not the rate)
        s->rate = (p.step - s->first_step) / (now - s->t_first);
    }
#define L(f) if (!isnan(p.f)) s->last.f = p.f;
    FIELDS(L)
#undef L
    s->last.step = p.step;
    if (!isnan(p.loss) && (isnan(s->min_loss) || p.loss < s->min_loss)) {
        s->min_loss = p.loss;
        s->min_loss_step = p.step;
    }
    if (isfinite(p.loss) && (isnan(s->loss_hi) || p.loss > s->loss_hi)) s->loss_hi = p.loss;
    s->nlogs++;

#define A(f) if (!isnan(p.f)) { s->acc_sum.f += p.f; s->acc_cnt.f += 1; }
    FIELDS(A)
#undef A
    if (++s->acc_n < s->stride) return;
    if (!s->pts) {
        s->pts = malloc(DASH_HISTORY * sizeof *s->pts);
        if (!s->pts) return;     // keep going without a plot rather than fail training
    }
    if (s->npts == DASH_HISTORY) {
        for (int i = 0; i < DASH_HISTORY / 2; i++) s->pts[i] = merge2(s->pts[2 * i], s->pts[2 * i + 1]);
        s->npts = DASH_HISTORY / 2;
        s->stride *= 2;
    }
    s->pts[s->npts++] = pending_point(s);
    memset(&s->acc_sum, 0, sizeof s->acc_sum);
    memset(&s->acc_cnt, 0, sizeof s->acc_cnt);
    s->acc_n = 0;
}

int repl_dash_points(const dash_state *s, dash_point **out)
{
    int n = s->npts + (s->acc_n > 0);
    *out = malloc((size_t)(n ? n : 1) * sizeof **out);
    if (!*out) return 0;
    if (s->npts) memcpy(*out, s->pts, (size_t)s->npts * sizeof **out);
    if (s->acc_n > 0) (*out)[s->npts] = pending_point(s);
    return n;
}

// ---- weight similarity ------------------------------------------------------------
void repl_dash_pairwise(const float *v, int rows, int cols, float *dist, float *cos)
{
    double *norm = malloc((size_t)rows * sizeof *norm);
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int k = 0; k < cols; k++) s += (double)v[(size_t)i * cols + k] * v[(size_t)i * cols + k];
        if (norm) norm[i] = sqrt(s);
    }
    for (int i = 0; i < rows; i++) {
        dist[(size_t)i * rows + i] = 0;
        cos[(size_t)i * rows + i] = 1;
        const float *a = v + (size_t)i * cols;
        for (int j = i + 1; j < rows; j++) {
            const float *b = v + (size_t)j * cols;
            float sad = 0, dot = 0;      // float accumulators vectorise; cols are small
            for (int k = 0; k < cols; k++) {
                sad += fabsf(a[k] - b[k]);
                dot += a[k] * b[k];
            }
            float d = sad / cols;
            double nn = norm ? norm[i] * norm[j] : 0;
            float c = nn > 0 ? (float)(dot / nn) : 0;
            dist[(size_t)i * rows + j] = dist[(size_t)j * rows + i] = d;
            cos[(size_t)i * rows + j] = cos[(size_t)j * rows + i] = c;
        }
    }
    free(norm);
}

int repl_dash_closest(const float *m, int rows, int cosine, int k, int *pi, int *pj, float *val)
{
    int n = 0;
    for (int i = 0; i < rows; i++)
        for (int j = i + 1; j < rows; j++) {
            float v = m[(size_t)i * rows + j];
            if (isnan(v)) continue;
            // insertion into the sorted top-k (k is small)
            int pos = n;
            while (pos > 0 && (cosine ? v > val[pos - 1] : v < val[pos - 1])) pos--;
            if (pos >= k) continue;
            int last = n < k ? n : k - 1;
            for (int q = last; q > pos; q--) {
                pi[q] = pi[q - 1];
                pj[q] = pj[q - 1];
                val[q] = val[q - 1];
            }
            pi[pos] = i;
            pj[pos] = j;
            val[pos] = v;
            if (n < k) n++;
        }
    return n;
}

int repl_dash_watch(dash_state *s, const char *name, tensor *t, tensor *init)
{
    if (t->ndim < 1 || tensor_numel(t) < 1) {
        tensor_set_error("dash.watch: '%s' needs at least one row, got a %d-dim tensor", name, t->ndim);
        return -1;
    }
    if (t->storage->device == TENSOR_META) {
        tensor_set_error("dash.watch: '%s' is on the meta device and has no values", name);
        return -1;
    }
    if (init && tensor_numel(init) != tensor_numel(t)) {
        char a[64], b[64];
        tensor_set_error("dash.watch: init %s does not match %s", tensor_shape_str(a, sizeof a, init),
                         tensor_shape_str(b, sizeof b, t));
        return -1;
    }
    dash_watch w = {0};
    snprintf(w.name, sizeof w.name, "%s", name);
    w.total_rows = t->size[0];   // conv weights [O,C,k,k] read as O rows of C*k*k
    w.rows = w.total_rows > DASH_SIM_MAX_ROWS ? DASH_SIM_MAX_ROWS : (int)w.total_rows;
    w.cols = (int)(tensor_numel(t) / w.total_rows);
    size_t mm = (size_t)w.rows * w.rows;
    float *v = tensor_to_host(init ? init : t);
    w.init_dist = malloc(mm * sizeof(float));
    w.init_cos = malloc(mm * sizeof(float));
    w.dist = malloc(mm * sizeof(float));
    w.cos = malloc(mm * sizeof(float));
    if (!v || !w.init_dist || !w.init_cos || !w.dist || !w.cos) {
        free(v);
        watch_free(&w);
        if (v) tensor_set_error("dash.watch: out of memory for a %dx%d similarity matrix", w.rows, w.rows);
        return -1;
    }
    repl_dash_pairwise(v, w.rows, w.cols, w.init_dist, w.init_cos);
    free(v);
    w.t = tensor_retain(t);
    snprintf(s->device, sizeof s->device, "%s", tensor_device_name(t->storage->device));

    for (int i = 0; i < s->nwatch; i++)      // same name: a new run replaces the old one
        if (!strcmp(s->watches[i].name, w.name)) {
            watch_free(&s->watches[i]);
            s->watches[i] = w;
            s->cur_watch = i;
            return 0;
        }
    dash_watch *nw = realloc(s->watches, (size_t)(s->nwatch + 1) * sizeof *nw);
    if (!nw) {
        watch_free(&w);
        tensor_set_error("dash.watch: out of memory");
        return -1;
    }
    s->watches = nw;
    s->watches[s->nwatch] = w;
    s->cur_watch = s->nwatch++;
    return 0;
}

int repl_dash_refresh_sim(dash_state *s, int force)
{
    if (s->nwatch == 0) return 0;
    dash_watch *w = &s->watches[s->cur_watch];
    double now = repl_dash_now();
    // a redraw every 50 ms would make a 1024x1024 matrix the training loop's main cost;
    // wait 100x what the last computation took (<= 1% of wall time)
    if (!force && w->have_live && now - w->sim_at < 100 * w->sim_cost) return 0;
    float *v = tensor_to_host(w->t);
    if (!v) return -1;
    repl_dash_pairwise(v, w->rows, w->cols, w->dist, w->cos);
    free(v);
    w->have_live = 1;
    w->sim_at = repl_dash_now();
    w->sim_cost = w->sim_at - now;
    return 0;
}

// ---- summary and gradients ------------------------------------------------------------
static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

int repl_dash_set_rows(dash_state *s, const dash_row *rows, int n)
{
    rows_free(s);
    s->rows = calloc((size_t)(n ? n : 1), sizeof *s->rows);
    if (!s->rows) return -1;
    for (int i = 0; i < n; i++) {
        s->rows[i].layer = dup_or_empty(rows[i].layer);
        s->rows[i].shape = dup_or_empty(rows[i].shape);
        s->rows[i].params = dup_or_empty(rows[i].params);
        s->rows[i].depth = rows[i].depth;
        s->nrows = i + 1;
    }
    return 0;
}

int repl_dash_set_grads(dash_state *s, const dash_grad *g, int n)
{
    grads_free(s);
    s->grads = calloc((size_t)(n ? n : 1), sizeof *s->grads);
    if (!s->grads) return -1;
    for (int i = 0; i < n; i++) {
        s->grads[i] = g[i];
        s->grads[i].name = dup_or_empty(g[i].name);
        s->ngrads = i + 1;
    }
    return 0;
}

// ---- run life cycle ----------------------------------------------------------------------
void repl_dash_run_begin(dash_state *s, const char *name)
{
    free(s->pts);
    s->pts = NULL;
    s->npts = 0;
    s->stride = 1;
    memset(&s->acc_sum, 0, sizeof s->acc_sum);
    memset(&s->acc_cnt, 0, sizeof s->acc_cnt);
    s->acc_n = 0;
    s->nlogs = 0;
    s->last = (dash_point){NAN, NAN, NAN, NAN, NAN, NAN};
    s->min_loss = s->min_loss_step = s->first_step = s->loss_hi = NAN;
    s->t_first = 0;
    s->t_open = repl_dash_now();
    s->rate = s->rate_t0 = s->rate_step0 = 0;
    s->finished = 0;
    s->t_end = 0;
    s->quit = s->confirm_quit = s->paused = 0;
    snprintf(s->status, sizeof s->status, "running");
    snprintf(s->run_name, sizeof s->run_name, "%s", name ? name : "");
    // what the dashboard picked for the last run goes; what the script gave stays
    int k = 0;
    for (int i = 0; i < s->nwatch; i++) {
        if (s->watches[i].is_auto) watch_free(&s->watches[i]);
        else s->watches[k++] = s->watches[i];
    }
    s->nwatch = k;
    s->cur_watch = 0;
    if (!s->explicit_rows) rows_free(s);
    if (!s->explicit_grads) grads_free(s);
    s->explicit_log = 0;
}

void repl_dash_run_end(dash_state *s, const char *status)
{
    if (s->finished) return;
    s->finished = 1;
    s->t_end = repl_dash_now();
    s->paused = s->confirm_quit = 0;
    snprintf(s->status, sizeof s->status, "%s", status);
    // the next run starts from what its own script gives
    s->explicit_rows = s->explicit_grads = s->explicit_watch = 0;
    for (int i = 0; i < s->nwatch; i++) s->watches[i].is_auto = 1;
}

// ---- script output ---------------------------------------------------------------------
static void out_push(dash_state *s, const char *line, int n)
{
    char *copy = malloc((size_t)n + 1);
    if (!copy) return;
    memcpy(copy, line, (size_t)n);
    copy[n] = 0;
    int slot = (s->out_head + s->nout) % DASH_OUT_LINES;
    if (s->nout == DASH_OUT_LINES) {
        free(s->out[s->out_head]);
        s->out_head = (s->out_head + 1) % DASH_OUT_LINES;
        slot = (s->out_head + s->nout - 1) % DASH_OUT_LINES;
    } else {
        s->nout++;
    }
    s->out[slot] = copy;
}

void repl_dash_output(dash_state *s, const char *b, size_t n)
{
    s->out_total += (int64_t)n;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (c == '\n' || s->out_part_len == (int)sizeof s->out_part - 1) {
            out_push(s, s->out_part, s->out_part_len);
            s->out_part_len = 0;
            if (c == '\n') continue;
        }
        if (c == '\r') { s->out_part_len = 0; continue; }       // progress bars redraw their line
        if (c == '\t') c = ' ';
        if ((unsigned char)c < 32) continue;
        s->out_part[s->out_part_len++] = c;
    }
    s->out_part[s->out_part_len] = 0;          // the open line reads as a string
}

const char *repl_dash_output_line(const dash_state *s, int i)
{
    if (i < 0) return NULL;
    if (i < s->nout) return s->out[(s->out_head + i) % DASH_OUT_LINES];
    if (i == s->nout && s->out_part_len) return s->out_part;
    return NULL;
}

// ---- the loss axis ---------------------------------------------------------------------
// log when the smoothed losses span more than two decades (TensorBoard leaves it to the
// user; a newcomer's first loss usually falls by decades)
int repl_dash_log_axis(const dash_state *s)
{
    if (s->log_user >= 0) return s->log_user;
    return s->min_loss > 0 && s->loss_hi > 0 && s->loss_hi / s->min_loss > 100;
}

// ---- distributions -------------------------------------------------------------------------
static void hist_of(const float *v, int64_t n, float *lo, float *hi, uint16_t *bins)
{
    float a = INFINITY, b = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (v[i] < a) a = v[i];
            if (v[i] > b) b = v[i];
        }
    memset(bins, 0, DASH_HIST_BINS * sizeof *bins);
    if (!(a <= b)) { *lo = *hi = NAN; return; }
    *lo = a;
    *hi = b;
    double scale = b > a ? DASH_HIST_BINS / ((double)b - a) : 0;
    uint32_t cnt[DASH_HIST_BINS] = {0}, mx = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            int k = (int)((v[i] - a) * scale);
            cnt[k < DASH_HIST_BINS ? k : DASH_HIST_BINS - 1]++;
        }
    for (int k = 0; k < DASH_HIST_BINS; k++) if (cnt[k] > mx) mx = cnt[k];
    // stored relative to the fullest bin: a shade, not a count, is what is drawn
    for (int k = 0; k < DASH_HIST_BINS; k++) bins[k] = mx ? (uint16_t)((uint64_t)cnt[k] * 65535 / mx) : 0;
}

void repl_dash_hist_add(dash_watch *w, double step, const float *v, const float *g, int64_t n)
{
    if (!w->hist) {
        w->hist = malloc(DASH_HIST_MAX * sizeof *w->hist);
        if (!w->hist) return;
    }
    if (w->nhist == DASH_HIST_MAX) {     // keep the whole run: every other old sample goes
        for (int i = 0; i < DASH_HIST_MAX / 2; i++) w->hist[i] = w->hist[2 * i + 1];
        w->nhist = DASH_HIST_MAX / 2;
    }
    struct dash_hist *h = &w->hist[w->nhist++];
    h->step = step;
    hist_of(v, n, &h->lo, &h->hi, h->w);
    h->has_g = g != NULL;
    if (g) hist_of(g, n, &h->glo, &h->ghi, h->g);
}

// ---- keys ------------------------------------------------------------------------------
dash_key_result repl_dash_key(dash_state *s, int key)
{
    if (s->confirm_quit) {               // "stop training? y/n" is modal
        s->confirm_quit = 0;
        if (key == 'y' || key == 'Y') {
            s->quit = 1;
            s->paused = 0;
            return DASH_KEY_QUIT;
        }
        return DASH_KEY_NONE;
    }
    if (s->help && key != '?') s->help = 0;
    switch (key) {
    case 'q': case 'Q':
        if (s->finished) s->quit = 1;         // nothing left to stop: q just closes
        else s->confirm_quit = 1;
        break;
    case 'p': case 'P': case ' ': s->paused = !s->paused; break;
    case 'l': case 'L': s->log_user = !repl_dash_log_axis(s); break;
    case 'c': case 'C':
        // the cosine of one-number rows is always +-1: nothing to compare
        if (s->cosine || !s->nwatch || s->watches[s->cur_watch].cols > 1) s->cosine = !s->cosine;
        break;
    case 'v': case 'V': s->page = (s->page + 1) % 3; break;
    case '\t':
        if (s->nwatch) s->cur_watch = (s->cur_watch + 1) % s->nwatch;
        if (s->nwatch && s->watches[s->cur_watch].cols < 2) s->cosine = 0;
        break;
    case '+': case '=':
        if (s->ema_idx < repl_dash_ema_nlevels - 1) s->ema_idx++;
        break;
    case '-': case '_':
        if (s->ema_idx > 0) s->ema_idx--;
        break;
    case '?': s->help = !s->help; break;
    default: break;
    }
    return DASH_KEY_NONE;
}
