/**
 * @file memfs.h
 * memfs: the reference in-memory file system of fsp.
 *
 * memfs.c and its helpers implement every callback of fsp_fs_interface
 * over a tree kept in memory; memfs_main.c is the program around it
 * (command line, mount, signals). The split lets memfs_selftest.c drive
 * the callbacks directly, without a kernel or the fsp library.
 *
 * Every callback finds its struct memfs with fsp_fs_user_context(fs), so
 * the struct memfs returned by memfs_create() must be given to
 * fsp_fs_create() as the user context.
 */
#ifndef MEMFS_H
#define MEMFS_H

#include <fsp/fsp.h>

#include <stdint.h>

struct memfs;

/** The limits and the root directory of a memfs volume. */
struct memfs_options {
    /** Most files (of any type, the root included) the volume holds;
     *  creating one more fails with ENOSPC. */
    uint64_t max_nodes;
    /** Largest size of one file; beyond it, EFBIG. At most 2^63 bytes. */
    uint64_t max_file_size;
    /** Bytes of file data and extended attributes the volume holds;
     *  beyond it, ENOSPC. */
    uint64_t total_size;
    /** Mode of the root directory (permission bits; S_IFDIR is added). */
    uint32_t root_mode;
    /** Owner of the root directory. */
    uint32_t root_uid;
    uint32_t root_gid;
    /** Names are found by any case and listed as created (WinFsp memfs
     *  -i); give the volume fsp_volume_params.case_insensitive too. */
    bool case_insensitive;
    /** WinFsp memfs's "slowio": this share (0-100) of reads, writes and
     *  directory reads is completed asynchronously (FSP_PENDING) by a
     *  separate thread after a random delay between slowio_min_delay_ms
     *  and slowio_max_delay_ms. 0 (the default) serves everything at once. */
    uint32_t slowio_percent;
    /** With slowio: not only reads, writes and directory reads but every
     *  callback that may (fsp.h) answers later, the same share of them. */
    bool slowio_all;
    uint32_t slowio_max_delay_ms;
    uint32_t slowio_min_delay_ms;
    /** Leave POSIX and flock locks to the kernel (the lock callbacks
     *  NULL), instead of memfs's own lock table (memfs_locks.c), which
     *  serves them by default. */
    bool kernel_locks;
};

/** Default: 1048576 files. */
#define MEMFS_DEFAULT_MAX_NODES (UINT64_C(1) << 20)
/** Default: the kernel's largest file, 2^63 - 1 bytes (MAX_LFS_FILESIZE);
 *  sparse files cost only what is written. */
#define MEMFS_DEFAULT_MAX_FILE_SIZE ((UINT64_C(1) << 63) - 1)

/**
 * Fill @p options with the defaults: MEMFS_DEFAULT_MAX_NODES,
 * MEMFS_DEFAULT_MAX_FILE_SIZE, total_size half of the physical memory
 * (tmpfs's default), root directory 0755 owned by the calling user.
 */
void memfs_options_init(struct memfs_options *options);

/**
 * Create an empty memfs volume (just the root directory).
 * @param options    limits and root; NULL for the defaults
 * @param interface  out: the callbacks to give fsp_fs_create()
 * @param pmemfs     out: the volume, to give fsp_fs_create() as user context
 * @return 0, -EINVAL for impossible options, -ENOMEM
 */
int memfs_create(const struct memfs_options *options,
                 fsp_fs_interface_t *interface, struct memfs **pmemfs);

/**
 * Free a volume and every file in it. Call after fsp_fs_delete(): no
 * callback may run any more.
 */
void memfs_delete(struct memfs *memfs);

#endif /* MEMFS_H */
