/* place_mesos.h -- a Mesos offer as the placement module sees it.
 *
 * place_agent_from_offer fills a place_agent from an Offer: agent ID,
 * hostname, each attribute's value formatted as Marathon's getValueString
 * does (TEXT as is, SCALAR with place_format_scalar, RANGES "[b-e,...]"
 * sorted by begin, SET "{a,b}" sorted), and the DomainInfo fault domain.
 * Pure; the buffer holds every string, so the place_agent lives as long as
 * the buffer (not the offer). Threads: any. */
#ifndef MCM_PLACE_MESOS_H
#define MCM_PLACE_MESOS_H

#include "place.h"

#include "mesos/v1/mesos.pb-c.h"

#define PLACE_ATTRS_MAX 32
#define PLACE_AGENT_TEXT_MAX 4096

typedef struct place_agent_buf {
    place_agent agent;
    place_attr attrs[PLACE_ATTRS_MAX];
    char text[PLACE_AGENT_TEXT_MAX];     /* the strings the above point into */
    size_t used;
} place_agent_buf;

/* MCM_OK, or MCM_ERR if the offer has more than PLACE_ATTRS_MAX attributes
 * or its strings do not fit (buf then holds what fitted; those left out are
 * missing, which only UNLIKE admits). */
int place_agent_from_offer(const Mesos__V1__Offer *o, place_agent_buf *buf);

#endif
