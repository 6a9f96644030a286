/* Counts calls to malloc, calloc, realloc and posix_memalign in the process it is preloaded
 * into (LD_PRELOAD). dltrain reads the count through dltrain_malloc_count() when
 * DLTRAIN_COUNT_ALLOCATIONS is set, around the steady-state steps of a training epoch.
 * Built by scripts/bench: cc -O2 -shared -fPIC -o malloc-count.so malloc-count.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdatomic.h>

static atomic_long calls;
long dltrain_malloc_count(void) { return atomic_load(&calls); }

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_memalign)(void **, size_t, size_t);

/* dlsym itself may call calloc before real_calloc is known: serve it from a static buffer. */
static char bootstrap[4096];
static size_t bootstrap_used;

void *malloc(size_t n) {
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add(&calls, 1);
    return real_malloc(n);
}
void *calloc(size_t n, size_t size) {
    if (!real_calloc) {
        static int resolving;
        if (resolving) { void *p = bootstrap + bootstrap_used; bootstrap_used += (n * size + 15) & ~(size_t)15; return p; }
        resolving = 1;
        real_calloc = dlsym(RTLD_NEXT, "calloc");
        resolving = 0;
    }
    atomic_fetch_add(&calls, 1);
    return real_calloc(n, size);
}
void *realloc(void *p, size_t n) {
    if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc");
    atomic_fetch_add(&calls, 1);
    return real_realloc(p, n);
}
int posix_memalign(void **p, size_t alignment, size_t n) {
    if (!real_memalign) real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    atomic_fetch_add(&calls, 1);
    return real_memalign(p, alignment, n);
}
void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}
