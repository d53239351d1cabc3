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
#include "txn.h"

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

/*
 * The response of READDIR(PLUS): the entries that fit, or the error if none
 * did. Runs on the worker or on the thread of fsp_fs_send_response(). The
 * directory is done with *before* the reply goes: once the kernel has it,
 * it may release the directory at once. (Should the reply then not be
 * delivered, the names kept are still those of the listing's entries at
 * their indexes, and fsp_undo_direntplus gives back READDIRPLUS's
 * lookups.)
 */
int fsp_vol_readdir_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    fsp_dir_buffer_t *db = &t->db;
    bool failed = rsp->error && db->used == 0;

    if (t->dir_held) {
        dir_release(t->handle, db, !failed);
        t->dir_held = false;
    }
    if (failed)
        return rsp->error;
    t->data = db->buf;
    t->data_size = db->used;
    return 0;
}

static int read_dir(struct fsp_txn *t, bool plus)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_read_in *in = t->in.arg;
    struct fsp_handle *h;
    fsp_dir_buffer_t *db = &t->db;
    fsp_file_info_t self_info;
    const char *marker = NULL, *prev;
    int err;

    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    h = t->handle;
    if (!h->is_dir)
        return -EBADF;
    db->fs = fs;
    db->dir = h;
    db->plus = plus;
    db->buf = t->reply_buf;
    db->size = in->size < t->reply_buf_size ? in->size : t->reply_buf_size;
    db->index = in->offset;

    /* "." is the directory itself: its st_ino, as stat() shows it. */
    self_info = dot_info;
    pthread_mutex_lock(&fs->nodes.lock);
    self_info.index_number = h->node->index_number;
    pthread_mutex_unlock(&fs->nodes.lock);
    dir_acquire(h);
    t->dir_held = true;
    /* From here on complete() runs, whatever happens: it lets go of the
     * directory. */
    fsp_txn_rsp(t);
    if (db->index == 0 && !add_entry(db, ".", 1, &self_info, NULL))
        return fsp_txn_called(t, 0);
    if (db->index == 1 && !add_entry(db, "..", 2, &dot_info, NULL))
        return fsp_txn_called(t, 0);
    if (db->index > 2) {
        prev = name_at(h, db->index - 1);
        if (prev && strcmp(prev, ".") && strcmp(prev, "..")) {
            /* Copy: the handle's names are replaced when this reply is
             * sent, and the callback may complete later. */
            strcpy(t->marker, prev);
            marker = t->marker;
        } else {
            db->skip = db->index - 2;   /* a seek: start over and skip */
            db->index = 2;
        }
    }
    if (!fs->iface.read_directory)
        return fsp_txn_called(t, -ENOSYS);
    return fsp_txn_called(t, fs->iface.read_directory(fs, h->ctx, marker,
                                                      db));
}

int fsp_vol_readdir(struct fsp_txn *t)
{
    return read_dir(t, false);
}

int fsp_vol_readdirplus(struct fsp_txn *t)
{
    return read_dir(t, true);
}
