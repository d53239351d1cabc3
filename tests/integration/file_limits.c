/*
 * file_limits.c - files as large as the kernel allows: FUSE's largest
 * file is MAX_LFS_FILESIZE (2^63 - 1 bytes on 64-bit machines), the same
 * as tmpfs's. memfs, sparse, holds one whole: a write that ends at the
 * limit and a truncate to the limit work, and cost a page. A write that
 * would end past it never reaches the volume: its end does not fit in an
 * off_t, and the kernel refuses it (EINVAL, as on tmpfs). ptfs answers as
 * the file system under SOURCE does (ext4: EFBIG past 16 TiB), which its
 * case checks by doing the same in SOURCE directly.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIMIT INT64_MAX                  /* MAX_LFS_FILESIZE */
#define LAST_PAGE (LIMIT - 4095)         /* 2^63 - 4096 */
#define TO_LIMIT 4095                    /* from LAST_PAGE up to LIMIT */

/* What one operation gave: its result and errno. */
struct outcome {
    long long result;
    int err;
};

static struct outcome write_last_page(const char *path)
{
    static char page[4096];
    struct outcome o = { -1, 0 };
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);

    memset(page, 'z', sizeof page);
    if (fd < 0) {
        ADD_FAILURE("open %s: %s", path, expect_errname(errno));
        return o;
    }
    o.result = pwrite(fd, page, TO_LIMIT, LAST_PAGE);
    o.err = o.result < 0 ? errno : 0;
    close(fd);
    return o;
}

static struct outcome truncate_to(const char *path, off_t size)
{
    struct outcome o = { -1, 0 };
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);

    if (fd < 0) {
        ADD_FAILURE("open %s: %s", path, expect_errname(errno));
        return o;
    }
    o.result = ftruncate(fd, size);
    o.err = o.result < 0 ? errno : 0;
    close(fd);
    return o;
}

static void a_write_into_the_last_page_works(void)
{
    char back[4096];
    struct stat st;
    const char *f = h_path("huge");
    struct outcome o = write_last_page(f);
    int fd;

    EXPECT_EQ(o.err, 0);
    EXPECT_EQ(o.result, TO_LIMIT);
    ASSERT_OK(stat(f, &st));
    EXPECT_EQ(st.st_size, LIMIT);
    EXPECT_LE(st.st_blocks, 64);        /* a page or two, not 8 EiB */
    fd = open(f, O_RDONLY);
    ASSERT_OK(fd);
    EXPECT_EQ(pread(fd, back, TO_LIMIT, LAST_PAGE), TO_LIMIT);
    EXPECT_EQ(back[0], 'z');
    EXPECT_EQ(back[4094], 'z');
    EXPECT_EQ(pread(fd, back, 1, 1 << 20), 1);   /* a hole */
    EXPECT_EQ(back[0], 0);
    close(fd);
    EXPECT_OK(unlink(f));
}

static void a_write_past_the_limit_is_refused(void)
{
    static char page[4096];
    const char *f = h_path("huge");
    int fd = open(f, O_CREAT | O_RDWR, 0644);

    ASSERT_OK(fd);
    EXPECT_ERRNO(pwrite(fd, page, sizeof page, LAST_PAGE), EINVAL);
    EXPECT_ERRNO(pwrite(fd, "x", 1, LIMIT), EINVAL);
    close(fd);
}

static void a_truncate_to_the_limit_works(void)
{
    const char *f = h_path("huge");
    struct outcome o = truncate_to(f, LIMIT);
    struct stat st;
    char byte = 1;
    int fd;

    EXPECT_EQ(o.err, 0);
    EXPECT_EQ(o.result, 0);
    ASSERT_OK(stat(f, &st));
    EXPECT_EQ(st.st_size, LIMIT);
    EXPECT_EQ(st.st_blocks, 0);
    fd = open(f, O_RDONLY);
    ASSERT_OK(fd);
    EXPECT_EQ(pread(fd, &byte, 1, LIMIT - 1), 1);
    EXPECT_EQ(byte, 0);
    close(fd);
    /* and back */
    EXPECT_OK(truncate(f, 0));
    EXPECT_OK(unlink(f));
}

/* ptfs: what SOURCE's file system says, the mount says too. */
static void ptfs_answers_as_its_source_does(void)
{
    char direct[PATH_MAX];
    struct outcome src, mnt;

    if (!h_fs_is_ptfs())
        h_skip("compares ptfs with its SOURCE");
    snprintf(direct, sizeof direct, "%s.src/direct", h_root);
    src = write_last_page(direct);
    mnt = write_last_page(h_path("through"));
    h_note("write up to 2^63 - 1: SOURCE %lld (%s), mount %lld (%s)",
           src.result, expect_errname(src.err), mnt.result,
           expect_errname(mnt.err));
    EXPECT_EQ(mnt.result, src.result);
    EXPECT_EQ(mnt.err, src.err);
    src = truncate_to(direct, LIMIT);
    mnt = truncate_to(h_path("through"), LIMIT);
    h_note("truncate to 2^63 - 1: SOURCE %lld (%s), mount %lld (%s)",
           src.result, expect_errname(src.err), mnt.result,
           expect_errname(mnt.err));
    EXPECT_EQ(mnt.result, src.result);
    EXPECT_EQ(mnt.err, src.err);
    unlink(direct);
    unlink(h_path("through"));
}

static const struct h_case cases[] = {
    H_CASE(a_write_into_the_last_page_works, NULL, H_MEMFS_ONLY),
    H_CASE(a_write_past_the_limit_is_refused, NULL, 0),
    H_CASE(a_truncate_to_the_limit_works, NULL, H_MEMFS_ONLY),
    H_CASE(ptfs_answers_as_its_source_does, NULL, H_DAEMON),
};

int main(int argc, char **argv)
{
    return h_main("file_limits", argc, argv, cases,
                  sizeof cases / sizeof *cases);
}
