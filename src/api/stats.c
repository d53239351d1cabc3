/*
 * stats.c - the volume's live counters, published in a shared file.
 *
 * A volume creates <dir>/<pid>-<conn_id>.vol (see fsp_stats_dir() for
 * <dir>), sizes it to one struct fsp_stats_shared, maps it MAP_SHARED and
 * closes the descriptor: from then on the counters are plain memory, and
 * fsptool maps the same file to read them. The request path only does
 * relaxed atomic adds: no lock, no syscall.
 *
 * Publishing is best effort. If any step fails, fsp_stats_open() returns
 * -errno and leaves st->shared NULL, and every other function here then
 * does nothing, so callers never have to check.
 */
#define _GNU_SOURCE /* asprintf */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATS_ROOT_DIR "/run/fsp"

/* Is process @pid alive? EPERM means it exists but belongs to someone else. */
static bool pid_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    return kill(pid, 0) == 0 || errno == EPERM;
}

/* Can we use $XDG_RUNTIME_DIR? It must be an absolute path to a directory
 * of ours that we can write to (the XDG spec requires 0700 and our uid). */
static const char *usable_xdg_runtime_dir(void)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat sb;

    if (!xdg || xdg[0] != '/')
        return NULL;
    if (stat(xdg, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return NULL;
    if (sb.st_uid != geteuid() || access(xdg, W_OK | X_OK) != 0)
        return NULL;
    return xdg;
}

int fsp_stats_dir(char *buf, size_t size)
{
    const char *xdg;
    int n;

    if (geteuid() == 0)
        n = snprintf(buf, size, "%s", STATS_ROOT_DIR);
    else if ((xdg = usable_xdg_runtime_dir()) != NULL)
        n = snprintf(buf, size, "%s/fsp", xdg);
    else
        n = snprintf(buf, size, "/tmp/fsp-%u", (unsigned)geteuid());
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}

/*
 * Create @path as a directory with @mode, or accept an existing one, but
 * only if it is a real directory (not a symlink), ours, and writable by
 * nobody else: /tmp/fsp-<uid> lives in a world-writable place, and someone
 * who could plant files there could make fsptool show made-up volumes.
 */
static int ensure_publish_dir(const char *path, mode_t mode)
{
    struct stat sb;

    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return -errno;
    if (lstat(path, &sb) != 0)
        return -errno;
    if (!S_ISDIR(sb.st_mode))
        return -ENOTDIR;
    if (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH)))
        return -EPERM;
    return 0;
}

/*
 * An earlier file has our name. The name holds our pid, so it was left by
 * a dead process that had our pid before us, or by an earlier volume of
 * this process whose connection the kernel has closed (connection numbers
 * are reused). Either way it is stale, unless it names another live
 * process, which only a hand-made file would: then leave it alone.
 */
static int remove_stale_file(const char *path)
{
    int32_t pid = 0;
    struct stat sb;
    int fd;
    int ret = 0;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        ret = errno == ENOENT ? 0 : -errno;
        goto out;
    }
    if (fstat(fd, &sb) != 0) {
        ret = -errno;
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        ret = -EEXIST;
        goto out;
    }
    if (pread(fd, &pid, sizeof(pid), offsetof(struct fsp_stats_shared, pid))
            == (ssize_t)sizeof(pid) &&
        pid != getpid() && pid_alive(pid)) {
        ret = -EEXIST;
        goto out;
    }
    if (unlink(path) != 0 && errno != ENOENT)
        ret = -errno;
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

/* Copy @src into the fixed-size field @dst, truncated, NUL-terminated. */
static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int fsp_stats_open(struct fsp_stats *st, const char *mountpoint,
                   const char *fs_name, const char *channel,
                   unsigned conn_id, unsigned threads)
{
    struct fsp_stats_shared *sh = NULL;
    struct timespec now;
    char dir[PATH_MAX];
    char *path = NULL;
    int fd = -1;
    int ret;

    st->shared = NULL;
    st->path = NULL;

    /* fsptool finds a volume by its mount point: a truncated one would
     * never match, so refuse rather than publish it. */
    if (!mountpoint || strlen(mountpoint) >= sizeof(sh->mountpoint)) {
        ret = -ENAMETOOLONG;
        goto out;
    }
    ret = fsp_stats_dir(dir, sizeof(dir));
    if (ret < 0)
        goto out;
    ret = ensure_publish_dir(dir, geteuid() == 0 ? 0755 : 0700);
    if (ret < 0)
        goto out;
    if (asprintf(&path, "%s/%d-%u.vol", dir, (int)getpid(), conn_id) < 0) {
        path = NULL;
        ret = -ENOMEM;
        goto out;
    }

    /* O_EXCL|O_NOFOLLOW: never write through a planted file or symlink. */
    for (int attempt = 0; attempt < 2; attempt++) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0644);
        if (fd >= 0 || errno != EEXIST || attempt > 0)
            break;
        ret = remove_stale_file(path);
        if (ret < 0)
            goto out;
    }
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    /* The mode must not depend on the volume's umask: users read root's
     * volumes in /run/fsp. */
    if (fchmod(fd, 0644) != 0 || ftruncate(fd, sizeof(*sh)) != 0) {
        ret = -errno;
        goto out_unlink;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED) {
        sh = NULL;
        ret = -errno;
        goto out_unlink;
    }

    /* The file is all zeros after ftruncate: counters start at 0. */
    clock_gettime(CLOCK_REALTIME, &now);
    sh->version = FSP_STATS_VERSION;
    sh->pid = (int32_t)getpid();
    sh->threads = threads;
    sh->started_unix_ns = (uint64_t)now.tv_sec * 1000000000u +
                          (uint64_t)now.tv_nsec;
    copy_field(sh->mountpoint, sizeof(sh->mountpoint), mountpoint);
    copy_field(sh->fs_name, sizeof(sh->fs_name), fs_name);
    copy_field(sh->channel, sizeof(sh->channel), channel);
    /* The magic goes in last, with release ordering: a reader that sees it
     * (with an acquire load) sees the whole header. */
    __atomic_store_n(&sh->magic, FSP_STATS_MAGIC, __ATOMIC_RELEASE);

    st->shared = sh;
    st->path = path;
    path = NULL;
    ret = 0;
    goto out;

out_unlink:
    unlink(path);
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return ret;
}

void fsp_stats_set_channel(struct fsp_stats *st, const char *channel)
{
    /* A reader may see a torn name for an instant; it is only shown. */
    if (st && st->shared)
        copy_field(st->shared->channel, sizeof(st->shared->channel),
                   channel);
}

void fsp_stats_close(struct fsp_stats *st)
{
    if (!st)
        return;
    if (st->shared) {
        /* A reader that still has the file mapped sees the volume gone. */
        __atomic_store_n(&st->shared->magic, 0, __ATOMIC_RELEASE);
        munmap(st->shared, sizeof(*st->shared));
        st->shared = NULL;
    }
    if (st->path) {
        unlink(st->path);
        free(st->path);
        st->path = NULL;
    }
}

void fsp_stats_request(struct fsp_stats *st, uint32_t opcode)
{
    if (!st->shared)
        return;
    if (opcode >= FSP_STATS_OPCODES)
        opcode = 0;
    atomic_fetch_add_explicit(&st->shared->requests[opcode], 1,
                              memory_order_relaxed);
}

void fsp_stats_reply(struct fsp_stats *st, int error)
{
    unsigned idx;

    if (!st->shared)
        return;
    /* Written so that -error is never computed for INT_MIN. */
    if (error == 0)
        idx = 0;
    else if (error < 0 && error > -(int)(FSP_STATS_ERRNOS - 1))
        idx = (unsigned)-error;
    else
        idx = FSP_STATS_ERRNOS - 1;
    atomic_fetch_add_explicit(&st->shared->replies_by_errno[idx], 1,
                              memory_order_relaxed);
}

int fsp_stats_set_state(struct fsp_stats *st, const char *text)
{
    struct fsp_stats_shared *sh = st ? st->shared : NULL;
    size_t len = strlen(text);
    uint32_t seq;
    int ret = 0;

    if (len >= FSP_STATS_STATE_SIZE) {
        len = FSP_STATS_STATE_SIZE - 1;
        ret = -E2BIG;
    }
    if (!sh)
        return ret;
    /* Writers take turns on the sequence itself: one turns it from even
     * to odd, the others wait for even again (a copy of a few hundred
     * bytes), readers retry while it is odd or moved. */
    seq = atomic_load_explicit(&sh->fs_state_seq, memory_order_relaxed);
    for (;;) {
        if (seq & 1) {
            seq = atomic_load_explicit(&sh->fs_state_seq,
                                       memory_order_relaxed);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(
                &sh->fs_state_seq, &seq, seq + 1, memory_order_acquire,
                memory_order_relaxed))
            break;
    }
    atomic_thread_fence(memory_order_release);
    memcpy(sh->fs_state, text, len);
    sh->fs_state[len] = '\0';
    atomic_store_explicit(&sh->fs_state_seq, seq + 2, memory_order_release);
    return ret;
}

void fsp_stats_read_state(const struct fsp_stats_shared *sh, char *out)
{
    uint32_t before, after;
    int tries = 0;

    do {
        before = atomic_load_explicit(&sh->fs_state_seq, memory_order_acquire);
        memcpy(out, sh->fs_state, FSP_STATS_STATE_SIZE);
        atomic_thread_fence(memory_order_acquire);
        after = atomic_load_explicit(&sh->fs_state_seq, memory_order_relaxed);
    } while ((before != after || (before & 1)) && ++tries < 1000);
    out[FSP_STATS_STATE_SIZE - 1] = '\0';
    if (before != after || (before & 1))
        out[0] = '\0'; /* a writer that never finishes: show nothing */
}
