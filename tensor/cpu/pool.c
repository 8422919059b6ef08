// pool.c - the CPU thread pool, the thread-count setting shared with OpenBLAS and
// oneDNN, and the interrupt flag that long ops poll between chunks.
//
// Workers sleep on a condition variable between jobs (never spin: the OpenMP attempt
// lost 4x to spin-waiting next to OpenBLAS's threads). A job is [0, n) cut into fixed
// chunks of `grain` indices; the caller and the workers claim chunks from one atomic
// counter. The chunk boundaries depend only on n and grain, never on the thread count,
// so a kernel that keeps one partial result per chunk and combines them in chunk order
// gives the same bits on 1 thread and on 32.
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "cpu.h"

// ---- interrupt flag ----
// a lock-free atomic: setting it is async-signal-safe (the REPL's SIGINT handler)
static atomic_int interrupt_flag;

void tensor_request_interrupt(void) { atomic_store_explicit(&interrupt_flag, 1, memory_order_relaxed); }
void tensor_clear_interrupt(void) { atomic_store_explicit(&interrupt_flag, 0, memory_order_relaxed); }
int tensor_interrupt_pending(void) { return atomic_load_explicit(&interrupt_flag, memory_order_relaxed); }

int cpu_check_interrupt(void) {
    if (!tensor_interrupt_pending()) return 0;
    tensor_set_error("interrupted");
    return -1;
}

// ---- the pool ----
#define POOL_MAX_THREADS 1024

static struct {
    pthread_mutex_t mu;          // guards everything below but the atomics
    pthread_cond_t wake, done;
    pthread_t tid[POOL_MAX_THREADS];
    int nworkers;                // started workers (threads - 1 once a job has run)
    int want;                    // the setting: threads including the caller; 0 = not yet read
    int quit;
    unsigned gen;                // bumped for every job
    cpu_chunk_fn fn;             // the job of generation gen
    void *ctx;
    int64_t n, grain, nchunks;
    // (gen << 32) | next chunk: a worker that woke late claims only chunks of its own gen
    _Atomic uint64_t claim;
    atomic_llong completed;
    atomic_int failed;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

// one job at a time; a second caller (another thread) runs its job inline
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int in_job;   // a worker, or the caller while its job runs: nested jobs run inline

static int usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)(n > POOL_MAX_THREADS ? POOL_MAX_THREADS : n) : 1;
}

static int default_threads(void) {
    const char *envs[] = {"NNLAB_NUM_THREADS", "OMP_NUM_THREADS"};
    for (int i = 0; i < 2; i++) {
        const char *e = getenv(envs[i]);
        int v = e ? atoi(e) : 0;
        if (v >= 1) return v > POOL_MAX_THREADS ? POOL_MAX_THREADS : v;
    }
    return usable_cores();
}

int tensor_get_num_threads(void) {
    if (!pool.want) pool.want = default_threads();
    return pool.want;
}

// runs chunks of generation gen until none is left; -1 when one of this thread's failed
static int run_chunks(unsigned gen, cpu_chunk_fn fn, void *ctx, int64_t n, int64_t grain, int64_t nchunks) {
    int mine = 0;
    for (;;) {
        uint64_t v = atomic_load(&pool.claim);
        do {
            if ((unsigned)(v >> 32) != gen || (int64_t)(v & 0xffffffffu) >= nchunks) return mine;
        } while (!atomic_compare_exchange_weak(&pool.claim, &v, v + 1));
        int64_t c = (int64_t)(v & 0xffffffffu), b = c * grain, e = b + grain < n ? b + grain : n;
        // after a failure or Ctrl-C the remaining chunks are only counted, not run
        if (!atomic_load_explicit(&pool.failed, memory_order_relaxed)) {
            if (tensor_interrupt_pending() || fn(ctx, b, e, c)) { atomic_store(&pool.failed, 1); mine = -1; }
        }
        if (atomic_fetch_add(&pool.completed, 1) + 1 == nchunks) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
    }
}

// arg: the generation when it was started; a job posted before it first runs is still its
static void *worker(void *arg) {
    in_job = 1;
    pthread_mutex_lock(&pool.mu);
    unsigned seen = (unsigned)(uintptr_t)arg;
    for (;;) {
        while (pool.gen == seen && !pool.quit) pthread_cond_wait(&pool.wake, &pool.mu);
        if (pool.quit) break;
        seen = pool.gen;
        cpu_chunk_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int64_t n = pool.n, grain = pool.grain, nchunks = pool.nchunks;
        pthread_mutex_unlock(&pool.mu);
        run_chunks(seen, fn, ctx, n, grain, nchunks);
        pthread_mutex_lock(&pool.mu);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

static void stop_workers(void) {
    pthread_mutex_lock(&pool.mu);
    pool.quit = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.nworkers; i++) pthread_join(pool.tid[i], NULL);
    pool.nworkers = 0;
    pool.quit = 0;
}

// the child of a fork has none of the parent's workers: start afresh
static void after_fork_child(void) {
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pthread_mutex_init(&job_mu, NULL);
    pool.nworkers = 0;
    pool.quit = 0;
}

static void start_workers(int count) {
    static int atfork_done;
    if (!atfork_done) { pthread_atfork(NULL, NULL, after_fork_child); atfork_done = 1; }
    while (pool.nworkers < count) {
        // small stacks: a worker runs only kernels
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        int rc = pthread_create(&pool.tid[pool.nworkers], &attr, worker, (void *)(uintptr_t)pool.gen);
        pthread_attr_destroy(&attr);
        if (rc) break;   // fewer threads (EAGAIN under a ulimit): the work still gets done
        pool.nworkers++;
    }
}

int cpu_parallel_for(int64_t n, int64_t grain, cpu_chunk_fn fn, void *ctx) {
    if (n <= 0) return 0;
    if (grain < 1) grain = 1;
    int64_t nchunks = (n + grain - 1) / grain;
    if (nchunks > 0xfffffff0) { grain = (n + 0xfffffff0 - 1) / 0xfffffff0; nchunks = (n + grain - 1) / grain; }
    int threads = tensor_get_num_threads();
    if (nchunks == 1) return fn(ctx, 0, n, 0);   // small work: the calling thread, no check
    if (threads == 1 || in_job || pthread_mutex_trylock(&job_mu) != 0) {
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t b = c * grain, e = b + grain < n ? b + grain : n;
            if (cpu_check_interrupt() || fn(ctx, b, e, c)) return -1;
        }
        return 0;
    }
    if (pool.nworkers != threads - 1) {
        if (pool.nworkers > threads - 1) stop_workers();
        start_workers(threads - 1);
    }
    int wake = nchunks - 1 < pool.nworkers ? (int)(nchunks - 1) : pool.nworkers;
    pthread_mutex_lock(&pool.mu);
    unsigned gen = ++pool.gen;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.grain = grain;
    pool.nchunks = nchunks;
    atomic_store(&pool.completed, 0);
    atomic_store(&pool.failed, 0);
    atomic_store(&pool.claim, (uint64_t)gen << 32);
    if (wake == pool.nworkers) pthread_cond_broadcast(&pool.wake);
    else for (int i = 0; i < wake; i++) pthread_cond_signal(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    in_job = 1;
    int mine = run_chunks(gen, fn, ctx, n, grain, nchunks);
    in_job = 0;
    pthread_mutex_lock(&pool.mu);
    while (atomic_load(&pool.completed) < nchunks) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    int failed = atomic_load(&pool.failed);
    pthread_mutex_unlock(&job_mu);
    // a worker's error message stays on its thread: the common failure is Ctrl-C, said here
    if (failed) {
        if (tensor_interrupt_pending()) tensor_set_error("interrupted");
        else if (!mine) tensor_set_error("a CPU kernel failed on a pool thread");
        return -1;
    }
    return 0;
}

int tensor_set_num_threads(int n) {
    if (n < 1 || n > POOL_MAX_THREADS) {
        tensor_set_error("set_num_threads: %d threads is out of range: the valid range is 1..%d (this machine "
                         "lets the process use %d cores)", n, POOL_MAX_THREADS, usable_cores());
        return -1;
    }
    pthread_mutex_lock(&job_mu);
    if (pool.nworkers > n - 1) stop_workers();
    pool.want = n;
    pthread_mutex_unlock(&job_mu);
    cpu_blas_set_threads(n);
    cpu_dnnl_set_threads(n);
    return 0;
}
