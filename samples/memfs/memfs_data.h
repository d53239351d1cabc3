/**
 * @file memfs_data.h
 * The contents of one memfs regular file: sparse, in pages.
 *
 * The bytes live in 4 KiB pages reached through a radix tree, the way a
 * CPU's page tables reach memory: each index block holds 512 pointers, so
 * one level addresses 2 MiB, two 1 GiB, three 512 GiB, four 256 TiB, five
 * 128 PiB, and six the rest up to 8 EiB, the kernel's largest file (of the
 * top block only the first 64 slots are used). The
 * tree only grows as high as the largest offset needs, and a page exists
 * only where data was written or space allocated: a hole reads as zeros
 * and costs nothing, so truncating a file to 1 TiB allocates nothing.
 *
 * This layer knows nothing of the file's size. Its one rule, kept by its
 * caller, is that bytes at or beyond the size are zero in every page, so
 * that growing a file never uncovers old data.
 */
#ifndef MEMFS_DATA_H
#define MEMFS_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes per page: the unit of allocation and of st_blocks accounting. */
#define MEMFS_PAGE_SIZE 4096u

/** The end of what this layer can hold: 2^63, one byte past the kernel's
 *  largest file (MAX_LFS_FILESIZE, 2^63 - 1). */
#define MEMFS_DATA_MAX_SIZE (UINT64_C(1) << 63)

/** The data of one file. All zero is an empty file. */
struct memfs_data {
    void *root;          /* a page if height is 0, else an index block */
    unsigned height;     /* levels of index blocks above the pages */
    uint64_t page_count; /* pages allocated */
};

/**
 * Copy @p length bytes at @p offset into @p buf; holes read as zeros.
 * The range must lie below MEMFS_DATA_MAX_SIZE.
 */
void memfs_data_read(const struct memfs_data *data, void *buf,
                     uint64_t offset, size_t length);

/** How many pages of [offset, offset + length) are not allocated yet. */
uint64_t memfs_data_missing_pages(const struct memfs_data *data,
                                  uint64_t offset, uint64_t length);

/**
 * Allocate every page of [offset, offset + length) that is missing; new
 * pages are zero. @return 0 or -ENOMEM (some pages may then be allocated).
 */
int memfs_data_allocate(struct memfs_data *data, uint64_t offset,
                        uint64_t length);

/**
 * Write @p length bytes at @p offset. All pages are allocated before any
 * byte is copied, so a failure leaves the contents as they were.
 * @return 0 or -ENOMEM
 */
int memfs_data_write(struct memfs_data *data, const void *buf,
                     uint64_t offset, size_t length);

/**
 * Zero [offset, offset + length): pages the range covers entirely are
 * freed (the range becomes a hole), the others are cleared in part.
 * @p length may be UINT64_MAX for "to the end".
 */
void memfs_data_zero(struct memfs_data *data, uint64_t offset,
                     uint64_t length);

/**
 * Where the next run of pages of one kind starts: the offset of the first
 * allocated page (@p want_data) or the first hole page at or after the
 * page holding @p offset, page-aligned. @return that offset, or
 * MEMFS_DATA_MAX_SIZE if there is none (for holes: beyond the layer).
 */
uint64_t memfs_data_seek(const struct memfs_data *data, uint64_t offset,
                         bool want_data);

/** Free everything; the data is then empty. */
void memfs_data_free(struct memfs_data *data);

#endif /* MEMFS_DATA_H */
