/*
 * handle_shared.c - per_file_context volumes: the one handle per node that
 * every open of the file shares.
 *
 * On such a volume fsp answers OPEN and OPENDIR with ENOSYS, so the kernel
 * stops sending them and names no handle (fh 0) in READ, WRITE, READDIR,
 * FSYNC, ... . Those requests still need what a handle holds: the file
 * context (here the node's meta context), the READDIR resume names and the
 * one-listing-at-a-time flag, and the pins of requests completed later.
 * The node owns its shared handle and frees it with itself; the handle
 * takes no node reference (that would keep the node forever), but each
 * pin of it does, so a request completed after the kernel forgot the
 * node still finds its context open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "fs_internal.h"

static struct fsp_handle *new_shared(struct fsp_node *node, void *ctx)
{
    struct fsp_handle *h = calloc(1, sizeof *h);

    if (!h)
        return NULL;
    h->ctx = ctx;
    h->node = node;
    /* Any open(2) mode may use it; O_APPEND comes with each WRITE. */
    h->flags = node->is_dir ? O_RDONLY : O_RDWR;
    h->is_dir = node->is_dir != 0;
    h->shared = true;
    pthread_mutex_init(&h->dir_lock, NULL);
    pthread_cond_init(&h->dir_cond, NULL);
    return h;
}

void fsp_handle_free_shared(struct fsp_handle *h)
{
    if (!h)
        return;
    pthread_cond_destroy(&h->dir_cond);
    pthread_mutex_destroy(&h->dir_lock);
    free(h->dir_names);
    free(h->dir_name_at);
    free(h);
}

int fsp_handle_shared(struct fsp_fs *fs, struct fsp_node *node,
                      struct fsp_handle **h)
{
    struct fsp_handle *fresh;
    void *ctx;
    int err;

    *h = NULL;
    pthread_mutex_lock(&fs->nodes.lock);
    *h = node->shared;
    pthread_mutex_unlock(&fs->nodes.lock);
    if (*h)
        return 0;
    err = fsp_node_meta_ctx(fs, node, &ctx);
    if (err)
        return err;
    fresh = new_shared(node, ctx);
    if (!fresh)
        return -ENOMEM;
    /* Another request may have made one meanwhile: keep the first. */
    pthread_mutex_lock(&fs->nodes.lock);
    if (!node->shared) {
        node->shared = fresh;
        fresh = NULL;
    }
    *h = node->shared;
    pthread_mutex_unlock(&fs->nodes.lock);
    fsp_handle_free_shared(fresh);
    return 0;
}

int fsp_request_handle(struct fsp_fs *fs, uint64_t nodeid, uint64_t fh,
                       struct fsp_handle **h)
{
    struct fsp_node *node;
    int err;

    *h = NULL;
    if (fh != 0 || !fs->params.per_file_context) {
        *h = fsp_handle_get(fs, fh);
        return *h ? 0 : -EBADF;
    }
    node = fsp_node_get(fs, nodeid);
    if (!node)
        return -ESTALE;
    err = fsp_handle_shared(fs, node, h);
    /* The kernel has the file open, so it keeps its lookup of the node
     * (and the node with its handle) until this request is answered. */
    fsp_node_put(fs, node);
    return err;
}
