/*
 * doctor_service.c - doctor's checks of the launcher service: every class
 * file of the class directory (validated by the launcher's own parser,
 * fsp_class, so that doctor and fsp-launcherd judge a class alike) and
 * the launcher's socket.
 *
 * The launcher is optional: nobody needs it until a class is configured.
 * So a launcher that is not running is a warn when there are no class
 * files and a FAIL when there are (classes nobody can start).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "class_file.h"
#include "doctor.h"

#define LAUNCHER_START "systemctl start fsp-launcherd (or run fsp-launcherd " \
                       "as root)"

/* Class files are the NAME.conf files of the directory. -errno if it
 * cannot be read. */
static long count_class_files(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    long n = 0;

    if (!dp)
        return -errno;
    while ((de = readdir(dp)) != NULL) {
        size_t len = strlen(de->d_name);

        if (de->d_name[0] != '.' && len > 5 &&
            strcmp(de->d_name + len - 5, ".conf") == 0)
            n++;
    }
    closedir(dp);
    return n;
}

/* fsp_class reports "FILE:LINE: what is wrong; how to fix it": split it
 * into doctor's finding and fix. */
static void report_class_problem(void *arg, const char *message)
{
    struct doctor *d = arg;
    char found[2048];
    const char *after_line = strstr(message, ".conf:");
    const char *sep = strstr(after_line ? after_line : message, "; ");
    size_t len = sep ? (size_t)(sep - message) : strlen(message);

    if (len >= sizeof(found))
        len = sizeof(found) - 1;
    memcpy(found, message, len);
    found[len] = '\0';
    doctor_report(d, DOCTOR_FAIL, "class-file",
                  sep ? sep + 2 : "edit the class file (see docs/SERVICES.md)",
                  "%s", found);
}

void doctor_check_class_files(struct doctor *d)
{
    long files = count_class_files(d->class_dir);
    int broken;

    if (files == -ENOENT) {
        doctor_report(d, DOCTOR_OK, "class-file", NULL,
                      "no class files (%s does not exist): the launcher has "
                      "nothing to start", d->class_dir);
        return;
    }
    if (files < 0) {
        doctor_report(d, DOCTOR_WARN, "class-file",
                      "run fsptool doctor as root to check them",
                      "%s cannot be read (%s)", d->class_dir,
                      strerror((int)-files));
        return;
    }
    d->class_files = (size_t)files;
    broken = fsp_class_check_dir(d->class_dir, report_class_problem, d);
    if (broken < 0) {
        doctor_report(d, DOCTOR_WARN, "class-file",
                      "run fsptool doctor as root to check them",
                      "%s cannot be read (%s)", d->class_dir,
                      strerror(-broken));
        return;
    }
    if (broken > 0)
        return;                         /* each problem has its line */
    if (files == 0) {
        doctor_report(d, DOCTOR_OK, "class-file", NULL,
                      "no class files in %s: the launcher has nothing to "
                      "start", d->class_dir);
        return;
    }
    doctor_report(d, DOCTOR_OK, "class-file", NULL,
                  "%ld class file%s in %s, all valid", files,
                  files == 1 ? "" : "s", d->class_dir);
}

/* Connect without waiting: a launcher with a full backlog must not hang
 * doctor. Returns 0 or -errno. */
static int connect_socket(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd, err = 0;

    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        err = -errno;
    close(fd);
    return err;
}

void doctor_check_launcher(struct doctor *d)
{
    /* Not running matters only when there are classes to start. */
    enum doctor_status down = d->class_files ? DOCTOR_FAIL : DOCTOR_WARN;
    const char *why = d->class_files
                          ? "the class files above cannot be started"
                          : "needed only to start classes, and there are none";
    const char *s = d->socket_path;
    char fix[512];
    int err = connect_socket(s);

    switch (-err) {
    case 0:
        doctor_report(d, DOCTOR_OK, "launcher", NULL,
                      "the launcher accepts connections on %s", s);
        break;
    case ENOENT:
        doctor_report(d, down, "launcher", "as root: " LAUNCHER_START,
                      "the launcher is not running (no socket %s): %s", s,
                      why);
        break;
    case ECONNREFUSED:
        snprintf(fix, sizeof(fix), "as root: rm %s && " LAUNCHER_START, s);
        doctor_report(d, down, "launcher", fix,
                      "nobody listens on %s (a launcher that died left it "
                      "behind): %s", s, why);
        break;
    case EAGAIN:
        doctor_report(d, DOCTOR_WARN, "launcher",
                      "try again; if it stays so, restart the launcher",
                      "the launcher on %s is too busy to accept a "
                      "connection", s);
        break;
    case EACCES:
    case EPERM:
        snprintf(fix, sizeof(fix), "look at ls -l %s and ask root to let "
                 "you in (the allow key of the class)", s);
        doctor_report(d, down, "launcher", fix,
                      "you (uid %u) may not connect to %s",
                      (unsigned)geteuid(), s);
        break;
    default:
        snprintf(fix, sizeof(fix), "check the path (-s) and ls -l %s", s);
        doctor_report(d, down, "launcher", fix, "cannot connect to %s (%s)",
                      s, strerror(-err));
        break;
    }
}
