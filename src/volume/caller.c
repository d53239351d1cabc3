/*
 * caller.c - layer 3: a request's caller beyond its header (uid, gid,
 * pid): capabilities and supplementary groups, from /proc/PID/status.
 * Reading /proc costs a few microseconds, so only rare paths ask: a
 * FALLOCATE's set-ID clearing, and a set-group-ID file without group
 * execution changed by someone other than root. Self-contained (fsp.h
 * only), so that memfs_selftest compiles it in and checks memfs against
 * the library's own rule.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsp/fsp.h"
#include "caller.h"

/* The value of the line of /proc/@pid/status that starts with @key (as
 * "CapEff:"), in a buffer the caller frees; NULL if there is none. */
static char *status_line(uint32_t pid, const char *key)
{
    char path[32], *line = NULL, *value = NULL;
    size_t size = 0, key_len = strlen(key);
    FILE *f;

    if (pid == 0)
        return NULL;
    snprintf(path, sizeof path, "/proc/%u/status", (unsigned)pid);
    f = fopen(path, "re");
    if (!f)
        return NULL;
    while (getline(&line, &size, f) >= 0) {
        if (strncmp(line, key, key_len) == 0) {
            value = strdup(line + key_len);
            break;
        }
    }
    free(line);
    fclose(f);
    return value;
}

bool fsp_caller_has_capability(uint32_t pid, int cap, bool fallback)
{
    char *value = status_line(pid, "CapEff:");
    unsigned long long caps;
    bool has = fallback;

    if (value && sscanf(value, "%llx", &caps) == 1)
        has = (caps >> cap) & 1;
    free(value);
    return has;
}

/* The fsgid of process @pid (the fourth of "Gid:"); FSP_UNKNOWN_ID if it
 * cannot be read. */
static uint32_t caller_fsgid(uint32_t pid)
{
    char *value = status_line(pid, "Gid:");
    unsigned long real, effective, saved, fs;
    uint32_t fsgid = FSP_UNKNOWN_ID;

    if (value &&
        sscanf(value, "%lu %lu %lu %lu", &real, &effective, &saved, &fs) == 4)
        fsgid = (uint32_t)fs;
    free(value);
    return fsgid;
}

bool fsp_caller_in_group(uint32_t pid, uint32_t fsgid, uint32_t gid)
{
    char *value, *p, *end;
    bool member = false;

    if (fsgid == FSP_UNKNOWN_ID)
        fsgid = caller_fsgid(pid);
    if (fsgid == gid)
        return true;
    value = status_line(pid, "Groups:");
    for (p = value; p && !member; p = end) {
        unsigned long g = strtoul(p, &end, 10);

        if (end == p)
            break;
        member = g == gid;
    }
    free(value);
    return member;
}

/*
 * The rule of the kernel's setattr_should_drop_sgid() and
 * should_remove_suid(): set-user-ID always goes; set-group-ID goes with
 * group execution (it gives the group's rights), and without it (where
 * it marks mandatory locking) only when the caller is outside the file's
 * group and lacks CAP_FSETID. Outside a request there is no caller to
 * ask about, and that bit stays. With allow_idmap the kernel names the
 * caller's ids only in requests that make files, so the fsgid too may
 * come from /proc. A caller /proc does not show (pid 0) is in no group
 * but its fsgid's, and capable if root.
 */
FSP_API uint32_t fsp_fs_mode_after_kill_suid(uint32_t mode, uint32_t gid)
{
    const fsp_operation_context_t *caller = fsp_fs_operation_context();

    mode &= ~(uint32_t)S_ISUID;
    if (!(mode & S_ISGID))
        return mode;
    if (mode & S_IXGRP)
        return mode & ~(uint32_t)S_ISGID;
    if (!caller)
        return mode;
    if (fsp_caller_in_group(caller->pid, caller->gid, gid))
        return mode;
    if (fsp_caller_has_capability(caller->pid, CAP_FSETID, caller->uid == 0))
        return mode;
    return mode & ~(uint32_t)S_ISGID;
}
