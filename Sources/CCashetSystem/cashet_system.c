/* The byte-lock and writeback calls are static inline in include/cashet_system.h; the
 * ThreadSanitizer annotations live here, compiled with the sanitizer when it is on. */
#include "cashet_system.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CASHET_UNDER_TSAN 1
void __tsan_acquire(void *address);
void __tsan_release(void *address);
#endif
#endif

void cashet_tsan_acquire(void *address) {
#if defined(CASHET_UNDER_TSAN)
    __tsan_acquire(address);
#else
    (void)address;
#endif
}

void cashet_tsan_release(void *address) {
#if defined(CASHET_UNDER_TSAN)
    __tsan_release(address);
#else
    (void)address;
#endif
}
