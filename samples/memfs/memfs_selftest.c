/**
 * @file memfs_selftest.c
 * memfs without a mount: the callbacks called directly, through the
 * interface memfs_create() returns, with selftest_stubs.c standing in for
 * the fsp library. It checks the file system's own rules (names, links,
 * rename, sizes, space, attributes) and its data structures (the AVL
 * directory map, the sparse page tree). The tests through a real mount
 * live in tests/.
 *
 * Checks with tests/common/expect.h, the assertions of every test: one
 * line per failed check, "FAIL: TEST" per failed test and, last,
 * "memfs_selftest: N passed, M failed" (tests); exits 1 if any failed.
 */
#define _GNU_SOURCE

#include "memfs.h"
#include "memfs_internal.h"
#include "selftest_stubs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

/* ---- checking: tests/common/expect.h, the assertions of every test ---- */

#include "expect.h"

/* ---- a volume under test ---- */

static struct memfs *m;     /* the volume */
static fsp_fs_interface_t fi; /* its callbacks */
static fsp_fs_t *fs;        /* what the callbacks get: m itself, see stubs */

#define UID 1000
#define GID 1000

static void setup(const struct memfs_options *options)
{
    int err = memfs_create(options, &fi, &m);
    if (err < 0) {
        fprintf(stderr, "memfs_create: %s\n", strerror(-err));
        exit(1);
    }
    fs = (fsp_fs_t *)m;
}

static void teardown(void)
{
    memfs_delete(m);
    m = NULL;
    fs = NULL;
}

/* Accounting must add up after every test: bytes, nodes, open counts. */
static void check_volume_consistent(void)
{
    uint64_t bytes = 0, nodes = 0;
    struct memfs_node *n;

    for (n = m->all_nodes; n; n = n->next) {
        bytes += n->data.page_count * MEMFS_PAGE_SIZE + n->xattr_bytes;
        nodes++;
        if (S_ISDIR(n->mode))
            EXPECT_TRUE(memfs_dirmap_validate(&n->entries) == 0);
        EXPECT_TRUE(n->nlink > 0 || n->open_count > 0);
        EXPECT_EQ(n->open_count, 0); /* every test closes what it opens */
    }
    EXPECT_EQ(m->used_bytes, bytes);
    EXPECT_EQ(m->node_count, nodes);
}

static fsp_create_info_t create_info(uint32_t mode)
{
    fsp_create_info_t ci = {.mode = mode, .uid = UID, .gid = GID,
                            .flags = O_RDWR};
    return ci;
}

/* create + close: returns the error. */
static int make(const char *path, uint32_t mode)
{
    fsp_create_info_t ci = create_info(mode);
    fsp_file_info_t info = {0};
    void *ctx = NULL;
    int err = fi.create(fs, path, &ci, &ctx, &info);
    if (err == 0)
        fi.close(fs, ctx);
    return err;
}

static int make_symlink(const char *path, const char *target)
{
    fsp_create_info_t ci = create_info(S_IFLNK | 0777);
    fsp_file_info_t info = {0};
    void *ctx = NULL;
    int err;

    ci.link_target = target;
    err = fi.create(fs, path, &ci, &ctx, &info);
    if (err == 0)
        fi.close(fs, ctx);
    return err;
}

/* open: the context, or NULL with *err set. */
static void *open_file(const char *path, int flags, int *err)
{
    fsp_file_info_t info = {0};
    void *ctx = NULL;
    int e = fi.open(fs, path, flags, &ctx, &info);
    if (err)
        *err = e;
    return e == 0 ? ctx : NULL;
}

static fsp_file_info_t stat_path(const char *path, int *err)
{
    fsp_file_info_t info = {0};
    int e = fi.get_file_info_by_name(fs, path, &info);
    if (err)
        *err = e;
    return info;
}

/* An error from stat, or 0. */
static int stat_error(const char *path)
{
    int err;
    stat_path(path, &err);
    return err;
}

static int write_at(void *ctx, const void *buf, uint64_t offset, size_t len,
                    size_t *written)
{
    size_t n = 0;
    int err = fi.write(fs, ctx, buf, offset, len, 0, &n);
    if (written)
        *written = n;
    return err;
}

static size_t read_at(void *ctx, void *buf, uint64_t offset, size_t len)
{
    size_t n = 0;
    if (fi.read(fs, ctx, buf, offset, len, &n) != 0)
        return (size_t)-1;
    return n;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int timespec_cmp(struct timespec a, struct timespec b)
{
    if (a.tv_sec != b.tv_sec)
        return a.tv_sec < b.tv_sec ? -1 : 1;
    if (a.tv_nsec != b.tv_nsec)
        return a.tv_nsec < b.tv_nsec ? -1 : 1;
    return 0;
}

/* Let the clock move, so that "updated" times differ from old ones. */
static void tick(void)
{
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
}

/* A small deterministic random generator (xorshift64). */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(uint64_t below)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return below ? rng_state % below : rng_state;
}

/* ---- tests ---- */

static void test_root(void)
{
    fsp_file_info_t info;
    fsp_volume_info_t vi = {0};
    int err;

    setup(NULL);
    info = stat_path("/", &err);
    EXPECT_EQ(err, 0);
    EXPECT_TRUE(S_ISDIR(info.mode));
    EXPECT_EQ(info.mode & 07777, 0755);
    EXPECT_EQ(info.nlink, 2);
    EXPECT_EQ(info.index_number, 1);
    EXPECT_EQ(fi.get_volume_info(fs, &vi), 0);
    EXPECT_EQ(vi.total_files, MEMFS_DEFAULT_MAX_NODES);
    EXPECT_EQ(vi.free_files, MEMFS_DEFAULT_MAX_NODES - 1);
    EXPECT_EQ(vi.free_size, vi.total_size);
    EXPECT_EQ(vi.max_name_length, 255);
    EXPECT_EQ(make("/", S_IFDIR | 0755), -EEXIST);
    EXPECT_EQ(fi.unlink(fs, NULL, "/"), -EBUSY);
    EXPECT_EQ(fi.rename(fs, NULL, "/", "/x", 0), -EBUSY);
    check_volume_consistent();
    teardown();
}

static void test_paths(void)
{
    char long_name[300];

    setup(NULL);
    EXPECT_EQ(make("/dir", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/dir/file", S_IFREG | 0644), 0);
    EXPECT_EQ(stat_error("/dir/file"), 0);
    EXPECT_EQ(stat_error("/missing"), -ENOENT);
    EXPECT_EQ(stat_error("/missing/x"), -ENOENT);
    EXPECT_EQ(stat_error("/dir/file/x"), -ENOTDIR);
    EXPECT_EQ(make("/dir/file/x", S_IFREG | 0644), -ENOTDIR);
    EXPECT_EQ(make("/missing/x", S_IFREG | 0644), -ENOENT);
    EXPECT_EQ(make("/dir/file", S_IFREG | 0644), -EEXIST);
    EXPECT_EQ(make("/dir", S_IFREG | 0644), -EEXIST);

    long_name[0] = '/';
    memset(long_name + 1, 'n', 256);
    long_name[257] = '\0';
    EXPECT_EQ(make(long_name, S_IFREG | 0644), -ENAMETOOLONG);
    EXPECT_EQ(stat_error(long_name), -ENAMETOOLONG);
    long_name[256] = '\0'; /* 255 bytes: the longest allowed */
    EXPECT_EQ(make(long_name, S_IFREG | 0644), 0);
    EXPECT_EQ(stat_error(long_name), 0);
    EXPECT_EQ(make("/dir/bad", 0170000 | 0644), -EINVAL);
    check_volume_consistent();
    teardown();
}

static void test_types(void)
{
    fsp_create_info_t ci = create_info(S_IFCHR | 0600);
    fsp_file_info_t info = {0};
    char target[64];
    void *ctx = NULL;
    int err;

    setup(NULL);
    ci.rdev = makedev(1, 3);
    EXPECT_EQ(fi.create(fs, "/null", &ci, &ctx, &info), 0);
    EXPECT_TRUE(S_ISCHR(info.mode));
    EXPECT_EQ(info.rdev, makedev(1, 3));
    EXPECT_EQ(info.uid, UID);
    EXPECT_EQ(info.gid, GID);
    EXPECT_EQ(info.nlink, 1);
    fi.close(fs, ctx);
    EXPECT_EQ(make("/fifo", S_IFIFO | 0644), 0);
    EXPECT_EQ(make("/sock", S_IFSOCK | 0644), 0);
    EXPECT_EQ(make("/blk", S_IFBLK | 0644), 0);
    EXPECT_TRUE(S_ISFIFO(stat_path("/fifo", NULL).mode));
    EXPECT_TRUE(S_ISSOCK(stat_path("/sock", NULL).mode));
    EXPECT_TRUE(S_ISBLK(stat_path("/blk", NULL).mode));

    EXPECT_EQ(make_symlink("/link", "../some/where"), 0);
    info = stat_path("/link", NULL);
    EXPECT_TRUE(S_ISLNK(info.mode));
    EXPECT_EQ(info.size, strlen("../some/where"));
    EXPECT_EQ(make("/nolink", S_IFLNK | 0777), -EINVAL); /* no target */

    ctx = open_file("/link", FSP_OPEN_META, &err);
    EXPECT_EQ(err, 0);
    EXPECT_EQ(fi.get_reparse_point(fs, ctx, target, sizeof target), 0);
    EXPECT_TRUE(strcmp(target, "../some/where") == 0);
    EXPECT_EQ(fi.get_reparse_point(fs, ctx, target, 13), -ENAMETOOLONG);
    EXPECT_EQ(fi.get_reparse_point(fs, ctx, target, 14), 0);
    fi.close(fs, ctx);
    ctx = open_file("/fifo", FSP_OPEN_META, &err);
    EXPECT_EQ(fi.get_reparse_point(fs, ctx, target, sizeof target), -EINVAL);
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
}

static void test_open_rules(void)
{
    void *ctx;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/dir", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/file", S_IFREG | 0644), 0);
    EXPECT_EQ(make_symlink("/link", "file"), 0);

    EXPECT_TRUE(open_file("/dir", O_RDWR, &err) == NULL);
    EXPECT_EQ(err, -EISDIR);
    EXPECT_TRUE(open_file("/dir", O_WRONLY, &err) == NULL);
    EXPECT_EQ(err, -EISDIR);
    EXPECT_TRUE(open_file("/file", O_RDONLY | O_DIRECTORY, &err) == NULL);
    EXPECT_EQ(err, -ENOTDIR);
    EXPECT_TRUE(open_file("/link", O_RDONLY, &err) == NULL);
    EXPECT_EQ(err, -ELOOP);
    EXPECT_TRUE(open_file("/missing", O_RDONLY, &err) == NULL);
    EXPECT_EQ(err, -ENOENT);

    ctx = open_file("/dir", O_RDONLY | O_DIRECTORY, &err);
    EXPECT_EQ(err, 0);
    fi.close(fs, ctx);
    ctx = open_file("/link", FSP_OPEN_META, &err);
    EXPECT_EQ(err, 0);
    fi.close(fs, ctx);
    ctx = open_file("/dir", FSP_OPEN_META | O_RDWR, &err);
    EXPECT_EQ(err, 0);
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
}

static void test_read_write(void)
{
    unsigned char buf[10000], back[10000];
    fsp_file_info_t info = {0}, before;
    size_t n, i;
    void *ctx;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    before = stat_path("/f", NULL);
    tick();
    ctx = open_file("/f", O_RDWR, &err);
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    EXPECT_EQ(fi.write(fs, ctx, buf, 0, 5000, 0, &n), 0);
    EXPECT_EQ(n, 5000);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, 5000);
    EXPECT_EQ(info.allocation_size, 2 * MEMFS_PAGE_SIZE);
    EXPECT_TRUE(timespec_cmp(info.mtime, before.mtime) > 0);
    EXPECT_TRUE(timespec_cmp(info.ctime, before.ctime) > 0);
    EXPECT_EQ(read_at(ctx, back, 0, sizeof back), 5000);
    EXPECT_TRUE(memcmp(back, buf, 5000) == 0);
    EXPECT_EQ(read_at(ctx, back, 4990, 100), 10);
    EXPECT_EQ(read_at(ctx, back, 5000, 100), 0); /* at EOF */
    EXPECT_EQ(read_at(ctx, back, 1 << 30, 100), 0); /* past EOF */

    /* Append ignores the offset. */
    EXPECT_EQ(fi.write(fs, ctx, "xyz", 0, 3, FSP_WRITE_TO_END_OF_FILE, &n), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, 5003);
    EXPECT_EQ(read_at(ctx, back, 5000, 3), 3);
    EXPECT_TRUE(memcmp(back, "xyz", 3) == 0);

    /* A write past the end leaves a hole that reads as zeros. */
    EXPECT_EQ(write_at(ctx, "end", 100000, 3, &n), 0);
    EXPECT_EQ(stat_path("/f", NULL).size, 100003);
    EXPECT_EQ(read_at(ctx, back, 5003, sizeof back), sizeof back);
    EXPECT_TRUE(all_zero(back, sizeof back));
    EXPECT_EQ(stat_path("/f", NULL).allocation_size, 3 * MEMFS_PAGE_SIZE);

    /* A zero-length write changes nothing and succeeds. */
    EXPECT_EQ(write_at(ctx, "", 1 << 20, 0, &n), 0);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(stat_path("/f", NULL).size, 100003);

    /* Overwrite (O_TRUNC) empties the file and gives the space back. */
    EXPECT_EQ(fi.overwrite(fs, ctx), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, 0);
    EXPECT_EQ(info.allocation_size, 0);
    EXPECT_EQ(read_at(ctx, back, 0, 10), 0);
    fi.close(fs, ctx);

    ctx = open_file("/", O_RDONLY, &err);
    EXPECT_EQ(fi.read(fs, ctx, back, 0, 10, &n), -EISDIR);
    EXPECT_EQ(fi.write(fs, ctx, back, 0, 10, 0, &n), -EISDIR);
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
}

static void test_truncate(void)
{
    unsigned char buf[8192], back[8192];
    fsp_file_info_t info = {0};
    void *ctx;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    ctx = open_file("/f", O_RDWR, &err);
    memset(buf, 0xAB, sizeof buf);
    EXPECT_EQ(write_at(ctx, buf, 0, sizeof buf, NULL), 0);

    /* Shrink into the middle of a page, then grow: the old bytes beyond
     * the cut must not come back. */
    EXPECT_EQ(fi.set_file_size(fs, ctx, 100, &info), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, 100);
    EXPECT_EQ(info.allocation_size, MEMFS_PAGE_SIZE);
    EXPECT_EQ(fi.set_file_size(fs, ctx, 8192, &info), 0);
    EXPECT_EQ(read_at(ctx, back, 0, sizeof back), sizeof back);
    EXPECT_TRUE(memcmp(back, buf, 100) == 0);
    EXPECT_TRUE(all_zero(back + 100, sizeof back - 100));

    /* 1 GiB and 1 TiB - 1 cost nothing: the growth is a hole. */
    EXPECT_EQ(fi.set_file_size(fs, ctx, UINT64_C(1) << 30, &info), 0);
    EXPECT_EQ(info.size, UINT64_C(1) << 30);
    EXPECT_EQ(info.allocation_size, MEMFS_PAGE_SIZE);
    EXPECT_EQ(fi.set_file_size(fs, ctx, MEMFS_DEFAULT_MAX_FILE_SIZE - 1, &info),
              0);
    EXPECT_EQ(read_at(ctx, back, (UINT64_C(1) << 39) + 12345, 4096), 4096);
    EXPECT_TRUE(all_zero(back, 4096));
    EXPECT_EQ(fi.set_file_size(fs, ctx, MEMFS_DEFAULT_MAX_FILE_SIZE + 1, &info),
              -EFBIG);
    EXPECT_EQ(fi.set_file_size(fs, ctx, 0, &info), 0);
    EXPECT_EQ(info.allocation_size, 0);
    fi.close(fs, ctx);

    ctx = open_file("/", O_RDONLY, &err);
    EXPECT_EQ(fi.set_file_size(fs, ctx, 0, &info), -EISDIR);
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
}

static void test_allocate(void)
{
    unsigned char buf[3 * 4096], back[3 * 4096];
    fsp_file_info_t info = {0};
    void *ctx;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    ctx = open_file("/f", O_RDWR, &err);

    EXPECT_EQ(fi.allocate(fs, ctx, 0, 0, 10000), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, 10000);
    EXPECT_EQ(info.allocation_size, 3 * MEMFS_PAGE_SIZE);
    EXPECT_EQ(fi.allocate(fs, ctx, FALLOC_FL_KEEP_SIZE, 0, 20000), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, 10000);
    EXPECT_EQ(info.allocation_size, 5 * MEMFS_PAGE_SIZE);
    EXPECT_EQ(fi.allocate(fs, ctx, 0, 0, 100), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, 10000); /* never shrinks */

    memset(buf, 0x5A, sizeof buf);
    EXPECT_EQ(write_at(ctx, buf, 0, sizeof buf, NULL), 0);
    /* Punch 100..8292: page 1 goes entirely, pages 0 and 2 in part. */
    EXPECT_EQ(fi.allocate(fs, ctx, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          100, 8192), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, sizeof buf);
    EXPECT_EQ(info.allocation_size, 4 * MEMFS_PAGE_SIZE);
    EXPECT_EQ(read_at(ctx, back, 0, sizeof back), sizeof back);
    EXPECT_TRUE(memcmp(back, buf, 100) == 0);
    EXPECT_TRUE(all_zero(back + 100, 8192));
    EXPECT_TRUE(memcmp(back + 8292, buf + 8292, sizeof buf - 8292) == 0);

    /* Zero range: the same zeros, but allocated (page 1 comes back), and
     * past the end the file grows unless KEEP_SIZE. */
    EXPECT_EQ(fi.allocate(fs, ctx, FALLOC_FL_ZERO_RANGE, 100, 8192), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, sizeof buf);
    EXPECT_EQ(info.allocation_size, 5 * MEMFS_PAGE_SIZE);
    EXPECT_EQ(read_at(ctx, back, 0, sizeof back), sizeof back);
    EXPECT_TRUE(all_zero(back + 100, 8192));
    EXPECT_TRUE(memcmp(back + 8292, buf + 8292, sizeof buf - 8292) == 0);
    EXPECT_EQ(fi.allocate(fs, ctx, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                          sizeof buf, 100), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, sizeof buf);
    EXPECT_EQ(fi.allocate(fs, ctx, FALLOC_FL_ZERO_RANGE, sizeof buf, 100), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.size, sizeof buf + 100);

    EXPECT_EQ(fi.allocate(fs, ctx, FALLOC_FL_PUNCH_HOLE, 0, 10),
              -EOPNOTSUPP);
    EXPECT_EQ(fi.allocate(fs, ctx, FALLOC_FL_COLLAPSE_RANGE, 0, 4096),
              -EOPNOTSUPP);
    EXPECT_EQ(fi.allocate(fs, ctx, 0, 0, 0), -EINVAL);
    EXPECT_EQ(fi.allocate(fs, ctx, 0, MEMFS_DEFAULT_MAX_FILE_SIZE, 1),
              -EFBIG);
    /* Truncating frees the space preallocated past the end too. */
    EXPECT_EQ(fi.set_file_size(fs, ctx, 0, &info), 0);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.allocation_size, 0);
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
}

static void test_limits(void)
{
    struct memfs_options o;
    fsp_volume_info_t vi = {0};
    unsigned char buf[4 * 4096] = {1};
    char path[32];
    size_t n;
    void *ctx;
    int err, i;

    memfs_options_init(&o);
    o.max_nodes = 5;
    o.max_file_size = 10000;
    o.total_size = 4 * MEMFS_PAGE_SIZE;
    setup(&o);
    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/f%d", i);
        EXPECT_EQ(make(path, S_IFREG | 0644), 0);
    }
    EXPECT_EQ(make("/one-too-many", S_IFREG | 0644), -ENOSPC);
    EXPECT_EQ(fi.get_volume_info(fs, &vi), 0);
    EXPECT_EQ(vi.total_files, 5);
    EXPECT_EQ(vi.free_files, 0);

    ctx = open_file("/f0", O_RDWR, &err);
    /* Past the per-file limit: EFBIG; across it: a short write. */
    EXPECT_EQ(write_at(ctx, buf, 10000, 1, &n), -EFBIG);
    EXPECT_EQ(write_at(ctx, buf, 9000, 2000, &n), 0);
    EXPECT_EQ(n, 1000);
    EXPECT_EQ(stat_path("/f0", NULL).size, 10000);
    EXPECT_EQ(stat_path("/f0", NULL).allocation_size, MEMFS_PAGE_SIZE);
    EXPECT_EQ(write_at(ctx, buf, 0, 9000, &n), 0);
    /* 10000 bytes take 3 pages; the volume has room for one more. */
    EXPECT_EQ(fi.get_volume_info(fs, &vi), 0);
    EXPECT_EQ(vi.free_size, MEMFS_PAGE_SIZE);
    fi.close(fs, ctx);
    ctx = open_file("/f1", O_RDWR, &err);
    EXPECT_EQ(write_at(ctx, buf, 0, 2 * 4096, &n), -ENOSPC);
    EXPECT_EQ(stat_path("/f1", NULL).size, 0);
    EXPECT_EQ(write_at(ctx, buf, 0, 4096, &n), 0);
    EXPECT_EQ(write_at(ctx, buf, 4096, 1, &n), -ENOSPC);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "user.big", buf, 100, 0), -ENOSPC);
    /* Rewriting allocated pages needs no room. */
    EXPECT_EQ(write_at(ctx, buf, 0, 4096, &n), 0);
    fi.close(fs, ctx);

    /* Removing a file gives its space and its node back. */
    EXPECT_EQ(fi.unlink(fs, NULL, "/f0"), 0);
    EXPECT_EQ(fi.get_volume_info(fs, &vi), 0);
    EXPECT_EQ(vi.free_size, 3 * MEMFS_PAGE_SIZE);
    EXPECT_EQ(vi.free_files, 1);
    check_volume_consistent();
    teardown();

    o.max_file_size = MEMFS_DATA_MAX_SIZE + 1;
    EXPECT_EQ(memfs_create(&o, &fi, &m), -EINVAL);
}

static void test_directories(void)
{
    fsp_file_info_t info = {0}, before;
    void *ctx;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/a", S_IFDIR | 0755), 0);
    EXPECT_EQ(stat_path("/", NULL).nlink, 3);
    EXPECT_EQ(stat_path("/a", NULL).nlink, 2);
    EXPECT_EQ(make("/a/b", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/a/c", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/a/f", S_IFREG | 0644), 0);
    EXPECT_EQ(stat_path("/a", NULL).nlink, 4); /* files do not count */

    before = stat_path("/a", NULL);
    tick();
    EXPECT_EQ(fi.unlink(fs, NULL, "/a"), -ENOTEMPTY);
    EXPECT_EQ(fi.unlink(fs, NULL, "/a/c"), 0);
    info = stat_path("/a", NULL);
    EXPECT_EQ(info.nlink, 3);
    EXPECT_TRUE(timespec_cmp(info.mtime, before.mtime) > 0);
    EXPECT_TRUE(timespec_cmp(info.ctime, before.ctime) > 0);
    EXPECT_EQ(fi.unlink(fs, NULL, "/a/missing"), -ENOENT);

    /* A removed directory that is still open: listed as empty, nlink 0,
     * and freed by its close. */
    ctx = open_file("/a/b", O_RDONLY, &err);
    EXPECT_EQ(fi.unlink(fs, NULL, "/a/b"), 0);
    EXPECT_EQ(stat_error("/a/b"), -ENOENT);
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.nlink, 0);
    EXPECT_EQ(m->node_count, 4);
    fi.close(fs, ctx);
    EXPECT_EQ(m->node_count, 3);
    EXPECT_EQ(stat_path("/a", NULL).nlink, 2);
    check_volume_consistent();
    teardown();
}

static void test_setgid_inheritance(void)
{
    fsp_create_info_t ci = create_info(S_IFDIR | 02775);
    fsp_file_info_t info = {0};
    void *ctx;

    setup(NULL);
    ci.gid = 500;
    EXPECT_EQ(fi.create(fs, "/shared", &ci, &ctx, &info), 0);
    fi.close(fs, ctx);
    EXPECT_EQ(info.gid, 500);
    EXPECT_TRUE(info.mode & S_ISGID);

    ci = create_info(S_IFREG | 0644); /* gid GID, not 500 */
    EXPECT_EQ(fi.create(fs, "/shared/file", &ci, &ctx, &info), 0);
    fi.close(fs, ctx);
    EXPECT_EQ(info.gid, 500);
    EXPECT_TRUE(!(info.mode & S_ISGID)); /* files do not get the bit */

    ci = create_info(S_IFDIR | 0755);
    EXPECT_EQ(fi.create(fs, "/shared/sub", &ci, &ctx, &info), 0);
    fi.close(fs, ctx);
    EXPECT_EQ(info.gid, 500);
    EXPECT_TRUE(info.mode & S_ISGID); /* directories do: the rule propagates */
    EXPECT_EQ(info.mode & 0777, 0755);

    EXPECT_EQ(make("/plain", S_IFREG | 0644), 0);
    EXPECT_EQ(stat_path("/plain", NULL).gid, GID);
    check_volume_consistent();
    teardown();
}

static void test_hard_links(void)
{
    fsp_file_info_t info = {0};
    unsigned char back[4];
    void *ctx, *dir;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/d", S_IFDIR | 0755), 0);
    ctx = open_file("/f", O_RDWR, &err);
    EXPECT_EQ(write_at(ctx, "data", 0, 4, NULL), 0);
    EXPECT_EQ(fi.link(fs, ctx, "/d/g", &info), 0);
    EXPECT_EQ(info.nlink, 2);
    EXPECT_EQ(stat_path("/d/g", NULL).index_number,
              stat_path("/f", NULL).index_number);
    EXPECT_EQ(fi.link(fs, ctx, "/d/g", &info), -EEXIST);
    EXPECT_EQ(fi.link(fs, ctx, "/", &info), -EEXIST);
    EXPECT_EQ(fi.link(fs, ctx, "/nodir/g", &info), -ENOENT);
    dir = open_file("/d", O_RDONLY, &err);
    EXPECT_EQ(fi.link(fs, dir, "/d2", &info), -EPERM);
    fi.close(fs, dir);

    EXPECT_EQ(fi.unlink(fs, ctx, "/f"), 0);
    EXPECT_EQ(stat_path("/d/g", NULL).nlink, 1);
    EXPECT_EQ(fi.unlink(fs, ctx, "/d/g"), 0);
    /* No names left, but open: the data is still there. */
    EXPECT_EQ(fi.get_file_info(fs, ctx, &info), 0);
    EXPECT_EQ(info.nlink, 0);
    EXPECT_EQ(read_at(ctx, back, 0, 4), 4);
    EXPECT_TRUE(memcmp(back, "data", 4) == 0);
    EXPECT_EQ(fi.link(fs, ctx, "/revived", &info), -ENOENT);
    EXPECT_EQ(m->node_count, 3);
    fi.close(fs, ctx);
    EXPECT_EQ(m->node_count, 2); /* freed with its last open */
    EXPECT_EQ(m->used_bytes, 0);
    check_volume_consistent();
    teardown();
}

static void test_rename(void)
{
    fsp_file_info_t before, info;
    uint64_t ino;

    setup(NULL);
    EXPECT_EQ(make("/a", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/b", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/a/f", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/a/g", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/a/sub", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/a/sub/x", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/b/empty", S_IFDIR | 0755), 0);

    /* A plain move: parents' times, the node's ctime. */
    ino = stat_path("/a/f", NULL).index_number;
    before = stat_path("/a", NULL);
    tick();
    EXPECT_EQ(fi.rename(fs, NULL, "/a/f", "/b/f", 0), 0);
    EXPECT_EQ(stat_error("/a/f"), -ENOENT);
    info = stat_path("/b/f", NULL);
    EXPECT_EQ(info.index_number, ino);
    EXPECT_TRUE(timespec_cmp(info.ctime, before.ctime) > 0);
    EXPECT_TRUE(timespec_cmp(stat_path("/a", NULL).mtime, before.mtime) > 0);
    EXPECT_TRUE(timespec_cmp(stat_path("/b", NULL).mtime, before.mtime) > 0);

    /* Replacing a file: the old one is freed. */
    EXPECT_EQ(m->node_count, 8);
    EXPECT_EQ(fi.rename(fs, NULL, "/a/g", "/b/f", 0), 0);
    EXPECT_EQ(m->node_count, 7);
    EXPECT_EQ(stat_error("/a/g"), -ENOENT);

    /* Same file under two names: nothing happens. */
    EXPECT_EQ(fi.rename(fs, NULL, "/b/f", "/b/f", 0), 0);
    EXPECT_EQ(stat_error("/b/f"), 0);

    /* Type and emptiness rules. */
    EXPECT_EQ(fi.rename(fs, NULL, "/a/sub", "/b/f", 0), -ENOTDIR);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/f", "/b/empty", 0), -EISDIR);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/empty", "/a", 0), -ENOTEMPTY);
    EXPECT_EQ(fi.rename(fs, NULL, "/a", "/a/sub/inside", 0), -EINVAL);
    EXPECT_EQ(fi.rename(fs, NULL, "/a", "/a/sub", 0), -EINVAL);
    EXPECT_EQ(fi.rename(fs, NULL, "/missing", "/x", 0), -ENOENT);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/f", "/missing/x", 0), -ENOENT);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/f", "/a/sub/x", FSP_RENAME_NOREPLACE),
              -EEXIST);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/f", "/b/g", FSP_RENAME_NOREPLACE), 0);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/g", "/b/f",
                        FSP_RENAME_NOREPLACE | FSP_RENAME_EXCHANGE), -EINVAL);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/g", "/b/f", 1u << 7), -EINVAL);

    /* A directory over an empty directory, to another parent: the
     * subdirectory links move with it. / has a, b; a has sub; b has empty. */
    EXPECT_EQ(fi.rename(fs, NULL, "/a/sub", "/b/empty", 0), 0);
    EXPECT_EQ(stat_path("/a", NULL).nlink, 2);
    EXPECT_EQ(stat_path("/b", NULL).nlink, 3);
    EXPECT_EQ(stat_error("/b/empty/x"), 0);
    EXPECT_EQ(m->node_count, 6);
    EXPECT_EQ(fi.rename(fs, NULL, "/b/empty", "/a/moved", 0), 0);
    EXPECT_EQ(stat_path("/a", NULL).nlink, 3);
    EXPECT_EQ(stat_path("/b", NULL).nlink, 2);
    /* Its parent pointer followed: it cannot move below itself now. */
    EXPECT_EQ(fi.rename(fs, NULL, "/a", "/a/moved/deeper", 0), -EINVAL);
    EXPECT_EQ(fi.rename(fs, NULL, "/b", "/a/moved/b", 0), 0);
    EXPECT_EQ(stat_path("/", NULL).nlink, 3);
    EXPECT_EQ(fi.rename(fs, NULL, "/a/moved/b", "/b", 0), 0);
    check_volume_consistent();
    teardown();
}

static void test_rename_exchange(void)
{
    uint64_t file_ino, dir_ino;

    setup(NULL);
    EXPECT_EQ(make("/a", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/b", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/a/file", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/b/dir", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/b/dir/inner", S_IFREG | 0644), 0);
    file_ino = stat_path("/a/file", NULL).index_number;
    dir_ino = stat_path("/b/dir", NULL).index_number;

    EXPECT_EQ(fi.rename(fs, NULL, "/a/file", "/b/none", FSP_RENAME_EXCHANGE),
              -ENOENT);
    /* A file and a directory trade places across parents: the directory
     * link moves from b to a. */
    EXPECT_EQ(stat_path("/a", NULL).nlink, 2);
    EXPECT_EQ(stat_path("/b", NULL).nlink, 3);
    EXPECT_EQ(fi.rename(fs, NULL, "/a/file", "/b/dir", FSP_RENAME_EXCHANGE), 0);
    EXPECT_EQ(stat_path("/a/file", NULL).index_number, dir_ino);
    EXPECT_EQ(stat_path("/b/dir", NULL).index_number, file_ino);
    EXPECT_EQ(stat_error("/a/file/inner"), 0);
    EXPECT_EQ(stat_path("/a", NULL).nlink, 3);
    EXPECT_EQ(stat_path("/b", NULL).nlink, 2);
    /* Its new parent is known: it cannot be swapped below itself. */
    EXPECT_EQ(make("/a/file/deep", S_IFDIR | 0755), 0);
    EXPECT_EQ(fi.rename(fs, NULL, "/a", "/a/file/deep", FSP_RENAME_EXCHANGE),
              -EINVAL);
    EXPECT_EQ(fi.rename(fs, NULL, "/a/file/deep", "/a", FSP_RENAME_EXCHANGE),
              -EINVAL);
    /* Two directories: nlink of the parents does not change. */
    EXPECT_EQ(fi.rename(fs, NULL, "/a/file/deep", "/b", FSP_RENAME_EXCHANGE),
              0);
    EXPECT_EQ(stat_path("/", NULL).nlink, 4);
    EXPECT_EQ(stat_path("/a/file", NULL).nlink, 3);
    EXPECT_EQ(stat_error("/a/file/deep/dir"), 0);
    /* The same name twice: nothing to do. */
    EXPECT_EQ(fi.rename(fs, NULL, "/b", "/b", FSP_RENAME_EXCHANGE), 0);
    check_volume_consistent();
    teardown();
}

/* List a directory page by page, @p per_call entries a time, calling
 * @p between after each page (to change the directory meanwhile).
 * Returns the names seen, concatenated with '|'. */
static char *list_dir(const char *path, size_t per_call,
                      void (*between)(const char *last))
{
    static fsp_dir_buffer_t buf;
    static char out[8192];
    char marker[256] = "";
    bool first = true;
    void *ctx;
    size_t i;
    int err;

    out[0] = '\0';
    ctx = open_file(path, O_RDONLY | O_DIRECTORY, &err);
    if (!ctx)
        return out;
    for (;;) {
        selftest_dir_buffer_init(&buf, per_call);
        err = fi.read_directory(fs, ctx, first ? NULL : marker, &buf);
        if (err != 0 || buf.count == 0)
            break;
        for (i = 0; i < buf.count; i++) {
            strcat(out, buf.names[i]);
            strcat(out, "|");
        }
        strcpy(marker, buf.names[buf.count - 1]);
        first = false;
        if (between)
            between(marker);
    }
    fi.close(fs, ctx);
    return out;
}

static void unlink_marker(const char *last)
{
    char path[300];

    snprintf(path, sizeof path, "/d/%s", last);
    fi.unlink(fs, NULL, path);
}

static void test_read_directory(void)
{
    static const char *names[] = {"b", "a", "ab", "c", "B", "e", "d"};
    fsp_dir_buffer_t *buf = malloc(sizeof *buf);
    char path[32];
    size_t i;
    void *ctx;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/d", S_IFDIR | 0755), 0);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "/d/%s", names[i]);
        EXPECT_EQ(make(path, S_IFREG | 0644), 0);
    }
    EXPECT_TRUE(strcmp(list_dir("/d", 64, NULL), "B|a|ab|b|c|d|e|") == 0);
    EXPECT_TRUE(strcmp(list_dir("/d", 1, NULL), "B|a|ab|b|c|d|e|") == 0);
    EXPECT_TRUE(strcmp(list_dir("/d", 3, NULL), "B|a|ab|b|c|d|e|") == 0);

    /* Resume after a marker that was deleted meanwhile: nothing lost,
     * nothing repeated. */
    EXPECT_TRUE(strcmp(list_dir("/d", 2, unlink_marker), "B|a|ab|b|c|d|e|") == 0);
    EXPECT_TRUE(strcmp(list_dir("/d", 64, NULL), "B|ab|c|") == 0);

    /* A marker that never existed, and one past the end. */
    ctx = open_file("/d", O_RDONLY, &err);
    selftest_dir_buffer_init(buf, 64);
    EXPECT_EQ(fi.read_directory(fs, ctx, "aa", buf), 0);
    EXPECT_EQ(buf->count, 2);
    EXPECT_TRUE(strcmp(buf->names[0], "ab") == 0);
    EXPECT_TRUE(S_ISREG(buf->infos[0].mode));
    selftest_dir_buffer_init(buf, 64);
    EXPECT_EQ(fi.read_directory(fs, ctx, "zzz", buf), 0);
    EXPECT_EQ(buf->count, 0);
    fi.close(fs, ctx);

    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    ctx = open_file("/f", FSP_OPEN_META, &err);
    EXPECT_EQ(fi.read_directory(fs, ctx, NULL, buf), -ENOTDIR);
    fi.close(fs, ctx);
    EXPECT_TRUE(strcmp(list_dir("/", 64, NULL), "d|f|") == 0);
    check_volume_consistent();
    teardown();
    free(buf);
}

static double seconds_since(struct timespec start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start.tv_sec) +
           (double)(now.tv_nsec - start.tv_nsec) / 1e9;
}

static void test_big_directory(void)
{
    enum { N = 100000 };
    fsp_dir_buffer_t *buf = malloc(sizeof *buf);
    char path[64], marker[256], previous[256] = "";
    struct timespec start;
    size_t seen = 0, i;
    bool sorted = true, created = true;
    void *ctx;
    int err;

    setup(NULL);
    clock_gettime(CLOCK_MONOTONIC, &start);
    EXPECT_EQ(make("/big", S_IFDIR | 0755), 0);
    for (i = 0; i < N; i++) {
        /* Scrambled order, so the tree sees no sorted runs. */
        snprintf(path, sizeof path, "/big/file-%08zu", (i * 7919) % N);
        created &= make(path, S_IFREG | 0644) == 0;
    }
    EXPECT_TRUE(created);
    EXPECT_EQ(memfs_dirmap_validate(&m->root->entries), 0);
    EXPECT_EQ(stat_error("/big/file-00054321"), 0);

    ctx = open_file("/big", O_RDONLY, &err);
    marker[0] = '\0';
    for (;;) {
        selftest_dir_buffer_init(buf, SELFTEST_DIR_BUFFER_MAX);
        fi.read_directory(fs, ctx, seen ? marker : NULL, buf);
        if (buf->count == 0)
            break;
        for (i = 0; i < buf->count; i++) {
            sorted &= strcmp(previous, buf->names[i]) < 0;
            strcpy(previous, buf->names[i]);
        }
        seen += buf->count;
        strcpy(marker, previous);
    }
    fi.close(fs, ctx);
    EXPECT_EQ(seen, N);
    EXPECT_TRUE(sorted);

    for (i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/big/file-%08zu", i);
        if (fi.unlink(fs, NULL, path) != 0)
            break;
    }
    EXPECT_EQ(i, N);
    EXPECT_EQ(fi.unlink(fs, NULL, "/big"), 0);
    EXPECT_EQ(m->node_count, 1);
    EXPECT_TRUE(seconds_since(start) < 20.0);
    printf("  100000 entries: create, list, unlink in %.2f s\n",
           seconds_since(start));
    check_volume_consistent();
    teardown();
    free(buf);
}

static void test_set_basic_info(void)
{
    fsp_file_info_t info = {0}, want = {0}, before;
    void *ctx;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 06755), 0);
    ctx = open_file("/f", FSP_OPEN_META, &err);
    before = stat_path("/f", NULL);
    tick();

    want.mode = S_IFDIR | 0600; /* the type bits are not the caller's */
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_MODE, &want, &info), 0);
    EXPECT_EQ(info.mode, S_IFREG | 0600);
    EXPECT_TRUE(timespec_cmp(info.ctime, before.ctime) > 0);
    EXPECT_EQ(timespec_cmp(info.mtime, before.mtime), 0);

    want.uid = 7;
    want.gid = 8;
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_UID | FSP_SET_GID, &want,
                                &info), 0);
    EXPECT_EQ(info.uid, 7);
    EXPECT_EQ(info.gid, 8);
    want.uid = 9;
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_GID, &want, &info), 0);
    EXPECT_EQ(info.uid, 7); /* only what valid says */

    /* KILL_SUID: S_ISGID goes only together with group execution. */
    want.mode = 06755;
    fi.set_basic_info(fs, ctx, FSP_SET_MODE, &want, &info);
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_KILL_SUID, &want, &info), 0);
    EXPECT_EQ(info.mode & 07777, 0755);
    want.mode = 06745;
    fi.set_basic_info(fs, ctx, FSP_SET_MODE, &want, &info);
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_KILL_SUID, &want, &info), 0);
    EXPECT_EQ(info.mode & 07777, 02745);

    /* Explicit times, to the nanosecond, and "now". */
    want.atime.tv_sec = 1000000000;
    want.atime.tv_nsec = 123456789;
    want.mtime.tv_sec = 1200000000;
    want.mtime.tv_nsec = 987654321;
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_ATIME | FSP_SET_MTIME, &want,
                                &info), 0);
    EXPECT_EQ(timespec_cmp(info.atime, want.atime), 0);
    EXPECT_EQ(timespec_cmp(info.mtime, want.mtime), 0);
    EXPECT_TRUE(timespec_cmp(info.ctime, before.ctime) > 0);
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_ATIME_NOW, &want, &info), 0);
    EXPECT_TRUE(timespec_cmp(info.atime, before.atime) > 0);
    EXPECT_EQ(timespec_cmp(info.mtime, want.mtime), 0);
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_MTIME_NOW, &want, &info), 0);
    EXPECT_TRUE(timespec_cmp(info.mtime, before.mtime) > 0);

    want.ctime.tv_sec = 42;
    want.ctime.tv_nsec = 7;
    EXPECT_EQ(fi.set_basic_info(fs, ctx, FSP_SET_CTIME | FSP_SET_UID, &want,
                                &info), 0);
    EXPECT_EQ(timespec_cmp(info.ctime, want.ctime), 0);
    before = info;
    EXPECT_EQ(fi.set_basic_info(fs, ctx, 0, &want, &info), 0);
    EXPECT_EQ(timespec_cmp(info.ctime, before.ctime), 0); /* nothing asked */
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
}

static void test_xattrs(void)
{
    char buf[300], name[300];
    static char big[MEMFS_XATTR_VALUE_MAX + 1];
    size_t len;
    void *ctx, *link;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    EXPECT_EQ(make_symlink("/l", "f"), 0);
    ctx = open_file("/f", FSP_OPEN_META, &err);

    EXPECT_EQ(fi.get_xattr(fs, ctx, "user.a", buf, sizeof buf, &len), -ENODATA);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "user.a", "one", 3, 0), 0);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "trusted.b", "", 0, 0), 0);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "security.c", "33", 2, XATTR_CREATE), 0);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "system.d", "4", 1, 0), 0);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "user.a", "x", 1, XATTR_CREATE), -EEXIST);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "user.z", "x", 1, XATTR_REPLACE), -ENODATA);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "other.a", "x", 1, 0), -EOPNOTSUPP);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "", "x", 1, 0), -ERANGE);
    memset(name, 'n', sizeof name);
    memcpy(name, "user.", 5);
    name[256] = '\0';
    EXPECT_EQ(fi.set_xattr(fs, ctx, name, "x", 1, 0), -ERANGE);
    name[255] = '\0';
    EXPECT_EQ(fi.set_xattr(fs, ctx, name, "x", 1, 0), 0);
    EXPECT_EQ(fi.remove_xattr(fs, ctx, name), 0);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "user.big", big, sizeof big, 0), -E2BIG);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "user.big", big, sizeof big - 1, 0), 0);
    EXPECT_EQ(fi.get_xattr(fs, ctx, "user.big", NULL, 0, &len), 0);
    EXPECT_EQ(len, MEMFS_XATTR_VALUE_MAX);
    EXPECT_EQ(fi.remove_xattr(fs, ctx, "user.big"), 0);

    /* Size 0 asks for the length; too small a buffer is ERANGE. */
    EXPECT_EQ(fi.get_xattr(fs, ctx, "user.a", NULL, 0, &len), 0);
    EXPECT_EQ(len, 3);
    EXPECT_EQ(fi.get_xattr(fs, ctx, "user.a", buf, 2, &len), -ERANGE);
    EXPECT_EQ(fi.get_xattr(fs, ctx, "user.a", buf, sizeof buf, &len), 0);
    EXPECT_EQ(len, 3);
    EXPECT_TRUE(memcmp(buf, "one", 3) == 0);
    EXPECT_EQ(fi.set_xattr(fs, ctx, "user.a", "longer", 6, XATTR_REPLACE), 0);
    EXPECT_EQ(fi.get_xattr(fs, ctx, "user.a", buf, sizeof buf, &len), 0);
    EXPECT_EQ(len, 6);
    EXPECT_EQ(fi.get_xattr(fs, ctx, "trusted.b", buf, sizeof buf, &len), 0);
    EXPECT_EQ(len, 0);

    /* The list keeps the order of creation, also across a replace. */
    EXPECT_EQ(fi.list_xattr(fs, ctx, NULL, 0, &len), 0);
    EXPECT_EQ(len, sizeof "user.a\0trusted.b\0security.c\0system.d");
    EXPECT_EQ(fi.list_xattr(fs, ctx, buf, len - 1, &len), -ERANGE);
    EXPECT_EQ(fi.list_xattr(fs, ctx, buf, sizeof buf, &len), 0);
    EXPECT_TRUE(memcmp(buf, "user.a\0trusted.b\0security.c\0system.d", len) == 0);

    EXPECT_EQ(fi.remove_xattr(fs, ctx, "user.a"), 0);
    EXPECT_EQ(fi.remove_xattr(fs, ctx, "user.a"), -ENODATA);
    EXPECT_EQ(fi.remove_xattr(fs, ctx, "bad"), -EOPNOTSUPP);
    EXPECT_EQ(fi.list_xattr(fs, ctx, buf, sizeof buf, &len), 0);
    EXPECT_EQ(len, sizeof "trusted.b\0security.c\0system.d");
    EXPECT_TRUE(m->used_bytes > 0);

    /* user.* on a symlink: Linux's rule. Other namespaces are fine. */
    link = open_file("/l", FSP_OPEN_META, &err);
    EXPECT_EQ(fi.set_xattr(fs, link, "user.a", "x", 1, 0), -EPERM);
    EXPECT_EQ(fi.remove_xattr(fs, link, "user.a"), -EPERM);
    EXPECT_EQ(fi.get_xattr(fs, link, "user.a", buf, sizeof buf, &len),
              -ENODATA);
    EXPECT_EQ(fi.set_xattr(fs, link, "trusted.a", "x", 1, 0), 0);
    fi.close(fs, link);
    fi.close(fs, ctx);

    /* The attributes' bytes are given back with the file. */
    EXPECT_EQ(fi.unlink(fs, NULL, "/f"), 0);
    EXPECT_EQ(fi.unlink(fs, NULL, "/l"), 0);
    EXPECT_EQ(m->used_bytes, 0);
    check_volume_consistent();
    teardown();
}

/* The AVL map alone: random inserts and removals against a bitmap. */
static void test_dirmap(void)
{
    enum { KEYS = 4000, OPS = 40000 };
    struct memfs_dirmap map = {0};
    static bool present[KEYS];
    struct memfs_dirent *e;
    char name[32];
    bool agree = true, sound = true;
    size_t count = 0, i;

    for (i = 0; i < OPS; i++) {
        unsigned key = (unsigned)rnd(KEYS);
        size_t len = (size_t)snprintf(name, sizeof name, "k%u", key);

        e = memfs_dirmap_find(&map, name, len);
        agree &= (e != NULL) == present[key];
        if (present[key]) {
            e = memfs_dirmap_remove(&map, name, len);
            agree &= e != NULL;
            free(e);
        } else {
            memfs_dirmap_insert(&map, memfs_dirent_new(name, len, NULL));
        }
        present[key] = !present[key];
        if (i % 1000 == 0)
            sound &= memfs_dirmap_validate(&map) == 0;
    }
    EXPECT_TRUE(agree);
    EXPECT_TRUE(sound);
    EXPECT_EQ(memfs_dirmap_validate(&map), 0);
    for (i = 0; i < KEYS; i++)
        count += present[i];
    EXPECT_EQ(map.count, count);

    /* first_after walks every entry once, in order. */
    i = 0;
    name[0] = '\0';
    for (e = memfs_dirmap_first_after(&map, NULL, 0); e;
         e = memfs_dirmap_first_after(&map, e->name, e->name_len)) {
        agree &= strcmp(name, e->name) < 0;
        strcpy(name, e->name);
        i++;
    }
    EXPECT_TRUE(agree);
    EXPECT_EQ(i, count);
    memfs_dirmap_clear(&map);
    EXPECT_EQ(map.count, 0);
    EXPECT_TRUE(map.root == NULL);
}

/* ---- case-insensitive volumes (WinFsp memfs -i) ---- */

static void setup_case_insensitive(void)
{
    struct memfs_options options;

    memfs_options_init(&options);
    options.case_insensitive = true;
    setup(&options);
}

static void test_case_insensitive_names(void)
{
    fsp_file_info_t info = {0};
    void *ctx;
    uint64_t ino;
    int err;

    setup_case_insensitive();
    EXPECT_EQ(make("/Foo", S_IFREG | 0644), 0);
    ino = stat_path("/Foo", NULL).index_number;
    /* Every spelling finds it, by stat and by open. */
    EXPECT_EQ(stat_path("/foo", NULL).index_number, ino);
    EXPECT_EQ(stat_path("/FOO", NULL).index_number, ino);
    EXPECT_EQ(stat_path("/fOo", NULL).index_number, ino);
    ctx = open_file("/FOO", O_RDWR, &err);
    EXPECT_EQ(err, 0);
    EXPECT_EQ(write_at(ctx, "x", 0, 1, NULL), 0);
    fi.close(fs, ctx);
    EXPECT_EQ(stat_path("/foo", NULL).size, 1);
    /* Creating another spelling is creating the same name. */
    EXPECT_EQ(make("/FOO", S_IFREG | 0644), -EEXIST);
    EXPECT_EQ(make("/foo", S_IFDIR | 0755), -EEXIST);
    EXPECT_EQ(make_symlink("/fOO", "x"), -EEXIST);
    EXPECT_EQ(m->node_count, 2);
    /* Directories on the way are found by any case too. */
    EXPECT_EQ(make("/Dir", S_IFDIR | 0755), 0);
    EXPECT_EQ(make("/DIR/Inner", S_IFREG | 0644), 0);
    EXPECT_EQ(stat_error("/dir/inner"), 0);
    EXPECT_EQ(stat_error("/dIR/INNER"), 0);
    EXPECT_EQ(strcmp(list_dir("/dir", 64, NULL), "Inner|"), 0);
    EXPECT_EQ(stat_error("/dir/inner/x"), -ENOTDIR);
    EXPECT_EQ(stat_error("/dirx/inner"), -ENOENT);
    /* Letters beyond ASCII: Latin-1, Greek (with final sigma), Cyrillic. */
    EXPECT_EQ(make("/Ärger", S_IFREG | 0644), 0);
    EXPECT_EQ(stat_error("/äRGER"), 0);
    EXPECT_EQ(make("/ÄRGER", S_IFREG | 0644), -EEXIST);
    EXPECT_EQ(make("/ΣΊΣΥΦΟΣ", S_IFREG | 0644), 0);
    EXPECT_EQ(stat_error("/σίσυφος"), 0);
    EXPECT_EQ(stat_error("/σίσυφοσ"), 0);
    EXPECT_EQ(make("/Москва", S_IFDIR | 0755), 0);
    EXPECT_EQ(stat_error("/МОСКВА"), 0);
    EXPECT_EQ(stat_error("/москва"), 0);
    /* Different letters stay different. */
    EXPECT_EQ(stat_error("/Arger"), -ENOENT);
    EXPECT_EQ(stat_error("/fo"), -ENOENT);
    /* Unlink by another spelling removes the one name. */
    EXPECT_EQ(fi.unlink(fs, NULL, "/fOO"), 0);
    EXPECT_EQ(stat_error("/Foo"), -ENOENT);
    EXPECT_EQ(fi.unlink(fs, NULL, "/foo"), -ENOENT);
    EXPECT_EQ(fi.unlink(fs, NULL, "/dir"), -ENOTEMPTY);
    EXPECT_EQ(fi.unlink(fs, NULL, "/dir/INNER"), 0);
    EXPECT_EQ(fi.unlink(fs, NULL, "/dir"), 0);
    EXPECT_EQ(stat_path("/", NULL).nlink, 3); /* "Москва" is left */
    /* Hard links: a name of any case that exists is EEXIST; a new one
     * is found by any case afterwards. */
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/G", S_IFREG | 0644), 0);
    ctx = open_file("/F", FSP_OPEN_META, &err);
    EXPECT_EQ(fi.link(fs, ctx, "/g", &info), -EEXIST);
    EXPECT_EQ(fi.link(fs, ctx, "/ärger", &info), -EEXIST);
    EXPECT_EQ(fi.link(fs, ctx, "/Link", &info), 0);
    EXPECT_EQ(info.nlink, 2);
    fi.close(fs, ctx);
    EXPECT_EQ(stat_path("/LINK", NULL).index_number,
              stat_path("/f", NULL).index_number);
    EXPECT_EQ(fi.unlink(fs, NULL, "/link"), 0);
    EXPECT_EQ(stat_path("/F", NULL).nlink, 1);
    check_volume_consistent();
    teardown();
}

static void test_case_insensitive_rename(void)
{
    uint64_t ino_a, ino_d;

    setup_case_insensitive();
    EXPECT_EQ(make("/a", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/b", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/Sub", S_IFDIR | 0755), 0);
    ino_a = stat_path("/a", NULL).index_number;

    /* The source is found by any case; the name is kept as written. */
    EXPECT_EQ(fi.rename(fs, NULL, "/A", "/sub/Moved", 0), 0);
    EXPECT_EQ(stat_error("/a"), -ENOENT);
    EXPECT_EQ(stat_path("/SUB/MOVED", NULL).index_number, ino_a);
    EXPECT_EQ(strcmp(list_dir("/sub", 64, NULL), "Moved|"), 0);

    /* A change of spelling only: the same file, now listed as "MOVED". */
    EXPECT_EQ(fi.rename(fs, NULL, "/Sub/moved", "/Sub/MOVED", 0), 0);
    EXPECT_EQ(stat_path("/sub/moved", NULL).index_number, ino_a);
    EXPECT_EQ(strcmp(list_dir("/sub", 64, NULL), "MOVED|"), 0);
    /* Even with NOREPLACE: the target is the source itself. */
    EXPECT_EQ(fi.rename(fs, NULL, "/Sub/MOVED", "/Sub/Moved",
                        FSP_RENAME_NOREPLACE), 0);
    EXPECT_EQ(strcmp(list_dir("/sub", 64, NULL), "Moved|"), 0);
    /* The same spelling again: nothing happens. */
    EXPECT_EQ(fi.rename(fs, NULL, "/Sub/Moved", "/Sub/Moved", 0), 0);
    EXPECT_EQ(strcmp(list_dir("/sub", 64, NULL), "Moved|"), 0);
    EXPECT_EQ(m->node_count, 4);

    /* Onto a name that differs only in case from another file: that
     * file is replaced as usual, and the name is spelled as given. */
    EXPECT_EQ(fi.rename(fs, NULL, "/sub/moved", "/B",
                        FSP_RENAME_NOREPLACE), -EEXIST);
    EXPECT_EQ(fi.rename(fs, NULL, "/sub/moved", "/B", 0), 0);
    EXPECT_EQ(m->node_count, 3); /* the old "b" is gone */
    EXPECT_EQ(stat_path("/b", NULL).index_number, ino_a);
    EXPECT_EQ(strcmp(list_dir("/", 64, NULL), "B|Sub|"), 0);

    /* Directories: a spelling change keeps the contents and the links. */
    EXPECT_EQ(make("/sub/x", S_IFREG | 0644), 0);
    ino_d = stat_path("/sub", NULL).index_number;
    EXPECT_EQ(fi.rename(fs, NULL, "/SUB", "/sub", 0), 0);
    EXPECT_EQ(stat_path("/SUB", NULL).index_number, ino_d);
    EXPECT_EQ(stat_error("/Sub/X"), 0);
    EXPECT_EQ(stat_path("/", NULL).nlink, 3);
    EXPECT_EQ(strcmp(list_dir("/", 64, NULL), "B|sub|"), 0);
    /* Into itself by another spelling is still refused. */
    EXPECT_EQ(fi.rename(fs, NULL, "/sub", "/SUB/inner", 0), -EINVAL);

    /* Exchange finds both names by any case. */
    EXPECT_EQ(fi.rename(fs, NULL, "/b", "/SUB", FSP_RENAME_EXCHANGE), 0);
    EXPECT_EQ(stat_path("/sub", NULL).index_number, ino_a);
    EXPECT_EQ(stat_path("/B", NULL).index_number, ino_d);
    EXPECT_EQ(strcmp(list_dir("/", 64, NULL), "B|sub|"), 0);
    check_volume_consistent();
    teardown();
}

/* The default: "a" and "A" are two files, and rename between them
 * replaces one with the other. */
static void test_case_sensitive_names_stay_apart(void)
{
    setup(NULL);
    EXPECT_EQ(make("/a", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/A", S_IFREG | 0644), 0);
    EXPECT_TRUE(stat_path("/a", NULL).index_number !=
                stat_path("/A", NULL).index_number);
    EXPECT_EQ(stat_error("/Ä"), -ENOENT);
    EXPECT_EQ(strcmp(list_dir("/", 64, NULL), "A|a|"), 0);
    EXPECT_EQ(fi.rename(fs, NULL, "/a", "/A", 0), 0);
    EXPECT_EQ(strcmp(list_dir("/", 64, NULL), "A|"), 0);
    EXPECT_EQ(m->node_count, 2);
    check_volume_consistent();
    teardown();
}

static void test_case_insensitive_read_directory(void)
{
    static const char *names[] = {"b", "A", "ab", "C", "é", "D", "Éa", "e"};
    static const char *all = "A|ab|b|C|D|e|é|Éa|";
    fsp_dir_buffer_t *buf = malloc(sizeof *buf);
    char path[32];
    size_t i;
    void *ctx;
    int err;

    setup_case_insensitive();
    EXPECT_EQ(make("/d", S_IFDIR | 0755), 0);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "/d/%s", names[i]);
        EXPECT_EQ(make(path, S_IFREG | 0644), 0);
    }
    /* Listed as created, in folded order, whatever the page size. */
    EXPECT_EQ(strcmp(list_dir("/d", 64, NULL), all), 0);
    EXPECT_EQ(strcmp(list_dir("/D", 1, NULL), all), 0);
    EXPECT_EQ(strcmp(list_dir("/d", 3, NULL), all), 0);
    /* Resuming after each marker while it is unlinked loses nothing. */
    EXPECT_EQ(strcmp(list_dir("/d", 2, unlink_marker), all), 0);
    EXPECT_EQ(strcmp(list_dir("/d", 64, NULL), "A|b|D|é|"), 0);

    /* A marker that differs only in case from an entry resumes after
     * that entry: it is the same name. */
    ctx = open_file("/d", O_RDONLY, &err);
    selftest_dir_buffer_init(buf, 64);
    EXPECT_EQ(fi.read_directory(fs, ctx, "a", buf), 0);
    EXPECT_EQ(buf->count, 3);
    EXPECT_EQ(strcmp(buf->names[0], "b"), 0);
    selftest_dir_buffer_init(buf, 64);
    EXPECT_EQ(fi.read_directory(fs, ctx, "B", buf), 0);
    EXPECT_EQ(buf->count, 2);
    EXPECT_EQ(strcmp(buf->names[0], "D"), 0);
    selftest_dir_buffer_init(buf, 64);
    EXPECT_EQ(fi.read_directory(fs, ctx, "É", buf), 0);
    EXPECT_EQ(buf->count, 0);
    /* A marker that is not there resumes at the next name in order. */
    selftest_dir_buffer_init(buf, 64);
    EXPECT_EQ(fi.read_directory(fs, ctx, "C", buf), 0);
    EXPECT_EQ(buf->count, 2);
    EXPECT_EQ(strcmp(buf->names[0], "D"), 0);
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
    free(buf);
}

/* The AVL map in case-insensitive mode: random keys in random case,
 * against a bitmap of which folded keys are present. */
static void test_dirmap_case_insensitive(void)
{
    enum { KEYS = 2000, OPS = 20000 };
    struct memfs_dirmap map = {.case_insensitive = true};
    static bool present[KEYS];
    struct memfs_dirent *e;
    char name[32], prev[32];
    bool agree = true, sound = true;
    size_t count = 0, i, j, len;

    for (i = 0; i < OPS; i++) {
        unsigned key = (unsigned)rnd(KEYS);

        len = (size_t)snprintf(name, sizeof name, "key%u", key);
        for (j = 0; j < len; j++) /* a random spelling of the same key */
            if (rnd(2))
                name[j] = (char)toupper((unsigned char)name[j]);
        e = memfs_dirmap_find(&map, name, len);
        agree &= (e != NULL) == present[key];
        if (present[key]) {
            e = memfs_dirmap_remove(&map, name, len);
            agree &= e != NULL && strcasecmp(e->name, name) == 0;
            free(e);
        } else {
            memfs_dirmap_insert(&map, memfs_dirent_new(name, len, NULL));
        }
        present[key] = !present[key];
        if (i % 1000 == 0)
            sound &= memfs_dirmap_validate(&map) == 0;
    }
    EXPECT_TRUE(agree);
    EXPECT_TRUE(sound);
    EXPECT_EQ(memfs_dirmap_validate(&map), 0);
    for (i = 0; i < KEYS; i++)
        count += present[i];
    EXPECT_EQ(map.count, count);

    /* first_after walks every entry once, in folded order, also when
     * each marker is given in upper case. */
    i = 0;
    prev[0] = '\0';
    for (e = memfs_dirmap_first_after(&map, NULL, 0); e;) {
        agree &= strcasecmp(prev, e->name) < 0;
        snprintf(prev, sizeof prev, "%s", e->name);
        for (j = 0; prev[j]; j++)
            name[j] = (char)toupper((unsigned char)prev[j]);
        i++;
        e = memfs_dirmap_first_after(&map, name, j);
    }
    EXPECT_TRUE(agree);
    EXPECT_EQ(i, count);
    /* A name longer than any entry can be is never found. */
    memset(name, 'k', sizeof name);
    EXPECT_TRUE(memfs_dirmap_find(&map, name, MEMFS_DIRMAP_NAME_MAX + 1) == NULL);
    memfs_dirmap_clear(&map);
    EXPECT_EQ(map.count, 0);
}

/* The page tree alone: random writes, zeroing and reads against a flat
 * copy, across the 2 MiB boundary where a second index level begins. */
static void test_data(void)
{
    enum { SIZE = 5 << 20, OPS = 3000 };
    unsigned char *model = calloc(1, SIZE), *buf = malloc(SIZE);
    struct memfs_data data = {0};
    bool agree = true;
    int i;

    /* A one-page tree (height 0) asked about ranges past its page. */
    EXPECT_EQ(memfs_data_write(&data, "x", 0, 1), 0);
    EXPECT_EQ(data.height, 0);
    EXPECT_EQ(memfs_data_missing_pages(&data, 4096, 1), 1);
    EXPECT_EQ(memfs_data_missing_pages(&data, 0, 8192), 1);
    memfs_data_zero(&data, 8192, 100);
    EXPECT_EQ(data.page_count, 1);
    memfs_data_zero(&data, 1, UINT64_MAX);
    memfs_data_read(&data, buf, 0, 2);
    EXPECT_TRUE(memcmp(buf, "x", 2) == 0);
    memfs_data_free(&data);
    EXPECT_TRUE(data.root == NULL);

    for (i = 0; i < OPS; i++) {
        uint64_t offset = rnd(SIZE), length = rnd(SIZE - offset) % 70000;
        int op = (int)rnd(4);

        if (op <= 1) {
            memset(buf, (int)rnd(255) + 1, length);
            agree &= memfs_data_write(&data, buf, offset, length) == 0;
            memcpy(model + offset, buf, length);
        } else if (op == 2) {
            memfs_data_zero(&data, offset, length);
            memset(model + offset, 0, length);
        } else {
            memfs_data_read(&data, buf, offset, length);
            agree &= memcmp(buf, model + offset, length) == 0;
        }
    }
    EXPECT_TRUE(agree);
    memfs_data_read(&data, buf, 0, SIZE);
    EXPECT_TRUE(memcmp(buf, model, SIZE) == 0);
    EXPECT_TRUE(data.page_count <= SIZE / MEMFS_PAGE_SIZE);
    EXPECT_EQ(memfs_data_missing_pages(&data, 0, SIZE),
              SIZE / MEMFS_PAGE_SIZE - data.page_count);

    /* Far offsets, up to the layer's end (2^63): the tree grows to six
     * levels, and stays sparse. */
    agree = memfs_data_write(&data, "far", MEMFS_DATA_MAX_SIZE - 3, 3) == 0;
    EXPECT_TRUE(agree);
    EXPECT_EQ(data.height, 6);
    memfs_data_read(&data, buf, MEMFS_DATA_MAX_SIZE - 4, 4);
    EXPECT_TRUE(memcmp(buf, "\0far", 4) == 0);
    EXPECT_EQ(memfs_data_missing_pages(&data, MEMFS_DATA_MAX_SIZE - 8192, 8192),
              1);

    /* Zeroing "to the end" from 0 frees everything, index blocks too. */
    memfs_data_zero(&data, 0, UINT64_MAX);
    EXPECT_EQ(data.page_count, 0);
    EXPECT_TRUE(data.root == NULL);
    EXPECT_EQ(data.height, 0);
    memfs_data_free(&data);
    free(model);
    free(buf);
}

/* Several threads at once, as fsp's workers call: each works in its own
 * directory, and all share one file and list the root. Checks that the
 * lock holds: the accounting adds up afterwards and nothing crashed. */
static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, i;
    char dir[32], path[64], other[64], buf[512];
    fsp_dir_buffer_t *listing = malloc(sizeof *listing);
    void *shared, *ctx, *root;
    int err;

    snprintf(dir, sizeof dir, "/w%d", id);
    make(dir, S_IFDIR | 0755);
    shared = open_file("/shared", O_RDWR, &err);
    root = open_file("/", O_RDONLY, &err);
    memset(buf, id, sizeof buf);
    for (i = 0; i < 2000; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i % 50);
        snprintf(other, sizeof other, "%s/g%d", dir, i % 50);
        make(path, S_IFREG | 0644);
        ctx = open_file(path, O_RDWR, &err);
        if (ctx) {
            write_at(ctx, buf, (uint64_t)(i % 20) * 100, sizeof buf, NULL);
            read_at(ctx, buf, 0, sizeof buf);
            fi.close(fs, ctx);
        }
        write_at(shared, buf, (uint64_t)(i % 64) * 512, sizeof buf, NULL);
        fi.rename(fs, NULL, path, other, 0);
        if (i % 3 == 0)
            fi.unlink(fs, NULL, other);
        selftest_dir_buffer_init(listing, 8);
        fi.read_directory(fs, root, NULL, listing);
    }
    fi.close(fs, root);
    fi.close(fs, shared);
    free(listing);
    return NULL;
}

static void test_threads(void)
{
    enum { THREADS = 4 };
    pthread_t threads[THREADS];
    int i;

    setup(NULL);
    EXPECT_EQ(make("/shared", S_IFREG | 0644), 0);
    for (i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
    for (i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    EXPECT_EQ(stat_path("/shared", NULL).size, 64 * 512);
    EXPECT_EQ(stat_path("/", NULL).nlink, 2 + THREADS);
    check_volume_consistent();
    teardown();
}

/* slowio: with no delay the callback responds before it returns
 * FSP_PENDING; with a delay the response comes later from slowio's
 * thread; both carry the operation's real result. Outside a request
 * (hint 0: no pending-capable request), it serves directly. */
static void test_slowio(void)
{
    static const char text[] = "slow but sure";
    struct memfs_options o;
    fsp_response_t rsp;
    fsp_dir_buffer_t *listing = malloc(sizeof *listing);
    char buf[64] = {0};
    unsigned before;
    void *ctx, *root;
    size_t n = 0;

    memfs_options_init(&o);
    o.slowio_percent = 100;
    o.slowio_max_delay_ms = 0;
    setup(&o);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    ctx = open_file("/f", O_RDWR, NULL);
    EXPECT_TRUE(ctx != NULL);

    selftest_set_hint(0); /* no request: served at once */
    EXPECT_EQ(write_at(ctx, "x", 0, 1, &n), 0);
    EXPECT_EQ(n, 1);

    selftest_set_hint(2); /* early response, then FSP_PENDING */
    before = selftest_wait_responses(0, 0, NULL);
    EXPECT_EQ(fi.write(fs, ctx, text, 0, sizeof text, 0, &n),
              FSP_PENDING);
    EXPECT_EQ(selftest_wait_responses(before + 1, 0, &rsp), before + 1);
    EXPECT_EQ(rsp.hint, 2);
    EXPECT_EQ(rsp.error, 0);
    EXPECT_EQ(rsp.bytes_transferred, sizeof text);

    selftest_set_hint(4);
    EXPECT_EQ(fi.read(fs, ctx, buf, 0, sizeof buf, &n), FSP_PENDING);
    EXPECT_EQ(selftest_wait_responses(before + 2, 0, &rsp), before + 2);
    EXPECT_EQ(rsp.hint, 4);
    EXPECT_EQ(rsp.bytes_transferred, sizeof text);
    EXPECT_TRUE(memcmp(buf, text, sizeof text) == 0);
    fi.close(fs, ctx);
    teardown();

    /* With a delay: the response comes from slowio's thread. */
    o.slowio_min_delay_ms = 5;
    o.slowio_max_delay_ms = 20;
    setup(&o);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    EXPECT_EQ(make("/g", S_IFREG | 0644), 0);
    ctx = open_file("/f", O_RDWR, NULL);
    root = open_file("/", O_RDONLY | O_DIRECTORY, NULL);
    EXPECT_TRUE(ctx != NULL && root != NULL);
    before = selftest_wait_responses(0, 0, NULL);
    selftest_set_hint(6);
    EXPECT_EQ(fi.write(fs, ctx, text, 0, sizeof text, 0, &n),
              FSP_PENDING);
    EXPECT_EQ(selftest_wait_responses(before + 1, 2000, &rsp), before + 1);
    EXPECT_EQ(rsp.hint, 6);
    EXPECT_EQ(rsp.bytes_transferred, sizeof text);
    EXPECT_EQ(stat_path("/f", NULL).size, sizeof text);

    selftest_set_hint(8);
    selftest_dir_buffer_init(listing, 8);
    EXPECT_EQ(fi.read_directory(fs, root, NULL, listing), FSP_PENDING);
    EXPECT_EQ(selftest_wait_responses(before + 2, 2000, &rsp), before + 2);
    EXPECT_EQ(rsp.hint, 8);
    EXPECT_EQ(rsp.error, 0);
    EXPECT_EQ(listing->count, 2);
    EXPECT_TRUE(strcmp(listing->names[0], "f") == 0);
    EXPECT_TRUE(strcmp(listing->names[1], "g") == 0);
    selftest_set_hint(0);
    fi.close(fs, ctx);
    fi.close(fs, root);
    check_volume_consistent();
    teardown();
    free(listing);
}

/* the page tree's SEEK_DATA/SEEK_HOLE against a page-by-page
 * oracle (missing_pages of one page), over a tree three levels high. */
static void test_data_seek(void)
{
    struct memfs_data data = {0};
    const uint64_t far = (UINT64_C(1) << 30) + 5 * MEMFS_PAGE_SIZE;
    bool agree = true;

    EXPECT_EQ(memfs_data_seek(&data, 0, true), MEMFS_DATA_MAX_SIZE);
    EXPECT_EQ(memfs_data_seek(&data, 12345, false), 12288);
    EXPECT_EQ(memfs_data_write(&data, "x", far + 10, 1), 0);
    EXPECT_EQ(memfs_data_write(&data, "y", 3 * MEMFS_PAGE_SIZE, 1), 0);
    EXPECT_EQ(memfs_data_seek(&data, 0, true), 3 * MEMFS_PAGE_SIZE);
    EXPECT_EQ(memfs_data_seek(&data, 3 * MEMFS_PAGE_SIZE + 1, false),
              4 * MEMFS_PAGE_SIZE);
    EXPECT_EQ(memfs_data_seek(&data, 4 * MEMFS_PAGE_SIZE, true), far);
    EXPECT_EQ(memfs_data_seek(&data, far, false), far + MEMFS_PAGE_SIZE);
    EXPECT_EQ(memfs_data_seek(&data, far + 1, true), far);
    EXPECT_EQ(memfs_data_seek(&data, far + MEMFS_PAGE_SIZE, true),
              MEMFS_DATA_MAX_SIZE);
    for (int i = 0; i < 200; i++)
        EXPECT_EQ(memfs_data_allocate(&data, rnd(64) * MEMFS_PAGE_SIZE, 1), 0);
    for (uint64_t at = 0; at < 70 * MEMFS_PAGE_SIZE; at += 1000) {
        uint64_t d = memfs_data_seek(&data, at, true);
        uint64_t h = memfs_data_seek(&data, at, false);
        uint64_t p = at - at % MEMFS_PAGE_SIZE;

        /* The next page of each kind, and none of it in between. */
        while (memfs_data_missing_pages(&data, p, 1) == 1)
            p += MEMFS_PAGE_SIZE;
        agree &= d == p;
        p = at - at % MEMFS_PAGE_SIZE;
        while (memfs_data_missing_pages(&data, p, 1) == 0)
            p += MEMFS_PAGE_SIZE;
        agree &= h == p;
        if (!agree) {
            fprintf(stderr, "    at %llu: data %llu, hole %llu\n",
                    (unsigned long long)at, (unsigned long long)d,
                    (unsigned long long)h);
            break;
        }
    }
    EXPECT_TRUE(agree);
    memfs_data_free(&data);
}

/* O_TMPFILE, its link, and copy_file_range, by the callbacks. */
static void test_tmpfile_and_copy(void)
{
    fsp_create_info_t ci = {.mode = S_IFREG | 0600, .flags = O_RDWR};
    fsp_file_info_t info = {0};
    unsigned char back[16];
    size_t n = 0;
    void *tmp = NULL, *dst;

    setup(NULL);
    EXPECT_EQ(fi.create_tmpfile(fs, "/", &ci, &tmp, &info), 0);
    EXPECT_EQ(info.nlink, 0);
    EXPECT_TRUE(S_ISREG(info.mode));
    EXPECT_EQ(write_at(tmp, "0123456789", 0, 10, NULL), 0);
    EXPECT_EQ(stat_error("/t"), -ENOENT); /* no name yet */
    EXPECT_EQ(fi.link(fs, tmp, "/t", &info), 0);
    EXPECT_EQ(info.nlink, 1);
    /* Linked once; a second link is an ordinary one. */
    EXPECT_EQ(fi.link(fs, tmp, "/t2", &info), 0);
    EXPECT_EQ(info.nlink, 2);
    EXPECT_EQ(make("/d", S_IFREG | 0644), 0);
    dst = open_file("/d", O_RDWR, NULL);
    EXPECT_EQ(fi.copy_file_range(fs, tmp, 2, dst, 100, 50, 0, &n), 0);
    EXPECT_EQ(n, 8);            /* to the source's end */
    EXPECT_EQ(stat_path("/d", NULL).size, 108);
    EXPECT_EQ(read_at(dst, back, 100, 8), 8);
    EXPECT_TRUE(memcmp(back, "23456789", 8) == 0);
    EXPECT_EQ(fi.copy_file_range(fs, tmp, 10, dst, 0, 50, 0, &n), 0);
    EXPECT_EQ(n, 0);            /* from the end: nothing */
    fi.close(fs, tmp);
    fi.close(fs, dst);
    /* An unnamed one goes with its last close. */
    EXPECT_EQ(fi.create_tmpfile(fs, "/", &ci, &tmp, &info), 0);
    fi.close(fs, tmp);
    check_volume_consistent();
    teardown();
}

/* A POSIX lock of @owner over [start, end]. */
static fsp_lock_t lock_of(uint64_t owner, uint32_t type, uint64_t start,
                          uint64_t end)
{
    fsp_lock_t l = {.owner = owner, .start = start, .end = end,
                    .type = type, .pid = (uint32_t)owner};
    return l;
}

/* The conflict get_lock() reports for @want (type F_UNLCK: none). */
static fsp_lock_t conflict_for(void *ctx, fsp_lock_t want)
{
    fsp_lock_t c = {.type = F_UNLCK};

    EXPECT_EQ(fi.get_lock(fs, ctx, &want, &c), 0);
    return c;
}

static void test_locks(void)
{
    fsp_lock_t l, c;
    fsp_response_t rsp;
    unsigned before;
    void *ctx;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    ctx = open_file("/f", O_RDWR, NULL);
    /* owner 1: read [0, 99], then write [40, 59], unlock [80, 89] */
    l = lock_of(1, F_RDLCK, 0, 49);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);
    l = lock_of(1, F_RDLCK, 50, 99);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);
    l = lock_of(1, F_WRLCK, 40, 59);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);
    l = lock_of(1, F_UNLCK, 80, 89);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);
    c = conflict_for(ctx, lock_of(2, F_WRLCK, 0, 0));
    EXPECT_EQ(c.type, F_RDLCK);
    EXPECT_EQ(c.end, 39);               /* merged, then split */
    EXPECT_EQ(c.pid, 1);
    c = conflict_for(ctx, lock_of(2, F_RDLCK, 45, 45));
    EXPECT_EQ(c.type, F_WRLCK);
    EXPECT_EQ(c.start, 40);
    EXPECT_EQ(c.end, 59);
    c = conflict_for(ctx, lock_of(2, F_WRLCK, 80, 89));
    EXPECT_EQ(c.type, F_UNLCK);         /* the hole */
    c = conflict_for(ctx, lock_of(1, F_WRLCK, 0, 99));
    EXPECT_EQ(c.type, F_UNLCK);         /* an owner never conflicts */
    l = lock_of(2, F_RDLCK, 0, 10);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);      /* read shares */
    l = lock_of(2, F_WRLCK, 45, 45);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), -EAGAIN);

    /* a wait pends, and owner 1's unlock grants it */
    before = selftest_wait_responses(0, 0, NULL);
    selftest_set_hint(11);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, FSP_LOCK_WAIT), FSP_PENDING);
    selftest_set_hint(0);
    l = lock_of(1, F_UNLCK, 0, INT64_MAX);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);
    EXPECT_EQ(selftest_wait_responses(before + 1, 0, &rsp), before + 1);
    EXPECT_EQ(rsp.hint, 11);
    EXPECT_EQ(rsp.error, 0);
    c = conflict_for(ctx, lock_of(3, F_RDLCK, 45, 45));
    EXPECT_EQ(c.type, F_WRLCK);
    EXPECT_EQ(c.pid, 2);

    /* a wait the caller gave up (hint unknown: -ENOENT) takes nothing */
    l = lock_of(3, F_WRLCK, 0, 0);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, FSP_LOCK_WAIT), FSP_PENDING);
    l = lock_of(2, F_UNLCK, 0, INT64_MAX);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);
    c = conflict_for(ctx, lock_of(4, F_WRLCK, 0, 99));
    EXPECT_EQ(c.type, F_UNLCK);

    /* the owner's close ends its waits with EINTR */
    l = lock_of(5, F_WRLCK, 0, 0);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, 0), 0);
    selftest_set_hint(12);
    l = lock_of(6, F_WRLCK, 0, 0);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, FSP_LOCK_WAIT), FSP_PENDING);
    selftest_set_hint(0);
    before = selftest_wait_responses(0, 0, NULL);
    l = lock_of(6, F_UNLCK, 0, INT64_MAX);
    EXPECT_EQ(fi.set_lock(fs, ctx, &l, FSP_LOCK_CLOSE), 0);
    EXPECT_EQ(selftest_wait_responses(before + 1, 0, &rsp), before + 1);
    EXPECT_EQ(rsp.hint, 12);
    EXPECT_EQ(rsp.error, -EINTR);

    /* flock: per owner, apart from POSIX locks, converted */
    EXPECT_EQ(fi.flock(fs, ctx, 7, LOCK_SH | LOCK_NB), 0);
    EXPECT_EQ(fi.flock(fs, ctx, 8, LOCK_SH | LOCK_NB), 0);
    EXPECT_EQ(fi.flock(fs, ctx, 8, LOCK_EX | LOCK_NB), -EAGAIN);
    EXPECT_EQ(fi.flock(fs, ctx, 7, LOCK_UN), 0);
    EXPECT_EQ(fi.flock(fs, ctx, 8, LOCK_EX | LOCK_NB), 0);
    EXPECT_EQ(fi.flock(fs, ctx, 7, LOCK_SH | LOCK_NB), -EAGAIN);
    fi.close(fs, ctx);      /* the last close drops what is left */
    ctx = open_file("/f", O_RDWR, NULL);
    EXPECT_EQ(fi.flock(fs, ctx, 7, LOCK_EX | LOCK_NB), 0);
    c = conflict_for(ctx, lock_of(9, F_WRLCK, 0, INT64_MAX));
    EXPECT_EQ(c.type, F_UNLCK);
    fi.close(fs, ctx);
    check_volume_consistent();
    teardown();
}

static void test_attribute_flags(void)
{
    int flags = FS_IMMUTABLE_FL, got = 0;
    size_t n = 0;
    void *ctx, *dir;
    int err;

    setup(NULL);
    EXPECT_EQ(make("/f", S_IFREG | 0644), 0);
    ctx = open_file("/f", O_RDONLY, NULL);
    EXPECT_EQ(fi.ioctl(fs, ctx, FS_IOC_SETFLAGS, &flags, sizeof flags, NULL,
                       0, &n), 0);
    EXPECT_EQ(fi.ioctl(fs, ctx, FS_IOC_GETFLAGS, NULL, 0, &got, sizeof got,
                       &n), 0);
    EXPECT_EQ(n, sizeof got);
    EXPECT_EQ(got, FS_IMMUTABLE_FL);
    EXPECT_TRUE(open_file("/f", O_WRONLY, &err) == NULL);
    EXPECT_EQ(err, -EPERM);
    dir = open_file("/", O_RDONLY | O_DIRECTORY, NULL);
    EXPECT_EQ(fi.unlink(fs, ctx, "/f"), -EPERM);
    EXPECT_EQ(fi.set_file_size(fs, ctx, 0, &(fsp_file_info_t){0}), -EPERM);
    flags = FS_APPEND_FL;
    EXPECT_EQ(fi.ioctl(fs, ctx, FS_IOC_SETFLAGS, &flags, sizeof flags, NULL,
                       0, &n), 0);
    EXPECT_EQ(fi.write(fs, ctx, "x", 0, 1, 0, &n), -EPERM);
    EXPECT_EQ(fi.write(fs, ctx, "x", 0, 1, FSP_WRITE_TO_END_OF_FILE, &n), 0);
    EXPECT_EQ(fi.unlink(fs, ctx, "/f"), -EPERM);
    flags = 1 << 30;        /* a flag memfs does not keep */
    EXPECT_EQ(fi.ioctl(fs, ctx, FS_IOC_SETFLAGS, &flags, sizeof flags, NULL,
                       0, &n), -EOPNOTSUPP);
    EXPECT_EQ(fi.ioctl(fs, ctx, 0x1234, NULL, 0, NULL, 0, &n), -ENOTTY);
    flags = 0;
    EXPECT_EQ(fi.ioctl(fs, ctx, FS_IOC_SETFLAGS, &flags, sizeof flags, NULL,
                       0, &n), 0);
    EXPECT_EQ(fi.unlink(fs, ctx, "/f"), 0);
    fi.close(fs, ctx);
    fi.close(fs, dir);
    check_volume_consistent();
    teardown();
}

int main(void)
{
    static const struct expect_case tests[] = {
        {"root", test_root},
        {"paths", test_paths},
        {"types", test_types},
        {"open_rules", test_open_rules},
        {"read_write", test_read_write},
        {"truncate", test_truncate},
        {"allocate", test_allocate},
        {"limits", test_limits},
        {"directories", test_directories},
        {"setgid_inheritance", test_setgid_inheritance},
        {"hard_links", test_hard_links},
        {"rename", test_rename},
        {"rename_exchange", test_rename_exchange},
        {"read_directory", test_read_directory},
        {"big_directory", test_big_directory},
        {"set_basic_info", test_set_basic_info},
        {"xattrs", test_xattrs},
        {"dirmap", test_dirmap},
        {"case_insensitive_names", test_case_insensitive_names},
        {"case_insensitive_rename", test_case_insensitive_rename},
        {"case_sensitive_names_stay_apart",
         test_case_sensitive_names_stay_apart},
        {"case_insensitive_read_directory",
         test_case_insensitive_read_directory},
        {"dirmap_case_insensitive", test_dirmap_case_insensitive},
        {"data", test_data},
        {"threads", test_threads},
        {"slowio", test_slowio},
        {"data_seek", test_data_seek},
        {"tmpfile_and_copy", test_tmpfile_and_copy},
        {"locks", test_locks},
        {"attribute_flags", test_attribute_flags},
    };
    return expect_run("memfs_selftest", tests, sizeof tests / sizeof tests[0]);
}
