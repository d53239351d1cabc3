/**
 * @file ptfs_notify.c
 * -o notify: a thread watches SOURCE with inotify and tells the kernel,
 * with fsp_fs_notify(), about files changed behind the mount's back, so
 * that even with infinite cache timeouts a change made to SOURCE directly
 * shows through the mount at once.
 *
 * inotify watches one directory at a time: every directory of SOURCE gets
 * a watch at startup, and new ones as they appear (created or moved in).
 * Each watch remembers its directory's path relative to SOURCE. A change
 * to a name is reported for the name (FSP_NOTIFY_ENTRY: it appeared or
 * went), for its directory (attributes and listing changed), or for the
 * file (attributes, data); and again for every volume path that shows the
 * file through a redirection. When the kernel's event queue overflows,
 * events were lost: the root is reported, the most ptfs can say.
 *
 * Changes made through the mount are seen too (ptfs makes them in
 * SOURCE); telling the kernel about them costs a little and is harmless.
 * Directories are opened confined (ptfs_path.c) and watched through
 * /proc/self/fd/N, so a directory swapped for a link never makes ptfs
 * watch anything outside SOURCE.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK                                                          \
    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY |      \
     IN_CLOSE_WRITE | IN_ATTRIB | IN_ONLYDIR | IN_EXCL_UNLINK)

struct ptfs_notify {
    struct ptfs *p;
    fsp_fs_t *fs;
    int inotify_fd;
    int stop_fd;      /* an eventfd: written to stop the thread */
    pthread_t thread;
    bool thread_started;
    char **paths;     /* paths[wd]: the watched directory, relative */
    size_t path_cap;
};

/* ---- reporting ---- */

/* What one notification needs: the volume and the bits. */
struct report {
    fsp_fs_t *fs;
    unsigned what;
};

static void report_vpath(const char *vpath, void *arg)
{
    const struct report *r = arg;

    /* Queued by fsp; -ESHUTDOWN while the volume is not running is fine. */
    fsp_fs_notify(r->fs, vpath, r->what);
}

/* Report the file at @rpath (relative to SOURCE, "." for the root) under
 * every volume path that shows it. */
static void report(struct ptfs_notify *n, const char *rpath, unsigned what)
{
    struct report r = {n->fs, what};
    char *vpath;

    if (strcmp(rpath, ".") == 0) {
        /* The root has no name to forget. */
        r.what &= ~(unsigned)FSP_NOTIFY_ENTRY;
        if (r.what)
            report_vpath("/", &r);
    } else if (asprintf(&vpath, "/%s", rpath) >= 0) {
        report_vpath(vpath, &r);
        free(vpath);
    }
    ptfs_redirect_each_virtual(&n->p->redirects, rpath, report_vpath, &r);
}

/* ---- watches ---- */

static int remember(struct ptfs_notify *n, int wd, const char *rpath)
{
    char *copy;

    if ((size_t)wd >= n->path_cap) {
        size_t cap = n->path_cap ? n->path_cap : 256;
        char **paths;

        while (cap <= (size_t)wd)
            cap *= 2;
        paths = realloc(n->paths, cap * sizeof *paths);
        if (!paths)
            return -ENOMEM;
        memset(paths + n->path_cap, 0, (cap - n->path_cap) * sizeof *paths);
        n->paths = paths;
        n->path_cap = cap;
    }
    copy = strdup(rpath);
    if (!copy)
        return -ENOMEM;
    free(n->paths[wd]);
    n->paths[wd] = copy;
    return 0;
}

static void forget(struct ptfs_notify *n, int wd)
{
    if (wd >= 0 && (size_t)wd < n->path_cap) {
        free(n->paths[wd]);
        n->paths[wd] = NULL;
    }
}

static char *child_path(const char *dir, const char *name)
{
    char *path;

    if (strcmp(dir, ".") == 0)
        return strdup(name);
    return asprintf(&path, "%s/%s", dir, name) < 0 ? NULL : path;
}

/* Watch the directory @rpath and every directory below it. @announce:
 * they are new, so report what they hold (made before the watch was). */
static void watch_tree(struct ptfs_notify *n, const char *rpath, bool announce)
{
    char fd_path[32], *child;
    struct dirent *e;
    DIR *dir;
    int fd, wd;

    if (ptfs_open_real(n->p, rpath, O_RDONLY | O_DIRECTORY, &fd) < 0)
        return; /* gone already, or not a directory */
    ptfs_fd_path(fd, fd_path);
    wd = inotify_add_watch(n->inotify_fd, fd_path, WATCH_MASK);
    if (wd < 0 || remember(n, wd, rpath) < 0) {
        close(fd);
        return; /* out of watches (fs.inotify.max_user_watches) */
    }
    dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return;
    }
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        child = child_path(rpath, e->d_name);
        if (!child)
            continue;
        if (announce)
            report(n, child, FSP_NOTIFY_ENTRY);
        if (e->d_type == DT_DIR)
            watch_tree(n, child, announce);
        free(child);
    }
    closedir(dir);
}

/* A directory moved away: drop the watches of it and below it (its new
 * place, if inside SOURCE, gets new ones from IN_MOVED_TO). */
static void unwatch_tree(struct ptfs_notify *n, const char *rpath)
{
    size_t len = strlen(rpath), wd;

    for (wd = 0; wd < n->path_cap; wd++) {
        const char *p = n->paths[wd];

        if (p && strncmp(p, rpath, len) == 0 &&
            (p[len] == '\0' || p[len] == '/')) {
            inotify_rm_watch(n->inotify_fd, (int)wd);
            forget(n, (int)wd);
        }
    }
}

/* ---- events ---- */

static void handle_event(struct ptfs_notify *n, const struct inotify_event *ev)
{
    const unsigned dir_changed = FSP_NOTIFY_ATTR | FSP_NOTIFY_DATA;
    const char *dir;
    char *child;

    if (ev->mask & IN_Q_OVERFLOW) {
        report(n, ".", FSP_NOTIFY_ATTR | FSP_NOTIFY_DATA);
        return;
    }
    if (ev->wd < 0 || (size_t)ev->wd >= n->path_cap || !n->paths[ev->wd])
        return;
    if (ev->mask & IN_IGNORED) {
        forget(n, ev->wd);
        return;
    }
    dir = n->paths[ev->wd];
    if (ev->len == 0 || ev->name[0] == '\0') {
        if (ev->mask & (IN_ATTRIB | IN_MODIFY))
            report(n, dir, FSP_NOTIFY_ATTR); /* the directory itself */
        return;
    }
    child = child_path(dir, ev->name);
    if (!child)
        return;
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        report(n, child, FSP_NOTIFY_ENTRY);
        report(n, dir, dir_changed);
        if (ev->mask & IN_ISDIR)
            watch_tree(n, child, true);
    }
    if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        report(n, child, FSP_NOTIFY_ENTRY);
        report(n, dir, dir_changed);
        if ((ev->mask & IN_ISDIR) && (ev->mask & IN_MOVED_FROM))
            unwatch_tree(n, child);
    }
    if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE))
        report(n, child, FSP_NOTIFY_DATA | FSP_NOTIFY_ATTR);
    if (ev->mask & IN_ATTRIB)
        report(n, child, FSP_NOTIFY_ATTR);
    free(child);
}

static void *watch_thread(void *arg)
{
    struct ptfs_notify *n = arg;
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    struct pollfd fds[2];
    ssize_t len;
    char *p;

    fds[0].fd = n->inotify_fd;
    fds[0].events = POLLIN;
    fds[1].fd = n->stop_fd;
    fds[1].events = POLLIN;
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        len = read(n->inotify_fd, buf, sizeof buf);
        if (len < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (len <= 0)
            break;
        for (p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            handle_event(n, ev);
            p += sizeof *ev + ev->len;
        }
    }
    return NULL;
}

int ptfs_notify_start(struct ptfs *p, fsp_fs_t *fs, struct ptfs_notify **pn)
{
    struct ptfs_notify *n;
    int err;

    *pn = NULL;
    n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    n->p = p;
    n->fs = fs;
    n->stop_fd = -1;
    n->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (n->inotify_fd < 0) {
        err = -errno;
        goto fail;
    }
    n->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (n->stop_fd < 0) {
        err = -errno;
        goto fail;
    }
    watch_tree(n, ".", false);
    err = -pthread_create(&n->thread, NULL, watch_thread, n);
    if (err < 0)
        goto fail;
    n->thread_started = true;
    *pn = n;
    return 0;
fail:
    ptfs_notify_stop(n);
    return err;
}

void ptfs_notify_stop(struct ptfs_notify *n)
{
    uint64_t one = 1;
    size_t i;

    if (!n)
        return;
    if (n->thread_started) {
        if (write(n->stop_fd, &one, sizeof one) < 0) {
            /* an eventfd write cannot fail here */
        }
        pthread_join(n->thread, NULL);
    }
    if (n->stop_fd >= 0)
        close(n->stop_fd);
    if (n->inotify_fd >= 0)
        close(n->inotify_fd);
    for (i = 0; i < n->path_cap; i++)
        free(n->paths[i]);
    free(n->paths);
    free(n);
}
