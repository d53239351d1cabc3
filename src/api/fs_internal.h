/*
 * fs_internal.h - the volume object and what the layers share about it.
 *
 * Layers (docs/ARCHITECTURE.md), one folder each under src/: channel/
 * (channel.h, mount.h) -> protocol/ (protocol.h) -> dispatch/
 * (dispatch.h) -> volume/ (volume.h) -> api/ (this header, fsp.h).
 * The volume object is shared by all of them, so this header names the
 * lower layers' types only by pointer: volume code that includes it sees
 * nothing of the channel.
 */
#ifndef FSP_FS_INTERNAL_H
#define FSP_FS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fsp/fsp.h"
#include "stats.h"
#include "volume.h"

/* --------------------------------------------------------------- volume */

struct fsp_mount;
struct fsp_worker;
struct fsp_uring_gate;
struct fsp_notifier;
struct fsp_pending;
struct fsp_pending_table;

/*
 * What the volume asks of the kernel besides replies: notifications and
 * passthrough backing files. fsp_fs_start() points it at the session's
 * channel (channel.h, fsp_session_*); a unit test at its fake kernel.
 * Each returns 0 (backing_open: an id > 0) or -errno.
 */
struct fsp_kernel_port {
    void *ctx;
    int (*notify)(void *ctx, const struct iovec *iov, int iovcnt);
    int (*backing_open)(void *ctx, int fd);
    int (*backing_close)(void *ctx, int32_t id);
};

struct fsp_fs {
    fsp_volume_params_t params;
    fsp_fs_interface_t iface;
    void *user_context;
    char *fs_name;
    char *source;

    struct fsp_mount *mount;    /* the channel layer's (mount.h) */
    struct fsp_channel *mount_channel; /* served INIT during mount(2)
                                          (synchronous INIT), or NULL */
    struct fsp_kernel_port kernel;
    char error_message[512];

    struct fsp_node_table nodes;
    struct fsp_handle_table handles;
    struct fsp_stats stats;

    /* set at INIT */
    atomic_uint proto_minor;    /* with FSP_PROTO_* layout bits */
    uint64_t init_flags;
    uint32_t max_write;
    uint32_t max_read;

    /* kernel passthrough (passthrough.c) */
    pthread_mutex_t passthrough_lock; /* the nodes' backing_id and counts */
    atomic_bool passthrough_refused;  /* EPERM once: serve all I/O ourselves */
    atomic_bool passthrough_warned;   /* a per-file failure was logged */

    /* dispatcher */
    struct fsp_worker *workers;
    unsigned nworkers;          /* /dev/fuse workers first, then nuring */
    unsigned nuring;            /* io_uring queue workers (uring.c) */
    struct fsp_uring_gate *uring_gate; /* NULL: no io_uring queues */
    pthread_t control_thread;
    bool control_started;
    int stop_fd;                /* eventfd: fsp_fs_stop() writes to it */
    atomic_bool stopping;
    atomic_bool workers_joined; /* fsp_dispatcher_wait() joined them */
    atomic_int exit_error;      /* first fatal channel error, or 0 */
    atomic_bool debug;
    /* Calls of fsp_fs_notify() so far: a LOOKUP that sees it change while
     * its ask ran may hold what the notification said is stale, and must
     * not let the kernel cache it (volume_entry.c). */
    atomic_uint_fast64_t notify_calls;
    /* log.c: the volume's log handler (NULL: the process's default);
     * readers hold log_lock while they call it, a setter writes. */
    pthread_rwlock_t log_lock;
    fsp_log_handler_t *log_handler;
    void *log_user;
    struct fsp_notifier *notifier; /* notify.c: the notification queue */
    struct fsp_pending_table *pending; /* pending.c: FSP_PENDING requests */
    bool started;
    bool waited;
};

/* -------------------------------------------------------------- misc */

/* Monotonic time in nanoseconds. */
uint64_t fsp_now_ns(void);
/* Debug log (log.c); cheap no-ops while fs->debug is off. A request as
 * decoded (hdr NULL: nothing), and the reply sent to request @unique of
 * @opcode with @error and a body of @size bytes; @start_ns, when the
 * request came (0: unknown), gives the latency. */
void fsp_log_request(struct fsp_fs *fs, const struct fsp_request *in);
void fsp_log_reply(struct fsp_fs *fs, uint64_t unique, uint32_t opcode,
                   int error, size_t size, uint64_t start_ns);
/* Set up and tear down fs->log_lock and the handler (fs.c). */
int fsp_log_init(struct fsp_fs *fs);
void fsp_log_fini(struct fsp_fs *fs);
/* A line in the debug log, only while it is on. */
void fsp_log_debug(struct fsp_fs *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A problem, always logged: FSP_LOG_ERROR, or FSP_LOG_WARNING for what
 * the volume goes on without (a fallback). */
void fsp_log(struct fsp_fs *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fsp_log_warning(struct fsp_fs *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Change notification (notify.c): the queue and its thread run from
 * fsp_fs_start() to fsp_fs_delete(). stop ends the thread (later
 * notifications are dropped); fini frees the queue. */
int fsp_notify_start(struct fsp_fs *fs);
void fsp_notify_stop(struct fsp_fs *fs);
void fsp_notify_fini(struct fsp_fs *fs);
/* Queue "the kernel's entry @name in directory @parent is stale"
 * (FUSE_NOTIFY_INVAL_ENTRY). Safe under the node table's lock. */
void fsp_notify_queue_entry(struct fsp_fs *fs, uint64_t parent,
                            const char *name);
/* Queue "node @nodeid's attributes (and with @data its pages) are stale"
 * (FUSE_NOTIFY_INVAL_INODE). Safe under the node table's lock. */
void fsp_notify_queue_inode(struct fsp_fs *fs, uint64_t nodeid, bool data);
/* Tell the kernel now, from the calling thread, that node @nodeid's
 * attributes are stale (INVAL_INODE with no data part, which takes no
 * lock a request in flight may hold): for a reply that must not race a
 * later stat, such as a WRITE that cleared set-user-ID. */
void fsp_notify_inode_attributes_now(struct fsp_fs *fs, uint64_t nodeid);
/* The kernel's NOTIFY_REPLY to the retrieve @unique: hand @size bytes of
 * data from @offset to its waiter (a reply nobody waits for is logged). */
void fsp_notify_retrieve_reply(struct fsp_fs *fs, uint64_t unique,
                               uint64_t offset, const void *data,
                               size_t size);

/* Set the per-thread operation context for the request being served. */
void fsp_set_operation_context(const fsp_operation_context_t *ctx);

#endif /* FSP_FS_INTERNAL_H */
