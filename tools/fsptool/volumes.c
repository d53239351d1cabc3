/*
 * volumes.c - find the volumes that are running: read the files they
 * publish (see src/api/stats.h) and check them against /proc/self/mountinfo.
 *
 * A published file is believed only if
 *   - it sits in a directory owned by the user it belongs to and writable
 *     by nobody else, and is a regular file owned by that user too;
 *   - the process named in the file name is alive (files of dead processes
 *     are stale: skipped, and removed if they are ours);
 *   - its header is complete (magic, stored last by the volume) and of our
 *     version, and names the same pid as the file name.
 * Whether its mount point is a FUSE mount right now is recorded in
 * volume->mounted: lsvol shows only those, stat and debug prefer them.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "fsptool.h"
#include "mountinfo.h"

static bool pid_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    return kill(pid, 0) == 0 || errno == EPERM;
}

/* ---- /proc/self/mountinfo ---- */

void mount_entry_free(struct mount_entry *e)
{
    free(e->mountpoint);
    free(e->fstype);
    free(e->source);
    free(e->super_options);
    memset(e, 0, sizeof(*e));
}

/* What mount_table_load() gathers while the library reads the table. */
struct table_load {
    struct mount_entry *mounts;
    size_t count, cap;
    int err;                        /* -ENOMEM: stop storing */
};

/* One entry of mountinfo, read by the library (mountinfo.h), copied into
 * an entry of our own. */
static void load_visit(const struct fsp_mountinfo_entry *mi, void *ctx)
{
    struct table_load *t = ctx;
    struct mount_entry *e;

    if (t->err < 0)
        return;
    if (t->count == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        struct mount_entry *n = realloc(t->mounts, ncap * sizeof(*n));

        if (!n) {
            t->err = -ENOMEM;
            return;
        }
        t->mounts = n;
        t->cap = ncap;
    }
    e = &t->mounts[t->count];
    memset(e, 0, sizeof(*e));
    e->dev_major = mi->major;
    e->dev_minor = mi->minor;
    e->mountpoint = strdup(mi->mount_point);
    e->fstype = strdup(mi->fstype);
    e->source = strdup(mi->source);
    e->super_options = strdup(mi->super_options);
    if (!e->mountpoint || !e->fstype || !e->source || !e->super_options) {
        mount_entry_free(e);
        t->err = -ENOMEM;
        return;
    }
    t->count++;
}

int mount_table_load(struct mount_entry **mounts, size_t *count)
{
    struct table_load t = { 0 };
    int ret = fsp_mountinfo_foreach(load_visit, &t);

    if (ret == 0)
        ret = t.err;
    if (ret < 0) {
        mount_table_free(t.mounts, t.count);
        t.mounts = NULL;
        t.count = 0;
    }
    *mounts = t.mounts;
    *count = t.count;
    return ret;
}

void mount_table_free(struct mount_entry *mounts, size_t count)
{
    for (size_t i = 0; i < count; i++)
        mount_entry_free(&mounts[i]);
    free(mounts);
}

static int load_mounts(struct volume_list *list)
{
    int ret = mount_table_load(&list->mounts, &list->mount_count);

    if (ret == -ENOMEM || ret == 0)
        return ret;
    fprintf(stderr, "fsptool: cannot read /proc/self/mountinfo: %s "
            "(is /proc mounted?); no volume counts as mounted\n",
            strerror(-ret));
    return ret;
}

/* The topmost FUSE mount at @path, or NULL. Later lines are mounted on
 * top of earlier ones. */
static const struct mount_entry *top_fuse_mount(const struct volume_list *list,
                                                const char *path)
{
    const struct mount_entry *top = NULL;

    for (size_t i = 0; i < list->mount_count; i++) {
        const struct mount_entry *e = &list->mounts[i];

        if (!strcmp(e->mountpoint, path) && fsp_mountinfo_is_fuse(e->fstype))
            top = e;
    }
    return top;
}

static bool is_mount_point(const struct volume_list *list, const char *path)
{
    for (size_t i = 0; i < list->mount_count; i++) {
        if (!strcmp(list->mounts[i].mountpoint, path))
            return true;
    }
    return false;
}

static bool mount_is_connection(const struct mount_entry *e, unsigned conn_id)
{
    return e && fsp_mountinfo_conn_id(e->dev_major, e->dev_minor) == conn_id;
}

/* ---- the published files ---- */

/* "<pid>-<conn_id>.vol" -> pid, conn_id. False for any other name. */
static bool parse_vol_name(const char *name, pid_t *pid, unsigned *conn_id)
{
    unsigned long long p, c;
    char *end;

    if (!isdigit((unsigned char)name[0]))
        return false;
    errno = 0;
    p = strtoull(name, &end, 10);
    if (errno || *end != '-' || p == 0 || p > INT32_MAX ||
        !isdigit((unsigned char)end[1]))
        return false;
    c = strtoull(end + 1, &end, 10);
    if (errno || c > UINT32_MAX || strcmp(end, ".vol") != 0)
        return false;
    *pid = (pid_t)p;
    *conn_id = (unsigned)c;
    return true;
}

static bool already_listed(const struct volume_list *list,
                           const struct stat *sb)
{
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i].file_dev == sb->st_dev &&
            list->items[i].file_ino == sb->st_ino)
            return true;
    }
    return false;
}

/* Copy a fixed-size field that the volume wrote: it is NUL-terminated
 * unless the file is corrupt, and @dst has one byte more to make sure. */
#define COPY_FIELD(dst, src)                                                   \
    do {                                                                       \
        memcpy((dst), (src), sizeof(src));                                     \
        (dst)[sizeof(src)] = '\0';                                             \
    } while (0)

/*
 * Look at one file @name of the directory @dir (open as @dfd), which
 * belongs to @uid, and add it to @list if it is a live volume.
 * Returns 0 (added or skipped) or -ENOMEM.
 */
static int load_volume(struct volume_list *list, size_t *cap, int dfd,
                       const char *dir, const char *name, uid_t uid)
{
    const struct fsp_stats_shared *sh = NULL;
    struct volume *v;
    struct stat sb;
    unsigned conn_id;
    pid_t pid;
    int fd = -1;
    int ret = 0;

    if (!parse_vol_name(name, &pid, &conn_id))
        goto out;
    if (!pid_alive(pid)) {
        /* Left by a volume that died without closing: stale. */
        if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            sb.st_uid == geteuid())
            unlinkat(dfd, name, 0);
        goto out;
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        sb.st_uid != uid)
        goto out;
    /* Shorter: just created, not yet sized. Mapping beyond the end of the
     * file would crash us with SIGBUS on the first read. */
    if ((size_t)sb.st_size < sizeof(*sh) || already_listed(list, &sb))
        goto out;
    sh = mmap(NULL, sizeof(*sh), PROT_READ, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED) {
        sh = NULL;
        fprintf(stderr, "fsptool: cannot map %s/%s: %s\n", dir, name,
                strerror(errno));
        goto out;
    }
    /* No magic: the volume is still filling in the header, or closing. */
    if (__atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE) != FSP_STATS_MAGIC)
        goto out;
    if (sh->version != FSP_STATS_VERSION) {
        fprintf(stderr, "fsptool: skipping %s/%s: published by another "
                "version of fsp (stats version %u, this fsptool reads %u); "
                "use the fsptool that came with that file system\n",
                dir, name, sh->version, FSP_STATS_VERSION);
        goto out;
    }
    if (sh->pid != pid)
        goto out;

    if (list->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct volume *n = realloc(list->items, ncap * sizeof(*n));

        if (!n) {
            ret = -ENOMEM;
            goto out;
        }
        list->items = n;
        *cap = ncap;
    }
    v = &list->items[list->count];
    memset(v, 0, sizeof(*v));
    snprintf(v->file, sizeof(v->file), "%s/%s", dir, name);
    v->file_dev = sb.st_dev;
    v->file_ino = sb.st_ino;
    v->owner = sb.st_uid;
    v->pid = pid;
    v->conn_id = conn_id;
    v->threads = sh->threads;
    v->started_unix_ns = sh->started_unix_ns;
    COPY_FIELD(v->mountpoint, sh->mountpoint);
    COPY_FIELD(v->fs_name, sh->fs_name);
    COPY_FIELD(v->channel, sh->channel);
    v->mounted = top_fuse_mount(list, v->mountpoint) != NULL;
    v->shared = sh;
    sh = NULL;  /* the list owns the mapping now */
    list->count++;
out:
    if (sh)
        munmap((void *)sh, sizeof(*sh));
    if (fd >= 0)
        close(fd);
    return ret;
}

/*
 * Load every volume published in @dir, which must belong to @uid.
 * A missing directory is normal (nobody published there yet).
 * Returns 0 or -ENOMEM.
 */
static int scan_dir(struct volume_list *list, size_t *cap, const char *dir,
                    uid_t uid)
{
    struct dirent *de;
    struct stat sb;
    DIR *d = NULL;
    int dfd;
    int ret = 0;

    /* O_NOFOLLOW: /tmp/fsp-<uid> could be a symlink someone planted. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOTDIR || errno == ELOOP)
            fprintf(stderr, "fsptool: ignoring %s: not a directory (a "
                    "symlink is not trusted); remove it, volumes cannot "
                    "publish there until then\n", dir);
        else if (errno != ENOENT)
            fprintf(stderr, "fsptool: cannot read %s: %s\n", dir,
                    strerror(errno));
        goto out;
    }
    if (fstat(dfd, &sb) != 0)
        goto out;
    if (sb.st_uid != uid || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
        fprintf(stderr, "fsptool: ignoring %s: it should belong to uid %u "
                "and be writable only by it (it is uid %u, mode %04o); "
                "remove it and restart the volumes that publish there\n",
                dir, (unsigned)uid, (unsigned)sb.st_uid,
                (unsigned)(sb.st_mode & 07777));
        goto out;
    }
    d = fdopendir(dfd);
    if (!d) {
        ret = errno == ENOMEM ? -ENOMEM : 0;
        goto out;
    }
    dfd = -1;  /* closed by closedir() now */
    while ((de = readdir(d)) != NULL) {
        ret = load_volume(list, cap, dirfd(d), dir, de->d_name, uid);
        if (ret < 0)
            goto out;
    }
out:
    if (d)
        closedir(d);
    if (dfd >= 0)
        close(dfd);
    return ret;
}

/*
 * For root: scan every user's directory matching the glob @pattern. The
 * digits right after @prefix are the owner's uid: "/tmp/fsp-1000" for
 * pattern "/tmp/fsp-*", "/run/user/1000/fsp" for the
 * /run/user one.
 */
static int scan_users(struct volume_list *list, size_t *cap,
                      const char *pattern, const char *prefix)
{
    glob_t g;
    int ret = 0;

    if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
        return 0;  /* no match */
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *p = g.gl_pathv[i] + strlen(prefix);
        unsigned long uid;
        char *end;

        if (!isdigit((unsigned char)*p))
            continue;
        uid = strtoul(p, &end, 10);
        if ((*end != '\0' && *end != '/') || uid > UINT32_MAX)
            continue;
        ret = scan_dir(list, cap, g.gl_pathv[i], (uid_t)uid);
        if (ret < 0)
            break;
    }
    globfree(&g);
    return ret;
}

int volume_list_load(struct volume_list *list)
{
    uid_t uid = geteuid();
    char dir[PATH_MAX];
    size_t cap = 0;
    int ret;

    memset(list, 0, sizeof(*list));
    ret = load_mounts(list);
    if (ret == -ENOMEM)
        goto out;

    if (uid == 0) {
        ret = fsp_stats_dir(dir, sizeof(dir));  /* /run/fsp */
        if (ret == 0)
            ret = scan_dir(list, &cap, dir, 0);
        if (ret == 0)
            ret = scan_users(list, &cap, "/tmp/fsp-*", "/tmp/fsp-");
        if (ret == 0)
            ret = scan_users(list, &cap, "/run/user/*/fsp", "/run/user/");
        goto out;
    }

    /* Ours: where fsp_stats_dir() points now, and the other places our
     * volumes may have published from another environment (a volume
     * started without $XDG_RUNTIME_DIR uses /tmp). Files found twice are
     * listed once. */
    ret = fsp_stats_dir(dir, sizeof(dir));
    if (ret == 0)
        ret = scan_dir(list, &cap, dir, uid);
    if (ret == 0) {
        snprintf(dir, sizeof(dir), "/run/user/%u/fsp", (unsigned)uid);
        ret = scan_dir(list, &cap, dir, uid);
    }
    if (ret == 0) {
        snprintf(dir, sizeof(dir), "/tmp/fsp-%u", (unsigned)uid);
        ret = scan_dir(list, &cap, dir, uid);
    }
    /* Root's volumes are public (/run/fsp is 0755, its files 0644), like
     * the mount table. */
    if (ret == 0)
        ret = scan_dir(list, &cap, "/run/fsp", 0);
out:
    if (ret < 0)
        volume_list_free(list);
    return ret;
}

void volume_list_free(struct volume_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        volume_unmap(list->items[i].shared);
    mount_table_free(list->mounts, list->mount_count);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

/*
 * The volume published its mount point canonical (realpath). realpath()
 * on the argument would do the same, but it stats every component, and a
 * stat of a FUSE mount point is a request to that volume: if the volume
 * hangs, so would fsptool, just when its counters are wanted. So resolve
 * only the parent directory and append the last name. If that is not a
 * mount point, the last name may be a symlink or "..": then resolving it
 * with realpath() is safe, since it is not the root of a mount.
 */
void volume_normalize_path(const struct volume_list *list, const char *arg,
                           char *out, size_t size)
{
    char tmp[PATH_MAX], parent[PATH_MAX], full[PATH_MAX];
    const char *dir, *base;
    char *slash;
    size_t len;

    snprintf(out, size, "%s", arg);
    if (snprintf(tmp, sizeof(tmp), "%s", arg) >= (int)sizeof(tmp))
        return;
    len = strlen(tmp);
    while (len > 1 && tmp[len - 1] == '/')
        tmp[--len] = '\0';

    slash = strrchr(tmp, '/');
    if (!slash) {
        dir = ".";
        base = tmp;
    } else if (slash == tmp) {
        dir = "/";
        base = tmp + 1;
    } else {
        *slash = '\0';
        dir = tmp;
        base = slash + 1;
    }
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        if (realpath(arg, full))
            snprintf(out, size, "%s", full);
        return;
    }
    if (!realpath(dir, parent))
        return;  /* no such directory: nothing will match */
    snprintf(out, size, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "",
             base);
    if (!is_mount_point(list, out) && realpath(arg, full))
        snprintf(out, size, "%s", full);
}

/*
 * Several volumes can claim one mount point: a dead one's mount replaced
 * by a new one, or one mounted over another. Prefer the one the topmost
 * FUSE mount there belongs to, then any mounted one, then the newest.
 */
const struct volume *volume_find(const struct volume_list *list,
                                 const char *path)
{
    const struct mount_entry *top = top_fuse_mount(list, path);
    const struct volume *best = NULL;
    int best_rank = 0;

    for (size_t i = 0; i < list->count; i++) {
        const struct volume *v = &list->items[i];
        int rank;

        if (strcmp(v->mountpoint, path) != 0)
            continue;
        rank = mount_is_connection(top, v->conn_id) ? 3 : v->mounted ? 2 : 1;
        if (rank > best_rank ||
            (rank == best_rank && v->started_unix_ns > best->started_unix_ns)) {
            best = v;
            best_rank = rank;
        }
    }
    return best;
}

int volume_map_writable(const struct volume *v,
                        struct fsp_stats_shared **shared)
{
    struct fsp_stats_shared *sh;
    struct stat sb;
    int fd;
    int ret = 0;

    *shared = NULL;
    fd = open(v->file, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    /* The very file we read, not one put in its place since. */
    if (fstat(fd, &sb) != 0 || sb.st_dev != v->file_dev ||
        sb.st_ino != v->file_ino || (size_t)sb.st_size < sizeof(*sh)) {
        ret = -ESTALE;
        goto out;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED) {
        ret = -errno;
        goto out;
    }
    *shared = sh;
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

void volume_unmap(const struct fsp_stats_shared *shared)
{
    if (shared)
        munmap((void *)shared, sizeof(*shared));
}
