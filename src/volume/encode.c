/*
 * encode.c - the columns of the opcode table that turn a transaction's
 * response into reply bytes (encoders), and that give back what a reply
 * handed out when it never reached the kernel (undelivered steps).
 *
 * An encoder runs only for a response whose error is 0; an error reply has
 * no body. An undelivered step reads the body its encoder made, nothing
 * else: over io_uring the kernel's refusal comes from the ring after the
 * transaction is gone, with only the reply's bytes left in the entry.
 */
#define _GNU_SOURCE
#include <string.h>

#include "fs_internal.h"
#include "txn.h"

size_t fsp_encode_entry(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.entry;
    return sizeof t->out.entry;
}

size_t fsp_encode_attr(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.attr;
    return sizeof t->out.attr;
}

size_t fsp_encode_open(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.open;
    return sizeof t->out.open;
}

size_t fsp_encode_create(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.create;
    return sizeof t->out.create;
}

size_t fsp_encode_write(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.write;
    return sizeof t->out.write;
}

size_t fsp_encode_statfs(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.statfs;
    return sizeof t->out.statfs;
}

/* READ, READLINK, READDIR(PLUS): the variable part alone. */
size_t fsp_encode_data(const struct fsp_txn *t, const void **body)
{
    *body = t->data;
    return t->data_size;
}

/* GETXATTR, LISTXATTR: the data of a real read, the size of a query. */
size_t fsp_encode_xattr(const struct fsp_txn *t, const void **body)
{
    if (t->data)
        return fsp_encode_data(t, body);
    *body = &t->out.xattr;
    return sizeof t->out.xattr;
}

size_t fsp_encode_init(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.init;
    return t->out_size;
}

/* ---------------------------------------------------- undelivered */

/* An entry counted one lookup of its node (a negative entry has node 0). */
void fsp_undo_entry(struct fsp_fs *fs, const void *body, size_t size)
{
    struct fuse_entry_out entry;

    if (size < sizeof entry)
        return;
    memcpy(&entry, body, sizeof entry);
    if (entry.nodeid)
        fsp_node_forget(fs, entry.nodeid, 1);
}

/* An open file for which no RELEASE will ever come (fh 0: per_file_context
 * opens have no handle of their own). */
void fsp_undo_open(struct fsp_fs *fs, const void *body, size_t size)
{
    struct fuse_open_out open;

    if (size < sizeof open)
        return;
    memcpy(&open, body, sizeof open);
    if (open.fh)
        fsp_handle_release(fs, open.fh);
}

/* The handle first: releasing it drops its node reference, then the
 * lookup goes. */
void fsp_undo_create(struct fsp_fs *fs, const void *body, size_t size)
{
    const char *p = body;

    if (size < sizeof(struct fsp_create_out))
        return;
    fsp_undo_open(fs, p + sizeof(struct fuse_entry_out),
                  sizeof(struct fuse_open_out));
    fsp_undo_entry(fs, p, sizeof(struct fuse_entry_out));
}

/* Each entry of a READDIRPLUS counted a lookup of its node ("." and ".."
 * have node 0). */
void fsp_undo_direntplus(struct fsp_fs *fs, const void *body, size_t size)
{
    const char *buf = body;
    size_t off = 0;

    while (off + sizeof(struct fuse_direntplus) <= size) {
        struct fuse_direntplus d;

        memcpy(&d, buf + off, sizeof d);
        if (d.entry_out.nodeid)
            fsp_node_forget(fs, d.entry_out.nodeid, 1);
        off += FUSE_DIRENTPLUS_SIZE(&d);
    }
}
