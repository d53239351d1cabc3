/**
 * @file launcher_proto.h
 * The wire protocol of fsp-launcherd's UNIX socket, shared by the daemon
 * and fsp-launchctl.
 *
 * A client sends one request line of at most FSP_LAUNCHER_LINE_MAX bytes,
 * fields separated by TAB, ending in '\n', within FSP_LAUNCHER_READ_TIMEOUT_MS:
 *   start TAB CLASS TAB INSTANCE [TAB ARG]...   (up to 9 ARGs)
 *   stop TAB CLASS TAB INSTANCE
 *   info TAB CLASS TAB INSTANCE
 *   list
 * The daemon answers with zero or more lines, then one status line, then
 * closes the connection:
 *   I TAB CLASS TAB INSTANCE TAB PID TAB STATE TAB RESTARTS TAB MOUNTPOINT
 *                                  an instance (list, info, start)
 *   E TAB TEXT                     error output: the class file's problems
 *                                  or the file system's own messages
 *   OK                             success
 *   ERR TAB ERRNO-NAME TAB MESSAGE failure, e.g. "ERR\tEACCES\t..."
 * Fields never contain TAB or newline (the daemon replaces them by blanks).
 */
#ifndef FSP_LAUNCHER_PROTO_H
#define FSP_LAUNCHER_PROTO_H

#include <stddef.h>

#define FSP_LAUNCHER_SOCKET_DEFAULT "/run/fsp/launcher.sock"
#define FSP_LAUNCHER_LINE_MAX 4096
#define FSP_LAUNCHER_READ_TIMEOUT_MS 5000
/** Most fields of one request: verb, class, instance, 9 arguments. */
#define FSP_LAUNCHER_FIELDS_MAX 12

/** "ENOENT" for ENOENT (positive), "EIO" for an errno it does not know. */
const char *fsp_launcher_errno_name(int err);

/** The errno of a name fsp_launcher_errno_name() gives; EIO if unknown. */
int fsp_launcher_errno_value(const char *name);

/**
 * Splits line (no '\n') at TABs in place.
 *
 * @return the number of fields, or -E2BIG if more than max.
 */
int fsp_launcher_split(char *line, char **fields, int max);

/**
 * Sends one line (format plus '\n') to a client without blocking and
 * without SIGPIPE; a client that does not read loses the rest.
 */
void fsp_launcher_sendf(int fd, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/** Replaces TABs and newlines of text by blanks, in place. */
void fsp_launcher_flatten(char *text);

#endif
