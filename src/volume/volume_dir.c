/*
 * volume_dir.c - directory listings: READDIR, READDIRPLUS, RELEASEDIR,
 * and fsp_dir_buffer_add() with which read_directory() fills a reply.
 *
 * Offsets. fsp numbers the entries of a listing 0 ("."), 1 (".."), 2, 3,
 * ...; the dirent of entry i carries offset i + 1, and READDIR at offset o
 * asks for the entries from index o on. To continue after entry o - 1,
 * read_directory() gets that entry's name as its marker (WinFsp's model),
 * so a reply costs one callback and one search in the file system, never
 * a rescan. The handle remembers the name of every entry it has handed
 * out, by index: the kernel resumes after the last entry *it could use*,
 * which may be any of the last reply's, and seekdir(3) goes back to any
 * telldir(3) position, which is an offset the kernel got from us. So any
 * pattern of reads and seeks costs time linear in the entries returned.
 * Only an offset never handed out (an lseek to an arbitrary number)
 * restarts the listing and skips.
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

/* Grow *@p (of *@cap elements of @size bytes) to hold @need; false when
 * out of memory. */
static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t new_cap = *cap ? *cap : 64;
    void *q;

    if (need <= *cap)
        return true;
    while (new_cap < need)
        new_cap *= 2;
    q = realloc(*p, new_cap * size);
    if (!q)
        return false;
    *p = q;
    *cap = new_cap;
    return true;
}

/*
 * Remember that entry @index (2 or more) of @h's listing is @name. Names
 * are handed out in order, so @index is at most one past the last known;
 * out of memory, the name is just not known, and a seek to right after it
 * falls back to a rescan.
 */
static void remember_name(struct fsp_handle *h, uint64_t index,
                          const char *name, size_t len)
{
    size_t i = (size_t)(index - 2);

    if (i > h->dir_count)
        return;
    if (i < h->dir_count && strcmp(h->dir_names + h->dir_name_at[i], name) == 0)
        return;
    if (!grow((void **)&h->dir_names, &h->dir_names_cap,
              h->dir_names_len + len + 1, 1) ||
        !grow((void **)&h->dir_name_at, &h->dir_count_cap, i + 1,
              sizeof *h->dir_name_at))
        return;
    memcpy(h->dir_names + h->dir_names_len, name, len + 1);
    h->dir_name_at[i] = h->dir_names_len;
    h->dir_names_len += len + 1;
    if (i == h->dir_count)
        h->dir_count++;
}

/* The name of entry @index if the listing handed it out, else NULL. */
static const char *name_at(const struct fsp_handle *h, uint64_t index)
{
    if (index < 2 || index - 2 >= h->dir_count)
        return NULL;
    return h->dir_names + h->dir_name_at[index - 2];
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
    if (!used) {
        db->full = true;
        return false;
    }
    if (db->index >= 2)
        remember_name(db->dir, db->index, name, len);
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
        remember_name(db->dir, db->index, name, len);
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

/* The inode number the kernel shows for @node: its st_ino, as stat()
 * shows it (fsp_proto_fill_attr falls back to the node id too). */
static uint64_t ino_of(const struct fsp_node *node)
{
    return node->index_number ? node->index_number : node->nodeid;
}

/*
 * The attributes of "." and ".." in a listing of @dir: a directory each,
 * with the inode number of @dir and of its parent. The root's ".." is the
 * root itself (as on every Linux file system: the kernel's ".." at a mount
 * point is the mounted-on directory's business, not ours); so is an
 * unlinked directory's, which has no parent any more.
 */
static void dot_infos(struct fsp_fs *fs, struct fsp_node *dir,
                      fsp_file_info_t *self, fsp_file_info_t *parent)
{
    memset(self, 0, sizeof *self);
    self->mode = S_IFDIR | 0755;        /* only the type matters */
    *parent = *self;
    pthread_mutex_lock(&fs->nodes.lock);
    self->index_number = ino_of(dir);
    parent->index_number = ino_of(dir->names ? dir->names->parent : dir);
    pthread_mutex_unlock(&fs->nodes.lock);
}

void fsp_vol_note_dir_ino(struct fsp_fs *fs, struct fsp_node *node,
                        const fsp_file_info_t *info)
{
    /* Every other directory got its number with its LOOKUP: no lock of
     * the node table on GETATTR's way for them. */
    if (node->nodeid != FUSE_ROOT_ID || !S_ISDIR(info->mode))
        return;
    pthread_mutex_lock(&fs->nodes.lock);
    if (!node->index_number)
        node->index_number = info->index_number;
    pthread_mutex_unlock(&fs->nodes.lock);
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

/* Let go of the directory. */
static void dir_release(struct fsp_handle *h)
{
    pthread_mutex_lock(&h->dir_lock);
    h->dir_busy = false;
    pthread_cond_signal(&h->dir_cond);
    pthread_mutex_unlock(&h->dir_lock);
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
        dir_release(t->handle);
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
    fsp_file_info_t self_info, parent_info;
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

    dot_infos(fs, h->node, &self_info, &parent_info);
    dir_acquire(h);
    t->dir_held = true;
    /* From here on complete() runs, whatever happens: it lets go of the
     * directory. */
    fsp_txn_rsp(t);
    if (db->index == 0) {
        /* rewinddir(3): the listing starts over, its indexes anew. */
        h->dir_count = 0;
        h->dir_names_len = 0;
        if (!add_entry(db, ".", 1, &self_info, NULL))
            return fsp_txn_called(t, 0);
    }
    if (db->index == 1 && !add_entry(db, "..", 2, &parent_info, NULL))
        return fsp_txn_called(t, 0);
    if (db->index > 2) {
        prev = name_at(h, db->index - 1);
        if (prev && strcmp(prev, ".") && strcmp(prev, "..")) {
            /* Copy: the handle's names move as the callback adds more,
             * and it may complete later. */
            strcpy(t->marker, prev);
            marker = t->marker;
        } else {
            db->skip = db->index - 2;   /* never handed out: rescan, skip */
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
