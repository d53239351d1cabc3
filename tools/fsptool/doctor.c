/*
 * doctor.c - "fsptool doctor": checks that this machine can run fsp file
 * systems and explains, one line per check, what it found and how to fix
 * each problem.
 *
 *   fsptool doctor [-q] [-j] [-c CLASS_DIR] [-s SOCKET]
 *
 * A line is "STATUS  CHECK  what was found[; fix: command or edit]", with
 * STATUS ok, warn or FAIL (the rule is in doctor.h). A check that finds
 * several problems (two dead mounts) prints one line for each. The last
 * line counts them. Exit status: 0 when nothing is FAIL, 1 otherwise, 2 for
 * a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "fsptool.h"

#define DEFAULT_CLASS_DIR "/etc/fsp/classes.d"
#define DEFAULT_SOCKET    "/run/fsp/launcher.sock"
#define CHECK_NAME_WIDTH  12
#define MESSAGE_MAX       2048

static const char *const status_word[] = { "ok", "warn", "FAIL" };

int doctor_read_line(const char *path, char *buf, size_t size)
{
    ssize_t n;
    int fd, err = 0;

    buf[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, size - 1);
    if (n < 0) {
        err = -errno;
        n = 0;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    close(fd);
    return err;
}

static void print_text_line(enum doctor_status status, const char *check,
                            const char *fix, const char *msg)
{
    printf("%-4s  %-*s  %s", status_word[status], CHECK_NAME_WIDTH, check,
           msg);
    if (fix)
        printf("; fix: %s", fix);
    putchar('\n');
}

static void print_json_item(struct doctor *d, enum doctor_status status,
                            const char *check, const char *fix,
                            const char *msg)
{
    printf("%s\n  {\"check\": ", d->json_started ? "," : "{\"checks\": [");
    d->json_started = true;
    print_json_string(check);
    printf(", \"status\": ");
    print_json_string(status_word[status]);
    printf(", \"found\": ");
    print_json_string(msg);
    if (fix) {
        printf(", \"fix\": ");
        print_json_string(fix);
    }
    putchar('}');
}

void doctor_report(struct doctor *d, enum doctor_status status,
                   const char *check, const char *fix, const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    d->count[status]++;
    if (d->json)
        print_json_item(d, status, check, fix, msg);
    else if (!d->quiet || status != DOCTOR_OK)
        print_text_line(status, check, fix, msg);
}

static void print_summary(const struct doctor *d)
{
    unsigned ok = d->count[DOCTOR_OK], warn = d->count[DOCTOR_WARN];
    unsigned fail = d->count[DOCTOR_FAIL];

    if (d->json) {
        if (!d->json_started)
            printf("{\"checks\": [");
        printf("\n], \"ok\": %u, \"warn\": %u, \"fail\": %u}\n", ok, warn,
               fail);
        return;
    }
    if (d->quiet)
        return;
    if (fail)
        printf("doctor: %u ok, %u warn, %u FAIL: fsp cannot work as it should "
               "until the FAIL lines are fixed\n", ok, warn, fail);
    else
        printf("doctor: %u ok, %u warn, 0 FAIL: everything fsp needs is in "
               "place%s\n", ok, warn,
               warn ? " (warn lines are optional features or other users' "
                      "needs)" : "");
}

static void doctor_usage(FILE *f)
{
    fprintf(f,
            "Usage: fsptool doctor [-q] [-j] [-c CLASS_DIR] [-s SOCKET]\n"
            "Check that this machine can run fsp file systems, one line per "
            "check:\nok, warn (optional, or needed only by other users) or "
            "FAIL (needed), with\nthe fix for each problem.\n\n"
            "  -c, --classes DIR  class files to validate (default "
            DEFAULT_CLASS_DIR ")\n"
            "  -s, --socket PATH  the launcher's socket (default "
            DEFAULT_SOCKET ")\n"
            "  -q, --quiet        print only warn and FAIL lines\n"
            "  -j, --json         print the results as JSON\n\n"
            "Exit status: 0 nothing FAIL, 1 something FAIL, 2 usage error.\n"
            "Run it as the user who mounts: what is needed depends on who "
            "you are.\n");
}

int verb_doctor(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "classes", required_argument, NULL, 'c' },
        { "socket", required_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'q' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct doctor d = {
        .class_dir = DEFAULT_CLASS_DIR,
        .socket_path = DEFAULT_SOCKET,
        .root = geteuid() == 0,
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:qjh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            d.class_dir = optarg;
            break;
        case 's':
            d.socket_path = optarg;
            break;
        case 'q':
            d.quiet = true;
            break;
        case 'j':
            d.json = true;
            break;
        case 'h':
            doctor_usage(stdout);
            return EXIT_OK;
        default:
            doctor_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "fsptool doctor: unexpected argument '%s'\n",
                argv[optind]);
        doctor_usage(stderr);
        return EXIT_USAGE;
    }

    /* In the order a mount needs them; the launcher's rule needs the
     * number of class files, so the classes come first. */
    doctor_check_fuse_module(&d);
    doctor_check_fuse_device(&d);
    doctor_check_fusectl(&d);
    doctor_check_fusermount(&d);
    doctor_check_fuse_conf(&d);
    doctor_check_io_uring(&d);
    doctor_check_passthrough(&d);
    doctor_check_class_files(&d);
    doctor_check_launcher(&d);
    doctor_check_mounts(&d);
    print_summary(&d);
    return d.count[DOCTOR_FAIL] ? EXIT_FAILURE_RUNTIME : EXIT_OK;
}
