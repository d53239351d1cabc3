/*
 * floor_probe.c - what one request costs: bench/floor's client.
 *
 *   floor_probe [-n OPS] [-r ROUNDS] -t TEST[,TEST...] DIR
 *   floor_probe [-n OPS] [-r ROUNDS] -p    the pipe ping-pong
 *
 * In DIR, which holds a file f of at least 4 KiB, it times OPS calls of
 * each kind TEST, each of which the kernel turns into exactly one request
 * when the mount's timeouts are right for it (bench/floor's are):
 *   lookup_missing  fstatat() of a name that does not exist: one LOOKUP
 *                   (negative timeout 0; the directory's attributes
 *                   cached, or default_permissions asks for them too)
 *   getattr         fstat() of the open f: one GETATTR (file timeout 0)
 *   read_4k         pread() of 4 KiB at 0 from f opened O_DIRECT: one READ
 *                   (f's attributes cached, or the kernel asks for them
 *                   before the read)
 * and with -p:
 *   pipe_pingpong   a byte from one thread to another over a pipe and
 *                   back: the two context switches any round trip pays
 * It prints one line per test, "test=NAME ns_per_op=N" with N the median
 * over ROUNDS rounds (default 5) of OPS calls each (default 20000).
 *
 * Exit status: 0 every test ran; 1 a call failed (said on stderr); 2 a
 * usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { MAX_ROUNDS = 101, BLOCK = 4096 };

struct probe {
    int dirfd, fd, direct_fd;
    void *buf;
    int ping[2], pong[2];
};

typedef int op_fn(struct probe *p);

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int lookup_missing(struct probe *p)
{
    struct stat st;

    if (fstatat(p->dirfd, "floor-missing", &st, 0) == 0 || errno != ENOENT) {
        fprintf(stderr, "floor_probe: stat of a missing name did not say "
                        "ENOENT\n");
        return -1;
    }
    return 0;
}

static int getattr(struct probe *p)
{
    struct stat st;

    if (fstat(p->fd, &st) < 0) {
        perror("floor_probe: fstat f");
        return -1;
    }
    return 0;
}

static int read_4k(struct probe *p)
{
    if (pread(p->direct_fd, p->buf, BLOCK, 0) != BLOCK) {
        perror("floor_probe: pread f (O_DIRECT)");
        return -1;
    }
    return 0;
}

/* The other side of the ping-pong: echo every byte back, until EOF. */
static void *pong_thread(void *arg)
{
    struct probe *p = arg;
    char c;

    while (read(p->ping[0], &c, 1) == 1)
        if (write(p->pong[1], &c, 1) != 1)
            break;
    return NULL;
}

static int pipe_pingpong(struct probe *p)
{
    char c = 'x';

    if (write(p->ping[1], &c, 1) != 1 || read(p->pong[0], &c, 1) != 1) {
        perror("floor_probe: pipe");
        return -1;
    }
    return 0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Time @ops calls of @fn, @rounds times; print the median per call. */
static int measure(const char *name, op_fn *fn, struct probe *p,
                   unsigned ops, unsigned rounds)
{
    double ns[MAX_ROUNDS];

    for (unsigned i = 0; i < 100; i++)      /* warm up */
        if (fn(p) < 0)
            return -1;
    for (unsigned r = 0; r < rounds; r++) {
        double start = now_ns();

        for (unsigned i = 0; i < ops; i++)
            if (fn(p) < 0)
                return -1;
        ns[r] = (now_ns() - start) / ops;
    }
    qsort(ns, rounds, sizeof ns[0], compare_double);
    printf("test=%s ns_per_op=%.0f min_ns=%.0f max_ns=%.0f\n", name,
           ns[rounds / 2], ns[0], ns[rounds - 1]);
    return 0;
}

static const struct {
    const char *name;
    op_fn *fn;
} dir_tests[] = {
    { "lookup_missing", lookup_missing },
    { "getattr", getattr },
    { "read_4k", read_4k },
};

/* The tests of the comma-separated list @tests, in DIR. */
static int probe_dir(struct probe *p, const char *dir, char *tests,
                     unsigned ops, unsigned rounds)
{
    int err = -1;

    p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    p->fd = openat(p->dirfd, "f", O_RDONLY | O_CLOEXEC);
    p->direct_fd = openat(p->dirfd, "f", O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (p->dirfd < 0 || p->fd < 0 || p->direct_fd < 0) {
        fprintf(stderr, "floor_probe: cannot open %s and %s/f: %s\n", dir,
                dir, strerror(errno));
        goto out;
    }
    if (posix_memalign(&p->buf, BLOCK, BLOCK)) {
        fprintf(stderr, "floor_probe: out of memory\n");
        goto out;
    }
    err = 0;
    for (char *save = NULL, *t = strtok_r(tests, ",", &save); t && !err;
         t = strtok_r(NULL, ",", &save)) {
        size_t i = 0;

        while (i < sizeof dir_tests / sizeof *dir_tests &&
               strcmp(dir_tests[i].name, t))
            i++;
        if (i == sizeof dir_tests / sizeof *dir_tests) {
            fprintf(stderr, "floor_probe: no test %s\n", t);
            err = -1;
        } else {
            err = measure(t, dir_tests[i].fn, p, ops, rounds);
        }
    }
out:
    free(p->buf);
    if (p->direct_fd >= 0)
        close(p->direct_fd);
    if (p->fd >= 0)
        close(p->fd);
    if (p->dirfd >= 0)
        close(p->dirfd);
    return err;
}

static int probe_pipe(struct probe *p, unsigned ops, unsigned rounds)
{
    pthread_t t;
    int err;

    if (pipe2(p->ping, O_CLOEXEC) < 0 || pipe2(p->pong, O_CLOEXEC) < 0) {
        perror("floor_probe: pipe");
        return -1;
    }
    if (pthread_create(&t, NULL, pong_thread, p)) {
        fprintf(stderr, "floor_probe: cannot start a thread\n");
        return -1;
    }
    err = measure("pipe_pingpong", pipe_pingpong, p, ops, rounds);
    close(p->ping[1]);                  /* the thread ends at EOF */
    pthread_join(t, NULL);
    close(p->ping[0]);
    close(p->pong[0]);
    close(p->pong[1]);
    return err;
}

int main(int argc, char **argv)
{
    struct probe p = { .dirfd = -1, .fd = -1, .direct_fd = -1 };
    unsigned ops = 20000, rounds = 5;
    bool pipe_only = false;
    char *tests = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "n:r:t:ph")) != -1) {
        switch (opt) {
        case 'n':
            ops = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            rounds = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            tests = optarg;
            break;
        case 'p':
            pipe_only = true;
            break;
        case 'h':
            printf("usage: floor_probe [-n OPS] [-r ROUNDS] "
                   "(-t TEST[,TEST...] DIR | -p)\n");
            return 0;
        default:
            return 2;
        }
    }
    if (ops == 0 || rounds == 0 || rounds > MAX_ROUNDS ||
        (pipe_only ? optind != argc || tests
                   : optind != argc - 1 || !tests)) {
        fprintf(stderr, "usage: floor_probe [-n OPS] [-r ROUNDS(1-%d)] "
                        "(-t TEST[,TEST...] DIR | -p)\n", MAX_ROUNDS);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pipe_only)
        return probe_pipe(&p, ops, rounds) < 0 ? 1 : 0;
    return probe_dir(&p, argv[optind], tests, ops, rounds) < 0 ? 1 : 0;
}
