/*
 * volume_options.c - memfs -o options: limits, read-only, cache timeouts,
 * naming, threads, allow_other. Every case needs the real daemon.
 *
 * Cache timeouts are observed by counting LOOKUP/GETATTR requests, taken
 * from `fsptool stat` (its "requests:" section) or, failing that, from the
 * daemon's -d log.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define NOBODY 65534

static int create_file(const char *path)
{
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------ */
/* limits                                                              */

static void max_nodes_limits_creates_with_enospc(void)
{
    const int N = 64;
    int created = 0, err = 0;
    for (int i = 0; i < N + 16; i++) {
        if (create_file(h_path("f%03d", i)) != 0) {
            err = errno;
            break;
        }
        created++;
    }
    h_note("max_nodes=%d: %d files created before the error %s", N, created, expect_errname(err));
    EXPECT_EQ(err, ENOSPC);
    EXPECT_LE(created, N);
    EXPECT_GE(created, N - 4); /* the root and a few internal nodes may count */
    /* every kind of new node is refused */
    EXPECT_ERRNO(mkdir(h_path("dir"), 0755), ENOSPC);
    EXPECT_ERRNO(symlink("x", h_path("lnk")), ENOSPC);
    EXPECT_ERRNO(mknod(h_path("fifo"), S_IFIFO | 0644, 0), ENOSPC);
    /* existing files still work */
    EXPECT_TRUE(h_write_file(h_path("f000"), "still writable", 14, 0644));
    /* a removed file frees its node (memfs may learn it from FORGET, a
       little after unlink returns: allow 2 s) */
    EXPECT_OK(unlink(h_path("f001")));
    double end = h_now() + 2, start = h_now();
    int rc;
    while ((rc = create_file(h_path("again"))) != 0 && errno == ENOSPC && h_now() < end)
        h_sleep(0.02);
    EXPECT_EQ(rc, 0);
    if (rc == 0 && h_now() - start > 0.05)
        h_note("the freed node became available only after %.2f s", h_now() - start);
    /* hard links do not take a node */
    EXPECT_OK(link(h_path("f002"), h_path("f002.link")));
}

static void statfs_reflects_max_nodes_and_free_nodes(void)
{
    struct statvfs a, b;
    ASSERT_OK(statvfs(h_root, &a));
    h_note("max_nodes=1000: f_files %llu, f_ffree %llu, f_favail %llu",
           (unsigned long long)a.f_files, (unsigned long long)a.f_ffree,
           (unsigned long long)a.f_favail);
    EXPECT_GE(a.f_files, 999);
    EXPECT_LE(a.f_files, 1001);
    EXPECT_LE(a.f_ffree, a.f_files);
    EXPECT_GE(a.f_ffree, a.f_files - 4);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(create_file(h_path("f%d", i)));
    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(statvfs(h_root, &b));
    EXPECT_EQ(b.f_files, a.f_files);
    EXPECT_EQ(a.f_ffree - b.f_ffree, 11);
}

static void max_file_size_write_beyond_fails(void)
{
    const off_t MAX = 1 << 20;
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    static char buf[1 << 20];
    memset(buf, 'm', sizeof buf);
    EXPECT_EQ(pwrite(fd, buf, MAX, 0), MAX); /* exactly up to the limit */
    errno = 0;
    ssize_t r = pwrite(fd, "x", 1, MAX);
    int e = errno;
    if (r == -1 && (e == EFBIG || e == ENOSPC))
        h_note("a write past max_file_size fails with %s", expect_errname(e));
    else
        ADD_FAILURE("pwrite(1 byte at max_file_size) -> %zd; errno=%s; expected EFBIG or ENOSPC", r,
                    expect_errname(e));
    /* a write across the limit is short or fails; nothing lands past it */
    errno = 0;
    r = pwrite(fd, buf, 8192, MAX - 4096);
    e = errno;
    if (r == 4096)
        h_note("a write across the limit is cut short at the limit");
    else if (r == -1 && (e == EFBIG || e == ENOSPC))
        h_note("a write across the limit fails with %s", expect_errname(e));
    else
        ADD_FAILURE("pwrite(8192 at max-4096) -> %zd; errno=%s; expected 4096 or EFBIG/ENOSPC", r,
                    expect_errname(e));
    errno = 0;
    int t = ftruncate(fd, MAX + 1);
    e = errno;
    if (t == -1 && (e == EFBIG || e == ENOSPC || e == EINVAL))
        h_note("ftruncate past max_file_size fails with %s", expect_errname(e));
    else
        ADD_FAILURE("ftruncate(max+1) -> %d; errno=%s; expected EFBIG/ENOSPC/EINVAL", t, expect_errname(e));
    errno = 0;
    int fa = fallocate(fd, 0, 0, MAX + 4096);
    e = errno;
    if (fa == 0)
        ADD_FAILURE("fallocate past max_file_size succeeded");
    else
        h_note("fallocate past max_file_size fails with %s", expect_errname(e));
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, MAX);
    EXPECT_OK(close(fd));
    /* the file is intact */
    static char rb[1 << 20];
    EXPECT_EQ(h_read_file(p, rb, sizeof rb), MAX);
    EXPECT_MEMEQ(rb, buf, MAX);
}

static void size_limit_write_fails_with_enospc(void)
{
    const unsigned long long SIZE = 4ull << 20;
    struct statvfs sv;
    ASSERT_OK(statvfs(h_root, &sv));
    unsigned long long total = (unsigned long long)sv.f_blocks * sv.f_frsize;
    unsigned long long avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
    h_note("size=4 MiB: statfs says %llu bytes total, %llu available (f_frsize %lu)", total,
           avail, (unsigned long)sv.f_frsize);
    EXPECT_GE(total, SIZE * 9 / 10);
    EXPECT_LE(total, SIZE * 11 / 10);
    EXPECT_LE(avail, total);

    const char *p = h_path("fill");
    int fd = ASSERT_OK(open(p, O_CREAT | O_WRONLY, 0644));
    static char chunk[65536];
    memset(chunk, 'z', sizeof chunk);
    unsigned long long written = 0;
    int err = 0;
    const char *where = "";
    for (int i = 0; i < 200; i++) { /* 12.5 MiB at most */
        ssize_t w = write(fd, chunk, sizeof chunk);
        if (w < 0) {
            err = errno;
            where = "write";
            break;
        }
        written += (unsigned long long)w;
        if (w < (ssize_t)sizeof chunk) {
            w = write(fd, chunk, sizeof chunk); /* the short write's successor fails */
            err = w < 0 ? errno : 0;
            where = "write after a short write";
            break;
        }
        if (fsync(fd) != 0) { /* with a writeback cache the error comes here */
            err = errno;
            where = "fsync";
            break;
        }
    }
    h_note("%llu bytes written before %s failed with %s", written, where, expect_errname(err));
    EXPECT_EQ(err, ENOSPC);
    EXPECT_LE(written, SIZE);
    EXPECT_GE(written, SIZE / 2);
    close(fd);
    ASSERT_OK(statvfs(h_root, &sv));
    EXPECT_LT((unsigned long long)sv.f_bavail * sv.f_frsize, avail);
    /* space comes back after the file is removed */
    EXPECT_OK(unlink(p));
    double end = h_now() + 2;
    do {
        ASSERT_OK(statvfs(h_root, &sv));
        if ((unsigned long long)sv.f_bavail * sv.f_frsize >= avail * 9 / 10)
            break;
        h_sleep(0.05);
    } while (h_now() < end);
    EXPECT_GE((unsigned long long)sv.f_bavail * sv.f_frsize, avail * 9 / 10);
    EXPECT_TRUE(h_write_file(h_path("small"), chunk, sizeof chunk, 0644));
}

/* ------------------------------------------------------------------ */
/* read-only                                                           */

static void ro_mount_rejects_writes_with_erofs(void)
{
    struct h_mountinfo mi;
    ASSERT_TRUE(h_mountinfo_find(h_root, &mi));
    EXPECT_TRUE(strncmp(mi.opts, "ro", 2) == 0 && (mi.opts[2] == ',' || mi.opts[2] == 0));
    struct statvfs sv;
    EXPECT_OK(statvfs(h_root, &sv));
    EXPECT_TRUE(sv.f_flag & ST_RDONLY);
    EXPECT_ERRNO(open(h_path("f"), O_CREAT | O_WRONLY, 0644), EROFS);
    EXPECT_ERRNO(mkdir(h_path("d"), 0755), EROFS);
    EXPECT_ERRNO(symlink("x", h_path("l")), EROFS);
    EXPECT_ERRNO(mknod(h_path("p"), S_IFIFO | 0644, 0), EROFS);
    EXPECT_ERRNO(chmod(h_root, 0700), EROFS);
    EXPECT_ERRNO(chown(h_root, 1, 1), EROFS);
    EXPECT_ERRNO(utimensat(AT_FDCWD, h_root, NULL, 0), EROFS);
    EXPECT_ERRNO(setxattr(h_root, "user.x", "1", 1, 0), EROFS);
    EXPECT_ERRNO(open(h_root, O_RDWR | O_TMPFILE, 0644), EROFS);
}

static void ro_mount_allows_reads(void)
{
    struct stat st;
    EXPECT_OK(stat(h_root, &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    DIR *d = opendir(h_root);
    ASSERT_TRUE(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n++;
    closedir(d);
    EXPECT_EQ(n, 2);
    char b[8];
    EXPECT_ERRNO(getxattr(h_root, "user.x", b, sizeof b), ENODATA);
    EXPECT_ERRNO(stat(h_path("missing"), &st), ENOENT);
    int fd = EXPECT_OK(open(h_root, O_RDONLY | O_DIRECTORY));
    if (fd >= 0)
        close(fd);
}

/* ------------------------------------------------------------------ */
/* cache timeouts                                                      */

static long long lookups_and_getattrs(const struct h_mount *m)
{
    h_sleep(0.1); /* let the log catch up */
    long long l = h_op_count(m, "lookup"), g = h_op_count(m, "getattr");
    if (l < 0 || g < 0)
        h_skip("cannot count requests: fsptool stat shows no per-opcode counts and the "
               "daemon's -d log is empty");
    return l + g;
}

static long long stat_many(const struct h_mount *m, const char *path, int n)
{
    long long before = lookups_and_getattrs(m);
    struct stat st;
    for (int i = 0; i < n; i++)
        stat(path, &st);
    return lookups_and_getattrs(m) - before;
}

static void file_info_timeout_zero_asks_every_time(void)
{
    const struct h_mount *m = h_cur_mount();
    ASSERT_TRUE(h_write_file(h_path("f"), "x", 1, 0644));
    long long d = stat_many(m, h_path("f"), 200);
    h_note("file_info_timeout=0: 200 stat() calls cost %lld LOOKUP+GETATTR requests", d);
    EXPECT_GE(d, 200);
    /* and a change through the mount is seen at once (trivially) */
    ASSERT_TRUE(h_write_file(h_path("f"), "xyz", 3, 0644));
    struct stat st;
    EXPECT_OK(stat(h_path("f"), &st));
    EXPECT_EQ(st.st_size, 3);
}

static void default_file_info_timeout_caches_attributes(void)
{
    const struct h_mount *m = h_cur_mount();
    ASSERT_TRUE(h_write_file(h_path("f"), "x", 1, 0644));
    struct stat st;
    stat(h_path("f"), &st);
    long long d = stat_many(m, h_path("f"), 200);
    h_note("default timeouts: 200 stat() calls cost %lld LOOKUP+GETATTR requests", d);
    EXPECT_LT(d, 50);
    /* the cache never hides a change made through the mount */
    ASSERT_TRUE(h_write_file(h_path("f"), "xyz", 3, 0644));
    EXPECT_OK(stat(h_path("f"), &st));
    EXPECT_EQ(st.st_size, 3);
    EXPECT_OK(chmod(h_path("f"), 0600));
    EXPECT_OK(stat(h_path("f"), &st));
    EXPECT_EQ(st.st_mode & 07777, 0600);
}

static void negative_timeout_zero_asks_every_time(void)
{
    const struct h_mount *m = h_cur_mount();
    long long before = h_op_count(m, "lookup");
    if (before < 0)
        h_skip("cannot count LOOKUP requests");
    struct stat st;
    for (int i = 0; i < 200; i++)
        stat(h_path("missing"), &st);
    h_sleep(0.1);
    long long d = h_op_count(m, "lookup") - before;
    h_note("negative_timeout=0: 200 stat() of a missing name cost %lld LOOKUPs", d);
    EXPECT_GE(d, 200);
}

static void negative_timeout_caches_missing_names(void)
{
    const struct h_mount *m = h_cur_mount();
    struct stat st;
    stat(h_path("missing"), &st);
    long long before = h_op_count(m, "lookup");
    if (before < 0)
        h_skip("cannot count LOOKUP requests");
    for (int i = 0; i < 200; i++)
        EXPECT_ERRNO(stat(h_path("missing"), &st), ENOENT);
    h_sleep(0.1);
    long long d = h_op_count(m, "lookup") - before;
    h_note("negative_timeout=60000: 200 stat() of a missing name cost %lld LOOKUPs", d);
    EXPECT_LT(d, 20);
}

static void negative_cache_does_not_hide_new_files(void)
{
    struct stat st;
    for (int i = 0; i < 5; i++)
        EXPECT_ERRNO(stat(h_path("later"), &st), ENOENT);
    ASSERT_TRUE(h_write_file(h_path("later"), "here", 4, 0644));
    EXPECT_OK(stat(h_path("later"), &st));
    EXPECT_EQ(st.st_size, 4);
    EXPECT_ERRNO(stat(h_path("dirlater"), &st), ENOENT);
    EXPECT_OK(mkdir(h_path("dirlater"), 0755));
    EXPECT_OK(stat(h_path("dirlater"), &st));
    EXPECT_ERRNO(stat(h_path("renamed"), &st), ENOENT);
    EXPECT_OK(rename(h_path("later"), h_path("renamed")));
    EXPECT_OK(stat(h_path("renamed"), &st));
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void dir_info_timeout_cache_sees_own_changes(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    for (int i = 0; i < 10; i++)
        ASSERT_OK(create_file(h_path("d/f%d", i)));
    EXPECT_EQ(count_entries(h_path("d")), 10);
    EXPECT_EQ(count_entries(h_path("d")), 10);
    ASSERT_OK(create_file(h_path("d/new")));
    EXPECT_EQ(count_entries(h_path("d")), 11);
    EXPECT_OK(unlink(h_path("d/f0")));
    EXPECT_OK(unlink(h_path("d/f1")));
    EXPECT_EQ(count_entries(h_path("d")), 9);
    EXPECT_OK(rename(h_path("d/f2"), h_path("moved")));
    EXPECT_EQ(count_entries(h_path("d")), 8);
}

/* ------------------------------------------------------------------ */
/* naming, threads, access                                             */

/* The case's volume shows in mountinfo with @fstype and @source. */
static void expect_mounted_as(const char *fstype, const char *source)
{
    struct h_mountinfo mi;
    ASSERT_TRUE(h_mountinfo_find(h_root, &mi));
    h_note("mountinfo: fstype %s, source %s", mi.fstype, mi.source);
    EXPECT_STREQ(mi.fstype, fstype);
    EXPECT_STREQ(mi.source, source);
}

static void fsname_and_subtype_appear_in_mountinfo_and_lsvol(void)
{
    expect_mounted_as("fuse.fsptestsub", "fsptestvol");
    char fsname[256] = "", chan[64] = "";
    long threads = -1;
    pid_t pid = h_lsvol_pid_wait(h_root, fsname, sizeof fsname, chan, sizeof chan, &threads, 2);
    EXPECT_EQ(pid, h_cur_mount()->pid);
    /* lsvol's FSNAME may be the source or the type's name */
    h_note("lsvol FSNAME: %s", fsname);
    EXPECT_TRUE(strcmp(fsname, "fsptestvol") == 0 || strcmp(fsname, "fsptestsub") == 0);
}

/* An empty subtype: the plain type fuse, as xfstests' FSTYP=fuse expects
 * of `df -T`; the source is still fsname's, and the volume works. */
static void empty_subtype_mounts_with_the_plain_type_fuse(void)
{
    expect_mounted_as("fuse", "fsptestvol");
    EXPECT_TRUE(h_write_file(h_path("f"), "plain", 5, 0644));
    char back[8] = "";
    EXPECT_EQ(h_read_file(h_path("f"), back, sizeof back - 1), 5);
    EXPECT_STREQ(back, "plain");
}

static void threads_option_sets_worker_count(void)
{
    char fsname[256] = "", chan[64] = "";
    long threads = -1;
    pid_t pid = h_lsvol_pid_wait(h_root, fsname, sizeof fsname, chan, sizeof chan, &threads, 2);
    EXPECT_EQ(pid, h_cur_mount()->pid);
    h_note("threads=3: lsvol says %ld threads, channel %s", threads, chan);
    EXPECT_EQ(threads, 3);
    /* the volume works with several requests at once */
    for (int i = 0; i < 50; i++)
        EXPECT_TRUE(h_write_file(h_path("f%d", i), "t", 1, 0644));
}

static void nobody_stats_root(void *arg)
{
    int *expect = arg;
    struct stat st;
    if (*expect == 0)
        EXPECT_OK(stat(h_root, &st));
    else
        EXPECT_ERRNO(stat(h_root, &st), *expect);
}

static void without_allow_other_other_users_are_denied(void)
{
    h_make_traversable(h_root);
    int expect = EACCES;
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, nobody_stats_root, &expect), 0);
}

static void allow_other_lets_other_users_in(void)
{
    h_make_traversable(h_root);
    int expect = 0;
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, nobody_stats_root, &expect), 0);
}

/* A volume whose WRITEs pend for 100 s: with request_timeout=1 the kernel
 * aborts the connection at its next check (it checks every 15 s), the
 * caller gets an error instead of waiting, and the daemon, reading ENODEV,
 * exits. */
static void request_timeout_aborts_a_volume_that_stops_answering(void)
{
    static char page[4096] __attribute__((aligned(4096)));
    struct h_mount m;
    char path[300];
    double start, took;
    ssize_t n;
    int fd, err, status = -1;
    const char *more = getenv("FSP_TEST_FS_OPTS");

    if (more && *more)
        h_skip("the variant's options (%s) would change the stuck volume",
               more);
    ASSERT_TRUE(h_mount(&m, "request_timeout=1,slowio_percent=100,"
                        "slowio_min_delay=100000,slowio_max_delay=100000",
                        0));
    snprintf(path, sizeof path, "%s/f", m.mnt);
    fd = open(path, O_WRONLY | O_CREAT | O_DIRECT, 0644);
    ASSERT_OK(fd);
    start = h_now();
    n = write(fd, page, sizeof page);
    err = errno;
    took = h_now() - start;
    EXPECT_EQ(n, -1);
    /* In flight when the connection went: ECONNABORTED. */
    EXPECT_EQ(err, ECONNABORTED);
    close(fd);
    h_note("the pending write failed after %.1f s", took);
    EXPECT_TRUE(took < 45);
    EXPECT_TRUE(h_wait_gone(m.pid, 10));
    h_unmount(&m, &status);
}

static void unknown_or_malformed_options_are_rejected(void)
{
    char memfs[4096];
    snprintf(memfs, sizeof memfs, "%s/memfs", h_bin_dir);
    const char *bad[] = { "no_such_option", "max_nodes=abc", "file_info_timeout=-5x" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct h_proc p;
        int rc = h_runl(&p, 20, memfs, "-o", bad[i], h_root, NULL);
        EXPECT_NE(rc, 0);
        if (h_mountinfo_count(h_root) > 0) {
            ADD_FAILURE("memfs -o %s mounted %s", bad[i], h_root);
            h_register(h_root, h_find_daemon(h_root), NULL);
            return;
        }
        char opt[64];
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(bad[i], "="), bad[i]);
        if (!h_contains_ci(p.err, opt))
            ADD_FAILURE("memfs -o %s: stderr does not name the option: \"%s\"", bad[i], p.err);
    }
}

static const struct h_case cases[] = {
    H_CASE(max_nodes_limits_creates_with_enospc, "max_nodes=64", H_DAEMON | H_MEMFS_ONLY),
    H_CASE(statfs_reflects_max_nodes_and_free_nodes, "max_nodes=1000", H_DAEMON | H_MEMFS_ONLY),
    H_CASE(max_file_size_write_beyond_fails, "max_file_size=1048576", H_DAEMON | H_MEMFS_ONLY),
    H_CASE(size_limit_write_fails_with_enospc, "size=4194304", H_DAEMON | H_MEMFS_ONLY),
    H_CASE(ro_mount_rejects_writes_with_erofs, "ro", H_DAEMON),
    H_CASE(ro_mount_allows_reads, "ro", H_DAEMON),
    H_CASE(file_info_timeout_zero_asks_every_time, "file_info_timeout=0", H_DAEMON | H_DEBUGLOG),
    H_CASE(default_file_info_timeout_caches_attributes, NULL, H_DAEMON | H_DEBUGLOG),
    H_CASE(negative_timeout_zero_asks_every_time, "negative_timeout=0", H_DAEMON | H_DEBUGLOG),
    H_CASE(negative_timeout_caches_missing_names, "negative_timeout=60000", H_DAEMON | H_DEBUGLOG),
    H_CASE(negative_cache_does_not_hide_new_files, "negative_timeout=60000", H_DAEMON),
    H_CASE(dir_info_timeout_cache_sees_own_changes, "dir_info_timeout=60000", H_DAEMON),
    H_CASE(fsname_and_subtype_appear_in_mountinfo_and_lsvol, "fsname=fsptestvol,subtype=fsptestsub", H_DAEMON),
    H_CASE(empty_subtype_mounts_with_the_plain_type_fuse, "fsname=fsptestvol,subtype=", H_DAEMON),
    H_CASE(threads_option_sets_worker_count, "threads=3", H_DAEMON),
    H_CASE(without_allow_other_other_users_are_denied, NULL, H_DAEMON),
    H_CASE(allow_other_lets_other_users_in, "allow_other", H_DAEMON),
    H_CASE_T(request_timeout_aborts_a_volume_that_stops_answering, NULL, H_DAEMON | H_NOMOUNT | H_MEMFS_ONLY, 90),
    H_CASE(unknown_or_malformed_options_are_rejected, NULL, H_DAEMON | H_NOMOUNT),
};

int main(int argc, char **argv)
{
    return h_main("volume_options", argc, argv, cases, sizeof cases / sizeof *cases);
}
