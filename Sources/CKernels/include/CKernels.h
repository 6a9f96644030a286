#ifndef DLTRAIN_CKERNELS_H
#define DLTRAIN_CKERNELS_H

/// The Adam (and AdamW) update over `count` parameters in place, exactly the arithmetic of
/// DLOptim's AdamKernel (the same operations in the same order, no fused multiply-adds):
///   g' = g + coupled·θ;  m = β1·m + (1−β1)·g';  v = β2·v + (1−β2)·g'·g';
///   θ = θ·shrink − stepSize·m / (√v + epsHat)
/// Compiled for AVX-512, AVX2 and baseline x86-64, chosen when the library loads.
void dl_adam_update(float *theta, const float *g, float *m, float *v, long count,
                    float beta1, float beta2, float stepSize, float epsHat, float coupled, float shrink);

/// C (m, n) = alpha·A (m, k)·B (k, n) + beta·C, row-major, for 1 ≤ n ≤ 8 (other n: nothing
/// is done). Beta 0 ignores C's old contents. Allocates nothing.
void dl_sgemm_narrow(long m, long n, long k, float alpha, const float *a, long lda,
                     const float *b, long ldb, float beta, float *c, long ldc);

/// Floats of stack scratch ``dl_sgemm_tiles`` has: B transposed (k·n) when transposeB, or C
/// transposed (m·n) for a product of A^T with at most 6 columns.
#define DL_SGEMM_TILES_SCRATCH 8192

/// C (m, n) = alpha·op(A)·op(B) + beta·C, row-major, in register tiles of fused multiply-adds
/// (tiles_gemm.c): for small products, where OpenBLAS's packing does not pay. In AVX-512
/// where the CPU has it, otherwise AVX2; both give the same bits.
/// Not both operands transposed; k·n ≤ DL_SGEMM_TILES_SCRATCH when transposeB, and
/// m·n ≤ DL_SGEMM_TILES_SCRATCH when transposeA and n ≤ 6. Beta 0 ignores C's old contents.
/// Allocates nothing. Call only where ``dl_sgemm_tiles_lanes`` is not 0.
void dl_sgemm_tiles(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc);

/// ``dl_sgemm_tiles`` in one instruction set: AVX2 (where the lanes are 8 or 16) and AVX-512
/// (where they are 16), so that both can be tested against each other.
void dl_sgemm_tiles_avx2(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc);
void dl_sgemm_tiles_avx512(int transposeA, int transposeB, long m, long n, long k, float alpha, const float *a, long lda,
                           const float *b, long ldb, float beta, float *c, long ldc);

/// The float lanes of the widest tiles this CPU (and its operating system) runs: 16 with
/// AVX-512 F, 8 with AVX2 and FMA, 0 when ``dl_sgemm_tiles`` cannot run.
int dl_sgemm_tiles_lanes(void);

/// How many CPUs this process may run on (its affinity mask: `taskset`, a batch system's
/// binding, a cpuset), or 0 when the mask cannot be read.
int dl_affinity_cpus(void);

/// The CPU the calling thread runs on now, or -1 when it cannot be told.
int dl_current_cpu(void);

/// Restricts the calling thread (not its process) to `cpu`: 0 on success, -1 when the CPU is
/// outside the process's affinity mask or the call is refused.
int dl_bind_calling_thread(int cpu);

/// How many times as many float operations a second this core does with 512-bit fused
/// multiply-adds as with 256-bit ones, timed in tight loops (about 0.5 ms): expected near 2
/// where the core has 512-bit FMA units, 1.001 on AMD's Zen 4, which splits each 512-bit
/// operation in two; 0 without AVX-512 F, AVX2 and FMA.
double dl_fma512_speedup(void);

/// A spin-wait hint to the CPU (x86's `pause`): a thread polling a flag yields the core's
/// pipeline to its sibling and saves power, without giving the core up.
static inline void dl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
