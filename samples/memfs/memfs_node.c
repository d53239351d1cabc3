/**
 * @file memfs_node.c
 * Nodes of memfs: their life, their attributes, path lookup.
 * See memfs_internal.h.
 */
#include "memfs_internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* st_size of a directory. Linux file systems report something non-zero;
 * like tmpfs, memfs counts a nominal 20 bytes per entry, "." and ".."
 * included. Nothing depends on the value. */
#define DIRENT_NOMINAL_SIZE 20

struct timespec memfs_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now;
}

int memfs_node_new(struct memfs *m, uint32_t mode, struct memfs_node **out)
{
    struct memfs_node *node;

    if (m->node_count >= m->options.max_nodes)
        return -ENOSPC;
    node = calloc(1, sizeof *node);
    if (!node)
        return -ENOMEM;
    node->index_number = m->next_index_number++;
    node->mode = mode;
    node->entries.case_insensitive = m->options.case_insensitive;
    node->atime = node->mtime = node->ctime = node->btime = memfs_now();

    node->next = m->all_nodes;
    if (m->all_nodes)
        m->all_nodes->prev = node;
    m->all_nodes = node;
    m->node_count++;
    *out = node;
    return 0;
}

#define MEMFS_TRIM_THRESHOLD (8u << 20)

void memfs_node_destroy(struct memfs *m, struct memfs_node *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else
        m->all_nodes = node->next;
    if (node->next)
        node->next->prev = node->prev;
    m->node_count--;

    m->used_bytes -= node->data.page_count * MEMFS_PAGE_SIZE +
                     node->xattr_bytes;
    m->freed_since_trim += node->data.page_count * MEMFS_PAGE_SIZE;
    memfs_data_free(&node->data);
    memfs_xattr_free_all(node);
    memfs_locks_free_node(node);
    /* The entries only: their nodes have names elsewhere or die alone. */
    memfs_dirmap_clear(&node->entries);
    free(node->link_target);
    free(node);

    /* glibc keeps freed pages in its per-thread arenas; after a large
     * delete, hand them back so that the daemon's resident memory follows
     * the volume's contents. Amortized: once per 8 MiB freed. */
    if (m->freed_since_trim >= MEMFS_TRIM_THRESHOLD) {
        m->freed_since_trim = 0;
        malloc_trim(0);
    }
}

void memfs_node_release(struct memfs *m, struct memfs_node *node)
{
    if (node->nlink == 0 && node->open_count == 0)
        memfs_node_destroy(m, node);
}

void memfs_node_get_info(const struct memfs_node *node, fsp_file_info_t *info)
{
    info->index_number = node->index_number;
    info->mode = node->mode;
    info->nlink = node->nlink;
    info->uid = node->uid;
    info->gid = node->gid;
    info->rdev = node->rdev;
    info->atime = node->atime;
    info->mtime = node->mtime;
    info->ctime = node->ctime;
    info->btime = node->btime;
    switch (node->mode & S_IFMT) {
    case S_IFREG:
        info->size = node->size;
        info->allocation_size = node->data.page_count * MEMFS_PAGE_SIZE;
        break;
    case S_IFDIR:
        info->size = (node->entries.count + 2) * DIRENT_NOMINAL_SIZE;
        break;
    case S_IFLNK:
        info->size = strlen(node->link_target);
        break;
    }
}

void memfs_node_touch_modified(struct memfs_node *node)
{
    node->mtime = node->ctime = memfs_now();
}

bool memfs_node_is_ancestor(const struct memfs_node *dir,
                            const struct memfs_node *node)
{
    /* Up the parent pointers of directories; the root's is NULL. */
    for (; node; node = node->parent)
        if (node == dir)
            return true;
    return false;
}

/* Split the next component off *path: skip slashes, return its start and
 * set *len; *path moves past it. An empty component means the end. */
static const char *next_component(const char **path, size_t *len)
{
    const char *start = *path, *end;

    while (*start == '/')
        start++;
    end = start;
    while (*end && *end != '/')
        end++;
    *len = (size_t)(end - start);
    *path = end;
    return start;
}

/* True if nothing but slashes is left of the path. */
static bool at_end(const char *path)
{
    while (*path == '/')
        path++;
    return *path == '\0';
}

int memfs_lookup_parent(struct memfs *m, const char *path,
                        struct memfs_node **parent, const char **name,
                        size_t *name_len)
{
    struct memfs_node *dir = m->root;
    const char *component;
    size_t len;

    component = next_component(&path, &len);
    if (len == 0) { /* "/" has no parent */
        *parent = NULL;
        *name = component;
        *name_len = 0;
        return 0;
    }
    for (;;) {
        struct memfs_dirent *entry;

        if (len > MEMFS_NAME_MAX)
            return -ENAMETOOLONG;
        if (at_end(path))
            break;
        entry = memfs_dirmap_find(&dir->entries, component, len);
        if (!entry)
            return -ENOENT;
        if (!S_ISDIR(entry->node->mode))
            return -ENOTDIR;
        dir = entry->node;
        component = next_component(&path, &len);
    }
    *parent = dir;
    *name = component;
    *name_len = len;
    return 0;
}

int memfs_lookup(struct memfs *m, const char *path, struct memfs_node **out)
{
    struct memfs_node *parent;
    struct memfs_dirent *entry;
    const char *name;
    size_t name_len;
    int err;

    err = memfs_lookup_parent(m, path, &parent, &name, &name_len);
    if (err < 0)
        return err;
    if (!parent) {
        *out = m->root;
        return 0;
    }
    entry = memfs_dirmap_find(&parent->entries, name, name_len);
    if (!entry)
        return -ENOENT;
    *out = entry->node;
    return 0;
}
