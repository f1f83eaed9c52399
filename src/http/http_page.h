/* http_page.h -- the status page at GET / (HTML, CSS and JavaScript in one
 * document, embedded in the binary at build time from page/status.html).
 *
 * The page is static: it reads everything through the replica's own
 * read-only JSON API (/v1/status, /v1/leader, /v1/tasks and the /v1/servers
 * long poll) from the browser, so every replica serves the same bytes,
 * followers included, and the page can never change anything.
 * Threads: libmicrohttpd connection threads (the handler reads only
 * constant data). */
#ifndef MCM_HTTP_PAGE_H
#define MCM_HTTP_PAGE_H

#include "http_int.h"

/* GET / (and HEAD): 200 text/html with a Content-Security-Policy that
 * forbids any other origin (no external assets, no requests elsewhere). */
enum MHD_Result http_get_page(http_server *h, struct MHD_Connection *c, http_req *r);

#endif
