/* test_metrics.c -- the metrics registry: values, families, wholesale
 * replacement, and an exposition text that parses line by line. */
#include "mcm.h"
#include "metrics.h"
#include "metrics_mcm.h"
#include "promparse.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

static prom_doc render_parse(metrics *m) {
    char *text = metrics_render(m, NULL);
    ck_assert_ptr_nonnull(text);
    prom_doc d;
    ck_assert_msg(prom_parse(text, &d, err, sizeof(err)) == 0, "%s\n%s", err, text);
    free(text);
    return d;
}

START_TEST(test_metrics_counters_and_gauges) {
    metrics *m = metrics_new();
    metrics_family *c = metrics_family_add(m, METRICS_COUNTER, "t_offers_total", "Offers.", NULL);
    metrics_family *g = metrics_family_add(m, METRICS_GAUGE, "t_tasks", "Tasks.", "state");
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(g);
    double v = -1;
    ck_assert_int_eq(metrics_get(c, NULL, &v), MCM_OK);      /* unlabelled: present at 0 */
    ck_assert(v == 0);
    ck_assert_int_eq(metrics_inc(c, NULL), MCM_OK);
    ck_assert_int_eq(metrics_add(c, NULL, 2.5), MCM_OK);
    ck_assert_int_eq(metrics_add(c, NULL, -1), MCM_ERR);     /* counters only go up */
    ck_assert_int_eq(metrics_add(c, NULL, NAN), MCM_ERR);
    ck_assert_int_eq(metrics_get(c, NULL, &v), MCM_OK);
    ck_assert(v == 3.5);
    ck_assert_int_eq(metrics_get(g, METRICS_L("running"), &v), MCM_ERR);
    ck_assert_int_eq(metrics_set(g, METRICS_L("running"), 3), MCM_OK);
    ck_assert_int_eq(metrics_add(g, METRICS_L("running"), -1), MCM_OK);
    ck_assert_int_eq(metrics_set(g, METRICS_L("staging"), 1), MCM_OK);
    ck_assert_int_eq(metrics_get(g, METRICS_L("running"), &v), MCM_OK);
    ck_assert(v == 2);
    prom_doc d = render_parse(m);
    ck_assert_uint_eq(d.n, 3);
    ck_assert(prom_find(&d, "t_offers_total", NULL)->value == 3.5);
    ck_assert(prom_find(&d, "t_tasks", "state=staging")->value == 1);
    prom_free(&d);
    metrics_free(m);
    metrics_free(NULL);
}
END_TEST

START_TEST(test_metrics_family_names_checked_and_shared) {
    metrics *m = metrics_new();
    ck_assert_ptr_null(metrics_family_add(m, METRICS_GAUGE, "", "x", NULL));
    ck_assert_ptr_null(metrics_family_add(m, METRICS_GAUGE, "9lives", "x", NULL));
    ck_assert_ptr_null(metrics_family_add(m, METRICS_GAUGE, "a-b", "x", NULL));
    ck_assert_ptr_null(metrics_family_add(m, METRICS_GAUGE, "ok", "x", "bad-label"));
    ck_assert_ptr_null(metrics_family_add(m, METRICS_GAUGE, "ok", "x", "__reserved"));
    ck_assert_ptr_null(metrics_family_add(m, METRICS_GAUGE, "ok", "x", "a,b,c,d,e"));
    metrics_family *a = metrics_family_add(m, METRICS_GAUGE, "ns:ok", "x", "a,b");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(metrics_family_add(m, METRICS_GAUGE, "ns:ok", "other help", "a,b"), a);
    ck_assert_ptr_null(metrics_family_add(m, METRICS_COUNTER, "ns:ok", "x", "a,b"));
    ck_assert_ptr_null(metrics_family_add(m, METRICS_GAUGE, "ns:ok", "x", "a"));
    ck_assert_ptr_eq(metrics_find(m, "ns:ok"), a);
    ck_assert_ptr_null(metrics_find(m, "nope"));
    ck_assert_int_eq(metrics_family_labels(a), 2);
    char big[METRICS_LABEL_VALUE_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ck_assert_int_eq(metrics_set(a, METRICS_L(big, "y"), 1), MCM_ERR);
    metrics_free(m);
}
END_TEST

START_TEST(test_metrics_label_escaping_round_trips) {
    metrics *m = metrics_new();
    metrics_family *g = metrics_family_add(m, METRICS_GAUGE, "t_esc", "Help with \\ backslash\nand newline.", "v");
    const char *nasty = "quote\" back\\slash new\nline {},=";
    ck_assert_int_eq(metrics_set(g, METRICS_L(nasty), 1), MCM_OK);
    ck_assert_int_eq(metrics_set(g, METRICS_L(NULL), 2), MCM_OK);    /* NULL = "" */
    metrics_family *f = metrics_family_add(m, METRICS_GAUGE, "t_special", "Special values.", "k");
    metrics_set(f, METRICS_L("inf"), INFINITY);
    metrics_set(f, METRICS_L("ninf"), -INFINITY);
    metrics_set(f, METRICS_L("small"), 0.125);
    metrics_set(f, METRICS_L("big"), 1e300);
    char *text = metrics_render(m, NULL);
    ck_assert_ptr_nonnull(strstr(text, "# HELP t_esc Help with \\\\ backslash\\nand newline.\n"));
    ck_assert_ptr_nonnull(strstr(text, "t_esc{v=\"quote\\\" back\\\\slash new\\nline {},=\"} 1\n"));
    free(text);
    prom_doc d = render_parse(m);
    int found = 0;
    for (size_t i = 0; i < d.n; i++)
        if (strcmp(d.s[i].name, "t_esc") == 0 && strcmp(d.s[i].lvalue[0], nasty) == 0) found = 1;
    ck_assert(found);
    ck_assert(prom_find(&d, "t_esc", "v=")->value == 2);
    ck_assert(isinf(prom_find(&d, "t_special", "k=inf")->value));
    ck_assert(prom_find(&d, "t_special", "k=ninf")->value < 0);
    ck_assert(prom_find(&d, "t_special", "k=small")->value == 0.125);
    ck_assert(prom_find(&d, "t_special", "k=big")->value == 1e300);
    prom_free(&d);
    metrics_free(m);
}
END_TEST

START_TEST(test_metrics_replace_drops_removed_series) {
    metrics *m = metrics_new();
    metrics_mcm mm;
    ck_assert_int_eq(metrics_mcm_register(m, &mm), MCM_OK);
    metrics_mcm mm2;
    ck_assert_int_eq(metrics_mcm_register(m, &mm2), MCM_OK);   /* idempotent */
    ck_assert_ptr_eq(mm.tasks, mm2.tasks);
    metrics_mc_figures two[] = {
        {"mcm-a", "10.0.0.1:31000", 100, 1000, 1, 0.5, 3},
        {"mcm-b", "10.0.0.2:31001", 200, 1000, 0, 0.9, 4},
    };
    ck_assert_int_eq(metrics_mcm_set_memcached(&mm, two, 2), MCM_OK);
    prom_doc d = render_parse(m);
    ck_assert(prom_find(&d, "mcm_memcached_bytes", "task_id=mcm-b,server=10.0.0.2:31001")->value == 200);
    ck_assert(prom_find(&d, "mcm_memcached_hit_ratio", "task_id=mcm-a")->value == 0.5);
    ck_assert_ptr_nonnull(prom_find(&d, "mcm_build_info", "version=" MCM_VERSION));
    prom_free(&d);
    ck_assert_int_eq(metrics_mcm_set_memcached(&mm, &two[1], 1), MCM_OK);
    d = render_parse(m);
    ck_assert_ptr_null(prom_find(&d, "mcm_memcached_bytes", "task_id=mcm-a"));
    ck_assert_ptr_null(prom_find(&d, "mcm_memcached_connections", "task_id=mcm-a"));
    ck_assert(prom_find(&d, "mcm_memcached_connections", "task_id=mcm-b")->value == 4);
    prom_free(&d);
    ck_assert_int_eq(metrics_mcm_set_memcached(&mm, NULL, 0), MCM_OK);
    d = render_parse(m);
    ck_assert_ptr_null(prom_find(&d, "mcm_memcached_bytes", NULL));
    prom_free(&d);
    metrics_clear(mm.tasks);
    metrics_free(m);
}
END_TEST

START_TEST(test_metrics_series_limit) {
    metrics *m = metrics_new();
    metrics_family *g = metrics_family_add(m, METRICS_GAUGE, "t_many", "Many.", "i");
    static char names[METRICS_MAX_SERIES][8];
    static const char *lv[METRICS_MAX_SERIES];
    static double vals[METRICS_MAX_SERIES];
    for (int i = 0; i < METRICS_MAX_SERIES; i++) {
        snprintf(names[i], sizeof(names[i]), "%d", i);
        lv[i] = names[i];
        vals[i] = i;
    }
    ck_assert_int_eq(metrics_replace(g, METRICS_MAX_SERIES + 1, lv, vals), MCM_ERR);
    ck_assert_int_eq(metrics_replace(g, METRICS_MAX_SERIES, lv, vals), MCM_OK);
    ck_assert_int_eq(metrics_set(g, METRICS_L("one-too-many"), 1), MCM_ERR);
    ck_assert_int_eq(metrics_set(g, METRICS_L("7"), 70), MCM_OK);    /* existing still updates */
    metrics_free(m);
}
END_TEST

typedef struct stress {
    metrics *m;
    metrics_family *c;
    int stop;
} stress;

static void *render_loop(void *arg) {
    stress *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        prom_doc d;
        char *text = metrics_render(s->m, NULL);
        ck_assert_int_eq(prom_parse(text, &d, err, sizeof(err)), 0);
        prom_free(&d);
        free(text);
    }
    return NULL;
}

START_TEST(test_metrics_concurrent_updates_and_renders) {
    stress s = {.m = metrics_new()};
    s.c = metrics_family_add(s.m, METRICS_COUNTER, "t_c_total", "C.", "k");
    metrics_mcm mm;
    metrics_mcm_register(s.m, &mm);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, render_loop, &s);
    for (int i = 0; i < 20000; i++) {
        metrics_inc(s.c, METRICS_L(i % 2 ? "odd" : "even"));
        if (i % 100 == 0) {
            metrics_mc_figures f = {"t", "h:1", i, 1, 2, 0.5, 1};
            metrics_mcm_set_memcached(&mm, &f, (size_t)(i / 100 % 2));
        }
    }
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    double v;
    ck_assert_int_eq(metrics_get(s.c, METRICS_L("odd"), &v), MCM_OK);
    ck_assert(v == 10000);
    metrics_free(s.m);
}
END_TEST

int main(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, test_metrics_counters_and_gauges);
    tcase_add_test(tc, test_metrics_family_names_checked_and_shared);
    tcase_add_test(tc, test_metrics_label_escaping_round_trips);
    tcase_add_test(tc, test_metrics_replace_drops_removed_series);
    tcase_add_test(tc, test_metrics_series_limit);
    tcase_add_test(tc, test_metrics_concurrent_updates_and_renders);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
