/*
 * harness.c - see harness.h. The runner (the suite's main process) never
 * touches a mount except through umount2(2) in a bounded helper and
 * /proc/self/mountinfo: every file system call on a mount is made by a case
 * child that the runner can abandon.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FSP_BIN_DIR
#define FSP_BIN_DIR "build/bin"
#endif

#define H_MAXREG 32
#define H_MSGSIZE 32768

struct h_reg {
    int active;
    pid_t pid;
    unsigned minor;
    int have_minor;
    char mnt[256];
    char rmdir_after[256];
    char log[288];
};

struct h_shm {
    int failures;
    int skipped;
    char skip_reason[512];
    int lock;
    size_t msg_len;
    char msg[H_MSGSIZE];
    struct h_reg reg[H_MAXREG];
};

const char *h_root;
const char *h_bin_dir = FSP_BIN_DIR;

static struct h_shm *shm;
static const char *g_suite;
static const char *g_dir_mode;        /* FSP_TEST_DIR */
static pid_t g_runner_pid;
static struct h_mount g_mount;        /* the runner's mount for this case */
static bool g_have_mount;
static long long g_base_nodes; /* nodes of the runner's fresh mount */
static char g_scratch[256];           /* per-case dir (dir mode / H_NOMOUNT) */
static volatile sig_atomic_t g_interrupted;
static bool g_verbose;

bool h_dir_mode(void) { return g_dir_mode != NULL; }
const struct h_mount *h_cur_mount(void) { return g_have_mount ? &g_mount : NULL; }

/* ------------------------------------------------------------------ */
/* small utilities                                                     */

double h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void h_sleep(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

const char *h_path(const char *fmt, ...)
{
    static char bufs[16][PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 16];
    int n = snprintf(b, PATH_MAX, "%s/", h_root);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, PATH_MAX - n, fmt, ap);
    va_end(ap);
    return b;
}

bool h_contains_ci(const char *hay, const char *needle)
{
    return hay && needle && strcasestr(hay, needle) != NULL;
}

bool h_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return false;
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) {
            int e = errno;
            close(fd);
            errno = w == 0 ? EIO : e;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return close(fd) == 0;
}

ssize_t h_read_file(const char *path, void *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, (char *)buf + got, size - got);
        if (r < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return (ssize_t)got;
}

static int rm_cb(const char *p, const struct stat *sb, int type, struct FTW *f)
{
    (void)sb; (void)f;
    if (type == FTW_DP)
        return rmdir(p) == 0 || errno == ENOENT ? 0 : 0;
    unlink(p);
    return 0;
}

int h_rm_rf(const char *path)
{
    return nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void h_make_traversable(const char *dir)
{
    chmod(dir, 0755);
}

/* ------------------------------------------------------------------ */
/* results                                                             */

static void shm_lock(void)
{
    double end = h_now() + 1.0;
    while (__atomic_exchange_n(&shm->lock, 1, __ATOMIC_ACQUIRE))
        if (h_now() > end)
            return; /* holder died: go on */
}

static void shm_unlock(void) { __atomic_store_n(&shm->lock, 0, __ATOMIC_RELEASE); }

static void msg_append(char kind, const char *text)
{
    if (!shm) {
        fprintf(stderr, "%c %s\n", kind, text);
        return;
    }
    shm_lock();
    size_t n = strlen(text);
    if (shm->msg_len + n + 3 < H_MSGSIZE) {
        shm->msg[shm->msg_len++] = kind;
        memcpy(shm->msg + shm->msg_len, text, n);
        shm->msg_len += n;
        shm->msg[shm->msg_len++] = '\n';
        shm->msg[shm->msg_len] = 0;
    }
    shm_unlock();
}

/* expect.h's reporter: every failure of the case, in any of its processes,
 * counts in the shared page and shows on the case's result line. */
static void record_failure(const char *message)
{
    if (shm)
        __atomic_add_fetch(&shm->failures, 1, __ATOMIC_SEQ_CST);
    if (g_verbose)
        fprintf(stderr, "  [%d] %s\n", (int)getpid(), message);
    msg_append('F', message);
}

void h_note(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    msg_append('N', buf);
}

void h_skip(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (shm) {
        __atomic_store_n(&shm->skipped, 1, __ATOMIC_SEQ_CST);
        snprintf(shm->skip_reason, sizeof shm->skip_reason, "%s", buf);
    }
    _exit(0);
}

int h_failures(void) { return shm ? __atomic_load_n(&shm->failures, __ATOMIC_SEQ_CST) : 0; }

/* ------------------------------------------------------------------ */
/* processes                                                           */

pid_t h_waitpid_timeout(pid_t pid, int *status, double timeout_s)
{
    double end = h_now() + timeout_s;
    double nap = 0.0005;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return r;
        if (r < 0 && errno != EINTR)
            return -1;
        if (h_now() >= end)
            return 0;
        h_sleep(nap);
        if (nap < 0.02)
            nap *= 2;
    }
}

static bool pid_is_zombie_or_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return !p || p[1] == 0 || p[2] == 'Z' || p[2] == 'X';
}

bool h_wait_gone(pid_t pid, double timeout_s)
{
    double end = h_now() + timeout_s;
    for (;;) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return true;
        if (kill(pid, 0) == -1 && errno == ESRCH)
            return true;
        if (pid_is_zombie_or_gone(pid))
            return true;
        if (h_now() >= end)
            return false;
        h_sleep(0.005);
    }
}

static void read_back(int fd, char *buf, size_t size)
{
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = 0;
}

int h_run(struct h_proc *p, const struct h_run_opts *o, char *const argv[])
{
    static struct h_proc scratch;
    if (!p)
        p = &scratch;
    memset(p, 0, sizeof *p);
    char t1[] = "/tmp/fsptest-out.XXXXXX", t2[] = "/tmp/fsptest-err.XXXXXX";
    int fo = mkostemp(t1, O_CLOEXEC), fe = mkostemp(t2, O_CLOEXEC);
    if (fo < 0 || fe < 0) {
        if (fo >= 0) close(fo);
        if (fe >= 0) close(fe);
        return -1;
    }
    unlink(t1);
    unlink(t2);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fo);
        close(fe);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int dn = open("/dev/null", O_RDONLY);
        if (dn >= 0) { dup2(dn, 0); close(dn); }
        dup2(fo, 1);
        dup2(fe, 2);
        if (o && o->drop) {
            if (setgroups(0, NULL) || setresgid(o->gid, o->gid, o->gid) ||
                setresuid(o->uid, o->uid, o->uid)) {
                fprintf(stderr, "harness: cannot drop to %d:%d: %s\n",
                        (int)o->uid, (int)o->gid, strerror(errno));
                _exit(126);
            }
        }
        if (o && o->envp)
            execve(argv[0], argv, o->envp);
        else
            execv(argv[0], argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    double t = o && o->timeout_s > 0 ? o->timeout_s : 30;
    int st = 0;
    pid_t r = h_waitpid_timeout(pid, &st, t);
    int rc;
    if (r != pid) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        h_waitpid_timeout(pid, &st, 5);
        p->timed_out = true;
        rc = -1;
    } else if (WIFEXITED(st)) {
        rc = WEXITSTATUS(st);
    } else {
        rc = 128 + WTERMSIG(st);
    }
    p->status = st;
    read_back(fo, p->out, sizeof p->out);
    read_back(fe, p->err, sizeof p->err);
    close(fo);
    close(fe);
    return rc;
}

int h_runl(struct h_proc *p, double timeout_s, const char *path, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)path;
    va_list ap;
    va_start(ap, path);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 63)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    struct h_run_opts o = { .timeout_s = timeout_s };
    return h_run(p, &o, argv);
}

int h_as_user(uid_t uid, gid_t gid, void (*fn)(void *), void *arg)
{
    return h_as_user_in_groups(uid, gid, 0, NULL, fn, arg);
}

int h_as_user_in_groups(uid_t uid, gid_t gid, size_t ngroups,
                        const gid_t *groups, void (*fn)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        ADD_FAILURE("fork: %s", expect_errname(errno));
        return -1;
    }
    if (pid == 0) {
        if (setgroups(ngroups, groups) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
            ADD_FAILURE("cannot drop to uid %d gid %d: %s", (int)uid, (int)gid,
                        expect_errname(errno));
            _exit(1);
        }
        fn(arg);
        _exit(0);
    }
    int st = 0;
    if (h_waitpid_timeout(pid, &st, 60) != pid) {
        kill(pid, SIGKILL);
        h_waitpid_timeout(pid, &st, 5);
        ADD_FAILURE("process running as uid %d did not finish in 60 s", (int)uid);
        return -1;
    }
    if (WIFSIGNALED(st)) {
        ADD_FAILURE("process running as uid %d killed by signal %d", (int)uid, WTERMSIG(st));
        return -1;
    }
    return WEXITSTATUS(st);
}

int h_fork_workers(int nproc, void (*fn)(int, void *), void *arg, double timeout_s)
{
    pid_t pids[256];
    if (nproc > 256)
        nproc = 256;
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < nproc; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            fn(i, arg);
            _exit(0);
        }
        if (pids[i] < 0)
            ADD_FAILURE("fork: %s", expect_errname(errno));
    }
    int bad = 0;
    double end = h_now() + timeout_s;
    for (int i = 0; i < nproc; i++) {
        if (pids[i] <= 0) {
            bad++;
            continue;
        }
        int st = 0;
        double left = end - h_now();
        if (h_waitpid_timeout(pids[i], &st, left > 0 ? left : 0.01) != pids[i]) {
            ADD_FAILURE("worker %d (pid %d) did not finish within %.0f s", i,
                        (int)pids[i], timeout_s);
            kill(pids[i], SIGKILL);
            h_waitpid_timeout(pids[i], &st, 5);
            bad++;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (WIFSIGNALED(st))
                ADD_FAILURE("worker %d killed by signal %d", i, WTERMSIG(st));
            bad++;
        }
    }
    return bad;
}

pid_t h_find_process(const char *prog, const char *arg)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *e;
    pid_t found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[8192];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = 0;
        const char *a0 = buf;
        const char *base = strrchr(a0, '/');
        base = base ? base + 1 : a0;
        if (strcmp(base, prog) != 0)
            continue;
        for (const char *p = buf + strlen(buf) + 1; p < buf + n; p += strlen(p) + 1)
            if (strcmp(p, arg) == 0) {
                found = (pid_t)atoi(e->d_name);
                break;
            }
    }
    closedir(d);
    return found;
}

/* ------------------------------------------------------------------ */
/* mountinfo and connections                                           */

static char *read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (n + 4096 > cap)
            b = realloc(b, cap *= 2);
        ssize_t r = read(fd, b + n, cap - n - 1);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
}

/* Calls cb for every line whose mount point is mnt; returns the count. */
static int mountinfo_scan(const char *mnt, struct h_mountinfo *last)
{
    char *all = read_all("/proc/self/mountinfo", NULL);
    if (!all)
        return 0;
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned maj, min;
        char root[4096], mp[4096], opts[512];
        if (sscanf(line, "%*d %*d %u:%u %4095s %4095s %511s", &maj, &min, root, mp, opts) != 5)
            continue;
        unescape(mp);
        if (strcmp(mp, mnt) != 0)
            continue;
        count++;
        if (last) {
            memset(last, 0, sizeof *last);
            last->major = maj;
            last->minor = min;
            snprintf(last->opts, sizeof last->opts, "%s", opts);
            char *sep = strstr(line, " - ");
            if (sep) {
                char fstype[64] = "", source[256] = "", superopts[512] = "";
                sscanf(sep + 3, "%63s %255s %511s", fstype, source, superopts);
                unescape(source);
                snprintf(last->fstype, sizeof last->fstype, "%s", fstype);
                snprintf(last->source, sizeof last->source, "%s", source);
                snprintf(last->superopts, sizeof last->superopts, "%s", superopts);
            }
        }
    }
    free(all);
    return count;
}

bool h_mountinfo_find(const char *mnt, struct h_mountinfo *mi)
{
    struct h_mountinfo tmp;
    return mountinfo_scan(mnt, mi ? mi : &tmp) > 0;
}

int h_mountinfo_count(const char *mnt) { return mountinfo_scan(mnt, NULL); }

int h_detach_copied_fuse_mounts(void)
{
    char *all = read_all("/proc/self/mountinfo", NULL);
    if (!all)
        return 0;
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char mp[4096], fstype[64] = "";
        char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*d %*d %*s %*s %4095s", mp) != 1 ||
            sscanf(sep + 3, "%63s", fstype) != 1)
            continue;
        if (strcmp(fstype, "fuse") != 0 && strncmp(fstype, "fuse.", 5) != 0 &&
            strcmp(fstype, "fuseblk") != 0)
            continue;
        unescape(mp);
        if (umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
            n++;
    }
    free(all);
    return n;
}

bool h_abort_connection(unsigned minor)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/fs/fuse/connections/%u/abort", minor);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !h_mountinfo_find("/sys/fs/fuse/connections", NULL)) {
        mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL);
        fd = open(path, O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return false;
    bool ok = write(fd, "1", 1) == 1;
    close(fd);
    return ok;
}

/* umount2 in a helper process, so a stuck unmount cannot hang us. */
static bool umount_bounded(const char *mnt, unsigned minor, bool have_minor, double t)
{
    if (h_mountinfo_count(mnt) == 0)
        return true;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0)
            _exit(umount2(mnt, UMOUNT_NOFOLLOW) == 0 ? 0 : (errno & 0x7f));
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) { dup2(dn, 1); dup2(dn, 2); }
        execlp("fusermount3", "fusermount3", "-u", "--", mnt, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid > 0 && h_waitpid_timeout(pid, &st, t) == pid && WIFEXITED(st) &&
        WEXITSTATUS(st) == 0 && h_mountinfo_count(mnt) == 0)
        return true;
    if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
        h_note("umount %s: %s; unmounting lazily", mnt, expect_errname(WEXITSTATUS(st)));
    if (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
        /* still stuck in umount: abort the connection */
        if (have_minor)
            h_abort_connection(minor);
        kill(pid, SIGKILL);
        h_waitpid_timeout(pid, &st, 5);
    }
    /* lazy unmount; repeat for stacked mounts */
    for (int i = 0; i < 8 && h_mountinfo_count(mnt) > 0; i++) {
        if (geteuid() == 0) {
            umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW);
        } else {
            struct h_proc p;
            h_runl(&p, 10, "/usr/bin/fusermount3", "-u", "-z", "--", mnt, NULL);
        }
    }
    return h_mountinfo_count(mnt) == 0;
}

/* ------------------------------------------------------------------ */
/* registry                                                            */

static void remove_source_dir(const char *mnt);

int h_register(const char *mnt, pid_t pid, const char *rmdir_after)
{
    if (!shm)
        return -1;
    shm_lock();
    int slot = -1;
    for (int i = 0; i < H_MAXREG; i++)
        if (!shm->reg[i].active) {
            slot = i;
            struct h_reg *r = &shm->reg[i];
            memset(r, 0, sizeof *r);
            r->active = 1;
            r->pid = pid;
            snprintf(r->mnt, sizeof r->mnt, "%s", mnt);
            snprintf(r->rmdir_after, sizeof r->rmdir_after, "%s",
                     rmdir_after ? rmdir_after : "");
            struct h_mountinfo mi;
            if (h_mountinfo_find(mnt, &mi)) {
                r->minor = mi.minor;
                r->have_minor = 1;
            }
            break;
        }
    shm_unlock();
    return slot;
}

void h_unregister(int slot)
{
    if (shm && slot >= 0 && slot < H_MAXREG)
        shm->reg[slot].active = 0;
}

static void reg_update(int slot, pid_t pid, unsigned minor, int have_minor, const char *log)
{
    if (!shm || slot < 0)
        return;
    struct h_reg *r = &shm->reg[slot];
    if (pid)
        r->pid = pid;
    r->minor = minor;
    r->have_minor = have_minor;
    if (log)
        snprintf(r->log, sizeof r->log, "%s", log);
}

/* Tear down whatever is still registered: abort (if asked), unmount, kill. */
static void reg_cleanup_all(bool abort_first)
{
    if (!shm)
        return;
    for (int i = 0; i < H_MAXREG; i++) {
        struct h_reg *r = &shm->reg[i];
        if (!r->active)
            continue;
        struct h_mountinfo mi;
        if (!r->have_minor && h_mountinfo_find(r->mnt, &mi) && strncmp(mi.fstype, "fuse", 4) == 0) {
            r->minor = mi.minor;
            r->have_minor = 1;
        }
        if (abort_first && r->have_minor)
            h_abort_connection(r->minor);
        umount_bounded(r->mnt, r->minor, r->have_minor, 5);
        if (r->pid > 0 && !h_wait_gone(r->pid, 2)) {
            kill(r->pid, SIGKILL);
            h_wait_gone(r->pid, 5);
        }
        remove_source_dir(r->mnt);
        if (r->rmdir_after[0] && rmdir(r->rmdir_after) != 0 && errno != ENOENT)
            h_rm_rf(r->rmdir_after);
        if (r->log[0])
            unlink(r->log);
        r->active = 0;
    }
}

/* ------------------------------------------------------------------ */
/* mounting memfs                                                      */

static void log_tail(const char *log, char *out, size_t size)
{
    out[0] = 0;
    size_t n;
    char *all = read_all(log, &n);
    if (!all)
        return;
    const char *start = n > size - 1 ? all + n - (size - 1) : all;
    snprintf(out, size, "%s", start);
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = '|';
    free(all);
}

const char *h_fs_name(void)
{
    const char *fs = getenv("FSP_TEST_FS");
    return fs && *fs ? fs : "memfs";
}

bool h_fs_is_ptfs(void)
{
    return strcmp(h_fs_name(), "ptfs") == 0;
}

bool h_fs_is_sqlfs(void)
{
    return strcmp(h_fs_name(), "sqlfs") == 0;
}

bool h_sqlfs_on_pg(void)
{
    const char *pg = getenv("FSP_TEST_PG");
    return h_fs_is_sqlfs() && pg && *pg && strcmp(pg, "0") != 0;
}

/* sqlfs on PostgreSQL (FSP_TEST_PG, with PGHOST, PGPORT and PGUSER naming
 * the tests' cluster: tests/pg/cluster): a database of its own per mount
 * point, named by a hash of its path. */
static void pg_dbname_of(const char *mnt, char *out, size_t size)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = mnt; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    snprintf(out, size, "fsp_%016llx", (unsigned long long)h);
}

/* createdb or dropdb NAME, bounded; their failures show as the mount's. */
static void pg_db_command(const char *tool, const char *mnt)
{
    struct h_proc p;
    char name[32];
    pg_dbname_of(mnt, name, sizeof name);
    if (strcmp(tool, "dropdb") == 0)
        h_runl(&p, 30, "/usr/bin/dropdb", "--if-exists", "--force",
               name, (char *)NULL);
    else
        h_runl(&p, 30, "/usr/bin/createdb", name, (char *)NULL);
}

/* ptfs serves a directory beside the mount point, MNT.src; sqlfs a
 * database file, MNT.sqlite, or on PostgreSQL "dbname=NAME". */
static void source_dir_of(const char *mnt, char *out, size_t size)
{
    char name[32];
    if (h_sqlfs_on_pg()) {
        pg_dbname_of(mnt, name, sizeof name);
        snprintf(out, size, "dbname=%s", name);
        return;
    }
    snprintf(out, size, "%s.%s", mnt, h_fs_is_sqlfs() ? "sqlite" : "src");
}

static void remove_source_dir(const char *mnt)
{
    static const char *const sqlite_files[] = {"", "-wal", "-shm"};
    char src[PATH_MAX], path[PATH_MAX + 8];
    if (h_sqlfs_on_pg()) {
        pg_db_command("dropdb", mnt);
        return;
    }
    if (h_fs_is_sqlfs()) {
        source_dir_of(mnt, src, sizeof src);
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s%s", src, sqlite_files[i]);
            unlink(path);
        }
        return;
    }
    if (!h_fs_is_ptfs())
        return;
    source_dir_of(mnt, src, sizeof src);
    h_rm_rf(src);
}

static bool mount_impl(struct h_mount *m, const char *opts_in, unsigned mflags)
{
    char memfs[PATH_MAX], src[PATH_MAX], opts_buf[1024];
    const char *extra = getenv("FSP_TEST_FS_OPTS");
    const char *opts = opts_in;
    snprintf(memfs, sizeof memfs, "%s/%s", h_bin_dir, h_fs_name());
    /* FSP_TEST_FS_OPTS run every mount with more options (slowio...) */
    if (extra && *extra) {
        snprintf(opts_buf, sizeof opts_buf, "%s%s%s", opts_in ? opts_in : "",
                 opts_in && *opts_in ? "," : "", extra);
        opts = opts_buf;
    }
    if (m->log[0] == 0) {
        snprintf(m->log, sizeof m->log, "/tmp/fsptest-log.XXXXXX");
        int fd = mkostemp(m->log, O_CLOEXEC);
        if (fd >= 0)
            close(fd);
    }
    char *argv[10];
    int n = 0;
    argv[n++] = memfs;
    if (!(mflags & H_M_DAEMONIZE))
        argv[n++] = "-f";
    if (mflags & H_M_DEBUG)
        argv[n++] = "-d";
    if (opts && *opts) {
        argv[n++] = "-o";
        argv[n++] = (char *)opts;
    }
    if (m->source[0]) {
        argv[n++] = m->source; /* the case's own, kept */
    } else if (h_fs_is_ptfs()) {
        source_dir_of(m->mnt, src, sizeof src);
        if (mkdir(src, 0755) != 0 && errno != EEXIST) {
            ADD_FAILURE("mkdir %s: %s", src, expect_errname(errno));
            return false;
        }
        argv[n++] = src;
    } else if (h_fs_is_sqlfs()) {
        if (h_sqlfs_on_pg())
            pg_db_command("createdb", m->mnt); /* sqlfs makes the tables */
        source_dir_of(m->mnt, src, sizeof src); /* created by sqlfs */
        argv[n++] = src;
    }
    argv[n++] = m->mnt;
    argv[n] = NULL;

    m->slot = h_register(m->mnt, 0, m->dir[0] ? m->dir : NULL);
    reg_update(m->slot, 0, 0, 0, m->log);

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        ADD_FAILURE("fork: %s", expect_errname(errno));
        return false;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (!(mflags & H_M_DAEMONIZE))
            prctl(PR_SET_PDEATHSIG, SIGTERM);
        int dn = open("/dev/null", O_RDONLY);
        if (dn >= 0) { dup2(dn, 0); close(dn); }
        int lf = open(m->log, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (lf >= 0) { dup2(lf, 1); dup2(lf, 2); close(lf); }
        execv(memfs, argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", memfs, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    char tail[600];
    if (mflags & H_M_DAEMONIZE) {
        int st = 0;
        if (h_waitpid_timeout(pid, &st, 20) != pid) {
            kill(pid, SIGKILL);
            h_waitpid_timeout(pid, &st, 5);
            log_tail(m->log, tail, sizeof tail);
            ADD_FAILURE("memfs %s (daemonizing) did not return within 20 s; log: %s", m->mnt, tail);
            return false;
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            log_tail(m->log, tail, sizeof tail);
            ADD_FAILURE("memfs -o %s %s failed (status 0x%x); log: %s", opts ? opts : "",
                        m->mnt, st, tail);
            return false;
        }
        struct h_mountinfo mi;
        if (!h_mountinfo_find(m->mnt, &mi)) {
            ADD_FAILURE("memfs returned 0 but %s is not in /proc/self/mountinfo", m->mnt);
            return false;
        }
        m->dev_minor = mi.minor;
        double end = h_now() + 2;
        while (!(m->pid = h_find_daemon(m->mnt)) && h_now() < end)
            h_sleep(0.02);
        m->child = false;
        reg_update(m->slot, m->pid, m->dev_minor, 1, NULL);
        if (!m->pid)
            ADD_FAILURE("cannot find the daemon of %s (fsptool lsvol / /proc)", m->mnt);
        return m->pid != 0;
    }
    m->pid = pid;
    m->child = true;
    reg_update(m->slot, pid, 0, 0, NULL);
    double end = h_now() + 15;
    for (;;) {
        struct h_mountinfo mi;
        if (h_mountinfo_find(m->mnt, &mi) && strncmp(mi.fstype, "fuse", 4) == 0) {
            m->dev_minor = mi.minor;
            reg_update(m->slot, pid, mi.minor, 1, NULL);
            /* memfs -f publishes itself to fsptool a moment after the mount
               appears: wait for that too, so that counters read by the case
               come from one source from the start */
            char tool[PATH_MAX];
            snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
            if (access(tool, X_OK) == 0)
                h_lsvol_pid_wait(m->mnt, NULL, 0, NULL, 0, NULL, 2);
            return true;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            m->pid = 0;
            log_tail(m->log, tail, sizeof tail);
            ADD_FAILURE("memfs -f -o %s %s exited before mounting (status 0x%x); log: %s",
                        opts ? opts : "", m->mnt, st, tail);
            return false;
        }
        if (h_now() > end) {
            log_tail(m->log, tail, sizeof tail);
            ADD_FAILURE("memfs %s: not mounted after 15 s; log: %s", m->mnt, tail);
            return false;
        }
        h_sleep(0.002);
    }
}

bool h_mount(struct h_mount *m, const char *opts, unsigned mflags)
{
    memset(m, 0, sizeof *m);
    m->slot = -1;
    snprintf(m->dir, sizeof m->dir, "/tmp/fsptest.XXXXXX");
    if (!mkdtemp(m->dir)) {
        ADD_FAILURE("mkdtemp: %s", expect_errname(errno));
        return false;
    }
    chmod(m->dir, 0755);
    snprintf(m->mnt, sizeof m->mnt, "%s", m->dir);
    snprintf(m->log, sizeof m->log, "%s.log", m->dir);
    return mount_impl(m, opts, mflags);
}

bool h_mount_at(struct h_mount *m, const char *mnt, const char *opts, unsigned mflags)
{
    return h_mount_source_at(m, NULL, mnt, opts, mflags);
}

bool h_mount_source_at(struct h_mount *m, const char *source, const char *mnt,
                       const char *opts, unsigned mflags)
{
    memset(m, 0, sizeof *m);
    m->slot = -1;
    snprintf(m->mnt, sizeof m->mnt, "%s", mnt);
    if (source)
        snprintf(m->source, sizeof m->source, "%s", source);
    return mount_impl(m, opts, mflags);
}

void h_forget(struct h_mount *m)
{
    h_unregister(m->slot);
    m->slot = -1;
}

/* What the threads of a stuck process are doing: state, wchan, and the
 * first frames of the kernel stack of each. */
static void note_stuck_process(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL && n < 16) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        char p[400], stat[512] = "", wchan[128] = "", stack[512] = "";
        snprintf(p, sizeof p, "%s/%s/stat", dir, e->d_name);
        ssize_t k = h_read_file(p, stat, sizeof stat - 1);
        stat[k > 0 ? k : 0] = 0;
        snprintf(p, sizeof p, "%s/%s/wchan", dir, e->d_name);
        k = h_read_file(p, wchan, sizeof wchan - 1);
        wchan[k > 0 ? k : 0] = 0;
        snprintf(p, sizeof p, "%s/%s/stack", dir, e->d_name);
        k = h_read_file(p, stack, sizeof stack - 1);
        stack[k > 0 ? k : 0] = 0;
        for (char *q = stack; *q; q++)
            if (*q == '\n')
                *q = ' ';
        char *cp = strchr(stat, '(');
        char *ce = strrchr(stat, ')');
        h_note("stuck pid %d task %s %.*s state %c wchan %s stack %.200s", (int)pid, e->d_name,
               cp && ce ? (int)(ce - cp + 1) : 0, cp ? cp : "", ce && ce[1] ? ce[2] : '?',
               wchan, stack);
    }
    closedir(d);
}

bool h_unmount(struct h_mount *m, int *status)
{
    int st = -1;
    bool ok = umount_bounded(m->mnt, m->dev_minor, m->dev_minor != 0, 10);
    if (m->pid > 0) {
        pid_t r = h_waitpid_timeout(m->pid, &st, 5);
        if (r == 0) {
            note_stuck_process(m->pid);
            kill(m->pid, SIGKILL);
            h_waitpid_timeout(m->pid, &st, 5);
            st = -2;
        } else if (r < 0) { /* not our child */
            st = -1;
            if (!h_wait_gone(m->pid, 5)) {
                kill(m->pid, SIGKILL);
                h_wait_gone(m->pid, 5);
                st = -2;
            }
        }
    }
    if (status)
        *status = st;
    if (!m->source[0])
        remove_source_dir(m->mnt);
    if (m->dir[0])
        rmdir(m->dir);
    if (m->log[0])
        unlink(m->log);
    h_unregister(m->slot);
    m->slot = -1;
    m->pid = 0;
    return ok;
}

/* ------------------------------------------------------------------ */
/* fsptool                                                             */

pid_t h_lsvol_pid(const char *mnt, char *fsname, size_t fsn, char *channel,
                  size_t chn, long *threads)
{
    char tool[PATH_MAX];
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    static struct h_proc p;
    if (h_runl(&p, 10, tool, "lsvol", NULL) != 0)
        return 0;
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(p.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (lineno++ == 0)
            continue; /* header */
        char mp[4096], fs[256], ch[64];
        long pid = 0, thr = -1;
        int k = sscanf(line, "%4095s %255s %ld %63s %ld", mp, fs, &pid, ch, &thr);
        if (k < 3 || strcmp(mp, mnt) != 0)
            continue;
        if (fsname) snprintf(fsname, fsn, "%s", fs);
        if (channel) snprintf(channel, chn, "%s", k >= 4 ? ch : "");
        if (threads) *threads = k >= 5 ? thr : -1;
        return (pid_t)pid;
    }
    return 0;
}

pid_t h_lsvol_pid_wait(const char *mnt, char *fsname, size_t fsn, char *channel,
                       size_t chn, long *threads, double timeout_s)
{
    double end = h_now() + timeout_s;
    pid_t pid;
    while ((pid = h_lsvol_pid(mnt, fsname, fsn, channel, chn, threads)) == 0 && h_now() < end)
        h_sleep(0.02);
    return pid;
}

pid_t h_find_daemon(const char *mnt)
{
    pid_t pid = h_lsvol_pid(mnt, NULL, 0, NULL, 0, NULL);
    if (pid > 0)
        return pid;
    return h_find_process(h_fs_name(), mnt);
}

long long h_fsptool_stat(const char *mnt, const char *key)
{
    char tool[PATH_MAX];
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    static struct h_proc p;
    if (h_runl(&p, 10, tool, "stat", mnt, NULL) != 0)
        return -1;
    char *save = NULL;
    for (char *line = strtok_r(p.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char k[256];
        long long v;
        if (sscanf(line, "%255s %lld", k, &v) == 2 && strcmp(k, key) == 0)
            return v;
    }
    return -1;
}

/* handles and nodes from one `fsptool stat`; false if it cannot be read. */
static bool stat_handles_nodes(const char *mnt, long long *handles, long long *nodes)
{
    char tool[PATH_MAX];
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    static struct h_proc p;
    *handles = *nodes = -1;
    if (h_runl(&p, 10, tool, "stat", mnt, NULL) != 0)
        return false;
    char *save = NULL;
    for (char *line = strtok_r(p.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char k[256];
        long long v;
        if (sscanf(line, "%255s %lld", k, &v) != 2)
            continue;
        if (strcmp(k, "handles") == 0)
            *handles = v;
        else if (strcmp(k, "nodes") == 0)
            *nodes = v;
    }
    return *handles >= 0 && *nodes >= 0;
}

bool h_check_baseline(const char *mnt, long long base_nodes)
{
    long long handles = -1, nodes = -1;
    /* The kernel forgets what it no longer uses only when its caches are
     * dropped; an inode with cached pages may take a second round. */
    for (int i = 0; i < 40; i++) {
        int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (write(fd, "2", 1) < 0) {
                /* not root: the check below decides */
            }
            close(fd);
        }
        if (!stat_handles_nodes(mnt, &handles, &nodes)) {
            ADD_FAILURE("leak check: fsptool stat %s cannot be read", mnt);
            return false;
        }
        if (handles == 0 && nodes <= base_nodes)
            return true;
        h_sleep(0.05);
    }
    ADD_FAILURE("leak check: %s still holds handles %lld, nodes %lld (baseline 0, %lld) "
                "after its files were closed and the kernel's caches dropped",
                mnt, handles, nodes, base_nodes);
    return false;
}

static bool word_at(const char *s, const char *start, size_t len)
{
    bool l = start == s || !(isalnum((unsigned char)start[-1]) || start[-1] == '_');
    char c = start[len];
    bool r = !(isalnum((unsigned char)c) || c == '_');
    return l && r;
}

long long h_op_count(const struct h_mount *m, const char *opname)
{
    char tool[PATH_MAX];
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    static struct h_proc p;
    size_t len = strlen(opname);
    /* fsptool stat lists "requests:" then "  LOOKUP 12" for every opcode
       seen (an opcode never seen has no line: 0) */
    if (h_runl(&p, 10, tool, "stat", m->mnt, NULL) == 0 && strstr(p.out, "requests")) {
        char *save = NULL;
        for (char *line = strtok_r(p.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            const char *q;
            for (q = line; (q = strcasestr(q, opname)) != NULL; q += len)
                if (word_at(line, q, len))
                    break;
            if (!q)
                continue;
            q += len;
            while (*q && !isdigit((unsigned char)*q))
                q++;
            if (*q)
                return strtoll(q, NULL, 10);
        }
        return 0;
    }
    size_t n;
    char *all = m->log[0] ? read_all(m->log, &n) : NULL;
    if (!all || n == 0) {
        free(all);
        return -1;
    }
    long long count = 0;
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        for (const char *q = line; (q = strcasestr(q, opname)) != NULL; q += len)
            if (word_at(line, q, len)) { count++; break; }
    free(all);
    return count;
}

/* ------------------------------------------------------------------ */
/* the runner                                                          */

static void on_signal(int sig) { g_interrupted = sig; }

/* A runner killed with SIGKILL cannot rmdir its temp dirs (its daemons get
 * SIGTERM through PR_SET_PDEATHSIG and unmount). Remove such leftovers:
 * /tmp/fsptest.* entries more than an hour old that are not mounted. */
static void sweep_stale_tmp(void)
{
    DIR *d = opendir("/tmp");
    if (!d)
        return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "fsptest", 7) != 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "/tmp/%s", e->d_name);
        struct stat st;
        /* mountinfo first: never stat a mount point that might hang */
        if (h_mountinfo_count(p) > 0 || lstat(p, &st) != 0 || now - st.st_mtime < 3600)
            continue;
        if (S_ISDIR(st.st_mode))
            rmdir(p); /* only if empty */
        else if (S_ISREG(st.st_mode))
            unlink(p);
    }
    closedir(d);
}

static void cleanup_at_exit(void)
{
    if (getpid() != g_runner_pid)
        return;
    reg_cleanup_all(true);
    if (g_scratch[0]) {
        h_rm_rf(g_scratch);
        g_scratch[0] = 0;
    }
}

static const char *describe_status(int st, char *buf, size_t size)
{
    if (st == -1)
        snprintf(buf, size, "unknown (not our child)");
    else if (st == -2)
        snprintf(buf, size, "did not exit within 5 s; killed");
    else if (WIFEXITED(st))
        snprintf(buf, size, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, size, "killed by signal %d (%s)%s", WTERMSIG(st),
                 sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
                 WCOREDUMP(st) ? ", core dumped" : "");
    else
        snprintf(buf, size, "status 0x%x", st);
    return buf;
}

enum result { R_PASS, R_FAIL, R_SKIP };

static void print_result(const struct h_case *c, enum result r)
{
    /* first failure in parentheses, the rest and the notes below */
    char *first = NULL;
    for (char *p = shm->msg; *p;) {
        char *nl = strchr(p, '\n');
        if (*p == 'F') {
            first = p;
            break;
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
    if (r == R_PASS)
        printf("ok - %s\n", c->name);
    else if (r == R_SKIP)
        printf("skip - %s (%s)\n", c->name, shm->skip_reason);
    else {
        int len = 0;
        if (first) {
            char *nl = strchr(first, '\n');
            len = nl ? (int)(nl - first - 1) : (int)strlen(first + 1);
        }
        printf("FAIL - %s (%.*s)\n", c->name, len, first ? first + 1 : "");
    }
    for (char *p = shm->msg; *p;) {
        char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p - 1) : (int)strlen(p + 1);
        if (*p == 'N')
            printf("    # %.*s\n", len, p + 1);
        else if (*p == 'F' && p != first)
            printf("    also: %.*s\n", len, p + 1);
        p = nl ? nl + 1 : p + strlen(p);
    }
    fflush(stdout);
}

static enum result run_case(const struct h_case *c, int idx, const char *fuse_missing,
                            double scale)
{
    memset(shm, 0, sizeof *shm);
    g_have_mount = false;
    g_scratch[0] = 0;
    double limit = (c->timeout_s ? c->timeout_s : 30) * scale;

    if (g_dir_mode) {
        if (c->flags & (H_DAEMON | H_NOMOUNT)) {
            snprintf(shm->skip_reason, sizeof shm->skip_reason,
                     "needs the memfs daemon; FSP_TEST_DIR mode");
            return R_SKIP;
        }
        snprintf(g_scratch, sizeof g_scratch, "%s/%s.%d.%d", g_dir_mode, g_suite,
                 (int)getpid(), idx);
        if (mkdir(g_scratch, 0755) != 0) {
            ADD_FAILURE("mkdir %s: %s", g_scratch, expect_errname(errno));
            g_scratch[0] = 0;
            return R_FAIL;
        }
        chmod(g_scratch, 0755);
        h_root = g_scratch;
    } else if (fuse_missing) {
        const char *ci = getenv("CI");
        bool in_ci = ci && *ci && strcmp(ci, "0") != 0 && strcasecmp(ci, "false") != 0;
        if (in_ci) {
            ADD_FAILURE("/dev/fuse is missing (%s) and CI is set: integration tests must run",
                        fuse_missing);
            return R_FAIL;
        }
        snprintf(shm->skip_reason, sizeof shm->skip_reason, "SKIP: /dev/fuse is missing (%s)",
                 fuse_missing);
        return R_SKIP;
    } else if ((c->flags & H_MEMFS_ONLY) && strcmp(h_fs_name(), "memfs") != 0) {
        snprintf(shm->skip_reason, sizeof shm->skip_reason,
                 "memfs's own option; %s has no such limit", h_fs_name());
        return R_SKIP;
    } else if (c->flags & H_NOMOUNT) {
        snprintf(g_scratch, sizeof g_scratch, "/tmp/fsptest-scratch.XXXXXX");
        if (!mkdtemp(g_scratch)) {
            ADD_FAILURE("mkdtemp: %s", expect_errname(errno));
            g_scratch[0] = 0;
            return R_FAIL;
        }
        chmod(g_scratch, 0755);
        h_root = g_scratch;
    } else {
        if (!h_mount(&g_mount, c->mount_opts, (c->flags & H_DEBUGLOG) ? H_M_DEBUG : 0)) {
            reg_cleanup_all(true);
            return R_FAIL;
        }
        g_have_mount = true;
        h_root = g_mount.mnt;
        g_base_nodes = h_fsptool_stat(g_mount.mnt, "nodes");
    }

    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child < 0) {
        ADD_FAILURE("fork: %s", expect_errname(errno));
        return R_FAIL;
    }
    if (child == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        umask(022);
        c->fn();
        _exit(0);
    }
    setpgid(child, child);

    int st = 0;
    bool timed_out = false;
    double start = h_now(), end = start + limit;
    int pfd = (int)syscall(SYS_pidfd_open, child, 0);
    for (;;) {
        pid_t r = waitpid(child, &st, WNOHANG);
        if (r == child)
            break;
        if (g_interrupted || h_now() >= end) {
            timed_out = true;
            break;
        }
        if (pfd >= 0) {
            struct pollfd pf = { .fd = pfd, .events = POLLIN };
            poll(&pf, 1, 100);
        } else {
            h_sleep(0.005);
        }
    }
    if (pfd >= 0)
        close(pfd);

    char sbuf[128];
    if (timed_out) {
        if (g_interrupted)
            ADD_FAILURE("INTERRUPTED by signal %d after %.1f s", (int)g_interrupted, h_now() - start);
        else
            ADD_FAILURE("TIMEOUT: still running after %.0f s; connection aborted, processes killed",
                        limit);
        /* abort every FUSE connection the case uses, then kill its processes */
        if (g_have_mount && g_mount.dev_minor)
            h_abort_connection(g_mount.dev_minor);
        for (int i = 0; i < H_MAXREG; i++)
            if (shm->reg[i].active && shm->reg[i].have_minor)
                h_abort_connection(shm->reg[i].minor);
        kill(-child, SIGKILL);
        kill(child, SIGKILL);
        if (h_waitpid_timeout(child, &st, 10) != child)
            ADD_FAILURE("case process %d did not die after SIGKILL", (int)child);
    } else if (WIFSIGNALED(st)) {
        ADD_FAILURE("case process %s", describe_status(st, sbuf, sizeof sbuf));
    } else if (WEXITSTATUS(st) != 0 && h_failures() == 0) {
        ADD_FAILURE("case process exited with status %d", WEXITSTATUS(st));
    }
    kill(-child, SIGKILL); /* leftover workers of the case */

    if (g_have_mount) {
        int dst;
        bool died = false;
        if (waitpid(g_mount.pid, &dst, WNOHANG) == g_mount.pid) {
            char tail[600];
            log_tail(g_mount.log, tail, sizeof tail);
            ADD_FAILURE("memfs daemon died during the case: %s; log: %s",
                        describe_status(dst, sbuf, sizeof sbuf), tail);
            g_mount.pid = 0;
            died = true;
        }
        /* Every case leaves its volume as it found it: with all files
         * closed and the caches dropped, no handle and no node beyond the
         * fresh mount's (a leak cannot hide in a case that did not look). */
        if (!died && !timed_out && h_failures() == 0 && g_base_nodes > 0 &&
            !(c->flags & (H_XFAIL | H_NO_LEAK_CHECK)))
            h_check_baseline(g_mount.mnt, g_base_nodes);
        if (!h_unmount(&g_mount, &dst))
            ADD_FAILURE("could not unmount %s", g_mount.mnt);
        else if (!died && !timed_out && !(WIFEXITED(dst) && WEXITSTATUS(dst) == 0))
            ADD_FAILURE("memfs did not exit 0 after unmount: %s",
                        describe_status(dst, sbuf, sizeof sbuf));
        g_have_mount = false;
    }
    reg_cleanup_all(timed_out);
    while (waitpid(-1, &st, WNOHANG) > 0)
        ; /* reap orphans (we are a subreaper) */
    if (g_scratch[0]) {
        h_rm_rf(g_scratch);
        g_scratch[0] = 0;
    }
    if (g_verbose)
        fprintf(stderr, "  (%s: %.2f s)\n", c->name, h_now() - start);
    if (c->flags & H_XFAIL) {
        if (h_failures() > 0) {
            /* turn the failures into notes */
            for (char *p = shm->msg; *p;) {
                if (*p == 'F')
                    *p = 'N';
                char *nl = strchr(p, '\n');
                p = nl ? nl + 1 : p + strlen(p);
            }
            shm->failures = 0;
            return R_PASS;
        }
        ADD_FAILURE("the case was expected to fail but passed");
        return R_FAIL;
    }
    if (h_failures() > 0)
        return R_FAIL;
    if (shm->skipped)
        return R_SKIP;
    return R_PASS;
}

int h_main(const char *suite, int argc, char **argv, const struct h_case *cases, size_t ncases)
{
    g_suite = suite;
    expect_set_reporter(record_failure);
    g_runner_pid = getpid();
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *bd = getenv("FSP_BIN_DIR");
    if (bd && *bd)
        h_bin_dir = bd;
    g_dir_mode = getenv("FSP_TEST_DIR");
    if (g_dir_mode && !*g_dir_mode)
        g_dir_mode = NULL;
    double scale = 1;
    const char *sc = getenv("FSP_TEST_TIMEOUT_SCALE");
    if (sc && atof(sc) > 0)
        scale = atof(sc);

    bool list = false;
    int nfilters = 0;
    const char *filters[64];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-l") == 0)
            list = true;
        else if (strcmp(argv[i], "-v") == 0)
            g_verbose = true;
        else if (nfilters < 64)
            filters[nfilters++] = argv[i];
    }
    if (list) {
        for (size_t i = 0; i < ncases; i++)
            printf("%s\n", cases[i].name);
        return 0;
    }

    shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup_at_exit);
    if (!g_dir_mode)
        sweep_stale_tmp();

    const char *fuse_missing = NULL;
    static char fm[256];
    if (g_dir_mode) {
        printf("# %s: FSP_TEST_DIR mode: running the POSIX cases in %s (no daemon)\n", suite,
               g_dir_mode);
    } else {
        if (access("/dev/fuse", F_OK) != 0) {
            snprintf(fm, sizeof fm, "access /dev/fuse: %s", strerror(errno));
            fuse_missing = fm;
            printf("SKIP: /dev/fuse is missing (%s)\n", fm);
        }
        char memfs[PATH_MAX];
        snprintf(memfs, sizeof memfs, "%s/%s", h_bin_dir, h_fs_name());
        if (!fuse_missing && access(memfs, X_OK) != 0)
            printf("# %s: %s is missing (%s): mount cases will fail\n", suite, memfs,
                   strerror(errno));
        /* fusectl, so a stuck connection can be aborted */
        if (geteuid() == 0 && !h_mountinfo_find("/sys/fs/fuse/connections", NULL))
            mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL);
    }

    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < ncases && !g_interrupted; i++) {
        if (nfilters) {
            bool sel = false;
            for (int f = 0; f < nfilters; f++)
                if (strstr(cases[i].name, filters[f]))
                    sel = true;
            if (!sel)
                continue;
        }
        if (g_verbose)
            fprintf(stderr, "- %s\n", cases[i].name);
        enum result r = run_case(&cases[i], (int)i, fuse_missing, scale);
        print_result(&cases[i], r);
        if (r == R_PASS) passed++;
        else if (r == R_FAIL) failed++;
        else skipped++;
    }
    cleanup_at_exit();
    if (g_interrupted)
        printf("# interrupted by signal %d\n", (int)g_interrupted);
    if (skipped)
        printf("%s: %d passed, %d failed, %d skipped\n", suite, passed, failed, skipped);
    else
        printf("%s: %d passed, %d failed\n", suite, passed, failed);
    fflush(stdout);
    if (g_interrupted)
        return 130;
    if (failed)
        return 1;
    return passed == 0 && skipped > 0 ? 77 : 0; /* 77: CTest's SKIP_RETURN_CODE */
}
