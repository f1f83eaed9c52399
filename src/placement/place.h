/* place.h -- where servers may go: Marathon's constraint language, zone
 * spread over fault domains, the per-agent limit, and which server a step
 * down removes.
 *
 * PURE: no clock, no I/O, no globals, no logging. Figures in, a verdict out
 * (in the style of policy.h): the scheduler builds a place_view of the
 * servers already placed and asks about one offer, or about one victim.
 *
 * THE LANGUAGE (what operators know from Marathon; one constraint per
 * --constraint flag, all must hold):
 *     field:OPERATOR[:value]
 *   field      `hostname` (or `@hostname`), `@region`, `@zone` (the offer's
 *              DomainInfo fault domain), or any agent attribute name.
 *   OPERATOR   (case-insensitive, as Marathon upper-cases it)
 *     UNIQUE          no value. No two servers share the field's value.
 *     CLUSTER[:v]     with v: the value must be v. Without: every server has
 *                     the value of the first one placed (any, for the first).
 *     GROUP_BY[:n]    n >= 0, optional. Marathon's minimum-group rule (1.x,
 *                     before 1.10's "preemptive" change): an offer whose value
 *                     has no server yet is admitted; otherwise it is admitted
 *                     only when at least n groups exist and its group is one
 *                     of the smallest. Placed servers that lack the field form
 *                     one group of their own (Marathon groups by Option).
 *     LIKE:re         the value matches re in full (POSIX extended regex;
 *                     Marathon uses Java's String.matches, also a full match).
 *     UNLIKE:re       the value does not match re in full.
 *     MAX_PER:n       n >= 1. At most n servers per value.
 *     IS:v            the value is v (v: [a-zA-Z0-9_/.-]+; a number is
 *                     compared as Mesos scalars are, to the thousandth).
 *   A MISSING FIELD (the agent has no such attribute, or no fault domain for
 *   @region/@zone): only UNLIKE admits the offer (Marathon's rule).
 *   VALUES are compared as Marathon formats them: text as is, scalars with
 *   at most three decimals (half-even, trailing zeros dropped: 1.50 -> "1.5"),
 *   ranges "[b-e,...]" sorted, sets "{a,b}" sorted. place_format_scalar does
 *   the scalar form; the caller formats ranges and sets.
 *   Deviation: a field starting with '@' other than the three above is an
 *   error (Marathon would take it as an attribute name; here it is a typo).
 *
 * ZONE SPREAD (on by default; place_rules_zone_spread): when the offer has a
 * zone, the servers spread evenly over the zones the caller says have room
 * (place_view.zones, plus the offer's own zone and the zones of placed
 * servers). With N = desired servers and Z zones, each zone may hold
 * floor(N/Z) servers, and N mod Z zones one more: losing a zone loses at most
 * ceil(N/Z). An offer in a zone at its share is declined; some other zone
 * then still has room (the shares add up to N). The caller decides what
 * "room" means: zones with live agents whose offers fit, seen lately, so a
 * zone that is gone or full does not hold the fleet back. Any explicit
 * constraint on @zone replaces the default spread.
 *
 * PER-AGENT LIMIT (place_rules_max_per_agent, the scheduler's --max-per-agent):
 * MAX_PER counted by agent ID; on a cluster with one agent per host it is
 * hostname:MAX_PER:n.
 *
 * STEP DOWN (place_victim), one server at a time, in this order:
 *   1. servers whose agent no longer satisfies an offer-only constraint
 *      (LIKE, UNLIKE, IS, CLUSTER:v, a missing field) go first;
 *   2. GROUP_BY is never broken when another choice keeps it: a candidate
 *      must leave every GROUP_BY distribution with a spread (largest group -
 *      smallest) of at most 1, or smaller than before (Marathon's
 *      isMoreEvenWithout); if no server qualifies, all do;
 *   3. with zone spread, from the fullest zone;
 *   4. Marathon's order: members of the largest group of the most uneven
 *      GROUP_BY first, then the order the caller gave (the scheduler passes
 *      its own preference, e.g. the least memory in use first).
 * UNIQUE, MAX_PER and CLUSTER cannot be broken by removing a server.
 *
 * Threads: none shared. A place_rules is built once (core thread) and then
 * only read; reading it from several threads at once is safe.
 * Ownership: rules copy the constraint text; views and agents are the
 * caller's and only read during the call. */
#ifndef MCM_PLACE_H
#define MCM_PLACE_H

#include <stddef.h>

#define PLACE_CONSTRAINTS_MAX 32     /* --constraint flags */
#define PLACE_TEXT_MAX 256           /* verdict text */
#define PLACE_SCALAR_MAX 64          /* place_format_scalar buffer */

typedef struct place_rules place_rules;

typedef struct place_attr {
    const char *name;
    const char *value;               /* formatted as Marathon does (see above) */
} place_attr;

/* An agent: the offer's, or the one a placed server runs on. */
typedef struct place_agent {
    const char *agent_id;
    const char *hostname;
    const place_attr *attrs;
    int nattrs;
    const char *region, *zone;       /* DomainInfo fault domain; NULL: none */
} place_agent;

typedef struct place_server {
    const char *task_id;
    place_agent agent;
} place_server;

typedef struct place_view {
    const place_server *placed;      /* running and launching servers (and those
                                      * planned in this round), not draining ones */
    int nplaced;
    int desired;                     /* servers wanted once this decision is done */
    const char *const *zones;        /* zones with room (see ZONE SPREAD) */
    int nzones;
} place_view;

typedef enum place_rule_kind {
    PLACE_RULE_NONE = 0,             /* admitted */
    PLACE_RULE_CONSTRAINT,           /* an operator constraint; `index` says which */
    PLACE_RULE_ZONE_SPREAD,
    PLACE_RULE_MAX_PER_AGENT,
} place_rule_kind;

typedef struct place_verdict {
    int ok;                          /* place_admit: admitted; place_victim: found */
    place_rule_kind rule;            /* admit: what declined; victim: what chose */
    int index;                       /* constraint index, -1 if not a constraint */
    char text[PLACE_TEXT_MAX];       /* e.g. "rack:GROUP_BY:3: group r1 has 2, smallest 1" */
} place_verdict;

/* Empty rules: zone spread on, no per-agent limit, no constraint. NULL if
 * out of memory. */
place_rules *place_rules_new(void);
void place_rules_free(place_rules *r);                      /* NULL-safe */

/* Parses one constraint and adds it. MCM_ERR with the constraint and what is
 * wrong in err (unknown operator, missing or extra value, bad regex, bad
 * count, empty or unknown field, too many constraints); r is unchanged. */
int place_rules_add(place_rules *r, const char *text, char *err, size_t errlen);
void place_rules_zone_spread(place_rules *r, int on);
void place_rules_max_per_agent(place_rules *r, int n);       /* n <= 0: no limit */

int place_rules_count(const place_rules *r);
/* The constraint as given (normalised operator), "" if i is out of range. */
const char *place_rules_text(const place_rules *r, int i);
/* Zone spread in effect (on, and no explicit @zone constraint). */
int place_rules_spreads_zones(const place_rules *r);
/* "hostname:UNIQUE, rack:GROUP_BY:3; max 1 per agent; zone spread" into buf. */
void place_rules_describe(const place_rules *r, char *buf, size_t len);

/* May one more server go on `offer`? Fills *out (always); returns out->ok. */
int place_admit(const place_rules *r, const place_view *v, const place_agent *offer, place_verdict *out);
/* As place_admit without the zone spread: could the offer's zone take a
 * server at all? The scheduler asks it to learn which zones have room
 * (place_view.zones): a zone whose agents all break a constraint has none. */
int place_admit_any_zone(const place_rules *r, const place_view *v, const place_agent *offer, place_verdict *out);

/* Which of v->placed to remove on a step down: its index, or -1 if there
 * is none (out->ok 0). v->desired is the count after the step. */
int place_victim(const place_rules *r, const place_view *v, place_verdict *out);

/* A Mesos scalar as Marathon prints it ("0.###", half-even): 1 -> "1",
 * 1.50 -> "1.5", 0.8001 -> "0.8". buf must hold PLACE_SCALAR_MAX. */
void place_format_scalar(double v, char *buf, size_t len);

#endif
