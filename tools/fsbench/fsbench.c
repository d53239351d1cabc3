/*
 * fsbench.c - fsbench's command line, test table, runner and output.
 *
 * fsbench runs WinFsp fsbench's micro-benchmarks, mapped to POSIX, in any
 * directory, and prints one key=value line per test (docs/BENCHMARKS.md
 * describes the format). Each iteration of each test gets a fresh
 * directory DIR/fsbench.XXXXXX, which the runner empties and removes
 * afterwards whatever the test left there; only the part between the
 * test's fsb_clock_start() and fsb_clock_stop() is timed.
 *
 * Exit status: 0 every selected test ran (or was skipped because the file
 * system refuses a feature it needs); 1 a test failed; 2 a usage error, or
 * DIR is missing, not a directory, not writable or full.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsbench.h"

enum {
    EXIT_OK = 0,
    EXIT_TEST_FAILED = 1,
    EXIT_USAGE = 2,      /* also: DIR missing, not writable, full */
    MAX_ITERATIONS = 1000,
};

#define FSBENCH_FORMAT_VERSION 1

/* In WinFsp fsbench's order: metadata first, then data. */
static const struct test {
    const char *name;
    fsb_test_fn *run;
} tests[] = {
    { "file_create", fsb_file_create },
    { "file_open", fsb_file_open },
    { "file_overwrite", fsb_file_overwrite },
    { "file_attr", fsb_file_attr },
    { "file_list", fsb_file_list },
    { "file_list_single", fsb_file_list_single },
    { "file_list_none", fsb_file_list_none },
    { "file_delete", fsb_file_delete },
    { "file_mkdir", fsb_file_mkdir },
    { "file_rmdir", fsb_file_rmdir },
    { "rdwr_cc_write_page", fsb_rdwr_cc_write_page },
    { "rdwr_cc_read_page", fsb_rdwr_cc_read_page },
    { "rdwr_cc_write_large", fsb_rdwr_cc_write_large },
    { "rdwr_cc_read_large", fsb_rdwr_cc_read_large },
    { "rdwr_nc_write_page", fsb_rdwr_nc_write_page },
    { "rdwr_nc_read_page", fsb_rdwr_nc_read_page },
    { "rdwr_nc_write_large", fsb_rdwr_nc_write_large },
    { "rdwr_nc_read_large", fsb_rdwr_nc_read_large },
    { "mmap_write", fsb_mmap_write },
    { "mmap_read", fsb_mmap_read },
};

#define NTESTS (sizeof(tests) / sizeof(tests[0]))

static const char *bench_dir;   /* DIR, for error messages */
static const char *mark_cmd;    /* -x: run at the start and stop */
static const char *current_test; /* the test running, for -x */

/* -x CMD: run "CMD start TEST" or "CMD stop TEST" through the shell, outside the
 * timed part, so that a script can read a volume's request counters
 * exactly around the measured calls (bench/requests). Its exit status is
 * not fsbench's business; a shell that cannot run is reported. */
static void run_mark(const char *what)
{
    char *line;

    if (!mark_cmd)
        return;
    if (asprintf(&line, "%s %s %s", mark_cmd, what, current_test) < 0) {
        fprintf(stderr, "fsbench: -x: out of memory\n");
        return;
    }
    fflush(stdout);
    if (system(line) == -1)
        fsb_syserr("-x: cannot run", line);
    free(line);
}

/* -j: tell the runner this client is ready, and wait until it lets every
 * client go at once (it closes the pipe: read gets end of file). The
 * ready pipe is closed once written, so that the runner sees its end as
 * soon as every client is ready or gone, even one that failed before. */
static void wait_for_start(struct fsb_run *r)
{
    char c = 0;

    if (r->ready_fd < 0)
        return;
    if (write(r->ready_fd, &c, 1) != 1)
        fsb_syserr("-j: cannot signal the runner", NULL);
    close(r->ready_fd);
    r->ready_fd = -1;
    while (read(r->go_fd, &c, 1) < 0 && errno == EINTR)
        ;
}

static double seconds_between(const struct timespec *a,
                              const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void fsb_clock_start(struct fsb_run *r)
{
    run_mark("start");
    wait_for_start(r);
    clock_gettime(CLOCK_MONOTONIC, &r->start);
}

void fsb_clock_stop(struct fsb_run *r)
{
    clock_gettime(CLOCK_MONOTONIC, &r->stop);
    r->seconds = seconds_between(&r->start, &r->stop);
    run_mark("stop");
}

int fsb_syserr(const char *what, const char *name)
{
    int e = errno;

    if (name)
        fprintf(stderr, "fsbench: %s %s: %s\n", what, name, strerror(e));
    else
        fprintf(stderr, "fsbench: %s: %s\n", what, strerror(e));
    return -e;
}

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: fsbench [options] DIR\n"
        "Run file system micro-benchmarks (WinFsp fsbench's tests) in DIR,\n"
        "one line of results per test. DIR is left as it was found.\n\n"
        "Options:\n"
        "  -n FILES       files (or directories) in the file_* tests "
        "(1000)\n"
        "  -i ITERATIONS  runs of each test; the median, min and max are "
        "printed (1)\n"
        "  -s FILESIZE    size of the rdwr_*/mmap_* file, a multiple of "
        "64k; suffix\n"
        "                 k, m or g (16m)\n"
        "  -r PASSES      passes over the directory or file in file_list*,\n"
        "                 rdwr_* and mmap_* (10)\n"
        "  -t TEST[,...]  run only these tests; a prefix selects every test "
        "it starts\n"
        "  -x CMD         run \"CMD start TEST\" and \"CMD stop TEST\" (shell) "
        "just\n"
        "                 before and after each measured part, untimed "
        "(not with -j)\n"
        "  -j CLIENTS     run each test in this many processes at once, "
        "each in a\n"
        "                 directory of its own; ops_per_sec is their sum "
        "over the\n"
        "                 time from the first start to the last stop (1)\n"
        "  -S             with -j: the clients share one directory, each "
        "with names\n"
        "                 of its own\n"
        "  -l             list the tests\n"
        "  -h, --help     show this text\n\n"
        "Exit status: 0 every selected test ran; 1 a test failed; 2 a "
        "usage error,\nor DIR is missing, not writable or full.\n");
}

/* An unsigned number in [@min, @max], with an optional k/m/g suffix (powers
 * of 1024) when @suffix is true. */
static bool parse_number(const char *s, bool suffix, uint64_t min,
                         uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t scale = 1;

    *out = 0;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return false;
    if (suffix && *end) {
        switch (*end) {
        case 'k': case 'K': scale = 1ULL << 10; break;
        case 'm': case 'M': scale = 1ULL << 20; break;
        case 'g': case 'G': scale = 1ULL << 30; break;
        default: return false;
        }
        end++;
    }
    if (*end || v > max / scale || v * scale < min)
        return false;
    *out = v * scale;
    return true;
}

/* -t: marks every test that one of the comma-separated prefixes starts. */
static bool select_tests(char *list, bool *selected)
{
    if (!list[strspn(list, ",")]) {
        fprintf(stderr, "fsbench: -t needs a test name\n");
        return false;
    }
    for (char *save = NULL, *item = strtok_r(list, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        bool found = false;
        for (size_t i = 0; i < NTESTS; i++) {
            if (!strncmp(tests[i].name, item, strlen(item))) {
                selected[i] = true;
                found = true;
            }
        }
        if (!found) {
            fprintf(stderr, "fsbench: no test is named %s or starts with "
                            "it (fsbench -l lists them)\n", item);
            return false;
        }
    }
    return true;
}

/* Removes everything in @dirfd. The tests leave plain files and empty
 * directories only, one level deep. Deleting while reading a directory may
 * skip entries, so it reads again until a pass finds nothing. */
static int empty_dir(int dirfd)
{
    int err = 0;
    bool found = true;

    while (found && !err) {
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd < 0 ? NULL : fdopendir(fd);
        if (!d) {
            err = fsb_syserr("open", "the run's directory");
            if (fd >= 0)
                close(fd);
            break;
        }
        found = false;
        for (;;) {
            errno = 0;
            struct dirent *e = readdir(d);
            if (!e) {
                if (errno)
                    err = fsb_syserr("readdir", "the run's directory");
                break;
            }
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            found = true;
            int flag = e->d_type == DT_DIR ? AT_REMOVEDIR : 0;
            int rc = unlinkat(dirfd, e->d_name, flag);
            /* d_type may be DT_UNKNOWN: unlink says EISDIR for a directory. */
            if (rc < 0 && errno == EISDIR)
                rc = unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
            if (rc < 0 && errno != ENOENT) {
                err = fsb_syserr("remove", e->d_name);
                break;
            }
        }
        closedir(d);
    }
    return err;
}

/* Makes a fresh directory DIR/fsbench.XXXXXX; @path gets its name. */
static int make_run_dir(char *path, size_t size, int *dirfd)
{
    int err = 0;

    *dirfd = -1;
    if ((size_t)snprintf(path, size, "%s/fsbench.XXXXXX", bench_dir) >= size)
        return -ENAMETOOLONG;
    if (!mkdtemp(path))
        return -errno;
    *dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0) {
        err = -errno;
        rmdir(path);
    }
    return err;
}

/* Empties and removes a run's directory; the first error wins. */
static int remove_run_dir(const char *path, int dirfd, int err)
{
    int e = empty_dir(dirfd);

    close(dirfd);
    if (!e && rmdir(path) < 0)
        e = fsb_syserr("rmdir", path);
    return err ? err : e;
}

/* Environment errors that are DIR's fault, not the test's. */
static bool is_dir_error(int err)
{
    return err == -ENOSPC || err == -EDQUOT || err == -EROFS;
}

/* A fresh run of one client: @params, in @dirfd. */
static void run_init(struct fsb_run *r, const struct fsb_params *params,
                     int dirfd)
{
    memset(r, 0, sizeof(*r));
    r->params = params;
    r->dirfd = dirfd;
    r->ready_fd = r->go_fd = -1;
    snprintf(r->data_name, sizeof(r->data_name), "%sdata", params->prefix);
}

/* One iteration of one test in a fresh directory. */
static int run_once(const struct test *t, const struct fsb_params *params,
                    struct fsb_run *r)
{
    char path[PATH_MAX];
    int dirfd, err;

    err = make_run_dir(path, sizeof(path), &dirfd);
    if (err)
        return err;
    run_init(r, params, dirfd);
    err = t->run(r);
    return remove_run_dir(path, r->dirfd, err);
}

/* What a client of -j tells the runner, in one write to a pipe. */
struct client_result {
    int err;
    int skipped;
    uint64_t ops;
    struct timespec start, stop;
};

enum { MAX_CLIENTS = 64 };

/* -j: client @k of a run, in its own process: runs @t in @dirfd, with
 * names of its own when the directory is shared, and writes its result
 * to @result_fd. Never returns. */
static void run_client(const struct test *t, const struct fsb_params *params,
                       unsigned k, int dirfd, int ready_fd, int go_fd,
                       int result_fd)
{
    struct fsb_params mine = *params;
    struct client_result res;
    char prefix[16];
    struct fsb_run r;

    if (params->sharing > 1) {
        snprintf(prefix, sizeof(prefix), "c%u.", k);
        mine.prefix = prefix;
    }
    run_init(&r, &mine, dirfd);
    r.ready_fd = ready_fd;
    r.go_fd = go_fd;
    memset(&res, 0, sizeof(res));
    res.err = t->run(&r);
    res.skipped = r.skipped;
    res.ops = r.ops;
    res.start = r.start;
    res.stop = r.stop;
    if (write(result_fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
        _exit(EXIT_TEST_FAILED);
    _exit(EXIT_OK);
}

/*
 * One iteration of one test in @clients processes at once: each in a
 * fresh directory of its own, or all in one (params->sharing). They set
 * up, wait for each other in fsb_clock_start(), and are measured
 * together: @r gets the sum of their ops over the time from the first
 * start to the last stop.
 */
static int run_clients(const struct test *t, const struct fsb_params *params,
                       unsigned clients, struct fsb_run *r)
{
    char paths[MAX_CLIENTS][PATH_MAX];
    int dirfds[MAX_CLIENTS];
    unsigned ndirs = params->sharing > 1 ? 1 : clients, started = 0;
    int ready[2] = { -1, -1 }, go[2] = { -1, -1 }, results[2] = { -1, -1 };
    struct timespec first = { 0, 0 }, last = { 0, 0 };
    int err = 0;
    char c;

    run_init(r, params, -1);
    for (unsigned i = 0; i < ndirs; i++)
        dirfds[i] = -1;
    for (unsigned i = 0; i < ndirs && !err; i++)
        err = make_run_dir(paths[i], sizeof(paths[i]), &dirfds[i]);
    if (!err && (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
                 pipe2(results, O_CLOEXEC) < 0))
        err = fsb_syserr("pipe", NULL);
    fflush(stdout);
    for (unsigned k = 0; k < clients && !err; k++) {
        pid_t pid = fork();

        if (pid < 0) {
            err = fsb_syserr("fork", NULL);
            break;
        }
        if (pid == 0) {
            close(ready[0]);
            close(go[1]);
            close(results[0]);
            run_client(t, params, k, dirfds[ndirs > 1 ? k : 0], ready[1],
                       go[0], results[1]);
        }
        started++;
    }
    /* Our copies closed, the pipes end when the clients do: a client that
     * fails before it is ready does not hold up the others. */
    if (ready[1] >= 0)
        close(ready[1]);
    if (results[1] >= 0)
        close(results[1]);
    for (unsigned n = 0; n < started && read(ready[0], &c, 1) == 1; n++)
        ;
    if (go[1] >= 0)
        close(go[1]);               /* go */
    for (unsigned k = 0; k < started; k++) {
        struct client_result res;

        if (read(results[0], &res, sizeof(res)) != (ssize_t)sizeof(res)) {
            if (!err)
                err = -EIO;         /* a client died */
            continue;
        }
        if (res.err && !err)
            err = res.err;
        r->skipped = res.skipped;
        r->ops += res.ops;
        if (k == 0 || seconds_between(&res.start, &first) > 0)
            first = res.start;
        if (k == 0 || seconds_between(&last, &res.stop) > 0)
            last = res.stop;
    }
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    r->seconds = seconds_between(&first, &last);
    if (ready[0] >= 0)
        close(ready[0]);
    if (go[0] >= 0)
        close(go[0]);
    if (results[0] >= 0)
        close(results[0]);
    for (unsigned i = 0; i < ndirs; i++)
        if (dirfds[i] >= 0)
            err = remove_run_dir(paths[i], dirfds[i], err);
    return err;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Runs @t @iterations times and prints its line. 0, or an exit status. */
static int run_test(const struct test *t, const struct fsb_params *params,
                    unsigned iterations, unsigned clients)
{
    double seconds[MAX_ITERATIONS];
    struct fsb_run r;
    uint64_t ops = 0;
    double median, rate;

    current_test = t->name;
    for (unsigned i = 0; i < iterations; i++) {
        int err = clients > 1 ? run_clients(t, params, clients, &r)
                              : run_once(t, params, &r);
        if (err) {
            if (is_dir_error(err)) {
                fprintf(stderr, "fsbench: %s: %s (during %s)\n", bench_dir,
                        strerror(-err), t->name);
                return EXIT_USAGE;
            }
            fprintf(stderr, "fsbench: %s failed: %s\n", t->name,
                    strerror(-err));
            return EXIT_TEST_FAILED;
        }
        if (r.skipped) {
            printf("test=%s skipped=%s\n", t->name,
                   strerrorname_np(r.skipped));
            return EXIT_OK;
        }
        seconds[i] = r.seconds;
        ops = r.ops;
    }
    qsort(seconds, iterations, sizeof(seconds[0]), compare_double);
    median = iterations % 2 ? seconds[iterations / 2]
                            : (seconds[iterations / 2 - 1] +
                               seconds[iterations / 2]) / 2;
    /* A clock step finer than the run is still a positive time. */
    rate = (double)ops / (median > 0 ? median : 1e-9);
    printf("test=%s ops=%llu seconds=%.9f ops_per_sec=%.0f "
           "min_seconds=%.9f max_seconds=%.9f", t->name,
           (unsigned long long)ops, median, rate, seconds[0],
           seconds[iterations - 1]);
    if (clients > 1)
        printf(" clients=%u", clients);
    printf("\n");
    return EXIT_OK;
}

/* DIR must exist, be a directory and let us make and remove a directory
 * in it. Prints the reason and returns false otherwise. */
static bool check_dir(void)
{
    char path[PATH_MAX];
    struct stat st;
    int dirfd;
    int err;

    if (stat(bench_dir, &st) < 0) {
        fprintf(stderr, "fsbench: %s: %s\n", bench_dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "fsbench: %s: not a directory\n", bench_dir);
        return false;
    }
    err = make_run_dir(path, sizeof(path), &dirfd);
    if (!err)
        err = remove_run_dir(path, dirfd, 0);
    if (err) {
        fprintf(stderr, "fsbench: %s: cannot make a directory in it: %s\n",
                bench_dir, strerror(-err));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct fsb_params params = {
        .files = 1000, .passes = 10, .file_size = 16ULL << 20,
        .prefix = "", .sharing = 1,
    };
    bool selected[NTESTS] = { false };
    bool any_selected = false;
    unsigned iterations = 1, clients = 1;
    bool shared = false;
    uint64_t v;
    int opt;
    int status = EXIT_OK;
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };

    while ((opt = getopt_long(argc, argv, "n:i:s:r:t:x:j:Slh", long_options,
                              NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (!parse_number(optarg, false, 1, 10000000, &v))
                goto bad_value;
            params.files = (unsigned)v;
            break;
        case 'i':
            if (!parse_number(optarg, false, 1, MAX_ITERATIONS, &v))
                goto bad_value;
            iterations = (unsigned)v;
            break;
        case 's':
            if (!parse_number(optarg, true, 64 << 10, 1ULL << 40, &v) ||
                v % (64 << 10))
                goto bad_value;
            params.file_size = v;
            break;
        case 'r':
            if (!parse_number(optarg, false, 1, 1000000, &v))
                goto bad_value;
            params.passes = (unsigned)v;
            break;
        case 't':
            if (!select_tests(optarg, selected))
                return EXIT_USAGE;
            any_selected = true;
            break;
        case 'x':
            mark_cmd = optarg;
            break;
        case 'j':
            if (!parse_number(optarg, false, 1, MAX_CLIENTS, &v))
                goto bad_value;
            clients = (unsigned)v;
            break;
        case 'S':
            shared = true;
            break;
        case 'l':
            for (size_t i = 0; i < NTESTS; i++)
                printf("%s\n", tests[i].name);
            return EXIT_OK;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (mark_cmd && clients > 1) {
        fprintf(stderr, "fsbench: -x takes one client: not with -j %u\n",
                clients);
        return EXIT_USAGE;
    }
    if (shared)
        params.sharing = clients;
    bench_dir = argv[optind];
    if (!check_dir())
        return EXIT_USAGE;

    /* Line by line, so that a long run shows its progress. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("fsbench v%d dir=%s files=%u iterations=%u filesize=%llu "
           "passes=%u", FSBENCH_FORMAT_VERSION, bench_dir, params.files,
           iterations, (unsigned long long)params.file_size, params.passes);
    if (clients > 1)
        printf(" clients=%u shared=%d", clients, shared);
    printf("\n");
    for (size_t i = 0; i < NTESTS && status == EXIT_OK; i++) {
        if (!any_selected || selected[i])
            status = run_test(&tests[i], &params, iterations, clients);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "fsbench: cannot write the results: %s\n",
                strerror(errno));
        if (status == EXIT_OK)
            status = EXIT_TEST_FAILED;
    }
    return status;

bad_value:
    fprintf(stderr, "fsbench: -%c %s: not a valid value (see fsbench -h)\n",
            opt, optarg);
    return EXIT_USAGE;
}
