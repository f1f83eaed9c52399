/* queue.h -- a mailbox for an owner thread: many producers, one consumer.
 *
 * Every thread that learns something the scheduler must act on (ZooKeeper
 * watcher/completion thread, Mesos stream thread, HTTP threads, signal
 * handling) turns it into a message and posts it here; the core thread takes
 * messages one at a time. Posting never blocks beyond a short mutex hold, so
 * it is safe from library callbacks.
 *
 * Ownership: cq_post takes ownership of the message; the consumer frees it
 * with cq_msg_free() (which calls the message's own free function for its
 * payload). Threads: cq_post from any thread; cq_take from the core only. */
#ifndef MCM_QUEUE_H
#define MCM_QUEUE_H

#include <stdint.h>

typedef struct cq cq;

typedef struct cq_msg {
    int type;                         /* the consumer's enum */
    void *data;                       /* payload, owned by the message */
    void (*free_data)(void *data);    /* NULL: free() */
    int64_t num;                      /* small payloads need no allocation */
    int droppable;                    /* CQ_KEEP, or how it may be refused (queue.c) */
    struct cq_msg *next;
} cq_msg;

cq *cq_create(void);
void cq_free(cq *q);                  /* frees messages still queued; NULL-safe */
/* Posts a message (copies type/data/num into a new node). MCM_ERR only when
 * out of memory, in which case data is freed with free_data. */
int cq_post(cq *q, int type, void *data, void (*free_data)(void *), int64_t num);
/* Waits up to timeout_ms (0: poll, <0: forever) for the next message; NULL on timeout. */
cq_msg *cq_take(cq *q, int64_t timeout_ms);
/* BOUND: a queue holds every message posted with cq_post (a status update
 * must never be lost), but one posted with cq_post_droppable is refused --
 * CQ_DROPPED, its data freed -- while the queue already holds `limit` or
 * more messages, and also while a droppable message of the same type is
 * still waiting (coalescing: a flood of heartbeats becomes one). limit <= 0
 * (the default): droppable messages are refused only by coalescing. */
#define CQ_DROPPED 1
void cq_set_limit(cq *q, int limit);
int cq_post_droppable(cq *q, int type, void *data, void (*free_data)(void *), int64_t num);
/* As cq_post_droppable without the coalescing: refused (CQ_DROPPED, data
 * freed) only while the queue holds `limit` or more messages. For what may
 * be lost under overload but not merged (one executor's report must not
 * stand in for another's). */
int cq_post_bounded(cq *q, int type, void *data, void (*free_data)(void *), int64_t num);
/* As cq_post_bounded, but the consumer is not woken: the message is taken
 * at its next wake-up (another post, or the end of its cq_take timeout), in
 * order with the rest. For the frequent and unhurried (1,000 executors
 * report 200 times a second: one wake-up each was a third of the leader's
 * steady CPU, bench/scale); only for a consumer whose waits are bounded. */
int cq_post_lazy(cq *q, int type, void *data, void (*free_data)(void *), int64_t num);
/* Droppable messages refused so far. */
long cq_dropped(cq *q);
void cq_msg_free(cq_msg *m);
int cq_length(cq *q);

#endif
