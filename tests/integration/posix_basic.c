/*
 * posix_basic.c - POSIX behaviour of a memfs mount, one case per rule.
 *
 * Every expectation here was checked against tmpfs (FSP_TEST_DIR mode on
 * Linux 6.18). Where a FUSE file system must do by itself what tmpfs gets
 * from the kernel, the case says so in a "FUSE:" comment: a failure there
 * means memfs (or the fsp volume layer) is wrong, not the test.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif
#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define NOBODY 65534

static int rename2(const char *a, const char *b, unsigned flags)
{
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void make_file(const char *path, const char *content)
{
    if (!h_write_file(path, content, strlen(content), 0644)) {
        ADD_FAILURE("cannot create %s: %s", path, expect_errname(errno));
        expect_abort_case();
    }
}

/* The file holds exactly len bytes equal to data. */
#define EXPECT_CONTENT(path, data, len) expect_content(__FILE__, __LINE__, path, data, len)
static void expect_content(const char *file, int line, const char *path, const void *data,
                           size_t len)
{
    char *buf = malloc(len + 16);
    ssize_t n = h_read_file(path, buf, len + 16);
    if (n < 0)
        expect_fail(file, line, "read %s: errno=%s", path, expect_errname(errno));
    else if ((size_t)n != len)
        expect_fail(file, line, "%s holds %zd bytes, expected %zu", path, n, len);
    else if (memcmp(buf, data, len) != 0)
        expect_fail(file, line, "%s: content differs at offset %zu", path, expect_memdiff(buf, data, len));
    free(buf);
}

static bool all_zero(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* files: create, read, write                                          */

static void create_write_read_close_roundtrip(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR | O_EXCL, 0644));
    EXPECT_EQ(write(fd, "hello, world", 12), 12);
    EXPECT_OK(close(fd));
    char buf[64] = { 0 };
    fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_EQ(read(fd, buf, sizeof buf), 12);
    EXPECT_MEMEQ(buf, "hello, world", 12);
    EXPECT_EQ(read(fd, buf, sizeof buf), 0);
    EXPECT_OK(close(fd));
    /* O_CREAT without O_EXCL opens the existing file and keeps its data */
    fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0600));
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(p, "hello, world", 12);
}

static void open_excl_on_existing_fails_with_eexist(void)
{
    make_file(h_path("f"), "x");
    EXPECT_ERRNO(open(h_path("f"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_ERRNO(open(h_path("d"), O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST);
    EXPECT_CONTENT(h_path("f"), "x", 1);
}

static void open_trunc_empties_file(void)
{
    const char *p = h_path("f");
    make_file(p, "0123456789");
    int fd = ASSERT_OK(open(p, O_WRONLY | O_TRUNC));
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 0);
    EXPECT_EQ(write(fd, "ab", 2), 2);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(p, "ab", 2);
    /* O_CREAT|O_TRUNC on an existing file */
    fd = ASSERT_OK(open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644));
    EXPECT_OK(close(fd));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_size, 0);
}

static void open_append_writes_at_end(void)
{
    const char *p = h_path("f");
    make_file(p, "abc");
    int fd = ASSERT_OK(open(p, O_WRONLY | O_APPEND));
    EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
    EXPECT_EQ(write(fd, "def", 3), 3);
    EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 6);
    /* another writer extends the file: the append still goes at the end */
    int fd2 = ASSERT_OK(open(p, O_WRONLY));
    EXPECT_EQ(pwrite(fd2, "XYZ", 3, 6), 3);
    EXPECT_OK(close(fd2));
    EXPECT_EQ(write(fd, "ghi", 3), 3);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(p, "abcdefXYZghi", 12);
}

static void lseek_end_set_cur(void)
{
    const char *p = h_path("f");
    char data[1000];
    for (int i = 0; i < 1000; i++)
        data[i] = (char)('a' + i % 26);
    ASSERT_TRUE(h_write_file(p, data, sizeof data, 0644));
    int fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_EQ(lseek(fd, 0, SEEK_END), 1000);
    EXPECT_EQ(lseek(fd, -10, SEEK_END), 990);
    char buf[20];
    EXPECT_EQ(read(fd, buf, sizeof buf), 10);
    EXPECT_MEMEQ(buf, data + 990, 10);
    EXPECT_EQ(lseek(fd, 100, SEEK_SET), 100);
    EXPECT_EQ(lseek(fd, 5, SEEK_CUR), 105);
    EXPECT_EQ(read(fd, buf, 3), 3);
    EXPECT_MEMEQ(buf, data + 105, 3);
    EXPECT_EQ(lseek(fd, 5000, SEEK_SET), 5000);
    EXPECT_EQ(read(fd, buf, 3), 0);
    EXPECT_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
    EXPECT_OK(close(fd));
}

static void pread_pwrite_at_offsets(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    char x[100];
    memset(x, 'X', sizeof x);
    EXPECT_EQ(pwrite(fd, x, sizeof x, 4096), 100);
    EXPECT_EQ(pwrite(fd, "abc", 3, 10), 3);
    EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0); /* pread/pwrite leave the offset */
    char buf[200];
    EXPECT_EQ(pread(fd, buf, 3, 10), 3);
    EXPECT_MEMEQ(buf, "abc", 3);
    EXPECT_EQ(pread(fd, buf, 200, 4096), 100);
    EXPECT_MEMEQ(buf, x, 100);
    EXPECT_EQ(pread(fd, buf, 13, 0), 13);
    EXPECT_TRUE(all_zero(buf, 10));
    EXPECT_EQ(pread(fd, buf, 10, 4196), 0);
    /* overwrite in the middle, across a page boundary */
    EXPECT_EQ(pwrite(fd, "0123456789", 10, 4090), 10);
    EXPECT_EQ(pread(fd, buf, 20, 4088), 20);
    EXPECT_MEMEQ(buf, "\0\0" "0123456789XXXXXXXX", 20);
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 4196);
    EXPECT_OK(close(fd));
}

static void sparse_write_beyond_eof_reads_zeros(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    EXPECT_EQ(pwrite(fd, "head", 4, 0), 4);
    const off_t far = (1 << 20) + 3;
    EXPECT_EQ(pwrite(fd, "end", 3, far), 3);
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, far + 3);
    char *buf = malloc(far + 3);
    EXPECT_EQ(pread(fd, buf, far + 3, 0), far + 3);
    EXPECT_MEMEQ(buf, "head", 4);
    EXPECT_TRUE(all_zero(buf + 4, far - 4));
    EXPECT_MEMEQ(buf + far, "end", 3);
    free(buf);
    EXPECT_OK(close(fd));
    /* and the same after reopening (nothing only in the page cache) */
    char b2[8];
    fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_EQ(pread(fd, b2, 8, 512 * 1024), 8);
    EXPECT_TRUE(all_zero(b2, 8));
    EXPECT_OK(close(fd));
}

static void check_zero_range(int fd, off_t off, size_t len)
{
    char *b = malloc(len);
    EXPECT_EQ(pread(fd, b, len, off), (ssize_t)len);
    if (!all_zero(b, len))
        ADD_FAILURE("bytes %lld..%lld are not all zero", (long long)off, (long long)(off + len));
    free(b);
}

static void truncate_grows_with_zeros_and_shrinks(void)
{
    const char *p = h_path("f");
    char a[100];
    memset(a, 'a', sizeof a);
    ASSERT_TRUE(h_write_file(p, a, sizeof a, 0644));
    EXPECT_OK(truncate(p, 5000));
    struct stat st;
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_size, 5000);
    int fd = ASSERT_OK(open(p, O_RDONLY));
    check_zero_range(fd, 100, 4900);
    EXPECT_OK(close(fd));
    EXPECT_OK(truncate(p, 50));
    EXPECT_CONTENT(p, a, 50);
    /* grow again: the bytes cut off before must come back as zeros */
    EXPECT_OK(truncate(p, 200));
    fd = ASSERT_OK(open(p, O_RDONLY));
    check_zero_range(fd, 50, 150);
    EXPECT_OK(close(fd));
    EXPECT_OK(truncate(p, 0));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_size, 0);
    EXPECT_ERRNO(truncate(p, -1), EINVAL);
}

static void ftruncate_grows_and_shrinks(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    char a[8192];
    memset(a, 'q', sizeof a);
    EXPECT_EQ(write(fd, a, sizeof a), (ssize_t)sizeof a);
    EXPECT_OK(ftruncate(fd, 3000));
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 3000);
    EXPECT_OK(ftruncate(fd, 100000));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 100000);
    check_zero_range(fd, 3000, 97000);
    char b[3000];
    EXPECT_EQ(pread(fd, b, sizeof b, 0), 3000);
    EXPECT_MEMEQ(b, a, 3000);
    EXPECT_OK(close(fd));
    /* ftruncate needs a descriptor open for writing */
    fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_ERRNO2(ftruncate(fd, 10), EINVAL, EBADF);
    EXPECT_OK(close(fd));
}

/* FUSE: fallocate needs the file system's FALLOCATE operation; the kernel
 * answers EOPNOTSUPP for all of these if memfs does not implement it. */
static void fallocate_mode0_grows_size(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    EXPECT_EQ(write(fd, "abc", 3), 3);
    ASSERT_OK(fallocate(fd, 0, 0, 65536));
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 65536);
    char b[3];
    EXPECT_EQ(pread(fd, b, 3, 0), 3);
    EXPECT_MEMEQ(b, "abc", 3);
    check_zero_range(fd, 3, 65533);
    /* a range inside the file changes nothing */
    EXPECT_OK(fallocate(fd, 0, 100, 100));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 65536);
    EXPECT_OK(close(fd));
}

static void fallocate_keep_size_keeps_size(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    char a[100];
    memset(a, 'k', sizeof a);
    EXPECT_EQ(write(fd, a, sizeof a), 100);
    ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 100);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(p, a, 100);
}

static void fallocate_punch_hole_zeroes_range(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    static char a[65536];
    memset(a, 'x', sizeof a);
    EXPECT_EQ(write(fd, a, sizeof a), (ssize_t)sizeof a);
    ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
    EXPECT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 200)); /* unaligned */
    /* PUNCH_HOLE without KEEP_SIZE is invalid */
    EXPECT_ERRNO2(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EINVAL, EOPNOTSUPP);
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 65536);
    static char b[65536];
    EXPECT_EQ(pread(fd, b, sizeof b, 0), (ssize_t)sizeof b);
    memset(a + 4096, 0, 8192);
    memset(a + 100, 0, 200);
    EXPECT_MEMEQ(b, a, sizeof a);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(p, a, sizeof a);
}

static void large_write_read_4mib(void)
{
    const char *p = h_path("big");
    size_t n = 4u << 20;
    char *a = malloc(n), *b = malloc(n);
    uint64_t seed = 42;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = h_rand(&seed);
        memcpy(a + i, &r, 8);
    }
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR | O_TRUNC, 0644));
    EXPECT_EQ(write(fd, a, n), (ssize_t)n);
    EXPECT_EQ(pread(fd, b, n, 0), (ssize_t)n);
    EXPECT_MEMEQ(a, b, n);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(p, a, n);
    free(a);
    free(b);
}

/* FUSE: a shared writable mapping needs the page cache (no direct_io). */
static void mmap_shared_write_then_read(void)
{
    const char *p = h_path("m");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    ASSERT_OK(ftruncate(fd, 8192));
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_TRUE(m != MAP_FAILED);
    memcpy(m + 4000, "mapped data", 11);
    EXPECT_OK(msync(m, 8192, MS_SYNC));
    EXPECT_OK(munmap(m, 8192));
    EXPECT_OK(close(fd));
    char b[11];
    fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_EQ(pread(fd, b, 11, 4000), 11);
    EXPECT_MEMEQ(b, "mapped data", 11);
    /* a write(2) is seen through a new mapping */
    EXPECT_OK(close(fd));
    fd = ASSERT_OK(open(p, O_RDWR));
    EXPECT_EQ(pwrite(fd, "written", 7, 10), 7);
    m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_TRUE(m != MAP_FAILED);
    EXPECT_MEMEQ(m + 10, "written", 7);
    EXPECT_MEMEQ(m + 4000, "mapped data", 11);
    munmap(m, 8192);
    EXPECT_OK(close(fd));
}

static void fsync_and_fdatasync_succeed(void)
{
    int fd = ASSERT_OK(open(h_path("f"), O_CREAT | O_RDWR, 0644));
    EXPECT_EQ(write(fd, "x", 1), 1);
    EXPECT_OK(fsync(fd));
    EXPECT_OK(fdatasync(fd));
    EXPECT_OK(close(fd));
    int dfd = ASSERT_OK(open(h_root, O_RDONLY | O_DIRECTORY));
    EXPECT_OK(fsync(dfd));
    EXPECT_OK(close(dfd));
}

static void create_mode_respects_umask(void)
{
    umask(027);
    int fd = ASSERT_OK(open(h_path("f"), O_CREAT | O_WRONLY, 0777));
    EXPECT_OK(close(fd));
    EXPECT_OK(mkdir(h_path("d"), 0777));
    EXPECT_OK(mknod(h_path("p"), S_IFIFO | 0666, 0));
    struct stat st;
    EXPECT_OK(stat(h_path("f"), &st));
    EXPECT_EQ(st.st_mode & 07777, 0750);
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_EQ(st.st_mode & 07777, 0750);
    EXPECT_OK(stat(h_path("p"), &st));
    EXPECT_EQ(st.st_mode & 07777, 0640);
    umask(022);
}

/* ------------------------------------------------------------------ */
/* attributes                                                          */

static void stat_fields_after_create_and_write(void)
{
    const char *p = h_path("f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0640));
    char a[5000];
    memset(a, 's', sizeof a);
    EXPECT_EQ(write(fd, a, sizeof a), 5000);
    EXPECT_OK(fsync(fd));
    struct stat st, fst, rst;
    EXPECT_OK(stat(p, &st));
    EXPECT_OK(fstat(fd, &fst));
    EXPECT_OK(stat(h_root, &rst));
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0640);
    EXPECT_EQ(st.st_size, 5000);
    EXPECT_EQ(st.st_nlink, 1);
    EXPECT_EQ(st.st_uid, geteuid());
    EXPECT_EQ(st.st_gid, getegid());
    EXPECT_GT(st.st_blocks, 0);
    EXPECT_GE(st.st_blocks * 512, 5000);
    EXPECT_GT(st.st_blksize, 0);
    EXPECT_NE(st.st_ino, 0);
    EXPECT_NE(st.st_ino, rst.st_ino);
    EXPECT_EQ(st.st_dev, rst.st_dev);
    EXPECT_EQ(fst.st_ino, st.st_ino);
    EXPECT_EQ(fst.st_size, st.st_size);
    EXPECT_TRUE(S_ISDIR(rst.st_mode));
    /* times are recent */
    time_t now = time(NULL);
    EXPECT_LE(labs(st.st_mtime - now), 60);
    EXPECT_LE(labs(st.st_ctime - now), 60);
    EXPECT_OK(close(fd));
}

/* Linux convention (ext4, tmpfs): a directory's nlink is 2 + its
 * subdirectories. FUSE: the kernel shows the nlink memfs reports. */
static void dir_nlink_counts_subdirectories(void)
{
    struct stat st;
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_EQ(st.st_nlink, 2);
    EXPECT_OK(mkdir(h_path("d/a"), 0755));
    EXPECT_OK(mkdir(h_path("d/b"), 0755));
    make_file(h_path("d/file"), "x");
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_EQ(st.st_nlink, 4);
    EXPECT_OK(rmdir(h_path("d/a")));
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_EQ(st.st_nlink, 3);
    EXPECT_OK(mkdir(h_path("e"), 0755));
    EXPECT_OK(rename(h_path("d/b"), h_path("e/b")));
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_EQ(st.st_nlink, 2);
    EXPECT_OK(stat(h_path("e"), &st));
    EXPECT_EQ(st.st_nlink, 3);
}

/* FUSE: SETATTR carries nanoseconds; memfs must keep them. */
static void utimensat_sets_exact_nanoseconds(void)
{
    const char *p = h_path("f");
    make_file(p, "t");
    ASSERT_OK(mkdir(h_path("d"), 0755));
    struct timespec ts[2] = { { 1000000000, 123456789 }, { 1500000000, 987654321 } };
    EXPECT_OK(utimensat(AT_FDCWD, p, ts, 0));
    EXPECT_OK(utimensat(AT_FDCWD, h_path("d"), ts, 0));
    struct stat st;
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
    EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
    EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
    /* futimens, times before 1970 and 1 ns */
    int fd = ASSERT_OK(open(p, O_RDWR));
    struct timespec t2[2] = { { 2000000000, 1 }, { -86400, 999999999 } };
    EXPECT_OK(futimens(fd, t2));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_atim.tv_sec, 2000000000);
    EXPECT_EQ(st.st_atim.tv_nsec, 1);
    EXPECT_EQ(st.st_mtim.tv_sec, -86400);
    EXPECT_EQ(st.st_mtim.tv_nsec, 999999999);
    EXPECT_OK(close(fd));
    /* still there for a fresh lookup after reopen */
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_mtim.tv_nsec, 999999999);
}

static void utimensat_utime_now_and_omit(void)
{
    const char *p = h_path("f");
    make_file(p, "t");
    struct timespec old[2] = { { 1000000000, 111 }, { 1000000000, 222 } };
    ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
    struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
    EXPECT_OK(utimensat(AT_FDCWD, p, ts, 0));
    struct stat st;
    time_t now = time(NULL);
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
    EXPECT_EQ(st.st_atim.tv_nsec, 111);
    EXPECT_LE(labs(st.st_mtime - now), 5);
    struct timespec ts2[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
    ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
    EXPECT_OK(utimensat(AT_FDCWD, p, ts2, 0));
    EXPECT_OK(stat(p, &st));
    EXPECT_LE(labs(st.st_atime - now), 5);
    EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 222);
    /* NULL: both now */
    ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
    EXPECT_OK(utimensat(AT_FDCWD, p, NULL, 0));
    EXPECT_OK(stat(p, &st));
    EXPECT_LE(labs(st.st_atime - now), 5);
    EXPECT_LE(labs(st.st_mtime - now), 5);
    /* both OMIT: nothing changes */
    ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
    struct timespec ts3[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
    EXPECT_OK(utimensat(AT_FDCWD, p, ts3, 0));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_mtim.tv_nsec, 222);
    EXPECT_EQ(st.st_atim.tv_nsec, 111);
}

static void utimensat_nofollow_sets_symlink_times(void)
{
    make_file(h_path("f"), "t");
    ASSERT_OK(symlink("f", h_path("l")));
    struct timespec old[2] = { { 1000000000, 5 }, { 1000000000, 6 } };
    ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), old, 0));
    struct timespec ts[2] = { { 1200000000, 7 }, { 1300000000, 8 } };
    EXPECT_OK(utimensat(AT_FDCWD, h_path("l"), ts, AT_SYMLINK_NOFOLLOW));
    struct stat st;
    EXPECT_OK(lstat(h_path("l"), &st));
    EXPECT_EQ(st.st_mtim.tv_sec, 1300000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 8);
    EXPECT_OK(stat(h_path("f"), &st));
    EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 6);
}

static void write_updates_mtime_and_ctime(void)
{
    const char *p = h_path("f");
    make_file(p, "t");
    struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
    struct stat st0, st;
    EXPECT_OK(stat(p, &st0));
    h_sleep(0.02);
    int fd = ASSERT_OK(open(p, O_WRONLY));
    EXPECT_EQ(write(fd, "more", 4), 4);
    EXPECT_OK(close(fd));
    EXPECT_OK(stat(p, &st));
    time_t now = time(NULL);
    EXPECT_LE(labs(st.st_mtime - now), 5);
    EXPECT_TRUE(st.st_ctim.tv_sec > st0.st_ctim.tv_sec ||
                (st.st_ctim.tv_sec == st0.st_ctim.tv_sec && st.st_ctim.tv_nsec > st0.st_ctim.tv_nsec));
    /* truncate updates mtime too */
    ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
    EXPECT_OK(truncate(p, 1));
    EXPECT_OK(stat(p, &st));
    EXPECT_LE(labs(st.st_mtime - now), 5);
    /* chmod updates ctime only */
    ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
    EXPECT_OK(stat(p, &st0));
    h_sleep(0.02);
    EXPECT_OK(chmod(p, 0600));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_mtime, 1000000000);
    EXPECT_TRUE(st.st_ctim.tv_sec > st0.st_ctim.tv_sec ||
                (st.st_ctim.tv_sec == st0.st_ctim.tv_sec && st.st_ctim.tv_nsec > st0.st_ctim.tv_nsec));
    /* creating an entry updates the directory's mtime */
    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(utimensat(AT_FDCWD, h_path("d"), old, 0));
    make_file(h_path("d/new"), "");
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_LE(labs(st.st_mtime - now), 5);
}

static void chmod_changes_mode_bits(void)
{
    const char *p = h_path("f");
    make_file(p, "m");
    struct stat st;
    EXPECT_OK(chmod(p, 0600));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_mode & 07777, 0600);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_OK(chmod(p, 04755));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_mode & 07777, 04755);
    int fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_OK(fchmod(fd, 0));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_mode & 07777, 0);
    EXPECT_OK(close(fd));
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_OK(chmod(h_path("d"), 01700));
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_EQ(st.st_mode & 07777, 01700);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

static void chown_as_root_changes_owner(void)
{
    const char *p = h_path("f");
    make_file(p, "o");
    struct stat st;
    EXPECT_OK(chown(p, 1234, 5678));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_uid, 1234);
    EXPECT_EQ(st.st_gid, 5678);
    EXPECT_OK(chown(p, -1, 42));
    EXPECT_OK(stat(p, &st));
    EXPECT_EQ(st.st_uid, 1234);
    EXPECT_EQ(st.st_gid, 42);
    int fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_OK(fchown(fd, 7, -1));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_uid, 7);
    EXPECT_EQ(st.st_gid, 42);
    EXPECT_OK(close(fd));
    /* lchown changes the link, not its target */
    ASSERT_OK(symlink("f", h_path("l")));
    EXPECT_OK(lchown(h_path("l"), 99, 98));
    EXPECT_OK(lstat(h_path("l"), &st));
    EXPECT_EQ(st.st_uid, 99);
    EXPECT_EQ(st.st_gid, 98);
    EXPECT_OK(stat(h_path("l"), &st));
    EXPECT_EQ(st.st_uid, 7);
}

/* ------------------------------------------------------------------ */
/* directories and errors                                              */

static void mkdir_rmdir(void)
{
    const char *d = h_path("d");
    EXPECT_OK(mkdir(d, 0750));
    struct stat st;
    EXPECT_OK(stat(d, &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0750);
    EXPECT_OK(mkdir(h_path("d/e"), 0755));
    EXPECT_OK(rmdir(h_path("d/e")));
    EXPECT_OK(rmdir(d));
    EXPECT_ERRNO(stat(d, &st), ENOENT);
    EXPECT_ERRNO(rmdir(h_path(".")), EINVAL);
}

static void rmdir_nonempty_fails_with_enotempty(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    make_file(h_path("d/f"), "x");
    EXPECT_ERRNO(rmdir(h_path("d")), ENOTEMPTY);
    EXPECT_OK(unlink(h_path("d/f")));
    EXPECT_OK(mkdir(h_path("d/sub"), 0755));
    EXPECT_ERRNO(rmdir(h_path("d")), ENOTEMPTY);
    EXPECT_OK(rmdir(h_path("d/sub")));
    EXPECT_OK(rmdir(h_path("d")));
}

static void open_dir_for_writing_fails_with_eisdir(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_ERRNO(open(h_path("d"), O_WRONLY), EISDIR);
    EXPECT_ERRNO(open(h_path("d"), O_RDWR), EISDIR);
    EXPECT_ERRNO(open(h_path("d"), O_WRONLY | O_CREAT, 0644), EISDIR);
    int fd = ASSERT_OK(open(h_path("d"), O_RDONLY));
    char b[4];
    EXPECT_ERRNO(read(fd, b, sizeof b), EISDIR);
    EXPECT_OK(close(fd));
}

static void unlink_dir_fails_with_eisdir(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_ERRNO(unlink(h_path("d")), EISDIR);
    struct stat st;
    EXPECT_OK(stat(h_path("d"), &st));
}

static void path_through_file_fails_with_enotdir(void)
{
    make_file(h_path("f"), "x");
    struct stat st;
    EXPECT_ERRNO(open(h_path("f/x"), O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(open(h_path("f/x"), O_CREAT | O_WRONLY, 0644), ENOTDIR);
    EXPECT_ERRNO(mkdir(h_path("f/x"), 0755), ENOTDIR);
    EXPECT_ERRNO(stat(h_path("f/"), &st), ENOTDIR);
    EXPECT_ERRNO(open(h_path("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_TRUE(opendir(h_path("f")) == NULL && errno == ENOTDIR);
}

static void rmdir_file_fails_with_enotdir(void)
{
    make_file(h_path("f"), "x");
    EXPECT_ERRNO(rmdir(h_path("f")), ENOTDIR);
    EXPECT_CONTENT(h_path("f"), "x", 1);
}

static void missing_names_fail_with_enoent(void)
{
    struct stat st;
    char b[16];
    EXPECT_ERRNO(stat(h_path("nope"), &st), ENOENT);
    EXPECT_ERRNO(lstat(h_path("nope"), &st), ENOENT);
    EXPECT_ERRNO(open(h_path("nope"), O_RDONLY), ENOENT);
    EXPECT_ERRNO(unlink(h_path("nope")), ENOENT);
    EXPECT_ERRNO(rmdir(h_path("nope")), ENOENT);
    EXPECT_ERRNO(rename(h_path("nope"), h_path("other")), ENOENT);
    EXPECT_ERRNO(open(h_path("nodir/x"), O_CREAT | O_WRONLY, 0644), ENOENT);
    EXPECT_ERRNO(mkdir(h_path("nodir/x"), 0755), ENOENT);
    EXPECT_ERRNO(readlink(h_path("nope"), b, sizeof b), ENOENT);
    EXPECT_ERRNO(chmod(h_path("nope"), 0644), ENOENT);
    EXPECT_ERRNO(truncate(h_path("nope"), 0), ENOENT);
    EXPECT_ERRNO(link(h_path("nope"), h_path("new")), ENOENT);
    EXPECT_ERRNO(getxattr(h_path("nope"), "user.x", b, sizeof b), ENOENT);
    make_file(h_path("f"), "x");
    EXPECT_ERRNO(rename(h_path("f"), h_path("nodir/f")), ENOENT);
}

/* FUSE: the kernel only rejects names over 1024 bytes (FUSE_NAME_MAX);
 * memfs itself must refuse names over 255 (tmpfs: the VFS does it). */
static void name_of_256_bytes_fails_with_enametoolong(void)
{
    char n255[256], n256[257];
    memset(n255, 'a', 255);
    n255[255] = 0;
    memset(n256, 'b', 256);
    n256[256] = 0;
    struct stat st;
    int fd = EXPECT_OK(open(h_path("%s", n255), O_CREAT | O_WRONLY, 0644));
    if (fd >= 0)
        close(fd);
    EXPECT_OK(stat(h_path("%s", n255), &st));
    EXPECT_ERRNO(open(h_path("%s", n256), O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    EXPECT_ERRNO(mkdir(h_path("%s", n256), 0755), ENAMETOOLONG);
    EXPECT_ERRNO(stat(h_path("%s", n256), &st), ENAMETOOLONG);
    EXPECT_ERRNO(symlink("x", h_path("%s", n256)), ENAMETOOLONG);
    EXPECT_ERRNO(rename(h_path("%s", n255), h_path("%s", n256)), ENAMETOOLONG);
    EXPECT_ERRNO(link(h_path("%s", n255), h_path("%s", n256)), ENAMETOOLONG);
    EXPECT_OK(unlink(h_path("%s", n255)));
}

static void mkdir_existing_fails_with_eexist(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    make_file(h_path("f"), "x");
    EXPECT_ERRNO(mkdir(h_path("d"), 0755), EEXIST);
    EXPECT_ERRNO(mkdir(h_path("f"), 0755), EEXIST);
    EXPECT_ERRNO(symlink("x", h_path("f")), EEXIST);
    EXPECT_ERRNO(symlink("x", h_path("d")), EEXIST);
    EXPECT_ERRNO(link(h_path("f"), h_path("d")), EEXIST);
    EXPECT_ERRNO(mknod(h_path("f"), S_IFIFO | 0644, 0), EEXIST);
    EXPECT_CONTENT(h_path("f"), "x", 1);
}

static void link_to_directory_fails_with_eperm(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_ERRNO(link(h_path("d"), h_path("d2")), EPERM);
}

/* ------------------------------------------------------------------ */
/* readdir                                                             */

static void readdir_1000_entries_exactly_once_with_types(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    enum { NFILES = 998 };
    for (int i = 0; i < NFILES; i++) {
        int fd = ASSERT_OK(open(h_path("d/file%04d", i), O_CREAT | O_WRONLY, 0644));
        close(fd);
    }
    ASSERT_OK(mkdir(h_path("d/sub"), 0755));
    ASSERT_OK(symlink("file0000", h_path("d/lnk")));
    struct stat subst, dst;
    EXPECT_OK(stat(h_path("d/sub"), &subst));
    EXPECT_OK(stat(h_path("d"), &dst));

    for (int pass = 0; pass < 2; pass++) {
        static unsigned char seen[NFILES];
        memset(seen, 0, sizeof seen);
        int dot = 0, dotdot = 0, sub = 0, lnk = 0, other = 0, total = 0;
        DIR *dir = opendir(h_path("d"));
        ASSERT_TRUE(dir != NULL);
        struct dirent *e;
        errno = 0;
        while ((e = readdir(dir)) != NULL) {
            total++;
            int k;
            char tail;
            if (strcmp(e->d_name, ".") == 0) {
                dot++;
                EXPECT_EQ(e->d_type, DT_DIR);
                EXPECT_EQ(e->d_ino, dst.st_ino);
            } else if (strcmp(e->d_name, "..") == 0) {
                dotdot++;
                EXPECT_EQ(e->d_type, DT_DIR);
            } else if (strcmp(e->d_name, "sub") == 0) {
                sub++;
                EXPECT_EQ(e->d_type, DT_DIR);
                EXPECT_EQ(e->d_ino, subst.st_ino);
            } else if (strcmp(e->d_name, "lnk") == 0) {
                lnk++;
                EXPECT_EQ(e->d_type, DT_LNK);
            } else if (sscanf(e->d_name, "file%4d%c", &k, &tail) == 1 && k >= 0 && k < NFILES &&
                       strlen(e->d_name) == 8) {
                if (seen[k]++ == 1)
                    ADD_FAILURE("%s returned twice", e->d_name);
                if (e->d_type != DT_REG)
                    ADD_FAILURE("%s: d_type %d, expected DT_REG", e->d_name, e->d_type);
            } else {
                other++;
                ADD_FAILURE("unexpected entry \"%s\"", e->d_name);
            }
            errno = 0;
        }
        EXPECT_EQ(errno, 0);
        closedir(dir);
        EXPECT_EQ(dot, 1);
        EXPECT_EQ(dotdot, 1);
        EXPECT_EQ(sub, 1);
        EXPECT_EQ(lnk, 1);
        EXPECT_EQ(other, 0);
        EXPECT_EQ(total, NFILES + 4);
        int missing = 0;
        for (int i = 0; i < NFILES; i++)
            if (!seen[i] && missing++ < 3)
                ADD_FAILURE("file%04d not returned", i);
        EXPECT_EQ(missing, 0);
    }
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Entries unlinked while a listing is in progress may or may not show up
 * (POSIX), but every surviving entry shows up exactly once. FUSE: this
 * needs directory offsets that stay valid across unlinks. */
static void readdir_during_unlinks_returns_survivors_once(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    enum { N = 400 };
    for (int i = 0; i < N; i++) {
        int fd = ASSERT_OK(open(h_path("d/entry-%03d", i), O_CREAT | O_WRONLY, 0644));
        close(fd);
    }
    int dfd = ASSERT_OK(open(h_path("d"), O_RDONLY | O_DIRECTORY));
    static int seen[N];
    memset(seen, 0, sizeof seen);
    char buf[512]; /* small: many getdents calls */
    int calls = 0;
    bool unlinked = false;
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n < 0) {
            ADD_FAILURE("getdents64: errno=%s", expect_errname(errno));
            break;
        }
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *e = (void *)(buf + off);
            int k;
            if (sscanf(e->d_name, "entry-%3d", &k) == 1 && k >= 0 && k < N) {
                if (++seen[k] == 2)
                    ADD_FAILURE("entry-%03d returned twice", k);
            }
            off += e->d_reclen;
        }
        if (++calls == 3 && !unlinked) {
            /* remove every odd entry, seen or not, and add some new ones */
            for (int i = 1; i < N; i += 2)
                EXPECT_OK(unlink(h_path("d/entry-%03d", i)));
            for (int i = 0; i < 20; i++) {
                int fd = EXPECT_OK(open(h_path("d/new-%02d", i), O_CREAT | O_WRONLY, 0644));
                if (fd >= 0)
                    close(fd);
            }
            unlinked = true;
        }
    }
    EXPECT_OK(close(dfd));
    EXPECT_TRUE(unlinked);
    int missing = 0;
    for (int i = 0; i < N; i += 2)
        if (seen[i] != 1 && missing++ < 3)
            ADD_FAILURE("survivor entry-%03d returned %d times", i, seen[i]);
    EXPECT_EQ(missing, 0);
    /* a fresh listing shows exactly the survivors and the new entries */
    DIR *dir = opendir(h_path("d"));
    ASSERT_TRUE(dir != NULL);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            count++;
    closedir(dir);
    EXPECT_EQ(count, N / 2 + 20);
}

/* ------------------------------------------------------------------ */
/* symlinks and links                                                  */

static void symlink_readlink_keeps_target_as_written(void)
{
    make_file(h_path("f"), "target data");
    const char *targets[] = { "target/../x//y", "f", "./f", "../../../..", "with space", "é-utf8" };
    char b[4096];
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        const char *l = h_path("l%zu", i);
        const char *shown = targets[i];
        EXPECT_OK(symlink(targets[i], l));
        ssize_t n = readlink(l, b, sizeof b);
        EXPECT_EQ(n, (ssize_t)strlen(shown));
        if (n >= 0) {
            b[n] = 0;
            EXPECT_STREQ(b, shown);
        }
        struct stat st;
        EXPECT_OK(lstat(l, &st));
        EXPECT_TRUE(S_ISLNK(st.st_mode));
        EXPECT_EQ(st.st_size, (off_t)strlen(shown));
    }
    /* a long target */
    char longt[2001];
    for (int i = 0; i < 2000; i++)
        longt[i] = (i % 10 == 9) ? '/' : (char)('a' + i % 26);
    longt[2000] = 0;
    EXPECT_OK(symlink(longt, h_path("long")));
    ssize_t n = readlink(h_path("long"), b, sizeof b);
    EXPECT_EQ(n, 2000);
    EXPECT_MEMEQ(b, longt, 2000);
    /* a short buffer truncates without error */
    EXPECT_EQ(readlink(h_path("long"), b, 10), 10);
    EXPECT_MEMEQ(b, longt, 10);
    /* following: relative and absolute */
    struct stat st, fst;
    EXPECT_OK(stat(h_path("f"), &fst));
    EXPECT_OK(stat(h_path("l1"), &st));
    EXPECT_EQ(st.st_ino, fst.st_ino);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_CONTENT(h_path("l2"), "target data", 11);
    EXPECT_OK(symlink(h_path("f"), h_path("abs")));
    EXPECT_CONTENT(h_path("abs"), "target data", 11);
    /* readlink of a non-link */
    EXPECT_ERRNO(readlink(h_path("f"), b, sizeof b), EINVAL);
    /* a symlink to a directory, used in the middle of a path */
    ASSERT_OK(mkdir(h_path("dir"), 0755));
    make_file(h_path("dir/inner"), "in");
    EXPECT_OK(symlink("dir", h_path("dl")));
    EXPECT_CONTENT(h_path("dl/inner"), "in", 2);
}

static void dangling_symlink_lstat_vs_stat(void)
{
    const char *l = h_path("l");
    ASSERT_OK(symlink("nowhere", l));
    struct stat st;
    EXPECT_OK(lstat(l, &st));
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_size, 7);
    EXPECT_ERRNO(stat(l, &st), ENOENT);
    EXPECT_ERRNO(open(l, O_RDONLY), ENOENT);
    EXPECT_ERRNO(open(l, O_RDONLY | O_NOFOLLOW), ELOOP);
    /* O_CREAT through a dangling link creates its target */
    int fd = EXPECT_OK(open(l, O_CREAT | O_WRONLY, 0644));
    if (fd >= 0) {
        EXPECT_EQ(write(fd, "now", 3), 3);
        close(fd);
    }
    EXPECT_CONTENT(h_path("nowhere"), "now", 3);
    EXPECT_OK(stat(l, &st));
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_ERRNO(open(l, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    /* unlinking the link leaves the target */
    EXPECT_OK(unlink(l));
    EXPECT_ERRNO(lstat(l, &st), ENOENT);
    EXPECT_OK(stat(h_path("nowhere"), &st));
    /* a loop */
    EXPECT_OK(symlink("loop2", h_path("loop1")));
    EXPECT_OK(symlink("loop1", h_path("loop2")));
    EXPECT_ERRNO(stat(h_path("loop1"), &st), ELOOP);
}

/* FUSE: st_ino is what memfs reports; both names must show the same one. */
static void hard_link_shares_inode_and_data(void)
{
    const char *a = h_path("a"), *b = h_path("b");
    make_file(a, "shared");
    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(link(a, b));
    EXPECT_OK(link(a, h_path("d/c")));
    struct stat sa, sb, sc;
    EXPECT_OK(stat(a, &sa));
    EXPECT_OK(stat(b, &sb));
    EXPECT_OK(stat(h_path("d/c"), &sc));
    EXPECT_EQ(sa.st_ino, sb.st_ino);
    EXPECT_EQ(sa.st_ino, sc.st_ino);
    EXPECT_EQ(sa.st_nlink, 3);
    EXPECT_EQ(sb.st_nlink, 3);
    /* data written through one name is read through the other */
    int fd = ASSERT_OK(open(b, O_WRONLY | O_APPEND));
    EXPECT_EQ(write(fd, " data", 5), 5);
    struct stat fst;
    EXPECT_OK(fstat(fd, &fst));
    EXPECT_EQ(fst.st_nlink, 3);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(a, "shared data", 11);
    EXPECT_CONTENT(h_path("d/c"), "shared data", 11);
    /* attributes are shared too */
    EXPECT_OK(chmod(a, 0600));
    EXPECT_OK(stat(b, &sb));
    EXPECT_EQ(sb.st_mode & 07777, 0600);
}

static void unlink_one_hard_link_keeps_other(void)
{
    const char *a = h_path("a"), *b = h_path("b");
    make_file(a, "keep me");
    ASSERT_OK(link(a, b));
    struct stat st;
    EXPECT_OK(unlink(a));
    EXPECT_ERRNO(stat(a, &st), ENOENT);
    EXPECT_OK(stat(b, &st));
    EXPECT_EQ(st.st_nlink, 1);
    EXPECT_CONTENT(b, "keep me", 7);
    /* and a new file under the old name is a different file */
    make_file(a, "new");
    struct stat sa;
    EXPECT_OK(stat(a, &sa));
    EXPECT_NE(sa.st_ino, st.st_ino);
    EXPECT_CONTENT(b, "keep me", 7);
}

static void mkfifo_creates_fifo(void)
{
    const char *p = h_path("fifo");
    ASSERT_OK(mkfifo(p, 0644));
    struct stat st;
    EXPECT_OK(stat(p, &st));
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0644);
    EXPECT_EQ(st.st_size, 0);
    /* the pipe itself lives in the kernel */
    int fd = EXPECT_OK(open(p, O_RDWR | O_NONBLOCK));
    if (fd >= 0) {
        char c = 0;
        EXPECT_EQ(write(fd, "z", 1), 1);
        EXPECT_EQ(read(fd, &c, 1), 1);
        EXPECT_EQ(c, 'z');
        close(fd);
    }
}

static void mknod_char_device_keeps_rdev(void)
{
    struct stat st;
    ASSERT_OK(mknod(h_path("chr"), S_IFCHR | 0600, makedev(1, 3)));
    EXPECT_OK(stat(h_path("chr"), &st));
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    EXPECT_EQ(st.st_mode & 07777, 0600);
    EXPECT_OK(mknod(h_path("blk"), S_IFBLK | 0640, makedev(259, 70000)));
    EXPECT_OK(stat(h_path("blk"), &st));
    EXPECT_TRUE(S_ISBLK(st.st_mode));
    EXPECT_EQ(major(st.st_rdev), 259);
    EXPECT_EQ(minor(st.st_rdev), 70000);
    EXPECT_OK(mknod(h_path("sock"), S_IFSOCK | 0644, 0));
    EXPECT_OK(stat(h_path("sock"), &st));
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_OK(mknod(h_path("reg"), S_IFREG | 0644, 0));
    EXPECT_OK(stat(h_path("reg"), &st));
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_size, 0);
}

/* ------------------------------------------------------------------ */
/* rename                                                              */

static void rename_file_over_file(void)
{
    make_file(h_path("a"), "AAA");
    make_file(h_path("b"), "B");
    struct stat sa, st;
    EXPECT_OK(stat(h_path("a"), &sa));
    EXPECT_OK(rename(h_path("a"), h_path("b")));
    EXPECT_ERRNO(stat(h_path("a"), &st), ENOENT);
    EXPECT_OK(stat(h_path("b"), &st));
    EXPECT_EQ(st.st_ino, sa.st_ino);
    EXPECT_CONTENT(h_path("b"), "AAA", 3);
    /* renaming to itself does nothing */
    EXPECT_OK(rename(h_path("b"), h_path("b")));
    EXPECT_CONTENT(h_path("b"), "AAA", 3);
}

static void rename_file_into_other_dir(void)
{
    ASSERT_OK(mkdir(h_path("d1"), 0755));
    ASSERT_OK(mkdir(h_path("d2"), 0755));
    make_file(h_path("d1/f"), "moved");
    struct stat s0, st;
    EXPECT_OK(stat(h_path("d1/f"), &s0));
    EXPECT_OK(rename(h_path("d1/f"), h_path("d2/g")));
    EXPECT_ERRNO(stat(h_path("d1/f"), &st), ENOENT);
    EXPECT_OK(stat(h_path("d2/g"), &st));
    EXPECT_EQ(st.st_ino, s0.st_ino);
    EXPECT_CONTENT(h_path("d2/g"), "moved", 5);
    /* over an existing file in the other dir */
    make_file(h_path("d1/h"), "second");
    EXPECT_OK(rename(h_path("d1/h"), h_path("d2/g")));
    EXPECT_CONTENT(h_path("d2/g"), "second", 6);
    DIR *d = opendir(h_path("d1"));
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    EXPECT_EQ(n, 0);
}

static void rename_dir_to_new_name(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(mkdir(h_path("d/sub"), 0755));
    make_file(h_path("d/sub/f"), "deep");
    struct stat s0, st;
    EXPECT_OK(stat(h_path("d"), &s0));
    EXPECT_OK(rename(h_path("d"), h_path("e")));
    EXPECT_ERRNO(stat(h_path("d"), &st), ENOENT);
    EXPECT_OK(stat(h_path("e"), &st));
    EXPECT_EQ(st.st_ino, s0.st_ino);
    EXPECT_CONTENT(h_path("e/sub/f"), "deep", 4);
    /* into another directory: ".." follows */
    ASSERT_OK(mkdir(h_path("p"), 0755));
    EXPECT_OK(rename(h_path("e"), h_path("p/q")));
    struct stat sp, sdd;
    EXPECT_OK(stat(h_path("p"), &sp));
    EXPECT_OK(stat(h_path("p/q/.."), &sdd));
    EXPECT_EQ(sdd.st_ino, sp.st_ino);
    EXPECT_CONTENT(h_path("p/q/sub/f"), "deep", 4);
    /* a new entry with the old name is independent */
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_ERRNO(stat(h_path("d/sub"), &st), ENOENT);
}

static void rename_dir_over_empty_dir(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    make_file(h_path("d/f"), "content");
    ASSERT_OK(mkdir(h_path("e"), 0755));
    struct stat s0, st;
    EXPECT_OK(stat(h_path("d"), &s0));
    EXPECT_OK(rename(h_path("d"), h_path("e")));
    EXPECT_ERRNO(stat(h_path("d"), &st), ENOENT);
    EXPECT_OK(stat(h_path("e"), &st));
    EXPECT_EQ(st.st_ino, s0.st_ino);
    EXPECT_CONTENT(h_path("e/f"), "content", 7);
}

static void rename_dir_over_nonempty_dir_fails_with_enotempty(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(mkdir(h_path("e"), 0755));
    make_file(h_path("e/x"), "x");
    EXPECT_ERRNO(rename(h_path("d"), h_path("e")), ENOTEMPTY);
    EXPECT_CONTENT(h_path("e/x"), "x", 1);
    struct stat st;
    EXPECT_OK(stat(h_path("d"), &st));
}

static void rename_file_over_dir_fails_with_eisdir(void)
{
    make_file(h_path("f"), "x");
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_ERRNO(rename(h_path("f"), h_path("d")), EISDIR);
    struct stat st;
    EXPECT_OK(stat(h_path("d"), &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

static void rename_dir_over_file_fails_with_enotdir(void)
{
    make_file(h_path("f"), "x");
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_ERRNO(rename(h_path("d"), h_path("f")), ENOTDIR);
    EXPECT_CONTENT(h_path("f"), "x", 1);
}

static void rename_dir_into_own_subdir_fails_with_einval(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(mkdir(h_path("d/sub"), 0755));
    EXPECT_ERRNO(rename(h_path("d"), h_path("d/sub/x")), EINVAL);
    EXPECT_ERRNO(rename(h_path("d"), h_path("d/x")), EINVAL);
    struct stat st;
    EXPECT_OK(stat(h_path("d/sub"), &st));
}

static void rename_noreplace_fails_with_eexist(void)
{
    make_file(h_path("a"), "A");
    make_file(h_path("b"), "B");
    EXPECT_ERRNO(rename2(h_path("a"), h_path("b"), RENAME_NOREPLACE), EEXIST);
    EXPECT_CONTENT(h_path("a"), "A", 1);
    EXPECT_CONTENT(h_path("b"), "B", 1);
    EXPECT_OK(rename2(h_path("a"), h_path("c"), RENAME_NOREPLACE));
    EXPECT_CONTENT(h_path("c"), "A", 1);
    struct stat st;
    EXPECT_ERRNO(stat(h_path("a"), &st), ENOENT);
}

/* RENAME_WHITEOUT (what overlayfs does in its upper layer): the file
 * moves, and a character device 0:0 takes its old name. */
static void rename_whiteout_leaves_a_character_device_0_0(void)
{
    struct stat st;

    make_file(h_path("a"), "A");
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_OK(rename2(h_path("a"), h_path("b"), RENAME_WHITEOUT));
    EXPECT_CONTENT(h_path("b"), "A", 1);
    ASSERT_OK(lstat(h_path("a"), &st));
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, 0);
    EXPECT_EQ(st.st_nlink, 1);
    /* A directory may leave one too; an exchange may not. */
    EXPECT_OK(rename2(h_path("d"), h_path("e"), RENAME_WHITEOUT));
    ASSERT_OK(lstat(h_path("d"), &st));
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_OK(stat(h_path("e"), &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_ERRNO(rename2(h_path("b"), h_path("e"),
                         RENAME_WHITEOUT | RENAME_EXCHANGE), EINVAL);
}

/* FUSE: RENAME_EXCHANGE needs RENAME2 support in memfs. */
static void rename_exchange_swaps_file_and_dir(void)
{
    ASSERT_OK(mkdir(h_path("d1"), 0755));
    ASSERT_OK(mkdir(h_path("d2"), 0755));
    make_file(h_path("d1/f"), "file F");
    ASSERT_OK(mkdir(h_path("d2/g"), 0755));
    make_file(h_path("d2/g/child"), "child");
    struct stat sf, sg, st, sd1;
    EXPECT_OK(stat(h_path("d1/f"), &sf));
    EXPECT_OK(stat(h_path("d2/g"), &sg));
    EXPECT_OK(stat(h_path("d1"), &sd1));
    ASSERT_OK(rename2(h_path("d1/f"), h_path("d2/g"), RENAME_EXCHANGE));
    EXPECT_OK(stat(h_path("d1/f"), &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_ino, sg.st_ino);
    EXPECT_CONTENT(h_path("d1/f/child"), "child", 5);
    EXPECT_OK(stat(h_path("d2/g"), &st));
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_ino, sf.st_ino);
    EXPECT_CONTENT(h_path("d2/g"), "file F", 6);
    struct stat sdd;
    EXPECT_OK(stat(h_path("d1/f/.."), &sdd));
    EXPECT_EQ(sdd.st_ino, sd1.st_ino);
    /* exchange two files in one dir */
    make_file(h_path("d1/x"), "X");
    make_file(h_path("d1/y"), "YY");
    EXPECT_OK(rename2(h_path("d1/x"), h_path("d1/y"), RENAME_EXCHANGE));
    EXPECT_CONTENT(h_path("d1/x"), "YY", 2);
    EXPECT_CONTENT(h_path("d1/y"), "X", 1);
    /* with a missing target */
    EXPECT_ERRNO(rename2(h_path("d1/x"), h_path("d1/missing"), RENAME_EXCHANGE), ENOENT);
    EXPECT_ERRNO(rename2(h_path("d1/x"), h_path("d1/y"), RENAME_EXCHANGE | RENAME_NOREPLACE),
                 EINVAL);
}

static void rename_between_hard_links_of_one_file_is_noop(void)
{
    make_file(h_path("a"), "same");
    ASSERT_OK(link(h_path("a"), h_path("b")));
    EXPECT_OK(rename(h_path("a"), h_path("b")));
    struct stat st;
    EXPECT_OK(stat(h_path("a"), &st)); /* POSIX: both names remain */
    EXPECT_OK(stat(h_path("b"), &st));
    EXPECT_EQ(st.st_nlink, 2);
}

/* FUSE: memfs must keep an unlinked file alive until its last release and
 * report nlink 0 for it. */
static void unlinked_open_file_stays_usable(void)
{
    const char *p = h_path("f");
    make_file(p, "data");
    int fd = ASSERT_OK(open(p, O_RDWR));
    EXPECT_OK(unlink(p));
    struct stat st;
    EXPECT_ERRNO(stat(p, &st), ENOENT);
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_nlink, 0);
    EXPECT_EQ(pwrite(fd, "+more", 5, 4), 5);
    char b[16] = { 0 };
    EXPECT_EQ(pread(fd, b, sizeof b, 0), 9);
    EXPECT_MEMEQ(b, "data+more", 9);
    EXPECT_OK(ftruncate(fd, 2));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 2);
    EXPECT_OK(fchmod(fd, 0600));
    /* the name is free for a new file */
    make_file(p, "new");
    EXPECT_CONTENT(p, "new", 3);
    EXPECT_EQ(pread(fd, b, sizeof b, 0), 2);
    EXPECT_MEMEQ(b, "da", 2);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(p, "new", 3);
}

static void renamed_open_file_stays_usable(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    const char *p = h_path("d/f");
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR, 0644));
    EXPECT_EQ(write(fd, "one,", 4), 4);
    EXPECT_OK(rename(p, h_path("d/g")));
    EXPECT_EQ(write(fd, "two,", 4), 4);
    EXPECT_OK(rename(h_path("d"), h_path("e")));
    EXPECT_EQ(write(fd, "three", 5), 5);
    struct stat st;
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 13);
    EXPECT_EQ(st.st_nlink, 1);
    EXPECT_OK(close(fd));
    EXPECT_CONTENT(h_path("e/g"), "one,two,three", 13);
    EXPECT_ERRNO(stat(p, &st), ENOENT);
}

/* ------------------------------------------------------------------ */
/* volume                                                              */

static void statfs_fields_are_sane(void)
{
    struct statvfs sv;
    ASSERT_OK(statvfs(h_root, &sv));
    EXPECT_GT(sv.f_bsize, 0);
    EXPECT_GT(sv.f_frsize, 0);
    EXPECT_GT(sv.f_blocks, 0);
    EXPECT_LE(sv.f_bfree, sv.f_blocks);
    EXPECT_LE(sv.f_bavail, sv.f_bfree);
    EXPECT_GT(sv.f_files, 0);
    EXPECT_LE(sv.f_ffree, sv.f_files);
    EXPECT_EQ(sv.f_namemax, 255);
    struct statfs sf;
    EXPECT_OK(statfs(h_root, &sf));
    if (!h_dir_mode())
        EXPECT_EQ(sf.f_type, FUSE_SUPER_MAGIC);
    /* files use up space and inodes */
    unsigned long ffree = sv.f_ffree;
    for (int i = 0; i < 10; i++)
        make_file(h_path("f%d", i), "x");
    static char big[1 << 20];
    memset(big, 1, sizeof big);
    ASSERT_TRUE(h_write_file(h_path("big"), big, sizeof big, 0644));
    struct statvfs sv2;
    EXPECT_OK(statvfs(h_root, &sv2));
    EXPECT_LT(sv2.f_ffree, ffree);
    EXPECT_LT(sv2.f_bfree, sv.f_bfree);
    struct statvfs svf;
    EXPECT_OK(statvfs(h_path("f1"), &svf)); /* statfs of a file works */
    EXPECT_EQ(svf.f_blocks, sv2.f_blocks);
}

/* ------------------------------------------------------------------ */
/* extended attributes (FUSE: memfs implements them; EOPNOTSUPP = not) */

static bool list_has(const char *list, ssize_t len, const char *name)
{
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1)
        if (strcmp(list + i, name) == 0)
            return true;
    return false;
}

static void xattr_set_get_list_remove(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    char b[8192];
    ASSERT_OK(setxattr(p, "user.a", "1", 1, 0));
    EXPECT_OK(setxattr(p, "user.empty", "", 0, 0));
    unsigned char bin[64];
    for (int i = 0; i < 64; i++)
        bin[i] = (unsigned char)(i * 37); /* includes NUL bytes */
    EXPECT_OK(setxattr(p, "user.bin", bin, sizeof bin, 0));
    char big[3000];
    memset(big, 'v', sizeof big);
    EXPECT_OK(setxattr(p, "user.big", big, sizeof big, 0));
    EXPECT_EQ(getxattr(p, "user.a", b, sizeof b), 1);
    EXPECT_MEMEQ(b, "1", 1);
    EXPECT_EQ(getxattr(p, "user.empty", b, sizeof b), 0);
    EXPECT_EQ(getxattr(p, "user.bin", b, sizeof b), 64);
    EXPECT_MEMEQ(b, bin, 64);
    EXPECT_EQ(getxattr(p, "user.big", b, sizeof b), 3000);
    EXPECT_MEMEQ(b, big, 3000);
    /* overwrite with a shorter value */
    EXPECT_OK(setxattr(p, "user.a", "22", 2, 0));
    EXPECT_EQ(getxattr(p, "user.a", b, sizeof b), 2);
    EXPECT_MEMEQ(b, "22", 2);
    ssize_t n = listxattr(p, b, sizeof b);
    EXPECT_GT(n, 0);
    EXPECT_TRUE(list_has(b, n, "user.a"));
    EXPECT_TRUE(list_has(b, n, "user.empty"));
    EXPECT_TRUE(list_has(b, n, "user.bin"));
    EXPECT_TRUE(list_has(b, n, "user.big"));
    EXPECT_OK(removexattr(p, "user.a"));
    EXPECT_ERRNO(getxattr(p, "user.a", b, sizeof b), ENODATA);
    n = listxattr(p, b, sizeof b);
    EXPECT_FALSE(list_has(b, n, "user.a"));
    EXPECT_ERRNO(removexattr(p, "user.a"), ENODATA);
    /* through a descriptor, and on a directory */
    int fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_OK(fsetxattr(fd, "user.fd", "F", 1, 0));
    EXPECT_EQ(fgetxattr(fd, "user.fd", b, sizeof b), 1);
    EXPECT_OK(close(fd));
    ASSERT_OK(mkdir(h_path("d"), 0755));
    EXPECT_OK(setxattr(h_path("d"), "user.dir", "D", 1, 0));
    EXPECT_EQ(getxattr(h_path("d"), "user.dir", b, sizeof b), 1);
    /* attributes follow the file through a rename */
    EXPECT_OK(rename(p, h_path("g")));
    EXPECT_EQ(getxattr(h_path("g"), "user.bin", b, sizeof b), 64);
}

static void xattr_create_on_existing_fails_with_eexist(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    ASSERT_OK(setxattr(p, "user.k", "v1", 2, XATTR_CREATE));
    EXPECT_ERRNO(setxattr(p, "user.k", "v2", 2, XATTR_CREATE), EEXIST);
    char b[8];
    EXPECT_EQ(getxattr(p, "user.k", b, sizeof b), 2);
    EXPECT_MEMEQ(b, "v1", 2);
}

static void xattr_replace_on_missing_fails_with_enodata(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    EXPECT_ERRNO(setxattr(p, "user.k", "v", 1, XATTR_REPLACE), ENODATA);
    char b[8];
    EXPECT_ERRNO(getxattr(p, "user.k", b, sizeof b), ENODATA);
    ASSERT_OK(setxattr(p, "user.k", "v", 1, 0));
    EXPECT_OK(setxattr(p, "user.k", "w", 1, XATTR_REPLACE));
    EXPECT_EQ(getxattr(p, "user.k", b, sizeof b), 1);
    EXPECT_MEMEQ(b, "w", 1);
}

static void xattr_small_buffer_fails_with_erange(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    ASSERT_OK(setxattr(p, "user.long", "0123456789", 10, 0));
    ASSERT_OK(setxattr(p, "user.other", "o", 1, 0));
    char b[64];
    EXPECT_ERRNO(getxattr(p, "user.long", b, 5), ERANGE);
    EXPECT_EQ(getxattr(p, "user.long", NULL, 0), 10); /* size query */
    ssize_t need = listxattr(p, NULL, 0);
    EXPECT_GE(need, (ssize_t)(sizeof "user.long" + sizeof "user.other"));
    EXPECT_ERRNO(listxattr(p, b, 3), ERANGE);
    EXPECT_EQ(listxattr(p, b, sizeof b), need);
}

static void xattr_missing_fails_with_enodata(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    char b[8];
    EXPECT_ERRNO(getxattr(p, "user.missing", b, sizeof b), ENODATA);
    EXPECT_ERRNO(getxattr(p, "user.missing", NULL, 0), ENODATA);
    EXPECT_ERRNO(removexattr(p, "user.missing"), ENODATA);
    EXPECT_EQ(listxattr(p, b, sizeof b), 0);
}

static void xattr_getfattr_setfattr_commands_work(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    struct h_proc pr;
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/setfattr", "-n", "user.cmd", "-v", "hello", p, NULL), 0);
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/getfattr", "--only-values", "-n", "user.cmd", p, NULL), 0);
    EXPECT_STREQ(pr.out, "hello");
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/getfattr", "-d", p, NULL), 0);
    EXPECT_TRUE(strstr(pr.out, "user.cmd=\"hello\"") != NULL);
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/setfattr", "-x", "user.cmd", p, NULL), 0);
    EXPECT_NE(h_runl(&pr, 10, "/usr/bin/getfattr", "-n", "user.cmd", p, NULL), 0);
    EXPECT_TRUE(h_contains_ci(pr.err, "No such attribute"));
}

/* ------------------------------------------------------------------ */
/* permissions (default_permissions: the kernel checks; allow_other lets
 * uid 65534 in). Sticky and setgid: tmpfs gets them from the VFS/inode
 * code; FUSE: the sticky check is the VFS's too, but the setgid-directory
 * group and S_ISGID inheritance must be done by memfs. */

static void sticky_user_fn(void *arg)
{
    (void)arg;
    struct stat st;
    EXPECT_ERRNO(unlink(h_path("pub/rootfile")), EPERM);
    EXPECT_ERRNO(rename(h_path("pub/rootfile"), h_path("pub/stolen")), EPERM);
    EXPECT_ERRNO(rmdir(h_path("pub/rootdir")), EPERM);
    int fd = EXPECT_OK(open(h_path("pub/mine"), O_CREAT | O_WRONLY, 0644));
    if (fd >= 0)
        close(fd);
    EXPECT_OK(stat(h_path("pub/mine"), &st));
    EXPECT_EQ(st.st_uid, NOBODY);
    EXPECT_EQ(st.st_gid, NOBODY);
    EXPECT_OK(rename(h_path("pub/mine"), h_path("pub/mine2")));
    EXPECT_OK(unlink(h_path("pub/mine2")));
    fd = EXPECT_OK(open(h_path("pub/mine3"), O_CREAT | O_WRONLY, 0644));
    if (fd >= 0)
        close(fd);
}

static void sticky_dir_protects_other_users_files(void)
{
    h_make_traversable(h_root);
    ASSERT_OK(mkdir(h_path("pub"), 0777));
    ASSERT_OK(chmod(h_path("pub"), 01777));
    make_file(h_path("pub/rootfile"), "root's");
    EXPECT_OK(chmod(h_path("pub/rootfile"), 0666));
    ASSERT_OK(mkdir(h_path("pub/rootdir"), 0777));
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, sticky_user_fn, NULL), 0);
    EXPECT_CONTENT(h_path("pub/rootfile"), "root's", 6);
    /* root may remove anybody's file */
    EXPECT_OK(unlink(h_path("pub/mine3")));
}

static void setgid_dir_propagates_group(void)
{
    ASSERT_OK(mkdir(h_path("sg"), 0755));
    ASSERT_OK(chown(h_path("sg"), 0, 1234));
    ASSERT_OK(chmod(h_path("sg"), 02775));
    struct stat st;
    EXPECT_OK(stat(h_path("sg"), &st));
    EXPECT_EQ(st.st_mode & 07777, 02775);
    make_file(h_path("sg/f"), "x");
    EXPECT_OK(stat(h_path("sg/f"), &st));
    EXPECT_EQ(st.st_gid, 1234);
    EXPECT_EQ(st.st_uid, 0);
    EXPECT_FALSE(st.st_mode & S_ISGID);
    EXPECT_OK(mkdir(h_path("sg/sub"), 0755));
    EXPECT_OK(stat(h_path("sg/sub"), &st));
    EXPECT_EQ(st.st_gid, 1234);
    EXPECT_TRUE(st.st_mode & S_ISGID);
    EXPECT_OK(mknod(h_path("sg/fifo"), S_IFIFO | 0644, 0));
    EXPECT_OK(stat(h_path("sg/fifo"), &st));
    EXPECT_EQ(st.st_gid, 1234);
    make_file(h_path("sg/sub/g"), "y"); /* inherited two levels down */
    EXPECT_OK(stat(h_path("sg/sub/g"), &st));
    EXPECT_EQ(st.st_gid, 1234);
    /* without S_ISGID, the creator's group */
    ASSERT_OK(mkdir(h_path("plain"), 0755));
    ASSERT_OK(chown(h_path("plain"), 0, 1234));
    make_file(h_path("plain/f"), "x");
    EXPECT_OK(stat(h_path("plain/f"), &st));
    EXPECT_EQ(st.st_gid, 0);
}

static void perm_fixture(void)
{
    h_make_traversable(h_root);
    make_file(h_path("root600"), "secret");
    ASSERT_OK(chmod(h_path("root600"), 0600));
    make_file(h_path("root644"), "public");
    ASSERT_OK(chmod(h_path("root644"), 0644));
    make_file(h_path("root666"), "anyone");
    ASSERT_OK(chmod(h_path("root666"), 0666));
    ASSERT_OK(mkdir(h_path("rootdir"), 0755));
    ASSERT_OK(chmod(h_path("rootdir"), 0755));
    ASSERT_OK(mkdir(h_path("pub"), 0777));
    ASSERT_OK(chmod(h_path("pub"), 01777));
}

static void user_open_0600(void *a)
{
    (void)a;
    EXPECT_ERRNO(open(h_path("root600"), O_RDONLY), EACCES);
    /* control: a 0644 file can be read */
    int fd = EXPECT_OK(open(h_path("root644"), O_RDONLY));
    if (fd >= 0)
        close(fd);
}
static void ordinary_user_open_root_0600_fails_with_eacces(void)
{
    perm_fixture();
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, user_open_0600, NULL), 0);
}

static void user_write_0644(void *a)
{
    (void)a;
    EXPECT_ERRNO(open(h_path("root644"), O_WRONLY), EACCES);
    EXPECT_ERRNO(open(h_path("root644"), O_RDWR | O_APPEND), EACCES);
    EXPECT_ERRNO(truncate(h_path("root644"), 0), EACCES);
    EXPECT_ERRNO(setxattr(h_path("root644"), "user.x", "1", 1, 0), EACCES);
}
static void ordinary_user_write_root_0644_fails_with_eacces(void)
{
    perm_fixture();
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, user_write_0644, NULL), 0);
    EXPECT_CONTENT(h_path("root644"), "public", 6);
}

static void user_create_0755(void *a)
{
    (void)a;
    EXPECT_ERRNO(open(h_path("rootdir/new"), O_CREAT | O_WRONLY, 0644), EACCES);
    EXPECT_ERRNO(mkdir(h_path("rootdir/newdir"), 0755), EACCES);
    EXPECT_ERRNO(symlink("x", h_path("rootdir/newlink")), EACCES);
    EXPECT_ERRNO(rename(h_path("pub/own"), h_path("rootdir/own")), EACCES);
    struct stat st;
    EXPECT_OK(stat(h_path("rootdir"), &st)); /* looking is allowed */
}
static void ordinary_user_create_in_root_0755_dir_fails_with_eacces(void)
{
    perm_fixture();
    make_file(h_path("pub/own"), "o");
    ASSERT_OK(chown(h_path("pub/own"), NOBODY, NOBODY));
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, user_create_0755, NULL), 0);
    struct stat st;
    EXPECT_ERRNO(stat(h_path("rootdir/new"), &st), ENOENT);
}

static void user_chmod(void *a)
{
    (void)a;
    EXPECT_ERRNO(chmod(h_path("root666"), 0777), EPERM);
    EXPECT_ERRNO(chmod(h_path("rootdir"), 0777), EPERM);
}
static void ordinary_user_chmod_root_file_fails_with_eperm(void)
{
    perm_fixture();
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, user_chmod, NULL), 0);
    struct stat st;
    EXPECT_OK(stat(h_path("root666"), &st));
    EXPECT_EQ(st.st_mode & 07777, 0666);
}

static void user_chown(void *a)
{
    (void)a;
    int fd = EXPECT_OK(open(h_path("pub/mine"), O_CREAT | O_WRONLY, 0644));
    if (fd >= 0)
        close(fd);
    EXPECT_ERRNO(chown(h_path("pub/mine"), 1000, -1), EPERM);
    EXPECT_ERRNO(chown(h_path("pub/mine"), -1, 1000), EPERM); /* not a member of 1000 */
    EXPECT_ERRNO(chown(h_path("root666"), NOBODY, -1), EPERM);
    EXPECT_OK(chown(h_path("pub/mine"), NOBODY, NOBODY)); /* a no-op is allowed */
}
static void ordinary_user_chown_to_other_user_fails_with_eperm(void)
{
    perm_fixture();
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, user_chown, NULL), 0);
    struct stat st;
    EXPECT_OK(stat(h_path("pub/mine"), &st));
    EXPECT_EQ(st.st_uid, NOBODY);
}

static void user_utimens(void *a)
{
    (void)a;
    struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("root666"), ts, 0), EPERM);
    EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("root644"), ts, 0), EPERM);
    /* "now" only needs write permission */
    EXPECT_OK(utimensat(AT_FDCWD, h_path("root666"), NULL, 0));
    EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("root644"), NULL, 0), EACCES);
}
static void ordinary_user_utimensat_explicit_on_foreign_file_fails_with_eperm(void)
{
    perm_fixture();
    struct timespec old[2] = { { 1500000000, 0 }, { 1500000000, 0 } };
    ASSERT_OK(utimensat(AT_FDCWD, h_path("root644"), old, 0));
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, user_utimens, NULL), 0);
    struct stat st;
    EXPECT_OK(stat(h_path("root644"), &st));
    EXPECT_EQ(st.st_mtime, 1500000000);
}

/* ------------------------------------------------------------------ */
/* locks (FUSE: without POSIX_LOCKS the kernel keeps them locally; either
 * way two processes must conflict) */

static void fcntl_write_locks_conflict_between_processes(void)
{
    const char *p = h_path("lockf");
    make_file(p, "0123456789");
    int fd = ASSERT_OK(open(p, O_RDWR));
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5 };
    ASSERT_OK(fcntl(fd, F_SETLK, &fl));
    int pfd[2];
    ASSERT_OK(pipe(pfd));
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[1]);
        int cfd = open(p, O_RDWR);
        struct flock c = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 2 };
        EXPECT_ERRNO2(fcntl(cfd, F_SETLK, &c), EAGAIN, EACCES);
        struct flock g = c;
        EXPECT_OK(fcntl(cfd, F_GETLK, &g));
        EXPECT_EQ(g.l_type, F_WRLCK);
        struct flock other = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 5 };
        EXPECT_OK(fcntl(cfd, F_SETLK, &other)); /* a disjoint range is free */
        char x;
        if (read(pfd[0], &x, 1) != 1) /* wait for the parent's unlock */
            ADD_FAILURE("pipe");
        EXPECT_OK(fcntl(cfd, F_SETLK, &c));
        _exit(0);
    }
    close(pfd[0]);
    h_sleep(0.2);
    fl.l_type = F_UNLCK;
    EXPECT_OK(fcntl(fd, F_SETLK, &fl));
    EXPECT_EQ(write(pfd[1], "u", 1), 1);
    int st;
    EXPECT_EQ(h_waitpid_timeout(pid, &st, 10), pid);
    close(pfd[1]);
    EXPECT_OK(close(fd));
}

static const struct h_case cases[] = {
    H_CASE(create_write_read_close_roundtrip, NULL, 0),
    H_CASE(open_excl_on_existing_fails_with_eexist, NULL, 0),
    H_CASE(open_trunc_empties_file, NULL, 0),
    H_CASE(open_append_writes_at_end, NULL, 0),
    H_CASE(lseek_end_set_cur, NULL, 0),
    H_CASE(pread_pwrite_at_offsets, NULL, 0),
    H_CASE(sparse_write_beyond_eof_reads_zeros, NULL, 0),
    H_CASE(truncate_grows_with_zeros_and_shrinks, NULL, 0),
    H_CASE(ftruncate_grows_and_shrinks, NULL, 0),
    H_CASE(fallocate_mode0_grows_size, NULL, 0),
    H_CASE(fallocate_keep_size_keeps_size, NULL, 0),
    H_CASE(fallocate_punch_hole_zeroes_range, NULL, 0),
    H_CASE(large_write_read_4mib, NULL, 0),
    H_CASE(mmap_shared_write_then_read, NULL, 0),
    H_CASE(fsync_and_fdatasync_succeed, NULL, 0),
    H_CASE(create_mode_respects_umask, NULL, 0),
    H_CASE(stat_fields_after_create_and_write, NULL, 0),
    H_CASE(dir_nlink_counts_subdirectories, NULL, 0),
    H_CASE(utimensat_sets_exact_nanoseconds, NULL, 0),
    H_CASE(utimensat_utime_now_and_omit, NULL, 0),
    H_CASE(utimensat_nofollow_sets_symlink_times, NULL, 0),
    H_CASE(write_updates_mtime_and_ctime, NULL, 0),
    H_CASE(chmod_changes_mode_bits, NULL, 0),
    H_CASE(chown_as_root_changes_owner, NULL, 0),
    H_CASE(mkdir_rmdir, NULL, 0),
    H_CASE(rmdir_nonempty_fails_with_enotempty, NULL, 0),
    H_CASE(open_dir_for_writing_fails_with_eisdir, NULL, 0),
    H_CASE(unlink_dir_fails_with_eisdir, NULL, 0),
    H_CASE(path_through_file_fails_with_enotdir, NULL, 0),
    H_CASE(rmdir_file_fails_with_enotdir, NULL, 0),
    H_CASE(missing_names_fail_with_enoent, NULL, 0),
    H_CASE(name_of_256_bytes_fails_with_enametoolong, NULL, 0),
    H_CASE(mkdir_existing_fails_with_eexist, NULL, 0),
    H_CASE(link_to_directory_fails_with_eperm, NULL, 0),
    H_CASE(readdir_1000_entries_exactly_once_with_types, NULL, 0),
    H_CASE(readdir_during_unlinks_returns_survivors_once, NULL, 0),
    H_CASE(symlink_readlink_keeps_target_as_written, NULL, 0),
    H_CASE(dangling_symlink_lstat_vs_stat, NULL, 0),
    H_CASE(hard_link_shares_inode_and_data, NULL, 0),
    H_CASE(unlink_one_hard_link_keeps_other, NULL, 0),
    H_CASE(mkfifo_creates_fifo, NULL, 0),
    H_CASE(mknod_char_device_keeps_rdev, NULL, 0),
    H_CASE(rename_file_over_file, NULL, 0),
    H_CASE(rename_file_into_other_dir, NULL, 0),
    H_CASE(rename_dir_to_new_name, NULL, 0),
    H_CASE(rename_dir_over_empty_dir, NULL, 0),
    H_CASE(rename_dir_over_nonempty_dir_fails_with_enotempty, NULL, 0),
    H_CASE(rename_file_over_dir_fails_with_eisdir, NULL, 0),
    H_CASE(rename_dir_over_file_fails_with_enotdir, NULL, 0),
    H_CASE(rename_dir_into_own_subdir_fails_with_einval, NULL, 0),
    H_CASE(rename_noreplace_fails_with_eexist, NULL, 0),
    H_CASE(rename_exchange_swaps_file_and_dir, NULL, 0),
    H_CASE(rename_whiteout_leaves_a_character_device_0_0, NULL, 0),
    H_CASE(rename_between_hard_links_of_one_file_is_noop, NULL, 0),
    H_CASE(unlinked_open_file_stays_usable, NULL, 0),
    H_CASE(renamed_open_file_stays_usable, NULL, 0),
    H_CASE(statfs_fields_are_sane, NULL, 0),
    H_CASE(xattr_set_get_list_remove, NULL, 0),
    H_CASE(xattr_create_on_existing_fails_with_eexist, NULL, 0),
    H_CASE(xattr_replace_on_missing_fails_with_enodata, NULL, 0),
    H_CASE(xattr_small_buffer_fails_with_erange, NULL, 0),
    H_CASE(xattr_missing_fails_with_enodata, NULL, 0),
    H_CASE(xattr_getfattr_setfattr_commands_work, NULL, 0),
    H_CASE(sticky_dir_protects_other_users_files, "allow_other", 0),
    H_CASE(setgid_dir_propagates_group, NULL, 0),
    H_CASE(ordinary_user_open_root_0600_fails_with_eacces, "allow_other", 0),
    H_CASE(ordinary_user_write_root_0644_fails_with_eacces, "allow_other", 0),
    H_CASE(ordinary_user_create_in_root_0755_dir_fails_with_eacces, "allow_other", 0),
    H_CASE(ordinary_user_chmod_root_file_fails_with_eperm, "allow_other", 0),
    H_CASE(ordinary_user_chown_to_other_user_fails_with_eperm, "allow_other", 0),
    H_CASE(ordinary_user_utimensat_explicit_on_foreign_file_fails_with_eperm, "allow_other", 0),
    H_CASE(fcntl_write_locks_conflict_between_processes, NULL, 0),
};

int main(int argc, char **argv)
{
    return h_main("posix_basic", argc, argv, cases, sizeof cases / sizeof *cases);
}
