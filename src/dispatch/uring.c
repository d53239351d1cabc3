/*
 * uring.c - the io_uring channel of a volume (fsp_volume_params.io_uring):
 * whether the kernel allows it, one queue per possible CPU, INIT's
 * decision, and the fallback to /dev/fuse with one log line saying why.
 *
 * Order of events: fsp_fs_start() creates the queues (their rings and
 * buffers; failures end here, before INIT, so the kernel is never told
 * "io_uring" by a volume that cannot serve it), their workers start and
 * wait at the gate. INIT arrives on /dev/fuse; op_init asks for
 * FUSE_OVER_IO_URING if the queues exist and the kernel offers it, replies,
 * and then opens (or closes) the gate. From the reply on, the kernel holds
 * new requests until every queue has registered its entries, then routes
 * them through the rings; FORGET, INTERRUPT and notifications stay on
 * /dev/fuse, whose workers keep running.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "mount.h"
#include "op_table.h"

#define ENTRIES_PER_QUEUE 16
#define ENABLE_PARAM "/sys/module/fuse/parameters/enable_uring"
#define DISABLED_SYSCTL "/proc/sys/kernel/io_uring_disabled"
#define POSSIBLE_CPUS "/sys/devices/system/cpu/possible"
#define FALLBACK "io_uring requested, but "
#define DEV_ONLY ": serving on /dev/fuse"

/* First character of a small file, or '\0'. */
static char read_flag(const char *path)
{
    char c = '\0';
    FILE *f = fopen(path, "re");

    if (f) {
        int ch = fgetc(f);

        if (ch != EOF)
            c = (char)ch;
        fclose(f);
    }
    return c;
}

/* The number of possible CPUs, the kernel's number of queues: the
 * highest CPU in the list ("0-3", "0,2-5") plus one. 0 if unknown. */
static unsigned possible_cpus(void)
{
    char line[256];
    unsigned highest = 0;
    bool any = false;
    FILE *f = fopen(POSSIBLE_CPUS, "re");
    char *p;

    if (!f)
        return 0;
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    for (p = line; *p;) {
        char *end;
        unsigned long v;

        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        v = strtoul(p, &end, 10);
        if (v + 1 > highest)
            highest = (unsigned)v + 1;
        any = true;
        p = end;
    }
    return any ? highest : 0;
}

static void log_line(void *ctx, const char *msg)
{
    fsp_log_warning(ctx, "%s", msg);
}

unsigned fsp_uring_queue_count(struct fsp_fs *fs)
{
    char enabled;
    unsigned cpus;

    if (!fs->params.io_uring)
        return 0;
    enabled = read_flag(ENABLE_PARAM);
    if (enabled == '\0') {
        fsp_log_warning(fs, FALLBACK "this kernel's FUSE has no io_uring "
                "support (no " ENABLE_PARAM "; it needs Linux 6.14 or later "
                "with CONFIG_FUSE_IO_URING)" DEV_ONLY);
        return 0;
    }
    if (enabled != 'Y' && enabled != 'y' && enabled != '1') {
        fsp_log_warning(fs, FALLBACK "the fuse module does not allow it ("
                ENABLE_PARAM " is N)" DEV_ONLY "; to enable it, as root: "
                "echo Y > " ENABLE_PARAM);
        return 0;
    }
    cpus = possible_cpus();
    if (cpus == 0 || cpus > 65535) {
        fsp_log_warning(fs, FALLBACK "the possible CPUs cannot be read "
                "from " POSSIBLE_CPUS DEV_ONLY);
        return 0;
    }
    return cpus;
}

void fsp_dispatch_undelivered(void *fs, uint32_t opcode, const void *body,
                              size_t size)
{
    const struct fsp_op *op = fsp_op_of(opcode);

    if (op && op->undelivered && size)
        op->undelivered(fs, body, size);
}

void fsp_dispatch_init_sent(struct fsp_txn *t)
{
    fsp_uring_init_answered(t->fs, t->fs->init_flags);
}

int fsp_uring_create_queues(struct fsp_fs *fs, struct fsp_worker *workers,
                            unsigned n)
{
    struct fsp_uring_config cfg;
    size_t payload = fs->max_write > fs->max_read ? fs->max_write
                                                  : fs->max_read;
    unsigned i;
    int err;

    err = fsp_uring_gate_create(&fs->uring_gate);
    if (err)
        goto fail;
    memset(&cfg, 0, sizeof cfg);
    cfg.fuse_fd = fs->mount->fd;
    cfg.entries = ENTRIES_PER_QUEUE;
    /* The kernel wants at least max(8 KiB, max_write, max_pages pages). */
    cfg.payload_size = payload < 8192 ? 8192 : payload;
    cfg.gate = fs->uring_gate;
    cfg.requests = fs->stats.shared ? &fs->stats.shared->ring_requests
                                    : NULL;
    cfg.log = log_line;
    cfg.log_ctx = fs;
    cfg.undelivered = fsp_dispatch_undelivered;
    cfg.undelivered_ctx = fs;
    for (i = 0; i < n; i++) {
        cfg.qid = i;
        err = fsp_channel_uring_create(&cfg, &workers[i].ch);
        if (err)
            goto fail;
    }
    return 0;

fail:
    if (err == -EPERM || err == -EACCES) {
        fsp_log_warning(fs, FALLBACK "io_uring_setup() is not permitted (%s; "
                DISABLED_SYSCTL " is %c, 0 allows everyone)" DEV_ONLY,
                strerror(-err), read_flag(DISABLED_SYSCTL));
    } else {
        fsp_log_warning(fs, FALLBACK "its rings cannot be set up (%s)"
                DEV_ONLY, strerror(-err));
    }
    for (i = 0; i < n; i++) {
        if (workers[i].ch)
            workers[i].ch->ops->destroy(workers[i].ch);
        workers[i].ch = NULL;
    }
    fsp_uring_gate_free(fs->uring_gate);
    fs->uring_gate = NULL;
    return err;
}

void fsp_uring_init_answered(struct fsp_fs *fs, uint64_t flags)
{
    bool on = (flags & FUSE_OVER_IO_URING) != 0;

    if (!fs->uring_gate)
        return;
    if (on) {
        fsp_stats_set_channel(&fs->stats, "io_uring");
    } else {
        char enabled = read_flag(ENABLE_PARAM);

        fsp_log_warning(fs, FALLBACK "the kernel did not offer it at INIT (%s)"
                DEV_ONLY "%s", enabled == 'N' ? ENABLE_PARAM " is N"
                                              : "an older protocol",
                enabled == 'N' ? "; to enable it, as root: echo Y > "
                                 ENABLE_PARAM
                               : "");
    }
    fsp_uring_gate_decide(fs->uring_gate, on);
}

void fsp_uring_stop(struct fsp_fs *fs)
{
    if (fs->uring_gate)
        fsp_uring_gate_stop(fs->uring_gate);
}

void fsp_uring_free(struct fsp_fs *fs)
{
    fsp_uring_gate_free(fs->uring_gate);
    fs->uring_gate = NULL;
}
