/*
 * test_stats.c - unit test of src/api/stats.c (CTest: stats_publish).
 *
 * Publishes stats under a temporary $XDG_RUNTIME_DIR, counts requests and
 * replies (including out-of-range ones), reads them back through a second
 * mapping as fsptool would, and checks that close removes the file. Runs
 * as any user; as root fsp_stats_dir() is /run/fsp, which the test then
 * uses (and cleans up after itself in).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"
#include "stats.h"

/* The temporary $XDG_RUNTIME_DIR of the run. */
static char xdg[] = "/tmp/test_stats.XXXXXX";

/* Map @path read-write the way fsptool does. NULL on failure. */
static struct fsp_stats_shared *map_file(const char *path)
{
    struct fsp_stats_shared *sh;
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return sh == MAP_FAILED ? NULL : sh;
}

static uint64_t load(const _Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

/* The pid of a process that has just exited: dead for sure. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();

    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return pid;
}

/* Write a file that looks like one published by @pid at @path. */
static int write_fake(const char *path, pid_t pid)
{
    struct fsp_stats_shared sh;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ssize_t n;

    if (fd < 0)
        return -errno;
    memset(&sh, 0, sizeof(sh));
    sh.magic = FSP_STATS_MAGIC;
    sh.version = FSP_STATS_VERSION;
    sh.pid = pid;
    n = write(fd, &sh, sizeof(sh));
    close(fd);
    return n == (ssize_t)sizeof(sh) ? 0 : -EIO;
}

static void test_dir(void)
{
    char dir[PATH_MAX], want[PATH_MAX + 32];

    if (geteuid() == 0)
        snprintf(want, sizeof(want), "/run/fsp");
    else
        snprintf(want, sizeof(want), "%s/fsp", xdg);
    EXPECT_TRUE(fsp_stats_dir(dir, sizeof(dir)) == 0);
    EXPECT_TRUE(!strcmp(dir, want));
    EXPECT_TRUE(fsp_stats_dir(dir, 4) == -ENAMETOOLONG);
}

static void test_publish(void)
{
    struct fsp_stats st;
    struct fsp_stats_shared *sh;
    char dir[PATH_MAX], want[PATH_MAX + 32];
    struct stat sb;

    EXPECT_TRUE(fsp_stats_open(&st, "/mnt/test volume", "testfs", "dev", 42,
                               3) == 0);
    if (!st.shared)
        return;
    fsp_stats_dir(dir, sizeof(dir));
    snprintf(want, sizeof(want), "%s/%d-42.vol", dir, (int)getpid());
    EXPECT_TRUE(st.path && !strcmp(st.path, want));
    /* /run/fsp may predate the test; it must not be writable by others. */
    EXPECT_TRUE(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
                    (geteuid() == 0 ? (sb.st_mode & 022) == 0
                                    : (sb.st_mode & 0777) == 0700));
    EXPECT_TRUE(stat(st.path, &sb) == 0 && S_ISREG(sb.st_mode) &&
                    (sb.st_mode & 0777) == 0644 &&
                    (size_t)sb.st_size == sizeof(*sh));

    fsp_stats_request(&st, 1);          /* LOOKUP */
    fsp_stats_request(&st, 1);
    fsp_stats_request(&st, 63);         /* the last slot */
    fsp_stats_request(&st, 64);         /* out of range: slot 0 */
    fsp_stats_request(&st, 4096);       /* CUSE_INIT: slot 0 */
    fsp_stats_request(&st, UINT32_MAX); /* slot 0 */
    fsp_stats_reply(&st, 0);
    fsp_stats_reply(&st, 0);
    fsp_stats_reply(&st, -ENOENT);
    fsp_stats_reply(&st, -158);         /* the last errno with its slot */
    fsp_stats_reply(&st, -159);         /* "other" */
    fsp_stats_reply(&st, -100000);      /* "other" */
    fsp_stats_reply(&st, INT32_MIN);    /* "other", and no overflow */
    fsp_stats_reply(&st, 7);            /* not an errno: "other" */

    sh = map_file(st.path);
    EXPECT_TRUE(sh != NULL);
    if (!sh)
        goto out;
    EXPECT_TRUE(sh->magic == FSP_STATS_MAGIC);
    EXPECT_TRUE(sh->version == FSP_STATS_VERSION);
    EXPECT_TRUE(sh->pid == getpid());
    EXPECT_TRUE(sh->threads == 3);
    EXPECT_TRUE(sh->started_unix_ns > 0);
    EXPECT_TRUE(!strcmp(sh->mountpoint, "/mnt/test volume"));
    EXPECT_TRUE(!strcmp(sh->fs_name, "testfs"));
    EXPECT_TRUE(!strcmp(sh->channel, "dev"));
    EXPECT_TRUE(load(&sh->requests[1]) == 2);
    EXPECT_TRUE(load(&sh->requests[63]) == 1);
    EXPECT_TRUE(load(&sh->requests[0]) == 3);
    EXPECT_TRUE(load(&sh->replies_by_errno[0]) == 2);
    EXPECT_TRUE(load(&sh->replies_by_errno[ENOENT]) == 1);
    EXPECT_TRUE(load(&sh->replies_by_errno[158]) == 1);
    EXPECT_TRUE(load(&sh->replies_by_errno[FSP_STATS_ERRNOS - 1]) == 4);

    /* The debug switch: fsptool writes, the volume reads. */
    atomic_store(&sh->debug, 1);
    EXPECT_TRUE(atomic_load(&st.shared->debug) == 1);

    fsp_stats_close(&st);
    EXPECT_TRUE(st.shared == NULL && st.path == NULL);
    EXPECT_TRUE(access(want, F_OK) != 0 && errno == ENOENT);
    EXPECT_TRUE(sh->magic == 0);           /* readers see the volume gone */
    fsp_stats_close(&st);               /* idempotent */
    munmap(sh, sizeof(*sh));
out:
    fsp_stats_close(&st);
}

/* Long names: a mount point that cannot be published whole is refused;
 * a long fs name is cut and stays NUL-terminated. */
static void test_long_names(void)
{
    struct fsp_stats st;
    char *longpath = malloc(5000);
    char name[200];

    if (!longpath)
        return;
    memset(longpath, 'a', 4999);
    longpath[0] = '/';
    longpath[4999] = '\0';
    EXPECT_TRUE(fsp_stats_open(&st, longpath, "x", "dev", 1, 1) ==
                    -ENAMETOOLONG);
    EXPECT_TRUE(st.shared == NULL);
    free(longpath);

    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    EXPECT_TRUE(fsp_stats_open(&st, "/mnt/x", name, "io_uring", 2, 1) == 0);
    if (st.shared) {
        EXPECT_TRUE(strlen(st.shared->fs_name) == sizeof(st.shared->fs_name) - 1);
        EXPECT_TRUE(!strcmp(st.shared->channel, "io_uring"));
    }
    fsp_stats_close(&st);
}

/* A file with our name left by a dead process is replaced; one that names
 * a live process (only a hand-made file can) is left alone. */
static void test_stale(void)
{
    struct fsp_stats st;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    pid_t dead = dead_pid();

    fsp_stats_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%d-43.vol", dir, (int)getpid());
    EXPECT_TRUE(dead > 0 && write_fake(path, dead) == 0);
    EXPECT_TRUE(fsp_stats_open(&st, "/mnt/stale", "t", "dev", 43, 1) == 0);
    EXPECT_TRUE(st.shared && st.shared->pid == getpid());
    fsp_stats_close(&st);

    EXPECT_TRUE(write_fake(path, getppid()) == 0);
    EXPECT_TRUE(fsp_stats_open(&st, "/mnt/live", "t", "dev", 43, 1) == -EEXIST);
    EXPECT_TRUE(st.shared == NULL);
    unlink(path);
}

/* Publishing failed: every call must be harmless. */
static void test_unpublished(void)
{
    struct fsp_stats st = { NULL, NULL };

    fsp_stats_request(&st, 1);
    fsp_stats_reply(&st, -ENOENT);
    fsp_stats_close(&st);
    fsp_stats_close(NULL);
    EXPECT_TRUE(st.shared == NULL);
}

#define THREADS 4
#define PER_THREAD 200000

static void *hammer(void *arg)
{
    struct fsp_stats *st = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        fsp_stats_request(st, 15);
        fsp_stats_reply(st, 0);
    }
    return NULL;
}

/* Concurrent counting loses nothing. */
static void test_threads(void)
{
    pthread_t t[THREADS];
    struct fsp_stats st;
    int started = 0;

    EXPECT_TRUE(fsp_stats_open(&st, "/mnt/mt", "t", "dev", 44, THREADS) == 0);
    if (!st.shared)
        return;
    for (; started < THREADS; started++) {
        if (pthread_create(&t[started], NULL, hammer, &st) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    EXPECT_TRUE(started == THREADS);
    EXPECT_TRUE(load(&st.shared->requests[15]) == (uint64_t)THREADS * PER_THREAD);
    EXPECT_TRUE(load(&st.shared->replies_by_errno[0]) ==
                    (uint64_t)THREADS * PER_THREAD);
    fsp_stats_close(&st);
}

/* The file system's state lines: published whole, replaced by the next,
 * cut to fit (-E2BIG), read back through another mapping; a volume that
 * did not publish takes them harmlessly. */
static void test_state(void)
{
    static char longer[FSP_STATS_STATE_SIZE + 100];
    char got[FSP_STATS_STATE_SIZE];
    struct fsp_stats st, none = { NULL, NULL };
    struct fsp_stats_shared *sh;

    EXPECT_TRUE(fsp_stats_set_state(&none, "backend up") == 0);
    EXPECT_TRUE(fsp_stats_open(&st, "/mnt/state", "t", "dev", 45, 1) == 0);
    if (!st.shared)
        return;
    sh = map_file(st.path);
    EXPECT_TRUE(sh != NULL);
    if (!sh)
        goto out;
    fsp_stats_read_state(sh, got);
    EXPECT_TRUE(got[0] == '\0');
    EXPECT_TRUE(fsp_stats_set_state(&st, "backend connected\nserver db") == 0);
    fsp_stats_read_state(sh, got);
    EXPECT_TRUE(!strcmp(got, "backend connected\nserver db"));
    EXPECT_TRUE(fsp_stats_set_state(&st, "backend down") == 0);
    fsp_stats_read_state(sh, got);
    EXPECT_TRUE(!strcmp(got, "backend down"));
    memset(longer, 'x', sizeof longer - 1);
    EXPECT_TRUE(fsp_stats_set_state(&st, longer) == -E2BIG);
    fsp_stats_read_state(sh, got);
    EXPECT_TRUE(strlen(got) == FSP_STATS_STATE_SIZE - 1);
    munmap(sh, sizeof(*sh));
out:
    fsp_stats_close(&st);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(test_dir),
    EXPECT_CASE(test_publish),
    EXPECT_CASE(test_long_names),
    EXPECT_CASE(test_stale),
    EXPECT_CASE(test_unpublished),
    EXPECT_CASE(test_threads),
    EXPECT_CASE(test_state),
};

int main(void)
{
    char dir[PATH_MAX];
    int rc;

    if (!mkdtemp(xdg)) {
        perror("test_stats: mkdtemp");
        return 1;
    }
    setenv("XDG_RUNTIME_DIR", xdg, 1);

    rc = expect_run("test_stats", cases, sizeof cases / sizeof *cases);

    /* Leave nothing behind: the fsp/ directory (if the test made it under
     * the temporary XDG dir) and the temporary dir itself. */
    snprintf(dir, sizeof(dir), "%s/fsp", xdg);
    rmdir(dir);
    rmdir(xdg);

    return rc;
}
