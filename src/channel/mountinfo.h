/*
 * mountinfo.h - reading /proc/self/mountinfo lines and naming file types:
 * helpers of the mount code (mount.c) that fsptool links too, so that the
 * two read the kernel's mount table the same way. Internal: not part of
 * <fsp/fsp.h>.
 *
 * Nothing here allocates or uses stdio: the auto-unmount watcher, a
 * forked process, calls it.
 */
#ifndef FSP_MOUNTINFO_H
#define FSP_MOUNTINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One line of mountinfo (proc(5)); the strings point into the line. */
struct fsp_mountinfo_entry {
    unsigned major, minor;     /* st_dev of the mounted file system */
    const char *mount_point;   /* unescaped */
    const char *fstype;        /* "fuse.memfs", "ext4", ... */
    const char *source;        /* unescaped: "memfs", "/dev/sda1" */
    const char *super_options; /* "rw,user_id=0,..."; "" if absent */
};

/* Undo the kernel's \ooo escapes (space, tab, newline, backslash), in
 * place. */
void fsp_mountinfo_unescape(char *s);

/*
 * Parse one line (with or without its newline), cutting it up in place:
 *   36 35 0:52 / /mnt rw,nosuid shared:1 - fuse.memfs memfs rw,user_id=0
 * Returns false, with *e undefined, for a line that is not of that form.
 */
bool fsp_mountinfo_parse_line(char *line, struct fsp_mountinfo_entry *e);

/* "a regular file", "a directory", "a symbolic link", ... for the type
 * bits of @mode; @other for a type that is none of the seven. */
const char *fsp_file_kind(mode_t mode, const char *other);

/* The unique id of the mount on top of @path (statx STATX_MNT_ID_UNIQUE,
 * Linux 6.8; never reused while the system runs), or 0 if the kernel has
 * none to give or @path cannot be read. AT_STATX_DONT_SYNC: a FUSE root's
 * attributes are not asked for, so this works before INIT and on a
 * connection whose daemon hangs. No malloc (the watcher calls it). */
uint64_t fsp_mount_unique_id(const char *path);

#endif /* FSP_MOUNTINFO_H */
