/* test_mig_parse.c -- the engine's pure parts: key encodings, meta replies
 * and metadump lines split at every byte offset, hostile input, the rate
 * limiter and the TTL rule. No server needed. */
#include "mig.h"
#include "mig_dump.h"
#include "mig_key.h"
#include "mig_msg.h"
#include "mig_proto.h"
#include "mig_rate.h"
#include "mig_watch.h"

#include "mcm.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG 2000

START_TEST(test_mig_key_text_and_base64_tokens) {
    mig_key k;
    ck_assert_int_eq(mig_key_token("user:42", 7, &k), MCM_OK);
    ck_assert_str_eq(k.tok, "user:42");
    ck_assert_int_eq(k.b64, 0);
    const unsigned char bin[] = {0x20, 0x0a, 0x00, 0xff, 0x25, 0x41};   /* what protocol.txt's b flag takes */
    ck_assert_int_eq(mig_key_token(bin, sizeof(bin), &k), MCM_OK);
    ck_assert_str_eq(k.tok, "IAoA/yVB");
    ck_assert_int_eq(k.b64, 1);
    char key250[MIG_KEY_MAX];
    memset(key250, 'k', sizeof(key250));
    ck_assert_int_eq(mig_key_token(key250, 250, &k), MCM_OK);
    ck_assert_uint_eq(k.len, 250);
    ck_assert_int_eq(mig_key_token(key250, 251, &k), MCM_ERR);
    ck_assert_int_eq(mig_key_token(key250, 0, &k), MCM_ERR);
    unsigned char b186[186], b187[187];
    memset(b186, ' ', sizeof(b186));
    memset(b187, ' ', sizeof(b187));
    ck_assert_int_eq(mig_key_token(b186, sizeof(b186), &k), MCM_OK);     /* 248 chars */
    ck_assert_int_eq(mig_key_token(b187, sizeof(b187), &k), MCM_ERR);    /* 252: memcached refuses */
}
END_TEST

START_TEST(test_mig_key_urldecode_bounds) {
    unsigned char out[MIG_KEY_MAX];
    size_t n;
    ck_assert_int_eq(mig_key_urldecode("a%2520b", 7, out, &n), MCM_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert(!memcmp(out, "a%20b", 5));
    ck_assert_int_eq(mig_key_urldecode("%20%0A%00%FF%25A", 16, out, &n), MCM_OK);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(out[2], 0);
    ck_assert_int_eq(out[3], 0xff);
    ck_assert_int_eq(mig_key_urldecode("ab%", 3, out, &n), MCM_ERR);
    ck_assert_int_eq(mig_key_urldecode("ab%4", 4, out, &n), MCM_ERR);
    ck_assert_int_eq(mig_key_urldecode("%zz", 3, out, &n), MCM_ERR);
    ck_assert_int_eq(mig_key_urldecode("", 0, out, &n), MCM_ERR);
    char longk[3 * 251 + 1];
    for (int i = 0; i < 251; i++) memcpy(longk + 3 * i, "%41", 3);
    ck_assert_int_eq(mig_key_urldecode(longk, 3 * 250, out, &n), MCM_OK);
    ck_assert_uint_eq(n, 250);
    ck_assert_int_eq(mig_key_urldecode(longk, 3 * 251, out, &n), MCM_ERR);
}
END_TEST

/* Every reply kind, concatenated: parsed whole at any cut of the buffer. */
START_TEST(test_mig_proto_every_split_offset) {
    static char stream[BIG];
    const char *parts[] = {"VA 5 f77 t99 c12\r\nab\r\nc\r\n", "HD c13\r\n", "EN\r\n", "NS\r\n",
                           "NF\r\n", "EX\r\n", "MN\r\n", "SERVER_ERROR object too large for cache\r\n",
                           "VA 0 t-1 c1 f0\r\n\r\n", "HD\r\n"};
    const mig_rc rcs[] = {MIG_RC_VA, MIG_RC_HD, MIG_RC_EN, MIG_RC_NS, MIG_RC_NF, MIG_RC_EX,
                          MIG_RC_MN, MIG_RC_ERROR, MIG_RC_VA, MIG_RC_HD};
    size_t total = 0;
    for (size_t i = 0; i < MCM_ARRAY_LEN(parts); i++) {
        memcpy(stream + total, parts[i], strlen(parts[i]));
        total += strlen(parts[i]);
    }
    for (size_t cut = 0; cut <= total; cut++) {
        size_t pos = 0, got = 0;
        for (size_t avail = cut;; avail = total) {          /* first up to cut, then all */
            mig_reply r;
            size_t used;
            char err[128];
            int rc;
            while ((rc = mig_proto_parse(stream + pos, avail - pos, 1024, &r, &used, err, sizeof(err))) == 1) {
                ck_assert_int_eq(r.rc, rcs[got]);
                if (got == 0) {
                    ck_assert_uint_eq(r.vlen, 5);
                    ck_assert(!memcmp(r.value, "ab\r\nc", 5));       /* binary-safe: CRLF inside */
                    ck_assert_uint_eq(r.flags, 77);
                    ck_assert_int_eq(r.ttl, 99);
                    ck_assert_uint_eq(r.cas, 12);
                    ck_assert_uint_eq(r.have, MIG_HAVE_CAS | MIG_HAVE_FLAGS | MIG_HAVE_TTL);
                }
                if (got == 8) ck_assert_int_eq(r.ttl, -1);
                if (got == 7) ck_assert_str_eq(r.msg, "SERVER_ERROR object too large for cache");
                pos += used;
                got++;
            }
            ck_assert_int_eq(rc, 0);
            if (avail == total) break;
        }
        ck_assert_uint_eq(got, MCM_ARRAY_LEN(parts));
        ck_assert_uint_eq(pos, total);
    }
}
END_TEST

static int parse_one(const char *s, size_t max_value, mig_reply *r, char *err) {
    size_t used;
    return mig_proto_parse(s, strlen(s), max_value, r, &used, err, 128);
}

START_TEST(test_mig_proto_hostile_replies_refused) {
    mig_reply r;
    char err[128];
    ck_assert_int_eq(parse_one("XX 1\r\n", 100, &r, err), MCM_ERR);
    ck_assert_int_eq(parse_one("VA\r\n", 100, &r, err), MCM_ERR);
    ck_assert_int_eq(parse_one("VA -1\r\n", 100, &r, err), MCM_ERR);
    ck_assert_int_eq(parse_one("VA 101 c1\r\n", 100, &r, err), MCM_ERR);       /* over the value limit */
    ck_assert_int_eq(parse_one("VA 99999999999999999999999 c1\r\n", 100, &r, err), MCM_ERR);
    ck_assert_int_eq(parse_one("VA 2 c1\r\nabXY", 100, &r, err), MCM_ERR);   /* no CRLF after value */
    ck_assert_int_eq(parse_one("HD cxyz\r\n", 100, &r, err), MCM_ERR);
    ck_assert_int_eq(parse_one("HD f4294967296\r\n", 100, &r, err), MCM_ERR);  /* flags are 32-bit */
    ck_assert_int_eq(parse_one("HD t-2\r\n", 100, &r, err), MCM_ERR);
    ck_assert_int_eq(parse_one("HD c1\n", 100, &r, err), MCM_ERR);             /* LF without CR */
    ck_assert_int_eq(parse_one("HD f4294967295 c18446744073709551615\r\n", 100, &r, err), 1);
    ck_assert_uint_eq(r.cas, UINT64_MAX);
    ck_assert_int_eq(parse_one("ENX\r\n", 100, &r, err), MCM_ERR);
    static char longline[MIG_REPLY_LINE_MAX + 10];
    memset(longline, 'H', sizeof(longline) - 1);
    ck_assert_int_eq(parse_one(longline, 100, &r, err), MCM_ERR);              /* no line end in bound */
    longline[MIG_REPLY_LINE_MAX - 10] = '\0';
    ck_assert_int_eq(parse_one(longline, 100, &r, err), 0);                    /* still may end */
}
END_TEST

typedef struct dump_seen {
    int n;
    mig_dump_item items[8];
} dump_seen;

static int on_item(void *arg, const mig_dump_item *it) {
    dump_seen *s = arg;
    if (s->n < 8) s->items[s->n] = *it;
    s->n++;
    return 0;
}

/* As memcached 1.6.18 prints them (captured from the real server). */
static const char DUMP[] =
    "key=foo exp=1796188350 la=1796188250 cas=1 fetch=no cls=1 size=69\n"
    "key=a%2520b exp=-1 la=1796188256 cas=4 fetch=yes cls=1 size=65\n"
    "key=%20%0A%00%FF%25A exp=-1 la=1796188327 cas=7 fetch=no cls=1 size=66\n"
    "END\r\n";

START_TEST(test_mig_dump_every_split_offset) {
    size_t total = strlen(DUMP);
    for (size_t cut = 0; cut <= total; cut++) {
        dump_seen s = {0};
        mig_dump *d = mig_dump_new(on_item, &s);
        ck_assert_int_eq(mig_dump_feed(d, DUMP, cut), (long)cut);
        ck_assert_int_eq(mig_dump_feed(d, DUMP + cut, total - cut), (long)(total - cut));
        ck_assert(mig_dump_done(d));
        ck_assert_int_eq(s.n, 3);
        ck_assert_uint_eq(mig_dump_bad_lines(d), 0);
        ck_assert_uint_eq(s.items[0].klen, 3);
        ck_assert_int_eq(s.items[0].exp, 1796188350);
        ck_assert_int_eq(s.items[0].la, 1796188250);
        ck_assert_uint_eq(s.items[0].size, 69);
        ck_assert_int_eq(s.items[1].fetched, 1);
        ck_assert(!memcmp(s.items[1].key, "a%20b", 5));
        ck_assert_uint_eq(s.items[2].klen, 6);
        ck_assert_uint_eq(s.items[2].cas, 7);
        mig_dump_free(d);
    }
}
END_TEST

START_TEST(test_mig_dump_stops_at_end_and_leaves_the_rest) {
    dump_seen s = {0};
    mig_dump *d = mig_dump_new(on_item, &s);
    char buf[256];
    snprintf(buf, sizeof(buf), "key=x la=1 size=1\nEND\r\nHD c1\r\n");
    ck_assert_int_eq(mig_dump_feed(d, buf, strlen(buf)), (long)strlen(buf) - 7);
    ck_assert(mig_dump_done(d));
    mig_dump_free(d);
}
END_TEST

START_TEST(test_mig_dump_hostile_lines_skipped_and_counted) {
    dump_seen s = {0};
    mig_dump *d = mig_dump_new(on_item, &s);
    const char *bad[] = {
        "key= la=1\n", "la=1 size=3\n", "key=%zz la=1\n", "key=a la=1x\n", "key=a cas=-1\n",
        "key=a fetch=maybe\n", "key=a cls=999\n", "garbage\n", "key=a la=99999999999999999999999\n", "\n",
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) ck_assert_int_ge(mig_dump_feed(d, bad[i], strlen(bad[i])), 0);
    char *huge = malloc(3 * MIG_DUMP_LINE_MAX);
    memset(huge, 'k', 3 * MIG_DUMP_LINE_MAX);
    memcpy(huge, "key=", 4);
    huge[3 * MIG_DUMP_LINE_MAX - 1] = '\n';
    ck_assert_int_ge(mig_dump_feed(d, huge, 3 * MIG_DUMP_LINE_MAX), 0);   /* over-long: skipped */
    free(huge);
    const char *good = "key=ok la=5 future=field size=7\nEND\r\n";
    ck_assert_int_ge(mig_dump_feed(d, good, strlen(good)), 0);
    ck_assert(mig_dump_done(d));
    ck_assert_int_eq(s.n, 1);
    ck_assert(!memcmp(s.items[0].key, "ok", 2));
    ck_assert_uint_eq(mig_dump_bad_lines(d), MCM_ARRAY_LEN(bad) + 1);
    mig_dump_free(d);
}
END_TEST

START_TEST(test_mig_dump_refusals) {
    const char *busy = "BUSY currently processing crawler request\r\n";
    mig_dump *d = mig_dump_new(on_item, NULL);
    ck_assert_int_eq(mig_dump_feed(d, busy, strlen(busy)), -1);
    ck_assert(mig_dump_busy(d));
    ck_assert_ptr_nonnull(strstr(mig_dump_errstr(d), "BUSY"));
    ck_assert_int_eq(mig_dump_feed(d, "END\r\n", 5), -1);           /* sticky */
    mig_dump_free(d);
    d = mig_dump_new(on_item, NULL);
    ck_assert_int_eq(mig_dump_feed(d, "ERROR\r\n", 7), -1);
    ck_assert(!mig_dump_busy(d));
    mig_dump_free(d);
}
END_TEST

START_TEST(test_mig_rate_limits_bytes_per_second) {
    mig_rate r;
    mig_rate_init(&r, 1000, 0);                           /* 1000 B/s, burst 100 B */
    ck_assert_int_eq(mig_rate_take(&r, 0, 0), 0);
    int64_t w = mig_rate_take(&r, 500, 0);                /* debt of 500 B: half a second */
    ck_assert_int_ge(w, 500);
    ck_assert_int_le(w, 502);
    ck_assert_int_gt(mig_rate_wait(&r, 250), 0);
    ck_assert_int_eq(mig_rate_wait(&r, 501), 0);
    /* a long pause earns at most the burst */
    ck_assert_int_eq(mig_rate_take(&r, 100, 100000), 0);
    ck_assert_int_gt(mig_rate_take(&r, 1, 100000), 0);
    /* over a simulated run, bytes taken <= rate * time + burst */
    mig_rate_init(&r, 1000, 0);
    int64_t now = 0;
    uint64_t taken = 0;
    while (now < 10000) {
        now += mig_rate_take(&r, 37, now);
        taken += 37;
    }
    ck_assert_uint_le(taken, 1000 * 10 + 100 + 37);
    ck_assert_uint_ge(taken, 1000 * 10 - 37);
    mig_rate_init(&r, 0, 0);
    ck_assert_int_eq(mig_rate_take(&r, 1u << 30, 0), 0);   /* 0 = unlimited */
}
END_TEST

START_TEST(test_mig_copy_ttl_never_outlives_the_original) {
    int64_t t;
    ck_assert_int_eq(mig_copy_ttl(-1, 1000, &t), 1);
    ck_assert_int_eq(t, 0);                               /* no TTL stays no TTL */
    ck_assert_int_eq(mig_copy_ttl(100, 1000, &t), 1);
    ck_assert_int_eq(t, 99);
    ck_assert_int_eq(mig_copy_ttl(1, 1000, &t), 0);       /* expires within the second: not copied */
    ck_assert_int_eq(mig_copy_ttl(0, 1000, &t), 0);
    ck_assert_int_eq(mig_copy_ttl(MIG_TTL_RELATIVE_MAX + 1, 1000, &t), 1);
    ck_assert_int_eq(t, MIG_TTL_RELATIVE_MAX);            /* still relative */
    ck_assert_int_eq(mig_copy_ttl(40 * 86400, 1796000000, &t), 1);
    ck_assert_int_eq(t, 1796000000 + 40 * 86400 - 1);     /* past 30 days: a unix time */
}
END_TEST

START_TEST(test_mig_watch_lines) {
    unsigned char k[MIG_KEY_MAX];
    size_t n = 0;
    int cfd = 0;
#define LINE(s) s, strlen(s)
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=4 type=item_store key=%22x%22 status=stored cmd=set ttl=0 "
                                         "clsid=1 cfd=25 size=1"), k, &n, &cfd), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(memcmp(k, "\"x\"", 3), 0);
    ck_assert_int_eq(cfd, 25);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=5 type=item_get key=foo status=found clsid=1 cfd=7 size=3"), k,
                                    &n, &cfd), 1);
    ck_assert_int_eq(cfd, 7);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=5 type=item_get key=foo"), k, &n, &cfd), 1);   /* no cfd */
    ck_assert_int_eq(cfd, -1);
    ck_assert_int_eq(mig_watch_line(LINE("skipped=12"), k, &n, &cfd), 2);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=5 type=eviction key=foo"), k, &n, &cfd), 0);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=5 type=item_get key= cfd=3"), k, &n, &cfd), 0);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=5 type=item_get key=%zz cfd=3"), k, &n, &cfd), 0);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=5 type=item_get_x key=a cfd=3"), k, &n, &cfd), 0);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 gid=5 xtype=item_get key=a"), k, &n, &cfd), 0);
    ck_assert_int_eq(mig_watch_line(LINE("ts=1.2 type=item_get key=a cfd=99999999999"), k, &n, &cfd), 1);
    ck_assert_int_eq(cfd, -1);
    ck_assert_int_eq(mig_watch_line(LINE(""), k, &n, &cfd), 0);
#undef LINE
}
END_TEST

START_TEST(test_mig_phase_names) {
    ck_assert_str_eq(mig_phase_name(MIG_PHASE_CATCHUP), "catchup");
    ck_assert_int_eq(mig_phase_parse("cleanup"), MIG_PHASE_CLEANUP);
    ck_assert_int_eq(mig_phase_parse("nope"), -1);
}
END_TEST


START_TEST(test_mig_msg_command_round_trip_and_refusals) {
    char *ring[] = {"10.0.0.1:31000", "10.0.0.2:31000", "[::1]:31001"};
    mig_cmd c = {.id = 7, .phase = MIG_CMD_CATCHUP, .ring = ring, .nring = 3, .rate = 1000, .budget_ms = 5000};
    snprintf(c.self, sizeof(c.self), "10.0.0.2:31000");
    char *s = mig_cmd_encode(&c);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(mig_msg_type(s, strlen(s)), MIG_MSG_COMMAND);
    mig_cmd d;
    char err[256];
    ck_assert_msg(mig_cmd_decode(s, strlen(s), &d, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_int_eq(d.id, 7);
    ck_assert_int_eq(d.phase, MIG_CMD_CATCHUP);
    ck_assert_int_eq(d.nring, 3);
    ck_assert_str_eq(d.ring[2], "[::1]:31001");
    ck_assert_int_eq(mig_cmd_self_index(&d), 1);
    ck_assert_uint_eq(d.rate, 1000);
    ck_assert_int_eq(d.budget_ms, 5000);
    mig_cmd_clear(&d);
    /* the ring encoded once, each command around it: the same command */
    char *rj = mig_ring_json(ring, 3);
    ck_assert_ptr_nonnull(rj);
    c.phase = MIG_CMD_PURGE;
    c.from = ring, c.nfrom = 2, c.lost = ring + 2, c.nlost = 1;
    char *t = mig_cmd_encode_ring(&c, rj);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(mig_cmd_decode(t, strlen(t), &d, err, sizeof(err)) == MCM_OK, "%s: %s", err, t);
    ck_assert_int_eq(d.nring, 3);
    ck_assert_str_eq(d.ring[0], "10.0.0.1:31000");
    ck_assert_str_eq(d.ring[2], "[::1]:31001");
    ck_assert_int_eq(d.phase, MIG_CMD_PURGE);
    ck_assert_int_eq(d.nfrom, 2);
    ck_assert_str_eq(d.lost[0], "[::1]:31001");
    ck_assert_int_eq(mig_cmd_self_index(&d), 1);
    mig_cmd_clear(&d);
    free(t);
    char *badring[] = {"10.0.0.1:31000", "no port"};
    ck_assert_ptr_null(mig_ring_json(badring, 2));
    ck_assert_ptr_null(mig_ring_json(ring, 0));
    ck_assert_ptr_null(mig_cmd_encode_ring(&c, NULL));
    free(rj);
    free(s);
    const char *bad[] = {
        "", "[]", "{\"type\":\"migrate\"}", "not json",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"fly\",\"ring\":[\"a:1\"],\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":0,\"phase\":\"copy\",\"ring\":[\"a:1\"],\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"ring\":[],\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"ring\":[\"a:1\",\"a:1\"],\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"ring\":[\"a b:1\"],\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"ring\":[\"a:99999\"],\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"ring\":[5],\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"ring\":[\"a:1\"],\"self\":\"a:1\",\"rate\":-5,\"budget_ms\":0}",
        "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"ring\":[\"a:1\"],\"rate\":0,\"budget_ms\":0}",
    };
    for (size_t i = 0; i < MCM_ARRAY_LEN(bad); i++) {
        ck_assert_msg(mig_cmd_decode(bad[i], strlen(bad[i]), &d, err, sizeof(err)) == MCM_ERR, "accepted %s", bad[i]);
        ck_assert_ptr_null(d.ring);
    }
    const char *ok = "{\"v\":2,\"type\":\"migrate\",\"id\":1,\"phase\":\"abort\",\"ring\":[\"a:1\"],"
                     "\"self\":\"b:2\",\"rate\":0,\"budget_ms\":0,\"future\":[1,2]}";
    ck_assert_int_eq(mig_cmd_decode(ok, strlen(ok), &d, err, sizeof(err)), MCM_OK);   /* newer v, extra field */
    ck_assert_int_eq(mig_cmd_self_index(&d), -1);
    mig_cmd_clear(&d);
    /* the ring bound */
    size_t cap = (MIG_MSG_RING_MAX + 2) * 24 + 256, n = 0;
    char *big = malloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "{\"v\":1,\"type\":\"migrate\",\"id\":1,\"phase\":\"copy\",\"self\":\"a:1\",\"rate\":0,\"budget_ms\":0,\"ring\":[");
    for (int i = 0; i <= MIG_MSG_RING_MAX; i++) n += (size_t)snprintf(big + n, cap - n, "%s\"h%d:1\"", i ? "," : "", i);
    n += (size_t)snprintf(big + n, cap - n, "]}");
    ck_assert_int_eq(mig_cmd_decode(big, n, &d, err, sizeof(err)), MCM_ERR);
    ck_assert_ptr_nonnull(strstr(err, "4096"));
    free(big);
    const char *rep = "{\"v\":1,\"task_id\":\"t\"}";
    ck_assert_int_eq(mig_msg_type(rep, strlen(rep)), MIG_MSG_OTHER);   /* a report */
    /* the no-parse shortcut must not miss a "type" spelled with an escape */
    const char *esc = "{\"v\":1,\"t\\u0079pe\":\"migrate_progress\"}";
    ck_assert_int_eq(mig_msg_type(esc, strlen(esc)), MIG_MSG_PROGRESS);
    const char *typed_report = "{\"v\":1,\"task_id\":\"type\"}";
    ck_assert_int_eq(mig_msg_type(typed_report, strlen(typed_report)), MIG_MSG_OTHER);
}
END_TEST

START_TEST(test_mig_msg_progress_round_trip) {
    mig_msg_progress m = {.id = 9, .phase = MIG_CMD_COPY, .done = 1};
    snprintf(m.task_id, sizeof(m.task_id), "mcm-task-1");
    snprintf(m.error, sizeof(m.error), "new owner 10.0.0.3:31000 unreachable");
    m.p.keys_total = 100;
    m.p.keys_copied = 90;
    m.p.bytes_copied = 1ull << 40;
    m.p.invalidated = 10;
    m.p.eta_ms = -1;
    m.p.elapsed_ms = 1234;
    char buf[MIG_MSG_PROGRESS_MAX + 1], err[256];
    int n = mig_progress_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(mig_msg_type(buf, (size_t)n), MIG_MSG_PROGRESS);
    mig_msg_progress d;
    ck_assert_msg(mig_progress_decode(buf, (size_t)n, &d, err, sizeof(err)) == MCM_OK, "%s", err);
    ck_assert_str_eq(d.task_id, "mcm-task-1");
    ck_assert_int_eq(d.done, 1);
    ck_assert_uint_eq(d.p.bytes_copied, 1ull << 40);
    ck_assert_uint_eq(d.p.invalidated, 10);
    ck_assert_int_eq(d.p.eta_ms, -1);
    ck_assert_str_eq(d.error, m.error);
    ck_assert_int_eq(mig_progress_encode(&m, buf, 20), -1);                 /* does not fit */
    snprintf(m.task_id, sizeof(m.task_id), "bad\"id");
    ck_assert_int_eq(mig_progress_encode(&m, buf, sizeof(buf)), -1);
    const char *part = "{\"type\":\"migrate_progress\",\"v\":1}";
    ck_assert_int_eq(mig_progress_decode(part, strlen(part), &d, err, sizeof(err)), MCM_ERR);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mig_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_mig_key_text_and_base64_tokens);
    tcase_add_test(tc, test_mig_key_urldecode_bounds);
    tcase_add_test(tc, test_mig_proto_every_split_offset);
    tcase_add_test(tc, test_mig_proto_hostile_replies_refused);
    tcase_add_test(tc, test_mig_dump_every_split_offset);
    tcase_add_test(tc, test_mig_dump_stops_at_end_and_leaves_the_rest);
    tcase_add_test(tc, test_mig_dump_hostile_lines_skipped_and_counted);
    tcase_add_test(tc, test_mig_dump_refusals);
    tcase_add_test(tc, test_mig_rate_limits_bytes_per_second);
    tcase_add_test(tc, test_mig_copy_ttl_never_outlives_the_original);
    tcase_add_test(tc, test_mig_watch_lines);
    tcase_add_test(tc, test_mig_phase_names);
    tcase_add_test(tc, test_mig_msg_command_round_trip_and_refusals);
    tcase_add_test(tc, test_mig_msg_progress_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
