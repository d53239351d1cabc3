/*
 * mount_fusermount_errors.c - why fusermount3 refused to mount: its own
 * words, tidied, matched against what it is known to say, and turned into
 * a message that names the cause and the fix.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* "fusermount3: a\nfusermount3: b\n" -> "a; b" */
static void tidy_helper_text(char *text, size_t size)
{
    static const char prefix[] = FUSERMOUNT ": ";
    char out[HELPER_TEXT_MAX];
    const char *src = text;
    size_t len = 0;

    while (*src && len < sizeof out - 1) {
        const char *nl = strchrnul(src, '\n');

        if (!strncmp(src, prefix, sizeof prefix - 1))
            src += sizeof prefix - 1;
        if (nl > src) {
            int n = snprintf(out + len, sizeof out - len, "%s%.*s",
                             len ? "; " : "", (int)(nl - src), src);
            len = n < 0 ? len : len + (size_t)n;
        }
        src = *nl ? nl + 1 : nl;
    }
    if (len > sizeof out - 1)
        len = sizeof out - 1;
    out[len] = '\0';
    copy_truncated(text, size, out);
}

struct helper_hint {
    const char *words;          /* what fusermount3 says */
    int err;
    const char *fix;
};

static const struct helper_hint fusermount_hints[] = {
    { "user_allow_other", -EPERM,
      "as root, add a line 'user_allow_other' to /etc/fuse.conf, or mount "
      "without allow_other" },
    { "no write access to mountpoint", -EACCES,
      "use a directory you own (mkdir -p ~/mnt)" },
    { "not owned by user", -EACCES,
      "use a directory you own (mkdir -p ~/mnt)" },
    { "fuse device not found", -ENODEV,
      "load the fuse module (modprobe fuse) or, in a container, pass the "
      "device in (--device /dev/fuse)" },
    { "failed to open /dev/fuse", -EACCES,
      "fusermount3 opens it with your permissions: as root, chmod 0666 "
      "/dev/fuse (in a container, pass --device /dev/fuse)" },
    { "too many FUSE filesystems", -EUSERS,
      "unmount some, or as root raise mount_max in /etc/fuse.conf" },
    { "mounting over filesystem type", -EPERM,
      "choose a mount point on an ordinary file system" },
    { "Operation not permitted", -EPERM,
      "fusermount3 must be setuid root (as root: chmod u+s $(command -v "
      "fusermount3)) on a file system mounted without nosuid and, in a "
      "container, mounting needs CAP_SYS_ADMIN (--cap-add SYS_ADMIN)" },
    { "Permission denied", -EACCES,
      "a security policy (AppArmor, SELinux) or the directory's permissions "
      "forbid it: use a directory you own, or allow FUSE mounts in the "
      "policy" },
    { "unknown option", -EINVAL,
      "this fusermount3 is older than fsp expects: update the fuse3 package" },
};

int fsp_mount_explain_fusermount_failure(struct fsp_mount_request *rq,
                                         const char *helper, char *text,
                                         int status)
{
    const char *s = rq->shown, *mark;
    size_t i;

    mark = strstr(text, EXEC_FAILED_MARK);
    if (mark) {
        int e = atoi(mark + sizeof EXEC_FAILED_MARK - 1);

        return fail(rq, e ? -e : -ENOEXEC, "mount point %s: %s cannot be "
                    "run (%s): reinstall the fuse3 package (apt-get install "
                    "--reinstall fuse3)", s, helper, strerror(e));
    }
    tidy_helper_text(text, HELPER_TEXT_MAX);
    if (text[0] == '\0') {
        if (status != -1 && WIFSIGNALED(status))
            snprintf(text, HELPER_TEXT_MAX, "killed by signal %d (%s)",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else if (status != -1 && WIFEXITED(status))
            snprintf(text, HELPER_TEXT_MAX, "exited with status %d and no "
                     "message", WEXITSTATUS(status));
        else
            snprintf(text, HELPER_TEXT_MAX, "ended without a message");
    }
    for (i = 0; i < sizeof fusermount_hints / sizeof fusermount_hints[0]; i++)
        if (strstr(text, fusermount_hints[i].words))
            return fail(rq, fusermount_hints[i].err, "mount point %s: "
                        "fusermount3 refused to mount: %s; %s", s, text,
                        fusermount_hints[i].fix);
    return fail(rq, -EIO, "mount point %s: fusermount3 failed: %s; see "
                "fusermount3(1) and /etc/fuse.conf for what ordinary users "
                "may mount", s, text);
}
