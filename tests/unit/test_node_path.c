/*
 * test_node_path.c - the paths the node table builds, without a kernel:
 * a chain of directories far deeper than PATH_MAX, entered into a
 * volume's table the way LOOKUP enters them (fsp_node_lookup_child), and
 * the paths fsp_node_path() makes of it, across renames and unlinks.
 * PATH_MAX limits one system call's string, not a tree: the table must
 * build any path, refusing only a name longer than NAME_MAX.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "expect.h"
#include "fs_internal.h"

#define DEPTH 40
#define NAME_LEN 200

_Static_assert(DEPTH * (NAME_LEN + 1) > PATH_MAX,
               "the chain's paths are longer than PATH_MAX");

/* No callback is called: the table alone is under test. */
static const fsp_fs_interface_t no_callbacks;

/* A volume and the chain /A01-.../A02-.../.../A40-...: node[0] is the
 * root, node[i] level i (referenced). */
struct chain {
    fsp_fs_t *fs;
    struct fsp_node *node[DEPTH + 1];
    char name[DEPTH + 1][NAME_LEN + 1];
};

static void chain_start(struct chain *c)
{
    fsp_file_info_t info = {.mode = S_IFDIR | 0755, .nlink = 2};
    fsp_volume_params_t params;

    memset(c, 0, sizeof *c);
    memset(&params, 0, sizeof params);
    params.fs_name = "unitfs";
    ASSERT_EQ(fsp_fs_create(&params, &no_callbacks, NULL, &c->fs), 0);
    c->node[0] = c->fs->nodes.root;
    for (int i = 1; i <= DEPTH; i++) {
        snprintf(c->name[i], 5, "A%02d-", i);
        memset(c->name[i] + 4, 'a' + i % 26, NAME_LEN - 4);
        c->name[i][NAME_LEN] = '\0';
        info.index_number = 100 + (uint64_t)i;
        c->node[i] = fsp_node_lookup_child(c->fs, c->node[i - 1], c->name[i],
                                           &info, false);
        ASSERT_TRUE(c->node[i] != NULL);
    }
}

static void chain_stop(struct chain *c)
{
    for (int i = DEPTH; i >= 1; i--)
        fsp_node_put(c->fs, c->node[i]);
    fsp_fs_delete(c->fs);
}

/* "/" and the names of levels @from to @to joined by '/', then "/@last"
 * if @last is not NULL: the path the table should build. */
static char *spelled(const struct chain *c, int from, int to, const char *last)
{
    size_t size = (size_t)(to - from + 2) * (NAME_LEN + 1) + 2 +
                  (last ? strlen(last) : 0);
    char *p = malloc(size);
    size_t used = 0;

    for (int i = from; i <= to; i++)
        used += (size_t)snprintf(p + used, size - used, "/%s", c->name[i]);
    if (last)
        snprintf(p + used, size - used, "/%s", last);
    return p;
}

/* Expect fsp_node_path(@node, @name) to be @want (which it frees). */
static void expect_path(fsp_fs_t *fs, struct fsp_node *node, const char *name,
                        char *want)
{
    int err = -1;
    char *got = fsp_node_path(fs, node, name, &err);

    EXPECT_EQ(err, 0);
    EXPECT_TRUE(got != NULL);
    if (got) {
        EXPECT_EQ(strlen(got), strlen(want));
        EXPECT_STREQ(got, want);
    }
    free(got);
    free(want);
}

static void a_path_longer_than_path_max_is_built_whole(void)
{
    struct chain c;

    chain_start(&c);
    expect_path(c.fs, c.node[DEPTH], NULL, spelled(&c, 1, DEPTH, NULL));
    expect_path(c.fs, c.node[DEPTH], "file", spelled(&c, 1, DEPTH, "file"));
    /* The lengths the kernel's own limit falls between. */
    expect_path(c.fs, c.node[20], NULL, spelled(&c, 1, 20, NULL));
    expect_path(c.fs, c.node[21], NULL, spelled(&c, 1, 21, NULL));
    chain_stop(&c);
}

static void the_root_is_a_slash_and_a_name_in_it_one_component(void)
{
    struct chain c;
    int err = -1;
    char *got;

    chain_start(&c);
    got = fsp_node_path(c.fs, c.node[0], NULL, &err);
    EXPECT_EQ(err, 0);
    EXPECT_STREQ(got ? got : "(null)", "/");
    free(got);
    got = fsp_node_path(c.fs, c.node[0], "x", &err);
    EXPECT_EQ(err, 0);
    EXPECT_STREQ(got ? got : "(null)", "/x");
    free(got);
    chain_stop(&c);
}

static void a_name_longer_than_name_max_is_enametoolong_at_any_depth(void)
{
    char n255[256], n256[257], *got;
    struct chain c;
    int err = 0;

    memset(n255, 'x', 255);
    n255[255] = '\0';
    memset(n256, 'y', 256);
    n256[256] = '\0';
    chain_start(&c);
    expect_path(c.fs, c.node[DEPTH], n255, spelled(&c, 1, DEPTH, n255));
    got = fsp_node_path(c.fs, c.node[DEPTH], n256, &err);
    EXPECT_TRUE(got == NULL);
    EXPECT_EQ(err, -ENAMETOOLONG);
    free(got);
    got = fsp_node_path(c.fs, c.node[0], n256, &err);
    EXPECT_TRUE(got == NULL);
    EXPECT_EQ(err, -ENAMETOOLONG);
    free(got);
    chain_stop(&c);
}

static void a_renamed_ancestor_renames_every_path_below_it(void)
{
    struct chain c;
    char *want;
    size_t used;

    chain_start(&c);
    /* Level 10 renamed in place: "/A01.../moved/A11.../A40...". */
    EXPECT_EQ(fsp_node_renamed(c.fs, c.node[9], c.name[10], c.node[9],
                               "moved", 0), 0);
    want = malloc((size_t)(DEPTH + 1) * (NAME_LEN + 1) + 16);
    used = 0;
    for (int i = 1; i <= DEPTH; i++)
        used += (size_t)sprintf(want + used, "/%s",
                                i == 10 ? "moved" : c.name[i]);
    expect_path(c.fs, c.node[DEPTH], NULL, want);
    /* Level 30 moved up to the root: its path starts there. */
    EXPECT_EQ(fsp_node_renamed(c.fs, c.node[29], c.name[30], c.node[0],
                               c.name[30], 0), 0);
    expect_path(c.fs, c.node[DEPTH], "f", spelled(&c, 30, DEPTH, "f"));
    chain_stop(&c);
}

static void an_unlinked_ancestor_leaves_the_nodes_below_without_a_path(void)
{
    struct chain c;
    int err = 0;
    char *got;

    chain_start(&c);
    fsp_node_unlinked(c.fs, c.node[19], c.name[20]);
    got = fsp_node_path(c.fs, c.node[DEPTH], NULL, &err);
    EXPECT_TRUE(got == NULL);
    EXPECT_EQ(err, -ENOENT);
    free(got);
    /* Above it the paths are whole still. */
    expect_path(c.fs, c.node[19], "f", spelled(&c, 1, 19, "f"));
    chain_stop(&c);
}

/* Notifications name a file by path: the table finds a deep one. */
static void a_deep_path_walks_to_its_node_for_notifications(void)
{
    struct fsp_cached_path found;
    struct chain c;
    char *path;

    chain_start(&c);
    path = spelled(&c, 1, DEPTH, NULL);
    EXPECT_EQ(fsp_node_cached_path(c.fs, path, &found), 0);
    EXPECT_EQ(found.node, c.node[DEPTH]->nodeid);
    EXPECT_EQ(found.parent, c.node[DEPTH - 1]->nodeid);
    EXPECT_STREQ(found.name, c.name[DEPTH]);
    free(path);
    path = spelled(&c, 1, DEPTH, "absent");
    EXPECT_EQ(fsp_node_cached_path(c.fs, path, &found), 0);
    EXPECT_EQ(found.node, 0);
    EXPECT_EQ(found.parent, c.node[DEPTH]->nodeid);
    free(path);
    chain_stop(&c);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(a_path_longer_than_path_max_is_built_whole),
    EXPECT_CASE(the_root_is_a_slash_and_a_name_in_it_one_component),
    EXPECT_CASE(a_name_longer_than_name_max_is_enametoolong_at_any_depth),
    EXPECT_CASE(a_renamed_ancestor_renames_every_path_below_it),
    EXPECT_CASE(an_unlinked_ancestor_leaves_the_nodes_below_without_a_path),
    EXPECT_CASE(a_deep_path_walks_to_its_node_for_notifications),
};

int main(void)
{
    return expect_run("test_node_path", cases, sizeof cases / sizeof *cases);
}
