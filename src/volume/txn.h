/*
 * txn.h - a transaction: one request and the response the volume computes
 * for it (WinFsp's model: an operation takes a request and fills in a
 * response; only the dispatcher sends).
 *
 * The dispatcher decodes the request into txn.in, lends the worker's reply
 * buffer, and calls the opcode's execute function (src/dispatch/
 * op_table.c names them all). The execute function asks the file system,
 * updates the node and handle tables, fills in the response below and
 * returns 0 or a negative errno, or FSP_PENDING when the callback will
 * complete later: the opcode's complete function then turns the file
 * system's fsp_response_t into the same response. Either way the
 * dispatcher encodes the response (the opcode's encoder picks the bytes)
 * and sends it, once. When the kernel refuses the reply, or the reply is
 * dropped (the request was answered EINTR meanwhile), the dispatcher runs
 * the opcode's undelivered step on the bytes that were meant for the
 * kernel, which gives back what they handed out (lookup counts, handles).
 *
 * Volume code never sends, never sees a channel, and never looks at the
 * result of a send.
 */
#ifndef FSP_TXN_H
#define FSP_TXN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsp/fsp.h"
#include "fuse_abi.h"
#include "protocol.h"
#include "volume.h"

/* CREATE's reply: the new entry and the open file, back to back. */
struct fsp_create_out {
    struct fuse_entry_out entry;
    struct fuse_open_out open;
};

/* The fixed part of a response, by the kind of reply its opcode sends. */
union fsp_txn_out {
    struct fuse_entry_out entry;     /* LOOKUP, MKNOD, MKDIR, SYMLINK, LINK */
    struct fuse_attr_out attr;       /* GETATTR, SETATTR */
    struct fuse_open_out open;       /* OPEN, OPENDIR */
    struct fsp_create_out create;    /* CREATE */
    struct fuse_write_out write;     /* WRITE */
    struct fuse_statfs_out statfs;   /* STATFS */
    struct fuse_getxattr_out xattr;  /* GETXATTR, LISTXATTR size queries */
    struct fuse_init_out init;       /* INIT */
};

struct fsp_txn {
    struct fsp_fs *fs;
    struct fsp_request in;          /* the decoded request */
    /* Memory the worker lends for a variable-size response: READ's data,
     * READLINK's target, a listing, an xattr value. */
    void *reply_buf;
    size_t reply_buf_size;

    /* ---- the response ---- */
    int error;                      /* 0 or -errno; set from execute's
                                       (or complete's) return */
    union fsp_txn_out out;          /* the fixed part */
    uint32_t out_size;              /* INIT only: its reply's size, which
                                       depends on the kernel's version */
    const void *data;               /* the variable part, or NULL */
    size_t data_size;

    /* ---- what a request that may complete later keeps ---- */
    struct fsp_handle *handle;      /* READ, WRITE, READDIR(PLUS): the open
                                       file (pinned by the dispatcher while
                                       pending) */
    size_t size;                    /* READ, WRITE: bytes asked for */
    size_t bytes;                   /* READ, WRITE: the callback's count */
    bool dir_held;                  /* READDIR(PLUS): the directory is ours
                                       until complete() */
    struct fsp_dir_buffer db;       /* READDIR(PLUS): the listing */
    char marker[NAME_MAX + 1];      /* READDIR(PLUS): resume after it */
};

/*
 * An opcode's execute function: compute @t's response. Returns 0 or a
 * negative errno (the reply's error), or FSP_PENDING: the file system
 * completes the request later, through the opcode's complete function.
 */
typedef int fsp_execute_fn(struct fsp_txn *t);

/*
 * An opcode's complete function (opcodes whose callback may return
 * FSP_PENDING): the file system's response @rsp (or, for a callback that
 * returned at once, the same built from its result) becomes @t's
 * response. Returns the reply's error. Runs on the worker, or on the
 * thread that called fsp_fs_send_response(); also for a response that
 * will be dropped, since it releases what the request held.
 */
typedef int fsp_complete_fn(struct fsp_txn *t, const fsp_response_t *rsp);

/*
 * An opcode's encoder: the bytes of @t's reply after the out header (its
 * body), for a response whose error is 0. Returns the size; *body points
 * into @t (or the reply buffer). NULL encoder: no body.
 */
typedef size_t fsp_encode_fn(const struct fsp_txn *t, const void **body);

/*
 * An opcode's undelivered step: the reply @body of @size bytes (as its
 * encoder made it) never reached the kernel; give back what it handed
 * out. Must work from the bytes alone: over io_uring the refusal comes
 * later, from the ring, when the transaction is gone.
 */
typedef void fsp_undelivered_fn(struct fsp_fs *fs, const void *body,
                                size_t size);

/* ---- execute functions (volume_*.c) ---- */

fsp_execute_fn fsp_vol_lookup, fsp_vol_forget, fsp_vol_batch_forget,
    fsp_vol_getattr, fsp_vol_setattr, fsp_vol_readlink, fsp_vol_symlink,
    fsp_vol_mknod, fsp_vol_mkdir, fsp_vol_unlink, fsp_vol_rmdir,
    fsp_vol_rename, fsp_vol_rename2, fsp_vol_link, fsp_vol_statfs,
    fsp_vol_open, fsp_vol_opendir, fsp_vol_create, fsp_vol_read,
    fsp_vol_write, fsp_vol_flush, fsp_vol_release, fsp_vol_releasedir,
    fsp_vol_fsync, fsp_vol_fallocate, fsp_vol_syncfs, fsp_vol_setxattr,
    fsp_vol_getxattr, fsp_vol_listxattr, fsp_vol_removexattr,
    fsp_vol_readdir, fsp_vol_readdirplus, fsp_vol_init, fsp_vol_destroy;

/* ---- complete functions ---- */

fsp_complete_fn fsp_vol_read_complete, fsp_vol_write_complete,
    fsp_vol_readdir_complete;

/* ---- encoders (encode.c) ---- */

fsp_encode_fn fsp_encode_entry, fsp_encode_attr, fsp_encode_open,
    fsp_encode_create, fsp_encode_write, fsp_encode_statfs, fsp_encode_data,
    fsp_encode_xattr, fsp_encode_init;

/* ---- undelivered steps (encode.c) ---- */

fsp_undelivered_fn fsp_undo_entry, fsp_undo_open, fsp_undo_create,
    fsp_undo_direntplus;

#endif /* FSP_TXN_H */
