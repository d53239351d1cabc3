/*
 * txn.h - a transaction: one request and the response the volume computes
 * for it (WinFsp's model: an operation takes a request and fills in a
 * response; only the dispatcher sends).
 *
 * The dispatcher decodes the request into txn.in, lends the worker's reply
 * buffer, and calls the opcode's execute function (src/dispatch/
 * op_table.c names them all). The execute function checks the request,
 * updates the node and handle tables, and either fills in the response
 * below and returns 0 or a negative errno, or calls one callback of the
 * file system, with txn.rsp as its out-parameters, and returns what the
 * callback did:
 *
 *   FSP_TXN_CALLED  the callback answered at once; its response is in
 *                   txn.rsp (error and out-parameters)
 *   FSP_PENDING     it will answer later, with fsp_fs_send_response(),
 *                   whose fsp_response_t then becomes txn.rsp
 *
 * Either way the opcode's complete function then turns txn.rsp into the
 * response, or asks for the next step (FSP_TXN_CONTINUE: a SETATTR that
 * sets the size and then the mode, an OPEN that truncates, a LOOKUP raced
 * by a rename), and the dispatcher runs execute again at txn.step. What a
 * step needs from the one before lives in the transaction, and what it
 * holds (node references, paths, a file context not yet handed on) is let
 * go by fsp_txn_release() when the transaction ends, whichever way it
 * ends. The dispatcher encodes the response (the opcode's encoder picks
 * the bytes) and sends it, once. When the kernel refuses the reply, or
 * the reply is dropped (the request was answered EINTR meanwhile), the
 * dispatcher runs the opcode's undelivered step on the bytes that were
 * meant for the kernel, which gives back what they handed out (lookup
 * counts, handles).
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
#include <string.h>

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
    /* lseek, copy_file_range, O_TMPFILE, STATX */
    struct fuse_lseek_out lseek;     /* LSEEK */
    struct fuse_copy_file_range_out copy; /* COPY_FILE_RANGE_64 (the
                                       32-bit form replies in write) */
    struct fuse_statx_out statx;     /* STATX */
    /* ---- locks and poll ---- */
    struct fuse_lk_out lk;           /* GETLK */
    struct fuse_poll_out poll;       /* POLL */
};

/* An execute function's return: the callback answered at once, its
 * response is in txn.rsp. (Positive, as FSP_PENDING, so never an errno.) */
#define FSP_TXN_CALLED (FSP_PENDING + 1)
/* A complete function's return: run execute again, at txn.step. */
#define FSP_TXN_CONTINUE (FSP_PENDING + 2)

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

    /* ---- the callback's answer, and the steps ---- */
    fsp_response_t rsp;             /* out-parameters of the callback, or
                                       the file system's late response */
    unsigned step;                  /* the step execute runs next */
    unsigned attempt;               /* LOOKUP: asks so far */

    /* ---- held until fsp_txn_release() ---- */
    struct fsp_node *node;          /* references: the request's node, */
    struct fsp_node *parent;        /* the directory it names a child of, */
    struct fsp_node *child;         /* and that child, if known */
    struct fsp_node *other;         /* RENAME: the new parent; LINK: the
                                       linked node */
    char *path, *path2;             /* malloc'd */
    void *ctx;                      /* the file context the callback got */
    bool ctx_owned;                 /* ctx is new and not handed on yet:
                                       closed at the release */
    void *temp_ctx;                 /* an FSP_OPEN_META open to close */
    bool renaming_dir;              /* a directory rename is bracketed
                                       (fsp_node_dir_rename_begin) */
    struct fsp_paths_snapshot snap; /* LOOKUP: paths before the ask */
    uint_fast64_t notify_calls;     /* LOOKUP: fsp_fs_notify() calls then */
    uint32_t bits;                  /* SETATTR: set_basic_info's bits;
                                       RELEASE: its unlocks so far;
                                       RENAME: its fsp_rename_flags */
    uint32_t mode;                  /* OPEN: the opened file's mode, for
                                       the steps that follow open() */
    fsp_file_info_t wanted;         /* SETATTR: set_basic_info's new_info */
    struct fsp_acl_state *acl;      /* the ACL steps' (acl.h), malloc'd */

    /* ---- READ, WRITE, READDIR(PLUS) ---- */
    struct fsp_handle *handle;      /* the open file (pinned by the
                                       dispatcher while pending) */
    size_t size;                    /* READ, WRITE: bytes asked for */
    bool dir_held;                  /* READDIR(PLUS): the directory is ours
                                       until complete() */
    struct fsp_dir_buffer db;       /* READDIR(PLUS): the listing */
    char marker[NAME_MAX + 1];      /* READDIR(PLUS): resume after it */

    /* ---- COPY_FILE_RANGE(_64) ---- */
    struct fsp_handle *handle_out;  /* the destination, pinned until
                                       fsp_txn_release() */
};

/* The callback's answer @r: FSP_PENDING, or FSP_TXN_CALLED with @r as
 * txn.rsp's error (its out-parameters are in txn.rsp already). */
static inline int fsp_txn_called(struct fsp_txn *t, int r)
{
    if (r == FSP_PENDING)
        return r;
    t->rsp.error = r;
    return FSP_TXN_CALLED;
}

/* txn.rsp zeroed for the next callback's out-parameters. */
static inline fsp_response_t *fsp_txn_rsp(struct fsp_txn *t)
{
    memset(&t->rsp, 0, sizeof t->rsp);
    return &t->rsp;
}

/* A request that changes the name t->in.name in directory t->in.nodeid
 * (create, link, unlink, rename): the directory held in t->parent and
 * the name's path in t->path. Returns 0, -ESTALE, -EROFS (read-only
 * volume), or fsp_node_path()'s errors. (volume.c) */
int fsp_volume_hold_change(struct fsp_txn *t);

/* MKNOD, MKDIR, SYMLINK, CREATE: create() of t->in.name in directory
 * t->in.nodeid (held as fsp_volume_hold_change() does), with @ci as the
 * request says and the caller's uid and gid, into txn.rsp. Returns what
 * an execute function returns. (volume.c) */
int fsp_volume_create(struct fsp_txn *t, fsp_create_info_t *ci);

/* The complete side of fsp_volume_create(): after create() (and the ACL
 * steps that follow it) *@info is the new file's attributes and t->ctx
 * its context, which the release closes unless the caller clears
 * t->ctx_owned. Returns 0 then, else FSP_TXN_CONTINUE or the error.
 * (volume.c) */
int fsp_volume_created(struct fsp_txn *t, const fsp_response_t *rsp,
                       const fsp_file_info_t **info);

/* Let go of what @t holds (see above). The dispatcher calls it once, when
 * the transaction has ended. */
void fsp_txn_release(struct fsp_txn *t);

/*
 * An opcode's execute function: run @t's step. Returns 0 or a negative
 * errno (the reply's error; the response is filled in), or for an opcode
 * with a complete function FSP_TXN_CALLED or FSP_PENDING (above).
 */
typedef int fsp_execute_fn(struct fsp_txn *t);

/*
 * An opcode's complete function: the callback's answer @rsp (txn.rsp, or
 * the file system's late response) becomes @t's response. Returns the
 * reply's error, or FSP_TXN_CONTINUE for the next step. Runs on the
 * worker, or on the thread that called fsp_fs_send_response(); also for
 * a response that will be dropped, since it lets go of what the request
 * held. A complete function that hands something out (a lookup count, a
 * handle) returns 0 afterwards, never FSP_TXN_CONTINUE.
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
    fsp_vol_mknod, fsp_vol_mkdir, fsp_vol_remove,
    fsp_vol_rename, fsp_vol_rename2, fsp_vol_link, fsp_vol_statfs,
    fsp_vol_open, fsp_vol_create, fsp_vol_read,
    fsp_vol_write, fsp_vol_flush, fsp_vol_release, fsp_vol_releasedir,
    fsp_vol_fsync, fsp_vol_fallocate, fsp_vol_syncfs, fsp_vol_setxattr,
    fsp_vol_getxattr, fsp_vol_listxattr, fsp_vol_removexattr,
    fsp_vol_readdir, fsp_vol_readdirplus, fsp_vol_init, fsp_vol_destroy;

/* Notification replies (notify.c): the kernel's answer to a retrieve. */
fsp_execute_fn fsp_vol_notify_reply;

/* ---- complete functions ---- */

fsp_complete_fn fsp_vol_lookup_complete, fsp_vol_getattr_complete,
    fsp_vol_setattr_complete, fsp_vol_readlink_complete,
    fsp_vol_make_complete, fsp_vol_remove_complete,
    fsp_vol_rename_complete, fsp_vol_link_complete,
    fsp_vol_statfs_complete, fsp_vol_open_complete,
    fsp_vol_create_complete, fsp_vol_read_complete, fsp_vol_write_complete,
    fsp_vol_result_complete, fsp_vol_fallocate_complete,
    fsp_vol_xattr_complete, fsp_vol_setxattr_complete,
    fsp_vol_removexattr_complete, fsp_vol_readdir_complete;

/* ---- LSEEK (volume_seek.c), COPY_FILE_RANGE and
 * COPY_FILE_RANGE_64 (volume_copy.c), TMPFILE (volume_tmpfile.c), STATX
 * (volume_statx.c) ---- */

fsp_execute_fn fsp_vol_lseek, fsp_vol_copy_file_range, fsp_vol_tmpfile,
    fsp_vol_statx;
fsp_complete_fn fsp_vol_lseek_complete, fsp_vol_copy_file_range_complete,
    fsp_vol_tmpfile_complete, fsp_vol_statx_complete;
fsp_encode_fn fsp_encode_lseek, fsp_encode_copy_file_range,
    fsp_encode_statx;

/* GETATTR and STATX: get_file_info() of the open file @fh (if @has_fh and
 * open) or of the node's meta context if it has one, else
 * get_file_info_by_name(); into txn.rsp, the node held in t->node.
 * Returns what an execute function returns. (volume_entry.c) */
int fsp_volume_get_info(struct fsp_txn *t, bool has_fh, uint64_t fh);

/* The FOPEN_* flags of a new open of a regular file. (volume_file.c) */
uint32_t fsp_volume_open_flags(struct fsp_fs *fs);
/* ---- locks, ioctl, poll (volume_lock.c, volume_ioctl.c) ---- */

fsp_execute_fn fsp_vol_getlk, fsp_vol_setlk, fsp_vol_ioctl, fsp_vol_poll;
fsp_complete_fn fsp_vol_getlk_complete, fsp_vol_ioctl_complete,
    fsp_vol_poll_complete, fsp_vol_release_complete;
fsp_encode_fn fsp_encode_lk, fsp_encode_poll;

/* Whether the kernel leaves POSIX locks (flock locks) to the file system
 * on this mount: negotiated in INIT when its callbacks are set. */
bool fsp_volume_posix_locks(const struct fsp_fs *fs);
bool fsp_volume_flock_locks(const struct fsp_fs *fs);

/* FLUSH's part: with POSIX locks served, set_lock(FSP_LOCK_CLOSE) of the
 * closing process's locks on the file, into txn.rsp; what an execute
 * function returns. */
int fsp_volume_unlock_on_close(struct fsp_txn *t, void *ctx,
                               uint64_t owner);

/* RELEASE's part, step by step (t->bits counts the owners done): the
 * flock(LOCK_UN) of an open file that had flock locks
 * (FUSE_RELEASE_FLOCK_UNLOCK), then set_lock(FSP_LOCK_CLOSE) of each
 * open-file owner of POSIX locks on handle @h, into txn.rsp. Returns what
 * an execute function returns, or 1 when nothing is left to unlock. */
int fsp_volume_unlock_on_release(struct fsp_txn *t, struct fsp_handle *h);

/* ---- encoders (encode.c) ---- */

fsp_encode_fn fsp_encode_entry, fsp_encode_attr, fsp_encode_open,
    fsp_encode_create, fsp_encode_write, fsp_encode_statfs, fsp_encode_data,
    fsp_encode_xattr, fsp_encode_init;

/* ---- undelivered steps (encode.c) ---- */

fsp_undelivered_fn fsp_undo_entry, fsp_undo_open, fsp_undo_create,
    fsp_undo_direntplus;

#endif /* FSP_TXN_H */
