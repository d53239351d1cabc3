/*
 * log_hook.c - the messages of a daemonized volume reach its log handler
 * (fsp_set_log_handler), not the /dev/null that fsp_daemon_ready() points
 * standard error at.
 *
 * - A volume of the test's own, daemonized, whose handler sends each
 *   message as a datagram to a socket of the case: a callback's bad
 *   return (an error) and the debug log switched on by `fsptool debug`.
 * - memfs (ptfs with FSP_TEST_FS=ptfs), daemonized, which logs to
 *   syslog: in a mount namespace of the case's own, /dev is a tmpfs
 *   whose entries point at the real ones, except /dev/log, a datagram
 *   socket of the case. No syslogd or journald is needed, and nothing
 *   outside the case sees the socket.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fsp/fsp.h>

#include "harness.h"

/* A datagram socket bound at path. */
static int bind_datagram_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    chmod(path, 0666);
    return fd;
}

/* Reads datagrams for up to timeout_s until one contains every needle;
 * copies it to out. */
static bool receive_containing(int fd, const char *n1, const char *n2,
                               char *out, size_t size, double timeout_s)
{
    double end = h_now() + timeout_s;

    while (h_now() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[4096];
        ssize_t n;

        if (poll(&p, 1, 100) <= 0)
            continue;
        n = recv(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        if (strstr(buf, n1) && (!n2 || strstr(buf, n2))) {
            snprintf(out, size, "%s", buf);
            return true;
        }
    }
    return false;
}

/* ---- a daemonized volume of the test's own ---- */

static int log_fd = -1; /* in the daemon: connected to the case's socket */

static void send_to_case(fsp_fs_t *fs, int level, const char *message,
                         void *user)
{
    char buf[4096];
    int n;

    (void)fs;
    (void)user;
    n = snprintf(buf, sizeof buf, "%d %s", level, message);
    if (send(log_fd, buf, (size_t)n, MSG_DONTWAIT) < 0) {
        /* nobody listens any more */
    }
}

static int bad_get_file_info_by_name(fsp_fs_t *fs, const char *path,
                                     fsp_file_info_t *info)
{
    (void)fs;
    if (strcmp(path, "/") == 0) {
        info->mode = S_IFDIR | 0755;
        info->nlink = 2;
        return 0;
    }
    if (strcmp(path, "/bad") == 0)
        return 7; /* not 0 nor -errno: fsp replies EIO and logs it */
    return -ENOENT;
}

/* The daemon: mounts at mnt, logging through send_to_case, and reports
 * its pid first. Never returns. */
static void run_daemon(const char *socket_path, const char *mnt)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    fsp_volume_params_t params;
    fsp_fs_interface_t iface;
    fsp_fs_t *fs = NULL;
    char pid_line[32];
    int n;

    if (fsp_daemonize() != 0)
        _exit(1);
    log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path);
    if (log_fd < 0 || connect(log_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        _exit(2);
    n = snprintf(pid_line, sizeof pid_line, "pid %d", (int)getpid());
    send(log_fd, pid_line, (size_t)n, 0);
    fsp_set_log_handler(send_to_case, NULL);
    fsp_volume_params_init(&params);
    params.fs_name = "hookfs";
    params.file_info_timeout_ms = 0;
    params.dir_info_timeout_ms = 0;
    memset(&iface, 0, sizeof iface);
    iface.get_file_info_by_name = bad_get_file_info_by_name;
    if (fsp_fs_create(&params, &iface, NULL, &fs) != 0 ||
        fsp_fs_mount(fs, mnt) != 0 || fsp_fs_start(fs, 2) != 0) {
        fsp_daemon_ready(3);
        _exit(3);
    }
    fsp_daemon_ready(0); /* stderr is /dev/null from here on */
    fsp_fs_wait(fs);
    fsp_fs_delete(fs);
    _exit(0);
}

static void daemonized_volume_messages_reach_its_log_handler(void)
{
    const char *sock = h_path("log.sock"), *mnt = h_path("mnt");
    char got[4096], tool[512];
    struct stat st;
    struct h_proc p;
    pid_t starter, daemon_pid = 0;
    int fd, status, slot;

    ASSERT_OK(mkdir(mnt, 0755));
    fd = bind_datagram_socket(sock);
    ASSERT_GE(fd, 0);
    fflush(stdout);
    fflush(stderr);
    starter = fork();
    ASSERT_GE(starter, 0);
    if (starter == 0)
        run_daemon(sock, mnt);
    ASSERT_EQ(h_waitpid_timeout(starter, &status, 20), starter);
    ASSERT_TRUE(receive_containing(fd, "pid ", NULL, got, sizeof got, 5));
    daemon_pid = (pid_t)atoi(got + 4);
    slot = h_register(mnt, daemon_pid, NULL);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* An error: the callback's bad return. */
    EXPECT_ERRNO(stat(h_path("mnt/bad"), &st), EIO);
    if (EXPECT_TRUE(receive_containing(fd, "callback returned 7", NULL, got,
                                       sizeof got, 5))) {
        EXPECT_EQ(atoi(got), FSP_LOG_ERROR);
        EXPECT_TRUE(strstr(got, " hookfs: ") != NULL);
        h_note("error: %s", got);
    }

    /* The debug log, switched on from outside: the volume sees the
     * switch within a quarter of a second, so ask until it shows. */
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    EXPECT_EQ(h_runl(&p, 10, tool, "debug", mnt, "on", NULL), 0);
    bool logged = false;
    for (double end = h_now() + 5; !logged && h_now() < end;) {
        EXPECT_ERRNO(stat(h_path("mnt/absent"), &st), ENOENT);
        logged = receive_containing(fd, "LOOKUP", "absent", got, sizeof got,
                                    0.3);
    }
    if (EXPECT_TRUE(logged)) {
        EXPECT_EQ(atoi(got), FSP_LOG_DEBUG);
        EXPECT_TRUE(strstr(got, " hookfs <- ") != NULL);
        h_note("debug: %s", got);
    }

    EXPECT_OK(umount2(mnt, 0));
    EXPECT_TRUE(h_wait_gone(daemon_pid, 5));
    h_unregister(slot);
    close(fd);
}

/* ---- memfs to syslog ---- */

/* In a mount namespace of this case's own: /dev becomes a tmpfs holding
 * a symbolic link to each entry of the real /dev (kept at stash) and a
 * datagram socket at /dev/log, which is returned. */
static int private_dev_log(const char *stash)
{
    DIR *d;
    struct dirent *e;
    int fd;

    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        h_skip("no private mount namespace: %s", expect_errname(errno));
    h_detach_copied_fuse_mounts();
    ASSERT_OK(mkdir(stash, 0755));
    ASSERT_OK(mount("/dev", stash, NULL, MS_BIND | MS_REC, NULL));
    ASSERT_OK(mount("none", "/dev", "tmpfs", 0, "mode=0755"));
    d = opendir(stash);
    ASSERT_TRUE(d != NULL);
    while ((e = readdir(d))) {
        char target[512], link[512];

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "log") == 0)
            continue;
        snprintf(target, sizeof target, "%s/%s", stash, e->d_name);
        snprintf(link, sizeof link, "/dev/%s", e->d_name);
        EXPECT_OK(symlink(target, link));
    }
    closedir(d);
    fd = bind_datagram_socket("/dev/log");
    ASSERT_GE(fd, 0);
    return fd;
}

static void daemonized_memfs_logs_to_syslog(void)
{
    const char *stash = h_path("dev");
    char got[4096], ident[64], path[512];
    struct h_mount m;
    struct stat st;
    int fd;

    fd = private_dev_log(stash);
    ASSERT_TRUE(h_mount(&m, NULL, H_M_DAEMONIZE));
    /* SIGUSR1 switches the debug log on; it goes to syslog, at
     * LOG_DAEMON | LOG_DEBUG (<31>), as memfs[PID]. */
    ASSERT_OK(kill(m.pid, SIGUSR1));
    snprintf(path, sizeof path, "%s/absent", m.mnt);
    snprintf(ident, sizeof ident, "%s[%d]: ", h_fs_name(), (int)m.pid);
    bool logged = false;
    for (double end = h_now() + 5; !logged && h_now() < end;) {
        EXPECT_ERRNO(stat(path, &st), ENOENT);
        logged = receive_containing(fd, "LOOKUP", "absent", got, sizeof got,
                                    0.3);
    }
    if (EXPECT_TRUE(logged)) {
        EXPECT_TRUE(strncmp(got, "<31>", 4) == 0);
        EXPECT_TRUE(strstr(got, ident) != NULL);
        h_note("syslog: %s", got);
    }
    h_unmount(&m, NULL);
    close(fd);
    umount2("/dev", MNT_DETACH);
    umount2(stash, MNT_DETACH);
}

static const struct h_case cases[] = {
    H_CASE(daemonized_volume_messages_reach_its_log_handler, NULL,
           H_NOMOUNT | H_DAEMON),
    H_CASE(daemonized_memfs_logs_to_syslog, NULL, H_NOMOUNT | H_DAEMON),
};

int main(int argc, char **argv)
{
    return h_main("log_hook", argc, argv, cases, sizeof cases / sizeof *cases);
}
