/* place_int.h -- the placement module's insides, shared by place_rules.c
 * (parsing), place_admit.c (offers) and place_victim.c (step downs).
 * Not for other modules. Threads: as place.h. */
#ifndef MCM_PLACE_INT_H
#define MCM_PLACE_INT_H

#include "place.h"

#include <regex.h>

typedef enum place_op {
    PLACE_OP_UNIQUE,
    PLACE_OP_CLUSTER,
    PLACE_OP_GROUP_BY,
    PLACE_OP_LIKE,
    PLACE_OP_UNLIKE,
    PLACE_OP_MAX_PER,
    PLACE_OP_IS,
    PLACE_OP_COUNT
} place_op;

typedef enum place_field {
    PLACE_F_HOSTNAME,
    PLACE_F_REGION,
    PLACE_F_ZONE,
    PLACE_F_ATTR,
    PLACE_F_AGENT                    /* agent ID: the per-agent limit only */
} place_field;

typedef struct place_con {
    place_field field;
    char *attr;                      /* PLACE_F_ATTR: the attribute name */
    place_op op;
    char *value;                     /* NULL: none given */
    long count;                      /* GROUP_BY (0 if none), MAX_PER */
    regex_t re;                      /* LIKE/UNLIKE: "^(value)$" */
    int has_re;
    char *text;                      /* normalised "field:OP[:value]" */
} place_con;

struct place_rules {
    place_con con[PLACE_CONSTRAINTS_MAX];
    int ncon;
    int zone_spread;
    int max_per_agent;               /* 0: none */
    place_con agent_con;             /* the per-agent limit as a MAX_PER */
};

/* The field's value on an agent, NULL if it has none. */
const char *place__value(const place_con *c, const place_agent *a);
/* 1 if the agent satisfies c without regard to other servers (LIKE,
 * UNLIKE, IS, CLUSTER with a value; a missing field fails all but UNLIKE);
 * -1 if c depends on the placed servers and the agent has the field. */
int place__offer_only(const place_con *c, const place_agent *a);
/* 1 if two (possibly NULL) values are the same. */
int place__same(const char *a, const char *b);
/* The zone spread: zone names of v and offer (deduplicated) into out; count. */
int place__zones(const place_view *v, const char *offer_zone, const char **out, int cap);

#endif
