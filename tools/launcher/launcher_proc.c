/**
 * @file launcher_proc.c
 * Mount points and processes of launcher instances, from /proc (see
 * launcher_proc.h).
 */
#define _GNU_SOURCE

#include "launcher_proc.h"
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

/* What fsp_launcher_is_fuse_mount() looks for while the library reads the
 * table. */
struct fuse_mount_search {
    const char *path;
    bool found;
};

static void search_visit(const struct fsp_mountinfo_entry *e, void *ctx)
{
    struct fuse_mount_search *search = ctx;

    if (strcmp(e->mount_point, search->path) == 0 &&
        fsp_mountinfo_is_fuse(e->fstype))
        search->found = true;
}

bool fsp_launcher_is_fuse_mount(const char *path)
{
    struct fuse_mount_search search = { .path = path };

    /* The library's reader (mountinfo.h): one reading of the table. A
     * table that cannot be read shows no mount. */
    fsp_mountinfo_foreach(search_visit, &search);
    return search.found;
}

int fsp_launcher_unmount(const char *path, unsigned long long mount_id)
{
    if (!fsp_launcher_is_fuse_mount(path))
        return 0;
    if (mount_id != 0 && fsp_mount_unique_id(path) != mount_id)
        return 0;                   /* not the instance's mount */
    if (umount2(path, MNT_DETACH) < 0)
        return -errno;
    return 0;
}

unsigned long long fsp_launcher_start_time(pid_t pid)
{
    char path[64], text[1024], *s, state;
    unsigned long long start = 0;
    FILE *file;
    size_t len;
    int field;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    file = fopen(path, "re");
    if (!file)
        return 0;
    len = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[len] = '\0';
    /* The command name (field 2) may hold blanks and ')': skip to the
     * last ')'. Field 3 is the state, field 22 the start time. */
    s = strrchr(text, ')');
    if (!s || sscanf(s + 1, " %c", &state) != 1 || state == 'Z' ||
        state == 'X')
        return 0;
    s += 2;
    for (field = 3; field < 22 && s; field++) {
        s = strchr(s, ' ');
        if (s)
            s++;
    }
    if (s)
        start = strtoull(s, NULL, 10);
    return start;
}
