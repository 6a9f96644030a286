#include "CKernels.h"

// C (m, n) = alpha · A (m, k) · B (k, n) + beta · C, row-major, n in 1...8: the product of a
// classifier's output layer with a few classes. OpenBLAS 0.3.21's AVX-512 small-matrix kernel
// mallocs a scratch copy on every such call; this one allocates nothing. Four rows at a time
// keep 4·N independent sums in flight; N is a constant in each case so the loops unroll.
#define NARROW(N)                                                                           \
    for (; i + 4 <= m; i += 4) {                                                            \
        float acc[4][N] = {{0}};                                                            \
        for (long p = 0; p < k; p++) {                                                      \
            const float *bp = b + p * ldb;                                                  \
            for (int r = 0; r < 4; r++) {                                                   \
                const float x = a[(i + r) * lda + p];                                       \
                for (int j = 0; j < N; j++) acc[r][j] += x * bp[j];                         \
            }                                                                               \
        }                                                                                   \
        for (int r = 0; r < 4; r++) {                                                       \
            float *ci = c + (i + r) * ldc;                                                  \
            for (int j = 0; j < N; j++) ci[j] = alpha * acc[r][j] + (beta == 0 ? 0 : beta * ci[j]); \
        }                                                                                   \
    }                                                                                       \
    for (; i < m; i++) {                                                                    \
        float acc[N] = {0};                                                                 \
        for (long p = 0; p < k; p++) {                                                      \
            const float x = a[i * lda + p], *bp = b + p * ldb;                              \
            for (int j = 0; j < N; j++) acc[j] += x * bp[j];                                \
        }                                                                                   \
        float *ci = c + i * ldc;                                                            \
        for (int j = 0; j < N; j++) ci[j] = alpha * acc[j] + (beta == 0 ? 0 : beta * ci[j]); \
    }                                                                                       \
    break;

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void dl_sgemm_narrow(long m, long n, long k, float alpha, const float *a, long lda,
                     const float *b, long ldb, float beta, float *c, long ldc) {
    long i = 0;
    switch (n) {
    case 1: NARROW(1)
    case 2: NARROW(2)
    case 3: NARROW(3)
    case 4: NARROW(4)
    case 5: NARROW(5)
    case 6: NARROW(6)
    case 7: NARROW(7)
    case 8: NARROW(8)
    default: break;
    }
}
