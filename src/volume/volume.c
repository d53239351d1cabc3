/*
 * volume.c - layer 4: what the volume's operations share (entries and
 * attributes with the volume's timeouts, paths of requests that change
 * the volume), and the session-level requests INIT, DESTROY and STATFS.
 *
 * Operations on names and attributes live in volume_entry.c, on open
 * files in volume_file.c, on directories in volume_dir.c, locks in
 * volume_lock.c, IOCTL and POLL in volume_ioctl.c; LSEEK,
 * COPY_FILE_RANGE(_64), TMPFILE and STATX in volume_seek.c,
 * volume_copy.c, volume_tmpfile.c and volume_statx.c; the opcode table
 * that names them all is src/dispatch/op_table.c (docs/OPCODES.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "acl.h"
#include "fs_internal.h"
#include "txn.h"

/* ------------------------------------------------------------ helpers */

char *fsp_volume_path_to_change(struct fsp_fs *fs, struct fsp_node *parent,
                                const char *name, int *err)
{
    if (fs->params.read_only) {
        *err = -EROFS;
        return NULL;
    }
    return fsp_node_path(fs, parent, name, err);
}

int fsp_volume_hold_change(struct fsp_txn *t)
{
    int err;

    t->parent = fsp_node_get(t->fs, t->in.nodeid);
    if (!t->parent)
        return -ESTALE;
    t->path = fsp_volume_path_to_change(t->fs, t->parent, t->in.name, &err);
    return t->path ? 0 : err;
}

int fsp_volume_create(struct fsp_txn *t, fsp_create_info_t *ci)
{
    struct fsp_fs *fs = t->fs;
    fsp_response_t *rsp;
    int err;

    if (t->step == FSP_ACL_CREATE_BEGIN) {
        err = fsp_volume_hold_change(t);
        if (err)
            return err;
        if (!fs->iface.create)
            return -ENOSYS;
        err = fsp_acl_create_begin(t);
        if (err)
            return err;
    }
    /* The directory's ACL and group before, the new file's ACLs after. */
    if (t->step != FSP_ACL_CREATE_CALL)
        return fsp_acl_create_step(t);
    ci->uid = t->in.hdr->uid;
    ci->gid = t->in.hdr->gid;
    fsp_acl_create_info(t, ci);
    rsp = fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.create(fs, t->path, ci,
                                              &rsp->file_context,
                                              &rsp->file_info));
}

int fsp_volume_created(struct fsp_txn *t, const fsp_response_t *rsp,
                       const fsp_file_info_t **info)
{
    int err;

    if (t->step == FSP_ACL_CREATE_CALL && !rsp->error) {
        t->ctx = rsp->file_context;
        t->ctx_owned = true;
        if (t->acl)
            t->acl->info = rsp->file_info;
    }
    err = fsp_acl_create_next(t, rsp);
    if (err)
        return err;
    *info = t->acl ? &t->acl->info : &rsp->file_info;
    return 0;
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

int fsp_vol_init(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_init_in *in = t->in.arg;
    struct fsp_init_config cfg;
    struct fuse_init_out *out = &t->out.init;
    uint64_t flags = 0;
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
    /* Only when the io_uring queues exist and wait (dispatch/uring.c,
     * which opens their gate once this reply is sent). */
    cfg.over_io_uring = fs->uring_gate != NULL;
    /* Backing files must live on a file system that stacks on nothing
     * (ext4, xfs, tmpfs...); depth 1 leaves this mount usable as a lower
     * layer of overlayfs. */
    cfg.passthrough = fsp_passthrough_wanted(fs);
    cfg.max_stack_depth = 1;
    /* Without it the kernel asks GETXATTR security.capability before
     * every write(2) of a volume with xattrs (see passthrough.c); with it
     * fsp clears set-user-ID and set-group-ID itself, through
     * set_basic_info, when the kernel flags a request so. */
    cfg.handle_killpriv_v2 = fs->iface.set_basic_info != NULL;
    /* ACLs live in xattrs: without them the volume has none. */
    cfg.posix_acl = fs->params.posix_acl != FSP_POSIX_ACL_OFF &&
                    fs->params.extended_attributes && fs->iface.get_xattr &&
                    fs->iface.set_xattr;
    cfg.request_timeout_s = fs->params.request_timeout_s;
    /* Idmapped mounts: only with the kernel's own permission checks (it
     * refuses the INIT reply otherwise). */
    cfg.allow_idmap = fs->params.allow_idmap && fs->params.default_permissions;
    /* Locks: the kernel's own, unless the file system serves them. An
     * open file's locks (flock, F_OFD_) end with its RELEASE, which
     * per_file_context volumes never get. */
    cfg.posix_locks = fs->iface.get_lock && fs->iface.set_lock &&
                      !fs->params.per_file_context;
    cfg.flock_locks = fs->iface.flock && !fs->params.per_file_context;

    t->out_size = sizeof *out;
    err = fsp_proto_negotiate_init(in, t->in.arg_size, &cfg, out, &flags);
    if (err) {
        /* The reply still tells the kernel which major fsp speaks. */
        fsp_log(fs, "INIT: kernel speaks protocol %u.%u, fsp needs 7.x",
                in->major, in->minor);
        return 0;
    }
    fs->init_flags = flags;
    /* The layout of requests from now on (fsp_proto_decode()). */
    atomic_store(&fs->proto_minor,
                 (out->minor < in->minor ? out->minor : in->minor) |
                     ((flags & FUSE_SETXATTR_EXT) ? FSP_PROTO_SETXATTR_EXT
                                                  : 0));
    /* Kernels before 7.23 expect the short INIT reply. */
    if (in->minor < 23)
        t->out_size = FUSE_COMPAT_22_INIT_OUT_SIZE;
    return 0;
}

int fsp_vol_destroy(struct fsp_txn *t)
{
    atomic_store(&t->fs->stopping, true);
    return 0;
}

int fsp_vol_statfs(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    fsp_response_t *rsp = fsp_txn_rsp(t);

    /* No callback: a volume of zero sizes (fsp.h). */
    if (!fs->iface.get_volume_info)
        return fsp_txn_called(t, 0);
    return fsp_txn_called(t, fs->iface.get_volume_info(fs,
                                                       &rsp->volume_info));
}

int fsp_vol_statfs_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const fsp_volume_info_t *vi = &rsp->volume_info;
    struct fuse_statfs_out *out = &t->out.statfs;
    uint32_t bsize;

    if (rsp->error)
        return rsp->error;
    memset(out, 0, sizeof *out);
    bsize = vi->block_size ? vi->block_size : 4096;
    out->st.bsize = bsize;
    out->st.frsize = bsize;
    out->st.blocks = vi->total_size / bsize;
    out->st.bfree = vi->free_size / bsize;
    out->st.bavail = vi->free_size / bsize;
    out->st.files = vi->total_files;
    out->st.ffree = vi->free_files;
    out->st.namelen = vi->max_name_length ? vi->max_name_length : 255;
    return 0;
}
