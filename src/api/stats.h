/*
 * stats.h - live counters that a running volume publishes for fsptool.
 *
 * Each volume creates one file, <dir>/<pid>-<conn_id>.vol, where <dir> is
 * /run/fsp for root and $XDG_RUNTIME_DIR/fsp (or /tmp/fsp-<uid>) otherwise,
 * and maps it shared. The volume updates counters with relaxed atomic adds;
 * fsptool maps the same file read-only (or read-write, for the debug switch)
 * and reads them. No lock, no syscall on the request path.
 *
 * Readers: load magic with acquire ordering (__atomic_load_n(...,
 * __ATOMIC_ACQUIRE)) and trust the header only if it is FSP_STATS_MAGIC;
 * the writer stores it last, with release ordering, and clears it when the
 * volume closes. Check that the file is at least sizeof(struct
 * fsp_stats_shared) before mapping it, and that version matches.
 */
#ifndef FSP_STATS_H
#define FSP_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FSP_STATS_MAGIC 0x46535053u /* "FSPS" */
#define FSP_STATS_VERSION 2u
#define FSP_STATS_OPCODES 64u       /* opcodes >= 64 are counted in [0] */
#define FSP_STATS_STATE_SIZE 2048u /* fs_state, its NUL included */
#define FSP_STATS_ERRNOS 160u       /* replies_by_errno[0] counts successes,
                                       [e] replies with -e, and the last one
                                       every other value (e >= 159) */

struct fsp_stats_shared {
    uint32_t magic;
    uint32_t version;
    int32_t pid;
    uint32_t threads;
    uint64_t started_unix_ns;
    char mountpoint[4096];
    char fs_name[64];
    char channel[16];             /* "dev" or "io_uring" */
    _Atomic uint32_t debug;       /* 1: debug log on; fsptool may write */
    uint32_t reserved;
    _Atomic uint64_t requests[FSP_STATS_OPCODES];
    _Atomic uint64_t replies_by_errno[FSP_STATS_ERRNOS]; /* [0] = success,
                                       [e] = -e, [FSP_STATS_ERRNOS-1] = other */
    _Atomic int64_t pending;      /* requests received, not yet answered */
    _Atomic int64_t nodes;        /* entries in the node table */
    _Atomic int64_t handles;      /* open file handles */
    _Atomic uint64_t interrupts;
    _Atomic uint64_t notifications;
    _Atomic uint64_t ring_requests; /* requests received through io_uring
                                       rings (the rest came on /dev/fuse) */
    /* The file system's own state (fsp_fs_set_state()): lines of text.
     * A sequence lock: odd while being written; read it before and after
     * copying, and take the copy only if both are the same even number. */
    _Atomic uint32_t fs_state_seq;
    uint32_t fs_state_reserved;
    char fs_state[FSP_STATS_STATE_SIZE];
};

struct fsp_stats {
    struct fsp_stats_shared *shared; /* NULL when publishing failed */
    char *path;                      /* the published file (malloc'd) */
};

/*
 * Create and map the volume's stats file. Failure to publish is not fatal
 * for a volume: on error returns -errno and leaves st->shared NULL, and
 * every other function below accepts that.
 */
int fsp_stats_open(struct fsp_stats *st, const char *mountpoint,
                   const char *fs_name, const char *channel,
                   unsigned conn_id, unsigned threads);

/* Unmap and remove the file. Idempotent. */
void fsp_stats_close(struct fsp_stats *st);

/* The channel kind changed ("io_uring" once INIT negotiated it). */
void fsp_stats_set_channel(struct fsp_stats *st, const char *channel);

/* Count a received request. */
void fsp_stats_request(struct fsp_stats *st, uint32_t opcode);

/* Count a reply with error @error (0 or -errno). */
void fsp_stats_reply(struct fsp_stats *st, int error);

/* Publish the file system's state lines (fsp_fs_set_state()): at most
 * FSP_STATS_STATE_SIZE - 1 bytes of @text. Returns 0, or -E2BIG if @text
 * was cut to fit. Safe from several threads. */
int fsp_stats_set_state(struct fsp_stats *st, const char *text);

/* Copy @sh's state lines into @out (FSP_STATS_STATE_SIZE bytes), a
 * consistent copy even while the volume writes them. */
void fsp_stats_read_state(const struct fsp_stats_shared *sh, char *out);

/* The directory volumes publish into, for this user: writes it into @buf. */
int fsp_stats_dir(char *buf, size_t size);

#endif /* FSP_STATS_H */
