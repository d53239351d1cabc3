/*
 * test_volume.c - the volume layer and the dispatcher, without a kernel:
 * requests are built in memory, served by fsp_dispatch_request() on a
 * worker whose channel is a fake that records each reply, and the
 * volume's tables are inspected afterwards. No /dev/fuse, no mount.
 *
 * The fake channel comes in the two kinds the real ones are: "dev", whose
 * send() says at once that the kernel refused a reply (as /dev/fuse's
 * write says ENOENT), and "ring", whose send() always accepts and whose
 * refusal comes later (as an io_uring commit's completion does), through
 * fsp_dispatch_undelivered().
 *
 * The file system under test is a table of names in this file: files
 * "a" and "b" and directory "d" in the root, served through the public
 * interface (fsp.h), with a read() that can be told to return
 * FSP_PENDING, and lock and poll callbacks that note what they are
 * asked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "expect.h"
#include "fake_channel.h"
#include "fuse_msg.h"
#include "pending.h"

/* ------------------------------------------------------ fake channel */

#define MAX_REPLIES 16

struct reply {
    struct fuse_out_header hdr;
    unsigned char body[4096];
    size_t body_size;
};

struct fake_channel {
    struct fsp_channel base;
    pthread_mutex_t lock;
    struct reply replies[MAX_REPLIES];
    int count;
    int refuse;             /* dev kind: send() answers this error */
};

static int fake_send(struct fsp_channel *ch, const struct iovec *iov,
                     int iovcnt)
{
    struct fake_channel *fc = (struct fake_channel *)ch;
    struct reply *r;
    int err;

    pthread_mutex_lock(&fc->lock);
    r = &fc->replies[fc->count < MAX_REPLIES ? fc->count : MAX_REPLIES - 1];
    memset(r, 0, sizeof *r);
    memcpy(&r->hdr, iov[0].iov_base, sizeof r->hdr);
    for (int i = 1; i < iovcnt; i++) {
        size_t n = iov[i].iov_len;

        if (r->body_size + n > sizeof r->body)
            n = sizeof r->body - r->body_size;
        memcpy(r->body + r->body_size, iov[i].iov_base, n);
        r->body_size += n;
    }
    fc->count++;
    err = fc->refuse;
    pthread_mutex_unlock(&fc->lock);
    return err;
}

static const struct fsp_channel_ops fake_ops = {
    .kind = "fake",
    .send = fake_send,
    .detach = fake_channel_detach,
    .free_detached = fake_channel_free_detached,
    .destroy = fake_channel_destroy,
};

/* -------------------------------------------------- the file system */

struct file {
    const char *name;
    uint32_t mode;
    uint64_t ino;
};

static const struct file files[] = {
    { "a", S_IFREG | 0644, 10 },
    { "b", S_IFREG | 0644, 11 },
    { "d", S_IFDIR | 0755, 12 },
};

struct testfs {
    int opens, closes, lookups;
    bool pends;             /* every callback below answers later */
    int pended;             /* callbacks that returned FSP_PENDING */
    const char *last_call;  /* the callback that pended last */
    bool read_pends;
    uint64_t pending_hint;
    bool respond_early;     /* read() responds before it returns */
    fsp_fs_t *fs;
    /* set_lock() calls: the last one's lock and flags */
    int set_locks;
    fsp_lock_t last_lock;
    unsigned last_lock_flags;
    uint64_t poll_kh;       /* poll(): the kernel's handle it was given */
    int ioctls;             /* ioctl() calls, and the last one's command */
    uint32_t ioctl_cmd;
};

static struct testfs tfs;

static const struct file *file_at(const char *path)
{
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (path[0] == '/' && strcmp(path + 1, files[i].name) == 0)
            return &files[i];
    return NULL;
}

static void fill(const struct file *f, fsp_file_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->mode = f ? f->mode : S_IFDIR | 0755;
    info->index_number = f ? f->ino : 1;
    info->nlink = 1;
    info->size = 5;
}

/* With tfs.pends: note the call and answer later. */
static bool pend(const char *call)
{
    if (!tfs.pends)
        return false;
    tfs.pending_hint = fsp_fs_operation_context()->hint;
    tfs.pended++;
    tfs.last_call = call;
    return true;
}

static int t_by_name(fsp_fs_t *fs, const char *path, fsp_file_info_t *info)
{
    const struct file *f = file_at(path);

    (void)fs;
    tfs.lookups++;
    if (pend("get_file_info_by_name"))
        return FSP_PENDING;
    if (!f && strcmp(path, "/") != 0)
        return -ENOENT;
    fill(f, info);
    return 0;
}

static int t_open(fsp_fs_t *fs, const char *path, int flags, void **ctx,
                  fsp_file_info_t *info)
{
    const struct file *f = file_at(path);

    (void)fs;
    (void)flags;
    if (!f && strcmp(path, "/") != 0)
        return -ENOENT;
    fill(f, info);
    *ctx = (void *)(f ? f : &files[0]);
    tfs.opens++;
    return 0;
}

static int t_create(fsp_fs_t *fs, const char *path,
                    const fsp_create_info_t *ci, void **ctx,
                    fsp_file_info_t *info)
{
    (void)fs;
    (void)path;
    if (pend("create"))
        return FSP_PENDING;
    memset(info, 0, sizeof *info);
    info->mode = ci->mode;
    info->index_number = 99;
    info->nlink = 1;
    *ctx = (void *)&files[1];
    tfs.opens++;
    return 0;
}

static void t_close(fsp_fs_t *fs, void *ctx)
{
    (void)fs;
    (void)ctx;
    tfs.closes++;
}

static int t_get_info(fsp_fs_t *fs, void *ctx, fsp_file_info_t *info)
{
    (void)fs;
    fill(ctx, info);
    return 0;
}

static int t_set_size(fsp_fs_t *fs, void *ctx, uint64_t size,
                      fsp_file_info_t *info)
{
    (void)fs;
    (void)size;
    if (pend("set_file_size"))
        return FSP_PENDING;
    fill(ctx, info);
    return 0;
}

static int t_set_basic(fsp_fs_t *fs, void *ctx, uint32_t valid,
                       const fsp_file_info_t *new_info, fsp_file_info_t *info)
{
    (void)fs;
    (void)valid;
    (void)new_info;
    if (pend("set_basic_info"))
        return FSP_PENDING;
    fill(ctx, info);
    return 0;
}

static int t_volume_info(fsp_fs_t *fs, fsp_volume_info_t *vi)
{
    (void)fs;
    if (pend("get_volume_info"))
        return FSP_PENDING;
    vi->total_size = 1 << 20;
    return 0;
}

static int t_read(fsp_fs_t *fs, void *ctx, void *buf, uint64_t offset,
                  size_t length, size_t *done)
{
    const fsp_operation_context_t *oc = fsp_fs_operation_context();

    (void)ctx;
    (void)offset;
    if (!tfs.read_pends) {
        memcpy(buf, "hello", length < 5 ? length : 5);
        *done = length < 5 ? length : 5;
        return 0;
    }
    memcpy(buf, "later", length < 5 ? length : 5);
    tfs.pending_hint = oc->hint;
    if (tfs.respond_early) {
        fsp_response_t rsp = { .hint = oc->hint, .bytes_transferred = 5 };

        EXPECT_EQ(fsp_fs_send_response(fs, &rsp), 0);
    }
    return FSP_PENDING;
}

static int t_read_dir(fsp_fs_t *fs, void *ctx, const char *marker,
                      fsp_dir_buffer_t *db)
{
    fsp_file_info_t info;
    bool past = marker == NULL;

    (void)fs;
    (void)ctx;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!past) {
            past = strcmp(marker, files[i].name) == 0;
            continue;
        }
        fill(&files[i], &info);
        if (!fsp_dir_buffer_add(db, files[i].name, &info))
            break;
    }
    return 0;
}

/* ---- seek, copy_file_range, create_tmpfile, allocate ---- */

/* What the callbacks below are told to answer, and what they were asked. */
static struct {
    uint64_t seek_result;       /* seek's answer */
    int seek_return;            /* and its return */
    size_t copy_extra;          /* copy_file_range copies length + this */
    bool copy_pends;
    size_t copy_length;         /* the length it was asked for */
    int alloc_mode;             /* allocate's mode, -1 before a call */
    uint64_t btime;             /* get_file_info's btime (seconds) */
    int errors_logged;          /* lines at FSP_LOG_ERROR */
    int seeks;                  /* seek calls */
} file_ops;

static int t_seek(fsp_fs_t *fs, void *ctx, uint64_t offset, int whence,
                  uint64_t *result)
{
    (void)fs;
    (void)ctx;
    (void)offset;
    (void)whence;
    file_ops.seeks++;
    *result = file_ops.seek_result;
    return file_ops.seek_return;
}

static int t_copy(fsp_fs_t *fs, void *src, uint64_t src_offset, void *dst,
                  uint64_t dst_offset, size_t length, uint32_t flags,
                  size_t *copied)
{
    (void)fs;
    (void)src;
    (void)src_offset;
    (void)dst;
    (void)dst_offset;
    (void)flags;
    file_ops.copy_length = length;
    if (file_ops.copy_pends) {
        tfs.pending_hint = fsp_fs_operation_context()->hint;
        return FSP_PENDING;
    }
    *copied = length + file_ops.copy_extra;
    return 0;
}

static int t_tmpfile(fsp_fs_t *fs, const char *dir, const fsp_create_info_t *ci,
                     void **ctx, fsp_file_info_t *info)
{
    (void)fs;
    (void)dir;
    memset(info, 0, sizeof *info);
    info->mode = ci->mode;
    info->index_number = 77;
    *ctx = (void *)&files[1];
    tfs.opens++;
    return 0;
}

static int t_allocate(fsp_fs_t *fs, void *ctx, int mode, uint64_t offset,
                      uint64_t length)
{
    (void)fs;
    (void)ctx;
    (void)offset;
    (void)length;
    file_ops.alloc_mode = mode;
    return 0;
}

static int t_link(fsp_fs_t *fs, void *ctx, const char *path,
                  fsp_file_info_t *info)
{
    (void)fs;
    (void)path;
    fill(ctx, info);
    info->index_number = 77;
    return 0;
}

static int t_get_info_btime(fsp_fs_t *fs, void *ctx, fsp_file_info_t *info)
{
    int err = t_get_info(fs, ctx, info);

    info->btime.tv_sec = (time_t)file_ops.btime;
    return err;
}

/* A lock that must wait pends (the waiting case); others are granted. */
static int t_set_lock(fsp_fs_t *fs, void *ctx, const fsp_lock_t *lock,
                      unsigned flags)
{
    (void)fs;
    (void)ctx;
    tfs.set_locks++;
    tfs.last_lock = *lock;
    tfs.last_lock_flags = flags;
    if (flags & FSP_LOCK_WAIT) {
        tfs.pending_hint = fsp_fs_operation_context()->hint;
        tfs.last_call = "set_lock";
        return FSP_PENDING;
    }
    return 0;
}

/* Everything conflicts with a read lock of pid 77 on [0, 9]. */
static int t_get_lock(fsp_fs_t *fs, void *ctx, const fsp_lock_t *lock,
                      fsp_lock_t *conflict)
{
    (void)fs;
    (void)ctx;
    (void)lock;
    conflict->type = F_RDLCK;
    conflict->start = 0;
    conflict->end = 9;
    conflict->pid = 77;
    return 0;
}

static int t_poll(fsp_fs_t *fs, void *ctx, uint64_t kh, uint32_t events,
                  uint32_t *revents)
{
    (void)fs;
    (void)ctx;
    tfs.poll_kh = kh;
    *revents = events & POLLIN;
    return 0;
}

/* Writes "flag" back for any command that has no input. */
static int t_ioctl(fsp_fs_t *fs, void *ctx, uint32_t cmd, const void *in,
                   size_t in_size, void *out, size_t out_size, size_t *done)
{
    (void)fs;
    (void)ctx;
    tfs.ioctls++;
    tfs.ioctl_cmd = cmd;
    if (in || in_size)
        return -EINVAL;
    if (out && out_size >= 4) {
        memcpy(out, "flag", 4);
        *done = 4;
    }
    return 0;
}

static const fsp_fs_interface_t iface = {
    .get_file_info_by_name = t_by_name,
    .open = t_open,
    .create = t_create,
    .close = t_close,
    .get_file_info = t_get_info_btime, /* t_get_info, and file_ops.btime */
    .read = t_read,
    .read_directory = t_read_dir,
    .set_file_size = t_set_size,
    .set_basic_info = t_set_basic,
    .get_volume_info = t_volume_info,
    /* lseek, copy_file_range, O_TMPFILE, STATX */
    .seek = t_seek,
    .copy_file_range = t_copy,
    .create_tmpfile = t_tmpfile,
    .allocate = t_allocate,
    .link = t_link,
    .get_lock = t_get_lock,
    .set_lock = t_set_lock,
    .poll = t_poll,
    .ioctl = t_ioctl,
};

/* --------------------------------------------------------- fixture */

struct bench {
    fsp_fs_t *fs;
    struct fake_channel ch;
    struct fsp_worker w;
};

static void bench_start(struct bench *b, bool per_file_context)
{
    fsp_volume_params_t params;

    memset(b, 0, sizeof *b);
    memset(&tfs, 0, sizeof tfs);
    memset(&params, 0, sizeof params);
    params.fs_name = "unitfs";
    params.per_file_context = per_file_context;
    params.file_info_timeout_ms = 1000;
    params.dir_info_timeout_ms = 1000;
    EXPECT_EQ(fsp_fs_create(&params, &iface, NULL, &b->fs), 0);
    tfs.fs = b->fs;
    pthread_mutex_init(&b->ch.lock, NULL);
    b->ch.base.ops = &fake_ops;
    b->w.fs = b->fs;
    b->w.ch = &b->ch.base;
    b->w.reply_buf_size = 64 * 1024;
    b->w.reply_buf = malloc(b->w.reply_buf_size);
}

static void bench_stop(struct bench *b)
{
    fsp_pending_free_spare(&b->w);
    free(b->w.reply_buf);
    fsp_fs_delete(b->fs);
    pthread_mutex_destroy(&b->ch.lock);
}

static uint64_t next_unique = 100;

/* Serve one request: @m, with a fresh unique. Returns the unique. */
static uint64_t serve(struct bench *b, struct fuse_msg *m)
{
    uint64_t unique = next_unique += 2;

    MSG_HDR(m)->unique = unique;
    fsp_dispatch_request(&b->w, m->words, msg_end(m));
    return unique;
}

static uint64_t lookup(struct bench *b, uint64_t parent, const char *name)
{
    struct fuse_msg m;

    msg_start(&m, FUSE_LOOKUP, parent);
    msg_str(&m, name);
    return serve(b, &m);
}

static const struct reply *last_reply(struct bench *b)
{
    return b->ch.count ? &b->ch.replies[b->ch.count - 1] : NULL;
}

static uint64_t entry_node(const struct reply *r)
{
    struct fuse_entry_out e;

    memcpy(&e, r->body, sizeof e);
    return e.nodeid;
}

static uint64_t open_fh(const struct reply *r, size_t at)
{
    struct fuse_open_out o;

    memcpy(&o, r->body + at, sizeof o);
    return o.fh;
}

/* Serve a request of @opcode on @node whose body is @arg alone. */
static uint64_t serve_arg(struct bench *b, uint32_t opcode, uint64_t node,
                          const void *arg, size_t size)
{
    struct fuse_msg m;

    msg_start(&m, opcode, node);
    msg_put(&m, arg, size);
    return serve(b, &m);
}

static void forget(struct bench *b, uint64_t node, uint64_t n)
{
    struct fuse_forget_in in = { .nlookup = n };

    serve_arg(b, FUSE_FORGET, node, &in, sizeof in);
}

static void open_file(struct bench *b, uint64_t node, uint32_t opcode)
{
    struct fuse_open_in in = { .flags = O_RDONLY };

    serve_arg(b, opcode, node, &in, sizeof in);
}

static uint64_t read_file(struct bench *b, uint64_t node, uint64_t fh)
{
    struct fuse_read_in in = { .fh = fh, .size = 4096 };

    return serve_arg(b, FUSE_READ, node, &in, sizeof in);
}

/* ----------------------------------------------------------- cases */

static void each_lookup_is_counted_until_forgotten(void)
{
    struct bench b;
    uint64_t node;

    bench_start(&b, false);
    lookup(&b, FUSE_ROOT_ID, "a");
    lookup(&b, FUSE_ROOT_ID, "a");
    EXPECT_EQ(b.ch.count, 2);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    node = entry_node(last_reply(&b));
    EXPECT_TRUE(node != 0 && node != FUSE_ROOT_ID);
    EXPECT_EQ(b.fs->nodes.count, 2);
    forget(&b, node, 1);
    EXPECT_EQ(b.fs->nodes.count, 2);     /* one lookup left */
    forget(&b, node, 1);
    EXPECT_EQ(b.fs->nodes.count, 1);     /* the root alone */
    EXPECT_EQ(b.ch.count, 2);            /* FORGET takes no reply */
    bench_stop(&b);
}

static void a_name_that_is_not_there_is_answered_enoent(void)
{
    struct bench b;

    bench_start(&b, false);
    lookup(&b, FUSE_ROOT_ID, "nothing");
    EXPECT_EQ(b.ch.count, 1);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOENT);
    EXPECT_EQ(last_reply(&b)->body_size, 0);
    EXPECT_EQ(b.fs->nodes.count, 1);
    lookup(&b, 777, "a");               /* a node the table never had */
    EXPECT_EQ(last_reply(&b)->hdr.error, -ESTALE);
    bench_stop(&b);
}

static void a_lookup_the_kernel_refused_is_not_counted_dev(void)
{
    struct bench b;

    bench_start(&b, false);
    b.ch.refuse = -ENOENT;              /* the caller was interrupted */
    lookup(&b, FUSE_ROOT_ID, "a");
    EXPECT_EQ(b.ch.count, 1);
    EXPECT_EQ(b.fs->nodes.count, 1);     /* no FORGET will come for it */
    bench_stop(&b);
}

static void a_lookup_the_ring_refused_later_is_not_counted(void)
{
    struct bench b;
    const struct reply *r;

    bench_start(&b, false);
    lookup(&b, FUSE_ROOT_ID, "a");
    EXPECT_EQ(b.fs->nodes.count, 2);
    r = last_reply(&b);
    /* the commit's completion, long after the transaction */
    fsp_dispatch_undelivered(b.fs, FUSE_LOOKUP, r->body, r->body_size);
    EXPECT_EQ(b.fs->nodes.count, 1);
    bench_stop(&b);
}

static void an_open_the_kernel_refused_is_closed(void)
{
    for (int kind = 0; kind < 2; kind++) {
        struct bench b;
        uint64_t node;

        bench_start(&b, false);
        lookup(&b, FUSE_ROOT_ID, "a");
        node = entry_node(last_reply(&b));
        b.ch.refuse = kind == 0 ? -ENOENT : 0;
        open_file(&b, node, FUSE_OPEN);
        EXPECT_EQ(last_reply(&b)->hdr.error, 0);
        EXPECT_TRUE(open_fh(last_reply(&b), 0) != 0);
        if (kind == 1) {
            EXPECT_EQ(b.fs->handles.count, 1);
            fsp_dispatch_undelivered(b.fs, FUSE_OPEN, last_reply(&b)->body,
                                     last_reply(&b)->body_size);
        }
        EXPECT_EQ(b.fs->handles.count, 0);
        EXPECT_EQ(tfs.opens, 1);
        EXPECT_EQ(tfs.closes, 1);
        bench_stop(&b);
    }
}

static void a_create_the_kernel_refused_leaves_neither_handle_nor_node(void)
{
    struct bench b;
    struct fuse_msg m;
    struct fuse_create_in in = { .flags = O_RDWR, .mode = 0644 };

    bench_start(&b, false);
    b.ch.refuse = -ENOENT;
    msg_start(&m, FUSE_CREATE, FUSE_ROOT_ID);
    msg_put(&m, &in, sizeof in);
    msg_str(&m, "new");
    serve(&b, &m);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_EQ(last_reply(&b)->body_size, sizeof(struct fuse_entry_out) +
                                             sizeof(struct fuse_open_out));
    EXPECT_EQ(b.fs->handles.count, 0);
    EXPECT_EQ(b.fs->nodes.count, 1);
    EXPECT_EQ(tfs.closes, 1);
    bench_stop(&b);
}

static void a_listing_the_kernel_refused_gives_back_its_lookups(void)
{
    struct bench b;
    struct fuse_msg m;
    struct fuse_read_in in = { .size = 4096 };
    uint64_t fh;

    bench_start(&b, false);
    open_file(&b, FUSE_ROOT_ID, FUSE_OPENDIR);
    fh = open_fh(last_reply(&b), 0);
    EXPECT_TRUE(fh != 0);
    b.ch.refuse = -ENOENT;
    in.fh = fh;
    msg_start(&m, FUSE_READDIRPLUS, FUSE_ROOT_ID);
    msg_put(&m, &in, sizeof in);
    serve(&b, &m);
    EXPECT_TRUE(last_reply(&b)->body_size > 0);   /* ".", "..", a, b, d */
    EXPECT_EQ(b.fs->nodes.count, 1);         /* a, b and d forgotten */
    bench_stop(&b);
}

static void a_read_answered_later_is_answered_once(void)
{
    struct bench b;
    fsp_response_t rsp;
    uint64_t node, unique;

    bench_start(&b, true);              /* per_file_context: fh 0 */
    lookup(&b, FUSE_ROOT_ID, "a");
    node = entry_node(last_reply(&b));
    tfs.read_pends = true;
    unique = read_file(&b, node, 0);
    EXPECT_EQ(b.ch.count, 1);            /* nothing yet */
    EXPECT_EQ(tfs.pending_hint, unique);
    memset(&rsp, 0, sizeof rsp);
    rsp.hint = unique;
    rsp.bytes_transferred = 5;
    EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), 0);
    EXPECT_EQ(b.ch.count, 2);
    EXPECT_EQ(last_reply(&b)->hdr.unique, unique);
    EXPECT_EQ(last_reply(&b)->body_size, 5);
    EXPECT_TRUE(memcmp(last_reply(&b)->body, "later", 5) == 0);
    EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), -ENOENT);
    EXPECT_EQ(b.ch.count, 2);
    bench_stop(&b);
}

static void a_response_before_the_callback_returns_is_answered_once(void)
{
    struct bench b;
    uint64_t node;

    bench_start(&b, true);
    lookup(&b, FUSE_ROOT_ID, "a");
    node = entry_node(last_reply(&b));
    tfs.read_pends = true;
    tfs.respond_early = true;
    read_file(&b, node, 0);
    EXPECT_EQ(b.ch.count, 2);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_EQ(last_reply(&b)->body_size, 5);
    bench_stop(&b);
}

static void interrupt(struct bench *b, uint64_t target)
{
    struct fuse_interrupt_in in = { .unique = target };

    serve_arg(b, FUSE_INTERRUPT, 0, &in, sizeof in);
}

static void an_interrupted_pending_read_is_answered_eintr_at_once(void)
{
    struct bench b;
    fsp_response_t rsp;
    uint64_t node, unique;

    bench_start(&b, true);
    lookup(&b, FUSE_ROOT_ID, "a");
    node = entry_node(last_reply(&b));
    tfs.read_pends = true;
    unique = read_file(&b, node, 0);
    interrupt(&b, unique);
    EXPECT_EQ(b.ch.count, 2);
    EXPECT_EQ(last_reply(&b)->hdr.unique, unique);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EINTR);
    memset(&rsp, 0, sizeof rsp);
    rsp.hint = unique;
    rsp.bytes_transferred = 5;
    EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), -ECANCELED);
    EXPECT_EQ(b.ch.count, 2);            /* the late response is dropped */
    bench_stop(&b);
}

static void an_interrupt_that_overtakes_its_read_still_counts(void)
{
    struct bench b;
    fsp_response_t rsp;
    uint64_t node, unique;

    bench_start(&b, true);
    lookup(&b, FUSE_ROOT_ID, "a");
    node = entry_node(last_reply(&b));
    tfs.read_pends = true;
    /* read by another worker first: the READ after this INTERRUPT */
    interrupt(&b, next_unique + 4);
    EXPECT_EQ(b.ch.count, 1);            /* INTERRUPT takes no reply */
    unique = read_file(&b, node, 0);
    EXPECT_EQ(b.ch.count, 2);
    EXPECT_EQ(last_reply(&b)->hdr.unique, unique);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EINTR);
    memset(&rsp, 0, sizeof rsp);
    rsp.hint = unique;
    EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), -ECANCELED);
    bench_stop(&b);
}

static void handles_are_numbered_apart_and_released_once(void)
{
    struct bench b;
    uint64_t node, fh1, fh2;
    struct fuse_msg m;
    struct fuse_release_in in;

    bench_start(&b, false);
    lookup(&b, FUSE_ROOT_ID, "a");
    node = entry_node(last_reply(&b));
    open_file(&b, node, FUSE_OPEN);
    fh1 = open_fh(last_reply(&b), 0);
    open_file(&b, node, FUSE_OPEN);
    fh2 = open_fh(last_reply(&b), 0);
    EXPECT_TRUE(fh1 != 0 && fh2 != 0 && fh1 != fh2);
    EXPECT_EQ(b.fs->handles.count, 2);
    read_file(&b, node, fh2);
    EXPECT_EQ(last_reply(&b)->body_size, 5);
    memset(&in, 0, sizeof in);
    in.fh = fh1;
    msg_start(&m, FUSE_RELEASE, node);
    msg_put(&m, &in, sizeof in);
    serve(&b, &m);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    serve(&b, &m);                      /* the same fh again */
    EXPECT_EQ(last_reply(&b)->hdr.error, -EBADF);
    read_file(&b, node, fh1);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EBADF);
    EXPECT_EQ(b.fs->handles.count, 1);
    EXPECT_EQ(tfs.closes, 1);
    bench_stop(&b);
}

/* The renamer of the next case: ends the rename a little later. */
static void *end_rename_later(void *arg)
{
    usleep(20000);
    fsp_node_dir_rename_end(arg);
    return NULL;
}

static int racing_by_name(fsp_fs_t *fs, const char *path,
                          fsp_file_info_t *info)
{
    static pthread_t renamer;

    /* The first ask races a directory rename; the rename ends 20 ms
     * later, and LOOKUP must ask again after it. */
    if (tfs.lookups++ == 0) {
        fsp_node_dir_rename_begin(fs);
        pthread_create(&renamer, NULL, end_rename_later, fs);
        pthread_detach(renamer);
        return -ENOENT;
    }
    fill(file_at(path), info);
    return 0;
}

static void a_lookup_raced_by_a_directory_rename_asks_again(void)
{
    struct bench b;

    bench_start(&b, false);
    b.fs->iface.get_file_info_by_name = racing_by_name;
    b.fs->params.negative_timeout_ms = 1000;
    lookup(&b, FUSE_ROOT_ID, "a");
    EXPECT_EQ(tfs.lookups, 2);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_TRUE(entry_node(last_reply(&b)) != 0);     /* not a negative entry */
    bench_stop(&b);
}

static void an_opcode_without_execute_is_answered_enosys(void)
{
    struct bench b;
    struct fuse_msg m;
    struct fuse_lk_in in;

    bench_start(&b, false);
    memset(&in, 0, sizeof in);
    msg_start(&m, FUSE_GETLK, FUSE_ROOT_ID);
    msg_put(&m, &in, sizeof in);
    serve(&b, &m);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    msg_start(&m, 999, FUSE_ROOT_ID);
    serve(&b, &m);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    bench_stop(&b);
}

/* The late response to the callback that pended last, with @info. */
static int respond(struct bench *b, int error, const fsp_file_info_t *info)
{
    fsp_response_t rsp;

    memset(&rsp, 0, sizeof rsp);
    rsp.hint = tfs.pending_hint;
    rsp.error = error;
    if (info)
        rsp.file_info = *info;
    return fsp_fs_send_response(b->fs, &rsp);
}

static void a_lookup_answered_later_counts_its_entry(void)
{
    struct bench b;
    fsp_file_info_t info;
    uint64_t unique;

    bench_start(&b, false);
    tfs.pends = true;
    unique = lookup(&b, FUSE_ROOT_ID, "a");
    EXPECT_EQ(b.ch.count, 0);
    EXPECT_EQ(tfs.pended, 1);
    fill(&files[0], &info);
    EXPECT_EQ(respond(&b, 0, &info), 0);
    EXPECT_EQ(b.ch.count, 1);
    EXPECT_EQ(last_reply(&b)->hdr.unique, unique);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_TRUE(entry_node(last_reply(&b)) != 0);
    EXPECT_EQ(b.fs->nodes.count, 2);
    forget(&b, entry_node(last_reply(&b)), 1);
    EXPECT_EQ(b.fs->nodes.count, 1);
    bench_stop(&b);
}

static void an_interrupted_lookup_answered_later_counts_nothing(void)
{
    struct bench b;
    fsp_file_info_t info;
    uint64_t unique;

    bench_start(&b, false);
    tfs.pends = true;
    unique = lookup(&b, FUSE_ROOT_ID, "a");
    interrupt(&b, unique);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EINTR);
    fill(&files[0], &info);
    EXPECT_EQ(respond(&b, 0, &info), -ECANCELED);
    EXPECT_EQ(b.ch.count, 1);
    EXPECT_EQ(b.fs->nodes.count, 1);     /* the dropped entry undone */
    bench_stop(&b);
}

static void a_create_answered_after_eintr_leaves_nothing_open(void)
{
    struct bench b;
    struct fuse_msg m;
    struct fuse_create_in in = { .flags = O_RDWR, .mode = 0644 };
    fsp_response_t rsp;
    uint64_t unique;

    bench_start(&b, false);
    tfs.pends = true;
    msg_start(&m, FUSE_CREATE, FUSE_ROOT_ID);
    msg_put(&m, &in, sizeof in);
    msg_str(&m, "new");
    unique = serve(&b, &m);
    EXPECT_STREQ(tfs.last_call, "create");
    interrupt(&b, unique);
    memset(&rsp, 0, sizeof rsp);
    rsp.hint = unique;
    rsp.file_context = (void *)&files[1];
    rsp.file_info.mode = S_IFREG | 0644;
    rsp.file_info.index_number = 99;
    EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), -ECANCELED);
    EXPECT_EQ(b.fs->handles.count, 0);
    EXPECT_EQ(b.fs->nodes.count, 1);
    EXPECT_EQ(tfs.closes, 1);            /* the new context, closed */
    bench_stop(&b);
}

static void a_setattr_of_size_and_mode_completes_each_step_later(void)
{
    struct bench b;
    struct fuse_setattr_in in;
    fsp_file_info_t info;
    uint64_t node, unique;

    bench_start(&b, false);
    lookup(&b, FUSE_ROOT_ID, "a");
    node = entry_node(last_reply(&b));
    tfs.pends = true;
    memset(&in, 0, sizeof in);
    in.valid = FATTR_SIZE | FATTR_MODE;
    in.size = 3;
    in.mode = S_IFREG | 0600;
    unique = serve_arg(&b, FUSE_SETATTR, node, &in, sizeof in);
    EXPECT_STREQ(tfs.last_call, "set_file_size");
    fill(&files[0], &info);
    EXPECT_EQ(respond(&b, 0, &info), 0);
    EXPECT_STREQ(tfs.last_call, "set_basic_info");  /* the next step */
    EXPECT_EQ(tfs.pending_hint, unique);
    EXPECT_EQ(b.ch.count, 1);                     /* the LOOKUP's only */
    info.mode = S_IFREG | 0600;
    EXPECT_EQ(respond(&b, 0, &info), 0);
    EXPECT_EQ(b.ch.count, 2);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_EQ(last_reply(&b)->body_size, sizeof(struct fuse_attr_out));
    EXPECT_EQ(((struct fuse_attr_out *)last_reply(&b)->body)->attr.mode,
              S_IFREG | 0600);
    bench_stop(&b);
}

static void a_statfs_answered_later_reports_the_volume(void)
{
    struct bench b;
    struct fuse_msg m;
    fsp_response_t rsp;

    bench_start(&b, false);
    tfs.pends = true;
    msg_start(&m, FUSE_STATFS, FUSE_ROOT_ID);
    serve(&b, &m);
    EXPECT_EQ(b.ch.count, 0);
    memset(&rsp, 0, sizeof rsp);
    rsp.hint = tfs.pending_hint;
    rsp.volume_info.total_size = 8192 * 4096;
    rsp.volume_info.free_size = 4096;
    EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), 0);
    EXPECT_EQ(b.ch.count, 1);
    EXPECT_EQ(((struct fuse_statfs_out *)last_reply(&b)->body)->st.blocks,
              8192);
    EXPECT_EQ(((struct fuse_statfs_out *)last_reply(&b)->body)->st.bfree, 1);
    bench_stop(&b);
}

static void an_error_answered_later_is_the_reply(void)
{
    struct bench b;

    bench_start(&b, false);
    tfs.pends = true;
    lookup(&b, FUSE_ROOT_ID, "nothing");
    EXPECT_EQ(respond(&b, -EACCES, NULL), 0);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EACCES);
    EXPECT_EQ(b.fs->nodes.count, 1);
    bench_stop(&b);
}

/* ---- LSEEK, COPY_FILE_RANGE(_64), TMPFILE, STATX, FALLOCATE ---- */

static void count_errors(fsp_fs_t *fs, int level, const char *message,
                         void *user)
{
    (void)fs;
    (void)message;
    (void)user;
    if (level == FSP_LOG_ERROR)
        file_ops.errors_logged++;
}

/* A bench with file "a" open (its node in *node, its fh returned) and
 * error lines counted. */
static uint64_t file_ops_start(struct bench *b, uint64_t *node)
{
    bench_start(b, false);
    memset(&file_ops, 0, sizeof file_ops);
    file_ops.alloc_mode = -1;
    EXPECT_EQ(fsp_fs_set_log_handler(b->fs, count_errors, NULL), 0);
    lookup(b, FUSE_ROOT_ID, "a");
    *node = entry_node(last_reply(b));
    open_file(b, *node, FUSE_OPEN);
    return open_fh(last_reply(b), 0);
}

static int lseek_reply(struct bench *b, uint64_t node, uint64_t fh,
                       uint64_t offset, uint32_t whence, uint64_t *result)
{
    struct fuse_lseek_in in = { .fh = fh, .offset = offset,
                                .whence = whence };
    struct fuse_lseek_out out = { 0 };

    serve_arg(b, FUSE_LSEEK, node, &in, sizeof in);
    memcpy(&out, last_reply(b)->body, sizeof out);
    *result = out.offset;
    return last_reply(b)->hdr.error;
}

static void a_seek_answer_reaches_the_kernel_as_given(void)
{
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node), at;

    file_ops.seek_result = 8192;
    EXPECT_EQ(lseek_reply(&b, node, fh, 100, SEEK_DATA, &at), 0);
    EXPECT_EQ(at, 8192u);
    EXPECT_EQ(last_reply(&b)->body_size, sizeof(struct fuse_lseek_out));
    file_ops.seek_return = -ENXIO;
    EXPECT_EQ(lseek_reply(&b, node, fh, 100, SEEK_HOLE, &at), -ENXIO);
    EXPECT_EQ(file_ops.errors_logged, 0);
    bench_stop(&b);
}

static void a_seek_answer_out_of_range_is_eio_and_a_log_line(void)
{
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node), at;

    file_ops.seek_result = 50;              /* before the offset asked about */
    EXPECT_EQ(lseek_reply(&b, node, fh, 100, SEEK_DATA, &at), -EIO);
    EXPECT_EQ(file_ops.errors_logged, 1);
    file_ops.seek_result = (uint64_t)INT64_MAX + 1; /* beyond a loff_t */
    EXPECT_EQ(lseek_reply(&b, node, fh, 100, SEEK_HOLE, &at), -EIO);
    EXPECT_EQ(file_ops.errors_logged, 2);
    file_ops.seek_result = 200;
    file_ops.seek_return = 3;               /* neither 0 nor -errno */
    EXPECT_EQ(lseek_reply(&b, node, fh, 100, SEEK_HOLE, &at), -EIO);
    EXPECT_EQ(file_ops.errors_logged, 3);
    bench_stop(&b);
}

static void a_malformed_lseek_is_rejected_before_the_callback(void)
{
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node), at;
    struct fuse_lseek_in in = { .fh = fh, .whence = SEEK_DATA };

    file_ops.seek_return = -EBADMSG;        /* would show if it were called */
    EXPECT_EQ(lseek_reply(&b, node, fh, 0, SEEK_SET, &at), -EINVAL);
    EXPECT_EQ(lseek_reply(&b, node, fh, 0, SEEK_END, &at), -EINVAL);
    EXPECT_EQ(lseek_reply(&b, node, fh, 0, 77, &at), -EINVAL);
    /* Shorter than a fuse_lseek_in: undecodable. */
    serve_arg(&b, FUSE_LSEEK, node, &in, sizeof in - 8);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EIO);
    /* A handle that is not open. */
    EXPECT_EQ(lseek_reply(&b, node, fh + 1, 0, SEEK_DATA, &at), -EBADF);
    bench_stop(&b);
}

static void copy_range(struct bench *b, uint32_t opcode, uint64_t node,
                       uint64_t fh, uint64_t len)
{
    struct fuse_copy_file_range_in in = {
        .fh_in = fh, .off_in = 0, .nodeid_out = node, .fh_out = fh,
        .off_out = 1 << 20, .len = len,
    };

    serve_arg(b, opcode, node, &in, sizeof in);
}

static void both_copy_forms_reply_the_count_their_way(void)
{
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node), count = 0;
    struct fuse_write_out w;

    copy_range(&b, FUSE_COPY_FILE_RANGE_64, node, fh, 5ull << 32);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_EQ(last_reply(&b)->body_size, sizeof count);
    memcpy(&count, last_reply(&b)->body, sizeof count);
    EXPECT_EQ(count, 5ull << 32);       /* more than 32 bits hold */
    copy_range(&b, FUSE_COPY_FILE_RANGE, node, fh, 5ull << 32);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_EQ(last_reply(&b)->body_size, sizeof w);
    memcpy(&w, last_reply(&b)->body, sizeof w);
    /* The 32-bit form asks for no more than its reply can count. */
    EXPECT_EQ(file_ops.copy_length, (size_t)(UINT32_MAX & ~4095u));
    EXPECT_EQ(w.size, UINT32_MAX & ~4095u);
    bench_stop(&b);
}

static void a_copy_of_more_than_asked_is_eio_and_a_log_line(void)
{
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node);

    file_ops.copy_extra = 1;
    copy_range(&b, FUSE_COPY_FILE_RANGE_64, node, fh, 4096);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EIO);
    EXPECT_EQ(file_ops.errors_logged, 1);
    bench_stop(&b);
}

static void a_copy_answered_later_replies_its_count(void)
{
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node), count = 0;
    int before = b.ch.count;
    fsp_response_t rsp;

    file_ops.copy_pends = true;
    copy_range(&b, FUSE_COPY_FILE_RANGE_64, node, fh, 4096);
    EXPECT_EQ(b.ch.count, before);      /* nothing sent yet */
    memset(&rsp, 0, sizeof rsp);
    rsp.hint = tfs.pending_hint;
    rsp.bytes_transferred = 1000;
    EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), 0);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    memcpy(&count, last_reply(&b)->body, sizeof count);
    EXPECT_EQ(count, 1000u);
    bench_stop(&b);
}

/* FSP_PENDING + 1 and + 2 are the dispatcher's own step codes: from a
 * callback, or in a late response, they are garbage like any other. */
static void a_callback_answering_a_step_code_gets_eio_once(void)
{
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node), at;
    int before;

    for (int code = FSP_PENDING + 1; code <= FSP_PENDING + 2; code++) {
        file_ops.seeks = 0;
        file_ops.seek_return = code;
        EXPECT_EQ(lseek_reply(&b, node, fh, 0, SEEK_DATA, &at), -EIO);
        EXPECT_EQ(file_ops.seeks, 1);       /* not run again as a next step */
    }
    EXPECT_EQ(file_ops.errors_logged, 2);
    /* The same in a late response. */
    file_ops.copy_pends = true;
    copy_range(&b, FUSE_COPY_FILE_RANGE_64, node, fh, 4096);
    before = b.ch.count;
    {
        fsp_response_t rsp;

        memset(&rsp, 0, sizeof rsp);
        rsp.hint = tfs.pending_hint;
        rsp.error = FSP_PENDING + 2;
        EXPECT_EQ(fsp_fs_send_response(b.fs, &rsp), 0);
    }
    EXPECT_EQ(b.ch.count, before + 1);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EIO);
    EXPECT_EQ(file_ops.errors_logged, 3);
    bench_stop(&b);
}

static void a_tmpfile_is_an_unnamed_node_that_link_names(void)
{
    struct bench b;
    struct fuse_msg m;
    struct fuse_create_in in = { .flags = O_RDWR | O_TMPFILE,
                                 .mode = S_IFREG | 0600 };
    struct fuse_release_in rel = { 0 };
    struct fuse_link_in li = { 0 };
    struct fuse_entry_out e;
    uint64_t node;

    bench_start(&b, false);
    msg_start(&m, FUSE_TMPFILE, FUSE_ROOT_ID);
    msg_put(&m, &in, sizeof in);
    msg_str(&m, "/");
    serve(&b, &m);
    ASSERT_EQ(last_reply(&b)->hdr.error, 0);
    ASSERT_EQ(last_reply(&b)->body_size, sizeof(struct fuse_entry_out) +
                                             sizeof(struct fuse_open_out));
    node = entry_node(last_reply(&b));
    rel.fh = open_fh(last_reply(&b), sizeof(struct fuse_entry_out));
    EXPECT_TRUE(rel.fh != 0);
    EXPECT_EQ(b.fs->nodes.count, 2);
    /* linkat(2): the name leads to the node the kernel knows. */
    li.oldnodeid = node;
    msg_start(&m, FUSE_LINK, FUSE_ROOT_ID);
    msg_put(&m, &li, sizeof li);
    msg_str(&m, "named");
    serve(&b, &m);
    ASSERT_EQ(last_reply(&b)->hdr.error, 0);
    memcpy(&e, last_reply(&b)->body, sizeof e);
    EXPECT_EQ(e.nodeid, node);
    EXPECT_EQ(b.fs->nodes.count, 2);
    /* The handle borrows the node's context: RELEASE closes nothing, the
     * node's end closes it once. */
    serve_arg(&b, FUSE_RELEASE, node, &rel, sizeof rel);
    EXPECT_EQ(tfs.closes, 0);
    forget(&b, node, 2);                /* TMPFILE's lookup and LINK's */
    EXPECT_EQ(b.fs->nodes.count, 1);
    EXPECT_EQ(tfs.closes, 1);
    bench_stop(&b);
}

static void statx_reports_a_btime_only_when_known(void)
{
    struct bench b;
    struct fuse_statx_in in = { 0 };
    struct fuse_statx_out out;
    uint64_t node, fh = file_ops_start(&b, &node);

    in.getattr_flags = FUSE_GETATTR_FH;
    in.fh = fh;
    in.sx_mask = 0xfff;
    file_ops.btime = 1700000000;
    serve_arg(&b, FUSE_STATX, node, &in, sizeof in);
    ASSERT_EQ(last_reply(&b)->hdr.error, 0);
    ASSERT_EQ(last_reply(&b)->body_size, sizeof out);
    memcpy(&out, last_reply(&b)->body, sizeof out);
    EXPECT_EQ(out.stat.mask & 0x800u, 0x800u);  /* STATX_BTIME */
    EXPECT_EQ(out.stat.btime.tv_sec, 1700000000);
    EXPECT_EQ(out.stat.mode, S_IFREG | 0644);
    EXPECT_EQ(out.stat.ino, 10u);
    EXPECT_EQ(out.stat.size, 5u);
    file_ops.btime = 0;
    serve_arg(&b, FUSE_STATX, node, &in, sizeof in);
    memcpy(&out, last_reply(&b)->body, sizeof out);
    EXPECT_EQ(out.stat.mask & 0x800u, 0u);
    EXPECT_EQ(out.stat.mask & 0x7ffu, 0x7ffu);  /* STATX_BASIC_STATS */
    bench_stop(&b);
}

static void every_fallocate_mode_reaches_allocate(void)
{
    static const uint32_t modes[] = {
        0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
        FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
    };
    struct bench b;
    uint64_t node, fh = file_ops_start(&b, &node);

    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct fuse_fallocate_in in = { .fh = fh, .offset = 4096,
                                        .length = 8192, .mode = modes[i] };

        file_ops.alloc_mode = -1;
        serve_arg(&b, FUSE_FALLOCATE, node, &in, sizeof in);
        EXPECT_EQ(last_reply(&b)->hdr.error, 0);
        EXPECT_EQ(file_ops.alloc_mode, (int)modes[i]);
    }
    bench_stop(&b);
}

/* The same bench, on a volume whose seek, copy_file_range,
 * create_tmpfile and allocate are NULL. */
static void file_ops_start_without(struct bench *b)
{
    static fsp_fs_interface_t without;
    fsp_volume_params_t params;

    without = iface;
    without.seek = NULL;
    without.copy_file_range = NULL;
    without.create_tmpfile = NULL;
    without.allocate = NULL;
    bench_start(b, false);
    fsp_fs_delete(b->fs);
    memset(&params, 0, sizeof params);
    params.fs_name = "unitfs";
    EXPECT_EQ(fsp_fs_create(&params, &without, NULL, &b->fs), 0);
    b->w.fs = b->fs;
    tfs.fs = b->fs;
}

static void null_callbacks_answer_what_makes_the_kernel_fall_back(void)
{
    struct bench b;
    struct fuse_msg m;
    struct fuse_create_in cin = { .flags = O_RDWR | O_TMPFILE,
                                  .mode = S_IFREG | 0600 };
    uint64_t node, fh, at;

    file_ops_start_without(&b);
    lookup(&b, FUSE_ROOT_ID, "a");
    node = entry_node(last_reply(&b));
    open_file(&b, node, FUSE_OPEN);
    fh = open_fh(last_reply(&b), 0);
    /* fc->no_lseek: generic_file_llseek from then on. */
    EXPECT_EQ(lseek_reply(&b, node, fh, 0, SEEK_DATA, &at), -ENOSYS);
    /* fc->no_copy_file_range_64, then fc->no_copy_file_range: splice. */
    copy_range(&b, FUSE_COPY_FILE_RANGE_64, node, fh, 4096);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    copy_range(&b, FUSE_COPY_FILE_RANGE, node, fh, 4096);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    /* fc->no_tmpfile: the kernel answers EOPNOTSUPP itself. */
    msg_start(&m, FUSE_TMPFILE, FUSE_ROOT_ID);
    msg_put(&m, &cin, sizeof cin);
    msg_str(&m, "/");
    serve(&b, &m);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    EXPECT_EQ(b.fs->nodes.count, 2);
    /* fallocate(2) itself fails so: no fc flag, each call asks. */
    {
        struct fuse_fallocate_in in = { .fh = fh, .length = 4096 };

        serve_arg(&b, FUSE_FALLOCATE, node, &in, sizeof in);
        EXPECT_EQ(last_reply(&b)->hdr.error, -EOPNOTSUPP);
    }
    bench_stop(&b);
}

static void requests_without_a_mapping_get_their_fallbacks(void)
{
    struct bench b;
    struct fuse_access_in access = { .mask = 4 };
    struct fuse_bmap_in bmap = { .block = 1, .blocksize = 4096 };
    struct fuse_syncfs_in syncfs = { 0 };

    bench_start(&b, false);
    /* Never sent with default_permissions; ENOSYS sets fc->no_access. */
    serve_arg(&b, FUSE_ACCESS, FUSE_ROOT_ID, &access, sizeof access);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    /* fuseblk only; ENOSYS sets fc->no_bmap. */
    serve_arg(&b, FUSE_BMAP, FUSE_ROOT_ID, &bmap, sizeof bmap);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    /* No flush callback: nothing is buffered above the kernel. */
    serve_arg(&b, FUSE_SYNCFS, FUSE_ROOT_ID, &syncfs, sizeof syncfs);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    bench_stop(&b);
}

/* ------------------------------------------------ locks and poll */

/* A volume that serves locks, with "a" open: its node and fh. */
static void open_a_with_locks(struct bench *b, uint64_t *node, uint64_t *fh)
{
    bench_start(b, false);
    b->fs->init_flags |= FUSE_POSIX_LOCKS; /* as INIT negotiated it */
    lookup(b, FUSE_ROOT_ID, "a");
    *node = entry_node(last_reply(b));
    open_file(b, *node, FUSE_OPEN);
    *fh = open_fh(last_reply(b), 0);
}

/* INIT offering both lock flags: the flags of the reply. */
static uint32_t init_flags_answered(struct bench *b)
{
    struct fuse_init_in in = {
        .major = 7, .minor = 45,
        .flags = FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_INIT_EXT,
    };
    struct fuse_init_out out;

    serve_arg(b, FUSE_INIT, 0, &in, sizeof in);
    memcpy(&out, last_reply(b)->body, sizeof out);
    return out.flags;
}

static void init_asks_for_locks_only_when_the_file_system_serves_them(void)
{
    struct bench b;
    uint32_t flags;

    bench_start(&b, false);     /* get_lock and set_lock, no flock */
    flags = init_flags_answered(&b);
    EXPECT_TRUE(flags & FUSE_POSIX_LOCKS);
    EXPECT_FALSE(flags & FUSE_FLOCK_LOCKS);
    bench_stop(&b);
    bench_start(&b, true);      /* per_file_context: no RELEASE to end them */
    flags = init_flags_answered(&b);
    EXPECT_FALSE(flags & (FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS));
    bench_stop(&b);
    bench_start(&b, false);
    b.fs->iface.get_lock = NULL;  /* both are needed */
    flags = init_flags_answered(&b);
    EXPECT_FALSE(flags & FUSE_POSIX_LOCKS);
    bench_stop(&b);
}

static uint64_t lock_request(struct bench *b, uint32_t opcode, uint64_t node,
                             uint64_t fh, uint64_t owner, uint32_t type)
{
    struct fuse_lk_in in = {
        .fh = fh, .owner = owner,
        .lk = {.start = 0, .end = 99, .type = type, .pid = 4242},
    };

    return serve_arg(b, opcode, node, &in, sizeof in);
}

static void a_waiting_setlkw_pends_and_its_grant_is_the_reply(void)
{
    struct bench b;
    uint64_t node, fh, unique;

    open_a_with_locks(&b, &node, &fh);
    unique = lock_request(&b, FUSE_SETLKW, node, fh, 0x55, F_WRLCK);
    EXPECT_STREQ(tfs.last_call, "set_lock");
    EXPECT_EQ(tfs.last_lock_flags, FSP_LOCK_WAIT);
    EXPECT_EQ(tfs.last_lock.owner, 0x55);
    EXPECT_EQ(tfs.last_lock.end, 99);
    EXPECT_EQ(tfs.last_lock.pid, 4242);
    EXPECT_EQ(b.ch.count, 2);                    /* LOOKUP, OPEN only */
    EXPECT_EQ(respond(&b, 0, NULL), 0);          /* the holder let go */
    EXPECT_EQ(b.ch.count, 3);
    EXPECT_EQ(last_reply(&b)->hdr.unique, unique);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    bench_stop(&b);
}

static void an_interrupted_setlkw_is_answered_eintr_and_its_grant_dropped(void)
{
    struct bench b;
    uint64_t node, fh, unique;

    open_a_with_locks(&b, &node, &fh);
    unique = lock_request(&b, FUSE_SETLKW, node, fh, 0x55, F_WRLCK);
    interrupt(&b, unique);
    EXPECT_EQ(b.ch.count, 3);
    EXPECT_EQ(last_reply(&b)->hdr.unique, unique);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EINTR);
    /* the file system's late grant: fsp says the caller is gone, and a
     * file system must then not keep the lock */
    EXPECT_EQ(respond(&b, 0, NULL), -ECANCELED);
    EXPECT_EQ(b.ch.count, 3);
    bench_stop(&b);
}

static void getlk_reports_the_conflict_the_file_system_found(void)
{
    struct bench b;
    uint64_t node, fh;
    struct fuse_lk_out out;

    open_a_with_locks(&b, &node, &fh);
    lock_request(&b, FUSE_GETLK, node, fh, 0x55, F_WRLCK);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    ASSERT_EQ(last_reply(&b)->body_size, sizeof out);
    memcpy(&out, last_reply(&b)->body, sizeof out);
    EXPECT_EQ(out.lk.type, F_RDLCK);
    EXPECT_EQ(out.lk.end, 9);
    EXPECT_EQ(out.lk.pid, 77);
    /* a malformed request never reaches the file system */
    lock_request(&b, FUSE_GETLK, node, fh, 0x55, 7);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EINVAL);
    bench_stop(&b);
}

static void close_and_release_unlock_what_their_owners_held(void)
{
    struct bench b;
    uint64_t node, fh;
    struct fuse_flush_in flush;
    struct fuse_release_in rel;

    open_a_with_locks(&b, &node, &fh);
    lock_request(&b, FUSE_SETLK, node, fh, 0x11, F_WRLCK); /* a process */
    lock_request(&b, FUSE_SETLK, node, fh, 0x22, F_RDLCK); /* an open file */
    EXPECT_EQ(tfs.set_locks, 2);
    /* the process closes its descriptor: its locks go */
    memset(&flush, 0, sizeof flush);
    flush.fh = fh;
    flush.lock_owner = 0x11;
    serve_arg(&b, FUSE_FLUSH, node, &flush, sizeof flush);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_EQ(tfs.set_locks, 3);
    EXPECT_EQ(tfs.last_lock.owner, 0x11);
    EXPECT_EQ(tfs.last_lock.type, F_UNLCK);
    EXPECT_EQ(tfs.last_lock.end, INT64_MAX);
    EXPECT_EQ(tfs.last_lock_flags, FSP_LOCK_CLOSE);
    /* the release: the owner no close named is the open file's */
    memset(&rel, 0, sizeof rel);
    rel.fh = fh;
    serve_arg(&b, FUSE_RELEASE, node, &rel, sizeof rel);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    EXPECT_EQ(tfs.set_locks, 4);
    EXPECT_EQ(tfs.last_lock.owner, 0x22);
    EXPECT_EQ(tfs.last_lock_flags, FSP_LOCK_CLOSE);
    EXPECT_EQ(b.fs->handles.count, 0);
    EXPECT_EQ(tfs.closes, 1);
    bench_stop(&b);
}

/* The fake kernel's end of notifications: the last one written. */
static struct {
    pthread_mutex_t lock;
    int count;
    int32_t code;
    uint64_t kh;
} notified = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 };

static int fake_notify(void *ctx, const struct iovec *iov, int iovcnt)
{
    const struct fuse_out_header *hdr = iov[0].iov_base;
    struct fuse_notify_poll_wakeup_out out;

    (void)ctx;
    pthread_mutex_lock(&notified.lock);
    notified.count++;
    notified.code = hdr->error;
    if (iovcnt > 1 && iov[1].iov_len == sizeof out) {
        memcpy(&out, iov[1].iov_base, sizeof out);
        notified.kh = out.kh;
    }
    pthread_mutex_unlock(&notified.lock);
    return 0;
}

static int notified_count(void)
{
    int n;

    pthread_mutex_lock(&notified.lock);
    n = notified.count;
    pthread_mutex_unlock(&notified.lock);
    return n;
}

static void a_poll_that_waits_gets_its_handle_and_the_wakeup_names_it(void)
{
    struct bench b;
    uint64_t node, fh;
    struct fuse_poll_in in;
    struct fuse_poll_out out;

    open_a_with_locks(&b, &node, &fh);
    memset(&in, 0, sizeof in);
    in.fh = fh;
    in.kh = 0x4b48;
    in.events = POLLIN | POLLOUT;
    serve_arg(&b, FUSE_POLL, node, &in, sizeof in);   /* only asks */
    EXPECT_EQ(tfs.poll_kh, 0);
    in.flags = FUSE_POLL_SCHEDULE_NOTIFY;             /* waits */
    serve_arg(&b, FUSE_POLL, node, &in, sizeof in);
    EXPECT_EQ(tfs.poll_kh, 0x4b48);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    ASSERT_EQ(last_reply(&b)->body_size, sizeof out);
    memcpy(&out, last_reply(&b)->body, sizeof out);
    EXPECT_EQ(out.revents, POLLIN);

    EXPECT_EQ(fsp_fs_notify_poll(b.fs, 0x4b48), -ESHUTDOWN); /* not running */
    b.fs->kernel.notify = fake_notify;
    ASSERT_EQ(fsp_notify_start(b.fs), 0);
    EXPECT_EQ(fsp_fs_notify_poll(b.fs, 0), -EINVAL);
    EXPECT_EQ(fsp_fs_notify_poll(b.fs, 0x4b48), 0);
    /* written by the notify thread, soon (2 s at most) */
    for (int i = 0; i < 200 && notified_count() == 0; i++)
        usleep(10000);
    fsp_notify_stop(b.fs);
    EXPECT_EQ(notified.count, 1);
    EXPECT_EQ(notified.code, FUSE_NOTIFY_POLL);
    EXPECT_EQ(notified.kh, 0x4b48);
    bench_stop(&b);
}

/* An IOCTL on @node: @io, then @n bytes of @data. */
static void serve_ioctl(struct bench *b, uint64_t node,
                        const struct fuse_ioctl_in *io, const void *data,
                        size_t n)
{
    struct fuse_msg m;

    msg_start(&m, FUSE_IOCTL, node);
    msg_put(&m, io, sizeof *io);
    if (n)
        msg_put(&m, data, n);
    serve(b, &m);
}

static void an_ioctl_reply_carries_every_byte_the_kernel_expects(void)
{
    struct bench b;
    uint64_t node, fh;
    struct fuse_ioctl_in io = {.cmd = 0x80086601, .out_size = 8};

    open_a_with_locks(&b, &node, &fh);
    io.fh = fh;
    serve_ioctl(&b, node, &io, NULL, 0);
    EXPECT_EQ(last_reply(&b)->hdr.error, 0);
    /* fuse_ioctl_out, then all 8 bytes: "flag" and zeros */
    ASSERT_EQ(last_reply(&b)->body_size, sizeof(struct fuse_ioctl_out) + 8);
    EXPECT_TRUE(memcmp(last_reply(&b)->body + sizeof(struct fuse_ioctl_out),
                       "flag\0\0\0\0", 8) == 0);
    bench_stop(&b);
}

static void malformed_ioctl_and_poll_are_rejected_before_the_callback(void)
{
    struct bench b;
    uint64_t node, fh;
    struct fuse_ioctl_in io = {.cmd = 0x40046602, .in_size = 8};
    struct fuse_poll_in in;

    open_a_with_locks(&b, &node, &fh);
    io.fh = fh;
    /* in_size says 8 bytes follow, 4 do */
    serve_ioctl(&b, node, &io, "abcd", 4);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EIO);
    /* more output than a reply can carry */
    io.in_size = 0;
    io.out_size = 1u << 30;
    serve_ioctl(&b, node, &io, NULL, 0);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EINVAL);
    /* an unrestricted ioctl (CUSE's) */
    io.out_size = 0;
    io.flags = FUSE_IOCTL_UNRESTRICTED;
    serve_ioctl(&b, node, &io, NULL, 0);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOTTY);
    /* a POLL cut short */
    memset(&in, 0, sizeof in);
    in.fh = fh;
    serve_arg(&b, FUSE_POLL, node, &in, sizeof in - 4);
    EXPECT_EQ(last_reply(&b)->hdr.error, -EIO);
    EXPECT_EQ(tfs.ioctls, 0);
    EXPECT_EQ(tfs.poll_kh, 0);
    bench_stop(&b);
}

static void without_callbacks_ioctl_is_enotty_and_poll_enosys(void)
{
    struct bench b;
    uint64_t node, fh;
    struct fuse_ioctl_in io = {.cmd = 0x80046601, .out_size = 4};
    struct fuse_poll_in in;

    open_a_with_locks(&b, &node, &fh);
    b.fs->iface.poll = NULL;
    b.fs->iface.ioctl = NULL;
    io.fh = fh;
    serve_ioctl(&b, node, &io, NULL, 0);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOTTY);
    memset(&in, 0, sizeof in);
    in.fh = fh;
    serve_arg(&b, FUSE_POLL, node, &in, sizeof in);
    EXPECT_EQ(last_reply(&b)->hdr.error, -ENOSYS);
    bench_stop(&b);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(each_lookup_is_counted_until_forgotten),
    EXPECT_CASE(a_name_that_is_not_there_is_answered_enoent),
    EXPECT_CASE(a_lookup_the_kernel_refused_is_not_counted_dev),
    EXPECT_CASE(a_lookup_the_ring_refused_later_is_not_counted),
    EXPECT_CASE(an_open_the_kernel_refused_is_closed),
    EXPECT_CASE(a_create_the_kernel_refused_leaves_neither_handle_nor_node),
    EXPECT_CASE(a_listing_the_kernel_refused_gives_back_its_lookups),
    EXPECT_CASE(a_read_answered_later_is_answered_once),
    EXPECT_CASE(a_response_before_the_callback_returns_is_answered_once),
    EXPECT_CASE(an_interrupted_pending_read_is_answered_eintr_at_once),
    EXPECT_CASE(an_interrupt_that_overtakes_its_read_still_counts),
    EXPECT_CASE(handles_are_numbered_apart_and_released_once),
    EXPECT_CASE(a_lookup_raced_by_a_directory_rename_asks_again),
    EXPECT_CASE(an_opcode_without_execute_is_answered_enosys),
    EXPECT_CASE(a_lookup_answered_later_counts_its_entry),
    EXPECT_CASE(an_interrupted_lookup_answered_later_counts_nothing),
    EXPECT_CASE(a_create_answered_after_eintr_leaves_nothing_open),
    EXPECT_CASE(a_setattr_of_size_and_mode_completes_each_step_later),
    EXPECT_CASE(a_statfs_answered_later_reports_the_volume),
    EXPECT_CASE(an_error_answered_later_is_the_reply),
    /* lseek, copy_file_range, O_TMPFILE, STATX */
    EXPECT_CASE(a_seek_answer_reaches_the_kernel_as_given),
    EXPECT_CASE(a_seek_answer_out_of_range_is_eio_and_a_log_line),
    EXPECT_CASE(a_malformed_lseek_is_rejected_before_the_callback),
    EXPECT_CASE(a_callback_answering_a_step_code_gets_eio_once),
    EXPECT_CASE(both_copy_forms_reply_the_count_their_way),
    EXPECT_CASE(a_copy_of_more_than_asked_is_eio_and_a_log_line),
    EXPECT_CASE(a_copy_answered_later_replies_its_count),
    EXPECT_CASE(a_tmpfile_is_an_unnamed_node_that_link_names),
    EXPECT_CASE(statx_reports_a_btime_only_when_known),
    EXPECT_CASE(every_fallocate_mode_reaches_allocate),
    EXPECT_CASE(requests_without_a_mapping_get_their_fallbacks),
    EXPECT_CASE(null_callbacks_answer_what_makes_the_kernel_fall_back),
    EXPECT_CASE(init_asks_for_locks_only_when_the_file_system_serves_them),
    EXPECT_CASE(a_waiting_setlkw_pends_and_its_grant_is_the_reply),
    EXPECT_CASE(an_interrupted_setlkw_is_answered_eintr_and_its_grant_dropped),
    EXPECT_CASE(getlk_reports_the_conflict_the_file_system_found),
    EXPECT_CASE(close_and_release_unlock_what_their_owners_held),
    EXPECT_CASE(a_poll_that_waits_gets_its_handle_and_the_wakeup_names_it),
    EXPECT_CASE(an_ioctl_reply_carries_every_byte_the_kernel_expects),
    EXPECT_CASE(malformed_ioctl_and_poll_are_rejected_before_the_callback),
    EXPECT_CASE(without_callbacks_ioctl_is_enotty_and_poll_enosys),
};

int main(void)
{
    return expect_run("test_volume", cases, sizeof cases / sizeof *cases);
}
