/* parse.c -- durations, sizes, numbers, host:port and zk:// / http:// URLs.
 *
 * Shape: small pure functions over NUL-terminated strings, each rejecting
 * anything it does not fully understand (trailing junk, overflow, empty parts)
 * with a reason a person can act on. http:// URLs go through libcurl's URL API
 * rather than hand-written parsing, so what we accept is what curl will fetch.
 * Threads: any. Invariant: on error the output is untouched. */
#include "parse.h"
#include "mcm.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); return MCM_ERR; } while (0)

/* Reads a non-negative decimal number (digits with an optional fraction) and
 * returns the rest of the string in *rest. */
static int read_number(const char *s, double *v, const char **rest) {
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return MCM_ERR;
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return MCM_ERR;
        while (isdigit((unsigned char)*p)) p++;
    }
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (errno || end != p || !isfinite(*v)) return MCM_ERR;
    *rest = p;
    return MCM_OK;
}

static const struct { const char *name; double ms; } duration_units[] = {
    {"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1000}, {"sec", 1000}, {"secs", 1000},
    {"m", 60e3}, {"min", 60e3}, {"mins", 60e3}, {"h", 3600e3}, {"hr", 3600e3},
    {"hrs", 3600e3}, {"d", 86400e3}, {"day", 86400e3}, {"days", 86400e3},
    {"w", 604800e3}, {"week", 604800e3}, {"weeks", 604800e3},
};

int parse_duration_ms(const char *s, int64_t *out, char *err, size_t errlen) {
    double v, mult = 1000;
    const char *unit;
    if (!s || !*s) ERR("empty duration");
    if (read_number(s, &v, &unit) != MCM_OK)
        ERR("'%s' is not a duration (write e.g. 500ms, 10s, 5m, 2h, 7d)", s);
    if (*unit) {
        size_t i;
        for (i = 0; i < MCM_ARRAY_LEN(duration_units); i++)
            if (strcmp(unit, duration_units[i].name) == 0) break;
        if (i == MCM_ARRAY_LEN(duration_units))
            ERR("'%s' has an unknown unit '%s' (use ms, s, m, h, d or w)", s, unit);
        mult = duration_units[i].ms;
    }
    double ms = v * mult;
    if (ms > 9.2e15) ERR("'%s' is too long", s);
    *out = (int64_t)llround(ms);
    return MCM_OK;
}

static const struct { const char *name; int shift; } size_units[] = {
    {"b", 0}, {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20}, {"mb", 20}, {"mib", 20},
    {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40}, {"tb", 40}, {"tib", 40},
};

int parse_size(const char *s, uint64_t plain_unit, uint64_t *out, char *err, size_t errlen) {
    double v;
    const char *unit;
    double mult = (double)plain_unit;
    if (!s || !*s) ERR("empty size");
    if (read_number(s, &v, &unit) != MCM_OK)
        ERR("'%s' is not a size (write e.g. 64MiB or 1GiB)", s);
    if (*unit) {
        size_t i;
        for (i = 0; i < MCM_ARRAY_LEN(size_units); i++)
            if (strcasecmp(unit, size_units[i].name) == 0) break;
        if (i == MCM_ARRAY_LEN(size_units))
            ERR("'%s' has an unknown unit '%s' (use B, KiB, MiB, GiB or TiB)", s, unit);
        mult = ldexp(1.0, size_units[i].shift);
    }
    double bytes = v * mult;
    if (bytes >= 1.8e19) ERR("'%s' is too large", s);
    if (bytes != floor(bytes)) ERR("'%s' is not a whole number of bytes", s);
    *out = (uint64_t)bytes;
    return MCM_OK;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen) {
    char *end;
    if (!s || !*s) ERR("empty number");
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || isspace((unsigned char)*s)) ERR("'%s' is not a whole number", s);
    if (errno == ERANGE || v < min || v > max)
        ERR("%s is out of range [%lld, %lld]", s, (long long)min, (long long)max);
    *out = v;
    return MCM_OK;
}

int parse_double(const char *s, double min, double max, double *out, char *err, size_t errlen) {
    char *end;
    if (!s || !*s) ERR("empty number");
    errno = 0;
    double v = strtod(s, &end);
    if (*end || isspace((unsigned char)*s) || !isfinite(v)) ERR("'%s' is not a number", s);
    if (errno == ERANGE || v < min || v > max) ERR("%s is out of range [%g, %g]", s, min, max);
    *out = v;
    return MCM_OK;
}

int parse_bool(const char *s, int *out, char *err, size_t errlen) {
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; s && i < MCM_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) { *out = 1; return MCM_OK; }
        if (strcasecmp(s, no[i]) == 0) { *out = 0; return MCM_OK; }
    }
    ERR("'%s' is not a boolean (use true or false)", s ? s : "");
}

static int valid_host(const char *h, size_t n) {
    if (n == 0 || n >= PARSE_HOST_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_' && c != ':') return 0;
    }
    return 1;
}

int parse_host_port(const char *s, int allow_zero, parse_hostport *out, char *err, size_t errlen) {
    const char *host, *colon;
    size_t hlen;
    if (!s || !*s) ERR("empty address (write host:port)");
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') ERR("'%s' is not [ipv6]:port", s);
        host = s + 1, hlen = (size_t)(close - host), colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) ERR("'%s' has no port (write host:port)", s);
        host = s, hlen = (size_t)(colon - s);
        if (memchr(host, ':', hlen)) ERR("'%s': write IPv6 addresses as [addr]:port", s);
    }
    if (!valid_host(host, hlen)) ERR("'%s' has an invalid host", s);
    int64_t port;
    char perr[128];
    if (parse_int64(colon + 1, allow_zero ? 0 : 1, 65535, &port, perr, sizeof(perr)) != MCM_OK)
        ERR("'%s' has an invalid port: %s", s, perr);
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = (int)port;
    return MCM_OK;
}

static int valid_zk_path(const char *p) {
    if (p[0] != '/') return 0;
    if (p[1] == '\0') return 1;
    for (const char *c = p; *c; c++) {
        if (*c == '/') {
            const char *next = c + 1;
            size_t n = strcspn(next, "/");
            if (n == 0) return 0;                   /* empty component or trailing '/' */
            if ((n == 1 && next[0] == '.') || (n == 2 && next[0] == '.' && next[1] == '.'))
                return 0;
        } else if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int parse_zk_url(const char *s, parse_zk *out, char *err, size_t errlen) {
    if (!s || strncmp(s, "zk://", 5) != 0) ERR("'%s' is not a zk:// URL (write zk://host:port[,host:port...]/path)", s ? s : "");
    const char *hosts = s + 5, *slash = strchr(hosts, '/');
    if (!slash) ERR("'%s' has no path (write zk://host:port/path)", s);
    if (memchr(hosts, '@', (size_t)(slash - hosts))) ERR("'%s': credentials do not belong in the URL (use --zk-auth-file)", s);
    if (slash == hosts) ERR("'%s' names no host", s);
    /* Debian's ZooKeeper C client (3.8) cannot connect to a bracketed IPv6
     * literal; say so now rather than fail later with an unrelated error. */
    if (memchr(hosts, '[', (size_t)(slash - hosts)))
        ERR("'%s': the ZooKeeper C client does not take IPv6 address literals; use a host name", s);
    char *list = strndup(hosts, (size_t)(slash - hosts));
    if (!list) ERR("out of memory");
    for (char *save = NULL, *h = strtok_r(list, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        parse_hostport hp;
        char herr[256];
        if (parse_host_port(h, 0, &hp, herr, sizeof(herr)) != MCM_OK) {
            free(list);
            ERR("'%s': %s", s, herr);
        }
    }
    free(list);
    if (strstr(hosts, ",,") || hosts[0] == ',' || slash[-1] == ',') ERR("'%s' has an empty host", s);
    if (!valid_zk_path(slash)) ERR("'%s' has an invalid path '%s'", s, slash);
    char *h = strndup(hosts, (size_t)(slash - hosts)), *p = strdup(slash);
    if (!h || !p) { free(h); free(p); ERR("out of memory"); }
    out->hosts = h;
    out->path = p;
    return MCM_OK;
}

void parse_zk_free(parse_zk *z) {
    if (!z) return;
    free(z->hosts);
    free(z->path);
    z->hosts = z->path = NULL;
}

/* Checks one http(s)://host:port[/path] with libcurl and returns it normalised. */
static char *check_http_url(const char *url, char *err, size_t errlen) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL, *out = NULL;
    if (!u) { snprintf(err, errlen, "out of memory"); return NULL; }
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK) {
        snprintf(err, errlen, "'%s' is not a valid URL: %s", url, curl_url_strerror(rc));
    } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
               (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
        snprintf(err, errlen, "'%s' is not an http:// or https:// URL", url);
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        snprintf(err, errlen, "'%s' names no host", url);
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(err, errlen, "'%s': credentials do not belong in the URL (use --principal and --secret-file)", url);
    } else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
        snprintf(err, errlen, "'%s' must not have a query", url);
    } else if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
        snprintf(err, errlen, "'%s' cannot be normalised", url);
        out = NULL;
    }
    curl_free(scheme); curl_free(host); curl_free(user); curl_free(query);
    curl_url_cleanup(u);
    if (!out) return NULL;
    char *copy = strdup(out);
    curl_free(out);
    size_t n = copy ? strlen(copy) : 0;
    if (n && copy[n - 1] == '/') copy[n - 1] = '\0';
    return copy;
}

/* One entry of a master list: "[scheme://]host:port[/path]". A missing scheme
 * is the first entry's; a missing path is the list's (the last one given), so
 * "http://m1:5050,m2:5050", "http://m1:5050,http://m2:5050" and
 * "http://m1:5050,m2:5050/master" all mean what they say. */
static char *list_entry(const char *entry, const char *scheme, size_t slen, const char *path, char *err,
                        size_t errlen) {
    char url[1024];
    const char *sep = strstr(entry, "://");
    const char *host = sep ? sep + 3 : entry;
    int has_path = host[strcspn(host, "/?#")] != '\0';
    size_t alen = strcspn(host, "/?#");
    const char *end = host + alen, *pc = NULL;   /* the port's colon: the last one, after any ']' */
    for (const char *q = host; q < end; q++)
        if (*q == ':') pc = q;
        else if (*q == ']') pc = NULL;
    if (!alen || (pc && (pc + 1 == end || strspn(pc + 1, "0123456789") < (size_t)(end - pc - 1)))) {
        snprintf(err, errlen, "'%s' is not host:port", entry);
        return NULL;
    }
    if (sep) snprintf(url, sizeof(url), "%s%s", entry, has_path ? "" : path);
    else snprintf(url, sizeof(url), "%.*s://%s%s", (int)slen, scheme, entry, has_path ? "" : path);
    char *ok = check_http_url(url, err, errlen);
    const char *colon = ok ? strrchr(ok + slen + 3, ':') : NULL;
    if (ok && colon && strncmp(colon, ":0", 2) == 0 && (colon[2] == '\0' || colon[2] == '/')) {
        snprintf(err, errlen, "'%s': port 0", entry);
        free(ok);
        return NULL;
    }
    return ok;
}

int parse_http_urls(const char *s, parse_urls *out, char *err, size_t errlen) {
    const char *sep = s ? strstr(s, "://") : NULL;
    if (!sep || sep != s + strcspn(s, ":,/"))
        ERR("'%s' is not an http:// URL (write http://host:port[,host:port...])", s ? s : "");
    if (!s[0] || s[strlen(s) - 1] == ',' || strstr(s, ",,")) ERR("'%s' has an empty host", s);
    char *list = strdup(s);
    if (!list) ERR("out of memory");
    /* The list's path: that of the last entry which has one. */
    const char *path = "";
    for (char *p = list, *e; p; p = e ? e + 1 : NULL) {
        e = strchr(p, ',');
        const char *h = strstr(p, "://");
        h = h && (!e || h < e) ? h + 3 : p;
        const char *slash = strchr(h, '/');
        if (slash && (!e || slash < e)) path = s + (slash - list);
    }
    char pathbuf[512];
    snprintf(pathbuf, sizeof(pathbuf), "%.*s", (int)strcspn(path, ","), path);
    parse_urls r = {0, NULL};
    for (char *save = NULL, *h = strtok_r(list, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        char *ok = list_entry(h, s, (size_t)(sep - s), pathbuf, err, errlen);
        char **grown = ok ? realloc(r.urls, sizeof(char *) * (size_t)(r.n + 1)) : NULL;
        if (!grown) {
            if (ok && err) snprintf(err, errlen, "out of memory");
            free(ok);
            free(list);
            parse_urls_free(&r);
            return MCM_ERR;
        }
        r.urls = grown;
        r.urls[r.n++] = ok;
    }
    free(list);
    *out = r;
    return MCM_OK;
}

void parse_urls_free(parse_urls *u) {
    if (!u) return;
    for (int i = 0; i < u->n; i++) free(u->urls[i]);
    free(u->urls);
    u->urls = NULL;
    u->n = 0;
}

void parse_format_duration(int64_t ms, char *buf, size_t len) {
    static const struct { const char *unit; int64_t ms; } units[] = {
        {"w", 604800000}, {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000},
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(units); i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(buf, len, "%lldms", (long long)ms);
}
