/* test_recordio.c -- RecordIO reader: every split offset, limits, garbage, big records. */
#include "recordio.h"

#include "mcm.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Three records "a", 300 x 'b', "hello\nworld" (a '\n' inside a body). */
static size_t build_stream(uint8_t *out, const char **bodies, size_t *lens, size_t n) {
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        char hdr[24];
        int h = rio_header(lens[i], hdr, sizeof(hdr));
        memcpy(out + off, hdr, (size_t)h);
        off += (size_t)h;
        memcpy(out + off, bodies[i], lens[i]);
        off += lens[i];
    }
    return off;
}

static size_t drain(rio_reader *r, const char **bodies, size_t *lens, size_t got) {
    const uint8_t *d;
    size_t l;
    int rc;
    while ((rc = rio_next(r, &d, &l)) == 1) {
        ck_assert_uint_eq(l, lens[got]);
        ck_assert(memcmp(d, bodies[got], l) == 0);
        got++;
    }
    ck_assert_int_eq(rc, 0);
    return got;
}

START_TEST(test_mesos_recordio_every_split_offset) {
    static char big[300];
    memset(big, 'b', sizeof(big));
    const char *bodies[] = {"a", big, "hello\nworld"};
    size_t lens[] = {1, sizeof(big), 11};
    uint8_t stream[512];
    size_t total = build_stream(stream, bodies, lens, 3);
    for (size_t cut1 = 0; cut1 <= total; cut1++) {
        /* two-piece splits at every offset, and a three-piece split around it */
        size_t cut2 = cut1 + (total - cut1) / 2;
        rio_reader *r = rio_reader_new(1024);
        size_t got = 0;
        ck_assert_int_eq(rio_feed(r, stream, cut1), MCM_OK);
        got = drain(r, bodies, lens, got);
        ck_assert_int_eq(rio_feed(r, stream + cut1, cut2 - cut1), MCM_OK);
        got = drain(r, bodies, lens, got);
        ck_assert_int_eq(rio_feed(r, stream + cut2, total - cut2), MCM_OK);
        got = drain(r, bodies, lens, got);
        ck_assert_uint_eq(got, 3);
        ck_assert_uint_eq(rio_pending(r), 0);
        ck_assert_str_eq(rio_errstr(r), "");
        rio_reader_free(r);
    }
    /* byte at a time */
    rio_reader *r = rio_reader_new(0);
    size_t got = 0;
    for (size_t i = 0; i < total; i++) {
        ck_assert_int_eq(rio_feed(r, stream + i, 1), MCM_OK);
        got = drain(r, bodies, lens, got);
    }
    ck_assert_uint_eq(got, 3);
    rio_reader_free(r);
}
END_TEST

START_TEST(test_mesos_recordio_records_survive_until_next_call) {
    rio_reader *r = rio_reader_new(0);
    ck_assert_int_eq(rio_feed(r, "3\nabc2\nde", 9), MCM_OK);
    const uint8_t *d1, *d2;
    size_t l1, l2;
    ck_assert_int_eq(rio_next(r, &d1, &l1), 1);
    ck_assert(l1 == 3 && memcmp(d1, "abc", 3) == 0);
    ck_assert_int_eq(rio_next(r, &d2, &l2), 1);
    ck_assert(l2 == 2 && memcmp(d2, "de", 2) == 0);
    ck_assert_int_eq(rio_next(r, &d2, &l2), 0);
    rio_reader_free(r);
    rio_reader_free(NULL);
}
END_TEST

static void expect_error(const char *input, size_t max, const char *needle) {
    rio_reader *r = rio_reader_new(max);
    int rc = rio_feed(r, input, strlen(input));
    ck_assert_msg(rc == MCM_ERR, "accepted %s", input);
    ck_assert_msg(strstr(rio_errstr(r), needle) != NULL, "'%s' -> '%s', wanted '%s'", input,
                  rio_errstr(r), needle);
    /* sticky */
    const uint8_t *d;
    size_t l;
    ck_assert_int_eq(rio_next(r, &d, &l), MCM_ERR);
    ck_assert_int_eq(rio_feed(r, "1\nx", 3), MCM_ERR);
    ck_assert_uint_eq(rio_pending(r), 0);
    rio_reader_free(r);
}

START_TEST(test_mesos_recordio_garbage_rejected) {
    expect_error("x\n", 0, "not a digit");
    expect_error("12a\nxxxxxxxxxxxx", 0, "not a digit");
    expect_error("-1\nx", 0, "not a digit");
    expect_error("+1\nx", 0, "not a digit");
    expect_error(" 1\nx", 0, "not a digit");
    expect_error("1\r\nx", 0, "not a digit");
    expect_error("\n", 0, "empty length");
    expect_error("0\n", 0, "length 0");
    expect_error("000\n", 0, "length 0");
    expect_error("000000000000000000001\n", 0, "longer than 20 digits");
    expect_error("1\nx2xx", 0, "not a digit");      /* missing LF after the 2nd length */
    expect_error("3\nabc4 abcd", 0, "not a digit");
    /* a good record before the garbage is still delivered? No: errors are
     * sticky and the feed that carried the garbage fails as a whole. */
}
END_TEST

START_TEST(test_mesos_recordio_oversized_rejected_before_body) {
    /* The length alone is enough: no body byte was sent. */
    expect_error("1025\n", 1024, "exceeds the maximum 1024");
    expect_error("99999999999999999999\n", 0, "exceeds the maximum");
    /* Rejected while the length line is still incomplete. */
    rio_reader *r = rio_reader_new(100);
    ck_assert_int_eq(rio_feed(r, "10", 2), MCM_OK);
    ck_assert_int_eq(rio_feed(r, "1", 1), MCM_ERR);
    rio_reader_free(r);
    /* Exactly max is fine. */
    r = rio_reader_new(4);
    ck_assert_int_eq(rio_feed(r, "4\nabcd", 6), MCM_OK);
    const uint8_t *d;
    size_t l;
    ck_assert_int_eq(rio_next(r, &d, &l), 1);
    ck_assert_uint_eq(l, 4);
    rio_reader_free(r);
}
END_TEST

START_TEST(test_mesos_recordio_large_record_many_chunks) {
    size_t n = 3u * 1024 * 1024 + 7;
    uint8_t *body = malloc(n);
    for (size_t i = 0; i < n; i++) body[i] = (uint8_t)(i * 31 + 7);
    char hdr[24];
    int h = rio_header(n, hdr, sizeof(hdr));
    ck_assert_int_gt(h, 0);
    rio_reader *r = rio_reader_new(0);
    ck_assert_int_eq(rio_feed(r, hdr, (size_t)h), MCM_OK);
    const uint8_t *d;
    size_t l;
    size_t off = 0, chunk = 16384 - 3;
    while (off < n) {
        size_t c = n - off < chunk ? n - off : chunk;
        ck_assert_int_eq(rio_next(r, &d, &l), 0);
        ck_assert_int_eq(rio_feed(r, body + off, c), MCM_OK);
        off += c;
    }
    ck_assert_int_eq(rio_next(r, &d, &l), 1);
    ck_assert_uint_eq(l, n);
    ck_assert(memcmp(d, body, n) == 0);
    ck_assert_int_eq(rio_next(r, &d, &l), 0);
    rio_reader_free(r);
    free(body);
}
END_TEST

START_TEST(test_mesos_recordio_header_writer) {
    char b[24];
    ck_assert_int_eq(rio_header(5, b, sizeof(b)), 2);
    ck_assert_str_eq(b, "5\n");
    ck_assert_int_eq(rio_header(123456, b, 4), -1);
    ck_assert_int_eq(rio_header((size_t)-1, b, sizeof(b)), 21);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mesos_recordio");
    TCase *tc = tcase_create("recordio");
    tcase_add_test(tc, test_mesos_recordio_every_split_offset);
    tcase_add_test(tc, test_mesos_recordio_records_survive_until_next_call);
    tcase_add_test(tc, test_mesos_recordio_garbage_rejected);
    tcase_add_test(tc, test_mesos_recordio_oversized_rejected_before_body);
    tcase_add_test(tc, test_mesos_recordio_large_record_many_chunks);
    tcase_add_test(tc, test_mesos_recordio_header_writer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
