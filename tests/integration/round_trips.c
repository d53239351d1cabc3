/*
 * round_trips.c - the requests fsp spares the kernel, counted: each case
 * does N operations on memfs and checks the per-opcode counters of
 * `fsptool stat` before and after, and that the operations still did
 * what they should (data, sizes, listings).
 *
 * memfs keeps one file context per file (per_file_context), so after the
 * first OPEN (answered ENOSYS) the kernel sends no OPEN, OPENDIR, RELEASE
 * or RELEASEDIR; -o open_handles brings back a handle per open(2).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

enum { N = 100 };

/* The count of @op, after the kernel's asynchronous requests (RELEASE
 * after close, FORGET) had time to arrive. */
static long long count(const char *op)
{
    long long c;

    h_sleep(0.2);
    c = h_op_count(h_cur_mount(), op);
    if (c < 0)
        h_skip("fsptool stat shows no per-opcode counts");
    return c;
}

static void open_close_n_times(const char *path, int flags)
{
    for (int i = 0; i < N; i++) {
        int fd = EXPECT_OK(open(path, flags));
        if (fd >= 0)
            close(fd);
    }
}

static void open_and_close_send_no_open_release_or_flush(void)
{
    char buf[8] = "";
    ASSERT_TRUE(h_write_file(h_path("f"), "content", 7, 0644));
    long long open0 = count("open"), rel0 = count("release"),
              flush0 = count("flush");
    open_close_n_times(h_path("f"), O_RDONLY);
    open_close_n_times(h_path("f"), O_RDWR);
    long long opens = count("open") - open0, releases = count("release") - rel0,
              flushes = count("flush") - flush0;
    h_note("%d opens and closes: %lld OPEN, %lld RELEASE, %lld FLUSH", 2 * N, opens,
           releases, flushes);
    /* at most the first OPEN and FLUSH, answered ENOSYS */
    EXPECT_LE(opens, 1);
    EXPECT_EQ(releases, 0);
    EXPECT_LE(flushes, 1);
    /* and the file reads as it should through a handle-less open */
    EXPECT_EQ(h_read_file(h_path("f"), buf, sizeof buf), 7);
    EXPECT_MEMEQ(buf, "content", 7);
}

static void open_handles_sends_open_and_release_per_open(void)
{
    ASSERT_TRUE(h_write_file(h_path("f"), "content", 7, 0644));
    long long open0 = count("open"), rel0 = count("release"),
              flush0 = count("flush");
    open_close_n_times(h_path("f"), O_RDONLY);
    long long opens = count("open") - open0, releases = count("release") - rel0,
              flushes = count("flush") - flush0;
    h_note("open_handles, %d opens and closes: %lld OPEN, %lld RELEASE, %lld FLUSH", N,
           opens, releases, flushes);
    EXPECT_EQ(opens, N);
    EXPECT_EQ(releases, N);
    EXPECT_EQ(flushes, 0); /* FOPEN_NOFLUSH */
}

static void served_locks_cost_a_flush_per_close(void)
{
    ASSERT_TRUE(h_write_file(h_path("f"), "content", 7, 0644));
    long long flush0 = count("flush");
    open_close_n_times(h_path("f"), O_RDONLY);
    long long flushes = count("flush") - flush0;
    h_note("locks served, %d opens and closes: %lld FLUSH", N, flushes);
    /* the unlock of the closing process's locks (docs/SEMANTICS.md) */
    EXPECT_EQ(flushes, N);
}

static void opendir_and_listing_send_no_opendir_or_releasedir(void)
{
    for (int i = 0; i < 10; i++)
        ASSERT_TRUE(h_write_file(h_path("e%d", i), "x", 1, 0644));
    long long od0 = count("opendir"), rd0 = count("releasedir");
    for (int i = 0; i < N; i++) {
        DIR *d = opendir(h_root);
        int names = 0;
        ASSERT_TRUE(d != NULL);
        while (readdir(d))
            names++;
        closedir(d);
        EXPECT_EQ(names, 12); /* ten files, "." and ".." */
    }
    long long opendirs = count("opendir") - od0, releasedirs = count("releasedir") - rd0;
    h_note("%d listings: %lld OPENDIR, %lld RELEASEDIR", N, opendirs, releasedirs);
    EXPECT_LE(opendirs, 1);
    EXPECT_EQ(releasedirs, 0);
}

static void o_trunc_without_open_truncates_through_setattr(void)
{
    char buf[16];
    struct stat st;
    ASSERT_TRUE(h_write_file(h_path("f"), "0123456789", 10, 0644));
    long long setattr0 = count("setattr");
    for (int i = 0; i < N; i++) {
        int fd = EXPECT_OK(open(h_path("f"), O_WRONLY | O_TRUNC));
        if (fd < 0)
            break;
        EXPECT_EQ(write(fd, "ab", 2), 2);
        close(fd);
    }
    long long setattrs = count("setattr") - setattr0;
    h_note("%d open(O_TRUNC) calls: %lld SETATTR", N, setattrs);
    EXPECT_EQ(setattrs, N); /* the truncation itself, no OPEN around it */
    ASSERT_OK(stat(h_path("f"), &st));
    EXPECT_EQ(st.st_size, 2);
    EXPECT_EQ(h_read_file(h_path("f"), buf, sizeof buf), 2);
    EXPECT_MEMEQ(buf, "ab", 2);
}

static void o_append_without_open_appends_at_the_end(void)
{
    char buf[32];
    ASSERT_TRUE(h_write_file(h_path("f"), "start", 5, 0644));
    int a = ASSERT_OK(open(h_path("f"), O_WRONLY | O_APPEND));
    int b = ASSERT_OK(open(h_path("f"), O_WRONLY | O_APPEND));
    EXPECT_EQ(write(a, "-a", 2), 2);
    EXPECT_EQ(write(b, "-b", 2), 2);
    EXPECT_EQ(write(a, "-c", 2), 2);
    close(a);
    close(b);
    EXPECT_EQ(h_read_file(h_path("f"), buf, sizeof buf), 11);
    EXPECT_MEMEQ(buf, "start-a-b-c", 11);
}

static void writeback_cache_close_flushes_once_then_never(void)
{
    char buf[8];
    long long flush0 = count("flush");
    for (int i = 0; i < N; i++)
        ASSERT_TRUE(h_write_file(h_path("f%d", i), "written", 7, 0644));
    long long flushes = count("flush") - flush0;
    h_note("writeback_cache, %d files written and closed: %lld FLUSH", N, flushes);
    EXPECT_LE(flushes, 1); /* ENOSYS once: the kernel stops asking */
    for (int i = 0; i < N; i += 17) {
        EXPECT_EQ(h_read_file(h_path("f%d", i), buf, sizeof buf), 7);
        EXPECT_MEMEQ(buf, "written", 7);
    }
}

/* per_file_context: creates go through MKNOD (CREATE is answered ENOSYS
 * once), so no RELEASE follows their close; the files work as usual. */
static void creates_send_mknod_and_no_release(void)
{
    char buf[8] = "";
    long long mknod0 = count("mknod"), create0 = count("create"),
              rel0 = count("release");

    for (int i = 0; i < N; i++) {
        int fd = EXPECT_OK(open(h_path("f%d", i), O_WRONLY | O_CREAT | O_EXCL,
                                0644));
        if (fd < 0)
            continue;
        EXPECT_EQ(write(fd, "data", 4), 4);
        close(fd);
    }
    long long mknods = count("mknod") - mknod0,
              creates = count("create") - create0,
              releases = count("release") - rel0;
    h_note("%d creates: %lld MKNOD, %lld CREATE, %lld RELEASE", N, mknods,
           creates, releases);
    EXPECT_EQ(mknods, N);
    EXPECT_LE(creates, 1); /* the first, answered ENOSYS */
    EXPECT_EQ(releases, 0);
    EXPECT_EQ(h_read_file(h_path("f7"), buf, sizeof buf), 4);
    EXPECT_ERRNO(open(h_path("f7"), O_WRONLY | O_CREAT | O_EXCL, 0644),
                 EEXIST);
}

static const struct h_case cases[] = {
    H_CASE(open_and_close_send_no_open_release_or_flush, NULL, H_DAEMON | H_MEMFS_ONLY),
    H_CASE(creates_send_mknod_and_no_release, NULL, H_DAEMON | H_MEMFS_ONLY),
    /* kernel_locks: memfs's lock table would ask for a FLUSH per close */
    H_CASE(open_handles_sends_open_and_release_per_open,
           "open_handles,kernel_locks", H_DAEMON | H_MEMFS_ONLY),
    H_CASE(served_locks_cost_a_flush_per_close, "open_handles",
           H_DAEMON | H_MEMFS_ONLY),
    H_CASE(opendir_and_listing_send_no_opendir_or_releasedir, NULL, H_DAEMON | H_MEMFS_ONLY),
    H_CASE(o_trunc_without_open_truncates_through_setattr, NULL, H_DAEMON | H_MEMFS_ONLY),
    H_CASE(o_append_without_open_appends_at_the_end, NULL, H_DAEMON | H_MEMFS_ONLY),
    H_CASE(writeback_cache_close_flushes_once_then_never,
           "writeback_cache,open_handles,kernel_locks", H_DAEMON | H_MEMFS_ONLY),
};

int main(int argc, char **argv)
{
    return h_main("round_trips", argc, argv, cases, sizeof cases / sizeof *cases);
}
