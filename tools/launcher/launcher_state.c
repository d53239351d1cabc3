/**
 * @file launcher_state.c
 * Saving the instance table to STATE_DIR/instances and adopting what an
 * earlier launcher left running (see launcher_state.h).
 */
#define _GNU_SOURCE

#include "launcher_state.h"
#include "launcher_proc.h"
#include "mountinfo.h"
#include "launcher_proto.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define STATE_FIELDS_MIN 9

void launcher_state_save(const struct instance_table *table)
{
    char path[PATH_MAX + 16], temp[PATH_MAX + 16];
    const struct instance *in;
    FILE *file;
    size_t i;

    snprintf(path, sizeof path, "%s/instances", table->state_dir);
    snprintf(temp, sizeof temp, "%s/instances.new", table->state_dir);
    file = fopen(temp, "we");
    if (!file) {
        syslog(LOG_ERR, "cannot write %s: %m", temp);
        return;
    }
    for (in = table->head; in; in = in->next) {
        /* START_TIME:MOUNT_ID: a launcher that knows no mount id reads
         * the start time and stops at the colon. */
        fprintf(file, "%s\t%s\t%d\t%llu:%llu\t%u\t%u\t%s\t%u\t%s",
                in->class_->name, in->name, (int)in->pid, in->start_time,
                in->mount_id,
                (unsigned)in->caller.uid, (unsigned)in->caller.gid,
                in->caller.user, in->restarts, in->mountpoint);
        for (i = 0; i < in->arg_count; i++)
            fprintf(file, "\t%s", in->args[i]);
        fputc('\n', file);
    }
    if (fclose(file) != 0 || rename(temp, path) < 0)
        syslog(LOG_ERR, "cannot write %s: %m", path);
}

static void log_class_problem(void *arg, const char *message)
{
    (void)arg;
    syslog(LOG_ERR, "%s", message);
}

/* An instance from one line's fields; NULL if its class cannot be had. */
static struct instance *from_fields(struct instance_table *table,
                                    char **fields, int count)
{
    struct fsp_class *c = NULL;
    struct instance *in;
    char *end;
    int i;

    if (fsp_class_find(table->class_dir, fields[0], log_class_problem, NULL,
                       &c) < 0)
        return NULL;
    in = calloc(1, sizeof *in);
    if (!in) {
        fsp_class_free(c);
        return NULL;
    }
    in->class_ = c;
    in->waiter_fd = -1;
    snprintf(in->name, sizeof in->name, "%s", fields[1]);
    in->pid = (pid_t)atoi(fields[2]);
    in->start_time = strtoull(fields[3], &end, 10);
    in->mount_id = *end == ':' ? strtoull(end + 1, NULL, 10) : 0;
    in->caller.uid = (uid_t)strtoul(fields[4], NULL, 10);
    in->caller.gid = (gid_t)strtoul(fields[5], NULL, 10);
    snprintf(in->caller.user, sizeof in->caller.user, "%s", fields[6]);
    in->restarts = (unsigned)strtoul(fields[7], NULL, 10);
    snprintf(in->mountpoint, sizeof in->mountpoint, "%s", fields[8]);
    for (i = STATE_FIELDS_MIN; i < count && in->arg_count < 9; i++)
        in->args[in->arg_count++] = strdup(fields[i]);
    snprintf(in->log_path, sizeof in->log_path, "%s/%s.%s.log",
             table->state_dir, c->name, in->name);
    return in;
}

/* Decides what becomes of one saved instance; false to forget it. */
static bool adopt(struct instance *in)
{
    bool alive = in->pid > 0 &&
                 fsp_launcher_start_time(in->pid) == in->start_time;

    if (alive) {
        in->child = false;
        if (fsp_launcher_is_fuse_mount(in->mountpoint)) {
            in->state = INSTANCE_RUNNING;
            in->running_since_ms = instance_now_ms();
            if (in->mount_id == 0)
                in->mount_id = fsp_mount_unique_id(in->mountpoint);
        } else {
            in->state = INSTANCE_STARTING;
            in->deadline_ms =
                instance_now_ms() + in->class_->start_timeout_ms;
        }
        syslog(LOG_INFO, "%s %s: adopted pid %d on %s (%s)",
               in->class_->name, in->name, (int)in->pid, in->mountpoint,
               instance_state_name(in->state));
        return true;
    }
    fsp_launcher_unmount(in->mountpoint, in->mount_id);
    in->pid = 0;
    if (!in->class_->recovery) {
        syslog(LOG_WARNING, "%s %s: ended while the launcher was away",
               in->class_->name, in->name);
        return false;
    }
    syslog(LOG_WARNING, "%s %s: ended while the launcher was away; "
           "restarting", in->class_->name, in->name);
    in->state = INSTANCE_RESTARTING;
    in->deadline_ms = instance_now_ms();
    return true;
}

/* Stops the process of a saved line whose class is gone or broken. */
static void stop_orphan(char **fields)
{
    pid_t pid = (pid_t)atoi(fields[2]);

    if (pid > 0 &&
        fsp_launcher_start_time(pid) == strtoull(fields[3], NULL, 10)) {
        syslog(LOG_WARNING, "%s %s: class unusable; stopping pid %d",
               fields[0], fields[1], (int)pid);
        kill(pid, SIGTERM);
    }
}

void launcher_state_adopt(struct instance_table *table)
{
    char path[PATH_MAX + 16], *line = NULL;
    char *fields[STATE_FIELDS_MIN + 9];
    struct instance *in;
    size_t size = 0;
    ssize_t len;
    FILE *file;
    int count;

    snprintf(path, sizeof path, "%s/instances", table->state_dir);
    file = fopen(path, "re");
    if (!file)
        return;
    while ((len = getline(&line, &size, file)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        count = fsp_launcher_split(line, fields,
                                   (int)(sizeof fields / sizeof fields[0]));
        if (count < STATE_FIELDS_MIN)
            continue;
        in = from_fields(table, fields, count);
        if (!in) {
            stop_orphan(fields);
            continue;
        }
        if (!adopt(in)) {
            for (count = 0; (size_t)count < in->arg_count; count++)
                free(in->args[count]);
            fsp_class_free(in->class_);
            free(in);
            continue;
        }
        in->next = table->head;
        table->head = in;
    }
    free(line);
    fclose(file);
    launcher_state_save(table);
}
