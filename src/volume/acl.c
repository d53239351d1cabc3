/*
 * acl.c - the steps that POSIX ACLs add to requests (acl.h): what the
 * kernel's fs/posix_acl.c and inode_init_owner() do for a local file
 * system, done for a volume with posix_acl through its own callbacks.
 *
 * With FUSE_POSIX_ACL the kernel enforces the ACLs it reads with
 * GETXATTR, but leaves the rest to the daemon (fs/fuse/acl.c): the mode
 * follows the access ACL, chmod follows into it, new files inherit
 * default ACLs, and (with FUSE_DONT_MASK, which fsp asks for alongside,
 * because a directory's default ACL replaces the umask) the umask.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acl.h"
#include "fs_internal.h"
#include "txn.h"

bool fsp_acl_on(struct fsp_fs *fs)
{
    return fs->params.posix_acl != FSP_POSIX_ACL_OFF &&
           (fs->init_flags & FUSE_POSIX_ACL);
}

bool fsp_acl_by_fsp(struct fsp_fs *fs)
{
    return fs->params.posix_acl == FSP_POSIX_ACL_FSP && fsp_acl_on(fs);
}

/* The ACL state of @t, made on first use. */
static int acl_state(struct fsp_txn *t)
{
    if (!t->acl)
        t->acl = calloc(1, sizeof *t->acl);
    return t->acl ? 0 : -ENOMEM;
}

/* An xattr error that means "no such ACL": none stored, or no xattrs. */
static bool no_acl(int err)
{
    return err == -ENODATA || err == -EOPNOTSUPP || err == -ENOSYS;
}

/* ------------------------------------------------------------ create */

/* The umask the kernel sent with the request (FUSE_DONT_MASK: not
 * applied to its mode). SYMLINK carries none: links have no mode. */
static uint32_t request_umask(const struct fsp_txn *t)
{
    switch (t->in.opcode) {
    case FUSE_MKNOD:
        return ((const struct fuse_mknod_in *)t->in.arg)->umask;
    case FUSE_MKDIR:
        return ((const struct fuse_mkdir_in *)t->in.arg)->umask;
    case FUSE_CREATE:
    case FUSE_TMPFILE:
        return ((const struct fuse_create_in *)t->in.arg)->umask;
    default:
        return 0;
    }
}

int fsp_acl_create_begin(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    int err;

    t->step = FSP_ACL_CREATE_CALL;
    if (!fsp_acl_on(fs) || t->in.opcode == FUSE_SYMLINK)
        return 0;               /* links inherit nothing (posix_acl_create) */
    err = acl_state(t);
    if (err)
        return err;
    /* The directory's attributes give the set-group-ID rule, which the
     * file system keeps itself with FSP_POSIX_ACL_FILE_SYSTEM. */
    t->step = fsp_acl_by_fsp(fs) && fs->iface.get_file_info
                  ? FSP_ACL_CREATE_DIR_INFO
                  : FSP_ACL_CREATE_DIR_DEFAULT;
    return 0;
}

int fsp_acl_create_step(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_acl_state *a = t->acl;
    fsp_response_t *rsp = fsp_txn_rsp(t);
    void *dir_ctx;
    int err;

    switch (t->step) {
    case FSP_ACL_CREATE_DIR_INFO:
    case FSP_ACL_CREATE_DIR_DEFAULT:
        err = fsp_node_meta_ctx(fs, t->parent, &dir_ctx);
        if (err)
            return err;
        if (t->step == FSP_ACL_CREATE_DIR_INFO)
            return fsp_txn_called(t, fs->iface.get_file_info(
                                         fs, dir_ctx, &rsp->file_info));
        return fsp_txn_called(t, fs->iface.get_xattr(
                                     fs, dir_ctx, FSP_ACL_DEFAULT,
                                     a->default_buf, sizeof a->default_buf,
                                     &rsp->bytes_transferred));
    case FSP_ACL_CREATE_SET_ACCESS:
        return fsp_txn_called(t, fs->iface.set_xattr(
                                     fs, t->ctx, FSP_ACL_ACCESS,
                                     a->access_buf, a->access_size, 0));
    case FSP_ACL_CREATE_SET_DEFAULT:
        return fsp_txn_called(t, fs->iface.set_xattr(
                                     fs, t->ctx, FSP_ACL_DEFAULT,
                                     a->default_buf, a->default_size, 0));
    default:
        return -EIO;            /* not a step of ours */
    }
}

void fsp_acl_create_info(struct fsp_txn *t, fsp_create_info_t *ci)
{
    struct fsp_acl_state *a = t->acl;
    uint32_t mode = ci->mode;

    if (!a)
        return;
    /* inode_init_owner(): the group of a set-group-ID directory, and its
     * set-group-ID bit for a new directory. (The kernel has already
     * dropped S_ISGID from a file's mode for a creator outside the
     * directory's group: vfs_prepare_mode.) */
    if (a->dir_known && (a->dir_mode & S_ISGID)) {
        ci->gid = a->dir_gid;
        if (S_ISDIR(mode))
            mode |= S_ISGID;
    }
    if (!a->has_default) {
        mode &= ~(request_umask(t) & 0777);
    } else if (fsp_acl_by_fsp(t->fs)) {
        /* posix_acl_create(): the default ACL masked by the mode. */
        a->store_access = !fsp_acl_create_masq(&a->acl, &mode);
        if (a->store_access)
            a->access_size = fsp_acl_format(&a->acl, a->access_buf);
    }
    /* With FSP_POSIX_ACL_FILE_SYSTEM and a default ACL the mode goes as
     * the caller gave it: the file system masks it with the ACL. */
    ci->mode = mode;
}

/* After create(): the new file's ACL steps still to run, or 0. */
static unsigned after_create(const struct fsp_txn *t, unsigned step)
{
    const struct fsp_acl_state *a = t->acl;

    if (!a || !fsp_acl_by_fsp(t->fs) || !a->has_default)
        return 0;
    if (step < FSP_ACL_CREATE_SET_ACCESS && a->store_access)
        return FSP_ACL_CREATE_SET_ACCESS;
    if (step < FSP_ACL_CREATE_SET_DEFAULT && S_ISDIR(a->info.mode))
        return FSP_ACL_CREATE_SET_DEFAULT;
    return 0;
}

int fsp_acl_create_next(struct fsp_txn *t, const fsp_response_t *rsp)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_acl_state *a = t->acl;
    unsigned next;

    switch (t->step) {
    case FSP_ACL_CREATE_DIR_INFO:
        if (rsp->error)
            return rsp->error;
        a->dir_mode = rsp->file_info.mode;
        a->dir_gid = rsp->file_info.gid;
        a->dir_known = true;
        t->step = FSP_ACL_CREATE_DIR_DEFAULT;
        return FSP_TXN_CONTINUE;
    case FSP_ACL_CREATE_DIR_DEFAULT:
        if (rsp->error && !no_acl(rsp->error))
            return rsp->error == -ERANGE ? -E2BIG : rsp->error;
        if (!rsp->error) {
            a->default_size = rsp->bytes_transferred;
            if (a->default_size > sizeof a->default_buf ||
                fsp_acl_parse(a->default_buf, a->default_size, &a->acl)) {
                fsp_log(fs, "the default ACL of a directory is not valid "
                        "(%zu bytes); creating in it fails with EIO",
                        a->default_size);
                return -EIO;
            }
            a->has_default = a->acl.count > 0;
        }
        t->step = FSP_ACL_CREATE_CALL;
        return FSP_TXN_CONTINUE;
    default:
        break;
    }
    if (rsp->error)
        return rsp->error;      /* the release closes a new t->ctx */
    next = after_create(t, t->step);
    if (!next)
        return 0;
    t->step = next;
    return FSP_TXN_CONTINUE;
}

/* ------------------------------------------------------------- chmod */

int fsp_acl_chmod_begin(struct fsp_txn *t, const fsp_file_info_t *info)
{
    int err = acl_state(t);

    if (err)
        return err;
    t->acl->info = *info;
    t->step = FSP_ACL_CHMOD_READ;
    return 0;
}

int fsp_acl_chmod_step(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_acl_state *a = t->acl;
    fsp_response_t *rsp = fsp_txn_rsp(t);

    if (!fs->iface.get_xattr || !fs->iface.set_xattr)
        return fsp_txn_called(t, -ENOSYS); /* no ACLs to keep in step */
    if (t->step == FSP_ACL_CHMOD_READ)
        return fsp_txn_called(t, fs->iface.get_xattr(
                                     fs, t->ctx, FSP_ACL_ACCESS,
                                     a->access_buf, sizeof a->access_buf,
                                     &rsp->bytes_transferred));
    return fsp_txn_called(t, fs->iface.set_xattr(fs, t->ctx, FSP_ACL_ACCESS,
                                                 a->access_buf,
                                                 a->access_size, 0));
}

int fsp_acl_chmod_next(struct fsp_txn *t, const fsp_response_t *rsp)
{
    struct fsp_acl_state *a = t->acl;
    uint32_t perm;

    if (t->step == FSP_ACL_CHMOD_WRITE)
        return rsp->error;
    if (no_acl(rsp->error))
        return 0;               /* just a mode: nothing to keep in step */
    if (rsp->error)
        return rsp->error;
    a->access_size = rsp->bytes_transferred;
    if (a->access_size > sizeof a->access_buf ||
        fsp_acl_parse(a->access_buf, a->access_size, &a->acl) ||
        a->acl.count == 0 || fsp_acl_equiv_mode(&a->acl, &perm))
        return 0;               /* nothing fsp could keep in step */
    fsp_acl_chmod(&a->acl, a->info.mode);
    a->access_size = fsp_acl_format(&a->acl, a->access_buf);
    t->step = FSP_ACL_CHMOD_WRITE;
    return FSP_TXN_CONTINUE;
}

/* ---------------------------------------------------------- setxattr */

/* Whether the kernel asked to clear set-group-ID with this SETXATTR: the
 * caller is outside the file's group and lacks CAP_FSETID. */
static bool kill_sgid(const struct fsp_txn *t)
{
    const struct fuse_setxattr_in *in = t->in.arg;

    return t->in.arg_size >= sizeof *in &&
           (in->setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID);
}

int fsp_acl_setxattr_begin(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    bool access = strcmp(t->in.name, FSP_ACL_ACCESS) == 0;
    struct fsp_acl_state *a;
    int err;

    err = acl_state(t);
    if (err)
        return err;
    a = t->acl;
    if (!fsp_acl_by_fsp(fs)) {
        /* The file system keeps its ACLs: store, then the kernel's
         * set-group-ID rule if it asks for it. */
        t->step = FSP_ACL_XATTR_STORE;
        return 0;
    }
    if (fsp_acl_parse(t->in.data, t->in.data_size, &a->acl))
        return -EINVAL;
    if (!access) {
        /* A default ACL is stored as given; an empty one is none. */
        t->step = a->acl.count ? FSP_ACL_XATTR_STORE : FSP_ACL_XATTR_REMOVE;
        return 0;
    }
    if (a->acl.count == 0)
        return -EINVAL;         /* an access ACL has its three entries */
    if (!fs->iface.get_file_info || !fs->iface.set_basic_info ||
        !fs->iface.remove_xattr)
        return -EOPNOTSUPP;     /* (ENOSYS would end xattrs for good) */
    a->store_access = !fsp_acl_equiv_mode(&a->acl, &a->mode);
    t->step = FSP_ACL_XATTR_INFO;
    return 0;
}

int fsp_acl_setxattr_step(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_acl_state *a = t->acl;
    const struct fuse_setxattr_in *in = t->in.arg;
    fsp_response_t *rsp = fsp_txn_rsp(t);
    fsp_file_info_t wanted;
    uint32_t mode;

    switch (t->step) {
    case FSP_ACL_XATTR_INFO:
        return fsp_txn_called(t, fs->iface.get_file_info(fs, t->ctx,
                                                         &rsp->file_info));
    case FSP_ACL_XATTR_STORE:
        return fsp_txn_called(t, fs->iface.set_xattr(
                                     fs, t->ctx, t->in.name, t->in.data,
                                     t->in.data_size, (int)in->flags));
    case FSP_ACL_XATTR_REMOVE:
        return fsp_txn_called(t, fs->iface.remove_xattr(fs, t->ctx,
                                                        t->in.name));
    case FSP_ACL_XATTR_MODE:
        mode = a->info.mode & 07777;
        if (fsp_acl_by_fsp(fs) && strcmp(t->in.name, FSP_ACL_ACCESS) == 0)
            mode = (mode & ~0777u) | a->mode;
        if (kill_sgid(t))
            mode &= ~(uint32_t)S_ISGID;
        memset(&wanted, 0, sizeof wanted);
        wanted.mode = mode;
        return fsp_txn_called(t, fs->iface.set_basic_info(
                                     fs, t->ctx, FSP_SET_MODE, &wanted,
                                     &rsp->file_info));
    default:
        return -EIO;
    }
}

int fsp_acl_setxattr_next(struct fsp_txn *t, const fsp_response_t *rsp)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_acl_state *a = t->acl;
    bool by_fsp = fsp_acl_by_fsp(fs);
    bool access = strcmp(t->in.name, FSP_ACL_ACCESS) == 0;

    switch (t->step) {
    case FSP_ACL_XATTR_INFO:
        if (rsp->error)
            return rsp->error;
        a->info = rsp->file_info;
        if (by_fsp) {
            t->step = a->store_access ? FSP_ACL_XATTR_STORE
                                      : FSP_ACL_XATTR_REMOVE;
            return FSP_TXN_CONTINUE;
        }
        if (!(a->info.mode & S_ISGID))
            return 0;
        t->step = FSP_ACL_XATTR_MODE;
        return FSP_TXN_CONTINUE;
    case FSP_ACL_XATTR_STORE:
    case FSP_ACL_XATTR_REMOVE:
        /* No ACL stored is what an ACL that is a mode wants. */
        if (rsp->error &&
            !(t->step == FSP_ACL_XATTR_REMOVE && rsp->error == -ENODATA))
            return rsp->error;
        if (by_fsp && access) {
            t->step = FSP_ACL_XATTR_MODE;
            return FSP_TXN_CONTINUE;
        }
        if (!by_fsp && access && kill_sgid(t) && fs->iface.get_file_info &&
            fs->iface.set_basic_info) {
            t->step = FSP_ACL_XATTR_INFO;
            return FSP_TXN_CONTINUE;
        }
        return 0;
    default:
        return rsp->error;      /* FSP_ACL_XATTR_MODE */
    }
}
