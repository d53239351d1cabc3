/**
 * @file class_safety.c
 * Ownership and mode checks of class files, executables and the
 * directories above them: anyone who can change one of them could make
 * the launcher run code of theirs as root.
 */
#define _GNU_SOURCE

#include "class_safety.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool fsp_class_is_safe(const char *what, const char *path,
                       const struct stat *st, char *problem,
                       size_t problem_size)
{
    mode_t mode = st->st_mode & 07777;

    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        snprintf(problem, problem_size,
                 "%s '%s' is owned by uid %u, not root, who could make "
                 "the launcher run any code as root; chown root %s",
                 what, path, (unsigned)st->st_uid, path);
        return false;
    }
    /* A sticky directory (/tmp) lets others add files but not replace
     * or rename root's. */
    if (S_ISDIR(st->st_mode) && (mode & S_ISVTX))
        return true;
    if ((mode & S_IWOTH) || ((mode & S_IWGRP) && st->st_gid != 0)) {
        snprintf(problem, problem_size,
                 "%s '%s' is writable by others than root (mode %04o), "
                 "which would let them run any code as root; chmod go-w %s",
                 what, path, (unsigned)mode, path);
        return false;
    }
    return true;
}

bool fsp_class_parents_are_safe(const char *path, char *problem,
                                size_t problem_size)
{
    char dir[PATH_MAX];
    struct stat st;
    size_t len = strlen(path);
    size_t i;

    if (len >= sizeof dir || path[0] != '/')
        return true; /* reported as not absolute or too long elsewhere */
    /* Each prefix ending before a '/': "/", "/usr", "/usr/bin". */
    for (i = 0; i < len; i++) {
        if (path[i] != '/')
            continue;
        if (i == 0) {
            strcpy(dir, "/");
        } else {
            memcpy(dir, path, i);
            dir[i] = '\0';
        }
        if (stat(dir, &st) < 0)
            return true; /* the executable's own check says it is missing */
        if (!fsp_class_is_safe("directory", dir, &st, problem, problem_size))
            return false;
    }
    return true;
}
