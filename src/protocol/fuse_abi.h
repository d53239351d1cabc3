/*
 * fuse_abi.h - the Linux kernel's FUSE wire ABI, protocol 7.45 (Linux 6.18).
 *
 * fsp's own transcription of the kernel's include/uapi/linux/fuse.h. We do
 * not use <linux/fuse.h>: Debian 12 ships protocol 7.38, which lacks
 * passthrough (7.40), io_uring (7.42), request timeouts (7.43), epoch and
 * prune notifications (7.44, 7.45) and COPY_FILE_RANGE_64 (7.45).
 *
 * Every name is the kernel's (struct fuse_in_header, FUSE_LOOKUP, ...), so
 * the kernel's documentation and source read the same way. The few helpers
 * the kernel does not have are marked "fsp:". Every struct's size is checked
 * below against the kernel's value: if you add or change a field, the build
 * tells you when the layout no longer matches.
 *
 * All numbers are in host byte order; all structs are naturally aligned and
 * padded to 8 bytes, exactly as the kernel declares them.
 */
#ifndef FSP_FUSE_ABI_H
#define FSP_FUSE_ABI_H

/*
 * This header and <linux/fuse.h> define the same names, so only one of them
 * may be used. If <linux/fuse.h> came first, stop here; otherwise claim its
 * include guard so that a later #include <linux/fuse.h> does nothing.
 */
#ifdef _LINUX_FUSE_H
#error "<linux/fuse.h> was included: fsp uses its own fuse_abi.h instead"
#endif
#define _LINUX_FUSE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/ioctl.h> /* _IO, _IOR, _IOW for the device ioctls */

/* ---- Version negotiation ------------------------------------------------ */

/*
 * The kernel sends its major.minor in INIT and the file system replies with
 * its own; both then speak the smaller minor. A different major means the
 * other side must adapt or give up.
 */
#define FUSE_KERNEL_VERSION 7
#define FUSE_KERNEL_MINOR_VERSION 45

/* The node id of the root directory. */
#define FUSE_ROOT_ID 1

/* The read buffer for /dev/fuse must be at least this large. */
#define FUSE_MIN_READ_BUFFER 8192

/* ---- Attributes --------------------------------------------------------- */

struct fuse_attr {
    uint64_t ino;
    uint64_t size;
    uint64_t blocks;
    uint64_t atime;
    uint64_t mtime;
    uint64_t ctime;
    uint32_t atimensec;
    uint32_t mtimensec;
    uint32_t ctimensec;
    uint32_t mode;
    uint32_t nlink;
    uint32_t uid;
    uint32_t gid;
    uint32_t rdev;
    uint32_t blksize;
    uint32_t flags; /* FUSE_ATTR_* */
};

/* fuse_attr.flags */
#define FUSE_ATTR_SUBMOUNT (1 << 0) /* the object is a submount root */
#define FUSE_ATTR_DAX (1 << 1)      /* DAX for this file (per-inode DAX) */

/* statx(2)'s layout, bit for bit (FUSE_STATX, 7.39). */
struct fuse_sx_time {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t __reserved;
};

struct fuse_statx {
    uint32_t mask;
    uint32_t blksize;
    uint64_t attributes;
    uint32_t nlink;
    uint32_t uid;
    uint32_t gid;
    uint16_t mode;
    uint16_t __spare0[1];
    uint64_t ino;
    uint64_t size;
    uint64_t blocks;
    uint64_t attributes_mask;
    struct fuse_sx_time atime;
    struct fuse_sx_time btime;
    struct fuse_sx_time ctime;
    struct fuse_sx_time mtime;
    uint32_t rdev_major;
    uint32_t rdev_minor;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint64_t __spare2[14];
};

struct fuse_kstatfs {
    uint64_t blocks;
    uint64_t bfree;
    uint64_t bavail;
    uint64_t files;
    uint64_t ffree;
    uint32_t bsize;
    uint32_t namelen;
    uint32_t frsize;
    uint32_t padding;
    uint32_t spare[6];
};

struct fuse_file_lock {
    uint64_t start;
    uint64_t end;
    uint32_t type; /* F_RDLCK, F_WRLCK, F_UNLCK */
    uint32_t pid;  /* tgid */
};

/* ---- Flag words --------------------------------------------------------- */

/* fuse_setattr_in.valid: which fields of the request to apply. */
#define FATTR_MODE (1 << 0)
#define FATTR_UID (1 << 1)
#define FATTR_GID (1 << 2)
#define FATTR_SIZE (1 << 3)
#define FATTR_ATIME (1 << 4)
#define FATTR_MTIME (1 << 5)
#define FATTR_FH (1 << 6)
#define FATTR_ATIME_NOW (1 << 7)
#define FATTR_MTIME_NOW (1 << 8)
#define FATTR_LOCKOWNER (1 << 9)
#define FATTR_CTIME (1 << 10)
#define FATTR_KILL_SUIDGID (1 << 11)

/* fuse_open_out.open_flags: how the kernel treats the opened file. */
#define FOPEN_DIRECT_IO (1 << 0)   /* bypass the page cache */
#define FOPEN_KEEP_CACHE (1 << 1)  /* keep cached data on open */
#define FOPEN_NONSEEKABLE (1 << 2) /* the file is not seekable */
#define FOPEN_CACHE_DIR (1 << 3)   /* allow caching this directory */
#define FOPEN_STREAM (1 << 4)      /* stream-like: no file position */
#define FOPEN_NOFLUSH (1 << 5)     /* no FLUSH on close (unless writeback) */
#define FOPEN_PARALLEL_DIRECT_WRITES (1 << 6) /* concurrent direct writes */
#define FOPEN_PASSTHROUGH (1 << 7) /* read/write go to the backing file */

/*
 * INIT flags, offered by the kernel in fuse_init_in and chosen by the file
 * system in fuse_init_out. Bits 0..31 travel in `flags`; bits 32..63 travel
 * in `flags2` (shifted down by 32), and only when both sides set
 * FUSE_INIT_EXT.
 */
#define FUSE_ASYNC_READ (1u << 0)          /* asynchronous read requests */
#define FUSE_POSIX_LOCKS (1u << 1)         /* remote POSIX file locks */
#define FUSE_FILE_OPS (1u << 2)            /* never implemented */
#define FUSE_ATOMIC_O_TRUNC (1u << 3)      /* fs handles O_TRUNC in OPEN */
#define FUSE_EXPORT_SUPPORT (1u << 4)      /* fs looks up "." and ".." */
#define FUSE_BIG_WRITES (1u << 5)          /* writes larger than 4 KiB */
#define FUSE_DONT_MASK (1u << 6)           /* kernel does not apply umask */
#define FUSE_SPLICE_WRITE (1u << 7)        /* splice write on the device */
#define FUSE_SPLICE_MOVE (1u << 8)         /* splice move on the device */
#define FUSE_SPLICE_READ (1u << 9)         /* splice read on the device */
#define FUSE_FLOCK_LOCKS (1u << 10)        /* remote BSD flock locks */
#define FUSE_HAS_IOCTL_DIR (1u << 11)      /* ioctl on directories */
#define FUSE_AUTO_INVAL_DATA (1u << 12)    /* drop cache when mtime changes */
#define FUSE_DO_READDIRPLUS (1u << 13)     /* READDIRPLUS (readdir+lookup) */
#define FUSE_READDIRPLUS_AUTO (1u << 14)   /* adaptive readdirplus */
#define FUSE_ASYNC_DIO (1u << 15)          /* asynchronous direct I/O */
#define FUSE_WRITEBACK_CACHE (1u << 16)    /* writeback cache for writes */
#define FUSE_NO_OPEN_SUPPORT (1u << 17)    /* zero-message open possible */
#define FUSE_PARALLEL_DIROPS (1u << 18)    /* parallel lookup and readdir */
#define FUSE_HANDLE_KILLPRIV (1u << 19)    /* fs kills suid/sgid/caps */
#define FUSE_POSIX_ACL (1u << 20)          /* fs supports POSIX ACLs */
#define FUSE_ABORT_ERROR (1u << 21)        /* ECONNABORTED after abort */
#define FUSE_MAX_PAGES (1u << 22)          /* init_out.max_pages is valid */
#define FUSE_CACHE_SYMLINKS (1u << 23)     /* cache READLINK replies */
#define FUSE_NO_OPENDIR_SUPPORT (1u << 24) /* zero-message opendir */
#define FUSE_EXPLICIT_INVAL_DATA (1u << 25) /* drop cache only on request */
#define FUSE_MAP_ALIGNMENT (1u << 26)      /* init_out.map_alignment valid */
#define FUSE_SUBMOUNTS (1u << 27)          /* auto-mounted submounts */
#define FUSE_HANDLE_KILLPRIV_V2 (1u << 28) /* fs kills suid/sgid, VFS-like */
#define FUSE_SETXATTR_EXT (1u << 29)       /* 16-byte fuse_setxattr_in */
#define FUSE_INIT_EXT (1u << 30)           /* flags2 and 64-byte init_in */
#define FUSE_INIT_RESERVED (1u << 31)      /* reserved, do not use */
#define FUSE_SECURITY_CTX (1ULL << 32)     /* security ctx on creation */
#define FUSE_HAS_INODE_DAX (1ULL << 33)    /* per-inode DAX */
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34) /* supplementary group on create */
#define FUSE_HAS_EXPIRE_ONLY (1ULL << 35)  /* expire-only entry invalidation */
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36) /* shared mmap with DIRECT_IO */
#define FUSE_PASSTHROUGH (1ULL << 37)      /* kernel passthrough to files */
#define FUSE_NO_EXPORT_SUPPORT (1ULL << 38) /* disable NFS export */
#define FUSE_HAS_RESEND (1ULL << 39)       /* resent requests, see below */
#define FUSE_ALLOW_IDMAP (1ULL << 40)      /* idmapped mounts */
#define FUSE_OVER_IO_URING (1ULL << 41)    /* requests over io_uring */
#define FUSE_REQUEST_TIMEOUT (1ULL << 42)  /* init_out.request_timeout */
/* Obsolete alias */
#define FUSE_DIRECT_IO_RELAX FUSE_DIRECT_IO_ALLOW_MMAP

/* CUSE INIT flags */
#define CUSE_UNRESTRICTED_IOCTL (1 << 0)

/* fuse_release_in.release_flags */
#define FUSE_RELEASE_FLUSH (1 << 0)
#define FUSE_RELEASE_FLOCK_UNLOCK (1 << 1)

/* fuse_getattr_in.getattr_flags: fh is valid */
#define FUSE_GETATTR_FH (1 << 0)

/* fuse_lk_in.lk_flags: a flock(2) lock rather than a POSIX one */
#define FUSE_LK_FLOCK (1 << 0)

/* fuse_write_in.write_flags */
#define FUSE_WRITE_CACHE (1 << 0)     /* delayed write from the page cache;
                                         fh is a guess */
#define FUSE_WRITE_LOCKOWNER (1 << 1) /* lock_owner is valid */
#define FUSE_WRITE_KILL_SUIDGID (1 << 2) /* clear suid and sgid */
#define FUSE_WRITE_KILL_PRIV FUSE_WRITE_KILL_SUIDGID /* obsolete alias */

/* fuse_read_in.read_flags */
#define FUSE_READ_LOCKOWNER (1 << 1)

/* fuse_ioctl_in.flags and fuse_ioctl_out.flags */
#define FUSE_IOCTL_COMPAT (1 << 0)       /* 32-bit compat ioctl on 64-bit */
#define FUSE_IOCTL_UNRESTRICTED (1 << 1) /* not a well-formed ioctl */
#define FUSE_IOCTL_RETRY (1 << 2)        /* retry with new iovecs */
#define FUSE_IOCTL_32BIT (1 << 3)        /* 32-bit ioctl */
#define FUSE_IOCTL_DIR (1 << 4)          /* on a directory */
#define FUSE_IOCTL_COMPAT_X32 (1 << 5)   /* x32 compat ioctl */
#define FUSE_IOCTL_MAX_IOV 256           /* in_iovs + out_iovs at most */

/* fuse_poll_in.flags */
#define FUSE_POLL_SCHEDULE_NOTIFY (1 << 0)

/* fuse_fsync_in.fsync_flags */
#define FUSE_FSYNC_FDATASYNC (1 << 0)

/* fuse_open_in.open_flags and fuse_create_in.open_flags */
#define FUSE_OPEN_KILL_SUIDGID (1 << 0)

/* fuse_setxattr_in.setxattr_flags (only with FUSE_SETXATTR_EXT). The
 * `flags` field carries setxattr(2)'s XATTR_CREATE / XATTR_REPLACE. */
#define FUSE_SETXATTR_ACL_KILL_SGID (1 << 0)

/* fuse_notify_inval_entry_out.flags */
#define FUSE_EXPIRE_ONLY (1 << 0)

/*
 * fuse_rename2_in.flags carries renameat2(2)'s flags unchanged. They are
 * defined here exactly as glibc's <stdio.h> and <linux/fs.h> define them
 * (same text, so either header may come before or after this one).
 */
#define RENAME_NOREPLACE (1 << 0) /* fail if the new name exists */
#define RENAME_EXCHANGE (1 << 1)  /* swap the two names */
#define RENAME_WHITEOUT (1 << 2)  /* leave a whiteout (overlayfs) */

/* Request extensions (after the request's arguments, total_extlen * 8
 * bytes in all), each starting with struct fuse_ext_header. */
enum fuse_ext_type {
    /* Types 0..31 are reserved for fuse_secctx_header. */
    FUSE_MAX_NR_SECCTX = 31,
    FUSE_EXT_GROUPS = 32,
};

/* ---- Opcodes ------------------------------------------------------------ */

enum fuse_opcode {
    FUSE_LOOKUP = 1,
    FUSE_FORGET = 2, /* no reply */
    FUSE_GETATTR = 3,
    FUSE_SETATTR = 4,
    FUSE_READLINK = 5,
    FUSE_SYMLINK = 6,
    FUSE_MKNOD = 8,
    FUSE_MKDIR = 9,
    FUSE_UNLINK = 10,
    FUSE_RMDIR = 11,
    FUSE_RENAME = 12,
    FUSE_LINK = 13,
    FUSE_OPEN = 14,
    FUSE_READ = 15,
    FUSE_WRITE = 16,
    FUSE_STATFS = 17,
    FUSE_RELEASE = 18,
    FUSE_FSYNC = 20,
    FUSE_SETXATTR = 21,
    FUSE_GETXATTR = 22,
    FUSE_LISTXATTR = 23,
    FUSE_REMOVEXATTR = 24,
    FUSE_FLUSH = 25,
    FUSE_INIT = 26,
    FUSE_OPENDIR = 27,
    FUSE_READDIR = 28,
    FUSE_RELEASEDIR = 29,
    FUSE_FSYNCDIR = 30,
    FUSE_GETLK = 31,
    FUSE_SETLK = 32,
    FUSE_SETLKW = 33,
    FUSE_ACCESS = 34,
    FUSE_CREATE = 35,
    FUSE_INTERRUPT = 36,
    FUSE_BMAP = 37,
    FUSE_DESTROY = 38,
    FUSE_IOCTL = 39,
    FUSE_POLL = 40,
    FUSE_NOTIFY_REPLY = 41,
    FUSE_BATCH_FORGET = 42,
    FUSE_FALLOCATE = 43,
    FUSE_READDIRPLUS = 44,
    FUSE_RENAME2 = 45,
    FUSE_LSEEK = 46,
    FUSE_COPY_FILE_RANGE = 47,
    FUSE_SETUPMAPPING = 48,
    FUSE_REMOVEMAPPING = 49,
    FUSE_SYNCFS = 50,
    FUSE_TMPFILE = 51,
    FUSE_STATX = 52,
    FUSE_COPY_FILE_RANGE_64 = 53,

    /* CUSE specific operations */
    CUSE_INIT = 4096,

    /* Reserved opcodes: helpful to detect structure endian-ness */
    CUSE_INIT_BSWAP_RESERVED = 1048576,  /* CUSE_INIT << 8 */
    FUSE_INIT_BSWAP_RESERVED = 436207616, /* FUSE_INIT << 24 */
};

/* Notifications: messages the file system sends unasked, with unique 0 and
 * the code in fuse_out_header.error. */
enum fuse_notify_code {
    FUSE_NOTIFY_POLL = 1,
    FUSE_NOTIFY_INVAL_INODE = 2,
    FUSE_NOTIFY_INVAL_ENTRY = 3,
    FUSE_NOTIFY_STORE = 4,
    FUSE_NOTIFY_RETRIEVE = 5,
    FUSE_NOTIFY_DELETE = 6,
    FUSE_NOTIFY_RESEND = 7,    /* 7.40: resend all pending requests */
    FUSE_NOTIFY_INC_EPOCH = 8, /* 7.44: invalidate all cached dentries */
    FUSE_NOTIFY_PRUNE = 9,     /* 7.45: forget unused inodes */
};

/* ---- Request and reply headers ------------------------------------------ */

/* Set in fuse_in_header.unique when the kernel resends a request
 * (after FUSE_NOTIFY_RESEND; needs FUSE_HAS_RESEND). */
#define FUSE_UNIQUE_RESEND (1ULL << 63)

/* uid/gid that cannot be mapped through an idmapped mount. */
#define FUSE_INVALID_UIDGID ((uint32_t)(-1))

struct fuse_in_header {
    uint32_t len; /* of the whole request, this header included */
    uint32_t opcode;
    uint64_t unique;
    uint64_t nodeid;
    uint32_t uid;
    uint32_t gid;
    uint32_t pid;
    uint16_t total_extlen; /* length of extensions in 8-byte units */
    uint16_t padding;
};

struct fuse_out_header {
    uint32_t len; /* of the whole reply, this header included */
    int32_t error; /* 0 or a negative errno; notify code for notifications */
    uint64_t unique;
};

/* ---- Per-opcode arguments and replies ----------------------------------- */

/* Reply sizes of older protocol minors. */
#define FUSE_COMPAT_ENTRY_OUT_SIZE 120 /* < 7.9 */
#define FUSE_COMPAT_ATTR_OUT_SIZE 96   /* < 7.9 */
#define FUSE_COMPAT_MKNOD_IN_SIZE 8    /* < 7.12 */
#define FUSE_COMPAT_WRITE_IN_SIZE 24   /* < 7.9 */
#define FUSE_COMPAT_STATFS_SIZE 48     /* < 7.4 */
#define FUSE_COMPAT_SETXATTR_IN_SIZE 8 /* without FUSE_SETXATTR_EXT */
#define FUSE_COMPAT_INIT_OUT_SIZE 8    /* < 7.5 */
#define FUSE_COMPAT_22_INIT_OUT_SIZE 24 /* < 7.23 */

/* LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE reply */
struct fuse_entry_out {
    uint64_t nodeid;     /* inode id */
    uint64_t generation; /* nodeid:generation is unique for the fs's life */
    uint64_t entry_valid; /* cache timeout for the name, seconds */
    uint64_t attr_valid;  /* cache timeout for the attributes, seconds */
    uint32_t entry_valid_nsec;
    uint32_t attr_valid_nsec;
    struct fuse_attr attr;
};

/* FORGET */
struct fuse_forget_in {
    uint64_t nlookup;
};

/* BATCH_FORGET: fuse_batch_forget_in, then count fuse_forget_one */
struct fuse_forget_one {
    uint64_t nodeid;
    uint64_t nlookup;
};

struct fuse_batch_forget_in {
    uint32_t count;
    uint32_t dummy;
};

/* GETATTR (7.9+; before that it had no argument) */
struct fuse_getattr_in {
    uint32_t getattr_flags; /* FUSE_GETATTR_FH */
    uint32_t dummy;
    uint64_t fh;
};

/* GETATTR and SETATTR reply */
struct fuse_attr_out {
    uint64_t attr_valid; /* cache timeout for the attributes, seconds */
    uint32_t attr_valid_nsec;
    uint32_t dummy;
    struct fuse_attr attr;
};

/* STATX */
struct fuse_statx_in {
    uint32_t getattr_flags;
    uint32_t reserved;
    uint64_t fh;
    uint32_t sx_flags;
    uint32_t sx_mask;
};

struct fuse_statx_out {
    uint64_t attr_valid;
    uint32_t attr_valid_nsec;
    uint32_t flags;
    uint64_t spare[2];
    struct fuse_statx stat;
};

/* MKNOD: fuse_mknod_in, then the name */
struct fuse_mknod_in {
    uint32_t mode;
    uint32_t rdev;
    uint32_t umask;
    uint32_t padding;
};

/* MKDIR: fuse_mkdir_in, then the name */
struct fuse_mkdir_in {
    uint32_t mode;
    uint32_t umask;
};

/* RENAME: fuse_rename_in, then the old name and the new name */
struct fuse_rename_in {
    uint64_t newdir;
};

/* RENAME2: the same with flags (RENAME_*) */
struct fuse_rename2_in {
    uint64_t newdir;
    uint32_t flags;
    uint32_t padding;
};

/* LINK: fuse_link_in, then the new name (in nodeid's directory) */
struct fuse_link_in {
    uint64_t oldnodeid;
};

/* SETATTR */
struct fuse_setattr_in {
    uint32_t valid; /* FATTR_* */
    uint32_t padding;
    uint64_t fh;
    uint64_t size;
    uint64_t lock_owner;
    uint64_t atime;
    uint64_t mtime;
    uint64_t ctime;
    uint32_t atimensec;
    uint32_t mtimensec;
    uint32_t ctimensec;
    uint32_t mode;
    uint32_t unused4;
    uint32_t uid;
    uint32_t gid;
    uint32_t unused5;
};

/* OPEN, OPENDIR */
struct fuse_open_in {
    uint32_t flags;      /* open(2) flags */
    uint32_t open_flags; /* FUSE_OPEN_* */
};

/* CREATE, TMPFILE: fuse_create_in, then the name */
struct fuse_create_in {
    uint32_t flags;
    uint32_t mode;
    uint32_t umask;
    uint32_t open_flags; /* FUSE_OPEN_* */
};

/* OPEN, OPENDIR reply; CREATE replies fuse_entry_out + fuse_open_out */
struct fuse_open_out {
    uint64_t fh;
    uint32_t open_flags; /* FOPEN_* */
    int32_t backing_id;  /* with FOPEN_PASSTHROUGH */
};

/* RELEASE, RELEASEDIR */
struct fuse_release_in {
    uint64_t fh;
    uint32_t flags;
    uint32_t release_flags; /* FUSE_RELEASE_* */
    uint64_t lock_owner;
};

/* FLUSH */
struct fuse_flush_in {
    uint64_t fh;
    uint32_t unused;
    uint32_t padding;
    uint64_t lock_owner;
};

/* READ, READDIR, READDIRPLUS */
struct fuse_read_in {
    uint64_t fh;
    uint64_t offset;
    uint32_t size;
    uint32_t read_flags; /* FUSE_READ_* */
    uint64_t lock_owner;
    uint32_t flags; /* open(2) flags of the file */
    uint32_t padding;
};

/* WRITE: fuse_write_in, then size bytes of data */
struct fuse_write_in {
    uint64_t fh;
    uint64_t offset;
    uint32_t size;
    uint32_t write_flags; /* FUSE_WRITE_* */
    uint64_t lock_owner;
    uint32_t flags; /* open(2) flags of the file */
    uint32_t padding;
};

/* WRITE and COPY_FILE_RANGE reply */
struct fuse_write_out {
    uint32_t size;
    uint32_t padding;
};

/* STATFS reply */
struct fuse_statfs_out {
    struct fuse_kstatfs st;
};

/* FSYNC, FSYNCDIR */
struct fuse_fsync_in {
    uint64_t fh;
    uint32_t fsync_flags; /* FUSE_FSYNC_* */
    uint32_t padding;
};

/*
 * SETXATTR: fuse_setxattr_in, then the name, then size bytes of value.
 * Only the first 8 bytes (FUSE_COMPAT_SETXATTR_IN_SIZE) are sent unless
 * FUSE_SETXATTR_EXT was negotiated (fsp does with posix_acl).
 */
struct fuse_setxattr_in {
    uint32_t size;
    uint32_t flags; /* XATTR_CREATE, XATTR_REPLACE */
    uint32_t setxattr_flags; /* FUSE_SETXATTR_*, with FUSE_SETXATTR_EXT */
    uint32_t padding;
};

/* GETXATTR (then the name), LISTXATTR */
struct fuse_getxattr_in {
    uint32_t size; /* 0: only ask for the length */
    uint32_t padding;
};

/* GETXATTR, LISTXATTR reply when the request's size was 0 */
struct fuse_getxattr_out {
    uint32_t size;
    uint32_t padding;
};

/* GETLK, SETLK, SETLKW */
struct fuse_lk_in {
    uint64_t fh;
    uint64_t owner;
    struct fuse_file_lock lk;
    uint32_t lk_flags; /* FUSE_LK_* */
    uint32_t padding;
};

/* GETLK reply */
struct fuse_lk_out {
    struct fuse_file_lock lk;
};

/* ACCESS */
struct fuse_access_in {
    uint32_t mask; /* R_OK, W_OK, X_OK; 0 for F_OK */
    uint32_t padding;
};

/*
 * INIT. Kernels before 7.36 send only the first 16 bytes (up to flags);
 * flags2 and the reserved words came with FUSE_INIT_EXT.
 */
struct fuse_init_in {
    uint32_t major;
    uint32_t minor;
    uint32_t max_readahead;
    uint32_t flags;
    uint32_t flags2; /* INIT flags 32..63, with FUSE_INIT_EXT */
    uint32_t unused[11];
};

/* INIT reply; kernels before 7.23 take FUSE_COMPAT_22_INIT_OUT_SIZE bytes */
struct fuse_init_out {
    uint32_t major;
    uint32_t minor;
    uint32_t max_readahead;
    uint32_t flags;
    uint16_t max_background;
    uint16_t congestion_threshold;
    uint32_t max_write;
    uint32_t time_gran; /* timestamp granularity, ns (7.23) */
    uint16_t max_pages; /* with FUSE_MAX_PAGES (7.28) */
    uint16_t map_alignment;
    uint32_t flags2;          /* INIT flags 32..63 (7.36) */
    uint32_t max_stack_depth; /* with FUSE_PASSTHROUGH (7.40) */
    uint16_t request_timeout; /* seconds, with FUSE_REQUEST_TIMEOUT (7.43) */
    uint16_t unused[11];
};

/* CUSE_INIT (character devices in user space; fsp does not do CUSE) */
#define CUSE_INIT_INFO_MAX 4096

struct cuse_init_in {
    uint32_t major;
    uint32_t minor;
    uint32_t unused;
    uint32_t flags;
};

struct cuse_init_out {
    uint32_t major;
    uint32_t minor;
    uint32_t unused;
    uint32_t flags;
    uint32_t max_read;
    uint32_t max_write;
    uint32_t dev_major; /* chardev major */
    uint32_t dev_minor; /* chardev minor */
    uint32_t spare[10];
};

/* INTERRUPT: names the interrupted request by its unique */
struct fuse_interrupt_in {
    uint64_t unique;
};

/* BMAP */
struct fuse_bmap_in {
    uint64_t block;
    uint32_t blocksize;
    uint32_t padding;
};

struct fuse_bmap_out {
    uint64_t block;
};

/* IOCTL: fuse_ioctl_in, then in_size bytes of input */
struct fuse_ioctl_in {
    uint64_t fh;
    uint32_t flags; /* FUSE_IOCTL_* */
    uint32_t cmd;
    uint64_t arg;
    uint32_t in_size;
    uint32_t out_size;
};

struct fuse_ioctl_iovec {
    uint64_t base;
    uint64_t len;
};

struct fuse_ioctl_out {
    int32_t result;
    uint32_t flags; /* FUSE_IOCTL_* */
    uint32_t in_iovs;
    uint32_t out_iovs;
};

/* POLL */
struct fuse_poll_in {
    uint64_t fh;
    uint64_t kh;
    uint32_t flags; /* FUSE_POLL_* */
    uint32_t events;
};

struct fuse_poll_out {
    uint32_t revents;
    uint32_t padding;
};

/* FALLOCATE */
struct fuse_fallocate_in {
    uint64_t fh;
    uint64_t offset;
    uint64_t length;
    uint32_t mode; /* fallocate(2) mode */
    uint32_t padding;
};

/* LSEEK */
struct fuse_lseek_in {
    uint64_t fh;
    uint64_t offset;
    uint32_t whence;
    uint32_t padding;
};

struct fuse_lseek_out {
    uint64_t offset;
};

/* COPY_FILE_RANGE (reply fuse_write_out), COPY_FILE_RANGE_64 (reply
 * fuse_copy_file_range_out, 7.45) */
struct fuse_copy_file_range_in {
    uint64_t fh_in;
    uint64_t off_in;
    uint64_t nodeid_out;
    uint64_t fh_out;
    uint64_t off_out;
    uint64_t len;
    uint64_t flags;
};

struct fuse_copy_file_range_out {
    uint64_t bytes_copied;
};

/* SETUPMAPPING, REMOVEMAPPING: DAX windows, sent only by virtiofs */
#define FUSE_SETUPMAPPING_FLAG_WRITE (1ULL << 0)
#define FUSE_SETUPMAPPING_FLAG_READ (1ULL << 1)

struct fuse_setupmapping_in {
    uint64_t fh;      /* an already open handle */
    uint64_t foffset; /* offset into the file */
    uint64_t len;
    uint64_t flags; /* FUSE_SETUPMAPPING_FLAG_* */
    uint64_t moffset; /* offset in the memory window */
};

struct fuse_removemapping_in {
    uint32_t count; /* of fuse_removemapping_one that follow */
};

struct fuse_removemapping_one {
    uint64_t moffset;
    uint64_t len;
};

/* SYNCFS */
struct fuse_syncfs_in {
    uint64_t padding;
};

/* Request extensions: security contexts (FUSE_SECURITY_CTX) and
 * supplementary groups (FUSE_CREATE_SUPP_GROUP). */
struct fuse_secctx {
    uint32_t size;
    uint32_t padding;
};

struct fuse_secctx_header {
    uint32_t size;
    uint32_t nr_secctx;
};

struct fuse_ext_header {
    uint32_t size; /* of this extension, header included */
    uint32_t type; /* enum fuse_ext_type */
};

struct fuse_supp_groups {
    uint32_t nr_groups;
    uint32_t groups[];
};

/* ---- Directory entries (READDIR, READDIRPLUS replies) ------------------- */

struct fuse_dirent {
    uint64_t ino;
    uint64_t off; /* offset of the next entry (what the next READDIR
                     sends back) */
    uint32_t namelen;
    uint32_t type; /* DT_* */
    char name[];
};

/* Variable-length records are aligned to 8 bytes. */
#define FUSE_REC_ALIGN(x) \
    (((x) + sizeof(uint64_t) - 1) & ~(sizeof(uint64_t) - 1))
#define FUSE_NAME_OFFSET offsetof(struct fuse_dirent, name)
#define FUSE_DIRENT_ALIGN(x) FUSE_REC_ALIGN(x)
#define FUSE_DIRENT_SIZE(d) FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + (d)->namelen)

struct fuse_direntplus {
    struct fuse_entry_out entry_out;
    struct fuse_dirent dirent;
};

#define FUSE_NAME_OFFSET_DIRENTPLUS \
    offsetof(struct fuse_direntplus, dirent.name)
#define FUSE_DIRENTPLUS_SIZE(d) \
    FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + (d)->dirent.namelen)

/* fsp: record sizes for a name of @namelen bytes, before writing it. */
#define FUSE_DIRENT_SIZE_FOR(namelen) \
    FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + (size_t)(namelen))
#define FUSE_DIRENTPLUS_SIZE_FOR(namelen) \
    FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + (size_t)(namelen))

/* ---- Notifications (file system -> kernel) ------------------------------ */

struct fuse_notify_poll_wakeup_out {
    uint64_t kh;
};

/* INVAL_INODE: drop cached attributes and the data in [off, off+len);
 * off < 0 keeps the data, len <= 0 means to the end. */
struct fuse_notify_inval_inode_out {
    uint64_t ino;
    int64_t off;
    int64_t len;
};

/* INVAL_ENTRY: then namelen bytes of name and a NUL */
struct fuse_notify_inval_entry_out {
    uint64_t parent;
    uint32_t namelen;
    uint32_t flags; /* FUSE_EXPIRE_ONLY */
};

/* DELETE: then namelen bytes of name and a NUL */
struct fuse_notify_delete_out {
    uint64_t parent;
    uint64_t child;
    uint32_t namelen;
    uint32_t padding;
};

/* STORE: then size bytes of data */
struct fuse_notify_store_out {
    uint64_t nodeid;
    uint64_t offset;
    uint32_t size;
    uint32_t padding;
};

/* RETRIEVE: the kernel answers with a NOTIFY_REPLY request */
struct fuse_notify_retrieve_out {
    uint64_t notify_unique;
    uint64_t nodeid;
    uint64_t offset;
    uint32_t size;
    uint32_t padding;
};

/* NOTIFY_REPLY request: this, then size bytes of data. Matches the size of
 * fuse_write_in. */
struct fuse_notify_retrieve_in {
    uint64_t dummy1;
    uint64_t offset;
    uint32_t size;
    uint32_t dummy2;
    uint64_t dummy3;
    uint64_t dummy4;
};

/* PRUNE (7.45): then count uint64_t node ids */
struct fuse_notify_prune_out {
    uint32_t count;
    uint32_t padding;
    uint64_t spare;
};

/* ---- /dev/fuse ioctls --------------------------------------------------- */

/* FUSE_DEV_IOC_BACKING_OPEN: register fd as a passthrough backing file;
 * returns the backing id for fuse_open_out.backing_id. */
struct fuse_backing_map {
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};

#define FUSE_DEV_IOC_MAGIC 229
/* Attach a new fd to an existing connection (argument: the original fd). */
#define FUSE_DEV_IOC_CLONE _IOR(FUSE_DEV_IOC_MAGIC, 0, uint32_t)
#define FUSE_DEV_IOC_BACKING_OPEN \
    _IOW(FUSE_DEV_IOC_MAGIC, 1, struct fuse_backing_map)
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)
/* Handle INIT synchronously during mount(2) (Linux 6.18; ENOTTY before). */
#define FUSE_DEV_IOC_SYNC_INIT _IO(FUSE_DEV_IOC_MAGIC, 3)

/* ---- io_uring channel (7.42) -------------------------------------------- */

#define FUSE_URING_IN_OUT_HEADER_SZ 128
#define FUSE_URING_OP_IN_OUT_SZ 128

/* Part of fuse_uring_req_header. */
struct fuse_uring_ent_in_out {
    uint64_t flags;
    uint64_t commit_id;  /* to put in fuse_uring_cmd_req of the reply */
    uint32_t payload_sz; /* bytes used in the payload buffer */
    uint32_t padding;
    uint64_t reserved;
};

/* The first of the two buffers each ring entry registers. */
struct fuse_uring_req_header {
    /* struct fuse_in_header (requests) / struct fuse_out_header (replies) */
    char in_out[FUSE_URING_IN_OUT_HEADER_SZ];
    /* the opcode's fixed-size argument */
    char op_in[FUSE_URING_OP_IN_OUT_SZ];
    struct fuse_uring_ent_in_out ring_ent_in_out;
};

/* SQE commands (IORING_OP_URING_CMD on the /dev/fuse fd) */
enum fuse_uring_cmd {
    FUSE_IO_URING_CMD_INVALID = 0,
    FUSE_IO_URING_CMD_REGISTER = 1,         /* register buffers, fetch */
    FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2, /* reply, then fetch the next */
};

/* In the SQE's command area. */
struct fuse_uring_cmd_req {
    uint64_t flags;
    uint64_t commit_id; /* which entry's request this commits */
    uint16_t qid;       /* queue index (one queue per CPU) */
    uint8_t padding[6];
};

/* ---- Layout checks: sizes as the kernel defines them -------------------- */

#define FUSE_ABI_SIZE(type, size) \
    _Static_assert(sizeof(type) == (size), #type " must be " #size " bytes")

FUSE_ABI_SIZE(struct fuse_attr, 88);
FUSE_ABI_SIZE(struct fuse_sx_time, 16);
FUSE_ABI_SIZE(struct fuse_statx, 256);
FUSE_ABI_SIZE(struct fuse_kstatfs, 80);
FUSE_ABI_SIZE(struct fuse_file_lock, 24);
FUSE_ABI_SIZE(struct fuse_in_header, 40);
FUSE_ABI_SIZE(struct fuse_out_header, 16);
FUSE_ABI_SIZE(struct fuse_entry_out, 128);
FUSE_ABI_SIZE(struct fuse_forget_in, 8);
FUSE_ABI_SIZE(struct fuse_forget_one, 16);
FUSE_ABI_SIZE(struct fuse_batch_forget_in, 8);
FUSE_ABI_SIZE(struct fuse_getattr_in, 16);
FUSE_ABI_SIZE(struct fuse_attr_out, 104);
FUSE_ABI_SIZE(struct fuse_statx_in, 24);
FUSE_ABI_SIZE(struct fuse_statx_out, 288);
FUSE_ABI_SIZE(struct fuse_mknod_in, 16);
FUSE_ABI_SIZE(struct fuse_mkdir_in, 8);
FUSE_ABI_SIZE(struct fuse_rename_in, 8);
FUSE_ABI_SIZE(struct fuse_rename2_in, 16);
FUSE_ABI_SIZE(struct fuse_link_in, 8);
FUSE_ABI_SIZE(struct fuse_setattr_in, 88);
FUSE_ABI_SIZE(struct fuse_open_in, 8);
FUSE_ABI_SIZE(struct fuse_create_in, 16);
FUSE_ABI_SIZE(struct fuse_open_out, 16);
FUSE_ABI_SIZE(struct fuse_release_in, 24);
FUSE_ABI_SIZE(struct fuse_flush_in, 24);
FUSE_ABI_SIZE(struct fuse_read_in, 40);
FUSE_ABI_SIZE(struct fuse_write_in, 40);
FUSE_ABI_SIZE(struct fuse_write_out, 8);
FUSE_ABI_SIZE(struct fuse_statfs_out, 80);
FUSE_ABI_SIZE(struct fuse_fsync_in, 16);
FUSE_ABI_SIZE(struct fuse_setxattr_in, 16);
FUSE_ABI_SIZE(struct fuse_getxattr_in, 8);
FUSE_ABI_SIZE(struct fuse_getxattr_out, 8);
FUSE_ABI_SIZE(struct fuse_lk_in, 48);
FUSE_ABI_SIZE(struct fuse_lk_out, 24);
FUSE_ABI_SIZE(struct fuse_access_in, 8);
FUSE_ABI_SIZE(struct fuse_init_in, 64);
FUSE_ABI_SIZE(struct fuse_init_out, 64);
FUSE_ABI_SIZE(struct cuse_init_in, 16);
FUSE_ABI_SIZE(struct cuse_init_out, 72);
FUSE_ABI_SIZE(struct fuse_interrupt_in, 8);
FUSE_ABI_SIZE(struct fuse_bmap_in, 16);
FUSE_ABI_SIZE(struct fuse_bmap_out, 8);
FUSE_ABI_SIZE(struct fuse_ioctl_in, 32);
FUSE_ABI_SIZE(struct fuse_ioctl_iovec, 16);
FUSE_ABI_SIZE(struct fuse_ioctl_out, 16);
FUSE_ABI_SIZE(struct fuse_poll_in, 24);
FUSE_ABI_SIZE(struct fuse_poll_out, 8);
FUSE_ABI_SIZE(struct fuse_fallocate_in, 32);
FUSE_ABI_SIZE(struct fuse_lseek_in, 24);
FUSE_ABI_SIZE(struct fuse_lseek_out, 8);
FUSE_ABI_SIZE(struct fuse_copy_file_range_in, 56);
FUSE_ABI_SIZE(struct fuse_copy_file_range_out, 8);
FUSE_ABI_SIZE(struct fuse_setupmapping_in, 40);
FUSE_ABI_SIZE(struct fuse_removemapping_in, 4);
FUSE_ABI_SIZE(struct fuse_removemapping_one, 16);
FUSE_ABI_SIZE(struct fuse_syncfs_in, 8);
FUSE_ABI_SIZE(struct fuse_secctx, 8);
FUSE_ABI_SIZE(struct fuse_secctx_header, 8);
FUSE_ABI_SIZE(struct fuse_ext_header, 8);
FUSE_ABI_SIZE(struct fuse_supp_groups, 4);
FUSE_ABI_SIZE(struct fuse_dirent, 24);
FUSE_ABI_SIZE(struct fuse_direntplus, 152);
FUSE_ABI_SIZE(struct fuse_notify_poll_wakeup_out, 8);
FUSE_ABI_SIZE(struct fuse_notify_inval_inode_out, 24);
FUSE_ABI_SIZE(struct fuse_notify_inval_entry_out, 16);
FUSE_ABI_SIZE(struct fuse_notify_delete_out, 24);
FUSE_ABI_SIZE(struct fuse_notify_store_out, 24);
FUSE_ABI_SIZE(struct fuse_notify_retrieve_out, 32);
FUSE_ABI_SIZE(struct fuse_notify_retrieve_in, 40);
FUSE_ABI_SIZE(struct fuse_notify_prune_out, 16);
FUSE_ABI_SIZE(struct fuse_backing_map, 16);
FUSE_ABI_SIZE(struct fuse_uring_ent_in_out, 32);
FUSE_ABI_SIZE(struct fuse_uring_req_header, 288);
FUSE_ABI_SIZE(struct fuse_uring_cmd_req, 24);

_Static_assert(FUSE_NAME_OFFSET == 24, "fuse_dirent name offset");
_Static_assert(FUSE_NAME_OFFSET_DIRENTPLUS == 152,
               "fuse_direntplus name offset");
_Static_assert(offsetof(struct fuse_init_in, flags2) == 16,
               "pre-7.36 fuse_init_in ends before flags2");
_Static_assert(offsetof(struct fuse_init_out, max_pages) == 28 &&
                   offsetof(struct fuse_init_out, flags2) == 32 &&
                   offsetof(struct fuse_init_out, max_stack_depth) == 36 &&
                   offsetof(struct fuse_init_out, request_timeout) == 40,
               "fuse_init_out layout");
_Static_assert(offsetof(struct fuse_setattr_in, mode) == 68,
               "fuse_setattr_in layout");

#undef FUSE_ABI_SIZE

#endif /* FSP_FUSE_ABI_H */
