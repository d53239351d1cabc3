/*
 * uring.c - the io_uring channel (-o io_uring): requests really flow
 * through the rings when the kernel allows it, the volume falls back to
 * /dev/fuse with one log line when it does not, pending requests complete
 * through ring entries, and a connection ended with entries still
 * registered (abort, SIGKILL) ends the daemon and the mount promptly.
 *
 * The cases flip the fuse module parameter enable_uring, which is global:
 * the suite runs alone (RUN_SERIAL) and main() puts the parameter back as
 * it found it.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENABLE_PARAM "/sys/module/fuse/parameters/enable_uring"
#define FILES 20
#define SIZE (256 * 1024)

static char saved_param = '\0';

static char read_param(void)
{
    char c = '\0';
    int fd = open(ENABLE_PARAM, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, &c, 1) != 1)
            c = '\0';
        close(fd);
    }
    return c;
}

static bool write_param(char value)
{
    int fd = open(ENABLE_PARAM, O_WRONLY | O_CLOEXEC);
    bool ok;

    if (fd < 0)
        return false;
    ok = write(fd, &value, 1) == 1;
    close(fd);
    return ok;
}

/* Set enable_uring for this case, or skip it where that is impossible. */
static void need_param(char value)
{
    if (h_dir_mode())
        h_skip("needs the daemon");
    if (read_param() == '\0')
        h_skip("no %s: this kernel's FUSE has no io_uring", ENABLE_PARAM);
    if (!write_param(value))
        h_skip("cannot write %s (needs root): %s", ENABLE_PARAM,
               expect_errname(errno));
}

static void expect_channel(const struct h_mount *m, const char *want)
{
    char channel[32] = "", probe[512];
    struct stat st;

    /* A LOOKUP waits for INIT, which decides the channel. */
    snprintf(probe, sizeof probe, "%s/.probe", m->mnt);
    EXPECT_ERRNO(stat(probe, &st), ENOENT);
    pid_t pid = h_lsvol_pid_wait(m->mnt, NULL, 0, channel, sizeof channel,
                                 NULL, 5);

    EXPECT_NE(pid, 0);
    EXPECT_STREQ(channel, want);
}

static unsigned char pattern(int idx, size_t i)
{
    return (unsigned char)(idx * 13 + i * 5 + (i >> 10));
}

/* Write FILES files of SIZE bytes and read them back (buffered and
 * O_DIRECT, which always reaches the daemon). */
static void write_and_check_files(const char *dir)
{
    static unsigned char buf[SIZE], back[SIZE];
    void *direct = NULL;

    ASSERT_EQ(posix_memalign(&direct, 4096, SIZE), 0);
    for (int f = 0; f < FILES; f++) {
        char path[512];

        snprintf(path, sizeof path, "%s/f%02d", dir, f);
        for (size_t i = 0; i < SIZE; i++)
            buf[i] = pattern(f, i);
        EXPECT_TRUE(h_write_file(path, buf, SIZE, 0644));
        EXPECT_EQ(h_read_file(path, back, SIZE), SIZE);
        EXPECT_MEMEQ(back, buf, SIZE);
        int fd = EXPECT_OK(open(path, O_RDONLY | O_DIRECT));
        if (fd >= 0) {
            EXPECT_EQ(pread(fd, direct, SIZE, 0), SIZE);
            EXPECT_MEMEQ(direct, buf, SIZE);
            close(fd);
        }
    }
    free(direct);
}

static size_t count_occurrences(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p;
         p = strstr(p + strlen(needle), needle))
        n++;
    return n;
}

/* ------------------------------------------------------------------ */

static void io_uring_volume_serves_requests_through_its_rings(void)
{
    struct h_mount m;

    need_param('Y');
    ASSERT_TRUE(h_mount(&m, "io_uring", 0));
    expect_channel(&m, "io_uring");
    write_and_check_files(m.mnt);
    /* Every create, write and O_DIRECT read is a request; all of them
     * came through a ring (only FORGET and INTERRUPT use /dev/fuse). */
    long long ring = h_fsptool_stat(m.mnt, "ring_requests");
    h_note("%lld requests through the rings", ring);
    EXPECT_GE(ring, 3 * FILES);
    int st;
    EXPECT_TRUE(h_unmount(&m, &st));
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void io_uring_refused_by_the_kernel_falls_back_to_dev_with_one_log_line(void)
{
    struct h_mount m;
    static char log[65536];

    need_param('N');
    ASSERT_TRUE(h_mount(&m, "io_uring", 0));
    expect_channel(&m, "dev");
    write_and_check_files(m.mnt);
    EXPECT_EQ(h_fsptool_stat(m.mnt, "ring_requests"), 0);
    /* The line is written at the start; the log goes with the mount. */
    ssize_t n = h_read_file(m.log, log, sizeof log - 1);
    log[n > 0 ? n : 0] = '\0';
    int st;
    EXPECT_TRUE(h_unmount(&m, &st));
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ASSERT_GE(n, 0);
    /* One line, saying why and how to enable it. */
    EXPECT_EQ(count_occurrences(log, "io_uring requested"), 1);
    EXPECT_EQ(count_occurrences(log, ENABLE_PARAM " is N"), 1);
    EXPECT_EQ(count_occurrences(log, "echo Y > " ENABLE_PARAM), 1);
    EXPECT_EQ(count_occurrences(log, "serving on /dev/fuse"), 1);
}

static void dev_volume_is_not_moved_to_the_rings_when_the_kernel_allows_them(void)
{
    struct h_mount m;

    need_param('Y');
    /* io_uring is asked for by the volume, not imposed by the kernel. */
    if (getenv("FSP_TEST_FS_OPTS") && strstr(getenv("FSP_TEST_FS_OPTS"), "io_uring"))
        h_skip("FSP_TEST_FS_OPTS asks for io_uring on every mount");
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    expect_channel(&m, "dev");
    write_and_check_files(m.mnt);
    EXPECT_EQ(h_fsptool_stat(m.mnt, "ring_requests"), 0);
    EXPECT_TRUE(h_unmount(&m, NULL));
}

static void pending_requests_complete_through_the_rings(void)
{
    struct h_mount m;

    need_param('Y');
    /* Every read, write and listing answered later by memfs's slowio
     * thread, and thus committed into its ring entry from that thread. */
    ASSERT_TRUE(h_mount(&m, "io_uring,slowio_percent=100,slowio_max_delay=3", 0));
    expect_channel(&m, "io_uring");
    write_and_check_files(m.mnt);
    DIR *d = opendir(m.mnt);
    ASSERT_TRUE(d != NULL);
    int names = 0;
    for (struct dirent *de; (de = readdir(d));)
        names += de->d_name[0] == 'f';
    closedir(d);
    EXPECT_EQ(names, FILES);
    EXPECT_GE(h_fsptool_stat(m.mnt, "ring_requests"), 3 * FILES);
    EXPECT_EQ(h_fsptool_stat(m.mnt, "pending"), 0);
    EXPECT_TRUE(h_unmount(&m, NULL));
}

/* A child that reads with O_DIRECT (answered after slowio's delay) and
 * reports the errno it got (0: success) through its exit status. */
static pid_t start_slow_read(const char *path)
{
    pid_t pid = fork();

    if (pid == 0) {
        void *buf = NULL;
        int fd = open(path, O_RDONLY | O_DIRECT);

        if (fd < 0 || posix_memalign(&buf, 4096, 4096))
            _exit(100);
        ssize_t n = pread(fd, buf, 4096, 0);
        _exit(n < 0 ? (errno & 0x7f) : 0);
    }
    return pid;
}

static void abort_with_a_request_pending_in_a_ring_entry_ends_the_daemon(void)
{
    struct h_mount m;

    need_param('Y');
    ASSERT_TRUE(h_mount(&m, "io_uring,slowio_percent=100,slowio_min_delay=3000,"
                        "slowio_max_delay=3000", 0));
    expect_channel(&m, "io_uring");
    char path[512];
    snprintf(path, sizeof path, "%s/slow", m.mnt);
    /* The write is pending 3 s too; the read then waits in its entry. */
    EXPECT_TRUE(h_write_file(path, "data", 4, 0644));
    pid_t reader = start_slow_read(path);
    ASSERT_GE(reader, 1);
    h_sleep(0.5);
    double t0 = h_now();
    EXPECT_TRUE(h_abort_connection(m.dev_minor));
    int st;
    EXPECT_NE(h_waitpid_timeout(reader, &st, 2), 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    /* The daemon sees the connection end on /dev/fuse and on the rings. */
    bool gone = h_wait_gone(m.pid, 2);
    EXPECT_TRUE(gone);
    h_note("daemon gone %.3f s after the abort", h_now() - t0);
    h_unmount(&m, NULL);
}

static void sigkill_with_registered_ring_entries_removes_the_mount(void)
{
    struct h_mount m;
    struct h_mountinfo mi;

    need_param('Y');
    ASSERT_TRUE(h_mount(&m, "io_uring", 0));
    expect_channel(&m, "io_uring");
    char path[512];
    snprintf(path, sizeof path, "%s/x", m.mnt);
    EXPECT_TRUE(h_write_file(path, "x", 1, 0644));
    double t0 = h_now();
    EXPECT_OK(kill(m.pid, SIGKILL));
    while (h_mountinfo_find(m.mnt, &mi) && h_now() - t0 < 3)
        h_sleep(0.005);
    EXPECT_FALSE(h_mountinfo_find(m.mnt, &mi));
    EXPECT_LE(h_now() - t0, 2.0);
    int st;
    h_waitpid_timeout(m.pid, &st, 2);
    m.pid = 0;
    h_unmount(&m, NULL);
}

static const struct h_case cases[] = {
    H_CASE(io_uring_volume_serves_requests_through_its_rings, NULL,
           H_DAEMON | H_NOMOUNT | H_MEMFS_ONLY),
    H_CASE(io_uring_refused_by_the_kernel_falls_back_to_dev_with_one_log_line,
           NULL, H_DAEMON | H_NOMOUNT | H_MEMFS_ONLY),
    H_CASE(dev_volume_is_not_moved_to_the_rings_when_the_kernel_allows_them,
           NULL, H_DAEMON | H_NOMOUNT | H_MEMFS_ONLY),
    H_CASE(pending_requests_complete_through_the_rings, NULL,
           H_DAEMON | H_NOMOUNT | H_MEMFS_ONLY),
    H_CASE(abort_with_a_request_pending_in_a_ring_entry_ends_the_daemon, NULL,
           H_DAEMON | H_NOMOUNT | H_MEMFS_ONLY),
    H_CASE(sigkill_with_registered_ring_entries_removes_the_mount, NULL,
           H_DAEMON | H_NOMOUNT | H_MEMFS_ONLY),
};

int main(int argc, char **argv)
{
    int rc;

    saved_param = read_param();
    rc = h_main("uring", argc, argv, cases, sizeof cases / sizeof *cases);
    if (saved_param && read_param() != saved_param)
        write_param(saved_param);
    return rc;
}
