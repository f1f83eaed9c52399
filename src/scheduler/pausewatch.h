/* pausewatch.h -- tells a process that was stopped from a core that was busy.
 *
 * A leader must step down after its process was stopped (SIGSTOP, a VM
 * pause, swapping) for long enough that its ZooKeeper session may be gone
 * (core.c). Timing the core itself cannot tell that from a core that was
 * merely busy or blocked in a long ZooKeeper call: at N = 1,000 one offer
 * message's launches, or one large publication, held the core for 5-11 s and
 * stepped a healthy leader down again and again (bench/scale). A thread that
 * does nothing but wake every PW_TICK_MS can: it is stopped only when the
 * whole process is, so the longest gap between its wake-ups is the longest
 * stop.
 *
 * Threads: pw_start/pw_stop on the owner; pw_take/pw_peek from any thread.
 * Ownership: pw_stop joins the thread and frees the watch. */
#ifndef MCM_PAUSEWATCH_H
#define MCM_PAUSEWATCH_H

#include <stdint.h>

#define PW_TICK_MS 100

typedef struct pausewatch pausewatch;

pausewatch *pw_start(void);            /* NULL if the thread cannot start */
void pw_stop(pausewatch *w);           /* NULL-safe */
/* The longest gap (ms) between two wake-ups, counting the one under way,
 * since the last pw_take; take also starts a new period. */
int64_t pw_take(pausewatch *w);
int64_t pw_peek(pausewatch *w);

#endif
