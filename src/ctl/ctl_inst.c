/* ctl_inst.c -- the installation mcmctl talks to: its replicas, its leader,
 * and operator calls that may have to be redirected to the leader.
 *
 * Replicas: the --url list (in order; "host:port" means http://host:port),
 * then the election members found through --zk (lowest sequence, the
 * leader, first), duplicates dropped. Without either: http://127.0.0.1:8080
 * (mcm-scheduler's default --http-listen).
 *
 * Reads go to the first replica that answers, starting with the one that
 * answered last, so a dead replica costs one connection attempt per run.
 *
 * Operator calls and the 307 (README "HTTP API": a follower answers a POST
 * with 307 and the leader's URL). curl never follows it (ctl_http.c); this
 * file does, and sends the admin token ONLY to replicas of this installation.
 * A redirect target is accepted when its origin (scheme://host:port) is
 *   1. a replica from --url or from ZooKeeper's election members, or
 *   2. the leader the redirecting replica names on GET /v1/leader, AND that
 *      target itself answers GET /v1/leader (no token sent) with the same
 *      identity (id, pid, started) and /v1/status with role "leader".
 * Anything else is refused before the token leaves mcmctl ("not a replica of
 * this installation"). A confirmed leader joins the list (CTL_FROM_LEADER).
 *
 * Thread: main. Invariant: every request that carries the token goes to a
 * URL whose origin is in c->rep. */
#include "ctl.h"
#include "mcm.h"
#include "mesos_http.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_DEFAULT_URL "http://127.0.0.1:8080"
#define CTL_TOKEN_MAX 4096

/* Index of the replica whose origin equals url's, -1 if none (the Mesos
 * client's rule: scheme, host case-insensitively, port; no userinfo). */
static int find_origin(const ctl *c, const char *url) {
    for (int i = 0; url && i < c->nrep; i++)
        if (mesos_http_same_origin(url, c->rep[i].url)) return i;
    return -1;
}

/* Appends url (trailing '/' dropped) unless its origin is already listed. */
static int add_replica(ctl *c, const char *url, ctl_origin from, char *err, size_t errlen) {
    char base[CTL_URL_MAX], origin[CTL_URL_MAX];
    snprintf(base, sizeof(base), "%s%s", strstr(url, "://") ? "" : "http://", url);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') base[--n] = 0;
    if (ctl_url_origin(base, origin, sizeof(origin)) != MCM_OK) {
        snprintf(err, errlen, "'%s' is not an http:// URL", url);
        return MCM_ERR;
    }
    if (find_origin(c, base) >= 0) return MCM_OK;
    ctl_replica *grown = realloc(c->rep, sizeof(*c->rep) * (size_t)(c->nrep + 1));
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        return MCM_ERR;
    }
    c->rep = grown;
    snprintf(c->rep[c->nrep].url, sizeof(c->rep[c->nrep].url), "%s", base);
    c->rep[c->nrep++].from = from;
    return MCM_OK;
}

static int add_url_list(ctl *c, const char *list) {
    char err[CTL_ERR_MAX];
    char *copy = strdup(list), *save = NULL;
    int rc = copy ? MCM_OK : MCM_ERR;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == MCM_OK; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        if (*tok && (rc = add_replica(c, tok, CTL_FROM_FLAG, err, sizeof(err))) != MCM_OK)
            ctl_fail("--url: %s (give http://host:port[,http://host:port...])", err);
    }
    free(copy);
    return rc;
}

static int add_zk_members(ctl *c, char *err, size_t errlen) {
    json_t *arr = ctl_zk_members(&c->zk, c->request_ms, err, errlen), *m;
    size_t i;
    if (!arr) return MCM_ERR;
    json_array_foreach(arr, i, m) {
        if (add_replica(c, json_string_value(json_object_get(m, "http")), CTL_FROM_ZK, err, errlen) != MCM_OK) {
            json_decref(arr);
            return MCM_ERR;
        }
    }
    json_decref(arr);
    return MCM_OK;
}

int ctl_inst_init(ctl *c) {
    char err[CTL_ERR_MAX];
    if (c->token_file) {
        c->token = util_read_file(c->token_file, CTL_TOKEN_MAX, err, sizeof(err));
        if (!c->token || !c->token[0]) {
            ctl_fail("--admin-token-file %s: %s", c->token_file, c->token ? "empty" : err);
            return CTL_EXIT_USAGE;
        }
    }
    if (c->url_flag && add_url_list(c, c->url_flag) != MCM_OK) return CTL_EXIT_USAGE;
    if (c->zk.hosts && add_zk_members(c, err, sizeof(err)) != MCM_OK && c->nrep == 0) {
        ctl_fail("cannot reach any replica: %s", err);
        return CTL_EXIT_FAILED;
    }
    if (c->nrep == 0 && add_replica(c, CTL_DEFAULT_URL, CTL_FROM_FLAG, err, sizeof(err)) != MCM_OK) {
        ctl_fail("%s", err);
        return CTL_EXIT_FAILED;
    }
    return CTL_EXIT_OK;
}

void ctl_inst_free(ctl *c) {
    if (c->token) memset(c->token, 0, strlen(c->token));
    free(c->token);
    c->token = NULL;
    free(c->rep);
    c->rep = NULL;
    c->nrep = 0;
}

/* --- reads -------------------------------------------------------------------------- */

static int get_url(const ctl *c, const char *base, const char *path, int64_t timeout_ms, ctl_resp *out) {
    char url[CTL_URL_MAX * 2];
    snprintf(url, sizeof(url), "%s%s", base, path);
    return ctl_http("GET", url, NULL, NULL, timeout_ms, out);
}

int ctl_get_at(ctl *c, int i, const char *path, ctl_resp *out, char *err, size_t errlen) {
    if (get_url(c, c->rep[i].url, path, c->request_ms, out) == MCM_OK) return MCM_OK;
    snprintf(err, errlen, "%s: %s", c->rep[i].url, out->error);
    ctl_resp_clear(out);
    return MCM_ERR;
}

int ctl_get(ctl *c, const char *path, int64_t timeout_ms, ctl_resp *out, char *err, size_t errlen) {
    size_t used = (size_t)snprintf(err, errlen, "cannot reach any replica (");
    for (int k = 0; k < c->nrep; k++) {
        int i = (c->current + k) % c->nrep;
        if (get_url(c, c->rep[i].url, path, timeout_ms ? timeout_ms : c->request_ms, out) == MCM_OK) {
            c->current = i;
            err[0] = 0;
            return MCM_OK;
        }
        if (used < errlen)
            used += (size_t)snprintf(err + used, errlen - used, "%s%s: %s", k ? "; " : "", c->rep[i].url, out->error);
        ctl_resp_clear(out);
    }
    if (used < errlen) snprintf(err + used, errlen - used, ")");
    return MCM_ERR;
}

json_t *ctl_get_json(ctl *c, const char *path, char *err, size_t errlen) {
    ctl_resp r;
    char why[CTL_ERR_MAX];
    if (ctl_get(c, path, 0, &r, err, errlen) != MCM_OK) return NULL;
    json_t *doc = r.status == 200 ? ctl_resp_json(&r) : NULL;
    if (!doc) {
        ctl_resp_reason(&r, why, sizeof(why));
        snprintf(err, errlen, "GET %s%s: %s", c->rep[c->current].url, path, why);
    }
    ctl_resp_clear(&r);
    return doc;
}

/* --- the leader --------------------------------------------------------------------- */

/* The identity a replica reports on /v1/leader (new reference), NULL with
 * why; *answered (if given) is 1 when an HTTP answer came at all. */
static json_t *leader_identity(ctl *c, const char *base, char *why, size_t len, int *answered) {
    ctl_resp r;
    if (get_url(c, base, "/v1/leader", c->request_ms, &r) != MCM_OK) {
        snprintf(why, len, "%.300s: %.600s", base, r.error);
        return NULL;
    }
    if (answered) *answered = 1;
    json_t *id = r.status == 200 ? ctl_resp_json(&r) : NULL;
    if (!json_is_string(json_object_get(id, "http")) && !json_is_string(json_object_get(id, "url"))) {
        char reason[CTL_ERR_MAX];
        ctl_resp_reason(&r, reason, sizeof(reason));
        snprintf(why, len, "%.300s: %.600s", base, reason);
        json_decref(id);
        id = NULL;
    }
    ctl_resp_clear(&r);
    return id;
}

static const char *identity_url(json_t *id) {
    const char *u = json_string_value(json_object_get(id, "http"));
    return u ? u : json_string_value(json_object_get(id, "url"));
}

static int same_identity(json_t *a, json_t *b) {
    static const char *const keys[] = {"id", "pid", "started"};
    for (size_t k = 0; k < MCM_ARRAY_LEN(keys); k++)
        if (!json_equal(json_object_get(a, keys[k]), json_object_get(b, keys[k]))) return 0;
    return 1;
}

/* Rule 2 of the header: target (an origin not in c->rep) is the leader that
 * `claimed` describes, confirmed by the target itself. Adds it to c->rep. */
static int confirm_leader(ctl *c, const char *target, json_t *claimed) {
    char why[CTL_ERR_MAX], b[CTL_URL_MAX], e[CTL_ERR_MAX];
    const char *cu = identity_url(claimed);
    if (!cu || !mesos_http_same_origin(cu, target) || ctl_url_origin(target, b, sizeof(b)) != MCM_OK)
        return MCM_ERR;
    json_t *self = leader_identity(c, b, why, sizeof(why), NULL);
    json_t *st = NULL;
    ctl_resp r;
    if (self && same_identity(self, claimed) && get_url(c, b, "/v1/status", c->request_ms, &r) == MCM_OK) {
        st = r.status == 200 ? ctl_resp_json(&r) : NULL;
        ctl_resp_clear(&r);
    }
    const char *role = json_string_value(json_object_get(st, "role"));
    int ok = role && strcmp(role, "leader") == 0 && add_replica(c, b, CTL_FROM_LEADER, e, sizeof(e)) == MCM_OK;
    json_decref(self);
    json_decref(st);
    return ok ? MCM_OK : MCM_ERR;
}

int ctl_leader_url(ctl *c, char *buf, size_t len, char *err, size_t errlen) {
    char why[CTL_ERR_MAX];
    size_t used = (size_t)snprintf(err, errlen, "leader unknown (");
    int answered = 0;
    for (int k = 0; k < c->nrep; k++) {
        int i = (c->current + k) % c->nrep;
        json_t *id = leader_identity(c, c->rep[i].url, why, sizeof(why), &answered);
        if (id) {
            int j = find_origin(c, identity_url(id));
            if (j < 0 && confirm_leader(c, identity_url(id), id) == MCM_OK) j = c->nrep - 1;
            json_decref(id);
            if (j >= 0) {
                snprintf(buf, len, "%s", c->rep[j].url);
                return MCM_OK;
            }
            snprintf(why, sizeof(why), "%.300s names a leader that does not confirm it", c->rep[i].url);
        }
        if (used < errlen) used += (size_t)snprintf(err + used, errlen - used, "%s%s", k ? "; " : "", why);
    }
    if (!answered) {
        used = (size_t)snprintf(err, errlen, "cannot reach any replica (");
        for (int i = 0; i < c->nrep && used < errlen; i++)
            used += (size_t)snprintf(err + used, errlen - used, "%s%s", i ? ", " : "", c->rep[i].url);
    }
    if (used < errlen) snprintf(err + used, errlen - used, ")");
    return MCM_ERR;
}

json_t *ctl_leader_json(ctl *c, const char *path, char *err, size_t errlen) {
    char base[CTL_URL_MAX], why[CTL_ERR_MAX];
    if (ctl_leader_url(c, base, sizeof(base), err, errlen) != MCM_OK) return NULL;
    ctl_resp r;
    if (get_url(c, base, path, c->request_ms, &r) != MCM_OK) {
        snprintf(err, errlen, "leader %s: %s", base, r.error);
        return NULL;
    }
    json_t *doc = r.status == 200 ? ctl_resp_json(&r) : NULL;
    if (!doc) {
        ctl_resp_reason(&r, why, sizeof(why));
        snprintf(err, errlen, "GET %s%s: %s", base, path, why);
    }
    ctl_resp_clear(&r);
    return doc;
}

/* --- operator calls ------------------------------------------------------------------ */

/* The next hop for a 307 from `from`: an absolute URL in next, MCM_OK only
 * when the target is (or was just confirmed as) a replica. */
static int redirect_target(ctl *c, const char *from, const ctl_resp *r, char *next, size_t len,
                           char *err, size_t errlen) {
    char *abs = mesos_http_resolve(from, r->location);
    if (!abs) {
        snprintf(err, errlen, "%s answered 307 without a usable Location", from);
        return MCM_ERR;
    }
    snprintf(next, len, "%s", abs);
    free(abs);
    if (find_origin(c, next) >= 0) return MCM_OK;
    char origin[CTL_URL_MAX], fo[CTL_URL_MAX], why[CTL_ERR_MAX];
    ctl_url_origin(from, fo, sizeof(fo));
    json_t *claimed = leader_identity(c, fo, why, sizeof(why), NULL);
    int ok = claimed && ctl_url_origin(next, origin, sizeof(origin)) == MCM_OK &&
             confirm_leader(c, origin, claimed) == MCM_OK;
    json_decref(claimed);
    if (ok) return MCM_OK;
    snprintf(err, errlen, "refusing to follow %s's redirect to %s: not a replica of this installation "
             "(the admin token was not sent)", fo, next);
    return MCM_ERR;
}

/* One line for a final non-2xx answer. */
static void refused(const ctl *c, const char *url, const char *path, const ctl_resp *r, char *err, size_t errlen) {
    char why[CTL_ERR_MAX];
    ctl_resp_reason(r, why, sizeof(why));
    if (r->status == 401)
        snprintf(err, errlen, "token refused by %s (%s): %s", url, why,
                 c->token ? "check --admin-token-file" : "give --admin-token-file (MCM_ADMIN_TOKEN_FILE)");
    else if (r->status == 403)
        snprintf(err, errlen, "operator calls are disabled on %s (%s)", url, why);
    else if (r->status == 503 && strstr(why, "NO_LEADER"))
        snprintf(err, errlen, "leader unknown: %s answered %s", url, why);
    else
        snprintf(err, errlen, "POST %s refused by %s: %s", path, url, why);
}

/* POSTs to base+path and follows 307s; see ctl_operator. */
static int post_from(ctl *c, const char *base, const char *path, const char *body, ctl_resp *out, long *status,
                     char *err, size_t errlen) {
    char url[CTL_URL_MAX * 2];
    snprintf(url, sizeof(url), "%s%s", base, path);
    for (int hop = 0; hop <= CTL_MAX_HOPS; hop++) {
        if (ctl_http("POST", url, body ? body : "{}", c->token, c->request_ms, out) != MCM_OK) {
            snprintf(err, errlen, "POST %s: %s", url, out->error);
            ctl_resp_clear(out);
            return MCM_ERR;
        }
        *status = out->status;
        if (out->status >= 200 && out->status < 300) return MCM_OK;
        if (out->status != 307) break;
        char next[CTL_URL_MAX * 2];
        int rc = redirect_target(c, url, out, next, sizeof(next), err, errlen);
        ctl_resp_clear(out);
        if (rc != MCM_OK) return MCM_ERR;
        snprintf(url, sizeof(url), "%s", next);
    }
    char origin[CTL_URL_MAX];
    if (ctl_url_origin(url, origin, sizeof(origin)) != MCM_OK) snprintf(origin, sizeof(origin), "%.300s", url);
    if (out->status == 307) snprintf(err, errlen, "more than %d redirects from %s%s", CTL_MAX_HOPS, base, path);
    else refused(c, origin, path, out, err, errlen);
    ctl_resp_clear(out);
    return MCM_ERR;
}

int ctl_operator(ctl *c, const char *path, const char *body, ctl_resp *out, long *status,
                 char *err, size_t errlen) {
    *status = 0;
    for (int k = 0; k < c->nrep; k++) {
        int i = (c->current + k) % c->nrep;
        char base[CTL_URL_MAX];
        snprintf(base, sizeof(base), "%s", c->rep[i].url);
        if (post_from(c, base, path, body, out, status, err, errlen) == MCM_OK) return MCM_OK;
        if (*status != 0) return MCM_ERR;              /* answered: its verdict stands */
    }
    char names[CTL_ERR_MAX] = "";
    size_t used = 0;
    for (int i = 0; i < c->nrep && used < sizeof(names); i++)
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", c->rep[i].url);
    snprintf(err, errlen, "cannot reach any replica (%s)", names);
    return MCM_ERR;
}
