/* sim_park.h -- suspended connections, woken by a client hang-up, a deadline
 * or the simulator's shutdown.
 *
 * The simulator's libmicrohttpd daemons are event driven (sim_http.c): a
 * connection that has nothing to do -- an event stream with nothing queued,
 * a scheduler call held back by /sim/call-delay -- is suspended
 * (MHD_suspend_connection) and costs no thread and no wake-up. But a
 * suspended connection is invisible to libmicrohttpd: it notices neither a
 * closed client nor the passing of time. A parked entry gives it both: its
 * socket is watched for a hang-up (EPOLLRDHUP/EPOLLHUP/EPOLLERR) and/or its
 * deadline kept, by one thread for all of them, and its callback runs once,
 * on that thread, when either comes -- or on the caller's thread for all of
 * them at sim_park_wake_all.
 *
 * Exactly once: an entry ends either by its callback or by a successful
 * sim_park_cancel, never both; whoever removes it from the set decides, so
 * the owner resumes its connection only when cancel returns 1, and the
 * callback resumes it otherwise.
 *
 * Threads: sim_park_start/stop on the owner thread (stop after the daemons
 * are stopped); add/cancel from any thread; callbacks run without the
 * module's lock held, so they may take the caller's locks (a stream's mutex);
 * add and cancel may be called with such locks held. One set per process
 * (mcm-sim runs one simulator). */
#ifndef MCM_SIM_PARK_H
#define MCM_SIM_PARK_H

#include <stddef.h>
#include <stdint.h>

typedef enum sim_park_why {
    SIM_PARK_HUP = 1,        /* the client hung up (or its socket failed) */
    SIM_PARK_TIME,           /* the deadline passed */
    SIM_PARK_STOP            /* sim_park_wake_all: the simulator is stopping */
} sim_park_why;

typedef void (*sim_park_fn)(void *arg, sim_park_why why);

/* MCM_OK, or MCM_ERR with a reason in err. */
int sim_park_start(char *err, size_t errlen);
/* Joins the thread; every entry must have ended (sim_park_wake_all). */
void sim_park_stop(void);
/* Parks: fd (a connected socket, or -1) is watched for a hang-up, deadline_ms
 * (monotonic, util_now_ms; -1: none) kept. Returns the entry's id, or 0 when
 * the set is stopping or out of memory (nothing parked: the caller does not
 * suspend). fd must stay open until the entry ends. */
uint64_t sim_park_add(int fd, int64_t deadline_ms, sim_park_fn fn, void *arg);
/* 1: removed, fn will not run; 0: fn has run or is running (or id unknown). */
int sim_park_cancel(uint64_t id);
/* Runs every entry's fn with SIM_PARK_STOP on this thread, and returns once
 * every callback the thread had already taken has returned too, so no
 * connection is left to be resumed; sim_park_add fails from then on. */
void sim_park_wake_all(void);

#endif
