/*
 * caller.h - what a request's header does not say of its caller: its
 * capabilities and supplementary groups, read from /proc/PID/status for
 * the few rules that need them (the set-ID clearing rules).
 */
#ifndef FSP_VOLUME_CALLER_H
#define FSP_VOLUME_CALLER_H

#include <stdbool.h>
#include <stdint.h>

/* Whether process @pid has capability @cap (CAP_FSETID, ...) in effect;
 * @fallback when that cannot be read (the caller is gone, or lives in a
 * pid namespace that hides it: pid 0). */
bool fsp_caller_has_capability(uint32_t pid, int cap, bool fallback);

/* Whether process @pid, whose fsgid is @fsgid (FSP_UNKNOWN_ID: read it
 * from /proc too), belongs to group @gid: its fsgid or one of its
 * supplementary groups, as the kernel's in_group_p() asks. When the
 * supplementary groups cannot be read, only the fsgid counts. */
bool fsp_caller_in_group(uint32_t pid, uint32_t fsgid, uint32_t gid);

#endif
