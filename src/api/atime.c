/*
 * atime.c - layer 5: the access time policy of a volume (relatime,
 * strictatime, noatime, nodiratime), for the file system's read() and
 * read_directory(). The kernel marks every FUSE inode S_NOATIME and never
 * updates an access time itself, so the file system keeps it; this is the
 * rule it asks, the one the kernel applies to its own file systems.
 */
#include "fs_internal.h"

#define RELATIME_MAX_AGE_S (24 * 60 * 60) /* relatime: at least daily */

/* a <= b */
static bool not_later(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec ||
           (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

FSP_API bool fsp_fs_atime_due(const fsp_fs_t *fs, bool directory,
                              struct timespec atime, struct timespec mtime,
                              struct timespec ctime, struct timespec now)
{
    if (!fs || fs->params.read_only)
        return false;
    if (directory && fs->params.nodiratime)
        return false;
    switch (fs->params.atime) {
    case FSP_ATIME_STRICT:
        return true;
    case FSP_ATIME_NEVER:
        return false;
    default: /* FSP_ATIME_RELATIME */
        return not_later(atime, mtime) || not_later(atime, ctime) ||
               now.tv_sec - atime.tv_sec >= RELATIME_MAX_AGE_S;
    }
}
