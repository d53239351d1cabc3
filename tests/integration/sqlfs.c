/*
 * sqlfs.c - sqlfs's own cases: what a persistent volume in an SQLite file
 * promises beyond the generic suites (which run on sqlfs too, as the
 * *.sqlfs variants).
 *
 * Every case works in a directory of its own, /tmp/sqlfs-test.XXXXXX,
 * holding the database and the mount point, registered with the harness
 * so that a case that fails or times out still has its mount torn down and
 * the directory removed. The database is changed behind sqlfs's back
 * (corruption, a foreign or newer schema) with the sqlite3 library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"

/* The directory of a case: the database, a second one, the mount point. */
struct work {
    char dir[64];
    char db[128];
    char mnt[128];
    char sqlfs[512]; /* the program */
};

static void work_init(struct work *w)
{
    snprintf(w->dir, sizeof w->dir, "/tmp/sqlfs-test.XXXXXX");
    if (!mkdtemp(w->dir)) {
        ADD_FAILURE("mkdtemp: %s", expect_errname(errno));
        expect_abort_case();
    }
    chmod(w->dir, 0755);
    snprintf(w->db, sizeof w->db, "%s/volume.sqlite", w->dir);
    snprintf(w->mnt, sizeof w->mnt, "%s/mnt", w->dir);
    snprintf(w->sqlfs, sizeof w->sqlfs, "%s/sqlfs", h_bin_dir);
    ASSERT_OK(mkdir(w->mnt, 0755));
    /* The runner unmounts what is left at the end and removes the lot. */
    h_register(w->mnt, 0, w->dir);
}

static const char *in_mnt(const struct work *w, const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", w->mnt, name);
    return p;
}

static void mount_volume(const struct work *w, struct h_mount *m,
                         const char *opts)
{
    if (!h_mount_source_at(m, w->db, w->mnt, opts, 0))
        expect_abort_case();
}

static void unmount_volume(struct h_mount *m)
{
    int status;
    EXPECT_TRUE(h_unmount(m, &status));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* sqlfs --check on the case's database: its exit code, output in *p. */
static int run_check(const struct work *w, struct h_proc *p)
{
    return h_runl(p, 120, w->sqlfs, "--check", w->db, NULL);
}

/* Run SQL on a database with the sqlite3 library, as another program. */
static bool db_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    bool ok = sqlite3_open(path, &db) == SQLITE_OK &&
              sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK;
    if (!ok)
        ADD_FAILURE("sqlite3 %s: %s: %s", path, sql, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return ok;
}

/* Bytes of a file that anyone can tell from any other file's. */
static void fill(unsigned char *buf, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0)
            seed = h_rand(&seed);
        buf[i] = (unsigned char)(seed >> (8 * (i % 8)));
    }
}

static void write_all_at(const char *path, const void *buf, size_t n, off_t at,
                         bool sync)
{
    int fd = (int)ASSERT_OK(open(path, O_WRONLY | O_CREAT, 0644));
    EXPECT_EQ(pwrite(fd, buf, n, at), (ssize_t)n);
    if (sync)
        EXPECT_OK(fsync(fd));
    EXPECT_OK(close(fd));
}

/* The file at @p path holds exactly @p n bytes equal to @p want. */
static void expect_content(const char *path, const void *want, size_t n)
{
    unsigned char *got = malloc(n + 1);
    ASSERT_TRUE(got != NULL);
    ssize_t r = h_read_file(path, got, n + 1);
    EXPECT_EQ(r, (ssize_t)n);
    if (r == (ssize_t)n)
        EXPECT_MEMEQ(got, want, n);
    free(got);
}

/* ------------------------------------------------------------------ */

/* Everything a file system keeps, written, unmounted, mounted again and
 * found as it was; --check passes on the database in between. */
static void data_survives_unmount_and_remount(void)
{
    static unsigned char data[300000], sparse_tail[5000];
    struct timespec times[2] = {{1234567890, 123456789}, {1111111111, 987654321}};
    struct h_mount m;
    struct h_proc p;
    struct work w;
    struct stat st;
    char buf[64];

    work_init(&w);
    fill(data, sizeof data, 1);
    fill(sparse_tail, sizeof sparse_tail, 2);
    mount_volume(&w, &m, NULL);
    write_all_at(in_mnt(&w, "data"), data, sizeof data, 0, false);
    write_all_at(in_mnt(&w, "sparse"), sparse_tail, sizeof sparse_tail, 10 << 20,
                 false);
    ASSERT_OK(mkdir(in_mnt(&w, "dir"), 0750));
    ASSERT_OK(mkdir(in_mnt(&w, "dir/sub"), 0700));
    ASSERT_OK(symlink("../data", in_mnt(&w, "dir/link")));
    ASSERT_OK(link(in_mnt(&w, "data"), in_mnt(&w, "dir/hard")));
    ASSERT_OK(mkfifo(in_mnt(&w, "fifo"), 0600));
    ASSERT_OK(mknod(in_mnt(&w, "null"), S_IFCHR | 0666, makedev(1, 3)));
    ASSERT_OK(setxattr(in_mnt(&w, "data"), "user.note", "kept", 4, 0));
    ASSERT_OK(chown(in_mnt(&w, "dir/sub"), 1234, 5678));
    ASSERT_OK(utimensat(AT_FDCWD, in_mnt(&w, "sparse"), times, 0));
    ASSERT_OK(rename(in_mnt(&w, "dir/sub"), in_mnt(&w, "moved")));
    unmount_volume(&m);

    EXPECT_EQ(run_check(&w, &p), 0);
    EXPECT_TRUE(strstr(p.out, ": ok: ") != NULL);

    mount_volume(&w, &m, NULL);
    expect_content(in_mnt(&w, "data"), data, sizeof data);
    expect_content(in_mnt(&w, "dir/hard"), data, sizeof data);
    ASSERT_OK(stat(in_mnt(&w, "data"), &st));
    EXPECT_EQ(st.st_nlink, 2);
    ASSERT_OK(stat(in_mnt(&w, "sparse"), &st));
    EXPECT_EQ(st.st_size, (10 << 20) + (off_t)sizeof sparse_tail);
    EXPECT_LT(st.st_blocks * 512, 1 << 20); /* the hole takes no room */
    EXPECT_EQ(st.st_mtim.tv_sec, times[1].tv_sec);
    EXPECT_EQ(st.st_mtim.tv_nsec, times[1].tv_nsec);
    EXPECT_EQ(st.st_atim.tv_nsec, times[0].tv_nsec);
    {
        static unsigned char got[(10 << 20) + 5000];
        EXPECT_EQ(h_read_file(in_mnt(&w, "sparse"), got, sizeof got), (ssize_t)sizeof got);
        for (size_t i = 0; i < (10 << 20); i += 4096)
            if (got[i]) {
                ADD_FAILURE("byte %zu of the hole is %d", i, got[i]);
                break;
            }
        EXPECT_MEMEQ(got + (10 << 20), sparse_tail, sizeof sparse_tail);
    }
    ssize_t n = readlink(in_mnt(&w, "dir/link"), buf, sizeof buf - 1);
    EXPECT_EQ(n, 7);
    buf[n > 0 ? n : 0] = 0;
    EXPECT_STREQ(buf, "../data");
    ASSERT_OK(stat(in_mnt(&w, "dir"), &st));
    EXPECT_EQ(st.st_mode, S_IFDIR | 0750);
    EXPECT_EQ(st.st_nlink, 2); /* sub moved out */
    ASSERT_OK(stat(in_mnt(&w, "moved"), &st));
    EXPECT_EQ(st.st_uid, 1234);
    EXPECT_EQ(st.st_gid, 5678);
    ASSERT_OK(stat(in_mnt(&w, "fifo"), &st));
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    ASSERT_OK(stat(in_mnt(&w, "null"), &st));
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    n = getxattr(in_mnt(&w, "dir/hard"), "user.note", buf, sizeof buf);
    EXPECT_EQ(n, 4);
    EXPECT_TRUE(n == 4 && memcmp(buf, "kept", 4) == 0);
    unmount_volume(&m);
}

/* One database, one mount: a second sqlfs on it says why it refuses, and
 * --check waits for the unmount too. */
static void second_mount_of_one_database_is_refused(void)
{
    struct h_mount m;
    struct h_proc p;
    struct work w;
    char mnt2[160];

    work_init(&w);
    snprintf(mnt2, sizeof mnt2, "%s/mnt2", w.dir);
    ASSERT_OK(mkdir(mnt2, 0755));
    int slot = h_register(mnt2, 0, NULL);
    mount_volume(&w, &m, NULL);
    ASSERT_OK(mkdir(in_mnt(&w, "d"), 0755));

    int rc = h_runl(&p, 20, w.sqlfs, "-f", w.db, mnt2, NULL);
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(strstr(p.err, "is in use by another sqlfs") != NULL);
    EXPECT_EQ(h_mountinfo_count(mnt2), 0);
    if (h_failures())
        h_note("second sqlfs: exit %d, stderr: %s", rc, p.err);

    rc = run_check(&w, &p);
    EXPECT_EQ(rc, 2);
    EXPECT_TRUE(strstr(p.err, "is in use by another sqlfs") != NULL);

    unmount_volume(&m);
    /* Once the first is gone, the database is free again. */
    mount_volume(&w, &m, NULL);
    ASSERT_OK(access(in_mnt(&w, "d"), F_OK));
    unmount_volume(&m);
    h_unregister(slot);
}

/* A workload of every kind of change, then --check: 0 and one line. Then
 * the database is corrupted three ways, and --check names each. */
static void check_passes_after_a_workload_and_names_what_is_corrupt(void)
{
    static unsigned char data[200000];
    struct h_mount m;
    struct h_proc p;
    struct work w;
    char sql[256];
    struct stat st;

    work_init(&w);
    fill(data, sizeof data, 3);
    mount_volume(&w, &m, NULL);
    ASSERT_OK(mkdir(in_mnt(&w, "a"), 0755));
    ASSERT_OK(mkdir(in_mnt(&w, "a/b"), 0755));
    for (int i = 0; i < 40; i++) {
        char name[64];
        snprintf(name, sizeof name, "a/f%d", i);
        write_all_at(in_mnt(&w, name), data, sizeof data - (size_t)i * 1000, 0, false);
    }
    ASSERT_OK(link(in_mnt(&w, "a/f1"), in_mnt(&w, "a/b/f1")));
    ASSERT_OK(rename(in_mnt(&w, "a/f2"), in_mnt(&w, "a/f3"))); /* replaces */
    ASSERT_OK(unlink(in_mnt(&w, "a/f4")));
    ASSERT_OK(truncate(in_mnt(&w, "a/f5"), 70000));
    ASSERT_OK(rename(in_mnt(&w, "a/b"), in_mnt(&w, "c")));
    ASSERT_OK(syscall(SYS_renameat2, AT_FDCWD, in_mnt(&w, "a/f6"), AT_FDCWD,
                      in_mnt(&w, "c"), 2 /* RENAME_EXCHANGE */));
    ASSERT_OK(stat(in_mnt(&w, "a/f7"), &st));
    unsigned long long ino = (unsigned long long)st.st_ino;
    unmount_volume(&m);

    ASSERT_EQ(run_check(&w, &p), 0);
    EXPECT_TRUE(strstr(p.out, ": ok: ") != NULL);
    EXPECT_TRUE(strchr(p.out, '\n') == strrchr(p.out, '\n')); /* one line */
    h_note("%.*s", (int)strcspn(p.out, "\n"), p.out);

    /* 1. a link count that does not match the names */
    snprintf(sql, sizeof sql, "UPDATE inodes SET nlink = 3 WHERE ino = %llu", ino);
    ASSERT_TRUE(db_exec(w.db, sql));
    EXPECT_EQ(run_check(&w, &p), 1);
    snprintf(sql, sizeof sql, "inode %llu has link count 3 but 1 names", ino);
    EXPECT_TRUE(strstr(p.out, sql) != NULL);
    if (!strstr(p.out, sql))
        h_note("--check said: %s", p.out);

    /* 2. chunks of an inode that does not exist */
    ASSERT_TRUE(db_exec(w.db, "INSERT INTO chunks (ino, idx, data) VALUES (999999, 0, x'00')"));
    EXPECT_EQ(run_check(&w, &p), 1);
    EXPECT_TRUE(strstr(p.out, "inode 999999 does not exist but has 1 data chunks") != NULL);

    /* 3. an entry removed: its inode is cut off */
    snprintf(sql, sizeof sql, "DELETE FROM dirents WHERE ino = %llu", ino);
    ASSERT_TRUE(db_exec(w.db, sql));
    EXPECT_EQ(run_check(&w, &p), 1);
    snprintf(sql, sizeof sql, "inode %llu cannot be reached from the root", ino);
    EXPECT_TRUE(strstr(p.out, sql) != NULL);
    EXPECT_TRUE(strstr(p.out, " has size ") != NULL); /* a's entry count */
    if (h_failures())
        h_note("--check said: %s", p.out);
}

/* Files that are not sqlfs's, or not for this sqlfs, are refused with the
 * cause and the fix. */
static void foreign_newer_and_read_only_databases_are_refused(void)
{
    struct h_mount m;
    struct h_proc p;
    struct work w;
    char other[160];

    work_init(&w);
    /* another application's database */
    snprintf(other, sizeof other, "%s/other.sqlite", w.dir);
    ASSERT_TRUE(db_exec(other, "CREATE TABLE customers (id INTEGER, name TEXT)"));
    EXPECT_NE(h_runl(&p, 20, w.sqlfs, "-f", other, w.mnt, NULL), 0);
    EXPECT_TRUE(strstr(p.err, "database of another application") != NULL);
    EXPECT_TRUE(strstr(p.err, "give sqlfs the path of a new file") != NULL);
    /* not a database at all */
    snprintf(other, sizeof other, "%s/text", w.dir);
    ASSERT_TRUE(h_write_file(other, "hello, world\n", 13, 0644));
    EXPECT_NE(h_runl(&p, 20, w.sqlfs, "-f", other, w.mnt, NULL), 0);
    EXPECT_TRUE(strstr(p.err, "is not an SQLite database") != NULL);
    /* a newer schema */
    mount_volume(&w, &m, NULL);
    unmount_volume(&m);
    ASSERT_TRUE(db_exec(w.db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'"));
    EXPECT_NE(h_runl(&p, 20, w.sqlfs, "-f", w.db, w.mnt, NULL), 0);
    EXPECT_TRUE(strstr(p.err, "schema version 99, newer than") != NULL);
    EXPECT_TRUE(strstr(p.err, "with a newer sqlfs") != NULL);
    EXPECT_EQ(h_mountinfo_count(w.mnt), 0);
    ASSERT_TRUE(db_exec(w.db, "UPDATE meta SET value = '1' WHERE key = 'schema_version'"));
    /* a database its user may not write (root may write anything: the
     * user is nobody) */
    struct h_run_opts o = {.uid = 65534, .gid = 65534, .drop = true, .timeout_s = 20};
    char *argv[] = {w.sqlfs, "-f", w.db, w.mnt, NULL};
    ASSERT_OK(chmod(w.db, 0644));
    EXPECT_NE(h_run(&p, &o, argv), 0);
    EXPECT_TRUE(strstr(p.err, "cannot be opened for writing") != NULL);
    EXPECT_TRUE(strstr(p.err, "make the file and its directory writable") != NULL);
    if (h_failures())
        h_note("last stderr: %s", p.err);
    EXPECT_EQ(h_mountinfo_count(w.mnt), 0);
}

/* Wait for the volume of a killed daemon to go (auto_unmount), else
 * detach it. */
static void wait_unmounted(const char *mnt)
{
    double end = h_now() + 5;
    while (h_mountinfo_count(mnt) > 0 && h_now() < end)
        h_sleep(0.05);
    if (h_mountinfo_count(mnt) > 0) {
        h_note("auto_unmount did not unmount %s within 5 s: detaching it", mnt);
        umount2(mnt, MNT_DETACH);
    }
}

/* The copy the daemon dies in the middle of: file after file of 256 KiB,
 * written 64 KiB at a time, until the volume goes away. */
static void copy_until_killed(const struct work *w)
{
    static unsigned char block[65536];
    fill(block, sizeof block, 7);
    for (int i = 0;; i++) {
        char name[64];
        snprintf(name, sizeof name, "copy/file%05d", i);
        int fd = open(in_mnt(w, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(0);
        for (int k = 0; k < 4; k++)
            if (write(fd, block, sizeof block) < 0)
                _exit(0);
        close(fd);
    }
}

/* SIGKILL of the daemon in the middle of a copy: the database passes
 * --check, what was fsynced before is there after a remount, and a file
 * unlinked while open (an orphan at the time of the kill) is freed by the
 * next mount. */
static void sigkill_in_the_middle_of_a_copy_loses_nothing_fsynced(void)
{
    static unsigned char kept[1 << 20];
    struct h_mount m;
    struct h_proc p;
    struct work w;

    work_init(&w);
    fill(kept, sizeof kept, 5);
    mount_volume(&w, &m, NULL);
    ASSERT_OK(mkdir(in_mnt(&w, "copy"), 0755));
    write_all_at(in_mnt(&w, "kept"), kept, sizeof kept, 0, true);
    /* An open file loses its last name: it lives on, as an orphan. */
    write_all_at(in_mnt(&w, "orphan"), kept, 100000, 0, false);
    int orphan_fd = (int)ASSERT_OK(open(in_mnt(&w, "orphan"), O_RDONLY));
    ASSERT_OK(unlink(in_mnt(&w, "orphan")));
    char first[16];
    EXPECT_EQ(read(orphan_fd, first, sizeof first), (ssize_t)sizeof first);
    EXPECT_MEMEQ(first, kept, sizeof first);
    /* ... and a directory removed while open */
    ASSERT_OK(mkdir(in_mnt(&w, "gone"), 0755));
    int dir_fd = (int)ASSERT_OK(open(in_mnt(&w, "gone"), O_RDONLY | O_DIRECTORY));
    ASSERT_OK(rmdir(in_mnt(&w, "gone")));

    pid_t copier = fork();
    ASSERT_TRUE(copier >= 0);
    if (copier == 0)
        copy_until_killed(&w);
    h_sleep(1.5);
    ASSERT_OK(kill(m.pid, SIGKILL));
    int st;
    EXPECT_EQ(h_waitpid_timeout(m.pid, &st, 10), m.pid);
    EXPECT_TRUE(WIFSIGNALED(st));
    close(orphan_fd); /* fails or not: the daemon is gone */
    close(dir_fd);
    wait_unmounted(w.mnt);
    if (h_waitpid_timeout(copier, &st, 10) != copier) {
        kill(copier, SIGKILL);
        h_waitpid_timeout(copier, &st, 5);
    }
    h_forget(&m);
    unlink(m.log);

    EXPECT_EQ(run_check(&w, &p), 0);
    EXPECT_TRUE(strstr(p.out, ", 2 orphans") != NULL);
    h_note("after the kill: %.*s", (int)strcspn(p.out, "\n"), p.out);
    if (h_failures())
        h_note("--check: %s %s", p.out, p.err);

    mount_volume(&w, &m, NULL);
    expect_content(in_mnt(&w, "kept"), kept, sizeof kept);
    /* Every file of the copy is whole or cut at a 64 KiB write, never
     * torn within one: each write was one transaction. */
    for (int i = 0;; i++) {
        char name[64];
        struct stat s;
        snprintf(name, sizeof name, "copy/file%05d", i);
        if (stat(in_mnt(&w, name), &s) != 0)
            break;
        EXPECT_EQ(s.st_size % 65536, 0);
    }
    unmount_volume(&m);
    EXPECT_EQ(run_check(&w, &p), 0);
    EXPECT_TRUE(strstr(p.out, ", 0 orphans") != NULL);
    if (h_failures())
        h_note("--check: %s %s", p.out, p.err);
}

/* An open file keeps its data after its last name goes, until its last
 * close; then nothing of it is left in the database. */
static void unlinked_open_file_is_readable_until_its_last_close(void)
{
    static unsigned char data[150000];
    struct h_mount m;
    struct h_proc p;
    struct work w;

    work_init(&w);
    fill(data, sizeof data, 9);
    mount_volume(&w, &m, "open_handles");
    write_all_at(in_mnt(&w, "f"), data, sizeof data, 0, false);
    int fd = (int)ASSERT_OK(open(in_mnt(&w, "f"), O_RDWR));
    ASSERT_OK(unlink(in_mnt(&w, "f")));
    EXPECT_ERRNO(access(in_mnt(&w, "f"), F_OK), ENOENT);
    unsigned char *got = malloc(sizeof data);
    ASSERT_TRUE(got != NULL);
    EXPECT_EQ(pread(fd, got, sizeof data, 0), (ssize_t)sizeof data);
    EXPECT_MEMEQ(got, data, sizeof data);
    EXPECT_EQ(pwrite(fd, "x", 1, 0), 1);
    struct stat st;
    ASSERT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_nlink, 0);
    free(got);
    EXPECT_OK(close(fd));
    unmount_volume(&m);
    EXPECT_EQ(run_check(&w, &p), 0);
    EXPECT_TRUE(strstr(p.out, " 0 chunks of 0 bytes") != NULL);
    EXPECT_TRUE(strstr(p.out, ", 0 orphans") != NULL);
    if (h_failures())
        h_note("--check: %s", p.out);
}

/* fallocate takes the space at once: a write into the range grows
 * nothing, the range reads as zeros, and a range larger than the volume's
 * free space fails with ENOSPC and changes nothing. */
static void fallocate_reserves_its_range_and_refuses_more_than_is_free(void)
{
    struct h_mount m;
    struct statvfs vfs;
    struct stat before, after;
    unsigned char got[8192];
    struct work w;

    work_init(&w);
    mount_volume(&w, &m, NULL);
    int fd = (int)ASSERT_OK(open(in_mnt(&w, "f"), O_RDWR | O_CREAT, 0644));
    ASSERT_OK(fallocate(fd, 0, 4095, 200000));
    ASSERT_OK(fstat(fd, &before));
    EXPECT_EQ(before.st_size, 4095 + 200000);
    EXPECT_GE((long long)before.st_blocks * 512, 4095 + 200000);
    EXPECT_EQ(pwrite(fd, "ab", 2, 4095), 2);
    EXPECT_EQ(pwrite(fd, "cd", 2, 150000), 2);
    ASSERT_OK(fstat(fd, &after));
    EXPECT_EQ(after.st_blocks, before.st_blocks);
    EXPECT_EQ(pread(fd, got, sizeof got, 8192), (ssize_t)sizeof got);
    for (size_t i = 0; i < sizeof got; i++)
        if (got[i] != 0) {
            ADD_FAILURE("byte %zu of the reserved range is %d", 8192 + i, got[i]);
            break;
        }
    ASSERT_OK(fstatvfs(fd, &vfs));
    uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    EXPECT_ERRNO(fallocate(fd, 0, 0, (off_t)(free_bytes * 2 + (1 << 30))),
                 ENOSPC);
    ASSERT_OK(fstat(fd, &after));
    EXPECT_EQ(after.st_size, before.st_size);
    EXPECT_OK(close(fd));
    unmount_volume(&m);
}

/* The volume's size is its host file system's: another program filling
 * the host may change the free space, never the size. */
static void statfs_size_is_the_hosts_and_stays_while_the_host_fills(void)
{
    static char block[1 << 20];
    struct statvfs host, before, after;
    struct h_mount m;
    struct work w;
    char outside[192];

    work_init(&w);
    mount_volume(&w, &m, NULL);
    ASSERT_OK(statvfs(w.dir, &host));
    ASSERT_OK(statvfs(w.mnt, &before));
    EXPECT_EQ((uint64_t)before.f_blocks * before.f_frsize,
              (uint64_t)host.f_blocks * host.f_frsize);
    EXPECT_LE(before.f_bfree, before.f_blocks);
    snprintf(outside, sizeof outside, "%s/outside", w.dir);
    memset(block, 7, sizeof block);
    int fd = (int)ASSERT_OK(open(outside, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(write(fd, block, sizeof block), (ssize_t)sizeof block);
    EXPECT_OK(fsync(fd));
    EXPECT_OK(close(fd));
    ASSERT_OK(statvfs(w.mnt, &after));
    EXPECT_EQ(after.f_blocks, before.f_blocks);
    /* (The free space is not compared: tests beside this one free and
     * fill the same host.) */
    EXPECT_OK(unlink(outside));
    unmount_volume(&m);
}

static const struct h_case cases[] = {
    H_CASE_T(data_survives_unmount_and_remount, NULL, H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(second_mount_of_one_database_is_refused, NULL, H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(check_passes_after_a_workload_and_names_what_is_corrupt, NULL,
             H_DAEMON | H_NOMOUNT, 180),
    H_CASE_T(foreign_newer_and_read_only_databases_are_refused, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(sigkill_in_the_middle_of_a_copy_loses_nothing_fsynced, NULL,
             H_DAEMON | H_NOMOUNT, 180),
    H_CASE_T(unlinked_open_file_is_readable_until_its_last_close, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(fallocate_reserves_its_range_and_refuses_more_than_is_free, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(statfs_size_is_the_hosts_and_stays_while_the_host_fills, NULL,
             H_DAEMON | H_NOMOUNT, 120),
};

int main(int argc, char **argv)
{
    /* The cases mount sqlfs, whatever the environment says. */
    setenv("FSP_TEST_FS", "sqlfs", 1);
    return h_main("sqlfs", argc, argv, cases, sizeof cases / sizeof *cases);
}
