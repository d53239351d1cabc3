/*
 * volume.c - layer 4: the table that maps each FUSE opcode to its handler,
 * and the session-level requests (INIT, DESTROY, INTERRUPT, STATFS).
 *
 * Handlers for names and attributes live in volume_entry.c, for open files
 * in volume_file.c, for directories in volume_dir.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"
#include "pending.h"

/* ------------------------------------------------------------ helpers */

struct fsp_node *fsp_request_node(struct fsp_req *req, uint64_t nodeid)
{
    struct fsp_node *node = fsp_node_get(req->fs, nodeid);

    if (!node)
        fsp_reply_err(req, -ESTALE);
    return node;
}

char *fsp_volume_path_to_change(struct fsp_fs *fs, struct fsp_node *parent,
                                const char *name, int *err)
{
    if (fs->params.read_only) {
        *err = -EROFS;
        return NULL;
    }
    return fsp_node_path(fs, parent, name, err);
}

static void timeout_of(struct fsp_fs *fs, uint32_t mode, uint64_t *sec,
                       uint32_t *nsec)
{
    int64_t ms = S_ISDIR(mode) ? fs->params.dir_info_timeout_ms
                               : fs->params.file_info_timeout_ms;

    fsp_proto_timeout(ms, sec, nsec);
}

void fsp_volume_fill_entry(struct fsp_fs *fs, const struct fsp_node *node,
                           const fsp_file_info_t *info,
                           struct fuse_entry_out *entry)
{
    memset(entry, 0, sizeof *entry);
    entry->nodeid = node->nodeid;
    entry->generation = 0; /* node ids are never reused */
    /* The kernel's dcache is case-sensitive: on a case-insensitive volume
     * it would keep one entry per spelling looked up, and after an unlink
     * or rename through one spelling the others would still be found
     * until they time out (no notification can close that window: the
     * kernel holds the directory's lock until our reply). So such names
     * are never cached, only the attributes of the files they lead to. */
    if (!fs->params.case_insensitive)
        timeout_of(fs, info->mode, &entry->entry_valid,
                   &entry->entry_valid_nsec);
    timeout_of(fs, info->mode, &entry->attr_valid, &entry->attr_valid_nsec);
    fsp_proto_fill_attr(&entry->attr, info, node->nodeid);
}

void fsp_volume_fill_attr_out(struct fsp_fs *fs, uint64_t nodeid,
                              const fsp_file_info_t *info,
                              struct fuse_attr_out *out)
{
    memset(out, 0, sizeof *out);
    timeout_of(fs, info->mode, &out->attr_valid, &out->attr_valid_nsec);
    fsp_proto_fill_attr(&out->attr, info, nodeid);
}

/* ------------------------------------------------------ session level */

static void op_init(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_init_in *in = req->in.arg;
    struct fsp_init_config cfg;
    struct fuse_init_out out;
    uint64_t flags = 0;
    size_t out_size = sizeof out;
    int err;

    memset(&cfg, 0, sizeof cfg);
    cfg.max_write = fs->max_write;
    cfg.max_readahead = fs->max_read;
    cfg.max_background = 64;
    cfg.congestion_threshold = 48;
    cfg.time_gran = 1;
    cfg.writeback_cache = fs->params.writeback_cache;
    cfg.readdirplus = true;
    cfg.parallel_dirops = true;
    /* Symlink targets can be cached in the page cache like file data,
     * unless the volume wants every access to reach it. */
    cfg.cache_symlinks = fs->params.file_info_timeout_ms != 0;
    /* Without OPEN, an O_TRUNC that the kernel believed done by the open
     * (ATOMIC_O_TRUNC) would be lost: let it come as SETATTR instead. */
    cfg.no_atomic_o_trunc = fs->params.per_file_context;
    cfg.no_open_support = fs->params.per_file_context;
    cfg.no_opendir_support = fs->params.per_file_context;
    /* Only when the io_uring queues exist and wait (uring.c). */
    cfg.over_io_uring = fs->uring_gate != NULL;
    /* Backing files must live on a file system that stacks on nothing
     * (ext4, xfs, tmpfs...); depth 1 leaves this mount usable as a lower
     * layer of overlayfs. */
    cfg.passthrough = fsp_passthrough_wanted(fs);
    cfg.max_stack_depth = 1;
    /* Without it every passthrough write asks GETXATTR security.capability
     * first (see passthrough.c). */
    cfg.handle_killpriv_v2 = cfg.passthrough;

    err = fsp_proto_negotiate_init(in, req->in.arg_size, &cfg, &out, &flags);
    if (err) {
        fsp_log(fs, "INIT: kernel speaks protocol %u.%u, fsp needs 7.x",
                in->major, in->minor);
        fsp_reply_ok(req, &out, out_size);
        return;
    }
    fs->init_flags = flags;
    atomic_store(&fs->proto_minor, out.minor < in->minor ? out.minor
                                                         : in->minor);
    /* Kernels before 7.23 expect the short INIT reply. */
    if (in->minor < 23)
        out_size = FUSE_COMPAT_22_INIT_OUT_SIZE;
    fsp_reply_ok(req, &out, out_size);
    /* The rings may register only once the kernel has the reply. */
    fsp_uring_init_answered(fs, flags);
}

static void op_destroy(struct fsp_req *req)
{
    atomic_store(&req->fs->stopping, true);
    fsp_reply_err(req, 0);
}

static void op_interrupt(struct fsp_req *req)
{
    const struct fuse_interrupt_in *in = req->in.arg;

    /* A target whose callback returned FSP_PENDING is answered EINTR at
     * once (pending.c); any other one is answered when its callback
     * returns, usually before the INTERRUPT is even read. INTERRUPT
     * itself takes no reply. */
    if (req->fs->stats.shared)
        atomic_fetch_add_explicit(&req->fs->stats.shared->interrupts, 1,
                                  memory_order_relaxed);
    fsp_pending_interrupt(req, in->unique);
}

void fsp_op_statfs(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    fsp_volume_info_t vi;
    struct fuse_statfs_out out;
    uint32_t bsize;
    int err;

    memset(&vi, 0, sizeof vi);
    memset(&out, 0, sizeof out);
    if (fs->iface.get_volume_info) {
        err = fs->iface.get_volume_info(fs, &vi);
        if (err) {
            fsp_reply_err(req, err);
            return;
        }
    }
    bsize = vi.block_size ? vi.block_size : 4096;
    out.st.bsize = bsize;
    out.st.frsize = bsize;
    out.st.blocks = vi.total_size / bsize;
    out.st.bfree = vi.free_size / bsize;
    out.st.bavail = vi.free_size / bsize;
    out.st.files = vi.total_files;
    out.st.ffree = vi.free_files;
    out.st.namelen = vi.max_name_length ? vi.max_name_length : 255;
    fsp_reply_ok(req, &out, sizeof out);
}

/* ------------------------------------------------------------- table */

/* One entry per opcode; NULL means "not supported": ENOSYS. */
static const fsp_op_handler handlers[] = {
    [FUSE_LOOKUP] = fsp_op_lookup,
    [FUSE_FORGET] = fsp_op_forget,
    [FUSE_GETATTR] = fsp_op_getattr,
    [FUSE_SETATTR] = fsp_op_setattr,
    [FUSE_READLINK] = fsp_op_readlink,
    [FUSE_SYMLINK] = fsp_op_symlink,
    [FUSE_MKNOD] = fsp_op_mknod,
    [FUSE_MKDIR] = fsp_op_mkdir,
    [FUSE_UNLINK] = fsp_op_unlink,
    [FUSE_RMDIR] = fsp_op_rmdir,
    [FUSE_RENAME] = fsp_op_rename,
    [FUSE_LINK] = fsp_op_link,
    [FUSE_OPEN] = fsp_op_open,
    [FUSE_READ] = fsp_op_read,
    [FUSE_WRITE] = fsp_op_write,
    [FUSE_STATFS] = fsp_op_statfs,
    [FUSE_RELEASE] = fsp_op_release,
    [FUSE_FSYNC] = fsp_op_fsync,
    [FUSE_SETXATTR] = fsp_op_setxattr,
    [FUSE_GETXATTR] = fsp_op_getxattr,
    [FUSE_LISTXATTR] = fsp_op_listxattr,
    [FUSE_REMOVEXATTR] = fsp_op_removexattr,
    [FUSE_FLUSH] = fsp_op_flush,
    [FUSE_INIT] = op_init,
    [FUSE_OPENDIR] = fsp_op_opendir,
    [FUSE_READDIR] = fsp_op_readdir,
    [FUSE_RELEASEDIR] = fsp_op_releasedir,
    [FUSE_FSYNCDIR] = fsp_op_fsync,
    [FUSE_CREATE] = fsp_op_create,
    [FUSE_INTERRUPT] = op_interrupt,
    [FUSE_DESTROY] = op_destroy,
    [FUSE_BATCH_FORGET] = fsp_op_batch_forget,
    [FUSE_FALLOCATE] = fsp_op_fallocate,
    [FUSE_READDIRPLUS] = fsp_op_readdirplus,
    [FUSE_RENAME2] = fsp_op_rename2,
    [FUSE_SYNCFS] = fsp_op_syncfs,
};

fsp_op_handler fsp_volume_handler(uint32_t opcode)
{
    if (opcode >= sizeof handlers / sizeof handlers[0])
        return NULL;
    return handlers[opcode];
}
