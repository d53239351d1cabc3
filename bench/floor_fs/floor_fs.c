/*
 * floor_fs.c - the floor of bench/floor: a volume whose callbacks answer
 * at once, so that what a request costs through it is the cost of fsp's
 * round trip itself (the kernel, the channel, the dispatcher), with no
 * file system behind it.
 *
 *   floor_fs [-f] [-o opt[,opt...]]... MOUNTPOINT
 *
 * It serves one directory, the root, holding one file, /f, of 1 MiB of
 * zeros; every other name is absent. The options are the samples' own
 * (sample_cli.h): timeouts, threads, io_uring, ... One context per file,
 * as memfs has, so that a test compares with memfs like for like.
 */
#define _GNU_SOURCE
#include "sample_cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

enum { FILE_SIZE = 1 << 20 };

static const char usage_text[] =
    "usage: floor_fs [-f] [-d] [-o opt[,opt...]]... MOUNTPOINT\n"
    "\n"
    "A volume that answers at once: the root and one file, /f, of 1 MiB\n"
    "of zeros. bench/floor measures what one request costs through it.\n"
    "\n"
    "  -f             stay in the foreground\n"
    "  -d             log every request and reply to stderr (implies -f)\n"
    "  -h, --help     show this help\n"
    "  -o OPTIONS     the options every fsp volume takes (timeouts,\n"
    "                 threads, io_uring, ...)\n";

/* The two file contexts: the root and /f. Constant: nothing to free. */
static char root_ctx, file_ctx;

static void info_of(bool is_root, fsp_file_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->mode = is_root ? S_IFDIR | 0755 : S_IFREG | 0644;
    info->nlink = is_root ? 2 : 1;
    info->size = is_root ? 0 : FILE_SIZE;
    info->index_number = is_root ? 1 : 2;
}

static int get_info_by_name(fsp_fs_t *fs, const char *path,
                            fsp_file_info_t *info)
{
    (void)fs;
    if (strcmp(path, "/") && strcmp(path, "/f"))
        return -ENOENT;
    info_of(strcmp(path, "/") == 0, info);
    return 0;
}

static int open_file(fsp_fs_t *fs, const char *path, int flags, void **ctx,
                     fsp_file_info_t *info)
{
    int err = get_info_by_name(fs, path, info);

    (void)flags;
    *ctx = NULL;
    if (err == 0)
        *ctx = info->mode & S_IFDIR ? &root_ctx : &file_ctx;
    return err;
}

static int get_info(fsp_fs_t *fs, void *ctx, fsp_file_info_t *info)
{
    (void)fs;
    info_of(ctx == &root_ctx, info);
    return 0;
}

static int read_file(fsp_fs_t *fs, void *ctx, void *buf, uint64_t offset,
                     size_t length, size_t *done)
{
    (void)fs;
    *done = 0;
    if (ctx != &file_ctx)
        return -EISDIR;
    if (offset < FILE_SIZE)
        *done = length < FILE_SIZE - offset ? length
                                            : (size_t)(FILE_SIZE - offset);
    memset(buf, 0, *done);
    return 0;
}

static int list(fsp_fs_t *fs, void *ctx, const char *marker,
                fsp_dir_buffer_t *buf)
{
    fsp_file_info_t info;

    (void)fs;
    (void)ctx;
    info_of(false, &info);
    if (!marker)
        fsp_dir_buffer_add(buf, "f", &info);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const operand_names[] = {"mount point"};
    fsp_fs_interface_t iface = {
        .get_file_info_by_name = get_info_by_name,
        .open = open_file,
        .get_file_info = get_info,
        .read = read_file,
        .read_directory = list,
    };
    struct sample_cli cli;
    fsp_fs_t *fs = NULL;
    bool ready = false;
    int parsed, err;

    sample_cli_init(&cli, "floor_fs", usage_text, operand_names, 1);
    cli.volume.per_file_context = true;
    parsed = sample_cli_parse(&cli, argc, argv);
    if (parsed != 0)
        return parsed < 0 ? 1 : 0;
    if (sample_cli_daemonize(&cli) < 0)
        return 1;
    err = sample_cli_create_volume(&cli, &iface, NULL, &fs);
    if (err == 0)
        err = sample_cli_serve(&cli, fs, &ready);
    sample_cli_delete_volume(&cli, fs, ready);
    return err < 0 ? 1 : 0;
}
