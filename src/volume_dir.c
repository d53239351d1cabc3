/*
 * volume_dir.c - directories: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR,
 * and fsp_dir_buffer_add() with which read_directory() fills a reply.
 *
 * Offsets. The kernel resumes a listing at the offset of the last entry it
 * took. fsp numbers entries 1 ("."), 2 (".."), 3, 4, ... and remembers, per
 * open directory, the offset the next READDIR normally asks for and the
 * name of the entry before it: that name is read_directory()'s marker
 * (WinFsp's model), so a long listing costs one callback per reply, not a
 * rescan. A seek elsewhere (seekdir) restarts the listing and skips.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

struct fsp_dir_buffer {
    struct fsp_fs *fs;
    struct fsp_handle *dir;     /* the open directory */
    bool plus;                  /* READDIRPLUS */
    char *buf;
    size_t size;
    size_t used;
    uint64_t next_off;          /* offset of the next entry to add */
    uint64_t skip;              /* entries still to skip (after a seek) */
    bool full;
};

/* Add one entry, whatever its name; false when it does not fit. */
static bool add_entry(fsp_dir_buffer_t *db, const char *name,
                      const fsp_file_info_t *info, struct fsp_node *node)
{
    size_t used;

    if (db->plus) {
        struct fuse_entry_out entry;

        if (node)
            fsp_volume_fill_entry(db->fs, node, info, &entry);
        else {
            /* "." and "..": no node id, so no lookup count for the
             * kernel to forget; only the name is taken. */
            memset(&entry, 0, sizeof entry);
            fsp_proto_fill_attr(&entry.attr, info, db->dir->node->nodeid);
        }
        used = fsp_proto_add_direntplus(db->buf, db->size, db->used, name,
                                        &entry, db->next_off + 1);
    } else {
        uint64_t ino = info->index_number ? info->index_number
                                          : (node ? node->nodeid : 0);

        used = fsp_proto_add_dirent(db->buf, db->size, db->used, name, ino,
                                    info->mode, db->next_off + 1);
    }
    if (!used)
        return false;
    db->used = used;
    db->next_off++;
    return true;
}

FSP_API bool fsp_dir_buffer_add(fsp_dir_buffer_t *db, const char *name,
                                const fsp_file_info_t *info)
{
    struct fsp_node *node = NULL;
    size_t namelen;
    bool ok;

    if (!db || !name || !info || db->full)
        return false;
    namelen = strlen(name);
    if (namelen == 0 || namelen >= sizeof db->dir->dir_marker)
        return true;            /* skip names the kernel cannot take */
    if (db->skip) {
        db->skip--;
        db->next_off++;
        goto remember;
    }
    if (db->plus) {
        /* Make sure it fits before counting a lookup for it. */
        size_t need = FUSE_DIRENTPLUS_SIZE_FOR(namelen);

        if (db->used + need > db->size) {
            db->full = true;
            return false;
        }
        node = fsp_node_lookup_child(db->fs, db->dir->node, name, true);
        if (!node) {
            db->full = true;
            return false;
        }
        node->is_dir = S_ISDIR(info->mode);
    }
    ok = add_entry(db, name, info, node);
    fsp_node_put(db->fs, node);
    if (!ok) {
        db->full = true;
        return false;
    }
remember:
    memcpy(db->dir->dir_marker, name, namelen + 1);
    db->dir->dir_next_off = db->next_off;
    return true;
}

void fsp_op_opendir(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_open_in *in = req->in.arg;
    struct fsp_node *node;
    struct fuse_open_out out;
    fsp_file_info_t info;
    void *ctx = NULL;
    char *path = NULL;
    int err;

    node = fsp_node_get(fs, req->in.nodeid);
    if (!node) {
        fsp_reply_err(req, -ESTALE);
        return;
    }
    path = fsp_node_path(fs, node, NULL, &err);
    if (!path)
        goto out;
    err = -ENOSYS;
    if (!fs->iface.open)
        goto out;
    memset(&info, 0, sizeof info);
    err = fs->iface.open(fs, path, (int)in->flags | O_DIRECTORY, &ctx, &info);
    if (err)
        goto out;
    memset(&out, 0, sizeof out);
    out.fh = fsp_handle_open(fs, ctx, node, (int)in->flags, true);
    if (!out.fh) {
        if (fs->iface.close)
            fs->iface.close(fs, ctx);
        err = -ENOMEM;
        goto out;
    }
    /* With a long directory timeout the kernel may keep the listing. */
    if (fs->params.dir_info_timeout_ms == FSP_TIMEOUT_INFINITE)
        out.open_flags |= FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
    if (fsp_reply_ok(req, &out, sizeof out) == -ENOENT)
        fsp_handle_release(fs, out.fh);
out:
    if (!req->replied)
        fsp_reply_err(req, err);
    free(path);
    fsp_node_put(fs, node);
}

/* The attributes reported for "." and "..": only the type matters. */
static const fsp_file_info_t dot_info = { .mode = S_IFDIR | 0755 };

static void read_dir(struct fsp_req *req, bool plus)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_read_in *in = req->in.arg;
    struct fsp_handle *h;
    fsp_dir_buffer_t db;
    const char *marker = NULL;
    int err = 0;

    h = fsp_handle_get(fs, in->fh);
    if (!h || !h->is_dir) {
        fsp_reply_err(req, -EBADF);
        return;
    }
    memset(&db, 0, sizeof db);
    db.fs = fs;
    db.dir = h;
    db.plus = plus;
    db.buf = req->reply_buf;
    db.size = in->size < req->reply_buf_size ? in->size : req->reply_buf_size;

    pthread_mutex_lock(&h->dir_lock);
    if (in->offset >= 2 && in->offset == h->dir_next_off) {
        db.next_off = in->offset;
        marker = in->offset > 2 ? h->dir_marker : NULL;
    } else {
        /* Start over (offset 0, or a seek): skip what came before. */
        db.skip = in->offset;
        if (db.skip == 0 || db.skip == 1) {
            if (db.skip == 0 && !add_entry(&db, ".", &dot_info, NULL))
                goto reply;
            db.skip = 0;
            db.next_off = 1;
            if (!add_entry(&db, "..", &dot_info, NULL))
                goto reply;
            h->dir_next_off = 2;
        } else {
            db.skip -= 2;
            db.next_off = 2;
        }
    }
    err = -ENOSYS;
    if (fs->iface.read_directory)
        err = fs->iface.read_directory(fs, h->ctx, marker, &db);
reply:
    pthread_mutex_unlock(&h->dir_lock);
    if (err && db.used == 0)
        fsp_reply_err(req, err);
    else
        fsp_reply_ok(req, db.buf, db.used);
}

void fsp_op_readdir(struct fsp_req *req)
{
    read_dir(req, false);
}

void fsp_op_readdirplus(struct fsp_req *req)
{
    read_dir(req, true);
}

void fsp_op_releasedir(struct fsp_req *req)
{
    const struct fuse_release_in *in = req->in.arg;

    fsp_reply_err(req, fsp_handle_release(req->fs, in->fh));
}
