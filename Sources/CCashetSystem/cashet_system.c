/* The byte-lock and writeback calls are static inline in include/cashet_system.h; the
 * ThreadSanitizer annotations live here, compiled with the sanitizer when it is on. */
#include "cashet_system.h"
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static atomic_int storage_depth;
static char crash_message[512];
static size_t crash_message_length;
static int crash_status;
static char assertion[256];
static atomic_size_t assertion_length;

void cashet_note_storage_assertion(const char *message) {
    if (message == NULL) return;
    size_t length = strlen(message);
    if (length >= sizeof assertion) length = sizeof assertion - 1;
    memcpy(assertion, message, length);
    atomic_store(&assertion_length, length);
}

void cashet_storage_enter(void) { atomic_fetch_add_explicit(&storage_depth, 1, memory_order_relaxed); }
void cashet_storage_leave(void) { atomic_fetch_sub_explicit(&storage_depth, 1, memory_order_relaxed); }

/* Async-signal-safe: an atomic load, write(2) and _exit(2) only. */
static void storage_crash_handler(int signal_number) {
    if (atomic_load_explicit(&storage_depth, memory_order_relaxed) > 0) {
        ssize_t ignored = write(STDERR_FILENO, crash_message, crash_message_length);
        const char *name = signal_number == SIGBUS ? "  signal: SIGBUS (a page of the file is missing)\n"
                         : signal_number == SIGSEGV ? "  signal: SIGSEGV (a page number out of the file)\n"
                         : "  signal: SIGABRT (an LMDB assertion failed)\n";
        ignored = write(STDERR_FILENO, name, strlen(name));
        size_t noted = atomic_load(&assertion_length);
        if (noted > 0) {
            ignored = write(STDERR_FILENO, "  LMDB assertion: ", 18);
            ignored = write(STDERR_FILENO, assertion, noted);
            ignored = write(STDERR_FILENO, "\n", 1);
        }
        (void)ignored;
        _exit(crash_status);
    }
    /* SA_RESETHAND restored the default action: raise again for a real crash. */
    raise(signal_number);
}

void cashet_install_storage_crash_report(const char *message, int status) {
    crash_message_length = strlen(message);
    if (crash_message_length >= sizeof crash_message) crash_message_length = sizeof crash_message - 1;
    memcpy(crash_message, message, crash_message_length);
    crash_status = status;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = storage_crash_handler;
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, NULL);
    sigaction(SIGBUS, &action, NULL);
    sigaction(SIGABRT, &action, NULL);
}

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
