/*
 * doctor_system.c - doctor's checks of what every FUSE mount needs: the
 * kernel's fuse file system and its parameters, /dev/fuse, the fusectl
 * file system (/sys/fs/fuse/connections, where fsp aborts a hung
 * connection), fusermount3 (how ordinary users mount) and /etc/fuse.conf.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "doctor.h"
#include "fsptool.h"
#include "fusermount_find.h"
#include "mountinfo.h"

#define FUSE_DEVICE       "/dev/fuse"
#define FUSE_MAJOR        10
#define FUSE_MINOR        229
#define FUSE_PARAMS_DIR   "/sys/module/fuse/parameters"
#define FUSECTL_DIR       "/sys/fs/fuse/connections"
#define FUSE_CONF         "/etc/fuse.conf"
#define MKNOD_FIX         "as root: mknod -m 0666 /dev/fuse c 10 229"

/* Does /proc/filesystems list @name? */
static bool kernel_has_fs(const char *name)
{
    char line[256];
    bool found = false;
    FILE *f = fopen("/proc/filesystems", "re");

    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        char *tab = strrchr(line, '\t');
        char *word = tab ? tab + 1 : line;

        word[strcspn(word, "\n")] = '\0';
        found = strcmp(word, name) == 0;
    }
    fclose(f);
    return found;
}

/* "name=value" of a fuse module parameter, "name=?" if unreadable. */
static void append_param(char *buf, size_t size, const char *dir,
                         const char *name)
{
    char path[256], value[64];
    size_t len = strlen(buf);

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (doctor_read_line(path, value, sizeof(value)) < 0)
        return;                         /* older kernels lack some */
    snprintf(buf + len, size - len, "%s%s=%s", len ? ", " : "", name, value);
}

void doctor_check_fuse_module(struct doctor *d)
{
    struct utsname u;
    char params[512] = "";
    const char *how;

    if (uname(&u) < 0)
        snprintf(u.release, sizeof(u.release), "?");
    if (!kernel_has_fs("fuse")) {
        doctor_report(d, DOCTOR_FAIL, "fuse-module",
                      "as root: modprobe fuse (and add fuse to "
                      "/etc/modules to load it at boot)",
                      "kernel %s has no fuse file system (not in "
                      "/proc/filesystems)", u.release);
        return;
    }
    /* Loaded modules have an initstate; built-in ones do not. */
    how = access("/sys/module/fuse/initstate", F_OK) == 0
              ? "loaded as a module" : "built in";
    append_param(params, sizeof(params), FUSE_PARAMS_DIR, "enable_uring");
    append_param(params, sizeof(params), FUSE_PARAMS_DIR,
                 "allow_sys_admin_access");
    append_param(params, sizeof(params), FUSE_PARAMS_DIR, "max_user_bgreq");
    append_param(params, sizeof(params), FUSE_PARAMS_DIR,
                 "max_user_congthresh");
    append_param(params, sizeof(params), "/proc/sys/fs/fuse",
                 "max_pages_limit");
    doctor_report(d, DOCTOR_OK, "fuse-module", NULL,
                  "fuse is %s, kernel %s (%s)", how, u.release,
                  params[0] ? params : "no parameters shown");
}

/* Is @path a mount point itself (something bound over it)? */
static bool is_mount_point(const char *path)
{
    struct mount_entry *mounts;
    size_t count;
    bool found = false;

    if (mount_table_load(&mounts, &count) < 0)
        return false;
    for (size_t i = 0; i < count && !found; i++)
        found = strcmp(mounts[i].mountpoint, path) == 0;
    mount_table_free(mounts, count);
    return found;
}

static const char *file_kind(mode_t mode)
{
    return fsp_file_kind(mode, "of unknown type");
}

static void report_wrong_device(struct doctor *d, const struct stat *st)
{
    char what[96];
    const char *fix = "as root: rm /dev/fuse && mknod -m 0666 /dev/fuse "
                      "c 10 229";

    if (S_ISCHR(st->st_mode))
        snprintf(what, sizeof(what), "the character device %u:%u",
                 major(st->st_rdev), minor(st->st_rdev));
    else
        snprintf(what, sizeof(what), "%s", file_kind(st->st_mode));
    /* Something mounted over the node (a container's bind mount) cannot
     * be removed, only unmounted. */
    if (is_mount_point(FUSE_DEVICE))
        fix = "as root: umount /dev/fuse (something is mounted over it; in "
              "a container, pass the device in with --device /dev/fuse)";
    doctor_report(d, DOCTOR_FAIL, "fuse-device", fix,
                  FUSE_DEVICE " is not the FUSE device: it is %s, not the "
                  "character device 10:229", what);
}

static void report_open_error(struct doctor *d, const struct stat *st, int e)
{
    char fix[256];

    if (!d->root && (e == EACCES || e == EPERM)) {
        snprintf(fix, sizeof(fix), "as root: chmod 0666 " FUSE_DEVICE
                 " (the usual mode; in a container, pass --device "
                 FUSE_DEVICE ")");
        doctor_report(d, DOCTOR_FAIL, "fuse-device", fix,
                      FUSE_DEVICE " is not readable and writable by you "
                      "(uid %u; mode %04o, owner uid %u), and fusermount3 "
                      "opens it with your permissions", (unsigned)getuid(),
                      (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid);
        return;
    }
    if (e == EACCES || e == EPERM) {
        doctor_report(d, DOCTOR_FAIL, "fuse-device",
                      "allow the device in the policy (a container: run it "
                      "with --device /dev/fuse; a nodev mount of /dev: "
                      "remount it without nodev)",
                      FUSE_DEVICE " cannot be opened, even by root (%s): a "
                      "security policy, a container's device rules or a "
                      "nodev mount forbids it", strerror(e));
        return;
    }
    if (e == ENODEV || e == ENXIO) {
        doctor_report(d, DOCTOR_FAIL, "fuse-device",
                      "as root: modprobe fuse",
                      FUSE_DEVICE " has no driver behind it (%s)",
                      strerror(e));
        return;
    }
    doctor_report(d, DOCTOR_FAIL, "fuse-device",
                  "look at the device with ls -l /dev/fuse and at dmesg",
                  FUSE_DEVICE " cannot be opened (%s)", strerror(e));
}

void doctor_check_fuse_device(struct doctor *d)
{
    struct stat st;
    int fd;

    if (stat(FUSE_DEVICE, &st) < 0) {
        int e = errno;

        if (e == ENOENT)
            doctor_report(d, DOCTOR_FAIL, "fuse-device",
                          kernel_has_fs("fuse")
                              ? MKNOD_FIX " (in a container, pass the device "
                                "in with --device /dev/fuse)"
                              : "as root: modprobe fuse",
                          FUSE_DEVICE " does not exist");
        else
            doctor_report(d, DOCTOR_FAIL, "fuse-device",
                          "make sure /dev is mounted and readable",
                          FUSE_DEVICE " cannot be examined (%s)", strerror(e));
        return;
    }
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != FUSE_MAJOR ||
        minor(st.st_rdev) != FUSE_MINOR) {
        report_wrong_device(d, &st);
        return;
    }
    /* Opening the device costs nothing: a connection only starts with a
     * mount. It is the one test that sees policies and nodev mounts. */
    fd = open(FUSE_DEVICE, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        report_open_error(d, &st, errno);
        return;
    }
    close(fd);
    if (d->root && (st.st_mode & 0006) != 0006) {
        doctor_report(d, DOCTOR_WARN, "fuse-device",
                      "as root: chmod 0666 /dev/fuse (to keep it, a udev "
                      "rule: KERNEL==\"fuse\", MODE=\"0666\")",
                      FUSE_DEVICE " is the FUSE device (char 10:229) and "
                      "opens for root, but its mode %04o keeps ordinary "
                      "users from mounting", (unsigned)(st.st_mode & 07777));
        return;
    }
    doctor_report(d, DOCTOR_OK, "fuse-device", NULL,
                  FUSE_DEVICE " is the FUSE device (char 10:229, mode %04o) "
                  "and opens read-write for you",
                  (unsigned)(st.st_mode & 07777));
}

void doctor_check_fusectl(struct doctor *d)
{
    struct mount_entry *mounts;
    size_t count;
    bool mounted = false;
    int err = mount_table_load(&mounts, &count);

    if (err < 0) {
        doctor_report(d, DOCTOR_FAIL, "fusectl",
                      "as root: mount -t proc proc /proc",
                      "/proc/self/mountinfo cannot be read (%s)",
                      strerror(-err));
        return;
    }
    for (size_t i = 0; i < count && !mounted; i++)
        mounted = strcmp(mounts[i].fstype, "fusectl") == 0 &&
                  strcmp(mounts[i].mountpoint, FUSECTL_DIR) == 0;
    mount_table_free(mounts, count);
    if (!mounted) {
        doctor_report(d, DOCTOR_WARN, "fusectl",
                      "as root: mount -t fusectl none " FUSECTL_DIR,
                      FUSECTL_DIR " is not mounted: a hung FUSE connection "
                      "cannot be aborted (fsp's auto-unmount and doctor's "
                      "fixes use it)");
        return;
    }
    doctor_report(d, DOCTOR_OK, "fusectl", NULL,
                  FUSECTL_DIR " is mounted%s", d->root ? ""
                  : " (only root may abort connections there)");
}

void doctor_check_fusermount(struct doctor *d)
{
    /* Root mounts with mount(2) itself: fusermount3 is for other users. */
    enum doctor_status bad = d->root ? DOCTOR_WARN : DOCTOR_FAIL;
    const char *who = d->root ? "ordinary users cannot mount"
                              : "you cannot mount";
    char path[512], fix[1200], problem[160] = "";
    struct statvfs vfs;
    struct stat st;

    /* Where the mount code looks ($PATH, /usr/bin, /bin), but also one
     * that is there without being executable: the check below says why. */
    if (!fsp_fusermount_find(path, sizeof(path), F_OK)) {
        doctor_report(d, bad, "fusermount3",
                      "as root: apt-get install fuse3",
                      "fusermount3 is not installed (not in PATH, /usr/bin "
                      "or /bin): %s", who);
        return;
    }
    if (stat(path, &st) < 0)
        snprintf(problem, sizeof(problem), "cannot be examined (%s)",
                 strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(problem, sizeof(problem), "is %s", file_kind(st.st_mode));
    else if (st.st_uid != 0 || !(st.st_mode & S_ISUID))
        snprintf(problem, sizeof(problem), "is not setuid root (owner uid "
                 "%u, mode %04o)", (unsigned)st.st_uid,
                 (unsigned)(st.st_mode & 07777));
    else if (!(st.st_mode & S_IXOTH))
        snprintf(problem, sizeof(problem), "is not executable by others "
                 "(mode %04o)", (unsigned)(st.st_mode & 07777));
    else if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
        snprintf(problem, sizeof(problem), "lies on a file system mounted "
                 "nosuid, so its setuid bit does nothing");
    if (problem[0]) {
        snprintf(fix, sizeof(fix), "as root: chown root %s && chmod 4755 %s "
                 "(or apt-get install --reinstall fuse3)", path, path);
        doctor_report(d, bad, "fusermount3", fix, "%s %s: %s", path, problem,
                      who);
        return;
    }
    doctor_report(d, DOCTOR_OK, "fusermount3", NULL,
                  "%s is installed and setuid root (mode %04o)%s", path,
                  (unsigned)(st.st_mode & 07777),
                  d->root ? "; root mounts without it" : "");
}

/* /etc/fuse.conf: "user_allow_other" and "mount_max = N", # comments. */
void doctor_check_fuse_conf(struct doctor *d)
{
    const char *fix = "as root: echo user_allow_other >> " FUSE_CONF;
    char line[512], mount_max[32] = "";
    bool allow_other = false;
    FILE *f = fopen(FUSE_CONF, "re");

    if (!f) {
        doctor_report(d, DOCTOR_WARN, "fuse.conf", fix,
                      FUSE_CONF " cannot be read (%s): ordinary users cannot "
                      "mount with -o allow_other", strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = line, *end;

        s[strcspn(s, "#\n")] = '\0';
        s += strspn(s, " \t");
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (strcmp(s, "user_allow_other") == 0)
            allow_other = true;
        else if (strncmp(s, "mount_max", 9) == 0 &&
                 sscanf(s, "mount_max = %31s", mount_max) != 1)
            mount_max[0] = '\0';
    }
    fclose(f);
    if (!allow_other) {
        doctor_report(d, DOCTOR_WARN, "fuse.conf", fix,
                      FUSE_CONF " lacks user_allow_other: ordinary users "
                      "cannot mount with -o allow_other (root can; needed "
                      "only for mounts other users must see)");
        return;
    }
    doctor_report(d, DOCTOR_OK, "fuse.conf", NULL,
                  FUSE_CONF " has user_allow_other%s%s",
                  mount_max[0] ? ", mount_max = " : "", mount_max);
}
