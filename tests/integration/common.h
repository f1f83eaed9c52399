/* common.h -- small checks shared by the system tests. */
#ifndef MCM_IT_COMMON_H
#define MCM_IT_COMMON_H

#include <jansson.h>
#include <sys/types.h>

/* The pid of the memcached process listening on port (by its command line), or -1. */
pid_t it_memcached_pid(int port);
/* Stores key=value on every server of the document; asserts success. */
void it_set_all(json_t *servers_doc, const char *key, const char *value);
/* Number of servers of the document that still return value for key. */
int it_count_with(json_t *servers_doc, const char *key, const char *value);
/* Asserts that every server of the document answers set/get. */
void it_check_all_answer(json_t *servers_doc);
/* The value of the line `series v` (series: name{labels} as printed) in a
 * Prometheus text body, or -1 if there is none. */
double it_metric_value(const char *body, const char *series);

#endif
