/*
 * locks.c - what the file system serves itself when it sets the lock,
 * ioctl and poll callbacks: POSIX byte-range locks and flock(2) locks
 * between processes, file attribute flags (chattr +i, +a) and poll(2).
 *
 * memfs serves locks from its own table when it runs with handles
 * (-o open_handles; per_file_context volumes leave locks to the kernel,
 * fsp.h). That the table answers, and not the kernel's, shows in the
 * volume's request counts: the kernel sends no SETLK when it keeps the
 * locks itself (the kernel_locks case). Over ptfs (FSP_TEST_FS=ptfs) the
 * same cases lock the files of SOURCE.
 *
 * semantics.c checks the same lock rules on the default mounts, where
 * the kernel keeps the locks; these cases are about the parts that only
 * a file system that serves locks has: waiting in the file system, the
 * interrupt of a wait, unlocking at close and release.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "peer.h"

#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Locks served by the volume: on memfs, its table with handles (main()
 * adds open_handles to every case's options); ptfs serves them always. */
#define SERVED NULL

static void make_file(const char *path)
{
    if (!h_write_file(path, "0123456789", 10, 0644)) {
        ADD_FAILURE("cannot create %s: %s", path, expect_errname(errno));
        expect_abort_case();
    }
}

/* In a child: open @p path, or fail the case. */
static int child_open(const char *path, int flags)
{
    int fd = open(path, flags);

    if (fd < 0) {
        ADD_FAILURE("child open %s: %s", path, expect_errname(errno));
        expect_abort_case();
    }
    return fd;
}

/* Requests of @p op the volume has seen (fsptool stat). */
static long long seen(const char *op)
{
    return h_op_count(h_cur_mount(), op);
}

/* ------------------------------------------------------------------ */
/* POSIX locks                                                         */

static void conflict_child(struct peer *p, void *arg)
{
    int fd = child_open(arg, O_RDWR);

    /* the parent holds a write lock on [0, 10) */
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES);
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_RDLCK, 9, 5), EAGAIN, EACCES);
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 10, 5));  /* just beside */
    struct flock fl = get_lock(fd, F_GETLK, F_RDLCK, 0, 100);
    EXPECT_EQ(fl.l_type, F_WRLCK);
    EXPECT_EQ(fl.l_pid, getppid());
    EXPECT_EQ(fl.l_start, 0);
    EXPECT_EQ(fl.l_len, 10);
    close(fd);
    peer_step(p);
}

/* The parent holds a write lock on [0, 10) that a child runs into. */
static void lock_against_a_child(void)
{
    const char *path = h_path("locked");
    struct peer p;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    peer_start(&p, conflict_child, (void *)path);
    peer_wait(&p);
    peer_finish(&p);
    close(fd);
}

static void posix_locks_conflict_between_processes_in_the_volume(void)
{
    lock_against_a_child();
    /* asked of the volume, not kept by the kernel */
    EXPECT_TRUE(seen("setlk") >= 4);
    EXPECT_TRUE(seen("getlk") >= 1);
}

static void the_kernel_keeps_the_locks_of_a_volume_that_does_not(void)
{
    lock_against_a_child();
    EXPECT_EQ(seen("setlk"), 0);
    EXPECT_EQ(seen("getlk"), 0);
}

static void split_child(struct peer *p, void *arg)
{
    int fd = child_open(arg, O_RDWR);
    struct flock fl;

    /* the parent: read [0, 100), then a write lock over [40, 60) and an
     * unlock of [80, 90): read [0,40) write [40,60) read [60,80) and
     * [90,100) */
    fl = get_lock(fd, F_GETLK, F_WRLCK, 0, 1);
    EXPECT_EQ(fl.l_type, F_RDLCK);
    EXPECT_EQ(fl.l_start, 0);
    EXPECT_EQ(fl.l_len, 40);
    fl = get_lock(fd, F_GETLK, F_RDLCK, 45, 1);
    EXPECT_EQ(fl.l_type, F_WRLCK);
    EXPECT_EQ(fl.l_start, 40);
    EXPECT_EQ(fl.l_len, 20);
    EXPECT_OK(set_lock(fd, F_SETLK, F_RDLCK, 30, 10));  /* read shares */
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 80, 10));  /* the hole */
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 79, 1), EAGAIN, EACCES);
    fl = get_lock(fd, F_GETLK, F_WRLCK, 90, 1000);
    EXPECT_EQ(fl.l_type, F_RDLCK);
    EXPECT_EQ(fl.l_start, 90);
    EXPECT_EQ(fl.l_len, 10);
    close(fd);
    peer_step(p);
}

static void an_owners_locks_split_and_merge_by_range(void)
{
    const char *path = h_path("locked");
    struct peer p;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_RDLCK, 0, 50));
    ASSERT_OK(set_lock(fd, F_SETLK, F_RDLCK, 50, 50)); /* merges */
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 40, 20));
    ASSERT_OK(set_lock(fd, F_SETLK, F_UNLCK, 80, 10));
    peer_start(&p, split_child, (void *)path);
    peer_wait(&p);
    peer_finish(&p);
    close(fd);
}

static void waiter_child(struct peer *p, void *arg)
{
    int fd = child_open(arg, O_RDWR);

    send_byte(p->done[1]);                      /* about to wait */
    EXPECT_OK(set_lock(fd, F_SETLKW, F_WRLCK, 0, 10));
    send_byte(p->done[1]);                      /* got it */
    if (!wait_byte(p->go[0], 20))
        ADD_FAILURE("no word from the parent");
    close(fd);
}

static void a_waiting_setlkw_is_woken_by_the_unlock(void)
{
    const char *path = h_path("locked");
    struct peer p;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 5, 1));
    peer_start(&p, waiter_child, (void *)path);
    peer_wait(&p);
    h_sleep(0.3);
    EXPECT_FALSE(byte_ready(p.done[0]));        /* still waiting */
    EXPECT_OK(set_lock(fd, F_SETLK, F_UNLCK, 0, 0));
    peer_wait(&p);                              /* woken */
    /* now the child holds it */
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_RDLCK, 0, 1), EAGAIN, EACCES);
    peer_finish(&p);
    EXPECT_TRUE(seen("setlkw") >= 1);
    close(fd);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void interrupted_child(struct peer *p, void *arg)
{
    struct sigaction sa;
    struct itimerval it = { .it_value = { .tv_usec = 300000 } };
    int fd = child_open(arg, O_RDWR);

    /* no SA_RESTART: the kernel restarts a lock wait otherwise */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERRNO(set_lock(fd, F_SETLKW, F_WRLCK, 0, 10), EINTR);
    /* the child keeps its descriptor open: only the wait ended */
    peer_step(p);
    close(fd);
}

static void an_interrupted_setlkw_fails_with_eintr_and_leaves_no_lock(void)
{
    const char *path = h_path("locked");
    struct peer p;
    struct flock fl;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 1));
    peer_start(&p, interrupted_child, (void *)path);
    peer_wait(&p);
    /* the holder goes: the abandoned wait must not take the lock */
    EXPECT_OK(set_lock(fd, F_SETLK, F_UNLCK, 0, 0));
    h_sleep(0.1);
    int other = ASSERT_OK(open(path, O_RDWR));
    pid_t probe = fork();
    if (probe == 0) {
        /* another process, so that the parent's own locks do not count */
        fl = get_lock(other, F_GETLK, F_WRLCK, 0, 100);
        _exit(fl.l_type == F_UNLCK ? 0 : 1);
    }
    int st = 0;
    EXPECT_EQ(h_waitpid_timeout(probe, &st, 10), probe);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    peer_finish(&p);
    close(other);
    close(fd);
}

static void closer_child(struct peer *p, void *arg)
{
    int fd = child_open(arg, O_RDWR);

    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES);
    peer_step(p);           /* the parent closes another descriptor */
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 1));
    close(fd);
    peer_step(p);
}

static void closing_any_descriptor_drops_the_process_locks(void)
{
    const char *path = h_path("locked");
    struct peer p;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDWR));
    int fd2 = ASSERT_OK(open(path, O_RDONLY));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    peer_start(&p, closer_child, (void *)path);
    peer_wait(&p);
    EXPECT_OK(close(fd2));  /* not the one that locked */
    send_byte(p.go[1]);
    peer_wait(&p);
    peer_finish(&p);
    EXPECT_TRUE(seen("flush") >= 1);
    close(fd);
}

static void ofd_child(struct peer *p, void *arg)
{
    int fd = child_open(arg, O_RDWR);

    peer_step(p);           /* the parent locks */
    EXPECT_ERRNO2(set_lock(fd, F_OFD_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES);
    peer_step(p);           /* the parent closes its last descriptor */
    EXPECT_OK(set_lock(fd, F_OFD_SETLK, F_WRLCK, 0, 1));
    close(fd);
    peer_step(p);
}

static void an_open_file_lock_ends_with_the_open_file(void)
{
    const char *path = h_path("locked");
    struct peer p;

    make_file(path);
    /* forked first: a child would hold the open file too */
    peer_start(&p, ofd_child, (void *)path);
    peer_wait(&p);
    int fd = ASSERT_OK(open(path, O_RDWR));
    int keep = ASSERT_OK(open(path, O_RDONLY)); /* the file stays open */
    ASSERT_OK(set_lock(fd, F_OFD_SETLK, F_WRLCK, 0, 10));
    int dup1 = ASSERT_OK(dup(fd));
    EXPECT_OK(close(fd));   /* the open file lives on in dup1 */
    send_byte(p.go[1]);
    peer_wait(&p);
    EXPECT_OK(close(dup1)); /* RELEASE: the lock's owner is gone */
    h_sleep(0.1);
    send_byte(p.go[1]);
    peer_wait(&p);
    peer_finish(&p);
    close(keep);
}

/* ------------------------------------------------------------------ */
/* flock                                                               */

struct flock_try {
    const char *path;
    int op;             /* LOCK_SH or LOCK_EX, with LOCK_NB */
    int want_errno;     /* 0: must succeed */
};

static void flock_try_child(struct peer *p, void *arg)
{
    const struct flock_try *t = arg;
    int fd = child_open(t->path, O_RDONLY);

    if (t->want_errno)
        EXPECT_ERRNO(flock(fd, t->op | LOCK_NB), t->want_errno);
    else
        EXPECT_OK(flock(fd, t->op | LOCK_NB));
    close(fd);
    peer_step(p);
}

static void try_from_child(const char *path, int op, int want_errno)
{
    struct flock_try t = { path, op, want_errno };
    struct peer p;

    peer_start(&p, flock_try_child, &t);
    peer_wait(&p);
    peer_finish(&p);
}

static void flock_shares_excludes_converts_and_ends_at_the_last_close(void)
{
    const char *path = h_path("flocked");

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDONLY));
    ASSERT_OK(flock(fd, LOCK_SH));
    try_from_child(path, LOCK_SH, 0);
    try_from_child(path, LOCK_EX, EWOULDBLOCK);
    ASSERT_OK(flock(fd, LOCK_EX | LOCK_NB));    /* conversion */
    try_from_child(path, LOCK_SH, EWOULDBLOCK);
    ASSERT_OK(flock(fd, LOCK_SH | LOCK_NB));    /* and back */
    try_from_child(path, LOCK_SH, 0);
    /* another open file of the same process is another owner */
    int fd2 = ASSERT_OK(open(path, O_RDONLY));
    EXPECT_ERRNO(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    close(fd2);
    /* a dup shares the open file, and its lock outlives the first close */
    int dup1 = ASSERT_OK(dup(fd));
    EXPECT_OK(close(fd));
    try_from_child(path, LOCK_EX, EWOULDBLOCK);
    EXPECT_OK(close(dup1));                     /* RELEASE unlocks */
    h_sleep(0.1);
    try_from_child(path, LOCK_EX, 0);
    EXPECT_TRUE(seen("setlk") >= 4);
}

static void flock_waiter_child(struct peer *p, void *arg)
{
    int fd = child_open(arg, O_RDONLY);

    send_byte(p->done[1]);
    EXPECT_OK(flock(fd, LOCK_EX));
    send_byte(p->done[1]);
    if (!wait_byte(p->go[0], 20))
        ADD_FAILURE("no word from the parent");
    close(fd);
}

static void a_waiting_flock_is_woken_by_the_unlock(void)
{
    const char *path = h_path("flocked");
    struct peer p;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDONLY));
    ASSERT_OK(flock(fd, LOCK_SH));
    peer_start(&p, flock_waiter_child, (void *)path);
    peer_wait(&p);
    h_sleep(0.3);
    EXPECT_FALSE(byte_ready(p.done[0]));
    EXPECT_OK(flock(fd, LOCK_UN));
    peer_wait(&p);
    EXPECT_ERRNO(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    peer_finish(&p);
    close(fd);
}

/* ------------------------------------------------------------------ */
/* file attribute flags                                                */

static int get_flags(const char *path, int *flags)
{
    int fd = open(path, O_RDONLY), r;

    if (fd < 0)
        return -1;
    r = ioctl(fd, FS_IOC_GETFLAGS, flags);
    close(fd);
    return r;
}

static int set_flags(const char *path, int flags)
{
    int fd = open(path, O_RDONLY), r;

    if (fd < 0)
        return -1;
    r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    close(fd);
    return r;
}

static void an_immutable_file_refuses_every_change(void)
{
    const char *path = h_path("frozen");
    int flags = 0;
    struct fsxattr fa;

    make_file(path);
    ASSERT_OK(get_flags(path, &flags));
    EXPECT_EQ(flags & FS_IMMUTABLE_FL, 0);
    ASSERT_OK(set_flags(path, flags | FS_IMMUTABLE_FL));
    ASSERT_OK(get_flags(path, &flags));
    EXPECT_TRUE(flags & FS_IMMUTABLE_FL);
    /* the same flag through the xfs-style call */
    int fd = ASSERT_OK(open(path, O_RDONLY));
    EXPECT_OK(ioctl(fd, FS_IOC_FSGETXATTR, &fa));
    EXPECT_TRUE(fa.fsx_xflags & FS_XFLAG_IMMUTABLE);
    close(fd);

    EXPECT_ERRNO(open(path, O_WRONLY), EPERM);
    EXPECT_ERRNO(open(path, O_WRONLY | O_APPEND), EPERM);
    EXPECT_ERRNO(truncate(path, 0), EPERM);
    EXPECT_ERRNO(chmod(path, 0600), EPERM);
    EXPECT_ERRNO(unlink(path), EPERM);
    EXPECT_ERRNO(rename(path, h_path("moved")), EPERM);
    EXPECT_ERRNO(link(path, h_path("second")), EPERM);
    char buf[16];
    EXPECT_EQ(h_read_file(path, buf, sizeof buf), 10);  /* reads work */

    ASSERT_OK(set_flags(path, flags & ~FS_IMMUTABLE_FL));
    EXPECT_OK(truncate(path, 0));
    EXPECT_OK(unlink(path));
}

static void an_append_only_file_takes_appends_only(void)
{
    const char *path = h_path("log");
    int flags = 0;
    struct stat st;

    make_file(path);
    ASSERT_OK(get_flags(path, &flags));
    ASSERT_OK(set_flags(path, flags | FS_APPEND_FL));
    EXPECT_ERRNO(open(path, O_WRONLY), EPERM);
    EXPECT_ERRNO(open(path, O_RDWR | O_TRUNC | O_APPEND), EPERM);
    int fd = EXPECT_OK(open(path, O_WRONLY | O_APPEND));
    if (fd >= 0) {
        EXPECT_EQ(write(fd, "+", 1), 1);
        EXPECT_ERRNO(ftruncate(fd, 0), EPERM);
        close(fd);
    }
    ASSERT_OK(stat(path, &st));
    EXPECT_EQ(st.st_size, 11);
    EXPECT_ERRNO(truncate(path, 0), EPERM);
    EXPECT_ERRNO(unlink(path), EPERM);
    EXPECT_ERRNO(rename(path, h_path("moved")), EPERM);
    EXPECT_ERRNO(chmod(path, 0600), EPERM);
    ASSERT_OK(set_flags(path, flags & ~FS_APPEND_FL));
    EXPECT_OK(unlink(path));
}

/* As on ext4 (generic/277): setting a flag changes the ctime, and a stat
 * right after shows it, whatever the attribute cache held. */
static void setting_a_flag_changes_the_ctime_at_once(void)
{
    const char *path = h_path("touched");
    struct stat before, after;
    int flags = 0;

    make_file(path);
    ASSERT_OK(stat(path, &before));  /* now in the kernel's cache */
    usleep(20 * 1000);
    ASSERT_OK(get_flags(path, &flags));
    ASSERT_OK(set_flags(path, flags | FS_NODUMP_FL));
    ASSERT_OK(stat(path, &after));
    EXPECT_TRUE(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
                (after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
                 after.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
    ASSERT_OK(set_flags(path, flags));
}

static void chattr_and_lsattr_show_and_change_the_flags(void)
{
    const char *path = h_path("attrs");
    static struct h_proc p;

    if (access("/usr/bin/chattr", X_OK) != 0)
        h_skip("no chattr (e2fsprogs)");
    make_file(path);
    EXPECT_EQ(h_runl(&p, 10, "/usr/bin/chattr", "+i", path, NULL), 0);
    EXPECT_EQ(h_runl(&p, 10, "/usr/bin/lsattr", path, NULL), 0);
    EXPECT_TRUE(strstr(p.out, "i") != NULL && strchr(p.out, ' ') &&
                strchr(p.out, 'i') < strchr(p.out, ' '));
    EXPECT_ERRNO(unlink(path), EPERM);
    EXPECT_EQ(h_runl(&p, 10, "/usr/bin/chattr", "-i", path, NULL), 0);
    EXPECT_OK(unlink(path));
}

static void an_unknown_ioctl_fails_with_enotty(void)
{
    const char *path = h_path("plain");
    int v = 0;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDONLY));
    /* a restricted ioctl no one knows: _IOR('z', 99, int) */
    EXPECT_ERRNO(ioctl(fd, _IOR('z', 99, int), &v), ENOTTY);
    close(fd);
}

/* ------------------------------------------------------------------ */
/* poll                                                                */

static void poll_asks_the_volume_and_a_file_is_ready(void)
{
    const char *path = h_path("polled");
    struct pollfd pfd;

    make_file(path);
    int fd = ASSERT_OK(open(path, O_RDWR));
    pfd.fd = fd;
    pfd.events = POLLIN | POLLOUT;
    pfd.revents = 0;
    EXPECT_EQ(poll(&pfd, 1, 1000), 1);
    EXPECT_EQ(pfd.revents & (POLLIN | POLLOUT), POLLIN | POLLOUT);
    close(fd);
    EXPECT_TRUE(seen("poll") >= 1);
}

static struct h_case cases[] = {
    H_CASE(posix_locks_conflict_between_processes_in_the_volume, SERVED,
           H_DAEMON),
    H_CASE(the_kernel_keeps_the_locks_of_a_volume_that_does_not,
           "kernel_locks", H_DAEMON),
    H_CASE(an_owners_locks_split_and_merge_by_range, SERVED, 0),
    H_CASE(a_waiting_setlkw_is_woken_by_the_unlock, SERVED, H_DAEMON),
    H_CASE(an_interrupted_setlkw_fails_with_eintr_and_leaves_no_lock, SERVED,
           0),
    H_CASE(closing_any_descriptor_drops_the_process_locks, SERVED, H_DAEMON),
    H_CASE(an_open_file_lock_ends_with_the_open_file, SERVED, 0),
    H_CASE(flock_shares_excludes_converts_and_ends_at_the_last_close, SERVED,
           H_DAEMON),
    H_CASE(a_waiting_flock_is_woken_by_the_unlock, SERVED, 0),
    H_CASE(an_immutable_file_refuses_every_change, SERVED, 0),
    H_CASE(an_append_only_file_takes_appends_only, SERVED, 0),
    H_CASE(setting_a_flag_changes_the_ctime_at_once, SERVED, 0),
    H_CASE(chattr_and_lsattr_show_and_change_the_flags, SERVED, 0),
    H_CASE(an_unknown_ioctl_fails_with_enotty, SERVED, 0),
    H_CASE(poll_asks_the_volume_and_a_file_is_ready, SERVED, H_DAEMON),
};

int main(int argc, char **argv)
{
    /* memfs serves locks only with handles */
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (strcmp(h_fs_name(), "memfs") != 0)
            continue;
        if (!cases[i].mount_opts)
            cases[i].mount_opts = "open_handles";
        else if (strcmp(cases[i].mount_opts, "kernel_locks") == 0)
            cases[i].mount_opts = "open_handles,kernel_locks";
    }
    return h_main("locks", argc, argv, cases, sizeof cases / sizeof *cases);
}
