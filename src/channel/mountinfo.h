/*
 * mountinfo.h - reading /proc/self/mountinfo and naming file types:
 * helpers of the mount code (mount_ours.c, mount_point.c) that fsptool and
 * the launcher link too, so that all of them read the kernel's mount table
 * the same way. Internal: not part of <fsp/fsp.h>.
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

/*
 * Reads /proc/self/mountinfo (open and read into a stack buffer) and calls
 * @visit for every line that parses, in the kernel's order: a mount stacked
 * on another comes after it, so the last one on a path is on top. A line
 * longer than 16 KiB is skipped.
 *   @visit  called with each entry, whose strings live only during the
 *           call, and with @ctx
 *   @ctx    passed to @visit as it is
 * Returns 0, or -errno if the file cannot be opened or read (the entries
 * seen before a read error have been visited). No malloc, no stdio.
 */
typedef void (*fsp_mountinfo_visitor)(const struct fsp_mountinfo_entry *e,
                                      void *ctx);
int fsp_mountinfo_foreach(fsp_mountinfo_visitor visit, void *ctx);

/*
 * Is a mount of type @fstype a FUSE file system?
 *   @fstype  the type as mountinfo gives it
 * Returns true for a type that starts with "fuse" ("fuse", "fuse.NAME",
 * "fuseblk", "fuseblk.NAME"), false for fusectl and every other type.
 */
bool fsp_mountinfo_is_fuse(const char *fstype);

/* Anonymous devices (FUSE's) have major 0; the connection id under
 * /sys/fs/fuse/connections is the kernel's dev_t: major << 20 | minor. */
#define FSP_KDEV_MINOR_BITS 20

/*
 * The FUSE connection id of a mount: its number under
 * /sys/fs/fuse/connections, where the connection can be aborted.
 *   @major, @minor  the mount's device, as in struct fsp_mountinfo_entry
 * Returns major << 20 | minor. The kernel gives a freed number to the next
 * mount at once: fsp_mount_unique_id() tells mounts apart for good.
 */
unsigned fsp_mountinfo_conn_id(unsigned major, unsigned minor);

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
