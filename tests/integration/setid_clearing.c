/*
 * setid_clearing.c - set-user-ID and set-group-ID bits go when a file is
 * changed by someone without CAP_FSETID, by every way of writing it, as
 * on ext4 and tmpfs: write(2), an O_DIRECT write, a store through a shared
 * mapping, fallocate (allocate, punch, zero), truncate; and by chown,
 * root's or the owner's. A write by root keeps them.
 *
 * A store through a shared mapping keeps them, as on ext4 and tmpfs
 * (the kernel's page_mkwrite updates times only).
 *
 * Every case starts from a file of nobody's, mode 06775 (set-group-ID with
 * group execute, so both bits are due to go), and acts as nobody; the
 * mounts let other users in (allow_other). Without group execute (06666)
 * set-group-ID marks mandatory locking and stays, unless the writer is
 * outside the file's group (Linux 6's setattr_should_drop_sgid()). Run in FSP_TEST_DIR mode on
 * tmpfs or ext4, the same cases say what those do (measured: the same,
 * but that tmpfs has no FALLOC_FL_ZERO_RANGE).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534
#define SETID_MODE 06775

static const char *target(void)
{
    return h_path("setid");
}

/* A page of data in a file of nobody's, group nobody's, mode @mode. */
static void prepare_mode(mode_t mode)
{
    static char page[4096];
    const char *path = target();

    if (geteuid() != 0)
        h_skip("needs root to give the file to nobody");
    h_make_traversable(h_root);
    memset(page, 'p', sizeof page);
    ASSERT_TRUE(h_write_file(path, page, sizeof page, 0644));
    ASSERT_OK(chown(path, NOBODY, NOBODY));
    ASSERT_OK(chmod(path, mode));
}

static void prepare(void)
{
    prepare_mode(SETID_MODE);
}

static mode_t setid_bits(void)
{
    struct stat st;

    if (stat(target(), &st) != 0) {
        ADD_FAILURE("stat %s: %s", target(), expect_errname(errno));
        return 0;
    }
    return st.st_mode & 07777;
}

static int open_target(int flags)
{
    int fd = open(target(), flags);

    if (fd < 0)
        ADD_FAILURE("open %s: %s", target(), expect_errname(errno));
    return fd;
}

/* ---- what nobody does (in a child process of that id) ---- */

static void write_buffered(void *arg)
{
    int fd = open_target(O_WRONLY);

    (void)arg;
    if (fd >= 0) {
        EXPECT_EQ(pwrite(fd, "x", 1, 0), 1);
        close(fd);
    }
}

static void write_direct(void *arg)
{
    static char page[4096] __attribute__((aligned(4096)));
    int fd = open_target(O_WRONLY | O_DIRECT);

    (void)arg;
    memset(page, 'd', sizeof page);
    if (fd >= 0) {
        EXPECT_EQ(pwrite(fd, page, sizeof page, 0), (ssize_t)sizeof page);
        close(fd);
    }
}

static void write_mapped(void *arg)
{
    int fd = open_target(O_RDWR);
    char *p;

    (void)arg;
    if (fd < 0)
        return;
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        ADD_FAILURE("mmap: %s", expect_errname(errno));
        close(fd);
        return;
    }
    p[0] = 'm';
    EXPECT_OK(msync(p, 4096, MS_SYNC));
    munmap(p, 4096);
    close(fd);
}

static void allocate(void *arg)
{
    int mode = *(int *)arg, fd = open_target(O_WRONLY);

    if (fd >= 0) {
        if (fallocate(fd, mode, 0, 8192) != 0)
            ADD_FAILURE("fallocate mode %#x: %s", mode, expect_errname(errno));
        close(fd);
    }
}

static void truncate_short(void *arg)
{
    int fd = open_target(O_WRONLY);

    (void)arg;
    if (fd >= 0) {
        EXPECT_OK(ftruncate(fd, 100));
        close(fd);
    }
}

static void chgrp_by_owner(void *arg)
{
    (void)arg;
    EXPECT_OK(chown(target(), (uid_t)-1, NOBODY));
}

/* ---- the cases ---- */

/* Prepares the file, has nobody @act on it, and returns the bits left. */
static mode_t as_nobody(void (*act)(void *), void *arg)
{
    prepare();
    EXPECT_EQ(h_as_user(NOBODY, NOBODY, act, arg), 0);
    return setid_bits();
}

static void as_nobody_clears(void (*act)(void *), void *arg)
{
    EXPECT_EQ(as_nobody(act, arg), SETID_MODE & 0777);
}

static void buffered_write_clears_setid(void)
{
    as_nobody_clears(write_buffered, NULL);
}

static void direct_write_clears_setid(void)
{
    as_nobody_clears(write_direct, NULL);
}

static void mapped_write_keeps_setid(void)
{
    EXPECT_EQ(as_nobody(write_mapped, NULL), SETID_MODE);
}

static void fallocate_clears_setid(void)
{
    int mode = 0;

    as_nobody_clears(allocate, &mode);
}

static void punch_hole_clears_setid(void)
{
    int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

    as_nobody_clears(allocate, &mode);
}

static void zero_range_clears_setid(void)
{
    int mode = FALLOC_FL_ZERO_RANGE, fd;

    /* tmpfs (in FSP_TEST_DIR mode) has no zero range */
    fd = open(h_path("probe"), O_CREAT | O_WRONLY, 0644);
    ASSERT_OK(fd);
    if (fallocate(fd, mode, 0, 1) != 0 && errno == EOPNOTSUPP)
        h_skip("no FALLOC_FL_ZERO_RANGE here");
    close(fd);
    as_nobody_clears(allocate, &mode);
}

static void truncate_clears_setid(void)
{
    as_nobody_clears(truncate_short, NULL);
}

static void chown_by_owner_clears_setid(void)
{
    as_nobody_clears(chgrp_by_owner, NULL);
}

static void chown_by_root_clears_setid(void)
{
    prepare();
    EXPECT_OK(chown(target(), 1, 1));
    EXPECT_EQ(setid_bits(), SETID_MODE & 0777);
}

static void write_by_root_keeps_setid(void)
{
    prepare();
    write_buffered(NULL);
    EXPECT_EQ(setid_bits(), SETID_MODE);
}

/* fsp reads the caller's CAP_FSETID for a FALLOCATE, which carries no
 * kill flag and, with allow_idmap, names no caller. */
static void fallocate_by_root_keeps_setid(void)
{
    int mode = 0;

    prepare();
    allocate(&mode);
    EXPECT_EQ(setid_bits(), SETID_MODE);
}

/* ---- set-group-ID without group execution: mandatory locking ---- */

#define LOCKING_MODE 06666
#define OUTSIDER_GID 4242 /* a group nobody's file is not in */

/* Prepares a file of mode 06666 and has uid nobody, with fsgid @gid and
 * the supplementary groups @groups, @act on it; the bits left. */
static mode_t locking_file_after(gid_t gid, size_t ngroups,
                                 const gid_t *groups, void (*act)(void *),
                                 void *arg)
{
    prepare_mode(LOCKING_MODE);
    EXPECT_EQ(h_as_user_in_groups(NOBODY, gid, ngroups, groups, act, arg), 0);
    return setid_bits();
}

static void write_outside_the_group_clears_setgid_without_group_execute(void)
{
    EXPECT_EQ(locking_file_after(OUTSIDER_GID, 0, NULL, write_buffered, NULL),
              0666);
}

static void direct_write_outside_the_group_clears_setgid_without_group_execute(void)
{
    EXPECT_EQ(locking_file_after(OUTSIDER_GID, 0, NULL, write_direct, NULL),
              0666);
}

static void fallocate_outside_the_group_clears_setgid_without_group_execute(void)
{
    int mode = 0;

    EXPECT_EQ(locking_file_after(OUTSIDER_GID, 0, NULL, allocate, &mode),
              0666);
}

static void write_in_the_group_keeps_setgid_without_group_execute(void)
{
    EXPECT_EQ(locking_file_after(NOBODY, 0, NULL, write_buffered, NULL),
              02666);
}

static void write_in_a_supplementary_group_keeps_setgid_without_group_execute(void)
{
    const gid_t groups[] = { 100, NOBODY };

    EXPECT_EQ(locking_file_after(OUTSIDER_GID, 2, groups, write_buffered, NULL),
              02666);
}

static void fallocate_in_the_group_keeps_setgid_without_group_execute(void)
{
    int mode = 0;

    EXPECT_EQ(locking_file_after(NOBODY, 0, NULL, allocate, &mode), 02666);
}

#define OTHERS "allow_other"

static const struct h_case cases[] = {
    H_CASE(buffered_write_clears_setid, OTHERS, 0),
    H_CASE(direct_write_clears_setid, OTHERS, 0),
    H_CASE(mapped_write_keeps_setid, OTHERS, 0),
    H_CASE(fallocate_clears_setid, OTHERS, 0),
    H_CASE(punch_hole_clears_setid, OTHERS, 0),
    H_CASE(zero_range_clears_setid, OTHERS, 0),
    H_CASE(truncate_clears_setid, OTHERS, 0),
    H_CASE(chown_by_owner_clears_setid, OTHERS, 0),
    H_CASE(chown_by_root_clears_setid, OTHERS, 0),
    H_CASE(write_by_root_keeps_setid, OTHERS, 0),
    H_CASE(fallocate_by_root_keeps_setid, OTHERS, 0),
    H_CASE(write_outside_the_group_clears_setgid_without_group_execute, OTHERS, 0),
    H_CASE(direct_write_outside_the_group_clears_setgid_without_group_execute, OTHERS, 0),
    H_CASE(fallocate_outside_the_group_clears_setgid_without_group_execute, OTHERS, 0),
    H_CASE(write_in_the_group_keeps_setgid_without_group_execute, OTHERS, 0),
    H_CASE(write_in_a_supplementary_group_keeps_setgid_without_group_execute, OTHERS, 0),
    H_CASE(fallocate_in_the_group_keeps_setgid_without_group_execute, OTHERS, 0),
};

int main(int argc, char **argv)
{
    return h_main("setid_clearing", argc, argv, cases,
                  sizeof cases / sizeof *cases);
}
