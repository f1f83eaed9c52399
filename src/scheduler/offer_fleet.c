/* offer_fleet.c -- a Mesos offer as the fleet sees it (see offer_fleet.h).
 * Threads: any. */
#define LOG_COMPONENT "offers"
#include "offer_fleet.h"
#include "log.h"
#include "mcm.h"

void offer_to_fleet(const Mesos__V1__Offer *o, const offer_need *need, const char *task_id, offer_launch *ol,
                    place_agent_buf *pa, fleet_offer *fo) {
    char why[256];
    *fo = (fleet_offer){o->id->value, o->agent_id->value, o->hostname, 0, 0, task_id, &pa->agent};
    if (place_agent_from_offer(o, pa) != MCM_OK)
        log_warn("offer %s from %s: more attributes than mcm keeps (%d) or too long; those left out count as "
                 "missing for --constraint", o->id->value, o->hostname, PLACE_ATTRS_MAX);
    if (offer_match(o, need, ol, why, sizeof(why)) == MCM_OK) {
        fo->fits = 1;
        fo->port = ol->port;
    } else {
        log_verbose("offer %s from %s does not fit: %s", o->id->value, o->hostname, why);
    }
}
