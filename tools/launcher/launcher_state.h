/**
 * @file launcher_state.h
 * The state file of fsp-launcherd (STATE_DIR/instances): what runs, so
 * that a restarted launcher finds its instances again.
 *
 * One line per instance, fields separated by TAB:
 *   CLASS INSTANCE PID START-TIME UID GID USER RESTARTS MOUNTPOINT [ARG]...
 * PID is 0 for an instance without a process (restarting, failed).
 * The file is replaced atomically (written aside, then renamed).
 */
#ifndef FSP_LAUNCHER_STATE_H
#define FSP_LAUNCHER_STATE_H

#include "launcher_instance.h"

/** Writes the state file; failures are logged. */
void launcher_state_save(const struct instance_table *table);

/**
 * Reads the state file left by an earlier launcher. An instance whose
 * process still runs (same pid and start time) is adopted as running (or
 * starting, if not yet mounted) and watched from /proc; one whose process
 * is gone has its stale mount detached and is restarted if its class asks
 * for recovery, forgotten otherwise. An instance whose class is gone or
 * broken is stopped (SIGTERM) and forgotten.
 */
void launcher_state_adopt(struct instance_table *table);

#endif
