/*
 * bench_file.c - fsbench's metadata tests: WinFsp fsbench's file_* tests
 * mapped to POSIX calls, all relative to the run's directory (openat and
 * friends), so that path building is not measured.
 *
 * Every test makes its names before the clock starts, and creates the
 * files or directories it needs before the clock starts; the runner
 * removes whatever is left afterwards.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsbench.h"

enum { NAME_SIZE = 24 };

/* @n names "file0".."file<n-1>" (after the client's prefix, -j), NAME_SIZE
 * bytes apart in one block. */
struct names {
    char *buf;
    unsigned n;
};

static const char *name_at(const struct names *nm, unsigned i)
{
    return nm->buf + (size_t)i * NAME_SIZE;
}

static int names_make(struct names *nm, const char *prefix, unsigned n)
{
    nm->n = 0;
    nm->buf = calloc(n ? n : 1, NAME_SIZE);
    if (!nm->buf)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++)
        snprintf(nm->buf + (size_t)i * NAME_SIZE, NAME_SIZE, "%sfile%u",
                 prefix, i);
    nm->n = n;
    return 0;
}

static void names_free(struct names *nm)
{
    free(nm->buf);
    nm->buf = NULL;
    nm->n = 0;
}

/* Setup shared by most tests: the names, and empty files by those names. */
static int make_files(struct fsb_run *r, struct names *nm)
{
    int err = names_make(nm, r->params->prefix, r->params->files);
    if (err)
        goto out;
    for (unsigned i = 0; i < nm->n; i++) {
        int fd = openat(r->dirfd, name_at(nm, i),
                        O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) {
            err = fsb_syserr("create", name_at(nm, i));
            goto out;
        }
        if (close(fd) < 0) {
            err = fsb_syserr("close", name_at(nm, i));
            goto out;
        }
    }
out:
    return err;
}

/* Opens each name with @flags and closes it again: create, open and
 * overwrite differ only in the flags. */
static int open_close_each(struct fsb_run *r, const struct names *nm,
                           int flags)
{
    for (unsigned i = 0; i < nm->n; i++) {
        int fd = openat(r->dirfd, name_at(nm, i), flags | O_CLOEXEC, 0644);
        if (fd < 0)
            return fsb_syserr("open", name_at(nm, i));
        if (close(fd) < 0)
            return fsb_syserr("close", name_at(nm, i));
    }
    return 0;
}

int fsb_file_create(struct fsb_run *r)
{
    struct names nm;
    int err = names_make(&nm, r->params->prefix, r->params->files);
    if (err)
        goto out;
    fsb_clock_start(r);
    err = open_close_each(r, &nm, O_CREAT | O_EXCL | O_WRONLY);
    fsb_clock_stop(r);
    r->ops = nm.n;
out:
    names_free(&nm);
    return err;
}

int fsb_file_open(struct fsb_run *r)
{
    struct names nm;
    int err = make_files(r, &nm);
    if (err)
        goto out;
    fsb_clock_start(r);
    err = open_close_each(r, &nm, O_RDONLY);
    fsb_clock_stop(r);
    r->ops = nm.n;
out:
    names_free(&nm);
    return err;
}

int fsb_file_overwrite(struct fsb_run *r)
{
    struct names nm;
    int err = make_files(r, &nm);
    if (err)
        goto out;
    fsb_clock_start(r);
    err = open_close_each(r, &nm, O_WRONLY | O_TRUNC);
    fsb_clock_stop(r);
    r->ops = nm.n;
out:
    names_free(&nm);
    return err;
}

int fsb_file_attr(struct fsb_run *r)
{
    struct names nm;
    struct stat st;
    int err = make_files(r, &nm);
    if (err)
        goto out;
    fsb_clock_start(r);
    for (unsigned i = 0; i < nm.n; i++) {
        if (fstatat(r->dirfd, name_at(&nm, i), &st,
                    AT_SYMLINK_NOFOLLOW) < 0) {
            err = fsb_syserr("stat", name_at(&nm, i));
            break;
        }
    }
    fsb_clock_stop(r);
    r->ops = nm.n;
out:
    names_free(&nm);
    return err;
}

/* One listing of the run's directory: opendir, readdir to the end,
 * closedir. Counts the entries other than "." and "..". */
static int list_once(struct fsb_run *r, uint64_t *count)
{
    int err = 0;
    DIR *d = NULL;
    int fd = openat(r->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        err = fsb_syserr("open", "the run's directory");
        goto out;
    }
    d = fdopendir(fd);
    if (!d) {
        err = fsb_syserr("fdopendir", NULL);
        close(fd);
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                err = fsb_syserr("readdir", NULL);
            break;
        }
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            (*count)++;
    }
out:
    if (d)
        closedir(d);
    return err;
}

int fsb_file_list(struct fsb_run *r)
{
    struct names nm;
    uint64_t listed = 0;
    int err = make_files(r, &nm);
    if (err)
        goto out;
    fsb_clock_start(r);
    for (unsigned p = 0; p < r->params->passes && !err; p++)
        err = list_once(r, &listed);
    fsb_clock_stop(r);
    r->ops = listed;
    /* A listing that misses or repeats names is a broken file system, not
     * a fast one. */
    if (!err && listed != (uint64_t)nm.n * r->params->passes *
                              r->params->sharing) {
        fprintf(stderr, "fsbench: listed %llu entries in %u passes over "
                        "%u files\n", (unsigned long long)listed,
                r->params->passes, nm.n * r->params->sharing);
        err = -EIO;
    }
out:
    names_free(&nm);
    return err;
}

/* stat of one name, files x passes times, in a directory of -n files:
 * WinFsp's FindFirstFile of a single name. @want_errno is the expected
 * outcome: 0 for a name that exists, ENOENT for one that does not. */
static int stat_one_name(struct fsb_run *r, const char *name, int want_errno)
{
    struct names nm;
    struct stat st;
    const char *target;
    uint64_t count = (uint64_t)r->params->files * r->params->passes;
    int err = make_files(r, &nm);
    if (err)
        goto out;
    target = name ? name : name_at(&nm, nm.n / 2);
    fsb_clock_start(r);
    for (uint64_t i = 0; i < count; i++) {
        int got = fstatat(r->dirfd, target, &st, AT_SYMLINK_NOFOLLOW) < 0
                      ? errno : 0;
        if (got == want_errno)
            continue;
        if (got) {
            errno = got;
            err = fsb_syserr("stat", target);
        } else {
            fprintf(stderr, "fsbench: stat %s: found a name that does "
                            "not exist\n", target);
            err = -EEXIST;
        }
        break;
    }
    fsb_clock_stop(r);
    r->ops = count;
out:
    names_free(&nm);
    return err;
}

int fsb_file_list_single(struct fsb_run *r)
{
    return stat_one_name(r, NULL, 0);
}

int fsb_file_list_none(struct fsb_run *r)
{
    return stat_one_name(r, "no-such-file", ENOENT);
}

int fsb_file_delete(struct fsb_run *r)
{
    struct names nm;
    int err = make_files(r, &nm);
    if (err)
        goto out;
    fsb_clock_start(r);
    for (unsigned i = 0; i < nm.n; i++) {
        if (unlinkat(r->dirfd, name_at(&nm, i), 0) < 0) {
            err = fsb_syserr("unlink", name_at(&nm, i));
            break;
        }
    }
    fsb_clock_stop(r);
    r->ops = nm.n;
out:
    names_free(&nm);
    return err;
}

int fsb_file_mkdir(struct fsb_run *r)
{
    struct names nm;
    int err = names_make(&nm, r->params->prefix, r->params->files);
    if (err)
        goto out;
    fsb_clock_start(r);
    for (unsigned i = 0; i < nm.n; i++) {
        if (mkdirat(r->dirfd, name_at(&nm, i), 0755) < 0) {
            err = fsb_syserr("mkdir", name_at(&nm, i));
            break;
        }
    }
    fsb_clock_stop(r);
    r->ops = nm.n;
out:
    names_free(&nm);
    return err;
}

int fsb_file_rmdir(struct fsb_run *r)
{
    struct names nm;
    int err = names_make(&nm, r->params->prefix, r->params->files);
    if (err)
        goto out;
    for (unsigned i = 0; i < nm.n; i++) {
        if (mkdirat(r->dirfd, name_at(&nm, i), 0755) < 0) {
            err = fsb_syserr("mkdir", name_at(&nm, i));
            goto out;
        }
    }
    fsb_clock_start(r);
    for (unsigned i = 0; i < nm.n; i++) {
        if (unlinkat(r->dirfd, name_at(&nm, i), AT_REMOVEDIR) < 0) {
            err = fsb_syserr("rmdir", name_at(&nm, i));
            break;
        }
    }
    fsb_clock_stop(r);
    r->ops = nm.n;
out:
    names_free(&nm);
    return err;
}
