/*
 * log.c - the debug log: one readable line per request and one per reply.
 *
 *   12:00:01.123456 memfs <- 42 LOOKUP /docs name=report.txt
 *   12:00:01.123480 memfs -> 42 LOOKUP OK 128 bytes 24us
 *
 * Each line is formatted into a buffer and written with one write(2), so
 * lines from different workers never interleave. The reply of a request
 * completed later (FSP_PENDING) is logged by the thread that sends it,
 * with the latency since the request arrived. While the log is off the
 * entry points cost one relaxed atomic load.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fs_internal.h"

#define LINE_MAX_BYTES 2048

static size_t timestamp(char *buf, size_t size)
{
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    return (size_t)snprintf(buf, size, "%02d:%02d:%02d.%06ld ", tm.tm_hour,
                            tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static void emit(char *line, size_t len)
{
    if (len >= LINE_MAX_BYTES - 1)
        len = LINE_MAX_BYTES - 2;
    line[len++] = '\n';
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

static const char *opname(uint32_t opcode, char *buf, size_t size)
{
    const char *name = fsp_proto_opcode_name(opcode);

    if (name)
        return name;
    snprintf(buf, size, "OPCODE_%u", opcode);
    return buf;
}

static bool debug_on(struct fsp_fs *fs)
{
    return atomic_load_explicit(&fs->debug, memory_order_relaxed);
}

void fsp_log_request(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    char line[LINE_MAX_BYTES], args[1536], nb[32];
    struct fsp_node *node;
    char *path = NULL;
    size_t len;
    int err;

    if (!debug_on(fs) || !req->in.hdr)
        return;
    node = fsp_node_get(fs, req->in.nodeid);
    if (node) {
        path = fsp_node_path(fs, node, NULL, &err);
        fsp_node_put(fs, node);
    }
    fsp_proto_format_args(&req->in, args, sizeof args);
    len = timestamp(line, sizeof line);
    len += (size_t)snprintf(line + len, sizeof line - len,
                            "%s <- %llu %s %s%s%s uid=%u pid=%u",
                            fs->fs_name,
                            (unsigned long long)req->in.unique,
                            opname(req->in.opcode, nb, sizeof nb),
                            path ? path : (node ? "(unlinked)" : "-"),
                            args[0] ? " " : "", args, req->in.hdr->uid,
                            req->in.hdr->pid);
    free(path);
    emit(line, len < sizeof line ? len : sizeof line - 1);
}

void fsp_log_reply(struct fsp_req *req, int error, size_t size)
{
    struct fsp_fs *fs = req->fs;
    char line[LINE_MAX_BYTES], nb[32];
    const char *errname;
    char latency[32] = "-";
    size_t len;

    if (!debug_on(fs))
        return;
    errname = error ? strerrorname_np(-error) : "OK";
    if (req->start_ns)
        snprintf(latency, sizeof latency, "%lluus",
                 (unsigned long long)(fsp_now_ns() - req->start_ns) / 1000);
    len = timestamp(line, sizeof line);
    len += (size_t)snprintf(line + len, sizeof line - len,
                            "%s -> %llu %s %s%s%s (%zu bytes) %s",
                            fs->fs_name,
                            (unsigned long long)req->in.unique,
                            opname(req->in.opcode, nb, sizeof nb),
                            errname ? errname : "error",
                            error ? " " : "",
                            error ? strerror(-error) : "", size, latency);
    emit(line, len < sizeof line ? len : sizeof line - 1);
}

static void vlog(struct fsp_fs *fs, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    size_t len;

    len = timestamp(line, sizeof line);
    len += (size_t)snprintf(line + len, sizeof line - len, "%s: ",
                            fs->fs_name);
    if (len < sizeof line)
        len += (size_t)vsnprintf(line + len, sizeof line - len, fmt, ap);
    emit(line, len < sizeof line ? len : sizeof line - 1);
}

void fsp_log(struct fsp_fs *fs, const char *fmt, ...)
{
    va_list ap;

    /* Problems (a callback's bad return, a failed channel) are always
     * worth a line, debug or not. */
    va_start(ap, fmt);
    vlog(fs, fmt, ap);
    va_end(ap);
}

void fsp_log_debug(struct fsp_fs *fs, const char *fmt, ...)
{
    va_list ap;

    if (!debug_on(fs))
        return;
    va_start(ap, fmt);
    vlog(fs, fmt, ap);
    va_end(ap);
}
