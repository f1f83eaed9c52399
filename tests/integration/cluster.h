/* cluster.h -- a whole mcm installation on loopback, for system tests.
 *
 * it_start() starts, with the harness (so everything dies with the test):
 * a real ZooKeeper server, mcm-sim with N agents (each agent launches the
 * real mcm-executor, which runs real memcached), and R mcm-scheduler
 * replicas, each with its own HTTP port. Helpers read the replicas' HTTP API
 * and the simulator's admin API (/sim/...) as JSON.
 *
 * Threads: the test's main thread only. Failures call ck_abort_msg(). */
#ifndef MCM_IT_CLUSTER_H
#define MCM_IT_CLUSTER_H

#include <jansson.h>
#include <sys/types.h>

#define IT_MAX_REPLICAS 5

typedef struct it_opts {
    int agents;                 /* default 4 */
    int instances;              /* default 3 */
    int replicas;               /* default 3 */
    int session_timeout_ms;     /* default 4000 */
    const char *extra[16];      /* extra mcm-scheduler flags, NULL-terminated */
    const char *sim_extra[8];   /* extra mcm-sim flags (--domains, --attributes...), NULL-terminated */
    /* Called with the ZooKeeper connect string after ZooKeeper and the
     * simulator started, before any replica: to plant state by hand. */
    void (*prepare)(const char *zk_hosts);
} it_opts;

typedef struct it_cluster it_cluster;

it_cluster *it_start(const it_opts *o);
void it_stop(it_cluster *c);

const char *it_dir(const it_cluster *c);              /* logs live here */
const char *it_zk_url(const it_cluster *c);           /* zk://127.0.0.1:p/mcm */
const char *it_zk_hosts(const it_cluster *c);
int it_sim_port(const it_cluster *c);
int it_replica_port(const it_cluster *c, int i);
pid_t it_replica_pid(const it_cluster *c, int i);
int it_replica_alive(const it_cluster *c, int i);
void it_replica_signal(it_cluster *c, int i, int sig);
/* Waits for the replica to exit after a signal (timeout_ms); 1 if it did. */
int it_replica_wait_exit(it_cluster *c, int i, int timeout_ms);
void it_replica_restart(it_cluster *c, int i);
void it_sim_stop(it_cluster *c);
/* Stops the ZooKeeper server (SIGKILL), keeping its data; it_zk_restart brings it back. */
void it_zk_stop(it_cluster *c);
void it_zk_restart(it_cluster *c);
void it_sim_start(it_cluster *c);

/* GET http://127.0.0.1:port/path as JSON (NULL on error or non-2xx). */
json_t *it_get_json(int port, const char *path);
/* GET http://127.0.0.1:port/path as text (caller frees; NULL on error or non-2xx). */
char *it_get_text(int port, const char *path);
/* POST (body may be NULL); returns the status, the parsed reply in *out if wanted. */
long it_post(int port, const char *path, const char *body, json_t **out);

/* Index of the replica that reports leader_state "leading", -1 if none. */
int it_leader(it_cluster *c);
/* Waits until some replica leads; returns its index or -1 after timeout_ms. */
int it_wait_leader(it_cluster *c, int timeout_ms, int not_this);
/* Waits until replica i's /v1/servers lists exactly n servers; returns the
 * document (caller decrefs) or NULL after timeout_ms. */
json_t *it_wait_servers(it_cluster *c, int i, int n, int timeout_ms);
/* "task_id host:port" lines of a servers document, sorted, malloc'd. */
char *it_servers_key(json_t *servers_doc);
/* The leader's status field (string) into buf; "" if absent. */
void it_status_str(int port, const char *field, char *buf, size_t len);

#endif
