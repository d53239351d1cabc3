/*
 * mount_options.c - the mount flags a volume takes from -o, as mount(8)
 * names them, and what each one does on a real mount:
 *
 *   - suid / nosuid, dev / nodev: MS_NOSUID and MS_NODEV, shown in
 *     /proc/mounts and statvfs(2)'s f_flag; a device node opens only on a
 *     dev mount (EACCES on a nodev one), a set-user-ID program runs with
 *     its owner's id only on a suid mount; an ordinary user's mount is
 *     refused with a message rather than silently made nosuid, nodev;
 *   - relatime (the default), strictatime, noatime, nodiratime: the access
 *     time flag of the mount, and the access times memfs keeps to match
 *     (the kernel keeps none for a FUSE file); ptfs (in the .ptfs run)
 *     leaves relatime and strictatime to SOURCE's mount (strictatime is
 *     memfs's only), and opens O_NOATIME for noatime and nodiratime. Reads are made with
 *     O_DIRECT so that each one reaches the volume rather than the page
 *     cache, and the mounts cache no attributes (file_info_timeout=0,
 *     dir_info_timeout=0), so that stat(2) shows what the volume holds.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define NOBODY 65534
#define NO_CACHE "file_info_timeout=0,dir_info_timeout=0"

/* Is @flag one of the comma-separated options in @opts? */
static bool has_flag(const char *opts, const char *flag)
{
    size_t n = strlen(flag);

    for (const char *p = opts; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, flag, n) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

static void need_root(void)
{
    if (geteuid() != 0)
        h_skip("suid and dev are root's options");
}

/* ------------------------------------------------------------------ */
/* what /proc/mounts and statvfs show                                 */

struct flag_row {
    const char *opts;          /* memfs -o */
    const char *shown[3];      /* flags /proc/mounts shows */
    const char *not_shown[3];  /* flags it must not show */
    unsigned long f_flag_set;  /* statvfs f_flag bits set */
    unsigned long f_flag_clear;/* ... and clear */
};

static const struct flag_row flag_rows[] = {
    { "", { "nosuid", "nodev", "relatime" }, { "noatime", "nodiratime" },
      ST_NOSUID | ST_NODEV | ST_RELATIME, ST_NOATIME | ST_NODIRATIME },
    { "nosuid,nodev", { "nosuid", "nodev" }, { NULL },
      ST_NOSUID | ST_NODEV, 0 },
    { "suid", { "nodev" }, { "nosuid" }, ST_NODEV, ST_NOSUID },
    { "dev", { "nosuid" }, { "nodev" }, ST_NOSUID, ST_NODEV },
    { "suid,dev", { NULL }, { "nosuid", "nodev" }, 0, ST_NOSUID | ST_NODEV },
    { "relatime", { "relatime" }, { "noatime" }, ST_RELATIME, ST_NOATIME },
    { "noatime", { "noatime" }, { "relatime" }, ST_NOATIME, ST_RELATIME },
    { "strictatime", { NULL }, { "relatime", "noatime" }, 0,
      ST_RELATIME | ST_NOATIME },
    { "nodiratime", { "nodiratime", "relatime" }, { "noatime" },
      ST_NODIRATIME | ST_RELATIME, ST_NOATIME },
};

static void check_flag_row(const struct flag_row *row)
{
    struct h_mount m;
    struct h_mountinfo mi;
    struct statvfs sv;

    if (!h_mount(&m, row->opts, 0))
        return;
    if (!h_mountinfo_find(m.mnt, &mi))
        ADD_FAILURE("-o %s: the mount is not in mountinfo", row->opts);
    else {
        for (int i = 0; i < 3 && row->shown[i]; i++)
            if (!has_flag(mi.opts, row->shown[i]))
                ADD_FAILURE("-o '%s': /proc/mounts shows '%s', not %s",
                            row->opts, mi.opts, row->shown[i]);
        for (int i = 0; i < 3 && row->not_shown[i]; i++)
            if (has_flag(mi.opts, row->not_shown[i]))
                ADD_FAILURE("-o '%s': /proc/mounts shows '%s', with %s",
                            row->opts, mi.opts, row->not_shown[i]);
    }
    if (statvfs(m.mnt, &sv) != 0)
        ADD_FAILURE("-o '%s': statvfs: %s", row->opts, expect_errname(errno));
    else if ((sv.f_flag & row->f_flag_set) != row->f_flag_set ||
             (sv.f_flag & row->f_flag_clear) != 0)
        ADD_FAILURE("-o '%s': statvfs f_flag %#lx, wanted %#lx set and "
                    "%#lx clear", row->opts, sv.f_flag, row->f_flag_set,
                    row->f_flag_clear);
    h_unmount(&m, NULL);
}

static void each_option_shows_in_proc_mounts_and_statvfs(void)
{
    need_root();
    for (size_t i = 0; i < sizeof flag_rows / sizeof *flag_rows; i++)
        check_flag_row(&flag_rows[i]);
}

/* ------------------------------------------------------------------ */
/* devices                                                            */

/* A node like /dev/null (character device 1:3) in the volume. */
static const char *make_null_device(void)
{
    const char *path = h_path("null");

    if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0)
        ADD_FAILURE("mknod %s c 1 3: %s", path, expect_errname(errno));
    return path;
}

static void device_node_opens_on_a_dev_mount(void)
{
    const char *path = make_null_device();
    char byte;
    int fd = open(path, O_RDWR);

    ASSERT_OK(fd);
    EXPECT_EQ(write(fd, "x", 1), 1);     /* /dev/null takes it */
    EXPECT_EQ(read(fd, &byte, 1), 0);    /* and has nothing to give */
    close(fd);
}

static void device_node_gives_eacces_on_a_nodev_mount(void)
{
    const char *path = make_null_device();
    struct stat st;

    ASSERT_OK(stat(path, &st));
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    EXPECT_ERRNO(open(path, O_RDWR), EACCES);
    EXPECT_ERRNO(open(path, O_RDONLY), EACCES);
}

/* ------------------------------------------------------------------ */
/* set-user-ID                                                        */

/* Puts a set-user-ID copy of id(1), owned by root, into the volume and
 * runs it as nobody: "euid=0" shows that the bit took effect. */
static bool setuid_program_runs_as_its_owner(void)
{
    static char image[4 << 20];
    const char *copy = h_path("id");
    struct h_proc p;
    struct h_run_opts o = { .uid = NOBODY, .gid = NOBODY, .drop = true,
                            .timeout_s = 20 };
    ssize_t n = h_read_file("/usr/bin/id", image, sizeof image);

    if (n <= 0)
        h_skip("no /usr/bin/id to copy");
    if (!h_write_file(copy, image, (size_t)n, 0755) ||
        chmod(copy, 04755) != 0) {
        ADD_FAILURE("cannot make %s set-user-ID: %s", copy,
                    expect_errname(errno));
        return false;
    }
    h_make_traversable(h_root);
    char *const argv[] = { (char *)copy, NULL };
    int rc = h_run(&p, &o, argv);
    if (rc != 0)
        ADD_FAILURE("%s as nobody: exit %d, stderr: %s", copy, rc, p.err);
    h_note("id as nobody: %.*s", (int)strcspn(p.out, "\n"), p.out);
    return strstr(p.out, "euid=0(") != NULL;
}

static void setuid_program_takes_effect_on_a_suid_mount(void)
{
    struct statvfs sv;

    ASSERT_OK(statvfs(h_root, &sv));
    EXPECT_EQ(sv.f_flag & ST_NOSUID, 0);
    EXPECT_TRUE(setuid_program_runs_as_its_owner());
}

static void setuid_program_does_not_on_a_nosuid_mount(void)
{
    struct statvfs sv;

    ASSERT_OK(statvfs(h_root, &sv));
    EXPECT_NE(sv.f_flag & ST_NOSUID, 0);
    EXPECT_FALSE(setuid_program_runs_as_its_owner());
}

/* An ordinary user cannot have them: fusermount3 would mount nosuid,
 * nodev anyway, so memfs refuses and says why. */
static void suid_and_dev_are_refused_to_an_ordinary_user(void)
{
    static const char *const opts[] = { "suid", "dev", "suid,dev" };
    char memfs[4096], dir[] = "/tmp/mntopts-user.XXXXXX";

    need_root();
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_OK(chown(dir, NOBODY, NOBODY));
    snprintf(memfs, sizeof memfs, "%s/memfs", h_bin_dir);
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        struct h_proc p;
        struct h_run_opts o = { .uid = NOBODY, .gid = NOBODY, .drop = true,
                                .timeout_s = 20 };
        char *const argv[] = { memfs, "-f", "-o", (char *)opts[i], dir, NULL };
        int rc = h_run(&p, &o, argv);

        EXPECT_NE(rc, 0);
        if (h_mountinfo_count(dir) > 0) {
            ADD_FAILURE("memfs -o %s as nobody mounted %s", opts[i], dir);
            h_register(dir, h_find_daemon(dir), NULL);
            return;
        }
        if (!strstr(p.err, "needs root") || !strstr(p.err, opts[i]))
            ADD_FAILURE("memfs -o %s as nobody: stderr does not say why: "
                        "\"%s\"", opts[i], p.err);
    }
    rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* access times                                                       */

static struct timespec atime_of(const char *path)
{
    struct stat st;
    struct timespec none = { 0, 0 };

    if (stat(path, &st) != 0) {
        ADD_FAILURE("stat %s: %s", path, expect_errname(errno));
        return none;
    }
    return st.st_atim;
}

static int ts_cmp(struct timespec a, struct timespec b)
{
    if (a.tv_sec != b.tv_sec)
        return a.tv_sec < b.tv_sec ? -1 : 1;
    return a.tv_nsec < b.tv_nsec ? -1 : a.tv_nsec > b.tv_nsec;
}

/* A file of one page, written: its atime (of the create) is not later
 * than its mtime. */
static const char *new_file(const char *name)
{
    static char page[4096];
    const char *path = h_path("%s", name);

    memset(page, 'a', sizeof page);
    if (!h_write_file(path, page, sizeof page, 0644))
        ADD_FAILURE("cannot write %s", path);
    return path;
}

/* Reads the first page with O_DIRECT: a READ reaches the volume every
 * time, whatever the page cache holds. */
static void read_through(const char *path)
{
    static char page[4096] __attribute__((aligned(4096)));
    int fd = open(path, O_RDONLY | O_DIRECT);

    if (fd < 0) {
        ADD_FAILURE("open %s O_DIRECT: %s", path, expect_errname(errno));
        return;
    }
    if (read(fd, page, sizeof page) < 0)
        ADD_FAILURE("read %s: %s", path, expect_errname(errno));
    close(fd);
}

/* Lists a directory, all of it. */
static void list(const char *path)
{
    DIR *d = opendir(path);

    if (!d) {
        ADD_FAILURE("opendir %s: %s", path, expect_errname(errno));
        return;
    }
    while (readdir(d))
        ;
    closedir(d);
}

/* Later than any time set so far: timestamps are to the nanosecond, but
 * let the clock move visibly. */
static void tick(void)
{
    h_sleep(0.02);
}

static void relatime_updates_atime_once_after_a_change(void)
{
    const char *f = new_file("f");
    struct timespec created = atime_of(f), first, second;

    tick();
    read_through(f);
    first = atime_of(f);
    EXPECT_TRUE(ts_cmp(first, created) > 0);   /* atime was <= mtime */
    tick();
    read_through(f);
    second = atime_of(f);
    EXPECT_EQ(ts_cmp(second, first), 0);       /* now later than both */
    /* A change makes the next read count again. */
    tick();
    EXPECT_TRUE(h_write_file(f, "changed", 7, 0644));
    tick();
    read_through(f);
    EXPECT_TRUE(ts_cmp(atime_of(f), second) > 0);
}

static void strictatime_updates_atime_on_every_read(void)
{
    const char *f = new_file("f");
    struct timespec first, second;

    tick();
    read_through(f);
    first = atime_of(f);
    tick();
    read_through(f);
    second = atime_of(f);
    EXPECT_TRUE(ts_cmp(second, first) > 0);
}

static void noatime_never_updates_atime(void)
{
    const char *f = new_file("f");
    const char *d = h_path("d");
    struct timespec file_before = atime_of(f), dir_before;

    ASSERT_OK(mkdir(d, 0755));
    EXPECT_TRUE(h_write_file(h_path("d/g"), "g", 1, 0644));
    dir_before = atime_of(d);
    tick();
    read_through(f);
    list(d);
    EXPECT_EQ(ts_cmp(atime_of(f), file_before), 0);
    EXPECT_EQ(ts_cmp(atime_of(d), dir_before), 0);
}

/* Listing a directory changed since it was last read updates its atime
 * (relatime); with nodiratime it never does, and files still follow
 * relatime. */
static bool listing_updates_directory_atime(void)
{
    const char *d = h_path("d");
    struct timespec before;

    if (mkdir(d, 0755) != 0 || !h_write_file(h_path("d/g"), "g", 1, 0644)) {
        ADD_FAILURE("cannot make %s/g", d);
        return false;
    }
    before = atime_of(d);
    tick();
    list(d);
    return ts_cmp(atime_of(d), before) > 0;
}

static void relatime_listing_updates_directory_atime(void)
{
    EXPECT_TRUE(listing_updates_directory_atime());
}

static void nodiratime_listing_leaves_directory_atime(void)
{
    const char *f = new_file("f");
    struct timespec before = atime_of(f);

    EXPECT_FALSE(listing_updates_directory_atime());
    tick();
    read_through(f);
    EXPECT_TRUE(ts_cmp(atime_of(f), before) > 0);
}

static const struct h_case cases[] = {
    H_CASE_T(each_option_shows_in_proc_mounts_and_statvfs, NULL,
             H_DAEMON | H_NOMOUNT, 120),
    H_CASE(device_node_opens_on_a_dev_mount, "dev", H_DAEMON),
    H_CASE(device_node_gives_eacces_on_a_nodev_mount, NULL, H_DAEMON),
    H_CASE(setuid_program_takes_effect_on_a_suid_mount, "suid,allow_other",
           H_DAEMON),
    H_CASE(setuid_program_does_not_on_a_nosuid_mount, "allow_other",
           H_DAEMON),
    H_CASE(suid_and_dev_are_refused_to_an_ordinary_user, NULL,
           H_DAEMON | H_NOMOUNT),
    H_CASE(relatime_updates_atime_once_after_a_change, NO_CACHE,
           H_DAEMON),
    H_CASE(strictatime_updates_atime_on_every_read, NO_CACHE ",strictatime",
           H_DAEMON | H_MEMFS_ONLY),
    H_CASE(noatime_never_updates_atime, NO_CACHE ",noatime", H_DAEMON),
    H_CASE(relatime_listing_updates_directory_atime, NO_CACHE,
           H_DAEMON),
    H_CASE(nodiratime_listing_leaves_directory_atime, NO_CACHE ",nodiratime",
           H_DAEMON),
};

int main(int argc, char **argv)
{
    return h_main("mount_options", argc, argv, cases,
                  sizeof cases / sizeof *cases);
}
