/*
 * kernel_features.c - what a volume gets from the kernel's newer
 * mount-side features, on a real mount:
 *
 *   - idmapped mounts (FUSE_ALLOW_IDMAP): a second view of the volume
 *     whose owners are shifted through a user namespace's mapping, as
 *     container runtimes make them;
 *   - NFS export, refused cleanly (FUSE_NO_EXPORT_SUPPORT): node ids do not
 *     survive a restart, so file handles that open files are refused,
 *     while the identifiers fanotify uses still work.
 */
#define _GNU_SOURCE
#include "harness.h"

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

static const struct h_case cases[] = {
    /* allow_other: uid 10000 is not the user who mounted. */
    H_CASE(idmapped_mount_shows_and_stores_owners_through_the_mapping, "allow_other", H_DAEMON),
    H_CASE(nfs_export_is_refused_but_fanotify_ids_work, NULL, H_DAEMON),
};

int main(int argc, char **argv)
{
    return h_main("kernel_features", argc, argv, cases,
                  sizeof cases / sizeof *cases);
}
