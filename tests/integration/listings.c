/*
 * listings.c - directory listings under seekdir(3) and telldir(3): every
 * saved position resumes at the entry it was saved before, a listing with
 * seeks costs time linear in the directory's size (a rescan per seek made
 * it quadratic: 138 s for 4,000 entries on ptfs), and "." and ".." carry
 * the inode numbers stat() shows, also after a seek (xfstests generic/257
 * and generic/637 found ".." at 0).
 *
 * Also over ptfs (integration.listings.ptfs), and on a plain directory
 * with FSP_TEST_DIR, where the same rules hold on tmpfs and ext4.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Make directory @dir with @n empty files in it. */
static void make_files(const char *dir, int n)
{
    ASSERT_OK(mkdir(h_path("%s", dir), 0755));
    for (int i = 0; i < n; i++) {
        int fd = ASSERT_OK(open(h_path("%s/file%05d", dir, i),
                                O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        close(fd);
    }
}

/* A listing read once, with the telldir() position before each entry. */
struct listing {
    int count;
    long *pos;
    char (*name)[NAME_MAX + 1];
};

static void read_listing(DIR *d, struct listing *l, int cap)
{
    struct dirent *e;

    l->count = 0;
    l->pos = calloc((size_t)cap, sizeof *l->pos);
    l->name = calloc((size_t)cap, sizeof *l->name);
    ASSERT_TRUE(l->pos && l->name);
    rewinddir(d);
    for (;;) {
        long pos = telldir(d);

        errno = 0;
        e = readdir(d);
        if (!e)
            break;
        ASSERT_LT(l->count, cap);
        l->pos[l->count] = pos;
        snprintf(l->name[l->count], sizeof l->name[0], "%s", e->d_name);
        l->count++;
    }
    ASSERT_EQ(errno, 0);
}

static void free_listing(struct listing *l)
{
    free(l->pos);
    free(l->name);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The @k-th of @n indexes in a scrambled order that visits each once: a
 * prime stride that does not divide @n. */
static int scrambled(int k, int n)
{
    size_t stride = n % 7919 ? 7919 : 7927;

    return (int)((size_t)k * stride % (size_t)n);
}

/*
 * Seek to every saved position of @l in a scrambled order and read the
 * entry there: it must be the one saved. Returns the seconds it took.
 */
static double seek_everywhere(DIR *d, const struct listing *l)
{
    double start = now_s();
    int wrong = 0;

    for (int k = 0; k < l->count; k++) {
        int i = scrambled(k, l->count);
        struct dirent *e;

        seekdir(d, l->pos[i]);
        e = readdir(d);
        if (!e || strcmp(e->d_name, l->name[i]) != 0) {
            if (wrong++ == 0)
                ADD_FAILURE("seekdir to the position of entry %d (%s) read %s",
                            i, l->name[i], e ? e->d_name : "nothing");
        }
    }
    EXPECT_EQ(wrong, 0);
    return now_s() - start;
}

/* A directory of files opened for timing seeks, with the position of
 * each entry: the d_off of the one before it. */
struct seek_dir {
    int fd, count;
    int64_t *pos;
};

static char dents[4096] __attribute__((aligned(8)));

static void open_seek_dir(struct seek_dir *sd, const char *dir, int n)
{
    long got;

    sd->count = 0;
    sd->pos = calloc((size_t)n + 3, sizeof *sd->pos);
    ASSERT_TRUE(sd->pos != NULL);
    sd->fd = ASSERT_OK(open(h_path("%s", dir), O_RDONLY | O_DIRECTORY));
    while ((got = getdents64(sd->fd, dents, sizeof dents)) > 0) {
        for (long at = 0; at < got;) {
            struct dirent64 *e = (void *)(dents + at);

            ASSERT_LT(sd->count, n + 2);
            sd->pos[++sd->count] = e->d_off;
            at += e->d_reclen;
        }
    }
    ASSERT_EQ(got, 0);
    ASSERT_EQ(sd->count, n + 2); /* with "." and ".." */
}

/*
 * The seconds one round takes: seek to the position of each entry in a
 * scrambled order and read one small buffer there. It seeks with lseek(2)
 * and reads with getdents64(2) into 4 KiB, which is what seekdir(3) and
 * readdir(3) come down to, but with glibc's 32 KiB buffer each read would
 * ask the volume for hundreds of entries: a cost per seek that grows with
 * the directory up to that many, which would blur the ratio below.
 */
static double seek_round(const struct seek_dir *sd)
{
    double start = now_s();

    for (int k = 0; k < sd->count; k++) {
        int i = scrambled(k, sd->count);

        ASSERT_EQ(lseek(sd->fd, sd->pos[i], SEEK_SET), sd->pos[i]);
        ASSERT_GT(getdents64(sd->fd, dents, sizeof dents), 0);
    }
    return now_s() - start;
}

/* Every telldir() position, in any order, resumes at its entry; after a
 * rewinddir() too; and the entries that follow a seek follow in order. */
static void seekdir_to_every_telldir_position_resumes_there(void)
{
    enum { N = 700 };
    struct listing l;
    DIR *d;

    make_files("d", N);
    d = opendir(h_path("d"));
    ASSERT_TRUE(d != NULL);
    read_listing(d, &l, N + 3);
    ASSERT_EQ(l.count, N + 2);
    seek_everywhere(d, &l);
    /* From a position in the middle, the rest of the listing in order. */
    seekdir(d, l.pos[N / 2]);
    for (int i = N / 2; i < l.count; i++) {
        struct dirent *e = readdir(d);

        ASSERT_TRUE(e != NULL);
        EXPECT_STREQ(e->d_name, l.name[i]);
    }
    EXPECT_TRUE(readdir(d) == NULL);
    /* Positions stay valid across a rewind that finds the same names. */
    rewinddir(d);
    EXPECT_TRUE(readdir(d) != NULL);
    seek_everywhere(d, &l);
    free_listing(&l);
    closedir(d);
}

/*
 * Seeking to each of n positions costs O(n) if each seek resumes by name,
 * O(n^2) if each rescans the listing: a + b n per seek, with a the round
 * trip. With 4x the entries, a linear listing takes 4x as long and a
 * quadratic one up to 16x; memfs's old rescan (b = 0.05 us an entry
 * against a = 40 us) made about 10x at these sizes, ptfs's (a stat per
 * entry skipped) minutes. The bound, 8x, leaves a loaded machine room
 * (ptfs made 5.5 there once), and each figure is the best of five rounds.
 */
static void expect_seeks_linear(void)
{
    enum { SMALL = 2000, LARGE = 4 * SMALL, ROUNDS = 5 };
    struct seek_dir sd_small, sd_large;
    double small = 1e9, large = 1e9;

    make_files("small", SMALL);
    make_files("large", LARGE);
    open_seek_dir(&sd_small, "small", SMALL);
    open_seek_dir(&sd_large, "large", LARGE);
    /* Rounds of each in turn, the best of each: a burst of load on the
     * machine slows one round, not all of one size. */
    for (int round = 0; round < ROUNDS; round++) {
        double t = seek_round(&sd_small);

        small = t < small ? t : small;
        t = seek_round(&sd_large);
        large = t < large ? t : large;
    }
    close(sd_small.fd);
    close(sd_large.fd);
    free(sd_small.pos);
    free(sd_large.pos);
    h_note("%d seeks: %.3f s; %d seeks: %.3f s; ratio %.1f (linear 4, "
           "quadratic 16)", SMALL + 2, small, LARGE + 2, large,
           large / (small > 1e-6 ? small : 1e-6));
    /* Below a millisecond the ratio is noise: any speed is linear enough. */
    if (large > 0.05)
        EXPECT_LT(large / small, 8.0);
    /* 8,000 seeks at a request each: seconds at worst, not minutes. */
    EXPECT_LT(large, 20.0);
}

/*
 * Every seek reaches the volume: ptfs, which opens each directory. memfs
 * (one context per file, so no OPENDIR) lets the kernel cache its
 * listings, and the kernel's cache answers a seek by scanning itself from
 * the start (fs/fuse/readdir.c: "Seeked? If so, reset the cache stream"),
 * a cost of its own: memfs is measured with open_handles below.
 */
static void listing_with_seeks_is_linear_in_directory_size(void)
{
    if (h_dir_mode())
        h_skip("the kernel's own file systems may seek in O(n) (tmpfs does)");
    if (strcmp(h_fs_name(), "memfs") == 0)
        h_skip("memfs: the kernel caches its listings (see the open_handles case)");
    expect_seeks_linear();
}

/* memfs with OPENDIR answered: the kernel caches no listing, every seek
 * is a READDIR from the offset it saved. */
static void listing_with_seeks_is_linear_with_open_handles(void)
{
    expect_seeks_linear();
}

/* Inode numbers of "." and ".." in a listing of @dir, read from the start
 * and again after seekdir() back to each of their positions. */
static void dot_inos(const char *dir, ino_t *dot, ino_t *dotdot)
{
    DIR *d = opendir(h_path("%s", dir));
    struct listing l;
    struct dirent *e;

    *dot = *dotdot = 0;
    ASSERT_TRUE(d != NULL);
    read_listing(d, &l, 64);
    for (int i = 0; i < l.count; i++) {
        bool is_dot = strcmp(l.name[i], ".") == 0;

        if (!is_dot && strcmp(l.name[i], "..") != 0)
            continue;
        seekdir(d, l.pos[i]);
        e = readdir(d);
        ASSERT_TRUE(e != NULL);
        ASSERT_STREQ(e->d_name, l.name[i]);
        EXPECT_EQ(e->d_type, DT_DIR);
        EXPECT_NE(e->d_ino, 0);
        if (is_dot)
            *dot = e->d_ino;
        else
            *dotdot = e->d_ino;
        /* Read the rest after the seek, then the same entry afresh: both
         * ways must agree. */
        while (readdir(d) != NULL)
            ;
    }
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0)
            EXPECT_EQ(e->d_ino, *dot);
        else if (strcmp(e->d_name, "..") == 0)
            EXPECT_EQ(e->d_ino, *dotdot);
    }
    free_listing(&l);
    closedir(d);
}

/* "." is the directory's st_ino, ".." its parent's; at the root of the
 * volume, ".." is the root itself (on a plain directory, its parent). */
static void dot_entries_carry_the_inode_numbers_stat_shows(void)
{
    struct stat root, parent, dir, sub;
    ino_t dot, dotdot;

    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(mkdir(h_path("d/sub"), 0755));
    /* Entries beyond "." and "..", so the kernel reads in pieces. */
    for (int i = 0; i < 40; i++)
        ASSERT_OK(mkdir(h_path("d/sub/%02d-a-longer-name-to-fill-replies", i),
                        0755));
    ASSERT_OK(stat(h_root, &root));
    ASSERT_OK(stat(h_path(".."), &parent));
    ASSERT_OK(stat(h_path("d"), &dir));
    ASSERT_OK(stat(h_path("d/sub"), &sub));

    dot_inos("d/sub", &dot, &dotdot);
    EXPECT_EQ(dot, sub.st_ino);
    EXPECT_EQ(dotdot, dir.st_ino);
    dot_inos("d", &dot, &dotdot);
    EXPECT_EQ(dot, dir.st_ino);
    EXPECT_EQ(dotdot, root.st_ino);
    dot_inos(".", &dot, &dotdot);
    EXPECT_EQ(dot, root.st_ino);
    EXPECT_EQ(dotdot, h_dir_mode() ? parent.st_ino : root.st_ino);
}

static const struct h_case cases[] = {
    H_CASE_T(seekdir_to_every_telldir_position_resumes_there, NULL, 0, 120),
    H_CASE_T(listing_with_seeks_is_linear_in_directory_size, NULL, 0, 300),
    H_CASE_T(listing_with_seeks_is_linear_with_open_handles, "open_handles",
             H_DAEMON | H_MEMFS_ONLY, 300),
    H_CASE(dot_entries_carry_the_inode_numbers_stat_shows, NULL, 0),
};

int main(int argc, char **argv)
{
    return h_main("listings", argc, argv, cases, sizeof cases / sizeof *cases);
}
