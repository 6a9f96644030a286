/* How far apart the machine's first two CPUs are, for scripts/bench: the nanoseconds a cache
 * line takes to go from one to the other and back (two threads, each bound to one CPU of the
 * process's affinity mask, bouncing a flag; the median of 7 runs of 20,000 round trips).
 *
 *   core-round-trip        prints e.g. 61
 *
 * On this project's 2-core VMs the answer moves with where the host runs the two vCPUs: on an
 * AMD EPYC Zen 4 (family 25 model 17) 54-89 ns for some minutes and 332-381 ns for others,
 * and in the second case mnist's step took 1.3-1.6x as long (memory-bound passes 5-8x), so a
 * benchmark round is only comparable with rounds in the same case.
 * Built by scripts/bench: cc -O2 -pthread core-round-trip.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { TRIPS = 20000, RUNS = 7 };
static _Atomic int flag __attribute__((aligned(64)));
static int cpus[2];

static void bind_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void *answer(void *unused) {
    (void)unused;
    bind_to(cpus[1]);
    for (int i = 0; i < RUNS * TRIPS; i++) {
        while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {}
        atomic_store_explicit(&flag, 0, memory_order_release);
    }
    return NULL;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++) if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
    if (found < 2) {
        fprintf(stderr, "core-round-trip: the process may run on one CPU only\n");
        return 2;
    }
    pthread_t other;
    pthread_create(&other, NULL, answer, NULL);
    bind_to(cpus[0]);
    double runs[RUNS];
    for (int r = 0; r < RUNS; r++) {
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (int i = 0; i < TRIPS; i++) {
            atomic_store_explicit(&flag, 1, memory_order_release);
            while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {}
        }
        clock_gettime(CLOCK_MONOTONIC, &end);
        runs[r] = ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / TRIPS;
    }
    pthread_join(other, NULL);
    qsort(runs, RUNS, sizeof runs[0], ascending);
    printf("%.0f\n", runs[RUNS / 2]);
    return 0;
}
