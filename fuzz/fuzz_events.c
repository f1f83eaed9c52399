/* fuzz_events.c -- libFuzzer target: the scheduler's handling of decoded
 * Mesos events, beyond unpacking: hostile offers (odd host names and IDs,
 * attributes, fault domains, huge offer lists), status updates for tasks it
 * never launched, executor messages.
 *
 * Input: a sequence of chunks, each a 2-byte big-endian length and a packed
 * mesos.v1.scheduler.Event. Each chunk that unpacks goes to a fresh leading
 * fleet (fleet.h) as the core gives it: OFFERS through offer_to_fleet (the
 * scheduler's own translation), UPDATE as a fleet_status, MESSAGE through
 * fleet_on_executor_message; a tick follows every event, and every action
 * is answered as done, so later chunks meet the state earlier ones made.
 *
 * Checked beyond no crash/leak/UB: a LAUNCH names an offer of the event
 * that fits, the offer's agent, and a port the match chose; an event never
 * plans more launches than servers are missing; the fleet never has more
 * active servers than desired plus those it is replacing (at most desired
 * again). Threads: one. */
#include "fleet.h"
#include "mesos/v1/scheduler/scheduler.pb-c.h"
#include "mcm.h"
#include "offer_fleet.h"
#include "place_mesos.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESIRED 3
#define MAX_OFFERS 4096

static const char *constraints[] = {"hostname:UNIQUE", "rack:GROUP_BY"};

/* Answers every action as done; what that decides is answered too (bounded). */
static void answer(fleet *f, fleet_actions *l, fleet_clock now) {
    for (int round = 0; round < 4 && l->n; round++) {
        fleet_actions more;
        fleet_actions_init(&more);
        for (int i = 0; i < l->n; i++) {
            fleet_action *a = &l->v[i];
            if (a->kind == FA_PUT_TASK || a->kind == FA_DELETE_TASK) fleet_stored(f, a, 1, now);
            else fleet_done(f, a, 1, NULL, now, &more);
        }
        fleet_actions_clear(l);
        *l = more;
    }
    fleet_actions_clear(l);
}

static void check_launches(const fleet_actions *l, const fleet_offer *fo, int n, int missing) {
    int launches = 0;
    for (int i = 0; i < l->n; i++) {
        const fleet_action *a = &l->v[i];
        if (a->kind != FA_LAUNCH) continue;
        launches++;
        if (a->offer < 0 || a->offer >= n || !fo[a->offer].fits) abort();
        if (strcmp(a->task.agent_id, fo[a->offer].agent_id) || a->port != fo[a->offer].port) abort();
    }
    if (launches > (missing > 0 ? missing : 0)) abort();
}

static void on_offers(fleet *f, Mesos__V1__Scheduler__Event__Offers *ev, fleet_clock now) {
    size_t n = ev->n_offers < MAX_OFFERS ? ev->n_offers : MAX_OFFERS;
    if (!n) return;
    fleet_offer *fo = calloc(n, sizeof(*fo));
    offer_launch *ol = calloc(n, sizeof(*ol));
    place_agent_buf *pa = calloc(n, sizeof(*pa));
    char (*ids)[TT_ID_MAX] = calloc(n, sizeof(*ids));
    offer_need need;
    offer_need_init(&need, 0.5, 128);
    for (size_t i = 0; fo && ol && pa && ids && i < n; i++) {
        snprintf(ids[i], TT_ID_MAX, "mcm-fuzz-%zu", i);
        offer_to_fleet(ev->offers[i], &need, ids[i], &ol[i], &pa[i], &fo[i]);
    }
    if (fo && ol && pa && ids) {
        int missing = fleet_desired(f) - fleet_active(f);
        fleet_actions l;
        fleet_actions_init(&l);
        fleet_on_offers(f, fo, (int)n, now, &l);
        check_launches(&l, fo, (int)n, missing);
        answer(f, &l, now);
    }
    for (size_t i = 0; ol && i < n; i++) offer_launch_clear(&ol[i]);
    free(fo);
    free(ol);
    free(pa);
    free(ids);
}

static void on_update(fleet *f, const Mesos__V1__TaskStatus *st, fleet_clock now) {
    fleet_status fs = {st->task_id->value, st->agent_id ? st->agent_id->value : NULL, (int)st->state, st->message,
                       st->has_uuid ? st->uuid.data : NULL, st->has_uuid ? st->uuid.len : 0};
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_update(f, &fs, now, &l);
    answer(f, &l, now);
}

static void on_event(fleet *f, const Mesos__V1__Scheduler__Event *ev, fleet_clock now) {
    fleet_actions l;
    fleet_actions_init(&l);
    if (ev->type == MESOS__V1__SCHEDULER__EVENT__TYPE__OFFERS && ev->offers) on_offers(f, ev->offers, now);
    else if (ev->type == MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE && ev->update) on_update(f, ev->update->status, now);
    else if (ev->type == MESOS__V1__SCHEDULER__EVENT__TYPE__MESSAGE && ev->message)
        fleet_on_executor_message(f, ev->message->data.data, ev->message->data.len, now, &l);
    answer(f, &l, now);
    fleet_tick(f, now, &l);
    answer(f, &l, now);
    if (fleet_active(f) > 2 * fleet_desired(f)) abort();
}

static fleet *leading(fleet_clock now) {
    fleet_config c = {0.5, 128, 1, 30.0, 30000, 3600000, 10000, 60000, {{0}, 0, 0}, constraints, 2, 1, 60000};
    fleet *f = fleet_new(&c);
    if (!f) return NULL;
    fleet_actions l;
    fleet_actions_init(&l);
    if (fleet_begin_term(f, NULL, 0, DESIRED) != MCM_OK) abort();
    fleet_on_subscribed(f, now, &l);
    answer(f, &l, now);
    fleet_tick(f, now, &l);
    answer(f, &l, now);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fleet_clock now = {1000000, 1700000000000LL};
    fleet *f = leading(now);
    if (!f) return 0;
    while (size >= 2) {
        size_t len = (size_t)data[0] << 8 | data[1];
        data += 2;
        size -= 2;
        if (len > size) len = size;
        Mesos__V1__Scheduler__Event *ev = mesos__v1__scheduler__event__unpack(NULL, len, data);
        if (ev) on_event(f, ev, now);
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
        data += len;
        size -= len;
        now.mono_ms += 1000;
        now.wall_ms += 1000;
    }
    fleet_free(f);
    return 0;
}
