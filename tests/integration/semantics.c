/*
 * semantics.c - what an fsp volume means beyond plain POSIX calls:
 * case-insensitive volumes, byte-range and whole-file locks between
 * processes, extended attributes (WinFsp's named streams and EAs),
 * symbolic links (reparse points) and the debug log.
 *
 * It runs on memfs (the default) and on ptfs (FSP_TEST_FS=ptfs). Where the
 * two differ the case says so: how a replacing rename spells the result;
 * how big an attribute value may be is up to the file system (memfs takes
 * the kernel's 64 KiB, ext4 under ptfs one block).
 *
 * posix_basic.c already covers user.* attributes one rule at a time, a
 * first set of symlink targets and a dangling link, and one conflict of
 * fcntl write locks; the cases here extend those and do not repeat them.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "peer.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static void make_file(const char *path, const char *content)
{
    if (!h_write_file(path, content, strlen(content), 0644)) {
        ADD_FAILURE("cannot create %s: %s", path, expect_errname(errno));
        expect_abort_case();
    }
}

/* The file holds exactly the string @p want. */
#define EXPECT_FILE_IS(path, want) expect_file_is(__FILE__, __LINE__, path, want)
static void expect_file_is(const char *file, int line, const char *path, const char *want)
{
    char buf[256];
    ssize_t n = h_read_file(path, buf, sizeof buf - 1);

    if (n < 0) {
        expect_fail(file, line, "read %s: errno=%s", path, expect_errname(errno));
        return;
    }
    buf[n] = '\0';
    if (strcmp(buf, want) != 0)
        expect_fail(file, line, "%s holds \"%s\", expected \"%s\"", path, buf, want);
}

/* The names in directory @p path but "." and "..", sorted, each followed
 * by '|': "a|b|". Empty on error (recorded). */
static const char *list_names(const char *path)
{
    static char out[4096];
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    size_t len = 0;

    out[0] = '\0';
    if (n < 0) {
        ADD_FAILURE("scandir %s: %s", path, expect_errname(errno));
        return out;
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
            len += (size_t)snprintf(out + len, len < sizeof out ? sizeof out - len : 0,
                                    "%s|", name);
        free(names[i]);
    }
    free(names);
    return out;
}

/* The memfs daemon is under test (not ptfs, not FSP_TEST_DIR mode). */
static bool testing_memfs(void)
{
    return !h_dir_mode() && !h_fs_is_ptfs();
}



/* @p path must be gone right now (stat fails with ENOENT). If the kernel
 * still finds it, say for how long it went on finding it: that is how
 * late the invalidation came. */
#define EXPECT_GONE_AT_ONCE(path) expect_gone_at_once(__FILE__, __LINE__, path)
static void expect_gone_at_once(const char *file, int line, const char *path)
{
    struct stat st;
    double start = h_now();

    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            expect_fail(file, line, "stat %s: errno=%s, expected ENOENT", path,
                        expect_errname(errno));
        return;
    }
    while (stat(path, &st) == 0 && h_now() - start < 2)
        ;
    expect_fail(file, line, "%s was still found after it was removed; gone %.0f us later",
                path, (h_now() - start) * 1e6);
}

/* @p path must name the file with inode @p ino right now; if it still
 * names another, say for how long. */
#define EXPECT_INO_AT_ONCE(path, ino) expect_ino_at_once(__FILE__, __LINE__, path, ino)
static void expect_ino_at_once(const char *file, int line, const char *path, ino_t ino)
{
    struct stat st;
    double start = h_now();

    if (stat(path, &st) != 0) {
        expect_fail(file, line, "stat %s: errno=%s", path, expect_errname(errno));
        return;
    }
    if (st.st_ino == ino)
        return;
    while (stat(path, &st) == 0 && st.st_ino != ino && h_now() - start < 2)
        ;
    expect_fail(file, line, "%s still named the replaced file; the new one %.0f us later",
                path, (h_now() - start) * 1e6);
}

/* ---- the debug log ---- */

/* How many lines of the log at @p path contain every one of the given
 * strings (NULL-terminated list). */
static int count_lines(const char *path, const char *const *needles)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        bool all = true;
        for (const char *const *s = needles; *s && all; s++)
            all = strstr(line, *s) != NULL;
        n += all;
    }
    fclose(f);
    return n;
}

/* Wait up to 3 s until some line holds all @p needles: replies are
 * logged just after they are sent, so a caller can see its result a
 * moment before the line is written. */
static bool log_has(const char *path, const char *const *needles)
{
    double end = h_now() + 3;
    while (h_now() < end) {
        if (count_lines(path, needles) > 0)
            return true;
        h_sleep(0.02);
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* 1. case-insensitive volumes                                         */

static void ci_open_stat_rename_unlink_find_the_existing_name_by_any_case(void)
{
    make_file(h_path("MixedCase.txt"), "content");
    struct stat st, st2;
    ASSERT_OK(stat(h_path("MixedCase.txt"), &st));
    EXPECT_OK(stat(h_path("mixedcase.TXT"), &st2));
    EXPECT_EQ(st2.st_ino, st.st_ino);
    EXPECT_FILE_IS(h_path("MIXEDCASE.TXT"), "content");
    /* writing through another spelling changes the one file */
    int fd = EXPECT_OK(open(h_path("mIxEdCaSe.txt"), O_WRONLY | O_APPEND));
    if (fd >= 0) {
        EXPECT_EQ(write(fd, "+", 1), 1);
        close(fd);
    }
    EXPECT_FILE_IS(h_path("MixedCase.txt"), "content+");
    /* rename by another spelling: the name moves, spelled as given */
    EXPECT_OK(rename(h_path("MIXEDCASE.txt"), h_path("Renamed")));
    EXPECT_GONE_AT_ONCE(h_path("MixedCase.txt"));
    EXPECT_OK(stat(h_path("RENAMED"), &st2));
    EXPECT_EQ(st2.st_ino, st.st_ino);
    EXPECT_STREQ(list_names(h_root), "Renamed|");
    /* unlink by another spelling */
    EXPECT_OK(unlink(h_path("rEnAmEd")));
    EXPECT_GONE_AT_ONCE(h_path("Renamed"));
    EXPECT_STREQ(list_names(h_root), "");
}

static void ci_readdir_lists_names_as_created(void)
{
    make_file(h_path("Alpha"), "a");
    make_file(h_path("bETA"), "b");
    ASSERT_OK(mkdir(h_path("GammaDir"), 0755));
    ASSERT_OK(symlink("Alpha", h_path("deltaLINK")));
    struct stat st;
    /* looking them up in other spellings changes nothing in the listing */
    EXPECT_OK(stat(h_path("ALPHA"), &st));
    EXPECT_OK(stat(h_path("beta"), &st));
    EXPECT_OK(stat(h_path("gammadir"), &st));
    EXPECT_OK(lstat(h_path("DELTAlink"), &st));
    EXPECT_STREQ(list_names(h_root), "Alpha|GammaDir|bETA|deltaLINK|");
}

/* Enough names for many READDIR replies: each one resumes from a marker
 * (the last name returned), in an order where folded and byte order
 * differ ("a000" < "B001" < "c002" folded; "B001" first by bytes). */
static void ci_readdir_of_many_names_returns_each_once_as_created(void)
{
    enum { N = 600 };
    static char names[N][16];
    static bool seen[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "%c%03d-%s", (i % 2 ? 'A' : 'a') + i % 26,
                 i, i % 3 ? "x" : "Ж");
        int fd = open(h_path("%s", names[i]), O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) {
            ADD_FAILURE("create %s: %s", names[i], expect_errname(errno));
            expect_abort_case();
        }
        close(fd);
    }
    DIR *d = opendir(h_root);
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        int i = atoi(e->d_name + 1);
        if (i < 0 || i >= N || strcmp(e->d_name, names[i]) != 0) {
            ADD_FAILURE("unexpected entry \"%s\"", e->d_name);
            continue;
        }
        if (seen[i])
            ADD_FAILURE("%s listed twice", e->d_name);
        seen[i] = true;
    }
    closedir(d);
    EXPECT_EQ(entries, N);
}

static void ci_exclusive_create_of_another_case_fails_with_eexist(void)
{
    make_file(h_path("foo"), "old");
    EXPECT_ERRNO(open(h_path("FOO"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERRNO(open(h_path("Foo"), O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
    EXPECT_ERRNO(mkdir(h_path("FOO"), 0755), EEXIST);
    EXPECT_ERRNO(symlink("x", h_path("fOO")), EEXIST);
    EXPECT_ERRNO(mknod(h_path("FoO"), S_IFIFO | 0644, 0), EEXIST);
    EXPECT_ERRNO(link(h_path("foo"), h_path("FOO")), EEXIST);
    /* O_CREAT without O_EXCL opens the existing file */
    int fd = EXPECT_OK(open(h_path("FOO"), O_CREAT | O_WRONLY | O_APPEND, 0644));
    if (fd >= 0) {
        EXPECT_EQ(write(fd, "+new", 4), 4);
        close(fd);
    }
    EXPECT_FILE_IS(h_path("foo"), "old+new");
    EXPECT_STREQ(list_names(h_root), "foo|");
}

/* FUSE: the kernel would keep "FOO is absent" for negative_timeout and
 * never ask again; fsp must not let it cache absence on such volumes. */
static void ci_absent_name_in_one_case_never_hides_a_creation_in_another(void)
{
    struct stat st;
    EXPECT_ERRNO(stat(h_path("FOO"), &st), ENOENT);
    EXPECT_ERRNO(stat(h_path("Foo"), &st), ENOENT);
    make_file(h_path("foo"), "x");
    EXPECT_OK(stat(h_path("FOO"), &st));
    EXPECT_OK(stat(h_path("Foo"), &st));
    /* the same for directories, and one level down */
    EXPECT_ERRNO(stat(h_path("SUB"), &st), ENOENT);
    EXPECT_ERRNO(stat(h_path("SUB/X"), &st), ENOENT);
    ASSERT_OK(mkdir(h_path("sub"), 0755));
    EXPECT_OK(stat(h_path("SUB"), &st));
    EXPECT_ERRNO(stat(h_path("SUB/X"), &st), ENOENT);
    make_file(h_path("Sub/x"), "y");
    EXPECT_FILE_IS(h_path("SUB/X"), "y");
}

/* FUSE: each spelling looked up is a dentry of its own in the kernel,
 * cached for file_info_timeout; unlink through one must drop them all. */
static void ci_unlink_by_another_case_drops_every_cached_spelling(void)
{
    struct stat st;
    make_file(h_path("foo"), "x");
    EXPECT_OK(stat(h_path("foo"), &st));
    EXPECT_OK(stat(h_path("Foo"), &st));
    EXPECT_OK(stat(h_path("fOO"), &st));
    EXPECT_OK(unlink(h_path("FOO")));
    EXPECT_GONE_AT_ONCE(h_path("foo"));
    EXPECT_GONE_AT_ONCE(h_path("Foo"));
    EXPECT_GONE_AT_ONCE(h_path("fOO"));
    EXPECT_ERRNO(open(h_path("foo"), O_RDONLY), ENOENT);
    /* and a directory removed by another spelling */
    ASSERT_OK(mkdir(h_path("dir"), 0755));
    EXPECT_OK(stat(h_path("Dir"), &st));
    EXPECT_OK(stat(h_path("dir"), &st));
    EXPECT_OK(rmdir(h_path("DIR")));
    EXPECT_GONE_AT_ONCE(h_path("dir"));
    EXPECT_GONE_AT_ONCE(h_path("Dir"));
    EXPECT_STREQ(list_names(h_root), "");
}

static void ci_rename_by_another_case_drops_every_cached_spelling(void)
{
    struct stat st, target;
    make_file(h_path("foo"), "moved");
    EXPECT_OK(stat(h_path("foo"), &st));
    EXPECT_OK(stat(h_path("Foo"), &st));
    EXPECT_OK(rename(h_path("FOO"), h_path("bar")));
    EXPECT_GONE_AT_ONCE(h_path("foo"));
    EXPECT_GONE_AT_ONCE(h_path("Foo"));
    EXPECT_FILE_IS(h_path("BAR"), "moved");
    /* over an existing file known to the kernel in another spelling:
     * that spelling must show the new file at once */
    make_file(h_path("target"), "old");
    EXPECT_OK(stat(h_path("TARGET"), &target));
    EXPECT_OK(stat(h_path("Target"), &target));
    EXPECT_OK(stat(h_path("bar"), &st));
    EXPECT_OK(rename(h_path("Bar"), h_path("tarGET")));
    EXPECT_INO_AT_ONCE(h_path("TARGET"), st.st_ino);
    EXPECT_INO_AT_ONCE(h_path("Target"), st.st_ino);
    EXPECT_FILE_IS(h_path("target"), "moved");
    EXPECT_GONE_AT_ONCE(h_path("bar"));
    /* memfs names the result as the rename spelled it (as NTFS does);
     * ptfs renames onto the existing name in SOURCE, in one atomic call,
     * so the stored spelling stays. */
    EXPECT_STREQ(list_names(h_root), h_fs_is_ptfs() ? "target|" : "tarGET|");
}

/*
 * The kernel's limit: rename("foo", "FOO") looks both names up, finds the
 * same inode (fsp folds case) and returns 0 without asking the file system
 * (vfs_rename: source == target). The name keeps its old spelling. Going
 * through a third name changes it. The debug log proves which renames
 * reached the daemon.
 */
static void ci_rename_that_changes_only_case_is_a_kernel_noop(void)
{
    const struct h_mount *m = h_cur_mount();
    make_file(h_path("foo"), "data");
    struct stat before, after;
    ASSERT_OK(stat(h_path("foo"), &before));
    EXPECT_OK(rename(h_path("foo"), h_path("FOO")));
    EXPECT_STREQ(list_names(h_root), "foo|");
    EXPECT_OK(stat(h_path("FOO"), &after));
    EXPECT_EQ(after.st_ino, before.st_ino);
    EXPECT_FILE_IS(h_path("Foo"), "data");
    /* the workaround: through another name */
    EXPECT_OK(rename(h_path("foo"), h_path("foo.tmp")));
    EXPECT_OK(rename(h_path("foo.tmp"), h_path("FOO")));
    EXPECT_STREQ(list_names(h_root), "FOO|");
    EXPECT_FILE_IS(h_path("foo"), "data");
    /* two RENAME requests reached the daemon, none for the first call */
    if (m) {
        const char *renames[] = { " <- ", " RENAME", NULL };
        const char *replies[] = { " -> ", " RENAME", NULL };
        double end = h_now() + 3;
        while (count_lines(m->log, replies) < 2 && h_now() < end)
            h_sleep(0.02);
        EXPECT_EQ(count_lines(m->log, renames), 2);
        EXPECT_EQ(count_lines(m->log, replies), 2);
    }
}

/* The same holds for a directory: one node, one inode, no request. */
static void ci_rename_of_a_directory_that_changes_only_case_is_a_kernel_noop(void)
{
    const struct h_mount *m = h_cur_mount();
    ASSERT_OK(mkdir(h_path("dir"), 0755));
    make_file(h_path("dir/x"), "in");
    struct stat before, after;
    ASSERT_OK(stat(h_path("dir"), &before));
    EXPECT_OK(rename(h_path("dir"), h_path("DIR")));
    EXPECT_STREQ(list_names(h_root), "dir|");
    EXPECT_OK(stat(h_path("DIR"), &after));
    EXPECT_EQ(after.st_ino, before.st_ino);
    EXPECT_FILE_IS(h_path("Dir/X"), "in");
    EXPECT_OK(rename(h_path("dir"), h_path("tmp")));
    EXPECT_OK(rename(h_path("tmp"), h_path("DIR")));
    EXPECT_STREQ(list_names(h_root), "DIR|");
    EXPECT_FILE_IS(h_path("dir/x"), "in");
    if (m) {
        const char *renames[] = { " <- ", " RENAME", NULL };
        const char *replies[] = { " -> ", " RENAME", NULL };
        double end = h_now() + 3;
        while (count_lines(m->log, replies) < 2 && h_now() < end)
            h_sleep(0.02);
        EXPECT_EQ(count_lines(m->log, renames), 2);
    }
}

static void ci_directories_are_found_by_any_case(void)
{
    ASSERT_OK(mkdir(h_path("Dir"), 0755));
    make_file(h_path("DIR/x"), "in");
    ASSERT_OK(mkdir(h_path("dir/Sub"), 0755));
    make_file(h_path("dIR/SUB/Deep"), "deep");
    EXPECT_STREQ(list_names(h_path("dir")), "Sub|x|");
    EXPECT_STREQ(list_names(h_path("DIR/sub")), "Deep|");
    EXPECT_FILE_IS(h_path("dir/X"), "in");
    EXPECT_FILE_IS(h_path("Dir/sub/DEEP"), "deep");
    EXPECT_STREQ(list_names(h_root), "Dir|");
    /* chdir by one spelling, relative names by another */
    int fd = ASSERT_OK(open(".", O_RDONLY | O_DIRECTORY));
    if (EXPECT_OK(chdir(h_path("DIR/SUB"))) == 0) {
        EXPECT_FILE_IS("deep", "deep");
        EXPECT_FILE_IS("../X", "in");
    }
    EXPECT_OK(fchdir(fd));
    close(fd);
    EXPECT_ERRNO(rmdir(h_path("DIR/SUB")), ENOTEMPTY);
    EXPECT_OK(unlink(h_path("DIR/SUB/DEEP")));
    EXPECT_OK(rmdir(h_path("dir/sub")));
    EXPECT_STREQ(list_names(h_path("Dir")), "x|");
}

static void ci_non_ascii_names_match_in_any_case(void)
{
    struct stat st;
    make_file(h_path("Ärger"), "latin1");
    make_file(h_path("ΣΊΣΥΦΟΣ"), "greek");
    ASSERT_OK(mkdir(h_path("Москва"), 0755));
    EXPECT_FILE_IS(h_path("äRGER"), "latin1");
    EXPECT_FILE_IS(h_path("ÄRGER"), "latin1");
    EXPECT_FILE_IS(h_path("σίσυφος"), "greek"); /* final sigma too */
    EXPECT_FILE_IS(h_path("Σίσυφος"), "greek");
    EXPECT_OK(stat(h_path("МОСКВА"), &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    make_file(h_path("москва/Файл"), "cyrillic");
    EXPECT_FILE_IS(h_path("МОСКВА/ФАЙЛ"), "cyrillic");
    EXPECT_ERRNO(open(h_path("äRGER"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERRNO(mkdir(h_path("σίσυφοσ"), 0755), EEXIST);
    /* other letters are other names */
    EXPECT_ERRNO(stat(h_path("Arger"), &st), ENOENT);
    EXPECT_ERRNO(stat(h_path("ΣΙΣΥΦΟΣ"), &st), ENOENT); /* no tonos */
    EXPECT_STREQ(list_names(h_root), "Ärger|ΣΊΣΥΦΟΣ|Москва|"); /* byte order */
    EXPECT_OK(unlink(h_path("äRGER")));
    EXPECT_OK(rename(h_path("σίσυφος"), h_path("Sisyphus")));
    EXPECT_STREQ(list_names(h_root), "Sisyphus|Москва|");
}

/* The default: names are bytes; "a" and "A" are two files. */
static void case_sensitive_volume_keeps_a_and_A_apart(void)
{
    struct stat a, A;
    make_file(h_path("a"), "lower");
    make_file(h_path("A"), "upper");
    ASSERT_OK(stat(h_path("a"), &a));
    ASSERT_OK(stat(h_path("A"), &A));
    EXPECT_NE(a.st_ino, A.st_ino);
    EXPECT_FILE_IS(h_path("a"), "lower");
    EXPECT_FILE_IS(h_path("A"), "upper");
    EXPECT_STREQ(list_names(h_root), "A|a|");
    EXPECT_ERRNO(stat(h_path("Ä"), &a), ENOENT);
    EXPECT_OK(unlink(h_path("a")));
    EXPECT_FILE_IS(h_path("A"), "upper");
    EXPECT_ERRNO(stat(h_path("a"), &a), ENOENT);
    EXPECT_OK(rename(h_path("A"), h_path("a")));
    EXPECT_STREQ(list_names(h_root), "a|");
}

/* ------------------------------------------------------------------ */
/* 2. locks: the kernel keeps them for a FUSE volume without lock
 * callbacks (WinFsp keeps byte-range locks in its driver the same way) */

static void shared_exclusive_child(struct peer *p, void *arg)
{
    int fd = open((const char *)arg, O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    /* the parent holds a read lock on [0, 10) */
    EXPECT_OK(set_lock(fd, F_SETLK, F_RDLCK, 5, 10));       /* shared: fine */
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 5, 10), EAGAIN, EACCES);
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 10, 10));      /* no overlap */
    peer_step(p); /* holds: read [5, 10), write [10, 20) */
}

static void fcntl_read_locks_share_and_write_locks_exclude_on_overlap_only(void)
{
    const char *path = h_path("locked");
    make_file(path, "0123456789abcdefghij0123456789");
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_RDLCK, 0, 10));
    struct peer p;
    peer_start(&p, shared_exclusive_child, (void *)path);
    if (peer_wait(&p)) {
        EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 5));    /* ours alone */
        EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES);
        EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_RDLCK, 12, 1), EAGAIN, EACCES);
        EXPECT_OK(set_lock(fd, F_SETLK, F_RDLCK, 20, 10));  /* adjacent */
    }
    peer_finish(&p);
    /* the child exited: everything it held is free */
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 0));
    close(fd);
}

static void getlk_holder_child(struct peer *p, void *arg)
{
    int fd = open((const char *)arg, O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 100, 50));
    EXPECT_OK(set_lock(fd, F_SETLK, F_RDLCK, 200, 10));
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 300, 0)); /* to the end */
    peer_step(p);
}

static void fcntl_getlk_reports_the_holders_pid_and_range(void)
{
    const char *path = h_path("locked");
    make_file(path, "x");
    struct peer p;
    peer_start(&p, getlk_holder_child, (void *)path);
    int fd = ASSERT_OK(open(path, O_RDWR));
    if (peer_wait(&p)) {
        struct flock fl = get_lock(fd, F_GETLK, F_WRLCK, 0, 160);
        EXPECT_EQ(fl.l_type, F_WRLCK);
        EXPECT_EQ(fl.l_pid, p.pid);
        EXPECT_EQ(fl.l_whence, SEEK_SET);
        EXPECT_EQ(fl.l_start, 100);
        EXPECT_EQ(fl.l_len, 50);
        /* beside the range: free */
        fl = get_lock(fd, F_GETLK, F_WRLCK, 150, 50);
        EXPECT_EQ(fl.l_type, F_UNLCK);
        /* a read lock is compatible with a read lock, not with a write */
        fl = get_lock(fd, F_GETLK, F_RDLCK, 205, 1);
        EXPECT_EQ(fl.l_type, F_UNLCK);
        fl = get_lock(fd, F_GETLK, F_WRLCK, 205, 1);
        EXPECT_EQ(fl.l_type, F_RDLCK);
        EXPECT_EQ(fl.l_pid, p.pid);
        EXPECT_EQ(fl.l_start, 200);
        EXPECT_EQ(fl.l_len, 10);
        /* a lock to the end of the file reports length 0 */
        fl = get_lock(fd, F_GETLK, F_RDLCK, 1000000, 1);
        EXPECT_EQ(fl.l_type, F_WRLCK);
        EXPECT_EQ(fl.l_start, 300);
        EXPECT_EQ(fl.l_len, 0);
        EXPECT_EQ(fl.l_pid, p.pid);
    }
    peer_finish(&p);
    struct flock fl = get_lock(fd, F_GETLK, F_WRLCK, 0, 0);
    EXPECT_EQ(fl.l_type, F_UNLCK);
    close(fd);
}

static void setlkw_waiter_child(struct peer *p, void *arg)
{
    int fd = open((const char *)arg, O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    send_byte(p->done[1]); /* about to wait */
    double start = h_now();
    if (EXPECT_OK(set_lock(fd, F_SETLKW, F_WRLCK, 5, 1)) == 0) {
        EXPECT_GE((h_now() - start) * 1000, 250); /* it did wait */
        EXPECT_EQ(pwrite(fd, "W", 1, 5), 1);      /* and goes on */
    }
    peer_step(p); /* holds [5, 6) */
}

static void fcntl_setlkw_blocks_until_the_holder_unlocks_then_proceeds(void)
{
    const char *path = h_path("locked");
    make_file(path, "0123456789");
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    struct peer p;
    peer_start(&p, setlkw_waiter_child, (void *)path);
    if (peer_wait(&p)) {
        h_sleep(0.3);
        EXPECT_FALSE(byte_ready(p.done[0])); /* still waiting */
        EXPECT_OK(set_lock(fd, F_SETLK, F_UNLCK, 0, 10));
        if (peer_wait(&p)) {
            EXPECT_FILE_IS(path, "01234W6789");
            struct flock fl = get_lock(fd, F_GETLK, F_WRLCK, 0, 10);
            EXPECT_EQ(fl.l_type, F_WRLCK);
            EXPECT_EQ(fl.l_pid, p.pid);
            EXPECT_EQ(fl.l_start, 5);
            EXPECT_EQ(fl.l_len, 1);
        }
    }
    peer_finish(&p);
    close(fd);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void setlkw_interrupted_child(struct peer *p, void *arg)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the wait ends with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    int fd = open((const char *)arg, O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    struct itimerval it = { .it_value = { 0, 200000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    double start = h_now();
    EXPECT_ERRNO(set_lock(fd, F_SETLKW, F_WRLCK, 0, 1), EINTR);
    EXPECT_GE((h_now() - start) * 1000, 150);
    /* it did not get the lock: the parent still holds it */
    struct flock fl = get_lock(fd, F_GETLK, F_WRLCK, 0, 1);
    EXPECT_EQ(fl.l_type, F_WRLCK);
    EXPECT_EQ(fl.l_pid, getppid());
    peer_step(p);
}

static void fcntl_setlkw_interrupted_by_a_signal_fails_with_eintr(void)
{
    const char *path = h_path("locked");
    make_file(path, "x");
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 0));
    struct peer p;
    peer_start(&p, setlkw_interrupted_child, (void *)path);
    peer_wait(&p);
    peer_finish(&p);
    /* ours is intact and nobody else holds anything */
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 0));
    close(fd);
}

/* A child that tries to take a write lock on [0, 10) at once, expecting
 * it to be free or taken as @p arg says. */
struct try_lock {
    const char *path;
    bool expect_free;
};

static void try_lock_child(struct peer *p, void *arg)
{
    const struct try_lock *t = arg;
    int fd = open(t->path, O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("child open %s: %s", t->path, expect_errname(errno));
        return;
    }
    if (t->expect_free)
        EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    else
        EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 0, 10), EAGAIN, EACCES);
    peer_step(p);
}

static void try_lock_from_child(const char *path, bool expect_free)
{
    struct try_lock t = { path, expect_free };
    struct peer p;
    peer_start(&p, try_lock_child, &t);
    peer_wait(&p);
    peer_finish(&p);
}

static void hold_and_exit_child(struct peer *p, void *arg)
{
    int fd = open((const char *)arg, O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    peer_step(p); /* exits without unlocking or closing */
}

static void fcntl_lock_is_released_when_the_holder_closes_any_fd_or_exits(void)
{
    const char *path = h_path("locked");
    make_file(path, "0123456789");
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    try_lock_from_child(path, false);
    /* POSIX: closing any descriptor of the file drops the process's
     * locks on it, even one that never locked */
    int other = ASSERT_OK(open(path, O_RDONLY));
    try_lock_from_child(path, false);
    EXPECT_OK(close(other));
    try_lock_from_child(path, true);
    close(fd);

    /* a holder that exits */
    struct peer p;
    peer_start(&p, hold_and_exit_child, (void *)path);
    fd = ASSERT_OK(open(path, O_RDWR));
    if (peer_wait(&p))
        EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES);
    peer_finish(&p);
    EXPECT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    close(fd);
}

/* FUSE: fsp gives each name of a hard-linked file a node of its own; the
 * kernel keeps locks per inode, so a lock taken through one name must
 * still conflict with one taken through the other. */
static void fcntl_lock_through_one_hard_link_conflicts_through_another(void)
{
    const char *path = h_path("locked");
    make_file(path, "0123456789");
    ASSERT_OK(link(path, h_path("other-name")));
    int fd = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
    try_lock_from_child(h_path("other-name"), false);
    close(fd);
    try_lock_from_child(h_path("other-name"), true);
}

/* The pid a classic F_GETLK shows for an open file description lock set
 * by @setter: -1 where the kernel keeps the locks; where the file system
 * serves them (ptfs, memfs with open_handles) the setter's, since FUSE
 * cannot tell the kernel that a lock belongs to no process (fsp.h).
 * (F_OFD_GETLK always shows -1: the kernel says so for an OFD query.) */
static pid_t ofd_pid(pid_t setter)
{
    const char *opts = getenv("FSP_TEST_FS_OPTS");

    /* Locks served by the file system (ptfs; sqlfs on PostgreSQL; memfs
     * with open_handles and without kernel_locks): the pid that set it.
     * sqlfs on SQLite serves none. */
    if (h_fs_is_ptfs() || h_sqlfs_on_pg() ||
        (!h_fs_is_sqlfs() && opts && strstr(opts, "open_handles") &&
         !strstr(opts, "kernel_locks")))
        return setter;
    return -1;
}

static void ofd_child(struct peer *p, void *arg)
{
    int fd = open((const char *)arg, O_RDWR);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    EXPECT_ERRNO2(set_lock(fd, F_OFD_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES);
    /* a classic lock conflicts with an open file description lock */
    EXPECT_ERRNO2(set_lock(fd, F_SETLK, F_RDLCK, 0, 1), EAGAIN, EACCES);
    struct flock fl = get_lock(fd, F_GETLK, F_RDLCK, 0, 100);
    EXPECT_EQ(fl.l_type, F_WRLCK);
    EXPECT_EQ(fl.l_pid, ofd_pid(getppid()));
    peer_step(p);
}

/* set_lock() once the lock it waits for is gone, tried for up to 2 s: an
 * open file description's locks end at its RELEASE, which the kernel
 * sends in the background after the last close(2) returned (on a file
 * system that serves its locks; ext4's go at once). */
static int set_lock_after_release(int fd, int cmd, short type, off_t start,
                                  off_t len)
{
    double until = h_now() + 2.0;
    int r;

    while ((r = set_lock(fd, cmd, type, start, len)) != 0 &&
           (errno == EAGAIN || errno == EACCES) && h_now() < until)
        usleep(10 * 1000);
    return r;
}

static void ofd_locks_conflict_between_open_file_descriptions_of_one_process(void)
{
    const char *path = h_path("locked");
    make_file(path, "0123456789");
    int fd1 = ASSERT_OK(open(path, O_RDWR));
    int fd2 = ASSERT_OK(open(path, O_RDWR));
    ASSERT_OK(set_lock(fd1, F_OFD_SETLK, F_WRLCK, 0, 10));
    /* another description, same process: conflict */
    EXPECT_ERRNO2(set_lock(fd2, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES);
    EXPECT_ERRNO2(set_lock(fd2, F_OFD_SETLK, F_RDLCK, 9, 5), EAGAIN, EACCES);
    struct flock fl = get_lock(fd2, F_OFD_GETLK, F_RDLCK, 0, 100);
    EXPECT_EQ(fl.l_type, F_WRLCK);
    EXPECT_EQ(fl.l_pid, -1);
    EXPECT_EQ(fl.l_start, 0);
    EXPECT_EQ(fl.l_len, 10);
    EXPECT_OK(set_lock(fd2, F_OFD_SETLK, F_RDLCK, 10, 5)); /* beside it */
    /* even a classic lock of the same process conflicts */
    EXPECT_ERRNO2(set_lock(fd2, F_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES);
    /* a dup shares the description: no conflict, and it keeps the lock
     * alive after fd1 is closed */
    int dup1 = ASSERT_OK(dup(fd1));
    EXPECT_OK(set_lock(dup1, F_OFD_SETLK, F_WRLCK, 0, 10));
    struct peer p;
    peer_start(&p, ofd_child, (void *)path);
    peer_wait(&p);
    peer_finish(&p);
    EXPECT_OK(close(fd1));
    EXPECT_ERRNO2(set_lock(fd2, F_OFD_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES);
    EXPECT_OK(close(dup1)); /* the last descriptor of the description */
    EXPECT_OK(set_lock_after_release(fd2, F_OFD_SETLK, F_WRLCK, 0, 10));
    close(fd2);
}

struct flock_try {
    const char *path;
    int op;          /* LOCK_SH or LOCK_EX, tried with LOCK_NB */
    bool expect_ok;
    bool after_release; /* a lock in the way goes at a RELEASE in flight */
};

/* flock(LOCK_NB) once the lock in the way is gone, tried for up to 2 s:
 * a flock lock ends at the RELEASE of its open file description, which
 * the kernel sends in the background after the last close(2) returned. */
static int flock_after_release(int fd, int op)
{
    double until = h_now() + 2.0;
    int r;

    while ((r = flock(fd, op | LOCK_NB)) != 0 && errno == EWOULDBLOCK &&
           h_now() < until)
        usleep(10 * 1000);
    return r;
}

static void flock_child(struct peer *p, void *arg)
{
    const struct flock_try *t = arg;
    int fd = open(t->path, O_RDONLY);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    if (t->expect_ok && t->after_release)
        EXPECT_OK(flock_after_release(fd, t->op));
    else if (t->expect_ok)
        EXPECT_OK(flock(fd, t->op | LOCK_NB));
    else
        EXPECT_ERRNO(flock(fd, t->op | LOCK_NB), EWOULDBLOCK);
    peer_step(p);
}

/* Start a child that tries flock(op | LOCK_NB) on its own open of @p path
 * and, when it succeeds, holds the lock until peer_finish(). */
static void flock_from_child(struct peer *p, const char *path, int op, bool expect_ok)
{
    /* the child gets its copy at fork: reusing it for the next is fine */
    static struct flock_try t;
    t = (struct flock_try){ path, op, expect_ok, false };
    peer_start(p, flock_child, &t);
    peer_wait(p);
}

/* flock_from_child() that expects success once the parent's closed
 * description has been released. */
static void flock_from_child_after_release(struct peer *p, const char *path, int op)
{
    static struct flock_try t;
    t = (struct flock_try){ path, op, true, true };
    peer_start(p, flock_child, &t);
    peer_wait(p);
}

static void flock_blocking_child(struct peer *p, void *arg)
{
    int fd = open((const char *)arg, O_RDONLY);
    if (fd < 0) {
        ADD_FAILURE("child open: %s", expect_errname(errno));
        return;
    }
    send_byte(p->done[1]);
    double start = h_now();
    EXPECT_OK(flock(fd, LOCK_EX));
    EXPECT_GE((h_now() - start) * 1000, 250);
    peer_step(p);
}

static void flock_shared_and_exclusive_between_processes(void)
{
    const char *path = h_path("locked");
    make_file(path, "x");
    struct peer a, b;
    int fd = ASSERT_OK(open(path, O_RDONLY));
    ASSERT_OK(flock(fd, LOCK_SH));
    flock_from_child(&a, path, LOCK_SH, true);   /* shared with shared */
    flock_from_child(&b, path, LOCK_EX, false);  /* not exclusive */
    peer_finish(&b);
    /* the parent cannot upgrade while the child shares */
    EXPECT_OK(flock(fd, LOCK_UN));
    EXPECT_ERRNO(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    peer_finish(&a); /* its exit releases its lock */
    EXPECT_OK(flock_after_release(fd, LOCK_EX));
    flock_from_child(&b, path, LOCK_SH, false);  /* exclusive excludes */
    peer_finish(&b);
    /* fcntl locks are another kind: they do not see flock locks */
    struct try_lock t = { path, true };
    struct peer c;
    peer_start(&c, try_lock_child, &t);
    peer_wait(&c);
    peer_finish(&c);
    /* close releases */
    EXPECT_OK(close(fd));
    flock_from_child_after_release(&b, path, LOCK_EX);
    peer_finish(&b);
    /* a blocking flock waits for the holder */
    fd = ASSERT_OK(open(path, O_RDONLY));
    ASSERT_OK(flock(fd, LOCK_EX));
    peer_start(&a, flock_blocking_child, (void *)path);
    if (peer_wait(&a)) {
        h_sleep(0.3);
        EXPECT_FALSE(byte_ready(a.done[0]));
        EXPECT_OK(flock(fd, LOCK_UN));
        peer_wait(&a);
        EXPECT_ERRNO(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    }
    peer_finish(&a);
    close(fd);
}

/* ------------------------------------------------------------------ */
/* 3. extended attributes (named streams, EAs)                         */

static void xattr_trusted_and_security_namespaces_set_get_list_remove(void)
{
    const char *names[] = { "user.u", "trusted.t", "security.s" };
    const char *values[] = { "user-value", "trusted-value", "security-value" };
    const char *paths[] = { h_path("f"), h_path("d") };
    make_file(paths[0], "x");
    ASSERT_OK(mkdir(paths[1], 0755));
    for (size_t p = 0; p < 2; p++) {
        char buf[256];
        for (size_t i = 0; i < 3; i++)
            EXPECT_OK(setxattr(paths[p], names[i], values[i], strlen(values[i]), 0));
        for (size_t i = 0; i < 3; i++) {
            ssize_t n = getxattr(paths[p], names[i], buf, sizeof buf);
            EXPECT_EQ(n, (ssize_t)strlen(values[i]));
            if (n >= 0)
                EXPECT_MEMEQ(buf, values[i], (size_t)n);
            EXPECT_EQ(getxattr(paths[p], names[i], NULL, 0), (ssize_t)strlen(values[i]));
        }
        /* the list holds the three names, in some order */
        ssize_t len = listxattr(paths[p], buf, sizeof buf);
        EXPECT_EQ(len, (ssize_t)(sizeof "user.u" + sizeof "trusted.t" + sizeof "security.s"));
        for (size_t i = 0; i < 3; i++) {
            bool found = false;
            for (ssize_t off = 0; off < len; off += (ssize_t)strlen(buf + off) + 1)
                found |= strcmp(buf + off, names[i]) == 0;
            if (!found)
                ADD_FAILURE("%s is not in the list of %s", names[i], paths[p]);
        }
        /* flags apply in every namespace */
        EXPECT_ERRNO(setxattr(paths[p], "trusted.t", "v", 1, XATTR_CREATE), EEXIST);
        EXPECT_ERRNO(setxattr(paths[p], "security.none", "v", 1, XATTR_REPLACE), ENODATA);
        EXPECT_OK(setxattr(paths[p], "security.s", "S", 1, XATTR_REPLACE));
        EXPECT_EQ(getxattr(paths[p], "security.s", buf, sizeof buf), 1);
        EXPECT_ERRNO(getxattr(paths[p], "trusted.none", buf, sizeof buf), ENODATA);
        for (size_t i = 0; i < 3; i++)
            EXPECT_OK(removexattr(paths[p], names[i]));
        EXPECT_ERRNO(removexattr(paths[p], "trusted.t"), ENODATA);
        EXPECT_EQ(listxattr(paths[p], buf, sizeof buf), 0);
    }
}

static void xattr_buffer_one_byte_short_fails_with_erange(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    char value[100], buf[200];
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (char)(i * 7);
    ASSERT_OK(setxattr(p, "trusted.v", value, sizeof value, 0));
    EXPECT_EQ(getxattr(p, "trusted.v", NULL, 0), 100);
    EXPECT_ERRNO(getxattr(p, "trusted.v", buf, 99), ERANGE);
    EXPECT_EQ(getxattr(p, "trusted.v", buf, 100), 100);
    EXPECT_MEMEQ(buf, value, 100);
    ssize_t need = listxattr(p, NULL, 0);
    EXPECT_EQ(need, (ssize_t)sizeof "trusted.v");
    EXPECT_ERRNO(listxattr(p, buf, (size_t)need - 1), ERANGE);
    EXPECT_EQ(listxattr(p, buf, (size_t)need), need);
    /* through a descriptor too */
    int fd = ASSERT_OK(open(p, O_RDONLY));
    EXPECT_EQ(fgetxattr(fd, "trusted.v", NULL, 0), 100);
    EXPECT_ERRNO(fgetxattr(fd, "trusted.v", buf, 1), ERANGE);
    EXPECT_ERRNO(fgetxattr(fd, "trusted.none", NULL, 0), ENODATA);
    close(fd);
}

static void xattr_value_of_64k_works_and_larger_fails_with_e2big(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    size_t max = 65536;
    char *value = malloc(max + 1), *back = malloc(max + 1);
    ASSERT_TRUE(value && back);
    for (size_t i = 0; i <= max; i++)
        value[i] = (char)(i ^ (i >> 8));
    /* the kernel's limit, XATTR_SIZE_MAX, for every file system */
    EXPECT_ERRNO(setxattr(p, "user.big", value, max + 1, 0), E2BIG);
    int r = setxattr(p, "user.big", value, max, 0);
    int e = errno;
    if (r != 0 && !testing_memfs() && e == ENOSPC) {
        /* ext4 keeps a value in one block unless ea_inode is on */
        h_note("the backing file system refuses a 64 KiB value (ENOSPC)");
    } else if (r != 0) {
        ADD_FAILURE("setxattr of a 64 KiB value -> %d; errno=%s", r, expect_errname(e));
    } else {
        EXPECT_EQ(getxattr(p, "user.big", NULL, 0), (ssize_t)max);
        EXPECT_ERRNO(getxattr(p, "user.big", back, max - 1), ERANGE);
        EXPECT_EQ(getxattr(p, "user.big", back, max + 1), (ssize_t)max);
        EXPECT_MEMEQ(back, value, max);
        EXPECT_OK(removexattr(p, "user.big"));
    }
    /* names: 255 bytes at most (XATTR_NAME_MAX) */
    char name[300];
    memset(name, 'n', sizeof name);
    memcpy(name, "user.", 5);
    name[256] = '\0';
    EXPECT_ERRNO(setxattr(p, name, "v", 1, 0), ERANGE);
    name[255] = '\0';
    EXPECT_OK(setxattr(p, name, "v", 1, 0));
    EXPECT_EQ(getxattr(p, name, back, 16), 1);
    free(value);
    free(back);
}

static void xattr_unknown_namespace_fails_with_eopnotsupp(void)
{
    const char *p = h_path("f");
    make_file(p, "x");
    char buf[16];
    EXPECT_ERRNO(setxattr(p, "foo.bar", "v", 1, 0), EOPNOTSUPP);
    EXPECT_ERRNO(getxattr(p, "foo.bar", buf, sizeof buf), EOPNOTSUPP);
    EXPECT_ERRNO(removexattr(p, "foo.bar"), EOPNOTSUPP);
    EXPECT_ERRNO(setxattr(p, "nonamespace", "v", 1, 0), EOPNOTSUPP);
    EXPECT_EQ(listxattr(p, buf, sizeof buf), 0);
}

static void getfattr_dump_and_setfattr_restore_round_trip_a_binary_value(void)
{
    const char *f = h_path("f"), *g = h_path("g");
    make_file(f, "x");
    make_file(g, "y");
    const unsigned char bin[] = { 0x00, 0xff, 0x01, 0x80, '\n', '"', '\\', 0x7f, 0x00 };
    ASSERT_OK(setxattr(f, "user.bin", bin, sizeof bin, 0));
    ASSERT_OK(setxattr(f, "trusted.text", "plain text", 10, 0));
    struct h_proc pr;
    /* setfattr with a hex value */
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/setfattr", "-n", "user.hex", "-v",
                     "0x00deadbeef00", f, NULL), 0);
    unsigned char back[64];
    EXPECT_EQ(getxattr(f, "user.hex", back, sizeof back), 6);
    EXPECT_MEMEQ(back, "\x00\xde\xad\xbe\xef\x00", 6);
    /* dump every attribute of f, in hex */
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/getfattr", "--absolute-names", "-d", "-m", "-",
                     "-e", "hex", f, NULL), 0);
    EXPECT_TRUE(strstr(pr.out, "user.bin=0x00ff01800a225c7f00") != NULL);
    EXPECT_TRUE(strstr(pr.out, "user.hex=0x00deadbeef00") != NULL);
    EXPECT_TRUE(strstr(pr.out, "trusted.text=0x") != NULL);
    /* restore the dump onto g: point its "# file:" line at g */
    char dump[16384];
    const char *body = strchr(pr.out, '\n');
    ASSERT_TRUE(body != NULL);
    snprintf(dump, sizeof dump, "# file: %s%s", g, body);
    const char *dump_path = h_path("dump");
    ASSERT_TRUE(h_write_file(dump_path, dump, strlen(dump), 0600));
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/setfattr", "--restore", dump_path, NULL), 0);
    unlink(dump_path);
    EXPECT_EQ(getxattr(g, "user.bin", back, sizeof back), (ssize_t)sizeof bin);
    EXPECT_MEMEQ(back, bin, sizeof bin);
    EXPECT_EQ(getxattr(g, "user.hex", back, sizeof back), 6);
    EXPECT_MEMEQ(back, "\x00\xde\xad\xbe\xef\x00", 6);
    EXPECT_EQ(getxattr(g, "trusted.text", back, sizeof back), 10);
    EXPECT_MEMEQ(back, "plain text", 10);
    /* and base64, getfattr's other binary encoding, reads the same */
    EXPECT_EQ(h_runl(&pr, 10, "/usr/bin/getfattr", "--only-values", "-n", "user.bin",
                     g, NULL), 0);
    EXPECT_MEMEQ(pr.out, bin, sizeof bin);
}

static void xattrs_survive_rename_and_hard_links_share_them(void)
{
    char buf[64];
    ASSERT_OK(mkdir(h_path("d"), 0755));
    make_file(h_path("f"), "x");
    make_file(h_path("stranger"), "y");
    ASSERT_OK(setxattr(h_path("f"), "user.kept", "K", 1, 0));
    ASSERT_OK(setxattr(h_path("f"), "trusted.kept", "T", 1, 0));
    /* rename, also into another directory */
    ASSERT_OK(rename(h_path("f"), h_path("g")));
    EXPECT_EQ(getxattr(h_path("g"), "user.kept", buf, sizeof buf), 1);
    ASSERT_OK(rename(h_path("g"), h_path("d/h")));
    EXPECT_EQ(getxattr(h_path("d/h"), "trusted.kept", buf, sizeof buf), 1);
    EXPECT_MEMEQ(buf, "T", 1);
    /* a directory's attributes move with it */
    ASSERT_OK(setxattr(h_path("d"), "user.dir", "D", 1, 0));
    ASSERT_OK(rename(h_path("d"), h_path("e")));
    EXPECT_EQ(getxattr(h_path("e"), "user.dir", buf, sizeof buf), 1);
    /* hard links: one file, one set of attributes */
    ASSERT_OK(link(h_path("e/h"), h_path("link")));
    EXPECT_EQ(getxattr(h_path("link"), "user.kept", buf, sizeof buf), 1);
    EXPECT_OK(setxattr(h_path("link"), "user.new", "N", 1, 0));
    EXPECT_EQ(getxattr(h_path("e/h"), "user.new", buf, sizeof buf), 1);
    EXPECT_OK(removexattr(h_path("e/h"), "user.kept"));
    EXPECT_ERRNO(getxattr(h_path("link"), "user.kept", buf, sizeof buf), ENODATA);
    EXPECT_OK(unlink(h_path("e/h")));
    EXPECT_EQ(getxattr(h_path("link"), "user.new", buf, sizeof buf), 1);
    /* per file: the other file has none of them */
    EXPECT_EQ(listxattr(h_path("stranger"), buf, sizeof buf), 0);
    EXPECT_ERRNO(getxattr(h_path("stranger"), "user.new", buf, sizeof buf), ENODATA);
}

/* ------------------------------------------------------------------ */
/* 4. reparse points: symbolic links                                   */

static void expect_link_target(const char *link, const char *target)
{
    char buf[4200];
    ssize_t n = readlink(link, buf, sizeof buf);
    if (!EXPECT_EQ(n, (ssize_t)strlen(target)))
        return;
    EXPECT_MEMEQ(buf, target, (size_t)n);
    struct stat st;
    if (EXPECT_OK(lstat(link, &st)) == 0) {
        EXPECT_TRUE(S_ISLNK(st.st_mode));
        EXPECT_EQ(st.st_size, (off_t)strlen(target));
    }
}

static void symlink_targets_are_kept_byte_for_byte(void)
{
    const char *targets[] = {
        "relative/file",
        "/absolute/path/to/x",
        "../../up/../and/..",
        "dir/",
        "/",
        ".",
        "a//b///c",
        "Ärger/σίσυφος/Москва/日本語/😀",
        "\xff\xfe not UTF-8 \x80",
        " leading and trailing spaces ",
    };
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        const char *l = h_path("l%zu", i);
        if (EXPECT_OK(symlink(targets[i], l)) == 0)
            expect_link_target(l, targets[i]);
    }
    /* the longest target Linux takes: PATH_MAX - 1 bytes */
    static char longest[4097];
    for (int i = 0; i < 4095; i++)
        longest[i] = (i % 64 == 63) ? '/' : (char)('A' + i % 26);
    longest[4095] = '\0';
    if (EXPECT_OK(symlink(longest, h_path("longest"))) == 0)
        expect_link_target(h_path("longest"), longest);
    longest[4095] = 'x';
    longest[4096] = '\0';
    EXPECT_ERRNO(symlink(longest, h_path("too-long")), ENAMETOOLONG);
    /* the targets outlive a rename of the link */
    EXPECT_OK(rename(h_path("l7"), h_path("renamed")));
    expect_link_target(h_path("renamed"), targets[7]);
}

static void symlink_to_a_directory_is_traversed(void)
{
    ASSERT_OK(mkdir(h_path("d"), 0755));
    ASSERT_OK(mkdir(h_path("d/sub"), 0755));
    make_file(h_path("d/sub/f"), "through");
    ASSERT_OK(mkdir(h_path("x"), 0755));
    ASSERT_OK(symlink("d", h_path("rel")));
    ASSERT_OK(symlink(h_path("d"), h_path("abs")));
    ASSERT_OK(symlink("d/", h_path("slash")));
    ASSERT_OK(symlink("../d/sub", h_path("x/up")));
    ASSERT_OK(symlink("rel", h_path("chain")));
    const char *via[] = { "rel/sub/f", "abs/sub/f", "slash/sub/f", "x/up/f", "chain/sub/f" };
    for (size_t i = 0; i < sizeof via / sizeof *via; i++)
        EXPECT_FILE_IS(h_path("%s", via[i]), "through");
    struct stat st, dst;
    ASSERT_OK(stat(h_path("d"), &dst));
    EXPECT_OK(stat(h_path("chain"), &st));
    EXPECT_EQ(st.st_ino, dst.st_ino);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    /* "link/" resolves the link even for lstat */
    EXPECT_OK(lstat(h_path("rel/"), &st));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_OK(lstat(h_path("rel"), &st));
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_STREQ(list_names(h_path("rel")), "sub|");
    EXPECT_STREQ(list_names(h_path("x/up")), "f|");
    /* chdir through the link, then a relative create lands in d/sub */
    int fd = ASSERT_OK(open(".", O_RDONLY | O_DIRECTORY));
    if (EXPECT_OK(chdir(h_path("slash/sub"))) == 0)
        make_file("made-here", "m");
    EXPECT_OK(fchdir(fd));
    close(fd);
    EXPECT_FILE_IS(h_path("d/sub/made-here"), "m");
    /* O_NOFOLLOW | O_DIRECTORY on the link itself refuses it */
    EXPECT_ERRNO2(open(h_path("rel"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW), ELOOP, ENOTDIR);
    /* rmdir through a link is not rmdir of the target */
    EXPECT_ERRNO(rmdir(h_path("rel")), ENOTDIR);
    EXPECT_OK(stat(h_path("d"), &st));
}

static void dangling_symlink_comes_alive_when_its_target_appears(void)
{
    struct stat st;
    char buf[64];
    ASSERT_OK(symlink("later/file", h_path("l")));
    EXPECT_ERRNO(stat(h_path("l"), &st), ENOENT);
    EXPECT_EQ(readlink(h_path("l"), buf, sizeof buf), 10);
    ASSERT_OK(mkdir(h_path("later"), 0755));
    EXPECT_ERRNO(stat(h_path("l"), &st), ENOENT);
    make_file(h_path("later/file"), "alive");
    EXPECT_FILE_IS(h_path("l"), "alive");
    EXPECT_OK(unlink(h_path("later/file")));
    EXPECT_ERRNO(stat(h_path("l"), &st), ENOENT);
    EXPECT_OK(lstat(h_path("l"), &st));
    EXPECT_EQ(st.st_size, 10);
    /* renamed, it still points where it pointed */
    EXPECT_OK(rename(h_path("l"), h_path("later/l")));
    expect_link_target(h_path("later/l"), "later/file");
    EXPECT_ERRNO(stat(h_path("later/l"), &st), ENOENT); /* later/later/file */
}

/* ------------------------------------------------------------------ */
/* 5. the debug log                                                    */

/* One request line "<- ID OPCODE PATH ARGS uid= pid=" and one reply line
 * "-> ID OPCODE RESULT (N bytes) LATENCYus" for a LOOKUP of @p name. */
static void expect_lookup_logged(const char *log, const char *name, const char *result)
{
    FILE *f;
    char line[4096], id[32] = "";
    char want_name[300];
    int requests = 0, replies = 0;

    snprintf(want_name, sizeof want_name, " name=\"%s\"", name);
    const char *req_needles[] = { " <- ", " LOOKUP ", want_name, NULL };
    if (!log_has(log, req_needles)) {
        ADD_FAILURE("no LOOKUP request for %s in the log", name);
        return;
    }
    f = fopen(log, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *arrow = strstr(line, " <- ");
        if (arrow && strstr(line, " LOOKUP ") && strstr(line, want_name)) {
            requests++;
            sscanf(arrow + 4, "%31s", id); /* "TIME FS <- ID LOOKUP ..." */
            EXPECT_TRUE(strstr(line, " / ") != NULL); /* the parent's path */
            /* uid=- : the kernel names no caller outside creates on a
             * volume that allows idmapped views (memfs does). */
            EXPECT_TRUE(strstr(line, " uid=0 ") != NULL ||
                        strstr(line, " uid=- ") != NULL);
            EXPECT_TRUE(strstr(line, " pid=") != NULL);
        }
    }
    fclose(f);
    EXPECT_EQ(requests, 1);
    if (!id[0])
        return;
    char reply_head[128];
    snprintf(reply_head, sizeof reply_head, " -> %s LOOKUP %s (", id, result);
    const char *rep_needles[] = { reply_head, NULL };
    if (!log_has(log, rep_needles)) {
        ADD_FAILURE("no reply line \"%s...\" in the log", reply_head);
        return;
    }
    /* the reply's size and latency: "(0 bytes) 21us" */
    f = fopen(log, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *head = strstr(line, reply_head), unit[4] = "";
        unsigned bytes = 0;
        unsigned long long latency = 0;
        if (!head)
            continue;
        replies++;
        EXPECT_EQ(sscanf(strrchr(line, '('), "(%u bytes) %llu%3s", &bytes, &latency, unit), 3);
        EXPECT_STREQ(unit, "us");
        EXPECT_LT(latency, 10000000);
    }
    fclose(f);
    EXPECT_EQ(replies, 1);
    char id_request[64], id_reply[64];
    snprintf(id_request, sizeof id_request, " <- %s ", id);
    snprintf(id_reply, sizeof id_reply, " -> %s ", id);
    const char *one_req[] = { id_request, NULL };
    const char *one_rep[] = { id_reply, NULL };
    EXPECT_EQ(count_lines(log, one_req), 1); /* ids are unique */
    EXPECT_EQ(count_lines(log, one_rep), 1);
}

static void debug_log_has_a_request_and_a_reply_line_per_request(void)
{
    const struct h_mount *m = h_cur_mount();
    ASSERT_TRUE(m != NULL);
    struct stat st;
    EXPECT_ERRNO(stat(h_path("absent-name"), &st), ENOENT);
    make_file(h_path("present-name"), "0123456789");
    /* a fresh name for a successful LOOKUP: the create above was one */
    ASSERT_OK(mkdir(h_path("dir"), 0755));
    EXPECT_OK(rmdir(h_path("dir")));
    EXPECT_ERRNO(stat(h_path("dir"), &st), ENOENT);
    expect_lookup_logged(m->log, "absent-name", "ENOENT No such file or directory");
    /* the arguments of a write: offset and size. ptfs with kernel
     * passthrough (its default) sends no WRITE: the kernel writes SOURCE's
     * file itself; the .ptfs_no_passthrough variant checks it. */
    const char *opts = getenv("FSP_TEST_FS_OPTS");
    bool kernel_writes = h_fs_is_ptfs() && !(opts && strstr(opts, "no_passthrough"));
    const char *write_req[] = { " <- ", " WRITE /present-name ", " size=10", NULL };
    EXPECT_TRUE(log_has(m->log, write_req) != kernel_writes);
    const char *write_rep[] = { " -> ", " WRITE OK ", "us", NULL };
    EXPECT_TRUE(log_has(m->log, write_rep) != kernel_writes);
    const char *mkdir_req[] = { " <- ", " MKDIR / ", "name=\"dir\"", NULL };
    EXPECT_TRUE(log_has(m->log, mkdir_req));
    /* every reply answers exactly one request logged before it */
    FILE *f = fopen(m->log, "r");
    ASSERT_TRUE(f != NULL);
    char line[4096];
    static char seen[8192][24];
    int nseen = 0, replies = 0, orphans = 0;
    while (fgets(line, sizeof line, f)) {
        char id[24];
        char *req = strstr(line, " <- "), *rep = strstr(line, " -> ");
        if (req && sscanf(req + 4, "%23s", id) == 1 && nseen < 8192) {
            for (int i = 0; i < nseen; i++)
                if (strcmp(seen[i], id) == 0)
                    ADD_FAILURE("request id %s logged twice", id);
            snprintf(seen[nseen++], sizeof seen[0], "%s", id);
        } else if (rep && sscanf(rep + 4, "%23s", id) == 1) {
            bool found = false;
            for (int i = 0; i < nseen && !found; i++)
                found = strcmp(seen[i], id) == 0;
            replies++;
            orphans += !found;
        }
    }
    fclose(f);
    EXPECT_GT(replies, 5);
    EXPECT_EQ(orphans, 0);
}

/* `fsptool debug` writes the switch; the daemon polls it every 250 ms. */
static void fsptool_switch(const char *mnt, const char *state)
{
    struct h_proc pr;
    char tool[512];
    snprintf(tool, sizeof tool, "%s/fsptool", h_bin_dir);
    EXPECT_EQ(h_runl(&pr, 10, tool, "debug", mnt, state, NULL), 0);
    h_sleep(0.6);
}

static void stat_probe(const char *name)
{
    struct stat st;
    EXPECT_ERRNO(stat(h_path("%s", name), &st), ENOENT);
}

static void fsptool_debug_switches_the_log_while_the_volume_runs(void)
{
    const struct h_mount *m = h_cur_mount();
    ASSERT_TRUE(m != NULL);
    stat_probe("probe-on-1");
    const char *on1[] = { "name=\"probe-on-1\"", NULL };
    EXPECT_TRUE(log_has(m->log, on1));
    fsptool_switch(m->mnt, "off");
    stat_probe("probe-off");
    make_file(h_path("written-while-off"), "x");
    h_sleep(0.3);
    const char *off[] = { "probe-off", NULL };
    const char *off2[] = { "written-while-off", NULL };
    EXPECT_EQ(count_lines(m->log, off), 0);
    EXPECT_EQ(count_lines(m->log, off2), 0);
    fsptool_switch(m->mnt, "on");
    stat_probe("probe-on-2");
    const char *on2[] = { "name=\"probe-on-2\"", NULL };
    EXPECT_TRUE(log_has(m->log, on2));
    EXPECT_EQ(count_lines(m->log, off), 0);
}

static void sigusr1_toggles_the_debug_log_wherever_it_was_switched(void)
{
    struct h_mount m;
    if (!h_mount(&m, NULL, 0)) /* no -d: the log starts off */
        return;
    char saved_root[256];
    snprintf(saved_root, sizeof saved_root, "%s", h_root);
    h_root = m.mnt;
    stat_probe("probe-1");
    h_sleep(0.2);
    const char *p1[] = { "probe-1", NULL };
    EXPECT_EQ(count_lines(m.log, p1), 0);
    EXPECT_OK(kill(m.pid, SIGUSR1));
    h_sleep(0.1);
    stat_probe("probe-2");
    const char *p2[] = { "name=\"probe-2\"", NULL };
    EXPECT_TRUE(log_has(m.log, p2));
    EXPECT_OK(kill(m.pid, SIGUSR1));
    h_sleep(0.1);
    stat_probe("probe-3");
    h_sleep(0.3);
    const char *p3[] = { "probe-3", NULL };
    EXPECT_EQ(count_lines(m.log, p3), 0);
    /* fsptool switches it on; SIGUSR1 then flips what is, not what the
     * signal handler last set: off. */
    fsptool_switch(m.mnt, "on");
    EXPECT_OK(kill(m.pid, SIGUSR1));
    h_sleep(0.4); /* past the control thread's 250 ms poll */
    stat_probe("probe-4");
    h_sleep(0.3);
    const char *p4[] = { "probe-4", NULL };
    EXPECT_EQ(count_lines(m.log, p4), 0);
    h_root = saved_root;
    int st;
    EXPECT_TRUE(h_unmount(&m, &st));
}

/* ------------------------------------------------------------------ */

#define CI "case_insensitive"

static const struct h_case cases[] = {
    /* 1. case-insensitive volumes */
    H_CASE(ci_open_stat_rename_unlink_find_the_existing_name_by_any_case, CI, H_DAEMON),
    H_CASE(ci_readdir_lists_names_as_created, CI, H_DAEMON),
    H_CASE(ci_readdir_of_many_names_returns_each_once_as_created, CI, H_DAEMON),
    H_CASE(ci_exclusive_create_of_another_case_fails_with_eexist, CI, H_DAEMON),
    H_CASE(ci_absent_name_in_one_case_never_hides_a_creation_in_another,
           CI ",negative_timeout=60000", H_DAEMON),
    H_CASE(ci_unlink_by_another_case_drops_every_cached_spelling,
           CI ",file_info_timeout=60000,dir_info_timeout=60000", H_DAEMON),
    H_CASE(ci_rename_by_another_case_drops_every_cached_spelling,
           CI ",file_info_timeout=60000,dir_info_timeout=60000", H_DAEMON),
    H_CASE(ci_rename_that_changes_only_case_is_a_kernel_noop, CI, H_DAEMON | H_DEBUGLOG),
    H_CASE(ci_rename_of_a_directory_that_changes_only_case_is_a_kernel_noop, CI,
           H_DAEMON | H_DEBUGLOG),
    H_CASE(ci_directories_are_found_by_any_case, CI, H_DAEMON),
    H_CASE(ci_non_ascii_names_match_in_any_case, CI, H_DAEMON),
    H_CASE(case_sensitive_volume_keeps_a_and_A_apart, NULL, 0),
    /* 2. locks */
    H_CASE(fcntl_read_locks_share_and_write_locks_exclude_on_overlap_only, NULL, 0),
    H_CASE(fcntl_getlk_reports_the_holders_pid_and_range, NULL, 0),
    H_CASE(fcntl_setlkw_blocks_until_the_holder_unlocks_then_proceeds, NULL, 0),
    H_CASE(fcntl_setlkw_interrupted_by_a_signal_fails_with_eintr, NULL, 0),
    H_CASE(fcntl_lock_is_released_when_the_holder_closes_any_fd_or_exits, NULL, 0),
    H_CASE(fcntl_lock_through_one_hard_link_conflicts_through_another, NULL, 0),
    H_CASE(ofd_locks_conflict_between_open_file_descriptions_of_one_process, NULL, 0),
    H_CASE(flock_shared_and_exclusive_between_processes, NULL, 0),
    /* 3. extended attributes */
    H_CASE(xattr_trusted_and_security_namespaces_set_get_list_remove, NULL, 0),
    H_CASE(xattr_buffer_one_byte_short_fails_with_erange, NULL, 0),
    H_CASE(xattr_value_of_64k_works_and_larger_fails_with_e2big, NULL, 0),
    H_CASE(xattr_unknown_namespace_fails_with_eopnotsupp, NULL, 0),
    H_CASE(getfattr_dump_and_setfattr_restore_round_trip_a_binary_value, NULL, 0),
    H_CASE(xattrs_survive_rename_and_hard_links_share_them, NULL, 0),
    /* 4. reparse points */
    H_CASE(symlink_targets_are_kept_byte_for_byte, NULL, 0),
    H_CASE(symlink_to_a_directory_is_traversed, NULL, 0),
    H_CASE(dangling_symlink_comes_alive_when_its_target_appears, NULL, 0),
    /* 5. the debug log */
    H_CASE(debug_log_has_a_request_and_a_reply_line_per_request, "negative_timeout=0",
           H_DAEMON | H_DEBUGLOG),
    H_CASE(fsptool_debug_switches_the_log_while_the_volume_runs, NULL, H_DAEMON | H_DEBUGLOG),
    H_CASE(sigusr1_toggles_the_debug_log_wherever_it_was_switched, NULL, H_DAEMON | H_NOMOUNT),
};

int main(int argc, char **argv)
{
    return h_main("semantics", argc, argv, cases, sizeof cases / sizeof *cases);
}
