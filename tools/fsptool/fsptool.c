/*
 * fsptool.c - fsptool's entry point: finds the verb and runs it.
 *
 * To add a verb: write "int verb_NAME(int argc, char **argv)" (argv[0] is
 * the verb), declare it in fsptool.h and add a line to the table below.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fsptool.h"

static const struct verb verbs[] = {
    { "lsvol", "[-a|--all]", "list the running fsp volumes", verb_lsvol },
    { "stat", "[-j|--json] MOUNTPOINT",
      "show a volume's request, reply and object counters", verb_stat },
    { "debug", "MOUNTPOINT [on|off]",
      "switch a volume's debug log on or off, or show its state",
      verb_debug },
    { "doctor", "[-q] [-j] [-c CLASS_DIR] [-s SOCKET]",
      "check that this machine can run fsp; say how to fix each problem",
      verb_doctor },
};

void fsptool_usage(FILE *f)
{
    fprintf(f, "Usage: fsptool VERB [ARGS]\n"
               "Look at the fsp file systems running on this machine, and check "
               "the machine\nfor fsp.\n\n"
               "Verbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        fprintf(f, "  %s %s\n      %s\n", verbs[i].name, verbs[i].args,
                verbs[i].summary);
    fprintf(f, "  help\n      show this text\n\n"
               "lsvol shows volumes whose mount point is a FUSE mount; -a "
               "also shows those\nstarting up or shutting down. Ordinary "
               "users see their own volumes and root's,\nroot sees "
               "everyone's.\n\n"
               "Exit status: 0 success, 1 failure, 2 usage error or no "
               "volume at MOUNTPOINT.\n");
}

/* Output that did not make it out (a full disk, a closed pipe) is a
 * failure, not a silent success. */
static int finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "fsptool: cannot write the output: %s\n",
                strerror(errno));
        return status == EXIT_OK ? EXIT_FAILURE_RUNTIME : status;
    }
    return status;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : NULL;

    if (!name) {
        fsptool_usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(name, "help") || !strcmp(name, "--help") ||
        !strcmp(name, "-h")) {
        fsptool_usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (!strcmp(name, verbs[i].name))
            return finish(verbs[i].run(argc - 1, argv + 1));
    }
    fprintf(stderr, "fsptool: unknown verb '%s'\n\n", name);
    fsptool_usage(stderr);
    return EXIT_USAGE;
}
