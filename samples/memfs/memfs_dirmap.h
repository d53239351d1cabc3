/**
 * @file memfs_dirmap.h
 * The entries of one memfs directory: an ordered map from name to node.
 *
 * It is an AVL tree keyed by name, so lookup, insertion, removal and "the
 * first name after X" all cost O(log n). The order is fsp_name_compare()'s:
 * the bytes' (strcmp's) in a case-sensitive map, the case-folded names' in
 * a case-insensitive one, where "Foo" and "FOO" are the same key (the map
 * holds one of them, spelled as it was inserted). The last one is what makes read_directory() resumable: fsp
 * gives back the name of the last entry it took (the *marker*), and the
 * listing resumes at the first name greater than the marker, whether or
 * not the marker itself still exists.
 *
 * The map owns its entries (struct memfs_dirent), not the nodes they point
 * to: node lifetimes are memfs.c's business.
 */
#ifndef MEMFS_DIRMAP_H
#define MEMFS_DIRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct memfs_node;

/** Longest name a map holds, in bytes (NAME_MAX). Keys of case-insensitive
 *  maps are copied to a buffer of this size to be compared; a longer key
 *  can never be in a map. */
#define MEMFS_DIRMAP_NAME_MAX 255

/** One name in a directory. */
struct memfs_dirent {
    struct memfs_dirent *left, *right; /* AVL children */
    int height;                        /* AVL height; a leaf is 1 */
    struct memfs_node *node;           /* the file this name refers to */
    size_t name_len;
    char name[];                       /* name_len bytes, NUL-terminated */
};

/** A directory's entries. All zero is an empty case-sensitive map. */
struct memfs_dirmap {
    struct memfs_dirent *root;
    size_t count;
    bool case_insensitive; /* set while the map is empty, never changed */
};

/** A new entry (not yet in any map), or NULL if out of memory. */
struct memfs_dirent *memfs_dirent_new(const char *name, size_t name_len,
                                      struct memfs_node *node);

/** The entry called name[0..name_len) (in any case, in a
 *  case-insensitive map), or NULL. */
struct memfs_dirent *memfs_dirmap_find(const struct memfs_dirmap *map,
                                       const char *name, size_t name_len);

/**
 * The entry with the smallest name greater than @p name in the map's
 * order; with name NULL, the first entry. NULL when there is none, and for
 * a name longer than MEMFS_DIRMAP_NAME_MAX in a case-insensitive map (no
 * such name was ever handed out as part of a listing).
 */
struct memfs_dirent *memfs_dirmap_first_after(const struct memfs_dirmap *map,
                                              const char *name,
                                              size_t name_len);

/** Add an entry whose name is not in the map yet, in any case (the caller
 *  checked with memfs_dirmap_find()), at most MEMFS_DIRMAP_NAME_MAX bytes. */
void memfs_dirmap_insert(struct memfs_dirmap *map, struct memfs_dirent *entry);

/**
 * Take the entry called name[0..name_len) (matched as memfs_dirmap_find()
 * does) out of the map and return it (the caller frees it), or NULL if
 * there is no such entry.
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
