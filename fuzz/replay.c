/* replay.c -- the fuzz targets' smoke mode without libFuzzer: a main() that
 * runs LLVMFuzzerTestOneInput on every file of the corpus directories given,
 * then on mutations of them (bit flips, byte changes, cuts, insertions,
 * splices; a fixed PRNG seed, so a failure repeats) until
 * MCM_FUZZ_SMOKE_MS (default 3000) have passed.
 *
 * Why: the suite must exercise each decoder of untrusted input on every
 * build, also one made with gcc where libFuzzer does not exist; the long,
 * coverage-guided runs are by hand (README.md). A crash, an abort from a
 * target's own check or a sanitizer report fails the test.
 * Threads: one. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CORPUS_MAX 512
#define INPUT_MAX (64 * 1024)
#define SMOKE_DEFAULT_MS 3000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    uint8_t *p;
    size_t n;
} input;

static input corpus[CORPUS_MAX];
static int ncorpus;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void) {              /* xorshift64 */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void load_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        exit(2);
    }
    while ((e = readdir(d)) && ncorpus < CORPUS_MAX) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        input in = {malloc(INPUT_MAX), 0};
        in.n = fread(in.p, 1, INPUT_MAX, f);
        fclose(f);
        corpus[ncorpus++] = in;
        LLVMFuzzerTestOneInput(in.p, in.n);
    }
    closedir(d);
}

/* One mutation of a corpus input into buf; returns its length. */
static size_t mutate(uint8_t *buf) {
    const input *a = &corpus[next() % (uint64_t)ncorpus], *b = &corpus[next() % (uint64_t)ncorpus];
    size_t n = a->n;
    memcpy(buf, a->p, n);
    for (int k = 1 + (int)(next() % 4); k > 0; k--) {
        size_t at = n ? next() % n : 0;
        switch (next() % 5) {
        case 0: if (n) buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
        case 1: if (n) buf[at] = (uint8_t)next(); break;
        case 2: n = at; break;                                           /* cut */
        case 3:                                                          /* insert a byte */
            if (n < INPUT_MAX) { memmove(buf + at + 1, buf + at, n - at); buf[at] = (uint8_t)next(); n++; }
            break;
        default: {                                                       /* splice b's tail */
            size_t from = b->n ? next() % b->n : 0, len = b->n - from;
            if (at + len > INPUT_MAX) len = INPUT_MAX - at;
            memcpy(buf + at, b->p + from, len);
            n = at + len;
        }
        }
    }
    return n;
}

int main(int argc, char **argv) {
    const char *env = getenv("MCM_FUZZ_SMOKE_MS");
    int64_t budget = env ? atoll(env) : SMOKE_DEFAULT_MS;
    for (int i = 1; i < argc; i++) load_dir(argv[i]);
    if (ncorpus == 0) {
        fprintf(stderr, "replay: no corpus inputs\n");
        return 2;
    }
    uint8_t *buf = malloc(INPUT_MAX + 1);
    long runs = 0;
    for (int64_t end = now_ms() + budget; now_ms() < end; runs++) {
        size_t n = mutate(buf);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("replay: %d corpus inputs, %ld mutations in %lld ms, no failure\n", ncorpus, runs, (long long)budget);
    free(buf);
    for (int i = 0; i < ncorpus; i++) free(corpus[i].p);
    return 0;
}
