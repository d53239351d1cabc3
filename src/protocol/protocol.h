/*
 * protocol.h - the FUSE wire protocol: decoding requests, encoding replies.
 *
 * Layer 2 of fsp (see docs/ARCHITECTURE.md). Pure functions: no I/O, no
 * allocation, no global state, so every one of them can be unit-tested and
 * fuzzed. The kernel's ABI itself (structs and constants up to protocol
 * 7.45) lives in fuse_abi.h.
 */
#ifndef FSP_PROTOCOL_H
#define FSP_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsp/fsp.h"
#include "fuse_abi.h"

/*
 * A decoded request. Every pointer points into the buffer given to
 * fsp_proto_decode() and every length has been checked against it.
 */
struct fsp_request {
    const struct fuse_in_header *hdr; /* never NULL after a decode */
    uint32_t opcode;
    uint64_t unique;
    uint64_t nodeid;
    const void *arg;       /* the opcode's fixed-size struct, or NULL */
    uint32_t arg_size;     /* its size as the protocol version defines it */
    const char *name;      /* first NUL-terminated name: LOOKUP, MKDIR,
                              MKNOD, CREATE, UNLINK, RMDIR, RENAME(2) old,
                              LINK new, SYMLINK link name, *XATTR name */
    const char *name2;     /* second name: RENAME(2) new name, SYMLINK
                              target */
    const void *data;      /* WRITE data, SETXATTR value, IOCTL input */
    uint32_t data_size;
};

/* What follows an opcode's fixed-size argument on the wire. */
enum fsp_wire_tail {
    FSP_TAIL_NONE,      /* nothing (bytes beyond are ignored) */
    FSP_TAIL_NAME,      /* one NUL-terminated name */
    FSP_TAIL_TWO_NAMES, /* two NUL-terminated names */
    FSP_TAIL_WRITE,     /* fuse_write_in.size bytes of data */
    FSP_TAIL_XATTR,     /* a name, then fuse_setxattr_in.size bytes */
    FSP_TAIL_IOCTL,     /* fuse_ioctl_in.in_size bytes of input */
    FSP_TAIL_RETRIEVE,  /* fuse_notify_retrieve_in.size bytes of data */
    FSP_TAIL_FORGETS,   /* fuse_batch_forget_in.count fuse_forget_one */
};

/*
 * How one opcode's request is laid out after its header: a column of the
 * opcode table (src/dispatch/op_table.c), which says it for every opcode.
 */
struct fsp_wire_shape {
    uint16_t arg_size;     /* fixed-size argument in protocol 7.45; 0: none */
    uint8_t tail;          /* enum fsp_wire_tail */
    bool no_reply;         /* the kernel expects no reply */
    bool not_decoded;      /* known by name, never served: -ENOSYS */
};

/* The shape of @opcode's requests, or NULL for an opcode without one. */
typedef const struct fsp_wire_shape *fsp_wire_shape_of(uint32_t opcode);

/*
 * Decode one request of @len bytes read from the channel, laid out as
 * @shape_of says for its opcode. On success @req describes it. Returns:
 *   0        the request is well formed
 *   -EINVAL  the header is too short or its len field disagrees with @len;
 *            req->hdr is NULL and no reply can be sent
 *   -EPROTO  the header is sane (req->hdr, opcode and unique are set) but
 *            the body is truncated or a name is not NUL-terminated: reply
 *            with an error
 *   -ENOSYS  an opcode without a shape, or not decoded (req->hdr, opcode,
 *            unique set): reply ENOSYS
 * @minor is the negotiated protocol minor version (0 before INIT), which
 * decides the size of some structs (e.g. fuse_init_in), or'ed with
 * FSP_PROTO_SETXATTR_EXT once FUSE_SETXATTR_EXT was negotiated (SETXATTR
 * then carries the 16-byte fuse_setxattr_in).
 */
#define FSP_PROTO_SETXATTR_EXT (1u << 31)
#define FSP_PROTO_MINOR_MASK 0xffffu
int fsp_proto_decode(const void *buf, size_t len, uint32_t minor,
                     fsp_wire_shape_of *shape_of, struct fsp_request *req);

/*
 * Did @req's arguments decode, as @shape lays them out? False if
 * fsp_proto_decode() left only the header (a failed decode), or for an
 * opcode without a shape or not decoded; true for one without arguments.
 * @req must have a header.
 */
bool fsp_proto_args_decoded(const struct fsp_wire_shape *shape,
                            const struct fsp_request *req);

/* What the volume wants from INIT. */
struct fsp_init_config {
    uint32_t max_write;           /* bytes, <= 1 MiB */
    uint32_t max_readahead;       /* bytes */
    uint16_t max_background;
    uint16_t congestion_threshold;
    uint32_t time_gran;           /* 1 for nanosecond timestamps */
    bool writeback_cache;
    bool readdirplus;             /* DO_READDIRPLUS + READDIRPLUS_AUTO */
    bool posix_locks;
    bool flock_locks;
    bool no_open_support;
    bool no_opendir_support;
    bool no_atomic_o_trunc;       /* leave FUSE_ATOMIC_O_TRUNC off */
    bool cache_symlinks;
    bool parallel_dirops;
    bool passthrough;             /* FUSE_PASSTHROUGH; needs privileges */
    bool over_io_uring;           /* FUSE_OVER_IO_URING */
    uint32_t max_stack_depth;     /* with passthrough */
    bool handle_killpriv_v2;      /* the fs kills suid/sgid (SB_NOSEC) */
    /* FUSE_POSIX_ACL, with FUSE_DONT_MASK (the volume applies the umask)
     * and FUSE_SETXATTR_EXT (for FUSE_SETXATTR_ACL_KILL_SGID). */
    bool posix_acl;
    uint16_t request_timeout_s;   /* FUSE_REQUEST_TIMEOUT; 0: none */
    bool allow_idmap;             /* FUSE_ALLOW_IDMAP; needs the mount's
                                     default_permissions */
};

/*
 * Negotiate INIT: fill @out (zeroed first) from the kernel's @in and what
 * the volume wants in @cfg. Capabilities the kernel does not offer are left
 * off. The major version must be 7; a kernel with a newer minor gets ours
 * (FUSE_KERNEL_MINOR_VERSION), an older one its own.
 * Returns 0, or -EPROTO for an unsupported major version (out->major is
 * still set to 7 so the reply tells the kernel what we speak).
 * @in_size is the size of the INIT body actually received (older kernels
 * send a shorter fuse_init_in without flags2).
 * @negotiated_flags receives the 64-bit flag set in effect.
 */
int fsp_proto_negotiate_init(const struct fuse_init_in *in, size_t in_size,
                             const struct fsp_init_config *cfg,
                             struct fuse_init_out *out,
                             uint64_t *negotiated_flags);

/* Convert a timeout in ms (0 = none, FSP_TIMEOUT_INFINITE = forever) to
 * the protocol's seconds + nanoseconds. */
void fsp_proto_timeout(int64_t ms, uint64_t *sec, uint32_t *nsec);

/* Fill a fuse_attr from the file system's file info. index_number 0 means
 * "use the node id" as st_ino. blksize 4096. */
void fsp_proto_fill_attr(struct fuse_attr *attr, const fsp_file_info_t *info,
                         uint64_t nodeid);

/*
 * Append one entry to a READDIR reply buffer that holds @used bytes of
 * @size. Returns the new used size, or 0 if the entry does not fit.
 * @type is the file type from mode (S_IFMT bits), converted to DT_*.
 */
size_t fsp_proto_add_dirent(void *buf, size_t size, size_t used,
                            const char *name, uint64_t ino, uint32_t mode,
                            uint64_t off);

/* The same for READDIRPLUS: entry_out (nodeid, timeouts, attr) + dirent. */
size_t fsp_proto_add_direntplus(void *buf, size_t size, size_t used,
                                const char *name,
                                const struct fuse_entry_out *entry,
                                uint64_t off);

#endif /* FSP_PROTOCOL_H */
