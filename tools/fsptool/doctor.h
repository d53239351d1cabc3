/*
 * doctor.h - what the parts of "fsptool doctor" share.
 *
 *   doctor.c          the verb: options, the order of the checks, output
 *   doctor_system.c   the kernel's FUSE support, /dev/fuse, fusectl,
 *                     fusermount3, /etc/fuse.conf
 *   doctor_features.c io_uring and passthrough
 *   doctor_mounts.c   FUSE mounts whose daemon is gone or hung
 *   doctor_service.c  class files and the launcher's socket
 *
 * Every check reports through doctor_report(): one line, a status, what was
 * found and, for a problem, the fix. The rule for the status:
 *   FAIL  something the caller needs is broken: fsp cannot mount for them,
 *         or something left behind is broken (a dead mount, a class file
 *         that does not load, classes nobody serves). Exit status 1.
 *   warn  an optional feature is off (io_uring, passthrough, fusectl), or
 *         something only other users need is missing (fusermount3,
 *         user_allow_other, a world-usable /dev/fuse when run as root).
 *   ok    as it should be.
 * So doctor answers for the user who runs it: run it as the user who
 * mounts.
 */
#ifndef FSPTOOL_DOCTOR_H
#define FSPTOOL_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

enum doctor_status {
    DOCTOR_OK,
    DOCTOR_WARN,
    DOCTOR_FAIL,
};

struct doctor {
    /* options */
    const char *class_dir;     /* -c */
    const char *socket_path;   /* -s */
    bool quiet;                /* -q: only warn and FAIL lines */
    bool json;                 /* -j: one JSON array */

    bool root;                 /* geteuid() == 0 */
    size_t class_files;        /* class files found, set by the class check */

    /* results */
    unsigned count[3];         /* by enum doctor_status */
    bool json_started;
};

/*
 * Report one finding of @check. @fix is the exact command or edit that
 * repairs it (NULL for ok); the message says what was found.
 */
void doctor_report(struct doctor *d, enum doctor_status status,
                   const char *check, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Read the first line of a small file (without its newline) into @buf.
 * Returns 0 or -errno. */
int doctor_read_line(const char *path, char *buf, size_t size);

void doctor_check_fuse_module(struct doctor *d);
void doctor_check_fuse_device(struct doctor *d);
void doctor_check_fusectl(struct doctor *d);
void doctor_check_fusermount(struct doctor *d);
void doctor_check_fuse_conf(struct doctor *d);
void doctor_check_io_uring(struct doctor *d);
void doctor_check_passthrough(struct doctor *d);
void doctor_check_class_files(struct doctor *d);
void doctor_check_launcher(struct doctor *d);
void doctor_check_mounts(struct doctor *d);

#endif /* FSPTOOL_DOCTOR_H */
