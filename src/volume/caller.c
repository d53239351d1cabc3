/*
 * caller.c - layer 3: a request's caller beyond its header (uid, gid,
 * pid): capabilities and supplementary groups, from /proc/PID/status,
 * read in one pass per question. Reading /proc costs a few microseconds,
 * so only rare paths ask: a FALLOCATE's set-ID clearing, and a
 * set-group-ID file without group execution changed by someone outside
 * its group. Self-contained (fsp.h
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

/* What /proc/PID/status says of the caller, read in one pass. */
struct caller_status {
    bool has_caps, has_fsgid;
    unsigned long long cap_eff; /* "CapEff:" */
    uint32_t fsgid;             /* the fourth of "Gid:" */
    char *groups;               /* "Groups:", space-separated; freed by
                                   caller_status_free() */
};

/* Fills @st from /proc/@pid/status; what it cannot read it leaves unset
 * (pid 0, a process gone or hidden in another pid namespace). */
static void caller_status_read(uint32_t pid, struct caller_status *st)
{
    char path[32], *line = NULL;
    unsigned long real, effective, saved, fs;
    size_t size = 0;
    FILE *f;

    memset(st, 0, sizeof *st);
    if (pid == 0)
        return;
    snprintf(path, sizeof path, "/proc/%u/status", (unsigned)pid);
    f = fopen(path, "re");
    if (!f)
        return;
    while (getline(&line, &size, f) >= 0) {
        if (sscanf(line, "CapEff: %llx", &st->cap_eff) == 1) {
            st->has_caps = true;
        } else if (sscanf(line, "Gid: %lu %lu %lu %lu", &real, &effective,
                          &saved, &fs) == 4) {
            st->fsgid = (uint32_t)fs;
            st->has_fsgid = true;
        } else if (strncmp(line, "Groups:", 7) == 0 && !st->groups) {
            st->groups = strdup(line + 7);
        }
    }
    free(line);
    fclose(f);
}

static void caller_status_free(struct caller_status *st)
{
    free(st->groups);
    st->groups = NULL;
}

static bool status_has_capability(const struct caller_status *st, int cap,
                                  bool fallback)
{
    return st->has_caps ? (st->cap_eff >> cap) & 1 : fallback;
}

/* @fsgid: the request's, or FSP_UNKNOWN_ID for the one of @st. */
static bool status_in_group(const struct caller_status *st, uint32_t fsgid,
                            uint32_t gid)
{
    char *p, *end;

    if (fsgid == FSP_UNKNOWN_ID && st->has_fsgid)
        fsgid = st->fsgid;
    if (fsgid == gid)
        return true;
    for (p = st->groups; p; p = end) {
        unsigned long g = strtoul(p, &end, 10);

        if (end == p)
            break;
        if (g == gid)
            return true;
    }
    return false;
}

bool fsp_caller_has_capability(uint32_t pid, int cap, bool fallback)
{
    struct caller_status st;
    bool has;

    caller_status_read(pid, &st);
    has = status_has_capability(&st, cap, fallback);
    caller_status_free(&st);
    return has;
}

bool fsp_caller_in_group(uint32_t pid, uint32_t fsgid, uint32_t gid)
{
    struct caller_status st;
    bool member;

    if (fsgid == gid)
        return true; /* no need to read /proc */
    caller_status_read(pid, &st);
    member = status_in_group(&st, fsgid, gid);
    caller_status_free(&st);
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
    struct caller_status st;
    bool keeps;

    mode &= ~(uint32_t)S_ISUID;
    if (!(mode & S_ISGID))
        return mode;
    if (mode & S_IXGRP)
        return mode & ~(uint32_t)S_ISGID;
    if (!caller || caller->gid == gid)
        return mode;
    caller_status_read(caller->pid, &st);
    keeps = status_in_group(&st, caller->gid, gid) ||
            status_has_capability(&st, CAP_FSETID, caller->uid == 0);
    caller_status_free(&st);
    return keeps ? mode : mode & ~(uint32_t)S_ISGID;
}
