/**
 * @file ptfs_redirect.c
 * The redirection table: -o redirect=VIRTUAL:REAL makes the volume path
 * VIRTUAL serve the file REAL of SOURCE.
 *
 * Names are never rewritten in place. fsp keeps asking for VIRTUAL (that
 * is the name the kernel knows and readdir lists); the resolver
 * (ptfs_path.c) asks this table which file of SOURCE serves a volume path
 * and opens that one instead, still confined to SOURCE. The table is fixed
 * at startup, so it is read without a lock.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The next component of the path at *s ("a" of "/a/b"), copied to buf;
 * advances *s past it. Returns its length, 0 at the end, -1 if too long. */
static int next_component(const char **s, char buf[NAME_MAX + 1])
{
    const char *p = *s, *start;
    size_t len;

    while (*p == '/')
        p++;
    start = p;
    while (*p && *p != '/')
        p++;
    len = (size_t)(p - start);
    if (len > NAME_MAX)
        return -1;
    memcpy(buf, start, len);
    buf[len] = '\0';
    *s = p;
    return (int)len;
}

/* A path of the command line in canonical form: components joined by '/',
 * with a leading '/' if @absolute. "." and ".." are refused: a
 * redirection names files, not ways to reach them. */
static int canonical_path(const char *text, bool absolute, char **out)
{
    char comp[NAME_MAX + 1];
    size_t len = strlen(text), used = 0;
    char *path = malloc(len + 2);
    int n;

    *out = NULL;
    if (!path)
        return -ENOMEM;
    while ((n = next_component(&text, comp)) > 0) {
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
            free(path);
            return -EINVAL;
        }
        if (absolute || used > 0)
            path[used++] = '/';
        memcpy(path + used, comp, (size_t)n);
        used += (size_t)n;
    }
    path[used] = '\0';
    if (n < 0 || used == 0) {
        free(path);
        return n < 0 ? -ENAMETOOLONG : -EINVAL;
    }
    *out = path;
    return 0;
}

/* rpath as seen from the directory vparent: one ".." per component of
 * vparent, then rpath. It resolves inside the volume. */
static char *relative_target(const char *vparent, const char *rpath)
{
    size_t depth = 0, i;
    const char *p;
    char *target;

    for (p = vparent; *p; p++)
        if (*p == '/' && p[1] != '\0')
            depth++;
    target = malloc(depth * 3 + strlen(rpath) + 1);
    if (!target)
        return NULL;
    for (i = 0; i < depth; i++)
        memcpy(target + i * 3, "../", 3);
    strcpy(target + depth * 3, rpath);
    return target;
}

/* Check that REAL exists and lies inside SOURCE, symlinks on the way
 * included: RESOLVE_BENEATH refuses every escape with EXDEV. */
static int check_real(int root_fd, const char *rpath)
{
    struct open_how how;
    int fd;

    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    fd = (int)syscall(SYS_openat2, root_fd, rpath, &how, sizeof how);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static int add_redirect(struct ptfs_redirect_table *t,
                        const struct ptfs_redirect_spec *spec, int root_fd,
                        char *message, size_t message_size)
{
    struct ptfs_redirect *r = &t->items[t->count];
    char *slash;
    size_t i;
    int err;

    memset(r, 0, sizeof *r);
    err = canonical_path(spec->virtual_path, true, &r->vpath);
    if (err == 0)
        err = canonical_path(spec->real_path, false, &r->rpath);
    if (err < 0) {
        snprintf(message, message_size,
                 "redirect=%s:%s: both paths must name a file below SOURCE, "
                 "without '.' or '..'",
                 spec->virtual_path, spec->real_path);
        goto out;
    }
    for (i = 0; i < t->count; i++) {
        if (fsp_name_compare(t->items[i].vpath, r->vpath,
                             t->case_insensitive) == 0) {
            snprintf(message, message_size,
                     "redirect=%s:%s: %s is already redirected",
                     spec->virtual_path, spec->real_path, r->vpath);
            err = -EINVAL;
            goto out;
        }
    }
    err = check_real(root_fd, r->rpath);
    if (err == -EXDEV || err == -ELOOP) {
        snprintf(message, message_size,
                 "redirect=%s:%s: %s leads out of SOURCE",
                 spec->virtual_path, spec->real_path, r->rpath);
        goto out;
    }
    if (err < 0) {
        snprintf(message, message_size, "redirect=%s:%s: %s: %s",
                 spec->virtual_path, spec->real_path, r->rpath,
                 strerror(-err));
        goto out;
    }
    r->vpath_len = strlen(r->vpath);
    r->rpath_len = strlen(r->rpath);
    slash = strrchr(r->vpath, '/');
    r->vname = slash + 1;
    r->vparent = slash == r->vpath ? strdup("/")
                                   : strndup(r->vpath, (size_t)(slash - r->vpath));
    r->link_target = r->vparent ? relative_target(r->vparent, r->rpath) : NULL;
    if (!r->vparent || !r->link_target) {
        err = -ENOMEM;
        snprintf(message, message_size, "out of memory");
        goto out;
    }
    t->count++;
out:
    if (err < 0) {
        free(r->vpath);
        free(r->rpath);
        free(r->vparent);
        free(r->link_target);
    }
    return err;
}

int ptfs_redirect_table_init(struct ptfs_redirect_table *t,
                             const struct ptfs_redirect_spec *specs,
                             size_t count, bool case_insensitive, int root_fd,
                             char *message, size_t message_size)
{
    size_t i;
    int err = 0;

    memset(t, 0, sizeof *t);
    t->case_insensitive = case_insensitive;
    if (count == 0)
        return 0;
    t->items = calloc(count, sizeof *t->items);
    if (!t->items)
        return -ENOMEM;
    for (i = 0; i < count && err == 0; i++)
        err = add_redirect(t, &specs[i], root_fd, message, message_size);
    if (err < 0)
        ptfs_redirect_table_free(t);
    return err;
}

void ptfs_redirect_table_free(struct ptfs_redirect_table *t)
{
    size_t i;

    for (i = 0; i < t->count; i++) {
        free(t->items[i].vpath);
        free(t->items[i].rpath);
        free(t->items[i].vparent);
        free(t->items[i].link_target);
    }
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* Whether the components of @prefix start @path; *rest gets the rest of
 * path. Component by component, so that case folding may change lengths. */
static bool starts_with_components(const char *prefix, const char *path,
                                   bool case_insensitive, const char **rest)
{
    char a[NAME_MAX + 1], b[NAME_MAX + 1];
    int n;

    while ((n = next_component(&prefix, a)) > 0) {
        if (next_component(&path, b) <= 0 ||
            fsp_name_compare(a, b, case_insensitive) != 0)
            return false;
    }
    if (n < 0 || (*path != '\0' && *path != '/'))
        return false;
    *rest = path;
    return true;
}

const struct ptfs_redirect *
ptfs_redirect_find(const struct ptfs_redirect_table *t, const char *vpath,
                   const char **rest)
{
    const struct ptfs_redirect *best = NULL;
    const char *r;
    size_t i;

    *rest = NULL;
    for (i = 0; i < t->count; i++) {
        const struct ptfs_redirect *c = &t->items[i];

        if (starts_with_components(c->vpath, vpath, t->case_insensitive, &r) &&
            (!best || c->vpath_len > best->vpath_len)) {
            best = c;
            *rest = r;
        }
    }
    /* A trailing '/' is no component: "/a/" is "/a". */
    if (best && strspn(*rest, "/") == strlen(*rest))
        *rest = "";
    return best;
}

const struct ptfs_redirect *
ptfs_redirect_in_dir(const struct ptfs_redirect_table *t, const char *vdir,
                     const char *name)
{
    const char *rest;
    size_t i;

    for (i = 0; i < t->count; i++) {
        const struct ptfs_redirect *r = &t->items[i];

        if (fsp_name_compare(r->vname, name, t->case_insensitive) == 0 &&
            starts_with_components(r->vparent, vdir, t->case_insensitive,
                                   &rest) &&
            strspn(rest, "/") == strlen(rest))
            return r;
    }
    return NULL;
}

void ptfs_redirect_each_virtual(const struct ptfs_redirect_table *t,
                                const char *rpath,
                                void (*fn)(const char *vpath, void *arg),
                                void *arg)
{
    size_t i;

    for (i = 0; i < t->count; i++) {
        const struct ptfs_redirect *r = &t->items[i];
        const char *rest = rpath + r->rpath_len;
        char *vpath;

        if (strncmp(rpath, r->rpath, r->rpath_len) != 0 ||
            (*rest != '\0' && *rest != '/'))
            continue;
        if (asprintf(&vpath, "%s%s", r->vpath, rest) < 0)
            continue;
        fn(vpath, arg);
        free(vpath);
    }
}
