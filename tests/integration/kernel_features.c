/*
 * kernel_features.c - what a volume gets from the kernel's newer
 * mount-side features, on a real mount:
 *
 *   - idmapped mounts (FUSE_ALLOW_IDMAP): a second view of the volume
 *     whose owners are shifted through a user namespace's mapping, as
 *     container runtimes make them;
 *   - NFS export, refused cleanly (FUSE_NO_EXPORT_SUPPORT): node ids do not
 *     survive a restart, so file handles that open files are refused,
 *     while the identifiers fanotify uses still work;
 *   - synchronous INIT (FUSE_DEV_IOC_SYNC_INIT): INIT is answered during
 *     mount(2), by a volume of this file's own;
 *   - overlayfs with the volume as its upper layer (RENAME_WHITEOUT,
 *     trusted.* extended attributes, d_type in listings).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <fsp/fsp.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200 /* Linux 6.5: a handle only to compare */
#endif

/* The user namespace of the idmapped view: its ids 0..999 are the host's
 * 10000..10999. Through the view, a file the volume says uid 0 owns shows
 * as 10000, and what uid 10000 creates the volume stores as uid 0's. */
#define SHIFT 10000u
#define RANGE 1000u

/* A descriptor of a fresh user namespace with that mapping, or -1 (a
 * failure is recorded). The namespace's process is gone when this
 * returns: the descriptor keeps the namespace. */
static int shifted_userns(void)
{
    char path[64], map[64];
    int ready[2], fd = -1;
    pid_t pid;
    char c;

    if (pipe(ready) != 0) {
        ADD_FAILURE("pipe: %s", expect_errname(errno));
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        close(ready[0]);
        if (unshare(CLONE_NEWUSER) != 0)
            _exit(1);
        if (write(ready[1], "u", 1) != 1)
            _exit(1);
        pause(); /* until killed, once the parent has the namespace */
        _exit(0);
    }
    close(ready[1]);
    if (pid < 0 || read(ready[0], &c, 1) != 1) {
        ADD_FAILURE("a process in a new user namespace did not start");
        goto out;
    }
    snprintf(map, sizeof map, "0 %u %u\n", SHIFT, RANGE);
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    EXPECT_TRUE(h_write_file(path, map, strlen(map), 0));
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    EXPECT_TRUE(h_write_file(path, map, strlen(map), 0));
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        ADD_FAILURE("open %s: %s", path, expect_errname(errno));
out:
    close(ready[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        h_waitpid_timeout(pid, NULL, 5);
    }
    return fd;
}

/* Attach an idmapped copy of the mount at @from on @to (an empty
 * directory). Returns 0 or -errno. */
static int mount_idmapped(const char *from, const char *to, int userns)
{
    struct mount_attr attr = {
        .attr_set = MOUNT_ATTR_IDMAP,
        .userns_fd = (uint64_t)userns,
    };
    int tree, err = 0;

    tree = (int)syscall(SYS_open_tree, AT_FDCWD, from,
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0)
        return -errno;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr,
                sizeof attr) != 0 ||
        syscall(SYS_move_mount, tree, "", AT_FDCWD, to,
                MOVE_MOUNT_F_EMPTY_PATH) != 0)
        err = -errno;
    close(tree);
    return err;
}

static char view[300];

/* As uid/gid SHIFT: make a file and a directory through the view. */
static void create_through_the_view(void *arg)
{
    char path[400];

    (void)arg;
    snprintf(path, sizeof path, "%s/made-through-the-view", view);
    EXPECT_TRUE(h_write_file(path, "y", 1, 0644));
    snprintf(path, sizeof path, "%s/dir", view);
    EXPECT_OK(mkdir(path, 0755));
}

static void idmapped_mount_shows_and_stores_owners_through_the_mapping(void)
{
    char path[400];
    struct stat st;
    int userns, err;

    ASSERT_TRUE(h_write_file(h_path("roots"), "x", 1, 0644));
    ASSERT_OK(chown(h_path("roots"), 0, 0));
    ASSERT_OK(chown(h_root, 0, 0));
    h_make_traversable(h_root);
    snprintf(view, sizeof view, "%s.idmapped", h_root);
    ASSERT_OK(mkdir(view, 0755));
    userns = shifted_userns();
    ASSERT_TRUE(userns >= 0);
    err = mount_idmapped(h_root, view, userns);
    close(userns);
    if (err) {
        ADD_FAILURE("an idmapped mount of the volume: %s",
                    expect_errname(-err));
        rmdir(view);
        return;
    }
    /* The volume's 0 is the mapping's 0, which is 10000 through the view. */
    snprintf(path, sizeof path, "%s/roots", view);
    EXPECT_OK(stat(path, &st));
    EXPECT_EQ(st.st_uid, SHIFT);
    EXPECT_EQ(st.st_gid, SHIFT);
    EXPECT_OK(stat(view, &st));
    EXPECT_EQ(st.st_uid, SHIFT);
    /* And the other way: what 10000 makes through the view (it owns the
     * view's root), the volume stores as 0's. */
    EXPECT_EQ(h_as_user(SHIFT, SHIFT, create_through_the_view, NULL), 0);
    EXPECT_OK(stat(h_path("made-through-the-view"), &st));
    EXPECT_EQ(st.st_uid, 0);
    EXPECT_EQ(st.st_gid, 0);
    EXPECT_OK(stat(h_path("dir"), &st));
    EXPECT_EQ(st.st_uid, 0);
    EXPECT_OK(umount2(view, MNT_DETACH));
    EXPECT_OK(rmdir(view));
}

static void nfs_export_is_refused_but_fanotify_ids_work(void)
{
    struct {
        struct file_handle fh;
        unsigned char bytes[128];
    } h;
    int mount_id;

    ASSERT_TRUE(h_write_file(h_path("f"), "x", 1, 0644));
    /* A handle that could reopen the file (what nfsd needs) is refused:
     * the kernel would hand out node ids that a restart makes stale. */
    h.fh.handle_bytes = sizeof h.bytes;
    EXPECT_ERRNO(name_to_handle_at(AT_FDCWD, h_path("f"), &h.fh, &mount_id, 0),
                 EOPNOTSUPP);
    /* An identifier only to compare, as fanotify reports, is fine. */
    h.fh.handle_bytes = sizeof h.bytes;
    EXPECT_OK(name_to_handle_at(AT_FDCWD, h_path("f"), &h.fh, &mount_id,
                                AT_HANDLE_FID));
    EXPECT_TRUE(h.fh.handle_bytes > 0);
}

/* A volume of one empty directory, to watch its INIT. */
static int root_only_info(fsp_fs_t *fs, const char *path,
                          fsp_file_info_t *info)
{
    (void)fs;
    if (strcmp(path, "/") != 0)
        return -ENOENT;
    memset(info, 0, sizeof *info);
    info->mode = S_IFDIR | 0755;
    info->nlink = 2;
    return 0;
}

static const fsp_fs_interface_t root_only = {
    .get_file_info_by_name = root_only_info,
};

/* Requests the kernel has queued for the mount at @mnt and not yet seen
 * answered (/sys/fs/fuse/connections/N/waiting), or -1. */
static int requests_waiting(const char *mnt)
{
    struct h_mountinfo mi;
    char path[96], text[32];
    ssize_t n;

    if (!h_mountinfo_find(mnt, &mi))
        return -1;
    snprintf(path, sizeof path, "/sys/fs/fuse/connections/%u/waiting",
             mi.minor);
    n = h_read_file(path, text, sizeof text - 1);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    return atoi(text);
}

/* Mount the volume (io_uring asked or not), report how many requests wait
 * right after fsp_fs_mount() returns, before any worker runs; then serve
 * until unmounted. */
static void __attribute__((noreturn)) serve_root_only(const char *mnt,
                                                      bool io_uring, int out)
{
    fsp_volume_params_t params;
    fsp_fs_t *fs = NULL;
    int waiting, err;

    fsp_volume_params_init(&params);
    params.fs_name = "rootonly";
    params.io_uring = io_uring;
    err = fsp_fs_create(&params, &root_only, NULL, &fs);
    if (!err)
        err = fsp_fs_mount(fs, mnt);
    waiting = err ? -2 : requests_waiting(mnt);
    if (write(out, &waiting, sizeof waiting) != sizeof waiting || err)
        _exit(2);
    err = fsp_fs_start(fs, 1);
    if (!err)
        err = fsp_fs_wait(fs);
    fsp_fs_delete(fs);
    _exit(err ? 3 : 0);
}

/* How many requests waited after fsp_fs_mount() for a volume mounted
 * with @io_uring asked; -1 on a failure (recorded). */
static int waiting_after_mount(bool io_uring)
{
    char mnt[300];
    int pipefd[2], waiting = -1, st = -1, slot;
    pid_t pid;

    snprintf(mnt, sizeof mnt, "%s/%s", h_root, io_uring ? "u" : "d");
    if (mkdir(mnt, 0755) != 0 || pipe(pipefd) != 0) {
        ADD_FAILURE("mkdir %s or pipe: %s", mnt, expect_errname(errno));
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        serve_root_only(mnt, io_uring, pipefd[1]);
    }
    close(pipefd[1]);
    slot = h_register(mnt, pid, NULL);
    if (read(pipefd[0], &waiting, sizeof waiting) != sizeof waiting)
        ADD_FAILURE("the volume on %s reported nothing", mnt);
    close(pipefd[0]);
    EXPECT_OK(umount2(mnt, 0));
    EXPECT_EQ(h_waitpid_timeout(pid, &st, 10), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    h_unregister(slot);
    return waiting;
}

static void init_is_answered_during_the_mount_where_the_kernel_can(void)
{
    /* The kernel has the ioctl (6.18): INIT is answered before mount(2)
     * returns, so nothing waits. */
    EXPECT_EQ(waiting_after_mount(false), 0);
    /* io_uring volumes answer INIT later (their rings must exist first):
     * INIT waits for the workers. */
    EXPECT_EQ(waiting_after_mount(true), 1);
}

/* The first bytes of @path as a string ("" if it cannot be read). */
static const char *content_of(const char *path)
{
    static char buf[64];
    ssize_t n = h_read_file(path, buf, sizeof buf - 1);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* lower: a plain directory beside the mount; upper and work: on the
 * volume; the overlay on a third directory. Deleting a lower file leaves
 * a whiteout in the upper layer, and a copy-up puts the new data there. */
static void overlayfs_uses_the_volume_as_its_upper_layer(void)
{
    char lower[300], merged[300], opts[1200], path[400];
    struct stat st;

    snprintf(lower, sizeof lower, "%s.lower", h_root);
    snprintf(merged, sizeof merged, "%s.merged", h_root);
    ASSERT_OK(mkdir(lower, 0755));
    ASSERT_OK(mkdir(merged, 0755));
    snprintf(path, sizeof path, "%s/gone", lower);
    ASSERT_TRUE(h_write_file(path, "lower", 5, 0644));
    snprintf(path, sizeof path, "%s/kept", lower);
    ASSERT_TRUE(h_write_file(path, "lower", 5, 0644));
    ASSERT_OK(mkdir(h_path("upper"), 0755));
    ASSERT_OK(mkdir(h_path("work"), 0755));
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower,
             h_path("upper"), h_path("work"));
    if (mount("overlay", merged, "overlay", 0, opts) != 0) {
        ADD_FAILURE("overlayfs refuses the volume as its upper layer: %s "
                    "(dmesg says why)", expect_errname(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/gone", merged);
    EXPECT_OK(unlink(path));
    EXPECT_ERRNO(lstat(path, &st), ENOENT);
    /* The upper layer holds the whiteout that hides the lower file. */
    EXPECT_OK(lstat(h_path("upper/gone"), &st));
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == 0);
    /* Writing a lower file copies it up, with overlayfs's trusted.* marks
     * kept by the volume. */
    snprintf(path, sizeof path, "%s/kept", merged);
    EXPECT_TRUE(h_write_file(path, "upper", 5, 0644));
    EXPECT_STREQ(content_of(h_path("upper/kept")), "upper");
    snprintf(path, sizeof path, "%s/kept", lower);
    EXPECT_STREQ(content_of(path), "lower");
    EXPECT_OK(umount2(merged, 0));
out:
    snprintf(path, sizeof path, "%s/gone", lower);
    unlink(path);
    snprintf(path, sizeof path, "%s/kept", lower);
    unlink(path);
    rmdir(lower);
    rmdir(merged);
}

static const struct h_case cases[] = {
    /* allow_other: uid 10000 is not the user who mounted. */
    H_CASE(idmapped_mount_shows_and_stores_owners_through_the_mapping, "allow_other", H_DAEMON),
    H_CASE(nfs_export_is_refused_but_fanotify_ids_work, NULL, H_DAEMON),
    H_CASE(init_is_answered_during_the_mount_where_the_kernel_can, NULL, H_DAEMON | H_NOMOUNT),
    H_CASE(overlayfs_uses_the_volume_as_its_upper_layer, NULL, H_DAEMON),
};

int main(int argc, char **argv)
{
    return h_main("kernel_features", argc, argv, cases,
                  sizeof cases / sizeof *cases);
}
