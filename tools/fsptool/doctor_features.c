/*
 * doctor_features.c - doctor's checks of the optional kernel features:
 * FUSE over io_uring and FUSE passthrough. Both are warn, never FAIL:
 * without them fsp works through plain /dev/fuse reads and writes.
 *
 * The kernel's build configuration is read from /boot/config-RELEASE or
 * /proc/config.gz (through gzip -dc, so that fsptool needs no zlib); when
 * neither is there, the kernel version and the module parameters decide.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "doctor.h"

#define CAP_SYS_ADMIN_BIT 21
#define ENABLE_URING      "/sys/module/fuse/parameters/enable_uring"
#define URING_DISABLED    "/proc/sys/kernel/io_uring_disabled"
#define URING_GROUP       "/proc/sys/kernel/io_uring_group"

enum kconfig_value {
    KCONFIG_UNKNOWN,   /* no configuration to read */
    KCONFIG_SET,       /* =y or =m */
    KCONFIG_UNSET,
};

struct kconfig {
    enum kconfig_value fuse_io_uring;
    enum kconfig_value fuse_passthrough;
    char source[128];  /* where it was read, for the message */
};

static void kconfig_line(struct kconfig *k, const char *line)
{
    static const char uring[] = "CONFIG_FUSE_IO_URING=";
    static const char pt[] = "CONFIG_FUSE_PASSTHROUGH=";

    if (!strncmp(line, uring, sizeof(uring) - 1))
        k->fuse_io_uring = KCONFIG_SET;
    else if (!strncmp(line, pt, sizeof(pt) - 1))
        k->fuse_passthrough = KCONFIG_SET;
}

/* Reads the configuration; options it does not name are "not set". */
static void kconfig_load(struct kconfig *k)
{
    struct utsname u;
    char path[128], line[256];
    FILE *f = NULL;
    bool piped = false;

    memset(k, 0, sizeof(*k));
    if (uname(&u) == 0) {
        snprintf(path, sizeof(path), "/boot/config-%s", u.release);
        f = fopen(path, "re");
    }
    if (f) {
        snprintf(k->source, sizeof(k->source), "/boot/config-%s", u.release);
    } else if (access("/proc/config.gz", R_OK) == 0) {
        f = popen("gzip -dc /proc/config.gz 2>/dev/null", "re");
        piped = f != NULL;
        snprintf(k->source, sizeof(k->source), "/proc/config.gz");
    }
    if (!f)
        return;
    k->fuse_io_uring = KCONFIG_UNSET;
    k->fuse_passthrough = KCONFIG_UNSET;
    while (fgets(line, sizeof(line), f))
        kconfig_line(k, line);
    if (piped && pclose(f) != 0) {
        /* gzip failed: what we read proves nothing */
        k->fuse_io_uring = KCONFIG_UNKNOWN;
        k->fuse_passthrough = KCONFIG_UNKNOWN;
    } else if (!piped) {
        fclose(f);
    }
}

static bool in_group(gid_t gid)
{
    gid_t groups[256];
    int n = getgroups(256, groups);

    if (getegid() == gid)
        return true;
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return true;
    return false;
}

/* Appends "; " @s (or @s first) to @buf. */
static void add_text(char *buf, size_t size, const char *sep, const char *s)
{
    size_t len = strlen(buf);

    snprintf(buf + len, size - len, "%s%s", len ? sep : "", s);
}

/* kernel.io_uring_disabled: 0 all, 1 root and io_uring_group, 2 nobody. */
static void check_uring_sysctl(struct doctor *d, char *problem, size_t psize,
                               char *fix, size_t fsize)
{
    char value[32], group[32];
    long gid;

    if (doctor_read_line(URING_DISABLED, value, sizeof(value)) < 0)
        return;                         /* kernels before 6.6 lack it */
    if (!strcmp(value, "2")) {
        add_text(problem, psize, "; ", "io_uring is off for everyone "
                 "(kernel.io_uring_disabled=2)");
        add_text(fix, fsize, " && ", "sysctl -w kernel.io_uring_disabled=0");
        return;
    }
    if (strcmp(value, "1") != 0 || d->root)
        return;
    gid = doctor_read_line(URING_GROUP, group, sizeof(group)) == 0
              ? strtol(group, NULL, 10) : -1;
    if (gid >= 0 && in_group((gid_t)gid))
        return;
    add_text(problem, psize, "; ", "io_uring is for root and the group in "
             "kernel.io_uring_group only (kernel.io_uring_disabled=1)");
    add_text(fix, fsize, " && ", "sysctl -w kernel.io_uring_disabled=0");
}

void doctor_check_io_uring(struct doctor *d)
{
    struct kconfig k;
    char enabled[16], problem[512] = "", fix[512] = "", fixline[640];

    kconfig_load(&k);
    if (k.fuse_io_uring == KCONFIG_UNSET ||
        doctor_read_line(ENABLE_URING, enabled, sizeof(enabled)) < 0) {
        doctor_report(d, DOCTOR_WARN, "io-uring",
                      "a kernel built with CONFIG_FUSE_IO_URING=y (Linux "
                      "6.14 or later); until then fsp uses /dev/fuse reads",
                      "this kernel has no FUSE over io_uring (%s)",
                      k.fuse_io_uring == KCONFIG_UNSET
                          ? "CONFIG_FUSE_IO_URING is not set"
                          : "no " ENABLE_URING);
        return;
    }
    if (strcmp(enabled, "Y") != 0 && strcmp(enabled, "1") != 0) {
        add_text(problem, sizeof(problem), "; ", "FUSE over io_uring is off "
                 "(" ENABLE_URING " is N)");
        add_text(fix, sizeof(fix), " && ", "echo Y > " ENABLE_URING);
    }
    check_uring_sysctl(d, problem, sizeof(problem), fix, sizeof(fix));
    if (problem[0]) {
        snprintf(fixline, sizeof(fixline), "as root: %s (at boot: "
                 "fuse.enable_uring=1 on the kernel command line)", fix);
        doctor_report(d, DOCTOR_WARN, "io-uring", fixline,
                      "%s: fsp uses /dev/fuse reads and writes", problem);
        return;
    }
    doctor_report(d, DOCTOR_OK, "io-uring", NULL,
                  "FUSE over io_uring is enabled (enable_uring=Y, io_uring "
                  "allowed for you)");
}

/* CapEff of this process holds CAP_SYS_ADMIN. */
static bool has_cap_sys_admin(void)
{
    char line[256];
    unsigned long long caps = 0;
    bool found = false;
    FILE *f = fopen("/proc/self/status", "re");

    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f))
        found = sscanf(line, "CapEff: %llx", &caps) == 1;
    fclose(f);
    return found && (caps >> CAP_SYS_ADMIN_BIT & 1);
}

/* The initial user namespace maps every uid to itself. */
static bool in_initial_user_ns(void)
{
    char line[128];
    unsigned long long inside, outside, count;

    if (doctor_read_line("/proc/self/uid_map", line, sizeof(line)) < 0)
        return true;                    /* no user namespaces at all */
    return sscanf(line, "%llu %llu %llu", &inside, &outside, &count) == 3 &&
           inside == 0 && outside == 0 && count == 4294967295ULL;
}

void doctor_check_passthrough(struct doctor *d)
{
    struct kconfig k;
    struct utsname u;
    unsigned major = 0, minor = 0;
    bool new_enough;

    kconfig_load(&k);
    if (uname(&u) == 0)
        sscanf(u.release, "%u.%u", &major, &minor);
    new_enough = major > 6 || (major == 6 && minor >= 9);
    if (!new_enough || k.fuse_passthrough == KCONFIG_UNSET) {
        doctor_report(d, DOCTOR_WARN, "passthrough",
                      "a kernel built with CONFIG_FUSE_PASSTHROUGH=y (Linux "
                      "6.9 or later); until then reads and writes go "
                      "through the file system",
                      "kernel %s has no FUSE passthrough (%s)", u.release,
                      new_enough ? "CONFIG_FUSE_PASSTHROUGH is not set"
                                 : "older than 6.9");
        return;
    }
    /* The kernel checks capable(CAP_SYS_ADMIN) when the file system
     * registers a backing file: the capability must be held in the
     * initial user namespace, by the file system's process. */
    if (!has_cap_sys_admin() || !in_initial_user_ns()) {
        doctor_report(d, DOCTOR_WARN, "passthrough",
                      "run the file system as root (outside any user "
                      "namespace) to use passthrough",
                      "kernel %s supports FUSE passthrough, but it needs "
                      "CAP_SYS_ADMIN in the initial user namespace, which "
                      "you (uid %u) lack", u.release, (unsigned)geteuid());
        return;
    }
    doctor_report(d, DOCTOR_OK, "passthrough", NULL,
                  "kernel %s supports FUSE passthrough (%s%s) and you hold "
                  "CAP_SYS_ADMIN", u.release,
                  k.fuse_passthrough == KCONFIG_SET
                      ? "CONFIG_FUSE_PASSTHROUGH=y in "
                      : "6.9 or later; no kernel configuration to read",
                  k.fuse_passthrough == KCONFIG_SET ? k.source : "");
}
