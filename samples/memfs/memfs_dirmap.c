/**
 * @file memfs_dirmap.c
 * An AVL tree of directory entries, keyed by name. See memfs_dirmap.h.
 *
 * Insertion and removal are recursive; the recursion is as deep as the
 * tree is high, which for an AVL tree is below 1.45 * log2(n): about 25
 * levels for a million entries.
 */
#include "memfs_dirmap.h"

#include <fsp/fsp.h>

#include <stdlib.h>
#include <string.h>

/* Byte-wise order, shorter first on a common prefix: strcmp's order. */
static int name_compare(const char *a, size_t a_len, const char *b,
                        size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0)
        return c;
    return (a_len > b_len) - (a_len < b_len);
}

/*
 * A name being looked for, as the tree compares it. Names in the tree are
 * NUL-terminated, but a key usually points into a path: a case-sensitive
 * map compares it in place, by length; a case-insensitive one needs a
 * NUL-terminated copy for fsp_name_compare(), made once per operation.
 */
struct key {
    const char *name;
    size_t len;
    bool case_insensitive;
    char str[MEMFS_DIRMAP_NAME_MAX + 1];
};

/* Fill @p key for map @p map. False if the name is too long to be in a
 * case-insensitive map (a case-sensitive one compares any length). */
static bool make_key(const struct memfs_dirmap *map, const char *name,
                     size_t len, struct key *key)
{
    key->name = name;
    key->len = len;
    key->case_insensitive = map->case_insensitive;
    if (!map->case_insensitive)
        return true;
    if (len > MEMFS_DIRMAP_NAME_MAX)
        return false;
    memcpy(key->str, name, len);
    key->str[len] = '\0';
    return true;
}

/* <0, 0, >0: the key against the name of entry @p e. */
static int key_compare(const struct key *key, const struct memfs_dirent *e)
{
    if (key->case_insensitive)
        return fsp_name_compare(key->str, e->name, true);
    return name_compare(key->name, key->len, e->name, e->name_len);
}

/* <0, 0, >0: two entries' names, in the order of @p map. */
static int entry_compare(const struct memfs_dirmap *map,
                         const struct memfs_dirent *a,
                         const struct memfs_dirent *b)
{
    if (map->case_insensitive)
        return fsp_name_compare(a->name, b->name, true);
    return name_compare(a->name, a->name_len, b->name, b->name_len);
}

static int height_of(const struct memfs_dirent *e)
{
    return e ? e->height : 0;
}

static void update_height(struct memfs_dirent *e)
{
    int l = height_of(e->left), r = height_of(e->right);
    e->height = 1 + (l > r ? l : r);
}

static struct memfs_dirent *rotate_right(struct memfs_dirent *top)
{
    struct memfs_dirent *pivot = top->left;
    top->left = pivot->right;
    pivot->right = top;
    update_height(top);
    update_height(pivot);
    return pivot;
}

static struct memfs_dirent *rotate_left(struct memfs_dirent *top)
{
    struct memfs_dirent *pivot = top->right;
    top->right = pivot->left;
    pivot->left = top;
    update_height(top);
    update_height(pivot);
    return pivot;
}

/* Restore the AVL balance of subtree e after one of its children changed
 * height by one; return the subtree's new root. */
static struct memfs_dirent *rebalance(struct memfs_dirent *e)
{
    int balance;

    update_height(e);
    balance = height_of(e->left) - height_of(e->right);
    if (balance > 1) {
        if (height_of(e->left->left) < height_of(e->left->right))
            e->left = rotate_left(e->left);
        return rotate_right(e);
    }
    if (balance < -1) {
        if (height_of(e->right->right) < height_of(e->right->left))
            e->right = rotate_right(e->right);
        return rotate_left(e);
    }
    return e;
}

struct memfs_dirent *memfs_dirent_new(const char *name, size_t name_len,
                                      struct memfs_node *node)
{
    struct memfs_dirent *e = malloc(sizeof *e + name_len + 1);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->node = node;
    e->name_len = name_len;
    memcpy(e->name, name, name_len);
    e->name[name_len] = '\0';
    return e;
}

struct memfs_dirent *memfs_dirmap_find(const struct memfs_dirmap *map,
                                       const char *name, size_t name_len)
{
    struct memfs_dirent *e = map->root;
    struct key key;

    if (!make_key(map, name, name_len, &key))
        return NULL;
    while (e) {
        int c = key_compare(&key, e);
        if (c == 0)
            return e;
        e = c < 0 ? e->left : e->right;
    }
    return NULL;
}

struct memfs_dirent *memfs_dirmap_first_after(const struct memfs_dirmap *map,
                                              const char *name,
                                              size_t name_len)
{
    struct memfs_dirent *e = map->root, *best = NULL;
    struct key key;

    if (name && !make_key(map, name, name_len, &key))
        return NULL;
    /* Walk down remembering the last node we went left at: that is the
     * smallest name seen so far that is still greater than the marker. */
    while (e) {
        if (!name || key_compare(&key, e) < 0) {
            best = e;
            e = e->left;
        } else {
            e = e->right;
        }
    }
    return best;
}

static struct memfs_dirent *insert_below(const struct memfs_dirmap *map,
                                         struct memfs_dirent *e,
                                         struct memfs_dirent *entry)
{
    if (!e)
        return entry;
    if (entry_compare(map, entry, e) < 0)
        e->left = insert_below(map, e->left, entry);
    else
        e->right = insert_below(map, e->right, entry);
    return rebalance(e);
}

void memfs_dirmap_insert(struct memfs_dirmap *map, struct memfs_dirent *entry)
{
    entry->left = entry->right = NULL;
    entry->height = 1;
    map->root = insert_below(map, map->root, entry);
    map->count++;
}

/* Detach the leftmost entry of subtree e into *min; return the new root. */
static struct memfs_dirent *detach_min(struct memfs_dirent *e,
                                       struct memfs_dirent **min)
{
    if (!e->left) {
        *min = e;
        return e->right;
    }
    e->left = detach_min(e->left, min);
    return rebalance(e);
}

static struct memfs_dirent *remove_below(struct memfs_dirent *e,
                                         const struct key *key,
                                         struct memfs_dirent **removed)
{
    struct memfs_dirent *successor, *right;
    int c;

    if (!e)
        return NULL;
    c = key_compare(key, e);
    if (c < 0) {
        e->left = remove_below(e->left, key, removed);
    } else if (c > 0) {
        e->right = remove_below(e->right, key, removed);
    } else {
        *removed = e;
        if (!e->left || !e->right)
            return e->left ? e->left : e->right;
        /* Two children: the in-order successor takes e's place. */
        right = detach_min(e->right, &successor);
        successor->left = e->left;
        successor->right = right;
        e = successor;
    }
    return rebalance(e);
}

struct memfs_dirent *memfs_dirmap_remove(struct memfs_dirmap *map,
                                         const char *name, size_t name_len)
{
    struct memfs_dirent *removed = NULL;
    struct key key;

    if (!make_key(map, name, name_len, &key))
        return NULL;
    map->root = remove_below(map->root, &key, &removed);
    if (removed) {
        map->count--;
        removed->left = removed->right = NULL;
    }
    return removed;
}

static void free_below(struct memfs_dirent *e)
{
    while (e) {
        struct memfs_dirent *right = e->right;
        free_below(e->left);
        free(e);
        e = right;
    }
}

void memfs_dirmap_clear(struct memfs_dirmap *map)
{
    free_below(map->root);
    map->root = NULL;
    map->count = 0;
}

/* Height of subtree e if it is a sound AVL tree whose names lie strictly
 * between lo and hi (either may be NULL: unbounded), else -1. Adds the
 * subtree's size to *count. */
static int validate_below(const struct memfs_dirmap *map,
                          const struct memfs_dirent *e,
                          const struct memfs_dirent *lo,
                          const struct memfs_dirent *hi, size_t *count)
{
    int l, r;

    if (!e)
        return 0;
    if (lo && entry_compare(map, lo, e) >= 0)
        return -1;
    if (hi && entry_compare(map, e, hi) >= 0)
        return -1;
    l = validate_below(map, e->left, lo, e, count);
    r = validate_below(map, e->right, e, hi, count);
    if (l < 0 || r < 0 || l - r > 1 || r - l > 1)
        return -1;
    if (e->height != 1 + (l > r ? l : r))
        return -1;
    ++*count;
    return e->height;
}

int memfs_dirmap_validate(const struct memfs_dirmap *map)
{
    size_t count = 0;

    if (validate_below(map, map->root, NULL, NULL, &count) < 0)
        return -1;
    return count == map->count ? 0 : -1;
}
