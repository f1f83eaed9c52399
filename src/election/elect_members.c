/* elect_members.c -- every member of the election, for operators: who the
 * replicas are and which one leads (GET /v1/replicas, the status page).
 *
 * What: lists <root>/leader, reads each member_<seq> znode (the replica's
 * identity JSON, elect.h) and returns them in sequence order, the lowest
 * marked "leader" -- the election's own rule. A member that left between the
 * listing and the read is skipped; one whose data is not a JSON object is
 * shown with its name only.
 * Why a file of its own: elect.c is the recipe (join, watch, depose) and
 * must stay small and proved; this is a read-only view that never sets a
 * watch, so it cannot disturb the recipe's one-watch-per-node invariant.
 * Thread: the owner of the zks session (synchronous zoo_* calls: never a
 * ZooKeeper callback). Invariant: nothing here writes or watches. */
#include "elect.h"
#include "mcm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBERS_DATA_MAX 4096            /* an identity is well under 1 KiB */
#define MEMBER_PREFIX "member_"

static long long seq_of(const char *name) {
    const char *u = strrchr(name, '_');
    return u ? strtoll(u + 1, NULL, 10) : -1;
}

static int by_seq(const void *a, const void *b) {
    long long x = seq_of(*(char *const *)a), y = seq_of(*(char *const *)b);
    return x < y ? -1 : x > y;
}

/* The member's entry, or NULL if it is gone. */
static json_t *member_json(zks *z, const char *dir, const char *name, int lowest) {
    char path[1024], *buf = malloc(MEMBERS_DATA_MAX + 1);
    int len = MEMBERS_DATA_MAX;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        free(buf);
        return NULL;
    }
    if (!buf || zoo_get(zks_handle(z), path, 0, buf, &len, NULL) != ZOK) {
        free(buf);
        return NULL;
    }
    buf[len < 0 ? 0 : len] = 0;
    json_t *o = json_loads(buf, 0, NULL);
    free(buf);
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    json_object_set_new(o, "member", json_string(name));
    json_object_set_new(o, "leader", json_boolean(lowest));
    return o;
}

char *elect_members_json(zks *z, char *err, size_t errlen) {
    char dir[1024];
    struct String_vector sv = {0, NULL};
    zks_path(z, "leader", dir, sizeof(dir));
    int rc = zoo_get_children(zks_handle(z), dir, 0, &sv);
    if (rc != ZOK) {
        snprintf(err, errlen, "list %s: %s", dir, zks_strerror(rc));
        return NULL;
    }
    char **names = calloc((size_t)sv.count + 1, sizeof(*names));
    int n = 0;
    for (int i = 0; names && i < sv.count; i++)
        if (strncmp(sv.data[i], MEMBER_PREFIX, strlen(MEMBER_PREFIX)) == 0 && seq_of(sv.data[i]) >= 0)
            names[n++] = sv.data[i];
    if (names) qsort(names, (size_t)n, sizeof(*names), by_seq);
    json_t *arr = names ? json_array() : NULL;
    for (int i = 0; arr && i < n; i++) {
        json_t *m = member_json(z, dir, names[i], json_array_size(arr) == 0);
        if (m) json_array_append_new(arr, m);
    }
    char *out = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!out) snprintf(err, errlen, "out of memory");
    json_decref(arr);
    free(names);
    deallocate_String_vector(&sv);
    return out;
}
