/**
 * @file launcher_spawn.h
 * Forking and executing an instance's file system (see launcher_spawn.c).
 */
#ifndef FSP_LAUNCHER_SPAWN_H
#define FSP_LAUNCHER_SPAWN_H

#include "launcher_instance.h"

/**
 * Runs in's class executable with "-f" and its expanded arguments, as
 * run_as says, in the class's working directory and environment, its
 * stdout and stderr going to in->log_path (emptied first if
 * truncate_log, appended to otherwise), in a session of its own.
 *
 * @param pid_out  the child's pid.
 * @return 0, or -errno with message set (nothing was started).
 */
int launcher_spawn(const struct instance *in, bool truncate_log,
                   pid_t *pid_out, char *message, size_t message_size);

#endif
