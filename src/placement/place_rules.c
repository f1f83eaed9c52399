/* place_rules.c -- parsing Marathon's constraint language into a rule set.
 *
 * Shape: "field:OPERATOR[:value]" is split at the first two colons (a
 * regex value may hold more), the operator looked up in a table keyed by
 * name, and each operator's value rule checked by one small function, so
 * every error names the constraint and what is wrong with it. The rules
 * Marathon's API validation applies (SchedulingValidation.scala) are kept:
 * UNIQUE takes no value, GROUP_BY an optional integer, MAX_PER an integer,
 * LIKE/UNLIKE a non-empty valid regex, IS a Mesos text or scalar literal.
 *
 * Threads: see place.h. Invariants: a place_rules only ever holds
 * constraints that parsed; a failed place_rules_add leaves it unchanged. */
#include "place_int.h"

#include "mcm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLACE_IS_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.-"
#define PLACE_COUNT_MAX 1000000L     /* more than any fleet */

static const struct {
    place_op op;
    const char *name;
} op_names[] = {
    {PLACE_OP_UNIQUE, "UNIQUE"},   {PLACE_OP_CLUSTER, "CLUSTER"}, {PLACE_OP_GROUP_BY, "GROUP_BY"},
    {PLACE_OP_LIKE, "LIKE"},       {PLACE_OP_UNLIKE, "UNLIKE"},   {PLACE_OP_MAX_PER, "MAX_PER"},
    {PLACE_OP_IS, "IS"},
};

static const char *op_name(place_op op) {
    for (size_t i = 0; i < MCM_ARRAY_LEN(op_names); i++)
        if (op_names[i].op == op) return op_names[i].name;
    return "?";
}

place_rules *place_rules_new(void) {
    place_rules *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->zone_spread = 1;
    r->agent_con.field = PLACE_F_AGENT;
    r->agent_con.op = PLACE_OP_MAX_PER;
    return r;
}

static void con_clear(place_con *c) {
    free(c->attr);
    free(c->value);
    free(c->text);
    if (c->has_re) regfree(&c->re);
    memset(c, 0, sizeof(*c));
}

void place_rules_free(place_rules *r) {
    if (!r) return;
    for (int i = 0; i < r->ncon; i++) con_clear(&r->con[i]);
    free(r);
}

void place_rules_zone_spread(place_rules *r, int on) { r->zone_spread = on != 0; }

void place_rules_max_per_agent(place_rules *r, int n) {
    r->max_per_agent = n > 0 ? n : 0;
    r->agent_con.count = r->max_per_agent;
}

int place_rules_count(const place_rules *r) { return r->ncon; }

const char *place_rules_text(const place_rules *r, int i) {
    return i >= 0 && i < r->ncon ? r->con[i].text : "";
}

int place_rules_spreads_zones(const place_rules *r) {
    if (!r->zone_spread) return 0;
    for (int i = 0; i < r->ncon; i++)
        if (r->con[i].field == PLACE_F_ZONE) return 0;
    return 1;
}

static int fail(char *err, size_t errlen, const char *text, const char *what) {
    snprintf(err, errlen, "constraint '%s': %s", text, what);
    return MCM_ERR;
}

/* A decimal count in [min, PLACE_COUNT_MAX]; MCM_ERR if not. */
static int parse_count(const char *s, long min, long *out) {
    if (!*s) return MCM_ERR;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !(p == s && *p == '-')) return MCM_ERR;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno || v < min || v > PLACE_COUNT_MAX) return MCM_ERR;
    *out = v;
    return MCM_OK;
}

static int parse_field(place_con *c, const char *field, char *what, size_t wlen) {
    if (!*field) return snprintf(what, wlen, "the field is empty (hostname, @region, @zone or an attribute)"), MCM_ERR;
    if (!strcmp(field, "hostname") || !strcmp(field, "@hostname")) c->field = PLACE_F_HOSTNAME;
    else if (!strcmp(field, "@region")) c->field = PLACE_F_REGION;
    else if (!strcmp(field, "@zone")) c->field = PLACE_F_ZONE;
    else if (field[0] == '@')
        return snprintf(what, wlen, "unknown field %.64s (the @ fields are @hostname, @region and @zone)", field),
               MCM_ERR;
    else {
        c->field = PLACE_F_ATTR;
        c->attr = strdup(field);
        if (!c->attr) return snprintf(what, wlen, "out of memory"), MCM_ERR;
    }
    return MCM_OK;
}

static int compile_re(place_con *c, char *what, size_t wlen) {
    regex_t probe;
    int rc = regcomp(&probe, c->value, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &probe, msg, sizeof(msg));
        snprintf(what, wlen, "bad regular expression '%s': %s", c->value, msg);
        return MCM_ERR;
    }
    regfree(&probe);
    size_t n = strlen(c->value) + 5;
    char *full = malloc(n);
    if (!full) return snprintf(what, wlen, "out of memory"), MCM_ERR;
    snprintf(full, n, "^(%s)$", c->value);   /* a full match, as Java's matches() */
    rc = regcomp(&c->re, full, REG_EXTENDED | REG_NOSUB);
    free(full);
    if (rc != 0) return snprintf(what, wlen, "bad regular expression '%s'", c->value), MCM_ERR;
    c->has_re = 1;
    return MCM_OK;
}

/* The operator's rule for its value; MCM_ERR with `what` filled. */
static int check_value(place_con *c, int has_value, char *what, size_t wlen) {
    const char *v = has_value ? c->value : NULL;
    const char *name = op_name(c->op);
    switch (c->op) {
    case PLACE_OP_UNIQUE:
        if (v) return snprintf(what, wlen, "UNIQUE takes no value"), MCM_ERR;
        return MCM_OK;
    case PLACE_OP_CLUSTER:
        if (v && !*v) return snprintf(what, wlen, "CLUSTER's value is empty (leave out the ':')"), MCM_ERR;
        return MCM_OK;
    case PLACE_OP_GROUP_BY:
        if (v && parse_count(v, 0, &c->count) != MCM_OK)
            return snprintf(what, wlen, "GROUP_BY takes a group count (an integer >= 0) or no value, not '%s'", v),
                   MCM_ERR;
        return MCM_OK;
    case PLACE_OP_MAX_PER:
        if (!v) return snprintf(what, wlen, "MAX_PER needs a count (field:MAX_PER:n)"), MCM_ERR;
        if (parse_count(v, 1, &c->count) != MCM_OK)
            return snprintf(what, wlen, "MAX_PER's count must be an integer >= 1, not '%s'", v), MCM_ERR;
        return MCM_OK;
    case PLACE_OP_LIKE:
    case PLACE_OP_UNLIKE:
        if (!v || !*v) return snprintf(what, wlen, "%s needs a regular expression (field:%s:regex)", name, name), MCM_ERR;
        return compile_re(c, what, wlen);
    case PLACE_OP_IS:
        if (!v || !*v) return snprintf(what, wlen, "IS needs a value (field:IS:value)"), MCM_ERR;
        if (strspn(v, PLACE_IS_CHARS) != strlen(v))
            return snprintf(what, wlen, "IS takes a Mesos text or scalar ([a-zA-Z0-9_/.-]), not '%s'", v), MCM_ERR;
        return MCM_OK;
    default:
        return snprintf(what, wlen, "unknown operator"), MCM_ERR;
    }
}

static int parse_op(place_con *c, const char *op, char *what, size_t wlen) {
    for (size_t i = 0; i < MCM_ARRAY_LEN(op_names); i++)
        if (!strcasecmp(op, op_names[i].name)) {
            c->op = op_names[i].op;
            return MCM_OK;
        }
    if (!*op) snprintf(what, wlen, "the operator is missing (field:OPERATOR[:value])");
    else snprintf(what, wlen, "unknown operator '%.64s' (UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS)", op);
    return MCM_ERR;
}

static int parse_con(place_con *c, const char *text, char *what, size_t wlen) {
    const char *c1 = strchr(text, ':');
    if (!c1) return snprintf(what, wlen, "expected field:OPERATOR[:value]"), MCM_ERR;
    const char *c2 = strchr(c1 + 1, ':');
    char field[PLACE_TEXT_MAX], op[PLACE_TEXT_MAX];
    size_t flen = (size_t)(c1 - text), oplen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    if (flen >= sizeof(field) || oplen >= sizeof(op)) return snprintf(what, wlen, "too long"), MCM_ERR;
    memcpy(field, text, flen);
    field[flen] = '\0';
    memcpy(op, c1 + 1, oplen);
    op[oplen] = '\0';
    if (parse_field(c, field, what, wlen) != MCM_OK || parse_op(c, op, what, wlen) != MCM_OK) return MCM_ERR;
    c->value = c2 ? strdup(c2 + 1) : NULL;
    if (c2 && !c->value) return snprintf(what, wlen, "out of memory"), MCM_ERR;
    if (check_value(c, c2 != NULL, what, wlen) != MCM_OK) return MCM_ERR;
    size_t n = strlen(text) + 16;
    c->text = malloc(n);
    if (!c->text) return snprintf(what, wlen, "out of memory"), MCM_ERR;
    snprintf(c->text, n, "%s:%s%s%s", field, op_name(c->op), c->value ? ":" : "", c->value ? c->value : "");
    return MCM_OK;
}

int place_rules_add(place_rules *r, const char *text, char *err, size_t errlen) {
    if (!text) text = "";
    if (r->ncon >= PLACE_CONSTRAINTS_MAX) return fail(err, errlen, text, "too many constraints");
    place_con c;
    memset(&c, 0, sizeof(c));
    char what[PLACE_TEXT_MAX];
    if (parse_con(&c, text, what, sizeof(what)) != MCM_OK) {
        con_clear(&c);
        return fail(err, errlen, text, what);
    }
    r->con[r->ncon++] = c;
    return MCM_OK;
}

void place_rules_describe(const place_rules *r, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->ncon && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", r->con[i].text);
    if (n < len && r->max_per_agent)
        n += (size_t)snprintf(buf + n, len - n, "%smax %d per agent", n ? "; " : "", r->max_per_agent);
    if (n < len && place_rules_spreads_zones(r)) n += (size_t)snprintf(buf + n, len - n, "%szone spread", n ? "; " : "");
    if (n == 0) snprintf(buf, len, "none");
}

void place_format_scalar(double v, char *buf, size_t len) {
    /* glibc rounds the exact binary value, ties to even: what Java's
     * DecimalFormat("0.###") with HALF_EVEN does. */
    snprintf(buf, len, "%.3f", v);
    char *dot = strchr(buf, '.');
    if (!dot) return;
    char *end = buf + strlen(buf) - 1;
    while (end > dot && *end == '0') *end-- = '\0';
    if (end == dot) *end = '\0';
    if (!strcmp(buf, "-0")) snprintf(buf, len, "0");
}
