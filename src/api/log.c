/*
 * log.c - where a volume's messages go: its problems (fsp_log) and the
 * debug log, one readable line per request and one per reply:
 *
 *   12:00:01.123456 memfs <- 42 LOOKUP /docs name=report.txt
 *   12:00:01.123480 memfs -> 42 LOOKUP OK 128 bytes 24us
 *
 * Each line is formatted into a buffer on the caller's stack and given to
 * the volume's log handler, else the process's default, else
 * fsp_log_to_stderr(), which writes it with one write(2), so lines from
 * different workers never interleave. The reply of a request completed
 * later (FSP_PENDING) is logged by the thread that sends it, with the
 * latency since the request arrived. While the debug log is off its
 * entry points cost one relaxed atomic load.
 *
 * The handlers are read under read locks (the volume's, then the
 * process's) held while the handler runs, so that a setter, which takes
 * the write lock, returns only when the old handler is done: its user
 * pointer may then be freed. Writers are preferred, so a steady debug
 * log cannot starve a setter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "describe.h"
#include "fs_internal.h"
#include "op_table.h"

#define LINE_MAX_BYTES 2048

/* The process's default handler (fsp_set_log_handler()). */
static pthread_rwlock_t default_lock =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static fsp_log_handler_t *default_handler;
static void *default_user;

static int init_rwlock(pthread_rwlock_t *lock)
{
    pthread_rwlockattr_t attr;
    int err;

    err = pthread_rwlockattr_init(&attr);
    if (err)
        return -err;
    pthread_rwlockattr_setkind_np(
        &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    err = pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return -err;
}

int fsp_log_init(struct fsp_fs *fs)
{
    fs->log_handler = NULL;
    fs->log_user = NULL;
    return init_rwlock(&fs->log_lock);
}

void fsp_log_fini(struct fsp_fs *fs)
{
    pthread_rwlock_destroy(&fs->log_lock);
}

FSP_API int fsp_fs_set_log_handler(fsp_fs_t *fs, fsp_log_handler_t *handler,
                                   void *user)
{
    if (!fs)
        return -EINVAL;
    pthread_rwlock_wrlock(&fs->log_lock);
    fs->log_handler = handler;
    fs->log_user = handler ? user : NULL;
    pthread_rwlock_unlock(&fs->log_lock);
    return 0;
}

FSP_API void fsp_set_log_handler(fsp_log_handler_t *handler, void *user)
{
    pthread_rwlock_wrlock(&default_lock);
    default_handler = handler;
    default_user = handler ? user : NULL;
    pthread_rwlock_unlock(&default_lock);
}

FSP_API void fsp_log_to_stderr(fsp_fs_t *fs, int level, const char *message,
                               void *user)
{
    char line[LINE_MAX_BYTES + 32];
    struct timeval tv;
    struct tm tm;
    size_t len;
    char *p;

    (void)fs;
    (void)level;
    (void)user;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    len = (size_t)snprintf(line, sizeof line - 1, "%02d:%02d:%02d.%06ld %s",
                           tm.tm_hour, tm.tm_min, tm.tm_sec,
                           (long)tv.tv_usec, message ? message : "");
    if (len >= sizeof line - 1)
        len = sizeof line - 2;
    line[len++] = '\n';
    for (p = line; len > 0;) {
        ssize_t n = write(STDERR_FILENO, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

FSP_API void fsp_log_to_syslog(fsp_fs_t *fs, int level, const char *message,
                               void *user)
{
    (void)fs;
    (void)user;
    syslog(level & LOG_PRIMASK, "%s", message ? message : "");
}

/* Hands one finished line to the handler in charge of fs. */
static void emit(struct fsp_fs *fs, int level, const char *line)
{
    pthread_rwlock_rdlock(&fs->log_lock);
    if (fs->log_handler) {
        fs->log_handler(fs, level, line, fs->log_user);
    } else {
        pthread_rwlock_rdlock(&default_lock);
        if (default_handler)
            default_handler(fs, level, line, default_user);
        else
            fsp_log_to_stderr(fs, level, line, NULL);
        pthread_rwlock_unlock(&default_lock);
    }
    pthread_rwlock_unlock(&fs->log_lock);
}

static const char *opname(uint32_t opcode, char *buf, size_t size)
{
    const char *name = fsp_op_name(opcode);

    if (name)
        return name;
    snprintf(buf, size, "OPCODE_%u", opcode);
    return buf;
}

/* What starts each line: the file system's name, or for a volume of the
 * plain type fuse (an empty name) its source. */
static const char *log_name(const struct fsp_fs *fs)
{
    return fs->fs_name[0] ? fs->fs_name : fs->source;
}

static bool debug_on(struct fsp_fs *fs)
{
    return atomic_load_explicit(&fs->debug, memory_order_relaxed);
}

void fsp_log_request(struct fsp_fs *fs, const struct fsp_request *in)
{
    char line[LINE_MAX_BYTES], args[1536], nb[32], uid[16];
    struct fsp_node *node;
    char *path = NULL;
    int err;

    if (!debug_on(fs) || !in->hdr)
        return;
    node = fsp_node_get(fs, in->nodeid);
    if (node) {
        path = fsp_node_path(fs, node, NULL, &err);
        fsp_node_put(fs, node);
    }
    fsp_op_describe(in, args, sizeof args);
    if (in->hdr->uid == FSP_UNKNOWN_ID)
        snprintf(uid, sizeof uid, "-"); /* not said (allow_idmap) */
    else
        snprintf(uid, sizeof uid, "%u", in->hdr->uid);
    snprintf(line, sizeof line, "%s <- %llu %s %s%s%s uid=%s pid=%u",
             log_name(fs), (unsigned long long)in->unique,
             opname(in->opcode, nb, sizeof nb),
             path ? path : (node ? "(unlinked)" : "-"), args[0] ? " " : "",
             args, uid, in->hdr->pid);
    free(path);
    emit(fs, FSP_LOG_DEBUG, line);
}

void fsp_log_reply(struct fsp_fs *fs, uint64_t unique, uint32_t opcode,
                   int error, size_t size, uint64_t start_ns)
{
    char line[LINE_MAX_BYTES], nb[32];
    const char *errname;
    char latency[32] = "-";

    if (!debug_on(fs))
        return;
    errname = error ? strerrorname_np(-error) : "OK";
    if (start_ns)
        snprintf(latency, sizeof latency, "%lluus",
                 (unsigned long long)(fsp_now_ns() - start_ns) / 1000);
    snprintf(line, sizeof line, "%s -> %llu %s %s%s%s (%zu bytes) %s",
             log_name(fs), (unsigned long long)unique,
             opname(opcode, nb, sizeof nb),
             errname ? errname : "error", error ? " " : "",
             error ? strerror(-error) : "", size, latency);
    emit(fs, FSP_LOG_DEBUG, line);
}

static void vlog(struct fsp_fs *fs, int level, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    size_t len;

    len = (size_t)snprintf(line, sizeof line, "%s: ", log_name(fs));
    if (len < sizeof line)
        vsnprintf(line + len, sizeof line - len, fmt, ap);
    emit(fs, level, line);
}

void fsp_log(struct fsp_fs *fs, const char *fmt, ...)
{
    va_list ap;

    /* Problems (a callback's bad return, a failed channel) are always
     * worth a line, debug or not. */
    va_start(ap, fmt);
    vlog(fs, FSP_LOG_ERROR, fmt, ap);
    va_end(ap);
}

void fsp_log_warning(struct fsp_fs *fs, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(fs, FSP_LOG_WARNING, fmt, ap);
    va_end(ap);
}

void fsp_log_debug(struct fsp_fs *fs, const char *fmt, ...)
{
    va_list ap;

    if (!debug_on(fs))
        return;
    va_start(ap, fmt);
    vlog(fs, FSP_LOG_DEBUG, fmt, ap);
    va_end(ap);
}
