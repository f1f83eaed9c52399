/* chaos_check.c -- what the chaos soak reads from the installation and judges.
 *
 * What: snapshots of the published servers (with memcached pids from /proc),
 * the recovery conditions polled after a fault (one leader, and it is the
 * lowest election member; one framework ID; `desired` servers published,
 * the same tasks the simulator runs, each answering `version`), the
 * simulator's call log read incrementally (accepted calls on a superseded
 * stream), and an incremental scan of every log for sanitizer reports.
 * Why: the truth comes from outside the scheduler wherever it can (the
 * simulator's tasks and call log, ZooKeeper's member znodes, /proc,
 * memcached itself), so a scheduler that is wrong about itself is caught.
 * Thread: the benchmark's main thread.
 * Invariants: the call log and the logs are each read once (call_seq, the
 * per-file offsets), so every report and every call is judged exactly once. */
#include "chaos.h"

#include "common.h"
#include "harness.h"
#include "ring.h"
#include "util.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ELECTION_DIR "/mcm/leader"
#define MEMBER_PREFIX "member_"
#define MC_TIMEOUT_MS 2000
#define LINE_MAX_LEN 4096
#define KEY_TRIES 10000               /* candidate keys until one lands on a given server */

int64_t ch_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int64_t ch_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void ch_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

const char *ch_jstr(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

json_t *ch_sim_state(chaos *ch) { return it_get_json(it_sim_port(ch->c), "/sim/state"); }

/* --- snapshots ------------------------------------------------------------------ */

static const char *task_agent(json_t *sim_state, const char *task) {
    json_t *tasks = json_object_get(sim_state, "tasks");
    for (size_t i = 0; i < json_array_size(tasks); i++)
        if (strcmp(ch_jstr(json_array_get(tasks, i), "id"), task) == 0)
            return ch_jstr(json_array_get(tasks, i), "agent_id");
    return "";
}

int ch_snapshot(chaos *ch, ch_snap *out) {
    out->n = 0;
    int l = it_leader(ch->c);
    json_t *doc = l >= 0 ? it_get_json(it_replica_port(ch->c, l), "/v1/servers") : NULL;
    json_t *st = doc ? ch_sim_state(ch) : NULL;
    json_t *arr = doc ? json_object_get(doc, "servers") : NULL;
    for (size_t i = 0; i < json_array_size(arr) && out->n < CH_MAX_SERVERS; i++) {
        json_t *s = json_array_get(arr, i);
        ch_srv *v = &out->s[out->n++];
        snprintf(v->task, sizeof(v->task), "%s", ch_jstr(s, "task_id"));
        snprintf(v->host, sizeof(v->host), "%s", ch_jstr(s, "host"));
        v->port = (int)json_integer_value(json_object_get(s, "port"));
        v->pid = it_memcached_pid(v->port);
        snprintf(v->agent, sizeof(v->agent), "%s", task_agent(st, v->task));
    }
    int ok = doc && st;
    json_decref(doc);
    json_decref(st);
    return ok;
}

/* mcm's ring over the snapshot's servers, index i = s->s[i]; NULL if none. */
static ring *ring_of(const ch_snap *s) {
    char names[CH_MAX_SERVERS][96];
    const char *v[CH_MAX_SERVERS];
    char err[256];
    for (int i = 0; i < s->n; i++) {
        snprintf(names[i], sizeof(names[i]), "%s:%d", s->s[i].host, s->s[i].port);
        v[i] = names[i];
    }
    ring *r = s->n ? ring_new(v, s->n, err, sizeof(err)) : NULL;
    if (s->n && !r) fprintf(stderr, "chaos: ring: %s\n", err);
    return r;
}

int ch_store_owned(ch_snap *s, const char *prefix, const char *value) {
    ring *r = ring_of(s);
    int stored = 0;
    for (int i = 0; r && i < s->n; i++) {
        s->s[i].key[0] = 0;
        for (int n = 0; n < KEY_TRIES && !s->s[i].key[0]; n++) {
            char k[64];
            snprintf(k, sizeof(k), "%s-%d", prefix, n);
            if (ring_owner(r, k, strlen(k)) == i) snprintf(s->s[i].key, sizeof(s->s[i].key), "%s", k);
        }
        char cmd[512], reply[256];
        snprintf(cmd, sizeof(cmd), "set %s 0 0 %zu\r\n%s\r\n", s->s[i].key, strlen(value), value);
        stored += s->s[i].key[0] &&
                  th_mc_cmd(s->s[i].host, s->s[i].port, cmd, reply, sizeof(reply), MC_TIMEOUT_MS) > 0 &&
                  strstr(reply, "STORED") != NULL;
    }
    ring_free(r);
    return stored;
}

int ch_key_owner(const ch_snap *now, const char *key) {
    ring *r = ring_of(now);
    int o = r ? ring_owner(r, key, strlen(key)) : -1;
    ring_free(r);
    return o;
}

int ch_key_readable(const ch_snap *now, const char *key, const char *value) {
    int o = ch_key_owner(now, key);
    if (o < 0) return 0;
    char cmd[512], reply[512];
    snprintf(cmd, sizeof(cmd), "get %s\r\n", key);
    return th_mc_cmd(now->s[o].host, now->s[o].port, cmd, reply, sizeof(reply), MC_TIMEOUT_MS) > 0 &&
           strstr(reply, value) != NULL;
}

/* --- recovery conditions ------------------------------------------------------- */

/* The "id" in the lowest member znode's identity; 0 if unreadable. */
static int lowest_member(chaos *ch, char *id, size_t len) {
    struct String_vector sv = {0};
    if (zoo_get_children(ch->zh, ELECTION_DIR, 0, &sv) != ZOK) return 0;
    const char *low = NULL;
    for (int i = 0; i < sv.count; i++)
        if (strncmp(sv.data[i], MEMBER_PREFIX, strlen(MEMBER_PREFIX)) == 0 &&
            (!low || strcmp(sv.data[i] + strlen(MEMBER_PREFIX), low + strlen(MEMBER_PREFIX)) < 0))
            low = sv.data[i];   /* the sequence is zero-padded: string order is number order */
    char path[256], data[1024];
    int dlen = sizeof(data) - 1, ok = 0;
    if (low) snprintf(path, sizeof(path), "%s/%s", ELECTION_DIR, low);
    if (low && zoo_get(ch->zh, path, 0, data, &dlen, NULL) == ZOK && dlen >= 0) {
        data[dlen] = 0;
        json_t *j = json_loads(data, 0, NULL);
        snprintf(id, len, "%s", ch_jstr(j, "id"));
        json_decref(j);
        ok = id[0] != 0;
    }
    deallocate_String_vector(&sv);
    return ok;
}

/* Sorted, newline-joined task IDs the simulator runs for our framework. */
static int running_at_sim(chaos *ch, char ids[][160], int max) {
    json_t *st = ch_sim_state(ch);
    json_t *tasks = st ? json_object_get(st, "tasks") : NULL;
    int n = 0;
    for (size_t i = 0; i < json_array_size(tasks) && n < max; i++) {
        json_t *t = json_array_get(tasks, i);
        if (strcmp(ch_jstr(t, "framework_id"), ch->fw) == 0 && strcmp(ch_jstr(t, "state"), "TASK_RUNNING") == 0)
            snprintf(ids[n++], 160, "%s", ch_jstr(t, "id"));
    }
    json_decref(st);
    return st ? n : -1;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

/* Published tasks == the simulator's running tasks, n == desired, each answers version. */
static int servers_ok(chaos *ch, char *why, size_t len) {
    ch_snap s;
    char pub[CH_MAX_SERVERS][160], run[CH_MAX_SERVERS * 2][160];
    if (!ch_snapshot(ch, &s)) return snprintf(why, len, "servers unreadable"), 0;
    if (s.n != ch->desired) return snprintf(why, len, "%d servers published, desired %d", s.n, ch->desired), 0;
    int nr = running_at_sim(ch, run, CH_MAX_SERVERS * 2);
    if (nr != s.n) return snprintf(why, len, "%d published, %d running at the master", s.n, nr), 0;
    for (int i = 0; i < s.n; i++) snprintf(pub[i], 160, "%s", s.s[i].task);
    qsort(pub, (size_t)s.n, 160, cmp_id);
    qsort(run, (size_t)nr, 160, cmp_id);
    for (int i = 0; i < s.n; i++)
        if (strcmp(pub[i], run[i]) != 0) return snprintf(why, len, "published %s, master runs %s", pub[i], run[i]), 0;
    for (int i = 0; i < s.n; i++) {
        char reply[256];
        if (th_mc_cmd(s.s[i].host, s.s[i].port, "version\r\n", reply, sizeof(reply), MC_TIMEOUT_MS) <= 0 ||
            !strstr(reply, "VERSION"))
            return snprintf(why, len, "%s:%d does not answer version", s.s[i].host, s.s[i].port), 0;
    }
    return 1;
}

/* A drain still under way (a step down whose transition has not begun yet)
 * would end in the next cycle and look like a fault's work there. */
static int none_draining(chaos *ch, int leader, char *why, size_t len) {
    json_t *doc = it_get_json(it_replica_port(ch->c, leader), "/v1/tasks");
    json_t *tasks = json_object_get(doc, "tasks");
    int ok = doc != NULL;
    if (!ok) snprintf(why, len, "leader's /v1/tasks unreadable");
    for (size_t i = 0; ok && i < json_array_size(tasks); i++) {
        json_t *t = json_array_get(tasks, i);
        if (json_is_true(json_object_get(t, "draining"))) {
            snprintf(why, len, "%s still draining", ch_jstr(t, "task_id"));
            ok = 0;
        }
    }
    json_decref(doc);
    return ok;
}

int ch_recovered(chaos *ch, char *why, size_t len, int *two_leaders, int *leader_out) {
    int leaders = 0, leader = -1, desired = -2, mask = 0;
    char rid[128] = "", fw[256] = "", phase[64] = "";
    *leader_out = -1;
    for (int i = 0; i < CH_REPLICAS; i++) {
        json_t *s = it_replica_alive(ch->c, i) ? it_get_json(it_replica_port(ch->c, i), "/v1/status") : NULL;
        if (!s) {
            json_decref(s);
            return snprintf(why, len, "replica %d not answering", i), 0;
        }
        if (strcmp(ch_jstr(s, "leader_state"), "leading") == 0) {
            leaders++;
            mask |= 1 << i;
            leader = i;
            snprintf(rid, sizeof(rid), "%s", ch_jstr(s, "replica"));
            snprintf(fw, sizeof(fw), "%s", ch_jstr(s, "framework_id"));
            desired = (int)json_integer_value(json_object_get(s, "desired"));
            json_t *t = json_object_get(s, "transition");   /* absent before warm transitions */
            snprintf(phase, sizeof(phase), "%s", t ? ch_jstr(t, "phase") : "idle");
        }
        json_decref(s);
    }
    if (leaders > 1) *two_leaders |= mask;
    if (leaders != 1) return snprintf(why, len, "%d replicas leading", leaders), 0;
    *leader_out = leader;
    char low[128];
    if (!lowest_member(ch, low, sizeof(low))) return snprintf(why, len, "election unreadable"), 0;
    if (strcmp(low, rid) != 0) return snprintf(why, len, "leader %s is not the lowest member %s", rid, low), 0;
    if (strcmp(fw, ch->fw) != 0) return snprintf(why, len, "framework ID %s, not %s", fw, ch->fw), 0;
    if (desired != ch->desired) return snprintf(why, len, "desired %d, not %d", desired, ch->desired), 0;
    if (strcmp(phase, "idle") != 0) return snprintf(why, len, "ring transition in phase %s", phase), 0;
    if (!none_draining(ch, leader, why, len)) return 0;
    return servers_ok(ch, why, len);
}

int ch_stale_unreachable(chaos *ch, int leader) {
    if (leader < 0) leader = it_leader(ch->c);
    json_t *doc = leader >= 0 ? it_get_json(it_replica_port(ch->c, leader), "/v1/tasks") : NULL;
    json_t *st = doc ? ch_sim_state(ch) : NULL;
    json_t *tasks = json_object_get(doc, "tasks"), *agents = json_object_get(st, "agents");
    int stale = 0;
    for (size_t i = 0; i < json_array_size(tasks) && !stale; i++) {
        json_t *t = json_array_get(tasks, i);
        if (strcmp(ch_jstr(t, "state"), "TASK_UNREACHABLE") != 0) continue;
        for (size_t k = 0; k < json_array_size(agents); k++) {
            json_t *a = json_array_get(agents, k);
            if (strcmp(ch_jstr(a, "id"), ch_jstr(t, "agent_id")) == 0 && !json_is_true(json_object_get(a, "gone")))
                stale = 1;
        }
    }
    json_decref(doc);
    json_decref(st);
    return stale;
}

int ch_one_framework(chaos *ch, char *why, size_t len) {
    json_t *st = ch_sim_state(ch);
    json_t *fws = st ? json_object_get(st, "frameworks") : NULL;
    int ok = st != NULL;
    if (!ok) snprintf(why, len, "simulator state unreadable");
    for (size_t i = 0; ok && i < json_array_size(fws); i++) {
        json_t *f = json_array_get(fws, i);
        if (strcmp(ch_jstr(f, "id"), ch->fw) != 0 || json_is_true(json_object_get(f, "removed"))) {
            snprintf(why, len, "framework %s at the master%s (ours: %s)", ch_jstr(f, "id"),
                     json_is_true(json_object_get(f, "removed")) ? " removed" : "", ch->fw);
            ok = 0;
        }
    }
    json_decref(st);
    return ok;
}

/* --- the call log ------------------------------------------------------------------ */

int ch_check_calls(chaos *ch, int64_t since_wall, int64_t until_wall, int *refused, int *subs) {
    char path[64];
    snprintf(path, sizeof(path), "/sim/calls?since=%lld", (long long)ch->call_seq);
    json_t *calls = it_get_json(it_sim_port(ch->c), path);
    int stale = 0;
    *refused = *subs = 0;
    for (size_t i = 0; i < json_array_size(calls); i++) {
        json_t *c = json_array_get(calls, i);
        int status = (int)json_integer_value(json_object_get(c, "status"));
        int64_t wall = json_integer_value(json_object_get(c, "wall_ms"));
        const char *sid = ch_jstr(c, "stream_id");
        ch->call_seq = json_integer_value(json_object_get(c, "seq"));
        if (strcmp(ch_jstr(c, "type"), "SUBSCRIBE") == 0) {
            if (status == 200) snprintf(ch->stream, sizeof(ch->stream), "%s", sid);
            *subs += wall >= since_wall && wall <= until_wall;
        } else if (sid[0] && strcmp(sid, ch->stream) != 0) {
            if (status >= 200 && status < 300) {
                stale++;
                fprintf(stderr, "chaos: call seq %lld %s accepted on stale stream %s (current %s)\n",
                        (long long)ch->call_seq, ch_jstr(c, "type"), sid, ch->stream);
            } else {
                (*refused)++;
            }
        }
    }
    json_decref(calls);
    return stale;
}

/* --- sanitizer reports ------------------------------------------------------------- */

static chaos *scan_ch;
static int scan_other;
static char *scan_what;
static size_t scan_what_len;

static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"};

static long *offset_of(chaos *ch, const char *path) {
    for (int i = 0; i < ch->nlogs; i++)
        if (strcmp(ch->logs[i].path, path) == 0) return &ch->logs[i].off;
    if (ch->nlogs >= (int)(sizeof(ch->logs) / sizeof(ch->logs[0]))) return NULL;
    snprintf(ch->logs[ch->nlogs].path, sizeof(ch->logs[0].path), "%s", path);
    ch->logs[ch->nlogs].off = 0;
    return &ch->logs[ch->nlogs++].off;
}

static int scan_one(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)ftw;
    long *off = type == FTW_F ? offset_of(scan_ch, path) : NULL;
    if (!off || sb->st_size <= *off) {
        if (off && sb->st_size < *off) *off = 0;   /* emptied */
        return 0;
    }
    FILE *f = fopen(path, "r");
    if (!f || fseek(f, *off, SEEK_SET) != 0) {
        if (f) fclose(f);
        return 0;
    }
    char line[LINE_MAX_LEN];
    int other = 0;
    while (fgets(line, sizeof(line), f)) {
        size_t n = strlen(line);
        if (n == 0 || line[n - 1] != '\n') break;   /* a line still being written: next time */
        *off = ftell(f);
        int hit = -1;
        for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]) && hit < 0; k++)
            if (strstr(line, marks[k])) hit = (int)k;
        if (hit < 0) continue;
        if (other++ == 0 && !scan_what[0]) snprintf(scan_what, scan_what_len, "%.300s: %.400s", path, line);
        *off = ftell(f);
    }
    fclose(f);
    scan_other += other;
    return 0;
}

int ch_scan_sanitizer(chaos *ch, char *what, size_t len) {
    scan_ch = ch;
    scan_other = 0;
    scan_what = what;
    scan_what_len = len;
    what[0] = 0;
    nftw(it_dir(ch->c), scan_one, 16, FTW_PHYS);
    return scan_other;
}

/* --- abort purges ------------------------------------------------------------------ */

/* Keys deleted by "purge deleted N keys" lines in one executor log at or
 * after since (RFC 3339 text: string order is time order). */
static long purged_in(const char *path, const char *since) {
    FILE *f = fopen(path, "r");
    char line[1024];
    long n = 0;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, ": purge deleted ");
        if (p && strncmp(line, since, strlen(since)) >= 0) n += strtol(p + strlen(": purge deleted "), NULL, 10);
    }
    if (f) fclose(f);
    return n;
}

long ch_purged_since(chaos *ch, const char *task, int64_t since_wall) {
    char pattern[1024], since[40];
    util_rfc3339(since_wall, since, sizeof(since));
    snprintf(pattern, sizeof(pattern), "%s/sim-0/agents/*/frameworks/*/executors/%s.executor/runs/*/stderr",
             it_dir(ch->c), task);
    glob_t g;
    long n = 0;
    if (glob(pattern, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++) n += purged_in(g.gl_pathv[i], since);
    globfree(&g);
    return n;
}
