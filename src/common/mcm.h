/* mcm.h -- conventions shared by every mcm module.
 *
 * One error convention across the project: functions return MCM_OK (0) or
 * MCM_ERR (-1); contexts that can fail for several reasons keep `err` and
 * `errstr` the way hiredis does. Library codes (ZOK, CURLE_*, MHD_*) are
 * translated at the edge of the module that calls the library. */
#ifndef MCM_H
#define MCM_H

#define MCM_OK 0
#define MCM_ERR -1

#ifndef MCM_VERSION
#define MCM_VERSION "0.0.0"
#endif

#define MCM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
