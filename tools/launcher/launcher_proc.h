/**
 * @file launcher_proc.h
 * What the launcher asks the kernel about its instances: whether a mount
 * point carries a FUSE mount, whether a process is still the one started.
 */
#ifndef FSP_LAUNCHER_PROC_H
#define FSP_LAUNCHER_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/** Whether path is the mount point of a FUSE mount (fsp_mountinfo_is_fuse:
 * fuse, fuse.*, fuseblk) in this mount namespace (per
 * /proc/self/mountinfo). */
bool fsp_launcher_is_fuse_mount(const char *path);

/** Detaches the FUSE mount at path if there is one (a crashed file system
 * leaves it behind). mount_id, when not 0, is the unique id the instance's
 * own mount had (fsp_mount_unique_id, mountinfo.h): a mount with another
 * id (a volume mounted there since;
 * a connection id or path would not tell them apart) is left alone.
 * @return 0 or -errno. */
int fsp_launcher_unmount(const char *path, unsigned long long mount_id);

/**
 * The start time of process pid (field 22 of /proc/PID/stat, in clock
 * ticks since boot): together with the pid it names one process, even
 * after the pid is reused.
 *
 * @return the start time, or 0 if there is no such process or it is a
 *         zombie.
 */
unsigned long long fsp_launcher_start_time(pid_t pid);

#endif
