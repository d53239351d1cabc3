/*
 * mount.c - mounting and unmounting a FUSE file system (see mount.h).
 *
 * Two ways in:
 *  - as root: open /dev/fuse and call mount(2);
 *  - as an ordinary user: run the setuid helper fusermount3, which mounts and
 *    hands the /dev/fuse descriptor back over a socket.
 *
 * auto_unmount, on both paths, is a small forked watcher process that
 * unmounts once the daemon is gone: umount2() as root, "fusermount3 -u -z"
 * otherwise. fusermount3's own auto_unmount is not used: up to libfuse 3.14
 * (Debian 12) it checks the dead mount as euid 0, gets EACCES from a mount
 * without allow_other, and leaves it there (libfuse issue #586).
 *
 * Before mounting, the machine and the mount point are checked here, so that
 * a failure reads as a cause and a fix rather than as a bare errno. Messages
 * name the mount point (as the caller wrote it) or the device first and end
 * with what to do.
 *
 * Processes and threads. fsp_mount_create() forks: fusermount3, the watcher,
 * and a probe that questions an existing FUSE mount. Every fork child here
 * makes only async-signal-safe calls before it execs or _exits (no malloc, no
 * stdio, no atexit handlers), and /proc/self/mountinfo is read with open/read
 * into a stack buffer for the same reason: the watcher shares that code. So
 * other threads may run meanwhile. Every descriptor created here is
 * O_CLOEXEC, and children close everything they were not given, so none of
 * the caller's descriptors leaks into fusermount3 (setuid root) or into the
 * watcher (which lives as long as the daemon).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount.h"
#include "mountinfo.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FUSE_DEVICE           "/dev/fuse"
#define FUSE_DEVICE_MAJOR     10
#define FUSE_DEVICE_MINOR     229
#define FUSERMOUNT            "fusermount3"
#define FUSE_COMMFD_ENV       "_FUSE_COMMFD"
#define FUSECTL_DIR           "/sys/fs/fuse/connections"
#define DEFAULT_FS_NAME       "fsp"
#define WATCHER_NAME          "fsp-unmount"
#define WATCHER_DONE          'U'   /* daemon to watcher: mount seen to */

#define FUSERMOUNT_TIMEOUT_MS 10000 /* a mount by fusermount3 takes a few ms */
#define REAP_TIMEOUT_MS       2000  /* then SIGKILL */
#define PROBE_TIMEOUT_MS      1000  /* statfs() of an existing FUSE mount */
#define MOUNTINFO_LINE_MAX    16384 /* longer lines are skipped */
#define HELPER_TEXT_MAX       1024  /* what we keep of fusermount3's stderr */
#define EXEC_FAILED_MARK      "fsp: execve failed: errno "

/* Anonymous devices (FUSE's) have major 0; the connection id under
 * /sys/fs/fuse/connections is the kernel's dev_t: major << 20 | minor. */
#define KDEV_MINOR_BITS 20

/* ------------------------------------------------------------------ */
/* The request being served, and its error message                     */
/* ------------------------------------------------------------------ */

struct mount_request {
    const char *given;        /* the mount point as the caller wrote it */
    char shown[PATH_MAX + 64];/* the same, quoted for a shell if needed */
    const struct fsp_mount_options *opt;
    const char *fs_name;      /* validated, never NULL */
    const char *source;       /* never NULL */
    bool privileged;          /* geteuid() == 0: mount(2) ourselves */
    char *errmsg;
    size_t errsize;
};

/* Formats the message and returns @err, so that a check reads
 * "return fail(rq, -EFOO, ...)". */
__attribute__((format(printf, 3, 4)))
static int fail(struct mount_request *rq, int err, const char *fmt, ...)
{
    va_list ap;

    if (rq->errsize > 0) {
        va_start(ap, fmt);
        vsnprintf(rq->errmsg, rq->errsize, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* Quotes @s for a shell when it holds anything but plain path characters,
 * so that the commands suggested in messages can be pasted as they are. */
static void shell_quote(const char *s, char *out, size_t size)
{
    const char *p;
    size_t n = 0;
    bool plain = *s != '\0';

    for (p = s; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || strchr("/._-+,:@%=", *p);
    if (plain) {
        snprintf(out, size, "%s", s);
        return;
    }
#define PUT(c) do { if (n + 1 < size) out[n++] = (c); } while (0)
    PUT('\'');
    for (p = s; *p; p++) {
        if (*p == '\'') {
            PUT('\''); PUT('\\'); PUT('\''); PUT('\'');
        } else {
            PUT(*p);
        }
    }
    PUT('\'');
#undef PUT
    if (size > 0)
        out[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* /proc/self/mountinfo, without malloc or stdio (the watcher uses it)  */
/* ------------------------------------------------------------------ */

/* The parser is shared with fsptool and the launcher (mountinfo.h). */

typedef void (*mountinfo_visitor)(const struct fsp_mountinfo_entry *e, void *ctx);

/* Calls @visit for every mount, in the kernel's order (a mount stacked on
 * another comes after it). Returns 0 or -errno if the file cannot be read. */
static int mountinfo_foreach(mountinfo_visitor visit, void *ctx)
{
    char buf[MOUNTINFO_LINE_MAX];
    size_t len = 0;
    bool skipping = false;
    int fd, err = 0;

    fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        char *line, *nl;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        line = buf;
        while ((nl = memchr(line, '\n', (size_t)(buf + len - line)))) {
            struct fsp_mountinfo_entry e;

            *nl = '\0';
            if (!skipping && fsp_mountinfo_parse_line(line, &e))
                visit(&e, ctx);
            skipping = false;
            line = nl + 1;
        }
        len = (size_t)(buf + len - line);
        memmove(buf, line, len);
        if (len == sizeof buf - 1) {    /* a line longer than buf */
            skipping = true;
            len = 0;
        }
    }
    close(fd);
    return err;
}

static bool is_fuse_fstype(const char *fstype)
{
    return strncmp(fstype, "fuse", 4) == 0 && strcmp(fstype, "fusectl") != 0;
}

/* What mountinfo says about one path. */
struct mount_lookup {
    const char *path;               /* in */
    bool match_dev;                 /* in: look for this device too */
    unsigned dev_major, dev_minor;  /* in */
    bool found;                     /* out: something is mounted on path */
    unsigned top_major, top_minor;  /* out: the topmost mount on path */
    char top_fstype[64];
    char top_source[256];
    bool dev_found;                 /* out: the device is mounted on path */
};

static void copy_truncated(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void lookup_visit(const struct fsp_mountinfo_entry *e, void *ctx)
{
    struct mount_lookup *lk = ctx;

    if (strcmp(e->mount_point, lk->path) != 0)
        return;
    lk->found = true;               /* the last one on a path is on top */
    lk->top_major = e->major;
    lk->top_minor = e->minor;
    copy_truncated(lk->top_fstype, sizeof lk->top_fstype, e->fstype);
    copy_truncated(lk->top_source, sizeof lk->top_source, e->source);
    if (lk->match_dev && e->major == lk->dev_major && e->minor == lk->dev_minor)
        lk->dev_found = true;
}

static int lookup_mount(struct mount_lookup *lk)
{
    lk->found = false;
    lk->dev_found = false;
    return mountinfo_foreach(lookup_visit, lk);
}

static struct mount_lookup lookup_for_connection(const char *path,
                                                 unsigned conn_id)
{
    struct mount_lookup lk = {
        .path = path,
        .match_dev = true,
        .dev_major = conn_id >> KDEV_MINOR_BITS,
        .dev_minor = conn_id & ((1u << KDEV_MINOR_BITS) - 1),
    };
    return lk;
}

static bool top_is_connection(const struct mount_lookup *lk)
{
    return lk->found && lk->top_major == lk->dev_major &&
           lk->top_minor == lk->dev_minor;
}

/* The connection id of the FUSE mount that sits on top of @path. */
static int find_connection_id(const char *path, unsigned *conn_id)
{
    struct mount_lookup lk = { .path = path };
    int err = lookup_mount(&lk);

    if (err < 0)
        return err;
    if (!lk.found || !is_fuse_fstype(lk.top_fstype))
        return -ENOENT;
    *conn_id = lk.top_major << KDEV_MINOR_BITS | lk.top_minor;
    return 0;
}

/* Writes "1" to /sys/fs/fuse/connections/<id>/abort, if fusectl is mounted.
 * Async-signal-safe (no snprintf). */
static void abort_connection(unsigned conn_id)
{
    static const char head[] = FUSECTL_DIR "/", tail[] = "/abort";
    char path[sizeof head + 16 + sizeof tail], digits[16], *p = path;
    int n = 0, fd;

    do {
        digits[n++] = (char)('0' + conn_id % 10);
        conn_id /= 10;
    } while (conn_id);
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    while (n)
        *p++ = digits[--n];
    memcpy(p, tail, sizeof tail);

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t ignored = write(fd, "1", 1);
        (void)ignored;
        close(fd);
    }
}

/* ------------------------------------------------------------------ */
/* Which mount is ours                                                 */
/* ------------------------------------------------------------------ */

/*
 * A mount is named by two numbers. The connection id (the device number of
 * the FUSE superblock) names it in /proc/self/mountinfo and in fusectl, but
 * the kernel hands a freed device number to the next mount at once: a
 * volume mounted where ours was just unmounted often gets the same one.
 * The 64-bit unique mount id (statx STATX_MNT_ID_UNIQUE, Linux 6.8) is
 * never reused while the system runs. So the unique id decides whether our
 * mount still exists, and only while it does may the connection id be
 * trusted to name our connection (our superblock holds its device number).
 * Kernels without unique ids fall back to the connection id alone.
 */
#ifndef __NR_statmount
#define __NR_statmount 457      /* the same on every architecture */
#endif
#define STATMOUNT_SB_BASIC_MASK 0x00000001U

/* struct mnt_id_req of <linux/mount.h>, first version (24 bytes). */
struct fsp_mnt_id_req {
    uint32_t size;
    uint32_t spare;
    uint64_t mnt_id;
    uint64_t param;
};
_Static_assert(sizeof(struct fsp_mnt_id_req) == 24, "MNT_ID_REQ_SIZE_VER0");

/* Does the mount with unique id @id still exist (in our namespace)?
 * 1 yes, 0 no, -errno if the kernel cannot tell. */
static int unique_mount_exists(uint64_t id)
{
    struct fsp_mnt_id_req req = {
        .size = sizeof req, .mnt_id = id, .param = STATMOUNT_SB_BASIC_MASK,
    };
    uint64_t buf[64];           /* struct statmount and then some */

    if (syscall(__NR_statmount, &req, buf, sizeof buf, 0) == 0)
        return 1;
    return errno == ENOENT ? 0 : -errno;
}

/* Is our mount on @path, and on top? Returns 1 if so, 0 if it is gone,
 * -EBUSY if another mount now covers it, or -errno. Unmounting by path
 * without asking this first could take down someone else's mount made on
 * the same path since. Uses no malloc (the watcher calls it). */
static int our_mount_is_on_top(const char *path, const struct fsp_mount_id *id)
{
    struct mount_lookup lk = lookup_for_connection(path, id->conn_id);
    int err;

    if (id->unique != 0) {
        if (fsp_mount_unique_id(path) == id->unique)
            return 1;
        err = unique_mount_exists(id->unique);
        if (err <= 0)
            return err;     /* gone, or cannot tell: touch nothing */
        /* Ours exists, so its connection id is still ours: mountinfo
         * tells whether it is covered or the top could not be read. */
    }
    err = lookup_mount(&lk);
    if (err < 0)
        return err;
    if (!lk.dev_found)
        return 0;
    return top_is_connection(&lk) ? 1 : -EBUSY;
}

/* Fill in @id for the FUSE mount just made on @path. */
static int identify_mount(const char *path, struct fsp_mount_id *id)
{
    int err = find_connection_id(path, &id->conn_id);

    if (err < 0)
        return err;
    id->unique = fsp_mount_unique_id(path);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Child processes                                                     */
/* ------------------------------------------------------------------ */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Waits up to @timeout_ms for child @pid to end, then kills it (SIGKILL) and
 * waits for good. Returns true if it ended by itself. *status gets the wait
 * status, or -1 if the child could not be waited for (not ours, or SIGCHLD
 * is ignored and the kernel reaped it). */
static bool reap_child(pid_t pid, int timeout_ms, int *status)
{
    int st = -1, waited;
    pid_t r;

    for (waited = 0;; waited += 10) {
        r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            if (status)
                *status = r == pid ? st : -1;
            return true;
        }
        if (waited >= timeout_ms)
            break;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (status)
        *status = r == pid ? st : -1;
    return false;
}

static void close_from(int lowfd)
{
    struct rlimit rl;
    int fd, max = 65536;

    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
        max = (int)rl.rlim_cur;
    for (fd = lowfd; fd < max; fd++)
        close(fd);
}

/* In a fork child: puts @in, @out and @err on 0, 1 and 2, @extra (if >= 0)
 * on 3, and closes every other descriptor. Async-signal-safe. */
static bool place_child_fds(int in, int out, int err, int extra)
{
    int src[4] = { in, out, err, extra };
    int n = extra >= 0 ? 4 : 3, i;

    /* Copy every source above the targets first, so that placing one
     * cannot overwrite another that happens to sit on a target number. */
    for (i = 0; i < n; i++) {
        src[i] = fcntl(src[i], F_DUPFD, 4);
        if (src[i] < 0)
            return false;
    }
    for (i = 0; i < n; i++)
        if (dup2(src[i], i) < 0)
            return false;
    close_from(n);
    return true;
}

static void reset_signals(void)
{
    struct sigaction sa = { .sa_handler = SIG_DFL };
    sigset_t none;
    int sig;

    for (sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL);      /* fails harmlessly for some */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Runs @path with stdin from /dev/null, stdout and stderr into @out_fd, and
 * @comm_fd (if >= 0) as descriptor 3. Returns the pid or -errno. If execve
 * fails, the child writes EXEC_FAILED_MARK and the errno to @out_fd. */
static pid_t spawn_helper(const char *path, char *const argv[],
                          char *const envp[], int null_fd, int out_fd,
                          int comm_fd)
{
    pid_t pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0) {
        char num[16];
        int n = 0, e, i;

        reset_signals();
        if (!place_child_fds(null_fd, out_fd, out_fd, comm_fd))
            _exit(127);
        execve(path, argv, envp);
        e = errno;
        do {
            num[n++] = (char)('0' + e % 10);
            e /= 10;
        } while (e && n < (int)sizeof num);
        if (write(2, EXEC_FAILED_MARK, sizeof EXEC_FAILED_MARK - 1) > 0)
            for (i = n - 1; i >= 0; i--)
                if (write(2, &num[i], 1) < 0)
                    break;
        _exit(127);
    }
    return pid;
}

/* Where fusermount3 is: the first absolute directory of PATH that has it,
 * else /usr/bin or /bin (a daemon started by systemd or cron may have a
 * short PATH). PATH comes first so that a newer build in /usr/local/bin, or
 * a test's stand-in, is preferred; relative PATH entries are never used. */
static bool find_fusermount(char *out, size_t size)
{
    const char *path = getenv("PATH"), *p, *end;
    static const char *const fallback[] = { "/usr/bin", "/bin" };
    size_t i;

    for (p = path; p && *p; p = *end ? end + 1 : end) {
        end = strchrnul(p, ':');
        if (*p != '/')
            continue;
        if ((size_t)snprintf(out, size, "%.*s/" FUSERMOUNT, (int)(end - p), p)
                < size && access(out, X_OK) == 0)
            return true;
    }
    for (i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
        snprintf(out, size, "%s/" FUSERMOUNT, fallback[i]);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/* Runs "fusermount3 -u -z -- @path" and waits (bounded) for it. */
static int run_fusermount_unmount(const char *path)
{
    char helper[PATH_MAX];
    char *argv[] = { FUSERMOUNT, "-u", "-z", "--", (char *)path, NULL };
    int null_fd, status;
    pid_t pid;

    if (!find_fusermount(helper, sizeof helper))
        return -ENOENT;
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return -errno;
    pid = spawn_helper(helper, argv, environ, null_fd, null_fd, -1);
    close(null_fd);
    if (pid < 0)
        return pid;
    if (!reap_child(pid, REAP_TIMEOUT_MS, &status))
        return -ETIMEDOUT;
    if (status == -1)
        return 0;                       /* reaped by someone else */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ------------------------------------------------------------------ */
/* Checks before mounting                                              */
/* ------------------------------------------------------------------ */

static int check_names(struct mount_request *rq)
{
    const struct fsp_mount_options *opt = rq->opt;
    const char *p;

    rq->fs_name = opt->fs_name && *opt->fs_name ? opt->fs_name
                                                : DEFAULT_FS_NAME;
    rq->source = opt->source && *opt->source ? opt->source : rq->fs_name;
    for (p = rq->fs_name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-+", *p))
            break;
    if (*p || strlen(rq->fs_name) > 32)
        return fail(rq, -EINVAL, "file system name '%s' is not valid for "
                    "the type fuse.NAME: use at most 32 letters, digits, "
                    "'.', '_', '-' or '+' (for example memfs)", rq->fs_name);
    for (p = rq->source; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            break;
    if (*p)
        return fail(rq, -EINVAL, "file system source '%s' holds a control "
                    "character, which /proc/mounts cannot show: use printable "
                    "characters only", rq->source);
    return 0;
}

static int check_fuse_device(struct mount_request *rq)
{
    struct stat st;

    if (stat(FUSE_DEVICE, &st) < 0) {
        if (errno == ENOENT)
            return fail(rq, -ENOENT, FUSE_DEVICE " does not exist: load the "
                        "fuse module (modprobe fuse) or, in a container, pass "
                        "the device in (--device /dev/fuse)");
        return fail(rq, -errno, FUSE_DEVICE " cannot be examined (%s): make "
                    "sure /dev is mounted and readable", strerror(errno));
    }
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != FUSE_DEVICE_MAJOR ||
        minor(st.st_rdev) != FUSE_DEVICE_MINOR) {
        char what[64];

        if (S_ISCHR(st.st_mode))
            snprintf(what, sizeof what, "the character device %u:%u",
                     major(st.st_rdev), minor(st.st_rdev));
        else
            snprintf(what, sizeof what, "%s", fsp_file_kind(st.st_mode, "not a directory"));
        return fail(rq, -ENODEV, FUSE_DEVICE " is not the FUSE device (it "
                    "is %s, not the character device 10:229): recreate it as "
                    "root: rm " FUSE_DEVICE " && mknod -m 0666 " FUSE_DEVICE
                    " c 10 229", what);
    }
    /* fusermount3 is setuid root, but it opens the device with the user's
     * own permissions (it drops to the real uid first): an ordinary user
     * needs read and write access, which distributions give to everyone. */
    if (!rq->privileged && access(FUSE_DEVICE, R_OK | W_OK) < 0 &&
        errno == EACCES)
        return fail(rq, -EACCES, FUSE_DEVICE " is not readable and writable "
                    "by you (uid %u; mode %04o, owner uid %u), and fusermount3 "
                    "opens it with your permissions: as root, chmod 0666 "
                    FUSE_DEVICE " (the usual mode; in a container pass "
                    "--device /dev/fuse), or mount as root", (unsigned)getuid(),
                    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
    return 0;
}

/* Root only: an ordinary user's descriptor comes from fusermount3. */
static int open_fuse_device(struct mount_request *rq, int *fd)
{
    *fd = open(FUSE_DEVICE, O_RDWR | O_CLOEXEC);
    if (*fd >= 0)
        return 0;
    switch (errno) {
    case EACCES:
    case EPERM:
        return fail(rq, -errno, FUSE_DEVICE " cannot be opened, even by root "
                    "(%s): a security policy forbids it (a container's device "
                    "rules, SELinux or AppArmor); run the container with "
                    "--device /dev/fuse, or allow the device in the policy",
                    strerror(errno));
    case ENODEV:
    case ENXIO:
        return fail(rq, -ENODEV, FUSE_DEVICE " has no driver behind it (%s): "
                    "load the fuse module (modprobe fuse)", strerror(errno));
    default:
        return fail(rq, -errno, FUSE_DEVICE " cannot be opened (%s): check "
                    "the device with ls -l " FUSE_DEVICE, strerror(errno));
    }
}

/* Why the mount point (or the directory holding it) cannot be resolved. */
static int explain_resolve_error(struct mount_request *rq, int e)
{
    const char *s = rq->shown;

    switch (e) {
    case ENOENT:
        return fail(rq, -ENOENT, "mount point %s does not exist: create it "
                    "with mkdir -p %s", s, s);
    case ENOTDIR:
        return fail(rq, -ENOTDIR, "mount point %s is not a directory: part "
                    "of its path is a file; give the path of a directory", s);
    case EACCES:
        return fail(rq, -EACCES, "mount point %s cannot be reached: a "
                    "directory above it denies you search (x) permission; use "
                    "a directory you can reach, for example under your home "
                    "directory", s);
    case ELOOP:
        return fail(rq, -ELOOP, "mount point %s cannot be resolved: its "
                    "symbolic links loop; fix the links or give the real "
                    "directory", s);
    case ENAMETOOLONG:
        return fail(rq, -ENAMETOOLONG, "mount point %s is too long a path: "
                    "choose a shorter one", s);
    case ENOTCONN:
        return fail(rq, -ENOTCONN, "mount point %s lies under a FUSE mount "
                    "whose daemon is gone ('Transport endpoint is not "
                    "connected'); find it with grep fuse /proc/mounts and "
                    "clear it with fusermount3 -u (or umount -l)", s);
    default:
        return fail(rq, -e, "mount point %s cannot be resolved (%s): check "
                    "the path", s, strerror(e));
    }
}

/* The absolute path of the mount point, without symbolic links in the
 * directories above it. The last component is not touched: if it is a
 * mount already, looking at it could block (a hung FUSE daemon). */
static int resolve_parent(struct mount_request *rq, char **path)
{
    char copy[PATH_MAX], *slash, *parent;
    const char *dir, *name;
    size_t len = strlen(rq->given);

    *path = NULL;
    if (len >= sizeof copy)
        return explain_resolve_error(rq, ENAMETOOLONG);
    memcpy(copy, rq->given, len + 1);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    slash = strrchr(copy, '/');
    if (slash == NULL) {
        dir = ".";
        name = copy;
    } else if (slash == copy) {
        dir = "/";
        name = copy + 1;
    } else {
        *slash = '\0';
        dir = copy;
        name = slash + 1;
    }
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
        *path = realpath(rq->given, NULL);     /* "/", "a/.", "..": whole */
        return *path ? 0 : explain_resolve_error(rq, errno);
    }
    parent = realpath(dir, NULL);
    if (parent == NULL)
        return explain_resolve_error(rq, errno);
    if (asprintf(path, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "",
                 name) < 0) {
        *path = NULL;
        free(parent);
        return fail(rq, -ENOMEM, "mount point %s: out of memory", rq->shown);
    }
    free(parent);
    return 0;
}

/* Asks an existing FUSE mount's daemon a question, from a child process
 * that can be killed: if that daemon hangs, or never answered INIT, we would
 * block forever. statfs(), not stat(): the kernel may answer stat() from its
 * attribute cache without asking a dead daemon, but it always sends STATFS
 * (unless the mount is another user's, which it does not let us ask: then we
 * only learn that it is mounted). Returns 0 if the daemon answered (even
 * with an error), -ENOTCONN if it is gone, -ETIMEDOUT if it does not answer. */
static int probe_fuse_mount(const char *path)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return 0;                       /* cannot tell: say "mounted" */
    if (pid == 0) {
        struct statfs sfs;

        _exit(statfs(path, &sfs) == 0 ? 0 : errno == ENOTCONN ? 1 : 2);
    }
    if (!reap_child(pid, PROBE_TIMEOUT_MS, &status))
        return -ETIMEDOUT;
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1
               ? -ENOTCONN : 0;
}

static int check_not_mounted(struct mount_request *rq, const char *path)
{
    struct mount_lookup lk = { .path = path };
    const char *s = rq->shown;
    int err = lookup_mount(&lk);

    if (err < 0)
        return fail(rq, err, "/proc/self/mountinfo cannot be read (%s): "
                    "mount /proc (mount -t proc proc /proc)", strerror(-err));
    if (!lk.found)
        return 0;
    if (!is_fuse_fstype(lk.top_fstype))
        return fail(rq, -EBUSY, "mount point %s is already a mount point "
                    "(%s from %s): unmount it first (umount %s) or choose "
                    "another directory", s, lk.top_fstype, lk.top_source, s);
    switch (probe_fuse_mount(path)) {
    case -ENOTCONN:
        return fail(rq, -ENOTCONN, "mount point %s is a FUSE mount whose "
                    "daemon is gone ('Transport endpoint is not connected'); "
                    "clear it with: fusermount3 -u %s (or umount -l %s)",
                    s, s, s);
    case -ETIMEDOUT:
        return fail(rq, -EBUSY, "mount point %s is a FUSE mount (%s from %s) "
                    "whose daemon does not answer; stop that daemon, or clear "
                    "the mount with: fusermount3 -u -z %s (or umount -l %s)",
                    s, lk.top_fstype, lk.top_source, s, s);
    default:
        return fail(rq, -EBUSY, "mount point %s is already mounted (%s from "
                    "%s): unmount it first with fusermount3 -u %s, or choose "
                    "another directory", s, lk.top_fstype, lk.top_source, s);
    }
}

/* The checks fusermount3 makes for an ordinary user, made here first so that
 * the message can say what to do. */
static int check_user_may_mount_on(struct mount_request *rq, const char *path,
                                   const struct stat *st)
{
    const char *s = rq->shown;
    unsigned uid = (unsigned)getuid();

    if ((st->st_mode & S_ISVTX) && st->st_uid != getuid())
        return fail(rq, -EACCES, "mount point %s is a sticky directory owned "
                    "by uid %u, not by you (uid %u), and fusermount3 mounts on "
                    "it only for its owner: use a directory you own, for "
                    "example mkdir -p ~/mnt", s, (unsigned)st->st_uid, uid);
    if (access(path, W_OK) < 0) {
        if (errno == EROFS)
            return fail(rq, -EROFS, "mount point %s is on a read-only file "
                        "system, and fusermount3 mounts only on directories "
                        "you may write to: choose a directory on a writable "
                        "file system", s);
        return fail(rq, -EACCES, "mount point %s is not writable by you "
                    "(uid %u; it belongs to uid %u, mode %04o), and "
                    "fusermount3 mounts only on directories you may write to: "
                    "use a directory you own (mkdir -p ~/mnt), or have root "
                    "run chown %u %s", s, uid, (unsigned)st->st_uid,
                    (unsigned)(st->st_mode & 07777), uid, s);
    }
    if (access(path, X_OK) < 0)
        return fail(rq, -EACCES, "mount point %s cannot be entered by you "
                    "(mode %04o): give yourself search permission with "
                    "chmod u+x %s", s, (unsigned)(st->st_mode & 07777), s);
    return 0;
}

static int check_empty(struct mount_request *rq, const char *path)
{
    const char *s = rq->shown;
    char first[NAME_MAX + 1] = "";
    struct dirent *de;
    DIR *dir = opendir(path);

    if (dir == NULL) {
        if (errno == EACCES)
            return fail(rq, -EACCES, "mount point %s cannot be listed to "
                        "check that it is empty (Permission denied): make it "
                        "readable (chmod u+r %s) or use the nonempty option",
                        s, s);
        return fail(rq, -errno, "mount point %s cannot be listed to check "
                    "that it is empty (%s): use an empty directory or the "
                    "nonempty option", s, strerror(errno));
    }
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            copy_truncated(first, sizeof first, de->d_name);
            break;
        }
    }
    closedir(dir);
    if (first[0])
        return fail(rq, -ENOTEMPTY, "mount point %s is not empty (it holds "
                    "'%s'); use an empty directory or the nonempty option",
                    s, first);
    return 0;
}

/* Resolves and checks the mount point; *path gets its canonical form. */
static int check_mountpoint(struct mount_request *rq, char **path)
{
    const char *s = rq->shown;
    struct stat st;
    int err, hops;

    err = resolve_parent(rq, path);
    for (hops = 0; err == 0; hops++) {
        char *target;

        /* Before any stat(): on a mount, stat is a request to its daemon. */
        err = check_not_mounted(rq, *path);
        if (err)
            break;
        if (lstat(*path, &st) < 0) {
            err = explain_resolve_error(rq, errno);
            break;
        }
        if (!S_ISLNK(st.st_mode))
            break;
        if (hops > 0) {                 /* realpath() gave us a link? */
            err = explain_resolve_error(rq, ELOOP);
            break;
        }
        target = realpath(*path, NULL);
        if (target == NULL) {
            if (errno == ENOENT)
                err = fail(rq, -ENOENT, "mount point %s is a symbolic link "
                           "to a directory that does not exist: create the "
                           "directory it points to (readlink %s), or give "
                           "another mount point", s, s);
            else
                err = explain_resolve_error(rq, errno);
            break;
        }
        free(*path);
        *path = target;
    }
    if (err)
        return err;
    if (!S_ISDIR(st.st_mode))
        return fail(rq, -ENOTDIR, "mount point %s is not a directory (it is "
                    "%s): mount on a directory, for example mkdir -p %s.d",
                    s, fsp_file_kind(st.st_mode, "not a directory"), s);
    if (!rq->privileged) {
        err = check_user_may_mount_on(rq, *path, &st);
        if (err)
            return err;
    }
    if (!rq->opt->nonempty)
        return check_empty(rq, *path);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Mounting as root                                                    */
/* ------------------------------------------------------------------ */

static int explain_mount_error(struct mount_request *rq, int e,
                               const char *data)
{
    const char *s = rq->shown;

    switch (e) {
    case EPERM:
        return fail(rq, -EPERM, "mount point %s: mount(2) was refused "
                    "(Operation not permitted): this process lacks "
                    "CAP_SYS_ADMIN (a container without --cap-add SYS_ADMIN, "
                    "or a user namespace that does not own the mount); grant "
                    "the capability, or run as an ordinary user, which mounts "
                    "through fusermount3", s);
    case EACCES:
        return fail(rq, -EACCES, "mount point %s: mount(2) was denied "
                    "(Permission denied) by a security policy (AppArmor, "
                    "SELinux or seccomp): allow FUSE mounts in that policy", s);
    case ENODEV:
        return fail(rq, -ENODEV, FUSE_DEVICE ": the kernel knows no fuse file "
                    "system type: load the fuse module (modprobe fuse)");
    case EINVAL:
        return fail(rq, -EINVAL, "mount point %s: the kernel rejected the "
                    "mount options '%s' (see dmesg for its reason): check "
                    "max_read and the other options", s, data);
    case ENOENT:
    case ENOTDIR:
        return fail(rq, -e, "mount point %s disappeared while mounting: "
                    "create it again with mkdir -p %s", s, s);
    default:
        return fail(rq, -e, "mount point %s: mount(2) failed (%s): see "
                    "dmesg for the kernel's reason", s, strerror(e));
    }
}

static int mount_as_root(struct mount_request *rq, struct fsp_mount *m)
{
    const struct fsp_mount_options *opt = rq->opt;
    unsigned long flags = MS_NOSUID | MS_NODEV;
    char data[256], type[64], maxread[32] = "";
    int err;

    err = open_fuse_device(rq, &m->fd);
    if (err)
        return err;
    if (opt->read_only)
        flags |= MS_RDONLY;
    if (opt->max_read)
        snprintf(maxread, sizeof maxread, ",max_read=%u", opt->max_read);
    snprintf(data, sizeof data,
             "fd=%d,rootmode=40000,user_id=%u,group_id=%u%s%s%s", m->fd,
             (unsigned)getuid(), (unsigned)getgid(),
             opt->default_permissions ? ",default_permissions" : "",
             opt->allow_other ? ",allow_other" : "", maxread);
    snprintf(type, sizeof type, "fuse.%s", rq->fs_name);

    err = mount(rq->source, m->mountpoint, type, flags, data);
    if (err < 0 && errno == ENODEV)     /* a kernel without subtypes */
        err = mount(rq->source, m->mountpoint, "fuse", flags, data);
    if (err < 0)
        return explain_mount_error(rq, errno, data);

    /* Not stat(): until the daemon answers INIT, that would block. */
    err = identify_mount(m->mountpoint, &m->id);
    if (err < 0) {
        umount2(m->mountpoint, MNT_DETACH);     /* just made: on top */
        return fail(rq, -EIO, "mount point %s was mounted but does not "
                    "appear as a FUSE mount in /proc/self/mountinfo (%s): "
                    "check that /proc belongs to this mount namespace",
                    rq->shown, strerror(-err));
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Mounting through fusermount3                                        */
/* ------------------------------------------------------------------ */

/* fusermount3's -o argument. It splits options at commas but takes a
 * backslash-escaped comma (or backslash) inside fsname= and subtype=. */
static char *fusermount_options(const struct mount_request *rq)
{
    const struct fsp_mount_options *opt = rq->opt;
    size_t cap = 2 * strlen(rq->source) + strlen(rq->fs_name) + 160;
    char *s = malloc(cap), *p;
    const char *c;

    if (s == NULL)
        return NULL;
    p = s + sprintf(s, "fsname=");
    for (c = rq->source; *c; c++) {
        if (*c == ',' || *c == '\\')
            *p++ = '\\';
        *p++ = *c;
    }
    p += sprintf(p, ",subtype=%s", rq->fs_name);
    if (opt->default_permissions)
        p += sprintf(p, ",default_permissions");
    if (opt->allow_other)
        p += sprintf(p, ",allow_other");
    if (opt->read_only)
        p += sprintf(p, ",ro");
    if (opt->max_read)
        sprintf(p, ",max_read=%u", opt->max_read);
    /* Not nonempty: fusermount3 3.x no longer knows it (and we checked).
     * Not auto_unmount: our watcher does it (see the top of this file). */
    return s;
}

/* Our environment with _FUSE_COMMFD=3, where the child finds its socket. */
static char **environment_with_commfd(void)
{
    static char commfd[] = FUSE_COMMFD_ENV "=3";
    size_t n = 0, k = 0, i;
    char **env;

    while (environ && environ[n])
        n++;
    env = calloc(n + 2, sizeof *env);
    if (env == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (strncmp(environ[i], FUSE_COMMFD_ENV "=",
                    sizeof FUSE_COMMFD_ENV) != 0)
            env[k++] = environ[i];
    env[k] = commfd;
    return env;
}

/* Receives the /dev/fuse descriptor that fusermount3 sends as SCM_RIGHTS on
 * a one-byte message. Returns it, -EPIPE if fusermount3 ended without
 * sending one (it failed), or -errno. */
static int receive_fd(int sock)
{
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    struct cmsghdr *c;
    ssize_t n;
    int fd;

    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET ||
        c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
        return -EPROTO;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static bool wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    struct timespec start, now;
    int r, left = timeout_ms;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        r = poll(&p, 1, left);
        if (r != 0 && !(r < 0 && errno == EINTR))
            return true;                /* readable, hung up, or an error */
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
                                  (now.tv_nsec - start.tv_nsec) / 1000000);
        if (r == 0 || left <= 0)
            return false;
    }
}

/* Reads what fusermount3 wrote, until it closes the pipe (bounded). */
static void read_helper_text(int fd, char *buf, size_t size)
{
    size_t len = 0;

    while (len + 1 < size && wait_readable(fd, REAP_TIMEOUT_MS)) {
        ssize_t n = read(fd, buf + len, size - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
}

/* "fusermount3: a\nfusermount3: b\n" -> "a; b" */
static void tidy_helper_text(char *text, size_t size)
{
    static const char prefix[] = FUSERMOUNT ": ";
    char out[HELPER_TEXT_MAX];
    const char *src = text;
    size_t len = 0;

    while (*src && len < sizeof out - 1) {
        const char *nl = strchrnul(src, '\n');

        if (!strncmp(src, prefix, sizeof prefix - 1))
            src += sizeof prefix - 1;
        if (nl > src) {
            int n = snprintf(out + len, sizeof out - len, "%s%.*s",
                             len ? "; " : "", (int)(nl - src), src);
            len = n < 0 ? len : len + (size_t)n;
        }
        src = *nl ? nl + 1 : nl;
    }
    if (len > sizeof out - 1)
        len = sizeof out - 1;
    out[len] = '\0';
    copy_truncated(text, size, out);
}

struct helper_hint {
    const char *words;          /* what fusermount3 says */
    int err;
    const char *fix;
};

static const struct helper_hint fusermount_hints[] = {
    { "user_allow_other", -EPERM,
      "as root, add a line 'user_allow_other' to /etc/fuse.conf, or mount "
      "without allow_other" },
    { "no write access to mountpoint", -EACCES,
      "use a directory you own (mkdir -p ~/mnt)" },
    { "not owned by user", -EACCES,
      "use a directory you own (mkdir -p ~/mnt)" },
    { "fuse device not found", -ENODEV,
      "load the fuse module (modprobe fuse) or, in a container, pass the "
      "device in (--device /dev/fuse)" },
    { "failed to open /dev/fuse", -EACCES,
      "fusermount3 opens it with your permissions: as root, chmod 0666 "
      "/dev/fuse (in a container, pass --device /dev/fuse)" },
    { "too many FUSE filesystems", -EUSERS,
      "unmount some, or as root raise mount_max in /etc/fuse.conf" },
    { "mounting over filesystem type", -EPERM,
      "choose a mount point on an ordinary file system" },
    { "Operation not permitted", -EPERM,
      "fusermount3 must be setuid root (as root: chmod u+s $(command -v "
      "fusermount3)) on a file system mounted without nosuid and, in a "
      "container, mounting needs CAP_SYS_ADMIN (--cap-add SYS_ADMIN)" },
    { "Permission denied", -EACCES,
      "a security policy (AppArmor, SELinux) or the directory's permissions "
      "forbid it: use a directory you own, or allow FUSE mounts in the "
      "policy" },
    { "unknown option", -EINVAL,
      "this fusermount3 is older than fsp expects: update the fuse3 package" },
};

static int explain_fusermount_failure(struct mount_request *rq,
                                      const char *helper, char *text,
                                      int status)
{
    const char *s = rq->shown, *mark;
    size_t i;

    mark = strstr(text, EXEC_FAILED_MARK);
    if (mark) {
        int e = atoi(mark + sizeof EXEC_FAILED_MARK - 1);

        return fail(rq, e ? -e : -ENOEXEC, "mount point %s: %s cannot be "
                    "run (%s): reinstall the fuse3 package (apt-get install "
                    "--reinstall fuse3)", s, helper, strerror(e));
    }
    tidy_helper_text(text, HELPER_TEXT_MAX);
    if (text[0] == '\0') {
        if (status != -1 && WIFSIGNALED(status))
            snprintf(text, HELPER_TEXT_MAX, "killed by signal %d (%s)",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else if (status != -1 && WIFEXITED(status))
            snprintf(text, HELPER_TEXT_MAX, "exited with status %d and no "
                     "message", WEXITSTATUS(status));
        else
            snprintf(text, HELPER_TEXT_MAX, "ended without a message");
    }
    for (i = 0; i < sizeof fusermount_hints / sizeof fusermount_hints[0]; i++)
        if (strstr(text, fusermount_hints[i].words))
            return fail(rq, fusermount_hints[i].err, "mount point %s: "
                        "fusermount3 refused to mount: %s; %s", s, text,
                        fusermount_hints[i].fix);
    return fail(rq, -EIO, "mount point %s: fusermount3 failed: %s; see "
                "fusermount3(1) and /etc/fuse.conf for what ordinary users "
                "may mount", s, text);
}

static int mount_with_fusermount(struct mount_request *rq, struct fsp_mount *m)
{
    char helper[PATH_MAX], text[HELPER_TEXT_MAX];
    char *opts = NULL, **envp = NULL;
    int sock[2] = { -1, -1 }, errpipe[2] = { -1, -1 }, null_fd = -1;
    int err = 0, fd, status;
    pid_t pid = 0;

    if (!find_fusermount(helper, sizeof helper))
        return fail(rq, -ENOENT, FUSERMOUNT " not found (in PATH, /usr/bin "
                    "or /bin): install the fuse3 package (apt-get install "
                    "fuse3)");
    opts = fusermount_options(rq);
    envp = environment_with_commfd();
    if (opts == NULL || envp == NULL) {
        err = fail(rq, -ENOMEM, "mount point %s: out of memory", rq->shown);
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0 ||
        pipe2(errpipe, O_CLOEXEC) < 0 ||
        (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        err = fail(rq, -errno, "mount point %s: cannot set up the talk with "
                   "fusermount3 (%s): raise the open file limit (ulimit -n)",
                   rq->shown, strerror(errno));
        goto out;
    }

    {
        char *argv[] = { FUSERMOUNT, "-o", opts, "--", m->mountpoint, NULL };

        pid = spawn_helper(helper, argv, envp, null_fd, errpipe[1], sock[1]);
    }
    close(sock[1]);
    sock[1] = -1;
    close(errpipe[1]);
    errpipe[1] = -1;
    if (pid < 0) {
        err = fail(rq, pid, "mount point %s: fusermount3 cannot be started "
                   "(fork: %s): raise the process limit (ulimit -u)",
                   rq->shown, strerror((int)-pid));
        pid = 0;
        goto out;
    }

    if (!wait_readable(sock[0], FUSERMOUNT_TIMEOUT_MS)) {
        reap_child(pid, 0, NULL);
        pid = 0;
        /* Killed after mounting but before handing over the fd? */
        if (find_connection_id(m->mountpoint, &m->id.conn_id) == 0)
            run_fusermount_unmount(m->mountpoint);
        m->id.conn_id = 0;
        err = fail(rq, -ETIMEDOUT, "mount point %s: fusermount3 did not "
                   "answer within %d s: check that no hung FUSE mount lies "
                   "on the way to the mount point (grep fuse /proc/mounts)",
                   rq->shown, FUSERMOUNT_TIMEOUT_MS / 1000);
        goto out;
    }
    fd = receive_fd(sock[0]);
    if (fd < 0) {
        read_helper_text(errpipe[0], text, sizeof text);
        reap_child(pid, REAP_TIMEOUT_MS, &status);
        pid = 0;
        err = explain_fusermount_failure(rq, helper, text, status);
        goto out;
    }
    m->fd = fd;
    m->via_fusermount = true;
    reap_child(pid, REAP_TIMEOUT_MS, NULL);     /* it exits after sending */
    pid = 0;

    err = identify_mount(m->mountpoint, &m->id);
    if (err < 0) {
        run_fusermount_unmount(m->mountpoint);
        err = fail(rq, -EIO, "mount point %s was mounted by fusermount3 but "
                   "does not appear as a FUSE mount in /proc/self/mountinfo "
                   "(%s): check that /proc belongs to this mount namespace",
                   rq->shown, strerror(-err));
    }

out:
    if (pid > 0)
        reap_child(pid, 0, NULL);
    if (sock[0] >= 0)
        close(sock[0]);
    if (sock[1] >= 0)
        close(sock[1]);
    if (errpipe[0] >= 0)
        close(errpipe[0]);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    if (null_fd >= 0)
        close(null_fd);
    free(opts);
    free(envp);
    return err;
}

/* ------------------------------------------------------------------ */
/* auto_unmount: the watcher                                           */
/* ------------------------------------------------------------------ */

/* What the watcher does once the daemon is gone. */
struct watcher_plan {
    const char *path;           /* the canonical mount point */
    struct fsp_mount_id id;
    const char *helper;         /* fusermount3 for an ordinary user, or NULL */
    char *const *helper_argv;   /* "fusermount3 -u -z -- path" */
};

/* The watcher: a child that waits for the daemon's end and then unmounts.
 *
 * It blocks reading a pipe whose only write end the daemon holds (O_CLOEXEC,
 * so that programs the daemon runs do not inherit it). When the daemon exits
 * or is killed, the kernel closes that end and the read returns 0. If our
 * mount is still there, the watcher aborts the connection (when fusectl is
 * mounted; this also frees requests held by any process that inherited the
 * descriptor) and, if nothing was mounted over it since, lazily unmounts it.
 *
 * It holds nothing else: above all not /dev/fuse. A copy of the daemon's
 * /dev/fuse descriptor would keep the connection alive after the daemon's
 * death, and the mount would hang instead of failing. */
__attribute__((noreturn))
static void run_unmount_watcher(int pipe_fd, int null_fd,
                                const struct watcher_plan *plan)
{
    static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                                   SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1,
                                   SIGUSR2 };
    struct sigaction ign = { .sa_handler = SIG_IGN };
    sigset_t none;
    size_t i;
    char byte;
    ssize_t n;

    if (!place_child_fds(null_fd, null_fd, null_fd, pipe_fd))
        _exit(1);
    for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        sigaction(ignored[i], &ign, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Leave the daemon's session and process group: a Ctrl-C, a terminal
     * hangup or a kill of the whole group (timeout(1), a test harness, job
     * control) must end the daemon, not its watcher, or the mount stays. */
    setsid();
    if (chdir("/") < 0) {
        /* only to pin no file system; the watcher works from anywhere */
    }
    prctl(PR_SET_NAME, WATCHER_NAME, 0, 0, 0);

    do {
        n = read(3, &byte, 1);
        if (n == 1 && byte == WATCHER_DONE)
            _exit(0);                   /* the daemon saw to its mount */
    } while (n > 0 || (n < 0 && errno == EINTR));
    if (n < 0)
        _exit(1);                       /* cannot tell: leave the mount */

    /* The daemon is gone without a word: it died. */
    switch (our_mount_is_on_top(plan->path, &plan->id)) {
    case 1:
        abort_connection(plan->id.conn_id);
        if (plan->helper) {
            close(3);
            execve(plan->helper, plan->helper_argv, environ);
        } else
            umount2(plan->path, MNT_DETACH);
        break;
    case -EBUSY:                        /* covered: abort, leave the path */
        abort_connection(plan->id.conn_id);
        break;
    default:                            /* gone already */
        break;
    }
    _exit(0);
}

static int start_unmount_watcher(struct mount_request *rq, struct fsp_mount *m)
{
    char helper[PATH_MAX];
    char *argv[] = { FUSERMOUNT, "-u", "-z", "--", m->mountpoint, NULL };
    struct watcher_plan plan = {
        .path = m->mountpoint,
        .id = m->id,
        .helper = m->via_fusermount ? helper : NULL,
        .helper_argv = argv,
    };
    int pipefd[2], null_fd, e;
    pid_t pid;

    if (m->via_fusermount && !find_fusermount(helper, sizeof helper))
        return fail(rq, -ENOENT, FUSERMOUNT " not found (in PATH, /usr/bin "
                    "or /bin) for the auto-unmount watcher: install the fuse3 "
                    "package (apt-get install fuse3)");
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return fail(rq, -errno, "mount point %s: /dev/null cannot be opened "
                    "(%s) for the auto-unmount watcher: check /dev/null, or "
                    "turn auto_unmount off", rq->shown, strerror(errno));
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        e = errno;
        close(null_fd);
        return fail(rq, -e, "mount point %s: no pipe for the auto-unmount "
                    "watcher (%s): raise the open file limit (ulimit -n), or "
                    "turn auto_unmount off", rq->shown, strerror(e));
    }
    pid = fork();
    if (pid == 0)
        run_unmount_watcher(pipefd[0], null_fd, &plan);
    e = errno;
    close(pipefd[0]);
    close(null_fd);
    if (pid < 0) {
        close(pipefd[1]);
        return fail(rq, -e, "mount point %s: the auto-unmount watcher cannot "
                    "be started (fork: %s): raise the process limit "
                    "(ulimit -u), or turn auto_unmount off", rq->shown,
                    strerror(e));
    }
    m->watcher_pid = pid;
    m->watcher_fd = pipefd[1];
    return 0;
}

/* ------------------------------------------------------------------ */
/* The contract                                                        */
/* ------------------------------------------------------------------ */

static void reset_mount(struct fsp_mount *m)
{
    memset(m, 0, sizeof *m);
    m->fd = -1;
    m->watcher_fd = -1;
    m->fusermount_fd = -1;
}

int fsp_mount_create(const char *mountpoint,
                     const struct fsp_mount_options *opt, struct fsp_mount *m,
                     char *errmsg, size_t errsize)
{
    static const struct fsp_mount_options no_options;
    struct mount_request rq = {
        .given = mountpoint ? mountpoint : "",
        .opt = opt ? opt : &no_options,
        .privileged = geteuid() == 0,
        .errmsg = errmsg,
        .errsize = errmsg ? errsize : 0,
    };
    int err;

    if (rq.errsize > 0)
        errmsg[0] = '\0';
    reset_mount(m);
    shell_quote(rq.given, rq.shown, sizeof rq.shown);

    if (rq.given[0] == '\0') {
        err = fail(&rq, -EINVAL, "mount point is empty: give the directory "
                   "to mount on, for example /mnt/fsp");
        goto out;
    }
    err = check_names(&rq);
    if (err)
        goto out;
    err = check_fuse_device(&rq);
    if (err)
        goto out;
    err = check_mountpoint(&rq, &m->mountpoint);
    if (err)
        goto out;
    if (rq.privileged)
        err = mount_as_root(&rq, m);
    else
        err = mount_with_fusermount(&rq, m);
    if (err == 0 && rq.opt->auto_unmount)
        err = start_unmount_watcher(&rq, m);

out:
    if (err)
        fsp_mount_destroy(m);           /* unmounts if need be */
    return err;
}

int fsp_mount_unmount(struct fsp_mount *m)
{
    int err;

    if (m == NULL || m->mountpoint == NULL || m->id.conn_id == 0)
        return 0;
    err = our_mount_is_on_top(m->mountpoint, &m->id);
    if (err <= 0)
        return err;                     /* gone already, covered, or -errno */
    if (m->via_fusermount)
        return run_fusermount_unmount(m->mountpoint);
    if (umount2(m->mountpoint, MNT_DETACH) < 0)
        return -errno;
    return 0;
}

void fsp_mount_destroy(struct fsp_mount *m)
{
    if (m == NULL)
        return;
    fsp_mount_unmount(m);
    if (m->fd >= 0)
        close(m->fd);
    /* Tell the watcher that the mount is seen to, so that it touches
     * nothing even if it runs long after (held back, or slow to be
     * scheduled) when another volume is mounted on the path. */
    if (m->watcher_fd >= 0) {
        const char done = WATCHER_DONE;
        ssize_t ignored = write(m->watcher_fd, &done, 1);

        (void)ignored;
        close(m->watcher_fd);
    }
    if (m->watcher_pid > 0)
        reap_child(m->watcher_pid, REAP_TIMEOUT_MS, NULL);
    /* fsp does not keep fusermount3 alive at present (fusermount3's own
     * auto_unmount is not used); should a later version, closing its socket
     * makes it exit. */
    if (m->fusermount_fd >= 0)
        close(m->fusermount_fd);
    if (m->fusermount_pid > 0)
        reap_child(m->fusermount_pid, REAP_TIMEOUT_MS, NULL);
    free(m->mountpoint);
    reset_mount(m);
}
