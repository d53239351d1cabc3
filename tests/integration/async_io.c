/*
 * async_io.c - requests completed later (FSP_PENDING), through memfs's
 * slowio mode: reads, writes and directory reads answered by another
 * thread after a delay, or before the callback even returns (delay 0).
 *
 * Which requests the kernel makes interruptible matters here: READDIR,
 * buffered WRITE and (fsp asks for no FUSE_ASYNC_DIO) O_DIRECT I/O wait
 * interruptibly for their reply, while page-cache reads (readahead) are
 * background requests that an ordinary signal does not interrupt. The
 * interrupt cases use getdents and write; the throughput case uses
 * O_DIRECT reads, which always reach the daemon.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define SMALL 4096

static bool not_memfs(void)
{
    return h_fs_is_ptfs() || h_dir_mode();
}

/* Byte i of file @idx: a pattern that tells files and offsets apart. */
static unsigned char pattern(int idx, size_t i)
{
    return (unsigned char)(idx * 31 + i * 7 + (i >> 12));
}

static void fill_pattern(unsigned char *buf, size_t len, int idx)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern(idx, i);
}

/* ------------------------------------------------------------------ */
/* pending requests do not hold workers                                */

static void write_small_file(int idx, void *arg)
{
    unsigned char buf[SMALL];
    (void)arg;
    fill_pattern(buf, sizeof buf, idx);
    if (!h_write_file(h_path("f%02d", idx), buf, sizeof buf, 0644))
        ADD_FAILURE("write f%02d: %s", idx, expect_errname(errno));
}

static void read_small_file_direct(int idx, void *arg)
{
    unsigned char expect[SMALL];
    void *buf = NULL;
    (void)arg;
    if (posix_memalign(&buf, 4096, SMALL)) {
        ADD_FAILURE("posix_memalign");
        return;
    }
    fill_pattern(expect, sizeof expect, idx);
    int fd = EXPECT_OK(open(h_path("f%02d", idx), O_RDONLY | O_DIRECT));
    if (fd >= 0) {
        EXPECT_EQ(pread(fd, buf, SMALL, 0), SMALL);
        EXPECT_MEMEQ(buf, expect, SMALL);
        close(fd);
    }
    free(buf);
}

/* 16 readers, every read answered after 100 ms, 2 workers: if a pending
 * read held its worker, they would take 16 x 100 ms / 2 = 800 ms. */
static void pending_reads_do_not_hold_worker_threads(void)
{
    enum { READERS = 16 };
    if (not_memfs())
        h_skip("slowio is memfs's");
    ASSERT_EQ(h_fork_workers(READERS, write_small_file, NULL, 20), 0);
    double t0 = h_now();
    int bad = h_fork_workers(READERS, read_small_file_direct, NULL, 20);
    double ms = (h_now() - t0) * 1000;
    EXPECT_EQ(bad, 0);
    h_note("16 readers x 100 ms on 2 workers: %.0f ms", ms);
    /* Each read costs at least its 100 ms... */
    EXPECT_GE(ms, 100);
    /* ...but they overlap: far below the 800 ms of two at a time. */
    EXPECT_LT(ms, 400);
}

/* ------------------------------------------------------------------ */
/* the early response: sent before the callback returns FSP_PENDING    */

/* A directory @dir with @count empty files e0, e1, ... */
static void make_entries(const char *dir, int count)
{
    ASSERT_OK(mkdir(dir, 0755));
    for (int i = 0; i < count; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/e%d", dir, i);
        int fd = ASSERT_OK(open(p, O_CREAT | O_WRONLY, 0644));
        close(fd);
    }
}

#define LISTED 300

static void check_listing(const char *dir, int count)
{
    char seen[LISTED] = { 0 };
    int total = 0;
    DIR *d = opendir(dir);
    if (!d) {
        ADD_FAILURE("opendir %s: %s", dir, expect_errname(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int i;
        if (e->d_name[0] == '.')
            continue;
        if (sscanf(e->d_name, "e%d", &i) != 1 || i < 0 || i >= count) {
            ADD_FAILURE("unexpected entry %s", e->d_name);
            continue;
        }
        if (seen[i]++)
            ADD_FAILURE("entry %s listed twice", e->d_name);
        total++;
    }
    closedir(d);
    EXPECT_EQ(total, count);
}

/* One worker's round: write a random piece of its file, read the whole
 * file back through a fresh open (which drops cached pages, so the reads
 * reach the daemon), list the shared directory. */
static void early_worker(int idx, void *arg)
{
    enum { FILE_MAX = 256 * 1024, ROUNDS = 25 };
    uint64_t seed = (uint64_t)idx * 7919 + 1;
    unsigned char *shadow = calloc(1, FILE_MAX), *got = malloc(FILE_MAX);
    size_t size = 0;
    const char *dir = arg;
    char path[512];
    snprintf(path, sizeof path, "%s/w%d", h_root, idx);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || !shadow || !got) {
        ADD_FAILURE("open %s: %s", path, expect_errname(errno));
        goto out;
    }
    for (int r = 0; r < ROUNDS; r++) {
        size_t off = h_rand_below(&seed, FILE_MAX - 1);
        size_t len = 1 + h_rand_below(&seed, FILE_MAX - off);
        for (size_t i = 0; i < len; i++)
            shadow[off + i] = (unsigned char)h_rand(&seed);
        if (EXPECT_EQ(pwrite(fd, shadow + off, len, (off_t)off), (ssize_t)len) == false)
            break;
        if (off + len > size)
            size = off + len;
        int rfd = open(path, O_RDONLY);
        if (rfd < 0) {
            ADD_FAILURE("reopen %s: %s", path, expect_errname(errno));
            break;
        }
        ssize_t n = pread(rfd, got, FILE_MAX, 0);
        close(rfd);
        EXPECT_EQ(n, (ssize_t)size);
        if (n == (ssize_t)size && !EXPECT_MEMEQ(got, shadow, size))
            break;
        if (r % 5 == 0)
            check_listing(dir, LISTED);
    }
out:
    if (fd >= 0)
        close(fd);
    free(shadow);
    free(got);
}

static void early_responses_under_load_keep_data_and_listings(void)
{
    if (not_memfs())
        h_skip("slowio is memfs's");
    static char dir[512]; /* h_path()'s buffers rotate */
    snprintf(dir, sizeof dir, "%s", h_path("listed"));
    make_entries(dir, LISTED);
    /* Repeated: every round is a new crowd of early responses racing
     * the workers' registration of the next requests. */
    for (int rep = 0; rep < 20; rep++)
        EXPECT_EQ(h_fork_workers(6, early_worker, (void *)dir, 60), 0);
    h_note("%lld reads, %lld writes, %lld readdirplus+readdir", h_op_count(h_cur_mount(), "read"),
           h_op_count(h_cur_mount(), "write"),
           h_op_count(h_cur_mount(), "readdirplus") + h_op_count(h_cur_mount(), "readdir"));
}

/* ------------------------------------------------------------------ */
/* random delays: data written in random pieces reads back intact      */

static void random_worker(int idx, void *arg)
{
    enum { FILE_MAX = 1 << 20, OPS = 120 };
    uint64_t seed = (uint64_t)idx * 104729 + 17;
    unsigned char *shadow = calloc(1, FILE_MAX), *got = malloc(FILE_MAX);
    size_t size = 0;
    char path[512];
    (void)arg;
    snprintf(path, sizeof path, "%s/r%d", h_root, idx);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || !shadow || !got) {
        ADD_FAILURE("open %s: %s", path, expect_errname(errno));
        goto out;
    }
    for (int op = 0; op < OPS; op++) {
        /* mostly small pieces, sometimes large ones */
        size_t max = h_rand_below(&seed, 4) ? 8192 : FILE_MAX / 2;
        size_t off = h_rand_below(&seed, FILE_MAX - 1);
        size_t len = 1 + h_rand_below(&seed, max);
        if (len > FILE_MAX - off)
            len = FILE_MAX - off;
        for (size_t i = 0; i < len; i++)
            shadow[off + i] = (unsigned char)h_rand(&seed);
        if (!EXPECT_EQ(pwrite(fd, shadow + off, len, (off_t)off), (ssize_t)len))
            break;
        if (off + len > size)
            size = off + len;
        /* a random piece back through the same descriptor */
        size_t roff = h_rand_below(&seed, size);
        size_t rlen = 1 + h_rand_below(&seed, size - roff);
        if (EXPECT_EQ(pread(fd, got, rlen, (off_t)roff), (ssize_t)rlen) &&
            !EXPECT_MEMEQ(got, shadow + roff, rlen))
            break;
        if (op % 30 == 29) {
            /* everything, from the daemon */
            int rfd = open(path, O_RDONLY);
            ssize_t n = rfd >= 0 ? pread(rfd, got, FILE_MAX, 0) : -1;
            if (rfd >= 0)
                close(rfd);
            if (!EXPECT_EQ(n, (ssize_t)size) || !EXPECT_MEMEQ(got, shadow, size))
                break;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    free(shadow);
    free(got);
}

static void random_delays_keep_randomly_written_data_intact(void)
{
    if (not_memfs())
        h_skip("slowio is memfs's");
    EXPECT_EQ(h_fork_workers(4, random_worker, NULL, 60), 0);
}

/* ------------------------------------------------------------------ */
/* interrupts                                                          */

static volatile sig_atomic_t alarms;

static void on_alarm(int signo)
{
    (void)signo;
    alarms++;
}

/* SIGALRM in @ms, with a handler that does not restart system calls. */
static void alarm_in_ms(int ms)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the call fails with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

/* The daemon's debug log, NUL-terminated (malloc'd). */
static char *read_log(void)
{
    const struct h_mount *m = h_cur_mount();
    static const size_t max = 8 << 20;
    char *buf = malloc(max);
    if (!buf)
        return NULL;
    ssize_t n = h_read_file(m->log, buf, max - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* How many lines of @log contain @needle. */
static int count_lines(const char *log, const char *needle)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* The unique of the request the log shows answered EINTR, or 0. */
static unsigned long long eintr_unique(const char *log, const char *opname)
{
    char needle[64];
    snprintf(needle, sizeof needle, " %s EINTR", opname);
    for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle)) {
        const char *arrow = p;
        while (arrow > log && arrow[-1] != '\n' && strncmp(arrow, "-> ", 3) != 0)
            arrow--;
        if (strncmp(arrow, "-> ", 3) == 0)
            return strtoull(arrow + 3, NULL, 10);
    }
    return 0;
}

/* After the late response: one reply line for the unique (the EINTR),
 * and the log line that says its response was dropped. */
static void expect_answered_once_and_dropped(const char *opname)
{
    char *log = read_log();
    ASSERT_TRUE(log != NULL);
    unsigned long long u = eintr_unique(log, opname);
    EXPECT_NE(u, 0);
    if (u) {
        char reply[64], dropped[96];
        snprintf(reply, sizeof reply, "-> %llu ", u);
        snprintf(dropped, sizeof dropped, "-- %llu %s: response after EINTR dropped", u, opname);
        EXPECT_EQ(count_lines(log, reply), 1);
        EXPECT_EQ(count_lines(log, dropped), 1);
    }
    free(log);
}

/* Wait (bounded) until the log says the late response came. */
static bool wait_for_log(const char *needle, double timeout_s)
{
    double end = h_now() + timeout_s;
    do {
        char *log = read_log();
        bool found = log && strstr(log, needle);
        free(log);
        if (found)
            return true;
        h_sleep(0.05);
    } while (h_now() < end);
    return false;
}

/* getdents pending for 2 s; a signal after 200 ms: EINTR at once, one
 * reply only, the late response dropped, the directory still works. */
static void interrupted_pending_readdir_fails_with_eintr_at_once(void)
{
    if (not_memfs())
        h_skip("slowio is memfs's");
    const char *dir = h_path("d");
    make_entries(dir, 10);
    pid_t daemon = h_cur_mount()->pid;
    int fd = ASSERT_OK(open(dir, O_RDONLY | O_DIRECTORY));
    char buf[8192];
    alarm_in_ms(200);
    double t0 = h_now();
    long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
    int e = errno;
    double took = h_now() - t0;
    EXPECT_EQ(r, -1);
    EXPECT_EQ(e, EINTR);
    EXPECT_EQ(alarms, 1);
    EXPECT_LT(took, 1.0); /* not the 2 s of the pending request */
    h_note("getdents interrupted after %.0f ms", took * 1000);

    /* The late response comes at 2 s and is dropped. */
    EXPECT_TRUE(wait_for_log("response after EINTR dropped", 5));
    EXPECT_OK(kill(daemon, 0));
    expect_answered_once_and_dropped("READDIRPLUS");

    /* The same open directory lists completely afterwards. */
    int count = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent64 { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            if (d->name[0] != '.')
                count++;
            off += d->reclen;
        }
    }
    EXPECT_EQ(n, 0);
    EXPECT_EQ(count, 10);
    EXPECT_OK(close(fd));
}

/* A buffered write pending for 2 s; a signal after 200 ms: EINTR at
 * once; the file stays usable, and closing it waits for nothing. */
static void interrupted_pending_write_fails_with_eintr_at_once(void)
{
    if (not_memfs())
        h_skip("slowio is memfs's");
    const char *p = h_path("f");
    pid_t daemon = h_cur_mount()->pid;
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    char data[SMALL];
    memset(data, 'w', sizeof data);
    alarm_in_ms(200);
    double t0 = h_now();
    ssize_t r = write(fd, data, sizeof data);
    int e = errno;
    double took = h_now() - t0;
    EXPECT_EQ(r, -1);
    EXPECT_EQ(e, EINTR);
    EXPECT_LT(took, 1.0);
    h_note("write interrupted after %.0f ms", took * 1000);

    EXPECT_TRUE(wait_for_log("response after EINTR dropped", 5));
    EXPECT_OK(kill(daemon, 0));
    expect_answered_once_and_dropped("WRITE");

    /* Later I/O on the same file works (each takes its 2 s). */
    EXPECT_EQ(pwrite(fd, "after", 5, 0), 5);
    char back[8] = { 0 };
    int rfd = ASSERT_OK(open(p, O_RDONLY | O_DIRECT));
    void *abuf = NULL;
    ASSERT_EQ(posix_memalign(&abuf, 4096, 4096), 0);
    EXPECT_GE(pread(rfd, abuf, 4096, 0), 5);
    memcpy(back, abuf, 5);
    EXPECT_STREQ(back, "after");
    free(abuf);
    EXPECT_OK(close(rfd));
    EXPECT_OK(close(fd));
}

/* ------------------------------------------------------------------ */
/* a large directory listed through pending READDIRs                   */

static void pending_readdir_lists_large_directory_once(void)
{
    enum { ENTRIES = 3000 };
    if (not_memfs())
        h_skip("slowio is memfs's");
    const char *dir = h_path("big");
    make_entries(dir, ENTRIES);
    for (int rep = 0; rep < 3; rep++) {
        static char seen[ENTRIES];
        int total = 0;
        memset(seen, 0, sizeof seen);
        DIR *d = opendir(dir);
        ASSERT_TRUE(d != NULL);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            int i;
            if (e->d_name[0] == '.')
                continue;
            if (sscanf(e->d_name, "e%d", &i) != 1 || i < 0 || i >= ENTRIES) {
                ADD_FAILURE("unexpected entry %s", e->d_name);
                continue;
            }
            if (seen[i]++)
                ADD_FAILURE("entry %s listed twice", e->d_name);
            total++;
        }
        closedir(d);
        EXPECT_EQ(total, ENTRIES);
    }
    /* and with ls, the way people look */
    struct h_proc *proc = calloc(1, sizeof *proc);
    ASSERT_TRUE(proc != NULL);
    int rc = h_runl(proc, 30, "/bin/sh", "-c", "ls -l \"$0\" | grep -c ' e[0-9]*$'", dir,
                    (char *)NULL);
    if (!EXPECT_EQ(rc, 0))
        h_note("ls: %s", proc->err);
    EXPECT_EQ(atoi(proc->out), ENTRIES);
    free(proc);
}

static const struct h_case cases[] = {
    H_CASE(pending_reads_do_not_hold_worker_threads,
           "threads=2,slowio_min_delay=100,slowio_max_delay=100", H_DAEMON),
    H_CASE_T(early_responses_under_load_keep_data_and_listings,
             "slowio_percent=100,slowio_max_delay=0", H_DAEMON, 120),
    H_CASE_T(random_delays_keep_randomly_written_data_intact,
             "slowio_percent=50,slowio_max_delay=5", H_DAEMON, 120),
    H_CASE(interrupted_pending_readdir_fails_with_eintr_at_once,
           "slowio_min_delay=2000,slowio_max_delay=2000", H_DAEMON | H_DEBUGLOG),
    H_CASE(interrupted_pending_write_fails_with_eintr_at_once,
           "slowio_min_delay=2000,slowio_max_delay=2000", H_DAEMON | H_DEBUGLOG),
    H_CASE_T(pending_readdir_lists_large_directory_once,
             "slowio_percent=100,slowio_max_delay=3", H_DAEMON, 120),
};

int main(int argc, char **argv)
{
    return h_main("async_io", argc, argv, cases, sizeof cases / sizeof *cases);
}
