#include "CKernels.h"
#include <math.h>
#include <string.h>

// The Swift side compiles for baseline x86-64 (4-wide SSE), which makes Adam's pass over the
// parameters a quarter of a training step on mnist; this copy is compiled for the wider units
// too and the loader picks one (target_clones). Contraction stays off so every variant
// computes bit for bit what the Swift kernel does, and runs resume exactly across machines.
#pragma clang fp contract(off)

typedef float lanes __attribute__((ext_vector_type(16)));

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void dl_adam_update(float *theta, const float *g, float *m, float *v, long count,
                    float beta1, float beta2, float stepSize, float epsHat, float coupled, float shrink) {
    const lanes b1 = beta1, b2 = beta2, a1 = 1 - beta1, a2 = 1 - beta2;
    const lanes alpha = stepSize, eps = epsHat, wd = coupled, keep = shrink;
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        lanes th, gi, mi, vi;
        memcpy(&th, theta + i, sizeof th);
        memcpy(&gi, g + i, sizeof gi);
        memcpy(&mi, m + i, sizeof mi);
        memcpy(&vi, v + i, sizeof vi);
        gi = gi + wd * th;
        mi = b1 * mi + a1 * gi;
        vi = b2 * vi + a2 * gi * gi;
        memcpy(m + i, &mi, sizeof mi);
        memcpy(v + i, &vi, sizeof vi);
        th = th * keep - alpha * mi / (__builtin_elementwise_sqrt(vi) + eps);
        memcpy(theta + i, &th, sizeof th);
    }
    for (; i < count; i++) {
        float gi = g[i] + coupled * theta[i];
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        theta[i] = theta[i] * shrink - stepSize * m[i] / (sqrtf(v[i]) + epsHat);
    }
}
