/*
 * passthrough.c - kernel passthrough (FUSE_PASSTHROUGH, Linux 6.9+): the
 * kernel reads, writes and maps an open regular file by itself, on a
 * "backing file" the file system names, without READ or WRITE requests.
 *
 * The kernel's rules (fs/fuse/iomode.c, fs/fuse/backing.c) shape this file:
 *  - A backing file is registered on /dev/fuse (FUSE_DEV_IOC_BACKING_OPEN),
 *    which needs CAP_SYS_ADMIN in the initial user namespace (else EPERM),
 *    and named in the OPEN/CREATE reply by its id with FOPEN_PASSTHROUGH.
 *  - Every concurrent passthrough open of one inode must name the same
 *    backing file (another one fails the open with EIO), and an inode is
 *    open either with passthrough or with ordinary (cached) I/O, never
 *    both at once (the loser's open fails with EIO).
 *  - FOPEN_PASSTHROUGH combines only with FOPEN_DIRECT_IO,
 *    FOPEN_PARALLEL_DIRECT_WRITES and FOPEN_NOFLUSH (not KEEP_CACHE).
 *
 * So each node keeps one backing id while it has passthrough opens, and
 * counts its opens of each kind: an open of a node already open with
 * user-space I/O is served in user space too; the last passthrough
 * release unregisters the backing file (FUSE_DEV_IOC_BACKING_CLOSE). The
 * kernel holds its own reference to a backing file while the inode uses
 * it, so closing the id early would be safe for open files; keeping it
 * is what lets a second open name the same one.
 *
 * Writes and set-user-ID: before each write the kernel checks whether it
 * must clear set-user-ID, set-group-ID or file capabilities, and on FUSE
 * that check is a GETXATTR "security.capability" round trip per write(2)
 * (file_remove_privs(); the backing-file write path makes it too), which
 * cost passthrough writes 3-5x. FUSE_HANDLE_KILLPRIV_V2, asked for by
 * every volume with set_basic_info, lets the kernel mark a file free of
 * those (S_NOSEC) after
 * one check; in exchange the file system clears the bits when a WRITE or
 * an O_TRUNC open is flagged so (volume_file.c). A
 * passthrough write sends no WRITE, so set-user-ID files are opened
 * without passthrough (the kernel still removes file capabilities
 * itself, through REMOVEXATTR). Left open: a file made set-user-ID while
 * open with passthrough keeps its bits through later writes of those
 * opens.
 *
 * The counts lag the kernel a little (it drops an open before RELEASE
 * reaches us), which only ever makes fsp choose user-space I/O, or reuse
 * an id the kernel still accepts; never a combination it refuses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

bool fsp_passthrough_wanted(struct fsp_fs *fs)
{
    /* The kernel silently drops passthrough with the writeback cache, and
     * a backing file is named only in an OPEN or CREATE reply, which a
     * per_file_context volume does not give. */
    return fs->iface.get_backing_file && !fs->params.writeback_cache &&
           !fs->params.per_file_context;
}

/* Register @fd as a backing file; returns its id (> 0) or -errno. */
static int backing_open(struct fsp_fs *fs, int fd)
{
    if (!fs->kernel.backing_open)
        return -ENOTCONN;
    return fs->kernel.backing_open(fs->kernel.ctx, fd);
}

static void backing_close(struct fsp_fs *fs, int32_t id)
{
    int err = fs->kernel.backing_close
                  ? fs->kernel.backing_close(fs->kernel.ctx, id)
                  : 0;

    if (err)
        fsp_log_debug(fs, "passthrough: closing backing id %d: %s", id,
                      strerror(-err));
}

/* The kernel would not register a backing file: say so once. EPERM
 * (no CAP_SYS_ADMIN) holds for every file, so passthrough is off for the
 * rest of the volume's life; other errors (ELOOP for a file on a stacked
 * file system such as overlayfs, EINVAL for one without read_iter) are
 * per file. */
static void backing_refused(struct fsp_fs *fs, int err)
{
    if (err == -EPERM) {
        if (!atomic_exchange(&fs->passthrough_refused, true))
            fsp_log_warning(fs, "passthrough: the kernel refuses backing "
                            "files (EPERM: it needs CAP_SYS_ADMIN in the "
                            "initial user namespace); file I/O is served in "
                            "user space");
        return;
    }
    if (!atomic_exchange(&fs->passthrough_warned, true))
        fsp_log_warning(fs, "passthrough: the kernel refused a backing file "
                            "(%s); such files are served in user space",
                        strerror(-err));
    else
        fsp_log_debug(fs, "passthrough: backing file refused: %s",
                      strerror(-err));
}

/* Whether a write by an ordinary user must clear bits of @mode. */
static bool has_suid(uint32_t mode)
{
    return (mode & S_ISUID) ||
           (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP);
}

/* Under passthrough_lock: @h joins @node's opens with passthrough, given
 * the file system's descriptor @fd (-1 if it declined). A set-user-ID
 * file starts no passthrough: with FUSE_HANDLE_KILLPRIV_V2 the kernel
 * leaves clearing the bits to the WRITE request, which passthrough never
 * sends. Returns the backing id, 0 for user-space I/O, or -EBUSY. */
static int choose_locked(struct fsp_fs *fs, struct fsp_node *node, int fd,
                         bool suid)
{
    int id;

    if (node->user_io_opens > 0)
        return 0; /* the kernel holds the inode in cached mode */
    if (node->passthrough_opens > 0) {
        /* The kernel insists on passthrough, with the same backing file
         * (whatever descriptor this open's context has). */
        if (fd < 0)
            return -EBUSY;
        node->passthrough_opens++;
        return node->backing_id;
    }
    if (fd < 0 || suid || atomic_load(&fs->passthrough_refused))
        return 0;
    id = backing_open(fs, fd);
    if (id <= 0) {
        backing_refused(fs, id < 0 ? id : -EIO);
        return 0;
    }
    node->backing_id = id;
    node->passthrough_opens = 1;
    return id;
}

int fsp_passthrough_open(struct fsp_fs *fs, uint64_t fh, uint32_t mode,
                         struct fuse_open_out *out)
{
    struct fsp_handle *h;
    struct fsp_node *node;
    int fd = -1, err = 0, id;

    /* A new handle's io_mode is FSP_IO_NONE: nothing to do unless this
     * volume passes regular files through. */
    if (!(fs->init_flags & FUSE_PASSTHROUGH) || !S_ISREG(mode))
        return 0;
    h = fsp_handle_get(fs, fh);
    if (!h)
        return -EBADF; /* cannot happen: the caller just made it */
    node = h->node;
    /* Ask outside the lock: callbacks never run under fsp's locks. */
    if (!atomic_load(&fs->passthrough_refused) &&
        fs->iface.get_backing_file(fs, h->ctx, &fd) != 0)
        fd = -1;
    pthread_mutex_lock(&fs->passthrough_lock);
    id = choose_locked(fs, node, fd, has_suid(mode));
    if (id > 0) {
        h->io_mode = FSP_IO_PASSTHROUGH;
    } else if (id == 0) {
        h->io_mode = FSP_IO_USER;
        node->user_io_opens++;
    } else {
        err = id;
    }
    pthread_mutex_unlock(&fs->passthrough_lock);
    if (h->io_mode != FSP_IO_PASSTHROUGH)
        return err;
    out->open_flags &= ~(uint32_t)FOPEN_KEEP_CACHE;
    out->open_flags |= FOPEN_PASSTHROUGH;
    out->backing_id = id;
    /* Its writes never reach fsp: for post_cleanup_when_modified_only,
     * an open that may write counts as modified. */
    if ((h->flags & O_ACCMODE) != O_RDONLY)
        atomic_store_explicit(&h->modified, true, memory_order_relaxed);
    return 0;
}

void fsp_passthrough_release(struct fsp_fs *fs, struct fsp_handle *h)
{
    struct fsp_node *node = h->node;
    int32_t close_id = 0;

    if (h->io_mode == FSP_IO_NONE)
        return;
    pthread_mutex_lock(&fs->passthrough_lock);
    if (h->io_mode == FSP_IO_USER) {
        node->user_io_opens--;
    } else if (--node->passthrough_opens == 0) {
        close_id = node->backing_id;
        node->backing_id = 0;
    }
    pthread_mutex_unlock(&fs->passthrough_lock);
    h->io_mode = FSP_IO_NONE;
    /* A new open after the unlock registers a backing file of its own. */
    if (close_id > 0)
        backing_close(fs, close_id);
}
