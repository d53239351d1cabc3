/**
 * @file ptfs_link.c
 * Symbolic links as ptfs serves them.
 *
 * A link is stored in SOURCE with its target as written, and by default
 * served as written: readlink gives back what symlink() was given, which
 * tar, rsync and git rely on. ptfs itself never follows a link out of
 * SOURCE either way (its resolver uses RESOLVE_IN_ROOT).
 *
 * The client's kernel, though, follows links itself, against its own
 * root. With -o confine_links, a target that would take it out of the
 * volume (an absolute "/etc" that is not under the mount point, or a
 * relative "../../.." that climbs above the volume's root) is served with
 * the meaning it has when SOURCE is the root, the meaning ptfs's own
 * resolver gives it: "/etc" becomes the volume's "etc", and ".." at the
 * volume's root stays there. Then nothing reached through the mount is
 * outside it, whoever made the link, at the price of readlink showing
 * such targets rewritten.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether the absolute @path is @dir or below it. */
static bool is_under(const char *path, const char *dir)
{
    size_t len = strlen(dir);

    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (strncmp(path, dir, len) != 0)
        return false;
    return path[len] == '\0' || path[len] == '/' || len == 1;
}

/* Components of the directory that holds @vpath ("/a/b/l": 2). */
static size_t parent_depth(const char *vpath)
{
    size_t depth = 0;
    const char *p = vpath;

    for (;;) {
        p += strspn(p, "/");
        if (*p == '\0')
            break;
        p += strcspn(p, "/");
        depth++;
    }
    return depth > 0 ? depth - 1 : 0;
}

/* Append @len bytes of @s and a '/' to out (room was reserved). */
static void append(char *out, size_t *used, const char *s, size_t len)
{
    memcpy(out + *used, s, len);
    *used += len;
    out[(*used)++] = '/';
}

int ptfs_link_served(const char *mountpoint, const char *vpath,
                     const char *target, char *buf, size_t size)
{
    size_t depth = parent_depth(vpath), level, used = 0, len, i;
    bool absolute = target[0] == '/', clamped = false;
    const char *s = target;
    char *out;
    int err = 0;

    /* Room for depth "../" and the target's components, each with '/'. */
    out = malloc(depth * 3 + strlen(target) * 2 + 2);
    if (!out)
        return -ENOMEM;
    if (absolute && mountpoint && is_under(target, mountpoint))
        goto verbatim; /* into the volume itself, through the mount */
    /* Walk the target lexically from where it starts: the link's
     * directory (relative) or the volume's root (absolute, after climbing
     * to it). A ".." at the root is dropped, as RESOLVE_IN_ROOT does. */
    if (absolute) {
        for (i = 0; i < depth; i++)
            append(out, &used, "..", 2);
        level = 0;
        clamped = true;
    } else {
        level = depth;
    }
    for (;;) {
        s += strspn(s, "/");
        len = strcspn(s, "/");
        if (len == 0)
            break;
        if (len == 2 && strncmp(s, "..", 2) == 0) {
            if (level == 0) {
                clamped = true;
            } else {
                level--;
                append(out, &used, s, len);
            }
        } else if (!(len == 1 && s[0] == '.')) {
            level++;
            append(out, &used, s, len);
        }
        s += len;
    }
verbatim:
    if (!clamped) {
        len = strlen(target);
        if (len >= size) {
            err = -ENAMETOOLONG;
            goto out;
        }
        memcpy(buf, target, len + 1);
        goto out;
    }
    if (used == 0)
        out[used++] = '.';
    else
        used--; /* the last '/' */
    if (used >= size) {
        err = -ENAMETOOLONG;
        goto out;
    }
    memcpy(buf, out, used);
    buf[used] = '\0';
out:
    free(out);
    return err;
}

int ptfs_link_read(fsp_fs_t *fs, int dir_fd, const char *name,
                   const char *vpath, char *buf, size_t size)
{
    char target[PATH_MAX];
    ssize_t n;

    n = readlinkat(dir_fd, name, target, sizeof target - 1);
    if (n < 0)
        return errno == ENOENT && name[0] == '\0' ? -EINVAL : -errno;
    target[n] = '\0';
    if (!ptfs_of(fs)->confine_links) {
        if ((size_t)n >= size)
            return -ENAMETOOLONG;
        memcpy(buf, target, (size_t)n + 1);
        return 0;
    }
    return ptfs_link_served(fsp_fs_mountpoint(fs), vpath, target, buf, size);
}

void ptfs_link_fix_size(fsp_fs_t *fs, int dir_fd, const char *name,
                        const char *vpath, fsp_file_info_t *info)
{
    char served[PATH_MAX];

    /* Stored as written, the size lstat gives is already right. */
    if (!ptfs_of(fs)->confine_links)
        return;
    if (ptfs_link_read(fs, dir_fd, name, vpath, served, sizeof served) == 0)
        info->size = strlen(served);
}

int ptfs_vlink_info(struct ptfs *p, const struct ptfs_redirect *r,
                    fsp_file_info_t *info)
{
    struct stat st;
    int fd, err;

    /* Owner and times: REAL's (the root's if REAL went away). */
    err = ptfs_open_real(p, r->rpath, O_PATH, &fd);
    if (err == 0) {
        err = fstat(fd, &st) < 0 ? -errno : 0;
        close(fd);
    }
    if (err < 0 && fstat(p->root_fd, &st) < 0)
        return -errno;
    ptfs_stat_to_info(&st, info);
    info->mode = S_IFLNK | 0777;
    info->size = strlen(r->link_target);
    info->allocation_size = 0;
    info->nlink = 1;
    info->rdev = 0;
    info->index_number = 0; /* no file of SOURCE: fsp numbers it */
    return 0;
}
