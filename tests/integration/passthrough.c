/*
 * passthrough.c - kernel passthrough in ptfs: the kernel reads, writes and
 * maps regular files of SOURCE itself (FUSE_PASSTHROUGH), so the volume's
 * READ and WRITE counters stay at 0 while the bytes, sizes and times seen
 * through the mount are right; redirection holds; and a ptfs without
 * CAP_SYS_ADMIN in the initial user namespace serves I/O itself, saying so
 * once in its log.
 *
 * The suite always runs ptfs, with passthrough unless a case asks for
 * no_passthrough: FSP_TEST_FS and FSP_TEST_FS_OPTS are set in main().
 */
#define _GNU_SOURCE
#include "harness.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* The case's volume: g_mnt is the mount point, g_src its SOURCE. The
 * runner mounts ptfs for most cases (over MNT.src); the redirection and
 * fallback cases fill SOURCE first and mount by themselves. */
static const struct h_mount *g_m;
static char g_mnt[300], g_src[320];

static const char *path_in(const char *base, const char *rel)
{
    static char bufs[8][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, PATH_MAX, "%s/%s", base, rel);
    return b;
}

static const char *src_path(const char *rel) { return path_in(g_src, rel); }
static const char *mnt_path(const char *rel) { return path_in(g_mnt, rel); }

/* Passthrough needs Linux 6.9, and mmap through it 6.10. */
static void require_passthrough_kernel(void)
{
    struct utsname u;
    int major = 0, minor = 0;

    if (uname(&u) == 0)
        sscanf(u.release, "%d.%d", &major, &minor);
    if (major < 6 || (major == 6 && minor < 10))
        h_skip("kernel %s has no FUSE passthrough with mmap (6.10+)",
               u.release);
}

/* The runner's mount and its SOURCE. */
static void use_runner_mount(void)
{
    require_passthrough_kernel();
    g_m = h_cur_mount();
    ASSERT_TRUE(g_m != NULL);
    snprintf(g_mnt, sizeof g_mnt, "%s", g_m->mnt);
    snprintf(g_src, sizeof g_src, "%s.src", g_m->mnt);
}

/* For a case that mounts by itself: a fresh mount point (0755, under
 * /tmp) and an empty SOURCE beside it, MNT.src, as the harness names it. */
static void make_empty_source(void)
{
    require_passthrough_kernel();
    snprintf(g_mnt, sizeof g_mnt, "/tmp/fsptest.XXXXXX");
    if (!mkdtemp(g_mnt)) {
        ADD_FAILURE("mkdtemp: %s", expect_errname(errno));
        expect_abort_case();
    }
    chmod(g_mnt, 0755);
    snprintf(g_src, sizeof g_src, "%s.src", g_mnt);
    ASSERT_OK(mkdir(g_src, 0755));
}

/* A byte pattern that differs at every offset of a page and between
 * seeds. */
static void fill(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 31 + seed + (i >> 12));
}

static void write_source_file(const char *rel, size_t size, unsigned seed)
{
    unsigned char *buf = malloc(size ? size : 1);

    ASSERT_TRUE(buf != NULL);
    fill(buf, size, seed);
    if (!h_write_file(src_path(rel), buf, size, 0644))
        ADD_FAILURE("cannot write %s: %s", src_path(rel), expect_errname(errno));
    free(buf);
}

/* The file at @path holds exactly @size bytes of fill(seed). */
static void expect_content(const char *path, size_t size, unsigned seed)
{
    unsigned char *want = malloc(size + 1), *got = malloc(size + 1);

    ASSERT_TRUE(want && got);
    fill(want, size, seed);
    EXPECT_EQ(h_read_file(path, got, size + 1), (ssize_t)size);
    EXPECT_MEMEQ(got, want, size);
    free(want);
    free(got);
}

static long long reads(void) { return h_op_count(g_m, "READ"); }
static long long writes(void) { return h_op_count(g_m, "WRITE"); }

static void read_and_write_bypass_the_daemon_with_the_right_bytes(void)
{
    enum { SIZE = 3 << 20 };
    unsigned char *buf = malloc(SIZE);

    ASSERT_TRUE(buf != NULL);
    use_runner_mount();
    write_source_file("old.bin", SIZE, 1);
    /* reads of a file written in SOURCE, by pages and in one piece */
    expect_content(mnt_path("old.bin"), SIZE, 1);
    unsigned char page[4096], want[8192 + 4096];
    int fd = ASSERT_OK(open(mnt_path("old.bin"), O_RDONLY));
    EXPECT_EQ(pread(fd, page, sizeof page, 8192), 4096);
    close(fd);
    fill(want, sizeof want, 1);
    EXPECT_MEMEQ(page, want + 8192, sizeof page);
    /* a new file written through the mount lands in SOURCE */
    fill(buf, SIZE, 2);
    fd = ASSERT_OK(open(mnt_path("new.bin"), O_CREAT | O_WRONLY, 0644));
    EXPECT_EQ(write(fd, buf, SIZE), SIZE);
    EXPECT_OK(close(fd));
    expect_content(src_path("new.bin"), SIZE, 2);
    expect_content(mnt_path("new.bin"), SIZE, 2);
    EXPECT_EQ(reads(), 0);
    EXPECT_EQ(writes(), 0);
    free(buf);
}

static void no_passthrough_sends_reads_and_writes_to_ptfs(void)
{
    use_runner_mount();
    write_source_file("old.bin", 65536, 3);
    expect_content(mnt_path("old.bin"), 65536, 3);
    int fd = ASSERT_OK(open(mnt_path("old.bin"), O_WRONLY));
    EXPECT_EQ(pwrite(fd, "x", 1, 0), 1);
    close(fd);
    EXPECT_GT(reads(), 0);
    EXPECT_GT(writes(), 0);
}

static void write_then_stat_shows_new_size_and_mtime(void)
{
    struct stat before, after, by_path, in_source;
    char buf[10000];

    use_runner_mount();
    write_source_file("f", 100, 4);
    int fd = ASSERT_OK(open(mnt_path("f"), O_RDWR));
    ASSERT_OK(fstat(fd, &before));
    EXPECT_EQ(before.st_size, 100);
    h_sleep(0.02); /* mtime has nanoseconds, but the clock ticks coarser */
    memset(buf, 'a', sizeof buf);
    EXPECT_EQ(pwrite(fd, buf, sizeof buf, 5000), (ssize_t)sizeof buf);
    ASSERT_OK(fstat(fd, &after));
    EXPECT_EQ(after.st_size, 15000);
    EXPECT_TRUE(after.st_mtim.tv_sec > before.st_mtim.tv_sec ||
                (after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                 after.st_mtim.tv_nsec > before.st_mtim.tv_nsec));
    ASSERT_OK(stat(mnt_path("f"), &by_path));
    ASSERT_OK(stat(src_path("f"), &in_source));
    EXPECT_EQ(by_path.st_size, 15000);
    EXPECT_EQ(by_path.st_mtim.tv_sec, in_source.st_mtim.tv_sec);
    EXPECT_EQ(by_path.st_mtim.tv_nsec, in_source.st_mtim.tv_nsec);
    /* an append grows it again, from the size the kernel knows */
    close(fd);
    fd = ASSERT_OK(open(mnt_path("f"), O_WRONLY | O_APPEND));
    EXPECT_EQ(write(fd, "tail", 4), 4);
    close(fd);
    ASSERT_OK(stat(mnt_path("f"), &by_path));
    EXPECT_EQ(by_path.st_size, 15004);
    EXPECT_EQ(writes(), 0);
}

static void mmap_read_and_write_reach_the_backing_file(void)
{
    enum { SIZE = 5 * 4096 };
    unsigned char want[SIZE];

    use_runner_mount();
    write_source_file("m", SIZE, 5);
    int fd = ASSERT_OK(open(mnt_path("m"), O_RDWR));
    unsigned char *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                              fd, 0);
    ASSERT_TRUE(map != MAP_FAILED);
    fill(want, SIZE, 5);
    EXPECT_MEMEQ(map, want, SIZE);
    memcpy(map + 4096, "mapped write", 12);
    EXPECT_OK(msync(map, SIZE, MS_SYNC));
    munmap(map, SIZE);
    close(fd);
    memcpy(want + 4096, "mapped write", 12);
    unsigned char got[SIZE];
    EXPECT_EQ(h_read_file(src_path("m"), got, sizeof got), SIZE);
    EXPECT_MEMEQ(got, want, SIZE);
    EXPECT_EQ(reads(), 0);
    EXPECT_EQ(writes(), 0);
}

static void o_direct_reads_and_writes_go_to_the_backing_file(void)
{
    enum { SIZE = 65536 };
    void *out = NULL, *in = NULL;

    use_runner_mount();
    ASSERT_EQ(posix_memalign(&out, 4096, SIZE), 0);
    ASSERT_EQ(posix_memalign(&in, 4096, SIZE), 0);
    fill(out, SIZE, 6);
    int fd = open(mnt_path("d"), O_CREAT | O_RDWR | O_DIRECT, 0644);
    if (fd < 0 && errno == EINVAL)
        h_skip("O_DIRECT not supported under %s", g_src);
    ASSERT_OK(fd);
    EXPECT_EQ(pwrite(fd, out, SIZE, 0), SIZE);
    EXPECT_EQ(pread(fd, in, SIZE, 0), SIZE);
    EXPECT_MEMEQ(in, out, SIZE);
    close(fd);
    expect_content(src_path("d"), SIZE, 6);
    EXPECT_EQ(reads(), 0);
    EXPECT_EQ(writes(), 0);
    free(out);
    free(in);
}

/* Worker of the concurrent case: open, read, close, many times. */
static void open_read_close_loop(int idx, void *arg)
{
    char buf[64];

    (void)idx;
    for (int i = 0; i < 200; i++) {
        int fd = open((const char *)arg, i % 2 ? O_RDONLY : O_RDWR);
        if (fd < 0) {
            ADD_FAILURE("open #%d: %s", i, expect_errname(errno));
            return;
        }
        if (pread(fd, buf, 5, 0) != 5 || memcmp(buf, "first", 5) != 0)
            ADD_FAILURE("read #%d: wrong bytes", i);
        close(fd);
    }
}

static void concurrent_opens_of_one_file_share_its_backing_file(void)
{
    char buf[16];

    use_runner_mount();
    int a = ASSERT_OK(open(mnt_path("s"), O_CREAT | O_RDWR, 0644));
    int b = ASSERT_OK(open(mnt_path("s"), O_RDONLY));
    EXPECT_EQ(write(a, "first", 5), 5);
    EXPECT_EQ(pread(b, buf, 5, 0), 5);
    EXPECT_MEMEQ(buf, "first", 5);
    /* the first open goes; a third comes while the second stays */
    close(a);
    int c = ASSERT_OK(open(mnt_path("s"), O_WRONLY));
    EXPECT_EQ(pwrite(c, "!", 1, 5), 1);
    EXPECT_EQ(pread(b, buf, 6, 0), 6);
    EXPECT_MEMEQ(buf, "first!", 6);
    close(b);
    close(c);
    /* all closed: a new open registers the file anew */
    int d = ASSERT_OK(open(mnt_path("s"), O_RDONLY));
    EXPECT_EQ(read(d, buf, 6), 6);
    close(d);
    /* many processes opening and closing it at once never see EIO */
    EXPECT_EQ(h_fork_workers(4, open_read_close_loop,
                             (void *)mnt_path("s"), 60), 0);
    EXPECT_EQ(reads(), 0);
    EXPECT_EQ(writes(), 0);
}

static void redirected_file_through_passthrough_lands_in_real(void)
{
    struct h_mount m;

    make_empty_source();
    ASSERT_OK(mkdir(src_path("releases"), 0755));
    if (!h_write_file(src_path("releases/real.txt"), "real\n", 5, 0644) ||
        !h_write_file(src_path("virtual.txt"), "hidden\n", 7, 0644))
        ADD_FAILURE("cannot fill SOURCE: %s", expect_errname(errno));
    if (!h_mount_at(&m, g_mnt, "redirect=virtual.txt:releases/real.txt", 0))
        expect_abort_case();
    g_m = &m;
    char buf[64] = "";
    EXPECT_EQ(h_read_file(mnt_path("virtual.txt"), buf, sizeof buf - 1), 5);
    EXPECT_STREQ(buf, "real\n");
    int fd = ASSERT_OK(open(mnt_path("virtual.txt"), O_WRONLY | O_APPEND));
    EXPECT_EQ(write(fd, "more\n", 5), 5);
    close(fd);
    fd = ASSERT_OK(open(mnt_path("virtual.txt"), O_RDWR));
    char *map = mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_TRUE(map != MAP_FAILED);
    memcpy(map, "REAL", 4);
    EXPECT_OK(msync(map, 10, MS_SYNC));
    munmap(map, 10);
    close(fd);
    memset(buf, 0, sizeof buf);
    EXPECT_EQ(h_read_file(src_path("releases/real.txt"), buf, sizeof buf - 1),
              10);
    EXPECT_STREQ(buf, "REAL\nmore\n");
    memset(buf, 0, sizeof buf);
    EXPECT_EQ(h_read_file(src_path("virtual.txt"), buf, sizeof buf - 1), 7);
    EXPECT_STREQ(buf, "hidden\n");
    EXPECT_EQ(reads(), 0);
    EXPECT_EQ(writes(), 0);
    EXPECT_TRUE(h_unmount(&m, NULL));
    rmdir(g_mnt);
    h_rm_rf(g_src);
}

static void truncate_while_open_shows_new_size_and_data(void)
{
    struct stat st;
    char buf[64];

    use_runner_mount();
    write_source_file("t", 8192, 7);
    int fd = ASSERT_OK(open(mnt_path("t"), O_RDWR));
    EXPECT_OK(ftruncate(fd, 100));
    ASSERT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 100);
    EXPECT_EQ(pread(fd, buf, sizeof buf, 90), 10);
    /* by path, while the file stays open */
    EXPECT_OK(truncate(mnt_path("t"), 0));
    ASSERT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 0);
    EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 0);
    /* a write past the end leaves a hole of zeros */
    EXPECT_EQ(pwrite(fd, "end", 3, 10), 3);
    ASSERT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 13);
    EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 13);
    EXPECT_MEMEQ(buf, "\0\0\0\0\0\0\0\0\0\0end", 13);
    close(fd);
    ASSERT_OK(stat(src_path("t"), &st));
    EXPECT_EQ(st.st_size, 13);
    EXPECT_EQ(writes(), 0);
}

/* As the file's owner (not root): a write, then an O_TRUNC open. */
static void write_as_owner(void *arg)
{
    (void)arg;
    int fd = open(mnt_path("suid"), O_WRONLY);
    EXPECT_OK(fd);
    EXPECT_EQ(pwrite(fd, "x", 1, 0), 1);
    close(fd);
}

static void truncate_open_as_owner(void *arg)
{
    (void)arg;
    int fd = open(mnt_path("sgid"), O_WRONLY | O_TRUNC);
    EXPECT_OK(fd);
    close(fd);
}

static void write_by_a_user_clears_set_user_id_and_set_group_id(void)
{
    enum { UID = 12345, GID = 12345 };
    struct stat st;

    use_runner_mount();
    h_make_traversable(g_src);
    write_source_file("suid", 100, 8);
    write_source_file("sgid", 100, 9);
    ASSERT_OK(chown(src_path("suid"), UID, GID));
    ASSERT_OK(chown(src_path("sgid"), UID, GID));
    ASSERT_OK(chmod(src_path("suid"), 04755));
    ASSERT_OK(chmod(src_path("sgid"), 02775));
    EXPECT_EQ(h_as_user(UID, GID, write_as_owner, NULL), 0);
    ASSERT_OK(stat(src_path("suid"), &st));
    EXPECT_EQ(st.st_mode & 07777, 0755);
    EXPECT_EQ(h_as_user(UID, GID, truncate_open_as_owner, NULL), 0);
    ASSERT_OK(stat(src_path("sgid"), &st));
    EXPECT_EQ(st.st_mode & 07777, 0775);
    EXPECT_EQ(st.st_size, 0);
    /* a set-user-ID file is opened without passthrough, so that its write
     * comes to ptfs, flagged to clear the bits */
    EXPECT_EQ(writes(), 1);
}

/* ---- the fallback: no CAP_SYS_ADMIN in the initial user namespace ----
 *
 * As root, ptfs mounts with mount(2), which needs CAP_SYS_ADMIN, and an
 * ordinary user needs /dev/fuse open to all. A user namespace gives both:
 * ptfs runs as root of a new user and mount namespace (unshare(1)), so it
 * can mount FUSE there, but it has no CAP_SYS_ADMIN in the initial user
 * namespace, which is what registering a backing file asks for. The mount
 * lives in that namespace only, and goes with ptfs; the case reaches it
 * from a child that joins the namespace (setns). */

/* Whether /proc/PID/mountinfo shows a FUSE mount on @mnt. */
static bool mounted_in_ns_of(pid_t pid, const char *mnt)
{
    char path[64], line[4096], needle[512];
    bool found = false;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)pid);
    snprintf(needle, sizeof needle, " %s ", mnt);
    f = fopen(path, "r");
    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) && strstr(line, " - fuse");
    fclose(f);
    return found;
}

struct in_ns_io {
    pid_t daemon;
    const char *mnt;
};

/* In a child: join the daemon's mount namespace, read and write. */
static void io_in_daemon_ns(void *arg)
{
    const struct in_ns_io *io = arg;
    char path[64], buf[64] = "";

    snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)io->daemon);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNS) != 0) {
        ADD_FAILURE("cannot join the mount namespace of %d: %s", (int)io->daemon,
                    expect_errname(errno));
        return;
    }
    close(ns);
    EXPECT_EQ(h_read_file(path_in(io->mnt, "f"), buf, sizeof buf - 1), 6);
    EXPECT_STREQ(buf, "hello\n");
    int fd = open(path_in(io->mnt, "f"), O_WRONLY | O_APPEND);
    EXPECT_OK(fd);
    EXPECT_EQ(write(fd, "again\n", 6), 6);
    close(fd);
    fd = open(path_in(io->mnt, "g"), O_CREAT | O_WRONLY, 0644);
    EXPECT_OK(fd);
    EXPECT_EQ(write(fd, "new\n", 4), 4);
    close(fd);
}

/* How many lines of the file @path contain @needle. */
static int lines_with(const char *path, const char *needle)
{
    char line[4096];
    int n = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void fallback_without_cap_sys_admin_serves_io_itself_and_says_so_once(void)
{
    char ptfs[PATH_MAX], log[320], buf[64] = "";
    struct in_ns_io io;
    pid_t pid;
    int st;

    make_empty_source();
    if (!h_write_file(src_path("f"), "hello\n", 6, 0644))
        ADD_FAILURE("cannot write %s: %s", src_path("f"), expect_errname(errno));
    snprintf(ptfs, sizeof ptfs, "%s/ptfs", h_bin_dir);
    snprintf(log, sizeof log, "%s.log", g_mnt);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    ASSERT_OK(pid);
    if (pid == 0) {
        /* ptfs dies with the case; its namespace and mount with it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (lf >= 0) {
            dup2(lf, 1);
            dup2(lf, 2);
            close(lf);
        }
        execlp("unshare", "unshare", "--user", "--map-root-user", "--mount",
               "--propagation", "private", ptfs, "-f", "-d", g_src, g_mnt,
               (char *)NULL);
        fprintf(stderr, "cannot run unshare: %s\n", strerror(errno));
        _exit(127);
    }
    double end = h_now() + 15;
    while (!mounted_in_ns_of(pid, g_mnt) && h_now() < end &&
           waitpid(pid, &st, WNOHANG) == 0)
        h_sleep(0.01);
    if (!mounted_in_ns_of(pid, g_mnt)) {
        kill(pid, SIGKILL);
        h_waitpid_timeout(pid, &st, 5);
        if (lines_with(log, "unshare") > 0 ||
            lines_with(log, "Operation not permitted") > 0)
            h_skip("no user namespaces with FUSE mounts here");
        ADD_FAILURE("ptfs in a user namespace did not mount %s", g_mnt);
        expect_abort_case();
    }
    io.daemon = pid;
    io.mnt = g_mnt;
    EXPECT_EQ(h_as_user(0, 0, io_in_daemon_ns, &io), 0);
    kill(pid, SIGTERM);
    if (h_waitpid_timeout(pid, &st, 10) != pid) {
        kill(pid, SIGKILL);
        h_waitpid_timeout(pid, &st, 5);
        ADD_FAILURE("ptfs did not exit within 10 s of SIGTERM");
    }
    /* the bytes went through ptfs, into SOURCE */
    EXPECT_EQ(h_read_file(src_path("f"), buf, sizeof buf - 1), 12);
    EXPECT_STREQ(buf, "hello\nagain\n");
    memset(buf, 0, sizeof buf);
    EXPECT_EQ(h_read_file(src_path("g"), buf, sizeof buf - 1), 4);
    /* the debug log shows READ and WRITE requests, and one line about
     * passthrough being refused */
    EXPECT_GT(lines_with(log, " READ "), 0);
    EXPECT_GT(lines_with(log, " WRITE "), 0);
    EXPECT_EQ(lines_with(log, "passthrough: the kernel refuses"), 1);
    if (h_failures())
        h_note("ptfs's log: %s", log); /* kept for a look */
    else
        unlink(log);
    rmdir(g_mnt);
    h_rm_rf(g_src);
}

int main(int argc, char **argv)
{
    static const struct h_case cases[] = {
        H_CASE(read_and_write_bypass_the_daemon_with_the_right_bytes, NULL, H_DAEMON),
        H_CASE(no_passthrough_sends_reads_and_writes_to_ptfs, "no_passthrough",
               H_DAEMON),
        H_CASE(write_then_stat_shows_new_size_and_mtime, NULL, H_DAEMON),
        H_CASE(mmap_read_and_write_reach_the_backing_file, NULL, H_DAEMON),
        H_CASE(o_direct_reads_and_writes_go_to_the_backing_file, NULL, H_DAEMON),
        H_CASE(concurrent_opens_of_one_file_share_its_backing_file, NULL, H_DAEMON),
        H_CASE(redirected_file_through_passthrough_lands_in_real, NULL,
               H_DAEMON | H_NOMOUNT),
        H_CASE(truncate_while_open_shows_new_size_and_data, NULL, H_DAEMON),
        H_CASE(write_by_a_user_clears_set_user_id_and_set_group_id,
               "allow_other", H_DAEMON),
        H_CASE_T(fallback_without_cap_sys_admin_serves_io_itself_and_says_so_once,
                 NULL, H_DAEMON | H_NOMOUNT, 60),
    };
    /* This suite is about ptfs, with passthrough, whatever the
     * environment says. */
    setenv("FSP_TEST_FS", "ptfs", 1);
    unsetenv("FSP_TEST_FS_OPTS");
    return h_main("passthrough", argc, argv, cases,
                  sizeof cases / sizeof *cases);
}
