#include "CKernels.h"

// Products too small for OpenBLAS's packing to pay: a training step of 32 rows through layers
// of 30 to 64 units (about a microsecond each), where OpenBLAS 0.3.21 runs its full driver with
// packing and buffer bookkeeping. These register tiles read A and B where they lie, fused
// multiply-adds in k's order: in AVX2, six rows of C by sixteen columns (twelve accumulators,
// two loads of B and six broadcasts of A for each step along k); in AVX-512, eight rows by
// thirty-two (sixteen accumulators). Each element of C is the same chain of operations in
// both, so both give the same bits. On an AMD EPYC Zen 3 at one thread the AVX2 tiles ran
// 1.2-1.5x OpenBLAS's rate on such shapes; on an Intel Xeon (family 6 model 207) the AVX-512
// tiles ran A·B^T products at 1.3-2.1x OpenBLAS's SkylakeX kernels and the others at
// 0.4-1.1x (dltrain's tabular benchmark, interleaved, best of 11 rounds each). BLAS.swift
// decides which products take them.
#if defined(__x86_64__)
#include <immintrin.h>

int dl_sgemm_tiles_lanes(void) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
    return __builtin_cpu_supports("avx512f") ? 16 : 8;
}

#define TILE_ATTR static inline __attribute__((always_inline, target("avx2,fma")))

// One tile of C: mr rows (1...6) by the 16 columns from b and c (or the first `width` of them).
TILE_ATTR void tile(const int mr, const int masked, long width, long k, float alpha,
                    const float *a, long rowStride, long depthStride, const float *b, long ldb,
                    float beta, float *c, long ldc) {
    const int vectors = masked && width <= 8 ? 1 : 2;
    __m256i m0 = _mm256_set1_epi32(-1), m1 = m0;
    if (masked) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)width), lane);
        m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)width - 8), lane);
    }
    __m256 acc[6][2];
    for (int r = 0; r < mr; r++) for (int h = 0; h < vectors; h++) acc[r][h] = _mm256_setzero_ps();
    for (long p = 0; p < k; p++) {
        const float *bp = b + p * ldb, *ap = a + p * depthStride;
        __m256 b0 = masked ? _mm256_maskload_ps(bp, m0) : _mm256_loadu_ps(bp);
        __m256 b1 = vectors == 1 ? b0 : masked ? _mm256_maskload_ps(bp + 8, m1) : _mm256_loadu_ps(bp + 8);
        for (int r = 0; r < mr; r++) {
            const __m256 x = _mm256_broadcast_ss(ap + r * rowStride);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            if (vectors == 2) acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    const __m256 scale = _mm256_set1_ps(alpha), keep = _mm256_set1_ps(beta);
    for (int r = 0; r < mr; r++) for (int h = 0; h < vectors; h++) {
        float *cp = c + r * ldc + 8 * h;
        const __m256i mask = h == 0 ? m0 : m1;
        __m256 v = _mm256_mul_ps(scale, acc[r][h]);
        if (beta != 0) v = _mm256_fmadd_ps(keep, masked ? _mm256_maskload_ps(cp, mask) : _mm256_loadu_ps(cp), v);
        if (masked) _mm256_maskstore_ps(cp, mask, v); else _mm256_storeu_ps(cp, v);
    }
}

TILE_ATTR void column(const int masked, long m, long width, long k, float alpha, const float *a, long rowStride,
                      long depthStride, const float *b, long ldb, float beta, float *c, long ldc) {
    long i = 0;
    for (; i + 6 <= m; i += 6) tile(6, masked, width, k, alpha, a + i * rowStride, rowStride, depthStride, b, ldb, beta, c + i * ldc, ldc);
    const float *ai = a + i * rowStride; float *ci = c + i * ldc;
    switch (m - i) {
    case 5: tile(5, masked, width, k, alpha, ai, rowStride, depthStride, b, ldb, beta, ci, ldc); break;
    case 4: tile(4, masked, width, k, alpha, ai, rowStride, depthStride, b, ldb, beta, ci, ldc); break;
    case 3: tile(3, masked, width, k, alpha, ai, rowStride, depthStride, b, ldb, beta, ci, ldc); break;
    case 2: tile(2, masked, width, k, alpha, ai, rowStride, depthStride, b, ldb, beta, ci, ldc); break;
    case 1: tile(1, masked, width, k, alpha, ai, rowStride, depthStride, b, ldb, beta, ci, ldc); break;
    default: break;
    }
}

// C (mr, width) = A (mr, k) B (k, width) for mr in 1...6 known only at run time.
TILE_ATTR void panel(const int masked, long mr, long width, long k, const float *a, long rowStride, long depthStride,
                     const float *b, long ldb, float *c, long ldc) {
    switch (mr) {
    case 6: tile(6, masked, width, k, 1, a, rowStride, depthStride, b, ldb, 0, c, ldc); break;
    case 5: tile(5, masked, width, k, 1, a, rowStride, depthStride, b, ldb, 0, c, ldc); break;
    case 4: tile(4, masked, width, k, 1, a, rowStride, depthStride, b, ldb, 0, c, ldc); break;
    case 3: tile(3, masked, width, k, 1, a, rowStride, depthStride, b, ldb, 0, c, ldc); break;
    case 2: tile(2, masked, width, k, 1, a, rowStride, depthStride, b, ldb, 0, c, ldc); break;
    case 1: tile(1, masked, width, k, 1, a, rowStride, depthStride, b, ldb, 0, c, ldc); break;
    default: break;
    }
}

#define WIDE_ATTR static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

// One tile of C in AVX-512: mr rows (1...8) by the 32 columns from b and c (or the first `width`).
WIDE_ATTR void wideTile(const int mr, const int masked, long width, long k, float alpha,
                        const float *a, long rowStride, long depthStride, const float *b, long ldb,
                        float beta, float *c, long ldc) {
    const int vectors = masked && width <= 16 ? 1 : 2;
    __mmask16 m0 = 0xFFFF, m1 = 0xFFFF;
    if (masked) {
        m0 = width >= 16 ? 0xFFFF : (__mmask16)((1u << width) - 1);
        m1 = width <= 16 ? 0 : (__mmask16)((1u << (width - 16)) - 1);
    }
    __m512 acc[8][2];
    for (int r = 0; r < mr; r++) for (int h = 0; h < vectors; h++) acc[r][h] = _mm512_setzero_ps();
    for (long p = 0; p < k; p++) {
        const float *bp = b + p * ldb, *ap = a + p * depthStride;
        __m512 b0 = masked ? _mm512_maskz_loadu_ps(m0, bp) : _mm512_loadu_ps(bp);
        __m512 b1 = vectors == 1 ? b0 : masked ? _mm512_maskz_loadu_ps(m1, bp + 16) : _mm512_loadu_ps(bp + 16);
        for (int r = 0; r < mr; r++) {
            const __m512 x = _mm512_set1_ps(ap[r * rowStride]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            if (vectors == 2) acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    const __m512 scale = _mm512_set1_ps(alpha), keep = _mm512_set1_ps(beta);
    for (int r = 0; r < mr; r++) for (int h = 0; h < vectors; h++) {
        float *cp = c + r * ldc + 16 * h;
        const __mmask16 mask = h == 0 ? m0 : m1;
        __m512 v = _mm512_mul_ps(scale, acc[r][h]);
        if (beta != 0) v = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(mask, cp), v);
        _mm512_mask_storeu_ps(cp, mask, v);
    }
}

// C (mr, width) = alpha·A (mr, k) B (k, width) + beta·C for mr in 1...8 known only at run time.
WIDE_ATTR void widePanel(const int masked, long mr, long width, long k, float alpha, const float *a, long rowStride,
                         long depthStride, const float *b, long ldb, float beta, float *c, long ldc) {
    switch (mr) {
    case 8: wideTile(8, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    case 7: wideTile(7, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    case 6: wideTile(6, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    case 5: wideTile(5, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    case 4: wideTile(4, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    case 3: wideTile(3, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    case 2: wideTile(2, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    case 1: wideTile(1, masked, width, k, alpha, a, rowStride, depthStride, b, ldb, beta, c, ldc); break;
    default: break;
    }
}

WIDE_ATTR void wideColumn(const int masked, long m, long width, long k, float alpha, const float *a, long rowStride,
                          long depthStride, const float *b, long ldb, float beta, float *c, long ldc) {
    long i = 0;
    for (; i + 8 <= m; i += 8) wideTile(8, masked, width, k, alpha, a + i * rowStride, rowStride, depthStride, b, ldb, beta, c + i * ldc, ldc);
    if (i < m) widePanel(masked, m - i, width, k, alpha, a + i * rowStride, rowStride, depthStride, b, ldb, beta, c + i * ldc, ldc);
}

// bt (k, n) = b^T for b (n, k) with leading dimension ldb: 8x8 blocks in registers, the edges one by one.
__attribute__((target("avx2,fma")))
static void transpose(long n, long k, const float *b, long ldb, float *bt) {
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        long p = 0;
        for (; p + 8 <= k; p += 8) {
            const float *s = b + j * ldb + p;
            __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ldb), r2 = _mm256_loadu_ps(s + 2 * ldb), r3 = _mm256_loadu_ps(s + 3 * ldb);
            __m256 r4 = _mm256_loadu_ps(s + 4 * ldb), r5 = _mm256_loadu_ps(s + 5 * ldb), r6 = _mm256_loadu_ps(s + 6 * ldb), r7 = _mm256_loadu_ps(s + 7 * ldb);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = bt + p * n + j;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + n, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * n, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * n, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * n, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * n, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * n, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * n, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (; p < k; p++) for (long q = j; q < j + 8; q++) bt[p * n + q] = b[q * ldb + p];
    }
    for (; j < n; j++) for (long p = 0; p < k; p++) bt[p * n + j] = b[j * ldb + p];
}

// C (m, n) = alpha·ct^T + beta·C from ct (n, m), computed as C's transpose.
static void fromTransposed(long m, long n, float alpha, const float *ct, float beta, float *c, long ldc) {
    for (long r = 0; r < m; r++) for (long q = 0; q < n; q++)
        c[r * ldc + q] = alpha * ct[q * m + r] + (beta == 0 ? 0 : beta * c[r * ldc + q]);
}

// Each instruction set's pass: B^T into `scratch` when transposeB; then, for A^T·B with at
// most 6 columns, C^T = B^T A into `scratch` (its rows run along A's contiguous rows) and C
// from it; otherwise C by columns of tiles.
__attribute__((target("avx2,fma")))
void dl_sgemm_tiles_avx2(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc) {
    float scratch[DL_SGEMM_TILES_SCRATCH];
    if (transposeB) {
        transpose(n, k, b, ldb, scratch);
        b = scratch; ldb = n;
    } else if (transposeA && n <= 6) {
        long i = 0;
        for (; i + 16 <= m; i += 16) panel(0, n, 16, k, b, 1, ldb, a + i, lda, scratch + i, m);
        if (i < m) panel(1, n, m - i, k, b, 1, ldb, a + i, lda, scratch + i, m);
        return fromTransposed(m, n, alpha, scratch, beta, c, ldc);
    }
    const long rowStride = transposeA ? 1 : lda, depthStride = transposeA ? lda : 1;
    long j = 0;
    for (; j + 16 <= n; j += 16) column(0, m, 16, k, alpha, a, rowStride, depthStride, b + j, ldb, beta, c + j, ldc);
    if (j < n) column(1, m, n - j, k, alpha, a, rowStride, depthStride, b + j, ldb, beta, c + j, ldc);
}

__attribute__((target("avx512f,avx2,fma")))
void dl_sgemm_tiles_avx512(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                           const float *b, long ldb, float beta, float *c, long ldc) {
    float scratch[DL_SGEMM_TILES_SCRATCH];
    if (transposeB) {
        transpose(n, k, b, ldb, scratch);
        b = scratch; ldb = n;
    } else if (transposeA && n <= 6) {
        long i = 0;
        for (; i + 32 <= m; i += 32) widePanel(0, n, 32, k, 1, b, 1, ldb, a + i, lda, 0, scratch + i, m);
        if (i < m) widePanel(1, n, m - i, k, 1, b, 1, ldb, a + i, lda, 0, scratch + i, m);
        return fromTransposed(m, n, alpha, scratch, beta, c, ldc);
    }
    const long rowStride = transposeA ? 1 : lda, depthStride = transposeA ? lda : 1;
    long j = 0;
    for (; j + 32 <= n; j += 32) wideColumn(0, m, 32, k, alpha, a, rowStride, depthStride, b + j, ldb, beta, c + j, ldc);
    if (j < n) wideColumn(1, m, n - j, k, alpha, a, rowStride, depthStride, b + j, ldb, beta, c + j, ldc);
}

void dl_sgemm_tiles(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc) {
    if (dl_sgemm_tiles_lanes() == 16) dl_sgemm_tiles_avx512(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else dl_sgemm_tiles_avx2(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#else
int dl_sgemm_tiles_lanes(void) { return 0; }
void dl_sgemm_tiles(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc) {}
void dl_sgemm_tiles_avx2(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc) {}
void dl_sgemm_tiles_avx512(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                           const float *b, long ldb, float beta, float *c, long ldc) {}
#endif
