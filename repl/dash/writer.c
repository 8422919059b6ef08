// writer.c - metrics.jsonl written off the training thread. A watched step hands its
// point (step, loss, lr, time: 64 bytes) to a ring and goes on; a writer thread turns
// points into lines and writes them. Formatting a line on the training thread was
// about 1,300 instructions a step, a third of what watching cost (TensorBoard's
// SummaryWriter and W&B write from another thread or process the same way).
// The step never wakes the writer: waking a sleeping thread cost the step ~100 us on
// the 2-core VM (the woken writer ran on the step's own core, ~1 ms of steps lost a
// second). The writer wakes by itself every 50 ms, at low priority, writes what is
// queued and flushes, so a `runs` view elsewhere is at most that far behind.
// Nothing is dropped: a ring three quarters full does wake it, and a full one makes
// the step wait; a drain (a run's end, dash.close, exit) returns once all is on disk.
#include "dash.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING 8192                  // records (512 KB): 50 ms of steps down to 6 us a step
#define WAKE_AT (RING / 4 * 3)
#define PERIOD_NS 50000000L

typedef struct {
    dash_point p;
    double t;
    char *text;                    // a line already made (sampled statistics), or NULL
} record;

struct dash_writer {
    FILE *f;
    record *ring;                  // RING records
    // the next record the step fills (written by the step only) and the next the writer
    // takes (by the writer only), a cache line apart: each side writes its own
    _Alignas(64) _Atomic size_t head;
    _Alignas(64) _Atomic size_t tail;
    _Alignas(64) int threaded;     // 0: no thread could be made; lines are written at once
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    int kicked, stop;              // under mu
    unsigned long drain_req, drained, passes;   // under mu
    int error;                     // a write failed (disk full): told at close
};

static int kept_in_use;            // the process's one ring is a writer's (one run at a time)

static void write_record(dash_writer *w, record *r)
{
    char line[512], *text = r->text;
    size_t n;
    if (text) {
        n = strlen(text);
    } else {
        char *e = repl_dash_put_point(line, &r->p, r->t);
        *e++ = '}';
        *e++ = '\n';
        text = line;
        n = (size_t)(e - line);
    }
    if (fwrite(text, 1, n, w->f) != n) w->error = 1;
    free(r->text);
    r->text = NULL;
}

// Writes every record queued when it starts; returns how many.
static size_t write_queued(dash_writer *w)
{
    size_t t = atomic_load_explicit(&w->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&w->head, memory_order_acquire);
    for (size_t i = t; i != h; i++) {
        write_record(w, &w->ring[i % RING]);
        // free the slots as they are written: a step waiting on a full ring goes on sooner
        if ((i + 1) % 256 == 0) atomic_store_explicit(&w->tail, i + 1, memory_order_release);
    }
    atomic_store_explicit(&w->tail, h, memory_order_release);
    return h - t;
}

static void *writer_main(void *arg)
{
    dash_writer *w = arg;
    // below the training threads: on a busy machine it waits for a free moment (a full
    // ring still gets it the CPU: the step waits for it)
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    struct timespec due;
    clock_gettime(CLOCK_MONOTONIC, &due);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        due.tv_nsec += PERIOD_NS;
        if (due.tv_nsec >= 1000000000L) { due.tv_sec++; due.tv_nsec -= 1000000000L; }
        while (!w->kicked && !w->stop && w->drain_req == w->drained)
            if (pthread_cond_timedwait(&w->wake, &w->mu, &due) == ETIMEDOUT) break;
        unsigned long req = w->drain_req;
        int stop = w->stop;
        w->kicked = 0;
        pthread_mutex_unlock(&w->mu);
        if (write_queued(w) && fflush(w->f) != 0) w->error = 1;
        pthread_mutex_lock(&w->mu);
        w->drained = req;
        w->passes++;
        pthread_cond_broadcast(&w->done);
        if (stop) break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > due.tv_sec || (now.tv_sec == due.tv_sec && now.tv_nsec > due.tv_nsec)) due = now;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

dash_writer *repl_dash_writer_open(FILE *f)
{
    // aligned as declared (calloc gives 16 bytes): head and tail on their own lines
    size_t size = (sizeof(dash_writer) + 63) / 64 * 64;
    dash_writer *w = aligned_alloc(64, size);
    if (!w) return NULL;
    memset(w, 0, size);
    // one ring for the process, touched once: a fresh 512 KB's page faults during the
    // first run's steps cost that run ~4% on this VM (later ones reused the heap's pages)
    static record *kept;
    if (!kept && (kept = malloc(RING * sizeof *kept))) memset(kept, 0, RING * sizeof *kept);
    if (!kept || kept_in_use) {
        free(w);
        return NULL;
    }
    kept_in_use = 1;
    w->ring = kept;
    w->f = f;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&w->done, NULL);
    // the writer takes no signal: a Ctrl-C is the training thread's (repl/interrupt.c)
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    w->threaded = pthread_create(&w->th, NULL, writer_main, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return w;
}

static void signal_writer(dash_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->kicked = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

// A full ring: wait until the writer has made room (it is woken first).
static void wait_for_room(dash_writer *w, size_t h)
{
    pthread_mutex_lock(&w->mu);
    while (h - atomic_load_explicit(&w->tail, memory_order_acquire) >= RING) {
        w->kicked = 1;
        pthread_cond_signal(&w->wake);
        unsigned long pass = w->passes;
        while (w->passes == pass && h - atomic_load_explicit(&w->tail, memory_order_acquire) >= RING)
            pthread_cond_wait(&w->done, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
}

static void push(dash_writer *w, const dash_point *p, double t, char *text)
{
    record r = {.t = t, .text = text};
    if (p) r.p = *p;
    if (!w->threaded) {
        write_record(w, &r);
        return;
    }
    size_t h = atomic_load_explicit(&w->head, memory_order_relaxed);
    if (h - atomic_load_explicit(&w->tail, memory_order_acquire) >= RING) wait_for_room(w, h);
    w->ring[h % RING] = r;
    atomic_store_explicit(&w->head, h + 1, memory_order_release);
    // steps faster than 6 us: the writer's 50 ms would not keep up
    if (h + 1 - atomic_load_explicit(&w->tail, memory_order_relaxed) == WAKE_AT) signal_writer(w);
}

void repl_dash_writer_point(dash_writer *w, const dash_point *p, double t) { push(w, p, t, NULL); }
void repl_dash_writer_text(dash_writer *w, char *line) { push(w, NULL, 0, line); }

void repl_dash_writer_drain(dash_writer *w)
{
    if (!w->threaded) {
        if (fflush(w->f) != 0) w->error = 1;
        return;
    }
    pthread_mutex_lock(&w->mu);
    unsigned long my = ++w->drain_req;
    pthread_cond_signal(&w->wake);
    while (w->drained < my) pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

int repl_dash_writer_close(dash_writer *w)
{
    if (!w) return 0;
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        w->drain_req++;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
    }
    int rc = w->error || fflush(w->f) != 0 ? -1 : 0;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    kept_in_use = 0;
    free(w);
    return rc;
}
