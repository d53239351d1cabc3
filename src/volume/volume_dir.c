/*
 * volume_dir.c - directory listings: READDIR, READDIRPLUS, RELEASEDIR,
 * and fsp_dir_buffer_add() with which read_directory() fills a reply.
 *
 * Offsets. fsp numbers the entries of a listing 0 ("."), 1 (".."), 2, 3,
 * ...; the dirent of entry i carries offset i + 1, and READDIR at offset o
 * asks for the entries from index o on. To continue after entry o - 1,
 * read_directory() gets that entry's name as its marker (WinFsp's model),
 * so a long listing costs one callback per reply, not a rescan. The names
 * of the last reply are kept because the kernel resumes after the last
 * entry *it could use*, which may be any of them. Any other offset (a
 * seekdir) restarts the listing and skips.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>

#include "fs_internal.h"
#include "pending.h"

static bool record_name(fsp_dir_buffer_t *db, const char *name, size_t len)
{
    if (db->names_len + len + 1 > db->names_cap) {
        size_t cap = db->names_cap ? db->names_cap * 2 : 4096;
        char *p;

        while (cap < db->names_len + len + 1)
            cap *= 2;
        p = realloc(db->names, cap);
        if (!p)
            return false;
        db->names = p;
        db->names_cap = cap;
    }
    if (db->count == 0)
        db->first_index = db->index;
    memcpy(db->names + db->names_len, name, len + 1);
    db->names_len += len + 1;
    db->count++;
    return true;
}

/* Encode one entry (any name); false when it does not fit. */
static bool add_entry(fsp_dir_buffer_t *db, const char *name, size_t len,
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
                                        &entry, db->index + 1);
    } else {
        uint64_t ino = info->index_number ? info->index_number
                                          : (node ? node->nodeid : 0);

        used = fsp_proto_add_dirent(db->buf, db->size, db->used, name, ino,
                                    info->mode, db->index + 1);
    }
    if (!used || !record_name(db, name, len)) {
        db->full = true;
        return false;
    }
    db->used = used;
    db->index++;
    return true;
}

FSP_API bool fsp_dir_buffer_add(fsp_dir_buffer_t *db, const char *name,
                                const fsp_file_info_t *info)
{
    struct fsp_node *node = NULL;
    size_t len;
    bool ok;

    if (!db || !name || !info || db->full)
        return false;
    len = strlen(name);
    if (len == 0 || len > NAME_MAX || strchr(name, '/'))
        return true;            /* skip names the kernel cannot take */
    if (db->skip) {
        db->skip--;
        db->index++;
        return true;
    }
    if (db->plus) {
        /* Make sure it fits before counting a lookup for it. */
        if (db->used + FUSE_DIRENTPLUS_SIZE_FOR(len) > db->size) {
            db->full = true;
            return false;
        }
        node = fsp_node_lookup_child(db->fs, db->dir->node, name, info,
                                     true);
        if (!node) {
            db->full = true;
            return false;
        }
    }
    ok = add_entry(db, name, len, info, node);
    if (!ok && node)
        fsp_node_forget(db->fs, node->nodeid, 1); /* never reached the kernel */
    fsp_node_put(db->fs, node);
    return ok;
}

/* The attributes reported for "." and "..": only the type matters. */
static const fsp_file_info_t dot_info = { .mode = S_IFDIR | 0755 };

/* The name of entry @index if the last reply had it, else NULL. */
static const char *name_at(const struct fsp_handle *h, uint64_t index)
{
    const char *p = h->dir_names;

    if (!p || index < h->dir_first_index ||
        index >= h->dir_first_index + h->dir_count)
        return NULL;
    for (uint64_t i = h->dir_first_index; i < index; i++)
        p += strlen(p) + 1;
    return p;
}

/* A READDIRPLUS reply the kernel never got: each entry counted a lookup
 * of its node, which no FORGET will ever drop; drop them here. */
static void forget_entries(fsp_dir_buffer_t *db)
{
    size_t off = 0;

    while (off + sizeof(struct fuse_direntplus) <= db->used) {
        const struct fuse_direntplus *d =
            (const void *)(db->buf + off);

        if (d->entry_out.nodeid)        /* "." and ".." have none */
            fsp_node_forget(db->fs, d->entry_out.nodeid, 1);
        off += FUSE_DIRENTPLUS_SIZE(d);
    }
}

/* One READDIR at a time per open directory, across threads. */
static void dir_acquire(struct fsp_handle *h)
{
    pthread_mutex_lock(&h->dir_lock);
    while (h->dir_busy)
        pthread_cond_wait(&h->dir_cond, &h->dir_lock);
    h->dir_busy = true;
    pthread_mutex_unlock(&h->dir_lock);
}

/* Release the directory; if @db is to be delivered, its names become the
 * ones the next READDIR resumes from. */
static void dir_release(struct fsp_handle *h, fsp_dir_buffer_t *db,
                        bool deliver)
{
    pthread_mutex_lock(&h->dir_lock);
    if (deliver && db->count) {
        free(h->dir_names);
        h->dir_names = db->names;
        h->dir_names_len = db->names_len;
        h->dir_first_index = db->first_index;
        h->dir_count = db->count;
        db->names = NULL;
    }
    h->dir_busy = false;
    pthread_cond_signal(&h->dir_cond);
    pthread_mutex_unlock(&h->dir_lock);
    free(db->names);
    db->names = NULL;
}

/* The reply of READDIR(PLUS): the entries that fit, or the error if none
 * did. Runs on the worker or on the thread of fsp_fs_send_response().
 * The handle is done with *before* the reply goes: once the kernel has
 * it, it may release the directory at once. (Should the reply then fail,
 * the names kept do not match what the kernel saw; the next READDIR then
 * restarts and skips, which is slower but right.) */
static void finish_dir(struct fsp_pending *p, const fsp_response_t *rsp,
                       bool deliver)
{
    fsp_dir_buffer_t *db = &p->db;
    int sent = -ECANCELED;

    dir_release(p->handle, db, deliver && !(rsp->error && db->used == 0));
    if (deliver) {
        if (rsp->error && db->used == 0)
            sent = fsp_reply_err(&p->req, rsp->error);
        else
            sent = fsp_reply_ok(&p->req, db->buf, db->used);
    }
    /* Entries the kernel never got hold lookups nobody will forget. */
    if (db->plus && sent != 0)
        forget_entries(db);
}

static void read_dir(struct fsp_req *req, bool plus)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_read_in *in = req->in.arg;
    struct fsp_handle *h;
    struct fsp_pending *p;
    fsp_dir_buffer_t *db;
    fsp_file_info_t self_info;
    const char *marker = NULL, *prev;
    int err = 0;

    h = fsp_request_handle(req, in->fh);
    if (!h)
        return;
    if (!h->is_dir) {
        fsp_reply_err(req, -EBADF);
        return;
    }
    p = fsp_pending_begin(req, h, finish_dir);
    if (!p)
        return;
    db = &p->db;
    db->fs = fs;
    db->dir = h;
    db->plus = plus;
    db->buf = p->req.reply_buf;
    db->size = in->size < req->reply_buf_size ? in->size
                                              : req->reply_buf_size;
    db->index = in->offset;

    /* "." is the directory itself: its st_ino, as stat() shows it. */
    self_info = dot_info;
    pthread_mutex_lock(&fs->nodes.lock);
    self_info.index_number = h->node->index_number;
    pthread_mutex_unlock(&fs->nodes.lock);
    dir_acquire(h);
    if (db->index == 0 && !add_entry(db, ".", 1, &self_info, NULL))
        goto done;
    if (db->index == 1 && !add_entry(db, "..", 2, &dot_info, NULL))
        goto done;
    if (db->index > 2) {
        prev = name_at(h, db->index - 1);
        if (prev && strcmp(prev, ".") && strcmp(prev, "..")) {
            /* Copy: the handle's names are replaced when this reply is
             * sent, and the callback may complete later. */
            strcpy(p->marker, prev);
            marker = p->marker;
        } else {
            db->skip = db->index - 2;   /* a seek: start over and skip */
            db->index = 2;
        }
    }
    err = -ENOSYS;
    if (fs->iface.read_directory)
        err = fs->iface.read_directory(fs, h->ctx, marker, db);
done:
    fsp_pending_end(p, err, 0);
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
