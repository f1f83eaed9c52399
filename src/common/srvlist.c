/* srvlist.c -- encode and validate the published server list (see srvlist.h).
 *
 * Shape: jansson builds and parses the document; validation is strict about
 * what clients depend on (types, port range, host characters, list size) and
 * tolerant of extra fields so a newer writer does not break an older reader.
 * Threads: any. Invariant: a list returned by srvlist_from_json is sorted and
 * every entry passed the same checks srvlist_add applies. */
#include "srvlist.h"
#include "mcm.h"
#include "../ring/ring.h"   /* RING_NAME only: the header, not the library */

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

srvlist *srvlist_new(void) { return calloc(1, sizeof(srvlist)); }

void srvlist_free(srvlist *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        free(l->servers[i].host);
        free(l->servers[i].task_id);
    }
    free(l->servers);
    free(l);
}

static int valid_host(const char *h) {
    size_t n = strlen(h);
    if (n == 0 || n > SRVLIST_HOST_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr(".-_:", h[i])) return 0;
    return 1;
}

int srvlist_add(srvlist *l, const char *host, int port, const char *task_id) {
    if (!host || !valid_host(host) || port < 1 || port > 65535 || !task_id) return MCM_ERR;
    if (l->n >= SRVLIST_MAX_SERVERS) return MCM_ERR;
    srv_entry *grown = realloc(l->servers, sizeof(*grown) * (size_t)(l->n + 1));
    if (!grown) return MCM_ERR;
    l->servers = grown;
    srv_entry *e = &l->servers[l->n];
    e->host = strdup(host);
    e->task_id = strdup(task_id);
    e->port = port;
    if (!e->host || !e->task_id) {
        free(e->host);
        free(e->task_id);
        return MCM_ERR;
    }
    l->n++;
    return MCM_OK;
}

srvlist *srvlist_copy(const srvlist *l) {
    srvlist *c = srvlist_new();
    if (!c) return NULL;
    c->version = l->version;
    memcpy(c->updated, l->updated, sizeof(c->updated));
    memcpy(c->ring, l->ring, sizeof(c->ring));
    for (int i = 0; i < l->n; i++) {
        if (srvlist_add(c, l->servers[i].host, l->servers[i].port, l->servers[i].task_id) != MCM_OK) {
            srvlist_free(c);
            return NULL;
        }
    }
    return c;
}

static int entry_cmp(const void *pa, const void *pb) {
    const srv_entry *a = pa, *b = pb;
    int c = strcmp(a->host, b->host);
    if (c) return c;
    if (a->port != b->port) return a->port < b->port ? -1 : 1;
    return strcmp(a->task_id, b->task_id);
}

void srvlist_sort(srvlist *l) {
    if (l->n > 1) qsort(l->servers, (size_t)l->n, sizeof(srv_entry), entry_cmp);
}

int srvlist_same_servers(const srvlist *a, const srvlist *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (entry_cmp(&a->servers[i], &b->servers[i]) != 0) return 0;
    return 1;
}

char *srvlist_to_json(const srvlist *l) {
    json_t *arr = json_array();
    json_t *doc = json_pack("{s:I, s:s, s:s, s:o}", "version", (json_int_t)l->version,
                            "updated", l->updated, "ring", RING_NAME, "servers", arr);
    if (!doc) return NULL;
    for (int i = 0; i < l->n; i++) {
        json_t *e = json_pack("{s:s, s:i, s:s}", "host", l->servers[i].host,
                              "port", l->servers[i].port, "task_id", l->servers[i].task_id);
        if (!e || json_array_append_new(arr, e) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    char *out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return out;
}

static int parse_entry(srvlist *l, json_t *e, int i, char *err, size_t errlen) {
    const char *host = NULL, *task = NULL;
    json_int_t port = 0;
    json_error_t je;
    if (json_unpack_ex(e, &je, 0, "{s:s, s:I, s:s}", "host", &host, "port", &port, "task_id", &task)) {
        snprintf(err, errlen, "servers[%d]: %s", i, je.text);
        return MCM_ERR;
    }
    if (!valid_host(host)) {
        snprintf(err, errlen, "servers[%d]: invalid host", i);
        return MCM_ERR;
    }
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "servers[%d]: port %lld out of range", i, (long long)port);
        return MCM_ERR;
    }
    if (srvlist_add(l, host, (int)port, task) != MCM_OK) {
        snprintf(err, errlen, "servers[%d]: cannot add", i);
        return MCM_ERR;
    }
    return MCM_OK;
}

srvlist *srvlist_from_json(const char *buf, size_t len, char *err, size_t errlen) {
    json_error_t je;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je), *servers = NULL;
    json_int_t version = -1;
    const char *updated = "", *ring = "";
    srvlist *l = NULL;
    if (!doc) {
        snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
        return NULL;
    }
    if (json_unpack_ex(doc, &je, 0, "{s:I, s?s, s?s, s:o}", "version", &version, "updated", &updated,
                       "ring", &ring, "servers", &servers) || !json_is_array(servers)) {
        snprintf(err, errlen, "not a server list: %s", json_is_array(servers) || !servers ? je.text : "servers is not an array");
        goto fail;
    }
    if (version < 0) { snprintf(err, errlen, "negative version"); goto fail; }
    if (json_array_size(servers) > SRVLIST_MAX_SERVERS) { snprintf(err, errlen, "too many servers"); goto fail; }
    if (!(l = srvlist_new())) { snprintf(err, errlen, "out of memory"); goto fail; }
    l->version = version;
    snprintf(l->updated, sizeof(l->updated), "%s", updated);
    snprintf(l->ring, sizeof(l->ring), "%s", ring);
    for (size_t i = 0; i < json_array_size(servers); i++)
        if (parse_entry(l, json_array_get(servers, i), (int)i, err, errlen) != MCM_OK) goto fail;
    json_decref(doc);
    srvlist_sort(l);
    return l;
fail:
    json_decref(doc);
    srvlist_free(l);
    return NULL;
}
