#pragma once
/* System calls Swift's Glibc module does not export (they need _GNU_SOURCE). */
#if defined(__linux__)
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#endif
#include <signal.h>
#include <pthread.h>

/* Starts writing a file's dirty pages back without waiting for them; 0 on success, -1 with
 * errno set otherwise, and always 0 where the call does not exist. */
static inline int cashet_start_writeback(int fd) {
#if defined(__linux__)
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    return 0;
#endif
}

/* Prepares `length` bytes of fresh memory at `address` that are about to be filled whole (a
 * large blob read into a new array): faults in every page it covers entirely in one call
 * (MADV_POPULATE_WRITE, Linux 5.14). Filling fresh pages one fault at a time costs more than the
 * copy itself, several times more on a virtual machine. No MADV_HUGEPAGE: with the common THP
 * setting `defrag=madvise` it makes the fault compact memory synchronously, and an 8 MiB load
 * measured 1.9 ms when huge pages were free but 20-23 ms when they were not, against a steady
 * 3.6-5.1 ms without it. Touches no byte; only advice: where the call is refused (an older
 * kernel), the pages fault in as they are written, as before. Only pages lying wholly inside
 * [address, address + length) are named, so the caller's memory is all it affects. */
static inline void cashet_prepare_fill(void *address, size_t length) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    const uintptr_t page = 4096;
    uintptr_t begin = (uintptr_t)address, end = begin + length;
    uintptr_t page_start = (begin + page - 1) & ~(page - 1), page_end = end & ~(page - 1);
    if (page_end > page_start) madvise((void *)page_start, page_end - page_start, MADV_POPULATE_WRITE);
#else
    (void)address;
    (void)length;
#endif
}

/* The commit journal's shared hints: the first page of the journal file, mapped MAP_SHARED by
 * every process that has the store open (read-only openers map it PROT_READ). Invariant: the
 * mapping is `length` bytes of a file that is never shorter than that (the journal is only ever
 * cut back to its first page), so every word read or written below lies inside it; `index`
 * counts 64-bit words and the callers keep it within the page. Returns NULL on failure. */
static inline void *cashet_map_shared_page(int fd, size_t length, int writable) {
    void *page = mmap(NULL, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    return page == MAP_FAILED ? NULL : page;
}

static inline void cashet_unmap_shared_page(void *page, size_t length) { munmap(page, length); }

static inline uint64_t cashet_shared_word_load(const void *page, size_t index) {
    return __atomic_load_n((const uint64_t *)page + index, __ATOMIC_ACQUIRE);
}

static inline void cashet_shared_word_store(void *page, size_t index, uint64_t value) {
    __atomic_store_n((uint64_t *)page + index, value, __ATOMIC_RELEASE);
}

/* Blocks SIGPIPE for the calling thread only: a write to a pipe whose reader is gone then fails
 * with EPIPE instead of killing the process (the signal stays pending for this thread and is
 * discarded when the thread exits). For threads that only write pipes and then end. */
static inline int cashet_block_sigpipe_in_this_thread(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* One-byte open-file-description locks (Linux F_OFD_SETLK): owned by the open file, not the
 * process, released by the kernel when the last descriptor of it closes, so also when the
 * process dies. `offset` must be below 2^62. Non-blocking. Where OFD locks do not exist, falls
 * back to process-owned POSIX locks (F_SETLK). `type` is F_WRLCK to take, F_UNLCK to release. */
static inline int cashet_set_byte_lock(int fd, long long offset, short type) {
    struct flock lock = {0};
    lock.l_type = type;
    lock.l_whence = SEEK_SET;
    lock.l_start = (off_t)offset;
    lock.l_len = 1;
#if defined(F_OFD_SETLK)
    return fcntl(fd, F_OFD_SETLK, &lock);
#else
    return fcntl(fd, F_SETLK, &lock);
#endif
}

/* Takes the byte: 0 when taken, -1 with errno EAGAIN/EACCES when another open file holds it,
 * -1 with another errno on failure. */
static inline int cashet_try_lock_byte(int fd, long long offset) {
    return cashet_set_byte_lock(fd, offset, F_WRLCK);
}

/* Releases a byte taken with cashet_try_lock_byte; 0 on success, -1 with errno otherwise. */
static inline int cashet_unlock_byte(int fd, long long offset) {
    return cashet_set_byte_lock(fd, offset, F_UNLCK);
}

/* Storage transactions in progress in this process (LMDB's mapped file may be read meanwhile). */
void cashet_storage_enter(void);
void cashet_storage_leave(void);

/* For command-line tools: makes SIGSEGV, SIGBUS and SIGABRT raised while a storage transaction is
 * in progress print `message` on standard error and exit with `status` (a damaged data.mdb read
 * through LMDB's map faults or fails an LMDB assertion; no return to the program is possible).
 * Outside a transaction the signal keeps its default action: a real crash stays a crash. The
 * message is copied. */
void cashet_install_storage_crash_report(const char *message, int status);

/* Keeps the text of a failed LMDB assertion (LMDB aborts right after) for the crash report. */
void cashet_note_storage_assertion(const char *message);

/* ThreadSanitizer annotations for a lock TSan cannot see (Swift's Mutex waits in a futex
 * system call when contended): `acquire` after taking it, `release` before giving it up, with
 * the lock's address. Defined in cashet_system.c, so they are real only when that file is
 * compiled with -fsanitize=thread (`swift build --sanitize=thread`), and empty otherwise. */
void cashet_tsan_acquire(void *address);
void cashet_tsan_release(void *address);
