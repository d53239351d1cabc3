/*
 * describe.h - a request's arguments as readable text, for the debug log.
 *
 * Layer 2 of fsp, next to protocol.h: pure functions of a decoded request,
 * no I/O, no allocation, no global mutable state.
 */
#ifndef FSP_DESCRIBE_H
#define FSP_DESCRIBE_H

#include <stddef.h>

#include "protocol.h"

/* The type of every fsp_describe_<opcode>() (a column of the opcode
 * table). */
typedef void fsp_describe_fn(const struct fsp_request *req, char *buf,
                             size_t size);

/**
 * @defgroup fsp_describe The fsp_describe_<opcode>() functions
 *
 * void fsp_describe_<opcode>(const struct fsp_request *req, char *buf,
 *                            size_t size);
 *
 * One for every opcode of the opcode table (src/dispatch/op_table.c, whose
 * describe column names them), named after it in lower case:
 * fsp_describe_lookup() for FUSE_LOOKUP, ...,
 * fsp_describe_copy_file_range_64() for FUSE_COPY_FILE_RANGE_64. @p req is
 * a request of that opcode that fsp_proto_decode() decoded (the table's
 * fsp_op_describe() says "(undecoded)" for one that did not); @p buf holds
 * @p size bytes.
 *
 * Each writes a one-line readable description of the request's arguments
 * into @p buf, items separated by one space, without a leading or trailing
 * space: e.g. "name=\"new.txt\" flags=O_WRONLY|O_CREAT mode=0100644
 * umask=022", "fh=5 off=4096 size=65536". Names are quoted, with quotes,
 * backslashes and unprintable bytes escaped; flags are shown by name, the
 * bits without one as a hex number. Opcodes without arguments to show
 * (READLINK, STATFS, DESTROY, SYNCFS) write an empty string.
 *
 * The text is cut to fit and always NUL-terminated, except that a @p size
 * of 0 leaves @p buf untouched. @p req NULL, or without a header, gives an
 * empty string. Fields beyond the shorter argument of an older protocol
 * minor read as 0. SETUPMAPPING and REMOVEMAPPING, which fsp never
 * decodes, give the request's length: "len=80".
 * @{
 */
void fsp_describe_lookup(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_forget(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_getattr(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_setattr(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_readlink(const struct fsp_request *req, char *buf,
                           size_t size);
void fsp_describe_symlink(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_mknod(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_mkdir(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_unlink(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_rmdir(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_rename(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_link(const struct fsp_request *req, char *buf,
                       size_t size);
void fsp_describe_open(const struct fsp_request *req, char *buf,
                       size_t size);
void fsp_describe_read(const struct fsp_request *req, char *buf,
                       size_t size);
void fsp_describe_write(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_statfs(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_release(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_fsync(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_setxattr(const struct fsp_request *req, char *buf,
                           size_t size);
void fsp_describe_getxattr(const struct fsp_request *req, char *buf,
                           size_t size);
void fsp_describe_listxattr(const struct fsp_request *req, char *buf,
                            size_t size);
void fsp_describe_removexattr(const struct fsp_request *req, char *buf,
                              size_t size);
void fsp_describe_flush(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_init(const struct fsp_request *req, char *buf,
                       size_t size);
void fsp_describe_opendir(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_readdir(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_releasedir(const struct fsp_request *req, char *buf,
                             size_t size);
void fsp_describe_fsyncdir(const struct fsp_request *req, char *buf,
                           size_t size);
void fsp_describe_getlk(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_setlk(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_setlkw(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_access(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_create(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_interrupt(const struct fsp_request *req, char *buf,
                            size_t size);
void fsp_describe_bmap(const struct fsp_request *req, char *buf,
                       size_t size);
void fsp_describe_destroy(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_ioctl(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_poll(const struct fsp_request *req, char *buf,
                       size_t size);
void fsp_describe_notify_reply(const struct fsp_request *req, char *buf,
                               size_t size);
void fsp_describe_batch_forget(const struct fsp_request *req, char *buf,
                               size_t size);
void fsp_describe_fallocate(const struct fsp_request *req, char *buf,
                            size_t size);
void fsp_describe_readdirplus(const struct fsp_request *req, char *buf,
                              size_t size);
void fsp_describe_rename2(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_lseek(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_copy_file_range(const struct fsp_request *req, char *buf,
                                  size_t size);
void fsp_describe_setupmapping(const struct fsp_request *req, char *buf,
                               size_t size);
void fsp_describe_removemapping(const struct fsp_request *req, char *buf,
                                size_t size);
void fsp_describe_syncfs(const struct fsp_request *req, char *buf,
                         size_t size);
void fsp_describe_tmpfile(const struct fsp_request *req, char *buf,
                          size_t size);
void fsp_describe_statx(const struct fsp_request *req, char *buf,
                        size_t size);
void fsp_describe_copy_file_range_64(const struct fsp_request *req, char *buf,
                                     size_t size);
/** @} */


#endif /* FSP_DESCRIBE_H */
