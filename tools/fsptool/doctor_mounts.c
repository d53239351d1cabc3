/*
 * doctor_mounts.c - doctor's check for FUSE mounts left behind: mounts
 * whose daemon is gone (every access fails with ENOTCONN, "Transport
 * endpoint is not connected") and mounts whose daemon does not answer.
 *
 * Each FUSE mount of /proc/self/mountinfo is asked a statfs() from a child
 * process, all at once, with one time limit: the kernel always sends
 * STATFS to the daemon (stat() might be answered from its cache), a dead
 * connection fails at once with ENOTCONN, and a hung one only costs us a
 * child that is killed. The kernel answers statfs() without asking the
 * daemon when the caller may not use the mount (another user's, without
 * allow_other), so root asks each mount as its owner (user_id=, group_id=
 * of the mount); an ordinary user can only ask their own mounts and those
 * with allow_other, and says how many it could not check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "fsptool.h"
#include "mountinfo.h"
#include "shell_quote.h"

#define PROBE_TIMEOUT_MS 1500
#define POLL_INTERVAL_MS 10
#define FUSECTL_DIR      "/sys/fs/fuse/connections"

enum probe_result {
    PROBE_SKIPPED,     /* not asked: hidden, or not ours to ask */
    PROBE_ANSWERED,
    PROBE_DEAD,        /* ENOTCONN */
    PROBE_HUNG,        /* no answer within the time limit */
};

struct probe {
    const struct mount_entry *m;
    uid_t uid;         /* the mount's owner */
    gid_t gid;
    pid_t pid;         /* the asking child, 0 when done */
    enum probe_result result;
};

/* The value of "name=" in a comma-separated option list, or -1. */
static long option_value(const char *options, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = options; p; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (!strncmp(p, name, len) && p[len] == '=')
            return strtol(p + len + 1, NULL, 10);
    }
    return -1;
}

static bool has_option(const char *options, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = options; p; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (!strncmp(p, name, len) && (p[len] == ',' || p[len] == '\0'))
            return true;
    }
    return false;
}

/* A mount with another mount on the same path after it is hidden: a
 * statfs() of the path would ask the one on top. */
static bool is_hidden(const struct mount_entry *mounts, size_t count,
                      size_t i)
{
    for (size_t j = i + 1; j < count; j++)
        if (!strcmp(mounts[j].mountpoint, mounts[i].mountpoint))
            return true;
    return false;
}

/* The child: become the mount's owner if we are root, then ask. */
static void probe_child(const struct probe *p, bool root)
{
    struct statfs sfs;
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    /* A probe stuck on a hung mount may outlive doctor: it must not hold
     * doctor's output open (a caller reading it to the end would wait). */
    if (null_fd >= 0) {
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        close(null_fd);
    }
    if (root && p->uid != 0 &&
        (setgroups(0, NULL) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
         setresuid(p->uid, p->uid, p->uid) < 0))
        _exit(3);
    if (statfs(p->m->mountpoint, &sfs) == 0)
        _exit(0);
    _exit(errno == ENOTCONN ? 1 : 2);
}

static void probe_start(struct probe *p, bool root)
{
    pid_t pid = fork();

    if (pid == 0)
        probe_child(p, root);
    if (pid < 0) {
        p->result = PROBE_SKIPPED;      /* cannot tell */
        return;
    }
    p->pid = pid;
}

static void probe_collect(struct probe *p, int status)
{
    p->pid = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
        p->result = PROBE_DEAD;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        p->result = PROBE_SKIPPED;
    else
        p->result = PROBE_ANSWERED;     /* even an error is an answer */
}

/* Wait for every child until the time limit; kill the rest (hung). */
static void probe_wait_all(struct probe *probes, size_t n)
{
    struct timespec tick = { 0, POLL_INTERVAL_MS * 1000000L };
    int waited_ms = 0;
    size_t running;

    do {
        running = 0;
        for (size_t i = 0; i < n; i++) {
            int status;

            if (probes[i].pid == 0)
                continue;
            if (waitpid(probes[i].pid, &status, WNOHANG) == probes[i].pid)
                probe_collect(&probes[i], status);
            else
                running++;
        }
        if (running && waited_ms < PROBE_TIMEOUT_MS) {
            nanosleep(&tick, NULL);
            waited_ms += POLL_INTERVAL_MS;
        }
    } while (running && waited_ms < PROBE_TIMEOUT_MS);

    for (size_t i = 0; i < n; i++) {
        if (probes[i].pid == 0)
            continue;
        /* A request still queued for the daemon waits killably, but one
         * the daemon has taken does not: over io_uring the kernel hands
         * a request to a ring entry at once, so a stopped daemon leaves
         * the probe in an uninterruptible wait until the connection is
         * aborted. Kill it, but never wait for it: it ends on its own
         * (and is reaped by init) when the mount answers or dies. */
        kill(probes[i].pid, SIGKILL);
        waitpid(probes[i].pid, NULL, WNOHANG);
        probes[i].pid = 0;
        probes[i].result = PROBE_HUNG;
    }
}

static void report_problem(struct doctor *d, const struct probe *p)
{
    char mnt[1024], fix[2560];
    unsigned conn = fsp_mountinfo_conn_id(p->m->dev_major,
                                          p->m->dev_minor);

    fsp_shell_quote(p->m->mountpoint, mnt, sizeof(mnt));
    if (p->result == PROBE_DEAD) {
        if (d->root)
            snprintf(fix, sizeof(fix), "umount -l %s", mnt);
        else
            snprintf(fix, sizeof(fix), "fusermount3 -u -z %s", mnt);
        doctor_report(d, DOCTOR_FAIL, "mounts", fix,
                      "%s (%s from %s, connection %u) is left behind: its "
                      "daemon is gone (Transport endpoint is not connected)",
                      mnt, p->m->fstype, p->m->source, conn);
        return;
    }
    snprintf(fix, sizeof(fix), "if it stays so, as root: echo 1 > "
             FUSECTL_DIR "/%u/abort && umount -l %s", conn, mnt);
    doctor_report(d, DOCTOR_WARN, "mounts", fix,
                  "%s (%s from %s, connection %u) did not answer within "
                  "%.1f s: its daemon is busy or hung", mnt, p->m->fstype,
                  p->m->source, conn, PROBE_TIMEOUT_MS / 1000.0);
}

/* Fill @p for mount @m; false if we may not ask it. */
static bool probe_prepare(struct doctor *d, const struct mount_entry *m,
                          struct probe *p)
{
    long uid = option_value(m->super_options, "user_id");
    long gid = option_value(m->super_options, "group_id");

    memset(p, 0, sizeof(*p));
    p->m = m;
    p->uid = uid >= 0 ? (uid_t)uid : 0;
    p->gid = gid >= 0 ? (gid_t)gid : 0;
    if (d->root)
        return true;
    return (uid >= 0 && (uid_t)uid == geteuid()) ||
           has_option(m->super_options, "allow_other");
}

void doctor_check_mounts(struct doctor *d)
{
    struct mount_entry *mounts;
    struct probe *probes = NULL;
    size_t count, n = 0, answered = 0, unchecked = 0, problems = 0;
    int err = mount_table_load(&mounts, &count);

    if (err < 0) {
        doctor_report(d, DOCTOR_FAIL, "mounts",
                      "as root: mount -t proc proc /proc",
                      "/proc/self/mountinfo cannot be read (%s)",
                      strerror(-err));
        return;
    }
    probes = calloc(count ? count : 1, sizeof(*probes));
    if (!probes) {
        doctor_report(d, DOCTOR_FAIL, "mounts", "free some memory",
                      "out of memory");
        goto out;
    }
    fflush(stdout);                     /* children must not repeat it */
    for (size_t i = 0; i < count; i++) {
        if (!fsp_mountinfo_is_fuse(mounts[i].fstype))
            continue;
        if (is_hidden(mounts, count, i) ||
            !probe_prepare(d, &mounts[i], &probes[n])) {
            unchecked++;
            continue;
        }
        probe_start(&probes[n++], d->root);
    }
    probe_wait_all(probes, n);
    for (size_t i = 0; i < n; i++) {
        if (probes[i].result == PROBE_DEAD || probes[i].result == PROBE_HUNG) {
            report_problem(d, &probes[i]);
            problems++;
        } else if (probes[i].result == PROBE_ANSWERED) {
            answered++;
        } else {
            unchecked++;
        }
    }
    if (problems == 0 && answered + unchecked == 0)
        doctor_report(d, DOCTOR_OK, "mounts", NULL, "no FUSE mounts");
    else if (problems == 0)
        doctor_report(d, DOCTOR_OK, "mounts", NULL,
                      "%zu FUSE mount%s, %zu answered%s", answered + unchecked,
                      answered + unchecked == 1 ? "" : "s", answered,
                      unchecked ? " (the others are hidden under another "
                                  "mount or other users' without "
                                  "allow_other)" : "");
out:
    free(probes);
    mount_table_free(mounts, count);
}
