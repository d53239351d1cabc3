/*
 * fusermount_find.h - where fusermount3 is: the mount code runs it for an
 * ordinary user, and fsptool doctor checks the one the mount code would
 * run. Internal: not part of <fsp/fsp.h>.
 */
#ifndef FSP_FUSERMOUNT_FIND_H
#define FSP_FUSERMOUNT_FIND_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Where fusermount3 is: the first absolute directory of PATH that has it,
 * else /usr/bin or /bin (a daemon started by systemd or cron may have a
 * short PATH). PATH comes first so that a newer build in /usr/local/bin, or
 * a test's stand-in, is preferred; relative PATH entries are never used.
 *   @out    gets the path of fusermount3 (NUL-terminated)
 *   @size   the size of @out in bytes
 *   @amode  what access(2) must grant: X_OK to run it (the mount code),
 *           F_OK to find one that is there but may not run (doctor says
 *           why)
 * Returns true if one was found, false if not (@out is then undefined).
 */
bool fsp_fusermount_find(char *out, size_t size, int amode);

#endif /* FSP_FUSERMOUNT_FIND_H */
