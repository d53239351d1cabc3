/**
 * @file ptfs_dir.c
 * read_directory: a directory of SOURCE listed in a stable order, with the
 * redirections that live in it merged in.
 *
 * The names are read once per open (and again at each restart from the
 * beginning, as rewinddir(3) would) into a sorted array kept in the file
 * context; a call with a marker resumes at the first name greater than the
 * marker by binary search, so a listing that changes between two calls
 * neither repeats nor skips a name it had. Each name's attributes are read
 * when it is returned (fstatat, never following a link). A redirection's
 * VIRTUAL is listed once with the attributes of REAL (or as a link in
 * symlink mode), and a file of SOURCE with that name is hidden.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ptfs_listing_free(struct ptfs_listing *l)
{
    size_t i;

    for (i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int add_name(struct ptfs_listing *l, size_t *cap, const char *name)
{
    if (l->count == *cap) {
        size_t new_cap = *cap ? *cap * 2 : 64;
        char **names = realloc(l->names, new_cap * sizeof *names);

        if (!names)
            return -ENOMEM;
        l->names = names;
        *cap = new_cap;
    }
    l->names[l->count] = strdup(name);
    if (!l->names[l->count])
        return -ENOMEM;
    l->count++;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the names of the directory open as @f into f->listing. */
static int make_listing(struct ptfs *p, struct ptfs_file *f)
{
    struct ptfs_listing l = {NULL, 0};
    const struct ptfs_redirect_table *t = &p->redirects;
    struct dirent *e;
    size_t cap = 0, i;
    DIR *dir;
    int fd, err = 0;

    /* A descriptor of our own: the directory stream moves its offset.
     * O_NOATIME with noatime or nodiratime, if the kernel grants it. */
    fd = -1;
    if (p->dir_noatime)
        fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
    if (!p->dir_noatime || (fd < 0 && errno == EPERM)) /* EPERM: not the owner */
        fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    dir = fdopendir(fd);
    if (!dir) {
        err = -errno;
        close(fd);
        return err;
    }
    while (err == 0 && (errno = 0, e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (ptfs_redirect_in_dir(t, f->vpath, e->d_name))
            continue; /* hidden by a redirection */
        err = add_name(&l, &cap, e->d_name);
    }
    if (err == 0 && errno != 0)
        err = -errno;
    closedir(dir);
    for (i = 0; err == 0 && i < t->count; i++)
        if (ptfs_redirect_in_dir(t, f->vpath, t->items[i].vname) ==
            &t->items[i])
            err = add_name(&l, &cap, t->items[i].vname);
    if (err < 0) {
        ptfs_listing_free(&l);
        return err;
    }
    if (l.count > 1) /* qsort wants a non-NULL array even when empty */
        qsort(l.names, l.count, sizeof *l.names, compare_names);
    ptfs_listing_free(&f->listing);
    f->listing = l;
    return 0;
}

/* Index of the first name greater than @marker. */
static size_t first_after(const struct ptfs_listing *l, const char *marker)
{
    size_t lo = 0, hi = l->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(l->names[mid], marker) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The attributes of @name in the directory @f; -ENOENT if it went away
 * since the listing was made. */
static int entry_info(fsp_fs_t *fs, struct ptfs *p, struct ptfs_file *f,
                      const char *name, fsp_file_info_t *info)
{
    const struct ptfs_redirect *r;
    struct stat st;
    char *vpath;
    int fd, err;

    r = ptfs_redirect_in_dir(&p->redirects, f->vpath, name);
    if (r && p->redirect_mode == PTFS_REDIRECT_SYMLINK)
        return ptfs_vlink_info(p, r, info);
    if (r) {
        err = ptfs_open_real(p, r->rpath, O_PATH, &fd);
        if (err < 0)
            return err;
        err = fstat(fd, &st) < 0 ? -errno : 0;
        close(fd);
        if (err < 0)
            return err;
        ptfs_stat_to_info(&st, info);
        /* A REAL that is a link keeps its stored size: rare, harmless. */
        return 0;
    }
    if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    ptfs_stat_to_info(&st, info);
    if (S_ISLNK(st.st_mode) &&
        asprintf(&vpath, "%s/%s", strcmp(f->vpath, "/") ? f->vpath : "",
                 name) >= 0) {
        ptfs_link_fix_size(fs, f->fd, name, vpath, info);
        free(vpath);
    }
    return 0;
}

int ptfs_op_read_directory(fsp_fs_t *fs, void *file_ctx, const char *marker,
                           fsp_dir_buffer_t *buf)
{
    struct ptfs *p = ptfs_of(fs);
    struct ptfs_file *f = file_ctx;
    struct stat st;
    size_t i;
    int err = 0;

    if (f->vlink)
        return -ENOTDIR;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    pthread_mutex_lock(&f->dir_lock);
    if (!marker || !f->listing.names) {
        err = make_listing(p, f);
        if (err < 0)
            goto out;
    }
    i = marker ? first_after(&f->listing, marker) : 0;
    for (; i < f->listing.count; i++) {
        fsp_file_info_t info;

        if (entry_info(fs, p, f, f->listing.names[i], &info) < 0)
            continue; /* removed meanwhile: as if listed before it went */
        if (!fsp_dir_buffer_add(buf, f->listing.names[i], &info))
            break; /* full: fsp calls again with the last name it took */
    }
out:
    pthread_mutex_unlock(&f->dir_lock);
    return err;
}
