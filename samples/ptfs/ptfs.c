/**
 * @file ptfs.c
 * The callbacks of ptfs: each passes its request to the file of SOURCE
 * that serves the path (ptfs_path.c), read_directory and the extended
 * attributes being in ptfs_dir.c and ptfs_xattr.c.
 *
 * A file context (struct ptfs_file) holds a descriptor of the file: a
 * real one for opens that read or write data, an O_PATH one for
 * FSP_OPEN_META opens and for what create() makes that is not a regular
 * file. Calls that have no descriptor form for O_PATH (fchmod, utimensat,
 * truncate, the xattr calls) reach the file through /proc/self/fd/N, which
 * names exactly that file and cannot be redirected by a rename.
 *
 * Permissions are the kernel's (default_permissions): ptfs, usually root,
 * acts for the caller after the kernel has checked mode and owner. New
 * files get the caller's owner when ptfs runs as root.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

void ptfs_stat_to_info(const struct stat *st, fsp_file_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->index_number = st->st_ino; /* hard links share a node */
    info->size = (uint64_t)st->st_size;
    info->allocation_size = (uint64_t)st->st_blocks * 512;
    info->mode = st->st_mode;
    info->nlink = (uint32_t)st->st_nlink;
    info->uid = st->st_uid;
    info->gid = st->st_gid;
    info->rdev = (uint32_t)st->st_rdev;
    info->atime = st->st_atim;
    info->mtime = st->st_mtim;
    info->ctime = st->st_ctim;
}

/* The birth time of the file @fd, where SOURCE keeps one (statx). */
static void add_btime(int fd, fsp_file_info_t *info)
{
    struct statx stx;

    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BTIME,
              &stx) == 0 &&
        (stx.stx_mask & STATX_BTIME)) {
        info->btime.tv_sec = stx.stx_btime.tv_sec;
        info->btime.tv_nsec = stx.stx_btime.tv_nsec;
    }
}

/* ------------------------------------------------------------------ */
/* File contexts                                                       */
/* ------------------------------------------------------------------ */

static int new_file(int fd, bool is_path, const char *vpath,
                    const struct ptfs_redirect *vlink,
                    struct ptfs_file **out)
{
    struct ptfs_file *f = calloc(1, sizeof *f);

    *out = NULL;
    if (!f)
        return -ENOMEM;
    f->vpath = strdup(vpath);
    if (!f->vpath) {
        free(f);
        return -ENOMEM;
    }
    f->fd = fd;
    f->is_path = is_path;
    f->vlink = vlink;
    pthread_mutex_init(&f->dir_lock, NULL);
    *out = f;
    return 0;
}

static void free_file(struct ptfs_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    ptfs_listing_free(&f->listing);
    pthread_mutex_destroy(&f->dir_lock);
    free(f->vpath);
    free(f);
}

/* The attributes of an open file; a link's size is that of the target
 * ptfs serves. */
static int file_info(fsp_fs_t *fs, struct ptfs_file *f, fsp_file_info_t *info)
{
    struct stat st;

    if (f->vlink)
        return ptfs_vlink_info(ptfs_of(fs), f->vlink, info);
    if (fstat(f->fd, &st) < 0)
        return -errno;
    ptfs_stat_to_info(&st, info);
    add_btime(f->fd, info);
    if (S_ISLNK(st.st_mode))
        ptfs_link_fix_size(fs, f->fd, "", f->vpath, info);
    return 0;
}

/* Whether the path is a symlink-mode redirection: a link ptfs shows
 * without storing it. */
static bool is_vlink(const struct ptfs *p, const struct ptfs_redirect *whole)
{
    return whole && p->redirect_mode == PTFS_REDIRECT_SYMLINK;
}

/* ------------------------------------------------------------------ */
/* Volume                                                              */
/* ------------------------------------------------------------------ */

static int op_get_volume_info(fsp_fs_t *fs, fsp_volume_info_t *info)
{
    struct ptfs *p = ptfs_of(fs);
    struct statvfs sv;

    if (fstatvfs(p->root_fd, &sv) < 0)
        return -errno;
    info->total_size = (uint64_t)sv.f_blocks * sv.f_frsize;
    info->free_size = (uint64_t)sv.f_bavail * sv.f_frsize;
    info->total_files = sv.f_files;
    info->free_files = sv.f_favail;
    info->block_size = (uint32_t)sv.f_bsize;
    info->max_name_length = (uint32_t)sv.f_namemax;
    strcpy(info->label, "ptfs");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Names: lookup, create, open, close                                  */
/* ------------------------------------------------------------------ */

static int op_get_file_info_by_name(fsp_fs_t *fs, const char *path,
                                    fsp_file_info_t *info)
{
    struct ptfs *p = ptfs_of(fs);
    const struct ptfs_redirect *whole;
    char *rpath = NULL;
    struct stat st;
    int fd = -1, err;

    err = ptfs_real_path(p, path, &rpath, &whole);
    if (err < 0)
        goto out;
    if (is_vlink(p, whole)) {
        err = ptfs_vlink_info(p, whole, info);
        goto out;
    }
    err = ptfs_open_real(p, rpath, O_PATH, &fd);
    if (err < 0)
        goto out;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto out;
    }
    ptfs_stat_to_info(&st, info);
    add_btime(fd, info);
    if (S_ISLNK(st.st_mode))
        ptfs_link_fix_size(fs, fd, "", path, info);
out:
    if (fd >= 0)
        close(fd);
    free(rpath);
    return err;
}

/* open(2) flags for the file of SOURCE. Creation and truncation are
 * fsp's to ask for (create, overwrite); O_APPEND is FSP_WRITE_TO_END_OF_FILE
 * at each write; O_DIRECT is the client kernel's business. */
static int source_open_flags(int flags)
{
    if (flags & FSP_OPEN_META)
        return O_PATH | (flags & O_DIRECTORY);
    return flags & (O_ACCMODE | O_DIRECTORY | O_NONBLOCK | O_SYNC | O_DSYNC);
}

/* Owner and group of a new file when running as root: the caller's, the
 * group being the directory's in a set-group-ID directory (where the
 * file system has already chosen it). chown clears set-user-ID and
 * set-group-ID bits, so they are put back after it. */
static int give_to_caller(struct ptfs *p, int dir_fd, const char *name,
                          int fd, const fsp_create_info_t *ci, uint32_t type)
{
    struct stat dir_st;
    gid_t gid = ci->gid;
    char fd_path[32];

    if (!p->as_root)
        return 0;
    if (fstat(dir_fd, &dir_st) < 0)
        return -errno;
    if (dir_st.st_mode & S_ISGID)
        gid = dir_st.st_gid;
    if (fchownat(dir_fd, name, ci->uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (type != S_IFLNK && (ci->mode & (S_ISUID | S_ISGID))) {
        ptfs_fd_path(fd, fd_path);
        if (chmod(fd_path, ci->mode & 07777) < 0)
            return -errno;
    }
    return 0;
}

/* Make the file @name in @dir_fd as @ci says; returns its descriptor
 * (real for a regular file, O_PATH otherwise). */
static int make_file(int dir_fd, const char *name, const fsp_create_info_t *ci,
                     uint32_t type, int *fd)
{
    mode_t perm = ci->mode & 07777;
    int r;

    *fd = -1;
    switch (type) {
    case S_IFREG:
        r = openat(dir_fd, name,
                   source_open_flags(ci->flags & ~FSP_OPEN_META) | O_CREAT |
                       O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   perm);
        if (r < 0)
            return -errno;
        *fd = r;
        return 0;
    case S_IFDIR:
        r = mkdirat(dir_fd, name, perm);
        break;
    case S_IFLNK:
        if (!ci->link_target)
            return -EINVAL;
        r = symlinkat(ci->link_target, dir_fd, name);
        break;
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
        r = mknodat(dir_fd, name, type | perm, ci->rdev);
        break;
    default:
        return -EINVAL;
    }
    if (r < 0)
        return -errno;
    /* Relative to the directory, without following: it is what we made
     * unless someone replaced it meanwhile, and then still inside. */
    r = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (r < 0)
        return -errno;
    *fd = r;
    return 0;
}

static int op_create(fsp_fs_t *fs, const char *path,
                     const fsp_create_info_t *ci, void **file_ctx,
                     fsp_file_info_t *info)
{
    struct ptfs *p = ptfs_of(fs);
    uint32_t type = ci->mode & S_IFMT ? ci->mode & S_IFMT : S_IFREG;
    char name[NAME_MAX + 1];
    struct ptfs_file *f = NULL;
    int dir_fd = -1, fd = -1, err;
    bool found, made = false;

    err = ptfs_open_parent(p, path, &dir_fd, name, &found);
    if (err == -EBUSY)
        err = -EEXIST; /* a redirection's name exists */
    if (err < 0)
        goto out;
    if (found) {
        err = -EEXIST; /* in another case too, with case_insensitive */
        goto out;
    }
    err = make_file(dir_fd, name, ci, type, &fd);
    if (err < 0)
        goto out;
    made = true;
    err = give_to_caller(p, dir_fd, name, fd, ci, type);
    if (err < 0)
        goto out;
    err = new_file(fd, type != S_IFREG, path, NULL, &f);
    if (err < 0)
        goto out;
    fd = -1;
    err = file_info(fs, f, info);
    if (err < 0)
        goto out;
    *file_ctx = f;
    f = NULL;
out:
    if (err < 0 && made)
        unlinkat(dir_fd, name, type == S_IFDIR ? AT_REMOVEDIR : 0);
    if (f)
        free_file(f);
    if (fd >= 0)
        close(fd);
    if (dir_fd >= 0)
        close(dir_fd);
    return err;
}

/* ptfs_open_real() of a file to read or write: on a noatime mount with
 * O_NOATIME, which the kernel grants the file's owner and root only, so
 * without it where it is refused (the access time then follows SOURCE's
 * mount for that file). */
static int open_source_file(struct ptfs *p, const char *rpath, int flags,
                            int *fd)
{
    int err = -EPERM;

    if (p->file_noatime && !(flags & O_PATH))
        err = ptfs_open_real(p, rpath, flags | O_NOATIME, fd);
    if (err == -EPERM)
        err = ptfs_open_real(p, rpath, flags, fd);
    return err;
}

static int op_open(fsp_fs_t *fs, const char *path, int flags,
                   void **file_ctx, fsp_file_info_t *info)
{
    struct ptfs *p = ptfs_of(fs);
    const struct ptfs_redirect *whole;
    struct ptfs_file *f = NULL;
    char *rpath = NULL;
    int fd = -1, err;

    err = ptfs_real_path(p, path, &rpath, &whole);
    if (err < 0)
        goto out;
    if (is_vlink(p, whole)) {
        /* A link shown, not stored: only its attributes can be opened. */
        if (flags & O_DIRECTORY)
            err = -ENOTDIR;
        else if (!(flags & FSP_OPEN_META))
            err = -ELOOP;
        else
            err = new_file(-1, true, path, whole, &f);
    } else {
        err = open_source_file(p, rpath, source_open_flags(flags), &fd);
        /* An append-only file (chattr +a) opens for writing only with
         * O_APPEND, which then stays on its descriptor: a file that
         * takes nothing but appends loses nothing by it. */
        if (err == -EPERM && (flags & O_APPEND) &&
            (flags & O_ACCMODE) != O_RDONLY)
            err = open_source_file(p, rpath,
                                   source_open_flags(flags) | O_APPEND, &fd);
        if (err == 0)
            err = new_file(fd, (flags & FSP_OPEN_META) != 0, path, NULL, &f);
        if (err == 0)
            fd = -1;
    }
    if (err < 0)
        goto out;
    err = file_info(fs, f, info);
    if (err < 0)
        goto out;
    *file_ctx = f;
    f = NULL;
out:
    if (f)
        free_file(f);
    if (fd >= 0)
        close(fd);
    free(rpath);
    return err;
}

static int op_overwrite(fsp_fs_t *fs, void *file_ctx)
{
    struct ptfs_file *f = file_ctx;

    (void)fs;
    if (f->vlink)
        return -EINVAL;
    if (ftruncate(f->fd, 0) < 0)
        return -errno;
    return 0;
}

static void op_close(fsp_fs_t *fs, void *file_ctx)
{
    (void)fs;
    free_file(file_ctx);
}

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

static int op_read(fsp_fs_t *fs, void *file_ctx, void *buf, uint64_t offset,
                   size_t length, size_t *bytes_transferred)
{
    struct ptfs_file *f = file_ctx;
    size_t done = 0;
    ssize_t n;

    (void)fs;
    if (f->vlink)
        return -EINVAL;
    while (done < length) {
        n = pread(f->fd, (char *)buf + done, length - done,
                  (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break; /* end of file */
        done += (size_t)n;
    }
    *bytes_transferred = done;
    return 0;
}

static int op_write(fsp_fs_t *fs, void *file_ctx, const void *buf,
                    uint64_t offset, size_t length, int flags,
                    size_t *bytes_transferred)
{
    struct ptfs_file *f = file_ctx;
    size_t done = 0;
    ssize_t n;

    (void)fs;
    if (f->vlink)
        return -EINVAL;
    while (done < length) {
        struct iovec iov = {(char *)buf + done, length - done};

        /* RWF_APPEND appends atomically whatever the offset, the way a
         * descriptor opened with O_APPEND would. */
        if (flags & FSP_WRITE_TO_END_OF_FILE)
            n = pwritev2(f->fd, &iov, 1, 0, RWF_APPEND);
        else
            n = pwrite(f->fd, iov.iov_base, iov.iov_len,
                       (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (done > 0)
                break; /* report what was written, like write(2) */
            return -errno;
        }
        done += (size_t)n;
    }
    *bytes_transferred = done;
    return 0;
}

/* Kernel passthrough: the kernel reads and writes the file of SOURCE
 * itself. f->fd is that file even for a redirected name (the REAL one),
 * so redirection holds with passthrough. */
static int op_get_backing_file(fsp_fs_t *fs, void *file_ctx, int *fd)
{
    struct ptfs_file *f = file_ctx;

    (void)fs;
    if (f->vlink || f->is_path || f->fd < 0)
        return -EOPNOTSUPP;
    *fd = f->fd;
    return 0;
}

static int op_flush(fsp_fs_t *fs, void *file_ctx)
{
    struct ptfs_file *f = file_ctx;
    int fd, err = 0;

    if (!f) {
        /* The whole volume: syncfs needs a descriptor that is not O_PATH. */
        fd = openat(ptfs_of(fs)->root_fd, ".",
                    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        if (syncfs(fd) < 0)
            err = -errno;
        close(fd);
        return err;
    }
    if (!f->vlink && !f->is_path && fsync(f->fd) < 0)
        return -errno;
    return 0;
}

static int op_get_file_info(fsp_fs_t *fs, void *file_ctx,
                            fsp_file_info_t *info)
{
    return file_info(fs, file_ctx, info);
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */
/* ------------------------------------------------------------------ */

static int change_mode(struct ptfs_file *f, mode_t mode)
{
    char fd_path[32];

    if (!f->is_path)
        return fchmod(f->fd, mode) < 0 ? -errno : 0;
    ptfs_fd_path(f->fd, fd_path);
    return chmod(fd_path, mode) < 0 ? -errno : 0;
}

/* What a write or a chown by a non-owner costs a file: set-user-ID, and
 * set-group-ID as fsp_fs_mode_after_kill_suid() says (it knows the
 * caller's groups). */
static int kill_suid(struct ptfs_file *f)
{
    struct stat st;
    mode_t mode;

    if (fstat(f->fd, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
        return 0;
    mode = fsp_fs_mode_after_kill_suid(st.st_mode & 07777, st.st_gid);
    return mode == (st.st_mode & 07777) ? 0 : change_mode(f, mode);
}

static int change_times(struct ptfs_file *f, uint32_t valid,
                        const fsp_file_info_t *n)
{
    struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    char fd_path[32];

    if (valid & FSP_SET_ATIME)
        ts[0] = n->atime;
    if (valid & FSP_SET_ATIME_NOW)
        ts[0].tv_nsec = UTIME_NOW;
    if (valid & FSP_SET_MTIME)
        ts[1] = n->mtime;
    if (valid & FSP_SET_MTIME_NOW)
        ts[1].tv_nsec = UTIME_NOW;
    if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
        return 0;
    if (!f->is_path)
        return futimens(f->fd, ts) < 0 ? -errno : 0;
    ptfs_fd_path(f->fd, fd_path);
    return utimensat(AT_FDCWD, fd_path, ts, 0) < 0 ? -errno : 0;
}

static int op_set_basic_info(fsp_fs_t *fs, void *file_ctx, uint32_t valid,
                             const fsp_file_info_t *new_info,
                             fsp_file_info_t *info)
{
    struct ptfs_file *f = file_ctx;
    int err = 0;

    if (f->vlink)
        return -EPERM; /* a redirection is configuration, not a file */
    if (valid & (FSP_SET_UID | FSP_SET_GID)) {
        uid_t uid = valid & FSP_SET_UID ? new_info->uid : (uid_t)-1;
        gid_t gid = valid & FSP_SET_GID ? new_info->gid : (gid_t)-1;

        if (fchownat(f->fd, "", uid, gid,
                     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
    }
    if (valid & FSP_SET_MODE)
        err = change_mode(f, new_info->mode & 07777);
    if (err == 0 && (valid & FSP_SET_KILL_SUID))
        err = kill_suid(f);
    if (err == 0)
        err = change_times(f, valid, new_info);
    /* FSP_SET_CTIME: the file system sets ctime itself at every change. */
    if (err < 0)
        return err;
    return file_info(fs, f, info);
}

static int op_set_file_size(fsp_fs_t *fs, void *file_ctx, uint64_t new_size,
                            fsp_file_info_t *info)
{
    struct ptfs_file *f = file_ctx;
    char fd_path[32];
    int r = -1;

    if (f->vlink)
        return -EINVAL;
    if (!f->is_path)
        r = ftruncate(f->fd, (off_t)new_size);
    /* An O_PATH or read-only descriptor: truncate the file by its path. */
    if (f->is_path || (r < 0 && (errno == EBADF || errno == EINVAL))) {
        ptfs_fd_path(f->fd, fd_path);
        r = truncate(fd_path, (off_t)new_size);
    }
    if (r < 0)
        return -errno;
    return file_info(fs, f, info);
}

static int op_allocate(fsp_fs_t *fs, void *file_ctx, int mode,
                       uint64_t offset, uint64_t length)
{
    struct ptfs_file *f = file_ctx;

    (void)fs;
    if (f->vlink)
        return -EINVAL;
    if (fallocate(f->fd, mode, (off_t)offset, (off_t)length) < 0)
        return -errno;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Names: unlink, rename, link                                         */
/* ------------------------------------------------------------------ */

/* Whether a redirection's VIRTUAL lies directly in the directory @vpath:
 * then it is not empty, whatever SOURCE holds. */
static bool has_redirected_child(const struct ptfs *p, const char *vpath)
{
    size_t i;

    for (i = 0; i < p->redirects.count; i++)
        if (ptfs_redirect_in_dir(&p->redirects, vpath,
                                 p->redirects.items[i].vname) ==
            &p->redirects.items[i])
            return true;
    return false;
}

static int op_unlink(fsp_fs_t *fs, void *file_ctx, const char *path)
{
    struct ptfs *p = ptfs_of(fs);
    char name[NAME_MAX + 1];
    struct stat st;
    int dir_fd = -1, err;
    bool found;

    (void)file_ctx; /* the path names the entry; the file lives on */
    err = ptfs_open_parent(p, path, &dir_fd, name, &found);
    if (err < 0)
        goto out;
    if (!found || fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        err = -ENOENT;
        goto out;
    }
    if (S_ISDIR(st.st_mode) && has_redirected_child(p, path)) {
        err = -ENOTEMPTY;
        goto out;
    }
    if (unlinkat(dir_fd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
        err = -errno;
out:
    if (dir_fd >= 0)
        close(dir_fd);
    return err;
}

/* case_insensitive: renaming "a" to "A" changes the case of one file; the
 * new name must then be the one asked for, not the stored "a". */
static void keep_new_case(int dir_fd, const char *name, int new_dir_fd,
                          char new_name[NAME_MAX + 1], const char *asked)
{
    struct stat a, b;

    if (strcmp(new_name, asked) == 0 ||
        fstatat(dir_fd, name, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
        fstatat(new_dir_fd, new_name, &b, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        snprintf(new_name, NAME_MAX + 1, "%s", asked);
}

static int op_rename(fsp_fs_t *fs, void *file_ctx, const char *path,
                     const char *new_path, unsigned flags)
{
    struct ptfs *p = ptfs_of(fs);
    char name[NAME_MAX + 1], new_name[NAME_MAX + 1];
    int dir_fd = -1, new_dir_fd = -1, err;
    unsigned rflags = 0;
    bool found, new_found;

    (void)file_ctx;
    if (flags & FSP_RENAME_NOREPLACE)
        rflags |= RENAME_NOREPLACE;
    if (flags & FSP_RENAME_EXCHANGE)
        rflags |= RENAME_EXCHANGE;
    if (flags & FSP_RENAME_WHITEOUT)
        rflags |= RENAME_WHITEOUT; /* SOURCE makes it (ext4, xfs, tmpfs) */
    err = ptfs_open_parent(p, path, &dir_fd, name, &found);
    if (err < 0)
        goto out;
    err = ptfs_open_parent(p, new_path, &new_dir_fd, new_name, &new_found);
    if (err < 0)
        goto out;
    if (p->case_insensitive && new_found)
        keep_new_case(dir_fd, name, new_dir_fd, new_name,
                      strrchr(new_path, '/') + 1);
    if (renameat2(dir_fd, name, new_dir_fd, new_name, rflags) < 0)
        err = -errno;
out:
    if (dir_fd >= 0)
        close(dir_fd);
    if (new_dir_fd >= 0)
        close(new_dir_fd);
    return err;
}

static int op_link(fsp_fs_t *fs, void *file_ctx, const char *new_path,
                   fsp_file_info_t *info)
{
    struct ptfs *p = ptfs_of(fs);
    struct ptfs_file *f = file_ctx;
    char name[NAME_MAX + 1], fd_path[32];
    int dir_fd = -1, err;
    bool found;

    if (f->vlink)
        return -EPERM;
    err = ptfs_open_parent(p, new_path, &dir_fd, name, &found);
    if (err == -EBUSY)
        err = -EEXIST;
    if (err < 0)
        goto out;
    if (found) {
        err = -EEXIST;
        goto out;
    }
    /* The descriptor's file itself, whatever its name is now (a link
     * from AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH). */
    ptfs_fd_path(f->fd, fd_path);
    if (linkat(AT_FDCWD, fd_path, dir_fd, name, AT_SYMLINK_FOLLOW) < 0) {
        err = -errno;
        goto out;
    }
    err = file_info(fs, f, info);
out:
    if (dir_fd >= 0)
        close(dir_fd);
    return err;
}

/* ------------------------------------------------------------------ */
/* Links                                                               */
/* ------------------------------------------------------------------ */

static int copy_target(const char *target, char *buf, size_t size)
{
    size_t len = strlen(target);

    if (len >= size)
        return -ENAMETOOLONG;
    memcpy(buf, target, len + 1);
    return 0;
}

static int op_get_reparse_point(fsp_fs_t *fs, void *file_ctx, char *buf,
                                size_t size)
{
    struct ptfs_file *f = file_ctx;
    struct stat st;

    if (f->vlink)
        return copy_target(f->vlink->link_target, buf, size);
    if (fstat(f->fd, &st) < 0)
        return -errno;
    if (!S_ISLNK(st.st_mode))
        return -EINVAL;
    return ptfs_link_read(fs, f->fd, "", f->vpath, buf,
                          size);
}

static int op_get_reparse_point_by_name(fsp_fs_t *fs, const char *path,
                                        char *buf, size_t size)
{
    struct ptfs *p = ptfs_of(fs);
    const struct ptfs_redirect *whole;
    char *rpath = NULL;
    struct stat st;
    int fd = -1, err;

    err = ptfs_real_path(p, path, &rpath, &whole);
    if (err < 0)
        goto out;
    if (is_vlink(p, whole)) {
        err = copy_target(whole->link_target, buf, size);
        goto out;
    }
    err = ptfs_open_real(p, rpath, O_PATH, &fd);
    if (err < 0)
        goto out;
    if (fstat(fd, &st) < 0)
        err = -errno;
    else if (!S_ISLNK(st.st_mode))
        err = -EINVAL;
    else
        err = ptfs_link_read(fs, fd, "", path, buf, size);
out:
    if (fd >= 0)
        close(fd);
    free(rpath);
    return err;
}

/* ------------------------------------------------------------------ */
/* The volume object                                                   */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* O_TMPFILE                                                     */
/* ------------------------------------------------------------------ */

/* An unnamed file in SOURCE's directory (O_TMPFILE there too), owned by
 * the caller when running as root; link() names it later through
 * /proc/self/fd, as for any file. */
static int op_create_tmpfile(fsp_fs_t *fs, const char *dir_path,
                             const fsp_create_info_t *ci, void **file_ctx,
                             fsp_file_info_t *info)
{
    struct ptfs *p = ptfs_of(fs);
    struct ptfs_file *f;
    struct stat dir_st;
    int dir_fd = -1, fd = -1, err;
    gid_t gid = ci->gid;

    err = ptfs_open_virtual(p, dir_path, O_PATH | O_DIRECTORY, &dir_fd);
    if (err < 0)
        goto out;
    fd = openat(dir_fd, ".",
                O_TMPFILE | O_CLOEXEC |
                    source_open_flags(ci->flags & ~(FSP_OPEN_META |
                                                    O_DIRECTORY)),
                ci->mode & 07777);
    if (fd < 0) {
        err = -errno;
        goto out;
    }
    if (p->as_root) {
        if (fstat(dir_fd, &dir_st) < 0) {
            err = -errno;
            goto out;
        }
        if (dir_st.st_mode & S_ISGID)
            gid = dir_st.st_gid;
        if (fchown(fd, ci->uid, gid) < 0 ||
            ((ci->mode & (S_ISUID | S_ISGID)) &&
             fchmod(fd, ci->mode & 07777) < 0)) {
            err = -errno;
            goto out;
        }
    }
    err = new_file(fd, false, dir_path, NULL, &f);
    if (err < 0)
        goto out;
    fd = -1;                    /* the context's now */
    err = file_info(fs, f, info);
    if (err == 0)
        *file_ctx = f;
    else
        free_file(f);
out:
    if (fd >= 0)
        close(fd);
    if (dir_fd >= 0)
        close(dir_fd);
    return err;
}

static const fsp_fs_interface_t ptfs_interface = {
    .get_volume_info = op_get_volume_info,
    .get_file_info_by_name = op_get_file_info_by_name,
    .create = op_create,
    .open = op_open,
    .overwrite = op_overwrite,
    /* cleanup: nothing to do at the last close that close() does not. */
    .close = op_close,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .get_file_info = op_get_file_info,
    .set_basic_info = op_set_basic_info,
    .set_file_size = op_set_file_size,
    .allocate = op_allocate,
    .unlink = op_unlink,
    .rename = op_rename,
    .link = op_link,
    .read_directory = ptfs_op_read_directory, /* ptfs_dir.c */
    .get_reparse_point = op_get_reparse_point,
    .get_reparse_point_by_name = op_get_reparse_point_by_name,
    .get_xattr = ptfs_op_get_xattr, /* ptfs_xattr.c */
    .set_xattr = ptfs_op_set_xattr,
    .list_xattr = ptfs_op_list_xattr,
    .remove_xattr = ptfs_op_remove_xattr,
    /* lseek, copy_file_range, O_TMPFILE, STATX */
    .seek = ptfs_op_seek,                       /* ptfs_range.c */
    .copy_file_range = ptfs_op_copy_file_range, /* ptfs_range.c */
    .create_tmpfile = op_create_tmpfile,
    .get_lock = ptfs_op_get_lock, /* ptfs_lock.c */
    .set_lock = ptfs_op_set_lock,
    .flock = ptfs_op_flock,
    .ioctl = ptfs_op_ioctl,
    .poll = ptfs_op_poll,
};

int ptfs_create(const struct ptfs_options *options,
                fsp_fs_interface_t *interface, struct ptfs **pptfs,
                char *message, size_t message_size)
{
    struct ptfs *p;
    struct stat st;
    int err;

    *pptfs = NULL;
    message[0] = '\0';
    p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->root_fd = open(options->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (p->root_fd < 0 || fstat(p->root_fd, &st) < 0) {
        err = -errno;
        snprintf(message, message_size, "%s: %s", options->source,
                 strerror(-err));
        goto fail;
    }
    p->source = realpath(options->source, NULL);
    if (!p->source) {
        err = -errno;
        snprintf(message, message_size, "%s: %s", options->source,
                 strerror(-err));
        goto fail;
    }
    p->case_insensitive = options->case_insensitive;
    p->confine_links = options->confine_links;
    p->redirect_mode = options->redirect_mode;
    p->want_notify = options->notify;
    p->file_noatime = options->atime == FSP_ATIME_NEVER;
    p->dir_noatime = p->file_noatime || options->nodiratime;
    p->as_root = geteuid() == 0;
    err = ptfs_redirect_table_init(&p->redirects, options->redirects,
                                   options->redirect_count,
                                   options->case_insensitive, p->root_fd,
                                   message, message_size);
    if (err < 0)
        goto fail;
    err = ptfs_locks_create(p);
    if (err < 0) {
        ptfs_redirect_table_free(&p->redirects);
        goto fail;
    }
    *interface = ptfs_interface;
    /* The kernel's passthrough reads through a backing file of its own,
     * opened with the FUSE file's flags on SOURCE's mount: O_NOATIME
     * (open_source_file()) would not reach it, and every read would set
     * SOURCE's access time. So noatime costs passthrough. */
    if (options->passthrough && options->atime != FSP_ATIME_NEVER)
        interface->get_backing_file = op_get_backing_file;
    if (options->kernel_locks) {
        interface->get_lock = NULL;
        interface->set_lock = NULL;
        interface->flock = NULL;
    }
    *pptfs = p;
    return 0;
fail:
    if (p->root_fd >= 0)
        close(p->root_fd);
    free(p->source);
    free(p);
    return err;
}

int ptfs_start(struct ptfs *p, fsp_fs_t *fs)
{
    p->fs = fs;
    if (!p->want_notify)
        return 0;
    return ptfs_notify_start(p, fs, &p->notify);
}

void ptfs_stop(struct ptfs *p)
{
    if (!p)
        return;
    ptfs_notify_stop(p->notify);
    p->notify = NULL;
    /* The dispatcher has stopped: no lock may wait any more. */
    ptfs_locks_delete(p);
}

void ptfs_delete(struct ptfs *p)
{
    if (!p)
        return;
    ptfs_stop(p);
    ptfs_redirect_table_free(&p->redirects);
    close(p->root_fd);
    free(p->source);
    free(p);
}
