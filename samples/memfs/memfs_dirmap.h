/**
 * @file memfs_dirmap.h
 * The entries of one memfs directory: an ordered map from name to node.
 *
 * It is an AVL tree keyed by the name's bytes (the order of strcmp), so
 * lookup, insertion, removal and "the first name after X" all cost
 * O(log n). The last one is what makes read_directory() resumable: fsp
 * gives back the name of the last entry it took (the *marker*), and the
 * listing resumes at the first name greater than the marker, whether or
 * not the marker itself still exists.
 *
 * The map owns its entries (struct memfs_dirent), not the nodes they point
 * to: node lifetimes are memfs.c's business.
 */
#ifndef MEMFS_DIRMAP_H
#define MEMFS_DIRMAP_H

#include <stddef.h>

struct memfs_node;

/** One name in a directory. */
struct memfs_dirent {
    struct memfs_dirent *left, *right; /* AVL children */
    int height;                        /* AVL height; a leaf is 1 */
    struct memfs_node *node;           /* the file this name refers to */
    size_t name_len;
    char name[];                       /* name_len bytes, NUL-terminated */
};

/** A directory's entries. All zero is an empty map. */
struct memfs_dirmap {
    struct memfs_dirent *root;
    size_t count;
};

/** A new entry (not yet in any map), or NULL if out of memory. */
struct memfs_dirent *memfs_dirent_new(const char *name, size_t name_len,
                                      struct memfs_node *node);

/** The entry called name[0..name_len), or NULL. */
struct memfs_dirent *memfs_dirmap_find(const struct memfs_dirmap *map,
                                       const char *name, size_t name_len);

/**
 * The entry with the smallest name greater than @p name; with name NULL,
 * the first entry. NULL when there is none.
 */
struct memfs_dirent *memfs_dirmap_first_after(const struct memfs_dirmap *map,
                                              const char *name,
                                              size_t name_len);

/** Add an entry whose name is not in the map yet (the caller checked). */
void memfs_dirmap_insert(struct memfs_dirmap *map, struct memfs_dirent *entry);

/**
 * Take the entry called name[0..name_len) out of the map and return it
 * (the caller frees it), or NULL if there is no such entry.
 */
struct memfs_dirent *memfs_dirmap_remove(struct memfs_dirmap *map,
                                         const char *name, size_t name_len);

/** Free every entry (not the nodes) and leave the map empty. */
void memfs_dirmap_clear(struct memfs_dirmap *map);

/**
 * Check the AVL invariants (order, heights, balance, count): for tests.
 * @return 0 if the map is sound, -1 otherwise
 */
int memfs_dirmap_validate(const struct memfs_dirmap *map);

#endif /* MEMFS_DIRMAP_H */
