/* Power-loss recorder: an LD_PRELOAD shim that logs every change a program makes below one
 * directory, for scripts/powerloss/campaign.py to rebuild the crash states a power cut could
 * leave (see the campaign's header for the model).
 *
 *   gcc -shared -fPIC -O2 -U_FORTIFY_SOURCE -o shim.so shim.c -ldl -lpthread
 *   CASHET_PL_ROOT=/abs/store CASHET_PL_LOG=/abs/ops.log CASHET_PL_MARKS=/abs/acks.log \
 *       LD_PRELOAD=$PWD/shim.so program ...
 *
 * CASHET_PL_ROOT  the directory to record (absolute, already canonical: no symbolic links). Only
 *                 paths at or below it are recorded; relative paths and *at() calls are resolved
 *                 against the working directory or the directory descriptor (/proc/self/fd).
 * CASHET_PL_LOG   the log to append to (created when missing).
 * CASHET_PL_MARKS optional: a file the program appends acknowledgement lines to. Every write to it
 *                 (write/writev on a descriptor, fputs/fwrite/fprintf on a FILE*) becomes a mark
 *                 record carrying the text, at its place among the recorded operations.
 *
 * Every record is one text line, for a data-carrying record followed by exactly LEN raw bytes.
 * SEQ counts records. Paths are relative to the root ("." is the root itself) with ' ', '%' and
 * control bytes written as %XX.
 *
 *   V 1 PID ROOT                       header, once per process image (an exec writes another)
 *   O SEQ FD FLAGS INO ISDIR PATH      an open (or creat) that succeeded; FLAGS as given (octal)
 *   C SEQ FD                           close of a recorded descriptor
 *   D SEQ OLDFD NEWFD                  dup/dup2/dup3/F_DUPFD* of a recorded descriptor (NEWFD, if it
 *                                      was recorded, is closed by this)
 *   W SEQ FD OFFSET LEN SYNC           a write of LEN bytes at OFFSET (write/pwrite/writev/pwritev;
 *                                      the offset is read before the call, the end of file for
 *                                      O_APPEND); SYNC 1 when it was durable on return (O_DSYNC,
 *                                      O_SYNC, RWF_DSYNC, RWF_SYNC); then LEN bytes
 *   T SEQ FD SIZE                      ftruncate
 *   TP SEQ SIZE PATH                   truncate by path
 *   A SEQ FD OFFSET LEN MODE           fallocate/posix_fallocate (MODE 0: may extend the size)
 *   S SEQ FD / Y SEQ FD                fsync / fdatasync
 *   R SEQ FD OFFSET NBYTES FLAGS       sync_file_range (no durability promise)
 *   G SEQ                              sync() or syncfs(): everything durable
 *   N SEQ FLAGS OLD NEW                rename/renameat/renameat2 (a path outside the root is "-")
 *   U SEQ PATH / Q SEQ PATH            unlink / rmdir
 *   K SEQ MODE PATH                    mkdir
 *   L SEQ OLD NEW / Z SEQ TARGET NEW   link / symlink (TARGET as given, escaped)
 *   M SEQ LEN                          mark: LEN bytes of text written to the marks file follow
 *
 * Operations on recorded paths and descriptors run with the log's mutex held from before the
 * real call until the record is written, so the log's order is the order the kernel saw them in
 * (and a descriptor number is never reused between a call and its record). Failed calls are not
 * recorded. Nothing the program sees changes: every wrapper returns the real call's result with
 * its errno. */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif
#ifndef RWF_SYNC
#define RWF_SYNC 0x00000004
#endif
#ifndef RWF_APPEND
#define RWF_APPEND 0x00000010
#endif

/* ---- the real functions ---- */

#define REAL(name) real_##name
#define RESOLVE(name)                                                       \
    do {                                                                    \
        if (!REAL(name)) REAL(name) = (__typeof__(REAL(name)))dlsym(RTLD_NEXT, #name); \
    } while (0)

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real___openat_2)(int, const char *, int);
static int (*real___openat64_2)(int, const char *, int);
static int (*real_creat)(const char *, mode_t);
static int (*real_creat64)(const char *, mode_t);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off64_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_pwritev64v2)(int, const struct iovec *, int, off64_t, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);
static int (*real_truncate)(const char *, off_t);
static int (*real_truncate64)(const char *, off64_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off64_t, off64_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_posix_fallocate64)(int, off64_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_sync_file_range)(int, off64_t, off64_t, unsigned int);
static void (*real_sync)(void);
static int (*real_syncfs)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);
static int (*real_rmdir)(const char *);
static int (*real_link)(const char *, const char *);
static int (*real_linkat)(int, const char *, int, const char *, int);
static int (*real_symlink)(const char *, const char *);
static int (*real_symlinkat)(const char *, int, const char *);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);
static int (*real_fclose)(FILE *);
static int (*real_fputs)(const char *, FILE *);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static int (*real_vfprintf)(FILE *, const char *, va_list);

/* ---- state ---- */

#define MAX_FDS 65536
enum { FD_TRACKED = 1, FD_SYNC = 2, FD_APPEND = 4, FD_MARKS = 8 };
static unsigned char fdstate[MAX_FDS];

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char root[PATH_MAX];
static size_t root_len;
static char marks_path[PATH_MAX];
static int log_fd = -1;
static int active;          /* recording in this process */
static pid_t owner_pid;     /* the process that owns the log (a forked child records nothing) */
static unsigned long long seq;

#define MAX_MARK_FILES 64
static FILE *mark_files[MAX_MARK_FILES];

static void resolve_all(void) {
    RESOLVE(open); RESOLVE(open64); RESOLVE(openat); RESOLVE(openat64);
    RESOLVE(__open_2); RESOLVE(__open64_2); RESOLVE(__openat_2); RESOLVE(__openat64_2);
    RESOLVE(creat); RESOLVE(creat64); RESOLVE(close); RESOLVE(write); RESOLVE(pwrite);
    RESOLVE(pwrite64); RESOLVE(writev); RESOLVE(pwritev); RESOLVE(pwritev64); RESOLVE(pwritev2);
    RESOLVE(pwritev64v2); RESOLVE(ftruncate); RESOLVE(ftruncate64); RESOLVE(truncate);
    RESOLVE(truncate64); RESOLVE(fallocate); RESOLVE(fallocate64); RESOLVE(posix_fallocate);
    RESOLVE(posix_fallocate64); RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(sync_file_range);
    RESOLVE(sync); RESOLVE(syncfs); RESOLVE(rename); RESOLVE(renameat); RESOLVE(renameat2);
    RESOLVE(unlink); RESOLVE(unlinkat); RESOLVE(mkdir); RESOLVE(mkdirat); RESOLVE(rmdir);
    RESOLVE(link); RESOLVE(linkat); RESOLVE(symlink); RESOLVE(symlinkat); RESOLVE(dup);
    RESOLVE(dup2); RESOLVE(dup3); RESOLVE(fcntl); RESOLVE(fcntl64); RESOLVE(fopen);
    RESOLVE(fopen64); RESOLVE(fclose); RESOLVE(fputs); RESOLVE(fwrite); RESOLVE(vfprintf);
}

/* Writes everything with the raw system call (never through a wrapper). */
static void raw_write_all(const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        long n = syscall(SYS_write, log_fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Lexically normalizes an absolute path in place ("//", ".", ".."). */
static void normalize(char *path) {
    char out[PATH_MAX];
    size_t o = 0;
    const char *p = path;
    out[o++] = '/';
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != '/') p++;
        size_t n = (size_t)(p - start);
        if (n == 1 && start[0] == '.') continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            if (o > 1) {
                o--;
                while (o > 1 && out[o - 1] != '/') o--;
            }
            continue;
        }
        if (o + n + 2 >= sizeof out) break;
        if (o > 1) out[o++] = '/';
        memcpy(out + o, start, n);
        o += n;
        out[o] = 0;
    }
    out[o] = 0;
    if (o > 1 && out[o - 1] == '/') out[--o] = 0;
    memcpy(path, out, o + 1);
}

/* The absolute path `path` names relative to `dirfd`; 0 on success. */
static int absolute(int dirfd, const char *path, char *out) {
    int saved = errno;
    if (!path) return -1;
    if (path[0] == '/') {
        snprintf(out, PATH_MAX, "%s", path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base)) { errno = saved; return -1; }
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t n = readlink(link, base, sizeof base - 1);
            if (n < 0) { errno = saved; return -1; }
            base[n] = 0;
        }
        size_t lb = strlen(base), lp = strlen(path);
        if (lb + lp + 2 > PATH_MAX) { errno = saved; return -1; }   /* too long to be ours */
        memcpy(out, base, lb);
        out[lb] = '/';
        memcpy(out + lb + 1, path, lp + 1);
    }
    normalize(out);
    errno = saved;
    return 0;
}

/* The path relative to the root ("." for the root) in `rel`, escaped; 1 when below the root. */
static int relative_to_root(const char *abs, char *rel) {
    if (!active) return 0;
    if (strncmp(abs, root, root_len) != 0) return 0;
    const char *rest = abs + root_len;
    if (*rest == 0) { strcpy(rel, "."); return 1; }
    if (*rest != '/') return 0;
    rest++;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)rest; *p && o + 4 < PATH_MAX; p++) {
        if (*p <= 0x20 || *p == '%' || *p == 0x7f) o += (size_t)sprintf(rel + o, "%%%02X", *p);
        else rel[o++] = (char)*p;
    }
    rel[o] = 0;
    return 1;
}

/* Whether (dirfd, path) is below the root; its escaped relative path in `rel`. */
static int tracked_path(int dirfd, const char *path, char *rel) {
    char abs[PATH_MAX];
    if (!active || absolute(dirfd, path, abs) != 0) return 0;
    return relative_to_root(abs, rel);
}

static int is_marks_path(int dirfd, const char *path) {
    char abs[PATH_MAX];
    if (!active || !marks_path[0] || absolute(dirfd, path, abs) != 0) return 0;
    return strcmp(abs, marks_path) == 0;
}

static int fd_ok(int fd) { return fd >= 0 && fd < MAX_FDS; }
static int fd_tracked(int fd) { return active && fd_ok(fd) && (fdstate[fd] & FD_TRACKED); }
static int fd_marks(int fd) { return active && fd_ok(fd) && (fdstate[fd] & FD_MARKS); }

/* Records one header line (and optional payload). Call with log_lock held. */
static void emit(const char *line, size_t len, const void *payload, size_t plen) {
    raw_write_all(line, len);
    if (plen) raw_write_all(payload, plen);
}

static void emitf(const void *payload, size_t plen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emitf(const void *payload, size_t plen, const char *fmt, ...) {
    char line[3 * PATH_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    emit(line, (size_t)n, payload, plen);
}

static void lock_log(void) { pthread_mutex_lock(&log_lock); }
static void unlock_log(void) { pthread_mutex_unlock(&log_lock); }

static void at_fork_prepare(void) { pthread_mutex_lock(&log_lock); }
static void at_fork_parent(void) { pthread_mutex_unlock(&log_lock); }
static void at_fork_child(void) {
    pthread_mutex_unlock(&log_lock);
    active = 0;   /* the parent owns the log; a child's changes are not modelled */
}

__attribute__((constructor)) static void shim_init(void) {
    resolve_all();
    const char *r = getenv("CASHET_PL_ROOT");
    const char *l = getenv("CASHET_PL_LOG");
    const char *m = getenv("CASHET_PL_MARKS");
    if (!r || !l || r[0] != '/') return;
    snprintf(root, sizeof root, "%s", r);
    normalize(root);
    root_len = strlen(root);
    if (m && m[0] == '/') {
        snprintf(marks_path, sizeof marks_path, "%s", m);
        normalize(marks_path);
    }
    /* Every process image appends to the log after a header naming its pid: an exec keeps the
     * pid (a wrapper such as `nice` exec'ing the program), a forked child stops recording (see
     * at_fork_child), and the campaign refuses a log in which two pids changed the root. */
    int fd = (int)syscall(SYS_openat, AT_FDCWD, l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (fd < 100) {
        /* Keep the log's descriptor out of the low numbers the program uses. */
        int high = real_fcntl ? real_fcntl(fd, F_DUPFD_CLOEXEC, 500) : -1;
        if (high >= 0) { syscall(SYS_close, fd); fd = high; }
    }
    log_fd = fd;
    owner_pid = getpid();
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
    active = 1;
    lock_log();
    emitf(NULL, 0, "V 1 %d %s\n", (int)owner_pid, root);
    unlock_log();
}

/* ---- opens ---- */

static int needs_mode(int flags) { return (flags & O_CREAT) || ((flags & O_TMPFILE) == O_TMPFILE); }

/* Records an open that succeeded. Call with log_lock held. */
static void record_open(int fd, int flags, const char *rel) {
    struct stat st;
    unsigned long long ino = 0;
    int isdir = 0;
    if (fstat(fd, &st) == 0) {
        ino = (unsigned long long)st.st_ino;
        isdir = S_ISDIR(st.st_mode);
    }
    if (fd_ok(fd)) {
        unsigned char s = FD_TRACKED;
        if (flags & (O_DSYNC | O_SYNC)) s |= FD_SYNC;
        if (flags & O_APPEND) s |= FD_APPEND;
        fdstate[fd] = s;
    }
    emitf(NULL, 0, "O %llu %d %o %llu %d %s\n", seq++, fd, (unsigned)flags, ino, isdir, rel);
}

static void note_marks_open(int fd, int flags) {
    if (fd_ok(fd)) fdstate[fd] = FD_MARKS | ((flags & O_APPEND) ? FD_APPEND : 0);
}

/* The one open path every wrapper takes: `call` performs the real open. */
#define OPEN_BODY(dirfd, path, flags, call)                                 \
    do {                                                                    \
        char rel_[3 * PATH_MAX];                                            \
        if (active && getpid() == owner_pid && tracked_path((dirfd), (path), rel_)) { \
            lock_log();                                                     \
            int fd_ = (call);                                               \
            int err_ = errno;                                               \
            if (fd_ >= 0) record_open(fd_, (flags), rel_);                  \
            unlock_log();                                                   \
            errno = err_;                                                   \
            return fd_;                                                     \
        }                                                                   \
        int fd_ = (call);                                                   \
        int err_ = errno;                                                   \
        if (fd_ >= 0 && fd_ok(fd_)) {                                       \
            if (active && is_marks_path((dirfd), (path))) note_marks_open(fd_, (flags)); \
            else fdstate[fd_] = 0;                                          \
        }                                                                   \
        errno = err_;                                                       \
        return fd_;                                                         \
    } while (0)

#define MODE_ARG(flags, mode)                                               \
    mode_t mode = 0;                                                        \
    if (needs_mode(flags)) {                                                \
        va_list ap;                                                         \
        va_start(ap, flags);                                                \
        mode = (mode_t)va_arg(ap, int);                                     \
        va_end(ap);                                                         \
    }

int open(const char *path, int flags, ...) {
    MODE_ARG(flags, mode);
    RESOLVE(open);
    OPEN_BODY(AT_FDCWD, path, flags, real_open(path, flags, mode));
}

int open64(const char *path, int flags, ...) {
    MODE_ARG(flags, mode);
    RESOLVE(open64);
    OPEN_BODY(AT_FDCWD, path, flags, real_open64(path, flags, mode));
}

int openat(int dirfd, const char *path, int flags, ...) {
    MODE_ARG(flags, mode);
    RESOLVE(openat);
    OPEN_BODY(dirfd, path, flags, real_openat(dirfd, path, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...) {
    MODE_ARG(flags, mode);
    RESOLVE(openat64);
    OPEN_BODY(dirfd, path, flags, real_openat64(dirfd, path, flags, mode));
}

int __open_2(const char *path, int flags) {
    RESOLVE(__open_2);
    OPEN_BODY(AT_FDCWD, path, flags, real___open_2(path, flags));
}

int __open64_2(const char *path, int flags) {
    RESOLVE(__open64_2);
    OPEN_BODY(AT_FDCWD, path, flags, real___open64_2(path, flags));
}

int __openat_2(int dirfd, const char *path, int flags) {
    RESOLVE(__openat_2);
    OPEN_BODY(dirfd, path, flags, real___openat_2(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags) {
    RESOLVE(__openat64_2);
    OPEN_BODY(dirfd, path, flags, real___openat64_2(dirfd, path, flags));
}

int creat(const char *path, mode_t mode) {
    RESOLVE(creat);
    OPEN_BODY(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, real_creat(path, mode));
}

int creat64(const char *path, mode_t mode) {
    RESOLVE(creat64);
    OPEN_BODY(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, real_creat64(path, mode));
}

/* ---- close and dup ---- */

int close(int fd) {
    RESOLVE(close);
    if (fd_tracked(fd)) {
        lock_log();
        int rc = real_close(fd);
        int err = errno;
        /* Linux frees the descriptor even when close reports an error (except EBADF). */
        if (rc == 0 || err != EBADF) {
            fdstate[fd] = 0;
            emitf(NULL, 0, "C %llu %d\n", seq++, fd);
        }
        unlock_log();
        errno = err;
        return rc;
    }
    int rc = real_close(fd);
    if (fd_ok(fd) && (rc == 0 || errno != EBADF)) fdstate[fd] = 0;
    return rc;
}

/* After a successful dup of `oldfd` to `newfd` (which may have been open). Call with the lock held
 * when either is tracked. */
static void record_dup(int oldfd, int newfd) {
    if (!fd_ok(newfd)) return;
    unsigned char old = fd_ok(oldfd) ? fdstate[oldfd] : 0;
    if ((old & FD_TRACKED) || (fdstate[newfd] & FD_TRACKED)) {
        emitf(NULL, 0, "D %llu %d %d\n", seq++, (old & FD_TRACKED) ? oldfd : -1, newfd);
    }
    fdstate[newfd] = old;
}

static int dup_like(int oldfd, int newfd_hint, int (*call)(int, int, int), int a, int b, int c) {
    (void)newfd_hint;
    if (fd_tracked(oldfd) || fd_tracked(newfd_hint)) {
        lock_log();
        int fd = call(a, b, c);
        int err = errno;
        if (fd >= 0 && fd != oldfd) record_dup(oldfd, fd);
        unlock_log();
        errno = err;
        return fd;
    }
    int fd = call(a, b, c);
    int err = errno;
    if (fd >= 0 && fd != oldfd && active) record_dup(oldfd, fd);
    errno = err;
    return fd;
}

static int call_dup(int a, int b, int c) { (void)b; (void)c; return real_dup(a); }
static int call_dup2(int a, int b, int c) { (void)c; return real_dup2(a, b); }
static int call_dup3(int a, int b, int c) { return real_dup3(a, b, c); }

int dup(int fd) { RESOLVE(dup); return dup_like(fd, -1, call_dup, fd, 0, 0); }
int dup2(int fd, int newfd) { RESOLVE(dup2); return dup_like(fd, newfd, call_dup2, fd, newfd, 0); }
int dup3(int fd, int newfd, int flags) { RESOLVE(dup3); return dup_like(fd, newfd, call_dup3, fd, newfd, flags); }

static int fcntl_common(int (*call)(int, int, ...), int fd, int cmd, void *arg) {
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        if (fd_tracked(fd)) {
            lock_log();
            int rc = call(fd, cmd, arg);
            int err = errno;
            if (rc >= 0) record_dup(fd, rc);
            unlock_log();
            errno = err;
            return rc;
        }
        int rc = call(fd, cmd, arg);
        int err = errno;
        if (rc >= 0 && active) record_dup(fd, rc);
        errno = err;
        return rc;
    }
    int rc = call(fd, cmd, arg);
    if (cmd == F_SETFL && rc == 0 && active && fd_ok(fd) && fdstate[fd]) {
        int err = errno;
        long flags = (long)(intptr_t)arg;
        if (flags & O_APPEND) fdstate[fd] |= FD_APPEND;
        else fdstate[fd] &= (unsigned char)~FD_APPEND;
        errno = err;
    }
    return rc;
}

int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    RESOLVE(fcntl);
    return fcntl_common(real_fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    RESOLVE(fcntl64);
    if (!real_fcntl64) { RESOLVE(fcntl); return fcntl_common(real_fcntl, fd, cmd, arg); }
    return fcntl_common(real_fcntl64, fd, cmd, arg);
}

/* ---- writes ---- */

/* Where a write through `fd` will land: the current offset, or the end for O_APPEND. */
static long long current_offset(int fd, int append) {
    if (append) {
        struct stat st;
        return fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
    }
    return (long long)lseek(fd, 0, SEEK_CUR);
}

static void record_write(int fd, long long offset, const void *buf, size_t len, int sync) {
    emitf(buf, len, "W %llu %d %lld %zu %d\n", seq++, fd, offset, len, sync);
}

static void record_writev(int fd, long long offset, const struct iovec *iov, int iovcnt, size_t len, int sync) {
    emitf(NULL, 0, "W %llu %d %lld %zu %d\n", seq++, fd, offset, len, sync);
    size_t left = len;
    for (int i = 0; i < iovcnt && left > 0; i++) {
        size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
        raw_write_all(iov[i].iov_base, n);
        left -= n;
    }
}

static void record_mark(const void *buf, size_t len) {
    if (len == 0) return;
    lock_log();
    emitf(buf, len, "M %llu %zu\n", seq++, len);
    unlock_log();
}

ssize_t write(int fd, const void *buf, size_t count) {
    RESOLVE(write);
    if (fd_tracked(fd)) {
        lock_log();
        long long off = current_offset(fd, fdstate[fd] & FD_APPEND);
        ssize_t rc = real_write(fd, buf, count);
        int err = errno;
        if (rc > 0) record_write(fd, off, buf, (size_t)rc, (fdstate[fd] & FD_SYNC) != 0);
        unlock_log();
        errno = err;
        return rc;
    }
    ssize_t rc = real_write(fd, buf, count);
    if (rc > 0 && fd_marks(fd)) {
        int err = errno;
        record_mark(buf, (size_t)rc);
        errno = err;
    }
    return rc;
}

#define PWRITE_BODY(call, fd, buf, count, offset)                           \
    do {                                                                    \
        if (fd_tracked(fd)) {                                               \
            lock_log();                                                     \
            long long off_ = (fdstate[fd] & FD_APPEND) ? current_offset(fd, 1) : (long long)(offset); \
            ssize_t rc_ = (call);                                           \
            int err_ = errno;                                               \
            if (rc_ > 0) record_write(fd, off_, buf, (size_t)rc_, (fdstate[fd] & FD_SYNC) != 0); \
            unlock_log();                                                   \
            errno = err_;                                                   \
            return rc_;                                                     \
        }                                                                   \
        ssize_t rc_ = (call);                                               \
        if (rc_ > 0 && fd_marks(fd)) { int err_ = errno; record_mark(buf, (size_t)rc_); errno = err_; } \
        return rc_;                                                         \
    } while (0)

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    RESOLVE(pwrite);
    PWRITE_BODY(real_pwrite(fd, buf, count, offset), fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset) {
    RESOLVE(pwrite64);
    PWRITE_BODY(real_pwrite64(fd, buf, count, offset), fd, buf, count, offset);
}

static void marks_from_iov(const struct iovec *iov, int iovcnt, size_t len) {
    size_t left = len;
    for (int i = 0; i < iovcnt && left > 0; i++) {
        size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
        record_mark(iov[i].iov_base, n);
        left -= n;
    }
}

/* offset < 0: at the current offset (writev, or pwritev2 with -1). */
#define WRITEV_BODY(call, fd, iov, iovcnt, offset, extra_sync, extra_append) \
    do {                                                                    \
        if (fd_tracked(fd)) {                                               \
            lock_log();                                                     \
            int app_ = (fdstate[fd] & FD_APPEND) || (extra_append);         \
            long long off_ = (app_ || (offset) < 0) ? current_offset(fd, app_) : (long long)(offset); \
            ssize_t rc_ = (call);                                           \
            int err_ = errno;                                               \
            if (rc_ > 0) record_writev(fd, off_, iov, iovcnt, (size_t)rc_, (fdstate[fd] & FD_SYNC) || (extra_sync)); \
            unlock_log();                                                   \
            errno = err_;                                                   \
            return rc_;                                                     \
        }                                                                   \
        ssize_t rc_ = (call);                                               \
        if (rc_ > 0 && fd_marks(fd)) { int err_ = errno; marks_from_iov(iov, iovcnt, (size_t)rc_); errno = err_; } \
        return rc_;                                                         \
    } while (0)

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    RESOLVE(writev);
    WRITEV_BODY(real_writev(fd, iov, iovcnt), fd, iov, iovcnt, -1LL, 0, 0);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
    RESOLVE(pwritev);
    WRITEV_BODY(real_pwritev(fd, iov, iovcnt, offset), fd, iov, iovcnt, (long long)offset, 0, 0);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t offset) {
    RESOLVE(pwritev64);
    WRITEV_BODY(real_pwritev64(fd, iov, iovcnt, offset), fd, iov, iovcnt, (long long)offset, 0, 0);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags) {
    RESOLVE(pwritev2);
    WRITEV_BODY(real_pwritev2(fd, iov, iovcnt, offset, flags), fd, iov, iovcnt, (long long)offset,
                (flags & (RWF_DSYNC | RWF_SYNC)) != 0, (flags & RWF_APPEND) != 0);
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off64_t offset, int flags) {
    RESOLVE(pwritev64v2);
    WRITEV_BODY(real_pwritev64v2(fd, iov, iovcnt, offset, flags), fd, iov, iovcnt, (long long)offset,
                (flags & (RWF_DSYNC | RWF_SYNC)) != 0, (flags & RWF_APPEND) != 0);
}

/* ---- sizes ---- */

#define FD_OP_BODY(call, fd, fmt, ...)                                      \
    do {                                                                    \
        if (fd_tracked(fd)) {                                               \
            lock_log();                                                     \
            int rc_ = (call);                                               \
            int err_ = errno;                                               \
            if (rc_ == 0) emitf(NULL, 0, fmt, seq++, fd, ##__VA_ARGS__);    \
            unlock_log();                                                   \
            errno = err_;                                                   \
            return rc_;                                                     \
        }                                                                   \
        return (call);                                                      \
    } while (0)

int ftruncate(int fd, off_t length) {
    RESOLVE(ftruncate);
    FD_OP_BODY(real_ftruncate(fd, length), fd, "T %llu %d %lld\n", (long long)length);
}

int ftruncate64(int fd, off64_t length) {
    RESOLVE(ftruncate64);
    FD_OP_BODY(real_ftruncate64(fd, length), fd, "T %llu %d %lld\n", (long long)length);
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
    RESOLVE(fallocate);
    FD_OP_BODY(real_fallocate(fd, mode, offset, len), fd, "A %llu %d %lld %lld %d\n", (long long)offset, (long long)len, mode);
}

int fallocate64(int fd, int mode, off64_t offset, off64_t len) {
    RESOLVE(fallocate64);
    FD_OP_BODY(real_fallocate64(fd, mode, offset, len), fd, "A %llu %d %lld %lld %d\n", (long long)offset, (long long)len, mode);
}

/* posix_fallocate returns an error number instead of setting errno (0 on success). */
int posix_fallocate(int fd, off_t offset, off_t len) {
    RESOLVE(posix_fallocate);
    FD_OP_BODY(real_posix_fallocate(fd, offset, len), fd, "A %llu %d %lld %lld 0\n", (long long)offset, (long long)len);
}

int posix_fallocate64(int fd, off64_t offset, off64_t len) {
    RESOLVE(posix_fallocate64);
    FD_OP_BODY(real_posix_fallocate64(fd, offset, len), fd, "A %llu %d %lld %lld 0\n", (long long)offset, (long long)len);
}

static int path_truncate(const char *path, long long length, int is64) {
    char rel[3 * PATH_MAX];
    if (active && getpid() == owner_pid && tracked_path(AT_FDCWD, path, rel)) {
        lock_log();
        int rc = is64 ? real_truncate64(path, length) : real_truncate(path, length);
        int err = errno;
        if (rc == 0) emitf(NULL, 0, "TP %llu %lld %s\n", seq++, length, rel);
        unlock_log();
        errno = err;
        return rc;
    }
    return is64 ? real_truncate64(path, length) : real_truncate(path, length);
}

int truncate(const char *path, off_t length) { RESOLVE(truncate); return path_truncate(path, length, 0); }
int truncate64(const char *path, off64_t length) { RESOLVE(truncate64); return path_truncate(path, length, 1); }

/* ---- durability ---- */

int fsync(int fd) {
    RESOLVE(fsync);
    FD_OP_BODY(real_fsync(fd), fd, "S %llu %d\n");
}

int fdatasync(int fd) {
    RESOLVE(fdatasync);
    FD_OP_BODY(real_fdatasync(fd), fd, "Y %llu %d\n");
}

int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
    RESOLVE(sync_file_range);
    FD_OP_BODY(real_sync_file_range(fd, offset, nbytes, flags), fd, "R %llu %d %lld %lld %u\n",
               (long long)offset, (long long)nbytes, flags);
}

void sync(void) {
    RESOLVE(sync);
    if (active && getpid() == owner_pid) {
        lock_log();
        real_sync();
        emitf(NULL, 0, "G %llu\n", seq++);
        unlock_log();
        return;
    }
    real_sync();
}

int syncfs(int fd) {
    RESOLVE(syncfs);
    if (active && getpid() == owner_pid) {
        lock_log();
        int rc = real_syncfs(fd);
        int err = errno;
        if (rc == 0) emitf(NULL, 0, "G %llu\n", seq++);
        unlock_log();
        errno = err;
        return rc;
    }
    return real_syncfs(fd);
}

/* ---- names ---- */

static int rename_common(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                         unsigned int flags, int (*call)(int, const char *, int, const char *, unsigned int)) {
    char relold[3 * PATH_MAX], relnew[3 * PATH_MAX];
    int a = active && getpid() == owner_pid && tracked_path(olddirfd, oldpath, relold);
    int b = active && getpid() == owner_pid && tracked_path(newdirfd, newpath, relnew);
    if (a || b) {
        lock_log();
        int rc = call(olddirfd, oldpath, newdirfd, newpath, flags);
        int err = errno;
        if (rc == 0) emitf(NULL, 0, "N %llu %u %s %s\n", seq++, flags, a ? relold : "-", b ? relnew : "-");
        unlock_log();
        errno = err;
        return rc;
    }
    return call(olddirfd, oldpath, newdirfd, newpath, flags);
}

static int call_rename(int a, const char *b, int c, const char *d, unsigned int f) { (void)a; (void)c; (void)f; return real_rename(b, d); }
static int call_renameat(int a, const char *b, int c, const char *d, unsigned int f) { (void)f; return real_renameat(a, b, c, d); }
static int call_renameat2(int a, const char *b, int c, const char *d, unsigned int f) { return real_renameat2(a, b, c, d, f); }

int rename(const char *oldpath, const char *newpath) {
    RESOLVE(rename);
    return rename_common(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0, call_rename);
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    RESOLVE(renameat);
    return rename_common(olddirfd, oldpath, newdirfd, newpath, 0, call_renameat);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    RESOLVE(renameat2);
    return rename_common(olddirfd, oldpath, newdirfd, newpath, flags, call_renameat2);
}

/* One-path operations: unlink, rmdir, mkdir. */
#define PATH_OP_BODY(dirfd, path, call, fmt, ...)                           \
    do {                                                                    \
        char rel_[3 * PATH_MAX];                                            \
        if (active && getpid() == owner_pid && tracked_path((dirfd), (path), rel_)) { \
            lock_log();                                                     \
            int rc_ = (call);                                               \
            int err_ = errno;                                               \
            if (rc_ == 0) emitf(NULL, 0, fmt, seq++, ##__VA_ARGS__, rel_);  \
            unlock_log();                                                   \
            errno = err_;                                                   \
            return rc_;                                                     \
        }                                                                   \
        return (call);                                                      \
    } while (0)

int unlink(const char *path) {
    RESOLVE(unlink);
    PATH_OP_BODY(AT_FDCWD, path, real_unlink(path), "U %llu %s\n");
}

int unlinkat(int dirfd, const char *path, int flags) {
    RESOLVE(unlinkat);
    if (flags & AT_REMOVEDIR) PATH_OP_BODY(dirfd, path, real_unlinkat(dirfd, path, flags), "Q %llu %s\n");
    PATH_OP_BODY(dirfd, path, real_unlinkat(dirfd, path, flags), "U %llu %s\n");
}

int rmdir(const char *path) {
    RESOLVE(rmdir);
    PATH_OP_BODY(AT_FDCWD, path, real_rmdir(path), "Q %llu %s\n");
}

int mkdir(const char *path, mode_t mode) {
    RESOLVE(mkdir);
    PATH_OP_BODY(AT_FDCWD, path, real_mkdir(path, mode), "K %llu %o %s\n", (unsigned)mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode) {
    RESOLVE(mkdirat);
    PATH_OP_BODY(dirfd, path, real_mkdirat(dirfd, path, mode), "K %llu %o %s\n", (unsigned)mode);
}

static int link_common(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags, int is_at) {
    char relold[3 * PATH_MAX], relnew[3 * PATH_MAX];
    int a = active && getpid() == owner_pid && tracked_path(olddirfd, oldpath, relold);
    int b = active && getpid() == owner_pid && tracked_path(newdirfd, newpath, relnew);
    if (a || b) {
        lock_log();
        int rc = is_at ? real_linkat(olddirfd, oldpath, newdirfd, newpath, flags) : real_link(oldpath, newpath);
        int err = errno;
        if (rc == 0) emitf(NULL, 0, "L %llu %s %s\n", seq++, a ? relold : "-", b ? relnew : "-");
        unlock_log();
        errno = err;
        return rc;
    }
    return is_at ? real_linkat(olddirfd, oldpath, newdirfd, newpath, flags) : real_link(oldpath, newpath);
}

int link(const char *oldpath, const char *newpath) {
    RESOLVE(link);
    return link_common(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0, 0);
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags) {
    RESOLVE(linkat);
    return link_common(olddirfd, oldpath, newdirfd, newpath, flags, 1);
}

static void escape(const char *in, char *out, size_t cap) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap; p++) {
        if (*p <= 0x20 || *p == '%' || *p == 0x7f) o += (size_t)sprintf(out + o, "%%%02X", *p);
        else out[o++] = (char)*p;
    }
    out[o] = 0;
}

static int symlink_common(const char *target, int newdirfd, const char *linkpath, int is_at) {
    char rel[3 * PATH_MAX];
    if (active && getpid() == owner_pid && tracked_path(newdirfd, linkpath, rel)) {
        char esc[3 * PATH_MAX];
        escape(target, esc, sizeof esc);
        lock_log();
        int rc = is_at ? real_symlinkat(target, newdirfd, linkpath) : real_symlink(target, linkpath);
        int err = errno;
        if (rc == 0) emitf(NULL, 0, "Z %llu %s %s\n", seq++, esc, rel);
        unlock_log();
        errno = err;
        return rc;
    }
    return is_at ? real_symlinkat(target, newdirfd, linkpath) : real_symlink(target, linkpath);
}

int symlink(const char *target, const char *linkpath) {
    RESOLVE(symlink);
    return symlink_common(target, AT_FDCWD, linkpath, 0);
}

int symlinkat(const char *target, int newdirfd, const char *linkpath) {
    RESOLVE(symlinkat);
    return symlink_common(target, newdirfd, linkpath, 1);
}

/* ---- the marks file through stdio ----
 * glibc's stdio writes with its internal __write, which no preload can see, so a FILE* opened
 * on the marks path is remembered and what the program hands to fputs/fwrite/fprintf on it is
 * recorded as a mark when it is handed over (the acknowledgement comes after the store call
 * returned either way). */

static int is_mark_file(FILE *f) {
    if (!active || !f) return 0;
    for (int i = 0; i < MAX_MARK_FILES; i++) if (mark_files[i] == f) return 1;
    return 0;
}

static void remember_mark_file(FILE *f) {
    lock_log();
    for (int i = 0; i < MAX_MARK_FILES; i++) {
        if (!mark_files[i]) { mark_files[i] = f; break; }
    }
    unlock_log();
}

/* After fopen/fopen64: remembers a stream on the marks file (errno kept for the caller). */
static FILE *after_fopen(FILE *f, const char *path) {
    if (f && active && is_marks_path(AT_FDCWD, path)) {
        int err = errno;
        remember_mark_file(f);
        errno = err;
    }
    return f;
}

FILE *fopen(const char *path, const char *mode) {
    RESOLVE(fopen);
    return after_fopen(real_fopen(path, mode), path);
}

FILE *fopen64(const char *path, const char *mode) {
    RESOLVE(fopen64);
    return after_fopen(real_fopen64(path, mode), path);
}

int fclose(FILE *f) {
    RESOLVE(fclose);
    if (active && f) {
        lock_log();
        for (int i = 0; i < MAX_MARK_FILES; i++) if (mark_files[i] == f) mark_files[i] = NULL;
        unlock_log();
    }
    return real_fclose(f);
}

int fputs(const char *s, FILE *f) {
    RESOLVE(fputs);
    int rc = real_fputs(s, f);
    if (rc >= 0 && is_mark_file(f)) {
        int err = errno;
        record_mark(s, strlen(s));
        errno = err;
    }
    return rc;
}

size_t fwrite(const void *buf, size_t size, size_t n, FILE *f) {
    RESOLVE(fwrite);
    size_t rc = real_fwrite(buf, size, n, f);
    if (rc > 0 && is_mark_file(f)) {
        int err = errno;
        record_mark(buf, rc * size);
        errno = err;
    }
    return rc;
}

int fprintf(FILE *f, const char *fmt, ...) {
    RESOLVE(vfprintf);
    va_list ap;
    va_start(ap, fmt);
    int rc;
    if (is_mark_file(f)) {
        char text[4096];
        va_list copy;
        va_copy(copy, ap);
        int n = vsnprintf(text, sizeof text, fmt, copy);
        va_end(copy);
        rc = real_vfprintf(f, fmt, ap);
        if (rc > 0 && n > 0) {
            int err = errno;
            record_mark(text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
            errno = err;
        }
    } else {
        rc = real_vfprintf(f, fmt, ap);
    }
    va_end(ap);
    return rc;
}
