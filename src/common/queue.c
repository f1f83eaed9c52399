/* queue.c -- mutex + condition variable FIFO (see queue.h).
 * Shape: a singly linked list with head and tail; producers append under the
 * mutex and signal (a lazy post does not); the single consumer waits on
 * CLOCK_MONOTONIC deadlines.
 * The bound (queue.h, BOUND) applies only to droppable posts, so what must
 * not be lost is never refused, and a flood of what may be lost (heartbeats)
 * cannot grow the queue: at most one droppable message per type waits, and
 * none once `limit` messages are queued (a bounded post: only the limit).
 * Counting queued droppable messages
 * per type would need a table; a scan is enough because it stops at the
 * first match and droppable posts are rare compared with takes.
 * Threads: any producer, one consumer. Invariants: tail is NULL iff head is;
 * len is the number of messages in the list. */
#include "queue.h"
#include "util.h"
#include "mcm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct cq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cq_msg *head, *tail;
    int len;
    int limit;                        /* droppable posts refused at this length; <= 0: none */
    long dropped;
};

cq *cq_create(void) {
    cq *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    pthread_mutex_init(&q->mu, NULL);
    util_cond_init_monotonic(&q->cv);
    return q;
}

void cq_msg_free(cq_msg *m) {
    if (!m) return;
    if (m->data) (m->free_data ? m->free_data : free)(m->data);
    free(m);
}

void cq_free(cq *q) {
    if (!q) return;
    while (q->head) {
        cq_msg *m = q->head;
        q->head = m->next;
        cq_msg_free(m);
    }
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}

static void drop_data(void *data, void (*free_data)(void *)) {
    if (data) (free_data ? free_data : free)(data);
}

enum { CQ_KEEP, CQ_COALESCE, CQ_BOUND };   /* cq_msg.droppable */
#define CQ_LAZY 0x10                         /* post(): queue without waking the consumer */

/* 1 if a coalescing message of this type waits (q->mu held). */
static int waiting(const cq *q, int type) {
    for (const cq_msg *m = q->head; m; m = m->next)
        if (m->droppable == CQ_COALESCE && m->type == type) return 1;
    return 0;
}

static int post(cq *q, int type, void *data, void (*free_data)(void *), int64_t num, int how) {
    int droppable = how & ~CQ_LAZY;
    cq_msg *m = calloc(1, sizeof(*m));
    if (!m) {
        drop_data(data, free_data);
        return MCM_ERR;
    }
    m->type = type;
    m->data = data;
    m->free_data = free_data;
    m->num = num;
    m->droppable = droppable;
    pthread_mutex_lock(&q->mu);
    if (droppable != CQ_KEEP &&
        ((q->limit > 0 && q->len >= q->limit) || (droppable == CQ_COALESCE && waiting(q, type)))) {
        q->dropped++;
        pthread_mutex_unlock(&q->mu);
        cq_msg_free(m);
        return CQ_DROPPED;
    }
    if (q->tail) q->tail->next = m;
    else q->head = m;
    q->tail = m;
    q->len++;
    if (!(how & CQ_LAZY)) pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return MCM_OK;
}

int cq_post(cq *q, int type, void *data, void (*free_data)(void *), int64_t num) {
    return post(q, type, data, free_data, num, CQ_KEEP);
}

int cq_post_droppable(cq *q, int type, void *data, void (*free_data)(void *), int64_t num) {
    return post(q, type, data, free_data, num, CQ_COALESCE);
}

int cq_post_bounded(cq *q, int type, void *data, void (*free_data)(void *), int64_t num) {
    return post(q, type, data, free_data, num, CQ_BOUND);
}

int cq_post_lazy(cq *q, int type, void *data, void (*free_data)(void *), int64_t num) {
    return post(q, type, data, free_data, num, CQ_BOUND | CQ_LAZY);
}

void cq_set_limit(cq *q, int limit) {
    pthread_mutex_lock(&q->mu);
    q->limit = limit;
    pthread_mutex_unlock(&q->mu);
}

long cq_dropped(cq *q) {
    pthread_mutex_lock(&q->mu);
    long n = q->dropped;
    pthread_mutex_unlock(&q->mu);
    return n;
}

cq_msg *cq_take(cq *q, int64_t timeout_ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
    }
    pthread_mutex_lock(&q->mu);
    while (!q->head && timeout_ms != 0) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->cv, &q->mu)
                                : pthread_cond_timedwait(&q->cv, &q->mu, &deadline);
        if (rc == ETIMEDOUT) break;
    }
    cq_msg *m = q->head;
    if (m) {
        q->head = m->next;
        if (!q->head) q->tail = NULL;
        q->len--;
        m->next = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    return m;
}

int cq_length(cq *q) {
    pthread_mutex_lock(&q->mu);
    int n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}
