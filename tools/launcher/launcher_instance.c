/**
 * @file launcher_instance.c
 * The life of an instance in fsp-launcherd (see launcher_instance.h):
 * start, mount detection, stop with SIGTERM then SIGKILL, reaping,
 * recovery with a doubling delay, and the answers to waiting clients.
 */
#define _GNU_SOURCE

#include "launcher_instance.h"
#include "launcher_proc.h"
#include "mountinfo.h"
#include "launcher_proto.h"
#include "launcher_spawn.h"
#include "launcher_state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A restart waits recovery_delay_ms, doubled per restart in a row, at most
 * this long; an instance that ran this long has its count reset. */
#define RECOVERY_DELAY_MAX_MS 60000
#define RECOVERY_RESET_MS 60000
/* How many lines of the file system's output a failed start reports. */
#define LOG_TAIL_LINES 20

int64_t instance_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *instance_state_name(enum instance_state state)
{
    switch (state) {
    case INSTANCE_STARTING:
        return "starting";
    case INSTANCE_RUNNING:
        return "running";
    case INSTANCE_STOPPING:
        return "stopping";
    case INSTANCE_RESTARTING:
        return "restarting";
    case INSTANCE_FAILED:
        return "failed";
    }
    return "unknown";
}

struct instance *instance_find(struct instance_table *table,
                               const char *class_name, const char *name)
{
    struct instance *in;

    for (in = table->head; in; in = in->next)
        if (strcmp(in->class_->name, class_name) == 0 &&
            strcmp(in->name, name) == 0)
            return in;
    return NULL;
}

void instance_send_row(int fd, const struct instance *in)
{
    fsp_launcher_sendf(fd, "I\t%s\t%s\t%d\t%s\t%u\t%s", in->class_->name,
                       in->name, (int)in->pid, instance_state_name(in->state),
                       in->restarts, in->mountpoint);
}

/* Sends the last lines of the instance's log as "E" lines. */
static void send_log_tail(int fd, const struct instance *in)
{
    char text[4096], *line, *next;
    ssize_t len;
    off_t size;
    int log_fd, lines = 0;

    log_fd = open(in->log_path, O_RDONLY | O_CLOEXEC);
    if (log_fd < 0)
        return;
    size = lseek(log_fd, 0, SEEK_END);
    if (size > (off_t)sizeof text - 1)
        lseek(log_fd, size - (off_t)sizeof text + 1, SEEK_SET);
    else
        lseek(log_fd, 0, SEEK_SET);
    len = read(log_fd, text, sizeof text - 1);
    close(log_fd);
    if (len <= 0)
        return;
    text[len] = '\0';
    /* Count back LOG_TAIL_LINES line starts from the end. */
    line = text;
    for (next = text + len - 1; next > text; next--) {
        if (next[-1] == '\n' && ++lines > LOG_TAIL_LINES) {
            line = next;
            break;
        }
    }
    for (; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        fsp_launcher_flatten(line);
        fsp_launcher_sendf(fd, "E\t%s", line);
    }
}

/* Ends the wait of the instance's client with OK or ERR. */
static void answer(struct instance *in, int err, const char *message)
{
    if (in->waiter_fd < 0)
        return;
    if (err == 0) {
        if (in->state == INSTANCE_RUNNING)
            instance_send_row(in->waiter_fd, in);
        fsp_launcher_sendf(in->waiter_fd, "OK");
    } else {
        send_log_tail(in->waiter_fd, in);
        fsp_launcher_sendf(in->waiter_fd, "ERR\t%s\t%s",
                           fsp_launcher_errno_name(err), message);
    }
    close(in->waiter_fd);
    in->waiter_fd = -1;
}

static void free_instance(struct instance *in)
{
    size_t i;

    if (in->waiter_fd >= 0)
        close(in->waiter_fd);
    for (i = 0; i < in->arg_count; i++)
        free(in->args[i]);
    fsp_class_free(in->class_);
    free(in);
}

static void remove_instance(struct instance_table *table, struct instance *in)
{
    struct instance **link;

    for (link = &table->head; *link; link = &(*link)->next) {
        if (*link == in) {
            *link = in->next;
            break;
        }
    }
    free_instance(in);
    launcher_state_save(table);
}

/* Runs the process; the instance is then starting. */
static int spawn(struct instance_table *table, struct instance *in,
                 bool first, char *message, size_t message_size)
{
    pid_t pid;
    int err;

    err = launcher_spawn(in, first, &pid, message, message_size);
    if (err < 0)
        return err;
    in->pid = pid;
    in->child = true;
    in->start_time = fsp_launcher_start_time(pid);
    in->state = INSTANCE_STARTING;
    in->deadline_ms = instance_now_ms() + in->class_->start_timeout_ms;
    syslog(LOG_INFO, "%s %s: started pid %d for %s", in->class_->name,
           in->name, (int)pid, in->mountpoint);
    launcher_state_save(table);
    return 0;
}

/* An instance name: like a class name. */
static bool valid_name(const char *name)
{
    size_t i, len = strlen(name);

    if (len == 0 || len > FSP_CLASS_NAME_MAX)
        return false;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("_-.", name[i]))
            return false;
    return true;
}

/* The mount point from the class's template; checks it is free. */
static int resolve_mountpoint(struct instance_table *table,
                              struct instance *in, char *message,
                              size_t message_size)
{
    struct fsp_class_subst subst = {
        .args = (const char *const *)in->args,
        .arg_count = in->arg_count,
        .user = in->caller.user,
    };
    struct instance *other;
    char *path = NULL;
    int err;

    err = fsp_class_expand(in->class_->mountpoint, &subst, &path, message,
                           message_size);
    if (err < 0)
        return err;
    if (path[0] != '/' || strlen(path) >= sizeof in->mountpoint) {
        snprintf(message, message_size, "mount point '%s' is not an "
                 "absolute path", path);
        free(path);
        return -EINVAL;
    }
    strcpy(in->mountpoint, path);
    free(path);
    for (other = table->head; other; other = other->next) {
        if (strcmp(other->mountpoint, in->mountpoint) == 0) {
            snprintf(message, message_size, "%s is the mount point of "
                     "instance %s %s", in->mountpoint, other->class_->name,
                     other->name);
            return -EBUSY;
        }
    }
    if (fsp_launcher_is_fuse_mount(in->mountpoint)) {
        snprintf(message, message_size, "%s is already mounted",
                 in->mountpoint);
        return -EBUSY;
    }
    return 0;
}

int instance_start(struct instance_table *table, struct fsp_class *class_,
                   const char *name, char *const *args, size_t arg_count,
                   const struct instance_caller *caller, int waiter_fd,
                   char *message, size_t message_size)
{
    struct instance *in;
    size_t i;
    int err;

    in = calloc(1, sizeof *in);
    if (!in) {
        fsp_class_free(class_);
        snprintf(message, message_size, "out of memory");
        return -ENOMEM;
    }
    in->class_ = class_;
    in->waiter_fd = -1;
    if (!valid_name(name) || arg_count > 9) {
        snprintf(message, message_size, "instance name '%s' must be 1 to %d "
                 "letters, digits, '_', '-' or '.', with at most 9 arguments",
                 name, FSP_CLASS_NAME_MAX);
        err = -EINVAL;
        goto out;
    }
    if (instance_find(table, class_->name, name)) {
        snprintf(message, message_size, "instance %s %s exists already",
                 class_->name, name);
        err = -EEXIST;
        goto out;
    }
    strcpy(in->name, name);
    in->caller = *caller;
    for (i = 0; i < arg_count; i++) {
        in->args[i] = strdup(args[i]);
        if (!in->args[i]) {
            err = -ENOMEM;
            goto out;
        }
        in->arg_count++;
    }
    err = resolve_mountpoint(table, in, message, message_size);
    if (err < 0)
        goto out;
    snprintf(in->log_path, sizeof in->log_path, "%s/%s.%s.log",
             table->state_dir, class_->name, name);
    err = spawn(table, in, true, message, message_size);
    if (err < 0)
        goto out;
    in->waiter_fd = waiter_fd;
    in->next = table->head;
    table->head = in;
    launcher_state_save(table);
out:
    if (err < 0) {
        syslog(LOG_WARNING, "%s %s: start refused: %s", class_->name, name,
               message);
        free_instance(in);
    }
    return err;
}

/* Asks the process to end; SIGKILL follows at the stop timeout. */
static void terminate(struct instance *in)
{
    in->state = INSTANCE_STOPPING;
    in->deadline_ms = instance_now_ms() + in->class_->stop_timeout_ms;
    if (in->pid > 0)
        kill(in->pid, SIGTERM);
}

void instance_stop(struct instance_table *table, struct instance *in,
                   int waiter_fd)
{
    syslog(LOG_INFO, "%s %s: stopping (pid %d)", in->class_->name, in->name,
           (int)in->pid);
    if (in->waiter_fd >= 0)
        answer(in, EINTR, "stopped before it was ready");
    in->waiter_fd = waiter_fd;
    in->remove_when_gone = true;
    if (in->pid == 0) { /* restarting or failed: no process */
        fsp_launcher_unmount(in->mountpoint, in->mount_id);
        answer(in, 0, "");
        remove_instance(table, in);
        return;
    }
    terminate(in);
}

/* Schedules a restart of a crashed instance, or gives up. */
static void recover(struct instance_table *table, struct instance *in,
                    const char *how)
{
    const struct fsp_class *c = in->class_;
    int64_t now = instance_now_ms(), delay;

    in->pid = 0;
    fsp_launcher_unmount(in->mountpoint, in->mount_id);
    if (in->state == INSTANCE_RUNNING &&
        now - in->running_since_ms >= RECOVERY_RESET_MS)
        in->restarts_in_a_row = 0;
    if (!c->recovery || in->restarts_in_a_row >= c->recovery_limit) {
        syslog(LOG_ERR, "%s %s: %s%s", c->name, in->name, how,
               c->recovery ? "; recovery_limit reached, giving up" : "");
        in->state = INSTANCE_FAILED;
        launcher_state_save(table);
        return;
    }
    delay = c->recovery_delay_ms;
    delay <<= in->restarts_in_a_row < 16 ? in->restarts_in_a_row : 16;
    if (delay > RECOVERY_DELAY_MAX_MS)
        delay = RECOVERY_DELAY_MAX_MS;
    syslog(LOG_WARNING, "%s %s: %s; restarting in %lld ms", c->name,
           in->name, how, (long long)delay);
    in->state = INSTANCE_RESTARTING;
    in->deadline_ms = now + delay;
    launcher_state_save(table);
}

/* The process of in is gone; how says how it ended; crashed whether it
 * ended abnormally (a signal, a failure status, its mount left behind). */
static void ended(struct instance_table *table, struct instance *in,
                  const char *how, bool crashed)
{
    char message[PATH_MAX + 256];

    if (in->state == INSTANCE_STOPPING) {
        in->pid = 0;
        fsp_launcher_unmount(in->mountpoint, in->mount_id);
        syslog(LOG_INFO, "%s %s: stopped (%s)", in->class_->name, in->name,
               how);
        if (in->remove_when_gone) {
            answer(in, 0, "");
            remove_instance(table, in);
        } else {
            in->state = INSTANCE_FAILED;
            launcher_state_save(table);
        }
        return;
    }
    if (in->state == INSTANCE_STARTING && in->waiter_fd >= 0) {
        /* A failed start: the client gets the file system's output. */
        snprintf(message, sizeof message, "the file system %s before its "
                 "mount was ready", how);
        syslog(LOG_ERR, "%s %s: start failed: %s", in->class_->name,
               in->name, message);
        fsp_launcher_unmount(in->mountpoint, in->mount_id);
        answer(in, ECHILD, message);
        remove_instance(table, in);
        return;
    }
    if (!crashed) {
        syslog(LOG_INFO, "%s %s: ended (%s)", in->class_->name, in->name,
               how);
        fsp_launcher_unmount(in->mountpoint, in->mount_id);
        remove_instance(table, in);
        return;
    }
    recover(table, in, how);
}

void instance_reaped(struct instance_table *table, pid_t pid, int status)
{
    struct instance *in;
    char how[64];

    for (in = table->head; in; in = in->next)
        if (in->child && in->pid == pid)
            break;
    if (!in)
        return;
    if (WIFSIGNALED(status))
        snprintf(how, sizeof how, "was killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(how, sizeof how, "exited with status %d",
                 WEXITSTATUS(status));
    ended(table, in, how,
          !(WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

/* One instance's deadlines and checks. Returns false if it was removed. */
static bool tick_one(struct instance_table *table, struct instance *in,
                     int64_t now)
{
    char message[PATH_MAX + 256];

    /* An adopted process is not our child: look it up instead. */
    if (!in->child && in->pid > 0 &&
        fsp_launcher_start_time(in->pid) != in->start_time) {
        /* Its exit status is not ours to see: an end nobody asked for
         * counts as a crash. */
        ended(table, in, "ended while adopted", true);
        return false; /* may be removed: look again next tick */
    }
    switch (in->state) {
    case INSTANCE_STARTING:
        if (fsp_launcher_is_fuse_mount(in->mountpoint)) {
            in->state = INSTANCE_RUNNING;
            in->running_since_ms = now;
            in->mount_id = fsp_mount_unique_id(in->mountpoint);
            syslog(LOG_INFO, "%s %s: mounted on %s", in->class_->name,
                   in->name, in->mountpoint);
            answer(in, 0, "");
            launcher_state_save(table);
        } else if (now >= in->deadline_ms) {
            snprintf(message, sizeof message, "the file system did not "
                     "mount %s within %u ms", in->mountpoint,
                     in->class_->start_timeout_ms);
            syslog(LOG_ERR, "%s %s: %s", in->class_->name, in->name,
                   message);
            answer(in, ETIMEDOUT, message);
            in->remove_when_gone = true;
            terminate(in);
            kill(in->pid, SIGKILL);
        }
        break;
    case INSTANCE_STOPPING:
        if (now >= in->deadline_ms && in->pid > 0) {
            syslog(LOG_WARNING, "%s %s: no exit %u ms after SIGTERM; "
                   "SIGKILL", in->class_->name, in->name,
                   in->class_->stop_timeout_ms);
            kill(in->pid, SIGKILL);
            in->deadline_ms = now + 60000;
        }
        break;
    case INSTANCE_RESTARTING:
        if (now >= in->deadline_ms) {
            in->restarts++;
            in->restarts_in_a_row++;
            if (spawn(table, in, false, message, sizeof message) < 0) {
                syslog(LOG_ERR, "%s %s: cannot restart: %s",
                       in->class_->name, in->name, message);
                in->state = INSTANCE_FAILED;
                launcher_state_save(table);
            }
        }
        break;
    case INSTANCE_RUNNING:
    case INSTANCE_FAILED:
        break;
    }
    return true;
}

void instance_tick(struct instance_table *table)
{
    struct instance *in, *next;
    int64_t now = instance_now_ms();

    for (in = table->head; in; in = next) {
        next = in->next;
        if (!tick_one(table, in, now))
            break; /* the list may have changed */
    }
}

bool instance_busy(const struct instance_table *table)
{
    const struct instance *in;

    for (in = table->head; in; in = in->next)
        if (in->state != INSTANCE_FAILED &&
            (in->state != INSTANCE_RUNNING || !in->child))
            return true;
    return false;
}
