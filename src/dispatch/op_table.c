/*
 * op_table.c - the opcode table (op_table.h): every FUSE opcode of
 * protocol 7.45 in one row.
 *
 * The columns, in order:
 *   name      for the debug log and fsptool
 *   shape     the request after its header: the fixed argument's size in
 *             protocol 7.45 (0: none), what follows it (enum
 *             fsp_wire_tail), whether the kernel waits for no reply, and
 *             whether fsp leaves it undecoded (answered ENOSYS)
 *   execute   the volume's function that computes the response (NULL:
 *             ENOSYS)
 *   complete  for a callback that may return FSP_PENDING: the response
 *             given later
 *   encode    the reply's body (NULL: none)
 *   undo      what a reply that never reached the kernel gives back
 *   sent      what follows a delivered reply
 *   data      the response is data in the worker's reply buffer, which a
 *             request that pends takes with it
 *   describe  the request's arguments as text, for the debug log
 *             (protocol/describe.c)
 */
#include <stddef.h>
#include <stdio.h>

#include "op_table.h"

#define NO_REPLY true
#define NOT_DECODED true

static const struct fsp_op op_table[] = {
    /* name, {arg size, tail, no reply, not decoded},
     *     execute, complete,
     *     encode, undo, sent, data,
     *     describe */
    [FUSE_LOOKUP] = {"LOOKUP", {0, FSP_TAIL_NAME, false, false},
        fsp_vol_lookup, fsp_vol_lookup_complete,
        fsp_encode_entry, fsp_undo_entry, NULL, false,
        fsp_describe_lookup},
    [FUSE_FORGET] = {"FORGET",
        {sizeof(struct fuse_forget_in), FSP_TAIL_NONE, NO_REPLY, false},
        fsp_vol_forget, NULL, NULL, NULL, NULL, false,
        fsp_describe_forget},
    [FUSE_GETATTR] = {"GETATTR",
        {sizeof(struct fuse_getattr_in), FSP_TAIL_NONE, false, false},
        fsp_vol_getattr, fsp_vol_getattr_complete,
        fsp_encode_attr, NULL, NULL, false,
        fsp_describe_getattr},
    [FUSE_SETATTR] = {"SETATTR",
        {sizeof(struct fuse_setattr_in), FSP_TAIL_NONE, false, false},
        fsp_vol_setattr, fsp_vol_setattr_complete,
        fsp_encode_attr, NULL, NULL, false,
        fsp_describe_setattr},
    [FUSE_READLINK] = {"READLINK", {0, FSP_TAIL_NONE, false, false},
        fsp_vol_readlink, fsp_vol_readlink_complete,
        fsp_encode_data, NULL, NULL, true,
        fsp_describe_readlink},
    /* The link's own name first, then its target (kernel fuse_symlink). */
    [FUSE_SYMLINK] = {"SYMLINK", {0, FSP_TAIL_TWO_NAMES, false, false},
        fsp_vol_symlink, fsp_vol_make_complete,
        fsp_encode_entry, fsp_undo_entry, NULL, false,
        fsp_describe_symlink},
    [FUSE_MKNOD] = {"MKNOD",
        {sizeof(struct fuse_mknod_in), FSP_TAIL_NAME, false, false},
        fsp_vol_mknod, fsp_vol_make_complete,
        fsp_encode_entry, fsp_undo_entry, NULL, false,
        fsp_describe_mknod},
    [FUSE_MKDIR] = {"MKDIR",
        {sizeof(struct fuse_mkdir_in), FSP_TAIL_NAME, false, false},
        fsp_vol_mkdir, fsp_vol_make_complete,
        fsp_encode_entry, fsp_undo_entry, NULL, false,
        fsp_describe_mkdir},
    [FUSE_UNLINK] = {"UNLINK", {0, FSP_TAIL_NAME, false, false},
        fsp_vol_remove, fsp_vol_remove_complete, NULL, NULL, NULL, false,
        fsp_describe_unlink},
    [FUSE_RMDIR] = {"RMDIR", {0, FSP_TAIL_NAME, false, false},
        fsp_vol_remove, fsp_vol_remove_complete, NULL, NULL, NULL, false,
        fsp_describe_rmdir},
    [FUSE_RENAME] = {"RENAME",
        {sizeof(struct fuse_rename_in), FSP_TAIL_TWO_NAMES, false, false},
        fsp_vol_rename, fsp_vol_rename_complete, NULL, NULL, NULL, false,
        fsp_describe_rename},
    [FUSE_LINK] = {"LINK",
        {sizeof(struct fuse_link_in), FSP_TAIL_NAME, false, false},
        fsp_vol_link, fsp_vol_link_complete,
        fsp_encode_entry, fsp_undo_entry, NULL, false,
        fsp_describe_link},
    [FUSE_OPEN] = {"OPEN",
        {sizeof(struct fuse_open_in), FSP_TAIL_NONE, false, false},
        fsp_vol_open, fsp_vol_open_complete,
        fsp_encode_open, fsp_undo_open, NULL, false,
        fsp_describe_open},
    [FUSE_READ] = {"READ",
        {sizeof(struct fuse_read_in), FSP_TAIL_NONE, false, false},
        fsp_vol_read, fsp_vol_read_complete,
        fsp_encode_data, NULL, NULL, true,
        fsp_describe_read},
    [FUSE_WRITE] = {"WRITE",
        {sizeof(struct fuse_write_in), FSP_TAIL_WRITE, false, false},
        fsp_vol_write, fsp_vol_write_complete, fsp_encode_write, NULL,
        NULL, false,
        fsp_describe_write},
    [FUSE_STATFS] = {"STATFS", {0, FSP_TAIL_NONE, false, false},
        fsp_vol_statfs, fsp_vol_statfs_complete,
        fsp_encode_statfs, NULL, NULL, false,
        fsp_describe_statfs},
    [FUSE_RELEASE] = {"RELEASE",
        {sizeof(struct fuse_release_in), FSP_TAIL_NONE, false, false},
        fsp_vol_release, fsp_vol_release_complete, NULL, NULL, NULL, false,
        fsp_describe_release},
    [FUSE_FSYNC] = {"FSYNC",
        {sizeof(struct fuse_fsync_in), FSP_TAIL_NONE, false, false},
        fsp_vol_fsync, fsp_vol_result_complete, NULL, NULL, NULL, false,
        fsp_describe_fsync},
    /* The 8-byte form until FUSE_SETXATTR_EXT (protocol.c). */
    [FUSE_SETXATTR] = {"SETXATTR",
        {sizeof(struct fuse_setxattr_in), FSP_TAIL_XATTR, false, false},
        fsp_vol_setxattr, fsp_vol_setxattr_complete, NULL, NULL, NULL, false,
        fsp_describe_setxattr},
    [FUSE_GETXATTR] = {"GETXATTR",
        {sizeof(struct fuse_getxattr_in), FSP_TAIL_NAME, false, false},
        fsp_vol_getxattr, fsp_vol_xattr_complete,
        fsp_encode_xattr, NULL, NULL, true,
        fsp_describe_getxattr},
    [FUSE_LISTXATTR] = {"LISTXATTR",
        {sizeof(struct fuse_getxattr_in), FSP_TAIL_NONE, false, false},
        fsp_vol_listxattr, fsp_vol_xattr_complete,
        fsp_encode_xattr, NULL, NULL, true,
        fsp_describe_listxattr},
    [FUSE_REMOVEXATTR] = {"REMOVEXATTR", {0, FSP_TAIL_NAME, false, false},
        fsp_vol_removexattr, fsp_vol_removexattr_complete, NULL, NULL, NULL,
        false,
        fsp_describe_removexattr},
    [FUSE_FLUSH] = {"FLUSH",
        {sizeof(struct fuse_flush_in), FSP_TAIL_NONE, false, false},
        fsp_vol_flush, fsp_vol_result_complete, NULL, NULL, NULL, false,
        fsp_describe_flush},
    /* Variable size: see decode_body() in protocol.c. */
    [FUSE_INIT] = {"INIT",
        {sizeof(struct fuse_init_in), FSP_TAIL_NONE, false, false},
        fsp_vol_init, NULL,
        fsp_encode_init, NULL, fsp_dispatch_init_sent, false,
        fsp_describe_init},
    [FUSE_OPENDIR] = {"OPENDIR",
        {sizeof(struct fuse_open_in), FSP_TAIL_NONE, false, false},
        fsp_vol_open, fsp_vol_open_complete,
        fsp_encode_open, fsp_undo_open, NULL, false,
        fsp_describe_opendir},
    [FUSE_READDIR] = {"READDIR",
        {sizeof(struct fuse_read_in), FSP_TAIL_NONE, false, false},
        fsp_vol_readdir, fsp_vol_readdir_complete, fsp_encode_data, NULL,
        NULL, true,
        fsp_describe_readdir},
    [FUSE_RELEASEDIR] = {"RELEASEDIR",
        {sizeof(struct fuse_release_in), FSP_TAIL_NONE, false, false},
        fsp_vol_releasedir, NULL, NULL, NULL, NULL, false,
        fsp_describe_releasedir},
    [FUSE_FSYNCDIR] = {"FSYNCDIR",
        {sizeof(struct fuse_fsync_in), FSP_TAIL_NONE, false, false},
        fsp_vol_fsync, fsp_vol_result_complete, NULL, NULL, NULL, false,
        fsp_describe_fsyncdir},
    [FUSE_GETLK] = {"GETLK",
        {sizeof(struct fuse_lk_in), FSP_TAIL_NONE, false, false},
        fsp_vol_getlk, fsp_vol_getlk_complete,
        fsp_encode_lk, NULL, NULL, false,
        fsp_describe_getlk},
    [FUSE_SETLK] = {"SETLK",
        {sizeof(struct fuse_lk_in), FSP_TAIL_NONE, false, false},
        fsp_vol_setlk, fsp_vol_result_complete, NULL, NULL, NULL, false,
        fsp_describe_setlk},
    [FUSE_SETLKW] = {"SETLKW",
        {sizeof(struct fuse_lk_in), FSP_TAIL_NONE, false, false},
        fsp_vol_setlk, fsp_vol_result_complete, NULL, NULL, NULL, false,
        fsp_describe_setlkw},
    [FUSE_ACCESS] = {"ACCESS",
        {sizeof(struct fuse_access_in), FSP_TAIL_NONE, false, false},
        NULL, NULL, NULL, NULL, NULL, false,
        fsp_describe_access},
    [FUSE_CREATE] = {"CREATE",
        {sizeof(struct fuse_create_in), FSP_TAIL_NAME, false, false},
        fsp_vol_create, fsp_vol_create_complete,
        fsp_encode_create, fsp_undo_create, NULL, false,
        fsp_describe_create},
    /* No reply, except EAGAIN while the interrupted request is unknown;
     * an ENOSYS reply would turn interrupts off for good. */
    [FUSE_INTERRUPT] = {"INTERRUPT",
        {sizeof(struct fuse_interrupt_in), FSP_TAIL_NONE, NO_REPLY, false},
        fsp_dispatch_interrupt, NULL, NULL, NULL, NULL, false,
        fsp_describe_interrupt},
    /* Only fuseblk mounts (a block device behind the volume) send BMAP;
     * fsp mounts plain fuse, so it never comes: ENOSYS (fc->no_bmap). */
    [FUSE_BMAP] = {"BMAP",
        {sizeof(struct fuse_bmap_in), FSP_TAIL_NONE, false, false},
        NULL, NULL, NULL, NULL, NULL, false,
        fsp_describe_bmap},
    [FUSE_DESTROY] = {"DESTROY", {0, FSP_TAIL_NONE, false, false},
        fsp_vol_destroy, NULL, NULL, NULL, NULL, false,
        fsp_describe_destroy},
    [FUSE_IOCTL] = {"IOCTL",
        {sizeof(struct fuse_ioctl_in), FSP_TAIL_IOCTL, false, false},
        fsp_vol_ioctl, fsp_vol_ioctl_complete,
        fsp_encode_data, NULL, NULL, true,
        fsp_describe_ioctl},
    [FUSE_POLL] = {"POLL",
        {sizeof(struct fuse_poll_in), FSP_TAIL_NONE, false, false},
        fsp_vol_poll, fsp_vol_poll_complete,
        fsp_encode_poll, NULL, NULL, false,
        fsp_describe_poll},
    /* The kernel's answer to our FUSE_NOTIFY_RETRIEVE; it waits for no
     * reply (libfuse sends none either). */
    [FUSE_NOTIFY_REPLY] = {"NOTIFY_REPLY",
        {sizeof(struct fuse_notify_retrieve_in), FSP_TAIL_RETRIEVE,
         NO_REPLY, false},
        fsp_vol_notify_reply, NULL, NULL, NULL, NULL, false,
        fsp_describe_notify_reply},
    [FUSE_BATCH_FORGET] = {"BATCH_FORGET",
        {sizeof(struct fuse_batch_forget_in), FSP_TAIL_FORGETS, NO_REPLY,
         false},
        fsp_vol_batch_forget, NULL, NULL, NULL, NULL, false,
        fsp_describe_batch_forget},
    [FUSE_FALLOCATE] = {"FALLOCATE",
        {sizeof(struct fuse_fallocate_in), FSP_TAIL_NONE, false, false},
        fsp_vol_fallocate, fsp_vol_fallocate_complete,
        NULL, NULL, NULL, false,
        fsp_describe_fallocate},
    [FUSE_READDIRPLUS] = {"READDIRPLUS",
        {sizeof(struct fuse_read_in), FSP_TAIL_NONE, false, false},
        fsp_vol_readdirplus, fsp_vol_readdir_complete, fsp_encode_data,
        fsp_undo_direntplus, NULL, true,
        fsp_describe_readdirplus},
    [FUSE_RENAME2] = {"RENAME2",
        {sizeof(struct fuse_rename2_in), FSP_TAIL_TWO_NAMES, false, false},
        fsp_vol_rename2, fsp_vol_rename_complete, NULL, NULL, NULL, false,
        fsp_describe_rename2},
    /* SEEK_DATA and SEEK_HOLE only; ENOSYS lets the kernel answer. */
    [FUSE_LSEEK] = {"LSEEK",
        {sizeof(struct fuse_lseek_in), FSP_TAIL_NONE, false, false},
        fsp_vol_lseek, fsp_vol_lseek_complete,
        fsp_encode_lseek, NULL, NULL, false,
        fsp_describe_lseek},
    /* Replies a fuse_write_out; the _64 form below a 64-bit count. */
    [FUSE_COPY_FILE_RANGE] = {"COPY_FILE_RANGE",
        {sizeof(struct fuse_copy_file_range_in), FSP_TAIL_NONE, false,
         false},
        fsp_vol_copy_file_range, fsp_vol_copy_file_range_complete,
        fsp_encode_copy_file_range, NULL, NULL, false,
        fsp_describe_copy_file_range},
    /* DAX window management: only virtiofs sends these. */
    [FUSE_SETUPMAPPING] = {"SETUPMAPPING",
        {sizeof(struct fuse_setupmapping_in), FSP_TAIL_NONE, false,
         NOT_DECODED},
        NULL, NULL, NULL, NULL, NULL, false,
        fsp_describe_setupmapping},
    [FUSE_REMOVEMAPPING] = {"REMOVEMAPPING",
        {sizeof(struct fuse_removemapping_in), FSP_TAIL_NONE, false,
         NOT_DECODED},
        NULL, NULL, NULL, NULL, NULL, false,
        fsp_describe_removemapping},
    [FUSE_SYNCFS] = {"SYNCFS",
        {sizeof(struct fuse_syncfs_in), FSP_TAIL_NONE, false, false},
        fsp_vol_syncfs, fsp_vol_result_complete, NULL, NULL, NULL, false,
        fsp_describe_syncfs},
    /* CREATE's reply, for a file with no name. */
    [FUSE_TMPFILE] = {"TMPFILE",
        {sizeof(struct fuse_create_in), FSP_TAIL_NAME, false, false},
        fsp_vol_tmpfile, fsp_vol_tmpfile_complete,
        fsp_encode_create, fsp_undo_create, NULL, false,
        fsp_describe_tmpfile},
    [FUSE_STATX] = {"STATX",
        {sizeof(struct fuse_statx_in), FSP_TAIL_NONE, false, false},
        fsp_vol_statx, fsp_vol_statx_complete,
        fsp_encode_statx, NULL, NULL, false,
        fsp_describe_statx},
    [FUSE_COPY_FILE_RANGE_64] = {"COPY_FILE_RANGE_64",
        {sizeof(struct fuse_copy_file_range_in), FSP_TAIL_NONE, false,
         false},
        fsp_vol_copy_file_range, fsp_vol_copy_file_range_complete,
        fsp_encode_copy_file_range, NULL, NULL, false,
        fsp_describe_copy_file_range_64},
};

#define OPCODE_COUNT (sizeof op_table / sizeof op_table[0])

const struct fsp_op *fsp_op_of(uint32_t opcode)
{
    if (opcode >= OPCODE_COUNT || op_table[opcode].name == NULL)
        return NULL;
    return &op_table[opcode];
}

const struct fsp_wire_shape *fsp_op_shape(uint32_t opcode)
{
    const struct fsp_op *op = fsp_op_of(opcode);

    return op ? &op->shape : NULL;
}

int fsp_op_decode(const void *buf, size_t len, uint32_t minor,
                  struct fsp_request *req)
{
    return fsp_proto_decode(buf, len, minor, fsp_op_shape, req);
}

bool fsp_op_has_reply(uint32_t opcode)
{
    const struct fsp_op *op = fsp_op_of(opcode);

    return op == NULL || !op->shape.no_reply;
}

char *fsp_op_describe(const struct fsp_request *req, char *buf, size_t size)
{
    const struct fsp_op *op;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (!req || !req->hdr)
        return buf;
    op = fsp_op_of(req->opcode);
    if (!op)
        snprintf(buf, size, "len=%u", (unsigned)req->hdr->len);
    else if (!op->shape.not_decoded &&
             !fsp_proto_args_decoded(&op->shape, req))
        snprintf(buf, size, "(undecoded)");
    else
        op->describe(req, buf, size);
    return buf;
}

const char *fsp_op_name(uint32_t opcode)
{
    const struct fsp_op *op = fsp_op_of(opcode);

    if (op)
        return op->name;
    if (opcode == CUSE_INIT)
        return "CUSE_INIT";
    return NULL;
}
