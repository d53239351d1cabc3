/*
 * fs.c - layer 5: the public life cycle of a volume: create, mount, start,
 * wait, stop, delete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "mount.h"
#include "pending.h"

#define MAX_IO_SIZE (1024u * 1024u) /* the kernel's limit: 256 pages */

static __thread const fsp_operation_context_t *current_operation;

FSP_API void fsp_volume_params_init(fsp_volume_params_t *params)
{
    memset(params, 0, sizeof *params);
    params->fs_name = "fsp";
    params->file_info_timeout_ms = 1000;
    params->dir_info_timeout_ms = 1000;
    params->negative_timeout_ms = 0;
    params->default_permissions = true;
    params->auto_unmount = true;
    params->extended_attributes = true;
}

static uint32_t io_size(uint32_t wanted)
{
    if (wanted == 0 || wanted > MAX_IO_SIZE)
        return MAX_IO_SIZE;
    return wanted < 4096 ? 4096 : wanted;
}

FSP_API int fsp_fs_create(const fsp_volume_params_t *params,
                          const fsp_fs_interface_t *interface,
                          void *user_context, fsp_fs_t **pfs)
{
    struct fsp_fs *fs = NULL;
    int err;

    if (!pfs)
        return -EINVAL;
    *pfs = NULL;
    if (!params || !interface)
        return -EINVAL;
    if (params->writeback_cache && params->read_only)
        return -EINVAL;
    if (params->posix_acl > FSP_POSIX_ACL_FILE_SYSTEM)
        return -EINVAL;
    if (params->atime > FSP_ATIME_NEVER)
        return -EINVAL;
    fs = calloc(1, sizeof *fs);
    if (!fs)
        return -ENOMEM;
    fs->params = *params;
    fs->iface = *interface;
    fs->user_context = user_context;
    fs->stop_fd = -1;
    fs->mount = calloc(1, sizeof *fs->mount);
    if (!fs->mount) {
        free(fs);
        return -ENOMEM;
    }
    fs->mount->fd = -1;
    fs->mount->watcher_fd = -1;
    fs->mount->fusermount_fd = -1;
    fs->fs_name = strdup(params->fs_name ? params->fs_name : "fsp");
    /* An empty name (no subtype: the plain type fuse) names no source. */
    fs->source = strdup(params->source              ? params->source
                        : fs->fs_name && *fs->fs_name ? fs->fs_name
                                                      : "fuse");
    err = -ENOMEM;
    if (!fs->fs_name || !fs->source)
        goto fail;
    fs->params.fs_name = fs->fs_name;
    fs->params.source = fs->source;
    /* A cached "absent" for one spelling would hide a file created under
     * another: case-insensitive volumes never let the kernel keep one. */
    if (fs->params.case_insensitive)
        fs->params.negative_timeout_ms = 0;
    fs->max_write = io_size(params->max_write);
    fs->max_read = io_size(params->max_read);
    err = fsp_log_init(fs);
    if (err)
        goto fail;
    pthread_mutex_init(&fs->passthrough_lock, NULL);
    err = fsp_node_table_init(&fs->nodes);
    if (err)
        goto fail_log;
    err = fsp_handle_table_init(&fs->handles);
    if (err)
        goto fail_nodes;
    err = fsp_pending_init(fs);
    if (err)
        goto fail_handles;
    *pfs = fs;
    return 0;

fail_handles:
    fsp_handle_table_fini(fs);
fail_nodes:
    fsp_node_table_fini(fs);
fail_log:
    pthread_mutex_destroy(&fs->passthrough_lock);
    fsp_log_fini(fs);
fail:
    free(fs->fs_name);
    free(fs->source);
    free(fs->mount);
    free(fs);
    return err;
}

FSP_API int fsp_fs_mount(fsp_fs_t *fs, const char *mountpoint)
{
    struct fsp_mount_options opt;
    int err;

    if (!fs || !mountpoint)
        return -EINVAL;
    if (fs->mount->fd >= 0) {
        snprintf(fs->error_message, sizeof fs->error_message,
                 "the volume is already mounted on %s",
                 fs->mount->mountpoint);
        return -EBUSY;
    }
    fs->error_message[0] = '\0';
    memset(&opt, 0, sizeof opt);
    opt.fs_name = fs->fs_name;
    opt.source = fs->source;
    opt.allow_other = fs->params.allow_other;
    opt.default_permissions = fs->params.default_permissions;
    opt.nonempty = fs->params.nonempty;
    opt.auto_unmount = fs->params.auto_unmount;
    opt.read_only = fs->params.read_only;
    opt.allow_setuid = fs->params.allow_setuid;
    opt.allow_devices = fs->params.allow_devices;
    opt.atime = fs->params.atime == FSP_ATIME_STRICT  ? FSP_MOUNT_STRICTATIME
                : fs->params.atime == FSP_ATIME_NEVER ? FSP_MOUNT_NOATIME
                                                      : FSP_MOUNT_RELATIME;
    opt.nodiratime = fs->params.nodiratime;
    opt.max_read = fs->max_read;
    /* INIT during mount(2), where the kernel can; not with io_uring, whose
     * queues exist only once the workers start, and INIT must offer them. */
    if (!fs->params.io_uring) {
        opt.serve_during_mount = fsp_dispatch_serve_during_mount;
        opt.serve_ctx = fs;
    }
    err = fsp_mount_create(mountpoint, &opt, fs->mount, fs->error_message,
                           sizeof fs->error_message);
    if (err && !fs->error_message[0])
        snprintf(fs->error_message, sizeof fs->error_message,
                 "%s: cannot mount: %s", mountpoint, strerror(-err));
    return err;
}

/* The kernel port (fs_internal.h) of a mounted volume: its session. */
static int session_notify(void *ctx, const struct iovec *iov, int iovcnt)
{
    return fsp_session_notify(((struct fsp_mount *)ctx)->fd, iov, iovcnt);
}

static int session_backing_open(void *ctx, int fd)
{
    return fsp_session_backing_open(((struct fsp_mount *)ctx)->fd, fd);
}

static int session_backing_close(void *ctx, int32_t id)
{
    return fsp_session_backing_close(((struct fsp_mount *)ctx)->fd, id);
}

FSP_API int fsp_fs_start(fsp_fs_t *fs, unsigned threads)
{
    long cpus;
    int err;

    if (!fs)
        return -EINVAL;
    if (fs->mount->fd < 0) {
        snprintf(fs->error_message, sizeof fs->error_message,
                 "the volume is not mounted: call fsp_fs_mount() first");
        return -EINVAL;
    }
    if (fs->started)
        return -EBUSY;
    if (threads == 0) {
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 2 ? 2 : (unsigned)cpus;
    }
    fs->kernel.ctx = fs->mount;
    fs->kernel.notify = session_notify;
    fs->kernel.backing_open = session_backing_open;
    fs->kernel.backing_close = session_backing_close;
    /* Publishing counters is a convenience: a failure is not fatal. */
    /* fsptool shows the source, which is what "fsname=" sets (as with
     * libfuse); it defaults to the file system's name. */
    fsp_stats_open(&fs->stats, fs->mount->mountpoint, fs->source, "dev",
                   fs->mount->id.conn_id, threads);
    if (fs->stats.shared)
        atomic_store(&fs->stats.shared->nodes, (int64_t)fs->nodes.count);
    if (fs->stats.shared && atomic_load(&fs->debug))
        atomic_store(&fs->stats.shared->debug, 1);
    err = fsp_notify_start(fs);
    if (!err)
        err = fsp_dispatcher_start(fs, threads);
    if (err) {
        fsp_notify_fini(fs);
        snprintf(fs->error_message, sizeof fs->error_message,
                 "%s: cannot start %u worker threads: %s",
                 fs->mount->mountpoint, threads, strerror(-err));
        fsp_stats_close(&fs->stats);
        return err;
    }
    fs->started = true;
    return 0;
}

FSP_API int fsp_fs_wait(fsp_fs_t *fs)
{
    int err;

    if (!fs || !fs->started)
        return -EINVAL;
    if (fs->waited)
        return atomic_load(&fs->exit_error);
    err = fsp_dispatcher_wait(fs);
    fs->waited = true;
    return err;
}

FSP_API void fsp_fs_stop(fsp_fs_t *fs)
{
    if (fs)
        fsp_dispatcher_stop(fs);
}

FSP_API void fsp_fs_delete(fsp_fs_t *fs)
{
    if (!fs)
        return;
    if (fs->started && !fs->waited) {
        fsp_fs_stop(fs);
        fsp_fs_wait(fs);
    }
    fsp_notify_stop(fs);
    fsp_mount_destroy(fs->mount);
    /* Requests never completed: their records pin handles. */
    fsp_pending_fini(fs);
    if (fs->mount_channel)
        fs->mount_channel->ops->destroy(fs->mount_channel);
    fsp_handle_table_fini(fs);
    fsp_node_table_fini(fs);
    fsp_stats_close(&fs->stats);
    if (fs->stop_fd >= 0)
        close(fs->stop_fd);
    fsp_notify_fini(fs);
    pthread_mutex_destroy(&fs->passthrough_lock);
    fsp_log_fini(fs);
    free(fs->fs_name);
    free(fs->source);
    free(fs->mount);
    free(fs);
}

FSP_API void *fsp_fs_user_context(fsp_fs_t *fs)
{
    return fs ? fs->user_context : NULL;
}

FSP_API const char *fsp_fs_mountpoint(fsp_fs_t *fs)
{
    return fs && fs->mount->fd >= 0 ? fs->mount->mountpoint : NULL;
}

FSP_API const char *fsp_fs_error_message(fsp_fs_t *fs)
{
    return fs ? fs->error_message : "";
}

FSP_API void fsp_fs_set_debug(fsp_fs_t *fs, bool on)
{
    if (!fs)
        return;
    atomic_store(&fs->debug, on);
    if (fs->stats.shared)
        atomic_store(&fs->stats.shared->debug, on ? 1 : 0);
}

FSP_API bool fsp_fs_get_debug(fsp_fs_t *fs)
{
    if (!fs)
        return false;
    /* fsptool writes the shared switch; the control thread copies it to
     * fs->debug a moment later: the shared one is the newest. */
    if (fs->stats.shared)
        return atomic_load(&fs->stats.shared->debug) != 0;
    return atomic_load(&fs->debug);
}

FSP_API int fsp_fs_set_state(fsp_fs_t *fs, const char *text)
{
    if (!fs)
        return -EINVAL;
    return fsp_stats_set_state(&fs->stats, text ? text : "");
}

FSP_API const fsp_operation_context_t *fsp_fs_operation_context(void)
{
    return current_operation;
}

void fsp_set_operation_context(const fsp_operation_context_t *ctx)
{
    current_operation = ctx;
}
