/*
 * bench_io.c - fsbench's data tests: WinFsp fsbench's rdwr_* and mmap_*
 * tests mapped to POSIX.
 *
 * Each test works on one file of -s bytes, written out and fsynced before
 * the clock starts. rdwr tests pread or pwrite it block by block from the
 * start to the end, -r times over (sequential, cycling); "cc" goes
 * through the page cache, "nc" opens the file with O_DIRECT and uses
 * buffers aligned to 4 KiB. mmap tests map the whole file -r times over,
 * touch one byte of every page, and for writes msync(MS_SYNC) before the
 * unmap; the mmap, msync and munmap calls are measured with the touches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsbench.h"

enum {
    PAGE_BLOCK = 4096,
    LARGE_BLOCK = 65536,
    /* O_DIRECT wants the buffer aligned to the logical block size; a page
     * is a multiple of every common one. */
    BUFFER_ALIGN = 4096,
};

/* pwrite all of @len or fail: -errno, or -EIO for a write that stopped
 * short without an error. */
static int write_all(int fd, const char *buf, size_t len, off_t off,
                     const char *data_name)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0)
            return fsb_syserr("write", data_name);
        if (n == 0) {
            fprintf(stderr, "fsbench: write %s: wrote nothing\n", data_name);
            return -EIO;
        }
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Setup: the data file, -s bytes of a pattern, on stable storage so that
 * the write-back of the setup is not measured by the test that follows. */
static int make_data_file(struct fsb_run *r)
{
    int err = 0;
    uint64_t size = r->params->file_size;
    char *buf = malloc(LARGE_BLOCK);
    int fd = -1;

    if (!buf) {
        err = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < LARGE_BLOCK; i++)
        buf[i] = (char)(i * 7 + 1);
    fd = openat(r->dirfd, r->data_name,
                O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
                0644);
    if (fd < 0) {
        err = fsb_syserr("create", r->data_name);
        goto out;
    }
    for (uint64_t off = 0; off < size; off += LARGE_BLOCK) {
        err = write_all(fd, buf, LARGE_BLOCK, (off_t)off, r->data_name);
        if (err)
            goto out;
    }
    if (fsync(fd) < 0) {
        err = fsb_syserr("fsync", r->data_name);
        goto out;
    }
out:
    if (fd >= 0 && close(fd) < 0 && !err)
        err = fsb_syserr("close", r->data_name);
    free(buf);
    return err;
}

/* The measured part of a rdwr test: -r passes of @block-sized preads or
 * pwrites over the file. @direct: an EINVAL from the open or the first
 * transfer means the file system refuses O_DIRECT; the test is skipped. */
static int rdwr(struct fsb_run *r, size_t block, bool write, bool direct)
{
    int err;
    int fd = -1;
    void *buf = NULL;
    uint64_t blocks = r->params->file_size / block;
    uint64_t count = blocks * r->params->passes;
    int flags = (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC |
                (direct ? O_DIRECT : 0);

    err = make_data_file(r);
    if (err)
        goto out;
    err = -posix_memalign(&buf, BUFFER_ALIGN, block);
    if (err)
        goto out;
    memset(buf, 0x5a, block);
    fd = openat(r->dirfd, r->data_name, flags);
    if (fd < 0) {
        if (direct && errno == EINVAL) {
            r->skipped = EINVAL;
            goto out;
        }
        err = fsb_syserr("open", r->data_name);
        goto out;
    }
    fsb_clock_start(r);
    for (uint64_t i = 0; i < count; i++) {
        off_t off = (off_t)((i % blocks) * block);
        ssize_t n = write ? pwrite(fd, buf, block, off)
                          : pread(fd, buf, block, off);
        if (n == (ssize_t)block)
            continue;
        if (n < 0 && direct && i == 0 && errno == EINVAL)
            r->skipped = EINVAL;
        else if (n < 0)
            err = fsb_syserr(write ? "write" : "read", r->data_name);
        else {
            fprintf(stderr, "fsbench: %s %s: %zd bytes of %zu at %lld\n",
                    write ? "write" : "read", r->data_name, n, block,
                    (long long)off);
            err = -EIO;
        }
        break;
    }
    fsb_clock_stop(r);
    r->ops = count;
out:
    /* A failed close after writes is a lost write (FUSE reports write-back
     * errors at the flush). */
    if (fd >= 0 && close(fd) < 0 && !err)
        err = fsb_syserr("close", r->data_name);
    free(buf);
    return err;
}

int fsb_rdwr_cc_write_page(struct fsb_run *r)
{
    return rdwr(r, PAGE_BLOCK, true, false);
}

int fsb_rdwr_cc_read_page(struct fsb_run *r)
{
    return rdwr(r, PAGE_BLOCK, false, false);
}

int fsb_rdwr_cc_write_large(struct fsb_run *r)
{
    return rdwr(r, LARGE_BLOCK, true, false);
}

int fsb_rdwr_cc_read_large(struct fsb_run *r)
{
    return rdwr(r, LARGE_BLOCK, false, false);
}

int fsb_rdwr_nc_write_page(struct fsb_run *r)
{
    return rdwr(r, PAGE_BLOCK, true, true);
}

int fsb_rdwr_nc_read_page(struct fsb_run *r)
{
    return rdwr(r, PAGE_BLOCK, false, true);
}

int fsb_rdwr_nc_write_large(struct fsb_run *r)
{
    return rdwr(r, LARGE_BLOCK, true, true);
}

int fsb_rdwr_nc_read_large(struct fsb_run *r)
{
    return rdwr(r, LARGE_BLOCK, false, true);
}

/* The measured part of an mmap test: -r times, map the file, touch every
 * page (a load, or a store and msync), unmap. A file system that cannot
 * map files (ENODEV from the first mmap) skips the test. */
static int map_touch(struct fsb_run *r, bool write)
{
    int err;
    int fd = -1;
    size_t size = (size_t)r->params->file_size;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t pages = size / page;
    int prot = write ? PROT_READ | PROT_WRITE : PROT_READ;

    err = make_data_file(r);
    if (err)
        goto out;
    fd = openat(r->dirfd, r->data_name,
                (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        err = fsb_syserr("open", r->data_name);
        goto out;
    }
    fsb_clock_start(r);
    for (unsigned p = 0; p < r->params->passes && !err; p++) {
        /* volatile: each load and store is a real access to the page. */
        volatile char *m = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            if (p == 0 && errno == ENODEV)
                r->skipped = ENODEV;
            else
                err = fsb_syserr("mmap", r->data_name);
            break;
        }
        for (uint64_t i = 0; i < pages; i++) {
            if (write)
                m[i * page] = (char)(p + 1);
            else
                (void)m[i * page];
        }
        if (write && msync((void *)m, size, MS_SYNC) < 0)
            err = fsb_syserr("msync", r->data_name);
        if (munmap((void *)m, size) < 0 && !err)
            err = fsb_syserr("munmap", r->data_name);
    }
    fsb_clock_stop(r);
    r->ops = pages * r->params->passes;
out:
    if (fd >= 0 && close(fd) < 0 && !err)
        err = fsb_syserr("close", r->data_name);
    return err;
}

int fsb_mmap_write(struct fsb_run *r)
{
    return map_touch(r, true);
}

int fsb_mmap_read(struct fsb_run *r)
{
    return map_touch(r, false);
}
