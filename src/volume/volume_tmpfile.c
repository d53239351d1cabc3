/*
 * volume_tmpfile.c - TMPFILE: open(2) with O_TMPFILE, through the
 * interface's create_tmpfile().
 *
 * The file has no name, so no path for open(FSP_OPEN_META): the context
 * create_tmpfile() returns becomes the node's meta context (closed when
 * the kernel forgets the node), and the open's handle borrows it. A later
 * linkat(2) is a LINK of that node (its link() gets this context), whose
 * reply gives the node its first name (fsp_node_name_unnamed).
 *
 * The directory's default ACL is inherited as by any create (acl.c's
 * steps around the call).
 *
 * With no create_tmpfile() the answer is ENOSYS: the kernel then sets
 * fc->no_tmpfile and answers EOPNOTSUPP to every later O_TMPFILE itself.
 * The reply is CREATE's (an entry and an open file), and so is what a
 * reply lost on the way gives back (fsp_undo_create).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "acl.h"
#include "fs_internal.h"
#include "txn.h"

int fsp_vol_tmpfile(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_create_in *in = t->in.arg;
    fsp_create_info_t ci;
    fsp_response_t *rsp;
    int err;

    if (t->step == FSP_ACL_CREATE_BEGIN) {
        t->parent = fsp_node_get(fs, t->in.nodeid);
        if (!t->parent)
            return -ESTALE;
        /* The name the kernel sends ("/") is no name: the directory's
         * path. */
        t->path = fsp_volume_path_to_change(fs, t->parent, NULL, &err);
        if (!t->path)
            return err;
        if (!fs->iface.create_tmpfile)
            return -ENOSYS;
        if ((in->mode & S_IFMT) && !S_ISREG(in->mode))
            return -EINVAL;
        /* As for any create: the directory's default ACL and set-group-ID
         * first, the new file's access ACL after (acl.c). */
        err = fsp_acl_create_begin(t);
        if (err)
            return err;
    }
    if (t->step != FSP_ACL_CREATE_CALL)
        return fsp_acl_create_step(t);
    memset(&ci, 0, sizeof ci);
    ci.mode = in->mode | S_IFREG;
    ci.flags = (int)in->flags & ~O_TMPFILE;
    ci.uid = t->in.hdr->uid;
    ci.gid = t->in.hdr->gid;
    /* With ACLs the umask, or the default ACL, is the volume's to apply
     * (FUSE_DONT_MASK). */
    fsp_acl_create_info(t, &ci);
    rsp = fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.create_tmpfile(
                                 fs, t->path, &ci, &rsp->file_context,
                                 &rsp->file_info));
}

/* The open of the new node, on its meta context @ctx: fh 0 with
 * per_file_context (the node's shared handle), else a handle that
 * borrows the context. */
static int open_tmpfile(struct fsp_txn *t, struct fsp_node *node,
                        const fsp_file_info_t *info)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_create_in *in = t->in.arg;
    struct fuse_open_out *out = &t->out.create.open;
    struct fsp_handle *h;
    void *ctx = fsp_node_adopt_meta_ctx(fs, node, t->ctx);
    int err;

    t->ctx_owned = false;       /* the node's now */
    memset(out, 0, sizeof *out);
    out->open_flags = fsp_volume_open_flags(fs);
    if (fs->params.per_file_context)
        return 0;
    out->fh = fsp_handle_open(fs, ctx, node, (int)in->flags & ~O_TMPFILE,
                              false);
    if (!out->fh)
        return -ENOMEM;
    h = fsp_handle_get(fs, out->fh);
    h->borrowed = true;         /* nobody else knows the fh yet */
    err = fsp_passthrough_open(fs, out->fh, info->mode, out);
    if (err)
        fsp_handle_release(fs, out->fh);
    return err;
}

int fsp_vol_tmpfile_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *node;
    int err;

    const fsp_file_info_t *info;

    /* t->ctx is the new file's from here; the release closes it on an
     * error. */
    err = fsp_volume_created(t, rsp, &info);
    if (err)
        return err;
    if (!S_ISREG(info->mode)) {
        fsp_log(fs, "create_tmpfile(%s) made a file of mode 0%o, not a "
                "regular file; replying EIO", t->path,
                (unsigned)info->mode);
        return -EIO;
    }
    node = fsp_node_new_unnamed(fs, info);
    if (!node)
        return -ENOMEM;
    t->node = node;             /* the release drops the reference */
    err = open_tmpfile(t, node, info);
    if (err) {
        fsp_node_forget(fs, node->nodeid, 1);
        return err;
    }
    fsp_volume_fill_entry(fs, node, info, &t->out.create.entry);
    return 0;
}
