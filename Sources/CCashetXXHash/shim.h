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

/* Debian's build leaves dirty upper AVX registers behind, which slows the next SSE code
 * (SHA-256) by ~26%, so every entry point clears them afterwards. */
static inline void cashet_clear_upper_registers(void) {
    if (cashet_cpu_has_avx()) { __asm__ volatile("vzeroupper" ::: "memory"); }
}
#define CASHET_XXH3_64 XXH3_64bits_dispatch
#define CASHET_XXH3_64_SEEDED XXH3_64bits_withSeed_dispatch
#define CASHET_XXH3_128 XXH3_128bits_dispatch
#define CASHET_XXH3_64_UPDATE XXH3_64bits_update_dispatch
#else
static inline void cashet_clear_upper_registers(void) {}
#define CASHET_XXH3_64 XXH3_64bits
#define CASHET_XXH3_64_SEEDED XXH3_64bits_withSeed
#define CASHET_XXH3_128 XXH3_128bits
#define CASHET_XXH3_64_UPDATE XXH3_64bits_update
#endif

/*
 * XXH3 through the run-time dispatcher: the plain symbols pick a slow generic path when
 * called from Swift.
 */
static inline unsigned long long cashet_xxh3_64(const void *data, size_t length) {
    unsigned long long hash = CASHET_XXH3_64(data, length);
    cashet_clear_upper_registers();
    return hash;
}

/* XXH3-64 with a seed: the journal chains each record's checksum to the one before it. */
static inline unsigned long long cashet_xxh3_64_seeded(const void *data, size_t length, unsigned long long seed) {
    unsigned long long hash = CASHET_XXH3_64_SEEDED(data, length, seed);
    cashet_clear_upper_registers();
    return hash;
}

static inline XXH128_hash_t cashet_xxh3_128(const void *data, size_t length) {
    XXH128_hash_t hash = CASHET_XXH3_128(data, length);
    cashet_clear_upper_registers();
    return hash;
}

/* Streaming XXH3-64, for data that passes through in chunks. */
static inline XXH3_state_t *cashet_xxh3_64_start(void) {
    XXH3_state_t *state = XXH3_createState();
    if (state) { XXH3_64bits_reset(state); }
    return state;
}

static inline void cashet_xxh3_64_update(XXH3_state_t *state, const void *data, size_t length) {
    CASHET_XXH3_64_UPDATE(state, data, length);
    cashet_clear_upper_registers();
}

static inline unsigned long long cashet_xxh3_64_digest(XXH3_state_t *state) {
    unsigned long long hash = XXH3_64bits_digest(state);
    cashet_clear_upper_registers();
    return hash;
}

static inline void cashet_xxh3_64_free(XXH3_state_t *state) { XXH3_freeState(state); }
