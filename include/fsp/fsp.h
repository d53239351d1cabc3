/**
 * @file fsp/fsp.h
 * fsp: the File System Proxy for Linux.
 *
 * A file system written with fsp is an ordinary program. It fills in a
 * ::fsp_fs_interface with callbacks, describes its volume with
 * ::fsp_volume_params, and then:
 *
 * @code
 *   fsp_fs_t *fs;
 *   fsp_fs_create(&params, &interface, my_context, &fs);
 *   fsp_fs_mount(fs, "/mnt/point");
 *   fsp_fs_start(fs, 4);        // four worker threads
 *   fsp_fs_wait(fs);            // until unmounted or stopped
 *   fsp_fs_delete(fs);
 * @endcode
 *
 * The model is WinFsp's: calls that name a file by path (open, create,
 * get_file_info_by_name) hand back a *file context*, the file system's own
 * object for that file; every later call receives that file context, never
 * an inode number. fsp keeps the FUSE node table, the open handle table and
 * the paths, and maps each FUSE request onto these callbacks.
 *
 * Conventions, everywhere in this header:
 * - functions return 0 on success or a negative errno value;
 * - callbacks return 0 or a negative errno value, which becomes the reply
 *   (the rules, and what a NULL callback means: ::fsp_fs_interface);
 * - out-parameters are zeroed by fsp before a callback is invoked, and
 *   each callback says which of them fsp reads;
 * - paths are absolute within the volume ("/" is the root, "/a/b" a file),
 *   in the case they were created with, and of any length: a name is at
 *   most NAME_MAX bytes, but a deep tree's paths are longer than PATH_MAX
 *   (PATH_MAX limits one system call's string, not a tree).
 */
#ifndef FSP_FSP_H
#define FSP_FSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks the library's exported functions. */
#define FSP_API __attribute__((visibility("default")))

/** Version of this header: major * 10000 + minor * 100 + patch. */
#define FSP_VERSION 100

/** The volume: one mounted file system. Opaque. */
typedef struct fsp_fs fsp_fs_t;

/**
 * Returned by a callback that will complete later (any callback that
 * returns int, but for the exceptions listed with ::fsp_fs_interface_t);
 * the reply is then sent with fsp_fs_send_response().
 * It is positive so that it can never be mistaken for an errno.
 */
#define FSP_PENDING 0x40000000

/** A timeout value meaning "cache forever" (WinFsp's INFINITE). */
#define FSP_TIMEOUT_INFINITE (-1)

/**
 * Attributes of one file: what stat(2) shows.
 * A file system fills in what it keeps; fsp zeroes the structure first.
 */
typedef struct fsp_file_info {
    uint64_t index_number;    /**< st_ino; 0 lets fsp use the FUSE node id */
    uint64_t size;            /**< st_size, in bytes */
    uint64_t allocation_size; /**< bytes allocated; st_blocks = this / 512 */
    uint32_t mode;            /**< st_mode: file type bits and permissions */
    uint32_t nlink;           /**< st_nlink (0 for an unlinked open file) */
    uint32_t uid;             /**< st_uid */
    uint32_t gid;             /**< st_gid */
    uint32_t rdev;            /**< st_rdev, for device nodes */
    uint32_t reserved;        /**< zero */
    struct timespec atime;    /**< last access */
    struct timespec mtime;    /**< last data modification */
    struct timespec ctime;    /**< last status change */
    struct timespec btime;    /**< creation (birth) time, shown by statx(2);
                                   0 if not known */
} fsp_file_info_t;

/** What statfs(2) shows of a volume. */
typedef struct fsp_volume_info {
    uint64_t total_size;      /**< bytes the volume can hold */
    uint64_t free_size;       /**< bytes still free */
    uint64_t total_files;     /**< files the volume can hold */
    uint64_t free_files;      /**< files that can still be created */
    uint32_t block_size;      /**< preferred I/O size; 0 means 4096 */
    uint32_t max_name_length; /**< longest name; 0 means 255 */
    char label[32];           /**< volume label, NUL-terminated */
} fsp_volume_info_t;

/**
 * Who keeps POSIX ACLs (acl(5)) in step with the files of a volume: the
 * value of fsp_volume_params::posix_acl. With either of the two "on"
 * values fsp asks the kernel for FUSE_POSIX_ACL: the kernel then reads a
 * file's ACLs with get_xattr() ("system.posix_acl_access" and
 * "system.posix_acl_default"), caches them and enforces them
 * (default_permissions is implied), and leaves the umask to the volume,
 * which fsp applies (to a new file whose directory has no default ACL).
 * Both need extended_attributes and the get_xattr() and set_xattr()
 * callbacks; without them the volume has no ACLs, as with
 * FSP_POSIX_ACL_OFF. The rules fsp follows are the kernel's for its own
 * file systems (docs/SEMANTICS.md, "POSIX ACLs").
 */
enum fsp_posix_acl {
    /** No ACLs: the two names are ordinary xattrs, never consulted; the
     *  kernel applies the umask. */
    FSP_POSIX_ACL_OFF = 0,
    /**
     * fsp does for the file system what the kernel does for a local one,
     * through its xattr and attribute callbacks, so that a file system
     * needs nothing but an xattr store:
     * - setting "system.posix_acl_access" sets the file's mode to the
     *   ACL's (set_basic_info() with FSP_SET_MODE); an ACL that says no
     *   more than a mode is not stored at all (remove_xattr()), so
     *   get_xattr() answers -ENODATA and `ls -l` shows no '+'; an
     *   invalid ACL fails with EINVAL;
     * - chmod keeps a stored access ACL in step (its owner, group-class
     *   and other entries take the new mode's bits);
     * - a new file, directory, device or socket inherits its directory's
     *   default ACL: create() gets the mode masked by it, then the new
     *   file's access ACL (and a directory's default ACL) are set with
     *   set_xattr() on create()'s file context;
     * - in a set-group-ID directory a new file takes the directory's
     *   group, and a new directory is set-group-ID too (ci->gid, ci->mode);
     * - an ACL set by a caller outside the file's group and without
     *   CAP_FSETID clears the file's set-group-ID bit;
     * - removing an ACL the file does not have succeeds.
     * Setting an access ACL also needs get_file_info(), set_basic_info()
     * and remove_xattr() (-EOPNOTSUPP without them). Each step is a
     * callback of its own and may complete later (FSP_PENDING). If
     * setting a new file's ACL fails, the request fails, but the file
     * has been made.
     */
    FSP_POSIX_ACL_FSP = 1,
    /**
     * The file system keeps ACLs itself (a pass-through file system whose
     * backing file system does, like ptfs over ext4): fsp passes the
     * xattrs through unchanged and does not create or inherit them; it
     * still applies the umask where the directory has no default ACL
     * (create() gets the mode as a local file system would), and clears
     * set-group-ID where the kernel asks (set_basic_info() with
     * FSP_SET_MODE after set_xattr()).
     */
    FSP_POSIX_ACL_FILE_SYSTEM = 2,
};

/**
 * When a volume's access times follow reads: the value of
 * fsp_volume_params::atime, passed to mount(2) as the mount flag of the
 * same name and shown in /proc/mounts. The kernel never updates the
 * access time of a FUSE file itself (it marks every FUSE inode
 * S_NOATIME, whatever the mount flags say): the file system keeps it, as
 * the policy says, in its read() and read_directory() callbacks, and
 * fsp_fs_atime_due() answers whether one is due. After a READ or READDIR
 * the kernel forgets the access time it cached, so stat(2) then shows the
 * file system's. Reads the kernel serves from its page cache (or a
 * listing from its cached one) reach no callback and update nothing.
 */
enum fsp_atime_policy {
    /** relatime, the default (as for other file systems): an access
     *  updates the access time when it is not later than the
     *  modification or change time, or is more than a day old. */
    FSP_ATIME_RELATIME = 0,
    /** strictatime: every access updates it. */
    FSP_ATIME_STRICT = 1,
    /** noatime: no access updates it (nor a directory's). */
    FSP_ATIME_NEVER = 2,
};

/**
 * The volume parameters: fixed when the volume is created.
 * Initialize with fsp_volume_params_init(), then change what you need.
 */
typedef struct fsp_volume_params {
    /** Name of the file system: mounts show type "fuse.NAME"; an empty
     *  name mounts with the plain type "fuse" (no subtype), as tools that
     *  compare the type with "fuse" expect (xfstests' FSTYP=fuse); NULL
     *  means "fsp". */
    const char *fs_name;
    /** Source shown in /proc/mounts; defaults to fs_name (to "fuse" when
     *  fs_name is empty). */
    const char *source;
    /** How long the kernel may cache a file's entry and attributes, in
     *  milliseconds; 0 asks every time, FSP_TIMEOUT_INFINITE caches forever. */
    int64_t file_info_timeout_ms;
    /** The same for directories. */
    int64_t dir_info_timeout_ms;
    /** How long the kernel may remember that a name does not exist. */
    int64_t negative_timeout_ms;
    /** Largest read request, in bytes (0: 1 MiB, the kernel's maximum). */
    uint32_t max_read;
    /** Largest write request, in bytes (0: 1 MiB). */
    uint32_t max_write;
    /** The volume refuses every change (EROFS) and is mounted read-only. */
    bool read_only;
    /** The kernel checks permissions from mode, uid and gid
     *  (mount option default_permissions). On by default. */
    bool default_permissions;
    /** Users other than the mounting one may use the volume. */
    bool allow_other;
    /** Mount over a directory that is not empty. */
    bool nonempty;
    /** Unmount automatically when the daemon dies, even by SIGKILL.
     *  On by default. */
    bool auto_unmount;
    /** Let the kernel cache writes and send them later (writeback cache). */
    bool writeback_cache;
    /** Keep a file's cached pages when it is opened again
     *  (FOPEN_KEEP_CACHE); useful with long timeouts. */
    bool keep_cache;
    /** Extended attributes are supported (the *_xattr callbacks). */
    bool extended_attributes;
    /** POSIX ACLs (an ::fsp_posix_acl); FSP_POSIX_ACL_OFF by default. */
    uint8_t posix_acl;
    /** Call cleanup only for files that were modified through the handle. */
    bool post_cleanup_when_modified_only;
    /**
     * Names are compared without regard to case (WinFsp's case-insensitive
     * volumes): "/Foo" and "/FOO" name the same file. fsp then folds case
     * in its own name table and never lets the kernel cache a name
     * (its cache is case-sensitive: a stale spelling could hide a new
     * file or show a removed one); attributes are still cached, and each
     * path component costs a lookup. The file system must find names by
     * any case in its callbacks (fsp_name_compare() does the folding) and
     * keep the case a name was created with for read_directory().
     */
    bool case_insensitive;
    /**
     * The file system keeps no per-open state: one file context per file
     * serves every open of it. fsp then answers the kernel's OPEN and
     * OPENDIR with ENOSYS, after which the kernel sends no OPEN, OPENDIR,
     * RELEASE or RELEASEDIR for the rest of the mount: an open(2) and
     * close(2) of an existing file cost no request at all. What changes
     * for the file system:
     * - open() is called once per file, with FSP_OPEN_META, when a request
     *   first needs the file (the node's meta context, see
     *   docs/ARCHITECTURE.md), and close() when the kernel forgets the
     *   file. That one context serves read, write, read_directory,
     *   flush and allocate as well as the attribute calls, so it must
     *   allow data access whatever flags it was opened with.
     * - cleanup() is never called (the kernel sends no RELEASE, not even
     *   for files made by create()). The context create() returns becomes
     *   the new file's meta context: it serves every later request on the
     *   file (so it too must allow data access whatever flags it was
     *   created with), and close() is called when the kernel forgets the
     *   file, as for a context from open(FSP_OPEN_META).
     * - Kernel passthrough (get_backing_file) is not used: a backing file
     *   can be named only in an OPEN reply.
     * - O_TRUNC arrives as set_file_size(0) instead of overwrite(), and
     *   O_APPEND writes still carry FSP_WRITE_TO_END_OF_FILE.
     * - A new regular file comes to create() with no open flags: fsp
     *   answers the first CREATE ENOSYS, so the kernel creates with MKNOD
     *   and opens without a request (a create then costs no RELEASE).
     * - The kernel keeps a file's cached pages and a directory's cached
     *   listing across opens (its defaults without OPEN: FOPEN_KEEP_CACHE,
     *   FOPEN_CACHE_DIR); it still drops them when the attributes it
     *   fetches show a new mtime or size, or after fsp_fs_notify().
     * - Permissions are checked by the kernel as before
     *   (default_permissions); a read-only volume is mounted read-only.
     */
    bool per_file_context;

    /**
     * Serve requests through FUSE over io_uring (Linux 6.14+): one ring
     * per possible CPU, each served by a thread pinned to that CPU, which
     * saves the read(2)/write(2) pair of every request. FORGET, INTERRUPT
     * and notifications still go through /dev/fuse, whose worker threads
     * keep running. Needs the fuse module parameter enable_uring (as root:
     * echo Y > /sys/module/fuse/parameters/enable_uring) and io_uring not
     * disabled by /proc/sys/kernel/io_uring_disabled. When the kernel does
     * not allow it, or the rings cannot be set up, the volume logs one
     * line saying why and serves on /dev/fuse as usual. `fsptool lsvol`
     * shows the channel in use ("io_uring" or "dev").
     */
    bool io_uring;

    /**
     * Seconds the kernel waits for the answer to any request before it
     * gives up on the volume and aborts the connection (FUSE_REQUEST_TIMEOUT,
     * protocol 7.43): a volume whose server stops answering then fails its
     * callers instead of hanging them (ECONNABORTED for the requests in
     * flight, ENOTCONN after), and the dispatcher stops. The kernel checks
     * about every 15 s, so the abort comes up to that much after the
     * limit; it also caps the value by /proc/sys/fs/fuse/max_request_timeout
     * when that is set. A volume that pends requests for long on purpose
     * (a blocking lock) must not set it below that wait. 0 (the default):
     * no limit of the volume's own (the kernel's
     * /proc/sys/fs/fuse/default_request_timeout applies). Kernels without
     * the feature ignore it.
     */
    uint16_t request_timeout_s;

    /**
     * Let the volume be seen through idmapped mounts (FUSE_ALLOW_IDMAP,
     * Linux 6.12): mount_setattr(2) with MOUNT_ATTR_IDMAP may then make
     * views of it whose owners are shifted through a user namespace's
     * mapping, and the kernel maps the owner it sends in CREATE, MKDIR,
     * MKNOD and SYMLINK (fsp_create_info_t's uid and gid). The price: in
     * every other request the kernel no longer says who asks, so
     * fsp_fs_operation_context() reports uid and gid FSP_UNKNOWN_ID there.
     * Only with default_permissions (the kernel's checks are what make the
     * views safe); ignored without it. Off by default; memfs, ptfs and
     * sqlfs set it.
     */
    bool allow_idmap;

    /**
     * Set-user-ID and set-group-ID bits take effect when a program of the
     * volume runs (the mount has no MS_NOSUID; option `suid`). Only a
     * volume mounted by root may set it: fusermount3 mounts an ordinary
     * user's volume nosuid, so fsp_fs_mount() then fails with -EPERM and
     * says so. Off by default (nosuid).
     */
    bool allow_setuid;
    /**
     * Device nodes of the volume can be opened (the mount has no
     * MS_NODEV; option `dev`): the kernel then opens the device a
     * character or block node names, without asking the file system.
     * Root only, as allow_setuid. Off by default (nodev: opening a device
     * node fails with EACCES).
     */
    bool allow_devices;
    /** When reads update access times: an ::fsp_atime_policy
     *  (FSP_ATIME_RELATIME by default). */
    uint8_t atime;
    /** Listing a directory never updates its access time (nodiratime);
     *  reads of files follow atime. */
    bool nodiratime;
} fsp_volume_params_t;

/**
 * Information for create(): what kind of file to make and for whom.
 */
typedef struct fsp_create_info {
    uint32_t mode;            /**< type bits (S_IFREG, S_IFDIR, S_IFLNK,
                                   S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK) and
                                   permissions, umask already applied
                                   (with posix_acl by fsp, or masked by
                                   the directory's default ACL instead;
                                   a directory made in a set-group-ID
                                   one has S_ISGID with
                                   FSP_POSIX_ACL_FSP) */
    uint32_t rdev;            /**< device number for S_IFCHR / S_IFBLK */
    uint32_t uid;             /**< owner: the caller's fsuid */
    uint32_t gid;             /**< group: the caller's fsgid, or with
                                   FSP_POSIX_ACL_FSP the directory's if
                                   it is set-group-ID; otherwise a file
                                   system with set-group-ID directories
                                   overrides it */
    int flags;                /**< open(2) flags for S_IFREG (O_RDWR, ...) */
    const char *link_target;  /**< target for S_IFLNK, as written */
} fsp_create_info_t;

/** Bits of the valid mask given to set_basic_info(). */
enum fsp_set_basic_info_bits {
    FSP_SET_MODE = 1 << 0,      /**< change permission bits (mode) */
    FSP_SET_UID = 1 << 1,       /**< change owner */
    FSP_SET_GID = 1 << 2,       /**< change group */
    FSP_SET_ATIME = 1 << 3,     /**< set atime to info->atime */
    FSP_SET_MTIME = 1 << 4,     /**< set mtime to info->mtime */
    FSP_SET_ATIME_NOW = 1 << 5, /**< set atime to the current time */
    FSP_SET_MTIME_NOW = 1 << 6, /**< set mtime to the current time */
    FSP_SET_CTIME = 1 << 7,     /**< set ctime to info->ctime */
    /** Clear set-user-ID and set-group-ID as a write by the request's
     *  caller does: the new mode is
     *  fsp_fs_mode_after_kill_suid(mode, gid) of the file's mode and
     *  group (after any FSP_SET_UID / FSP_SET_GID of the same call). */
    FSP_SET_KILL_SUID = 1 << 8,
};

/** Flags for open() beyond the open(2) ones. */
enum fsp_open_flags {
    /** Opened only to read or change attributes, names or extended
     *  attributes, never data: what WinFsp calls an open with
     *  FILE_READ_ATTRIBUTES access. Works on every type of file. */
    FSP_OPEN_META = 1 << 30,
};

/** Flags for rename(). */
enum fsp_rename_flags {
    FSP_RENAME_NOREPLACE = 1 << 0, /**< fail with EEXIST if new_path exists */
    FSP_RENAME_EXCHANGE = 1 << 1,  /**< swap the two names atomically */
    /** In the same atomic step, leave at path a whiteout: a character
     *  device 0:0 (RENAME_WHITEOUT), which overlayfs reads as "deleted in
     *  this layer"; it needs one to use the volume as its upper layer.
     *  Never with FSP_RENAME_EXCHANGE. A file system without whiteouts
     *  answers -EINVAL. */
    FSP_RENAME_WHITEOUT = 1 << 2,
};

/** Flags for write(). */
enum fsp_write_flags {
    /** Ignore the offset and append at the end of the file (O_APPEND). */
    FSP_WRITE_TO_END_OF_FILE = 1 << 0,
};

/**
 * A POSIX byte-range lock, as get_lock() and set_lock() see it.
 */
typedef struct fsp_lock {
    /** Who holds it: the kernel's lock owner, an opaque number. For
     *  fcntl(2) locks, one per process (its table of descriptors); for
     *  F_OFD_ locks, one per open file. Equal numbers, same owner. */
    uint64_t owner;
    uint64_t start;  /**< its first byte */
    uint64_t end;    /**< its last byte; INT64_MAX: to the end of the file,
                          however long it grows */
    uint32_t type;   /**< F_RDLCK, F_WRLCK or F_UNLCK */
    uint32_t pid;    /**< the process that sets it (0 for F_UNLCK and in
                          get_lock()'s question) or, for a conflict, that
                          holds it, as the volume's pid namespace sees it */
} fsp_lock_t;

/** Flags for set_lock(). */
enum fsp_lock_flags {
    /** F_SETLKW: wait for a conflicting lock to go, rather than fail. */
    FSP_LOCK_WAIT = 1 << 0,
    /** The owner closed a descriptor of the file: drop all its locks on
     *  the file and end its waiting requests. */
    FSP_LOCK_CLOSE = 1 << 1,
};

/** Opaque buffer that read_directory() fills with fsp_dir_buffer_add(). */
typedef struct fsp_dir_buffer fsp_dir_buffer_t;

/**
 * Add one entry to a directory listing, from inside read_directory().
 *
 * @param buf   the buffer read_directory() was given
 * @param name  the entry's name (not "." or "..": fsp adds those)
 * @param info  the entry's attributes; at least mode must be set
 * @return true if the entry was taken; false if the buffer is full, in which
 *         case the entry was not added and read_directory() should return 0:
 *         it will be called again with this name's predecessor as marker.
 */
FSP_API bool fsp_dir_buffer_add(fsp_dir_buffer_t *buf, const char *name,
                        const fsp_file_info_t *info);

/**
 * The callbacks of a file system.
 *
 * Callbacks run on the dispatcher's worker threads, several at a time;
 * the file system synchronizes its own data.
 *
 * **Returns.** Every callback that returns int returns 0 or a negative
 * errno value, which becomes the caller's error (the values listed with
 * each callback are the usual ones, not the only ones allowed).
 *
 * **Completing later.** Every such callback may also return FSP_PENDING
 * and complete the request later, from any thread, with
 * fsp_fs_send_response(): a network file system answers each call when
 * the network does, and no worker thread waits for it. What the callback
 * would have written into its out-parameters then travels in the
 * ::fsp_response_t (file_info, file_context, volume_info,
 * bytes_transferred, lock, poll_events: each callback says which). A
 * lock that must wait is the natural case (set_lock()). The exceptions,
 * which must answer at once: open() with FSP_OPEN_META (fsp opens those
 * in the middle of other requests, for their attributes; such an open
 * should cost no I/O), and get_backing_file(). Any other value (a positive one,
 * FSP_PENDING where it is not allowed, below -4095) is a bug of the file
 * system: the request fails with EIO and fsp logs a line (see
 * fsp_fs_set_log_handler()).
 *
 * **Out-parameters** are zeroed by fsp before the call. Each callback
 * says which of them fsp reads; a file system may leave the rest alone.
 * Where "its attributes" are read, that is every field of
 * ::fsp_file_info_t but reserved: they become what stat(2) shows, for as
 * long as the volume's info timeouts let the kernel cache them. btime is
 * shown only by statx(2) with STATX_BTIME, and only when it is not zero
 * (0 means "not known").
 *
 * **A NULL callback** means "not supported": fsp answers the requests it
 * would serve with ENOSYS (FUSE's "not implemented"; for xattrs the
 * kernel then answers EOPNOTSUPP itself without asking again). The
 * exceptions:
 * - get_volume_info: statfs succeeds, with zero sizes and counts, blocks
 *   of 4096 bytes and names of up to 255;
 * - get_file_info: stat of an open file asks get_file_info_by_name() by
 *   the file's current path;
 * - get_reparse_point_by_name: readlink uses get_reparse_point() (ENOSYS
 *   only if both are NULL);
 * - overwrite: an open(2) with O_TRUNC of a regular file for writing
 *   fails with ENOSYS (but see per_file_context, which truncates with
 *   set_file_size() instead);
 * - flush: fsync(2), fdatasync(2) and syncfs(2) succeed: nothing is
 *   buffered above the kernel;
 * - allocate: fallocate(2) fails with EOPNOTSUPP, what a file system
 *   without fallocate answers;
 * - seek: lseek(2) with SEEK_DATA or SEEK_HOLE is answered by the kernel
 *   from the file's size (all data, one hole at the end);
 * - copy_file_range: the kernel copies by reading and writing;
 * - create_tmpfile: open(2) with O_TMPFILE fails with EOPNOTSUPP;
 * - cleanup, close, dispatcher_stopped: nothing is called;
 * - get_backing_file: no kernel passthrough, every read and write comes
 *   to read() and write();
 * - get_lock, set_lock, flock: the kernel keeps POSIX locks (unless
 *   both get_lock and set_lock are set) and flock locks itself, for this
 *   mount alone;
 * - ioctl: ENOTTY, what ioctl(2) answers for an unknown command;
 * - poll: every file is always ready (the kernel's default);
 * - open is needed beyond open(2): a request on a file that no open of
 *   the kernel names (unlink, rmdir, rename, link, chmod, chown, utimens,
 *   truncate by path, xattrs, readlink through get_reparse_point) runs on
 *   the file's *meta context*, which fsp gets from open(path,
 *   FSP_OPEN_META). With open NULL those requests fail with ENOSYS too,
 *   even when their own callback is set; stat and lookup do not need it
 *   (get_file_info_by_name), nor do mkdir, mknod and symlink (create).
 */
typedef struct fsp_fs_interface {
    /**
     * Report sizes and free space (statfs).
     * @param fs    the volume
     * @param info  out: the volume's figures; fsp reads every field but
     *              label
     * @return 0 or -errno
     */
    int (*get_volume_info)(fsp_fs_t *fs, fsp_volume_info_t *info);

    /**
     * Look up a file by path and report its attributes without opening it
     * (the kernel's LOOKUP, and stat of a name nobody has open).
     * @param info  out: its attributes, all read
     * @return 0, -ENOENT if it does not exist, -ENOTDIR if a directory
     *         in the path is not one
     */
    int (*get_file_info_by_name)(fsp_fs_t *fs, const char *path,
                                 fsp_file_info_t *info);

    /**
     * Create a new file, directory, symbolic link or special file.
     * The parent directory exists (fsp checked); the name does not
     * (-EEXIST otherwise, which the file system must still check).
     * @param fs        the volume
     * @param path      path of the new file
     * @param ci        what to create and for whom
     * @param file_ctx  out: the file system's object for the new file,
     *                  open as if by open() with ci->flags; read, and
     *                  given to close() once fsp is done with it
     * @param info      out: its attributes, all read
     * @return 0, -EEXIST, -ENOSPC, -ENAMETOOLONG, ...
     */
    int (*create)(fsp_fs_t *fs, const char *path, const fsp_create_info_t *ci,
                  void **file_ctx, fsp_file_info_t *info);

    /**
     * Open an existing file.
     * @param path   the file's path, valid only during the call: a file
     *               context must not keep it (copy it if needed)
     * @param flags  open(2) flags (O_ACCMODE bits, O_APPEND, O_DIRECTORY...)
     *               or FSP_OPEN_META for an attributes-only open. O_TRUNC
     *               is never passed: fsp calls overwrite() after open().
     * @param file_ctx out: the file system's object for this open, read,
     *               and given to close() once fsp is done with it; never
     *               @p path itself, which fsp frees after the call
     * @param info   out: the file's attributes; fsp reads mode (the file
     *               type: O_TRUNC and passthrough apply to regular files
     *               only), and nothing for FSP_OPEN_META
     * @return 0, -ENOENT, -EACCES, -EISDIR, ...
     */
    int (*open)(fsp_fs_t *fs, const char *path, int flags, void **file_ctx,
                fsp_file_info_t *info);

    /**
     * Truncate a file just opened for writing with O_TRUNC to zero length.
     * Called right after open(); the same file context.
     * @return 0 or -errno (the open then fails, and the context is closed)
     */
    int (*overwrite)(fsp_fs_t *fs, void *file_ctx);

    /**
     * The last close of an open: the kernel released the handle.
     * Called before close(). Optional.
     * @param path   the file's current path, or NULL if it was unlinked
     */
    void (*cleanup)(fsp_fs_t *fs, void *file_ctx, const char *path);

    /**
     * Release a file context returned by open() or create(): fsp will not
     * use it again.
     */
    void (*close)(fsp_fs_t *fs, void *file_ctx);

    /**
     * Read data.
     * @param buf     where to put it; length bytes available
     * @param offset  file offset
     * @param bytes_transferred out: bytes read, read (with FSP_PENDING:
     *                fsp_response_t::bytes_transferred instead); less than
     *                length only at end of file
     * @return 0, -EISDIR, -EIO, ...; FSP_PENDING to complete later
     */
    int (*read)(fsp_fs_t *fs, void *file_ctx, void *buf, uint64_t offset,
                size_t length, size_t *bytes_transferred);

    /**
     * Write data. The kernel updates the file's size and times it caches
     * by itself and asks for them again (get_file_info()) when they
     * expire, so a write reports only how much it wrote.
     * @param flags   FSP_WRITE_TO_END_OF_FILE to append
     * @param bytes_transferred out: bytes written, read (with FSP_PENDING:
     *                fsp_response_t::bytes_transferred instead)
     * @return 0, -ENOSPC, -EFBIG, ...; FSP_PENDING to complete later
     */
    int (*write)(fsp_fs_t *fs, void *file_ctx, const void *buf,
                 uint64_t offset, size_t length, int flags,
                 size_t *bytes_transferred);

    /**
     * Make a file's data durable (fsync, fdatasync).
     * @param file_ctx the file; NULL to flush the whole volume (syncfs)
     * @return 0, -EIO, ...
     */
    int (*flush)(fsp_fs_t *fs, void *file_ctx);

    /**
     * Report an open file's attributes (fstat), or a known file's through
     * its meta context. Also serves statx(2) when it asks for the birth
     * time (the kernel's STATX request), for which btime is read too;
     * get_file_info_by_name() serves it when no context is open.
     * @param info  out: its attributes, all read
     * @return 0 or -errno
     */
    int (*get_file_info)(fsp_fs_t *fs, void *file_ctx, fsp_file_info_t *info);

    /**
     * Change mode, owner and times (chmod, chown, utimensat).
     * @param valid   which fields of @p new_info to apply: FSP_SET_* bits
     * @param new_info the new values
     * @param info    out: the file's attributes afterwards, all read
     * @return 0, -EPERM, -EINVAL, ...
     */
    int (*set_basic_info)(fsp_fs_t *fs, void *file_ctx, uint32_t valid,
                          const fsp_file_info_t *new_info,
                          fsp_file_info_t *info);

    /**
     * Change a file's size (truncate, ftruncate).
     * @param info    out: the file's attributes afterwards, all read
     *                (unless set_basic_info() runs next, in the same
     *                request, and reports them)
     * @return 0, -EFBIG, -ENOSPC, -EISDIR, ...
     */
    int (*set_file_size)(fsp_fs_t *fs, void *file_ctx, uint64_t new_size,
                         fsp_file_info_t *info);

    /**
     * Allocate, punch or zero space in an open regular file (fallocate(2)).
     * Every mode the kernel passes on comes here as it is; those it sends:
     * - 0: allocate [offset, offset + length) and grow the file to its
     *   end if it is shorter;
     * - FALLOC_FL_KEEP_SIZE: allocate without changing the size (space
     *   beyond end of file);
     * - FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE (the kernel refuses
     *   PUNCH_HOLE alone): the range reads as zeros and its space may be
     *   given back; the size stays;
     * - FALLOC_FL_ZERO_RANGE, with or without FALLOC_FL_KEEP_SIZE: the
     *   range reads as zeros and is allocated; without KEEP_SIZE the
     *   file grows to the range's end if it is shorter.
     * The kernel itself refuses the modes FUSE never sends (collapse,
     * insert and unshare range come back EOPNOTSUPP without a request).
     * @param file_ctx the open file, open for writing
     * @param mode    the fallocate(2) mode bits, above
     * @param offset  start of the range
     * @param length  its length, never 0
     * @return 0, -EOPNOTSUPP for a mode not supported (the caller's
     *         fallocate(2) then fails so), -ENOSPC, -EFBIG, ...;
     *         FSP_PENDING to complete later
     */
    int (*allocate)(fsp_fs_t *fs, void *file_ctx, int mode, uint64_t offset,
                    uint64_t length);

    /**
     * Remove the name @p path of the file @p file_ctx (unlink, rmdir).
     * The file lives on while it is open. For a directory, fail with
     * -ENOTEMPTY unless it is empty. Needs open() too (see above).
     * @return 0, -ENOTEMPTY, -EBUSY, -EPERM, ...
     */
    int (*unlink)(fsp_fs_t *fs, void *file_ctx, const char *path);

    /**
     * Rename @p path (the file @p file_ctx) to @p new_path.
     * Without flags an existing new_path is replaced (a directory only by
     * an empty directory: -ENOTEMPTY, -EISDIR, -ENOTDIR otherwise).
     * Needs open() too (see above).
     * @param flags  FSP_RENAME_NOREPLACE, FSP_RENAME_EXCHANGE,
     *               FSP_RENAME_WHITEOUT (alone or with NOREPLACE)
     * @return 0, -EEXIST (NOREPLACE), -ENOENT (EXCHANGE with no
     *         new_path), -ENOTEMPTY, -EISDIR, -ENOTDIR, -EINVAL (a
     *         directory into itself, or flags the file system does not
     *         support), ...
     */
    int (*rename)(fsp_fs_t *fs, void *file_ctx, const char *path,
                  const char *new_path, unsigned flags);

    /**
     * Give the file @p file_ctx a new name (hard link). Needs open() too
     * (see above).
     * @param info out: the file's attributes afterwards, all read
     * @return 0, -EEXIST, -EMLINK, -EPERM, ...
     */
    int (*link)(fsp_fs_t *fs, void *file_ctx, const char *new_path,
                fsp_file_info_t *info);

    /**
     * List a directory, in a stable order, resuming after @p marker.
     * @param marker  NULL to start at the beginning, else the name of the
     *                last entry already returned
     * @param buf     add entries with fsp_dir_buffer_add() until it says
     *                the buffer is full or the directory is done
     * @return 0 or -errno; FSP_PENDING to complete later
     */
    int (*read_directory)(fsp_fs_t *fs, void *file_ctx, const char *marker,
                          fsp_dir_buffer_t *buf);

    /**
     * Read a symbolic link's target (the reparse point's data).
     * @param buf     where to put the target, NUL-terminated; read
     * @param size    size of buf
     * @return 0, -EINVAL if not a link, -ENAMETOOLONG if it does not fit
     */
    int (*get_reparse_point)(fsp_fs_t *fs, void *file_ctx, char *buf,
                             size_t size);

    /**
     * Read a symbolic link's target by path, without opening the file.
     * Optional: when set, fsp prefers it to get_reparse_point() for
     * readlink. It lets a file system answer "this name is a link to X"
     * for names it does not store as links (a redirection, a junction):
     * get_file_info_by_name() reports S_IFLNK and this call the target.
     * @param path    the link's path
     * @param buf     where to put the target, NUL-terminated; read
     * @param size    size of buf
     * @return 0, -EINVAL if not a link, -ENOENT, -ENAMETOOLONG
     */
    int (*get_reparse_point_by_name)(fsp_fs_t *fs, const char *path,
                                     char *buf, size_t size);

    /**
     * Read an extended attribute. The four xattr callbacks are used only
     * with the volume parameter extended_attributes.
     * @param buf     where to put the value (NULL when size is 0); read
     * @param size    size of buf; 0 asks only for the value's length
     * @param length  out: the value's length, read; more than size fails
     *                the request with ERANGE
     * @return 0, -ENODATA if absent, -ERANGE if size is too small
     */
    int (*get_xattr)(fsp_fs_t *fs, void *file_ctx, const char *name,
                     void *buf, size_t size, size_t *length);

    /**
     * Set an extended attribute.
     * @param flags  XATTR_CREATE (fail -EEXIST if present) or
     *               XATTR_REPLACE (fail -ENODATA if absent) or 0
     * @return 0, -EEXIST, -ENODATA, -ENOSPC, -E2BIG
     */
    int (*set_xattr)(fsp_fs_t *fs, void *file_ctx, const char *name,
                     const void *value, size_t size, int flags);

    /**
     * List extended attribute names, each NUL-terminated, one after another.
     * @param buf     where to put them (NULL when size is 0); read
     * @param size    size of buf; 0 asks only for the total length
     * @param length  out: the list's total length, read; more than size
     *                fails the request with ERANGE
     * @return 0 or -ERANGE if size is too small
     */
    int (*list_xattr)(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                      size_t *length);

    /** Remove an extended attribute. @return 0 or -ENODATA */
    int (*remove_xattr)(fsp_fs_t *fs, void *file_ctx, const char *name);

    /**
     * The dispatcher has stopped: no callback runs any more.
     * @param normally true after an unmount or fsp_fs_stop(), false after
     *                 an error on the channel
     */
    void (*dispatcher_stopped)(fsp_fs_t *fs, bool normally);

    /**
     * Kernel passthrough (Linux 6.9+, FUSE_PASSTHROUGH): name the file
     * that holds an open regular file's data, so that the kernel reads,
     * writes and maps it (read, write, splice, mmap) by itself, with no
     * request to the file system. Optional; setting it asks the kernel
     * for passthrough at mount time (never with writeback_cache, which
     * the kernel does not combine with it).
     *
     * Called after open() (not FSP_OPEN_META) or create() of a regular
     * file, before the kernel gets the reply. The descriptor only has to
     * be valid during the call (the kernel takes its own reference); it
     * must be open on a regular file of a file system that stacks on no
     * other (ext4, xfs, btrfs, tmpfs; not overlayfs nor another FUSE
     * mount), else that file is served in user space. The kernel opens
     * the backing file anew for each open, with the caller's open flags
     * (O_DIRECT included), so the descriptor's own mode does not matter.
     *
     * For a passthrough open, read() and write() are never called: the
     * kernel writes to the backing file, grows the file's size itself and
     * drops its cached attributes, so the next stat calls
     * get_file_info() (or get_file_info_by_name()), which must report
     * the backing file's size and times. Everything else still comes to
     * the file system: attributes (truncate, chmod, utimensat), allocate,
     * flush (fsync), xattrs, cleanup and close. With
     * post_cleanup_when_modified_only, a passthrough open for writing
     * counts as modified.
     *
     * So that a write need not ask for "security.capability" first, fsp
     * then also lets the kernel leave clearing set-user-ID and
     * set-group-ID to the file system (FUSE_HANDLE_KILLPRIV_V2): fsp
     * calls set_basic_info(FSP_SET_KILL_SUID) before a write or after an
     * O_TRUNC open that the kernel flags, and before the allocate() of a
     * caller other than root (FALLOCATE carries no flag), which must
     * clear S_ISUID, and
     * S_ISGID when group execution is allowed. A file with those bits is
     * opened without passthrough (the callback's answer is not used),
     * since its writes must come to the file system.
     *
     * The kernel serves all concurrent opens of one file the same way,
     * through one backing file. fsp registers the descriptor of the first
     * passthrough open and uses it for every open of the file until the
     * last one closes; an open of a file already open with user-space
     * I/O gets user-space I/O too (this callback is still called, its
     * answer unused). Declining while the file is open with passthrough
     * fails that open with -EBUSY.
     *
     * Registering a backing file needs CAP_SYS_ADMIN in the initial user
     * namespace. Without it fsp logs one line and serves every file in
     * user space from then on, without calling this callback again.
     *
     * @param file_ctx the open file
     * @param fd       out: the descriptor (fsp sets it to -1 first), read;
     *                 fsp never closes it
     * @return 0; -ENOSYS or -EOPNOTSUPP to serve this open's I/O through
     *         read() and write(); other errors fail the open
     */
    int (*get_backing_file)(fsp_fs_t *fs, void *file_ctx, int *fd);

    /* ---- lseek, copy_file_range, O_TMPFILE (protocol 7.45) ---- */

    /**
     * Find data or a hole in an open regular file: lseek(2) with
     * SEEK_DATA or SEEK_HOLE (the kernel answers SEEK_SET, SEEK_CUR and
     * SEEK_END by itself). Optional: with NULL fsp answers ENOSYS once,
     * and from then on the kernel answers these itself for the whole
     * mount, from the file's size: everything before end of file is
     * data, end of file is the only hole. Return -ENOSYS for the same.
     * @param file_ctx the open file
     * @param offset   where the search starts (never beyond 2^63 - 1)
     * @param whence   SEEK_DATA: find the first byte of data at or after
     *                 @p offset; SEEK_HOLE: the first byte of a hole at or
     *                 after it (end of file counts as a hole)
     * @param result   out: the offset found, read (with FSP_PENDING:
     *                 fsp_response_t::offset instead). It must be at least
     *                 @p offset and at most 2^63 - 1; anything else is a
     *                 bug of the file system: the request fails with EIO
     *                 and fsp logs a line
     * @return 0; -ENXIO when @p offset is at or beyond end of file, or
     *         SEEK_DATA finds no data after it; -ENOSYS (as NULL); other
     *         errors fail the lseek; FSP_PENDING to complete later
     */
    int (*seek)(fsp_fs_t *fs, void *file_ctx, uint64_t offset, int whence,
                uint64_t *result);

    /**
     * Copy a range of bytes between two open regular files of the volume,
     * inside the file system (copy_file_range(2)): a server-side copy, a
     * reflink, shared pages. The kernel sends either form of the request,
     * COPY_FILE_RANGE_64 (7.45) or, on older kernels, COPY_FILE_RANGE,
     * whose reply holds 32 bits (it then asks for less than 4 GiB at a
     * time); both come here. The two ranges never overlap when the files
     * are one (the kernel checks). The destination grows when the copy
     * ends beyond its size; a hole in the source may stay a hole.
     * Optional: with NULL fsp answers ENOSYS once, after which the kernel
     * copies by reading and writing, for the whole mount.
     * @param src_ctx      the open file to read (open for reading)
     * @param src_offset   where to read
     * @param dst_ctx      the open file to write (open for writing; may
     *                     be @p src_ctx)
     * @param dst_offset   where to write
     * @param length       bytes asked for
     * @param flags        copy_file_range(2)'s flags: 0 today
     * @param bytes_copied out: bytes copied, read (with FSP_PENDING:
     *                     fsp_response_t::bytes_transferred instead): at
     *                     most @p length, fewer only at the source's end
     *                     of file (0 from at or beyond it). More than
     *                     @p length is a bug of the file system: the
     *                     request fails with EIO and fsp logs a line
     * @return 0, -ENOSPC, -EFBIG, -EISDIR, -EINVAL, ...; -EOPNOTSUPP or
     *         -EXDEV: the kernel copies this range by reading and
     *         writing; -ENOSYS: as NULL; FSP_PENDING to complete later
     */
    int (*copy_file_range)(fsp_fs_t *fs, void *src_ctx, uint64_t src_offset,
                           void *dst_ctx, uint64_t dst_offset,
                           size_t length, uint32_t flags,
                           size_t *bytes_copied);

    /**
     * Create an unnamed regular file in a directory, open (open(2) with
     * O_TMPFILE): it has no name until linkat(2) gives it one (through
     * /proc/self/fd or AT_EMPTY_PATH; not if O_EXCL was given, which the
     * kernel checks), and it goes away when it is closed unnamed. The
     * kernel names no path for such a file, so its context serves every
     * request on it, not only the open's I/O: attribute calls, xattrs
     * and link(), which must then accept a file of nlink 0 that came from
     * here. fsp calls close() for it once, when the kernel forgets the
     * file (after its last close, or once it has a name, as for any
     * file).
     * Optional: with NULL fsp answers ENOSYS once, and the kernel answers
     * every later open(O_TMPFILE) of the mount with EOPNOTSUPP by itself.
     * @param dir_path the directory, which exists (fsp checked)
     * @param ci       mode (S_IFREG and permissions, umask applied), uid
     *                 and gid (the caller's; a file system with
     *                 set-group-ID directories overrides gid), flags (the
     *                 open(2) flags, without O_TMPFILE's own bits)
     * @param file_ctx out: the file system's object for the new file,
     *                 read (with FSP_PENDING:
     *                 fsp_response_t::file_context)
     * @param info     out: its attributes, all read (nlink 0)
     * @return 0, -ENOSPC, -EOPNOTSUPP (no unnamed files in this
     *         directory), ...; -ENOSYS: as NULL; FSP_PENDING to complete
     *         later
     */
    int (*create_tmpfile)(fsp_fs_t *fs, const char *dir_path,
                          const fsp_create_info_t *ci, void **file_ctx,
                          fsp_file_info_t *info);
    /* ---- end of lseek, copy_file_range and O_TMPFILE ---- */

    /* ---- locks, ioctl and poll ---- */

    /**
     * Test for a POSIX byte-range lock (fcntl(2) F_GETLK, F_OFD_GETLK):
     * would @p lock conflict with a lock another owner holds on the file?
     * Used, with set_lock(), only when both are set and the volume is
     * not per_file_context (whose opens end with no RELEASE, so that the
     * locks of an open file would never end): fsp then asks the kernel to
     * leave POSIX locks to the file system (FUSE_POSIX_LOCKS), so that
     * they hold across machines or across the file system's own clients.
     * Otherwise the kernel keeps POSIX locks itself, per mount, and never
     * asks.
     * @param file_ctx  the open file the lock is asked through
     * @param lock      the lock that would be set: its owner, range and
     *                  type (F_RDLCK or F_WRLCK)
     * @param conflict  out: fsp sets its type to F_UNLCK first, which
     *                  means "no conflict"; otherwise one conflicting
     *                  lock: its type, range and the holder's pid (0 if
     *                  it is not a local process; FUSE has no way to say
     *                  "an open file's lock", which the kernel shows as
     *                  pid -1, so give the pid that set it), all read. With
     *                  FSP_PENDING: fsp_response_t::lock instead, whose
     *                  type must then be set (F_UNLCK for none)
     * @return 0, -EINVAL, -ENOLCK; FSP_PENDING to complete later. A
     *         conflict whose type is not F_RDLCK, F_WRLCK or F_UNLCK, or
     *         whose range is empty or beyond INT64_MAX, fails the request
     *         with EIO and a log line.
     */
    int (*get_lock)(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                    fsp_lock_t *conflict);

    /**
     * Set, change or remove a POSIX byte-range lock (fcntl(2) F_SETLK,
     * F_SETLKW and their F_OFD_ forms). A lock replaces, over its range,
     * whatever its owner held there (a write lock turns part of a read
     * lock into a write lock, F_UNLCK removes that part): the owner's
     * locks split and merge as POSIX says. Set only with get_lock()
     * (see there).
     *
     * Unlocking on close is the file system's part: fsp calls set_lock()
     * with F_UNLCK over the whole file (0 to INT64_MAX) and @p flags
     * FSP_LOCK_CLOSE when a process closes any descriptor of the file
     * (the kernel's FLUSH names the process as lock_owner), which must
     * also end that owner's waiting requests (answer them -EINTR). The
     * kernel never says when the locks owned by an open file itself
     * (F_OFD_SETLK) end; fsp makes the same call for them when the open
     * file is released: for each owner that locked through it and that
     * no close named (a process's locks are gone by then).
     *
     * @param file_ctx  the open file the lock is set through
     * @param lock      the owner, range, type (F_RDLCK, F_WRLCK,
     *                  F_UNLCK) and the asking process's pid (0 for
     *                  F_UNLCK)
     * @param flags     FSP_LOCK_WAIT: wait until the lock can be set
     *                  (F_SETLKW), which should be done by returning
     *                  FSP_PENDING and responding when the conflicting
     *                  lock goes: fsp answers EINTR at once if the caller
     *                  gets a signal meanwhile, and the response then
     *                  returns -ECANCELED, after which the lock must not
     *                  be kept. FSP_LOCK_CLOSE: see above
     * @return 0; -EAGAIN if a conflicting lock is held and FSP_LOCK_WAIT
     *         is not set; -EDEADLK, -ENOLCK, -EINTR; FSP_PENDING
     */
    int (*set_lock)(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                    unsigned flags);

    /**
     * Apply or remove a flock(2) lock: a lock on the whole file owned by
     * the open file (the one kernel file that open(2) made, shared by
     * dup(2) and fork(2)). Setting it asks the kernel to leave flock(2)
     * to the file system (FUSE_FLOCK_LOCKS); with NULL the kernel keeps
     * flock locks itself. Never used with per_file_context (the kernel
     * then sends no RELEASE, which ends an open file's flock lock).
     * Independent of get_lock() and set_lock(): flock and POSIX locks
     * never conflict with each other.
     * A new lock of the same owner converts its lock (shared to
     * exclusive or back), not atomically (flock(2)).
     * @param file_ctx   the open file
     * @param owner      the open file's lock owner (the same for every
     *                   call on this open, including the one that ends it)
     * @param operation  LOCK_SH, LOCK_EX or LOCK_UN, with LOCK_NB: fail
     *                   with -EWOULDBLOCK rather than wait. fsp calls it
     *                   with LOCK_UN when the kernel releases an open file
     *                   that had flock locks, which must also end the
     *                   owner's waiting requests. A wait should be done
     *                   with FSP_PENDING, as in set_lock()
     * @return 0, -EWOULDBLOCK, -EINTR, -ENOLCK; FSP_PENDING
     */
    int (*flock)(fsp_fs_t *fs, void *file_ctx, uint64_t owner,
                 int operation);

    /**
     * A restricted ioctl(2) on an open file or directory: one whose
     * argument's size and direction its command number encodes
     * (_IOR/_IOW/_IOWR), such as FS_IOC_GETFLAGS and FS_IOC_SETFLAGS
     * (chattr(1), lsattr(1): the kernel sends them with an int, 4 bytes)
     * or FS_IOC_FSGETXATTR and FS_IOC_FSSETXATTR (struct fsxattr). The
     * kernel itself checks that the caller owns the file before a
     * SETFLAGS or FSSETXATTR and has CAP_LINUX_IMMUTABLE before it
     * changes FS_IMMUTABLE_FL or FS_APPEND_FL; honouring those flags
     * (refusing writes to an immutable file...) is the file system's
     * part. Unrestricted ioctls (CUSE only) are answered ENOTTY by fsp.
     * NULL: every ioctl fails with ENOTTY.
     * @param file_ctx  the open file
     * @param cmd       the command, as the caller gave it
     * @param in        the argument's bytes the caller passed in (for
     *                  _IOW and _IOWR commands), NULL if none
     * @param in_size   their size
     * @param out       where to put what goes back to the caller (for
     *                  _IOR and _IOWR commands), NULL if nothing; out_size
     *                  bytes, zeroed by fsp
     * @param out_size  the size the kernel expects back
     * @param bytes_transferred out: how many bytes of @p out were
     *                  written, read (with FSP_PENDING:
     *                  fsp_response_t::bytes_transferred); the rest of
     *                  out_size goes back as zeros
     * @return 0; -ENOTTY for a command the file system does not know,
     *         -EINVAL, -EPERM, -EFAULT, ...; FSP_PENDING
     */
    int (*ioctl)(fsp_fs_t *fs, void *file_ctx, uint32_t cmd,
                 const void *in, size_t in_size, void *out, size_t out_size,
                 size_t *bytes_transferred);

    /**
     * poll(2), select(2), epoll(7): which events an open file has now.
     * NULL: the kernel is answered ENOSYS once and then treats every
     * file of the volume as always ready to read and write, asking no
     * more.
     * @param file_ctx  the open file
     * @param kh        the kernel's poll handle when it wants to be told
     *                  of a change (it waits in poll(2)): the file system
     *                  keeps it and calls fsp_fs_notify_poll() with it
     *                  once the file may have become ready; 0 when the
     *                  kernel only asks
     * @param events    the events asked for (POLLIN, POLLOUT, ...)
     * @param revents   out: the events ready now, read (with
     *                  FSP_PENDING: fsp_response_t::poll_events)
     * @return 0 or -errno (the caller then sees POLLERR); FSP_PENDING
     */
    int (*poll)(fsp_fs_t *fs, void *file_ctx, uint64_t kh, uint32_t events,
                uint32_t *revents);
    /* ---- end of the locks, ioctl and poll ---- */
} fsp_fs_interface_t;

/** The uid or gid of a caller the kernel does not name (allow_idmap). */
#define FSP_UNKNOWN_ID UINT32_MAX

/** Who made the request being served, and the hint that names it. */
typedef struct fsp_operation_context {
    uint64_t hint; /**< names the request in fsp_fs_send_response() */
    uint32_t uid;  /**< caller's fsuid, or FSP_UNKNOWN_ID (allow_idmap) */
    uint32_t gid;  /**< caller's fsgid, or FSP_UNKNOWN_ID (allow_idmap) */
    uint32_t pid;  /**< caller's thread group id */
} fsp_operation_context_t;

/**
 * The completion of a request whose callback returned FSP_PENDING.
 * Zero it, set hint and error, and what the callback would have written
 * into its out-parameters (fsp reads the same fields it would have read
 * there; the rest may stay zero).
 */
typedef struct fsp_response {
    /** The request: fsp_fs_operation_context()->hint, read inside the
     *  callback that returned FSP_PENDING. */
    uint64_t hint;
    /** 0 or a negative errno value: the operation's result. */
    int error;
    /** read, write, get_xattr, list_xattr, copy_file_range, ioctl: the
     *  count the callback's bytes_transferred, length or bytes_copied
     *  would hold (read: bytes put in the callback's buffer; less than
     *  asked only at end of file). Unused by
     *  read_directory, whose entries are added to its buffer with
     *  fsp_dir_buffer_add() before the response is sent, and by
     *  get_reparse_point(_by_name), whose target is in its buffer. */
    size_t bytes_transferred;
    /** get_file_info_by_name, get_file_info, create, open, set_basic_info,
     *  set_file_size, link, create_tmpfile: the file's attributes (their
     *  info). */
    fsp_file_info_t file_info;
    /** create, open, create_tmpfile: the new file context (their
     *  file_ctx). */
    void *file_context;
    /** get_volume_info: the volume's sizes and counts (its info). */
    fsp_volume_info_t volume_info;
    /** seek: the offset found (its result). */
    uint64_t offset;
    /** get_lock: the conflicting lock (its conflict), whose type must be
     *  set: F_UNLCK for none. */
    fsp_lock_t lock;
    /** poll: the events ready now (its revents). */
    uint32_t poll_events;
} fsp_response_t;

/**
 * Complete a request whose callback returned (or is about to return)
 * FSP_PENDING. Call it from any thread, once per pending request, even
 * before the callback has returned. The buffers given to the callback
 * (read's buf, write's buf, read_directory's buf) stay valid until this
 * call; after it, the file system must not touch them. The strings given
 * to the callback (paths, names, read_directory's marker) and its
 * new_info are valid only during the callback: copy what the completion
 * needs. The file context stays open until this call, even if the request
 * was interrupted and the file released meanwhile (fsp delays close()).
 *
 * A request may call more than one callback (a SETATTR that changes the
 * size and the mode calls set_file_size() then set_basic_info(); an
 * open(2) with O_TRUNC calls open() then overwrite()): each may pend, and
 * each pending one gets its own response, with the same hint.
 *
 * A pending request holds no worker thread: the workers go on serving
 * other requests while it waits.
 *
 * If the kernel interrupted the request (the caller got a signal), fsp
 * has already answered it with EINTR; the response is then discarded
 * and -ECANCELED returned. Nothing is ever answered twice. Responses
 * that come after the dispatcher stopped (the volume was unmounted) are
 * discarded the same way. Every pending request must be responded to
 * before fsp_fs_delete() (dispatcher_stopped() is a good place to finish
 * them); a response after fsp_fs_delete() is not allowed.
 *
 * @code
 *   static int my_read(fsp_fs_t *fs, void *file_ctx, void *buf,
 *                      uint64_t offset, size_t length, size_t *done)
 *   {
 *       uint64_t hint = fsp_fs_operation_context()->hint;
 *       queue_read(file_ctx, buf, offset, length, hint); // another thread
 *       return FSP_PENDING;
 *   }
 *   // later, on any thread, when the data is in buf:
 *   fsp_response_t rsp = { .hint = hint, .error = 0,
 *                          .bytes_transferred = n };
 *   fsp_fs_send_response(fs, &rsp);
 * @endcode
 *
 * @param fs        the volume
 * @param response  the request's hint and result
 * @return 0; -ECANCELED (interrupted or volume stopped, response
 *         discarded); -ENOENT if no pending request has that hint
 *         (already completed, or never pending), and nothing else is
 *         done; -EINVAL if @p response is NULL
 */
FSP_API int fsp_fs_send_response(fsp_fs_t *fs, const fsp_response_t *response);

/** What fsp_fs_notify() tells the kernel has changed. */
enum fsp_notify_bits {
    /** The name appeared, disappeared or now names another file: the
     *  kernel forgets what it cached of the name (also "absent"). */
    FSP_NOTIFY_ENTRY = 1 << 0,
    /** The file's attributes changed: the kernel asks for them again. */
    FSP_NOTIFY_ATTR = 1 << 1,
    /** The file's data changed: the kernel drops its cached pages (and
     *  its attributes). */
    FSP_NOTIFY_DATA = 1 << 2,
    /** The name was removed and the file it named is gone: the kernel
     *  drops the name even while it is in use (a process's current
     *  directory, say) and takes the file as unlinked, so its link count
     *  reads 0 through descriptors still open (FUSE_NOTIFY_DELETE). Where
     *  the kernel knows no file under the name, this is FSP_NOTIFY_ENTRY. */
    FSP_NOTIFY_DELETE = 1 << 3,
    /** Nothing changed, but the volume wants the kernel to forget the file
     *  if nobody uses it: unused cached names of it are dropped and the
     *  kernel sends FORGET (FUSE_NOTIFY_PRUNE, protocol 7.45; older
     *  kernels ignore it). Frees the node's memory on both sides. */
    FSP_NOTIFY_PRUNE = 1 << 4,
};

/**
 * Tell the kernel that something under @p path changed behind its back
 * (WinFsp's FspFileSystemNotify; FUSE's notify inval entry / inode), so
 * that it stops serving stale cached names, attributes or data.
 *
 * Asynchronous: the notification is queued and delivered by a thread of
 * fsp's own, so it is safe from any thread, including from inside a
 * callback, and never deadlocks against the request being served. Names
 * and files the kernel has not cached cost nothing.
 *
 * @param fs    a started volume
 * @param path  the changed file's path within the volume ("/a/b")
 * @param what  FSP_NOTIFY_* bits
 * @return 0 (queued, or nothing cached to invalidate); -EINVAL for a bad
 *         path or no bits; -ENOMEM; -ESHUTDOWN if the volume is not
 *         running
 */
FSP_API int fsp_fs_notify(fsp_fs_t *fs, const char *path, unsigned what);

/**
 * Put data into the kernel's page cache of a file, as if it had been read
 * (FUSE_NOTIFY_STORE): a volume that learns of new contents (from a
 * server, say) hands them over so that the next read costs no request. If
 * the data reaches past the file's cached size, the kernel grows the size.
 * Asynchronous and safe from any thread, like fsp_fs_notify(); @p data is
 * copied.
 *
 * @param fs      a started volume
 * @param path    the file's path within the volume
 * @param offset  where the data goes in the file
 * @param data    the bytes; not NULL unless @p size is 0
 * @param size    how many, at most the volume's negotiated max_write
 * @return 0 (queued, or the kernel has not cached the file, which then
 *         costs nothing); -EINVAL for a bad path, NULL data or a size
 *         over max_write; -ENOMEM; -ESHUTDOWN if the volume is not running
 */
FSP_API int fsp_fs_notify_store(fsp_fs_t *fs, const char *path,
                                uint64_t offset, const void *data,
                                size_t size);

/**
 * What fsp_fs_notify_retrieve() found, called once per retrieve, on a
 * thread of fsp's (a worker, or the notify thread for an error).
 *
 * @param fs      the volume
 * @param ctx     the retrieve's @p ctx
 * @param error   0, or -ENOENT when the kernel has not cached the file,
 *                -EINVAL when it is not a regular file, -ECANCELED when
 *                the volume stopped first
 * @param offset  where @p data starts in the file
 * @param data    the cached bytes from @p offset on, up to the first page
 *                the kernel does not have (so possibly none); valid only
 *                during the call
 * @param size    how many bytes
 */
typedef void fsp_retrieve_done_t(fsp_fs_t *fs, void *ctx, int error,
                                 uint64_t offset, const void *data,
                                 size_t size);

/**
 * Ask the kernel for what it has cached of a file's data
 * (FUSE_NOTIFY_RETRIEVE): a write-back volume can read dirty pages back,
 * a coherent one can compare. The kernel answers with a NOTIFY_REPLY
 * request, and fsp calls @p done with it. Asynchronous and safe from any
 * thread; @p done is called exactly once whenever this returns 0.
 *
 * @param fs      a started volume
 * @param path    the file's path within the volume
 * @param offset  the first byte wanted
 * @param size    how many bytes at most (the kernel caps it at max_write)
 * @param done    called with the result; not NULL
 * @param ctx     passed to @p done
 * @return 0 (@p done will be called); -EINVAL for a bad path or NULL
 *         @p done; -ENOMEM; -ESHUTDOWN if the volume is not running
 */
FSP_API int fsp_fs_notify_retrieve(fsp_fs_t *fs, const char *path,
                                   uint64_t offset, size_t size,
                                   fsp_retrieve_done_t *done, void *ctx);

/**
 * Tell the kernel that every name it has cached may be stale
 * (FUSE_NOTIFY_INC_EPOCH, protocol 7.44): after a reconnection to a
 * server, or a snapshot switch, one call instead of a walk. Names are
 * looked up again on next use; open files and cached data stay.
 * Asynchronous and safe from any thread.
 *
 * @param fs  a started volume
 * @return 0 (queued); -EOPNOTSUPP when the kernel's protocol is older than
 *         7.44; -ENOMEM; -ESHUTDOWN if the volume is not running
 */
FSP_API int fsp_fs_notify_epoch(fsp_fs_t *fs);

/**
 * Wake the poll(2) that the kernel's poll handle @p kh names: the file a
 * poll() callback was given @p kh for may have become ready, and the
 * kernel asks poll() again (FUSE's notify poll). Queued like
 * fsp_fs_notify(), so safe from any thread, inside a callback too. A
 * handle the kernel no longer waits on costs nothing.
 * @param fs  a started volume
 * @param kh  the handle poll() was given (not 0)
 * @return 0; -EINVAL for kh 0; -ENOMEM; -ESHUTDOWN if the volume is not
 *         running
 */
FSP_API int fsp_fs_notify_poll(fsp_fs_t *fs, uint64_t kh);

/**
 * Compare two names (one path component each, or two whole paths) the
 * way a volume does: byte for byte, or, when @p case_insensitive, as UTF-8
 * with Unicode's simple case mappings folded (lower case of upper case,
 * so that "Σ", "σ" and "ς" are one letter); bytes that are not valid
 * UTF-8 compare as themselves.
 * @return <0, 0 or >0, like strcmp()
 */
FSP_API int fsp_name_compare(const char *a, const char *b,
                             bool case_insensitive);

/**
 * Is an access time update due, by the volume's fsp_volume_params::atime
 * and fsp_volume_params::nodiratime? A file system calls it in read()
 * (directory false) and read_directory() (directory true) with the file's
 * times, and if it answers true sets the access time to @p now; it costs
 * no request and no callback.
 * @param fs         the volume
 * @param directory  true for a listing of a directory, false for a read
 *                   of a file's data
 * @param atime, mtime, ctime  the file's access, modification and change
 *                   times, before the access
 * @param now        the current time (CLOCK_REALTIME)
 * @return true to set atime to @p now; false to leave it (also for a
 *         read-only volume, and when @p fs is NULL)
 */
FSP_API bool fsp_fs_atime_due(const fsp_fs_t *fs, bool directory,
                              struct timespec atime, struct timespec mtime,
                              struct timespec ctime, struct timespec now);

/**
 * The mode a file keeps when set_basic_info() is asked to
 * FSP_SET_KILL_SUID: what the kernel's own file systems leave after a
 * write, truncate or fallocate by a caller without CAP_FSETID, or after a
 * chown. S_ISUID goes; S_ISGID goes if the group may execute the file,
 * and otherwise (where it marks mandatory locking) only if the caller of
 * the request being served is neither in group @p gid (its fsgid or a
 * supplementary group) nor holds CAP_FSETID, which fsp then reads from
 * /proc (the request does not say). Call it inside the callback; outside
 * one there is no caller, and such an S_ISGID stays.
 * @param mode  the file's mode (type bits are returned unchanged)
 * @param gid   the file's group, after any change of the same call
 * @return @p mode without the bits that go
 */
FSP_API uint32_t fsp_fs_mode_after_kill_suid(uint32_t mode, uint32_t gid);

/**
 * Set every field of @p params to its default: timeouts of 1 s,
 * default_permissions and auto_unmount on, everything else off.
 */
FSP_API void fsp_volume_params_init(fsp_volume_params_t *params);

/**
 * Create a volume. Nothing is mounted yet.
 * @param params     volume parameters (copied)
 * @param interface  the callbacks (copied)
 * @param user_context the file system's own data, see fsp_fs_user_context()
 * @param pfs        out: the new volume
 * @return 0, -EINVAL for inconsistent parameters (writeback_cache with
 *         read_only, a posix_acl that is no ::fsp_posix_acl), -ENOMEM
 */
FSP_API int fsp_fs_create(const fsp_volume_params_t *params,
                  const fsp_fs_interface_t *interface, void *user_context,
                  fsp_fs_t **pfs);

/**
 * Mount the volume on a directory. As root it uses mount(2) directly;
 * otherwise the fusermount3 helper. On failure, fsp_fs_error_message()
 * says what is wrong and how to fix it.
 * @return 0, -ENOENT (no /dev/fuse or no mount point), -ENOTDIR,
 *         -ENOTEMPTY, -EBUSY (already mounted), -EACCES, -EPERM, ...
 */
FSP_API int fsp_fs_mount(fsp_fs_t *fs, const char *mountpoint);

/**
 * Start the dispatcher: @p threads worker threads serve requests.
 * @param threads  number of workers; 0 chooses one per CPU, at least 2
 */
FSP_API int fsp_fs_start(fsp_fs_t *fs, unsigned threads);

/**
 * Wait until the dispatcher stops: the volume was unmounted,
 * fsp_fs_stop() was called, or the connection failed.
 * @return 0 after an orderly stop, else the channel's -errno
 */
FSP_API int fsp_fs_wait(fsp_fs_t *fs);

/**
 * Stop the dispatcher and unmount. Safe from any thread, and from a
 * signal handler. Returns at once; fsp_fs_wait() waits for the end.
 */
FSP_API void fsp_fs_stop(fsp_fs_t *fs);

/**
 * Delete a volume: stops and unmounts it if needed, closes every file
 * context still held, and frees it. Requests still pending (FSP_PENDING
 * without a response) are freed unanswered; the file system must not
 * respond to them, nor touch their buffers, afterwards.
 */
FSP_API void fsp_fs_delete(fsp_fs_t *fs);

/** The user_context given to fsp_fs_create(). */
FSP_API void *fsp_fs_user_context(fsp_fs_t *fs);

/** The mount point, or NULL before fsp_fs_mount(). */
FSP_API const char *fsp_fs_mountpoint(fsp_fs_t *fs);

/**
 * A sentence that explains the last failure of fsp_fs_mount() or
 * fsp_fs_start(): what is wrong and how to fix it. Empty if none.
 */
FSP_API const char *fsp_fs_error_message(fsp_fs_t *fs);

/**
 * Switch the debug log on or off while the volume runs: one line per
 * request and per reply, at ::FSP_LOG_DEBUG, to the volume's log handler
 * (standard error unless fsp_fs_set_log_handler() or
 * fsp_set_log_handler() chose another). Also switched by
 * `fsptool debug MOUNTPOINT on|off`.
 */
FSP_API void fsp_fs_set_debug(fsp_fs_t *fs, bool on);

/**
 * Whether the debug log is on: the last fsp_fs_set_debug() or
 * `fsptool debug`, whichever came last. Async-signal-safe, so that a
 * signal handler can flip the log:
 * `fsp_fs_set_debug(fs, !fsp_fs_get_debug(fs))`.
 */
FSP_API bool fsp_fs_get_debug(fsp_fs_t *fs);

/**
 * Publish the file system's own state, which `fsptool stat MOUNTPOINT`
 * shows under "file system:" (and as "file_system", an array of lines,
 * with -j): for a network file system, its backend (connected or not,
 * the server, connections in use, queries pending, the last error). Each
 * call replaces the text of the last one; call it when the state changes
 * (or now and then). Readers never see half of one text.
 * Safe from any thread; costs a copy, no system call. Before
 * fsp_fs_mount(), or if the volume could not publish its counters, the
 * text is not kept.
 * @param fs    the volume
 * @param text  lines of "name value", separated by '\n'; NULL or "" for
 *              none. At most 2047 bytes are kept
 * @return 0; -E2BIG if the text was cut to 2047 bytes (the cut text is
 *         published); -EINVAL if @p fs is NULL
 */
FSP_API int fsp_fs_set_state(fsp_fs_t *fs, const char *text);

/**
 * Severity of a message given to a log handler. The values are syslog's
 * (LOG_ERR, LOG_WARNING, LOG_DEBUG), so a handler may pass them to
 * syslog(3) as they are.
 */
enum fsp_log_level {
    /** Something failed: a callback returned a value that is not 0 or
     *  -errno, a malformed request, a lost channel. */
    FSP_LOG_ERROR = 3,
    /** The volume goes on with less than it was asked for: /dev/fuse
     *  instead of io_uring, user-space I/O instead of kernel passthrough. */
    FSP_LOG_WARNING = 4,
    /** A line of the debug log (fsp_fs_set_debug()): one per request and
     *  per reply, and the debug log's own notes. */
    FSP_LOG_DEBUG = 7,
};

/**
 * Where a volume's messages go: its problems and, while it is on, its
 * debug log. Set one with fsp_fs_set_log_handler() (one volume) or
 * fsp_set_log_handler() (the process's default); without either,
 * messages go to standard error through fsp_log_to_stderr(). A daemon,
 * whose standard error is /dev/null after fsp_daemon_ready(), sends them
 * to syslog (fsp_log_to_syslog()) or its own logger instead.
 *
 * The handler is called on whichever thread has something to say: the
 * workers, several at a time, and fsp's own threads. It must be
 * thread-safe, must not block for long (the debug log calls it twice per
 * request), and must not call fsp_set_log_handler() or
 * fsp_fs_set_log_handler() (that waits for the handler to return), nor
 * use the volume's own mount point (its requests would wait for the very
 * worker that is logging).
 *
 * @param fs       the volume the message is about; fsp_fs_user_context()
 *                 and fsp_fs_mountpoint() may be called on it
 * @param level    an ::fsp_log_level
 * @param message  one line, NUL-terminated, without a newline or a time
 *                 stamp, starting with the volume's fs_name: "memfs: ..."
 *                 for a problem, "memfs <- 42 LOOKUP ..." and
 *                 "memfs -> 42 LOOKUP OK ..." in the debug log. Valid
 *                 only during the call; at most 2047 bytes (longer ones
 *                 are cut)
 * @param user     the pointer given with the handler
 */
typedef void fsp_log_handler_t(fsp_fs_t *fs, int level, const char *message,
                               void *user);

/**
 * Send the messages of @p fs to @p handler, which then takes precedence
 * over the process's default (fsp_set_log_handler()). May be called at
 * any time, also while the volume runs; once it returns, the previous
 * handler is no longer running for this volume and is not called again
 * for it, so its @p user may be freed.
 *
 * @param fs       the volume
 * @param handler  the new handler; NULL to use the process's default
 *                 again (the state after fsp_fs_create())
 * @param user     passed to every call of @p handler; not used by fsp
 * @return 0; -EINVAL if @p fs is NULL
 */
FSP_API int fsp_fs_set_log_handler(fsp_fs_t *fs, fsp_log_handler_t *handler,
                                   void *user);

/**
 * Set the process's default log handler: it receives the messages of
 * every volume that has no handler of its own (fsp_fs_set_log_handler()),
 * including volumes created earlier. May be called at any time; once it
 * returns, the previous default is no longer running and is not called
 * again, so its @p user may be freed.
 *
 * @param handler  the new default; NULL to go back to standard error
 *                 (fsp_log_to_stderr(), the default at start)
 * @param user     passed to every call of @p handler; not used by fsp
 */
FSP_API void fsp_set_log_handler(fsp_log_handler_t *handler, void *user);

/**
 * A log handler that writes "HH:MM:SS.uuuuuu MESSAGE" and a newline to
 * standard error in one write(2), so lines of different threads never
 * interleave. What fsp does when no handler is set; useful to chain
 * from a handler of one's own.
 * @param fs, level, user  not used
 * @param message          the line, see ::fsp_log_handler_t
 */
FSP_API void fsp_log_to_stderr(fsp_fs_t *fs, int level, const char *message,
                               void *user);

/**
 * A log handler that passes each message to syslog(3) with its level as
 * the priority (the journal, where systemd runs, takes syslog's socket).
 * Call openlog(3) first to choose the identity and the facility (e.g.
 * `openlog("memfs", LOG_PID, LOG_DAEMON)`); without it glibc uses the
 * program's name and LOG_USER. Where nothing listens on /dev/log the
 * messages are dropped.
 * @param fs, user  not used
 * @param level     the priority (an ::fsp_log_level)
 * @param message   the line, see ::fsp_log_handler_t
 */
FSP_API void fsp_log_to_syslog(fsp_fs_t *fs, int level, const char *message,
                               void *user);

/**
 * The request being served on this thread: caller and hint.
 * Valid only inside a callback.
 */
FSP_API const fsp_operation_context_t *fsp_fs_operation_context(void);

/**
 * Run in the background the way daemons do, reporting readiness to the
 * parent: the parent process waits until the child calls
 * fsp_daemon_ready() and exits with the status it gives. Call it before
 * creating threads (before fsp_fs_mount()).
 * @return 0 in the child; does not return in the parent
 */
FSP_API int fsp_daemonize(void);

/**
 * Tell the waiting parent of fsp_daemonize() that the file system is
 * ready (status 0) or failed (non-zero exit status); detach from the
 * terminal. Does nothing if fsp_daemonize() was not called.
 */
FSP_API void fsp_daemon_ready(int status);

#ifdef __cplusplus
}
#endif

#endif /* FSP_FSP_H */
