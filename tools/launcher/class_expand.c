/**
 * @file class_expand.c
 * Using a class: expanding its templates (%1..%9, %u, %m, %%) into a
 * command line, and deciding who may start and stop its instances.
 */
#define _GNU_SOURCE

#include "class_file.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one substitution character stands for; NULL with message set if
 * it was not given. */
static const char *lookup(char which, const struct fsp_class_subst *subst,
                          char *message, size_t message_size)
{
    const char *value = NULL;
    size_t index;

    if (which >= '1' && which <= '9') {
        index = (size_t)(which - '1');
        if (index < subst->arg_count)
            value = subst->args[index];
        if (!value && message)
            snprintf(message, message_size,
                     "argument %%%c was not given (the start request has %zu "
                     "argument%s)",
                     which, subst->arg_count,
                     subst->arg_count == 1 ? "" : "s");
    } else if (which == 'u') {
        value = subst->user;
        if (!value && message)
            snprintf(message, message_size, "the caller's user name is "
                     "unknown (%%u)");
    } else if (which == 'm') {
        value = subst->mountpoint;
        if (!value && message)
            snprintf(message, message_size, "no mount point here (%%m)");
    } else if (message) {
        snprintf(message, message_size, "bad substitution '%%%c'", which);
    }
    return value;
}

int fsp_class_expand(const char *template_, const struct fsp_class_subst *subst,
                     char **out, char *message, size_t message_size)
{
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream;
    const char *s, *value;
    int err = 0;

    *out = NULL;
    stream = open_memstream(&buffer, &size);
    if (!stream)
        return -ENOMEM;
    for (s = template_; *s; s++) {
        if (*s != '%') {
            fputc(*s, stream);
            continue;
        }
        s++;
        if (*s == '%') {
            fputc('%', stream);
            continue;
        }
        value = *s ? lookup(*s, subst, message, message_size) : NULL;
        if (!value) {
            if (!*s && message)
                snprintf(message, message_size, "lone '%%' at the end");
            err = -EINVAL;
            break;
        }
        fputs(value, stream);
    }
    if (fclose(stream) != 0 && err == 0)
        err = -ENOMEM;
    if (err < 0)
        free(buffer);
    else
        *out = buffer;
    return err;
}

void fsp_class_free_argv(char **argv)
{
    size_t i;

    if (!argv)
        return;
    for (i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

int fsp_class_build_argv(const struct fsp_class *c,
                         const struct fsp_class_subst *subst,
                         const char *const *extra, size_t extra_count,
                         char ***argv_out, char *message, size_t message_size)
{
    size_t count = 1 + extra_count + c->argument_count;
    size_t i, n = 0;
    char **argv;
    int err = 0;

    *argv_out = NULL;
    argv = calloc(count + 1, sizeof *argv);
    if (!argv)
        return -ENOMEM;
    argv[n] = strdup(c->executable);
    if (!argv[n++]) {
        err = -ENOMEM;
        goto out;
    }
    for (i = 0; i < extra_count; i++) {
        argv[n] = strdup(extra[i]);
        if (!argv[n++]) {
            err = -ENOMEM;
            goto out;
        }
    }
    for (i = 0; i < c->argument_count; i++) {
        err = fsp_class_expand(c->arguments[i], subst, &argv[n++], message,
                               message_size);
        if (err < 0)
            goto out;
    }
out:
    if (err < 0)
        fsp_class_free_argv(argv);
    else
        *argv_out = argv;
    return err;
}

/* Whether user (name, primary group gid) is in group name. */
static bool in_group(const char *user, gid_t gid, const char *group_name)
{
    struct group *group = getgrnam(group_name);
    gid_t groups[256];
    int count = (int)(sizeof groups / sizeof groups[0]);
    int i;

    if (!group)
        return false;
    if (getgrouplist(user, gid, groups, &count) < 0)
        return false;
    for (i = 0; i < count; i++)
        if (groups[i] == group->gr_gid)
            return true;
    return false;
}

bool fsp_class_allows(const struct fsp_class *c, uid_t uid, gid_t gid)
{
    struct passwd *pw;
    size_t i;

    if (uid == 0)
        return true;
    pw = getpwuid(uid);
    if (!pw)
        return false;
    for (i = 0; i < c->allow_count; i++) {
        if (c->allow[i][0] == '@') {
            if (in_group(pw->pw_name, gid, c->allow[i] + 1))
                return true;
        } else if (strcmp(c->allow[i], pw->pw_name) == 0) {
            return true;
        }
    }
    return false;
}
