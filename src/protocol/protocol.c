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
 * The opcode table (src/dispatch/op_table.c) says for each opcode which
 * fixed argument it has and what follows it (struct fsp_wire_shape): the
 * decoder here follows it. The debug log's text of each request is in
 * describe.c, named by the same table.
 */
#include "protocol.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* ---- Decoding ----------------------------------------------------------- */

/* Kernels before 7.36 send fuse_init_in only up to and including flags. */
#define INIT_IN_MIN_SIZE offsetof(struct fuse_init_in, flags2)

/* Sizes of arguments in protocol minors older than 7.9 and 7.12. */
#define COMPAT_READ_IN_SIZE 24 /* fuse_read_in up to read_flags */

/*
 * The size of @opcode's fixed argument in protocol 7.@minor (with the
 * FSP_PROTO_* layout bits), given its current size @size. Arguments that
 * grew since 7.0 were shorter before.
 */
static uint32_t compat_arg_size(uint32_t opcode, uint32_t layout,
                                uint32_t size)
{
    uint32_t minor = layout & FSP_PROTO_MINOR_MASK;

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
    case FUSE_SETXATTR:
        /* The 16-byte form only once FUSE_SETXATTR_EXT was negotiated
         * (the caller says so in @minor, see fsp_proto_decode()). */
        return (layout & FSP_PROTO_SETXATTR_EXT)
                   ? size
                   : FUSE_COMPAT_SETXATTR_IN_SIZE;
    default:
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
static int decode_body(const struct fsp_wire_shape *op, uint32_t minor,
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
    switch ((enum fsp_wire_tail)op->tail) {
    case FSP_TAIL_NONE:
        return 0;
    case FSP_TAIL_NAME:
        req->name = take_name(cur);
        return req->name != NULL ? 0 : -EPROTO;
    case FSP_TAIL_TWO_NAMES:
        req->name = take_name(cur);
        if (req->name == NULL)
            return -EPROTO;
        req->name2 = take_name(cur);
        return req->name2 != NULL ? 0 : -EPROTO;
    case FSP_TAIL_WRITE: {
        const struct fuse_write_in *in = req->arg;

        return take_data(cur, in->size, req);
    }
    case FSP_TAIL_XATTR: {
        const struct fuse_setxattr_in *in = req->arg;

        req->name = take_name(cur);
        if (req->name == NULL)
            return -EPROTO;
        return take_data(cur, in->size, req);
    }
    case FSP_TAIL_IOCTL: {
        const struct fuse_ioctl_in *in = req->arg;

        return take_data(cur, in->in_size, req);
    }
    case FSP_TAIL_RETRIEVE: {
        const struct fuse_notify_retrieve_in *in = req->arg;

        return take_data(cur, in->size, req);
    }
    case FSP_TAIL_FORGETS: {
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
                     fsp_wire_shape_of *shape_of, struct fsp_request *req)
{
    const struct fuse_in_header *hdr = buf;
    const struct fsp_wire_shape *op;
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

    op = shape_of(hdr->opcode);
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

bool fsp_proto_args_decoded(const struct fsp_wire_shape *op,
                            const struct fsp_request *req)
{
    if (op == NULL || op->not_decoded)
        return false;
    /* GETATTR had no argument before 7.9. */
    if (op->arg_size > 0 && req->arg == NULL && req->opcode != FUSE_GETATTR)
        return false;
    switch ((enum fsp_wire_tail)op->tail) {
    case FSP_TAIL_NAME:
    case FSP_TAIL_XATTR:
        return req->name != NULL;
    case FSP_TAIL_TWO_NAMES:
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
 * see fsp_init_config), FUSE_SECURITY_CTX and FUSE_CREATE_SUPP_GROUP
 * (no request extensions), FUSE_ABORT_ERROR (an aborted connection must
 * read as ENODEV, which stops the dispatcher), FUSE_EXPLICIT_INVAL_DATA
 * (we want AUTO_INVAL_DATA), FUSE_ASYNC_DIO (the kernel would complete
 * an asynchronous O_DIRECT write without dropping the pages that buffered
 * reads put into the page cache while it was in flight, so a buffered
 * read after it could return the old data: xfstests generic/451; without
 * it, such a write completes inside io_submit(), and the pages cached
 * meanwhile are dropped after it). FUSE_POSIX_ACL, with FUSE_DONT_MASK and
 * FUSE_SETXATTR_EXT, only on request (fsp_init_config.posix_acl): the
 * umask is then the volume's to apply.
 * FUSE_HAS_EXPIRE_ONLY and FUSE_HAS_RESEND only say what the kernel can
 * do; they are echoed so that the negotiated flags tell the volume.
 * FUSE_NO_EXPORT_SUPPORT: node ids do not survive a restart, so NFS
 * export and open_by_handle_at() are refused rather than going stale.
 * On request (fsp_init_config): FUSE_REQUEST_TIMEOUT with its seconds,
 * FUSE_ALLOW_IDMAP (the kernel accepts it only with default_permissions).
 */
#define ALWAYS_WANTED                                                        \
    ((uint64_t)FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |    \
     FUSE_AUTO_INVAL_DATA | FUSE_MAX_PAGES | FUSE_INIT_EXT |                \
     FUSE_NO_EXPORT_SUPPORT | FUSE_HAS_EXPIRE_ONLY | FUSE_HAS_RESEND)

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
    if (cfg->posix_acl)
        want |= FUSE_POSIX_ACL | FUSE_DONT_MASK | FUSE_SETXATTR_EXT;
    if (cfg->request_timeout_s)
        want |= FUSE_REQUEST_TIMEOUT;
    if (cfg->allow_idmap)
        want |= FUSE_ALLOW_IDMAP;
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
    /* The umask is ours to apply only where ACLs are (see acl.c). */
    if (!(flags & FUSE_POSIX_ACL))
        flags &= ~(uint64_t)FUSE_DONT_MASK;

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

    if (flags & FUSE_REQUEST_TIMEOUT)
        out->request_timeout = cfg->request_timeout_s;

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
