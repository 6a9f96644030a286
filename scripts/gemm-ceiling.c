/* The GEMM ceiling of a workload: the products of one training step of an MLP, timed in
 * each sgemm library on the machine, for scripts/bench.
 *
 *   gemm-ceiling THREADS BATCH D0 D1 ... DL
 *
 * A step of layers D0 -> D1 -> ... -> DL on BATCH rows multiplies, row-major:
 *   forward   X (B, Di) W (Di, Di+1)                 NN  m B,    n Di+1, k Di
 *   backward  dW = X^T G                             TN  m Di,   n Di+1, k B
 *             dX = G W^T (not for the first layer)   NT  m B,    n Di,   k Di+1
 * Each shape is timed (the best of 5 runs of at least 30 ms, after a warm-up) in OpenBLAS
 * (its own THREADS threads) and, when libdnnl.so.2 or .3 loads, in oneDNN's dnnl_sgemm
 * (OMP_NUM_THREADS=THREADS). OpenBLAS is timed with each kernel family the CPU runs: the
 * one it picked itself and, in a DYNAMIC_ARCH build, Haswell (AVX2 and FMA) and SkylakeX
 * (AVX-512 F, BW, DQ and VL), switched in place through its own OPENBLAS_CORETYPE selection
 * (gotoblas_dynamic_quit and _init). A library may not know a newer CPU: Debian's 0.3.21
 * falls back to its SSE3 (Prescott) kernels on Intel's family 6 model 207, five times slower.
 * Prints JSON: the FLOPs of a step per sample, the GFLOP/s over the step's products of each
 * library (OpenBLAS with its faster family for each shape) and of each OpenBLAS family, and
 * "best": the GFLOP/s with the fastest of all for each shape.
 * Built by scripts/bench: cc -O2 gemm-ceiling.c -lopenblas -ldl */
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

char *openblas_get_corename(void);

typedef int (*dnnl_sgemm_t)(char, char, long, long, long, float, const float *, long, const float *, long, float, float *, long);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static dnnl_sgemm_t onednn;
static float *a, *b, *c;

/* Seconds per call of one shape in library `engine` (0 OpenBLAS, 1 oneDNN). */
static double seconds(int engine, int ta, int tb, long m, long n, long k) {
    long lda = ta ? m : k, ldb = tb ? k : n;
    double best = 1e30;
    for (int round = 0; round < 6; round++) {
        int calls = 0;
        double start = now(), elapsed;
        do {
            if (engine == 0)
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1, a, lda, b, ldb, 0, c, n);
            else
                onednn(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1, a, lda, b, ldb, 0, c, n);
            calls++;
            elapsed = now() - start;
        } while (elapsed < 0.03);
        if (round > 0 && elapsed / calls < best) best = elapsed / calls;  /* round 0 warms up */
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: gemm-ceiling THREADS BATCH D0 D1 ... DL\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    long batch = atol(argv[2]), layers = argc - 4;
    char count[16];
    snprintf(count, sizeof count, "%d", threads);
    setenv("OMP_NUM_THREADS", count, 1);  /* read when oneDNN's OpenMP starts */
    void *library = dlopen("libdnnl.so.3", RTLD_NOW);
    if (!library) library = dlopen("libdnnl.so.2", RTLD_NOW);
    if (library) onednn = (dnnl_sgemm_t)dlsym(library, "dnnl_sgemm");
    openblas_set_num_threads(threads);

    /* OpenBLAS's kernel families to time: its own choice first, then those the CPU runs. */
    const char *families[3];
    int family_count = 0;
    families[family_count++] = strdup(openblas_get_corename());
    void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    if (quit && init && !getenv("OPENBLAS_CORETYPE")) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
        if (avx2 && strcasecmp(families[0], "Haswell") != 0) families[family_count++] = "Haswell";
        if (avx512 && strcasecmp(families[0], "SkylakeX") != 0) families[family_count++] = "SkylakeX";
    }

    long widest = 0;
    for (int i = 3; i < argc; i++) if (atol(argv[i]) > widest) widest = atol(argv[i]);
    long size = (batch > widest ? batch : widest) * widest;
    a = malloc(4 * size), b = malloc(4 * size), c = malloc(4 * size);
    for (long i = 0; i < size; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; c[i] = 0; }

    double flops = 0, family_total[3] = {0, 0, 0}, openblas_total = 0, onednn_total = 0, best = 0;
    for (long l = 0; l < layers; l++) {
        long d0 = atol(argv[3 + l]), d1 = atol(argv[4 + l]);
        long shapes[3][5] = {{0, 0, batch, d1, d0}, {1, 0, d0, d1, batch}, {0, 1, batch, d0, d1}};
        for (int s = 0; s < (l == 0 ? 2 : 3); s++) {
            long *x = shapes[s];
            double fastest_family = 1e30;
            for (int f = 0; f < family_count; f++) {
                if (family_count > 1) {
                    setenv("OPENBLAS_CORETYPE", families[f], 1);
                    quit();
                    init();
                }
                double t = seconds(0, (int)x[0], (int)x[1], x[2], x[3], x[4]);
                family_total[f] += t;
                if (t < fastest_family) fastest_family = t;
            }
            double t1 = onednn ? seconds(1, (int)x[0], (int)x[1], x[2], x[3], x[4]) : 1e30;
            openblas_total += fastest_family;
            onednn_total += t1;
            best += fastest_family < t1 ? fastest_family : t1;
            flops += 2.0 * x[2] * x[3] * x[4];
        }
    }
    printf("{\"flop_per_sample\": %.0f, \"threads\": %d, \"openblas\": %.1f, \"openblas_families\": {", flops / batch, threads, flops / openblas_total / 1e9);
    for (int f = 0; f < family_count; f++) printf("%s\"%s\": %.1f", f ? ", " : "", families[f], flops / family_total[f] / 1e9);
    printf("}, \"onednn\": ");
    if (onednn) printf("%.1f", flops / onednn_total / 1e9); else printf("null");
    printf(", \"best\": %.1f}\n", flops / best / 1e9);
    return 0;
}
