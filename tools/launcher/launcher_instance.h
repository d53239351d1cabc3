/**
 * @file launcher_instance.h
 * The instances fsp-launcherd runs: starting one (fork, identity, exec),
 * watching it mount, stopping it, reaping it, restarting a crashed one,
 * and the state file that lets a restarted launcher find them again.
 *
 * States: starting (waits for its FUSE mount), running, stopping
 * (SIGTERM sent, SIGKILL at the stop timeout), restarting (crashed,
 * waiting for its recovery delay), failed (crashed past recovery_limit;
 * kept so that list shows it until stopped).
 *
 * A start or stop request leaves its client waiting on the instance (the
 * "waiter"); the instance answers it (OK, or ERR with the file system's
 * error output) when the mount shows, the start fails or times out, or
 * the process is gone.
 */
#ifndef FSP_LAUNCHER_INSTANCE_H
#define FSP_LAUNCHER_INSTANCE_H

#include "class_file.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum instance_state {
    INSTANCE_STARTING,
    INSTANCE_RUNNING,
    INSTANCE_STOPPING,
    INSTANCE_RESTARTING,
    INSTANCE_FAILED,
};

/** The caller a start request came from. */
struct instance_caller {
    uid_t uid;
    gid_t gid;
    char user[64]; /**< %u: the user name, or the uid in digits */
};

struct instance {
    struct instance *next;
    struct fsp_class *class_;   /**< owned */
    char name[FSP_CLASS_NAME_MAX + 1];
    char *args[9];              /**< of the start request, owned */
    size_t arg_count;
    struct instance_caller caller;
    char mountpoint[PATH_MAX];
    char log_path[PATH_MAX + 2 * FSP_CLASS_NAME_MAX + 8];
    enum instance_state state;
    pid_t pid;                  /**< 0 when no process */
    unsigned long long start_time; /**< of pid, see fsp_launcher_start_time */
    /** The unique id of its mount once running (fsp_mount_unique_id),
     *  0 if not known: what a clean-up may unmount. */
    unsigned long long mount_id;
    bool child;                 /**< ours to waitpid(); false if adopted */
    bool remove_when_gone;      /**< stopping for good (not a restart) */
    unsigned restarts;          /**< in all */
    unsigned restarts_in_a_row; /**< against recovery_limit */
    int64_t deadline_ms;        /**< of starting, stopping, restarting */
    int64_t running_since_ms;
    int waiter_fd;              /**< client waiting for an answer, or -1 */
};

struct instance_table {
    struct instance *head;
    const char *class_dir;
    char state_dir[PATH_MAX];
};

/** Monotonic milliseconds. */
int64_t instance_now_ms(void);

/** The name of a state ("running"). */
const char *instance_state_name(enum instance_state state);

/** Finds an instance by class and name; NULL if none. */
struct instance *instance_find(struct instance_table *table,
                               const char *class_name, const char *name);

/**
 * Starts an instance of class_ (taking it over, even on failure).
 *
 * @param waiter_fd  the client to answer; on 0 the instance owns it.
 * @param message    on failure, what went wrong.
 * @return 0 (the answer comes later), or -errno with message set; the
 *         caller then answers and closes waiter_fd itself.
 */
int instance_start(struct instance_table *table, struct fsp_class *class_,
                   const char *name, char *const *args, size_t arg_count,
                   const struct instance_caller *caller, int waiter_fd,
                   char *message, size_t message_size);

/** Stops an instance: answers waiter_fd (which it takes over) once gone. */
void instance_stop(struct instance_table *table, struct instance *in,
                   int waiter_fd);

/** A child of the daemon ended with status (from waitpid). */
void instance_reaped(struct instance_table *table, pid_t pid, int status);

/** Advances deadlines, mount checks and adopted processes; call often. */
void instance_tick(struct instance_table *table);

/** Whether any instance is in a state instance_tick() must watch. */
bool instance_busy(const struct instance_table *table);

/** Sends an instance as an "I" line of the protocol. */
void instance_send_row(int fd, const struct instance *in);

#endif
