/*
 * sqlfs_pg.c - sqlfs on PostgreSQL: what a volume that many mounts share
 * promises, and what happens when its server goes away.
 *
 * Each mount stands for a machine: its own daemon, its own mount point,
 * one database. The cluster is the tests' own (tests/pg/cluster, started
 * by the CTest fixture fsp_pg): PGHOST, PGPORT and PGUSER name it,
 * FSP_PG_CLUSTER and FSP_PG_DIR the script and its directory, which the
 * fault cases use to restart the server. Without FSP_TEST_PG the cases
 * are skipped.
 *
 * The figures (propagation delay between mounts, time to fail with EIO
 * once the server is gone) are printed as notes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "peer.h"

/* Mounts of one case. */
#define MOUNTS 3

/* Caches that never expire: only notifications make a mount see the
 * others' changes. */
#define FOREVER "file_info_timeout=-1,dir_info_timeout=-1,negative_timeout=-1"

/* A case's database and mount points. */
struct shared {
    char dir[64];
    char dbname[64];
    char database[96]; /* the DATABASE operand */
    char mnt[MOUNTS][128];
    struct h_mount m[MOUNTS];
    int mounted;
};

static bool pg_configured(void)
{
    const char *pg = getenv("FSP_TEST_PG");
    return pg && *pg && strcmp(pg, "0") != 0;
}

/* createdb or dropdb through the client programs, bounded. */
static int pg_tool(const char *tool, const char *name)
{
    struct h_proc p;
    char path[64];
    snprintf(path, sizeof path, "/usr/bin/%s", tool);
    int rc = strcmp(tool, "dropdb") == 0
                 ? h_runl(&p, 30, path, "--if-exists", "--force", name, NULL)
                 : h_runl(&p, 30, path, name, NULL);
    if (rc != 0)
        h_note("%s %s: %s", tool, name, p.err);
    return rc;
}

static void shared_init(struct shared *s)
{
    static int serial;
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/sqlfs-pg-test.XXXXXX");
    if (!mkdtemp(s->dir)) {
        ADD_FAILURE("mkdtemp: %s", expect_errname(errno));
        expect_abort_case();
    }
    chmod(s->dir, 0755);
    snprintf(s->dbname, sizeof s->dbname, "fsp_mm_%d_%d", (int)getpid(),
             serial++);
    snprintf(s->database, sizeof s->database, "dbname=%s", s->dbname);
    /* Torn down if the case fails: each mount point, and with the last
     * (the runner goes in order) the directory. */
    for (int i = 0; i < MOUNTS; i++) {
        snprintf(s->mnt[i], sizeof s->mnt[i], "%s/mnt%d", s->dir, i);
        ASSERT_OK(mkdir(s->mnt[i], 0755));
        h_register(s->mnt[i], 0, i == MOUNTS - 1 ? s->dir : NULL);
    }
    ASSERT_EQ(pg_tool("createdb", s->dbname), 0);
}

/* Mount the first @p n mount points on the one database. */
static void shared_mount(struct shared *s, int n, const char *opts)
{
    for (int i = 0; i < n; i++)
        if (!h_mount_source_at(&s->m[i], s->database, s->mnt[i], opts, 0))
            expect_abort_case();
    s->mounted = n;
}

static void shared_unmount(struct shared *s)
{
    for (int i = 0; i < s->mounted; i++) {
        int status;
        EXPECT_TRUE(h_unmount(&s->m[i], &status));
    }
    s->mounted = 0;
}

static void shared_done(struct shared *s)
{
    shared_unmount(s);
    for (int i = 0; i < MOUNTS; i++)
        rmdir(s->mnt[i]);
    rmdir(s->dir);
    pg_tool("dropdb", s->dbname);
}

static const char *at(const struct shared *s, int mount, const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", s->mnt[mount], name);
    return p;
}

/* ---- waiting for another mount to see a change ---- */

enum seen { SEEN_EXISTS, SEEN_ABSENT, SEEN_CONTENT, SEEN_MODE };

struct expectation {
    enum seen what;
    const char *path;
    const char *content; /* SEEN_CONTENT */
    mode_t mode;         /* SEEN_MODE */
};

static bool holds(const struct expectation *e)
{
    struct stat st;
    char buf[256];
    ssize_t n;
    switch (e->what) {
    case SEEN_EXISTS:
        return stat(e->path, &st) == 0;
    case SEEN_ABSENT:
        return stat(e->path, &st) != 0 && errno == ENOENT;
    case SEEN_MODE:
        return stat(e->path, &st) == 0 && (st.st_mode & 07777) == e->mode;
    case SEEN_CONTENT:
        n = h_read_file(e->path, buf, sizeof buf - 1);
        return n == (ssize_t)strlen(e->content) &&
               memcmp(buf, e->content, (size_t)n) == 0;
    }
    return false;
}

/* Seconds until @p e holds (polling every 0.5 ms), or -1 after 2 s. */
static double time_until(const struct expectation *e, double since)
{
    double end = since + 2;
    while (h_now() < end) {
        if (holds(e))
            return h_now() - since;
        usleep(500);
    }
    return -1;
}

/* The delays seen, for the note. */
struct delays {
    double worst, sum;
    int n;
};

static void record(struct delays *d, const char *what, double t)
{
    EXPECT_TRUE(t >= 0 && t < 0.1);
    if (t < 0 || t >= 0.1)
        h_note("%s: seen after %s", what, t < 0 ? "more than 2 s" : "100 ms or more");
    if (t < 0)
        return;
    if (t > d->worst)
        d->worst = t;
    d->sum += t;
    d->n++;
}

/* ------------------------------------------------------------------ */

/* With caches that never expire, what one mount does shows through the
 * others within 100 ms of the call that did it returning: a new name (cached as absent before), new data
 * (cached before, same size and not), a mode, a rename, an unlink. */
static void changes_show_through_the_other_mounts_within_100ms(void)
{
    struct shared s;
    struct delays d = {0};
    struct expectation e;
    char name[32];
    double t0;
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    shared_init(&s);
    shared_mount(&s, MOUNTS, FOREVER);

    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "new%d", i);
        for (int m = 1; m < MOUNTS; m++) /* cache "absent" */
            EXPECT_ERRNO(stat(at(&s, m, name), &(struct stat){0}), ENOENT);
        ASSERT_TRUE(h_write_file(at(&s, 0, name), "one", 3, 0644));
        t0 = h_now();
        for (int m = 1; m < MOUNTS; m++) {
            e = (struct expectation){SEEN_EXISTS, at(&s, m, name), NULL, 0};
            record(&d, "a new name", time_until(&e, t0));
        }
    }
    e = (struct expectation){SEEN_CONTENT, at(&s, 1, "new0"), "one", 0};
    EXPECT_TRUE(holds(&e)); /* its data cached on mount 1 */
    ASSERT_TRUE(h_write_file(at(&s, 0, "new0"), "two!", 4, 0644));
    t0 = h_now();
    e = (struct expectation){SEEN_CONTENT, at(&s, 1, "new0"), "two!", 0};
    record(&d, "new data, new size", time_until(&e, t0));
    ASSERT_TRUE(h_write_file(at(&s, 0, "new0"), "TWO!", 4, 0644));
    t0 = h_now();
    e = (struct expectation){SEEN_CONTENT, at(&s, 1, "new0"), "TWO!", 0};
    record(&d, "new data, same size", time_until(&e, t0));
    ASSERT_OK(chmod(at(&s, 0, "new0"), 0600));
    t0 = h_now();
    e = (struct expectation){SEEN_MODE, at(&s, 2, "new0"), NULL, 0600};
    record(&d, "a mode", time_until(&e, t0));
    ASSERT_OK(rename(at(&s, 0, "new0"), at(&s, 0, "renamed")));
    t0 = h_now();
    e = (struct expectation){SEEN_ABSENT, at(&s, 1, "new0"), NULL, 0};
    record(&d, "a rename (old name)", time_until(&e, t0));
    e = (struct expectation){SEEN_CONTENT, at(&s, 1, "renamed"), "TWO!", 0};
    record(&d, "a rename (new name)", time_until(&e, t0));
    ASSERT_OK(unlink(at(&s, 0, "renamed")));
    t0 = h_now();
    e = (struct expectation){SEEN_ABSENT, at(&s, 2, "renamed"), NULL, 0};
    record(&d, "an unlink", time_until(&e, t0));

    if (d.n)
        h_note("propagation between mounts: %d changes seen, mean %.1f ms, "
               "worst %.1f ms",
               d.n, 1e3 * d.sum / d.n, 1e3 * d.worst);
    shared_done(&s);
}

/* One mount replaces a file by rename, again and again; every look the
 * other mounts take at its name (every lookup reaching the database)
 * finds a file, of one of the sizes written, never a missing name. */
static void a_rename_is_atomic_as_every_mount_sees_it(void)
{
    struct shared s;
    int looks = 0, missing = 0, torn = 0, status = 0;
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    shared_init(&s);
    shared_mount(&s, 1, NULL);
    for (int m = 1; m < MOUNTS; m++) /* every lookup asks the database */
        if (!h_mount_source_at(&s.m[m], s.database, s.mnt[m],
                               "file_info_timeout=0,dir_info_timeout=0,"
                               "negative_timeout=0", 0))
            expect_abort_case();
    s.mounted = MOUNTS;
    ASSERT_TRUE(h_write_file(at(&s, 0, "f"), "x", 1, 0644));
    fflush(NULL);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 300; i++)
            if (!h_write_file(at(&s, 0, "tmp"), "1234567", (size_t)(i % 7 + 1), 0644) ||
                rename(at(&s, 0, "tmp"), at(&s, 0, "f")) != 0)
                _exit(1);
        _exit(0);
    }
    while (h_waitpid_timeout(pid, &status, 0) != pid) {
        for (int m = 1; m < MOUNTS; m++) {
            struct stat st;
            looks++;
            if (stat(at(&s, m, "f"), &st) != 0)
                missing++;
            else if (st.st_size < 1 || st.st_size > 7)
                torn++;
        }
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(torn, 0);
    EXPECT_GT(looks, 0);
    h_note("%d looks during 300 replacing renames: %d missing, %d torn",
           looks, missing, torn);
    shared_done(&s);
}

/* The two versions of write_after_write: 4 chunks of one byte each. */
#define WAW_SIZE (4 * 65536)

static void waw_writer(int idx, void *arg)
{
    const struct shared *s = arg;
    static char buf[WAW_SIZE];
    memset(buf, 'A' + idx, sizeof buf);
    for (int i = 0; i < 30; i++) {
        int fd = open(at(s, idx, "w"), O_WRONLY);
        if (fd < 0 || pwrite(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
            _exit(1);
        close(fd);
    }
}

/* Is @p path one whole version ('A's or 'B's)? Its byte, or 0. */
static char whole_version(const char *path)
{
    static char buf[WAW_SIZE + 1];
    ssize_t n = h_read_file(path, buf, sizeof buf);
    if (n != WAW_SIZE)
        return 0;
    for (ssize_t i = 1; i < n; i++)
        if (buf[i] != buf[0])
            return 0;
    return buf[0];
}

/* Two mounts overwrite one file (one write of four chunks each, thirty
 * times) at the same time: it ends as one writer's whole version, the
 * same through every mount. */
static void write_after_write_from_two_mounts_ends_with_one_whole_version(void)
{
    struct shared s;
    static char init[WAW_SIZE];
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    shared_init(&s);
    shared_mount(&s, MOUNTS, NULL);
    memset(init, 'Z', sizeof init);
    ASSERT_TRUE(h_write_file(at(&s, 0, "w"), init, sizeof init, 0644));
    EXPECT_EQ(h_fork_workers(2, waw_writer, &s, 60), 0);
    usleep(200 * 1000); /* the last notifications */
    char v[MOUNTS];
    for (int m = 0; m < MOUNTS; m++) {
        v[m] = whole_version(at(&s, m, "w"));
        EXPECT_TRUE(v[m] == 'A' || v[m] == 'B');
        EXPECT_EQ(v[m], v[0]);
    }
    h_note("the file ends as version %c through every mount", v[0]);
    shared_done(&s);
}

/* sqlfs --check on the case's database: its exit code, output in *p. */
static int run_check(const struct shared *s, struct h_proc *p)
{
    char sqlfs[512];
    snprintf(sqlfs, sizeof sqlfs, "%s/sqlfs", h_bin_dir);
    return h_runl(p, 120, sqlfs, "--check", s->database, NULL);
}

/* Run psql -c SQL on the case's database. */
static void psql(const struct shared *s, const char *sql)
{
    struct h_proc p;
    EXPECT_EQ(h_runl(&p, 30, "/usr/bin/psql", "-qAtX", "-v", "ON_ERROR_STOP=1",
                     "-d", s->dbname, "-c", sql, NULL), 0);
}

/* Files written through one mount are there, whole, after every mount is
 * gone and one comes back; --check passes between, and names a
 * corruption made behind sqlfs's back. */
static void data_survives_remount_and_check_passes_then_names_a_corruption(void)
{
    static unsigned char data[300000];
    struct shared s;
    struct h_proc p;
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + i / 65536);
    shared_init(&s);
    shared_mount(&s, 2, NULL);
    ASSERT_TRUE(h_write_file(at(&s, 0, "big"), data, sizeof data, 0644));
    ASSERT_OK(mkdir(at(&s, 1, "dir"), 0755));
    ASSERT_OK(symlink("big", at(&s, 1, "dir/link")));
    ASSERT_OK(link(at(&s, 0, "big"), at(&s, 0, "dir/hard")));
    shared_unmount(&s);
    EXPECT_EQ(run_check(&s, &p), 0);
    EXPECT_TRUE(strstr(p.out, ": ok: ") != NULL);
    shared_mount(&s, 1, NULL);
    static unsigned char got[sizeof data + 1];
    EXPECT_EQ(h_read_file(at(&s, 0, "dir/hard"), got, sizeof got), (ssize_t)sizeof data);
    EXPECT_MEMEQ(got, data, sizeof data);
    char target[16] = "";
    EXPECT_EQ(readlink(at(&s, 0, "dir/link"), target, sizeof target - 1), 3);
    EXPECT_STREQ(target, "big");
    struct stat st;
    EXPECT_OK(stat(at(&s, 0, "big"), &st));
    EXPECT_EQ(st.st_nlink, 2);
    shared_unmount(&s);
    psql(&s, "UPDATE inodes SET nlink = 5 WHERE ino = "
             "(SELECT ino FROM dirents WHERE name = 'big'::bytea)");
    EXPECT_EQ(run_check(&s, &p), 1);
    EXPECT_TRUE(strstr(p.out, "has link count 5 but 2 names") != NULL);
    if (h_failures())
        h_note("--check: %s", p.out);
    shared_done(&s);
}

/* sqlfs -f DATABASE MNT, expected to fail before mounting: its stderr. */
static void expect_refusal(const struct shared *s, const char *database,
                           const char *says)
{
    char sqlfs[512];
    struct h_proc p;
    snprintf(sqlfs, sizeof sqlfs, "%s/sqlfs", h_bin_dir);
    EXPECT_EQ(h_runl(&p, 60, sqlfs, "-f", database, s->mnt[0], NULL), 1);
    EXPECT_TRUE(strstr(p.err, says) != NULL);
    if (!strstr(p.err, says))
        h_note("%s: %s", database, p.err);
}

/* The databases sqlfs cannot serve are refused with their cause and fix. */
static void unreachable_server_bad_credentials_foreign_and_newer_are_refused(void)
{
    struct shared s;
    char db[256];
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    shared_init(&s);
    expect_refusal(&s, "host=/nonexistent dbname=x",
                   "cannot reach the PostgreSQL server");
    expect_refusal(&s, "host=127.0.0.1 port=1 dbname=x",
                   "check that it runs, the host and port");
    snprintf(db, sizeof db, "user=fsp_secret password=wrong dbname=%s", s.dbname);
    expect_refusal(&s, db, "refused the credentials");
    expect_refusal(&s, "dbname=fsp_no_such_database",
                   "the database does not exist");
    psql(&s, "CREATE TABLE accounts (id int)");
    expect_refusal(&s, s.database, "tables of another application");
    psql(&s, "DROP TABLE accounts");
    shared_mount(&s, 1, NULL); /* makes the tables */
    shared_unmount(&s);
    psql(&s, "UPDATE meta SET value = '9' WHERE key = 'schema_version'");
    expect_refusal(&s, s.database, "newer than the version 1");
    expect_refusal(&s, "postgresql://[oops", "is not a PostgreSQL connection string");
    shared_done(&s);
}

/* The delay the server takes over each read in the overlap case. */
#define READ_DELAY_MS 400
#define READERS 16

/* A reader: open its file, say so on @p ready, wait for @p go to close,
 * read. Exits 0 when it read the whole file. */
static void reader(const struct shared *s, int idx, int ready, int go)
{
    char name[16], buf[8192], c;
    snprintf(name, sizeof name, "r%d", idx);
    int fd = open(at(s, 0, name), O_RDONLY);
    if (fd < 0 || write(ready, "r", 1) != 1)
        _exit(1);
    if (read(go, &c, 1) != 0) /* end of file: go */
        _exit(1);
    _exit(read(fd, buf, sizeof buf) == 4096 ? 0 : 1);
}

/* Sixteen readers of sixteen files, on a server that takes 400 ms over
 * every read and a daemon with two worker threads: the reads pend
 * (FSP_PENDING) and run at the server side by side, so from the moment
 * all of them read (their files open) to the last one's bytes is close to
 * one delay, not to sixteen (nor to eight, two at a time). */
static void sixteen_slow_reads_overlap(void)
{
    static char data[4096];
    struct shared s;
    char name[16], opts[64], c;
    pid_t pids[READERS];
    int ready[2], go[2], status, failed = 0;
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    memset(data, 'r', sizeof data);
    shared_init(&s);
    shared_mount(&s, 1, NULL);
    for (int i = 0; i < READERS; i++) {
        snprintf(name, sizeof name, "r%d", i);
        ASSERT_TRUE(h_write_file(at(&s, 0, name), data, sizeof data, 0644));
    }
    shared_unmount(&s); /* nothing left in the page cache */
    snprintf(opts, sizeof opts, "threads=2,debug_read_delay=%d", READ_DELAY_MS);
    shared_mount(&s, 1, opts);
    /* The read engine connects in the background: the case measures the
     * reads, not that. */
    char log[4096] = "";
    double end = h_now() + 30;
    while (!strstr(log, "read engine ready") && h_now() < end) {
        h_sleep(0.05);
        h_read_file(s.m[0].log, log, sizeof log - 1);
    }
    EXPECT_TRUE(strstr(log, "read engine ready, 16 of 16") != NULL);
    ASSERT_OK(pipe(ready));
    ASSERT_OK(pipe(go));
    fflush(NULL);
    for (int i = 0; i < READERS; i++) {
        pids[i] = fork();
        ASSERT_TRUE(pids[i] >= 0);
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            reader(&s, i, ready[1], go[0]);
        }
    }
    close(ready[1]);
    close(go[0]);
    for (int i = 0; i < READERS; i++) /* every file open */
        EXPECT_EQ(read(ready[0], &c, 1), 1);
    double t0 = h_now();
    close(go[1]);
    for (int i = 0; i < READERS; i++) {
        if (h_waitpid_timeout(pids[i], &status, 30) != pids[i]) {
            kill(pids[i], SIGKILL);
            h_waitpid_timeout(pids[i], &status, 5);
        }
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    double wall = h_now() - t0;
    close(ready[0]);
    EXPECT_EQ(failed, 0);
    EXPECT_LT(wall, 2.5 * READ_DELAY_MS / 1000.0);
    h_note("%d reads with a %d ms server delay each: %.2f s wall (%.1f "
           "delays; one at a time would be %d)",
           READERS, READ_DELAY_MS, wall, wall * 1000.0 / READ_DELAY_MS, READERS);
    shared_done(&s);
}

/* ---- locks across mounts ---- */

static void on_alarm(int sig)
{
    (void)sig;
}

/* The other machine: the parent holds a write lock on bytes 0-9 and an
 * exclusive flock lock through mount 0; this child goes through mount 1. */
static void lock_through_mount_1(struct peer *p, void *arg)
{
    const struct shared *s = arg;
    struct sigaction sa;
    int fd = open(at(s, 1, "locked"), O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("open through mount 1: %s", expect_errname(errno));
        return;
    }
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES);
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_RDLCK, 0, 1), EAGAIN, EACCES);
    struct flock fl = get_lock(fd, F_GETLK, F_RDLCK, 0, 100);
    EXPECT_EQ(fl.l_type, F_WRLCK);
    EXPECT_EQ(fl.l_start, 0);
    EXPECT_EQ(fl.l_len, 10);
    EXPECT_EQ(fl.l_pid, getppid());
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 20, 5)); /* beside it */
    EXPECT_ERRNO(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    EXPECT_ERRNO(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    /* A wait that a signal interrupts ends with EINTR (no SA_RESTART). */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    EXPECT_ERRNO(set_lock(fd, F_SETLKW, F_WRLCK, 0, 10), EINTR);
    alarm(0);
    peer_step(p);
    /* This wait ends when the parent unlocks. */
    EXPECT_OK(set_lock(fd, F_SETLKW, F_WRLCK, 0, 10));
    peer_step(p);
    close(fd);
}

/* fcntl(2) and flock(2) locks hold across the mounts of one volume, as
 * across machines: a conflict fails through the other mount, F_GETLK
 * there names the lock, an F_SETLKW there waits (holding no worker, and
 * a signal ends it) until the holder unlocks. */
static void locks_are_exclusive_across_mounts(void)
{
    struct shared s;
    struct peer p;
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    shared_init(&s);
    shared_mount(&s, 2, "threads=2");
    ASSERT_TRUE(h_write_file(at(&s, 0, "locked"), "0123456789", 10, 0644));
    int fd = ASSERT_OK(open(at(&s, 0, "locked"), O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    ASSERT_OK(flock(fd, LOCK_EX));
    peer_start(&p, lock_through_mount_1, &s);
    if (peer_wait(&p)) {
        send_byte(p.go[1]); /* into its F_SETLKW */
        h_sleep(0.5);
        EXPECT_FALSE(byte_ready(p.done[0])); /* still waiting */
        /* The mount serves others meanwhile. */
        struct stat st;
        EXPECT_OK(stat(at(&s, 1, "locked"), &st));
        double t0 = h_now();
        EXPECT_OK(set_lock(fd, F_SETLK, F_UNLCK, 0, 10));
        if (peer_wait(&p)) {
            h_note("an F_SETLKW through another mount was granted %.0f ms "
                   "after the unlock", (h_now() - t0) * 1000);
            EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 9, 1), EAGAIN, EACCES);
        }
    }
    peer_finish(&p); /* its close unlocks */
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    EXPECT_OK(close(fd));
    shared_done(&s);
}

/* The holder of a lock through mount 0: locks and waits to be let go. */
static void hold_through_mount_0(struct peer *p, void *arg)
{
    const struct shared *s = arg;
    int fd = open(at(s, 0, "locked"), O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("open through mount 0: %s", expect_errname(errno));
        return;
    }
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 0));
    EXPECT_OK(flock(fd, LOCK_EX));
    peer_step(p);
    close(fd); /* fails or not: its daemon is gone */
}

/* A mount that dies (SIGKILL of its daemon) leaves no lock behind: the
 * other mounts can lock what it held within a bound. */
static void a_dead_mounts_locks_are_released(void)
{
    struct shared s;
    struct peer p;
    int st;
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    shared_init(&s);
    shared_mount(&s, 2, NULL);
    ASSERT_TRUE(h_write_file(at(&s, 0, "locked"), "0123456789", 10, 0644));
    int fd = ASSERT_OK(open(at(&s, 1, "locked"), O_RDWR));
    peer_start(&p, hold_through_mount_0, &s);
    if (peer_wait(&p)) {
        EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES);
        EXPECT_ERRNO(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    }
    ASSERT_OK(kill(s.m[0].pid, SIGKILL));
    double t0 = h_now(), took = -1;
    while (h_now() < t0 + 10) {
        if (set_lock(fd, F_SETLK, F_WRLCK, 0, 0) == 0 &&
            flock(fd, LOCK_EX | LOCK_NB) == 0) {
            took = h_now() - t0;
            break;
        }
        h_sleep(0.02);
    }
    EXPECT_TRUE(took >= 0 && took < 3);
    h_note("the locks of a killed mount were free %.0f ms after the kill",
           took * 1000);
    EXPECT_EQ(h_waitpid_timeout(s.m[0].pid, &st, 10), s.m[0].pid);
    peer_finish(&p);
    /* The dead mount goes (auto_unmount, or detached here). */
    double end = h_now() + 5;
    while (h_mountinfo_count(s.mnt[0]) > 0 && h_now() < end)
        h_sleep(0.05);
    if (h_mountinfo_count(s.mnt[0]) > 0)
        umount2(s.mnt[0], MNT_DETACH);
    h_forget(&s.m[0]);
    EXPECT_OK(close(fd));
    s.m[0] = s.m[1];
    s.mounted = 1;
    shared_done(&s);
}

/* ---- the backend's state ---- */

/* `fsptool stat MOUNTPOINT` into @p p; its exit status. */
static int fsptool_stat(const char *mnt, struct h_proc *p)
{
    char tool[512];
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    return h_runl(p, 30, tool, "stat", mnt, NULL);
}

/* fsptool stat shows the backend's state: the server, connected, the
 * connections in use, what waits. (The fault case below sees "down" and
 * the error while its server is away, then "connected" again.) */
static void fsptool_stat_shows_the_backend_state(void)
{
    struct shared s;
    struct h_proc p;
    if (!pg_configured())
        h_skip("FSP_TEST_PG is not set: no PostgreSQL cluster");
    shared_init(&s);
    shared_mount(&s, 1, NULL);
    bool shown = false;
    for (double end = h_now() + 5; !shown && h_now() < end; h_sleep(0.1)) {
        EXPECT_EQ(fsptool_stat(s.mnt[0], &p), 0);
        shown = strstr(p.out, "file system:\n") != NULL;
    }
    EXPECT_TRUE(shown);
    EXPECT_TRUE(strstr(p.out, "  backend postgresql\n") != NULL);
    EXPECT_TRUE(strstr(p.out, "  state connected\n") != NULL);
    EXPECT_TRUE(strstr(p.out, "  connections_in_use ") != NULL);
    EXPECT_TRUE(strstr(p.out, "  pending_reads ") != NULL);
    EXPECT_TRUE(strstr(p.out, "  lock_waits 0\n") != NULL);
    char want[160];
    snprintf(want, sizeof want, "  server dbname=%s", s.dbname);
    EXPECT_TRUE(strstr(p.out, want) != NULL);
    if (h_failures())
        h_note("fsptool stat: %s", p.out);
    shared_done(&s);
}

/* ---- faults ---- */

/* Run the cluster script with @p args in a child; returns its pid. */
static pid_t cluster_async(const char *cmd, const char *arg1, const char *arg2)
{
    const char *script = getenv("FSP_PG_CLUSTER"), *dir = getenv("FSP_PG_DIR");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) { dup2(dn, 1); close(dn); }
        execl(script, script, cmd, dir, arg1, arg2, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void require_cluster_control(void)
{
    if (!pg_configured() || !getenv("FSP_PG_CLUSTER") || !getenv("FSP_PG_DIR"))
        h_skip("FSP_TEST_PG, FSP_PG_CLUSTER or FSP_PG_DIR is not set");
}

/* Create and fsync files until @p until; count what failed. */
static void write_files_until(const struct shared *s, double until,
                              int *done, int *failed)
{
    char name[32];
    for (int i = 0; h_now() < until; i++) {
        snprintf(name, sizeof name, "load%d", i);
        int fd = open(at(s, 0, name), O_WRONLY | O_CREAT, 0644);
        bool ok = fd >= 0 && write(fd, name, strlen(name)) > 0 && fsync(fd) == 0;
        if (fd >= 0)
            ok = close(fd) == 0 && ok;
        ++*done;
        *failed += !ok;
    }
}

/* The server restarts (down for 2 s) under a load of creates and fsyncs
 * on a mount whose bound is 8 s: requests that arrive while it is down
 * wait and then go on; only a request the server was in the middle of
 * when it went may fail; the mount works afterwards, its log tells the
 * story. */
static void server_restart_under_load_resumes_within_the_bound(void)
{
    struct shared s;
    int done = 0, failed = 0, status = 0;
    require_cluster_control();
    shared_init(&s);
    shared_mount(&s, 1, "server_timeout=8000");
    write_files_until(&s, h_now() + 1, &done, &failed);
    EXPECT_EQ(failed, 0);
    pid_t pid = cluster_async("restart", "--down", "2");
    ASSERT_TRUE(pid > 0);
    double t0 = h_now();
    write_files_until(&s, t0 + 5, &done, &failed);
    EXPECT_EQ(h_waitpid_timeout(pid, &status, 60), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_LE(failed, 2); /* those in flight when the server stopped */
    int before = done, failed_before = failed;
    write_files_until(&s, h_now() + 1, &done, &failed);
    EXPECT_GT(done, before);
    EXPECT_EQ(failed, failed_before); /* reconnected */
    char log[8192] = "";
    h_read_file(s.m[0].log, log, sizeof log - 1);
    EXPECT_TRUE(strstr(log, "lost the server") != NULL);
    EXPECT_TRUE(strstr(log, "reconnected") != NULL);
    h_note("%d creates+fsyncs across a 2 s restart, %d failed", done, failed);
    shared_done(&s);
}

/* With the server gone for longer than the bound (1 s), a request fails
 * with EIO after about the bound, not sooner and not much later; once
 * the server is back the mount works again by itself. */
static void a_server_gone_past_the_bound_fails_with_eio_then_recovers(void)
{
    struct shared s;
    int status = 0;
    require_cluster_control();
    shared_init(&s);
    shared_mount(&s, 1, "server_timeout=1000");
    ASSERT_TRUE(h_write_file(at(&s, 0, "before"), "x", 1, 0644));
    pid_t pid = cluster_async("restart", "--down", "4");
    ASSERT_TRUE(pid > 0);
    usleep(1500 * 1000); /* the fast stop has happened */
    double t0 = h_now();
    int fd = open(at(&s, 0, "during"), O_WRONLY | O_CREAT, 0644);
    int e = errno;
    double took = h_now() - t0;
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(e, EIO);
    EXPECT_GE(took, 0.95);
    EXPECT_LT(took, 3.0);
    if (fd >= 0)
        close(fd);
    h_note("with the server down, a create failed with %s after %.2f s "
           "(bound 1 s)", expect_errname(e), took);
    /* fsptool stat says so, and why (the server is still down). */
    struct h_proc p;
    bool down = false;
    for (double end = h_now() + 1.5; !down && h_now() < end; h_sleep(0.1))
        down = fsptool_stat(s.mnt[0], &p) == 0 &&
               strstr(p.out, "  state down\n") != NULL;
    EXPECT_TRUE(down);
    EXPECT_TRUE(strstr(p.out, "  last_error none\n") == NULL);
    EXPECT_EQ(h_waitpid_timeout(pid, &status, 60), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_TRUE(h_write_file(at(&s, 0, "after"), "y", 1, 0644));
    bool up = false;
    for (double end = h_now() + 3; !up && h_now() < end; h_sleep(0.1))
        up = fsptool_stat(s.mnt[0], &p) == 0 &&
             strstr(p.out, "  state connected\n") != NULL;
    EXPECT_TRUE(up);
    if (h_failures())
        h_note("fsptool stat: %s", p.out);
    struct stat st;
    EXPECT_OK(stat(at(&s, 0, "before"), &st));
    shared_done(&s);
}

/* PostgreSQL itself is killed (SIGKILL of the postmaster) after a mount
 * wrote and fsynced files: once it has started again (and recovered),
 * --check passes and every file fsynced before the kill is there, whole. */
static void a_killed_server_loses_nothing_fsynced(void)
{
    struct shared s;
    struct h_proc p;
    char name[32], want[64];
    int synced = 0, status = 0;
    require_cluster_control();
    shared_init(&s);
    shared_mount(&s, 1, "server_timeout=15000");
    double end = h_now() + 1.5;
    for (int i = 0; h_now() < end; i++) {
        snprintf(name, sizeof name, "f%d", i);
        snprintf(want, sizeof want, "contents of file %d", i);
        int fd = open(at(&s, 0, name), O_WRONLY | O_CREAT, 0644);
        ASSERT_TRUE(fd >= 0);
        EXPECT_EQ(write(fd, want, strlen(want)), (ssize_t)strlen(want));
        EXPECT_OK(fsync(fd));
        EXPECT_OK(close(fd));
        synced = i + 1;
    }
    pid_t pid = cluster_async("kill", NULL, NULL);
    EXPECT_EQ(h_waitpid_timeout(pid, &status, 30), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid = cluster_async("restart", NULL, NULL);
    EXPECT_EQ(h_waitpid_timeout(pid, &status, 60), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* What the server has, through a mount made after its recovery. */
    shared_unmount(&s);
    EXPECT_EQ(run_check(&s, &p), 0);
    shared_mount(&s, 1, NULL);
    int lost = 0;
    for (int i = 0; i < synced; i++) {
        char got[64] = "";
        snprintf(name, sizeof name, "f%d", i);
        snprintf(want, sizeof want, "contents of file %d", i);
        lost += h_read_file(at(&s, 0, name), got, sizeof got - 1) != (ssize_t)strlen(want) ||
                strcmp(got, want) != 0;
    }
    EXPECT_EQ(lost, 0);
    h_note("%d files fsynced before the server was killed, %d lost", synced, lost);
    shared_done(&s);
}

static const struct h_case cases[] = {
    H_CASE_T(changes_show_through_the_other_mounts_within_100ms, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(a_rename_is_atomic_as_every_mount_sees_it, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(write_after_write_from_two_mounts_ends_with_one_whole_version,
             NULL, H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(server_restart_under_load_resumes_within_the_bound, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(a_server_gone_past_the_bound_fails_with_eio_then_recovers, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(data_survives_remount_and_check_passes_then_names_a_corruption,
             NULL, H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(unreachable_server_bad_credentials_foreign_and_newer_are_refused,
             NULL, H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(a_killed_server_loses_nothing_fsynced, NULL, H_DAEMON | H_NOMOUNT,
             120),
    H_CASE_T(sixteen_slow_reads_overlap, NULL, H_DAEMON | H_NOMOUNT, 120),
    H_CASE_T(locks_are_exclusive_across_mounts, NULL, H_DAEMON | H_NOMOUNT,
             120),
    H_CASE_T(a_dead_mounts_locks_are_released, NULL, H_DAEMON | H_NOMOUNT,
             120),
    H_CASE_T(fsptool_stat_shows_the_backend_state, NULL,
             H_DAEMON | H_NOMOUNT, 120),
};

int main(int argc, char **argv)
{
    /* The cases mount sqlfs on PostgreSQL, whatever the environment says. */
    setenv("FSP_TEST_FS", "sqlfs", 1);
    return h_main("sqlfs_pg", argc, argv, cases, sizeof cases / sizeof *cases);
}
