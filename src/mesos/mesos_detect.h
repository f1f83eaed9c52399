/* mesos_detect.h -- find the leading Mesos master through ZooKeeper.
 *
 * `zk://h1:2181,h2:2181/mesos`: every master holds an EPHEMERAL|SEQUENTIAL
 * child `json.info_<seq>` of /mesos with its MasterInfo as JSON; the lowest
 * sequence is the leader. The detector keeps its own ZooKeeper session (the
 * Mesos ensemble need not be mcm's), watches the children, and publishes the
 * leader's "ip:port" with a generation number that grows on every change, so
 * the scheduler client's stream thread can notice a failover and re-subscribe.
 *
 * Address choice: MasterInfo.address.ip + address.port, else
 * address.hostname, else hostname + port, else the legacy uint32 `ip` field.
 * Children with other names (`info_*` binary, `log_replicas`) are skipped; a
 * json.info_ node whose content is not a usable MasterInfo is logged once and
 * skipped in favour of the next sequence.
 *
 * Threads: mdet_new/mdet_free from the owner; mdet_leader/mdet_wait from any
 * thread. Internally ZooKeeper's threads run watchers and completions (never
 * blocking) and one detector thread replaces expired sessions. */
#ifndef MCM_MESOS_DETECT_H
#define MCM_MESOS_DETECT_H

#include <stddef.h>
#include <stdint.h>

typedef struct mdet mdet;

/* hosts "h1:p1,h2:p2", path "/mesos". Connects asynchronously; NULL with a
 * reason in err only on bad arguments or resource exhaustion. */
mdet *mdet_new(const char *hosts, const char *path, int session_timeout_ms, char *err, size_t errlen);
void mdet_free(mdet *d);   /* NULL-safe; joins the detector thread, closes the session */

/* Copies the leader ("10.0.0.1:5050", IPv6 as "[::1]:5050") into buf, or ""
 * if none is known, and returns the current generation (0 before the first
 * answer from ZooKeeper). */
uint64_t mdet_leader(mdet *d, char *buf, size_t len);
/* Waits until the generation differs from gen or timeout_ms passes; returns
 * the generation then. */
uint64_t mdet_wait(mdet *d, uint64_t gen, int64_t timeout_ms);

/* Extracts "host:port" from MasterInfo JSON (pure; exposed for tests).
 * MCM_OK, or MCM_ERR with a reason. */
int mdet_parse_master_info(const char *json, size_t len, char *out, size_t outlen, char *err,
                           size_t errlen);

#endif
