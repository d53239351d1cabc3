/*
 * fsptool.h - declarations shared by fsptool's source files.
 *
 *   fsptool.c       main, usage and the table of verbs
 *   volume_cmds.c   the verbs that look at running volumes: lsvol, stat,
 *                   debug
 *   volumes.c       finding, validating and mapping the files running
 *                   volumes publish (src/api/stats.h), and /proc/self/mountinfo
 *   opcode_names.c  FUSE opcode names for display
 *   doctor*.c       the doctor verb: checks the machine for fsp (doctor.h)
 *
 * Exit status of every verb: 0 success, 1 a runtime failure, 2 a usage
 * error or no volume at the given mount point.
 */
#ifndef FSPTOOL_H
#define FSPTOOL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "stats.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUNTIME = 1,
    EXIT_USAGE = 2,
};

/* A verb: "fsptool NAME ARGS". @argv[0] is the verb's name. */
struct verb {
    const char *name;
    const char *args;      /* for the usage text */
    const char *summary;   /* one line, for the usage text */
    int (*run)(int argc, char **argv);
};

int verb_lsvol(int argc, char **argv);
int verb_stat(int argc, char **argv);
int verb_debug(int argc, char **argv);
int verb_doctor(int argc, char **argv);

/* Print the usage text to @f. */
void fsptool_usage(FILE *f);

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* One published volume, as found by volume_list_load(). */
struct volume {
    char file[PATH_MAX];          /* the .vol file */
    dev_t file_dev;               /* its identity, to reopen the very */
    ino_t file_ino;               /* same file read-write */
    uid_t owner;                  /* who runs the volume */
    const struct fsp_stats_shared *shared; /* read-only mapping: counters */
    bool mounted;                 /* its mount point is a FUSE mount now */

    /* A NUL-terminated copy of the header, taken once. */
    pid_t pid;
    unsigned conn_id;
    unsigned threads;
    uint64_t started_unix_ns;
    char mountpoint[FIELD_SIZE(struct fsp_stats_shared, mountpoint) + 1];
    char fs_name[FIELD_SIZE(struct fsp_stats_shared, fs_name) + 1];
    char channel[FIELD_SIZE(struct fsp_stats_shared, channel) + 1];
};

/* One line of /proc/self/mountinfo, what fsptool needs of it. */
struct mount_entry {
    char *mountpoint;             /* unescaped */
    char *fstype;                 /* "fuse.memfs", "ext4", ... */
    char *source;                 /* unescaped: "memfs", "/dev/sda1" */
    char *super_options;          /* "rw,user_id=0,group_id=0,..." */
    unsigned dev_major;
    unsigned dev_minor;
};

/* Read /proc/self/mountinfo, in the kernel's order (a mount stacked on
 * another comes after it). Returns 0 or -errno; free with
 * mount_table_free(). */
int mount_table_load(struct mount_entry **mounts, size_t *count);
void mount_table_free(struct mount_entry *mounts, size_t count);
void mount_entry_free(struct mount_entry *e);

struct volume_list {
    struct volume *items;
    size_t count;
    struct mount_entry *mounts;   /* /proc/self/mountinfo, in order */
    size_t mount_count;
};

/*
 * Find the volumes published where the caller can see them: the caller's
 * own stats directories, root's (/run/fsp) and, for root, every user's. Files of dead
 * processes are skipped (and removed if they are ours). Returns 0 or
 * -errno; problems with single files are reported on stderr and skipped.
 */
int volume_list_load(struct volume_list *list);
void volume_list_free(struct volume_list *list);

/*
 * Turn a mount point given on the command line into the absolute path the
 * volume published, without touching the mount itself (a stat of a hung
 * FUSE mount hangs): see the comment in volumes.c.
 */
void volume_normalize_path(const struct volume_list *list, const char *arg,
                           char *out, size_t size);

/* The volume mounted at @path (already normalized), or NULL. */
const struct volume *volume_find(const struct volume_list *list,
                                 const char *path);

/* Map @v's file read-write (for the debug switch). Returns 0 or -errno. */
int volume_map_writable(const struct volume *v,
                        struct fsp_stats_shared **shared);
void volume_unmap(const struct fsp_stats_shared *shared);

/* Write @s to stdout escaped like /proc/mounts does: space, tab, newline
 * and backslash as \ooo, so a line always splits into its columns. */
void print_escaped(const char *s);

/* Write @s to stdout as a JSON string, quotes included. */
void print_json_string(const char *s);

/* Display name of a FUSE opcode: "LOOKUP"; NULL if unknown. */
const char *fsptool_opcode_name(uint32_t opcode);

#endif /* FSPTOOL_H */
