/*
 * mountinfo.c - see mountinfo.h. No malloc, no stdio.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mountinfo.h"

#define MOUNTINFO_LINE_MAX    16384 /* longer lines are skipped */

void fsp_mountinfo_unescape(char *s)
{
    char *d = s;

    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
            s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
                          (s[3] - '0'));
            s += 4;
        } else {
            *d++ = *s++;
        }
    }
    *d = '\0';
}

static char *next_field(char **cursor)
{
    char *s = *cursor, *space;

    if (s == NULL)
        return NULL;
    space = strchr(s, ' ');
    if (space) {
        *space = '\0';
        *cursor = space + 1;
    } else {
        *cursor = NULL;
    }
    return s;
}

static bool parse_uint(const char **s, unsigned *value)
{
    unsigned long v = 0;
    const char *p = *s;

    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long)(*p++ - '0');
        if (v > UINT_MAX)
            return false;
    }
    *value = (unsigned)v;
    *s = p;
    return true;
}

bool fsp_mountinfo_parse_line(char *line, struct fsp_mountinfo_entry *e)
{
    char *cursor = line, *field[6], *sep, *nl;
    const char *dev;
    int i;

    nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    for (i = 0; i < 6; i++) {
        field[i] = next_field(&cursor);
        if (field[i] == NULL)
            return false;
    }
    dev = field[2];
    if (!parse_uint(&dev, &e->major) || *dev++ != ':' ||
        !parse_uint(&dev, &e->minor) || *dev != '\0')
        return false;
    do {                                /* optional fields end at "-" */
        sep = next_field(&cursor);
        if (sep == NULL)
            return false;
    } while (strcmp(sep, "-") != 0);
    e->fstype = next_field(&cursor);
    e->source = next_field(&cursor);
    if (e->fstype == NULL || e->source == NULL)
        return false;
    e->super_options = next_field(&cursor);
    if (e->super_options == NULL)
        e->super_options = "";
    fsp_mountinfo_unescape(field[4]);
    fsp_mountinfo_unescape((char *)e->source);
    e->mount_point = field[4];
    return true;
}

int fsp_mountinfo_foreach(fsp_mountinfo_visitor visit, void *ctx)
{
    char buf[MOUNTINFO_LINE_MAX];
    size_t len = 0;
    bool skipping = false;
    int fd, err = 0;

    fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        char *line, *nl;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        line = buf;
        while ((nl = memchr(line, '\n', (size_t)(buf + len - line)))) {
            struct fsp_mountinfo_entry e;

            *nl = '\0';
            if (!skipping && fsp_mountinfo_parse_line(line, &e))
                visit(&e, ctx);
            skipping = false;
            line = nl + 1;
        }
        len = (size_t)(buf + len - line);
        memmove(buf, line, len);
        if (len == sizeof buf - 1) {    /* a line longer than buf */
            skipping = true;
            len = 0;
        }
    }
    close(fd);
    return err;
}

bool fsp_mountinfo_is_fuse(const char *fstype)
{
    return strncmp(fstype, "fuse", 4) == 0 && strcmp(fstype, "fusectl") != 0;
}

unsigned fsp_mountinfo_conn_id(unsigned major, unsigned minor)
{
    return major << FSP_KDEV_MINOR_BITS | minor;
}

const char *fsp_file_kind(mode_t mode, const char *other)
{
    switch (mode & S_IFMT) {
    case S_IFREG:  return "a regular file";
    case S_IFDIR:  return "a directory";
    case S_IFLNK:  return "a symbolic link";
    case S_IFCHR:  return "a character device";
    case S_IFBLK:  return "a block device";
    case S_IFIFO:  return "a FIFO";
    case S_IFSOCK: return "a socket";
    default:       return other;
    }
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

uint64_t fsp_mount_unique_id(const char *path)
{
    struct statx sx;

    if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT |
              AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &sx) < 0)
        return 0;
    return (sx.stx_mask & STATX_MNT_ID_UNIQUE) ? sx.stx_mnt_id : 0;
}
