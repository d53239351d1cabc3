/*
 * file_ops.c - the file requests of protocol 7.45 beyond read and write,
 * on a real mount: lseek(SEEK_DATA/SEEK_HOLE) (LSEEK), copy_file_range(2)
 * (COPY_FILE_RANGE_64), open(O_TMPFILE) then linkat(2) (TMPFILE, LINK),
 * statx(2)'s birth time (STATX) and the fallocate(2) modes (FALLOCATE).
 *
 * Each case checks what the caller sees and, on a volume, that the request
 * reached the file system (fsptool stat's per-opcode counts) rather than
 * being answered by the kernel's fallbacks. The expectations were checked
 * against tmpfs and ext4 (FSP_TEST_DIR mode, Linux 6.18); the suite also
 * runs over ptfs (SOURCE on ext4) and with every callback completing later
 * (slowio_all).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

/* On a volume: the file system saw at least one @op request. */
#define EXPECT_REACHED(op) expect_reached(__FILE__, __LINE__, op)
static void expect_reached(const char *file, int line, const char *op)
{
    const struct h_mount *m = h_cur_mount();
    long long n;

    if (!m)
        return; /* FSP_TEST_DIR mode: no volume to ask */
    n = h_op_count(m, op);
    if (n <= 0)
        expect_fail(file, line, "no %s request reached the volume (count %lld)",
                    op, n);
}

/* A file of @size bytes whose only data is @len bytes of 'x' at @at. */
static int sparse_file(const char *path, off_t at, size_t len, off_t size)
{
    char *buf = malloc(len);
    int fd = ASSERT_OK(open(path, O_CREAT | O_TRUNC | O_RDWR, 0644));

    memset(buf, 'x', len);
    ASSERT_EQ(pwrite(fd, buf, len, at), (ssize_t)len);
    ASSERT_OK(ftruncate(fd, size));
    /* The data on its way to the volume before asking where it is. */
    ASSERT_OK(fsync(fd));
    free(buf);
    return fd;
}

/* ------------------------------------------------------------------ */
/* LSEEK                                                               */

static void seek_data_and_hole_follow_a_sparse_file(void)
{
    int fd = sparse_file(h_path("sparse"), MIB, 4096, 3 * MIB);

    EXPECT_EQ(lseek(fd, 0, SEEK_DATA), (off_t)MIB);
    EXPECT_EQ(lseek(fd, 0, SEEK_HOLE), 0);
    EXPECT_EQ(lseek(fd, MIB + 100, SEEK_DATA), (off_t)(MIB + 100));
    EXPECT_EQ(lseek(fd, MIB, SEEK_HOLE), (off_t)(MIB + 4096));
    /* No data after the run; the hole at the end is a hole. */
    EXPECT_ERRNO(lseek(fd, 2 * MIB, SEEK_DATA), ENXIO);
    EXPECT_EQ(lseek(fd, 2 * MIB, SEEK_HOLE), (off_t)(2 * MIB));
    /* At or beyond end of file: neither. */
    EXPECT_ERRNO(lseek(fd, 3 * MIB, SEEK_HOLE), ENXIO);
    EXPECT_ERRNO(lseek(fd, 4 * MIB, SEEK_DATA), ENXIO);
    /* The position moved to the answer. */
    EXPECT_EQ(lseek(fd, 0, SEEK_DATA), (off_t)MIB);
    EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)MIB);
    EXPECT_OK(close(fd));
    EXPECT_REACHED("LSEEK");
}

static void seek_hole_of_a_file_without_holes_is_its_end(void)
{
    int fd = sparse_file(h_path("full"), 0, 10000, 10000);

    EXPECT_EQ(lseek(fd, 0, SEEK_DATA), 0);
    EXPECT_EQ(lseek(fd, 5000, SEEK_HOLE), 10000);
    EXPECT_OK(close(fd));
}

/* ------------------------------------------------------------------ */
/* COPY_FILE_RANGE_64                                                  */

static void copy_file_range_copies_the_range_asked_for(void)
{
    size_t n = MIB;
    char *a = malloc(n), *b = malloc(n);
    uint64_t seed = 7;
    int in, out;
    loff_t off_in = 100, off_out = 4096;
    struct stat st;

    for (size_t i = 0; i < n; i++)
        a[i] = (char)h_rand(&seed);
    ASSERT_TRUE(h_write_file(h_path("src"), a, n, 0644));
    in = ASSERT_OK(open(h_path("src"), O_RDONLY));
    out = ASSERT_OK(open(h_path("dst"), O_CREAT | O_RDWR, 0644));
    EXPECT_EQ(copy_file_range(in, &off_in, out, &off_out, n - 200, 0),
              (ssize_t)(n - 200));
    EXPECT_EQ(off_in, (loff_t)(n - 100));
    EXPECT_EQ(off_out, (loff_t)(4096 + n - 200));
    EXPECT_OK(fstat(out, &st));
    EXPECT_EQ(st.st_size, (off_t)(4096 + n - 200));
    EXPECT_EQ(pread(out, b, n - 200, 4096), (ssize_t)(n - 200));
    EXPECT_MEMEQ(b, a + 100, n - 200);
    /* What comes before the destination offset is a hole: zeros. */
    EXPECT_EQ(pread(out, b, 4096, 0), 4096);
    for (int i = 0; i < 4096; i++)
        if (b[i] != 0) {
            ADD_FAILURE("byte %d before the copy is %d, not 0", i, b[i]);
            break;
        }
    EXPECT_OK(close(in));
    EXPECT_OK(close(out));
    EXPECT_REACHED("COPY_FILE_RANGE_64");
    free(a);
    free(b);
}

static void copy_file_range_stops_at_the_source_end(void)
{
    int in, out;
    loff_t off_in = 6000, off_out = 0;

    ASSERT_TRUE(h_write_file(h_path("src"), "0123456789", 10, 0644));
    ASSERT_TRUE(h_write_file(h_path("dst"), "abcdefghijklmnop", 16, 0644));
    in = ASSERT_OK(open(h_path("src"), O_RDONLY));
    out = ASSERT_OK(open(h_path("dst"), O_RDWR));
    /* From beyond the end: nothing. */
    EXPECT_EQ(copy_file_range(in, &off_in, out, &off_out, 100, 0), 0);
    /* A range that runs past the end: what there is. */
    off_in = 4;
    off_out = 2;
    EXPECT_EQ(copy_file_range(in, &off_in, out, &off_out, 100, 0), 6);
    EXPECT_OK(close(in));
    EXPECT_OK(close(out));
    char buf[32];
    EXPECT_EQ(h_read_file(h_path("dst"), buf, sizeof buf), 16);
    EXPECT_MEMEQ(buf, "ab456789ijklmnop", 16);
}

static void copy_file_range_within_one_file(void)
{
    int fd;
    loff_t from = 0, to = 8192;
    char buf[16];

    ASSERT_TRUE(h_write_file(h_path("f"), "first block", 11, 0644));
    fd = ASSERT_OK(open(h_path("f"), O_RDWR));
    EXPECT_EQ(copy_file_range(fd, &from, fd, &to, 11, 0), 11);
    EXPECT_EQ(pread(fd, buf, 11, 8192), 11);
    EXPECT_MEMEQ(buf, "first block", 11);
    EXPECT_OK(close(fd));
}

/* FUSE: memfs copies data page runs and leaves the source's holes as
 * holes; tmpfs and ext4 (under ptfs too) copy every byte, holes too. */
static void copy_file_range_of_a_sparse_file_stays_sparse(void)
{
    int in = sparse_file(h_path("sparse"), 8 * MIB, 4096, 16 * MIB), out;
    loff_t off_in = 0, off_out = 0;
    struct stat st;

    out = ASSERT_OK(open(h_path("copy"), O_CREAT | O_RDWR, 0644));
    EXPECT_EQ(copy_file_range(in, &off_in, out, &off_out, 16 * MIB, 0),
              (ssize_t)(16 * MIB));
    EXPECT_OK(fstat(out, &st));
    EXPECT_EQ(st.st_size, (off_t)(16 * MIB));
    EXPECT_LE(st.st_blocks, 64); /* 4 KiB of data, not 16 MiB */
    EXPECT_EQ(lseek(out, 0, SEEK_DATA), (off_t)(8 * MIB));
    EXPECT_OK(close(in));
    EXPECT_OK(close(out));
}

/* ------------------------------------------------------------------ */
/* TMPFILE                                                             */

static void tmpfile_is_unnamed_until_linkat_names_it(void)
{
    int fd = ASSERT_OK(open(h_root, O_TMPFILE | O_RDWR, 0640));
    char proc[64], buf[16];
    struct stat open_st, named_st;

    EXPECT_EQ(write(fd, "tmp data", 8), 8);
    EXPECT_OK(fstat(fd, &open_st));
    EXPECT_TRUE(S_ISREG(open_st.st_mode));
    EXPECT_EQ(open_st.st_mode & 07777, 0640u & ~(unsigned)0022);
    EXPECT_EQ(open_st.st_nlink, 0u);
    EXPECT_EQ(open_st.st_size, 8);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ASSERT_OK(linkat(AT_FDCWD, proc, AT_FDCWD, h_path("named"),
                     AT_SYMLINK_FOLLOW));
    EXPECT_OK(stat(h_path("named"), &named_st));
    EXPECT_EQ(named_st.st_ino, open_st.st_ino);
    EXPECT_EQ(named_st.st_nlink, 1u);
    EXPECT_OK(fstat(fd, &open_st));
    EXPECT_EQ(open_st.st_nlink, 1u);
    /* The open file and the name are one file. */
    EXPECT_EQ(pwrite(fd, "!", 1, 8), 1);
    EXPECT_OK(close(fd));
    EXPECT_EQ(h_read_file(h_path("named"), buf, sizeof buf), 9);
    EXPECT_MEMEQ(buf, "tmp data!", 9);
    EXPECT_REACHED("TMPFILE");
}

static void tmpfile_closed_unnamed_leaves_nothing(void)
{
    int fd = ASSERT_OK(open(h_root, O_TMPFILE | O_WRONLY, 0600));

    EXPECT_EQ(write(fd, "gone", 4), 4);
    EXPECT_OK(close(fd));
    EXPECT_ERRNO(access(h_path("gone"), F_OK), ENOENT);
    /* The runner's leak check then finds no node or handle left. */
}

static void tmpfile_with_o_excl_cannot_be_linked(void)
{
    int fd = ASSERT_OK(open(h_root, O_TMPFILE | O_EXCL | O_RDWR, 0600));
    char proc[64];

    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    EXPECT_ERRNO(linkat(AT_FDCWD, proc, AT_FDCWD, h_path("named"),
                        AT_SYMLINK_FOLLOW), ENOENT);
    EXPECT_OK(close(fd));
}

static void tmpfile_in_a_subdirectory_lands_there(void)
{
    char proc[64];
    int fd;

    ASSERT_OK(mkdir(h_path("d"), 0755));
    fd = ASSERT_OK(open(h_path("d"), O_TMPFILE | O_RDWR, 0644));
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ASSERT_OK(linkat(AT_FDCWD, proc, AT_FDCWD, h_path("d/f"),
                     AT_SYMLINK_FOLLOW));
    EXPECT_OK(close(fd));
    EXPECT_OK(access(h_path("d/f"), F_OK));
}

/* A default ACL in its xattr form: user::rwx user:1001:rwx group::r-x
 * mask::rwx other::--- (acl_ea.h: version 2, then tag, perm, id). */
static size_t sample_default_acl(unsigned char *buf)
{
    static const struct { uint16_t tag, perm; uint32_t id; } entries[] = {
        { 0x01, 7, UINT32_MAX }, { 0x02, 7, 1001 }, { 0x04, 5, UINT32_MAX },
        { 0x10, 7, UINT32_MAX }, { 0x20, 0, UINT32_MAX },
    };
    uint32_t version = 2;

    memcpy(buf, &version, 4);
    memcpy(buf + 4, entries, sizeof entries);
    return 4 + sizeof entries;
}

/* open(O_TMPFILE) in a directory with a default ACL gets what a create
 * there gets: the same access ACL and the same mode (on tmpfs and ext4
 * alike: 0660 from 0666, the ACL's group entry masked). */
static void tmpfile_inherits_the_default_acl_as_a_create_does(void)
{
    unsigned char acl[64], created[128], unnamed[128];
    ssize_t created_size, unnamed_size;
    char proc[64];
    struct stat a, b;
    int fd;

    ASSERT_OK(mkdir(h_path("acl"), 0755));
    if (setxattr(h_path("acl"), "system.posix_acl_default", acl,
                 sample_default_acl(acl), 0) != 0)
        h_skip("no POSIX ACLs here: %s", strerror(errno));
    fd = ASSERT_OK(open(h_path("acl/created"), O_CREAT | O_WRONLY, 0666));
    EXPECT_OK(close(fd));
    fd = ASSERT_OK(open(h_path("acl"), O_TMPFILE | O_WRONLY, 0666));
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ASSERT_OK(linkat(AT_FDCWD, proc, AT_FDCWD, h_path("acl/unnamed"),
                     AT_SYMLINK_FOLLOW));
    EXPECT_OK(close(fd));
    ASSERT_OK(stat(h_path("acl/created"), &a));
    ASSERT_OK(stat(h_path("acl/unnamed"), &b));
    EXPECT_EQ(a.st_mode & 07777, 0660);
    EXPECT_EQ(b.st_mode & 07777, a.st_mode & 07777);
    created_size = getxattr(h_path("acl/created"), "system.posix_acl_access",
                            created, sizeof created);
    unnamed_size = getxattr(h_path("acl/unnamed"), "system.posix_acl_access",
                            unnamed, sizeof unnamed);
    EXPECT_TRUE(created_size > 0);
    EXPECT_EQ(unnamed_size, created_size);
    if (created_size > 0 && unnamed_size == created_size)
        EXPECT_MEMEQ(unnamed, created, (size_t)created_size);
}

/* ------------------------------------------------------------------ */
/* STATX                                                               */

static void statx_btime_is_set_and_stable(void)
{
    struct timespec before, after;
    struct statx a, b;
    int fd;

    clock_gettime(CLOCK_REALTIME, &before);
    fd = ASSERT_OK(open(h_path("f"), O_CREAT | O_RDWR, 0644));
    clock_gettime(CLOCK_REALTIME, &after);
    ASSERT_OK(statx(AT_FDCWD, h_path("f"), 0, STATX_BASIC_STATS | STATX_BTIME,
                    &a));
    ASSERT_TRUE(a.stx_mask & STATX_BTIME);
    EXPECT_NE(a.stx_btime.tv_sec, 0);
    /* Within the creation, a second either side for coarse clocks. */
    EXPECT_GE(a.stx_btime.tv_sec, (int64_t)before.tv_sec - 1);
    EXPECT_LE(a.stx_btime.tv_sec, (int64_t)after.tv_sec + 1);
    /* Data, mode and times change; the birth time does not. */
    h_sleep(0.05);
    EXPECT_EQ(write(fd, "x", 1), 1);
    EXPECT_OK(fchmod(fd, 0600));
    EXPECT_OK(close(fd));
    ASSERT_OK(statx(AT_FDCWD, h_path("f"), AT_STATX_FORCE_SYNC,
                    STATX_BASIC_STATS | STATX_BTIME, &b));
    ASSERT_TRUE(b.stx_mask & STATX_BTIME);
    EXPECT_EQ(b.stx_btime.tv_sec, a.stx_btime.tv_sec);
    EXPECT_EQ(b.stx_btime.tv_nsec, a.stx_btime.tv_nsec);
    EXPECT_EQ(b.stx_size, 1u);
    EXPECT_EQ(b.stx_mode & 07777, 0600u);
    EXPECT_REACHED("STATX");
}

static void statx_of_an_open_file_matches_stat(void)
{
    struct statx sx;
    struct stat st;
    int fd;

    ASSERT_TRUE(h_write_file(h_path("f"), "12345", 5, 0640));
    fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
    ASSERT_OK(statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC,
                    STATX_BASIC_STATS | STATX_BTIME, &sx));
    ASSERT_OK(fstat(fd, &st));
    EXPECT_EQ(sx.stx_ino, (uint64_t)st.st_ino);
    EXPECT_EQ(sx.stx_size, 5u);
    EXPECT_EQ(sx.stx_mode, (uint16_t)st.st_mode);
    EXPECT_EQ(sx.stx_nlink, 1u);
    EXPECT_EQ(sx.stx_mtime.tv_sec, (int64_t)st.st_mtim.tv_sec);
    EXPECT_EQ(sx.stx_mtime.tv_nsec, (uint32_t)st.st_mtim.tv_nsec);
    EXPECT_TRUE(sx.stx_mask & STATX_BTIME);
    EXPECT_OK(close(fd));
}

/* ------------------------------------------------------------------ */
/* FALLOCATE                                                           */

/* tmpfs has no FALLOC_FL_ZERO_RANGE (ext4 has, and memfs): a plain
 * directory on tmpfs skips the zero-range cases. */
static void no_zero_range_skips(void)
{
    int fd, r;

    if (!h_dir_mode())
        return;
    fd = ASSERT_OK(open(h_path("probe"), O_CREAT | O_RDWR, 0644));
    r = fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 1);
    close(fd);
    unlink(h_path("probe"));
    if (r < 0 && errno == EOPNOTSUPP)
        h_skip("this directory's file system has no FALLOC_FL_ZERO_RANGE");
}

static void fallocate_zero_range_zeroes_and_grows(void)
{
    static char a[65536], b[65536 + 4096];
    int fd = ASSERT_OK(open(h_path("f"), O_CREAT | O_RDWR, 0644));
    struct stat st;

    memset(a, 'x', sizeof a);
    ASSERT_EQ(write(fd, a, sizeof a), (ssize_t)sizeof a);
    no_zero_range_skips();
    /* Inside the file, unaligned: zeros there, the rest intact. */
    ASSERT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 1000, 10000));
    /* Across the end: the file grows to the range's end. */
    ASSERT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 60000, 9632));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 69632);
    memset(a + 1000, 0, 10000);
    memset(a + 60000, 0, sizeof a - 60000);
    EXPECT_EQ(pread(fd, b, sizeof b, 0), 69632);
    EXPECT_MEMEQ(b, a, sizeof a);
    for (size_t i = sizeof a; i < 69632; i++)
        if (b[i] != 0) {
            ADD_FAILURE("byte %zu past the old end is %d, not 0", i, b[i]);
            break;
        }
    EXPECT_OK(close(fd));
    EXPECT_REACHED("FALLOCATE");
}

static void fallocate_zero_range_keep_size_keeps_size(void)
{
    static char a[16384], b[16384];
    int fd = ASSERT_OK(open(h_path("f"), O_CREAT | O_RDWR, 0644));
    struct stat st;

    memset(a, 'y', sizeof a);
    ASSERT_EQ(write(fd, a, sizeof a), (ssize_t)sizeof a);
    no_zero_range_skips();
    ASSERT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 8192,
                        MIB));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 16384);
    /* The space beyond the end is allocated all the same. */
    EXPECT_GE(st.st_blocks, (blkcnt_t)((MIB + 8192) / 512));
    memset(a + 8192, 0, sizeof a - 8192);
    EXPECT_EQ(pread(fd, b, sizeof b, 0), (ssize_t)sizeof b);
    EXPECT_MEMEQ(b, a, sizeof a);
    EXPECT_OK(close(fd));
}

static void fallocate_allocate_reserves_blocks_and_grows(void)
{
    int fd = ASSERT_OK(open(h_path("f"), O_CREAT | O_RDWR, 0644));
    struct stat st;
    char buf[4096];

    ASSERT_OK(fallocate(fd, 0, 4096, 2 * MIB));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, (off_t)(4096 + 2 * MIB));
    EXPECT_GE(st.st_blocks, (blkcnt_t)(2 * MIB / 512));
    EXPECT_EQ(pread(fd, buf, sizeof buf, MIB), (ssize_t)sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i]) {
            ADD_FAILURE("allocated byte %zu reads %d, not 0", i, buf[i]);
            break;
        }
    EXPECT_OK(close(fd));
}

static void fallocate_keep_size_allocates_beyond_the_end(void)
{
    int fd = ASSERT_OK(open(h_path("f"), O_CREAT | O_RDWR, 0644));
    struct stat st;

    ASSERT_EQ(write(fd, "abc", 3), 3);
    ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, MIB));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 3);
    EXPECT_GE(st.st_blocks, (blkcnt_t)(MIB / 512));
    EXPECT_OK(close(fd));
}

static void fallocate_punch_hole_makes_a_hole_seek_finds(void)
{
    int fd = sparse_file(h_path("f"), 0, 3 * 65536, 3 * 65536);
    struct stat before, after;

    EXPECT_OK(fstat(fd, &before));
    ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        65536, 65536));
    EXPECT_OK(fstat(fd, &after));
    EXPECT_EQ(after.st_size, 3 * 65536);
    EXPECT_LT(after.st_blocks, before.st_blocks);
    EXPECT_EQ(lseek(fd, 0, SEEK_HOLE), 65536);
    EXPECT_EQ(lseek(fd, 65536, SEEK_DATA), 2 * 65536);
    EXPECT_OK(close(fd));
}

static const struct h_case cases[] = {
    H_CASE(seek_data_and_hole_follow_a_sparse_file, NULL, 0),
    H_CASE(seek_hole_of_a_file_without_holes_is_its_end, NULL, 0),
    H_CASE(copy_file_range_copies_the_range_asked_for, NULL, 0),
    H_CASE(copy_file_range_stops_at_the_source_end, NULL, 0),
    H_CASE(copy_file_range_within_one_file, NULL, 0),
    H_CASE(copy_file_range_of_a_sparse_file_stays_sparse, NULL,
           H_MEMFS_ONLY | H_DAEMON),
    H_CASE(tmpfile_is_unnamed_until_linkat_names_it, NULL, 0),
    H_CASE(tmpfile_closed_unnamed_leaves_nothing, NULL, 0),
    H_CASE(tmpfile_with_o_excl_cannot_be_linked, NULL, 0),
    H_CASE(tmpfile_in_a_subdirectory_lands_there, NULL, 0),
    H_CASE(tmpfile_inherits_the_default_acl_as_a_create_does, NULL, 0),
    H_CASE(statx_btime_is_set_and_stable, NULL, 0),
    H_CASE(statx_of_an_open_file_matches_stat, NULL, 0),
    H_CASE(fallocate_zero_range_zeroes_and_grows, NULL, 0),
    H_CASE(fallocate_zero_range_keep_size_keeps_size, NULL, 0),
    H_CASE(fallocate_allocate_reserves_blocks_and_grows, NULL, 0),
    H_CASE(fallocate_keep_size_allocates_beyond_the_end, NULL, 0),
    H_CASE(fallocate_punch_hole_makes_a_hole_seek_finds, NULL, 0),
};

int main(int argc, char **argv)
{
    return h_main("file_ops", argc, argv, cases, sizeof cases / sizeof *cases);
}
