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
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "class_file.h"
#include "doctor.h"

#define LIST_TIMEOUT_MS 2000
#define LIST_POLL_MS    50
#define LIST_ANSWER_MAX 65536
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
 * doctor. Returns the socket or -errno. */
static int connect_socket(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd, err;

    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/*
 * The launcher's "list" request (docs/SERVICES.md): one line "list\n";
 * the answer is one "I\t..." line per instance, then "OK" (or
 * "ERR\tNAME\tMESSAGE"), then the launcher closes. Returns 0 with
 * *instances set, -ETIMEDOUT if no full answer came in time, -EPROTO if
 * the answer is not understood (*status_line gets its last line).
 */
static int ask_list(int fd, unsigned *instances, char *status_line,
                    size_t size)
{
    char buf[LIST_ANSWER_MAX];
    size_t len = 0;
    int waited = 0;
    char *line, *save = NULL;

    *instances = 0;
    status_line[0] = '\0';
    if (send(fd, "list\n", 5, MSG_NOSIGNAL) != 5)
        return -errno;
    while (len < sizeof(buf) - 1) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (waited >= LIST_TIMEOUT_MS)
            return -ETIMEDOUT;
        int ready = poll(&pfd, 1, LIST_POLL_MS);

        if (ready < 0 && errno != EINTR)
            return -errno;
        if (ready <= 0) {
            waited += LIST_POLL_MS;
            continue;
        }
        n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;                      /* the launcher closed: complete */
        len += (size_t)n;
    }
    buf[len] = '\0';
    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "I\t", 2))
            (*instances)++;
        snprintf(status_line, size, "%s", line);
    }
    return strcmp(status_line, "OK") == 0 ? 0 : -EPROTO;
}

static void report_answer(struct doctor *d, enum doctor_status down,
                          const char *why, int fd)
{
    const char *s = d->socket_path;
    char status_line[256];
    unsigned instances;
    int err = ask_list(fd, &instances, status_line, sizeof(status_line));

    if (err == 0) {
        doctor_report(d, DOCTOR_OK, "launcher", NULL,
                      "the launcher answers on %s: %u instance%s running", s,
                      instances, instances == 1 ? "" : "s");
    } else if (err == -ETIMEDOUT) {
        doctor_report(d, down, "launcher",
                      "as root: systemctl restart fsp-launcherd",
                      "the launcher accepts connections on %s but did not "
                      "answer a list request within %d s (hung): %s", s,
                      LIST_TIMEOUT_MS / 1000, why);
    } else {
        for (char *p = status_line; *p; p++)
            if (*p == '\t')
                *p = ' ';
        doctor_report(d, DOCTOR_WARN, "launcher",
                      "make fsptool and fsp-launcherd the same version",
                      "the launcher on %s answered a list request with "
                      "'%s', not OK", s, err == -EPROTO ? status_line
                      : strerror(-err));
    }
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
    int fd = connect_socket(s);

    if (fd >= 0) {
        report_answer(d, down, why, fd);
        close(fd);
        return;
    }
    switch (-fd) {
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
                      "try again; if it stays so, as root: systemctl restart "
                      "fsp-launcherd",
                      "the launcher on %s is too busy to accept a "
                      "connection", s);
        break;
    case EACCES:
    case EPERM:
        snprintf(fix, sizeof(fix), "look at ls -l %s and ask root to let "
                 "you in", s);
        doctor_report(d, down, "launcher", fix,
                      "you (uid %u) may not connect to %s",
                      (unsigned)geteuid(), s);
        break;
    default:
        snprintf(fix, sizeof(fix), "check the path (-s) and ls -l %s", s);
        doctor_report(d, down, "launcher", fix, "cannot connect to %s (%s)",
                      s, strerror(-fd));
        break;
    }
}
