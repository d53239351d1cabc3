/*
 * harness.h - the integration test harness: mounts memfs for real, runs every
 * case in a forked child under a watchdog, and tears everything down with
 * time limits. A test never hangs: a case that overruns its limit has its
 * FUSE connection aborted through /sys/fs/fuse/connections, its processes
 * and daemon killed, and its mount lazily unmounted; it is reported as
 * "FAIL - name (TIMEOUT ...)".
 *
 * Output, one line per case:
 *   ok - rename_noreplace_fails_with_eexist
 *   FAIL - name (file.c:123: open(...) -> -1; errno=ENOENT)
 *   skip - name (reason)
 * and a last line "<suite>: N passed, M failed[, K skipped]". The exit status
 * is non-zero if anything failed.
 *
 * Environment:
 *   FSP_BIN_DIR   directory holding memfs, ptfs and fsptool (default: the
 *                 build's bin/, compiled in; the suites are in its tests/).
 *   FSP_TEST_DIR  run the POSIX cases against this plain directory instead of
 *                 a memfs mount (to check expectations on tmpfs/ext4); cases
 *                 that need the daemon are skipped.
 *   CI            if set (and not "0"/"false"), a missing /dev/fuse is a
 *                 failure instead of a skip.
 *   FSP_TEST_FS   the file system under test: memfs (default); ptfs,
 *                 which then serves a fresh directory MOUNTPOINT.src; or
 *                 sqlfs, on a fresh database MOUNTPOINT.sqlite.
 *   FSP_TEST_FS_OPTS  more -o options for every mount (e.g. slowio).
 *   FSP_TEST_TIMEOUT_SCALE  multiply every case's time limit (e.g. 3 under
 *                 valgrind or a sanitizer build).
 *
 * Command line: SUITE [-l] [-v] [NAME-SUBSTRING...]: -l lists the cases, the
 * substrings select cases to run.
 */
#ifndef FSP_TEST_HARNESS_H
#define FSP_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "expect.h"

/* ---- cases ---- */

enum {
    H_DAEMON = 1u << 0,   /* needs the real daemon: skipped in FSP_TEST_DIR mode */
    H_NOMOUNT = 1u << 1,  /* the runner does not mount; the case mounts itself */
    H_DEBUGLOG = 1u << 2, /* the runner's mount runs memfs -d, log kept */
    H_XFAIL = 1u << 3,    /* the case must fail (harness self-tests) */
    H_MEMFS_ONLY = 1u << 4, /* tests memfs's own options (size limits...):
                               skipped when FSP_TEST_FS is another fs */
    H_NO_LEAK_CHECK = 1u << 5, /* the case leaves nodes on purpose (it says
                                  why): no leak check after it */
};

struct h_case {
    const char *name;
    void (*fn)(void);
    const char *mount_opts; /* -o for the runner's mount; NULL: none */
    unsigned flags;
    unsigned timeout_s;     /* 0: 30 s */
};

#define H_CASE(fn, opts, flags) { #fn, fn, opts, flags, 0 }
#define H_CASE_T(fn, opts, flags, secs) { #fn, fn, opts, flags, secs }

int h_main(const char *suite, int argc, char **argv,
           const struct h_case *cases, size_t ncases);

/* ---- what a case sees ---- */

extern const char *h_root;    /* the directory the case works in (a mount
                                 point or, in FSP_TEST_DIR mode, a fresh dir) */
extern const char *h_bin_dir; /* where memfs and fsptool are */
bool h_dir_mode(void);        /* FSP_TEST_DIR mode */

/* h_root "/" printf(fmt, ...): one of 16 rotating static buffers. */
const char *h_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- results ---- */

/* The assertions (EXPECT_*, ASSERT_*, ADD_FAILURE) are expect.h's; a
 * failure counts for the case and shows on its result line, in whichever
 * of the case's processes it happened. */
/* Print "    # ..." under the case's result line. */
void h_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Mark the case skipped and end it. */
void h_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The failures the case has recorded so far, in all its processes. */
int h_failures(void);

/* ---- mounts ---- */

enum {
    H_M_DAEMONIZE = 1u << 0, /* run memfs without -f; daemon pid found after */
    H_M_DEBUG = 1u << 1,     /* memfs -d, stderr kept in m->log */
};

struct h_mount {
    char dir[256];      /* the temp dir that was created (rmdir'd at the end) */
    char mnt[256];      /* the mount point */
    char log[288];      /* daemon stdout+stderr */
    pid_t pid;          /* the daemon */
    bool child;         /* pid is our child (waitpid works) */
    unsigned dev_minor; /* FUSE connection id */
    int slot;           /* registry slot, -1 if none */
    char source[288];   /* the source operand the case gave (kept at the
                           end); empty: the harness's own */
};

/* Mount memfs on a fresh temp dir (mode 0755 under /tmp) with -o opts.
 * Returns true when mounted; on failure records a failure (with the log). */
bool h_mount(struct h_mount *m, const char *opts, unsigned mflags);
/* Mount on an existing directory. */
bool h_mount_at(struct h_mount *m, const char *mnt, const char *opts, unsigned mflags);
/* Mount with an explicit source operand before the mount point (ptfs's
 * directory, sqlfs's database), which the unmount leaves in place. */
bool h_mount_source_at(struct h_mount *m, const char *source, const char *mnt,
                       const char *opts, unsigned mflags);
/* Unmount, wait (bounded) for the daemon to exit, rmdir the temp dir.
 * *status gets the daemon's wait status (-1: unknown, not our child; -2:
 * did not exit and was killed). Returns true if the unmount worked. */
bool h_unmount(struct h_mount *m, int *status);
/* Forget a mount without unmounting (the case took care of it). */
void h_forget(struct h_mount *m);
/* Register an externally made mount/daemon so the runner cleans it up. */
int h_register(const char *mnt, pid_t pid, const char *rmdir_after);
void h_unregister(int slot);

/* The file system under test (FSP_TEST_FS): "memfs", "ptfs" or "sqlfs"
 * (which then serves a fresh database MOUNTPOINT.sqlite). */
const char *h_fs_name(void);
bool h_fs_is_ptfs(void);
bool h_fs_is_sqlfs(void);
/* sqlfs on PostgreSQL (FSP_TEST_PG set): each mount on a database of its
 * own in the tests' cluster, instead of an SQLite file. */
bool h_sqlfs_on_pg(void);

/* The runner's mount for this case (NULL in FSP_TEST_DIR mode/H_NOMOUNT). */
const struct h_mount *h_cur_mount(void);

/* /proc/self/mountinfo lookups: safe on a hung mount (never stat()s it). */
struct h_mountinfo {
    unsigned major, minor;
    char fstype[64];
    char source[256];
    char opts[512];      /* per-mount options */
    char superopts[512];
};
bool h_mountinfo_find(const char *mnt, struct h_mountinfo *mi);
int h_mountinfo_count(const char *mnt);
/* After unshare(CLONE_NEWNS): lazily unmount, in this new namespace only,
 * every FUSE mount copied from the parent namespace. Otherwise the copies
 * keep other cases' volumes alive after they are unmounted (their daemons
 * would not see the connection end). Returns how many were detached. */
int h_detach_copied_fuse_mounts(void);
/* Write to /sys/fs/fuse/connections/<minor>/abort (mounting fusectl if
 * needed). */
bool h_abort_connection(unsigned minor);

/* Daemon pid of the volume at mnt: from `fsptool lsvol`, else by scanning
 * /proc for a memfs process with mnt on its command line. 0 if none. */
pid_t h_find_daemon(const char *mnt);
pid_t h_lsvol_pid(const char *mnt, char *fsname, size_t fsn, char *channel,
                  size_t chn, long *threads);
/* The same, polled for up to timeout_s: a foreground (-f) daemon may
 * publish itself to fsptool a moment after the mount appears. */
pid_t h_lsvol_pid_wait(const char *mnt, char *fsname, size_t fsn, char *channel,
                       size_t chn, long *threads, double timeout_s);
/* Wait until pid is gone (or a zombie); true if it went within timeout. */
bool h_wait_gone(pid_t pid, double timeout_s);
/* waitpid with a time limit; returns the pid or 0 on timeout. */
pid_t h_waitpid_timeout(pid_t pid, int *status, double timeout_s);

/* `fsptool stat MNT`: value of the line "key N"; -1 if missing. */
long long h_fsptool_stat(const char *mnt, const char *key);
/* The leak check the runner makes after every case on its mount: drops the
 * kernel's dentry and inode caches (so FORGETs flow) until the volume at
 * @mnt holds no handle and at most @base_nodes nodes; records a failure
 * and returns false if it still holds more after 2 s. */
bool h_check_baseline(const char *mnt, long long base_nodes);
/* How many requests of this opcode name (e.g. "lookup") the volume has
 * seen: from fsptool stat if it shows per-opcode lines, else counted in
 * the daemon's -d log. -1 if neither is available. */
long long h_op_count(const struct h_mount *m, const char *opname);

/* ---- processes ---- */

struct h_proc {
    int status;       /* waitpid status */
    bool timed_out;   /* killed after the time limit */
    char out[16384];
    char err[16384];
};

struct h_run_opts {
    uid_t uid;              /* run as this uid/gid (setgroups(0)) if drop */
    gid_t gid;
    bool drop;
    char *const *envp;      /* NULL: inherit */
    double timeout_s;       /* 0: 30 s */
};

/* Run argv (argv[0] a path), capture stdout/stderr, bounded. Returns the
 * exit code (0..255), 128+signal, or -1 on timeout/failure to run. */
int h_run(struct h_proc *p, const struct h_run_opts *o, char *const argv[]);
/* Convenience: NULL-terminated argument list, inheriting the environment. */
int h_runl(struct h_proc *p, double timeout_s, const char *path, ...);

/* Fork, drop to uid/gid (setgroups(0), setresgid, setresuid), call fn(arg),
 * exit. Returns the child's exit status (0 when fn returned), bounded by a
 * 60 s limit. Failures recorded in the child count for the case. */
int h_as_user(uid_t uid, gid_t gid, void (*fn)(void *), void *arg);
/* h_as_user() with the supplementary groups @groups (@ngroups of them)
 * in place of none. */
int h_as_user_in_groups(uid_t uid, gid_t gid, size_t ngroups,
                        const gid_t *groups, void (*fn)(void *), void *arg);

/* Run fn(arg) in nproc forked workers (worker index in *(int*)... passed as
 * idx) and wait for all; returns how many did not exit 0. */
int h_fork_workers(int nproc, void (*fn)(int idx, void *arg), void *arg,
                   double timeout_s);

/* ---- utilities ---- */

double h_now(void);                /* CLOCK_MONOTONIC seconds */
void h_sleep(double s);
bool h_write_file(const char *path, const void *buf, size_t len, mode_t mode);
ssize_t h_read_file(const char *path, void *buf, size_t size);
bool h_contains_ci(const char *hay, const char *needle);
int h_rm_rf(const char *path);
/* Scan /proc: is there a process whose argv has basename(argv0)==prog and
 * an argument equal to arg? Returns its pid or 0. */
pid_t h_find_process(const char *prog, const char *arg);
void h_make_traversable(const char *dir);

/* splitmix64-based PRNG */
static inline uint64_t h_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint64_t h_rand_below(uint64_t *s, uint64_t n)
{
    return n ? h_rand(s) % n : 0;
}

#endif /* FSP_TEST_HARNESS_H */
