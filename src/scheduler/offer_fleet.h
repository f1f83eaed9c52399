/* offer_fleet.h -- one Mesos offer translated into the fleet's input.
 *
 * The one place an offer from the master becomes a fleet_offer (fleet.h):
 * whether one server fits (offer.h: the matched resources go to *ol), the
 * port it matched, the agent's attributes and fault domain for placement
 * (place_mesos.h: into *pa), and the task ID a launch on it would get. The
 * core calls it for every offer it receives; the events fuzz target
 * (fuzz/fuzz_events.c) calls it on decoded hostile offers, so what the fuzzer
 * proves is what the scheduler runs.
 *
 * Ownership: *fo points into o, *pa and task_id, which must outlive it; *ol
 * is the caller's (offer_launch_clear). Threads: any; no shared state. */
#ifndef MCM_OFFER_FLEET_H
#define MCM_OFFER_FLEET_H

#include "fleet.h"
#include "offer.h"
#include "place_mesos.h"

/* Fills *fo (fits 1 if a server fits, *ol then holds what to launch with)
 * and *pa. Logs at VERBOSE why an offer does not fit, and at WARNING an agent
 * whose attributes do not all fit in *pa. */
void offer_to_fleet(const Mesos__V1__Offer *o, const offer_need *need, const char *task_id, offer_launch *ol,
                    place_agent_buf *pa, fleet_offer *fo);

#endif
