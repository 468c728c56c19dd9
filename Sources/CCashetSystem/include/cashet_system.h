#pragma once
/* System calls Swift's Glibc module does not export (they need _GNU_SOURCE). */
#if defined(__linux__)
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#endif

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
