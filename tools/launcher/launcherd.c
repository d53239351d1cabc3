/**
 * @file launcherd.c
 * fsp-launcherd: starts and stops fsp file systems on request, as their
 * class files say (see docs/SERVICES.md and launcher_proto.h).
 *
 * One thread, one poll loop: the listening socket, the clients (each
 * with a size limit and a read deadline, so a malformed or stalled client
 * costs nothing), a signalfd for SIGCHLD (reaping) and SIGTERM/SIGINT
 * (leaving: instances keep running and the next launcher adopts them),
 * and a 100 ms tick while instances start, stop or restart.
 *
 *   fsp-launcherd [-c CLASS_DIR] [-s SOCKET] [-v]
 * The state file and the instances' logs go in the socket's directory.
 */
#define _GNU_SOURCE

#include "class_file.h"
#include "launcher_instance.h"
#include "launcher_proto.h"
#include "launcher_state.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#define CLIENTS_MAX 64
#define TICK_MS 100

struct client {
    int fd; /* -1 when the slot is free */
    char buffer[FSP_LAUNCHER_LINE_MAX];
    size_t len;
    int64_t deadline_ms;
    bool draining; /* answered; reading what is left until EOF */
};

struct launcherd {
    struct instance_table table;
    const char *socket_path;
    int listen_fd;
    int signal_fd;
    bool leaving;
    struct client clients[CLIENTS_MAX];
};

static void fail_client(struct client *cl, int err, const char *message)
{
    fsp_launcher_sendf(cl->fd, "ERR\t%s\t%s", fsp_launcher_errno_name(err),
                       message);
    close(cl->fd);
    cl->fd = -1;
}

/* ---- requests ---- */

/* Collects a class's problems as "E" lines for the client. */
static void send_class_problem(void *arg, const char *message)
{
    char line[FSP_LAUNCHER_LINE_MAX];

    snprintf(line, sizeof line, "%s", message);
    fsp_launcher_flatten(line);
    fsp_launcher_sendf(*(int *)arg, "E\t%s", line);
    syslog(LOG_ERR, "%s", line);
}

static void handle_start(struct launcherd *d, struct client *cl,
                         char **fields, int count, const struct ucred *cred)
{
    struct instance_caller caller = {.uid = cred->uid, .gid = cred->gid};
    struct fsp_class *c = NULL;
    struct passwd *pw = getpwuid(cred->uid);
    char message[512];
    int err;

    if (pw)
        snprintf(caller.user, sizeof caller.user, "%s", pw->pw_name);
    else
        snprintf(caller.user, sizeof caller.user, "%u", (unsigned)cred->uid);
    err = fsp_class_find(d->table.class_dir, fields[1], send_class_problem,
                         &cl->fd, &c);
    if (err < 0) {
        snprintf(message, sizeof message, "class %s is %s (see above)",
                 fields[1], err == -ENOENT ? "not installed" : "broken");
        fail_client(cl, -err, message);
        return;
    }
    if (!fsp_class_allows(c, cred->uid, cred->gid)) {
        syslog(LOG_WARNING, "%s %s: start refused to uid %u (not in allow "
               "of %s)", fields[1], fields[2], (unsigned)cred->uid, c->path);
        snprintf(message, sizeof message, "user %s may not start class %s "
                 "(allow in %s)", caller.user, fields[1], c->path);
        fsp_class_free(c);
        fail_client(cl, EACCES, message);
        return;
    }
    err = instance_start(&d->table, c, fields[2], fields + 3,
                         (size_t)(count - 3), &caller, cl->fd, message,
                         sizeof message);
    if (err < 0) {
        fail_client(cl, -err, message);
        return;
    }
    cl->fd = -1; /* the instance answers it */
}

static void handle_request(struct launcherd *d, struct client *cl)
{
    char *fields[FSP_LAUNCHER_FIELDS_MAX];
    char message[512];
    struct instance *in = NULL;
    struct ucred cred;
    socklen_t cred_len = sizeof cred;
    int count;

    count = fsp_launcher_split(cl->buffer, fields, FSP_LAUNCHER_FIELDS_MAX);
    if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0) {
        fail_client(cl, EACCES, "cannot tell who is asking");
        return;
    }
    if (count == 1 && strcmp(fields[0], "list") == 0) {
        for (in = d->table.head; in; in = in->next)
            instance_send_row(cl->fd, in);
        fsp_launcher_sendf(cl->fd, "OK");
        close(cl->fd);
        cl->fd = -1;
        return;
    }
    if (count >= 3 && strcmp(fields[0], "start") == 0) {
        handle_start(d, cl, fields, count, &cred);
        return;
    }
    if (count != 3 || (strcmp(fields[0], "stop") != 0 &&
                       strcmp(fields[0], "info") != 0)) {
        fail_client(cl, EINVAL, "unknown request; expected start, stop, "
                    "info or list (see launcher_proto.h)");
        return;
    }
    in = instance_find(&d->table, fields[1], fields[2]);
    if (!in) {
        snprintf(message, sizeof message, "no instance %s %s", fields[1],
                 fields[2]);
        fail_client(cl, ENOENT, message);
        return;
    }
    if (strcmp(fields[0], "info") == 0) {
        instance_send_row(cl->fd, in);
        fsp_launcher_sendf(cl->fd, "OK");
        close(cl->fd);
        cl->fd = -1;
        return;
    }
    if (!fsp_class_allows(in->class_, cred.uid, cred.gid)) {
        syslog(LOG_WARNING, "%s %s: stop refused to uid %u", fields[1],
               fields[2], (unsigned)cred.uid);
        snprintf(message, sizeof message, "uid %u may not stop class %s "
                 "(allow in %s)", (unsigned)cred.uid, fields[1],
                 in->class_->path);
        fail_client(cl, EACCES, message);
        return;
    }
    instance_stop(&d->table, in, cl->fd);
    cl->fd = -1;
}

/* ---- clients ---- */

static void accept_client(struct launcherd *d)
{
    struct client *cl = NULL;
    int fd, i;

    fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (i = 0; i < CLIENTS_MAX && !cl; i++)
        if (d->clients[i].fd < 0)
            cl = &d->clients[i];
    if (!cl) {
        fsp_launcher_sendf(fd, "ERR\tEAGAIN\ttoo many clients; try again");
        close(fd);
        return;
    }
    cl->fd = fd;
    cl->len = 0;
    cl->draining = false;
    cl->deadline_ms = instance_now_ms() + FSP_LAUNCHER_READ_TIMEOUT_MS;
}

static void read_client(struct launcherd *d, struct client *cl)
{
    char *newline;
    ssize_t got;

    if (cl->draining)
        cl->len = 0;
    got = read(cl->fd, cl->buffer + cl->len, sizeof cl->buffer - cl->len);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got <= 0) { /* gone before a full line, or drained */
        close(cl->fd);
        cl->fd = -1;
        return;
    }
    if (cl->draining)
        return;
    cl->len += (size_t)got;
    newline = memchr(cl->buffer, '\n', cl->len);
    if (!newline) {
        if (cl->len == sizeof cl->buffer) {
            /* Closing with unread data would reset the connection and
             * lose the answer: answer, then read the rest away. */
            fsp_launcher_sendf(cl->fd, "ERR\tEMSGSIZE\trequest longer "
                               "than %d bytes", FSP_LAUNCHER_LINE_MAX);
            shutdown(cl->fd, SHUT_WR);
            cl->draining = true;
        }
        return;
    }
    *newline = '\0';
    handle_request(d, cl);
}

/* ---- signals ---- */

static void read_signals(struct launcherd *d)
{
    struct signalfd_siginfo info;
    int status;
    pid_t pid;

    while (read(d->signal_fd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
            d->leaving = true;
    }
    /* One SIGCHLD may stand for several children. */
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        instance_reaped(&d->table, pid, status);
}

/* ---- setup ---- */

static int listen_on(struct launcherd *d)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char dir[sizeof addr.sun_path];
    int fd;

    if (strlen(d->socket_path) >= sizeof addr.sun_path) {
        fprintf(stderr, "fsp-launcherd: socket path too long: %s\n",
                d->socket_path);
        return -ENAMETOOLONG;
    }
    strcpy(addr.sun_path, d->socket_path);
    strcpy(dir, d->socket_path);
    snprintf(d->table.state_dir, sizeof d->table.state_dir, "%s",
             dirname(dir));
    if (mkdir(d->table.state_dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "fsp-launcherd: cannot create %s: %s\n",
                d->table.state_dir, strerror(errno));
        return -errno;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(d->socket_path); /* a socket left by an earlier launcher */
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        chmod(d->socket_path, 0666) < 0 || listen(fd, 16) < 0) {
        fprintf(stderr, "fsp-launcherd: cannot listen on %s: %s\n",
                d->socket_path, strerror(errno));
        close(fd);
        return -errno;
    }
    d->listen_fd = fd;
    return 0;
}

static int setup_signals(struct launcherd *d)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return d->signal_fd < 0 ? -errno : 0;
}

static void serve(struct launcherd *d)
{
    struct pollfd fds[CLIENTS_MAX + 2];
    struct client *owner[CLIENTS_MAX + 2];
    int64_t now;
    int n, i, timeout;

    while (!d->leaving) {
        n = 0;
        fds[n++] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = d->signal_fd, .events = POLLIN};
        for (i = 0; i < CLIENTS_MAX; i++) {
            if (d->clients[i].fd < 0)
                continue;
            owner[n] = &d->clients[i];
            fds[n++] = (struct pollfd){.fd = d->clients[i].fd,
                                       .events = POLLIN};
        }
        timeout = (n > 2 || instance_busy(&d->table)) ? TICK_MS : 1000;
        if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            read_signals(d);
        if (fds[0].revents)
            accept_client(d);
        for (i = 2; i < n; i++)
            if (fds[i].revents && owner[i]->fd == fds[i].fd)
                read_client(d, owner[i]);
        now = instance_now_ms();
        for (i = 0; i < CLIENTS_MAX; i++)
            if (d->clients[i].fd >= 0 && now >= d->clients[i].deadline_ms) {
                if (d->clients[i].draining) {
                    close(d->clients[i].fd);
                    d->clients[i].fd = -1;
                } else {
                    fail_client(&d->clients[i], ETIMEDOUT,
                                "no complete request line within 5 s");
                }
            }
        instance_tick(&d->table);
    }
}

static const char usage[] =
    "usage: fsp-launcherd [-c CLASS_DIR] [-s SOCKET] [-v]\n"
    "  -c CLASS_DIR  class files (default " FSP_CLASS_DIR_DEFAULT ")\n"
    "  -s SOCKET     socket to listen on (default "
    FSP_LAUNCHER_SOCKET_DEFAULT ");\n"
    "                its directory also holds the state file and logs\n"
    "  -v            log to stderr too\n"
    "  -h, --help    show this help\n";

int main(int argc, char **argv)
{
    static struct launcherd d;
    int c, i, log_options = LOG_PID;
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };

    d.table.class_dir = FSP_CLASS_DIR_DEFAULT;
    d.socket_path = FSP_LAUNCHER_SOCKET_DEFAULT;
    while ((c = getopt_long(argc, argv, "c:s:vh", long_options, NULL)) != -1) {
        switch (c) {
        case 'c':
            d.table.class_dir = optarg;
            break;
        case 's':
            d.socket_path = optarg;
            break;
        case 'v':
            log_options |= LOG_PERROR;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    openlog("fsp-launcherd", log_options, LOG_DAEMON);
    for (i = 0; i < CLIENTS_MAX; i++)
        d.clients[i].fd = -1;
    if (setup_signals(&d) < 0 || listen_on(&d) < 0)
        return 1;
    launcher_state_adopt(&d.table);
    syslog(LOG_INFO, "listening on %s, classes in %s", d.socket_path,
           d.table.class_dir);
    serve(&d);
    syslog(LOG_INFO, "leaving; instances keep running");
    unlink(d.socket_path);
    return 0;
}
