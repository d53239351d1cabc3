/*
 * deep_paths.c - paths of any length, through a real mount.
 *
 * PATH_MAX (4,096 bytes with the NUL) limits the string a process passes
 * in one system call, not the depth of a tree: with chdir(2) and the *at
 * calls a process reaches as deep as it likes, each call's string short.
 * So a volume must serve paths longer than PATH_MAX, and every case here
 * works at the bottom of a tree of DEPTH directories of NAME_LEN-byte
 * names (about 8 KB of path), reached by descriptors and fchdir: create,
 * mkdir, mknod, symlink, link, rename between two deep directories,
 * unlink, rmdir, chmod, chown, utimens, truncate, stat, open, read,
 * write, readdir, xattrs, statfs. Then a relative path of 4,095 bytes in
 * one call (the longest the kernel takes), and a name of 256 bytes
 * (ENAMETOOLONG at any depth). Over ptfs, the files must be in their
 * places in SOURCE, and a directory of SOURCE swapped for a link out of
 * it (absolute, or by "..") must lead nowhere. Over sqlfs on PostgreSQL,
 * a second mount of the database must hear of changes at the bottom.
 *
 * The expectations hold on tmpfs and ext4 (FSP_TEST_DIR mode); CTest runs
 * the suite on memfs, ptfs and sqlfs (integration.deep_paths[.ptfs|.sqlfs|
 * .sqlfs_pg]).
 * Every tree is removed at the end of its case, by descriptors: no path
 * that a call is given is longer than a name.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define DEPTH 40
#define NAME_LEN 200
/* Where the second chain of a case leaves the first. */
#define FORK_LEVEL 20

/* ------------------------------------------------------------------ */
/* Trees reached by descriptors                                        */

/* A chain of DEPTH directories: dir[0] the start, dir[DEPTH] the bottom,
 * each an O_PATH descriptor; level i of the chain tagged T is named
 * level_name(T, i). */
struct chain {
    int dir[DEPTH + 1];
};

/* The NAME_LEN-byte name of @level of the chain @tag: "A07-hhh...h". */
static const char *level_name(char tag, int level)
{
    static char names[4][NAME_LEN + 1];
    static int next;
    char *n = names[next++ % 4];

    snprintf(n, NAME_LEN + 1, "%c%02d-", tag, level);
    memset(n + 4, 'a' + level % 26, NAME_LEN - 4);
    n[NAME_LEN] = '\0';
    return n;
}

static int open_dir_at(int dir, const char *name)
{
    return openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Make the chain @tag below @start, from level @from (the levels before
 * it are @share's: a second chain that forks off the first there). */
static void chain_make(struct chain *c, char tag, int start,
                       const struct chain *share, int from)
{
    c->dir[0] = ASSERT_OK(dup(start));
    for (int i = 1; i < from; i++)
        c->dir[i] = ASSERT_OK(dup(share->dir[i]));
    for (int i = from; i <= DEPTH; i++) {
        const char *name = level_name(tag, i);

        ASSERT_OK(mkdirat(c->dir[i - 1], name, 0755));
        c->dir[i] = ASSERT_OK(open_dir_at(c->dir[i - 1], name));
    }
}

static void chain_close(struct chain *c)
{
    for (int i = 0; i <= DEPTH; i++)
        close(c->dir[i]);
}

/* The names in the directory @dir (sorted, without "." and ".."), joined
 * by commas into @out. Returns how many there are, or -1. */
static int listing(int dir, char *out, size_t size)
{
    char *names[64];
    int n = 0, fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *e;
    size_t used = 0;
    DIR *d;

    out[0] = '\0';
    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while ((e = readdir(d)) != NULL && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++) /* insertion sort: a few names */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        used += (size_t)snprintf(out + used, used < size ? size - used : 0,
                                 "%s%s", i ? "," : "", names[i]);
        free(names[i]);
    }
    return n;
}

/* Remove @name in @dir and everything below it: the names of a
 * directory are read first, then removed. */
static void remove_tree(int dir, const char *name)
{
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct stat st;
    struct dirent *e;
    DIR *d = NULL;
    int fd;

    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d && fd >= 0)
            close(fd);
        while (d && (e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (count == cap) {
                cap = cap ? 2 * cap : 16;
                names = realloc(names, cap * sizeof *names);
            }
            names[count++] = strdup(e->d_name);
        }
        for (size_t i = 0; i < count; i++) {
            remove_tree(dirfd(d), names[i]);
            free(names[i]);
        }
        free(names);
        if (d)
            closedir(d);
    }
    EXPECT_OK(unlinkat(dir, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0));
}

/* End of a case: remove the tree (chain @b, if any, forks off @a), close
 * the chains' descriptors and @root. */
static void trees_done(int root, struct chain *a, struct chain *b)
{
    remove_tree(root, level_name('A', 1));
    chain_close(a);
    if (b)
        chain_close(b);
    close(root);
}

/* The case's directory, open. */
static int root_dir(void)
{
    return ASSERT_OK(open(h_root, O_PATH | O_DIRECTORY | O_CLOEXEC));
}

/* Write @text as the whole new file @name in @dir. */
static void write_at(int dir, const char *name, const char *text)
{
    int fd = ASSERT_OK(openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
                              0644));

    EXPECT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    EXPECT_OK(close(fd));
}

/* Expect the file @name in @dir to hold exactly @text. */
static void expect_text_at(int dir, const char *name, const char *text)
{
    char buf[256] = "";
    int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        ADD_FAILURE("openat(%s): %s", name, expect_errname(errno));
        return;
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    EXPECT_EQ(n, (ssize_t)strlen(text));
    if (n >= 0) {
        buf[n] = '\0';
        EXPECT_STREQ(buf, text);
    }
}

_Static_assert(DEPTH * (NAME_LEN + 1) > PATH_MAX,
               "the bottom of a chain is deeper than PATH_MAX");

/* ------------------------------------------------------------------ */
/* Every operation at the bottom                                       */

static void deep_files_are_made_written_read_and_listed(void)
{
    int root = root_dir();
    struct chain a;
    struct stat st;
    struct statfs top, deep;
    char buf[64], list[256];
    int fd;

    chain_make(&a, 'A', root, NULL, 1);
    ASSERT_OK(fchdir(a.dir[DEPTH]));
    /* create, write, read back */
    fd = ASSERT_OK(open("file", O_CREAT | O_EXCL | O_RDWR, 0640));
    EXPECT_EQ(write(fd, "deep data\n", 10), 10);
    EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 10);
    EXPECT_MEMEQ(buf, "deep data\n", 10);
    EXPECT_OK(close(fd));
    expect_text_at(a.dir[DEPTH], "file", "deep data\n");
    EXPECT_OK(stat("file", &st));
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0640);
    EXPECT_EQ(st.st_size, 10);
    /* append through a second open */
    fd = ASSERT_OK(open("file", O_WRONLY | O_APPEND));
    EXPECT_EQ(write(fd, "more\n", 5), 5);
    EXPECT_OK(close(fd));
    expect_text_at(a.dir[DEPTH], "file", "deep data\nmore\n");
    /* mkdir, mknod, symlink */
    EXPECT_OK(mkdir("sub", 0750));
    EXPECT_OK(stat("sub", &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0750);
    EXPECT_OK(mknod("fifo", S_IFIFO | 0600, 0));
    EXPECT_OK(lstat("fifo", &st));
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_OK(symlink("file", "link"));
    EXPECT_OK(lstat("link", &st));
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_size, 4);
    memset(buf, 0, sizeof buf);
    EXPECT_EQ(readlink("link", buf, sizeof buf), 4);
    EXPECT_STREQ(buf, "file");
    expect_text_at(a.dir[DEPTH], "link", "deep data\nmore\n"); /* followed */
    write_at(a.dir[DEPTH], "sub/inner", "inner\n");
    expect_text_at(a.dir[DEPTH], "sub/inner", "inner\n");
    /* readdir */
    EXPECT_EQ(listing(a.dir[DEPTH], list, sizeof list), 4);
    EXPECT_STREQ(list, "fifo,file,link,sub");
    /* statfs: the same volume as at the top */
    EXPECT_OK(statfs(".", &deep));
    EXPECT_OK(fstatfs(root, &top));
    EXPECT_EQ(deep.f_type, top.f_type);
    EXPECT_EQ(deep.f_namelen, 255);
    EXPECT_EQ(deep.f_bsize, top.f_bsize);
    EXPECT_OK(fchdir(root));
    trees_done(root, &a, NULL);
}

static void deep_links_renames_and_removals_keep_their_counts(void)
{
    int root = root_dir();
    struct chain a, b;
    struct stat st, st2;
    char list[256];

    chain_make(&a, 'A', root, NULL, 1);
    chain_make(&b, 'B', root, &a, FORK_LEVEL);
    write_at(a.dir[DEPTH], "file", "moving\n");
    /* link: one file, two names, nlink 2 */
    EXPECT_OK(linkat(a.dir[DEPTH], "file", a.dir[DEPTH], "hard", 0));
    EXPECT_OK(fstatat(a.dir[DEPTH], "file", &st, 0));
    EXPECT_OK(fstatat(a.dir[DEPTH], "hard", &st2, 0));
    EXPECT_EQ(st.st_nlink, 2);
    EXPECT_EQ(st.st_ino, st2.st_ino);
    /* and a link from one deep directory into the other */
    EXPECT_OK(linkat(a.dir[DEPTH], "file", b.dir[DEPTH], "far", 0));
    EXPECT_OK(fstatat(b.dir[DEPTH], "far", &st2, 0));
    EXPECT_EQ(st2.st_nlink, 3);
    EXPECT_EQ(st2.st_ino, st.st_ino);
    /* unlink: the counts go down, the data stays */
    EXPECT_OK(unlinkat(a.dir[DEPTH], "hard", 0));
    EXPECT_OK(unlinkat(b.dir[DEPTH], "far", 0));
    EXPECT_OK(fstatat(a.dir[DEPTH], "file", &st, 0));
    EXPECT_EQ(st.st_nlink, 1);
    expect_text_at(a.dir[DEPTH], "file", "moving\n");
    /* rename in one directory */
    EXPECT_OK(renameat(a.dir[DEPTH], "file", a.dir[DEPTH], "renamed"));
    EXPECT_ERRNO(fstatat(a.dir[DEPTH], "file", &st, 0), ENOENT);
    /* rename across the two deep directories: the entry moves */
    EXPECT_OK(renameat(a.dir[DEPTH], "renamed", b.dir[DEPTH], "arrived"));
    EXPECT_ERRNO(fstatat(a.dir[DEPTH], "renamed", &st, 0), ENOENT);
    expect_text_at(b.dir[DEPTH], "arrived", "moving\n");
    EXPECT_EQ(listing(a.dir[DEPTH], list, sizeof list), 0);
    EXPECT_EQ(listing(b.dir[DEPTH], list, sizeof list), 1);
    EXPECT_STREQ(list, "arrived");
    /* a rename onto an existing name replaces it */
    write_at(a.dir[DEPTH], "other", "replacing\n");
    EXPECT_OK(renameat(a.dir[DEPTH], "other", b.dir[DEPTH], "arrived"));
    expect_text_at(b.dir[DEPTH], "arrived", "replacing\n");
    /* mkdir and rmdir, an empty directory only */
    EXPECT_OK(mkdirat(b.dir[DEPTH], "gone", 0755));
    write_at(b.dir[DEPTH], "gone/f", "x");
    EXPECT_ERRNO(unlinkat(b.dir[DEPTH], "gone", AT_REMOVEDIR), ENOTEMPTY);
    EXPECT_OK(unlinkat(b.dir[DEPTH], "gone/f", 0));
    EXPECT_OK(unlinkat(b.dir[DEPTH], "gone", AT_REMOVEDIR));
    EXPECT_ERRNO(fstatat(b.dir[DEPTH], "gone", &st, 0), ENOENT);
    trees_done(root, &a, &b);
}

/* A directory moved from one chain to the other: what is below it keeps
 * its data, reached by the descriptors opened before the move (whose
 * paths the volume rebuilds) and by its new names. */
static void a_deep_directory_moved_takes_its_subtree(void)
{
    int root = root_dir();
    struct chain a, b;
    struct stat st;
    int moved = DEPTH - 5, fd;

    chain_make(&a, 'A', root, NULL, 1);
    chain_make(&b, 'B', root, &a, FORK_LEVEL);
    write_at(a.dir[DEPTH], "file", "subtree\n");
    EXPECT_OK(renameat(a.dir[moved - 1], level_name('A', moved),
                       b.dir[DEPTH], "moved"));
    EXPECT_ERRNO(fstatat(a.dir[moved - 1], level_name('A', moved), &st, 0),
                 ENOENT);
    /* by the old descriptors */
    expect_text_at(a.dir[DEPTH], "file", "subtree\n");
    write_at(a.dir[DEPTH], "new", "made after the move\n");
    /* by the new names, walked from the top of the other chain */
    fd = ASSERT_OK(open_dir_at(b.dir[DEPTH], "moved"));
    for (int i = moved + 1; i <= DEPTH; i++) {
        int next = open_dir_at(fd, level_name('A', i));

        close(fd);
        fd = ASSERT_OK(next);
    }
    expect_text_at(fd, "file", "subtree\n");
    expect_text_at(fd, "new", "made after the move\n");
    close(fd);
    trees_done(root, &a, &b);
}

static void deep_attributes_and_xattrs_change(void)
{
    int root = root_dir();
    struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    struct chain a;
    struct stat st;
    char buf[64];
    ssize_t n;
    int fd;

    chain_make(&a, 'A', root, NULL, 1);
    ASSERT_OK(fchdir(a.dir[DEPTH]));
    write_at(a.dir[DEPTH], "file", "attributes\n");
    /* chmod, chown */
    EXPECT_OK(chmod("file", 0604));
    EXPECT_OK(chown("file", 1234, 5678));
    EXPECT_OK(stat("file", &st));
    EXPECT_EQ(st.st_mode & 07777, 0604);
    EXPECT_EQ(st.st_uid, 1234);
    EXPECT_EQ(st.st_gid, 5678);
    /* utimens */
    EXPECT_OK(utimensat(AT_FDCWD, "file", ts, 0));
    EXPECT_OK(stat("file", &st));
    EXPECT_EQ(st.st_atim.tv_sec, ts[0].tv_sec);
    EXPECT_EQ(st.st_atim.tv_nsec, ts[0].tv_nsec);
    EXPECT_EQ(st.st_mtim.tv_sec, ts[1].tv_sec);
    EXPECT_EQ(st.st_mtim.tv_nsec, ts[1].tv_nsec);
    /* truncate by name, then by descriptor */
    EXPECT_OK(truncate("file", 4));
    EXPECT_OK(stat("file", &st));
    EXPECT_EQ(st.st_size, 4);
    expect_text_at(a.dir[DEPTH], "file", "attr");
    fd = ASSERT_OK(open("file", O_RDWR));
    EXPECT_OK(ftruncate(fd, 2));
    EXPECT_OK(fstat(fd, &st));
    EXPECT_EQ(st.st_size, 2);
    EXPECT_OK(close(fd));
    expect_text_at(a.dir[DEPTH], "file", "at");
    /* xattrs, by name and by descriptor */
    EXPECT_OK(setxattr("file", "user.deep", "value", 5, XATTR_CREATE));
    memset(buf, 0, sizeof buf);
    EXPECT_EQ(getxattr("file", "user.deep", buf, sizeof buf), 5);
    EXPECT_STREQ(buf, "value");
    fd = ASSERT_OK(open("file", O_RDONLY));
    EXPECT_OK(fsetxattr(fd, "user.second", "2", 1, 0));
    n = flistxattr(fd, buf, sizeof buf);
    EXPECT_GE(n, (ssize_t)sizeof "user.deep" + (ssize_t)sizeof "user.second");
    EXPECT_TRUE(n > 0 && memmem(buf, (size_t)n, "user.deep", sizeof "user.deep"));
    EXPECT_TRUE(n > 0 &&
                memmem(buf, (size_t)n, "user.second", sizeof "user.second"));
    EXPECT_OK(close(fd));
    EXPECT_OK(removexattr("file", "user.deep"));
    EXPECT_ERRNO(getxattr("file", "user.deep", buf, sizeof buf), ENODATA);
    /* a directory's attributes at the bottom too */
    EXPECT_OK(chmod(".", 0711));
    EXPECT_OK(fstatat(a.dir[DEPTH - 1], level_name('A', DEPTH), &st, 0));
    EXPECT_EQ(st.st_mode & 07777, 0711);
    EXPECT_OK(fchdir(root));
    trees_done(root, &a, NULL);
}

/* ------------------------------------------------------------------ */
/* The longest string one call takes, and the longest name             */

/* "A01-.../A20-.../" then a name of @last_len bytes of @c. */
static char *path_through_twenty_levels(size_t last_len, char c)
{
    size_t len = (size_t)FORK_LEVEL * (NAME_LEN + 1) + last_len;
    char *p = malloc(len + 1), *at = p;

    for (int i = 1; i <= FORK_LEVEL; i++) {
        memcpy(at, level_name('A', i), NAME_LEN);
        at += NAME_LEN;
        *at++ = '/';
    }
    memset(at, c, last_len);
    p[len] = '\0';
    return p;
}

static void a_relative_path_of_4095_bytes_works_in_one_call(void)
{
    /* 20 levels of 200 bytes and their slashes are 4,020 bytes: a last
     * name of 75 makes 4,095, the longest string the kernel takes. */
    char *longest = path_through_twenty_levels(75, 'x');
    char *other = path_through_twenty_levels(75, 'y');
    char *too_long = path_through_twenty_levels(76, 'z');
    int root = root_dir(), fd;
    struct chain a;
    struct stat st;

    chain_make(&a, 'A', root, NULL, 1);
    EXPECT_EQ(strlen(longest), PATH_MAX - 1);
    ASSERT_OK(fchdir(root));
    fd = EXPECT_OK(open(longest, O_CREAT | O_EXCL | O_WRONLY, 0644));
    if (fd >= 0) {
        EXPECT_EQ(write(fd, "4095\n", 5), 5);
        EXPECT_OK(close(fd));
    }
    EXPECT_OK(stat(longest, &st));
    EXPECT_EQ(st.st_size, 5);
    expect_text_at(a.dir[FORK_LEVEL], longest + strlen(longest) - 75, "4095\n");
    EXPECT_OK(chmod(longest, 0600));
    EXPECT_OK(rename(longest, other));
    EXPECT_ERRNO(stat(longest, &st), ENOENT);
    EXPECT_OK(stat(other, &st));
    EXPECT_EQ(st.st_mode & 07777, 0600);
    EXPECT_OK(unlink(other));
    /* One byte more is the caller's string too long, refused by the
     * kernel before any volume sees it. */
    EXPECT_ERRNO(open(too_long, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    trees_done(root, &a, NULL);
    free(longest);
    free(other);
    free(too_long);
}

static void a_name_of_256_bytes_is_enametoolong_at_depth(void)
{
    char n255[256], n256[257];
    int root = root_dir(), fd;
    struct chain a;
    struct stat st;

    memset(n255, 'a', 255);
    n255[255] = '\0';
    memset(n256, 'b', 256);
    n256[256] = '\0';
    chain_make(&a, 'A', root, NULL, 1);
    fd = EXPECT_OK(openat(a.dir[DEPTH], n255, O_CREAT | O_WRONLY, 0644));
    if (fd >= 0)
        close(fd);
    EXPECT_OK(fstatat(a.dir[DEPTH], n255, &st, 0));
    EXPECT_ERRNO(openat(a.dir[DEPTH], n256, O_CREAT | O_WRONLY, 0644),
                 ENAMETOOLONG);
    EXPECT_ERRNO(mkdirat(a.dir[DEPTH], n256, 0755), ENAMETOOLONG);
    EXPECT_ERRNO(fstatat(a.dir[DEPTH], n256, &st, 0), ENAMETOOLONG);
    EXPECT_ERRNO(renameat(a.dir[DEPTH], n255, a.dir[DEPTH], n256),
                 ENAMETOOLONG);
    EXPECT_OK(unlinkat(a.dir[DEPTH], n255, 0));
    trees_done(root, &a, NULL);
}

/* ------------------------------------------------------------------ */
/* ptfs: in place in SOURCE, and confined to it                        */

/* SOURCE of the case's ptfs mount, open; skips the case on others. */
static int source_dir(void)
{
    char src[320];

    if (!h_fs_is_ptfs())
        h_skip("ptfs only: its SOURCE is a directory to look into");
    snprintf(src, sizeof src, "%s.src", h_cur_mount()->mnt);
    return ASSERT_OK(open(src, O_PATH | O_DIRECTORY | O_CLOEXEC));
}

/* The directory @level of the chain @tag below @start (SOURCE, or another
 * mount of the volume), walked by name: the levels up to FORK_LEVEL - 1
 * are chain A's, as chain_make shares them. */
static int walk_chain(int start, char tag, int level)
{
    int fd = ASSERT_OK(dup(start));

    for (int i = 1; i <= level; i++) {
        int next = open_dir_at(fd, level_name(i < FORK_LEVEL ? 'A' : tag, i));

        close(fd);
        if (next < 0)
            ADD_FAILURE("no level %d of chain %c: %s", i, tag,
                        expect_errname(errno));
        fd = ASSERT_OK(next);
    }
    return fd;
}

static void ptfs_keeps_deep_files_in_their_places_in_source(void)
{
    int source = source_dir(), root = root_dir(), sa, sb;
    struct chain a, b;
    struct stat st;
    char list[256];

    chain_make(&a, 'A', root, NULL, 1);
    chain_make(&b, 'B', root, &a, FORK_LEVEL);
    write_at(a.dir[DEPTH], "file", "in SOURCE\n");
    EXPECT_OK(mkdirat(a.dir[DEPTH], "sub", 0700));
    EXPECT_OK(symlinkat("file", a.dir[DEPTH], "link"));
    EXPECT_OK(fchmodat(a.dir[DEPTH], "file", 0620, 0));
    sa = walk_chain(source, 'A', DEPTH);
    expect_text_at(sa, "file", "in SOURCE\n");
    EXPECT_OK(fstatat(sa, "file", &st, AT_SYMLINK_NOFOLLOW));
    EXPECT_EQ(st.st_mode & 07777, 0620);
    EXPECT_OK(fstatat(sa, "sub", &st, AT_SYMLINK_NOFOLLOW));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(listing(sa, list, sizeof list), 3);
    EXPECT_STREQ(list, "file,link,sub");
    /* a rename between the two chains moves the file in SOURCE */
    EXPECT_OK(renameat(a.dir[DEPTH], "file", b.dir[DEPTH], "moved"));
    sb = walk_chain(source, 'B', DEPTH);
    EXPECT_ERRNO(fstatat(sa, "file", &st, AT_SYMLINK_NOFOLLOW), ENOENT);
    expect_text_at(sb, "moved", "in SOURCE\n");
    /* and a file made in SOURCE shows at the bottom of the mount */
    write_at(sb, "from-source", "made in SOURCE\n");
    expect_text_at(b.dir[DEPTH], "from-source", "made in SOURCE\n");
    close(sa);
    close(sb);
    trees_done(root, &a, &b);
    close(source);
}

/* Whether the directory @dir holds @name. */
static bool holds(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

/* Swap the directory "victim" at the bottom of SOURCE for a link to
 * @target, try to read and make files through the mount's descriptor
 * of the directory, then put the directory back. */
static void expect_swapped_link_leads_nowhere(int sbottom, int victim,
                                              const char *target,
                                              const char *outside)
{
    char buf[64];
    int fd;

    /* No ASSERT here: the case goes on to remove the outside directory. */
    if (EXPECT_OK(renameat(sbottom, "victim", sbottom, "victim.away")) < 0)
        return;
    if (EXPECT_OK(symlinkat(target, sbottom, "victim")) < 0) {
        renameat(sbottom, "victim.away", sbottom, "victim");
        return;
    }
    /* The kernel still knows "victim" as the directory it looked up and
     * asks the volume for victim/secret by that path: ptfs meets the link
     * in SOURCE, deep past the first 4,095 bytes, and must not follow it
     * out. */
    fd = openat(victim, "secret", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);

        buf[n > 0 ? n : 0] = '\0';
        ADD_FAILURE("victim/secret opened through a link to %s (read \"%s\")",
                    target, buf);
        close(fd);
    }
    fd = openat(victim, "planted", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ADD_FAILURE("victim/planted made through a link to %s", target);
        close(fd);
    }
    EXPECT_TRUE(mkdirat(victim, "planted-dir", 0755) < 0);
    EXPECT_FALSE(holds(outside, "planted"));
    EXPECT_FALSE(holds(outside, "planted-dir"));
    EXPECT_OK(unlinkat(sbottom, "victim", 0));
    EXPECT_OK(renameat(sbottom, "victim.away", sbottom, "victim"));
}

static void ptfs_refuses_a_deep_link_out_of_source(void)
{
    int source = source_dir(), root = root_dir(), sbottom, victim;
    char outside[300], secret[320], climb[512];
    struct chain a;
    size_t n = 0;

    chain_make(&a, 'A', root, NULL, 1);
    EXPECT_OK(mkdirat(a.dir[DEPTH], "victim", 0755));
    victim = ASSERT_OK(open_dir_at(a.dir[DEPTH], "victim"));
    write_at(victim, "inside", "inside\n");
    expect_text_at(victim, "inside", "inside\n");
    sbottom = walk_chain(source, 'A', DEPTH);
    /* A directory beside the mount, outside SOURCE, with a secret (made
     * last: from here on nothing ends the case before it is removed). */
    snprintf(outside, sizeof outside, "%s.outside", h_cur_mount()->mnt);
    snprintf(secret, sizeof secret, "%s/secret", outside);
    ASSERT_OK(mkdir(outside, 0755));
    if (!h_write_file(secret, "secret\n", 7, 0644))
        ADD_FAILURE("cannot write %s: %s", secret, expect_errname(errno));
    /* An absolute link to the outside directory... */
    expect_swapped_link_leads_nowhere(sbottom, victim, outside, outside);
    /* ... and one that climbs out of SOURCE by "..": DEPTH levels up to
     * SOURCE, one more to the directory that holds it and the outside. */
    for (int i = 0; i <= DEPTH; i++)
        n += (size_t)snprintf(climb + n, sizeof climb - n, "../");
    snprintf(climb + n, sizeof climb - n, "%s", strrchr(outside, '/') + 1);
    expect_swapped_link_leads_nowhere(sbottom, victim, climb, outside);
    /* The directory back in place serves again. */
    expect_text_at(victim, "inside", "inside\n");
    close(victim);
    close(sbottom);
    trees_done(root, &a, NULL);
    close(source);
    h_rm_rf(outside);
}

/* ------------------------------------------------------------------ */
/* sqlfs on PostgreSQL: another mount hears of a deep change            */

/* createdb or dropdb @name, bounded. */
static int pg_tool(const char *tool, const char *name)
{
    struct h_proc p;
    char path[64];

    snprintf(path, sizeof path, "/usr/bin/%s", tool);
    return strcmp(tool, "dropdb") == 0
               ? h_runl(&p, 30, path, "--if-exists", "--force", name, NULL)
               : h_runl(&p, 30, path, name, NULL);
}

/* Seconds until the file @name in @dir has mode @mode (or, with @mode 0,
 * exists), polling; -1 after 2 s. */
static double seconds_until(int dir, const char *name, mode_t mode)
{
    double start = h_now();
    struct stat st;

    while (h_now() < start + 2) {
        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            (!mode || (st.st_mode & 07777) == mode))
            return h_now() - start;
        h_sleep(0.001);
    }
    return -1;
}

/* Two mounts of one database whose caches never expire: a change at the
 * bottom of the tree through one reaches the other by its notification
 * (the listener turns the changed inode into its 8 KB path). */
static void sqlfs_pg_mounts_hear_of_each_others_deep_changes(void)
{
    const char *forever =
        "file_info_timeout=-1,dir_info_timeout=-1,negative_timeout=-1";
    char dir[64] = "/tmp/fsptest-deep.XXXXXX", mnt[2][96], db[64], src[80];
    struct h_mount m[2];
    struct chain a;
    struct stat st;
    int root, far, bottom;
    double t;

    if (!h_sqlfs_on_pg())
        h_skip("sqlfs on PostgreSQL only: mounts that share a database");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    chmod(dir, 0755);
    snprintf(db, sizeof db, "fsp_deep_%d", (int)getpid());
    snprintf(src, sizeof src, "dbname=%s", db);
    for (int i = 0; i < 2; i++) {
        snprintf(mnt[i], sizeof mnt[i], "%s/m%d", dir, i);
        ASSERT_OK(mkdir(mnt[i], 0755));
        h_register(mnt[i], 0, i == 1 ? dir : NULL); /* torn down on failure */
    }
    ASSERT_EQ(pg_tool("createdb", db), 0);
    for (int i = 0; i < 2; i++)
        ASSERT_TRUE(h_mount_source_at(&m[i], src, mnt[i], forever, 0));
    root = ASSERT_OK(open(mnt[0], O_PATH | O_DIRECTORY | O_CLOEXEC));
    far = ASSERT_OK(open(mnt[1], O_PATH | O_DIRECTORY | O_CLOEXEC));
    chain_make(&a, 'A', root, NULL, 1);
    write_at(a.dir[DEPTH], "file", "x");
    bottom = walk_chain(far, 'A', DEPTH);
    /* The other mount has cached the file, and "new" as absent. */
    EXPECT_OK(fstatat(bottom, "file", &st, 0));
    EXPECT_EQ(st.st_mode & 07777, 0644);
    EXPECT_ERRNO(fstatat(bottom, "new", &st, 0), ENOENT);
    EXPECT_OK(fchmodat(a.dir[DEPTH], "file", 0600, 0));
    t = seconds_until(bottom, "file", 0600);
    EXPECT_TRUE(t >= 0 && t < 1);
    write_at(a.dir[DEPTH], "new", "y");
    t = seconds_until(bottom, "new", 0);
    EXPECT_TRUE(t >= 0 && t < 1);
    close(bottom);
    close(far);
    trees_done(root, &a, NULL);
    for (int i = 0; i < 2; i++) {
        int status;

        EXPECT_TRUE(h_unmount(&m[i], &status));
        rmdir(mnt[i]);
    }
    rmdir(dir);
    pg_tool("dropdb", db);
}

static const struct h_case cases[] = {
    H_CASE_T(deep_files_are_made_written_read_and_listed, NULL, 0, 60),
    H_CASE_T(deep_links_renames_and_removals_keep_their_counts, NULL, 0, 60),
    H_CASE_T(a_deep_directory_moved_takes_its_subtree, NULL, 0, 60),
    H_CASE_T(deep_attributes_and_xattrs_change, NULL, 0, 60),
    H_CASE_T(a_relative_path_of_4095_bytes_works_in_one_call, NULL, 0, 60),
    H_CASE_T(a_name_of_256_bytes_is_enametoolong_at_depth, NULL, 0, 60),
    H_CASE_T(ptfs_keeps_deep_files_in_their_places_in_source, NULL, H_DAEMON,
             60),
    H_CASE_T(ptfs_refuses_a_deep_link_out_of_source, NULL, H_DAEMON, 60),
    H_CASE_T(sqlfs_pg_mounts_hear_of_each_others_deep_changes, NULL,
             H_DAEMON | H_NOMOUNT, 90),
};

int main(int argc, char **argv)
{
    return h_main("deep_paths", argc, argv, cases, sizeof cases / sizeof *cases);
}
