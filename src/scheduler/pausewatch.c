/* pausewatch.c -- the stop detector of pausewatch.h.
 *
 * Shape: one thread sleeping PW_TICK_MS at a time on CLOCK_MONOTONIC; after
 * each sleep it stores the time of its wake-up and raises the period's
 * longest gap. A reader adds the gap still open (now - last wake-up), so a
 * stop that has just ended is seen even before the thread runs again.
 * Threads: all fields it shares are atomics. */
#include "pausewatch.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct pausewatch {
    pthread_t th;
    _Atomic int stop;
    _Atomic int64_t last_ms;      /* the thread's last wake-up */
    _Atomic int64_t max_gap_ms;   /* longest gap between wake-ups this period */
};

static void raise_to(_Atomic int64_t *v, int64_t x) {
    int64_t cur = atomic_load(v);
    while (x > cur && !atomic_compare_exchange_weak(v, &cur, x)) {}
}

static void *run(void *arg) {
    pausewatch *w = arg;
    struct timespec tick = {0, PW_TICK_MS * 1000000L};
    while (!atomic_load(&w->stop)) {
        clock_nanosleep(CLOCK_MONOTONIC, 0, &tick, NULL);
        int64_t now = util_now_ms();
        raise_to(&w->max_gap_ms, now - atomic_exchange(&w->last_ms, now));
    }
    return NULL;
}

pausewatch *pw_start(void) {
    pausewatch *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    atomic_store(&w->last_ms, util_now_ms());
    if (pthread_create(&w->th, NULL, run, w) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

void pw_stop(pausewatch *w) {
    if (!w) return;
    atomic_store(&w->stop, 1);
    pthread_join(w->th, NULL);
    free(w);
}

int64_t pw_peek(pausewatch *w) {
    int64_t open = util_now_ms() - atomic_load(&w->last_ms), done = atomic_load(&w->max_gap_ms);
    return open > done ? open : done;
}

int64_t pw_take(pausewatch *w) {
    int64_t open = util_now_ms() - atomic_load(&w->last_ms), done = atomic_exchange(&w->max_gap_ms, 0);
    return open > done ? open : done;
}
