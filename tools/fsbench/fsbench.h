/*
 * fsbench.h - declarations shared by fsbench's source files.
 *
 *   fsbench.c     command line, the table of tests, the runner (a fresh
 *                 directory per run, iterations, median/min/max), output
 *   bench_file.c  the metadata tests: create, open, overwrite, stat,
 *                 listing, delete, mkdir, rmdir
 *   bench_io.c    the data tests: pread/pwrite through the page cache and
 *                 with O_DIRECT, mmap reads and writes
 *
 * fsbench measures any directory and does not link libfsp.
 */
#ifndef FSBENCH_H
#define FSBENCH_H

#include <stdint.h>
#include <time.h>

/* What the command line chose; the same for every test. */
struct fsb_params {
    unsigned files;        /* -n: files in the metadata tests */
    unsigned passes;       /* -r: passes of the list, rdwr and mmap tests */
    uint64_t file_size;    /* -s: the rdwr/mmap file, a multiple of 64 KiB */
    /* -j: the client's own prefix for every name it makes ("" alone, or
     * "cK." when -S has the clients share one directory), and how many
     * clients list that directory (1 unless shared). */
    const char *prefix;
    unsigned sharing;
};

/*
 * One run of one test. The runner fills params and dirfd (a fresh, empty
 * directory that it empties and removes afterwards, so a test may leave
 * its files behind). The test does its own setup, brackets the measured
 * part with fsb_clock_start() and fsb_clock_stop(), and sets ops.
 */
struct fsb_run {
    const struct fsb_params *params;
    int dirfd;
    uint64_t ops;          /* operations done between start and stop */
    double seconds;        /* set by fsb_clock_stop() */
    int skipped;           /* an errno: the file system refused a feature
                              the test needs (O_DIRECT: EINVAL); 0 = ran */
    struct timespec start;
    struct timespec stop;
    /* -j: fsb_clock_start() waits here until every client is ready:
     * it writes a byte to ready_fd and reads go_fd, which the runner
     * closes to start them all (-1: no other clients). */
    int ready_fd, go_fd;
    char data_name[32];    /* the rdwr/mmap file: PREFIX "data" */
};

/* A test: 0 (measured, or r->skipped set) or -errno. */
typedef int fsb_test_fn(struct fsb_run *r);

void fsb_clock_start(struct fsb_run *r);
void fsb_clock_stop(struct fsb_run *r);

/* Reports a failed system call, "fsbench: WHAT NAME: strerror(errno)" on
 * stderr, and returns -errno. @name may be NULL. */
int fsb_syserr(const char *what, const char *name);

/* bench_file.c */
fsb_test_fn fsb_file_create;
fsb_test_fn fsb_file_open;
fsb_test_fn fsb_file_overwrite;
fsb_test_fn fsb_file_attr;
fsb_test_fn fsb_file_list;
fsb_test_fn fsb_file_list_single;
fsb_test_fn fsb_file_list_none;
fsb_test_fn fsb_file_delete;
fsb_test_fn fsb_file_mkdir;
fsb_test_fn fsb_file_rmdir;

/* bench_io.c */
fsb_test_fn fsb_rdwr_cc_write_page;
fsb_test_fn fsb_rdwr_cc_read_page;
fsb_test_fn fsb_rdwr_cc_write_large;
fsb_test_fn fsb_rdwr_cc_read_large;
fsb_test_fn fsb_rdwr_nc_write_page;
fsb_test_fn fsb_rdwr_nc_read_page;
fsb_test_fn fsb_rdwr_nc_write_large;
fsb_test_fn fsb_rdwr_nc_read_large;
fsb_test_fn fsb_mmap_write;
fsb_test_fn fsb_mmap_read;

#endif /* FSBENCH_H */
