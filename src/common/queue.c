/* queue.c -- mutex + condition variable FIFO (see queue.h).
 * Shape: a singly linked list with head and tail; producers append under the
 * mutex and signal; the single consumer waits on CLOCK_MONOTONIC deadlines.
 * Threads: any producer, one consumer. Invariant: tail is NULL iff head is. */
#include "queue.h"
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
};

cq *cq_create(void) {
    cq *q = calloc(1, sizeof(*q));
    pthread_condattr_t attr;
    if (!q) return NULL;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &attr);
    pthread_condattr_destroy(&attr);
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

int cq_post(cq *q, int type, void *data, void (*free_data)(void *), int64_t num) {
    cq_msg *m = calloc(1, sizeof(*m));
    if (!m) {
        if (data) (free_data ? free_data : free)(data);
        return MCM_ERR;
    }
    m->type = type;
    m->data = data;
    m->free_data = free_data;
    m->num = num;
    pthread_mutex_lock(&q->mu);
    if (q->tail) q->tail->next = m;
    else q->head = m;
    q->tail = m;
    q->len++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return MCM_OK;
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
