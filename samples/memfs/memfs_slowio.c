/**
 * @file memfs_slowio.c
 * memfs's slowio mode: reads, writes and directory reads completed later
 * (FSP_PENDING), by one thread that works through a queue ordered by due
 * time. It shows the shape of an asynchronous file system on fsp: the
 * callback records what to do and the request's hint, returns
 * FSP_PENDING, and the response names the hint. The buffers fsp gave the
 * callback stay valid until the response; the marker of read_directory
 * does not, so it is copied.
 */
#define _GNU_SOURCE

#include "memfs_slowio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum slowio_kind {
    SLOWIO_READ,
    SLOWIO_WRITE,
    SLOWIO_READ_DIRECTORY,
    SLOWIO_ANSWER,              /* done already: only the answer waits */
};

/** One operation waiting for its time. */
struct slowio_item {
    struct slowio_item *next;
    uint64_t due_ns;            /* CLOCK_MONOTONIC */
    enum slowio_kind kind;
    uint64_t hint;
    fsp_fs_t *fs;
    void *file_ctx;
    void *buf;                  /* read: where the data goes */
    const void *data;           /* write: the data */
    fsp_dir_buffer_t *dir;      /* read_directory: the listing */
    uint64_t offset;
    size_t length;
    int flags;
    char *marker;               /* read_directory: copied, or NULL */
    /* the callback's out-parameters, for an operation served directly */
    size_t *out_bytes;
    fsp_response_t answer;      /* SLOWIO_ANSWER */
};

struct memfs_slowio {
    uint32_t percent;
    uint32_t min_delay_ms, max_delay_ms;
    struct memfs_slowio_ops ops;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct slowio_item *queue;  /* by due_ns, earliest first */
    bool stopping;
    bool thread_started;
    pthread_t thread;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A per-thread xorshift generator: callbacks run on several threads. */
static uint64_t random_below(uint64_t n)
{
    static __thread uint64_t state;

    if (state == 0)
        state = now_ns() ^ ((uint64_t)(uintptr_t)&state << 16) ^
                0x9e3779b97f4a7c15ull;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return n ? state % n : 0;
}

static bool picked(const struct memfs_slowio *s)
{
    return s && s->percent && random_below(100) < s->percent;
}

/* Do the operation now and build its response. */
static void perform(struct memfs_slowio *s, const struct slowio_item *it,
                    fsp_response_t *rsp)
{
    memset(rsp, 0, sizeof *rsp);
    rsp->hint = it->hint;
    switch (it->kind) {
    case SLOWIO_READ:
        rsp->error = s->ops.read(it->fs, it->file_ctx, it->buf, it->offset,
                                 it->length, &rsp->bytes_transferred);
        break;
    case SLOWIO_WRITE:
        rsp->error = s->ops.write(it->fs, it->file_ctx, it->data, it->offset,
                                  it->length, it->flags,
                                  &rsp->bytes_transferred);
        break;
    case SLOWIO_READ_DIRECTORY:
        rsp->error = s->ops.read_directory(it->fs, it->file_ctx, it->marker,
                                           it->dir);
        break;
    case SLOWIO_ANSWER:
        *rsp = it->answer;
        rsp->hint = it->hint;
        break;
    }
}

static void *slowio_main(void *arg)
{
    struct memfs_slowio *s = arg;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct slowio_item *it = s->queue;
        fsp_response_t rsp;

        if (!it) {
            if (s->stopping)
                break;
            pthread_cond_wait(&s->cond, &s->lock);
            continue;
        }
        if (!s->stopping && it->due_ns > now_ns()) {
            struct timespec until = {
                .tv_sec = (time_t)(it->due_ns / 1000000000u),
                .tv_nsec = (long)(it->due_ns % 1000000000u),
            };

            pthread_cond_timedwait(&s->cond, &s->lock, &until);
            continue;           /* an earlier item may have come */
        }
        s->queue = it->next;
        pthread_mutex_unlock(&s->lock);
        /* Once the volume stopped, fsp drops the response (-ECANCELED);
         * it must still be sent, so that fsp frees the request. */
        perform(s, it, &rsp);
        fsp_fs_send_response(it->fs, &rsp);
        free(it->marker);
        free(it);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int memfs_slowio_create(uint32_t percent, uint32_t min_delay_ms,
                        uint32_t max_delay_ms,
                        const struct memfs_slowio_ops *ops,
                        struct memfs_slowio **out)
{
    struct memfs_slowio *s;
    pthread_condattr_t attr;
    int err;

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->percent = percent > 100 ? 100 : percent;
    s->min_delay_ms = min_delay_ms;
    s->max_delay_ms = max_delay_ms < min_delay_ms ? min_delay_ms
                                                  : max_delay_ms;
    s->ops = *ops;
    pthread_mutex_init(&s->lock, NULL);
    /* Due times are CLOCK_MONOTONIC: a clock change must not stall. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (s->max_delay_ms > 0) {
        err = -pthread_create(&s->thread, NULL, slowio_main, s);
        if (err) {
            pthread_cond_destroy(&s->cond);
            pthread_mutex_destroy(&s->lock);
            free(s);
            return err;
        }
        s->thread_started = true;
    }
    *out = s;
    return 0;
}

void memfs_slowio_stop(struct memfs_slowio *s)
{
    if (!s || !s->thread_started)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->thread_started = false;
}

void memfs_slowio_delete(struct memfs_slowio *s)
{
    if (!s)
        return;
    memfs_slowio_stop(s);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Serve @it directly after all: its result goes to the callback's
 * out-parameters and return value. Frees @it. */
static int serve_directly(const struct slowio_item *it,
                          const fsp_response_t *rsp)
{
    int err = rsp->error;

    if (it->out_bytes)
        *it->out_bytes = rsp->bytes_transferred;
    free(it->marker);
    free((void *)it);
    return err;
}

/*
 * Complete @it later: queue it with a random delay; or, with no delay at
 * all, now, responding before the callback returns. Returns FSP_PENDING,
 * or the operation's own result when it could not be made pending (the
 * queue is stopped, or fsp did not take the early response).
 */
static int complete_later(struct memfs_slowio *s, struct slowio_item *it)
{
    const fsp_operation_context_t *opctx = fsp_fs_operation_context();
    struct slowio_item **pp;
    fsp_response_t rsp;
    uint64_t delay_ms;

    it->hint = opctx ? opctx->hint : 0;
    if (s->max_delay_ms == 0) {
        perform(s, it, &rsp);
        if (fsp_fs_send_response(it->fs, &rsp) != 0)
            return serve_directly(it, &rsp); /* not a pending request */
        free(it->marker);
        free(it);
        return FSP_PENDING;
    }
    delay_ms = s->min_delay_ms +
               random_below((uint64_t)s->max_delay_ms - s->min_delay_ms + 1);
    it->due_ns = now_ns() + delay_ms * 1000000u;
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        perform(s, it, &rsp);
        return serve_directly(it, &rsp);
    }
    for (pp = &s->queue; *pp && (*pp)->due_ns <= it->due_ns; pp = &(*pp)->next)
        ;
    it->next = *pp;
    *pp = it;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return FSP_PENDING;
}

int memfs_slowio_read(struct memfs_slowio *s, fsp_fs_t *fs, void *file_ctx,
                      void *buf, uint64_t offset, size_t length,
                      size_t *bytes_transferred)
{
    struct slowio_item *it;

    if (!picked(s) || !(it = calloc(1, sizeof *it)))
        return s->ops.read(fs, file_ctx, buf, offset, length,
                           bytes_transferred);
    it->kind = SLOWIO_READ;
    it->fs = fs;
    it->file_ctx = file_ctx;
    it->buf = buf;
    it->offset = offset;
    it->length = length;
    it->out_bytes = bytes_transferred;
    return complete_later(s, it);
}

int memfs_slowio_write(struct memfs_slowio *s, fsp_fs_t *fs, void *file_ctx,
                       const void *buf, uint64_t offset, size_t length,
                       int flags, size_t *bytes_transferred)
{
    struct slowio_item *it;

    if (!picked(s) || !(it = calloc(1, sizeof *it)))
        return s->ops.write(fs, file_ctx, buf, offset, length, flags,
                            bytes_transferred);
    it->kind = SLOWIO_WRITE;
    it->fs = fs;
    it->file_ctx = file_ctx;
    it->data = buf;
    it->offset = offset;
    it->length = length;
    it->flags = flags;
    it->out_bytes = bytes_transferred;
    return complete_later(s, it);
}

int memfs_slowio_read_directory(struct memfs_slowio *s, fsp_fs_t *fs,
                                void *file_ctx, const char *marker,
                                fsp_dir_buffer_t *buf)
{
    struct slowio_item *it;

    if (!picked(s) || !(it = calloc(1, sizeof *it)))
        return s->ops.read_directory(fs, file_ctx, marker, buf);
    if (marker && !(it->marker = strdup(marker))) {
        free(it);
        return s->ops.read_directory(fs, file_ctx, marker, buf);
    }
    it->kind = SLOWIO_READ_DIRECTORY;
    it->fs = fs;
    it->file_ctx = file_ctx;
    it->dir = buf;
    return complete_later(s, it);
}

int memfs_slowio_answer_later(struct memfs_slowio *s, fsp_fs_t *fs,
                              const fsp_response_t *answer)
{
    struct slowio_item *it;

    if (!picked(s) || !(it = calloc(1, sizeof *it)))
        return answer->error;
    it->kind = SLOWIO_ANSWER;
    it->fs = fs;
    it->answer = *answer;
    return complete_later(s, it);
}
