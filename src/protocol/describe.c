/*
 * describe.c - a request's arguments as readable text, for the debug log.
 *
 * The contract is describe.h. Every fsp_describe_<opcode>() is one call of
 * describe() with the formatter of its opcode's arguments; opcodes whose
 * arguments read alike (OPEN and OPENDIR, the three READs...) share one.
 * describe() does what every opcode shares: an empty or undecoded request,
 * the copy of the fixed argument, the space between items. To describe a
 * new opcode, write its formatter (or pick one) and its fsp_describe_*(),
 * and add it to describers[] at the end.
 */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE, O_DIRECT, O_NOATIME, O_PATH */

#include "describe.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- Text, names and flags ---------------------------------------------- */

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

/* ---- One formatter per kind of argument --------------------------------- */

/*
 * Each appends " key=value" items to @t: from @a, the request's fixed
 * argument copied and padded with zeros, and from @req's names. Opcodes
 * that share a formatter are named above it.
 */

/* LOOKUP, UNLINK, RMDIR, REMOVEXATTR */
static void format_name(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    text_name(t, "name", req->name);
}

static void format_forget(struct text *t, const struct fsp_request *req,
                          const union any_arg *a)
{
    text_add(t, " nlookup=%" PRIu64, a->forget.nlookup);
}

static void format_batch_forget(struct text *t, const struct fsp_request *req,
                                const union any_arg *a)
{
    text_add(t, " count=%" PRIu32, a->batch_forget.count);
}

static void format_getattr(struct text *t, const struct fsp_request *req,
                           const union any_arg *a)
{
    text_flags(t, "flags", a->getattr.getattr_flags, getattr_flag_names,
               NFLAGS(getattr_flag_names));
    if (a->getattr.getattr_flags & FUSE_GETATTR_FH)
        text_add(t, " fh=%" PRIu64, a->getattr.fh);
}

static void format_setattr(struct text *t, const struct fsp_request *req,
                           const union any_arg *a)
{
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
}

static void format_symlink(struct text *t, const struct fsp_request *req,
                           const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_name(t, "target", req->name2);
}

static void format_mknod(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_add(t, " mode=%#o rdev=%#" PRIx32 " umask=%#o", a->mknod.mode,
             a->mknod.rdev, a->mknod.umask);
}

static void format_mkdir(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_add(t, " mode=%#o umask=%#o", a->mkdir.mode, a->mkdir.umask);
}

static void format_rename(struct text *t, const struct fsp_request *req,
                          const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_add(t, " newdir=%" PRIu64, a->rename.newdir);
    text_name(t, "newname", req->name2);
}

static void format_rename2(struct text *t, const struct fsp_request *req,
                           const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_add(t, " newdir=%" PRIu64, a->rename2.newdir);
    text_name(t, "newname", req->name2);
    text_flags(t, "flags", a->rename2.flags, rename_flag_names,
               NFLAGS(rename_flag_names));
}

static void format_link(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    text_add(t, " oldnodeid=%" PRIu64, a->link.oldnodeid);
    text_name(t, "newname", req->name);
}

/* OPEN, OPENDIR */
static void format_open(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    text_open_flags(t, "flags", a->open.flags);
    if (a->open.open_flags)
        text_flags(t, "open_flags", a->open.open_flags,
                   open_in_flag_names, NFLAGS(open_in_flag_names));
}

/* CREATE, TMPFILE */
static void format_create(struct text *t, const struct fsp_request *req,
                          const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_open_flags(t, "flags", a->create.flags);
    text_add(t, " mode=%#o umask=%#o", a->create.mode, a->create.umask);
    if (a->create.open_flags)
        text_flags(t, "open_flags", a->create.open_flags,
                   open_in_flag_names, NFLAGS(open_in_flag_names));
}

/* READ, READDIR, READDIRPLUS */
static void format_read(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    text_add(t, " fh=%" PRIu64 " off=%" PRIu64 " size=%" PRIu32,
             a->read.fh, a->read.offset, a->read.size);
    if (a->read.read_flags)
        text_flags(t, "read_flags", a->read.read_flags, read_flag_names,
                   NFLAGS(read_flag_names));
    if (a->read.read_flags & FUSE_READ_LOCKOWNER)
        text_add(t, " lock_owner=%#" PRIx64, a->read.lock_owner);
}

static void format_write(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_add(t, " fh=%" PRIu64 " off=%" PRIu64 " size=%" PRIu32,
             a->write.fh, a->write.offset, a->write.size);
    if (a->write.write_flags)
        text_flags(t, "write_flags", a->write.write_flags,
                   write_flag_names, NFLAGS(write_flag_names));
    if (a->write.write_flags & FUSE_WRITE_LOCKOWNER)
        text_add(t, " lock_owner=%#" PRIx64, a->write.lock_owner);
    if (req->arg_size >= sizeof(struct fuse_write_in))
        text_open_flags(t, "flags", a->write.flags);
}

/* RELEASE, RELEASEDIR */
static void format_release(struct text *t, const struct fsp_request *req,
                           const union any_arg *a)
{
    text_add(t, " fh=%" PRIu64, a->release.fh);
    text_open_flags(t, "flags", a->release.flags);
    if (a->release.release_flags)
        text_flags(t, "release_flags", a->release.release_flags,
                   release_flag_names, NFLAGS(release_flag_names));
    if (a->release.lock_owner)
        text_add(t, " lock_owner=%#" PRIx64, a->release.lock_owner);
}

/* FSYNC, FSYNCDIR */
static void format_fsync(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_add(t, " fh=%" PRIu64, a->fsync.fh);
    text_flags(t, "fsync_flags", a->fsync.fsync_flags, fsync_flag_names,
               NFLAGS(fsync_flag_names));
}

static void format_setxattr(struct text *t, const struct fsp_request *req,
                            const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_add(t, " size=%" PRIu32, a->setxattr.size);
    text_flags(t, "flags", a->setxattr.flags, xattr_flag_names,
               NFLAGS(xattr_flag_names));
}

static void format_getxattr(struct text *t, const struct fsp_request *req,
                            const union any_arg *a)
{
    text_name(t, "name", req->name);
    text_add(t, " size=%" PRIu32, a->getxattr.size);
}

static void format_listxattr(struct text *t, const struct fsp_request *req,
                             const union any_arg *a)
{
    text_add(t, " size=%" PRIu32, a->getxattr.size);
}

static void format_flush(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_add(t, " fh=%" PRIu64 " lock_owner=%#" PRIx64, a->flush.fh,
             a->flush.lock_owner);
}

static void format_init(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    uint64_t flags = a->init.flags;

    if (flags & FUSE_INIT_EXT)
        flags |= (uint64_t)a->init.flags2 << 32;
    text_add(t, " version=%" PRIu32 ".%" PRIu32 " max_readahead=%" PRIu32,
             a->init.major, a->init.minor, a->init.max_readahead);
    text_flags(t, "flags", flags, init_flag_names,
               NFLAGS(init_flag_names));
}

/* GETLK, SETLK, SETLKW */
static void format_lock(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    text_add(t,
             " fh=%" PRIu64 " owner=%#" PRIx64 " type=%s start=%" PRIu64
             " end=%" PRIu64 " pid=%" PRIu32,
             a->lk.fh, a->lk.owner, lock_type_name(a->lk.lk.type),
             a->lk.lk.start, a->lk.lk.end, a->lk.lk.pid);
    if (a->lk.lk_flags)
        text_flags(t, "lk_flags", a->lk.lk_flags, lk_flag_names,
                   NFLAGS(lk_flag_names));
}

static void format_access(struct text *t, const struct fsp_request *req,
                          const union any_arg *a)
{
    if (a->access.mask == F_OK)
        text_add(t, " mask=F_OK");
    else
        text_flags(t, "mask", a->access.mask, access_mask_names,
                   NFLAGS(access_mask_names));
}

static void format_interrupt(struct text *t, const struct fsp_request *req,
                             const union any_arg *a)
{
    text_add(t, " unique=%" PRIu64, a->interrupt.unique);
}

static void format_bmap(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    text_add(t, " block=%" PRIu64 " blocksize=%" PRIu32, a->bmap.block,
             a->bmap.blocksize);
}

static void format_ioctl(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_add(t,
             " fh=%" PRIu64 " cmd=%#" PRIx32 " arg=%#" PRIx64
             " in_size=%" PRIu32 " out_size=%" PRIu32,
             a->ioctl.fh, a->ioctl.cmd, a->ioctl.arg, a->ioctl.in_size,
             a->ioctl.out_size);
    if (a->ioctl.flags)
        text_flags(t, "flags", a->ioctl.flags, ioctl_flag_names,
                   NFLAGS(ioctl_flag_names));
}

static void format_poll(struct text *t, const struct fsp_request *req,
                        const union any_arg *a)
{
    text_add(t, " fh=%" PRIu64 " kh=%" PRIu64 " events=%#" PRIx32,
             a->poll.fh, a->poll.kh, a->poll.events);
    if (a->poll.flags)
        text_flags(t, "flags", a->poll.flags, poll_flag_names,
                   NFLAGS(poll_flag_names));
}

static void format_notify_reply(struct text *t, const struct fsp_request *req,
                                const union any_arg *a)
{
    text_add(t, " off=%" PRIu64 " size=%" PRIu32, a->retrieve.offset,
             a->retrieve.size);
}

static void format_fallocate(struct text *t, const struct fsp_request *req,
                             const union any_arg *a)
{
    text_add(t,
             " fh=%" PRIu64 " off=%" PRIu64 " len=%" PRIu64
             " mode=%#" PRIx32,
             a->fallocate.fh, a->fallocate.offset, a->fallocate.length,
             a->fallocate.mode);
}

static void format_lseek(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_add(t, " fh=%" PRIu64 " off=%" PRIu64 " whence=%s", a->lseek.fh,
             a->lseek.offset, whence_name(a->lseek.whence));
}

/* COPY_FILE_RANGE, COPY_FILE_RANGE_64 */
static void format_copy_file_range(struct text *t,
                                   const struct fsp_request *req,
                                   const union any_arg *a)
{
    text_add(t,
             " fh_in=%" PRIu64 " off_in=%" PRIu64 " nodeid_out=%" PRIu64
             " fh_out=%" PRIu64 " off_out=%" PRIu64 " len=%" PRIu64
             " flags=%#" PRIx64,
             a->copy.fh_in, a->copy.off_in, a->copy.nodeid_out,
             a->copy.fh_out, a->copy.off_out, a->copy.len, a->copy.flags);
}

static void format_statx(struct text *t, const struct fsp_request *req,
                         const union any_arg *a)
{
    text_flags(t, "flags", a->statx.getattr_flags, getattr_flag_names,
               NFLAGS(getattr_flag_names));
    if (a->statx.getattr_flags & FUSE_GETATTR_FH)
        text_add(t, " fh=%" PRIu64, a->statx.fh);
    text_add(t, " sx_flags=%#" PRIx32 " sx_mask=%#" PRIx32,
             a->statx.sx_flags, a->statx.sx_mask);
}

/* READLINK, STATFS, DESTROY, SYNCFS */
static void format_nothing(struct text *t, const struct fsp_request *req,
                           const union any_arg *a)
{
    /* no arguments to show */
}

/* ---- One function per opcode -------------------------------------------- */

typedef void format_fn(struct text *t, const struct fsp_request *req,
                       const union any_arg *a);

/*
 * Start @t on @buf, empty. False if there is nothing to write: @size is
 * 0, or @req is NULL or has no header.
 */
static bool text_start(struct text *t, char *buf, size_t size,
                       const struct fsp_request *req)
{
    if (size == 0)
        return false;
    t->buf = buf;
    t->size = size;
    t->used = 0;
    buf[0] = '\0';
    return req != NULL && req->hdr != NULL;
}

/* Every item starts with a space; drop the first one. */
static void text_end(struct text *t)
{
    if (t->buf[0] == ' ')
        memmove(t->buf, t->buf + 1, strlen(t->buf));
}

/* @req's arguments by @format. */
static void describe(const struct fsp_request *req, char *buf, size_t size,
                     format_fn *format)
{
    struct text t;
    union any_arg a;

    if (!text_start(&t, buf, size, req))
        return;
    memset(&a, 0, sizeof(a));
    if (req->arg != NULL)
        memcpy(&a, req->arg,
               req->arg_size < sizeof(a) ? req->arg_size : sizeof(a));
    format(&t, req, &a);
    text_end(&t);
}

/* The request's length only: for opcodes fsp does not decode or know. */
static void describe_len(const struct fsp_request *req, char *buf,
                         size_t size)
{
    struct text t;

    if (!text_start(&t, buf, size, req))
        return;
    text_add(&t, " len=%" PRIu32, req->hdr->len);
    text_end(&t);
}

void fsp_describe_lookup(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_name);
}

void fsp_describe_forget(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_forget);
}

void fsp_describe_getattr(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_getattr);
}

void fsp_describe_setattr(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_setattr);
}

void fsp_describe_readlink(const struct fsp_request *req, char *buf,
                           size_t size)
{
    describe(req, buf, size, format_nothing);
}

void fsp_describe_symlink(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_symlink);
}

void fsp_describe_mknod(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_mknod);
}

void fsp_describe_mkdir(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_mkdir);
}

void fsp_describe_unlink(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_name);
}

void fsp_describe_rmdir(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_name);
}

void fsp_describe_rename(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_rename);
}

void fsp_describe_link(const struct fsp_request *req, char *buf,
                       size_t size)
{
    describe(req, buf, size, format_link);
}

void fsp_describe_open(const struct fsp_request *req, char *buf,
                       size_t size)
{
    describe(req, buf, size, format_open);
}

void fsp_describe_read(const struct fsp_request *req, char *buf,
                       size_t size)
{
    describe(req, buf, size, format_read);
}

void fsp_describe_write(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_write);
}

void fsp_describe_statfs(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_nothing);
}

void fsp_describe_release(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_release);
}

void fsp_describe_fsync(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_fsync);
}

void fsp_describe_setxattr(const struct fsp_request *req, char *buf,
                           size_t size)
{
    describe(req, buf, size, format_setxattr);
}

void fsp_describe_getxattr(const struct fsp_request *req, char *buf,
                           size_t size)
{
    describe(req, buf, size, format_getxattr);
}

void fsp_describe_listxattr(const struct fsp_request *req, char *buf,
                            size_t size)
{
    describe(req, buf, size, format_listxattr);
}

void fsp_describe_removexattr(const struct fsp_request *req, char *buf,
                              size_t size)
{
    describe(req, buf, size, format_name);
}

void fsp_describe_flush(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_flush);
}

void fsp_describe_init(const struct fsp_request *req, char *buf,
                       size_t size)
{
    describe(req, buf, size, format_init);
}

void fsp_describe_opendir(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_open);
}

void fsp_describe_readdir(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_read);
}

void fsp_describe_releasedir(const struct fsp_request *req, char *buf,
                             size_t size)
{
    describe(req, buf, size, format_release);
}

void fsp_describe_fsyncdir(const struct fsp_request *req, char *buf,
                           size_t size)
{
    describe(req, buf, size, format_fsync);
}

void fsp_describe_getlk(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_lock);
}

void fsp_describe_setlk(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_lock);
}

void fsp_describe_setlkw(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_lock);
}

void fsp_describe_access(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_access);
}

void fsp_describe_create(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_create);
}

void fsp_describe_interrupt(const struct fsp_request *req, char *buf,
                            size_t size)
{
    describe(req, buf, size, format_interrupt);
}

void fsp_describe_bmap(const struct fsp_request *req, char *buf,
                       size_t size)
{
    describe(req, buf, size, format_bmap);
}

void fsp_describe_destroy(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_nothing);
}

void fsp_describe_ioctl(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_ioctl);
}

void fsp_describe_poll(const struct fsp_request *req, char *buf,
                       size_t size)
{
    describe(req, buf, size, format_poll);
}

void fsp_describe_notify_reply(const struct fsp_request *req, char *buf,
                               size_t size)
{
    describe(req, buf, size, format_notify_reply);
}

void fsp_describe_batch_forget(const struct fsp_request *req, char *buf,
                               size_t size)
{
    describe(req, buf, size, format_batch_forget);
}

void fsp_describe_fallocate(const struct fsp_request *req, char *buf,
                            size_t size)
{
    describe(req, buf, size, format_fallocate);
}

void fsp_describe_readdirplus(const struct fsp_request *req, char *buf,
                              size_t size)
{
    describe(req, buf, size, format_read);
}

void fsp_describe_rename2(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_rename2);
}

void fsp_describe_lseek(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_lseek);
}

void fsp_describe_copy_file_range(const struct fsp_request *req, char *buf,
                                  size_t size)
{
    describe(req, buf, size, format_copy_file_range);
}

void fsp_describe_setupmapping(const struct fsp_request *req, char *buf,
                               size_t size)
{
    describe_len(req, buf, size);
}

void fsp_describe_removemapping(const struct fsp_request *req, char *buf,
                                size_t size)
{
    describe_len(req, buf, size);
}

void fsp_describe_syncfs(const struct fsp_request *req, char *buf,
                         size_t size)
{
    describe(req, buf, size, format_nothing);
}

void fsp_describe_tmpfile(const struct fsp_request *req, char *buf,
                          size_t size)
{
    describe(req, buf, size, format_create);
}

void fsp_describe_statx(const struct fsp_request *req, char *buf,
                        size_t size)
{
    describe(req, buf, size, format_statx);
}

void fsp_describe_copy_file_range_64(const struct fsp_request *req, char *buf,
                                     size_t size)
{
    describe(req, buf, size, format_copy_file_range);
}
