/*
 * fusermount_find.c - where fusermount3 is (see fusermount_find.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "fusermount_find.h"
#include "mount_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool fsp_fusermount_find(char *out, size_t size, int amode)
{
    const char *path = getenv("PATH"), *p, *end;
    static const char *const fallback[] = { "/usr/bin", "/bin" };
    size_t i;

    for (p = path; p && *p; p = *end ? end + 1 : end) {
        end = strchrnul(p, ':');
        if (*p != '/')
            continue;
        if ((size_t)snprintf(out, size, "%.*s/" FUSERMOUNT, (int)(end - p), p)
                < size && access(out, amode) == 0)
            return true;
    }
    for (i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
        snprintf(out, size, "%s/" FUSERMOUNT, fallback[i]);
        if (access(out, amode) == 0)
            return true;
    }
    return false;
}
