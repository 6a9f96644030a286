#define _GNU_SOURCE
#include <sched.h>
#include "CKernels.h"

int dl_affinity_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}

int dl_current_cpu(void) { return sched_getcpu(); }

int dl_bind_calling_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

#if defined(__x86_64__)
#include <time.h>

static double fma_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

// Twelve independent chains of fused multiply-adds (enough to fill two FMA pipes of latency
// 4-6), on zeroed registers (no denormal assists), in assembly so that the loop is the same at
// every optimisation level.
#define FMA12(reg) \
    "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "0\n\t" "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "1\n\t" \
    "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "2\n\t" "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "3\n\t" \
    "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "4\n\t" "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "5\n\t" \
    "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "6\n\t" "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "7\n\t" \
    "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "8\n\t" "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "9\n\t" \
    "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "10\n\t" "vfmadd231ps %%" reg "13, %%" reg "14, %%" reg "11\n\t"

__attribute__((target("avx2,fma"))) static double fma256_seconds(long rounds) {
    double start = fma_now();
    __asm__ volatile(
        "vzeroall\n\t"
        "1:\n\t" FMA12("ymm") "dec %0\n\t" "jnz 1b\n\t" "vzeroupper\n\t"
        : "+r"(rounds) :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
    return fma_now() - start;
}

__attribute__((target("avx512f"))) static double fma512_seconds(long rounds) {
    double start = fma_now();
    __asm__ volatile(
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t" "vmovaps %%zmm0, %%zmm1\n\t" "vmovaps %%zmm0, %%zmm2\n\t" "vmovaps %%zmm0, %%zmm3\n\t"
        "vmovaps %%zmm0, %%zmm4\n\t" "vmovaps %%zmm0, %%zmm5\n\t" "vmovaps %%zmm0, %%zmm6\n\t" "vmovaps %%zmm0, %%zmm7\n\t"
        "vmovaps %%zmm0, %%zmm8\n\t" "vmovaps %%zmm0, %%zmm9\n\t" "vmovaps %%zmm0, %%zmm10\n\t" "vmovaps %%zmm0, %%zmm11\n\t"
        "vmovaps %%zmm0, %%zmm13\n\t" "vmovaps %%zmm0, %%zmm14\n\t"
        "1:\n\t" FMA12("zmm") "dec %0\n\t" "jnz 1b\n\t" "vzeroupper\n\t"
        : "+r"(rounds) :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
    return fma_now() - start;
}

double dl_fma512_speedup(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("avx512f")) return 0;
    const long rounds = 4096;  // 49,152 instructions: 25-50 µs a timing
    double best256 = 1e30, best512 = 1e30;
    for (int trial = 0; trial < 6; trial++) {  // interleaved, the best of each: a preempted timing only loses
        double t256 = fma256_seconds(rounds), t512 = fma512_seconds(rounds);
        if (trial > 0 && t256 < best256) best256 = t256;  // trial 0 warms the units up
        if (trial > 0 && t512 < best512) best512 = t512;
    }
    return 2 * best256 / best512;  // (16 lanes / t512) / (8 lanes / t256)
}
#else
double dl_fma512_speedup(void) { return 0; }
#endif
