/*
 * volume_cmds.c - the verbs that look at running volumes:
 *
 *   fsptool lsvol [-a]                 one line per volume
 *   fsptool stat [-j] MOUNTPOINT       a volume's counters
 *   fsptool debug MOUNTPOINT [on|off]  its debug log switch
 *
 * Output is meant for people and for scripts alike: lsvol's columns never
 * contain blanks (mount points are escaped like in /proc/mounts), and
 * stat prints "name value" lines, or JSON with -j; the file system's own
 * state lines (fsp_fs_set_state()) come last, under "file system:" (JSON:
 * "file_system", an array of strings).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsptool.h"

/* ---- output helpers ---- */

static bool needs_escape(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\\';
}

void print_escaped(const char *s)
{
    for (; *s; s++) {
        if (needs_escape((unsigned char)*s))
            printf("\\%03o", (unsigned char)*s);
        else
            putchar(*s);
    }
}

static size_t escaped_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += needs_escape((unsigned char)*s) ? 4 : 1;
    return n;
}

/* Print @s padded with blanks to @width columns. */
static void print_escaped_padded(const char *s, size_t width)
{
    print_escaped(s);
    for (size_t n = escaped_len(s); n < width; n++)
        putchar(' ');
}

void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Name of the requests[] slot @i. Slot 0 counts opcodes out of range
 * (opcode 0 does not exist in FUSE). */
static const char *opcode_label(unsigned i, char *buf, size_t size)
{
    const char *name = i == 0 ? "OTHER" : fsptool_opcode_name(i);

    if (name)
        return name;
    snprintf(buf, size, "OPCODE_%u", i);
    return buf;
}

/* Requests are listed by opcode with slot 0, "OTHER", last, like replies:
 * the @n-th slot to list, n = 1 .. FSP_STATS_OPCODES. */
static unsigned request_slot(unsigned n)
{
    return n % FSP_STATS_OPCODES;
}

/* Name of the replies_by_errno[] slot @i: "OK", "ENOENT", ..., "OTHER". */
static const char *errno_label(unsigned i, char *buf, size_t size)
{
    const char *name = NULL;

    if (i == 0)
        return "OK";
    if (i == FSP_STATS_ERRNOS - 1)
        return "OTHER";
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
    name = strerrorname_np((int)i);
#endif
    if (name)
        return name;
    snprintf(buf, size, "%u", i);
    return buf;
}

/* ---- finding the volume named on the command line ---- */

/*
 * Load the volumes and find the one at @arg. On success returns 0 and
 * fills @list (to free) and @vol. Otherwise prints why and returns the
 * exit status.
 */
static int find_volume(const char *arg, struct volume_list *list,
                       const struct volume **vol)
{
    char path[PATH_MAX];
    int ret;

    ret = volume_list_load(list);
    if (ret < 0) {
        fprintf(stderr, "fsptool: cannot list the volumes: %s\n",
                strerror(-ret));
        return EXIT_FAILURE_RUNTIME;
    }
    volume_normalize_path(list, arg, path, sizeof(path));
    *vol = volume_find(list, path);
    if (!*vol) {
        fprintf(stderr, "fsptool: no fsp volume is mounted at %s; "
                "fsptool lsvol lists the running ones\n", arg);
        volume_list_free(list);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- lsvol ---- */

static int compare_volumes(const void *a, const void *b)
{
    const struct volume *va = *(const struct volume *const *)a;
    const struct volume *vb = *(const struct volume *const *)b;
    int c = strcmp(va->mountpoint, vb->mountpoint);

    if (c)
        return c;
    return (va->pid > vb->pid) - (va->pid < vb->pid);
}

int verb_lsvol(int argc, char **argv)
{
    static const struct option options[] = {
        { "all", no_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    size_t w_mount = strlen("MOUNTPOINT"), w_name = strlen("FSNAME");
    size_t w_channel = strlen("CHANNEL");
    const size_t w_pid = 7;  /* pid_max is at most 4194304 */
    const struct volume **rows = NULL;
    struct volume_list list = { 0 };
    size_t nrows = 0;
    bool all = false;
    int opt, ret;

    while ((opt = getopt_long(argc, argv, "ah", options, NULL)) != -1) {
        switch (opt) {
        case 'a':
            all = true;
            break;
        case 'h':
            fsptool_usage(stdout);
            return EXIT_OK;
        default:
            fsptool_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "fsptool lsvol: unexpected argument '%s'\n\n",
                argv[optind]);
        fsptool_usage(stderr);
        return EXIT_USAGE;
    }

    ret = volume_list_load(&list);
    if (ret < 0) {
        fprintf(stderr, "fsptool: cannot list the volumes: %s\n",
                strerror(-ret));
        ret = EXIT_FAILURE_RUNTIME;
        goto out;
    }
    rows = calloc(list.count ? list.count : 1, sizeof(*rows));
    if (!rows) {
        fprintf(stderr, "fsptool: out of memory\n");
        ret = EXIT_FAILURE_RUNTIME;
        goto out;
    }
    for (size_t i = 0; i < list.count; i++) {
        const struct volume *v = &list.items[i];

        if (!v->mounted && !all)
            continue;
        rows[nrows++] = v;
        if (escaped_len(v->mountpoint) > w_mount)
            w_mount = escaped_len(v->mountpoint);
        if (escaped_len(v->fs_name) > w_name)
            w_name = escaped_len(v->fs_name);
        if (escaped_len(v->channel) > w_channel)
            w_channel = escaped_len(v->channel);
    }
    qsort(rows, nrows, sizeof(*rows), compare_volumes);

    printf("%-*s  %-*s  %-*s  %-*s  THREADS%s\n", (int)w_mount, "MOUNTPOINT",
           (int)w_name, "FSNAME", (int)w_pid, "PID", (int)w_channel,
           "CHANNEL", all ? "  MOUNTED" : "");
    for (size_t i = 0; i < nrows; i++) {
        const struct volume *v = rows[i];

        print_escaped_padded(v->mountpoint, w_mount);
        printf("  ");
        print_escaped_padded(v->fs_name[0] ? v->fs_name : "-", w_name);
        printf("  %-*d  ", (int)w_pid, (int)v->pid);
        print_escaped_padded(v->channel[0] ? v->channel : "-", w_channel);
        if (all)
            printf("  %-7u  %s\n", v->threads, v->mounted ? "yes" : "no");
        else
            printf("  %u\n", v->threads);
    }
    ret = EXIT_OK;
out:
    free(rows);
    volume_list_free(&list);
    return ret;
}

/* ---- stat ---- */

/* One consistent-enough reading of a volume's counters. Each is read once,
 * so the text and JSON forms of one run agree. */
struct counters {
    uint64_t requests[FSP_STATS_OPCODES];
    uint64_t replies[FSP_STATS_ERRNOS];
    int64_t pending, nodes, handles;
    uint64_t interrupts, notifications;
    uint64_t ring_requests;
    bool debug;
    char fs_state[FSP_STATS_STATE_SIZE]; /* the file system's own lines */
};

static void read_counters(const struct fsp_stats_shared *sh,
                          struct counters *c)
{
    const memory_order r = memory_order_relaxed;

    for (unsigned i = 0; i < FSP_STATS_OPCODES; i++)
        c->requests[i] = atomic_load_explicit(&sh->requests[i], r);
    for (unsigned i = 0; i < FSP_STATS_ERRNOS; i++)
        c->replies[i] = atomic_load_explicit(&sh->replies_by_errno[i], r);
    c->pending = atomic_load_explicit(&sh->pending, r);
    c->nodes = atomic_load_explicit(&sh->nodes, r);
    c->handles = atomic_load_explicit(&sh->handles, r);
    c->interrupts = atomic_load_explicit(&sh->interrupts, r);
    c->notifications = atomic_load_explicit(&sh->notifications, r);
    c->ring_requests = atomic_load_explicit(&sh->ring_requests, r);
    c->debug = atomic_load_explicit(&sh->debug, r) != 0;
    fsp_stats_read_state(sh, c->fs_state);
}

static uint64_t uptime_seconds(const struct volume *v)
{
    struct timespec now;
    uint64_t now_ns;

    clock_gettime(CLOCK_REALTIME, &now);
    now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    return now_ns > v->started_unix_ns
               ? (now_ns - v->started_unix_ns) / 1000000000u
               : 0;
}

static void print_stat_text(const struct volume *v, const struct counters *c)
{
    uint64_t up = uptime_seconds(v);
    char buf[32];

    printf("mountpoint ");
    print_escaped(v->mountpoint);
    printf("\nfs_name ");
    print_escaped(v->fs_name);
    printf("\npid %d\nchannel ", (int)v->pid);
    print_escaped(v->channel);
    printf("\nthreads %u\n", v->threads);
    printf("uptime %llu:%02u:%02u\n", (unsigned long long)(up / 3600),
           (unsigned)(up / 60 % 60), (unsigned)(up % 60));
    printf("debug %s\n", c->debug ? "on" : "off");
    printf("requests:\n");
    for (unsigned n = 1; n <= FSP_STATS_OPCODES; n++) {
        unsigned i = request_slot(n);

        if (c->requests[i])
            printf("  %s %llu\n", opcode_label(i, buf, sizeof(buf)),
                   (unsigned long long)c->requests[i]);
    }
    printf("replies:\n");
    for (unsigned i = 0; i < FSP_STATS_ERRNOS; i++) {
        if (c->replies[i])
            printf("  %s %llu\n", errno_label(i, buf, sizeof(buf)),
                   (unsigned long long)c->replies[i]);
    }
    printf("pending %lld\n", (long long)c->pending);
    printf("nodes %lld\n", (long long)c->nodes);
    printf("handles %lld\n", (long long)c->handles);
    printf("interrupts %llu\n", (unsigned long long)c->interrupts);
    printf("notifications %llu\n", (unsigned long long)c->notifications);
    printf("ring_requests %llu\n", (unsigned long long)c->ring_requests);
    if (c->fs_state[0]) {
        const char *line = c->fs_state;

        printf("file system:\n");
        while (*line) {
            size_t n = strcspn(line, "\n");

            if (n)
                printf("  %.*s\n", (int)n, line);
            line += n + (line[n] == '\n');
        }
    }
}

/* The same as print_stat_text(), as one JSON object on one line. */
static void print_stat_json(const struct volume *v, const struct counters *c)
{
    const char *sep = "";
    char buf[32];

    printf("{\"mountpoint\":");
    print_json_string(v->mountpoint);
    printf(",\"fs_name\":");
    print_json_string(v->fs_name);
    printf(",\"pid\":%d,\"channel\":", (int)v->pid);
    print_json_string(v->channel);
    printf(",\"threads\":%u,\"uptime_s\":%llu,\"debug\":%s", v->threads,
           (unsigned long long)uptime_seconds(v),
           c->debug ? "true" : "false");

    printf(",\"requests\":{");
    for (unsigned n = 1; n <= FSP_STATS_OPCODES; n++) {
        unsigned i = request_slot(n);

        if (!c->requests[i])
            continue;
        printf("%s\"%s\":%llu", sep, opcode_label(i, buf, sizeof(buf)),
               (unsigned long long)c->requests[i]);
        sep = ",";
    }
    sep = "";
    printf("},\"replies\":{");
    for (unsigned i = 0; i < FSP_STATS_ERRNOS; i++) {
        if (!c->replies[i])
            continue;
        printf("%s\"%s\":%llu", sep, errno_label(i, buf, sizeof(buf)),
               (unsigned long long)c->replies[i]);
        sep = ",";
    }
    printf("},\"file_system\":[");
    sep = "";
    for (const char *line = c->fs_state; *line;) {
        size_t n = strcspn(line, "\n");
        char one[FSP_STATS_STATE_SIZE];

        if (n) {
            memcpy(one, line, n);
            one[n] = '\0';
            printf("%s", sep);
            print_json_string(one);
            sep = ",";
        }
        line += n + (line[n] == '\n');
    }
    printf("],\"pending\":%lld,\"nodes\":%lld,\"handles\":%lld,"
           "\"interrupts\":%llu,\"notifications\":%llu,"
           "\"ring_requests\":%llu}\n",
           (long long)c->pending, (long long)c->nodes, (long long)c->handles,
           (unsigned long long)c->interrupts,
           (unsigned long long)c->notifications,
           (unsigned long long)c->ring_requests);
}

int verb_stat(int argc, char **argv)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct volume_list list;
    const struct volume *v;
    struct counters c;
    bool json = false;
    int opt, ret;

    while ((opt = getopt_long(argc, argv, "jh", options, NULL)) != -1) {
        switch (opt) {
        case 'j':
            json = true;
            break;
        case 'h':
            fsptool_usage(stdout);
            return EXIT_OK;
        default:
            fsptool_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "fsptool stat: give one MOUNTPOINT\n\n");
        fsptool_usage(stderr);
        return EXIT_USAGE;
    }
    ret = find_volume(argv[optind], &list, &v);
    if (ret != EXIT_OK)
        return ret;
    read_counters(v->shared, &c);
    if (json)
        print_stat_json(v, &c);
    else
        print_stat_text(v, &c);
    volume_list_free(&list);
    return EXIT_OK;
}

/* ---- debug ---- */

int verb_debug(int argc, char **argv)
{
    struct fsp_stats_shared *rw = NULL;
    struct volume_list list;
    const struct volume *v;
    const char *state;
    int ret;

    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fsptool_usage(stdout);
        return EXIT_OK;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "fsptool debug: give a MOUNTPOINT and on or off\n\n");
        fsptool_usage(stderr);
        return EXIT_USAGE;
    }
    state = argc == 3 ? argv[2] : NULL;
    if (state && strcmp(state, "on") != 0 && strcmp(state, "off") != 0) {
        fprintf(stderr, "fsptool debug: '%s' is neither on nor off\n", state);
        return EXIT_USAGE;
    }
    ret = find_volume(argv[1], &list, &v);
    if (ret != EXIT_OK)
        return ret;

    if (!state) {
        printf("debug %s\n",
               atomic_load_explicit(&v->shared->debug, memory_order_relaxed)
                   ? "on" : "off");
        ret = EXIT_OK;
        goto out;
    }
    ret = volume_map_writable(v, &rw);
    if (ret < 0) {
        fprintf(stderr, "fsptool: cannot switch the debug log of %s: %s%s\n",
                v->mountpoint, strerror(-ret),
                ret == -EACCES || ret == -EPERM
                    ? "; only the user running the volume, or root, can"
                    : "");
        ret = EXIT_FAILURE_RUNTIME;
        goto out;
    }
    /* The volume polls this flag; it needs no ordering with anything. */
    atomic_store_explicit(&rw->debug, !strcmp(state, "on"),
                          memory_order_relaxed);
    printf("debug %s\n", state);
    ret = EXIT_OK;
out:
    volume_unmap(rw);
    volume_list_free(&list);
    return ret;
}
