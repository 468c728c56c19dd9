#pragma once
#include <stddef.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <xxh_x86dispatch.h>

/* 1 when the CPU has AVX (and so vzeroupper), cached after the first call. */
static inline int cashet_cpu_has_avx(void) {
    static int cached = -1;
    if (cached < 0) {
        unsigned int a = 0, b = 0, c = 0, d = 0;
        cached = (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 28))) ? 1 : 0;
    }
    return cached;
}
#endif

/*
 * XXH3-64 through the run-time dispatcher (the plain symbol picks a slow generic path
 * when called from Swift). Debian's build leaves dirty upper AVX registers behind, which
 * slows the next SSE code (SHA-256) by ~26%, so clear them afterwards.
 */
static inline unsigned long long cashet_xxh3_64(const void *data, size_t length) {
#if defined(__x86_64__)
    unsigned long long hash = XXH3_64bits_dispatch(data, length);
    if (cashet_cpu_has_avx()) { __asm__ volatile("vzeroupper" ::: "memory"); }
    return hash;
#else
    return XXH3_64bits(data, length);
#endif
}
