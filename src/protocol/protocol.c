/*
 * protocol.c - the FUSE wire protocol: decoding requests, encoding replies.
 *
 * Layer 2 of fsp; the contract is protocol.h. Everything here is a pure
 * function of its arguments: no I/O, no allocation, no global mutable state.
 *
 * How a request is laid out (kernel fs/fuse/dev.c copies the arguments one
 * after another, without padding):
 *
 *   fuse_in_header | fixed-size argument | names and/or data | extensions
 *
 * The one table below, indexed by opcode, says for each opcode which fixed
 * argument it has and what follows it. To support a new opcode, add a row
 * (and a case in format_args_of() for the debug log).
 */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE, O_DIRECT, O_NOATIME, O_PATH */

#include "protocol.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- The opcode table --------------------------------------------------- */

/* What follows an opcode's fixed-size argument. */
enum tail {
    TAIL_NONE,      /* nothing (bytes beyond are ignored) */
    TAIL_NAME,      /* one NUL-terminated name */
    TAIL_TWO_NAMES, /* two NUL-terminated names */
    TAIL_WRITE,     /* fuse_write_in.size bytes of data */
    TAIL_XATTR,     /* a name, then fuse_setxattr_in.size bytes of value */
    TAIL_IOCTL,     /* fuse_ioctl_in.in_size bytes of input */
    TAIL_RETRIEVE,  /* fuse_notify_retrieve_in.size bytes of data */
    TAIL_FORGETS,   /* fuse_batch_forget_in.count struct fuse_forget_one */
};

struct opcode_info {
    const char *name;  /* for the debug log */
    uint16_t arg_size; /* fixed-size argument in protocol 7.45; 0 if none */
    uint8_t tail;      /* enum tail */
    bool no_reply;     /* the kernel expects no reply */
    bool not_decoded;  /* known by name, but fsp never serves it: -ENOSYS */
};

#define ARG(type) ((uint16_t)sizeof(struct type))
/* One row: opcode, fixed argument size, what follows, other fields. */
#define OP(op, size, tail_, ...)                                        \
    [FUSE_##op] = {.name = #op, .arg_size = (size), .tail = (tail_),    \
                   __VA_ARGS__}

static const struct opcode_info opcode_table[] = {
    OP(LOOKUP, 0, TAIL_NAME),
    OP(FORGET, ARG(fuse_forget_in), TAIL_NONE, .no_reply = true),
    OP(GETATTR, ARG(fuse_getattr_in), TAIL_NONE),
    OP(SETATTR, ARG(fuse_setattr_in), TAIL_NONE),
    OP(READLINK, 0, TAIL_NONE),
    /* The link's own name first, then its target (kernel fuse_symlink). */
    OP(SYMLINK, 0, TAIL_TWO_NAMES),
    OP(MKNOD, ARG(fuse_mknod_in), TAIL_NAME),
    OP(MKDIR, ARG(fuse_mkdir_in), TAIL_NAME),
    OP(UNLINK, 0, TAIL_NAME),
    OP(RMDIR, 0, TAIL_NAME),
    OP(RENAME, ARG(fuse_rename_in), TAIL_TWO_NAMES),
    OP(LINK, ARG(fuse_link_in), TAIL_NAME),
    OP(OPEN, ARG(fuse_open_in), TAIL_NONE),
    OP(READ, ARG(fuse_read_in), TAIL_NONE),
    OP(WRITE, ARG(fuse_write_in), TAIL_WRITE),
    OP(STATFS, 0, TAIL_NONE),
    OP(RELEASE, ARG(fuse_release_in), TAIL_NONE),
    OP(FSYNC, ARG(fuse_fsync_in), TAIL_NONE),
    /* Always the 8-byte form: see compat_arg_size(). */
    OP(SETXATTR, FUSE_COMPAT_SETXATTR_IN_SIZE, TAIL_XATTR),
    OP(GETXATTR, ARG(fuse_getxattr_in), TAIL_NAME),
    OP(LISTXATTR, ARG(fuse_getxattr_in), TAIL_NONE),
    OP(REMOVEXATTR, 0, TAIL_NAME),
    OP(FLUSH, ARG(fuse_flush_in), TAIL_NONE),
    /* Variable size: see decode_body(). */
    OP(INIT, ARG(fuse_init_in), TAIL_NONE),
    OP(OPENDIR, ARG(fuse_open_in), TAIL_NONE),
    OP(READDIR, ARG(fuse_read_in), TAIL_NONE),
    OP(RELEASEDIR, ARG(fuse_release_in), TAIL_NONE),
    OP(FSYNCDIR, ARG(fuse_fsync_in), TAIL_NONE),
    OP(GETLK, ARG(fuse_lk_in), TAIL_NONE),
    OP(SETLK, ARG(fuse_lk_in), TAIL_NONE),
    OP(SETLKW, ARG(fuse_lk_in), TAIL_NONE),
    OP(ACCESS, ARG(fuse_access_in), TAIL_NONE),
    OP(CREATE, ARG(fuse_create_in), TAIL_NAME),
    /* No reply, except EAGAIN while the interrupted request is unknown;
     * an ENOSYS reply would turn interrupts off for good. */
    OP(INTERRUPT, ARG(fuse_interrupt_in), TAIL_NONE, .no_reply = true),
    OP(BMAP, ARG(fuse_bmap_in), TAIL_NONE),
    OP(DESTROY, 0, TAIL_NONE),
    OP(IOCTL, ARG(fuse_ioctl_in), TAIL_IOCTL),
    OP(POLL, ARG(fuse_poll_in), TAIL_NONE),
    /* The kernel's answer to our FUSE_NOTIFY_RETRIEVE; it waits for no
     * reply (libfuse sends none either). */
    OP(NOTIFY_REPLY, ARG(fuse_notify_retrieve_in), TAIL_RETRIEVE,
       .no_reply = true),
    OP(BATCH_FORGET, ARG(fuse_batch_forget_in), TAIL_FORGETS,
       .no_reply = true),
    OP(FALLOCATE, ARG(fuse_fallocate_in), TAIL_NONE),
    OP(READDIRPLUS, ARG(fuse_read_in), TAIL_NONE),
    OP(RENAME2, ARG(fuse_rename2_in), TAIL_TWO_NAMES),
    OP(LSEEK, ARG(fuse_lseek_in), TAIL_NONE),
    OP(COPY_FILE_RANGE, ARG(fuse_copy_file_range_in), TAIL_NONE),
    /* DAX window management: only virtiofs sends these. */
    OP(SETUPMAPPING, ARG(fuse_setupmapping_in), TAIL_NONE,
       .not_decoded = true),
    OP(REMOVEMAPPING, ARG(fuse_removemapping_in), TAIL_NONE,
       .not_decoded = true),
    OP(SYNCFS, ARG(fuse_syncfs_in), TAIL_NONE),
    OP(TMPFILE, ARG(fuse_create_in), TAIL_NAME),
    OP(STATX, ARG(fuse_statx_in), TAIL_NONE),
    OP(COPY_FILE_RANGE_64, ARG(fuse_copy_file_range_in), TAIL_NONE),
};

#undef OP
#undef ARG

#define OPCODE_COUNT (sizeof(opcode_table) / sizeof(opcode_table[0]))

/* The row for @opcode, or NULL if the opcode has none. */
static const struct opcode_info *opcode_info(uint32_t opcode)
{
    if (opcode >= OPCODE_COUNT || opcode_table[opcode].name == NULL)
        return NULL;
    return &opcode_table[opcode];
}

bool fsp_proto_has_reply(uint32_t opcode)
{
    const struct opcode_info *op = opcode_info(opcode);

    /* Unknown opcodes are answered with ENOSYS. */
    return op == NULL || !op->no_reply;
}

const char *fsp_proto_opcode_name(uint32_t opcode)
{
    const struct opcode_info *op = opcode_info(opcode);

    if (op != NULL)
        return op->name;
    if (opcode == CUSE_INIT)
        return "CUSE_INIT";
    return NULL;
}

/* ---- Decoding ----------------------------------------------------------- */

/* Kernels before 7.36 send fuse_init_in only up to and including flags. */
#define INIT_IN_MIN_SIZE offsetof(struct fuse_init_in, flags2)

/* Sizes of arguments in protocol minors older than 7.9 and 7.12. */
#define COMPAT_READ_IN_SIZE 24 /* fuse_read_in up to read_flags */

/*
 * The size of @opcode's fixed argument in protocol 7.@minor, given its
 * current size @size. Arguments that grew since 7.0 were shorter before.
 */
static uint32_t compat_arg_size(uint32_t opcode, uint32_t minor,
                                uint32_t size)
{
    switch (opcode) {
    case FUSE_GETATTR:
        return minor < 9 ? 0 : size;
    case FUSE_READ:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
        return minor < 9 ? COMPAT_READ_IN_SIZE : size;
    case FUSE_WRITE:
        return minor < 9 ? FUSE_COMPAT_WRITE_IN_SIZE : size;
    case FUSE_MKNOD:
        return minor < 12 ? FUSE_COMPAT_MKNOD_IN_SIZE : size;
    case FUSE_CREATE:
        /* Before 7.12, CREATE carried a bare fuse_open_in. */
        return minor < 12 ? sizeof(struct fuse_open_in) : size;
    default:
        /*
         * SETXATTR is always the 8-byte form here: the 16-byte form needs
         * FUSE_SETXATTR_EXT, which fsp_proto_negotiate_init() never asks
         * for (decode only knows the minor, not the flags).
         */
        return size;
    }
}

/* The unread part of a request body. */
struct cursor {
    const char *pos;
    size_t left;
};

/* Take @size bytes; NULL if fewer are left. */
static const void *take(struct cursor *cur, size_t size)
{
    const void *p = cur->pos;

    if (size > cur->left)
        return NULL;
    cur->pos += size;
    cur->left -= size;
    return p;
}

/* Take a NUL-terminated string; NULL if there is no NUL before the end. */
static const char *take_name(struct cursor *cur)
{
    const char *nul = memchr(cur->pos, '\0', cur->left);

    if (nul == NULL)
        return NULL;
    return take(cur, (size_t)(nul - cur->pos) + 1);
}

/* Take @size bytes of data into req->data; -EPROTO if fewer are left. */
static int take_data(struct cursor *cur, uint64_t size,
                     struct fsp_request *req)
{
    if (size > cur->left)
        return -EPROTO;
    req->data = take(cur, (size_t)size);
    req->data_size = (uint32_t)size;
    return 0;
}

/* Decode what follows the header, per @op's row. */
static int decode_body(const struct opcode_info *op, uint32_t minor,
                       struct cursor *cur, struct fsp_request *req)
{
    size_t arg_size;

    if (req->opcode == FUSE_INIT) {
        /* Older kernels send less than sizeof(fuse_init_in); a newer one
         * might send more, of which we know only our part. */
        if (cur->left < INIT_IN_MIN_SIZE)
            return -EPROTO;
        arg_size = cur->left < op->arg_size ? cur->left : op->arg_size;
    } else {
        arg_size = compat_arg_size(req->opcode, minor, op->arg_size);
    }
    if (arg_size > 0) {
        req->arg = take(cur, arg_size);
        if (req->arg == NULL)
            return -EPROTO;
        req->arg_size = (uint32_t)arg_size;
    }

    /* Every field read below lies within even the oldest arg_size. */
    switch ((enum tail)op->tail) {
    case TAIL_NONE:
        return 0;
    case TAIL_NAME:
        req->name = take_name(cur);
        return req->name != NULL ? 0 : -EPROTO;
    case TAIL_TWO_NAMES:
        req->name = take_name(cur);
        if (req->name == NULL)
            return -EPROTO;
        req->name2 = take_name(cur);
        return req->name2 != NULL ? 0 : -EPROTO;
    case TAIL_WRITE: {
        const struct fuse_write_in *in = req->arg;

        return take_data(cur, in->size, req);
    }
    case TAIL_XATTR: {
        const struct fuse_setxattr_in *in = req->arg;

        req->name = take_name(cur);
        if (req->name == NULL)
            return -EPROTO;
        return take_data(cur, in->size, req);
    }
    case TAIL_IOCTL: {
        const struct fuse_ioctl_in *in = req->arg;

        return take_data(cur, in->in_size, req);
    }
    case TAIL_RETRIEVE: {
        const struct fuse_notify_retrieve_in *in = req->arg;

        return take_data(cur, in->size, req);
    }
    case TAIL_FORGETS: {
        const struct fuse_batch_forget_in *in = req->arg;

        /* 64-bit arithmetic: count * 16 cannot overflow it. */
        return take_data(cur,
                         (uint64_t)in->count * sizeof(struct fuse_forget_one),
                         req);
    }
    }
    return -EPROTO; /* not reached: every tail is handled above */
}

int fsp_proto_decode(const void *buf, size_t len, uint32_t minor,
                     struct fsp_request *req)
{
    const struct fuse_in_header *hdr = buf;
    const struct opcode_info *op;
    struct cursor cur;
    size_t ext_size;
    int err;

    memset(req, 0, sizeof(*req));
    /* The structs are read in place, so the buffer must be aligned as they
     * are (any malloc'ed or page-aligned read buffer is). */
    if (buf == NULL || len < sizeof(*hdr) ||
        (uintptr_t)buf % _Alignof(struct fuse_in_header) != 0)
        return -EINVAL;
    if (hdr->len != len)
        return -EINVAL;

    req->hdr = hdr;
    req->opcode = hdr->opcode;
    req->unique = hdr->unique;
    req->nodeid = hdr->nodeid;

    op = opcode_info(hdr->opcode);
    if (op == NULL || op->not_decoded)
        return -ENOSYS;

    cur.pos = (const char *)buf + sizeof(*hdr);
    cur.left = len - sizeof(*hdr);

    /* Extensions (security context, supplementary groups) sit at the very
     * end; fsp negotiates none of them, but a body never reaches into them. */
    ext_size = (size_t)hdr->total_extlen * 8;
    if (ext_size > cur.left)
        return -EPROTO;
    cur.left -= ext_size;

    err = decode_body(op, minor, &cur, req);
    if (err) {
        /* Leave only the header fields, as protocol.h promises. */
        req->arg = NULL;
        req->arg_size = 0;
        req->name = NULL;
        req->name2 = NULL;
        req->data = NULL;
        req->data_size = 0;
    }
    return err;
}

bool fsp_proto_args_decoded(const struct fsp_request *req)
{
    const struct opcode_info *op = opcode_info(req->opcode);

    if (op == NULL || op->not_decoded)
        return false;
    /* GETATTR had no argument before 7.9. */
    if (op->arg_size > 0 && req->arg == NULL && req->opcode != FUSE_GETATTR)
        return false;
    switch ((enum tail)op->tail) {
    case TAIL_NAME:
    case TAIL_XATTR:
        return req->name != NULL;
    case TAIL_TWO_NAMES:
        return req->name != NULL && req->name2 != NULL;
    default:
        return true;
    }
}

/* ---- INIT negotiation --------------------------------------------------- */

#define PAGE_BYTES 4096u            /* the unit of max_pages */
#define MAX_WRITE_LIMIT (1u << 20)  /* 1 MiB: the kernel's 256-page limit */
#define MIN_WRITE_LIMIT 4096u       /* the kernel's own floor */
#define OLD_KERNEL_MAX_PAGES 32u    /* without FUSE_MAX_PAGES */
#define MAX_STACK_DEPTH_LIMIT 2u    /* FILESYSTEM_MAX_STACK_DEPTH */

/*
 * What fsp always asks for, when the kernel offers it. Deliberately off:
 * FUSE_DONT_MASK (the kernel applies the umask), FUSE_EXPORT_SUPPORT (no
 * lookups of "." and ".."), FUSE_SPLICE_* (plain read/write), the
 * HANDLE_KILLPRIV pair (the kernel clears suid/sgid; V2 only on request,
 * see fsp_init_config), FUSE_SETXATTR_EXT
 * (see compat_arg_size()), FUSE_SECURITY_CTX and FUSE_CREATE_SUPP_GROUP
 * (no request extensions), FUSE_ABORT_ERROR (an aborted connection must
 * read as ENODEV, which stops the dispatcher), FUSE_POSIX_ACL,
 * FUSE_EXPLICIT_INVAL_DATA (we want AUTO_INVAL_DATA).
 * FUSE_HAS_EXPIRE_ONLY and FUSE_HAS_RESEND only say what the kernel can
 * do; they are echoed so that the negotiated flags tell the volume.
 * FUSE_NO_EXPORT_SUPPORT: node ids do not survive a restart, so NFS
 * export and open_by_handle_at() are refused rather than going stale.
 */
#define ALWAYS_WANTED                                                        \
    ((uint64_t)FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |    \
     FUSE_AUTO_INVAL_DATA | FUSE_ASYNC_DIO | FUSE_MAX_PAGES |               \
     FUSE_INIT_EXT | FUSE_NO_EXPORT_SUPPORT | FUSE_HAS_EXPIRE_ONLY |        \
     FUSE_HAS_RESEND)

static uint64_t wanted_init_flags(const struct fsp_init_config *cfg)
{
    uint64_t want = ALWAYS_WANTED;

    if (cfg->writeback_cache)
        want |= FUSE_WRITEBACK_CACHE;
    if (cfg->readdirplus)
        want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
    if (cfg->posix_locks)
        want |= FUSE_POSIX_LOCKS;
    if (cfg->flock_locks)
        want |= FUSE_FLOCK_LOCKS;
    if (cfg->no_open_support)
        want |= FUSE_NO_OPEN_SUPPORT;
    if (cfg->no_opendir_support)
        want |= FUSE_NO_OPENDIR_SUPPORT;
    if (cfg->cache_symlinks)
        want |= FUSE_CACHE_SYMLINKS;
    if (cfg->no_atomic_o_trunc)
        want &= ~(uint64_t)FUSE_ATOMIC_O_TRUNC;
    if (cfg->parallel_dirops)
        want |= FUSE_PARALLEL_DIROPS;
    if (cfg->passthrough)
        want |= FUSE_PASSTHROUGH;
    if (cfg->over_io_uring)
        want |= FUSE_OVER_IO_URING;
    if (cfg->handle_killpriv_v2)
        want |= FUSE_HANDLE_KILLPRIV_V2;
    return want;
}

/* The kernel's offer as one 64-bit set. flags2 exists only in the long
 * form of fuse_init_in and counts only with FUSE_INIT_EXT. */
static uint64_t offered_init_flags(const struct fuse_init_in *in,
                                   size_t in_size)
{
    uint64_t offered = in->flags;

    if ((in->flags & FUSE_INIT_EXT) &&
        in_size >= offsetof(struct fuse_init_in, flags2) + sizeof(in->flags2))
        offered |= (uint64_t)in->flags2 << 32;
    return offered;
}

static uint32_t negotiated_max_write(const struct fsp_init_config *cfg,
                                     uint64_t flags)
{
    uint32_t max_write = cfg->max_write ? cfg->max_write : MAX_WRITE_LIMIT;

    if (max_write > MAX_WRITE_LIMIT)
        max_write = MAX_WRITE_LIMIT;
    if (max_write < MIN_WRITE_LIMIT)
        max_write = MIN_WRITE_LIMIT;
    /* Without FUSE_MAX_PAGES the kernel never sends more than 32 pages. */
    if (!(flags & FUSE_MAX_PAGES) &&
        max_write > OLD_KERNEL_MAX_PAGES * PAGE_BYTES)
        max_write = OLD_KERNEL_MAX_PAGES * PAGE_BYTES;
    return max_write;
}

int fsp_proto_negotiate_init(const struct fuse_init_in *in, size_t in_size,
                             const struct fsp_init_config *cfg,
                             struct fuse_init_out *out,
                             uint64_t *negotiated_flags)
{
    uint64_t flags;

    memset(out, 0, sizeof(*out));
    out->major = FUSE_KERNEL_VERSION;
    out->minor = FUSE_KERNEL_MINOR_VERSION;
    *negotiated_flags = 0;

    /*
     * A kernel with another major version: tell it ours (the caller sends
     * @out). A newer major then retries INIT with 7; an older one gives up.
     */
    if (in == NULL || in_size < INIT_IN_MIN_SIZE ||
        in->major != FUSE_KERNEL_VERSION)
        return -EPROTO;
    if (in->minor < out->minor)
        out->minor = in->minor;

    flags = offered_init_flags(in, in_size) & wanted_init_flags(cfg);
    /* The kernel silently refuses passthrough with the writeback cache
     * (fs/fuse/inode.c, process_init_reply); say so in the flags. */
    if (flags & FUSE_WRITEBACK_CACHE)
        flags &= ~FUSE_PASSTHROUGH;

    out->max_readahead = in->max_readahead;
    if (cfg->max_readahead != 0 && cfg->max_readahead < in->max_readahead)
        out->max_readahead = cfg->max_readahead;
    out->max_background = cfg->max_background;
    out->congestion_threshold = cfg->congestion_threshold;
    out->max_write = negotiated_max_write(cfg, flags);
    out->time_gran = cfg->time_gran ? cfg->time_gran : 1;
    if (flags & FUSE_MAX_PAGES)
        out->max_pages =
            (uint16_t)((out->max_write + PAGE_BYTES - 1) / PAGE_BYTES);
    if (flags & FUSE_PASSTHROUGH) {
        /* The kernel refuses passthrough unless 1 <= depth <= 2. */
        out->max_stack_depth = cfg->max_stack_depth;
        if (out->max_stack_depth == 0)
            out->max_stack_depth = 1;
        if (out->max_stack_depth > MAX_STACK_DEPTH_LIMIT)
            out->max_stack_depth = MAX_STACK_DEPTH_LIMIT;
    }

    out->flags = (uint32_t)flags;
    /* Bits 32..63 are only in @flags if the kernel offered FUSE_INIT_EXT
     * in a long fuse_init_in, and then FUSE_INIT_EXT is in @flags too. */
    out->flags2 = (uint32_t)(flags >> 32);
    *negotiated_flags = flags;
    return 0;
}

/* ---- Encoding replies --------------------------------------------------- */

/* Cache "forever": about 136 years. Larger values gain nothing, and the
 * kernel turns entry_valid into a signed time64_t. */
#define TIMEOUT_FOREVER_SEC ((uint64_t)UINT32_MAX)

void fsp_proto_timeout(int64_t ms, uint64_t *sec, uint32_t *nsec)
{
    if (ms < 0) { /* FSP_TIMEOUT_INFINITE, or any negative value */
        *sec = TIMEOUT_FOREVER_SEC;
        *nsec = 0;
        return;
    }
    *sec = (uint64_t)ms / 1000;
    *nsec = (uint32_t)((uint64_t)ms % 1000) * 1000000u;
}

/* Seconds as the kernel reads them (it converts back to signed), and
 * nanoseconds kept within [0, 999999999]. */
static void put_time(const struct timespec *ts, uint64_t *sec, uint32_t *nsec)
{
    *sec = (uint64_t)ts->tv_sec;
    *nsec = ts->tv_nsec < 0 ? 0
            : ts->tv_nsec > 999999999 ? 999999999
                                      : (uint32_t)ts->tv_nsec;
}

void fsp_proto_fill_attr(struct fuse_attr *attr, const fsp_file_info_t *info,
                         uint64_t nodeid)
{
    memset(attr, 0, sizeof(*attr));
    attr->ino = info->index_number != 0 ? info->index_number : nodeid;
    attr->size = info->size;
    /* st_blocks counts 512-byte units, rounded up. */
    attr->blocks = info->allocation_size / 512 +
                   (info->allocation_size % 512 != 0);
    put_time(&info->atime, &attr->atime, &attr->atimensec);
    put_time(&info->mtime, &attr->mtime, &attr->mtimensec);
    put_time(&info->ctime, &attr->ctime, &attr->ctimensec);
    attr->mode = info->mode;
    attr->nlink = info->nlink; /* 0 is true for an unlinked open file */
    attr->uid = info->uid;
    attr->gid = info->gid;
    attr->rdev = info->rdev;
    attr->blksize = 4096;
}

/* The DT_* type of a mode: the S_IFMT bits shifted down, as IFTODT does. */
_Static_assert(DT_DIR == (S_IFDIR >> 12) && DT_REG == (S_IFREG >> 12) &&
                   DT_LNK == (S_IFLNK >> 12),
               "DT_* values are S_IF* >> 12");

static uint32_t dirent_type(uint32_t mode)
{
    return (mode & S_IFMT) >> 12;
}

/*
 * Write one record of @head_size bytes of header (@head) followed by the
 * name, padded with zeros to 8 bytes, at @used. The buffer need not be
 * aligned: the header is copied, never stored through a struct pointer.
 */
static size_t add_record(void *buf, size_t size, size_t used,
                         const void *head, size_t head_size,
                         const char *name, size_t namelen)
{
    size_t rec = FUSE_REC_ALIGN(head_size + namelen);
    char *p;

    if (used > size || rec > size - used)
        return 0;
    p = (char *)buf + used;
    memcpy(p, head, head_size);
    memcpy(p + head_size, name, namelen);
    memset(p + head_size + namelen, 0, rec - head_size - namelen);
    return used + rec;
}

size_t fsp_proto_add_dirent(void *buf, size_t size, size_t used,
                            const char *name, uint64_t ino, uint32_t mode,
                            uint64_t off)
{
    struct fuse_dirent d;
    size_t namelen = strlen(name);

    if (namelen > UINT32_MAX)
        return 0;
    memset(&d, 0, sizeof(d));
    d.ino = ino;
    d.off = off;
    d.namelen = (uint32_t)namelen;
    d.type = dirent_type(mode);
    return add_record(buf, size, used, &d, FUSE_NAME_OFFSET, name, namelen);
}

size_t fsp_proto_add_direntplus(void *buf, size_t size, size_t used,
                                const char *name,
                                const struct fuse_entry_out *entry,
                                uint64_t off)
{
    struct fuse_direntplus d;
    size_t namelen = strlen(name);

    if (namelen > UINT32_MAX)
        return 0;
    memset(&d, 0, sizeof(d));
    d.entry_out = *entry;
    d.dirent.ino = entry->attr.ino;
    d.dirent.off = off;
    d.dirent.namelen = (uint32_t)namelen;
    d.dirent.type = dirent_type(entry->attr.mode);
    return add_record(buf, size, used, &d, FUSE_NAME_OFFSET_DIRENTPLUS, name,
                      namelen);
}

/* ---- Readable arguments for the debug log ------------------------------- */

/* A bounded text buffer: appends never overflow and keep it terminated. */
struct text {
    char *buf;
    size_t size; /* > 0 */
    size_t used; /* < size */
};

static void text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    size_t room = t->size - t->used;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->used, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    t->used += (size_t)n < room ? (size_t)n : room - 1;
}

/* key="name", with quotes, backslashes and unprintable bytes escaped. */
static void text_name(struct text *t, const char *key, const char *name)
{
    text_add(t, " %s=\"", key);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '"' || *p == '\\')
            text_add(t, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            text_add(t, "\\x%02x", *p);
        else
            text_add(t, "%c", *p);
        if (t->used + 1 >= t->size)
            return;
    }
    text_add(t, "\"");
}

struct flag_name {
    uint64_t bits; /* one bit, or several that must all be set */
    const char *name;
};

#define FLAG(x) {(uint64_t)(x), #x}
#define NFLAGS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * NAME|NAME|0x...: the names of the bits set in @value, then the bits
 * without a name as a hex number. @sep goes before the first item.
 */
static void text_bits(struct text *t, uint64_t value,
                      const struct flag_name *names, size_t count,
                      const char *sep)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t bits = names[i].bits;

        if (bits != 0 && (value & bits) == bits) {
            text_add(t, "%s%s", sep, names[i].name);
            value &= ~bits;
            sep = "|";
        }
    }
    if (value != 0)
        text_add(t, "%s0x%" PRIx64, sep, value);
}

/* key=NAME|NAME, or key=0 */
static void text_flags(struct text *t, const char *key, uint64_t value,
                       const struct flag_name *names, size_t count)
{
    text_add(t, " %s=", key);
    if (value == 0)
        text_add(t, "0");
    else
        text_bits(t, value, names, count, "");
}

/* The kernel's O_LARGEFILE (glibc's is 0 on 64-bit hosts); 0 where we do
 * not know it, and the bit is then shown as a number. */
#if defined(__aarch64__) || defined(__arm__)
#define KERNEL_O_LARGEFILE 0400000
#elif defined(__x86_64__) || defined(__i386__) || defined(__riscv)
#define KERNEL_O_LARGEFILE 0100000
#else
#define KERNEL_O_LARGEFILE 0
#endif

/* Multi-bit flags (O_SYNC, O_TMPFILE) come before their parts. */
static const struct flag_name open_flag_names[] = {
    FLAG(O_CREAT),     FLAG(O_EXCL),      FLAG(O_NOCTTY),
    FLAG(O_TRUNC),     FLAG(O_APPEND),    FLAG(O_NONBLOCK),
    FLAG(O_SYNC),      FLAG(O_DSYNC),     FLAG(O_ASYNC),
    FLAG(O_DIRECT),    FLAG(O_TMPFILE),   FLAG(O_DIRECTORY),
    FLAG(O_NOFOLLOW),  FLAG(O_NOATIME),   FLAG(O_CLOEXEC),
    FLAG(O_PATH),      {KERNEL_O_LARGEFILE, "O_LARGEFILE"},
    {040, "FMODE_EXEC"}, /* the kernel's __FMODE_EXEC: opened by execve */
};

/* key=O_RDWR|O_CREAT|... */
static void text_open_flags(struct text *t, const char *key, uint32_t flags)
{
    static const char *const access_names[] = {"O_RDONLY", "O_WRONLY",
                                               "O_RDWR", "O_ACCMODE"};

    text_add(t, " %s=%s", key, access_names[flags & O_ACCMODE]);
    text_bits(t, flags & ~(uint32_t)O_ACCMODE, open_flag_names,
              NFLAGS(open_flag_names), "|");
}

static const struct flag_name setattr_valid_names[] = {
    {FATTR_MODE, "MODE"},       {FATTR_UID, "UID"},
    {FATTR_GID, "GID"},         {FATTR_SIZE, "SIZE"},
    {FATTR_ATIME, "ATIME"},     {FATTR_MTIME, "MTIME"},
    {FATTR_FH, "FH"},           {FATTR_ATIME_NOW, "ATIME_NOW"},
    {FATTR_MTIME_NOW, "MTIME_NOW"}, {FATTR_LOCKOWNER, "LOCKOWNER"},
    {FATTR_CTIME, "CTIME"},     {FATTR_KILL_SUIDGID, "KILL_SUIDGID"},
};

static const struct flag_name rename_flag_names[] = {
    {RENAME_NOREPLACE, "NOREPLACE"},
    {RENAME_EXCHANGE, "EXCHANGE"},
    {RENAME_WHITEOUT, "WHITEOUT"},
};

static const struct flag_name open_in_flag_names[] = {
    {FUSE_OPEN_KILL_SUIDGID, "KILL_SUIDGID"},
};

static const struct flag_name release_flag_names[] = {
    {FUSE_RELEASE_FLUSH, "FLUSH"},
    {FUSE_RELEASE_FLOCK_UNLOCK, "FLOCK_UNLOCK"},
};

static const struct flag_name write_flag_names[] = {
    {FUSE_WRITE_CACHE, "CACHE"},
    {FUSE_WRITE_LOCKOWNER, "LOCKOWNER"},
    {FUSE_WRITE_KILL_SUIDGID, "KILL_SUIDGID"},
};

static const struct flag_name read_flag_names[] = {
    {FUSE_READ_LOCKOWNER, "LOCKOWNER"},
};

static const struct flag_name fsync_flag_names[] = {
    {FUSE_FSYNC_FDATASYNC, "FDATASYNC"},
};

static const struct flag_name xattr_flag_names[] = {
    FLAG(XATTR_CREATE),
    FLAG(XATTR_REPLACE),
};

static const struct flag_name access_mask_names[] = {
    FLAG(R_OK),
    FLAG(W_OK),
    FLAG(X_OK),
};

static const struct flag_name lk_flag_names[] = {
    {FUSE_LK_FLOCK, "FLOCK"},
};

static const struct flag_name getattr_flag_names[] = {
    {FUSE_GETATTR_FH, "FH"},
};

static const struct flag_name ioctl_flag_names[] = {
    {FUSE_IOCTL_COMPAT, "COMPAT"},
    {FUSE_IOCTL_UNRESTRICTED, "UNRESTRICTED"},
    {FUSE_IOCTL_RETRY, "RETRY"},
    {FUSE_IOCTL_32BIT, "32BIT"},
    {FUSE_IOCTL_DIR, "DIR"},
    {FUSE_IOCTL_COMPAT_X32, "COMPAT_X32"},
};

static const struct flag_name poll_flag_names[] = {
    {FUSE_POLL_SCHEDULE_NOTIFY, "SCHEDULE_NOTIFY"},
};

#define INIT_FLAG(x) {FUSE_##x, #x}

static const struct flag_name init_flag_names[] = {
    INIT_FLAG(ASYNC_READ),        INIT_FLAG(POSIX_LOCKS),
    INIT_FLAG(FILE_OPS),          INIT_FLAG(ATOMIC_O_TRUNC),
    INIT_FLAG(EXPORT_SUPPORT),    INIT_FLAG(BIG_WRITES),
    INIT_FLAG(DONT_MASK),         INIT_FLAG(SPLICE_WRITE),
    INIT_FLAG(SPLICE_MOVE),       INIT_FLAG(SPLICE_READ),
    INIT_FLAG(FLOCK_LOCKS),       INIT_FLAG(HAS_IOCTL_DIR),
    INIT_FLAG(AUTO_INVAL_DATA),   INIT_FLAG(DO_READDIRPLUS),
    INIT_FLAG(READDIRPLUS_AUTO),  INIT_FLAG(ASYNC_DIO),
    INIT_FLAG(WRITEBACK_CACHE),   INIT_FLAG(NO_OPEN_SUPPORT),
    INIT_FLAG(PARALLEL_DIROPS),   INIT_FLAG(HANDLE_KILLPRIV),
    INIT_FLAG(POSIX_ACL),         INIT_FLAG(ABORT_ERROR),
    INIT_FLAG(MAX_PAGES),         INIT_FLAG(CACHE_SYMLINKS),
    INIT_FLAG(NO_OPENDIR_SUPPORT), INIT_FLAG(EXPLICIT_INVAL_DATA),
    INIT_FLAG(MAP_ALIGNMENT),     INIT_FLAG(SUBMOUNTS),
    INIT_FLAG(HANDLE_KILLPRIV_V2), INIT_FLAG(SETXATTR_EXT),
    INIT_FLAG(INIT_EXT),          INIT_FLAG(INIT_RESERVED),
    INIT_FLAG(SECURITY_CTX),      INIT_FLAG(HAS_INODE_DAX),
    INIT_FLAG(CREATE_SUPP_GROUP), INIT_FLAG(HAS_EXPIRE_ONLY),
    INIT_FLAG(DIRECT_IO_ALLOW_MMAP), INIT_FLAG(PASSTHROUGH),
    INIT_FLAG(NO_EXPORT_SUPPORT), INIT_FLAG(HAS_RESEND),
    INIT_FLAG(ALLOW_IDMAP),       INIT_FLAG(OVER_IO_URING),
    INIT_FLAG(REQUEST_TIMEOUT),
};

#undef INIT_FLAG

static const char *lock_type_name(uint32_t type)
{
    switch (type) {
    case F_RDLCK: return "F_RDLCK";
    case F_WRLCK: return "F_WRLCK";
    case F_UNLCK: return "F_UNLCK";
    default: return "?";
    }
}

static const char *whence_name(uint32_t whence)
{
    switch (whence) {
    case SEEK_SET: return "SEEK_SET";
    case SEEK_CUR: return "SEEK_CUR";
    case SEEK_END: return "SEEK_END";
    case SEEK_DATA: return "SEEK_DATA";
    case SEEK_HOLE: return "SEEK_HOLE";
    default: return "?";
    }
}

/* Any fixed argument, copied out of the request so that fields beyond an
 * older protocol's shorter struct read as zero instead of past its end. */
union any_arg {
    struct fuse_forget_in forget;
    struct fuse_getattr_in getattr;
    struct fuse_setattr_in setattr;
    struct fuse_mknod_in mknod;
    struct fuse_mkdir_in mkdir;
    struct fuse_rename_in rename;
    struct fuse_rename2_in rename2;
    struct fuse_link_in link;
    struct fuse_open_in open;
    struct fuse_create_in create;
    struct fuse_read_in read;
    struct fuse_write_in write;
    struct fuse_release_in release;
    struct fuse_fsync_in fsync;
    struct fuse_setxattr_in setxattr;
    struct fuse_getxattr_in getxattr;
    struct fuse_flush_in flush;
    struct fuse_init_in init;
    struct fuse_lk_in lk;
    struct fuse_access_in access;
    struct fuse_interrupt_in interrupt;
    struct fuse_bmap_in bmap;
    struct fuse_ioctl_in ioctl;
    struct fuse_poll_in poll;
    struct fuse_notify_retrieve_in retrieve;
    struct fuse_batch_forget_in batch_forget;
    struct fuse_fallocate_in fallocate;
    struct fuse_lseek_in lseek;
    struct fuse_copy_file_range_in copy;
    struct fuse_statx_in statx;
};

static void format_args_of(struct text *t, const struct fsp_request *req,
                           const union any_arg *a)
{
    const char *name = req->name;

    switch (req->opcode) {
    case FUSE_LOOKUP:
    case FUSE_UNLINK:
    case FUSE_RMDIR:
    case FUSE_REMOVEXATTR:
        text_name(t, "name", name);
        break;
    case FUSE_FORGET:
        text_add(t, " nlookup=%" PRIu64, a->forget.nlookup);
        break;
    case FUSE_BATCH_FORGET:
        text_add(t, " count=%" PRIu32, a->batch_forget.count);
        break;
    case FUSE_GETATTR:
        text_flags(t, "flags", a->getattr.getattr_flags, getattr_flag_names,
                   NFLAGS(getattr_flag_names));
        if (a->getattr.getattr_flags & FUSE_GETATTR_FH)
            text_add(t, " fh=%" PRIu64, a->getattr.fh);
        break;
    case FUSE_SETATTR: {
        const struct fuse_setattr_in *s = &a->setattr;

        text_flags(t, "valid", s->valid, setattr_valid_names,
                   NFLAGS(setattr_valid_names));
        if (s->valid & FATTR_MODE)
            text_add(t, " mode=%#o", s->mode);
        if (s->valid & FATTR_UID)
            text_add(t, " uid=%" PRIu32, s->uid);
        if (s->valid & FATTR_GID)
            text_add(t, " gid=%" PRIu32, s->gid);
        if (s->valid & FATTR_SIZE)
            text_add(t, " size=%" PRIu64, s->size);
        if (s->valid & FATTR_ATIME)
            text_add(t, " atime=%" PRId64 ".%09" PRIu32, (int64_t)s->atime,
                     s->atimensec);
        if (s->valid & FATTR_MTIME)
            text_add(t, " mtime=%" PRId64 ".%09" PRIu32, (int64_t)s->mtime,
                     s->mtimensec);
        if (s->valid & FATTR_CTIME)
            text_add(t, " ctime=%" PRId64 ".%09" PRIu32, (int64_t)s->ctime,
                     s->ctimensec);
        if (s->valid & FATTR_FH)
            text_add(t, " fh=%" PRIu64, s->fh);
        if (s->valid & FATTR_LOCKOWNER)
            text_add(t, " lock_owner=%#" PRIx64, s->lock_owner);
        break;
    }
    case FUSE_SYMLINK:
        text_name(t, "name", name);
        text_name(t, "target", req->name2);
        break;
    case FUSE_MKNOD:
        text_name(t, "name", name);
        text_add(t, " mode=%#o rdev=%#" PRIx32 " umask=%#o", a->mknod.mode,
                 a->mknod.rdev, a->mknod.umask);
        break;
    case FUSE_MKDIR:
        text_name(t, "name", name);
        text_add(t, " mode=%#o umask=%#o", a->mkdir.mode, a->mkdir.umask);
        break;
    case FUSE_RENAME:
        text_name(t, "name", name);
        text_add(t, " newdir=%" PRIu64, a->rename.newdir);
        text_name(t, "newname", req->name2);
        break;
    case FUSE_RENAME2:
        text_name(t, "name", name);
        text_add(t, " newdir=%" PRIu64, a->rename2.newdir);
        text_name(t, "newname", req->name2);
        text_flags(t, "flags", a->rename2.flags, rename_flag_names,
                   NFLAGS(rename_flag_names));
        break;
    case FUSE_LINK:
        text_add(t, " oldnodeid=%" PRIu64, a->link.oldnodeid);
        text_name(t, "newname", name);
        break;
    case FUSE_OPEN:
    case FUSE_OPENDIR:
        text_open_flags(t, "flags", a->open.flags);
        if (a->open.open_flags)
            text_flags(t, "open_flags", a->open.open_flags,
                       open_in_flag_names, NFLAGS(open_in_flag_names));
        break;
    case FUSE_CREATE:
    case FUSE_TMPFILE:
        text_name(t, "name", name);
        text_open_flags(t, "flags", a->create.flags);
        text_add(t, " mode=%#o umask=%#o", a->create.mode, a->create.umask);
        if (a->create.open_flags)
            text_flags(t, "open_flags", a->create.open_flags,
                       open_in_flag_names, NFLAGS(open_in_flag_names));
        break;
    case FUSE_READ:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
        text_add(t, " fh=%" PRIu64 " off=%" PRIu64 " size=%" PRIu32,
                 a->read.fh, a->read.offset, a->read.size);
        if (a->read.read_flags)
            text_flags(t, "read_flags", a->read.read_flags, read_flag_names,
                       NFLAGS(read_flag_names));
        if (a->read.read_flags & FUSE_READ_LOCKOWNER)
            text_add(t, " lock_owner=%#" PRIx64, a->read.lock_owner);
        break;
    case FUSE_WRITE:
        text_add(t, " fh=%" PRIu64 " off=%" PRIu64 " size=%" PRIu32,
                 a->write.fh, a->write.offset, a->write.size);
        if (a->write.write_flags)
            text_flags(t, "write_flags", a->write.write_flags,
                       write_flag_names, NFLAGS(write_flag_names));
        if (a->write.write_flags & FUSE_WRITE_LOCKOWNER)
            text_add(t, " lock_owner=%#" PRIx64, a->write.lock_owner);
        if (req->arg_size >= sizeof(struct fuse_write_in))
            text_open_flags(t, "flags", a->write.flags);
        break;
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
        text_add(t, " fh=%" PRIu64, a->release.fh);
        text_open_flags(t, "flags", a->release.flags);
        if (a->release.release_flags)
            text_flags(t, "release_flags", a->release.release_flags,
                       release_flag_names, NFLAGS(release_flag_names));
        if (a->release.lock_owner)
            text_add(t, " lock_owner=%#" PRIx64, a->release.lock_owner);
        break;
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
        text_add(t, " fh=%" PRIu64, a->fsync.fh);
        text_flags(t, "fsync_flags", a->fsync.fsync_flags, fsync_flag_names,
                   NFLAGS(fsync_flag_names));
        break;
    case FUSE_SETXATTR:
        text_name(t, "name", name);
        text_add(t, " size=%" PRIu32, a->setxattr.size);
        text_flags(t, "flags", a->setxattr.flags, xattr_flag_names,
                   NFLAGS(xattr_flag_names));
        break;
    case FUSE_GETXATTR:
        text_name(t, "name", name);
        text_add(t, " size=%" PRIu32, a->getxattr.size);
        break;
    case FUSE_LISTXATTR:
        text_add(t, " size=%" PRIu32, a->getxattr.size);
        break;
    case FUSE_FLUSH:
        text_add(t, " fh=%" PRIu64 " lock_owner=%#" PRIx64, a->flush.fh,
                 a->flush.lock_owner);
        break;
    case FUSE_INIT: {
        uint64_t flags = a->init.flags;

        if (flags & FUSE_INIT_EXT)
            flags |= (uint64_t)a->init.flags2 << 32;
        text_add(t, " version=%" PRIu32 ".%" PRIu32 " max_readahead=%" PRIu32,
                 a->init.major, a->init.minor, a->init.max_readahead);
        text_flags(t, "flags", flags, init_flag_names,
                   NFLAGS(init_flag_names));
        break;
    }
    case FUSE_GETLK:
    case FUSE_SETLK:
    case FUSE_SETLKW:
        text_add(t,
                 " fh=%" PRIu64 " owner=%#" PRIx64 " type=%s start=%" PRIu64
                 " end=%" PRIu64 " pid=%" PRIu32,
                 a->lk.fh, a->lk.owner, lock_type_name(a->lk.lk.type),
                 a->lk.lk.start, a->lk.lk.end, a->lk.lk.pid);
        if (a->lk.lk_flags)
            text_flags(t, "lk_flags", a->lk.lk_flags, lk_flag_names,
                       NFLAGS(lk_flag_names));
        break;
    case FUSE_ACCESS:
        if (a->access.mask == F_OK)
            text_add(t, " mask=F_OK");
        else
            text_flags(t, "mask", a->access.mask, access_mask_names,
                       NFLAGS(access_mask_names));
        break;
    case FUSE_INTERRUPT:
        text_add(t, " unique=%" PRIu64, a->interrupt.unique);
        break;
    case FUSE_BMAP:
        text_add(t, " block=%" PRIu64 " blocksize=%" PRIu32, a->bmap.block,
                 a->bmap.blocksize);
        break;
    case FUSE_IOCTL:
        text_add(t,
                 " fh=%" PRIu64 " cmd=%#" PRIx32 " arg=%#" PRIx64
                 " in_size=%" PRIu32 " out_size=%" PRIu32,
                 a->ioctl.fh, a->ioctl.cmd, a->ioctl.arg, a->ioctl.in_size,
                 a->ioctl.out_size);
        if (a->ioctl.flags)
            text_flags(t, "flags", a->ioctl.flags, ioctl_flag_names,
                       NFLAGS(ioctl_flag_names));
        break;
    case FUSE_POLL:
        text_add(t, " fh=%" PRIu64 " kh=%" PRIu64 " events=%#" PRIx32,
                 a->poll.fh, a->poll.kh, a->poll.events);
        if (a->poll.flags)
            text_flags(t, "flags", a->poll.flags, poll_flag_names,
                       NFLAGS(poll_flag_names));
        break;
    case FUSE_NOTIFY_REPLY:
        text_add(t, " off=%" PRIu64 " size=%" PRIu32, a->retrieve.offset,
                 a->retrieve.size);
        break;
    case FUSE_FALLOCATE:
        text_add(t,
                 " fh=%" PRIu64 " off=%" PRIu64 " len=%" PRIu64
                 " mode=%#" PRIx32,
                 a->fallocate.fh, a->fallocate.offset, a->fallocate.length,
                 a->fallocate.mode);
        break;
    case FUSE_LSEEK:
        text_add(t, " fh=%" PRIu64 " off=%" PRIu64 " whence=%s", a->lseek.fh,
                 a->lseek.offset, whence_name(a->lseek.whence));
        break;
    case FUSE_COPY_FILE_RANGE:
    case FUSE_COPY_FILE_RANGE_64:
        text_add(t,
                 " fh_in=%" PRIu64 " off_in=%" PRIu64 " nodeid_out=%" PRIu64
                 " fh_out=%" PRIu64 " off_out=%" PRIu64 " len=%" PRIu64
                 " flags=%#" PRIx64,
                 a->copy.fh_in, a->copy.off_in, a->copy.nodeid_out,
                 a->copy.fh_out, a->copy.off_out, a->copy.len, a->copy.flags);
        break;
    case FUSE_STATX:
        text_flags(t, "flags", a->statx.getattr_flags, getattr_flag_names,
                   NFLAGS(getattr_flag_names));
        if (a->statx.getattr_flags & FUSE_GETATTR_FH)
            text_add(t, " fh=%" PRIu64, a->statx.fh);
        text_add(t, " sx_flags=%#" PRIx32 " sx_mask=%#" PRIx32,
                 a->statx.sx_flags, a->statx.sx_mask);
        break;
    default: /* READLINK, STATFS, DESTROY, SYNCFS: nothing to show */
        break;
    }
}

char *fsp_proto_format_args(const struct fsp_request *req, char *buf,
                            size_t size)
{
    struct text t = {buf, size, 0};
    const struct opcode_info *op;
    union any_arg a;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (req == NULL || req->hdr == NULL)
        return buf;

    op = opcode_info(req->opcode);
    if (op == NULL || op->not_decoded) {
        text_add(&t, " len=%" PRIu32, req->hdr->len);
    } else if (!fsp_proto_args_decoded(req)) {
        text_add(&t, " (undecoded)");
    } else {
        memset(&a, 0, sizeof(a));
        if (req->arg != NULL)
            memcpy(&a, req->arg,
                   req->arg_size < sizeof(a) ? req->arg_size : sizeof(a));
        format_args_of(&t, req, &a);
    }

    /* Every item starts with a space; drop the first one. */
    if (buf[0] == ' ')
        memmove(buf, buf + 1, strlen(buf));
    return buf;
}
