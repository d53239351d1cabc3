/*
 * doctor.c - integration suite of "fsptool doctor": a healthy machine, and
 * machines broken on purpose in the case's own mount namespace (/dev/fuse
 * hidden or replaced, a dead mount, a hung mount) or in a temporary class
 * directory (a broken class file). Every case runs doctor for real and
 * checks its lines, its fixes and its exit status.
 *
 * Cases that change what the machine looks like do it after
 * unshare(CLONE_NEWNS) with / made private, and with the FUSE mounts of
 * other tests detached from that namespace: nothing is visible outside the
 * case, and the namespace, with whatever is mounted in it, goes away with
 * the case's process.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534

static const char *const check_names[] = {
    "fuse-module", "fuse-device", "fusectl", "fusermount3", "fuse.conf",
    "io-uring", "passthrough", "class-file", "launcher", "mounts",
};

static struct h_proc proc;    /* large: keep it off the stack */
static char line_buf[4096];

struct doctor_run {
    const char *class_dir;    /* -c; NULL: a fresh empty directory */
    const char *socket;       /* -s; NULL: a path where nothing listens */
    bool as_nobody;
    const char *extra;        /* one more option, or NULL */
};

/* Run fsptool doctor; returns its exit status, output in proc.out. */
static int run_doctor(const struct doctor_run *r)
{
    char tool[PATH_MAX];
    const char *classes = r->class_dir;
    const char *sock = r->socket ? r->socket : h_path("no-launcher.sock");
    const char *argv[9];
    struct h_run_opts o = { .uid = NOBODY, .gid = NOBODY,
                            .drop = r->as_nobody, .timeout_s = 30 };
    int n = 0, status;

    if (!classes) {
        classes = h_path("classes-empty");
        mkdir(classes, 0755);
    }
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    argv[n++] = tool;
    argv[n++] = "doctor";
    argv[n++] = "-c";
    argv[n++] = classes;
    argv[n++] = "-s";
    argv[n++] = sock;
    if (r->extra)
        argv[n++] = r->extra;
    argv[n] = NULL;
    status = h_run(&proc, &o, (char *const *)argv);
    if (status < 0)
        ADD_FAILURE("fsptool doctor did not run to its end (timed out: %d)",
                    proc.timed_out);
    return status;
}

/* The output line of @check with status @status that contains @text
 * (NULL: any), copied to line_buf; NULL if there is none. */
static const char *find_line(const char *status, const char *check,
                             const char *text)
{
    size_t slen = strlen(status), clen = strlen(check);

    for (const char *p = proc.out; *p; ) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *c = p + slen;

        if (len < sizeof line_buf && !strncmp(p, status, slen) &&
            *c == ' ') {
            c += strspn(c, " ");
            if (!strncmp(c, check, clen) && c[clen] == ' ') {
                memcpy(line_buf, p, len);
                line_buf[len] = '\0';
                if (!text || strstr(line_buf, text))
                    return line_buf;
            }
        }
        p += len + (end ? 1 : 0);
    }
    return NULL;
}

#define EXPECT_LINE(status, check, text) ({                                 \
    const char *_t = (text);                                                 \
    const char *_l = find_line(status, check, _t);                           \
    if (!_l)                                                                 \
        ADD_FAILURE("no line '%s %s ...%s...' in doctor's output:\n%s",     \
                    status, check, _t ? _t : "", proc.out);                  \
    _l; })

static void need_dev_fuse(void)
{
    struct stat st;

    if (stat("/dev/fuse", &st) != 0)
        h_skip("/dev/fuse: %s", expect_errname(errno));
}

/* A mount namespace of the case's own, without other tests' FUSE mounts. */
static void enter_private_namespace(void)
{
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        h_skip("no private mount namespace: %s", expect_errname(errno));
    h_detach_copied_fuse_mounts();
}

/* Bind @node over /dev/fuse, in the case's namespace only. */
static void replace_dev_fuse(const char *node)
{
    ASSERT_OK(mount(node, "/dev/fuse", NULL, MS_BIND, NULL));
}

/* ------------------------------------------------------------------ */

static void healthy_machine_exits_0_with_a_line_for_every_check(void)
{
    struct doctor_run r = { 0 };
    int status;

    need_dev_fuse();
    enter_private_namespace();
    status = run_doctor(&r);
    EXPECT_EQ(status, 0);
    for (size_t i = 0; i < sizeof check_names / sizeof check_names[0]; i++) {
        if (!find_line("ok", check_names[i], NULL) &&
            !find_line("warn", check_names[i], NULL))
            ADD_FAILURE("no ok or warn line for %s:\n%s", check_names[i],
                        proc.out);
    }
    EXPECT_TRUE(strstr(proc.out, "FAIL  ") == NULL);
    EXPECT_TRUE(strstr(proc.out, " 0 FAIL: everything fsp needs") != NULL);
    EXPECT_LINE("ok", "mounts", "no FUSE mounts");
    EXPECT_LINE("ok", "class-file", "no class files");
    /* no classes: a launcher that is not running is only a warn */
    EXPECT_LINE("warn", "launcher", "not running");
}

static void quiet_prints_only_warn_and_fail_lines(void)
{
    struct doctor_run r = { .extra = "-q" };

    need_dev_fuse();
    enter_private_namespace();
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_TRUE(find_line("ok", "fuse-module", NULL) == NULL);
    EXPECT_TRUE(strstr(proc.out, "doctor: ") == NULL);
    EXPECT_LINE("warn", "launcher", NULL);
}

static void json_output_names_every_check_with_its_status(void)
{
    struct doctor_run r = { .extra = "--json" };
    char want[64];

    need_dev_fuse();
    enter_private_namespace();
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_TRUE(strncmp(proc.out, "{\"checks\": [", 12) == 0);
    EXPECT_TRUE(strstr(proc.out, "\"fail\": 0}") != NULL);
    for (size_t i = 0; i < sizeof check_names / sizeof check_names[0]; i++) {
        snprintf(want, sizeof want, "{\"check\": \"%s\", \"status\": ",
                 check_names[i]);
        if (!strstr(proc.out, want))
            ADD_FAILURE("no JSON object for %s:\n%s", check_names[i], proc.out);
    }
}

static void regular_file_over_dev_fuse_is_a_fail_with_the_fix(void)
{
    const char *empty = h_path("empty");
    struct doctor_run r = { 0 };

    need_dev_fuse();
    ASSERT_TRUE(h_write_file(empty, "", 0, 0644));
    enter_private_namespace();
    replace_dev_fuse(empty);
    EXPECT_EQ(run_doctor(&r), 1);
    EXPECT_LINE("FAIL", "fuse-device",
                "/dev/fuse is not the FUSE device: it is a regular file");
    /* it is a bind mount: the fix is to unmount it, not to rm it */
    EXPECT_LINE("FAIL", "fuse-device", "; fix: as root: umount /dev/fuse");
    EXPECT_TRUE(strstr(proc.out, "1 FAIL: fsp cannot work") != NULL);
}

static void dev_null_over_dev_fuse_is_named_as_the_wrong_device(void)
{
    struct doctor_run r = { 0 };

    need_dev_fuse();
    enter_private_namespace();
    replace_dev_fuse("/dev/null");
    EXPECT_EQ(run_doctor(&r), 1);
    EXPECT_LINE("FAIL", "fuse-device", "it is the character device 1:3, "
                "not the character device 10:229");
}

static void root_only_dev_fuse_fails_for_an_ordinary_user(void)
{
    const char *node = h_path("fuse-0600");
    struct doctor_run r = { .as_nobody = true };
    char want[96];

    need_dev_fuse();
    ASSERT_OK(mknod(node, S_IFCHR | 0600, makedev(10, 229)));
    ASSERT_OK(chmod(node, 0600));
    enter_private_namespace();
    replace_dev_fuse(node);
    EXPECT_EQ(run_doctor(&r), 1);
    snprintf(want, sizeof want, "not readable and writable by you (uid %d; "
             "mode 0600", NOBODY);
    EXPECT_LINE("FAIL", "fuse-device", want);
    EXPECT_LINE("FAIL", "fuse-device", "fix: as root: chmod 0666 /dev/fuse");
}

static void world_usable_dev_fuse_is_ok_for_an_ordinary_user(void)
{
    const char *node = h_path("fuse-0666");
    struct doctor_run r = { .as_nobody = true };

    need_dev_fuse();
    ASSERT_OK(mknod(node, S_IFCHR | 0666, makedev(10, 229)));
    ASSERT_OK(chmod(node, 0666));
    enter_private_namespace();
    replace_dev_fuse(node);
    run_doctor(&r);
    EXPECT_LINE("ok", "fuse-device", "is the FUSE device (char 10:229, mode "
                "0666) and opens read-write for you");
}

/* ------------------------------------------------------------------ */

static const char *make_class_dir(const char *name, const char *text)
{
    const char *dir = h_path("classes");
    char file[PATH_MAX];

    mkdir(dir, 0755);
    snprintf(file, sizeof file, "%s/%s", dir, name);
    if (!h_write_file(file, text, strlen(text), 0644))
        ADD_FAILURE("cannot write %s", file);
    return dir;
}

static void broken_class_file_is_reported_with_file_line_and_fix(void)
{
    const char *dir = make_class_dir("bad.conf",
                                     "# a class with a typo\n"
                                     "executable = /bin/true\n"
                                     "recovry = restart\n");
    struct doctor_run r = { .class_dir = dir };
    char want[PATH_MAX + 64];

    need_dev_fuse();
    enter_private_namespace();
    EXPECT_EQ(run_doctor(&r), 1);
    snprintf(want, sizeof want, "%s/bad.conf:3: unknown key 'recovry'; fix: ",
             dir);
    EXPECT_LINE("FAIL", "class-file", want);
    EXPECT_LINE("FAIL", "class-file", "the keys are");
}

static void launcher_not_running_is_a_fail_when_classes_exist(void)
{
    const char *dir = make_class_dir("good.conf",
                                     "executable = /bin/true\n");
    struct doctor_run r = { .class_dir = dir };

    need_dev_fuse();
    enter_private_namespace();
    EXPECT_EQ(run_doctor(&r), 1);
    EXPECT_LINE("ok", "class-file", "1 class file in");
    EXPECT_LINE("FAIL", "launcher", "the launcher is not running");
    EXPECT_LINE("FAIL", "launcher", "; fix: as root: systemctl start");
}

/* A socket at @path that accepts connections (the kernel queues them). */
static int listen_at(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = ASSERT_OK(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));

    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    ASSERT_OK(bind(fd, (struct sockaddr *)&addr, sizeof addr));
    ASSERT_OK(listen(fd, 4));
    return fd;
}

/* A launcher that answers one list request with two instances. */
static void fake_launcher(int lfd)
{
    char req[64] = "";
    int fd = accept(lfd, NULL, NULL);
    ssize_t n = fd >= 0 ? read(fd, req, sizeof req - 1) : -1;
    static const char answer[] =
        "I\tmemfs\ta\t100\trunning\t0\t/mnt/a\n"
        "I\tmemfs\tb\t101\trunning\t1\t/mnt/b\n"
        "OK\n";

    if (n != 5 || strcmp(req, "list\n") != 0)
        _exit(1);
    if (write(fd, answer, sizeof answer - 1) != (ssize_t)sizeof answer - 1)
        _exit(1);
    _exit(0);
}

static void launcher_answering_list_is_ok_with_its_instances(void)
{
    const char *sock = h_path("launcher.sock");
    struct doctor_run r = { .socket = sock };
    int fd, st = -1;
    pid_t server;

    need_dev_fuse();
    enter_private_namespace();
    fd = listen_at(sock);
    server = ASSERT_OK(fork());
    if (server == 0)
        fake_launcher(fd);
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_LINE("ok", "launcher", "answers on");
    EXPECT_LINE("ok", "launcher", ": 2 instances running");
    EXPECT_EQ(h_waitpid_timeout(server, &st, 5), server);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd);
}

static void launcher_that_never_answers_is_reported_hung(void)
{
    const char *sock = h_path("launcher.sock");
    struct doctor_run r = { .socket = sock };
    int fd;

    need_dev_fuse();
    enter_private_namespace();
    fd = listen_at(sock);               /* queued, never accepted */
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_LINE("warn", "launcher", "did not answer a list request within");
    EXPECT_LINE("warn", "launcher", "; fix: as root: systemctl restart");
    close(fd);
}

static void socket_left_by_a_dead_launcher_has_the_rm_fix(void)
{
    const char *sock = h_path("launcher.sock");
    struct doctor_run r = { .socket = sock };
    char want[PATH_MAX + 32];

    need_dev_fuse();
    enter_private_namespace();
    close(listen_at(sock));             /* the file stays, nobody listens */
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_LINE("warn", "launcher", "nobody listens");
    snprintf(want, sizeof want, "; fix: as root: rm %s && ", sock);
    EXPECT_LINE("warn", "launcher", want);
}

/* ------------------------------------------------------------------ */

/* Run a fix doctor printed, as a shell would. */
static int run_fix(const char *fix)
{
    return h_runl(&proc, 15, "/bin/sh", "-c", fix, NULL);
}

static void dead_mount_is_a_fail_whose_fix_clears_it(void)
{
    struct h_mount m;
    struct doctor_run r = { 0 };
    char want[512], fix[512];
    const char *l;
    int st;

    need_dev_fuse();
    enter_private_namespace();
    ASSERT_TRUE(h_mount(&m, "no_auto_unmount", 0));
    EXPECT_OK(kill(m.pid, SIGKILL));
    h_waitpid_timeout(m.pid, &st, 5);
    m.pid = 0;
    ASSERT_EQ(h_mountinfo_count(m.mnt), 1);

    /* Over io_uring the kernel ends the connection a moment after the
     * daemon's death, when its rings are torn down; until then the mount
     * does not answer (a warn). Ask again for up to 5 s. */
    int status = run_doctor(&r);
    for (int i = 0; i < 10 && status == 0; i++) {
        h_sleep(0.5);
        status = run_doctor(&r);
    }
    EXPECT_EQ(status, 1);
    snprintf(want, sizeof want, "%s (fuse.%s from %s, connection %u) is left "
             "behind: its daemon is gone", m.mnt, h_fs_name(), h_fs_name(),
             m.dev_minor);
    l = EXPECT_LINE("FAIL", "mounts", want);
    snprintf(want, sizeof want, "; fix: umount -l %s", m.mnt);
    EXPECT_LINE("FAIL", "mounts", want);
    if (l && strstr(l, "; fix: ")) {
        snprintf(fix, sizeof fix, "%s", strstr(l, "; fix: ") + 7);
        EXPECT_EQ(run_fix(fix), 0);
    }
    EXPECT_EQ(h_mountinfo_count(m.mnt), 0);
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_LINE("ok", "mounts", "no FUSE mounts");
    h_unmount(&m, NULL);
}

static void hung_mount_is_a_warn_with_the_abort_command(void)
{
    struct h_mount m;
    struct doctor_run r = { 0 };
    char want[512];

    need_dev_fuse();
    enter_private_namespace();
    ASSERT_TRUE(h_mount(&m, NULL, 0));
    /* A stopped daemon answers nothing, as a hung one would. */
    EXPECT_OK(kill(m.pid, SIGSTOP));
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_OK(kill(m.pid, SIGCONT));
    snprintf(want, sizeof want, "%s (fuse.%s from %s, connection %u) did not "
             "answer within", m.mnt, h_fs_name(), h_fs_name(), m.dev_minor);
    EXPECT_LINE("warn", "mounts", want);
    snprintf(want, sizeof want, "echo 1 > /sys/fs/fuse/connections/%u/abort "
             "&& umount -l %s", m.dev_minor, m.mnt);
    EXPECT_LINE("warn", "mounts", want);
    /* once it answers again, it is a healthy mount */
    EXPECT_EQ(run_doctor(&r), 0);
    EXPECT_LINE("ok", "mounts", "1 FUSE mount, 1 answered");
    EXPECT_TRUE(h_unmount(&m, NULL));
}

static char *const user_env[] = { "PATH=/usr/local/bin:/usr/bin:/bin",
                                  "HOME=/tmp", "LANG=C", NULL };

/* Root sees a mount of another user only by asking as that user (the
 * kernel answers root's statfs() without the daemon); the user is told
 * the fusermount3 command, which works for them. */
static void users_dead_mount_is_found_by_root_and_cleared_by_the_user(void)
{
    const char *node = h_path("fuse-0666");
    const char *mnt = h_path("usermnt");
    char tool[PATH_MAX], want[512], fix[512];
    char *memfs_argv[] = { tool, "-o", "no_auto_unmount", (char *)mnt, NULL };
    struct h_run_opts o = { .uid = NOBODY, .gid = NOBODY, .drop = true,
                            .envp = user_env, .timeout_s = 20 };
    struct doctor_run r = { 0 };
    const char *l;
    pid_t pid;

    need_dev_fuse();
    prctl(PR_SET_CHILD_SUBREAPER, 1);   /* the daemon is reaped by us */
    ASSERT_OK(mknod(node, S_IFCHR | 0666, makedev(10, 229)));
    ASSERT_OK(chmod(node, 0666));
    ASSERT_OK(mkdir(mnt, 0755));
    ASSERT_OK(chown(mnt, NOBODY, NOBODY));
    enter_private_namespace();
    replace_dev_fuse(node);
    snprintf(tool, sizeof tool, "%s/memfs", h_bin_dir);
    if (h_run(&proc, &o, memfs_argv) != 0) {
        ADD_FAILURE("memfs as uid %d failed: %s", NOBODY, proc.err);
        expect_abort_case();
    }
    pid = h_find_process("memfs", mnt);
    if (pid <= 0) {
        ADD_FAILURE("no memfs process serving %s", mnt);
        expect_abort_case();
    }
    EXPECT_OK(kill(pid, SIGKILL));
    EXPECT_TRUE(h_wait_gone(pid, 5));
    waitpid(pid, NULL, WNOHANG);

    EXPECT_EQ(run_doctor(&r), 1);
    snprintf(want, sizeof want, "%s (fuse.memfs from memfs, connection", mnt);
    EXPECT_LINE("FAIL", "mounts", want);
    snprintf(want, sizeof want, "; fix: umount -l %s", mnt);
    EXPECT_LINE("FAIL", "mounts", want);

    r.as_nobody = true;
    EXPECT_EQ(run_doctor(&r), 1);
    snprintf(want, sizeof want, "; fix: fusermount3 -u -z %s", mnt);
    l = EXPECT_LINE("FAIL", "mounts", want);
    if (l) {
        char *fix_argv[] = { "/bin/sh", "-c", fix, NULL };

        snprintf(fix, sizeof fix, "%s", strstr(l, "; fix: ") + 7);
        o.timeout_s = 10;
        EXPECT_EQ(h_run(&proc, &o, fix_argv), 0);
    }
    EXPECT_EQ(h_mountinfo_count(mnt), 0);
}

static const struct h_case cases[] = {
    H_CASE(healthy_machine_exits_0_with_a_line_for_every_check, NULL, H_NOMOUNT),
    H_CASE(quiet_prints_only_warn_and_fail_lines, NULL, H_NOMOUNT),
    H_CASE(json_output_names_every_check_with_its_status, NULL, H_NOMOUNT),
    H_CASE(regular_file_over_dev_fuse_is_a_fail_with_the_fix, NULL, H_NOMOUNT),
    H_CASE(dev_null_over_dev_fuse_is_named_as_the_wrong_device, NULL, H_NOMOUNT),
    H_CASE(root_only_dev_fuse_fails_for_an_ordinary_user, NULL, H_NOMOUNT),
    H_CASE(world_usable_dev_fuse_is_ok_for_an_ordinary_user, NULL, H_NOMOUNT),
    H_CASE(broken_class_file_is_reported_with_file_line_and_fix, NULL, H_NOMOUNT),
    H_CASE(launcher_not_running_is_a_fail_when_classes_exist, NULL, H_NOMOUNT),
    H_CASE(launcher_answering_list_is_ok_with_its_instances, NULL, H_NOMOUNT),
    H_CASE(launcher_that_never_answers_is_reported_hung, NULL, H_NOMOUNT),
    H_CASE(socket_left_by_a_dead_launcher_has_the_rm_fix, NULL, H_NOMOUNT),
    H_CASE(dead_mount_is_a_fail_whose_fix_clears_it, NULL, H_NOMOUNT),
    H_CASE(hung_mount_is_a_warn_with_the_abort_command, NULL, H_NOMOUNT),
    H_CASE(users_dead_mount_is_found_by_root_and_cleared_by_the_user, NULL,
           H_NOMOUNT),
};

int main(int argc, char **argv)
{
    return h_main("doctor", argc, argv, cases, sizeof cases / sizeof cases[0]);
}
