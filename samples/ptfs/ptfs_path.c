/**
 * @file ptfs_path.c
 * Confined path resolution: from a volume path to a descriptor of a file
 * of SOURCE, with no way out of SOURCE.
 *
 * Every path is resolved by openat2(2) relative to ptfs's descriptor of
 * SOURCE with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: the kernel itself
 * treats SOURCE as the root for that one lookup, so ".." at SOURCE stays
 * there and a symbolic link met on the way ("/etc", "../../..") is
 * resolved inside SOURCE, atomically: there is no window between a check
 * and a use for a concurrent rename or a directory swapped for a link.
 * The last component is never followed (O_NOFOLLOW): links are served as
 * links, and the client's kernel follows them against the mount.
 * Operations on a last name (create, unlink, rename, link) open the parent
 * this way and use the *at call with the name.
 *
 * A path has no length limit (a tree may be deeper than PATH_MAX), but
 * one openat2 takes at most PATH_MAX - 1 bytes. A longer path is resolved
 * in pieces cut at slashes, each short enough, each from the directory
 * the piece before it opened: the first with SOURCE as the root, as
 * above; the later ones with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
 * which refuses (EXDEV) a ".." or a link that would leave the directory
 * the piece starts at. Every piece stays inside SOURCE, and so does the
 * whole.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* openat2 may fail with EAGAIN when a rename elsewhere raced the lookup
 * (the kernel cannot then prove the result is inside the root). */
#define OPENAT2_RETRIES 16

void ptfs_fd_path(int fd, char buf[32])
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* The longest path one openat2 takes (the kernel copies at most PATH_MAX
 * bytes, the NUL included). */
#define PIECE_MAX (PATH_MAX - 1)

/* One openat2 of @path (at most PIECE_MAX bytes) from @dir_fd. Returns a
 * descriptor or -errno. */
static int open_piece(int dir_fd, const char *path, int flags,
                      uint64_t resolve)
{
    struct open_how how;
    int fd, tries = 0;

    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.resolve = resolve;
    do
        fd = (int)syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN && ++tries < OPENAT2_RETRIES);
    return fd < 0 ? -errno : fd;
}

/* @rpath, longer than PIECE_MAX, piece by piece (see the top). */
static int open_in_pieces(struct ptfs *p, const char *rpath, int flags)
{
    uint64_t resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    char *copy = strdup(rpath), *s = copy, *cut;
    int dir_fd = p->root_fd, fd;

    if (!copy)
        return -ENOMEM;
    while (strlen(s) > PIECE_MAX) {
        /* The last slash that leaves a piece short enough. */
        cut = memrchr(s, '/', PIECE_MAX + 1);
        if (!cut || cut == s) {
            fd = -ENAMETOOLONG; /* a component longer than a piece */
            goto out;
        }
        *cut = '\0';
        fd = open_piece(dir_fd, s, O_PATH | O_DIRECTORY, resolve);
        if (fd < 0)
            goto out;
        if (dir_fd != p->root_fd)
            close(dir_fd);
        dir_fd = fd;
        s = cut + 1 + strspn(cut + 1, "/");
        resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    }
    fd = open_piece(dir_fd, *s ? s : ".", flags | O_NOFOLLOW, resolve);
out:
    if (dir_fd != p->root_fd)
        close(dir_fd);
    free(copy);
    return fd;
}

/* openat2 below SOURCE. Returns a descriptor or -errno. */
static int open_in_root(struct ptfs *p, const char *rpath, int flags)
{
    if (strlen(rpath) > PIECE_MAX)
        return open_in_pieces(p, rpath, flags);
    return open_piece(p->root_fd, rpath, flags | O_NOFOLLOW,
                      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int ptfs_find_name_by_case(int dir_fd, const char *name,
                           char out[NAME_MAX + 1])
{
    struct dirent *e;
    DIR *dir;
    int fd, err = -ENOENT;

    fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    dir = fdopendir(fd);
    if (!dir) {
        err = -errno;
        close(fd);
        return err;
    }
    /* Of several spellings (SOURCE is case-sensitive, so "a" and "A" may
     * both exist) take the smallest, so that the choice is stable. */
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fsp_name_compare(e->d_name, name, true) != 0)
            continue;
        if (err == 0 && strcmp(e->d_name, out) >= 0)
            continue;
        snprintf(out, NAME_MAX + 1, "%s", e->d_name);
        err = 0;
    }
    closedir(dir);
    return err;
}

/* Append '/' (unless @path is empty) and @comp to the growing @path. */
static int append_component(char **path, size_t *used, size_t *size,
                            const char *comp)
{
    size_t len = strlen(comp), need = *used + len + 2;
    char *grown;

    if (need > *size) {
        grown = realloc(*path, need * 2);
        if (!grown)
            return -ENOMEM;
        *path = grown;
        *size = need * 2;
    }
    if (*used > 0)
        (*path)[(*used)++] = '/';
    memcpy(*path + *used, comp, len + 1);
    *used += len;
    return 0;
}

/* case_insensitive: @rpath with every component that does not exist as
 * spelled replaced by a stored name equal to it without regard to case.
 * Each directory on the way is opened confined, like any other path. */
static int fix_case(struct ptfs *p, const char *rpath, char **out)
{
    char comp[NAME_MAX + 1], stored[NAME_MAX + 1], *fixed = NULL;
    const char *s = rpath;
    size_t used = 0, size = 0, len;
    struct stat st;
    int dir_fd, err = 0;

    *out = NULL;
    dir_fd = open_in_root(p, ".", O_PATH | O_DIRECTORY);
    if (dir_fd < 0)
        return dir_fd;
    for (;;) {
        while (*s == '/')
            s++;
        len = strcspn(s, "/");
        if (len == 0)
            break;
        if (len > NAME_MAX) {
            err = -ENAMETOOLONG;
            goto out;
        }
        memcpy(comp, s, len);
        comp[len] = '\0';
        s += len;
        if (fstatat(dir_fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            err = -errno;
            if (err != -ENOENT)
                goto out;
            err = ptfs_find_name_by_case(dir_fd, comp, stored);
            if (err < 0)
                goto out;
            strcpy(comp, stored);
        }
        err = append_component(&fixed, &used, &size, comp);
        if (err < 0)
            goto out;
        if (s[strspn(s, "/")] == '\0')
            break; /* that was the last component */
        close(dir_fd);
        dir_fd = open_in_root(p, fixed, O_PATH | O_DIRECTORY);
        if (dir_fd < 0) {
            err = dir_fd;
            dir_fd = -1;
            goto out;
        }
    }
    if (!used) {
        free(fixed);
        fixed = strdup(".");
        if (!fixed)
            err = -ENOMEM;
    }
    *out = fixed;
    fixed = NULL;
out:
    free(fixed);
    if (dir_fd >= 0)
        close(dir_fd);
    return err;
}

int ptfs_real_path(struct ptfs *p, const char *vpath, char **rpath,
                   const struct ptfs_redirect **whole)
{
    const struct ptfs_redirect *r;
    const char *rest;

    *rpath = NULL;
    *whole = NULL;
    r = ptfs_redirect_find(&p->redirects, vpath, &rest);
    if (r) {
        if (*rest == '\0')
            *whole = r;
        if (asprintf(rpath, "%s%s", r->rpath, rest) < 0) {
            *rpath = NULL;
            return -ENOMEM;
        }
        return 0;
    }
    vpath += strspn(vpath, "/");
    *rpath = strdup(*vpath ? vpath : ".");
    return *rpath ? 0 : -ENOMEM;
}

int ptfs_open_real(struct ptfs *p, const char *rpath, int flags, int *fd)
{
    char *fixed;
    int r;

    *fd = -1;
    r = open_in_root(p, rpath, flags);
    if (r == -ENOENT && p->case_insensitive) {
        r = fix_case(p, rpath, &fixed);
        if (r == 0) {
            r = open_in_root(p, fixed, flags);
            free(fixed);
        }
    }
    if (r < 0)
        return r;
    *fd = r;
    return 0;
}

int ptfs_open_virtual(struct ptfs *p, const char *vpath, int flags, int *fd)
{
    const struct ptfs_redirect *whole;
    char *rpath;
    int err;

    *fd = -1;
    err = ptfs_real_path(p, vpath, &rpath, &whole);
    if (err < 0)
        return err;
    err = ptfs_open_real(p, rpath, flags, fd);
    free(rpath);
    return err;
}

int ptfs_open_parent(struct ptfs *p, const char *vpath, int *dir_fd,
                     char name[NAME_MAX + 1], bool *found)
{
    const struct ptfs_redirect *r;
    const char *rest, *slash;
    char *parent = NULL;
    struct stat st;
    size_t len;
    int err;

    *dir_fd = -1;
    *found = false;
    r = ptfs_redirect_find(&p->redirects, vpath, &rest);
    slash = strrchr(vpath, '/');
    if ((r && *rest == '\0') || !slash || slash[1] == '\0')
        return -EBUSY; /* a redirection, or the root: not a name to change */
    len = strlen(slash + 1);
    if (len > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(name, slash + 1, len + 1);
    parent = slash == vpath ? strdup("/")
                            : strndup(vpath, (size_t)(slash - vpath));
    if (!parent)
        return -ENOMEM;
    err = ptfs_open_virtual(p, parent, O_PATH | O_DIRECTORY, dir_fd);
    free(parent);
    if (err < 0)
        return err;
    if (fstatat(*dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        *found = true;
    } else if (errno == ENOENT && p->case_insensitive) {
        char stored[NAME_MAX + 1];

        if (ptfs_find_name_by_case(*dir_fd, name, stored) == 0) {
            strcpy(name, stored);
            *found = true;
        }
    }
    return 0;
}
