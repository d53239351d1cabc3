/**
 * @file launchctl.c
 * fsp-launchctl: asks fsp-launcherd to start, stop, list or describe
 * file system instances.
 *
 *   fsp-launchctl [-s SOCKET] start CLASS INSTANCE [ARG]...
 *   fsp-launchctl [-s SOCKET] stop CLASS INSTANCE
 *   fsp-launchctl [-s SOCKET] info CLASS INSTANCE
 *   fsp-launchctl [-s SOCKET] list
 *
 * Output for scripts: list prints one line per instance, TAB-separated:
 * CLASS INSTANCE PID STATE RESTARTS MOUNTPOINT; info prints "key: value"
 * lines; start prints the instance's list line. Errors go to stderr:
 * the class file's problems or the file system's own output, then
 * "fsp-launchctl: ERRNO-NAME: message".
 * Exit status: 0 done; 1 failed; 2 usage; 3 the launcher cannot be
 * reached or broke off; 4 not allowed (EACCES); 5 no such class or
 * instance (ENOENT).
 */
#define _GNU_SOURCE

#include "launcher_proto.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
    EXIT_DONE = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
    EXIT_DENIED = 4,
    EXIT_NOT_FOUND = 5,
};

/* Long enough for the slowest start (start_timeout_ms is at most 600 s)
 * and the slowest stop. */
#define REPLY_TIMEOUT_MS 1300000

static const char usage[] =
    "usage: fsp-launchctl [-s SOCKET] start CLASS INSTANCE [ARG]...\n"
    "       fsp-launchctl [-s SOCKET] stop|info CLASS INSTANCE\n"
    "       fsp-launchctl [-s SOCKET] list\n"
    "       fsp-launchctl -h|--help\n";

static int connect_to(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof addr.sun_path)
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    return fd;
}

/* Prints one "I" line's fields as the command wants them. */
static void print_instance(char **f, bool as_info)
{
    if (as_info)
        printf("class: %s\ninstance: %s\npid: %s\nstate: %s\nrestarts: %s\n"
               "mountpoint: %s\n",
               f[1], f[2], f[3], f[4], f[5], f[6]);
    else
        printf("%s\t%s\t%s\t%s\t%s\t%s\n", f[1], f[2], f[3], f[4], f[5],
               f[6]);
}

/* Handles one reply line; returns an exit status once the status line
 * came, -1 before. */
static int reply_line(char *line, bool as_info)
{
    char *f[FSP_LAUNCHER_FIELDS_MAX];
    int count = fsp_launcher_split(line, f, FSP_LAUNCHER_FIELDS_MAX);
    int err;

    if (count == 7 && strcmp(f[0], "I") == 0) {
        print_instance(f, as_info);
        return -1;
    }
    if (count >= 2 && strcmp(f[0], "E") == 0) {
        fprintf(stderr, "%s\n", f[1]);
        return -1;
    }
    if (count == 1 && strcmp(f[0], "OK") == 0)
        return EXIT_DONE;
    if (count == 3 && strcmp(f[0], "ERR") == 0) {
        fprintf(stderr, "fsp-launchctl: %s: %s\n", f[1], f[2]);
        err = fsp_launcher_errno_value(f[1]);
        if (err == EACCES || err == EPERM)
            return EXIT_DENIED;
        if (err == ENOENT)
            return EXIT_NOT_FOUND;
        return EXIT_FAILED;
    }
    fprintf(stderr, "fsp-launchctl: unexpected reply from the launcher\n");
    return EXIT_UNREACHABLE;
}

/* Reads reply lines until the status line. */
static int read_reply(int fd, bool as_info)
{
    static char buffer[64 * 1024];
    size_t len = 0;
    char *newline, *line;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t got;
    int status;

    for (;;) {
        if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0) {
            fprintf(stderr, "fsp-launchctl: no answer from the launcher\n");
            return EXIT_UNREACHABLE;
        }
        got = read(fd, buffer + len, sizeof buffer - 1 - len);
        if (got <= 0) {
            fprintf(stderr, "fsp-launchctl: the launcher broke off\n");
            return EXIT_UNREACHABLE;
        }
        len += (size_t)got;
        buffer[len] = '\0';
        line = buffer;
        while ((newline = strchr(line, '\n')) != NULL) {
            *newline = '\0';
            status = reply_line(line, as_info);
            if (status >= 0)
                return status;
            line = newline + 1;
        }
        len -= (size_t)(line - buffer);
        memmove(buffer, line, len);
        if (len == sizeof buffer - 1)
            len = 0; /* a line too long to be ours: drop it */
    }
}

/* Builds the request line from the command's words. */
static int build_request(int argc, char **argv, char *request, size_t size)
{
    size_t len = 0;
    int i, n;

    for (i = 0; i < argc; i++) {
        if (strpbrk(argv[i], "\t\n")) {
            fprintf(stderr, "fsp-launchctl: arguments may not hold tabs "
                    "or newlines\n");
            return -EINVAL;
        }
        n = snprintf(request + len, size - len, "%s%s", i ? "\t" : "",
                     argv[i]);
        if (n < 0 || (size_t)n >= size - len) {
            fprintf(stderr, "fsp-launchctl: request too long\n");
            return -E2BIG;
        }
        len += (size_t)n;
    }
    if (len + 1 >= size)
        return -E2BIG;
    request[len++] = '\n';
    request[len] = '\0';
    return (int)len;
}

static bool valid_command(int argc, char **argv)
{
    if (argc < 1)
        return false;
    if (strcmp(argv[0], "list") == 0)
        return argc == 1;
    if (strcmp(argv[0], "stop") == 0 || strcmp(argv[0], "info") == 0)
        return argc == 3;
    if (strcmp(argv[0], "start") == 0)
        return argc >= 3 && argc <= 12;
    return false;
}

int main(int argc, char **argv)
{
    const char *socket_path = FSP_LAUNCHER_SOCKET_DEFAULT;
    char request[FSP_LAUNCHER_LINE_MAX];
    int c, fd, len, status;
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };

    while ((c = getopt_long(argc, argv, "+s:h", long_options, NULL)) != -1) {
        switch (c) {
        case 's':
            socket_path = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_DONE;
        default:
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    argc -= optind;
    argv += optind;
    if (!valid_command(argc, argv)) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    len = build_request(argc, argv, request, sizeof request);
    if (len < 0)
        return EXIT_USAGE;
    fd = connect_to(socket_path);
    if (fd < 0) {
        fprintf(stderr, "fsp-launchctl: cannot reach the launcher at %s: "
                "%s (is fsp-launcherd running?)\n", socket_path,
                strerror(-fd));
        return EXIT_UNREACHABLE;
    }
    if (write(fd, request, (size_t)len) != len) {
        fprintf(stderr, "fsp-launchctl: cannot send the request: %s\n",
                strerror(errno));
        close(fd);
        return EXIT_UNREACHABLE;
    }
    status = read_reply(fd, strcmp(argv[0], "info") == 0);
    close(fd);
    return status;
}
