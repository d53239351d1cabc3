/**
 * @file launcher_proto.c
 * Helpers of the launcher's wire protocol (see launcher_proto.h): errno
 * names both ways, splitting a request into fields.
 */
#define _GNU_SOURCE

#include "launcher_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const struct {
    int value;
    const char *name;
} errno_names[] = {
    {EPERM, "EPERM"},         {ENOENT, "ENOENT"},
    {ESRCH, "ESRCH"},         {EIO, "EIO"},
    {E2BIG, "E2BIG"},         {ENOEXEC, "ENOEXEC"},
    {ENOMEM, "ENOMEM"},       {EACCES, "EACCES"},
    {EBUSY, "EBUSY"},         {EEXIST, "EEXIST"},
    {EINVAL, "EINVAL"},       {ENOSPC, "ENOSPC"},
    {EMSGSIZE, "EMSGSIZE"},   {ETIMEDOUT, "ETIMEDOUT"},
    {ECONNREFUSED, "ECONNREFUSED"}, {EPROTO, "EPROTO"},
    {ENOTCONN, "ENOTCONN"},   {EAGAIN, "EAGAIN"},
    {EINTR, "EINTR"},         {ECHILD, "ECHILD"},
};

const char *fsp_launcher_errno_name(int err)
{
    size_t i;

    for (i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].value == err)
            return errno_names[i].name;
    return "EIO";
}

int fsp_launcher_errno_value(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (strcmp(errno_names[i].name, name) == 0)
            return errno_names[i].value;
    return EIO;
}

int fsp_launcher_split(char *line, char **fields, int max)
{
    int count = 0;
    char *tab;

    for (;;) {
        if (count == max)
            return -E2BIG;
        fields[count++] = line;
        tab = strchr(line, '\t');
        if (!tab)
            return count;
        *tab = '\0';
        line = tab + 1;
    }
}

void fsp_launcher_flatten(char *text)
{
    for (; *text; text++)
        if (*text == '\t' || *text == '\n' || *text == '\r')
            *text = ' ';
}

void fsp_launcher_sendf(int fd, const char *format, ...)
{
    char line[FSP_LAUNCHER_LINE_MAX];
    va_list ap;
    int len;

    va_start(ap, format);
    len = vsnprintf(line, sizeof line - 1, format, ap);
    va_end(ap);
    if (len < 0)
        return;
    if ((size_t)len > sizeof line - 2)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    if (send(fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        return; /* the client went away: nothing to tell it */
}
