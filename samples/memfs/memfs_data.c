/**
 * @file memfs_data.c
 * Sparse file contents in a radix tree of pages. See memfs_data.h.
 */
#include "memfs_data.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_BITS 9u
#define SLOTS_PER_BLOCK (1u << SLOT_BITS)

/* An index block: 512 pointers to blocks of the level below, or to pages
 * at the lowest level. Its size is one page, which keeps malloc happy. */
struct index_block {
    void *slot[SLOTS_PER_BLOCK];
};

#define PAGE_BITS 12u /* MEMFS_PAGE_SIZE is 1 << PAGE_BITS */

/* Bytes covered by one subtree of the given height (0: a single page); a
 * subtree that would reach past the layer's end covers up to it. */
static uint64_t span_of(unsigned height)
{
    if (PAGE_BITS + SLOT_BITS * height >= 63)
        return MEMFS_DATA_MAX_SIZE;
    return (uint64_t)MEMFS_PAGE_SIZE << (SLOT_BITS * height);
}

/* The end of [offset, offset + length), kept below the layer's limit so
 * that "to the end" (UINT64_MAX) needs no special case. */
static uint64_t range_end(uint64_t offset, uint64_t length)
{
    if (length > MEMFS_DATA_MAX_SIZE - offset)
        return MEMFS_DATA_MAX_SIZE;
    return offset + length;
}

/* Whether the subtree [base, base + span) meets the range [start, end).
 * The loops below only visit children that do; this check is for the
 * root, which may be smaller than the range asked about. */
static bool overlaps(uint64_t base, uint64_t span, uint64_t start,
                     uint64_t end)
{
    return base < end && start < base + span;
}

/* Which slot of a block at the given height leads to byte offset. */
static unsigned slot_index(uint64_t offset, unsigned height)
{
    return (unsigned)(offset / span_of(height - 1)) & (SLOTS_PER_BLOCK - 1);
}

/* The page holding byte offset, or NULL for a hole. */
static unsigned char *find_page(const struct memfs_data *data, uint64_t offset)
{
    void *block = data->root;
    unsigned height;

    if (offset >= span_of(data->height))
        return NULL;
    for (height = data->height; height > 0 && block; height--)
        block = ((struct index_block *)block)->slot[slot_index(offset, height)];
    return block;
}

/* Add index levels on top until the tree reaches byte offset. An empty
 * tree just takes the height it needs: there is nothing to push down. */
static int grow_to_reach(struct memfs_data *data, uint64_t offset)
{
    while (offset >= span_of(data->height)) {
        struct index_block *top;

        if (!data->root) {
            data->height++;
            continue;
        }
        top = calloc(1, sizeof *top);
        if (!top)
            return -ENOMEM;
        top->slot[0] = data->root;
        data->root = top;
        data->height++;
    }
    return 0;
}

/* The page holding byte offset, allocated (zeroed) if it was a hole. */
static unsigned char *get_page(struct memfs_data *data, uint64_t offset)
{
    void **slot = &data->root;
    unsigned height;

    if (grow_to_reach(data, offset) < 0)
        return NULL;
    for (height = data->height; height > 0; height--) {
        if (!*slot && !(*slot = calloc(1, sizeof(struct index_block))))
            return NULL;
        slot = &((struct index_block *)*slot)->slot[slot_index(offset, height)];
    }
    if (!*slot) {
        if (!(*slot = calloc(1, MEMFS_PAGE_SIZE)))
            return NULL;
        data->page_count++;
    }
    return *slot;
}

void memfs_data_read(const struct memfs_data *data, void *buf,
                     uint64_t offset, size_t length)
{
    unsigned char *out = buf;

    while (length > 0) {
        size_t in_page = offset % MEMFS_PAGE_SIZE;
        size_t n = MEMFS_PAGE_SIZE - in_page;
        const unsigned char *page = find_page(data, offset);

        if (n > length)
            n = length;
        if (page)
            memcpy(out, page + in_page, n);
        else
            memset(out, 0, n);
        out += n;
        offset += n;
        length -= n;
    }
}

/* Allocated pages of subtree block (of the given height, starting at byte
 * base) that lie in [start, end). Only existing blocks are visited. */
static uint64_t count_pages(const void *block, unsigned height, uint64_t base,
                            uint64_t start, uint64_t end)
{
    const struct index_block *index = block;
    uint64_t child_span, count = 0;
    unsigned i;

    if (!block || !overlaps(base, span_of(height), start, end))
        return 0;
    if (height == 0)
        return 1;
    child_span = span_of(height - 1);
    for (i = 0; i < SLOTS_PER_BLOCK; i++) {
        uint64_t child_base = base + i * child_span;
        if (child_base + child_span <= start)
            continue;
        if (child_base >= end)
            break;
        count += count_pages(index->slot[i], height - 1, child_base, start,
                             end);
    }
    return count;
}

uint64_t memfs_data_missing_pages(const struct memfs_data *data,
                                  uint64_t offset, uint64_t length)
{
    uint64_t end = range_end(offset, length);
    uint64_t first, last;

    if (length == 0 || offset >= end)
        return 0;
    first = offset / MEMFS_PAGE_SIZE;
    last = (end - 1) / MEMFS_PAGE_SIZE;
    /* Page-aligned bounds, so partly covered pages count as wholly in. */
    return last - first + 1 -
           count_pages(data->root, data->height, 0, first * MEMFS_PAGE_SIZE,
                       (last + 1) * MEMFS_PAGE_SIZE);
}

int memfs_data_allocate(struct memfs_data *data, uint64_t offset,
                        uint64_t length)
{
    uint64_t end = range_end(offset, length);
    uint64_t at;

    if (length == 0 || offset >= end)
        return 0;
    for (at = offset - offset % MEMFS_PAGE_SIZE; at < end;
         at += MEMFS_PAGE_SIZE)
        if (!get_page(data, at))
            return -ENOMEM;
    return 0;
}

int memfs_data_write(struct memfs_data *data, const void *buf,
                     uint64_t offset, size_t length)
{
    const unsigned char *in = buf;
    int err = memfs_data_allocate(data, offset, length);

    if (err < 0)
        return err;
    while (length > 0) {
        size_t in_page = offset % MEMFS_PAGE_SIZE;
        size_t n = MEMFS_PAGE_SIZE - in_page;

        if (n > length)
            n = length;
        memcpy(find_page(data, offset) + in_page, in, n);
        in += n;
        offset += n;
        length -= n;
    }
    return 0;
}

/* Free subtree *slot entirely, counting the pages it held. */
static void free_subtree(void **slot, unsigned height, uint64_t *page_count)
{
    struct index_block *index = *slot;
    unsigned i;

    if (!index)
        return;
    if (height == 0) {
        (*page_count)--;
    } else {
        for (i = 0; i < SLOTS_PER_BLOCK; i++)
            free_subtree(&index->slot[i], height - 1, page_count);
    }
    free(index);
    *slot = NULL;
}

static bool block_is_empty(const struct index_block *index)
{
    unsigned i;

    for (i = 0; i < SLOTS_PER_BLOCK; i++)
        if (index->slot[i])
            return false;
    return true;
}

/* Zero [start, end) within subtree *slot (height, starting at byte base):
 * free what the range covers entirely, clear parts of the other pages,
 * and free index blocks left empty. */
static void zero_subtree(void **slot, unsigned height, uint64_t base,
                         uint64_t start, uint64_t end, uint64_t *page_count)
{
    uint64_t span = span_of(height);
    struct index_block *index = *slot;
    unsigned i;

    if (!*slot || !overlaps(base, span, start, end))
        return;
    if (start <= base && base + span <= end) {
        free_subtree(slot, height, page_count);
        return;
    }
    if (height == 0) {
        uint64_t from = start > base ? start : base;
        uint64_t to = end < base + span ? end : base + span;
        memset((unsigned char *)*slot + (from - base), 0, to - from);
        return;
    }
    for (i = 0; i < SLOTS_PER_BLOCK; i++) {
        uint64_t child_base = base + i * span_of(height - 1);
        if (child_base + span_of(height - 1) <= start)
            continue;
        if (child_base >= end)
            break;
        zero_subtree(&index->slot[i], height - 1, child_base, start, end,
                     page_count);
    }
    if (block_is_empty(index)) {
        free(index);
        *slot = NULL;
    }
}

void memfs_data_zero(struct memfs_data *data, uint64_t offset,
                     uint64_t length)
{
    uint64_t end = range_end(offset, length);

    if (offset >= end)
        return;
    zero_subtree(&data->root, data->height, 0, offset, end,
                 &data->page_count);
    if (!data->root)
        data->height = 0;
}

/* The first page at or after byte @start (page-aligned) in subtree @block
 * (of the given height, starting at byte @base) that is allocated
 * (@want_data) or a hole; UINT64_MAX if the subtree has none. */
static uint64_t seek_subtree(const void *block, unsigned height,
                             uint64_t base, uint64_t start, bool want_data)
{
    const struct index_block *index = block;
    uint64_t child_span, found;
    unsigned i;

    if (!block)
        return want_data ? UINT64_MAX : (start > base ? start : base);
    if (height == 0)
        return want_data ? (start > base ? start : base) : UINT64_MAX;
    child_span = span_of(height - 1);
    for (i = 0; i < SLOTS_PER_BLOCK; i++) {
        uint64_t child_base = base + i * child_span;

        if (child_base >= MEMFS_DATA_MAX_SIZE)
            break; /* the unused slots of the top block */
        if (child_base + child_span <= start)
            continue;
        found = seek_subtree(index->slot[i], height - 1, child_base, start,
                             want_data);
        if (found != UINT64_MAX)
            return found;
    }
    return UINT64_MAX;
}

uint64_t memfs_data_seek(const struct memfs_data *data, uint64_t offset,
                         bool want_data)
{
    uint64_t start = offset - offset % MEMFS_PAGE_SIZE;
    uint64_t span = span_of(data->height), found;

    if (start >= span) /* beyond the tree: all hole */
        return want_data ? MEMFS_DATA_MAX_SIZE : start;
    found = seek_subtree(data->root, data->height, 0, start, want_data);
    if (found == UINT64_MAX)
        return want_data ? MEMFS_DATA_MAX_SIZE : span;
    return found;
}

void memfs_data_free(struct memfs_data *data)
{
    free_subtree(&data->root, data->height, &data->page_count);
    data->height = 0;
}
