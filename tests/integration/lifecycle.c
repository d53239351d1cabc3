/*
 * lifecycle.c - a volume's life: daemonizing, unmounting, fsptool, a daemon
 * killed under load, an ordinary user mounting through fusermount3, and
 * the error messages of a mount that cannot be made. Every case mounts by
 * itself (H_NOMOUNT); h_root is a scratch directory under /tmp.
 *
 * Messages are matched case-insensitively against a few phrases so their
 * wording can evolve, but each must name the path at fault.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

static const char *memfs_bin(void)
{
    static char b[4096];
    snprintf(b, sizeof b, "%s/memfs", h_bin_dir);
    return b;
}

static const char *fsptool_bin(void)
{
    static char b[4096];
    snprintf(b, sizeof b, "%s/fsptool", h_bin_dir);
    return b;
}

static bool is_fuse_mounted(const char *mnt)
{
    struct h_mountinfo mi;
    return h_mountinfo_find(mnt, &mi) && strncmp(mi.fstype, "fuse", 4) == 0;
}

static const char *status_str(int st)
{
    static char b[64];
    if (st == -1)
        return "unknown";
    if (st == -2)
        return "did not exit (killed)";
    if (WIFEXITED(st))
        snprintf(b, sizeof b, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(b, sizeof b, "signal %d", WTERMSIG(st));
    else
        snprintf(b, sizeof b, "status 0x%x", st);
    return b;
}

/* ------------------------------------------------------------------ */
/* start and stop                                                      */

/* umount2(@mnt, 0), tried again for up to 2 s while it says EBUSY: on a
 * loaded machine another test's process (a df, a find) may hold the mount
 * for an instant. Returns umount2's last result. */
static int umount_when_idle(const char *mnt)
{
    double until = h_now() + 2.0;
    int r;

    while ((r = umount2(mnt, 0)) != 0 && errno == EBUSY && h_now() < until)
        usleep(50 * 1000);
    return r;
}

static void daemonized_memfs_exit_0_means_mount_is_usable(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* the daemon becomes our child */
    const char *mnt = h_path("mnt");
    ASSERT_OK(mkdir(mnt, 0755));
    struct stat under;
    ASSERT_OK(stat(mnt, &under));
    int slot = h_register(mnt, 0, NULL);
    struct h_proc p;
    int rc = h_runl(&p, 20, memfs_bin(), mnt, NULL);
    /* the very next thing: use it */
    struct stat st;
    int src = stat(mnt, &st);
    int e = errno;
    int fd = open(h_path("mnt/first"), O_CREAT | O_RDWR, 0644);
    int fe = errno;
    if (rc != 0) {
        ADD_FAILURE("memfs %s -> %d; stderr: %s", mnt, rc, p.err);
        expect_abort_case();
    }
    EXPECT_EQ(src, 0);
    if (src != 0)
        h_note("stat right after exit: errno=%s", expect_errname(e));
    EXPECT_NE(st.st_dev, under.st_dev);
    if (fd < 0)
        ADD_FAILURE("create right after memfs returned: errno=%s", expect_errname(fe));
    else {
        EXPECT_EQ(write(fd, "x", 1), 1);
        close(fd);
    }
    EXPECT_TRUE(is_fuse_mounted(mnt));
    /* daemonized: listed by fsptool by the time memfs returns */
    pid_t pid = h_lsvol_pid(mnt, NULL, 0, NULL, 0, NULL);
    EXPECT_GT(pid, 0);
    if (pid <= 0)
        pid = h_find_daemon(mnt);
    h_unregister(slot);
    slot = h_register(mnt, pid, NULL);
    /* the daemon is detached: its own session, stdio not ours */
    if (pid > 0) {
        EXPECT_EQ(getsid(pid), pid);
        EXPECT_TRUE(p.out[0] == 0);
    }
    EXPECT_OK(umount_when_idle(mnt));
    int ds = -1;
    if (pid > 0) {
        pid_t r = h_waitpid_timeout(pid, &ds, 5);
        if (r == pid) {
            if (!WIFEXITED(ds) || WEXITSTATUS(ds) != 0)
                ADD_FAILURE("daemonized memfs ended with %s after umount", status_str(ds));
        } else if (r < 0) {
            EXPECT_TRUE(h_wait_gone(pid, 5));
        } else {
            ADD_FAILURE("daemon %d still running 5 s after umount", (int)pid);
        }
    }
    h_unregister(slot);
}

static void umount_makes_foreground_daemon_exit_0(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    char path[512];
    snprintf(path, sizeof path, "%s/f", m.mnt);
    EXPECT_TRUE(h_write_file(path, "x", 1, 0644));
    double t0 = h_now();
    EXPECT_OK(umount_when_idle(m.mnt));
    int st = 0;
    pid_t r = h_waitpid_timeout(m.pid, &st, 5);
    EXPECT_EQ(r, m.pid);
    if (r == m.pid) {
        h_note("daemon exited %.3f s after umount: %s", h_now() - t0, status_str(st));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        m.pid = 0;
    }
    EXPECT_FALSE(is_fuse_mounted(m.mnt));
    h_unmount(&m, NULL);
}

static void umount_makes_daemonized_daemon_exit_0(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, H_M_DAEMONIZE));
    pid_t lpid = h_lsvol_pid(m.mnt, NULL, 0, NULL, 0, NULL);
    EXPECT_EQ(lpid, m.pid);
    pid_t pid = m.pid;
    EXPECT_OK(umount_when_idle(m.mnt));
    int st = -1;
    pid_t r = h_waitpid_timeout(pid, &st, 5);
    if (r == pid) {
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            h_note("daemon ended with %s", status_str(st));
    } else if (r < 0) {
        EXPECT_TRUE(h_wait_gone(pid, 5)); /* not our child: it must at least go */
        h_note("daemon was not reparented to us; exit status not checked");
    } else {
        ADD_FAILURE("daemon %d still running 5 s after umount", (int)pid);
    }
    m.pid = 0;
    h_unmount(&m, NULL);
}

static void fusermount3_u_unmounts_and_daemon_exits_0(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    struct h_proc p;
    int rc = h_runl(&p, 10, "/usr/bin/fusermount3", "-u", m.mnt, NULL);
    EXPECT_EQ(rc, 0);
    if (rc != 0)
        h_note("fusermount3 -u: %s", p.err);
    int st = 0;
    EXPECT_EQ(h_waitpid_timeout(m.pid, &st, 5), m.pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    m.pid = 0;
    EXPECT_FALSE(is_fuse_mounted(m.mnt));
    h_unmount(&m, NULL);
}

static void sigterm_makes_daemon_unmount_and_exit_0(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    EXPECT_OK(kill(m.pid, SIGTERM));
    int st = 0;
    EXPECT_EQ(h_waitpid_timeout(m.pid, &st, 5), m.pid);
    h_note("after SIGTERM: %s", status_str(st));
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    m.pid = 0;
    double end = h_now() + 2;
    while (is_fuse_mounted(m.mnt) && h_now() < end)
        h_sleep(0.01);
    EXPECT_FALSE(is_fuse_mounted(m.mnt));
    h_unmount(&m, NULL);
}

/* ------------------------------------------------------------------ */
/* fsptool                                                             */

static void fsptool_lsvol_lists_mountpoint_and_pid(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, "fsname=lsvoltest,threads=2", 0));
    struct h_proc p;
    EXPECT_EQ(h_runl(&p, 10, fsptool_bin(), "lsvol", NULL), 0);
    EXPECT_TRUE(strncmp(p.out, "MOUNTPOINT", 10) == 0);
    char fsname[256] = "", chan[64] = "";
    long threads = -1;
    /* memfs -f: it may list itself a moment after the mount appears */
    pid_t pid = h_lsvol_pid_wait(m.mnt, fsname, sizeof fsname, chan, sizeof chan, &threads, 2);
    EXPECT_EQ(pid, m.pid);
    /* FSNAME: the source (fsname=) or the type's name (memfs) */
    EXPECT_TRUE(strcmp(fsname, "lsvoltest") == 0 || strcmp(fsname, "memfs") == 0);
    EXPECT_TRUE(strcmp(chan, "dev") == 0 || strcmp(chan, "io_uring") == 0);
    EXPECT_EQ(threads, 2);
    if (pid != m.pid)
        h_note("lsvol output: %s", p.out);
    h_unmount(&m, NULL);
    /* gone from the list once unmounted */
    double end = h_now() + 2;
    while (h_lsvol_pid(m.mnt, NULL, 0, NULL, 0, NULL) != 0 && h_now() < end)
        h_sleep(0.05);
    EXPECT_EQ(h_lsvol_pid(m.mnt, NULL, 0, NULL, 0, NULL), 0);
}

static long long poll_stat(const char *mnt, const char *key, long long want, double t)
{
    double end = h_now() + t;
    long long v;
    while ((v = h_fsptool_stat(mnt, key)) != want && h_now() < end)
        h_sleep(0.05);
    return v;
}

/* With a handle per open (open_handles), each open file holds one handle
 * until its RELEASE. On memfs's default per_file_context volume the
 * kernel sends no RELEASE, so created files hold none (see
 * files_created_without_open_hold_no_handle). */
static void fsptool_stat_reports_nodes_and_handles(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, "open_handles", 0));
    struct h_proc p;
    EXPECT_EQ(h_runl(&p, 10, fsptool_bin(), "stat", m.mnt, NULL), 0);
    long long n0 = h_fsptool_stat(m.mnt, "nodes"), h0 = h_fsptool_stat(m.mnt, "handles");
    EXPECT_GE(n0, 0); /* the root may or may not count */
    EXPECT_GE(h0, 0);
    EXPECT_GE(h_fsptool_stat(m.mnt, "pending"), 0);
    if (n0 < 0 || h0 < 0)
        h_note("fsptool stat output: %s", p.out);
    int fds[3];
    char path[512];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/f%d", m.mnt, i);
        fds[i] = EXPECT_OK(open(path, O_CREAT | O_RDWR, 0644));
    }
    EXPECT_EQ(poll_stat(m.mnt, "handles", h0 + 3, 2), h0 + 3);
    EXPECT_GE(h_fsptool_stat(m.mnt, "nodes"), n0 + 3);
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    EXPECT_EQ(poll_stat(m.mnt, "handles", h0, 2), h0); /* RELEASE is asynchronous */
    int st;
    h_unmount(&m, &st);
    EXPECT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void files_created_without_open_hold_no_handle(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    long long n0 = h_fsptool_stat(m.mnt, "nodes");
    ASSERT_GE(n0, 0);
    int fds[3];
    char path[512];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/f%d", m.mnt, i);
        fds[i] = EXPECT_OK(open(path, O_CREAT | O_RDWR, 0644));
    }
    EXPECT_EQ(h_fsptool_stat(m.mnt, "handles"), 0);
    EXPECT_GE(h_fsptool_stat(m.mnt, "nodes"), n0 + 3);
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0)
            continue;
        EXPECT_EQ(write(fds[i], "data", 4), 4);
        close(fds[i]);
        snprintf(path, sizeof path, "%s/f%d", m.mnt, i);
        EXPECT_OK(unlink(path));
    }
    /* the unlinked files' nodes go with the kernel's last reference */
    EXPECT_TRUE(h_check_baseline(m.mnt, n0));
    int st;
    h_unmount(&m, &st);
    EXPECT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ------------------------------------------------------------------ */
/* a daemon killed under load                                          */

struct done_msg {
    int err;
    double when;
};

/* Fork a process that runs one blocking stat() of a fresh name and reports
 * (errno, time) through a pipe. */
static pid_t start_blocked_stat(const char *mnt, int *rfd)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        char path[512];
        snprintf(path, sizeof path, "%s/never-looked-up-%d", mnt, (int)getpid());
        struct stat st;
        struct done_msg d;
        d.err = stat(path, &st) == 0 ? 0 : errno;
        d.when = h_now();
        if (write(pfd[1], &d, sizeof d) != sizeof d)
            _exit(2);
        _exit(0);
    }
    close(pfd[1]);
    *rfd = pfd[0];
    return pid;
}

static bool read_done(int fd, struct done_msg *d, double timeout)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, (int)(timeout * 1000)) != 1)
        return false;
    return read(fd, d, sizeof *d) == sizeof *d;
}

static void sigkill_daemon_unblocks_waiting_caller_with_enotconn(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    EXPECT_OK(kill(m.pid, SIGSTOP));
    int rfd;
    pid_t blocker = start_blocked_stat(m.mnt, &rfd);
    ASSERT_GE(blocker, 1);
    struct done_msg d;
    if (read_done(rfd, &d, 0.3))
        ADD_FAILURE("stat() did not block on a stopped daemon (errno=%s)", expect_errname(d.err));
    double tk = h_now();
    EXPECT_OK(kill(m.pid, SIGKILL));
    if (read_done(rfd, &d, 5)) {
        double dt = d.when - tk;
        h_note("blocked stat() returned %.3f s after SIGKILL with %s", dt, expect_errname(d.err));
        EXPECT_LE(dt, 2.0);
        /* ECANCELED: over io_uring, a request the kernel was handing to
         * a ring entry of the dying daemon. */
        if (d.err != ENOTCONN && d.err != ECONNABORTED && d.err != EIO &&
            d.err != ECANCELED)
            ADD_FAILURE("blocked stat() ended with errno=%s, expected ENOTCONN (or ECONNABORTED/EIO)",
                        expect_errname(d.err));
    } else {
        ADD_FAILURE("a stat() blocked on the killed daemon did not return within 5 s");
    }
    /* new calls fail at once */
    int st;
    h_waitpid_timeout(blocker, &st, 2);
    close(rfd);
    blocker = start_blocked_stat(m.mnt, &rfd);
    if (read_done(rfd, &d, 2)) {
        if (d.err != ENOTCONN && d.err != ENOENT) /* ENOENT: already unmounted */
            ADD_FAILURE("stat() after the daemon died: errno=%s", expect_errname(d.err));
    } else {
        ADD_FAILURE("stat() after the daemon died did not return within 2 s");
    }
    h_waitpid_timeout(blocker, &st, 2);
    close(rfd);
    h_waitpid_timeout(m.pid, &st, 2);
    m.pid = 0;
    h_unmount(&m, NULL);
}

static void io_loop(int w, void *arg)
{
    const char *mnt = arg;
    char path[512];
    snprintf(path, sizeof path, "%s/io%d", mnt, w);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    struct done_msg d = { 0, 0 };
    int out = 3 + w; /* pipe write ends set up by the parent: see below */
    if (fd < 0) {
        d.err = errno;
    } else {
        char buf[4096];
        memset(buf, 'w', sizeof buf);
        for (long i = 0; h_now() < 1e12; i++) {
            /* each step costs a round trip: a write (no writeback cache
               assumed) and the lookup of a fresh name */
            if (pwrite(fd, buf, sizeof buf, (i % 256) * 4096) < 0) {
                d.err = errno;
                break;
            }
            snprintf(path, sizeof path, "%s/fresh-%d-%ld", mnt, w, i);
            struct stat st;
            if (stat(path, &st) != 0 && errno != ENOENT) {
                d.err = errno;
                break;
            }
        }
    }
    d.when = h_now();
    if (write(out, &d, sizeof d) != sizeof d)
        _exit(2);
}

static void sigkill_daemon_fails_io_in_progress_promptly(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    enum { W = 3 };
    int rfd[W];
    pid_t pids[W];
    for (int w = 0; w < W; w++) {
        int pfd[2];
        ASSERT_OK(pipe(pfd));
        pids[w] = fork();
        if (pids[w] == 0) {
            dup2(pfd[1], 3 + w);
            io_loop(w, m.mnt);
            _exit(0);
        }
        close(pfd[1]);
        rfd[w] = pfd[0];
    }
    h_sleep(0.5);
    double tk = h_now();
    EXPECT_OK(kill(m.pid, SIGKILL));
    for (int w = 0; w < W; w++) {
        struct done_msg d;
        if (read_done(rfd[w], &d, 5)) {
            h_note("worker %d stopped %.3f s after SIGKILL with %s", w, d.when - tk,
                   expect_errname(d.err));
            EXPECT_LE(d.when - tk, 2.0);
            EXPECT_TRUE(d.err == ENOTCONN || d.err == ECONNABORTED || d.err == EIO ||
                        d.err == ECANCELED); /* ECANCELED: io_uring, as above */
        } else {
            ADD_FAILURE("worker %d still doing I/O 5 s after the daemon was killed", w);
            kill(pids[w], SIGKILL);
        }
        int st;
        h_waitpid_timeout(pids[w], &st, 2);
        close(rfd[w]);
    }
    int st;
    h_waitpid_timeout(m.pid, &st, 2);
    m.pid = 0;
    h_unmount(&m, NULL);
}

static void sigkill_daemon_mount_disappears_within_2s(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    ASSERT_TRUE(is_fuse_mounted(m.mnt));
    double tk = h_now();
    EXPECT_OK(kill(m.pid, SIGKILL));
    while (is_fuse_mounted(m.mnt) && h_now() - tk < 3)
        h_sleep(0.005);
    double dt = h_now() - tk;
    if (is_fuse_mounted(m.mnt))
        ADD_FAILURE("%s still mounted 3 s after the daemon was killed (auto_unmount is the default)",
                    m.mnt);
    else {
        h_note("mount gone %.3f s after SIGKILL", dt);
        EXPECT_LE(dt, 2.0);
    }
    int st;
    h_waitpid_timeout(m.pid, &st, 2);
    m.pid = 0;
    h_unmount(&m, NULL);
}

static void sigkill_with_no_auto_unmount_mount_stays(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, "no_auto_unmount", 0));
    EXPECT_OK(kill(m.pid, SIGKILL));
    int st;
    h_waitpid_timeout(m.pid, &st, 2);
    m.pid = 0;
    h_sleep(2.5);
    EXPECT_TRUE(is_fuse_mounted(m.mnt));
    int rfd;
    pid_t pid = start_blocked_stat(m.mnt, &rfd);
    struct done_msg d;
    if (read_done(rfd, &d, 2))
        EXPECT_EQ(d.err, ENOTCONN);
    else
        ADD_FAILURE("stat() on a dead mount hung");
    h_waitpid_timeout(pid, &st, 2);
    close(rfd);
    /* the harness clears it */
    EXPECT_TRUE(h_unmount(&m, NULL));
    EXPECT_FALSE(is_fuse_mounted(m.mnt));
}

/* ------------------------------------------------------------------ */
/* an ordinary user                                                    */

/* fusermount3 opens /dev/fuse with the caller's permissions. Debian's udev
 * rule makes it 0666; where it is not (a VM or container without udev),
 * make it so in this case's own mount namespace only, by bind-mounting a
 * 0666 node of the same device over it. Mounts made by the case then live
 * in that namespace and go away with it. */
static void need_dev_fuse_for_users(void)
{
    struct stat st;
    if (stat("/dev/fuse", &st) != 0)
        h_skip("/dev/fuse: %s", expect_errname(errno));
    if ((st.st_mode & 0006) == 0006)
        return;
    const char *node = h_path("fuse-0666");
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        h_detach_copied_fuse_mounts() < 0 ||
        mknod(node, S_IFCHR | 0666, st.st_rdev) != 0 || chmod(node, 0666) != 0 ||
        mount(node, "/dev/fuse", NULL, MS_BIND, NULL) != 0)
        h_skip("/dev/fuse is mode %04o (ordinary users cannot open it) and a private mount "
               "namespace with a 0666 node failed: %s", st.st_mode & 07777, expect_errname(errno));
    h_note("/dev/fuse is mode %04o here: made it 0666 in this case's own mount namespace, "
           "as Debian's udev rule does", st.st_mode & 07777);
}

static char *const user_env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                  "LANG=C", NULL };

static void user_uses_mount(void *arg)
{
    const char *mnt = arg;
    char path[512];
    snprintf(path, sizeof path, "%s/users-file", mnt);
    EXPECT_TRUE(h_write_file(path, "by nobody", 9, 0644));
    char b[16];
    EXPECT_EQ(h_read_file(path, b, sizeof b), 9);
    EXPECT_MEMEQ(b, "by nobody", 9);
    struct stat st;
    EXPECT_OK(stat(path, &st));
    EXPECT_EQ(st.st_uid, NOBODY);
    EXPECT_OK(stat(mnt, &st));
    EXPECT_EQ(st.st_uid, NOBODY); /* the root belongs to the user who mounted */
}

static void ordinary_user_mounts_via_fusermount3_and_unmounts(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    need_dev_fuse_for_users();
    const char *mnt = h_path("usermnt");
    ASSERT_OK(mkdir(mnt, 0755));
    ASSERT_OK(chown(mnt, NOBODY, NOBODY));
    char mntc[512];
    snprintf(mntc, sizeof mntc, "%s", mnt);
    int slot = h_register(mntc, 0, NULL);
    char *argv[] = { (char *)memfs_bin(), mntc, NULL };
    struct h_run_opts o = { .uid = NOBODY, .gid = NOBODY, .drop = true, .envp = user_env,
                            .timeout_s = 20 };
    struct h_proc p;
    int rc = h_run(&p, &o, argv);
    if (rc != 0) {
        ADD_FAILURE("memfs as uid %d -> %d; stderr: %s", NOBODY, rc, p.err);
        expect_abort_case();
    }
    ASSERT_TRUE(is_fuse_mounted(mntc));
    struct h_mountinfo mi;
    h_mountinfo_find(mntc, &mi);
    h_note("user mount: fstype %s source %s options %s", mi.fstype, mi.source, mi.superopts);
    EXPECT_TRUE(strstr(mi.superopts, "user_id=65534") != NULL);
    pid_t pid = h_find_process("memfs", mntc);
    EXPECT_GT(pid, 0);
    h_unregister(slot);
    slot = h_register(mntc, pid, NULL);
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, user_uses_mount, mntc), 0);
    char *uargv[] = { "/usr/bin/fusermount3", "-u", mntc, NULL };
    o.timeout_s = 10;
    rc = h_run(&p, &o, uargv);
    EXPECT_EQ(rc, 0);
    if (rc != 0)
        h_note("fusermount3 -u: %s", p.err);
    EXPECT_FALSE(is_fuse_mounted(mntc));
    if (pid > 0) {
        int st = -1;
        pid_t r = h_waitpid_timeout(pid, &st, 5);
        if (r == pid)
            EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        else
            EXPECT_TRUE(h_wait_gone(pid, 5));
    }
    h_unregister(slot);
}

/* ------------------------------------------------------------------ */
/* errors                                                              */

struct mount_error {
    const char *mnt;           /* the mount point argument */
    const char *opts;          /* -o, or NULL */
    bool as_user;              /* run as uid 65534 */
    char *const *envp;         /* NULL: inherit (or user_env as a user) */
    const char *phrases[7];    /* at least one must appear (any case); NULL-terminated */
    const char *must_name;     /* this must appear too (the path), or NULL */
    const char *wrapper[8];    /* argv before memfs (e.g. unshare ...), or none */
    pid_t keep_pid;            /* a daemon already serving mnt (not a leftover) */
};

/* Run memfs (daemonizing, then with -f) and expect a failure with a
 * helpful message and nothing left behind. Returns false if memfs
 * succeeded (it has been unmounted again). */
static bool expect_mount_error(const struct mount_error *me)
{
    bool all_failed = true;
    int before = h_mountinfo_count(me->mnt);
    for (int fg = 0; fg < 2; fg++) {
        char *argv[24];
        int n = 0;
        for (int i = 0; me->wrapper[i]; i++)
            argv[n++] = (char *)me->wrapper[i];
        argv[n++] = (char *)memfs_bin();
        if (fg)
            argv[n++] = "-f";
        if (me->opts) {
            argv[n++] = "-o";
            argv[n++] = (char *)me->opts;
        }
        argv[n++] = (char *)me->mnt;
        argv[n] = NULL;
        struct h_run_opts o = { .timeout_s = 10 };
        if (me->as_user) {
            o.uid = NOBODY;
            o.gid = NOBODY;
            o.drop = true;
            o.envp = me->envp ? me->envp : user_env;
        } else {
            o.envp = me->envp;
        }
        struct h_proc p;
        int rc = h_run(&p, &o, argv);
        const char *mode = fg ? "memfs -f" : "memfs";
        if (rc == 0 || p.timed_out) {
            all_failed = false;
            if (h_mountinfo_count(me->mnt) > before) {
                /* it mounted: take it down again */
                pid_t pid = h_find_daemon(me->mnt);
                h_register(me->mnt, pid, NULL);
                if (me->as_user) {
                    char *u[] = { "/usr/bin/fusermount3", "-u", "-z", (char *)me->mnt, NULL };
                    struct h_proc q;
                    h_run(&q, &o, u);
                }
                umount2(me->mnt, MNT_DETACH);
                if (pid > 0 && !h_wait_gone(pid, 3))
                    kill(pid, SIGKILL);
            }
            if (rc == 0)
                h_note("%s on %s succeeded", mode, me->mnt);
            continue;
        }
        bool phrase = false;
        for (int i = 0; me->phrases[i]; i++)
            if (h_contains_ci(p.err, me->phrases[i]))
                phrase = true;
        if (!phrase)
            ADD_FAILURE("%s %s: exit %d, but stderr has none of the expected phrases (\"%s\"...): "
                        "\"%s\"", mode, me->mnt, rc, me->phrases[0], p.err);
        if (me->must_name && !strstr(p.err, me->must_name))
            ADD_FAILURE("%s %s: stderr does not name %s: \"%s\"", mode, me->mnt, me->must_name, p.err);
        if (p.err[0] == 0)
            ADD_FAILURE("%s %s: exit %d with an empty stderr", mode, me->mnt, rc);
        if (h_mountinfo_count(me->mnt) != before)
            ADD_FAILURE("%s %s failed but left a mount behind", mode, me->mnt);
        h_sleep(0.2);
        pid_t left = h_find_process("memfs", me->mnt);
        if (left > 0 && left != me->keep_pid) {
            ADD_FAILURE("%s %s failed but left process %d running", mode, me->mnt, (int)left);
            kill(left, SIGKILL);
        }
        if (!fg)
            h_note("message: %.*s", (int)strcspn(p.err, "\n"), p.err);
    }
    return all_failed;
}

static void error_mountpoint_missing_says_does_not_exist(void)
{
    struct mount_error me = { .mnt = h_path("missing/dir"),
                              .phrases = { "does not exist" },
                              .must_name = h_path("missing/dir") };
    EXPECT_TRUE(expect_mount_error(&me));
}

static void error_mountpoint_not_a_directory(void)
{
    ASSERT_TRUE(h_write_file(h_path("file"), "x", 1, 0644));
    struct mount_error me = { .mnt = h_path("file"),
                              .phrases = { "not a directory" },
                              .must_name = h_path("file") };
    EXPECT_TRUE(expect_mount_error(&me));
}

static void error_mountpoint_not_empty_unless_nonempty(void)
{
    const char *d = h_path("full");
    ASSERT_OK(mkdir(d, 0755));
    ASSERT_TRUE(h_write_file(h_path("full/hidden"), "x", 1, 0644));
    struct mount_error me = { .mnt = d, .phrases = { "not empty", "nonempty" }, .must_name = d };
    EXPECT_TRUE(expect_mount_error(&me));
    /* -o nonempty allows it */
    struct h_mount m;
    ASSERT_TRUE(h_mount_at(&m, d, "nonempty", 0));
    struct stat st;
    EXPECT_ERRNO(stat(h_path("full/hidden"), &st), ENOENT);
    h_unmount(&m, NULL);
    EXPECT_OK(stat(h_path("full/hidden"), &st));
}

static void error_mountpoint_already_mounted(void)
{
    struct h_mount m;
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    struct mount_error me = { .mnt = m.mnt,
                              .phrases = { "already", "mount point", "mounted", "busy" },
                              .must_name = m.mnt, .keep_pid = m.pid };
    EXPECT_TRUE(expect_mount_error(&me));
    ASSERT_EQ(h_mountinfo_count(m.mnt), 1);
    char path[512];
    snprintf(path, sizeof path, "%s/still-works", m.mnt);
    EXPECT_TRUE(h_write_file(path, "x", 1, 0644)); /* the first mount is untouched */
    int st;
    h_unmount(&m, &st);
    EXPECT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void error_ordinary_user_cannot_write_mountpoint(void)
{
    need_dev_fuse_for_users();
    const char *d = h_path("rootsdir");
    ASSERT_OK(mkdir(d, 0755));
    struct mount_error me = { .mnt = d, .as_user = true,
                              .phrases = { "permission", "denied", "write", "access",
                                           "not allowed", "owner" },
                              .must_name = d };
    EXPECT_TRUE(expect_mount_error(&me));
}

static void error_fusermount3_missing_for_ordinary_user(void)
{
    need_dev_fuse_for_users();
    const char *d = h_path("usermnt");
    ASSERT_OK(mkdir(d, 0755));
    ASSERT_OK(chown(d, NOBODY, NOBODY));
    ASSERT_OK(mkdir(h_path("emptybin"), 0755));
    static char pathvar[600];
    snprintf(pathvar, sizeof pathvar, "PATH=%s", h_path("emptybin"));
    char *const env[] = { pathvar, "HOME=/tmp", "LANG=C", NULL };
    struct mount_error me = { .mnt = d, .as_user = true, .envp = env,
                              .phrases = { "fusermount3" } };
    if (!expect_mount_error(&me))
        h_skip("memfs mounted with PATH=<empty dir>: it does not look fusermount3 up in PATH "
               "(fixed path), so a missing fusermount3 cannot be simulated this way");
}

static void error_dev_fuse_missing(void)
{
    const char *d = h_path("mnt");
    ASSERT_OK(mkdir(d, 0755));
    struct h_proc p;
    if (h_runl(&p, 10, "/usr/bin/unshare", "--mount", "--propagation", "private",
               "/bin/true", NULL) != 0)
        h_skip("unshare --mount does not work here: %s", p.err);
    /* a private mount namespace with an empty tmpfs over /dev: sh -c
       'SCRIPT' memfs ARGS... runs memfs as $0 with its arguments as $@.
       The namespace's copies of other FUSE mounts are detached first, so
       that it does not keep other volumes alive (see
       h_detach_copied_fuse_mounts). */
    struct mount_error me = {
        .mnt = d,
        .phrases = { "/dev/fuse" },
        .must_name = "/dev/fuse",
        .wrapper = { "/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh",
                     "-c",
                     "grep ' - fuse[.b ]' /proc/self/mountinfo | cut -d' ' -f5 | "
                     "xargs -r -n1 umount -l 2>/dev/null; "
                     "mount -t tmpfs none /dev && exec \"$0\" \"$@\"" },
    };
    EXPECT_TRUE(expect_mount_error(&me));
}

static const struct h_case cases[] = {
    H_CASE(daemonized_memfs_exit_0_means_mount_is_usable, NULL, H_NOMOUNT),
    H_CASE(umount_makes_foreground_daemon_exit_0, NULL, H_NOMOUNT),
    H_CASE(umount_makes_daemonized_daemon_exit_0, NULL, H_NOMOUNT),
    H_CASE(fusermount3_u_unmounts_and_daemon_exits_0, NULL, H_NOMOUNT),
    H_CASE(sigterm_makes_daemon_unmount_and_exit_0, NULL, H_NOMOUNT),
    H_CASE(fsptool_lsvol_lists_mountpoint_and_pid, NULL, H_NOMOUNT),
    H_CASE(files_created_without_open_hold_no_handle, NULL, H_NOMOUNT),
    H_CASE(fsptool_stat_reports_nodes_and_handles, NULL, H_NOMOUNT),
    H_CASE(sigkill_daemon_unblocks_waiting_caller_with_enotconn, NULL, H_NOMOUNT),
    H_CASE(sigkill_daemon_fails_io_in_progress_promptly, NULL, H_NOMOUNT),
    H_CASE(sigkill_daemon_mount_disappears_within_2s, NULL, H_NOMOUNT),
    H_CASE(sigkill_with_no_auto_unmount_mount_stays, NULL, H_NOMOUNT),
    H_CASE(ordinary_user_mounts_via_fusermount3_and_unmounts, NULL, H_NOMOUNT),
    H_CASE(error_mountpoint_missing_says_does_not_exist, NULL, H_NOMOUNT),
    H_CASE(error_mountpoint_not_a_directory, NULL, H_NOMOUNT),
    H_CASE(error_mountpoint_not_empty_unless_nonempty, NULL, H_NOMOUNT),
    H_CASE(error_mountpoint_already_mounted, NULL, H_NOMOUNT),
    H_CASE(error_ordinary_user_cannot_write_mountpoint, NULL, H_NOMOUNT),
    H_CASE(error_fusermount3_missing_for_ordinary_user, NULL, H_NOMOUNT),
    H_CASE(error_dev_fuse_missing, NULL, H_NOMOUNT),
};

int main(int argc, char **argv)
{
    return h_main("lifecycle", argc, argv, cases, sizeof cases / sizeof *cases);
}
