/*
 * notify_api.c - fsp_fs_notify() and its kin: the kernel forgets what it
 * cached of a name, a file's attributes or its data, takes data handed to
 * it (store), gives back what it holds (retrieve), and forgets files or
 * every name (prune, epoch), when the file system says so.
 *
 * The file system under test lives in this file: "ctlfs", a flat
 * directory of small files whose names, contents and modes change behind
 * the kernel's back through commands written to /ctl:
 *
 *   set NAME TEXT        create or change NAME (no notification)
 *   del NAME             remove NAME (no notification)
 *   mode NAME OCTAL      change NAME's permission bits (no notification)
 *   notify NAME BITS     fsp_fs_notify("/NAME", BITS) inside the callback
 *   later NAME BITS      the same from another thread, 20 ms later
 *   store NAME TEXT      fsp_fs_notify_store("/NAME", 0, TEXT): the kernel's
 *                        cache gets TEXT, ctlfs keeps its own contents
 *   retrieve NAME        fsp_fs_notify_retrieve("/NAME", 0, 4096); the
 *                        result goes to the result file
 *   epoch -              fsp_fs_notify_epoch()
 *   lookups NAME         write how many LOOKUPs of NAME ctlfs served
 *   reads NAME           write how many READs of NAME ctlfs served
 *
 * Results go to MOUNTPOINT.result, a file beside the mount point (outside
 * the volume, so no cache of its own stands between), as one line.
 *
 * The volume caches everything forever (timeouts -1, keep_cache), so
 * without a notification the kernel never sees a change: every case first
 * shows the stale view, then the fresh one after notifying. Looking up a
 * name that starts with "lookup-notify" notifies "/a" from inside the
 * LOOKUP callback, while the kernel holds the directory's lock: what a
 * synchronous notification would deadlock on.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <fsp/fsp.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------- ctlfs */

#define CTLFS_FILES 16
#define CTL_SLOT (-100) /* apart from -ENOENT */
#define ROOT_SLOT (-101)

struct ctlfs_file {
    bool exists;
    char name[64];
    char text[256];
    uint32_t mode;
    unsigned lookups;           /* get_file_info_by_name calls */
    unsigned reads;             /* read calls */
};

static struct ctlfs {
    pthread_mutex_t lock;
    struct ctlfs_file files[CTLFS_FILES];
    fsp_fs_t *fs;
    char result_path[600];
} ctlfs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Replace the result file's contents with one line. */
static void put_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put_result(const char *fmt, ...)
{
    char tmp[700], line[5000];
    va_list ap;
    int fd, len;

    va_start(ap, fmt);
    len = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof line)
        len = sizeof line - 1;
    /* Written aside and renamed: a reader never sees half a line. */
    snprintf(tmp, sizeof tmp, "%s.tmp", ctlfs.result_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)len) == len)
        rename(tmp, ctlfs.result_path);
    close(fd);
}

static void retrieved(fsp_fs_t *fs, void *ctx, int error, uint64_t offset,
                      const void *data, size_t size)
{
    (void)fs;
    (void)ctx;
    put_result("error=%d offset=%llu size=%zu data=%.*s", error,
               (unsigned long long)offset, size, (int)size,
               data ? (const char *)data : "");
}

/* The slot of "/name", ROOT_SLOT for "/", CTL_SLOT for "/ctl", else -ENOENT
 * (caller holds the lock). */
static int slot_of(const char *path)
{
    if (strcmp(path, "/") == 0)
        return ROOT_SLOT;
    if (strcmp(path, "/ctl") == 0)
        return CTL_SLOT;
    for (int i = 0; i < CTLFS_FILES; i++)
        if (ctlfs.files[i].exists && strcmp(path + 1, ctlfs.files[i].name) == 0)
            return i;
    return -ENOENT;
}

static void info_of(int slot, fsp_file_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->nlink = 1;
    info->uid = getuid();
    info->gid = getgid();
    if (slot == ROOT_SLOT) {
        info->mode = S_IFDIR | 0755;
        info->nlink = 2;
        info->index_number = 1;
    } else if (slot == CTL_SLOT) {
        info->mode = S_IFREG | 0666;
        info->index_number = 2;
    } else {
        info->mode = S_IFREG | ctlfs.files[slot].mode;
        info->size = strlen(ctlfs.files[slot].text);
        info->index_number = 10 + (uint64_t)slot;
    }
}

static int ctl_get_file_info_by_name(fsp_fs_t *fs, const char *path,
                                     fsp_file_info_t *info)
{
    int slot;

    if (strncmp(path, "/lookup-notify", 14) == 0) {
        /* The kernel holds "/"'s lock while it waits for this reply. */
        int err = fsp_fs_notify(fs, "/a", FSP_NOTIFY_ENTRY);
        return err ? err : -ENOENT;
    }
    pthread_mutex_lock(&ctlfs.lock);
    slot = slot_of(path);
    if (slot != -ENOENT)
        info_of(slot, info);
    if (slot >= 0)
        ctlfs.files[slot].lookups++;
    pthread_mutex_unlock(&ctlfs.lock);
    return slot == -ENOENT ? -ENOENT : 0;
}

static int ctl_open(fsp_fs_t *fs, const char *path, int flags, void **ctx,
                    fsp_file_info_t *info)
{
    int slot, *p;

    pthread_mutex_lock(&ctlfs.lock);
    slot = slot_of(path);
    if (slot != -ENOENT)
        info_of(slot, info);
    pthread_mutex_unlock(&ctlfs.lock);
    if (slot == -ENOENT)
        return -ENOENT;
    p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    *p = slot;
    *ctx = p;
    return 0;
}

static void ctl_close(fsp_fs_t *fs, void *ctx)
{
    free(ctx);
}

static int ctl_get_file_info(fsp_fs_t *fs, void *ctx, fsp_file_info_t *info)
{
    pthread_mutex_lock(&ctlfs.lock);
    info_of(*(int *)ctx, info);
    pthread_mutex_unlock(&ctlfs.lock);
    return 0;
}

static int ctl_read(fsp_fs_t *fs, void *ctx, void *buf, uint64_t offset,
                    size_t length, size_t *done)
{
    int slot = *(int *)ctx;
    size_t len;

    if (slot < 0)
        return slot == CTL_SLOT ? 0 : -EISDIR;
    pthread_mutex_lock(&ctlfs.lock);
    ctlfs.files[slot].reads++;
    len = strlen(ctlfs.files[slot].text);
    if (offset < len) {
        *done = len - offset < length ? len - offset : length;
        memcpy(buf, ctlfs.files[slot].text + offset, *done);
    }
    pthread_mutex_unlock(&ctlfs.lock);
    return 0;
}

struct later {
    char path[80];
    unsigned bits;
};

static void *notify_later(void *arg)
{
    struct later *l = arg;

    usleep(20000);
    fsp_fs_notify(ctlfs.fs, l->path, l->bits);
    free(l);
    return NULL;
}

/* Apply one command line (see the top of the file). */
static int run_command(fsp_fs_t *fs, char *line)
{
    char *cmd = strtok(line, " \n"), *name = strtok(NULL, " \n");
    char *arg = strtok(NULL, "\n"), path[80];
    int slot, err = 0;

    if (!cmd || !name || strlen(name) >= sizeof ctlfs.files[0].name)
        return -EINVAL;
    snprintf(path, sizeof path, "/%s", name);
    if (strcmp(cmd, "notify") == 0)
        return fsp_fs_notify(fs, path, arg ? (unsigned)atoi(arg) : 0);
    if (strcmp(cmd, "store") == 0)
        return fsp_fs_notify_store(fs, path, 0, arg ? arg : "",
                                   arg ? strlen(arg) : 0);
    if (strcmp(cmd, "retrieve") == 0)
        return fsp_fs_notify_retrieve(fs, path, 0, 4096, retrieved, NULL);
    if (strcmp(cmd, "epoch") == 0)
        return fsp_fs_notify_epoch(fs);
    if (strcmp(cmd, "later") == 0) {
        struct later *l = calloc(1, sizeof *l);
        pthread_t t;

        if (!l)
            return -ENOMEM;
        snprintf(l->path, sizeof l->path, "%s", path);
        l->bits = arg ? (unsigned)atoi(arg) : 0;
        if (pthread_create(&t, NULL, notify_later, l) != 0) {
            free(l);
            return -EAGAIN;
        }
        pthread_detach(t);
        return 0;
    }
    pthread_mutex_lock(&ctlfs.lock);
    slot = slot_of(path);
    if (strcmp(cmd, "set") == 0) {
        if (slot < 0) {
            for (slot = 0; slot < CTLFS_FILES && ctlfs.files[slot].exists;)
                slot++;
            if (slot == CTLFS_FILES) {
                err = -ENOSPC;
                goto out;
            }
            ctlfs.files[slot].exists = true;
            ctlfs.files[slot].mode = 0644;
            snprintf(ctlfs.files[slot].name, sizeof ctlfs.files[slot].name,
                     "%s", name);
        }
        snprintf(ctlfs.files[slot].text, sizeof ctlfs.files[slot].text, "%s",
                 arg ? arg : "");
    } else if (strcmp(cmd, "del") == 0 && slot >= 0) {
        ctlfs.files[slot].exists = false;
    } else if (strcmp(cmd, "lookups") == 0 && slot >= 0) {
        put_result("%u", ctlfs.files[slot].lookups);
    } else if (strcmp(cmd, "reads") == 0 && slot >= 0) {
        put_result("%u", ctlfs.files[slot].reads);
    } else if (strcmp(cmd, "mode") == 0 && slot >= 0 && arg) {
        ctlfs.files[slot].mode = (uint32_t)strtoul(arg, NULL, 8) & 07777;
    } else {
        err = -EINVAL;
    }
out:
    pthread_mutex_unlock(&ctlfs.lock);
    return err;
}

static int ctl_write(fsp_fs_t *fs, void *ctx, const void *buf,
                     uint64_t offset, size_t length, int flags, size_t *done)
{
    char line[512];
    int err;

    if (*(int *)ctx != CTL_SLOT)
        return -EACCES;
    if (length >= sizeof line)
        return -EINVAL;
    memcpy(line, buf, length);
    line[length] = '\0';
    err = run_command(fs, line);
    if (err)
        return err;
    *done = length;
    return 0;
}

static int ctl_set_file_size(fsp_fs_t *fs, void *ctx, uint64_t size,
                             fsp_file_info_t *info)
{
    info_of(*(int *)ctx, info);
    return 0; /* O_TRUNC of /ctl: nothing to cut */
}

static int ctl_overwrite(fsp_fs_t *fs, void *ctx)
{
    (void)fs;
    (void)ctx;
    return 0; /* O_TRUNC of /ctl: nothing to cut */
}

static int ctl_read_directory(fsp_fs_t *fs, void *ctx, const char *marker,
                              fsp_dir_buffer_t *buf)
{
    /* Order: "ctl", then the files by slot. The marker is a name. */
    fsp_file_info_t info;
    bool past = marker == NULL;

    pthread_mutex_lock(&ctlfs.lock);
    if (!past && strcmp(marker, "ctl") == 0)
        past = true;
    else if (past) {
        info_of(CTL_SLOT, &info);
        if (!fsp_dir_buffer_add(buf, "ctl", &info))
            goto out;
    }
    for (int i = 0; i < CTLFS_FILES; i++) {
        if (!ctlfs.files[i].exists)
            continue;
        if (!past) {
            past = strcmp(marker, ctlfs.files[i].name) == 0;
            continue;
        }
        info_of(i, &info);
        if (!fsp_dir_buffer_add(buf, ctlfs.files[i].name, &info))
            break;
    }
out:
    pthread_mutex_unlock(&ctlfs.lock);
    return 0;
}

static const fsp_fs_interface_t ctlfs_interface = {
    .get_file_info_by_name = ctl_get_file_info_by_name,
    .open = ctl_open,
    .close = ctl_close,
    .get_file_info = ctl_get_file_info,
    .read = ctl_read,
    .write = ctl_write,
    .overwrite = ctl_overwrite,
    .set_file_size = ctl_set_file_size,
    .read_directory = ctl_read_directory,
};

/* Run ctlfs on @mnt until unmounted; the process's exit status says how. */
static void __attribute__((noreturn)) serve_ctlfs(const char *mnt)
{
    fsp_volume_params_t params;
    int err;

    snprintf(ctlfs.result_path, sizeof ctlfs.result_path, "%s.result", mnt);
    fsp_volume_params_init(&params);
    params.fs_name = "ctlfs";
    params.file_info_timeout_ms = FSP_TIMEOUT_INFINITE;
    params.dir_info_timeout_ms = FSP_TIMEOUT_INFINITE;
    params.negative_timeout_ms = FSP_TIMEOUT_INFINITE;
    params.keep_cache = true;
    params.extended_attributes = false;
    err = fsp_fs_create(&params, &ctlfs_interface, NULL, &ctlfs.fs);
    if (!err && getenv("CTLFS_DEBUG"))
        fsp_fs_set_debug(ctlfs.fs, true); /* the debug log, on stderr */
    if (!err)
        err = fsp_fs_mount(ctlfs.fs, mnt);
    if (!err)
        err = fsp_fs_start(ctlfs.fs, 2);
    if (err) {
        fprintf(stderr, "ctlfs: %s (%s)\n", strerror(-err),
                ctlfs.fs ? fsp_fs_error_message(ctlfs.fs) : "");
        _exit(2);
    }
    err = fsp_fs_wait(ctlfs.fs);
    fsp_fs_delete(ctlfs.fs);
    _exit(err ? 3 : 0);
}

/* ------------------------------------------------------ the test side */

static char mnt[512];
static pid_t daemon_pid;
static int daemon_slot = -1;

static void mount_ctlfs(void)
{
    snprintf(mnt, sizeof mnt, "%s/mnt", h_root);
    ASSERT_OK(mkdir(mnt, 0755));
    daemon_pid = fork();
    ASSERT_OK(daemon_pid);
    if (daemon_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the case */
        serve_ctlfs(mnt);
    }
    daemon_slot = h_register(mnt, daemon_pid, NULL);
    for (double end = h_now() + 10; h_now() < end; h_sleep(0.005)) {
        struct h_mountinfo mi;
        int st;

        if (h_mountinfo_find(mnt, &mi) && strncmp(mi.fstype, "fuse", 4) == 0)
            return;
        if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid) {
            ADD_FAILURE("ctlfs exited before mounting (status 0x%x)", st);
            expect_abort_case();
        }
    }
    ADD_FAILURE("ctlfs: %s not mounted after 10 s", mnt);
    expect_abort_case();
}

static void unmount_ctlfs(void)
{
    int st = -1;

    EXPECT_OK(umount2(mnt, 0));
    EXPECT_EQ(h_waitpid_timeout(daemon_pid, &st, 10), daemon_pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    h_unregister(daemon_slot);
    daemon_slot = -1;
}

static void ctl(const char *command)
{
    char path[600];
    int fd;

    snprintf(path, sizeof path, "%s/ctl", mnt);
    fd = open(path, O_WRONLY);
    if (fd < 0) {
        ADD_FAILURE("open %s: %s", path, expect_errname(errno));
        expect_abort_case();
    }
    if (write(fd, command, strlen(command)) != (ssize_t)strlen(command))
        ADD_FAILURE("ctl '%s': %s", command, expect_errname(errno));
    close(fd);
}

/* The content of mnt/name, "" if it cannot be read. */
static const char *content_of(const char *name)
{
    static char buf[300];
    char path[600];
    ssize_t n;

    snprintf(path, sizeof path, "%s/%s", mnt, name);
    n = h_read_file(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static int stat_of(const char *name, struct stat *st)
{
    char path[600];

    snprintf(path, sizeof path, "%s/%s", mnt, name);
    return stat(path, st);
}

/* Notifications are delivered by fsp's notify thread, a moment after the
 * call returns: wait up to a second for the effect. Returns true if
 * mnt/name came to read as @text (NULL: to be absent). */
static bool eventually(const char *name, const char *text)
{
    for (double end = h_now() + 1; h_now() < end; h_sleep(0.0005)) {
        struct stat st;
        bool absent = stat_of(name, &st) != 0 && errno == ENOENT;

        if (text ? !absent && strcmp(content_of(name), text) == 0 : absent)
            return true;
    }
    return false;
}

#define BITS_ENTRY "1"
#define BITS_ATTR "2"
#define BITS_DATA "4"
#define BITS_DELETE "8"
#define BITS_PRUNE "16"

/* Run @command and return the line it left in the result file ("" if none
 * came within 5 s). */
static const char *ctl_result(const char *command)
{
    static char buf[5000];
    char path[600];

    snprintf(path, sizeof path, "%s.result", mnt);
    unlink(path);
    ctl(command);
    for (double end = h_now() + 5; h_now() < end; h_sleep(0.001)) {
        ssize_t n = h_read_file(path, buf, sizeof buf - 1);

        if (n >= 0) {
            buf[n] = '\0';
            return buf;
        }
    }
    buf[0] = '\0';
    return buf;
}

/* How many LOOKUPs of @name ctlfs has served. */
static int lookups_of(const char *name)
{
    char command[100];

    snprintf(command, sizeof command, "lookups %s", name);
    return atoi(ctl_result(command));
}

/* Wait (up to 5 s, for a loaded machine) until a stat of @name reaches
 * ctlfs as a LOOKUP (the kernel dropped its entry); true if it did. */
static bool looked_up_again(const char *name, int before)
{
    for (double end = h_now() + 5; h_now() < end; h_sleep(0.002)) {
        struct stat st;

        if (stat_of(name, &st) == 0 && lookups_of(name) > before)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------- cases */

static void notify_data_makes_changed_content_visible_at_once(void)
{
    mount_ctlfs();
    ctl("set a one");
    EXPECT_STREQ(content_of("a"), "one");
    ctl("set a two");
    EXPECT_STREQ(content_of("a"), "one"); /* cached: the kernel never asked */
    ctl("notify a " BITS_DATA);
    EXPECT_TRUE(eventually("a", "two"));
    unmount_ctlfs();
}

static void notify_attr_makes_changed_mode_visible_at_once(void)
{
    struct stat st;

    mount_ctlfs();
    ctl("set a x");
    ASSERT_OK(stat_of("a", &st));
    EXPECT_EQ(st.st_mode & 07777, 0644);
    ctl("mode a 600");
    ASSERT_OK(stat_of("a", &st));
    EXPECT_EQ(st.st_mode & 07777, 0644);
    ctl("notify a " BITS_ATTR);
    for (double end = h_now() + 1; h_now() < end; h_sleep(0.0005))
        if (stat_of("a", &st) == 0 && (st.st_mode & 07777) == 0600)
            break;
    EXPECT_EQ(st.st_mode & 07777, 0600);
    unmount_ctlfs();
}

static void notify_entry_shows_a_name_cached_as_absent(void)
{
    struct stat st;

    mount_ctlfs();
    EXPECT_ERRNO(stat_of("b", &st), ENOENT);
    ctl("set b new");
    EXPECT_ERRNO(stat_of("b", &st), ENOENT); /* negative entry, forever */
    ctl("notify b " BITS_ENTRY);
    EXPECT_TRUE(eventually("b", "new"));
    unmount_ctlfs();
}

static void notify_entry_hides_a_removed_name(void)
{
    struct stat st;

    mount_ctlfs();
    ctl("set a x");
    ASSERT_OK(stat_of("a", &st));
    ctl("del a");
    EXPECT_OK(stat_of("a", &st)); /* still cached */
    ctl("notify a " BITS_ENTRY);
    EXPECT_TRUE(eventually("a", NULL));
    unmount_ctlfs();
}

static void notify_from_another_thread_is_seen_within_a_second(void)
{
    double start, seen = -1;

    mount_ctlfs();
    ctl("set a old");
    EXPECT_STREQ(content_of("a"), "old");
    ctl("set a fresh");
    start = h_now();
    ctl("later a " BITS_DATA);
    while (h_now() - start < 2) {
        if (strcmp(content_of("a"), "fresh") == 0) {
            seen = h_now() - start;
            break;
        }
        h_sleep(0.001);
    }
    EXPECT_TRUE(seen >= 0 && seen < 1);
    h_note("seen %.1f ms after the command (notified 20 ms after it)",
           seen * 1000);
    unmount_ctlfs();
}

static void notify_of_an_uncached_path_is_harmless(void)
{
    mount_ctlfs();
    ctl("notify nothing-here 7");
    ctl("notify deep/er/path 7");
    ctl("set a ok");
    EXPECT_STREQ(content_of("a"), "ok");
    unmount_ctlfs();
}

/* Workers hammering lookups in "/" while LOOKUPs of "lookup-notify*" make
 * the file system notify "/a" from inside the callback, with the kernel
 * holding the directory's lock: done synchronously, that would deadlock. */
static void lookup_storm_worker(int idx, void *arg)
{
    char name[64];
    struct stat st;

    (void)arg;
    for (int i = 0; i < 300; i++) {
        if (idx % 2 == 0) {
            snprintf(name, sizeof name, "lookup-notify-%d-%d", idx, i);
            if (stat_of(name, &st) == 0 || errno != ENOENT)
                _exit(1);
        } else if (stat_of("a", &st) != 0) {
            _exit(2);
        }
    }
}

static void notify_inside_callbacks_under_load_never_deadlocks(void)
{
    double start;

    mount_ctlfs();
    ctl("set a x");
    start = h_now();
    EXPECT_EQ(h_fork_workers(4, lookup_storm_worker, NULL, 20), 0);
    h_note("600 lookups that notify from inside the callback, 600 stats: "
           "%.0f ms", (h_now() - start) * 1000);
    EXPECT_STREQ(content_of("a"), "x");
    unmount_ctlfs();
}

static void notify_store_fills_the_kernel_cache_without_a_read(void)
{
    struct stat st;

    mount_ctlfs();
    ctl("set a one");
    ASSERT_OK(stat_of("a", &st));
    /* ctlfs changes the data (not the size) and hands it to the kernel:
     * the reads that follow are served from the kernel's cache. (A store
     * past the size the volume reports would not stay: the kernel then
     * asks for the attributes, sees the old size and drops the pages.) */
    ctl("set a two");
    ctl("store a two");
    /* The queue is in order: once a retrieve after it shows the page, the
     * store is in (reading instead could race it, and READ). */
    EXPECT_STREQ(ctl_result("retrieve a"), "error=0 offset=0 size=3 data=two");
    EXPECT_STREQ(content_of("a"), "two");
    EXPECT_STREQ(ctl_result("reads a"), "0");
    unmount_ctlfs();
}

static void notify_retrieve_hands_back_the_cached_pages(void)
{
    mount_ctlfs();
    ctl("set a cached-text");
    EXPECT_STREQ(content_of("a"), "cached-text");
    EXPECT_STREQ(ctl_result("retrieve a"),
                 "error=0 offset=0 size=11 data=cached-text");
    unmount_ctlfs();
}

static void notify_retrieve_of_an_uncached_file_reports_enoent(void)
{
    char want[64];

    mount_ctlfs();
    snprintf(want, sizeof want, "error=%d offset=0 size=0 data=", -ENOENT);
    EXPECT_STREQ(ctl_result("retrieve never-looked-up"), want);
    unmount_ctlfs();
}

static void notify_delete_drops_the_name_and_unlinks_the_open_file(void)
{
    char path[600];
    struct stat st;
    int fd;

    mount_ctlfs();
    ctl("set a x");
    snprintf(path, sizeof path, "%s/a", mnt);
    fd = open(path, O_RDONLY);
    ASSERT_OK(fd);
    ctl("del a");
    EXPECT_OK(stat_of("a", &st)); /* still cached */
    ctl("notify a " BITS_DELETE);
    /* Unlike an entry invalidation, the kernel also takes the file as
     * deleted: its link count, through the open descriptor, reads 0. */
    for (double end = h_now() + 1; h_now() < end; h_sleep(0.001))
        if (fstat(fd, &st) == 0 && st.st_nlink == 0)
            break;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_nlink, 0);
    EXPECT_ERRNO(stat_of("a", &st), ENOENT);
    close(fd);
    unmount_ctlfs();
}

static void notify_prune_makes_the_kernel_forget_an_unused_file(void)
{
    struct stat st;

    mount_ctlfs();
    ctl("set a x");
    ASSERT_OK(stat_of("a", &st));
    ASSERT_OK(stat_of("a", &st));
    EXPECT_EQ(lookups_of("a"), 1); /* cached forever */
    ctl("notify a " BITS_PRUNE);
    EXPECT_TRUE(looked_up_again("a", 1));
    unmount_ctlfs();
}

static void notify_epoch_makes_every_name_stale(void)
{
    struct stat st;

    mount_ctlfs();
    ctl("set a x");
    ctl("set b y");
    ASSERT_OK(stat_of("a", &st));
    ASSERT_OK(stat_of("b", &st));
    EXPECT_EQ(lookups_of("a"), 1);
    EXPECT_EQ(lookups_of("b"), 1);
    ctl("epoch -");
    EXPECT_TRUE(looked_up_again("a", 1));
    EXPECT_TRUE(looked_up_again("b", 1));
    unmount_ctlfs();
}

static void ignore_retrieve(fsp_fs_t *fs, void *ctx, int error,
                            uint64_t offset, const void *data, size_t size)
{
    (void)fs, (void)ctx, (void)error, (void)offset, (void)data, (void)size;
}

static void notify_refuses_bad_arguments_and_stopped_volumes(void)
{
    fsp_volume_params_t params;
    fsp_fs_t *fs = NULL;

    fsp_volume_params_init(&params);
    ASSERT_OK(fsp_fs_create(&params, &ctlfs_interface, NULL, &fs));
    EXPECT_EQ(fsp_fs_notify(NULL, "/a", FSP_NOTIFY_ENTRY), -EINVAL);
    EXPECT_EQ(fsp_fs_notify(fs, "a", FSP_NOTIFY_ENTRY), -EINVAL);
    EXPECT_EQ(fsp_fs_notify(fs, "/a", 0), -EINVAL);
    EXPECT_EQ(fsp_fs_notify(fs, "/a", 1u << 8), -EINVAL);
    EXPECT_EQ(fsp_fs_notify(fs, "/a", FSP_NOTIFY_ENTRY), -ESHUTDOWN);
    EXPECT_EQ(fsp_fs_notify_store(fs, "/a", 0, NULL, 1), -EINVAL);
    EXPECT_EQ(fsp_fs_notify_store(fs, "a", 0, "x", 1), -EINVAL);
    EXPECT_EQ(fsp_fs_notify_store(fs, "/a", 0, "x", 1), -ESHUTDOWN);
    EXPECT_EQ(fsp_fs_notify_retrieve(fs, "/a", 0, 1, NULL, NULL), -EINVAL);
    EXPECT_EQ(fsp_fs_notify_retrieve(fs, "/a", 0, 1, ignore_retrieve, NULL),
              -ESHUTDOWN);
    EXPECT_EQ(fsp_fs_notify_epoch(NULL), -EINVAL);
    EXPECT_EQ(fsp_fs_notify_epoch(fs), -ESHUTDOWN);
    fsp_fs_delete(fs);
}

static const struct h_case cases[] = {
    H_CASE(notify_data_makes_changed_content_visible_at_once, NULL, H_NOMOUNT),
    H_CASE(notify_attr_makes_changed_mode_visible_at_once, NULL, H_NOMOUNT),
    H_CASE(notify_entry_shows_a_name_cached_as_absent, NULL, H_NOMOUNT),
    H_CASE(notify_entry_hides_a_removed_name, NULL, H_NOMOUNT),
    H_CASE(notify_from_another_thread_is_seen_within_a_second, NULL, H_NOMOUNT),
    H_CASE(notify_of_an_uncached_path_is_harmless, NULL, H_NOMOUNT),
    H_CASE(notify_inside_callbacks_under_load_never_deadlocks, NULL, H_NOMOUNT),
    H_CASE(notify_store_fills_the_kernel_cache_without_a_read, NULL, H_NOMOUNT),
    H_CASE(notify_retrieve_hands_back_the_cached_pages, NULL, H_NOMOUNT),
    H_CASE(notify_retrieve_of_an_uncached_file_reports_enoent, NULL, H_NOMOUNT),
    H_CASE(notify_delete_drops_the_name_and_unlinks_the_open_file, NULL, H_NOMOUNT),
    H_CASE(notify_prune_makes_the_kernel_forget_an_unused_file, NULL, H_NOMOUNT),
    H_CASE(notify_epoch_makes_every_name_stale, NULL, H_NOMOUNT),
    H_CASE(notify_refuses_bad_arguments_and_stopped_volumes, NULL, H_NOMOUNT),
};

int main(int argc, char **argv)
{
    return h_main("notify_api", argc, argv, cases, sizeof cases / sizeof *cases);
}
